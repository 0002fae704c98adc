/* SPDX-License-Identifier: ISC */
/*
 * test_prop.c - property test: many random policies (seeded, so every run is the same) and
 * many random requests against each. A small model of each policy, kept by this test, is the
 * oracle: it re-derives group membership, host labels, time windows (through glibc's
 * localtime_r, this test being single-threaded) and precedence on its own, and every decision
 * must agree with it:
 *   - an allow or approval names an allow rule whose users, hosts, logins, windows and
 *     conditions all hold, and that is the first such rule in file order (no-approval rules
 *     first); its one principal is jit:HOST:LOGIN; 0 < TTL <= rule max <= policy max <= hard
 *     cap, and TTL is exactly what the rule gives; extensions are exactly the rule's;
 *   - a matching deny rule always denies; an unknown or disabled user is always denied;
 *   - when some allow rule fully applies, the request is not denied.
 */
#include <fnmatch.h>
#include <stdint.h>
#include <time.h>

#include "internal.h"
#include "testpol.h"
#include "util.h"

#define N_POLICIES 400
#define N_REQUESTS 250
#define N_USERS 8
#define N_GROUPS 4
#define N_LABELS 4

static const char *const user_names[N_USERS] = { "u0", "u1", "u2", "u3", "u4", "u5", "o.dd-6",
						 "x@y" };
static const char *const user_keys[N_USERS] = { KEY1, KEY2, KEY3, KEY4, KEY5, KEY6, KEY7, KEY8 };
static const char *const globs[] = { "*", "web-*", "db-?", "h[0-3]", "exact-1", "*.lab" };
static const char *const logins[] = { "root", "deploy", "app", "${user}", "*" };
static const char *const extensions[] = { "permit-X11-forwarding", "permit-agent-forwarding",
					  "permit-port-forwarding", "permit-pty" };
static const char *const zones[] = { "UTC", "Europe/Berlin", "America/New_York",
				     "Asia/Kolkata" };
static const char *const day_names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };
static const struct {
	const char *asked, *norm;
} hosts[] = {
	{ "web-1", "web-1" }, { "WEB-2.corp.example.", "web-2" }, { "db-3", "db-3" },
	{ "h2", "h2" },	      { "exact-1", "exact-1" },		   { "x.lab", "x.lab" },
	{ "other", "other" }, { "db-12", "db-12" },		   { "H9.corp.example", "h9" },
};
static const char *const req_logins[] = { "root", "deploy", "app", "other", NULL /* own */ };
static const char *const reasons[] = { NULL, "T-12", "x" };

struct m_window {
	unsigned days, start, end, tz;
};

struct m_rule {
	bool deny, any_user, has_users, has_groups, has_hosts, has_labels, has_when, has_ext;
	unsigned users, groups, hosts, labels, logins, ext, approvals, approvers;
	unsigned n_windows;
	struct m_window w[2];
	uint64_t def_ttl, max_ttl;
	int reason;	/* 0 none, 1 required, 2 pattern ^T-[0-9]+$ */
	int source;	/* 0 none, 1 10.0.0.0/8, 2 client, 3 both */
	bool force;
};

struct model {
	unsigned disabled;
	unsigned direct[N_GROUPS], sub[N_GROUPS], members[N_GROUPS];
	unsigned host_labels[ELEMENTSOF(globs)];
	bool in_inventory[ELEMENTSOF(globs)];
	uint64_t def_ttl, max_ttl;
	unsigned n_rules;
	struct m_rule r[8];
};

static uint64_t rng_state = 0x1234567887654321u;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static unsigned pick(unsigned n)
{
	return (unsigned)(rng() % n);
}

static bool chance(unsigned percent)
{
	return pick(100) < percent;
}

static unsigned enabled_in(const struct model *m, unsigned users)
{
	return (unsigned)__builtin_popcount(users & ~m->disabled);
}

