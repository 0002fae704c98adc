/* SPDX-License-Identifier: ISC */
/*
 * bench_commit - durable issuance rate: certificates per second through ledger_issue(), each
 * call returning only after its commit's fsync, in one process on one disk:
 *   1. one caller: latency of a single durable issuance (median, 99th percentile);
 *   2. THREADS callers, group_max = 1 (one commit, one fsync, per certificate) against
 *      THREADS callers with group commit, twice:
 *      "signed":  the callback signs a real Ed25519 OpenSSH certificate with the serial, as
 *                 the CA does (end to end: bounded by signing on a small machine);
 *      "records": the callback returns a record of the same size with a ready-made
 *                 certificate line (what the storage itself sustains).
 * Not a test: `meson test --benchmark` (or scripts/bench). Figures go to stdout.
 * Usage: bench-ledger-commit [THREADS [ISSUES_PER_THREAD [DIR]]]   (default 16 100 $TMPDIR)
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cert.h"
#include "err.h"
#include "key.h"
#include "ledger.h"

#define NOW 1700000000u

static struct key *ca_key;
static struct signer ca;
static char *fixed_line; /* a certificate line made once, for the "records" runs */

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct job {
	struct ledger *l;
	unsigned n, id;
	double *lat; /* per-issue latency, seconds, or NULL */
	int r;
};

/* What the CA does inside the ledger's transaction: sign with the serial, build the record. */
static int sign_cb(void *ctx, uint64_t serial, json_t **ret)
{
	struct job *j = ctx;
	struct key *subject = NULL;
	struct cert *c = NULL;
	char *line = NULL, user[32], host[48], rid[33], key_id[160];
	int r;

	snprintf(user, sizeof user, "user%04u", j->id);
	snprintf(host, sizeof host, "host-%03u.prod.example", (unsigned)(serial % 300));
	snprintf(rid, sizeof rid, "%016" PRIx64 "%016" PRIx64, serial, (uint64_t)j->id);
	snprintf(key_id, sizeof key_id, "jit-ssh user=%s host=%s login=root request=%s", user, host,
		 rid);
	if (fixed_line) {
		*ret = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:I, s:s, s:s}", "event", "issued",
				 "time", (json_int_t)NOW, "request_id", rid, "user", user, "host",
				 host, "login", "root", "serial", (json_int_t)serial, "key_id",
				 key_id, "certificate", fixed_line);
		return *ret ? 0 : -ENOMEM;
	}
	if ((r = key_public(ca_key, &subject)) < 0 || (r = cert_new(subject, &c)) < 0)
		return r;
	c->serial = serial;
	if ((r = cert_set_key_id(c, key_id)) < 0 || (r = cert_set_validity(c, NOW, 60, 600)) < 0 ||
	    (r = cert_add_principal(c, "jit:host:root")) < 0 ||
	    (r = cert_add_extension(c, "permit-pty", "")) < 0 ||
	    (r = cert_sign(c, &ca, NULL)) < 0 || (r = cert_to_line(c, NULL, &line)) < 0) {
		cert_free(c);
		return r;
	}
	*ret = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:[s], s:I, s:I, s:s, s:s}",
			 "event", "issued", "time", (json_int_t)NOW, "request_id", rid, "user",
			 user, "host", host, "login", "root", "rule", "sre-prod", "policy_version",
			 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			 "principals", "jit:host:root", "valid_after", (json_int_t)NOW - 60,
			 "valid_before", (json_int_t)NOW + 600, "key_id", key_id, "certificate",
			 line);
	free(line);
	cert_free(c);
	return *ret ? 0 : -ENOMEM;
}

