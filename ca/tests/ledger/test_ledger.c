/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for ca/ledger.c on real LMDB files in temporary directories. Tampering is done
 * with LMDB directly while the ledger is closed (LMDB forbids two opens in one process);
 * other processes (fork) stand in for review tools and for a crashed daemon.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>
#include <openssl/evp.h>

#include "err.h"
#include "ledger.h"

#define T0 1700000000u
#define RID_A "0123456789abcdef0123456789abcdef"
#define RID_B "fedcba9876543210fedcba9876543210"

struct fx {
	char dir[256];
	struct ledger *l;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	const char *tmp = getenv("TMPDIR");

	if (!f)
		return -1;
	snprintf(f->dir, sizeof f->dir, "%s/jit-ledger-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir) || ledger_open(f->dir, NULL, &f->l) < 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char path[300];

	ledger_close(f->l);
	snprintf(path, sizeof path, "%s/data.mdb", f->dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/lock.mdb", f->dir);
	unlink(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void reopen(struct fx *f, const struct ledger_options *o)
{
	ledger_close(f->l);
	f->l = NULL;
	assert_int_equal(ledger_open(f->dir, o, &f->l), 0);
}

static void reopen_read_only(struct fx *f)
{
	struct ledger_options o = {.read_only = 1};

	reopen(f, &o);
}

static json_t *event(const char *name, const char *request_id)
{
	json_t *e = json_pack("{s:s, s:I}", "event", name, "time", (json_int_t)T0);

	assert_non_null(e);
	if (request_id)
		assert_int_equal(json_object_set_new(e, "request_id", json_string(request_id)), 0);
	return e;
}

static uint64_t append(struct ledger *l, const char *name, const char *request_id)
{
	json_t *e = event(name, request_id);
	uint64_t seq = 0;

	assert_int_equal(ledger_append(l, e, &seq), 0);
	json_decref(e);
	return seq;
}

static void append_n(struct ledger *l, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		append(l, "requested", RID_A);
}

static uint64_t count(struct ledger *l)
{
	uint64_t n = UINT64_MAX;

	assert_int_equal(ledger_count(l, &n), 0);
	return n;
}

/* ledger_verify() must fail and name @want ("seq 3:") at the start of its message. */
static void assert_corrupt_at(struct ledger *l, const char *want)
{
	char *msg = NULL;
	uint64_t n = 12345;

	assert_int_equal(ledger_verify(l, &n, &msg), JIT_E_LEDGER_CORRUPT);
	assert_non_null(msg);
	if (strncmp(msg, want, strlen(want)) != 0)
		fail_msg("verify said \"%s\", expected it to start with \"%s\"", msg, want);
	assert_int_equal(n, 12345); /* untouched on failure */
	free(msg);
}

static void assert_verifies(struct ledger *l, uint64_t want_count)
{
	char *msg = NULL;
	uint64_t n = UINT64_MAX;
	int r = ledger_verify(l, &n, &msg);

	if (r != 0)
		fail_msg("verify failed (%s): %s", jit_strerror(r), msg ? msg : "");
	assert_null(msg);
	assert_int_equal(n, want_count);
}

/* ---- raw LMDB access for tampering (the ledger must be closed) ---- */

enum raw_op { RAW_GET, RAW_PUT, RAW_DEL };

static void raw(const char *dir, const char *db, enum raw_op op, const void *key, size_t klen,
		char **data, size_t *len)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = {.mv_size = klen, .mv_data = (void *)key}, v;

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, dir, MDB_NOSYNC, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, op == RAW_GET ? MDB_RDONLY : 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
	switch (op) {
	case RAW_GET:
		assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
		*data = malloc(v.mv_size + 1);
		assert_non_null(*data);
		memcpy(*data, v.mv_data, v.mv_size);
		(*data)[v.mv_size] = '\0';
		*len = v.mv_size;
		mdb_txn_abort(txn);
		break;
	case RAW_PUT:
		v = (MDB_val){.mv_size = *len, .mv_data = *data};
		assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
		assert_int_equal(mdb_txn_commit(txn), 0);
		break;
	case RAW_DEL:
		assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
		assert_int_equal(mdb_txn_commit(txn), 0);
		break;
	}
	mdb_env_close(env);
}

static void seq_key(uint64_t seq, uint8_t k[8])
{
	for (int i = 7; i >= 0; i--, seq >>= 8)
		k[i] = (uint8_t)seq;
}

static char *raw_record(const char *dir, uint64_t seq, size_t *len)
{
	uint8_t k[8];
	char *data = NULL;

	seq_key(seq, k);
	raw(dir, "records", RAW_GET, k, 8, &data, len);
	return data;
}

static void raw_put_record(const char *dir, uint64_t seq, const char *data, size_t len)
{
	uint8_t k[8];
	char *d = (char *)data;

	seq_key(seq, k);
	raw(dir, "records", RAW_PUT, k, 8, &d, &len);
}

static void raw_del_record(const char *dir, uint64_t seq)
{
	uint8_t k[8];

	seq_key(seq, k);
	raw(dir, "records", RAW_DEL, k, 8, NULL, NULL);
}

/* An independent hash of the documented canonical encoding (ledger.h). */
static void canonical_hash_hex(json_t *rec_without_hash, char out[65])
{
	char *canon = json_dumps(rec_without_hash, JSON_COMPACT | JSON_SORT_KEYS);
	uint8_t h[32];

	assert_non_null(canon);
	assert_int_equal(EVP_Digest(canon, strlen(canon), h, NULL, EVP_sha256(), NULL), 1);
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", h[i]);
	free(canon);
}

/* ---- append and read back ---- */

struct collect {
	json_t *all;
};

static int collect_cb(void *ctx, const json_t *rec)
{
	struct collect *c = ctx;

	return json_array_append(c->all, (json_t *)rec);
}

static json_t *all_records(struct ledger *l, uint64_t from)
{
	struct collect c = {.all = json_array()};

	assert_int_equal(ledger_foreach(l, from, collect_cb, &c), 0);
	return c.all;
}

static void test_appended_record_reads_back_with_its_fields(void **state)
{
	struct fx *f = *state;
	json_t *e = json_pack("{s:s, s:I, s:s, s:s}", "event", "denied", "time", (json_int_t)T0,
			      "request_id", RID_A, "reason", "no rule for r\xc3\xa9seau \"x\"\n");
	json_t *all, *r;
	uint64_t seq = 0;

	assert_int_equal(ledger_append(f->l, e, &seq), 0);
	assert_int_equal(seq, 1);
	all = all_records(f->l, 0);
	assert_int_equal(json_array_size(all), 1);
	r = json_array_get(all, 0);
	assert_string_equal(json_string_value(json_object_get(r, "event")), "denied");
	assert_int_equal(json_integer_value(json_object_get(r, "time")), T0);
	assert_string_equal(json_string_value(json_object_get(r, "request_id")), RID_A);
	assert_true(json_equal(json_object_get(r, "reason"), json_object_get(e, "reason")));
	assert_int_equal(json_integer_value(json_object_get(r, "seq")), 1);
	assert_string_equal(json_string_value(json_object_get(r, "prev")), "");
	assert_int_equal(json_integer_value(json_object_get(r, "v")), LEDGER_RECORD_VERSION);
	assert_int_equal(json_string_length(json_object_get(r, "hash")), 64);
	assert_null(json_object_get(e, "seq")); /* the caller's object is not modified */
	json_decref(all);
	json_decref(e);
}

static void test_records_survive_close_and_reopen(void **state)
{
	struct fx *f = *state;
	json_t *all;

	append_n(f->l, 3);
	reopen(f, NULL);
	all = all_records(f->l, 0);
	assert_int_equal(json_array_size(all), 3);
	json_decref(all);
	assert_int_equal(append(f->l, "issued", RID_A), 4);
	assert_verifies(f->l, 4);
}

static void test_seq_starts_at_one_and_has_no_gaps(void **state)
{
	struct fx *f = *state;
	json_t *all;

	for (uint64_t i = 1; i <= 20; i++)
		assert_int_equal(append(f->l, "requested", NULL), i);
	all = all_records(f->l, 0);
	assert_int_equal(json_array_size(all), 20);
	for (size_t i = 0; i < 20; i++)
		assert_int_equal(json_integer_value(json_object_get(json_array_get(all, i), "seq")),
				 i + 1);
	json_decref(all);
	assert_int_equal(count(f->l), 20);
}

static void test_record_hash_is_sha256_of_its_canonical_encoding(void **state)
{
	struct fx *f = *state;
	json_t *all, *prev_hash = NULL;
	char hex[65];

	append_n(f->l, 3);
	all = all_records(f->l, 0);
	for (size_t i = 0; i < 3; i++) {
		json_t *r = json_deep_copy(json_array_get(all, i));
		json_t *h = json_incref(json_object_get(r, "hash"));

		json_object_del(r, "hash");
		canonical_hash_hex(r, hex);
		assert_string_equal(json_string_value(h), hex);
		if (prev_hash)
			assert_true(json_equal(json_object_get(r, "prev"), prev_hash));
		json_decref(prev_hash);
		prev_hash = h;
		json_decref(r);
	}
	json_decref(prev_hash);
	json_decref(all);
}

static void test_foreach_starts_at_from_seq_and_stops_on_nonzero(void **state)
{
	struct fx *f = *state;
	json_t *all;

	append_n(f->l, 5);
	all = all_records(f->l, 4);
	assert_int_equal(json_array_size(all), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(all, 0), "seq")), 4);
	json_decref(all);
	all = all_records(f->l, 6);
	assert_int_equal(json_array_size(all), 0);
	json_decref(all);
}

static int stop_at_two(void *ctx, const json_t *rec)
{
	(*(int *)ctx)++;
	return json_integer_value(json_object_get(rec, "seq")) == 2 ? 42 : 0;
}

static void test_foreach_returns_the_callbacks_stop_value(void **state)
{
	struct fx *f = *state;
	int visited = 0;

	append_n(f->l, 5);
	assert_int_equal(ledger_foreach(f->l, 1, stop_at_two, &visited), 42);
	assert_int_equal(visited, 2);
}

static void test_record_without_event_or_with_ledger_fields_is_refused(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = {
		"[]",
		"{\"time\":1}",
		"{\"event\":7}",
		"{\"event\":\"x\",\"seq\":1}",
		"{\"event\":\"x\",\"prev\":\"\"}",
		"{\"event\":\"x\",\"v\":1}",
		"{\"event\":\"x\",\"hash\":\"00\"}",
		"{\"event\":\"x\",\"request_id\":\"\"}",
		"{\"event\":\"x\",\"request_id\":5}",
		"{\"event\":\"x\",\"serial\":0}",
		"{\"event\":\"x\",\"serial\":\"5\"}",
	};
	uint64_t seq = 99;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_t *e = json_loads(bad[i], JSON_DECODE_ANY, NULL);

		assert_non_null(e);
		assert_int_equal(ledger_append(f->l, e, &seq), -EINVAL);
		json_decref(e);
	}
	assert_int_equal(seq, 99);
	assert_int_equal(count(f->l), 0);
}

