/* SPDX-License-Identifier: ISC */
/*
 * test_issue.c - deciding and issuing (issue.h) against a real policy and a real ledger in a
 * temporary directory: the certificate's principal, key ID, serial and validity; lifetime
 * caps; the "received", "decided" and "issued" records with their fields; denials recorded;
 * and no certificate when the ledger cannot record it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "cert.h"
#include "err.h"
#include "issue.h"
#include "ledger.h"
#include "policy.h"
#include "request.h"
#include "util.h"

#define NOW 1700000000ull
#define SKEW 60
#define REQUEST_ID "00112233445566778899aabbccddeeff"

struct fixture {
	char dir[64];
	struct ledger *ledger;
	struct policy *policy;
	struct key *ca;
	struct key *alice;
	struct key *session;
	char *ca_fp;
	struct signer signer;
	struct issue_ctx ctx;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char *alice_line = NULL, *text = NULL, *err = NULL;

	assert_non_null(f);
	strcpy(f->dir, "/tmp/jit-ca-issue-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(ledger_open(f->dir, NULL, &f->ledger), 0);
	assert_int_equal(key_generate(KEY_ED25519, 0, &f->ca), 0);
	assert_int_equal(key_generate(KEY_ED25519, 0, &f->alice), 0);
	assert_int_equal(key_generate(KEY_ED25519, 0, &f->session), 0);
	assert_int_equal(key_fingerprint(f->ca, &f->ca_fp), 0);
	assert_int_equal(key_to_line(f->alice, NULL, &alice_line), 0);
	assert_true(
		asprintf(&text,
			 "version: 1\n"
			 "settings:\n"
			 "  default_ttl: 15m\n"
			 "  max_ttl: 1h\n"
			 "users:\n"
			 "  alice:\n"
			 "    keys: [\"%s\"]\n"
			 "  bob:\n"
			 "    keys: [\"%s\"]\n"
			 "groups:\n"
			 "  approvers: [bob]\n"
			 "rules:\n"
			 "  - name: self\n"
			 "    users: [alice]\n"
			 "    hosts: [\"*\"]\n"
			 "    logins: [\"${user}\"]\n"
			 "  - name: deploy-with-approval\n"
			 "    users: [alice]\n"
			 "    hosts: [\"*\"]\n"
			 "    logins: [deploy]\n"
			 "    approvals:\n"
			 "      count: 1\n"
			 "      from: [approvers]\n",
			 alice_line,
			 "ssh-ed25519 "
			 "AAAAC3NzaC1lZDI1NTE5AAAAIGa3+J+UDTOkzUPGKzI6tJ90ptGnwCDZCzF031fEpkR/") >
		0);
	if (policy_load_buffer("test-policy", text, strlen(text), &f->policy, &err) < 0)
		fail_msg("policy: %s", err ? err : "?");
	f->signer = key_signer(f->ca);
	f->ctx = (struct issue_ctx){
		.policy = f->policy,
		.ledger = f->ledger,
		.ca = &f->signer,
		.ca_fingerprint = f->ca_fp,
		.skew_sec = SKEW,
		.max_ttl_sec = 3600,
	};
	free(alice_line);
	free(text);
	*state = f;
	return 0;
}

static void rmtree_ledger(const char *dir)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/data.mdb", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/lock.mdb", dir);
	unlink(p);
	rmdir(dir);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ledger_close(f->ledger);
	rmtree_ledger(f->dir);
	policy_unref(f->policy);
	key_free(f->ca);
	key_free(f->alice);
	key_free(f->session);
	free(f->ca_fp);
	free(f);
	return 0;
}

/* Issue a request by alice for @login on @host asking @ttl seconds, from @client_addr. */
static int issue_from(struct fixture *f, const char *host, const char *login, uint64_t ttl,
		      const char *client_addr, json_t **ret_body, struct request_error *e)
{
	struct request q = {
		.user = "alice",
		.host = (char *)host,
		.login = (char *)login,
		.public_key = f->session,
		.ttl_sec = ttl,
		.reason = "test",
		.timestamp = NOW,
		.nonce = "0123456789abcdef",
	};
	struct issue_input in = {
		.req = &q,
		.request_id = REQUEST_ID,
		.user_key_fp = "SHA256:requester",
		.client_addr = client_addr,
		.now = NOW,
	};
	uint64_t seq = 0;
	int r;

	*ret_body = NULL;
	memset(e, 0, sizeof(*e));
	r = issue_request(&f->ctx, &in, &seq, ret_body, e);
	if (r == 0)
		assert_true(seq > 0);
	return r;
}

