/* SPDX-License-Identifier: ISC */
/*
 * ledger.c - the issuance ledger on LMDB (ledger.h, docs/ledger.md).
 *
 * One environment, named sub-databases:
 *   records       seq (8 bytes, big-endian) -> canonical JSON record, "hash" included
 *   meta          "head"    -> seq (8, BE) || SHA-256 (32) of the last record
 *                 "counter" -> the last serial counter handed out (8, BE)
 *   by_request    request_id -> seq (8, BE); DUPSORT|DUPFIXED, so seqs come in order
 *   by_serial     serial (8, BE) -> seq (8, BE); DUPSORT|DUPFIXED
 *   nonces        nonce -> expiry (8, BE)
 *   nonce_expiry  expiry (8, BE) || nonce -> "" (oldest first, for pruning)
 *
 * Big-endian keys sort numerically under LMDB's default memcmp order. Every write is one
 * transaction that returns only after mdb_txn_commit() succeeded (no MDB_NOSYNC).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>
#include <openssl/evp.h>

#include "err.h"
#include "ledger.h"
#include "util.h"

#define HASH_LEN 32
#define HEX_LEN (2 * HASH_LEN)
#define HEAD_LEN (8 + HASH_LEN)
#define DUMP_FLAGS (JSON_COMPACT | JSON_SORT_KEYS)
#define LOAD_FLAGS (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL)
#define LEDGER_MAXDBS 8

struct ledger {
	MDB_env *env;
	MDB_dbi records, meta, by_request, by_serial, nonces, nonce_expiry;
	uint16_t signer_id;
	bool read_only;
};

struct ledger_head {
	uint64_t seq;
	uint8_t hash[HASH_LEN];
};

static void txn_abortp(MDB_txn **t)
{
	if (*t)
		mdb_txn_abort(*t);
}

static void cursor_closep(MDB_cursor **c)
{
	if (*c)
		mdb_cursor_close(*c);
}

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

/* The one place LMDB's codes become ours (open has its own, ledger_open()). */
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

static int ledger_txn_begin(struct ledger *l, bool write, MDB_txn **ret)
{
	return ledger_mdb_err(mdb_txn_begin(l->env, NULL, write ? 0 : MDB_RDONLY, ret));
}

