/* SPDX-License-Identifier: ISC */
/*
 * cert.h - OpenSSH user certificates: encode, sign, parse, verify.
 *
 * Source: draft-miller-ssh-cert (OpenSSH PROTOCOL.certkeys). A certificate blob is
 *
 *   string  cert type name ("ssh-ed25519-cert-v01@openssh.com", ...)
 *   string  nonce (CERT_NONCE_LEN random bytes)
 *   ...     the subject key's public fields (key_put_public_fields())
 *   uint64  serial
 *   uint32  type (1 = user, 2 = host)
 *   string  key id
 *   string  valid principals (a sequence of strings, packed in one string)
 *   uint64  valid after      (seconds since the Unix epoch, UTC)
 *   uint64  valid before     (seconds since the Unix epoch, UTC)
 *   string  critical options (sequence of: string name, string data)
 *   string  extensions       (sequence of: string name, string data)
 *   string  reserved         (empty)
 *   string  signature key    (public-key blob of the CA)
 *   string  signature        (over everything above)
 *
 * Option data is itself an SSH string inside the data string ("force-command" data is
 * string(command)); flag options and extensions have empty data.
 *
 * The encoder enforces, and the parser checks: critical options and extensions sorted by
 * name and unique; at least one principal; serial not 0; valid_after < valid_before; the
 * CA key not itself a certificate; reserved empty; no trailing bytes.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "key.h"
#include "wbuf.h"

#define CERT_NONCE_LEN 32
#define CERT_PRINCIPALS_MAX 256
#define CERT_PRINCIPAL_LEN_MAX 255
#define CERT_KEY_ID_LEN_MAX 1024
#define CERT_OPTIONS_MAX 64
#define CERT_OPTION_NAME_MAX 128
#define CERT_OPTION_VALUE_MAX 4096
/* Largest certificate blob we build or parse, bytes. */
#define CERT_BLOB_MAX (64u * 1024u)
/* Longest "*-cert.pub" line cert_from_line() accepts, bytes (base64 of CERT_BLOB_MAX + room). */
#define CERT_LINE_MAX (96u * 1024u)

enum cert_type {
	CERT_TYPE_USER = 1,
	CERT_TYPE_HOST = 2,
};

/**
 * struct cert_option - one critical option or extension
 * @name:  e.g. "force-command", "source-address", "permit-pty"
 * @value: the option's value (the inner string of its data), or NULL for a flag
 *         (extensions and flag options have empty data on the wire)
 */
struct cert_option {
	char *name;
	char *value;
};

/**
 * struct cert - a certificate being built or one that was parsed
 *
 * All pointers are owned by the certificate and freed by cert_free(). Build one with
 * cert_new(), set @subject, @serial, @key_id, the validity and the lists through the
 * cert_add_* calls, then cert_sign(). After cert_sign() or cert_parse(), @blob holds the
 * complete certificate blob and @signature_key the CA's public key.
 */
struct cert {
	enum cert_type type;
	struct key *subject;		/* certified public key */
	uint8_t nonce[CERT_NONCE_LEN];
	uint64_t serial;
	char *key_id;
	char **principals;
	size_t n_principals;
	uint64_t valid_after;		/* seconds since the epoch, UTC */
	uint64_t valid_before;		/* seconds since the epoch, UTC */
	struct cert_option *critical;
	size_t n_critical;
	struct cert_option *extensions;
	size_t n_extensions;
	struct key *signature_key;	/* CA public key */
	char *signature_alg;		/* e.g. "ssh-ed25519", "rsa-sha2-512" */
	uint8_t *blob;			/* the whole certificate */
	size_t blob_len;
};

/**
 * cert_new() - An empty user certificate with a fresh random nonce
 * @subject: the public key to certify (stolen: owned by the certificate, even on failure)
 * @ret:     new certificate
 * Errors: -ENOMEM, JIT_E_CRYPTO (no randomness), -EINVAL (@subject or @ret NULL).
 */
int cert_new(struct key *subject, struct cert **ret);

/** cert_free() - Free a certificate and everything it owns; accepts NULL; returns NULL. */
struct cert *cert_free(struct cert *c);
void cert_freep(struct cert **c);

/**
 * cert_set_key_id() - Set the key ID (copied)
 * Errors: JIT_E_TOO_LARGE over CERT_KEY_ID_LEN_MAX, JIT_E_NAME for control characters.
 */
int cert_set_key_id(struct cert *c, const char *key_id);

/**
 * cert_add_principal() - Append a principal (copied)
 * Errors: JIT_E_NAME when empty, over CERT_PRINCIPAL_LEN_MAX, or holding a comma,
 * whitespace or a control character; JIT_E_TOO_LARGE past CERT_PRINCIPALS_MAX;
 * JIT_E_FORMAT for a duplicate.
 * Also JIT_E_NAME for a non-ASCII byte: a principal is printable ASCII (0x21..0x7e) minus ','.
 */
