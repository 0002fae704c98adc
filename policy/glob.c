/* SPDX-License-Identifier: ISC */
/*
 * glob.c - host globs compiled once at load time: matching without fnmatch(3) on the hot
 * path, and a conservative inclusion test for `policy check` (lint.c).
 *
 * A policy glob (load.c, glob_normalize) holds only host-name characters, '*', '?' and
 * bracket expressions; never a backslash. Matching is fnmatch(3) with flags 0: '*' matches
 * any string (dots included), '?' any one character, a bracket expression one character of
 * its set. Each bracket's set is taken from fnmatch(3) itself, by asking it about every byte
 * once, so ranges mean exactly what they mean to the C library.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "names.h"
#include "util.h"

#define OP_ANY 256u
#define OP_STAR 257u
#define OP_SET 258u

static void mask_set(uint64_t m[4], unsigned c)
{
	m[c / 64] |= UINT64_C(1) << (c % 64);
}

static bool mask_has(const uint64_t m[4], unsigned char c)
{
	return m[c / 64] >> (c % 64) & 1;
}

int policy_glob_compile(const char *glob, struct policy_glob *ret)
{
	size_t len = strlen(glob), n_sets = 0;
	_cleanup_free_ uint16_t *ops = calloc(len + 1, sizeof *ops);
	_cleanup_free_ uint64_t(*sets)[4] = NULL;
	struct policy_glob g = {0};

	for (size_t i = 0; i < len; i++)
		n_sets += glob[i] == '[';
	sets = calloc(n_sets + 1, sizeof *sets);
	if (!ops || !sets)
		return -ENOMEM;
	n_sets = 0;
	g.prefix_len = SIZE_MAX;
	for (size_t i = 0; i < len; i++) {
		const char *close;
		if (glob[i] != '*' && glob[i] != '?' && glob[i] != '[') {
			ops[g.n_ops++] = (unsigned char)glob[i];
			continue;
		}
		if (g.prefix_len == SIZE_MAX)
			g.prefix_len = g.n_ops;
		if (glob[i] == '*') {
			if (g.n_ops == 0 || ops[g.n_ops - 1] != OP_STAR) /* "**" is "*" */
				ops[g.n_ops++] = OP_STAR;
			continue;
		}
		if (glob[i] == '?') {
			ops[g.n_ops++] = OP_ANY;
			continue;
		}
		/* the loader accepts only [set] with a non-empty set and a closing ']' */
		close = strchr(glob + i + 1 + (glob[i + 1] == '!' || glob[i + 1] == '^'), ']');
		if (!close || close == glob + i + 1)
			return -EINVAL;
		char pat[HOST_NAME_MAX_LEN + 3];
		size_t plen = (size_t)(close - (glob + i)) + 1;
		if (plen >= sizeof pat)
			return -EINVAL;
		memcpy(pat, glob + i, plen);
		pat[plen] = 0;
		for (unsigned c = 1; c < 256; c++) {
			char one[2] = {(char)c, 0};
			if (fnmatch(pat, one, 0) == 0)
				mask_set(sets[n_sets], c);
		}
		ops[g.n_ops++] = (uint16_t)(OP_SET + n_sets++);
		i += plen - 1;
	}
	if (g.prefix_len == SIZE_MAX)
		g.prefix_len = g.n_ops;
	g.n_sets = n_sets;
	g.ops = TAKE_PTR(ops);
	g.sets = TAKE_PTR(sets);
	*ret = g;
	return 0;
}

void policy_glob_done(struct policy_glob *g)
{
	if (!g)
		return;
	free(g->ops);
	free(g->sets);
	*g = (struct policy_glob){0};
}

static bool op_matches(const struct policy_glob *g, uint16_t op, unsigned char c)
{
	if (op < 256)
		return op == c;
	if (op == OP_ANY)
		return true;
	return mask_has(g->sets[op - OP_SET], c);
}

bool policy_glob_match(const struct policy_glob *g, const char *s)
{
	size_t i = 0, j = 0, star = SIZE_MAX, resume = 0;

	/* the classic single-backtrack wildcard match: on a mismatch, let the last '*' take
	 * one more character; exact for patterns whose only multi-character token is '*' */
	while (s[i]) {
		if (j < g->n_ops && g->ops[j] == OP_STAR) {
			star = j++;
			resume = i;
		} else if (j < g->n_ops && op_matches(g, g->ops[j], (unsigned char)s[i])) {
			i++;
			j++;
		} else if (star != SIZE_MAX) {
			j = star + 1;
			i = ++resume;
		} else {
			return false;
		}
	}
	while (j < g->n_ops && g->ops[j] == OP_STAR)
		j++;
	return j == g->n_ops;
}

/* The characters of a valid, normalised host name (names.h host_normalize()). */
static void host_alphabet(uint64_t m[4])
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789-.";

	memset(m, 0, 4 * sizeof *m);
	for (const char *c = chars; *c; c++)
		mask_set(m, (unsigned char)*c);
}

/* The host-name characters @op can stand for. */
static void op_mask(const struct policy_glob *g, uint16_t op, const uint64_t alpha[4],
		    uint64_t ret[4])
{
	for (int k = 0; k < 4; k++) {
		if (op < 256)
			ret[k] = 0;
		else if (op == OP_ANY)
			ret[k] = alpha[k];
		else
			ret[k] = g->sets[op - OP_SET][k] & alpha[k];
	}
	if (op < 256 && mask_has(alpha, (unsigned char)op))
		mask_set(ret, op);
}

int policy_glob_subset(const struct policy_glob *a, const struct policy_glob *b, bool *ret)
{
	size_t na = a->n_ops, nb = b->n_ops, w = nb + 1;
	uint64_t alpha[4], ma[4], mb[4];
	_cleanup_free_ bool *dp = NULL;

	host_alphabet(alpha);
	/* a glob with a position no host-name character fills matches no host at all */
	for (size_t i = 0; i < na; i++) {
		if (a->ops[i] == OP_STAR)
			continue;
		op_mask(a, a->ops[i], alpha, ma);
		if (!(ma[0] | ma[1] | ma[2] | ma[3])) {
			*ret = true;
			return 0;
		}
	}
	/* dp[i * w + j]: every string a[i..] makes is matched by b[j..] (when true, surely) */
	dp = calloc((na + 1) * w, sizeof *dp);
	if (!dp)
		return -ENOMEM;
	for (size_t i = na + 1; i-- > 0;)
		for (size_t j = nb + 1; j-- > 0;) {
			bool v;
			if (j == nb) {
				v = i == na;
			} else if (b->ops[j] == OP_STAR) {
				/* b's '*' matches nothing, or swallows whatever a[i] makes */
				v = dp[i * w + j + 1] || (i < na && dp[(i + 1) * w + j]);
			} else if (i == na || a->ops[i] == OP_STAR) {
				v = false;
			} else {
				op_mask(a, a->ops[i], alpha, ma);
				op_mask(b, b->ops[j], alpha, mb);
				v = !(ma[0] & ~mb[0]) && !(ma[1] & ~mb[1]) && !(ma[2] & ~mb[2]) &&
				    !(ma[3] & ~mb[3]) && dp[(i + 1) * w + j + 1];
			}
			dp[i * w + j] = v;
		}
	*ret = dp[0];
	return 0;
}
