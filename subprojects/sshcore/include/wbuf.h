/* SPDX-License-Identifier: ISC */
/*
 * wbuf.h - bounds-checked buffer for the SSH wire format.
 *
 * Source: RFC 4251 section 5 (data type representations: byte, uint32, uint64, string,
 * mpint), used by draft-miller-ssh-cert, draft-miller-ssh-agent and PROTOCOL.sshsig.
 *
 * A wbuf is a byte array with a read offset and a maximum size fixed at creation. Writes
 * append at the end and fail with JIT_E_TOO_LARGE past the maximum; reads consume from the
 * read offset and fail with JIT_E_FORMAT when the data runs short. A failed call leaves the
 * buffer exactly as it was (no partial writes, no partial reads) and its out-parameters
 * untouched. Freeing wipes the memory, so a wbuf may hold secrets.
 *
 * All integers are big-endian on the wire. Lengths are bytes.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Largest wbuf that can be created (bytes); also the default maximum. */
#define WBUF_SIZE_MAX (16u * 1024u * 1024u)

struct wbuf;

/**
 * wbuf_new() - Create an empty buffer
 * @max_size: maximum size in bytes (1..WBUF_SIZE_MAX); 0 means WBUF_SIZE_MAX
 *
 * Ownership: new; free with wbuf_free().
 * Return: the buffer, or NULL when out of memory or @max_size is over WBUF_SIZE_MAX.
 */
struct wbuf *wbuf_new(size_t max_size);

/**
 * wbuf_from() - Create a buffer holding a copy of @len bytes at @data, ready to read
 * @data: bytes to copy (may be NULL when @len is 0)
 * @len:  number of bytes (0..WBUF_SIZE_MAX)
 *
 * The maximum size of the result is WBUF_SIZE_MAX.
 * Ownership: new; @data borrowed for the call only.
 * Return: the buffer, or NULL when out of memory or @len is too large.
 */
struct wbuf *wbuf_from(const void *data, size_t len);

/**
 * wbuf_free() - Wipe and free a buffer
 * @b: buffer, or NULL
 * Return: NULL.
 */
struct wbuf *wbuf_free(struct wbuf *b);
void wbuf_freep(struct wbuf **b);

/** wbuf_len() - Bytes not yet read. */
size_t wbuf_len(const struct wbuf *b);

/**
 * wbuf_ptr() - The unread bytes
 * Ownership: borrowed; valid until the next call that modifies @b.
 */
const uint8_t *wbuf_ptr(const struct wbuf *b);

/** wbuf_reset() - Empty the buffer (wiping its contents); the maximum size is kept. */
void wbuf_reset(struct wbuf *b);

/**
 * wbuf_consume() - Skip @len unread bytes
 * Errors: JIT_E_FORMAT when fewer than @len bytes are unread.
 */
int wbuf_consume(struct wbuf *b, size_t len);

/**
 * wbuf_dup() - Copy the unread bytes into a new allocation
 * @ret:     the copy (new, caller frees); one extra NUL byte follows the data
 * @ret_len: its length in bytes
 * Errors: -ENOMEM.
 */
int wbuf_dup(const struct wbuf *b, uint8_t **ret, size_t *ret_len);

/*
 * Writers. Each appends to @b and returns 0, or JIT_E_TOO_LARGE when the result would pass
 * the maximum size, or -ENOMEM; on failure @b is unchanged.
 */
int wbuf_put(struct wbuf *b, const void *data, size_t len);
int wbuf_put_u8(struct wbuf *b, uint8_t v);
int wbuf_put_u32(struct wbuf *b, uint32_t v);
int wbuf_put_u64(struct wbuf *b, uint64_t v);
/* string: uint32 length, then the bytes (RFC 4251 section 5 "string"). */
int wbuf_put_string(struct wbuf *b, const void *data, size_t len);
/* cstring: a NUL-terminated C string written as an SSH string (without the NUL). */
int wbuf_put_cstring(struct wbuf *b, const char *s);
/* stringb: the unread bytes of @v written as one SSH string (nested buffer). */
int wbuf_put_stringb(struct wbuf *b, const struct wbuf *v);
/*
 * mpint from an unsigned big-endian magnitude (RFC 4251 section 5 "mpint"): leading zero
 * bytes are stripped, a zero byte is prepended when the top bit is set, zero is written as
 * an empty string.
 */
int wbuf_put_mpint_bytes(struct wbuf *b, const uint8_t *mag, size_t len);

/*
 * Readers. Each consumes from @b and returns 0, or JIT_E_FORMAT when the data is short or
 * malformed, JIT_E_TOO_LARGE when a length field exceeds the unread data's plausible size,
 * or -ENOMEM; on failure @b is unchanged and nothing is written to the out-parameters.
 */
int wbuf_get(struct wbuf *b, void *out, size_t len);
int wbuf_get_u8(struct wbuf *b, uint8_t *ret);
int wbuf_get_u32(struct wbuf *b, uint32_t *ret);
int wbuf_get_u64(struct wbuf *b, uint64_t *ret);
/* string, copied: @ret new (caller frees), NUL-terminated one byte past @ret_len. */
int wbuf_get_string(struct wbuf *b, uint8_t **ret, size_t *ret_len);
/* string, borrowed: @ret points into @b, valid until @b is next modified or freed. */
int wbuf_get_string_direct(struct wbuf *b, const uint8_t **ret, size_t *ret_len);
/* string that must hold no NUL byte, copied as a C string: @ret new; @ret_len may be NULL. */
int wbuf_get_cstring(struct wbuf *b, char **ret, size_t *ret_len);
/* string whose contents become a new buffer to read from: @ret new (wbuf_free). */
int wbuf_get_stringb(struct wbuf *b, struct wbuf **ret);
/*
 * mpint that must be non-negative and minimally encoded; @ret borrowed (as for
 * _string_direct) and points at the magnitude without any leading zero byte.
 */
int wbuf_get_mpint_direct(struct wbuf *b, const uint8_t **ret, size_t *ret_len);
