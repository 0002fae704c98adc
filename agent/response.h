/* SPDX-License-Identifier: ISC */
/*
 * response.h - the CA's answers to POST /v1/requests and GET /v1/requests/{id}, parsed with
 * jansson.
 *
 *   2xx {"request_id", "state": "issued", "certificate": "<*-cert.pub line>", "serial",
 *        "principals", "valid_after", "valid_before", "key_id"}
 *   2xx {"request_id", "state": "pending",                 (waiting for approval)
 *        "approvals": {"count": N, "received": M, "from": ["group", ...]}}
 *   2xx or 403 {"request_id", "state": "denied", "reason": "...", "rule": "..." | null}
 *   2xx or 4xx {"request_id", "state": "expired", "reason": "..."}  (approval timed out)
 *   2xx or 4xx {"request_id", "state": "cancelled", "reason": "..."}  (the CA gave the
 *        request up unanswered; nothing was issued: docs/api.md)
 *   4xx/5xx {"error": "<code>", "message": "<human text>"}
 *
 * The "state" decides, not the status code: GET /v1/requests/{id} answers 200 whatever the
 * request's state. In a pending answer "approvals" and each of its fields are optional
 * ("count": the quorum, "received": approvals so far, "from": the approvers' groups).
 *
 * For an issued certificate only "request_id" and "certificate" are used: serial, principals
 * and validity are read from the certificate itself, which is what sshd will see.
 * Text meant for the user (reason, rule, message) is kept with control characters replaced
 * by '?', so a CA cannot drive the terminal.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "cert.h"
#include "key.h"

/* Longest text kept from the CA's reason, rule, error or message, bytes. */
#define RESPONSE_TEXT_MAX 1024
/* Longest request ID accepted (the CA's are 32 hex characters). */
#define RESPONSE_ID_MAX 64
/* Largest body parsed, bytes (http.h HTTP_RESPONSE_MAX). */
#define RESPONSE_BODY_MAX (64u * 1024u)

enum response_kind {
	RESPONSE_ISSUED = 1,
	RESPONSE_PENDING,
	RESPONSE_DENIED,
	RESPONSE_ERROR,
	RESPONSE_EXPIRED,
	RESPONSE_CANCELLED,
};

/* Most approver groups, and the largest approval count, accepted in a pending answer. */
#define RESPONSE_GROUPS_MAX 64
#define RESPONSE_COUNT_MAX 1024

/**
 * struct response - one parsed answer (every pointer owned by it; unused ones NULL)
 * @kind:       what the CA said
 * @status:     the HTTP status
 * @request_id: issued, pending, denied, expired: the CA's request ID ([A-Za-z0-9_-], at
 *              most RESPONSE_ID_MAX characters)
 * @cert:       issued: the certificate, parsed and its signature verified (cert.h)
 * @reason:     denied, expired: the CA's reason (may be NULL when the CA gave none)
 * @rule:       denied: the deciding rule, or NULL
 * @approvals_needed:   pending: the quorum, 0 when not said
 * @approvals_received: pending: approvals so far; -1 when not said
 * @groups, @n_groups:  pending: the approvers' groups (may be empty)
 * @error:      error: the error code (e.g. "unknown_user_or_key", "clock_skew"), or NULL
 *              when the body was not the documented error shape (e.g. a proxy's HTML page)
 * @message:    error: the CA's text, or NULL
 */
struct response {
	enum response_kind kind;
	long status;
	char *request_id;
	struct cert *cert;
	char *reason;
	char *rule;
	char *error;
	char *message;
	unsigned approvals_needed;
	int approvals_received;
	char **groups;
	size_t n_groups;
};

/** response_free() - Free; accepts NULL; returns NULL. */
struct response *response_free(struct response *r);
void response_freep(struct response **r);

/**
 * response_parse() - Parse an answer
 * @status:    HTTP status code
 * @body, @len: the body bytes (need not be NUL-terminated)
 * @ret:       new response
 *
 * 2xx answers must be a JSON object whose "state" is "issued" (with a string
 * "request_id" and a "certificate" line that cert_from_line() accepts), "pending",
 * "denied", "expired" or "cancelled". A 4xx answer whose "state" is "denied", "expired" or
 * "cancelled" is that answer. Any other 4xx/5xx answer is an error; one that is not the documented error shape
 * still parses, with @error and @message NULL.
 * Errors: JIT_E_FORMAT (a 2xx or denial that is not valid JSON, lacks a field or has a field
 * of the wrong type; a status that is not 2xx/4xx/5xx), JIT_E_TOO_LARGE (over
 * RESPONSE_BODY_MAX), the errors of cert_from_line() for a bad certificate, -ENOMEM.
 */
int response_parse(long status, const char *body, size_t len, struct response **ret);

/**
 * response_pending_status() - The one-line status shown while waiting for approval:
 *   "waiting for approval: 0/1 approvals from [sre] — 0:42 elapsed"
 * ("N approvals needed" when the CA did not say how many arrived; the parts the CA did not
 * send are left out; elapsed time as M:SS, or H:MM:SS from an hour on)
 * @r:           a pending response (borrowed)
 * @elapsed_sec: seconds since the wait began
 * @ret:         new string, no newline
 * Errors: -EINVAL (@r is not pending), -ENOMEM.
 */
int response_pending_status(const struct response *r, uint64_t elapsed_sec, char **ret);

/**
 * response_text_dup() - Copy text from the CA for display: control characters become '?',
 * and text over RESPONSE_TEXT_MAX bytes is cut at a UTF-8 character boundary
 * @s, @n: the text and its length (may hold NUL bytes, which become '?')
 * @ret:   new string
 * Errors: -ENOMEM.
 */
int response_text_dup(const char *s, size_t n, char **ret);

/**
 * response_check_cert() - Check that an issued certificate is the one that was asked for
 * @r:       an issued response (borrowed)
 * @subject: the fresh public key that was sent (borrowed)
 * @host:    the normalised host that was asked for
 * @login:   the login that was asked for
 * @now:     seconds since the Unix epoch (UTC)
 *
 * The certificate must be a user certificate for @subject, still valid at @now (valid_before
 * after @now), and list the principal "jit:<host>:<login>" (names.h). A CA that strips a
 * domain suffix from host names (policy host normalisation) may certify "jit:<h>:<login>"
 * where @host is "<h>.<suffix>"; that is accepted too.
 * Errors: -EINVAL (@r is not an issued response), JIT_E_CERT (not a user certificate, or not
 * for @subject), JIT_E_NOT_FOUND (the principal is missing), JIT_E_EXPIRED.
 */
int response_check_cert(const struct response *r, const struct key *subject, const char *host,
			const char *login, uint64_t now);
