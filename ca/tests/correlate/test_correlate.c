/* SPDX-License-Identifier: ISC */
/*
 * test_correlate.c - the sshd log parser (ca/correlate.h): lines captured from a real sshd
 * (sshd_capture.sh, path in argv[1]), committed sample lines in every textual form, and
 * damaged, truncated, overlong and injected lines.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "correlate.h"
#include "err.h"
#include "util.h"

/* 2026-11-21T13:04:05Z */
#define NOW 1795266245ull

/* Message texts as OpenSSH 9.2 logged them (sshd -D -e, LogLevel VERBOSE). */
#define CA_FP "SHA256:yLYUsPAcjdgre8RNjox994eQBiNLdyA6nNoMlScZB/k"
#define KEY_FP "SHA256:5BSj/mV4CB9AvRlT8bR8zcSKdyAFS1G02lcbHfbP7fI"
#define REQ "0123456789abcdef0123456789abcdef"
#define KEY_ID "jit-ssh user=alice host=web-3 login=root request=" REQ
#define CA_FILE "/etc/ssh/jit-ssh/trusted_user_ca_keys"
#define MSG_ACCEPTED                                                                        \
	"Accepted publickey for root from 192.0.2.7 port 52636 ssh2: ED25519-CERT " KEY_FP \
	" ID " KEY_ID " (serial 42) CA ED25519 " CA_FP
#define MSG_CERT_INFO                                                                      \
	"Accepted certificate ID \"" KEY_ID "\" (serial 42) signed by ED25519 CA " CA_FP \
	" via " CA_FILE
#define MSG_FAILED                                                                         \
	"Failed publickey for root from 192.0.2.7 port 52648 ssh2: ED25519-CERT " KEY_FP \
	" ID " KEY_ID " (serial 42) CA ED25519 " CA_FP
/* OpenSSH >= 10.1, TrustedUserCAKeys and authorized_keys forms. */
#define MSG_REFUSING                                                                       \
	"Refusing certificate ID \"" KEY_ID "\" serial=42 signed by ED25519 CA " CA_FP \
	": Certificate invalid: expired"
#define MSG_REFUSING_VIA                                                                   \
	"Refusing certificate ID \"" KEY_ID "\" serial=42 signed by ED25519 CA " CA_FP \
	" via /root/.ssh/authorized_keys:3: Certificate invalid: expired"

/* Headers in each textual form; all say 2026-11-21T13:04:05Z, host web-3, pid 1234. */
#define H_SYSLOG "Nov 21 13:04:05 web-3 sshd[1234]: "
#define H_ISO "2026-11-21T13:04:05.123456+00:00 web-3 sshd[1234]: "
#define H_JOURNAL_ISO "2026-11-21T14:04:05+0100 web-3 sshd[1234]: "
#define H_JOURNAL_PRECISE "Nov 21 13:04:05.123456 web-3 sshd[1234]: "
#define H_JOURNAL_UNIX "1795266245.123456 web-3 sshd[1234]: "
#define H_SESSION "2026-11-21T13:04:05Z web-3 sshd-session[1234]: "

static const char *const headers[] = {
	"", H_SYSLOG, H_ISO, H_JOURNAL_ISO, H_JOURNAL_PRECISE, H_JOURNAL_UNIX, H_SESSION,
};

static int parse(const char *line, uint64_t now, struct correlate_login **ret)
{
	return correlate_parse_line(line, strlen(line), now, ret);
}

static struct correlate_login *parse_ok(const char *line, uint64_t now)
{
	struct correlate_login *l = NULL;

	assert_int_equal(parse(line, now, &l), 0);
	assert_non_null(l);
	return l;
}

static int parse_rc(const char *line)
{
	struct correlate_login *l = NULL;
	int r = parse(line, NOW, &l);

	correlate_login_free(l);
	return r;
}

static char *cat(const char *a, const char *b)
{
	char *s = NULL;

	assert_true(asprintf(&s, "%s%s", a, b) >= 0);
	return s;
}

/* ---- a real sshd ---------------------------------------------------------------------- */

static const char *capture_script;

struct real {
	bool skipped;
	char dir[64];
	char login[64];
	char ca_fp[128];
	char ca_file[128];
	char **lines;
	size_t n_lines;
	struct correlate_login *events[16];
	size_t n_events;
};

static void read_word(const char *dir, const char *name, char *buf, size_t size)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(buf, (int)size, f));
	buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

static int real_setup(void **state)
{
	struct real *rl = calloc(1, sizeof *rl);
	_cleanup_free_ char *cmd = NULL, *line = NULL;
	struct correlate_stream *s = NULL;
	struct correlate_login *ev;
	char path[256];
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int st;

	assert_non_null(rl);
	*state = rl;
	strcpy(rl->dir, "/tmp/test-correlate-XXXXXX");
	assert_non_null(mkdtemp(rl->dir));
	assert_true(asprintf(&cmd, "sh '%s' '%s'", capture_script, rl->dir) >= 0);
	st = system(cmd);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77) {
		rl->skipped = true;
		return 0;
	}
	assert_int_equal(WEXITSTATUS(st), 0);
	read_word(rl->dir, "login", rl->login, sizeof rl->login);
	read_word(rl->dir, "ca.fp", rl->ca_fp, sizeof rl->ca_fp);
	snprintf(rl->ca_file, sizeof rl->ca_file, "%s/ca.pub", rl->dir);

	/* Keep the raw lines (with sshd's "\r\n") and stream them. */
	snprintf(path, sizeof path, "%s/sshd.log", rl->dir);
	assert_non_null(f = fopen(path, "r"));
	assert_int_equal(correlate_stream_new(&s), 0);
	while ((n = getline(&line, &cap, f)) >= 0) {
		rl->lines = reallocarray(rl->lines, rl->n_lines + 1, sizeof *rl->lines);
		assert_non_null(rl->lines);
		assert_non_null(rl->lines[rl->n_lines++] = strdup(line));
		assert_int_equal(correlate_stream_feed(s, line, (size_t)n, 0), 0);
	}
	fclose(f);
	assert_int_equal(correlate_stream_flush(s), 0);
	while (correlate_stream_next(s, &ev) == 0) {
		assert_true(rl->n_events < ELEMENTSOF(rl->events));
		rl->events[rl->n_events++] = ev;
	}
	correlate_stream_free(s);
	return 0;
}

static int real_teardown(void **state)
{
	struct real *rl = *state;
	_cleanup_free_ char *cmd = NULL;

	if (!rl)
		return 0;
	assert_true(asprintf(&cmd, "rm -rf '%s'", rl->dir) >= 0);
	assert_int_equal(system(cmd), 0);
	for (size_t i = 0; i < rl->n_lines; i++)
		free(rl->lines[i]);
	free(rl->lines);
	for (size_t i = 0; i < rl->n_events; i++)
		correlate_login_free(rl->events[i]);
	free(rl);
	return 0;
}

