/* SPDX-License-Identifier: ISC */
/*
 * test_lint.c - policy_lint(): which rules can never apply, and the exact lines
 * `policy check` prints for them. Rules that can still apply must not be reported.
 */
#include <stdint.h>

#include "genpol.h"
#include "testpol.h"
#include "util.h"

/* Users, groups and hosts every case below shares; the rules follow it. */
#define BASE                                                                                       \
	"users:\n"                                                                                 \
	"  alice: [" KEY1 "]\n"                                                                    \
	"  bob: [" KEY2 "]\n"                                                                      \
	"  carol: [" KEY3 "]\n"                                                                    \
	"  mail@corp: [" KEY4 "]\n"                                                                \
	"  erin: {disabled: true, keys: [" KEY5 "]}\n"                                             \
	"groups:\n"                                                                                \
	"  dev: [alice, bob]\n"                                                                    \
	"  ops: {users: [carol], groups: [dev]}\n"                                                 \
	"  gone: [erin]\n"                                                                         \
	"  mail: [mail@corp]\n"                                                                    \
	"  leads: [alice, bob]\n"                                                                  \
	"hosts:\n"                                                                                 \
	"  prod-web-*: [prod, web]\n"                                                              \
	"  prod-db-[0-9]: [prod, db]\n"                                                            \
	"  stage-*: [stage]\n"                                                                     \
	"rules:\n"

/* The lint report for BASE + @rules (new, or NULL when there is nothing to report). */
static char *lint(const char *rules, size_t *ret_n)
{
	char *yaml = NULL, *report = NULL;
	struct policy *p;

	assert_true(asprintf(&yaml, "%s%s", BASE, rules) > 0);
	p = testpol_load(yaml);
	assert_int_equal(policy_lint(p, &report, ret_n), 0);
	assert_true((report != NULL) == (*ret_n > 0));
	policy_unref(p);
	free(yaml);
	return report;
}

/* Exactly one finding, about rule @name, whose text contains @why. */
static void expect_one(const char *rules, const char *name, const char *why)
{
	size_t n = 0;
	char *report = lint(rules, &n), needle[128];

	if (n != 1)
		fail_msg("%zu findings, expected 1: %s", n, report ? report : "(none)");
	snprintf(needle, sizeof needle, "rule \"%s\" can never apply: ", name);
	if (!strstr(report, needle) || !strstr(report, why))
		fail_msg("report '%s' lacks '%s' ... '%s'", report, needle, why);
	free(report);
}

static void expect_none(const char *rules)
{
	size_t n = 0;
	char *report = lint(rules, &n);

	if (n != 0)
		fail_msg("expected no findings, got: %s", report);
}

static void test_a_finding_is_file_line_column_and_the_rule(void **state)
{
	size_t n = 0;
	char *report = lint("  - {name: ok, groups: [dev], hosts: ['*'], logins: [app]}\n"
			    "  - name: empty\n"
			    "    users: []\n"
			    "    hosts: ['*']\n"
			    "    logins: [app]\n",
			    &n);

	(void)state;
	assert_int_equal(n, 1);
	assert_string_equal(report, "t.yaml:19:5: rule \"empty\" can never apply: no enabled "
				    "user is in its users or groups");
	free(report);
}

static void test_a_rule_for_disabled_users_only_can_never_apply(void **state)
{
	(void)state;
	expect_one("  - {name: r, groups: [gone], hosts: ['*'], logins: [app]}\n", "r",
		   "no enabled user is in its users or groups");
	expect_one("  - {name: r, users: [erin], hosts: ['*'], logins: [app]}\n", "r",
		   "no enabled user is in its users or groups");
}

static void test_own_login_for_users_whose_names_are_not_logins_can_never_apply(void **state)
{
	(void)state;
	expect_one("  - {name: r, groups: [mail], hosts: ['*'], logins: ['${user}']}\n", "r",
		   "its only login is ${user}, and no enabled user");
	expect_none("  - {name: r, groups: [mail], hosts: ['*'], logins: ['${user}', app]}\n");
}

