/* SPDX-License-Identifier: ISC */
/*
 * index.c - lookup structures built once, after a policy has loaded, so that a decision
 * costs little however large the policy is (docs/policy.md, "Performance"):
 *
 *   - every host glob compiled (glob.c);
 *   - the host inventory ordered by literal prefix, so a host name is matched only against
 *     the inventory globs whose literal prefix it starts with;
 *   - for each user and each group, the rules that name it, and the rules open to any user,
 *     so a request only looks at the rules that are for its requester;
 *   - the rules by name, for the invariant check.
 *
 * The index only speeds lookups up; it never changes what they find.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "util.h"

static int host_order_cmp(const void *a, const void *b, void *arg)
{
	const struct policy *p = arg;
	const struct policy_host *x = &p->hosts[*(const uint32_t *)a];
	const struct policy_host *y = &p->hosts[*(const uint32_t *)b];
	int r;

	if (x->g.prefix_len != y->g.prefix_len)
		return x->g.prefix_len < y->g.prefix_len ? -1 : 1;
	r = memcmp(x->glob, y->glob, x->g.prefix_len);
	return r ? r : strcmp(x->glob, y->glob);
}

static int rule_name_cmp(const void *a, const void *b, void *arg)
{
	const struct policy *p = arg;

	return strcmp(p->rules[*(const uint32_t *)a].name, p->rules[*(const uint32_t *)b].name);
}

static size_t group_find(const struct policy *p, const char *name)
{
	struct policy_group key = {.name = (char *)name};
	const struct policy_group *g =
		p->groups ? bsearch(&key, p->groups, p->n_groups, sizeof key, policy_strv_cmp)
			  : NULL;
	return g ? (size_t)(g - p->groups) : SIZE_MAX;
}

static int index_hosts(struct policy *p)
{
	int r;

	for (size_t i = 0; i < p->n_hosts; i++)
		if ((r = policy_glob_compile(p->hosts[i].glob, &p->hosts[i].g)) < 0)
			return r;
	p->host_order = calloc(p->n_hosts + 1, sizeof *p->host_order);
	p->prefixes = calloc(p->n_hosts + 1, sizeof *p->prefixes);
	if (!p->host_order || !p->prefixes)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_hosts; i++)
		p->host_order[i] = (uint32_t)i;
	qsort_r(p->host_order, p->n_hosts, sizeof *p->host_order, host_order_cmp, p);
	for (size_t i = 0; i < p->n_hosts; i++) {
		size_t len = p->hosts[p->host_order[i]].g.prefix_len;
		if (p->n_prefixes == 0 || p->prefixes[p->n_prefixes - 1].len != len)
			p->prefixes[p->n_prefixes++] = (struct policy_prefix){len, i, i};
		p->prefixes[p->n_prefixes - 1].end = i + 1;
	}
	return 0;
}

static int append(uint32_t **v, size_t *n, uint32_t x)
{
	uint32_t *w;

	/* grow at powers of two */
	if ((*n & (*n - 1)) == 0) {
		w = reallocarray(*v, *n ? 2 * *n : 1, sizeof *w);
		if (!w)
			return -ENOMEM;
		*v = w;
	}
	(*v)[(*n)++] = x;
	return 0;
}

static struct policy_user *user_find(struct policy *p, const char *name)
{
	return (struct policy_user *)policy_find_user(p, name);
}

