/* SPDX-License-Identifier: ISC */
/*
 * eval.c - decide a request against a loaded policy (docs/policy.md, "Evaluation").
 *
 * Precedence, fixed and documented:
 *   1. a request with an unsafe user, login, host or reason is denied;
 *   2. an unknown or disabled user is denied;
 *   3. a deny rule that matches (users/groups, hosts/labels, logins, time windows) denies,
 *      whatever any allow rule says;
 *   4. otherwise the first allow rule, in file order, that matches and whose conditions hold
 *      (reason, client address, a reachable approval quorum) and needs no approval allows;
 *   5. otherwise the first such rule that needs approval asks for it;
 *   6. otherwise the request is denied (deny by default).
 * Only the rules that are for the requester (index.c: by user, by group, and those open to
 * any user) are looked at; the others could not match. The policy is only read, so any
 * number of threads may evaluate at once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "internal.h"
#include "names.h"
#include "util.h"

#define EVAL_TIME_MAX ((uint64_t)253402300799) /* 9999-12-31T23:59:59Z */

/* Rules for the requester as a bitmap; policies with up to 64 * CAND_WORDS rules need no
 * allocation for it. */
#define CAND_WORDS 64

struct ectx {
	const struct policy *p;
	const struct policy_request *req;
	const struct policy_user *user;
	const char *host;
	const char *reason;	/* non-empty, or NULL */
	const char *client;	/* canonical address, or NULL */
	bool assume_reason;	/* open logins: reason conditions are reported, not checked */
	const char **labels;
	size_t n_labels;
	uint64_t *cand;
	uint64_t cand_buf[CAND_WORDS];
	size_t n_cand;
	FILE *x;		/* the explanation, or NULL when none is wanted */
};

/* What the rules say about one login. */
struct pick {
	const struct policy_rule *deny, *allow, *ask, *near;
	char near_why[512];
};

static bool strv_meet(char *const *a, size_t na, char *const *b, size_t nb)
{
	size_t i = 0, j = 0;

	while (i < na && j < nb) {
		int r = strcmp(a[i], b[j]);
		if (r == 0)
			return true;
		if (r < 0)
			i++;
		else
			j++;
	}
	return false;
}

static bool subject_ok(const struct policy_rule *r, const struct policy_user *u)
{
	return policy_strv_has(r->users, r->n_users, POLICY_ANY) ||
	       policy_strv_has(r->users, r->n_users, u->name) ||
	       strv_meet(r->groups, r->n_groups, u->groups, u->n_groups);
}

static bool host_ok(const struct policy_rule *r, const char *host, const char **labels,
		    size_t n_labels)
{
	for (size_t i = 0; i < r->n_hosts; i++)
		if (policy_glob_match(&r->host_g[i], host))
			return true;
	return strv_meet(r->labels, r->n_labels, (char *const *)labels, n_labels);
}

/* @login NULL stands for a login that no rule names: only "*" lets it in. */
static bool login_ok(const struct policy_rule *r, const char *login, const char *user)
{
	return policy_strv_has(r->logins, r->n_logins, POLICY_ANY) ||
	       (login && policy_strv_has(r->logins, r->n_logins, login)) ||
	       (login && policy_strv_has(r->logins, r->n_logins, POLICY_SELF) &&
		!strcmp(login, user));
}

