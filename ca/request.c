/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "b64.h"
#include "err.h"
#include "names.h"
#include "request.h"
#include "sig.h"
#include "util.h"
#include "wbuf.h"

int request_error_set(struct request_error *e, int r, unsigned status, const char *code,
		      const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return r;
	e->status = status;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return r;
}

struct request *request_free(struct request *r)
{
	if (!r)
		return NULL;
	free(r->user);
	free(r->host);
	free(r->login);
	key_free(r->public_key);
	free(r->reason);
	free(r->nonce);
	free(r);
	return NULL;
}

void request_freep(struct request **r)
{
	request_free(*r);
}

static const char *const request_fields[] = {
	"user", "host", "login", "public_key", "ttl_seconds", "reason", "timestamp", "nonce", NULL,
};

static bool nonce_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < REQUEST_NONCE_MIN || n > REQUEST_NONCE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* Code points that hide text or change how the text around them reads (Unicode general
 * categories Cc and Cf, and the line separators). */
static const struct {
	uint32_t first, last;
} hidden_ranges[] = {
	{0x0080, 0x009f},   /* C1 controls */
	{0x061c, 0x061c},   /* arabic letter mark */
	{0x180e, 0x180e},   /* mongolian vowel separator */
	{0x200b, 0x200f},   /* zero-width space, joiners, LRM, RLM */
	{0x2028, 0x202e},   /* line and paragraph separators, bidi embeddings and overrides */
	{0x2060, 0x206f},   /* word joiner, invisible operators, bidi isolates */
	{0xfeff, 0xfeff},   /* zero-width no-break space (byte order mark) */
	{0xfff9, 0xfffb},   /* interlinear annotations */
	{0xe0000, 0xe007f}, /* tags */
};

