/* SPDX-License-Identifier: ISC */
/*
 * policy.h - the access policy: who may be which login on which hosts, for how long.
 *
 * A policy is a YAML document (libyaml), described in docs/policy.md (the language, the
 * precedence, durations, limits). It is loaded once, fully validated, and then immutable:
 * evaluation never changes it and never touches process-wide state (time zones are read from
 * the tz database at load time, never through TZ/localtime), so one loaded policy can serve
 * many threads at once. Hot reload swaps whole policies (policy_ref/policy_unref).
 *
 * Deny by default: a request that no rule allows is denied. An empty list in a rule means
 * "nothing", never "anything". A denial is a result (a decision), not an error.
 *
 * Precedence (docs/policy.md, "How a request is decided"): unsafe request -> deny; unknown or
 * disabled user -> deny; any matching deny rule -> deny; else the first applicable allow rule
 * (file order) that needs no approval -> allow; else the first applicable allow rule that
 * needs approvals -> needs approval; else deny.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cert.h"
#include "key.h"

/* Largest policy file, bytes. */
#define POLICY_FILE_MAX (8u * 1024u * 1024u)
/* Global hard cap on any certificate lifetime, seconds, whatever the policy says. */
#define POLICY_TTL_HARD_CAP_SEC (24u * 3600u)
/* Longest reason text a request may carry, bytes. */
#define POLICY_REASON_MAX 1024

/*
 * Limits on what a policy document may contain (each violation is a JIT_E_POLICY error
 * naming the place). YAML anchors, aliases and tags are refused outright, so no document
 * can expand beyond its own size.
 */
/* Deepest nesting of YAML mappings and sequences. */
#define POLICY_DEPTH_MAX 16
/* Most entries in one YAML sequence or mapping (users, rules, a rule's host list, ...). */
#define POLICY_LIST_MAX 65536
/* Most YAML nodes (scalars, sequences, mappings) in one document. */
#define POLICY_NODES_MAX (1024u * 1024u)
/* Longest scalar, bytes (a public-key line is at most KEY_LINE_MAX). */
#define POLICY_SCALAR_MAX 8192
/* Most enrolled keys per user. */
#define POLICY_USER_KEYS_MAX 32
/* Longest reason pattern (POSIX extended regular expression), bytes. */
#define POLICY_PATTERN_MAX 256
/* Largest product of the repetition counts ({m,n}) in one reason pattern (regcomp(3) copies
 * what is repeated). */
#define POLICY_PATTERN_REPEAT_MAX 256
/* Largest approval quorum. */
#define POLICY_APPROVALS_MAX 16
/* Most time windows in one rule. */
#define POLICY_WINDOWS_MAX 32
/* Most source addresses in one rule. */
#define POLICY_SOURCES_MAX 64
/* Most group memberships once subgroups are expanded (each user in each group it reaches,
 * counted with each group reached while expanding). */
#define POLICY_MEMBERSHIPS_MAX (4u * 1024u * 1024u)
/* Most error lines reported for one document (one more line says how many were left out). */
#define POLICY_ERRORS_MAX 20
/* Where named time zones are read from (TZif files, RFC 8536), and the largest one. */
#define POLICY_ZONEINFO_DIR "/usr/share/zoneinfo"
#define POLICY_TZ_FILE_MAX (256u * 1024u)
/* Settings defaults: certificate lifetime when a rule names none, and the policy-wide cap. */
#define POLICY_DEFAULT_TTL_SEC (15u * 60u)
#define POLICY_DEFAULT_MAX_TTL_SEC (60u * 60u)

struct policy;

/**
 * policy_load_file() - Read and validate a policy file
 * @path:      file name
 * @ret:       new policy with one reference (policy_unref())
 * @ret_error: on JIT_E_POLICY, a new message "FILE:LINE:COLUMN: what is wrong" (one line
 *             per problem, sorted by line then column, lines separated by '\n', no final
 *             newline; the POLICY_ERRORS_MAX first by position, plus one line
 *             "FILE: N more problems not shown" counting the rest); may be NULL if not
 *             wanted
 * Errors: -errno (reading; -EINVAL for a non-regular file), JIT_E_POLICY (invalid document),
 * JIT_E_TOO_LARGE (over POLICY_FILE_MAX bytes), -ENOMEM. On error *@ret is untouched.
 */
int policy_load_file(const char *path, struct policy **ret, char **ret_error);

