/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert.h"
#include "err.h"
#include "issue.h"
#include "util.h"

#define INTERNAL(e, r, what)                                                                       \
	request_error_set(e, r, 500, "internal", "%s: %s", what, jit_strerror(r))

/* The fields every record of this request carries. */
static json_t *base_record(const struct issue_input *in, const struct policy_decision *d,
			   const char *event)
{
	const struct request *q = in->req;

	/* clang-format off */
	return json_pack("{s:s, s:I, s:s, s:s, s:s, s:s}",
			 "event", event,
			 "time", (json_int_t)in->now,
			 "request_id", in->request_id,
			 "user", q->user,
			 "host", d->host ? d->host : q->host,
			 "login", q->login);
	/* clang-format on */
}

static const char *decision_version(const struct issue_ctx *ctx, const struct policy_decision *d)
{
	return d->policy_version ? d->policy_version : policy_version(ctx->policy);
}

static int append(const struct issue_ctx *ctx, json_t *rec, uint64_t *ret_seq,
		  struct request_error *e)
{
	int r;

	if (!rec)
		return INTERNAL(e, -ENOMEM, "building the ledger record");
	if ((r = ledger_append(ctx->ledger, rec, ret_seq)) == JIT_E_EXPIRED)
		return request_error_set(e, r, 409, "request_cancelled",
					 "the request took too long and the ledger has cancelled "
					 "it, so it gets no answer; send a new request");
	if (r < 0)
		return request_error_set(e, r, 503, "ledger_unavailable",
					 "the ledger cannot record the request: %s",
					 jit_strerror(r));
	return 0;
}

/* "received" then "decided", each durable before the next. */
static int record_decision(const struct issue_ctx *ctx, const struct issue_input *in,
			   const struct policy_decision *d, uint64_t *ret_seq,
			   struct request_error *e)
{
	const struct request *q = in->req;
	_cleanup_(json_decrefp) json_t *received = NULL;
	_cleanup_(json_decrefp) json_t *decided = NULL;
	int r;

	received = base_record(in, d, ISSUE_EVENT_RECEIVED);
	/* clang-format off */
	if (received &&
	    json_object_update_new(received, json_pack("{s:s, s:I, s:s?, s:s?, s:s}",
			 "requesting_key", in->user_key_fp,
			 "ttl_seconds", (json_int_t)q->ttl_sec,
			 "reason", q->reason,
			 "client_address", in->client_addr,
			 "nonce", q->nonce)) < 0)
		return INTERNAL(e, -ENOMEM, "building the ledger record");
	decided = base_record(in, d, ISSUE_EVENT_DECIDED);
	if (decided &&
	    json_object_update_new(decided, json_pack("{s:s, s:s, s:s?, s:s}",
			 "decision", policy_verdict_name(d->verdict),
			 "reason", d->reason ? d->reason : "",
			 "rule", d->rule,
			 "policy_version", decision_version(ctx, d))) < 0)
		return INTERNAL(e, -ENOMEM, "building the ledger record");
	/* clang-format on */
	if ((r = append(ctx, received, ret_seq, e)) < 0 ||
	    (r = append(ctx, decided, ret_seq, e)) < 0)
		return r;
	return 0;
}

int issue_approval_text(const char *rule, char **ret)
{
	char *s;

	if (asprintf(&s, "rule '%s' requires approval, and this CA does not take approvals yet",
		     rule ? rule : "?") < 0)
		return -ENOMEM;
	*ret = s;
	return 0;
}

static json_t *denial_body(const char *request_id, const char *reason, const char *rule)
{
	return json_pack("{s:s, s:s, s:s, s:s?}", "request_id", request_id, "state", "denied",
			 "reason", reason, "rule", rule);
}

struct sign_ctx {
	struct cert *cert;
	const struct signer *ca;
	const json_t *record; /* fields known before the serial */
	char *line;	      /* the certificate line, once signed */
	int sign_error;	      /* set when the callback itself failed */
};

static int sign_with_serial(void *p, uint64_t serial, json_t **ret_record)
{
	struct sign_ctx *s = p;
	_cleanup_(json_decrefp) json_t *rec = NULL;
	_cleanup_free_ char *line = NULL;
	int r;

	s->cert->serial = serial;
	if ((r = cert_sign(s->cert, s->ca, NULL)) < 0 ||
	    (r = cert_to_line(s->cert, NULL, &line)) < 0)
		return s->sign_error = r;
	rec = json_deep_copy(s->record);
	if (!rec || json_object_set_new(rec, "serial", json_integer((json_int_t)serial)) < 0 ||
	    json_object_set_new(rec, "certificate", json_string(line)) < 0)
		return s->sign_error = -ENOMEM;
	free(s->line);
	s->line = TAKE_PTR(line);
	*ret_record = TAKE_PTR(rec);
	return 0;
}

