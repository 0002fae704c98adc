/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "err.h"
#include "helpers.h"
#include "opts.h"

/* 32 zero bytes in base64: a well-formed pin. */
#define PIN "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define PIN2 "sha256//AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

/* opts_parse() over a NULL-terminated list of words (argv[0] added). */
static int parse(struct opts **ret, char **ret_error, ...)
{
	char *argv[64] = {"jit-ssh"};
	int argc = 1;
	va_list ap;

	va_start(ap, ret_error);
	while ((argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	return opts_parse(argc, argv, ret, ret_error);
}

/* Parse, then resolve with @envp. */
static int parse_resolve(char *const *envp, struct opts **ret, char **ret_error, ...)
{
	char *argv[64] = {"jit-ssh"};
	int argc = 1, r;
	va_list ap;

	va_start(ap, ret_error);
	while ((argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	if ((r = opts_parse(argc, argv, ret, ret_error)) < 0)
		return r;
	return opts_resolve(*ret, envp, ret_error);
}

static char *base_env[] = {
	"USER=alice",
	"HOME=/nonexistent-home",
	"JIT_SSH_CA_URL=https://ca.example.com:8443",
	"JIT_SSH_PIN=" PIN,
	NULL,
};

static void test_login_at_host_sets_login_and_host(void **state)
{
	struct opts *o = NULL;
	char *err = NULL;
	(void)state;
	assert_int_equal(parse_resolve(base_env, &o, &err, "root@Prod-Web-3", NULL), 0);
	assert_int_equal(o->cmd, OPTS_CMD_SSH);
	assert_string_equal(o->login, "root");
	assert_string_equal(o->host_arg, "Prod-Web-3");
	assert_string_equal(o->host, "prod-web-3");
	assert_string_equal(o->user, "alice");
	assert_int_equal(o->n_command, 0);
	opts_free(o);
	free(err);
}

static void test_bare_host_takes_the_requester_name_as_login(void **state)
{
	struct opts *o = NULL;
	char *err = NULL;
	(void)state;
	assert_int_equal(parse_resolve(base_env, &o, &err, "db1", NULL), 0);
	assert_string_equal(o->login, "alice");
	assert_string_equal(o->host, "db1");
	opts_free(o);
	o = NULL;
	assert_int_equal(parse_resolve(base_env, &o, &err, "--user", "bob", "db1", NULL), 0);
	assert_string_equal(o->login, "bob");
	opts_free(o);
	free(err);
}

static void test_dash_l_wins_over_login_in_the_destination(void **state)
{
	struct opts *o = NULL;
	char *err = NULL;
	(void)state;
	assert_int_equal(parse(&o, &err, "-l", "deploy", "root@db1", NULL), 0);
	assert_string_equal(o->login, "deploy");
	opts_free(o);
	o = NULL;
	assert_int_equal(parse(&o, &err, "root@db1", "-l", "deploy", NULL), 0);
	assert_string_equal(o->login, "deploy");
	opts_free(o);
	o = NULL;
	assert_int_equal(parse(&o, &err, "-ldeploy", "db1", NULL), 0);
	assert_string_equal(o->login, "deploy");
	opts_free(o);
	free(err);
}

static void test_options_after_host_are_read_until_the_command_starts(void **state)
{
	struct opts *o = NULL;
	char *err = NULL;
	(void)state;
	assert_int_equal(parse(&o, &err, "-o", "A=1", "db1", "-p", "2222", "ls", "-l", "/", NULL),
			 0);
	assert_int_equal(o->n_ssh_args, 4);
	assert_string_equal(o->ssh_args[0], "-o");
	assert_string_equal(o->ssh_args[1], "A=1");
	assert_string_equal(o->ssh_args[2], "-p");
	assert_string_equal(o->ssh_args[3], "2222");
	assert_int_equal(o->n_command, 3);
	assert_string_equal(o->command[0], "ls");
	assert_string_equal(o->command[1], "-l");
	assert_string_equal(o->command[2], "/");
	assert_null(o->login);
	opts_free(o);
	free(err);
}

static void test_double_dash_makes_the_rest_the_command(void **state)
{
	struct opts *o = NULL;
	char *err = NULL;
	(void)state;
	assert_int_equal(parse(&o, &err, "db1", "--", "-l", "x", NULL), 0);
	assert_null(o->login);
	assert_int_equal(o->n_command, 2);
	assert_string_equal(o->command[0], "-l");
	opts_free(o);
	free(err);
}

static void test_repeated_o_options_are_all_passed_on_with_F(void **state)
{
	struct opts *o = NULL;
	char *err = NULL;
	(void)state;
	assert_int_equal(parse(&o, &err, "-o", "A=1", "-oB=2", "-F", "/dev/null", "db1", NULL), 0);
	assert_int_equal(o->n_ssh_args, 6);
	assert_string_equal(o->ssh_args[3], "B=2");
	assert_string_equal(o->ssh_args[4], "-F");
	assert_string_equal(o->ssh_args[5], "/dev/null");
	opts_free(o);
	free(err);
}

static void test_ttl_takes_seconds_minutes_and_hours(void **state)
{
	static const struct {
		const char *text;
		uint64_t sec;
	} ok[] = {
		{"600", 600}, {"10m", 600},   {"1h", 3600}, {"90s", 90},
		{"1", 1},     {"2d", 172800}, {"007", 7},
	};
	(void)state;
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		uint64_t v = 0;
		assert_int_equal(opts_parse_duration(ok[i].text, &v), 0);
		assert_int_equal(v, ok[i].sec);
	}
}

static void test_bad_ttl_values_are_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"0",
		"0m",
		"-5",
		"+5",
		"10x",
		"1h30m",
		"1.5h",
		" 10",
		"10 ",
		"10 m",
		"m",
		"99999999999999999999999",
		"18446744073709551616",
		"10mm",
		"1H",
		"8d",
		"604801",
		"0x10",
	};
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint64_t v = 42;
		assert_int_equal(opts_parse_duration(bad[i], &v), -EINVAL);
		assert_int_equal(v, 42);
	}
	assert_int_equal(opts_parse_duration(NULL, NULL), -EINVAL);
}

