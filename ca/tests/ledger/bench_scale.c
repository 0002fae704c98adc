/* SPDX-License-Identifier: ISC */
/*
 * bench_scale - a large ledger: build RECORDS CA-shaped records (half "received", half
 * "issued" with an 800-byte certificate line; 1000 users, 300 hosts, 5 logins, 10 records a
 * second), then, through a read-only handle as the review tools open it, time the queries
 * of `jit-ssh-ca ledger list` and a full verify. Not a test: `meson test --benchmark` runs
 * it with 200000 records; the figure is for 1000000:
 *   build-bench/ca/tests/ledger/bench-ledger-scale 1000000
 * Usage: bench-ledger-scale [RECORDS [DIR]]   (default 200000 $TMPDIR)
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "ledger.h"

#define T0 1700000000u
#define USERS 1000u
#define HOSTS 300u
#define BUILDERS 32u
#define REPEAT 5

static const char *const logins[] = {"root", "deploy", "postgres", "ubuntu", "admin"};

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Record @i of the synthetic history: request i / 2, received then issued. */
static json_t *synthetic(uint64_t i, const char *cert)
{
	uint64_t req = i / 2, mix = req * 2654435761u;
	char user[16], host[48], rid[33], key_id[192];
	const char *login = logins[(mix >> 24) % 5];

	snprintf(user, sizeof user, "user%04u", (unsigned)(mix % USERS));
	snprintf(host, sizeof host, "host-%03u.prod.example", (unsigned)((mix >> 12) % HOSTS));
	snprintf(rid, sizeof rid, "%032" PRIx64, req * 0x9e3779b97f4a7c15u);
	if (i % 2 == 0)
		return json_pack(
			"{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "event",
			"received", "time", (json_int_t)(T0 + i / 10), "request_id", rid, "user",
			user, "host", host, "login", login, "client_address", "10.1.2.3",
			"user_key", "SHA256:n3bkUkkrvsK8ZK5Mz9fbe9ZG8yBVxqiqXBhHf8e6Zgo",
			"subject_key", "SHA256:Vb6Yf8lZk7yXo1b4kQ0qv1G0xZ8rjN3kT2b5c9dE1fY",
			"ttl_seconds", (json_int_t)600, "reason",
			"deploy hotfix for INC-4711 (database failover)");
	snprintf(key_id, sizeof key_id, "jit-ssh user=%s host=%s login=%s request=%s", user, host,
		 login, rid);
	return json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:[s], s:I, s:I, s:s, s:s, "
			 "s:s}",
			 "event", "issued", "time", (json_int_t)(T0 + i / 10), "request_id", rid,
			 "user", user, "host", host, "login", login, "serial", (json_int_t)req + 1,
			 "rule", "sre-prod", "policy_version",
			 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
			 "principals", "jit:host:root", "valid_after",
			 (json_int_t)(T0 + i / 10 - 60), "valid_before",
			 (json_int_t)(T0 + i / 10 + 600), "key_id", key_id, "ca_key",
			 "SHA256:q4d8s9f0g1h2j3k4l5z6x7c8v9b0n1m2Q3W4E5R6T7Y", "certificate", cert);
}

struct builder {
	struct ledger *l;
	uint64_t from, n, step;
	const char *cert;
	int r;
};

static void *build(void *arg)
{
	struct builder *b = arg;

	for (uint64_t i = b->from; i < b->n && b->r == 0; i += b->step) {
		json_t *rec = synthetic(i, b->cert);

		b->r = rec ? ledger_append(b->l, rec, NULL) : -ENOMEM;
		json_decref(rec);
	}
	return NULL;
}

