/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the host-side files (hostcfg.h). Keys and certificates come from the real
 * ssh-keygen ($SSH_KEYGEN); the generated sshd_config snippet is checked by the real
 * /usr/sbin/sshd -t.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "hostcfg.h"
#include "util.h"

struct fixture {
	char *dir;	 /* private temporary directory */
	char *ca_line;	 /* ssh-keygen's CA .pub line (with newline) */
	char *ca2_line;	 /* a second CA (ECDSA), for rotation */
	char *ca_private; /* the CA's private key file text */
	char *cert_line; /* a user certificate signed by the CA */
	int n_etc;
};

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	assert_non_null(s);
	return s;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *s = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		return NULL;
	n = getdelim(&s, &cap, 0, f);
	fclose(f);
	if (n < 0) {
		free(s);
		return strdup("");
	}
	return s;
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	va_list ap;
	char *cmd;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -1;
	r = system(cmd);
	free(cmd);
	return r;
}

static const char *ssh_keygen(void)
{
	const char *k = getenv("SSH_KEYGEN");
	return k && *k ? k : "ssh-keygen";
}

static int group_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);
	char tmpl[] = "/tmp/test-hostcfg.XXXXXX";
	char *p;

	if (!fx || !mkdtemp(tmpl))
		return -1;
	fx->dir = strdup(tmpl);
	if (sh("cd %s && %s -q -t ed25519 -N '' -C ca@test -f ca && "
	       "%s -q -t ecdsa -b 256 -N '' -C next-ca@test -f ca2 && "
	       "%s -q -t ed25519 -N '' -f user && "
	       "%s -q -s ca -I test -n jit:web:root user.pub",
	       fx->dir, ssh_keygen(), ssh_keygen(), ssh_keygen(), ssh_keygen()) != 0)
		return -1;
#define LOAD(field, name)                                       \
	p = xasprintf("%s/%s", fx->dir, name);                  \
	fx->field = slurp(p);                                   \
	free(p);                                                \
	if (!fx->field)                                         \
		return -1;
	LOAD(ca_line, "ca.pub");
	LOAD(ca2_line, "ca2.pub");
	LOAD(ca_private, "ca");
	LOAD(cert_line, "user-cert.pub");
#undef LOAD
	*state = fx;
	return 0;
}

static int group_teardown(void **state)
{
	struct fixture *fx = *state;

	sh("rm -rf '%s'", fx->dir);
	free(fx->dir);
	free(fx->ca_line);
	free(fx->ca2_line);
	free(fx->ca_private);
	free(fx->cert_line);
	free(fx);
	return 0;
}

/* A fresh, not yet existing ETC directory below the fixture directory. */
static char *new_etc(struct fixture *fx)
{
	return xasprintf("%s/etc%d", fx->dir, ++fx->n_etc);
}

static char *file_in(const char *etc, const char *rel)
{
	char *p = xasprintf("%s/%s", etc, rel);
	char *s = slurp(p);

	free(p);
	return s;
}

static bool exists(const char *etc, const char *rel)
{
	char *p = xasprintf("%s/%s", etc, rel);
	bool r = access(p, F_OK) == 0;

	free(p);
	return r;
}

/* Parse fx->ca_line into the text hostcfg_install() takes. */
static char *ca_text(const char *lines)
{
	char *text = NULL;
	size_t n;

	assert_int_equal(hostcfg_ca_keys_parse(lines, strlen(lines), &text, &n, NULL), 0);
	return text;
}

static int install(const char *etc, const char *host, const char *const *logins, size_t n,
		   const char *ca_keys, const char *command, char **ret_error)
{
	struct hostcfg c = {
		.etc = etc,
		.host = host,
		.logins = logins,
		.n_logins = n,
		.ca_keys = ca_keys,
		.principals_command = command,
	};
	return hostcfg_install(&c, NULL, ret_error);
}

