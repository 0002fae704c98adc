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

#include "b64.h"
#include "cert.h"
#include "err.h"
#include "key.h"
#include "response.h"

#define NOW 1700000000u
#define REQ_ID "0123456789abcdef0123456789abcdef"

struct fixture {
	struct key *ca;
	struct key *fresh; /* the key the client sent */
	struct key *other; /* some other key */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	if (!f || key_generate(KEY_ED25519, 0, &f->ca) < 0 ||
	    key_generate(KEY_ED25519, 0, &f->fresh) < 0 ||
	    key_generate(KEY_ED25519, 0, &f->other) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	key_free(f->ca);
	key_free(f->fresh);
	key_free(f->other);
	free(f);
	return 0;
}

/* A certificate line for @subject with one principal, signed by the fixture's CA. */
static char *cert_line(const struct fixture *f, const struct key *subject, const char *principal,
		       uint64_t now, uint64_t lifetime)
{
	struct key *pub = NULL;
	struct cert *c = NULL;
	struct signer s = key_signer(f->ca);
	char *line = NULL;

	assert_int_equal(key_public(subject, &pub), 0);
	assert_int_equal(cert_new(pub, &c), 0);
	c->serial = 42;
	assert_int_equal(cert_set_key_id(c, "jit-ssh user=alice host=prod-web-3 login=root "
					    "request=" REQ_ID),
			 0);
	assert_int_equal(cert_add_principal(c, principal), 0);
	assert_int_equal(cert_add_extension(c, "permit-pty", NULL), 0);
	assert_int_equal(cert_set_validity(c, now, 60, lifetime), 0);
	assert_int_equal(cert_sign(c, &s, NULL), 0);
	assert_int_equal(cert_to_line(c, NULL, &line), 0);
	cert_free(c);
	return line;
}

/* The CA's 201 body around @line. */
static char *issued_body(const char *line)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:[s], s:I, s:I, s:s}", "request_id", REQ_ID,
			      "state", "issued", "certificate", line, "serial", 42, "principals",
			      "jit:prod-web-3:root", "valid_after", (json_int_t)NOW - 60,
			      "valid_before", (json_int_t)NOW + 600, "key_id", "jit-ssh ...");
	char *s;

	assert_non_null(o);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static struct response *parse_ok(long status, const char *body)
{
	struct response *r = NULL;

	assert_int_equal(response_parse(status, body, strlen(body), &r), 0);
	assert_non_null(r);
	return r;
}

static void test_issued_answer_gives_the_certificate(void **state)
{
	struct fixture *f = *state;
	char *line = cert_line(f, f->fresh, "jit:prod-web-3:root", NOW, 600);
	char *body = issued_body(line);
	struct response *r = parse_ok(201, body);

	assert_int_equal(r->kind, RESPONSE_ISSUED);
	assert_string_equal(r->request_id, REQ_ID);
	assert_non_null(r->cert);
	assert_int_equal(r->cert->serial, 42);
	assert_int_equal(r->cert->valid_before, NOW + 600);
	assert_int_equal(response_check_cert(r, f->fresh, "prod-web-3", "root", NOW), 0);
	response_free(r);
	free(body);
	free(line);
}

static void test_denied_answer_gives_the_reason_and_rule(void **state)
{
	struct response *r;
	(void)state;
	r = parse_ok(403, "{\"request_id\":\"" REQ_ID "\",\"state\":\"denied\","
			  "\"reason\":\"no rule allows root on prod-db-1\",\"rule\":\"dbas\"}");
	assert_int_equal(r->kind, RESPONSE_DENIED);
	assert_string_equal(r->reason, "no rule allows root on prod-db-1");
	assert_string_equal(r->rule, "dbas");
	assert_int_equal(response_check_cert(r, NULL, "h", "l", NOW), -EINVAL);
	response_free(r);
	r = parse_ok(403, "{\"request_id\":\"" REQ_ID "\",\"state\":\"denied\","
			  "\"reason\":\"default deny\",\"rule\":null}");
	assert_null(r->rule);
	response_free(r);
}

