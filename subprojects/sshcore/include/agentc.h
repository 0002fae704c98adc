/* SPDX-License-Identifier: ISC */
/*
 * agentc.h - ssh-agent client over a Unix socket.
 *
 * Source: draft-miller-ssh-agent (OpenSSH PROTOCOL.agent). Messages are
 * uint32 length, byte type, contents. Used here:
 *   SSH_AGENTC_REQUEST_IDENTITIES (11) -> SSH_AGENT_IDENTITIES_ANSWER (12)
 *   SSH_AGENTC_SIGN_REQUEST (13)       -> SSH_AGENT_SIGN_RESPONSE (14)
 *   SSH_AGENTC_ADD_IDENTITY (17), SSH_AGENTC_ADD_ID_CONSTRAINED (25)
 *   SSH_AGENTC_REMOVE_IDENTITY (18)
 *   SSH_AGENT_SUCCESS (6), SSH_AGENT_FAILURE (5)
 * Constraints: SSH_AGENT_CONSTRAIN_LIFETIME (1) + uint32 seconds,
 *              SSH_AGENT_CONSTRAIN_CONFIRM (2).
 * Sign flags: SSH_AGENT_RSA_SHA2_256 (2), SSH_AGENT_RSA_SHA2_512 (4).
 * SSH_AGENT_FAILURE and the older failure codes 30 and 102 all mean JIT_E_AGENT.
 *
 * I/O (every call that talks to the agent): send/recv retry EINTR; requests go with
 * MSG_NOSIGNAL (a vanished agent gives -EPIPE, never SIGPIPE); each send/recv times out after
 * AGENT_TIMEOUT_MS (-ETIMEDOUT). A reply cut short (-ECONNRESET), of length 0 (JIT_E_FORMAT)
 * or over AGENT_REPLY_MAX (JIT_E_TOO_LARGE), or any socket error closes the connection:
 * later calls on it return -ENOTCONN. A request over AGENT_REQUEST_MAX is refused before
 * anything is sent (JIT_E_TOO_LARGE). Details: docs/protocol/agent.md.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cert.h"
#include "key.h"

/* Largest agent reply we accept, bytes (OpenSSH's own limit is 256 KiB). */
#define AGENT_REPLY_MAX (256u * 1024u)
/* Most identities we read from one list answer. */
#define AGENT_IDENTITIES_MAX 1024
/* Socket read/write timeout, milliseconds (a confirm constraint waits for a person). */
#define AGENT_TIMEOUT_MS 60000
/* Largest request we send, bytes (OpenSSH's agent drops a connection past 256 KiB). */
#define AGENT_REQUEST_MAX (256u * 1024u)

struct agentc;

/**
 * struct agent_identity - one identity listed by the agent
 * @blob, @blob_len: the key or certificate blob (new, owned by the array)
 * @comment:         its comment (new)
 * @key:             the parsed public key, or NULL when the blob is a certificate or a key
 *                   type we do not support (new)
 * @cert:            the parsed certificate, or NULL (new)
 */
struct agent_identity {
	uint8_t *blob;
	size_t blob_len;
	char *comment;
	struct key *key;
	struct cert *cert;
};

/**
 * agentc_open() - Connect to an agent
 * @path: socket path, or NULL for $SSH_AUTH_SOCK
 * @ret:  new connection
 * Errors: -ENOENT when @path is NULL and SSH_AUTH_SOCK is unset or empty; -errno from
 * socket/connect (-ECONNREFUSED, -ENOENT for a stale socket); JIT_E_TOO_LARGE for an
 * over-long path.
 */
int agentc_open(const char *path, struct agentc **ret);

/** agentc_close() - Close the connection; accepts NULL; returns NULL. */
struct agentc *agentc_close(struct agentc *a);
void agentc_closep(struct agentc **a);

/**
 * agentc_list() - List the agent's identities
 * @ret, @ret_n: new array (free with agentc_identities_free())
 * Errors: JIT_E_AGENT, JIT_E_FORMAT (malformed reply), JIT_E_TOO_LARGE, -errno.
 */
