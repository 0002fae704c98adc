/* SPDX-License-Identifier: ISC */
/*
 * test_config.c - loading the CA's config.yaml (config.h): defaults, relative paths, every
 * range limit and limit+1, the plain-HTTP rule, messages that name the file, and which files
 * the daemon may trust (owner and mode of the file and of its directory).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "err.h"

struct fixture {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/jit-ca-config-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/config.yaml", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void write_config(const struct fixture *f, const char *text)
{
	FILE *fp = fopen(f->path, "w");

	assert_non_null(fp);
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
}

/* Load @text; on failure return the code and leave the message in @ret_error. */
static int load(const struct fixture *f, const char *text, struct config **ret, char **ret_error)
{
	write_config(f, text);
	*ret = NULL;
	*ret_error = NULL;
	return config_load(f->path, ret, ret_error);
}

static void expect_refused(const struct fixture *f, const char *text, const char *mention)
{
	struct config *c;
	char *err;
	int r = load(f, text, &c, &err);

	if (r >= 0)
		fail_msg("config '%s' was accepted", text);
	assert_null(c);
	assert_non_null(err);
	if (!strstr(err, f->path))
		fail_msg("message '%s' does not name the file", err);
	if (mention && !strstr(err, mention))
		fail_msg("message '%s' does not mention '%s'", err, mention);
	free(err);
}

static void expect_loaded(const struct fixture *f, const char *text)
{
	struct config *c;
	char *err;

	if (load(f, text, &c, &err) < 0)
		fail_msg("config '%s' was refused: %s", text, err ? err : "");
	config_free(c);
}

static void test_defaults_apply_to_absent_keys(void **state)
{
	struct fixture *f = *state;
	struct config *c;
	char *err, *want;

	assert_int_equal(load(f, "port: 9000\n", &c, &err), 0);
	assert_string_equal(c->listen, "127.0.0.1");
	assert_int_equal(c->port, 9000);
	assert_false(c->plain_http);
	assert_int_equal(c->skew_sec, 60);
	assert_int_equal(c->max_ttl_sec, 3600);
	assert_int_equal(c->clock_window_sec, 120);
	assert_int_equal(c->signer_id, 0);
	assert_int_equal(c->ledger_map_size, 1ull << 30);
	assert_int_equal(c->ledger_map_size_max, 64ull << 30);
	assert_int_equal(c->checkpoint_records, 1000);
	assert_int_equal(c->checkpoint_sec, 3600);
	assert_int_equal(c->per_ip_connection_limit, 16);
	assert_int_equal(c->connection_timeout_sec, 10);
	assert_true(asprintf(&want, "%s/serve.pid", f->dir) > 0);
	assert_string_equal(c->pid_file, want);
	free(want);
	assert_true(asprintf(&want, "%s/ca_key", f->dir) > 0);
	assert_string_equal(c->ca_key, want);
	free(want);
	assert_true(asprintf(&want, "%s/ledger", f->dir) > 0);
	assert_string_equal(c->ledger, want);
	free(want);
	config_free(c);
}

static void test_relative_paths_are_relative_to_the_config_directory(void **state)
{
	struct fixture *f = *state;
	struct config *c;
	char *err, *want;

	assert_int_equal(load(f,
			      "ca_key: keys/ca\npolicy: /etc/jit/policy.yaml\n"
			      "tls_cert: ./t.pem\n",
			      &c, &err),
			 0);
	assert_true(asprintf(&want, "%s/keys/ca", f->dir) > 0);
	assert_string_equal(c->ca_key, want);
	free(want);
	assert_string_equal(c->policy, "/etc/jit/policy.yaml");
	assert_true(asprintf(&want, "%s/./t.pem", f->dir) > 0);
	assert_string_equal(c->tls_cert, want);
	free(want);
	config_free(c);
}