static void test_error_answers_give_code_and_message(void **state)
{
	static const struct {
		long status;
		const char *code;
	} cases[] = {
		{401, "unknown_user_or_key"}, {401, "clock_skew"},	   {400, "bad_field"},
		{413, "body_too_large"},      {503, "ledger_unavailable"}, {403, "forbidden"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *body = NULL;
		struct response *r;
		assert_true(asprintf(&body, "{\"error\":\"%s\",\"message\":\"it says why\"}",
				     cases[i].code) > 0);
		r = parse_ok(cases[i].status, body);
		assert_int_equal(r->kind, RESPONSE_ERROR);
		assert_int_equal(r->status, cases[i].status);
		assert_string_equal(r->error, cases[i].code);
		assert_string_equal(r->message, "it says why");
		response_free(r);
		free(body);
	}
}

static void test_error_answer_that_is_not_the_documented_shape_still_parses(void **state)
{
	static const char *const bodies[] = {
		"<html>Bad Gateway</html>",
		"",
		"{",
		"[1,2]",
		"{\"error\":5,\"message\":\"x\"}",
		"{\"error\":\"internal\",\"message\":[]}",
		"null",
	};
	(void)state;
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		struct response *r = parse_ok(502, bodies[i]);
		assert_int_equal(r->kind, RESPONSE_ERROR);
		assert_null(r->error);
		assert_null(r->message);
		response_free(r);
	}
}

static void test_pending_answer_gives_the_request_id(void **state)
{
	struct response *r;
	(void)state;
	r = parse_ok(202, "{\"request_id\":\"" REQ_ID "\",\"state\":\"pending\"}");
	assert_int_equal(r->kind, RESPONSE_PENDING);
	assert_string_equal(r->request_id, REQ_ID);
	response_free(r);
}

static void test_pending_answer_gives_approval_progress(void **state)
{
	struct response *r;
	(void)state;
	r = parse_ok(202,
		     "{\"request_id\":\"" REQ_ID "\",\"state\":\"pending\","
		     "\"approvals\":{\"count\":2,\"received\":1,\"from\":[\"sre\",\"leads\"]}}");
	assert_int_equal(r->kind, RESPONSE_PENDING);
	assert_int_equal(r->approvals_needed, 2);
	assert_int_equal(r->approvals_received, 1);
	assert_int_equal(r->n_groups, 2);
	assert_string_equal(r->groups[0], "sre");
	assert_string_equal(r->groups[1], "leads");
	response_free(r);
	/* Without "approvals" nothing is known. */
	r = parse_ok(202, "{\"request_id\":\"" REQ_ID "\",\"state\":\"pending\"}");
	assert_int_equal(r->approvals_needed, 0);
	assert_int_equal(r->approvals_received, -1);
	assert_int_equal(r->n_groups, 0);
	response_free(r);
}

