/* SPDX-License-Identifier: ISC */
/*
 * ledger.c - the issuance ledger on LMDB (ledger.h, docs/ledger.md).
 *
 * One environment, named sub-databases:
 *   records       seq (8 bytes, big-endian) -> record envelope (ledger.h)
 *   meta          "format"     -> "JITL2" (the envelope format of every record)
 *                 "head"       -> seq (8, BE) || hash (32) of the last record
 *                 "counter"    -> the last serial counter handed out (8, BE)
 *                 "checkpoint" -> seq (8, BE) || time (8, BE) of the last checkpoint record
 *                 "life_cursor" -> the last seq folded into the two life tables (8, BE)
 *   by_event, by_time, by_user, by_host, by_login, by_request, by_serial
 *                 the envelope's key section entry -> seq (8, BE); DUPSORT|DUPFIXED, so the
 *                 seqs of one key come in log order
 *   nonces        nonce -> expiry (8, BE)
 *   nonce_expiry  expiry (8, BE) || nonce -> "" (oldest first, for pruning)
 *   life_open     request_id -> received seq (8, BE) || received time (8, BE) || stage (1):
 *                 requests without a terminal record yet (stage 1: allowed)
 *   life_unexpired valid_before (8, BE) || serial (8, BE) -> issued seq (8, BE): issued
 *                 certificates without an "expired" record yet, soonest first
 *
 * The two life tables are derived state, not evidence (verify does not read them): each
 * sweep first folds the records after "life_cursor" into them, in its own write transaction,
 * then appends what is due (ledger_sweep()).
 *
 * Big-endian keys sort numerically under LMDB's default memcmp order.
 *
 * Writes go through group commit: a caller queues an operation and waits; the first in the
 * queue, when no commit is running, becomes the leader: it waits (briefly, gather()) until
 * as many operations are queued as the last group had, takes the queue (up to group_max
 * operations), opens one write transaction, gives the issuances their serials and lets
 * their callbacks run in parallel on the callers' threads (issue_prepare_group()), applies
 * everything and commits once. Each operation first does everything that can fail on its
 * own (validation, the issuance callback, the replay check) and only then writes; so a
 * failed operation has written nothing, and a failed write (an LMDB error) fails the whole
 * group, which is aborted. A full map aborts the group, grows the map and retries it.
 *
 * LMDB data returned inside a write transaction may move at the next write (lmdb.h): what
 * the sweep reads it copies before it writes.
 *
 * The map may only be resized while this process has no transaction open (lmdb.h,
 * mdb_env_set_mapsize()), so every transaction is taken under the read side of map_lock and
 * a resize under its write side.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "b64.h"
#include "err.h"
#include "ledger.h"
#include "sig.h"
#include "util.h"

#define HEX_LEN (2 * LEDGER_HASH_LEN)
#define HEAD_LEN (8 + LEDGER_HASH_LEN)
#define CKPT_META_LEN 16
/* life_open values and life_unexpired keys (top of this file). */
#define OPEN_VAL_LEN 17
#define UNEXP_KEY_LEN 16
#define STAGE_RECEIVED 0
#define STAGE_ALLOWED 1
#define DUMP_FLAGS (JSON_COMPACT | JSON_SORT_KEYS)
#define LOAD_FLAGS (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)
#define LEDGER_MAXDBS 16
#define FORMAT_TAG "JITL2"
/* How long a map resize waits for readers of this process to finish, seconds. */
#define RESIZE_WAIT_SEC 10

/* The envelope (ledger.h). */
#define ENV_MAGIC "JITL"
#define OFF_VERSION 4
#define OFF_SEQ 5
#define OFF_PREV 13
#define OFF_HASH 45
#define OFF_KEYS_LEN 77
#define ENV_HDR 79

/* The indexed fields, by their id in the key section. */
enum {
	F_EVENT = 1,
	F_TIME,
	F_USER,
	F_HOST,
	F_LOGIN,
	F_REQUEST,
	F_SERIAL,
	F_LAST = F_SERIAL,
};

static const struct field {
	const char *name;
	const char *db;
	bool integer; /* 8 bytes big-endian; else a string of 1..max bytes */
	size_t max;
} fields[F_LAST + 1] = {
	[F_EVENT] = {"event", "by_event", false, LEDGER_FIELD_MAX},
	[F_TIME] = {"time", "by_time", true, 8},
	[F_USER] = {"user", "by_user", false, LEDGER_FIELD_MAX},
	[F_HOST] = {"host", "by_host", false, LEDGER_FIELD_MAX},
	[F_LOGIN] = {"login", "by_login", false, LEDGER_FIELD_MAX},
	[F_REQUEST] = {"request_id", "by_request", false, LEDGER_REQUEST_ID_MAX},
	[F_SERIAL] = {"serial", "by_serial", true, 8},
};

#define KEYS_MAX (F_LAST * (2 + LEDGER_FIELD_MAX))

/* A parsed envelope; every pointer borrows from the buffer it was parsed from. */
struct env {
	uint64_t seq;
	const uint8_t *start, *prev, *hash, *keys, *json;
	size_t len, keys_len, json_len;
};

struct ledger_head {
	uint64_t seq;
	uint8_t hash[LEDGER_HASH_LEN];
};

struct ckpt_meta {
	uint64_t seq, time;
};

enum op_kind { OP_APPEND, OP_ISSUE, OP_NONCE, OP_CHECKPOINT, OP_SWEEP };

/* Where an OP_ISSUE's callback stands in its group (guarded by ledger.mu). */
enum op_phase { PHASE_NONE, PHASE_SIGN, PHASE_SIGNING, PHASE_SIGNED };

/* One queued write; lives on its caller's stack until done. */
struct op {
	enum op_kind kind;
	uint8_t *env; /* encoded envelope (OP_APPEND: the caller's; OP_ISSUE: owned) */
	size_t env_len;
	uint64_t time;	    /* OP_APPEND, OP_ISSUE: the record's "time" */
	ledger_issue_fn fn; /* OP_ISSUE */
	void *ctx;
	enum op_phase phase;
	int prepared;		/* OP_ISSUE: result of the callback and encoding */
	const char *nonce;	/* OP_NONCE */
	uint64_t now, keep_sec; /* OP_NONCE, OP_CHECKPOINT and OP_SWEEP (now) */
	bool due_only;		/* OP_CHECKPOINT: only when due (ledger_checkpoint_if_due()) */
	uint64_t grace_sec;	/* OP_SWEEP */
	int result;
	uint64_t seq, serial;		 /* results */
	uint64_t n_expired, n_cancelled; /* OP_SWEEP results */
	bool more;			 /* OP_SWEEP: work is left for another transaction */
	bool pending;			 /* not applied, or applied in a group that failed */
	bool done;
	pthread_cond_t wake; /* done, given a serial to sign with, or first in the queue */
	struct op *next;
};

/* State of one group's write transaction. */
struct group {
	MDB_txn *txn;
	struct ledger_head head;
	uint64_t counter;
	struct ckpt_meta ckpt;
	uint64_t max_time;
	int mdb_rc; /* first LMDB failure: fails the whole group */
};

struct ledger {
	MDB_env *env;
	MDB_dbi records, meta, nonces, nonce_expiry, idx[F_LAST + 1];
	MDB_dbi life_open, life_unexpired;
	bool has_life; /* the life tables exist (a read-only open of an older ledger: not) */
	uint16_t signer_id;
	bool read_only;
	uint64_t map_max, grow_step;
	unsigned group_max;
	const struct signer *ckpt_signer;
	uint64_t ckpt_records, ckpt_sec;
	EVP_MD *sha256;

	pthread_rwlock_t map_lock;
	pthread_mutex_t mu;	    /* guards the queue, committing and the ops' phases */
	pthread_cond_t signed_cond; /* an op's callback has finished */
	int ckpt_failure;	    /* guarded by mu: ledger_checkpoint_failure() */
	struct op *queue, **tail;
	size_t queued;	     /* operations in the queue */
	size_t last_group;   /* size of the last group committed */
	struct op *gatherer; /* a leader waiting for its group to fill, or NULL */
	bool committing;
	bool locks_ready;
};

