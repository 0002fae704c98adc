/* SPDX-License-Identifier: ISC */
/* helpers.h - small helpers for the jit-ssh client tests: temporary directories and files. */
#pragma once

#include <stddef.h>

/* A fresh private temporary directory (new string); remove it with th_rmtree(). */
char *th_tmpdir(void);
/* Remove a directory tree (best effort). */
void th_rmtree(const char *path);
/* Write the NUL-terminated @text to @dir/@name with @mode; returns the path (new). */
char *th_write(const char *dir, const char *name, const char *text, unsigned mode);
/* A whole file, NUL-terminated (new), or NULL. */
char *th_read(const char *path);
