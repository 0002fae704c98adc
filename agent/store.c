/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"
#include "util.h"

/* mkdir @path 0700 unless it exists; an existing one must be our own real directory. */
static int make_private_dir(const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	if (lstat(path, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (st.st_uid != geteuid())
		return -EPERM;
	if ((st.st_mode & 077) && chmod(path, 0700) < 0)
		return -errno;
	return 0;
}

int store_dir(const char *xdg_runtime_dir, const char *home, char **ret)
{
	_cleanup_free_ char *path = NULL, *cache = NULL;
	int r;

	if (xdg_runtime_dir && xdg_runtime_dir[0] == '/') {
		if (asprintf(&path, "%s/jit-ssh", xdg_runtime_dir) < 0)
			return -ENOMEM;
	} else if (home && home[0] == '/') {
		if (asprintf(&cache, "%s/.cache", home) < 0 ||
		    asprintf(&path, "%s/jit-ssh", cache) < 0)
			return -ENOMEM;
		if (mkdir(cache, 0700) < 0 && errno != EEXIST)
			return -errno;
	} else {
		return -ENOENT;
	}
	if ((r = make_private_dir(path)) < 0)
		return r;
	*ret = TAKE_PTR(path);
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int store_write(const char *dir, const char *name, const char *text)
{
	_cleanup_free_ char *tmp = NULL, *dst = NULL;
	int fd, r;

	if (asprintf(&tmp, "%s/.%s.XXXXXX", dir, name) < 0)
		return -ENOMEM;
	if (asprintf(&dst, "%s/%s", dir, name) < 0)
		return -ENOMEM;
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		return -errno;
	r = fchmod(fd, 0644) < 0 ? -errno : 0;
	if (r == 0)
		r = write_all(fd, text, strlen(text));
	if (r == 0)
		r = write_all(fd, "\n", 1);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, dst) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}
