/* SPDX-License-Identifier: ISC */
/*
 * cert.c - OpenSSH user certificates (draft-miller-ssh-cert, OpenSSH PROTOCOL.certkeys).
 * The blob layout is in cert.h; the encoder and the parser share one set of invariants
 * (cert_invariants()), so nothing we build could fail our own parse.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "b64.h"
#include "cert.h"
#include "err.h"

static void options_free(struct cert_option *o, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(o[i].name);
		free(o[i].value);
	}
	free(o);
}

struct cert *cert_free(struct cert *c)
{
	if (!c)
		return NULL;
	key_free(c->subject);
	free(c->key_id);
	for (size_t i = 0; i < c->n_principals; i++)
		free(c->principals[i]);
	free(c->principals);
	options_free(c->critical, c->n_critical);
	options_free(c->extensions, c->n_extensions);
	key_free(c->signature_key);
	free(c->signature_alg);
	free(c->blob);
	free(c);
	return NULL;
}

void cert_freep(struct cert **c)
{
	cert_free(*c);
}

int cert_new(struct key *subject, struct cert **ret)
{
	struct cert *c;

	if (!subject || !ret) {
		key_free(subject);
		return -EINVAL;
	}
	c = calloc(1, sizeof *c);
	if (!c) {
		key_free(subject);
		return -ENOMEM;
	}
	c->subject = subject;
	c->type = CERT_TYPE_USER;
	if (RAND_bytes(c->nonce, sizeof c->nonce) != 1) {
		cert_free(c);
		return JIT_E_CRYPTO;
	}
	*ret = c;
	return 0;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* Printable ASCII without ',' or space, 1..CERT_PRINCIPAL_LEN_MAX bytes. */
static int principal_valid(const char *p)
{
	size_t n = strlen(p);

	if (n == 0 || n > CERT_PRINCIPAL_LEN_MAX)
		return JIT_E_NAME;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f || p[i] == ',')
			return JIT_E_NAME;
	return 0;
}

static int key_id_valid(const char *id)
{
	if (strlen(id) > CERT_KEY_ID_LEN_MAX)
		return JIT_E_TOO_LARGE;
	return has_control(id) ? JIT_E_NAME : 0;
}

static int option_valid(const char *name, const char *value)
{
	size_t n = strlen(name);

	if (n > CERT_OPTION_NAME_MAX || (value && strlen(value) > CERT_OPTION_VALUE_MAX))
		return JIT_E_TOO_LARGE;
	if (n == 0 || has_control(name) || (value && has_control(value)))
		return JIT_E_FORMAT;
	return 0;
}

int cert_set_key_id(struct cert *c, const char *key_id)
{
	char *copy;
	int r;

	if (!c || !key_id)
		return -EINVAL;
	if ((r = key_id_valid(key_id)) < 0)
		return r;
	if (!(copy = strdup(key_id)))
		return -ENOMEM;
	free(c->key_id);
	c->key_id = copy;
	return 0;
}

/* Append without checks (the callers check); @p copied. */
static int principals_append(struct cert *c, const char *p)
{
	char **np;
	char *copy;

	if (!(copy = strdup(p)))
		return -ENOMEM;
	np = realloc(c->principals, (c->n_principals + 1) * sizeof *np);
	if (!np) {
		free(copy);
		return -ENOMEM;
	}
	c->principals = np;
	c->principals[c->n_principals++] = copy;
	return 0;
}

static bool principal_listed(const struct cert *c, const char *p)
{
	for (size_t i = 0; i < c->n_principals; i++)
		if (strcmp(c->principals[i], p) == 0)
			return true;
	return false;
}

int cert_add_principal(struct cert *c, const char *principal)
{
	int r;

	if (!c || !principal)
		return -EINVAL;
	if ((r = principal_valid(principal)) < 0)
		return r;
	if (c->n_principals >= CERT_PRINCIPALS_MAX)
		return JIT_E_TOO_LARGE;
	if (principal_listed(c, principal))
		return JIT_E_FORMAT;
	return principals_append(c, principal);
}