static void put_be64(uint8_t b[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
}

static uint64_t get_be64(const void *p)
{
	const uint8_t *b = p;
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

static MDB_val mval(const void *p, size_t n)
{
	return (MDB_val){.mv_size = n, .mv_data = (void *)p};
}

static void cursor_closep(MDB_cursor **c)
{
	if (*c)
		mdb_cursor_close(*c);
}

/* The one place LMDB's codes become ours. */
static int ledger_mdb_err(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case MDB_MAP_FULL:
	case ENOSPC:
	case EDQUOT:
		return JIT_E_LEDGER_FULL;
	case ENOMEM:
		return -ENOMEM;
	default:
		return JIT_E_LEDGER;
	}
}

static void hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * n] = '\0';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode exactly HEX_LEN lower-case hex digits. */
static bool hash_decode(const char *s, size_t n, uint8_t out[LEDGER_HASH_LEN])
{
	if (!s || n != HEX_LEN)
		return false;
	for (size_t i = 0; i < LEDGER_HASH_LEN; i++) {
		int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* ---- locks and transactions ---- */

static int map_lock_write(struct ledger *l)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += RESIZE_WAIT_SEC;
	return pthread_rwlock_timedwrlock(&l->map_lock, &ts) == 0 ? 0 : JIT_E_LEDGER;
}

/*
 * Begin a transaction with the read side of map_lock held (the caller releases both, see
 * txn_end()). Another process that grew the map makes LMDB answer MDB_MAP_RESIZED: adopt
 * the new size (no transaction of ours may be open meanwhile) and try again.
 */
static int txn_begin(struct ledger *l, bool write, MDB_txn **ret)
{
	for (int attempt = 0;; attempt++) {
		int rc;

		pthread_rwlock_rdlock(&l->map_lock);
		rc = mdb_txn_begin(l->env, NULL, write ? 0 : MDB_RDONLY, ret);
		if (rc == 0)
			return 0;
		pthread_rwlock_unlock(&l->map_lock);
		if (rc != MDB_MAP_RESIZED || attempt == 2)
			return ledger_mdb_err(rc);
		if (map_lock_write(l) < 0)
			return JIT_E_LEDGER;
		rc = mdb_env_set_mapsize(l->env, 0);
		pthread_rwlock_unlock(&l->map_lock);
		if (rc)
			return ledger_mdb_err(rc);
	}
}

/* A read transaction, ended by the cleanup attribute. */
struct rtxn {
	struct ledger *l;
	MDB_txn *txn;
};

static void rtxn_end(struct rtxn *t)
{
	if (t->txn) {
		mdb_txn_abort(t->txn);
		pthread_rwlock_unlock(&t->l->map_lock);
		t->txn = NULL;
	}
}

static int rtxn_begin(struct ledger *l, struct rtxn *t)
{
	t->l = l;
	t->txn = NULL;
	return txn_begin(l, false, &t->txn);
}

/* ---- the envelope ---- */

/* Build the key section of @rec; -EINVAL when a required or indexed field is bad. */
static int keys_build(const json_t *rec, uint8_t out[KEYS_MAX], size_t *ret_len)
{
	size_t n = 0;

	for (unsigned id = 1; id <= F_LAST; id++) {
		const json_t *f = json_object_get(rec, fields[id].name);

		if (!f) {
			if (id == F_EVENT || id == F_TIME)
				return -EINVAL;
			continue;
		}
		out[n++] = (uint8_t)id;
		if (fields[id].integer) {
			json_int_t v = json_is_integer(f) ? json_integer_value(f) : -1;

			if (v < 0 || (id == F_SERIAL && v == 0))
				return -EINVAL;
			out[n++] = 8;
			put_be64(out + n, (uint64_t)v);
			n += 8;
		} else {
			size_t len = json_is_string(f) ? json_string_length(f) : 0;

			if (len == 0 || len > fields[id].max ||
			    memchr(json_string_value(f), '\0', len))
				return -EINVAL;
			out[n++] = (uint8_t)len;
			memcpy(out + n, json_string_value(f), len);
			n += len;
		}
	}
	*ret_len = n;
	return 0;
}

/* Parse the layout of an envelope (not its hash); NULL, or why it is malformed. */
static const char *env_parse(const void *buf, size_t len, struct env *e)
{
	const uint8_t *p = buf;
	unsigned last = 0;
	size_t off;

	if (len < ENV_HDR + 2 || memcmp(p, ENV_MAGIC, 4) != 0)
		return "it is not a record envelope";
	if (p[OFF_VERSION] != LEDGER_RECORD_VERSION)
		return "its format version is unknown";
	e->start = p;
	e->len = len;
	e->seq = get_be64(p + OFF_SEQ);
	e->prev = p + OFF_PREV;
	e->hash = p + OFF_HASH;
	e->keys_len = (size_t)p[OFF_KEYS_LEN] << 8 | p[OFF_KEYS_LEN + 1];
	if (e->keys_len > len - ENV_HDR - 2)
		return "its key section overruns it";
	e->keys = p + ENV_HDR;
	e->json = e->keys + e->keys_len;
	e->json_len = len - ENV_HDR - e->keys_len;
	for (off = 0; off < e->keys_len; off += 2 + (size_t)e->keys[off + 1]) {
		unsigned id = e->keys[off];
		size_t n;

		if (off + 2 > e->keys_len || id <= last || id > F_LAST)
			return "its key section is malformed";
		n = e->keys[off + 1];
		if (off + 2 + n > e->keys_len || n == 0 || n > fields[id].max ||
		    (fields[id].integer && n != 8))
			return "its key section is malformed";
		if (last < F_EVENT && id != F_EVENT)
			return "it has no event";
		if (last < F_TIME && id > F_TIME)
			return "it has no time";
		last = id;
	}
	if (last < F_TIME)
		return "it has no event or time";
	if (e->json[0] != '{' || e->json[e->json_len - 1] != '}')
		return "its record is not a JSON object";
	return NULL;
}

/* The key section entry @id of a parsed envelope; false when absent. */
static bool env_key(const struct env *e, unsigned id, MDB_val *ret)
{
	for (size_t off = 0; off < e->keys_len; off += 2 + (size_t)e->keys[off + 1]) {
		if (e->keys[off] == id) {
			*ret = mval(e->keys + off + 2, e->keys[off + 1]);
			return true;
		}
		if (e->keys[off] > id)
			break;
	}
	return false;
}

static bool env_key_is(const struct env *e, unsigned id, const MDB_val *want)
{
	MDB_val v;

	return env_key(e, id, &v) && v.mv_size == want->mv_size &&
	       memcmp(v.mv_data, want->mv_data, v.mv_size) == 0;
}

/* SHA-256 over the envelope without its hash field. */
static int env_hash(EVP_MD_CTX *ctx, const EVP_MD *md, const uint8_t *p, size_t len,
		    uint8_t out[LEDGER_HASH_LEN])
{
	if (EVP_DigestInit_ex2(ctx, md, NULL) != 1 || EVP_DigestUpdate(ctx, p, OFF_HASH) != 1 ||
	    EVP_DigestUpdate(ctx, p + OFF_KEYS_LEN, len - OFF_KEYS_LEN) != 1 ||
	    EVP_DigestFinal_ex(ctx, out, NULL) != 1)
		return JIT_E_CRYPTO;
	return 0;
}

static int env_hash_once(const EVP_MD *md, const uint8_t *p, size_t len,
			 uint8_t out[LEDGER_HASH_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int r = ctx ? env_hash(ctx, md ? md : EVP_sha256(), p, len, out) : -ENOMEM;

	EVP_MD_CTX_free(ctx);
	return r;
}

/* The record as readers see it: the JSON plus seq, prev, hash and v (new). */
static int env_view(const struct env *e, json_t **ret)
{
	json_auto_t *rec = json_loadb((const char *)e->json, e->json_len, LOAD_FLAGS, NULL);
	char prev[HEX_LEN + 1], hash[HEX_LEN + 1];

	if (!json_is_object(rec))
		return JIT_E_FORMAT;
	hex_encode(e->prev, LEDGER_HASH_LEN, prev);
	hex_encode(e->hash, LEDGER_HASH_LEN, hash);
	if (json_object_set_new(rec, "seq", json_integer((json_int_t)e->seq)) < 0 ||
	    json_object_set_new(rec, "prev", json_string(prev)) < 0 ||
	    json_object_set_new(rec, "hash", json_string(hash)) < 0 ||
	    json_object_set_new(rec, "v", json_integer(LEDGER_RECORD_VERSION)) < 0)
		return -ENOMEM;
	*ret = TAKE_PTR(rec);
	return 0;
}

/* Events only the ledger writes. */
static bool event_reserved(const char *ev)
{
	static const char *const reserved[] = {LEDGER_EVENT_CHECKPOINT, LEDGER_EVENT_EXPIRED,
					       LEDGER_EVENT_CANCELLED};

	for (size_t i = 0; ev && i < ELEMENTSOF(reserved); i++)
		if (strcmp(ev, reserved[i]) == 0)
			return true;
	return false;
}

/*
 * Encode @rec as an envelope without seq, prev and hash (filled in by env_put()). Refuses
 * what ledger_record_decode() would not accept back. @internal allows the ledger's own
 * "checkpoint" event.
 */
static int record_encode(const json_t *rec, bool internal, uint8_t **ret, size_t *ret_len)
{
	static const char *const reserved[] = {"seq", "prev", "v", "hash"};
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ char *again = NULL;
	json_auto_t *back = NULL;
	uint8_t keys[KEYS_MAX], *buf;
	size_t klen, len;
	int r;

	if (!json_is_object(rec))
		return -EINVAL;
	for (size_t i = 0; i < ELEMENTSOF(reserved); i++)
		if (json_object_get(rec, reserved[i]))
			return -EINVAL;
	if (!internal && event_reserved(json_string_value(json_object_get(rec, "event"))))
		return -EINVAL;
	r = keys_build(rec, keys, &klen);
	if (r < 0)
		return r;
	text = json_dumps(rec, DUMP_FLAGS);
	if (!text)
		return -EINVAL; /* jansson cannot encode it (e.g. invalid UTF-8), or no memory */
	len = strlen(text);
	if (len > LEDGER_RECORD_MAX)
		return JIT_E_TOO_LARGE;
	back = json_loadb(text, len, LOAD_FLAGS, NULL);
	if (!back || !(again = json_dumps(back, DUMP_FLAGS)) || strcmp(again, text) != 0)
		return -EINVAL;

	buf = malloc(ENV_HDR + klen + len);
	if (!buf)
		return -ENOMEM;
	memset(buf, 0, ENV_HDR);
	memcpy(buf, ENV_MAGIC, 4);
	buf[OFF_VERSION] = LEDGER_RECORD_VERSION;
	buf[OFF_KEYS_LEN] = (uint8_t)(klen >> 8);
	buf[OFF_KEYS_LEN + 1] = (uint8_t)klen;
	memcpy(buf + ENV_HDR, keys, klen);
	memcpy(buf + ENV_HDR + klen, text, len);
	*ret = buf;
	*ret_len = ENV_HDR + klen + len;
	return 0;
}

int ledger_record_decode(const uint8_t *buf, size_t len, json_t **ret)
{
	json_auto_t *rec = NULL;
	_cleanup_free_ char *text = NULL;
	uint8_t hash[LEDGER_HASH_LEN], keys[KEYS_MAX];
	struct env e;
	size_t klen;
	int r;

	if (!buf || !ret)
		return -EINVAL;
	if (env_parse(buf, len, &e))
		return JIT_E_FORMAT;
	r = env_hash_once(NULL, buf, len, hash);
	if (r < 0)
		return r;
	if (CRYPTO_memcmp(hash, e.hash, LEDGER_HASH_LEN) != 0)
		return JIT_E_LEDGER_CORRUPT;
	rec = json_loadb((const char *)e.json, e.json_len, LOAD_FLAGS, NULL);
	if (!json_is_object(rec))
		return JIT_E_FORMAT;
	text = json_dumps(rec, DUMP_FLAGS);
	if (!text)
		return -ENOMEM;
	if (strlen(text) != e.json_len || memcmp(text, e.json, e.json_len) != 0 ||
	    json_object_get(rec, "seq") || json_object_get(rec, "prev") ||
	    json_object_get(rec, "v") || json_object_get(rec, "hash") ||
	    keys_build(rec, keys, &klen) < 0 || klen != e.keys_len ||
	    memcmp(keys, e.keys, klen) != 0)
		return JIT_E_FORMAT;
	return env_view(&e, ret);
}

/* ---- meta ---- */

static int meta_get(struct ledger *l, MDB_txn *txn, const char *name, size_t want_len, MDB_val *ret)
{
	MDB_val k = mval(name, strlen(name));
	int rc = mdb_get(txn, l->meta, &k, ret);

	if (rc == MDB_NOTFOUND)
		return JIT_E_NOT_FOUND;
	if (rc)
		return ledger_mdb_err(rc);
	return ret->mv_size == want_len ? 0 : JIT_E_LEDGER_CORRUPT;
}

static int last_seq(struct ledger *l, MDB_txn *txn, uint64_t *ret)
{
	_cleanup_(cursor_closep) MDB_cursor *c = NULL;
	MDB_val k, v;
	int rc;

	rc = mdb_cursor_open(txn, l->records, &c);
	if (rc)
		return ledger_mdb_err(rc);
	rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	if (rc == MDB_NOTFOUND) {
		*ret = 0;
		return 0;
	}
	if (rc)
		return ledger_mdb_err(rc);
	if (k.mv_size != 8)
		return JIT_E_LEDGER_CORRUPT;
	*ret = get_be64(k.mv_data);
	return 0;
}

/* The stored head; with @check_last, also that it names the last record. */
static int head_read(struct ledger *l, MDB_txn *txn, bool check_last, struct ledger_head *ret)
{
	struct ledger_head h = {0};
	uint64_t last;
	MDB_val v;
	int r;

	r = meta_get(l, txn, "head", HEAD_LEN, &v);
	if (r < 0 && r != JIT_E_NOT_FOUND)
		return r;
	if (r == 0) {
		h.seq = get_be64(v.mv_data);
		memcpy(h.hash, (const uint8_t *)v.mv_data + 8, LEDGER_HASH_LEN);
	}
	if (check_last) {
		r = last_seq(l, txn, &last);
		if (r < 0)
			return r;
		if (last != h.seq)
			return JIT_E_LEDGER_CORRUPT;
	}
	*ret = h;
	return 0;
}

static int ckpt_meta_read(struct ledger *l, MDB_txn *txn, struct ckpt_meta *ret)
{
	MDB_val v;
	int r = meta_get(l, txn, "checkpoint", CKPT_META_LEN, &v);

	if (r == JIT_E_NOT_FOUND) {
		*ret = (struct ckpt_meta){0};
		return 0;
	}
	if (r < 0)
		return r;
	ret->seq = get_be64(v.mv_data);
	ret->time = get_be64((const uint8_t *)v.mv_data + 8);
	return 0;
}

/* Record @seq's envelope, parsed; JIT_E_LEDGER_CORRUPT when missing, JIT_E_FORMAT when bad. */
static int record_get(struct ledger *l, MDB_txn *txn, uint64_t seq, struct env *ret)
{
	uint8_t kb[8] = {0};
	MDB_val k = mval(kb, 8), v;
	int rc;

	put_be64(kb, seq);
	rc = mdb_get(txn, l->records, &k, &v);
	if (rc == MDB_NOTFOUND)
		return JIT_E_LEDGER_CORRUPT;
	if (rc)
		return ledger_mdb_err(rc);
	return env_parse(v.mv_data, v.mv_size, ret) ? JIT_E_FORMAT : 0;
}

/* A read-write open: the head names the last record, and that record's hash. */
static int head_check(struct ledger *l, MDB_txn *txn)
{
	struct ledger_head h;
	uint8_t hash[LEDGER_HASH_LEN];
	struct env e;
	int r;

	r = head_read(l, txn, true, &h);
	if (r < 0 || h.seq == 0)
		return r;
	r = record_get(l, txn, h.seq, &e);
	if (r == JIT_E_FORMAT)
		return JIT_E_LEDGER_CORRUPT;
	if (r < 0)
		return r;
	r = env_hash_once(l->sha256, e.start, e.len, hash);
	if (r < 0)
		return r;
	return e.seq == h.seq && memcmp(hash, h.hash, LEDGER_HASH_LEN) == 0 &&
			       memcmp(e.hash, hash, LEDGER_HASH_LEN) == 0
		       ? 0
		       : JIT_E_LEDGER_CORRUPT;
}

/* The records must be in our format: a ledger of the first (JSON-only) format is refused. */
static int format_check(struct ledger *l, MDB_txn *txn, bool may_write)
{
	MDB_val k = mval("format", 6), v = mval(FORMAT_TAG, strlen(FORMAT_TAG)), got;
	MDB_stat st;
	int rc = mdb_get(txn, l->meta, &k, &got);

	if (rc == 0)
		return got.mv_size == v.mv_size && memcmp(got.mv_data, v.mv_data, v.mv_size) == 0
			       ? 0
			       : JIT_E_FORMAT;
	if (rc != MDB_NOTFOUND)
		return ledger_mdb_err(rc);
	rc = mdb_stat(txn, l->records, &st);
	if (rc)
		return ledger_mdb_err(rc);
	if (st.ms_entries > 0)
		return JIT_E_FORMAT;
	return may_write ? ledger_mdb_err(mdb_put(txn, l->meta, &k, &v, 0)) : 0;
}

/* ---- open and close ---- */

static int ledger_open_dbs(struct ledger *l, MDB_txn *txn)
{
	static const unsigned dup = MDB_DUPSORT | MDB_DUPFIXED;
	const struct {
		const char *name;
		unsigned flags;
		MDB_dbi *dbi;
	} dbs[] = {
		{"records", 0, &l->records},
		{"meta", 0, &l->meta},
		{"nonces", 0, &l->nonces},
		{"nonce_expiry", 0, &l->nonce_expiry},
		{fields[F_EVENT].db, dup, &l->idx[F_EVENT]},
		{fields[F_TIME].db, dup, &l->idx[F_TIME]},
		{fields[F_USER].db, dup, &l->idx[F_USER]},
		{fields[F_HOST].db, dup, &l->idx[F_HOST]},
		{fields[F_LOGIN].db, dup, &l->idx[F_LOGIN]},
		{fields[F_REQUEST].db, dup, &l->idx[F_REQUEST]},
		{fields[F_SERIAL].db, dup, &l->idx[F_SERIAL]},
		{"life_open", 0, &l->life_open},
		{"life_unexpired", 0, &l->life_unexpired},
	};

	for (size_t i = 0; i < ELEMENTSOF(dbs); i++) {
		unsigned flags = dbs[i].flags | (l->read_only ? 0 : MDB_CREATE);
		/* The life tables came later: a read-only open of an older ledger goes without. */
		bool optional = dbs[i].dbi == &l->life_open || dbs[i].dbi == &l->life_unexpired;
		int rc = mdb_dbi_open(txn, dbs[i].name, flags, dbs[i].dbi);

		if (rc == MDB_NOTFOUND && optional)
			continue;
		if (rc == MDB_NOTFOUND) {
			/* Read-only: records without our tables are of another format; no
			 * records at all, an LMDB environment but not a ledger. */
			MDB_stat st;

			return i > 0 && mdb_stat(txn, l->records, &st) == 0 && st.ms_entries > 0
				       ? JIT_E_FORMAT
				       : -ENOENT;
		}
		if (rc == MDB_INCOMPATIBLE)
			return JIT_E_FORMAT;
		if (rc)
			return ledger_mdb_err(rc);
	}
	/* Named databases get handles from 2 up (0 and 1 are LMDB's own). */
	l->has_life = l->life_open > 1 && l->life_unexpired > 1;
	return 0;
}

/* Make the directory entries of newly created files durable too. */
static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

struct ledger *ledger_close(struct ledger *l)
{
	if (l) {
		if (l->env)
			mdb_env_close(l->env);
		if (l->locks_ready) {
			pthread_rwlock_destroy(&l->map_lock);
			pthread_mutex_destroy(&l->mu);
			pthread_cond_destroy(&l->signed_cond);
		}
		EVP_MD_free(l->sha256);
		free(l);
	}
	return NULL;
}

static void ledger_closep(struct ledger **l)
{
	ledger_close(*l);
}

static uint64_t or_default(uint64_t v, uint64_t def)
{
	return v ? v : def;
}

static int ledger_setup(struct ledger *l, const struct ledger_options *o, uint64_t *ret_map)
{
	uint64_t map_size = or_default(o->map_size, LEDGER_MAP_SIZE_DEFAULT);

	if (o->signer_id > LEDGER_SIGNER_ID_MAX || o->group_max > LEDGER_GROUP_MAX ||
	    map_size > SIZE_MAX)
		return -EINVAL;
	l->signer_id = o->signer_id;
	l->read_only = o->read_only != 0;
	l->map_max = o->map_size_max ? o->map_size_max : LEDGER_MAP_SIZE_MAX_DEFAULT;
	if (!o->map_size_max && map_size > l->map_max)
		l->map_max = map_size;
	if (l->map_max < map_size)
		l->map_max = map_size;
	if (l->map_max > SIZE_MAX)
		l->map_max = SIZE_MAX;
	l->grow_step = or_default(o->map_grow_step, LEDGER_MAP_GROW_STEP_DEFAULT);
	l->group_max = (unsigned)or_default(o->group_max, LEDGER_GROUP_MAX_DEFAULT);
	l->ckpt_signer = o->checkpoint_signer;
	l->ckpt_records = or_default(o->checkpoint_records, LEDGER_CHECKPOINT_RECORDS_DEFAULT);
	l->ckpt_sec = or_default(o->checkpoint_sec, LEDGER_CHECKPOINT_SEC_DEFAULT);
	l->tail = &l->queue;
	if (pthread_rwlock_init(&l->map_lock, NULL) != 0)
		return -ENOMEM;
	if (pthread_mutex_init(&l->mu, NULL) != 0) {
		pthread_rwlock_destroy(&l->map_lock);
		return -ENOMEM;
	}
	if (pthread_cond_init(&l->signed_cond, NULL) != 0) {
		pthread_mutex_destroy(&l->mu);
		pthread_rwlock_destroy(&l->map_lock);
		return -ENOMEM;
	}
	l->locks_ready = true;
	l->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!l->sha256)
		return JIT_E_CRYPTO;
	*ret_map = map_size;
	return 0;
}

int ledger_open(const char *dir, const struct ledger_options *opts, struct ledger **ret)
{
	_cleanup_(ledger_closep) struct ledger *l = NULL;
	struct ledger_options o = opts ? *opts : (struct ledger_options){0};
	MDB_txn *txn = NULL;
	uint64_t map_size;
	int rc, r;

	if (!dir || !ret)
		return -EINVAL;
	l = calloc(1, sizeof *l);
	if (!l)
		return -ENOMEM;
	r = ledger_setup(l, &o, &map_size);
	if (r < 0)
		return r;

	rc = mdb_env_create(&l->env);
	if (rc)
		return ledger_mdb_err(rc);
	rc = mdb_env_set_maxdbs(l->env, LEDGER_MAXDBS);
	if (!rc && !l->read_only)
		rc = mdb_env_set_mapsize(l->env, (size_t)map_size);
	if (!rc)
		rc = mdb_env_open(l->env, dir, MDB_NOTLS | (l->read_only ? MDB_RDONLY : 0), 0600);
	if (rc > 0)
		return -rc;
	if (rc)
		return ledger_mdb_err(rc);
	if (!l->read_only)
		(void)mdb_reader_check(l->env, NULL); /* free slots of crashed readers */

	r = txn_begin(l, !l->read_only, &txn);
	if (r < 0)
		return r;
	r = ledger_open_dbs(l, txn);
	if (r == 0)
		r = format_check(l, txn, !l->read_only);
	if (r == 0 && !l->read_only)
		r = head_check(l, txn);
	/* The dbi handles become usable by every later transaction once this one commits. */
	if (r == 0)
		r = ledger_mdb_err(mdb_txn_commit(txn));
	else
		mdb_txn_abort(txn);
	pthread_rwlock_unlock(&l->map_lock);
	if (r < 0)
		return r;
	if (!l->read_only) {
		r = fsync_dir(dir);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(l);
	return 0;
}

/* ---- writing: the operations of a group ---- */

/* Note the first LMDB failure of the group; return it translated. */
static int g_fail(struct group *g, int rc)
{
	if (!g->mdb_rc)
		g->mdb_rc = rc;
	return ledger_mdb_err(rc);
}

/* Write envelope @buf (header fields filled in here) as the next record, with its index
 * entries; the head moves on in @g (stored once per group). */
static int env_put(struct ledger *l, struct group *g, uint8_t *buf, size_t len, uint64_t *ret_seq)
{
	uint8_t kb[8] = {0};
	MDB_val k = mval(kb, 8), v = mval(buf, len), ik;
	struct env e;
	uint64_t seq;
	int rc, r;

	if (g->head.seq >= INT64_MAX)
		return -EOVERFLOW;
	seq = g->head.seq + 1;
	put_be64(buf + OFF_SEQ, seq);
	memcpy(buf + OFF_PREV, g->head.hash, LEDGER_HASH_LEN);
	r = env_hash_once(l->sha256, buf, len, buf + OFF_HASH);
	if (r < 0)
		return r;
	if (env_parse(buf, len, &e))
		return -EINVAL; /* cannot happen: record_encode() made it */

	put_be64(kb, seq);
	rc = mdb_put(g->txn, l->records, &k, &v, MDB_NOOVERWRITE | MDB_APPEND);
	if (rc == MDB_KEYEXIST)
		rc = MDB_CORRUPTED;
	if (rc)
		return g_fail(g, rc);
	v = mval(kb, 8);
	for (unsigned id = 1; id <= F_LAST; id++) {
		if (!env_key(&e, id, &ik))
			continue;
		rc = mdb_put(g->txn, l->idx[id], &ik, &v, 0);
		if (rc)
			return g_fail(g, rc);
	}
	g->head.seq = seq;
	memcpy(g->head.hash, buf + OFF_HASH, LEDGER_HASH_LEN);
	*ret_seq = seq;
	return 0;
}

static uint64_t env_time(const uint8_t *buf, size_t len)
{
	struct env e;
	MDB_val v;

	return !env_parse(buf, len, &e) && env_key(&e, F_TIME, &v) ? get_be64(v.mv_data) : 0;
}

static int request_cancelled(struct ledger *l, struct group *g, const uint8_t *buf, size_t len);

/* A "decided" record answers its request: none may follow the sweep's "cancelled" either. */
static int op_append(struct ledger *l, struct group *g, struct op *op)
{
	const MDB_val decided = mval((void *)LEDGER_EVENT_DECIDED, strlen(LEDGER_EVENT_DECIDED));
	struct env e;
	int r;

	if (!env_parse(op->env, op->env_len, &e) && env_key_is(&e, F_EVENT, &decided) &&
	    (r = request_cancelled(l, g, op->env, op->env_len)) < 0)
		return r;
	return env_put(l, g, op->env, op->env_len, &op->seq);
}

/*
 * The part of an issuance that needs no transaction: the callback, with the serial the
 * leader assigned, and the record's encoding. Runs on the caller's thread (or the leader's),
 * in parallel with the other issuances of the group.
 */
static int issue_prepare(struct op *op)
{
	json_auto_t *rec = NULL;
	const json_t *f;
	int r;

	op->env = (free(op->env), NULL);
	r = op->fn(op->ctx, op->serial, &rec);
	if (r != 0)
		return r;
	if (!json_is_object(rec))
		return -EINVAL;
	f = json_object_get(rec, "serial");
	if (!f) {
		if (json_object_set_new(rec, "serial", json_integer((json_int_t)op->serial)) < 0)
			return -ENOMEM;
	} else if (!json_is_integer(f) || (uint64_t)json_integer_value(f) != op->serial) {
		return -EINVAL;
	}
	r = record_encode(rec, false, &op->env, &op->env_len);
	if (r == 0)
		op->time = env_time(op->env, op->env_len);
	return r;
}

/*
 * Give the group's issuances the serials after @g's counter, in queue order, and have their
 * callbacks run: each caller runs its own (see submit()); the leader runs those nobody has
 * taken yet and waits for the rest. The counter itself moves in op_issue(), in this same
 * transaction, so a serial counts as used only once its record is written.
 */
static void issue_prepare_group(struct ledger *l, struct group *g, struct op **ops, size_t n)
{
	uint64_t next = g->counter;
	bool any = false;

	pthread_mutex_lock(&l->mu);
	for (size_t i = 0; i < n; i++) {
		if (ops[i]->kind != OP_ISSUE)
			continue;
		if (next >= LEDGER_COUNTER_MAX) {
			ops[i]->prepared = -EOVERFLOW;
			ops[i]->phase = PHASE_NONE;
			continue;
		}
		ops[i]->serial = (uint64_t)l->signer_id << 48 | ++next;
		ops[i]->phase = PHASE_SIGN;
		pthread_cond_signal(&ops[i]->wake);
		any = true;
	}
	while (any) {
		struct op *todo = NULL;

		any = false;
		for (size_t i = 0; i < n && !todo; i++) {
			if (ops[i]->kind != OP_ISSUE)
				continue;
			if (ops[i]->phase == PHASE_SIGN)
				todo = ops[i];
			any = any || ops[i]->phase == PHASE_SIGNING;
		}
		if (todo) {
			todo->phase = PHASE_SIGNING;
			pthread_mutex_unlock(&l->mu);
			todo->prepared = issue_prepare(todo);
			pthread_mutex_lock(&l->mu);
			todo->phase = PHASE_SIGNED;
			any = true;
		} else if (any) {
			pthread_cond_wait(&l->signed_cond, &l->mu);
		}
	}
	pthread_mutex_unlock(&l->mu);
}

/*
 * Whether the request of envelope @buf already has a "cancelled" record (ledger_sweep()):
 * then it is over, and no certificate may follow. Reads the request's few index entries.
 * Return: 0 (not cancelled, or the record names no request), JIT_E_EXPIRED (cancelled), or
 * an LMDB failure of the group.
 */
static int request_cancelled(struct ledger *l, struct group *g, const uint8_t *buf, size_t len)
{
	_cleanup_(cursor_closep) MDB_cursor *c = NULL;
	const MDB_val cancelled =
		mval((void *)LEDGER_EVENT_CANCELLED, strlen(LEDGER_EVENT_CANCELLED));
	struct env e, re;
	MDB_val rid, v;
	int rc;

	if (env_parse(buf, len, &e) || !env_key(&e, F_REQUEST, &rid))
		return 0;
	rc = mdb_cursor_open(g->txn, l->idx[F_REQUEST], &c);
	if (rc)
		return g_fail(g, rc);
	for (rc = mdb_cursor_get(c, &rid, &v, MDB_SET_KEY); rc == 0;
	     rc = mdb_cursor_get(c, &rid, &v, MDB_NEXT_DUP)) {
		int r = record_get(l, g->txn, get_be64(v.mv_data), &re);

		if (r < 0)
			return r;
		if (env_key_is(&re, F_EVENT, &cancelled))
			return JIT_E_EXPIRED;
	}
	return rc == MDB_NOTFOUND ? 0 : g_fail(g, rc);
}

/* Write a prepared issuance; its serial becomes the counter (serials rise in queue order). */
static int op_issue(struct ledger *l, struct group *g, struct op *op)
{
	int r;

	if (op->prepared != 0)
		return op->prepared;
	if ((r = request_cancelled(l, g, op->env, op->env_len)) < 0)
		return r;
	r = env_put(l, g, op->env, op->env_len, &op->seq);
	if (r < 0)
		return r;
	g->counter = op->serial & LEDGER_COUNTER_MAX;
	if (op->time > g->max_time)
		g->max_time = op->time;
	return 0;
}

/* Delete up to LEDGER_NONCE_PRUNE_MAX nonces whose expiry is at or before @now. */
static int nonce_prune(struct ledger *l, struct group *g, uint64_t now)
{
	_cleanup_(cursor_closep) MDB_cursor *c = NULL;
	uint8_t nb[LEDGER_NONCE_MAX];
	MDB_val k, v, nk;
	int rc;

	rc = mdb_cursor_open(g->txn, l->nonce_expiry, &c);
	if (rc)
		return g_fail(g, rc);
	for (unsigned i = 0; i < LEDGER_NONCE_PRUNE_MAX; i++) {
		rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
		if (rc == MDB_NOTFOUND)
			return 0;
		if (rc)
			return g_fail(g, rc);
		if (k.mv_size <= 8 || k.mv_size > 8 + LEDGER_NONCE_MAX)
			return g_fail(g, MDB_CORRUPTED);
		if (get_be64(k.mv_data) > now)
			return 0;
		memcpy(nb, (const uint8_t *)k.mv_data + 8, k.mv_size - 8);
		nk = mval(nb, k.mv_size - 8);
		rc = mdb_cursor_del(c, 0);
		if (!rc)
			rc = mdb_del(g->txn, l->nonces, &nk, NULL);
		if (rc && rc != MDB_NOTFOUND)
			return g_fail(g, rc);
	}
	return 0;
}

static int op_nonce(struct ledger *l, struct group *g, struct op *op)
{
	uint8_t eb[8 + LEDGER_NONCE_MAX], vb[8];
	uint64_t expiry = op->keep_sec > UINT64_MAX - op->now ? UINT64_MAX : op->now + op->keep_sec;
	size_t n = strlen(op->nonce);
	MDB_val k = mval(op->nonce, n), ek = mval(eb, 8 + n), v;
	bool stale = false;
	int rc, r;

	/* First the check, which may fail on its own; then the writes. */
	rc = mdb_get(g->txn, l->nonces, &k, &v);
	if (rc == 0) {
		if (v.mv_size != 8)
			return g_fail(g, MDB_CORRUPTED);
		if (get_be64(v.mv_data) > op->now)
			return JIT_E_REPLAY;
		put_be64(eb, get_be64(v.mv_data)); /* expired, not yet pruned: drop it now */
		stale = true;
	} else if (rc != MDB_NOTFOUND) {
		return g_fail(g, rc);
	}
	memcpy(eb + 8, op->nonce, n);
	if (stale) {
		rc = mdb_del(g->txn, l->nonce_expiry, &ek, NULL);
		if (rc && rc != MDB_NOTFOUND)
			return g_fail(g, rc);
	}
	r = nonce_prune(l, g, op->now);
	if (r < 0)
		return r;
	put_be64(vb, expiry);
	v = mval(vb, 8);
	rc = mdb_put(g->txn, l->nonces, &k, &v, 0);
	if (!rc) {
		put_be64(eb, expiry);
		v = mval("", 0);
		rc = mdb_put(g->txn, l->nonce_expiry, &ek, &v, 0);
	}
	if (rc)
		return g_fail(g, rc);
	if (op->now > g->max_time)
		g->max_time = op->now;
	return 0;
}

/* The message a checkpoint signs (ledger.h). */
static int checkpoint_message(uint64_t seq, const uint8_t hash[LEDGER_HASH_LEN], uint64_t time,
			      char *out, size_t size)
{
	char hex[HEX_LEN + 1];
	int n;

	hex_encode(hash, LEDGER_HASH_LEN, hex);
	n = snprintf(out, size,
		     "jit-ssh-ledger-checkpoint seq=%" PRIu64 " hash=%s time=%" PRIu64 "\n", seq,
		     hex, time);
	return n > 0 && (size_t)n < size ? n : -EINVAL;
}

#define CKPT_MSG_MAX 160

/* Sign the head of @g as a checkpoint record at time @now and append it. */
static int checkpoint_append(struct ledger *l, struct group *g, uint64_t now, uint64_t *ret_seq)
{
	_cleanup_free_ uint8_t *blob = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_free_ char *b64 = NULL;
	_cleanup_free_ char *fp = NULL;
	json_auto_t *rec = NULL;
	char msg[CKPT_MSG_MAX], hex[HEX_LEN + 1];
	size_t blob_len, len;
	int n, r;

	n = checkpoint_message(g->head.seq, g->head.hash, now, msg, sizeof msg);
	if (n < 0)
		return n;
	if ((r = sig_sign(l->ckpt_signer, LEDGER_CHECKPOINT_NAMESPACE, (const uint8_t *)msg,
			  (size_t)n, NULL, &blob, &blob_len)) < 0 ||
	    (r = b64_encode(blob, blob_len, &b64)) < 0 ||
	    (r = key_fingerprint(l->ckpt_signer->pub, &fp)) < 0)
		return r;
	if (strlen(fp) >= LEDGER_FINGERPRINT_MAX)
		return JIT_E_TOO_LARGE;
	hex_encode(g->head.hash, LEDGER_HASH_LEN, hex);
	rec = json_pack("{s:s, s:I, s:I, s:s, s:s, s:s}", "event", LEDGER_EVENT_CHECKPOINT, "time",
			(json_int_t)now, "signed_seq", (json_int_t)g->head.seq, "signed_hash", hex,
			"signer", fp, "signature", b64);
	if (!rec)
		return now > INT64_MAX ? -EINVAL : -ENOMEM;
	r = record_encode(rec, true, &buf, &len);
	if (r < 0)
		return r;
	r = env_put(l, g, buf, len, ret_seq);
	if (r < 0)
		return r;
	g->ckpt = (struct ckpt_meta){.seq = *ret_seq, .time = now};
	return 0;
}

/* Remember how the latest checkpoint attempt went (ledger_checkpoint_failure()). */
static int checkpoint_noted(struct ledger *l, int r)
{
	pthread_mutex_lock(&l->mu);
	l->ckpt_failure = r < 0 ? r : 0;
	pthread_mutex_unlock(&l->mu);
	return r;
}

/* A checkpoint is due at @now: records follow the last one, and either enough of them or
 * enough time since it (a ledger's first records: at once). */
static bool checkpoint_due(const struct ledger *l, const struct group *g, uint64_t now)
{
	uint64_t since = g->head.seq - g->ckpt.seq;

	if (!l->ckpt_signer || since == 0)
		return false;
	return since >= l->ckpt_records ||
	       (now >= g->ckpt.time && now - g->ckpt.time >= l->ckpt_sec);
}

static int op_checkpoint(struct ledger *l, struct group *g, struct op *op)
{
	if (!l->ckpt_signer)
		return -EINVAL;
	if (op->due_only) {
		op->seq = 0;
		if (!checkpoint_due(l, g, op->now))
			return 0;
	} else if (g->head.seq == 0) {
		return JIT_E_NOT_FOUND;
	} else if (g->head.seq == g->ckpt.seq) {
		op->seq = g->ckpt.seq;
		return 0;
	}
	return checkpoint_noted(l, checkpoint_append(l, g, op->now, &op->seq));
}

/* After a group's operations: a checkpoint when one is due. Its failure (e.g. of the
 * signer) does not fail the group; the next group tries again, and the failure is kept for
 * ledger_checkpoint_failure(), since a library does not log. */
static void checkpoint_if_due(struct ledger *l, struct group *g)
{
	uint64_t seq;

	if (checkpoint_due(l, g, g->max_time))
		(void)checkpoint_noted(l, checkpoint_append(l, g, g->max_time, &seq));
}

/* ---- a request's life (ledger.h "A request's life") ---- */

static const char *const state_names[LEDGER_STATE_END] = {
	[LEDGER_STATE_NONE] = "none",
	[LEDGER_STATE_RECEIVED] = "received",
	[LEDGER_STATE_ALLOWED] = "allowed",
	[LEDGER_STATE_DENIED] = "denied",
	[LEDGER_STATE_NEEDS_APPROVAL] = "needs_approval",
	[LEDGER_STATE_ISSUED] = "issued",
	[LEDGER_STATE_EXPIRED] = "expired",
	[LEDGER_STATE_CANCELLED] = "cancelled",
};

const char *ledger_state_name(enum ledger_state st)
{
	return (unsigned)st < LEDGER_STATE_END ? state_names[st] : NULL;
}

int ledger_state_from_name(const char *name, enum ledger_state *ret)
{
	for (unsigned i = LEDGER_STATE_NONE + 1; name && i < LEDGER_STATE_END; i++)
		if (strcmp(name, state_names[i]) == 0) {
			*ret = (enum ledger_state)i;
			return 0;
		}
	return -EINVAL;
}

/* The state an event puts its request in; @decision is read for "decided" only. */
static enum ledger_state state_of(const char *ev, size_t len, const char *decision)
{
	static const struct {
		const char *event;
		enum ledger_state state;
	} events[] = {
		{LEDGER_EVENT_RECEIVED, LEDGER_STATE_RECEIVED},
		{LEDGER_EVENT_ISSUED, LEDGER_STATE_ISSUED},
		{LEDGER_EVENT_EXPIRED, LEDGER_STATE_EXPIRED},
		{LEDGER_EVENT_CANCELLED, LEDGER_STATE_CANCELLED},
		{LEDGER_EVENT_DENIED_V1, LEDGER_STATE_DENIED},
	};
	static const struct {
		const char *decision;
		enum ledger_state state;
	} decisions[] = {
		{"allowed", LEDGER_STATE_ALLOWED},
		{"denied", LEDGER_STATE_DENIED},
		{"needs_approval", LEDGER_STATE_NEEDS_APPROVAL},
	};

	if (!ev)
		return LEDGER_STATE_NONE;
	if (len == strlen(LEDGER_EVENT_DECIDED) && memcmp(ev, LEDGER_EVENT_DECIDED, len) == 0) {
		for (size_t i = 0; decision && i < ELEMENTSOF(decisions); i++)
			if (strcmp(decision, decisions[i].decision) == 0)
				return decisions[i].state;
		return LEDGER_STATE_NONE;
	}
	for (size_t i = 0; i < ELEMENTSOF(events); i++)
		if (len == strlen(events[i].event) && memcmp(ev, events[i].event, len) == 0)
			return events[i].state;
	return LEDGER_STATE_NONE;
}

enum ledger_state ledger_record_state(const json_t *rec)
{
	const json_t *ev = json_object_get(rec, "event");

	if (!json_is_string(ev))
		return LEDGER_STATE_NONE;
	return state_of(json_string_value(ev), json_string_length(ev),
			json_string_value(json_object_get(rec, "decision")));
}

enum ledger_state ledger_story_state(const json_t *events, size_t *ret_index)
{
	enum ledger_state st = LEDGER_STATE_NONE;
	const json_t *rec;
	size_t i, at = 0;

	json_array_foreach(events, i, rec)
	{
		enum ledger_state s = ledger_record_state(rec);

		if (s != LEDGER_STATE_NONE) {
			st = s;
			at = i;
		}
	}
	if (st != LEDGER_STATE_NONE && ret_index)
		*ret_index = at;
	return st;
}

/* A non-negative JSON integer field, or 0. */
static uint64_t u64_field(const json_t *rec, const char *name)
{
	const json_t *v = json_object_get(rec, name);

	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v)
							       : 0;
}

/* What one record means for the life tables; everything copied out of the map. */
struct life {
	enum ledger_state state;
	char rid[LEDGER_REQUEST_ID_MAX + 1]; /* "" when the record has no request_id */
	size_t rid_len;
	uint64_t seq, time, serial, valid_before;
};

static int life_of(const struct env *e, struct life *ret)
{
	json_auto_t *rec = NULL;
	const char *decision = NULL;
	enum ledger_state st;
	MDB_val ev, v;

	*ret = (struct life){.seq = e->seq};
	if (!env_key(e, F_EVENT, &ev))
		return 0;
	/* Only "decided" (its decision), "issued" and "expired" (valid_before) need the JSON;
	 * with a decision of "allowed", state_of() tells "decided" records apart. */
	st = state_of(ev.mv_data, ev.mv_size, "allowed");
	if (st == LEDGER_STATE_ALLOWED || st == LEDGER_STATE_ISSUED || st == LEDGER_STATE_EXPIRED) {
		rec = json_loadb((const char *)e->json, e->json_len, LOAD_FLAGS, NULL);
		if (!rec)
			return 0; /* not a record we can read: verify names it */
		decision = json_string_value(json_object_get(rec, "decision"));
		ret->valid_before = u64_field(rec, "valid_before");
	}
	ret->state = state_of(ev.mv_data, ev.mv_size, decision);
	if (env_key(e, F_TIME, &v))
		ret->time = get_be64(v.mv_data);
	if (env_key(e, F_SERIAL, &v))
		ret->serial = get_be64(v.mv_data);
	if (env_key(e, F_REQUEST, &v)) {
		memcpy(ret->rid, v.mv_data, v.mv_size);
		ret->rid_len = v.mv_size;
	}
	return 0;
}

static void unexp_key(uint8_t kb[UNEXP_KEY_LEN], uint64_t valid_before, uint64_t serial)
{
	put_be64(kb, valid_before);
	put_be64(kb + 8, serial);
}

static int del_absent_ok(struct group *g, MDB_dbi dbi, MDB_val *k)
{
	int rc = mdb_del(g->txn, dbi, k, NULL);

	return rc && rc != MDB_NOTFOUND ? g_fail(g, rc) : 0;
}

/* Bring the life tables up to date with one record. */
static int life_fold(struct ledger *l, struct group *g, const struct life *x)
{
	uint8_t vb[OPEN_VAL_LEN], kb[UNEXP_KEY_LEN], sb[8];
	MDB_val k = mval(x->rid, x->rid_len), v;
	int rc;

	switch (x->state) {
	case LEDGER_STATE_RECEIVED:
		if (!x->rid_len)
			return 0;
		put_be64(vb, x->seq);
		put_be64(vb + 8, x->time);
		vb[16] = STAGE_RECEIVED;
		v = mval(vb, OPEN_VAL_LEN);
		rc = mdb_put(g->txn, l->life_open, &k, &v, 0);
		return rc ? g_fail(g, rc) : 0;
	case LEDGER_STATE_ALLOWED:
		if (!x->rid_len)
			return 0;
		rc = mdb_get(g->txn, l->life_open, &k, &v);
		if (rc == MDB_NOTFOUND)
			return 0;
		if (rc)
			return g_fail(g, rc);
		if (v.mv_size != OPEN_VAL_LEN)
			return g_fail(g, MDB_CORRUPTED);
		memcpy(vb, v.mv_data, OPEN_VAL_LEN);
		vb[16] = STAGE_ALLOWED;
		v = mval(vb, OPEN_VAL_LEN);
		rc = mdb_put(g->txn, l->life_open, &k, &v, 0);
		return rc ? g_fail(g, rc) : 0;
	case LEDGER_STATE_DENIED:
	case LEDGER_STATE_NEEDS_APPROVAL:
	case LEDGER_STATE_CANCELLED:
		return x->rid_len ? del_absent_ok(g, l->life_open, &k) : 0;
	case LEDGER_STATE_ISSUED:
		if (x->rid_len && (rc = del_absent_ok(g, l->life_open, &k)) < 0)
			return rc;
		if (!x->serial || !x->valid_before)
			return 0; /* nothing to expire */
		unexp_key(kb, x->valid_before, x->serial);
		put_be64(sb, x->seq);
		k = mval(kb, UNEXP_KEY_LEN);
		v = mval(sb, 8);
		rc = mdb_put(g->txn, l->life_unexpired, &k, &v, 0);
		return rc ? g_fail(g, rc) : 0;
	case LEDGER_STATE_EXPIRED:
		unexp_key(kb, x->valid_before, x->serial);
		k = mval(kb, UNEXP_KEY_LEN);
		return del_absent_ok(g, l->life_unexpired, &k);
	default:
		return 0;
	}
}

/* One record the sweep will append, and the life-table entry it settles. */
struct due {
	uint8_t *env;
	size_t env_len;
	uint64_t time;
	bool expired; /* else cancelled */
	uint8_t key[LEDGER_REQUEST_ID_MAX];
	size_t key_len;
};

static void dues_free(struct due *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(d[i].env);
	free(d);
}

/* Copy the string fields @names of @from into @to, those that are strings. */
static int copy_strings(json_t *to, const json_t *from, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_object_get(from, names[i]);

		if (json_is_string(v) && json_object_set(to, names[i], v) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* The JSON of record @seq (new), read in @g's transaction. */
static int record_json(struct ledger *l, struct group *g, uint64_t seq, json_t **ret)
{
	struct env e;
	int r = record_get(l, g->txn, seq, &e);

	if (r == JIT_E_FORMAT)
		return JIT_E_LEDGER_CORRUPT;
	if (r < 0)
		return r;
	*ret = json_loadb((const char *)e.json, e.json_len, LOAD_FLAGS, NULL);
	return *ret ? 0 : JIT_E_LEDGER_CORRUPT;
}

static int due_add(struct due *d, json_t *rec, uint64_t time, bool expired, const void *key,
		   size_t key_len)
{
	int r;

	if (!rec)
		return -ENOMEM;
	r = record_encode(rec, true, &d->env, &d->env_len);
	if (r < 0)
		return r;
	d->time = time;
	d->expired = expired;
	memcpy(d->key, key, key_len);
	d->key_len = key_len;
	return 0;
}

/* "expired" records for certificates whose valid_before is at or before @now. */
static int collect_expired(struct ledger *l, struct group *g, uint64_t now, struct due *d,
			   size_t max, size_t *n)
{
	static const char *const copied[] = {"request_id", "user", "host", "login", "key_id"};
	_cleanup_(cursor_closep) MDB_cursor *c = NULL;
	MDB_val k, v;
	int r, rc;

	rc = mdb_cursor_open(g->txn, l->life_unexpired, &c);
	if (rc)
		return g_fail(g, rc);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && *n < max;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		json_auto_t *issued = NULL;
		json_auto_t *rec = NULL;
		uint64_t vb, serial, seq;

		if (k.mv_size != UNEXP_KEY_LEN || v.mv_size != 8)
			return g_fail(g, MDB_CORRUPTED);
		vb = get_be64(k.mv_data);
		serial = get_be64((const uint8_t *)k.mv_data + 8);
		seq = get_be64(v.mv_data);
		if (vb > now)
			break;
		if (vb > INT64_MAX || serial > INT64_MAX)
			return JIT_E_LEDGER_CORRUPT;
		r = record_json(l, g, seq, &issued);
		if (r < 0)
			return r;
		/* clang-format off */
		rec = json_pack("{s:s, s:I, s:I, s:I, s:I}",
				"event", LEDGER_EVENT_EXPIRED,
				"time", (json_int_t)vb,
				"serial", (json_int_t)serial,
				"valid_before", (json_int_t)vb,
				"issued_seq", (json_int_t)seq);
		/* clang-format on */
		if (rec && (r = copy_strings(rec, issued, copied, ELEMENTSOF(copied))) < 0)
			return r;
		r = due_add(&d[*n], rec, vb, true, k.mv_data, k.mv_size);
		if (r < 0)
			return r;
		(*n)++;
	}
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : g_fail(g, rc);
}

/* "cancelled" records for requests received at least @grace_sec before @now. */
static int collect_cancelled(struct ledger *l, struct group *g, uint64_t now, uint64_t grace_sec,
			     struct due *d, size_t max, size_t *n)
{
	static const char *const copied[] = {"request_id", "user", "host", "login"};
	static const char *const why[] = {
		[STAGE_RECEIVED] = "no decision was recorded: the CA stopped, or could not write "
				   "the ledger, before it answered; nothing was issued",
		[STAGE_ALLOWED] = "allowed, but no certificate was recorded: the CA stopped, or "
				  "the ledger could not record the issuance (e.g. it was full), "
				  "before it answered; nothing was issued",
	};
	_cleanup_(cursor_closep) MDB_cursor *c = NULL;
	MDB_val k, v;
	int r, rc;

	rc = mdb_cursor_open(g->txn, l->life_open, &c);
	if (rc)
		return g_fail(g, rc);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && *n < max;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		json_auto_t *received = NULL;
		json_auto_t *rec = NULL;
		uint64_t seq, t;
		unsigned stage;

		if (v.mv_size != OPEN_VAL_LEN || k.mv_size == 0 ||
		    k.mv_size > LEDGER_REQUEST_ID_MAX || ((const uint8_t *)v.mv_data)[16] > 1)
			return g_fail(g, MDB_CORRUPTED);
		seq = get_be64(v.mv_data);
		t = get_be64((const uint8_t *)v.mv_data + 8);
		stage = ((const uint8_t *)v.mv_data)[16];
		if (t > now || now - t < grace_sec)
			continue; /* maybe still being answered */
		r = record_json(l, g, seq, &received);
		if (r < 0)
			return r;
		/* clang-format off */
		rec = json_pack("{s:s, s:I, s:I, s:s, s:s}",
				"event", LEDGER_EVENT_CANCELLED,
				"time", (json_int_t)now,
				"received_seq", (json_int_t)seq,
				"last_event", stage == STAGE_ALLOWED ? LEDGER_EVENT_DECIDED
								     : LEDGER_EVENT_RECEIVED,
				"reason", why[stage]);
		/* clang-format on */
		if (rec && (r = copy_strings(rec, received, copied, ELEMENTSOF(copied))) < 0)
			return r;
		r = due_add(&d[*n], rec, now, false, k.mv_data, k.mv_size);
		if (r < 0)
			return r;
		(*n)++;
	}
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : g_fail(g, rc);
}

static int life_cursor_store(struct ledger *l, struct group *g, uint64_t seq)
{
	uint8_t b[8];
	MDB_val k = mval("life_cursor", 11), v = mval(b, 8);
	int rc;

	put_be64(b, seq);
	rc = mdb_put(g->txn, l->meta, &k, &v, 0);
	return rc ? g_fail(g, rc) : 0;
}

/* A sweep's failure: alone while it has written nothing, else the whole group's (so that
 * nothing half-done commits). */
static int sweep_fail(struct group *g, int r, bool wrote)
{
	if (g->mdb_rc || !wrote)
		return r;
	return g_fail(g, r == JIT_E_LEDGER_CORRUPT ? MDB_CORRUPTED : MDB_PANIC);
}

/*
 * One sweep transaction: fold the records after the cursor into the life tables (at most
 * LEDGER_SWEEP_FOLD_MAX), and once they are up to date, append what is due (at most
 * LEDGER_SWEEP_BATCH_MAX). Everything that can fail on its own happens before the first
 * record is written; a failure after that fails the group, so nothing half-done commits.
 */
static int op_sweep(struct ledger *l, struct group *g, struct op *op)
{
	struct due *d = NULL;
	size_t n = 0;
	uint64_t cursor = 0, seq;
	bool wrote = false;
	MDB_val v;
	int r;

	op->n_expired = op->n_cancelled = 0;
	op->more = false;
	if (!l->has_life)
		return -EROFS;
	r = meta_get(l, g->txn, "life_cursor", 8, &v);
	if (r == 0)
		cursor = get_be64(v.mv_data);
	else if (r != JIT_E_NOT_FOUND)
		return r;
	if (cursor > g->head.seq)
		return JIT_E_LEDGER_CORRUPT;
	for (seq = cursor + 1; seq <= g->head.seq && seq - cursor <= LEDGER_SWEEP_FOLD_MAX; seq++) {
		struct life x;
		struct env e;

		r = record_get(l, g->txn, seq, &e);
		if (r == 0)
			r = life_of(&e, &x);
		/* A missing or damaged record is verify's to report (a ledger served on with
		 * --continue-on-broken-chain has one): the sweep passes over it, or it would stop
		 * for good at that record. */
		if (r == JIT_E_FORMAT || r == JIT_E_LEDGER_CORRUPT)
			continue;
		if (r == 0)
			r = life_fold(l, g, &x);
		if (r < 0)
			return sweep_fail(g, r, wrote);
		wrote = wrote || x.state != LEDGER_STATE_NONE;
	}
	if (seq <= g->head.seq) {
		op->more = true;
		return life_cursor_store(l, g, seq - 1);
	}

	d = calloc(LEDGER_SWEEP_BATCH_MAX, sizeof *d);
	if (!d)
		return sweep_fail(g, -ENOMEM, wrote);
	r = collect_expired(l, g, op->now, d, LEDGER_SWEEP_BATCH_MAX, &n);
	if (r == 0)
		r = collect_cancelled(l, g, op->now, op->grace_sec, d, LEDGER_SWEEP_BATCH_MAX, &n);
	for (size_t i = 0; r == 0 && i < n; i++) {
		MDB_val k = mval(d[i].key, d[i].key_len);

		wrote = true;
		r = env_put(l, g, d[i].env, d[i].env_len, &seq);
		if (r == 0)
			r = del_absent_ok(g, d[i].expired ? l->life_unexpired : l->life_open, &k);
		if (r == 0 && d[i].expired)
			op->n_expired++;
		else if (r == 0)
			op->n_cancelled++;
	}
	/* The sweep's clock, not the records' times (an "expired" record's is its valid_before,
	 * maybe long past): a checkpoint in this group is signed with the time it is made. */
	if (wrote && op->now > g->max_time)
		g->max_time = op->now;
	if (r == 0)
		r = life_cursor_store(l, g, g->head.seq);
	dues_free(d, LEDGER_SWEEP_BATCH_MAX);
	if (r < 0)
		return sweep_fail(g, r, wrote);
	op->more = n == LEDGER_SWEEP_BATCH_MAX;
	return 0;
}

static int op_apply(struct ledger *l, struct group *g, struct op *op)
{
	switch (op->kind) {
	case OP_APPEND:
		if (op->time > g->max_time)
			g->max_time = op->time;
		return op_append(l, g, op);
	case OP_ISSUE:
		return op_issue(l, g, op);
	case OP_NONCE:
		return op_nonce(l, g, op);
	case OP_CHECKPOINT:
		return op_checkpoint(l, g, op);
	case OP_SWEEP:
		return op_sweep(l, g, op);
	}
	return -EINVAL;
}

static int group_load(struct ledger *l, struct group *g)
{
	MDB_val v;
	int r;

	r = head_read(l, g->txn, true, &g->head);
	if (r == 0)
		r = ckpt_meta_read(l, g->txn, &g->ckpt);
	if (r < 0)
		return r;
	r = meta_get(l, g->txn, "counter", 8, &v);
	if (r == JIT_E_NOT_FOUND)
		g->counter = 0;
	else if (r == 0)
		g->counter = get_be64(v.mv_data);
	return r == JIT_E_NOT_FOUND ? 0 : r;
}

static int group_store(struct ledger *l, struct group *g, const struct group *before)
{
	uint8_t hb[HEAD_LEN], cb[8], kb[CKPT_META_LEN];
	MDB_val k, v;
	int rc = 0;

	if (g->head.seq != before->head.seq) {
		put_be64(hb, g->head.seq);
		memcpy(hb + 8, g->head.hash, LEDGER_HASH_LEN);
		k = mval("head", 4);
		v = mval(hb, HEAD_LEN);
		rc = mdb_put(g->txn, l->meta, &k, &v, 0);
	}
	if (!rc && g->counter != before->counter) {
		put_be64(cb, g->counter);
		k = mval("counter", 7);
		v = mval(cb, 8);
		rc = mdb_put(g->txn, l->meta, &k, &v, 0);
	}
	if (!rc && g->ckpt.seq != before->ckpt.seq) {
		put_be64(kb, g->ckpt.seq);
		put_be64(kb + 8, g->ckpt.time);
		k = mval("checkpoint", 10);
		v = mval(kb, CKPT_META_LEN);
		rc = mdb_put(g->txn, l->meta, &k, &v, 0);
	}
	return rc ? g_fail(g, rc) : 0;
}

/*
 * One attempt at a group. An operation that failed on its own gets its error; the others
 * stay pending when the group fails. Returns 0 when committed, MDB_MAP_FULL when aborted
 * for a full map (retry after growing), or the group's error.
 */
static int group_try(struct ledger *l, struct op **ops, size_t n)
{
	struct group g = {0}, before;
	int r;

	for (size_t i = 0; i < n; i++)
		ops[i]->pending = true;
	r = txn_begin(l, true, &g.txn);
	if (r < 0)
		return r;
	r = group_load(l, &g);
	before = g;
	if (r == 0)
		issue_prepare_group(l, &g, ops, n);
	for (size_t i = 0; r == 0 && i < n && !g.mdb_rc; i++) {
		ops[i]->result = op_apply(l, &g, ops[i]);
		ops[i]->pending = g.mdb_rc != 0;
	}
	if (r == 0 && !g.mdb_rc)
		checkpoint_if_due(l, &g);
	if (r == 0 && !g.mdb_rc)
		(void)group_store(l, &g, &before);
	if (r == 0 && !g.mdb_rc)
		g.mdb_rc = mdb_txn_commit(g.txn);
	else
		mdb_txn_abort(g.txn);
	pthread_rwlock_unlock(&l->map_lock);
	if (r < 0)
		return r;
	if (g.mdb_rc == MDB_MAP_FULL)
		return MDB_MAP_FULL;
	if (g.mdb_rc == MDB_CORRUPTED)
		return JIT_E_LEDGER_CORRUPT;
	return ledger_mdb_err(g.mdb_rc);
}

/* Grow the map by one step; JIT_E_LEDGER_FULL at the maximum. */
static int map_grow(struct ledger *l)
{
	MDB_envinfo info;
	uint64_t size;
	int rc;

	if (mdb_env_info(l->env, &info) != 0)
		return JIT_E_LEDGER;
	if ((uint64_t)info.me_mapsize >= l->map_max)
		return JIT_E_LEDGER_FULL;
	size = l->map_max - info.me_mapsize < l->grow_step ? l->map_max
							   : info.me_mapsize + l->grow_step;
	if (map_lock_write(l) < 0)
		return JIT_E_LEDGER;
	rc = mdb_env_set_mapsize(l->env, (size_t)size);
	pthread_rwlock_unlock(&l->map_lock);
	return rc ? ledger_mdb_err(rc) : 0;
}

static void group_run(struct ledger *l, struct op **ops, size_t n)
{
	int r;

	while ((r = group_try(l, ops, n)) == MDB_MAP_FULL) {
		r = map_grow(l);
		if (r < 0)
			break;
	}
	for (size_t i = 0; i < n; i++)
		if (ops[i]->pending || r < 0)
			ops[i]->result =
				ops[i]->pending || ops[i]->result == 0 ? r : ops[i]->result;
}

/*
 * Queue @op and return once it is committed (or failed): see the top of this file. Each
 * waiting caller sleeps on its own condition variable and is woken only when its operation
 * is done, has a serial to sign with, or has become the first in the queue with no commit
 * running (it then leads the next group).
 */
/*
 * A new leader whose callers have just been released by the previous commit would otherwise
 * take a group of the one or two of them that are back already, leaving the rest for the
 * next commit: wait (at most GATHER_WAIT_US) until as many operations are queued as the last
 * group had. A lone caller's last group was 1: it never waits.
 */
#define GATHER_WAIT_US 1000
static void gather(struct ledger *l, struct op *leader)
{
	size_t want = l->last_group < l->group_max ? l->last_group : l->group_max;
	struct timespec deadline;

	if (l->queued >= want)
		return;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_nsec += GATHER_WAIT_US * 1000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	l->gatherer = leader;
	while (l->queued < want &&
	       pthread_cond_timedwait(&leader->wake, &l->mu, &deadline) != ETIMEDOUT)
		;
	l->gatherer = NULL;
}

static int submit(struct ledger *l, struct op *op)
{
	struct op *batch[LEDGER_GROUP_MAX];

	op->next = NULL;
	op->done = false;
	if (pthread_cond_init(&op->wake, NULL) != 0)
		return -ENOMEM;
	pthread_mutex_lock(&l->mu);
	*l->tail = op;
	l->tail = &op->next;
	l->queued++;
	if (l->gatherer)
		pthread_cond_signal(&l->gatherer->wake);
	while (!op->done) {
		size_t n = 0;

		if (op->phase == PHASE_SIGN) {
			/* The leader gave this issuance its serial: sign here, in parallel. */
			op->phase = PHASE_SIGNING;
			pthread_mutex_unlock(&l->mu);
			op->prepared = issue_prepare(op);
			pthread_mutex_lock(&l->mu);
			op->phase = PHASE_SIGNED;
			pthread_cond_signal(&l->signed_cond);
			continue;
		}
		if (l->committing || l->queue != op) {
			pthread_cond_wait(&op->wake, &l->mu);
			continue;
		}
		l->committing = true;
		gather(l, op);
		while (l->queue && n < l->group_max) {
			/* A sweep commits in a group of its own: its failure fails no request. */
			if (n > 0 && (l->queue->kind == OP_SWEEP || batch[0]->kind == OP_SWEEP))
				break;
			batch[n++] = l->queue;
			l->queue = l->queue->next;
		}
		l->queued -= n;
		l->last_group = n;
		if (!l->queue)
			l->tail = &l->queue;
		pthread_mutex_unlock(&l->mu);
		group_run(l, batch, n);
		pthread_mutex_lock(&l->mu);
		for (size_t i = 0; i < n; i++) {
			batch[i]->done = true;
			pthread_cond_signal(&batch[i]->wake);
		}
		l->committing = false;
		if (l->queue)
			pthread_cond_signal(&l->queue->wake);
	}
	pthread_mutex_unlock(&l->mu);
	pthread_cond_destroy(&op->wake);
	return op->result;
}

int ledger_append(struct ledger *l, const json_t *record, uint64_t *ret_seq)
{
	_cleanup_free_ uint8_t *buf = NULL;
	struct op op = {.kind = OP_APPEND};
	int r;

	if (!l || !record)
		return -EINVAL;
	if (l->read_only)
		return -EROFS;
	/* Encoded in the caller's thread, before taking a place in the queue. */
	r = record_encode(record, false, &buf, &op.env_len);
	if (r < 0)
		return r;
	op.env = buf;
	op.time = env_time(buf, op.env_len);
	r = submit(l, &op);
	if (r < 0)
		return r;
	if (ret_seq)
		*ret_seq = op.seq;
	return 0;
}

int ledger_issue(struct ledger *l, ledger_issue_fn fn, void *ctx, uint64_t *ret_serial,
		 uint64_t *ret_seq)
{
	struct op op = {.kind = OP_ISSUE, .fn = fn, .ctx = ctx};
	int r;

	if (!l || !fn)
		return -EINVAL;
	if (l->read_only)
		return -EROFS;
	r = submit(l, &op);
	free(op.env);
	if (r != 0)
		return r;
	if (ret_serial)
		*ret_serial = op.serial;
	if (ret_seq)
		*ret_seq = op.seq;
	return 0;
}

int ledger_nonce_claim(struct ledger *l, const char *nonce, uint64_t now, uint64_t keep_sec)
{
	struct op op = {.kind = OP_NONCE, .nonce = nonce, .now = now, .keep_sec = keep_sec};
	size_t n;

	if (!l || !nonce)
		return -EINVAL;
	n = strnlen(nonce, LEDGER_NONCE_MAX + 1);
	if (n == 0 || n > LEDGER_NONCE_MAX)
		return -EINVAL;
	if (l->read_only)
		return -EROFS;
	return submit(l, &op);
}

/* A checkpoint now (@due_only false) or only when one is due; @ret_seq 0 when none. */
static int checkpoint_op(struct ledger *l, uint64_t now, bool due_only, uint64_t *ret_seq)
{
	struct op op = {.kind = OP_CHECKPOINT, .now = now, .due_only = due_only};
	int r;

	if (!l)
		return -EINVAL;
	if (l->read_only)
		return -EROFS;
	if (!l->ckpt_signer || now > INT64_MAX)
		return -EINVAL;
	r = submit(l, &op);
	if (r < 0)
		return r;
	if (ret_seq)
		*ret_seq = op.seq;
	return 0;
}

int ledger_checkpoint(struct ledger *l, uint64_t now, uint64_t *ret_seq)
{
	return checkpoint_op(l, now, false, ret_seq);
}

int ledger_checkpoint_if_due(struct ledger *l, uint64_t now, uint64_t *ret_seq)
{
	return checkpoint_op(l, now, true, ret_seq);
}

int ledger_checkpoint_failure(struct ledger *l)
{
	int r;

	if (!l)
		return -EINVAL;
	pthread_mutex_lock(&l->mu);
	r = l->ckpt_failure;
	pthread_mutex_unlock(&l->mu);
	return r;
}

int ledger_sweep(struct ledger *l, uint64_t now, uint64_t grace_sec,
		 struct ledger_sweep_result *ret)
{
	struct ledger_sweep_result sum = {0};
	bool more = true;

	if (!l || now > INT64_MAX)
		return -EINVAL;
	if (l->read_only)
		return -EROFS;
	while (more) {
		struct op op = {.kind = OP_SWEEP, .now = now, .grace_sec = grace_sec};
		int r = submit(l, &op);

		if (r < 0)
			return r;
		sum.expired += op.n_expired;
		sum.cancelled += op.n_cancelled;
		more = op.more;
	}
	if (ret)
		*ret = sum;
	return 0;
}

/* ---- reading ---- */

struct query {
	struct ledger *l;
	MDB_txn *txn;
	struct {
		unsigned id;
		MDB_val key;
		uint8_t buf[8];
	} eq[F_LAST];
	size_t n_eq;
	bool timed;
	uint64_t since, until; /* until 0 = none */
	uint64_t limit, emitted;
	bool reverse, done;
	ledger_record_fn fn;
	void *ctx;
};

/* Visit one candidate record @v at @seq that index @via (0 = none) named. */
static int query_visit(struct query *q, const MDB_val *v, uint64_t seq, unsigned via)
{
	json_auto_t *rec = NULL;
	struct env e;
	MDB_val tv;
	uint64_t t;
	int r;

	if (env_parse(v->mv_data, v->mv_size, &e) || e.seq != seq)
		return JIT_E_FORMAT;
	for (size_t i = 0; i < q->n_eq; i++)
		if (!env_key_is(&e, q->eq[i].id, &q->eq[i].key))
			return q->eq[i].id == via ? JIT_E_LEDGER_CORRUPT : 0;
	if (q->timed) {
		if (!env_key(&e, F_TIME, &tv))
			return JIT_E_FORMAT;
		t = get_be64(tv.mv_data);
		if (t < q->since || (q->until && t >= q->until))
			return via == F_TIME ? JIT_E_LEDGER_CORRUPT : 0;
	}
	r = env_view(&e, &rec);
	if (r < 0)
		return r;
	r = q->fn(q->ctx, rec);
	if (r != 0)
		return r;
	if (q->limit && ++q->emitted >= q->limit)
		q->done = true;
	return 0;
}

static int query_seq(struct query *q, uint64_t seq, unsigned via)
{
	uint8_t kb[8] = {0};
	MDB_val k = mval(kb, 8), v;
	int rc;

	put_be64(kb, seq);
	rc = mdb_get(q->txn, q->l->records, &k, &v);
	if (rc == MDB_NOTFOUND)
		return JIT_E_LEDGER_CORRUPT;
	if (rc)
		return ledger_mdb_err(rc);
	return query_visit(q, &v, seq, via);
}

/* Every record from @from_seq (or down from the last one), no index. */
static int query_scan(struct query *q, uint64_t from_seq)
{
	_cleanup_(cursor_closep) MDB_cursor *c = NULL;
	uint8_t kb[8] = {0};
	MDB_val k = mval(kb, 8), v;
	MDB_cursor_op first = q->reverse ? MDB_LAST : MDB_SET_RANGE;
	MDB_cursor_op next = q->reverse ? MDB_PREV : MDB_NEXT;
	int r, rc;

	rc = mdb_cursor_open(q->txn, q->l->records, &c);
	if (rc)
		return ledger_mdb_err(rc);
	put_be64(kb, from_seq);
	for (rc = mdb_cursor_get(c, &k, &v, first); rc == 0 && !q->done;
	     rc = mdb_cursor_get(c, &k, &v, next)) {
		if (k.mv_size != 8)
			return JIT_E_LEDGER_CORRUPT;
		r = query_visit(q, &v, get_be64(k.mv_data), 0);
		if (r != 0)
			return r;
	}
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : ledger_mdb_err(rc);
}

/* The seqs of equality condition @i, in (reverse) seq order. */
static int query_index(struct query *q, size_t i)
{
	_cleanup_(cursor_closep) MDB_cursor *c = NULL;
	MDB_val k = q->eq[i].key, v;
	MDB_cursor_op next = q->reverse ? MDB_PREV_DUP : MDB_NEXT_DUP;
	int r, rc;

	rc = mdb_cursor_open(q->txn, q->l->idx[q->eq[i].id], &c);
	if (rc)
		return ledger_mdb_err(rc);
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_KEY);
	if (rc == 0 && q->reverse)
		rc = mdb_cursor_get(c, &k, &v, MDB_LAST_DUP);
	for (; rc == 0 && !q->done; rc = mdb_cursor_get(c, &k, &v, next)) {
		if (v.mv_size != 8)
			return JIT_E_LEDGER_CORRUPT;
		r = query_seq(q, get_be64(v.mv_data), q->eq[i].id);
		if (r != 0)
			return r;
	}
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : ledger_mdb_err(rc);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/*
 * The seqs of the time range, sorted (new array in @ret), unless there are more than @cap:
 * then 0 with *@ret NULL.
 */
static int time_range(struct query *q, uint64_t cap, uint64_t **ret, size_t *ret_n)
{
	_cleanup_(cursor_closep) MDB_cursor *c = NULL;
	_cleanup_free_ uint64_t *seqs = NULL;
	size_t n = 0, size = 0;
	uint8_t kb[8] = {0};
	MDB_val k = mval(kb, 8), v;
	int rc;

	*ret = NULL;
	rc = mdb_cursor_open(q->txn, q->l->idx[F_TIME], &c);
	if (rc)
		return ledger_mdb_err(rc);
	put_be64(kb, q->since);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8 || v.mv_size != 8)
			return JIT_E_LEDGER_CORRUPT;
		if (q->until && get_be64(k.mv_data) >= q->until)
			break;
		if (n >= cap)
			return 0;
		if (n == size) {
			uint64_t *p = reallocarray(seqs, size = size ? 2 * size : 256, sizeof *p);

			if (!p)
				return -ENOMEM;
			seqs = p;
		}
		seqs[n++] = get_be64(v.mv_data);
	}
	if (rc && rc != MDB_NOTFOUND)
		return ledger_mdb_err(rc);
	if (n > 1)
		qsort(seqs, n, sizeof *seqs, cmp_u64);
	*ret = TAKE_PTR(seqs);
	*ret_n = n;
	if (!*ret)
		*ret = calloc(1, sizeof **ret);
	return *ret ? 0 : -ENOMEM;
}

