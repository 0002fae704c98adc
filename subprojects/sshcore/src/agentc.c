/* SPDX-License-Identifier: ISC */
/*
 * agentc.c - ssh-agent client (draft-miller-ssh-agent; docs/protocol/agent.md).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "agentc.h"
#include "err.h"
#include "util.h"

/* Message numbers (draft-miller-ssh-agent section 5.1). */
enum {
	AGENT_FAILURE = 5,
	AGENT_SUCCESS = 6,
	AGENTC_REQUEST_IDENTITIES = 11,
	AGENT_IDENTITIES_ANSWER = 12,
	AGENTC_SIGN_REQUEST = 13,
	AGENT_SIGN_RESPONSE = 14,
	AGENTC_ADD_IDENTITY = 17,
	AGENTC_REMOVE_IDENTITY = 18,
	AGENTC_ADD_ID_CONSTRAINED = 25,
	/* Failure codes older agents send (OpenSSH treats them as SSH_AGENT_FAILURE). */
	AGENT2_FAILURE_OLD = 30,
	AGENT_COM_FAILURE = 102,
};

/* Key constraints (section 5.2) and signature flags (section 5.3). */
enum {
	AGENT_CONSTRAIN_LIFETIME = 1,
	AGENT_CONSTRAIN_CONFIRM = 2,
	AGENT_RSA_SHA2_256 = 2,
	AGENT_RSA_SHA2_512 = 4,
};

#define CERT_TYPE_SUFFIX "-cert-v01@openssh.com"

struct agentc {
	int fd; /* -1 once a framing or I/O error has left the stream out of step */
};

static bool agentc_is_failure(uint8_t type)
{
	return type == AGENT_FAILURE || type == AGENT2_FAILURE_OLD || type == AGENT_COM_FAILURE;
}

int agentc_open(const char *path, struct agentc **ret)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct timeval tv = {
		.tv_sec = AGENT_TIMEOUT_MS / 1000,
		.tv_usec = (AGENT_TIMEOUT_MS % 1000) * 1000,
	};
	struct agentc *a;
	int fd, r;

	if (!path)
		path = getenv("SSH_AUTH_SOCK");
	if (!path || !*path)
		return -ENOENT;
	if (strlen(path) >= sizeof addr.sun_path)
		return JIT_E_TOO_LARGE;
	memcpy(addr.sun_path, path, strlen(path) + 1);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
		goto fail;
	/* A connect() interrupted by a signal goes on in the background; EISCONN then. */
	while ((r = connect(fd, (const struct sockaddr *)&addr, sizeof addr)) < 0 && errno == EINTR)
		;
	if (r < 0 && errno != EISCONN)
		goto fail;

	a = calloc(1, sizeof *a);
	if (!a) {
		close(fd);
		return -ENOMEM;
	}
	a->fd = fd;
	*ret = a;
	return 0;
fail:
	r = -errno;
	close(fd);
	return r;
}

struct agentc *agentc_close(struct agentc *a)
{
	if (!a)
		return NULL;
	if (a->fd >= 0)
		close(a->fd);
	free(a);
	return NULL;
}

void agentc_closep(struct agentc **a)
{
	agentc_close(*a);
}

/* Map errno after a failed send/recv; a timeout shows as EAGAIN. */
static int agentc_io_error(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
}

