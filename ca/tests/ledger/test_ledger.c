/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for ca/ledger.c on real LMDB files in temporary directories. Tampering is done
 * with LMDB directly while the ledger is closed (LMDB forbids two opens in one process),
 * and hashes are recomputed here from the documented envelope format (ledger.h), not with
 * the ledger's own code. Other processes (fork) stand in for review tools and for a crashed
 * daemon; ssh-keygen checks the checkpoint signatures.
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
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>
#include <openssl/evp.h>

#include "err.h"
#include "key.h"
#include "ledger.h"
#include "sig.h"

#define T0 1700000000u
#define RID_A "0123456789abcdef0123456789abcdef"
#define RID_B "fedcba9876543210fedcba9876543210"
#define ENV_HDR 79
#define OFF_SEQ 5
#define OFF_PREV 13
#define OFF_HASH 45

struct fx {
	char dir[256];
	struct ledger *l;
	struct key *key; /* checkpoint key */
	struct signer signer;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	const char *tmp = getenv("TMPDIR");

	if (!f)
		return -1;
	snprintf(f->dir, sizeof f->dir, "%s/jit-ledger-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(f->dir) || ledger_open(f->dir, NULL, &f->l) < 0 ||
	    key_generate(KEY_ED25519, 0, &f->key) < 0) {
		free(f);
		return -1;
	}
	f->signer = key_signer(f->key);
	*state = f;
	return 0;
}

static void rm_ledger_files(const char *dir)
{
	char path[300];

	snprintf(path, sizeof path, "%s/data.mdb", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/lock.mdb", dir);
	unlink(path);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	ledger_close(f->l);
	rm_ledger_files(f->dir);
	rmdir(f->dir);
	key_free(f->key);
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

/* Options that sign a checkpoint every @every records with the fixture's key. */
static struct ledger_options ckpt_opts(struct fx *f, uint64_t every)
{
	return (struct ledger_options){.checkpoint_signer = &f->signer,
				       .checkpoint_records = every,
				       .checkpoint_sec = UINT64_MAX};
}

static json_t *event_at(const char *name, const char *request_id, uint64_t time)
{
	json_t *e = json_pack("{s:s, s:I}", "event", name, "time", (json_int_t)time);

	assert_non_null(e);
	if (request_id)
		assert_int_equal(json_object_set_new(e, "request_id", json_string(request_id)), 0);
	return e;
}

static json_t *event(const char *name, const char *request_id)
{
	return event_at(name, request_id, T0);
}

static uint64_t append_rec(struct ledger *l, json_t *e)
{
	uint64_t seq = 0;
	int r = ledger_append(l, e, &seq);

	if (r != 0)
		fail_msg("append failed: %s", jit_strerror(r));
	json_decref(e);
	return seq;
}

static uint64_t append(struct ledger *l, const char *name, const char *request_id)
{
	return append_rec(l, event(name, request_id));
}

static void append_n(struct ledger *l, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		append(l, "requested", RID_A);
}

/* A record as the CA writes it: who, where, as whom, when. */
static uint64_t append_who(struct ledger *l, const char *user, const char *host, const char *login,
			   const char *ev, uint64_t time)
{
	return append_rec(l, json_pack("{s:s, s:I, s:s, s:s, s:s, s:s}", "event", ev, "time",
				       (json_int_t)time, "user", user, "host", host, "login", login,
				       "request_id", RID_A));
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

/* As assert_corrupt_at() with trusted checkpoint keys; also checks bad_seq. */
static void assert_corrupt2_at(struct ledger *l, const struct key *trusted, uint64_t seq,
			       const char *want)
{
	struct ledger_verify_result res;
	const struct key *t[] = {trusted};

	assert_int_equal(ledger_verify2(l, trusted ? t : NULL, trusted ? 1 : 0, &res),
			 JIT_E_LEDGER_CORRUPT);
	if (!strstr(res.error, want))
		fail_msg("verify said \"%s\", expected \"%s\"", res.error, want);
	assert_int_equal(res.bad_seq, seq);
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

static struct ledger_verify_result verify_trusted(struct ledger *l, const struct key *k)
{
	struct ledger_verify_result res;
	const struct key *t[] = {k};
	int r = ledger_verify2(l, t, 1, &res);

	if (r != 0)
		fail_msg("verify failed (%s): %s", jit_strerror(r),
			 r == JIT_E_LEDGER_CORRUPT ? res.error : "");
	assert_string_equal(res.error, "");
	assert_int_equal(res.bad_seq, 0);
	return res;
}

/* ---- raw LMDB access for tampering (the ledger must be closed) ---- */

struct raw {
	MDB_env *env;
	MDB_txn *txn;
};

static struct raw raw_open(const char *dir, bool write)
{
	struct raw r;

	assert_int_equal(mdb_env_create(&r.env), 0);
	assert_int_equal(mdb_env_set_maxdbs(r.env, 16), 0);
	assert_int_equal(mdb_env_open(r.env, dir, write ? MDB_NOSYNC : MDB_RDONLY, 0600), 0);
	assert_int_equal(mdb_txn_begin(r.env, NULL, write ? 0 : MDB_RDONLY, &r.txn), 0);
	return r;
}

static MDB_dbi raw_db(struct raw *r, const char *name)
{
	MDB_dbi dbi;
	unsigned flags = strncmp(name, "by_", 3) == 0 ? MDB_DUPSORT | MDB_DUPFIXED : 0;

	assert_int_equal(mdb_dbi_open(r->txn, name, flags, &dbi), 0);
	return dbi;
}

static void raw_close(struct raw *r, bool commit)
{
	if (commit)
		assert_int_equal(mdb_txn_commit(r->txn), 0);
	else
		mdb_txn_abort(r->txn);
	mdb_env_close(r->env);
}

static void seq_key(uint64_t seq, uint8_t k[8])
{
	for (int i = 7; i >= 0; i--, seq >>= 8)
		k[i] = (uint8_t)seq;
}

static uint64_t be64(const uint8_t *b)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

/* Record @seq's envelope (new copy). */
static uint8_t *raw_record(const char *dir, uint64_t seq, size_t *len)
{
	struct raw r = raw_open(dir, false);
	MDB_dbi dbi = raw_db(&r, "records");
	uint8_t k[8], *data;
	MDB_val key = {8, k}, v;

	seq_key(seq, k);
	assert_int_equal(mdb_get(r.txn, dbi, &key, &v), 0);
	data = malloc(v.mv_size);
	assert_non_null(data);
	memcpy(data, v.mv_data, v.mv_size);
	*len = v.mv_size;
	raw_close(&r, false);
	return data;
}

static void raw_put(const char *dir, const char *db, const void *key, size_t klen, const void *data,
		    size_t len)
{
	struct raw r = raw_open(dir, true);
	MDB_dbi dbi = raw_db(&r, db);
	MDB_val k = {klen, (void *)key}, v = {len, (void *)data};

	assert_int_equal(mdb_put(r.txn, dbi, &k, &v, 0), 0);
	raw_close(&r, true);
}

static void raw_put_record(const char *dir, uint64_t seq, const void *data, size_t len)
{
	uint8_t k[8];

	seq_key(seq, k);
	raw_put(dir, "records", k, 8, data, len);
}

static void raw_del(const char *dir, const char *db, const void *key, size_t klen, const void *data,
		    size_t len)
{
	struct raw r = raw_open(dir, true);
	MDB_dbi dbi = raw_db(&r, db);
	MDB_val k = {klen, (void *)key}, v = {len, (void *)data};

	assert_int_equal(mdb_del(r.txn, dbi, &k, data ? &v : NULL), 0);
	raw_close(&r, true);
}

static void raw_del_record(const char *dir, uint64_t seq)
{
	uint8_t k[8];

	seq_key(seq, k);
	raw_del(dir, "records", k, 8, NULL, 0);
}

static size_t raw_entries(const char *dir, const char *db)
{
	struct raw r = raw_open(dir, false);
	MDB_dbi dbi = raw_db(&r, db);
	MDB_stat st;

	assert_int_equal(mdb_stat(r.txn, dbi, &st), 0);
	raw_close(&r, false);
	return st.ms_entries;
}

/* The documented hash: SHA-256 over the envelope without bytes [45, 77). */
static void envelope_hash(const uint8_t *env, size_t len, uint8_t out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	assert_non_null(ctx);
	assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, env, OFF_HASH), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, env + OFF_HASH + 32, len - OFF_HASH - 32), 1);
	assert_int_equal(EVP_DigestFinal_ex(ctx, out, NULL), 1);
	EVP_MD_CTX_free(ctx);
}

/*
 * An attacker who can write the files but holds no checkpoint key: from record @from on,
 * relink every record to its (possibly changed) predecessor, recompute its hash, and store
 * a matching head. Only signatures can tell.
 */
static void rewrite_chain_from(const char *dir, uint64_t from)
{
	struct raw r = raw_open(dir, true);
	MDB_dbi rec = raw_db(&r, "records"), meta = raw_db(&r, "meta");
	uint8_t prev[32], k[8], head[40];
	MDB_val key = {8, k}, v;
	uint64_t seq;

	seq_key(from - 1, k);
	if (from > 1) {
		assert_int_equal(mdb_get(r.txn, rec, &key, &v), 0);
		memcpy(prev, (uint8_t *)v.mv_data + OFF_HASH, 32);
	} else {
		memset(prev, 0, 32);
	}
	for (seq = from;; seq++) {
		uint8_t *env;

		seq_key(seq, k);
		if (mdb_get(r.txn, rec, &key, &v) != 0)
			break;
		env = malloc(v.mv_size);
		assert_non_null(env);
		memcpy(env, v.mv_data, v.mv_size);
		memcpy(env + OFF_PREV, prev, 32);
		envelope_hash(env, v.mv_size, env + OFF_HASH);
		memcpy(prev, env + OFF_HASH, 32);
		v.mv_data = env;
		assert_int_equal(mdb_put(r.txn, rec, &key, &v, 0), 0);
		free(env);
	}
	seq_key(seq - 1, head);
	memcpy(head + 8, prev, 32);
	key = (MDB_val){4, "head"};
	v = (MDB_val){40, head};
	assert_int_equal(mdb_put(r.txn, meta, &key, &v, 0), 0);
	raw_close(&r, true);
}

/* Replace the JSON of envelope @env (key section unchanged); new buffer. */
static uint8_t *envelope_with_json(const uint8_t *env, size_t len, const char *json,
				   size_t *ret_len)
{
	size_t klen = (size_t)env[77] << 8 | env[78], jlen = strlen(json);
	uint8_t *out = malloc(ENV_HDR + klen + jlen);

	assert_true(len >= ENV_HDR + klen);
	assert_non_null(out);
	memcpy(out, env, ENV_HDR + klen);
	memcpy(out + ENV_HDR + klen, json, jlen);
	*ret_len = ENV_HDR + klen + jlen;
	return out;
}

/* ---- append and read back ---- */

static int collect_cb(void *ctx, const json_t *rec)
{
	return json_array_append(ctx, (json_t *)rec);
}

static json_t *all_records(struct ledger *l, uint64_t from)
{
	json_t *all = json_array();

	assert_int_equal(ledger_foreach(l, from, collect_cb, all), 0);
	return all;
}

static json_t *query(struct ledger *l, const struct ledger_filter *flt)
{
	json_t *all = json_array();

	assert_int_equal(ledger_query(l, flt, collect_cb, all), 0);
	return all;
}

static uint64_t seq_of(const json_t *rec)
{
	return (uint64_t)json_integer_value(json_object_get(rec, "seq"));
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
	assert_int_equal(seq_of(r), 1);
	assert_string_equal(json_string_value(json_object_get(r, "prev")),
			    "0000000000000000000000000000000000000000000000000000000000000000");
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
		assert_int_equal(seq_of(json_array_get(all, i)), i + 1);
	json_decref(all);
	assert_int_equal(count(f->l), 20);
}

/* The envelope, byte by byte as docs/ledger.md describes it. */
static void test_stored_envelope_has_the_documented_layout(void **state)
{
	struct fx *f = *state;
	static const uint8_t keys[] = {1,   6, 'i',  's',  's',	 'u',  'e', 'd', 2,   8,   0,	0,
				       0,   0, 0x65, 0x53, 0xf1, 0x00, 3,   5,	 'a', 'l', 'i', 'c',
				       'e', 4, 4,    'w',  'e',	 'b',  '1', 5,	 4,   'r', 'o', 'o',
				       't', 7, 8,    0,	   0,	 0,    0,   0,	 0,   0,   42};
	const char *json = "{\"event\":\"issued\",\"host\":\"web1\",\"login\":\"root\","
			   "\"reason\":\"x\",\"serial\":42,\"time\":1700000000,\"user\":\"alice\"}";
	uint8_t *env1, *env2, h[32];
	size_t len1, len2;
	json_t *all;

	append(f->l, "requested", NULL);
	append_rec(f->l, json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:I}", "event", "issued", "time",
				   (json_int_t)T0, "user", "alice", "host", "web1", "login", "root",
				   "reason", "x", "serial", (json_int_t)42));
	all = all_records(f->l, 0);
	f->l = ledger_close(f->l);
	env1 = raw_record(f->dir, 1, &len1);
	env2 = raw_record(f->dir, 2, &len2);

	assert_memory_equal(env2, "JITL\x02", 5);
	assert_int_equal(be64(env2 + OFF_SEQ), 2);
	assert_memory_equal(env2 + OFF_PREV, env1 + OFF_HASH, 32);
	envelope_hash(env2, len2, h);
	assert_memory_equal(env2 + OFF_HASH, h, 32);
	envelope_hash(env1, len1, h);
	assert_memory_equal(env1 + OFF_HASH, h, 32);
	assert_int_equal(env2[77] << 8 | env2[78], sizeof keys);
	assert_memory_equal(env2 + ENV_HDR, keys, sizeof keys);
	assert_int_equal(len2, ENV_HDR + sizeof keys + strlen(json));
	assert_memory_equal(env2 + ENV_HDR + sizeof keys, json, strlen(json));
	/* The record view names the same hashes, in hex. */
	{
		char hex[65];

		for (int i = 0; i < 32; i++)
			sprintf(hex + 2 * i, "%02x", env2[OFF_HASH + i]);
		assert_string_equal(
			json_string_value(json_object_get(json_array_get(all, 1), "hash")), hex);
	}
	json_decref(all);
	free(env1);
	free(env2);
}

