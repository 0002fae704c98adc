/* SPDX-License-Identifier: ISC */
/*
 * test_conf.c - the flat YAML configuration reader: valid files, every error kind with its
 * exact FILE:LINE:COLUMN, and every limit plus one.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf.h"
#include "err.h"
#include "testutil.h"
#include "util.h"

static const char *const allowed[] = {"listen", "port", "plain_http", "ca_key", "policy", NULL};

/* Parse @text; expect failure @err with message @msg (exact); check nothing was returned. */
static void expect_error(const char *text, size_t len, int err, const char *msg)
{
	struct conf *c = (struct conf *)0x1;
	char *e = NULL;

	assert_int_equal(conf_parse("t.yaml", text, len, allowed, &c, &e), err);
	assert_ptr_equal(c, (struct conf *)0x1);
	assert_non_null(e);
	assert_string_equal(e, msg);
	free(e);
}

#define EXPECT_ERROR(text, err, msg) expect_error(text, sizeof(text) - 1, err, msg)

static struct conf *parse_ok(const char *text)
{
	struct conf *c = NULL;
	char *e = NULL;

	assert_int_equal(conf_parse("t.yaml", text, strlen(text), allowed, &c, &e), 0);
	assert_null(e);
	assert_non_null(c);
	return c;
}

static void test_valid_file_gives_each_value(void **state)
{
	(void)state;
	_cleanup_(conf_freep) struct conf *c = parse_ok("# CA settings\n"
							"listen: 127.0.0.1\n"
							"port: 8443   # comment\n"
							"ca_key: 'ca key'\n"
							"policy: \"/etc/p.yaml\"\n"
							"plain_http:\n");

	assert_string_equal(conf_get(c, "listen"), "127.0.0.1");
	assert_string_equal(conf_get(c, "port"), "8443");
	assert_string_equal(conf_get(c, "ca_key"), "ca key");
	assert_string_equal(conf_get(c, "policy"), "/etc/p.yaml");
	assert_string_equal(conf_get(c, "plain_http"), "");
}

static void test_key_not_in_file_is_absent(void **state)
{
	(void)state;
	_cleanup_(conf_freep) struct conf *c = parse_ok("port: 1\n");

	assert_null(conf_get(c, "listen"));
	assert_null(conf_get(c, "nonsense"));
}

static void test_flow_mapping_is_accepted(void **state)
{
	(void)state;
	_cleanup_(conf_freep) struct conf *c = parse_ok("{listen: '::1', port: 22}\n");

	assert_string_equal(conf_get(c, "listen"), "::1");
	assert_string_equal(conf_get(c, "port"), "22");
}

static void test_empty_and_comment_only_files_are_empty_configurations(void **state)
{
	(void)state;
	const char *texts[] = {"", "# nothing yet\n", "---\n", "---\n...\n"};

	for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
		_cleanup_(conf_freep) struct conf *c = parse_ok(texts[i]);
		assert_null(conf_get(c, "port"));
	}
}

static void test_yaml_syntax_error_names_line_and_column(void **state)
{
	(void)state;
	EXPECT_ERROR("listen: 127.0.0.1\nport: a: b\n", JIT_E_FORMAT,
		     "t.yaml:2:8: mapping values are not allowed in this context");
}

static void test_unterminated_quote_is_an_error(void **state)
{
	(void)state;
	EXPECT_ERROR("port: \"8443\n", JIT_E_FORMAT,
		     "t.yaml:2:1: found unexpected end of stream while scanning a quoted scalar");
}

static void test_invalid_utf8_is_an_error_at_its_byte(void **state)
{
	(void)state;
	EXPECT_ERROR("port: 1\nlisten: \xff\n", JIT_E_FORMAT,
		     "t.yaml:2:9: invalid leading UTF-8 octet");
}

static void test_top_level_scalar_is_refused(void **state)
{
	(void)state;
	EXPECT_ERROR("just text\n", JIT_E_FORMAT,
		     "t.yaml:1:1: the top level must be a mapping of keys to values");
}

static void test_top_level_sequence_is_refused(void **state)
{
	(void)state;
	EXPECT_ERROR("# list\n- port\n", JIT_E_FORMAT,
		     "t.yaml:2:1: the top level must be a mapping of keys to values");
}