static void test_ttl_at_the_limit_passes_and_one_more_second_fails(void **state)
{
	char text[32];
	uint64_t v = 0;
	(void)state;
	snprintf(text, sizeof text, "%u", OPTS_TTL_MAX);
	assert_int_equal(opts_parse_duration(text, &v), 0);
	assert_int_equal(v, OPTS_TTL_MAX);
	snprintf(text, sizeof text, "%u", OPTS_TTL_MAX + 1);
	assert_int_equal(opts_parse_duration(text, &v), -EINVAL);
	assert_int_equal(opts_parse_duration("7d", &v), 0);
}

static void test_bad_ttl_flag_is_a_usage_error_naming_the_value(void **state)
{
	struct opts *o = NULL;
	char *err = NULL;
	(void)state;
	assert_int_equal(parse(&o, &err, "--ttl", "10x", "db1", NULL), -EINVAL);
	assert_null(o);
	assert_non_null(strstr(err, "'10x'"));
	free(err);
	err = NULL;
	assert_int_equal(parse(&o, &err, "--ttl=1h", "db1", NULL), 0);
	assert_int_equal(o->ttl_sec, 3600);
	opts_free(o);
	free(err);
}

static void test_missing_host_is_a_usage_error(void **state)
{
	struct opts *o = NULL;
	char *err = NULL;
	(void)state;
	assert_int_equal(parse(&o, &err, "-l", "root", NULL), -EINVAL);
	assert_non_null(strstr(err, "HOST"));
	free(err);
	err = NULL;
	assert_int_equal(parse(&o, &err, "root@", NULL), -EINVAL);
	free(err);
	err = NULL;
	assert_int_equal(parse(&o, &err, "@db1", NULL), -EINVAL);
	free(err);
	assert_null(o);
}

static void test_unknown_option_and_missing_value_are_named(void **state)
{
	struct opts *o = NULL;
	char *err = NULL;
	(void)state;
	assert_int_equal(parse(&o, &err, "-x", "db1", NULL), -EINVAL);
	assert_non_null(strstr(err, "-x"));
	free(err);
	err = NULL;
	assert_int_equal(parse(&o, &err, "--bogus", "db1", NULL), -EINVAL);
	assert_non_null(strstr(err, "--bogus"));
	free(err);
	err = NULL;
	assert_int_equal(parse(&o, &err, "db1", "-l", NULL), -EINVAL);
	assert_non_null(strstr(err, "-l"));
	free(err);
	err = NULL;
	assert_int_equal(parse(&o, &err, "db1", "--ttl", NULL), -EINVAL);
	assert_non_null(strstr(err, "--ttl"));
	free(err);
	err = NULL;
	/* --conf could be --config or --confirm: said so, not "unknown". */
	assert_int_equal(parse(&o, &err, "--conf", "x.yaml", "db1", NULL), -EINVAL);
	assert_non_null(strstr(err, "--conf is ambiguous"));
	free(err);
	assert_null(o);
}

