/* SPDX-License-Identifier: ISC */
/*
 * jit-ssh-hostcfg - make this host's sshd trust the jit-ssh CA (docs/sre.md).
 *
 *   jit-ssh-hostcfg install --ca-key FILE --host NAME --login L [--login L...] [--etc DIR]
 *                           [--principals-command] [--check]
 *   jit-ssh-hostcfg principals USER [--etc DIR]
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "hostcfg.h"
#include "util.h"

static const char usage_text[] =
	"usage: jit-ssh-hostcfg install --ca-key FILE --host NAME --login LOGIN [--login LOGIN...]\n"
	"                               [--etc DIR] [--principals-command] [--check]\n"
	"       jit-ssh-hostcfg principals USER [--etc DIR]\n"
	"\n"
	"install     write DIR/jit-ssh/{trusted_user_ca_keys,host,principals/LOGIN} and\n"
	"            DIR/sshd_config.d/jit-ssh.conf so sshd accepts jit-ssh certificates for\n"
	"            LOGIN@NAME (DIR defaults to " HOSTCFG_ETC_DEFAULT "). --check first asks\n"
	"            `" HOSTCFG_SSHD " -t` about the new snippet and writes nothing if it fails.\n"
	"principals  print jit:<host>:USER when USER is an enabled login here (for sshd's\n"
	"            AuthorizedPrincipalsCommand); print nothing otherwise.\n";

enum { EXIT_USAGE = 2 };

static int usage(FILE *f, int status)
{
	fputs(usage_text, f);
	return status;
}

/* @dir as an absolute path (relative to the working directory), without trailing '/'. */
static int absolute_dir(const char *dir, char **ret)
{
	char cwd[PATH_MAX];
	char *p;
	size_t n;

	if (dir[0] == '/') {
		p = strdup(dir);
	} else {
		if (!getcwd(cwd, sizeof cwd))
			return -errno;
		if (asprintf(&p, "%s/%s", cwd, dir) < 0)
			p = NULL;
	}
	if (!p)
		return -ENOMEM;
	n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		p[--n] = 0;
	*ret = p;
	return 0;
}

static int self_path(char **ret)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);

	if (n < 0)
		return -errno;
	buf[n] = 0;
	*ret = strdup(buf);
	return *ret ? 0 : -ENOMEM;
}

static int cmd_install(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ca-key", required_argument, NULL, 'k' },
		{ "host", required_argument, NULL, 'H' },
		{ "login", required_argument, NULL, 'l' },
		{ "etc", required_argument, NULL, 'e' },
		{ "principals-command", no_argument, NULL, 'P' },
		{ "check", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	_cleanup_free_ char *etc = NULL, *cmd = NULL, *ca_keys = NULL, *snippet = NULL,
			    *error = NULL, *host = NULL, *output = NULL;
	_cleanup_free_ const char **logins = NULL;
	const char *ca_key_file = NULL, *host_arg = NULL, *etc_arg = HOSTCFG_ETC_DEFAULT;
	bool want_command = false, check = false, ok;
	size_t n_logins = 0, n_keys;
	int c, r;

	logins = calloc((size_t)argc, sizeof *logins);
	if (!logins)
		return EXIT_FAILURE;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'k': ca_key_file = optarg; break;
		case 'H': host_arg = optarg; break;
		case 'l': logins[n_logins++] = optarg; break;
		case 'e': etc_arg = optarg; break;
		case 'P': want_command = true; break;
		case 'c': check = true; break;
		case 'h': return usage(stdout, EXIT_SUCCESS);
		default: return usage(stderr, EXIT_USAGE);
		}
	}
	if (optind != argc || !ca_key_file || !host_arg || n_logins == 0) {
		fprintf(stderr, "jit-ssh-hostcfg install: --ca-key, --host and at least one "
				"--login are required\n");
		return usage(stderr, EXIT_USAGE);
	}
	if ((r = absolute_dir(etc_arg, &etc)) < 0) {
		fprintf(stderr, "jit-ssh-hostcfg: %s: %s\n", etc_arg, jit_strerror(r));
		return EXIT_FAILURE;
	}
	if (want_command && (r = self_path(&cmd)) < 0) {
		fprintf(stderr, "jit-ssh-hostcfg: cannot find my own path: %s\n", jit_strerror(r));
		return EXIT_FAILURE;
	}
	if ((r = hostcfg_ca_keys_load(ca_key_file, &ca_keys, &n_keys, &error)) < 0) {
		fprintf(stderr, "jit-ssh-hostcfg: CA key file %s\n", error ? error : jit_strerror(r));
		return EXIT_FAILURE;
	}

	struct hostcfg cfg = {
		.etc = etc,
		.host = host_arg,
		.logins = logins,
		.n_logins = n_logins,
		.ca_keys = ca_keys,
		.principals_command = cmd,
	};
	if (check) {
		if ((r = hostcfg_snippet(&cfg, &snippet)) < 0 ||
		    (r = hostcfg_check(snippet, HOSTCFG_SSHD, &ok, &output)) < 0) {
			fprintf(stderr, "jit-ssh-hostcfg: cannot run %s -t: %s\n", HOSTCFG_SSHD,
				jit_strerror(r));
			return EXIT_FAILURE;
		}
		if (!ok) {
			fprintf(stderr, "jit-ssh-hostcfg: %s -t rejects the configuration; nothing "
					"written:\n%s", HOSTCFG_SSHD, output);
			return EXIT_FAILURE;
		}
		printf("%s -t: configuration valid\n", HOSTCFG_SSHD);
	}
	if ((r = hostcfg_install(&cfg, &host, &error)) < 0) {
		fprintf(stderr, "jit-ssh-hostcfg: %s\n", error ? error : jit_strerror(r));
		return EXIT_FAILURE;
	}
	printf("installed jit-ssh trust in %s for host %s (%zu CA key%s), logins:", etc, host,
	       n_keys, n_keys == 1 ? "" : "s");
	for (size_t i = 0; i < n_logins; i++)
		printf(" %s", logins[i]);
	printf("\nsshd reads %s/" HOSTCFG_SNIPPET_FILE " when it starts or reloads "
	       "(e.g. `systemctl reload ssh`);\nits sshd_config must Include it "
	       "(Debian's does: Include /etc/ssh/sshd_config.d/*.conf).\n", etc);
	return EXIT_SUCCESS;
}

static int cmd_principals(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "etc", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	_cleanup_free_ char *principal = NULL;
	const char *etc = HOSTCFG_ETC_DEFAULT;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'e': etc = optarg; break;
		case 'h': return usage(stdout, EXIT_SUCCESS);
		default: return usage(stderr, EXIT_USAGE);
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "jit-ssh-hostcfg principals: give exactly one USER\n");
		return usage(stderr, EXIT_USAGE);
	}
	r = hostcfg_principal(etc, argv[optind], &principal);
	if (r < 0) {
		fprintf(stderr, "jit-ssh-hostcfg principals: cannot look up %s in %s/jit-ssh: %s\n",
			argv[optind], etc, jit_strerror(r));
		return EXIT_FAILURE;
	}
	if (principal)
		printf("%s\n", principal);
	return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr, EXIT_USAGE);
	if (strcmp(argv[1], "install") == 0)
		return cmd_install(argc - 1, argv + 1);
	if (strcmp(argv[1], "principals") == 0)
		return cmd_principals(argc - 1, argv + 1);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return usage(stdout, EXIT_SUCCESS);
	fprintf(stderr, "jit-ssh-hostcfg: unknown command \"%s\"\n", argv[1]);
	return usage(stderr, EXIT_USAGE);
}
