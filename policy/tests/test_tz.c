/* SPDX-License-Identifier: ISC */
/*
 * test_tz.c - named time zones (TZif files, POSIX TZ strings) against glibc's own
 * localtime_r() as the reference. This test is single-threaded, so it may set TZ; the
 * library never does.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "testpol.h"
#include "util.h"

static const char *const zones[] = {
	"UTC",		    "Europe/Berlin",	   "America/New_York", "Australia/Sydney",
	"Asia/Kolkata",	    "Pacific/Auckland",	   "America/Sao_Paulo", "Europe/London",
	"Asia/Tokyo",	    "Pacific/Chatham",	   "America/St_Johns", "Africa/Casablanca",
	"Europe/Dublin",    "Asia/Tehran",	   "Australia/Lord_Howe", "Antarctica/Troll",
	"America/Nuuk",	    "Pacific/Kiritimati",  "America/Santiago", "Asia/Gaza",
	"Etc/GMT+5",	    "America/Los_Angeles",
};

static const char *const posix_strings[] = {
	"UTC0",
	"CET-1CEST,M3.5.0,M10.5.0/3",
	"EST5EDT,M3.2.0,M11.1.0",
	"AEST-10AEDT,M10.1.0,M4.1.0/3",
	"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
	"NZST-12NZDT,M9.5.0,M4.1.0/3",
	"IST-1GMT0,M10.5.0,M3.5.0/1",
	"<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
	"<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45",
	"ABC3DEF,J60/1,J300/23",
	"ABC-5:30DEF-6,59,300",
	"ABC3DEF,M2.5.6/100,M11.5.2/-100",
	"<-03>3",
};

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static long glibc_utoff(const char *tzenv, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	setenv("TZ", tzenv, 1);
	tzset();
	assert_non_null(localtime_r(&tt, &tm));
	return tm.tm_gmtoff;
}

static void compare(const struct tz *z, const char *tzenv, int64_t t, unsigned *bad)
{
	long want = glibc_utoff(tzenv, t);
	int32_t got = tz_utoff(z, t);

	if (got != want) {
		if (*bad < 10)
			print_error("%s at %lld: got %d, glibc %ld\n", tzenv, (long long)t, got,
				    want);
		++*bad;
	}
}

/* From 1902 (the first 32-bit transition) to 2200, random instants and every transition. */
static void test_named_zones_agree_with_glibc(void **state)
{
	unsigned bad = 0;

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(zones); i++) {
		struct tz *z = NULL;
		char tzenv[128];
		int r = tz_load(zones[i], NULL, &z);
		if (r == -ENOENT)
			continue; /* a zone this tzdata release does not ship */
		assert_int_equal(r, 0);
		snprintf(tzenv, sizeof tzenv, ":%s", zones[i]);
		for (int k = 0; k < 3000; k++)
			compare(z, tzenv, -2145916800 + (int64_t)(rng() % 9467107200u), &bad);
		for (size_t j = 0; j < z->n_times; j++)
			if (z->times[j] > -2145916800)
				for (int d = -2; d <= 1; d++)
					compare(z, tzenv, z->times[j] + d, &bad);
		tz_free(z);
	}
	assert_int_equal(bad, 0);
}

static void test_posix_rules_agree_with_glibc(void **state)
{
	unsigned bad = 0;

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(posix_strings); i++) {
		struct tz *z = NULL;
		assert_int_equal(tz_from_posix(posix_strings[i], &z), 0);
		for (int k = 0; k < 20000; k++)
			compare(z, posix_strings[i], (int64_t)(rng() % 7258118400u), &bad);
		tz_free(z);
	}
	assert_int_equal(bad, 0);
}

/*
 * RFC 8536 section 3.3.1: "EST5EDT,0/0,J365/25" is daylight saving time all year. (glibc
 * 2.36 reads it as standard time around each new year, so it is no reference here.)
 */
static void test_a_rule_spanning_the_whole_year_is_permanent_dst(void **state)
{
	static const int64_t instants[] = { 1199145600, 1199148457, 1199163599, 1199163600,
					    1214870400, 1230767999, 1230768000, 4102444800 };
	struct tz *z = NULL;

	(void)state;
	assert_int_equal(tz_from_posix("EST5EDT,0/0,J365/25", &z), 0);
	for (size_t i = 0; i < ELEMENTSOF(instants); i++)
		assert_int_equal(tz_utoff(z, instants[i]), -4 * 3600);
	tz_free(z);
}

static void test_bad_posix_strings_are_refused(void **state)
{
	static const char *const bad[] = {
		"", "C", "CE-1", "CET", "CET-1CEST,", "CET-1CEST,M3.5.0",
		"CET-1CEST,M13.5.0,M10.5.0", "CET-1CEST,M3.6.0,M10.5.0",
		"CET-1CEST,M3.5.7,M10.5.0", "CET-1CEST,J0,J100", "CET-1CEST,J366,J100",
		"CET-1CEST,366,100", "CET-25", "CET-1CEST,M3.5.0/168,M10.5.0",
		"<AB>1", "<ABC1", "CET-1:60", "CET-1CEST,M3.5.0,M10.5.0x", "CET-1 ", "EST5EDT",
	};
	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		struct tz *z = NULL;
		if (tz_from_posix(bad[i], &z) != JIT_E_FORMAT)
			fail_msg("'%s' was accepted", bad[i]);
	}
}

