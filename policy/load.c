/* SPDX-License-Identifier: ISC */
/*
 * load.c - policy document (docs/policy.md) -> validated, normalised struct policy.
 *
 * The YAML tree (ytree.c) is walked section by section: settings, users, groups, hosts,
 * rules. Every problem is reported as "FILE:LINE:COLUMN: what is wrong" and loading goes on
 * to find more (the POLICY_ERRORS_MAX first by position are listed, sorted by line and
 * column, the rest counted); any problem fails the whole load. The
 * result is then serialised into a canonical form whose SHA-256 is the policy version.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "internal.h"
#include "names.h"
#include "util.h"

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/* One reported problem; the POLICY_ERRORS_MAX first by position are kept. */
struct lerror {
	unsigned line, col;
	unsigned seq;	/* order found, for problems at the same place */
	char *msg;	/* "NAME:LINE:COL: what is wrong" */
};

struct lctx {
	const char *name;
	struct lerror errs[POLICY_ERRORS_MAX];
	size_t n_errs;
	unsigned n_err;
	bool oom;
	struct policy *p;
	char **labels;		/* every label of the host inventory, sorted, unique */
	size_t n_labels;
	struct user_groups *ug;	/* users' own `groups` lists, read once groups are known */
	size_t n_ug;
};

struct user_groups {
	const char *user;	/* borrowed from struct policy_user */
	const struct ynode *list;
};