static void test_record_decode_reads_a_stored_envelope(void **state)
{
	struct fx *f = *state;
	json_t *rec = NULL, *all;
	uint8_t *env;
	size_t len;

	append(f->l, "requested", RID_A);
	all = all_records(f->l, 0);
	f->l = ledger_close(f->l);
	env = raw_record(f->dir, 1, &len);
	assert_int_equal(ledger_record_decode(env, len, &rec), 0);
	assert_true(json_equal(rec, json_array_get(all, 0)));
	json_decref(rec);
	json_decref(all);
	free(env);
}

static void test_record_decode_refuses_every_truncation_and_bit_flip(void **state)
{
	struct fx *f = *state;
	json_t *rec = NULL;
	uint8_t *env;
	size_t len;

	append_rec(f->l,
		   json_pack("{s:s, s:I, s:s, s:s, s:I}", "event", "issued", "time", (json_int_t)T0,
			     "user", "bob", "request_id", RID_B, "serial", (json_int_t)7));
	f->l = ledger_close(f->l);
	env = raw_record(f->dir, 1, &len);
	for (size_t i = 0; i < len; i++) {
		int r = ledger_record_decode(env, i, &rec);

		assert_true(r == JIT_E_FORMAT || r == JIT_E_LEDGER_CORRUPT);
		for (int bit = 0; bit < 8; bit++) {
			env[i] ^= (uint8_t)(1u << bit);
			r = ledger_record_decode(env, len, &rec);
			assert_true(r == JIT_E_FORMAT || r == JIT_E_LEDGER_CORRUPT);
			env[i] ^= (uint8_t)(1u << bit);
		}
	}
	assert_null(rec);
	assert_int_equal(ledger_record_decode(env, len, &rec), 0);
	json_decref(rec);
	free(env);
}

static void test_record_decode_refuses_a_rehashed_non_canonical_record(void **state)
{
	struct fx *f = *state;
	json_t *rec = NULL;
	uint8_t *env, *bad;
	size_t len, blen;

	append(f->l, "requested", NULL);
	f->l = ledger_close(f->l);
	env = raw_record(f->dir, 1, &len);
	/* Same content, other bytes: a space after the brace, hash made to fit. */
	bad = envelope_with_json(env, len, "{ \"event\":\"requested\",\"time\":1700000000}", &blen);
	envelope_hash(bad, blen, bad + OFF_HASH);
	assert_int_equal(ledger_record_decode(bad, blen, &rec), JIT_E_FORMAT);
	free(bad);
	/* A key section that disagrees with the JSON. */
	bad = envelope_with_json(env, len, "{\"event\":\"requested\",\"time\":1700000001}", &blen);
	envelope_hash(bad, blen, bad + OFF_HASH);
	assert_int_equal(ledger_record_decode(bad, blen, &rec), JIT_E_FORMAT);
	assert_null(rec);
	free(bad);
	free(env);
}

static void test_foreach_starts_at_from_seq_and_stops_on_nonzero(void **state)
{
	struct fx *f = *state;
	json_t *all;

	append_n(f->l, 5);
	all = all_records(f->l, 4);
	assert_int_equal(json_array_size(all), 2);
	assert_int_equal(seq_of(json_array_get(all, 0)), 4);
	json_decref(all);
	all = all_records(f->l, 6);
	assert_int_equal(json_array_size(all), 0);
	json_decref(all);
}

static int stop_at_two(void *ctx, const json_t *rec)
{
	(*(int *)ctx)++;
	return seq_of(rec) == 2 ? 42 : 0;
}

static void test_foreach_returns_the_callbacks_stop_value(void **state)
{
	struct fx *f = *state;
	int visited = 0;

	append_n(f->l, 5);
	assert_int_equal(ledger_foreach(f->l, 1, stop_at_two, &visited), 42);
	assert_int_equal(visited, 2);
}

