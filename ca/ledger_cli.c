/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "agentc.h"
#include "config.h"
#include "correlate.h"
#include "err.h"
#include "issue.h"
#include "key.h"
#include "ledger.h"
#include "ledger_cli.h"
#include "names.h"
#include "policy.h"
#include "request.h"
#include "serve.h"
#include "sig.h"
#include "tlsgen.h"
#include "util.h"

/* Most trusted checkpoint keys read from a --checkpoint-key file. */
#define CHECKPOINT_KEYS_MAX SERVE_CHECKPOINT_KEYS_MAX
#define DUMP_FLAGS (JSON_COMPACT | JSON_SORT_KEYS)

enum {
	O_CONFIG = 0x100,
	O_USER,
	O_HOST,
	O_LOGIN,
	O_SERIAL,
	O_REQUEST,
	O_SINCE,
	O_UNTIL,
	O_EVENT,
	O_UNREVIEWED,
	O_JSON,
	O_CHECKPOINT_KEY,
	O_FORMAT,
	O_OK,
	O_FLAG,
	O_NOTE,
	O_IDENTITY,
	O_REVIEWER,
	O_STATE,
	O_FLAGGED,
	O_GRACE,
	O_HELP,
};

#define BIT(o) (UINT32_C(1) << ((o)-O_CONFIG))
#define FILTERS                                                                                    \
	(BIT(O_USER) | BIT(O_HOST) | BIT(O_LOGIN) | BIT(O_SERIAL) | BIT(O_REQUEST) |               \
	 BIT(O_SINCE) | BIT(O_UNTIL) | BIT(O_EVENT))

static const struct option cli_options[] = {
	{"config", required_argument, NULL, O_CONFIG},
	{"user", required_argument, NULL, O_USER},
	{"host", required_argument, NULL, O_HOST},
	{"login", required_argument, NULL, O_LOGIN},
	{"serial", required_argument, NULL, O_SERIAL},
	{"request", required_argument, NULL, O_REQUEST},
	{"since", required_argument, NULL, O_SINCE},
	{"until", required_argument, NULL, O_UNTIL},
	{"event", required_argument, NULL, O_EVENT},
	{"unreviewed", no_argument, NULL, O_UNREVIEWED},
	{"json", no_argument, NULL, O_JSON},
	{"checkpoint-key", required_argument, NULL, O_CHECKPOINT_KEY},
	{"format", required_argument, NULL, O_FORMAT},
	{"ok", no_argument, NULL, O_OK},
	{"flag", no_argument, NULL, O_FLAG},
	{"note", required_argument, NULL, O_NOTE},
	{"identity", required_argument, NULL, O_IDENTITY},
	{"reviewer", required_argument, NULL, O_REVIEWER},
	{"state", required_argument, NULL, O_STATE},
	{"flagged", no_argument, NULL, O_FLAGGED},
	{"grace", required_argument, NULL, O_GRACE},
	{"help", no_argument, NULL, O_HELP},
	{0},
};

static const char usage_text[] =
	"Usage: jit-ssh-ca ledger SUBCOMMAND [--config FILE] ...\n"
	"  list [--user U] [--host H] [--login L] [--serial N] [--request ID] [--since T]\n"
	"       [--until T] [--event E | --state S | --unreviewed | --flagged] [--json]\n"
	"  show SERIAL|REQUEST-ID [--json]\n"
	"  verify [--checkpoint-key FILE]\n"
	"  export --format jsonl [filters as for list, without --state]\n"
	"  correlate FILE|-\n"
	"  review SERIAL|REQUEST-ID --ok|--flag --note TEXT [-i KEYFILE] [--reviewer NAME]\n"
	"  backup DEST\n"
	"  sweep [--grace SECONDS]\n"
	"S: received, allowed, denied, needs_approval, issued, expired or cancelled.\n"
	"T: seconds since the epoch, 2026-11-21T13:00:00Z, 2026-11-21, or an age (90s, 30m, 24h,\n"
	"7d, 2w). See docs/operating-ca.md.\n";

struct opts {
	const char *config;
	struct ledger_filter f;
	const char *since, *until;
	bool unreviewed, flagged, json, ok, flag;
	enum ledger_state state; /* --state, LEDGER_STATE_NONE when not given */
	uint64_t grace_sec;	 /* --grace */
	const char *checkpoint_key, *format, *note, *identity, *reviewer;
	uint32_t seen;
	int argc;
	char **argv; /* operands after the subcommand */
};

struct cli {
	FILE *out, *err;
	struct opts o;
	struct config *cfg;
	struct ledger *l;
	uint64_t now;
};

static int fail(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct cli *c, const char *fmt, ...)
{
	va_list ap;

	fputs("jit-ssh-ca: ledger: ", c->err);
	va_start(ap, fmt);
	vfprintf(c->err, fmt, ap);
	va_end(ap);
	fputc('\n', c->err);
	return 1;
}

static int usage_error(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(struct cli *c, const char *fmt, ...)
{
	va_list ap;

	fputs("jit-ssh-ca: ledger: ", c->err);
	va_start(ap, fmt);
	vfprintf(c->err, fmt, ap);
	va_end(ap);
	fputs("\nTry 'jit-ssh-ca ledger --help'.\n", c->err);
	return 2;
}

/* ---- small helpers ---------------------------------------------------------------------- */

static const char *fmt_time(uint64_t t, char buf[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t > (uint64_t)INT64_MAX || !gmtime_r(&tt, &tm) ||
	    !strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, 32, "%" PRIu64, t);
	return buf;
}

/*
 * A string field made safe for a terminal: control characters (which a damaged or forged
 * ledger may hold) become '?', and it is cut at STR_MAX bytes. The result lives until
 * STR_SLOTS more calls (the tools print a few fields per line).
 */
#define STR_SLOTS 16
#define STR_MAX 2048
static const char *safe(const char *s)
{
	static char slots[STR_SLOTS][STR_MAX + 1];
	static unsigned next;
	char *out = slots[next++ % STR_SLOTS];
	size_t i;

	if (!s)
		return "";
	for (i = 0; s[i] && i < STR_MAX; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	out[i] = 0;
	return out;
}

static const char *str(const json_t *rec, const char *key)
{
	return safe(json_string_value(json_object_get(rec, key)));
}

static const char *str_or_dash(const json_t *rec, const char *key)
{
	const char *s = str(rec, key);

	return *s ? s : "-";
}

static uint64_t num(const json_t *rec, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(rec, key));

	return v > 0 ? (uint64_t)v : 0;
}

static bool event_is(const json_t *rec, const char *name)
{
	return !strcmp(str(rec, "event"), name);
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static int parse_u64(const char *s, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (!all_digits(s) || strlen(s) > 20)
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*ret = v;
	return 0;
}

int ledger_cli_parse_time(const char *s, uint64_t now, bool relative, uint64_t *ret)
{
	static const struct {
		char unit;
		uint64_t sec;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400}};
	size_t n = strlen(s);
	struct tm tm = {0};
	const char *end;
	uint64_t v;
	time_t t;

	if (parse_u64(s, &v) == 0) {
		*ret = v;
		return 0;
	}
	if (relative && n >= 2 && n < 16) {
		char digits[16];

		memcpy(digits, s, n - 1);
		digits[n - 1] = 0;
		for (size_t i = 0; i < ELEMENTSOF(units); i++)
			if (s[n - 1] == units[i].unit && parse_u64(digits, &v) == 0) {
				if (v > now / units[i].sec)
					return -EINVAL;
				*ret = now - v * units[i].sec;
				return 0;
			}
	}
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d", &tm);
		if (!end || *end)
			return -EINVAL;
	}
	t = timegm(&tm);
	if (t < 0)
		return -EINVAL;
	*ret = (uint64_t)t;
	return 0;
}

/* ---- options ---------------------------------------------------------------------------- */