static void test_second_document_is_refused(void **state)
{
	(void)state;
	EXPECT_ERROR("port: 1\n---\nport: 2\n", JIT_E_FORMAT,
		     "t.yaml:2:1: only one YAML document is allowed");
}

static void test_anchor_on_value_is_refused(void **state)
{
	(void)state;
	EXPECT_ERROR("listen: x\nport: &p 1\n", JIT_E_FORMAT,
		     "t.yaml:2:7: anchors are not allowed (value of 'port')");
}

static void test_anchor_on_key_is_refused(void **state)
{
	(void)state;
	EXPECT_ERROR("&k port: 1\n", JIT_E_FORMAT, "t.yaml:1:1: anchors are not allowed (key)");
}

static void test_anchor_on_top_level_mapping_is_refused(void **state)
{
	(void)state;
	EXPECT_ERROR("--- &top\nport: 1\n", JIT_E_FORMAT,
		     "t.yaml:1:5: anchors are not allowed (top level)");
}

static void test_alias_is_refused(void **state)
{
	(void)state;
	EXPECT_ERROR("port: 1\nlisten: *x\n", JIT_E_FORMAT,
		     "t.yaml:2:9: aliases are not allowed (value of 'listen')");
}

static void test_tag_is_refused(void **state)
{
	(void)state;
	EXPECT_ERROR("port: !!int 1\n", JIT_E_FORMAT,
		     "t.yaml:1:7: tags are not allowed (value of 'port')");
}

static void test_nested_mapping_is_refused(void **state)
{
	(void)state;
	EXPECT_ERROR("port: 1\nlisten:\n  host: a\n", JIT_E_FORMAT,
		     "t.yaml:3:3: nested mappings are not allowed (value of 'listen')");
}

static void test_sequence_value_is_refused(void **state)
{
	(void)state;
	EXPECT_ERROR("port: [1, 2]\n", JIT_E_FORMAT,
		     "t.yaml:1:7: sequences are not allowed (value of 'port')");
}

static void test_mapping_as_key_is_refused(void **state)
{
	(void)state;
	EXPECT_ERROR("port: 1\n? {a: b}\n: c\n", JIT_E_FORMAT,
		     "t.yaml:2:3: nested mappings are not allowed (key)");
}

static void test_duplicate_key_is_refused_naming_both_lines(void **state)
{
	(void)state;
	EXPECT_ERROR("port: 1\nlisten: x\n# again\nport: 2\n", JIT_E_FORMAT,
		     "t.yaml:4:1: duplicate key 'port' (first given on line 1)");
}

static void test_unknown_key_is_refused(void **state)
{
	(void)state;
	EXPECT_ERROR("port: 1\nprot: 2\n", JIT_E_FORMAT, "t.yaml:2:1: unknown key 'prot'");
}

static void test_unknown_key_is_quoted_safely(void **state)
{
	(void)state;
	EXPECT_ERROR("\"a\\tb\\\\\": 1\n", JIT_E_FORMAT, "t.yaml:1:1: unknown key 'a\\x09b\\x5c'");
}

static void test_nul_byte_in_value_is_refused(void **state)
{
	(void)state;
	EXPECT_ERROR("port: \"80\\0\"\n", JIT_E_FORMAT, "t.yaml:1:7: NUL byte in value of 'port'");
}

static void test_nul_byte_in_key_is_refused(void **state)
{
	(void)state;
	EXPECT_ERROR("\"port\\0\": 1\n", JIT_E_FORMAT, "t.yaml:1:1: NUL byte in key");
}

static void test_file_of_exactly_the_limit_is_accepted(void **state)
{
	(void)state;
	_cleanup_free_ char *t = malloc(CONF_FILE_MAX + 1);
	_cleanup_(conf_freep) struct conf *c = NULL;

	assert_non_null(t);
	memset(t, '#', CONF_FILE_MAX);
	memcpy(t + CONF_FILE_MAX - 9, "\nport: 1\n", 9);
	assert_int_equal(conf_parse("t.yaml", t, CONF_FILE_MAX, allowed, &c, NULL), 0);
	assert_string_equal(conf_get(c, "port"), "1");
}

static void test_file_one_byte_over_the_limit_is_refused(void **state)
{
	(void)state;
	_cleanup_free_ char *t = malloc(CONF_FILE_MAX + 1);
	char msg[128];

	assert_non_null(t);
	memset(t, '#', CONF_FILE_MAX + 1);
	memcpy(t, "port: 1\n", 8);
	snprintf(msg, sizeof msg, "t.yaml:2:%u: file is larger than %u bytes",
		 CONF_FILE_MAX - 8 + 1, CONF_FILE_MAX);
	expect_error(t, CONF_FILE_MAX + 1, JIT_E_TOO_LARGE, msg);
}