/* Run @q: the smallest equality index drives, or the time range if it is smaller. */
static int query_run(struct query *q)
{
	_cleanup_free_ uint64_t *seqs = NULL;
	uint64_t best_n = UINT64_MAX;
	size_t best = SIZE_MAX, n = 0;
	int r, rc;

	for (size_t i = 0; i < q->n_eq; i++) {
		_cleanup_(cursor_closep) MDB_cursor *c = NULL;
		MDB_val k = q->eq[i].key, v;
		size_t count;

		rc = mdb_cursor_open(q->txn, q->l->idx[q->eq[i].id], &c);
		if (!rc)
			rc = mdb_cursor_get(c, &k, &v, MDB_SET_KEY);
		if (rc == MDB_NOTFOUND)
			return 0; /* no record has this value */
		if (!rc)
			rc = mdb_cursor_count(c, &count);
		if (rc)
			return ledger_mdb_err(rc);
		if (count < best_n) {
			best_n = count;
			best = i;
		}
	}
	if (q->timed) {
		r = time_range(q, best_n, &seqs, &n);
		if (r < 0)
			return r;
	}
	if (seqs) {
		for (size_t i = 0; i < n && !q->done; i++) {
			r = query_seq(q, seqs[q->reverse ? n - 1 - i : i], F_TIME);
			if (r != 0)
				return r;
		}
		return 0;
	}
	if (best != SIZE_MAX)
		return query_index(q, best);
	return query_scan(q, 1);
}

