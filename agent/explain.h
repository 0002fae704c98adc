/* SPDX-License-Identifier: ISC */
/*
 * explain.h - the CA's answer to POST /v1/explain (docs/api.md, "POST /v1/explain"), parsed
 * with jansson, and its rendering for a person (`jit-ssh explain`, docs/engineer.md).
 *
 *   200 {"decision": {"verdict": "allowed" | "denied" | "needs_approval",
 *                     "rule": "..." | null, "reason": "...", "host": "...", "login": "...",
 *                     "ttl_seconds": N, "approvals": {"count": N, "from": ["group", ...]} | null,
 *                     "policy_version": "...", "explanation": ["line", ...], ...},
 *        "open": [{"login": "..." | "*", "verdict": "allowed" | "needs_approval",
 *                  "max_ttl_seconds": N, "rule": "..." | null,
 *                  "approvals": {"count": N, "from": ["group", ...]} | null,
 *                  "reason": {"required": true | false, "pattern": "..." | null}, ...}, ...],
 *        "denied": [{"login": "..." | "*", "verdict": "denied", "rule": "..." | null, ...}, ...],
 *        "denied_more": N}
 *
 * "denied" (optional; CAs before it was added do not send it) lists the logins a deny rule keeps
 * from the requester on the host: next to a "*" entry of "open" they are the logins it does not
 * cover, with "rule" the deny rule; an entry without a rule is a login no rule's conditions
 * can hold for. "denied_more" (optional) counts the entries the CA left out of "denied"
 * (docs/api.md, "POST /v1/explain").
 *
 * Only the fields above are read; others (principals, critical_options, extensions,
 * default_ttl_seconds, force_command) are left alone, so `--json` is the place for them.
 * "decision", its "verdict" and "open" are required; every other field may be absent (or null), but
 * one that is present must have its type. Text meant for the user is kept with control characters
 * replaced by '?' (response_text_dup()), so a CA cannot drive the terminal.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most explanation lines, "open" entries and approver groups accepted. */
#define EXPLAIN_LINES_MAX 1024
#define EXPLAIN_OPEN_MAX 1024
#define EXPLAIN_GROUPS_MAX 64

enum explain_verdict {
	EXPLAIN_DENIED = 0,
	EXPLAIN_ALLOWED,
	EXPLAIN_NEEDS_APPROVAL,
};

/**
 * struct explain_open - one login open to the requester on the host (strings owned)
 * @login:       the login (a safe login name, names.h), or "*" when a rule allows any
 * @verdict:     EXPLAIN_ALLOWED or EXPLAIN_NEEDS_APPROVAL
 * @max_ttl_sec: longest lifetime a request for it gets, seconds (0 = not said)
 * @rule:        the rule that opens it, or NULL
 * @approvals, @groups, @n_groups: the approvals it needs (0 and none when not said)
 * @reason_required: a request for it must carry a reason
 * @reason_pattern:  a reason must match this POSIX extended regular expression, or NULL
 */
struct explain_open {
	char *login;
	enum explain_verdict verdict;
	uint64_t max_ttl_sec;
	char *rule;
	unsigned approvals;
	char **groups;
	size_t n_groups;
	bool reason_required;
	char *reason_pattern;
};

/**
 * struct explain - one parsed answer (every pointer owned by it; absent fields NULL / 0)
 * @verdict:          the decision for the login asked about
 * @rule:             the deciding rule, or NULL
 * @reason:           the decision's one-line reason, or NULL
 * @host:             the host as the CA normalised it, or NULL
 * @ttl_sec:          lifetime the decision grants, seconds (0 when denied or not said)
 * @approvals:        needs approval: the quorum (0 = not said)
 * @groups, @n_groups: needs approval: the groups approvers come from
 * @policy_version:   "sha256:..." of the policy that decided, or NULL
 * @lines, @n_lines:  the explanation, one line each
 * @open, @n_open:    every login open to the requester on the host now
 * @denied, @n_denied: every login a deny rule keeps from the requester there (verdict
 *                    EXPLAIN_DENIED; only @login and @rule are filled)
 * @denied_more:      how many more the CA left out of its "denied" list
 */
struct explain {
	enum explain_verdict verdict;
	char *rule;
	char *reason;
	char *host;
	uint64_t ttl_sec;
	unsigned approvals;
	char **groups;
	size_t n_groups;
	char *policy_version;
	char **lines;
	size_t n_lines;
	struct explain_open *open;
	size_t n_open;
	struct explain_open *denied;
	size_t n_denied;
	uint64_t denied_more;
};

/** explain_free() - Free; accepts NULL; returns NULL. */
struct explain *explain_free(struct explain *e);
void explain_freep(struct explain **e);

/**
 * explain_parse() - Parse the body of a 200 answer to POST /v1/explain
 * @body, @len: the body bytes (need not be NUL-terminated; at most RESPONSE_BODY_MAX)
 * @ret:        new answer
 * Errors: JIT_E_FORMAT (not one JSON object, duplicate keys, a required field missing, a
 * field of the wrong type, an unknown verdict, an "open" entry whose login is neither a
 * safe name nor "*" or whose verdict is "denied", a "denied" entry whose verdict is not
 * "denied", a number out of range), JIT_E_TOO_LARGE (body
 * over RESPONSE_BODY_MAX, or more than the EXPLAIN_*_MAX entries), -ENOMEM.
 */
int explain_parse(const char *body, size_t len, struct explain **ret);

/** explain_verdict_text() - "allowed", "denied" or "needs approval" (static string). */
const char *explain_verdict_text(enum explain_verdict v);

/**
 * explain_duration() - A lifetime for people: "45s", "15m", "1h", "1h30m", "2m5s"
 * @sec:  seconds (0 gives "0s")
 * @buf:  where to write (at least 32 bytes suffice for any value)
 * @size: its size
 * Return: @buf.
 */
const char *explain_duration(uint64_t sec, char *buf, size_t size);

/**
 * explain_render() - The answer as text for a person:
 *
 *   LOGIN@HOST: VERDICT
 *     reason:    ...
 *     rule:      ...                     (when the CA named one)
 *     lifetime:  15m                     (allowed, needs approval)
 *     needs:     2 approvals from [leads] (needs approval)
 *
 *   explanation:
 *     <each line>
 *
 *   open to you on HOST:
 *     LOGIN  VERDICT  max TTL  rule 'NAME' (CONDITIONS)
 *     (nothing)                          (when the list is empty)
 *
 *   not open to you on HOST:                     (when both lists have entries)
 *     LOGIN  denied by rule 'NAME' (deny rules win over any allow)
 *     LOGIN  not open (no rule's conditions can hold)
 *     (and N more)                               (when the CA left N out)
 *
 * CONDITIONS: "1 approval from [sre]", "reason required", "reason required, matching 'RE'",
 * "reason if given, matching 'RE'".
 *
 * @e:     the answer (borrowed)
 * @host:  the host as asked (normalised); the CA's own @e->host is shown when it gave one
 * @login: the login asked about
 * @ret:   new NUL-terminated text, ending with a newline
 * Errors: -ENOMEM.
 */
int explain_render(const struct explain *e, const char *host, const char *login, char **ret);
