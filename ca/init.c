/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "err.h"
#include "init.h"
#include "key.h"
#include "ledger.h"
#include "names.h"
#include "serve.h"
#include "tlsgen.h"
#include "util.h"

/* The files init writes, in the order it writes them (the ledger directory comes last). */
static const char *const init_files[] = {
	"ca_key", "ca_key.pub", "tls_key.pem", "tls_cert.pem", "config.yaml", "policy.yaml", NULL,
};

void init_result_clear(struct init_result *r)
{
	free(r->config);
	free(r->ca_line);
	free(r->pin);
	memset(r, 0, sizeof(*r));
}

static int set_error(char **ret_error, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int set_error(char **ret_error, int r, const char *fmt, ...)
{
	va_list ap;

	if (ret_error) {
		va_start(ap, fmt);
		if (vasprintf(ret_error, fmt, ap) < 0)
			*ret_error = NULL;
		va_end(ap);
	}
	return r;
}

/* Write @text durably to @path, opened with @flags (O_EXCL: a new file, removed again on
 * failure; O_APPEND: added to the end). */
static int write_text(const char *path, int flags, mode_t mode, const char *text)
{
	int fd, r;

	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | flags, mode);
	if (fd < 0)
		return -errno;
	r = util_write_all(fd, text, strlen(text));
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0 && (flags & O_EXCL))
		unlink(path);
	return r;
}

static int write_file(const char *path, mode_t mode, const char *text)
{
	return write_text(path, O_EXCL, mode, text);
}

int init_example_policy(const char *user, const char *user_key, char **ret)
{
	char *text;
	int n;

	n = asprintf(
		&text,
		"# jit-ssh access policy written by `jit-ssh-ca init` (the language: "
		"docs/policy.md).\n"
		"# It enrols one user, %s, and lets %s log in as %s on any host: certificates\n"
		"# live 15 minutes unless the request asks for less, at most one hour.\n"
		"# Anything no rule allows is denied. A fuller example: policy/example.yaml.\n"
		"# Check changes with:   jit-ssh-ca policy check policy.yaml\n"
		"version: 1\n"
		"\n"
		"settings:\n"
		"  default_ttl: 15m\n"
		"  max_ttl: 1h\n"
		"\n"
		"users:\n"
		"  %s:\n"
		"%s%s%s\n"
		"\n"
		"rules:\n"
		"  - name: self-login\n"
		"    users: [%s]\n"
		"    hosts: [\"*\"]\n"
		"    logins: [\"${user}\"]\n",
		user, user, user, user,
		user_key ? "    keys:\n      - \""
			 : "    disabled: true    # until a key is listed\n"
			   "    keys: []          # e.g. [\"ssh-ed25519 AAAA...\"]",
		user_key ? user_key : "", user_key ? "\"" : "", user);
	if (n < 0)
		return -ENOMEM;
	*ret = text;
	return 0;
}

static int config_text(uint16_t port, char **ret)
{
	if (asprintf(ret,
		     "# jit-ssh-ca configuration (see docs/operating-ca.md). Relative paths are\n"
		     "# relative to the directory of this file.\n"
		     "listen: 127.0.0.1\n"
		     "port: %u\n"
		     "plain_http: false\n"
		     "tls_cert: tls_cert.pem\n"
		     "tls_key: tls_key.pem\n"
		     "ca_key: ca_key\n"
		     "policy: policy.yaml\n"
		     "ledger: ledger\n"
		     "skew_sec: %u\n"
		     "max_ttl_sec: %u\n"
		     "clock_window_sec: %u\n"
		     "signer_id: 0\n"
		     "ledger_map_size: %llu\n"
		     "ledger_map_size_max: %llu\n"
		     "checkpoint_records: %u\n"
		     "checkpoint_sec: %u\n"
		     "pid_file: serve.pid\n"
		     "per_ip_connection_limit: %u\n"
		     "connection_timeout_sec: %u\n",
		     (unsigned)port, CONFIG_SKEW_DEFAULT_SEC, CONFIG_MAX_TTL_DEFAULT_SEC,
		     CONFIG_CLOCK_WINDOW_DEFAULT_SEC,
		     (unsigned long long)CONFIG_LEDGER_MAP_SIZE_DEFAULT,
		     (unsigned long long)CONFIG_LEDGER_MAP_SIZE_MAX_DEFAULT,
		     CONFIG_CHECKPOINT_RECORDS_DEFAULT, CONFIG_CHECKPOINT_SEC_DEFAULT,
		     CONFIG_PER_IP_CONNECTIONS_DEFAULT, CONFIG_CONNECTION_TIMEOUT_DEFAULT_SEC) < 0)
		return -ENOMEM;
	return 0;
}

