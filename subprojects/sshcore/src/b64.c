/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "b64.h"
#include "err.h"
#include "wbuf.h"

int b64_encode(const uint8_t *data, size_t len, char **ret)
{
	char *out;

	if (len > WBUF_SIZE_MAX)
		return JIT_E_TOO_LARGE;
	out = malloc((len + 2) / 3 * 4 + 1);
	if (!out)
		return -ENOMEM;
	EVP_EncodeBlock((unsigned char *)out, len ? data : (const uint8_t *)"", (int)len);
	*ret = out;
	return 0;
}

static bool b64_is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

/* Value of the last character before the padding: its unused low bits must be zero. */
static unsigned b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return (unsigned)(c - 'A');
	if (c >= 'a' && c <= 'z')
		return (unsigned)(c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (unsigned)(c - '0' + 52);
	return c == '+' ? 62 : 63;
}

int b64_decode(const char *text, size_t len, uint8_t **ret, size_t *ret_len)
{
	size_t pad = 0, n;
	uint8_t *out;
	int r;

	if (len > (size_t)WBUF_SIZE_MAX / 3 * 4 + 4)
		return JIT_E_TOO_LARGE;
	if (len % 4 != 0)
		return JIT_E_FORMAT;
	/*
	 * EVP_DecodeBlock skips surrounding whitespace and ignores where '=' stands, so the
	 * strict shape is checked here: only alphabet characters, then at most two '=', and no
	 * stray bits in the last character (the canonical encoding, as ssh-keygen writes).
	 */
	if (len >= 1 && text[len - 1] == '=')
		pad = (len >= 2 && text[len - 2] == '=') ? 2 : 1;
	for (size_t i = 0; i < len - pad; i++)
		if (!b64_is_alpha(text[i]))
			return JIT_E_FORMAT;
	if (pad && (b64_value(text[len - pad - 1]) & (pad == 1 ? 0x03u : 0x0fu)))
		return JIT_E_FORMAT;

	n = len / 4 * 3;
	out = malloc(n + 1);
	if (!out)
		return -ENOMEM;
	if (len) {
		r = EVP_DecodeBlock(out, (const unsigned char *)text, (int)len);
		if (r < 0 || (size_t)r != n) {
			OPENSSL_cleanse(out, n + 1);
			free(out);
			return JIT_E_FORMAT;
		}
	}
	n -= pad;
	out[n] = 0;
	*ret = out;
	*ret_len = n;
	return 0;
}
