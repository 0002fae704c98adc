/* SPDX-License-Identifier: ISC */
/*
 * correlate.h - read OpenSSH sshd log lines and report certificate logins, so that
 * `jit-ssh-ca ledger correlate FILE|-` can join each login with its ledger story.
 *
 * The messages recognised (sshd at LogLevel VERBOSE; OpenSSH 9.x and 10.x, texts from
 * auth.c auth_log()/format_method_key(), auth2-pubkey.c user_cert_trusted_ca() and
 * auth2-pubkeyfile.c):
 *
 *   Accepted publickey for USER from ADDR port N ssh2: TYPE-CERT FP ID KEYID (serial S)
 *       CA CATYPE CAFP[, INFO]       (one line)
 *   Partial publickey for ...        (same shape; one step of AuthenticationMethods)
 *   Failed publickey for [invalid user ]USER from ... (same shape)
 *   Accepted certificate ID "KEYID" (serial S) signed by CATYPE CA CAFP via FILE
 *   Accepted certificate ID "KEYID" (serial S) signed by CA CATYPE CAFP found at FILE:LINE
 *   Refusing certificate ID "KEYID" serial=S signed by CATYPE CA CAFP[ via FILE:LINE]: REASON
 *   the bare refusal reasons of OpenSSH < 10.1 ("Certificate invalid: expired",
 *   "Certificate does not contain an authorized principal", "...: Authentication tried for
 *   USER with valid certificate but not from a permitted source address (ADDR).", ...)
 *
 * in these textual forms (docs/design/correlate.md has an example of each):
 *   - sshd's own stderr (`sshd -D -e`): the message alone, no time, host or pid;
 *   - classic syslog and `journalctl -o short|short-precise`:
 *     "Nov 21 13:04:05[.ffffff] HOST TAG[PID]: MSG";
 *   - rsyslog ISO / `journalctl -o short-iso|short-iso-precise`:
 *     "2026-11-21T13:04:05[.ffffff](Z|+HH:MM|+HHMM) HOST TAG[PID]: MSG";
 *   - `journalctl -o short-unix`: "1795266245.123456 HOST TAG[PID]: MSG";
 * where TAG is sshd, sshd-session or sshd-auth, and error-level messages may start "error: ".
 *
 * Trust: every field is text from a log. User names and addresses of failure lines, and the
 * whole of a refused certificate (any CA can mint one), are chosen by whoever connects; an
 * accepted certificate was signed by a CA the host trusts. Fields are returned as data,
 * never interpreted. Every returned string is printable ASCII (0x20..0x7e): a line of
 * interest holding any other byte is refused. Key IDs are as sshd logged them (OpenSSH
 * vis(3)-encodes unprintable bytes and doubles backslashes). A syslog line proves nothing
 * about who wrote it (`logger -t 'sshd[1]'` can forge one); see docs/design/correlate.md.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest line accepted, bytes, not counting a trailing "\n" or "\r\n". */
#define CORRELATE_LINE_MAX 8192u
/* Longest single field (key ID, user name, file name, reason ...), bytes. OpenSSH formats a
 * log message in a 1024-byte buffer, so no real field comes near it. */
#define CORRELATE_FIELD_MAX 1024u
/* Most sshd processes a stream tracks at once (connections between their lines). */
#define CORRELATE_PENDING_MAX 1024u
/* A pending line older than this, seconds, by the timestamps of later lines, is settled
 * (OpenSSH's LoginGraceTime defaults to 120 s). */
#define CORRELATE_PENDING_SEC 600u
/* Slack, seconds, when placing a year-less syslog date in the past: a line up to this much
 * after @now (clock or time-zone differences) still counts as this year. */
#define CORRELATE_FUTURE_SLACK_SEC 86400u

