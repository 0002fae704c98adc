/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
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

/* Largest /healthz answer `reload` reads, bytes. */
#define HEALTHZ_MAX (64u * 1024u)

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

static uint64_t now_sec(void)
{
	return (uint64_t)time(NULL);
}

/*
 * Write @text to @path atomically: a new file of our own in the same directory (mkstemp(),
 * so no link planted at a predictable name is followed), mode 0644, renamed over @path.
 */
static int write_small_file(const char *path, const char *text)
{
	_cleanup_free_ char *tmp = NULL;
	int fd, r = 0;

	if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
		return -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0644) < 0)
		r = -errno;
	if (r == 0)
		r = util_write_all(fd, text, strlen(text));
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

static int write_number_file(const char *path, unsigned long long n)
{
	char text[32];

	snprintf(text, sizeof(text), "%llu\n", n);
	return write_small_file(path, text);
}

static int read_number_file(const char *path, unsigned long long max, unsigned long long *ret)
{
	_cleanup_free_ char *text = NULL;
	unsigned long long v;
	char *end;
	int r;

	if ((r = tlsgen_read_file(path, &text, NULL)) < 0)
		return r;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || end == text || (*end && strcmp(end, "\n")) || text[0] == '-' || v == 0 ||
	    v > max)
		return JIT_E_FORMAT;
	*ret = v;
	return 0;
}

/* Remove the PID file if it still names this process (another daemon may have taken it). */
static void remove_pid_file(const char *path)
{
	unsigned long long pid;

	if (read_number_file(path, INT32_MAX, &pid) == 0 && pid == (unsigned long long)getpid())
		unlink(path);
}

/* Why a private-key file was refused with JIT_E_PERMISSION, and the fix. */
static void private_file_refused(FILE *log, const char *what, const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0 && st.st_uid != geteuid())
		fprintf(log,
			"jit-ssh-ca: %s file %s is owned by uid %u, not by the user running "
			"jit-ssh-ca (uid %u); refusing to start. Fix it with: chown %u %s && "
			"chmod 600 %s\n",
			what, path, (unsigned)st.st_uid, (unsigned)geteuid(), (unsigned)geteuid(),
			path, path);
	else
		fprintf(log,
			"jit-ssh-ca: %s file %s is readable or writable by group or others; "
			"refusing to start. Fix it with: chmod 600 %s\n",
			what, path, path);
}

static int load_ca_key(FILE *log, const char *path, struct key **ret)
{
	int r = key_load_private(path, true, ret);

	if (r == JIT_E_PERMISSION)
		private_file_refused(log, "CA key", path);
	else if (r < 0)
		fprintf(log, "jit-ssh-ca: cannot load the CA key %s: %s\n", path, jit_strerror(r));
	return r;
}

/* A file or directory the daemon trusts must be one only we (or root) can change. */
static int check_trusted(FILE *log, const char *path)
{
	_cleanup_free_ char *err = NULL;
	int r = config_check_trusted(path, &err);

	if (r < 0)
		fprintf(log, "jit-ssh-ca: %s; refusing to start\n", err ? err : jit_strerror(r));
	return r;
}

/* Everything serve loads: the state the config names (the config file and its directory are
 * checked before the config is read). The ledger's files are checked when they exist. */
static int check_state(FILE *log, const struct config *cfg)
{
	const char *const paths[] = {
		cfg->ca_key,
		cfg->policy,
		cfg->ledger,
		cfg->plain_http ? NULL : cfg->tls_key,
		cfg->plain_http ? NULL : cfg->tls_cert,
	};
	static const char *const ledger_files[] = {"data.mdb", "lock.mdb"};
	int r;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (paths[i] && (r = check_trusted(log, paths[i])) < 0)
			return r;
	for (size_t i = 0; i < sizeof(ledger_files) / sizeof(ledger_files[0]); i++) {
		_cleanup_free_ char *path = NULL;

		if (asprintf(&path, "%s/%s", cfg->ledger, ledger_files[i]) < 0)
			return -ENOMEM;
		if (access(path, F_OK) == 0 && (r = check_trusted(log, path)) < 0)
			return r;
	}
	return 0;
}

/* Keep the keys out of core dumps and out of reach of other processes of the same user. */
int serve_harden_process(void)
{
	struct rlimit none = {0, 0};

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || setrlimit(RLIMIT_CORE, &none) < 0)
		return -errno;
	return 0;
}

/*
 * Load the policy, a file only we (or root) can change; on failure @ret_error gets the
 * messages (FILE:LINE:COL lines, or why the file is not trusted).
 */
static int load_policy(const char *path, struct policy **ret, char **ret_error)
{
	_cleanup_free_ char *err = NULL;
	int r = config_check_trusted(path, &err);

	if (r == 0)
		r = policy_load_file(path, ret, &err);

	if (r < 0 && !err && asprintf(&err, "%s: %s", path, jit_strerror(r)) < 0)
		err = NULL;
	if (r < 0)
		*ret_error = TAKE_PTR(err);
	return r;
}