int cert_add_principal(struct cert *c, const char *principal);

/**
 * cert_add_critical() / cert_add_extension() - Add an option (name and value copied)
 * @value: NULL for a flag
 * The list is kept sorted by name (strcmp order, as OpenSSH requires).
 * Errors: JIT_E_FORMAT for a duplicate name, JIT_E_TOO_LARGE past the limits.
 * Also JIT_E_FORMAT for an empty name or a control character in the name or value.
 */
int cert_add_critical(struct cert *c, const char *name, const char *value);
int cert_add_extension(struct cert *c, const char *name, const char *value);

/**
 * cert_set_validity() - Set the validity window
 * @now:          current time, seconds since the Unix epoch (UTC)
 * @skew_sec:     seconds subtracted from @now for clock skew (0..CERT_SKEW_MAX)
 * @lifetime_sec: seconds of validity counted from @now (1..CERT_LIFETIME_MAX)
 *
 * valid_after = @now - @skew_sec, valid_before = @now + @lifetime_sec, so the skew
 * allowance never eats into the lifetime.
 * Errors: -EINVAL when a value is out of range.
 */
#define CERT_SKEW_MAX 300
#define CERT_LIFETIME_MAX (7u * 24u * 3600u)
int cert_set_validity(struct cert *c, uint64_t now, uint64_t skew_sec, uint64_t lifetime_sec);

/**
 * cert_sign() - Check the invariants, encode, and sign with @ca
 * @ca:  signer (its @pub is the CA public key; it must not be a certificate)
 * @alg: signature algorithm or NULL for the CA key's default (rsa-sha2-512 for RSA)
 *
 * On success @c->blob, @c->signature_key and @c->signature_alg are set (replacing earlier
 * values). Refuses: zero principals, serial 0, valid_after >= valid_before, no key ID,
 * type other than user (this CA issues user certificates only).
 * Errors: JIT_E_CERT for a broken invariant, errors of the signer, -ENOMEM.
 * Also JIT_E_CERT for a principal, key ID or option the cert_* setters would refuse (the
 * struct is public, so the encoder checks again), JIT_E_TOO_LARGE past a limit, and
 * JIT_E_SIGNATURE when the signer's signature does not verify with @ca->pub or uses another
 * algorithm than the one asked for. On failure @c is unchanged.
 */
int cert_sign(struct cert *c, const struct signer *ca, const char *alg);

/**
 * cert_parse() - Parse a certificate blob and verify its signature against the embedded
 * signature key
 * @blob, @len: the blob (at most CERT_BLOB_MAX bytes), exactly
 * @ret:        new certificate (with @blob copied)
 * Does not check validity times or who the CA is: see cert_check().
 * Errors: JIT_E_FORMAT (malformed, unsorted or duplicate options, trailing data),
 * JIT_E_KEY_TYPE, JIT_E_SIGNATURE, JIT_E_TOO_LARGE, JIT_E_CERT (zero principals, serial 0,
 * valid_after >= valid_before), -ENOMEM.
 * Also refused: a nonce other than CERT_NONCE_LEN bytes and a type other than user/host
 * (JIT_E_FORMAT); an empty key ID, a principal that cert_add_principal() would refuse,
 * duplicate principals, an option name or value that the cert_add_* calls would refuse
 * (JIT_E_CERT). The signature is checked before these invariants.
 */
int cert_parse(const uint8_t *blob, size_t len, struct cert **ret);

/**
 * cert_check() - Check a parsed certificate as sshd would for a user login
 * @ca:        the trusted CA public key
 * @now:       current time, seconds since the epoch (UTC)
 * @principal: the principal that must be listed, or NULL to skip that check
 * Errors: JIT_E_SIGNATURE (signed by another CA), JIT_E_EXPIRED (now < valid_after or
 * now >= valid_before), JIT_E_NOT_FOUND (principal not listed), JIT_E_CERT (not a user cert).
 */
int cert_check(const struct cert *c, const struct key *ca, uint64_t now, const char *principal);

/**
 * cert_to_line() - OpenSSH "*-cert.pub" line: "TYPE-cert-v01@openssh.com BASE64[ COMMENT]"
 * @ret: new string, no newline
 * Errors: -EINVAL when the certificate was not signed or parsed, or @comment holds a
 * control character.
 */
int cert_to_line(const struct cert *c, const char *comment, char **ret);

/**
 * cert_from_line() - Parse a "*-cert.pub" line (as cert_parse(); the type name in the line
 * must match the blob)
 * @line: NUL-terminated; leading/trailing whitespace and a final newline allowed; the
 *        comment is ignored
 * @ret:  new certificate
 * Errors: JIT_E_TOO_LARGE over CERT_LINE_MAX, JIT_E_FORMAT (not one line of that shape,
 * bad base64, type name not matching the blob), and those of cert_parse().
 */
int cert_from_line(const char *line, struct cert **ret);