static int issue_on(struct fixture *f, const char *host, const char *login, uint64_t ttl,
		    json_t **ret_body, struct request_error *e)
{
	return issue_from(f, host, login, ttl, "127.0.0.1", ret_body, e);
}

static int issue(struct fixture *f, const char *login, uint64_t ttl, json_t **ret_body,
		 struct request_error *e)
{
	return issue_on(f, "web-1", login, ttl, ret_body, e);
}

/* The request's records, and the one of @event among them (which must be there once). */
static json_t *story(struct fixture *f)
{
	json_t *events = NULL;

	assert_int_equal(ledger_request_events(f->ledger, REQUEST_ID, &events), 0);
	return events;
}

static const json_t *one_event(const json_t *events, const char *event)
{
	const json_t *found = NULL, *v;
	size_t i;

	json_array_foreach(events, i, v)
	{
		if (!strcmp(json_string_value(json_object_get(v, "event")), event)) {
			assert_null(found);
			found = v;
		}
	}
	assert_non_null(found);
	return found;
}

static const char *field(const json_t *rec, const char *name)
{
	const char *s = json_string_value(json_object_get(rec, name));

	assert_non_null(s);
	return s;
}

static struct cert *answer_cert(const json_t *body)
{
	struct cert *c = NULL;
	const char *line = json_string_value(json_object_get(body, "certificate"));

	assert_non_null(line);
	assert_int_equal(cert_from_line(line, &c), 0);
	return c;
}

static void test_allowed_request_gets_a_certificate_for_the_host_bound_principal(void **state)
{
	struct fixture *f = *state;
	struct request_error e;
	json_t *body;
	struct cert *c;

	assert_int_equal(issue(f, "alice", 0, &body, &e), 0);
	assert_int_equal(issue_answer_status(body), 201);
	assert_string_equal(json_string_value(json_object_get(body, "state")), "issued");
	assert_string_equal(json_string_value(json_object_get(body, "request_id")), REQUEST_ID);
	c = answer_cert(body);
	assert_int_equal(c->n_principals, 1);
	assert_string_equal(c->principals[0], "jit:web-1:alice");
	assert_string_equal(c->key_id,
			    "jit-ssh user=alice host=web-1 login=alice request=" REQUEST_ID);
	assert_string_equal(json_string_value(json_object_get(body, "key_id")), c->key_id);
	assert_int_equal((json_int_t)c->serial,
			 json_integer_value(json_object_get(body, "serial")));
	assert_true(key_equal_public(c->subject, f->session));
	assert_int_equal(cert_check(c, f->ca, NOW, "jit:web-1:alice"), 0);
	cert_free(c);
	json_decref(body);
}

static void test_validity_is_backdated_by_the_skew_and_the_lifetime_counts_from_now(void **state)
{
	struct fixture *f = *state;
	struct request_error e;
	json_t *body;
	struct cert *c;

	assert_int_equal(issue(f, "alice", 0, &body, &e), 0);
	c = answer_cert(body);
	assert_int_equal(c->valid_after, NOW - SKEW);
	assert_int_equal(c->valid_before, NOW + 15 * 60); /* the policy's default_ttl */
	assert_int_equal(json_integer_value(json_object_get(body, "valid_after")), NOW - SKEW);
	assert_int_equal(json_integer_value(json_object_get(body, "valid_before")), NOW + 900);
	cert_free(c);
	json_decref(body);
}

static void test_requested_lifetime_below_the_caps_is_granted(void **state)
{
	struct fixture *f = *state;
	struct request_error e;
	json_t *body;
	struct cert *c;

	assert_int_equal(issue(f, "alice", 120, &body, &e), 0);
	c = answer_cert(body);
	assert_int_equal(c->valid_before, NOW + 120);
	cert_free(c);
	json_decref(body);
}