static void test_bad_records_are_refused(void **state)
{
	struct fx *f = *state;
	static const char *const bad[] = {
		"[]",
		"{\"time\":1}",
		"{\"event\":\"x\"}",
		"{\"event\":7,\"time\":1}",
		"{\"event\":\"\",\"time\":1}",
		"{\"event\":\"x\",\"time\":-1}",
		"{\"event\":\"x\",\"time\":\"1\"}",
		"{\"event\":\"checkpoint\",\"time\":1}",
		"{\"event\":\"x\",\"time\":1,\"seq\":1}",
		"{\"event\":\"x\",\"time\":1,\"prev\":\"\"}",
		"{\"event\":\"x\",\"time\":1,\"v\":1}",
		"{\"event\":\"x\",\"time\":1,\"hash\":\"00\"}",
		"{\"event\":\"x\",\"time\":1,\"request_id\":\"\"}",
		"{\"event\":\"x\",\"time\":1,\"request_id\":5}",
		"{\"event\":\"x\",\"time\":1,\"serial\":0}",
		"{\"event\":\"x\",\"time\":1,\"serial\":\"5\"}",
		"{\"event\":\"x\",\"time\":1,\"user\":null}",
		"{\"event\":\"x\",\"time\":1,\"host\":\"\"}",
		"{\"event\":\"x\",\"time\":1,\"login\":\"a\\u0000b\"}",
	};
	uint64_t seq = 99;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_t *e = json_loads(bad[i], JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);

		assert_non_null(e);
		if (ledger_append(f->l, e, &seq) != -EINVAL)
			fail_msg("%s was not refused", bad[i]);
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

static void test_indexed_field_at_the_limit_passes_and_one_more_fails(void **state)
{
	struct fx *f = *state;
	static const char *const names[] = {"user", "host", "login", "event"};
	char s[LEDGER_FIELD_MAX + 2];

	for (size_t i = 0; i < 4; i++) {
		json_t *e = event("requested", NULL);

		memset(s, 'u', LEDGER_FIELD_MAX);
		s[LEDGER_FIELD_MAX] = '\0';
		json_object_set_new(e, names[i], json_string(s));
		assert_int_equal(ledger_append(f->l, e, NULL), 0);
		s[LEDGER_FIELD_MAX] = 'u';
		s[LEDGER_FIELD_MAX + 1] = '\0';
		json_object_set_new(e, names[i], json_string(s));
		assert_int_equal(ledger_append(f->l, e, NULL), -EINVAL);
		json_decref(e);
	}
	assert_verifies(f->l, 4);
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

static void test_options_over_their_limits_are_refused(void **state)
{
	struct fx *f = *state;
	struct ledger_options o = {.signer_id = LEDGER_SIGNER_ID_MAX + 1};
	struct ledger *l = NULL;

	f->l = ledger_close(f->l);
	assert_int_equal(ledger_open(f->dir, &o, &l), -EINVAL);
	o = (struct ledger_options){.group_max = LEDGER_GROUP_MAX + 1};
	assert_int_equal(ledger_open(f->dir, &o, &l), -EINVAL);
	assert_null(l);
}

/* A ledger written by the first version (JSON values, no format mark) is refused. */
static void test_ledger_of_the_first_format_is_refused(void **state)
{
	struct fx *f = *state;
	const char *old =
		"{\"event\":\"issued\",\"hash\":\"00\",\"prev\":\"\",\"seq\":1,\"time\":1,"
		"\"v\":1}";
	struct ledger_options ro = {.read_only = 1};
	struct ledger *l = NULL;
	struct raw r;

	f->l = ledger_close(f->l);
	rm_ledger_files(f->dir);
	r = raw_open(f->dir, true);
	{
		MDB_dbi dbi;
		uint8_t k[8];
		MDB_val key = {8, k}, v = {strlen(old), (void *)old};

		assert_int_equal(mdb_dbi_open(r.txn, "records", MDB_CREATE, &dbi), 0);
		seq_key(1, k);
		assert_int_equal(mdb_put(r.txn, dbi, &key, &v, 0), 0);
	}
	raw_close(&r, true);
	assert_int_equal(ledger_open(f->dir, NULL, &l), JIT_E_FORMAT);
	assert_int_equal(ledger_open(f->dir, &ro, &l), JIT_E_FORMAT);
	assert_null(l);
}

/* ---- the chain and tampering ---- */

static void test_intact_chain_verifies(void **state)
{
	struct fx *f = *state;

	append_n(f->l, 10);
	assert_verifies(f->l, 10);
}

static void test_empty_ledger_verifies_with_zero_records(void **state)
{
	struct fx *f = *state;
	struct ledger_verify_result res;
	uint8_t zero[32] = {0};

	assert_verifies(f->l, 0);
	assert_int_equal(ledger_verify2(f->l, NULL, 0, &res), 0);
	assert_int_equal(res.records, 0);
	assert_memory_equal(res.head_hash, zero, 32);
}

static void test_verify_reports_the_head_and_it_matches_ledger_head(void **state)
{
	struct fx *f = *state;
	struct ledger_verify_result res;
	uint8_t hash[32];
	uint64_t seq = 0;

	append_n(f->l, 7);
	assert_int_equal(ledger_verify2(f->l, NULL, 0, &res), 0);
	assert_int_equal(ledger_head(f->l, &seq, hash), 0);
	assert_int_equal(seq, 7);
	assert_int_equal(res.records, 7);
	assert_memory_equal(res.head_hash, hash, 32);
	assert_int_equal(res.checkpoints, 0);
	assert_int_equal(res.unsigned_records, 7);
}

/* Record 2 of 4 altered at every byte: verify must name seq 2 each time. */
static void tamper_every_position(struct fx *f, bool truncate)
{
	size_t len;
	uint8_t *orig;

	append_rec(f->l, json_pack("{s:s, s:I, s:s, s:s}", "event", "requested", "time",
				   (json_int_t)T0, "user", "alice", "request_id", RID_A));
	append_rec(f->l,
		   json_pack("{s:s, s:I, s:s, s:s, s:I}", "event", "issued", "time", (json_int_t)T0,
			     "user", "alice", "request_id", RID_A, "serial", (json_int_t)5));
	append_n(f->l, 2);
	f->l = ledger_close(f->l);
	orig = raw_record(f->dir, 2, &len);
	for (size_t i = 0; i < len; i++) {
		uint8_t *bad = malloc(len);

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

static void test_deleted_record_is_detected_at_its_seq(void **state)
{
	struct fx *f = *state;

	append_n(f->l, 5);
	f->l = ledger_close(f->l);
	raw_del_record(f->dir, 3);
	reopen_read_only(f);
	assert_corrupt_at(f->l, "seq 3: missing");
}

static void test_two_reordered_records_are_detected_at_the_first(void **state)
{
	struct fx *f = *state;
	uint8_t *r2, *r4;
	size_t l2, l4;

	append_n(f->l, 5);
	f->l = ledger_close(f->l);
	r2 = raw_record(f->dir, 2, &l2);
	r4 = raw_record(f->dir, 4, &l4);
	raw_put_record(f->dir, 2, r4, l4);
	raw_put_record(f->dir, 4, r2, l2);
	reopen_read_only(f);
	assert_corrupt_at(f->l, "seq 2: the record says it is seq 4");
	free(r2);
	free(r4);
}

static void test_two_reordered_and_rehashed_records_are_detected(void **state)
{
	struct fx *f = *state;
	uint8_t *r2, *r3;
	size_t l2, l3;

	append(f->l, "requested", RID_A);
	append(f->l, "approved", RID_A);
	append(f->l, "issued", RID_A);
	append_n(f->l, 2);
	f->l = ledger_close(f->l);
	/* Swap 2 and 3 and give each the seq of its new place, rehashing the chain. */
	r2 = raw_record(f->dir, 2, &l2);
	r3 = raw_record(f->dir, 3, &l3);
	seq_key(2, r3 + OFF_SEQ);
	seq_key(3, r2 + OFF_SEQ);
	raw_put_record(f->dir, 2, r3, l3);
	raw_put_record(f->dir, 3, r2, l2);
	rewrite_chain_from(f->dir, 2);
	/* Without checkpoints the chain alone cannot tell; the request index can: it lists
	 * seq 2 under "approved" but the record there is now "issued". */
	reopen_read_only(f);
	assert_corrupt_at(f->l, "seq 2: the event index");
	free(r2);
	free(r3);
}

static void test_truncated_tail_is_detected_after_the_last_record(void **state)
{
	struct fx *f = *state;

	append_n(f->l, 6);
	f->l = ledger_close(f->l);
	raw_del_record(f->dir, 6);
	raw_del_record(f->dir, 5);
	assert_int_equal(ledger_open(f->dir, NULL, &f->l), JIT_E_LEDGER_CORRUPT);
	assert_null(f->l);
	reopen_read_only(f);
	assert_corrupt_at(f->l, "seq 5: missing (the ledger head names seq 6");
}

static void test_record_swapped_in_from_another_ledger_is_detected(void **state)
{
	struct fx *f = *state;
	char other[300];
	struct ledger *l2 = NULL;
	uint8_t *foreign;
	size_t len;

	snprintf(other, sizeof other, "%s/other", f->dir);
	assert_int_equal(mkdir(other, 0700), 0);
	append_n(f->l, 5);
	f->l = ledger_close(f->l);
	/* Another ledger with the same kind of records: its seq 3 hashes fine on its own. */
	assert_int_equal(ledger_open(other, NULL, &l2), 0);
	append(l2, "requested", RID_B);
	append_n(l2, 4);
	ledger_close(l2);
	foreign = raw_record(other, 3, &len);
	raw_put_record(f->dir, 3, foreign, len);
	reopen_read_only(f);
	assert_corrupt_at(f->l, "seq 3: the record's prev is not the hash of the record before");
	free(foreign);
	rm_ledger_files(other);
	rmdir(other);
}

static void test_changed_prev_with_a_valid_hash_is_detected_at_its_seq(void **state)
{
	struct fx *f = *state;
	uint8_t *r1, *r3;
	size_t l1, l3;

	append_n(f->l, 5);
	f->l = ledger_close(f->l);
	/* Record 3 made to link to record 1, with its own hash recomputed. */
	r1 = raw_record(f->dir, 1, &l1);
	r3 = raw_record(f->dir, 3, &l3);
	memcpy(r3 + OFF_PREV, r1 + OFF_HASH, 32);
	envelope_hash(r3, l3, r3 + OFF_HASH);
	raw_put_record(f->dir, 3, r3, l3);
	reopen_read_only(f);
	assert_corrupt_at(f->l, "seq 3: the record's prev");
	free(r1);
	free(r3);
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
	uint8_t *env, *bad;
	size_t len, blen;

	append_n(f->l, 3);
	f->l = ledger_close(f->l);
	/* A self-consistent rewrite of the last record: only the stored head gives it away. */
	env = raw_record(f->dir, 3, &len);
	bad = envelope_with_json(env, len,
				 "{\"event\":\"requested\",\"request_id\":\"" RID_A
				 "\",\"time\":1700000000,\"x\":1}",
				 &blen);
	envelope_hash(bad, blen, bad + OFF_HASH);
	raw_put_record(f->dir, 3, bad, blen);
	assert_int_equal(ledger_open(f->dir, NULL, &f->l), JIT_E_LEDGER_CORRUPT);
	reopen_read_only(f);
	assert_corrupt_at(f->l, "seq 3: the record's hash differs from the ledger head");
	free(env);
	free(bad);
}

static void test_record_hidden_from_the_request_index_is_detected(void **state)
{
	struct fx *f = *state;
	uint8_t k[8];

	append(f->l, "requested", RID_A);
	append(f->l, "requested", RID_B);
	append(f->l, "issued", RID_B);
	f->l = ledger_close(f->l);
	seq_key(3, k);
	raw_del(f->dir, "by_request", RID_B, strlen(RID_B), k, 8);
	reopen_read_only(f);
	assert_corrupt_at(f->l, "seq 3: the record is missing from the request_id index");
}

static void test_record_moved_to_another_user_in_the_index_is_detected(void **state)
{
	struct fx *f = *state;
	uint8_t k[8];

	append_who(f->l, "alice", "db1", "root", "issued", T0);
	append_who(f->l, "bob", "db1", "root", "issued", T0);
	append_who(f->l, "carol", "db1", "root", "issued", T0);
	f->l = ledger_close(f->l);
	/* Hide bob's record from `list --user bob` by listing it under alice instead. */
	seq_key(2, k);
	raw_del(f->dir, "by_user", "bob", 3, k, 8);
	raw_put(f->dir, "by_user", "alice", 5, k, 8);
	reopen_read_only(f);
	assert_corrupt_at(f->l, "seq 2: the user index lists the record under a value it does "
				"not carry");
}

static void test_index_entry_for_a_record_that_does_not_exist_is_detected(void **state)
{
	struct fx *f = *state;
	uint8_t k[8];

	append_who(f->l, "alice", "db1", "root", "issued", T0);
	f->l = ledger_close(f->l);
	seq_key(9, k);
	raw_put(f->dir, "by_host", "db1", 3, k, 8);
	reopen_read_only(f);
	assert_corrupt_at(f->l, "the host index names seq 9, which does not exist");
}

/* ---- checkpoints ---- */

static void test_checkpoints_are_made_every_n_records_and_verify(void **state)
{
	struct fx *f = *state;
	struct ledger_options o = ckpt_opts(f, 4);
	struct ledger_filter flt = {.event = LEDGER_EVENT_CHECKPOINT};
	struct ledger_checkpoint last;
	struct ledger_verify_result res;
	json_t *cps;

	reopen(f, &o);
	append_n(f->l, 10);
	/* 4 records, checkpoint (5), 4 records, checkpoint (10), 2 records. */
	assert_int_equal(count(f->l), 12);
	cps = query(f->l, &flt);
	assert_int_equal(json_array_size(cps), 2);
	assert_int_equal(seq_of(json_array_get(cps, 0)), 5);
	assert_int_equal(seq_of(json_array_get(cps, 1)), 10);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(cps, 1), "signed_seq")),
			 9);
	json_decref(cps);

	res = verify_trusted(f->l, f->key);
	assert_int_equal(res.records, 12);
	assert_int_equal(res.checkpoints, 2);
	assert_int_equal(res.last_checkpoint.seq, 10);
	assert_int_equal(res.last_checkpoint.signed_seq, 9);
	assert_int_equal(res.unsigned_records, 2);
	assert_int_equal(ledger_last_checkpoint(f->l, &last), 0);
	assert_memory_equal(&last, &res.last_checkpoint, sizeof last);
	{
		char *fp = NULL;

		assert_int_equal(key_fingerprint(f->key, &fp), 0);
		assert_string_equal(last.signer, fp);
		free(fp);
	}
}

static void test_checkpoint_is_made_once_its_interval_of_record_time_passed(void **state)
{
	struct fx *f = *state;
	struct ledger_options o = {.checkpoint_signer = &f->signer,
				   .checkpoint_records = UINT64_MAX,
				   .checkpoint_sec = 600};
	struct ledger_checkpoint c;

	reopen(f, &o);
	append_rec(f->l, event_at("requested", NULL, T0)); /* the first one is signed at once */
	assert_int_equal(ledger_last_checkpoint(f->l, &c), 0);
	assert_int_equal(c.seq, 2);
	append_rec(f->l, event_at("requested", NULL, T0 + 100));
	append_rec(f->l, event_at("requested", NULL, T0 + 599));
	assert_int_equal(ledger_last_checkpoint(f->l, &c), 0);
	assert_int_equal(c.seq, 2);
	append_rec(f->l, event_at("requested", NULL, T0 + 600));
	assert_int_equal(ledger_last_checkpoint(f->l, &c), 0);
	assert_int_equal(c.seq, 6);
	assert_int_equal(c.signed_seq, 5);
	assert_int_equal(c.time, T0 + 600);
	verify_trusted(f->l, f->key);
}

static void test_explicit_checkpoint_signs_the_head_once(void **state)
{
	struct fx *f = *state;
	struct ledger_options o = ckpt_opts(f, UINT64_MAX);
	uint64_t seq = 0, again = 0;

	assert_int_equal(ledger_checkpoint(f->l, T0, &seq), -EINVAL); /* no signer */
	reopen(f, &o);
	assert_int_equal(ledger_checkpoint(f->l, T0, &seq), JIT_E_NOT_FOUND); /* empty */
	append_n(f->l, 3);
	assert_int_equal(ledger_checkpoint(f->l, T0 + 5, &seq), 0);
	assert_int_equal(seq, 4);
	assert_int_equal(ledger_checkpoint(f->l, T0 + 6, &again), 0);
	assert_int_equal(again, 4);
	assert_int_equal(count(f->l), 4);
	assert_int_equal(verify_trusted(f->l, f->key).unsigned_records, 0);
}

static int fail_sign(void *ctx, const struct key *pub, const uint8_t *data, size_t len,
		     const char *alg, struct wbuf *sig)
{
	(void)ctx, (void)pub, (void)data, (void)len, (void)alg, (void)sig;
	return JIT_E_AGENT;
}

static void test_failing_checkpoint_signer_does_not_stop_appends(void **state)
{
	struct fx *f = *state;
	struct signer broken = {.sign = fail_sign, .pub = f->key};
	struct ledger_options o = {.checkpoint_signer = &broken, .checkpoint_records = 2};
	struct ledger_checkpoint c;

	reopen(f, &o);
	append_n(f->l, 5);
	assert_int_equal(count(f->l), 5);
	assert_int_equal(ledger_last_checkpoint(f->l, &c), JIT_E_NOT_FOUND);
	assert_int_equal(ledger_checkpoint(f->l, T0, NULL), JIT_E_AGENT);
	assert_verifies(f->l, 5);
}

static void test_checkpoint_verifies_with_ssh_keygen(void **state)
{
	struct fx *f = *state;
	struct ledger_options o = ckpt_opts(f, UINT64_MAX);
	char path[400], cmd[1600], *line = NULL, *armor = NULL;
	struct ledger_filter flt = {.event = LEDGER_EVENT_CHECKPOINT};
	uint8_t *blob;
	size_t blob_len;
	json_t *cps, *c;
	FILE *fp;

	if (system("command -v ssh-keygen >/dev/null 2>&1") != 0)
		skip();
	reopen(f, &o);
	append_n(f->l, 3);
	assert_int_equal(ledger_checkpoint(f->l, T0 + 9, NULL), 0);
	cps = query(f->l, &flt);
	c = json_array_get(cps, 0);
	assert_non_null(c);
	/* The documented message, rebuilt from the record's fields. */
	snprintf(path, sizeof path, "%s/msg", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp,
		"jit-ssh-ledger-checkpoint seq=%" JSON_INTEGER_FORMAT
		" hash=%s time=%" JSON_INTEGER_FORMAT "\n",
		json_integer_value(json_object_get(c, "signed_seq")),
		json_string_value(json_object_get(c, "signed_hash")),
		json_integer_value(json_object_get(c, "time")));
	fclose(fp);
	{
		/* base64 -> blob -> armour, with OpenSSL's decoder, not ours. */
		const char *b64 = json_string_value(json_object_get(c, "signature"));
		size_t n = strlen(b64);
		int got;

		blob = malloc(n);
		assert_non_null(blob);
		got = EVP_DecodeBlock(blob, (const unsigned char *)b64, (int)n);
		assert_true(got > 0);
		blob_len =
			(size_t)got - (n > 1 && b64[n - 1] == '=') - (n > 2 && b64[n - 2] == '=');
	}
	assert_int_equal(sig_armor(blob, blob_len, &armor), 0);
	snprintf(path, sizeof path, "%s/msg.sig", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(armor, fp);
	fclose(fp);
	assert_int_equal(key_to_line(f->key, NULL, &line), 0);
	snprintf(path, sizeof path, "%s/allowed", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "ledger %s\n", line);
	fclose(fp);
	snprintf(cmd, sizeof cmd,
		 "cd %s && ssh-keygen -Y verify -f allowed -I ledger -n %s -s msg.sig < msg "
		 ">/dev/null 2>&1",
		 f->dir, LEDGER_CHECKPOINT_NAMESPACE);
	assert_int_equal(system(cmd), 0);
	/* And the same signature over another head does not verify. */
	snprintf(cmd, sizeof cmd,
		 "cd %s && sed -i 's/seq=3/seq=2/' msg && ! ssh-keygen -Y verify -f allowed "
		 "-I ledger -n %s -s msg.sig < msg >/dev/null 2>&1",
		 f->dir, LEDGER_CHECKPOINT_NAMESPACE);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof cmd, "cd %s && rm -f msg msg.sig allowed", f->dir);
	assert_int_equal(system(cmd), 0);
	json_decref(cps);
	free(blob);
	free(armor);
	free(line);
}

static void test_checkpoint_by_an_untrusted_key_is_detected(void **state)
{
	struct fx *f = *state;
	struct ledger_options o = ckpt_opts(f, 3);
	struct key *other = NULL;

	assert_int_equal(key_generate(KEY_ED25519, 0, &other), 0);
	reopen(f, &o);
	append_n(f->l, 7);
	verify_trusted(f->l, f->key);
	assert_corrupt2_at(f->l, other, 4, "the checkpoint is signed by an untrusted key SHA256:");
	key_free(other);
}

/* An attacker without the key rewrites history and rehashes: the checkpoint gives it away. */
static void test_rewritten_history_is_detected_at_the_next_checkpoint(void **state)
{
	struct fx *f = *state;
	struct ledger_options o = ckpt_opts(f, 4);
	uint8_t *env, *bad;
	size_t len, blen;

	reopen(f, &o);
	append_n(f->l, 6); /* 1-4 records, 5 checkpoint, 6-7 records */
	f->l = ledger_close(f->l);
	env = raw_record(f->dir, 2, &len);
	bad = envelope_with_json(env, len,
				 "{\"event\":\"requested\",\"request_id\":\"" RID_A
				 "\",\"time\":1700000000,\"y\":2}",
				 &blen);
	raw_put_record(f->dir, 2, bad, blen);
	rewrite_chain_from(f->dir, 2);
	reopen_read_only(f);
	assert_corrupt2_at(f->l, f->key, 5, "the checkpoint signs a hash that is not record 4's");
	/* Even without trusted keys: the signature no longer covers the chain. */
	assert_corrupt2_at(f->l, NULL, 5, "the checkpoint signs a hash");
	free(env);
	free(bad);
}

/* A checkpoint whose fields are changed to name the new head: its signature fails. */
static void test_checkpoint_changed_to_sign_another_hash_is_detected(void **state)
{
	struct fx *f = *state;
	struct ledger_options o = ckpt_opts(f, 4);
	uint8_t *env, *bad, *r4;
	size_t len, blen, l4;
	json_t *rec = NULL;
	char hex[65], *text;

	reopen(f, &o);
	append_n(f->l, 6);
	f->l = ledger_close(f->l);
	/* Rewrite record 2, relink, then fix the checkpoint's signed_hash to match. */
	env = raw_record(f->dir, 2, &len);
	bad = envelope_with_json(env, len,
				 "{\"event\":\"requested\",\"request_id\":\"" RID_A
				 "\",\"time\":1700000000,\"y\":2}",
				 &blen);
	raw_put_record(f->dir, 2, bad, blen);
	free(env);
	free(bad);
	rewrite_chain_from(f->dir, 2);
	r4 = raw_record(f->dir, 4, &l4);
	for (int i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", r4[OFF_HASH + i]);
	env = raw_record(f->dir, 5, &len);
	assert_int_equal(ledger_record_decode(env, len, &rec), 0);
	json_object_set_new(rec, "signed_hash", json_string(hex));
	json_object_del(rec, "seq");
	json_object_del(rec, "prev");
	json_object_del(rec, "hash");
	json_object_del(rec, "v");
	text = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
	bad = envelope_with_json(env, len, text, &blen);
	raw_put_record(f->dir, 5, bad, blen);
	rewrite_chain_from(f->dir, 5);
	reopen_read_only(f);
	assert_corrupt2_at(f->l, f->key, 5, "the checkpoint's signature does not verify");
	free(text);
	free(env);
	free(bad);
	free(r4);
	json_decref(rec);
}

static void test_deleted_last_checkpoint_is_detected(void **state)
{
	struct fx *f = *state;
	struct ledger_options o = ckpt_opts(f, 3);

	reopen(f, &o);
	append_n(f->l, 3); /* 1-3, checkpoint 4 */
	f->l = ledger_close(f->l);
	/* Truncate to before the checkpoint, head fixed: the checkpoint pointer remains. */
	raw_del_record(f->dir, 4);
	rewrite_chain_from(f->dir, 3);
	reopen_read_only(f);
	assert_corrupt2_at(f->l, f->key, 4, "the last checkpoint should be seq 0");
}

/* ---- queries ---- */

static void build_people(struct ledger *l)
{
	append_who(l, "alice", "db1", "root", "requested", T0);	    /* 1 */
	append_who(l, "alice", "db1", "root", "issued", T0 + 1);    /* 2 */
	append_who(l, "bob", "db1", "postgres", "issued", T0 + 2);  /* 3 */
	append_who(l, "bob", "web1", "root", "denied", T0 + 3);	    /* 4 */
	append_who(l, "alice", "web1", "deploy", "issued", T0 + 4); /* 5 */
	append_who(l, "carol", "db1", "root", "issued", T0 + 5);    /* 6 */
	append_who(l, "alice", "db1", "root", "issued", T0 + 6);    /* 7 */
}

static void assert_seqs(struct ledger *l, const struct ledger_filter *flt, const char *want)
{
	json_t *all = query(l, flt);
	char got[256] = "";

	for (size_t i = 0; i < json_array_size(all); i++)
		snprintf(got + strlen(got), sizeof got - strlen(got), "%s%" PRIu64, i ? "," : "",
			 seq_of(json_array_get(all, i)));
	json_decref(all);
	assert_string_equal(got, want);
}

static void test_query_by_user_returns_exactly_that_users_records_in_order(void **state)
{
	struct fx *f = *state;
	struct ledger_filter flt = {.user = "alice"};

	build_people(f->l);
	assert_seqs(f->l, &flt, "1,2,5,7");
	flt.user = "bob";
	assert_seqs(f->l, &flt, "3,4");
}

static void test_query_by_each_indexed_field(void **state)
{
	struct fx *f = *state;
	struct ledger_filter by_host = {.host = "web1"}, by_login = {.login = "root"},
			     by_event = {.event = "denied"}, by_req = {.request_id = RID_A};

	build_people(f->l);
	append_rec(f->l, json_pack("{s:s, s:I, s:I}", "event", "issued", "time", (json_int_t)T0,
				   "serial", (json_int_t)77)); /* 8 */
	assert_seqs(f->l, &by_host, "4,5");
	assert_seqs(f->l, &by_login, "1,2,4,6,7");
	assert_seqs(f->l, &by_event, "4");
	assert_seqs(f->l, &by_req, "1,2,3,4,5,6,7");
	by_req.serial = 77;
	by_req.request_id = NULL;
	assert_seqs(f->l, &by_req, "8");
}

static void test_query_conditions_all_hold(void **state)
{
	struct fx *f = *state;
	struct ledger_filter flt = {
		.user = "alice", .host = "db1", .login = "root", .event = "issued"};

	build_people(f->l);
	assert_seqs(f->l, &flt, "2,7");
	flt.host = "web1";
	assert_seqs(f->l, &flt, "");
}

static void test_query_time_range_includes_since_and_excludes_until(void **state)
{
	struct fx *f = *state;
	struct ledger_filter flt = {.since = T0 + 2, .until = T0 + 5};

	build_people(f->l);
	assert_seqs(f->l, &flt, "3,4,5");
	flt.until = 0;
	assert_seqs(f->l, &flt, "3,4,5,6,7");
	flt = (struct ledger_filter){.until = T0 + 1};
	assert_seqs(f->l, &flt, "1");
	flt = (struct ledger_filter){.since = T0 + 3, .until = T0 + 3};
	assert_seqs(f->l, &flt, "");
}

static void test_query_time_range_with_a_user_gives_the_same_answer_either_way(void **state)
{
	struct fx *f = *state;
	struct ledger_filter wide = {.user = "alice", .since = T0, .until = T0 + 100};
	struct ledger_filter narrow = {.user = "alice", .since = T0 + 4, .until = T0 + 5};

	/* alice's few records against a wide range, and a narrow range against many. */
	build_people(f->l);
	assert_seqs(f->l, &wide, "1,2,5,7");
	for (int i = 0; i < 20; i++)
		append_who(f->l, "alice", "db1", "root", "issued", T0 + 50);
	assert_seqs(f->l, &narrow, "5");
}

static void test_query_limit_and_newest_first(void **state)
{
	struct fx *f = *state;
	struct ledger_filter flt = {.user = "alice", .limit = 2};

	build_people(f->l);
	assert_seqs(f->l, &flt, "1,2");
	flt.newest_first = true;
	assert_seqs(f->l, &flt, "7,5");
	flt = (struct ledger_filter){.limit = 3, .newest_first = true};
	assert_seqs(f->l, &flt, "7,6,5");
	flt = (struct ledger_filter){.since = T0 + 1, .limit = 2, .newest_first = true};
	assert_seqs(f->l, &flt, "7,6");
}

static void test_query_for_unknown_or_impossible_values_finds_nothing(void **state)
{
	struct fx *f = *state;
	char longname[LEDGER_FIELD_MAX + 2];
	struct ledger_filter flt = {.user = "mallory"};

	build_people(f->l);
	assert_seqs(f->l, &flt, "");
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	flt.user = longname;
	assert_seqs(f->l, &flt, "");
	flt = (struct ledger_filter){.user = ""};
	assert_seqs(f->l, &flt, "");
	flt = (struct ledger_filter){.serial = (uint64_t)INT64_MAX + 1};
	assert_seqs(f->l, &flt, "");
}

static void test_empty_filter_visits_every_record(void **state)
{
	struct fx *f = *state;
	struct ledger_filter none = {0};

	build_people(f->l);
	assert_seqs(f->l, &none, "1,2,3,4,5,6,7");
	assert_seqs(f->l, NULL, "1,2,3,4,5,6,7");
}

static void test_query_through_a_wrong_index_entry_fails(void **state)
{
	struct fx *f = *state;
	struct ledger_filter flt = {.user = "alice"};
	json_t *all = json_array();
	uint8_t k[8];

	build_people(f->l);
	f->l = ledger_close(f->l);
	seq_key(3, k); /* bob's */
	raw_put(f->dir, "by_user", "alice", 5, k, 8);
	reopen_read_only(f);
	assert_int_equal(ledger_query(f->l, &flt, collect_cb, all), JIT_E_LEDGER_CORRUPT);
	json_decref(all);
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
	assert_int_equal(seq_of(json_array_get(events, 0)), 2);
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
	assert_int_equal(seq_of(json_array_get(events, 2)), 6);
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

/* ---- a full map, a full disk ---- */

static json_t *padded_event(size_t pad_len)
{
	char *pad = malloc(pad_len + 1);
	json_t *e = event("requested", RID_A);

	assert_non_null(pad);
	memset(pad, 'p', pad_len);
	pad[pad_len] = '\0';
	json_object_set_new(e, "reason", json_string(pad));
	free(pad);
	return e;
}

static unsigned fill_until_full(struct ledger *l, int want_error)
{
	json_t *e = padded_event(1500);
	unsigned n = 0;
	int r;

	while ((r = ledger_append(l, e, NULL)) == 0) {
		n++;
		assert_true(n < 100000);
	}
	assert_int_equal(r, want_error);
	json_decref(e);
	return n;
}

#define SMALL_MAP (256u * 1024u)

static void test_full_map_grows_by_its_step(void **state)
{
	struct fx *f = *state;
	struct ledger_options o = {
		.map_size = SMALL_MAP, .map_grow_step = SMALL_MAP, .map_size_max = 8 * SMALL_MAP};
	json_t *e = padded_event(1500);

	reopen(f, &o);
	/* 600 records of 1.5 KiB do not fit the first 256 KiB: the map grows. */
	for (int i = 0; i < 600; i++)
		assert_int_equal(ledger_append(f->l, e, NULL), 0);
	assert_int_equal(issue(f->l), 1);
	assert_verifies(f->l, 601);
	reopen(f, &o);
	assert_verifies(f->l, 601);
	json_decref(e);
}

static void test_map_at_its_maximum_refuses_writes_and_keeps_the_ledger_intact(void **state)
{
	struct fx *f = *state;
	struct ledger_options o = {.map_size = SMALL_MAP, .map_size_max = SMALL_MAP};
	struct issue_ctx c = {0};
	uint64_t serial = 0;
	unsigned n;

	reopen(f, &o);
	n = fill_until_full(f->l, JIT_E_LEDGER_FULL);
	assert_true(n > 10);
	assert_int_equal(ledger_issue(f->l, issue_cb, &c, &serial, NULL), JIT_E_LEDGER_FULL);
	assert_int_equal(serial, 0);
	assert_int_equal(count(f->l), n);
	assert_verifies(f->l, n);
	reopen(f, &o);
	assert_verifies(f->l, n);
	/* A larger maximum: the same ledger accepts writes again, the serial unconsumed. */
	o.map_size_max = 4 * SMALL_MAP;
	o.map_grow_step = SMALL_MAP;
	reopen(f, &o);
	append(f->l, "issued", RID_A);
	assert_int_equal(issue(f->l), 1);
	assert_verifies(f->l, n + 2);
}

/* A reader in another process adopts a map grown by the writer. */
static void test_reader_in_another_process_follows_a_grown_map(void **state)
{
	struct fx *f = *state;
	struct ledger_options o = {.map_size = SMALL_MAP, .map_grow_step = SMALL_MAP};
	int to_child[2], to_parent[2], status;
	json_t *e = padded_event(1500);
	pid_t pid;
	char b;

	reopen(f, &o);
	append_n(f->l, 3);
	assert_int_equal(pipe(to_child), 0);
	assert_int_equal(pipe(to_parent), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ledger_options ro = {.read_only = 1};
		struct ledger *l = NULL;
		uint64_t n = 0;

		if (ledger_open(f->dir, &ro, &l) < 0 || write(to_parent[1], "r", 1) != 1 ||
		    read(to_child[0], &b, 1) != 1)
			_exit(1);
		if (ledger_verify(l, &n, NULL) < 0 || n != 403)
			_exit(2);
		ledger_close(l);
		_exit(0);
	}
	assert_int_equal(read(to_parent[0], &b, 1), 1);
	for (int i = 0; i < 400; i++)
		assert_int_equal(ledger_append(f->l, e, NULL), 0);
	assert_int_equal(write(to_child[1], "w", 1), 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(to_child[0]);
	close(to_child[1]);
	close(to_parent[0]);
	close(to_parent[1]);
	json_decref(e);
}

/* A real full disk: a small tmpfs (needs mount(2), i.e. root in a namespace allowing it). */
static void test_full_disk_refuses_writes_and_recovers_when_space_returns(void **state)
{
	struct fx *f = *state;
	struct ledger_options o = {.map_size = 64u << 20};
	char mnt[300], filler[340], cmd[400];
	unsigned n;

	snprintf(mnt, sizeof mnt, "%s/tmpfs", f->dir);
	assert_int_equal(mkdir(mnt, 0700), 0);
	/* main() ran this test only after can_mount_tmpfs(): a failure here is one. */
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=2m,mode=0700") < 0)
		fail_msg("cannot mount a tmpfs on %s: %s", mnt, strerror(errno));
	snprintf(filler, sizeof filler, "%s/filler", mnt);
	snprintf(cmd, sizeof cmd, "dd if=/dev/zero of=%s bs=64k count=8 status=none", filler);
	assert_int_equal(system(cmd), 0);
	f->l = ledger_close(f->l);
	assert_int_equal(ledger_open(mnt, &o, &f->l), 0);
	n = fill_until_full(f->l, JIT_E_LEDGER_FULL);
	assert_true(n > 10);
	assert_verifies(f->l, n);
	/* Space returns: the same handle writes again, and nothing was lost. */
	assert_int_equal(unlink(filler), 0);
	append(f->l, "issued", RID_A);
	assert_int_equal(issue(f->l), 1);
	assert_verifies(f->l, n + 2);
	f->l = ledger_close(f->l);
	assert_int_equal(ledger_open(mnt, &o, &f->l), 0);
	assert_verifies(f->l, n + 2);
	f->l = ledger_close(f->l);
	assert_int_equal(umount(mnt), 0);
	rmdir(mnt);
	assert_int_equal(ledger_open(f->dir, NULL, &f->l), 0);
}

/* ---- a request's life: states, the sweep, timed checkpoints ---- */

#define GRACE 180u
#define RID_C "00000000000000000000000000000003"

/* A request's record as the CA writes it (issue.h): who, where, as whom, when. */
static json_t *life_rec(const char *ev, const char *rid, uint64_t time)
{
	json_t *e =
		json_pack("{s:s, s:I, s:s, s:s, s:s, s:s}", "event", ev, "time", (json_int_t)time,
			  "request_id", rid, "user", "alice", "host", "web-1", "login", "root");

	assert_non_null(e);
	return e;
}

static json_t *decided_rec(const char *rid, const char *decision, uint64_t time)
{
	json_t *e = life_rec("decided", rid, time);

	assert_int_equal(json_object_set_new(e, "decision", json_string(decision)), 0);
	return e;
}

static json_t *issued_rec(const char *rid, uint64_t serial, uint64_t valid_before, uint64_t time)
{
	json_t *e = life_rec("issued", rid, time);

	assert_int_equal(json_object_set_new(e, "serial", json_integer((json_int_t)serial)), 0);
	assert_int_equal(
		json_object_set_new(e, "valid_before", json_integer((json_int_t)valid_before)), 0);
	assert_int_equal(json_object_set_new(e, "key_id", json_string("jit-ssh user=alice")), 0);
	return e;
}

/* received, decided allowed, issued (valid until @valid_before) at T0. */
static void issued_story(struct ledger *l, const char *rid, uint64_t serial, uint64_t valid_before)
{
	append_rec(l, life_rec("received", rid, T0));
	append_rec(l, decided_rec(rid, "allowed", T0));
	append_rec(l, issued_rec(rid, serial, valid_before, T0));
}

static struct ledger_sweep_result sweep(struct ledger *l, uint64_t now)
{
	struct ledger_sweep_result res = {UINT64_MAX, UINT64_MAX};
	int r = ledger_sweep(l, now, GRACE, &res);

	if (r != 0)
		fail_msg("sweep failed: %s", jit_strerror(r));
	return res;
}

static json_t *events_named(struct ledger *l, const char *ev)
{
	struct ledger_filter flt = {.event = ev};

	return query(l, &flt);
}

static size_t n_events(struct ledger *l, const char *ev)
{
	json_t *a = events_named(l, ev);
	size_t n = json_array_size(a);

	json_decref(a);
	return n;
}

static void test_state_names_read_back_as_their_states(void **state)
{
	enum ledger_state st;

	(void)state;
	for (unsigned i = LEDGER_STATE_NONE + 1; i < LEDGER_STATE_END; i++) {
		assert_int_equal(ledger_state_from_name(ledger_state_name(i), &st), 0);
		assert_int_equal(st, i);
	}
	assert_string_equal(ledger_state_name(LEDGER_STATE_NEEDS_APPROVAL), "needs_approval");
	assert_int_equal(ledger_state_from_name("none", &st), -EINVAL);
	assert_int_equal(ledger_state_from_name("Issued", &st), -EINVAL);
	assert_int_equal(ledger_state_from_name(NULL, &st), -EINVAL);
	assert_null(ledger_state_name(LEDGER_STATE_END));
}

static void test_each_life_event_puts_its_request_in_its_state(void **state)
{
	static const struct {
		const char *event, *decision;
		enum ledger_state want;
	} cases[] = {
		{"received", NULL, LEDGER_STATE_RECEIVED},
		{"decided", "allowed", LEDGER_STATE_ALLOWED},
		{"decided", "denied", LEDGER_STATE_DENIED},
		{"decided", "needs_approval", LEDGER_STATE_NEEDS_APPROVAL},
		{"decided", "maybe", LEDGER_STATE_NONE},
		{"decided", NULL, LEDGER_STATE_NONE},
		{"denied", NULL, LEDGER_STATE_DENIED},
		{"issued", NULL, LEDGER_STATE_ISSUED},
		{"expired", NULL, LEDGER_STATE_EXPIRED},
		{"cancelled", NULL, LEDGER_STATE_CANCELLED},
		{"review", NULL, LEDGER_STATE_NONE},
		{"startup", NULL, LEDGER_STATE_NONE},
		{"checkpoint", NULL, LEDGER_STATE_NONE},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *e = event(cases[i].event, RID_A);

		if (cases[i].decision)
			json_object_set_new(e, "decision", json_string(cases[i].decision));
		if (ledger_record_state(e) != cases[i].want)
			fail_msg("%s/%s: state %d", cases[i].event,
				 cases[i].decision ? cases[i].decision : "-",
				 ledger_record_state(e));
		json_decref(e);
	}
	assert_int_equal(ledger_record_state(NULL), LEDGER_STATE_NONE);
}

static void test_story_state_is_that_of_its_latest_life_event(void **state)
{
	json_t *story = json_array();
	size_t at = 99;

	(void)state;
	assert_int_equal(ledger_story_state(story, &at), LEDGER_STATE_NONE);
	assert_int_equal(at, 99);
	json_array_append_new(story, life_rec("received", RID_A, T0));
	json_array_append_new(story, decided_rec(RID_A, "allowed", T0));
	assert_int_equal(ledger_story_state(story, &at), LEDGER_STATE_ALLOWED);
	assert_int_equal(at, 1);
	json_array_append_new(story, issued_rec(RID_A, 7, T0 + 60, T0));
	json_array_append_new(story, event("review", RID_A)); /* not a life event */
	assert_int_equal(ledger_story_state(story, &at), LEDGER_STATE_ISSUED);
	assert_int_equal(at, 2);
	json_array_append_new(story, event("expired", RID_A));
	assert_int_equal(ledger_story_state(story, NULL), LEDGER_STATE_EXPIRED);
	json_decref(story);
}

static void test_expired_and_cancelled_events_are_reserved_to_the_ledger(void **state)
{
	struct fx *f = *state;
	json_t *e = event("expired", RID_A);

	assert_int_equal(ledger_append(f->l, e, NULL), -EINVAL);
	json_decref(e);
	e = event("cancelled", RID_A);
	assert_int_equal(ledger_append(f->l, e, NULL), -EINVAL);
	json_decref(e);
	assert_int_equal(count(f->l), 0);
}

static void test_sweep_records_expired_once_valid_before_has_passed(void **state)
{
	struct fx *f = *state;
	struct ledger_sweep_result res;
	json_t *a, *x;

	issued_story(f->l, RID_A, 7, T0 + 600);
	res = sweep(f->l, T0 + 599); /* still valid: the certificate works until valid_before */
	assert_int_equal(res.expired, 0);
	assert_int_equal(res.cancelled, 0);
	assert_int_equal(count(f->l), 3);
	res = sweep(f->l, T0 + 600);
	assert_int_equal(res.expired, 1);
	assert_int_equal(res.cancelled, 0);
	a = events_named(f->l, "expired");
	assert_int_equal(json_array_size(a), 1);
	x = json_array_get(a, 0);
	assert_int_equal(seq_of(x), 4);
	assert_int_equal(json_integer_value(json_object_get(x, "time")), T0 + 600);
	assert_int_equal(json_integer_value(json_object_get(x, "valid_before")), T0 + 600);
	assert_int_equal(json_integer_value(json_object_get(x, "serial")), 7);
	assert_int_equal(json_integer_value(json_object_get(x, "issued_seq")), 3);
	assert_string_equal(json_string_value(json_object_get(x, "request_id")), RID_A);
	assert_string_equal(json_string_value(json_object_get(x, "user")), "alice");
	assert_string_equal(json_string_value(json_object_get(x, "host")), "web-1");
	assert_string_equal(json_string_value(json_object_get(x, "login")), "root");
	assert_string_equal(json_string_value(json_object_get(x, "key_id")), "jit-ssh user=alice");
	json_decref(a);
	assert_verifies(f->l, 4);
}

static void test_sweep_records_each_expiry_once(void **state)
{
	struct fx *f = *state;

	issued_story(f->l, RID_A, 7, T0 + 600);
	assert_int_equal(sweep(f->l, T0 + 700).expired, 1);
	assert_int_equal(sweep(f->l, T0 + 700).expired, 0);
	assert_int_equal(sweep(f->l, T0 + 9000).expired, 0);
	reopen(f, NULL);
	assert_int_equal(sweep(f->l, T0 + 9000).expired, 0);
	assert_int_equal(n_events(f->l, "expired"), 1);
}

static void test_expired_record_is_part_of_the_requests_story(void **state)
{
	struct fx *f = *state;
	json_t *story = NULL;

	issued_story(f->l, RID_A, 7, T0 + 600);
	sweep(f->l, T0 + 600);
	assert_int_equal(ledger_request_events(f->l, RID_A, &story), 0);
	assert_int_equal(json_array_size(story), 4);
	assert_int_equal(ledger_story_state(story, NULL), LEDGER_STATE_EXPIRED);
	json_decref(story);
	assert_int_equal(ledger_serial_events(f->l, 7, &story), 0);
	assert_int_equal(json_array_size(story), 2); /* issued, expired */
	json_decref(story);
}

static void test_sweep_expires_certificates_in_order_of_valid_before(void **state)
{
	struct fx *f = *state;
	json_t *a;

	issued_story(f->l, RID_A, 7, T0 + 900);
	issued_story(f->l, RID_B, 8, T0 + 300);
	issued_story(f->l, RID_C, 9, T0 + 600);
	assert_int_equal(sweep(f->l, T0 + 650).expired, 2);
	a = events_named(f->l, "expired");
	assert_int_equal(json_array_size(a), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(a, 0), "serial")), 8);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(a, 1), "serial")), 9);
	json_decref(a);
	assert_int_equal(sweep(f->l, T0 + 900).expired, 1);
}

