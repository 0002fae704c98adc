/* SPDX-License-Identifier: ISC */
/*
 * test_wbuf.c - the wire buffer: every call, its limits, and its failure paths
 * (RFC 4251 section 5 encodings; a failed call changes nothing).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "wbuf.h"

static struct wbuf *from(const void *p, size_t n)
{
	struct wbuf *b = wbuf_from(p, n);
	assert_non_null(b);
	return b;
}

static void assert_contents(const struct wbuf *b, const void *p, size_t n)
{
	assert_int_equal(wbuf_len(b), n);
	if (n)
		assert_memory_equal(wbuf_ptr(b), p, n);
}

/* ---- creation ---- */

static void test_new_with_zero_size_allows_the_largest_buffer(void **state)
{
	struct wbuf *b = wbuf_new(0);

	(void)state;
	assert_non_null(b);
	assert_int_equal(wbuf_len(b), 0);
	assert_non_null(wbuf_ptr(b));
	wbuf_free(b);
}

static void test_new_over_the_largest_size_is_refused(void **state)
{
	(void)state;
	assert_null(wbuf_new((size_t)WBUF_SIZE_MAX + 1));
	struct wbuf *b = wbuf_new(WBUF_SIZE_MAX);
	assert_non_null(b);
	wbuf_free(b);
}

static void test_from_copies_the_data_and_is_ready_to_read(void **state)
{
	uint8_t data[3] = { 1, 2, 3 };
	struct wbuf *b = from(data, sizeof data);

	(void)state;
	data[0] = 9;
	assert_contents(b, "\1\2\3", 3);
	wbuf_free(b);
	b = from(NULL, 0);
	assert_int_equal(wbuf_len(b), 0);
	wbuf_free(b);
}

static void test_from_over_the_largest_size_is_refused(void **state)
{
	uint8_t *big = calloc(1, (size_t)WBUF_SIZE_MAX + 1);

	(void)state;
	assert_null(wbuf_from(big, (size_t)WBUF_SIZE_MAX + 1));
	struct wbuf *b = wbuf_from(big, WBUF_SIZE_MAX);
	assert_non_null(b);
	assert_int_equal(wbuf_len(b), WBUF_SIZE_MAX);
	/* full: one more byte does not fit */
	assert_int_equal(wbuf_put_u8(b, 1), JIT_E_TOO_LARGE);
	wbuf_free(b);
	free(big);
}

static void test_free_accepts_null_and_returns_null(void **state)
{
	struct wbuf *b = wbuf_new(0);

	(void)state;
	assert_null(wbuf_free(NULL));
	assert_null(wbuf_free(b));
	{
		_cleanup_(wbuf_freep) struct wbuf *scoped = wbuf_new(0);
		_cleanup_(wbuf_freep) struct wbuf *none = NULL;
		assert_int_equal(wbuf_put_u32(scoped, 1), 0);
		assert_null(none);
	}
}

/* ---- writers ---- */

static void test_integers_are_written_big_endian(void **state)
{
	struct wbuf *b = wbuf_new(0);

	(void)state;
	assert_int_equal(wbuf_put_u8(b, 0xab), 0);
	assert_int_equal(wbuf_put_u32(b, 0x01020304), 0);
	assert_int_equal(wbuf_put_u64(b, 0x0a0b0c0d0e0f1011ull), 0);
	assert_contents(b, "\xab\1\2\3\4\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11", 13);
	wbuf_free(b);
}

static void test_strings_carry_a_length_prefix(void **state)
{
	struct wbuf *b = wbuf_new(0), *inner = from("xy", 2);

	(void)state;
	assert_int_equal(wbuf_put_string(b, "abc", 3), 0);
	assert_int_equal(wbuf_put_string(b, NULL, 0), 0);
	assert_int_equal(wbuf_put_cstring(b, "hi"), 0);
	assert_int_equal(wbuf_put_cstring(b, NULL), 0);
	assert_int_equal(wbuf_put_stringb(b, inner), 0);
	assert_contents(b,
			"\0\0\0\3abc"
			"\0\0\0\0"
			"\0\0\0\2hi"
			"\0\0\0\0"
			"\0\0\0\2xy",
			7 + 4 + 6 + 4 + 6);
	/* the nested buffer was only read, not consumed */
	assert_int_equal(wbuf_len(inner), 2);
	wbuf_free(inner);
	wbuf_free(b);
}

