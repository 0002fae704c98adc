/* SPDX-License-Identifier: ISC */
/*
 * tz.c - named time zones without touching the process's TZ: each zone's TZif file
 * (RFC 8536, versions 1 to 4) is read once when the policy loads, and the UTC offset at an
 * instant is computed from its transitions and, after the last one, from its footer POSIX TZ
 * string (RFC 8536 section 3.3; POSIX.1-2017 section 8.3 "TZ"). Loaded zones are immutable,
 * so evaluation is thread-safe: no setenv("TZ"), no tzset(), no localtime().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "internal.h"
#include "util.h"

#define TZ_NAME_MAX 64
#define TZ_STRING_MAX 255
#define TZ_TYPES_MAX 256
#define TZ_UTOFF_MAX (26 * 3600)
#define TZ_HEADER_LEN 44

struct tz *tz_free(struct tz *z)
{
	if (!z)
		return NULL;
	free(z->name);
	free(z->times);
	free(z->types);
	free(z->utoff);
	free(z);
	return NULL;
}

void tz_freep(struct tz **z)
{
	tz_free(*z);
}

bool tz_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > TZ_NAME_MAX || name[0] == '/' || name[n - 1] == '/')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (c == '/') {
			if (name[i + 1] == '/')
				return false;
		} else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || c == '_' || c == '+' || c == '-')) {
			return false; /* no '.', so never ".." */
		}
	}
	return true;
}

