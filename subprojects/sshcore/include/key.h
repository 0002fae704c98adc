/* SPDX-License-Identifier: ISC */
/*
 * key.h - SSH public and private keys, SSH signatures, and the signing seam.
 *
 * Key types: ssh-ed25519 (RFC 8709), ecdsa-sha2-nistp256 / ecdsa-sha2-nistp384 (RFC 5656),
 * ssh-rsa keys of at least KEY_RSA_MIN_BITS bits (RFC 4253 section 6.6) signing only with
 * rsa-sha2-256 / rsa-sha2-512 (RFC 8332). DSA, ECDSA nistp521, short RSA keys, SHA-1 RSA
 * signatures and certificates offered as plain keys are refused (JIT_E_KEY_TYPE or
 * JIT_E_KEY_WEAK). ECDSA points are checked to lie on the curve (JIT_E_KEY_INVALID).
 *
 * A struct key is opaque. It holds a public key and, when loaded from a private-key file or
 * generated, the private half. Private material is wiped when the key is freed.
 * All cryptography is OpenSSL 3 (EVP).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wbuf.h"

#define KEY_RSA_MIN_BITS 2048
#define KEY_RSA_MAX_BITS 16384
/* Longest OpenSSH public-key line we accept, in bytes (an RSA-16384 line is ~2.8 KiB). */
#define KEY_LINE_MAX 8192
/* Largest private-key file we read, in bytes. */
#define KEY_PRIVATE_FILE_MAX 65536
/* Longest key comment we accept, in bytes. */
#define KEY_COMMENT_MAX 1024

enum key_type {
	KEY_UNSPEC = 0,
	KEY_ED25519,
	KEY_ECDSA_P256,
	KEY_ECDSA_P384,
	KEY_RSA,
};

struct key;

/**
 * struct signer - the seam through which every signature is made
 * @sign: make an SSH signature (RFC 4253 section 6.6 "signature" encoding: string alg,
 *        string blob) over @data with the private half of @pub and append it to @sig;
 *        @alg is the signature algorithm name ("ssh-ed25519", "rsa-sha2-512", ...) or NULL
 *        for the key's default (rsa-sha2-512 for RSA). Returns 0 or an error code, with
 *        @sig unchanged on failure.
 * @ctx:  passed to @sign (e.g. the struct key, or an agent connection)
 * @pub:  the public key whose private half signs (borrowed; must outlive the signer)
 *
 * key_signer() makes one for an in-memory private key; agentc_signer() (agentc.h) for a key
 * held by ssh-agent; an HSM signer can be added the same way.
 */
struct signer {
	int (*sign)(void *ctx, const struct key *pub, const uint8_t *data, size_t len,
		    const char *alg, struct wbuf *sig);
	void *ctx;
	const struct key *pub;
};

/**
 * key_free() - Free a key, wiping private material
 * @k: key or NULL
 * Return: NULL.
 */
struct key *key_free(struct key *k);
void key_freep(struct key **k);

/** key_type() - The key's type. */
enum key_type key_type(const struct key *k);

/**
 * key_type_name() - SSH name of the key's type ("ssh-ed25519", "ecdsa-sha2-nistp256",
 * "ecdsa-sha2-nistp384", "ssh-rsa")
 * Ownership: borrowed static string.
 */
const char *key_type_name(const struct key *k);

/**
 * key_cert_type_name() - SSH name of the certificate type for this key type
 * ("ssh-ed25519-cert-v01@openssh.com", "ecdsa-sha2-nistp256-cert-v01@openssh.com", ...,
 * "ssh-rsa-cert-v01@openssh.com") (PROTOCOL.certkeys).
 * Ownership: borrowed static string.
 */
const char *key_cert_type_name(const struct key *k);

/** key_has_private() - True when the key holds its private half. */
bool key_has_private(const struct key *k);

/** key_bits() - Size in bits (255 for Ed25519, 256/384 for ECDSA, modulus size for RSA). */
unsigned key_bits(const struct key *k);

/**
 * key_equal_public() - True when @a and @b are the same public key (type and blob).
 */
bool key_equal_public(const struct key *a, const struct key *b);

/**
 * key_public() - Copy the public half of @k
 * @ret: new key without private material
 * Errors: -ENOMEM, JIT_E_CRYPTO.
 */
int key_public(const struct key *k, struct key **ret);

/**
 * key_generate() - Generate a key pair with OpenSSL
 * @type: KEY_ED25519, KEY_ECDSA_P256, KEY_ECDSA_P384 or KEY_RSA
 * @bits: RSA modulus size (KEY_RSA_MIN_BITS..KEY_RSA_MAX_BITS, 0 = 3072); ignored otherwise
 * @ret:  new key with private half
 * Errors: JIT_E_KEY_TYPE, JIT_E_KEY_WEAK, JIT_E_CRYPTO, -ENOMEM; JIT_E_TOO_LARGE when
 * @bits is over KEY_RSA_MAX_BITS.
 */