static struct real *real_get(void **state)
{
	struct real *rl = *state;

	if (rl->skipped)
		skip();
	return rl;
}

/* The event for @serial; there must be exactly one. */
static const struct correlate_login *real_event(struct real *rl, uint64_t serial)
{
	const struct correlate_login *found = NULL;

	for (size_t i = 0; i < rl->n_events; i++) {
		if (rl->events[i]->has_serial && rl->events[i]->serial == serial) {
			assert_null(found);
			found = rl->events[i];
		}
	}
	assert_non_null(found);
	return found;
}

static void test_real_sshd_log_gives_one_event_per_attempt_in_order(void **state)
{
	struct real *rl = real_get(state);

	assert_int_equal(rl->n_events, 4);
	assert_int_equal(rl->events[0]->kind, CORRELATE_ACCEPTED);
	assert_int_equal(rl->events[0]->serial, 42);
	for (size_t i = 1; i < 4; i++) {
		assert_int_equal(rl->events[i]->kind, CORRELATE_REFUSED);
		assert_int_equal(rl->events[i]->serial, 42 + i);
	}
}

static void test_real_sshd_certificate_login_is_reported_with_ledger_fields(void **state)
{
	struct real *rl = real_get(state);
	const struct correlate_login *l = real_event(rl, 42);

	assert_int_equal(l->kind, CORRELATE_ACCEPTED);
	assert_string_equal(l->login, rl->login);
	assert_false(l->invalid_user);
	assert_string_equal(l->from_addr, "127.0.0.1");
	assert_true(l->port > 0);
	assert_string_equal(l->key_type, "ED25519-CERT");
	assert_non_null(l->key_fingerprint);
	assert_string_equal(l->jit_user, "alice");
	assert_string_equal(l->jit_host, "h1");
	assert_string_equal(l->jit_login, rl->login);
	assert_string_equal(l->jit_request, REQ);
	assert_string_equal(l->ca_key_type, "ED25519");
	assert_string_equal(l->ca_fingerprint, rl->ca_fp);
	/* From the "Accepted certificate ID ... via FILE" line, merged in. */
	assert_string_equal(l->ca_source, rl->ca_file);
	assert_null(l->detail);
	/* stderr form: no time, host or pid. */
	assert_null(l->time_text);
	assert_int_equal(l->time, 0);
	assert_null(l->host);
	assert_int_equal(l->pid, 0);
}

static void test_real_sshd_key_id_is_the_one_signed(void **state)
{
	struct real *rl = real_get(state);
	const struct correlate_login *l = real_event(rl, 42);
	_cleanup_free_ char *want = NULL;

	assert_true(asprintf(&want, "jit-ssh user=alice host=h1 login=%s request=%s", rl->login,
			     REQ) >= 0);
	assert_string_equal(l->key_id, want);
}

static void test_real_sshd_expired_certificate_is_refused_with_the_reason(void **state)
{
	struct real *rl = real_get(state);
	const struct correlate_login *l = real_event(rl, 43);

	assert_int_equal(l->kind, CORRELATE_REFUSED);
	assert_string_equal(l->detail, "Certificate invalid: expired");
	assert_string_equal(l->login, rl->login);
	assert_string_equal(l->jit_request, "00000000000000000000000000000043");
	assert_string_equal(l->ca_fingerprint, rl->ca_fp);
}

static void test_real_sshd_principal_mismatch_is_refused_with_the_reason(void **state)
{
	struct real *rl = real_get(state);
	const struct correlate_login *l = real_event(rl, 44);

	assert_int_equal(l->kind, CORRELATE_REFUSED);
	assert_string_equal(l->detail, "Certificate does not contain an authorized principal");
}

static void test_real_sshd_source_address_refusal_names_the_address(void **state)
{
	struct real *rl = real_get(state);
	const struct correlate_login *l = real_event(rl, 45);
	_cleanup_free_ char *want = NULL;

	assert_int_equal(l->kind, CORRELATE_REFUSED);
	assert_true(asprintf(&want,
			     "cert: Authentication tried for %s with valid certificate but not "
			     "from a permitted source address (127.0.0.1).",
			     rl->login) >= 0);
	assert_string_equal(l->detail, want);
}

static void test_real_sshd_cert_info_line_names_the_ca_file(void **state)
{
	struct real *rl = real_get(state);
	size_t seen = 0;

	for (size_t i = 0; i < rl->n_lines; i++) {
		_cleanup_(correlate_login_freep) struct correlate_login *l = NULL;

		if (strncmp(rl->lines[i], "Accepted certificate ID", 23) != 0)
			continue;
		assert_int_equal(parse(rl->lines[i], NOW, &l), 0);
		assert_int_equal(l->kind, CORRELATE_CERT_INFO);
		assert_int_equal(l->serial, 42);
		assert_string_equal(l->ca_source, rl->ca_file);
		assert_string_equal(l->ca_fingerprint, rl->ca_fp);
		seen++;
	}
	/* Once for the query without signature, once for the signed attempt. */
	assert_int_equal(seen, 2);
}

/* Every prefix of a line: an error, or a result that keeps the line's serial. */
static void check_truncations(const char *line)
{
	size_t len = strlen(line);
	struct correlate_login *full = NULL;
	bool have_full = correlate_parse_line(line, len, NOW, &full) == 0;

	for (size_t n = 0; n < len; n++) {
		struct correlate_login *l = NULL;
		int r = correlate_parse_line(line, n, NOW, &l);

		if (r == 0) {
			assert_true(have_full);
			assert_int_equal(l->has_serial, full->has_serial);
			assert_int_equal(l->serial, full->serial);
		} else {
			assert_true(r == JIT_E_NOT_FOUND || r == JIT_E_FORMAT);
			assert_null(l);
		}
		correlate_login_free(l);
	}
	correlate_login_free(full);
}

static void test_real_sshd_lines_survive_every_truncation(void **state)
{
	struct real *rl = real_get(state);

	for (size_t i = 0; i < rl->n_lines; i++)
		check_truncations(rl->lines[i]);
}

/* ---- committed sample lines ------------------------------------------------------------- */

static void test_accepted_line_is_parsed_in_every_form(void **state)
{
	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(headers); i++) {
		_cleanup_free_ char *line = cat(headers[i], MSG_ACCEPTED);
		_cleanup_(correlate_login_freep) struct correlate_login *l = parse_ok(line, NOW);

		assert_int_equal(l->kind, CORRELATE_ACCEPTED);
		assert_string_equal(l->login, "root");
		assert_string_equal(l->from_addr, "192.0.2.7");
		assert_int_equal(l->port, 52636);
		assert_string_equal(l->key_type, "ED25519-CERT");
		assert_string_equal(l->key_fingerprint, KEY_FP);
		assert_string_equal(l->key_id, KEY_ID);
		assert_true(l->has_serial);
		assert_int_equal(l->serial, 42);
		assert_string_equal(l->ca_key_type, "ED25519");
		assert_string_equal(l->ca_fingerprint, CA_FP);
		assert_null(l->ca_source);
		assert_string_equal(l->jit_user, "alice");
		assert_string_equal(l->jit_host, "web-3");
		assert_string_equal(l->jit_login, "root");
		assert_string_equal(l->jit_request, REQ);
		if (i == 0) {
			assert_null(l->host);
			assert_int_equal(l->time, 0);
		} else {
			assert_string_equal(l->host, "web-3");
			assert_int_equal(l->pid, 1234);
			assert_int_equal(l->time, NOW);
		}
	}
}