static void test_state_decides_not_the_status_code(void **state)
{
	struct fixture *f = *state;
	char *line = cert_line(f, f->fresh, "jit:prod-web-3:root", NOW, 600);
	char *body = issued_body(line);
	struct response *r;

	/* GET /v1/requests/ID answers 200 whatever the state. */
	r = parse_ok(200, "{\"request_id\":\"" REQ_ID "\",\"state\":\"denied\","
			  "\"reason\":\"no approver said yes\",\"rule\":null}");
	assert_int_equal(r->kind, RESPONSE_DENIED);
	assert_string_equal(r->reason, "no approver said yes");
	response_free(r);
	r = parse_ok(200, "{\"request_id\":\"" REQ_ID "\",\"state\":\"pending\"}");
	assert_int_equal(r->kind, RESPONSE_PENDING);
	response_free(r);
	r = parse_ok(200, "{\"request_id\":\"" REQ_ID "\",\"state\":\"expired\","
			  "\"reason\":\"approval window of 30m passed\"}");
	assert_int_equal(r->kind, RESPONSE_EXPIRED);
	assert_string_equal(r->request_id, REQ_ID);
	assert_string_equal(r->reason, "approval window of 30m passed");
	response_free(r);
	r = parse_ok(200, body);
	assert_int_equal(r->kind, RESPONSE_ISSUED);
	response_free(r);
	/* ... and a 4xx carrying a state is that state, not an error. */
	r = parse_ok(410, "{\"request_id\":\"" REQ_ID "\",\"state\":\"expired\"}");
	assert_int_equal(r->kind, RESPONSE_EXPIRED);
	assert_null(r->reason);
	response_free(r);
	/* The ledger's sweep gave the request up (GET /v1/requests/{id}, docs/api.md). */
	r = parse_ok(200, "{\"request_id\":\"" REQ_ID "\",\"state\":\"cancelled\","
			  "\"reason\":\"nothing was issued\"}");
	assert_int_equal(r->kind, RESPONSE_CANCELLED);
	assert_string_equal(r->request_id, REQ_ID);
	assert_string_equal(r->reason, "nothing was issued");
	response_free(r);
	r = parse_ok(410, "{\"request_id\":\"" REQ_ID "\",\"state\":\"cancelled\"}");
	assert_int_equal(r->kind, RESPONSE_CANCELLED);
	response_free(r);
	free(body);
	free(line);
}

static void test_malformed_approvals_in_a_pending_answer_are_refused(void **state)
{
	static const char *const approvals[] = {
		"2",
		"[]",
		"{\"count\":-1}",
		"{\"count\":\"2\"}",
		"{\"count\":1025}",
		"{\"received\":-1}",
		"{\"received\":1.5}",
		"{\"from\":\"sre\"}",
		"{\"from\":[1]}",
	};
	(void)state;
	for (size_t i = 0; i < sizeof approvals / sizeof approvals[0]; i++) {
		char *body = NULL;
		struct response *r = NULL;
		assert_true(asprintf(&body,
				     "{\"request_id\":\"" REQ_ID "\",\"state\":\"pending\","
				     "\"approvals\":%s}",
				     approvals[i]) > 0);
		assert_int_equal(response_parse(202, body, strlen(body), &r), JIT_E_FORMAT);
		assert_null(r);
		free(body);
	}
}

static void test_too_many_approver_groups_are_refused(void **state)
{
	char *body = malloc(64 + (RESPONSE_GROUPS_MAX + 1) * 8), *p;
	struct response *r = NULL;
	(void)state;
	p = body + sprintf(body, "{\"request_id\":\"" REQ_ID "\",\"state\":\"pending\","
				 "\"approvals\":{\"from\":[");
	for (size_t i = 0; i <= RESPONSE_GROUPS_MAX; i++)
		p += sprintf(p, "%s\"g\"", i ? "," : "");
	strcpy(p, "]}}");
	assert_int_equal(response_parse(202, body, strlen(body), &r), JIT_E_TOO_LARGE);
	assert_null(r);
	free(body);
}