static void assert_parse_fails(const char *data, size_t len, int want, const char *msg_part)
{
	char *text = NULL, *error = NULL;
	size_t n = 99;
	int r = hostcfg_ca_keys_parse(data, len, &text, &n, &error);

	if (want)
		assert_int_equal(r, want);
	else
		assert_true(r < 0);
	assert_null(text);
	assert_int_equal(n, 99);
	assert_non_null(error);
	if (msg_part && !strstr(error, msg_part))
		fail_msg("error \"%s\" does not mention \"%s\"", error, msg_part);
	free(error);
}

/* --- the CA key file --- */

static void test_ca_key_line_from_ssh_keygen_is_kept_as_is(void **state)
{
	struct fixture *fx = *state;
	char *text = NULL;
	size_t n = 0;

	assert_int_equal(hostcfg_ca_keys_parse(fx->ca_line, strlen(fx->ca_line), &text, &n, NULL),
			 0);
	assert_int_equal(n, 1);
	assert_string_equal(text, fx->ca_line);
	free(text);
}

static void test_two_ca_keys_with_comments_and_blank_lines_are_both_kept(void **state)
{
	struct fixture *fx = *state;
	char *in = xasprintf("# current\n\n%s   \n  # next, for the rotation\r\n%s", fx->ca_line,
			     fx->ca2_line);
	char *want = xasprintf("%s%s", fx->ca_line, fx->ca2_line);
	char *text = NULL;
	size_t n = 0;

	assert_int_equal(hostcfg_ca_keys_parse(in, strlen(in), &text, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_string_equal(text, want);
	free(text);
	free(want);
	free(in);
}

static void test_private_key_is_refused_as_ca_key(void **state)
{
	struct fixture *fx = *state;

	assert_parse_fails(fx->ca_private, strlen(fx->ca_private), JIT_E_FORMAT,
			   "line 1: this is a private key");
}

static void test_certificate_is_refused_as_ca_key(void **state)
{
	struct fixture *fx = *state;
	char *in = xasprintf("%s%s", fx->ca_line, fx->cert_line);

	assert_parse_fails(in, strlen(in), 0, "line 2: this is a certificate");
	free(in);
}

static void test_file_without_a_key_is_refused(void **state)
{
	(void)state;
	assert_parse_fails("", 0, JIT_E_FORMAT, "no CA public key");
	assert_parse_fails("# nothing\n\n   \n", 15, JIT_E_FORMAT, "no CA public key");
}

static void test_garbage_line_is_refused_with_its_line_number(void **state)
{
	struct fixture *fx = *state;
	char *in = xasprintf("%s# fine\nssh-ed25519 not-base64!\n", fx->ca_line);

	assert_parse_fails(in, strlen(in), 0, "line 3: not a usable OpenSSH public-key line");
	free(in);
}

static void test_nul_byte_is_refused(void **state)
{
	struct fixture *fx = *state;
	char *in = strdup(fx->ca_line);
	size_t len = strlen(in);

	in[len - 1] = 0; /* the newline becomes NUL: the length still counts it */
	assert_parse_fails(in, len, JIT_E_FORMAT, "NUL");
	free(in);
}

static void test_ca_key_line_truncated_at_every_length_is_refused(void **state)
{
	struct fixture *fx = *state;
	/* "TYPE BASE64" without comment: every shorter prefix is not a complete key. */
	size_t full = strcspn(fx->ca_line, " ") + 1;
	full += strcspn(fx->ca_line + full, " \n");

	for (size_t len = 1; len < full; len++) {
		char *text = NULL;
		size_t n;
		int r = hostcfg_ca_keys_parse(fx->ca_line, len, &text, &n, NULL);
		if (r == 0)
			fail_msg("prefix of %zu bytes accepted", len);
		assert_null(text);
	}
	for (size_t len = full; len <= strlen(fx->ca_line); len++) {
		char *text = NULL;
		size_t n;
		assert_int_equal(hostcfg_ca_keys_parse(fx->ca_line, len, &text, &n, NULL), 0);
		free(text);
	}
}

static void test_ca_key_type_with_a_flipped_byte_is_refused(void **state)
{
	struct fixture *fx = *state;
	size_t type_len = strcspn(fx->ca_line, " ");

	for (size_t i = 0; i < type_len; i++) {
		char *in = strdup(fx->ca_line);
		char *text = NULL, *error = NULL;
		size_t n;

		in[i] ^= 0x01;
		assert_true(hostcfg_ca_keys_parse(in, strlen(in), &text, &n, &error) < 0);
		assert_null(text);
		free(error);
		free(in);
	}
}

static void test_ca_key_file_at_the_size_limit_is_accepted_and_one_byte_more_refused(void **state)
{
	struct fixture *fx = *state;
	size_t len = HOSTCFG_CA_FILE_MAX;
	char *in = malloc(len + 2);
	char *text = NULL;
	size_t n, keylen = strlen(fx->ca_line);

	assert_non_null(in);
	memset(in, '#', len + 1);
	memcpy(in, fx->ca_line, keylen);
	in[len + 1] = 0;
	assert_int_equal(hostcfg_ca_keys_parse(in, len, &text, &n, NULL), 0);
	assert_int_equal(n, 1);
	free(text);
	assert_parse_fails(in, len + 1, JIT_E_TOO_LARGE, "larger than");
	free(in);
}

static void test_more_ca_keys_than_the_limit_are_refused(void **state)
{
	struct fixture *fx = *state;
	size_t one = strlen(fx->ca_line);
	char *in = calloc(HOSTCFG_CA_KEYS_MAX + 1, one + 1);
	char *text = NULL;
	size_t n;

	assert_non_null(in);
	for (size_t i = 0; i < HOSTCFG_CA_KEYS_MAX; i++)
		strcat(in, fx->ca_line);
	assert_int_equal(hostcfg_ca_keys_parse(in, strlen(in), &text, &n, NULL), 0);
	assert_int_equal(n, HOSTCFG_CA_KEYS_MAX);
	free(text);
	strcat(in, fx->ca_line);
	assert_parse_fails(in, strlen(in), JIT_E_TOO_LARGE, "more than");
	free(in);
}

static void test_ca_key_file_that_does_not_exist_is_named_in_the_error(void **state)
{
	struct fixture *fx = *state;
	char *path = xasprintf("%s/no-such-file.pub", fx->dir);
	char *text = NULL, *error = NULL;
	size_t n;

	assert_int_equal(hostcfg_ca_keys_load(path, &text, &n, &error), -ENOENT);
	assert_non_null(strstr(error, path));
	free(error);
	free(path);
}

/* --- install --- */

static void test_install_writes_ca_keys_host_principals_and_snippet(void **state)
{
	struct fixture *fx = *state;
	char *etc = new_etc(fx), *ca = ca_text(fx->ca_line), *s, *want;
	const char *logins[] = { "root", "deploy" };

	assert_int_equal(install(etc, "prod-web-3", logins, 2, ca, NULL, NULL), 0);
	s = file_in(etc, "jit-ssh/trusted_user_ca_keys");
	assert_string_equal(s, fx->ca_line);
	free(s);
	s = file_in(etc, "jit-ssh/host");
	assert_string_equal(s, "prod-web-3\n");
	free(s);
	s = file_in(etc, "jit-ssh/principals/root");
	assert_string_equal(s, "jit:prod-web-3:root\n");
	free(s);
	s = file_in(etc, "jit-ssh/principals/deploy");
	assert_string_equal(s, "jit:prod-web-3:deploy\n");
	free(s);

	s = file_in(etc, "sshd_config.d/jit-ssh.conf");
	want = xasprintf("\nTrustedUserCAKeys %s/jit-ssh/trusted_user_ca_keys\n", etc);
	assert_non_null(strstr(s, want));
	free(want);
	want = xasprintf("\nAuthorizedPrincipalsFile %s/jit-ssh/principals/%%u\n", etc);
	assert_non_null(strstr(s, want));
	free(want);
	assert_non_null(strstr(s, "\nLogLevel VERBOSE\n"));
	assert_null(strstr(s, "AuthorizedPrincipalsCommand"));
	free(s);
	free(ca);
	free(etc);
}

static void test_every_directive_in_the_snippet_follows_a_comment(void **state)
{
	struct fixture *fx = *state;
	const char *cmds[] = { NULL, "/usr/local/bin/jit-ssh-hostcfg" };

	for (size_t i = 0; i < ELEMENTSOF(cmds); i++) {
		struct hostcfg c = { .etc = "/etc/ssh", .principals_command = cmds[i] };
		char *s = NULL, *prev = NULL;
		int directives = 0;

		assert_int_equal(hostcfg_snippet(&c, &s), 0);
		for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
			if (line[0] != '#') {
				directives++;
				assert_non_null(prev);
				assert_true(prev[0] == '#' || strncmp(prev, "Authorized", 10) == 0);
			}
			prev = line;
		}
		assert_int_equal(directives, cmds[i] ? 4 : 3);
		free(s);
	}
	(void)fx;
}

static void test_host_name_is_normalised_before_it_goes_into_principals(void **state)
{
	struct fixture *fx = *state;
	char *etc = new_etc(fx), *ca = ca_text(fx->ca_line), *s, *host = NULL;
	const char *logins[] = { "root" };
	struct hostcfg c = { .etc = etc, .host = "Prod-Web-3.", .logins = logins, .n_logins = 1,
			     .ca_keys = ca };

	assert_int_equal(hostcfg_install(&c, &host, NULL), 0);
	assert_string_equal(host, "prod-web-3");
	s = file_in(etc, "jit-ssh/principals/root");
	assert_string_equal(s, "jit:prod-web-3:root\n");
	free(s);
	s = file_in(etc, "jit-ssh/host");
	assert_string_equal(s, "prod-web-3\n");
	free(s);
	free(host);
	free(ca);
	free(etc);
}

static void assert_install_refused(struct fixture *fx, const char *etc, const char *host,
				   const char *login, int want, const char *msg_part)
{
	char *ca = ca_text(fx->ca_line), *error = NULL;
	const char *logins[] = { "root", login };

	assert_int_equal(install(etc, host, logins, login ? 2 : 1, ca, NULL, &error), want);
	assert_non_null(error);
	if (!strstr(error, msg_part))
		fail_msg("error \"%s\" does not mention \"%s\"", error, msg_part);
	assert_int_equal(access(etc, F_OK), -1); /* nothing created */
	free(error);
	free(ca);
}

static void test_unsafe_login_is_refused_and_nothing_is_written(void **state)
{
	struct fixture *fx = *state;
	const char *bad[] = { "../evil", "root,admin", "-oops", "a b", "", "jit:x:root",
			      "user*", "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij12345" };

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		char *etc = new_etc(fx);
		assert_install_refused(fx, etc, "web", bad[i], JIT_E_NAME, "login");
		free(etc);
	}
}

