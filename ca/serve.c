/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "api.h"
#include "config.h"
#include "err.h"
#include "key.h"
#include "ledger.h"
#include "policy.h"
#include "serve.h"
#include "tlsgen.h"
#include "util.h"

static void secret_freep(char **p)
{
	if (*p)
		OPENSSL_cleanse(*p, strlen(*p));
	free(*p);
}

static void policy_unrefp(struct policy **p)
{
	policy_unref(*p);
}

static void ledger_closep(struct ledger **l)
{
	ledger_close(*l);
}

/* Write the port to @path atomically (temporary file, then rename). */
static int write_port_file(const char *path, uint16_t port)
{
	_cleanup_free_ char *tmp = NULL;
	FILE *f;
	int r = 0;

	if (asprintf(&tmp, "%s.tmp", path) < 0)
		return -ENOMEM;
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	if (fprintf(f, "%u\n", (unsigned)port) < 0)
		r = -EIO;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

static int load_ca_key(FILE *log, const char *path, struct key **ret)
{
	int r = key_load_private(path, true, ret);

	if (r == JIT_E_PERMISSION)
		fprintf(log,
			"jit-ssh-ca: CA key file %s is readable or writable by group or others; "
			"refusing to start. Fix it with: chmod 600 %s\n",
			path, path);
	else if (r < 0)
		fprintf(log, "jit-ssh-ca: cannot load the CA key %s: %s\n", path, jit_strerror(r));
	return r;
}

static int load_policy(FILE *log, const char *path, struct policy **ret)
{
	_cleanup_free_ char *err = NULL;
	int r = policy_load_file(path, ret, &err);

	if (r < 0 && err)
		fprintf(log, "jit-ssh-ca: policy %s is invalid:\n%s\n", path, err);
	else if (r < 0)
		fprintf(log, "jit-ssh-ca: cannot load the policy %s: %s\n", path, jit_strerror(r));
	return r;
}

int serve_run(const struct serve_options *o)
{
	_cleanup_(config_freep) struct config *cfg = NULL;
	_cleanup_(key_freep) struct key *ca = NULL;
	_cleanup_(policy_unrefp) struct policy *pol = NULL;
	_cleanup_(ledger_closep) struct ledger *led = NULL;
	_cleanup_(secret_freep) char *tls_key = NULL;
	_cleanup_free_ char *tls_cert = NULL;
	_cleanup_free_ char *err = NULL;
	struct api *api = NULL;
	struct ledger_options lo = {0};
	sigset_t stop;
	uint64_t records = 0, loaded_at;
	int r, sig;

	if ((r = config_load(o->config_path, &cfg, &err)) < 0) {
		fprintf(o->log, "jit-ssh-ca: %s\n", err ? err : jit_strerror(r));
		return 1;
	}
	if (o->listen) {
		free(cfg->listen);
		if (!(cfg->listen = strdup(o->listen)))
			return 1;
	}
	if (o->port >= 0)
		cfg->port = (uint16_t)o->port;
	if (o->plain_http)
		cfg->plain_http = true;
	free(err);
	err = NULL;
	if (config_check_listen(cfg, &err) < 0) {
		fprintf(o->log, "jit-ssh-ca: %s\n", err ? err : "invalid listen address");
		return 1;
	}

	if (load_ca_key(o->log, cfg->ca_key, &ca) < 0 || load_policy(o->log, cfg->policy, &pol) < 0)
		return 1;
	loaded_at = (uint64_t)time(NULL);
	if (!cfg->plain_http) {
		if ((r = tlsgen_read_file(cfg->tls_cert, &tls_cert, NULL)) < 0) {
			fprintf(o->log, "jit-ssh-ca: cannot read the TLS certificate %s: %s\n",
				cfg->tls_cert, jit_strerror(r));
			return 1;
		}
		if ((r = tlsgen_read_file(cfg->tls_key, &tls_key, NULL)) < 0) {
			fprintf(o->log, "jit-ssh-ca: cannot read the TLS key %s: %s\n",
				cfg->tls_key, jit_strerror(r));
			return 1;
		}
	}
	lo.map_size = cfg->ledger_map_size;
	lo.signer_id = cfg->signer_id;
	if ((r = ledger_open(cfg->ledger, &lo, &led)) < 0 ||
	    (r = ledger_count(led, &records)) < 0) {
		fprintf(o->log, "jit-ssh-ca: cannot open the ledger %s: %s\n", cfg->ledger,
			jit_strerror(r));
		return 1;
	}

	/* Every thread started from here on inherits the blocked stop signals. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct api_options ao = {
		.listen = cfg->listen,
		.port = cfg->port,
		.plain_http = cfg->plain_http,
		.tls_cert_pem = tls_cert,
		.tls_key_pem = tls_key,
		.policy = pol,
		.policy_loaded_at = loaded_at,
		.ledger = led,
		.ledger_records = records,
		.ca_key = ca,
		.skew_sec = cfg->skew_sec,
		.max_ttl_sec = cfg->max_ttl_sec,
		.clock_window_sec = cfg->clock_window_sec,
		.log = o->log,
	};
	if ((r = api_start(&ao, &api)) < 0) {
		fprintf(o->log, "jit-ssh-ca: cannot listen on %s port %u: %s\n", cfg->listen,
			(unsigned)cfg->port, jit_strerror(r));
		return 1;
	}
	if (o->port_file && (r = write_port_file(o->port_file, api_port(api))) < 0) {
		fprintf(o->log, "jit-ssh-ca: cannot write the port file %s: %s\n", o->port_file,
			jit_strerror(r));
		api_stop(api);
		return 1;
	}
	fprintf(o->log, "jit-ssh-ca: serving %s://%s%s%s:%u/ (policy %s, %llu ledger records)\n",
		cfg->plain_http ? "http" : "https", strchr(cfg->listen, ':') ? "[" : "",
		cfg->listen, strchr(cfg->listen, ':') ? "]" : "", (unsigned)api_port(api),
		policy_version(pol), (unsigned long long)records);
	fflush(o->log);

	do
		r = sigwait(&stop, &sig);
	while (r != 0);
	fprintf(o->log, "jit-ssh-ca: %s received, stopping\n",
		sig == SIGTERM ? "SIGTERM" : "SIGINT");
	api_stop(api);
	fprintf(o->log, "jit-ssh-ca: stopped\n");
	return 0;
}