static void test_request_id_at_the_limit_passes_and_one_more_fails(void **state)
{
	struct fx *f = *state;
	char rid[LEDGER_REQUEST_ID_MAX + 2];
	json_t *e;

	memset(rid, 'r', LEDGER_REQUEST_ID_MAX);
	rid[LEDGER_REQUEST_ID_MAX] = '\0';
	append(f->l, "requested", rid);
	rid[LEDGER_REQUEST_ID_MAX] = 'r';
	rid[LEDGER_REQUEST_ID_MAX + 1] = '\0';
	e = event("requested", rid);
	assert_int_equal(ledger_append(f->l, e, NULL), -EINVAL);
	json_decref(e);
	assert_int_equal(count(f->l), 1);
}

static void test_record_over_the_size_limit_is_refused_and_nothing_written(void **state)
{
	struct fx *f = *state;
	char *big = malloc(LEDGER_RECORD_MAX + 1);
	json_t *e = event("requested", NULL);

	assert_non_null(big);
	memset(big, 'x', LEDGER_RECORD_MAX);
	big[LEDGER_RECORD_MAX] = '\0';
	json_object_set_new(e, "reason", json_string(big));
	assert_int_equal(ledger_append(f->l, e, NULL), JIT_E_TOO_LARGE);
	/* A record just under the limit still fits. */
	big[LEDGER_RECORD_MAX - 400] = '\0';
	json_object_set_new(e, "reason", json_string(big));
	assert_int_equal(ledger_append(f->l, e, NULL), 0);
	assert_verifies(f->l, 1);
	json_decref(e);
	free(big);
}