static void test_issued_record_without_validity_is_never_expired(void **state)
{
	struct fx *f = *state;

	append(f->l, "issued", RID_A); /* no serial, no valid_before */
	assert_int_equal(sweep(f->l, T0 + 100000).expired, 0);
	assert_int_equal(count(f->l), 1);
}

static void test_sweep_cancels_a_request_never_decided_after_the_grace_period(void **state)
{
	struct fx *f = *state;
	json_t *a, *c;

	append_rec(f->l, life_rec("received", RID_A, T0));
	assert_int_equal(sweep(f->l, T0 + GRACE - 1).cancelled, 0); /* maybe still in flight */
	assert_int_equal(count(f->l), 1);
	assert_int_equal(sweep(f->l, T0 + GRACE).cancelled, 1);
	a = events_named(f->l, "cancelled");
	assert_int_equal(json_array_size(a), 1);
	c = json_array_get(a, 0);
	assert_int_equal(json_integer_value(json_object_get(c, "time")), T0 + GRACE);
	assert_int_equal(json_integer_value(json_object_get(c, "received_seq")), 1);
	assert_string_equal(json_string_value(json_object_get(c, "last_event")), "received");
	assert_string_equal(json_string_value(json_object_get(c, "request_id")), RID_A);
	assert_string_equal(json_string_value(json_object_get(c, "user")), "alice");
	assert_string_equal(json_string_value(json_object_get(c, "login")), "root");
	assert_non_null(strstr(json_string_value(json_object_get(c, "reason")),
			       "no decision was recorded"));
	json_decref(a);
	assert_int_equal(sweep(f->l, T0 + 2 * GRACE).cancelled, 0);
	assert_verifies(f->l, 2);
}

