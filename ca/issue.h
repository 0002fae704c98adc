/* SPDX-License-Identifier: ISC */
/*
 * issue.h - decide an authenticated request and, when policy allows, issue its certificate.
 *
 * Order (docs/design/ca.md): policy_eval() -> build the certificate (principals, key ID,
 * validity, options from the decision) -> ledger_issue(): the serial is allocated, the
 * certificate signed with it and its record committed in one durable transaction -> only
 * then is the certificate put into the answer. A denial is appended as a "denied" record.
 *
 * Key ID: "jit-ssh user=<user> host=<host> login=<login> request=<request_id>".
 *
 * Ledger record fields written here (ledger.h adds seq, prev, v):
 *   event            "issued" | "denied"
 *   time             seconds since the epoch
 *   request_id, user, host (normalised), login, client_addr
 *   user_key         SHA256 fingerprint of the key that signed the request
 *   subject_key      SHA256 fingerprint of the key to certify
 *   ttl_requested    seconds (0 = rule default)
 *   reason           the requester's reason, or null
 *   decision         the policy's one-line reason
 *   rule             the deciding rule, or null
 *   policy_version   policy_version()
 * and for "issued" also serial, principals, valid_after, valid_before, key_id,
 * ca_key (SHA256 fingerprint) and certificate (the *-cert.pub line).
 */
#pragma once

#include <jansson.h>

#include "key.h"
#include "ledger.h"
#include "policy.h"
#include "request.h"

/* Longest key ID built, bytes (within CERT_KEY_ID_LEN_MAX). */
#define ISSUE_KEY_ID_MAX 512

/**
 * struct issue_ctx - what issuing needs (all borrowed; must outlive the calls)
 * @policy, @ledger: the loaded policy and the open ledger
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
 * issue_request() - Decide @in and answer it
 * @ret_seq:  the seq of the ledger record written for the answer
 * @ret_body: new JSON answer (json_decref()): the 201 shape {"request_id","state":"issued",
 *            "certificate","serial","principals","valid_after","valid_before","key_id"} or
 *            the 403 shape {"request_id","state":"denied","reason","rule"}
 * @ret_error: filled on failure
 * Lifetime = min(decision ttl_sec, requested ttl when non-zero, @ctx->max_ttl_sec).
 * Errors: JIT_E_LEDGER / JIT_E_LEDGER_FULL (503 ledger_unavailable: nothing was issued),
 * other codes (500 internal). No certificate exists outside the ledger on failure.
 */
int issue_request(const struct issue_ctx *ctx, const struct issue_input *in, uint64_t *ret_seq,
		  json_t **ret_body, struct request_error *ret_error);

/**
 * issue_answer_from_events() - The answer for GET /v1/requests/{id} from the request's
 * ledger records (ledger_request_events()): the last "issued" or "denied" record, in the
 * same shapes as issue_request()
 * @events: borrowed JSON array
 * @ret:    new JSON answer
 * Errors: JIT_E_NOT_FOUND when no record decides the request, -ENOMEM.
 */
int issue_answer_from_events(const json_t *events, json_t **ret);

/**
 * issue_answer_status() - HTTP status of an answer: 201 for "issued", 403 for "denied"
 */
unsigned issue_answer_status(const json_t *answer);