static void test_record_that_cannot_be_encoded_is_refused(void **state)
{
	struct fx *f = *state;
	json_t *e = event("requested", NULL);

	json_object_set_new(e, "reason", json_stringn_nocheck("caf\xe9", 4));
	assert_int_equal(ledger_append(f->l, e, NULL), -EINVAL);
	assert_int_equal(count(f->l), 0);
	json_decref(e);
}

static void test_missing_directory_fails_with_enoent(void **state)
{
	struct fx *f = *state;
	struct ledger *l = NULL;
	char path[300];

	snprintf(path, sizeof path, "%s/nope", f->dir);
	assert_int_equal(ledger_open(path, NULL, &l), -ENOENT);
	assert_null(l);
}

static void test_signer_id_over_the_limit_is_refused(void **state)
{
	struct fx *f = *state;
	struct ledger_options o = {.signer_id = LEDGER_SIGNER_ID_MAX + 1};
	struct ledger *l = NULL;

	f->l = ledger_close(f->l);
	assert_int_equal(ledger_open(f->dir, &o, &l), -EINVAL);
	assert_null(l);
}

/* ---- the chain ---- */

static void test_intact_chain_verifies(void **state)
{
	struct fx *f = *state;

	append_n(f->l, 10);
	assert_verifies(f->l, 10);
}

static void test_empty_ledger_verifies_with_zero_records(void **state)
{
	struct fx *f = *state;

	assert_verifies(f->l, 0);
}

/* Record 2 of 4 altered by @mutate(i) for every i: verify must name seq 2 each time. */
static void tamper_every_position(struct fx *f, bool truncate)
{
	size_t len;
	char *orig;

	append_n(f->l, 4);
	f->l = ledger_close(f->l);
	orig = raw_record(f->dir, 2, &len);
	for (size_t i = 0; i < len; i++) {
		char *bad = malloc(len);

		assert_non_null(bad);
		memcpy(bad, orig, len);
		bad[i] ^= 0x01;
		raw_put_record(f->dir, 2, bad, truncate ? i : len);
		free(bad);
		reopen_read_only(f);
		assert_corrupt_at(f->l, "seq 2:");
		f->l = ledger_close(f->l);
	}
	raw_put_record(f->dir, 2, orig, len);
	reopen(f, NULL);
	assert_verifies(f->l, 4);
	free(orig);
}

static void test_flipped_bit_anywhere_in_a_record_is_detected_at_its_seq(void **state)
{
	tamper_every_position(*state, false);
}

static void test_record_truncated_at_any_length_is_detected_at_its_seq(void **state)
{
	tamper_every_position(*state, true);
}

