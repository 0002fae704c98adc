/* SPDX-License-Identifier: ISC */
/*
 * test_ledger_cli.c - `jit-ssh-ca ledger ...` (ledger_cli.h) against a real ledger written by
 * issue_request() in a temporary state directory: time arguments, the review message and
 * its signature check, list with filters, --state, --unreviewed and --flagged, export, show,
 * verify (chain, checkpoint keys, review signatures), backup, sweep, and review (who may
 * review, what is recorded, that the signature verifies, which reviews count).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "err.h"
#include "issue.h"
#include "key.h"
#include "ledger.h"
#include "ledger_cli.h"
#include "policy.h"
#include "request.h"
#include "serve.h"
#include "sig.h"

#define NOW 1700000000ull
#define ALLOWED_ID "00112233445566778899aabbccddeeff"
#define DENIED_ID "ffeeddccbbaa99887766554433221100"
#define OPEN_ID "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"

struct fixture {
	char dir[64];
	char path[128];
	struct key *ca, *alice, *bob, *session;
	char *out, *err;
	uint64_t serial;
};

static char *in_dir(struct fixture *f, const char *name)
{
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
	return f->path;
}

static void write_text(struct fixture *f, const char *name, const char *text)
{
	FILE *fp = fopen(in_dir(f, name), "w");

	assert_non_null(fp);
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
	/* The tools trust only files nobody else can change, whatever the umask. */
	assert_int_equal(chmod(f->path, 0644), 0);
}

static char *key_line(const struct key *k)
{
	char *line = NULL;

	assert_int_equal(key_to_line(k, NULL, &line), 0);
	return line;
}

