/* SPDX-License-Identifier: ISC */
/*
 * internal.h - the policy module's own structures, shared by its .c files and its tests.
 * Nothing outside policy/ includes this: callers use policy.h.
 *
 *   ytree.c   YAML text -> a small tree of nodes with positions (libyaml events)
 *   tz.c      TZif files (RFC 8536) and POSIX TZ strings -> UTC offsets at an instant
 *   glob.c    host globs compiled for fast matching; glob inclusion for the lint
 *   load.c    tree -> validated, normalised struct policy; canonical form and version
 *   index.c   the lookup structures evaluation uses, built once after loading
 *   eval.c    struct policy + request -> decision; the invariant check; open logins
 *   lint.c    rules that can never apply (`policy check`)
 *   explain.c decisions and open logins as text and JSON
 *   policy.c  references, lookups, freeing
 */
#pragma once

#include <regex.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

/* ---- ytree.c ---------------------------------------------------------------------- */

enum ynode_type {
	YNODE_SCALAR,
	YNODE_SEQ,
	YNODE_MAP,
};

/*
 * struct ynode - one YAML node
 * @line, @col: where it starts, 1-based
 * @plain:      scalar written without quotes (only plain scalars can be numbers or booleans)
 * @value:      scalar text, NUL-terminated (YAML NUL escapes are refused)
 * @kids:       sequence items; for a mapping, keys and values alternating (key 2i, value 2i+1)
 */
struct ynode {
	enum ynode_type type;
	unsigned line, col;
	bool plain;
	char *value;
	struct ynode **kids;
	size_t n_kids;
	size_t cap;
};

/*
 * ytree_parse() - Parse one YAML document within the POLICY_* limits
 * @ret:       new tree (ytree_free())
 * @ret_line, @ret_col, @ret_msg: on JIT_E_POLICY, where and what (new string)
 * Refuses anchors, aliases, tags, several documents, non-scalar or duplicate mapping keys.
 * Errors: JIT_E_POLICY, -ENOMEM.
 */
int ytree_parse(const char *data, size_t len, struct ynode **ret, unsigned *ret_line,
		unsigned *ret_col, char **ret_msg);
struct ynode *ytree_free(struct ynode *n);
/* ytree_pos_cmp() - Order of two nodes in the document (<0, 0, >0). */
int ytree_pos_cmp(const struct ynode *x, const struct ynode *y);
void ytree_freep(struct ynode **n);

/* ---- tz.c ------------------------------------------------------------------------- */

/* A DST rule date: Jn (julian, no Feb 29), n (zero-based, with Feb 29) or Mm.w.d. */
struct tz_date {
	char kind; /* 'J', 'N' or 'M' */
	unsigned day, month, week;
	int32_t time_sec; /* local time of the change, -167h..167h */
};

struct tz {
	char *name;
	int64_t *times;		/* transitions, seconds since the epoch, ascending */
	uint8_t *types;		/* local time type index per transition */
	size_t n_times;
	int32_t *utoff;		/* UTC offset per local time type, seconds east */
	size_t n_types;
	bool has_footer;	/* the POSIX TZ string below governs after the last transition */
	int32_t std_utoff, dst_utoff;
	bool has_dst;
	struct tz_date start, end;
};

/* tz_name_valid() - A zone name we are willing to open under POLICY_ZONEINFO_DIR. */
bool tz_name_valid(const char *name);
/* tz_load() - Read zone @name from @dir (NULL: POLICY_ZONEINFO_DIR). Errors: -errno,
 * JIT_E_NAME (unsafe name), JIT_E_FORMAT, JIT_E_TOO_LARGE, -ENOMEM. */
int tz_load(const char *name, const char *dir, struct tz **ret);
/* tz_parse() - Parse TZif bytes (versions 1..4; leap-second zones refused). */
int tz_parse(const char *name, const uint8_t *data, size_t len, struct tz **ret);
/* tz_from_posix() - A zone from a POSIX TZ string alone ("CET-1CEST,M3.5.0,M10.5.0/3"). */
int tz_from_posix(const char *tzstr, struct tz **ret);
/* tz_utoff() - Seconds to add to UTC @t to get local time in @z. */
int32_t tz_utoff(const struct tz *z, int64_t t);
struct tz *tz_free(struct tz *z);
void tz_freep(struct tz **z);

/* ---- glob.c ------------------------------------------------------------------------ */

/*
 * struct policy_glob - a normalised host glob, compiled
 * @ops:        one per pattern position: a literal byte (< 256), any byte, '*', or a set
 * @sets:       256-bit sets of the bracket expressions, as fnmatch(3) reads them
 * @prefix_len: number of literal bytes before the first wildcard (all of them if none)
 */
struct policy_glob {
	uint16_t *ops;
	size_t n_ops;
	uint64_t (*sets)[4];
	size_t n_sets;
	size_t prefix_len;
};

/* policy_glob_compile() - Compile a glob the loader accepted. Errors: -ENOMEM, -EINVAL. */
int policy_glob_compile(const char *glob, struct policy_glob *ret);
void policy_glob_done(struct policy_glob *g);
/* policy_glob_match() - Same answer as fnmatch(glob, s, 0) == 0. */
bool policy_glob_match(const struct policy_glob *g, const char *s);
/*
 * policy_glob_subset() - Whether every valid host name @a matches is matched by @b
 * @ret: true only when that is certain (false may also mean "could not tell")
 * Errors: -ENOMEM.
 */