static void test_requested_lifetime_over_the_policy_cap_is_capped(void **state)
{
	struct fixture *f = *state;
	struct request_error e;
	json_t *body;
	struct cert *c;

	assert_int_equal(issue(f, "alice", 100000, &body, &e), 0);
	c = answer_cert(body);
	assert_int_equal(c->valid_before, NOW + 3600);
	cert_free(c);
	json_decref(body);
}

static void test_config_maximum_caps_the_lifetime_below_the_policy(void **state)
{
	struct fixture *f = *state;
	struct request_error e;
	json_t *body;
	struct cert *c;

	f->ctx.max_ttl_sec = 300;
	assert_int_equal(issue(f, "alice", 0, &body, &e), 0);
	c = answer_cert(body);
	assert_int_equal(c->valid_before, NOW + 300);
	assert_int_equal(c->valid_after, NOW - SKEW);
	cert_free(c);
	json_decref(body);
}

static void test_each_issuance_gets_a_new_serial(void **state)
{
	struct fixture *f = *state;
	struct request_error e;
	json_t *b1, *b2;

	assert_int_equal(issue(f, "alice", 0, &b1, &e), 0);
	assert_int_equal(issue(f, "alice", 0, &b2, &e), 0);
	assert_true(json_integer_value(json_object_get(b1, "serial")) > 0);
	assert_true(json_integer_value(json_object_get(b1, "serial")) !=
		    json_integer_value(json_object_get(b2, "serial")));
	json_decref(b1);
	json_decref(b2);
}

static void test_allowed_request_is_recorded_as_received_decided_issued_in_order(void **state)
{
	struct fixture *f = *state;
	struct request_error e;
	json_t *body, *events;

	assert_int_equal(issue(f, "alice", 0, &body, &e), 0);
	events = story(f);
	assert_int_equal(json_array_size(events), 3);
	assert_string_equal(field(json_array_get(events, 0), "event"), "received");
	assert_string_equal(field(json_array_get(events, 1), "event"), "decided");
	assert_string_equal(field(json_array_get(events, 2), "event"), "issued");
	json_decref(events);
	json_decref(body);
}

static void test_every_record_names_time_request_user_host_and_login(void **state)
{
	struct fixture *f = *state;
	struct request_error e;
	json_t *body, *events, *rec;
	size_t i;

	assert_int_equal(issue(f, "alice", 0, &body, &e), 0);
	events = story(f);
	json_array_foreach(events, i, rec)
	{
		assert_int_equal(json_integer_value(json_object_get(rec, "time")), NOW);
		assert_string_equal(field(rec, "request_id"), REQUEST_ID);
		assert_string_equal(field(rec, "user"), "alice");
		assert_string_equal(field(rec, "host"), "web-1");
		assert_string_equal(field(rec, "login"), "alice");
	}
	json_decref(events);
	json_decref(body);
}

static void test_received_record_holds_what_the_requester_asked(void **state)
{
	struct fixture *f = *state;
	struct request_error e;
	json_t *body, *events;
	const json_t *rec;

	assert_int_equal(issue(f, "alice", 120, &body, &e), 0);
	events = story(f);
	rec = one_event(events, "received");
	assert_string_equal(field(rec, "requesting_key"), "SHA256:requester");
	assert_int_equal(json_integer_value(json_object_get(rec, "ttl_seconds")), 120);
	assert_string_equal(field(rec, "reason"), "test");
	assert_string_equal(field(rec, "client_address"), "127.0.0.1");
	assert_string_equal(field(rec, "nonce"), "0123456789abcdef");
	json_decref(events);
	json_decref(body);
}

static void test_decided_record_names_decision_rule_reason_and_policy_version(void **state)
{
	struct fixture *f = *state;
	struct request_error e;
	json_t *body, *events;
	const json_t *rec;

	assert_int_equal(issue(f, "alice", 0, &body, &e), 0);
	events = story(f);
	rec = one_event(events, "decided");
	assert_string_equal(field(rec, "decision"), "allowed");
	assert_string_equal(field(rec, "rule"), "self");
	assert_true(strlen(field(rec, "reason")) > 0);
	assert_string_equal(field(rec, "policy_version"), policy_version(f->policy));
	json_decref(events);
	json_decref(body);
}

