/* SPDX-License-Identifier: ISC */
/*
 * serve.h - the `jit-ssh-ca serve` daemon: load the config, CA key, policy, TLS material and
 * ledger; check the ledger's chain; record the start; serve the API (api.h) until SIGTERM
 * or SIGINT, reloading the policy on SIGHUP; then drain and close. And `jit-ssh-ca reload`,
 * which asks a running daemon to reload and reports how that went.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "key.h"

/* Ledger event names written by the daemon (issue.h has the per-request ones). */
#define SERVE_EVENT_STARTUP "startup"
#define SERVE_EVENT_POLICY_RELOADED "policy_reloaded"
/* How long `reload` waits for the daemon to report the reload, seconds, and how often it
 * asks, milliseconds. */
#define SERVE_RELOAD_WAIT_SEC 10
#define SERVE_RELOAD_POLL_MS 100
/* How often the daemon sweeps the ledger (ledger_sweep(): "expired" and "cancelled"
 * records) and checks whether a checkpoint is due by time (ledger_checkpoint_if_due()),
 * seconds. */
#define SERVE_UPKEEP_INTERVAL_SEC 30
/* Added to the config's clock_window_sec to make the sweep's grace period, seconds: a
 * request "received" less than clock_window_sec + this ago is never cancelled. */
#define SERVE_SWEEP_MARGIN_SEC 60
/* Earlier CA public keys whose checkpoints stay trusted after a rotation: this file name,
 * appended to the config's ca_key path (e.g. /var/lib/jit-ssh-ca/ca_key.previous.pub), one
 * OpenSSH public-key line each. */
#define SERVE_PREVIOUS_CA_KEYS_SUFFIX ".previous.pub"
/* Most keys serve_read_public_keys() reads from one file, and serve_checkpoint_keys()
 * returns. */
#define SERVE_CHECKPOINT_KEYS_MAX 64

/**
 * struct serve_options - command-line overrides (NULL / -1 / false = take the config's)
 * @config_path: config file
 * @listen:      address to listen on
 * @port:        -1, or 0..65535 (0 = ephemeral)
 * @port_file:   file to write the port actually listened on, once listening, or NULL
 *               (written like the PID file: a mkstemp() file beside it, renamed over it)
 * @plain_http:  serve plain HTTP (loopback addresses only)
 * @continue_on_broken_chain: start even when the ledger's chain does not verify (the
 *               "startup" record says so); without it such a ledger stops the start
 * @log:         where the daemon logs (stderr)
 */
struct serve_options {
	const char *config_path;
	const char *listen;
	int port;
	const char *port_file;
	bool plain_http;
	bool continue_on_broken_chain;
	FILE *log;
};

/**
 * serve_run() - Run the daemon until a stop signal
 *
 * SIGTERM, SIGINT and SIGHUP are blocked in every thread from the start and taken with
 * sigwait() by the calling thread alone. SIGHUP re-reads the policy file (checked with
 * config_check_trusted() again): a valid one is
 * recorded ("policy_reloaded": policy_version, previous_version) and swapped in
 * (api_policy_set()); an invalid one, or one the ledger cannot record, keeps the old policy
 * and its messages go to the log and to GET /healthz. SIGTERM/SIGINT: the server stops
 * accepting, requests in progress finish, the chain head is checkpointed, the ledger
 * is closed and the PID file removed.
 *
 * At start: core dumps are disabled (serve_harden_process()); the config file, the CA key,
 * the policy, the TLS key and certificate, the ledger directory and its files, and the
 * directories holding them, must be owned by the effective user or root and not writable by
 * group or others (config_check_trusted()); the CA key and TLS key files must be regular
 * files owned by the effective user and neither readable nor writable by group or others;
 * the ledger's chain is verified (ledger_verify2()) with the keys of serve_checkpoint_keys()
 * trusted to sign checkpoints, and a broken one (also: a checkpoint by any other key) stops
 * the start unless @o->continue_on_broken_chain; a "startup" record (ca_key,
 * policy_version, chain_ok, continued_on_broken_chain, chain_error when broken) is appended;
 * the PID goes to the config's pid_file once the server listens.
 *
 * Once the server listens, a thread sweeps the ledger (ledger_sweep(), grace
 * serve_sweep_grace_sec()) and signs a checkpoint when one is due by time
 * (ledger_checkpoint_if_due()): at once, then every SERVE_UPKEEP_INTERVAL_SEC after the
 * end of the last round, so that an idle CA signs its tail too. The first sweep of a large
 * ledger written before sweeps existed runs many transactions (LEDGER_SWEEP_FOLD_MAX records
 * each) while requests are served. A failing sweep or checkpoint signer is logged once, with
 * why, and again when it works again (ledger_checkpoint_failure() covers the checkpoints
 * made inside request commits). Stop latency: a stop waits for the round in progress, and
 * ledger_sweep() cannot be stopped between its transactions, so a SIGTERM during that first
 * sweep takes effect (the server has already stopped accepting) once the sweep has finished.
 *
 * Return: the process exit status (0 after a clean stop, 1 when it could not start); every
 * failure is logged to @o->log naming the file and the problem.
 */
int serve_run(const struct serve_options *o);

