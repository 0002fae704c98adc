/* SPDX-License-Identifier: ISC */
/*
 * libssh_login - a second, independent SSH client (libssh 0.10) for the integration tests.
 *
 * It connects to 127.0.0.1:PORT, checks the server's host key against a known_hosts file
 * (no trust on first use), authenticates as LOGIN with a certificate we issued, runs COMMAND
 * and copies the command's standard output and standard error to its own; its exit status is
 * the command's.
 *
 *   libssh_login --port N --login L --known-hosts FILE --agent          COMMAND
 *   libssh_login --port N --login L --known-hosts FILE --key KEY --cert CERT COMMAND
 *
 * --agent: every identity held by the ssh-agent at $SSH_AUTH_SOCK (ssh_userauth_agent(); the
 *          identity the agent lists for a certificate is the certificate blob itself).
 * --key/--cert: an unencrypted OpenSSH private key and its certificate line, joined with
 *          ssh_pki_copy_cert_to_privkey() and offered with ssh_userauth_publickey().
 *
 * Exit status: the remote command's status once it ran; otherwise one of the codes below,
 * each with one line on stderr saying what failed, so that a test can tell a server that
 * refused the certificate from a client that never offered it:
 *
 *   2                  usage
 *   EXIT_LOCAL (250)   the key or certificate files cannot be read, or do not match
 *   EXIT_CONNECT (251) setting up or connecting the session failed
 *   EXIT_HOSTKEY (252) the server's host key is not the one in the known_hosts file
 *   EXIT_REFUSED (253) the server refused the authentication (SSH_AUTH_DENIED); an
 *                      error during authentication (no agent, a broken connection) is
 *                      EXIT_CONNECT
 *   EXIT_COMMAND (254) the command could not be run, or its exit status was lost
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libssh/libssh.h>

enum {
	EXIT_LOCAL = 250,
	EXIT_CONNECT = 251,
	EXIT_HOSTKEY = 252,
	EXIT_REFUSED = 253,
	EXIT_COMMAND = 254,
};

struct opts {
	int port;
	const char *login;
	const char *known_hosts;
	const char *key;
	const char *cert;
	int agent;
	const char *command;
};

static int usage(void)
{
	fprintf(stderr, "usage: libssh_login --port N --login L --known-hosts FILE "
			"(--agent | --key KEY --cert CERT) COMMAND\n");
	return 2;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "login", required_argument, NULL, 'l' },
		{ "known-hosts", required_argument, NULL, 'k' },
		{ "key", required_argument, NULL, 'i' },
		{ "cert", required_argument, NULL, 'c' },
		{ "agent", no_argument, NULL, 'a' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': o->port = atoi(optarg); break;
		case 'l': o->login = optarg; break;
		case 'k': o->known_hosts = optarg; break;
		case 'i': o->key = optarg; break;
		case 'c': o->cert = optarg; break;
		case 'a': o->agent = 1; break;
		default: return -1;
		}
	}
	if (optind != argc - 1 || o->port <= 0 || !o->login || !o->known_hosts ||
	    o->agent == !!(o->key && o->cert) || !!o->key != !!o->cert)
		return -1;
	o->command = argv[optind];
	return 0;
}

/* Not an ssh_auth_e value: the key and certificate files could not be offered at all. */
#define AUTH_NOT_OFFERED (-100)

/*
 * Offer the key file with its certificate: the ssh_userauth_publickey() result, or
 * AUTH_NOT_OFFERED when the files cannot be used.
 */