static int counter(void *ctx, const json_t *rec)
{
	(void)rec;
	(*(uint64_t *)ctx)++;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of REPEAT runs of the query, in milliseconds; @ret_n records matched. */
static double time_query(struct ledger *l, const struct ledger_filter *f, uint64_t *ret_n)
{
	double t[REPEAT];

	for (int i = 0; i < REPEAT; i++) {
		double s = seconds();
		int r;

		*ret_n = 0;
		r = ledger_query(l, f, counter, ret_n);
		t[i] = (seconds() - s) * 1e3;
		if (r < 0) {
			fprintf(stderr, "bench-ledger-scale: query: %s\n", jit_strerror(r));
			exit(1);
		}
	}
	qsort(t, REPEAT, sizeof t[0], cmp_double);
	return t[REPEAT / 2];
}

static void report(struct ledger *l, const char *what, const struct ledger_filter *f)
{
	uint64_t n;
	double ms = time_query(l, f, &n);

	printf("  %-44s %8" PRIu64 " records %9.2f ms\n", what, n, ms);
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 200000;
	const char *tmp = argc > 2 ? argv[2] : getenv("TMPDIR");
	struct ledger_options ro = {.read_only = 1}, o = {.map_size = 256ull << 20};
	struct builder b[BUILDERS];
	pthread_t t[BUILDERS];
	struct ledger *l = NULL;
	struct ledger_verify_result res;
	char dir[512], path[600], cert[801];
	struct stat st;
	double start, el;
	int r;

	if (!tmp || !*tmp)
		tmp = "/tmp";
	snprintf(dir, sizeof dir, "%s/jit-ledger-scale-XXXXXX", tmp);
	if (n < 2 || !mkdtemp(dir) || (r = ledger_open(dir, &o, &l)) < 0) {
		fprintf(stderr, "bench-ledger-scale: cannot set up a ledger in %s\n", tmp);
		return 1;
	}
	memcpy(cert, "ssh-ed25519-cert-v01@openssh.com ", 33);
	for (size_t i = 33; i < sizeof cert - 1; i++)
		cert[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[i * 7 %
											     64];
	cert[sizeof cert - 1] = '\0';

	start = seconds();
	for (unsigned i = 0; i < BUILDERS; i++) {
		b[i] = (struct builder){.l = l, .from = i, .n = n, .step = BUILDERS, .cert = cert};
		if (pthread_create(&t[i], NULL, build, &b[i]) != 0)
			return 1;
	}
	for (unsigned i = 0; i < BUILDERS; i++) {
		pthread_join(t[i], NULL);
		if (b[i].r < 0) {
			fprintf(stderr, "bench-ledger-scale: append: %s\n", jit_strerror(b[i].r));
			return 1;
		}
	}
	el = seconds() - start;
	ledger_close(l);
	snprintf(path, sizeof path, "%s/data.mdb", dir);
	if (stat(path, &st) < 0)
		return 1;
	printf("built %" PRIu64 " records in %.1f s (%.0f durable appends/s, %u writers); "
	       "data.mdb %.1f MiB, %.0f bytes per record\n",
	       n, el, (double)n / el, BUILDERS, (double)st.st_size / (1 << 20),
	       (double)st.st_size / (double)n);

	if ((r = ledger_open(dir, &ro, &l)) < 0) {
		fprintf(stderr, "bench-ledger-scale: reopen: %s\n", jit_strerror(r));
		return 1;
	}
	printf("queries (median of %d, read-only handle):\n", REPEAT);
	report(l, "list --user user0042", &(struct ledger_filter){.user = "user0042"});
	report(l, "list --user user0042 --limit 50 (newest)",
	       &(struct ledger_filter){.user = "user0042", .limit = 50, .newest_first = true});
	report(l, "list --host host-007.prod.example",
	       &(struct ledger_filter){.host = "host-007.prod.example"});
	report(l, "list --user user0042 --login root --event issued",
	       &(struct ledger_filter){.user = "user0042", .login = "root", .event = "issued"});
	report(l, "list --since (last hour)", &(struct ledger_filter){.since = T0 + n / 10 - 3600});
	report(l, "list --user user0042 --since (last day)",
	       &(struct ledger_filter){.user = "user0042", .since = T0 + n / 10 - 86400});
	report(l, "show SERIAL (serial 4242)", &(struct ledger_filter){.serial = 4242});

	start = seconds();
	r = ledger_verify2(l, NULL, 0, &res);
	el = seconds() - start;
	if (r < 0) {
		fprintf(stderr, "bench-ledger-scale: verify: %s %s\n", jit_strerror(r),
			r == JIT_E_LEDGER_CORRUPT ? res.error : "");
		return 1;
	}
	printf("verify: %" PRIu64 " records in %.2f s (%.0f records/s)\n", res.records, el,
	       (double)res.records / el);
	ledger_close(l);
	unlink(path);
	snprintf(path, sizeof path, "%s/lock.mdb", dir);
	unlink(path);
	rmdir(dir);
	return 0;
}
