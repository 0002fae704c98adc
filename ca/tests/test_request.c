/* SPDX-License-Identifier: ISC */
/*
 * test_request.c - the request body and Authorization header parsers (request.h): every
 * required field missing, every field mistyped, limits and limit+1, unsafe names, bad nonces,
 * truncation at every length, the forms of the Authorization header, and the SSHSIG check
 * against the policy's enrolled keys (wrong key, unknown or disabled user, namespace, bytes,
 * truncation, flipped bytes).
 */
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
#include "policy.h"
#include "request.h"
#include "sig.h"

static const char ed25519_line[] =
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGa3+J+UDTOkzUPGKzI6tJ90ptGnwCDZCzF031fEpkR/ test";
static const char dsa_line[] =
	"ssh-dss AAAAB3NzaC1kc3MAAACBAIQ1KVm5fbSrWiYcQZYkk/TRW9Wxy4nsahQv0sfVfQ6zv0FMq/j8CAdOILyM9h"
	"89EANaq0CQtPt+UWmIWS9Qj7lKm8uZA/b6fOZB/iUuVmv3bbJv1g/d2DQY5sCUBf85M/FFtIQRnUSSHGGis+GSMM4b"
	"HTpwpnSoMVjJBzOo89r9AAAAFQDtW/Krm7bplQ40lmF8RyqOA+NHUQAAAIBCHUE8E6zz5rphd+8HSnJ37yGb2Fr1ZB"
	"0c+wLluayb+p1HjHI0Y/LW9XEY+X0MQEEMfOoUSyPpYRd86VFwKRXAftwWEm6rFoEN1oERtVsuV/ABFjhXY1HGLNah"
	"fqJa/DaGCRHymryJIUWHSmWORATtRg3/7JBSDwfTM3mR2/obbgAAAIAY0VuVyi8s0+gnwtYlxtz2xf0QMBK2cBr3/i"
	"qYKYrAjW1lIe3EfcKs+Iya8rheAu+2ePAcGeR9Inbv15QU32bIyvvpjB0xlrK9w6Sc+2fUlfDKceZdI8kVaur7gu8q"
	"r1If8Zq7TJYoCKzfHhWpS6nIcdr6IQi6gMoghMVuQCUwRA== root@vm";

static const char *const required[] = {
	"user", "host", "login", "public_key", "timestamp", "nonce",
};

/* A body every check accepts. */
static json_t *valid_object(void)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:I, s:s}", "user", "alice", "host",
			      "prod-web-3", "login", "root", "public_key", ed25519_line,
			      "ttl_seconds", 600, "reason", "deploy #42", "timestamp",
			      (json_int_t)1700000000, "nonce", "0123456789abcdef-_XYZ");

	assert_non_null(o);
	return o;
}

/* Parse @o's compact text; returns the result code, fills @e. */
static int parse_object(json_t *o, struct request_error *e)
{
	struct request *q = NULL;
	char *text = json_dumps(o, JSON_COMPACT);
	int r;

	assert_non_null(text);
	memset(e, 0, sizeof(*e));
	r = request_parse((const uint8_t *)text, strlen(text), &q, e);
	if (r == 0)
		assert_non_null(q);
	else
		assert_null(q);
	request_free(q);
	free(text);
	json_decref(o);
	return r;
}

static int parse_text(const char *text, struct request_error *e)
{
	struct request *q = NULL;
	int r;

	memset(e, 0, sizeof(*e));
	r = request_parse((const uint8_t *)text, strlen(text), &q, e);
	request_free(q);
	return r;
}

static void assert_error(int r, const struct request_error *e, int code, unsigned status,
			 const char *api_code, const char *in_message)
{
	assert_int_equal(r, code);
	assert_int_equal(e->status, status);
	assert_string_equal(e->code, api_code);
	if (in_message && !strstr(e->message, in_message))
		fail_msg("message '%s' does not mention '%s'", e->message, in_message);
}

static void test_valid_body_is_parsed_with_every_field(void **state)
{
	json_t *o = valid_object();
	char *text = json_dumps(o, JSON_COMPACT);
	struct request_error e = {0};
	struct request *q = NULL;

	(void)state;
	assert_int_equal(request_parse((const uint8_t *)text, strlen(text), &q, &e), 0);
	assert_string_equal(q->user, "alice");
	assert_string_equal(q->host, "prod-web-3");
	assert_string_equal(q->login, "root");
	assert_non_null(q->public_key);
	assert_int_equal(q->ttl_sec, 600);
	assert_string_equal(q->reason, "deploy #42");
	assert_int_equal(q->timestamp, 1700000000);
	assert_string_equal(q->nonce, "0123456789abcdef-_XYZ");
	request_free(q);
	free(text);
	json_decref(o);
}