/* Each key node @k and value node @v of mapping @map (the counter is named after @k). */
#define MAP_FOREACH(map, k, v)                                                           \
	for (size_t k##_i = 0; k##_i + 1 < (map)->n_kids &&                              \
			       ((k) = (map)->kids[k##_i], (v) = (map)->kids[k##_i + 1], true); \
	     k##_i += 2)

static int lerror_cmp(const void *a, const void *b)
{
	const struct lerror *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Report a problem at @n. Problems are found section by section, not in file order; the
 * POLICY_ERRORS_MAX first by position are kept (sorted by lerrors_write()), the rest
 * counted. */
__attribute__((format(printf, 3, 4)))
static void lerr(struct lctx *c, const struct ynode *n, const char *fmt, ...)
{
	struct lerror e = { .line = n ? n->line : 1, .col = n ? n->col : 1, .seq = c->n_err++ };
	_cleanup_free_ char *what = NULL;
	struct lerror *last = NULL;
	va_list ap;
	int r;

	if (c->n_errs == POLICY_ERRORS_MAX) {
		for (size_t i = 0; i < c->n_errs; i++)
			if (!last || lerror_cmp(&c->errs[i], last) > 0)
				last = &c->errs[i];
		if (lerror_cmp(&e, last) > 0)
			return;
	}
	va_start(ap, fmt);
	r = vasprintf(&what, fmt, ap);
	va_end(ap);
	if (r < 0) {
		what = NULL; /* vasprintf() leaves it undefined on failure */
		c->oom = true;
		return;
	}
	if (asprintf(&e.msg, "%s:%u:%u: %s", c->name, e.line, e.col, what) < 0) {
		c->oom = true;
		return;
	}
	if (last) {
		free(last->msg);
		*last = e;
	} else {
		c->errs[c->n_errs++] = e;
	}
}

/* The kept problems in order of position, one per line, then how many were left out. */
static void lerrors_write(struct lctx *c, FILE *f)
{
	qsort(c->errs, c->n_errs, sizeof *c->errs, lerror_cmp);
	for (size_t i = 0; i < c->n_errs; i++)
		fprintf(f, "%s\n", c->errs[i].msg);
	if (c->n_err > c->n_errs)
		fprintf(f, "%s: %u more problems not shown\n", c->name,
			c->n_err - (unsigned)c->n_errs);
}

static void lerrors_free(struct lctx *c)
{
	for (size_t i = 0; i < c->n_errs; i++)
		free(c->errs[i].msg);
	c->n_errs = 0;
}

static void oom(struct lctx *c)
{
	c->oom = true;
}

static const char *describe(const struct ynode *n)
{
	if (n->type == YNODE_SEQ)
		return "a list";
	if (n->type == YNODE_MAP)
		return "a mapping";
	if (n->plain && (!*n->value || !strcmp(n->value, "~") || !strcmp(n->value, "null")))
		return "empty";
	return "text";
}

static bool want(struct lctx *c, const struct ynode *n, enum ynode_type t, const char *what)
{
	static const char *const names[] = { "text", "a list", "a mapping" };

	if (n->type == t && (t != YNODE_SCALAR || strcmp(describe(n), "empty") != 0))
		return true;
	lerr(c, n, "%s must be %s, not %s", what, names[t], describe(n));
	return false;
}

static const char *get_str(struct lctx *c, const struct ynode *n, const char *what)
{
	return want(c, n, YNODE_SCALAR, what) ? n->value : NULL;
}

static bool get_bool(struct lctx *c, const struct ynode *n, const char *what, bool *ret)
{
	if (n->type == YNODE_SCALAR && n->plain &&
	    (!strcmp(n->value, "true") || !strcmp(n->value, "false"))) {
		*ret = n->value[0] == 't';
		return true;
	}
	lerr(c, n, "%s must be true or false", what);
	return false;
}

static bool get_uint(struct lctx *c, const struct ynode *n, const char *what, unsigned min,
		     unsigned max, unsigned *ret)
{
	unsigned long v = 0;
	size_t len = n->type == YNODE_SCALAR ? strlen(n->value) : 0;

	if (n->type == YNODE_SCALAR && n->plain && len > 0 && len <= 6 &&
	    strspn(n->value, "0123456789") == len) {
		v = strtoul(n->value, NULL, 10);
		if (v >= min && v <= max) {
			*ret = (unsigned)v;
			return true;
		}
	}
	lerr(c, n, "%s must be a whole number from %u to %u", what, min, max);
	return false;
}

int policy_parse_duration(const char *s, uint64_t *ret_sec)
{
	static const char units[] = "hms";
	static const uint64_t mult[] = { 3600, 60, 1 };
	uint64_t total = 0;
	size_t next_unit = 0, len = strlen(s);

	if (len > 0 && len <= 6 && strspn(s, "0123456789") == len) {
		total = strtoull(s, NULL, 10) * 60;
	} else {
		while (*s) {
			size_t nd = strspn(s, "0123456789");
			const char *u;
			if (nd == 0 || nd > 6 || !s[nd] || !(u = strchr(units, s[nd])))
				return -EINVAL;
			if ((size_t)(u - units) < next_unit)
				return -EINVAL; /* units in order h, m, s, each once */
			next_unit = (size_t)(u - units) + 1;
			total += strtoull(s, NULL, 10) * mult[u - units];
			s += nd + 1;
		}
	}
	if (total == 0)
		return -EINVAL;
	*ret_sec = total;
	return 0;
}

const char *policy_fmt_duration(uint64_t sec, char buf[static 32])
{
	int n = 0;

	if (sec >= 3600)
		n += snprintf(buf + n, 32 - (size_t)n, "%" PRIu64 "h", sec / 3600);
	if (sec % 3600 >= 60)
		n += snprintf(buf + n, 32 - (size_t)n, "%" PRIu64 "m", sec % 3600 / 60);
	if (sec % 60 || sec == 0)
		snprintf(buf + n, 32 - (size_t)n, "%" PRIu64 "s", sec % 60);
	return buf;
}

static bool get_duration(struct lctx *c, const struct ynode *n, const char *what, uint64_t *ret)
{
	char buf[32];

	if (n->type == YNODE_SCALAR && policy_parse_duration(n->value, ret) == 0) {
		if (*ret <= POLICY_TTL_HARD_CAP_SEC)
			return true;
		lerr(c, n, "%s %s is above the hard cap of %s", what, n->value,
		     policy_fmt_duration(POLICY_TTL_HARD_CAP_SEC, buf));
		return false;
	}
	lerr(c, n, "%s must be a duration such as 90s, 15m, 1h or 1h30m, or whole minutes", what);
	return false;
}

/* The value under @key in mapping @map (which must have it). */
static const struct ynode *map_get(const struct ynode *map, const char *key)
{
	const struct ynode *k, *v;

	MAP_FOREACH(map, k, v)
		if (!strcmp(k->value, key))
			return v;
	return map;
}

static void unknown_key(struct lctx *c, const struct ynode *k, const char *where,
			const char *expected)
{
	lerr(c, k, "unknown key '%s' in %s (expected %s)", k->value, where, expected);
}

/* ---- string lists ---------------------------------------------------------------------- */

/* Returns NULL when @s is acceptable, else what is wrong with it; may rewrite *@s (new). */
typedef const char *(*item_check)(struct lctx *c, char **s);

struct item {
	char *s;
	const struct ynode *n;
};

static int item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int r = strcmp(x->s, y->s);

	return r ? r : ytree_pos_cmp(x->n, y->n);
}

/*
 * A list of text items: each checked (and perhaps rewritten) by @check, sorted, duplicates
 * reported. On success *@ret owns the strings (possibly none: an empty list).
 */
static bool get_list(struct lctx *c, const struct ynode *n, const char *what, item_check check,
		     char ***ret, size_t *ret_n)
{
	struct item *items;
	size_t k = 0;
	bool ok = true;

	if (!want(c, n, YNODE_SEQ, what))
		return false;
	items = calloc(n->n_kids + 1, sizeof *items);
	if (!items) {
		oom(c);
		return false;
	}
	for (size_t i = 0; i < n->n_kids; i++) {
		const struct ynode *it = n->kids[i];
		const char *why;
		char *s;
		if (!get_str(c, it, what)) {
			ok = false;
			continue;
		}
		if (!(s = strdup(it->value))) {
			oom(c);
			ok = false;
			break;
		}
		if (check && (why = check(c, &s))) {
			lerr(c, it, "%s: '%s' %s", what, it->value, why);
			free(s);
			ok = false;
			continue;
		}
		items[k++] = (struct item){ s, it };
	}
	qsort(items, k, sizeof *items, item_cmp);
	for (size_t i = 1; i < k; i++)
		if (!strcmp(items[i].s, items[i - 1].s)) {
			lerr(c, items[i].n, "%s: '%s' is listed twice", what, items[i].n->value);
			ok = false;
		}
	if (ok) {
		char **v = calloc(k + 1, sizeof *v);
		if (!v) {
			oom(c);
			ok = false;
		} else {
			for (size_t i = 0; i < k; i++)
				v[i] = TAKE_PTR(items[i].s);
			*ret = v;
			*ret_n = k;
		}
	}
	for (size_t i = 0; i < k; i++)
		free(items[i].s);
	free(items);
	return ok;
}

#define SAFE_NAME                                                                       \
	"is not a safe name (letters, digits, '.', '_', '-'; not starting with '.' or '-')"

static const char *check_safe_name(struct lctx *c, char **s)
{
	(void)c;
	return name_login_valid(*s) ? NULL : SAFE_NAME;
}

static const char *check_user_ref(struct lctx *c, char **s)
{
	if (!strcmp(*s, POLICY_ANY))
		return NULL;
	return policy_find_user(c->p, *s) ? NULL : "is not a user defined under users";
}

static bool group_exists(const struct policy *p, const char *name)
{
	struct policy_group key = { .name = (char *)name };
	return p->groups && bsearch(&key, p->groups, p->n_groups, sizeof key, policy_strv_cmp);
}

static const char *check_group_ref(struct lctx *c, char **s)
{
	return group_exists(c->p, *s) ? NULL : "is not a group defined under groups";
}

static const char *check_label_ref(struct lctx *c, char **s)
{
	if (!policy_strv_has(c->labels, c->n_labels, *s))
		return "is not a label of any host under hosts";
	return NULL;
}

static const char *check_login(struct lctx *c, char **s)
{
	(void)c;
	if (!strcmp(*s, POLICY_ANY) || !strcmp(*s, POLICY_SELF))
		return NULL;
	if (strstr(*s, "${"))
		return "uses an unknown variable (only ${user}, alone, is known)";
	return name_login_valid(*s) ? NULL : "is not a safe login name";
}

static const char *const known_extensions[] = {
	"no-touch-required",	  "permit-X11-forwarding", "permit-agent-forwarding",
	"permit-port-forwarding", "permit-pty",		   "permit-user-rc",
};

static const char *check_extension(struct lctx *c, char **s)
{
	(void)c;
	for (size_t i = 0; i < ELEMENTSOF(known_extensions); i++)
		if (!strcmp(*s, known_extensions[i]))
			return NULL;
	return "is not a known extension (no-touch-required, permit-X11-forwarding, "
	       "permit-agent-forwarding, permit-port-forwarding, permit-pty, permit-user-rc)";
}

/* A host glob: lower case, no trailing dot, the domain suffix removed, then only host-name
 * characters, '*', '?' and bracket expressions such as [0-9] or [!a]. */
static const char *glob_normalize(const char *suffix, char *g)
{
	size_t n = strlen(g), m = suffix ? strlen(suffix) : 0;

	for (size_t i = 0; i < n; i++)
		if (g[i] >= 'A' && g[i] <= 'Z')
			g[i] = (char)(g[i] - 'A' + 'a');
	if (n > 0 && g[n - 1] == '.')
		g[--n] = 0;
	if (m && n > m && !strcmp(g + n - m, suffix))
		g[n -= m] = 0;
	if (n == 0 || n > HOST_NAME_MAX_LEN)
		return "is empty or longer than a host name";
	for (size_t i = 0; i < n; i++) {
		char ch = g[i];
		if (ch == '[') {
			size_t j = i + 1, k;
			if (g[j] == '!' || g[j] == '^')
				j++;
			for (k = j; g[k] && g[k] != ']'; k++)
				if (!((g[k] >= 'a' && g[k] <= 'z') ||
				      (g[k] >= '0' && g[k] <= '9') || g[k] == '-' || g[k] == '.'))
					return "has a bracket expression with a character other "
					       "than a-z, 0-9, '-' and '.'";
			if (!g[k])
				return "has '[' without ']'";
			if (k == j)
				return "has an empty bracket expression";
			i = k;
		} else if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
			     ch == '.' || ch == '*' || ch == '?')) {
			return "is not a host glob (letters, digits, '-', '.', '*', '?', [...])";
		}
	}
	return NULL;
}

static const char *check_glob(struct lctx *c, char **s)
{
	return glob_normalize(c->p->domain_suffix, *s);
}

/* "client", an IPv4/IPv6 address, or a CIDR block with no host bits set; made canonical. */
static const char *check_source(struct lctx *c, char **s)
{
	char addr[INET6_ADDRSTRLEN + 8], out[INET6_ADDRSTRLEN + 8];
	unsigned char bin[16];
	char *slash;
	int af = AF_INET;
	unsigned long bits;
	size_t full;

	if (!strcmp(*s, POLICY_CLIENT))
		return NULL;
	if (strlen(*s) >= sizeof addr)
		return "is not an address or CIDR block";
	strcpy(addr, *s);
	slash = strchr(addr, '/');
	if (slash)
		*slash = 0;
	if (inet_pton(AF_INET, addr, bin) != 1) {
		af = AF_INET6;
		if (inet_pton(AF_INET6, addr, bin) != 1)
			return "is not an address or CIDR block";
	}
	full = af == AF_INET ? 32 : 128;
	bits = full;
	if (slash) {
		size_t nd = strspn(slash + 1, "0123456789");
		if (nd == 0 || nd > 3 || slash[1 + nd])
			return "has a bad prefix length";
		bits = strtoul(slash + 1, NULL, 10);
		if (bits > full)
			return "has a bad prefix length";
		for (size_t b = bits; b < full; b++)
			if (bin[b / 8] & (0x80 >> (b % 8)))
				return "has bits set after its prefix length";
	}
	inet_ntop(af, bin, out, sizeof out);
	if (slash) {
		size_t l = strlen(out);
		snprintf(out + l, sizeof out - l, "/%lu", bits);
	}
	free(*s);
	if (!(*s = strdup(out)))
		oom(c);
	return *s ? NULL : "could not be copied (out of memory)";
}

/* ---- settings -------------------------------------------------------------------------- */

static void load_settings(struct lctx *c, const struct ynode *n)
{
	const struct ynode *k, *v, *dflt_node = NULL;
	struct policy *p = c->p;
	char b1[32], b2[32];

	if (!want(c, n, YNODE_MAP, "settings"))
		return;
	MAP_FOREACH(n, k, v) {
		if (!strcmp(k->value, "domain_suffix")) {
			const char *s = get_str(c, v, "domain_suffix");
			_cleanup_free_ char *norm = NULL;
			if (!s)
				continue;
			if (host_normalize(s[0] == '.' ? s + 1 : s, NULL, &norm) < 0) {
				lerr(c, v, "domain_suffix '%s' is not a domain name", s);
				continue;
			}
			free(p->domain_suffix);
			if (asprintf(&p->domain_suffix, ".%s", norm) < 0) {
				p->domain_suffix = NULL;
				oom(c);
			}
		} else if (!strcmp(k->value, "default_ttl")) {
			if (get_duration(c, v, "default_ttl", &p->default_ttl_sec))
				dflt_node = v;
		} else if (!strcmp(k->value, "max_ttl")) {
			get_duration(c, v, "max_ttl", &p->max_ttl_sec);
		} else {
			unknown_key(c, k, "settings", "domain_suffix, default_ttl or max_ttl");
		}
	}
	if (p->default_ttl_sec > p->max_ttl_sec) {
		if (dflt_node)
			lerr(c, dflt_node, "default_ttl %s is above max_ttl %s",
			     policy_fmt_duration(p->default_ttl_sec, b1),
			     policy_fmt_duration(p->max_ttl_sec, b2));
		else
			p->default_ttl_sec = p->max_ttl_sec;
	}
}

/* ---- users ----------------------------------------------------------------------------- */

struct key_seen {
	char *line;
	const struct ynode *n;
	const char *user;
};

static int key_seen_cmp(const void *a, const void *b)
{
	const struct key_seen *x = a, *y = b;
	int r = strcmp(x->line, y->line);

	return r ? r : ytree_pos_cmp(x->n, y->n);
}

struct key_seen_list {
	struct key_seen *v;
	size_t n, cap;
};

static int seen_add(struct key_seen_list *l, char *line, const struct ynode *n, const char *user)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct key_seen *v = reallocarray(l->v, cap, sizeof *v);
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct key_seen){ line, n, user };
	return 0;
}