static void test_record_with_the_same_content_in_other_bytes_is_detected(void **state)
{
	struct fx *f = *state;
	char *text, *spaced;
	size_t len;

	append_n(f->l, 3);
	f->l = ledger_close(f->l);
	text = raw_record(f->dir, 2, &len);
	spaced = malloc(len + 2);
	assert_non_null(spaced);
	spaced[0] = '{';
	spaced[1] = ' ';
	memcpy(spaced + 2, text + 1, len - 1);
	raw_put_record(f->dir, 2, spaced, len + 1);
	free(spaced);
	free(text);
	reopen_read_only(f);
	assert_corrupt_at(f->l, "seq 2: the record is not in canonical form");
}

static void test_deleted_record_is_detected_at_its_seq(void **state)
{
	struct fx *f = *state;

	append_n(f->l, 5);
	f->l = ledger_close(f->l);
	raw_del_record(f->dir, 3);
	reopen_read_only(f);
	assert_corrupt_at(f->l, "seq 3: missing");
}

static void test_changed_prev_with_a_valid_hash_is_detected_at_its_seq(void **state)
{
	struct fx *f = *state;
	char hex[65], *text, *forged;
	size_t len;
	json_t *rec;

	append_n(f->l, 5);
	f->l = ledger_close(f->l);
	/* Rewrite record 3 so that it hashes correctly but links to record 1, not 2. */
	text = raw_record(f->dir, 1, &len);
	rec = json_loads(text, 0, NULL);
	free(text);
	strcpy(hex, json_string_value(json_object_get(rec, "hash")));
	json_decref(rec);
	text = raw_record(f->dir, 3, &len);
	rec = json_loads(text, 0, NULL);
	free(text);
	json_object_set_new(rec, "prev", json_string(hex));
	json_object_del(rec, "hash");
	canonical_hash_hex(rec, hex);
	json_object_set_new(rec, "hash", json_string(hex));
	forged = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
	raw_put_record(f->dir, 3, forged, strlen(forged));
	free(forged);
	json_decref(rec);

	reopen_read_only(f);
	assert_corrupt_at(f->l, "seq 3: the record's \"prev\"");
}

static void test_deleted_last_record_makes_writing_open_fail(void **state)
{
	struct fx *f = *state;

	append_n(f->l, 5);
	f->l = ledger_close(f->l);
	raw_del_record(f->dir, 5);
	assert_int_equal(ledger_open(f->dir, NULL, &f->l), JIT_E_LEDGER_CORRUPT);
	assert_null(f->l);
	reopen_read_only(f);
	assert_corrupt_at(f->l, "seq 5: missing");
}

static void test_rewritten_last_record_makes_writing_open_fail(void **state)
{
	struct fx *f = *state;
	char hex[65], *text;
	size_t len;
	json_t *rec;

	append_n(f->l, 3);
	f->l = ledger_close(f->l);
	/* A self-consistent rewrite of the last record: only the stored head gives it away. */
	text = raw_record(f->dir, 3, &len);
	rec = json_loads(text, 0, NULL);
	free(text);
	json_object_set_new(rec, "event", json_string("approved"));
	json_object_del(rec, "hash");
	canonical_hash_hex(rec, hex);
	json_object_set_new(rec, "hash", json_string(hex));
	text = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
	raw_put_record(f->dir, 3, text, strlen(text));
	free(text);
	json_decref(rec);

	assert_int_equal(ledger_open(f->dir, NULL, &f->l), JIT_E_LEDGER_CORRUPT);
	reopen_read_only(f);
	assert_corrupt_at(f->l, "seq 3: the record's hash differs from the ledger head");
}

static void test_record_hidden_from_the_request_index_is_detected(void **state)
{
	struct fx *f = *state;
	uint8_t k[8];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val key = {.mv_size = strlen(RID_B), .mv_data = RID_B}, v = {8, k};

	append(f->l, "requested", RID_A);
	append(f->l, "requested", RID_B);
	append(f->l, "issued", RID_B);
	f->l = ledger_close(f->l);
	seq_key(3, k);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, f->dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "by_request", MDB_DUPSORT | MDB_DUPFIXED, &dbi), 0);
	assert_int_equal(mdb_del(txn, dbi, &key, &v), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);

	reopen_read_only(f);
	assert_corrupt_at(f->l, "seq 3: the record is missing from the request index");
}

/* ---- serials ---- */

struct issue_ctx {
	int fail;
	uint64_t seen_serial;
	const char *request_id;
};

static int issue_cb(void *ctx, uint64_t serial, json_t **ret)
{
	struct issue_ctx *c = ctx;

	c->seen_serial = serial;
	if (c->fail)
		return c->fail;
	*ret = event("issued", c->request_id ? c->request_id : RID_A);
	return 0;
}

static uint64_t issue(struct ledger *l)
{
	struct issue_ctx c = {0};
	uint64_t serial = 0, seq = 0;

	assert_int_equal(ledger_issue(l, issue_cb, &c, &serial, &seq), 0);
	assert_int_equal(serial, c.seen_serial);
	assert_true(seq > 0);
	return serial;
}