static void test_sweep_cancels_an_allowed_request_whose_certificate_was_never_recorded(void **state)
{
	struct fx *f = *state;
	json_t *a, *c;

	append_rec(f->l, life_rec("received", RID_A, T0));
	append_rec(f->l, decided_rec(RID_A, "allowed", T0));
	assert_int_equal(sweep(f->l, T0 + GRACE).cancelled, 1);
	a = events_named(f->l, "cancelled");
	c = json_array_get(a, 0);
	assert_string_equal(json_string_value(json_object_get(c, "last_event")), "decided");
	assert_non_null(strstr(json_string_value(json_object_get(c, "reason")),
			       "no certificate was recorded"));
	json_decref(a);
}

static void test_a_cancelled_request_gets_no_certificate_afterwards(void **state)
{
	struct fx *f = *state;
	struct issue_ctx c = {.request_id = RID_A};
	uint64_t serial = 0, before;

	append_rec(f->l, life_rec("received", RID_A, T0));
	append_rec(f->l, decided_rec(RID_A, "allowed", T0));
	assert_int_equal(sweep(f->l, T0 + GRACE).cancelled, 1);
	before = count(f->l);
	assert_int_equal(ledger_issue(f->l, issue_cb, &c, &serial, NULL), JIT_E_EXPIRED);
	assert_int_equal(serial, 0);
	assert_int_equal(count(f->l), before);
	assert_int_equal(n_events(f->l, "issued"), 0);
	/* Another request is not affected, and its serial is the first. */
	c.request_id = RID_B;
	assert_int_equal(ledger_issue(f->l, issue_cb, &c, &serial, NULL), 0);
	assert_int_equal(serial, 1);
	assert_verifies(f->l, before + 1);
}

