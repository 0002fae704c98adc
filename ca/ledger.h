/* SPDX-License-Identifier: ISC */
/*
 * ledger.h - the issuance ledger: an append-only, hash-chained log of request events in
 * LMDB. This is the one narrow interface to storage (DESIGN.md "Storage beyond one
 * machine"): nothing else in jit-ssh opens the LMDB environment, so a replicated engine can
 * take its place later. Format, proofs and review workflow: docs/ledger.md.
 *
 * A record is a JSON object (jansson). The caller supplies the event's fields: at least
 * "event" (a string such as "issued" or "denied") and "time" (an integer, seconds since
 * the epoch). The fields "user", "host", "login", "event", "request_id", "serial" and
 * "time" are indexed (ledger_query()). The ledger stores each record as a binary envelope,
 * format version LEDGER_RECORD_VERSION:
 *
 *   off  len  field
 *   0    4    magic "JITL"
 *   4    1    version (2)
 *   5    8    seq, big-endian: position in the log, from 1, gap-free
 *   13   32   prev: SHA-256 "hash" of record seq - 1 (32 zero bytes for seq 1)
 *   45   32   hash: SHA-256 over bytes [0, 45) followed by bytes [77, end)
 *   77   2    keys_len, big-endian: length of the key section
 *   79   k    key section: the indexed fields, each (u8 id, u8 len, len bytes), ids rising:
 *             1 event, 2 time (8, BE), 3 user, 4 host, 5 login, 6 request_id, 7 serial (8, BE)
 *   79+k n    the record: canonical JSON (json_dumps JSON_COMPACT|JSON_SORT_KEYS), UTF-8
 *
 * so ledger_verify2() checks the chain without parsing JSON. Records read back
 * (ledger_foreach(), ledger_query(), ...) are the JSON object plus four fields made from the
 * envelope: "seq" (integer), "prev" and "hash" (64 lower-case hex digits) and "v" (2).
 *
 * Durability: a call that writes returns 0 only after mdb_txn_commit() has returned success
 * with the environment opened without MDB_NOSYNC/MDB_NOMETASYNC, i.e. after fsync.
 * Concurrent writers are committed in groups (group commit): callers queue their operation,
 * one of them (the leader) opens one write transaction for the whole queue, gives each
 * queued issuance its serial, lets the issuance callbacks run in parallel (each on its
 * caller's thread), writes every record and commits once; every caller returns only after
 * that commit. An operation that fails on its own (bad record, replayed nonce, failing
 * callback) fails alone; a commit that fails fails the whole group and writes nothing. A record
 * that cannot be written (disk full, I/O error, map at its maximum) makes the call fail with
 * JIT_E_LEDGER_FULL or JIT_E_LEDGER and leaves the ledger unchanged and usable; the caller must
 * then not issue.
 *
 * Map size: when LMDB reports a full map, the ledger grows the map by
 * ledger_options.map_grow_step up to ledger_options.map_size_max and retries.
 *
 * Serials: 64-bit, (signer_id << 48) | counter, counter from 1, stored in the same
 * transaction as the record that uses it: never 0, never reused, also across crashes.
 *
 * Checkpoints: with ledger_options.checkpoint_signer set, the ledger appends a record with
 * "event": "checkpoint" every checkpoint_records records or checkpoint_sec seconds: an
 * SSHSIG (namespace LEDGER_CHECKPOINT_NAMESPACE) over the chain head, which
 * ledger_verify2() checks against trusted keys. The signed message is the text
 *   "jit-ssh-ledger-checkpoint seq=<N> hash=<64 hex> time=<T>\n"
 * (decimal N and T, no leading zeros), so `ssh-keygen -Y verify` can check it too.
 *
 * A request's life: the CA records "received", "decided" and "issued" (issue.h); the ledger
 * itself records how each request ends when nobody else does (ledger_sweep()): "expired" once
 * an issued certificate's valid_before has passed, "cancelled" for a request that never
 * reached an answer. A request's state is that of its latest life-cycle record
 * (ledger_record_state()). To do this without rescanning the log, the ledger keeps two
 * derived tables in the same LMDB environment (open requests; issued certificates not yet
 * expired), brought up to date from a cursor by each sweep, in the sweep's own transaction.
 *
 * Thread safety: all calls may be made from several threads at once on one struct ledger.
 * Readers never block writers and see committed records only. A read-only handle (review
 * tools) may be open in another process while the daemon writes; another read-write open
 * in another process is safe too (LMDB serialises the writers). Never open the same ledger
 * twice in one process (an LMDB rule). Callbacks (ledger_record_fn, ledger_issue_fn) must
 * not write to the ledger that calls them.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "key.h"

/* Default initial LMDB map size, bytes (the file grows sparsely up to it). */
#define LEDGER_MAP_SIZE_DEFAULT (1ull << 30)
/* Default largest map size the ledger grows to, bytes. */
#define LEDGER_MAP_SIZE_MAX_DEFAULT (64ull << 30)
/* Default map growth step, bytes. */
#define LEDGER_MAP_GROW_STEP_DEFAULT (1ull << 30)
/* Largest record: its canonical JSON encoding, bytes. */
#define LEDGER_RECORD_MAX (64u * 1024u)
/* Longest nonce accepted by ledger_nonce_claim(), bytes. */
#define LEDGER_NONCE_MAX 128
/* Longest "request_id" a record may carry, bytes (it is an LMDB key). */
#define LEDGER_REQUEST_ID_MAX 128
/* Longest "user", "host", "login" or "event" a record may carry, bytes (LMDB keys). */
#define LEDGER_FIELD_MAX 255
/* Expired nonces removed by one ledger_nonce_claim() call at most (bounded work). */
#define LEDGER_NONCE_PRUNE_MAX 32
/* Largest signer_id: serials must fit a JSON integer (int64), so bit 63 stays clear. */
#define LEDGER_SIGNER_ID_MAX 0x7fffu
/* Largest serial counter per signer (the low 48 bits of a serial). */
#define LEDGER_COUNTER_MAX ((1ull << 48) - 1)
/* Record envelope format version (the "v" of records read back). */
#define LEDGER_RECORD_VERSION 2
/* Length of a record hash (SHA-256), bytes. */
#define LEDGER_HASH_LEN 32
/* Default and largest number of operations committed in one group. */
#define LEDGER_GROUP_MAX_DEFAULT 64u
#define LEDGER_GROUP_MAX 1024u
/* Default checkpoint intervals: records, and seconds of record time. */
#define LEDGER_CHECKPOINT_RECORDS_DEFAULT 1000u
#define LEDGER_CHECKPOINT_SEC_DEFAULT 3600u
/* SSHSIG namespace of checkpoint signatures (PROTOCOL.sshsig). */
#define LEDGER_CHECKPOINT_NAMESPACE "jit-ssh-ledger-checkpoint"
/* The "event" of checkpoint records; reserved to the ledger. */
#define LEDGER_EVENT_CHECKPOINT "checkpoint"
/*
 * Life-cycle events (docs/ledger.md "A request's life"). The CA writes the first three
 * (issue.h uses the same names); "denied" is a denial in ledgers of the first version. The
 * ledger writes "expired" and "cancelled" (ledger_sweep()); like "checkpoint", they are
 * reserved to it.
 */