static void test_issued_record_holds_the_certificate_and_its_facts(void **state)
{
	struct fixture *f = *state;
	struct request_error e;
	json_t *body, *events;
	const json_t *rec;
	char *session_fp = NULL;
	struct cert *c;

	assert_int_equal(issue(f, "alice", 0, &body, &e), 0);
	c = answer_cert(body);
	assert_int_equal(key_fingerprint(f->session, &session_fp), 0);
	events = story(f);
	rec = one_event(events, "issued");
	assert_true(json_equal(json_object_get(rec, "certificate"),
			       json_object_get(body, "certificate")));
	assert_true(json_equal(json_object_get(rec, "serial"), json_object_get(body, "serial")));
	assert_true(json_equal(json_object_get(rec, "principals"),
			       json_object_get(body, "principals")));
	assert_string_equal(field(rec, "key_id"), c->key_id);
	assert_int_equal(json_integer_value(json_object_get(rec, "valid_after")), c->valid_after);
	assert_int_equal(json_integer_value(json_object_get(rec, "valid_before")), c->valid_before);
	assert_string_equal(field(rec, "certified_key"), session_fp);
	assert_string_equal(field(rec, "ca_key"), f->ca_fp);
	assert_string_equal(field(rec, "rule"), "self");
	assert_string_equal(field(rec, "policy_version"), policy_version(f->policy));
	assert_string_equal(field(rec, "requesting_key"), "SHA256:requester");
	assert_string_equal(field(rec, "reason"), "test");
	assert_string_equal(field(rec, "client_address"), "127.0.0.1");
	assert_string_equal(field(json_object_get(rec, "extensions"), "permit-pty"), "");
	assert_int_equal(json_object_size(json_object_get(rec, "extensions")), 1);
	assert_true(json_is_object(json_object_get(rec, "critical_options")));
	assert_int_equal(json_object_size(json_object_get(rec, "critical_options")), 0);
	cert_free(c);
	free(session_fp);
	json_decref(events);
	json_decref(body);
}

static void test_host_is_recorded_normalised(void **state)
{
	struct fixture *f = *state;
	struct request_error e;
	json_t *body, *events, *rec;
	size_t i;

	assert_int_equal(issue_on(f, "WEB-1.", "alice", 0, &body, &e), 0);
	assert_int_equal(issue_answer_status(body), 201);
	events = story(f);
	json_array_foreach(events, i, rec)
	{
		assert_string_equal(field(rec, "host"), "web-1");
	}
	json_decref(events);
	json_decref(body);
}

static void test_answer_rebuilt_from_the_ledger_equals_the_first_answer(void **state)
{
	struct fixture *f = *state;
	struct request_error e;
	json_t *body, *events, *again;

	assert_int_equal(issue(f, "alice", 0, &body, &e), 0);
	assert_int_equal(ledger_request_events(f->ledger, REQUEST_ID, &events), 0);
	assert_int_equal(issue_answer_from_events(events, &again), 0);
	assert_true(json_equal(body, again));
	json_decref(again);
	json_decref(events);
	json_decref(body);
}

static void test_denied_request_is_answered_with_a_reason_and_recorded(void **state)
{
	struct fixture *f = *state;
	struct request_error e;
	json_t *body, *events, *again;
	const json_t *rec;

	assert_int_equal(issue(f, "root", 0, &body, &e), 0);
	assert_int_equal(issue_answer_status(body), 403);
	assert_string_equal(json_string_value(json_object_get(body, "state")), "denied");
	assert_true(strlen(json_string_value(json_object_get(body, "reason"))) > 0);
	assert_null(json_object_get(body, "certificate"));
	events = story(f);
	assert_int_equal(json_array_size(events), 2);
	one_event(events, "received");
	rec = one_event(events, "decided");
	assert_string_equal(field(rec, "decision"), "denied");
	assert_true(json_is_null(json_object_get(rec, "rule")));
	assert_string_equal(field(rec, "reason"),
			    json_string_value(json_object_get(body, "reason")));
	assert_int_equal(issue_answer_from_events(events, &again), 0);
	assert_true(json_equal(body, again));
	json_decref(again);
	json_decref(events);
	json_decref(body);
}