/* Add an equality condition; false when no stored value can match it. */
static bool query_eq_string(struct query *q, unsigned id, const char *s)
{
	size_t n;

	if (!s)
		return true;
	n = strnlen(s, fields[id].max + 1);
	if (n == 0 || n > fields[id].max)
		return false;
	q->eq[q->n_eq].id = id;
	q->eq[q->n_eq++].key = mval(s, n);
	return true;
}

static int query_prepare(struct query *q, const struct ledger_filter *f)
{
	static const struct ledger_filter all = {0};

	if (!f)
		f = &all;
	q->limit = f->limit;
	q->reverse = f->newest_first;
	q->since = f->since;
	q->until = f->until;
	q->timed = f->since || f->until;
	if (f->until && f->until <= f->since)
		return 0;
	if (!query_eq_string(q, F_USER, f->user) || !query_eq_string(q, F_HOST, f->host) ||
	    !query_eq_string(q, F_LOGIN, f->login) ||
	    !query_eq_string(q, F_REQUEST, f->request_id) || !query_eq_string(q, F_EVENT, f->event))
		return 0;
	if (f->serial) {
		if (f->serial > INT64_MAX)
			return 0;
		put_be64(q->eq[q->n_eq].buf, f->serial);
		q->eq[q->n_eq].id = F_SERIAL;
		q->eq[q->n_eq].key = mval(q->eq[q->n_eq].buf, 8);
		q->n_eq++;
	}
	return 1;
}

