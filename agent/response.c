/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "err.h"
#include "names.h"
#include "response.h"
#include "util.h"

/* U+2014 EM DASH in UTF-8. */
#define EM_DASH "\xe2\x80\x94"

struct response *response_free(struct response *r)
{
	if (!r)
		return NULL;
	free(r->request_id);
	cert_free(r->cert);
	free(r->reason);
	free(r->rule);
	free(r->error);
	free(r->message);
	for (size_t i = 0; i < r->n_groups; i++)
		free(r->groups[i]);
	free(r->groups);
	free(r);
	return NULL;
}

void response_freep(struct response **r)
{
	response_free(*r);
}

int response_text_dup(const char *s, size_t n, char **ret)
{
	char *c;

	if (n > RESPONSE_TEXT_MAX) {
		n = RESPONSE_TEXT_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	if (!(c = malloc(n + 1)))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		unsigned char b = (unsigned char)s[i];
		c[i] = (b < 0x20 || b == 0x7f) ? '?' : (char)b; /* NUL is below 0x20 too */
	}
	c[n] = 0;
	*ret = c;
	return 0;
}

static int text_copy(const json_t *v, char **ret)
{
	return response_text_dup(json_string_value(v), json_string_length(v), ret);
}

/* Optional string field: absent or null leaves *ret NULL; another type is JIT_E_FORMAT. */
static int opt_text(const json_t *o, const char *key, char **ret)
{
	const json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return JIT_E_FORMAT;
	return text_copy(v, ret);
}

static int request_id(const json_t *o, char **ret)
{
	const json_t *v = json_object_get(o, "request_id");
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	char *c;

	if (!s || n == 0 || n > RESPONSE_ID_MAX || strlen(s) != n)
		return JIT_E_FORMAT;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return JIT_E_FORMAT;
	if (!(c = strdup(s)))
		return -ENOMEM;
	*ret = c;
	return 0;
}

static int parse_issued(const json_t *o, struct response *r)
{
	const json_t *v = json_object_get(o, "certificate");
	const char *line = json_string_value(v);

	if (!line || strlen(line) != json_string_length(v))
		return JIT_E_FORMAT;
	return cert_from_line(line, &r->cert);
}

static int parse_denied(const json_t *o, struct response *r)
{
	int k;

	r->kind = RESPONSE_DENIED;
	if ((k = request_id(o, &r->request_id)) < 0 || (k = opt_text(o, "reason", &r->reason)) < 0)
		return k;
	return opt_text(o, "rule", &r->rule);
}

/* A count from the CA: an integer 0..@max. */
static int small_uint(const json_t *v, unsigned max, unsigned *ret)
{
	json_int_t n;

	if (!json_is_integer(v))
		return JIT_E_FORMAT;
	n = json_integer_value(v);
	if (n < 0 || (uint64_t)n > max)
		return JIT_E_FORMAT;
	*ret = (unsigned)n;
	return 0;
}

