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
 * the ledger is swept once (ledger_sweep(), grace serve_sweep_grace_sec()); the PID goes to
 * the config's pid_file once the server listens.
 *
 * While serving, every SERVE_UPKEEP_INTERVAL_SEC a thread sweeps the ledger again and signs
 * a checkpoint when one is due by time (ledger_checkpoint_if_due()), so that an idle CA
 * signs its tail too. A failing sweep or checkpoint signer is logged once, with why, and
 * again when it works again (ledger_checkpoint_failure() covers the checkpoints made inside
 * request commits).
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
 * serve_checkpoint_keys() - The keys trusted to sign the ledger's checkpoints (the CA signs
 * them with its CA key, serve_run()): the CA's public key, and the keys of the file
 * @ca_key_path SERVE_PREVIOUS_CA_KEYS_SUFFIX when it exists (docs/operating-ca.md, CA key
 * rotation)
 * @ca_key_path: the config's ca_key
 * @ca:          the CA key when the caller has loaded it (its public half is used), or NULL:
 *               then the lines of "@ca_key_path.pub", or if that cannot be read, the public
 *               half of the private key file
 * @keys:        room for SERVE_CHECKPOINT_KEYS_MAX keys, filled with new keys (key_free())
 * @ret_n:       how many
 * Errors: -ENOMEM, key_load_private()'s (@ca NULL and neither file readable), and
 * serve_read_public_keys()'s for the previous-keys file. On error no key is left allocated.
 */
int serve_checkpoint_keys(const char *ca_key_path, const struct key *ca, struct key **keys,
			  size_t *ret_n);

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
