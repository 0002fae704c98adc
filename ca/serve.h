/* SPDX-License-Identifier: ISC */
/*
 * serve.h - the `jit-ssh-ca serve` daemon: load the config, CA key, policy, TLS material and
 * ledger; serve the API (api.h) until SIGTERM or SIGINT; then drain and close.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

/**
 * struct serve_options - command-line overrides (NULL / -1 / false = take the config's)
 * @config_path: config file
 * @listen:      address to listen on
 * @port:        -1, or 0..65535 (0 = ephemeral)
 * @port_file:   file to write the port actually listened on, once listening, or NULL
 * @plain_http:  serve plain HTTP (loopback addresses only)
 * @log:         where the daemon logs (stderr)
 */
struct serve_options {
	const char *config_path;
	const char *listen;
	int port;
	const char *port_file;
	bool plain_http;
	FILE *log;
};

/**
 * serve_run() - Run the daemon until a stop signal
 *
 * SIGTERM and SIGINT are blocked in every thread and taken with sigwait(): the server stops
 * accepting, requests in progress finish, the ledger is closed. Refuses to start when the
 * CA key file is readable or writable by group or others.
 * Return: the process exit status (0 after a clean stop, 1 when it could not start); every
 * failure is logged to @o->log naming the file and the problem.
 */
int serve_run(const struct serve_options *o);