int key_generate(enum key_type type, unsigned bits, struct key **ret);

/**
 * key_from_blob() - Parse a public-key blob (RFC 4253 section 6.6; RFC 8709 section 4;
 * RFC 5656 section 3.1)
 * @blob, @len: the blob, exactly (trailing bytes are an error)
 * @ret:        new public key
 * Errors: JIT_E_FORMAT (malformed, trailing data), JIT_E_KEY_TYPE (DSA, unknown type,
 * a certificate type), JIT_E_KEY_WEAK (RSA < 2048 bits), JIT_E_KEY_INVALID (ECDSA point
 * not on the curve, curve name not matching the type, Ed25519 key not 32 bytes), -ENOMEM.
 * Also JIT_E_TOO_LARGE for an RSA modulus over KEY_RSA_MAX_BITS, and JIT_E_FORMAT for any
 * encoding that is not the canonical one (the blob must re-encode to the same bytes).
 */
int key_from_blob(const uint8_t *blob, size_t len, struct key **ret);

/**
 * key_get_public() - Read a public-key blob held as an SSH string from @b
 * (the way keys are nested in certificates, SSHSIG and agent messages)
 * Errors: as key_from_blob(); @b unchanged on failure.
 */
int key_get_public(struct wbuf *b, struct key **ret);

/**
 * key_put_blob() - Append the public-key blob (not wrapped in a string) to @b
 * Errors: JIT_E_TOO_LARGE, -ENOMEM; @b unchanged on failure.
 */
int key_put_blob(const struct key *k, struct wbuf *b);

/**
 * key_to_blob() - The public-key blob in a new allocation
 * @ret: new bytes; @ret_len their count
 */
int key_to_blob(const struct key *k, uint8_t **ret, size_t *ret_len);

/**
 * key_put_public_fields() - Append the public fields that follow the nonce in a
 * certificate of this key type (PROTOCOL.certkeys: Ed25519 "string pk"; ECDSA
 * "string curve, string public_key"; RSA "mpint e, mpint n")
 */
int key_put_public_fields(const struct key *k, struct wbuf *b);

/**
 * key_get_public_fields() - Read the certificate public fields for @type from @b
 * (the inverse of key_put_public_fields(); same checks as key_from_blob())
 * @ret: new public key
 */
int key_get_public_fields(enum key_type type, struct wbuf *b, struct key **ret);

/**
 * key_type_from_cert_name() - Key type named by a certificate type name
 * Return: the type, or KEY_UNSPEC for names we do not support.
 */
enum key_type key_type_from_cert_name(const char *name);

/**
 * key_from_line() - Parse an OpenSSH public-key line "TYPE BASE64 [COMMENT]"
 * (sshd(8) AUTHORIZED_KEYS format without options; ssh-keygen's *.pub files)
 * @line:        the text; leading/trailing whitespace and a final newline are allowed
 * @ret:         new public key
 * @ret_comment: new comment string ("" when none), or NULL if not wanted
 * The TYPE must match the type inside the blob.
 * Errors: JIT_E_FORMAT, JIT_E_TOO_LARGE (over KEY_LINE_MAX), and those of key_from_blob().
 */
int key_from_line(const char *line, struct key **ret, char **ret_comment);

/**
 * key_to_line() - Format an OpenSSH public-key line "TYPE BASE64[ COMMENT]" (no newline)
 * @comment: comment or NULL (NULL and "" both give a line without a comment)
 * @ret:     new string
 * Errors: -EINVAL when @comment holds CR or LF or is longer than KEY_COMMENT_MAX; -ENOMEM.
 */
int key_to_line(const struct key *k, const char *comment, char **ret);

/**
 * key_fingerprint() - SHA256 fingerprint as ssh-keygen -l prints it:
 * "SHA256:" + unpadded base64 of SHA-256 over the public-key blob
 * @ret: new string
 */
int key_fingerprint(const struct key *k, char **ret);

/**
 * key_fingerprint_blob() - The same fingerprint for any key or certificate blob
 */
int key_fingerprint_blob(const uint8_t *blob, size_t len, char **ret);