static void defer_user_groups(struct lctx *c, const char *user, const struct ynode *list)
{
	struct user_groups *v = reallocarray(c->ug, c->n_ug + 1, sizeof *v);

	if (!v)
		return oom(c);
	c->ug = v;
	c->ug[c->n_ug++] = (struct user_groups){ user, list };
}

static void load_user(struct lctx *c, const struct ynode *k, const struct ynode *v,
		      struct policy_user *u, struct key_seen_list *seen)
{
	const struct ynode *keys = NULL;

	if (!name_user_valid(k->value))
		lerr(c, k, "user name '%s' is not safe (letters, digits, '.', '_', '-', '@'; "
			   "not starting with '.' or '-')", k->value);
	if (!(u->name = strdup(k->value)))
		return oom(c);
	if (v->type == YNODE_SEQ) {
		keys = v;
	} else if (want(c, v, YNODE_MAP, "a user")) {
		const struct ynode *kk, *vv;
		MAP_FOREACH(v, kk, vv) {
			if (!strcmp(kk->value, "keys"))
				keys = vv;
			else if (!strcmp(kk->value, "disabled"))
				get_bool(c, vv, "disabled", &u->disabled);
			else if (!strcmp(kk->value, "groups"))
				defer_user_groups(c, u->name, vv);
			else
				unknown_key(c, kk, "a user", "keys, groups or disabled");
		}
	} else {
		return;
	}
	if (!keys) {
		if (!u->disabled)
			lerr(c, v, "user '%s' has no keys", u->name);
		return;
	}
	if (!want(c, keys, YNODE_SEQ, "keys"))
		return;
	if (keys->n_kids > POLICY_USER_KEYS_MAX) {
		lerr(c, keys, "user '%s' has more than %d keys", u->name, POLICY_USER_KEYS_MAX);
		return;
	}
	if (keys->n_kids == 0 && !u->disabled)
		lerr(c, keys, "user '%s' has no keys", u->name);
	u->keys = calloc(keys->n_kids + 1, sizeof *u->keys);
	if (!u->keys)
		return oom(c);
	for (size_t i = 0; i < keys->n_kids; i++) {
		const struct ynode *kn = keys->kids[i];
		struct key *key = NULL;
		char *line = NULL;
		int r;
		if (!get_str(c, kn, "a key"))
			continue;
		r = key_from_line(kn->value, &key, NULL);
		if (r == -ENOMEM)
			return oom(c);
		if (r < 0) {
			lerr(c, kn, "key of user '%s' is not usable: %s", u->name, jit_strerror(r));
			continue;
		}
		u->keys[u->n_keys++] = key;
		if (key_to_line(key, NULL, &line) < 0)
			return oom(c);
		if (seen_add(seen, line, kn, u->name) < 0) {
			free(line);
			return oom(c);
		}
	}
}

static int user_cmp(const void *a, const void *b)
{
	return strcmp(((const struct policy_user *)a)->name, ((const struct policy_user *)b)->name);
}

static void load_users(struct lctx *c, const struct ynode *n)
{
	struct policy *p = c->p;
	const struct ynode *k, *v;
	struct key_seen_list seen = { 0 };
	size_t i = 0;

	if (!want(c, n, YNODE_MAP, "users"))
		return;
	p->users = calloc(n->n_kids / 2 + 1, sizeof *p->users);
	if (!p->users)
		return oom(c);
	MAP_FOREACH(n, k, v) {
		load_user(c, k, v, &p->users[i++], &seen);
		p->n_users = i;
		if (c->oom)
			break;
	}
	if (!c->oom) {
		for (size_t j = 0; j < p->n_users; j++)
			if (!p->users[j].name)
				oom(c);
	}
	if (!c->oom)
		qsort(p->users, p->n_users, sizeof *p->users, user_cmp);
	if (seen.n)
		qsort(seen.v, seen.n, sizeof *seen.v, key_seen_cmp);
	for (size_t j = 1; j < seen.n; j++)
		if (!strcmp(seen.v[j].line, seen.v[j - 1].line))
			lerr(c, seen.v[j].n, "this key is already enrolled for user '%s' (line %u)",
			     seen.v[j - 1].user, seen.v[j - 1].n->line);
	for (size_t j = 0; j < seen.n; j++)
		free(seen.v[j].line);
	free(seen.v);
}

/* ---- groups ---------------------------------------------------------------------------- */

static size_t group_index(const struct policy *p, const char *name)
{
	struct policy_group key = { .name = (char *)name };
	const struct policy_group *g = bsearch(&key, p->groups, p->n_groups, sizeof key,
					       policy_strv_cmp);
	return g ? (size_t)(g - p->groups) : SIZE_MAX;
}

static int user_add_group(struct policy_user *u, char *g)
{
	char **v;

	if (u->n_groups && u->groups[u->n_groups - 1] == g)
		return 0;
	v = reallocarray(u->groups, u->n_groups + 1, sizeof *v);
	if (!v)
		return -ENOMEM;
	u->groups = v;
	u->groups[u->n_groups++] = g;
	return 0;
}