static int parse_options(struct cli *c, int argc, char **argv)
{
	struct opts *o = &c->o;
	int ch;

	optind = 0; /* a full restart of getopt, also when called again (tests) */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "hi:", cli_options, NULL)) != -1) {
		if (ch == 'i')
			ch = O_IDENTITY;
		if (ch == 'h')
			ch = O_HELP;
		if (ch >= O_CONFIG && ch <= O_HELP)
			o->seen |= BIT(ch);
		switch (ch) {
		case O_CONFIG:
			o->config = optarg;
			break;
		case O_USER:
			o->f.user = optarg;
			break;
		case O_HOST:
			o->f.host = optarg;
			break;
		case O_LOGIN:
			o->f.login = optarg;
			break;
		case O_SERIAL:
			if (parse_u64(optarg, &o->f.serial) < 0 || o->f.serial == 0)
				return usage_error(c, "--serial: '%s' is not a serial number",
						   optarg);
			break;
		case O_REQUEST:
			o->f.request_id = optarg;
			break;
		case O_SINCE:
			o->since = optarg;
			break;
		case O_UNTIL:
			o->until = optarg;
			break;
		case O_EVENT:
			o->f.event = optarg;
			break;
		case O_UNREVIEWED:
			o->unreviewed = true;
			break;
		case O_JSON:
			o->json = true;
			break;
		case O_CHECKPOINT_KEY:
			o->checkpoint_key = optarg;
			break;
		case O_FORMAT:
			o->format = optarg;
			break;
		case O_OK:
			o->ok = true;
			break;
		case O_FLAG:
			o->flag = true;
			break;
		case O_NOTE:
			o->note = optarg;
			break;
		case O_IDENTITY:
			o->identity = optarg;
			break;
		case O_REVIEWER:
			o->reviewer = optarg;
			break;
		case O_STATE:
			if (ledger_state_from_name(optarg, &o->state) < 0)
				return usage_error(
					c,
					"--state: '%s' is not one of received, allowed, "
					"denied, needs_approval, issued, expired, cancelled",
					optarg);
			break;
		case O_FLAGGED:
			o->flagged = true;
			break;
		case O_GRACE:
			if (parse_u64(optarg, &o->grace_sec) < 0 || o->grace_sec > INT64_MAX)
				return usage_error(c, "--grace: '%s' is not a number of seconds",
						   optarg);
			break;
		case O_HELP:
			fputs(usage_text, c->out);
			return -1;
		default:
			return usage_error(c, "unknown option or missing argument: %s",
					   argv[optind - 1]);
		}
	}
	o->argc = argc - optind;
	o->argv = argv + optind;
	return 0;
}

/* Refuse options not in @allowed and operand counts other than @operands. */
static int only(struct cli *c, const char *cmd, uint32_t allowed, int operands)
{
	uint32_t extra = c->o.seen & ~(allowed | BIT(O_CONFIG) | BIT(O_HELP));

	for (const struct option *opt = cli_options; opt->name; opt++)
		if (extra & BIT(opt->val))
			return usage_error(c, "%s does not take --%s", cmd, opt->name);
	if (c->o.argc != operands)
		return usage_error(c, "%s takes %d argument%s, not %d", cmd, operands,
				   operands == 1 ? "" : "s", c->o.argc);
	return 0;
}

/* Resolve --since/--until and normalise --host. */
static int finish_filter(struct cli *c, char **ret_host)
{
	struct ledger_filter *f = &c->o.f;

	if (c->o.since && ledger_cli_parse_time(c->o.since, c->now, true, &f->since) < 0)
		return usage_error(c, "--since: '%s' is not a time or an age", c->o.since);
	if (c->o.until && ledger_cli_parse_time(c->o.until, c->now, true, &f->until) < 0)
		return usage_error(c, "--until: '%s' is not a time or an age", c->o.until);
	if (f->host) {
		if (host_normalize(f->host, NULL, ret_host) < 0)
			return usage_error(c, "--host: '%s' is not a host name", f->host);
		f->host = *ret_host;
	}
	return 0;
}

static int open_config(struct cli *c)
{
	_cleanup_free_ char *err = NULL;
	const char *path = c->o.config ? c->o.config : config_default_path();
	int r = config_load(path, &c->cfg, &err);

	if (r < 0)
		return fail(c, "%s", err ? err : jit_strerror(r));
	return 0;
}

static int open_ledger(struct cli *c, bool writable)
{
	struct ledger_options lo = {
		.read_only = !writable,
		.map_size = c->cfg->ledger_map_size,
		.map_size_max = c->cfg->ledger_map_size_max,
		.signer_id = c->cfg->signer_id,
	};
	int r = ledger_open(c->cfg->ledger, &lo, &c->l);

	if (r < 0)
		return fail(c, "cannot open the ledger %s: %s", c->cfg->ledger, jit_strerror(r));
	return 0;
}

static int read_error(struct cli *c, int r)
{
	return fail(c, "cannot read the ledger %s: %s", c->cfg->ledger, jit_strerror(r));
}

/* ---- list, export ----------------------------------------------------------------------- */

/* One short line about what a record says, for the table. */
static void detail(const json_t *rec, char *buf, size_t len)
{
	char t[32];

	if (event_is(rec, ISSUE_EVENT_RECEIVED))
		snprintf(buf, len, "ttl=%" PRIu64 " from=%s reason=\"%s\"", num(rec, "ttl_seconds"),
			 str_or_dash(rec, "client_address"), str(rec, "reason"));
	else if (event_is(rec, ISSUE_EVENT_DECIDED))
		snprintf(buf, len, "%s rule=%s", str(rec, "decision"), str_or_dash(rec, "rule"));
	else if (event_is(rec, ISSUE_EVENT_ISSUED))
		snprintf(buf, len, "valid until %s rule=%s", fmt_time(num(rec, "valid_before"), t),
			 str_or_dash(rec, "rule"));
	else if (event_is(rec, LEDGER_CLI_EVENT_REVIEW))
		snprintf(buf, len, "%s by %s: %s", str(rec, "verdict"), str(rec, "reviewer"),
			 str(rec, "note"));
	else if (event_is(rec, SERVE_EVENT_STARTUP))
		snprintf(buf, len, "chain %s policy=%s",
			 json_is_true(json_object_get(rec, "chain_ok")) ? "ok"
			 : json_is_true(json_object_get(rec, "continued_on_broken_chain"))
				 ? "BROKEN (continued)"
				 : "BROKEN",
			 str(rec, "policy_version"));
	else if (event_is(rec, SERVE_EVENT_POLICY_RELOADED))
		snprintf(buf, len, "policy=%s", str(rec, "policy_version"));
	else if (event_is(rec, LEDGER_EVENT_CHECKPOINT))
		snprintf(buf, len, "signs seq %" PRIu64 " by %s", num(rec, "signed_seq"),
			 str(rec, "signer"));
	else if (event_is(rec, "denied"))
		snprintf(buf, len, "%s", str(rec, "decision"));
	else if (event_is(rec, LEDGER_EVENT_EXPIRED))
		snprintf(buf, len, "was valid until %s", fmt_time(num(rec, "valid_before"), t));
	else if (event_is(rec, LEDGER_EVENT_CANCELLED))
		snprintf(buf, len, "after %s: %s", str(rec, "last_event"), str(rec, "reason"));
	else
		buf[0] = 0;
}

struct list_ctx {
	struct cli *c;
	json_t *array;	 /* --json, --state: collected records */
	json_t *reviews; /* --unreviewed, --flagged: request ID -> the review that decides */
	bool flagged;
	uint64_t n;
};

static int print_row(struct list_ctx *x, const json_t *rec)
{
	char t[32], serial[24] = "-", d[512];

	if (num(rec, "serial"))
		snprintf(serial, sizeof(serial), "%" PRIu64, num(rec, "serial"));
	detail(rec, d, sizeof(d));
	fprintf(x->c->out, "%-7" PRIu64 " %-20s %-15s %-14s %-20s %-10s %-10s %-32s %s\n",
		num(rec, "seq"), fmt_time(num(rec, "time"), t), str_or_dash(rec, "event"),
		str_or_dash(rec, "user"), str_or_dash(rec, "host"), str_or_dash(rec, "login"),
		serial, str_or_dash(rec, "request_id"), d);
	return 0;
}

static void print_header(struct cli *c)
{
	fprintf(c->out, "%-7s %-20s %-15s %-14s %-20s %-10s %-10s %-32s %s\n", "SEQ", "TIME (UTC)",
		"EVENT", "USER", "HOST", "LOGIN", "SERIAL", "REQUEST", "DETAIL");
}

static int on_list(void *ctx, const json_t *rec)
{
	struct list_ctx *x = ctx;

	if (x->reviews) {
		const char *rid = json_string_value(json_object_get(rec, "request_id"));
		const char *verdict = rid ? json_string_value(json_object_get(
						    json_object_get(x->reviews, rid), "verdict"))
					  : NULL;

		if (x->flagged ? !verdict || strcmp(verdict, "flag") : verdict != NULL)
			return 0;
	}
	x->n++;
	if (x->array)
		return json_array_append(x->array, (json_t *)rec) < 0 ? -ENOMEM : 0;
	return print_row(x, rec);
}

/*
 * The policy, for the reviewers' enrolled keys: a trust anchor for reviews, so it must be a
 * file only root or the CA's user can change (serve_check_trusted()), as the daemon requires
 * of it. @ret_error: a new message when it cannot be used.
 */