static char *path_in(const char *dir, const char *name)
{
	char *p;

	return asprintf(&p, "%s/%s", dir, name) < 0 ? NULL : p;
}

/*
 * Before a rotation (--force) replaces the CA key: append the old CA public key to
 * ca_key.previous.pub (SERVE_PREVIOUS_CA_KEYS_SUFFIX), durably, so the ledger's checkpoints
 * signed with it stay trusted by the start-up check, `ledger verify` and `ledger backup`.
 * Runs before anything is removed. The key is the public half of ca_key (what really signed),
 * which ca_key.pub, when present, must match; without ca_key, ca_key.pub's key is kept.
 */
static int keep_previous_ca_key(const char *dir, char **ret_error)
{
	_cleanup_free_ char *priv_path = path_in(dir, "ca_key");
	_cleanup_free_ char *pub_path = path_in(dir, "ca_key.pub");
	_cleanup_free_ char *prev = path_in(dir, "ca_key" SERVE_PREVIOUS_CA_KEYS_SUFFIX);
	_cleanup_free_ char *text = NULL, *line = NULL, *fp = NULL;
	_cleanup_(key_freep) struct key *priv = NULL;
	_cleanup_(key_freep) struct key *pub = NULL;
	_cleanup_(key_freep) struct key *listed = NULL;
	size_t len = 0;
	int r;

	if (!priv_path || !pub_path || !prev)
		return -ENOMEM;
	r = key_load_private(priv_path, false, &priv);
	if (r < 0 && r != -ENOENT)
		return set_error(ret_error, r,
				 "cannot read the CA key %s (%s): refusing to rotate it without "
				 "keeping its public key for the ledger's checkpoints",
				 priv_path, jit_strerror(r));
	if (priv && (r = key_public(priv, &pub)) < 0)
		return r;
	r = tlsgen_read_file(pub_path, &text, &len);
	if (r < 0 && r != -ENOENT)
		return set_error(ret_error, r, "cannot read %s: %s", pub_path, jit_strerror(r));
	if (r == 0) {
		if (len > 0 && text[len - 1] == '\n')
			text[len - 1] = 0;
		if ((r = key_from_line(text, &listed, NULL)) < 0)
			return set_error(
				ret_error, r,
				"%s is not one public-key line (%s): fix or remove it, then "
				"rotate again",
				pub_path, jit_strerror(r));
		if (pub && !key_equal_public(pub, listed))
			return set_error(ret_error, JIT_E_FORMAT,
					 "%s does not hold the public key of %s: fix or remove it, "
					 "then rotate again",
					 pub_path, priv_path);
		if (!pub)
			pub = TAKE_PTR(listed);
	}
	if (!pub)
		return 0; /* no CA key yet: nothing to keep */
	if ((r = key_fingerprint(pub, &fp)) < 0 || (r = key_to_line(pub, NULL, &line)) < 0)
		return r;
	free(text);
	if (asprintf(&text, "%s jit-ssh-ca rotated out %s\n", line, fp) < 0) {
		text = NULL;
		return -ENOMEM;
	}
	if ((r = write_text(prev, O_APPEND, 0644, text)) < 0)
		return set_error(ret_error, r, "cannot write %s: %s", prev, strerror(-r));
	return 0;
}