static void test_cert_command_takes_a_host_and_no_command(void **state)
{
	struct opts *o = NULL;
	char *err = NULL;
	(void)state;
	assert_int_equal(parse(&o, &err, "cert", "--ttl", "5m", "root@db1", NULL), 0);
	assert_int_equal(o->cmd, OPTS_CMD_CERT);
	assert_int_equal(o->ttl_sec, 300);
	assert_string_equal(o->login, "root");
	opts_free(o);
	o = NULL;
	assert_int_equal(parse(&o, &err, "cert", "db1", "uptime", NULL), -EINVAL);
	assert_non_null(strstr(err, "uptime"));
	assert_null(o);
	free(err);
	err = NULL;
	/* Options may come before "cert" too. */
	assert_int_equal(
		parse(&o, &err, "--ca", "http://127.0.0.1:1", "cert", "-l", "x", "db1", NULL), 0);
	assert_int_equal(o->cmd, OPTS_CMD_CERT);
	assert_string_equal(o->ca_url, "http://127.0.0.1:1");
	assert_string_equal(o->login, "x");
	assert_string_equal(o->host_arg, "db1");
	opts_free(o);
	o = NULL;
	/* A host called "cert" is still reachable after "--". */
	assert_int_equal(parse(&o, &err, "--", "cert", NULL), 0);
	assert_int_equal(o->cmd, OPTS_CMD_SSH);
	assert_string_equal(o->host_arg, "cert");
	opts_free(o);
	free(err);
}

static void test_explain_command_takes_a_host_and_no_command(void **state)
{
	struct opts *o = NULL;
	char *err = NULL;
	(void)state;
	assert_int_equal(parse(&o, &err, "explain", "--json", "root@db1", "--reason", "x", NULL),
			 0);
	assert_int_equal(o->cmd, OPTS_CMD_EXPLAIN);
	assert_true(o->json);
	assert_string_equal(o->login, "root");
	assert_string_equal(o->host_arg, "db1");
	assert_string_equal(o->reason, "x");
	opts_free(o);
	o = NULL;
	assert_int_equal(parse(&o, &err, "-i", "k", "explain", "db1", NULL), 0);
	assert_int_equal(o->cmd, OPTS_CMD_EXPLAIN);
	assert_false(o->json);
	assert_string_equal(o->key_file, "k");
	opts_free(o);
	o = NULL;
	assert_int_equal(parse(&o, &err, "explain", "db1", "uptime", NULL), -EINVAL);
	assert_string_equal(err, "jit-ssh explain takes no COMMAND (got 'uptime')");
	assert_null(o);
	free(err);
	err = NULL;
	assert_int_equal(parse(&o, &err, "explain", NULL), -EINVAL);
	assert_non_null(strstr(err, "missing [LOGIN@]HOST"));
	free(err);
	err = NULL;
	/* A host called "explain". */
	assert_int_equal(parse(&o, &err, "--", "explain", NULL), 0);
	assert_int_equal(o->cmd, OPTS_CMD_SSH);
	assert_string_equal(o->host_arg, "explain");
	opts_free(o);
}

static void test_json_goes_only_with_explain(void **state)
{
	static const char *const other[][3] = {{"db1", NULL}, {"cert", "db1", NULL}};
	struct opts *o = NULL;
	char *err = NULL;
	(void)state;
	for (size_t i = 0; i < 2; i++) {
		const char *a = other[i][0], *b = other[i][1];
		assert_int_equal(parse(&o, &err, "--json", a, b, NULL), -EINVAL);
		assert_string_equal(err, "--json goes only with jit-ssh explain");
		assert_null(o);
		free(err);
		err = NULL;
	}
}

static void test_help_and_version_need_no_host(void **state)
{
	struct opts *o = NULL;
	char *err = NULL;
	(void)state;
	assert_int_equal(parse(&o, &err, "--help", NULL), 0);
	assert_int_equal(o->cmd, OPTS_CMD_HELP);
	opts_free(o);
	o = NULL;
	assert_int_equal(parse(&o, &err, "-V", NULL), 0);
	assert_int_equal(o->cmd, OPTS_CMD_VERSION);
	opts_free(o);
	assert_non_null(strstr(opts_usage(), "[LOGIN@]HOST"));
	free(err);
}