static int open_ledger(FILE *log, const struct config *cfg, const struct signer *ca,
		       struct ledger **ret)
{
	struct ledger_options lo = {
		.map_size = cfg->ledger_map_size,
		.map_size_max = cfg->ledger_map_size_max,
		.signer_id = cfg->signer_id,
		.checkpoint_signer = ca,
		.checkpoint_records = cfg->checkpoint_records,
		.checkpoint_sec = cfg->checkpoint_sec,
	};
	int r = ledger_open(cfg->ledger, &lo, ret);

	if (r == JIT_E_LEDGER_CORRUPT)
		fprintf(log,
			"jit-ssh-ca: the ledger %s is damaged: its stored chain head does not "
			"match its last record, so nothing can be appended to it; refusing to "
			"start. Run `jit-ssh-ca ledger verify` and see docs/operating-ca.md "
			"(restore a backup).\n",
			cfg->ledger);
	else if (r < 0)
		fprintf(log, "jit-ssh-ca: cannot open the ledger %s: %s\n", cfg->ledger,
			jit_strerror(r));
	return r;
}

/* ---- files the CA trusts: the CA's user --------------------------------------------------- */

/*
 * The CA's user: the owner of the CA's private key file, which the daemon requires to be its
 * own (key_load_private()); but only when that file and its directory are not writable by
 * group or others and the directory is that user's or root's, so that nobody else could have
 * put a file of theirs there. Otherwise the effective user.
 */
static uid_t ca_user(const char *ca_key_path)
{
	_cleanup_free_ char *real = ca_key_path ? realpath(ca_key_path, NULL) : NULL;
	_cleanup_free_ char *dir = NULL;
	struct stat st, dst;

	if (!real || stat(real, &st) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & 022) ||
	    config_parent_dir(real, &dir) < 0 || stat(dir, &dst) < 0 || (dst.st_mode & 022) ||
	    (dst.st_uid != 0 && dst.st_uid != st.st_uid))
		return geteuid();
	return st.st_uid;
}

int serve_check_trusted(const char *ca_key_path, const char *path, char **ret_error)
{
	if (!path)
		return -EINVAL;
	return config_check_trusted_owner(path, ca_user(ca_key_path), ret_error);
}

uint64_t serve_sweep_grace_sec(const struct config *cfg)
{
	return cfg->clock_window_sec + SERVE_SWEEP_MARGIN_SEC;
}

static void keys_free(struct key **keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		keys[i] = key_free(keys[i]);
}

int serve_read_public_keys(const char *path, struct key **keys, size_t max, size_t *ret_n)
{
	_cleanup_free_ char *text = NULL;
	char *line, *save = NULL;
	size_t n = 0;
	int r;

	if ((r = tlsgen_read_file(path, &text, NULL)) < 0)
		return r;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		line += strspn(line, " \t\r");
		if (!*line || *line == '#')
			continue;
		r = n == max ? JIT_E_TOO_LARGE : key_from_line(line, &keys[n], NULL);
		if (r < 0) {
			keys_free(keys, n);
			return r;
		}
		n++;
	}
	if (n == 0)
		return JIT_E_FORMAT;
	*ret_n = n;
	return 0;
}

/* Read the keys of @path, a file the CA trusts (serve_check_trusted()); at most @max. */
static int read_trusted_keys(const char *ca_key_path, const char *path, struct key **keys,
			     size_t max, size_t *ret_n, char **ret_error)
{
	int r = serve_check_trusted(ca_key_path, path, ret_error);

	if (r < 0)
		return r;
	r = serve_read_public_keys(path, keys, max, ret_n);
	if (r == JIT_E_TOO_LARGE && max == 1)
		config_set_error(
			ret_error,
			"%s holds more than one key, but it is the CA's public key: one line",
			path);
	else if (r == JIT_E_TOO_LARGE)
		config_set_error(ret_error, "%s holds more than %zu keys", path, max);
	else if (r < 0)
		config_set_error(ret_error, "cannot read the public keys of %s: %s", path,
				 jit_strerror(r));
	return r;
}

/*
 * The CA's own public key, into keys[0]: from @ca; else the public half of the private key
 * file when this process may read it (as its owner, the file private: key_load_private());
 * else the one key of "<path>.pub". Both files must be ones the CA trusts.
 */
