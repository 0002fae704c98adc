/* SPDX-License-Identifier: ISC */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "names.h"

static void test_plain_user_and_login_names_are_valid(void **state)
{
	(void)state;
	assert_true(name_user_valid("alice"));
	assert_true(name_user_valid("alice.smith@example.com"));
	assert_true(name_user_valid("a_b-c.9"));
	assert_true(name_login_valid("root"));
	assert_true(name_login_valid("deploy-bot_2"));
}

static void test_unsafe_names_are_refused(void **state)
{
	static const char *const bad[] = {
		"", "-rf", ".hidden", "a,b", "a b", "a\tb", "a*", "a?", "a[1]", "a:b", "a/b",
		"a\nb", "caf\xc3\xa9", "a\x7f", "${user}", "a;b", "a\"b", "a'b",
	};
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_false(name_user_valid(bad[i]));
		assert_false(name_login_valid(bad[i]));
	}
	assert_false(name_user_valid(NULL));
	assert_false(name_login_valid("a@b")); /* '@' only in user names */
}

static void test_names_at_the_length_limit_pass_and_one_more_fails(void **state)
{
	char s[NAME_MAX_LEN + 2];
	(void)state;
	memset(s, 'a', NAME_MAX_LEN);
	s[NAME_MAX_LEN] = 0;
	assert_true(name_login_valid(s));
	s[NAME_MAX_LEN] = 'a';
	s[NAME_MAX_LEN + 1] = 0;
	assert_false(name_login_valid(s));
}

static void test_host_case_and_trailing_dot_are_normalised(void **state)
{
	char *h = NULL;
	(void)state;
	assert_int_equal(host_normalize("PROD-WEB-3.", NULL, &h), 0);
	assert_string_equal(h, "prod-web-3");
	free(h);
}

static void test_host_domain_suffix_is_stripped(void **state)
{
	char *h = NULL;
	(void)state;
	assert_int_equal(host_normalize("PROD-WEB-3.Example.COM.", ".example.com", &h), 0);
	assert_string_equal(h, "prod-web-3");
	free(h);
	/* without the leading dot in the setting */
	assert_int_equal(host_normalize("db1.example.com", "example.com", &h), 0);
	assert_string_equal(h, "db1");
	free(h);
	/* a suffix that only matches part of a label is not stripped */
	assert_int_equal(host_normalize("myexample.com", "example.com", &h), 0);
	assert_string_equal(h, "myexample.com");
	free(h);
	/* a name that is only the suffix is not emptied */
	assert_int_equal(host_normalize("example.com", ".example.com", &h), 0);
	assert_string_equal(h, "example.com");
	free(h);
}

/* Regression: "staging-1..example.com" lost the suffix, then the dot before it, and came out
 * as the valid host "staging-1". */
static void test_an_empty_label_before_a_stripped_suffix_is_refused(void **state)
{
	static const char *const bad[] = {
		"staging-1..example.com", "STAGING-1..EXAMPLE.COM.", "staging-1...example.com",
		"..example.com", ".example.com",
	};
	char *h = (char *)"unchanged";
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(host_normalize(bad[i], ".example.com", &h), JIT_E_NAME);
		assert_string_equal(h, "unchanged");
		assert_int_equal(host_normalize(bad[i], "example.com", &h), JIT_E_NAME);
		assert_string_equal(h, "unchanged");
		assert_int_equal(host_normalize(bad[i], "example.com.", &h), JIT_E_NAME);
		assert_string_equal(h, "unchanged");
	}
}

static void test_an_empty_label_anywhere_is_refused_whatever_the_suffix(void **state)
{
	static const char *const bad[] = {
		"a..b.example.com", "a.b..example.com", "..a.example.com", "a.example..com",
		"a.example.com..", ".a.example.com",
	};
	static const char *const suffixes[] = {NULL, "", ".example.com", "example.com", ".com"};
	char *h = (char *)"unchanged";
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		for (size_t j = 0; j < sizeof suffixes / sizeof suffixes[0]; j++) {
			assert_int_equal(host_normalize(bad[i], suffixes[j], &h), JIT_E_NAME);
			assert_string_equal(h, "unchanged");
		}
}

static void test_unsafe_host_names_are_refused(void **state)
{
	static const char *const bad[] = {
		"", ".", "..", "a..b", ".a", "-a", "a_b", "a b", "a,b", "a*", "a:b", "a/b",
		"h\xc3\xb6st", "a;b",
	};
	char *h = (char *)"unchanged";
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(host_normalize(bad[i], NULL, &h), JIT_E_NAME);
		assert_string_equal(h, "unchanged");
	}
	char longname[HOST_NAME_MAX_LEN + 2];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	assert_int_equal(host_normalize(longname, NULL, &h), JIT_E_NAME);
}

static void test_principal_names_host_and_login(void **state)
{
	char *p = NULL;
	(void)state;
	assert_int_equal(principal_format("prod-web-3", "root", &p), 0);
	assert_string_equal(p, "jit:prod-web-3:root");
	free(p);
}

static void test_principal_with_unnormalised_or_unsafe_parts_is_refused(void **state)
{
	char *p = NULL;
	(void)state;
	assert_int_equal(principal_format("PROD", "root", &p), JIT_E_NAME);
	assert_int_equal(principal_format("prod", "ro,ot", &p), JIT_E_NAME);
	assert_int_equal(principal_format("prod", "", &p), JIT_E_NAME);
	assert_int_equal(principal_format("pr:od", "root", &p), JIT_E_NAME);
	assert_null(p);
}

static void test_error_codes_have_distinct_descriptions(void **state)
{
	(void)state;
	for (int e = JIT_E_BASE; e < JIT_E_END; e++) {
		assert_string_not_equal(jit_strerror(e), "unknown error");
		for (int f = e + 1; f < JIT_E_END; f++)
			assert_string_not_equal(jit_strerror(e), jit_strerror(f));
	}
	assert_string_equal(jit_strerror(JIT_E_END), "unknown error");
	assert_string_equal(jit_strerror(0), "success");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_user_and_login_names_are_valid),
		cmocka_unit_test(test_unsafe_names_are_refused),
		cmocka_unit_test(test_names_at_the_length_limit_pass_and_one_more_fails),
		cmocka_unit_test(test_host_case_and_trailing_dot_are_normalised),
		cmocka_unit_test(test_host_domain_suffix_is_stripped),
		cmocka_unit_test(test_an_empty_label_before_a_stripped_suffix_is_refused),
		cmocka_unit_test(test_an_empty_label_anywhere_is_refused_whatever_the_suffix),
		cmocka_unit_test(test_unsafe_host_names_are_refused),
		cmocka_unit_test(test_principal_names_host_and_login),
		cmocka_unit_test(test_principal_with_unnormalised_or_unsafe_parts_is_refused),
		cmocka_unit_test(test_error_codes_have_distinct_descriptions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