static void test_reason_must_be_one_line_of_utf8_within_the_limit(void **state)
{
	char big[OPTS_REASON_MAX + 2];
	struct opts *o = NULL;
	char *err = NULL;
	(void)state;
	assert_int_equal(parse(&o, &err, "--reason", "line\nbreak", "db1", NULL), -EINVAL);
	free(err);
	err = NULL;
	assert_int_equal(parse(&o, &err, "--reason", "bad \xff utf8", "db1", NULL), -EINVAL);
	free(err);
	err = NULL;
	memset(big, 'r', OPTS_REASON_MAX + 1);
	big[OPTS_REASON_MAX + 1] = 0;
	assert_int_equal(parse(&o, &err, "--reason", big, "db1", NULL), -EINVAL);
	free(err);
	err = NULL;
	big[OPTS_REASON_MAX] = 0;
	assert_int_equal(parse(&o, &err, "--reason", big, "db1", NULL), 0);
	opts_free(o);
	o = NULL;
	assert_int_equal(parse(&o, &err, "--reason", "INC-42: disk full, caf\xc3\xa9", "db1", NULL),
			 0);
	assert_string_equal(o->reason, "INC-42: disk full, caf\xc3\xa9");
	opts_free(o);
	free(err);
}

static void test_flags_beat_environment_which_beats_the_config_file(void **state)
{
	char *dir = th_tmpdir(), *cfg, *env_cfg = NULL;
	struct opts *o = NULL;
	char *err = NULL;
	(void)state;
	cfg = th_write(dir, "config.yaml",
		       "ca_url: https://from-config:1\n"
		       "pin: " PIN "\n"
		       "user: carol\n"
		       "ttl: 20m\n"
		       "ssh: /opt/ssh/bin/ssh\n",
		       0644);
	assert_true(asprintf(&env_cfg, "JIT_SSH_CONFIG=%s", cfg) > 0);
	char *env[] = {
		"USER=alice",
		"HOME=/nonexistent-home",
		env_cfg,
		"JIT_SSH_CA_URL=https://from-env:2",
		"JIT_SSH_USER=dave",
		NULL,
	};

	/* config only: ttl, pin, ssh; env: url, user */
	assert_int_equal(parse_resolve(env, &o, &err, "db1", NULL), 0);
	assert_string_equal(o->ca_url, "https://from-env:2");
	assert_string_equal(o->user, "dave");
	assert_string_equal(o->pin, PIN);
	assert_int_equal(o->ttl_sec, 1200);
	assert_string_equal(o->ssh, "/opt/ssh/bin/ssh");
	assert_string_equal(o->config_path, cfg);
	opts_free(o);
	o = NULL;

	/* flags win over both */
	assert_int_equal(parse_resolve(env, &o, &err, "--ca", "https://from-flag:3", "--user",
				       "erin", "--ttl", "1h", "--pin", PIN2, "db1", NULL),
			 0);
	assert_string_equal(o->ca_url, "https://from-flag:3");
	assert_string_equal(o->user, "erin");
	assert_int_equal(o->ttl_sec, 3600);
	assert_string_equal(o->pin, PIN2);
	opts_free(o);
	free(err);
	free(env_cfg);
	free(cfg);
	th_rmtree(dir);
	free(dir);
}

static void test_config_flag_beats_the_environment_variable(void **state)
{
	char *dir = th_tmpdir(), *a, *b, *env_cfg = NULL;
	struct opts *o = NULL;
	char *err = NULL;
	(void)state;
	a = th_write(dir, "a.yaml", "ca_url: https://a:1\npin: " PIN "\n", 0644);
	b = th_write(dir, "b.yaml", "ca_url: https://b:1\npin: " PIN "\n", 0644);
	assert_true(asprintf(&env_cfg, "JIT_SSH_CONFIG=%s", a) > 0);
	char *env[] = {"USER=alice", env_cfg, NULL};
	assert_int_equal(parse_resolve(env, &o, &err, "--config", b, "db1", NULL), 0);
	assert_string_equal(o->ca_url, "https://b:1");
	opts_free(o);
	free(err);
	free(env_cfg);
	free(a);
	free(b);
	th_rmtree(dir);
	free(dir);
}