static void test_a_cancelled_request_gets_no_decision_afterwards(void **state)
{
	struct fx *f = *state;
	json_t *rec;
	uint64_t before;

	append_rec(f->l, life_rec("received", RID_A, T0));
	assert_int_equal(sweep(f->l, T0 + GRACE).cancelled, 1);
	before = count(f->l);
	rec = decided_rec(RID_A, "denied", T0 + GRACE + 1);
	assert_int_equal(ledger_append(f->l, rec, NULL), JIT_E_EXPIRED);
	json_decref(rec);
	assert_int_equal(count(f->l), before);
	/* A review of it, or a decision for another request, is not refused. */
	append_rec(f->l, decided_rec(RID_B, "denied", T0 + GRACE + 1));
	assert_verifies(f->l, before + 1);
}

/* A damaged record (a ledger served on with --continue-on-broken-chain) is verify's to name;
 * the sweep passes over it and still closes the requests around it. */
static void test_sweep_passes_over_a_damaged_record(void **state)
{
	struct fx *f = *state;
	uint8_t junk[] = "not an envelope";

	append_rec(f->l, life_rec("received", RID_A, T0));
	append_rec(f->l, life_rec("received", RID_B, T0)); /* seq 2: damaged below */
	append_rec(f->l, life_rec("received", RID_C, T0));
	f->l = ledger_close(f->l);
	raw_put_record(f->dir, 2, junk, sizeof junk);
	reopen(f, NULL);
	assert_int_equal(sweep(f->l, T0 + GRACE).cancelled, 2); /* A and C */
	assert_int_equal(n_events(f->l, "cancelled"), 2);
}