/**
 * policy_error_count() - How many problems a policy_load_*() error message reports
 * @messages: the message (borrowed), or NULL
 * Return: one per line, the last line "NAME: N more problems not shown" counting N; 0 for
 * NULL or "". Any other text counts one per line (say, "FILE: No such file or directory").
 */
unsigned policy_error_count(const char *messages);

/**
 * policy_load_buffer() - Same, from memory
 * @name: the name used in error messages in place of a file name
 */
int policy_load_buffer(const char *name, const char *data, size_t len, struct policy **ret,
		       char **ret_error);

/** policy_ref() - Take a reference (thread-safe). Return: @p. */
struct policy *policy_ref(struct policy *p);
/** policy_unref() - Drop a reference, freeing on the last (thread-safe); accepts NULL. */
struct policy *policy_unref(struct policy *p);

/**
 * policy_version() - The policy's version: "sha256:" + hex SHA-256 of its canonical form
 * (so re-indenting or reordering mapping keys does not change it). Recorded in the ledger
 * with every decision.
 * Ownership: borrowed; valid while @p is referenced.
 */
const char *policy_version(const struct policy *p);

/**
 * policy_user_keys() - The enrolled public keys of @user
 * @ret_keys: borrowed array of borrowed keys, valid while @p is referenced
 * @ret_n:    number of keys (at least 1 on success)
 * Errors: JIT_E_NOT_FOUND for an unknown or disabled user (callers must not tell the two
 * apart to the requester).
 */
int policy_user_keys(const struct policy *p, const char *user, const struct key *const **ret_keys,
		     size_t *ret_n);

/**
 * struct policy_request - what is asked
 * @user:        the authenticated requester
 * @host:        host name as asked (normalised by the evaluator)
 * @login:       the account on the host
 * @ttl_sec:     requested lifetime, seconds; 0 = the rule's default
 * @reason:      free text from the requester, or NULL
 * @client_addr: the requester's IP address as text, or NULL
 * @now:         seconds since the Unix epoch, UTC (time windows are evaluated at @now)
 */
struct policy_request {
	const char *user;
	const char *host;
	const char *login;
	uint64_t ttl_sec;
	const char *reason;
	const char *client_addr;
	uint64_t now;
};

enum policy_verdict {
	POLICY_DENY = 0,
	POLICY_ALLOW,
	POLICY_NEEDS_APPROVAL,
};

/**
 * struct policy_decision - the outcome of one evaluation (all fields owned by it)
 * @verdict:      deny, allow, or needs approval
 * @host:         the normalised host name (NULL when the asked name was not a valid one)
 * @rule:         name of the deciding rule (the allow rule, or the deny rule that denied),
 *                or NULL when denied by default or before any rule was looked at
 * @reason:       one line for the requester: why denied, or what was granted
 * @explanation:  several lines ('\n' between them): the request; how many rules were
 *                skipped as not for the requester; each rule for the requester, in file
 *                order, and why it did or did not apply; the decision (docs/policy.md,
 *                "How a request is decided")
 * @principals:   the host-bound principals to certify (never empty unless denied)
 * @ttl_sec:      lifetime to grant, seconds (<= the rule's maximum <= the hard cap)
 * @critical:     critical options (sorted, e.g. force-command, source-address)
 * @extensions:   extensions (sorted; from the rule's allow-list; default permit-pty)
 * @approvals_required, @approver_groups: for POLICY_NEEDS_APPROVAL, the quorum and the
 *                groups approvers are drawn from (the requester never counts)
 * @policy_version: copy of policy_version() of the policy that decided
 */
struct policy_decision {
	enum policy_verdict verdict;
	char *host;
	char *rule;
	char *reason;
	char *explanation;
	char **principals;
	size_t n_principals;
	uint64_t ttl_sec;
	struct cert_option *critical;
	size_t n_critical;
	struct cert_option *extensions;
	size_t n_extensions;
	unsigned approvals_required;
	char **approver_groups;
	size_t n_approver_groups;
	char *policy_version;
};

/**
 * policy_eval() - Decide a request
 * @p:   the policy (borrowed)
 * @req: the request (borrowed)
 * @ret: new decision (policy_decision_free())
 * A denial returns 0 with verdict POLICY_DENY. Unsafe names in @req are denied, not errors.
 * Only the rules for @req->user (named in users, through a group, or "*") are looked at.
 * Thread-safe: any number of threads may evaluate against one policy at once. Every
 * decision is checked with policy_decision_check(); one that fails becomes a denial.
 * Errors: -ENOMEM only.
 */
