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

struct ledger;

/**
 * struct ledger_options
 * @map_size:  LMDB map size in bytes, 0 = LEDGER_MAP_SIZE_DEFAULT
 * @signer_id: 0..65535, the high 16 bits of every serial this ledger hands out
 * @read_only: open for reading only (review tools); appends fail with -EROFS
 */
struct ledger_options {
	uint64_t map_size;
	uint16_t signer_id;
	int read_only;
};

/**
 * ledger_open() - Open (creating if needed, unless read-only) the ledger in directory @dir
 * @opts: options, or NULL for defaults
 * @ret:  new handle (ledger_close())
 * Errors: -errno (e.g. -ENOENT for a missing directory), JIT_E_LEDGER, JIT_E_LEDGER_CORRUPT
 * (the stored chain head does not match its record).
 */
int ledger_open(const char *dir, const struct ledger_options *opts, struct ledger **ret);

/** ledger_close() - Close; accepts NULL; returns NULL. */
struct ledger *ledger_close(struct ledger *l);

/**
 * ledger_append() - Append one event record, durably
 * @record:  the event's fields (borrowed; not modified)
 * @ret_seq: the record's seq, or NULL
 * Errors: -EINVAL (no "event" string), JIT_E_TOO_LARGE, JIT_E_LEDGER_FULL, JIT_E_LEDGER,
 * -EROFS.
 */
int ledger_append(struct ledger *l, const json_t *record, uint64_t *ret_seq);

/**
 * ledger_issue_fn - builds an issuance record once the serial is known
 * @ctx:        as given to ledger_issue()
 * @serial:     the serial allocated for this certificate
 * @ret_record: new record (the ledger takes it) with the event's fields; the certificate,
 *              signed with @serial, should be inside so the record is the proof of issue
 * Return: 0, or an error code that aborts the issuance (nothing is written, serial unused).
 */
typedef int (*ledger_issue_fn)(void *ctx, uint64_t serial, json_t **ret_record);

/**
 * ledger_issue() - Allocate a serial, let @fn sign with it, and append its record, all in
 * one durable transaction
 * @ret_serial: the serial, or NULL
 * @ret_seq:    the record's seq, or NULL
 * Errors: those of @fn, and as ledger_append().
 */
int ledger_issue(struct ledger *l, ledger_issue_fn fn, void *ctx, uint64_t *ret_serial,
		 uint64_t *ret_seq);

/**
 * ledger_nonce_claim() - Record a request nonce as used, durably
 * @nonce:    the nonce text (1..LEDGER_NONCE_MAX bytes)
 * @now:      seconds since the epoch, UTC
 * @keep_sec: how long the nonce must stay remembered (nonces older than that may be pruned)
 * Errors: JIT_E_REPLAY when @nonce was claimed before and not yet pruned, -EINVAL,
 * JIT_E_LEDGER_FULL, JIT_E_LEDGER.
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
 * Errors: JIT_E_LEDGER, JIT_E_FORMAT (a stored record that is not valid JSON), or the
 * callback's non-zero return.
 */
int ledger_foreach(struct ledger *l, uint64_t from_seq, ledger_record_fn fn, void *ctx);

/**
 * ledger_request_events() - All records whose "request_id" equals @request_id, in order
 * @ret: new JSON array (json_decref())
 * Errors: JIT_E_NOT_FOUND when there are none, JIT_E_LEDGER.
 */
int ledger_request_events(struct ledger *l, const char *request_id, json_t **ret);

/**
 * ledger_verify() - Walk the whole chain and check every link
 * @ret_count: number of records checked
 * @ret_error: on JIT_E_LEDGER_CORRUPT, a new message naming the first bad seq and what is
 *             wrong
 * Errors: JIT_E_LEDGER_CORRUPT, JIT_E_LEDGER.
 */
int ledger_verify(struct ledger *l, uint64_t *ret_count, char **ret_error);