/* Insert at @pos; name and value copied. */
static int options_insert(struct cert_option **list, size_t *n, size_t pos, const char *name,
			  const char *value)
{
	struct cert_option *nl;
	char *nm = strdup(name), *v = value ? strdup(value) : NULL;

	if (!nm || (value && !v))
		goto nomem;
	nl = realloc(*list, (*n + 1) * sizeof *nl);
	if (!nl)
		goto nomem;
	memmove(nl + pos + 1, nl + pos, (*n - pos) * sizeof *nl);
	nl[pos] = (struct cert_option){ .name = nm, .value = v };
	*list = nl;
	(*n)++;
	return 0;
nomem:
	free(nm);
	free(v);
	return -ENOMEM;
}

/* Kept sorted by strcmp order of the names (PROTOCOL.certkeys: "lexically sorted"). */
static int options_add(struct cert_option **list, size_t *n, const char *name, const char *value)
{
	size_t pos;
	int r;

	if (!name)
		return -EINVAL;
	if ((r = option_valid(name, value)) < 0)
		return r;
	if (*n >= CERT_OPTIONS_MAX)
		return JIT_E_TOO_LARGE;
	for (pos = 0; pos < *n; pos++) {
		int d = strcmp(name, (*list)[pos].name);
		if (d == 0)
			return JIT_E_FORMAT;
		if (d < 0)
			break;
	}
	return options_insert(list, n, pos, name, value);
}

int cert_add_critical(struct cert *c, const char *name, const char *value)
{
	return c ? options_add(&c->critical, &c->n_critical, name, value) : -EINVAL;
}

int cert_add_extension(struct cert *c, const char *name, const char *value)
{
	return c ? options_add(&c->extensions, &c->n_extensions, name, value) : -EINVAL;
}

int cert_set_validity(struct cert *c, uint64_t now, uint64_t skew_sec, uint64_t lifetime_sec)
{
	if (!c || skew_sec > CERT_SKEW_MAX || lifetime_sec == 0 ||
	    lifetime_sec > CERT_LIFETIME_MAX || now < skew_sec || now > UINT64_MAX - lifetime_sec)
		return -EINVAL;
	c->valid_after = now - skew_sec;
	c->valid_before = now + lifetime_sec;
	return 0;
}

/*
 * The invariants the encoder enforces and the parser checks (besides option order, which
 * each side reports in its own way): JIT_E_TOO_LARGE past a count limit, else JIT_E_CERT.
 */
static int cert_invariants(const struct cert *c)
{
	if (c->n_principals > CERT_PRINCIPALS_MAX || c->n_critical > CERT_OPTIONS_MAX ||
	    c->n_extensions > CERT_OPTIONS_MAX)
		return JIT_E_TOO_LARGE;
	if (!c->subject || c->n_principals == 0 || c->serial == 0 ||
	    c->valid_after >= c->valid_before || !c->key_id || !c->key_id[0] ||
	    key_id_valid(c->key_id) < 0)
		return JIT_E_CERT;
	if (c->type != CERT_TYPE_USER && c->type != CERT_TYPE_HOST)
		return JIT_E_CERT;
	for (size_t i = 0; i < c->n_principals; i++) {
		if (!c->principals[i] || principal_valid(c->principals[i]) < 0)
			return JIT_E_CERT;
		for (size_t j = 0; j < i; j++)
			if (strcmp(c->principals[i], c->principals[j]) == 0)
				return JIT_E_CERT;
	}
	for (size_t i = 0; i < c->n_critical; i++)
		if (!c->critical[i].name || option_valid(c->critical[i].name, c->critical[i].value))
			return JIT_E_CERT;
	for (size_t i = 0; i < c->n_extensions; i++)
		if (!c->extensions[i].name ||
		    option_valid(c->extensions[i].name, c->extensions[i].value))
			return JIT_E_CERT;
	return 0;
}

/* string(sequence of: string name, string data); data is string(value) or empty. */
static int options_put(struct wbuf *b, const struct cert_option *o, size_t n)
{
	_cleanup_(wbuf_freep) struct wbuf *list = wbuf_new(CERT_BLOB_MAX);
	_cleanup_(wbuf_freep) struct wbuf *data = wbuf_new(CERT_BLOB_MAX);
	int r;

	if (!list || !data)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(o[i - 1].name, o[i].name) >= 0)
			return JIT_E_CERT; /* unsorted or duplicate */
		wbuf_reset(data);
		if ((o[i].value && (r = wbuf_put_cstring(data, o[i].value)) < 0) ||
		    (r = wbuf_put_cstring(list, o[i].name)) < 0 ||
		    (r = wbuf_put_stringb(list, data)) < 0)
			return r;
	}
	return wbuf_put_stringb(b, list);
}