static int ca_public(const char *ca_key_path, const struct key *ca, struct key **keys,
		     char **ret_error)
{
	_cleanup_(key_freep) struct key *priv = NULL;
	_cleanup_free_ char *pub = NULL;
	size_t n;
	int r, priv_r;

	if (ca) {
		r = key_public(ca, &keys[0]);
		if (r < 0)
			config_set_error(ret_error, "cannot copy the CA key: %s", jit_strerror(r));
		return r;
	}
	priv_r = key_load_private(ca_key_path, true, &priv);
	if (priv_r == 0) {
		if ((r = serve_check_trusted(ca_key_path, ca_key_path, ret_error)) < 0)
			return r;
		r = key_public(priv, &keys[0]);
		if (r < 0)
			config_set_error(ret_error, "cannot copy the CA key: %s", jit_strerror(r));
		return r;
	}
	if (asprintf(&pub, "%s.pub", ca_key_path) < 0)
		return -ENOMEM;
	r = read_trusted_keys(ca_key_path, pub, keys, 1, &n, ret_error);
	if (r == -ENOENT || r == -EACCES) {
		if (ret_error) {
			free(*ret_error);
			*ret_error = NULL;
		}
		config_set_error(ret_error,
				 "cannot read the CA's public key from %s (%s) nor from %s (%s)",
				 ca_key_path, jit_strerror(priv_r), pub, jit_strerror(r));
	}
	return r;
}

int serve_checkpoint_keys(const char *ca_key_path, const struct key *ca, struct key **keys,
			  size_t *ret_n, char **ret_error)
{
	_cleanup_free_ char *previous = NULL;
	size_t more = 0;
	int r;

	if (!ca_key_path || !keys || !ret_n)
		return -EINVAL;
	if (asprintf(&previous, "%s%s", ca_key_path, SERVE_PREVIOUS_CA_KEYS_SUFFIX) < 0)
		return -ENOMEM;
	if ((r = ca_public(ca_key_path, ca, keys, ret_error)) < 0)
		return r;
	/* Only a file that is surely not there is skipped. */
	if (access(previous, F_OK) == 0 || errno != ENOENT) {
		r = read_trusted_keys(ca_key_path, previous, keys + 1,
				      SERVE_CHECKPOINT_KEYS_MAX - 1, &more, ret_error);
		if (r < 0) {
			keys_free(keys, 1);
			return r;
		}
	}
	*ret_n = 1 + more;
	return 0;
}

/* The checkpoint keys the start-up check trusts; the files are trust anchors, so they must
 * be as safe as the CA key (serve_checkpoint_keys() checks them). */
static int load_checkpoint_keys(FILE *log, const struct config *cfg, const struct key *ca,
				struct key **keys, size_t *ret_n)
{
	_cleanup_free_ char *err = NULL;
	int r = serve_checkpoint_keys(cfg->ca_key, ca, keys, ret_n, &err);

	if (r < 0)
		fprintf(log, "jit-ssh-ca: checkpoint keys: %s; refusing to start\n",
			err ? err : jit_strerror(r));
	return r;
}

/*
 * Verify the chain, trusting @trusted to sign checkpoints; a broken one stops the start
 * unless @cont. @ret_error gets the first bad record's message when broken.
 */
static int check_chain(FILE *log, struct ledger *led, const struct key *const *trusted,
		       size_t n_trusted, const char *ca_key_path, bool cont, bool *ret_ok,
		       char **ret_error)
{
	struct ledger_verify_result res = {0};
	int r = ledger_verify2(led, trusted, n_trusted, &res);

	if (r == 0) {
		*ret_ok = true;
		return 0;
	}
	if (r != JIT_E_LEDGER_CORRUPT) {
		fprintf(log, "jit-ssh-ca: cannot verify the ledger: %s\n", jit_strerror(r));
		return r;
	}
	if (!cont) {
		fprintf(log,
			"jit-ssh-ca: the ledger's chain is broken: %s; refusing to start. Inspect "
			"it with `jit-ssh-ca ledger verify` and `ledger show`; to serve anyway "
			"(this is recorded in the ledger), start with --continue-on-broken-chain\n",
			res.error);
		if (strstr(res.error, "untrusted key"))
			fprintf(log,
				"jit-ssh-ca: a checkpoint signed by another key than this CA's is "
				"forged, or from a CA key rotated out: then list the earlier CA "
				"public keys in %s%s (docs/operating-ca.md)\n",
				ca_key_path, SERVE_PREVIOUS_CA_KEYS_SUFFIX);
		return r;
	}
	fprintf(log,
		"jit-ssh-ca: WARNING: the ledger's chain is broken: %s; continuing because of "
		"--continue-on-broken-chain (recorded in the \"startup\" record)\n",
		res.error);
	*ret_error = strdup(res.error);
	if (!*ret_error)
		return -ENOMEM;
	*ret_ok = false;
	return 0;
}