static void test_waiting_status_line_says_progress_and_time(void **state)
{
	static const struct {
		const char *approvals;
		uint64_t elapsed;
		const char *line;
	} cases[] = {
		{"{\"count\":1,\"received\":0,\"from\":[\"sre\"]}", 42,
		 "waiting for approval: 0/1 approvals from [sre] \xe2\x80\x94 0:42 elapsed"},
		{"{\"count\":2,\"received\":1,\"from\":[\"sre\",\"leads\"]}", 3725,
		 "waiting for approval: 1/2 approvals from [sre, leads] \xe2\x80\x94 1:02:05 "
		 "elapsed"},
		{"{\"count\":2,\"from\":[\"sre\"]}", 600,
		 "waiting for approval: 2 approvals needed from [sre] \xe2\x80\x94 10:00 elapsed"},
		{"{\"count\":1}", 0,
		 "waiting for approval: 1 approval needed \xe2\x80\x94 0:00 elapsed"},
		{"null", 59, "waiting for approval \xe2\x80\x94 0:59 elapsed"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *body = NULL, *line = NULL;
		struct response *r;
		assert_true(asprintf(&body,
				     "{\"request_id\":\"" REQ_ID "\",\"state\":\"pending\","
				     "\"approvals\":%s}",
				     cases[i].approvals) > 0);
		r = parse_ok(202, body);
		assert_int_equal(response_pending_status(r, cases[i].elapsed, &line), 0);
		assert_string_equal(line, cases[i].line);
		free(line);
		response_free(r);
		free(body);
	}
}

static void test_waiting_status_line_neutralises_group_names(void **state)
{
	struct response *r;
	char *line = NULL;
	(void)state;
	r = parse_ok(202, "{\"request_id\":\"" REQ_ID "\",\"state\":\"pending\","
			  "\"approvals\":{\"from\":[\"s\\u001b[2Jre\"]}}");
	assert_int_equal(response_pending_status(r, 1, &line), 0);
	assert_null(strchr(line, 0x1b));
	free(line);
	line = NULL;
	response_free(r);
	r = parse_ok(403, "{\"request_id\":\"" REQ_ID "\",\"state\":\"denied\"}");
	assert_int_equal(response_pending_status(r, 1, &line), -EINVAL);
	assert_null(line);
	response_free(r);
}

static void test_malformed_json_in_a_success_answer_is_refused(void **state)
{
	static const char *const bodies[] = {
		"",
		"{",
		"not json",
		"[]",
		"\"issued\"",
		"{\"state\":\"issued\"",
		"{\"state\":\"issued\",\"state\":\"issued\"}",
		"{} trailing",
	};
	(void)state;
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		struct response *r = NULL;
		assert_int_equal(response_parse(201, bodies[i], strlen(bodies[i]), &r),
				 JIT_E_FORMAT);
		assert_null(r);
	}
}

static void test_issued_answer_cut_at_every_length_is_refused(void **state)
{
	struct fixture *f = *state;
	char *line = cert_line(f, f->fresh, "jit:prod-web-3:root", NOW, 600);
	char *body = issued_body(line);
	size_t n = strlen(body);

	for (size_t i = 0; i < n; i++) {
		struct response *r = NULL;
		assert_int_not_equal(response_parse(201, body, i, &r), 0);
		assert_null(r);
	}
	free(body);
	free(line);
}

static void test_fields_of_the_wrong_type_are_refused(void **state)
{
	struct fixture *f = *state;
	char *line = cert_line(f, f->fresh, "jit:prod-web-3:root", NOW, 600);
	json_t *bad[] = {
		json_pack("{s:s, s:s, s:i}", "request_id", REQ_ID, "state", "issued", "certificate",
			  5),
		json_pack("{s:i, s:s, s:s}", "request_id", 7, "state", "issued", "certificate",
			  line),
		json_pack("{s:s, s:b, s:s}", "request_id", REQ_ID, "state", 1, "certificate", line),
		json_pack("{s:s, s:s}", "request_id", REQ_ID, "state", "issued"),
		json_pack("{s:s, s:s}", "state", "issued", "certificate", line),
		json_pack("{s:s, s:s, s:s}", "request_id", "../../etc", "state", "issued",
			  "certificate", line),
		json_pack("{s:s, s:s, s:s}", "request_id", "", "state", "issued", "certificate",
			  line),
		json_pack("{s:s, s:s, s:s}", "request_id", REQ_ID, "state", "granted",
			  "certificate", line),
		json_pack("{s:s, s:s, s:s}", "request_id", REQ_ID, "state", "issued", "certificate",
			  "ssh-ed25519-cert-v01@openssh.com AAAA"),
		json_pack("{s:s, s:s, s:i}", "request_id", REQ_ID, "state", "denied", "reason", 1),
		json_pack("{s:s, s:s, s:i}", "request_id", REQ_ID, "state", "denied", "rule", 1),
		json_pack("{s:s}", "state", "pending"),
		json_pack("{s:s}", "state", "expired"),
		json_pack("{s:s}", "state", "cancelled"),
		json_pack("{s:s, s:s, s:i}", "request_id", REQ_ID, "state", "cancelled", "reason", 1),
		json_pack("{s:s, s:s, s:i}", "request_id", REQ_ID, "state", "expired", "reason", 1),
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct response *r = NULL;
		char *body;
		assert_non_null(bad[i]);
		body = json_dumps(bad[i], JSON_COMPACT);
		assert_true(response_parse(201, body, strlen(body), &r) < 0);
		assert_null(r);
		if (json_object_get(bad[i], "reason") || json_object_get(bad[i], "rule"))
			assert_true(response_parse(403, body, strlen(body), &r) < 0);
		free(body);
		json_decref(bad[i]);
	}
	free(line);
}

