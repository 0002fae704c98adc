/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "err.h"
#include "wbuf.h"

struct wbuf {
	uint8_t *d;
	size_t off;   /* read offset */
	size_t size;  /* bytes written */
	size_t alloc; /* bytes allocated */
	size_t max;   /* maximum size */
};

struct wbuf *wbuf_new(size_t max_size)
{
	struct wbuf *b;

	if (max_size == 0)
		max_size = WBUF_SIZE_MAX;
	if (max_size > WBUF_SIZE_MAX)
		return NULL;
	b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	b->max = max_size;
	return b;
}

struct wbuf *wbuf_from(const void *data, size_t len)
{
	struct wbuf *b = wbuf_new(0);

	if (b && wbuf_put(b, data, len) < 0)
		b = wbuf_free(b);
	return b;
}

struct wbuf *wbuf_free(struct wbuf *b)
{
	if (!b)
		return NULL;
	if (b->d) {
		OPENSSL_cleanse(b->d, b->alloc);
		free(b->d);
	}
	OPENSSL_cleanse(b, sizeof *b);
	free(b);
	return NULL;
}

void wbuf_freep(struct wbuf **b)
{
	wbuf_free(*b);
}

size_t wbuf_len(const struct wbuf *b)
{
	return b->size - b->off;
}

const uint8_t *wbuf_ptr(const struct wbuf *b)
{
	static const uint8_t empty[1];

	return b->d ? b->d + b->off : empty;
}

void wbuf_reset(struct wbuf *b)
{
	if (b->d)
		OPENSSL_cleanse(b->d, b->alloc);
	b->off = 0;
	b->size = 0;
}

int wbuf_consume(struct wbuf *b, size_t len)
{
	if (len > wbuf_len(b))
		return JIT_E_FORMAT;
	b->off += len;
	return 0;
}

int wbuf_dup(const struct wbuf *b, uint8_t **ret, size_t *ret_len)
{
	size_t n = wbuf_len(b);
	uint8_t *p = malloc(n + 1);

	if (!p)
		return -ENOMEM;
	if (n)
		memcpy(p, wbuf_ptr(b), n);
	p[n] = 0;
	*ret = p;
	*ret_len = n;
	return 0;
}

/* Make room for @len more bytes; returns a pointer to write them at. */
static int wbuf_reserve(struct wbuf *b, size_t len, uint8_t **ret)
{
	size_t need, nalloc;
	uint8_t *nd;

	if (len > b->max || b->size > b->max - len)
		return JIT_E_TOO_LARGE;
	need = b->size + len;
	if (need > b->alloc) {
		nalloc = b->alloc ? b->alloc : 256;
		while (nalloc < need)
			nalloc *= 2;
		if (nalloc > b->max)
			nalloc = b->max;
		/* Not realloc: the old block may hold secrets and must be wiped. */
		nd = malloc(nalloc);
		if (!nd)
			return -ENOMEM;
		if (b->d) {
			memcpy(nd, b->d, b->size);
			OPENSSL_cleanse(b->d, b->alloc);
			free(b->d);
		}
		b->d = nd;
		b->alloc = nalloc;
	}
	*ret = b->d + b->size;
	b->size += len;
	return 0;
}

int wbuf_put(struct wbuf *b, const void *data, size_t len)
{
	uint8_t *p;
	int r;

	if (len == 0)
		return 0;
	if ((r = wbuf_reserve(b, len, &p)) < 0)
		return r;
	memcpy(p, data, len);
	return 0;
}

int wbuf_put_u8(struct wbuf *b, uint8_t v)
{
	return wbuf_put(b, &v, 1);
}