static int load_policy(struct cli *c, struct policy **ret, char **ret_error)
{
	_cleanup_free_ char *err = NULL;
	int r = serve_check_trusted(c->cfg->ca_key, c->cfg->policy, &err);

	if (r == 0)
		r = policy_load_file(c->cfg->policy, ret, &err);
	if (r < 0 && !err && asprintf(&err, "%s: %s", c->cfg->policy, jit_strerror(r)) < 0)
		err = NULL;
	if (r < 0)
		*ret_error = TAKE_PTR(err);
	return r;
}

/* The first "issued" record of @serial (new), JIT_E_NOT_FOUND when there is none. Records
 * appended later cannot take its place: serials are handed out with the issuance. */
static int serial_issuance(struct ledger *l, uint64_t serial, json_t **ret)
{
	_cleanup_(json_decrefp) json_t *events = NULL;
	const json_t *v;
	size_t i;
	int r;

	if (serial == 0 || serial > INT64_MAX)
		return JIT_E_NOT_FOUND;
	if ((r = ledger_serial_events(l, serial, &events)) < 0)
		return r;
	json_array_foreach(events, i, v)
	{
		if (event_is(v, ISSUE_EVENT_ISSUED)) {
			*ret = json_incref((json_t *)v);
			return 0;
		}
	}
	return JIT_E_NOT_FOUND;
}

/*
 * Whether @name asked for the request of @story: the requester is the "user" of the
 * request's own "received" and "issued" records (the CA wrote them when it authenticated
 * the request), never a review record's own "user". @ret_known: some such record names one.
 */
static bool is_requester(const json_t *story, const char *name, bool *ret_known)
{
	const json_t *v;
	bool known = false, is = false;
	size_t i;

	json_array_foreach(story, i, v)
	{
		const char *user = json_string_value(json_object_get(v, "user"));

		if (!user ||
		    !(event_is(v, ISSUE_EVENT_RECEIVED) || event_is(v, ISSUE_EVENT_ISSUED)))
			continue;
		known = true;
		is = is || !strcmp(user, name);
	}
	if (ret_known)
		*ret_known = known;
	return is;
}

/*
 * Whether review record @rec counts (docs/ledger.md "Reviews"): its signature verifies over
 * its own fields (ledger_cli_review_check()); the request it is about is found through the
 * ledger, not through the record's own unsigned fields: a serial target's issuance names
 * it, and the record's "request_id", when it has one, must be that one; the reviewer is not
 * the requester (is_requester()); the verdict is ok or flag; with @pol, the signing key is
 * enrolled for the reviewer in it.
 * Return: 0 with @ret_request (new) the request the review decides for and @ret_why NULL
 * when it counts; 0 with @ret_why set (static or in @buf) when it does not; or an error
 * reading the ledger.
 */
static int review_assess(struct cli *c, const json_t *rec, const struct policy *pol,
			 char **ret_request, const char **ret_why, char *buf, size_t len)
{
	_cleanup_(key_freep) struct key *k = NULL;
	_cleanup_(json_decrefp) json_t *issued = NULL;
	_cleanup_(json_decrefp) json_t *story = NULL;
	const json_t *target = json_object_get(rec, "target");
	const char *own = json_string_value(json_object_get(rec, "request_id"));
	const char *reviewer = json_string_value(json_object_get(rec, "reviewer"));
	const char *rid;
	const struct key *const *keys;
	bool enrolled = false, known;
	size_t n;
	int r = ledger_cli_review_check(rec, &k);

	*ret_why = buf;
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		snprintf(buf, len, "its signature does not verify (%s)", jit_strerror(r));
		return 0;
	}
	if (strcmp(str(rec, "verdict"), "ok") && strcmp(str(rec, "verdict"), "flag")) {
		*ret_why = "its verdict is neither ok nor flag";
		return 0;
	}
	if (json_is_integer(target)) {
		uint64_t serial = (uint64_t)json_integer_value(target);

		r = serial_issuance(c->l, serial, &issued);
		if (r == JIT_E_NOT_FOUND) {
			snprintf(buf, len, "the ledger has no issuance of serial %" PRIu64, serial);
			return 0;
		}
		if (r < 0)
			return r;
		rid = json_string_value(json_object_get(issued, "request_id"));
		if (!rid) {
			snprintf(buf, len, "the issuance of serial %" PRIu64 " names no request",
				 serial);
			return 0;
		}
		if (own && strcmp(own, rid)) {
			snprintf(buf, len,
				 "its request_id is not that of the issuance of serial %" PRIu64
				 " (%s): a review moved onto another request",
				 serial, safe(rid));
			return 0;
		}
	} else {
		rid = json_string_value(target); /* the record's own (ledger_cli_review_check()) */
	}
	r = ledger_request_events(c->l, rid, &story);
	if (r == JIT_E_NOT_FOUND) {
		snprintf(buf, len, "the ledger has no request %s", safe(rid));
		return 0;
	}
	if (r < 0)
		return r;
	if (is_requester(story, reviewer, &known)) {
		*ret_why = "the reviewer is the requester";
		return 0;
	}
	if (!known) {
		*ret_why = "the request's own records (received, issued) name no requester";
		return 0;
	}
	if (pol) {
		if (policy_user_keys(pol, reviewer, &keys, &n) == 0)
			for (size_t i = 0; i < n; i++)
				enrolled = enrolled || key_equal_public(keys[i], k);
		if (!enrolled) {
			*ret_why = "its key is not enrolled for the reviewer in the current policy";
			return 0;
		}
	}
	if (!(*ret_request = strdup(rid)))
		return -ENOMEM;
	*ret_why = NULL;
	return 0;
}

/*
 * What a counted review signed, for telling a repeated signature from a new one: the
 * signing key's fingerprint and the signed message. A copy of a signature (also one
 * re-encoded, or a malleated ECDSA one over the same message) says nothing new.
 */
static int review_statement(const json_t *rec, char **ret)
{
	_cleanup_free_ char *msg = NULL;
	const json_t *time = json_object_get(rec, "time");
	int r = ledger_cli_review_message(json_object_get(rec, "target"), str(rec, "verdict"),
					  json_string_value(json_object_get(rec, "note")),
					  json_string_value(json_object_get(rec, "reviewer")),
					  (uint64_t)json_integer_value(time), &msg);

	if (r < 0)
		return r;
	if (asprintf(ret, "%s\n%s", str(rec, "reviewer_key"), msg) < 0)
		return -ENOMEM;
	return 0;
}

struct review_scan {
	struct cli *c;
	const struct policy *pol;
	json_t *verdicts; /* request ID -> {"verdict", "time", "seq"} of the one that decides */
	json_t *seen;	  /* review_statement() -> seq of its first counted record */
};

static int on_review(void *ctx, const json_t *rec)
{
	struct review_scan *s = ctx;
	_cleanup_free_ char *rid = NULL;
	_cleanup_free_ char *statement = NULL;
	const json_t *cur, *first;
	const char *why;
	char buf[256];
	uint64_t seq = num(rec, "seq"), t = num(rec, "time");
	int r;

	if ((r = review_assess(s->c, rec, s->pol, &rid, &why, buf, sizeof(buf))) < 0)
		return r;
	if (!why) {
		if ((r = review_statement(rec, &statement)) < 0)
			return r;
		if ((first = json_object_get(s->seen, statement))) {
			snprintf(buf, sizeof(buf),
				 "it repeats the signature of the review at seq %" PRIu64,
				 (uint64_t)json_integer_value(first));
			why = buf;
		}
	}
	if (why) {
		fprintf(s->c->err,
			"jit-ssh-ca: ledger: the review at seq %" PRIu64 " does not count: %s\n",
			seq, why);
		return 0;
	}
	if (json_object_set_new(s->seen, statement, json_integer((json_int_t)seq)) < 0)
		return -ENOMEM;
	/* The latest by its signed time decides; of two signed in the same second, the later
	 * record (records come in seq order). */
	cur = json_object_get(s->verdicts, rid);
	if (cur && num(cur, "time") > t)
		return 0;
	/* clang-format off */
	return json_object_set_new(s->verdicts, rid,
				   json_pack("{s:s, s:I, s:I}",
					     "verdict", str(rec, "verdict"),
					     "time", (json_int_t)t,
					     "seq", (json_int_t)seq)) < 0 ? -ENOMEM : 0;
	/* clang-format on */
}

/*
 * Request ID -> verdict of its review that decides (on_review()). Without a policy that
 * can be used no review can count (anyone can sign with a key of their own): then this
 * refuses, so that a queue is never shown as reviewed on signatures alone.
 */
