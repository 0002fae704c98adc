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
#include "err.h"
#include "helpers.h"
#include "key.h"
#include "request.h"
#include "sig.h"

#define NOW 1700000000u
#define NONCE "0123456789abcdef0123456789abcdef"
#define PUBLINE "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"

static const struct request base = {
	.user = "alice",
	.host = "prod-web-3",
	.login = "root",
	.public_key = PUBLINE,
	.ttl_sec = 600,
	.reason = "INC-42",
	.timestamp = NOW,
	.nonce = NONCE,
};

static json_t *parse_back(const char *body, size_t len)
{
	json_error_t e;
	json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);

	assert_non_null(o);
	assert_true(json_is_object(o));
	return o;
}

static void test_body_has_every_field_with_its_type(void **state)
{
	char *body = NULL;
	size_t len = 0;
	json_t *o;
	(void)state;
	assert_int_equal(request_body(&base, &body, &len), 0);
	assert_int_equal(len, strlen(body));
	o = parse_back(body, len);
	assert_int_equal(json_object_size(o), 8);
	assert_string_equal(json_string_value(json_object_get(o, "user")), "alice");
	assert_string_equal(json_string_value(json_object_get(o, "host")), "prod-web-3");
	assert_string_equal(json_string_value(json_object_get(o, "login")), "root");
	assert_string_equal(json_string_value(json_object_get(o, "public_key")), PUBLINE);
	assert_true(json_is_integer(json_object_get(o, "ttl_seconds")));
	assert_int_equal(json_integer_value(json_object_get(o, "ttl_seconds")), 600);
	assert_string_equal(json_string_value(json_object_get(o, "reason")), "INC-42");
	assert_true(json_is_integer(json_object_get(o, "timestamp")));
	assert_int_equal(json_integer_value(json_object_get(o, "timestamp")), NOW);
	assert_string_equal(json_string_value(json_object_get(o, "nonce")), NONCE);
	json_decref(o);
	free(body);
}

static void test_ttl_and_reason_are_left_out_when_not_given(void **state)
{
	struct request req = base;
	char *body = NULL;
	size_t len = 0;
	json_t *o;
	(void)state;
	req.ttl_sec = 0;
	req.reason = NULL;
	assert_int_equal(request_body(&req, &body, &len), 0);
	o = parse_back(body, len);
	assert_int_equal(json_object_size(o), 6);
	assert_null(json_object_get(o, "ttl_seconds"));
	assert_null(json_object_get(o, "reason"));
	json_decref(o);
	free(body);
}

static void test_quotes_and_backslashes_in_the_reason_survive_the_round_trip(void **state)
{
	struct request req = base;
	char *body = NULL;
	size_t len = 0;
	json_t *o;
	(void)state;
	req.reason = "say \"hi\" \\ caf\xc3\xa9 }{";
	assert_int_equal(request_body(&req, &body, &len), 0);
	o = parse_back(body, len);
	assert_string_equal(json_string_value(json_object_get(o, "reason")), req.reason);
	json_decref(o);
	free(body);
}

static void test_missing_field_or_non_utf8_text_is_refused(void **state)
{
	struct request req = base;
	char *body = NULL;
	size_t len = 0;
	(void)state;
	req.login = NULL;
	assert_int_equal(request_body(&req, &body, &len), -EINVAL);
	req = base;
	req.nonce = NULL;
	assert_int_equal(request_body(&req, &body, &len), -EINVAL);
	req = base;
	req.reason = "bad \xff";
	assert_int_equal(request_body(&req, &body, &len), -EINVAL);
	req = base;
	req.timestamp = (uint64_t)INT64_MAX + 1;
	assert_int_equal(request_body(&req, &body, &len), -EINVAL);
	assert_null(body);
}

static void test_explain_body_leaves_the_public_key_out(void **state)
{
	struct request req = base;
	char *body = NULL;
	size_t len = 0;
	json_t *o;
	(void)state;
	req.public_key = NULL;
	assert_int_equal(request_body(&req, &body, &len), 0);
	o = parse_back(body, len);
	assert_int_equal(json_object_size(o), 7);
	assert_null(json_object_get(o, "public_key"));
	assert_string_equal(json_string_value(json_object_get(o, "nonce")), NONCE);
	json_decref(o);
	free(body);
}