int policy_eval(const struct policy *p, const struct policy_request *req,
		struct policy_decision **ret);

/** policy_decision_free() - Free; accepts NULL; returns NULL. */
struct policy_decision *policy_decision_free(struct policy_decision *d);
void policy_decision_freep(struct policy_decision **d);

/** policy_verdict_name() - "denied", "allowed" or "needs_approval" (static string). */
const char *policy_verdict_name(enum policy_verdict v);

/**
 * policy_decision_check() - Check the invariants every decision must keep
 * @p:   the policy that made @d (borrowed)
 * @req: the request @d answers (borrowed)
 * @d:   the decision (borrowed)
 *
 * For POLICY_ALLOW and POLICY_NEEDS_APPROVAL: @d->rule names an allow rule of @p that
 * allows @req->login on @d->host; exactly one principal, principal_format(@d->host,
 * @req->login) (names.h); 0 < @d->ttl_sec <= that rule's maximum <= the policy's max_ttl
 * <= POLICY_TTL_HARD_CAP_SEC; extensions sorted, unique and within the rule's allow-list;
 * critical options sorted and unique, and exactly the rule's: force-command equal to the
 * rule's, source-address equal to the rule's blocks plus @req->client_addr (for "client"),
 * canonical, sorted, without duplicates and joined with ',' as the evaluator builds it; an
 * approval quorum only with POLICY_NEEDS_APPROVAL. For POLICY_DENY: no principals, TTL 0,
 * no options. policy_eval() runs this on every decision it makes and turns a failure into a
 * denial.
 * Errors: JIT_E_POLICY when an invariant does not hold; -ENOMEM.
 */
int policy_decision_check(const struct policy *p, const struct policy_request *req,
			  const struct policy_decision *d);

/**
 * policy_lint() - Find the rules that can never apply, for `jit-ssh-ca policy check`
 * @p:          the policy (borrowed)
 * @ret_report: new text, one line per such rule in file order (docs/policy.md, "Rules that
 *              can never apply"):
 *                  FILE:LINE:COLUMN: rule "NAME" can never apply: WHY
 *              FILE is the name @p was loaded under, LINE:COLUMN where the rule starts;
 *              lines separated by '\n', no final newline; at most POLICY_ERRORS_MAX lines
 *              plus one counting the rest. NULL when there are none.
 * @ret_n:      number of rules that can never apply
 *
 * A rule can never apply when it matches no request by itself (no enabled user, no login,
 * no host, no open time window, an approval quorum none of its requesters can reach) or
 * when another single rule decides every request it matches first (a deny rule anywhere; an
 * earlier rule of the same kind, or a rule needing no approval over one that needs it, that
 * matches at least as much with conditions no stricter). Conservative: every rule reported
 * can never apply; some that cannot are not found (those only several rules together
 * shadow, or whose reason pattern no text matches).
 *
 * Each is an error for `policy check` (non-zero exit). policy_load_*() does not call this:
 * a rule that can never apply changes no decision, so the CA loads and serves such a policy.
 * Time: quadratic in the number of rules (about 0.1 s for 1,000 rules).
 * Errors: -ENOMEM. On error nothing is returned.
 */
int policy_lint(const struct policy *p, char **ret_report, size_t *ret_n);

/**
 * struct policy_open_login - what one login on one host would give one user now
 * (policy_open_logins()); every pointer is borrowed from the policy and lives as long as it
 * @login:           a login, or "*" for any login that no rule for the user and host names
 * @verdict:         POLICY_ALLOW, POLICY_NEEDS_APPROVAL, or POLICY_DENY when a deny rule
 *                   forbids it or no rule's conditions can hold
 * @rule:            the deciding rule (allow rule, or the deny rule), NULL when denied by
 *                   default
 * @default_ttl_sec: lifetime when the request names none, seconds (0 when denied)
 * @max_ttl_sec:     longest lifetime, seconds (0 when denied)
 * @approvals_required, @approver_groups: the quorum and the groups approvers come from
 * @reason_required: a reason must be given; @reason_pattern: one it must match, or NULL
 * @force_command:   the force-command the certificate would carry, or NULL
 */