static void test_rule_needing_approval_is_denied_saying_so(void **state)
{
	struct fixture *f = *state;
	struct request_error e;
	json_t *body, *events, *again;

	assert_int_equal(issue(f, "deploy", 0, &body, &e), 0);
	assert_int_equal(issue_answer_status(body), 403);
	assert_non_null(strstr(json_string_value(json_object_get(body, "reason")), "approval"));
	assert_string_equal(json_string_value(json_object_get(body, "rule")),
			    "deploy-with-approval");
	events = story(f);
	assert_string_equal(field(one_event(events, "decided"), "decision"), "needs_approval");
	assert_int_equal(issue_answer_from_events(events, &again), 0);
	assert_true(json_equal(body, again));
	json_decref(again);
	json_decref(events);
	json_decref(body);
}

static void test_allowed_request_without_issued_record_has_no_answer(void **state)
{
	json_t *events, *answer = NULL;

	(void)state;
	events = json_pack("[{s:s, s:s}, {s:s, s:s, s:s}]", "event", "received", "request_id",
			   REQUEST_ID, "event", "decided", "request_id", REQUEST_ID, "decision",
			   "allowed");
	assert_non_null(events);
	assert_int_equal(issue_answer_from_events(events, &answer), JIT_E_NOT_FOUND);
	assert_null(answer);
	json_decref(events);
}

/* issue.h: @client_addr may be NULL (the listener could not tell); issuance goes on. */
static void test_a_request_without_a_client_address_is_issued_and_recorded(void **state)
{
	struct fixture *f = *state;
	struct request_error e;
	json_t *body, *events;
	const json_t *rec;

	assert_int_equal(issue_from(f, "web-1", "alice", 0, NULL, &body, &e), 0);
	assert_int_equal(issue_answer_status(body), 201);
	events = story(f);
	rec = one_event(events, "issued");
	assert_true(json_is_null(json_object_get(rec, "client_address")));
	rec = one_event(events, "received");
	assert_true(json_is_null(json_object_get(rec, "client_address")));
	json_decref(events);
	json_decref(body);
}

/* A deny rule naming many logins: the answer lists ISSUE_DENIED_MAX and counts the rest. */
static void test_explain_lists_at_most_the_limit_of_denied_logins_and_counts_the_rest(void **state)
{
	struct policy_open_login v[ISSUE_DENIED_MAX + 5];
	json_t *jo = NULL, *jd = NULL;
	size_t more = 0;
	char names[ISSUE_DENIED_MAX + 5][16];

	(void)state;
	memset(v, 0, sizeof v);
	for (size_t i = 0; i < ELEMENTSOF(v); i++) {
		snprintf(names[i], sizeof names[i], "sys%03zu", i);
		v[i].login = names[i];
		v[i].verdict = POLICY_DENY;
		v[i].rule = "no-system-accounts";
	}
	v[3].verdict = POLICY_ALLOW; /* one open login among them */
	v[3].rule = "bg";
	assert_int_equal(issue_open_logins_json(v, ELEMENTSOF(v), &jo, &jd, &more), 0);
	assert_int_equal(json_array_size(jo), 1);
	assert_int_equal(json_array_size(jd), ISSUE_DENIED_MAX);
	assert_int_equal(more, ELEMENTSOF(v) - 1 - ISSUE_DENIED_MAX);
	assert_string_equal(json_string_value(json_object_get(json_array_get(jd, 0), "login")),
			    "sys000");
	json_decref(jo);
	json_decref(jd);
}

static void test_cancelled_request_answers_cancelled(void **state)
{
	json_t *events, *answer = NULL;

	(void)state;
	events = json_pack("[{s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s}]", "event", "received",
			   "request_id", REQUEST_ID, "event", "decided", "request_id", REQUEST_ID,
			   "decision", "allowed", "event", "cancelled", "request_id", REQUEST_ID,
			   "last_event", "decided");
	assert_non_null(events);
	assert_int_equal(issue_answer_from_events(events, &answer), 0);
	assert_string_equal(json_string_value(json_object_get(answer, "state")), "cancelled");
	assert_string_equal(json_string_value(json_object_get(answer, "request_id")), REQUEST_ID);
	assert_non_null(strstr(json_string_value(json_object_get(answer, "reason")),
			       "nothing was issued"));
	assert_int_equal(issue_answer_status(answer), 410);
	json_decref(answer);
	json_decref(events);
}