/* The optional "approvals" of a pending answer: {"count", "received", "from"}. */
static int parse_pending(const json_t *o, struct response *r)
{
	const json_t *a = json_object_get(o, "approvals"), *v, *g;
	unsigned n;
	size_t i;
	int k;

	r->kind = RESPONSE_PENDING;
	r->approvals_received = -1;
	if ((k = request_id(o, &r->request_id)) < 0)
		return k;
	if (!a || json_is_null(a))
		return 0;
	if (!json_is_object(a))
		return JIT_E_FORMAT;
	if ((v = json_object_get(a, "count")) && !json_is_null(v) &&
	    (k = small_uint(v, RESPONSE_COUNT_MAX, &r->approvals_needed)) < 0)
		return k;
	if ((v = json_object_get(a, "received")) && !json_is_null(v)) {
		if ((k = small_uint(v, RESPONSE_COUNT_MAX, &n)) < 0)
			return k;
		r->approvals_received = (int)n;
	}
	if (!(v = json_object_get(a, "from")) || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return JIT_E_FORMAT;
	if (json_array_size(v) > RESPONSE_GROUPS_MAX)
		return JIT_E_TOO_LARGE;
	if (!(r->groups = calloc(json_array_size(v) + 1, sizeof *r->groups)))
		return -ENOMEM;
	json_array_foreach(v, i, g) {
		if (!json_is_string(g))
			return JIT_E_FORMAT;
		if ((k = text_copy(g, &r->groups[i])) < 0)
			return k;
		r->n_groups++;
	}
	return 0;
}

/* "expired" or "cancelled": a final state with an optional reason. */
static int parse_ended(const json_t *o, enum response_kind kind, struct response *r)
{
	int k;

	r->kind = kind;
	if ((k = request_id(o, &r->request_id)) < 0)
		return k;
	return opt_text(o, "reason", &r->reason);
}

/* The documented error shape, if it is one; anything else leaves both fields NULL. */
static int parse_error(const json_t *o, struct response *r)
{
	_cleanup_free_ char *error = NULL, *message = NULL;
	int k;

	r->kind = RESPONSE_ERROR;
	if (!json_is_object(o))
		return 0;
	k = opt_text(o, "error", &error);
	if (k == 0)
		k = opt_text(o, "message", &message);
	if (k == -ENOMEM)
		return k;
	if (k < 0)
		return 0;
	r->error = TAKE_PTR(error);
	r->message = TAKE_PTR(message);
	return 0;
}

int response_parse(long status, const char *body, size_t len, struct response **ret)
{
	_cleanup_(response_freep) struct response *r = NULL;
	_cleanup_(json_decrefp) json_t *o = NULL;
	const char *state;
	int k;

	if (len > RESPONSE_BODY_MAX)
		return JIT_E_TOO_LARGE;
	if (!(r = calloc(1, sizeof *r)))
		return -ENOMEM;
	r->status = status;
	o = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	state = json_string_value(json_object_get(o, "state"));

	if (status >= 200 && status < 300) {
		if (!json_is_object(o) || !state)
			return JIT_E_FORMAT;
		if (strcmp(state, "issued") == 0) {
			r->kind = RESPONSE_ISSUED;
			if ((k = request_id(o, &r->request_id)) < 0 || (k = parse_issued(o, r)) < 0)
				return k;
		} else if (strcmp(state, "pending") == 0) {
			if ((k = parse_pending(o, r)) < 0)
				return k;
		} else if (strcmp(state, "denied") == 0) {
			if ((k = parse_denied(o, r)) < 0)
				return k;
		} else if (strcmp(state, "expired") == 0) {
			if ((k = parse_ended(o, RESPONSE_EXPIRED, r)) < 0)
				return k;
		} else if (strcmp(state, "cancelled") == 0) {
			if ((k = parse_ended(o, RESPONSE_CANCELLED, r)) < 0)
				return k;
		} else {
			return JIT_E_FORMAT;
		}
	} else if (status >= 400 && status < 500 && json_is_object(o) && state &&
		   (strcmp(state, "denied") == 0 || strcmp(state, "expired") == 0 ||
		    strcmp(state, "cancelled") == 0)) {
		if (strcmp(state, "denied") == 0)
			k = parse_denied(o, r);
		else
			k = parse_ended(o, state[0] == 'e' ? RESPONSE_EXPIRED : RESPONSE_CANCELLED, r);
		if (k < 0)
			return k;
	} else if (status >= 400 && status < 600) {
		if ((k = parse_error(o, r)) < 0)
			return k;
	} else {
		return JIT_E_FORMAT;
	}
	*ret = TAKE_PTR(r);
	return 0;
}

int response_pending_status(const struct response *r, uint64_t elapsed_sec, char **ret)
{
	_cleanup_free_ char *text = NULL;
	size_t size = 0;
	uint64_t h = elapsed_sec / 3600, m = elapsed_sec / 60 % 60, sec = elapsed_sec % 60;
	FILE *f;

	if (!r || r->kind != RESPONSE_PENDING)
		return -EINVAL;
	if (!(f = open_memstream(&text, &size)))
		return -ENOMEM;
	fputs("waiting for approval", f);
	if (r->approvals_needed > 0 && r->approvals_received >= 0)
		fprintf(f, ": %d/%u approvals", r->approvals_received, r->approvals_needed);
	else if (r->approvals_needed > 0)
		fprintf(f, ": %u approval%s needed", r->approvals_needed,
			r->approvals_needed == 1 ? "" : "s");
	if (r->n_groups > 0) {
		fputs(" from [", f);
		for (size_t i = 0; i < r->n_groups; i++)
			fprintf(f, "%s%s", i ? ", " : "", r->groups[i]);
		fputc(']', f);
	}
	if (h > 0)
		fprintf(f, " " EM_DASH " %llu:%02llu:%02llu elapsed", (unsigned long long)h,
			(unsigned long long)m, (unsigned long long)sec);
	else
		fprintf(f, " " EM_DASH " %llu:%02llu elapsed", (unsigned long long)m,
			(unsigned long long)sec);
	if (fclose(f) != 0 || !text)
		return -ENOMEM;
	*ret = TAKE_PTR(text);
	return 0;
}

/* "jit:H:LOGIN" where H is @host, or @host with a domain suffix taken off. */
static bool principal_matches(const char *p, const char *host, const char *login)
{
	size_t plen = strlen(PRINCIPAL_PREFIX), hlen, llen = strlen(login), n = strlen(p);

	if (n < plen + llen + 2 || strncmp(p, PRINCIPAL_PREFIX, plen) != 0 ||
	    strcmp(p + n - llen, login) != 0 || p[n - llen - 1] != ':')
		return false;
	hlen = n - llen - 1 - plen;
	if (hlen == 0 || memchr(p + plen, ':', hlen) || strncmp(p + plen, host, hlen) != 0)
		return false;
	return host[hlen] == 0 || host[hlen] == '.';
}

int response_check_cert(const struct response *r, const struct key *subject, const char *host,
			const char *login, uint64_t now)
{
	const struct cert *c = r ? r->cert : NULL;
	bool found = false;

	if (!c || r->kind != RESPONSE_ISSUED)
		return -EINVAL;
	if (c->type != CERT_TYPE_USER || !c->subject || !key_equal_public(c->subject, subject))
		return JIT_E_CERT;
	for (size_t i = 0; i < c->n_principals && !found; i++)
		found = principal_matches(c->principals[i], host, login);
	if (!found)
		return JIT_E_NOT_FOUND;
	if (c->valid_before <= now)
		return JIT_E_EXPIRED;
	return 0;
}