static void test_timestamp_text_is_kept_as_written(void **state)
{
	_cleanup_(correlate_login_freep) struct correlate_login *l =
		parse_ok(H_JOURNAL_ISO MSG_ACCEPTED, NOW);

	(void)state;
	assert_string_equal(l->time_text, "2026-11-21T14:04:05+0100");
}

static void test_negative_utc_offset_is_added(void **state)
{
	_cleanup_(correlate_login_freep) struct correlate_login *l =
		parse_ok("2026-11-21T08:04:05.5-05:00 web-3 sshd[1234]: " MSG_ACCEPTED, NOW);

	(void)state;
	assert_int_equal(l->time, NOW);
}

static void test_syslog_date_after_now_belongs_to_last_year(void **state)
{
	/* Read on 2026-01-05: "Dec 31" is 2025-12-31. */
	_cleanup_(correlate_login_freep) struct correlate_login *l =
		parse_ok("Dec 31 23:59:59 web-3 sshd[1234]: " MSG_ACCEPTED, 1767571200);

	(void)state;
	assert_int_equal(l->time, 1767225599);
}

static void test_syslog_date_up_to_a_day_ahead_stays_this_year(void **state)
{
	_cleanup_(correlate_login_freep) struct correlate_login *a =
		parse_ok("Nov 22 13:04:05 web-3 sshd[1234]: " MSG_ACCEPTED, NOW);
	_cleanup_(correlate_login_freep) struct correlate_login *b =
		parse_ok("Nov 22 13:04:06 web-3 sshd[1234]: " MSG_ACCEPTED, NOW);

	(void)state;
	assert_int_equal(a->time, NOW + 86400);
	/* One second more is in the future: the year before. */
	assert_int_equal(b->time, NOW + 86400 + 1 - 365 * 86400);
}

static void test_syslog_feb_29_goes_back_to_the_last_leap_year(void **state)
{
	/* Read on 2026-03-01: 2024-02-29. */
	_cleanup_(correlate_login_freep) struct correlate_login *l =
		parse_ok("Feb 29 10:00:00 web-3 sshd[1234]: " MSG_ACCEPTED, 1772323200);

	(void)state;
	assert_int_equal(l->time, 1709200800);
}

static void test_syslog_space_padded_day_is_read(void **state)
{
	_cleanup_(correlate_login_freep) struct correlate_login *l =
		parse_ok("Nov  1 13:04:05 web-3 sshd[1234]: " MSG_ACCEPTED, NOW);

	(void)state;
	assert_int_equal(l->time, NOW - 20 * 86400);
	assert_string_equal(l->time_text, "Nov  1 13:04:05");
}

static void test_syslog_time_is_unknown_without_now(void **state)
{
	_cleanup_(correlate_login_freep) struct correlate_login *l =
		parse_ok(H_SYSLOG MSG_ACCEPTED, 0);

	(void)state;
	assert_int_equal(l->time, 0);
	assert_string_equal(l->time_text, "Nov 21 13:04:05");
}

static void test_trailing_newline_and_carriage_return_are_ignored(void **state)
{
	_cleanup_(correlate_login_freep) struct correlate_login *l =
		parse_ok(H_SYSLOG MSG_ACCEPTED "\r\n", NOW);

	(void)state;
	assert_string_equal(l->ca_fingerprint, CA_FP);
}

static void test_cert_info_line_names_ca_file(void **state)
{
	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(headers); i++) {
		_cleanup_free_ char *line = cat(headers[i], MSG_CERT_INFO);
		_cleanup_(correlate_login_freep) struct correlate_login *l = parse_ok(line, NOW);

		assert_int_equal(l->kind, CORRELATE_CERT_INFO);
		assert_string_equal(l->key_id, KEY_ID);
		assert_int_equal(l->serial, 42);
		assert_string_equal(l->ca_key_type, "ED25519");
		assert_string_equal(l->ca_fingerprint, CA_FP);
		assert_string_equal(l->ca_source, CA_FILE);
		assert_string_equal(l->jit_request, REQ);
		assert_null(l->login);
		assert_null(l->from_addr);
	}
}

static void test_cert_info_from_authorized_keys_names_file_and_line(void **state)
{
	_cleanup_(correlate_login_freep) struct correlate_login *l = parse_ok(
		"Accepted certificate ID \"" KEY_ID "\" (serial 7) signed by CA ECDSA " CA_FP
		" found at /root/.ssh/authorized_keys:3",
		NOW);

	(void)state;
	assert_int_equal(l->kind, CORRELATE_CERT_INFO);
	assert_int_equal(l->serial, 7);
	assert_string_equal(l->ca_key_type, "ECDSA");
	assert_string_equal(l->ca_source, "/root/.ssh/authorized_keys:3");
}

static void test_md5_fingerprints_are_accepted(void **state)
{
	_cleanup_(correlate_login_freep) struct correlate_login *l = parse_ok(
		"Accepted publickey for root from 192.0.2.7 port 22 ssh2: RSA-CERT "
		"MD5:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff ID x (serial 1) CA RSA "
		"MD5:ff:ee:dd:cc:bb:aa:99:88:77:66:55:44:33:22:11:00",
		NOW);

	(void)state;
	assert_string_equal(l->ca_fingerprint,
			    "MD5:ff:ee:dd:cc:bb:aa:99:88:77:66:55:44:33:22:11:00");
	assert_string_equal(l->key_id, "x");
}

static void test_method_info_after_ca_fingerprint_is_the_detail(void **state)
{
	_cleanup_(correlate_login_freep) struct correlate_login *l =
		parse_ok(MSG_ACCEPTED ", signature count = 3", NOW);

	(void)state;
	assert_string_equal(l->ca_fingerprint, CA_FP);
	assert_string_equal(l->detail, "signature count = 3");
}

static void test_failed_line_is_a_refusal_with_its_identifiers(void **state)
{
	_cleanup_(correlate_login_freep) struct correlate_login *l =
		parse_ok(H_SYSLOG MSG_FAILED, NOW);

	(void)state;
	assert_int_equal(l->kind, CORRELATE_REFUSED);
	assert_string_equal(l->login, "root");
	assert_int_equal(l->port, 52648);
	assert_string_equal(l->key_id, KEY_ID);
	assert_int_equal(l->serial, 42);
	assert_null(l->detail);
}