/* Everything the signature covers, up to and including the signature key. */
static int cert_put_tbs(const struct cert *c, const struct key *ca, struct wbuf *b)
{
	_cleanup_(wbuf_freep) struct wbuf *princ = wbuf_new(CERT_BLOB_MAX);
	_cleanup_free_ uint8_t *ca_blob = NULL;
	size_t ca_len;
	int r;

	if (!princ)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_principals; i++)
		if ((r = wbuf_put_cstring(princ, c->principals[i])) < 0)
			return r;
	if ((r = key_to_blob(ca, &ca_blob, &ca_len)) < 0)
		return r;
	if ((r = wbuf_put_cstring(b, key_cert_type_name(c->subject))) < 0 ||
	    (r = wbuf_put_string(b, c->nonce, sizeof c->nonce)) < 0 ||
	    (r = key_put_public_fields(c->subject, b)) < 0 ||
	    (r = wbuf_put_u64(b, c->serial)) < 0 ||
	    (r = wbuf_put_u32(b, (uint32_t)c->type)) < 0 ||
	    (r = wbuf_put_cstring(b, c->key_id)) < 0 ||
	    (r = wbuf_put_stringb(b, princ)) < 0 ||
	    (r = wbuf_put_u64(b, c->valid_after)) < 0 ||
	    (r = wbuf_put_u64(b, c->valid_before)) < 0 ||
	    (r = options_put(b, c->critical, c->n_critical)) < 0 ||
	    (r = options_put(b, c->extensions, c->n_extensions)) < 0 ||
	    (r = wbuf_put_string(b, NULL, 0)) < 0 || /* reserved */
	    (r = wbuf_put_string(b, ca_blob, ca_len)) < 0)
		return r;
	return 0;
}

int cert_sign(struct cert *c, const struct signer *ca, const char *alg)
{
	_cleanup_(wbuf_freep) struct wbuf *b = wbuf_new(CERT_BLOB_MAX);
	_cleanup_(wbuf_freep) struct wbuf *sig = wbuf_new(CERT_BLOB_MAX);
	_cleanup_(key_freep) struct key *ca_pub = NULL;
	_cleanup_free_ uint8_t *blob = NULL;
	_cleanup_free_ char *alg_copy = NULL;
	const char *got_alg = NULL;
	size_t blob_len;
	int r;

	if (!c || !ca || !ca->sign || !ca->pub)
		return -EINVAL;
	if (!b || !sig)
		return -ENOMEM;
	if (c->type != CERT_TYPE_USER)
		return JIT_E_CERT;
	if ((r = cert_invariants(c)) < 0)
		return r;
	if (!alg && key_type(ca->pub) == KEY_RSA)
		alg = "rsa-sha2-512";
	if ((r = cert_put_tbs(c, ca->pub, b)) < 0)
		return r;
	if ((r = ca->sign(ca->ctx, ca->pub, wbuf_ptr(b), wbuf_len(b), alg, sig)) < 0)
		return r;
	/* A signer (an agent, an HSM) is checked like any other party. */
	r = key_verify(ca->pub, wbuf_ptr(sig), wbuf_len(sig), wbuf_ptr(b), wbuf_len(b), &got_alg);
	if (r < 0 || (alg && strcmp(alg, got_alg) != 0))
		return JIT_E_SIGNATURE;
	if ((r = wbuf_put_stringb(b, sig)) < 0 || (r = wbuf_dup(b, &blob, &blob_len)) < 0 ||
	    (r = key_public(ca->pub, &ca_pub)) < 0)
		return r;
	if (!(alg_copy = strdup(got_alg)))
		return -ENOMEM;

	free(c->blob);
	c->blob = TAKE_PTR(blob);
	c->blob_len = blob_len;
	key_free(c->signature_key);
	c->signature_key = TAKE_PTR(ca_pub);
	free(c->signature_alg);
	c->signature_alg = TAKE_PTR(alg_copy);
	return 0;
}

