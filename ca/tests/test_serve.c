/* SPDX-License-Identifier: ISC */
/*
 * test_serve.c - the daemon (serve.h): what it does to its own process before it loads any
 * key (serve_harden_process(): no core dumps, not dumpable), and when its ledger upkeep
 * starts: once the server listens, not before.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "key.h"
#include "ledger.h"
#include "serve.h"

/* How long the test waits for the daemon to get somewhere: a bound for slow (sanitizer)
 * builds, not a speed requirement. */
#define WAIT_MAX_SEC 30

static void test_hardened_process_is_not_dumpable_and_writes_no_core(void **state)
{
	struct rlimit rl;

	(void)state;
	assert_int_equal(serve_harden_process(), 0);
	assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
	assert_int_equal(getrlimit(RLIMIT_CORE, &rl), 0);
	assert_int_equal(rl.rlim_cur, 0);
	assert_int_equal(rl.rlim_max, 0);
}

struct daemon {
	char dir[64];
	char path[128];
	struct serve_options o;
	pthread_t thread;
	atomic_bool done;
	int rc;
};

static char *in_dir(struct daemon *d, const char *name)
{
	snprintf(d->path, sizeof(d->path), "%s/%s", d->dir, name);
	return d->path;
}

static void write_text(struct daemon *d, const char *name, const char *text)
{
	FILE *fp = fopen(in_dir(d, name), "w");

	assert_non_null(fp);
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(d->path, 0644), 0);
}

/* The whole of @name, new (or NULL when it cannot be read). */
static char *read_text(struct daemon *d, const char *name)
{
	FILE *fp = fopen(in_dir(d, name), "r");
	char *text = calloc(1, 65536);
	size_t n;

	if (!fp || !text) {
		if (fp)
			fclose(fp);
		free(text);
		return NULL;
	}
	n = fread(text, 1, 65535, fp);
	text[n] = 0;
	fclose(fp);
	return text;
}

static void *daemon_main(void *arg)
{
	struct daemon *d = arg;

	d->rc = serve_run(&d->o);
	atomic_store(&d->done, true);
	return NULL;
}

/* Wait until the log holds @want (or the daemon ended, or WAIT_MAX_SEC passed). */
static bool log_shows(struct daemon *d, const char *want)
{
	time_t until = time(NULL) + WAIT_MAX_SEC;

	for (;;) {
		char *log = read_text(d, "ca.log");
		bool found = log && strstr(log, want);

		free(log);
		if (found)
			return true;
		if (atomic_load(&d->done) || time(NULL) > until)
			return false;
		usleep(20 * 1000);
	}
}

static void test_the_first_upkeep_round_runs_after_the_server_listens(void **state)
{
	struct daemon *d = calloc(1, sizeof(*d));
	struct ledger *l = NULL;
	struct key *ca = NULL, *alice = NULL;
	char *line = NULL, *text = NULL, *log, *serving, *swept, cmd[128], config[128];
	json_t *rec;

	(void)state;
	assert_non_null(d);
	strcpy(d->dir, "/tmp/jit-ca-serve-XXXXXX");
	assert_non_null(mkdtemp(d->dir));
	assert_int_equal(key_generate(KEY_ED25519, 0, &ca), 0);
	assert_int_equal(key_generate(KEY_ED25519, 0, &alice), 0);
	assert_int_equal(key_write_private(ca, NULL, in_dir(d, "ca_key")), 0);
	assert_int_equal(key_to_line(alice, NULL, &line), 0);
	assert_true(asprintf(&text,
			     "version: 1\n"
			     "users:\n  alice:\n    keys: [\"%s\"]\n"
			     "rules:\n  - name: self\n    users: [alice]\n    hosts: [\"*\"]\n"
			     "    logins: [\"${user}\"]\n",
			     line) > 0);
	write_text(d, "policy.yaml", text);
	write_text(d, "config.yaml",
		   "listen: 127.0.0.1\nport: 0\nplain_http: true\nca_key: ca_key\n"
		   "policy: policy.yaml\nledger: ledger\npid_file: serve.pid\n");
	/* A ledger with a certificate that expired long ago and no sweep yet: the first
	 * upkeep round records its "expired" and says so in the log. */
	assert_int_equal(mkdir(in_dir(d, "ledger"), 0700), 0);
	assert_int_equal(ledger_open(d->path, NULL, &l), 0);
	rec = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:I, s:I}", "event", "issued", "time",
			(json_int_t)1700000000, "request_id", "00112233445566778899aabbccddeeff",
			"user", "alice", "host", "web-1", "login", "alice", "serial", (json_int_t)1,
			"valid_before", (json_int_t)1700000900);
	assert_int_equal(ledger_append(l, rec, NULL), 0);
	json_decref(rec);
	ledger_close(l);

	snprintf(config, sizeof(config), "%s/config.yaml", d->dir);
	d->o = (struct serve_options){
		.config_path = config, .port = -1, .log = fopen(in_dir(d, "ca.log"), "w")};
	assert_non_null(d->o.log);
	assert_int_equal(pthread_create(&d->thread, NULL, daemon_main, d), 0);
	if (!log_shows(d, "ledger sweep: 1 certificate expired")) {
		log = read_text(d, "ca.log");
		fail_msg("no start-up sweep in the log:\n%s", log ? log : "(none)");
	}
	/* serve_run() takes SIGTERM with sigwait() on its own thread. */
	assert_int_equal(pthread_kill(d->thread, SIGTERM), 0);
	assert_int_equal(pthread_join(d->thread, NULL), 0);
	assert_int_equal(d->rc, 0);
	fclose(d->o.log);

	log = read_text(d, "ca.log");
	assert_non_null(log);
	serving = strstr(log, "jit-ssh-ca: serving http://127.0.0.1:");
	swept = strstr(log, "ledger sweep: 1 certificate expired");
	if (!serving || !swept || serving > swept)
		fail_msg("the sweep ran before the server listened:\n%s", log);
	free(log);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->dir);
	assert_int_equal(system(cmd), 0);
	key_free(ca);
	key_free(alice);
	free(line);
	free(text);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hardened_process_is_not_dumpable_and_writes_no_core),
		cmocka_unit_test(test_the_first_upkeep_round_runs_after_the_server_listens),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