/* Commits and frees @txn (LMDB frees it even when the commit fails). */
static int ledger_txn_commit(MDB_txn *txn)
{
	return ledger_mdb_err(mdb_txn_commit(txn));
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
static bool hash_decode(const char *s, size_t n, uint8_t out[HASH_LEN])
{
	if (n != HEX_LEN)
		return false;
	for (size_t i = 0; i < HASH_LEN; i++) {
		int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* SHA-256 of the canonical encoding of @rec, which must not hold "hash". */
static int record_hash(const json_t *rec, uint8_t ret[HASH_LEN])
{
	_cleanup_free_ char *s = json_dumps(rec, DUMP_FLAGS);

	if (!s)
		return -ENOMEM;
	return EVP_Digest(s, strlen(s), ret, NULL, EVP_sha256(), NULL) == 1 ? 0 : JIT_E_CRYPTO;
}

static json_t *record_parse(const MDB_val *v)
{
	json_t *rec = json_loadb(v->mv_data, v->mv_size, LOAD_FLAGS, NULL);

	if (rec && !json_is_object(rec))
		rec = (json_decref(rec), NULL);
	return rec;
}

/*
 * Check stored record @v found under key @seq: canonical JSON, "hash" matching its contents,
 * "seq" = @seq, "v" = LEDGER_RECORD_VERSION, "prev" a string equal to @prev_hex (unless NULL),
 * "event" a string. Return 0 with @ret_hash and @ret_record (new, without "hash") filled
 * where not NULL, JIT_E_LEDGER_CORRUPT with *@ret_why set to a static description, or
 * -ENOMEM / JIT_E_CRYPTO.
 */
static int record_check(const MDB_val *v, uint64_t seq, const char *prev_hex,
			uint8_t ret_hash[HASH_LEN], json_t **ret_record, const char **ret_why)
{
	json_auto_t *rec = record_parse(v);
	const json_t *hs = NULL;
	_cleanup_free_ char *text = NULL;
	uint8_t stored[HASH_LEN], calc[HASH_LEN];
	const json_t *f;
	int r;

	*ret_why = NULL;
	if (!rec)
		*ret_why = "the record is not a JSON object";
	else if (!(text = json_dumps(rec, DUMP_FLAGS)))
		return -ENOMEM;
	else if (strlen(text) != v->mv_size || memcmp(text, v->mv_data, v->mv_size) != 0)
		*ret_why = "the record is not in canonical form";
	else if (!json_is_string(hs = json_object_get(rec, "hash")) ||
		 !hash_decode(json_string_value(hs), json_string_length(hs), stored))
		*ret_why = "the record has no valid \"hash\"";
	if (*ret_why)
		return JIT_E_LEDGER_CORRUPT;

	json_object_del(rec, "hash");
	r = record_hash(rec, calc);
	if (r < 0)
		return r;
	f = json_object_get(rec, "prev");
	if (memcmp(calc, stored, HASH_LEN) != 0)
		*ret_why = "the record's contents do not match its \"hash\"";
	else if (!json_is_integer(json_object_get(rec, "seq")) ||
		 (uint64_t)json_integer_value(json_object_get(rec, "seq")) != seq)
		*ret_why = "the record's \"seq\" does not match its position";
	else if (!json_is_integer(json_object_get(rec, "v")) ||
		 json_integer_value(json_object_get(rec, "v")) != LEDGER_RECORD_VERSION)
		*ret_why = "the record's format version \"v\" is unknown";
	else if (!json_is_string(f) || (prev_hex && strcmp(json_string_value(f), prev_hex) != 0))
		*ret_why = "the record's \"prev\" is not the hash of the record before it";
	else if (!json_is_string(json_object_get(rec, "event")))
		*ret_why = "the record has no \"event\"";
	if (*ret_why)
		return JIT_E_LEDGER_CORRUPT;
	if (ret_hash)
		memcpy(ret_hash, calc, HASH_LEN);
	if (ret_record)
		*ret_record = TAKE_PTR(rec);
	return 0;
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
	MDB_val k = mval("head", 4), v;
	struct ledger_head h = {0};
	uint64_t last;
	int rc, r;

	rc = mdb_get(txn, l->meta, &k, &v);
	if (rc && rc != MDB_NOTFOUND)
		return ledger_mdb_err(rc);
	if (rc == 0) {
		if (v.mv_size != HEAD_LEN)
			return JIT_E_LEDGER_CORRUPT;
		h.seq = get_be64(v.mv_data);
		memcpy(h.hash, (const uint8_t *)v.mv_data + 8, HASH_LEN);
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

static int meta_get_u64(struct ledger *l, MDB_txn *txn, const char *name, uint64_t *ret)
{
	MDB_val k = mval(name, strlen(name)), v;
	int rc = mdb_get(txn, l->meta, &k, &v);

	if (rc == MDB_NOTFOUND) {
		*ret = 0;
		return 0;
	}
	if (rc)
		return ledger_mdb_err(rc);
	if (v.mv_size != 8)
		return JIT_E_LEDGER_CORRUPT;
	*ret = get_be64(v.mv_data);
	return 0;
}

/* A read-write open: the head must name the last record, and that record's hash. */
static int head_check(struct ledger *l, MDB_txn *txn)
{
	struct ledger_head h;
	uint8_t hash[HASH_LEN], kb[8] = { 0 };
	const char *why;
	MDB_val k = mval(kb, 8), v;
	int r, rc;

	r = head_read(l, txn, true, &h);
	if (r < 0 || h.seq == 0)
		return r;
	put_be64(kb, h.seq);
	rc = mdb_get(txn, l->records, &k, &v);
	if (rc)
		return ledger_mdb_err(rc);
	r = record_check(&v, h.seq, NULL, hash, NULL, &why);
	if (r < 0)
		return r;
	return memcmp(hash, h.hash, HASH_LEN) == 0 ? 0 : JIT_E_LEDGER_CORRUPT;
}

static int ledger_open_dbs(struct ledger *l, MDB_txn *txn)
{
	const struct {
		const char *name;
		unsigned flags;
		MDB_dbi *dbi;
	} dbs[] = {
		{"records", 0, &l->records},
		{"meta", 0, &l->meta},
		{"by_request", MDB_DUPSORT | MDB_DUPFIXED, &l->by_request},
		{"by_serial", MDB_DUPSORT | MDB_DUPFIXED, &l->by_serial},
		{"nonces", 0, &l->nonces},
		{"nonce_expiry", 0, &l->nonce_expiry},
	};

	for (size_t i = 0; i < ELEMENTSOF(dbs); i++) {
		unsigned flags = dbs[i].flags | (l->read_only ? 0 : MDB_CREATE);
		int rc = mdb_dbi_open(txn, dbs[i].name, flags, dbs[i].dbi);

		if (rc == MDB_NOTFOUND)
			return -ENOENT; /* read-only: an LMDB environment, but not a ledger */
		if (rc)
			return ledger_mdb_err(rc);
	}
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
		free(l);
	}
	return NULL;
}

static void ledger_closep(struct ledger **l)
{
	ledger_close(*l);
}

int ledger_open(const char *dir, const struct ledger_options *opts, struct ledger **ret)
{
	_cleanup_(ledger_closep) struct ledger *l = NULL;
	_cleanup_(txn_abortp) MDB_txn *txn = NULL;
	struct ledger_options o = opts ? *opts : (struct ledger_options){0};
	uint64_t map_size = o.map_size ? o.map_size : LEDGER_MAP_SIZE_DEFAULT;
	int rc, r;

	if (!dir || !ret || o.signer_id > LEDGER_SIGNER_ID_MAX || map_size > SIZE_MAX)
		return -EINVAL;
	l = calloc(1, sizeof *l);
	if (!l)
		return -ENOMEM;
	l->signer_id = o.signer_id;
	l->read_only = o.read_only != 0;

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

	r = ledger_txn_begin(l, !l->read_only, &txn);
	if (r < 0)
		return r;
	r = ledger_open_dbs(l, txn);
	if (r < 0)
		return r;
	if (!l->read_only) {
		r = head_check(l, txn);
		if (r < 0)
			return r;
	}
	/* The dbi handles become usable by every later transaction once this one commits. */
	r = ledger_txn_commit(TAKE_PTR(txn));
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

static int record_validate(const json_t *rec)
{
	static const char *const reserved[] = {"seq", "prev", "v", "hash"};
	const json_t *f;

	if (!json_is_object(rec) || !json_is_string(json_object_get(rec, "event")))
		return -EINVAL;
	for (size_t i = 0; i < ELEMENTSOF(reserved); i++)
		if (json_object_get(rec, reserved[i]))
			return -EINVAL;
	f = json_object_get(rec, "request_id");
	if (f && (!json_is_string(f) || json_string_length(f) == 0 ||
		  json_string_length(f) > LEDGER_REQUEST_ID_MAX ||
		  strlen(json_string_value(f)) != json_string_length(f)))
		return -EINVAL;
	f = json_object_get(rec, "serial");
	if (f && (!json_is_integer(f) || json_integer_value(f) <= 0))
		return -EINVAL;
	return 0;
}

/* Append @record inside write transaction @txn; the caller commits. */
static int append_txn(struct ledger *l, MDB_txn *txn, const json_t *record, uint64_t *ret_seq)
{
	json_auto_t *rec = NULL;
	_cleanup_free_ char *text = NULL;
	struct ledger_head h;
	char prev[HEX_LEN + 1] = "", hex[HEX_LEN + 1];
	uint8_t hash[HASH_LEN], kb[8], sb[8], hb[HEAD_LEN];
	const json_t *f;
	const char *why;
	MDB_val k, v;
	uint64_t seq;
	size_t len;
	int r, rc;

	r = record_validate(record);
	if (r < 0)
		return r;
	r = head_read(l, txn, true, &h);
	if (r < 0)
		return r;
	if (h.seq >= INT64_MAX)
		return -EOVERFLOW;
	seq = h.seq + 1;
	if (h.seq > 0)
		hex_encode(h.hash, HASH_LEN, prev);

	rec = json_copy((json_t *)record); /* shallow: only top-level keys are added */
	if (!rec || json_object_set_new(rec, "seq", json_integer((json_int_t)seq)) < 0 ||
	    json_object_set_new(rec, "prev", json_string(prev)) < 0 ||
	    json_object_set_new(rec, "v", json_integer(LEDGER_RECORD_VERSION)) < 0)
		return -ENOMEM;
	r = record_hash(rec, hash);
	if (r == -ENOMEM)
		return -EINVAL; /* jansson cannot encode it (e.g. invalid UTF-8), or no memory */
	if (r < 0)
		return r;
	hex_encode(hash, HASH_LEN, hex);
	if (json_object_set_new(rec, "hash", json_string(hex)) < 0 ||
	    !(text = json_dumps(rec, DUMP_FLAGS)))
		return -ENOMEM;
	len = strlen(text);
	if (len > LEDGER_RECORD_MAX)
		return JIT_E_TOO_LARGE;
	/* Refuse what ledger_verify() would not accept back. */
	v = mval(text, len);
	r = record_check(&v, seq, prev, NULL, NULL, &why);
	if (r == JIT_E_LEDGER_CORRUPT)
		return -EINVAL;
	if (r < 0)
		return r;

	put_be64(kb, seq);
	k = mval(kb, 8);
	rc = mdb_put(txn, l->records, &k, &v, MDB_NOOVERWRITE | MDB_APPEND);
	if (rc == MDB_KEYEXIST)
		return JIT_E_LEDGER_CORRUPT;
	if (rc)
		return ledger_mdb_err(rc);

	v = mval(kb, 8);
	f = json_object_get(rec, "request_id");
	if (f) {
		k = mval(json_string_value(f), json_string_length(f));
		rc = mdb_put(txn, l->by_request, &k, &v, 0);
		if (rc)
			return ledger_mdb_err(rc);
	}
	f = json_object_get(rec, "serial");
	if (f) {
		put_be64(sb, (uint64_t)json_integer_value(f));
		k = mval(sb, 8);
		rc = mdb_put(txn, l->by_serial, &k, &v, 0);
		if (rc)
			return ledger_mdb_err(rc);
	}

	put_be64(hb, seq);
	memcpy(hb + 8, hash, HASH_LEN);
	k = mval("head", 4);
	v = mval(hb, HEAD_LEN);
	rc = mdb_put(txn, l->meta, &k, &v, 0);
	if (rc)
		return ledger_mdb_err(rc);
	*ret_seq = seq;
	return 0;
}

int ledger_append(struct ledger *l, const json_t *record, uint64_t *ret_seq)
{
	_cleanup_(txn_abortp) MDB_txn *txn = NULL;
	uint64_t seq;
	int r;

	if (!l || !record)
		return -EINVAL;
	if (l->read_only)
		return -EROFS;
	r = record_validate(record); /* before taking the write lock */
	if (r < 0)
		return r;
	r = ledger_txn_begin(l, true, &txn);
	if (r < 0)
		return r;
	r = append_txn(l, txn, record, &seq);
	if (r < 0)
		return r;
	r = ledger_txn_commit(TAKE_PTR(txn));
	if (r < 0)
		return r;
	if (ret_seq)
		*ret_seq = seq;
	return 0;
}

int ledger_issue(struct ledger *l, ledger_issue_fn fn, void *ctx, uint64_t *ret_serial,
		 uint64_t *ret_seq)
{
	_cleanup_(txn_abortp) MDB_txn *txn = NULL;
	json_auto_t *rec = NULL;
	uint64_t counter, serial, seq;
	uint8_t cb[8];
	MDB_val k = mval("counter", 7), v = mval(cb, 8);
	const json_t *f;
	int r, rc;

	if (!l || !fn)
		return -EINVAL;
	if (l->read_only)
		return -EROFS;
	r = ledger_txn_begin(l, true, &txn);
	if (r < 0)
		return r;
	r = meta_get_u64(l, txn, "counter", &counter);
	if (r < 0)
		return r;
	if (counter >= LEDGER_COUNTER_MAX)
		return -EOVERFLOW;
	serial = (uint64_t)l->signer_id << 48 | (counter + 1);

	r = fn(ctx, serial, &rec);
	if (r != 0)
		return r;
	if (!json_is_object(rec))
		return -EINVAL;
	f = json_object_get(rec, "serial");
	if (!f) {
		if (json_object_set_new(rec, "serial", json_integer((json_int_t)serial)) < 0)
			return -ENOMEM;
	} else if (!json_is_integer(f) || (uint64_t)json_integer_value(f) != serial) {
		return -EINVAL;
	}
	r = append_txn(l, txn, rec, &seq);
	if (r < 0)
		return r;
	put_be64(cb, counter + 1);
	rc = mdb_put(txn, l->meta, &k, &v, 0);
	if (rc)
		return ledger_mdb_err(rc);
	r = ledger_txn_commit(TAKE_PTR(txn));
	if (r < 0)
		return r;
	if (ret_serial)
		*ret_serial = serial;
	if (ret_seq)
		*ret_seq = seq;
	return 0;
}

/* Delete up to LEDGER_NONCE_PRUNE_MAX nonces whose expiry is at or before @now. */
static int nonce_prune(struct ledger *l, MDB_txn *txn, uint64_t now)
{
	_cleanup_(cursor_closep) MDB_cursor *c = NULL;
	uint8_t nb[LEDGER_NONCE_MAX];
	MDB_val k, v, nk;
	int rc;

	rc = mdb_cursor_open(txn, l->nonce_expiry, &c);
	if (rc)
		return ledger_mdb_err(rc);
	for (unsigned i = 0; i < LEDGER_NONCE_PRUNE_MAX; i++) {
		rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
		if (rc == MDB_NOTFOUND)
			return 0;
		if (rc)
			return ledger_mdb_err(rc);
		if (k.mv_size <= 8 || k.mv_size > 8 + LEDGER_NONCE_MAX)
			return JIT_E_LEDGER_CORRUPT;
		if (get_be64(k.mv_data) > now)
			return 0;
		memcpy(nb, (const uint8_t *)k.mv_data + 8, k.mv_size - 8);
		nk = mval(nb, k.mv_size - 8);
		rc = mdb_cursor_del(c, 0);
		if (!rc)
			rc = mdb_del(txn, l->nonces, &nk, NULL);
		if (rc && rc != MDB_NOTFOUND)
			return ledger_mdb_err(rc);
	}
	return 0;
}

int ledger_nonce_claim(struct ledger *l, const char *nonce, uint64_t now, uint64_t keep_sec)
{
	_cleanup_(txn_abortp) MDB_txn *txn = NULL;
	uint8_t eb[8 + LEDGER_NONCE_MAX], vb[8];
	uint64_t expiry = keep_sec > UINT64_MAX - now ? UINT64_MAX : now + keep_sec;
	size_t n;
	MDB_val k, v, ek;
	int r, rc;

	if (!l || !nonce)
		return -EINVAL;
	n = strnlen(nonce, LEDGER_NONCE_MAX + 1);
	if (n == 0 || n > LEDGER_NONCE_MAX)
		return -EINVAL;
	if (l->read_only)
		return -EROFS;
	r = ledger_txn_begin(l, true, &txn);
	if (r < 0)
		return r;
	r = nonce_prune(l, txn, now);
	if (r < 0)
		return r;

	k = mval(nonce, n);
	memcpy(eb + 8, nonce, n);
	ek = mval(eb, 8 + n);
	rc = mdb_get(txn, l->nonces, &k, &v);
	if (rc == 0) {
		if (v.mv_size != 8)
			return JIT_E_LEDGER_CORRUPT;
		if (get_be64(v.mv_data) > now)
			return JIT_E_REPLAY;
		put_be64(eb, get_be64(v.mv_data)); /* expired, not yet pruned: drop it now */
		rc = mdb_del(txn, l->nonce_expiry, &ek, NULL);
	}
	if (rc && rc != MDB_NOTFOUND)
		return ledger_mdb_err(rc);

	put_be64(vb, expiry);
	v = mval(vb, 8);
	rc = mdb_put(txn, l->nonces, &k, &v, 0);
	if (!rc) {
		put_be64(eb, expiry);
		v = mval("", 0);
		rc = mdb_put(txn, l->nonce_expiry, &ek, &v, 0);
	}
	if (rc)
		return ledger_mdb_err(rc);
	return ledger_txn_commit(TAKE_PTR(txn));
}

/* Record @seq, parsed (new); JIT_E_LEDGER_CORRUPT when it is missing. */
static int record_get(struct ledger *l, MDB_txn *txn, uint64_t seq, json_t **ret)
{
	uint8_t kb[8] = { 0 };
	MDB_val k = mval(kb, 8), v;
	json_t *rec;
	int rc;

	put_be64(kb, seq);
	rc = mdb_get(txn, l->records, &k, &v);
	if (rc == MDB_NOTFOUND)
		return JIT_E_LEDGER_CORRUPT;
	if (rc)
		return ledger_mdb_err(rc);
	rec = record_parse(&v);
	if (!rec)
		return JIT_E_FORMAT;
	*ret = rec;
	return 0;
}

int ledger_foreach(struct ledger *l, uint64_t from_seq, ledger_record_fn fn, void *ctx)
{
	_cleanup_(txn_abortp) MDB_txn *txn = NULL;
	_cleanup_(cursor_closep) MDB_cursor *c = NULL;
	uint8_t kb[8] = { 0 };
	MDB_val k = mval(kb, 8), v;
	int r, rc;

	if (!l || !fn)
		return -EINVAL;
	r = ledger_txn_begin(l, false, &txn);
	if (r < 0)
		return r;
	rc = mdb_cursor_open(txn, l->records, &c);
	if (rc)
		return ledger_mdb_err(rc);
	put_be64(kb, from_seq);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		json_auto_t *rec = record_parse(&v);

		if (!rec)
			return JIT_E_FORMAT;
		r = fn(ctx, rec);
		if (r != 0)
			return r;
	}
	return rc == MDB_NOTFOUND ? 0 : ledger_mdb_err(rc);
}

/* The records an index lists under @key, each checked to carry @field = @want. */
static int index_events(struct ledger *l, MDB_dbi dbi, MDB_val key, const char *field,
			const json_t *want, json_t **ret)
{
	_cleanup_(txn_abortp) MDB_txn *txn = NULL;
	_cleanup_(cursor_closep) MDB_cursor *c = NULL;
	json_auto_t *events = json_array();
	MDB_val v;
	int r, rc;

	if (!events || !want)
		return -ENOMEM;
	r = ledger_txn_begin(l, false, &txn);
	if (r < 0)
		return r;
	rc = mdb_cursor_open(txn, dbi, &c);
	if (rc)
		return ledger_mdb_err(rc);
	for (rc = mdb_cursor_get(c, &key, &v, MDB_SET); rc == 0;
	     rc = mdb_cursor_get(c, &key, &v, MDB_NEXT_DUP)) {
		json_t *rec;

		if (v.mv_size != 8)
			return JIT_E_LEDGER_CORRUPT;
		r = record_get(l, txn, get_be64(v.mv_data), &rec);
		if (r < 0)
			return r;
		if (!json_equal(json_object_get(rec, field), want)) {
			json_decref(rec);
			return JIT_E_LEDGER_CORRUPT;
		}
		if (json_array_append_new(events, rec) < 0)
			return -ENOMEM;
	}
	if (rc != MDB_NOTFOUND)
		return ledger_mdb_err(rc);
	if (json_array_size(events) == 0)
		return JIT_E_NOT_FOUND;
	*ret = TAKE_PTR(events);
	return 0;
}

int ledger_request_events(struct ledger *l, const char *request_id, json_t **ret)
{
	json_auto_t *want = NULL;
	size_t n;

	if (!l || !request_id || !ret)
		return -EINVAL;
	n = strnlen(request_id, LEDGER_REQUEST_ID_MAX + 1);
	if (n == 0 || n > LEDGER_REQUEST_ID_MAX)
		return JIT_E_NOT_FOUND;
	want = json_stringn(request_id, n);
	if (!want)
		return JIT_E_NOT_FOUND; /* not UTF-8: never stored */
	return index_events(l, l->by_request, mval(request_id, n), "request_id", want, ret);
}

int ledger_serial_events(struct ledger *l, uint64_t serial, json_t **ret)
{
	json_auto_t *want = NULL;
	uint8_t kb[8] = { 0 };

	if (!l || !ret)
		return -EINVAL;
	if (serial == 0 || serial > INT64_MAX)
		return JIT_E_NOT_FOUND;
	want = json_integer((json_int_t)serial);
	put_be64(kb, serial);
	return index_events(l, l->by_serial, mval(kb, 8), "serial", want, ret);
}

int ledger_count(struct ledger *l, uint64_t *ret_count)
{
	_cleanup_(txn_abortp) MDB_txn *txn = NULL;
	MDB_stat st;
	int r, rc;

	if (!l || !ret_count)
		return -EINVAL;
	r = ledger_txn_begin(l, false, &txn);
	if (r < 0)
		return r;
	rc = mdb_stat(txn, l->records, &st);
	if (rc)
		return ledger_mdb_err(rc);
	*ret_count = st.ms_entries;
	return 0;
}

/* Does index @c hold (@key, @seq)? */
static int index_has(MDB_cursor *c, MDB_val key, uint64_t seq)
{
	uint8_t sb[8] = { 0 };
	MDB_val v = mval(sb, 8);
	int rc;

	put_be64(sb, seq);
	rc = mdb_cursor_get(c, &key, &v, MDB_GET_BOTH);
	if (rc == MDB_NOTFOUND)
		return JIT_E_LEDGER_CORRUPT;
	return ledger_mdb_err(rc);
}

/* The index entries of record @rec at @seq exist; counts them in @n_req / @n_ser. */
static int record_indexed(MDB_cursor *by_request, MDB_cursor *by_serial, const json_t *rec,
			  uint64_t seq, size_t *n_req, size_t *n_ser, const char **ret_why)
{
	const json_t *f;
	uint8_t sb[8] = { 0 };
	int r;

	f = json_object_get(rec, "request_id");
	if (f) {
		r = json_is_string(f)
			    ? index_has(by_request,
					mval(json_string_value(f), json_string_length(f)), seq)
			    : JIT_E_LEDGER_CORRUPT;
		if (r < 0) {
			*ret_why = "the record is missing from the request index";
			return r;
		}
		(*n_req)++;
	}
	f = json_object_get(rec, "serial");
	if (f) {
		put_be64(sb, (uint64_t)json_integer_value(f));
		r = json_is_integer(f) ? index_has(by_serial, mval(sb, 8), seq)
				       : JIT_E_LEDGER_CORRUPT;
		if (r < 0) {
			*ret_why = "the record is missing from the serial index";
			return r;
		}
		(*n_ser)++;
	}
	return 0;
}

static int verify_fail(char **ret_error, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int verify_fail(char **ret_error, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!ret_error)
		return JIT_E_LEDGER_CORRUPT;
	va_start(ap, fmt);
	n = vasprintf(ret_error, fmt, ap);
	va_end(ap);
	if (n < 0) {
		*ret_error = NULL;
		return -ENOMEM;
	}
	return JIT_E_LEDGER_CORRUPT;
}

int ledger_verify(struct ledger *l, uint64_t *ret_count, char **ret_error)
{
	_cleanup_(txn_abortp) MDB_txn *txn = NULL;
	_cleanup_(cursor_closep) MDB_cursor *c = NULL;
	_cleanup_(cursor_closep) MDB_cursor *creq = NULL;
	_cleanup_(cursor_closep) MDB_cursor *cser = NULL;
	struct ledger_head head;
	uint8_t hash[HASH_LEN];
	char prev[HEX_LEN + 1] = "";
	size_t n_req = 0, n_ser = 0;
	uint64_t expect = 1, seq;
	const char *why = NULL;
	MDB_stat sreq, sser;
	MDB_val k, v;
	int r, rc;

	if (!l)
		return -EINVAL;
	r = ledger_txn_begin(l, false, &txn);
	if (r < 0)
		return r;
	rc = mdb_cursor_open(txn, l->records, &c);
	if (!rc)
		rc = mdb_cursor_open(txn, l->by_request, &creq);
	if (!rc)
		rc = mdb_cursor_open(txn, l->by_serial, &cser);
	if (rc)
		return ledger_mdb_err(rc);

	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT), expect++) {
		json_auto_t *rec = NULL;

		if (k.mv_size != 8)
			return verify_fail(ret_error,
					   "seq %" PRIu64 ": a record key is not 8 bytes", expect);
		seq = get_be64(k.mv_data);
		if (seq != expect)
			return verify_fail(ret_error,
					   "seq %" PRIu64
					   ": missing (the next record is seq %" PRIu64 ")",
					   expect, seq);
		r = record_check(&v, seq, prev, hash, &rec, &why);
		if (r == 0)
			r = record_indexed(creq, cser, rec, seq, &n_req, &n_ser, &why);
		if (r == JIT_E_LEDGER_CORRUPT)
			return verify_fail(ret_error, "seq %" PRIu64 ": %s", seq, why);
		if (r < 0)
			return r;
		hex_encode(hash, HASH_LEN, prev);
	}
	if (rc != MDB_NOTFOUND)
		return ledger_mdb_err(rc);
	seq = expect - 1; /* the last record */

	r = head_read(l, txn, false, &head);
	if (r == JIT_E_LEDGER_CORRUPT)
		return verify_fail(ret_error, "seq %" PRIu64 ": the ledger head is malformed",
				   seq + 1);
	if (r < 0)
		return r;
	if (head.seq > seq)
		return verify_fail(ret_error,
				   "seq %" PRIu64 ": missing (the ledger head names seq %" PRIu64
				   " but the last record is seq %" PRIu64 ")",
				   seq + 1, head.seq, seq);
	if (head.seq < seq)
		return verify_fail(ret_error,
				   "seq %" PRIu64
				   ": the record follows the ledger head (seq %" PRIu64 ")",
				   head.seq + 1, head.seq);
	if (seq > 0 && memcmp(head.hash, hash, HASH_LEN) != 0)
		return verify_fail(
			ret_error,
			"seq %" PRIu64 ": the record's hash differs from the ledger head's", seq);

	rc = mdb_stat(txn, l->by_request, &sreq);
	if (!rc)
		rc = mdb_stat(txn, l->by_serial, &sser);
	if (rc)
		return ledger_mdb_err(rc);
	if (sreq.ms_entries != n_req)
		return verify_fail(ret_error,
				   "request index: %zu entries for %zu records with a request_id",
				   sreq.ms_entries, n_req);
	if (sser.ms_entries != n_ser)
		return verify_fail(ret_error,
				   "serial index: %zu entries for %zu records with a serial",
				   sser.ms_entries, n_ser);
	if (ret_count)
		*ret_count = seq;
	return 0;
}
