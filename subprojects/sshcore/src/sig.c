/* SPDX-License-Identifier: ISC */
/*
 * sig.c - SSHSIG (OpenSSH PROTOCOL.sshsig), byte-compatible with `ssh-keygen -Y sign`.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "b64.h"
#include "err.h"
#include "sig.h"
#include "wbuf.h"

#define SIG_MAGIC "SSHSIG"
#define SIG_MAGIC_LEN 6
#define SIG_VERSION 1
#define SIG_BEGIN "-----BEGIN SSH SIGNATURE-----"
#define SIG_END "-----END SSH SIGNATURE-----"
/* ssh-keygen wraps the base64 at 70 columns (sshbuf_dtob64() with wrap). */
#define SIG_ARMOR_COLS 70

static const EVP_MD *sig_md(const char *hashalg)
{
	if (strcmp(hashalg, "sha512") == 0)
		return EVP_sha512();
	if (strcmp(hashalg, "sha256") == 0)
		return EVP_sha256();
	return NULL;
}

/* PROTOCOL.sshsig section 3: the data the SSH signature is made over. */
static int sig_signed_data(const char *ns, const char *hashalg, const uint8_t *msg,
			   size_t msglen, struct wbuf **ret)
{
	_cleanup_(wbuf_freep) struct wbuf *b = wbuf_new(SIG_BLOB_MAX);
	uint8_t h[EVP_MAX_MD_SIZE];
	unsigned hlen;
	const EVP_MD *md = sig_md(hashalg);
	int r;

	if (!md)
		return JIT_E_KEY_TYPE;
	if (!b)
		return -ENOMEM;
	if (EVP_Digest(msglen ? msg : (const uint8_t *)"", msglen, h, &hlen, md, NULL) != 1)
		return JIT_E_CRYPTO;
	if ((r = wbuf_put(b, SIG_MAGIC, SIG_MAGIC_LEN)) < 0 ||
	    (r = wbuf_put_cstring(b, ns)) < 0 ||
	    (r = wbuf_put_string(b, NULL, 0)) < 0 || /* reserved */
	    (r = wbuf_put_cstring(b, hashalg)) < 0 ||
	    (r = wbuf_put_string(b, h, hlen)) < 0)
		return r;
	*ret = TAKE_PTR(b);
	return 0;
}

static bool ns_valid(const char *ns)
{
	return ns && ns[0] && strlen(ns) <= SIG_NAMESPACE_MAX;
}

int sig_sign(const struct signer *s, const char *ns, const uint8_t *msg, size_t msglen,
	     const char *hashalg, uint8_t **ret, size_t *ret_len)
{
	_cleanup_(wbuf_freep) struct wbuf *tbs = NULL;
	_cleanup_(wbuf_freep) struct wbuf *sig = wbuf_new(SIG_BLOB_MAX);
	_cleanup_(wbuf_freep) struct wbuf *blob = wbuf_new(SIG_BLOB_MAX);
	_cleanup_free_ uint8_t *key_blob = NULL;
	size_t key_len;
	int r;

	if (!hashalg)
		hashalg = "sha512";
	if (!s || !s->sign || !s->pub || !ns_valid(ns) || !sig_md(hashalg) || (!msg && msglen) ||
	    !ret || !ret_len)
		return -EINVAL;
	if (!sig || !blob)
		return -ENOMEM;
	if ((r = sig_signed_data(ns, hashalg, msg, msglen, &tbs)) < 0 ||
	    (r = s->sign(s->ctx, s->pub, wbuf_ptr(tbs), wbuf_len(tbs),
			 key_type(s->pub) == KEY_RSA ? "rsa-sha2-512" : NULL, sig)) < 0 ||
	    (r = key_to_blob(s->pub, &key_blob, &key_len)) < 0)
		return r;
	if ((r = wbuf_put(blob, SIG_MAGIC, SIG_MAGIC_LEN)) < 0 ||
	    (r = wbuf_put_u32(blob, SIG_VERSION)) < 0 ||
	    (r = wbuf_put_string(blob, key_blob, key_len)) < 0 ||
	    (r = wbuf_put_cstring(blob, ns)) < 0 ||
	    (r = wbuf_put_string(blob, NULL, 0)) < 0 || /* reserved */
	    (r = wbuf_put_cstring(blob, hashalg)) < 0 ||
	    (r = wbuf_put_stringb(blob, sig)) < 0)
		return r;
	return wbuf_dup(blob, ret, ret_len);
}

