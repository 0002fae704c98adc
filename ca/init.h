/* SPDX-License-Identifier: ISC */
/*
 * init.h - `jit-ssh-ca init`: create a CA state directory.
 *
 *   DIR/              mode 0700
 *   DIR/ca_key        OpenSSH private key, Ed25519, mode 0600
 *   DIR/ca_key.pub    its public-key line
 *   DIR/tls_key.pem   TLS private key, ECDSA P-256, mode 0600
 *   DIR/tls_cert.pem  self-signed TLS certificate (tlsgen.h)
 *   DIR/config.yaml   every key of config.h with its default, paths relative to DIR
 *   DIR/policy.yaml   an example policy letting one user log in as themselves
 *   DIR/ledger/       the LMDB ledger, mode 0700
 *
 * An existing state directory is refused unless @force; with @force the keys, the config
 * and the policy are replaced but an existing ledger is kept (its history is evidence), and
 * the old CA public key (the public half of DIR/ca_key, which DIR/ca_key.pub must match) is
 * appended to DIR/ca_key.previous.pub (0644; serve.h, SERVE_PREVIOUS_CA_KEYS_SUFFIX) before
 * any file is removed, so the ledger's checkpoints signed by the old key stay trusted
 * (docs/operating-ca.md, "Checkpoints and CA key rotation"); when that fails, nothing is
 * changed.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/**
 * struct init_options
 * @dir:      the state directory (created, with its parent if it is missing)
 * @port:     port written to config.yaml
 * @force:    replace an existing state directory's keys, config and policy
 * @user:     the user the example policy enrols (a safe user name)
 * @user_key: OpenSSH public-key line enrolled for @user, or NULL (the example policy then
 *            says where to put one)
 * @now:      seconds since the epoch
 */
struct init_options {
	const char *dir;
	uint16_t port;
	bool force;
	const char *user;
	const char *user_key;
	uint64_t now;
};

/**
 * struct init_result - what `init` tells its user (all new strings; init_result_clear())
 * @config:  path of the config file
 * @ca_line: the CA public-key line
 * @pin:     the TLS pin (tlsgen.h)
 */
struct init_result {
	char *config;
	char *ca_line;
	char *pin;
};

/**
 * init_run() - Create the state directory
 * @ret:       filled on success
 * @ret_error: on failure, a new message naming the file and the problem
 * Errors: -EEXIST (state directory in use, no @force), JIT_E_NAME (@user unsafe),
 * JIT_E_FORMAT (@user_key not a public-key line), other -errno, JIT_E_CRYPTO,
 * JIT_E_LEDGER, -ENOMEM.
 */
int init_run(const struct init_options *o, struct init_result *ret, char **ret_error);

/** init_result_clear() - Free the strings of @r and zero it. */
void init_result_clear(struct init_result *r);

/**
 * init_example_policy() - The example policy text for @user with @user_key (or none)
 * @ret: new NUL-terminated YAML text
 * Errors: -ENOMEM.
 */
int init_example_policy(const char *user, const char *user_key, char **ret);