static void test_unsafe_host_name_is_refused_and_nothing_is_written(void **state)
{
	struct fixture *fx = *state;
	const char *bad[] = { "prod web", "prod_web", "web/../x", "", ".", "a..b", "-web",
			      "web:22", "*" };

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		char *etc = new_etc(fx);
		assert_install_refused(fx, etc, bad[i], NULL, JIT_E_NAME, "host name");
		free(etc);
	}
}

static void test_etc_path_sshd_would_misread_is_refused(void **state)
{
	struct fixture *fx = *state;
	const char *bad[] = { "relative/etc", "/tmp/with space", "/tmp/per%u", "/tmp/quote\"d" };

	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		assert_install_refused(fx, bad[i], "web", NULL, -EINVAL, "absolute path");
}

static void test_login_count_over_the_limit_is_refused(void **state)
{
	struct fixture *fx = *state;
	char *etc = new_etc(fx), *ca = ca_text(fx->ca_line), *error = NULL;
	const char *logins[HOSTCFG_LOGINS_MAX + 1];

	for (size_t i = 0; i < ELEMENTSOF(logins); i++)
		logins[i] = "root";
	assert_int_equal(install(etc, "web", logins, 0, ca, NULL, &error), -EINVAL);
	free(error);
	error = NULL;
	assert_int_equal(install(etc, "web", logins, HOSTCFG_LOGINS_MAX + 1, ca, NULL, &error),
			 -EINVAL);
	free(error);
	assert_int_equal(access(etc, F_OK), -1);
	assert_int_equal(install(etc, "web", logins, HOSTCFG_LOGINS_MAX, ca, NULL, NULL), 0);
	free(ca);
	free(etc);
}