static void test_serials_are_never_zero_and_increase(void **state)
{
	struct fx *f = *state;
	uint64_t last = 0;

	for (int i = 0; i < 10; i++) {
		uint64_t s = issue(f->l);

		assert_true(s != 0);
		assert_true(s > last);
		last = s;
	}
	assert_int_equal(last, 10);
}

static void test_serials_stay_unique_across_reopen(void **state)
{
	struct fx *f = *state;
	uint64_t s[6];

	for (int i = 0; i < 3; i++)
		s[i] = issue(f->l);
	reopen(f, NULL);
	for (int i = 3; i < 6; i++)
		s[i] = issue(f->l);
	for (int i = 1; i < 6; i++)
		assert_true(s[i] > s[i - 1]);
	assert_verifies(f->l, 6);
}

static void test_serials_stay_unique_after_a_crash(void **state)
{
	struct fx *f = *state;
	int status;
	pid_t pid;

	f->l = ledger_close(f->l);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ledger *l = NULL;
		struct issue_ctx c = {0};
		uint64_t serial;

		if (ledger_open(f->dir, NULL, &l) < 0 ||
		    ledger_issue(l, issue_cb, &c, &serial, NULL) < 0 ||
		    ledger_issue(l, issue_cb, &c, &serial, NULL) < 0 || serial != 2)
			_exit(1);
		_exit(0); /* no ledger_close(): the process dies with the ledger open */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	reopen(f, NULL);
	assert_int_equal(issue(f->l), 3);
	assert_verifies(f->l, 3);
}

static void test_serial_carries_the_signer_id_in_its_high_bits(void **state)
{
	struct fx *f = *state;
	struct ledger_options o = {.signer_id = 0x1234};
	uint64_t s;

	issue(f->l);
	reopen(f, &o);
	s = issue(f->l);
	assert_int_equal(s >> 48, 0x1234);
	assert_int_equal(s & LEDGER_COUNTER_MAX, 2);
	o.signer_id = LEDGER_SIGNER_ID_MAX;
	reopen(f, &o);
	s = issue(f->l);
	assert_int_equal(s >> 48, LEDGER_SIGNER_ID_MAX);
	assert_true(s <= INT64_MAX);
}

static void test_issue_with_failing_callback_writes_nothing(void **state)
{
	struct fx *f = *state;
	struct issue_ctx c = {.fail = JIT_E_CRYPTO};
	uint64_t serial = 77, seq = 77;

	assert_int_equal(ledger_issue(f->l, issue_cb, &c, &serial, &seq), JIT_E_CRYPTO);
	assert_int_equal(c.seen_serial, 1);
	assert_int_equal(serial, 77);
	assert_int_equal(seq, 77);
	assert_int_equal(count(f->l), 0);
	/* The serial was not consumed: no certificate with it left the CA. */
	assert_int_equal(issue(f->l), 1);
	assert_verifies(f->l, 1);
}

static int wrong_serial_cb(void *ctx, uint64_t serial, json_t **ret)
{
	(void)ctx;
	*ret = event("issued", RID_A);
	json_object_set_new(*ret, "serial", json_integer((json_int_t)serial + 1));
	return 0;
}

static void test_issue_record_naming_another_serial_is_refused(void **state)
{
	struct fx *f = *state;

	assert_int_equal(ledger_issue(f->l, wrong_serial_cb, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(count(f->l), 0);
}

static void test_issued_record_is_found_by_its_serial(void **state)
{
	struct fx *f = *state;
	json_t *events = NULL;
	uint64_t s;

	append(f->l, "requested", RID_A);
	s = issue(f->l);
	issue(f->l);
	assert_int_equal(ledger_serial_events(f->l, s, &events), 0);
	assert_int_equal(json_array_size(events), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(events, 0), "serial")),
			 s);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(events, 0), "seq")), 2);
	json_decref(events);
	events = NULL;
	assert_int_equal(ledger_serial_events(f->l, 99, &events), JIT_E_NOT_FOUND);
	assert_null(events);
}

/* ---- the request index ---- */

static void test_request_events_come_back_in_order(void **state)
{
	struct fx *f = *state;
	json_t *events = NULL;
	static const char *const want[] = {"requested", "approved", "issued"};

	append(f->l, "requested", RID_A);
	append(f->l, "requested", RID_B);
	append(f->l, "approved", RID_A);
	append(f->l, "denied", RID_B);
	append(f->l, "noise", NULL);
	append(f->l, "issued", RID_A);
	assert_int_equal(ledger_request_events(f->l, RID_A, &events), 0);
	assert_int_equal(json_array_size(events), 3);
	for (size_t i = 0; i < 3; i++) {
		json_t *r = json_array_get(events, i);

		assert_string_equal(json_string_value(json_object_get(r, "event")), want[i]);
		assert_string_equal(json_string_value(json_object_get(r, "request_id")), RID_A);
	}
	assert_int_equal(json_integer_value(json_object_get(json_array_get(events, 2), "seq")), 6);
	json_decref(events);
}