static void test_failed_line_for_invalid_user_is_flagged(void **state)
{
	_cleanup_(correlate_login_freep) struct correlate_login *l = parse_ok(
		"Failed publickey for invalid user mallory from 192.0.2.9 port 4444 ssh2: "
		"ED25519-CERT " KEY_FP " ID " KEY_ID " (serial 42) CA ED25519 " CA_FP,
		NOW);

	(void)state;
	assert_true(l->invalid_user);
	assert_string_equal(l->login, "mallory");
	assert_string_equal(l->from_addr, "192.0.2.9");
}

static void test_partial_publickey_is_cert_info_with_the_login(void **state)
{
	_cleanup_(correlate_login_freep) struct correlate_login *l = parse_ok(
		"Partial publickey for root from 192.0.2.7 port 52636 ssh2: ED25519-CERT " KEY_FP
		" ID " KEY_ID " (serial 42) CA ED25519 " CA_FP,
		NOW);

	(void)state;
	assert_int_equal(l->kind, CORRELATE_CERT_INFO);
	assert_string_equal(l->login, "root");
	assert_int_equal(l->serial, 42);
}

static void test_refusing_line_of_newer_openssh_gives_reason(void **state)
{
	_cleanup_(correlate_login_freep) struct correlate_login *a =
		parse_ok(H_SYSLOG "error: " MSG_REFUSING, NOW);
	_cleanup_(correlate_login_freep) struct correlate_login *b =
		parse_ok(MSG_REFUSING_VIA, NOW);

	(void)state;
	assert_int_equal(a->kind, CORRELATE_REFUSED);
	assert_string_equal(a->key_id, KEY_ID);
	assert_int_equal(a->serial, 42);
	assert_string_equal(a->ca_fingerprint, CA_FP);
	assert_null(a->ca_source);
	assert_string_equal(a->detail, "Certificate invalid: expired");
	assert_null(a->login);
	assert_string_equal(b->ca_source, "/root/.ssh/authorized_keys:3");
	assert_string_equal(b->detail, "Certificate invalid: expired");
}

static void test_bare_refusal_reasons_are_reasons(void **state)
{
	static const char *const reasons[] = {
		"Certificate invalid: expired",
		"Certificate invalid: not yet valid",
		"Certificate invalid: name is not a listed principal",
		"Certificate does not contain an authorized principal",
		"Refused by certificate options",
		("cert: Authentication tried for root with valid certificate but not from a "
		 "permitted source address (127.0.0.1)."),
	};

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(reasons); i++) {
		_cleanup_free_ char *line = cat(H_SYSLOG "error: ", reasons[i]);
		_cleanup_(correlate_login_freep) struct correlate_login *l = parse_ok(line, NOW);

		assert_int_equal(l->kind, CORRELATE_REASON);
		assert_string_equal(l->detail, reasons[i]);
		assert_false(l->has_serial);
		assert_null(l->key_id);
		assert_int_equal(l->pid, 1234);
	}
}

static void test_lines_of_no_interest_are_not_found(void **state)
{
	static const char *const lines[] = {
		"",
		"\n",
		"Server listening on 127.0.0.1 port 22.",
		"Postponed publickey for root from 127.0.0.1 port 44898 ssh2 [preauth]",
		"Accepted publickey for root from 127.0.0.1 port 22 ssh2: ED25519 " KEY_FP,
		"Failed publickey for root from 127.0.0.1 port 22 ssh2: ED25519 " KEY_FP,
		"Accepted password for root from 127.0.0.1 port 22 ssh2",
		"Certificate invalid",
		H_SYSLOG "Connection closed by authenticating user root 127.0.0.1 port 1 [preauth]",
		"Nov 21 13:04:05 web-3 cron[1234]: " MSG_ACCEPTED,
		"Nov 21 13:04:05 web-3 sshdx[1234]: " MSG_ACCEPTED,
		"Nov 21 13:04:05 web-3 sshd: " MSG_ACCEPTED,
		"Nov 21 13:04:05 web-3 sshd[0]: " MSG_ACCEPTED,
		"Nov 21 13:04:05 web-3 sshd[12a]: " MSG_ACCEPTED,
		"Nov 21 13:04:05 web-3 sshd[4294967296]: " MSG_ACCEPTED,
		H_SYSLOG "Invalid user " MSG_ACCEPTED,
	};

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(lines); i++)
		assert_int_equal(parse_rc(lines[i]), JIT_E_NOT_FOUND);
}

static void test_every_truncation_of_every_sample_is_safe(void **state)
{
	static const char *const msgs[] = {
		MSG_ACCEPTED, MSG_CERT_INFO, MSG_FAILED, MSG_REFUSING, MSG_REFUSING_VIA,
	};

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(headers); i++) {
		for (size_t j = 0; j < ELEMENTSOF(msgs); j++) {
			_cleanup_free_ char *line = cat(headers[i], msgs[j]);

			check_truncations(line);
		}
	}
}

static void test_every_truncation_of_a_publickey_line_is_refused(void **state)
{
	(void)state;
	/* The CA fingerprint ends the line and has a fixed length: no prefix parses. */
	for (size_t i = 0; i < ELEMENTSOF(headers); i++) {
		_cleanup_free_ char *line = cat(headers[i], MSG_ACCEPTED);

		for (size_t n = 0; n < strlen(line); n++) {
			struct correlate_login *l = NULL;

			assert_int_not_equal(correlate_parse_line(line, n, NOW, &l), 0);
			assert_null(l);
		}
	}
}

static void test_truncated_cert_info_line_keeps_the_key_id_or_is_refused(void **state)
{
	const char *line = MSG_CERT_INFO;
	size_t via = (size_t)(strstr(line, " via ") - line) + strlen(" via ");

	(void)state;
	for (size_t n = 0; n < strlen(line); n++) {
		struct correlate_login *l = NULL;
		int r = correlate_parse_line(line, n, NOW, &l);

		if (n > via) {
			assert_int_equal(r, 0);
			assert_string_equal(l->key_id, KEY_ID);
			assert_int_equal(strlen(l->ca_source), n - via);
		} else {
			assert_true(r == JIT_E_FORMAT || r == JIT_E_NOT_FOUND);
		}
		correlate_login_free(l);
	}
}