static void assert_mode(const char *etc, const char *rel, mode_t want)
{
	char *p = xasprintf("%s%s%s", etc, *rel ? "/" : "", rel);
	struct stat st;

	assert_int_equal(stat(p, &st), 0);
	if ((st.st_mode & 07777) != want)
		fail_msg("%s has mode %04o, want %04o", p, st.st_mode & 07777, want);
	free(p);
}

static void test_files_are_0644_and_directories_0755_whatever_the_umask(void **state)
{
	struct fixture *fx = *state;
	char *etc = new_etc(fx), *ca = ca_text(fx->ca_line);
	const char *logins[] = { "root" };
	mode_t old = umask(077);

	assert_int_equal(install(etc, "web", logins, 1, ca, NULL, NULL), 0);
	umask(old);
	assert_mode(etc, "", 0755);
	assert_mode(etc, "jit-ssh", 0755);
	assert_mode(etc, "jit-ssh/principals", 0755);
	assert_mode(etc, "sshd_config.d", 0755);
	assert_mode(etc, "jit-ssh/trusted_user_ca_keys", 0644);
	assert_mode(etc, "jit-ssh/host", 0644);
	assert_mode(etc, "jit-ssh/principals/root", 0644);
	assert_mode(etc, "sshd_config.d/jit-ssh.conf", 0644);
	free(ca);
	free(etc);
}

