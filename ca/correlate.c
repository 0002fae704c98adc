/* SPDX-License-Identifier: ISC */
/*
 * correlate.c - sshd log lines to certificate events. The message texts are those of
 * OpenSSH's auth.c (auth_log, format_method_key), auth2-pubkey.c (user_cert_trusted_ca),
 * auth2-pubkeyfile.c and sshkey.c (sshkey_cert_check_authority); see correlate.h and
 * docs/design/correlate.md.
 *
 * Every field boundary is found by matching the fixed text around it. Where a free-text
 * field (a key ID, a user name) could contain that fixed text too, the rule is written at
 * the place it applies: key IDs end at the rightmost complete tail, and the
 * " from ADDR port N ssh2" clause must occur exactly once.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "correlate.h"
#include "err.h"
#include "names.h"
#include "util.h"

/* A borrowed run of bytes of the line being parsed. */
struct span {
	const char *p;
	size_t n;
};

static struct span span_from(const char *p, const char *end)
{
	return (struct span){ p, (size_t)(end - p) };
}

static const char *span_end(struct span s)
{
	return s.p + s.n;
}

/* Consume @lit when @s starts with it. */
static bool eat(struct span *s, const char *lit)
{
	size_t n = strlen(lit);

	if (s->n < n || memcmp(s->p, lit, n) != 0)
		return false;
	s->p += n;
	s->n -= n;
	return true;
}