static void test_default_config_file_is_read_from_home(void **state)
{
	char *home = th_tmpdir(), *sub = NULL, *path, *env_home = NULL;
	struct opts *o = NULL;
	char *err = NULL;
	(void)state;
	assert_true(asprintf(&sub, "%s/.config", home) > 0);
	assert_int_equal(mkdir(sub, 0700), 0);
	free(sub);
	assert_true(asprintf(&sub, "%s/.config/jit-ssh", home) > 0);
	assert_int_equal(mkdir(sub, 0700), 0);
	path = th_write(sub, "config.yaml",
			"ca_url: http://127.0.0.1:8080\n"
			"identity: ~/.ssh/id_ed25519\n"
			"ca_bundle: ca.pem\n",
			0644);
	assert_true(asprintf(&env_home, "HOME=%s", home) > 0);
	char *env[] = {"USER=alice", env_home, NULL};
	assert_int_equal(parse_resolve(env, &o, &err, "db1", NULL), 0);
	assert_string_equal(o->config_path, path);
	assert_true(o->plain_http);
	{
		char *want = NULL;
		assert_true(asprintf(&want, "%s/.ssh/id_ed25519", home) > 0);
		assert_string_equal(o->identity, want);
		free(want);
		assert_true(asprintf(&want, "%s/ca.pem", sub) > 0);
		assert_string_equal(o->ca_bundle, want);
		free(want);
	}
	opts_free(o);
	free(err);
	free(env_home);
	free(path);
	free(sub);
	th_rmtree(home);
	free(home);
}

static void test_missing_default_config_is_fine_but_a_named_one_is_an_error(void **state)
{
	struct opts *o = NULL;
	char *err = NULL;
	(void)state;
	assert_int_equal(parse_resolve(base_env, &o, &err, "db1", NULL), 0);
	assert_null(o->config_path);
	opts_free(o);
	o = NULL;
	assert_int_equal(
		parse_resolve(base_env, &o, &err, "--config", "/nonexistent/c.yaml", "db1", NULL),
		-ENOENT);
	assert_non_null(strstr(err, "/nonexistent/c.yaml"));
	opts_free(o);
	free(err);
}

static void test_unknown_or_malformed_config_keys_are_errors(void **state)
{
	char *dir = th_tmpdir(), *cfg;
	struct opts *o = NULL;
	char *err = NULL;
	(void)state;
	cfg = th_write(dir, "c.yaml", "ca_url: https://a:1\nbogus: 1\n", 0644);
	assert_true(parse_resolve(base_env, &o, &err, "--config", cfg, "db1", NULL) < 0);
	assert_non_null(err);
	opts_free(o);
	o = NULL;
	free(err);
	err = NULL;
	free(cfg);
	cfg = th_write(dir, "d.yaml", "ttl: forever\n", 0644);
	assert_int_equal(parse_resolve(base_env, &o, &err, "--config", cfg, "db1", NULL),
			 JIT_E_FORMAT);
	assert_non_null(strstr(err, "forever"));
	opts_free(o);
	free(err);
	free(cfg);
	th_rmtree(dir);
	free(dir);
}

static void test_https_without_pin_or_bundle_is_refused(void **state)
{
	char *env[] = {"USER=alice", "JIT_SSH_CA_URL=https://ca.example.com", NULL};
	struct opts *o = NULL;
	char *err = NULL;
	(void)state;
	assert_int_equal(parse_resolve(env, &o, &err, "db1", NULL), -EINVAL);
	assert_non_null(strstr(err, "pin"));
	opts_free(o);
	o = NULL;
	free(err);
	err = NULL;
	assert_int_equal(
		parse_resolve(env, &o, &err, "--ca-bundle", "/etc/ssl/ca.pem", "db1", NULL), 0);
	assert_false(o->plain_http);
	opts_free(o);
	free(err);
}

static void test_plain_http_is_allowed_only_to_loopback(void **state)
{
	static const char *const ok[] = {
		"http://127.0.0.1:8080",
		"http://localhost:1/",
		"http://[::1]:8080",
		"http://127.1.2.3",
	};
	static const char *const bad[] = {
		"http://ca.example.com:8080",
		"http://10.0.0.1",
		"ftp://127.0.0.1/",
		"https://user:pw@ca.example.com",
		"https://ca.example.com/?x=1",
		"not a url",
		"http://128.0.0.1",
	};
	(void)state;
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		struct opts *o = NULL;
		char *err = NULL;
		assert_int_equal(parse_resolve(base_env, &o, &err, "--ca", ok[i], "db1", NULL), 0);
		assert_true(o->plain_http);
		opts_free(o);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct opts *o = NULL;
		char *err = NULL;
		assert_int_equal(parse_resolve(base_env, &o, &err, "--ca", bad[i], "db1", NULL),
				 -EINVAL);
		assert_non_null(err);
		opts_free(o);
		free(err);
	}
}