static void test_quotes_and_fake_tails_in_key_id_stay_in_the_key_id(void **state)
{
	/* A real OpenSSH 9.2 line; the key ID was
	 * `weird "id" with (serial 7) signed by X CA Y via Z`. */
	_cleanup_(correlate_login_freep) struct correlate_login *a = parse_ok(
		"Accepted certificate ID \"weird \"id\" with (serial 7) signed by X CA Y via Z\" "
		"(serial 46) signed by ED25519 CA " CA_FP " via /tmp/corr-exp/ca.pub",
		NOW);
	/* A key ID holding a complete, valid-looking tail. */
	_cleanup_(correlate_login_freep) struct correlate_login *b = parse_ok(
		"Accepted certificate ID \"x\" (serial 7) signed by ED25519 CA " CA_FP
		" via /fake\" (serial 46) signed by ED25519 CA " CA_FP " via /etc/ca",
		NOW);
	_cleanup_(correlate_login_freep) struct correlate_login *c = parse_ok(
		"Accepted publickey for root from 192.0.2.7 port 1 ssh2: ED25519-CERT " KEY_FP
		" ID x (serial 7) CA ED25519 " CA_FP " (serial 46) CA ED25519 " CA_FP,
		NOW);

	(void)state;
	assert_string_equal(a->key_id, "weird \"id\" with (serial 7) signed by X CA Y via Z");
	assert_int_equal(a->serial, 46);
	assert_string_equal(b->key_id, "x\" (serial 7) signed by ED25519 CA " CA_FP " via /fake");
	assert_int_equal(b->serial, 46);
	assert_string_equal(b->ca_source, "/etc/ca");
	assert_string_equal(c->key_id, "x (serial 7) CA ED25519 " CA_FP);
	assert_int_equal(c->serial, 46);
}

static void test_injected_from_clause_makes_the_line_ambiguous(void **state)
{
	(void)state;
	/* The user name (attacker-chosen on failures) forges an address... */
	assert_int_equal(parse_rc("Failed publickey for root from 6.6.6.6 port 1 ssh2: x from "
				  "192.0.2.7 port 5 ssh2: ED25519-CERT " KEY_FP " ID " KEY_ID
				  " (serial 42) CA ED25519 " CA_FP),
			 JIT_E_FORMAT);
	/* ...or the key ID (any CA's choice on failures) does. */
	assert_int_equal(parse_rc("Failed publickey for root from 192.0.2.7 port 5 ssh2: "
				  "ED25519-CERT " KEY_FP " ID a from 6.6.6.6 port 1 ssh2: b"
				  " (serial 42) CA ED25519 " CA_FP),
			 JIT_E_FORMAT);
}

static void test_user_name_with_spaces_and_quotes_is_kept_as_data(void **state)
{
	_cleanup_(correlate_login_freep) struct correlate_login *l = parse_ok(
		"Failed publickey for invalid user \"x\" y' from 192.0.2.9 port 4444 ssh2: "
		"ED25519-CERT " KEY_FP " ID " KEY_ID " (serial 42) CA ED25519 " CA_FP,
		NOW);

	(void)state;
	assert_string_equal(l->login, "\"x\" y'");
}

static void test_control_and_non_ascii_bytes_are_refused(void **state)
{
#define PREFIX "Accepted publickey for root from 192.0.2.7 port 1 ssh2: ED25519-CERT " KEY_FP \
	" ID a"
#define SUFFIX "b (serial 1) CA ED25519 " CA_FP
	static const char esc[] = PREFIX "\033[2J" SUFFIX;
	static const char high[] = PREFIX "\xc3\xa9" SUFFIX;
	static const char nul[] = PREFIX "\0" SUFFIX;
	struct correlate_login *l = NULL;

	(void)state;
	assert_int_equal(parse_rc(esc), JIT_E_FORMAT);
	assert_int_equal(parse_rc(high), JIT_E_FORMAT);
	assert_int_equal(correlate_parse_line(nul, sizeof nul - 1, NOW, &l), JIT_E_FORMAT);
	assert_null(l);
	assert_int_equal(parse_rc(MSG_ACCEPTED "\n\n"), JIT_E_FORMAT);
#undef PREFIX
#undef SUFFIX
}

static void test_bad_numbers_are_malformed(void **state)
{
	static const char *const lines[] = {
		/* serial UINT64_MAX + 1, a leading zero, none */
		"Accepted publickey for root from 192.0.2.7 port 1 ssh2: ED25519-CERT " KEY_FP
		" ID x (serial 18446744073709551616) CA ED25519 " CA_FP,
		"Accepted publickey for root from 192.0.2.7 port 1 ssh2: ED25519-CERT " KEY_FP
		" ID x (serial 042) CA ED25519 " CA_FP,
		"Accepted publickey for root from 192.0.2.7 port 1 ssh2: ED25519-CERT " KEY_FP
		" ID x (serial ) CA ED25519 " CA_FP,
		/* port 0, 65536 */
		"Accepted publickey for root from 192.0.2.7 port 0 ssh2: ED25519-CERT " KEY_FP
		" ID x (serial 1) CA ED25519 " CA_FP,
		"Accepted publickey for root from 192.0.2.7 port 65536 ssh2: ED25519-CERT " KEY_FP
		" ID x (serial 1) CA ED25519 " CA_FP,
		"Accepted certificate ID \"x\" (serial -1) signed by ED25519 CA " CA_FP " via /f",
		"Refusing certificate ID \"x\" serial=1x signed by ED25519 CA " CA_FP ": expired",
	};

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(lines); i++)
		assert_int_equal(parse_rc(lines[i]), JIT_E_FORMAT);
}

static void test_largest_serial_is_read(void **state)
{
	_cleanup_(correlate_login_freep) struct correlate_login *l = parse_ok(
		"Accepted publickey for root from 192.0.2.7 port 65535 ssh2: ED25519-CERT " KEY_FP
		" ID x (serial 18446744073709551615) CA ED25519 " CA_FP,
		NOW);

	(void)state;
	assert_true(l->serial == UINT64_MAX);
	assert_int_equal(l->port, 65535);
}

static void test_bad_fingerprints_are_malformed(void **state)
{
	static const char *const lines[] = {
		/* one character short, one too many, not base64, SHA1, missing */
		"Accepted publickey for root from 192.0.2.7 port 1 ssh2: ED25519-CERT " KEY_FP
		" ID x (serial 1) CA ED25519 SHA256:yLYUsPAcjdgre8RNjox994eQBiNLdyA6nNoMlScZB/",
		"Accepted publickey for root from 192.0.2.7 port 1 ssh2: ED25519-CERT " KEY_FP
		" ID x (serial 1) CA ED25519 " CA_FP "k",
		"Accepted publickey for root from 192.0.2.7 port 1 ssh2: ED25519-CERT " KEY_FP
		" ID x (serial 1) CA ED25519 SHA256:yLYUsPAcjdgre8RNjox994eQBiNLdyA6nNoMlS-ZB/k",
		"Accepted publickey for root from 192.0.2.7 port 1 ssh2: ED25519-CERT " KEY_FP
		" ID x (serial 1) CA ED25519 SHA1:yLYUsPAcjdgre8RNjox994eQBiNLdyA6nNoMlScZB/k",
		"Accepted publickey for root from 192.0.2.7 port 1 ssh2: ED25519-CERT " KEY_FP
		" ID x (serial 1) CA ED25519",
		"Accepted publickey for root from 192.0.2.7 port 1 ssh2: ED25519-CERT nope ID x "
		"(serial 1) CA ED25519 " CA_FP,
		"Accepted certificate ID \"x\" (serial 1) signed by ED25519 CA MD5:00 via /f",
	};

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(lines); i++)
		assert_int_equal(parse_rc(lines[i]), JIT_E_FORMAT);
}