struct policy_open_login {
	const char *login;
	enum policy_verdict verdict;
	const char *rule;
	uint64_t default_ttl_sec;
	uint64_t max_ttl_sec;
	unsigned approvals_required;
	char *const *approver_groups;
	size_t n_approver_groups;
	bool reason_required;
	const char *reason_pattern;
	const char *force_command;
};

/**
 * policy_open_logins() - Which logins and lifetimes are open to @user on @host at @now
 * (`jit-ssh explain HOST`; docs/policy.md, "Explaining decisions")
 * @p:           the policy (borrowed)
 * @user:        the requester
 * @host:        host name as asked (normalised here)
 * @client_addr: the requester's IP address as text, or NULL (for source_address: [client])
 * @now:         seconds since the Unix epoch, UTC (time windows are evaluated at @now)
 * @ret:         new array (free()); its strings are borrowed from @p
 * @ret_n:       number of entries
 *
 * One entry per login named by a rule for @user that covers @host and is open at @now
 * (${user} as @user's own name), plus "*" when such a rule allows any login; each decided
 * exactly as policy_eval() would decide a request for it with TTL 0, except that reason
 * conditions are reported (@reason_required, @reason_pattern), not checked. Sorted by
 * login, "*" last. An unknown or disabled user (or an unsafe user name) gets no entries,
 * so callers cannot tell them apart.
 * Errors: JIT_E_NAME when @host is not a valid host name; -ENOMEM.
 */
int policy_open_logins(const struct policy *p, const char *user, const char *host,
		       const char *client_addr, uint64_t now, struct policy_open_login **ret,
		       size_t *ret_n);

/* ---- explain.c: decisions and open logins for people and tools ---------------------- */

struct json_t; /* jansson's json_t */

/**
 * policy_explain_text() - A decision as text for people (`jit-ssh-ca policy explain`)
 * @req: the request @d answers (borrowed)
 * @d:   its decision (borrowed)
 * @ret: new text, every line ending in '\n': "verdict:", "rule:", "reason:", "user:",
 *       "host:", "login:" (user and login as asked, bytes other than printable ASCII and
 *       '\\' written as \xHH), then for an allowing decision "principals:", "ttl:",
 *       "critical options:", "extensions:", "approvals:" (needs approval only), then
 *       "policy version:" and "explanation:" followed by its lines indented by two spaces
 *       (docs/policy.md shows one)
 * Errors: -ENOMEM.
 */
int policy_explain_text(const struct policy_request *req, const struct policy_decision *d,
			char **ret);

/**
 * policy_explain_json() - A decision as a JSON object (jansson), for the CA's explain
 * endpoint and `policy explain --json`
 * @req: the request @d answers (borrowed)
 * @d:   its decision (borrowed)
 * @ret: new reference (json_decref()) to an object with these fields, always present:
 *       "verdict": "allowed" | "needs_approval" | "denied" (policy_verdict_name());
 *       "rule": string | null; "reason": string;
 *       "user", "login": as asked, or null when absent or not UTF-8;
 *       "host": normalised host | null (not a valid host name);
 *       "principals": [string]; "ttl_seconds": integer (0 when denied);
 *       "critical_options": {name: value}; "extensions": [name];
 *       "approvals": {"count": integer, "from": [group]} | null (null unless needs_approval);
 *       "policy_version": string; "explanation": [line]
 * Errors: -ENOMEM.
 */
int policy_explain_json(const struct policy_request *req, const struct policy_decision *d,
			struct json_t **ret);

/**
 * policy_open_logins_json() - policy_open_logins() entries as a JSON array (jansson)
 * @ret: new reference to an array of objects, one per entry, fields always present:
 *       "login"; "verdict" (as above); "rule": string | null; "default_ttl_seconds",
 *       "max_ttl_seconds": integers; "approvals": {"count", "from"} | null;
 *       "reason": {"required": bool, "pattern": string | null};
 *       "force_command": string | null
 * Errors: -ENOMEM.
 */
int policy_open_logins_json(const struct policy_open_login *v, size_t n, struct json_t **ret);

/**
 * policy_open_logins_text() - The same as text for people, one line per entry, e.g.
 *     deploy  allowed for up to 2h (default 30m) (rule 'staging-self-service')
 * @ret: new text, every line ending in '\n' ("no login is open" + '\n' when @n is 0)
 * Errors: -ENOMEM.
 */
int policy_open_logins_text(const struct policy_open_login *v, size_t n, char **ret);