static void test_optional_fields_may_be_absent(void **state)
{
	json_t *o = valid_object();
	char *text;
	struct request_error e;
	struct request *q = NULL;

	(void)state;
	json_object_del(o, "ttl_seconds");
	json_object_del(o, "reason");
	text = json_dumps(o, JSON_COMPACT);
	assert_int_equal(request_parse((const uint8_t *)text, strlen(text), &q, &e), 0);
	assert_int_equal(q->ttl_sec, 0);
	assert_null(q->reason);
	request_free(q);
	free(text);
	json_decref(o);
}

static void test_public_key_may_be_absent_only_when_optional(void **state)
{
	json_t *o = valid_object();
	char *text;
	struct request_error e = {0};
	struct request *q = NULL;

	(void)state;
	json_object_del(o, "public_key");
	text = json_dumps(o, JSON_COMPACT);
	assert_int_equal(request_parse_flags((const uint8_t *)text, strlen(text),
					     REQUEST_PARSE_KEY_OPTIONAL, &q, &e),
			 0);
	assert_null(q->public_key);
	assert_string_equal(q->login, "root");
	request_free(q);
	q = NULL;
	assert_int_equal(request_parse((const uint8_t *)text, strlen(text), &q, &e), JIT_E_FORMAT);
	assert_null(q);
	assert_string_equal(e.code, "missing_field");
	free(text);
	json_decref(o);
}

static void test_optional_public_key_is_still_checked_when_present(void **state)
{
	json_t *o = valid_object();
	char *text;
	struct request_error e = {0};
	struct request *q = NULL;

	(void)state;
	json_object_set_new(o, "public_key", json_string(dsa_line));
	text = json_dumps(o, JSON_COMPACT);
	assert_int_equal(request_parse_flags((const uint8_t *)text, strlen(text),
					     REQUEST_PARSE_KEY_OPTIONAL, &q, &e),
			 JIT_E_FORMAT);
	assert_null(q);
	assert_string_equal(e.code, "bad_field");
	assert_non_null(strstr(e.message, "public_key"));
	free(text);
	json_decref(o);
}

static void test_every_missing_required_field_is_named(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		struct request_error e;
		json_t *o = valid_object();

		json_object_del(o, required[i]);
		assert_error(parse_object(o, &e), &e, JIT_E_FORMAT, 400, "missing_field",
			     required[i]);
	}
}

static void test_every_mistyped_field_is_named(void **state)
{
	static const char *const strings[] = {"user",	    "host",  "login",
					      "public_key", "nonce", "reason"};
	static const char *const integers[] = {"timestamp", "ttl_seconds"};
	json_t *wrong[] = {json_integer(1), json_true(), json_null(), json_array(), json_object()};

	(void)state;
	for (size_t w = 0; w < sizeof(wrong) / sizeof(wrong[0]); w++) {
		for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
			struct request_error e;
			json_t *o = valid_object();

			json_object_set(o, strings[i], wrong[w]);
			assert_error(parse_object(o, &e), &e, JIT_E_FORMAT, 400, "bad_field",
				     strings[i]);
		}
	}
	for (size_t i = 0; i < sizeof(integers) / sizeof(integers[0]); i++) {
		json_t *bad[] = {json_string("600"), json_real(600.0), json_integer(-1),
				 json_null(), json_true()};

		for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
			struct request_error e;
			json_t *o = valid_object();

			json_object_set_new(o, integers[i], bad[b]);
			assert_error(parse_object(o, &e), &e, JIT_E_FORMAT, 400, "bad_field",
				     integers[i]);
		}
	}
	for (size_t w = 0; w < sizeof(wrong) / sizeof(wrong[0]); w++)
		json_decref(wrong[w]);
}

static void test_unknown_field_is_refused_by_name(void **state)
{
	struct request_error e;
	json_t *o = valid_object();

	(void)state;
	json_object_set_new(o, "principals", json_string("jit:*:root"));
	assert_error(parse_object(o, &e), &e, JIT_E_FORMAT, 400, "bad_field", "principals");
}