/**
 * enum correlate_kind - What a line (or merged event) reports
 * @CORRELATE_ACCEPTED:  a login with a certificate ("Accepted publickey ... ID ...")
 * @CORRELATE_CERT_INFO: a certificate sshd accepted without a login (yet) being logged:
 *                       "Accepted certificate ID ..." (logged before the login line, also
 *                       for the signature-less query), or "Partial publickey ..." (one
 *                       step of several AuthenticationMethods; @login etc. are set)
 * @CORRELATE_REFUSED:   a certificate sshd refused ("Failed publickey ... ID ..." or
 *                       "Refusing certificate ID ..."); @detail holds the reason if known
 * @CORRELATE_REASON:    a refusal reason without identifiers (OpenSSH < 10.1 logs it on its
 *                       own line just before the "Failed publickey" line); only
 *                       correlate_parse_line() returns these: the stream folds them into
 *                       the following CORRELATE_REFUSED event of the same process
 */
enum correlate_kind {
	CORRELATE_ACCEPTED,
	CORRELATE_CERT_INFO,
	CORRELATE_REFUSED,
	CORRELATE_REASON,
};

/**
 * struct correlate_login - One certificate event from an sshd log
 * @kind:            see enum correlate_kind
 * @time_text:       the line's timestamp as written, NULL in the stderr form
 * @time:            that time, seconds since the Unix epoch (UTC), 0 if unknown. Timestamps
 *                   without a zone (classic syslog, journalctl short) are read as UTC, and
 *                   without a year as the latest date not after now + slack
 * @host:            syslog host field, NULL in the stderr form
 * @pid:             sshd process ID from "sshd[PID]", 0 in the stderr form
 * @login:           account ("for USER"), NULL when the line does not name it
 * @invalid_user:    the line said "for invalid user USER" (no such account)
 * @from_addr:       client address as logged, NULL when not named
 * @port:            client port, 0 when not named
 * @key_type:        certificate key type, e.g. "ED25519-CERT", NULL when not named
 * @key_fingerprint: fingerprint of the certified key ("SHA256:..."), NULL when not named
 * @key_id:          certificate key ID as logged, NULL for CORRELATE_REASON
 * @serial:          certificate serial, valid when @has_serial
 * @has_serial:      @serial is known (false only for CORRELATE_REASON)
 * @ca_key_type:     CA key type, e.g. "ED25519"
 * @ca_fingerprint:  CA key fingerprint ("SHA256:..." or "MD5:..")
 * @ca_source:       where sshd found the CA: the TrustedUserCAKeys file, or "FILE:LINE" of an
 *                   authorized_keys cert-authority line; NULL when not logged
 * @jit_user:        from a key ID "jit-ssh user=U host=H login=L request=R" (the CA's
 *                   format): U, H, L, R, each checked (names.h safe names, R 32 lower-case
 *                   hex); all four NULL when the key ID is not exactly that shape
 * @jit_host:        see @jit_user
 * @jit_login:       see @jit_user
 * @jit_request:     see @jit_user
 * @detail:          refusal reason (REFUSED, REASON); the method information after the
 *                   CA fingerprint for ACCEPTED, e.g. "signature count = 3"; otherwise NULL
 *
 * Every string member is new (freed by correlate_login_free()) or NULL.
 */
struct correlate_login {
	enum correlate_kind kind;
	char *time_text;
	uint64_t time;
	char *host;
	uint32_t pid;
	char *login;
	bool invalid_user;
	char *from_addr;
	uint32_t port;
	char *key_type;
	char *key_fingerprint;
	char *key_id;
	uint64_t serial;
	bool has_serial;
	char *ca_key_type;
	char *ca_fingerprint;
	char *ca_source;
	char *jit_user;
	char *jit_host;
	char *jit_login;
	char *jit_request;
	char *detail;
};

/**
 * correlate_login_free() - Free an event and all its strings
 * @l: event or NULL
 * Return: NULL.
 */
struct correlate_login *correlate_login_free(struct correlate_login *l);

/** correlate_login_freep() - For _cleanup_(correlate_login_freep). */
void correlate_login_freep(struct correlate_login **l);