#define LEDGER_EVENT_RECEIVED "received"
#define LEDGER_EVENT_DECIDED "decided"
#define LEDGER_EVENT_ISSUED "issued"
#define LEDGER_EVENT_DENIED_V1 "denied"
#define LEDGER_EVENT_EXPIRED "expired"
#define LEDGER_EVENT_CANCELLED "cancelled"
/* Most records one sweep transaction appends; most records it reads to bring its tables up
 * to date (bounded work per transaction: other writers wait meanwhile). */
#define LEDGER_SWEEP_BATCH_MAX 256u
#define LEDGER_SWEEP_FOLD_MAX 16384u
/* Room for a key fingerprint "SHA256:<base64>" and its NUL. */
#define LEDGER_FINGERPRINT_MAX 64
/* Room for a ledger_verify2() message and its NUL. */
#define LEDGER_ERROR_MAX 256

struct ledger;

/**
 * struct ledger_options
 * @map_size:           initial LMDB map size in bytes, 0 = LEDGER_MAP_SIZE_DEFAULT
 * @signer_id:          0..LEDGER_SIGNER_ID_MAX, the high 16 bits of every serial this ledger
 *                      hands out
 * @read_only:          open for reading only (review tools); writes fail with -EROFS
 * @map_size_max:       largest map size the ledger grows to, bytes; 0 =
 *                      LEDGER_MAP_SIZE_MAX_DEFAULT, or @map_size if that is larger; a value
 *                      below @map_size is raised to it (so @map_size_max = @map_size
 *                      means "never grow")
 * @map_grow_step:      bytes added to the map each time it is full, 0 =
 *                      LEDGER_MAP_GROW_STEP_DEFAULT
 * @group_max:          most operations committed in one group, 0 = LEDGER_GROUP_MAX_DEFAULT,
 *                      1 = one commit (one fsync) per call; at most LEDGER_GROUP_MAX
 * @checkpoint_signer:  signer of checkpoints (borrowed; must outlive the ledger; called
 *                      from whichever thread commits, one call at a time), or NULL for no
 *                      checkpoints. The CA passes its CA key's signer, or a ledger key's.
 * @checkpoint_records: make a checkpoint once this many records follow the last one;
 *                      0 = LEDGER_CHECKPOINT_RECORDS_DEFAULT, UINT64_MAX = never by count
 * @checkpoint_sec:     make a checkpoint once a committed group's largest "time" (or a
 *                      nonce claim's @now) is this many seconds past the last checkpoint's
 *                      "time"; 0 = LEDGER_CHECKPOINT_SEC_DEFAULT, UINT64_MAX = never by time
 *
 * The map is grown (mdb_env_set_mapsize()) while no transaction of this process is active;
 * a reader of another process adopts the new size by itself. A read-only open ignores every
 * field but @read_only and uses the size stored in the file.
 */