/* The inverse of options_put(), checking order, limits and the inner data string. */
static int options_get(struct wbuf *b, struct cert_option **list, size_t *n)
{
	_cleanup_(wbuf_freep) struct wbuf *l = NULL;
	int r;

	if ((r = wbuf_get_stringb(b, &l)) < 0)
		return r;
	while (wbuf_len(l) > 0) {
		_cleanup_(wbuf_freep) struct wbuf *data = NULL;
		_cleanup_free_ char *name = NULL, *value = NULL;
		size_t name_len, value_len;

		if (*n >= CERT_OPTIONS_MAX)
			return JIT_E_TOO_LARGE;
		if ((r = wbuf_get_cstring(l, &name, &name_len)) < 0 ||
		    (r = wbuf_get_stringb(l, &data)) < 0)
			return r;
		if (name_len > CERT_OPTION_NAME_MAX)
			return JIT_E_TOO_LARGE;
		if (*n > 0 && strcmp((*list)[*n - 1].name, name) >= 0)
			return JIT_E_FORMAT; /* unsorted or duplicate */
		if (wbuf_len(data) > 0) {
			r = wbuf_get_cstring(data, &value, &value_len);
			if (r == -ENOMEM)
				return r;
			if (r < 0 || wbuf_len(data) != 0)
				return JIT_E_FORMAT; /* the data must be exactly one string */
			if (value_len > CERT_OPTION_VALUE_MAX)
				return JIT_E_TOO_LARGE;
		}
		if ((r = options_insert(list, n, *n, name, value)) < 0)
			return r;
	}
	return 0;
}

static int principals_get(struct wbuf *b, struct cert *c)
{
	_cleanup_(wbuf_freep) struct wbuf *l = NULL;
	int r;

	if ((r = wbuf_get_stringb(b, &l)) < 0)
		return r;
	while (wbuf_len(l) > 0) {
		_cleanup_free_ char *p = NULL;
		size_t len;

		if (c->n_principals >= CERT_PRINCIPALS_MAX)
			return JIT_E_TOO_LARGE;
		if ((r = wbuf_get_cstring(l, &p, &len)) < 0)
			return r;
		if (len > CERT_PRINCIPAL_LEN_MAX)
			return JIT_E_TOO_LARGE;
		if ((r = principals_append(c, p)) < 0)
			return r;
	}
	return 0;
}

int cert_parse(const uint8_t *blob, size_t len, struct cert **ret)
{
	_cleanup_(wbuf_freep) struct wbuf *b = NULL;
	_cleanup_(cert_freep) struct cert *c = NULL;
	_cleanup_free_ char *type_name = NULL;
	const uint8_t *nonce, *sig;
	size_t nonce_len, sig_len, id_len, tbs_len;
	const char *alg;
	enum key_type kt;
	uint32_t type;
	int r;

	if (!blob || !ret)
		return -EINVAL;
	if (len > CERT_BLOB_MAX)
		return JIT_E_TOO_LARGE;
	if (!(b = wbuf_from(blob, len)) || !(c = calloc(1, sizeof *c)))
		return -ENOMEM;

	if ((r = wbuf_get_cstring(b, &type_name, NULL)) < 0)
		return r;
	if ((kt = key_type_from_cert_name(type_name)) == KEY_UNSPEC)
		return JIT_E_KEY_TYPE;
	if ((r = wbuf_get_string_direct(b, &nonce, &nonce_len)) < 0)
		return r;
	if (nonce_len != CERT_NONCE_LEN)
		return JIT_E_FORMAT;
	memcpy(c->nonce, nonce, CERT_NONCE_LEN);
	if ((r = key_get_public_fields(kt, b, &c->subject)) < 0 ||
	    (r = wbuf_get_u64(b, &c->serial)) < 0 ||
	    (r = wbuf_get_u32(b, &type)) < 0 ||
	    (r = wbuf_get_cstring(b, &c->key_id, &id_len)) < 0)
		return r;
	if (type != CERT_TYPE_USER && type != CERT_TYPE_HOST)
		return JIT_E_FORMAT;
	c->type = (enum cert_type)type;
	if (id_len > CERT_KEY_ID_LEN_MAX)
		return JIT_E_TOO_LARGE;
	if ((r = principals_get(b, c)) < 0 ||
	    (r = wbuf_get_u64(b, &c->valid_after)) < 0 ||
	    (r = wbuf_get_u64(b, &c->valid_before)) < 0 ||
	    (r = options_get(b, &c->critical, &c->n_critical)) < 0 ||
	    (r = options_get(b, &c->extensions, &c->n_extensions)) < 0 ||
	    (r = wbuf_get_string_direct(b, &nonce, &nonce_len)) < 0) /* reserved */
		return r;
	if (nonce_len != 0)
		return JIT_E_FORMAT;
	/* key_get_public() refuses certificate types: a CA key is never a certificate. */
	if ((r = key_get_public(b, &c->signature_key)) < 0)
		return r;
	tbs_len = len - wbuf_len(b);
	if ((r = wbuf_get_string_direct(b, &sig, &sig_len)) < 0)
		return r;
	if (wbuf_len(b) != 0)
		return JIT_E_FORMAT;
	if ((r = key_verify(c->signature_key, sig, sig_len, blob, tbs_len, &alg)) < 0)
		return r;
	if ((r = cert_invariants(c)) < 0)
		return r;
	if (!(c->signature_alg = strdup(alg)) || !(c->blob = malloc(len)))
		return -ENOMEM;
	memcpy(c->blob, blob, len);
	c->blob_len = len;
	*ret = TAKE_PTR(c);
	return 0;
}