static void record_requests(struct fixture *f)
{
	struct ledger *l = NULL;
	struct policy *p = NULL;
	struct signer s = key_signer(f->ca);
	char *ca_fp = NULL;
	json_t *body = NULL;
	uint64_t seq;
	struct request q = {
		.user = "alice",
		.host = "web-1",
		.login = "alice",
		.public_key = f->session,
		.reason = "INC-7",
		.timestamp = NOW,
		.nonce = "0123456789abcdef",
	};
	struct issue_input in = {
		.req = &q,
		.request_id = ALLOWED_ID,
		.user_key_fp = "SHA256:alice",
		.client_addr = "192.0.2.7",
		.now = NOW,
	};
	struct request_error e;

	assert_int_equal(ledger_open(in_dir(f, "ledger"), NULL, &l), 0);
	assert_int_equal(policy_load_file(in_dir(f, "policy.yaml"), &p, NULL), 0);
	assert_int_equal(key_fingerprint(f->ca, &ca_fp), 0);
	struct issue_ctx ctx = {
		.policy = p,
		.ledger = l,
		.ca = &s,
		.ca_fingerprint = ca_fp,
		.skew_sec = 60,
		.max_ttl_sec = 3600,
	};
	assert_int_equal(issue_request(&ctx, &in, &seq, &body, &e), 0);
	f->serial = (uint64_t)json_integer_value(json_object_get(body, "serial"));
	json_decref(body);
	q.login = "root";
	in.request_id = DENIED_ID;
	in.now = NOW + 7200;
	assert_int_equal(issue_request(&ctx, &in, &seq, &body, &e), 0);
	assert_string_equal(json_string_value(json_object_get(body, "state")), "denied");
	json_decref(body);
	free(ca_fp);
	policy_unref(p);
	ledger_close(l);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char *ca_line, *alice_line, *bob_line, *carol_line, *text = NULL;

	assert_non_null(f);
	strcpy(f->dir, "/tmp/jit-ca-lcli-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(key_generate(KEY_ED25519, 0, &f->ca), 0);
	assert_int_equal(key_generate(KEY_ED25519, 0, &f->alice), 0);
	assert_int_equal(key_generate(KEY_ED25519, 0, &f->bob), 0);
	assert_int_equal(key_generate(KEY_ED25519, 0, &f->session), 0);
	assert_int_equal(key_write_private(f->ca, NULL, in_dir(f, "ca_key")), 0);
	assert_int_equal(key_write_private(f->bob, NULL, in_dir(f, "bob_key")), 0);
	assert_int_equal(key_write_private(f->alice, NULL, in_dir(f, "alice_key")), 0);
	ca_line = key_line(f->ca);
	alice_line = key_line(f->alice);
	bob_line = key_line(f->bob);
	carol_line = key_line(f->session);
	assert_true(asprintf(&text, "%s\n", ca_line) > 0);
	write_text(f, "ca_key.pub", text);
	free(text);
	assert_true(asprintf(&text,
			     "version: 1\n"
			     "users:\n"
			     "  alice:\n    keys: [\"%s\"]\n"
			     "  bob:\n    keys: [\"%s\"]\n"
			     "  carol:\n    disabled: true\n    keys: [\"%s\"]\n"
			     "rules:\n"
			     "  - name: self\n    users: [alice]\n    hosts: [\"*\"]\n"
			     "    logins: [\"${user}\"]\n",
			     alice_line, bob_line, carol_line) > 0);
	write_text(f, "policy.yaml", text);
	free(text);
	write_text(f, "config.yaml", "ca_key: ca_key\npolicy: policy.yaml\nledger: ledger\n");
	assert_int_equal(mkdir(in_dir(f, "ledger"), 0700), 0);
	free(ca_line);
	free(alice_line);
	free(bob_line);
	free(carol_line);
	record_requests(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	key_free(f->ca);
	key_free(f->alice);
	key_free(f->bob);
	key_free(f->session);
	free(f->out);
	free(f->err);
	free(f);
	return 0;
}

/* Run `jit-ssh-ca ledger WORDS... --config DIR/config.yaml`; output in f->out, f->err. */
static int run(struct fixture *f, ...)
{
	char *argv[32] = {"ledger"};
	char config[128];
	size_t olen, elen;
	FILE *out, *err;
	va_list ap;
	int argc = 1, r;

	free(f->out);
	free(f->err);
	va_start(ap, f);
	for (const char *w; (w = va_arg(ap, const char *));)
		argv[argc++] = (char *)w;
	va_end(ap);
	snprintf(config, sizeof(config), "%s/config.yaml", f->dir);
	argv[argc++] = "--config";
	argv[argc++] = config;
	out = open_memstream(&f->out, &olen);
	err = open_memstream(&f->err, &elen);
	assert_non_null(out);
	assert_non_null(err);
	r = ledger_cli_main(argc, argv, out, err);
	fclose(out);
	fclose(err);
	return r;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void assert_contains(const char *text, const char *want)
{
	if (!strstr(text, want))
		fail_msg("'%s' not found in:\n%s", want, text);
}

static void test_times_are_read_in_every_documented_form(void **state)
{
	uint64_t t;

	(void)state;
	assert_int_equal(ledger_cli_parse_time("1700000000", NOW, false, &t), 0);
	assert_int_equal(t, 1700000000);
	assert_int_equal(ledger_cli_parse_time("2023-11-14T22:13:20Z", NOW, false, &t), 0);
	assert_int_equal(t, 1700000000);
	assert_int_equal(ledger_cli_parse_time("2023-11-14", NOW, false, &t), 0);
	assert_int_equal(t, 1699920000);
	assert_int_equal(ledger_cli_parse_time("90s", NOW, true, &t), 0);
	assert_int_equal(t, NOW - 90);
	assert_int_equal(ledger_cli_parse_time("30m", NOW, true, &t), 0);
	assert_int_equal(t, NOW - 1800);
	assert_int_equal(ledger_cli_parse_time("24h", NOW, true, &t), 0);
	assert_int_equal(t, NOW - 86400);
	assert_int_equal(ledger_cli_parse_time("7d", NOW, true, &t), 0);
	assert_int_equal(t, NOW - 7 * 86400);
	assert_int_equal(ledger_cli_parse_time("2w", NOW, true, &t), 0);
	assert_int_equal(t, NOW - 14 * 86400);
}

static void test_malformed_times_are_refused_and_leave_the_result_alone(void **state)
{
	static const char *const bad[] = {
		"",
		"h",
		"24x",
		"-5",
		"+5",
		"1.5h",
		"2023-13-01",
		"2023-11-14T22:13:20",
		"24h ",
		" 24h",
		"2023-11-14 22:13:20Z",
		"2023-11-14Tjunk",
		"999999999w",
		"99999999999999999999999",
	};
	uint64_t t = 42;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ledger_cli_parse_time(bad[i], NOW, true, &t) != -EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
	assert_int_equal(ledger_cli_parse_time("24h", NOW, false, &t), -EINVAL);
	assert_int_equal(t, 42);
}

static void test_review_message_is_the_canonical_json_of_its_five_fields(void **state)
{
	json_t *target = json_integer(17);
	char *msg = NULL;

	(void)state;
	assert_int_equal(
		ledger_cli_review_message(target, "ok", "fine \"really\"", "bob", NOW, &msg), 0);
	assert_string_equal(msg, "{\"note\":\"fine \\\"really\\\"\",\"reviewer\":\"bob\","
				 "\"target\":17,\"time\":1700000000,\"verdict\":\"ok\"}");
	free(msg);
	json_decref(target);
	assert_int_equal(ledger_cli_review_message(NULL, "ok", "", "bob", NOW, &msg), -EINVAL);
}

/* bob's review message of ALLOWED_ID (@verdict, @note) signed by @k in namespace @ns: the
 * armoured signature and @claimed's fingerprint (both new). */
static void sign_review(const struct key *k, const struct key *claimed, const char *ns,
			const char *verdict, const char *note, char **ret_armored, char **ret_fp)
{
	struct signer s = key_signer(k);
	json_t *target = json_string(ALLOWED_ID);
	char *msg = NULL;
	uint8_t *blob = NULL;
	size_t len;

	assert_int_equal(ledger_cli_review_message(target, verdict, note, "bob", NOW, &msg), 0);
	assert_int_equal(sig_sign(&s, ns, (const uint8_t *)msg, strlen(msg), NULL, &blob, &len), 0);
	assert_int_equal(sig_armor(blob, len, ret_armored), 0);
	assert_int_equal(key_fingerprint(claimed, ret_fp), 0);
	json_decref(target);
	free(msg);
	free(blob);
}

/* A review record signed by @k (claiming @claimed's fingerprint) in namespace @ns. */
static json_t *signed_review(const struct key *k, const struct key *claimed, const char *ns)
{
	json_t *target = json_string(ALLOWED_ID), *rec;
	char *armored = NULL, *fp = NULL;

	sign_review(k, claimed, ns, "flag", "odd hour", &armored, &fp);
	rec = json_pack("{s:s, s:I, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "event", "review",
			"time", (json_int_t)NOW, "target", target, "verdict", "flag", "note",
			"odd hour", "reviewer", "bob", "reviewer_key", fp, "signature", armored,
			"request_id", ALLOWED_ID, "user", "alice");
	assert_non_null(rec);
	free(armored);
	free(fp);
	return rec;
}

static void test_review_signature_by_the_named_key_verifies(void **state)
{
	struct fixture *f = *state;
	json_t *rec = signed_review(f->bob, f->bob, LEDGER_CLI_REVIEW_NAMESPACE);
	struct key *k = NULL;

	assert_int_equal(ledger_cli_review_check(rec, &k), 0);
	assert_true(key_equal_public(k, f->bob));
	key_free(k);
	json_decref(rec);
}

static void test_review_with_any_field_changed_does_not_verify(void **state)
{
	struct fixture *f = *state;
	static const char *const fields[] = {"verdict", "note", "reviewer"};

	for (size_t i = 0; i < 3; i++) {
		json_t *rec = signed_review(f->bob, f->bob, LEDGER_CLI_REVIEW_NAMESPACE);

		json_object_set_new(rec, fields[i], json_string("ok"));
		assert_int_equal(ledger_cli_review_check(rec, NULL), JIT_E_SIGNATURE);
		json_decref(rec);
	}
	json_t *rec = signed_review(f->bob, f->bob, LEDGER_CLI_REVIEW_NAMESPACE);

	json_object_set_new(rec, "time", json_integer((json_int_t)NOW + 1));
	assert_int_equal(ledger_cli_review_check(rec, NULL), JIT_E_SIGNATURE);
	json_object_set_new(rec, "time", json_integer((json_int_t)NOW));
	json_object_set_new(rec, "target", json_integer(1));
	assert_int_equal(ledger_cli_review_check(rec, NULL), JIT_E_SIGNATURE);
	json_decref(rec);
}

static void test_review_signed_by_another_key_than_named_does_not_verify(void **state)
{
	struct fixture *f = *state;
	json_t *rec = signed_review(f->alice, f->bob, LEDGER_CLI_REVIEW_NAMESPACE);

	assert_int_equal(ledger_cli_review_check(rec, NULL), JIT_E_SIGNATURE);
	json_decref(rec);
}

static void test_review_signed_in_another_namespace_does_not_verify(void **state)
{
	struct fixture *f = *state;
	json_t *rec = signed_review(f->bob, f->bob, "jit-ssh-request");

	assert_int_equal(ledger_cli_review_check(rec, NULL), JIT_E_NAMESPACE);
	json_decref(rec);
}

static void test_review_without_signature_is_malformed(void **state)
{
	struct fixture *f = *state;
	json_t *rec = signed_review(f->bob, f->bob, LEDGER_CLI_REVIEW_NAMESPACE);

	json_object_del(rec, "signature");
	assert_int_equal(ledger_cli_review_check(rec, NULL), JIT_E_FORMAT);
	json_object_set_new(rec, "signature", json_string("not armoured"));
	assert_int_equal(ledger_cli_review_check(rec, NULL), JIT_E_FORMAT);
	json_decref(rec);
}

static void test_list_filters_by_login(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "list", "--login", "root", NULL), 0);
	assert_contains(f->out, DENIED_ID);
	assert_null(strstr(f->out, ALLOWED_ID));
	assert_int_equal(count_lines(f->out), 3); /* header, received, decided */
}

static void test_list_filters_by_time_range(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "list", "--since", "2023-11-14T23:00:00Z", NULL), 0);
	assert_contains(f->out, DENIED_ID);
	assert_null(strstr(f->out, ALLOWED_ID));
	assert_int_equal(run(f, "list", "--until", "1700000001", "--json", NULL), 0);
	assert_contains(f->out, ALLOWED_ID);
	assert_null(strstr(f->out, DENIED_ID));
}

