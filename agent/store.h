/* SPDX-License-Identifier: ISC */
/*
 * store.h - where jit-ssh leaves the public key and certificate lines for ssh to read:
 * $XDG_RUNTIME_DIR/jit-ssh/ (a per-login tmpfs), else ~/.cache/jit-ssh/, mode 0700, files
 * "<login>@<host>.pub" and "<login>@<host>-cert.pub" (the caller names them). Only public
 * material is written; the private key lives in ssh-agent alone.
 */
#pragma once

/**
 * store_dir() - The directory, created (with its parent ~/.cache when needed) if missing
 * @xdg_runtime_dir: $XDG_RUNTIME_DIR or NULL (used when it is an absolute path)
 * @home:            $HOME or NULL
 * @ret:             new path
 * An existing directory must be owned by the caller and is set to mode 0700 when it is
 * group- or world-accessible; a symbolic link is refused.
 * Errors: -ENOENT (neither variable usable), -ENOTDIR, -EPERM (owned by someone else),
 * other -errno from mkdir/lstat/chmod, -ENOMEM.
 */
int store_dir(const char *xdg_runtime_dir, const char *home, char **ret);

/**
 * store_write() - Write @text plus a newline to @dir/@name atomically: a temporary file in
 * @dir (mode 0644), fsync, then rename over the old one
 * Errors: -errno; on failure the old file is unchanged and no temporary file is left.
 */
int store_write(const char *dir, const char *name, const char *text);