static void test_unsafe_zone_names_are_refused(void **state)
{
	static const char *const bad[] = {
		"",	       "/etc/localtime", "../etc/passwd", "Europe/../UTC",
		"Europe//Berlin", "Europe/",	     ".",		"UTC.",
		"Europe\\Berlin", "Europe/Berlin\n", "a b",
		"Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		struct tz *z = NULL;
		assert_false(tz_name_valid(bad[i]));
		assert_int_equal(tz_load(bad[i], NULL, &z), JIT_E_NAME);
	}
	assert_true(tz_name_valid("America/Argentina/Buenos_Aires"));
	assert_true(tz_name_valid("Etc/GMT-14"));
}

static void test_a_directory_or_missing_zone_is_refused(void **state)
{
	struct tz *z = NULL;

	(void)state;
	assert_int_equal(tz_load("Europe", NULL, &z), -EISDIR);
	assert_int_equal(tz_load("Nowhere/Special", NULL, &z), -ENOENT);
}

static uint8_t *read_zone(const char *name, size_t *ret_len)
{
	char path[256];
	struct stat st;
	uint8_t *buf;
	int fd;

	snprintf(path, sizeof path, "%s/%s", POLICY_ZONEINFO_DIR, name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*ret_len = (size_t)st.st_size;
	return buf;
}

static void test_a_truncated_zone_file_is_refused_at_every_length(void **state)
{
	size_t len = 0;
	uint8_t *data = read_zone("Europe/Berlin", &len);

	(void)state;
	if (!data)
		skip();
	for (size_t n = 0; n < len; n++) {
		uint8_t *copy = malloc(n ? n : 1);
		struct tz *z = NULL;
		memcpy(copy, data, n);
		if (tz_parse("x", copy, n, &z) != JIT_E_FORMAT)
			fail_msg("accepted at length %zu of %zu", n, len);
		free(copy);
	}
	struct tz *z = NULL;
	assert_int_equal(tz_parse("x", data, len, &z), 0);
	tz_free(z);
	free(data);
}

static void test_flipped_bytes_in_a_zone_file_never_crash(void **state)
{
	size_t len = 0;
	uint8_t *data = read_zone("America/New_York", &len);

	(void)state;
	if (!data)
		skip();
	for (size_t i = 0; i < len; i++) {
		struct tz *z = NULL;
		data[i] ^= 0x81;
		if (tz_parse("x", data, len, &z) == 0) {
			(void)tz_utoff(z, 0);
			(void)tz_utoff(z, INT64_MAX);
			(void)tz_utoff(z, INT64_MIN);
			tz_free(z);
		}
		data[i] ^= 0x81;
	}
	free(data);
}

static void test_leap_second_zones_are_refused(void **state)
{
	size_t len = 0;
	uint8_t *data = read_zone("right/UTC", &len);
	struct tz *z = NULL;

	(void)state;
	if (!data)
		skip();
	assert_int_equal(tz_parse("right/UTC", data, len, &z), JIT_E_FORMAT);
	free(data);
}

/* A version 1 file (32-bit data, no footer): one type, UTC+01:00, no transitions. */
static void test_a_version_one_file_is_read(void **state)
{
	uint8_t f[44 + 6 + 4] = { 'T', 'Z', 'i', 'f', 0 };
	struct tz *z = NULL;

	(void)state;
	f[39] = 1; /* typecnt */
	f[43] = 4; /* charcnt */
	f[44 + 2] = 0x0e; /* utoff 3600 = 0x00000e10 */
	f[44 + 3] = 0x10;
	memcpy(f + 50, "ABC", 4);
	assert_int_equal(tz_parse("v1", f, sizeof f, &z), 0);
	assert_int_equal(tz_utoff(z, 0), 3600);
	assert_int_equal(tz_utoff(z, 4000000000), 3600);
	tz_free(z);
	assert_int_equal(tz_parse("v1", f, sizeof f - 1, &z), JIT_E_FORMAT);
	f[4] = '1'; /* no such version */
	assert_int_equal(tz_parse("v1", f, sizeof f, &z), JIT_E_FORMAT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_named_zones_agree_with_glibc),
		cmocka_unit_test(test_posix_rules_agree_with_glibc),
		cmocka_unit_test(test_a_rule_spanning_the_whole_year_is_permanent_dst),
		cmocka_unit_test(test_bad_posix_strings_are_refused),
		cmocka_unit_test(test_unsafe_zone_names_are_refused),
		cmocka_unit_test(test_a_directory_or_missing_zone_is_refused),
		cmocka_unit_test(test_a_truncated_zone_file_is_refused_at_every_length),
		cmocka_unit_test(test_flipped_bytes_in_a_zone_file_never_crash),
		cmocka_unit_test(test_leap_second_zones_are_refused),
		cmocka_unit_test(test_a_version_one_file_is_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