int wbuf_put_u32(struct wbuf *b, uint32_t v)
{
	uint8_t p[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	return wbuf_put(b, p, sizeof p);
}

int wbuf_put_u64(struct wbuf *b, uint64_t v)
{
	uint8_t p[8];

	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
	return wbuf_put(b, p, sizeof p);
}

int wbuf_put_string(struct wbuf *b, const void *data, size_t len)
{
	uint8_t *p;
	int r;

	if (len > UINT32_MAX || len > WBUF_SIZE_MAX)
		return JIT_E_TOO_LARGE;
	if ((r = wbuf_reserve(b, 4 + len, &p)) < 0)
		return r;
	p[0] = (uint8_t)(len >> 24);
	p[1] = (uint8_t)(len >> 16);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	if (len)
		memcpy(p + 4, data, len);
	return 0;
}

int wbuf_put_cstring(struct wbuf *b, const char *s)
{
	return wbuf_put_string(b, s, s ? strlen(s) : 0);
}

int wbuf_put_stringb(struct wbuf *b, const struct wbuf *v)
{
	return wbuf_put_string(b, wbuf_ptr(v), wbuf_len(v));
}

int wbuf_put_mpint_bytes(struct wbuf *b, const uint8_t *mag, size_t len)
{
	uint8_t *p;
	size_t pad;
	int r;

	while (len > 0 && mag[0] == 0) {
		mag++;
		len--;
	}
	pad = (len > 0 && (mag[0] & 0x80)) ? 1 : 0;
	if (len > WBUF_SIZE_MAX)
		return JIT_E_TOO_LARGE;
	if ((r = wbuf_reserve(b, 4 + pad + len, &p)) < 0)
		return r;
	size_t n = len + pad;
	p[0] = (uint8_t)(n >> 24);
	p[1] = (uint8_t)(n >> 16);
	p[2] = (uint8_t)(n >> 8);
	p[3] = (uint8_t)n;
	if (pad)
		p[4] = 0;
	if (len)
		memcpy(p + 4 + pad, mag, len);
	return 0;
}

int wbuf_get(struct wbuf *b, void *out, size_t len)
{
	if (len > wbuf_len(b))
		return JIT_E_FORMAT;
	if (len)
		memcpy(out, wbuf_ptr(b), len);
	b->off += len;
	return 0;
}

int wbuf_get_u8(struct wbuf *b, uint8_t *ret)
{
	return wbuf_get(b, ret, 1);
}

static uint32_t peek_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int wbuf_get_u32(struct wbuf *b, uint32_t *ret)
{
	if (wbuf_len(b) < 4)
		return JIT_E_FORMAT;
	*ret = peek_u32(wbuf_ptr(b));
	b->off += 4;
	return 0;
}

int wbuf_get_u64(struct wbuf *b, uint64_t *ret)
{
	const uint8_t *p = wbuf_ptr(b);
	uint64_t v = 0;

	if (wbuf_len(b) < 8)
		return JIT_E_FORMAT;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	*ret = v;
	b->off += 8;
	return 0;
}

/* Look at the next string without consuming it. */
static int peek_string(const struct wbuf *b, const uint8_t **ret, size_t *ret_len)
{
	uint32_t n;

	if (wbuf_len(b) < 4)
		return JIT_E_FORMAT;
	n = peek_u32(wbuf_ptr(b));
	if (n > WBUF_SIZE_MAX)
		return JIT_E_TOO_LARGE;
	if (n > wbuf_len(b) - 4)
		return JIT_E_FORMAT;
	*ret = wbuf_ptr(b) + 4;
	*ret_len = n;
	return 0;
}

int wbuf_get_string_direct(struct wbuf *b, const uint8_t **ret, size_t *ret_len)
{
	const uint8_t *p;
	size_t n;
	int r;

	if ((r = peek_string(b, &p, &n)) < 0)
		return r;
	b->off += 4 + n;
	*ret = p;
	*ret_len = n;
	return 0;
}

int wbuf_get_string(struct wbuf *b, uint8_t **ret, size_t *ret_len)
{
	const uint8_t *p;
	uint8_t *copy;
	size_t n;
	int r;

	if ((r = peek_string(b, &p, &n)) < 0)
		return r;
	copy = malloc(n + 1);
	if (!copy)
		return -ENOMEM;
	if (n)
		memcpy(copy, p, n);
	copy[n] = 0;
	b->off += 4 + n;
	*ret = copy;
	*ret_len = n;
	return 0;
}

int wbuf_get_cstring(struct wbuf *b, char **ret, size_t *ret_len)
{
	const uint8_t *p;
	size_t n;
	int r;

	if ((r = peek_string(b, &p, &n)) < 0)
		return r;
	if (n && memchr(p, 0, n))
		return JIT_E_FORMAT;
	uint8_t *s;
	if ((r = wbuf_get_string(b, &s, &n)) < 0)
		return r;
	*ret = (char *)s;
	if (ret_len)
		*ret_len = n;
	return 0;
}

int wbuf_get_stringb(struct wbuf *b, struct wbuf **ret)
{
	const uint8_t *p;
	struct wbuf *v;
	size_t n;
	int r;

	if ((r = peek_string(b, &p, &n)) < 0)
		return r;
	v = wbuf_from(p, n);
	if (!v)
		return -ENOMEM;
	b->off += 4 + n;
	*ret = v;
	return 0;
}

int wbuf_get_mpint_direct(struct wbuf *b, const uint8_t **ret, size_t *ret_len)
{
	const uint8_t *p;
	size_t n;
	int r;

	if ((r = peek_string(b, &p, &n)) < 0)
		return r;
	if (n > 0 && (p[0] & 0x80))
		return JIT_E_FORMAT; /* negative */
	if (n > 1 && p[0] == 0 && !(p[1] & 0x80))
		return JIT_E_FORMAT; /* not minimal */
	if (n == 1 && p[0] == 0)
		return JIT_E_FORMAT; /* zero must be the empty string */
	b->off += 4 + n;
	if (n > 0 && p[0] == 0) {
		p++;
		n--;
	}
	*ret = p;
	*ret_len = n;
	return 0;
}
