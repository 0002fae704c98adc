/* SPDX-License-Identifier: ISC */
/*
 * request.h - a certificate request as it arrives at POST /v1/requests: the JSON body, its
 * Authorization header, and the checks made before policy is asked (docs/api.md).
 *
 * Body (at most REQUEST_BODY_MAX bytes, one JSON object, no other fields, no duplicate keys):
 *   user         string   requester, a safe user name (names.h)
 *   host         string   host name (host_normalize() must accept it)
 *   login        string   account on the host, a safe login (names.h)
 *   public_key   string   OpenSSH public-key line of the key to certify (key.h)
 *   ttl_seconds  integer  optional; 0 or absent = the rule's default; capped, never refused
 *   reason       string   optional; at most POLICY_REASON_MAX bytes, request_text_safe()
 *   timestamp    integer  seconds since the Unix epoch (UTC)
 *   nonce        string   REQUEST_NONCE_MIN..REQUEST_NONCE_MAX characters of [A-Za-z0-9_-]
 *
 * Authorization: "SSHSIG <base64 of the binary SSHSIG blob>" (scheme case-insensitive), the
 * blob made with namespace REQUEST_SIG_NAMESPACE over the exact body bytes
 * (OpenSSH PROTOCOL.sshsig; `ssh-keygen -Y sign -n jit-ssh-request`).
 *
 * Every check reports failure through a struct request_error: the HTTP status, the API's
 * error code and one line for the requester naming the problem.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "key.h"
#include "ledger.h"
#include "policy.h"

#define REQUEST_BODY_MAX (16u * 1024u)
#define REQUEST_NONCE_MIN 16
#define REQUEST_NONCE_MAX 128
/* Request IDs: 16 random bytes as 32 lower-case hex characters. */
#define REQUEST_ID_BYTES 16
#define REQUEST_ID_LEN (2 * REQUEST_ID_BYTES)
#define REQUEST_SIG_NAMESPACE "jit-ssh-request"
/* Longest Authorization header value accepted, bytes (base64 of SIG_BLOB_MAX plus scheme). */
#define REQUEST_AUTH_MAX (4u * ((16u * 1024u + 2u) / 3u) + 16u)
#define REQUEST_MESSAGE_MAX 256

/**
 * struct request_error - why a request was refused
 * @status:  HTTP status (400, 401, 413, 500, 503)
 * @code:    API error code, a static string: "malformed_json", "missing_field", "bad_field",
 *           "body_too_large", "bad_signature", "unknown_user_or_key", "clock_skew",
 *           "replay", "ledger_unavailable", "internal"
 * @message: one line for the requester, naming the problem; never holds secrets
 */
struct request_error {
	unsigned status;
	const char *code;
	char message[REQUEST_MESSAGE_MAX];
};

/**
 * request_error_set() - Fill @e (printf-style message); @e may be NULL
 * Return: @r, so callers can write `return request_error_set(e, r, ...)`.
 */