static void test_list_json_is_an_array_of_the_records(void **state)
{
	struct fixture *f = *state;
	json_t *a;

	assert_int_equal(run(f, "list", "--event", "decided", "--json", NULL), 0);
	a = json_loads(f->out, 0, NULL);
	assert_true(json_is_array(a));
	assert_int_equal(json_array_size(a), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(a, 1), "decision")),
			    "denied");
	json_decref(a);
}

static void test_list_refuses_a_malformed_time(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "list", "--since", "yesterday", NULL), 2);
	assert_contains(f->err, "--since");
}

static void test_export_writes_one_json_object_per_record(void **state)
{
	struct fixture *f = *state;
	char *line, *save = NULL;
	size_t n = 0;

	assert_int_equal(run(f, "export", "--format", "jsonl", NULL), 0);
	for (line = strtok_r(f->out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(line, 0, NULL);

		assert_true(json_is_object(o));
		assert_non_null(json_string_value(json_object_get(o, "event")));
		assert_non_null(json_string_value(json_object_get(o, "hash")));
		assert_true(json_integer_value(json_object_get(o, "seq")) == (json_int_t)n + 1);
		json_decref(o);
		n++;
	}
	assert_int_equal(n, 5); /* received, decided, issued; received, decided */
}

static void test_export_needs_the_jsonl_format(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "export", NULL), 2);
	assert_int_equal(run(f, "export", "--format", "csv", NULL), 2);
	assert_contains(f->err, "jsonl");
}

static void test_show_by_serial_tells_the_whole_story_with_its_expiry(void **state)
{
	struct fixture *f = *state;
	char serial[24];

	snprintf(serial, sizeof(serial), "%llu", (unsigned long long)f->serial);
	assert_int_equal(run(f, "show", serial, NULL), 0);
	assert_contains(f->out, "request " ALLOWED_ID);
	assert_contains(f->out, " received\n");
	assert_contains(f->out, " decided\n");
	assert_contains(f->out, " issued\n");
	assert_contains(f->out, "reason: \"INC-7\"");
	assert_contains(f->out, "allowed by rule self");
	assert_contains(f->out, "principals: jit:web-1:alice");
	assert_contains(f->out, "expired at 2023-11-14T22:28:20Z");
}

static void test_show_by_request_id_of_a_denial(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "show", DENIED_ID, NULL), 0);
	assert_contains(f->out, "denied by rule -");
	assert_null(strstr(f->out, " issued\n"));
}

static void test_show_prints_no_control_characters_from_the_ledger(void **state)
{
	struct fixture *f = *state;
	struct ledger *l = NULL;
	json_t *rec;

	rec = json_pack("{s:s, s:I, s:s, s:s, s:s}", "event", "received", "time", (json_int_t)NOW,
			"request_id", "abababababababababababababababab", "user", "eve", "reason",
			"red \033[31m alert\r\n");
	assert_int_equal(ledger_open(in_dir(f, "ledger"), NULL, &l), 0);
	assert_int_equal(ledger_append(l, rec, NULL), 0);
	ledger_close(l);
	json_decref(rec);
	assert_int_equal(run(f, "show", "abababababababababababababababab", NULL), 0);
	assert_contains(f->out, "reason: \"red ?[31m alert??\"");
	assert_null(strchr(f->out, '\033'));
	assert_null(strchr(f->out, '\r'));
}

static void test_show_of_an_unknown_target_fails(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "show", "999", NULL), 1);
	assert_contains(f->err, "no request or serial 999");
	assert_int_equal(run(f, "show", "not-an-id", NULL), 2);
}

static void test_verify_reports_an_intact_ledger(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "verify", NULL), 0);
	assert_contains(f->out, "ledger intact: 5 records");
}

static void test_review_is_recorded_signed_and_leaves_the_queue(void **state)
{
	struct fixture *f = *state;
	char serial[24], key[128];
	json_t *a, *rec;

	snprintf(serial, sizeof(serial), "%llu", (unsigned long long)f->serial);
	snprintf(key, sizeof(key), "%s/bob_key", f->dir);
	assert_int_equal(run(f, "list", "--unreviewed", NULL), 0);
	assert_contains(f->out, ALLOWED_ID);
	assert_contains(f->out, "1 issuance awaiting review");
	assert_int_equal(run(f, "review", serial, "--ok", "--note", "on call, INC-7", "-i", key,
			     "--reviewer", "bob", NULL),
			 0);
	assert_contains(f->out, "review recorded");
	assert_int_equal(run(f, "list", "--unreviewed", NULL), 0);
	assert_contains(f->out, "0 issuances awaiting review");
	assert_int_equal(run(f, "list", "--event", "review", "--json", NULL), 0);
	a = json_loads(f->out, 0, NULL);
	assert_int_equal(json_array_size(a), 1);
	rec = json_array_get(a, 0);
	assert_string_equal(json_string_value(json_object_get(rec, "request_id")), ALLOWED_ID);
	assert_int_equal(json_integer_value(json_object_get(rec, "serial")), (json_int_t)f->serial);
	assert_int_equal(json_integer_value(json_object_get(rec, "target")), (json_int_t)f->serial);
	assert_string_equal(json_string_value(json_object_get(rec, "verdict")), "ok");
	assert_string_equal(json_string_value(json_object_get(rec, "reviewer")), "bob");
	assert_int_equal(ledger_cli_review_check(rec, NULL), 0);
	json_decref(a);
	assert_int_equal(run(f, "show", ALLOWED_ID, NULL), 0);
	assert_contains(f->out, "ok by bob");
	assert_contains(f->out, "signature verified; the key is enrolled for the reviewer");
	assert_int_equal(run(f, "verify", NULL), 0);
}

