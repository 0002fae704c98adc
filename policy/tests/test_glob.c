/* SPDX-License-Identifier: ISC */
/*
 * test_glob.c - compiled host globs: matching gives fnmatch(3)'s answer on every pattern the
 * loader accepts, and the inclusion test used by the lint never claims an inclusion that a
 * host name contradicts.
 */
#include <fnmatch.h>
#include <stdint.h>

#include "internal.h"
#include "testpol.h"
#include "util.h"

static const char *const tokens[] = {"a",    "b",    "c",     ".",     "-",	"0",	 "*", "?",
				     "[ab]", "[!a]", "[a-c]", "[0-9]", "[b-a]", "[^c.]", "**"};
static const char alphabet[] = "abc.-01";

static uint64_t rng_state = 0x0123456789abcdefu;

static unsigned pick(unsigned n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (unsigned)(rng_state % n);
}

/* A random glob into @out; with @like, the glob @like was made from with one token
 * widened to '*'. */
static void random_glob(char *out, size_t size, const unsigned *like, unsigned *ret_tok)
{
	unsigned n = like ? like[0] : 1 + pick(6), star = like ? 1 + pick(n) : 0;

	out[0] = 0;
	for (unsigned i = 1; i <= n; i++) {
		unsigned t = like ? like[i] : pick(ELEMENTSOF(tokens));
		if (ret_tok)
			ret_tok[i] = t;
		strncat(out, i == star ? "*" : tokens[t], size - strlen(out) - 1);
	}
	if (ret_tok)
		ret_tok[0] = n;
}

static void random_name(char *out)
{
	unsigned n = pick(9);

	for (unsigned i = 0; i < n; i++)
		out[i] = alphabet[pick(sizeof alphabet - 1)];
	out[n] = 0;
}

static struct policy_glob compile(const char *pat)
{
	struct policy_glob g;

	assert_int_equal(policy_glob_compile(pat, &g), 0);
	return g;
}

static void test_matching_agrees_with_fnmatch(void **state)
{
	(void)state;
	for (int round = 0; round < 20000; round++) {
		char pat[64], name[16];
		random_glob(pat, sizeof pat, NULL, NULL);
		struct policy_glob g = compile(pat);
		for (int k = 0; k < 20; k++) {
			random_name(name);
			if (policy_glob_match(&g, name) != (fnmatch(pat, name, 0) == 0))
				fail_msg("glob '%s' on '%s': %d, fnmatch says %d", pat, name,
					 policy_glob_match(&g, name), fnmatch(pat, name, 0) == 0);
		}
		policy_glob_done(&g);
	}
}

static void test_matching_agrees_with_fnmatch_on_host_names(void **state)
{
	static const char *const pats[] = {"*",		"prod-*",  "prod-web-*", "*.lab",  "db-?",
					   "web-[0-9]", "h[!0-3]", "*-[a-c]*-*", "exact-1"};
	static const char *const names[] = {"prod-web-1", "prod-db-2", "x.lab",	   "lab", "db-1",
					    "db-12",	  "web-7",     "web-x",	   "h4",  "h2",
					    "a-b-c",	  "exact-1",   "exact-10", ""};

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(pats); i++) {
		struct policy_glob g = compile(pats[i]);
		for (size_t j = 0; j < ELEMENTSOF(names); j++)
			assert_int_equal(policy_glob_match(&g, names[j]),
					 fnmatch(pats[i], names[j], 0) == 0);
		policy_glob_done(&g);
	}
}

static bool subset(const char *a, const char *b)
{
	struct policy_glob ga = compile(a), gb = compile(b);
	bool in = false;

	assert_int_equal(policy_glob_subset(&ga, &gb, &in), 0);
	policy_glob_done(&ga);
	policy_glob_done(&gb);
	return in;
}

static void test_inclusion_finds_the_usual_cases(void **state)
{
	(void)state;
	assert_true(subset("prod-web-*", "prod-*"));
	assert_true(subset("prod-web-1", "prod-*"));
	assert_true(subset("web-[0-9]", "web-?"));
	assert_true(subset("web-[0-4]", "web-[0-9]"));
	assert_true(subset("*.lab", "*"));
	assert_true(subset("a*b*c", "a*"));
	assert_true(subset("a*b*c", "*c"));
	assert_true(subset("x", "x"));
	assert_true(subset("[!a-z0-9.-]", "nothing")); /* matches no host name at all */
	assert_false(subset("prod-*", "prod-web-*"));
	assert_false(subset("db-?", "db-[0-9]"));
	assert_false(subset("*", "*.lab"));
	assert_false(subset("a*", "a*b"));
	assert_false(subset("x", "y"));
}

/* Every claimed inclusion holds for every name of up to 5 characters over the alphabet. */
static void test_inclusion_is_never_claimed_wrongly(void **state)
{
	size_t claimed = 0;

	(void)state;
	for (int round = 0; round < 3000; round++) {
		char a[64], b[64], name[8];
		unsigned tok[8];
		random_glob(a, sizeof a, NULL, tok);
		random_glob(b, sizeof b, round % 2 ? tok : NULL, NULL);
		if (!subset(a, b))
			continue;
		claimed++;
		struct policy_glob ga = compile(a), gb = compile(b);
		size_t total = 1, k = sizeof alphabet - 1;
		for (int len = 0; len <= 5; len++, total *= k)
			for (size_t x = 0; x < total; x++) {
				size_t v = x;
				for (int i = 0; i < len; i++, v /= k)
					name[i] = alphabet[v % k];
				name[len] = 0;
				if (policy_glob_match(&ga, name) && !policy_glob_match(&gb, name))
					fail_msg("'%s' within '%s' claimed, but '%s' matches only "
						 "the first",
						 a, b, name);
			}
		policy_glob_done(&ga);
		policy_glob_done(&gb);
	}
	assert_true(claimed > 100); /* the test exercised real inclusions */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matching_agrees_with_fnmatch),
		cmocka_unit_test(test_matching_agrees_with_fnmatch_on_host_names),
		cmocka_unit_test(test_inclusion_finds_the_usual_cases),
		cmocka_unit_test(test_inclusion_is_never_claimed_wrongly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