static int auth_with_cert_file(ssh_session s, const struct opts *o)
{
	ssh_key priv = NULL, cert = NULL;
	int r = AUTH_NOT_OFFERED;

	if (ssh_pki_import_privkey_file(o->key, NULL, NULL, NULL, &priv) != SSH_OK) {
		fprintf(stderr, "libssh_login: cannot read private key %s\n", o->key);
		goto out;
	}
	if (ssh_pki_import_cert_file(o->cert, &cert) != SSH_OK) {
		fprintf(stderr, "libssh_login: cannot read certificate %s\n", o->cert);
		goto out;
	}
	if (ssh_pki_copy_cert_to_privkey(cert, priv) != SSH_OK) {
		fprintf(stderr, "libssh_login: certificate %s does not match key %s\n", o->cert,
			o->key);
		goto out;
	}
	r = ssh_userauth_publickey(s, o->login, priv);
out:
	ssh_key_free(cert);
	ssh_key_free(priv);
	return r;
}

/* Copy everything the command writes until it exits; return its exit status. */
static int run_command(ssh_session s, const char *command)
{
	ssh_channel ch;
	char buf[4096];
	int status = EXIT_COMMAND;

	ch = ssh_channel_new(s);
	if (!ch)
		return EXIT_COMMAND;
	if (ssh_channel_open_session(ch) != SSH_OK ||
	    ssh_channel_request_exec(ch, command) != SSH_OK) {
		fprintf(stderr, "libssh_login: cannot run command: %s\n", ssh_get_error(s));
		goto out;
	}
	while (!ssh_channel_is_eof(ch)) {
		for (int err = 0; err <= 1; err++) {
			int n = ssh_channel_read_timeout(ch, buf, sizeof buf, err, 100);
			if (n == SSH_ERROR) {
				fprintf(stderr, "libssh_login: read: %s\n", ssh_get_error(s));
				goto out;
			}
			if (n > 0 && fwrite(buf, 1, (size_t)n, err ? stderr : stdout) != (size_t)n)
				goto out;
		}
	}
	ssh_channel_send_eof(ch);
	status = ssh_channel_get_exit_status(ch);
	if (status < 0)
		status = EXIT_COMMAND;
out:
	ssh_channel_close(ch);
	ssh_channel_free(ch);
	return status;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	ssh_session s;
	unsigned port;
	int off = 0, r, status = EXIT_CONNECT;

	if (parse_args(argc, argv, &o) < 0)
		return usage();
	port = (unsigned)o.port;

	s = ssh_new();
	if (!s)
		return EXIT_CONNECT;
	if (ssh_options_set(s, SSH_OPTIONS_HOST, "127.0.0.1") < 0 ||
	    ssh_options_set(s, SSH_OPTIONS_PORT, &port) < 0 ||
	    ssh_options_set(s, SSH_OPTIONS_USER, o.login) < 0 ||
	    ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &off) < 0 ||
	    ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, o.known_hosts) < 0 ||
	    ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null") < 0) {
		fprintf(stderr, "libssh_login: cannot set options: %s\n", ssh_get_error(s));
		goto out;
	}
	if (ssh_connect(s) != SSH_OK) {
		fprintf(stderr, "libssh_login: connect: %s\n", ssh_get_error(s));
		goto out;
	}
	if (ssh_session_is_known_server(s) != SSH_KNOWN_HOSTS_OK) {
		fprintf(stderr, "libssh_login: host key not in %s\n", o.known_hosts);
		status = EXIT_HOSTKEY;
		goto disconnect;
	}
	r = o.agent ? ssh_userauth_agent(s, o.login) : auth_with_cert_file(s, &o);
	if (r == AUTH_NOT_OFFERED) {
		status = EXIT_LOCAL;
		goto disconnect;
	}
	if (r == SSH_AUTH_DENIED || r == SSH_AUTH_PARTIAL) {
		fprintf(stderr, "libssh_login: authentication as %s refused by the server: %s\n",
			o.login, ssh_get_error(s));
		status = EXIT_REFUSED;
		goto disconnect;
	}
	if (r != SSH_AUTH_SUCCESS) {
		fprintf(stderr, "libssh_login: authentication as %s failed: %s\n", o.login,
			ssh_get_error(s));
		goto disconnect;
	}
	status = run_command(s, o.command);
disconnect:
	ssh_disconnect(s);
out:
	ssh_free(s);
	return status;
}