static void test_reinstall_removes_logins_no_longer_listed(void **state)
{
	struct fixture *fx = *state;
	char *etc = new_etc(fx), *ca = ca_text(fx->ca_line);
	const char *first[] = { "root", "deploy" }, *second[] = { "deploy", "backup" };

	assert_int_equal(install(etc, "web", first, 2, ca, NULL, NULL), 0);
	assert_true(exists(etc, "jit-ssh/principals/root"));
	assert_int_equal(install(etc, "web", second, 2, ca, NULL, NULL), 0);
	assert_false(exists(etc, "jit-ssh/principals/root"));
	assert_true(exists(etc, "jit-ssh/principals/deploy"));
	assert_true(exists(etc, "jit-ssh/principals/backup"));
	free(ca);
	free(etc);
}

static void test_reinstall_with_a_new_ca_key_replaces_the_old_one(void **state)
{
	struct fixture *fx = *state;
	char *etc = new_etc(fx), *ca = ca_text(fx->ca_line), *ca2 = ca_text(fx->ca2_line), *s;
	const char *logins[] = { "root" };

	assert_int_equal(install(etc, "web", logins, 1, ca, NULL, NULL), 0);
	assert_int_equal(install(etc, "web", logins, 1, ca2, NULL, NULL), 0);
	s = file_in(etc, "jit-ssh/trusted_user_ca_keys");
	assert_string_equal(s, fx->ca2_line);
	free(s);
	free(ca2);
	free(ca);
	free(etc);
}

static void test_install_leaves_no_temporary_files_behind(void **state)
{
	struct fixture *fx = *state;
	char *etc = new_etc(fx), *ca = ca_text(fx->ca_line);
	const char *logins[] = { "root" };
	const char *dirs[] = { "jit-ssh", "jit-ssh/principals", "sshd_config.d" };

	assert_int_equal(install(etc, "web", logins, 1, ca, NULL, NULL), 0);
	assert_int_equal(install(etc, "web", logins, 1, ca, NULL, NULL), 0);
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
		char *p = xasprintf("%s/%s", etc, dirs[i]);
		DIR *d = opendir(p);
		struct dirent *e;

		assert_non_null(d);
		while ((e = readdir(d)))
			if (e->d_name[0] == '.' && strcmp(e->d_name, ".") != 0 &&
			    strcmp(e->d_name, "..") != 0)
				fail_msg("left behind: %s/%s", p, e->d_name);
		closedir(d);
		free(p);
	}
	free(ca);
	free(etc);
}

