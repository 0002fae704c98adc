/* SPDX-License-Identifier: ISC */
/*
 * lint.c - rules that can never apply (docs/policy.md, "Rules that can never apply"), for
 * `jit-ssh-ca policy check`.
 *
 * A rule can never apply when no request at all can reach it: it matches nothing by
 * itself (no enabled user, no host, no login, no open time window, an approval quorum no
 * requester can reach), or one other rule always decides first every request it matches
 * (a deny rule anywhere, or an earlier rule of higher or equal precedence whose match is
 * at least as wide and whose conditions are at most as strict).
 *
 * Conservative: every rule reported can never apply; proofs that would need several rules
 * together, or knowledge of which texts a reason pattern accepts, are not attempted, so a
 * rule that is not reported may still be unreachable.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "internal.h"
#include "names.h"
#include "util.h"

#define WEEK_MIN (7 * 1440)
#define WEEK_WORDS ((WEEK_MIN + 63) / 64)

struct lint {
	const struct policy *p;
	uint8_t *has_enabled;	    /* per group: holds an enabled user */
	uint8_t *has_enabled_login; /* per group: ... whose name is also a valid login */
	bool any_enabled, any_enabled_login;
	uint32_t *stamp; /* per group: walk marks, see group_within() */
	uint32_t walk;
	size_t *stack;
	FILE *out;
	size_t n;
};

static size_t group_ix(const struct policy *p, const char *name)
{
	struct policy_group key = {.name = (char *)name};
	const struct policy_group *g =
		p->groups ? bsearch(&key, p->groups, p->n_groups, sizeof key, policy_strv_cmp)
			  : NULL;
	return g ? (size_t)(g - p->groups) : SIZE_MAX;
}

static bool enabled(const struct policy_user *u)
{
	return u && !u->disabled;
}

/* ---- a rule by itself ------------------------------------------------------------------ */

static bool only_self_login(const struct policy_rule *r)
{
	return r->n_logins == 1 && !strcmp(r->logins[0], POLICY_SELF);
}

/* Some enabled user is in @r's users or groups (with @self, one whose name is also a valid
 * login). */
static bool subject_nonempty(const struct lint *l, const struct policy_rule *r, bool self)
{
	if (policy_strv_has(r->users, r->n_users, POLICY_ANY))
		return self ? l->any_enabled_login : l->any_enabled;
	for (size_t i = 0; i < r->n_users; i++) {
		const struct policy_user *u = policy_find_user(l->p, r->users[i]);
		if (enabled(u) && (!self || name_login_valid(u->name)))
			return true;
	}
	for (size_t i = 0; i < r->n_groups; i++) {
		size_t g = group_ix(l->p, r->groups[i]);
		if (g != SIZE_MAX && (self ? l->has_enabled_login[g] : l->has_enabled[g]))
			return true;
	}
	return false;
}

static bool in_approvers(const struct policy_rule *r, const struct policy_user *u)
{
	for (size_t i = 0; i < u->n_groups; i++)
		if (policy_strv_has(r->approvers, r->n_approvers, u->groups[i]))
			return true;
	return false;
}

static bool subject_has(const struct policy_rule *r, const struct policy_user *u)
{
	if (policy_strv_has(r->users, r->n_users, POLICY_ANY) ||
	    policy_strv_has(r->users, r->n_users, u->name))
		return true;
	for (size_t i = 0; i < u->n_groups; i++)
		if (policy_strv_has(r->groups, r->n_groups, u->groups[i]))
			return true;
	return false;
}

/* Some requester of @r leaves enough approvers besides themselves. */
static bool quorum_reachable(const struct lint *l, const struct policy_rule *r)
{
	if (!r->approvals || r->approver_pool > r->approvals)
		return true;
	for (size_t i = 0; i < l->p->n_users; i++) {
		const struct policy_user *u = &l->p->users[i];
		if (!u->disabled && subject_has(r, u) && !in_approvers(r, u))
			return true;
	}
	return false;
}

/* Set bits [@from, @to) of @bits, @to <= WEEK_MIN. */
static void set_range(uint64_t bits[WEEK_WORDS], unsigned from, unsigned to)
{
	while (from < to) {
		unsigned n = 64 - from % 64 < to - from ? 64 - from % 64 : to - from;
		bits[from / 64] |= (n == 64 ? ~UINT64_C(0) : ((UINT64_C(1) << n) - 1)) << from % 64;
		from += n;
	}
}

