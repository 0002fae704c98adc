/* SPDX-License-Identifier: ISC */
/*
 * ledger.h - the issuance ledger: an append-only, hash-chained log of request events in
 * LMDB. This is the one narrow interface to storage (DESIGN.md "Storage beyond one
 * machine"): nothing else in jit-ssh opens the LMDB environment, so a replicated engine can
 * take its place later.
 *
 * A record is a JSON object (jansson). The caller supplies the event's fields (at least
 * "event", a string such as "issued" or "denied", and "time", seconds since the epoch);
 * the ledger adds
 *   "seq"  - position in the log, from 1, gap-free
 *   "prev" - hex SHA-256 of the previous record's canonical encoding ("" for seq 1)
 *   "v"    - record format version (1)
 * The canonical encoding is the record without "hash", serialised compactly with sorted
 * keys (json_dumps JSON_COMPACT|JSON_SORT_KEYS); the record's hash is SHA-256 over it.
 * See docs/ledger.md.
 *
 * Durability: every append returns only after mdb_txn_commit() has returned success with
 * the environment opened without MDB_NOSYNC/MDB_NOMETASYNC, i.e. after fsync. A record that
 * cannot be written (MDB_MAP_FULL, ENOSPC, EIO) makes the call fail with JIT_E_LEDGER_FULL
 * or JIT_E_LEDGER and leaves the ledger unchanged; the caller must then not issue.
 *
 * Serials: 64-bit, (signer_id << 48) | counter, counter from 1, stored in the same
 * transaction as the record that uses it: never 0, never reused, also across crashes.
 *
 * Thread safety: all calls may be made from several threads at once on one struct ledger.
 * Write transactions are serialised by LMDB; readers never block and see committed records
 * only. A read-only handle (review tools) may be open in another process while the daemon
 * writes. Never open the same ledger twice in one process (an LMDB rule).
 */
#pragma once

#include <stdint.h>

#include <jansson.h>

/* Default LMDB map size, bytes (the file grows sparsely up to it). */
#define LEDGER_MAP_SIZE_DEFAULT (1ull << 30)
/* Largest encoded record, bytes. */
#define LEDGER_RECORD_MAX (64u * 1024u)
/* Longest nonce accepted by ledger_nonce_claim(), bytes. */
#define LEDGER_NONCE_MAX 128
/* Longest "request_id" a record may carry, bytes (it is an LMDB key). */
#define LEDGER_REQUEST_ID_MAX 128
/* Expired nonces removed by one ledger_nonce_claim() call at most (bounded work). */
#define LEDGER_NONCE_PRUNE_MAX 32
/* Largest signer_id: serials must fit a JSON integer (int64), so bit 63 stays clear. */
#define LEDGER_SIGNER_ID_MAX 0x7fffu
/* Largest serial counter per signer (the low 48 bits of a serial). */
#define LEDGER_COUNTER_MAX ((1ull << 48) - 1)
/* Record format version, the "v" field. */
#define LEDGER_RECORD_VERSION 1

struct ledger;

/**
 * struct ledger_options
 * @map_size:  LMDB map size in bytes, 0 = LEDGER_MAP_SIZE_DEFAULT
 * @signer_id: 0..LEDGER_SIGNER_ID_MAX, the high 16 bits of every serial this ledger hands out
 * @read_only: open for reading only (review tools); appends fail with -EROFS
 *
 * @map_size is the most the ledger can ever hold; raise it and reopen to grow a full ledger
 * (docs/ledger.md). A read-only open ignores it and uses the size stored in the file.
 */
struct ledger_options {
	uint64_t map_size;
	uint16_t signer_id;
	int read_only;
};

/**
 * ledger_open() - Open (creating if needed, unless read-only) the ledger in directory @dir
 * @dir:  an existing directory; the LMDB files data.mdb and lock.mdb (0600) live in it
 * @opts: options, or NULL for defaults
 * @ret:  new handle (ledger_close())
 *
 * A read-write open checks that the stored chain head names the last record and that this
 * record's hash matches it. A read-only open skips that check so that review tools can still
 * read a damaged ledger; ledger_verify() then names the problem.
 *
 * Errors: -EINVAL (@signer_id over LEDGER_SIGNER_ID_MAX), -errno (e.g. -ENOENT for a
 * missing directory, or for a read-only open of a directory without a ledger), JIT_E_LEDGER,
 * JIT_E_LEDGER_FULL (@map_size too small to create the ledger), JIT_E_LEDGER_CORRUPT (the
 * stored chain head does not match its record).
 */
int ledger_open(const char *dir, const struct ledger_options *opts, struct ledger **ret);

/** ledger_close() - Close; accepts NULL; returns NULL. */
struct ledger *ledger_close(struct ledger *l);

/**
 * ledger_append() - Append one event record, durably
 * @record:  the event's fields (borrowed; not modified)
 * @ret_seq: the record's seq, or NULL
 *
 * The fields "seq", "prev", "v" and "hash" belong to the ledger and may not be supplied.
 * A "request_id" (string, 1..LEDGER_REQUEST_ID_MAX bytes) is indexed for
 * ledger_request_events(); a "serial" (integer > 0) is indexed for ledger_serial_events().
 *
 * Errors: -EINVAL (not an object, no "event" string, a ledger field, a bad "request_id" or
 * "serial", or content that would not read back identically), JIT_E_TOO_LARGE (encoded
 * record over LEDGER_RECORD_MAX), JIT_E_LEDGER_FULL, JIT_E_LEDGER, JIT_E_LEDGER_CORRUPT (the
 * chain head does not name the last record), -EROFS. On error nothing is written.
 */
