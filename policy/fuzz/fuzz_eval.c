/* SPDX-License-Identifier: ISC */
/*
 * fuzz_eval.c - the evaluator on arbitrary requests against one fixed policy that uses every
 * feature. Input: the request fields separated by newlines:
 *     user \n host \n login \n ttl_sec \n reason \n client_addr \n now
 * (missing fields are NULL / 0). Every decision must keep the invariants; it is also
 * rendered as text and JSON, and the open logins of the same user and host are listed.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char policy_yaml[] =
	"settings: {domain_suffix: .corp.example, default_ttl: 10m, max_ttl: 8h}\n"
	"users:\n"
	"  alice: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEiVwwp4b75fdHZLqmUE5PpOK7l+dEgrHtgqjwByOYXB]\n"
	"  bob: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPdVf8HkqMzRIYj28CuhLTekoyl0Lz7dy7d6PYuOhJLh]\n"
	"  carol: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHWOt+aDzdAmcpiDTpOHBWV4NL2jeWMXLwehRC2As9m1]\n"
	"  erin: {disabled: true}\n"
	"groups:\n"
	"  dev: [alice, bob]\n"
	"  ops: {users: [carol], groups: [dev]}\n"
	"hosts:\n"
	"  web-*: [web]\n"
	"  db-[0-9]: [db, prod]\n"
	"rules:\n"
	"  - {name: no-root-db, effect: deny, users: ['*'], host_labels: [db], logins: [root],\n"
	"     when: {days: [sat, sun], timezone: Europe/Berlin}}\n"
	"  - {name: self, groups: [dev], hosts: ['*'], logins: ['${user}'],\n"
	"     extensions: [permit-pty, permit-port-forwarding]}\n"
	"  - name: night\n"
	"    groups: [ops]\n"
	"    host_labels: [prod]\n"
	"    logins: [root, postgres]\n"
	"    max_ttl: 2h\n"
	"    when: [{days: [mon-fri], hours: '22:00-06:00', timezone: America/New_York}]\n"
	"  - name: db\n"
	"    users: [bob]\n"
	"    host_labels: [db]\n"
	"    logins: [postgres]\n"
	"    reason: {pattern: '^(OPS|INC)-[0-9]+'}\n"
	"    source_address: [10.0.0.0/8, client]\n"
	"    force_command: /usr/bin/psql\n"
	"  - {name: ask, groups: [ops], hosts: ['*'], logins: ['*'], reason: required,\n"
	"     approvals: {count: 1, from: [ops]}}\n";

static struct policy *policy;

/* The next newline-terminated field from @data at *@at, or NULL past the end. */
static char *field(const uint8_t *data, size_t size, size_t *at)
{
	const uint8_t *nl;
	size_t len;
	char *s;

	if (*at > size)
		return NULL;
	nl = memchr(data + *at, '\n', size - *at);
	len = nl ? (size_t)(nl - (data + *at)) : size - *at;
	s = strndup((const char *)data + *at, len);
	*at += len + 1;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t at = 0;
	char *f[7];
	struct policy_decision *d = NULL;

	if (!policy && policy_load_buffer("fuzz", policy_yaml, sizeof policy_yaml - 1, &policy,
					  NULL) < 0)
		abort();
	for (size_t i = 0; i < 7; i++)
		f[i] = field(data, size, &at);
	struct policy_request q = {
		.user = f[0], .host = f[1], .login = f[2],
		.ttl_sec = f[3] ? strtoull(f[3], NULL, 10) : 0,
		.reason = f[4], .client_addr = f[5],
		.now = f[6] ? strtoull(f[6], NULL, 10) : 0,
	};
	if (policy_eval(policy, &q, &d) != 0)
		abort();
	if (policy_decision_check(policy, &q, d) != 0 || !d->reason || !d->explanation)
		abort();
	if (d->verdict != POLICY_DENY && (d->n_principals != 1 || d->ttl_sec == 0 ||
					  d->ttl_sec > POLICY_TTL_HARD_CAP_SEC))
		abort();
	char *text = NULL;
	json_t *j = NULL;
	if (policy_explain_text(&q, d, &text) != 0 || policy_explain_json(&q, d, &j) != 0)
		abort();
	free(text);
	json_decref(j);
	policy_decision_free(d);
	struct policy_open_login *v = NULL;
	size_t n = 0;
	if (policy_open_logins(policy, q.user, q.host, q.client_addr, q.now, &v, &n) == 0) {
		if (policy_open_logins_text(v, n, &text) != 0 ||
		    policy_open_logins_json(v, n, &j) != 0)
			abort();
		free(text);
		json_decref(j);
		free(v);
	}
	for (size_t i = 0; i < 7; i++)
		free(f[i]);
	return 0;
}