/* Make @dir (0700), or check an existing one may be (re)initialised. */
static int prepare_dir(const struct init_options *o, char **ret_error)
{
	struct stat st;
	bool kept = false;
	int r;

	if (mkdir(o->dir, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return set_error(ret_error, -errno, "cannot create %s: %s", o->dir,
				 strerror(errno));
	if (stat(o->dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return set_error(ret_error, -ENOTDIR, "%s exists and is not a directory", o->dir);
	for (size_t i = 0; init_files[i]; i++) {
		_cleanup_free_ char *p = path_in(o->dir, init_files[i]);

		if (!p)
			return -ENOMEM;
		if (access(p, F_OK) < 0)
			continue;
		if (!o->force)
			return set_error(ret_error, -EEXIST,
					 "%s is already a CA state directory (%s exists); use "
					 "--force to replace its keys, config and policy",
					 o->dir, init_files[i]);
		/* Before the first file goes: the old CA key must be kept, or nothing changes. */
		if (!kept && (r = keep_previous_ca_key(o->dir, ret_error)) < 0)
			return r;
		kept = true;
		if (unlink(p) < 0)
			return set_error(ret_error, -errno, "cannot remove %s: %s", p,
					 strerror(errno));
	}
	if (chmod(o->dir, 0700) < 0)
		return set_error(ret_error, -errno, "cannot chmod 700 %s: %s", o->dir,
				 strerror(errno));
	return 0;
}

static int write_keys(const struct init_options *o, struct init_result *res, char **ret_error)
{
	_cleanup_(key_freep) struct key *ca = NULL;
	_cleanup_free_ char *key_path = path_in(o->dir, "ca_key");
	_cleanup_free_ char *pub_path = path_in(o->dir, "ca_key.pub");
	_cleanup_free_ char *tls_key = path_in(o->dir, "tls_key.pem");
	_cleanup_free_ char *tls_cert = path_in(o->dir, "tls_cert.pem");
	_cleanup_free_ char *line = NULL;
	int r;

	if (!key_path || !pub_path || !tls_key || !tls_cert)
		return -ENOMEM;
	if ((r = key_generate(KEY_ED25519, 0, &ca)) < 0)
		return set_error(ret_error, r, "cannot generate the CA key: %s", jit_strerror(r));
	if ((r = key_write_private(ca, "jit-ssh-ca", key_path)) < 0)
		return set_error(ret_error, r, "cannot write %s: %s", key_path, jit_strerror(r));
	if ((r = key_to_line(ca, "jit-ssh-ca", &res->ca_line)) < 0)
		return set_error(ret_error, r, "cannot format the CA key: %s", jit_strerror(r));
	if (asprintf(&line, "%s\n", res->ca_line) < 0)
		return -ENOMEM;
	if ((r = write_file(pub_path, 0644, line)) < 0)
		return set_error(ret_error, r, "cannot write %s: %s", pub_path, jit_strerror(r));
	if ((r = tlsgen_write(tls_key, tls_cert, o->now, &res->pin)) < 0)
		return set_error(ret_error, r, "cannot write %s and %s: %s", tls_key, tls_cert,
				 jit_strerror(r));
	return 0;
}

static int write_texts(const struct init_options *o, struct init_result *res, char **ret_error)
{
	_cleanup_free_ char *pol_path = path_in(o->dir, "policy.yaml");
	_cleanup_free_ char *conf = NULL;
	_cleanup_free_ char *pol = NULL;
	_cleanup_free_ char *user_key = NULL;
	_cleanup_(key_freep) struct key *k = NULL;
	int r;

	res->config = path_in(o->dir, "config.yaml");
	if (!res->config || !pol_path)
		return -ENOMEM;
	if (o->user_key) {
		_cleanup_free_ char *comment = NULL;

		if ((r = key_from_line(o->user_key, &k, &comment)) < 0)
			return set_error(ret_error, JIT_E_FORMAT,
					 "the key to enrol is not a usable public-key line: %s",
					 jit_strerror(r));
		if ((r = key_to_line(k, NULL, &user_key)) < 0)
			return r;
	}
	if ((r = config_text(o->port, &conf)) < 0 ||
	    (r = init_example_policy(o->user, user_key, &pol)) < 0)
		return r;
	if ((r = write_file(res->config, 0644, conf)) < 0)
		return set_error(ret_error, r, "cannot write %s: %s", res->config, jit_strerror(r));
	if ((r = write_file(pol_path, 0644, pol)) < 0)
		return set_error(ret_error, r, "cannot write %s: %s", pol_path, jit_strerror(r));
	return 0;
}

static int make_ledger(const struct init_options *o, char **ret_error)
{
	_cleanup_free_ char *dir = path_in(o->dir, "ledger");
	struct ledger *l = NULL;
	int r;

	if (!dir)
		return -ENOMEM;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return set_error(ret_error, -errno, "cannot create %s: %s", dir, strerror(errno));
	if ((r = ledger_open(dir, NULL, &l)) < 0)
		return set_error(ret_error, r, "cannot create the ledger in %s: %s", dir,
				 jit_strerror(r));
	ledger_close(l);
	return 0;
}

int init_run(const struct init_options *o, struct init_result *ret, char **ret_error)
{
	struct init_result res = {0};
	int r;

	if (!name_user_valid(o->user))
		return set_error(ret_error, JIT_E_NAME, "'%s' is not a safe user name", o->user);
	if ((r = prepare_dir(o, ret_error)) < 0)
		return r;
	if ((r = write_keys(o, &res, ret_error)) < 0 || (r = write_texts(o, &res, ret_error)) < 0 ||
	    (r = make_ledger(o, ret_error)) < 0) {
		/* Leave no half-made state directory behind (an existing ledger stays). */
		for (size_t i = 0; init_files[i]; i++) {
			_cleanup_free_ char *p = path_in(o->dir, init_files[i]);

			if (p)
				unlink(p);
		}
		init_result_clear(&res);
		return r;
	}
	*ret = res;
	return 0;
}