static void test_body_that_is_not_json_is_malformed(void **state)
{
	static const char *const bodies[] = {
		"",	    "{",  "not json", "{\"user\":}", "{\"user\":\"a\",}",  "[1,2]",
		"\"text\"", "42", "null",     "{} {}",	     "{\"user\":\"a\"} x",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct request_error e;

		assert_error(parse_text(bodies[i], &e), &e, JIT_E_FORMAT, 400, "malformed_json",
			     NULL);
	}
}

static void test_duplicate_keys_are_malformed(void **state)
{
	struct request_error e;
	json_t *o = valid_object();
	char *text = json_dumps(o, JSON_COMPACT);
	char *dup = NULL;

	(void)state;
	/* Append a second "user" inside the object: two parsers could disagree about it. */
	text[strlen(text) - 1] = 0;
	assert_true(asprintf(&dup, "%s,\"user\":\"root\"}", text) > 0);
	assert_error(parse_text(dup, &e), &e, JIT_E_FORMAT, 400, "malformed_json", NULL);
	free(dup);
	free(text);
	json_decref(o);
}

static void test_nul_inside_a_string_is_refused(void **state)
{
	struct request_error e;
	json_t *o = valid_object();
	char *text = json_dumps(o, JSON_COMPACT);
	char *p = strstr(text, "alice");

	(void)state;
	assert_non_null(p);
	/* "alice" -> "a\u0000" + the rest: same length budget, different meaning. */
	char *bad = NULL;
	*p = 0;
	assert_true(asprintf(&bad, "%sa\\u0000%s", text, p + 5) > 0);
	assert_int_not_equal(parse_text(bad, &e), 0);
	free(bad);
	free(text);
	json_decref(o);
}

/* A valid body padded with spaces to exactly @len bytes. */
static char *padded_body(size_t len)
{
	json_t *o = valid_object();
	char *text = json_dumps(o, JSON_COMPACT);
	size_t n = strlen(text);
	char *buf;

	assert_true(n <= len);
	buf = malloc(len + 1);
	assert_non_null(buf);
	memcpy(buf, text, n);
	memset(buf + n, ' ', len - n);
	buf[len] = 0;
	free(text);
	json_decref(o);
	return buf;
}

static void test_body_of_exactly_the_limit_is_accepted(void **state)
{
	struct request_error e;
	char *body = padded_body(REQUEST_BODY_MAX);

	(void)state;
	assert_int_equal(parse_text(body, &e), 0);
	free(body);
}

static void test_body_one_byte_over_the_limit_is_too_large(void **state)
{
	struct request_error e;
	char *body = padded_body(REQUEST_BODY_MAX + 1);

	(void)state;
	assert_error(parse_text(body, &e), &e, JIT_E_TOO_LARGE, 413, "body_too_large", NULL);
	free(body);
}

static void test_truncated_body_is_refused_at_every_length(void **state)
{
	json_t *o = valid_object();
	char *text = json_dumps(o, JSON_COMPACT);
	size_t n = strlen(text);

	(void)state;
	for (size_t len = 0; len < n; len++) {
		struct request_error e = {0};
		struct request *q = NULL;
		/* An exact-size copy, so a read past the end is caught by the sanitizers. */
		uint8_t *cut = malloc(len ? len : 1);

		memcpy(cut, text, len);
		assert_int_not_equal(request_parse(cut, len, &q, &e), 0);
		assert_null(q);
		assert_int_equal(e.status, 400);
		free(cut);
	}
	free(text);
	json_decref(o);
}

static void set_and_expect_bad(const char *field, const char *value, const char *why)
{
	struct request_error e;
	json_t *o = valid_object();

	json_object_set_new(o, field, json_string(value));
	if (parse_object(o, &e) != JIT_E_FORMAT || strcmp(e.code, "bad_field") != 0 ||
	    !strstr(e.message, field))
		fail_msg("%s '%s' (%s) was not refused as bad_field: %s", field, value, why,
			 e.message);
}

static void set_and_expect_ok(const char *field, const char *value)
{
	struct request_error e;
	json_t *o = valid_object();

	json_object_set_new(o, field, json_string(value));
	if (parse_object(o, &e) != 0)
		fail_msg("%s '%s' was refused: %s", field, value, e.message);
}

static void test_nonce_length_limits_are_enforced(void **state)
{
	char s[REQUEST_NONCE_MAX + 2];

	(void)state;
	memset(s, 'a', sizeof(s));
	s[REQUEST_NONCE_MIN] = 0;
	set_and_expect_ok("nonce", s);
	s[REQUEST_NONCE_MIN - 1] = 0;
	set_and_expect_bad("nonce", s, "one under the minimum");
	memset(s, 'a', sizeof(s));
	s[REQUEST_NONCE_MAX] = 0;
	set_and_expect_ok("nonce", s);
	s[REQUEST_NONCE_MAX] = 'a';
	s[REQUEST_NONCE_MAX + 1] = 0;
	set_and_expect_bad("nonce", s, "one over the maximum");
	set_and_expect_bad("nonce", "", "empty");
}