int request_error_set(struct request_error *e, int r, unsigned status, const char *code,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/**
 * struct request - a parsed, well-formed request body (all members owned)
 * @public_key: NULL only when parsed with REQUEST_PARSE_KEY_OPTIONAL and absent
 * @ttl_sec: 0 when absent
 * @reason:  NULL when absent
 */
struct request {
	char *user;
	char *host;
	char *login;
	struct key *public_key;
	uint64_t ttl_sec;
	char *reason;
	uint64_t timestamp;
	char *nonce;
};

/**
 * request_parse() - Parse and validate a request body
 * @body, @len: the bytes received (need not be NUL-terminated)
 * @ret:        new request (request_free())
 * @ret_error:  filled on failure (may be NULL)
 * Errors: JIT_E_TOO_LARGE (413 body_too_large), JIT_E_FORMAT (400 malformed_json,
 * missing_field or bad_field; the message names the field), -ENOMEM (500 internal).
 */
int request_parse(const uint8_t *body, size_t len, struct request **ret,
		  struct request_error *ret_error);

/* request_parse_flags(): "public_key" may be absent (POST /v1/explain); then @public_key
 * is NULL. */
#define REQUEST_PARSE_KEY_OPTIONAL 1u

/**
 * request_parse_flags() - request_parse() with REQUEST_PARSE_* @flags
 * Errors: as request_parse().
 */
int request_parse_flags(const uint8_t *body, size_t len, unsigned flags, struct request **ret,
			struct request_error *ret_error);

/** request_free() - Free; accepts NULL; returns NULL. */
struct request *request_free(struct request *r);
void request_freep(struct request **r);

/**
 * request_parse_authorization() - Decode the Authorization header "SSHSIG <base64>"
 * @header:       the header value, or NULL when absent
 * @ret, @ret_len: new SSHSIG blob
 * Errors: JIT_E_SIGNATURE (401 bad_signature: absent, other scheme, empty, too long, not
 * base64), -ENOMEM.
 */
int request_parse_authorization(const char *header, uint8_t **ret, size_t *ret_len,
				struct request_error *ret_error);

/**
 * request_authenticate() - Check that the SSHSIG's key is one of the requester's enrolled
 * keys (policy_user_keys()), then that the SSHSIG verifies over the exact body
 * @sig, @siglen: the blob from request_parse_authorization()
 * @p:            the policy (borrowed)
 * @ret_key:      new copy of the signing key
 *
 * The key is read from the blob (PROTOCOL.sshsig: "SSHSIG", uint32 version, string
 * publickey) and compared with the enrolled keys first, so that no signature is verified for
 * a key the CA does not know.
 * Errors: JIT_E_SIGNATURE (401 bad_signature: malformed, wrong namespace, does not verify),
 * JIT_E_NOT_FOUND (401 unknown_user_or_key; the same words whether the user or the key is
 * unknown), -ENOMEM.
 */
int request_authenticate(const struct request *req, const uint8_t *body, size_t len,
			 const uint8_t *sig, size_t siglen, const struct policy *p,
			 struct key **ret_key, struct request_error *ret_error);

/**
 * request_check_time() - The request's timestamp must lie within @window_sec of @now
 * @now: seconds since the epoch, UTC
 * Errors: JIT_E_EXPIRED (401 clock_skew).
 */
int request_check_time(const struct request *req, uint64_t now, uint64_t window_sec,
		       struct request_error *ret_error);

/**
 * request_claim_nonce() - Record the nonce as used in the ledger, for as long as a request
 * carrying it could pass request_check_time() (2 * @window_sec + 60 s)
 * Errors: JIT_E_REPLAY (401 replay), JIT_E_LEDGER / JIT_E_LEDGER_FULL / other
 * (503 ledger_unavailable).
 */
int request_claim_nonce(const struct request *req, struct ledger *l, uint64_t now,
			uint64_t window_sec, struct request_error *ret_error);

/**
 * request_id_new() - A fresh request ID: REQUEST_ID_LEN lower-case hex characters and a NUL
 * Errors: JIT_E_CRYPTO (no randomness); @buf untouched on failure.
 */
int request_id_new(char buf[REQUEST_ID_LEN + 1]);

/**
 * request_text_safe() - True when free text (a reason, a review note) may be stored and
 * shown: well-formed UTF-8 (RFC 3629) without C0 or C1 controls or DEL, and without the
 * characters that hide text or change its direction: U+061C, U+180E, U+200B..U+200F,
 * U+2028..U+202E (line separators, bidi embeddings and overrides), U+2060..U+206F
 * (invisible operators, bidi isolates), U+FEFF, U+FFF9..U+FFFB, U+E0000..U+E007F (tags)
 * @s: NUL-terminated text
 */
bool request_text_safe(const char *s);

/** request_id_valid() - True when @s has the request-ID form. */
bool request_id_valid(const char *s);
