/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cert.h"
#include "err.h"
#include "issue.h"
#include "util.h"

#define INTERNAL(e, r, what)                                                                       \
	request_error_set(e, r, 500, "internal", "%s: %s", what, jit_strerror(r))

/* The fields every record of this request carries. */
static json_t *base_record(const struct issue_ctx *ctx, const struct issue_input *in,
			   const struct policy_decision *d, const char *event,
			   const char *subject_fp)
{
	const struct request *q = in->req;

	/* clang-format off */
	return json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s?, s:s, s:s, s:I, s:s?, s:s?, s:s?, "
			 "s:s}",
			 "event", event,
			 "time", (json_int_t)in->now,
			 "request_id", in->request_id,
			 "user", q->user,
			 "host", d->host ? d->host : q->host,
			 "login", q->login,
			 "client_addr", in->client_addr,
			 "user_key", in->user_key_fp,
			 "subject_key", subject_fp,
			 "ttl_requested", (json_int_t)q->ttl_sec,
			 "reason", q->reason,
			 "decision", d->reason,
			 "rule", d->rule,
			 "policy_version", d->policy_version ? d->policy_version
							     : policy_version(ctx->policy));
	/* clang-format on */
}

static int deny(const struct issue_ctx *ctx, const struct issue_input *in,
		const struct policy_decision *d, const char *subject_fp, const char *why,
		uint64_t *ret_seq, json_t **ret_body, struct request_error *e)
{
	uint64_t seq;
	_cleanup_(json_decrefp) json_t *rec = NULL;
	_cleanup_(json_decrefp) json_t *body = NULL;
	int r;

	rec = base_record(ctx, in, d, "denied", subject_fp);
	if (!rec)
		return INTERNAL(e, -ENOMEM, "building the ledger record");
	if (why && json_object_set_new(rec, "decision", json_string(why)) < 0)
		return INTERNAL(e, -ENOMEM, "building the ledger record");
	/* clang-format off */
	body = json_pack("{s:s, s:s, s:O?, s:O?}",
			 "request_id", in->request_id,
			 "state", "denied",
			 "reason", json_object_get(rec, "decision"),
			 "rule", json_object_get(rec, "rule"));
	/* clang-format on */
	if (!body)
		return INTERNAL(e, -ENOMEM, "building the answer");
	if ((r = ledger_append(ctx->ledger, rec, &seq)) < 0)
		return request_error_set(e, r, 503, "ledger_unavailable",
					 "the ledger cannot record the decision: %s",
					 jit_strerror(r));
	*ret_seq = seq;
	*ret_body = TAKE_PTR(body);
	return 0;
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
	uint64_t lifetime, serial, seq;
	int r;

	if ((r = key_fingerprint(q->public_key, &subject_fp)) < 0)
		return INTERNAL(ret_error, r, "fingerprinting the public key");
	if ((r = policy_eval(ctx->policy, &pr, &d)) < 0)
		return INTERNAL(ret_error, r, "evaluating the policy");
	if (d->verdict == POLICY_NEEDS_APPROVAL &&
	    asprintf(&why, "rule '%s' requires approval, and this CA does not take approvals",
		     d->rule ? d->rule : "?") < 0)
		return INTERNAL(ret_error, -ENOMEM, "building the answer");
	if (d->verdict != POLICY_ALLOW)
		return deny(ctx, in, d, subject_fp, why, ret_seq, ret_body, ret_error);
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
	rec = base_record(ctx, in, d, "issued", subject_fp);
	if (!principals || !rec || json_object_set(rec, "principals", principals) < 0 ||
	    json_object_set_new(rec, "valid_after", json_integer((json_int_t)c->valid_after)) < 0 ||
	    json_object_set_new(rec, "valid_before", json_integer((json_int_t)c->valid_before)) <
		    0 ||
	    json_object_set_new(rec, "key_id", json_string(key_id)) < 0 ||
	    json_object_set_new(rec, "ca_key", json_string(ctx->ca_fingerprint)) < 0)
		return INTERNAL(ret_error, -ENOMEM, "building the ledger record");

	s.cert = c;
	s.ca = ctx->ca;
	s.record = rec;
	r = ledger_issue(ctx->ledger, sign_with_serial, &s, &serial, &seq);
	if (r < 0) {
		free(s.line);
		if (s.sign_error)
			return INTERNAL(ret_error, r, "signing the certificate");
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

int issue_answer_from_events(const json_t *events, json_t **ret)
{
	const json_t *rec = NULL, *v;
	const char *ev;
	size_t i;
	json_t *a;

	json_array_foreach(events, i, v)
	{
		ev = json_string_value(json_object_get(v, "event"));
		if (ev && (!strcmp(ev, "issued") || !strcmp(ev, "denied")))
			rec = v;
	}
	if (!rec)
		return JIT_E_NOT_FOUND;
	ev = json_string_value(json_object_get(rec, "event"));
	/* clang-format off */
	if (!strcmp(ev, "denied"))
		a = json_pack("{s:O, s:s, s:O?, s:O?}",
			      "request_id", json_object_get(rec, "request_id"),
			      "state", "denied",
			      "reason", json_object_get(rec, "decision"),
			      "rule", json_object_get(rec, "rule"));
	else
		a = json_pack("{s:O, s:s, s:O, s:O, s:O, s:O, s:O, s:O}",
			      "request_id", json_object_get(rec, "request_id"),
			      "state", "issued",
			      "certificate", json_object_get(rec, "certificate"),
			      "serial", json_object_get(rec, "serial"),
			      "principals", json_object_get(rec, "principals"),
			      "valid_after", json_object_get(rec, "valid_after"),
			      "valid_before", json_object_get(rec, "valid_before"),
			      "key_id", json_object_get(rec, "key_id"));
	/* clang-format on */
	if (!a)
		return -ENOMEM;
	*ret = a;
	return 0;
}

unsigned issue_answer_status(const json_t *answer)
{
	const char *st = json_string_value(json_object_get(answer, "state"));

	return st && !strcmp(st, "issued") ? 201 : 403;
}
