/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "err.h"
#include "explain.h"
#include "names.h"
#include "response.h"
#include "util.h"

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void logins_free(struct explain_open *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].login);
		free(v[i].rule);
		strv_free(v[i].groups, v[i].n_groups);
		free(v[i].reason_pattern);
	}
	free(v);
}

struct explain *explain_free(struct explain *e)
{
	if (!e)
		return NULL;
	free(e->rule);
	free(e->reason);
	free(e->host);
	strv_free(e->groups, e->n_groups);
	free(e->policy_version);
	strv_free(e->lines, e->n_lines);
	logins_free(e->open, e->n_open);
	logins_free(e->denied, e->n_denied);
	free(e);
	return NULL;
}

void explain_freep(struct explain **e)
{
	explain_free(*e);
}

/* Optional string field: absent or null leaves *ret NULL; another type is JIT_E_FORMAT. */
static int opt_text(const json_t *o, const char *key, char **ret)
{
	const json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return JIT_E_FORMAT;
	return response_text_dup(json_string_value(v), json_string_length(v), ret);
}

/* Optional non-negative integer field: absent or null leaves *ret 0. */
static int opt_seconds(const json_t *o, const char *key, uint64_t *ret)
{
	const json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return JIT_E_FORMAT;
	*ret = (uint64_t)json_integer_value(v);
	return 0;
}

/* An array of strings (at most @max) into a new vector of display copies. */
static int text_array(const json_t *a, size_t max, char ***ret, size_t *ret_n)
{
	const json_t *v;
	size_t i;
	int k;

	if (!json_is_array(a))
		return JIT_E_FORMAT;
	if (json_array_size(a) > max)
		return JIT_E_TOO_LARGE;
	if (!(*ret = calloc(json_array_size(a) + 1, sizeof **ret)))
		return -ENOMEM;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			return JIT_E_FORMAT;
		if ((k = response_text_dup(json_string_value(v), json_string_length(v),
					   &(*ret)[i])) < 0)
			return k;
		(*ret_n)++;
	}
	return 0;
}

static int verdict_from(const json_t *v, enum explain_verdict *ret)
{
	const char *s = json_string_value(v);

	if (!s)
		return JIT_E_FORMAT;
	if (strcmp(s, "allowed") == 0)
		*ret = EXPLAIN_ALLOWED;
	else if (strcmp(s, "denied") == 0)
		*ret = EXPLAIN_DENIED;
	else if (strcmp(s, "needs_approval") == 0)
		*ret = EXPLAIN_NEEDS_APPROVAL;
	else
		return JIT_E_FORMAT;
	return 0;
}

/* "approvals": {"count", "from"} or null. */
static int parse_approvals(const json_t *a, unsigned *ret_count, char ***ret_groups, size_t *ret_n)
{
	const json_t *v;
	int k;

	if (!a || json_is_null(a))
		return 0;
	if (!json_is_object(a))
		return JIT_E_FORMAT;
	if ((v = json_object_get(a, "count")) && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > RESPONSE_COUNT_MAX)
			return JIT_E_FORMAT;
		*ret_count = (unsigned)json_integer_value(v);
	}
	if ((v = json_object_get(a, "from")) && !json_is_null(v) &&
	    (k = text_array(v, EXPLAIN_GROUPS_MAX, ret_groups, ret_n)) < 0)
		return k;
	return 0;
}

/* An open login's "reason": {"required": bool, "pattern": string | null} or null. */
static int parse_reason(const json_t *r, struct explain_open *x)
{
	const json_t *v;

	if (!r || json_is_null(r))
		return 0;
	if (!json_is_object(r))
		return JIT_E_FORMAT;
	if ((v = json_object_get(r, "required")) && !json_is_null(v)) {
		if (!json_is_boolean(v))
			return JIT_E_FORMAT;
		x->reason_required = json_is_true(v);
	}
	return opt_text(r, "pattern", &x->reason_pattern);
}

static int parse_decision(const json_t *d, struct explain *e)
{
	const json_t *v;
	int k;

	if (!json_is_object(d))
		return JIT_E_FORMAT;
	if ((k = verdict_from(json_object_get(d, "verdict"), &e->verdict)) < 0 ||
	    (k = opt_text(d, "rule", &e->rule)) < 0 ||
	    (k = opt_text(d, "reason", &e->reason)) < 0 ||
	    (k = opt_text(d, "host", &e->host)) < 0 ||
	    (k = opt_text(d, "policy_version", &e->policy_version)) < 0 ||
	    (k = opt_seconds(d, "ttl_seconds", &e->ttl_sec)) < 0 ||
	    (k = parse_approvals(json_object_get(d, "approvals"), &e->approvals, &e->groups,
				 &e->n_groups)) < 0)
		return k;
	if ((v = json_object_get(d, "explanation")) && !json_is_null(v) &&
	    (k = text_array(v, EXPLAIN_LINES_MAX, &e->lines, &e->n_lines)) < 0)
		return k;
	return 0;
}