/* A key list k0..k<n-1> and a file that sets each of them. */
static void make_keys(size_t n, char ***ret_allowed, char **ret_text)
{
	char **names = calloc(n + 1, sizeof *names);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(names);
	assert_non_null(f);
	for (size_t i = 0; i < n; i++) {
		assert_true(asprintf(&names[i], "k%zu", i) > 0);
		fprintf(f, "%s: v\n", names[i]);
	}
	fclose(f);
	*ret_allowed = names;
	*ret_text = text;
}

static void free_keys(char **names)
{
	for (size_t i = 0; names[i]; i++)
		free(names[i]);
	free(names);
}

static void test_keys_up_to_the_limit_are_accepted(void **state)
{
	(void)state;
	char **names, *text;
	struct conf *c = NULL;

	make_keys(CONF_KEYS_MAX, &names, &text);
	assert_int_equal(
		conf_parse("t.yaml", text, strlen(text), (const char *const *)names, &c, NULL), 0);
	assert_string_equal(conf_get(c, "k127"), "v");
	conf_free(c);
	free(text);
	free_keys(names);
}

static void test_one_key_over_the_limit_is_refused(void **state)
{
	(void)state;
	char **names, *text, *e = NULL;
	struct conf *c = NULL;

	make_keys(CONF_KEYS_MAX + 1, &names, &text);
	assert_int_equal(
		conf_parse("t.yaml", text, strlen(text), (const char *const *)names, &c, &e),
		JIT_E_TOO_LARGE);
	assert_null(c);
	assert_string_equal(e, "t.yaml:129:1: more than 128 keys");
	free(e);
	free(text);
	free_keys(names);
}

static void test_value_of_the_limit_is_accepted_and_one_more_is_refused(void **state)
{
	(void)state;
	char text[CONF_VALUE_MAX + 16];
	struct conf *c = NULL;

	memcpy(text, "port: ", 6);
	memset(text + 6, 'x', CONF_VALUE_MAX);
	text[6 + CONF_VALUE_MAX] = '\n';
	assert_int_equal(conf_parse("t.yaml", text, 6 + CONF_VALUE_MAX + 1, allowed, &c, NULL), 0);
	assert_int_equal(strlen(conf_get(c, "port")), CONF_VALUE_MAX);
	c = conf_free(c);

	memset(text + 6, 'x', CONF_VALUE_MAX + 1);
	text[6 + CONF_VALUE_MAX + 1] = '\n';
	expect_error(text, 6 + CONF_VALUE_MAX + 2, JIT_E_TOO_LARGE,
		     "t.yaml:1:7: value of 'port' is longer than 4096 bytes");
}

static void test_error_message_is_optional(void **state)
{
	(void)state;
	struct conf *c = NULL;

	assert_int_equal(conf_parse("t.yaml", "x: 1", 4, allowed, &c, NULL), JIT_E_FORMAT);
	assert_null(c);
}

static void test_load_reads_a_file_and_names_it_in_errors(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = tu_tmpdir(), *good = NULL, *bad = NULL;
	struct conf *c = NULL;
	char *e = NULL, *want = NULL;

	assert_non_null(dir);
	assert_true(asprintf(&good, "%s/good.yaml", dir) > 0);
	assert_true(asprintf(&bad, "%s/bad.yaml", dir) > 0);
	assert_int_equal(tu_write_file(good, "port: 9\n", 8, 0600), 0);
	assert_int_equal(tu_write_file(bad, "port: 9\nport: 9\n", 16, 0600), 0);

	assert_int_equal(conf_load(good, allowed, &c, &e), 0);
	assert_string_equal(conf_get(c, "port"), "9");
	c = conf_free(c);

	assert_int_equal(conf_load(bad, allowed, &c, &e), JIT_E_FORMAT);
	assert_true(asprintf(&want, "%s:2:1: duplicate key 'port' (first given on line 1)", bad) >
		    0);
	assert_string_equal(e, want);
	free(e);
	free(want);
	tu_rmtree(dir);
}