static void test_snippet_with_principals_command_names_the_command_and_nobody(void **state)
{
	struct fixture *fx = *state;
	char *etc = new_etc(fx), *ca = ca_text(fx->ca_line), *s, *want;
	const char *logins[] = { "root" };

	assert_int_equal(install(etc, "web", logins, 1, ca, "/usr/bin/jit-ssh-hostcfg", NULL), 0);
	s = file_in(etc, "sshd_config.d/jit-ssh.conf");
	want = xasprintf("\nAuthorizedPrincipalsCommand /usr/bin/jit-ssh-hostcfg principals "
			 "--etc %s %%u\nAuthorizedPrincipalsCommandUser nobody\n", etc);
	assert_non_null(strstr(s, want));
	assert_null(strstr(s, "AuthorizedPrincipalsFile"));
	/* the command reads the same principals directory */
	assert_true(exists(etc, "jit-ssh/principals/root"));
	free(want);
	free(s);
	free(ca);
	free(etc);
}

/* --- the principals command --- */

static void test_principal_is_printed_only_for_an_enabled_login(void **state)
{
	struct fixture *fx = *state;
	char *etc = new_etc(fx), *ca = ca_text(fx->ca_line), *p = NULL;
	const char *logins[] = { "root", "deploy" };

	assert_int_equal(install(etc, "Prod-Web-3", logins, 2, ca, NULL, NULL), 0);
	assert_int_equal(hostcfg_principal(etc, "root", &p), 0);
	assert_string_equal(p, "jit:prod-web-3:root");
	free(p);
	assert_int_equal(hostcfg_principal(etc, "deploy", &p), 0);
	assert_string_equal(p, "jit:prod-web-3:deploy");
	free(p);
	p = (char *)"unchanged";
	assert_int_equal(hostcfg_principal(etc, "postgres", &p), 0);
	assert_null(p);
	free(ca);
	free(etc);
}

static void test_principal_is_not_printed_for_an_unsafe_user_name(void **state)
{
	struct fixture *fx = *state;
	char *etc = new_etc(fx), *ca = ca_text(fx->ca_line), *p = NULL;
	const char *logins[] = { "root" };
	const char *bad[] = { "../principals/root", "root/", ".", "..", "", "-root" };

	assert_int_equal(install(etc, "web", logins, 1, ca, NULL, NULL), 0);
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		p = (char *)"unchanged";
		assert_int_equal(hostcfg_principal(etc, bad[i], &p), 0);
		assert_null(p);
	}
	free(ca);
	free(etc);
}

static void test_principal_lookup_fails_closed_on_a_damaged_host_file(void **state)
{
	struct fixture *fx = *state;
	char *etc = new_etc(fx), *ca = ca_text(fx->ca_line), *p = NULL, *hostfile;
	const char *logins[] = { "root" };
	const char *bad[] = { "", "Web\n", "web\nother\n", "jit:web\n", "we b\n" };

	assert_int_equal(install(etc, "web", logins, 1, ca, NULL, NULL), 0);
	hostfile = xasprintf("%s/jit-ssh/host", etc);
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		spit(hostfile, bad[i]);
		assert_true(hostcfg_principal(etc, "root", &p) < 0);
		assert_null(p);
	}
	unlink(hostfile);
	assert_int_equal(hostcfg_principal(etc, "root", &p), -ENOENT);
	free(hostfile);
	free(ca);
	free(etc);
}

/* --- the real sshd -t --- */

/*
 * These tests need OpenSSH's sshd, which scripts/setup installs: without it they fail (a
 * cmocka skip() would be counted as a pass).
 */
static void need_sshd(void)
{
	if (access(HOSTCFG_SSHD, X_OK) != 0)
		fail_msg("%s not found: these tests need OpenSSH's sshd (scripts/setup installs "
			 "openssh-server)",
			 HOSTCFG_SSHD);
	/* As root sshd needs its privilege separation directory, even for -t. */
	if (geteuid() == 0 && mkdir("/run/sshd", 0755) < 0 && errno != EEXIST)
		fail_msg("cannot create sshd's privilege separation directory /run/sshd: %s",
			 strerror(errno));
}