int ledger_query(struct ledger *l, const struct ledger_filter *f, ledger_record_fn fn, void *ctx)
{
	_cleanup_(rtxn_end) struct rtxn t = {0};
	struct query q = {.l = l, .fn = fn, .ctx = ctx};
	int r;

	if (!l || !fn)
		return -EINVAL;
	r = query_prepare(&q, f);
	if (r <= 0)
		return r;
	r = rtxn_begin(l, &t);
	if (r < 0)
		return r;
	q.txn = t.txn;
	return query_run(&q);
}

int ledger_foreach(struct ledger *l, uint64_t from_seq, ledger_record_fn fn, void *ctx)
{
	_cleanup_(rtxn_end) struct rtxn t = {0};
	struct query q = {.l = l, .fn = fn, .ctx = ctx};
	int r;

	if (!l || !fn)
		return -EINVAL;
	r = rtxn_begin(l, &t);
	if (r < 0)
		return r;
	q.txn = t.txn;
	return query_scan(&q, from_seq);
}

static int collect(void *ctx, const json_t *rec)
{
	return json_array_append(ctx, (json_t *)rec) < 0 ? -ENOMEM : 0;
}

static int events(struct ledger *l, const struct ledger_filter *f, json_t **ret)
{
	json_auto_t *all = json_array();
	int r;

	if (!all)
		return -ENOMEM;
	r = ledger_query(l, f, collect, all);
	if (r != 0)
		return r;
	if (json_array_size(all) == 0)
		return JIT_E_NOT_FOUND;
	*ret = TAKE_PTR(all);
	return 0;
}

