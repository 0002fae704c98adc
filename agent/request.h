/* SPDX-License-Identifier: ISC */
/*
 * request.h - the body of POST /v1/requests (and of POST /v1/explain, which takes the same
 * body without "public_key") and its SSHSIG Authorization header.
 *
 * Body (JSON, built with jansson, compact):
 *   {"user", "host", "login", "public_key" (OpenSSH public-key line of the key to certify),
 *    "ttl_seconds" (integer, only when asked), "reason" (only when given),
 *    "timestamp" (integer seconds since the epoch), "nonce" (REQUEST_NONCE_LEN chars)}
 * Header: "Authorization: SSHSIG <base64 of the binary SSHSIG blob>" made over the exact
 * body bytes with namespace REQUEST_SIG_NAMESPACE (OpenSSH PROTOCOL.sshsig), i.e. what
 * `ssh-keygen -Y sign -n jit-ssh-request` makes.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "key.h"

/* Largest request body the CA accepts, bytes. */
#define REQUEST_BODY_MAX (16u * 1024u)
/* Nonce length, characters of lower-case hex (16 random bytes). */
#define REQUEST_NONCE_LEN 32
#define REQUEST_SIG_NAMESPACE "jit-ssh-request"

/**
 * struct request - what is asked (all borrowed)
 * @user, @host, @login: requester, normalised host, account (names.h safe names)
 * @public_key: OpenSSH public-key line of the fresh key to certify; NULL leaves
 *              "public_key" out (POST /v1/explain only: the CA refuses such a request)
 * @ttl_sec:    requested lifetime in seconds; 0 leaves "ttl_seconds" out
 * @reason:     free text, or NULL to leave "reason" out
 * @timestamp:  seconds since the Unix epoch (UTC)
 * @nonce:      from request_nonce()
 */
struct request {
	const char *user;
	const char *host;
	const char *login;
	const char *public_key;
	uint64_t ttl_sec;
	const char *reason;
	uint64_t timestamp;
	const char *nonce;
};

/**
 * request_nonce() - A fresh nonce: REQUEST_NONCE_LEN lower-case hex characters from
 * OpenSSL's RAND_bytes
 * @ret: new string
 * Errors: JIT_E_CRYPTO (no randomness), -ENOMEM.
 */
int request_nonce(char **ret);

/**
 * request_body() - The JSON body
 * @ret, @ret_len: new NUL-terminated text and its length (the bytes to sign and send)
 * Errors: -EINVAL (a required field missing, a string that is not UTF-8, a timestamp or TTL
 * over INT64_MAX), JIT_E_TOO_LARGE (over REQUEST_BODY_MAX), -ENOMEM.
 */
int request_body(const struct request *req, char **ret, size_t *ret_len);

/**
 * request_authorization() - The Authorization header value "SSHSIG <base64>"
 * @s:         signer of the enrolled key (borrowed)
 * @body, @len: the exact body bytes
 * @ret:       new string
 * Errors: those of sig_sign() (the signer's, e.g. JIT_E_AGENT), -ENOMEM.
 */
int request_authorization(const struct signer *s, const char *body, size_t len, char **ret);
