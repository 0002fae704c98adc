/* SPDX-License-Identifier: ISC */
/*
 * sig.h - SSHSIG signatures, byte-compatible with `ssh-keygen -Y sign` / `-Y verify`.
 *
 * Source: OpenSSH PROTOCOL.sshsig. A signature blob is
 *   byte[6] "SSHSIG", uint32 version (1), string publickey, string namespace,
 *   string reserved, string hash_algorithm, string signature
 * where signature is an SSH signature over
 *   byte[6] "SSHSIG", string namespace, string reserved, string hash_algorithm,
 *   string H(message)
 * The armoured form is "-----BEGIN SSH SIGNATURE-----", the blob in base64 wrapped at 70
 * columns, "-----END SSH SIGNATURE-----".
 *
 * Hash algorithms: "sha512" (default, as ssh-keygen) and "sha256". RSA keys sign with
 * rsa-sha2-512 (ssh-keygen's choice); the verifier accepts what key_verify() accepts.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "key.h"

#define SIG_NAMESPACE_MAX 256
/* Largest SSHSIG blob we parse, bytes. */
#define SIG_BLOB_MAX (16u * 1024u)
/* Largest armoured signature we parse, bytes. */
#define SIG_ARMOR_MAX (24u * 1024u)

/**
 * sig_sign() - Make an SSHSIG blob over @msg
 * @s:        signer (its @pub is the signing key)
 * @ns:       namespace, non-empty, at most SIG_NAMESPACE_MAX bytes
 * @hashalg:  "sha512", "sha256", or NULL for "sha512"
 * @ret, @ret_len: the binary blob (new)
 * Errors: -EINVAL (empty namespace, unknown hash), errors of the signer, -ENOMEM.
 */
int sig_sign(const struct signer *s, const char *ns, const uint8_t *msg, size_t msglen,
	     const char *hashalg, uint8_t **ret, size_t *ret_len);

/**
 * sig_armor() - The armoured text of an SSHSIG blob, with a trailing newline
 * @ret: new string, byte for byte what ssh-keygen writes: header line, base64 lines of
 *       70 characters (the last one shorter or equal), footer line, each ending in '\n'
 * Errors: -EINVAL (empty blob), JIT_E_TOO_LARGE, -ENOMEM.
 */
int sig_armor(const uint8_t *blob, size_t len, char **ret);

/**
 * sig_dearmor() - The blob inside armoured text (whitespace around lines tolerated)
 * @ret, @ret_len: new bytes
 * Errors: JIT_E_FORMAT (missing markers, bad base64), JIT_E_TOO_LARGE.
 * Blank lines are skipped; anything else before the header or after the footer, or an
 * empty body, is JIT_E_FORMAT; the base64 must be canonical (b64_decode()).
 */
int sig_dearmor(const char *text, size_t len, uint8_t **ret, size_t *ret_len);

/**
 * sig_verify() - Verify an SSHSIG blob over @msg
 * @blob, @len: the binary blob (not armoured), exactly
 * @ns:         required namespace
 * @ret_key:    new copy of the signing public key on success (or NULL if not wanted);
 *              the caller decides whether that key is trusted
 * Errors: JIT_E_FORMAT (magic, version, trailing data), JIT_E_NAMESPACE, JIT_E_KEY_TYPE
 * (unsupported hash or signature algorithm), JIT_E_SIGNATURE, JIT_E_TOO_LARGE, -ENOMEM.
 * Also refused (JIT_E_FORMAT), stricter than ssh-keygen: a version other than 1, a
 * non-empty reserved field (the signature does not cover it), an empty namespace; the
 * errors of key_get_public() for the embedded key; -EINVAL for an empty or over-long @ns.
 */
int sig_verify(const uint8_t *blob, size_t len, const char *ns, const uint8_t *msg,
	       size_t msglen, struct key **ret_key);