struct ledger_options {
	uint64_t map_size;
	uint16_t signer_id;
	int read_only;
	uint64_t map_size_max;
	uint64_t map_grow_step;
	unsigned group_max;
	const struct signer *checkpoint_signer;
	uint64_t checkpoint_records;
	uint64_t checkpoint_sec;
};

/**
 * ledger_open() - Open (creating if needed, unless read-only) the ledger in directory @dir
 * @dir:  an existing directory; the LMDB files data.mdb and lock.mdb (0600) live in it
 * @opts: options (copied; the signer is borrowed), or NULL for defaults
 * @ret:  new handle (ledger_close())
 *
 * A read-write open checks that the stored chain head names the last record and that this
 * record's hash matches it. A read-only open skips that check so that review tools can still
 * read a damaged ledger; ledger_verify2() then names the problem.
 *
 * Errors: -EINVAL (@signer_id over LEDGER_SIGNER_ID_MAX, @group_max over LEDGER_GROUP_MAX),
 * -errno (e.g. -ENOENT for a missing directory, or for a read-only open of a directory
 * without a ledger), JIT_E_FORMAT (a ledger in another format, e.g. the first, JSON-only
 * one), JIT_E_LEDGER, JIT_E_LEDGER_FULL (map too small to create the ledger),
 * JIT_E_LEDGER_CORRUPT (the stored chain head does not match its record).
 */
int ledger_open(const char *dir, const struct ledger_options *opts, struct ledger **ret);

/** ledger_close() - Close; accepts NULL; returns NULL. No call may be running on @l. */
struct ledger *ledger_close(struct ledger *l);