static void test_nonce_with_characters_outside_the_set_is_refused(void **state)
{
	static const char *const bad[] = {
		"0123456789abcde+", "0123456789abcde/",	 "0123456789abcde=",
		"0123456789abcde.", "0123456789abcde ",	 "0123456789abcde\xc3\xa9",
		"0123456789abcde:", "0123456789abcde\t",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		set_and_expect_bad("nonce", bad[i], "character outside [A-Za-z0-9_-]");
}

static void test_unsafe_user_names_are_refused(void **state)
{
	static const char *const bad[] = {
		"",	      "-alice",
		".alice",     "al ice",
		"al,ice",     "al:ice",
		"al/ice",     "al*",
		"al?ce",      "al[ce",
		"al\xc3\xa9", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		set_and_expect_bad("user", bad[i], "unsafe");
	set_and_expect_ok("user", "alice@example.com");
	set_and_expect_ok("user",
			  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
}

static void test_unsafe_logins_are_refused(void **state)
{
	static const char *const bad[] = {
		"",	 "-root",     ".root", "ro ot", "ro,ot",
		"ro:ot", "root@host", "ro/ot", "*",	"r\xc3\xb6ot",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		set_and_expect_bad("login", bad[i], "unsafe");
	set_and_expect_ok("login", "deploy_user-1.x");
}

static void test_bad_host_names_are_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"prod web",
		"prod/web",
		"prod:22",
		"*.example.com",
		"prod..web",
		"prod_web",
		"user@prod",
		"pr\xc3\xb6\x64",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		set_and_expect_bad("host", bad[i], "invalid host");
	set_and_expect_ok("host", "PROD-web-3.Example.COM.");
}

static void test_reason_limits_are_enforced(void **state)
{
	char s[POLICY_REASON_MAX + 2];

	(void)state;
	memset(s, 'r', sizeof(s));
	s[POLICY_REASON_MAX] = 0;
	set_and_expect_ok("reason", s);
	s[POLICY_REASON_MAX] = 'r';
	s[POLICY_REASON_MAX + 1] = 0;
	set_and_expect_bad("reason", s, "one over the maximum");
	set_and_expect_bad("reason", "line one\nline two", "control character");
	set_and_expect_bad("reason", "bell\a", "control character");
	set_and_expect_ok("reason", "d\xc3\xa9ploiement urgent");
	set_and_expect_ok("reason", "");
}

static void test_reason_with_hidden_or_direction_characters_is_refused(void **state)
{
	/* The first and last code point of every refused range, in UTF-8. */
	static const char *const bad[] = {
		"\xc2\x80",	    "\xc2\x85",		"\xc2\x9f",	/* C1 controls, NEL */
		"\xd8\x9c",						/* U+061C */
		"\xe1\xa0\x8e",						/* U+180E */
		"\xe2\x80\x8b",	    "\xe2\x80\x8f",			/* ZWSP .. RLM */
		"\xe2\x80\xa8",	    "\xe2\x80\xaa",	"\xe2\x80\xae", /* LS, LRE .. RLO */
		"\xe2\x81\xa0",	    "\xe2\x81\xa6",	"\xe2\x81\xa9", /* WJ, LRI, PDI */
		"\xe2\x81\xaf",						/* U+206F */
		"\xef\xbb\xbf",						/* BOM */
		"\xef\xbf\xb9",	    "\xef\xbf\xbb",			/* annotations */
		"\xf3\xa0\x80\x80", "\xf3\xa0\x81\xbf",			/* tags */
	};
	/* Their neighbours outside the ranges. */
	static const char *const good[] = {
		"\xc2\xa0",	"\xd8\x9b",	"\xe1\xa0\x8d",	    "\xe2\x80\x8a", "\xe2\x80\x90",
		"\xe2\x80\xa7", "\xe2\x80\xaf", "\xe2\x81\x9f",	    "\xe2\x81\xb0", "\xef\xbb\xbe",
		"\xef\xbf\xb8", "\xef\xbf\xbc", "\xf3\xa0\x82\x80",
	};
	char text[64];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "deploy %s#42", bad[i]);
		set_and_expect_bad("reason", text, "hidden or direction character");
		assert_false(request_text_safe(text));
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "deploy %s#42", good[i]);
		set_and_expect_ok("reason", text);
	}
}