static void make_model(struct model *m)
{
	static const uint64_t settings_max[] = { 3600, 7200 }, settings_def[] = { 300, 600, 900 };
	static const uint64_t rule_max[] = { 600, 1800, 3600 };
	unsigned labels_present = 0;

	*m = (struct model){ 0 };
	m->disabled = chance(30) ? 1u << 5 : 0;
	for (unsigned g = 0; g < N_GROUPS; g++) {
		m->direct[g] = pick(1u << N_USERS);
		m->sub[g] = g ? pick(1u << g) : 0; /* only earlier groups: never a cycle */
		m->members[g] = m->direct[g];
		for (unsigned s = 0; s < g; s++)
			if (m->sub[g] >> s & 1)
				m->members[g] |= m->members[s];
	}
	for (unsigned h = 0; h < ELEMENTSOF(globs); h++) {
		m->in_inventory[h] = chance(60);
		m->host_labels[h] = m->in_inventory[h] ? pick(1u << N_LABELS) : 0;
		labels_present |= m->host_labels[h];
	}
	m->max_ttl = settings_max[pick(2)];
	m->def_ttl = settings_def[pick(3)];
	m->n_rules = 1 + pick(8);
	for (unsigned i = 0; i < m->n_rules; i++) {
		struct m_rule *r = &m->r[i];
		r->deny = chance(20);
		r->has_users = chance(70);
		r->has_groups = !r->has_users || chance(50);
		r->any_user = r->has_users && chance(15);
		r->users = r->has_users ? pick(1u << N_USERS) : 0;
		r->groups = r->has_groups ? pick(1u << N_GROUPS) : 0;
		r->has_labels = labels_present && chance(50);
		r->has_hosts = !r->has_labels || chance(40);
		r->hosts = r->has_hosts ? pick(1u << ELEMENTSOF(globs)) : 0;
		r->labels = r->has_labels ? pick(1u << N_LABELS) & labels_present : 0;
		r->logins = pick(1u << ELEMENTSOF(logins));
		if (chance(10))
			r->logins &= ~(1u << 4); /* "*" is rare */
		r->has_when = chance(35);
		r->n_windows = r->has_when ? pick(3) : 0;
		for (unsigned k = 0; k < r->n_windows; k++) {
			struct m_window *w = &r->w[k];
			w->days = chance(10) ? 0 : 1 + pick(127);
			w->start = pick(24) * 60 + (chance(50) ? 30 : 0);
			do
				w->end = 1 + pick(24) * 60;
			while (w->end == w->start);
			w->end = w->end > 1440 ? 1440 : w->end;
			w->tz = pick(ELEMENTSOF(zones));
		}
		if (r->deny)
			continue;
		r->max_ttl = chance(50) ? rule_max[pick(3)] : 0;
		if (r->max_ttl > m->max_ttl)
			r->max_ttl = m->max_ttl;
		r->def_ttl = chance(50) ? 60 * (1 + pick(10)) : 0;
		if (r->def_ttl > (r->max_ttl ? r->max_ttl : m->max_ttl))
			r->def_ttl = 0;
		r->has_ext = chance(50);
		r->ext = r->has_ext ? pick(1u << ELEMENTSOF(extensions)) : 0;
		r->reason = chance(25) ? 1 + (int)pick(2) : 0;
		r->source = chance(25) ? 1 + (int)pick(3) : 0;
		r->force = chance(10);
		if (chance(25)) {
			unsigned from = 1 + pick((1u << N_GROUPS) - 1), pool = 0;
			for (unsigned g = 0; g < N_GROUPS; g++)
				if (from >> g & 1)
					pool |= m->members[g];
			if (enabled_in(m, pool)) {
				r->approvers = from;
				r->approvals = 1 + pick(enabled_in(m, pool) < 2 ? 1 : 2);
			}
		}
	}
}

static void put_set(FILE *f, const char *key, unsigned bits, const char *const *names,
		    size_t n, const char *prefix, bool any)
{
	bool first = !any;

	fprintf(f, "    %s: [%s", key, any ? "'*'" : "");
	for (size_t i = 0; i < n; i++)
		if (bits >> i & 1) {
			fprintf(f, "%s'%s%s'", first ? "" : ", ", prefix, names[i]);
			first = false;
		}
	fprintf(f, "]\n");
}