static void test_empty_logins_hosts_or_windows_can_never_apply(void **state)
{
	(void)state;
	expect_one("  - {name: r, groups: [dev], hosts: ['*'], logins: []}\n", "r",
		   "its logins are empty");
	expect_one("  - {name: r, groups: [dev], hosts: [], logins: [app]}\n", "r",
		   "its hosts and host_labels are empty");
	expect_one("  - {name: r, groups: [dev], hosts: ['[!a-z0-9.-]'], logins: [app]}\n", "r",
		   "no host name matches its hosts");
	expect_one("  - {name: r, groups: [dev], hosts: ['*'], logins: [app], when: []}\n", "r",
		   "its time windows are never open");
	expect_one("  - {name: r, groups: [dev], hosts: ['*'], logins: [app], "
		   "when: {days: []}}\n",
		   "r", "its time windows are never open");
}

static void test_a_quorum_only_approvers_could_request_can_never_apply(void **state)
{
	(void)state;
	/* alice and bob are the only leads: each asking leaves one, and two are needed */
	expect_one("  - {name: r, groups: [leads], hosts: ['*'], logins: [app], "
		   "approvals: {count: 2, from: [leads]}}\n",
		   "r", "it needs 2 approvals");
	/* carol is not a lead: both remain for her */
	expect_none("  - {name: r, groups: [ops], hosts: ['*'], logins: [app], "
		    "approvals: {count: 2, from: [leads]}}\n");
}

static void test_an_allow_rule_inside_a_deny_rule_can_never_apply(void **state)
{
	(void)state;
	expect_one("  - {name: a, groups: [dev], host_labels: [db], logins: [postgres]}\n"
		   "  - {name: d, effect: deny, users: ['*'], host_labels: [prod], "
		   "logins: ['*']}\n",
		   "a", "every request it matches is denied by deny rule \"d\" (line 19)");
}

static void test_an_allow_rule_partly_outside_a_deny_rule_can_apply(void **state)
{
	(void)state;
	expect_none("  - {name: a, groups: [dev], hosts: ['prod-*'], logins: [postgres]}\n"
		    "  - {name: d, effect: deny, users: ['*'], host_labels: [web], "
		    "logins: ['*']}\n");
	expect_none("  - {name: a, groups: [ops], host_labels: [db], logins: [postgres]}\n"
		    "  - {name: d, effect: deny, groups: [dev], host_labels: [prod], "
		    "logins: ['*']}\n");
}

static void test_a_deny_rule_inside_an_earlier_deny_rule_can_never_apply(void **state)
{
	(void)state;
	expect_one("  - {name: d1, effect: deny, groups: [ops], hosts: ['prod-*'], "
		   "logins: ['*']}\n"
		   "  - {name: d2, effect: deny, users: [alice], hosts: [prod-web-1], "
		   "logins: [root]}\n",
		   "d2", "is already denied by the earlier deny rule \"d1\"");
}

static void test_an_allow_rule_inside_an_earlier_allow_rule_can_never_apply(void **state)
{
	(void)state;
	/* dev is a subgroup of ops; prod-web-* lies within prod-*; ${user} in both */
	expect_one("  - {name: wide, groups: [ops], hosts: ['prod-*'], logins: ['${user}', "
		   "root]}\n"
		   "  - {name: narrow, groups: [dev], hosts: ['prod-web-*'], logins: "
		   "['${user}'], max_ttl: 30m}\n",
		   "narrow", "is allowed first by the earlier rule \"wide\"");
	/* the hosts of label web all lie within prod-* */
	expect_one("  - {name: wide, groups: [ops], hosts: ['prod-*'], logins: ['*']}\n"
		   "  - {name: narrow, users: [bob], host_labels: [web], logins: [app]}\n",
		   "narrow", "is allowed first by the earlier rule \"wide\"");
}

static void test_a_wider_rule_after_a_narrower_one_shadows_nothing(void **state)
{
	(void)state;
	expect_none("  - {name: narrow, groups: [dev], hosts: ['prod-web-*'], logins: [app]}\n"
		    "  - {name: wide, groups: [ops], hosts: ['prod-*'], logins: [app]}\n");
}