static int load_reviews(struct cli *c, json_t **ret)
{
	struct ledger_filter rf = {.event = LEDGER_CLI_EVENT_REVIEW};
	struct review_scan s = {.c = c};
	struct policy *pol = NULL;
	_cleanup_free_ char *perr = NULL;
	int r;

	if (load_policy(c, &pol, &perr) < 0)
		return fail(c,
			    "cannot count reviews: the policy %s, which enrolls the reviewers' "
			    "keys, cannot be used:\n%s",
			    c->cfg->policy, perr ? perr : "out of memory");
	s.pol = pol;
	s.verdicts = json_object();
	s.seen = json_object();
	if (!s.verdicts || !s.seen)
		r = -ENOMEM;
	else
		r = ledger_query(c->l, &rf, on_review, &s);
	policy_unref(pol);
	json_decref(s.seen);
	if (r < 0) {
		json_decref(s.verdicts);
		return r == -ENOMEM ? fail(c, "out of memory") : read_error(c, r);
	}
	*ret = s.verdicts;
	return 0;
}

/* The record that can put a request in each state (--state STATE looks only at those). */
static const char *const state_events[LEDGER_STATE_END] = {
	[LEDGER_STATE_RECEIVED] = LEDGER_EVENT_RECEIVED,
	[LEDGER_STATE_ALLOWED] = LEDGER_EVENT_DECIDED,
	[LEDGER_STATE_DENIED] = LEDGER_EVENT_DECIDED,
	[LEDGER_STATE_NEEDS_APPROVAL] = LEDGER_EVENT_DECIDED,
	[LEDGER_STATE_ISSUED] = LEDGER_EVENT_ISSUED,
	[LEDGER_STATE_EXPIRED] = LEDGER_EVENT_EXPIRED,
	[LEDGER_STATE_CANCELLED] = LEDGER_EVENT_CANCELLED,
};

struct state_ctx {
	struct cli *c;
	enum ledger_state want;
	json_t *rows;
};

/* A candidate counts when it is its request's latest life-cycle record. */
static int on_state(void *ctx, const json_t *rec)
{
	struct state_ctx *x = ctx;
	_cleanup_(json_decrefp) json_t *story = NULL;
	const char *rid = json_string_value(json_object_get(rec, "request_id"));
	json_t *row;
	size_t at = 0;
	int r;

	if (!rid || ledger_record_state(rec) != x->want)
		return 0;
	r = ledger_request_events(x->c->l, rid, &story);
	if (r < 0)
		return r;
	if (ledger_story_state(story, &at) != x->want ||
	    num(json_array_get(story, at), "seq") != num(rec, "seq"))
		return 0;
	row = json_deep_copy(rec);
	if (!row ||
	    json_object_set_new(row, "state", json_string(ledger_state_name(x->want))) < 0 ||
	    json_array_append_new(x->rows, row) < 0)
		return -ENOMEM;
	return 0;
}

static int by_seq(const void *a, const void *b)
{
	uint64_t x = num(*(json_t *const *)a, "seq"), y = num(*(json_t *const *)b, "seq");

	return (x > y) - (x < y);
}

/*
 * --state STATE: one row per request in that state, the record that put it there, among
 * the records matching the other filters (docs/operating-ca.md).
 */