static char *model_yaml(const struct model *m)
{
	static const char *const group_names[N_GROUPS] = { "0", "1", "2", "3" };
	static const char *const label_names[N_LABELS] = { "l0", "l1", "l2", "l3" };
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	fprintf(f, "settings: {domain_suffix: corp.example, default_ttl: %us, max_ttl: %us}\n",
		(unsigned)m->def_ttl, (unsigned)m->max_ttl);
	fprintf(f, "users:\n");
	for (unsigned u = 0; u < N_USERS; u++)
		fprintf(f, "  '%s': {disabled: %s, keys: ['%s']}\n", user_names[u],
			m->disabled >> u & 1 ? "true" : "false", user_keys[u]);
	fprintf(f, "groups:\n");
	for (unsigned g = 0; g < N_GROUPS; g++) {
		fprintf(f, "  g%u:\n", g);
		put_set(f, "users", m->direct[g], user_names, N_USERS, "", false);
		put_set(f, "groups", m->sub[g], group_names, N_GROUPS, "g", false);
	}
	fprintf(f, "hosts:%s\n",
		memchr(m->in_inventory, true, sizeof m->in_inventory) ? "" : " {}");
	for (unsigned h = 0; h < ELEMENTSOF(globs); h++)
		if (m->in_inventory[h]) {
			fprintf(f, "  '%s': [", globs[h]);
			for (unsigned l = 0, first = 1; l < N_LABELS; l++)
				if (m->host_labels[h] >> l & 1) {
					fprintf(f, "%s%s", first ? "" : ", ", label_names[l]);
					first = 0;
				}
			fprintf(f, "]\n");
		}
	fprintf(f, "rules:\n");
	for (unsigned i = 0; i < m->n_rules; i++) {
		const struct m_rule *r = &m->r[i];
		fprintf(f, "  - name: r%u\n    effect: %s\n", i, r->deny ? "deny" : "allow");
		if (r->has_users)
			put_set(f, "users", r->users, user_names, N_USERS, "", r->any_user);
		if (r->has_groups)
			put_set(f, "groups", r->groups, group_names, N_GROUPS, "g", false);
		if (r->has_hosts)
			put_set(f, "hosts", r->hosts, globs, ELEMENTSOF(globs), "", false);
		if (r->has_labels)
			put_set(f, "host_labels", r->labels, label_names, N_LABELS, "", false);
		put_set(f, "logins", r->logins, logins, ELEMENTSOF(logins), "", false);
		if (r->has_when) {
			fprintf(f, "    when:\n");
			for (unsigned k = 0; k < r->n_windows; k++) {
				const struct m_window *w = &r->w[k];
				fprintf(f, "      - hours: '%02u:%02u-%02u:%02u'\n", w->start / 60,
					w->start % 60, w->end / 60, w->end % 60);
				fprintf(f, "        timezone: %s\n", zones[w->tz]);
				put_set(f, "    days", w->days, day_names, 7, "", false);
			}
			if (!r->n_windows)
				fprintf(f, "      []\n");
		}
		if (r->max_ttl)
			fprintf(f, "    max_ttl: %us\n", (unsigned)r->max_ttl);
		if (r->def_ttl)
			fprintf(f, "    default_ttl: %us\n", (unsigned)r->def_ttl);
		if (r->has_ext)
			put_set(f, "extensions", r->ext, extensions, ELEMENTSOF(extensions), "",
				false);
		if (r->reason == 1)
			fprintf(f, "    reason: required\n");
		if (r->reason == 2)
			fprintf(f, "    reason: {pattern: '^T-[0-9]+$'}\n");
		if (r->source)
			fprintf(f, "    source_address: [%s%s%s]\n",
				r->source & 1 ? "10.0.0.0/8" : "", r->source == 3 ? ", " : "",
				r->source & 2 ? "client" : "");
		if (r->force)
			fprintf(f, "    force_command: /bin/true\n");
		if (r->approvals) {
			fprintf(f, "    approvals:\n      count: %u\n", r->approvals);
			put_set(f, "  from", r->approvers, group_names, N_GROUPS, "g", false);
		}
	}
	fclose(f);
	return s;
}

