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

#include <stdlib.h>
#include <string.h>

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