/**
 * ledger_append() - Append one event record, durably
 * @record:  the event's fields (borrowed; not modified)
 * @ret_seq: the record's seq, or NULL
 *
 * Required: "event", a string of 1..LEDGER_FIELD_MAX bytes other than the reserved
 * "checkpoint", "expired" and "cancelled", and
 * "time", an integer >= 0. The fields "seq", "prev", "v" and "hash" belong to the ledger
 * and may not be supplied. Indexed fields, when present: "user", "host", "login" strings
 * of 1..LEDGER_FIELD_MAX bytes, "request_id" a string of 1..LEDGER_REQUEST_ID_MAX bytes,
 * "serial" an integer > 0; none may contain a NUL.
 *
 * Errors: -EINVAL (not an object, a missing or bad required or indexed field, a ledger
 * field, or content that would not read back identically, e.g. a string that is not
 * UTF-8), JIT_E_TOO_LARGE (encoded record over LEDGER_RECORD_MAX), JIT_E_LEDGER_FULL,
 * JIT_E_LEDGER, JIT_E_LEDGER_CORRUPT (the chain head does not name the last record),
 * JIT_E_EXPIRED (a "decided" record for a request that already has a "cancelled" one:
 * ledger_sweep() gave it up, so it gets no answer), -EROFS. On error nothing is written.
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
 * @fn runs while the ledger's write transaction that allocated @serial is open, usually on
 * the calling thread, in parallel with the other issuances of its group, but possibly on
 * another caller's thread (group commit); and possibly more than once for one
 * ledger_issue() (when the map grows the group is retried; the serial may differ): only the
 * record of the last call counts. It may read but must not write the same ledger.
 */
typedef int (*ledger_issue_fn)(void *ctx, uint64_t serial, json_t **ret_record);

/**
 * ledger_issue() - Allocate a serial, let @fn sign with it, and append its record, all in
 * one durable transaction
 * @ret_serial: the serial, or NULL
 * @ret_seq:    the record's seq, or NULL
 *
 * The record gets "serial" (a JSON integer) set to the serial if @fn left it out; if @fn set
 * it, it must equal the serial. Serials are (signer_id << 48) | counter; the counter is read
 * and stored in the same write transaction as the records that use it, so a serial counts
 * as used exactly when its record is durable. The serials of one group rise in queue order.
 * A failed @fn or a failed commit writes nothing: that serial is handed out again later, or,
 * when a later serial of the same group was written, skipped. Either way no serial is ever
 * used twice, and no certificate with a failed issuance's serial left the CA.
 *
 * Errors: those of @fn (any non-zero return, passed back unchanged), -EOVERFLOW (counter
 * at LEDGER_COUNTER_MAX), JIT_E_EXPIRED (the record's "request_id" already has a "cancelled"
 * record: ledger_sweep() gave the request up, so it gets no certificate; nothing written),
 * and as ledger_append().
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
 * deletes up to LEDGER_NONCE_PRUNE_MAX expired nonces, oldest first. Nonces are replay
 * protection, not history: they are not records.
 *
 * Errors: JIT_E_REPLAY when @nonce was claimed before and its keep period has not ended,
 * -EINVAL (NULL, empty or over LEDGER_NONCE_MAX), -EROFS, JIT_E_LEDGER_FULL, JIT_E_LEDGER.
 */
int ledger_nonce_claim(struct ledger *l, const char *nonce, uint64_t now, uint64_t keep_sec);

/**
 * ledger_record_fn - called for each record
 * @record: borrowed; valid during the call only (json_incref() to keep it); the stored
 *          fields plus "seq", "prev", "hash" and "v" (see the top of this file)
 * Return: 0 to go on, non-zero to stop (that value is returned by the iterating call).
 *
 * The callback runs inside a read transaction; it may read the ledger but not write to it.
 */
typedef int (*ledger_record_fn)(void *ctx, const json_t *record);

/**
 * ledger_foreach() - Visit every record with seq >= @from_seq, in seq order
 *
 * All records come from one read snapshot; records appended meanwhile are not visited.
 * The records are parsed, not verified (ledger_verify2() does that).
 *
 * Errors: JIT_E_LEDGER, JIT_E_FORMAT (a stored record that is not a well-formed envelope
 * of valid JSON), -ENOMEM, or the callback's non-zero return.
 */
