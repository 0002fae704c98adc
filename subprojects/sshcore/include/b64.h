/* SPDX-License-Identifier: ISC */
/*
 * b64.h - base64 (RFC 4648 section 4, standard alphabet, with padding) through OpenSSL's
 * EVP_EncodeBlock/EVP_DecodeBlock. No line breaks are written; none are accepted.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/**
 * b64_encode() - Encode @len bytes
 * @ret: NUL-terminated text (new, caller frees)
 * Errors: -ENOMEM, JIT_E_TOO_LARGE when @len is over WBUF_SIZE_MAX.
 */
int b64_encode(const uint8_t *data, size_t len, char **ret);

/**
 * b64_decode() - Decode base64 text of length @len (no whitespace, padding required)
 * @ret:     the bytes (new, caller frees; a NUL byte follows them)
 * @ret_len: number of bytes
 * Errors: JIT_E_FORMAT for bad characters, bad padding or a length not a multiple of 4;
 * JIT_E_TOO_LARGE; -ENOMEM.
 */
int b64_decode(const char *text, size_t len, uint8_t **ret, size_t *ret_len);