int ledger_request_events(struct ledger *l, const char *request_id, json_t **ret)
{
	struct ledger_filter f = {.request_id = request_id};

	if (!l || !request_id || !ret)
		return -EINVAL;
	return events(l, &f, ret);
}

int ledger_serial_events(struct ledger *l, uint64_t serial, json_t **ret)
{
	struct ledger_filter f = {.serial = serial};

	if (!l || !ret)
		return -EINVAL;
	if (serial == 0)
		return JIT_E_NOT_FOUND;
	return events(l, &f, ret);
}

int ledger_count(struct ledger *l, uint64_t *ret_count)
{
	_cleanup_(rtxn_end) struct rtxn t = {0};
	MDB_stat st;
	int r, rc;

	if (!l || !ret_count)
		return -EINVAL;
	r = rtxn_begin(l, &t);
	if (r < 0)
		return r;
	rc = mdb_stat(t.txn, l->records, &st);
	if (rc)
		return ledger_mdb_err(rc);
	*ret_count = st.ms_entries;
	return 0;
}

int ledger_head(struct ledger *l, uint64_t *ret_seq, uint8_t ret_hash[LEDGER_HASH_LEN])
{
	_cleanup_(rtxn_end) struct rtxn t = {0};
	struct ledger_head h;
	int r;

	if (!l || !ret_seq)
		return -EINVAL;
	r = rtxn_begin(l, &t);
	if (r < 0)
		return r;
	r = head_read(l, t.txn, false, &h);
	if (r < 0)
		return r;
	*ret_seq = h.seq;
	if (ret_hash)
		memcpy(ret_hash, h.hash, LEDGER_HASH_LEN);
	return 0;
}