int ledger_foreach(struct ledger *l, uint64_t from_seq, ledger_record_fn fn, void *ctx);

/**
 * struct ledger_filter - which records ledger_query() visits
 * @user, @host, @login, @request_id, @event: the field must equal this string exactly
 *              (NULL = any)
 * @serial:     the "serial" field must equal this (0 = any)
 * @since:      "time" >= @since, seconds since the epoch (0 = no lower bound)
 * @until:      "time" < @until, seconds since the epoch (0 = no upper bound)
 * @limit:      visit at most this many records (0 = all)
 * @newest_first: visit in descending seq order (so with @limit, the newest records)
 *
 * All set conditions must hold (AND). Filters for strings longer than the ledger stores
 * match nothing.
 */
struct ledger_filter {
	const char *user;
	const char *host;
	const char *login;
	const char *request_id;
	const char *event;
	uint64_t serial;
	uint64_t since;
	uint64_t until;
	uint64_t limit;
	bool newest_first;
};

/**
 * ledger_query() - Visit the records matching @f, in seq order (or reverse, see @f)
 * @f: the filter (borrowed); NULL or all-zero visits every record
 *
 * Uses the indexes (user, host, login, event, request_id and serial: key -> seqs; time ->
 * seqs): the most selective equality index drives, or the time range when it is smaller,
 * and the other conditions are checked on the envelope's key section, so the cost grows
 * with the number of candidates, not the ledger's size. One read snapshot.
 *
 * Errors: -EINVAL (NULL @l or @fn), JIT_E_LEDGER_CORRUPT (an index names a record that
 * does not carry the indexed value), JIT_E_FORMAT, JIT_E_LEDGER, -ENOMEM, or the
 * callback's non-zero return.
 */
int ledger_query(struct ledger *l, const struct ledger_filter *f, ledger_record_fn fn, void *ctx);

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
 * ledger_head() - The chain head as stored: the last seq and its record's hash
 * @ret_seq:  the seq (0 for an empty ledger)
 * @ret_hash: LEDGER_HASH_LEN bytes (zeros for an empty ledger), or NULL
 *
 * Write the head's hash down somewhere else (ticket, log host) to detect a later rewrite:
 * docs/ledger.md. Not verified here (ledger_verify2() does that).
 * Errors: -EINVAL, JIT_E_LEDGER, JIT_E_LEDGER_CORRUPT (malformed head).
 */
int ledger_head(struct ledger *l, uint64_t *ret_seq, uint8_t ret_hash[LEDGER_HASH_LEN]);

/**
 * struct ledger_checkpoint - one checkpoint record, decoded
 * @seq:         the checkpoint record's own seq
 * @signed_seq:  the seq of the chain head it signs (< @seq)
 * @signed_hash: the hash of record @signed_seq, as signed
 * @time:        the checkpoint's "time", seconds since the epoch
 * @signer:      fingerprint ("SHA256:...", NUL-terminated) of the signing key
 *
 * The record's JSON fields: "event": "checkpoint", "time", "signed_seq", "signed_hash"
 * (hex), "signer" (fingerprint) and "signature" (base64 of the binary SSHSIG blob).
 */
struct ledger_checkpoint {
	uint64_t seq;
	uint64_t signed_seq;
	uint8_t signed_hash[LEDGER_HASH_LEN];
	uint64_t time;
	char signer[LEDGER_FINGERPRINT_MAX];
};

/**
 * ledger_checkpoint() - Sign the chain head now, durably (e.g. at shutdown, or from a timer
 * so a quiet ledger's last records do not stay unsigned)
 * @now:     seconds since the epoch, the checkpoint's "time"
 * @ret_seq: the checkpoint record's seq, or NULL; when the head is a checkpoint already,
 *           that one's seq and nothing is written
 * Errors: -EINVAL (no checkpoint_signer configured), JIT_E_NOT_FOUND (empty ledger),
 * -EROFS, the signer's errors, and as ledger_append().
 */