static void test_generated_snippet_passes_sshd_t(void **state)
{
	struct fixture *fx = *state;
	const char *cmds[] = { NULL, "/usr/local/bin/jit-ssh-hostcfg" };

	need_sshd();
	for (size_t i = 0; i < ELEMENTSOF(cmds); i++) {
		char *etc = new_etc(fx), *ca = ca_text(fx->ca_line), *s, *out = NULL;
		const char *logins[] = { "root" };
		bool ok = false;

		assert_int_equal(install(etc, "web", logins, 1, ca, cmds[i], NULL), 0);
		s = file_in(etc, "sshd_config.d/jit-ssh.conf");
		assert_int_equal(hostcfg_check(s, HOSTCFG_SSHD, &ok, &out), 0);
		if (!ok)
			fail_msg("sshd -t refused the snippet: %s", out);
		free(out);
		free(s);
		free(ca);
		free(etc);
	}
}

static void test_sshd_t_check_reports_a_snippet_sshd_refuses(void **state)
{
	char *out = NULL;
	bool ok = true;

	(void)state;
	need_sshd();
	assert_int_equal(hostcfg_check("LogLevel VERBOSE\nNoSuchKeyword yes\n", HOSTCFG_SSHD, &ok,
				       &out), 0);
	assert_false(ok);
	assert_non_null(strstr(out, "NoSuchKeyword"));
	free(out);
	out = NULL;
	assert_int_equal(hostcfg_check("AuthorizedPrincipalsFile /x/%u\nLogLevel LOUD\n",
				       HOSTCFG_SSHD, &ok, &out), 0);
	assert_false(ok);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ca_key_line_from_ssh_keygen_is_kept_as_is),
		cmocka_unit_test(test_two_ca_keys_with_comments_and_blank_lines_are_both_kept),
		cmocka_unit_test(test_private_key_is_refused_as_ca_key),
		cmocka_unit_test(test_certificate_is_refused_as_ca_key),
		cmocka_unit_test(test_file_without_a_key_is_refused),
		cmocka_unit_test(test_garbage_line_is_refused_with_its_line_number),
		cmocka_unit_test(test_nul_byte_is_refused),
		cmocka_unit_test(test_ca_key_line_truncated_at_every_length_is_refused),
		cmocka_unit_test(test_ca_key_type_with_a_flipped_byte_is_refused),
		cmocka_unit_test(test_ca_key_file_at_the_size_limit_is_accepted_and_one_byte_more_refused),
		cmocka_unit_test(test_more_ca_keys_than_the_limit_are_refused),
		cmocka_unit_test(test_ca_key_file_that_does_not_exist_is_named_in_the_error),
		cmocka_unit_test(test_install_writes_ca_keys_host_principals_and_snippet),
		cmocka_unit_test(test_every_directive_in_the_snippet_follows_a_comment),
		cmocka_unit_test(test_host_name_is_normalised_before_it_goes_into_principals),
		cmocka_unit_test(test_unsafe_login_is_refused_and_nothing_is_written),
		cmocka_unit_test(test_unsafe_host_name_is_refused_and_nothing_is_written),
		cmocka_unit_test(test_etc_path_sshd_would_misread_is_refused),
		cmocka_unit_test(test_login_count_over_the_limit_is_refused),
		cmocka_unit_test(test_files_are_0644_and_directories_0755_whatever_the_umask),
		cmocka_unit_test(test_reinstall_removes_logins_no_longer_listed),
		cmocka_unit_test(test_reinstall_with_a_new_ca_key_replaces_the_old_one),
		cmocka_unit_test(test_install_leaves_no_temporary_files_behind),
		cmocka_unit_test(test_snippet_with_principals_command_names_the_command_and_nobody),
		cmocka_unit_test(test_principal_is_printed_only_for_an_enabled_login),
		cmocka_unit_test(test_principal_is_not_printed_for_an_unsafe_user_name),
		cmocka_unit_test(test_principal_lookup_fails_closed_on_a_damaged_host_file),
		cmocka_unit_test(test_generated_snippet_passes_sshd_t),
		cmocka_unit_test(test_sshd_t_check_reports_a_snippet_sshd_refuses),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
