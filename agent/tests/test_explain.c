/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "err.h"
#include "explain.h"
#include "response.h"

/* What the CA answers for carol asking about root on prod-1 (WAVE2 "Explain"). */
static const char denied_body[] =
	"{\"decision\":{\"verdict\":\"denied\",\"rule\":null,"
	"\"reason\":\"no rule allows user 'carol' to log in as 'root' on 'prod-1'\","
	"\"host\":\"prod-1\",\"login\":\"root\",\"principals\":[],\"ttl_seconds\":0,"
	"\"critical_options\":{},\"extensions\":[],\"approvals\":null,"
	"\"policy_version\":\"sha256:ab\",\"explanation\":["
	"\"request: user 'carol' as 'root' on 'prod-1'\","
	"\"rule 'ops' (allow): does not apply: login 'root' is not in its logins\","
	"\"decision: denied by default\"]},"
	"\"open\":[{\"login\":\"carol\",\"verdict\":\"allowed\",\"max_ttl_seconds\":3600,"
	"\"rule\":\"ops\"},{\"login\":\"deploy\",\"verdict\":\"needs_approval\","
	"\"max_ttl_seconds\":900,\"rule\":\"prod-approval\"}]}";

static const char approval_body[] =
	"{\"decision\":{\"verdict\":\"needs_approval\",\"rule\":\"prod-approval\","
	"\"reason\":\"deploy@prod-1 for 15m needs 2 approvals (rule 'prod-approval')\","
	"\"host\":\"prod-1\",\"login\":\"deploy\",\"ttl_seconds\":900,"
	"\"approvals\":{\"count\":2,\"from\":[\"leads\",\"sre\"]},"
	"\"explanation\":[\"decision: needs approval by rule 'prod-approval'\"]},"
	"\"open\":[{\"login\":\"deploy\",\"verdict\":\"needs_approval\","
	"\"max_ttl_seconds\":900,\"rule\":\"prod-approval\"}]}";

/* "open" as the CA sends it (policy_open_logins_json()), with conditions. */
static const char conditions_body[] =
	"{\"decision\":{\"verdict\":\"denied\",\"reason\":\"r\"},\"open\":["
	"{\"login\":\"deploy\",\"verdict\":\"needs_approval\",\"rule\":\"dep\","
	"\"default_ttl_seconds\":600,\"max_ttl_seconds\":900,"
	"\"approvals\":{\"count\":1,\"from\":[\"sre\"]},"
	"\"reason\":{\"required\":false,\"pattern\":null},\"force_command\":null},"
	"{\"login\":\"root\",\"verdict\":\"allowed\",\"rule\":\"bg\","
	"\"default_ttl_seconds\":300,\"max_ttl_seconds\":300,\"approvals\":null,"
	"\"reason\":{\"required\":true,\"pattern\":\"^INC-[0-9]+\"},"
	"\"force_command\":null},"
	"{\"login\":\"svc\",\"verdict\":\"allowed\",\"rule\":\"s\",\"max_ttl_seconds\":60,"
	"\"reason\":{\"required\":true,\"pattern\":null}},"
	"{\"login\":\"*\",\"verdict\":\"allowed\",\"rule\":\"any\",\"max_ttl_seconds\":3600,"
	"\"approvals\":null,\"reason\":{\"required\":false,\"pattern\":null}}]}";

static const char allowed_body[] =
	"{\"decision\":{\"verdict\":\"allowed\",\"rule\":\"ops\","
	"\"reason\":\"carol@prod-1 allowed for 1h (rule 'ops')\",\"host\":\"prod-1\","
	"\"login\":\"carol\",\"ttl_seconds\":3600,\"approvals\":null,\"explanation\":[]},"
	"\"open\":[]}";

static struct explain *parse_ok(const char *body)
{
	struct explain *e = NULL;

	assert_int_equal(explain_parse(body, strlen(body), &e), 0);
	assert_non_null(e);
	return e;
}

static char *render(const struct explain *e, const char *host, const char *login)
{
	char *text = NULL;

	assert_int_equal(explain_render(e, host, login, &text), 0);
	assert_non_null(text);
	return text;
}