int ledger_checkpoint(struct ledger *l, uint64_t now, uint64_t *ret_seq);

/**
 * ledger_checkpoint_if_due() - Sign the chain head now if a checkpoint is due by time or
 * count, durably: the timer of a daemon, so that an idle ledger's tail is signed too
 * @now:     seconds since the epoch: due when records follow the last checkpoint and either
 *           @now is checkpoint_sec or more past the last checkpoint's "time" (any records, when
 *           there is no checkpoint yet), or checkpoint_records records follow it
 * @ret_seq: the new checkpoint record's seq, 0 when none was due; or NULL
 * Errors: -EINVAL (no checkpoint_signer configured, @now over INT64_MAX), -EROFS, the
 * signer's errors, and as ledger_append(). Nothing is written on error.
 */
int ledger_checkpoint_if_due(struct ledger *l, uint64_t now, uint64_t *ret_seq);

/**
 * ledger_checkpoint_failure() - Why the latest checkpoint attempt of this handle failed
 *
 * Automatic checkpoints (every checkpoint_records records or checkpoint_sec seconds of
 * record time) are made inside other callers' commits; a failing signer does not fail those
 * commits, and is reported here instead so that the daemon can say so (once) in its log.
 * Return: 0 when the latest attempt (automatic or by ledger_checkpoint() or
 * ledger_checkpoint_if_due()) succeeded or none was made yet, else its error code (e.g. the
 * signer's JIT_E_AGENT).
 */
int ledger_checkpoint_failure(struct ledger *l);

/**
 * ledger_last_checkpoint() - The newest checkpoint record, decoded (not verified)
 * @ret: filled on success
 * Errors: JIT_E_NOT_FOUND (no checkpoint yet), JIT_E_FORMAT (a malformed checkpoint
 * record), JIT_E_LEDGER_CORRUPT (the checkpoint pointer names no checkpoint), JIT_E_LEDGER.
 */
int ledger_last_checkpoint(struct ledger *l, struct ledger_checkpoint *ret);

/**
 * enum ledger_state - where a request stands: the state its latest life-cycle record puts
 * it in (docs/ledger.md "A request's life")
 * @LEDGER_STATE_NONE:           not a life-cycle record (startup, review, checkpoint, ...)
 * @LEDGER_STATE_RECEIVED:       "received": no decision recorded yet
 * @LEDGER_STATE_ALLOWED:        "decided" allowed: no certificate recorded yet
 * @LEDGER_STATE_DENIED:         "decided" denied (or a first-version "denied" record)
 * @LEDGER_STATE_NEEDS_APPROVAL: "decided" needs_approval
 * @LEDGER_STATE_ISSUED:         "issued": the certificate exists
 * @LEDGER_STATE_EXPIRED:        "expired": the certificate's valid_before has passed
 * @LEDGER_STATE_CANCELLED:      "cancelled": the request never reached an answer
 */
enum ledger_state {
	LEDGER_STATE_NONE = 0,
	LEDGER_STATE_RECEIVED,
	LEDGER_STATE_ALLOWED,
	LEDGER_STATE_DENIED,
	LEDGER_STATE_NEEDS_APPROVAL,
	LEDGER_STATE_ISSUED,
	LEDGER_STATE_EXPIRED,
	LEDGER_STATE_CANCELLED,
	LEDGER_STATE_END, /* not a state: one past the last */
};

/**
 * ledger_state_name() - "received", "allowed", "denied", "needs_approval", "issued",
 * "expired", "cancelled" ("none" for LEDGER_STATE_NONE, NULL out of range); static string
 */
const char *ledger_state_name(enum ledger_state s);

/**
 * ledger_state_from_name() - The state named @name (one of ledger_state_name()'s, not "none")
 * Errors: -EINVAL (NULL or no such state).
 */
int ledger_state_from_name(const char *name, enum ledger_state *ret);