static void test_requester_cannot_review_their_own_access(void **state)
{
	struct fixture *f = *state;
	char key[128];

	snprintf(key, sizeof(key), "%s/alice_key", f->dir);
	assert_int_equal(run(f, "review", ALLOWED_ID, "--flag", "--note", "mine", "-i", key,
			     "--reviewer", "alice", NULL),
			 1);
	assert_contains(f->err, "cannot review it");
	assert_int_equal(run(f, "list", "--event", "review", "--json", NULL), 0);
	assert_string_equal(f->out, "[]\n");
}

static void test_reviewer_must_be_enrolled_and_enabled(void **state)
{
	struct fixture *f = *state;
	char key[128];

	snprintf(key, sizeof(key), "%s/bob_key", f->dir);
	assert_int_equal(run(f, "review", ALLOWED_ID, "--ok", "--note", "x", "-i", key,
			     "--reviewer", "carol", NULL),
			 1);
	assert_contains(f->err, "not an enrolled, enabled user");
	assert_int_equal(run(f, "review", ALLOWED_ID, "--ok", "--note", "x", "-i", key,
			     "--reviewer", "mallory", NULL),
			 1);
}

static void test_reviewer_key_must_be_one_of_theirs(void **state)
{
	struct fixture *f = *state;
	char key[128];

	snprintf(key, sizeof(key), "%s/alice_key", f->dir);
	assert_int_equal(run(f, "review", ALLOWED_ID, "--ok", "--note", "x", "-i", key,
			     "--reviewer", "bob", NULL),
			 1);
	assert_contains(f->err, "not enrolled for the reviewer");
}

static void test_review_usage_is_checked(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "review", ALLOWED_ID, "--note", "x", NULL), 2);
	assert_int_equal(run(f, "review", ALLOWED_ID, "--ok", "--flag", "--note", "x", NULL), 2);
	assert_int_equal(run(f, "review", ALLOWED_ID, "--ok", NULL), 2);
	assert_int_equal(run(f, "review", ALLOWED_ID, "--ok", "--note", "tab\there", NULL), 2);
	/* U+202E RIGHT-TO-LEFT OVERRIDE would make the note read differently from its bytes. */
	assert_int_equal(run(f, "review", ALLOWED_ID, "--ok", "--note", "fine \xe2\x80\xae", NULL),
			 2);
	assert_int_equal(run(f, "review", ALLOWED_ID, "--ok", "--note", "\xc2\x85", NULL), 2);
	assert_int_equal(run(f, "list", "--note", "x", NULL), 2);
	assert_int_equal(run(f, "frobnicate", NULL), 2);
}

static void test_review_copied_onto_another_requests_record_does_not_verify(void **state)
{
	struct fixture *f = *state;
	json_t *rec = signed_review(f->bob, f->bob, LEDGER_CLI_REVIEW_NAMESPACE);

	json_object_set_new(rec, "request_id", json_string(DENIED_ID));
	assert_int_equal(ledger_cli_review_check(rec, NULL), JIT_E_SIGNATURE);
	json_decref(rec);
}

/* Append @rec (stolen) to the fixture's ledger. */
static void append_to_ledger(struct fixture *f, json_t *rec)
{
	struct ledger *l = NULL;

	assert_int_equal(ledger_open(in_dir(f, "ledger"), NULL, &l), 0);
	assert_int_equal(ledger_append(l, rec, NULL), 0);
	ledger_close(l);
	json_decref(rec);
}

/* `list ARGS... --json` parsed. */
static json_t *list_json(struct fixture *f, const char *a, const char *b)
{
	json_t *out;

	assert_int_equal(run(f, "list", a, b, "--json", NULL), 0);
	out = json_loads(f->out, 0, NULL);
	assert_true(json_is_array(out));
	return out;
}

static const char *field(const json_t *a, size_t i, const char *name)
{
	return json_string_value(json_object_get(json_array_get(a, i), name));
}

static void test_list_by_state_issued_gives_the_request_by_its_issued_record(void **state)
{
	struct fixture *f = *state;
	json_t *a = list_json(f, "--state", "issued");

	assert_int_equal(json_array_size(a), 1);
	assert_string_equal(field(a, 0, "request_id"), ALLOWED_ID);
	assert_string_equal(field(a, 0, "event"), "issued");
	assert_string_equal(field(a, 0, "state"), "issued");
	json_decref(a);
}

static void test_list_by_state_denied_gives_the_denied_request(void **state)
{
	struct fixture *f = *state;
	json_t *a = list_json(f, "--state", "denied");

	assert_int_equal(json_array_size(a), 1);
	assert_string_equal(field(a, 0, "request_id"), DENIED_ID);
	assert_string_equal(field(a, 0, "decision"), "denied");
	json_decref(a);
	a = list_json(f, "--state", "allowed"); /* its "decided" record is followed by "issued" */
	assert_int_equal(json_array_size(a), 0);
	json_decref(a);
}

static void test_list_by_state_received_gives_a_request_never_decided(void **state)
{
	struct fixture *f = *state;
	json_t *a;

	append_to_ledger(f, json_pack("{s:s, s:I, s:s, s:s}", "event", "received", "time",
				      (json_int_t)NOW, "request_id", OPEN_ID, "user", "alice"));
	a = list_json(f, "--state", "received");
	assert_int_equal(json_array_size(a), 1);
	assert_string_equal(field(a, 0, "request_id"), OPEN_ID);
	json_decref(a);
	a = list_json(f, "--state", "needs_approval");
	assert_int_equal(json_array_size(a), 0);
	json_decref(a);
}

static void test_list_by_state_combines_with_the_other_filters(void **state)
{
	struct fixture *f = *state;
	json_t *a;

	assert_int_equal(run(f, "list", "--state", "issued", "--login", "root", "--json", NULL), 0);
	a = json_loads(f->out, 0, NULL);
	assert_int_equal(json_array_size(a), 0);
	json_decref(a);
	assert_int_equal(run(f, "list", "--state", "denied", "--login", "root", NULL), 0);
	assert_contains(f->out, DENIED_ID);
	assert_contains(f->out, "1 request denied\n");
}

static void test_list_by_state_refuses_unknown_states_and_other_lists(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "list", "--state", "valid", NULL), 2);
	assert_contains(f->err, "--state: 'valid' is not one of");
	assert_int_equal(run(f, "list", "--state", "issued", "--event", "issued", NULL), 2);
	assert_int_equal(run(f, "list", "--state", "issued", "--unreviewed", NULL), 2);
	assert_int_equal(run(f, "export", "--format", "jsonl", "--state", "issued", NULL), 2);
}