static void test_body_over_the_limit_is_refused(void **state)
{
	struct request req = base;
	char *big = malloc(REQUEST_BODY_MAX + 1), *body = NULL;
	size_t len = 0;
	(void)state;
	memset(big, 'x', REQUEST_BODY_MAX);
	big[REQUEST_BODY_MAX] = 0;
	req.reason = big;
	assert_int_equal(request_body(&req, &body, &len), JIT_E_TOO_LARGE);
	assert_null(body);
	free(big);
}

static void test_nonce_is_32_lower_hex_characters_and_fresh_each_time(void **state)
{
	char *a = NULL, *b = NULL;
	(void)state;
	assert_int_equal(request_nonce(&a), 0);
	assert_int_equal(request_nonce(&b), 0);
	assert_int_equal(strlen(a), REQUEST_NONCE_LEN);
	assert_int_equal(strspn(a, "0123456789abcdef"), REQUEST_NONCE_LEN);
	assert_string_not_equal(a, b);
	free(a);
	free(b);
}

/* The header's SSHSIG blob over the body, as `ssh-keygen -Y verify` checks it. */
static void test_authorization_verifies_with_ssh_keygen(void **state)
{
	const char *keygen = getenv("SSH_KEYGEN") ? getenv("SSH_KEYGEN") : "ssh-keygen";
	struct key *k = NULL, *signer_key = NULL;
	char *body = NULL, *auth = NULL, *pub = NULL, *armored = NULL, *allowed = NULL;
	char *dir = th_tmpdir(), *f_body, *f_sig, *f_allowed, *cmd = NULL;
	uint8_t *blob = NULL;
	size_t len = 0, blob_len = 0;
	struct signer s;
	(void)state;

	assert_int_equal(key_generate(KEY_ED25519, 0, &k), 0);
	s = key_signer(k);
	assert_int_equal(request_body(&base, &body, &len), 0);
	assert_int_equal(request_authorization(&s, body, len, &auth), 0);
	assert_true(strncmp(auth, "SSHSIG ", 7) == 0);
	assert_int_equal(b64_decode(auth + 7, strlen(auth + 7), &blob, &blob_len), 0);

	/* our own verifier agrees, and names the signing key */
	assert_int_equal(sig_verify(blob, blob_len, REQUEST_SIG_NAMESPACE, (const uint8_t *)body,
				    len, &signer_key),
			 0);
	assert_true(key_equal_public(signer_key, k));

	assert_int_equal(sig_armor(blob, blob_len, &armored), 0);
	assert_int_equal(key_to_line(k, NULL, &pub), 0);
	assert_true(asprintf(&allowed, "alice %s\n", pub) > 0);
	f_body = th_write(dir, "body.json", body, 0600);
	f_sig = th_write(dir, "body.json.sig", armored, 0600);
	f_allowed = th_write(dir, "allowed", allowed, 0600);
	assert_true(asprintf(&cmd, "%s -Y verify -f %s -I alice -n %s -s %s < %s >/dev/null 2>&1",
			     keygen, f_allowed, REQUEST_SIG_NAMESPACE, f_sig, f_body) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	/* and it fails for another namespace, so the check above can fail */
	assert_true(asprintf(&cmd,
			     "%s -Y verify -f %s -I alice -n other -s %s < %s >/dev/null 2>&1",
			     keygen, f_allowed, f_sig, f_body) > 0);
	assert_int_not_equal(system(cmd), 0);

	free(cmd);
	free(f_body);
	free(f_sig);
	free(f_allowed);
	free(allowed);
	free(pub);
	free(armored);
	free(blob);
	free(auth);
	free(body);
	key_free(signer_key);
	key_free(k);
	th_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_has_every_field_with_its_type),
		cmocka_unit_test(test_ttl_and_reason_are_left_out_when_not_given),
		cmocka_unit_test(test_quotes_and_backslashes_in_the_reason_survive_the_round_trip),
		cmocka_unit_test(test_missing_field_or_non_utf8_text_is_refused),
		cmocka_unit_test(test_explain_body_leaves_the_public_key_out),
		cmocka_unit_test(test_body_over_the_limit_is_refused),
		cmocka_unit_test(test_nonce_is_32_lower_hex_characters_and_fresh_each_time),
		cmocka_unit_test(test_authorization_verifies_with_ssh_keygen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