static void local_time(const struct tz *z, uint64_t now, unsigned *ret_wday, unsigned *ret_min)
{
	int64_t t = (int64_t)(now > EVAL_TIME_MAX ? EVAL_TIME_MAX : now);
	int64_t local = t + tz_utoff(z, t);
	int64_t days = local / 86400 - (local % 86400 < 0);
	int64_t sec = local - days * 86400;

	*ret_wday = (unsigned)(((days + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
	*ret_min = (unsigned)(sec / 60);
}

static bool window_ok(const struct policy_window *w, uint64_t now)
{
	unsigned wday, min;

	local_time(w->tz, now, &wday, &min);
	if (w->start_min < w->end_min)
		return (w->days >> wday & 1) && min >= w->start_min && min < w->end_min;
	/* crosses midnight: the part after midnight belongs to the day the window opened */
	if (min >= w->start_min)
		return w->days >> wday & 1;
	if (min < w->end_min)
		return w->days >> ((wday + 6) % 7) & 1;
	return false;
}

static bool windows_ok(const struct policy_rule *r, uint64_t now)
{
	if (!r->has_windows)
		return true;
	if (now > EVAL_TIME_MAX)
		return false;
	for (size_t i = 0; i < r->n_windows; i++)
		if (window_ok(&r->windows[i], now))
			return true;
	return false;
}

/* Why rule @r (one for the requester) does not match @login, or NULL when it does; @buf
 * holds the text. */
static const char *match_why(const struct ectx *c, const struct policy_rule *r,
			     const char *login, char *buf, size_t size)
{
	const struct policy_request *q = c->req;

	if (!host_ok(r, c->host, c->labels, c->n_labels))
		snprintf(buf, size, "host '%s' matches none of its hosts or host_labels", c->host);
	else if (!login_ok(r, login, c->user->name))
		snprintf(buf, size, "login '%s' is not one of its logins", login ? login : "*");
	else if (!windows_ok(r, q->now)) {
		static const char *const days[] = { "Sun", "Mon", "Tue", "Wed",
						    "Thu", "Fri", "Sat" };
		unsigned wday, min;
		if (r->n_windows == 0 || q->now > EVAL_TIME_MAX) {
			snprintf(buf, size, "it has no time window open at this time");
		} else {
			local_time(r->windows[0].tz, q->now, &wday, &min);
			snprintf(buf, size, "outside its time windows (it is %s %02u:%02u in %s)",
				 days[wday], min / 60, min % 60, r->windows[0].tz->name);
		}
	} else
		return NULL;
	return buf;
}

static bool approvers_include(const struct policy_rule *r, const struct policy_user *u)
{
	return strv_meet(r->approvers, r->n_approvers, u->groups, u->n_groups);
}

/* Why the conditions of allow rule @r do not hold, or NULL when they do. */
static const char *conditions_why(const struct ectx *c, const struct policy_rule *r, char *buf,
				  size_t size)
{
	if (r->reason_required && !c->reason && !c->assume_reason)
		return "a reason is required";
	if (r->reason_pattern && c->reason && !c->assume_reason &&
	    regexec(&r->reason_re, c->reason, 0, NULL, 0) != 0) {
		snprintf(buf, size, "the reason does not match the pattern '%s'",
			 r->reason_pattern);
		return buf;
	}
	if (!c->client && policy_strv_has(r->sources, r->n_sources, POLICY_CLIENT))
		return "its source_address needs the client's address, which is not known";
	if (r->approvals) {
		unsigned pool = r->approver_pool - (approvers_include(r, c->user) ? 1 : 0);
		if (pool < r->approvals) {
			snprintf(buf, size, "it needs %u approvals but only %u approvers "
					    "other than the requester exist", r->approvals, pool);
			return buf;
		}
	}
	return NULL;
}

static int set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? strdup(s) : NULL;
	return !s || *dst ? 0 : -ENOMEM;
}

__attribute__((format(printf, 2, 3)))
static int set_reason(struct policy_decision *d, const char *fmt, ...)
{
	va_list ap;
	int r;

	free(d->reason);
	va_start(ap, fmt);
	r = vasprintf(&d->reason, fmt, ap);
	va_end(ap);
	if (r < 0) {
		d->reason = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* A request refused before any rule is looked at: says so in the explanation and reason. */
__attribute__((format(printf, 3, 4)))
static int refuse(struct ectx *c, struct policy_decision *d, const char *fmt, ...)
{
	va_list ap;
	int r;

	free(d->reason);
	va_start(ap, fmt);
	r = vasprintf(&d->reason, fmt, ap);
	va_end(ap);
	if (r < 0) {
		d->reason = NULL;
		return -ENOMEM;
	}
	fprintf(c->x, "decision: denied before any rule: %s\n", d->reason);
	return 0;
}

/* The source-address value for rule @r: its blocks and @client (canonical; replaces
 * "client") sorted, duplicates dropped, joined with ','. JIT_E_POLICY when the rule names
 * "client" and @client is NULL. policy_decision_check() rebuilds it the same way. */
static int join_sources(const struct policy_rule *r, const char *client, char **ret)
{
	_cleanup_free_ const char **v = calloc(r->n_sources + 1, sizeof *v);
	size_t n = 0, len = 1;
	char *out;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < r->n_sources; i++) {
		if (strcmp(r->sources[i], POLICY_CLIENT) != 0)
			v[n++] = r->sources[i];
		else if (client)
			v[n++] = client;
		else
			return JIT_E_POLICY;
	}
	qsort(v, n, sizeof *v, policy_strv_cmp);
	for (size_t i = 0; i < n; i++)
		len += strlen(v[i]) + 1;
	out = calloc(len, 1);
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && !strcmp(v[i], v[i - 1]))
			continue;
		if (*out)
			strcat(out, ",");
		strcat(out, v[i]);
	}
	*ret = out;
	return 0;
}

static int grant(const struct ectx *c, const struct policy_rule *r, struct policy_decision *d)
{
	const struct policy_request *q = c->req;
	char b1[32], b2[32], capped[80] = "";
	int e;

	d->principals = calloc(1, sizeof *d->principals);
	d->extensions = calloc(r->n_extensions + 1, sizeof *d->extensions);
	d->critical = calloc(2, sizeof *d->critical);
	if (!d->principals || !d->extensions || !d->critical)
		return -ENOMEM;
	if ((e = principal_format(c->host, q->login, &d->principals[0])) < 0)
		return e;
	d->n_principals = 1;
	d->ttl_sec = q->ttl_sec == 0 ? r->default_ttl_sec :
		     q->ttl_sec < r->max_ttl_sec ? q->ttl_sec : r->max_ttl_sec;
	for (size_t i = 0; i < r->n_extensions; i++) {
		if (!(d->extensions[i].name = strdup(r->extensions[i])))
			return -ENOMEM;
		d->n_extensions++;
	}
	if (r->force_command) {
		struct cert_option *o = &d->critical[d->n_critical++];
		if (!(o->name = strdup("force-command")) || !(o->value = strdup(r->force_command)))
			return -ENOMEM;
	}
	if (r->n_sources) {
		struct cert_option *o = &d->critical[d->n_critical++];
		if (!(o->name = strdup("source-address")))
			return -ENOMEM;
		if ((e = join_sources(r, c->client, &o->value)) < 0)
			return e;
	}
	if (r->approvals) {
		d->verdict = POLICY_NEEDS_APPROVAL;
		d->approvals_required = r->approvals;
		d->approver_groups = calloc(r->n_approvers + 1, sizeof *d->approver_groups);
		if (!d->approver_groups)
			return -ENOMEM;
		for (size_t i = 0; i < r->n_approvers; i++) {
			if (!(d->approver_groups[i] = strdup(r->approvers[i])))
				return -ENOMEM;
			d->n_approver_groups++;
		}
	} else {
		d->verdict = POLICY_ALLOW;
	}
	if ((e = set_str(&d->rule, r->name)) < 0)
		return e;
	if (q->ttl_sec > r->max_ttl_sec)
		snprintf(capped, sizeof capped, " (asked for %s; capped at the rule's maximum)",
			 policy_fmt_duration(q->ttl_sec, b2));
	policy_fmt_duration(d->ttl_sec, b1);
	if (r->approvals)
		return set_reason(d, "%s@%s for %s%s needs %u approval%s (rule '%s')", q->login,
				  c->host, b1, capped, r->approvals, r->approvals == 1 ? "" : "s",
				  r->name);
	return set_reason(d, "%s@%s allowed for %s%s (rule '%s')", q->login, c->host, b1, capped,
			  r->name);
}

static bool text_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static bool client_canon(const char *s, char out[static INET6_ADDRSTRLEN])
{
	unsigned char b[16];

	if (strlen(s) >= INET6_ADDRSTRLEN)
		return false;
	if (inet_pton(AF_INET, s, b) == 1)
		return inet_ntop(AF_INET, b, out, INET6_ADDRSTRLEN) != NULL;
	if (inet_pton(AF_INET6, s, b) != 1)
		return false;
	if (!memcmp(b, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12)) /* IPv4-mapped */
		return inet_ntop(AF_INET, b + 12, out, INET6_ADDRSTRLEN) != NULL;
	return inet_ntop(AF_INET6, b, out, INET6_ADDRSTRLEN) != NULL;
}

static void print_list(FILE *x, const char *const *v, size_t n)
{
	fputc('[', x);
	for (size_t i = 0; i < n; i++)
		fprintf(x, "%s%s", i ? ", " : "", v[i]);
	fputc(']', x);
}

/* The rules for the requester (by name, by group, or open to any user) into c->cand. */
static int candidates(struct ectx *c)
{
	const struct policy *p = c->p;
	const struct policy_user *u = c->user;
	size_t words = (p->n_rules + 63) / 64;

	c->cand = words <= CAND_WORDS ? c->cand_buf : calloc(words, sizeof *c->cand);
	if (!c->cand)
		return -ENOMEM;
	memset(c->cand, 0, words * sizeof *c->cand);
#define MARK(ix) (c->cand[(ix) / 64] |= UINT64_C(1) << ((ix) % 64))
	for (size_t i = 0; i < p->n_any_rules; i++)
		MARK(p->any_rules[i]);
	for (size_t i = 0; i < u->n_rule_ix; i++)
		MARK(u->rule_ix[i]);
	for (size_t i = 0; i < u->n_groups; i++) {
		const struct policy_group *g = &p->groups[u->group_ix[i]];
		for (size_t j = 0; j < g->n_rule_ix; j++)
			MARK(g->rule_ix[j]);
	}
#undef MARK
	c->n_cand = 0;
	for (size_t w = 0; w < words; w++)
		c->n_cand += (size_t)__builtin_popcountll(c->cand[w]);
	return 0;
}

static void ectx_done(struct ectx *c)
{
	if (c->cand != c->cand_buf)
		free(c->cand);
	c->cand = NULL;
	free(c->labels);
	c->labels = NULL;
}

/* Each rule for the requester, in file order: the first deny, allow, approval and
 * near-miss for @login. With c->x, one explanation line per rule. */
static void pick(const struct ectx *c, const char *login, struct pick *k)
{
	const struct policy *p = c->p;
	size_t words = (p->n_rules + 63) / 64;

	*k = (struct pick){ 0 };
	for (size_t w = 0; w < words; w++)
		for (uint64_t bits = c->cand[w]; bits; bits &= bits - 1) {
			const struct policy_rule *r = &p->rules[w * 64 +
								 (size_t)__builtin_ctzll(bits)];
			char buf[512];
			const char *why = match_why(c, r, login, buf, sizeof buf);

			if (c->x)
				fprintf(c->x, "rule '%s' (%s): ", r->name,
					r->deny ? "deny" : "allow");
			if (why) {
				if (c->x)
					fprintf(c->x, "does not apply: %s\n", why);
			} else if (r->deny) {
				if (c->x)
					fprintf(c->x, "applies: denies%s\n",
						k->deny ? " (an earlier deny rule decided)" : "");
				if (!k->deny)
					k->deny = r;
			} else if ((why = conditions_why(c, r, buf, sizeof buf))) {
				if (c->x)
					fprintf(c->x, "matches, but %s\n", why);
				if (!k->near) {
					k->near = r;
					snprintf(k->near_why, sizeof k->near_why, "%s", why);
				}
			} else if (r->approvals) {
				if (c->x) {
					fprintf(c->x, "applies: allows with %u approval%s from ",
						r->approvals, r->approvals == 1 ? "" : "s");
					print_list(c->x, (const char *const *)r->approvers,
						   r->n_approvers);
					fputc('\n', c->x);
				}
				if (!k->ask)
					k->ask = r;
			} else {
				if (c->x)
					fprintf(c->x, "applies: allows\n");
				if (!k->allow)
					k->allow = r;
			}
		}
}

/* For c->user (enabled) on c->host: the client address, the host's labels and the rules
 * for the user. */
static int prepare(struct ectx *c, const char *client_addr, char client[static INET6_ADDRSTRLEN])
{
	int e;

	if (client_addr && client_canon(client_addr, client))
		c->client = client;
	if ((e = policy_host_labels(c->p, c->host, &c->labels, &c->n_labels)) < 0)
		return e;
	return candidates(c);
}

static int decide(struct ectx *c, struct policy_decision *d)
{
	const struct policy *p = c->p;
	const struct policy_request *q = c->req;
	char client[INET6_ADDRSTRLEN];
	struct pick k;
	int e;

	if (!q->user || !name_user_valid(q->user)) {
		return refuse(c, d, "invalid user name");
	}
	if (!q->login || !name_login_valid(q->login)) {
		return refuse(c, d, "invalid login name");
	}
	e = q->host ? host_normalize(q->host, p->domain_suffix, &d->host) : JIT_E_NAME;
	if (e == -ENOMEM)
		return e;
	if (e < 0) {
		return refuse(c, d, "invalid host name");
	}
	c->host = d->host;
	if (strlen(PRINCIPAL_PREFIX) + strlen(c->host) + 1 + strlen(q->login) >
	    CERT_PRINCIPAL_LEN_MAX) {
		return refuse(c, d, "host and login are too long for a principal (%d bytes)",
			      CERT_PRINCIPAL_LEN_MAX);
	}
	c->user = policy_find_user(p, q->user);
	if (!c->user || c->user->disabled) {
		fprintf(c->x, "request: user '%s' is %s\n", q->user,
			c->user ? "disabled" : "not enrolled");
		return refuse(c, d, "user is not enrolled or is disabled");
	}
	if (q->reason && strlen(q->reason) > POLICY_REASON_MAX) {
		return refuse(c, d, "the reason is longer than %d bytes", POLICY_REASON_MAX);
	}
	if (q->reason && !text_ok(q->reason)) {
		return refuse(c, d, "the reason holds control characters");
	}
	c->reason = q->reason && *q->reason ? q->reason : NULL;
	if ((e = prepare(c, q->client_addr, client)) < 0)
		return e;

	fprintf(c->x, "request: user '%s' as '%s' on '%s' (labels ", q->user, q->login, c->host);
	print_list(c->x, c->labels, c->n_labels);
	fprintf(c->x, ", groups ");
	print_list(c->x, (const char *const *)c->user->groups, c->user->n_groups);
	fprintf(c->x, ")\n");
	if (c->n_cand < p->n_rules)
		fprintf(c->x, "skipped %zu of %zu rules: user '%s' is not in their users or "
			      "groups\n", p->n_rules - c->n_cand, p->n_rules, q->user);

	pick(c, q->login, &k);

	if (k.deny) {
		fprintf(c->x, "decision: denied by deny rule '%s' (deny rules win)\n",
			k.deny->name);
		if ((e = set_str(&d->rule, k.deny->name)) < 0)
			return e;
		return set_reason(d, "denied by rule '%s'", k.deny->name);
	}
	if (k.allow || k.ask) {
		const struct policy_rule *r = k.allow ? k.allow : k.ask;
		fprintf(c->x, "decision: %s by rule '%s'%s\n",
			k.allow ? "allowed" : "needs approval", r->name,
			k.allow && k.ask ? " (rules that need no approval come first)" : "");
		return grant(c, r, d);
	}
	if (k.near) {
		fprintf(c->x, "decision: denied: rule '%s' matches, but %s\n", k.near->name,
			k.near_why);
		return set_reason(d, "rule '%s' matches, but %s", k.near->name, k.near_why);
	}
	fprintf(c->x, "decision: denied by default: no rule allows this\n");
	return set_reason(d, "no rule allows user '%s' to log in as '%s' on '%s'", q->user,
			  q->login, c->host);
}

static void clear_grant(struct policy_decision *d)
{
	policy_strv_free(d->principals, d->n_principals);
	d->principals = NULL;
	d->n_principals = 0;
	for (size_t i = 0; i < d->n_critical; i++) {
		free(d->critical[i].name);
		free(d->critical[i].value);
	}
	free(d->critical);
	d->critical = NULL;
	d->n_critical = 0;
	for (size_t i = 0; i < d->n_extensions; i++)
		free(d->extensions[i].name);
	free(d->extensions);
	d->extensions = NULL;
	d->n_extensions = 0;
	policy_strv_free(d->approver_groups, d->n_approver_groups);
	d->approver_groups = NULL;
	d->n_approver_groups = 0;
	d->approvals_required = 0;
	d->ttl_sec = 0;
	d->verdict = POLICY_DENY;
}

int policy_eval(const struct policy *p, const struct policy_request *req,
		struct policy_decision **ret)
{
	_cleanup_(policy_decision_freep) struct policy_decision *d = calloc(1, sizeof *d);
	struct ectx c = { .p = p, .req = req };
	size_t len = 0;
	int e;

	if (!d || !(d->policy_version = strdup(p->version)))
		return -ENOMEM;
	c.x = open_memstream(&d->explanation, &len);
	if (!c.x)
		return -ENOMEM;
	e = decide(&c, d);
	ectx_done(&c);
	if (e == 0 && d->verdict == POLICY_DENY)
		clear_grant(d);
	/* JIT_E_POLICY from decide(): a grant it could not build as the rule says (a bug). */
	if (e == JIT_E_POLICY ||
	    (e == 0 && d->verdict != POLICY_DENY && (e = policy_decision_check(p, req, d)) < 0 &&
	     e != -ENOMEM)) {
		clear_grant(d);
		fprintf(c.x, "decision: denied: the decision broke an invariant (a bug)\n");
		e = set_reason(d, "internal error: the decision broke a policy invariant");
	}
	if (fclose(c.x) != 0 && e == 0)
		e = -ENOMEM;
	if (e == JIT_E_NAME) {
		clear_grant(d);
		free(TAKE_PTR(d->rule));
		e = set_reason(d, "invalid name");
	}
	if (e < 0)
		return e;
	if (len && d->explanation[len - 1] == '\n')
		d->explanation[len - 1] = 0;
	*ret = TAKE_PTR(d);
	return 0;
}

static bool options_sorted(const struct cert_option *o, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!o[i].name || (i > 0 && strcmp(o[i - 1].name, o[i].name) >= 0))
			return false;
	return true;
}