static void test_every_key_is_read(void **state)
{
	struct fixture *f = *state;
	struct config *c;
	char *err;

	assert_int_equal(load(f,
			      "listen: ::1\nport: 0\nplain_http: true\ntls_cert: c\ntls_key: k\n"
			      "ca_key: a\npolicy: p\nledger: l\nskew_sec: 0\nmax_ttl_sec: 600\n"
			      "clock_window_sec: 30\nsigner_id: 7\nledger_map_size: 1048576\n"
			      "ledger_map_size_max: 2097152\ncheckpoint_records: 10\n"
			      "checkpoint_sec: 60\npid_file: /run/jit/ca.pid\n"
			      "per_ip_connection_limit: 4\nconnection_timeout_sec: 5\n",
			      &c, &err),
			 0);
	assert_string_equal(c->listen, "::1");
	assert_int_equal(c->port, 0);
	assert_true(c->plain_http);
	assert_int_equal(c->skew_sec, 0);
	assert_int_equal(c->max_ttl_sec, 600);
	assert_int_equal(c->clock_window_sec, 30);
	assert_int_equal(c->signer_id, 7);
	assert_int_equal(c->ledger_map_size, 1048576);
	assert_int_equal(c->ledger_map_size_max, 2097152);
	assert_int_equal(c->checkpoint_records, 10);
	assert_int_equal(c->checkpoint_sec, 60);
	assert_string_equal(c->pid_file, "/run/jit/ca.pid");
	assert_int_equal(c->per_ip_connection_limit, 4);
	assert_int_equal(c->connection_timeout_sec, 5);
	config_free(c);
}

static void test_unknown_key_is_refused(void **state)
{
	expect_refused(*state, "port: 8443\nlisten_addr: 0.0.0.0\n", "listen_addr");
}

static void test_values_at_their_limits_are_accepted(void **state)
{
	struct fixture *f = *state;

	expect_loaded(f, "port: 65535\n");
	expect_loaded(f, "skew_sec: 300\n");
	expect_loaded(f, "max_ttl_sec: 1\n");
	expect_loaded(f, "max_ttl_sec: 604800\n");
	expect_loaded(f, "clock_window_sec: 3600\n");
	expect_loaded(f, "signer_id: 32767\n");
	expect_loaded(f, "checkpoint_records: 1\n");
	expect_loaded(f, "checkpoint_sec: 4294967296\n");
	expect_loaded(f, "per_ip_connection_limit: 1\n");
	expect_loaded(f, "per_ip_connection_limit: 256\n");
	expect_loaded(f, "connection_timeout_sec: 1\n");
	expect_loaded(f, "connection_timeout_sec: 3600\n");
}

static void test_values_one_past_their_limits_are_refused(void **state)
{
	struct fixture *f = *state;

	expect_refused(f, "port: 65536\n", "port");
	expect_refused(f, "port: -1\n", "port");
	expect_refused(f, "skew_sec: 301\n", "skew_sec");
	expect_refused(f, "max_ttl_sec: 0\n", "max_ttl_sec");
	expect_refused(f, "max_ttl_sec: 604801\n", "max_ttl_sec");
	expect_refused(f, "clock_window_sec: 0\n", "clock_window_sec");
	expect_refused(f, "clock_window_sec: 3601\n", "clock_window_sec");
	expect_refused(f, "signer_id: 32768\n", "signer_id");
	expect_refused(f, "ledger_map_size: 1048575\n", "ledger_map_size");
	expect_refused(f, "ledger_map_size_max: 1048575\n", "ledger_map_size_max");
	expect_refused(f, "checkpoint_records: 0\n", "checkpoint_records");
	expect_refused(f, "checkpoint_sec: 0\n", "checkpoint_sec");
	expect_refused(f, "checkpoint_sec: 4294967297\n", "checkpoint_sec");
	expect_refused(f, "per_ip_connection_limit: 0\n", "per_ip_connection_limit");
	expect_refused(f, "per_ip_connection_limit: 257\n", "per_ip_connection_limit");
	expect_refused(f, "connection_timeout_sec: 0\n", "connection_timeout_sec");
	expect_refused(f, "connection_timeout_sec: 3601\n", "connection_timeout_sec");
}