static void test_impossible_dates_are_malformed(void **state)
{
	static const char *const lines[] = {
		"Feb 30 13:04:05 web-3 sshd[1234]: " MSG_ACCEPTED,
		"Nov 31 13:04:05 web-3 sshd[1234]: " MSG_ACCEPTED,
		"Nov 21 24:04:05 web-3 sshd[1234]: " MSG_ACCEPTED,
		"Nov 21 13:60:05 web-3 sshd[1234]: " MSG_ACCEPTED,
		"Nov 00 13:04:05 web-3 sshd[1234]: " MSG_ACCEPTED,
		"2026-13-21T13:04:05Z web-3 sshd[1234]: " MSG_ACCEPTED,
		"2026-00-21T13:04:05Z web-3 sshd[1234]: " MSG_ACCEPTED,
		"2025-02-29T13:04:05Z web-3 sshd[1234]: " MSG_ACCEPTED,
		"2026-11-21T13:04:05 web-3 sshd[1234]: " MSG_ACCEPTED,
		"2026-11-21T13:04:05+24:00 web-3 sshd[1234]: " MSG_ACCEPTED,
		"1969-12-31T23:59:59Z web-3 sshd[1234]: " MSG_ACCEPTED,
		"1970-01-01T00:00:00+01:00 web-3 sshd[1234]: " MSG_ACCEPTED,
		"1795266245 web-3 sshd[1234]: " MSG_ACCEPTED,
	};

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(lines); i++)
		assert_int_equal(parse_rc(lines[i]), JIT_E_FORMAT);
}

static void test_leap_day_of_a_leap_year_is_read(void **state)
{
	_cleanup_(correlate_login_freep) struct correlate_login *l =
		parse_ok("2024-02-29T10:00:00Z web-3 sshd[1234]: " MSG_ACCEPTED, NOW);

	(void)state;
	assert_int_equal(l->time, 1709200800);
}

static void test_key_ids_not_in_the_ca_format_have_no_jit_fields(void **state)
{
	static const char *const ids[] = {
		"alice@laptop",
		"jit-ssh user=alice host=web-3 login=root",
		"jit-ssh user=alice host=web-3 login=root request=0123",
		"jit-ssh user=alice host=web-3 login=root request=0123456789ABCDEF0123456789abcdef",
		"jit-ssh user=alice host=web-3 login=root request=" REQ " extra=1",
		"jit-ssh user=alice host=Web-3 login=root request=" REQ,
		"jit-ssh user=-alice host=web-3 login=root request=" REQ,
		"jit-ssh user=alice host=web-3 login=ro@ot request=" REQ,
		"jit-ssh host=web-3 user=alice login=root request=" REQ,
		"jit-ssh user= host=web-3 login=root request=" REQ,
		"jit-ssh  user=alice host=web-3 login=root request=" REQ,
	};

	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
		_cleanup_free_ char *line = NULL;
		_cleanup_(correlate_login_freep) struct correlate_login *l = NULL;

		assert_true(asprintf(&line,
				     "Accepted certificate ID \"%s\" (serial 1) signed by ED25519 "
				     "CA %s via /f",
				     ids[i], CA_FP) >= 0);
		l = parse_ok(line, NOW);
		assert_string_equal(l->key_id, ids[i]);
		assert_null(l->jit_user);
		assert_null(l->jit_host);
		assert_null(l->jit_login);
		assert_null(l->jit_request);
	}
}

/* ---- limits ------------------------------------------------------------------------------ */

static void test_line_at_the_limit_is_read_and_one_more_byte_is_too_large(void **state)
{
	char *line = malloc(CORRELATE_LINE_MAX + 3);
	struct correlate_login *l = NULL;

	(void)state;
	assert_non_null(line);
	memset(line, 'a', CORRELATE_LINE_MAX + 1);
	line[CORRELATE_LINE_MAX] = '\r';
	line[CORRELATE_LINE_MAX + 1] = '\n';
	assert_int_equal(correlate_parse_line(line, CORRELATE_LINE_MAX + 2, NOW, &l),
			 JIT_E_NOT_FOUND);
	line[CORRELATE_LINE_MAX] = 'a';
	assert_int_equal(correlate_parse_line(line, CORRELATE_LINE_MAX + 1, NOW, &l),
			 JIT_E_TOO_LARGE);
	assert_null(l);
	free(line);
}

/* An accepted line whose key ID is @n bytes. */
static char *line_with_key_id_len(size_t n)
{
	char *id = malloc(n + 1), *line = NULL;

	assert_non_null(id);
	memset(id, 'k', n);
	id[n] = 0;
	assert_true(asprintf(&line,
			     "Accepted publickey for root from 192.0.2.7 port 1 ssh2: ED25519-CERT "
			     "%s ID %s (serial 1) CA ED25519 %s",
			     KEY_FP, id, CA_FP) >= 0);
	free(id);
	return line;
}

static void test_field_at_the_limit_is_read_and_one_more_byte_is_too_large(void **state)
{
	_cleanup_free_ char *at = line_with_key_id_len(CORRELATE_FIELD_MAX);
	_cleanup_free_ char *over = line_with_key_id_len(CORRELATE_FIELD_MAX + 1);
	_cleanup_(correlate_login_freep) struct correlate_login *l = parse_ok(at, NOW);

	(void)state;
	assert_int_equal(strlen(l->key_id), CORRELATE_FIELD_MAX);
	assert_int_equal(parse_rc(over), JIT_E_TOO_LARGE);
}

static void test_null_line_with_length_is_invalid(void **state)
{
	struct correlate_login *l = NULL;

	(void)state;
	assert_int_equal(correlate_parse_line(NULL, 1, NOW, &l), -EINVAL);
	assert_int_equal(correlate_parse_line(NULL, 0, NOW, &l), JIT_E_NOT_FOUND);
	assert_null(l);
}

/* ---- the stream ------------------------------------------------------------------------ */

static void feed(struct correlate_stream *s, const char *line)
{
	assert_int_equal(correlate_stream_feed(s, line, strlen(line), NOW), 0);
}

static struct correlate_login *next_ok(struct correlate_stream *s)
{
	struct correlate_login *l = NULL;

	assert_int_equal(correlate_stream_next(s, &l), 0);
	assert_non_null(l);
	return l;
}

static void assert_no_event(struct correlate_stream *s)
{
	struct correlate_login *l = NULL;

	assert_int_equal(correlate_stream_next(s, &l), JIT_E_NOT_FOUND);
	assert_null(l);
}

static int stream_setup(void **state)
{
	struct correlate_stream *s = NULL;

	assert_int_equal(correlate_stream_new(&s), 0);
	*state = s;
	return 0;
}

