/* SPDX-License-Identifier: ISC */
#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cert.h"
#include "conf.h"
#include "config.h"
#include "err.h"
#include "ledger.h"
#include "util.h"

static const char *const config_keys[] = {
	"listen",
	"port",
	"plain_http",
	"tls_cert",
	"tls_key",
	"ca_key",
	"policy",
	"ledger",
	"skew_sec",
	"max_ttl_sec",
	"clock_window_sec",
	"signer_id",
	"ledger_map_size",
	"ledger_map_size_max",
	"checkpoint_records",
	"checkpoint_sec",
	"pid_file",
	"per_ip_connection_limit",
	"connection_timeout_sec",
	NULL,
};

static const char *const path_keys[] = {
	"tls_cert", "tls_key", "ca_key", "policy", "ledger", "pid_file", NULL,
};

const char *config_default_path(void)
{
	const char *e = getenv(CONFIG_ENV);

	return e && *e ? e : CONFIG_DEFAULT_PATH;
}

struct config *config_free(struct config *c)
{
	if (!c)
		return NULL;
	free(c->path);
	free(c->listen);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->ca_key);
	free(c->policy);
	free(c->ledger);
	free(c->pid_file);
	free(c);
	return NULL;
}

void config_freep(struct config **c)
{
	config_free(*c);
}

int config_set_error(char **ret_error, const char *fmt, ...)
{
	va_list ap;

	if (!ret_error)
		return 0;
	va_start(ap, fmt);
	if (vasprintf(ret_error, fmt, ap) < 0)
		*ret_error = NULL;
	va_end(ap);
	return 0;
}

/* @value (or @def when absent) made relative to @dir unless it is absolute. */
static int resolve_path(const char *dir, const char *value, const char *def, char **ret)
{
	const char *v = value ? value : def;
	char *p;

	if (v[0] == '/' || !strcmp(dir, "."))
		p = strdup(v);
	else if (asprintf(&p, "%s/%s", dir, v) < 0)
		p = NULL;
	if (!p)
		return -ENOMEM;
	*ret = p;
	return 0;
}

bool config_address_is_loopback(const char *addr)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, addr, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

int config_check_listen(const struct config *c, char **ret_error)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, c->listen, &a4) != 1 && inet_pton(AF_INET6, c->listen, &a6) != 1) {
		config_set_error(ret_error, "%s: listen: '%s' is not an IPv4 or IPv6 address",
				 c->path, c->listen);
		return JIT_E_FORMAT;
	}
	if (c->plain_http && !config_address_is_loopback(c->listen)) {
		config_set_error(
			ret_error,
			"%s: plain_http is allowed only with a loopback listen address, not %s",
			c->path, c->listen);
		return JIT_E_FORMAT;
	}
	return 0;
}