/**
 * ledger_record_state() - The state a record puts its request in
 * @record: a record as read back (borrowed), or NULL
 * Return: LEDGER_STATE_NONE for a record that is not a life-cycle event (and for a
 * "decided" record with an unknown "decision").
 */
enum ledger_state ledger_record_state(const json_t *record);

/**
 * ledger_story_state() - The state of a request from its records
 * @events:    the request's records in seq order (ledger_request_events()), borrowed
 * @ret_index: index in @events of the record that decides the state (the latest
 *             life-cycle record), or NULL; written only when the state is not NONE
 * Return: the state, LEDGER_STATE_NONE when no record is a life-cycle event.
 */
enum ledger_state ledger_story_state(const json_t *events, size_t *ret_index);

/**
 * struct ledger_sweep_result - what ledger_sweep() recorded
 * @expired:   "expired" records appended
 * @cancelled: "cancelled" records appended
 */
struct ledger_sweep_result {
	uint64_t expired;
	uint64_t cancelled;
};

/**
 * ledger_sweep() - Record the ends of requests nobody else records, durably
 * @now:       seconds since the epoch (UTC), at most INT64_MAX
 * @grace_sec: a request whose "received" record is younger than this is never cancelled:
 *             longer than any request takes from "received" to its answer (the daemon
 *             uses its replay window plus a margin, serve.h)
 * @ret:       what was appended, or NULL; written only on success
 *
 * Appends, hash-chained like every record and in batches of at most LEDGER_SWEEP_BATCH_MAX
 * records per durable transaction (group commit):
 *  - "expired" for every "issued" record with an integer "serial" and "valid_before" whose
 *    valid_before <= @now (OpenSSH refuses a certificate from valid_before on) and that has
 *    no "expired" record yet. Fields: "time" = valid_before, "serial", "valid_before",
 *    "issued_seq", and the issuance's "request_id", "user", "host", "login", "key_id" when
 *    it has them.
 *  - "cancelled" for every request with a "received" record at least @grace_sec old (by its
 *    "time") and no later terminal record ("decided" other than allowed, "issued",
 *    "cancelled", or a first-version "denied"). Fields: "time" = @now, "request_id",
 *    "user", "host", "login", "received_seq", "last_event" ("received" or "decided") and
 *    "reason" (why, in words: no decision, or allowed but no certificate recorded).
 * Each item is recorded once, also when several processes sweep the same ledger. The work
 * per transaction is bounded (LEDGER_SWEEP_FOLD_MAX records read), so the first sweep of a
 * large ledger written before sweeps existed runs many transactions. No "expired" is
 * recorded for a certificate that is still valid, and no "decided" or "issued" record ever
 * follows a "cancelled" one of the same request: ledger_append() and ledger_issue() refuse
 * them (JIT_E_EXPIRED). A sweep commits in a group of its own, so its failure fails no
 * other operation; records it cannot read are passed over (verify reports them).
 *
 * Errors: -EINVAL (@now over INT64_MAX), -EROFS, JIT_E_LEDGER_FULL, JIT_E_LEDGER,
 * JIT_E_LEDGER_CORRUPT (a derived table names a record that is not there), -ENOMEM. Batches
 * committed before an error stay (each is complete); a retry goes on from there.
 */
int ledger_sweep(struct ledger *l, uint64_t now, uint64_t grace_sec,
		 struct ledger_sweep_result *ret);

/**
 * struct ledger_verify_result - what ledger_verify2() found
 * @records:          records checked and intact (the last seq, when all are)
 * @head_hash:        hash of record @records (zeros when there is none)
 * @checkpoints:      checkpoint records whose signature verified
 * @last_checkpoint:  the last of those (all zero when @checkpoints is 0)
 * @unsigned_records: records after the last checkpoint (all of them when there is none):
 *                    a history rewritten after the last checkpoint is not detected
 *                    by the signatures, so compare this with the configured interval
 * @bad_seq:          on JIT_E_LEDGER_CORRUPT, the first bad record's seq (0 when the
 *                    problem is not one record's, e.g. an index entry for a missing seq)
 * @error:            on JIT_E_LEDGER_CORRUPT, what is wrong, starting "seq N: " when
 *                    @bad_seq is set; "" when intact
 */