/* Reports each cycle once, at the group where the walk found it closing. */
static bool groups_acyclic(struct lctx *c, const struct ynode *const *where)
{
	struct policy *p = c->p;
	size_t n = p->n_groups;
	_cleanup_free_ uint8_t *color = calloc(n + 1, 1);	/* 0 new, 1 on path, 2 done */
	_cleanup_free_ size_t *stack = calloc(n + 1, sizeof *stack);
	_cleanup_free_ size_t *next = calloc(n + 1, sizeof *next);
	bool ok = true;

	if (!color || !stack || !next) {
		oom(c);
		return false;
	}
	for (size_t root = 0; root < n; root++) {
		size_t depth = 0;
		if (color[root])
			continue;
		stack[depth++] = root;
		color[root] = 1;
		next[root] = 0;
		while (depth) {
			size_t g = stack[depth - 1];
			if (next[g] == p->groups[g].n_subgroups) {
				color[g] = 2;
				depth--;
				continue;
			}
			size_t h = group_index(p, p->groups[g].subgroups[next[g]++]);
			if (h == SIZE_MAX || color[h] == 2)
				continue;
			if (color[h] == 1) {
				char path[512];
				int len = 0;
				size_t from = 0;
				while (stack[from] != h)
					from++;
				for (size_t i = from; i < depth && len < (int)sizeof path - 1; i++)
					len += snprintf(path + len, sizeof path - (size_t)len,
							"%s -> ", p->groups[stack[i]].name);
				if (len < (int)sizeof path - 1)
					snprintf(path + len, sizeof path - (size_t)len, "%s",
						 p->groups[h].name);
				lerr(c, where[g], "groups form a cycle: %s", path);
				ok = false;
				continue;
			}
			color[h] = 1;
			next[h] = 0;
			stack[depth++] = h;
		}
	}
	return ok;
}

/* Every user learns every group it belongs to, directly or through subgroups. */
static void groups_close(struct lctx *c, const struct ynode *where)
{
	struct policy *p = c->p;
	size_t n = p->n_groups, work = 0;
	_cleanup_free_ size_t *visited = calloc(n + 1, sizeof *visited);
	_cleanup_free_ size_t *stack = calloc(n + 1, sizeof *stack);

	if (!visited || !stack)
		return oom(c);
	for (size_t g = 0; g < n; g++) {
		size_t depth = 0;
		stack[depth++] = g;
		visited[g] = g + 1;
		while (depth) {
			const struct policy_group *h = &p->groups[stack[--depth]];
			work += 1 + h->n_users;
			if (work > POLICY_MEMBERSHIPS_MAX) {
				lerr(c, where, "groups hold more than %u memberships once subgroups "
					       "are expanded", POLICY_MEMBERSHIPS_MAX);
				return;
			}
			for (size_t i = 0; i < h->n_users; i++) {
				struct policy_user *u = (struct policy_user *)policy_find_user(
					p, h->users[i]);
				if (u && user_add_group(u, p->groups[g].name) < 0)
					return oom(c);
			}
			for (size_t i = 0; i < h->n_subgroups; i++) {
				size_t s = group_index(p, h->subgroups[i]);
				if (s != SIZE_MAX && visited[s] != g + 1) {
					visited[s] = g + 1;
					stack[depth++] = s;
				}
			}
		}
	}
	for (size_t i = 0; i < p->n_users; i++) {
		struct policy_user *u = &p->users[i];
		size_t k = 0;
		if (u->n_groups)
			qsort(u->groups, u->n_groups, sizeof *u->groups, policy_strv_cmp);
		for (size_t j = 0; j < u->n_groups; j++)
			if (k == 0 || strcmp(u->groups[k - 1], u->groups[j]))
				u->groups[k++] = u->groups[j];
		u->n_groups = k;
	}
}

/* Insert a copy of @s into the sorted list @v of @n strings. */
static int strv_insert_sorted(char ***v, size_t *n, const char *s)
{
	char **w = reallocarray(*v, *n + 2, sizeof *w), *copy;
	size_t at = 0;

	if (!w)
		return -ENOMEM;
	*v = w;
	if (!(copy = strdup(s)))
		return -ENOMEM;
	while (at < *n && strcmp(w[at], s) < 0)
		at++;
	memmove(w + at + 1, w + at, (*n - at) * sizeof *w);
	w[at] = copy;
	w[++*n] = NULL;
	return 0;
}

/* Each user's own `groups` list makes the user a direct member of those groups (the same as
 * listing the user in each group). */
static void join_user_groups(struct lctx *c)
{
	struct policy *p = c->p;

	for (size_t i = 0; i < c->n_ug && !c->oom; i++) {
		char **names = NULL;
		size_t n = 0;
		if (!get_list(c, c->ug[i].list, "groups", check_group_ref, &names, &n))
			continue;
		for (size_t j = 0; j < n; j++) {
			struct policy_group *g = &p->groups[group_index(p, names[j])];
			if (!policy_strv_has(g->users, g->n_users, c->ug[i].user) &&
			    strv_insert_sorted(&g->users, &g->n_users, c->ug[i].user) < 0) {
				oom(c);
				break;
			}
		}
		policy_strv_free(names, n);
	}
}

static void load_groups(struct lctx *c, const struct ynode *n)
{
	struct policy *p = c->p;
	const struct ynode *k, *v;
	_cleanup_free_ const struct ynode **where = NULL;
	size_t i = 0;

	if (!want(c, n, YNODE_MAP, "groups"))
		return;
	p->groups = calloc(n->n_kids / 2 + 1, sizeof *p->groups);
	where = calloc(n->n_kids / 2 + 1, sizeof *where);
	if (!p->groups || !where)
		return oom(c);
	/* names first, so that groups may name groups defined further down */
	MAP_FOREACH(n, k, v) {
		if (!name_login_valid(k->value))
			lerr(c, k, "group name '%s' is not safe (letters, digits, '.', '_', '-'; "
				   "not starting with '.' or '-')", k->value);
		if (!(p->groups[i++].name = strdup(k->value)))
			return oom(c);
		p->n_groups = i;
	}
	qsort(p->groups, p->n_groups, sizeof *p->groups, policy_strv_cmp);
	MAP_FOREACH(n, k, v) {
		struct policy_group *g = &p->groups[group_index(p, k->value)];
		where[g - p->groups] = k;
		if (v->type == YNODE_SEQ) {
			get_list(c, v, "group members", check_user_ref, &g->users, &g->n_users);
		} else if (want(c, v, YNODE_MAP, "a group")) {
			const struct ynode *kk, *vv;
			MAP_FOREACH(v, kk, vv) {
				if (!strcmp(kk->value, "users"))
					get_list(c, vv, "users", check_user_ref, &g->users,
						 &g->n_users);
				else if (!strcmp(kk->value, "groups"))
					get_list(c, vv, "groups", check_group_ref, &g->subgroups,
						 &g->n_subgroups);
				else
					unknown_key(c, kk, "a group", "users or groups");
			}
		}
		if (policy_strv_has(g->users, g->n_users, POLICY_ANY))
			lerr(c, v, "group '%s': '*' is not allowed in a group", g->name);
	}
	join_user_groups(c);
	if (!c->oom && groups_acyclic(c, where))
		groups_close(c, n);
}

/* ---- hosts ----------------------------------------------------------------------------- */

/* Labels written as a mapping, {env: prod, role: db}, are the labels "env=prod" and
 * "role=db". */
