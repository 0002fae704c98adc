/* SPDX-License-Identifier: ISC */
/*
 * bench_ledger - durable appends per second (each one fsynced), for ledger_append(),
 * ledger_issue() and ledger_nonce_claim(). Not a test: `meson test --benchmark`.
 * Usage: bench-ledger [N]   (default 500 operations of each kind)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "ledger.h"

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int issue_cb(void *ctx, uint64_t serial, json_t **ret)
{
	(void)ctx;
	(void)serial;
	*ret = json_pack("{s:s, s:I, s:s}", "event", "issued", "time", (json_int_t)1700000000,
			 "request_id", "0123456789abcdef0123456789abcdef");
	return *ret ? 0 : -1;
}

static void report(const char *what, unsigned n, double t)
{
	printf("%-12s %6u in %7.3f s: %9.1f per second\n", what, n, t, (double)n / t);
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 500;
	char dir[] = "/tmp/jit-ledger-bench-XXXXXX", path[64], nonce[32];
	struct ledger *l = NULL;
	json_t *e = json_pack("{s:s, s:I, s:s, s:s}", "event", "requested", "time",
			      (json_int_t)1700000000, "request_id",
			      "0123456789abcdef0123456789abcdef", "reason", "benchmark record");
	double t;
	uint64_t count = 0;
	int r;

	if (!e || !mkdtemp(dir) || (r = ledger_open(dir, NULL, &l)) < 0) {
		fprintf(stderr, "bench-ledger: cannot set up %s\n", dir);
		return 1;
	}
	t = seconds();
	for (unsigned i = 0; i < n; i++)
		if ((r = ledger_append(l, e, NULL)) < 0)
			goto fail;
	report("append", n, seconds() - t);

	t = seconds();
	for (unsigned i = 0; i < n; i++)
		if ((r = ledger_issue(l, issue_cb, NULL, NULL, NULL)) < 0)
			goto fail;
	report("issue", n, seconds() - t);

	t = seconds();
	for (unsigned i = 0; i < n; i++) {
		snprintf(nonce, sizeof nonce, "bench-nonce-%08u", i);
		if ((r = ledger_nonce_claim(l, nonce, 1700000000 + i, 10)) < 0)
			goto fail;
	}
	report("nonce claim", n, seconds() - t);

	t = seconds();
	if ((r = ledger_verify(l, &count, NULL)) < 0)
		goto fail;
	report("verify", (unsigned)count, seconds() - t);
	r = 0;
fail:
	if (r < 0)
		fprintf(stderr, "bench-ledger: %s\n", jit_strerror(r));
	ledger_close(l);
	json_decref(e);
	snprintf(path, sizeof path, "%s/data.mdb", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/lock.mdb", dir);
	unlink(path);
	rmdir(dir);
	return r < 0;
}