/* An "open" (@denied false) or "denied" (@denied true) array: the verdicts must be on its side. */
static int parse_logins(const json_t *a, bool denied, struct explain_open **ret_v, size_t *ret_n)
{
	const json_t *o;
	size_t i;
	int k;

	if (!json_is_array(a))
		return JIT_E_FORMAT;
	if (json_array_size(a) > EXPLAIN_OPEN_MAX)
		return JIT_E_TOO_LARGE;
	if (!(*ret_v = calloc(json_array_size(a) + 1, sizeof **ret_v)))
		return -ENOMEM;
	json_array_foreach(a, i, o) {
		struct explain_open *x = &(*ret_v)[i];
		const json_t *login = json_object_get(o, "login");
		const char *s = json_string_value(login);

		if (!json_is_object(o) || !s || strlen(s) != json_string_length(login) ||
		    !(name_login_valid(s) || strcmp(s, "*") == 0))
			return JIT_E_FORMAT;
		if (!(x->login = strdup(s)))
			return -ENOMEM;
		(*ret_n)++;
		if ((k = verdict_from(json_object_get(o, "verdict"), &x->verdict)) < 0 ||
		    (k = opt_seconds(o, "max_ttl_seconds", &x->max_ttl_sec)) < 0 ||
		    (k = opt_text(o, "rule", &x->rule)) < 0 ||
		    (k = parse_approvals(json_object_get(o, "approvals"), &x->approvals, &x->groups,
					 &x->n_groups)) < 0 ||
		    (k = parse_reason(json_object_get(o, "reason"), x)) < 0)
			return k;
		if ((x->verdict == EXPLAIN_DENIED) != denied)
			return JIT_E_FORMAT;
	}
	return 0;
}

int explain_parse(const char *body, size_t len, struct explain **ret)
{
	_cleanup_(explain_freep) struct explain *e = NULL;
	_cleanup_(json_decrefp) json_t *o = NULL;
	const json_t *open, *denied;
	int k;

	if (len > RESPONSE_BODY_MAX)
		return JIT_E_TOO_LARGE;
	if (!(o = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL)) || !json_is_object(o))
		return JIT_E_FORMAT;
	if (!(e = calloc(1, sizeof *e)))
		return -ENOMEM;
	if ((k = parse_decision(json_object_get(o, "decision"), e)) < 0)
		return k;
	if (!(open = json_object_get(o, "open")))
		return JIT_E_FORMAT;
	if ((k = parse_logins(open, false, &e->open, &e->n_open)) < 0)
		return k;
	if ((denied = json_object_get(o, "denied")) && !json_is_null(denied) &&
	    (k = parse_logins(denied, true, &e->denied, &e->n_denied)) < 0)
		return k;
	if ((k = opt_seconds(o, "denied_more", &e->denied_more)) < 0)
		return k;
	*ret = TAKE_PTR(e);
	return 0;
}

const char *explain_verdict_text(enum explain_verdict v)
{
	switch (v) {
	case EXPLAIN_ALLOWED:
		return "allowed";
	case EXPLAIN_NEEDS_APPROVAL:
		return "needs approval";
	default:
		return "denied";
	}
}

const char *explain_duration(uint64_t sec, char *buf, size_t size)
{
	uint64_t h = sec / 3600, m = sec / 60 % 60, s = sec % 60;
	size_t n = 0;

	if (size == 0)
		return buf;
	buf[0] = 0;
	if (h)
		n += (size_t)snprintf(buf + n, size - n, "%lluh", (unsigned long long)h);
	if (m && n < size)
		n += (size_t)snprintf(buf + n, size - n, "%llum", (unsigned long long)m);
	if ((s || sec == 0) && n < size)
		snprintf(buf + n, size - n, "%llus", (unsigned long long)s);
	return buf;
}

static void put_groups(FILE *f, char *const *groups, size_t n)
{
	fputc('[', f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? ", " : "", groups[i]);
	fputc(']', f);
}

/* "N approval(s) from [groups]", or the parts of it that are known. */
static void put_approvals(FILE *f, unsigned count, char *const *groups, size_t n)
{
	if (count)
		fprintf(f, "%u approval%s", count, count == 1 ? "" : "s");
	if (n) {
		fputs(count ? " from " : "approvals from ", f);
		put_groups(f, groups, n);
	}
}

