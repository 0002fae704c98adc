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
 *             per problem, lines separated by '\n', no final newline; at most
 *             POLICY_ERRORS_MAX lines plus one counting the rest); may be NULL if not wanted
 * Errors: -errno (reading; -EINVAL for a non-regular file), JIT_E_POLICY (invalid document),
 * JIT_E_TOO_LARGE (over POLICY_FILE_MAX bytes), -ENOMEM. On error *@ret is untouched.
 */
int policy_load_file(const char *path, struct policy **ret, char **ret_error);

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
 * @explanation:  several lines: each rule considered, why it did or did not apply, and
 *                which one decided
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
 * critical options sorted and unique; an approval quorum only with POLICY_NEEDS_APPROVAL.
 * For POLICY_DENY: no principals, TTL 0, no options. policy_eval() runs this on every
 * decision it makes and turns a failure into a denial.
 * Errors: JIT_E_POLICY when an invariant does not hold.
 */
int policy_decision_check(const struct policy *p, const struct policy_request *req,
			  const struct policy_decision *d);