int policy_decision_check(const struct policy *p, const struct policy_request *req,
			  const struct policy_decision *d)
{
	_cleanup_free_ char *host = NULL, *principal = NULL, *sources = NULL;
	_cleanup_free_ const char **labels = NULL;
	const struct policy_rule *r;
	const struct policy_user *u;
	char client[INET6_ADDRSTRLEN];
	size_t n_labels = 0;
	bool force = false, source = false;
	int e;

	if (!p || !req || !d)
		return JIT_E_POLICY;
	if (d->verdict == POLICY_DENY)
		return d->n_principals == 0 && d->ttl_sec == 0 && d->n_critical == 0 &&
		       d->n_extensions == 0 && d->approvals_required == 0 &&
		       d->n_approver_groups == 0 ? 0 : JIT_E_POLICY;
	if (d->verdict != POLICY_ALLOW && d->verdict != POLICY_NEEDS_APPROVAL)
		return JIT_E_POLICY;
	r = policy_find_rule(p, d->rule);
	u = policy_find_user(p, req->user);
	if (!r || r->deny || !u || u->disabled || !subject_ok(r, u) || !req->login ||
	    !name_login_valid(req->login) || !login_ok(r, req->login, u->name))
		return JIT_E_POLICY;
	if (host_normalize(req->host, p->domain_suffix, &host) < 0 || !d->host ||
	    strcmp(host, d->host) != 0 || policy_host_labels(p, host, &labels, &n_labels) < 0 ||
	    !host_ok(r, host, labels, n_labels))
		return JIT_E_POLICY;
	if (d->n_principals != 1 || principal_format(host, req->login, &principal) < 0 ||
	    strlen(principal) > CERT_PRINCIPAL_LEN_MAX || strcmp(principal, d->principals[0]) != 0)
		return JIT_E_POLICY;
	if (d->ttl_sec == 0 || d->ttl_sec > r->max_ttl_sec || r->max_ttl_sec > p->max_ttl_sec ||
	    p->max_ttl_sec > POLICY_TTL_HARD_CAP_SEC)
		return JIT_E_POLICY;
	if (!options_sorted(d->extensions, d->n_extensions) ||
	    !options_sorted(d->critical, d->n_critical))
		return JIT_E_POLICY;
	for (size_t i = 0; i < d->n_extensions; i++)
		if (d->extensions[i].value ||
		    !policy_strv_has(r->extensions, r->n_extensions, d->extensions[i].name))
			return JIT_E_POLICY;
	for (size_t i = 0; i < d->n_critical; i++) {
		const struct cert_option *o = &d->critical[i];
		if (!strcmp(o->name, "force-command") && r->force_command && o->value &&
		    !strcmp(o->value, r->force_command))
			force = true;
		else if (!strcmp(o->name, "source-address") && r->n_sources && o->value &&
			 !source) {
			/* Exactly the rule's blocks and the request's own client address. */
			e = join_sources(r,
					 req->client_addr && client_canon(req->client_addr, client)
						 ? client
						 : NULL,
					 &sources);
			if (e == -ENOMEM)
				return e;
			if (e < 0 || strcmp(o->value, sources) != 0)
				return JIT_E_POLICY;
			source = true;
		} else {
			return JIT_E_POLICY;
		}
	}
	if (force != (r->force_command != NULL) || source != (r->n_sources > 0))
		return JIT_E_POLICY;
	if (d->verdict == POLICY_NEEDS_APPROVAL) {
		if (!r->approvals || d->approvals_required != r->approvals ||
		    d->n_approver_groups != r->n_approvers)
			return JIT_E_POLICY;
		for (size_t i = 0; i < d->n_approver_groups; i++)
			if (!policy_strv_has(r->approvers, r->n_approvers, d->approver_groups[i]))
				return JIT_E_POLICY;
	} else if (r->approvals || d->approvals_required || d->n_approver_groups) {
		return JIT_E_POLICY;
	}
	return 0;
}