int agentc_list(struct agentc *a, struct agent_identity **ret, size_t *ret_n);
void agentc_identities_free(struct agent_identity *ids, size_t n);

/**
 * agentc_parse_identities() - Parse the reply to SSH_AGENTC_REQUEST_IDENTITIES
 * (draft-miller-ssh-agent section 4.4): byte SSH_AGENT_IDENTITIES_ANSWER, uint32 nkeys, then
 * nkeys times (string key blob, string comment)
 * @msg, @len: the reply message without its uint32 length: type byte and contents (borrowed)
 * @ret, @ret_n: new array (free with agentc_identities_free()); @ret is NULL when @ret_n is 0
 *
 * Each blob is parsed with key_from_blob(), or with cert_parse() when it is a certificate;
 * a blob of a type we do not support is kept with @key and @cert NULL. Comments must not
 * hold NUL bytes; nothing may follow the last identity.
 * Errors: JIT_E_AGENT (the message is SSH_AGENT_FAILURE), JIT_E_FORMAT (other type, short
 * or trailing data, NUL in a comment), JIT_E_TOO_LARGE (@len over AGENT_REPLY_MAX, nkeys
 * over AGENT_IDENTITIES_MAX), -ENOMEM.
 */
int agentc_parse_identities(const uint8_t *msg, size_t len, struct agent_identity **ret,
			    size_t *ret_n);

/**
 * agentc_add_cert() - Add a private key with its certificate
 * (SSH_AGENTC_ADD_ID_CONSTRAINED with the certificate type name and blob)
 * @priv:         the certified key with its private half (borrowed)
 * @c:            its signed certificate (borrowed; c->subject must equal @priv's public key)
 * @comment:      identity comment (borrowed)
 * @lifetime_sec: lifetime constraint in seconds (0 = none)
 * @confirm:      add the confirm constraint
 * Errors: -EINVAL (certificate not for this key), JIT_E_AGENT (agent refused), -errno.
 */
int agentc_add_cert(struct agentc *a, const struct key *priv, const struct cert *c,
		    const char *comment, uint32_t lifetime_sec, bool confirm);

/**
 * agentc_add_key() - Add a plain private key (SSH_AGENTC_ADD_IDENTITY, or
 * ADD_ID_CONSTRAINED when a constraint is given)
 * Errors: as agentc_add_cert().
 */
int agentc_add_key(struct agentc *a, const struct key *priv, const char *comment,
		   uint32_t lifetime_sec, bool confirm);

/**
 * agentc_remove() - Remove an identity by its key or certificate blob
 * Errors: JIT_E_AGENT (agent refused, e.g. not present), -errno.
 */
int agentc_remove(struct agentc *a, const uint8_t *blob, size_t len);

/**
 * agentc_sign() - Ask the agent to sign @data with the private half of @pub, appending the
 * SSH signature (string alg, string blob) to @sig
 * @alg: NULL for the default; for RSA keys "rsa-sha2-256" or "rsa-sha2-512" (default 512)
 * The returned signature is checked with key_verify() before it is accepted, and its
 * algorithm must be the one asked for. When the agent refuses, its identities are listed to
 * tell JIT_E_AGENT_NOKEY (key not held) from JIT_E_AGENT (held but refused, e.g. a confirm
 * constraint the user declined). @sig is unchanged on failure.
 * Errors: JIT_E_AGENT_NOKEY / JIT_E_AGENT (refused), JIT_E_SIGNATURE (bad signature
 * returned), JIT_E_KEY_TYPE (@alg not for this key, or "ssh-rsa"), JIT_E_TOO_LARGE (@len
 * too big for one request), JIT_E_FORMAT, -errno.
 */
int agentc_sign(struct agentc *a, const struct key *pub, const uint8_t *data, size_t len,
		const char *alg, struct wbuf *sig);

/**
 * agentc_signer() - A signer (key.h) that signs with @pub through agent connection @a
 * Ownership: @a and @pub borrowed; both must outlive the signer.
 */
struct signer agentc_signer(struct agentc *a, const struct key *pub);
