/* SPDX-License-Identifier: ISC */
/*
 * config.h - the CA's config.yaml (flat YAML through conf.h): keys, defaults, and paths made
 * absolute relative to the config file's directory.
 *
 *   key               default                 meaning
 *   listen            127.0.0.1               IPv4 or IPv6 address literal to listen on
 *   port              8443                    TCP port (0 = ephemeral)
 *   plain_http        false                   HTTP without TLS; only with a loopback listen
 *   tls_cert          tls_cert.pem            PEM certificate served over TLS
 *   tls_key           tls_key.pem             PEM private key of the TLS certificate
 *   ca_key            ca_key                  OpenSSH private key of the CA (mode 0600)
 *   policy            policy.yaml             policy document (policy.h)
 *   ledger            ledger                  LMDB environment directory (ledger.h)
 *   skew_sec          60                      valid_after = now - skew_sec (0..CERT_SKEW_MAX)
 *   max_ttl_sec       3600                    global cap on certificate lifetimes
 *   clock_window_sec  120                     accepted |now - request timestamp|
 *   signer_id         0                       high bits of every serial (0..32767)
 *   ledger_map_size   1073741824              initial LMDB map size, bytes
 *   ledger_map_size_max 68719476736           largest map size the ledger grows to, bytes
 *   checkpoint_records 1000                   sign the chain head every N records (CA key)
 *   checkpoint_sec    3600                    ... or once records are this much newer
 *   pid_file          serve.pid               `serve` writes its PID here (`reload` reads it)
 *   per_ip_connection_limit 16                most connections from one client address
 *   connection_timeout_sec 10                 idle seconds before a connection is closed
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define CONFIG_DEFAULT_PATH "/var/lib/jit-ssh-ca/config.yaml"
#define CONFIG_ENV "JIT_SSH_CA_CONFIG"
#define CONFIG_PORT_DEFAULT 8443
#define CONFIG_SKEW_DEFAULT_SEC 60
#define CONFIG_MAX_TTL_DEFAULT_SEC 3600
#define CONFIG_CLOCK_WINDOW_DEFAULT_SEC 120
#define CONFIG_CLOCK_WINDOW_MAX_SEC 3600
#define CONFIG_LEDGER_MAP_SIZE_MIN (1ull << 20)
#define CONFIG_LEDGER_MAP_SIZE_MAX (1ull << 40)
#define CONFIG_LEDGER_MAP_SIZE_DEFAULT (1ull << 30)
#define CONFIG_LEDGER_MAP_SIZE_MAX_DEFAULT (64ull << 30)
#define CONFIG_CHECKPOINT_RECORDS_DEFAULT 1000u
#define CONFIG_CHECKPOINT_SEC_DEFAULT 3600u
#define CONFIG_CHECKPOINT_MAX (1ull << 32)
#define CONFIG_PER_IP_CONNECTIONS_DEFAULT 16u
#define CONFIG_CONNECTIONS_MAX 256u /* API_CONNECTIONS_MAX */
#define CONFIG_CONNECTION_TIMEOUT_DEFAULT_SEC 10u
#define CONFIG_CONNECTION_TIMEOUT_MAX_SEC 3600u

/**
 * struct config - a loaded configuration; every string is owned, paths are absolute or
 * relative to the working directory (never to the config file any more)
 */
struct config {
	char *path;
	char *listen;
	uint16_t port;
	bool plain_http;
	char *tls_cert;
	char *tls_key;
	char *ca_key;
	char *policy;
	char *ledger;
	uint64_t skew_sec;
	uint64_t max_ttl_sec;
	uint64_t clock_window_sec;
	uint16_t signer_id;
	uint64_t ledger_map_size;
	uint64_t ledger_map_size_max;
	uint64_t checkpoint_records;
	uint64_t checkpoint_sec;
	char *pid_file;
	uint64_t per_ip_connection_limit;
	uint64_t connection_timeout_sec;
};

/**
 * config_default_path() - $JIT_SSH_CA_CONFIG when set and non-empty, else
 * CONFIG_DEFAULT_PATH
 * Ownership: borrowed (the environment or a static string).
 */
const char *config_default_path(void);

/**
 * config_load() - Read and validate a config file
 * @path:      file name
 * @ret:       new configuration (config_free())
 * @ret_error: on failure, a new message naming the file and what is wrong (may be NULL)
 * Errors: -errno reading the file, JIT_E_FORMAT (syntax, unknown key, value out of range or
 * not an IP address), JIT_E_TOO_LARGE, -ENOMEM.
 */
int config_load(const char *path, struct config **ret, char **ret_error);

/**
 * config_check_listen() - Check @c->listen and the plain_http rule (plain HTTP only on a
 * loopback address); call again after command-line overrides
 * @ret_error: a new message on failure (may be NULL)
 * Errors: JIT_E_FORMAT.
 */
int config_check_listen(const struct config *c, char **ret_error);

/**
 * config_address_is_loopback() - True for 127.0.0.0/8 and ::1 literals
 */
bool config_address_is_loopback(const char *addr);

/**
 * config_check_trusted() - Refuse a file or directory that someone other than us could change
 * @path:      a file or directory the daemon trusts (config, policy, keys, ledger)
 * @ret_error: a new message on failure naming the path and the fix (may be NULL)
 *
 * @path is resolved (realpath()); it and the directory holding it must be owned by the
 * effective user or by root and must not be writable by group or others.
 * Errors: JIT_E_PERMISSION (unsafe owner or mode), -errno (cannot be resolved or stat'ed),
 * -ENOMEM.
 */
int config_check_trusted(const char *path, char **ret_error);

/**
 * config_set_error() - Put a new message (printf-style) in *@ret_error, when @ret_error is
 * not NULL; on allocation failure *@ret_error is NULL
 * Ownership: the previous *@ret_error is not freed (callers pass NULL or an unset pointer).
 * Return: 0.
 */
int config_set_error(char **ret_error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * config_parent_dir() - The directory that holds @path, resolved (realpath(3))
 * @ret: new string
 * Errors: -ENOMEM, -errno of realpath().
 */
int config_parent_dir(const char *path, char **ret);

/* No uid: for config_check_trusted_owner()'s @also. */
#define CONFIG_NO_UID ((uid_t)-1)

/**
 * config_check_trusted_owner() - config_check_trusted() with one more trusted owner
 * @also: a uid whose files are trusted too (e.g. the CA's user when root runs the tools),
 *        or CONFIG_NO_UID
 * Errors: as config_check_trusted().
 */
int config_check_trusted_owner(const char *path, uid_t also, char **ret_error);

/** config_free() - Free; accepts NULL; returns NULL. */
struct config *config_free(struct config *c);
void config_freep(struct config **c);