static void test_load_of_missing_file_is_enoent_without_message(void **state)
{
	(void)state;
	struct conf *c = NULL;
	char *e = NULL;

	assert_int_equal(conf_load("/nonexistent/jit-ssh/config.yaml", allowed, &c, &e), -ENOENT);
	assert_null(c);
	assert_null(e);
}

static void test_load_of_oversized_file_is_refused(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = tu_tmpdir(), *path = NULL, *t = malloc(CONF_FILE_MAX + 1);
	struct conf *c = NULL;

	assert_non_null(dir);
	assert_non_null(t);
	memset(t, '#', CONF_FILE_MAX + 1);
	assert_true(asprintf(&path, "%s/big.yaml", dir) > 0);
	assert_int_equal(tu_write_file(path, t, CONF_FILE_MAX + 1, 0600), 0);
	assert_int_equal(conf_load(path, allowed, &c, NULL), JIT_E_TOO_LARGE);
	assert_null(c);
	tu_rmtree(dir);
}

static void test_u64_in_range_is_returned(void **state)
{
	(void)state;
	_cleanup_(conf_freep) struct conf *c = parse_ok("port: 8443\n");
	uint64_t v = 0;

	assert_int_equal(conf_get_u64(c, "port", 1, 65535, &v, NULL), 0);
	assert_int_equal(v, 8443);
}

static void test_u64_absent_leaves_default(void **state)
{
	(void)state;
	_cleanup_(conf_freep) struct conf *c = parse_ok("listen: x\n");
	uint64_t v = 42;

	assert_int_equal(conf_get_u64(c, "port", 1, 65535, &v, NULL), 0);
	assert_int_equal(v, 42);
}

static void test_u64_out_of_range_or_not_decimal_is_refused(void **state)
{
	(void)state;
	const char *bad[] = {"0",
			     "65536",
			     "-1",
			     "+1",
			     "0x10",
			     "1 2",
			     "8443.0",
			     "''",
			     "18446744073709551616",
			     "99999999999999999999999"};

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		_cleanup_free_ char *text = NULL;
		struct conf *c;
		uint64_t v = 42;
		char *e = NULL;

		assert_true(asprintf(&text, "listen: x\nport: %s\n", bad[i]) > 0);
		c = parse_ok(text);
		assert_int_equal(conf_get_u64(c, "port", 1, 65535, &v, &e), JIT_E_FORMAT);
		assert_int_equal(v, 42);
		assert_string_equal(e, "t.yaml:2:7: 'port' must be a decimal integer in 1..65535");
		free(e);
		conf_free(c);
	}
}

static void test_u64_accepts_the_full_range(void **state)
{
	(void)state;
	_cleanup_(conf_freep) struct conf *c = parse_ok("port: 18446744073709551615\n");
	uint64_t v = 0;

	assert_int_equal(conf_get_u64(c, "port", 0, UINT64_MAX, &v, NULL), 0);
	assert_true(v == UINT64_MAX);
}

static void test_bool_words_are_read(void **state)
{
	(void)state;
	const char *words[] = {"true", "yes", "false", "no"};

	for (size_t i = 0; i < ELEMENTSOF(words); i++) {
		_cleanup_free_ char *text = NULL;
		struct conf *c;
		int v = -1;

		assert_true(asprintf(&text, "plain_http: %s\n", words[i]) > 0);
		c = parse_ok(text);
		assert_int_equal(conf_get_bool(c, "plain_http", &v, NULL), 0);
		assert_int_equal(v, i < 2);
		conf_free(c);
	}
}

static void test_bool_other_word_is_refused(void **state)
{
	(void)state;
	_cleanup_(conf_freep) struct conf *c = parse_ok("plain_http: maybe\n");
	char *e = NULL;
	int v = -1;

	assert_int_equal(conf_get_bool(c, "plain_http", &v, &e), JIT_E_FORMAT);
	assert_int_equal(v, -1);
	assert_string_equal(e, "t.yaml:1:13: 'plain_http' must be true, false, yes or no");
	free(e);
}

static void test_durations_take_one_number_and_one_unit(void **state)
{
	static const struct {
		const char *text;
		uint64_t sec;
	} ok[] = {
		{"600", 600},	{"90s", 90}, {"10m", 600}, {"1h", 3600},
		{"2d", 172800}, {"007", 7},  {"1", 1},	   {"604800", 604800},
	};
	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
		uint64_t v = 0;

		if (conf_parse_duration(ok[i].text, 7 * 86400, &v) != 0 || v != ok[i].sec)
			fail_msg("'%s' gave %llu", ok[i].text, (unsigned long long)v);
	}
}