static int record_startup(struct ledger *led, const char *ca_fp, const struct policy *pol,
			  bool chain_ok, bool cont, const char *chain_error)
{
	_cleanup_(json_decrefp) json_t *rec = NULL;

	/* clang-format off */
	rec = json_pack("{s:s, s:I, s:s, s:s, s:b, s:b, s:s?}",
			"event", SERVE_EVENT_STARTUP,
			"time", (json_int_t)now_sec(),
			"ca_key", ca_fp,
			"policy_version", policy_version(pol),
			"chain_ok", (int)chain_ok,
			"continued_on_broken_chain", (int)(cont && !chain_ok),
			"chain_error", chain_error);
	/* clang-format on */
	if (!rec)
		return -ENOMEM;
	return ledger_append(led, rec, NULL);
}

/* SIGHUP: load, validate, record, swap; or keep the old policy and say why. */
static void reload_policy(FILE *log, struct api *api, struct ledger *led, const char *path)
{
	_cleanup_(policy_unrefp) struct policy *pol = NULL;
	_cleanup_(policy_unrefp) struct policy *old = api_policy_get(api);
	_cleanup_(json_decrefp) json_t *rec = NULL;
	_cleanup_free_ char *err = NULL;
	uint64_t now = now_sec();
	int r;

	/* The messages go to the log (the operator's) only; /healthz is unauthenticated and
	 * gets the time and the count. */
	if (load_policy(path, &pol, &err) < 0) {
		fprintf(log,
			"jit-ssh-ca: SIGHUP: policy %s NOT reloaded, still serving "
			"version %s:\n%s\n",
			path, policy_version(old), err ? err : "out of memory");
		fflush(log);
		api_policy_failed(api, now, policy_error_count(err));
		return;
	}
	/* clang-format off */
	rec = json_pack("{s:s, s:I, s:s, s:s}",
			"event", SERVE_EVENT_POLICY_RELOADED,
			"time", (json_int_t)now,
			"policy_version", policy_version(pol),
			"previous_version", policy_version(old));
	/* clang-format on */
	r = rec ? ledger_append(led, rec, NULL) : -ENOMEM;
	if (r < 0) {
		free(err);
		if (asprintf(&err, "the ledger cannot record the reload, so it was not made: %s",
			     jit_strerror(r)) < 0)
			err = NULL;
		fprintf(log, "jit-ssh-ca: SIGHUP: policy %s NOT reloaded: %s\n", path,
			err ? err : jit_strerror(r));
		fflush(log);
		api_policy_failed(api, now, 1);
		return;
	}
	api_policy_set(api, pol, now);
	fprintf(log, "jit-ssh-ca: SIGHUP: policy %s reloaded: version %s (was %s)\n", path,
		policy_version(pol), policy_version(old));
	fflush(log);
}

static int apply_overrides(const struct serve_options *o, struct config *cfg)
{
	_cleanup_free_ char *err = NULL;

	if (o->listen) {
		free(cfg->listen);
		if (!(cfg->listen = strdup(o->listen)))
			return -ENOMEM;
	}
	if (o->port >= 0)
		cfg->port = (uint16_t)o->port;
	if (o->plain_http)
		cfg->plain_http = true;
	if (config_check_listen(cfg, &err) < 0) {
		fprintf(o->log, "jit-ssh-ca: %s\n", err ? err : "invalid listen address");
		return JIT_E_FORMAT;
	}
	return 0;
}

static int read_tls(FILE *log, const struct config *cfg, char **ret_cert, char **ret_key)
{
	int r;

	if (cfg->plain_http)
		return 0;
	if ((r = tlsgen_read_file(cfg->tls_cert, ret_cert, NULL)) < 0) {
		fprintf(log, "jit-ssh-ca: cannot read the TLS certificate %s: %s\n", cfg->tls_cert,
			jit_strerror(r));
		return r;
	}
	r = tlsgen_read_private_file(cfg->tls_key, ret_key, NULL);
	if (r == JIT_E_PERMISSION)
		private_file_refused(log, "TLS key", cfg->tls_key);
	else if (r == -EINVAL)
		fprintf(log, "jit-ssh-ca: TLS key %s is not a regular file; refusing to start\n",
			cfg->tls_key);
	else if (r < 0)
		fprintf(log, "jit-ssh-ca: cannot read the TLS key %s: %s\n", cfg->tls_key,
			jit_strerror(r));
	if (r < 0)
		return r;
	return 0;
}

/* ---- the ledger's upkeep while serving: sweeps and timed checkpoints ------------------- */

struct upkeep {
	struct ledger *led;
	FILE *log;
	uint64_t grace_sec;
	bool checkpoints; /* the ledger has a checkpoint signer */
	int sweep_logged; /* the failure last logged (0: none): each is logged once */
	int ckpt_logged;
	pthread_mutex_t mu;
	pthread_cond_t cond; /* on CLOCK_MONOTONIC */
	bool stop;
	bool started;
	pthread_t thread;
};

