/* SPDX-License-Identifier: ISC */
/*
 * opts.h - the command line, environment and configuration file of `jit-ssh`.
 *
 *   jit-ssh [options] [LOGIN@]HOST [COMMAND...]
 *   jit-ssh cert [options] [LOGIN@]HOST
 *   jit-ssh explain [--json] [options] [LOGIN@]HOST
 *
 * Precedence, for every setting: command-line flag > environment variable > configuration
 * file > built-in default. The configuration file is --config FILE, else $JIT_SSH_CONFIG,
 * else ~/.config/jit-ssh/config.yaml (optional; the first two must exist). It is a flat YAML
 * mapping (conf.h) with the keys ca_url, pin, ca_bundle, user, identity, ttl, ssh, confirm;
 * relative paths in it are relative to the file's directory, and "~/" means $HOME.
 *
 * Booleans: the flag only turns a setting on (--confirm); $JIT_SSH_CONFIRM takes 1, 0, true,
 * false, yes or no (so JIT_SSH_CONFIRM=0 turns off the file's "confirm: true"); the file takes
 * true, false, yes or no (conf.h conf_get_bool()).
 *
 * opts_parse() reads only the command line; opts_resolve() adds the environment and the file,
 * applies the defaults and checks the result. Neither prints anything.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest --reason text, bytes (the CA's own limit, policy.h POLICY_REASON_MAX). */
#define OPTS_REASON_MAX 1024
/* Longest --ttl the client asks for, seconds (cert.h CERT_LIFETIME_MAX; the CA caps lower). */
#define OPTS_TTL_MAX (7u * 24u * 3600u)
/* Most ssh pass-through arguments (-p, -o, -F with their values) and COMMAND words. */
#define OPTS_ARGS_MAX 256
/* Configuration file, relative to $HOME, when neither --config nor $JIT_SSH_CONFIG is set. */
#define OPTS_CONFIG_DEFAULT ".config/jit-ssh/config.yaml"

enum opts_command {
	OPTS_CMD_SSH = 0, /* get a certificate, then exec ssh */
	OPTS_CMD_CERT,	  /* get a certificate, print where it is, exit */
	OPTS_CMD_EXPLAIN, /* ask the CA why a login is allowed or not, and what is open */
	OPTS_CMD_HELP,
	OPTS_CMD_VERSION,
};

/**
 * struct opts - everything the command needs to run; every string is owned (new) by it
 * @cmd:         what to do
 * @host_arg:    HOST exactly as given (passed to ssh, so ssh_config Host blocks still match)
 * @host:        HOST normalised (names.h host_normalize()); the host asked for at the CA
 * @login:       the account on the host: -l, else LOGIN@, else @user
 * @user:        the requester: --user, $JIT_SSH_USER, config user, $USER, the passwd entry
 * @ttl_sec:     requested lifetime in seconds, 0 = the CA rule's default
 * @reason:      --reason text or NULL
 * @key_file:    -i KEYFILE: sign the request with this private-key file instead of the agent
 * @identity:    $JIT_SSH_IDENTITY / config identity: a .pub or private-key file naming the one
 *               agent key to sign with, or NULL to try every key in the agent
 * @ca_url:      the CA's base URL (https://HOST[:PORT]; http:// only for loopback)
 * @pin:         TLS public-key pin "sha256//BASE64" (several joined with ';'), or NULL
 * @ca_bundle:   PEM file of CA certificates to verify the CA's TLS certificate, or NULL
 * @config_path: the configuration file that was read, or NULL
 * @ssh:         the ssh program (execvp rules): $JIT_SSH_SSH, config ssh, or "ssh"
 * @ssh_args:    pass-through arguments for ssh, in order ("-p", "22", "-o", "X=y", "-F", "f")
 * @command:     COMMAND words for the remote side
 * @plain_http:  true when @ca_url is http:// (allowed for loopback hosts only)
 * @json:        explain: print the CA's JSON answer as it came (--json)
 * @confirm:     add the key and its certificate to ssh-agent with the confirm constraint
 *               (PROTOCOL.agent SSH_AGENT_CONSTRAIN_CONFIRM), so the agent asks the user,
 *               through its $SSH_ASKPASS, before each use: --confirm, $JIT_SSH_CONFIRM,
 *               config confirm; default false. `jit-ssh explain` adds nothing and ignores it.
 */
struct opts {
	enum opts_command cmd;
	char *host_arg;
	char *host;
	char *login;
	char *user;
	uint64_t ttl_sec;
	char *reason;
	char *key_file;
	char *identity;
	char *ca_url;
	char *pin;
	char *ca_bundle;
	char *config_path;
	char *ssh;
	char **ssh_args;
	size_t n_ssh_args;
	char **command;
	size_t n_command;
	bool plain_http;
	bool json;
	bool confirm;
};

/** opts_free() - Free the options and everything they own; accepts NULL; returns NULL. */
struct opts *opts_free(struct opts *o);
void opts_freep(struct opts **o);

/**
 * opts_parse_duration() - Parse a lifetime: "600" (seconds), "30s", "10m", "1h", "2d"
 * @s:   the text
 * @ret: seconds, 1..OPTS_TTL_MAX
 * Errors: -EINVAL for anything else (empty, zero, signs, spaces, unknown unit, mixed units,
 * over OPTS_TTL_MAX).
 */
int opts_parse_duration(const char *s, uint64_t *ret);

/**
 * opts_parse() - Read the command line
 * @argc, @argv: as main() got them (@argv[0] is the program name)
 * @ret:         new options; only the fields given on the command line are set
 * @ret_error:   on -EINVAL, a new one-line message for the user (no trailing newline)
 *
 * Options may come before and after "cert"/"explain" and [LOGIN@]HOST; the first word after
 * HOST that is not an option (or everything after "--") starts COMMAND, as with ssh. "cert"
 * and "explain" are commands only as the first word that is not an option ("jit-ssh -- cert"
 * is a host named cert); neither takes a COMMAND. --json goes with "explain" only. -l LOGIN
 * wins over LOGIN@.
 * --help and --version anywhere before COMMAND set @cmd and stop checking the rest.
 * Errors: -EINVAL (usage error), -ENOMEM.
 */
int opts_parse(int argc, char *const *argv, struct opts **ret, char **ret_error);

/**
 * opts_resolve() - Complete @o from the environment and the configuration file, apply
 * the defaults and check every value
 * @o:         options from opts_parse() (borrowed; filled in on success)
 * @envp:      NULL-terminated "NAME=value" array (e.g. environ); borrowed
 * @ret_error: on failure, a new one-line message for the user
 *
 * Checks: user and login are safe names (names.h), the host normalises, a CA URL is set and
 * is https:// (with a pin or a CA bundle) or http:// to a loopback host, the pin is well
 * formed, the TTL parses, $JIT_SSH_CONFIRM and the file's confirm are booleans (the message
 * names the variable and its value, or the key and its place in the file).
 * Errors: -EINVAL (a bad value, or a required one missing), JIT_E_NAME (unsafe user, login
 * or host), JIT_E_FORMAT / -errno (the configuration file cannot be read or is malformed, or
 * its ttl or confirm is), -ENOMEM. On failure @o may be partly filled in; free it.
 */
int opts_resolve(struct opts *o, char *const *envp, char **ret_error);

/** opts_usage() - The --help text (static, ends with a newline). */
const char *opts_usage(void);