static void test_sweep_never_cancels_an_answered_request(void **state)
{
	struct fx *f = *state;

	append_rec(f->l, life_rec("received", RID_A, T0));
	append_rec(f->l, decided_rec(RID_A, "denied", T0));
	append_rec(f->l, life_rec("received", RID_B, T0));
	append_rec(f->l, decided_rec(RID_B, "needs_approval", T0));
	issued_story(f->l, RID_C, 7, T0 + 100000);
	assert_int_equal(sweep(f->l, T0 + 10 * GRACE).cancelled, 0);
	assert_int_equal(count(f->l), 7);
}

static void test_sweep_reads_records_written_before_sweeps_existed(void **state)
{
	struct fx *f = *state;
	struct raw r;

	/* A ledger whose life tables and cursor are gone, as one written by an older CA. */
	issued_story(f->l, RID_A, 7, T0 + 60);
	append_rec(f->l, life_rec("received", RID_B, T0));
	f->l = ledger_close(f->l);
	r = raw_open(f->dir, true);
	assert_int_equal(mdb_drop(r.txn, raw_db(&r, "life_open"), 1), 0);
	assert_int_equal(mdb_drop(r.txn, raw_db(&r, "life_unexpired"), 1), 0);
	raw_close(&r, true); /* (no sweep ran, so there is no "life_cursor" either) */
	reopen_read_only(f); /* a review tool can still open it */
	reopen(f, NULL);
	{
		struct ledger_sweep_result res = sweep(f->l, T0 + GRACE);

		assert_int_equal(res.expired, 1);
		assert_int_equal(res.cancelled, 1);
	}
	assert_verifies(f->l, 6);
}

static void test_sweep_appends_many_items_in_bounded_batches_each_once(void **state)
{
	struct fx *f = *state;
	const unsigned n = LEDGER_SWEEP_BATCH_MAX + 40;
	struct ledger_sweep_result res;
	json_t *a, *x;
	size_t i;

	for (unsigned k = 0; k < n; k++)
		append_rec(f->l, issued_rec(RID_A, k + 1, T0 + 1 + k, T0));
	res = sweep(f->l, T0 + 1 + n);
	assert_int_equal(res.expired, n);
	a = events_named(f->l, "expired");
	assert_int_equal(json_array_size(a), n);
	json_array_foreach(a, i, x)
	{
		assert_int_equal(json_integer_value(json_object_get(x, "serial")), i + 1);
	}
	json_decref(a);
	assert_int_equal(sweep(f->l, T0 + 2 * n).expired, 0);
	assert_verifies(f->l, 2 * n);
}

static void test_sweep_of_a_read_only_ledger_is_refused(void **state)
{
	struct fx *f = *state;

	reopen_read_only(f);
	assert_int_equal(ledger_sweep(f->l, T0, GRACE, NULL), -EROFS);
	assert_int_equal(ledger_sweep(f->l, (uint64_t)INT64_MAX + 1, GRACE, NULL), -EINVAL);
}

static void test_sweep_records_are_covered_by_the_next_checkpoint(void **state)
{
	struct fx *f = *state;
	struct ledger_options o = ckpt_opts(f, UINT64_MAX);
	uint64_t seq = 0;

	reopen(f, &o);
	issued_story(f->l, RID_A, 7, T0 + 60);
	append_rec(f->l, life_rec("received", RID_B, T0));
	sweep(f->l, T0 + GRACE);
	assert_int_equal(ledger_checkpoint(f->l, T0 + GRACE, &seq), 0);
	assert_int_equal(verify_trusted(f->l, f->key).unsigned_records, 0);
	assert_int_equal(n_events(f->l, "expired") + n_events(f->l, "cancelled"), 2);
}

/* An "expired" record's time is its valid_before, maybe long past; a checkpoint made in the
 * sweep's group is signed with the sweep's time, so checkpoint times never go back. */
static void test_a_checkpoint_in_a_sweep_is_signed_with_the_sweeps_time(void **state)
{
	struct fx *f = *state;
	struct ledger_options o = ckpt_opts(f, 3);
	struct ledger_checkpoint c;
	uint64_t late = T0 + 90 * 86400;

	reopen(f, &o);
	issued_story(f->l, RID_A, 7, T0 + 60); /* 3 records: a checkpoint at T0 follows */
	assert_int_equal(ledger_last_checkpoint(f->l, &c), 0);
	assert_int_equal(c.time, T0);
	append_rec(f->l, life_rec("received", RID_B, late - 10));
	append_rec(f->l, decided_rec(RID_B, "denied", late - 10));
	assert_int_equal(sweep(f->l, late).expired, 1); /* the 3rd record: a checkpoint is due */
	assert_int_equal(ledger_last_checkpoint(f->l, &c), 0);
	assert_int_equal(c.time, late);
	assert_verifies(f->l, 8);
}

static void test_checkpoint_if_due_signs_an_idle_tail_once_its_time_has_passed(void **state)
{
	struct fx *f = *state;
	struct ledger_options o = {.checkpoint_signer = &f->signer,
				   .checkpoint_records = UINT64_MAX,
				   .checkpoint_sec = 600};
	struct ledger_checkpoint c;
	uint64_t seq = 99;

	reopen(f, &o);
	assert_int_equal(ledger_checkpoint_if_due(f->l, T0, &seq), 0); /* empty: nothing */
	assert_int_equal(seq, 0);
	append_rec(f->l, event_at("requested", NULL, T0)); /* signed at once: 1, checkpoint 2 */
	append_rec(f->l, event_at("requested", NULL, T0 + 10));
	assert_int_equal(ledger_checkpoint_if_due(f->l, T0 + 599, &seq), 0);
	assert_int_equal(seq, 0);
	assert_int_equal(count(f->l), 3);
	assert_int_equal(ledger_checkpoint_if_due(f->l, T0 + 600, &seq), 0);
	assert_int_equal(seq, 4);
	assert_int_equal(ledger_last_checkpoint(f->l, &c), 0);
	assert_int_equal(c.signed_seq, 3);
	assert_int_equal(c.time, T0 + 600);
	/* Nothing new since: no checkpoint, however late. */
	assert_int_equal(ledger_checkpoint_if_due(f->l, T0 + 100000, &seq), 0);
	assert_int_equal(seq, 0);
	assert_int_equal(count(f->l), 4);
	assert_int_equal(verify_trusted(f->l, f->key).unsigned_records, 0);
}

static void test_checkpoint_if_due_needs_a_signer(void **state)
{
	struct fx *f = *state;

	append_n(f->l, 1);
	assert_int_equal(ledger_checkpoint_if_due(f->l, T0 + 100000, NULL), -EINVAL);
}

static void test_failing_checkpoint_signer_is_reported_until_a_checkpoint_succeeds(void **state)
{
	struct fx *f = *state;
	struct signer broken = {.sign = fail_sign, .pub = f->key};
	struct ledger_options o = {.checkpoint_signer = &broken, .checkpoint_records = 2};

	assert_int_equal(ledger_checkpoint_failure(f->l), 0);
	reopen(f, &o);
	assert_int_equal(ledger_checkpoint_failure(f->l), 0);
	append_n(f->l, 3); /* the automatic checkpoint fails, the appends do not */
	assert_int_equal(count(f->l), 3);
	assert_int_equal(ledger_checkpoint_failure(f->l), JIT_E_AGENT);
	assert_int_equal(ledger_checkpoint_if_due(f->l, T0, NULL), JIT_E_AGENT);
	assert_int_equal(ledger_checkpoint_failure(f->l), JIT_E_AGENT);
	o = ckpt_opts(f, 2);
	reopen(f, &o);
	append_n(f->l, 1);
	assert_int_equal(ledger_checkpoint_failure(f->l), 0);
	verify_trusted(f->l, f->key);
}

/* ---- threads: group commit ---- */

#define THREADS 8
#define PER_THREAD 25

struct worker {
	struct ledger *l;
	char rid[40];
	int failures;
	int fail_every; /* issue: this thread's every n-th callback fails */
	uint64_t serials[PER_THREAD];
	int n_serials;
	int result;
};

static void *append_worker(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < PER_THREAD; i++) {
		json_t *e = json_pack("{s:s, s:I, s:s, s:i, s:s}", "event", "requested", "time",
				      (json_int_t)T0, "request_id", w->rid, "i", i, "user", w->rid);

		if (!e || ledger_append(w->l, e, NULL) < 0)
			w->failures++;
		json_decref(e);
		/* Every 5th append is invalid and must fail alone. */
		e = json_pack("{s:s}", "event", "no-time");
		if (i % 5 == 0 && ledger_append(w->l, e, NULL) != -EINVAL)
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
		uint64_t last_seq = 0;

		assert_int_equal(ledger_request_events(f->l, w[i].rid, &events), 0);
		assert_int_equal(json_array_size(events), PER_THREAD);
		for (size_t j = 0; j < PER_THREAD; j++) {
			json_t *r = json_array_get(events, j);

			assert_int_equal(json_integer_value(json_object_get(r, "i")), j);
			assert_true(seq_of(r) > last_seq);
			last_seq = seq_of(r);
		}
		json_decref(events);
	}
}

static int flaky_issue_cb(void *ctx, uint64_t serial, json_t **ret)
{
	struct worker *w = ctx;

	if (w->fail_every && (w->n_serials + w->failures) % w->fail_every == w->fail_every - 1)
		return JIT_E_CRYPTO;
	*ret = json_pack("{s:s, s:I, s:s, s:I}", "event", "issued", "time", (json_int_t)T0,
			 "request_id", w->rid, "serial", (json_int_t)serial);
	return *ret ? 0 : -ENOMEM;
}