static bool span_is(struct span s, const char *lit)
{
	return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

static bool ends_with(struct span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n >= n && memcmp(s.p + s.n - n, lit, n) == 0;
}

/* Position of the first @lit in @s, or NULL. */
static const char *find(struct span s, const char *lit)
{
	return memmem(s.p, s.n, lit, strlen(lit));
}

static bool contains(struct span s, const char *lit)
{
	return find(s, lit) != NULL;
}

/* Consume 1..@width decimal digits (exactly @width when @exact) as a number <= @max. */
static bool eat_digits(struct span *s, size_t width, bool exact, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;
	size_t i = 0;

	for (; i < width && i < s->n && s->p[i] >= '0' && s->p[i] <= '9'; i++) {
		unsigned d = (unsigned)(s->p[i] - '0');

		if (x > (max - d) / 10)
			return false;
		x = x * 10 + d;
	}
	if (i == 0 || (exact && i != width))
		return false;
	s->p += i;
	s->n -= i;
	*v = x;
	return true;
}

/* Consume a decimal number without leading zeros (as printf %llu/%d prints it), <= @max. */
static bool eat_uint(struct span *s, uint64_t max, uint64_t *v)
{
	if (s->n > 1 && s->p[0] == '0' && s->p[1] >= '0' && s->p[1] <= '9')
		return false;
	return eat_digits(s, 20, false, max, v);
}

/* Consume a non-empty run of bytes other than ' '. */
static bool eat_token(struct span *s, struct span *tok)
{
	size_t i = 0;

	while (i < s->n && s->p[i] != ' ')
		i++;
	if (i == 0)
		return false;
	*tok = (struct span){ s->p, i };
	s->p += i;
	s->n -= i;
	return true;
}

static bool is_b64(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

static bool is_lhex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/*
 * Consume a key fingerprint as sshd prints it (sshkey_fingerprint(), SSH_FP_DEFAULT):
 * "SHA256:" and the unpadded base64 of 32 bytes (43 characters), or "MD5:" and 16 hex
 * pairs joined by ':'. A fixed length makes a truncated line detectable.
 */
static bool eat_fingerprint(struct span *s, struct span *fp)
{
	struct span t = *s;
	size_t i;

	if (eat(&t, "SHA256:")) {
		if (t.n < 43)
			return false;
		for (i = 0; i < 43; i++)
			if (!is_b64(t.p[i]))
				return false;
		i = 7 + 43;
	} else if (eat(&t, "MD5:")) {
		if (t.n < 47)
			return false;
		for (i = 0; i < 47; i++)
			if ((i % 3 == 2) ? t.p[i] != ':' : !is_lhex(t.p[i]))
				return false;
		i = 4 + 47;
	} else {
		return false;
	}
	*fp = (struct span){ s->p, i };
	s->p += i;
	s->n -= i;
	return true;
}

/* Copy a field, refusing one over CORRELATE_FIELD_MAX. */
static int field_dup(char **dst, struct span s)
{
	if (s.n > CORRELATE_FIELD_MAX)
		return JIT_E_TOO_LARGE;
	*dst = strndup(s.p, s.n);
	return *dst ? 0 : -ENOMEM;
}

struct correlate_login *correlate_login_free(struct correlate_login *l)
{
	if (!l)
		return NULL;
	free(l->time_text);
	free(l->host);
	free(l->login);
	free(l->from_addr);
	free(l->key_type);
	free(l->key_fingerprint);
	free(l->key_id);
	free(l->ca_key_type);
	free(l->ca_fingerprint);
	free(l->ca_source);
	free(l->jit_user);
	free(l->jit_host);
	free(l->jit_login);
	free(l->jit_request);
	free(l->detail);
	free(l);
	return NULL;
}

void correlate_login_freep(struct correlate_login **l)
{
	*l = correlate_login_free(*l);
}

/* ---- timestamps ---------------------------------------------------------------------- */

static bool is_leap(uint64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned month_days(uint64_t y, unsigned m)
{
	static const unsigned days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to @y-@m-@d (proleptic Gregorian), for 1970 <= @y <= 9999. */
static uint64_t days_since_epoch(uint64_t y, unsigned m, unsigned d)
{
	/* Whole years: 365 each plus the leap days in [1970, y). */
	uint64_t days = (y - 1970) * 365 + ((y - 1) / 4 - 1969 / 4) - ((y - 1) / 100 - 1969 / 100) +
	       ((y - 1) / 400 - 1969 / 400);
	for (unsigned i = 1; i < m; i++)
		days += month_days(y, i);
	return days + d - 1;
}

struct civil {
	uint64_t year; /* 0 when the text has none */
	unsigned mon, day, hour, min, sec;
};

/* The clock fields are range-checked where they are read. */
static bool civil_valid(const struct civil *c)
{
	unsigned mdays;

	if (c->mon < 1 || c->mon > 12)
		return false;
	/* Without a year, Feb 29 may exist (civil_epoch_guess_year() finds a leap year). */
	if (c->year)
		mdays = month_days(c->year, c->mon);
	else
		mdays = c->mon == 2 ? 29 : month_days(1, c->mon);
	return c->day >= 1 && c->day <= mdays;
}

static uint64_t civil_epoch(const struct civil *c, uint64_t year)
{
	return days_since_epoch(year, c->mon, c->day) * 86400 + c->hour * 3600u + c->min * 60u +
	       c->sec;
}

/* The year of @now (seconds since the epoch). */
static uint64_t year_of(uint64_t now)
{
	/* A year has at most 366 days: start at or below the answer, then step up. */
	uint64_t y = 1970 + now / 86400 / 366;

	if (y > 9999)
		return 9999;
	while (y < 9999 && civil_epoch(&(struct civil){ y + 1, 1, 1, 0, 0, 0 }, y + 1) <= now)
		y++;
	return y;
}

/*
 * A syslog date has no year: take the latest year in which the date exists and is not
 * after @now + CORRELATE_FUTURE_SLACK_SEC (Feb 29 may reach back to the last leap year).
 * Return 0 when @now is 0 or too early for any year.
 */
static uint64_t civil_epoch_guess_year(const struct civil *c, uint64_t now)
{
	uint64_t this_year, y;

	if (now == 0)
		return 0;
	this_year = year_of(now);
	for (y = this_year; y >= 1970 && y + 8 >= this_year; y--) {
		uint64_t t;

		if (c->day > month_days(y, c->mon))
			continue;
		t = civil_epoch(c, y);
		if (t <= now + CORRELATE_FUTURE_SLACK_SEC)
			return t;
	}
	return 0;
}

/* "HH:MM:SS" */
static bool eat_clock(struct span *s, struct civil *c)
{
	uint64_t h, m, sec;

	if (!eat_digits(s, 2, true, 23, &h) || !eat(s, ":") || !eat_digits(s, 2, true, 59, &m) ||
	    !eat(s, ":") || !eat_digits(s, 2, true, 60, &sec))
		return false;
	c->hour = (unsigned)h;
	c->min = (unsigned)m;
	c->sec = (unsigned)sec;
	return true;
}

/* Optional ".DIGITS" (fractions of a second are dropped). */
static bool eat_fraction(struct span *s)
{
	uint64_t unused;

	if (!eat(s, "."))
		return true;
	return eat_digits(s, 9, false, 999999999, &unused);
}

/* "2026-11-21T13:04:05[.ffffff](Z|+HH:MM|+HHMM)" */
static bool eat_iso_time(struct span *s, uint64_t *ret_time)
{
	struct civil c = { 0 };
	uint64_t y, mo, d, oh = 0, om = 0, t;
	struct span t0 = *s;
	char sign = 0;

	if (!eat_digits(&t0, 4, true, 9999, &y) || y < 1970 || !eat(&t0, "-") ||
	    !eat_digits(&t0, 2, true, 12, &mo) || !eat(&t0, "-") ||
	    !eat_digits(&t0, 2, true, 31, &d) || !eat(&t0, "T") || !eat_clock(&t0, &c) ||
	    !eat_fraction(&t0))
		return false;
	c.year = y;
	c.mon = (unsigned)mo;
	c.day = (unsigned)d;
	if (!civil_valid(&c))
		return false;
	if (!eat(&t0, "Z")) {
		if (t0.n == 0 || (t0.p[0] != '+' && t0.p[0] != '-'))
			return false;
		sign = t0.p[0];
		t0.p++;
		t0.n--;
		if (!eat_digits(&t0, 2, true, 23, &oh))
			return false;
		eat(&t0, ":");
		if (!eat_digits(&t0, 2, true, 59, &om))
			return false;
	}
	t = civil_epoch(&c, y);
	if (sign == '+') {
		if (t < oh * 3600 + om * 60)
			return false;
		t -= oh * 3600 + om * 60;
	} else if (sign == '-') {
		t += oh * 3600 + om * 60;
	}
	*s = t0;
	*ret_time = t;
	return true;
}

/* "Nov 21 13:04:05[.ffffff]" or "Nov  1 ..." (no year, no zone). */
static bool eat_syslog_time(struct span *s, uint64_t now, uint64_t *ret_time)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct civil c = { 0 };
	struct span t0 = *s;
	uint64_t d;

	if (t0.n < 4 || t0.p[3] != ' ')
		return false;
	for (unsigned i = 0; i < 12; i++)
		if (memcmp(t0.p, months + 3 * i, 3) == 0)
			c.mon = i + 1;
	if (c.mon == 0)
		return false;
	t0.p += 4;
	t0.n -= 4;
	eat(&t0, " ");
	if (!eat_digits(&t0, 2, false, 31, &d) || !eat(&t0, " ") || !eat_clock(&t0, &c) ||
	    !eat_fraction(&t0))
		return false;
	c.day = (unsigned)d;
	if (!civil_valid(&c))
		return false;
	*s = t0;
	*ret_time = civil_epoch_guess_year(&c, now);
	return true;
}

/* `journalctl -o short-unix`: "1795266245.123456". */
static bool eat_unix_time(struct span *s, uint64_t *ret_time)
{
	struct span t0 = *s;
	uint64_t t;

	if (!eat_uint(&t0, 253402300799u, &t) || t0.n == 0 || t0.p[0] != '.' ||
	    !eat_fraction(&t0))
		return false;
	*s = t0;
	*ret_time = t;
	return true;
}

/* ---- the line header ----------------------------------------------------------------- */

enum header_form {
	HEADER_NONE,  /* no timestamp: sshd's stderr form, the message is the whole line */
	HEADER_OTHER, /* a log line, but not from sshd */
	HEADER_SSHD,  /* a log line from sshd: fields and message set */
};

struct header {
	struct span time_text;
	uint64_t time;
	struct span host;
	uint32_t pid;
};

/* "TIME HOST TAG[PID]: MESSAGE" */
static enum header_form header_parse(struct span line, uint64_t now, struct header *h,
				     struct span *msg)
{
	struct span s = line, tag, name, num;
	const char *bracket;
	uint64_t pid;

	if (!eat_iso_time(&s, &h->time) && !eat_syslog_time(&s, now, &h->time) &&
	    !eat_unix_time(&s, &h->time))
		return HEADER_NONE;
	h->time_text = span_from(line.p, s.p);
	if (!eat(&s, " ") || !eat_token(&s, &h->host) || !eat(&s, " ") || !eat_token(&s, &tag) ||
	    !ends_with(tag, "]:") || !(bracket = memchr(tag.p, '[', tag.n)))
		return HEADER_OTHER;
	/* OpenSSH >= 9.8 logs from sshd-session (and >= 10.0 from sshd-auth) too. */
	name = span_from(tag.p, bracket);
	num = span_from(bracket + 1, span_end(tag) - 2);
	if (!span_is(name, "sshd") && !span_is(name, "sshd-session") && !span_is(name, "sshd-auth"))
		return HEADER_OTHER;
	if (!eat_uint(&num, UINT32_MAX, &pid) || num.n != 0 || pid == 0 || !eat(&s, " "))
		return HEADER_OTHER;
	h->pid = (uint32_t)pid;
	*msg = s;
	return HEADER_SSHD;
}

/* ---- key IDs ------------------------------------------------------------------------- */

/* Consume "NAME=VALUE" up to a space or the end; VALUE non-empty. */
static bool eat_kv(struct span *s, const char *name, struct span *val)
{
	return eat(s, name) && eat(s, "=") && eat_token(s, val);
}

/* Fill the jit_* fields when the key ID is exactly the CA's format (all four, or none). */
static int jit_fields_parse(struct correlate_login *l)
{
	_cleanup_free_ char *u = NULL, *h = NULL, *lg = NULL, *req = NULL, *norm = NULL;
	struct span s = { l->key_id, strlen(l->key_id) }, vu, vh, vl, vr;
	int r;

	if (!eat(&s, "jit-ssh ") || !eat_kv(&s, "user", &vu) || !eat(&s, " ") ||
	    !eat_kv(&s, "host", &vh) || !eat(&s, " ") || !eat_kv(&s, "login", &vl) ||
	    !eat(&s, " ") || !eat_kv(&s, "request", &vr) || s.n != 0 || vr.n != 32)
		return 0;
	for (size_t i = 0; i < vr.n; i++)
		if (!is_lhex(vr.p[i]))
			return 0;
	if ((r = field_dup(&u, vu)) < 0 || (r = field_dup(&h, vh)) < 0 ||
	    (r = field_dup(&lg, vl)) < 0 || (r = field_dup(&req, vr)) < 0)
		return r;
	if (!name_user_valid(u) || !name_login_valid(lg))
		return 0;
	r = host_normalize(h, NULL, &norm);
	if (r == -ENOMEM)
		return r;
	if (r < 0 || strcmp(norm, h) != 0)
		return 0;
	l->jit_user = TAKE_PTR(u);
	l->jit_host = TAKE_PTR(h);
	l->jit_login = TAKE_PTR(lg);
	l->jit_request = TAKE_PTR(req);
	return 0;
}

/*
 * The certificate part of a key ID line: @s holds KEYID followed by a fixed tail that
 * @tail_parse recognises from @sep on. The key ID ends at the rightmost @sep whose tail
 * parses completely, so a key ID may itself contain @sep (the CA chose it; the tail after
 * it was written by sshd). JIT_E_FORMAT when no @sep has a complete tail.
 */
static int key_id_split(struct span s, const char *sep,
			int (*tail_parse)(struct span tail, struct correlate_login *l),
			struct correlate_login *l)
{
	size_t n = strlen(sep);
	int r;

	for (size_t i = s.n >= n ? s.n - n + 1 : 0; i-- > 0;) {
		if (memcmp(s.p + i, sep, n) != 0)
			continue;
		r = tail_parse((struct span){ s.p + i + n, s.n - i - n }, l);
		if (r == JIT_E_FORMAT)
			continue;
		if (r < 0)
			return r;
		return field_dup(&l->key_id, (struct span){ s.p, i });
	}
	return JIT_E_FORMAT;
}

/* Fields a tail parser found; copied into the event only once the whole tail matched. */
struct tail {
	uint64_t serial;
	struct span ca_key_type, ca_fingerprint, ca_source, detail;
};

static int tail_store(const struct tail *t, struct correlate_login *l)
{
	int r;

	l->serial = t->serial;
	l->has_serial = true;
	if ((r = field_dup(&l->ca_key_type, t->ca_key_type)) < 0 ||
	    (r = field_dup(&l->ca_fingerprint, t->ca_fingerprint)) < 0 ||
	    (t->ca_source.p && (r = field_dup(&l->ca_source, t->ca_source)) < 0) ||
	    (t->detail.p && (r = field_dup(&l->detail, t->detail)) < 0))
		return r;
	return 0;
}

/* After "ID KEYID (serial ": "S) CA CATYPE CAFP[, INFO]" (auth.c format_method_key). */
static int method_key_tail(struct span s, struct correlate_login *l)
{
	struct tail t = { 0 };

	if (!eat_uint(&s, UINT64_MAX, &t.serial) || !eat(&s, ") CA ") ||
	    !eat_token(&s, &t.ca_key_type) || !eat(&s, " ") ||
	    !eat_fingerprint(&s, &t.ca_fingerprint))
		return JIT_E_FORMAT;
	if (s.n != 0 && (!eat(&s, ", ") || s.n == 0))
		return JIT_E_FORMAT;
	if (s.n != 0)
		t.detail = s;
	return tail_store(&t, l);
}

/*
 * After "Accepted certificate ID \"KEYID\" (serial ":
 *   "S) signed by CATYPE CA CAFP via FILE"          (TrustedUserCAKeys)
 *   "S) signed by CA CATYPE CAFP found at FILE:LINE" (authorized_keys cert-authority)
 */
static int cert_info_tail(struct span s, struct correlate_login *l)
{
	struct tail t = { 0 };

	if (!eat_uint(&s, UINT64_MAX, &t.serial) || !eat(&s, ") signed by "))
		return JIT_E_FORMAT;
	if (eat(&s, "CA ")) {
		if (!eat_token(&s, &t.ca_key_type) || !eat(&s, " ") ||
		    !eat_fingerprint(&s, &t.ca_fingerprint) || !eat(&s, " found at "))
			return JIT_E_FORMAT;
	} else if (!eat_token(&s, &t.ca_key_type) || !eat(&s, " CA ") ||
		   !eat_fingerprint(&s, &t.ca_fingerprint) || !eat(&s, " via ")) {
		return JIT_E_FORMAT;
	}
	if (s.n == 0)
		return JIT_E_FORMAT;
	t.ca_source = s;
	return tail_store(&t, l);
}

/*
 * After "Refusing certificate ID \"KEYID\" serial=" (OpenSSH >= 10.1):
 *   "S signed by CATYPE CA CAFP: REASON"
 *   "S signed by CATYPE CA CAFP via FILE:LINE: REASON"   (FILE:LINE ends at the first ": ")
 */
static int refusing_tail(struct span s, struct correlate_login *l)
{
	struct tail t = { 0 };
	const char *colon;

	if (!eat_uint(&s, UINT64_MAX, &t.serial) || !eat(&s, " signed by ") ||
	    !eat_token(&s, &t.ca_key_type) || !eat(&s, " CA ") ||
	    !eat_fingerprint(&s, &t.ca_fingerprint))
		return JIT_E_FORMAT;
	if (eat(&s, " via ")) {
		if (!(colon = find(s, ": ")) || colon == s.p)
			return JIT_E_FORMAT;
		t.ca_source = span_from(s.p, colon);
		s = span_from(colon, span_end(s));
	}
	if (!eat(&s, ": ") || s.n == 0)
		return JIT_E_FORMAT;
	t.detail = s;
	return tail_store(&t, l);
}

/* ---- messages ------------------------------------------------------------------------ */

/*
 * "{Accepted,Partial,Failed} publickey for [invalid user ]USER from ADDR port N ssh2: TYPE FP
 * ID KEYID (serial S) CA CATYPE CAFP[, INFO]" (auth.c auth_log). USER (attacker-chosen on
 * failures, up to 100 bytes before escaping) and KEYID (chosen by any CA on failures) are
 * both free text around the fixed clause " from ADDR port N ssh2", so a line in which that
 * clause occurs more than once cannot be read with confidence: JIT_E_FORMAT.
 */
static int publickey_parse(struct span s, struct correlate_login *l)
{
	struct span user = { 0 }, addr = { 0 }, after = { 0 }, key_type, fp;
	uint64_t port = 0;
	unsigned found = 0;
	int r;

	/* Plain-key lines are not of interest, however odd their user names. */
	if (!contains(s, "-CERT "))
		return JIT_E_NOT_FOUND;
	for (struct span t = s; t.n > 0;) {
		const char *at = find(t, " from ");
		struct span c, a;
		uint64_t p;

		if (!at)
			break;
		c = span_from(at, span_end(s));
		t = span_from(at + 1, span_end(s));
		if (!eat(&c, " from ") || !eat_token(&c, &a) || !eat(&c, " port ") ||
		    !eat_uint(&c, 65535, &p) || !eat(&c, " ssh2") || (c.n != 0 && c.p[0] != ':'))
			continue;
		if (found++ == 0) {
			user = span_from(s.p, at);
			addr = a;
			port = p;
			after = c;
		}
	}
	if (found != 1)
		return JIT_E_FORMAT;
	if (eat(&user, "invalid user "))
		l->invalid_user = true;
	if (user.n == 0 || port == 0)
		return JIT_E_FORMAT;
	/* Without ": TYPE FP" or with a plain key type this is no certificate: not of interest. */
	if (after.n == 0)
		return JIT_E_NOT_FOUND;
	if (!eat(&after, ": ") || !eat_token(&after, &key_type))
		return JIT_E_FORMAT;
	if (!ends_with(key_type, "-CERT"))
		return JIT_E_NOT_FOUND;
	if (!eat(&after, " ") || !eat_fingerprint(&after, &fp) || !eat(&after, " ID "))
		return JIT_E_FORMAT;
	if ((r = field_dup(&l->login, user)) < 0 || (r = field_dup(&l->from_addr, addr)) < 0 ||
	    (r = field_dup(&l->key_type, key_type)) < 0 ||
	    (r = field_dup(&l->key_fingerprint, fp)) < 0)
		return r;
	l->port = (uint32_t)port;
	return key_id_split(after, " (serial ", method_key_tail, l);
}

/* Refusal reasons OpenSSH < 10.1 logs alone (sshkey.c, auth2-pubkey.c). */
static bool reason_known(struct span m)
{
	static const char *const exact[] = {
		"Certificate does not contain an authorized principal",
		"Certificate lacks principal list",
		"Certificate contains unsupported critical options",
		"Certificate signed with disallowed algorithm",
		"Invalid certificate options",
		"Refused by certificate options",
		"Refused by certificate principals options",
	};
	struct span t = m;

	for (size_t i = 0; i < ELEMENTSOF(exact); i++)
		if (span_is(m, exact[i]))
			return true;
	return eat(&t, "Certificate invalid: ") && t.n > 0;
}

/* "cert: Authentication tried for USER with valid certificate but not from a permitted
 * source address (ADDR)." (auth2-pubkeyfile.c auth_authorise_keyopts; "principals: " when
 * the restriction came from the principals file). */
static int source_address_parse(struct span m)
{
	struct span t = m;

	if (!eat(&t, "cert: Authentication tried for ") &&
	    !eat(&t, "principals: Authentication tried for "))
		return JIT_E_NOT_FOUND;
	if (!contains(t, " with valid certificate but not from a permitted source address (") ||
	    !ends_with(t, ")."))
		return JIT_E_FORMAT;
	return 0;
}

static int message_parse(struct span m, struct correlate_login *l)
{
	struct span t = m;
	int r;

	eat(&t, "error: ");
	if (eat(&t, "Accepted publickey for ")) {
		l->kind = CORRELATE_ACCEPTED;
		return publickey_parse(t, l);
	}
	if (eat(&t, "Partial publickey for ")) {
		l->kind = CORRELATE_CERT_INFO;
		return publickey_parse(t, l);
	}
	if (eat(&t, "Failed publickey for ")) {
		l->kind = CORRELATE_REFUSED;
		return publickey_parse(t, l);
	}
	if (eat(&t, "Accepted certificate ID \"")) {
		l->kind = CORRELATE_CERT_INFO;
		return key_id_split(t, "\" (serial ", cert_info_tail, l);
	}
	if (eat(&t, "Refusing certificate ID \"")) {
		l->kind = CORRELATE_REFUSED;
		return key_id_split(t, "\" serial=", refusing_tail, l);
	}
	r = source_address_parse(t);
	if (r == JIT_E_NOT_FOUND && reason_known(t))
		r = 0;
	if (r < 0)
		return r;
	l->kind = CORRELATE_REASON;
	return field_dup(&l->detail, t);
}

/*
 * A line whose header did not parse but that starts like a timestamp and carries one of
 * our messages: a damaged line of interest rather than an unrelated one.
 */
static bool looks_damaged(struct span line)
{
	bool stamped = line.n > 0 && ((line.p[0] >= '0' && line.p[0] <= '9') ||
				      (line.n > 3 && line.p[0] >= 'A' && line.p[0] <= 'Z' &&
				       line.p[3] == ' '));

	return stamped && (contains(line, "Accepted certificate ID \"") ||
			   contains(line, "Refusing certificate ID \"") ||
			   (contains(line, "publickey for ") && contains(line, "-CERT ")));
}

static bool printable(struct span s)
{
	for (size_t i = 0; i < s.n; i++)
		if ((unsigned char)s.p[i] < 0x20 || (unsigned char)s.p[i] > 0x7e)
			return false;
	return true;
}

int correlate_parse_line(const char *line, size_t len, uint64_t now, struct correlate_login **ret)
{
	_cleanup_(correlate_login_freep) struct correlate_login *l = NULL;
	struct span s, msg;
	struct header h = { 0 };
	enum header_form form;
	int r;

	if (!line) {
		if (len > 0)
			return -EINVAL;
		line = "";
	}
	s = msg = (struct span){ line, len };
	if (ends_with(s, "\n"))
		s.n--;
	if (ends_with(s, "\r"))
		s.n--;
	if (s.n > CORRELATE_LINE_MAX)
		return JIT_E_TOO_LARGE;
	if (!(l = calloc(1, sizeof *l)))
		return -ENOMEM;

	form = header_parse(s, now, &h, &msg);
	if (form == HEADER_OTHER)
		return JIT_E_NOT_FOUND;
	if (form == HEADER_NONE)
		msg = s;
	r = message_parse(msg, l);
	if (r == JIT_E_NOT_FOUND && form == HEADER_NONE && looks_damaged(s))
		return JIT_E_FORMAT;
	if (r < 0)
		return r;
	if (!printable(s))
		return JIT_E_FORMAT;
	if (form == HEADER_SSHD) {
		if ((r = field_dup(&l->time_text, h.time_text)) < 0 ||
		    (r = field_dup(&l->host, h.host)) < 0)
			return r;
		l->time = h.time;
		l->pid = h.pid;
	}
	if (l->key_id && (r = jit_fields_parse(l)) < 0)
		return r;
	*ret = TAKE_PTR(l);
	return 0;
}

/* ---- the stream ---------------------------------------------------------------------- */

/* The lines of one sshd process waiting for their publickey line. */
struct pending {
	char *host;			/* NULL in the stderr form */
	uint32_t pid;			/* 0 in the stderr form */
	uint64_t time;			/* of its latest line, 0 if unknown */
	struct correlate_login *cert;	/* "Accepted/Refusing certificate ID" line, or NULL */
	char *reason;			/* bare refusal reason, or NULL */
};

struct correlate_stream {
	struct pending *pend; /* oldest first */
	size_t n_pend, cap_pend;
	struct correlate_login **q; /* settled events: q[q_head..q_len) */
	size_t q_head, q_len, q_cap;
};

int correlate_stream_new(struct correlate_stream **ret)
{
	struct correlate_stream *s = calloc(1, sizeof *s);

	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

static void pending_clear(struct pending *p)
{
	free(p->host);
	correlate_login_free(p->cert);
	free(p->reason);
}

struct correlate_stream *correlate_stream_free(struct correlate_stream *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n_pend; i++)
		pending_clear(&s->pend[i]);
	free(s->pend);
	for (size_t i = s->q_head; i < s->q_len; i++)
		correlate_login_free(s->q[i]);
	free(s->q);
	free(s);
	return NULL;
}

/* Make room for @extra more queued events and one more pending entry, so that the
 * changes that follow cannot fail half-way. */
static int stream_reserve(struct correlate_stream *s, size_t extra)
{
	if (s->q_head > 0) {
		memmove(s->q, s->q + s->q_head, (s->q_len - s->q_head) * sizeof *s->q);
		s->q_len -= s->q_head;
		s->q_head = 0;
	}
	if (s->q_len + extra > s->q_cap) {
		size_t cap = (s->q_len + extra) * 2;
		struct correlate_login **q = reallocarray(s->q, cap, sizeof *q);

		if (!q)
			return -ENOMEM;
		s->q = q;
		s->q_cap = cap;
	}
	if (s->n_pend + 1 > s->cap_pend) {
		size_t cap = s->cap_pend ? s->cap_pend * 2 : 16;
		struct pending *p = reallocarray(s->pend, cap, sizeof *p);

		if (!p)
			return -ENOMEM;
		s->pend = p;
		s->cap_pend = cap;
	}
	return 0;
}

/* Queue @l (room reserved). */
static void stream_emit(struct correlate_stream *s, struct correlate_login *l)
{
	s->q[s->q_len++] = l;
}

/* Settle pending entry @i: its certificate line becomes an event, its reason is dropped. */
static void stream_settle(struct correlate_stream *s, size_t i)
{
	struct pending *p = &s->pend[i];

	if (p->cert)
		stream_emit(s, TAKE_PTR(p->cert));
	pending_clear(p);
	memmove(p, p + 1, (s->n_pend - i - 1) * sizeof *p);
	s->n_pend--;
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static bool same_cert(const struct correlate_login *a, const struct correlate_login *b)
{
	return a->has_serial && b->has_serial && a->serial == b->serial &&
	       same_str(a->key_id, b->key_id) && same_str(a->ca_fingerprint, b->ca_fingerprint);
}

/* Merge a publickey event @l with what its process logged before. */
static void stream_publickey(struct correlate_stream *s, struct pending *p,
			     struct correlate_login *l)
{
	if (p && p->cert && same_cert(p->cert, l)) {
		if (!l->ca_source)
			l->ca_source = TAKE_PTR(p->cert->ca_source);
		if (l->kind == CORRELATE_REFUSED && p->cert->kind == CORRELATE_REFUSED &&
		    !l->detail)
			l->detail = TAKE_PTR(p->cert->detail);
		p->cert = correlate_login_free(p->cert);
	}
	if (p && l->kind == CORRELATE_REFUSED && !l->detail)
		l->detail = TAKE_PTR(p->reason);
	if (p)
		stream_settle(s, (size_t)(p - s->pend));
	stream_emit(s, l);
}

int correlate_stream_feed(struct correlate_stream *s, const char *line, size_t len, uint64_t now)
{
	_cleanup_(correlate_login_freep) struct correlate_login *l = NULL;
	_cleanup_free_ char *host = NULL;
	struct pending *p = NULL;
	int r;

	r = correlate_parse_line(line, len, now, &l);
	if (r == JIT_E_NOT_FOUND)
		return 0;
	if (r < 0)
		return r;
	if ((r = stream_reserve(s, s->n_pend + 2)) < 0)
		return r;
	if (l->host && !(host = strdup(l->host)))
		return -ENOMEM;

	for (size_t i = 0; i < s->n_pend;) {
		if (l->time && s->pend[i].time && s->pend[i].time + CORRELATE_PENDING_SEC < l->time)
			stream_settle(s, i);
		else
			i++;
	}
	for (size_t i = 0; i < s->n_pend && !p; i++)
		if (s->pend[i].pid == l->pid && same_str(s->pend[i].host, l->host))
			p = &s->pend[i];

	if (l->login) {
		stream_publickey(s, p, TAKE_PTR(l));
		return 0;
	}
	if (!p) {
		if (s->n_pend == CORRELATE_PENDING_MAX)
			stream_settle(s, 0);
		p = &s->pend[s->n_pend++];
		*p = (struct pending){ .host = TAKE_PTR(host), .pid = l->pid };
	}
	if (l->time)
		p->time = l->time;
	if (l->kind == CORRELATE_REASON) {
		if (!p->reason)
			p->reason = TAKE_PTR(l->detail);
		return 0;
	}
	/* A certificate line: a repeat of the waiting one replaces it (sshd logs "Accepted
	 * certificate ID" for the query and again for the signature); another one settles it. */
	if (p->cert && (p->cert->kind != l->kind || !same_cert(p->cert, l)))
		stream_emit(s, TAKE_PTR(p->cert));
	correlate_login_free(p->cert);
	p->cert = TAKE_PTR(l);
	return 0;
}

int correlate_stream_flush(struct correlate_stream *s)
{
	int r;

	if ((r = stream_reserve(s, s->n_pend)) < 0)
		return r;
	while (s->n_pend > 0)
		stream_settle(s, 0);
	return 0;
}

int correlate_stream_next(struct correlate_stream *s, struct correlate_login **ret)
{
	if (s->q_head == s->q_len)
		return JIT_E_NOT_FOUND;
	*ret = s->q[s->q_head++];
	return 0;
}