/* " (1 approval from [sre], reason required)", or nothing without conditions. */
static void put_conditions(FILE *f, const struct explain_open *x)
{
	bool appr = x->approvals || x->n_groups, reason = x->reason_required || x->reason_pattern;

	if (!appr && !reason)
		return;
	fputs(" (", f);
	if (appr)
		put_approvals(f, x->approvals, x->groups, x->n_groups);
	if (appr && reason)
		fputs(", ", f);
	if (x->reason_pattern)
		fprintf(f, "reason %smatching '%s'",
			x->reason_required ? "required, " : "if given, ", x->reason_pattern);
	else if (reason)
		fputs("reason required", f);
	fputc(')', f);
}

/* The "open" table: login, verdict, "max TTL", rule; columns aligned, no trailing blanks. */
static void put_open(FILE *f, const struct explain *e)
{
	int wl = 0, wt = 0;
	char ttl[32];

	if (e->n_open == 0)
		fputs("  (nothing)\n", f);
	for (size_t i = 0; i < e->n_open; i++) {
		int l = (int)strlen(e->open[i].login), t = 0;
		if (e->open[i].max_ttl_sec)
			t = (int)strlen(explain_duration(e->open[i].max_ttl_sec, ttl, sizeof ttl));
		wl = l > wl ? l : wl;
		wt = t > wt ? t : wt;
	}
	for (size_t i = 0; i < e->n_open; i++) {
		const struct explain_open *x = &e->open[i];
		const char *v = explain_verdict_text(x->verdict);

		fprintf(f, "  %-*s  ", wl, x->login);
		if (!x->max_ttl_sec && !x->rule) {
			fputs(v, f);
			put_conditions(f, x);
			fputc('\n', f);
			continue;
		}
		fprintf(f, "%-14s", v);
		if (x->max_ttl_sec)
			fprintf(f, "  max %-*s", x->rule ? wt : 0,
				explain_duration(x->max_ttl_sec, ttl, sizeof ttl));
		else if (wt)
			fprintf(f, "  %*s", wt + 4, "");
		if (x->rule)
			fprintf(f, "  rule '%s'", x->rule);
		put_conditions(f, x);
		fputc('\n', f);
	}
}

/* The "denied" table: the logins a deny rule keeps from the requester (with the rule), and
 * those no rule's conditions can hold for (no rule). */
static void put_denied(FILE *f, const struct explain *e)
{
	int wl = 0;

	for (size_t i = 0; i < e->n_denied; i++) {
		int l = (int)strlen(e->denied[i].login);
		wl = l > wl ? l : wl;
	}
	for (size_t i = 0; i < e->n_denied; i++) {
		const struct explain_open *x = &e->denied[i];

		if (x->rule)
			fprintf(f, "  %-*s  denied by rule '%s' (deny rules win over any allow)\n",
				wl, x->login, x->rule);
		else
			fprintf(f, "  %-*s  not open (no rule's conditions can hold)\n", wl,
				x->login);
	}
	if (e->denied_more)
		fprintf(f, "  (and %llu more)\n", (unsigned long long)e->denied_more);
}

int explain_render(const struct explain *e, const char *host, const char *login, char **ret)
{
	_cleanup_free_ char *text = NULL;
	size_t size = 0;
	const char *h = e->host ? e->host : host;
	char ttl[32];
	FILE *f;

	if (!(f = open_memstream(&text, &size)))
		return -ENOMEM;
	fprintf(f, "%s@%s: %s\n", login, h, explain_verdict_text(e->verdict));
	if (e->reason)
		fprintf(f, "  reason:    %s\n", e->reason);
	if (e->rule)
		fprintf(f, "  rule:      %s\n", e->rule);
	if (e->verdict != EXPLAIN_DENIED && e->ttl_sec)
		fprintf(f, "  lifetime:  %s\n", explain_duration(e->ttl_sec, ttl, sizeof ttl));
	if (e->verdict == EXPLAIN_NEEDS_APPROVAL && (e->approvals || e->n_groups)) {
		fputs("  needs:     ", f);
		put_approvals(f, e->approvals, e->groups, e->n_groups);
		fputc('\n', f);
	}
	if (e->n_lines) {
		fputs("\nexplanation:\n", f);
		for (size_t i = 0; i < e->n_lines; i++)
			fprintf(f, "  %s\n", e->lines[i]);
	}
	fprintf(f, "\nopen to you on %s:\n", h);
	put_open(f, e);
	/* With nothing open, "(nothing)" says it all. */
	if (e->n_denied && e->n_open) {
		fprintf(f, "\nnot open to you on %s:\n", h);
		put_denied(f, e);
	}
	if (fclose(f) != 0 || !text)
		return -ENOMEM;
	*ret = TAKE_PTR(text);
	return 0;
}