static int build_cert(const struct issue_ctx *ctx, const struct issue_input *in,
		      const struct policy_decision *d, uint64_t lifetime, struct cert **ret,
		      char **ret_key_id)
{
	_cleanup_(cert_freep) struct cert *c = NULL;
	_cleanup_free_ char *key_id = NULL;
	struct key *subject = NULL;
	int r;

	if ((r = key_public(in->req->public_key, &subject)) < 0 || (r = cert_new(subject, &c)) < 0)
		return r;
	if (asprintf(&key_id, "jit-ssh user=%s host=%s login=%s request=%s", in->req->user, d->host,
		     in->req->login, in->request_id) < 0)
		return -ENOMEM;
	if (strlen(key_id) > ISSUE_KEY_ID_MAX)
		return JIT_E_TOO_LARGE;
	if ((r = cert_set_key_id(c, key_id)) < 0 ||
	    (r = cert_set_validity(c, in->now, ctx->skew_sec, lifetime)) < 0)
		return r;
	for (size_t i = 0; i < d->n_principals; i++)
		if ((r = cert_add_principal(c, d->principals[i])) < 0)
			return r;
	for (size_t i = 0; i < d->n_critical; i++)
		if ((r = cert_add_critical(c, d->critical[i].name, d->critical[i].value)) < 0)
			return r;
	for (size_t i = 0; i < d->n_extensions; i++)
		if ((r = cert_add_extension(c, d->extensions[i].name, d->extensions[i].value)) < 0)
			return r;
	*ret = TAKE_PTR(c);
	*ret_key_id = TAKE_PTR(key_id);
	return 0;
}

/* Certificate options as a JSON object name -> value ("" for none). */
static json_t *options_object(const struct cert_option *o, size_t n)
{
	_cleanup_(json_decrefp) json_t *obj = json_object();

	for (size_t i = 0; obj && i < n; i++)
		if (json_object_set_new(obj, o[i].name, json_string(o[i].value ? o[i].value : "")) <
		    0)
			return NULL;
	return TAKE_PTR(obj);
}