int policy_glob_subset(const struct policy_glob *a, const struct policy_glob *b, bool *ret);

/* ---- the loaded policy ------------------------------------------------------------- */

struct policy_user {
	char *name;
	bool disabled;
	struct key **keys;
	size_t n_keys;
	char **groups;		/* borrowed names of every group holding the user, sorted */
	size_t n_groups;
	uint32_t *group_ix;	/* index.c: the same groups as indexes into policy.groups */
	uint32_t *rule_ix;	/* index.c: rules naming the user in users, ascending */
	size_t n_rule_ix;
};

struct policy_group {
	char *name;
	char **users;		/* direct members, sorted */
	size_t n_users;
	char **subgroups;	/* groups whose members are members too, sorted */
	size_t n_subgroups;
	uint32_t *rule_ix;	/* index.c: rules naming the group in groups, ascending */
	size_t n_rule_ix;
};

struct policy_host {
	char *glob;		/* normalised glob */
	char **labels;		/* sorted */
	size_t n_labels;
	struct policy_glob g;	/* index.c */
};

struct policy_window {
	uint8_t days;		/* bit d set = weekday d (0 = Sunday) */
	uint16_t start_min;	/* minutes after local midnight */
	uint16_t end_min;	/* 1..1440; end <= start means the window crosses midnight */
	const struct tz *tz;	/* borrowed from struct policy */
};

#define POLICY_ANY "*"
#define POLICY_SELF "${user}"
#define POLICY_CLIENT "client"

struct policy_rule {
	char *name;
	unsigned line, col;	/* where the rule starts in the document */
	bool deny;
	char **users;		/* sorted; "*" = any enabled user */
	size_t n_users;
	char **groups;		/* sorted */
	size_t n_groups;
	char **hosts;		/* normalised globs, sorted */
	size_t n_hosts;
	struct policy_glob *host_g;	/* index.c: @hosts compiled */
	char **labels;		/* sorted */
	size_t n_labels;
	char **logins;		/* sorted; "*" = any login, "${user}" = the requester's name */
	size_t n_logins;
	struct policy_window *windows;
	size_t n_windows;
	bool has_windows;	/* false: always; true with no windows: never */
	/* allow rules only: */
	uint64_t default_ttl_sec;
	uint64_t max_ttl_sec;
	char **extensions;	/* sorted */
	size_t n_extensions;
	unsigned approvals;	/* 0 = none */
	unsigned approver_pool;	/* enabled users in the approver groups */
	char **approvers;	/* group names, sorted */
	size_t n_approvers;
	bool reason_required;
	char *reason_pattern;	/* NULL = any text */
	regex_t reason_re;
	char **sources;		/* canonical CIDRs and "client", in the order given */
	size_t n_sources;
	char *force_command;
};

/* index.c: the inventory globs whose literal prefix is @len bytes long, in host_order */
struct policy_prefix {
	size_t len;
	size_t start, end;
};

struct policy {
	atomic_uint refs;
	char *source;		/* the name the document was loaded under (for messages) */
	char *version;
	char *domain_suffix;	/* ".example.com" or NULL */
	uint64_t default_ttl_sec;
	uint64_t max_ttl_sec;
	struct policy_user *users;	/* sorted by name */
	size_t n_users;
	struct policy_group *groups;	/* sorted by name */
	size_t n_groups;
	struct policy_host *hosts;	/* sorted by glob */
	size_t n_hosts;
	struct policy_rule *rules;	/* in file order */
	size_t n_rules;
	struct tz **zones;
	size_t n_zones;
	/* index.c */
	uint32_t *any_rules;		/* rules whose users hold "*", ascending */
	size_t n_any_rules;
	uint32_t *rules_by_name;	/* all rules, ordered by name */
	uint32_t *host_order;		/* inventory, ordered by (prefix length, prefix) */
	struct policy_prefix *prefixes;	/* one per prefix length present, ascending */
	size_t n_prefixes;
};

/* policy.c; policy_strv_cmp also orders structs whose first member is their char * name */
struct policy *policy_free(struct policy *p);
const struct policy_user *policy_find_user(const struct policy *p, const char *name);
const struct policy_rule *policy_find_rule(const struct policy *p, const char *name);
int policy_strv_cmp(const void *a, const void *b);
bool policy_strv_has(char *const *v, size_t n, const char *s);
void policy_strv_free(char **v, size_t n);

/* load.c */
int policy_canonical(const struct policy *p, char **ret, size_t *ret_len);

/* Durations: "90s", "15m", "1h", "1h30m", or a plain integer meaning minutes. */
int policy_parse_duration(const char *s, uint64_t *ret_sec);
/* The shortest of those forms for @sec ("1h30m", "90s" -> "1m30s"), written to @buf. */
const char *policy_fmt_duration(uint64_t sec, char buf[static 32]);

/* index.c */
int policy_index(struct policy *p);
void policy_index_free(struct policy *p);
/* The labels of host @host (normalised) from the inventory: borrowed strings, sorted and
 * unique, in a new array. */
int policy_host_labels(const struct policy *p, const char *host, const char ***ret, size_t *ret_n);