static void test_sweep_records_the_expiry_which_show_list_and_export_give(void **state)
{
	struct fixture *f = *state;
	char serial[24];
	json_t *a;

	snprintf(serial, sizeof(serial), "%llu", (unsigned long long)f->serial);
	/* The fixture's certificate was valid in 2023: it has expired since. */
	assert_int_equal(run(f, "sweep", NULL), 0);
	assert_contains(f->out, "ledger swept: 1 certificate expired, 0 requests cancelled");
	a = list_json(f, "--state", "expired");
	assert_int_equal(json_array_size(a), 1);
	assert_string_equal(field(a, 0, "request_id"), ALLOWED_ID);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(a, 0), "serial")),
			 (json_int_t)f->serial);
	json_decref(a);
	a = list_json(f, "--state", "issued");
	assert_int_equal(json_array_size(a), 0);
	json_decref(a);
	assert_int_equal(run(f, "show", serial, NULL), 0);
	assert_contains(f->out, "  state: expired\n");
	assert_contains(f->out, " expired\n");
	assert_contains(f->out, "expired: valid until 2023-11-14T22:28:20Z");
	assert_int_equal(run(f, "export", "--format", "jsonl", "--event", "expired", NULL), 0);
	assert_int_equal(count_lines(f->out), 1);
	assert_contains(f->out, "\"valid_before\":1700000900");
	assert_int_equal(run(f, "verify", NULL), 0);
	assert_contains(f->out, "ledger intact: 6 records");
	assert_int_equal(run(f, "sweep", NULL), 0); /* once only */
	assert_contains(f->out, "ledger swept: 0 certificates expired, 0 requests cancelled");
}

static void test_sweep_cancels_a_request_never_answered(void **state)
{
	struct fixture *f = *state;
	json_t *a;

	append_to_ledger(f, json_pack("{s:s, s:I, s:s, s:s}", "event", "received", "time",
				      (json_int_t)NOW, "request_id", OPEN_ID, "user", "alice"));
	/* A grace period longer than the request's age: it may still be answered. */
	assert_int_equal(run(f, "sweep", "--grace", "99999999999", NULL), 0);
	assert_contains(f->out, "0 requests cancelled");
	assert_int_equal(run(f, "sweep", NULL), 0);
	assert_contains(f->out, "1 request cancelled");
	a = list_json(f, "--state", "cancelled");
	assert_int_equal(json_array_size(a), 1);
	assert_string_equal(field(a, 0, "request_id"), OPEN_ID);
	assert_string_equal(field(a, 0, "last_event"), "received");
	json_decref(a);
	assert_int_equal(run(f, "show", OPEN_ID, NULL), 0);
	assert_contains(f->out, "  state: cancelled\n");
	assert_contains(f->out, "cancelled after its \"received\" record (seq 6): no decision");
	assert_int_equal(run(f, "sweep", "--grace", "soon", NULL), 2);
}

/* A review record of ALLOWED_ID for the queue: valid, or with its note changed after signing. */
static json_t *queue_review(struct fixture *f, const struct key *k, const char *verdict,
			    bool tampered)
{
	json_t *target = json_string(ALLOWED_ID), *rec;
	char *armored = NULL, *fp = NULL;

	sign_review(k, k, LEDGER_CLI_REVIEW_NAMESPACE, verdict, "fine", &armored, &fp);
	rec = json_pack("{s:s, s:I, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}",
			"event", "review", "time", (json_int_t)NOW, "target", target, "verdict",
			verdict, "note", tampered ? "fine, really" : "fine", "reviewer", "bob",
			"reviewer_key", fp, "signature", armored, "request_id", ALLOWED_ID, "user",
			"alice", "host", "web-1", "login", "alice", "serial",
			(json_int_t)f->serial);
	assert_non_null(rec);
	free(armored);
	free(fp);
	return rec;
}

static void test_forged_review_leaves_the_issuance_in_the_queue_and_fails_verify(void **state)
{
	struct fixture *f = *state;

	append_to_ledger(f, queue_review(f, f->bob, "ok", true)); /* seq 6 */
	assert_int_equal(run(f, "list", "--unreviewed", NULL), 0);
	assert_contains(f->out, ALLOWED_ID);
	assert_contains(f->out, "1 issuance awaiting review");
	assert_contains(f->err,
			"the review at seq 6 does not count: its signature does not verify");
	assert_int_equal(run(f, "verify", NULL), 1);
	assert_contains(f->out, "ledger NOT intact: first bad record: seq 6: the review's "
				"signature does not verify");
}

static void test_review_signed_by_a_key_not_enrolled_for_the_reviewer_does_not_count(void **state)
{
	struct fixture *f = *state;

	/* A valid signature, by a key of its own: the policy does not give it to bob. */
	append_to_ledger(f, queue_review(f, f->session, "ok", false));
	assert_int_equal(run(f, "list", "--unreviewed", NULL), 0);
	assert_contains(f->out, "1 issuance awaiting review");
	assert_contains(f->err, "its key is not enrolled for the reviewer");
	assert_int_equal(run(f, "verify", NULL), 0); /* the record itself is intact */
}

static void test_flagged_issuance_leaves_the_queue_and_stays_in_the_flagged_list(void **state)
{
	struct fixture *f = *state;
	char key[128];

	snprintf(key, sizeof(key), "%s/bob_key", f->dir);
	assert_int_equal(run(f, "list", "--flagged", NULL), 0);
	assert_contains(f->out, "0 issuances flagged by review");
	assert_int_equal(run(f, "review", ALLOWED_ID, "--flag", "--note", "3 am?", "-i", key,
			     "--reviewer", "bob", NULL),
			 0);
	assert_int_equal(run(f, "list", "--unreviewed", NULL), 0);
	assert_contains(f->out, "0 issuances awaiting review");
	assert_int_equal(run(f, "list", "--flagged", NULL), 0);
	assert_contains(f->out, ALLOWED_ID);
	assert_contains(f->out, "1 issuance flagged by review");
	/* A later --ok review settles it. */
	assert_int_equal(run(f, "review", ALLOWED_ID, "--ok", "--note", "INC-7 explains it", "-i",
			     key, "--reviewer", "bob", NULL),
			 0);
	assert_int_equal(run(f, "list", "--flagged", NULL), 0);
	assert_contains(f->out, "0 issuances flagged by review");
	assert_int_equal(run(f, "list", "--flagged", "--unreviewed", NULL), 2);
}

/* Sign the fixture's ledger head as a checkpoint with @k. */
static void checkpoint_with(struct fixture *f, const struct key *k)
{
	struct signer s = key_signer(k);
	struct ledger_options o = {.checkpoint_signer = &s,
				   .checkpoint_records = UINT64_MAX,
				   .checkpoint_sec = UINT64_MAX};
	struct ledger *l = NULL;

	assert_int_equal(ledger_open(in_dir(f, "ledger"), &o, &l), 0);
	assert_int_equal(ledger_checkpoint(l, NOW + 10000, NULL), 0);
	ledger_close(l);
}

