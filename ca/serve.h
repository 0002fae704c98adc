/* SPDX-License-Identifier: ISC */
/*
 * serve.h - the `jit-ssh-ca serve` daemon: load the config, CA key, policy, TLS material and
 * ledger; check the ledger's chain; record the start; serve the API (api.h) until SIGTERM
 * or SIGINT, reloading the policy on SIGHUP; then drain and close. And `jit-ssh-ca reload`,
 * which asks a running daemon to reload and reports how that went.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Ledger event names written by the daemon (issue.h has the per-request ones). */
#define SERVE_EVENT_STARTUP "startup"
#define SERVE_EVENT_POLICY_RELOADED "policy_reloaded"
/* How long `reload` waits for the daemon to report the reload, seconds, and how often it
 * asks, milliseconds. */
#define SERVE_RELOAD_WAIT_SEC 10
#define SERVE_RELOAD_POLL_MS 100

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
 * the ledger's chain is verified (ledger_verify2()) and a broken one stops the start unless
 * @o->continue_on_broken_chain; a "startup" record (ca_key, policy_version, chain_ok,
 * continued_on_broken_chain, chain_error when broken) is appended; the PID goes to the
 * config's pid_file once the server listens.
 *
 * Return: the process exit status (0 after a clean stop, 1 when it could not start); every
 * failure is logged to @o->log naming the file and the problem.
 */
int serve_run(const struct serve_options *o);

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