static int stream_teardown(void **state)
{
	correlate_stream_free(*state);
	return 0;
}

static void test_stream_merges_cert_info_into_the_login(void **state)
{
	struct correlate_stream *s = *state;
	_cleanup_(correlate_login_freep) struct correlate_login *l = NULL;

	feed(s, H_SYSLOG MSG_CERT_INFO);
	assert_no_event(s);
	feed(s, H_SYSLOG MSG_CERT_INFO);
	assert_no_event(s);
	feed(s, H_SYSLOG "Postponed publickey for root from 192.0.2.7 port 52636 ssh2 [preauth]");
	feed(s, H_SYSLOG MSG_ACCEPTED);
	l = next_ok(s);
	assert_int_equal(l->kind, CORRELATE_ACCEPTED);
	assert_string_equal(l->ca_source, CA_FILE);
	assert_string_equal(l->login, "root");
	assert_no_event(s);
	assert_int_equal(correlate_stream_flush(s), 0);
	assert_no_event(s);
}

static void test_stream_keeps_processes_apart(void **state)
{
	struct correlate_stream *s = *state;
	_cleanup_(correlate_login_freep) struct correlate_login *a = NULL, *b = NULL, *c = NULL;

	feed(s, "Nov 21 13:04:05 web-3 sshd[1]: " MSG_CERT_INFO);
	feed(s, "Nov 21 13:04:05 web-4 sshd[2]: Accepted certificate ID \"other\" (serial 9) "
		"signed by ED25519 CA " CA_FP " via /other");
	feed(s, "Nov 21 13:04:05 web-4 sshd[1]: " MSG_ACCEPTED);
	feed(s, "Nov 21 13:04:05 web-4 sshd[2]: Accepted publickey for root from 192.0.2.8 port "
		"1 ssh2: ED25519-CERT " KEY_FP " ID other (serial 9) CA ED25519 " CA_FP);
	feed(s, "Nov 21 13:04:05 web-3 sshd[1]: " MSG_ACCEPTED);
	/* web-4 pid 1 had nothing waiting; pid 2 had its own line. */
	a = next_ok(s);
	assert_string_equal(a->host, "web-4");
	assert_null(a->ca_source);
	b = next_ok(s);
	assert_int_equal(b->pid, 2);
	assert_string_equal(b->ca_source, "/other");
	c = next_ok(s);
	assert_string_equal(c->host, "web-3");
	assert_string_equal(c->ca_source, CA_FILE);
	assert_no_event(s);
}

static void test_stream_reports_unmatched_cert_info_at_flush(void **state)
{
	struct correlate_stream *s = *state;
	_cleanup_(correlate_login_freep) struct correlate_login *l = NULL;

	feed(s, H_ISO MSG_CERT_INFO);
	assert_no_event(s);
	assert_int_equal(correlate_stream_flush(s), 0);
	l = next_ok(s);
	assert_int_equal(l->kind, CORRELATE_CERT_INFO);
	assert_int_equal(l->serial, 42);
	assert_no_event(s);
}

static void test_stream_settles_a_waiting_certificate_when_another_comes(void **state)
{
	struct correlate_stream *s = *state;
	_cleanup_(correlate_login_freep) struct correlate_login *a = NULL, *b = NULL;

	feed(s, H_SYSLOG "Accepted certificate ID \"one\" (serial 1) signed by ED25519 CA " CA_FP
			 " via /f");
	feed(s, H_SYSLOG MSG_CERT_INFO);
	a = next_ok(s);
	assert_int_equal(a->kind, CORRELATE_CERT_INFO);
	assert_int_equal(a->serial, 1);
	assert_no_event(s);
	feed(s, H_SYSLOG MSG_ACCEPTED);
	b = next_ok(s);
	assert_int_equal(b->kind, CORRELATE_ACCEPTED);
	assert_string_equal(b->ca_source, CA_FILE);
}

static void test_stream_gives_a_refusal_its_reason(void **state)
{
	struct correlate_stream *s = *state;
	_cleanup_(correlate_login_freep) struct correlate_login *l = NULL;

	feed(s, H_SYSLOG "cert: Authentication tried for root with valid certificate but not "
			 "from a permitted source address (192.0.2.7).");
	feed(s, H_SYSLOG "error: Refused by certificate options");
	assert_no_event(s);
	feed(s, H_SYSLOG MSG_FAILED);
	l = next_ok(s);
	assert_int_equal(l->kind, CORRELATE_REFUSED);
	/* The first, most specific reason wins. */
	assert_string_equal(l->detail, "cert: Authentication tried for root with valid "
				       "certificate but not from a permitted source address "
				       "(192.0.2.7).");
	assert_no_event(s);
}

static void test_stream_merges_refusing_line_into_the_failed_line(void **state)
{
	struct correlate_stream *s = *state;
	_cleanup_(correlate_login_freep) struct correlate_login *l = NULL;

	feed(s, H_SYSLOG "error: " MSG_REFUSING_VIA);
	assert_no_event(s);
	feed(s, H_SYSLOG MSG_FAILED);
	l = next_ok(s);
	assert_int_equal(l->kind, CORRELATE_REFUSED);
	assert_string_equal(l->detail, "Certificate invalid: expired");
	assert_string_equal(l->ca_source, "/root/.ssh/authorized_keys:3");
	assert_string_equal(l->login, "root");
	assert_no_event(s);
}

static void test_stream_drops_a_reason_that_no_refusal_follows(void **state)
{
	struct correlate_stream *s = *state;

	feed(s, H_SYSLOG "error: Certificate invalid: expired");
	assert_int_equal(correlate_stream_flush(s), 0);
	assert_no_event(s);
}

static void test_stream_is_unchanged_by_a_malformed_line(void **state)
{
	struct correlate_stream *s = *state;
	_cleanup_(correlate_login_freep) struct correlate_login *l = NULL;
	static const char bad[] = H_SYSLOG MSG_ACCEPTED;

	feed(s, H_SYSLOG MSG_CERT_INFO);
	assert_int_equal(correlate_stream_feed(s, bad, sizeof bad - 2, NOW), JIT_E_FORMAT);
	assert_no_event(s);
	feed(s, H_SYSLOG MSG_ACCEPTED);
	l = next_ok(s);
	assert_string_equal(l->ca_source, CA_FILE);
	assert_no_event(s);
}

static void test_stream_settles_the_oldest_process_beyond_the_limit(void **state)
{
	struct correlate_stream *s = *state;
	struct correlate_login *l = NULL;
	size_t n = 0;

	for (unsigned pid = 1; pid <= CORRELATE_PENDING_MAX + 1; pid++) {
		char line[512];

		snprintf(line, sizeof line, "Nov 21 13:04:05 web-3 sshd[%u]: %s", pid,
			 MSG_CERT_INFO);
		feed(s, line);
	}
	l = next_ok(s);
	assert_int_equal(l->pid, 1);
	correlate_login_free(l);
	assert_no_event(s);
	assert_int_equal(correlate_stream_flush(s), 0);
	while (correlate_stream_next(s, &l) == 0) {
		assert_int_equal(l->pid, n + 2);
		correlate_login_free(l);
		n++;
	}
	assert_int_equal(n, CORRELATE_PENDING_MAX);
}

