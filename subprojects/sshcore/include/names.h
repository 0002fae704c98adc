/* SPDX-License-Identifier: ISC */
/*
 * names.h - the safe character set for users, logins, host names and principals, host-name
 * normalisation, and the host-bound principal format.
 *
 * A certificate from this CA never carries a bare login as a principal: each principal
 * names the host and the login together,
 *
 *     jit:<host>:<login>          e.g. jit:prod-web-3:root
 *
 * so a certificate for one host is refused by every other host's AuthorizedPrincipalsFile
 * (sshd_config(5)). The prefix "jit:" keeps these principals apart from any a site already
 * uses.
 *
 * Safe names: ASCII letters, digits, '.', '_', '-' (and '@' in user names only), not
 * starting with '-' or '.', 1..NAME_MAX_LEN bytes. No commas, whitespace, glob characters
 * ('*', '?', '['), ':' , '/', control characters or non-ASCII bytes.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define NAME_MAX_LEN 64
#define HOST_NAME_MAX_LEN 253
#define PRINCIPAL_PREFIX "jit:"

/** name_user_valid() - True when @s is a safe requester name. */
bool name_user_valid(const char *s);

/** name_login_valid() - True when @s is a safe login (POSIX-portable user name set). */
bool name_login_valid(const char *s);

/**
 * host_normalize() - Normalise a host name: lower case, no trailing dot, and @strip_suffix
 * (e.g. ".example.com", may be NULL) removed when it ends the name
 * @ret: new string
 * Errors: JIT_E_NAME when the result is empty, too long (HOST_NAME_MAX_LEN), or holds a
 * character other than ASCII letters, digits, '-' and '.'; and when @host has an empty label
 * anywhere (one trailing dot aside), in the part stripped as well: "web-1..example.com" is
 * refused, never turned into "web-1"; -ENOMEM. On error *@ret is untouched.
 */
int host_normalize(const char *host, const char *strip_suffix, char **ret);

/**
 * principal_format() - The host-bound principal "jit:HOST:LOGIN"
 * @host:  normalised host name (host_normalize())
 * @login: safe login
 * @ret:   new string
 * Errors: JIT_E_NAME when @host or @login is not safe; -ENOMEM.
 */
int principal_format(const char *host, const char *login, char **ret);
