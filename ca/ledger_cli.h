/* SPDX-License-Identifier: ISC */
/*
 * ledger_cli.h - `jit-ssh-ca ledger ...`, the review tools for security (WAVE2 "Ledger
 * review tools"; the user's guide is docs/operating-ca.md, the record format docs/ledger.md):
 *
 *   list [--user U] [--host H] [--login L] [--serial N] [--request ID] [--since T]
 *        [--until T] [--event E | --state S | --unreviewed | --flagged] [--json]
 *                                     records; with --state S (ledger_state_name()), one per
 *                                     request in state S: the record that put it there
 *                                     (JSON: plus "state"); --unreviewed: issuances without
 *                                     a review that counts; --flagged: those whose deciding
 *                                     review is a flag (both refused, exit 1, without a
 *                                     policy that can be read and trusted)
 *   show SERIAL|REQUEST-ID [--json]   the whole story of one request, event by event
 *   verify [--checkpoint-key FILE]    the chain, the checkpoints (by FILE's keys, else
 *                                     serve_checkpoint_keys(): trusted files only), the
 *                                     indexes and every review's signature; exit 1 if not
 *                                     intact or a key file cannot be trusted
 *   export --format jsonl [filters]   one JSON object per record per line (SIEM)
 *   correlate FILE|-                  sshd logins joined with their ledger stories; exit 1
 *                                     when a login's certificate is not in the ledger
 *   review SERIAL|REQUEST-ID --ok|--flag --note TEXT [-i KEYFILE] [--reviewer NAME]
 *   backup DEST                       a compacted hot copy, then verified (checkpoints by
 *                                     serve_checkpoint_keys() when they can be read; a key
 *                                     file that cannot be trusted stops it first)
 *   sweep [--grace SECONDS]           ledger_sweep() now; grace default
 *                                     serve_sweep_grace_sec()
 *
 * every one with [--config FILE]. T is seconds since the epoch, ISO-8601 UTC
 * ("2026-11-21T13:00:00Z" or "2026-11-21"), or an age such as 90s, 30m, 24h, 7d, 2w.
 *
 * A review is a ledger record, "event": "review", with the target's "request_id", "user",
 * "host", "login" (and "serial" when it was issued) and "target" (the serial as an integer
 * or the request ID as given), "verdict" ("ok" | "flag"), "note", "reviewer" (an enrolled,
 * enabled user of the policy, not the requester), "reviewer_key" (SHA256 fingerprint) and
 * "signature": an armoured SSHSIG, namespace LEDGER_CLI_REVIEW_NAMESPACE, by that key over
 * ledger_cli_review_message(). Only "target", "verdict", "note", "reviewer" and "time" are
 * signed; the other fields are for reading and decide nothing.
 *
 * A review counts (leaves the --unreviewed queue; --flagged when its verdict is "flag")
 * when ledger_cli_review_check() passes; the request it is about is known to the ledger (a
 * serial target's request is the one its first "issued" record names, and the record's own
 * "request_id", when present, must be that one); the reviewer is not the requester, i.e.
 * not the "user" of that request's own "received" or "issued" records (never the review
 * record's "user"); and the signing key is enrolled for the reviewer in the policy, which
 * must be readable and trusted (serve_check_trusted()) for the queues to be listed at all.
 * Of a request's counted reviews the one with the latest signed "time" decides (a tie: the
 * later record); the same signed statement (key and message) counts once. Reviews that do
 * not count are named on @err (docs/ledger.md "Reviews").
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "key.h"

#define LEDGER_CLI_EVENT_REVIEW "review"
#define LEDGER_CLI_REVIEW_NAMESPACE "jit-ssh-review"
/* Longest review note, bytes (request_text_safe() text). */
#define LEDGER_CLI_NOTE_MAX 1024

/**
 * ledger_cli_main() - Run `jit-ssh-ca ledger SUBCOMMAND ...`
 * @argc, @argv: the words after "jit-ssh-ca": argv[0] is "ledger", argv[1] the subcommand
 * @out, @err:   where results and errors are printed
 * Return: the exit status: 0 success (and, for verify, an intact ledger; for correlate,
 * every login known), 1 failure or finding, 2 bad usage.
 */
int ledger_cli_main(int argc, char **argv, FILE *out, FILE *err);

/**
 * ledger_cli_parse_time() - A time given on the command line
 * @s:        decimal seconds since the epoch; "YYYY-MM-DDTHH:MM:SSZ" or "YYYY-MM-DD" (UTC);
 *            or, with @relative, an age N followed by s, m, h, d or w (counted back from
 *            @now)
 * @now:      seconds since the epoch
 * @ret:      seconds since the epoch
 * Errors: -EINVAL (none of these forms, out of range, an age over @now).
 */
int ledger_cli_parse_time(const char *s, uint64_t now, bool relative, uint64_t *ret);

/**
 * ledger_cli_review_message() - The bytes a review signature covers: the canonical JSON
 * (compact, keys sorted) of {"note","reviewer","target","time","verdict"}
 * @target: the serial (JSON integer) or request ID (JSON string), borrowed
 * @ret:    new NUL-terminated string
 * Errors: -EINVAL (a NULL string), -ENOMEM.
 */
int ledger_cli_review_message(const json_t *target, const char *verdict, const char *note,
			      const char *reviewer, uint64_t time, char **ret);

/**
 * ledger_cli_review_check() - Verify a "review" record's signature: it must be an SSHSIG
 * (namespace LEDGER_CLI_REVIEW_NAMESPACE) over ledger_cli_review_message() of the record's
 * own fields, by the key whose fingerprint is its "reviewer_key", and its signed "target"
 * must be the record's own "serial" (an integer target) or "request_id" (a string target)
 * @record:  the record (borrowed)
 * @ret_key: new copy of the signing public key, or NULL if not wanted
 * Errors: JIT_E_FORMAT (fields missing or of the wrong type, signature not armoured),
 * JIT_E_SIGNATURE (does not verify, signed by another key than "reviewer_key", or the
 * target is not the record's own),
 * JIT_E_NAMESPACE, -ENOMEM.
 */
int ledger_cli_review_check(const json_t *record, struct key **ret_key);