/* Log @r once while it lasts, and once more when it has gone. */
static void upkeep_report(struct upkeep *u, int *logged, int r, const char *what,
			  const char *consequence)
{
	if (r < 0 && r != *logged)
		fprintf(u->log, "jit-ssh-ca: cannot %s: %s; %s\n", what, jit_strerror(r),
			consequence);
	else if (r == 0 && *logged != 0)
		fprintf(u->log, "jit-ssh-ca: can %s again\n", what);
	else
		return;
	fflush(u->log);
	*logged = r;
}

/* One round: record what expired or was abandoned, sign the tail when it is due. */
static void upkeep_round(struct upkeep *u, uint64_t now, bool at_start)
{
	struct ledger_sweep_result res = {0};
	int r = ledger_sweep(u->led, now, u->grace_sec, &res);

	upkeep_report(u, &u->sweep_logged, r, "sweep the ledger",
		      "\"expired\" and \"cancelled\" records wait for the next try");
	if (r == 0 && (res.cancelled || (at_start && res.expired))) {
		fprintf(u->log,
			"jit-ssh-ca: ledger sweep: %llu certificate%s expired, %llu request%s "
			"cancelled (received over %llu s ago and never answered: `jit-ssh-ca "
			"ledger list --state cancelled`)\n",
			(unsigned long long)res.expired, res.expired == 1 ? "" : "s",
			(unsigned long long)res.cancelled, res.cancelled == 1 ? "" : "s",
			(unsigned long long)u->grace_sec);
		fflush(u->log);
	}
	if (!u->checkpoints)
		return;
	r = ledger_checkpoint_if_due(u->led, now, NULL);
	if (r == 0)
		r = ledger_checkpoint_failure(u->led); /* the ones made inside request commits */
	upkeep_report(u, &u->ckpt_logged, r, "sign a ledger checkpoint",
		      "the records after the last checkpoint stay unsigned until it works");
}

/*
 * The first round at once, while the server already answers (the first sweep of a large
 * ledger written before sweeps existed takes many transactions); then one every
 * SERVE_UPKEEP_INTERVAL_SEC, counted from the end of the last round, so a long one is not
 * repeated at once.
 */