static void test_values_of_the_wrong_type_are_refused(void **state)
{
	struct fixture *f = *state;

	expect_refused(f, "port: https\n", "port");
	expect_refused(f, "plain_http: maybe\n", "plain_http");
	expect_refused(f, "skew_sec: 1m\n", "skew_sec");
}

static void test_listen_must_be_an_address_literal(void **state)
{
	struct fixture *f = *state;

	expect_refused(f, "listen: localhost\n", "listen");
	expect_refused(f, "listen: 127.0.0.1:8443\n", "listen");
	expect_loaded(f, "listen: 0.0.0.0\n");
	expect_loaded(f, "listen: \"::\"\n");
}

static void test_plain_http_needs_a_loopback_address(void **state)
{
	struct fixture *f = *state;

	expect_refused(f, "plain_http: true\nlisten: 0.0.0.0\n", "plain_http");
	expect_refused(f, "plain_http: true\nlisten: 192.168.1.10\n", "plain_http");
	expect_refused(f, "plain_http: true\nlisten: \"::\"\n", "plain_http");
	expect_loaded(f, "plain_http: true\nlisten: 127.0.0.1\n");
	expect_loaded(f, "plain_http: true\nlisten: 127.9.8.7\n");
	expect_loaded(f, "plain_http: true\nlisten: ::1\n");
}

static void test_plain_http_rule_is_checked_again_after_overrides(void **state)
{
	struct fixture *f = *state;
	struct config *c;
	char *err = NULL;

	assert_int_equal(load(f, "listen: 0.0.0.0\n", &c, &err), 0);
	c->plain_http = true;
	assert_int_equal(config_check_listen(c, &err), JIT_E_FORMAT);
	assert_non_null(strstr(err, "loopback"));
	free(err);
	config_free(c);
}

static void test_empty_path_is_refused(void **state)
{
	expect_refused(*state, "ca_key: \"\"\n", "ca_key");
}

static void test_missing_file_is_an_errno(void **state)
{
	struct config *c = NULL;
	char *err = NULL;

	(void)state;
	assert_int_equal(config_load("/nonexistent/jit-ssh-ca/config.yaml", &c, &err), -ENOENT);
	assert_null(c);
	free(err);
}

static void test_default_path_follows_the_environment(void **state)
{
	(void)state;
	unsetenv(CONFIG_ENV);
	assert_string_equal(config_default_path(), CONFIG_DEFAULT_PATH);
	setenv(CONFIG_ENV, "", 1);
	assert_string_equal(config_default_path(), CONFIG_DEFAULT_PATH);
	setenv(CONFIG_ENV, "/srv/ca/config.yaml", 1);
	assert_string_equal(config_default_path(), "/srv/ca/config.yaml");
	unsetenv(CONFIG_ENV);
}

static void test_loopback_detection_covers_both_families(void **state)
{
	(void)state;
	assert_true(config_address_is_loopback("127.0.0.1"));
	assert_true(config_address_is_loopback("127.255.255.254"));
	assert_true(config_address_is_loopback("::1"));
	assert_false(config_address_is_loopback("128.0.0.1"));
	assert_false(config_address_is_loopback("0.0.0.0"));
	assert_false(config_address_is_loopback("::"));
	assert_false(config_address_is_loopback("::ffff:10.0.0.1"));
	assert_false(config_address_is_loopback("localhost"));
}

/* config_check_trusted() on @path; 0, or the error with its message checked. */
static int trusted(const char *path, const char *mention)
{
	char *err = NULL;
	int r = config_check_trusted(path, &err);

	if (r < 0) {
		assert_non_null(err);
		if (mention && !strstr(err, mention))
			fail_msg("message '%s' does not mention '%s'", err, mention);
	}
	free(err);
	return r;
}

static void test_files_only_their_owner_can_change_are_trusted(void **state)
{
	struct fixture *f = *state;

	write_config(f, "port: 1\n");
	assert_int_equal(chmod(f->dir, 0700), 0);
	assert_int_equal(chmod(f->path, 0644), 0);
	assert_int_equal(trusted(f->path, NULL), 0);
	assert_int_equal(chmod(f->path, 0400), 0);
	assert_int_equal(trusted(f->path, NULL), 0);
}