static void test_denial_gives_reason_explanation_and_open_logins(void **state)
{
	struct explain *e = parse_ok(denied_body);
	(void)state;
	assert_int_equal(e->verdict, EXPLAIN_DENIED);
	assert_null(e->rule);
	assert_string_equal(e->reason,
			    "no rule allows user 'carol' to log in as 'root' on 'prod-1'");
	assert_string_equal(e->host, "prod-1");
	assert_string_equal(e->policy_version, "sha256:ab");
	assert_int_equal(e->n_lines, 3);
	assert_string_equal(e->lines[2], "decision: denied by default");
	assert_int_equal(e->n_open, 2);
	assert_string_equal(e->open[0].login, "carol");
	assert_int_equal(e->open[0].verdict, EXPLAIN_ALLOWED);
	assert_int_equal(e->open[0].max_ttl_sec, 3600);
	assert_string_equal(e->open[0].rule, "ops");
	assert_string_equal(e->open[1].login, "deploy");
	assert_int_equal(e->open[1].verdict, EXPLAIN_NEEDS_APPROVAL);
	assert_int_equal(e->open[1].max_ttl_sec, 900);
	explain_free(e);
}

static void test_denial_is_rendered_for_a_person(void **state)
{
	struct explain *e = parse_ok(denied_body);
	char *text = render(e, "prod-1", "root");
	(void)state;
	assert_string_equal(
		text, "root@prod-1: denied\n"
		      "  reason:    no rule allows user 'carol' to log in as 'root' on 'prod-1'\n"
		      "\n"
		      "explanation:\n"
		      "  request: user 'carol' as 'root' on 'prod-1'\n"
		      "  rule 'ops' (allow): does not apply: login 'root' is not in its logins\n"
		      "  decision: denied by default\n"
		      "\n"
		      "open to you on prod-1:\n"
		      "  carol   allowed         max 1h   rule 'ops'\n"
		      "  deploy  needs approval  max 15m  rule 'prod-approval'\n");
	free(text);
	explain_free(e);
}

static void test_needing_approval_is_rendered_with_quorum_and_groups(void **state)
{
	struct explain *e = parse_ok(approval_body);
	char *text = render(e, "prod-1", "deploy");
	(void)state;
	assert_int_equal(e->verdict, EXPLAIN_NEEDS_APPROVAL);
	assert_int_equal(e->approvals, 2);
	assert_int_equal(e->n_groups, 2);
	assert_string_equal(
		text,
		"deploy@prod-1: needs approval\n"
		"  reason:    deploy@prod-1 for 15m needs 2 approvals (rule 'prod-approval')\n"
		"  rule:      prod-approval\n"
		"  lifetime:  15m\n"
		"  needs:     2 approvals from [leads, sre]\n"
		"\n"
		"explanation:\n"
		"  decision: needs approval by rule 'prod-approval'\n"
		"\n"
		"open to you on prod-1:\n"
		"  deploy  needs approval  max 15m  rule 'prod-approval'\n");
	free(text);
	explain_free(e);
}

static void test_open_logins_show_their_conditions(void **state)
{
	struct explain *e = parse_ok(conditions_body);
	char *text = render(e, "h1", "x");
	(void)state;
	assert_int_equal(e->n_open, 4);
	assert_int_equal(e->open[0].approvals, 1);
	assert_false(e->open[0].reason_required);
	assert_true(e->open[1].reason_required);
	assert_string_equal(e->open[1].reason_pattern, "^INC-[0-9]+");
	assert_string_equal(e->open[3].login, "*");
	assert_string_equal(
		strstr(text, "open to you"),
		"open to you on h1:\n"
		"  deploy  needs approval  max 15m  rule 'dep' (1 approval from [sre])\n"
		"  root    allowed         max 5m   rule 'bg' (reason required, matching "
		"'^INC-[0-9]+')\n"
		"  svc     allowed         max 1m   rule 's' (reason required)\n"
		"  *       allowed         max 1h   rule 'any'\n");
	free(text);
	explain_free(e);
}