static void test_text_that_is_not_well_formed_utf8_is_unsafe(void **state)
{
	static const char *const bad[] = {
		"\x80",		"\xc0\x8a",	    "\xc1\xbf",		"\xe0\x80\x8a",
		"\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xe2\x80",
		"\xff",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(request_text_safe(bad[i]));
	assert_true(request_text_safe("d\xc3\xa9ploiement \xf0\x9f\x9a\x80 ok"));
}

static void test_public_key_that_is_not_usable_is_refused(void **state)
{
	char big[KEY_LINE_MAX + 2];

	(void)state;
	set_and_expect_bad("public_key", "", "empty");
	set_and_expect_bad("public_key", "ssh-ed25519", "no blob");
	set_and_expect_bad("public_key", "ssh-ed25519 !!!!", "not base64");
	set_and_expect_bad("public_key",
			   "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIGa3+J+UDTOkzUPGKzI6tJ90"
			   "ptGnwCDZCzF031fEpkR/",
			   "type and blob disagree");
	set_and_expect_bad("public_key", dsa_line, "DSA");
	memset(big, 'A', sizeof(big));
	memcpy(big, "ssh-ed25519 ", 12);
	big[KEY_LINE_MAX + 1] = 0;
	set_and_expect_bad("public_key", big, "too long");
}

static void test_ttl_over_every_cap_is_accepted_for_capping(void **state)
{
	struct request_error e;
	json_t *o = valid_object();

	(void)state;
	json_object_set_new(o, "ttl_seconds", json_integer(INT64_MAX));
	assert_int_equal(parse_object(o, &e), 0);
}

static void test_authorization_header_with_a_valid_form_is_decoded(void **state)
{
	static const char *const good[] = {
		"SSHSIG AAECAw==",  "sshsig AAECAw==",	 "SSHSIG   AAECAw==",
		"SSHSIG\tAAECAw==", "SSHSIG AAECAw==  ",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct request_error e;
		uint8_t *blob = NULL;
		size_t len = 0;

		assert_int_equal(request_parse_authorization(good[i], &blob, &len, &e), 0);
		assert_int_equal(len, 4);
		assert_memory_equal(blob, "\x00\x01\x02\x03", 4);
		free(blob);
	}
}

static void test_bad_authorization_headers_are_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"SSHSIG",
		"SSHSIG ",
		"SSHSIGAAECAw==",
		"Bearer AAECAw==",
		"Basic AAECAw==",
		"SSHSIG AAEC Aw==",
		"SSHSIG AAECAw",
		"SSHSIG AAEC*w==",
		"SSHSIG -----BEGIN",
		"SSHSIG AAECAw==\nx",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct request_error e;
		uint8_t *blob = NULL;
		size_t len = 0;
		int r = request_parse_authorization(bad[i], &blob, &len, &e);

		if (r != JIT_E_SIGNATURE)
			fail_msg("header '%s' gave %d", bad[i], r);
		assert_null(blob);
		assert_int_equal(e.status, 401);
		assert_string_equal(e.code, "bad_signature");
	}
}

static void test_missing_authorization_header_is_named(void **state)
{
	struct request_error e;
	uint8_t *blob = NULL;
	size_t len;

	(void)state;
	assert_int_equal(request_parse_authorization(NULL, &blob, &len, &e), JIT_E_SIGNATURE);
	assert_int_equal(e.status, 401);
	assert_non_null(strstr(e.message, "missing Authorization"));
}

static void test_overlong_authorization_header_is_refused(void **state)
{
	char *h = malloc(REQUEST_AUTH_MAX + 2);
	struct request_error e;
	uint8_t *blob = NULL;
	size_t len;

	(void)state;
	memcpy(h, "SSHSIG ", 7);
	memset(h + 7, 'A', REQUEST_AUTH_MAX + 1 - 7);
	h[REQUEST_AUTH_MAX + 1] = 0;
	assert_int_equal(request_parse_authorization(h, &blob, &len, &e), JIT_E_SIGNATURE);
	assert_null(blob);
	free(h);
}

static void test_timestamp_inside_the_window_is_accepted(void **state)
{
	struct request q = {.timestamp = 1000};
	struct request_error e;

	(void)state;
	assert_int_equal(request_check_time(&q, 1000, 120, &e), 0);
	assert_int_equal(request_check_time(&q, 1120, 120, &e), 0);
	assert_int_equal(request_check_time(&q, 880, 120, &e), 0);
}

