/* SPDX-License-Identifier: ISC */
/*
 * util.h - small helpers shared by all of jit-ssh: scoped cleanup (systemd style) and
 * wiping of secrets.
 *
 *   _cleanup_free_ char *s = NULL;          freed when s leaves scope
 *   _cleanup_(wbuf_freep) struct wbuf *b;    destructor called with &b
 *   return TAKE_PTR(s);                      hand ownership out; s becomes NULL
 */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)

#define TAKE_PTR(p)                              \
	({                                       \
		__typeof__(p) _take_tmp = (p);   \
		(p) = NULL;                      \
		_take_tmp;                       \
	})

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p)
{
	free(*(void **)p);
}

/* Free a NUL-terminated string after wiping it (for secrets: tokens, passphrases). */
static inline void freep_secret_str(char **p)
{
	if (*p) {
		explicit_bzero(*p, strlen(*p));
		free(*p);
	}
}

/**
 * util_write_all() - Write all of @buf to @fd, retrying short writes and EINTR (write(2))
 * @fd:  an open file descriptor (borrowed: neither synced nor closed here)
 * @buf: @len bytes (borrowed)
 * Errors: the -errno of the first failing write(2), -EIO when write(2) makes no progress;
 * what was written before stays.
 * Return: 0 once all @len bytes are written.
 */
static inline int util_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* no progress: do not spin */
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
