/* SPDX-License-Identifier: ISC */
/*
 * issue.h - decide an authenticated request, record its story in the ledger and, when
 * policy allows, issue its certificate.
 *
 * Order (docs/design/ca.md): policy_eval() -> ledger_append("received") ->
 * ledger_append("decided") -> when allowed: build the certificate (principals, key ID,
 * validity, options from the decision) -> ledger_issue(): the serial is allocated, the
 * certificate signed with it and the "issued" record committed in one durable transaction
 * -> only then is the certificate put into the answer. Each append is durable before the
 * next step; a record that cannot be written stops the request with 503 and nothing issued.
 *
 * Key ID: "jit-ssh user=<user> host=<host> login=<login> request=<request_id>".
 *
 * Ledger records written here (WAVE2 contract; ledger.h adds seq, prev, v, hash). Every one
 * has "event", "time" (seconds since the epoch), "request_id", "user", "host" (normalised by
 * the policy), "login", and:
 *   received  requesting_key (SHA256 fingerprint of the key that signed the request),
 *             ttl_seconds (asked; 0 = rule default), reason (or null), client_address (or
 *             null), nonce
 *   decided   decision ("denied" | "allowed" | "needs_approval"), reason (the decision's
 *             reason line), rule (or null), policy_version
 *   issued    serial, key_id, principals, valid_after, valid_before, certified_key,
 *             ca_key (SHA256 fingerprints), certificate (the *-cert.pub line), extensions
 *             and critical_options (objects name -> value, "" for none), rule,
 *             policy_version, and again requesting_key, reason and client_address (as in
 *             "received"), so the one record answers for the certificate
 */
#pragma once

#include <jansson.h>

#include "key.h"
#include "ledger.h"
#include "policy.h"
#include "request.h"

/* Longest key ID built, bytes (within CERT_KEY_ID_LEN_MAX). */
#define ISSUE_KEY_ID_MAX 512

/* Ledger event names written by the CA. */
#define ISSUE_EVENT_RECEIVED "received"
#define ISSUE_EVENT_DECIDED "decided"
#define ISSUE_EVENT_ISSUED "issued"
/* Most "denied" entries an explain answer lists (the rest are counted in "denied_more"), so
 * a deny rule naming many logins keeps the answer far below the client's body limit. */
#define ISSUE_DENIED_MAX 64

/**
 * struct issue_ctx - what issuing needs (all borrowed; must outlive the calls)
 * @policy, @ledger: the policy this request is decided under (a reference the caller holds
 *                  for the whole call) and the open ledger
 * @ca:             signer for the CA key (key_signer())
 * @ca_fingerprint: SHA256 fingerprint of the CA key
 * @skew_sec:       valid_after = now - @skew_sec
 * @max_ttl_sec:    global cap on lifetimes
 */
struct issue_ctx {
	const struct policy *policy;
	struct ledger *ledger;
	const struct signer *ca;
	const char *ca_fingerprint;
	uint64_t skew_sec;
	uint64_t max_ttl_sec;
};

/**
 * struct issue_input - one authenticated request (all borrowed)
 * @user_key_fp: fingerprint of the key that signed it
 * @client_addr: requester's IP address as text, or NULL
 * @now:         seconds since the epoch, UTC
 */
struct issue_input {
	const struct request *req;
	const char *request_id;
	const char *user_key_fp;
	const char *client_addr;
	uint64_t now;
};

/**
 * issue_request() - Decide @in, record it and answer it
 * @ret_seq:  the seq of the last ledger record written for the answer
 * @ret_body: new JSON answer (json_decref()): the 201 shape {"request_id","state":"issued",
 *            "certificate","serial","principals","valid_after","valid_before","key_id"} or
 *            the 403 shape {"request_id","state":"denied","reason","rule"}
 * @ret_error: filled on failure
 * Lifetime = min(decision ttl_sec, requested ttl when non-zero, @ctx->max_ttl_sec).
 * A decision "needs_approval" is answered 403: this CA does not take approvals yet
 * (issue_approval_text()).
 * Errors: JIT_E_LEDGER / JIT_E_LEDGER_FULL / JIT_E_LEDGER_CORRUPT (503 ledger_unavailable:
 * nothing was issued; records already written stay), JIT_E_EXPIRED (409 request_cancelled:
 * the ledger's sweep cancelled the request before its certificate was recorded; nothing was
 * issued), other codes (500 internal). No
 * certificate exists outside the ledger on failure.
 */