/* A "*" rule next to a deny rule (policy.md, "a `*` entry never hides them"). */
static void test_logins_a_deny_rule_forbids_are_listed_apart_from_a_star(void **state)
{
	static const char body[] =
		"{\"decision\":{\"verdict\":\"allowed\",\"rule\":\"bg\"},"
		"\"open\":[{\"login\":\"*\",\"verdict\":\"allowed\",\"rule\":\"bg\","
		"\"max_ttl_seconds\":900}],"
		"\"denied\":[{\"login\":\"root\",\"verdict\":\"denied\",\"rule\":\"no-root\"},"
		"{\"login\":\"postgres\",\"verdict\":\"denied\",\"rule\":null}],"
		"\"denied_more\":3}";
	struct explain *e = parse_ok(body);
	char *text = render(e, "h1", "admin");
	(void)state;
	assert_int_equal(e->n_open, 1);
	assert_int_equal(e->n_denied, 2);
	assert_int_equal(e->denied[0].verdict, EXPLAIN_DENIED);
	assert_int_equal(e->denied_more, 3);
	assert_string_equal(strstr(text, "open to you"),
			    "open to you on h1:\n"
			    "  *  allowed         max 15m  rule 'bg'\n"
			    "\n"
			    "not open to you on h1:\n"
			    "  root      denied by rule 'no-root' (deny rules win over any allow)\n"
			    "  postgres  not open (no rule's conditions can hold)\n"
			    "  (and 3 more)\n");
	free(text);
	explain_free(e);
}

static void test_allowed_with_nothing_else_open_says_so(void **state)
{
	struct explain *e = parse_ok(allowed_body);
	char *text = render(e, "prod-1.example.com", "carol");
	(void)state;
	assert_int_equal(e->verdict, EXPLAIN_ALLOWED);
	assert_int_equal(e->ttl_sec, 3600);
	/* The CA's normalised host is the one shown. */
	assert_string_equal(text, "carol@prod-1: allowed\n"
				  "  reason:    carol@prod-1 allowed for 1h (rule 'ops')\n"
				  "  rule:      ops\n"
				  "  lifetime:  1h\n"
				  "\n"
				  "open to you on prod-1:\n"
				  "  (nothing)\n");
	free(text);
	explain_free(e);
}

static void test_optional_fields_may_be_absent(void **state)
{
	static const char body[] =
		"{\"decision\":{\"verdict\":\"needs_approval\"},\"open\":[{\"login\":\"a\","
		"\"verdict\":\"allowed\"}]}";
	struct explain *e = parse_ok(body);
	char *text = render(e, "h1", "a");
	(void)state;
	assert_null(e->reason);
	assert_null(e->host);
	assert_int_equal(e->n_lines, 0);
	assert_int_equal(e->open[0].max_ttl_sec, 0);
	assert_null(e->open[0].rule);
	assert_string_equal(text, "a@h1: needs approval\n"
				  "\n"
				  "open to you on h1:\n"
				  "  a  allowed\n");
	free(text);
	explain_free(e);
}

static void test_durations_are_written_for_people(void **state)
{
	static const struct {
		uint64_t sec;
		const char *text;
	} cases[] = {
		{0, "0s"},	{45, "45s"},
		{60, "1m"},	{900, "15m"},
		{3600, "1h"},	{5400, "1h30m"},
		{125, "2m5s"},	{3601, "1h1s"},
		{86400, "24h"}, {UINT64_MAX, "5124095576030431h15s"},
	};
	char buf[32];
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		assert_string_equal(explain_duration(cases[i].sec, buf, sizeof buf), cases[i].text);
	/* A buffer too small is cut, never overrun. */
	assert_string_equal(explain_duration(5400, buf, 3), "1h");
}