static void test_an_earlier_rule_with_stricter_conditions_shadows_nothing(void **state)
{
	(void)state;
	expect_none("  - {name: strict, groups: [ops], hosts: ['*'], logins: [app], "
		    "reason: required}\n"
		    "  - {name: loose, groups: [dev], hosts: ['*'], logins: [app]}\n");
	expect_none("  - {name: strict, groups: [ops], hosts: ['*'], logins: [app], "
		    "reason: {pattern: '^INC-'}}\n"
		    "  - {name: loose, groups: [dev], hosts: ['*'], logins: [app], "
		    "reason: {pattern: '^CHG-'}}\n");
	expect_none("  - {name: strict, groups: [ops], hosts: ['*'], logins: [app], "
		    "source_address: [client]}\n"
		    "  - {name: loose, groups: [dev], hosts: ['*'], logins: [app]}\n");
	/* the same pattern, and a reason required by the later rule as well: shadowed */
	expect_one("  - {name: strict, groups: [ops], hosts: ['*'], logins: [app], "
		   "reason: {pattern: '^INC-'}}\n"
		   "  - {name: loose, groups: [dev], hosts: ['*'], logins: [app], "
		   "reason: {pattern: '^INC-'}, source_address: [client]}\n",
		   "loose", "is allowed first by the earlier rule \"strict\"");
}

static void test_an_approval_rule_inside_a_rule_without_approval_can_never_apply(void **state)
{
	(void)state;
	/* no-approval rules come first, wherever they are in the file */
	expect_one("  - {name: ask, groups: [dev], hosts: ['stage-*'], logins: [app], "
		   "reason: required, approvals: {count: 1, from: [ops]}}\n"
		   "  - {name: self, groups: [ops], host_labels: [stage], logins: [app]}\n",
		   "ask", "is allowed without approval by rule \"self\" (line 19)");
	/* but a rule needing approval never shadows one that needs none */
	expect_none("  - {name: ask, groups: [ops], hosts: ['*'], logins: [app], "
		    "approvals: {count: 1, from: [ops]}}\n"
		    "  - {name: self, groups: [dev], host_labels: [stage], logins: [app]}\n");
}

static void test_time_windows_are_compared_minute_by_minute_in_one_zone(void **state)
{
	(void)state;
	expect_one("  - {name: office, groups: [ops], hosts: ['*'], logins: [app], "
		   "when: {days: [mon-fri], hours: '08:00-19:00', timezone: Europe/Berlin}}\n"
		   "  - {name: core, groups: [dev], hosts: ['*'], logins: [app], "
		   "when: [{days: [tue], hours: '09:00-17:00', timezone: Europe/Berlin}, "
		   "{days: [wed-thu], hours: '18:00-19:00', timezone: Europe/Berlin}]}\n",
		   "core", "is allowed first by the earlier rule \"office\"");
	/* across midnight: Friday 22:00 to Saturday 06:00 is within Fri+Sat all day */
	expect_one("  - {name: weekend, groups: [ops], hosts: ['*'], logins: [app], "
		   "when: {days: [fri-sat]}}\n"
		   "  - {name: night, groups: [dev], hosts: ['*'], logins: [app], "
		   "when: {days: [fri], hours: '22:00-06:00'}}\n",
		   "night", "earlier rule \"weekend\"");
	/* a minute outside, or another zone: not shadowed */
	expect_none("  - {name: office, groups: [ops], hosts: ['*'], logins: [app], "
		    "when: {days: [mon-fri], hours: '08:00-19:00', timezone: Europe/Berlin}}\n"
		    "  - {name: late, groups: [dev], hosts: ['*'], logins: [app], "
		    "when: {days: [mon], hours: '18:00-19:01', timezone: Europe/Berlin}}\n");
	expect_none("  - {name: office, groups: [ops], hosts: ['*'], logins: [app], "
		    "when: {days: [mon-fri], hours: '08:00-19:00', timezone: Europe/Berlin}}\n"
		    "  - {name: ny, groups: [dev], hosts: ['*'], logins: [app], "
		    "when: {days: [tue], hours: '09:00-10:00', timezone: America/New_York}}\n");
	/* a rule without windows is always open: one with windows never covers it */
	expect_none("  - {name: office, groups: [ops], hosts: ['*'], logins: [app], "
		    "when: {days: [mon-sun]}}\n"
		    "  - {name: always, groups: [dev], hosts: ['*'], logins: [app]}\n");
}