/* ---- the oracle ------------------------------------------------------------------------ */

struct m_req {
	unsigned user;		/* N_USERS = unknown */
	unsigned host;
	const char *login;
	uint64_t ttl;
	const char *reason, *client;
	uint64_t now;
};

static unsigned user_groups(const struct model *m, unsigned u)
{
	unsigned gs = 0;

	for (unsigned g = 0; g < N_GROUPS; g++)
		if (u < N_USERS && m->members[g] >> u & 1)
			gs |= 1u << g;
	return gs;
}

static bool m_subject(const struct model *m, const struct m_rule *r, unsigned u)
{
	return r->any_user || (r->users >> u & 1) || (r->groups & user_groups(m, u));
}

static bool m_host(const struct model *m, const struct m_rule *r, const char *host)
{
	unsigned labels = 0;

	for (unsigned h = 0; h < ELEMENTSOF(globs); h++) {
		bool match = fnmatch(globs[h], host, 0) == 0;
		if (match && (r->hosts >> h & 1))
			return true;
		if (match && m->in_inventory[h])
			labels |= m->host_labels[h];
	}
	return (labels & r->labels) != 0;
}

static bool m_login(const struct m_rule *r, const char *login, unsigned u)
{
	for (unsigned i = 0; i < ELEMENTSOF(logins); i++)
		if (r->logins >> i & 1) {
			if (i == 4 || !strcmp(logins[i], login))
				return true;
			if (i == 3 && !strcmp(user_names[u], login))
				return true;
		}
	return false;
}

static bool m_window(const struct m_window *w, uint64_t now)
{
	char tzenv[64];
	time_t t = (time_t)now;
	struct tm tm;
	unsigned min, day;

	snprintf(tzenv, sizeof tzenv, ":%s", zones[w->tz]);
	setenv("TZ", tzenv, 1);
	tzset();
	assert_non_null(localtime_r(&t, &tm));
	min = (unsigned)(tm.tm_hour * 60 + tm.tm_min);
	day = (unsigned)tm.tm_wday;
	if (w->start < w->end)
		return (w->days >> day & 1) && min >= w->start && min < w->end;
	if (min >= w->start)
		return w->days >> day & 1;
	return min < w->end && (w->days >> ((day + 6) % 7) & 1);
}

static bool m_matches(const struct model *m, const struct m_rule *r, const struct m_req *q)
{
	bool in_window = !r->has_when;

	for (unsigned k = 0; k < r->n_windows; k++)
		in_window = in_window || m_window(&r->w[k], q->now);
	return m_subject(m, r, q->user) && m_host(m, r, hosts[q->host].norm) &&
	       m_login(r, q->login, q->user) && in_window;
}

static bool m_conditions(const struct model *m, const struct m_rule *r, const struct m_req *q)
{
	if (r->reason && !q->reason)
		return false;
	if (r->reason == 2 && strcmp(q->reason, "T-12") != 0)
		return false;
	if ((r->source & 2) && !q->client)
		return false;
	if (r->approvals) {
		unsigned pool = 0;
		for (unsigned g = 0; g < N_GROUPS; g++)
			if (r->approvers >> g & 1)
				pool |= m->members[g];
		pool &= ~(1u << q->user);
		if (enabled_in(m, pool) < r->approvals)
			return false;
	}
	return true;
}

static char *m_ext(const struct m_rule *r)
{
	char buf[256] = "";

	if (!r->has_ext)
		return strdup("permit-pty");
	for (unsigned i = 0; i < ELEMENTSOF(extensions); i++)
		if (r->ext >> i & 1)
			snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s",
				 *buf ? "," : "", extensions[i]);
	return strdup(buf);
}

