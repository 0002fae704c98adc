/* SPDX-License-Identifier: ISC */
/*
 * test_explain.c - decisions and open logins rendered as text and JSON, against the example
 * policy (policy/example.yaml, the one docs/policy.md annotates); and open logins agreeing
 * with policy_eval() on the large generated policy.
 */
#include <jansson.h>
#include <stdint.h>

#include "genpol.h"
#include "testpol.h"
#include "util.h"

#define T_TUE_1000_BERLIN UINT64_C(1709629200) /* 2024-03-05 09:00 UTC */
#define T_TUE_2100_BERLIN UINT64_C(1709668800) /* 2024-03-05 20:00 UTC */

static struct policy *example(void)
{
	const char *path = getenv("POLICY_EXAMPLE");
	struct policy *p = NULL;
	char *err = NULL;

	assert_non_null(path);
	if (policy_load_file(path, &p, &err) < 0)
		fail_msg("%s", err);
	return p;
}

static struct policy_decision *decide(struct policy *p, const struct policy_request *q)
{
	struct policy_decision *d = NULL;

	assert_int_equal(policy_eval(p, q, &d), 0);
	return d;
}

/* @j with "explanation" and "policy_version" taken out, as compact JSON with sorted keys. */
static char *dump_without_volatile(json_t *j)
{
	json_t *c = json_deep_copy(j);
	char *s;

	json_object_del(c, "explanation");
	json_object_del(c, "policy_version");
	s = json_dumps(c, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(c);
	return s;
}

static void test_an_allowed_decision_as_json_has_every_field(void **state)
{
	struct policy *p = example();
	struct policy_request q = {.user = "alice",
				   .host = "STAGING-3.example.com.",
				   .login = "deploy",
				   .now = T_TUE_1000_BERLIN};
	struct policy_decision *d = decide(p, &q);
	json_t *j = NULL;
	char *s;

	(void)state;
	assert_int_equal(policy_explain_json(&q, d, &j), 0);
	s = dump_without_volatile(j);
	assert_string_equal(s, "{\"approvals\":null,\"critical_options\":{},\"extensions\":["
			       "\"permit-port-forwarding\",\"permit-pty\"],\"host\":\"staging-3\","
			       "\"login\":\"deploy\",\"principals\":[\"jit:staging-3:deploy\"],"
			       "\"reason\":\"deploy@staging-3 allowed for 30m (rule "
			       "'staging-self-service')\",\"rule\":\"staging-self-service\","
			       "\"ttl_seconds\":1800,\"user\":\"alice\",\"verdict\":\"allowed\"}");
	assert_string_equal(json_string_value(json_object_get(j, "policy_version")),
			    policy_version(p));
	free(s);
	json_decref(j);
	policy_decision_free(d);
	policy_unref(p);
}

static void test_json_explanation_has_one_entry_per_line(void **state)
{
	struct policy *p = example();
	struct policy_request q = {.user = "carol",
				   .host = "prod-web-1",
				   .login = "carol",
				   .reason = "INC-1",
				   .now = T_TUE_2100_BERLIN};
	struct policy_decision *d = decide(p, &q);
	json_t *j = NULL, *lines;
	size_t n = 1;

	(void)state;
	for (const char *s = d->explanation; (s = strchr(s, '\n')); s++)
		n++;
	assert_int_equal(policy_explain_json(&q, d, &j), 0);
	lines = json_object_get(j, "explanation");
	assert_true(json_is_array(lines));
	assert_int_equal(json_array_size(lines), n);
	assert_string_equal(json_string_value(json_array_get(lines, 0)),
			    "request: user 'carol' as 'carol' on 'prod-web-1' (labels [prod, web], "
			    "groups [approvers, breakglass, engineers, sre])");
	assert_string_equal(json_string_value(json_array_get(lines, n - 1)),
			    "decision: needs approval by rule 'production-with-approval'");
	json_decref(j);
	policy_decision_free(d);
	policy_unref(p);
}

static void test_a_decision_needing_approval_as_json_names_the_quorum(void **state)
{
	struct policy *p = example();
	struct policy_request q = {.user = "carol",
				   .host = "prod-web-1",
				   .login = "carol",
				   .reason = "INC-1",
				   .ttl_sec = 7200,
				   .now = T_TUE_2100_BERLIN};
	struct policy_decision *d = decide(p, &q);
	json_t *j = NULL;
	char *s;

	(void)state;
	assert_int_equal(policy_explain_json(&q, d, &j), 0);
	s = dump_without_volatile(j);
	assert_string_equal(s,
			    "{\"approvals\":{\"count\":1,\"from\":[\"approvers\"]},"
			    "\"critical_options\":{},\"extensions\":[\"permit-pty\"],"
			    "\"host\":\"prod-web-1\",\"login\":\"carol\",\"principals\":["
			    "\"jit:prod-web-1:carol\"],\"reason\":\"carol@prod-web-1 for 1h "
			    "(asked for 2h; capped at the rule's maximum) needs 1 approval (rule "
			    "'production-with-approval')\",\"rule\":\"production-with-approval\","
			    "\"ttl_seconds\":3600,\"user\":\"carol\","
			    "\"verdict\":\"needs_approval\"}");
	free(s);
	json_decref(j);
	policy_decision_free(d);
	policy_unref(p);
}

static void test_critical_options_are_an_object_in_json(void **state)
{
	struct policy *p = example();
	struct policy_request q = {.user = "carol",
				   .host = "db-7",
				   .login = "root",
				   .reason = "INC-1",
				   .client_addr = "192.0.2.7",
				   .now = T_TUE_2100_BERLIN};
	struct policy_decision *d = decide(p, &q);
	json_t *j = NULL;
	char *s;

	(void)state;
	assert_int_equal(policy_explain_json(&q, d, &j), 0);
	s = json_dumps(json_object_get(j, "critical_options"), JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(s, "{\"source-address\":\"192.0.2.7\"}");
	free(s);
	json_decref(j);
	policy_decision_free(d);
	policy_unref(p);
}

static void test_a_denial_as_json_grants_nothing(void **state)
{
	struct policy *p = example();
	struct policy_request q = {.user = "frank",
				   .host = "prod-web-1",
				   .login = "frank",
				   .reason = "x",
				   .now = T_TUE_1000_BERLIN};
	struct policy_decision *d = decide(p, &q);
	json_t *j = NULL;
	char *s;

	(void)state;
	assert_int_equal(policy_explain_json(&q, d, &j), 0);
	s = dump_without_volatile(j);
	assert_string_equal(s, "{\"approvals\":null,\"critical_options\":{},\"extensions\":[],"
			       "\"host\":\"prod-web-1\",\"login\":\"frank\",\"principals\":[],"
			       "\"reason\":\"denied by rule 'contractors-never-in-production'\","
			       "\"rule\":\"contractors-never-in-production\",\"ttl_seconds\":0,"
			       "\"user\":\"frank\",\"verdict\":\"denied\"}");
	free(s);
	json_decref(j);
	policy_decision_free(d);
	policy_unref(p);
}

static void test_an_invalid_host_is_null_in_json(void **state)
{
	struct policy *p = example();
	struct policy_request q = {
		.user = "alice", .host = "bad host", .login = "alice", .now = T_TUE_1000_BERLIN};
	struct policy_decision *d = decide(p, &q);
	json_t *j = NULL;

	(void)state;
	assert_int_equal(policy_explain_json(&q, d, &j), 0);
	assert_true(json_is_null(json_object_get(j, "host")));
	assert_true(json_is_null(json_object_get(j, "rule")));
	assert_string_equal(json_string_value(json_object_get(j, "reason")), "invalid host name");
	json_decref(j);
	policy_decision_free(d);
	policy_unref(p);
}

static void test_names_that_are_not_text_are_escaped_or_null(void **state)
{
	struct policy *p = example();
	struct policy_request q = {.user = "al\xffice",
				   .host = "staging-1",
				   .login = "ro\x1b[2Jot",
				   .now = T_TUE_1000_BERLIN};
	struct policy_decision *d = decide(p, &q);
	json_t *j = NULL;
	char *text = NULL;

	(void)state;
	assert_int_equal(policy_explain_json(&q, d, &j), 0);
	assert_true(json_is_null(json_object_get(j, "user")));
	assert_string_equal(json_string_value(json_object_get(j, "login")), "ro\x1b[2Jot");
	assert_int_equal(policy_explain_text(&q, d, &text), 0);
	assert_non_null(strstr(text, "\nuser:             al\\xffice\n"));
	assert_non_null(strstr(text, "\nlogin:            ro\\x1b[2Jot\n"));
	free(text);
	json_decref(j);
	policy_decision_free(d);
	policy_unref(p);
}

static void test_an_allowed_decision_as_text(void **state)
{
	struct policy *p = example();
	struct policy_request q = {.user = "bob",
				   .host = "prod-db-2",
				   .login = "postgres",
				   .reason = "OPS-1234: vacuum",
				   .now = T_TUE_1000_BERLIN};
	struct policy_decision *d = decide(p, &q);
	char *text = NULL, *want = NULL;

	(void)state;
	assert_int_equal(policy_explain_text(&q, d, &text), 0);
	assert_true(asprintf(&want,
			     "verdict:          allowed\n"
			     "rule:             db-with-ticket\n"
			     "reason:           postgres@prod-db-2 allowed for 15m (rule "
			     "'db-with-ticket')\n"
			     "user:             bob\n"
			     "host:             prod-db-2\n"
			     "login:            postgres\n"
			     "principals:       jit:prod-db-2:postgres\n"
			     "ttl:              15m (900 seconds)\n"
			     "critical options: none\n"
			     "extensions:       permit-pty\n"
			     "policy version:   %s\n"
			     "explanation:\n"
			     "  request: user 'bob' as 'postgres' on 'prod-db-2' (labels [db, "
			     "prod], groups "
			     "[dba, engineers])\n"
			     "  skipped 3 of 6 rules: user 'bob' is not in their users or groups\n"
			     "  rule 'staging-self-service' (allow): does not apply: host "
			     "'prod-db-2' matches "
			     "none of its hosts or host_labels\n"
			     "  rule 'db-with-ticket' (allow): applies: allows\n"
			     "  rule 'production-with-approval' (allow): does not apply: login "
			     "'postgres' is "
			     "not one of its logins\n"
			     "  decision: allowed by rule 'db-with-ticket'\n",
			     policy_version(p)) > 0);
	assert_string_equal(text, want);
	free(want);
	free(text);
	policy_decision_free(d);
	policy_unref(p);
}

static void test_a_denial_as_text_has_no_grant_lines(void **state)
{
	struct policy *p = example();
	struct policy_request q = {.user = "bob",
				   .host = "prod-db-2",
				   .login = "postgres",
				   .reason = "fix it",
				   .now = T_TUE_1000_BERLIN};
	struct policy_decision *d = decide(p, &q);
	char *text = NULL;

	(void)state;
	assert_int_equal(policy_explain_text(&q, d, &text), 0);
	assert_non_null(strstr(text, "verdict:          denied\nrule:             none\n"
				     "reason:           rule 'db-with-ticket' matches, but the "
				     "reason does not match the pattern '^[A-Z]+-[0-9]+'\n"));
	assert_null(strstr(text, "principals:"));
	assert_null(strstr(text, "ttl:"));
	assert_null(strstr(text, "approvals:"));
	free(text);
	policy_decision_free(d);
	policy_unref(p);
}

/* ---- open logins -------------------------------------------------------------------- */

static char *open_text(struct policy *p, const char *user, const char *host, const char *client,
		       uint64_t now)
{
	struct policy_open_login *v = NULL;
	size_t n = 0;
	char *text = NULL;

	assert_int_equal(policy_open_logins(p, user, host, client, now, &v, &n), 0);
	assert_int_equal(policy_open_logins_text(v, n, &text), 0);
	free(v);
	return text;
}

static void test_open_logins_list_each_login_with_its_lifetimes(void **state)
{
	struct policy *p = example();
	char *text =
		open_text(p, "carol", "prod-web-1.example.com", "192.0.2.7", T_TUE_1000_BERLIN);

	(void)state;
	assert_string_equal(text, "carol  allowed for up to 1h (default 15m) (rule "
				  "'sre-production-office-hours')\n"
				  "root   allowed for up to 1h (default 15m) (rule "
				  "'sre-production-office-hours')\n");
	free(text);
	policy_unref(p);
}

static void test_open_logins_follow_time_windows_and_report_reasons(void **state)
{
	struct policy *p = example();
	char *text = open_text(p, "carol", "prod-web-1", "192.0.2.7", T_TUE_2100_BERLIN);

	(void)state;
	assert_string_equal(text,
			    "carol  needs approval for up to 1h (default 15m), 1 approval "
			    "from approvers, reason required (rule "
			    "'production-with-approval')\n"
			    "root   allowed for up to 30m (default 10m), reason required (rule "
			    "'break-glass')\n");
	free(text);
	/* without the client's address break glass cannot bind the certificate to it */
	text = open_text(p, "carol", "prod-web-1", NULL, T_TUE_2100_BERLIN);
	assert_non_null(strstr(text, "root   not open (no rule's conditions can hold)\n"));
	free(text);
	policy_unref(p);
}

static void test_open_logins_show_what_deny_rules_forbid(void **state)
{
	struct policy *p = example();
	char *text = open_text(p, "frank", "prod-web-1", NULL, T_TUE_1000_BERLIN);

	(void)state;
	assert_string_equal(text, "frank  denied (rule 'contractors-never-in-production')\n"
				  "*      denied (rule 'contractors-never-in-production')\n");
	free(text);
	policy_unref(p);
}

static void test_open_logins_as_json(void **state)
{
	struct policy *p = example();
	struct policy_open_login *v = NULL;
	size_t n = 0;
	json_t *j = NULL;
	char *s;

	(void)state;
	assert_int_equal(policy_open_logins(p, "bob", "prod-db-1", NULL, T_TUE_1000_BERLIN, &v, &n),
			 0);
	assert_int_equal(policy_open_logins_json(v, n, &j), 0);
	s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(s,
			    "[{\"approvals\":{\"count\":1,\"from\":[\"approvers\"]},"
			    "\"default_ttl_seconds\":900,\"force_command\":null,\"login\":\"bob\","
			    "\"max_ttl_seconds\":3600,\"reason\":{\"pattern\":null,\"required\":"
			    "true},\"rule\":\"production-with-approval\",\"verdict\":"
			    "\"needs_approval\"},"
			    "{\"approvals\":null,\"default_ttl_seconds\":900,\"force_command\":"
			    "null,\"login\":\"postgres\",\"max_ttl_seconds\":3600,\"reason\":{"
			    "\"pattern\":\"^[A-Z]+-[0-9]+\",\"required\":true},\"rule\":"
			    "\"db-with-ticket\",\"verdict\":\"allowed\"}]");
	free(s);
	json_decref(j);
	free(v);
	policy_unref(p);
}

static void test_unknown_and_disabled_users_have_no_open_logins(void **state)
{
	static const char *const users[] = {"erin", "nobody", "bad user", ""};
	struct policy *p = example();

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(users); i++) {
		struct policy_open_login *v = NULL;
		size_t n = 1;
		char *text = NULL;
		assert_int_equal(policy_open_logins(p, users[i], "staging-1", NULL,
						    T_TUE_1000_BERLIN, &v, &n),
				 0);
		assert_int_equal(n, 0);
		assert_int_equal(policy_open_logins_text(v, n, &text), 0);
		assert_string_equal(text, "no login is open\n");
		free(text);
		free(v);
	}
	policy_unref(p);
}

static void test_open_logins_refuse_an_invalid_host(void **state)
{
	struct policy *p = example();
	struct policy_open_login *v = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(policy_open_logins(p, "alice", "a,b", NULL, 0, &v, &n), JIT_E_NAME);
	assert_int_equal(policy_open_logins(p, "alice", NULL, NULL, 0, &v, &n), JIT_E_NAME);
	assert_null(v);
	policy_unref(p);
}

/* Each entry is what policy_eval() decides for that login (with a reason every pattern of
 * the policy accepts); a login with no entry and no "*" entry is denied. */
static void test_open_logins_agree_with_evaluation(void **state)
{
	static const char *const extra[] = {"deploy", "root", "postgres",
					    "app",    "lab",  "nobody-names-this"};
	char *yaml = genpol_yaml();
	struct policy *p = testpol_load(yaml);
	struct genpol_request *reqs = genpol_requests(2000);
	size_t open = 0;

	(void)state;
	for (size_t i = 0; i < 2000; i++) {
		const struct genpol_request *g = &reqs[i];
		struct policy_open_login *v = NULL;
		const struct policy_open_login *any = NULL;
		size_t n = 0;
		assert_int_equal(
			policy_open_logins(p, g->user, g->host, "10.9.9.9", g->now, &v, &n), 0);
		for (size_t k = 0; k < n; k++)
			if (!strcmp(v[k].login, "*"))
				any = &v[k];
		for (size_t k = 0; k < n + ELEMENTSOF(extra) + 1; k++) {
			const struct policy_open_login *o = k < n ? &v[k] : NULL;
			const char *login = o				? o->login
					    : k < n + ELEMENTSOF(extra) ? extra[k - n]
									: g->user;
			bool listed = false;
			for (size_t m = 0; m < n; m++)
				listed |= !strcmp(v[m].login, login);
			if (!strcmp(login, "*"))
				login = "nobody-names-this";
			else if (!o && listed)
				continue;
			if (!o)
				o = any;
			struct policy_request q = {.user = g->user,
						   .host = g->host,
						   .login = login,
						   .reason = "INC-1 checked",
						   .client_addr = "10.9.9.9",
						   .now = g->now};
			struct policy_decision *d = NULL;
			assert_int_equal(policy_eval(p, &q, &d), 0);
			enum policy_verdict want = o ? o->verdict : POLICY_DENY;
			if (d->verdict != want ||
			    (o && o->verdict != POLICY_DENY &&
			     (strcmp(d->rule, o->rule) || d->ttl_sec != o->default_ttl_sec)))
				fail_msg("%s as %s on %s: open logins say %s (%s), eval says %s "
					 "(%s)\n%s",
					 g->user, login, g->host, policy_verdict_name(want),
					 o && o->rule ? o->rule : "-",
					 policy_verdict_name(d->verdict), d->rule ? d->rule : "-",
					 d->explanation);
			open += d->verdict != POLICY_DENY;
			policy_decision_free(d);
		}
		free(v);
	}
	assert_true(open > 500); /* the requests reach open logins often enough */
	free(reqs);
	policy_unref(p);
	free(yaml);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_an_allowed_decision_as_json_has_every_field),
		cmocka_unit_test(test_json_explanation_has_one_entry_per_line),
		cmocka_unit_test(test_a_decision_needing_approval_as_json_names_the_quorum),
		cmocka_unit_test(test_critical_options_are_an_object_in_json),
		cmocka_unit_test(test_a_denial_as_json_grants_nothing),
		cmocka_unit_test(test_an_invalid_host_is_null_in_json),
		cmocka_unit_test(test_names_that_are_not_text_are_escaped_or_null),
		cmocka_unit_test(test_an_allowed_decision_as_text),
		cmocka_unit_test(test_a_denial_as_text_has_no_grant_lines),
		cmocka_unit_test(test_open_logins_list_each_login_with_its_lifetimes),
		cmocka_unit_test(test_open_logins_follow_time_windows_and_report_reasons),
		cmocka_unit_test(test_open_logins_show_what_deny_rules_forbid),
		cmocka_unit_test(test_open_logins_as_json),
		cmocka_unit_test(test_unknown_and_disabled_users_have_no_open_logins),
		cmocka_unit_test(test_open_logins_refuse_an_invalid_host),
		cmocka_unit_test(test_open_logins_agree_with_evaluation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