/* The minutes of the week (local time of @w's zone, from Sunday 00:00) in which @w is
 * open, into @bits; a window crossing midnight ends on the next day. */
static void window_bits(const struct policy_window *w, uint64_t bits[WEEK_WORDS])
{
	for (unsigned d = 0; d < 7; d++) {
		unsigned from = d * 1440 + w->start_min;
		if (!(w->days >> d & 1))
			continue;
		if (w->start_min < w->end_min) {
			set_range(bits, from, d * 1440 + w->end_min);
		} else {
			set_range(bits, from, (d + 1) * 1440);
			set_range(bits, (d + 1) % 7 * 1440, (d + 1) % 7 * 1440 + w->end_min);
		}
	}
}

static bool windows_never_open(const struct policy_rule *r)
{
	if (!r->has_windows)
		return false;
	for (size_t i = 0; i < r->n_windows; i++)
		if (r->windows[i].days)
			return false;
	return true;
}

static bool hosts_nonempty(const struct policy_rule *r)
{
	bool empty;

	if (r->n_labels)
		return true;
	for (size_t i = 0; i < r->n_hosts; i++)
		/* a glob is empty when it is within a glob nothing matches: "[!a-z0-9.-]" */
		if (policy_glob_subset(&r->host_g[i], &(struct policy_glob){0}, &empty) < 0 ||
		    !empty)
			return true;
	return false;
}

/* Why @r matches no request by itself, or NULL. */
static const char *self_why(const struct lint *l, const struct policy_rule *r, char *buf,
			    size_t size)
{
	if (r->n_logins == 0)
		return "its logins are empty";
	if (!subject_nonempty(l, r, false))
		return "no enabled user is in its users or groups";
	if (only_self_login(r) && !subject_nonempty(l, r, true))
		return "its only login is ${user}, and no enabled user in its users or groups has "
		       "a name that is a valid login";
	if (!hosts_nonempty(r))
		return r->n_hosts ? "no host name matches its hosts"
				  : "its hosts and host_labels are empty";
	if (windows_never_open(r))
		return "its time windows are never open (when: [] or days: [])";
	if (!r->deny && !quorum_reachable(l, r)) {
		snprintf(buf, size,
			 "it needs %u approval%s and has only %u approvers, and each "
			 "of its users is one of them (never counted for their own "
			 "request)",
			 r->approvals, r->approvals == 1 ? "" : "s", r->approver_pool);
		return buf;
	}
	return NULL;
}

/* ---- one rule within another ----------------------------------------------------------- */

/* Group @g is group @h or a subgroup of it at any depth. */
static bool group_within(struct lint *l, size_t g, size_t h)
{
	const struct policy *p = l->p;
	size_t depth = 0;

	if (++l->walk == 0) { /* wrapped: start the marks afresh */
		memset(l->stamp, 0, p->n_groups * sizeof *l->stamp);
		l->walk = 1;
	}
	l->stack[depth++] = h;
	l->stamp[h] = l->walk;
	while (depth) {
		const struct policy_group *x = &p->groups[l->stack[--depth]];
		if ((size_t)(x - p->groups) == g)
			return true;
		for (size_t i = 0; i < x->n_subgroups; i++) {
			size_t s = group_ix(p, x->subgroups[i]);
			if (s != SIZE_MAX && l->stamp[s] != l->walk) {
				l->stamp[s] = l->walk;
				l->stack[depth++] = s;
			}
		}
	}
	return false;
}

/* Every enabled user @r is for, @s is for too. */
static bool subject_within(struct lint *l, const struct policy_rule *r, const struct policy_rule *s)
{
	if (policy_strv_has(s->users, s->n_users, POLICY_ANY))
		return true;
	if (policy_strv_has(r->users, r->n_users, POLICY_ANY))
		return false;
	for (size_t i = 0; i < r->n_users; i++) {
		const struct policy_user *u = policy_find_user(l->p, r->users[i]);
		if (enabled(u) && !subject_has(s, u))
			return false;
	}
	for (size_t i = 0; i < r->n_groups; i++) {
		size_t g = group_ix(l->p, r->groups[i]);
		bool in = g == SIZE_MAX || !l->has_enabled[g];
		for (size_t j = 0; !in && j < s->n_groups; j++) {
			size_t h = group_ix(l->p, s->groups[j]);
			in = h != SIZE_MAX && group_within(l, g, h);
		}
		if (!in)
			return false;
	}
	return true;
}