/*
 * Decode checkpoint record @rec found at @seq into @ret, with its signature (borrowed from
 * @rec); NULL, or why it is malformed.
 */
static const char *checkpoint_decode(const json_t *rec, uint64_t seq, struct ledger_checkpoint *ret,
				     const char **ret_sig)
{
	const json_t *hs = json_object_get(rec, "signed_hash");
	const json_t *ss = json_object_get(rec, "signed_seq");
	const json_t *tm = json_object_get(rec, "time");
	const json_t *fp = json_object_get(rec, "signer");
	const json_t *sg = json_object_get(rec, "signature");

	*ret = (struct ledger_checkpoint){.seq = seq};
	if (!json_is_integer(ss) || json_integer_value(ss) < 0 || !json_is_integer(tm) ||
	    json_integer_value(tm) < 0 || !json_is_string(hs) ||
	    !hash_decode(json_string_value(hs), json_string_length(hs), ret->signed_hash) ||
	    !json_is_string(fp) || json_string_length(fp) >= LEDGER_FINGERPRINT_MAX ||
	    !json_is_string(sg))
		return "the checkpoint record is malformed";
	ret->signed_seq = (uint64_t)json_integer_value(ss);
	ret->time = (uint64_t)json_integer_value(tm);
	memcpy(ret->signer, json_string_value(fp), json_string_length(fp) + 1);
	*ret_sig = json_string_value(sg);
	return NULL;
}

int ledger_last_checkpoint(struct ledger *l, struct ledger_checkpoint *ret)
{
	_cleanup_(rtxn_end) struct rtxn t = {0};
	json_auto_t *rec = NULL;
	struct ledger_checkpoint c;
	struct ckpt_meta m;
	const char *sig;
	struct env e;
	int r;

	if (!l || !ret)
		return -EINVAL;
	r = rtxn_begin(l, &t);
	if (r < 0)
		return r;
	r = ckpt_meta_read(l, t.txn, &m);
	if (r < 0)
		return r;
	if (m.seq == 0)
		return JIT_E_NOT_FOUND;
	r = record_get(l, t.txn, m.seq, &e);
	if (r < 0)
		return r;
	r = env_view(&e, &rec);
	if (r < 0)
		return r;
	if (!json_is_string(json_object_get(rec, "event")) ||
	    strcmp(json_string_value(json_object_get(rec, "event")), LEDGER_EVENT_CHECKPOINT) != 0)
		return JIT_E_LEDGER_CORRUPT;
	if (checkpoint_decode(rec, m.seq, &c, &sig))
		return JIT_E_FORMAT;
	*ret = c;
	return 0;
}

/* ---- verify ---- */

struct verify {
	struct ledger *l;
	MDB_txn *txn;
	const struct key *const *trusted;
	size_t n_trusted;
	/* The key sections of all records, copied during the walk so that the index check
	 * reads compact memory, not the whole map: keys_len (2, BE) || keys, at key_at[seq]. */
	uint8_t *keys;
	size_t keys_used, keys_size;
	size_t *key_at;
	uint64_t counts[F_LAST + 1];
	struct ledger_verify_result res;
};

