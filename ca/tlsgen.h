/* SPDX-License-Identifier: ISC */
/*
 * tlsgen.h - the CA's own TLS identity: a self-signed ECDSA P-256 certificate for
 * DNS:localhost and IP:127.0.0.1 (RFC 5280), and its public-key pin.
 *
 * Clients do not trust the certificate through a CA bundle but pin its public key, in the
 * format libcurl's CURLOPT_PINNEDPUBLICKEY takes:
 *
 *     sha256//<base64 of SHA-256 over the DER SubjectPublicKeyInfo>
 */
#pragma once

#include <stdint.h>

/* Validity of the generated certificate, seconds (10 years; the pin, not the dates, is
 * what clients check). */
#define TLSGEN_VALIDITY_SEC (10ull * 365 * 24 * 3600)
/* Largest PEM file tlsgen reads, bytes. */
#define TLSGEN_PEM_MAX (64u * 1024u)

/**
 * tlsgen_write() - Generate a P-256 key and a self-signed certificate, write both as PEM
 * @key_path:  private key (PKCS#8, unencrypted), created with mode 0600, must not exist;
 *             written with write(2) from a buffer that is wiped afterwards
 * @cert_path: certificate, created with mode 0644, must not exist
 * @now:       seconds since the epoch (notBefore = @now - 60 s)
 * @ret_pin:   new pin string of the certificate's public key (may be NULL)
 * Nothing is left behind on failure.
 * Errors: -EEXIST, other -errno, JIT_E_CRYPTO, -ENOMEM.
 */
int tlsgen_write(const char *key_path, const char *cert_path, uint64_t now, char **ret_pin);

/**
 * tlsgen_pin_pem() - The pin of the first certificate in PEM text
 * @pem, @len: the PEM text
 * @ret:       new pin string
 * Errors: JIT_E_FORMAT (no certificate), JIT_E_CRYPTO, -ENOMEM.
 */
int tlsgen_pin_pem(const char *pem, size_t len, char **ret);

/**
 * tlsgen_pin_file() - The pin of the certificate in the PEM file @cert_path
 * Errors: -errno reading, JIT_E_TOO_LARGE (over TLSGEN_PEM_MAX), as tlsgen_pin_pem().
 */
int tlsgen_pin_file(const char *cert_path, char **ret);

/**
 * tlsgen_read_file() - Read a whole small file (at most TLSGEN_PEM_MAX bytes) as a string
 * @ret:     new NUL-terminated contents
 * @ret_len: their length, or NULL
 * Errors: -errno, JIT_E_TOO_LARGE.
 */
int tlsgen_read_file(const char *path, char **ret, size_t *ret_len);

/**
 * tlsgen_read_private_file() - tlsgen_read_file() for a private key: the file must be a
 * regular file owned by the effective user ID, neither readable nor writable by group or
 * others (as key_load_private() requires of the CA key)
 * @ret: new contents; a secret: wipe (OPENSSL_cleanse) before freeing
 * Errors: -EINVAL (not a regular file), JIT_E_PERMISSION (mode or owner), as
 * tlsgen_read_file().
 */
int tlsgen_read_private_file(const char *path, char **ret, size_t *ret_len);