static void test_unknown_request_has_no_events(void **state)
{
	struct fx *f = *state;
	char longid[LEDGER_REQUEST_ID_MAX + 2];
	json_t *events = NULL;

	append(f->l, "requested", RID_A);
	assert_int_equal(ledger_request_events(f->l, RID_B, &events), JIT_E_NOT_FOUND);
	assert_int_equal(ledger_request_events(f->l, "", &events), JIT_E_NOT_FOUND);
	memset(longid, 'a', sizeof longid - 1);
	longid[sizeof longid - 1] = '\0';
	assert_int_equal(ledger_request_events(f->l, longid, &events), JIT_E_NOT_FOUND);
	assert_null(events);
}

/* ---- nonces ---- */

static void test_nonce_claimed_twice_is_a_replay(void **state)
{
	struct fx *f = *state;

	assert_int_equal(ledger_nonce_claim(f->l, "nonce-0123456789", T0, 300), 0);
	assert_int_equal(ledger_nonce_claim(f->l, "nonce-0123456789", T0 + 299, 300), JIT_E_REPLAY);
	assert_int_equal(ledger_nonce_claim(f->l, "nonce-0123456789x", T0, 300), 0);
}

static void test_nonce_replay_is_still_refused_after_reopen(void **state)
{
	struct fx *f = *state;

	assert_int_equal(ledger_nonce_claim(f->l, "nonce-0123456789", T0, 300), 0);
	reopen(f, NULL);
	assert_int_equal(ledger_nonce_claim(f->l, "nonce-0123456789", T0 + 1, 300), JIT_E_REPLAY);
}

static void test_nonce_can_be_claimed_again_once_its_keep_period_ends(void **state)
{
	struct fx *f = *state;

	assert_int_equal(ledger_nonce_claim(f->l, "nonce-0123456789", T0, 300), 0);
	assert_int_equal(ledger_nonce_claim(f->l, "nonce-0123456789", T0 + 300, 300), 0);
	assert_int_equal(ledger_nonce_claim(f->l, "nonce-0123456789", T0 + 301, 300), JIT_E_REPLAY);
}

static size_t raw_entries(const char *dir, const char *db)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_stat st;

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
	assert_int_equal(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
	assert_int_equal(mdb_stat(txn, dbi, &st), 0);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return st.ms_entries;
}

static void test_expired_nonces_are_pruned_a_bounded_batch_per_claim(void **state)
{
	struct fx *f = *state;
	unsigned n = LEDGER_NONCE_PRUNE_MAX + 5;
	char nonce[32];

	for (unsigned i = 0; i < n; i++) {
		snprintf(nonce, sizeof nonce, "old-nonce-%08u", i);
		assert_int_equal(ledger_nonce_claim(f->l, nonce, T0, 60), 0);
	}
	assert_int_equal(ledger_nonce_claim(f->l, "young-nonce-0001", T0 + 50, 60), 0);
	f->l = ledger_close(f->l);
	assert_int_equal(raw_entries(f->dir, "nonces"), n + 1);

	reopen(f, NULL);
	assert_int_equal(ledger_nonce_claim(f->l, "new-nonce-000001", T0 + 100, 60), 0);
	f->l = ledger_close(f->l);
	assert_int_equal(raw_entries(f->dir, "nonces"), n + 2 - LEDGER_NONCE_PRUNE_MAX);
	assert_int_equal(raw_entries(f->dir, "nonce_expiry"), n + 2 - LEDGER_NONCE_PRUNE_MAX);

	reopen(f, NULL);
	assert_int_equal(ledger_nonce_claim(f->l, "new-nonce-000002", T0 + 100, 60), 0);
	f->l = ledger_close(f->l);
	/* The rest of the old ones are gone; the young one and the new ones stay. */
	assert_int_equal(raw_entries(f->dir, "nonces"), 3);
	reopen(f, NULL);
	assert_int_equal(ledger_nonce_claim(f->l, "young-nonce-0001", T0 + 100, 60), JIT_E_REPLAY);
}

static void test_nonce_length_limits_are_enforced(void **state)
{
	struct fx *f = *state;
	char nonce[LEDGER_NONCE_MAX + 2];

	memset(nonce, 'n', LEDGER_NONCE_MAX);
	nonce[LEDGER_NONCE_MAX] = '\0';
	assert_int_equal(ledger_nonce_claim(f->l, nonce, T0, 60), 0);
	nonce[LEDGER_NONCE_MAX] = 'n';
	nonce[LEDGER_NONCE_MAX + 1] = '\0';
	assert_int_equal(ledger_nonce_claim(f->l, nonce, T0, 60), -EINVAL);
	assert_int_equal(ledger_nonce_claim(f->l, "", T0, 60), -EINVAL);
	assert_int_equal(ledger_nonce_claim(f->l, NULL, T0, 60), -EINVAL);
}

/* ---- a full map ---- */

static unsigned fill_until_full(struct ledger *l)
{
	char pad[1500];
	json_t *e = event("requested", RID_A);
	unsigned n = 0;
	int r;

	memset(pad, 'p', sizeof pad - 1);
	pad[sizeof pad - 1] = '\0';
	json_object_set_new(e, "reason", json_string(pad));
	while ((r = ledger_append(l, e, NULL)) == 0) {
		n++;
		assert_true(n < 100000);
	}
	assert_int_equal(r, JIT_E_LEDGER_FULL);
	json_decref(e);
	return n;
}

