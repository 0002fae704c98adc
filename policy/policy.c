/* SPDX-License-Identifier: ISC */
/*
 * policy.c - the loaded policy's life cycle and lookups.
 */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "internal.h"

int policy_strv_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

bool policy_strv_has(char *const *v, size_t n, const char *s)
{
	return v && n && bsearch(&s, v, n, sizeof *v, policy_strv_cmp);
}

void policy_strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void rule_free(struct policy_rule *r)
{
	free(r->name);
	policy_strv_free(r->users, r->n_users);
	policy_strv_free(r->groups, r->n_groups);
	policy_strv_free(r->hosts, r->n_hosts);
	policy_strv_free(r->labels, r->n_labels);
	policy_strv_free(r->logins, r->n_logins);
	free(r->windows);
	policy_strv_free(r->extensions, r->n_extensions);
	policy_strv_free(r->approvers, r->n_approvers);
	if (r->reason_pattern)
		regfree(&r->reason_re);
	free(r->reason_pattern);
	policy_strv_free(r->sources, r->n_sources);
	free(r->force_command);
}

struct policy *policy_free(struct policy *p)
{
	if (!p)
		return NULL;
	policy_index_free(p);
	for (size_t i = 0; i < p->n_users; i++) {
		struct policy_user *u = &p->users[i];
		free(u->name);
		for (size_t j = 0; j < u->n_keys; j++)
			key_free(u->keys[j]);
		free(u->keys);
		free(u->groups);
	}
	free(p->users);
	for (size_t i = 0; i < p->n_groups; i++) {
		free(p->groups[i].name);
		policy_strv_free(p->groups[i].users, p->groups[i].n_users);
		policy_strv_free(p->groups[i].subgroups, p->groups[i].n_subgroups);
	}
	free(p->groups);
	for (size_t i = 0; i < p->n_hosts; i++) {
		free(p->hosts[i].glob);
		policy_strv_free(p->hosts[i].labels, p->hosts[i].n_labels);
	}
	free(p->hosts);
	for (size_t i = 0; i < p->n_rules; i++)
		rule_free(&p->rules[i]);
	free(p->rules);
	for (size_t i = 0; i < p->n_zones; i++)
		tz_free(p->zones[i]);
	free(p->zones);
	free(p->domain_suffix);
	free(p->source);
	free(p->version);
	free(p);
	return NULL;
}

struct policy *policy_ref(struct policy *p)
{
	if (p)
		atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
	return p;
}

struct policy *policy_unref(struct policy *p)
{
	if (p && atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
		policy_free(p);
	return NULL;
}

const char *policy_version(const struct policy *p)
{
	return p->version;
}

const struct policy_user *policy_find_user(const struct policy *p, const char *name)
{
	struct policy_user key = { .name = (char *)name };

	if (!name || !p->users)
		return NULL;
	return bsearch(&key, p->users, p->n_users, sizeof key, policy_strv_cmp);
}

int policy_user_keys(const struct policy *p, const char *user, const struct key *const **ret_keys,
		     size_t *ret_n)
{
	const struct policy_user *u = policy_find_user(p, user);

	if (!u || u->disabled || u->n_keys == 0)
		return JIT_E_NOT_FOUND;
	*ret_keys = (const struct key *const *)u->keys;
	*ret_n = u->n_keys;
	return 0;
}

const char *policy_verdict_name(enum policy_verdict v)
{
	switch (v) {
	case POLICY_ALLOW:
		return "allowed";
	case POLICY_NEEDS_APPROVAL:
		return "needs_approval";
	case POLICY_DENY:
		break;
	}
	return "denied";
}

static void options_free(struct cert_option *o, size_t n)
{
	for (size_t i = 0; o && i < n; i++) {
		free(o[i].name);
		free(o[i].value);
	}
	free(o);
}

struct policy_decision *policy_decision_free(struct policy_decision *d)
{
	if (!d)
		return NULL;
	free(d->host);
	free(d->rule);
	free(d->reason);
	free(d->explanation);
	policy_strv_free(d->principals, d->n_principals);
	options_free(d->critical, d->n_critical);
	options_free(d->extensions, d->n_extensions);
	policy_strv_free(d->approver_groups, d->n_approver_groups);
	free(d->policy_version);
	free(d);
	return NULL;
}

void policy_decision_freep(struct policy_decision **d)
{
	policy_decision_free(*d);
}