static unsigned checked, allowed, asked, denied;

static void check(const struct model *m, const struct policy *p, const struct m_req *q,
		  const struct policy_decision *d, const char *yaml)
{
	int deny = -1, allow = -1, ask = -1;
	bool enabled = q->user < N_USERS && !(m->disabled >> q->user & 1);
	bool login_ok = strchr(q->login, '@') == NULL;

	checked++;
	for (unsigned i = 0; enabled && login_ok && i < m->n_rules; i++) {
		const struct m_rule *r = &m->r[i];
		if (!m_matches(m, r, q))
			continue;
		if (r->deny && deny < 0)
			deny = (int)i;
		else if (!r->deny && m_conditions(m, r, q)) {
			if (!r->approvals && allow < 0)
				allow = (int)i;
			if (r->approvals && ask < 0)
				ask = (int)i;
		}
	}
	int decided = deny >= 0 ? -1 : allow >= 0 ? allow : ask;
	enum policy_verdict want = decided < 0 ? POLICY_DENY :
				   m->r[decided].approvals ? POLICY_NEEDS_APPROVAL : POLICY_ALLOW;
	if (d->verdict != want)
		fail_msg("verdict %s, model says %s (rule %s)\n%s\n%s\n---\n%s",
			 policy_verdict_name(d->verdict), policy_verdict_name(want),
			 d->rule ? d->rule : "-", d->reason, d->explanation, yaml);
	if (want == POLICY_DENY) {
		denied++;
		assert_int_equal(d->n_principals, 0);
		assert_int_equal(d->ttl_sec, 0);
		assert_int_equal(d->n_extensions, 0);
		assert_int_equal(d->n_critical, 0);
		if (deny >= 0) {
			char name[16];
			snprintf(name, sizeof name, "r%d", deny);
			assert_string_equal(d->rule, name);
		}
		return;
	}
	const struct m_rule *r = &m->r[decided];
	char name[16], principal[128], *ext;
	uint64_t max = r->max_ttl ? r->max_ttl : m->max_ttl;
	uint64_t def = r->def_ttl ? r->def_ttl : (m->def_ttl < max ? m->def_ttl : max);
	uint64_t ttl = q->ttl == 0 ? def : q->ttl < max ? q->ttl : max;

	want == POLICY_ALLOW ? allowed++ : asked++;
	snprintf(name, sizeof name, "r%d", decided);
	assert_string_equal(d->rule, name);
	snprintf(principal, sizeof principal, "jit:%s:%s", hosts[q->host].norm, q->login);
	assert_int_equal(d->n_principals, 1);
	assert_string_equal(d->principals[0], principal);
	assert_true(d->ttl_sec > 0 && d->ttl_sec <= max && max <= m->max_ttl &&
		    m->max_ttl <= POLICY_TTL_HARD_CAP_SEC);
	assert_int_equal(d->ttl_sec, ttl);
	ext = m_ext(r);
	char got[256] = "";
	for (size_t i = 0; i < d->n_extensions; i++)
		snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i ? "," : "",
			 d->extensions[i].name);
	assert_string_equal(got, ext);
	free(ext);
	assert_int_equal(d->n_critical, (size_t)(r->force ? 1 : 0) + (r->source ? 1 : 0));
	assert_int_equal(d->approvals_required, r->approvals);
	assert_int_equal(d->n_approver_groups, (size_t)__builtin_popcount(r->approvers));
	assert_int_equal(policy_decision_check(p, &(struct policy_request){
		.user = user_names[q->user], .host = hosts[q->host].asked, .login = q->login,
		.ttl_sec = q->ttl, .reason = q->reason, .client_addr = q->client, .now = q->now },
		d), 0);
}