/**
 * correlate_parse_line() - Parse one sshd log line
 * @line: the line, not necessarily NUL-terminated; a trailing "\n" or "\r\n" is ignored
 * @len:  bytes in @line
 * @now:  current time, seconds since the Unix epoch (UTC); places year-less syslog dates
 *        (0: such times are reported as 0)
 * @ret:  new event (correlate_login_free())
 *
 * Ownership: @line borrowed for the call.
 * Errors: JIT_E_NOT_FOUND for a line that is not one of the messages above (other programs,
 *         other sshd messages, logins with plain keys); JIT_E_FORMAT for a line that is one
 *         of them but malformed: truncated, a bad number, date or fingerprint, a byte outside
 *         printable ASCII, or ambiguous (" from ADDR port N ssh2: " more than once);
 *         JIT_E_TOO_LARGE when the line exceeds CORRELATE_LINE_MAX or a field
 *         CORRELATE_FIELD_MAX; -ENOMEM.
 * Return: 0 and *@ret set, or a negative error code with *@ret untouched.
 */
int correlate_parse_line(const char *line, size_t len, uint64_t now, struct correlate_login **ret);

/**
 * struct correlate_stream - Merges the lines of one sshd process into events
 *
 * Lines are grouped by (host, pid); the stderr form has neither, so its lines form one group
 * and must come from one connection at a time. Within a group:
 *   - "Accepted certificate ID" (CERT_INFO) and "Refusing certificate ID" (REFUSED) lines
 *     wait for the publickey line of the same key ID and serial, which takes their
 *     @ca_source (and the refusal's reason as @detail) and is emitted as one event; a
 *     waiting line that meets another certificate, or is settled (flush, limits), is
 *     emitted on its own;
 *   - a bare reason (CORRELATE_REASON) waits for the next "Failed publickey" certificate
 *     line and becomes its @detail (the first reason wins); unused reasons are dropped;
 *   - publickey lines are emitted at once.
 * Events come out in the order they are settled.
 */
struct correlate_stream;

/**
 * correlate_stream_new() - Make an empty stream
 * @ret: new stream (correlate_stream_free())
 * Errors: -ENOMEM.
 * Return: 0, or a negative error code with *@ret untouched.
 */
int correlate_stream_new(struct correlate_stream **ret);

/**
 * correlate_stream_free() - Free a stream with its pending lines and undelivered events
 * @s: stream or NULL
 * Return: NULL.
 */
struct correlate_stream *correlate_stream_free(struct correlate_stream *s);

/**
 * correlate_stream_feed() - Give the stream the next line of the log
 * @s:    stream
 * @line: one line, as for correlate_parse_line()
 * @len:  bytes in @line
 * @now:  as for correlate_parse_line()
 *
 * Lines that are not of interest are consumed silently. Take the events it settles with
 * correlate_stream_next() (after every feed, or memory grows with the log).
 * Pending groups are settled when more than CORRELATE_PENDING_MAX are open (oldest first) or
 * when a later line is CORRELATE_PENDING_SEC newer.
 *
 * Ownership: @line borrowed for the call.
 * Errors: JIT_E_FORMAT, JIT_E_TOO_LARGE as correlate_parse_line() (the line is skipped and
 *         the stream is unchanged: callers count these and go on); -ENOMEM (the stream may
 *         have lost this line).
 * Return: 0 or a negative error code.
 */
int correlate_stream_feed(struct correlate_stream *s, const char *line, size_t len, uint64_t now);

/**
 * correlate_stream_flush() - End of input: settle every pending line
 * @s: stream
 *
 * Waiting certificate lines become events of their own; waiting bare reasons are dropped.
 * Feeding may continue afterwards.
 * Errors: -ENOMEM (pending lines may be lost).
 * Return: 0 or a negative error code.
 */
int correlate_stream_flush(struct correlate_stream *s);

/**
 * correlate_stream_next() - Take the next settled event
 * @s:   stream
 * @ret: new event (correlate_login_free()); never of kind CORRELATE_REASON
 * Errors: JIT_E_NOT_FOUND when no event is ready.
 * Return: 0 and *@ret set, or a negative error code with *@ret untouched.
 */
int correlate_stream_next(struct correlate_stream *s, struct correlate_login **ret);
