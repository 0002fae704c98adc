/* SPDX-License-Identifier: ISC */
/*
 * fuzz_load.c - the policy loader (YAML tree, validation, canonical form) on arbitrary bytes.
 * A document that loads is also evaluated once, linted (rules that can never apply) and
 * asked for open logins, so the loaded and indexed structures are exercised.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy *p = NULL;
	char *err = NULL;
	int r = policy_load_buffer("fuzz.yaml", (const char *)data, size, &p, &err);

	if (r == 0) {
		struct policy_request q = { .user = "alice", .host = "web-1", .login = "root",
					    .reason = "T-1", .client_addr = "10.0.0.1",
					    .now = 1709546400 };
		struct policy_decision *d = NULL;
		if (policy_eval(p, &q, &d) == 0 && policy_decision_check(p, &q, d) != 0)
			abort();
		policy_decision_free(d);
		if (!policy_version(p))
			abort();
		char *report = NULL;
		size_t n = 0;
		if (policy_lint(p, &report, &n) == 0 && (n > 0) != (report != NULL))
			abort();
		free(report);
		struct policy_open_login *v = NULL;
		if (policy_open_logins(p, "alice", "web-1", "10.0.0.1", 1709546400, &v, &n) == 0)
			for (size_t i = 0; i < n; i++)
				if (!v[i].login || (v[i].verdict != POLICY_DENY && !v[i].rule))
					abort();
		free(v);
	} else if ((r == JIT_E_POLICY) != (err != NULL)) {
		abort(); /* an invalid document always says why, and only then */
	}
	policy_unref(p);
	free(err);
	return 0;
}