/* The "issued" record without serial and certificate (sign_with_serial() adds them). */
static json_t *issued_record(const struct issue_ctx *ctx, const struct issue_input *in,
			     const struct policy_decision *d, const struct cert *c,
			     const char *key_id, const char *subject_fp, json_t *principals)
{
	_cleanup_(json_decrefp) json_t *rec = base_record(in, d, ISSUE_EVENT_ISSUED);

	/* clang-format off */
	if (!rec ||
	    json_object_update_new(rec, json_pack("{s:s, s:O, s:I, s:I, s:s, s:s, s:o, s:o, "
						  "s:s?, s:s, s:s, s:s?, s:s?}",
			 "key_id", key_id,
			 "principals", principals,
			 "valid_after", (json_int_t)c->valid_after,
			 "valid_before", (json_int_t)c->valid_before,
			 "certified_key", subject_fp,
			 "ca_key", ctx->ca_fingerprint,
			 "extensions", options_object(d->extensions, d->n_extensions),
			 "critical_options", options_object(d->critical, d->n_critical),
			 "rule", d->rule,
			 "policy_version", decision_version(ctx, d),
			 /* as in "received", so this one record answers for the certificate */
			 "requesting_key", in->user_key_fp,
			 "reason", in->req->reason,
			 "client_address", in->client_addr)) < 0)
		return NULL;
	/* clang-format on */
	return TAKE_PTR(rec);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

int issue_request(const struct issue_ctx *ctx, const struct issue_input *in, uint64_t *ret_seq,
		  json_t **ret_body, struct request_error *ret_error)
{
	_cleanup_(policy_decision_freep) struct policy_decision *d = NULL;
	_cleanup_(cert_freep) struct cert *c = NULL;
	_cleanup_(json_decrefp) json_t *rec = NULL;
	_cleanup_(json_decrefp) json_t *principals = NULL;
	_cleanup_(json_decrefp) json_t *body = NULL;
	_cleanup_free_ char *subject_fp = NULL;
	_cleanup_free_ char *key_id = NULL;
	_cleanup_free_ char *why = NULL;
	struct sign_ctx s = {0};
	const struct request *q = in->req;
	struct policy_request pr = {
		.user = q->user,
		.host = q->host,
		.login = q->login,
		.ttl_sec = q->ttl_sec,
		.reason = q->reason,
		.client_addr = in->client_addr,
		.now = in->now,
	};
	uint64_t lifetime, serial, seq = 0;
	int r;

	if (!q->public_key)
		return request_error_set(ret_error, -EINVAL, 400, "missing_field",
					 "field 'public_key' is required");
	if ((r = key_fingerprint(q->public_key, &subject_fp)) < 0)
		return INTERNAL(ret_error, r, "fingerprinting the public key");
	if ((r = policy_eval(ctx->policy, &pr, &d)) < 0)
		return INTERNAL(ret_error, r, "evaluating the policy");
	if ((r = record_decision(ctx, in, d, &seq, ret_error)) < 0)
		return r;
	if (d->verdict != POLICY_ALLOW) {
		if (d->verdict == POLICY_NEEDS_APPROVAL && issue_approval_text(d->rule, &why) < 0)
			return INTERNAL(ret_error, -ENOMEM, "building the answer");
		body = denial_body(in->request_id, why ? why : d->reason ? d->reason : "", d->rule);
		if (!body)
			return INTERNAL(ret_error, -ENOMEM, "building the answer");
		*ret_seq = seq;
		*ret_body = TAKE_PTR(body);
		return 0;
	}
	if (d->n_principals == 0 || d->ttl_sec == 0 || !d->host)
		return request_error_set(
			ret_error, JIT_E_CERT, 500, "internal",
			"policy allowed the request without principals or lifetime");

	lifetime = min_u64(d->ttl_sec, ctx->max_ttl_sec);
	if (q->ttl_sec)
		lifetime = min_u64(lifetime, q->ttl_sec);
	if ((r = build_cert(ctx, in, d, lifetime, &c, &key_id)) < 0)
		return INTERNAL(ret_error, r, "building the certificate");

	principals = json_array();
	for (size_t i = 0; principals && i < d->n_principals; i++)
		if (json_array_append_new(principals, json_string(d->principals[i])) < 0)
			return INTERNAL(ret_error, -ENOMEM, "building the answer");
	rec = principals ? issued_record(ctx, in, d, c, key_id, subject_fp, principals) : NULL;
	if (!rec)
		return INTERNAL(ret_error, -ENOMEM, "building the ledger record");

	s.cert = c;
	s.ca = ctx->ca;
	s.record = rec;
	r = ledger_issue(ctx->ledger, sign_with_serial, &s, &serial, &seq);
	if (r < 0) {
		free(s.line);
		if (s.sign_error)
			return INTERNAL(ret_error, r, "signing the certificate");
		if (r == JIT_E_EXPIRED)
			return request_error_set(ret_error, r, 409, "request_cancelled",
						 "the request took too long and the ledger has "
						 "cancelled it, so no certificate was issued; send "
						 "a new request");
		return request_error_set(ret_error, r, 503, "ledger_unavailable",
					 "the ledger cannot record the certificate, so none was "
					 "issued: %s",
					 jit_strerror(r));
	}
	/* The record is durable: the certificate may now leave the CA. */
	/* clang-format off */
	body = json_pack("{s:s, s:s, s:s, s:I, s:O, s:I, s:I, s:s}",
			 "request_id", in->request_id,
			 "state", "issued",
			 "certificate", s.line,
			 "serial", (json_int_t)serial,
			 "principals", principals,
			 "valid_after", (json_int_t)c->valid_after,
			 "valid_before", (json_int_t)c->valid_before,
			 "key_id", key_id);
	/* clang-format on */
	free(s.line);
	if (!body)
		return INTERNAL(ret_error, -ENOMEM, "building the answer");
	*ret_seq = seq;
	*ret_body = TAKE_PTR(body);
	return 0;
}

static uint64_t cap(uint64_t v, uint64_t max)
{
	return max && v > max ? max : v;
}

int issue_explain(const struct policy *p, const struct policy_request *pr, uint64_t max_ttl_sec,
		  struct policy_decision **ret_d, struct policy_open_login **ret_open,
		  size_t *ret_n)
{
	_cleanup_(policy_decision_freep) struct policy_decision *d = NULL;
	_cleanup_free_ struct policy_open_login *v = NULL;
	size_t n = 0;
	int r;

	if ((r = policy_eval(p, pr, &d)) < 0)
		return r;
	if (d->verdict != POLICY_DENY)
		d->ttl_sec = cap(cap(d->ttl_sec, max_ttl_sec), pr->ttl_sec);
	r = policy_open_logins(p, pr->user, pr->host, pr->client_addr, pr->now, &v, &n);
	if (r == JIT_E_NAME)
		n = 0;
	else if (r < 0)
		return r;
	/* Denied entries stay: next to a "*" entry they are the logins it does not cover. */
	for (size_t i = 0; i < n; i++) {
		v[i].default_ttl_sec = cap(v[i].default_ttl_sec, max_ttl_sec);
		v[i].max_ttl_sec = cap(v[i].max_ttl_sec, max_ttl_sec);
	}
	*ret_d = TAKE_PTR(d);
	*ret_open = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}

int issue_open_logins_json(const struct policy_open_login *v, size_t n, json_t **ret_open,
			   json_t **ret_denied, size_t *ret_denied_more)
{
	_cleanup_free_ struct policy_open_login *open = calloc(n + 1, sizeof *open);
	_cleanup_free_ struct policy_open_login *denied = calloc(n + 1, sizeof *denied);
	_cleanup_(json_decrefp) json_t *jo = NULL;
	_cleanup_(json_decrefp) json_t *jd = NULL;
	size_t n_open = 0, n_denied = 0, more = 0;
	int r;

	if (!open || !denied)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (v[i].verdict == POLICY_DENY && n_denied == ISSUE_DENIED_MAX)
			more++;
		else if (v[i].verdict == POLICY_DENY)
			denied[n_denied++] = v[i];
		else
			open[n_open++] = v[i];
	}
	if ((r = policy_open_logins_json(open, n_open, &jo)) < 0 ||
	    (r = policy_open_logins_json(denied, n_denied, &jd)) < 0)
		return r;
	*ret_open = TAKE_PTR(jo);
	*ret_denied = TAKE_PTR(jd);
	*ret_denied_more = more;
	return 0;
}