int config_load(const char *path, struct config **ret, char **ret_error)
{
	_cleanup_(conf_freep) struct conf *cf = NULL;
	_cleanup_(config_freep) struct config *c = NULL;
	_cleanup_free_ char *copy = NULL;
	_cleanup_free_ char *err = NULL;
	uint64_t port = CONFIG_PORT_DEFAULT, signer = 0;
	int plain = 0, r;
	const char *dir;

	r = conf_load(path, config_keys, &cf, &err);
	if (r < 0) {
		if (err)
			config_set_error(ret_error, "%s", err);
		else
			config_set_error(ret_error, "%s: %s", path, jit_strerror(r));
		return r;
	}
	c = calloc(1, sizeof(*c));
	copy = strdup(path);
	if (!c || !copy)
		return -ENOMEM;
	c->path = strdup(path);
	c->listen = strdup(conf_get(cf, "listen") ? conf_get(cf, "listen") : "127.0.0.1");
	if (!c->path || !c->listen)
		return -ENOMEM;
	c->skew_sec = CONFIG_SKEW_DEFAULT_SEC;
	c->max_ttl_sec = CONFIG_MAX_TTL_DEFAULT_SEC;
	c->clock_window_sec = CONFIG_CLOCK_WINDOW_DEFAULT_SEC;
	c->ledger_map_size = CONFIG_LEDGER_MAP_SIZE_DEFAULT;
	c->ledger_map_size_max = CONFIG_LEDGER_MAP_SIZE_MAX_DEFAULT;
	c->checkpoint_records = CONFIG_CHECKPOINT_RECORDS_DEFAULT;
	c->checkpoint_sec = CONFIG_CHECKPOINT_SEC_DEFAULT;
	c->per_ip_connection_limit = CONFIG_PER_IP_CONNECTIONS_DEFAULT;
	c->connection_timeout_sec = CONFIG_CONNECTION_TIMEOUT_DEFAULT_SEC;

	if ((r = conf_get_u64(cf, "port", 0, 65535, &port, &err)) < 0 ||
	    (r = conf_get_bool(cf, "plain_http", &plain, &err)) < 0 ||
	    (r = conf_get_u64(cf, "skew_sec", 0, CERT_SKEW_MAX, &c->skew_sec, &err)) < 0 ||
	    (r = conf_get_u64(cf, "max_ttl_sec", 1, CERT_LIFETIME_MAX, &c->max_ttl_sec, &err)) <
		    0 ||
	    (r = conf_get_u64(cf, "clock_window_sec", 1, CONFIG_CLOCK_WINDOW_MAX_SEC,
			      &c->clock_window_sec, &err)) < 0 ||
	    (r = conf_get_u64(cf, "signer_id", 0, LEDGER_SIGNER_ID_MAX, &signer, &err)) < 0 ||
	    (r = conf_get_u64(cf, "ledger_map_size", CONFIG_LEDGER_MAP_SIZE_MIN,
			      CONFIG_LEDGER_MAP_SIZE_MAX, &c->ledger_map_size, &err)) < 0 ||
	    (r = conf_get_u64(cf, "ledger_map_size_max", CONFIG_LEDGER_MAP_SIZE_MIN,
			      CONFIG_LEDGER_MAP_SIZE_MAX, &c->ledger_map_size_max, &err)) < 0 ||
	    (r = conf_get_u64(cf, "checkpoint_records", 1, CONFIG_CHECKPOINT_MAX,
			      &c->checkpoint_records, &err)) < 0 ||
	    (r = conf_get_u64(cf, "checkpoint_sec", 1, CONFIG_CHECKPOINT_MAX, &c->checkpoint_sec,
			      &err)) < 0 ||
	    (r = conf_get_u64(cf, "per_ip_connection_limit", 1, CONFIG_CONNECTIONS_MAX,
			      &c->per_ip_connection_limit, &err)) < 0 ||
	    (r = conf_get_u64(cf, "connection_timeout_sec", 1, CONFIG_CONNECTION_TIMEOUT_MAX_SEC,
			      &c->connection_timeout_sec, &err)) < 0) {
		if (err)
			config_set_error(ret_error, "%s", err);
		else
			config_set_error(ret_error, "%s: %s", path, jit_strerror(r));
		return r;
	}
	c->port = (uint16_t)port;
	c->signer_id = (uint16_t)signer;
	c->plain_http = plain != 0;

	dir = dirname(copy);
	for (const char *const *k = path_keys; *k; k++)
		if (conf_get(cf, *k) && !*conf_get(cf, *k)) {
			config_set_error(ret_error, "%s: %s: empty path", path, *k);
			return JIT_E_FORMAT;
		}
	if ((r = resolve_path(dir, conf_get(cf, "tls_cert"), "tls_cert.pem", &c->tls_cert)) < 0 ||
	    (r = resolve_path(dir, conf_get(cf, "tls_key"), "tls_key.pem", &c->tls_key)) < 0 ||
	    (r = resolve_path(dir, conf_get(cf, "ca_key"), "ca_key", &c->ca_key)) < 0 ||
	    (r = resolve_path(dir, conf_get(cf, "policy"), "policy.yaml", &c->policy)) < 0 ||
	    (r = resolve_path(dir, conf_get(cf, "ledger"), "ledger", &c->ledger)) < 0 ||
	    (r = resolve_path(dir, conf_get(cf, "pid_file"), "serve.pid", &c->pid_file)) < 0)
		return r;

	if ((r = config_check_listen(c, ret_error)) < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}

/* One path's owner and mode; @holds is NULL, or the path inside directory @path; @also is
 * one more trusted owner, or CONFIG_NO_UID. */
static int check_owner_mode(const char *path, const char *holds, uid_t also, char **ret_error)
{
	_cleanup_free_ char *name = NULL;
	struct stat st;
	uid_t me = geteuid();
	int r;

	if (holds ? asprintf(&name, "%s, which holds %s,", path, holds) < 0
		  : !(name = strdup(path)))
		return -ENOMEM;
	if (stat(path, &st) < 0) {
		r = -errno;
		config_set_error(ret_error, "cannot check %s: %s", name, strerror(-r));
		return r;
	}
	if (st.st_uid != me && st.st_uid != 0 && (also == CONFIG_NO_UID || st.st_uid != also)) {
		if (also != CONFIG_NO_UID && also != me)
			config_set_error(
				ret_error,
				"%s is owned by uid %u, neither root nor the CA's user (uid %u, "
				"the owner of the CA key) nor the user running jit-ssh-ca "
				"(uid %u), so that user could change it at will. Fix it with: "
				"chown %u %s",
				name, (unsigned)st.st_uid, (unsigned)also, (unsigned)me,
				(unsigned)also, path);
		else
			config_set_error(
				ret_error,
				"%s is owned by uid %u, neither root nor the user running "
				"jit-ssh-ca (uid %u), so that user could change it at will. Fix it "
				"with: chown %u %s",
				name, (unsigned)st.st_uid, (unsigned)me, (unsigned)me, path);
		return JIT_E_PERMISSION;
	}
	if (st.st_mode & 022) {
		config_set_error(
			ret_error,
			"%s is writable by group or others, who could change it at will. Fix it "
			"with: chmod go-w %s",
			name, path);
		return JIT_E_PERMISSION;
	}
	return 0;
}

int config_parent_dir(const char *path, char **ret)
{
	_cleanup_free_ char *copy = strdup(path);
	char *real;

	if (!copy)
		return -ENOMEM;
	real = realpath(dirname(copy), NULL);
	if (!real)
		return -errno;
	*ret = real;
	return 0;
}

int config_check_trusted(const char *path, char **ret_error)
{
	return config_check_trusted_owner(path, CONFIG_NO_UID, ret_error);
}

int config_check_trusted_owner(const char *path, uid_t also, char **ret_error)
{
	_cleanup_free_ char *real = realpath(path, NULL);
	_cleanup_free_ char *dir = NULL;
	_cleanup_free_ char *named_dir = NULL;
	int r = real ? 0 : -errno;

	if (r == 0 && (r = config_parent_dir(real, &dir)) == 0)
		r = config_parent_dir(path, &named_dir);
	if (r < 0) {
		config_set_error(ret_error, "cannot check %s: %s", path, strerror(-r));
		return r;
	}
	/* The file, the directory holding it, and the one holding a symbolic link to it. */
	if ((r = check_owner_mode(real, NULL, also, ret_error)) < 0 ||
	    (r = check_owner_mode(dir, real, also, ret_error)) < 0)
		return r;
	if (strcmp(named_dir, dir) != 0)
		return check_owner_mode(named_dir, path, also, ret_error);
	return 0;
}