/* ---- civil calendar (proleptic Gregorian), days since 1970-01-01 ------------------------ */

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = floor_div(y, 400);
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int64_t year_from_days(int64_t z)
{
	z += 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	return yoe + era * 400 + (mp >= 10);
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(int64_t y, unsigned m)
{
	static const unsigned dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Local seconds since the epoch at which @d happens in year @y. */
static int64_t rule_local(int64_t y, const struct tz_date *d)
{
	int64_t day;

	if (d->kind == 'J') {
		day = days_from_civil(y, 1, 1) + d->day - 1 + (is_leap(y) && d->day >= 60);
	} else if (d->kind == 'N') {
		day = days_from_civil(y, 1, 1) + d->day;
	} else {
		int64_t first = days_from_civil(y, d->month, 1);
		int64_t wd_first = ((first + 4) % 7 + 7) % 7; /* 1970-01-01 was a Thursday */
		int64_t off = ((int64_t)d->day - wd_first + 7) % 7 + (int64_t)(d->week - 1) * 7;
		while (off >= days_in_month(y, d->month))
			off -= 7;
		day = first + off;
	}
	return day * 86400 + d->time_sec;
}

static bool rule_is_dst(const struct tz *z, int64_t t)
{
	int64_t y0 = year_from_days(floor_div(t, 86400));

	for (int64_t y = y0 - 1; y <= y0 + 1; y++) {
		int64_t s = rule_local(y, &z->start) - z->std_utoff;
		int64_t e = rule_local(y, &z->end) - z->dst_utoff;
		if (s < e) {
			if (t >= s && t < e)
				return true;
		} else {
			/* southern hemisphere: DST from this year's start to next year's end */
			int64_t e_next = rule_local(y + 1, &z->end) - z->dst_utoff;
			if (t >= s && t < e_next)
				return true;
		}
	}
	return false;
}

int32_t tz_utoff(const struct tz *z, int64_t t)
{
	size_t lo = 0, hi = z->n_times;

	/* beyond year +-100000 nothing is meaningful; keep the arithmetic far from overflow */
	if (t > (int64_t)3e12)
		t = (int64_t)3e12;
	if (t < -(int64_t)3e12)
		t = -(int64_t)3e12;
	if (z->n_times == 0 || t >= z->times[z->n_times - 1]) {
		if (z->has_footer)
			return z->has_dst && rule_is_dst(z, t) ? z->dst_utoff : z->std_utoff;
		if (z->n_times == 0)
			return z->utoff[0];
	}
	if (t < z->times[0])
		return z->utoff[0];
	while (hi - lo > 1) { /* times[lo] <= t < times[hi] */
		size_t mid = lo + (hi - lo) / 2;
		if (z->times[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return z->utoff[z->types[lo]];
}

/* ---- POSIX TZ strings ------------------------------------------------------------------ */

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool parse_zone_name(const char **s)
{
	const char *p = *s;
	size_t n = 0;

	if (*p == '<') {
		for (p++; is_alpha(*p) || is_digit(*p) || *p == '+' || *p == '-'; p++)
			n++;
		if (*p != '>' || n < 3)
			return false;
		*s = p + 1;
		return true;
	}
	for (; is_alpha(*p); p++)
		n++;
	if (n < 3)
		return false;
	*s = p;
	return true;
}

static bool parse_num(const char **s, unsigned max_digits, unsigned max, unsigned *ret)
{
	unsigned v = 0, n = 0;

	while (is_digit(**s) && n < max_digits) {
		v = v * 10 + (unsigned)(**s - '0');
		(*s)++;
		n++;
	}
	if (n == 0 || is_digit(**s) || v > max)
		return false;
	*ret = v;
	return true;
}

/* [+-]hh[:mm[:ss]] with hh <= @max_h, as seconds */
static bool parse_hms(const char **s, unsigned max_h, int32_t *ret)
{
	unsigned h, m = 0, sec = 0;
	int sign = 1;

	if (**s == '+' || **s == '-')
		sign = *(*s)++ == '-' ? -1 : 1;
	if (!parse_num(s, 3, max_h, &h))
		return false;
	if (**s == ':') {
		(*s)++;
		if (!parse_num(s, 2, 59, &m))
			return false;
		if (**s == ':') {
			(*s)++;
			if (!parse_num(s, 2, 59, &sec))
				return false;
		}
	}
	*ret = sign * (int32_t)(h * 3600 + m * 60 + sec);
	return true;
}

static bool parse_date(const char **s, struct tz_date *d)
{
	*d = (struct tz_date){ .time_sec = 7200 };
	if (**s == 'J') {
		(*s)++;
		d->kind = 'J';
		if (!parse_num(s, 3, 365, &d->day) || d->day < 1)
			return false;
	} else if (**s == 'M') {
		(*s)++;
		d->kind = 'M';
		if (!parse_num(s, 2, 12, &d->month) || d->month < 1 || *(*s)++ != '.' ||
		    !parse_num(s, 1, 5, &d->week) || d->week < 1 || *(*s)++ != '.' ||
		    !parse_num(s, 1, 6, &d->day))
			return false;
	} else {
		d->kind = 'N';
		if (!parse_num(s, 3, 365, &d->day))
			return false;
	}
	if (**s == '/') {
		(*s)++;
		if (!parse_hms(s, 167, &d->time_sec))
			return false;
	}
	return true;
}

/* Fill the footer fields of @z from @s; false when @s is not a POSIX TZ string. */
static bool parse_posix(struct tz *z, const char *s)
{
	int32_t off;

	if (!parse_zone_name(&s) || !parse_hms(&s, 24, &off))
		return false;
	z->std_utoff = -off;
	z->has_footer = true;
	if (*s == 0)
		return true;
	if (!parse_zone_name(&s))
		return false;
	z->has_dst = true;
	z->dst_utoff = z->std_utoff + 3600;
	if (*s != ',' && *s != 0) {
		if (!parse_hms(&s, 24, &off))
			return false;
		z->dst_utoff = -off;
	}
	/* DST without a rule leaves the dates to the implementation: refused, and tzdata
	 * footers always carry the rule */
	if (*s++ != ',' || !parse_date(&s, &z->start) || *s++ != ',' ||
	    !parse_date(&s, &z->end))
		return false;
	return *s == 0;
}

int tz_from_posix(const char *tzstr, struct tz **ret)
{
	_cleanup_(tz_freep) struct tz *z = calloc(1, sizeof *z);

	if (!z || !(z->name = strdup(tzstr)))
		return -ENOMEM;
	if (strlen(tzstr) > TZ_STRING_MAX || !parse_posix(z, tzstr))
		return JIT_E_FORMAT;
	*ret = TAKE_PTR(z);
	return 0;
}

/* ---- TZif ------------------------------------------------------------------------------ */

struct tz_reader {
	const uint8_t *p;
	size_t left;
};

static const uint8_t *take(struct tz_reader *r, size_t n)
{
	const uint8_t *p = r->p;

	if (n > r->left)
		return NULL;
	r->p += n;
	r->left -= n;
	return p;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64s(const uint8_t *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tz_header {
	char version;
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static bool read_header(struct tz_reader *r, struct tz_header *h)
{
	const uint8_t *p = take(r, TZ_HEADER_LEN);

	if (!p || memcmp(p, "TZif", 4) != 0)
		return false;
	h->version = (char)p[4];
	if (h->version != 0 && (h->version < '2' || h->version > '4'))
		return false;
	h->isutcnt = be32(p + 20);
	h->isstdcnt = be32(p + 24);
	h->leapcnt = be32(p + 28);
	h->timecnt = be32(p + 32);
	h->typecnt = be32(p + 36);
	h->charcnt = be32(p + 40);
	/* each count is bounded by the file size, so the products below cannot overflow */
	return h->timecnt <= POLICY_TZ_FILE_MAX && h->charcnt <= POLICY_TZ_FILE_MAX &&
	       h->leapcnt <= POLICY_TZ_FILE_MAX && h->typecnt >= 1 &&
	       h->typecnt <= TZ_TYPES_MAX && (h->isutcnt == 0 || h->isutcnt == h->typecnt) &&
	       (h->isstdcnt == 0 || h->isstdcnt == h->typecnt);
}

static size_t block_len(const struct tz_header *h, size_t tsize)
{
	return (size_t)h->timecnt * (tsize + 1) + (size_t)h->typecnt * 6 + h->charcnt +
	       (size_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

static int read_block(struct tz_reader *r, const struct tz_header *h, size_t tsize, struct tz *z)
{
	const uint8_t *t, *idx, *info;

	if (h->leapcnt)
		return JIT_E_FORMAT; /* "right/" zones count leap seconds; POSIX time does not */
	if (!(t = take(r, (size_t)h->timecnt * tsize)) || !(idx = take(r, h->timecnt)) ||
	    !(info = take(r, (size_t)h->typecnt * 6)) ||
	    !take(r, (size_t)h->charcnt + h->isstdcnt + h->isutcnt))
		return JIT_E_FORMAT;
	z->n_times = h->timecnt;
	z->n_types = h->typecnt;
	z->times = calloc(h->timecnt ? h->timecnt : 1, sizeof *z->times);
	z->types = calloc(h->timecnt ? h->timecnt : 1, 1);
	z->utoff = calloc(h->typecnt, sizeof *z->utoff);
	if (!z->times || !z->types || !z->utoff)
		return -ENOMEM;
	for (size_t i = 0; i < h->typecnt; i++) {
		int32_t off = (int32_t)be32(info + 6 * i);
		if (off < -TZ_UTOFF_MAX || off > TZ_UTOFF_MAX || info[6 * i + 4] > 1)
			return JIT_E_FORMAT;
		z->utoff[i] = off;
	}
	for (size_t i = 0; i < h->timecnt; i++) {
		z->times[i] = tsize == 8 ? be64s(t + 8 * i) : (int32_t)be32(t + 4 * i);
		z->types[i] = idx[i];
		if (idx[i] >= h->typecnt || (i > 0 && z->times[i] <= z->times[i - 1]))
			return JIT_E_FORMAT;
	}
	return 0;
}

int tz_parse(const char *name, const uint8_t *data, size_t len, struct tz **ret)
{
	_cleanup_(tz_freep) struct tz *z = NULL;
	struct tz_reader r = { data, len };
	struct tz_header h;
	size_t tsize = 4;
	int e;

	if (len > POLICY_TZ_FILE_MAX)
		return JIT_E_TOO_LARGE;
	if (!read_header(&r, &h))
		return JIT_E_FORMAT;
	if (h.version >= '2') {
		if (!take(&r, block_len(&h, 4)) || !read_header(&r, &h))
			return JIT_E_FORMAT;
		tsize = 8;
	}
	z = calloc(1, sizeof *z);
	if (!z || !(z->name = strdup(name)))
		return -ENOMEM;
	if ((e = read_block(&r, &h, tsize, z)) < 0)
		return e;
	if (tsize == 8) {
		const uint8_t *nl;
		char footer[TZ_STRING_MAX + 1];
		size_t n;

		if (r.left < 2 || r.p[0] != '\n' || !(nl = memchr(r.p + 1, '\n', r.left - 1)))
			return JIT_E_FORMAT;
		n = (size_t)(nl - r.p) - 1;
		if (n > TZ_STRING_MAX || nl != r.p + r.left - 1 || memchr(r.p + 1, 0, n))
			return JIT_E_FORMAT;
		memcpy(footer, r.p + 1, n);
		footer[n] = 0;
		if (n > 0 && !parse_posix(z, footer))
			return JIT_E_FORMAT;
	} else if (r.left != 0) {
		return JIT_E_FORMAT;
	}
	*ret = TAKE_PTR(z);
	return 0;
}

int tz_load(const char *name, const char *dir, struct tz **ret)
{
	char path[4096];
	_cleanup_free_ uint8_t *buf = NULL;
	struct stat st;
	size_t got = 0;
	int fd, e = 0;

	if (!tz_name_valid(name))
		return JIT_E_NAME;
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir ? dir : POLICY_ZONEINFO_DIR, name) >=
	    sizeof path)
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		e = -errno;
	} else if (!S_ISREG(st.st_mode)) {
		e = -EISDIR;
	} else if ((uint64_t)st.st_size > POLICY_TZ_FILE_MAX) {
		e = JIT_E_TOO_LARGE;
	} else if (!(buf = malloc((size_t)st.st_size + 1))) {
		e = -ENOMEM;
	} else {
		while (e == 0 && got <= (size_t)st.st_size) {
			ssize_t n = read(fd, buf + got, (size_t)st.st_size + 1 - got);
			if (n < 0 && errno != EINTR)
				e = -errno;
			else if (n == 0)
				break;
			else if (n > 0)
				got += (size_t)n;
		}
	}
	close(fd);
	if (e < 0)
		return e;
	return tz_parse(name, buf, got, ret);
}
