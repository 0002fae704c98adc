/* SPDX-License-Identifier: ISC */
/*
 * client.h - the `jit-ssh` command: ask the CA for a certificate, put it in ssh-agent,
 * leave the public lines where ssh finds them, run ssh; or ask the CA to explain its
 * decision (`jit-ssh explain`).
 *
 * This is the one place that prints: each failure is one line on stderr, "jit-ssh: ...",
 * saying what failed and what to do, and a distinct exit status (enum client_exit,
 * docs/engineer.md).
 */
#pragma once

#include <stddef.h>

#include "opts.h"

/* Most enrolled keys tried from the agent, one request each. */
#define CLIENT_KEYS_TRIED_MAX 5
/* How long to wait for an approval in all, seconds; and per long-poll request. */
#define CLIENT_APPROVAL_WAIT_MAX_SEC 1800
#define CLIENT_POLL_WAIT_SEC 30
/* Without a terminal, the waiting status is printed again at least this often, seconds. */
#define CLIENT_STATUS_EVERY_SEC 60

enum client_exit {
	CLIENT_EXIT_OK = 0,
	CLIENT_EXIT_FAILURE = 1,       /* a local failure: files, memory, ssh not runnable */
	CLIENT_EXIT_DENIED = 2,	       /* the CA's policy denied the request */
	CLIENT_EXIT_UNREACHABLE = 3,   /* CA unreachable, TLS failure, pin mismatch */
	CLIENT_EXIT_AGENT = 4,	       /* no ssh-agent, no key in it, agent refused */
	CLIENT_EXIT_AUTH = 5,	       /* CA refused the authentication (key, clock, replay) */
	CLIENT_EXIT_CA = 6,	       /* CA refused the request or its answer is wrong */
	CLIENT_EXIT_USAGE = 64,	       /* bad command line or value (EX_USAGE) */
	CLIENT_EXIT_CONFIG = 78,       /* configuration file unreadable or invalid (EX_CONFIG) */
	CLIENT_EXIT_INTERRUPTED = 130, /* Ctrl-C while waiting for approval (128 + SIGINT) */
};

/**
 * client_ssh_argv() - The ssh command line:
 *   SSH -o IdentitiesOnly=yes -o IdentityFile=PUB -o CertificateFile=CERT [pass-through]
 *       -l LOGIN [--] HOST [COMMAND...]
 * ("--" only when the first COMMAND word starts with '-', so ssh does not read it as an
 * option). In PUB and CERT '%' is doubled (ssh expands % tokens in those options) and a path
 * holding blanks is put in double quotes.
 * @o:         resolved options (borrowed)
 * @pub_path:  the "<login>@<host>.pub" file
 * @cert_path: the "<login>@<host>-cert.pub" file
 * @ret:       new NULL-terminated vector of new strings (free with client_argv_free())
 * Errors: -EINVAL for a path holding '"', '\\', '$' or a control character; -ENOMEM.
 */
int client_ssh_argv(const struct opts *o, const char *pub_path, const char *cert_path, char ***ret);

/** client_argv_free() - Free a vector from client_ssh_argv(); accepts NULL; returns NULL. */
char **client_argv_free(char **argv);

/**
 * client_main() - Run `jit-ssh` with @argv and @envp (as main() got them)
 * Return: the exit status; on success in ssh mode it does not return (ssh replaces the
 * process).
 */
int client_main(int argc, char **argv, char **envp);