static void test_first_version_denied_record_still_answers(void **state)
{
	json_t *events, *answer = NULL;

	(void)state;
	events = json_pack("[{s:s, s:s, s:s, s:n}]", "event", "denied", "request_id", REQUEST_ID,
			   "decision", "no rule allows it", "rule");
	assert_non_null(events);
	assert_int_equal(issue_answer_from_events(events, &answer), 0);
	assert_string_equal(json_string_value(json_object_get(answer, "state")), "denied");
	assert_string_equal(json_string_value(json_object_get(answer, "reason")),
			    "no rule allows it");
	json_decref(answer);
	json_decref(events);
}

static void test_no_certificate_leaves_when_the_ledger_cannot_record_it(void **state)
{
	struct fixture *f = *state;
	struct ledger_options ro = {.read_only = 1};
	struct ledger *ledger = f->ledger;
	struct request_error e;
	uint64_t before = 0, after = 0;
	json_t *body;

	/* The same ledger, reopened read-only: every append fails. */
	assert_int_equal(ledger_count(ledger, &before), 0);
	ledger_close(ledger);
	assert_int_equal(ledger_open(f->dir, &ro, &f->ledger), 0);
	f->ctx.ledger = f->ledger;
	assert_int_not_equal(issue(f, "alice", 0, &body, &e), 0);
	assert_null(body);
	assert_int_equal(e.status, 503);
	assert_string_equal(e.code, "ledger_unavailable");
	assert_int_not_equal(issue(f, "root", 0, &body, &e), 0);
	assert_null(body);
	assert_int_equal(e.status, 503);
	assert_int_equal(ledger_count(f->ledger, &after), 0);
	assert_int_equal(after, before);
}

/* A policy where one rule lets alice be any login and a deny rule forbids root. */
static struct policy *star_and_deny_policy(void)
{
	static const char yaml[] =
		"settings: {max_ttl: 2h}\n"
		"users:\n"
		"  alice: [\"ssh-ed25519 "
		"AAAAC3NzaC1lZDI1NTE5AAAAIGa3+J+UDTOkzUPGKzI6tJ90ptGnwCDZCzF031fEpkR/\"]\n"
		"rules:\n"
		"  - name: no-root\n"
		"    effect: deny\n"
		"    users: ['*']\n"
		"    hosts: ['*']\n"
		"    logins: [root]\n"
		"  - name: bg\n"
		"    users: [alice]\n"
		"    hosts: ['*']\n"
		"    logins: ['*']\n"
		"    max_ttl: 2h\n";
	struct policy *p = NULL;
	char *err = NULL;

	if (policy_load_buffer("star.yaml", yaml, strlen(yaml), &p, &err) < 0)
		fail_msg("policy: %s", err ? err : "?");
	return p;
}

/* Regression: issue_explain() dropped the denied entries, so `policy explain` and
 * POST /v1/explain listed only "*  allowed (rule 'bg')" while root was denied. */
static void test_explain_lists_a_login_a_deny_rule_forbids_next_to_a_star_login(void **state)
{
	struct policy *p = star_and_deny_policy();
	struct policy_request pr = {.user = "alice", .host = "web-1", .login = "admin", .now = NOW};
	struct policy_decision *d = NULL;
	struct policy_open_login *open = NULL;
	json_t *jo = NULL, *jd = NULL;
	char *text = NULL;
	size_t n = 0, more = 99;

	(void)state;
	assert_int_equal(issue_explain(p, &pr, 3600, &d, &open, &n), 0);
	assert_int_equal(d->verdict, POLICY_ALLOW);
	assert_string_equal(d->rule, "bg");
	assert_int_equal(n, 2);
	assert_string_equal(open[0].login, "root");
	assert_int_equal(open[0].verdict, POLICY_DENY);
	assert_string_equal(open[0].rule, "no-root");
	assert_string_equal(open[1].login, "*");
	assert_int_equal(open[1].verdict, POLICY_ALLOW);
	assert_string_equal(open[1].rule, "bg");
	assert_int_equal(open[1].max_ttl_sec, 3600); /* the CA's cap under the rule's 2h */
	assert_int_equal(policy_open_logins_text(open, n, &text), 0);
	assert_non_null(strstr(text, "root  denied (rule 'no-root')\n"));
	assert_non_null(strstr(text, "*     allowed for up to 1h"));
	/* the JSON answer: "*" open, root in "denied" */
	assert_int_equal(issue_open_logins_json(open, n, &jo, &jd, &more), 0);
	assert_int_equal(more, 0);
	assert_int_equal(json_array_size(jo), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(jo, 0), "login")),
			    "*");
	assert_int_equal(json_array_size(jd), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(jd, 0), "login")),
			    "root");
	assert_string_equal(json_string_value(json_object_get(json_array_get(jd, 0), "verdict")),
			    "denied");
	assert_string_equal(json_string_value(json_object_get(json_array_get(jd, 0), "rule")),
			    "no-root");
	json_decref(jo);
	json_decref(jd);
	free(text);
	free(open);
	policy_decision_free(d);
	policy_unref(p);
}