static void test_malformed_answers_are_refused(void **state)
{
	static const char *const bodies[] = {
		"",
		"{",
		"null",
		"[]",
		"{\"open\":[]}",
		"{\"decision\":{},\"open\":[]}",
		"{\"decision\":{\"verdict\":\"allowed\"}}",
		"{\"decision\":{\"verdict\":\"maybe\"},\"open\":[]}",
		"{\"decision\":{\"verdict\":1},\"open\":[]}",
		"{\"decision\":[],\"open\":[]}",
		"{\"decision\":{\"verdict\":\"allowed\"},\"open\":{}}",
		"{\"decision\":{\"verdict\":\"allowed\",\"reason\":5},\"open\":[]}",
		"{\"decision\":{\"verdict\":\"allowed\",\"rule\":[]},\"open\":[]}",
		"{\"decision\":{\"verdict\":\"allowed\",\"ttl_seconds\":-1},\"open\":[]}",
		"{\"decision\":{\"verdict\":\"allowed\",\"ttl_seconds\":\"1h\"},\"open\":[]}",
		"{\"decision\":{\"verdict\":\"allowed\",\"ttl_seconds\":1.5},\"open\":[]}",
		"{\"decision\":{\"verdict\":\"allowed\",\"explanation\":\"one\"},\"open\":[]}",
		"{\"decision\":{\"verdict\":\"allowed\",\"explanation\":[1]},\"open\":[]}",
		"{\"decision\":{\"verdict\":\"needs_approval\",\"approvals\":2},\"open\":[]}",
		"{\"decision\":{\"verdict\":\"needs_approval\",\"approvals\":{\"count\":-2}},"
		"\"open\":[]}",
		"{\"decision\":{\"verdict\":\"needs_approval\",\"approvals\":{\"count\":99999}},"
		"\"open\":[]}",
		"{\"decision\":{\"verdict\":\"needs_approval\",\"approvals\":{\"from\":\"sre\"}},"
		"\"open\":[]}",
		"{\"decision\":{\"verdict\":\"allowed\"},\"open\":[1]}",
		"{\"decision\":{\"verdict\":\"allowed\"},\"open\":[{\"verdict\":\"allowed\"}]}",
		"{\"decision\":{\"verdict\":\"allowed\"},\"open\":[{\"login\":\"a\"}]}",
		"{\"decision\":{\"verdict\":\"allowed\"},\"open\":[{\"login\":\"a\","
		"\"verdict\":\"denied\"}]}",
		"{\"decision\":{\"verdict\":\"allowed\"},\"open\":[{\"login\":\"../a\","
		"\"verdict\":\"allowed\"}]}",
		"{\"decision\":{\"verdict\":\"allowed\"},\"open\":[{\"login\":\"a\\u0000b\","
		"\"verdict\":\"allowed\"}]}",
		"{\"decision\":{\"verdict\":\"allowed\"},\"open\":[{\"login\":\"a\","
		"\"verdict\":\"allowed\",\"max_ttl_seconds\":-5}]}",
		"{\"decision\":{\"verdict\":\"allowed\"},\"open\":[{\"login\":\"a\","
		"\"verdict\":\"allowed\",\"rule\":7}]}",
		"{\"decision\":{\"verdict\":\"allowed\"},\"open\":[{\"login\":\"**\","
		"\"verdict\":\"allowed\"}]}",
		"{\"decision\":{\"verdict\":\"allowed\"},\"open\":[{\"login\":\"a\","
		"\"verdict\":\"allowed\",\"approvals\":{\"count\":\"1\"}}]}",
		"{\"decision\":{\"verdict\":\"allowed\"},\"open\":[{\"login\":\"a\","
		"\"verdict\":\"allowed\",\"reason\":true}]}",
		"{\"decision\":{\"verdict\":\"allowed\"},\"open\":[{\"login\":\"a\","
		"\"verdict\":\"allowed\",\"reason\":{\"required\":\"yes\"}}]}",
		"{\"decision\":{\"verdict\":\"allowed\"},\"open\":[{\"login\":\"a\","
		"\"verdict\":\"allowed\",\"reason\":{\"pattern\":1}}]}",
		"{\"decision\":{\"verdict\":\"allowed\"},\"open\":[],\"open\":[]}",
		"{\"decision\":{\"verdict\":\"allowed\"},\"open\":[],\"denied\":[{\"login\":\"a\","
		"\"verdict\":\"allowed\"}]}",
		"{\"decision\":{\"verdict\":\"allowed\"},\"open\":[],\"denied\":{}}",
		"{\"decision\":{\"verdict\":\"allowed\"},\"open\":[],\"denied\":["
		"{\"login\":\"a b\","
		"\"verdict\":\"denied\"}]}",
		"{\"decision\":{\"verdict\":\"allowed\"},\"open\":[]} trailing",
	};
	(void)state;
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		struct explain *e = NULL;
		int r = explain_parse(bodies[i], strlen(bodies[i]), &e);
		if (r != JIT_E_FORMAT)
			fail_msg("body %zu (%s) gave %d", i, bodies[i], r);
		assert_null(e);
	}
}

