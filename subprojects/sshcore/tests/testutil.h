/* SPDX-License-Identifier: ISC */
/*
 * testutil.h - helpers for the sshcore unit tests: temporary directories, files, and running
 * the real OpenSSH tools.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* A fresh private temporary directory (new string; removed by tu_rmtree()). */
char *tu_tmpdir(void);
/* Remove a directory tree (best effort). */
void tu_rmtree(const char *path);
/* Write @len bytes to @path with @mode. Returns 0 or -errno. */
int tu_write_file(const char *path, const void *data, size_t len, unsigned mode);
/* Read a whole file (new, NUL-terminated). Returns 0 or -errno. */
int tu_read_file(const char *path, char **ret, size_t *ret_len);
/*
 * Run a shell command (printf-style), capturing stdout+stderr into *ret_out (new, may be
 * NULL if not wanted). Returns the exit status (0..255), or -1 when it could not run.
 */
int tu_run(char **ret_out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The ssh-keygen to use ($SSH_KEYGEN or "ssh-keygen"). */
const char *tu_ssh_keygen(void);