/* ---- open logins ------------------------------------------------------------------------ */

static int open_cmp(const void *a, const void *b)
{
	const struct policy_open_login *x = a, *y = b;
	bool xa = !strcmp(x->login, POLICY_ANY), ya = !strcmp(y->login, POLICY_ANY);

	return xa != ya ? xa - ya : strcmp(x->login, y->login);
}

/* What the rules say about @login (NULL: a login no rule names) for c's user and host. */
static void open_entry(const struct ectx *c, const char *login, struct policy_open_login *o)
{
	const struct policy_rule *r;
	struct pick k;

	*o = (struct policy_open_login){ .login = login ? login : POLICY_ANY,
					 .verdict = POLICY_DENY };
	if (login && strlen(PRINCIPAL_PREFIX) + strlen(c->host) + 1 + strlen(login) >
			     CERT_PRINCIPAL_LEN_MAX)
		return;
	pick(c, login, &k);
	if (k.deny) {
		o->rule = k.deny->name;
		return;
	}
	r = k.allow ? k.allow : k.ask;
	if (!r)
		return;
	o->verdict = r->approvals ? POLICY_NEEDS_APPROVAL : POLICY_ALLOW;
	o->rule = r->name;
	o->default_ttl_sec = r->default_ttl_sec;
	o->max_ttl_sec = r->max_ttl_sec;
	o->approvals_required = r->approvals;
	o->approver_groups = r->approvers;
	o->n_approver_groups = r->n_approvers;
	o->reason_required = r->reason_required;
	o->reason_pattern = r->reason_pattern;
	o->force_command = r->force_command;
}