/**
 * key_parse_private() - Parse an unencrypted OpenSSH private-key file
 * ("-----BEGIN OPENSSH PRIVATE KEY-----", openssh-key-v1, OpenSSH PROTOCOL.key), the
 * format `ssh-keygen -t ed25519 -N ''` writes
 * @data, @len: file contents (at most KEY_PRIVATE_FILE_MAX bytes)
 * @ret:        new key with private half
 * @ret_comment: new comment, or NULL if not wanted
 * Errors: JIT_E_PASSPHRASE (encrypted key), JIT_E_FORMAT (not that format, check-int
 * mismatch, bad padding, public and private halves that disagree), JIT_E_KEY_TYPE,
 * JIT_E_KEY_WEAK, JIT_E_TOO_LARGE, -ENOMEM.
 */
int key_parse_private(const uint8_t *data, size_t len, struct key **ret, char **ret_comment);

/**
 * key_load_private() - Read and parse a private-key file
 * @path: file name
 * @require_private_mode: when true, refuse (JIT_E_PERMISSION) a file readable or writable by
 *        group or others, as sshd and ssh do, and a file not owned by the effective user ID
 *        (geteuid()), whose owner could change its mode or contents at any time
 * Errors: -errno from open/read, -EINVAL when @path is not a regular file,
 * JIT_E_TOO_LARGE over KEY_PRIVATE_FILE_MAX, and those of key_parse_private().
 */
int key_load_private(const char *path, bool require_private_mode, struct key **ret);

/**
 * key_write_private() - Write @k as an unencrypted OpenSSH private-key file readable by
 * `ssh-keygen -y -f`, created with mode 0600 (O_EXCL: an existing file is not replaced)
 * @comment: comment or NULL
 * Errors: -EEXIST, other -errno, JIT_E_KEY_TYPE (no private half).
 */
int key_write_private(const struct key *k, const char *comment, const char *path);

/**
 * key_format_private() - The text key_write_private() writes: an unencrypted openssh-key-v1
 * file (OpenSSH PROTOCOL.key; cipher and KDF "none", random check-int, padding 1, 2, 3...,
 * base64 in lines of 70 characters between the armour lines, final newline)
 * @comment: comment or NULL
 * @ret:     new NUL-terminated text holding the private key: wipe (OPENSSL_cleanse) and free
 * @ret_len: its length in bytes
 * Errors: JIT_E_KEY_TYPE (no private half), JIT_E_TOO_LARGE (comment over KEY_COMMENT_MAX),
 * JIT_E_CRYPTO, -ENOMEM.
 */
int key_format_private(const struct key *k, const char *comment, char **ret, size_t *ret_len);

/**
 * key_put_private_agent() - Append the private fields that follow the key (or certificate)
 * blob in SSH_AGENTC_ADD_IDENTITY / ADD_ID_CONSTRAINED (draft-miller-ssh-agent section 4.2):
 * with @for_cert false, the full plain-key encoding after the type name (Ed25519: string pk,
 * string seed||pk; ECDSA: string curve, string Q, mpint d; RSA: mpint n, e, d, iqmp, p, q);
 * with @for_cert true, the fields after the certificate blob (Ed25519: string pk,
 * string seed||pk; ECDSA: mpint d; RSA: mpint d, iqmp, p, q).
 * Errors: JIT_E_KEY_TYPE when @k has no private half.
 */
int key_put_private_agent(const struct key *k, bool for_cert, struct wbuf *b);

/**
 * key_sign() - Sign @data with @k's private half, appending an SSH signature
 * (string alg, string blob) to @sig
 * @alg: "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "rsa-sha2-256",
 *       "rsa-sha2-512", or NULL for the default (rsa-sha2-512 for RSA); must suit the key
 * Errors: JIT_E_KEY_TYPE (no private half, or @alg not for this key, or "ssh-rsa"),
 * JIT_E_CRYPTO.
 */
int key_sign(const struct key *k, const uint8_t *data, size_t len, const char *alg,
	     struct wbuf *sig);

/**
 * key_signer() - A signer (see struct signer) backed by the in-memory key @k
 * Ownership: @k borrowed; must outlive the returned signer.
 */
struct signer key_signer(const struct key *k);

/**
 * key_verify() - Verify an SSH signature (string alg, string blob) over @data
 * @sig, @siglen: the signature encoding, exactly
 * @ret_alg: if not NULL, the signature algorithm found (borrowed static string) on success
 * Only algorithms that suit the key are accepted; "ssh-rsa" (SHA-1) never is.
 * ECDSA signature blobs are "mpint r, mpint s" (RFC 5656 section 3.1.2).
 * Errors: JIT_E_SIGNATURE (does not verify), JIT_E_KEY_TYPE (algorithm refused),
 * JIT_E_FORMAT (malformed encoding).
 */
int key_verify(const struct key *k, const uint8_t *sig, size_t siglen, const uint8_t *data,
	       size_t len, const char **ret_alg);