int sig_verify(const uint8_t *blob, size_t len, const char *ns, const uint8_t *msg,
	       size_t msglen, struct key **ret_key)
{
	_cleanup_(wbuf_freep) struct wbuf *b = NULL;
	_cleanup_(wbuf_freep) struct wbuf *tbs = NULL;
	_cleanup_(key_freep) struct key *k = NULL;
	_cleanup_free_ char *got_ns = NULL, *hashalg = NULL;
	const uint8_t *reserved, *sig;
	size_t ns_len, reserved_len, sig_len;
	uint8_t magic[SIG_MAGIC_LEN];
	uint32_t version;
	int r;

	if (!blob || !ns_valid(ns) || (!msg && msglen))
		return -EINVAL;
	if (len > SIG_BLOB_MAX)
		return JIT_E_TOO_LARGE;
	if (!(b = wbuf_from(blob, len)))
		return -ENOMEM;
	if ((r = wbuf_get(b, magic, sizeof magic)) < 0 || (r = wbuf_get_u32(b, &version)) < 0)
		return r;
	if (memcmp(magic, SIG_MAGIC, SIG_MAGIC_LEN) != 0 || version != SIG_VERSION)
		return JIT_E_FORMAT;
	if ((r = key_get_public(b, &k)) < 0 ||
	    (r = wbuf_get_cstring(b, &got_ns, &ns_len)) < 0 ||
	    (r = wbuf_get_string_direct(b, &reserved, &reserved_len)) < 0 ||
	    (r = wbuf_get_cstring(b, &hashalg, NULL)) < 0 ||
	    (r = wbuf_get_string_direct(b, &sig, &sig_len)) < 0)
		return r;
	/* A non-empty reserved field is not covered by the signature: refused, not ignored. */
	if (wbuf_len(b) != 0 || ns_len == 0 || reserved_len != 0)
		return JIT_E_FORMAT;
	if (ns_len > SIG_NAMESPACE_MAX)
		return JIT_E_TOO_LARGE;
	if (strcmp(got_ns, ns) != 0)
		return JIT_E_NAMESPACE;
	if ((r = sig_signed_data(ns, hashalg, msg, msglen, &tbs)) < 0 ||
	    (r = key_verify(k, sig, sig_len, wbuf_ptr(tbs), wbuf_len(tbs), NULL)) < 0)
		return r;
	if (ret_key)
		*ret_key = TAKE_PTR(k);
	return 0;
}

int sig_armor(const uint8_t *blob, size_t len, char **ret)
{
	_cleanup_free_ char *b64 = NULL;
	size_t n, lines, out_len;
	char *out, *p;
	int r;

	if (!blob || len == 0 || !ret)
		return -EINVAL;
	if ((r = b64_encode(blob, len, &b64)) < 0)
		return r;
	n = strlen(b64);
	lines = (n + SIG_ARMOR_COLS - 1) / SIG_ARMOR_COLS;
	out_len = strlen(SIG_BEGIN) + 1 + n + lines + strlen(SIG_END) + 1;
	if (!(out = malloc(out_len + 1)))
		return -ENOMEM;
	p = stpcpy(out, SIG_BEGIN "\n");
	for (size_t i = 0; i < n; i += SIG_ARMOR_COLS) {
		size_t l = n - i < SIG_ARMOR_COLS ? n - i : SIG_ARMOR_COLS;
		memcpy(p, b64 + i, l);
		p += l;
		*p++ = '\n';
	}
	stpcpy(p, SIG_END "\n");
	*ret = out;
	return 0;
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

static bool line_is(const char *s, size_t len, const char *word)
{
	return len == strlen(word) && memcmp(s, word, len) == 0;
}

int sig_dearmor(const char *text, size_t len, uint8_t **ret, size_t *ret_len)
{
	_cleanup_free_ char *b64 = NULL;
	enum { BEFORE, INSIDE, AFTER } state = BEFORE;
	const char *p = text, *end = text + len;
	uint8_t *blob;
	size_t n = 0, blob_len;
	int r;

	if ((!text && len) || !ret || !ret_len)
		return -EINVAL;
	if (len > SIG_ARMOR_MAX)
		return JIT_E_TOO_LARGE;
	if (len == 0 || memchr(text, 0, len))
		return JIT_E_FORMAT;
	if (!(b64 = malloc(len)))
		return -ENOMEM;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *s = p, *e = nl ? nl : end;

		p = nl ? nl + 1 : end;
		while (s < e && is_space(*s))
			s++;
		while (e > s && is_space(e[-1]))
			e--;
		if (s == e)
			continue;
		if (state == BEFORE && line_is(s, (size_t)(e - s), SIG_BEGIN)) {
			state = INSIDE;
		} else if (state == INSIDE && line_is(s, (size_t)(e - s), SIG_END)) {
			state = AFTER;
		} else if (state == INSIDE) {
			memcpy(b64 + n, s, (size_t)(e - s));
			n += (size_t)(e - s);
		} else {
			return JIT_E_FORMAT; /* text before the header or after the footer */
		}
	}
	if (state != AFTER || n == 0)
		return JIT_E_FORMAT;
	if ((r = b64_decode(b64, n, &blob, &blob_len)) < 0)
		return r;
	if (blob_len > SIG_BLOB_MAX) {
		free(blob);
		return JIT_E_TOO_LARGE;
	}
	*ret = blob;
	*ret_len = blob_len;
	return 0;
}