static void *upkeep_main(void *arg)
{
	struct upkeep *u = arg;
	struct timespec deadline;
	bool first = true;

	pthread_mutex_lock(&u->mu);
	while (!u->stop) {
		pthread_mutex_unlock(&u->mu);
		upkeep_round(u, now_sec(), first);
		first = false;
		pthread_mutex_lock(&u->mu);
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += SERVE_UPKEEP_INTERVAL_SEC;
		while (!u->stop && pthread_cond_timedwait(&u->cond, &u->mu, &deadline) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&u->mu);
	return NULL;
}

static int upkeep_start(struct upkeep *u)
{
	pthread_condattr_t ca;
	int r;

	if ((r = pthread_condattr_init(&ca)) != 0)
		return -r;
	r = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (r == 0)
		r = pthread_cond_init(&u->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (r != 0)
		return -r;
	if ((r = pthread_mutex_init(&u->mu, NULL)) != 0) {
		pthread_cond_destroy(&u->cond);
		return -r;
	}
	if ((r = pthread_create(&u->thread, NULL, upkeep_main, u)) != 0) {
		pthread_mutex_destroy(&u->mu);
		pthread_cond_destroy(&u->cond);
		return -r;
	}
	u->started = true;
	return 0;
}

/*
 * Stop the thread; accepts one never started. A round in progress finishes first: the
 * ledger cannot be closed under it, and ledger_sweep() offers no way to stop between its
 * transactions, so a stop during the first sweep of a large older ledger waits for that
 * whole sweep (serve.h).
 */
static void upkeep_stop(struct upkeep *u)
{
	if (!u->started)
		return;
	pthread_mutex_lock(&u->mu);
	u->stop = true;
	pthread_cond_signal(&u->cond);
	pthread_mutex_unlock(&u->mu);
	pthread_join(u->thread, NULL);
	pthread_mutex_destroy(&u->mu);
	pthread_cond_destroy(&u->cond);
	u->started = false;
}

int serve_run(const struct serve_options *o)
{
	_cleanup_(config_freep) struct config *cfg = NULL;
	_cleanup_(key_freep) struct key *ca = NULL;
	_cleanup_(policy_unrefp) struct policy *pol = NULL;
	_cleanup_(ledger_closep) struct ledger *led = NULL;
	/* After led: stopped before the ledger is closed. */
	_cleanup_(upkeep_stop) struct upkeep up = {.log = o->log};
	_cleanup_(secret_freep) char *tls_key = NULL;
	_cleanup_free_ char *tls_cert = NULL;
	_cleanup_free_ char *err = NULL;
	_cleanup_free_ char *ca_fp = NULL;
	_cleanup_free_ char *chain_error = NULL;
	struct api *api = NULL;
	struct signer ca_signer;
	struct key *trusted[SERVE_CHECKPOINT_KEYS_MAX];
	size_t n_trusted = 0;
	bool chain_ok = false;
	sigset_t sigs;
	uint64_t records = 0;
	int r, sig;

	/*
	 * Before anything else, so that every thread started later (the ledger's, the
	 * server's) inherits the mask and only sigwait() below takes these signals.
	 */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((r = serve_harden_process()) < 0) {
		fprintf(o->log, "jit-ssh-ca: cannot disable core dumps: %s\n", jit_strerror(r));
		return 1;
	}

	if (check_trusted(o->log, o->config_path) < 0)
		return 1;
	if ((r = config_load(o->config_path, &cfg, &err)) < 0) {
		fprintf(o->log, "jit-ssh-ca: %s\n", err ? err : jit_strerror(r));
		return 1;
	}
	if (apply_overrides(o, cfg) < 0 || check_state(o->log, cfg) < 0)
		return 1;
	if (load_ca_key(o->log, cfg->ca_key, &ca) < 0 || key_fingerprint(ca, &ca_fp) < 0)
		return 1;
	free(err);
	err = NULL;
	if (load_policy(cfg->policy, &pol, &err) < 0) {
		fprintf(o->log, "jit-ssh-ca: policy %s is invalid:\n%s\n", cfg->policy,
			err ? err : "out of memory");
		return 1;
	}
	if (read_tls(o->log, cfg, &tls_cert, &tls_key) < 0)
		return 1;
	ca_signer = key_signer(ca);
	if (open_ledger(o->log, cfg, &ca_signer, &led) < 0)
		return 1;
	/* Checkpoints are signed with the CA key: one by another key is a forgery (or from a
	 * CA key rotated out, listed in the previous-keys file). */
	if (load_checkpoint_keys(o->log, cfg, ca, trusted, &n_trusted) < 0)
		return 1;
	r = check_chain(o->log, led, (const struct key *const *)trusted, n_trusted, cfg->ca_key,
			o->continue_on_broken_chain, &chain_ok, &chain_error);
	keys_free(trusted, n_trusted);
	if (r < 0)
		return 1;
	r = record_startup(led, ca_fp, pol, chain_ok, o->continue_on_broken_chain, chain_error);
	if (r < 0) {
		fprintf(o->log, "jit-ssh-ca: cannot record the start in the ledger %s: %s\n",
			cfg->ledger, jit_strerror(r));
		/* Serving on a broken chain is allowed only when it is on record. */
		if (!chain_ok)
			return 1;
	}
	up.led = led;
	up.grace_sec = serve_sweep_grace_sec(cfg);
	up.checkpoints = true; /* open_ledger() passes the CA key's signer */
	/* The first upkeep round runs on its thread once the server listens (below). */
	if ((r = ledger_count(led, &records)) < 0) {
		fprintf(o->log, "jit-ssh-ca: cannot read the ledger %s: %s\n", cfg->ledger,
			jit_strerror(r));
		return 1;
	}

	struct api_options ao = {
		.listen = cfg->listen,
		.port = cfg->port,
		.plain_http = cfg->plain_http,
		.tls_cert_pem = tls_cert,
		.tls_key_pem = tls_key,
		.policy = pol,
		.policy_loaded_at = now_sec(),
		.ledger = led,
		.ledger_chain_ok = chain_ok,
		.ca_key = ca,
		.skew_sec = cfg->skew_sec,
		.max_ttl_sec = cfg->max_ttl_sec,
		.clock_window_sec = cfg->clock_window_sec,
		.per_ip_connection_limit = (unsigned)cfg->per_ip_connection_limit,
		.connection_timeout_sec = (unsigned)cfg->connection_timeout_sec,
		.log = o->log,
	};
	if ((r = api_start(&ao, &api)) < 0) {
		fprintf(o->log, "jit-ssh-ca: cannot listen on %s port %u: %s\n", cfg->listen,
			(unsigned)cfg->port, jit_strerror(r));
		return 1;
	}
	/* The PID file before the port file: whoever waits for the port may reload at once. */
	if ((r = write_number_file(cfg->pid_file, (unsigned long long)getpid())) < 0) {
		fprintf(o->log,
			"jit-ssh-ca: cannot write the PID file %s: %s (set pid_file in %s)\n",
			cfg->pid_file, jit_strerror(r), cfg->path);
		api_stop(api);
		return 1;
	}
	if (o->port_file && (r = write_number_file(o->port_file, api_port(api))) < 0) {
		fprintf(o->log, "jit-ssh-ca: cannot write the port file %s: %s\n", o->port_file,
			jit_strerror(r));
		api_stop(api);
		remove_pid_file(cfg->pid_file);
		return 1;
	}
	fprintf(o->log,
		"jit-ssh-ca: serving %s://%s%s%s:%u/ (pid %ld, policy %s, %llu ledger records, "
		"chain %s)\n",
		cfg->plain_http ? "http" : "https", strchr(cfg->listen, ':') ? "[" : "",
		cfg->listen, strchr(cfg->listen, ':') ? "]" : "", (unsigned)api_port(api),
		(long)getpid(), policy_version(pol), (unsigned long long)records,
		chain_ok ? "verified" : "BROKEN");
	fflush(o->log);
	if ((r = upkeep_start(&up)) < 0)
		fprintf(o->log,
			"jit-ssh-ca: cannot start the ledger's upkeep thread: %s; no sweeps or "
			"timed checkpoints until a restart\n",
			jit_strerror(r));

	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			reload_policy(o->log, api, led, cfg->policy);
			continue;
		}
		break;
	}
	fprintf(o->log, "jit-ssh-ca: %s received, stopping\n",
		sig == SIGTERM ? "SIGTERM" : "SIGINT");
	api_stop(api);
	upkeep_stop(&up);
	/* Sign the tail, so the last records do not wait for the next start to be covered. */
	r = ledger_checkpoint(led, now_sec(), NULL);
	if (r < 0 && r != JIT_E_NOT_FOUND)
		fprintf(o->log, "jit-ssh-ca: cannot checkpoint the ledger: %s\n", jit_strerror(r));
	remove_pid_file(cfg->pid_file);
	fprintf(o->log, "jit-ssh-ca: stopped\n");
	return 0;
}