int ledger_append(struct ledger *l, const json_t *record, uint64_t *ret_seq);

/**
 * ledger_issue_fn - builds an issuance record once the serial is known
 * @ctx:        as given to ledger_issue()
 * @serial:     the serial allocated for this certificate
 * @ret_record: new record (the ledger takes it) with the event's fields; the certificate,
 *              signed with @serial, should be inside so the record is the proof of issue
 * Return: 0, or an error code that aborts the issuance (nothing is written, serial unused).
 *
 * @fn runs inside the ledger's write transaction: it must not call into the same ledger.
 */
typedef int (*ledger_issue_fn)(void *ctx, uint64_t serial, json_t **ret_record);

/**
 * ledger_issue() - Allocate a serial, let @fn sign with it, and append its record, all in
 * one durable transaction
 * @ret_serial: the serial, or NULL
 * @ret_seq:    the record's seq, or NULL
 *
 * The record gets "serial" (a JSON integer) set to the serial if @fn left it out; if @fn set
 * it, it must equal the serial. Serials are (signer_id << 48) | counter with the counter
 * stored in the same transaction as the record, so a serial is consumed exactly when its
 * record is durable: a failed @fn or a failed commit leaves the counter unchanged, and the
 * next issuance gets the same serial (no certificate with it ever left the CA).
 *
 * Errors: those of @fn (any non-zero return, passed back unchanged), -EOVERFLOW (counter
 * at LEDGER_COUNTER_MAX), and as ledger_append().
 */
int ledger_issue(struct ledger *l, ledger_issue_fn fn, void *ctx, uint64_t *ret_serial,
		 uint64_t *ret_seq);

/**
 * ledger_nonce_claim() - Record a request nonce as used, durably
 * @nonce:    the nonce text (1..LEDGER_NONCE_MAX bytes)
 * @now:      seconds since the epoch, UTC
 * @keep_sec: how long the nonce must stay remembered (nonces older than that may be pruned)
 *
 * A claim made at time t is remembered until t + @keep_sec (exclusive): a second claim
 * before then is a replay; at or after it the nonce may be claimed again. Each call also
 * deletes up to LEDGER_NONCE_PRUNE_MAX expired nonces, oldest first.
 *
 * Errors: JIT_E_REPLAY when @nonce was claimed before and its keep period has not ended,
 * -EINVAL (NULL, empty or over LEDGER_NONCE_MAX), -EROFS, JIT_E_LEDGER_FULL, JIT_E_LEDGER.
 */
int ledger_nonce_claim(struct ledger *l, const char *nonce, uint64_t now, uint64_t keep_sec);

/**
 * ledger_record_fn - called for each record, in seq order
 * @record: borrowed; valid during the call only (json_incref() to keep it)
 * Return: 0 to go on, non-zero to stop (that value is returned by the iterating call).
 */
typedef int (*ledger_record_fn)(void *ctx, const json_t *record);

/**
 * ledger_foreach() - Visit every record with seq >= @from_seq
 *
 * All records come from one read snapshot; records appended meanwhile are not visited.
 * The records are parsed, not verified (ledger_verify() does that).
 *
 * Errors: JIT_E_LEDGER, JIT_E_FORMAT (a stored record that is not valid JSON), or the
 * callback's non-zero return.
 */
int ledger_foreach(struct ledger *l, uint64_t from_seq, ledger_record_fn fn, void *ctx);

/**
 * ledger_request_events() - All records whose "request_id" equals @request_id, in order
 * @ret: new JSON array (json_decref())
 * Errors: JIT_E_NOT_FOUND when there are none (also for an empty or over-long
 * @request_id), -EINVAL (NULL argument), JIT_E_FORMAT, JIT_E_LEDGER_CORRUPT (the index
 * names a record without that request_id), JIT_E_LEDGER.
 */
int ledger_request_events(struct ledger *l, const char *request_id, json_t **ret);

/**
 * ledger_serial_events() - All records whose "serial" equals @serial, in seq order (the
 * first one is the issuance); joins sshd's log lines, which name the serial, to the ledger
 * @ret: new JSON array (json_decref())
 * Errors: as ledger_request_events().
 */
int ledger_serial_events(struct ledger *l, uint64_t serial, json_t **ret);

/**
 * ledger_count() - Number of records in the ledger (the last seq, for an intact ledger)
 * @ret_count: the number
 * Errors: -EINVAL, JIT_E_LEDGER.
 */
int ledger_count(struct ledger *l, uint64_t *ret_count);

/**
 * ledger_verify() - Walk the whole chain and check every link
 * @ret_count: number of records checked, or NULL
 * @ret_error: on JIT_E_LEDGER_CORRUPT, a new message (free()) naming the first bad seq and
 *             what is wrong ("seq 7: ..."), or NULL
 *
 * In one read snapshot: seq runs 1, 2, ... without gaps; each record is canonical JSON whose
 * "seq" is its key, whose "v" is LEDGER_RECORD_VERSION, whose "hash" is the SHA-256 of its
 * canonical encoding and whose "prev" is the previous record's "hash" ("" for seq 1); the
 * stored head names the last record and its hash; the request and serial indexes hold
 * exactly the records' "request_id" and "serial" fields. What this proves: docs/ledger.md.
 *
 * Errors: JIT_E_LEDGER_CORRUPT, JIT_E_LEDGER, -ENOMEM.
 */
int ledger_verify(struct ledger *l, uint64_t *ret_count, char **ret_error);