/* Decode the UTF-8 sequence at @s (RFC 3629); its length, 0 when it is not well-formed. */
static size_t utf8_next(const unsigned char *s, uint32_t *ret)
{
	static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
	size_t n = *s < 0x80 ? 1 : *s < 0xe0 ? 2 : *s < 0xf0 ? 3 : 4;
	uint32_t c = n == 1 ? *s : *s & (0x7fu >> n);

	if ((*s >= 0x80 && *s < 0xc2) || *s > 0xf4)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < least[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*ret = c;
	return n;
}

bool request_text_safe(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t c;
	size_t n;

	if (has_control(s))
		return false;
	for (; *p; p += n) {
		if (!(n = utf8_next(p, &c)))
			return false;
		for (size_t i = 0; i < sizeof(hidden_ranges) / sizeof(hidden_ranges[0]); i++)
			if (c >= hidden_ranges[i].first && c <= hidden_ranges[i].last)
				return false;
	}
	return true;
}

#define BAD_FIELD(e, ...) request_error_set(e, JIT_E_FORMAT, 400, "bad_field", __VA_ARGS__)

/* A required string member, copied. */
static int get_string(json_t *o, const char *name, char **ret, struct request_error *e)
{
	json_t *v = json_object_get(o, name);
	char *s;

	if (!v)
		return request_error_set(e, JIT_E_FORMAT, 400, "missing_field",
					 "field '%s' is required", name);
	if (!json_is_string(v))
		return BAD_FIELD(e, "field '%s' must be a string", name);
	s = strdup(json_string_value(v));
	if (!s)
		return request_error_set(e, -ENOMEM, 500, "internal", "out of memory");
	*ret = s;
	return 0;
}

/* A non-negative integer member; @required false leaves @ret alone when absent. */
static int get_uint(json_t *o, const char *name, bool required, uint64_t *ret,
		    struct request_error *e)
{
	json_t *v = json_object_get(o, name);

	if (!v) {
		if (!required)
			return 0;
		return request_error_set(e, JIT_E_FORMAT, 400, "missing_field",
					 "field '%s' is required", name);
	}
	if (!json_is_integer(v))
		return BAD_FIELD(e, "field '%s' must be an integer", name);
	if (json_integer_value(v) < 0)
		return BAD_FIELD(e, "field '%s' must not be negative", name);
	*ret = (uint64_t)json_integer_value(v);
	return 0;
}

static int check_fields(struct request *q, json_t *o, struct request_error *e)
{
	_cleanup_free_ char *host = NULL;
	json_t *v;
	int r;

	if (!name_user_valid(q->user))
		return BAD_FIELD(e,
				 "field 'user' is not a safe name (1..%d of A-Z a-z 0-9 . _ - @, "
				 "not starting with - or .)",
				 NAME_MAX_LEN);
	r = host_normalize(q->host, NULL, &host);
	if (r == -ENOMEM)
		return request_error_set(e, r, 500, "internal", "out of memory");
	if (r < 0)
		return BAD_FIELD(e,
				 "field 'host' is not a valid host name (letters, digits, - and ., "
				 "at most %d characters)",
				 HOST_NAME_MAX_LEN);
	if (!name_login_valid(q->login))
		return BAD_FIELD(e,
				 "field 'login' is not a safe name (1..%d of A-Z a-z 0-9 . _ -, "
				 "not starting with - or .)",
				 NAME_MAX_LEN);
	if (!nonce_valid(q->nonce))
		return BAD_FIELD(e, "field 'nonce' must be %d..%d characters of A-Z a-z 0-9 _ -",
				 REQUEST_NONCE_MIN, REQUEST_NONCE_MAX);
	v = json_object_get(o, "reason");
	if (v) {
		if (!json_is_string(v))
			return BAD_FIELD(e, "field 'reason' must be a string");
		if (json_string_length(v) > POLICY_REASON_MAX)
			return BAD_FIELD(e, "field 'reason' is longer than %u bytes",
					 POLICY_REASON_MAX);
		if (!request_text_safe(json_string_value(v)))
			return BAD_FIELD(e, "field 'reason' must not contain control, invisible or "
					    "text-direction characters");
		q->reason = strdup(json_string_value(v));
		if (!q->reason)
			return request_error_set(e, -ENOMEM, 500, "internal", "out of memory");
	}
	return 0;
}

static int parse_public_key(struct request *q, json_t *o, struct request_error *e)
{
	_cleanup_free_ char *line = NULL;
	int r;

	if ((r = get_string(o, "public_key", &line, e)) < 0)
		return r;
	if (strlen(line) > KEY_LINE_MAX)
		return BAD_FIELD(e, "field 'public_key' is longer than %d bytes", KEY_LINE_MAX);
	r = key_from_line(line, &q->public_key, NULL);
	if (r == -ENOMEM)
		return request_error_set(e, r, 500, "internal", "out of memory");
	if (r < 0)
		return BAD_FIELD(e, "field 'public_key' is not a usable OpenSSH public key: %s",
				 jit_strerror(r));
	return 0;
}

int request_parse(const uint8_t *body, size_t len, struct request **ret,
		  struct request_error *ret_error)
{
	return request_parse_flags(body, len, 0, ret, ret_error);
}

int request_parse_flags(const uint8_t *body, size_t len, unsigned flags, struct request **ret,
			struct request_error *ret_error)
{
	_cleanup_(request_freep) struct request *q = NULL;
	_cleanup_(json_decrefp) json_t *o = NULL;
	struct request_error e = {0};
	json_error_t jerr;
	const char *name;
	json_t *v;
	int r;

	if (len > REQUEST_BODY_MAX)
		return request_error_set(ret_error, JIT_E_TOO_LARGE, 413, "body_too_large",
					 "request body is larger than %u bytes", REQUEST_BODY_MAX);
	o = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		return request_error_set(ret_error, JIT_E_FORMAT, 400, "malformed_json",
					 "request body is not valid JSON: %s (line %d, column %d)",
					 jerr.text, jerr.line, jerr.column);
	if (!json_is_object(o))
		return request_error_set(ret_error, JIT_E_FORMAT, 400, "malformed_json",
					 "request body must be a JSON object");
	json_object_foreach(o, name, v)
	{
		bool known = false;

		for (size_t i = 0; request_fields[i]; i++)
			known = known || !strcmp(name, request_fields[i]);
		if (!known) {
			/* The name is echoed only when it is short and printable. */
			if (strlen(name) <= 64 && !has_control(name))
				return BAD_FIELD(ret_error, "unknown field '%s'", name);
			return BAD_FIELD(ret_error, "unknown field");
		}
	}

	q = calloc(1, sizeof(*q));
	if (!q)
		return request_error_set(ret_error, -ENOMEM, 500, "internal", "out of memory");
	if ((r = get_string(o, "user", &q->user, &e)) < 0 ||
	    (r = get_string(o, "host", &q->host, &e)) < 0 ||
	    (r = get_string(o, "login", &q->login, &e)) < 0 ||
	    ((!(flags & REQUEST_PARSE_KEY_OPTIONAL) || json_object_get(o, "public_key")) &&
	     (r = parse_public_key(q, o, &e)) < 0) ||
	    (r = get_uint(o, "timestamp", true, &q->timestamp, &e)) < 0 ||
	    (r = get_string(o, "nonce", &q->nonce, &e)) < 0 ||
	    (r = get_uint(o, "ttl_seconds", false, &q->ttl_sec, &e)) < 0 ||
	    (r = check_fields(q, o, &e)) < 0) {
		if (ret_error)
			*ret_error = e;
		return r;
	}
	*ret = TAKE_PTR(q);
	return 0;
}

int request_parse_authorization(const char *header, uint8_t **ret, size_t *ret_len,
				struct request_error *ret_error)
{
	static const char scheme[] = "SSHSIG";
	const char *p;
	size_t n;
	int r;

	if (!header)
		return request_error_set(
			ret_error, JIT_E_SIGNATURE, 401, "bad_signature",
			"missing Authorization header (expected 'SSHSIG <base64>')");
	if (strlen(header) > REQUEST_AUTH_MAX)
		return request_error_set(ret_error, JIT_E_SIGNATURE, 401, "bad_signature",
					 "Authorization header is too long");
	if (strncasecmp(header, scheme, sizeof(scheme) - 1) != 0 ||
	    (header[sizeof(scheme) - 1] != ' ' && header[sizeof(scheme) - 1] != '\t'))
		return request_error_set(ret_error, JIT_E_SIGNATURE, 401, "bad_signature",
					 "Authorization header must be 'SSHSIG <base64>'");
	p = header + sizeof(scheme) - 1;
	p += strspn(p, " \t");
	n = strcspn(p, " \t");
	if (n == 0 || p[n + strspn(p + n, " \t")] != 0)
		return request_error_set(ret_error, JIT_E_SIGNATURE, 401, "bad_signature",
					 "Authorization header must be 'SSHSIG <base64>' with the "
					 "base64 in one piece");
	r = b64_decode(p, n, ret, ret_len);
	if (r == -ENOMEM)
		return request_error_set(ret_error, r, 500, "internal", "out of memory");
	if (r < 0)
		return request_error_set(ret_error, JIT_E_SIGNATURE, 401, "bad_signature",
					 "Authorization header: the signature is not valid base64");
	return 0;
}

/* The signing key an SSHSIG blob names, read without verifying anything (PROTOCOL.sshsig). */
static int sshsig_key(const uint8_t *sig, size_t siglen, struct key **ret)
{
	_cleanup_(wbuf_freep) struct wbuf *b = wbuf_from(sig, siglen);
	uint8_t magic[6];
	uint32_t version;

	if (siglen > SIG_BLOB_MAX)
		return JIT_E_TOO_LARGE;
	if (!b)
		return -ENOMEM;
	if (wbuf_get(b, magic, sizeof(magic)) < 0 || memcmp(magic, "SSHSIG", sizeof(magic)) != 0 ||
	    wbuf_get_u32(b, &version) < 0)
		return JIT_E_FORMAT;
	return key_get_public(b, ret);
}

int request_authenticate(const struct request *req, const uint8_t *body, size_t len,
			 const uint8_t *sig, size_t siglen, const struct policy *p,
			 struct key **ret_key, struct request_error *ret_error)
{
	_cleanup_(key_freep) struct key *signer = NULL;
	const struct key *const *keys;
	size_t n;
	int r;

	r = sshsig_key(sig, siglen, &signer);
	if (r == -ENOMEM)
		return request_error_set(ret_error, r, 500, "internal", "out of memory");
	if (r < 0)
		return request_error_set(ret_error, JIT_E_SIGNATURE, 401, "bad_signature",
					 "the signature is malformed: %s", jit_strerror(r));
	r = policy_user_keys(p, req->user, &keys, &n);
	if (r == 0) {
		r = JIT_E_NOT_FOUND;
		for (size_t i = 0; i < n; i++)
			if (key_equal_public(keys[i], signer))
				r = 0;
	}
	if (r < 0)
		return request_error_set(ret_error, JIT_E_NOT_FOUND, 401, "unknown_user_or_key",
					 "user '%s' is unknown or the signing key is not enrolled "
					 "for this user",
					 req->user);
	/* The blob names the key it is verified with, so a signature that verifies is by it. */
	r = sig_verify(sig, siglen, REQUEST_SIG_NAMESPACE, body, len, NULL);
	if (r == -ENOMEM)
		return request_error_set(ret_error, r, 500, "internal", "out of memory");
	if (r == JIT_E_NAMESPACE)
		return request_error_set(ret_error, JIT_E_SIGNATURE, 401, "bad_signature",
					 "signature namespace must be '%s'", REQUEST_SIG_NAMESPACE);
	if (r < 0)
		return request_error_set(ret_error, JIT_E_SIGNATURE, 401, "bad_signature",
					 "signature does not verify over the request body: %s",
					 jit_strerror(r));
	*ret_key = TAKE_PTR(signer);
	return 0;
}

int request_check_time(const struct request *req, uint64_t now, uint64_t window_sec,
		       struct request_error *ret_error)
{
	uint64_t off = now > req->timestamp ? now - req->timestamp : req->timestamp - now;

	if (off > window_sec)
		return request_error_set(ret_error, JIT_E_EXPIRED, 401, "clock_skew",
					 "timestamp %llu is %llu seconds %s the CA's clock (%llu); "
					 "at most %llu seconds are allowed",
					 (unsigned long long)req->timestamp,
					 (unsigned long long)off,
					 now > req->timestamp ? "behind" : "ahead of",
					 (unsigned long long)now, (unsigned long long)window_sec);
	return 0;
}

int request_claim_nonce(const struct request *req, struct ledger *l, uint64_t now,
			uint64_t window_sec, struct request_error *ret_error)
{
	int r = ledger_nonce_claim(l, req->nonce, now, 2 * window_sec + 60);

	if (r == JIT_E_REPLAY)
		return request_error_set(ret_error, r, 401, "replay",
					 "nonce was already used; sign a new request");
	if (r < 0)
		return request_error_set(ret_error, r, 503, "ledger_unavailable",
					 "the ledger cannot record the request: %s",
					 jit_strerror(r));
	return 0;
}

int request_id_new(char buf[REQUEST_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[REQUEST_ID_BYTES];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return JIT_E_CRYPTO;
	for (size_t i = 0; i < sizeof(b); i++) {
		buf[2 * i] = hex[b[i] >> 4];
		buf[2 * i + 1] = hex[b[i] & 15];
	}
	buf[REQUEST_ID_LEN] = 0;
	return 0;
}

bool request_id_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (i >= REQUEST_ID_LEN ||
		    !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == REQUEST_ID_LEN;
}
