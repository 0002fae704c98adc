/* SPDX-License-Identifier: ISC */
/*
 * bench_eval.c - benchmark (meson benchmark, never a test): load the generated policy of
 * genpol.h (10,000 users, 1,000 rules) and time decisions against it, one thread; prints the
 * load time, the lint time, the time to list open logins, the mean, median and
 * 99th-percentile decision time, and the verdict mix. The goal (issue 3) is under 50 us per
 * decision.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "genpol.h"
#include "policy.h"

#define N_REQUESTS 4096
#define N_DECISIONS 100000

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(void)
{
	char *yaml = genpol_yaml(), *err = NULL;
	struct genpol_request *reqs = genpol_requests(N_REQUESTS);
	double *lat = calloc(N_DECISIONS, sizeof *lat), t0, total = 0;
	size_t verdicts[3] = {0}, expl_bytes = 0;
	struct policy *p = NULL;
	int r;

	if (!lat)
		return 1;
	t0 = now_us();
	r = policy_load_buffer("generated.yaml", yaml, strlen(yaml), &p, &err);
	if (r < 0) {
		fprintf(stderr, "load: %s\n%s\n", jit_strerror(r), err ? err : "");
		return 1;
	}
	printf("policy: %zu bytes, %d users, %d rules, loaded in %.1f ms\n", strlen(yaml),
	       GENPOL_USERS, GENPOL_RULES, (now_us() - t0) / 1e3);

	t0 = now_us();
	char *report = NULL;
	size_t n_lint = 0;
	if (policy_lint(p, &report, &n_lint) < 0)
		return 1;
	printf("lint: %zu rules that can never apply, found in %.1f ms\n", n_lint,
	       (now_us() - t0) / 1e3);
	free(report);

	t0 = now_us();
	size_t n_open = 0;
	for (size_t i = 0; i < N_REQUESTS; i++) {
		struct policy_open_login *v = NULL;
		size_t n = 0;
		if (policy_open_logins(p, reqs[i].user, reqs[i].host, "10.1.2.3", reqs[i].now, &v,
				       &n) < 0)
			return 1;
		n_open += n;
		free(v);
	}
	printf("open logins: %.2f us per user and host (%.1f entries on average)\n",
	       (now_us() - t0) / N_REQUESTS, (double)n_open / N_REQUESTS);

	for (size_t i = 0; i < N_DECISIONS; i++) {
		const struct genpol_request *g = &reqs[i % N_REQUESTS];
		struct policy_request q = {.user = g->user,
					   .host = g->host,
					   .login = g->login,
					   .reason = g->reason,
					   .client_addr = "10.1.2.3",
					   .now = g->now};
		struct policy_decision *d = NULL;
		double t = now_us();
		if (policy_eval(p, &q, &d) < 0)
			return 1;
		lat[i] = now_us() - t;
		total += lat[i];
		verdicts[d->verdict]++;
		expl_bytes += strlen(d->explanation);
		policy_decision_free(d);
	}
	qsort(lat, N_DECISIONS, sizeof *lat, cmp_double);
	printf("decisions: %d, mean %.2f us, median %.2f us, p99 %.2f us, max %.1f us "
	       "(goal: under 50 us)\n",
	       N_DECISIONS, total / N_DECISIONS, lat[N_DECISIONS / 2], lat[N_DECISIONS * 99 / 100],
	       lat[N_DECISIONS - 1]);
	printf("verdicts: %zu allowed, %zu need approval, %zu denied; explanation %.0f bytes on "
	       "average\n",
	       verdicts[POLICY_ALLOW], verdicts[POLICY_NEEDS_APPROVAL], verdicts[POLICY_DENY],
	       (double)expl_bytes / N_DECISIONS);
	policy_unref(p);
	free(lat);
	free(reqs);
	free(yaml);
	return 0;
}