static void test_verify_refuses_a_checkpoint_by_another_key_than_the_cas(void **state)
{
	struct fixture *f = *state;

	checkpoint_with(f, f->bob);
	assert_int_equal(run(f, "verify", NULL), 1);
	assert_contains(f->out, "seq 6: the checkpoint is signed by an untrusted key");
}

static void test_verify_trusts_the_keys_of_the_previous_ca_keys_file(void **state)
{
	struct fixture *f = *state;
	char *line = NULL, *text = NULL;

	checkpoint_with(f, f->bob); /* as if bob's key had been the CA key before a rotation */
	line = key_line(f->bob);
	assert_true(asprintf(&text, "# rotated out 2023-11-14\n%s\n", line) > 0);
	write_text(f, "ca_key" SERVE_PREVIOUS_CA_KEYS_SUFFIX, text);
	assert_int_equal(run(f, "verify", NULL), 0);
	assert_contains(f->out, "1 checkpoint verified");
	free(line);
	free(text);
}

static void test_backup_verifies_the_copys_checkpoints_with_the_ca_key(void **state)
{
	struct fixture *f = *state;
	char dest[128];

	checkpoint_with(f, f->ca);
	snprintf(dest, sizeof(dest), "%s/backup-1", f->dir);
	assert_int_equal(run(f, "backup", dest, NULL), 0);
	assert_contains(f->out, "chain intact, checkpoints by the CA key");
	append_to_ledger(f, json_pack("{s:s, s:I}", "event", "startup", "time", (json_int_t)NOW));
	checkpoint_with(f, f->bob); /* seq 8, after the CA's (6) and the startup record (7) */
	snprintf(dest, sizeof(dest), "%s/backup-2", f->dir);
	assert_int_equal(run(f, "backup", dest, NULL), 1);
	assert_contains(f->err,
			"does NOT verify: seq 8: the checkpoint is signed by an untrusted key");
}