static void test_explain_of_the_forbidden_login_itself_is_a_denial_by_the_deny_rule(void **state)
{
	struct policy *p = star_and_deny_policy();
	struct policy_request pr = {.user = "alice", .host = "web-1", .login = "root", .now = NOW};
	struct policy_decision *d = NULL;
	struct policy_open_login *open = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(issue_explain(p, &pr, 0, &d, &open, &n), 0);
	assert_int_equal(d->verdict, POLICY_DENY);
	assert_string_equal(d->rule, "no-root");
	assert_int_equal(d->ttl_sec, 0);
	assert_int_equal(n, 2);
	assert_int_equal(open[1].max_ttl_sec, 7200); /* no CA cap: the rule's */
	free(open);
	policy_decision_free(d);
	policy_unref(p);
}

static void test_explain_on_an_invalid_host_is_a_denial_with_nothing_open(void **state)
{
	struct policy *p = star_and_deny_policy();
	struct policy_request pr = {
		.user = "alice", .host = "web-1..example.com", .login = "admin", .now = NOW};
	struct policy_decision *d = NULL;
	struct policy_open_login *open = NULL;
	size_t n = 1;

	(void)state;
	assert_int_equal(issue_explain(p, &pr, 0, &d, &open, &n), 0);
	assert_int_equal(d->verdict, POLICY_DENY);
	assert_null(d->host);
	assert_int_equal(n, 0);
	free(open);
	policy_decision_free(d);
	policy_unref(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_allowed_request_gets_a_certificate_for_the_host_bound_principal),
		T(test_validity_is_backdated_by_the_skew_and_the_lifetime_counts_from_now),
		T(test_requested_lifetime_below_the_caps_is_granted),
		T(test_requested_lifetime_over_the_policy_cap_is_capped),
		T(test_config_maximum_caps_the_lifetime_below_the_policy),
		T(test_each_issuance_gets_a_new_serial),
		T(test_allowed_request_is_recorded_as_received_decided_issued_in_order),
		T(test_every_record_names_time_request_user_host_and_login),
		T(test_received_record_holds_what_the_requester_asked),
		T(test_decided_record_names_decision_rule_reason_and_policy_version),
		T(test_issued_record_holds_the_certificate_and_its_facts),
		T(test_host_is_recorded_normalised),
		T(test_answer_rebuilt_from_the_ledger_equals_the_first_answer),
		T(test_denied_request_is_answered_with_a_reason_and_recorded),
		T(test_rule_needing_approval_is_denied_saying_so),
		T(test_allowed_request_without_issued_record_has_no_answer),
		T(test_a_request_without_a_client_address_is_issued_and_recorded),
		T(test_explain_lists_at_most_the_limit_of_denied_logins_and_counts_the_rest),
		T(test_cancelled_request_answers_cancelled),
		T(test_first_version_denied_record_still_answers),
		T(test_no_certificate_leaves_when_the_ledger_cannot_record_it),
#undef T
		cmocka_unit_test(
			test_explain_lists_a_login_a_deny_rule_forbids_next_to_a_star_login),
		cmocka_unit_test(
			test_explain_of_the_forbidden_login_itself_is_a_denial_by_the_deny_rule),
		cmocka_unit_test(test_explain_on_an_invalid_host_is_a_denial_with_nothing_open),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