static void test_timestamp_one_second_outside_the_window_is_clock_skew(void **state)
{
	struct request q = {.timestamp = 1000};
	struct request_error e;

	(void)state;
	assert_int_equal(request_check_time(&q, 1121, 120, &e), JIT_E_EXPIRED);
	assert_int_equal(e.status, 401);
	assert_string_equal(e.code, "clock_skew");
	assert_int_equal(request_check_time(&q, 879, 120, &e), JIT_E_EXPIRED);
	assert_string_equal(e.code, "clock_skew");
}

static void test_request_ids_are_32_lower_case_hex_and_differ(void **state)
{
	char a[REQUEST_ID_LEN + 1], b[REQUEST_ID_LEN + 1];

	(void)state;
	assert_int_equal(request_id_new(a), 0);
	assert_int_equal(request_id_new(b), 0);
	assert_int_equal(strlen(a), 32);
	assert_true(request_id_valid(a));
	assert_string_not_equal(a, b);
}

static void test_request_id_validation_refuses_other_forms(void **state)
{
	(void)state;
	assert_true(request_id_valid("0123456789abcdef0123456789abcdef"));
	assert_false(request_id_valid("0123456789ABCDEF0123456789abcdef"));
	assert_false(request_id_valid("0123456789abcdef0123456789abcde"));
	assert_false(request_id_valid("0123456789abcdef0123456789abcdef0"));
	assert_false(request_id_valid("0123456789abcdef0123456789abcdeg"));
	assert_false(request_id_valid("../../../../etc/passwd"));
	assert_false(request_id_valid(""));
}

/* ---- request_authenticate(): SSHSIG over the body by an enrolled key ---------------- */

struct auth_fixture {
	struct key *alice; /* enrolled for alice */
	struct key *erin;  /* enrolled for erin, who is disabled */
	struct key *other; /* enrolled for nobody */
	struct policy *policy;
	struct request *req;
	char *body;
};

static int auth_setup(void **state)
{
	struct auth_fixture *f = calloc(1, sizeof(*f));
	char *alice_line = NULL, *erin_line = NULL, *text = NULL, *err = NULL;
	struct request_error e;
	json_t *o;

	assert_non_null(f);
	assert_int_equal(key_generate(KEY_ED25519, 0, &f->alice), 0);
	assert_int_equal(key_generate(KEY_ECDSA_P256, 0, &f->erin), 0);
	assert_int_equal(key_generate(KEY_ED25519, 0, &f->other), 0);
	assert_int_equal(key_to_line(f->alice, NULL, &alice_line), 0);
	assert_int_equal(key_to_line(f->erin, NULL, &erin_line), 0);
	assert_true(asprintf(&text,
			     "version: 1\n"
			     "users:\n"
			     "  alice:\n"
			     "    keys: [\"%s\"]\n"
			     "  erin:\n"
			     "    disabled: true\n"
			     "    keys: [\"%s\"]\n"
			     "rules:\n"
			     "  - name: self\n"
			     "    users: [alice]\n"
			     "    hosts: [\"*\"]\n"
			     "    logins: [\"${user}\"]\n",
			     alice_line, erin_line) > 0);
	if (policy_load_buffer("test-policy", text, strlen(text), &f->policy, &err) < 0)
		fail_msg("policy: %s", err ? err : "?");
	o = valid_object();
	f->body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	assert_int_equal(request_parse((const uint8_t *)f->body, strlen(f->body), &f->req, &e), 0);
	free(alice_line);
	free(erin_line);
	free(text);
	*state = f;
	return 0;
}

static int auth_teardown(void **state)
{
	struct auth_fixture *f = *state;

	key_free(f->alice);
	key_free(f->erin);
	key_free(f->other);
	policy_unref(f->policy);
	request_free(f->req);
	free(f->body);
	free(f);
	return 0;
}

/* An SSHSIG by @k over @msg in namespace @ns. */
static uint8_t *make_sig(const struct key *k, const char *ns, const char *msg, size_t *ret_len)
{
	struct signer s = key_signer(k);
	uint8_t *blob = NULL;

	assert_int_equal(sig_sign(&s, ns, (const uint8_t *)msg, strlen(msg), NULL, &blob, ret_len),
			 0);
	return blob;
}

static int authenticate(struct auth_fixture *f, const char *user, const uint8_t *sig, size_t siglen,
			struct request_error *e)
{
	struct key *signer = NULL;
	char *saved = f->req->user;
	int r;