static void test_durations_outside_the_grammar_or_range_are_refused(void **state)
{
	static const char *const bad[] = {
		"",	"0",	 "0m",	"s",	 "-5",	 "+5", " 5", "5 ",  "5x",  "1h30m",
		"5mm",	"1.5h",	 "8d",	"604801", "99999999999999999999999",
		"18446744073709551616", "1e3",
	};
	uint64_t v = 42;

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		if (conf_parse_duration(bad[i], 7 * 86400, &v) != -EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
	assert_int_equal(v, 42); /* untouched on failure */
	assert_int_equal(conf_parse_duration(NULL, 60, &v), -EINVAL);
	assert_int_equal(conf_parse_duration("61", 60, &v), -EINVAL);
	assert_int_equal(conf_parse_duration("1m", 60, &v), 0);
	assert_int_equal(v, 60);
	/* Any @max_sec: no digit string wraps around to a small number. */
	assert_int_equal(conf_parse_duration("18446744073709551615", UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(conf_parse_duration("18446744073709551616", UINT64_MAX, &v), -EINVAL);
	assert_int_equal(conf_parse_duration("184467440737095516150", UINT64_MAX, &v), -EINVAL);
	assert_int_equal(conf_parse_duration("36893488147419103232", UINT64_MAX, &v), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_file_gives_each_value),
		cmocka_unit_test(test_key_not_in_file_is_absent),
		cmocka_unit_test(test_flow_mapping_is_accepted),
		cmocka_unit_test(test_empty_and_comment_only_files_are_empty_configurations),
		cmocka_unit_test(test_yaml_syntax_error_names_line_and_column),
		cmocka_unit_test(test_unterminated_quote_is_an_error),
		cmocka_unit_test(test_invalid_utf8_is_an_error_at_its_byte),
		cmocka_unit_test(test_top_level_scalar_is_refused),
		cmocka_unit_test(test_top_level_sequence_is_refused),
		cmocka_unit_test(test_second_document_is_refused),
		cmocka_unit_test(test_anchor_on_value_is_refused),
		cmocka_unit_test(test_anchor_on_key_is_refused),
		cmocka_unit_test(test_anchor_on_top_level_mapping_is_refused),
		cmocka_unit_test(test_alias_is_refused),
		cmocka_unit_test(test_tag_is_refused),
		cmocka_unit_test(test_nested_mapping_is_refused),
		cmocka_unit_test(test_sequence_value_is_refused),
		cmocka_unit_test(test_mapping_as_key_is_refused),
		cmocka_unit_test(test_duplicate_key_is_refused_naming_both_lines),
		cmocka_unit_test(test_unknown_key_is_refused),
		cmocka_unit_test(test_unknown_key_is_quoted_safely),
		cmocka_unit_test(test_nul_byte_in_value_is_refused),
		cmocka_unit_test(test_nul_byte_in_key_is_refused),
		cmocka_unit_test(test_file_of_exactly_the_limit_is_accepted),
		cmocka_unit_test(test_file_one_byte_over_the_limit_is_refused),
		cmocka_unit_test(test_keys_up_to_the_limit_are_accepted),
		cmocka_unit_test(test_one_key_over_the_limit_is_refused),
		cmocka_unit_test(test_value_of_the_limit_is_accepted_and_one_more_is_refused),
		cmocka_unit_test(test_error_message_is_optional),
		cmocka_unit_test(test_load_reads_a_file_and_names_it_in_errors),
		cmocka_unit_test(test_load_of_missing_file_is_enoent_without_message),
		cmocka_unit_test(test_load_of_oversized_file_is_refused),
		cmocka_unit_test(test_u64_in_range_is_returned),
		cmocka_unit_test(test_u64_absent_leaves_default),
		cmocka_unit_test(test_u64_out_of_range_or_not_decimal_is_refused),
		cmocka_unit_test(test_u64_accepts_the_full_range),
		cmocka_unit_test(test_bool_words_are_read),
		cmocka_unit_test(test_bool_other_word_is_refused),
		cmocka_unit_test(test_durations_take_one_number_and_one_unit),
		cmocka_unit_test(test_durations_outside_the_grammar_or_range_are_refused),
	};

	return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}