/**
 * serve_sweep_grace_sec() - The sweep's grace period for @cfg: clock_window_sec +
 * SERVE_SWEEP_MARGIN_SEC, seconds (ledger_sweep())
 */
uint64_t serve_sweep_grace_sec(const struct config *cfg);

/**
 * serve_read_public_keys() - The OpenSSH public-key lines of a file (blank lines and
 * "#" comments skipped)
 * @path:  the file
 * @keys:  room for @max keys; filled with new keys (key_free() each)
 * @ret_n: how many (at least 1)
 * Errors: -errno reading @path, JIT_E_FORMAT (a line that is not a public key, or no key at
 * all), JIT_E_TOO_LARGE (more than @max keys). On error no key is left allocated.
 */
int serve_read_public_keys(const char *path, struct key **keys, size_t max, size_t *ret_n);

/**
 * serve_check_trusted() - Refuse a trust anchor that someone other than root or the CA's
 * user could change: config_check_trusted(), with the CA's user admitted as an owner too, so
 * that the review tools may run as root or as the CA's user alike
 * @ca_key_path: the config's ca_key. The CA's user is the owner of that file (serve_run()
 *               requires it to be its own), when it and its directory are not writable by
 *               group or others and the directory is root's or that user's; otherwise (or
 *               with @ca_key_path NULL) only the effective user
 * @path:        the file (or directory)
 * @ret_error:   a new message on failure naming the path and the fix, or NULL
 *
 * @path is resolved (realpath()); it, the directory holding it and the directory holding
 * the name given must each be owned by root, the effective user or the CA's user, and not
 * be writable by group or others.
 * Errors: JIT_E_PERMISSION (unsafe owner or mode), -errno (cannot be resolved or stat'ed),
 * -EINVAL (@path NULL), -ENOMEM.
 */
int serve_check_trusted(const char *ca_key_path, const char *path, char **ret_error);

/**
 * serve_checkpoint_keys() - The keys trusted to sign the ledger's checkpoints (the CA signs
 * them with its CA key, serve_run()): the CA's public key, and the keys of the file
 * @ca_key_path SERVE_PREVIOUS_CA_KEYS_SUFFIX when it exists (docs/operating-ca.md, CA key
 * rotation)
 * @ca_key_path: the config's ca_key
 * @ca:          the CA key when the caller has loaded it (its public half is used), or NULL:
 *               then the public half of the private key file when this process may read it
 *               (key_load_private() with the private mode required: the file is this user's
 *               and private), else the one key of "@ca_key_path.pub" (a second key there is
 *               refused: that file names the CA key, not a list of trusted keys)
 * @keys:        room for SERVE_CHECKPOINT_KEYS_MAX keys, filled with new keys (key_free()):
 *               the CA's first, then up to SERVE_CHECKPOINT_KEYS_MAX - 1 previous keys
 * @ret_n:       how many
 * @ret_error:   a new message on failure naming the file and the problem, or NULL
 *
 * Every file read (the private key file or "@ca_key_path.pub", and the previous-keys file)
 * is a trust anchor and must pass serve_check_trusted().
 * Errors: -EINVAL, -ENOMEM, JIT_E_PERMISSION (a file that fails serve_check_trusted()),
 * JIT_E_TOO_LARGE (more than one key in "@ca_key_path.pub", too many previous keys),
 * serve_read_public_keys()'s, and -errno (-ENOENT, -EACCES) when @ca is NULL and neither
 * the private key file nor "@ca_key_path.pub" can be read. On error no key is left
 * allocated.
 */
int serve_checkpoint_keys(const char *ca_key_path, const struct key *ca, struct key **keys,
			  size_t *ret_n, char **ret_error);

/**
 * serve_harden_process() - Keep the keys the process holds out of core dumps and away from
 * other processes of the same user: PR_SET_DUMPABLE 0 (no core dump, no ptrace attach, /proc
 * files owned by root) and RLIMIT_CORE 0 (soft and hard). serve_run() calls it first.
 * Errors: -errno.
 */
int serve_harden_process(void);

/**
 * struct serve_reload_options
 * @config_path: the daemon's config file (pid_file, listen, port, TLS certificate)
 * @port:        -1 for the config's port, else the port the daemon listens on
 * @port_file:   file holding that port (as `serve --port-file` wrote it), or NULL
 * @out, @err:   where the outcome and errors are printed
 */
struct serve_reload_options {
	const char *config_path;
	int port;
	const char *port_file;
	FILE *out;
	FILE *err;
};

/**
 * serve_reload() - `jit-ssh-ca reload`: SIGHUP the daemon named by the pid_file, then poll
 * its GET /healthz (every SERVE_RELOAD_POLL_MS, at most SERVE_RELOAD_WAIT_SEC) until
 * "policy_reload_attempts" changes
 *
 * Prints "policy reloaded: <version>" when "policy_generation" changed too, else the
 * reload error from /healthz. The daemon is reached on its listen address (a wildcard
 * address as loopback) over pinned TLS (the pin of the config's tls_cert) or plain HTTP.
 * Return: exit status, 0 reloaded, 1 not (invalid policy, no daemon, no answer).
 */
int serve_reload(const struct serve_reload_options *o);