static int list_state(struct cli *c)
{
	_cleanup_(json_decrefp) json_t *rows = json_array();
	_cleanup_free_ json_t **v = NULL;
	struct state_ctx x = {.c = c, .want = c->o.state, .rows = rows};
	struct ledger_filter f = c->o.f;
	struct list_ctx lx = {.c = c};
	size_t n;
	int r;

	if (!rows)
		return fail(c, "out of memory");
	f.event = state_events[c->o.state];
	if ((r = ledger_query(c->l, &f, on_state, &x)) < 0)
		return read_error(c, r);
	if (c->o.state == LEDGER_STATE_DENIED) {
		/* Ledgers of the first version: one "denied" record per denial. */
		f.event = LEDGER_EVENT_DENIED_V1;
		if ((r = ledger_query(c->l, &f, on_state, &x)) < 0)
			return read_error(c, r);
	}
	n = json_array_size(rows);
	if (!(v = calloc(n + 1, sizeof(*v))))
		return fail(c, "out of memory");
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(rows, i);
	qsort(v, n, sizeof(*v), by_seq);
	if (c->o.json) {
		_cleanup_(json_decrefp) json_t *sorted = json_array();

		for (size_t i = 0; sorted && i < n; i++)
			if (json_array_append(sorted, v[i]) < 0)
				return fail(c, "out of memory");
		if (!sorted)
			return fail(c, "out of memory");
		json_dumpf(sorted, c->out, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', c->out);
		return 0;
	}
	print_header(c);
	for (size_t i = 0; i < n; i++)
		print_row(&lx, v[i]);
	fprintf(c->out, "%zu request%s %s\n", n, n == 1 ? "" : "s", ledger_state_name(c->o.state));
	return 0;
}

static int cmd_list(struct cli *c)
{
	_cleanup_free_ char *host = NULL;
	_cleanup_(json_decrefp) json_t *array = NULL;
	_cleanup_(json_decrefp) json_t *reviews = NULL;
	struct list_ctx x = {.c = c, .flagged = c->o.flagged};
	const char *queue = c->o.unreviewed ? "--unreviewed" : "--flagged";
	int r;

	if ((r = finish_filter(c, &host)) != 0)
		return r;
	if (c->o.unreviewed && c->o.flagged)
		return usage_error(c, "--unreviewed and --flagged are two different lists");
	if (c->o.state != LEDGER_STATE_NONE) {
		if (c->o.f.event || c->o.unreviewed || c->o.flagged)
			return usage_error(c, "--state does not combine with --event, --unreviewed "
					      "or --flagged");
		return list_state(c);
	}
	if (c->o.unreviewed || c->o.flagged) {
		/* The review queue: issuances whose request has no counted review yet; or
		 * those whose latest counted review flagged them. */
		if (c->o.f.event && strcmp(c->o.f.event, ISSUE_EVENT_ISSUED))
			return usage_error(c, "%s lists \"issued\" records only", queue);
		c->o.f.event = ISSUE_EVENT_ISSUED;
		if ((r = load_reviews(c, &reviews)) != 0)
			return r;
		x.reviews = reviews;
	}
	if (c->o.json && !(x.array = array = json_array()))
		return fail(c, "out of memory");
	if (!c->o.json)
		print_header(c);
	if ((r = ledger_query(c->l, &c->o.f, on_list, &x)) < 0)
		return read_error(c, r);
	if (c->o.json) {
		json_dumpf(array, c->out, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', c->out);
	} else if (c->o.unreviewed) {
		fprintf(c->out, "%" PRIu64 " issuance%s awaiting review\n", x.n,
			x.n == 1 ? "" : "s");
	} else if (c->o.flagged) {
		fprintf(c->out, "%" PRIu64 " issuance%s flagged by review\n", x.n,
			x.n == 1 ? "" : "s");
	}
	return 0;
}

static int on_export(void *ctx, const json_t *rec)
{
	struct cli *c = ctx;

	if (json_dumpf(rec, c->out, DUMP_FLAGS) < 0 || fputc('\n', c->out) == EOF)
		return -EIO;
	return 0;
}

static int cmd_export(struct cli *c)
{
	_cleanup_free_ char *host = NULL;
	int r;

	if ((r = finish_filter(c, &host)) != 0)
		return r;
	if ((r = ledger_query(c->l, &c->o.f, on_export, c)) < 0)
		return r == -EIO ? fail(c, "cannot write the export: %s", strerror(EIO))
				 : read_error(c, r);
	return 0;
}

/* ---- show ------------------------------------------------------------------------------- */

/*
 * The records of one request, found by serial or request ID: every record carrying its
 * request_id (the serial's issuance names it), in seq order. A serial never issued: the
 * records that carry it.
 */
static int find_story(struct ledger *l, const char *target, json_t **ret_events,
		      json_t **ret_target)
{
	_cleanup_(json_decrefp) json_t *events = NULL;
	_cleanup_(json_decrefp) json_t *tj = NULL;
	uint64_t serial;
	const char *rid;
	int r;

	if (request_id_valid(target)) {
		r = ledger_request_events(l, target, &events);
		tj = json_string(target);
	} else if (parse_u64(target, &serial) == 0 && serial > 0 && serial <= INT64_MAX) {
		_cleanup_(json_decrefp) json_t *issued = NULL;

		r = serial_issuance(l, serial, &issued);
		rid = json_string_value(json_object_get(issued, "request_id"));
		if (r == 0 && rid)
			r = ledger_request_events(l, rid, &events);
		else if (r == 0 || r == JIT_E_NOT_FOUND)
			r = ledger_serial_events(l, serial, &events);
		tj = json_integer((json_int_t)serial);
	} else {
		return -EINVAL;
	}
	if (r < 0)
		return r;
	if (!tj)
		return -ENOMEM;
	*ret_events = TAKE_PTR(events);
	if (ret_target)
		*ret_target = TAKE_PTR(tj);
	return 0;
}

static void show_options(struct cli *c, const char *what, const json_t *obj)
{
	const char *k;
	json_t *v;

	if (!json_object_size(obj))
		return;
	fprintf(c->out, "      %s:", what);
	json_object_foreach((json_t *)obj, k, v)
	{
		const char *s = safe(json_string_value(v));

		fprintf(c->out, " %s%s%s", safe(k), *s ? "=" : "", s);
	}
	fputc('\n', c->out);
}

static void show_review(struct cli *c, const json_t *rec, const struct policy *pol)
{
	_cleanup_(key_freep) struct key *k = NULL;
	_cleanup_free_ char *rid = NULL;
	const struct key *const *keys;
	const char *why = NULL;
	bool enrolled = false;
	char buf[256];
	size_t n;
	int r = ledger_cli_review_check(rec, &k);

	fprintf(c->out, "      %s by %s with %s: \"%s\"\n", str(rec, "verdict"),
		str(rec, "reviewer"), str(rec, "reviewer_key"), str(rec, "note"));
	if (r < 0) {
		fprintf(c->out, "      !!! signature does NOT verify: %s\n", jit_strerror(r));
		return;
	}
	if (pol && policy_user_keys(pol, str(rec, "reviewer"), &keys, &n) == 0)
		for (size_t i = 0; i < n; i++)
			enrolled = enrolled || key_equal_public(keys[i], k);
	fprintf(c->out, "      signature verified%s\n",
		!pol	   ? "; the current policy cannot be used, so whether the key is enrolled "
			     "for the reviewer is unknown"
		: enrolled ? "; the key is enrolled for the reviewer in the current policy"
			   : "; the key is NOT enrolled for the reviewer in the current policy");
	/* The rest of what makes a review count (list --unreviewed). */
	r = review_assess(c, rec, NULL, &rid, &why, buf, sizeof(buf));
	if (r < 0)
		fprintf(c->out, "      cannot tell whether it counts: %s\n", jit_strerror(r));
	else if (why)
		fprintf(c->out, "      !!! it does NOT count: %s\n", why);
}

static void show_record(struct cli *c, const json_t *rec, const struct policy *pol)
{
	char t[32], t2[32];
	const json_t *v;
	size_t i;

	fprintf(c->out, "  %s  seq %-6" PRIu64 " %s\n", fmt_time(num(rec, "time"), t),
		num(rec, "seq"), str(rec, "event"));
	if (event_is(rec, ISSUE_EVENT_RECEIVED)) {
		fprintf(c->out,
			"      %s asks to be %s on %s for %" PRIu64 " s (0 = the rule's "
			"default)\n",
			str(rec, "user"), str(rec, "login"), str(rec, "host"),
			num(rec, "ttl_seconds"));
		fprintf(c->out, "      reason: \"%s\"\n", str(rec, "reason"));
		fprintf(c->out, "      from %s, signed by %s, nonce %s\n",
			str_or_dash(rec, "client_address"), str(rec, "requesting_key"),
			str(rec, "nonce"));
	} else if (event_is(rec, ISSUE_EVENT_DECIDED)) {
		fprintf(c->out, "      %s by rule %s under policy %s\n", str(rec, "decision"),
			str_or_dash(rec, "rule"), str(rec, "policy_version"));
		fprintf(c->out, "      %s\n", str(rec, "reason"));
	} else if (event_is(rec, ISSUE_EVENT_ISSUED)) {
		fprintf(c->out, "      serial %" PRIu64 ", key ID \"%s\"\n", num(rec, "serial"),
			str(rec, "key_id"));
		fprintf(c->out, "      principals:");
		json_array_foreach(json_object_get(rec, "principals"), i, v)
		{
			fprintf(c->out, " %s", safe(json_string_value(v)));
		}
		fputc('\n', c->out);
		fprintf(c->out, "      valid %s .. %s\n", fmt_time(num(rec, "valid_after"), t),
			fmt_time(num(rec, "valid_before"), t2));
		fprintf(c->out, "      certified key %s, signed by CA %s (rule %s)\n",
			str_or_dash(rec, "certified_key"), str(rec, "ca_key"),
			str_or_dash(rec, "rule"));
		show_options(c, "critical options", json_object_get(rec, "critical_options"));
		show_options(c, "extensions", json_object_get(rec, "extensions"));
		if (num(rec, "valid_before") <= c->now)
			fprintf(c->out, "      expired at %s\n",
				fmt_time(num(rec, "valid_before"), t));
		else
			fprintf(c->out, "      expires at %s (still valid)\n",
				fmt_time(num(rec, "valid_before"), t));
	} else if (event_is(rec, LEDGER_CLI_EVENT_REVIEW)) {
		show_review(c, rec, pol);
	} else if (event_is(rec, "denied")) {
		fprintf(c->out, "      denied by rule %s: %s\n", str_or_dash(rec, "rule"),
			str(rec, "decision"));
	} else if (event_is(rec, LEDGER_EVENT_EXPIRED)) {
		fprintf(c->out, "      certificate serial %" PRIu64 " expired: valid until %s\n",
			num(rec, "serial"), fmt_time(num(rec, "valid_before"), t));
	} else if (event_is(rec, LEDGER_EVENT_CANCELLED)) {
		fprintf(c->out, "      cancelled after its \"%s\" record (seq %" PRIu64 "): %s\n",
			str(rec, "last_event"), num(rec, "received_seq"), str(rec, "reason"));
	}
}

static bool story_has_review(const json_t *events)
{
	const json_t *v;
	size_t i;

	json_array_foreach(events, i, v)
	{
		if (event_is(v, LEDGER_CLI_EVENT_REVIEW))
			return true;
	}
	return false;
}

static int cmd_show(struct cli *c)
{
	_cleanup_(json_decrefp) json_t *events = NULL;
	_cleanup_(json_decrefp) json_t *target = NULL;
	_cleanup_free_ char *perr = NULL;
	struct policy *pol = NULL;
	const json_t *rec;
	size_t i;
	int r;

	r = find_story(c->l, c->o.argv[0], &events, &target);
	if (r == -EINVAL)
		return usage_error(c, "show: '%s' is neither a serial nor a request ID",
				   c->o.argv[0]);
	if (r == JIT_E_NOT_FOUND)
		return fail(c, "no request or serial %s in the ledger", c->o.argv[0]);
	if (r < 0)
		return read_error(c, r);
	if (c->o.json) {
		json_dumpf(events, c->out, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', c->out);
		return 0;
	}
	/* The current policy, when it can be used, tells whether reviewers' keys are enrolled. */
	if (load_policy(c, &pol, &perr) < 0 && story_has_review(events))
		fprintf(c->err, "jit-ssh-ca: ledger: %s\n", perr ? perr : "out of memory");
	rec = json_array_get(events, 0);
	fprintf(c->out, "request %s: %s as %s on %s\n", str_or_dash(rec, "request_id"),
		str_or_dash(rec, "user"), str_or_dash(rec, "login"), str_or_dash(rec, "host"));
	fprintf(c->out, "  state: %s\n", ledger_state_name(ledger_story_state(events, NULL)));
	json_array_foreach(events, i, rec)
	{
		show_record(c, rec, pol);
	}
	policy_unref(pol);
	return 0;
}

/* ---- verify, backup --------------------------------------------------------------------- */

static void keys_free(struct key **keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		key_free(keys[i]);
}

/*
 * The keys trusted to sign checkpoints: --checkpoint-key FILE (the operator's choice, as
 * given), else the CA's (serve_checkpoint_keys(): the CA key, from its private key file when
 * readable or else the one key of ca_key.pub, and ca_key.previous.pub; files only root or
 * the CA's user can change). @ret_error: a new message naming the file and the problem.
 */
static int checkpoint_keys(struct cli *c, struct key **keys, size_t *ret_n, char **ret_error)
{
	const char *from = c->o.checkpoint_key;
	int r;

	if (!from)
		return serve_checkpoint_keys(c->cfg->ca_key, NULL, keys, ret_n, ret_error);
	r = serve_read_public_keys(from, keys, CHECKPOINT_KEYS_MAX, ret_n);
	if (r < 0 && asprintf(ret_error, "cannot read the checkpoint keys %s: %s", from,
			      jit_strerror(r)) < 0)
		*ret_error = NULL;
	return r;
}

struct review_verify {
	uint64_t bad_seq;
	char error[LEDGER_ERROR_MAX];
};

static int on_review_verify(void *ctx, const json_t *rec)
{
	struct review_verify *v = ctx;
	int r = ledger_cli_review_check(rec, NULL);

	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		v->bad_seq = num(rec, "seq");
		snprintf(v->error, sizeof(v->error),
			 "seq %" PRIu64 ": the review's signature does not verify (%s)", v->bad_seq,
			 jit_strerror(r));
		return 1; /* stop at the first */
	}
	return 0;
}

/* The first review record whose signature does not verify, before seq @before (0: any). */
static int first_bad_review(struct cli *c, uint64_t before, struct review_verify *ret)
{
	struct ledger_filter f = {.event = LEDGER_CLI_EVENT_REVIEW};
	int r;

	*ret = (struct review_verify){0};
	r = ledger_query(c->l, &f, on_review_verify, ret);
	if (r < 0)
		return r;
	if (before && ret->bad_seq >= before)
		*ret = (struct review_verify){0};
	return 0;
}

static int cmd_verify(struct cli *c)
{
	struct key *keys[CHECKPOINT_KEYS_MAX];
	struct ledger_verify_result res = {0};
	struct review_verify rv;
	_cleanup_free_ char *err = NULL;
	char t[32];
	size_t n = 0;
	int r, rr;

	if ((r = checkpoint_keys(c, keys, &n, &err)) < 0)
		return fail(c, "%s", err ? err : jit_strerror(r));
	r = ledger_verify2(c->l, (const struct key *const *)keys, n, &res);
	keys_free(keys, n);
	if (r < 0 && r != JIT_E_LEDGER_CORRUPT)
		return fail(c, "cannot verify the ledger %s: %s", c->cfg->ledger, jit_strerror(r));
	/* A review is a signed record: a forged one is a broken record too. On a broken chain
	 * the review index may be broken as well; then the chain's error stands. */
	rr = first_bad_review(c, r == JIT_E_LEDGER_CORRUPT ? res.bad_seq : 0, &rv);
	if (rr == -ENOMEM)
		return fail(c, "out of memory");
	if (rr == 0 && rv.bad_seq) {
		fprintf(c->out, "ledger NOT intact: first bad record: %s\n", rv.error);
		return 1;
	}
	if (r == JIT_E_LEDGER_CORRUPT) {
		fprintf(c->out, "ledger NOT intact: first bad record: %s\n", res.error);
		return 1;
	}
	if (rr < 0)
		return fail(c, "cannot read the review records: %s", jit_strerror(rr));
	fprintf(c->out, "ledger intact: %" PRIu64 " records, %" PRIu64 " checkpoint%s verified",
		res.records, res.checkpoints, res.checkpoints == 1 ? "" : "s");
	if (res.checkpoints)
		fprintf(c->out, " (last: seq %" PRIu64 " at %s, signed by %s)",
			res.last_checkpoint.seq, fmt_time(res.last_checkpoint.time, t),
			res.last_checkpoint.signer);
	fprintf(c->out, "; %" PRIu64 " record%s after the last checkpoint\n", res.unsigned_records,
		res.unsigned_records == 1 ? "" : "s");
	return 0;
}

static int cmd_backup(struct cli *c)
{
	struct ledger_options ro = {.read_only = 1};
	struct ledger_verify_result res = {0};
	struct key *keys[CHECKPOINT_KEYS_MAX];
	_cleanup_free_ char *err = NULL;
	struct ledger *copy = NULL;
	const char *dest;
	size_t n = 0;
	int r;

	dest = c->o.argv[0];
	/*
	 * The copy's checkpoints must be the CA's, as `verify` checks them. Keys that cannot
	 * be read at all leave the copy checked for any signer (said so); a key file that
	 * cannot be trusted, or is malformed, stops the backup before anything is written.
	 */
	r = checkpoint_keys(c, keys, &n, &err);
	if (r == -ENOENT || r == -EACCES) {
		fprintf(c->err,
			"jit-ssh-ca: ledger: %s: the copy's checkpoints are checked for any "
			"signer\n",
			err ? err : jit_strerror(r));
		n = 0;
	} else if (r < 0) {
		return fail(c, "%s; no backup written", err ? err : jit_strerror(r));
	}
	if ((r = ledger_backup(c->l, dest)) < 0) {
		keys_free(keys, n);
		return fail(c, "cannot back the ledger up to %s: %s", dest, jit_strerror(r));
	}
	if ((r = ledger_open(dest, &ro, &copy)) == 0)
		r = ledger_verify2(copy, n ? (const struct key *const *)keys : NULL, n, &res);
	keys_free(keys, n);
	ledger_close(copy);
	if (r == JIT_E_LEDGER_CORRUPT)
		return fail(c, "the copy in %s does NOT verify: %s", dest, res.error);
	if (r < 0)
		return fail(c, "cannot verify the copy in %s: %s", dest, jit_strerror(r));
	fprintf(c->out, "backup written to %s/data.mdb: %" PRIu64 " records, chain intact%s\n",
		dest, res.records, n ? ", checkpoints by the CA key" : "");
	return 0;
}

static int cmd_sweep(struct cli *c)
{
	struct ledger_sweep_result res = {0};
	uint64_t grace = c->o.seen & BIT(O_GRACE) ? c->o.grace_sec : serve_sweep_grace_sec(c->cfg);
	int r = ledger_sweep(c->l, c->now, grace, &res);

	if (r < 0)
		return fail(c, "cannot sweep the ledger %s: %s", c->cfg->ledger, jit_strerror(r));
	fprintf(c->out,
		"ledger swept: %" PRIu64 " certificate%s expired, %" PRIu64 " request%s cancelled "
		"(received over %" PRIu64 " s ago and never answered)\n",
		res.expired, res.expired == 1 ? "" : "s", res.cancelled,
		res.cancelled == 1 ? "" : "s", grace);
	return 0;
}

/* ---- correlate -------------------------------------------------------------------------- */

struct corr {
	struct cli *c;
	uint64_t logins, joined, unknown, refused, malformed;
};

static const json_t *find_event(const json_t *events, const char *name)
{
	const json_t *v, *found = NULL;
	size_t i;

	json_array_foreach(events, i, v)
	{
		if (event_is(v, name))
			found = v;
	}
	return found;
}

/* Where the login's certificate disagrees with the issuance on record, or NULL. */
static const char *mismatch(const struct correlate_login *e, const json_t *issued)
{
	const char *ca = str(issued, "ca_key"), *ck = str(issued, "certified_key");

	if (e->ca_fingerprint && *ca && strcmp(e->ca_fingerprint, ca))
		return "signed by another CA key than the one on record";
	if (e->key_fingerprint && *ck && strcmp(e->key_fingerprint, ck))
		return "certifies another key than the one on record";
	if (e->key_id && strcmp(e->key_id, str(issued, "key_id")))
		return "carries another key ID than the one on record";
	if (e->login && !e->invalid_user && strcmp(e->login, str(issued, "login")))
		return "used for another login than the one issued";
	return NULL;
}

static void corr_where(struct corr *x, const struct correlate_login *e)
{
	char t[32];

	fprintf(x->c->out, "%s host=%s pid=%" PRIu32 " login=%s from=%s serial=%" PRIu64,
		e->time	       ? fmt_time(e->time, t)
		: e->time_text ? e->time_text
			       : "-",
		e->host ? e->host : "-", e->pid, e->login ? e->login : "-",
		e->from_addr ? e->from_addr : "-", e->serial);
}

static void corr_story(struct corr *x, const json_t *events)
{
	const json_t *rec = find_event(events, ISSUE_EVENT_RECEIVED);
	const json_t *dec = find_event(events, ISSUE_EVENT_DECIDED);
	const json_t *iss = find_event(events, ISSUE_EVENT_ISSUED);
	const json_t *v;
	char t[32], t2[32];
	bool approvers = false;
	size_t i;

	fprintf(x->c->out, "    who:      %s, request %s at %s from %s\n", str_or_dash(iss, "user"),
		str_or_dash(iss, "request_id"), fmt_time(num(rec ? rec : iss, "time"), t),
		str_or_dash(rec, "client_address"));
	fprintf(x->c->out, "    why:      \"%s\"\n", str(rec ? rec : iss, "reason"));
	fprintf(x->c->out, "    decided:  %s by rule %s (policy %s)\n",
		dec ? str(dec, "decision") : "allowed", str_or_dash(iss, "rule"),
		str_or_dash(iss, "policy_version"));
	fprintf(x->c->out, "    valid:    %s .. %s\n", fmt_time(num(iss, "valid_after"), t),
		fmt_time(num(iss, "valid_before"), t2));
	fprintf(x->c->out, "    approved: ");
	json_array_foreach(events, i, v)
	{
		if (*str(v, "approver")) {
			fprintf(x->c->out, "%s%s", approvers ? ", " : "", str(v, "approver"));
			approvers = true;
		}
	}
	fprintf(x->c->out, "%s\n", approvers ? "" : "no approval was required");
}

static void corr_event(struct corr *x, const struct correlate_login *e)
{
	_cleanup_(json_decrefp) json_t *events = NULL;
	const json_t *issued = NULL;
	const char *bad = NULL;
	int r;

	if (e->kind == CORRELATE_REFUSED) {
		x->refused++;
		fprintf(x->c->out, "refused ");
		corr_where(x, e);
		fprintf(x->c->out, " key_id=\"%s\": %s\n", e->key_id ? e->key_id : "",
			e->detail ? e->detail : "(no reason logged)");
		return;
	}
	if (e->kind != CORRELATE_ACCEPTED)
		return;
	x->logins++;
	r = e->has_serial && e->serial <= INT64_MAX && e->serial > 0
		    ? ledger_serial_events(x->c->l, e->serial, &events)
		    : JIT_E_NOT_FOUND;
	if (r == 0)
		issued = find_event(events, ISSUE_EVENT_ISSUED);
	if (issued)
		bad = mismatch(e, issued);
	if (r < 0 && r != JIT_E_NOT_FOUND) {
		fprintf(x->c->err, "jit-ssh-ca: ledger: cannot look up serial %" PRIu64 ": %s\n",
			e->serial, jit_strerror(r));
	}
	if (!issued || bad) {
		x->unknown++;
		fprintf(x->c->out, "!!! UNKNOWN CERTIFICATE LOGIN ");
		corr_where(x, e);
		fprintf(x->c->out, " key_id=\"%s\" ca=%s\n", e->key_id ? e->key_id : "",
			e->ca_fingerprint ? e->ca_fingerprint : "-");
		fprintf(x->c->out, "    !!! %s\n",
			bad ? bad : "the ledger has no certificate with this serial");
		return;
	}
	x->joined++;
	fprintf(x->c->out, "login ");
	corr_where(x, e);
	fputc('\n', x->c->out);
	/* The whole story: the request's records, not only those with the serial. */
	if (*str(issued, "request_id")) {
		_cleanup_(json_decrefp) json_t *story = NULL;

		if (ledger_request_events(x->c->l, str(issued, "request_id"), &story) == 0) {
			corr_story(x, story);
			return;
		}
	}
	corr_story(x, events);
}

static int corr_drain(struct corr *x, struct correlate_stream *s)
{
	struct correlate_login *e;
	int r;

	while ((r = correlate_stream_next(s, &e)) == 0) {
		corr_event(x, e);
		correlate_login_free(e);
	}
	return r == JIT_E_NOT_FOUND ? 0 : r;
}

static int cmd_correlate(struct cli *c)
{
	_cleanup_free_ char *line = NULL;
	struct correlate_stream *s = NULL;
	struct corr x = {.c = c};
	const char *path;
	size_t cap = 0;
	ssize_t len;
	FILE *in;
	int r = 0;

	path = c->o.argv[0];
	in = strcmp(path, "-") ? fopen(path, "re") : stdin;
	if (!in)
		return fail(c, "cannot open %s: %s", path, strerror(errno));
	if ((r = correlate_stream_new(&s)) < 0) {
		if (in != stdin)
			fclose(in);
		return fail(c, "out of memory");
	}
	while (r == 0 && (len = getline(&line, &cap, in)) >= 0) {
		r = correlate_stream_feed(s, line, (size_t)len, c->now);
		if (r == JIT_E_FORMAT || r == JIT_E_TOO_LARGE) {
			x.malformed++;
			r = 0;
		}
		if (r == 0)
			r = corr_drain(&x, s);
	}
	if (r == 0 && ferror(in))
		r = -EIO;
	if (r == 0 && (r = correlate_stream_flush(s)) == 0)
		r = corr_drain(&x, s);
	if (in != stdin)
		fclose(in);
	correlate_stream_free(s);
	if (r < 0)
		return fail(c, "reading %s: %s", path, jit_strerror(r));
	fprintf(c->out,
		"%" PRIu64 " certificate login%s: %" PRIu64 " joined with the ledger, %" PRIu64
		" NOT in the ledger; %" PRIu64 " refused certificate%s; %" PRIu64
		" malformed line%s skipped\n",
		x.logins, x.logins == 1 ? "" : "s", x.joined, x.unknown, x.refused,
		x.refused == 1 ? "" : "s", x.malformed, x.malformed == 1 ? "" : "s");
	if (x.unknown)
		fprintf(c->err,
			"jit-ssh-ca: ledger: %" PRIu64 " login%s with a certificate this ledger "
			"did not issue: investigate\n",
			x.unknown, x.unknown == 1 ? "" : "s");
	return x.unknown ? 1 : 0;
}

/* ---- review ----------------------------------------------------------------------------- */

int ledger_cli_review_message(const json_t *target, const char *verdict, const char *note,
			      const char *reviewer, uint64_t time, char **ret)
{
	_cleanup_(json_decrefp) json_t *o = NULL;
	char *text;

	if (!target || !verdict || !note || !reviewer || time > INT64_MAX)
		return -EINVAL;
	/* clang-format off */
	o = json_pack("{s:O, s:s, s:s, s:s, s:I}",
		      "target", target,
		      "verdict", verdict,
		      "note", note,
		      "reviewer", reviewer,
		      "time", (json_int_t)time);
	/* clang-format on */
	if (!o || !(text = json_dumps(o, DUMP_FLAGS)))
		return -ENOMEM;
	*ret = text;
	return 0;
}

/* @target (a serial or a request ID) names @record's own "serial" or "request_id". */
static bool target_is_record(const json_t *target, const json_t *record)
{
	const json_t *serial = json_object_get(record, "serial");
	const json_t *rid = json_object_get(record, "request_id");

	if (json_is_integer(target))
		return json_is_integer(serial) &&
		       json_integer_value(serial) == json_integer_value(target);
	return json_is_string(target) && json_is_string(rid) &&
	       !strcmp(json_string_value(target), json_string_value(rid));
}

int ledger_cli_review_check(const json_t *record, struct key **ret_key)
{
	_cleanup_free_ char *msg = NULL;
	_cleanup_free_ char *fp = NULL;
	_cleanup_free_ uint8_t *blob = NULL;
	_cleanup_(key_freep) struct key *k = NULL;
	const char *sig = json_string_value(json_object_get(record, "signature"));
	const char *want = json_string_value(json_object_get(record, "reviewer_key"));
	const json_t *time = json_object_get(record, "time");
	size_t len;
	int r;

	if (!sig || !want || !json_is_integer(time) || json_integer_value(time) < 0)
		return JIT_E_FORMAT;
	r = ledger_cli_review_message(json_object_get(record, "target"),
				      json_string_value(json_object_get(record, "verdict")),
				      json_string_value(json_object_get(record, "note")),
				      json_string_value(json_object_get(record, "reviewer")),
				      (uint64_t)json_integer_value(time), &msg);
	if (r == -EINVAL)
		return JIT_E_FORMAT;
	if (r < 0)
		return r;
	if ((r = sig_dearmor(sig, strlen(sig), &blob, &len)) < 0 ||
	    (r = sig_verify(blob, len, LEDGER_CLI_REVIEW_NAMESPACE, (const uint8_t *)msg,
			    strlen(msg), &k)) < 0 ||
	    (r = key_fingerprint(k, &fp)) < 0)
		return r;
	if (strcmp(fp, want))
		return JIT_E_SIGNATURE;
	/* The signed target must be the record's own: a review copied onto another request's
	 * record proves nothing about that one. */
	if (!target_is_record(json_object_get(record, "target"), record))
		return JIT_E_SIGNATURE;
	if (ret_key)
		*ret_key = TAKE_PTR(k);
	return 0;
}

static bool key_enrolled(const struct key *const *keys, size_t n, const struct key *k)
{
	for (size_t i = 0; i < n; i++)
		if (key_equal_public(keys[i], k))
			return true;
	return false;
}

struct review_signer {
	struct key *file_key; /* -i */
	struct agentc *agent; /* or the agent's */
	struct agent_identity *ids;
	size_t n_ids;
	struct signer s;
};

static void review_signer_done(struct review_signer *rs)
{
	key_free(rs->file_key);
	agentc_identities_free(rs->ids, rs->n_ids);
	agentc_close(rs->agent);
}

/* The reviewer's enrolled key: from -i KEYFILE, or the first enrolled one in ssh-agent. */
static int review_signer(struct cli *c, const struct key *const *keys, size_t n,
			 struct review_signer *rs)
{
	int r;

	if (c->o.identity) {
		if ((r = key_load_private(c->o.identity, true, &rs->file_key)) < 0)
			return fail(c, "cannot load the key %s: %s%s", c->o.identity,
				    jit_strerror(r),
				    r == JIT_E_PASSPHRASE ? " (add it to ssh-agent instead)" : "");
		if (!key_enrolled(keys, n, rs->file_key))
			return fail(c, "the key %s is not enrolled for the reviewer",
				    c->o.identity);
		rs->s = key_signer(rs->file_key);
		return 0;
	}
	if ((r = agentc_open(NULL, &rs->agent)) < 0 ||
	    (r = agentc_list(rs->agent, &rs->ids, &rs->n_ids)) < 0)
		return fail(c, "cannot use ssh-agent: %s (or give -i KEYFILE)", jit_strerror(r));
	for (size_t i = 0; i < rs->n_ids; i++)
		if (rs->ids[i].key && key_enrolled(keys, n, rs->ids[i].key)) {
			rs->s = agentc_signer(rs->agent, rs->ids[i].key);
			return 0;
		}
	return fail(c, "ssh-agent holds no key enrolled for the reviewer (or give -i KEYFILE)");
}

static bool note_valid(const char *s)
{
	return strlen(s) <= LEDGER_CLI_NOTE_MAX && request_text_safe(s);
}

/* The review record for @story, signed by @s. */
static int review_record(struct cli *c, const char *reviewer, const json_t *story,
			 const json_t *target, const struct signer *s, json_t **ret)
{
	_cleanup_(json_decrefp) json_t *rec = NULL;
	_cleanup_free_ char *msg = NULL;
	_cleanup_free_ char *fp = NULL;
	_cleanup_free_ char *armored = NULL;
	_cleanup_free_ uint8_t *blob = NULL;
	const json_t *first = json_array_get(story, 0);
	const json_t *issued = find_event(story, ISSUE_EVENT_ISSUED);
	const char *verdict = c->o.ok ? "ok" : "flag";
	size_t len;
	int r;

	if ((r = ledger_cli_review_message(target, verdict, c->o.note, reviewer, c->now, &msg)) <
		    0 ||
	    (r = sig_sign(s, LEDGER_CLI_REVIEW_NAMESPACE, (const uint8_t *)msg, strlen(msg), NULL,
			  &blob, &len)) < 0 ||
	    (r = sig_armor(blob, len, &armored)) < 0 || (r = key_fingerprint(s->pub, &fp)) < 0)
		return r;
	/* clang-format off */
	rec = json_pack("{s:s, s:I, s:O?, s:O?, s:O?, s:O?, s:O, s:s, s:s, s:s, s:s, s:s}",
			"event", LEDGER_CLI_EVENT_REVIEW,
			"time", (json_int_t)c->now,
			"request_id", json_object_get(first, "request_id"),
			"user", json_object_get(first, "user"),
			"host", json_object_get(first, "host"),
			"login", json_object_get(first, "login"),
			"target", target,
			"verdict", verdict,
			"note", c->o.note,
			"reviewer", reviewer,
			"reviewer_key", fp,
			"signature", armored);
	/* clang-format on */
	if (!rec || (issued && json_object_set(rec, "serial", json_object_get(issued, "serial"))))
		return -ENOMEM;
	*ret = TAKE_PTR(rec);
	return 0;
}

static int cmd_review(struct cli *c)
{
	_cleanup_(json_decrefp) json_t *story = NULL;
	_cleanup_(json_decrefp) json_t *target = NULL;
	_cleanup_(json_decrefp) json_t *rec = NULL;
	_cleanup_free_ char *err = NULL;
	struct review_signer rs = {0};
	struct policy *pol = NULL;
	const struct key *const *keys;
	const char *reviewer = c->o.reviewer ? c->o.reviewer : getenv("USER");
	uint64_t seq = 0;
	size_t n;
	int r;

	if (!reviewer || !name_user_valid(reviewer))
		return usage_error(c, "the reviewer's name is missing or unsafe (--reviewer NAME)");
	if ((r = load_policy(c, &pol, &err)) < 0)
		return fail(c, "cannot use the policy %s:\n%s", c->cfg->policy,
			    err ? err : "out of memory");
	r = policy_user_keys(pol, reviewer, &keys, &n);
	if (r < 0) {
		policy_unref(pol);
		return fail(c, "reviewer '%s' is not an enrolled, enabled user of the policy",
			    reviewer);
	}
	r = find_story(c->l, c->o.argv[0], &story, &target);
	if (r == -EINVAL)
		r = usage_error(c, "review: '%s' is neither a serial nor a request ID",
				c->o.argv[0]);
	else if (r == JIT_E_NOT_FOUND)
		r = fail(c, "no request or serial %s in the ledger", c->o.argv[0]);
	else if (r < 0)
		r = read_error(c, r);
	else if (is_requester(story, reviewer, NULL))
		r = fail(c, "'%s' asked for this access and cannot review it", reviewer);
	else if ((r = review_signer(c, keys, n, &rs)) == 0 &&
		 (r = review_record(c, reviewer, story, target, &rs.s, &rec)) < 0)
		r = fail(c, "cannot sign the review: %s", jit_strerror(r));
	if (r == 0 && (r = ledger_append(c->l, rec, &seq)) < 0)
		r = fail(c, "cannot record the review: %s", jit_strerror(r));
	review_signer_done(&rs);
	policy_unref(pol);
	if (r != 0)
		return r;
	fprintf(c->out, "review recorded: seq %" PRIu64 ", %s for %s by %s (%s)\n", seq,
		str(rec, "verdict"), c->o.argv[0], reviewer, str(rec, "reviewer_key"));
	return 0;
}

/* ---- dispatch --------------------------------------------------------------------------- */

/* Usage checks that need neither the config nor the ledger. */
static int check_review_usage(struct cli *c)
{
	if (c->o.ok == c->o.flag)
		return usage_error(c, "review needs exactly one of --ok and --flag");
	if (!c->o.note)
		return usage_error(c, "review needs --note TEXT");
	if (!note_valid(c->o.note))
		return usage_error(c,
				   "--note: at most %d bytes of UTF-8, no control, invisible or "
				   "text-direction characters",
				   LEDGER_CLI_NOTE_MAX);
	return 0;
}

static int check_export_usage(struct cli *c)
{
	if (!c->o.format || strcmp(c->o.format, "jsonl"))
		return usage_error(c, "export needs --format jsonl (the only format)");
	return 0;
}

static const struct {
	const char *name;
	int (*run)(struct cli *c);
	int (*check)(struct cli *c);
	uint32_t allowed;
	int operands;
	bool writable;
} commands[] = {
	{"list", cmd_list, NULL,
	 FILTERS | BIT(O_UNREVIEWED) | BIT(O_FLAGGED) | BIT(O_STATE) | BIT(O_JSON), 0, false},
	{"show", cmd_show, NULL, BIT(O_JSON), 1, false},
	{"verify", cmd_verify, NULL, BIT(O_CHECKPOINT_KEY), 0, false},
	{"export", cmd_export, check_export_usage, FILTERS | BIT(O_FORMAT), 0, false},
	{"correlate", cmd_correlate, NULL, 0, 1, false},
	{"review", cmd_review, check_review_usage,
	 BIT(O_OK) | BIT(O_FLAG) | BIT(O_NOTE) | BIT(O_IDENTITY) | BIT(O_REVIEWER), 1, true},
	{"backup", cmd_backup, NULL, 0, 1, false},
	{"sweep", cmd_sweep, NULL, BIT(O_GRACE), 0, true},
};

int ledger_cli_main(int argc, char **argv, FILE *out, FILE *err)
{
	struct cli c = {.out = out, .err = err, .now = (uint64_t)time(NULL)};
	const char *sub;
	int r;

	/* Options may come before or after the subcommand: it is the first operand. */
	r = parse_options(&c, argc, argv);
	if (r != 0)
		return r < 0 ? 0 : r;
	if (c.o.argc == 0)
		return usage_error(&c, "missing subcommand (list, show, verify, export, "
				       "correlate, review, backup or sweep)");
	sub = c.o.argv[0];
	c.o.argc--;
	c.o.argv++;
	for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
		if (strcmp(sub, commands[i].name))
			continue;
		r = only(&c, sub, commands[i].allowed, commands[i].operands);
		if (r == 0 && commands[i].check)
			r = commands[i].check(&c);
		if (r == 0)
			r = open_config(&c);
		if (r == 0)
			r = open_ledger(&c, commands[i].writable);
		if (r == 0)
			r = commands[i].run(&c);
		fflush(out);
		ledger_close(c.l);
		config_free(c.cfg);
		return r;
	}
	return usage_error(&c, "unknown subcommand '%s'", sub);
}