static int index_rules(struct policy *p)
{
	int r;

	for (size_t i = 0; i < p->n_users; i++) {
		struct policy_user *u = &p->users[i];
		u->group_ix = calloc(u->n_groups + 1, sizeof *u->group_ix);
		if (!u->group_ix)
			return -ENOMEM;
		for (size_t j = 0; j < u->n_groups; j++)
			u->group_ix[j] = (uint32_t)group_find(p, u->groups[j]);
	}
	for (size_t i = 0; i < p->n_rules; i++) {
		struct policy_rule *rl = &p->rules[i];
		uint32_t ix = (uint32_t)i;
		rl->host_g = calloc(rl->n_hosts + 1, sizeof *rl->host_g);
		if (!rl->host_g)
			return -ENOMEM;
		for (size_t j = 0; j < rl->n_hosts; j++)
			if ((r = policy_glob_compile(rl->hosts[j], &rl->host_g[j])) < 0)
				return r;
		if (policy_strv_has(rl->users, rl->n_users, POLICY_ANY)) {
			if ((r = append(&p->any_rules, &p->n_any_rules, ix)) < 0)
				return r;
			continue; /* the rule is looked at for everyone anyway */
		}
		for (size_t j = 0; j < rl->n_users; j++) {
			struct policy_user *u = user_find(p, rl->users[j]);
			if (u && (r = append(&u->rule_ix, &u->n_rule_ix, ix)) < 0)
				return r;
		}
		for (size_t j = 0; j < rl->n_groups; j++) {
			size_t g = group_find(p, rl->groups[j]);
			if (g != SIZE_MAX &&
			    (r = append(&p->groups[g].rule_ix, &p->groups[g].n_rule_ix, ix)) < 0)
				return r;
		}
	}
	p->rules_by_name = calloc(p->n_rules + 1, sizeof *p->rules_by_name);
	if (!p->rules_by_name)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_rules; i++)
		p->rules_by_name[i] = (uint32_t)i;
	qsort_r(p->rules_by_name, p->n_rules, sizeof *p->rules_by_name, rule_name_cmp, p);
	return 0;
}

int policy_index(struct policy *p)
{
	int r;

	if (p->n_rules > UINT32_MAX || p->n_hosts > UINT32_MAX || p->n_groups > UINT32_MAX)
		return -E2BIG; /* far beyond POLICY_LIST_MAX; never happens */
	if ((r = index_hosts(p)) < 0 || (r = index_rules(p)) < 0)
		return r;
	return 0;
}

void policy_index_free(struct policy *p)
{
	for (size_t i = 0; i < p->n_users; i++) {
		free(p->users[i].group_ix);
		free(p->users[i].rule_ix);
	}
	for (size_t i = 0; i < p->n_groups; i++)
		free(p->groups[i].rule_ix);
	for (size_t i = 0; i < p->n_hosts; i++)
		policy_glob_done(&p->hosts[i].g);
	for (size_t i = 0; i < p->n_rules; i++) {
		struct policy_rule *rl = &p->rules[i];
		for (size_t j = 0; rl->host_g && j < rl->n_hosts; j++)
			policy_glob_done(&rl->host_g[j]);
		free(rl->host_g);
	}
	free(p->any_rules);
	free(p->rules_by_name);
	free(p->host_order);
	free(p->prefixes);
}

const struct policy_rule *policy_find_rule(const struct policy *p, const char *name)
{
	size_t lo = 0, hi = p->n_rules;

	if (!name || !p->rules_by_name)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct policy_rule *r = &p->rules[p->rules_by_name[mid]];
		int c = strcmp(r->name, name);
		if (c == 0)
			return r;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The first position in [P->start, P->end) of host_order whose prefix is not below @host's. */
static size_t prefix_lower_bound(const struct policy *p, const struct policy_prefix *P,
				 const char *host)
{
	size_t lo = P->start, hi = P->end;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(p->hosts[p->host_order[mid]].glob, host, P->len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int policy_host_labels(const struct policy *p, const char *host, const char ***ret, size_t *ret_n)
{
	size_t len = strlen(host), n = 0, cap = 8;
	_cleanup_free_ const char **v = malloc(cap * sizeof *v);

	if (!v)
		return -ENOMEM;
	for (size_t k = 0; k < p->n_prefixes && p->prefixes[k].len <= len; k++) {
		const struct policy_prefix *P = &p->prefixes[k];
		for (size_t i = prefix_lower_bound(p, P, host); i < P->end; i++) {
			const struct policy_host *h = &p->hosts[p->host_order[i]];
			if (memcmp(h->glob, host, P->len) != 0)
				break;
			if (!policy_glob_match(&h->g, host))
				continue;
			if (n + h->n_labels >= cap) {
				size_t c2 = 2 * (n + h->n_labels) + 1;
				const char **w = reallocarray(v, c2, sizeof *w);
				if (!w)
					return -ENOMEM;
				v = w;
				cap = c2;
			}
			for (size_t j = 0; j < h->n_labels; j++)
				v[n++] = h->labels[j];
		}
	}
	if (n > 1)
		qsort(v, n, sizeof *v, policy_strv_cmp);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (k == 0 || strcmp(v[k - 1], v[i]))
			v[k++] = v[i];
	v[k] = NULL;
	*ret = TAKE_PTR(v);
	*ret_n = k;
	return 0;
}