struct ledger_verify_result {
	uint64_t records;
	uint8_t head_hash[LEDGER_HASH_LEN];
	uint64_t checkpoints;
	struct ledger_checkpoint last_checkpoint;
	uint64_t unsigned_records;
	uint64_t bad_seq;
	char error[LEDGER_ERROR_MAX];
};

/**
 * ledger_verify2() - Walk the whole chain, the checkpoints and the indexes
 * @trusted:   public keys trusted to sign checkpoints (borrowed), or NULL
 * @n_trusted: number of keys in @trusted; 0 = accept a checkpoint signed by any key
 *             (its signature and the hash it signs are still checked)
 * @ret:       filled both when intact (return 0) and when corrupt (JIT_E_LEDGER_CORRUPT);
 *             untouched on other errors
 *
 * In one read snapshot, without parsing the records' JSON: seq runs 1, 2, ... without gaps;
 * each envelope is well-formed (magic, version, key section, a JSON object), its seq is its
 * key, its hash is the SHA-256 of its contents and its prev is the previous record's hash
 * (zeros for seq 1); each checkpoint record signs a seq before it with that record's hash,
 * with a valid SSHSIG (namespace LEDGER_CHECKPOINT_NAMESPACE) by a trusted key; the stored
 * head names the last record and its hash; the stored last-checkpoint pointer names the
 * last checkpoint; every index holds exactly the envelopes' keys. What this proves and what
 * it does not: docs/ledger.md.
 *
 * Errors: JIT_E_LEDGER_CORRUPT, JIT_E_FORMAT (a ledger in another format), JIT_E_LEDGER,
 * -EINVAL (NULL @l or @ret, or @n_trusted > 0 with NULL @trusted), -ENOMEM.
 */
int ledger_verify2(struct ledger *l, const struct key *const *trusted, size_t n_trusted,
		   struct ledger_verify_result *ret);

/**
 * ledger_verify() - ledger_verify2() without trusted keys, in the first version's shape
 * @ret_count: number of records checked, or NULL; written only when intact
 * @ret_error: on JIT_E_LEDGER_CORRUPT, a new message (free()) naming the first bad seq and
 *             what is wrong ("seq 7: ..."), or NULL
 * Errors: as ledger_verify2().
 */
int ledger_verify(struct ledger *l, uint64_t *ret_count, char **ret_error);

/**
 * ledger_backup() - A consistent, compacted hot copy of the ledger (LMDB's
 * mdb_env_copyfd2(MDB_CP_COMPACT)), while writers keep running
 * @dest_dir: directory for the copy, created (0700) if missing; it must not hold a
 *            data.mdb yet. The copy is @dest_dir/data.mdb (0600), fsynced with its
 *            directory; open it with ledger_open() like any ledger (the copy holds every
 *            record committed before the call started, and the nonces).
 * Errors: -EEXIST (@dest_dir/data.mdb exists), -errno, JIT_E_LEDGER_FULL (disk full),
 * JIT_E_LEDGER.
 */
int ledger_backup(struct ledger *l, const char *dest_dir);

/**
 * ledger_record_decode() - Check one stored envelope and decode it into a record
 * @buf, @len: the envelope bytes, exactly (e.g. a value of the "records" sub-database)
 * @ret:       new record, as ledger_foreach() passes them (json_decref())
 *
 * Checks the layout (magic, version, lengths, key section order), the hash over the
 * envelope, that the JSON is an object in canonical form, and that the key section holds
 * exactly the object's indexed fields. Not checked: the link to other records (prev).
 *
 * Errors: JIT_E_FORMAT (malformed), JIT_E_LEDGER_CORRUPT (the hash does not match),
 * -EINVAL (NULL argument), -ENOMEM.
 */
int ledger_record_decode(const uint8_t *buf, size_t len, json_t **ret);