/* Every login a rule for c's user names while it covers c's host and is open now. */
static int open_candidates(const struct ectx *c, const char ***ret, size_t *ret_n, bool *ret_any)
{
	const struct policy *p = c->p;
	size_t words = (p->n_rules + 63) / 64, n = 0, cap = 0;
	_cleanup_free_ const char **v = NULL;
	bool any = false;

	for (size_t w = 0; w < words; w++)
		for (uint64_t bits = c->cand[w]; bits; bits &= bits - 1) {
			const struct policy_rule *r = &p->rules[w * 64 +
								 (size_t)__builtin_ctzll(bits)];
			if (!host_ok(r, c->host, c->labels, c->n_labels) ||
			    !windows_ok(r, c->req->now))
				continue;
			if (n + r->n_logins > cap) {
				size_t c2 = 2 * (n + r->n_logins);
				const char **w2 = reallocarray(v, c2 + 1, sizeof *w2);
				if (!w2)
					return -ENOMEM;
				v = w2;
				cap = c2;
			}
			for (size_t i = 0; i < r->n_logins; i++) {
				const char *l = r->logins[i];
				if (!strcmp(l, POLICY_ANY))
					any = true;
				else if (strcmp(l, POLICY_SELF))
					v[n++] = l;
				else if (name_login_valid(c->user->name))
					v[n++] = c->user->name;
			}
		}
	if (n > 1)
		qsort(v, n, sizeof *v, policy_strv_cmp);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (k == 0 || strcmp(v[k - 1], v[i]))
			v[k++] = v[i];
	*ret = TAKE_PTR(v);
	*ret_n = k;
	*ret_any = any;
	return 0;
}