static void test_malformed_pins_are_refused_and_pin_lists_accepted(void **state)
{
	static const char *const bad[] = {
		"AAAA",
		"sha256//",
		"sha256//AAAA",
		"sha1//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		PIN ";",
		PIN ";junk",
		"sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	};
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct opts *o = NULL;
		char *err = NULL;
		assert_int_equal(parse_resolve(base_env, &o, &err, "--pin", bad[i], "db1", NULL),
				 -EINVAL);
		opts_free(o);
		free(err);
	}
	struct opts *o = NULL;
	char *err = NULL;
	assert_int_equal(parse_resolve(base_env, &o, &err, "--pin", PIN ";" PIN2, "db1", NULL), 0);
	opts_free(o);
	free(err);
}

static void test_unsafe_user_login_and_host_are_refused(void **state)
{
	struct opts *o = NULL;
	char *err = NULL;
	(void)state;
	assert_int_equal(parse_resolve(base_env, &o, &err, "-l", "ro,ot", "db1", NULL), JIT_E_NAME);
	opts_free(o);
	o = NULL;
	free(err);
	err = NULL;
	assert_int_equal(parse_resolve(base_env, &o, &err, "root@db_1", NULL), JIT_E_NAME);
	opts_free(o);
	o = NULL;
	free(err);
	err = NULL;
	assert_int_equal(parse_resolve(base_env, &o, &err, "--user", "a b", "db1", NULL),
			 JIT_E_NAME);
	opts_free(o);
	o = NULL;
	free(err);
	err = NULL;
	/* A user name with '@' is fine, but it is no login: -l is needed. */
	assert_int_equal(parse_resolve(base_env, &o, &err, "--user", "a@example.com", "db1", NULL),
			 JIT_E_NAME);
	assert_non_null(strstr(err, "-l"));
	opts_free(o);
	o = NULL;
	free(err);
	err = NULL;
	assert_int_equal(parse_resolve(base_env, &o, &err, "--user", "a@example.com", "-l", "a",
				       "db1", NULL),
			 0);
	opts_free(o);
	free(err);
}

static void test_missing_ca_url_is_refused_with_the_ways_to_set_it(void **state)
{
	char *env[] = {"USER=alice", NULL};
	struct opts *o = NULL;
	char *err = NULL;
	(void)state;
	assert_int_equal(parse_resolve(env, &o, &err, "db1", NULL), -EINVAL);
	assert_non_null(strstr(err, "JIT_SSH_CA_URL"));
	opts_free(o);
	free(err);
}

static void test_empty_environment_values_count_as_unset(void **state)
{
	char *env[] = {"USER=alice", "JIT_SSH_CA_URL=http://127.0.0.1:1",
		       "JIT_SSH_USER=", "JIT_SSH_SSH=", NULL};
	struct opts *o = NULL;
	char *err = NULL;
	(void)state;
	assert_int_equal(parse_resolve(env, &o, &err, "db1", NULL), 0);
	assert_string_equal(o->user, "alice");
	assert_string_equal(o->ssh, "ssh");
	opts_free(o);
	free(err);
}

/*
 * opts_parse() and opts_resolve() of "[--confirm] db1" with base_env, plus
 * "JIT_SSH_CONFIRM=@env" unless @env is NULL, plus a configuration file holding @conf_text
 * unless that is NULL; o->confirm in *ret (written only on success).
 */
static int resolve_confirm(bool flag, const char *env, const char *conf_text, bool *ret,
			   char **ret_error)
{
	char *dir = NULL, *cfg = NULL, *env_confirm = NULL, *env_cfg = NULL;
	char *envp[8];
	size_t n = 0;
	struct opts *o = NULL;
	int r;

	for (size_t i = 0; base_env[i]; i++)
		envp[n++] = base_env[i];
	if (env) {
		assert_true(asprintf(&env_confirm, "JIT_SSH_CONFIRM=%s", env) > 0);
		envp[n++] = env_confirm;
	}
	if (conf_text) {
		dir = th_tmpdir();
		cfg = th_write(dir, "config.yaml", conf_text, 0644);
		assert_true(asprintf(&env_cfg, "JIT_SSH_CONFIG=%s", cfg) > 0);
		envp[n++] = env_cfg;
	}
	envp[n] = NULL;
	if (flag)
		r = parse_resolve(envp, &o, ret_error, "--confirm", "db1", NULL);
	else
		r = parse_resolve(envp, &o, ret_error, "db1", NULL);
	if (r == 0)
		*ret = o->confirm;
	opts_free(o);
	free(env_confirm);
	free(env_cfg);
	free(cfg);
	if (dir) {
		th_rmtree(dir);
		free(dir);
	}
	return r;
}