	f->req->user = (char *)user;
	memset(e, 0, sizeof(*e));
	r = request_authenticate(f->req, (const uint8_t *)f->body, strlen(f->body), sig, siglen,
				 f->policy, &signer, e);
	f->req->user = saved;
	if (r == 0)
		assert_non_null(signer);
	else
		assert_null(signer);
	key_free(signer);
	return r;
}

static void test_signature_by_an_enrolled_key_is_accepted(void **state)
{
	struct auth_fixture *f = *state;
	struct request_error e;
	struct key *signer = NULL;
	size_t len;
	uint8_t *sig = make_sig(f->alice, REQUEST_SIG_NAMESPACE, f->body, &len);

	assert_int_equal(request_authenticate(f->req, (const uint8_t *)f->body, strlen(f->body),
					      sig, len, f->policy, &signer, &e),
			 0);
	assert_true(key_equal_public(signer, f->alice));
	key_free(signer);
	free(sig);
}

static void test_signature_by_a_key_of_nobody_is_unknown(void **state)
{
	struct auth_fixture *f = *state;
	struct request_error e;
	size_t len;
	uint8_t *sig = make_sig(f->other, REQUEST_SIG_NAMESPACE, f->body, &len);

	assert_int_equal(authenticate(f, "alice", sig, len, &e), JIT_E_NOT_FOUND);
	assert_int_equal(e.status, 401);
	assert_string_equal(e.code, "unknown_user_or_key");
	free(sig);
}

static void test_signature_of_an_unknown_key_is_refused_before_it_is_verified(void **state)
{
	struct auth_fixture *f = *state;
	struct request_error e;
	size_t len;
	uint8_t *sig = make_sig(f->other, REQUEST_SIG_NAMESPACE, f->body, &len);

	/* A signature that would not verify: the key is not enrolled, so it is never tried. */
	sig[len - 1] ^= 0x01;
	assert_int_equal(authenticate(f, "alice", sig, len, &e), JIT_E_NOT_FOUND);
	assert_int_equal(e.status, 401);
	assert_string_equal(e.code, "unknown_user_or_key");
	free(sig);
}

static void test_unknown_and_disabled_users_get_the_same_answer(void **state)
{
	struct auth_fixture *f = *state;
	struct request_error e1, e2;
	size_t len1, len2;
	uint8_t *sig1 = make_sig(f->alice, REQUEST_SIG_NAMESPACE, f->body, &len1);
	uint8_t *sig2 = make_sig(f->erin, REQUEST_SIG_NAMESPACE, f->body, &len2);

	assert_int_equal(authenticate(f, "mallory", sig1, len1, &e1), JIT_E_NOT_FOUND);
	assert_int_equal(authenticate(f, "erin", sig2, len2, &e2), JIT_E_NOT_FOUND);
	assert_string_equal(e1.code, "unknown_user_or_key");
	assert_string_equal(e2.code, "unknown_user_or_key");
	/* The same words but for the name the requester sent. */
	assert_non_null(strstr(e1.message, "is unknown or the signing key is not enrolled"));
	assert_non_null(strstr(e2.message, "is unknown or the signing key is not enrolled"));
	free(sig1);
	free(sig2);
}

static void test_signature_in_another_namespace_is_refused(void **state)
{
	struct auth_fixture *f = *state;
	struct request_error e;
	size_t len;
	uint8_t *sig = make_sig(f->alice, "file", f->body, &len);

	assert_int_equal(authenticate(f, "alice", sig, len, &e), JIT_E_SIGNATURE);
	assert_string_equal(e.code, "bad_signature");
	assert_non_null(strstr(e.message, REQUEST_SIG_NAMESPACE));
	free(sig);
}

static void test_signature_over_other_bytes_is_refused(void **state)
{
	struct auth_fixture *f = *state;
	struct request_error e;
	char *other = strdup(f->body);
	size_t len;
	uint8_t *sig;

	other[strlen(other) - 2] ^= 1; /* one byte of the body differs */
	sig = make_sig(f->alice, REQUEST_SIG_NAMESPACE, other, &len);
	assert_int_equal(authenticate(f, "alice", sig, len, &e), JIT_E_SIGNATURE);
	assert_int_equal(e.status, 401);
	assert_string_equal(e.code, "bad_signature");
	free(sig);
	free(other);
}