static void test_certificate_for_another_key_is_refused(void **state)
{
	struct fixture *f = *state;
	char *line = cert_line(f, f->other, "jit:prod-web-3:root", NOW, 600);
	char *body = issued_body(line);
	struct response *r = parse_ok(201, body);

	assert_int_equal(response_check_cert(r, f->fresh, "prod-web-3", "root", NOW), JIT_E_CERT);
	response_free(r);
	free(body);
	free(line);
}

static void test_certificate_lacking_the_requested_principal_is_refused(void **state)
{
	static const char *const wrong[] = {
		"jit:prod-web-4:root", "jit:prod-web-3:rootx",
		"jit:prod-web-3:roo",  "root",
		"jit:prod:root",       "jit:prod-web-3.example.com:root",
		"jit:prod-web-:root",  "jot:prod-web-3:root",
		"jit::root",
	};
	struct fixture *f = *state;
	for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
		char *line = cert_line(f, f->fresh, wrong[i], NOW, 600);
		char *body = issued_body(line);
		struct response *r = parse_ok(201, body);
		assert_int_equal(response_check_cert(r, f->fresh, "prod-web-3", "root", NOW),
				 JIT_E_NOT_FOUND);
		response_free(r);
		free(body);
		free(line);
	}
}

static void test_principal_with_the_domain_suffix_stripped_is_accepted(void **state)
{
	struct fixture *f = *state;
	char *line = cert_line(f, f->fresh, "jit:prod-web-3:root", NOW, 600);
	char *body = issued_body(line);
	struct response *r = parse_ok(201, body);

	assert_int_equal(response_check_cert(r, f->fresh, "prod-web-3.example.com", "root", NOW),
			 0);
	assert_int_equal(response_check_cert(r, f->fresh, "prod-web-3x.example.com", "root", NOW),
			 JIT_E_NOT_FOUND);
	response_free(r);
	free(body);
	free(line);
}

static void test_expired_certificate_is_refused(void **state)
{
	struct fixture *f = *state;
	char *line = cert_line(f, f->fresh, "jit:prod-web-3:root", NOW - 7200, 600);
	char *body = issued_body(line);
	struct response *r = parse_ok(201, body);

	assert_int_equal(response_check_cert(r, f->fresh, "prod-web-3", "root", NOW),
			 JIT_E_EXPIRED);
	assert_int_equal(response_check_cert(r, f->fresh, "prod-web-3", "root", NOW - 7000), 0);
	response_free(r);
	free(body);
	free(line);
}

static void test_certificate_with_any_byte_flipped_is_refused(void **state)
{
	struct fixture *f = *state;
	char *line = cert_line(f, f->fresh, "jit:prod-web-3:root", NOW, 600);
	const char *b64 = strchr(line, ' ') + 1;
	uint8_t *blob = NULL;
	size_t len = 0;

	assert_int_equal(b64_decode(b64, strlen(b64), &blob, &len), 0);
	for (size_t i = 0; i < len; i++) {
		char *enc = NULL, *bad_line = NULL, *body;
		struct response *r = NULL;
		blob[i] ^= 0x01;
		assert_int_equal(b64_encode(blob, len, &enc), 0);
		blob[i] ^= 0x01;
		assert_true(asprintf(&bad_line, "ssh-ed25519-cert-v01@openssh.com %s", enc) > 0);
		body = issued_body(bad_line);
		assert_true(response_parse(201, body, strlen(body), &r) < 0);
		assert_null(r);
		free(body);
		free(bad_line);
		free(enc);
	}
	free(blob);
	free(line);
}