static void test_confirm_is_off_unless_asked_for(void **state)
{
	bool confirm = true;
	char *err = NULL;
	(void)state;
	assert_int_equal(resolve_confirm(false, NULL, NULL, &confirm, &err), 0);
	assert_false(confirm);
	confirm = true;
	assert_int_equal(resolve_confirm(false, NULL, "ca_url: https://a:1\n", &confirm, &err), 0);
	assert_false(confirm);
	free(err);
}

static void test_confirm_flag_goes_before_or_after_the_host_and_with_cert(void **state)
{
	static const char *const argvs[][4] = {
		{"--confirm", "db1", NULL},
		{"db1", "--confirm", NULL},
		{"cert", "--confirm", "db1", NULL},
		{"--confirm", "cert", "root@db1", NULL},
		{"explain", "db1", "--confirm", NULL},
	};
	struct opts *o = NULL;
	char *err = NULL;
	(void)state;
	for (size_t i = 0; i < sizeof argvs / sizeof argvs[0]; i++) {
		assert_int_equal(parse(&o, &err, argvs[i][0], argvs[i][1], argvs[i][2], NULL), 0);
		assert_true(o->confirm);
		assert_int_equal(o->n_command, 0);
		opts_free(o);
		o = NULL;
	}
	assert_int_equal(parse(&o, &err, "cert", "--confirm", "db1", NULL), 0);
	assert_int_equal(o->cmd, OPTS_CMD_CERT);
	opts_free(o);
	o = NULL;
	/* After the first COMMAND word it is the remote command's. */
	assert_int_equal(parse(&o, &err, "db1", "ls", "--confirm", NULL), 0);
	assert_false(o->confirm);
	assert_int_equal(o->n_command, 2);
	assert_string_equal(o->command[1], "--confirm");
	opts_free(o);
	free(err);
}

static void test_confirm_flag_takes_no_value(void **state)
{
	struct opts *o = NULL;
	char *err = NULL;
	(void)state;
	assert_int_equal(parse(&o, &err, "--confirm=yes", "db1", NULL), -EINVAL);
	assert_null(o);
	assert_string_equal(err, "option --confirm takes no value");
	free(err);
}

static void test_confirm_environment_variable_takes_1_0_true_false_yes_no(void **state)
{
	static const struct {
		const char *text;
		bool value;
	} ok[] = {
		{"1", true},  {"true", true},	{"yes", true},
		{"0", false}, {"false", false}, {"no", false},
	};
	char *err = NULL;
	(void)state;
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		bool confirm = !ok[i].value;
		assert_int_equal(resolve_confirm(false, ok[i].text, NULL, &confirm, &err), 0);
		assert_int_equal(confirm, ok[i].value);
	}
	free(err);
}

static void test_confirm_config_key_takes_true_false_yes_no(void **state)
{
	static const struct {
		const char *text;
		bool value;
	} ok[] = {
		{"confirm: true\n", true},     {"confirm: yes\n", true},
		{"confirm: false\n", false},   {"confirm: no\n", false},
		{"confirm: \"true\"\n", true},
	};
	char *err = NULL;
	(void)state;
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		bool confirm = !ok[i].value;
		assert_int_equal(resolve_confirm(false, NULL, ok[i].text, &confirm, &err), 0);
		assert_int_equal(confirm, ok[i].value);
	}
	free(err);
}

static void test_confirm_flag_beats_environment_which_beats_the_config_file(void **state)
{
	static const struct {
		bool flag;
		const char *env, *conf;
		bool want;
	} cases[] = {
		{false, "0", "confirm: true\n", false}, /* environment turns the file's off */
		{false, "1", "confirm: false\n", true}, /* ... and on */
		{false, "", "confirm: true\n", true},	/* empty counts as unset */
		{true, "0", NULL, true},		/* the flag wins over the environment */
		{true, NULL, "confirm: false\n", true}, /* ... and over the file */
		{true, "0", "confirm: false\n", true},
	};
	char *err = NULL;
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		bool confirm = !cases[i].want;
		assert_int_equal(
			resolve_confirm(cases[i].flag, cases[i].env, cases[i].conf, &confirm, &err),
			0);
		assert_int_equal(confirm, cases[i].want);
	}
	free(err);
}