static int agentc_write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		/* MSG_NOSIGNAL: a vanished agent gives EPIPE, never SIGPIPE. */
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return agentc_io_error();
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read exactly @len bytes; end of stream before that is -ECONNRESET. */
static int agentc_read_all(int fd, uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return agentc_io_error();
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Send one request (@req: type byte and contents) framed with its uint32 length and read
 * one reply (draft-miller-ssh-agent section 3). @ret is a new buffer holding the reply's type
 * byte and contents. Any I/O or framing error closes the connection: the stream can no
 * longer be trusted to be in step.
 */
static int agentc_call(struct agentc *a, const struct wbuf *req, struct wbuf **ret)
{
	uint8_t hdr[4];
	uint32_t n;
	uint8_t *body = NULL;
	struct wbuf *reply;
	int r;

	if (a->fd < 0)
		return -ENOTCONN;
	if (wbuf_len(req) > AGENT_REQUEST_MAX)
		return JIT_E_TOO_LARGE;
	n = (uint32_t)wbuf_len(req);
	hdr[0] = (uint8_t)(n >> 24);
	hdr[1] = (uint8_t)(n >> 16);
	hdr[2] = (uint8_t)(n >> 8);
	hdr[3] = (uint8_t)n;
	if ((r = agentc_write_all(a->fd, hdr, sizeof hdr)) < 0 ||
	    (r = agentc_write_all(a->fd, wbuf_ptr(req), n)) < 0 ||
	    (r = agentc_read_all(a->fd, hdr, sizeof hdr)) < 0)
		goto broken;
	n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	if (n == 0) {
		r = JIT_E_FORMAT;
		goto broken;
	}
	if (n > AGENT_REPLY_MAX) {
		r = JIT_E_TOO_LARGE;
		goto broken;
	}
	body = malloc(n);
	if (!body) {
		r = -ENOMEM;
		goto broken;
	}
	if ((r = agentc_read_all(a->fd, body, n)) < 0)
		goto broken;
	reply = wbuf_from(body, n);
	free(body);
	if (!reply)
		return -ENOMEM;
	*ret = reply;
	return 0;
broken:
	free(body);
	close(a->fd);
	a->fd = -1;
	return r;
}

/* Expect SSH_AGENT_SUCCESS alone (section 4.1). */
static int agentc_call_simple(struct agentc *a, const struct wbuf *req)
{
	_cleanup_(wbuf_freep) struct wbuf *reply = NULL;
	uint8_t type;
	int r;

	if ((r = agentc_call(a, req, &reply)) < 0 || (r = wbuf_get_u8(reply, &type)) < 0)
		return r;
	if (agentc_is_failure(type))
		return JIT_E_AGENT;
	if (type != AGENT_SUCCESS)
		return JIT_E_FORMAT;
	return 0;
}

void agentc_identities_free(struct agent_identity *ids, size_t n)
{
	if (!ids)
		return;
	for (size_t i = 0; i < n; i++) {
		free(ids[i].blob);
		free(ids[i].comment);
		key_free(ids[i].key);
		cert_free(ids[i].cert);
	}
	free(ids);
}

/* True when @blob starts with string(type name) ending in "-cert-v01@openssh.com". */
static bool agentc_blob_is_cert(const uint8_t *blob, size_t len)
{
	const size_t sl = sizeof CERT_TYPE_SUFFIX - 1;
	size_t n;

	if (len < 4)
		return false;
	n = (size_t)blob[0] << 24 | (size_t)blob[1] << 16 | (size_t)blob[2] << 8 | blob[3];
	return n >= sl && n <= len - 4 && memcmp(blob + 4 + n - sl, CERT_TYPE_SUFFIX, sl) == 0;
}

/* Parse @id->blob into @id->key or @id->cert; an unsupported or bad blob leaves both NULL. */
static int agentc_identity_parse_blob(struct agent_identity *id)
{
	int r;

	if (agentc_blob_is_cert(id->blob, id->blob_len))
		r = cert_parse(id->blob, id->blob_len, &id->cert);
	else
		r = key_from_blob(id->blob, id->blob_len, &id->key);
	return r == -ENOMEM ? r : 0;
}

int agentc_parse_identities(const uint8_t *msg, size_t len, struct agent_identity **ret,
			    size_t *ret_n)
{
	_cleanup_(wbuf_freep) struct wbuf *b = NULL;
	struct agent_identity *ids = NULL;
	uint32_t nkeys = 0;
	uint8_t type;
	int r;

	if (len > AGENT_REPLY_MAX)
		return JIT_E_TOO_LARGE;
	if (!(b = wbuf_from(msg, len)))
		return -ENOMEM;
	if ((r = wbuf_get_u8(b, &type)) < 0)
		return r;
	if (agentc_is_failure(type))
		return JIT_E_AGENT;
	if (type != AGENT_IDENTITIES_ANSWER)
		return JIT_E_FORMAT;
	if ((r = wbuf_get_u32(b, &nkeys)) < 0)
		return r;
	if (nkeys > AGENT_IDENTITIES_MAX)
		return JIT_E_TOO_LARGE;
	/* Each identity takes at least 8 bytes: refuse a count the message cannot hold. */
	if (nkeys > wbuf_len(b) / 8)
		return JIT_E_FORMAT;
	if (nkeys > 0 && !(ids = calloc(nkeys, sizeof *ids)))
		return -ENOMEM;
	for (uint32_t i = 0; i < nkeys; i++) {
		if ((r = wbuf_get_string(b, &ids[i].blob, &ids[i].blob_len)) < 0 ||
		    (r = wbuf_get_cstring(b, &ids[i].comment, NULL)) < 0 ||
		    (r = agentc_identity_parse_blob(&ids[i])) < 0)
			goto fail;
	}
	if (wbuf_len(b) != 0) {
		r = JIT_E_FORMAT;
		goto fail;
	}
	*ret = ids;
	*ret_n = nkeys;
	return 0;
fail:
	agentc_identities_free(ids, nkeys);
	return r;
}

int agentc_list(struct agentc *a, struct agent_identity **ret, size_t *ret_n)
{
	_cleanup_(wbuf_freep) struct wbuf *req = wbuf_new(0);
	_cleanup_(wbuf_freep) struct wbuf *reply = NULL;
	int r;

	if (!req)
		return -ENOMEM;
	if ((r = wbuf_put_u8(req, AGENTC_REQUEST_IDENTITIES)) < 0 ||
	    (r = agentc_call(a, req, &reply)) < 0)
		return r;
	return agentc_parse_identities(wbuf_ptr(reply), wbuf_len(reply), ret, ret_n);
}

/* Append the constraints (section 4.2.6); returns the message type to use. */
static int agentc_put_constraints(struct wbuf *b, uint32_t lifetime_sec, bool confirm)
{
	int r;

	if (lifetime_sec > 0 && ((r = wbuf_put_u8(b, AGENT_CONSTRAIN_LIFETIME)) < 0 ||
				 (r = wbuf_put_u32(b, lifetime_sec)) < 0))
		return r;
	if (confirm && (r = wbuf_put_u8(b, AGENT_CONSTRAIN_CONFIRM)) < 0)
		return r;
	return 0;
}

int agentc_add_cert(struct agentc *a, const struct key *priv, const struct cert *c,
		    const char *comment, uint32_t lifetime_sec, bool confirm)
{
	_cleanup_(wbuf_freep) struct wbuf *req = wbuf_new(AGENT_REQUEST_MAX);
	int r;

	if (!req)
		return -ENOMEM;
	if (!c->blob || !c->subject || !key_equal_public(c->subject, priv))
		return -EINVAL;
	if ((r = wbuf_put_u8(req, AGENTC_ADD_ID_CONSTRAINED)) < 0 ||
	    (r = wbuf_put_cstring(req, key_cert_type_name(priv))) < 0 ||
	    (r = wbuf_put_string(req, c->blob, c->blob_len)) < 0 ||
	    (r = key_put_private_agent(priv, true, req)) < 0 ||
	    (r = wbuf_put_cstring(req, comment ? comment : "")) < 0 ||
	    (r = agentc_put_constraints(req, lifetime_sec, confirm)) < 0)
		return r;
	return agentc_call_simple(a, req);
}

int agentc_add_key(struct agentc *a, const struct key *priv, const char *comment,
		   uint32_t lifetime_sec, bool confirm)
{
	_cleanup_(wbuf_freep) struct wbuf *req = wbuf_new(AGENT_REQUEST_MAX);
	bool constrained = lifetime_sec > 0 || confirm;
	int r;

	if (!req)
		return -ENOMEM;
	if ((r = wbuf_put_u8(req, constrained ? AGENTC_ADD_ID_CONSTRAINED : AGENTC_ADD_IDENTITY)) <
		    0 ||
	    (r = wbuf_put_cstring(req, key_type_name(priv))) < 0 ||
	    (r = key_put_private_agent(priv, false, req)) < 0 ||
	    (r = wbuf_put_cstring(req, comment ? comment : "")) < 0 ||
	    (r = agentc_put_constraints(req, lifetime_sec, confirm)) < 0)
		return r;
	return agentc_call_simple(a, req);
}

int agentc_remove(struct agentc *a, const uint8_t *blob, size_t len)
{
	_cleanup_(wbuf_freep) struct wbuf *req = wbuf_new(AGENT_REQUEST_MAX);
	int r;

	if (!req)
		return -ENOMEM;
	if ((r = wbuf_put_u8(req, AGENTC_REMOVE_IDENTITY)) < 0 ||
	    (r = wbuf_put_string(req, blob, len)) < 0)
		return r;
	return agentc_call_simple(a, req);
}

/*
 * After the agent refused to sign: JIT_E_AGENT_NOKEY when it does not list @blob,
 * JIT_E_AGENT otherwise (or when listing fails too).
 */
static int agentc_refusal(struct agentc *a, const uint8_t *blob, size_t len)
{
	struct agent_identity *ids = NULL;
	size_t n = 0;
	bool held = false;

	if (agentc_list(a, &ids, &n) < 0)
		return JIT_E_AGENT;
	for (size_t i = 0; i < n; i++)
		if (ids[i].blob_len == len && memcmp(ids[i].blob, blob, len) == 0)
			held = true;
	agentc_identities_free(ids, n);
	return held ? JIT_E_AGENT : JIT_E_AGENT_NOKEY;
}

/* The algorithm to ask for and the sign-request flags for it (section 4.5.1). */
static int agentc_sign_alg(const struct key *pub, const char *alg, const char **ret_alg,
			   uint32_t *ret_flags)
{
	if (key_type(pub) == KEY_RSA) {
		if (!alg || strcmp(alg, "rsa-sha2-512") == 0) {
			*ret_alg = "rsa-sha2-512";
			*ret_flags = AGENT_RSA_SHA2_512;
			return 0;
		}
		if (strcmp(alg, "rsa-sha2-256") == 0) {
			*ret_alg = "rsa-sha2-256";
			*ret_flags = AGENT_RSA_SHA2_256;
			return 0;
		}
		return JIT_E_KEY_TYPE;
	}
	if (alg && strcmp(alg, key_type_name(pub)) != 0)
		return JIT_E_KEY_TYPE;
	*ret_alg = key_type_name(pub);
	*ret_flags = 0;
	return 0;
}

int agentc_sign(struct agentc *a, const struct key *pub, const uint8_t *data, size_t len,
		const char *alg, struct wbuf *sig)
{
	_cleanup_(wbuf_freep) struct wbuf *req = wbuf_new(AGENT_REQUEST_MAX);
	_cleanup_(wbuf_freep) struct wbuf *reply = NULL;
	_cleanup_free_ uint8_t *blob = NULL;
	const uint8_t *s;
	const char *want, *got = NULL;
	size_t blob_len, slen;
	uint32_t flags;
	uint8_t type;
	int r;

	if (!req)
		return -ENOMEM;
	if ((r = agentc_sign_alg(pub, alg, &want, &flags)) < 0 ||
	    (r = key_to_blob(pub, &blob, &blob_len)) < 0)
		return r;
	if ((r = wbuf_put_u8(req, AGENTC_SIGN_REQUEST)) < 0 ||
	    (r = wbuf_put_string(req, blob, blob_len)) < 0 ||
	    (r = wbuf_put_string(req, data, len)) < 0 || (r = wbuf_put_u32(req, flags)) < 0 ||
	    (r = agentc_call(a, req, &reply)) < 0 || (r = wbuf_get_u8(reply, &type)) < 0)
		return r;
	if (agentc_is_failure(type))
		return agentc_refusal(a, blob, blob_len);
	if (type != AGENT_SIGN_RESPONSE)
		return JIT_E_FORMAT;
	if ((r = wbuf_get_string_direct(reply, &s, &slen)) < 0)
		return r;
	if (wbuf_len(reply) != 0)
		return JIT_E_FORMAT;
	if ((r = key_verify(pub, s, slen, data, len, &got)) < 0)
		return r == JIT_E_KEY_TYPE ? JIT_E_SIGNATURE : r;
	if (strcmp(got, want) != 0)
		return JIT_E_SIGNATURE;
	return wbuf_put(sig, s, slen);
}

static int agentc_signer_sign(void *ctx, const struct key *pub, const uint8_t *data, size_t len,
			      const char *alg, struct wbuf *sig)
{
	return agentc_sign(ctx, pub, data, len, alg, sig);
}

struct signer agentc_signer(struct agentc *a, const struct key *pub)
{
	return (struct signer){.sign = agentc_signer_sign, .ctx = a, .pub = pub};
}