static void test_random_policies_agree_with_the_model(void **state)
{
	static const uint64_t ttls[] = { 0, 1, 600, 3600, 99999 };

	(void)state;
	for (int n = 0; n < N_POLICIES; n++) {
		struct model m;
		struct policy *p = NULL;
		char *yaml, *err = NULL;

		make_model(&m);
		yaml = model_yaml(&m);
		if (policy_load_buffer("prop.yaml", yaml, strlen(yaml), &p, &err) < 0)
			fail_msg("policy %d does not load: %s\n%s", n, err, yaml);
		for (int k = 0; k < N_REQUESTS; k++) {
			struct m_req q = {
				.user = pick(N_USERS + 1),
				.host = pick(ELEMENTSOF(hosts)),
				.ttl = ttls[pick(ELEMENTSOF(ttls))],
				.reason = reasons[pick(ELEMENTSOF(reasons))],
				.client = chance(50) ? "10.1.2.3" : NULL,
				.now = 1577836800 + rng() % 315360000, /* 2020..2030 */
			};
			q.login = req_logins[pick(ELEMENTSOF(req_logins))];
			if (!q.login)
				q.login = q.user < N_USERS ? user_names[q.user] : "zz";
			struct policy_request req = {
				.user = q.user < N_USERS ? user_names[q.user] : "zz",
				.host = hosts[q.host].asked, .login = q.login, .ttl_sec = q.ttl,
				.reason = q.reason, .client_addr = q.client, .now = q.now };
			struct policy_decision *d = NULL;
			assert_int_equal(policy_eval(p, &req, &d), 0);
			check(&m, p, &q, d, yaml);
			policy_decision_free(d);
		}
		policy_unref(p);
		free(yaml);
	}
	print_message("%u decisions: %u allowed, %u need approval, %u denied\n", checked,
		      allowed, asked, denied);
	/* the generator must exercise every outcome, or the properties prove little */
	assert_true(allowed > checked / 50);
	assert_true(asked > checked / 200);
	assert_true(denied > checked / 4);
}

/* A rule policy_lint() reports never decides any request (lint soundness). */
static void test_rules_that_can_never_apply_never_decide(void **state)
{
	static const uint64_t ttls[] = { 0, 600 };
	unsigned reported = 0, rules = 0;

	(void)state;
	for (int n = 0; n < N_POLICIES; n++) {
		struct model m;
		struct policy *p = NULL;
		char *yaml, *report = NULL;
		bool dead[8] = { false };
		size_t n_dead = 0;

		make_model(&m);
		yaml = model_yaml(&m);
		p = testpol_load(yaml);
		assert_int_equal(policy_lint(p, &report, &n_dead), 0);
		for (const char *s = report; s && (s = strstr(s, ": rule \"r")); s++)
			dead[s[9] - '0'] = true;
		reported += (unsigned)n_dead;
		rules += m.n_rules;
		for (int k = 0; k < 4 * N_REQUESTS; k++) {
			unsigned u = pick(N_USERS);
			const char *login = req_logins[pick(ELEMENTSOF(req_logins))];
			struct policy_request req = {
				.user = user_names[u], .host = hosts[pick(ELEMENTSOF(hosts))].asked,
				.login = login ? login : user_names[u],
				.ttl_sec = ttls[pick(ELEMENTSOF(ttls))],
				.reason = reasons[pick(ELEMENTSOF(reasons))],
				.client_addr = chance(50) ? "10.1.2.3" : NULL,
				.now = 1577836800 + rng() % 315360000 };
			struct policy_decision *d = NULL;
			assert_int_equal(policy_eval(p, &req, &d), 0);
			if (d->rule && dead[d->rule[1] - '0'])
				fail_msg("rule %s decided, but the lint said:\n%s\n%s\n---\n%s",
					 d->rule, report, d->explanation, yaml);
			policy_decision_free(d);
		}
		free(report);
		policy_unref(p);
		free(yaml);
	}
	print_message("%u of %u rules reported as never applying\n", reported, rules);
	assert_true(reported > rules / 20); /* the generator makes such rules often enough */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_policies_agree_with_the_model),
		cmocka_unit_test(test_rules_that_can_never_apply_never_decide),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