static void test_answer_cut_at_every_length_is_refused(void **state)
{
	size_t n = strlen(denied_body);
	(void)state;
	for (size_t i = 0; i < n; i++) {
		struct explain *e = NULL;
		assert_int_not_equal(explain_parse(denied_body, i, &e), 0);
		assert_null(e);
	}
}

static void test_control_characters_from_the_ca_are_neutralised(void **state)
{
	static const char body[] =
		"{\"decision\":{\"verdict\":\"denied\",\"reason\":\"x\\u001b[2Jy\","
		"\"explanation\":[\"a\\nb\",\"c\\u0001d\"],\"host\":\"h\\r\"},"
		"\"open\":[{\"login\":\"a\",\"verdict\":\"allowed\",\"rule\":\"r\\u0007\"}]}";
	struct explain *e = parse_ok(body);
	char *text = render(e, "h", "a");
	(void)state;
	assert_string_equal(e->reason, "x?[2Jy");
	assert_string_equal(e->lines[0], "a?b");
	assert_string_equal(e->lines[1], "c?d"); /* U+0001 */
	assert_string_equal(e->host, "h?");
	assert_string_equal(e->open[0].rule, "r?");
	for (const char *p = text; *p; p++)
		assert_true(*p == '\n' || (unsigned char)*p >= 0x20);
	free(text);
	explain_free(e);
}

/* An answer with @n explanation lines and @n open logins. */
static char *body_with(size_t lines, size_t open)
{
	json_t *expl = json_array(), *op = json_array(), *o;
	char *s, login[32];

	for (size_t i = 0; i < lines; i++)
		json_array_append_new(expl, json_string("rule 'x' (allow): does not apply"));
	for (size_t i = 0; i < open; i++) {
		snprintf(login, sizeof login, "l%zu", i);
		json_array_append_new(
			op, json_pack("{s:s, s:s}", "login", login, "verdict", "allowed"));
	}
	o = json_pack("{s:{s:s, s:o}, s:o}", "decision", "verdict", "denied", "explanation", expl,
		      "open", op);
	assert_non_null(o);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static void test_lists_over_their_limit_are_refused(void **state)
{
	struct explain *e = NULL;
	char *body;
	(void)state;
	body = body_with(EXPLAIN_LINES_MAX, 0);
	assert_true(strlen(body) <= RESPONSE_BODY_MAX);
	assert_int_equal(explain_parse(body, strlen(body), &e), 0);
	e = explain_free(e);
	free(body);
	body = body_with(EXPLAIN_LINES_MAX + 1, 0);
	assert_int_equal(explain_parse(body, strlen(body), &e), JIT_E_TOO_LARGE);
	free(body);
	body = body_with(0, EXPLAIN_OPEN_MAX + 1);
	assert_int_equal(explain_parse(body, strlen(body), &e), JIT_E_TOO_LARGE);
	free(body);
	assert_null(e);
}

static void test_body_over_the_limit_is_refused(void **state)
{
	char *big = malloc(RESPONSE_BODY_MAX + 1);
	struct explain *e = NULL;
	(void)state;
	memset(big, ' ', RESPONSE_BODY_MAX + 1);
	assert_int_equal(explain_parse(big, RESPONSE_BODY_MAX + 1, &e), JIT_E_TOO_LARGE);
	assert_null(e);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_denial_gives_reason_explanation_and_open_logins),
		cmocka_unit_test(test_denial_is_rendered_for_a_person),
		cmocka_unit_test(test_needing_approval_is_rendered_with_quorum_and_groups),
		cmocka_unit_test(test_open_logins_show_their_conditions),
		cmocka_unit_test(test_allowed_with_nothing_else_open_says_so),
		cmocka_unit_test(test_optional_fields_may_be_absent),
		cmocka_unit_test(test_durations_are_written_for_people),
		cmocka_unit_test(test_logins_a_deny_rule_forbids_are_listed_apart_from_a_star),
		cmocka_unit_test(test_malformed_answers_are_refused),
		cmocka_unit_test(test_answer_cut_at_every_length_is_refused),
		cmocka_unit_test(test_control_characters_from_the_ca_are_neutralised),
		cmocka_unit_test(test_lists_over_their_limit_are_refused),
		cmocka_unit_test(test_body_over_the_limit_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