static void test_logins_are_compared_literally(void **state)
{
	(void)state;
	expect_none("  - {name: a, groups: [ops], hosts: ['*'], logins: ['${user}']}\n"
		    "  - {name: b, users: [alice], hosts: ['*'], logins: [alice, root]}\n");
	expect_one("  - {name: a, groups: [ops], hosts: ['*'], logins: ['*']}\n"
		   "  - {name: b, users: [alice], hosts: ['*'], logins: ['${user}', root]}\n",
		   "b", "earlier rule \"a\"");
}

static void test_more_findings_than_the_limit_are_counted(void **state)
{
	char *rules = NULL, *report;
	size_t len = 0, n = 0, lines = 1;
	FILE *f = open_memstream(&rules, &len);

	(void)state;
	for (int i = 0; i < POLICY_ERRORS_MAX + 3; i++)
		fprintf(f, "  - {name: r%d, users: [], hosts: ['*'], logins: [app]}\n", i);
	fclose(f);
	report = lint(rules, &n);
	assert_int_equal(n, POLICY_ERRORS_MAX + 3);
	for (const char *s = report; (s = strchr(s, '\n')); s++)
		lines++;
	assert_int_equal(lines, POLICY_ERRORS_MAX + 1);
	assert_non_null(strstr(report, "\nt.yaml: 3 more rules that can never apply not shown"));
	free(report);
	free(rules);
}

static void test_the_example_policy_has_no_rule_that_can_never_apply(void **state)
{
	const char *path = getenv("POLICY_EXAMPLE");
	struct policy *p = NULL;
	char *report = NULL;
	size_t n = 1;

	(void)state;
	assert_non_null(path);
	assert_int_equal(policy_load_file(path, &p, NULL), 0);
	assert_int_equal(policy_lint(p, &report, &n), 0);
	assert_int_equal(n, 0);
	assert_null(report);
	policy_unref(p);
}

static void test_the_generated_large_policy_has_no_rule_that_can_never_apply(void **state)
{
	char *yaml = genpol_yaml(), *report = NULL;
	struct policy *p = testpol_load(yaml);
	size_t n = 1;

	(void)state;
	assert_int_equal(policy_lint(p, &report, &n), 0);
	if (n)
		fail_msg("%s", report);
	policy_unref(p);
	free(yaml);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_finding_is_file_line_column_and_the_rule),
		cmocka_unit_test(test_a_rule_for_disabled_users_only_can_never_apply),
		cmocka_unit_test(
			test_own_login_for_users_whose_names_are_not_logins_can_never_apply),
		cmocka_unit_test(test_empty_logins_hosts_or_windows_can_never_apply),
		cmocka_unit_test(test_a_quorum_only_approvers_could_request_can_never_apply),
		cmocka_unit_test(test_an_allow_rule_inside_a_deny_rule_can_never_apply),
		cmocka_unit_test(test_an_allow_rule_partly_outside_a_deny_rule_can_apply),
		cmocka_unit_test(test_a_deny_rule_inside_an_earlier_deny_rule_can_never_apply),
		cmocka_unit_test(test_an_allow_rule_inside_an_earlier_allow_rule_can_never_apply),
		cmocka_unit_test(test_a_wider_rule_after_a_narrower_one_shadows_nothing),
		cmocka_unit_test(test_an_earlier_rule_with_stricter_conditions_shadows_nothing),
		cmocka_unit_test(
			test_an_approval_rule_inside_a_rule_without_approval_can_never_apply),
		cmocka_unit_test(test_time_windows_are_compared_minute_by_minute_in_one_zone),
		cmocka_unit_test(test_logins_are_compared_literally),
		cmocka_unit_test(test_more_findings_than_the_limit_are_counted),
		cmocka_unit_test(test_the_example_policy_has_no_rule_that_can_never_apply),
		cmocka_unit_test(test_the_generated_large_policy_has_no_rule_that_can_never_apply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