static void *issue_worker(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < PER_THREAD; i++) {
		uint64_t serial;
		int r = ledger_issue(w->l, flaky_issue_cb, w, &serial, NULL);

		if (r == 0)
			w->serials[w->n_serials++] = serial;
		else if (r == JIT_E_CRYPTO && w->fail_every)
			w->failures++;
		else
			w->result = r;
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static void concurrent_issues(struct fx *f, unsigned group_max, int fail_every)
{
	struct ledger_options o = {.group_max = group_max,
				   .checkpoint_signer = &f->signer,
				   .checkpoint_records = 16,
				   .checkpoint_sec = UINT64_MAX};
	struct worker w[THREADS] = {0};
	pthread_t t[THREADS];
	uint64_t all[THREADS * PER_THREAD];
	struct ledger_verify_result res;
	size_t n = 0;

	reopen(f, &o);
	for (int i = 0; i < THREADS; i++) {
		w[i].l = f->l;
		w[i].fail_every = i % 2 ? fail_every : 0;
		snprintf(w[i].rid, sizeof w[i].rid, "thread-%d", i);
		assert_int_equal(pthread_create(&t[i], NULL, issue_worker, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].result, 0);
		memcpy(all + n, w[i].serials, (size_t)w[i].n_serials * sizeof all[0]);
		n += (size_t)w[i].n_serials;
	}
	/* Every serial handed out is distinct; without failures they are 1..n. A failed
	 * issuance's serial is skipped when a later one of its group was written. */
	qsort(all, n, sizeof all[0], cmp_u64);
	for (size_t i = 0; i < n; i++) {
		if (fail_every)
			assert_true(i == 0 ? all[i] >= 1 : all[i] > all[i - 1]);
		else
			assert_int_equal(all[i], i + 1);
	}
	res = verify_trusted(f->l, f->key);
	assert_int_equal(res.records, n + res.checkpoints);
	/* At most 15 records plus one group (<= THREADS) between two checkpoints. */
	assert_true(res.checkpoints >= n / (16 + THREADS));
	for (size_t i = 0; i < n; i++) {
		json_t *events = NULL;

		assert_int_equal(ledger_serial_events(f->l, all[i], &events), 0);
		assert_int_equal(json_array_size(events), 1);
		json_decref(events);
	}
}

static void test_concurrent_issues_in_groups_get_distinct_serials(void **state)
{
	concurrent_issues(*state, 0, 0);
}

static void test_concurrent_issues_one_commit_each_get_distinct_serials(void **state)
{
	concurrent_issues(*state, 1, 0);
}

static void test_failing_issuance_in_a_group_fails_alone(void **state)
{
	concurrent_issues(*state, 0, 3);
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

/* ---- backup ---- */

static void *backup_load(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < 200; i++)
		if (ledger_issue(w->l, flaky_issue_cb, w, NULL, NULL) < 0)
			w->failures++;
	return NULL;
}

static void test_backup_while_writing_opens_and_verifies(void **state)
{
	struct fx *f = *state;
	struct ledger_options o = ckpt_opts(f, 50);
	struct worker w = {0};
	struct ledger *copy = NULL;
	char dest[300], path[340];
	uint64_t before, n = 0;
	struct stat st;
	pthread_t t;

	reopen(f, &o);
	append_n(f->l, 20);
	before = count(f->l);
	w.l = f->l;
	snprintf(w.rid, sizeof w.rid, "backup-load");
	assert_int_equal(pthread_create(&t, NULL, backup_load, &w), 0);
	snprintf(dest, sizeof dest, "%s/backup", f->dir);
	assert_int_equal(ledger_backup(f->l, dest), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.failures, 0);
	snprintf(path, sizeof path, "%s/data.mdb", dest);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(ledger_backup(f->l, dest), -EEXIST);

	/* The copy is a ledger of its own (another file, so a second open is allowed). */
	assert_int_equal(ledger_open(dest, NULL, &copy), 0);
	assert_int_equal(ledger_verify(copy, &n, NULL), 0);
	assert_true(n >= before);
	assert_true(n <= count(f->l));
	verify_trusted(copy, f->key);
	assert_int_equal(ledger_nonce_claim(copy, "after-restore-001", T0, 60), 0);
	ledger_close(copy);
	assert_verifies(f->l, count(f->l));
	rm_ledger_files(dest);
	rmdir(dest);
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
	assert_int_equal(ledger_checkpoint(f->l, T0, NULL), -EROFS);
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

/* Whether this process may mount a tmpfs (root, or a namespace that allows it). */
static bool can_mount_tmpfs(const char **ret_why)
{
	const char *tmp = getenv("TMPDIR");
	char dir[256];
	bool ok;

	snprintf(dir, sizeof dir, "%s/jit-ledger-mnt-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		*ret_why = strerror(errno);
		return false;
	}
	ok = mount("tmpfs", dir, "tmpfs", 0, "size=1m,mode=0700") == 0;
	*ret_why = ok ? "" : strerror(errno);
	if (ok)
		umount(dir);
	rmdir(dir);
	return ok;
}

/*
 * `test-ledger --full-disk` runs the one test that needs a real file system to fill (meson
 * test "ledger-full-disk"), and exits 77, which meson reports as SKIP, where no tmpfs can be
 * mounted: a cmocka skip() would be counted as a pass.
 */
static int run_full_disk(void)
{
	const struct CMUnitTest tests[] = {
		T(test_full_disk_refuses_writes_and_recovers_when_space_returns),
	};
	const char *why;

	if (!can_mount_tmpfs(&why)) {
		printf("SKIP: cannot mount a tmpfs here (%s): the full-disk test needs one\n", why);
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--full-disk") == 0)
		return run_full_disk();
	if (argc != 1) {
		fprintf(stderr, "usage: %s [--full-disk]\n", argv[0]);
		return 2;
	}

	const struct CMUnitTest tests[] = {
		T(test_appended_record_reads_back_with_its_fields),
		T(test_records_survive_close_and_reopen),
		T(test_seq_starts_at_one_and_has_no_gaps),
		T(test_stored_envelope_has_the_documented_layout),
		T(test_record_decode_reads_a_stored_envelope),
		T(test_record_decode_refuses_every_truncation_and_bit_flip),
		T(test_record_decode_refuses_a_rehashed_non_canonical_record),
		T(test_foreach_starts_at_from_seq_and_stops_on_nonzero),
		T(test_foreach_returns_the_callbacks_stop_value),
		T(test_bad_records_are_refused),
		T(test_request_id_at_the_limit_passes_and_one_more_fails),
		T(test_indexed_field_at_the_limit_passes_and_one_more_fails),
		T(test_record_over_the_size_limit_is_refused_and_nothing_written),
		T(test_record_that_cannot_be_encoded_is_refused),
		T(test_missing_directory_fails_with_enoent),
		T(test_options_over_their_limits_are_refused),
		T(test_ledger_of_the_first_format_is_refused),
		T(test_intact_chain_verifies),
		T(test_empty_ledger_verifies_with_zero_records),
		T(test_verify_reports_the_head_and_it_matches_ledger_head),
		T(test_flipped_bit_anywhere_in_a_record_is_detected_at_its_seq),
		T(test_record_truncated_at_any_length_is_detected_at_its_seq),
		T(test_deleted_record_is_detected_at_its_seq),
		T(test_two_reordered_records_are_detected_at_the_first),
		T(test_two_reordered_and_rehashed_records_are_detected),
		T(test_truncated_tail_is_detected_after_the_last_record),
		T(test_record_swapped_in_from_another_ledger_is_detected),
		T(test_changed_prev_with_a_valid_hash_is_detected_at_its_seq),
		T(test_deleted_last_record_makes_writing_open_fail),
		T(test_rewritten_last_record_makes_writing_open_fail),
		T(test_record_hidden_from_the_request_index_is_detected),
		T(test_record_moved_to_another_user_in_the_index_is_detected),
		T(test_index_entry_for_a_record_that_does_not_exist_is_detected),
		T(test_checkpoints_are_made_every_n_records_and_verify),
		T(test_checkpoint_is_made_once_its_interval_of_record_time_passed),
		T(test_explicit_checkpoint_signs_the_head_once),
		T(test_failing_checkpoint_signer_does_not_stop_appends),
		T(test_checkpoint_verifies_with_ssh_keygen),
		T(test_checkpoint_by_an_untrusted_key_is_detected),
		T(test_rewritten_history_is_detected_at_the_next_checkpoint),
		T(test_checkpoint_changed_to_sign_another_hash_is_detected),
		T(test_deleted_last_checkpoint_is_detected),
		T(test_query_by_user_returns_exactly_that_users_records_in_order),
		T(test_query_by_each_indexed_field),
		T(test_query_conditions_all_hold),
		T(test_query_time_range_includes_since_and_excludes_until),
		T(test_query_time_range_with_a_user_gives_the_same_answer_either_way),
		T(test_query_limit_and_newest_first),
		T(test_query_for_unknown_or_impossible_values_finds_nothing),
		T(test_empty_filter_visits_every_record),
		T(test_query_through_a_wrong_index_entry_fails),
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
		T(test_full_map_grows_by_its_step),
		T(test_map_at_its_maximum_refuses_writes_and_keeps_the_ledger_intact),
		T(test_reader_in_another_process_follows_a_grown_map),
		T(test_state_names_read_back_as_their_states),
		T(test_each_life_event_puts_its_request_in_its_state),
		T(test_story_state_is_that_of_its_latest_life_event),
		T(test_expired_and_cancelled_events_are_reserved_to_the_ledger),
		T(test_sweep_records_expired_once_valid_before_has_passed),
		T(test_sweep_records_each_expiry_once),
		T(test_expired_record_is_part_of_the_requests_story),
		T(test_sweep_expires_certificates_in_order_of_valid_before),
		T(test_issued_record_without_validity_is_never_expired),
		T(test_sweep_cancels_a_request_never_decided_after_the_grace_period),
		T(test_sweep_cancels_an_allowed_request_whose_certificate_was_never_recorded),
		T(test_a_cancelled_request_gets_no_certificate_afterwards),
		T(test_a_cancelled_request_gets_no_decision_afterwards),
		T(test_sweep_passes_over_a_damaged_record),
		T(test_sweep_never_cancels_an_answered_request),
		T(test_sweep_reads_records_written_before_sweeps_existed),
		T(test_sweep_appends_many_items_in_bounded_batches_each_once),
		T(test_sweep_of_a_read_only_ledger_is_refused),
		T(test_sweep_records_are_covered_by_the_next_checkpoint),
		T(test_a_checkpoint_in_a_sweep_is_signed_with_the_sweeps_time),
		T(test_checkpoint_if_due_signs_an_idle_tail_once_its_time_has_passed),
		T(test_checkpoint_if_due_needs_a_signer),
		T(test_failing_checkpoint_signer_is_reported_until_a_checkpoint_succeeds),
		T(test_concurrent_appends_form_one_valid_chain),
		T(test_concurrent_issues_in_groups_get_distinct_serials),
		T(test_concurrent_issues_one_commit_each_get_distinct_serials),
		T(test_failing_issuance_in_a_group_fails_alone),
		T(test_one_of_many_concurrent_claims_of_a_nonce_wins),
		T(test_backup_while_writing_opens_and_verifies),
		T(test_read_only_ledger_refuses_writes),
		T(test_read_only_open_of_a_directory_without_a_ledger_fails),
		T(test_read_only_open_sees_committed_records_while_a_writer_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
