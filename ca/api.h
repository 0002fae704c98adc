/* SPDX-License-Identifier: ISC */
/*
 * api.h - the CA's HTTP API over libmicrohttpd (docs/api.md):
 *
 *   POST /v1/requests        request a certificate (request.h, issue.h)
 *   GET  /v1/requests/{id}   the answer given to a request, from the ledger
 *   GET  /v1/ca              {"keys":[CA public-key line],"principal_format":"jit:{host}:{login}"}
 *   POST /v1/explain         what policy would decide for a signed request, the logins open
 *                            to the requester on that host and the ones denied there
 *                            ({"decision","open","denied"}; nothing issued or recorded)
 *   GET  /healthz            {"status":"ok","policy_version","policy_loaded_at",
 *                            "policy_generation","policy_reload_attempts",
 *                            "policy_reload_error","policy_reload_failed_at",
 *                            "policy_reload_errors","ledger_records","ledger_chain_ok"};
 *                            unauthenticated, so it says that the last reload failed, when
 *                            and with how many errors, never the loader's messages (they
 *                            name users, groups, rules and paths: the log has them)
 *
 * HTTPS (GnuTLS inside libmicrohttpd: TLS 1.3, and TLS 1.2 with AEAD ciphers only, AES-GCM
 * and ChaCha20-Poly1305) unless plain HTTP is asked for, which is allowed on a loopback
 * address only. Errors are {"error":"<code>","message":"..."}.
 * Threads: one internal polling thread per pool worker (API_THREADS_DEFAULT); requests are
 * handled in those threads, and everything they share (policy, ledger, CA key) is safe for
 * concurrent use. The policy can be replaced while serving (api_policy_set()): each request
 * takes a reference to the current policy when it starts and finishes under it.
 *
 * One line per request is logged to @log: time, request_id, client address, method, path,
 * status, result, user/host/login once the request is authenticated (a request refused as
 * unauthenticated names only "claimed_user"), serial when one was issued. Never keys,
 * signatures, bodies or certificate text.
 *
 * Connections: at most API_CONNECTIONS_MAX in all and @per_ip_connection_limit from one
 * client address (more are closed as soon as they are accepted), each closed after
 * @connection_timeout_sec without traffic and held to API_CONNECTION_MEMORY_MAX bytes of
 * buffers. Behind a reverse proxy every connection comes from the proxy's address.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "key.h"
#include "ledger.h"
#include "policy.h"

/* Workers block while the ledger commits; more workers make larger commit groups. */
#define API_THREADS_DEFAULT 16
/* Most simultaneous connections; defaults of the most from one client address and of the
 * idle seconds before a connection is closed. */
#define API_CONNECTIONS_MAX 256
#define API_PER_IP_CONNECTIONS_DEFAULT 16
#define API_CONNECTION_TIMEOUT_DEFAULT_SEC 10
/* Buffer memory per connection, bytes: request line and headers (Authorization up to
 * REQUEST_AUTH_MAX) must fit; bodies are copied out as they arrive. */
#define API_CONNECTION_MEMORY_MAX (64u * 1024u)
/* Most bytes of an oversize body without Content-Length read (and dropped) before the
 * connection is closed instead of answered with 413. */
#define API_DISCARD_MAX (1024u * 1024u)
/* How long api_stop() waits for requests in progress, seconds. */
#define API_DRAIN_SEC 30

struct api;

/**
 * struct api_options - everything the server needs (all borrowed; must outlive the server)
 * @listen:           IPv4 or IPv6 address literal
 * @port:             TCP port, 0 = ephemeral (see api_port())
 * @plain_http:       serve HTTP without TLS (refused unless @listen is loopback)
 * @tls_cert_pem, @tls_key_pem: PEM text of the TLS certificate and key (unless @plain_http)
 * @policy:           the loaded policy (the server takes its own reference);
 *                    @policy_loaded_at: when, seconds since the epoch
 * @ledger:           the open ledger
 * @ledger_chain_ok:  whether the start-up chain check passed (GET /healthz)
 * @ca_key:           the CA private key (signs through key_signer())
 * @skew_sec, @max_ttl_sec, @clock_window_sec: as in config.h
 * @threads:          worker threads, 0 = API_THREADS_DEFAULT
 * @per_ip_connection_limit: most connections from one address (1..API_CONNECTIONS_MAX),
 *                    0 = API_PER_IP_CONNECTIONS_DEFAULT
 * @connection_timeout_sec: idle seconds before a connection is closed,
 *                    0 = API_CONNECTION_TIMEOUT_DEFAULT_SEC
 * @log:              where request lines go (e.g. stderr)
 */
struct api_options {
	const char *listen;
	uint16_t port;
	bool plain_http;
	const char *tls_cert_pem;
	const char *tls_key_pem;
	struct policy *policy;
	uint64_t policy_loaded_at;
	struct ledger *ledger;
	bool ledger_chain_ok;
	const struct key *ca_key;
	uint64_t skew_sec;
	uint64_t max_ttl_sec;
	uint64_t clock_window_sec;
	unsigned threads;
	unsigned per_ip_connection_limit;
	unsigned connection_timeout_sec;
	FILE *log;
};

/**
 * api_start() - Start serving in background threads
 * @ret: new server (api_stop())
 * Errors: -EINVAL (bad address, plain HTTP on a non-loopback address, TLS material missing),
 * -EADDRINUSE or another -errno when the socket cannot be bound, JIT_E_CRYPTO (TLS material
 * rejected), -ENOMEM.
 */
int api_start(const struct api_options *o, struct api **ret);

/** api_port() - The port actually listened on (useful with port 0). */
uint16_t api_port(const struct api *a);

/**
 * api_policy_get() - The policy requests start under now
 * Return: a new reference (policy_unref()).
 */
struct policy *api_policy_get(struct api *a);

/**
 * api_policy_set() - Swap in @p for requests that start from now on; requests in progress
 * finish under the policy they started with
 * @p:   the new policy (the server takes its own reference; the old one is dropped)
 * @now: seconds since the epoch: the new "policy_loaded_at"
 *
 * Counts a successful reload: "policy_generation" and "policy_reload_attempts" go up by one;
 * "policy_reload_error" and "policy_reload_failed_at" become null, "policy_reload_errors" 0.
 * Thread-safe.
 */
void api_policy_set(struct api *a, struct policy *p, uint64_t now);

/**
 * api_policy_failed() - Count a failed reload for GET /healthz; the policy stays as it was
 * @now:      when it failed, seconds since the epoch ("policy_reload_failed_at")
 * @n_errors: how many problems it had (policy_error_count() of the messages; 0 counts as 1)
 *            ("policy_reload_errors")
 *
 * "policy_reload_attempts" goes up by one and "policy_reload_error" becomes a sentence with
 * the count and no names. The messages themselves are not kept here: the caller logs them.
 * Thread-safe; cannot fail.
 */
void api_policy_failed(struct api *a, uint64_t now, unsigned n_errors);

/**
 * api_stop() - Stop accepting connections, let requests in progress finish (up to
 * API_DRAIN_SEC), then stop and free the server; accepts NULL
 * Return: NULL.
 */
struct api *api_stop(struct api *a);