static void test_put_of_nothing_is_a_no_op(void **state)
{
	struct wbuf *b = wbuf_new(1);

	(void)state;
	assert_int_equal(wbuf_put(b, NULL, 0), 0);
	assert_int_equal(wbuf_len(b), 0);
	wbuf_free(b);
}

static void test_stringb_writes_only_the_unread_part(void **state)
{
	struct wbuf *b = wbuf_new(0), *inner = from("abcd", 4);

	(void)state;
	assert_int_equal(wbuf_consume(inner, 1), 0);
	assert_int_equal(wbuf_put_stringb(b, inner), 0);
	assert_contents(b, "\0\0\0\3bcd", 7);
	wbuf_free(inner);
	wbuf_free(b);
}

static void test_mpint_encoding_follows_rfc4251(void **state)
{
	static const struct {
		const char *mag;
		size_t len;
		const char *wire;
		size_t wlen;
	} v[] = {
		/* the examples of RFC 4251 section 5 */
		{ "", 0, "\0\0\0\0", 4 },
		{ "\x09\xa3\x78\xf9\xb2\xe3\x32\xa7", 8, "\0\0\0\x08\x09\xa3\x78\xf9\xb2\xe3\x32\xa7",
		  12 },
		{ "\x80", 1, "\0\0\0\2\0\x80", 6 },
		/* zero in any width is the empty string; leading zeros are stripped */
		{ "\0\0\0", 3, "\0\0\0\0", 4 },
		{ "\0\0\x7f", 3, "\0\0\0\1\x7f", 5 },
		{ "\0\xff", 2, "\0\0\0\2\0\xff", 6 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		struct wbuf *b = wbuf_new(0);
		assert_int_equal(wbuf_put_mpint_bytes(b, (const uint8_t *)v[i].mag, v[i].len), 0);
		assert_contents(b, v[i].wire, v[i].wlen);
		wbuf_free(b);
	}
}

/* Every writer, at the buffer's maximum size, fails with JIT_E_TOO_LARGE and changes nothing. */
static void test_every_writer_at_max_size_plus_one_is_refused(void **state)
{
	const uint8_t top[2] = { 0x80, 0x01 };
	(void)state;
	for (int w = 0; w < 8; w++) {
		/* room for exactly what the writer needs minus one byte */
		static const size_t need[8] = { 3, 1, 4, 8, 4 + 3, 4 + 2, 4 + 3, 4 + 3 };
		struct wbuf *b = wbuf_new(need[w] - 1 + 2), *v = from("abc", 3);
		int r = 0;

		assert_int_equal(wbuf_put(b, "zz", 2), 0);
		switch (w) {
		case 0: r = wbuf_put(b, "abc", 3); break;
		case 1: r = wbuf_put_u8(b, 1); break;
		case 2: r = wbuf_put_u32(b, 1); break;
		case 3: r = wbuf_put_u64(b, 1); break;
		case 4: r = wbuf_put_string(b, "abc", 3); break;
		case 5: r = wbuf_put_cstring(b, "ab"); break;
		case 6: r = wbuf_put_stringb(b, v); break;
		case 7: r = wbuf_put_mpint_bytes(b, top, 2); break; /* 00 80 01 */
		}
		assert_int_equal(r, JIT_E_TOO_LARGE);
		assert_contents(b, "zz", 2);
		/* and one byte more room makes it fit */
		struct wbuf *ok = wbuf_new(need[w]);
		switch (w) {
		case 0: r = wbuf_put(ok, "abc", 3); break;
		case 1: r = wbuf_put_u8(ok, 1); break;
		case 2: r = wbuf_put_u32(ok, 1); break;
		case 3: r = wbuf_put_u64(ok, 1); break;
		case 4: r = wbuf_put_string(ok, "abc", 3); break;
		case 5: r = wbuf_put_cstring(ok, "ab"); break;
		case 6: r = wbuf_put_stringb(ok, v); break;
		case 7: r = wbuf_put_mpint_bytes(ok, top, 2); break;
		}
		assert_int_equal(r, 0);
		assert_int_equal(wbuf_len(ok), need[w]);
		wbuf_free(ok);
		wbuf_free(v);
		wbuf_free(b);
	}
}

static void test_buffer_grows_across_many_writes_and_keeps_the_data(void **state)
{
	struct wbuf *b = wbuf_new(0);

	(void)state;
	for (uint32_t i = 0; i < 10000; i++)
		assert_int_equal(wbuf_put_u32(b, i), 0);
	assert_int_equal(wbuf_len(b), 40000);
	for (uint32_t i = 0; i < 10000; i++) {
		uint32_t v;
		assert_int_equal(wbuf_get_u32(b, &v), 0);
		assert_int_equal(v, i);
	}
	assert_int_equal(wbuf_len(b), 0);
	wbuf_free(b);
}

/* ---- readers ---- */

static void test_integers_are_read_big_endian(void **state)
{
	struct wbuf *b = from("\xab\1\2\3\4\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x77", 14);
	uint8_t u8;
	uint32_t u32;
	uint64_t u64;
	uint8_t raw;

	(void)state;
	assert_int_equal(wbuf_get_u8(b, &u8), 0);
	assert_int_equal(u8, 0xab);
	assert_int_equal(wbuf_get_u32(b, &u32), 0);
	assert_int_equal(u32, 0x01020304);
	assert_int_equal(wbuf_get_u64(b, &u64), 0);
	assert_true(u64 == 0x0a0b0c0d0e0f1011ull);
	assert_int_equal(wbuf_get(b, &raw, 1), 0);
	assert_int_equal(raw, 0x77);
	assert_int_equal(wbuf_len(b), 0);
	wbuf_free(b);
}

static void test_strings_are_read_copied_borrowed_and_nested(void **state)
{
	struct wbuf *b = from("\0\0\0\3abc\0\0\0\2hi\0\0\0\2xy\0\0\0\0", 4 + 3 + 6 + 6 + 4);
	uint8_t *s = NULL;
	const uint8_t *d = NULL;
	char *c = NULL;
	struct wbuf *inner = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(wbuf_get_string(b, &s, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal((char *)s, "abc"); /* NUL-terminated copy */
	assert_int_equal(wbuf_get_string_direct(b, &d, &n), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(d, "hi", 2);
	assert_int_equal(wbuf_get_stringb(b, &inner), 0);
	assert_contents(inner, "xy", 2);
	assert_int_equal(wbuf_get_cstring(b, &c, NULL), 0);
	assert_string_equal(c, "");
	assert_int_equal(wbuf_len(b), 0);
	free(c);
	wbuf_free(inner);
	free(s);
	wbuf_free(b);
}

static void test_cstring_with_a_nul_byte_is_refused(void **state)
{
	struct wbuf *b = from("\0\0\0\3a\0b", 7);
	char *c = (char *)&c;
	size_t n = 77;

	(void)state;
	assert_int_equal(wbuf_get_cstring(b, &c, &n), JIT_E_FORMAT);
	assert_ptr_equal(c, (char *)&c);
	assert_int_equal(n, 77);
	assert_int_equal(wbuf_len(b), 7);
	wbuf_free(b);
	b = from("\0\0\0\3abc", 7);
	assert_int_equal(wbuf_get_cstring(b, &c, &n), 0);
	assert_string_equal(c, "abc");
	assert_int_equal(n, 3);
	free(c);
	wbuf_free(b);
}

static void test_string_longer_than_the_data_is_refused(void **state)
{
	struct wbuf *b = from("\0\0\0\5abcd", 8);
	const uint8_t *d = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(wbuf_get_string_direct(b, &d, &n), JIT_E_FORMAT);
	assert_null(d);
	assert_int_equal(wbuf_len(b), 8);
	wbuf_free(b);
}

static void test_string_length_over_the_largest_buffer_is_too_large(void **state)
{
	uint32_t big = WBUF_SIZE_MAX + 1;
	uint8_t hdr[4] = { (uint8_t)(big >> 24), (uint8_t)(big >> 16), (uint8_t)(big >> 8),
			   (uint8_t)big };
	struct wbuf *b = from(hdr, 4);
	const uint8_t *d = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(wbuf_get_string_direct(b, &d, &n), JIT_E_TOO_LARGE);
	assert_int_equal(wbuf_len(b), 4);
	wbuf_free(b);
	b = from("\xff\xff\xff\xff", 4);
	assert_int_equal(wbuf_get_string_direct(b, &d, &n), JIT_E_TOO_LARGE);
	wbuf_free(b);
}

/* Read one value with reader @w from @b; out-parameters start as sentinels. */
static int read_one(int w, struct wbuf *b, bool *outs_untouched)
{
	uint8_t raw[3] = { 0xee, 0xee, 0xee }, u8 = 0xee, *s = (uint8_t *)&s;
	uint32_t u32 = 0xeeeeeeee;
	uint64_t u64 = 0xeeeeeeeeeeeeeeeeull;
	const uint8_t *d = (const uint8_t *)&d;
	char *c = (char *)&c;
	struct wbuf *v = (struct wbuf *)&v;
	size_t n = 0xeeee;
	int r = 0;

	switch (w) {
	case 0: r = wbuf_get(b, raw, 3); break;
	case 1: r = wbuf_get_u8(b, &u8); break;
	case 2: r = wbuf_get_u32(b, &u32); break;
	case 3: r = wbuf_get_u64(b, &u64); break;
	case 4: r = wbuf_get_string(b, &s, &n); break;
	case 5: r = wbuf_get_string_direct(b, &d, &n); break;
	case 6: r = wbuf_get_cstring(b, &c, &n); break;
	case 7: r = wbuf_get_stringb(b, &v); break;
	case 8: r = wbuf_get_mpint_direct(b, &d, &n); break;
	}
	*outs_untouched = raw[0] == 0xee && u8 == 0xee && u32 == 0xeeeeeeee &&
			  u64 == 0xeeeeeeeeeeeeeeeeull && s == (uint8_t *)&s &&
			  d == (const uint8_t *)&d && c == (char *)&c && v == (struct wbuf *)&v &&
			  n == 0xeeee;
	if (r == 0) {
		if (w == 4)
			free(s);
		if (w == 6)
			free(c);
		if (w == 7)
			wbuf_free(v);
	}
	return r;
}

static void test_short_reads_at_every_length_leave_buffer_and_outputs_unchanged(void **state)
{
	/* for each reader, a valid encoding of its value */
	static const struct {
		const char *wire;
		size_t len;
	} ok[] = {
		{ "abc", 3 },
		{ "\x01", 1 },
		{ "\1\2\3\4", 4 },
		{ "\1\2\3\4\5\6\7\x08", 8 },
		{ "\0\0\0\3abc", 7 },
		{ "\0\0\0\3abc", 7 },
		{ "\0\0\0\3abc", 7 },
		{ "\0\0\0\3abc", 7 },
		{ "\0\0\0\2\0\x80", 6 },
	};
	(void)state;
	for (int w = 0; w < 9; w++) {
		bool untouched;
		for (size_t n = 0; n < ok[w].len; n++) {
			struct wbuf *b = from(ok[w].wire, n);
			assert_int_equal(read_one(w, b, &untouched), JIT_E_FORMAT);
			assert_true(untouched);
			assert_contents(b, ok[w].wire, n);
			wbuf_free(b);
		}
		struct wbuf *b = from(ok[w].wire, ok[w].len);
		assert_int_equal(read_one(w, b, &untouched), 0);
		assert_false(untouched);
		assert_int_equal(wbuf_len(b), 0);
		wbuf_free(b);
	}
}

static void test_mpint_rules_refuse_negative_non_minimal_and_padded_zero(void **state)
{
	static const struct {
		const char *wire;
		size_t len;
	} bad[] = {
		{ "\0\0\0\1\x80", 5 },	   /* negative */
		{ "\0\0\0\2\xff\x01", 6 }, /* negative */
		{ "\0\0\0\2\0\x7f", 6 },   /* needless leading zero */
		{ "\0\0\0\3\0\0\x80", 7 }, /* two leading zeros */
		{ "\0\0\0\1\0", 5 },	   /* zero must be the empty string */
		{ "\0\0\0\2\0\0", 6 },	   /* zero, padded */
	};
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct wbuf *b = from(bad[i].wire, bad[i].len);
		bool untouched;
		assert_int_equal(read_one(8, b, &untouched), JIT_E_FORMAT);
		assert_true(untouched);
		assert_int_equal(wbuf_len(b), bad[i].len);
		wbuf_free(b);
	}
}

static void test_mpint_reads_give_the_magnitude_without_the_sign_byte(void **state)
{
	struct wbuf *b = from("\0\0\0\0\0\0\0\2\0\x80\0\0\0\1\x7f", 15);
	const uint8_t *d;
	size_t n;

	(void)state;
	assert_int_equal(wbuf_get_mpint_direct(b, &d, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(wbuf_get_mpint_direct(b, &d, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(d[0], 0x80);
	assert_int_equal(wbuf_get_mpint_direct(b, &d, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(d[0], 0x7f);
	wbuf_free(b);
}

static void test_mpint_round_trips_for_many_magnitudes(void **state)
{
	(void)state;
	for (unsigned len = 0; len <= 40; len++) {
		for (unsigned top = 0; top < 256; top += 15) {
			uint8_t mag[41];
			const uint8_t *d;
			size_t n;
			struct wbuf *b = wbuf_new(0);

			for (unsigned i = 0; i < len; i++)
				mag[i] = (uint8_t)(i * 7 + 1);
			if (len)
				mag[0] = (uint8_t)top;
			assert_int_equal(wbuf_put_mpint_bytes(b, mag, len), 0);
			assert_int_equal(wbuf_get_mpint_direct(b, &d, &n), 0);
			assert_int_equal(wbuf_len(b), 0);
			/* the same number: compare after stripping leading zeros */
			size_t skip = 0;
			while (skip < len && mag[skip] == 0)
				skip++;
			assert_int_equal(n, len - skip);
			if (n)
				assert_memory_equal(d, mag + skip, n);
			wbuf_free(b);
		}
	}
}

static void test_writers_and_readers_round_trip(void **state)
{
	struct wbuf *b = wbuf_new(0), *inner = from("nested", 6), *got = NULL;
	uint8_t u8, *s = NULL;
	uint32_t u32;
	uint64_t u64;
	char *c = NULL;
	size_t n;

	(void)state;
	assert_int_equal(wbuf_put_u8(b, 200), 0);
	assert_int_equal(wbuf_put_u32(b, UINT32_MAX), 0);
	assert_int_equal(wbuf_put_u64(b, UINT64_MAX - 1), 0);
	assert_int_equal(wbuf_put_string(b, "\0bin\0", 5), 0);
	assert_int_equal(wbuf_put_cstring(b, "text"), 0);
	assert_int_equal(wbuf_put_stringb(b, inner), 0);
	assert_int_equal(wbuf_get_u8(b, &u8), 0);
	assert_int_equal(wbuf_get_u32(b, &u32), 0);
	assert_int_equal(wbuf_get_u64(b, &u64), 0);
	assert_int_equal(wbuf_get_string(b, &s, &n), 0);
	assert_int_equal(wbuf_get_cstring(b, &c, &n), 0);
	assert_int_equal(wbuf_get_stringb(b, &got), 0);
	assert_int_equal(u8, 200);
	assert_true(u32 == UINT32_MAX);
	assert_true(u64 == UINT64_MAX - 1);
	assert_memory_equal(s, "\0bin\0", 5);
	assert_string_equal(c, "text");
	assert_int_equal(n, 4);
	assert_contents(got, "nested", 6);
	assert_int_equal(wbuf_len(b), 0);
	free(s);
	free(c);
	wbuf_free(got);
	wbuf_free(inner);
	wbuf_free(b);
}

/* ---- the rest ---- */

static void test_consume_skips_and_refuses_more_than_is_unread(void **state)
{
	struct wbuf *b = from("abcdef", 6);

	(void)state;
	assert_int_equal(wbuf_consume(b, 2), 0);
	assert_contents(b, "cdef", 4);
	assert_int_equal(wbuf_consume(b, 5), JIT_E_FORMAT);
	assert_contents(b, "cdef", 4);
	assert_int_equal(wbuf_consume(b, 4), 0);
	assert_int_equal(wbuf_len(b), 0);
	assert_int_equal(wbuf_consume(b, 0), 0);
	wbuf_free(b);
}

static void test_dup_copies_the_unread_bytes_with_a_nul_after(void **state)
{
	struct wbuf *b = from("abcdef", 6);
	uint8_t *p = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(wbuf_consume(b, 2), 0);
	assert_int_equal(wbuf_dup(b, &p, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal((char *)p, "cdef");
	free(p);
	assert_int_equal(wbuf_consume(b, 4), 0);
	assert_int_equal(wbuf_dup(b, &p, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(p[0], 0);
	free(p);
	wbuf_free(b);
}

static void test_reset_empties_but_keeps_the_maximum_size(void **state)
{
	struct wbuf *b = wbuf_new(4);

	(void)state;
	assert_int_equal(wbuf_put_u32(b, 7), 0);
	assert_int_equal(wbuf_consume(b, 1), 0);
	wbuf_reset(b);
	assert_int_equal(wbuf_len(b), 0);
	assert_int_equal(wbuf_put_u32(b, 0x61626364), 0);
	assert_contents(b, "abcd", 4);
	assert_int_equal(wbuf_put_u8(b, 0), JIT_E_TOO_LARGE);
	wbuf_free(b);
}

static void test_writes_after_reads_append_at_the_end(void **state)
{
	struct wbuf *b = from("ab", 2);
	uint8_t c;

	(void)state;
	assert_int_equal(wbuf_get_u8(b, &c), 0);
	assert_int_equal(wbuf_put(b, "cd", 2), 0);
	assert_contents(b, "bcd", 3);
	wbuf_free(b);
}

static void test_max_size_counts_bytes_already_read(void **state)
{
	struct wbuf *b = wbuf_new(4);
	uint8_t c;

	(void)state;
	assert_int_equal(wbuf_put_u32(b, 1), 0);
	assert_int_equal(wbuf_get_u8(b, &c), 0);
	/* reading does not make room: the maximum bounds the whole buffer */
	assert_int_equal(wbuf_put_u8(b, 1), JIT_E_TOO_LARGE);
	assert_int_equal(wbuf_len(b), 3);
	wbuf_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_with_zero_size_allows_the_largest_buffer),
		cmocka_unit_test(test_new_over_the_largest_size_is_refused),
		cmocka_unit_test(test_from_copies_the_data_and_is_ready_to_read),
		cmocka_unit_test(test_from_over_the_largest_size_is_refused),
		cmocka_unit_test(test_free_accepts_null_and_returns_null),
		cmocka_unit_test(test_integers_are_written_big_endian),
		cmocka_unit_test(test_strings_carry_a_length_prefix),
		cmocka_unit_test(test_put_of_nothing_is_a_no_op),
		cmocka_unit_test(test_stringb_writes_only_the_unread_part),
		cmocka_unit_test(test_mpint_encoding_follows_rfc4251),
		cmocka_unit_test(test_every_writer_at_max_size_plus_one_is_refused),
		cmocka_unit_test(test_buffer_grows_across_many_writes_and_keeps_the_data),
		cmocka_unit_test(test_integers_are_read_big_endian),
		cmocka_unit_test(test_strings_are_read_copied_borrowed_and_nested),
		cmocka_unit_test(test_cstring_with_a_nul_byte_is_refused),
		cmocka_unit_test(test_string_longer_than_the_data_is_refused),
		cmocka_unit_test(test_string_length_over_the_largest_buffer_is_too_large),
		cmocka_unit_test(test_short_reads_at_every_length_leave_buffer_and_outputs_unchanged),
		cmocka_unit_test(test_mpint_rules_refuse_negative_non_minimal_and_padded_zero),
		cmocka_unit_test(test_mpint_reads_give_the_magnitude_without_the_sign_byte),
		cmocka_unit_test(test_mpint_round_trips_for_many_magnitudes),
		cmocka_unit_test(test_writers_and_readers_round_trip),
		cmocka_unit_test(test_consume_skips_and_refuses_more_than_is_unread),
		cmocka_unit_test(test_dup_copies_the_unread_bytes_with_a_nul_after),
		cmocka_unit_test(test_reset_empties_but_keeps_the_maximum_size),
		cmocka_unit_test(test_writes_after_reads_append_at_the_end),
		cmocka_unit_test(test_max_size_counts_bytes_already_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