/* ---- jit-ssh-ca reload ------------------------------------------------------------------ */

struct body_buf {
	char *data;
	size_t len;
};

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct body_buf *b = ctx;
	size_t add = size * n;
	char *nd;

	if (add > HEALTHZ_MAX - b->len)
		return 0;
	nd = realloc(b->data, b->len + add + 1);
	if (!nd)
		return 0;
	memcpy(nd + b->len, p, add);
	b->len += add;
	nd[b->len] = 0;
	b->data = nd;
	return add;
}

/* GET @url -> parsed JSON object; @pin NULL for plain HTTP. */
static int fetch_healthz(const char *url, const char *pin, json_t **ret, char *errbuf)
{
	_cleanup_free_ char *freeme = NULL;
	struct body_buf b = {0};
	CURL *c = curl_easy_init();
	CURLcode cc;
	long status = 0;
	json_t *j;

	errbuf[0] = 0;
	if (!c)
		return -ENOMEM;
	if ((cc = curl_easy_setopt(c, CURLOPT_URL, url)) ||
	    (cc = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body)) ||
	    (cc = curl_easy_setopt(c, CURLOPT_WRITEDATA, &b)) ||
	    (cc = curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf)) ||
	    (cc = curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L)) ||
	    (cc = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L)) ||
	    (cc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https")))
		goto out;
	/* The pin is the CA's identity (what jit-ssh checks too); names and dates are not. */
	if (pin && ((cc = curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, pin)) ||
		    (cc = curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L)) ||
		    (cc = curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L))))
		goto out;
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
out:
	curl_easy_cleanup(c);
	freeme = b.data;
	if (cc != CURLE_OK) {
		if (!errbuf[0])
			snprintf(errbuf, CURL_ERROR_SIZE, "%s", curl_easy_strerror(cc));
		return -EIO;
	}
	if (status != 200) {
		snprintf(errbuf, CURL_ERROR_SIZE, "GET /healthz answered HTTP %ld", status);
		return -EIO;
	}
	j = b.data ? json_loadb(b.data, b.len, 0, NULL) : NULL;
	if (!json_is_object(j)) {
		json_decref(j);
		snprintf(errbuf, CURL_ERROR_SIZE, "GET /healthz did not answer a JSON object");
		return JIT_E_FORMAT;
	}
	*ret = j;
	return 0;
}

static json_int_t int_field(const json_t *o, const char *name)
{
	return json_integer_value(json_object_get(o, name));
}

static int healthz_url(const struct serve_reload_options *o, const struct config *cfg, char **ret)
{
	unsigned long long port = cfg->port;
	const char *addr = cfg->listen;
	int r;

	if (o->port >= 0)
		port = (unsigned long long)o->port;
	if (o->port_file && (r = read_number_file(o->port_file, 65535, &port)) < 0) {
		fprintf(o->err, "jit-ssh-ca: cannot read the port file %s: %s\n", o->port_file,
			jit_strerror(r));
		return r;
	}
	if (!strcmp(addr, "0.0.0.0"))
		addr = "127.0.0.1";
	else if (!strcmp(addr, "::"))
		addr = "::1";
	if (asprintf(ret, "%s://%s%s%s:%llu/healthz", cfg->plain_http ? "http" : "https",
		     strchr(addr, ':') ? "[" : "", addr, strchr(addr, ':') ? "]" : "", port) < 0)
		return -ENOMEM;
	return 0;
}