#define SMALL_MAP (256u * 1024u)

static void test_full_map_refuses_appends_and_keeps_the_ledger_intact(void **state)
{
	struct fx *f = *state;
	struct ledger_options o = {.map_size = SMALL_MAP};
	struct issue_ctx c = {0};
	uint64_t serial = 0;
	unsigned n;

	reopen(f, &o);
	n = fill_until_full(f->l);
	assert_true(n > 10);
	assert_int_equal(ledger_issue(f->l, issue_cb, &c, &serial, NULL), JIT_E_LEDGER_FULL);
	assert_int_equal(serial, 0);
	assert_int_equal(count(f->l), n);
	assert_verifies(f->l, n);
	reopen(f, &o);
	assert_verifies(f->l, n);
}

static void test_grown_map_accepts_appends_again(void **state)
{
	struct fx *f = *state;
	struct ledger_options o = {.map_size = SMALL_MAP};
	unsigned n;

	reopen(f, &o);
	n = fill_until_full(f->l);
	o.map_size = 4 * SMALL_MAP;
	reopen(f, &o);
	append(f->l, "issued", RID_A);
	assert_int_equal(issue(f->l), 1);
	assert_verifies(f->l, n + 2);
}

/* ---- threads ---- */

#define THREADS 8
#define PER_THREAD 25

struct worker {
	struct ledger *l;
	char rid[40];
	int failures;
	uint64_t serials[PER_THREAD];
	int result;
};

static void *append_worker(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < PER_THREAD; i++) {
		json_t *e = json_pack("{s:s, s:I, s:s, s:i}", "event", "requested", "time",
				      (json_int_t)T0, "request_id", w->rid, "i", i);

		if (!e || ledger_append(w->l, e, NULL) < 0)
			w->failures++;
		json_decref(e);
	}
	return NULL;
}

