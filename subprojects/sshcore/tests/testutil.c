/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

char *tu_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *p;

	if (asprintf(&p, "%s/sshcore-test-XXXXXX", base && *base ? base : "/tmp") < 0)
		return NULL;
	if (!mkdtemp(p)) {
		free(p);
		return NULL;
	}
	return p;
}

void tu_rmtree(const char *path)
{
	char *cmd;

	if (!path || !*path || strcmp(path, "/") == 0)
		return;
	if (asprintf(&cmd, "rm -rf '%s'", path) < 0)
		return;
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", path);
	free(cmd);
}

int tu_write_file(const char *path, const void *data, size_t len, unsigned mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	const char *p = data;

	if (fd < 0)
		return -errno;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fchmod(fd, mode) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return close(fd) < 0 ? -errno : 0;
}

int tu_read_file(const char *path, char **ret, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0;

	if (!f)
		return -errno;
	for (;;) {
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap + 65536);
			if (!nb) {
				free(buf);
				fclose(f);
				return -ENOMEM;
			}
			buf = nb;
			cap += 65536;
		}
		size_t n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	buf[len] = 0;
	*ret = buf;
	if (ret_len)
		*ret_len = len;
	return 0;
}

int tu_run(char **ret_out, const char *fmt, ...)
{
	va_list ap;
	char *cmd, *full, *out = NULL;
	size_t len = 0, cap = 0;
	FILE *p;
	int st;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0) {
		va_end(ap);
		return -1;
	}
	va_end(ap);
	if (asprintf(&full, "( %s ) 2>&1", cmd) < 0) {
		free(cmd);
		return -1;
	}
	free(cmd);
	p = popen(full, "r");
	free(full);
	if (!p)
		return -1;
	for (;;) {
		if (cap - len < 1024) {
			char *nb = realloc(out, cap + 16384);
			if (!nb)
				break;
			out = nb;
			cap += 16384;
		}
		size_t n = fread(out + len, 1, cap - len - 1, p);
		len += n;
		if (n == 0)
			break;
	}
	if (out)
		out[len] = 0;
	st = pclose(p);
	if (ret_out)
		*ret_out = out ? out : strdup("");
	else
		free(out);
	if (st < 0 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

const char *tu_ssh_keygen(void)
{
	const char *k = getenv("SSH_KEYGEN");
	return k && *k ? k : "ssh-keygen";
}