/* Every host @a (a glob) matches, rule @s covers: by one of its globs, or because @a lies
 * within an inventory glob that gives its hosts one of @s's labels. */
static int glob_within(const struct policy *p, const struct policy_glob *a,
		       const struct policy_rule *s, bool *ret)
{
	bool in = false;
	int e;

	for (size_t j = 0; !in && j < s->n_hosts; j++)
		if ((e = policy_glob_subset(a, &s->host_g[j], &in)) < 0)
			return e;
	for (size_t k = 0; !in && s->n_labels && k < p->n_hosts; k++) {
		const struct policy_host *h = &p->hosts[k];
		bool labelled = false;
		for (size_t j = 0; !labelled && j < h->n_labels; j++)
			labelled = policy_strv_has(s->labels, s->n_labels, h->labels[j]);
		if (labelled && (e = policy_glob_subset(a, &h->g, &in)) < 0)
			return e;
	}
	*ret = in;
	return 0;
}

/* Every host @r is for, @s is for too. */
static int hosts_within(const struct policy *p, const struct policy_rule *r,
			const struct policy_rule *s, bool *ret)
{
	bool in = true;
	int e;

	for (size_t i = 0; in && i < r->n_hosts; i++)
		if ((e = glob_within(p, &r->host_g[i], s, &in)) < 0)
			return e;
	/* a label of @r: each inventory glob giving it is covered, by a label or a glob */
	for (size_t i = 0; in && i < r->n_labels; i++) {
		if (policy_strv_has(s->labels, s->n_labels, r->labels[i]))
			continue;
		for (size_t k = 0; in && k < p->n_hosts; k++) {
			const struct policy_host *h = &p->hosts[k];
			if (policy_strv_has(h->labels, h->n_labels, r->labels[i]) &&
			    (e = glob_within(p, &h->g, s, &in)) < 0)
				return e;
		}
	}
	*ret = in;
	return 0;
}

static bool logins_within(const struct policy_rule *r, const struct policy_rule *s)
{
	if (policy_strv_has(s->logins, s->n_logins, POLICY_ANY))
		return true;
	for (size_t i = 0; i < r->n_logins; i++)
		if (!policy_strv_has(s->logins, s->n_logins, r->logins[i]))
			return false; /* also "*" in @r alone, and "${user}" in @r alone */
	return true;
}

/* Whenever @r's windows are open, one of @s's is (compared zone by zone). */
static bool windows_within(const struct policy_rule *r, const struct policy_rule *s)
{
	uint64_t a[WEEK_WORDS], b[WEEK_WORDS];

	if (!s->has_windows)
		return true;
	if (!r->has_windows)
		return false;
	for (size_t j = 0; j < s->n_windows; j++) /* open all week, in any zone */
		if (s->windows[j].days == 0x7f && s->windows[j].start_min == 0 &&
		    s->windows[j].end_min == 1440)
			return true;
	for (size_t i = 0; i < r->n_windows; i++) {
		memset(a, 0, sizeof a);
		memset(b, 0, sizeof b);
		window_bits(&r->windows[i], a);
		for (size_t j = 0; j < s->n_windows; j++)
			if (s->windows[j].tz == r->windows[i].tz)
				window_bits(&s->windows[j], b);
		for (size_t k = 0; k < WEEK_WORDS; k++)
			if (a[k] & ~b[k])
				return false;
	}
	return true;
}

/* Whenever allow rule @r's conditions hold, allow rule @s's hold too. */
static bool conditions_within(const struct policy_rule *r, const struct policy_rule *s)
{
	if (s->reason_required && !r->reason_required)
		return false;
	if (s->reason_pattern &&
	    (!r->reason_pattern || strcmp(r->reason_pattern, s->reason_pattern)))
		return false;
	if (policy_strv_has(s->sources, s->n_sources, POLICY_CLIENT) &&
	    !policy_strv_has(r->sources, r->n_sources, POLICY_CLIENT))
		return false;
	if (s->approvals && s->approver_pool <= s->approvals) {
		/* a requester among the approvers may leave too few: only the same groups and
		 * no larger quorum in @r guarantee @s's quorum too */
		if (!r->approvals || r->approvals < s->approvals ||
		    r->n_approvers != s->n_approvers)
			return false;
		for (size_t i = 0; i < r->n_approvers; i++)
			if (strcmp(r->approvers[i], s->approvers[i]))
				return false;
	}
	return true;
}

