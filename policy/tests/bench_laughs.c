/* SPDX-License-Identifier: ISC */
/*
 * bench_laughs.c - benchmark (meson benchmark, never a test): how long loading a "billion
 * laughs" document (9 levels of 9 aliases: 10^9 strings if expanded) takes to be refused,
 * and how much memory the process needed beyond what it had (peak resident set, from
 * getrusage(2), measured around the first load before anything else grows the process).
 * Goal (issue 3): refused in under 50 ms with under 8 MiB of extra memory. The unit test
 * test_billion_laughs_is_refused_at_the_first_anchor asserts the refusal itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "err.h"
#include "policy.h"

#define ROUNDS 1000

static const char laughs[] =
	"a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	"b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
	"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
	"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
	"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
	"f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
	"g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
	"h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
	"i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long maxrss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Load @doc once; returns the load's result and its error text in @msg (first line). */
static int load(const char *doc, size_t len, char *msg, size_t size)
{
	struct policy *p = NULL;
	char *err = NULL;
	int r = policy_load_buffer("laughs.yaml", doc, len, &p, &err);

	snprintf(msg, size, "%s", err ? err : jit_strerror(r));
	msg[strcspn(msg, "\n")] = 0;
	free(err);
	policy_unref(p);
	return r;
}

int main(void)
{
	char msg[256];
	long rss0 = maxrss_kib(), rss1;
	double t0 = now_ms(), first, total;
	int r = load(laughs, sizeof laughs - 1, msg, sizeof msg);

	first = now_ms() - t0;
	rss1 = maxrss_kib();
	t0 = now_ms();
	for (int i = 0; i < ROUNDS; i++)
		load(laughs, sizeof laughs - 1, msg, sizeof msg);
	total = now_ms() - t0;
	printf("billion laughs (%zu bytes): %s: %s\n", sizeof laughs - 1,
	       r == JIT_E_POLICY ? "refused" : "NOT REFUSED", msg);
	printf("time: first load %.3f ms, mean of %d loads %.4f ms (goal: under 50 ms)\n", first,
	       ROUNDS, total / ROUNDS);
	printf("extra peak memory: %ld KiB (goal: under 8192 KiB)\n", rss1 - rss0);
	return r == JIT_E_POLICY ? 0 : 1;
}