static void test_stream_settles_lines_older_than_the_pending_time(void **state)
{
	struct correlate_stream *s = *state;
	_cleanup_(correlate_login_freep) struct correlate_login *l = NULL;

	feed(s, "2026-11-21T13:00:00Z web-3 sshd[1]: " MSG_CERT_INFO);
	/* 600 s later: still waiting. */
	feed(s, "2026-11-21T13:10:00Z web-3 sshd[2]: error: Certificate invalid: expired");
	assert_no_event(s);
	feed(s, "2026-11-21T13:10:01Z web-3 sshd[3]: error: Certificate invalid: expired");
	l = next_ok(s);
	assert_int_equal(l->pid, 1);
	assert_int_equal(l->kind, CORRELATE_CERT_INFO);
	assert_no_event(s);
}

static void test_stream_never_emits_bare_reasons(void **state)
{
	struct correlate_stream *s = *state;
	_cleanup_(correlate_login_freep) struct correlate_login *l = NULL;

	feed(s, "Certificate invalid: expired");
	feed(s, MSG_ACCEPTED);
	l = next_ok(s);
	assert_int_equal(l->kind, CORRELATE_ACCEPTED);
	assert_null(l->detail);
	assert_int_equal(correlate_stream_flush(s), 0);
	assert_no_event(s);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest real[] = {
		cmocka_unit_test(test_real_sshd_log_gives_one_event_per_attempt_in_order),
		cmocka_unit_test(test_real_sshd_certificate_login_is_reported_with_ledger_fields),
		cmocka_unit_test(test_real_sshd_key_id_is_the_one_signed),
		cmocka_unit_test(test_real_sshd_expired_certificate_is_refused_with_the_reason),
		cmocka_unit_test(test_real_sshd_principal_mismatch_is_refused_with_the_reason),
		cmocka_unit_test(test_real_sshd_source_address_refusal_names_the_address),
		cmocka_unit_test(test_real_sshd_cert_info_line_names_the_ca_file),
		cmocka_unit_test(test_real_sshd_lines_survive_every_truncation),
	};
	const struct CMUnitTest lines[] = {
		cmocka_unit_test(test_accepted_line_is_parsed_in_every_form),
		cmocka_unit_test(test_timestamp_text_is_kept_as_written),
		cmocka_unit_test(test_negative_utc_offset_is_added),
		cmocka_unit_test(test_syslog_date_after_now_belongs_to_last_year),
		cmocka_unit_test(test_syslog_date_up_to_a_day_ahead_stays_this_year),
		cmocka_unit_test(test_syslog_feb_29_goes_back_to_the_last_leap_year),
		cmocka_unit_test(test_syslog_space_padded_day_is_read),
		cmocka_unit_test(test_syslog_time_is_unknown_without_now),
		cmocka_unit_test(test_trailing_newline_and_carriage_return_are_ignored),
		cmocka_unit_test(test_cert_info_line_names_ca_file),
		cmocka_unit_test(test_cert_info_from_authorized_keys_names_file_and_line),
		cmocka_unit_test(test_md5_fingerprints_are_accepted),
		cmocka_unit_test(test_method_info_after_ca_fingerprint_is_the_detail),
		cmocka_unit_test(test_failed_line_is_a_refusal_with_its_identifiers),
		cmocka_unit_test(test_failed_line_for_invalid_user_is_flagged),
		cmocka_unit_test(test_partial_publickey_is_cert_info_with_the_login),
		cmocka_unit_test(test_refusing_line_of_newer_openssh_gives_reason),
		cmocka_unit_test(test_bare_refusal_reasons_are_reasons),
		cmocka_unit_test(test_lines_of_no_interest_are_not_found),
		cmocka_unit_test(test_every_truncation_of_every_sample_is_safe),
		cmocka_unit_test(test_every_truncation_of_a_publickey_line_is_refused),
		cmocka_unit_test(test_truncated_cert_info_line_keeps_the_key_id_or_is_refused),
		cmocka_unit_test(test_quotes_and_fake_tails_in_key_id_stay_in_the_key_id),
		cmocka_unit_test(test_injected_from_clause_makes_the_line_ambiguous),
		cmocka_unit_test(test_user_name_with_spaces_and_quotes_is_kept_as_data),
		cmocka_unit_test(test_control_and_non_ascii_bytes_are_refused),
		cmocka_unit_test(test_bad_numbers_are_malformed),
		cmocka_unit_test(test_largest_serial_is_read),
		cmocka_unit_test(test_bad_fingerprints_are_malformed),
		cmocka_unit_test(test_impossible_dates_are_malformed),
		cmocka_unit_test(test_leap_day_of_a_leap_year_is_read),
		cmocka_unit_test(test_key_ids_not_in_the_ca_format_have_no_jit_fields),
		cmocka_unit_test(test_line_at_the_limit_is_read_and_one_more_byte_is_too_large),
		cmocka_unit_test(test_field_at_the_limit_is_read_and_one_more_byte_is_too_large),
		cmocka_unit_test(test_null_line_with_length_is_invalid),
	};
#define STREAM_TEST(t) cmocka_unit_test_setup_teardown(t, stream_setup, stream_teardown)
	const struct CMUnitTest stream[] = {
		STREAM_TEST(test_stream_merges_cert_info_into_the_login),
		STREAM_TEST(test_stream_keeps_processes_apart),
		STREAM_TEST(test_stream_reports_unmatched_cert_info_at_flush),
		STREAM_TEST(test_stream_settles_a_waiting_certificate_when_another_comes),
		STREAM_TEST(test_stream_gives_a_refusal_its_reason),
		STREAM_TEST(test_stream_merges_refusing_line_into_the_failed_line),
		STREAM_TEST(test_stream_drops_a_reason_that_no_refusal_follows),
		STREAM_TEST(test_stream_is_unchanged_by_a_malformed_line),
		STREAM_TEST(test_stream_settles_the_oldest_process_beyond_the_limit),
		STREAM_TEST(test_stream_settles_lines_older_than_the_pending_time),
		STREAM_TEST(test_stream_never_emits_bare_reasons),
	};
	int failed = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s SSHD-CAPTURE-SCRIPT\n", argv[0]);
		return 2;
	}
	capture_script = argv[1];
	failed += cmocka_run_group_tests_name("correlate-lines", lines, NULL, NULL);
	failed += cmocka_run_group_tests_name("correlate-stream", stream, NULL, NULL);
	failed += cmocka_run_group_tests_name("correlate-real-sshd", real, real_setup,
					      real_teardown);
	return failed ? 1 : 0;
}