int cert_check(const struct cert *c, const struct key *ca, uint64_t now, const char *principal)
{
	if (!c || !ca)
		return -EINVAL;
	if (c->type != CERT_TYPE_USER)
		return JIT_E_CERT;
	if (!c->signature_key || !key_equal_public(c->signature_key, ca))
		return JIT_E_SIGNATURE;
	if (now < c->valid_after || now >= c->valid_before)
		return JIT_E_EXPIRED;
	if (principal && !principal_listed(c, principal))
		return JIT_E_NOT_FOUND;
	return 0;
}

int cert_to_line(const struct cert *c, const char *comment, char **ret)
{
	_cleanup_free_ char *b64 = NULL;
	char *line;
	int r;

	if (!c || !c->blob || !c->subject || !ret || (comment && has_control(comment)))
		return -EINVAL;
	if ((r = b64_encode(c->blob, c->blob_len, &b64)) < 0)
		return r;
	if (asprintf(&line, "%s %s%s%s", key_cert_type_name(c->subject), b64,
		     comment && *comment ? " " : "", comment ? comment : "") < 0)
		return -ENOMEM;
	*ret = line;
	return 0;
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

int cert_from_line(const char *line, struct cert **ret)
{
	_cleanup_(cert_freep) struct cert *c = NULL;
	_cleanup_free_ char *type = NULL;
	_cleanup_free_ uint8_t *blob = NULL;
	const char *s, *e, *t;
	size_t blob_len, n;
	int r;

	if (!line || !ret)
		return -EINVAL;
	n = strnlen(line, CERT_LINE_MAX + 1);
	if (n > CERT_LINE_MAX)
		return JIT_E_TOO_LARGE;
	s = line;
	e = line + n;
	while (e > s && (is_blank(e[-1]) || e[-1] == '\n' || e[-1] == '\r'))
		e--;
	while (s < e && is_blank(*s))
		s++;
	for (t = s; t < e; t++)
		if ((unsigned char)*t < 0x20 && *t != '\t')
			return JIT_E_FORMAT; /* more than one line, or control characters */

	for (t = s; t < e && !is_blank(*t); t++)
		;
	if (t == s || t == e)
		return JIT_E_FORMAT;
	if (!(type = strndup(s, (size_t)(t - s))))
		return -ENOMEM;
	for (s = t; s < e && is_blank(*s); s++)
		;
	for (t = s; t < e && !is_blank(*t); t++)
		;
	if ((r = b64_decode(s, (size_t)(t - s), &blob, &blob_len)) < 0 ||
	    (r = cert_parse(blob, blob_len, &c)) < 0)
		return r;
	if (strcmp(type, key_cert_type_name(c->subject)) != 0)
		return JIT_E_FORMAT;
	*ret = TAKE_PTR(c);
	return 0;
}
