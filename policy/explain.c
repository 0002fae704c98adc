/* SPDX-License-Identifier: ISC */
/*
 * explain.c - decisions and open logins rendered for people (text) and for tools (JSON,
 * jansson): `jit-ssh-ca policy explain`, the CA's explain endpoint, `jit-ssh explain HOST`.
 * The JSON field names are a contract (policy.h, docs/policy.md "Explaining decisions").
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "util.h"

/* Add @v (stolen, may be NULL after a failed constructor) under @key. */
static int put(json_t *o, const char *key, json_t *v)
{
	return v && json_object_set_new(o, key, v) == 0 ? 0 : -ENOMEM;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* Text from the request, which may be anything: null when absent or not UTF-8. */
static json_t *asked(const char *s)
{
	json_t *j = s ? json_string(s) : NULL;

	return j ? j : json_null();
}

/* Text from the request for a terminal: printable ASCII as is, other bytes as \xHH. */
static void put_asked(FILE *f, const char *s)
{
	for (; s && *s; s++)
		if (*s >= 0x20 && *s < 0x7f && *s != '\\')
			fputc(*s, f);
		else
			fprintf(f, "\\x%02x", (unsigned char)*s);
}

static json_t *str_array(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, json_string(v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static json_t *approvals(unsigned count, char *const *from, size_t n)
{
	json_t *o = json_object();

	if (o && put(o, "count", json_integer(count)) == 0 &&
	    put(o, "from", str_array(from, n)) == 0)
		return o;
	json_decref(o);
	return NULL;
}

static json_t *explanation_lines(const char *text)
{
	json_t *a = json_array();

	for (const char *s = text; a && s && *s;) {
		size_t len = strcspn(s, "\n");
		if (json_array_append_new(a, json_stringn(s, len)) != 0) {
			json_decref(a);
			return NULL;
		}
		s += len + (s[len] == '\n');
	}
	return a;
}

int policy_explain_json(const struct policy_request *req, const struct policy_decision *d,
			struct json_t **ret)
{
	_cleanup_(json_decrefp) json_t *o = json_object(), *crit = json_object(),
				       *ext = json_array();
	int e;

	if (!o || !crit || !ext)
		return -ENOMEM;
	for (size_t i = 0; i < d->n_critical; i++)
		if (json_object_set_new(
			    crit, d->critical[i].name,
			    json_string(d->critical[i].value ? d->critical[i].value : "")) != 0)
			return -ENOMEM;
	for (size_t i = 0; i < d->n_extensions; i++)
		if (json_array_append_new(ext, json_string(d->extensions[i].name)) != 0)
			return -ENOMEM;
	if ((e = put(o, "verdict", json_string(policy_verdict_name(d->verdict)))) < 0 ||
	    (e = put(o, "rule", str_or_null(d->rule))) < 0 ||
	    (e = put(o, "reason", json_string(d->reason ? d->reason : ""))) < 0 ||
	    (e = put(o, "user", asked(req->user))) < 0 ||
	    (e = put(o, "host", str_or_null(d->host))) < 0 ||
	    (e = put(o, "login", asked(req->login))) < 0 ||
	    (e = put(o, "principals", str_array(d->principals, d->n_principals))) < 0 ||
	    (e = put(o, "ttl_seconds", json_integer((json_int_t)d->ttl_sec))) < 0 ||
	    (e = put(o, "critical_options", TAKE_PTR(crit))) < 0 ||
	    (e = put(o, "extensions", TAKE_PTR(ext))) < 0 ||
	    (e = put(o, "approvals",
		     d->verdict == POLICY_NEEDS_APPROVAL
			     ? approvals(d->approvals_required, d->approver_groups,
					 d->n_approver_groups)
			     : json_null())) < 0 ||
	    (e = put(o, "policy_version", str_or_null(d->policy_version))) < 0 ||
	    (e = put(o, "explanation", explanation_lines(d->explanation))) < 0)
		return e;
	*ret = TAKE_PTR(o);
	return 0;
}

static void print_names(FILE *f, char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? ", " : "", v[i]);
	if (n == 0)
		fputs("none", f);
}

static const char *verdict_words(enum policy_verdict v)
{
	return v == POLICY_ALLOW	    ? "allowed"
	       : v == POLICY_NEEDS_APPROVAL ? "needs approval"
					    : "denied";
}

/* Close @f and hand out what it wrote. */
static int finish(FILE *f, char **buf, char **ret)
{
	if (fclose(f) != 0) {
		free(*buf);
		*buf = NULL;
		return -ENOMEM;
	}
	*ret = TAKE_PTR(*buf);
	return 0;
}

int policy_explain_text(const struct policy_request *req, const struct policy_decision *d,
			char **ret)
{
	char *buf = NULL, b1[32];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return -ENOMEM;
	fprintf(f, "verdict:          %s\n", verdict_words(d->verdict));
	fprintf(f, "rule:             %s\n", d->rule ? d->rule : "none");
	fprintf(f, "reason:           %s\n", d->reason ? d->reason : "");
	fputs("user:             ", f);
	put_asked(f, req->user);
	fprintf(f, "\nhost:             %s\n", d->host ? d->host : "(not a valid host name)");
	fputs("login:            ", f);
	put_asked(f, req->login);
	fputc('\n', f);
	if (d->verdict != POLICY_DENY) {
		fputs("principals:       ", f);
		print_names(f, d->principals, d->n_principals);
		fprintf(f, "\nttl:              %s (%" PRIu64 " seconds)\n",
			policy_fmt_duration(d->ttl_sec, b1), d->ttl_sec);
		fputs("critical options: ", f);
		for (size_t i = 0; i < d->n_critical; i++)
			fprintf(f, "%s%s=%s", i ? ", " : "", d->critical[i].name,
				d->critical[i].value ? d->critical[i].value : "");
		fputs(d->n_critical ? "\nextensions:       " : "none\nextensions:       ", f);
		for (size_t i = 0; i < d->n_extensions; i++)
			fprintf(f, "%s%s", i ? ", " : "", d->extensions[i].name);
		fputs(d->n_extensions ? "\n" : "none\n", f);
	}
	if (d->verdict == POLICY_NEEDS_APPROVAL) {
		fprintf(f, "approvals:        %u from ", d->approvals_required);
		print_names(f, d->approver_groups, d->n_approver_groups);
		fputs(" (never the requester)\n", f);
	}
	fprintf(f, "policy version:   %s\nexplanation:\n",
		d->policy_version ? d->policy_version : "");
	for (const char *s = d->explanation; s && *s;) {
		size_t l = strcspn(s, "\n");
		fprintf(f, "  %.*s\n", (int)l, s);
		s += l + (s[l] == '\n');
	}
	return finish(f, &buf, ret);
}

int policy_open_logins_json(const struct policy_open_login *v, size_t n, struct json_t **ret)
{
	_cleanup_(json_decrefp) json_t *a = json_array();

	if (!a)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct policy_open_login *o = &v[i];
		_cleanup_(json_decrefp) json_t *reason = json_object();
		json_t *e = json_object();
		if (!e || json_array_append_new(a, e) != 0 || !reason ||
		    put(reason, "required", json_boolean(o->reason_required)) < 0 ||
		    put(reason, "pattern", str_or_null(o->reason_pattern)) < 0)
			return -ENOMEM; /* json_array_append_new() took @e even on failure */
		if (put(e, "login", json_string(o->login)) < 0 ||
		    put(e, "verdict", json_string(policy_verdict_name(o->verdict))) < 0 ||
		    put(e, "rule", str_or_null(o->rule)) < 0 ||
		    put(e, "default_ttl_seconds", json_integer((json_int_t)o->default_ttl_sec)) <
			    0 ||
		    put(e, "max_ttl_seconds", json_integer((json_int_t)o->max_ttl_sec)) < 0 ||
		    put(e, "approvals",
			o->verdict == POLICY_NEEDS_APPROVAL
				? approvals(o->approvals_required, o->approver_groups,
					    o->n_approver_groups)
				: json_null()) < 0 ||
		    put(e, "reason", TAKE_PTR(reason)) < 0 ||
		    put(e, "force_command", str_or_null(o->force_command)) < 0)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(a);
	return 0;
}

int policy_open_logins_text(const struct policy_open_login *v, size_t n, char **ret)
{
	char *buf = NULL, b1[32], b2[32];
	size_t len = 0, width = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		width = strlen(v[i].login) > width ? strlen(v[i].login) : width;
	if (n == 0)
		fputs("no login is open\n", f);
	for (size_t i = 0; i < n; i++) {
		const struct policy_open_login *o = &v[i];
		fprintf(f, "%-*s  ", (int)width, o->login);
		if (o->verdict == POLICY_DENY) {
			if (o->rule)
				fprintf(f, "denied (rule '%s')\n", o->rule);
			else
				fputs("not open (no rule's conditions can hold)\n", f);
			continue;
		}
		fprintf(f, "%s for up to %s (default %s)",
			o->verdict == POLICY_ALLOW ? "allowed" : "needs approval",
			policy_fmt_duration(o->max_ttl_sec, b1),
			policy_fmt_duration(o->default_ttl_sec, b2));
		if (o->verdict == POLICY_NEEDS_APPROVAL) {
			fprintf(f, ", %u approval%s from ", o->approvals_required,
				o->approvals_required == 1 ? "" : "s");
			print_names(f, o->approver_groups, o->n_approver_groups);
		}
		if (o->reason_pattern)
			fprintf(f, ", reason %smatching '%s'",
				o->reason_required ? "required, " : "", o->reason_pattern);
		else if (o->reason_required)
			fputs(", reason required", f);
		if (o->force_command)
			fprintf(f, ", command forced to '%s'", o->force_command);
		fprintf(f, " (rule '%s')\n", o->rule);
	}
	return finish(f, &buf, ret);
}