static void test_signature_truncated_at_every_length_is_refused(void **state)
{
	struct auth_fixture *f = *state;
	size_t len;
	uint8_t *sig = make_sig(f->alice, REQUEST_SIG_NAMESPACE, f->body, &len);

	for (size_t n = 0; n < len; n++) {
		struct request_error e;
		uint8_t *cut = malloc(n ? n : 1);

		memcpy(cut, sig, n);
		assert_int_equal(authenticate(f, "alice", cut, n, &e), JIT_E_SIGNATURE);
		assert_string_equal(e.code, "bad_signature");
		free(cut);
	}
	free(sig);
}

static void test_signature_with_any_byte_flipped_is_refused(void **state)
{
	struct auth_fixture *f = *state;
	size_t len;
	uint8_t *sig = make_sig(f->alice, REQUEST_SIG_NAMESPACE, f->body, &len);

	for (size_t i = 0; i < len; i++) {
		struct request_error e;

		sig[i] ^= 0x01;
		if (authenticate(f, "alice", sig, len, &e) == 0)
			fail_msg("signature with byte %zu flipped was accepted", i);
		sig[i] ^= 0x01;
	}
	free(sig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_body_is_parsed_with_every_field),
		cmocka_unit_test(test_optional_fields_may_be_absent),
		cmocka_unit_test(test_every_missing_required_field_is_named),
		cmocka_unit_test(test_every_mistyped_field_is_named),
		cmocka_unit_test(test_public_key_may_be_absent_only_when_optional),
		cmocka_unit_test(test_optional_public_key_is_still_checked_when_present),
		cmocka_unit_test(test_unknown_field_is_refused_by_name),
		cmocka_unit_test(test_body_that_is_not_json_is_malformed),
		cmocka_unit_test(test_duplicate_keys_are_malformed),
		cmocka_unit_test(test_nul_inside_a_string_is_refused),
		cmocka_unit_test(test_body_of_exactly_the_limit_is_accepted),
		cmocka_unit_test(test_body_one_byte_over_the_limit_is_too_large),
		cmocka_unit_test(test_truncated_body_is_refused_at_every_length),
		cmocka_unit_test(test_nonce_length_limits_are_enforced),
		cmocka_unit_test(test_nonce_with_characters_outside_the_set_is_refused),
		cmocka_unit_test(test_unsafe_user_names_are_refused),
		cmocka_unit_test(test_unsafe_logins_are_refused),
		cmocka_unit_test(test_bad_host_names_are_refused),
		cmocka_unit_test(test_reason_limits_are_enforced),
		cmocka_unit_test(test_reason_with_hidden_or_direction_characters_is_refused),
		cmocka_unit_test(test_text_that_is_not_well_formed_utf8_is_unsafe),
		cmocka_unit_test(test_public_key_that_is_not_usable_is_refused),
		cmocka_unit_test(test_ttl_over_every_cap_is_accepted_for_capping),
		cmocka_unit_test(test_authorization_header_with_a_valid_form_is_decoded),
		cmocka_unit_test(test_bad_authorization_headers_are_refused),
		cmocka_unit_test(test_missing_authorization_header_is_named),
		cmocka_unit_test(test_overlong_authorization_header_is_refused),
		cmocka_unit_test(test_timestamp_inside_the_window_is_accepted),
		cmocka_unit_test(test_timestamp_one_second_outside_the_window_is_clock_skew),
		cmocka_unit_test(test_request_ids_are_32_lower_case_hex_and_differ),
		cmocka_unit_test(test_request_id_validation_refuses_other_forms),
		cmocka_unit_test_setup_teardown(test_signature_by_an_enrolled_key_is_accepted,
						auth_setup, auth_teardown),
		cmocka_unit_test_setup_teardown(test_signature_by_a_key_of_nobody_is_unknown,
						auth_setup, auth_teardown),
		cmocka_unit_test_setup_teardown(
			test_signature_of_an_unknown_key_is_refused_before_it_is_verified,
			auth_setup, auth_teardown),
		cmocka_unit_test_setup_teardown(test_unknown_and_disabled_users_get_the_same_answer,
						auth_setup, auth_teardown),
		cmocka_unit_test_setup_teardown(test_signature_in_another_namespace_is_refused,
						auth_setup, auth_teardown),
		cmocka_unit_test_setup_teardown(test_signature_over_other_bytes_is_refused,
						auth_setup, auth_teardown),
		cmocka_unit_test_setup_teardown(test_signature_truncated_at_every_length_is_refused,
						auth_setup, auth_teardown),
		cmocka_unit_test_setup_teardown(test_signature_with_any_byte_flipped_is_refused,
						auth_setup, auth_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