static void test_checkpoint_keys_are_the_ca_key_and_the_previous_keys(void **state)
{
	struct fixture *f = *state;
	struct key *keys[SERVE_CHECKPOINT_KEYS_MAX];
	char *line = NULL;
	size_t n = 0;

	char *err = NULL;

	assert_int_equal(serve_checkpoint_keys(in_dir(f, "ca_key"), f->ca, keys, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_true(key_equal_public(keys[0], f->ca));
	key_free(keys[0]);
	line = key_line(f->bob);
	write_text(f, "ca_key" SERVE_PREVIOUS_CA_KEYS_SUFFIX, line);
	assert_int_equal(serve_checkpoint_keys(in_dir(f, "ca_key"), NULL, keys, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_true(key_equal_public(keys[0], f->ca)); /* from the private key file */
	assert_true(key_equal_public(keys[1], f->bob));
	key_free(keys[0]);
	key_free(keys[1]);
	write_text(f, "ca_key" SERVE_PREVIOUS_CA_KEYS_SUFFIX, "not a key\n");
	assert_int_equal(serve_checkpoint_keys(in_dir(f, "ca_key"), f->ca, keys, &n, &err),
			 JIT_E_FORMAT);
	assert_contains(err, "ca_key.previous.pub");
	free(err);
	free(line);
}

/*
 * A review record of @target (stolen) by @reviewer, signed with @k at @time, with the
 * unsigned fields `ledger review` writes for ALLOWED_ID.
 */
static json_t *review_by(struct fixture *f, const struct key *k, const char *reviewer,
			 json_t *target, const char *verdict, uint64_t time)
{
	struct signer s = key_signer(k);
	char *msg = NULL, *armored = NULL, *fp = NULL;
	uint8_t *blob = NULL;
	size_t len;
	json_t *rec;

	assert_int_equal(ledger_cli_review_message(target, verdict, "fine", reviewer, time, &msg),
			 0);
	assert_int_equal(sig_sign(&s, LEDGER_CLI_REVIEW_NAMESPACE, (const uint8_t *)msg,
				  strlen(msg), NULL, &blob, &len),
			 0);
	assert_int_equal(sig_armor(blob, len, &armored), 0);
	assert_int_equal(key_fingerprint(k, &fp), 0);
	rec = json_pack("{s:s, s:I, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}",
			"event", "review", "time", (json_int_t)time, "target", target, "verdict",
			verdict, "note", "fine", "reviewer", reviewer, "reviewer_key", fp,
			"signature", armored, "request_id", ALLOWED_ID, "user", "alice", "host",
			"web-1", "login", "alice", "serial", (json_int_t)f->serial);
	assert_non_null(rec);
	free(msg);
	free(armored);
	free(fp);
	free(blob);
	return rec;
}

static json_t *serial_target(struct fixture *f)
{
	return json_integer((json_int_t)f->serial);
}

/* A second issued request, OPEN_ID, alice's, serial f->serial + 1. */
static void record_second_issuance(struct fixture *f)
{
	append_to_ledger(f, json_pack("{s:s, s:I, s:s, s:s, s:s, s:s}", "event", "received", "time",
				      (json_int_t)NOW, "request_id", OPEN_ID, "user", "alice",
				      "host", "web-1", "login", "alice"));
	append_to_ledger(f, json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:I, s:I}", "event", "issued",
				      "time", (json_int_t)NOW, "request_id", OPEN_ID, "user",
				      "alice", "host", "web-1", "login", "alice", "serial",
				      (json_int_t)f->serial + 1, "valid_before",
				      (json_int_t)NOW + 900));
}

static void
test_a_serial_review_copied_under_another_request_id_does_not_clear_that_request(void **state)
{
	struct fixture *f = *state;
	json_t *moved;

	record_second_issuance(f);
	append_to_ledger(f, review_by(f, f->bob, "bob", serial_target(f), "ok", NOW));
	/* The same signed review, its unsigned request_id pointed at the other request. */
	moved = review_by(f, f->bob, "bob", serial_target(f), "ok", NOW);
	json_object_set_new(moved, "request_id", json_string(OPEN_ID));
	append_to_ledger(f, moved); /* seq 9 */
	assert_int_equal(run(f, "list", "--unreviewed", NULL), 0);
	assert_contains(f->out, OPEN_ID);
	assert_null(strstr(f->out, ALLOWED_ID));
	assert_contains(f->out, "1 issuance awaiting review");
	assert_contains(f->err, "the review at seq 9 does not count: its request_id is not that "
				"of the issuance of serial");
}

static void test_a_serial_review_counts_for_the_request_its_issuance_names(void **state)
{
	struct fixture *f = *state;
	json_t *rec = review_by(f, f->bob, "bob", serial_target(f), "ok", NOW);

	/* Nothing unsigned tells which request: the ledger's issuance of the serial does. */
	json_object_del(rec, "request_id");
	json_object_del(rec, "user");
	append_to_ledger(f, rec);
	assert_int_equal(run(f, "list", "--unreviewed", NULL), 0);
	assert_contains(f->out, "0 issuances awaiting review");
}

static void test_a_requester_review_with_another_user_written_in_does_not_count(void **state)
{
	struct fixture *f = *state;
	json_t *rec = review_by(f, f->alice, "alice", json_string(ALLOWED_ID), "ok", NOW);

	/* alice asked for ALLOWED_ID; the review record's own "user" is not signed. */
	json_object_set_new(rec, "user", json_string("bob"));
	append_to_ledger(f, rec);
	assert_int_equal(run(f, "list", "--unreviewed", NULL), 0);
	assert_contains(f->out, "1 issuance awaiting review");
	assert_contains(f->err,
			"the review at seq 6 does not count: the reviewer is the requester");
	assert_int_equal(run(f, "show", ALLOWED_ID, NULL), 0);
	assert_contains(f->out, "!!! it does NOT count: the reviewer is the requester");
}

static void test_the_review_signed_latest_decides_whatever_the_order_of_its_record(void **state)
{
	struct fixture *f = *state;

	append_to_ledger(f, review_by(f, f->bob, "bob", serial_target(f), "ok", NOW + 20));
	append_to_ledger(f, review_by(f, f->bob, "bob", serial_target(f), "flag", NOW + 10));
	assert_int_equal(run(f, "list", "--flagged", NULL), 0);
	assert_contains(f->out, "0 issuances flagged by review");
	assert_int_equal(run(f, "list", "--unreviewed", NULL), 0);
	assert_contains(f->out, "0 issuances awaiting review");
}

static void test_a_replayed_older_review_does_not_override_a_later_one(void **state)
{
	struct fixture *f = *state;
	json_t *flag = review_by(f, f->bob, "bob", serial_target(f), "flag", NOW + 10);

	append_to_ledger(f, json_deep_copy(flag));
	append_to_ledger(f, review_by(f, f->bob, "bob", serial_target(f), "ok", NOW + 20));
	append_to_ledger(f, flag); /* the old flag, copied again */
	assert_int_equal(run(f, "list", "--flagged", NULL), 0);
	assert_contains(f->out, "0 issuances flagged by review");
	assert_contains(f->err, "the review at seq 8 does not count: it repeats the signature of "
				"the review at seq 6");
}

static void test_a_repeated_review_signature_counts_once_also_within_one_second(void **state)
{
	struct fixture *f = *state;
	json_t *flag = review_by(f, f->bob, "bob", serial_target(f), "flag", NOW + 10);

	/* Signed in the same second: the later record decides, but a copy is no new record. */
	append_to_ledger(f, json_deep_copy(flag));
	append_to_ledger(f, review_by(f, f->bob, "bob", serial_target(f), "ok", NOW + 10));
	append_to_ledger(f, flag);
	assert_int_equal(run(f, "list", "--flagged", NULL), 0);
	assert_contains(f->out, "0 issuances flagged by review");
	assert_int_equal(run(f, "list", "--unreviewed", NULL), 0);
	assert_contains(f->out, "0 issuances awaiting review");
}

static void test_review_lists_are_refused_when_the_policy_cannot_be_read(void **state)
{
	struct fixture *f = *state;

	append_to_ledger(f, review_by(f, f->bob, "bob", serial_target(f), "ok", NOW));
	assert_int_equal(unlink(in_dir(f, "policy.yaml")), 0);
	assert_int_equal(run(f, "list", "--unreviewed", NULL), 1);
	assert_contains(f->err, "cannot count reviews: the policy ");
	assert_contains(f->err, "policy.yaml");
	assert_null(strstr(f->out, "awaiting review"));
	assert_int_equal(run(f, "list", "--flagged", NULL), 1);
	assert_contains(f->err, "cannot count reviews");
	/* The story is still told, saying what cannot be checked. */
	assert_int_equal(run(f, "show", ALLOWED_ID, NULL), 0);
	assert_contains(f->out, "whether the key is enrolled for the reviewer is unknown");
}

static void test_review_lists_are_refused_when_others_can_change_the_policy(void **state)
{
	struct fixture *f = *state;

	append_to_ledger(f, review_by(f, f->bob, "bob", serial_target(f), "ok", NOW));
	assert_int_equal(chmod(in_dir(f, "policy.yaml"), 0666), 0);
	assert_int_equal(run(f, "list", "--unreviewed", NULL), 1);
	assert_contains(f->err, "policy.yaml is writable by group or others");
}

static void test_verify_takes_the_ca_key_from_its_private_key_not_from_ca_key_pub(void **state)
{
	struct fixture *f = *state;
	char *line = key_line(f->bob);

	write_text(f, "ca_key.pub", line); /* names another key than the CA's private key */
	checkpoint_with(f, f->bob);
	assert_int_equal(run(f, "verify", NULL), 1);
	assert_contains(f->out, "seq 6: the checkpoint is signed by an untrusted key");
	free(line);
}

static void test_verify_refuses_a_ca_key_pub_holding_more_than_one_key(void **state)
{
	struct fixture *f = *state;
	char *ca = key_line(f->ca), *bob = key_line(f->bob), *text = NULL;

	assert_int_equal(unlink(in_dir(f, "ca_key")), 0); /* only ca_key.pub is left */
	assert_true(asprintf(&text, "%s\n%s\n", ca, bob) > 0);
	write_text(f, "ca_key.pub", text);
	checkpoint_with(f, f->bob);
	assert_int_equal(run(f, "verify", NULL), 1);
	assert_contains(f->err, "ca_key.pub holds more than one key");
	free(ca);
	free(bob);
	free(text);
}

static void test_verify_refuses_a_ca_key_pub_others_can_change(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(unlink(in_dir(f, "ca_key")), 0);
	assert_int_equal(run(f, "verify", NULL), 0); /* ca_key.pub as written: trusted */
	assert_int_equal(chmod(in_dir(f, "ca_key.pub"), 0664), 0);
	assert_int_equal(run(f, "verify", NULL), 1);
	assert_contains(f->err, "ca_key.pub is writable by group or others");
}

static void test_verify_refuses_a_previous_ca_keys_file_others_can_change(void **state)
{
	struct fixture *f = *state;
	char *line = key_line(f->bob);

	checkpoint_with(f, f->bob);
	write_text(f, "ca_key" SERVE_PREVIOUS_CA_KEYS_SUFFIX, line);
	assert_int_equal(chmod(in_dir(f, "ca_key" SERVE_PREVIOUS_CA_KEYS_SUFFIX), 0666), 0);
	assert_int_equal(run(f, "verify", NULL), 1);
	assert_contains(f->err, "ca_key.previous.pub is writable by group or others");
	free(line);
}

static void test_backup_refuses_an_untrusted_previous_ca_keys_file_and_writes_nothing(void **state)
{
	struct fixture *f = *state;
	char *line = key_line(f->bob);
	char dest[128];
	struct stat st;

	write_text(f, "ca_key" SERVE_PREVIOUS_CA_KEYS_SUFFIX, line);
	assert_int_equal(chmod(in_dir(f, "ca_key" SERVE_PREVIOUS_CA_KEYS_SUFFIX), 0666), 0);
	snprintf(dest, sizeof(dest), "%s/backup-1", f->dir);
	assert_int_equal(run(f, "backup", dest, NULL), 1);
	assert_contains(f->err, "ca_key.previous.pub is writable by group or others");
	assert_contains(f->err, "no backup written");
	assert_int_equal(stat(dest, &st), -1);
	free(line);
}

static void test_key_files_of_the_cas_user_are_trusted_when_root_runs_the_tools(void **state)
{
	struct fixture *f = *state;
	char *err = NULL, key[128], pub[128];

	if (geteuid() != 0)
		skip();
	snprintf(key, sizeof(key), "%s/ca_key", f->dir);
	snprintf(pub, sizeof(pub), "%s/ca_key.pub", f->dir);
	/* The CA runs as uid 4242, which owns its key; root reviews. */
	assert_int_equal(chown(in_dir(f, "ca_key"), 4242, 4242), 0);
	assert_int_equal(chown(in_dir(f, "ca_key.pub"), 4242, 4242), 0);
	assert_int_equal(run(f, "verify", NULL), 0);
	assert_int_equal(serve_check_trusted(key, pub, NULL), 0);
	/* Anyone else's file is not. */
	assert_int_equal(chown(in_dir(f, "ca_key.pub"), 4343, 4343), 0);
	assert_int_equal(run(f, "verify", NULL), 1);
	assert_contains(f->err, "neither root nor the CA's user (uid 4242");
	assert_int_equal(serve_check_trusted(key, pub, &err), JIT_E_PERMISSION);
	assert_contains(err, "owned by uid 4343");
	free(err);
}

static void test_the_cas_event_names_are_the_ledgers_life_cycle_events(void **state)
{
	(void)state;
	/* The sweep and the states read what issue.c writes (ledger.h, issue.h). */
	assert_string_equal(ISSUE_EVENT_RECEIVED, LEDGER_EVENT_RECEIVED);
	assert_string_equal(ISSUE_EVENT_DECIDED, LEDGER_EVENT_DECIDED);
	assert_string_equal(ISSUE_EVENT_ISSUED, LEDGER_EVENT_ISSUED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		cmocka_unit_test(test_times_are_read_in_every_documented_form),
		cmocka_unit_test(test_malformed_times_are_refused_and_leave_the_result_alone),
		cmocka_unit_test(test_review_message_is_the_canonical_json_of_its_five_fields),
		cmocka_unit_test(test_the_cas_event_names_are_the_ledgers_life_cycle_events),
		T(test_review_signature_by_the_named_key_verifies),
		T(test_review_with_any_field_changed_does_not_verify),
		T(test_review_signed_by_another_key_than_named_does_not_verify),
		T(test_review_signed_in_another_namespace_does_not_verify),
		T(test_review_without_signature_is_malformed),
		T(test_list_filters_by_login),
		T(test_list_filters_by_time_range),
		T(test_list_json_is_an_array_of_the_records),
		T(test_list_refuses_a_malformed_time),
		T(test_export_writes_one_json_object_per_record),
		T(test_export_needs_the_jsonl_format),
		T(test_show_by_serial_tells_the_whole_story_with_its_expiry),
		T(test_show_by_request_id_of_a_denial),
		T(test_show_prints_no_control_characters_from_the_ledger),
		T(test_show_of_an_unknown_target_fails),
		T(test_verify_reports_an_intact_ledger),
		T(test_review_is_recorded_signed_and_leaves_the_queue),
		T(test_requester_cannot_review_their_own_access),
		T(test_reviewer_must_be_enrolled_and_enabled),
		T(test_reviewer_key_must_be_one_of_theirs),
		T(test_review_usage_is_checked),
		T(test_review_copied_onto_another_requests_record_does_not_verify),
		T(test_list_by_state_issued_gives_the_request_by_its_issued_record),
		T(test_list_by_state_denied_gives_the_denied_request),
		T(test_list_by_state_received_gives_a_request_never_decided),
		T(test_list_by_state_combines_with_the_other_filters),
		T(test_list_by_state_refuses_unknown_states_and_other_lists),
		T(test_sweep_records_the_expiry_which_show_list_and_export_give),
		T(test_sweep_cancels_a_request_never_answered),
		T(test_forged_review_leaves_the_issuance_in_the_queue_and_fails_verify),
		T(test_review_signed_by_a_key_not_enrolled_for_the_reviewer_does_not_count),
		T(test_flagged_issuance_leaves_the_queue_and_stays_in_the_flagged_list),
		T(test_verify_refuses_a_checkpoint_by_another_key_than_the_cas),
		T(test_verify_trusts_the_keys_of_the_previous_ca_keys_file),
		T(test_backup_verifies_the_copys_checkpoints_with_the_ca_key),
		T(test_checkpoint_keys_are_the_ca_key_and_the_previous_keys),
		T(test_a_serial_review_copied_under_another_request_id_does_not_clear_that_request),
		T(test_a_serial_review_counts_for_the_request_its_issuance_names),
		T(test_a_requester_review_with_another_user_written_in_does_not_count),
		T(test_the_review_signed_latest_decides_whatever_the_order_of_its_record),
		T(test_a_replayed_older_review_does_not_override_a_later_one),
		T(test_a_repeated_review_signature_counts_once_also_within_one_second),
		T(test_review_lists_are_refused_when_the_policy_cannot_be_read),
		T(test_review_lists_are_refused_when_others_can_change_the_policy),
		T(test_verify_takes_the_ca_key_from_its_private_key_not_from_ca_key_pub),
		T(test_verify_refuses_a_ca_key_pub_holding_more_than_one_key),
		T(test_verify_refuses_a_ca_key_pub_others_can_change),
		T(test_verify_refuses_a_previous_ca_keys_file_others_can_change),
		T(test_backup_refuses_an_untrusted_previous_ca_keys_file_and_writes_nothing),
		T(test_key_files_of_the_cas_user_are_trusted_when_root_runs_the_tools),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