static int verify_fail(struct verify *v, uint64_t seq, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int verify_fail(struct verify *v, uint64_t seq, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	v->res.bad_seq = seq;
	if (seq)
		n = snprintf(v->res.error, sizeof v->res.error, "seq %" PRIu64 ": ", seq);
	va_start(ap, fmt);
	vsnprintf(v->res.error + n, sizeof v->res.error - (size_t)n, fmt, ap);
	va_end(ap);
	return JIT_E_LEDGER_CORRUPT;
}

static bool key_trusted(const struct verify *v, const struct key *k)
{
	for (size_t i = 0; i < v->n_trusted; i++)
		if (key_equal_public(k, v->trusted[i]))
			return true;
	return v->n_trusted == 0;
}

/* Checkpoint record @e: its signature over the hash of the record before it. */
static int verify_checkpoint(struct verify *v, const struct env *e)
{
	json_auto_t *rec = json_loadb((const char *)e->json, e->json_len, LOAD_FLAGS, NULL);
	_cleanup_(key_freep) struct key *signer = NULL;
	_cleanup_free_ uint8_t *blob = NULL;
	_cleanup_free_ char *fp = NULL;
	struct ledger_checkpoint c;
	char msg[CKPT_MSG_MAX];
	const char *why, *sig;
	size_t blob_len;
	int n, r;

	why = rec ? checkpoint_decode(rec, e->seq, &c, &sig) : "the checkpoint record is not JSON";
	if (why)
		return verify_fail(v, e->seq, "%s", why);
	if (c.signed_seq + 1 != e->seq)
		return verify_fail(v, e->seq,
				   "the checkpoint signs seq %" PRIu64 ", not the record before it",
				   c.signed_seq);
	if (memcmp(c.signed_hash, e->prev, LEDGER_HASH_LEN) != 0)
		return verify_fail(v, e->seq,
				   "the checkpoint signs a hash that is not record %" PRIu64 "'s",
				   c.signed_seq);
	n = checkpoint_message(c.signed_seq, c.signed_hash, c.time, msg, sizeof msg);
	if (n < 0)
		return verify_fail(v, e->seq, "the checkpoint record is malformed");
	r = b64_decode(sig, strlen(sig), &blob, &blob_len);
	if (r == 0)
		r = sig_verify(blob, blob_len, LEDGER_CHECKPOINT_NAMESPACE, (const uint8_t *)msg,
			       (size_t)n, &signer);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return verify_fail(v, e->seq, "the checkpoint's signature does not verify (%s)",
				   jit_strerror(r));
	r = key_fingerprint(signer, &fp);
	if (r < 0)
		return r;
	if (!key_trusted(v, signer))
		return verify_fail(v, e->seq, "the checkpoint is signed by an untrusted key %s",
				   fp);
	if (strcmp(fp, c.signer) != 0)
		return verify_fail(v, e->seq, "the checkpoint's \"signer\" does not name its key");
	v->res.checkpoints++;
	v->res.last_checkpoint = c;
	return 0;
}

static int keys_keep(struct verify *v, uint64_t seq, const struct env *e)
{
	size_t n = 2 + e->keys_len;

	if (v->keys_size - v->keys_used < n) {
		size_t size = v->keys_size ? 2 * v->keys_size : 1u << 20;
		uint8_t *p = realloc(v->keys, size);

		if (!p)
			return -ENOMEM;
		v->keys = p;
		v->keys_size = size;
	}
	memcpy(v->keys + v->keys_used, e->start + OFF_KEYS_LEN, n);
	v->key_at[seq] = v->keys_used;
	v->keys_used += n;
	return 0;
}

static void keys_of(const struct verify *v, uint64_t seq, struct env *e)
{
	const uint8_t *p = v->keys + v->key_at[seq];

	e->keys_len = (size_t)p[0] << 8 | p[1];
	e->keys = p + 2;
}

/* Every record in order: layout, seq, hash, link, checkpoints. */
static int verify_chain(struct verify *v)
{
	_cleanup_(cursor_closep) MDB_cursor *c = NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t prev[LEDGER_HASH_LEN] = {0}, hash[LEDGER_HASH_LEN];
	MDB_val k, val, ev;
	uint64_t expect = 1, seq;
	const char *why;
	struct env e;
	int r = 0, rc;

	if (!ctx)
		return -ENOMEM;
	rc = mdb_cursor_open(v->txn, v->l->records, &c);
	if (rc) {
		EVP_MD_CTX_free(ctx);
		return ledger_mdb_err(rc);
	}
	for (rc = mdb_cursor_get(c, &k, &val, MDB_FIRST); rc == 0 && r == 0;
	     rc = mdb_cursor_get(c, &k, &val, MDB_NEXT), expect++) {
		seq = k.mv_size == 8 ? get_be64(k.mv_data) : 0;
		if (seq != expect) {
			r = seq > expect
				    ? verify_fail(v, expect,
						  "missing (the next record is seq %" PRIu64 ")",
						  seq)
				    : verify_fail(v, expect, "a record has a malformed key");
			break;
		}
		if ((why = env_parse(val.mv_data, val.mv_size, &e))) {
			r = verify_fail(v, seq, "the record is malformed: %s", why);
			break;
		}
		if (e.seq != seq) {
			r = verify_fail(v, seq,
					"the record says it is seq %" PRIu64
					" (moved from its position)",
					e.seq);
			break;
		}
		r = env_hash(ctx, v->l->sha256, e.start, e.len, hash);
		if (r < 0)
			break;
		if (memcmp(hash, e.hash, LEDGER_HASH_LEN) != 0)
			r = verify_fail(v, seq, "the record's contents do not match its hash");
		else if (memcmp(prev, e.prev, LEDGER_HASH_LEN) != 0)
			r = verify_fail(
				v, seq,
				"the record's prev is not the hash of the record before it");
		else if (env_key(&e, F_EVENT, &ev) &&
			 ev.mv_size == strlen(LEDGER_EVENT_CHECKPOINT) &&
			 memcmp(ev.mv_data, LEDGER_EVENT_CHECKPOINT, ev.mv_size) == 0)
			r = verify_checkpoint(v, &e);
		if (r < 0)
			break;
		for (unsigned id = 1; id <= F_LAST; id++)
			if (env_key(&e, id, &ev))
				v->counts[id]++;
		r = keys_keep(v, seq, &e);
		if (r < 0)
			break;
		memcpy(prev, hash, LEDGER_HASH_LEN);
		v->res.records = seq;
		memcpy(v->res.head_hash, hash, LEDGER_HASH_LEN);
	}
	EVP_MD_CTX_free(ctx);
	if (r < 0)
		return r;
	return rc == MDB_NOTFOUND ? 0 : ledger_mdb_err(rc);
}

/* The stored head and last-checkpoint pointer agree with the chain. */
static int verify_meta(struct verify *v)
{
	struct ledger_head head;
	struct ckpt_meta m;
	uint64_t last = v->res.records;
	int r;

	r = head_read(v->l, v->txn, false, &head);
	if (r == JIT_E_LEDGER_CORRUPT)
		return verify_fail(v, last + 1, "the ledger head is malformed");
	if (r < 0)
		return r;
	if (head.seq > last)
		return verify_fail(v, last + 1,
				   "missing (the ledger head names seq %" PRIu64
				   " but the last record is seq %" PRIu64 ")",
				   head.seq, last);
	if (head.seq < last)
		return verify_fail(v, head.seq + 1,
				   "the record follows the ledger head (seq %" PRIu64 ")",
				   head.seq);
	if (last > 0 && memcmp(head.hash, v->res.head_hash, LEDGER_HASH_LEN) != 0)
		return verify_fail(v, last, "the record's hash differs from the ledger head's");
	r = ckpt_meta_read(v->l, v->txn, &m);
	if (r == JIT_E_LEDGER_CORRUPT)
		return verify_fail(v, 0, "the last-checkpoint pointer is malformed");
	if (r < 0)
		return r;
	if (m.seq != v->res.last_checkpoint.seq)
		return verify_fail(v, m.seq ? m.seq : v->res.last_checkpoint.seq,
				   "the last checkpoint should be seq %" PRIu64
				   ", the ledger's pointer names seq %" PRIu64,
				   v->res.last_checkpoint.seq, m.seq);
	return 0;
}

/* Index @id holds exactly the records' key entries @id (see docs/ledger.md). */
static int verify_index(struct verify *v, unsigned id)
{
	_cleanup_(cursor_closep) MDB_cursor *c = NULL;
	const char *name = fields[id].name;
	uint64_t last = v->res.records, seq;
	uint8_t sb[8] = {0};
	MDB_stat st;
	MDB_val k, val;
	struct env e;
	int rc;

	rc = mdb_cursor_open(v->txn, v->l->idx[id], &c);
	if (!rc)
		rc = mdb_stat(v->txn, v->l->idx[id], &st);
	if (rc)
		return ledger_mdb_err(rc);
	if (st.ms_entries < v->counts[id]) {
		/* Some record is missing from the index: find the first one (slow path). */
		for (seq = 1; seq <= last; seq++) {
			MDB_val sv = mval(sb, 8);

			keys_of(v, seq, &e);
			if (!env_key(&e, id, &k))
				continue;
			put_be64(sb, seq);
			rc = mdb_cursor_get(c, &k, &sv, MDB_GET_BOTH);
			if (rc == MDB_NOTFOUND)
				return verify_fail(v, seq,
						   "the record is missing from the %s index", name);
			if (rc)
				return ledger_mdb_err(rc);
		}
	}
	/* Every entry is (a value, a seq) of a record carrying that value; the entries are
	 * unique pairs, so with the counts equal the index is exactly right. */
	for (rc = mdb_cursor_get(c, &k, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &val, MDB_NEXT)) {
		seq = val.mv_size == 8 ? get_be64(val.mv_data) : 0;
		if (seq == 0 || seq > last)
			return verify_fail(
				v, 0, "the %s index names seq %" PRIu64 ", which does not exist",
				name, seq);
		keys_of(v, seq, &e);
		if (!env_key_is(&e, id, &k))
			return verify_fail(v, seq,
					   "the %s index lists the record under a value it does "
					   "not carry",
					   name);
	}
	if (rc != MDB_NOTFOUND)
		return ledger_mdb_err(rc);
	if (st.ms_entries != v->counts[id])
		return verify_fail(v, 0, "the %s index has %zu entries for %" PRIu64 " values",
				   name, st.ms_entries, v->counts[id]);
	return 0;
}

int ledger_verify2(struct ledger *l, const struct key *const *trusted, size_t n_trusted,
		   struct ledger_verify_result *ret)
{
	_cleanup_(rtxn_end) struct rtxn t = {0};
	_cleanup_free_ size_t *key_at = NULL;
	_cleanup_free_ uint8_t *keys = NULL;
	struct verify v = {.l = l, .trusted = trusted, .n_trusted = n_trusted};
	MDB_stat st;
	int r, rc;

	if (!l || !ret || (n_trusted && !trusted))
		return -EINVAL;
	r = rtxn_begin(l, &t);
	if (r < 0)
		return r;
	v.txn = t.txn;
	r = format_check(l, t.txn, false);
	if (r < 0)
		return r;
	rc = mdb_stat(t.txn, l->records, &st);
	if (rc)
		return ledger_mdb_err(rc);
	key_at = calloc(st.ms_entries + 1, sizeof *key_at);
	if (!key_at)
		return -ENOMEM;
	v.key_at = key_at;

	r = verify_chain(&v);
	keys = v.keys;
	if (r == 0)
		r = verify_meta(&v);
	for (unsigned id = 1; r == 0 && id <= F_LAST; id++)
		r = verify_index(&v, id);
	if (r < 0 && r != JIT_E_LEDGER_CORRUPT)
		return r;
	v.res.unsigned_records = v.res.records - v.res.last_checkpoint.seq;
	*ret = v.res;
	return r;
}

int ledger_verify(struct ledger *l, uint64_t *ret_count, char **ret_error)
{
	struct ledger_verify_result res;
	int r = ledger_verify2(l, NULL, 0, &res);

	if (r == JIT_E_LEDGER_CORRUPT && ret_error) {
		*ret_error = strdup(res.error);
		if (!*ret_error)
			return -ENOMEM;
	}
	if (r == 0 && ret_count)
		*ret_count = res.records;
	return r;
}

/* ---- backup ---- */

int ledger_backup(struct ledger *l, const char *dest_dir)
{
	_cleanup_free_ char *path = NULL;
	int fd, rc, r = 0;

	if (!l || !dest_dir)
		return -EINVAL;
	if (mkdir(dest_dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (asprintf(&path, "%s/data.mdb", dest_dir) < 0)
		return -ENOMEM;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	/* The copy runs its own read transaction: hold the map as for any reader. */
	pthread_rwlock_rdlock(&l->map_lock);
	rc = mdb_env_copyfd2(l->env, fd, MDB_CP_COMPACT);
	pthread_rwlock_unlock(&l->map_lock);
	if (rc)
		r = ledger_mdb_err(rc);
	else if (fsync(fd) < 0)
		r = errno == ENOSPC || errno == EDQUOT ? JIT_E_LEDGER_FULL : -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0)
		r = fsync_dir(dest_dir);
	if (r < 0)
		unlink(path);
	return r;
}