static void test_bad_confirm_environment_value_is_a_usage_error_naming_it(void **state)
{
	static const char *const bad[] = {"2", "on", "TRUE", "yes ", " 1", "enable", "-1"};
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		bool confirm = true;
		char *err = NULL, *want = NULL;
		assert_int_equal(resolve_confirm(false, bad[i], NULL, &confirm, &err), -EINVAL);
		assert_true(confirm);
		assert_true(asprintf(&want, "JIT_SSH_CONFIRM '%s' is not 1 or 0", bad[i]) > 0);
		assert_non_null(strstr(err, want));
		free(want);
		free(err);
	}
	/* With --confirm the variable is not read (as with every flag), so its value is moot. */
	{
		bool confirm = false;
		char *err = NULL;
		assert_int_equal(resolve_confirm(true, "maybe", NULL, &confirm, &err), 0);
		assert_true(confirm);
		free(err);
	}
}

static void test_bad_confirm_config_value_is_a_format_error_naming_key_and_place(void **state)
{
	static const char *const bad[] = {
		"confirm: maybe\n",
		"confirm: 1\n",
		"confirm: \"\"\n",
		"confirm: True it is\n",
	};
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		bool confirm = true;
		char *err = NULL;
		assert_int_equal(resolve_confirm(false, NULL, bad[i], &confirm, &err),
				 JIT_E_FORMAT);
		assert_true(confirm);
		assert_non_null(strstr(err, "config.yaml:1:"));
		assert_non_null(strstr(err, "'confirm' must be true, false, yes or no"));
		free(err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_login_at_host_sets_login_and_host),
		cmocka_unit_test(test_bare_host_takes_the_requester_name_as_login),
		cmocka_unit_test(test_dash_l_wins_over_login_in_the_destination),
		cmocka_unit_test(test_options_after_host_are_read_until_the_command_starts),
		cmocka_unit_test(test_double_dash_makes_the_rest_the_command),
		cmocka_unit_test(test_repeated_o_options_are_all_passed_on_with_F),
		cmocka_unit_test(test_ttl_takes_seconds_minutes_and_hours),
		cmocka_unit_test(test_bad_ttl_values_are_refused),
		cmocka_unit_test(test_ttl_at_the_limit_passes_and_one_more_second_fails),
		cmocka_unit_test(test_bad_ttl_flag_is_a_usage_error_naming_the_value),
		cmocka_unit_test(test_missing_host_is_a_usage_error),
		cmocka_unit_test(test_unknown_option_and_missing_value_are_named),
		cmocka_unit_test(test_cert_command_takes_a_host_and_no_command),
		cmocka_unit_test(test_explain_command_takes_a_host_and_no_command),
		cmocka_unit_test(test_json_goes_only_with_explain),
		cmocka_unit_test(test_help_and_version_need_no_host),
		cmocka_unit_test(test_reason_must_be_one_line_of_utf8_within_the_limit),
		cmocka_unit_test(test_flags_beat_environment_which_beats_the_config_file),
		cmocka_unit_test(test_config_flag_beats_the_environment_variable),
		cmocka_unit_test(test_default_config_file_is_read_from_home),
		cmocka_unit_test(test_missing_default_config_is_fine_but_a_named_one_is_an_error),
		cmocka_unit_test(test_unknown_or_malformed_config_keys_are_errors),
		cmocka_unit_test(test_https_without_pin_or_bundle_is_refused),
		cmocka_unit_test(test_plain_http_is_allowed_only_to_loopback),
		cmocka_unit_test(test_malformed_pins_are_refused_and_pin_lists_accepted),
		cmocka_unit_test(test_unsafe_user_login_and_host_are_refused),
		cmocka_unit_test(test_missing_ca_url_is_refused_with_the_ways_to_set_it),
		cmocka_unit_test(test_empty_environment_values_count_as_unset),
		cmocka_unit_test(test_confirm_is_off_unless_asked_for),
		cmocka_unit_test(test_confirm_flag_goes_before_or_after_the_host_and_with_cert),
		cmocka_unit_test(test_confirm_flag_takes_no_value),
		cmocka_unit_test(test_confirm_environment_variable_takes_1_0_true_false_yes_no),
		cmocka_unit_test(test_confirm_config_key_takes_true_false_yes_no),
		cmocka_unit_test(test_confirm_flag_beats_environment_which_beats_the_config_file),
		cmocka_unit_test(test_bad_confirm_environment_value_is_a_usage_error_naming_it),
		cmocka_unit_test(
			test_bad_confirm_config_value_is_a_format_error_naming_key_and_place),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