static void test_file_writable_by_group_or_others_is_refused_with_the_fix(void **state)
{
	struct fixture *f = *state;
	char fix[256];

	write_config(f, "port: 1\n");
	assert_int_equal(chmod(f->dir, 0700), 0);
	snprintf(fix, sizeof(fix), "chmod go-w %s", f->path);
	assert_int_equal(chmod(f->path, 0664), 0);
	assert_int_equal(trusted(f->path, fix), JIT_E_PERMISSION);
	assert_int_equal(chmod(f->path, 0646), 0);
	assert_int_equal(trusted(f->path, fix), JIT_E_PERMISSION);
}

static void test_file_in_a_directory_others_can_write_is_refused(void **state)
{
	struct fixture *f = *state;
	char fix[256];

	write_config(f, "port: 1\n");
	assert_int_equal(chmod(f->path, 0600), 0);
	snprintf(fix, sizeof(fix), "chmod go-w %s", f->dir);
	assert_int_equal(chmod(f->dir, 0770), 0);
	assert_int_equal(trusted(f->path, fix), JIT_E_PERMISSION);
	/* /tmp itself is world-writable: the directory f->dir is refused as its content. */
	assert_int_equal(chmod(f->dir, 0700), 0);
	assert_int_equal(trusted(f->dir, "chmod go-w /tmp"), JIT_E_PERMISSION);
}

static void test_symlink_in_a_directory_others_can_write_is_refused(void **state)
{
	struct fixture *f = *state;
	char link[128];

	write_config(f, "port: 1\n");
	assert_int_equal(chmod(f->dir, 0700), 0);
	assert_int_equal(chmod(f->path, 0600), 0);
	snprintf(link, sizeof(link), "%s-link", f->dir);
	unlink(link);
	assert_int_equal(symlink(f->path, link), 0);
	/* The target is safe, but anyone may replace the link in /tmp. */
	assert_int_equal(trusted(link, "chmod go-w /tmp"), JIT_E_PERMISSION);
	unlink(link);
}

static void test_file_owned_by_another_user_is_refused_with_the_fix(void **state)
{
	struct fixture *f = *state;
	char fix[256];

	write_config(f, "port: 1\n");
	assert_int_equal(chmod(f->dir, 0700), 0);
	assert_int_equal(chmod(f->path, 0600), 0);
	if (geteuid() != 0 || chown(f->path, 65534, (gid_t)-1) < 0)
		skip(); /* only root can give a file away */
	snprintf(fix, sizeof(fix), "chown 0 %s", f->path);
	assert_int_equal(trusted(f->path, fix), JIT_E_PERMISSION);
	assert_int_equal(trusted(f->path, "uid 65534"), JIT_E_PERMISSION);
}

static void test_missing_file_cannot_be_trusted(void **state)
{
	struct fixture *f = *state;
	char path[128];

	snprintf(path, sizeof(path), "%s/nothing", f->dir);
	assert_int_equal(trusted(path, path), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults_apply_to_absent_keys, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_relative_paths_are_relative_to_the_config_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_key_is_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_key_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_values_at_their_limits_are_accepted, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_values_one_past_their_limits_are_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_values_of_the_wrong_type_are_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_listen_must_be_an_address_literal, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_plain_http_needs_a_loopback_address, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_plain_http_rule_is_checked_again_after_overrides, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_path_is_refused, setup, teardown),
		cmocka_unit_test(test_missing_file_is_an_errno),
		cmocka_unit_test_setup_teardown(test_files_only_their_owner_can_change_are_trusted,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_file_writable_by_group_or_others_is_refused_with_the_fix, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_file_in_a_directory_others_can_write_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_symlink_in_a_directory_others_can_write_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_file_owned_by_another_user_is_refused_with_the_fix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file_cannot_be_trusted, setup,
						teardown),
		cmocka_unit_test(test_default_path_follows_the_environment),
		cmocka_unit_test(test_loopback_detection_covers_both_families),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