static void test_concurrent_appends_form_one_valid_chain(void **state)
{
	struct fx *f = *state;
	struct worker w[THREADS] = {0};
	pthread_t t[THREADS];

	for (int i = 0; i < THREADS; i++) {
		w[i].l = f->l;
		snprintf(w[i].rid, sizeof w[i].rid, "thread-%d", i);
		assert_int_equal(pthread_create(&t[i], NULL, append_worker, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
	}
	assert_verifies(f->l, THREADS * PER_THREAD);
	for (int i = 0; i < THREADS; i++) {
		json_t *events = NULL;
		json_int_t last_seq = 0;

		assert_int_equal(ledger_request_events(f->l, w[i].rid, &events), 0);
		assert_int_equal(json_array_size(events), PER_THREAD);
		for (size_t j = 0; j < PER_THREAD; j++) {
			json_t *r = json_array_get(events, j);

			assert_int_equal(json_integer_value(json_object_get(r, "i")), j);
			assert_true(json_integer_value(json_object_get(r, "seq")) > last_seq);
			last_seq = json_integer_value(json_object_get(r, "seq"));
		}
		json_decref(events);
	}
}

static void *issue_worker(void *arg)
{
	struct worker *w = arg;
	struct issue_ctx c = {.request_id = w->rid};

	for (int i = 0; i < PER_THREAD; i++)
		if (ledger_issue(w->l, issue_cb, &c, &w->serials[i], NULL) < 0)
			w->failures++;
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static void test_concurrent_issues_get_distinct_serials(void **state)
{
	struct fx *f = *state;
	struct worker w[THREADS] = {0};
	pthread_t t[THREADS];
	uint64_t all[THREADS * PER_THREAD];

	for (int i = 0; i < THREADS; i++) {
		w[i].l = f->l;
		snprintf(w[i].rid, sizeof w[i].rid, "thread-%d", i);
		assert_int_equal(pthread_create(&t[i], NULL, issue_worker, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
		memcpy(all + i * PER_THREAD, w[i].serials, sizeof w[i].serials);
	}
	qsort(all, THREADS * PER_THREAD, sizeof all[0], cmp_u64);
	for (size_t i = 0; i < THREADS * PER_THREAD; i++)
		assert_int_equal(all[i], i + 1);
	assert_verifies(f->l, THREADS * PER_THREAD);
}

static void *claim_worker(void *arg)
{
	struct worker *w = arg;

	w->result = ledger_nonce_claim(w->l, "the-same-nonce-0001", T0, 300);
	return NULL;
}

static void test_one_of_many_concurrent_claims_of_a_nonce_wins(void **state)
{
	struct fx *f = *state;
	struct worker w[THREADS] = {0};
	pthread_t t[THREADS];
	int wins = 0;

	for (int i = 0; i < THREADS; i++) {
		w[i].l = f->l;
		assert_int_equal(pthread_create(&t[i], NULL, claim_worker, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		if (w[i].result == 0)
			wins++;
		else
			assert_int_equal(w[i].result, JIT_E_REPLAY);
	}
	assert_int_equal(wins, 1);
}

/* ---- read-only opens ---- */

static void test_read_only_ledger_refuses_writes(void **state)
{
	struct fx *f = *state;
	struct issue_ctx c = {0};
	json_t *e = event("requested", NULL);

	append_n(f->l, 2);
	reopen_read_only(f);
	assert_int_equal(ledger_append(f->l, e, NULL), -EROFS);
	assert_int_equal(ledger_issue(f->l, issue_cb, &c, NULL, NULL), -EROFS);
	assert_int_equal(ledger_nonce_claim(f->l, "nonce-0123456789", T0, 60), -EROFS);
	assert_verifies(f->l, 2);
	json_decref(e);
}

static void test_read_only_open_of_a_directory_without_a_ledger_fails(void **state)
{
	struct fx *f = *state;
	struct ledger_options o = {.read_only = 1};
	struct ledger *l = NULL;
	char path[300];

	snprintf(path, sizeof path, "%s/empty", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(ledger_open(path, &o, &l), -ENOENT);
	assert_null(l);
	rmdir(path);
}

/* A child process opens read-only while this one keeps writing. */
static int reader_child(const char *dir, int rfd, int wfd)
{
	struct ledger_options o = {.read_only = 1};
	struct ledger *l = NULL;
	uint64_t n = 0;
	char b = 0;

	if (ledger_open(dir, &o, &l) < 0)
		return 1;
	if (ledger_verify(l, &n, NULL) < 0 || n != 3)
		return 2;
	if (write(wfd, "r", 1) != 1 || read(rfd, &b, 1) != 1)
		return 3;
	/* The writer has appended two more records meanwhile. */
	if (ledger_verify(l, &n, NULL) < 0 || n != 5)
		return 4;
	ledger_close(l);
	return 0;
}

static void test_read_only_open_sees_committed_records_while_a_writer_runs(void **state)
{
	struct fx *f = *state;
	int to_child[2], to_parent[2], status;
	char b;
	pid_t pid;

	append_n(f->l, 3);
	assert_int_equal(pipe(to_child), 0);
	assert_int_equal(pipe(to_parent), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(reader_child(f->dir, to_child[0], to_parent[1]));
	assert_int_equal(read(to_parent[0], &b, 1), 1);
	append_n(f->l, 2);
	assert_int_equal(write(to_child[1], "w", 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(to_child[0]);
	close(to_child[1]);
	close(to_parent[0]);
	close(to_parent[1]);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_appended_record_reads_back_with_its_fields),
		T(test_records_survive_close_and_reopen),
		T(test_seq_starts_at_one_and_has_no_gaps),
		T(test_record_hash_is_sha256_of_its_canonical_encoding),
		T(test_foreach_starts_at_from_seq_and_stops_on_nonzero),
		T(test_foreach_returns_the_callbacks_stop_value),
		T(test_record_without_event_or_with_ledger_fields_is_refused),
		T(test_request_id_at_the_limit_passes_and_one_more_fails),
		T(test_record_over_the_size_limit_is_refused_and_nothing_written),
		T(test_record_that_cannot_be_encoded_is_refused),
		T(test_missing_directory_fails_with_enoent),
		T(test_signer_id_over_the_limit_is_refused),
		T(test_intact_chain_verifies),
		T(test_empty_ledger_verifies_with_zero_records),
		T(test_flipped_bit_anywhere_in_a_record_is_detected_at_its_seq),
		T(test_record_truncated_at_any_length_is_detected_at_its_seq),
		T(test_record_with_the_same_content_in_other_bytes_is_detected),
		T(test_deleted_record_is_detected_at_its_seq),
		T(test_changed_prev_with_a_valid_hash_is_detected_at_its_seq),
		T(test_deleted_last_record_makes_writing_open_fail),
		T(test_rewritten_last_record_makes_writing_open_fail),
		T(test_record_hidden_from_the_request_index_is_detected),
		T(test_serials_are_never_zero_and_increase),
		T(test_serials_stay_unique_across_reopen),
		T(test_serials_stay_unique_after_a_crash),
		T(test_serial_carries_the_signer_id_in_its_high_bits),
		T(test_issue_with_failing_callback_writes_nothing),
		T(test_issue_record_naming_another_serial_is_refused),
		T(test_issued_record_is_found_by_its_serial),
		T(test_request_events_come_back_in_order),
		T(test_unknown_request_has_no_events),
		T(test_nonce_claimed_twice_is_a_replay),
		T(test_nonce_replay_is_still_refused_after_reopen),
		T(test_nonce_can_be_claimed_again_once_its_keep_period_ends),
		T(test_expired_nonces_are_pruned_a_bounded_batch_per_claim),
		T(test_nonce_length_limits_are_enforced),
		T(test_full_map_refuses_appends_and_keeps_the_ledger_intact),
		T(test_grown_map_accepts_appends_again),
		T(test_concurrent_appends_form_one_valid_chain),
		T(test_concurrent_issues_get_distinct_serials),
		T(test_one_of_many_concurrent_claims_of_a_nonce_wins),
		T(test_read_only_ledger_refuses_writes),
		T(test_read_only_open_of_a_directory_without_a_ledger_fails),
		T(test_read_only_open_sees_committed_records_while_a_writer_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