static void load_label_map(struct lctx *c, const struct ynode *n, struct policy_host *h)
{
	const struct ynode *k, *v;

	h->labels = calloc(n->n_kids / 2 + 1, sizeof *h->labels);
	if (!h->labels)
		return oom(c);
	MAP_FOREACH(n, k, v) {
		char *label;
		if (!name_login_valid(k->value)) {
			lerr(c, k, "host label '%s' %s", k->value, SAFE_NAME);
			continue;
		}
		if (!get_str(c, v, "a host label value"))
			continue;
		if (!name_login_valid(v->value)) {
			lerr(c, v, "host label value '%s' %s", v->value, SAFE_NAME);
			continue;
		}
		if (asprintf(&label, "%s=%s", k->value, v->value) < 0)
			return oom(c);
		h->labels[h->n_labels++] = label;
	}
	qsort(h->labels, h->n_labels, sizeof *h->labels, policy_strv_cmp);
}

static void load_hosts(struct lctx *c, const struct ynode *n)
{
	struct policy *p = c->p;
	const struct ynode *k, *v;
	struct item *globs;
	size_t total = 0, i = 0;

	if (!want(c, n, YNODE_MAP, "hosts"))
		return;
	p->hosts = calloc(n->n_kids / 2 + 1, sizeof *p->hosts);
	globs = calloc(n->n_kids / 2 + 1, sizeof *globs);
	if (!p->hosts || !globs) {
		free(globs);
		return oom(c);
	}
	MAP_FOREACH(n, k, v) {
		struct policy_host *h = &p->hosts[i++];
		const char *why;
		p->n_hosts = i;
		if (!(h->glob = strdup(k->value))) {
			free(globs);
			return oom(c);
		}
		if ((why = glob_normalize(p->domain_suffix, h->glob)))
			lerr(c, k, "host '%s' %s", k->value, why);
		globs[i - 1] = (struct item){ h->glob, k };
		if (v->type == YNODE_MAP)
			load_label_map(c, v, h);
		else
			get_list(c, v, "host labels", check_safe_name, &h->labels, &h->n_labels);
		total += h->n_labels;
	}
	qsort(globs, p->n_hosts, sizeof *globs, item_cmp);
	for (size_t j = 1; j < p->n_hosts; j++)
		if (!strcmp(globs[j].s, globs[j - 1].s))
			lerr(c, globs[j].n, "host '%s' is the same as '%s' (line %u)",
			     globs[j].n->value, globs[j - 1].n->value, globs[j - 1].n->line);
	free(globs);
	qsort(p->hosts, p->n_hosts, sizeof *p->hosts, policy_strv_cmp);
	c->labels = calloc(total + 1, sizeof *c->labels);
	if (!c->labels)
		return oom(c);
	for (size_t j = 0; j < p->n_hosts; j++)
		for (size_t l = 0; l < p->hosts[j].n_labels; l++)
			c->labels[c->n_labels++] = p->hosts[j].labels[l];
	qsort(c->labels, c->n_labels, sizeof *c->labels, policy_strv_cmp);
	i = 0;
	for (size_t j = 0; j < c->n_labels; j++)
		if (i == 0 || strcmp(c->labels[i - 1], c->labels[j]))
			c->labels[i++] = c->labels[j];
	c->n_labels = i;
}

/* ---- rules ----------------------------------------------------------------------------- */

static const char *const day_names[7] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

static int day_index(const char *s, size_t len)
{
	for (int d = 0; d < 7; d++)
		if (len == 3 && !strncmp(s, day_names[d], 3))
			return d;
	return -1;
}

static bool parse_days(struct lctx *c, const struct ynode *n, uint8_t *ret)
{
	uint8_t days = 0;

	if (!want(c, n, YNODE_SEQ, "days"))
		return false;
	for (size_t i = 0; i < n->n_kids; i++) {
		const struct ynode *it = n->kids[i];
		const char *s = get_str(c, it, "a day"), *dash;
		int a, b;
		if (!s)
			return false;
		dash = strchr(s, '-');
		a = day_index(s, dash ? (size_t)(dash - s) : strlen(s));
		b = dash ? day_index(dash + 1, strlen(dash + 1)) : a;
		if (a < 0 || b < 0) {
			lerr(c, it, "day '%s' is not one of sun, mon, tue, wed, thu, fri, sat or a "
				    "range such as mon-fri", s);
			return false;
		}
		for (int d = a;; d = (d + 1) % 7) {
			days = (uint8_t)(days | 1u << d);
			if (d == b)
				break;
		}
	}
	*ret = days;
	return true;
}