static void test_control_characters_from_the_ca_are_neutralised(void **state)
{
	struct response *r;
	(void)state;
	r = parse_ok(403, "{\"request_id\":\"" REQ_ID "\",\"state\":\"denied\","
			  "\"reason\":\"bad\\u001b[2Jthing\\nnext\"}");
	assert_string_equal(r->reason, "bad?[2Jthing?next");
	response_free(r);
	r = parse_ok(400, "{\"error\":\"bad_field\",\"message\":\"x\\u0007y\"}");
	assert_string_equal(r->message, "x?y");
	response_free(r);
}

static void test_long_text_from_the_ca_is_cut_at_a_character_boundary(void **state)
{
	char *body = malloc(RESPONSE_TEXT_MAX * 2 + 100), *p;
	struct response *r;
	(void)state;
	p = body + sprintf(body, "{\"error\":\"x\",\"message\":\"a");
	for (size_t i = 0; i < RESPONSE_TEXT_MAX; i += 2)
		p += sprintf(p, "\xc3\xa9");
	sprintf(p, "\"}");
	r = parse_ok(500, body);
	assert_true(strlen(r->message) <= RESPONSE_TEXT_MAX);
	assert_true(strlen(r->message) >= RESPONSE_TEXT_MAX - 2);
	/* still valid UTF-8: jansson accepts it */
	json_t *j = json_string(r->message);
	assert_non_null(j);
	json_decref(j);
	response_free(r);
	free(body);
}

static void test_unexpected_status_or_oversized_body_is_refused(void **state)
{
	static const long statuses[] = {0, 100, 199, 301, 302, 600, 999};
	struct response *r = NULL;
	char *big;
	(void)state;
	for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
		assert_int_equal(response_parse(statuses[i], "{}", 2, &r), JIT_E_FORMAT);
		assert_null(r);
	}
	big = calloc(1, RESPONSE_BODY_MAX + 1);
	memset(big, ' ', RESPONSE_BODY_MAX + 1);
	assert_int_equal(response_parse(500, big, RESPONSE_BODY_MAX + 1, &r), JIT_E_TOO_LARGE);
	assert_null(r);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_issued_answer_gives_the_certificate),
		cmocka_unit_test(test_denied_answer_gives_the_reason_and_rule),
		cmocka_unit_test(test_error_answers_give_code_and_message),
		cmocka_unit_test(test_error_answer_that_is_not_the_documented_shape_still_parses),
		cmocka_unit_test(test_pending_answer_gives_the_request_id),
		cmocka_unit_test(test_pending_answer_gives_approval_progress),
		cmocka_unit_test(test_state_decides_not_the_status_code),
		cmocka_unit_test(test_malformed_approvals_in_a_pending_answer_are_refused),
		cmocka_unit_test(test_too_many_approver_groups_are_refused),
		cmocka_unit_test(test_waiting_status_line_says_progress_and_time),
		cmocka_unit_test(test_waiting_status_line_neutralises_group_names),
		cmocka_unit_test(test_malformed_json_in_a_success_answer_is_refused),
		cmocka_unit_test(test_issued_answer_cut_at_every_length_is_refused),
		cmocka_unit_test(test_fields_of_the_wrong_type_are_refused),
		cmocka_unit_test(test_certificate_for_another_key_is_refused),
		cmocka_unit_test(test_certificate_lacking_the_requested_principal_is_refused),
		cmocka_unit_test(test_principal_with_the_domain_suffix_stripped_is_accepted),
		cmocka_unit_test(test_expired_certificate_is_refused),
		cmocka_unit_test(test_certificate_with_any_byte_flipped_is_refused),
		cmocka_unit_test(test_control_characters_from_the_ca_are_neutralised),
		cmocka_unit_test(test_long_text_from_the_ca_is_cut_at_a_character_boundary),
		cmocka_unit_test(test_unexpected_status_or_oversized_body_is_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