static int reload_with(const struct serve_reload_options *o, const struct config *cfg)
{
	_cleanup_free_ char *url = NULL;
	_cleanup_free_ char *pin = NULL;
	_cleanup_free_ char *local_err = NULL;
	_cleanup_(policy_unrefp) struct policy *local = NULL;
	_cleanup_(json_decrefp) json_t *before = NULL;
	char errbuf[CURL_ERROR_SIZE];
	unsigned long long pid;
	int r, local_r;

	if ((r = read_number_file(cfg->pid_file, INT32_MAX, &pid)) < 0) {
		fprintf(o->err,
			"jit-ssh-ca: cannot read the PID file %s: %s (is `jit-ssh-ca serve` "
			"running with this config?)\n",
			cfg->pid_file, jit_strerror(r));
		return 1;
	}
	if (healthz_url(o, cfg, &url) < 0)
		return 1;
	if (!cfg->plain_http && (r = tlsgen_pin_file(cfg->tls_cert, &pin)) < 0) {
		fprintf(o->err, "jit-ssh-ca: cannot read the TLS certificate %s: %s\n",
			cfg->tls_cert, jit_strerror(r));
		return 1;
	}
	if (fetch_healthz(url, pin, &before, errbuf) < 0) {
		fprintf(o->err, "jit-ssh-ca: cannot ask %s before reloading: %s\n", url, errbuf);
		return 1;
	}
	/* /healthz only counts a failed reload's errors; the operator running this may read the
	 * file, so the messages come from validating it here, just before the daemon does. */
	local_r = policy_load_file(cfg->policy, &local, &local_err);
	if (kill((pid_t)pid, SIGHUP) < 0) {
		fprintf(o->err, "jit-ssh-ca: cannot signal PID %llu (from %s): %s\n", pid,
			cfg->pid_file, strerror(errno));
		return 1;
	}
	for (unsigned i = 0; i < SERVE_RELOAD_WAIT_SEC * 1000 / SERVE_RELOAD_POLL_MS; i++) {
		_cleanup_(json_decrefp) json_t *now = NULL;
		json_int_t n_errors;
		struct timespec ts = {0, SERVE_RELOAD_POLL_MS * 1000000L};

		nanosleep(&ts, NULL);
		if (fetch_healthz(url, pin, &now, errbuf) < 0)
			continue;
		if (int_field(now, "policy_reload_attempts") ==
		    int_field(before, "policy_reload_attempts"))
			continue;
		if (int_field(now, "policy_generation") != int_field(before, "policy_generation")) {
			fprintf(o->out, "policy reloaded: %s\n",
				json_string_value(json_object_get(now, "policy_version")));
			return 0;
		}
		n_errors = int_field(now, "policy_reload_errors");
		fprintf(o->err,
			"jit-ssh-ca: policy %s NOT reloaded (still serving %s): the CA "
			"found %lld error%s\n",
			cfg->policy, json_string_value(json_object_get(now, "policy_version")),
			(long long)n_errors, n_errors == 1 ? "" : "s");
		if (local_r == JIT_E_POLICY && local_err) {
			json_int_t here = (json_int_t)policy_error_count(local_err);

			fprintf(o->err, "jit-ssh-ca: checking %s here:\n%s\n", cfg->policy,
				local_err);
			if (here != n_errors)
				fprintf(o->err,
					"jit-ssh-ca: %lld error%s here but %lld in the CA: the "
					"file "
					"changed since, or the CA reads another one (its log has "
					"its own list)\n",
					(long long)here, here == 1 ? "" : "s", (long long)n_errors);
		} else if (local_r < 0) {
			fprintf(o->err,
				"jit-ssh-ca: cannot check %s here (%s); the CA's log says what "
				"it found\n",
				cfg->policy, jit_strerror(local_r));
		} else
			fprintf(o->err,
				"jit-ssh-ca: %s is a valid policy here (as this user); the "
				"CA's log says why the CA refused it (the file's owner or "
				"mode, the ledger, or a change since)\n",
				cfg->policy);
		return 1;
	}
	fprintf(o->err, "jit-ssh-ca: the CA (PID %llu) did not report a reload within %d s\n", pid,
		SERVE_RELOAD_WAIT_SEC);
	return 1;
}

int serve_reload(const struct serve_reload_options *o)
{
	_cleanup_(config_freep) struct config *cfg = NULL;
	_cleanup_free_ char *err = NULL;
	int r;

	if ((r = config_load(o->config_path, &cfg, &err)) < 0) {
		fprintf(o->err, "jit-ssh-ca: %s\n", err ? err : jit_strerror(r));
		return 1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(o->err, "jit-ssh-ca: cannot initialise libcurl\n");
		return 1;
	}
	r = reload_with(o, cfg);
	curl_global_cleanup();
	return r;
}