int policy_open_logins(const struct policy *p, const char *user, const char *host,
		       const char *client_addr, uint64_t now, struct policy_open_login **ret,
		       size_t *ret_n)
{
	struct policy_request q = { .user = user, .host = host, .client_addr = client_addr,
				    .now = now };
	struct ectx c = { .p = p, .req = &q, .assume_reason = true };
	_cleanup_free_ char *norm = NULL;
	_cleanup_free_ const char **logins = NULL;
	struct policy_open_login *v = NULL;
	char client[INET6_ADDRSTRLEN];
	size_t n = 0;
	bool any = false;
	int e;

	if (!host || (e = host_normalize(host, p->domain_suffix, &norm)) == JIT_E_NAME)
		return JIT_E_NAME;
	if (e < 0)
		return e;
	c.host = norm;
	c.user = user && name_user_valid(user) ? policy_find_user(p, user) : NULL;
	if (c.user && !c.user->disabled) {
		if ((e = prepare(&c, client_addr, client)) < 0 ||
		    (e = open_candidates(&c, &logins, &n, &any)) < 0)
			goto out;
	} else {
		n = 0;
	}
	v = calloc(n + any + 1, sizeof *v);
	if (!v) {
		e = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		open_entry(&c, logins[i], &v[i]);
	if (any)
		open_entry(&c, NULL, &v[n++]);
	qsort(v, n, sizeof *v, open_cmp);
	*ret = v;
	*ret_n = n;
	e = 0;
out:
	ectx_done(&c);
	return e;
}