static void *worker(void *arg)
{
	struct job *j = arg;

	for (unsigned i = 0; i < j->n && j->r == 0; i++) {
		double t = seconds();

		j->r = ledger_issue(j->l, sign_cb, j, NULL, NULL);
		if (j->lat)
			j->lat[i] = seconds() - t;
	}
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void cleanup(const char *dir)
{
	char path[600];

	snprintf(path, sizeof path, "%s/data.mdb", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/lock.mdb", dir);
	unlink(path);
	rmdir(dir);
}

/* @threads callers, @n issues each, on a fresh ledger; certificates per second or < 0. */
static double run(const char *base, unsigned threads, unsigned n, unsigned group_max, double *lat)
{
	struct ledger_options o = {.group_max = group_max, .checkpoint_signer = &ca};
	struct ledger *l = NULL;
	struct job *jobs = calloc(threads, sizeof *jobs);
	pthread_t *t = calloc(threads, sizeof *t);
	char dir[512];
	double start, rate = -1;
	uint64_t count = 0;
	int r;

	snprintf(dir, sizeof dir, "%s/jit-ledger-bench-XXXXXX", base);
	if (!jobs || !t || !mkdtemp(dir) || (r = ledger_open(dir, &o, &l)) < 0) {
		fprintf(stderr, "bench-ledger-commit: cannot set up a ledger in %s\n", base);
		goto out;
	}
	start = seconds();
	for (unsigned i = 0; i < threads; i++) {
		jobs[i] = (struct job){.l = l, .n = n, .id = i, .lat = lat};
		if (pthread_create(&t[i], NULL, worker, &jobs[i]) != 0)
			abort();
	}
	for (unsigned i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		if (jobs[i].r < 0) {
			fprintf(stderr, "bench-ledger-commit: %s\n", jit_strerror(jobs[i].r));
			goto out;
		}
	}
	rate = (double)threads * n / (seconds() - start);
	if ((r = ledger_verify(l, &count, NULL)) < 0) {
		fprintf(stderr, "bench-ledger-commit: verify: %s\n", jit_strerror(r));
		rate = -1;
	}
out:
	ledger_close(l);
	cleanup(dir);
	free(jobs);
	free(t);
	return rate;
}

/* One commit per certificate against group commit, in the same run; false on failure. */
static bool compare(const char *tmp, const char *what, unsigned threads, unsigned n)
{
	double one = run(tmp, threads, n, 1, NULL), grouped = run(tmp, threads, n, 0, NULL);

	if (one < 0 || grouped < 0)
		return false;
	printf("%-8s %3u threads: one commit per certificate %8.1f/s, group commit %8.1f/s: "
	       "%.1fx\n",
	       what, threads, one, grouped, grouped / one);
	return true;
}

int main(int argc, char **argv)
{
	unsigned threads = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 16;
	unsigned n = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 100;
	const char *tmp = argc > 3 ? argv[3] : getenv("TMPDIR");
	unsigned single = 200;
	double lat[200], solo;
	json_t *rec = NULL;
	struct job j = {0};

	if (!tmp || !*tmp)
		tmp = "/tmp";
	if (threads == 0 || n == 0 || key_generate(KEY_ED25519, 0, &ca_key) < 0)
		return 1;
	ca = key_signer(ca_key);

	solo = run(tmp, 1, single, 0, lat);
	if (solo < 0)
		return 1;
	qsort(lat, single, sizeof lat[0], cmp_double);
	printf("signed   single caller: %8.1f certificates/s, latency median %.2f ms, p99 %.2f "
	       "ms\n",
	       solo, lat[single / 2] * 1e3, lat[single * 99 / 100] * 1e3);
	if (!compare(tmp, "signed", threads, n))
		return 1;
	/* The same record with a certificate line signed once, up front. */
	if (sign_cb(&j, 1, &rec) < 0 ||
	    !(fixed_line = strdup(json_string_value(json_object_get(rec, "certificate")))))
		return 1;
	json_decref(rec);
	if (!compare(tmp, "records", threads, n))
		return 1;
	printf("(on %s)\n", tmp);
	free(fixed_line);
	key_free(ca_key);
	return 0;
}