int issue_request(const struct issue_ctx *ctx, const struct issue_input *in, uint64_t *ret_seq,
		  json_t **ret_body, struct request_error *ret_error);

/**
 * issue_explain() - What issue_request() would decide for @pr, and which logins are open to
 * the requester on that host, recording nothing (POST /v1/explain, `policy explain`)
 * @p:           the policy (borrowed)
 * @pr:          the request (borrowed)
 * @max_ttl_sec: the CA's cap on lifetimes (config max_ttl_sec), 0 = none
 * @ret_d:       new decision (policy_decision_free()); for an allowing decision ttl_sec is
 *               the lifetime issue_request() would grant: min(rule, @pr->ttl_sec when
 *               non-zero, @max_ttl_sec)
 * @ret_open, @ret_n: new array (free()) of what each login the rules for the requester name
 *               on that host gives now, exactly policy_open_logins(): allowed, needing
 *               approval, and denied (by a deny rule, or because no rule's conditions can
 *               hold) -- so a "*" entry never hides the logins a deny rule forbids; sorted
 *               by login, "*" last; lifetimes capped at @max_ttl_sec; strings borrowed
 *               from @p
 * Errors: -ENOMEM (an invalid host gives a denial and no open logins, not an error).
 * On error nothing is returned.
 */
int issue_explain(const struct policy *p, const struct policy_request *pr, uint64_t max_ttl_sec,
		  struct policy_decision **ret_d, struct policy_open_login **ret_open,
		  size_t *ret_n);

/**
 * issue_open_logins_json() - issue_explain()'s entries as the two JSON arrays of the explain
 * answers (POST /v1/explain, `policy explain --json`; docs/api.md)
 * @v, @n:       the entries (borrowed)
 * @ret_open:    new array (json_decref()): the entries allowed or needing approval, in the
 *               shape of policy_open_logins_json()
 * @ret_denied:  new array: the denied entries, same shape ("verdict": "denied"; "rule" the
 *               deny rule, or null when no rule's conditions can hold; lifetimes 0), at most
 *               ISSUE_DENIED_MAX of them (the first, in the policy's order)
 * @ret_denied_more: how many denied entries were left out past ISSUE_DENIED_MAX
 * Errors: -ENOMEM; on error nothing is returned.
 */
int issue_open_logins_json(const struct policy_open_login *v, size_t n, json_t **ret_open,
			   json_t **ret_denied, size_t *ret_denied_more);

/**
 * issue_approval_text() - The 403 reason given for a decision that needs approval
 * @rule: the deciding rule, or NULL
 * @ret:  new string
 * Errors: -ENOMEM.
 */
int issue_approval_text(const char *rule, char **ret);

/**
 * issue_answer_from_events() - The answer for GET /v1/requests/{id} from the request's
 * ledger records (ledger_request_events()), in the same shapes as issue_request(): the
 * "issued" record if there is one, else {"request_id", "state": "cancelled", "reason"} when
 * the ledger's sweep cancelled it (ledger_sweep()), else the "decided" record when it did
 * not allow (and the "denied" records of ledgers written before these events existed)
 * @events: borrowed JSON array
 * @ret:    new JSON answer
 * Errors: JIT_E_NOT_FOUND when no record answers the request (e.g. it was allowed but the
 * certificate could not be recorded), -ENOMEM.
 */
int issue_answer_from_events(const json_t *events, json_t **ret);

/**
 * issue_answer_status() - HTTP status of an answer: 201 for "issued", 410 for "cancelled",
 * 403 for "denied"
 */
unsigned issue_answer_status(const json_t *answer);