static bool parse_hhmm(const char *s, bool end, unsigned *ret)
{
	unsigned h, m;

	if (strlen(s) != 5 || strspn(s, "0123456789") != 2 || s[2] != ':' ||
	    strspn(s + 3, "0123456789") != 2)
		return false;
	h = (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
	m = (unsigned)(s[3] - '0') * 10 + (unsigned)(s[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && (m != 0 || !end)))
		return false;
	*ret = h * 60 + m;
	return true;
}

static bool parse_hours(struct lctx *c, const struct ynode *n, struct policy_window *w)
{
	const char *s = get_str(c, n, "hours");
	char a[8] = "", b[8] = "";
	const char *dash;
	unsigned start, end;

	if (!s)
		return false;
	dash = strchr(s, '-');
	if (dash && dash - s < (int)sizeof a && strlen(dash + 1) < sizeof b) {
		memcpy(a, s, (size_t)(dash - s));
		strcpy(b, dash + 1);
	}
	if (!dash || !parse_hhmm(a, false, &start) || !parse_hhmm(b, true, &end)) {
		lerr(c, n, "hours '%s' must look like 09:00-17:30 (24-hour clock; 24:00 may end "
			   "a window)", s);
		return false;
	}
	if (start == end) {
		lerr(c, n, "hours '%s' is an empty window", s);
		return false;
	}
	w->start_min = (uint16_t)start;
	w->end_min = (uint16_t)end;
	return true;
}

static const struct tz *get_zone(struct lctx *c, const struct ynode *n, const char *name)
{
	struct policy *p = c->p;
	struct tz *z = NULL, **zones;
	int r;

	if (!name)
		return NULL;
	for (size_t i = 0; i < p->n_zones; i++)
		if (!strcmp(p->zones[i]->name, name))
			return p->zones[i];
	r = tz_load(name, NULL, &z);
	if (r == -ENOMEM) {
		oom(c);
		return NULL;
	}
	if (r < 0) {
		lerr(c, n, "timezone '%s' %s", name,
		     r == -ENOENT || r == JIT_E_NAME || r == -EISDIR || r == -ENOTDIR ?
			     "is not a known time zone (IANA names such as Europe/Berlin or UTC)" :
			     "could not be read from " POLICY_ZONEINFO_DIR);
		return NULL;
	}
	zones = reallocarray(p->zones, p->n_zones + 1, sizeof *zones);
	if (!zones) {
		tz_free(z);
		oom(c);
		return NULL;
	}
	p->zones = zones;
	p->zones[p->n_zones++] = z;
	return z;
}

static bool load_window(struct lctx *c, const struct ynode *n, struct policy_window *w)
{
	const struct ynode *k, *v;
	bool ok = true;

	*w = (struct policy_window){ .days = 0x7f, .start_min = 0, .end_min = 1440 };
	if (!want(c, n, YNODE_MAP, "a time window"))
		return false;
	MAP_FOREACH(n, k, v) {
		if (!strcmp(k->value, "days"))
			ok &= parse_days(c, v, &w->days);
		else if (!strcmp(k->value, "hours"))
			ok &= parse_hours(c, v, w);
		else if (!strcmp(k->value, "timezone"))
			ok &= (w->tz = get_zone(c, v, get_str(c, v, "timezone"))) != NULL;
		else {
			unknown_key(c, k, "a time window", "days, hours or timezone");
			ok = false;
		}
	}
	if (ok && !w->tz)
		ok = (w->tz = get_zone(c, n, "UTC")) != NULL;
	return ok;
}

static void load_when(struct lctx *c, const struct ynode *n, struct policy_rule *r)
{
	size_t count = n->type == YNODE_SEQ ? n->n_kids : 1;

	r->has_windows = true;
	if (n->type != YNODE_SEQ && !want(c, n, YNODE_MAP, "when"))
		return;
	if (count > POLICY_WINDOWS_MAX) {
		lerr(c, n, "more than %d time windows", POLICY_WINDOWS_MAX);
		return;
	}
	r->windows = calloc(count + 1, sizeof *r->windows);
	if (!r->windows)
		return oom(c);
	for (size_t i = 0; i < count; i++)
		if (load_window(c, n->type == YNODE_SEQ ? n->kids[i] : n, &r->windows[i]))
			r->n_windows++;
}

static void load_approvals(struct lctx *c, const struct ynode *n, struct policy_rule *r)
{
	const struct ynode *k, *v, *from = NULL;
	struct policy *p = c->p;
	unsigned count = 0;
	bool count_seen = false, from_seen = false;

	if (n->type == YNODE_SCALAR && !strcmp(n->value, "none"))
		return;
	if (n->type != YNODE_MAP) {
		lerr(c, n, "approvals must be none or a mapping {count: N, from: [groups]}");
		return;
	}
	MAP_FOREACH(n, k, v) {
		if (!strcmp(k->value, "count")) {
			count_seen = true;
			get_uint(c, v, "approvals count", 1, POLICY_APPROVALS_MAX, &count);
		} else if (!strcmp(k->value, "from")) {
			from_seen = true;
			if (get_list(c, v, "approvals from", check_group_ref, &r->approvers,
				     &r->n_approvers))
				from = v;
		} else {
			unknown_key(c, k, "approvals", "count or from");
		}
	}
	if (!count_seen || !from_seen)
		lerr(c, n, "approvals needs both count and from");
	if (!count || !from)
		return;
	if (r->n_approvers == 0) {
		lerr(c, from, "approvals from must name at least one group");
		return;
	}
	r->approvals = count;
	for (size_t i = 0; i < p->n_users; i++) {
		const struct policy_user *u = &p->users[i];
		if (u->disabled)
			continue;
		for (size_t j = 0; j < u->n_groups; j++)
			if (policy_strv_has(r->approvers, r->n_approvers, u->groups[j])) {
				r->approver_pool++;
				break;
			}
	}
	if (r->approver_pool < count)
		lerr(c, n, "approvals count %u is more than the %u enabled members of its groups",
		     count, r->approver_pool);
}

/*
 * What makes reason pattern @pat unsafe to compile or run, or NULL: back-references (a GNU
 * extension to POSIX EREs that can make matching take exponential time) and repetition
 * counts ({m,n}) whose product exceeds POLICY_PATTERN_REPEAT_MAX (regcomp(3) copies the
 * repeated part that many times: "(a{1,100}){1,100}" takes 100 MiB).
 */
static const char *pattern_why(const char *pat)
{
	unsigned long product = 1;

	for (const char *s = pat; *s; s++) {
		if (*s == '\\') {
			if (s[1] >= '1' && s[1] <= '9')
				return "uses a back-reference (\\1 to \\9), which can make "
				       "matching take exponential time";
			if (s[1])
				s++;
		} else if (*s == '[') {
			/* a bracket expression: ']' first is literal; [:class:] [.x.] [=x=] */
			s += 1 + (s[1] == '^');
			s += *s == ']';
			while (*s && *s != ']') {
				if (*s == '[' && (s[1] == ':' || s[1] == '.' || s[1] == '=')) {
					const char *end = strchr(s + 2, s[1]);
					while (end && end[1] != ']')
						end = strchr(end + 1, s[1]);
					if (!end)
						return NULL; /* regcomp(3) will say what is wrong */
					s = end + 1;
				}
				s++;
			}
			if (!*s)
				return NULL;
		} else if (*s == '{' && s[1] >= '0' && s[1] <= '9') {
			unsigned long m = 0, k = 0;
			for (s++; *s >= '0' && *s <= '9' && m <= POLICY_PATTERN_REPEAT_MAX; s++)
				m = m * 10 + (unsigned long)(*s - '0');
			if (*s == ',')
				for (s++; *s >= '0' && *s <= '9' && k <= POLICY_PATTERN_REPEAT_MAX;
				     s++)
					k = k * 10 + (unsigned long)(*s - '0');
			product *= (k > m ? k : m) ? (k > m ? k : m) : 1;
			if (product > POLICY_PATTERN_REPEAT_MAX)
				return "repeats more than " STRINGIFY(POLICY_PATTERN_REPEAT_MAX)
				       " times in all (the product of its {m,n} counts)";
			s--;
		}
	}
	return NULL;
}

static void load_reason(struct lctx *c, const struct ynode *n, struct policy_rule *r)
{
	const char *why;
	const struct ynode *k, *v, *pat = NULL;
	bool required = false, required_set = false;

	if (n->type == YNODE_SCALAR && !strcmp(n->value, "required")) {
		r->reason_required = true;
		return;
	}
	if (n->type != YNODE_MAP) {
		lerr(c, n, "reason must be required or a mapping {required: true, pattern: ...}");
		return;
	}
	MAP_FOREACH(n, k, v) {
		if (!strcmp(k->value, "required")) {
			required_set = get_bool(c, v, "required", &required);
		} else if (!strcmp(k->value, "pattern")) {
			pat = get_str(c, v, "pattern") ? v : NULL;
		} else {
			unknown_key(c, k, "reason", "required or pattern");
		}
	}
	r->reason_required = required_set ? required : pat != NULL;
	if (!pat)
		return;
	if (strlen(pat->value) > POLICY_PATTERN_MAX) {
		lerr(c, pat, "pattern is longer than %d bytes", POLICY_PATTERN_MAX);
		return;
	}
	if ((why = pattern_why(pat->value))) {
		lerr(c, pat, "pattern '%s' %s", pat->value, why);
		return;
	}
	int e = regcomp(&r->reason_re, pat->value, REG_EXTENDED | REG_NOSUB);
	if (e == REG_ESPACE)
		return oom(c);
	if (e) {
		char msg[128];
		regerror(e, &r->reason_re, msg, sizeof msg);
		lerr(c, pat, "pattern '%s' is not a POSIX extended regular expression: %s",
		     pat->value, msg);
		return;
	}
	if (!(r->reason_pattern = strdup(pat->value))) {
		regfree(&r->reason_re);
		oom(c);
	}
}

static void load_force_command(struct lctx *c, const struct ynode *n, struct policy_rule *r)
{
	const char *s = get_str(c, n, "force_command");

	if (!s)
		return;
	if (strlen(s) > CERT_OPTION_VALUE_MAX) {
		lerr(c, n, "force_command is longer than %d bytes", CERT_OPTION_VALUE_MAX);
		return;
	}
	for (const char *q = s; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f) {
			lerr(c, n, "force_command holds a control character");
			return;
		}
	if (!(r->force_command = strdup(s)))
		oom(c);
}

static const char allow_keys[] =
	"name, effect, users, groups, hosts, host_labels, logins, when, default_ttl, max_ttl, "
	"extensions, approvals, reason, source_address or force_command";

static void load_rule(struct lctx *c, const struct ynode *n, struct policy_rule *r)
{
	const struct policy *p = c->p;
	const struct ynode *k, *v, *dflt = NULL, *max = NULL, *name = NULL, *ext = NULL;
	bool subject = false, target = false, logins = false;
	char b1[32], b2[32];

	r->default_ttl_sec = 0;
	if (!want(c, n, YNODE_MAP, "a rule"))
		return;
	MAP_FOREACH(n, k, v)
		if (!strcmp(k->value, "effect")) {
			const char *e = get_str(c, v, "effect");
			if (e && strcmp(e, "allow") && strcmp(e, "deny"))
				lerr(c, v, "effect must be allow or deny, not '%s'", e);
			r->deny = e && !strcmp(e, "deny");
		}
	MAP_FOREACH(n, k, v) {
		const char *key = k->value;
		if (!strcmp(key, "effect")) {
			continue;
		} else if (!strcmp(key, "name")) {
			const char *s = get_str(c, v, "name");
			if (s && !name_login_valid(s))
				lerr(c, v, "rule name '%s' is not safe (letters, digits, '.', '_', "
					   "'-'; not starting with '.' or '-')", s);
			if (s && !(r->name = strdup(s)))
				return oom(c);
			name = v;
		} else if (!strcmp(key, "users")) {
			subject = true;
			get_list(c, v, "users", check_user_ref, &r->users, &r->n_users);
		} else if (!strcmp(key, "groups")) {
			subject = true;
			get_list(c, v, "groups", check_group_ref, &r->groups, &r->n_groups);
		} else if (!strcmp(key, "hosts")) {
			target = true;
			get_list(c, v, "hosts", check_glob, &r->hosts, &r->n_hosts);
		} else if (!strcmp(key, "host_labels")) {
			target = true;
			get_list(c, v, "host_labels", check_label_ref, &r->labels, &r->n_labels);
		} else if (!strcmp(key, "logins")) {
			logins = true;
			get_list(c, v, "logins", check_login, &r->logins, &r->n_logins);
		} else if (!strcmp(key, "when")) {
			load_when(c, v, r);
		} else if (r->deny && (!strcmp(key, "default_ttl") || !strcmp(key, "max_ttl") ||
				       !strcmp(key, "extensions") || !strcmp(key, "approvals") ||
				       !strcmp(key, "reason") || !strcmp(key, "source_address") ||
				       !strcmp(key, "force_command"))) {
			lerr(c, k, "'%s' has no meaning in a deny rule", key);
		} else if (!strcmp(key, "default_ttl")) {
			if (get_duration(c, v, "default_ttl", &r->default_ttl_sec))
				dflt = v;
		} else if (!strcmp(key, "max_ttl")) {
			if (get_duration(c, v, "max_ttl", &r->max_ttl_sec))
				max = v;
		} else if (!strcmp(key, "extensions")) {
			ext = v;
			get_list(c, v, "extensions", check_extension, &r->extensions,
				 &r->n_extensions);
		} else if (!strcmp(key, "approvals")) {
			load_approvals(c, v, r);
		} else if (!strcmp(key, "reason")) {
			load_reason(c, v, r);
		} else if (!strcmp(key, "source_address")) {
			if (get_list(c, v, "source_address", check_source, &r->sources,
				     &r->n_sources) &&
			    (r->n_sources == 0 || r->n_sources > POLICY_SOURCES_MAX))
				lerr(c, v, "source_address must list 1 to %d addresses",
				     POLICY_SOURCES_MAX);
		} else if (!strcmp(key, "force_command")) {
			load_force_command(c, v, r);
		} else {
			unknown_key(c, k, r->deny ? "a deny rule" : "a rule",
				    r->deny ? "name, effect, users, groups, hosts, host_labels, "
					      "logins or when" : allow_keys);
		}
	}
	if (!name)
		lerr(c, n, "rule has no name");
	if (!subject)
		lerr(c, n, "rule '%s' names no users or groups (write users: [] for nobody)",
		     r->name ? r->name : "?");
	if (!target)
		lerr(c, n, "rule '%s' names no hosts or host_labels (write hosts: [] for none)",
		     r->name ? r->name : "?");
	if (!logins)
		lerr(c, n, "rule '%s' names no logins (write logins: [] for none)",
		     r->name ? r->name : "?");
	if (r->deny)
		return;
	if (!max)
		r->max_ttl_sec = p->max_ttl_sec;
	else if (r->max_ttl_sec > p->max_ttl_sec)
		lerr(c, max, "max_ttl %s is above the policy max_ttl %s (settings)",
		     policy_fmt_duration(r->max_ttl_sec, b1),
		     policy_fmt_duration(p->max_ttl_sec, b2));
	if (!dflt)
		r->default_ttl_sec = p->default_ttl_sec < r->max_ttl_sec ? p->default_ttl_sec :
									   r->max_ttl_sec;
	else if (r->default_ttl_sec > r->max_ttl_sec)
		lerr(c, dflt, "default_ttl %s is above max_ttl %s",
		     policy_fmt_duration(r->default_ttl_sec, b1),
		     policy_fmt_duration(r->max_ttl_sec, b2));
	if (!ext && !c->oom) {
		r->extensions = calloc(2, sizeof *r->extensions);
		if (!r->extensions || !(r->extensions[0] = strdup("permit-pty")))
			return oom(c);
		r->n_extensions = 1;
	}
}

static void load_rules(struct lctx *c, const struct ynode *n)
{
	struct policy *p = c->p;
	struct item *names;
	size_t k = 0;

	if (!want(c, n, YNODE_SEQ, "rules"))
		return;
	p->rules = calloc(n->n_kids + 1, sizeof *p->rules);
	names = calloc(n->n_kids + 1, sizeof *names);
	if (!p->rules || !names) {
		free(names);
		return oom(c);
	}
	for (size_t i = 0; i < n->n_kids && !c->oom; i++) {
		p->n_rules = i + 1;
		p->rules[i].line = n->kids[i]->line;
		p->rules[i].col = n->kids[i]->col;
		load_rule(c, n->kids[i], &p->rules[i]);
		if (p->rules[i].name)
			names[k++] = (struct item){ p->rules[i].name, map_get(n->kids[i], "name") };
	}
	qsort(names, k, sizeof *names, item_cmp);
	for (size_t i = 1; i < k; i++)
		if (!strcmp(names[i].s, names[i - 1].s))
			lerr(c, names[i].n, "rule name '%s' is used twice (first at line %u)",
			     names[i].s, names[i - 1].n->line);
	free(names);
}

static void load_root(struct lctx *c, const struct ynode *root)
{
	static const char *const order[] = { "version", "settings", "users", "groups", "hosts",
					     "rules" };
	const struct ynode *sect[ELEMENTSOF(order)] = { 0 }, *k, *v;

	if (!want(c, root, YNODE_MAP, "a policy"))
		return;
	MAP_FOREACH(root, k, v) {
		size_t i;
		for (i = 0; i < ELEMENTSOF(order); i++)
			if (!strcmp(k->value, order[i]))
				break;
		if (i == ELEMENTSOF(order))
			unknown_key(c, k, "the policy",
				    "version, settings, users, groups, hosts or rules");
		else
			sect[i] = v;
	}
	if (sect[0] && !(sect[0]->type == YNODE_SCALAR && sect[0]->plain &&
			 !strcmp(sect[0]->value, "1")))
		lerr(c, sect[0], "version must be 1");
	if (sect[1])
		load_settings(c, sect[1]);
	if (sect[2] && !c->oom)
		load_users(c, sect[2]);
	if (sect[3] && !c->oom)
		load_groups(c, sect[3]);
	else if (!c->oom)
		join_user_groups(c); /* no groups: each group a user names is unknown */
	if (sect[4] && !c->oom)
		load_hosts(c, sect[4]);
	if (sect[5] && !c->oom)
		load_rules(c, sect[5]);
}

/* ---- canonical form and version ------------------------------------------------------- */

static void put_str(FILE *f, const char *s)
{
	if (s)
		fprintf(f, " %zu:%s", strlen(s), s);
	else
		fputs(" -", f);
}

static void put_list(FILE *f, const char *tag, char *const *v, size_t n)
{
	fprintf(f, " %s[%zu]", tag, n);
	for (size_t i = 0; i < n; i++)
		put_str(f, v[i]);
}

int policy_canonical(const struct policy *p, char **ret, size_t *ret_len)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int r = 0;

	if (!f)
		return -ENOMEM;
	fprintf(f, "jit-ssh-policy 1\nsettings");
	put_str(f, p->domain_suffix);
	fprintf(f, " %" PRIu64 " %" PRIu64 "\n", p->default_ttl_sec, p->max_ttl_sec);
	for (size_t i = 0; i < p->n_users && r == 0; i++) {
		const struct policy_user *u = &p->users[i];
		_cleanup_free_ char **lines = calloc(u->n_keys + 1, sizeof *lines);
		if (!lines) {
			r = -ENOMEM;
			break;
		}
		for (size_t j = 0; j < u->n_keys && r == 0; j++)
			r = key_to_line(u->keys[j], NULL, &lines[j]);
		if (r == 0) {
			qsort(lines, u->n_keys, sizeof *lines, policy_strv_cmp);
			fputs("user", f);
			put_str(f, u->name);
			fprintf(f, " %d", u->disabled);
			put_list(f, "keys", lines, u->n_keys);
			fputc('\n', f);
		}
		policy_strv_free(TAKE_PTR(lines), u->n_keys);
	}
	for (size_t i = 0; i < p->n_groups; i++) {
		fputs("group", f);
		put_str(f, p->groups[i].name);
		put_list(f, "users", p->groups[i].users, p->groups[i].n_users);
		put_list(f, "groups", p->groups[i].subgroups, p->groups[i].n_subgroups);
		fputc('\n', f);
	}
	for (size_t i = 0; i < p->n_hosts; i++) {
		fputs("host", f);
		put_str(f, p->hosts[i].glob);
		put_list(f, "labels", p->hosts[i].labels, p->hosts[i].n_labels);
		fputc('\n', f);
	}
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct policy_rule *rl = &p->rules[i];
		fputs("rule", f);
		put_str(f, rl->name);
		fputs(rl->deny ? " deny" : " allow", f);
		put_list(f, "users", rl->users, rl->n_users);
		put_list(f, "groups", rl->groups, rl->n_groups);
		put_list(f, "hosts", rl->hosts, rl->n_hosts);
		put_list(f, "labels", rl->labels, rl->n_labels);
		put_list(f, "logins", rl->logins, rl->n_logins);
		fprintf(f, " when %d[%zu]", rl->has_windows, rl->n_windows);
		for (size_t j = 0; j < rl->n_windows; j++) {
			const struct policy_window *w = &rl->windows[j];
			fprintf(f, " %u %u %u", w->days, w->start_min, w->end_min);
			put_str(f, w->tz->name);
		}
		fprintf(f, " ttl %" PRIu64 " %" PRIu64, rl->default_ttl_sec, rl->max_ttl_sec);
		put_list(f, "extensions", rl->extensions, rl->n_extensions);
		fprintf(f, " approvals %u", rl->approvals);
		put_list(f, "from", rl->approvers, rl->n_approvers);
		fprintf(f, " reason %d", rl->reason_required);
		put_str(f, rl->reason_pattern);
		put_list(f, "sources", rl->sources, rl->n_sources);
		fputs(" force", f);
		put_str(f, rl->force_command);
		fputc('\n', f);
	}
	if (fclose(f) != 0 && r == 0)
		r = -ENOMEM;
	if (r < 0) {
		free(buf);
		return r;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

static int make_version(struct policy *p)
{
	_cleanup_free_ char *canon = NULL;
	unsigned char md[32];
	unsigned int md_len = 0;
	size_t len;
	int r;

	if ((r = policy_canonical(p, &canon, &len)) < 0)
		return r;
	if (!EVP_Digest(canon, len, md, &md_len, EVP_sha256(), NULL) || md_len != sizeof md)
		return JIT_E_CRYPTO;
	p->version = malloc(sizeof "sha256:" + 2 * sizeof md);
	if (!p->version)
		return -ENOMEM;
	strcpy(p->version, "sha256:");
	for (size_t i = 0; i < sizeof md; i++)
		snprintf(p->version + 7 + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* ---- entry points ---------------------------------------------------------------------- */

int policy_load_buffer(const char *name, const char *data, size_t len, struct policy **ret,
		       char **ret_error)
{
	_cleanup_(ytree_freep) struct ynode *root = NULL;
	_cleanup_free_ char *msg = NULL, *errbuf = NULL;
	struct lctx c = { .name = name ? name : "policy" };
	size_t errlen = 0;
	unsigned line = 0, col = 0;
	FILE *errf;
	int r;

	if (len > POLICY_FILE_MAX)
		return JIT_E_TOO_LARGE;
	r = ytree_parse(data, len, &root, &line, &col, &msg);
	if (r == JIT_E_POLICY && ret_error) {
		if (asprintf(ret_error, "%s:%u:%u: %s", c.name, line, col, msg) < 0) {
			*ret_error = NULL;
			return -ENOMEM;
		}
	}
	if (r < 0)
		return r;

	c.p = calloc(1, sizeof *c.p);
	errf = open_memstream(&errbuf, &errlen);
	if (!c.p || !errf) {
		if (errf)
			fclose(errf);
		free(c.p);
		return -ENOMEM;
	}
	atomic_init(&c.p->refs, 1);
	c.p->default_ttl_sec = POLICY_DEFAULT_TTL_SEC;
	c.p->max_ttl_sec = POLICY_DEFAULT_MAX_TTL_SEC;
	load_root(&c, root);
	free(c.labels);
	free(c.ug);
	lerrors_write(&c, errf);
	lerrors_free(&c);
	if (fclose(errf) != 0)
		c.oom = true;
	r = c.oom ? -ENOMEM : c.n_err ? JIT_E_POLICY : make_version(c.p);
	if (r == 0)
		r = policy_index(c.p);
	if (r == 0 && !(c.p->source = strdup(c.name)))
		r = -ENOMEM;
	if (r < 0) {
		policy_free(c.p);
		if (r == JIT_E_POLICY && ret_error) {
			if (errlen && errbuf[errlen - 1] == '\n')
				errbuf[errlen - 1] = 0;
			*ret_error = TAKE_PTR(errbuf);
		}
		return r;
	}
	*ret = c.p;
	return 0;
}

unsigned policy_error_count(const char *messages)
{
	static const char more[] = " more problems not shown";
	unsigned n = 0;

	for (const char *s = messages; s && *s;) {
		size_t len = strcspn(s, "\n");
		const char *end = s + len;

		if (!*end && len > sizeof more - 1 &&
		    !memcmp(end - (sizeof more - 1), more, sizeof more - 1)) {
			const char *d = end - (sizeof more - 1);
			unsigned long k = 0, mul = 1;
			while (d > s && d[-1] >= '0' && d[-1] <= '9' && mul <= 1000000000ul) {
				d--;
				k += (unsigned long)(*d - '0') * mul;
				mul *= 10;
			}
			if (d < end - (sizeof more - 1) && d - s >= 2 && d[-1] == ' ' &&
			    d[-2] == ':' && k <= UINT_MAX - n)
				return n + (unsigned)k;
		}
		n++;
		s = *end ? end + 1 : end;
	}
	return n;
}

int policy_load_file(const char *path, struct policy **ret, char **ret_error)
{
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t got = 0;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!S_ISREG(st.st_mode))
		r = -EINVAL;
	else if ((uint64_t)st.st_size > POLICY_FILE_MAX)
		r = JIT_E_TOO_LARGE;
	else if (!(buf = malloc((size_t)st.st_size + 2)))
		r = -ENOMEM;
	/* read one byte more than fstat said, to notice a file that grew past the limit */
	while (r == 0 && got <= (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size + 1 - got);
		if (n < 0 && errno != EINTR)
			r = -errno;
		else if (n == 0)
			break;
		else if (n > 0)
			got += (size_t)n;
	}
	close(fd);
	if (r < 0)
		return r;
	if (got > POLICY_FILE_MAX)
		return JIT_E_TOO_LARGE;
	return policy_load_buffer(path, buf, got, ret, ret_error);
}
