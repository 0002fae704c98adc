/* SPDX-License-Identifier: ISC */
/*
 * hostcfg.h - the host side of jit-ssh: the files that make an OpenSSH sshd trust the
 * jit-ssh CA for a fixed set of logins on this host (docs/sre.md).
 *
 * Under an sshd configuration directory ETC (default /etc/ssh) it writes
 *
 *   ETC/jit-ssh/trusted_user_ca_keys   the CA public-key line(s)            (0644)
 *   ETC/jit-ssh/host                   this host's normalised name           (0644)
 *   ETC/jit-ssh/principals/<login>     "jit:<host>:<login>" per login        (0644)
 *   ETC/sshd_config.d/jit-ssh.conf     TrustedUserCAKeys, AuthorizedPrincipals{File,Command},
 *                                      LogLevel VERBOSE                      (0644)
 *
 * directories 0755, each file replaced atomically (temporary file, fsync, rename), the
 * sshd_config snippet last so sshd never reads a snippet naming files not yet written
 * (sshd_config(5): TrustedUserCAKeys, AuthorizedPrincipalsFile, AuthorizedPrincipalsCommand).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Largest CA key file read, bytes. */
#define HOSTCFG_CA_FILE_MAX (64u * 1024u)
/* Most CA keys in one file (the current key plus the ones being rotated in or out). */
#define HOSTCFG_CA_KEYS_MAX 16u
/* Most logins one install enables. */
#define HOSTCFG_LOGINS_MAX 64u
/* Longest ETC directory or command path, bytes. */
#define HOSTCFG_PATH_MAX 1024u

#define HOSTCFG_ETC_DEFAULT "/etc/ssh"
#define HOSTCFG_SSHD "/usr/sbin/sshd"

/* Paths relative to ETC. */
#define HOSTCFG_CA_KEYS_FILE "jit-ssh/trusted_user_ca_keys"
#define HOSTCFG_HOST_FILE "jit-ssh/host"
#define HOSTCFG_PRINCIPALS_DIR "jit-ssh/principals"
#define HOSTCFG_SNIPPET_FILE "sshd_config.d/jit-ssh.conf"

/**
 * struct hostcfg - what to install (all borrowed)
 * @etc:                absolute sshd configuration directory (hostcfg_path_safe())
 * @host:               this host's name as given; normalised with host_normalize() (names.h)
 * @logins:             the accounts jit-ssh certificates may log in to (name_login_valid());
 *                      every other file in ETC/jit-ssh/principals/ is removed
 * @n_logins:           1..HOSTCFG_LOGINS_MAX
 * @ca_keys:            the CA key text from hostcfg_ca_keys_parse()
 * @principals_command: absolute path of jit-ssh-hostcfg to name in AuthorizedPrincipalsCommand
 *                      (run as AuthorizedPrincipalsCommandUser nobody), or NULL to use
 *                      AuthorizedPrincipalsFile ETC/jit-ssh/principals/%u
 */
struct hostcfg {
	const char *etc;
	const char *host;
	const char *const *logins;
	size_t n_logins;
	const char *ca_keys;
	const char *principals_command;
};

/**
 * hostcfg_path_safe() - True when @path may be written into sshd_config unquoted:
 * absolute, at most HOSTCFG_PATH_MAX bytes, only ASCII letters, digits and "/._+-"
 * (no whitespace, quotes, or '%', which sshd would expand as a token).
 */
bool hostcfg_path_safe(const char *path);