/* Rule @s matches every request @r matches. */
static int match_within(struct lint *l, const struct policy_rule *r, const struct policy_rule *s,
			bool *ret)
{
	*ret = logins_within(r, s) && subject_within(l, r, s) && windows_within(r, s);
	return *ret ? hosts_within(l->p, r, s, ret) : 0;
}

/* Whether @s (index @j) decides every request rule @r (index @i) could decide; @what says
 * how. */
static int shadows(struct lint *l, size_t i, size_t j, const char **ret_what)
{
	const struct policy_rule *r = &l->p->rules[i], *s = &l->p->rules[j];
	const char *what = NULL;
	bool in;
	int e;

	if (s->deny)
		what = !r->deny ? "is denied by deny rule"
		       : j < i	? "is already denied by the earlier deny rule"
				: NULL;
	else if (r->deny)
		what = NULL;
	else if (!s->approvals)
		what = !r->approvals ? (j < i ? "is allowed first by the earlier rule" : NULL)
				     : "is allowed without approval by rule";
	else if (r->approvals && j < i)
		what = "is sent for approval first by the earlier rule";
	if (!what || (!r->deny && !s->deny && !conditions_within(r, s)))
		return 0;
	if ((e = match_within(l, r, s, &in)) < 0)
		return e;
	if (in)
		*ret_what = what;
	return in;
}

__attribute__((format(printf, 3, 4))) static void
report(struct lint *l, const struct policy_rule *r, const char *fmt, ...)
{
	va_list ap;

	if (++l->n > POLICY_ERRORS_MAX)
		return;
	if (l->n > 1)
		fputc('\n', l->out);
	fprintf(l->out, "%s:%u:%u: rule \"%s\" can never apply: ", l->p->source, r->line, r->col,
		r->name);
	va_start(ap, fmt);
	vfprintf(l->out, fmt, ap);
	va_end(ap);
}

static int lint_rules(struct lint *l)
{
	const struct policy *p = l->p;
	_cleanup_free_ bool *empty = calloc(p->n_rules + 1, sizeof *empty);
	char buf[256];
	int e;

	if (!empty)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_rules; i++)
		empty[i] = self_why(l, &p->rules[i], buf, sizeof buf) != NULL;
	for (size_t i = 0; i < p->n_rules; i++) {
		const char *what = NULL;
		if (empty[i])
			report(l, &p->rules[i], "%s", self_why(l, &p->rules[i], buf, sizeof buf));
		for (size_t j = 0; j < p->n_rules && !empty[i]; j++) {
			if (j == i || empty[j])
				continue;
			if ((e = shadows(l, i, j, &what)) < 0)
				return e;
			if (e) {
				report(l, &p->rules[i],
				       "every request it matches %s \"%s\" (line %u)", what,
				       p->rules[j].name, p->rules[j].line);
				break;
			}
		}
	}
	return 0;
}

int policy_lint(const struct policy *p, char **ret_report, size_t *ret_n)
{
	struct lint l = {.p = p};
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int e = 0;

	l.has_enabled = calloc(p->n_groups + 1, 1);
	l.has_enabled_login = calloc(p->n_groups + 1, 1);
	l.stamp = calloc(p->n_groups + 1, sizeof *l.stamp);
	l.stack = calloc(p->n_groups + 1, sizeof *l.stack);
	l.out = open_memstream(&buf, &len);
	if (!l.has_enabled || !l.has_enabled_login || !l.stamp || !l.stack || !l.out) {
		e = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < p->n_users; i++) {
		const struct policy_user *u = &p->users[i];
		bool login = name_login_valid(u->name);
		if (u->disabled)
			continue;
		l.any_enabled = true;
		l.any_enabled_login |= login;
		for (size_t j = 0; j < u->n_groups; j++) {
			l.has_enabled[u->group_ix[j]] = 1;
			l.has_enabled_login[u->group_ix[j]] |= login;
		}
	}
	e = lint_rules(&l);
	if (e == 0 && l.n > POLICY_ERRORS_MAX)
		fprintf(l.out, "\n%s: %zu more rules that can never apply not shown", p->source,
			l.n - POLICY_ERRORS_MAX);
out:
	if (l.out && fclose(l.out) != 0 && e == 0)
		e = -ENOMEM;
	free(l.has_enabled);
	free(l.has_enabled_login);
	free(l.stamp);
	free(l.stack);
	if (e < 0)
		return e;
	*ret_report = l.n ? TAKE_PTR(buf) : NULL;
	*ret_n = l.n;
	return 0;
}
