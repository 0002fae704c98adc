/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client.h"
#include "opts.h"

static struct opts *opts_for(int argc, char **argv)
{
	char *env[] = {"USER=alice", "JIT_SSH_CA_URL=http://127.0.0.1:1", NULL};
	struct opts *o = NULL;
	char *err = NULL;

	assert_int_equal(opts_parse(argc, argv, &o, &err), 0);
	assert_int_equal(opts_resolve(o, env, &err), 0);
	free(err);
	return o;
}

static size_t count(char **v)
{
	size_t n = 0;

	while (v[n])
		n++;
	return n;
}

static void test_ssh_command_line_follows_the_documented_order(void **state)
{
	char *argv[] = {"jit-ssh", "-p", "2222", "-o", "A=1", "root@Db1", "uptime", "-p", NULL};
	struct opts *o = opts_for(8, argv);
	char **v = NULL;
	static const char *const want[] = {
		"ssh",
		"-o",
		"IdentitiesOnly=yes",
		"-o",
		"IdentityFile=/run/j/root@db1.pub",
		"-o",
		"CertificateFile=/run/j/root@db1-cert.pub",
		"-p",
		"2222",
		"-o",
		"A=1",
		"-l",
		"root",
		"Db1",
		"uptime",
		"-p",
	};
	(void)state;
	assert_int_equal(client_ssh_argv(o, "/run/j/root@db1.pub", "/run/j/root@db1-cert.pub", &v),
			 0);
	assert_int_equal(count(v), sizeof want / sizeof want[0]);
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		assert_string_equal(v[i], want[i]);
	client_argv_free(v);
	opts_free(o);
}

static void test_command_starting_with_a_dash_is_kept_from_ssh_options(void **state)
{
	char *argv[] = {"jit-ssh", "db1", "--", "-weird", NULL};
	struct opts *o = opts_for(4, argv);
	char **v = NULL;
	size_t n;
	(void)state;
	assert_int_equal(client_ssh_argv(o, "/a.pub", "/a-cert.pub", &v), 0);
	n = count(v);
	assert_string_equal(v[n - 3], "--");
	assert_string_equal(v[n - 2], "db1");
	assert_string_equal(v[n - 1], "-weird");
	client_argv_free(v);
	opts_free(o);
}

static void test_percent_is_doubled_and_blanks_are_quoted_in_paths(void **state)
{
	char *argv[] = {"jit-ssh", "db1", NULL};
	struct opts *o = opts_for(2, argv);
	char **v = NULL;
	(void)state;
	assert_int_equal(client_ssh_argv(o, "/home/a b/x%y.pub", "/c%-cert.pub", &v), 0);
	assert_string_equal(v[4], "IdentityFile=\"/home/a b/x%%y.pub\"");
	assert_string_equal(v[6], "CertificateFile=/c%%-cert.pub");
	client_argv_free(v);
	opts_free(o);
}

static void test_paths_ssh_would_misread_are_refused(void **state)
{
	static const char *const bad[] = {"/a\"b.pub", "/a\\b.pub", "/${HOME}.pub", "/a\nb.pub"};
	char *argv[] = {"jit-ssh", "db1", NULL};
	struct opts *o = opts_for(2, argv);
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char **v = NULL;
		assert_int_equal(client_ssh_argv(o, bad[i], "/ok-cert.pub", &v), -EINVAL);
		assert_null(v);
	}
	opts_free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ssh_command_line_follows_the_documented_order),
		cmocka_unit_test(test_command_starting_with_a_dash_is_kept_from_ssh_options),
		cmocka_unit_test(test_percent_is_doubled_and_blanks_are_quoted_in_paths),
		cmocka_unit_test(test_paths_ssh_would_misread_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