/**
 * hostcfg_ca_keys_parse() - Validate the text of a CA public-key file
 * @data, @len:  the file contents (at most HOSTCFG_CA_FILE_MAX bytes; need not be
 *               NUL-terminated)
 * @ret_text:    new text: each key re-encoded as "TYPE BASE64[ COMMENT]\n" (key_to_line())
 * @ret_n:       number of keys (1..HOSTCFG_CA_KEYS_MAX)
 * @ret_error:   on failure, a new one-line message "line N: what is wrong" (e.g. a private
 *               key or a certificate where a CA public key belongs); NULL if not wanted
 *
 * One OpenSSH public-key line per line (key_from_line(), key.h); blank lines and lines
 * starting with '#' are skipped. At least one key is required.
 *
 * Errors: JIT_E_FORMAT (not a public-key line, NUL byte, no key at all), JIT_E_KEY_TYPE
 * (certificate, DSA, unsupported type), JIT_E_KEY_WEAK, JIT_E_KEY_INVALID, JIT_E_TOO_LARGE
 * (file or line too long, more than HOSTCFG_CA_KEYS_MAX keys), -ENOMEM.
 */
int hostcfg_ca_keys_parse(const char *data, size_t len, char **ret_text, size_t *ret_n,
			  char **ret_error);

/**
 * hostcfg_ca_keys_load() - Read the file @path and hostcfg_ca_keys_parse() it
 * @ret_error: on failure, a new message "PATH: ..." ; NULL if not wanted
 * Errors: -errno (open/read), JIT_E_TOO_LARGE, and those of hostcfg_ca_keys_parse().
 */
int hostcfg_ca_keys_load(const char *path, char **ret_text, size_t *ret_n, char **ret_error);

/**
 * hostcfg_snippet() - The text of ETC/sshd_config.d/jit-ssh.conf for @c
 * @ret: new text, every directive preceded by a comment saying why
 * Errors: -EINVAL (@c->etc or @c->principals_command not hostcfg_path_safe()), -ENOMEM.
 */
int hostcfg_snippet(const struct hostcfg *c, char **ret);

/**
 * hostcfg_install() - Validate @c and write every file listed at the top of this header
 * @ret_host:  new normalised host name (what the principals name); NULL if not wanted
 * @ret_error: on failure, a new message naming the input or file at fault; NULL if not wanted
 *
 * Missing directories are created (0755). Files already in place are replaced atomically;
 * a failure part-way leaves every file either old or new, never half-written.
 *
 * Errors: -EINVAL (unsafe ETC or command path, no logins, too many logins, no CA keys),
 * JIT_E_NAME (unsafe host name or login), -errno (mkdir, write, fsync, rename), -ENOMEM.
 */
int hostcfg_install(const struct hostcfg *c, char **ret_host, char **ret_error);

/**
 * hostcfg_check() - Ask sshd whether a configuration with @snippet_text is valid:
 * writes it to a private temporary directory with a throwaway Ed25519 host key and an
 * sshd_config that Includes it, and runs `@sshd -t -f THAT_CONFIG` (sshd(8) -t)
 * @sshd:       absolute path of sshd (HOSTCFG_SSHD)
 * @ret_ok:     true when sshd exited 0
 * @ret_output: new text: what sshd printed (stdout and stderr), "" when nothing
 *
 * As root, sshd needs its privilege separation directory (/run/sshd) even for -t.
 * A configuration sshd rejects is a result (@ret_ok false), not an error; so is an @sshd
 * that cannot be executed (@ret_output says why). The temporary directory is removed.
 * Errors: -errno (temporary files, pipe, fork), JIT_E_CRYPTO (host key), -ENOMEM.
 */
int hostcfg_check(const char *snippet_text, const char *sshd, bool *ret_ok, char **ret_output);

/**
 * hostcfg_principal() - The principal sshd should accept for account @user on this host,
 * as AuthorizedPrincipalsCommand prints it: "jit:<host>:<user>" when
 * ETC/jit-ssh/principals/@user exists (the login is enabled here), else none
 * @etc:  sshd configuration directory
 * @user: the account name sshd asks about (%u)
 * @ret:  new principal, or NULL when @user is not enabled or not a safe login
 *
 * Errors: -errno reading ETC/jit-ssh/host or testing the principals file (other than
 * -ENOENT), JIT_E_NAME or JIT_E_FORMAT when the host file does not hold a normalised host
 * name, -ENOMEM. sshd treats a failing command as "no principals": it fails closed.
 */
int hostcfg_principal(const char *etc, const char *user, char **ret);