static bool event_is(const json_t *rec, const char *name)
{
	const char *ev = json_string_value(json_object_get(rec, "event"));

	return ev && !strcmp(ev, name);
}

int issue_answer_from_events(const json_t *events, json_t **ret)
{
	const json_t *issued = NULL, *decided = NULL, *cancelled = NULL, *v;
	_cleanup_free_ char *why = NULL;
	const char *decision, *reason, *rule;
	size_t i;
	json_t *a;

	json_array_foreach(events, i, v)
	{
		if (event_is(v, ISSUE_EVENT_ISSUED))
			issued = v;
		else if (event_is(v, ISSUE_EVENT_DECIDED) || event_is(v, "denied"))
			decided = v;
		else if (event_is(v, LEDGER_EVENT_CANCELLED))
			cancelled = v;
	}
	if (issued) {
		/* clang-format off */
		a = json_pack("{s:O, s:s, s:O, s:O, s:O, s:O, s:O, s:O}",
			      "request_id", json_object_get(issued, "request_id"),
			      "state", "issued",
			      "certificate", json_object_get(issued, "certificate"),
			      "serial", json_object_get(issued, "serial"),
			      "principals", json_object_get(issued, "principals"),
			      "valid_after", json_object_get(issued, "valid_after"),
			      "valid_before", json_object_get(issued, "valid_before"),
			      "key_id", json_object_get(issued, "key_id"));
		/* clang-format on */
		if (!a)
			return -ENOMEM;
		*ret = a;
		return 0;
	}
	if (cancelled && json_is_string(json_object_get(cancelled, "request_id"))) {
		/* The ledger's sweep gave it up (ledger_sweep()): final, nothing was issued. */
		a = json_pack(
			"{s:O, s:s, s:s}", "request_id", json_object_get(cancelled, "request_id"),
			"state", "cancelled", "reason",
			"the CA did not answer this request in time and cancelled it; nothing "
			"was issued: send a new request");
		if (!a)
			return -ENOMEM;
		*ret = a;
		return 0;
	}
	if (!decided || !json_is_string(json_object_get(decided, "request_id")))
		return JIT_E_NOT_FOUND;
	rule = json_string_value(json_object_get(decided, "rule"));
	if (event_is(decided, "denied")) {
		/* Ledgers of the first version: one "denied" record, its reason in "decision". */
		reason = json_string_value(json_object_get(decided, "decision"));
	} else {
		decision = json_string_value(json_object_get(decided, "decision"));
		reason = json_string_value(json_object_get(decided, "reason"));
		if (!decision || !strcmp(decision, "allowed"))
			return JIT_E_NOT_FOUND;
		if (!strcmp(decision, "needs_approval")) {
			if (issue_approval_text(rule, &why) < 0)
				return -ENOMEM;
			reason = why;
		}
	}
	a = denial_body(json_string_value(json_object_get(decided, "request_id")),
			reason ? reason : "", rule);
	if (!a)
		return -ENOMEM;
	*ret = a;
	return 0;
}

unsigned issue_answer_status(const json_t *answer)
{
	const char *st = json_string_value(json_object_get(answer, "state"));

	if (st && !strcmp(st, "issued"))
		return 201;
	return st && !strcmp(st, "cancelled") ? 410 : 403;
}
