/* SPDX-License-Identifier: ISC */
/*
 * key.c - SSH keys on OpenSSL 3 EVP.
 *
 * Every struct key caches its public-key blob, always re-encoded from the EVP_PKEY, so a
 * parsed blob is accepted only when it is the canonical encoding of the key it describes.
 * Wire formats: RFC 4253 6.6, RFC 8709, RFC 5656, RFC 8332, OpenSSH PROTOCOL.key,
 * draft-miller-ssh-agent 4.2.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "b64.h"
#include "err.h"
#include "key.h"
#include "util.h"

struct key {
	enum key_type type;
	bool has_private;
	EVP_PKEY *pkey;
	uint8_t *blob;
	size_t blob_len;
};

struct key_info {
	enum key_type type;
	const char *name;
	const char *cert_name;
	const char *curve;	/* SSH curve name (RFC 5656 section 10.1) */
	const char *group;	/* OpenSSL group name */
	size_t point_len;	/* uncompressed point: 0x04 || X || Y */
	unsigned bits;
};

/* Indexed by enum key_type; entry KEY_UNSPEC is empty. */
static const struct key_info key_infos[] = {
	[KEY_ED25519] = { KEY_ED25519, "ssh-ed25519", "ssh-ed25519-cert-v01@openssh.com", NULL, NULL, 0, 255 },
	[KEY_ECDSA_P256] = { KEY_ECDSA_P256, "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256-cert-v01@openssh.com",
	  "nistp256", "P-256", 65, 256 },
	[KEY_ECDSA_P384] = { KEY_ECDSA_P384, "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384-cert-v01@openssh.com",
	  "nistp384", "P-384", 97, 384 },
	[KEY_RSA] = { KEY_RSA, "ssh-rsa", "ssh-rsa-cert-v01@openssh.com", NULL, NULL, 0, 0 },
};

#define ED25519_LEN 32
#define ED25519_SIG_LEN 64
#define PRIV_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----"
#define PRIV_END "-----END OPENSSH PRIVATE KEY-----"
#define PRIV_MAGIC "openssh-key-v1" /* written with its NUL */
#define PRIV_BLOCK 8			/* cipher "none" block size */
#define PRIV_LINE 70			/* base64 characters per line, as ssh-keygen writes */

static void EVP_PKEY_freep(EVP_PKEY **p)
{
	EVP_PKEY_free(*p);
}

static void EVP_PKEY_CTX_freep(EVP_PKEY_CTX **p)
{
	EVP_PKEY_CTX_free(*p);
}

static void EVP_MD_CTX_freep(EVP_MD_CTX **p)
{
	EVP_MD_CTX_free(*p);
}

static void BN_clear_freep(BIGNUM **p)
{
	BN_clear_free(*p);
}

static void BN_CTX_freep(BN_CTX **p)
{
	BN_CTX_free(*p);
}

static void OSSL_PARAM_BLD_freep(OSSL_PARAM_BLD **p)
{
	OSSL_PARAM_BLD_free(*p);
}

static void ECDSA_SIG_freep(ECDSA_SIG **p)
{
	ECDSA_SIG_free(*p);
}

static const struct key_info *info_of(enum key_type type)
{
	return type > KEY_UNSPEC && type <= KEY_RSA ? &key_infos[type] : NULL;
}

/* The entry of a key that exists (its type was checked when it was made). */
static const struct key_info *kinfo(const struct key *k)
{
	return &key_infos[k->type];
}

static bool bytes_are(const uint8_t *p, size_t len, const char *s)
{
	return len == strlen(s) && memcmp(p, s, len) == 0;
}

static const struct key_info *info_by_name(const uint8_t *name, size_t len)
{
	for (size_t i = KEY_ED25519; i < ELEMENTSOF(key_infos); i++)
		if (bytes_are(name, len, key_infos[i].name))
			return &key_infos[i];
	return NULL;
}

struct key *key_free(struct key *k)
{
	if (!k)
		return NULL;
	EVP_PKEY_free(k->pkey);
	free(k->blob);
	free(k);
	return NULL;
}

void key_freep(struct key **k)
{
	key_free(*k);
}

enum key_type key_type(const struct key *k)
{
	return k->type;
}

const char *key_type_name(const struct key *k)
{
	return kinfo(k)->name;
}

const char *key_cert_type_name(const struct key *k)
{
	return kinfo(k)->cert_name;
}

bool key_has_private(const struct key *k)
{
	return k->has_private;
}

unsigned key_bits(const struct key *k)
{
	if (k->type == KEY_RSA)
		return (unsigned)EVP_PKEY_get_bits(k->pkey);
	return kinfo(k)->bits;
}

bool key_equal_public(const struct key *a, const struct key *b)
{
	return a->type == b->type && a->blob_len == b->blob_len &&
	       memcmp(a->blob, b->blob, a->blob_len) == 0;
}

enum key_type key_type_from_cert_name(const char *name)
{
	for (size_t i = KEY_ED25519; i < ELEMENTSOF(key_infos); i++)
		if (name && strcmp(name, key_infos[i].cert_name) == 0)
			return key_infos[i].type;
	return KEY_UNSPEC;
}

/* Append @bn as an mpint, wiping the temporary copy (it may be a secret). */
static int put_bn(struct wbuf *b, const BIGNUM *bn)
{
	int n = BN_num_bytes(bn), r;
	uint8_t *tmp = malloc(n > 0 ? (size_t)n : 1);

	if (!tmp)
		return -ENOMEM;
	BN_bn2bin(bn, tmp);
	r = wbuf_put_mpint_bytes(b, tmp, (size_t)n);
	OPENSSL_cleanse(tmp, n > 0 ? (size_t)n : 1);
	free(tmp);
	return r;
}

static int put_bn_param(struct wbuf *b, const EVP_PKEY *pkey, const char *param)
{
	_cleanup_(BN_clear_freep) BIGNUM *bn = NULL;

	if (!EVP_PKEY_get_bn_param(pkey, param, &bn))
		return JIT_E_CRYPTO;
	return put_bn(b, bn);
}

/* ECDSA public point, uncompressed, into @q (at least 97 bytes). */
static int ec_point(const struct key *k, uint8_t *q, size_t qsize)
{
	const struct key_info *ki = kinfo(k);
	size_t n = 0;

	if (!EVP_PKEY_get_octet_string_param(k->pkey, OSSL_PKEY_PARAM_PUB_KEY, q, qsize, &n) ||
	    n != ki->point_len || q[0] != 0x04)
		return JIT_E_CRYPTO;
	return 0;
}

int key_put_public_fields(const struct key *k, struct wbuf *b)
{
	const struct key_info *ki = kinfo(k);
	uint8_t q[97];
	size_t n = sizeof q;
	int r;

	switch (k->type) {
	case KEY_ED25519:
		if (!EVP_PKEY_get_raw_public_key(k->pkey, q, &n) || n != ED25519_LEN)
			return JIT_E_CRYPTO;
		return wbuf_put_string(b, q, n);
	case KEY_ECDSA_P256:
	case KEY_ECDSA_P384: {
		_cleanup_(wbuf_freep) struct wbuf *t = wbuf_new(0);
		if (!t)
			return -ENOMEM;
		if ((r = ec_point(k, q, sizeof q)) < 0 ||
		    (r = wbuf_put_cstring(t, ki->curve)) < 0 ||
		    (r = wbuf_put_string(t, q, ki->point_len)) < 0)
			return r;
		return wbuf_put(b, wbuf_ptr(t), wbuf_len(t));
	}
	case KEY_RSA: {
		_cleanup_(wbuf_freep) struct wbuf *t = wbuf_new(0);
		if (!t)
			return -ENOMEM;
		if ((r = put_bn_param(t, k->pkey, OSSL_PKEY_PARAM_RSA_E)) < 0 ||
		    (r = put_bn_param(t, k->pkey, OSSL_PKEY_PARAM_RSA_N)) < 0)
			return r;
		return wbuf_put(b, wbuf_ptr(t), wbuf_len(t));
	}
	default:
		return JIT_E_KEY_TYPE;
	}
}

/* Wrap @pkey (stolen) as a key of @type, computing its blob. */
static int key_wrap(enum key_type type, EVP_PKEY *pkey, bool priv, struct key **ret)
{
	_cleanup_(key_freep) struct key *k = calloc(1, sizeof *k);
	_cleanup_(wbuf_freep) struct wbuf *b = wbuf_new(0);
	int r;

	if (!k || !b) {
		EVP_PKEY_free(pkey);
		return -ENOMEM;
	}
	k->type = type;
	k->pkey = pkey;
	k->has_private = priv;
	if ((r = wbuf_put_cstring(b, kinfo(k)->name)) < 0 ||
	    (r = key_put_public_fields(k, b)) < 0 ||
	    (r = wbuf_dup(b, &k->blob, &k->blob_len)) < 0)
		return r;
	*ret = TAKE_PTR(k);
	return 0;
}

static int pkey_fromdata(const char *alg, OSSL_PARAM_BLD *bld, bool priv, EVP_PKEY **ret)
{
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
	OSSL_PARAM *params;
	EVP_PKEY *pkey = NULL;
	int ok;

	params = OSSL_PARAM_BLD_to_param(bld);
	if (!params)
		return -ENOMEM;
	ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
	ok = ctx && EVP_PKEY_fromdata_init(ctx) > 0 &&
	     EVP_PKEY_fromdata(ctx, &pkey, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
			       params) > 0;
	OSSL_PARAM_free(params); /* secure BIGNUMs sit in a block it wipes */
	if (!ok)
		return JIT_E_KEY_INVALID;
	*ret = pkey;
	return 0;
}

/* Run an EVP_PKEY check (public_check / pairwise_check) on @pkey. */
static bool pkey_check(EVP_PKEY *pkey, int (*check)(EVP_PKEY_CTX *))
{
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey,
										   NULL);

	return ctx && check(ctx) > 0;
}

static int read_ed25519(struct wbuf *rd, bool priv, struct key **ret)
{
	const uint8_t *pk, *sk;
	uint8_t derived[ED25519_LEN];
	size_t pklen, sklen, n = sizeof derived;
	EVP_PKEY *pkey;
	int r;

	if ((r = wbuf_get_string_direct(rd, &pk, &pklen)) < 0)
		return r;
	if (pklen != ED25519_LEN)
		return JIT_E_KEY_INVALID;
	if (!priv) {
		pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk, pklen);
		if (!pkey)
			return JIT_E_KEY_INVALID;
		return key_wrap(KEY_ED25519, pkey, false, ret);
	}
	/* private: string seed || pk */
	if ((r = wbuf_get_string_direct(rd, &sk, &sklen)) < 0)
		return r;
	if (sklen != 2 * ED25519_LEN || memcmp(sk + ED25519_LEN, pk, ED25519_LEN) != 0)
		return JIT_E_FORMAT;
	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, sk, ED25519_LEN);
	if (!pkey)
		return JIT_E_KEY_INVALID;
	if (!EVP_PKEY_get_raw_public_key(pkey, derived, &n) || n != ED25519_LEN ||
	    memcmp(derived, pk, ED25519_LEN) != 0) {
		EVP_PKEY_free(pkey);
		return JIT_E_FORMAT;
	}
	return key_wrap(KEY_ED25519, pkey, true, ret);
}

static int read_ecdsa(const struct key_info *ki, struct wbuf *rd, bool priv, struct key **ret)
{
	_cleanup_(OSSL_PARAM_BLD_freep) OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	_cleanup_(BN_clear_freep) BIGNUM *d = NULL;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
	const uint8_t *curve, *q, *dp;
	size_t curvelen, qlen, dlen;
	int r;

	if (!bld)
		return -ENOMEM;
	if ((r = wbuf_get_string_direct(rd, &curve, &curvelen)) < 0 ||
	    (r = wbuf_get_string_direct(rd, &q, &qlen)) < 0)
		return r;
	if (!bytes_are(curve, curvelen, ki->curve) || qlen != ki->point_len || q[0] != 0x04)
		return JIT_E_KEY_INVALID;
	if (priv) {
		if ((r = wbuf_get_mpint_direct(rd, &dp, &dlen)) < 0)
			return r;
		d = BN_secure_new();
		if (!d || !BN_bin2bn(dp, (int)dlen, d))
			return -ENOMEM;
	}
	if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, ki->group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, q, qlen) ||
	    (d && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d)))
		return -ENOMEM;
	if ((r = pkey_fromdata("EC", bld, priv, &pkey)) < 0)
		return r;
	/* On the curve, not infinity, coordinates reduced, right order (SP 800-56A 5.6.2.3.3). */
	if (!pkey_check(pkey, EVP_PKEY_public_check))
		return JIT_E_KEY_INVALID;
	if (priv && !pkey_check(pkey, EVP_PKEY_pairwise_check))
		return JIT_E_FORMAT;
	return key_wrap(ki->type, TAKE_PTR(pkey), priv, ret);
}

/* An mpint read into a new BIGNUM (secure heap when @secret). */
static int get_bn(struct wbuf *rd, bool secret, BIGNUM **ret)
{
	const uint8_t *p;
	size_t n;
	BIGNUM *bn;
	int r;

	if ((r = wbuf_get_mpint_direct(rd, &p, &n)) < 0)
		return r;
	if (n > KEY_RSA_MAX_BITS / 8 + 1)
		return JIT_E_TOO_LARGE;
	bn = secret ? BN_secure_new() : BN_new();
	if (!bn)
		return -ENOMEM;
	if (!BN_bin2bn(p, (int)n, bn)) {
		BN_clear_free(bn);
		return -ENOMEM;
	}
	*ret = bn;
	return 0;
}

static int rsa_check_public(const BIGNUM *n, const BIGNUM *e)
{
	if (BN_num_bits(n) < KEY_RSA_MIN_BITS)
		return JIT_E_KEY_WEAK;
	if (BN_num_bits(n) > KEY_RSA_MAX_BITS)
		return JIT_E_TOO_LARGE;
	if (!BN_is_odd(n) || !BN_is_odd(e) || BN_is_one(e) || BN_cmp(e, n) >= 0)
		return JIT_E_KEY_INVALID;
	return 0;
}

/*
 * The private fields of an OpenSSH RSA key (n, e, d, iqmp, p, q) must form one key pair:
 * n = p q, e d = 1 mod (p-1) and mod (q-1), iqmp q = 1 mod p. Cheap checks, no primality
 * test. Computes the CRT exponents OpenSSL wants.
 */
static int rsa_check_private(const BIGNUM *n, const BIGNUM *e, const BIGNUM *d,
			     const BIGNUM *iqmp, const BIGNUM *p, const BIGNUM *q, BIGNUM *dmp1,
			     BIGNUM *dmq1)
{
	_cleanup_(BN_CTX_freep) BN_CTX *ctx = BN_CTX_secure_new();
	_cleanup_(BN_clear_freep) BIGNUM *t = BN_secure_new();
	_cleanup_(BN_clear_freep) BIGNUM *pm1 = BN_secure_new();
	_cleanup_(BN_clear_freep) BIGNUM *qm1 = BN_secure_new();
	_cleanup_(BN_clear_freep) BIGNUM *ed = BN_secure_new();

	if (!ctx || !t || !pm1 || !qm1 || !ed)
		return -ENOMEM;
	if (BN_is_zero(d) || BN_cmp(p, BN_value_one()) <= 0 || BN_cmp(q, BN_value_one()) <= 0)
		return JIT_E_FORMAT;
	if (!BN_mul(t, p, q, ctx) || BN_cmp(t, n) != 0)
		return JIT_E_FORMAT;
	if (!BN_sub(pm1, p, BN_value_one()) || !BN_sub(qm1, q, BN_value_one()) ||
	    !BN_mul(ed, e, d, ctx))
		return JIT_E_CRYPTO;
	if (!BN_mod(t, ed, pm1, ctx) || !BN_is_one(t) || !BN_mod(t, ed, qm1, ctx) || !BN_is_one(t))
		return JIT_E_FORMAT;
	if (!BN_mod_mul(t, iqmp, q, p, ctx) || !BN_is_one(t))
		return JIT_E_FORMAT;
	if (!BN_mod(dmp1, d, pm1, ctx) || !BN_mod(dmq1, d, qm1, ctx))
		return JIT_E_CRYPTO;
	return 0;
}

static int read_rsa(struct wbuf *rd, bool priv, struct key **ret)
{
	_cleanup_(OSSL_PARAM_BLD_freep) OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	_cleanup_(BN_clear_freep) BIGNUM *n = NULL, *e = NULL, *d = NULL, *iqmp = NULL,
					 *p = NULL, *q = NULL, *dmp1 = NULL, *dmq1 = NULL;
	EVP_PKEY *pkey = NULL;
	int r;

	if (!bld)
		return -ENOMEM;
	/* public blob: e, n; private fields: n, e, d, iqmp, p, q */
	if (!priv) {
		if ((r = get_bn(rd, false, &e)) < 0 || (r = get_bn(rd, false, &n)) < 0)
			return r;
	} else {
		if ((r = get_bn(rd, false, &n)) < 0 || (r = get_bn(rd, false, &e)) < 0 ||
		    (r = get_bn(rd, true, &d)) < 0 || (r = get_bn(rd, true, &iqmp)) < 0 ||
		    (r = get_bn(rd, true, &p)) < 0 || (r = get_bn(rd, true, &q)) < 0)
			return r;
	}
	if ((r = rsa_check_public(n, e)) < 0)
		return r;
	if (priv) {
		dmp1 = BN_secure_new();
		dmq1 = BN_secure_new();
		if (!dmp1 || !dmq1)
			return -ENOMEM;
		if ((r = rsa_check_private(n, e, d, iqmp, p, q, dmp1, dmq1)) < 0)
			return r;
	}
	if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
		return -ENOMEM;
	if (priv && (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d) ||
		     !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, p) ||
		     !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, q) ||
		     !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, dmp1) ||
		     !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, dmq1) ||
		     !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, iqmp)))
		return -ENOMEM;
	if ((r = pkey_fromdata("RSA", bld, priv, &pkey)) < 0)
		return r;
	return key_wrap(KEY_RSA, pkey, priv, ret);
}

/* The type-specific fields after the type name (public blob form, or private form). */
static int read_fields(const struct key_info *ki, struct wbuf *rd, bool priv, struct key **ret)
{
	switch (ki->type) {
	case KEY_ED25519:
		return read_ed25519(rd, priv, ret);
	case KEY_ECDSA_P256:
	case KEY_ECDSA_P384:
		return read_ecdsa(ki, rd, priv, ret);
	case KEY_RSA:
		return read_rsa(rd, priv, ret);
	default:
		return JIT_E_KEY_TYPE;
	}
}

int key_from_blob(const uint8_t *blob, size_t len, struct key **ret)
{
	_cleanup_(wbuf_freep) struct wbuf *rd = NULL;
	_cleanup_(key_freep) struct key *k = NULL;
	const struct key_info *ki;
	const uint8_t *name;
	size_t namelen;
	int r;

	if (len > WBUF_SIZE_MAX)
		return JIT_E_TOO_LARGE;
	rd = wbuf_from(blob, len);
	if (!rd)
		return -ENOMEM;
	if ((r = wbuf_get_string_direct(rd, &name, &namelen)) < 0)
		return r;
	ki = info_by_name(name, namelen);
	if (!ki)
		return JIT_E_KEY_TYPE; /* DSA, nistp521, sk-*, certificates, unknown */
	if ((r = read_fields(ki, rd, false, &k)) < 0)
		return r;
	if (wbuf_len(rd) != 0)
		return JIT_E_FORMAT;
	/* Only the canonical encoding (e.g. an mpint e with a needless zero byte is refused). */
	if (k->blob_len != len || memcmp(k->blob, blob, len) != 0)
		return JIT_E_FORMAT;
	*ret = TAKE_PTR(k);
	return 0;
}

int key_get_public(struct wbuf *b, struct key **ret)
{
	const uint8_t *p;
	size_t n;
	int r;

	/* Peek, so that @b stays unchanged when the key is refused. */
	if (wbuf_len(b) < 4)
		return JIT_E_FORMAT;
	p = wbuf_ptr(b);
	n = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
	if (n > wbuf_len(b) - 4)
		return JIT_E_FORMAT;
	if ((r = key_from_blob(p + 4, n, ret)) < 0)
		return r;
	return wbuf_consume(b, 4 + n);
}

int key_get_public_fields(enum key_type type, struct wbuf *b, struct key **ret)
{
	_cleanup_(wbuf_freep) struct wbuf *rd = NULL;
	const struct key_info *ki = info_of(type);
	size_t before = wbuf_len(b);
	int r;

	if (!ki)
		return JIT_E_KEY_TYPE;
	/* Read a copy, so that @b stays unchanged when the key is refused. */
	rd = wbuf_from(wbuf_ptr(b), before);
	if (!rd)
		return -ENOMEM;
	if ((r = read_fields(ki, rd, false, ret)) < 0)
		return r;
	return wbuf_consume(b, before - wbuf_len(rd));
}

int key_put_blob(const struct key *k, struct wbuf *b)
{
	return wbuf_put(b, k->blob, k->blob_len);
}

int key_to_blob(const struct key *k, uint8_t **ret, size_t *ret_len)
{
	uint8_t *p = malloc(k->blob_len);

	if (!p)
		return -ENOMEM;
	memcpy(p, k->blob, k->blob_len);
	*ret = p;
	*ret_len = k->blob_len;
	return 0;
}

int key_public(const struct key *k, struct key **ret)
{
	return key_from_blob(k->blob, k->blob_len, ret);
}

int key_generate(enum key_type type, unsigned bits, struct key **ret)
{
	EVP_PKEY *pkey;

	switch (type) {
	case KEY_ED25519:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	case KEY_ECDSA_P256:
	case KEY_ECDSA_P384:
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", key_infos[type].group);
		break;
	case KEY_RSA:
		if (bits == 0)
			bits = 3072;
		if (bits < KEY_RSA_MIN_BITS)
			return JIT_E_KEY_WEAK;
		if (bits > KEY_RSA_MAX_BITS)
			return JIT_E_TOO_LARGE;
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
		break;
	default:
		return JIT_E_KEY_TYPE;
	}
	if (!pkey)
		return JIT_E_CRYPTO;
	return key_wrap(type, pkey, true, ret);
}

/* ---- text forms ---- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_space(char c)
{
	return is_blank(c) || c == '\r' || c == '\n';
}

int key_from_line(const char *line, struct key **ret, char **ret_comment)
{
	_cleanup_(key_freep) struct key *k = NULL;
	_cleanup_free_ uint8_t *blob = NULL;
	_cleanup_free_ char *comment = NULL;
	const char *type, *b64, *cm, *end;
	size_t len = strnlen(line, KEY_LINE_MAX + 1), typelen, b64len, bloblen;
	int r;

	if (len > KEY_LINE_MAX)
		return JIT_E_TOO_LARGE;
	end = line + len;
	while (line < end && is_space(*line))
		line++;
	while (end > line && is_space(end[-1]))
		end--;
	if (memchr(line, '\n', (size_t)(end - line)) || memchr(line, '\r', (size_t)(end - line)))
		return JIT_E_FORMAT;

	type = line;
	while (line < end && !is_blank(*line))
		line++;
	typelen = (size_t)(line - type);
	while (line < end && is_blank(*line))
		line++;
	b64 = line;
	while (line < end && !is_blank(*line))
		line++;
	b64len = (size_t)(line - b64);
	while (line < end && is_blank(*line))
		line++;
	cm = line;
	if (typelen == 0 || b64len == 0)
		return JIT_E_FORMAT;
	if ((size_t)(end - cm) > KEY_COMMENT_MAX)
		return JIT_E_TOO_LARGE;

	if ((r = b64_decode(b64, b64len, &blob, &bloblen)) < 0 ||
	    (r = key_from_blob(blob, bloblen, &k)) < 0)
		return r;
	if (!bytes_are((const uint8_t *)type, typelen, key_type_name(k)))
		return JIT_E_FORMAT;
	if (ret_comment) {
		comment = strndup(cm, (size_t)(end - cm));
		if (!comment)
			return -ENOMEM;
		*ret_comment = TAKE_PTR(comment);
	}
	*ret = TAKE_PTR(k);
	return 0;
}

int key_to_line(const struct key *k, const char *comment, char **ret)
{
	_cleanup_free_ char *b64 = NULL;
	char *line;
	int r;

	if (comment && (strlen(comment) > KEY_COMMENT_MAX || strpbrk(comment, "\r\n")))
		return -EINVAL;
	if ((r = b64_encode(k->blob, k->blob_len, &b64)) < 0)
		return r;
	if (asprintf(&line, "%s %s%s%s", key_type_name(k), b64, comment && *comment ? " " : "",
		     comment ? comment : "") < 0)
		return -ENOMEM;
	*ret = line;
	return 0;
}

int key_fingerprint_blob(const uint8_t *blob, size_t len, char **ret)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	_cleanup_free_ char *b64 = NULL;
	char *fp;
	size_t n;
	int r;

	if (!EVP_Digest(blob, len, md, &mdlen, EVP_sha256(), NULL))
		return JIT_E_CRYPTO;
	if ((r = b64_encode(md, mdlen, &b64)) < 0)
		return r;
	n = strlen(b64);
	while (n > 0 && b64[n - 1] == '=')
		b64[--n] = 0;
	if (asprintf(&fp, "SHA256:%s", b64) < 0)
		return -ENOMEM;
	*ret = fp;
	return 0;
}

int key_fingerprint(const struct key *k, char **ret)
{
	return key_fingerprint_blob(k->blob, k->blob_len, ret);
}

/* ---- private halves ---- */

/* Ed25519 private fields: string ENC(A), string k || ENC(A) (RFC 8709; PROTOCOL.key). */
static int put_ed25519_private(const struct key *k, struct wbuf *b)
{
	uint8_t sk[2 * ED25519_LEN];
	size_t n = ED25519_LEN;
	int r = JIT_E_CRYPTO;

	if (EVP_PKEY_get_raw_private_key(k->pkey, sk, &n) && n == ED25519_LEN) {
		memcpy(sk + ED25519_LEN, k->blob + k->blob_len - ED25519_LEN, ED25519_LEN);
		if ((r = wbuf_put_string(b, sk + ED25519_LEN, ED25519_LEN)) == 0)
			r = wbuf_put_string(b, sk, sizeof sk);
	}
	OPENSSL_cleanse(sk, sizeof sk);
	return r;
}

int key_put_private_agent(const struct key *k, bool for_cert, struct wbuf *b)
{
	_cleanup_(wbuf_freep) struct wbuf *t = wbuf_new(0);
	int r;

	if (!k->has_private)
		return JIT_E_KEY_TYPE;
	if (!t)
		return -ENOMEM;
	switch (k->type) {
	case KEY_ED25519: /* the same in both forms */
		r = put_ed25519_private(k, t);
		break;
	case KEY_ECDSA_P256:
	case KEY_ECDSA_P384: /* [string curve, string Q,] mpint d */
		if (for_cert || (r = key_put_public_fields(k, t)) == 0)
			r = put_bn_param(t, k->pkey, OSSL_PKEY_PARAM_PRIV_KEY);
		break;
	case KEY_RSA: /* [mpint n, mpint e,] mpint d, iqmp, p, q */
		r = 0;
		if (!for_cert && ((r = put_bn_param(t, k->pkey, OSSL_PKEY_PARAM_RSA_N)) < 0 ||
				  (r = put_bn_param(t, k->pkey, OSSL_PKEY_PARAM_RSA_E)) < 0))
			break;
		if ((r = put_bn_param(t, k->pkey, OSSL_PKEY_PARAM_RSA_D)) < 0 ||
		    (r = put_bn_param(t, k->pkey, OSSL_PKEY_PARAM_RSA_COEFFICIENT1)) < 0 ||
		    (r = put_bn_param(t, k->pkey, OSSL_PKEY_PARAM_RSA_FACTOR1)) < 0)
			break;
		r = put_bn_param(t, k->pkey, OSSL_PKEY_PARAM_RSA_FACTOR2);
		break;
	default:
		r = JIT_E_KEY_TYPE;
	}
	if (r < 0)
		return r;
	return wbuf_put(b, wbuf_ptr(t), wbuf_len(t));
}

/* Join the base64 lines between the armour markers (CR/LF between them are dropped). */
static int private_unarmour(const uint8_t *data, size_t len, struct wbuf **ret)
{
	const size_t blen = strlen(PRIV_BEGIN), elen = strlen(PRIV_END);
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ uint8_t *bin = NULL;
	const uint8_t *p, *end;
	size_t n = 0, binlen = 0;
	struct wbuf *b;
	int r;

	if (len < blen || memcmp(data, PRIV_BEGIN, blen) != 0)
		return JIT_E_FORMAT;
	p = data + blen;
	end = memmem(p, len - blen, PRIV_END, elen);
	if (!end)
		return JIT_E_FORMAT;
	for (const uint8_t *t = end + elen; t < data + len; t++)
		if (!is_space((char)*t))
			return JIT_E_FORMAT;
	text = malloc((size_t)(end - p) + 1);
	if (!text)
		return -ENOMEM;
	for (; p < end; p++)
		if (*p != '\n' && *p != '\r')
			text[n++] = (char)*p;
	r = b64_decode(text, n, &bin, &binlen);
	OPENSSL_cleanse(text, n);
	if (r < 0)
		return r;
	b = wbuf_from(bin, binlen);
	OPENSSL_cleanse(bin, binlen);
	if (!b)
		return -ENOMEM;
	*ret = b;
	return 0;
}

int key_parse_private(const uint8_t *data, size_t len, struct key **ret, char **ret_comment)
{
	_cleanup_(wbuf_freep) struct wbuf *b = NULL, *priv = NULL;
	_cleanup_(key_freep) struct key *pub = NULL, *k = NULL;
	_cleanup_free_ char *cipher = NULL, *kdf = NULL, *comment = NULL;
	const uint8_t *kdfopts, *pubblob, *type;
	size_t kdfoptslen, pubbloblen, typelen, commentlen;
	uint8_t magic[sizeof PRIV_MAGIC];
	uint32_t nkeys, check1, check2;
	int r;

	if (len > KEY_PRIVATE_FILE_MAX)
		return JIT_E_TOO_LARGE;
	if ((r = private_unarmour(data, len, &b)) < 0)
		return r;
	if ((r = wbuf_get(b, magic, sizeof magic)) < 0)
		return r;
	if (memcmp(magic, PRIV_MAGIC, sizeof magic) != 0)
		return JIT_E_FORMAT;
	if ((r = wbuf_get_cstring(b, &cipher, NULL)) < 0)
		return r;
	if (strcmp(cipher, "none") != 0)
		return JIT_E_PASSPHRASE;
	if ((r = wbuf_get_cstring(b, &kdf, NULL)) < 0 ||
	    (r = wbuf_get_string_direct(b, &kdfopts, &kdfoptslen)) < 0 ||
	    (r = wbuf_get_u32(b, &nkeys)) < 0)
		return r;
	if (strcmp(kdf, "none") != 0 || kdfoptslen != 0 || nkeys != 1)
		return JIT_E_FORMAT;
	if ((r = wbuf_get_string_direct(b, &pubblob, &pubbloblen)) < 0 ||
	    (r = key_from_blob(pubblob, pubbloblen, &pub)) < 0 ||
	    (r = wbuf_get_stringb(b, &priv)) < 0)
		return r;
	if (wbuf_len(b) != 0 || wbuf_len(priv) < PRIV_BLOCK || wbuf_len(priv) % PRIV_BLOCK != 0)
		return JIT_E_FORMAT;

	if ((r = wbuf_get_u32(priv, &check1)) < 0 || (r = wbuf_get_u32(priv, &check2)) < 0 ||
	    (r = wbuf_get_string_direct(priv, &type, &typelen)) < 0)
		return r;
	if (check1 != check2 || !bytes_are(type, typelen, key_type_name(pub)))
		return JIT_E_FORMAT;
	if ((r = read_fields(kinfo(pub), priv, true, &k)) < 0)
		return r;
	if (!key_equal_public(k, pub))
		return JIT_E_FORMAT;
	if ((r = wbuf_get_cstring(priv, &comment, &commentlen)) < 0)
		return r;
	if (commentlen > KEY_COMMENT_MAX)
		return JIT_E_TOO_LARGE;
	/* padding 1, 2, 3, ... */
	for (unsigned i = 1; wbuf_len(priv) > 0; i++) {
		uint8_t pad;
		if ((r = wbuf_get_u8(priv, &pad)) < 0)
			return r;
		if (pad != (uint8_t)i)
			return JIT_E_FORMAT;
	}
	if (ret_comment)
		*ret_comment = TAKE_PTR(comment);
	*ret = TAKE_PTR(k);
	return 0;
}

int key_load_private(const char *path, bool require_private_mode, struct key **ret)
{
	_cleanup_free_ uint8_t *buf = NULL;
	struct stat st;
	size_t len = 0;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto out;
	}
	if (require_private_mode && ((st.st_mode & 077) || st.st_uid != geteuid())) {
		r = JIT_E_PERMISSION;
		goto out;
	}
	if (st.st_size > KEY_PRIVATE_FILE_MAX) {
		r = JIT_E_TOO_LARGE;
		goto out;
	}
	buf = malloc(KEY_PRIVATE_FILE_MAX + 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, KEY_PRIVATE_FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > KEY_PRIVATE_FILE_MAX) {
			r = JIT_E_TOO_LARGE;
			goto out;
		}
	}
	r = key_parse_private(buf, len, ret, NULL);
out:
	if (buf)
		OPENSSL_cleanse(buf, KEY_PRIVATE_FILE_MAX + 1);
	close(fd);
	return r;
}

int key_format_private(const struct key *k, const char *comment, char **ret, size_t *ret_len)
{
	_cleanup_(wbuf_freep) struct wbuf *priv = wbuf_new(0), *b = wbuf_new(0);
	_cleanup_free_ char *b64 = NULL;
	const size_t blen = strlen(PRIV_BEGIN), elen = strlen(PRIV_END);
	size_t n, lines, total, off = 0;
	uint32_t check;
	char *text;
	int r;

	if (!k->has_private)
		return JIT_E_KEY_TYPE;
	if (comment && strlen(comment) > KEY_COMMENT_MAX)
		return JIT_E_TOO_LARGE;
	if (!priv || !b)
		return -ENOMEM;
	if (RAND_bytes((unsigned char *)&check, sizeof check) != 1)
		return JIT_E_CRYPTO;
	if ((r = wbuf_put_u32(priv, check)) < 0 || (r = wbuf_put_u32(priv, check)) < 0 ||
	    (r = wbuf_put_cstring(priv, key_type_name(k))) < 0 ||
	    (r = key_put_private_agent(k, false, priv)) < 0 ||
	    (r = wbuf_put_cstring(priv, comment ? comment : "")) < 0)
		return r;
	for (uint8_t i = 1; wbuf_len(priv) % PRIV_BLOCK != 0; i++)
		if ((r = wbuf_put_u8(priv, i)) < 0)
			return r;
	if ((r = wbuf_put(b, PRIV_MAGIC, sizeof PRIV_MAGIC)) < 0 ||
	    (r = wbuf_put_cstring(b, "none")) < 0 || (r = wbuf_put_cstring(b, "none")) < 0 ||
	    (r = wbuf_put_string(b, NULL, 0)) < 0 || (r = wbuf_put_u32(b, 1)) < 0 ||
	    (r = wbuf_put_string(b, k->blob, k->blob_len)) < 0 ||
	    (r = wbuf_put_stringb(b, priv)) < 0)
		return r;
	if ((r = b64_encode(wbuf_ptr(b), wbuf_len(b), &b64)) < 0)
		return r;
	n = strlen(b64);
	lines = (n + PRIV_LINE - 1) / PRIV_LINE;
	total = blen + 1 + n + lines + elen + 1;
	text = malloc(total + 1);
	if (!text) {
		OPENSSL_cleanse(b64, n);
		return -ENOMEM;
	}
	memcpy(text, PRIV_BEGIN "\n", blen + 1);
	off = blen + 1;
	for (size_t i = 0; i < n; i += PRIV_LINE) {
		size_t m = n - i < PRIV_LINE ? n - i : PRIV_LINE;
		memcpy(text + off, b64 + i, m);
		off += m;
		text[off++] = '\n';
	}
	memcpy(text + off, PRIV_END "\n", elen + 2);
	OPENSSL_cleanse(b64, n);
	*ret = text;
	*ret_len = total;
	return 0;
}

int key_write_private(const struct key *k, const char *comment, const char *path)
{
	char *text = NULL;
	size_t len = 0;
	int fd, r;

	if ((r = key_format_private(k, comment, &text, &len)) < 0)
		return r;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = fchmod(fd, 0600) < 0 ? -errno : 0;
	if (r == 0)
		r = util_write_all(fd, text, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		unlink(path);
out:
	OPENSSL_cleanse(text, len);
	free(text);
	return r;
}

/* ---- signatures ---- */

/* The signature algorithm @name (@len bytes) if it suits @k, with its digest. */
static const char *sig_alg(const struct key *k, const uint8_t *name, size_t len,
			   const EVP_MD **ret_md)
{
	switch (k->type) {
	case KEY_ED25519:
		*ret_md = NULL;
		return bytes_are(name, len, "ssh-ed25519") ? "ssh-ed25519" : NULL;
	case KEY_ECDSA_P256:
		*ret_md = EVP_sha256();
		return bytes_are(name, len, key_type_name(k)) ? key_type_name(k) : NULL;
	case KEY_ECDSA_P384:
		*ret_md = EVP_sha384();
		return bytes_are(name, len, key_type_name(k)) ? key_type_name(k) : NULL;
	case KEY_RSA:
		if (bytes_are(name, len, "rsa-sha2-256")) {
			*ret_md = EVP_sha256();
			return "rsa-sha2-256";
		}
		if (bytes_are(name, len, "rsa-sha2-512")) {
			*ret_md = EVP_sha512();
			return "rsa-sha2-512";
		}
		return NULL; /* never "ssh-rsa" (SHA-1) */
	default:
		return NULL;
	}
}

static const char *sig_default_alg(const struct key *k)
{
	return k->type == KEY_RSA ? "rsa-sha2-512" : key_type_name(k);
}

/* ECDSA: DER ECDSA-Sig-Value -> SSH "mpint r, mpint s" (RFC 5656 section 3.1.2). */
static int ecdsa_der_to_ssh(const uint8_t *der, size_t len, struct wbuf *out)
{
	_cleanup_(ECDSA_SIG_freep) ECDSA_SIG *es = NULL;
	const unsigned char *p = der;
	int r;

	es = d2i_ECDSA_SIG(NULL, &p, (long)len);
	if (!es)
		return JIT_E_CRYPTO;
	if ((r = put_bn(out, ECDSA_SIG_get0_r(es))) < 0 ||
	    (r = put_bn(out, ECDSA_SIG_get0_s(es))) < 0)
		return r;
	return 0;
}

int key_sign(const struct key *k, const uint8_t *data, size_t len, const char *alg,
	     struct wbuf *sig)
{
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
	_cleanup_(wbuf_freep) struct wbuf *inner = wbuf_new(0), *out = wbuf_new(0);
	_cleanup_free_ uint8_t *raw = NULL;
	const EVP_MD *digest;
	const char *name;
	size_t rawlen = 0, modlen;
	int r;

	if (!k->has_private)
		return JIT_E_KEY_TYPE;
	if (!alg)
		alg = sig_default_alg(k);
	name = sig_alg(k, (const uint8_t *)alg, strlen(alg), &digest);
	if (!name)
		return JIT_E_KEY_TYPE;
	if (!md || !inner || !out)
		return -ENOMEM;
	if (EVP_DigestSignInit(md, NULL, digest, NULL, k->pkey) != 1 ||
	    EVP_DigestSign(md, NULL, &rawlen, data, len) != 1)
		return JIT_E_CRYPTO;
	raw = malloc(rawlen);
	if (!raw)
		return -ENOMEM;
	if (EVP_DigestSign(md, raw, &rawlen, data, len) != 1)
		return JIT_E_CRYPTO;
	switch (k->type) {
	case KEY_ECDSA_P256:
	case KEY_ECDSA_P384:
		if ((r = ecdsa_der_to_ssh(raw, rawlen, inner)) < 0)
			return r;
		break;
	case KEY_RSA:
		/* Exactly the modulus length, left-padded with zeros (RFC 8332 section 3). */
		modlen = (size_t)EVP_PKEY_get_size(k->pkey);
		if (rawlen > modlen)
			return JIT_E_CRYPTO;
		for (size_t i = rawlen; i < modlen; i++)
			if ((r = wbuf_put_u8(inner, 0)) < 0)
				return r;
		if ((r = wbuf_put(inner, raw, rawlen)) < 0)
			return r;
		break;
	default:
		if ((r = wbuf_put(inner, raw, rawlen)) < 0)
			return r;
	}
	if ((r = wbuf_put_cstring(out, name)) < 0 || (r = wbuf_put_stringb(out, inner)) < 0)
		return r;
	return wbuf_put(sig, wbuf_ptr(out), wbuf_len(out));
}

static int key_signer_sign(void *ctx, const struct key *pub, const uint8_t *data, size_t len,
			   const char *alg, struct wbuf *sig)
{
	const struct key *k = ctx;

	if (!key_equal_public(k, pub))
		return JIT_E_KEY_TYPE;
	return key_sign(k, data, len, alg, sig);
}

struct signer key_signer(const struct key *k)
{
	return (struct signer){ .sign = key_signer_sign, .ctx = (void *)k, .pub = k };
}

/* ECDSA: SSH "mpint r, mpint s" -> DER for EVP_DigestVerify. */
static int ecdsa_ssh_to_der(const uint8_t *blob, size_t len, uint8_t **ret, size_t *ret_len)
{
	_cleanup_(wbuf_freep) struct wbuf *rd = wbuf_from(blob, len);
	_cleanup_(ECDSA_SIG_freep) ECDSA_SIG *es = ECDSA_SIG_new();
	const uint8_t *rp, *sp;
	size_t rlen, slen;
	BIGNUM *br, *bs;
	unsigned char *der = NULL;
	int r, n;

	if (!rd || !es)
		return -ENOMEM;
	if ((r = wbuf_get_mpint_direct(rd, &rp, &rlen)) < 0 ||
	    (r = wbuf_get_mpint_direct(rd, &sp, &slen)) < 0)
		return r;
	if (wbuf_len(rd) != 0)
		return JIT_E_FORMAT;
	if (rlen > 64 || slen > 64) /* larger than any supported group order */
		return JIT_E_SIGNATURE;
	br = BN_bin2bn(rp, (int)rlen, NULL);
	bs = BN_bin2bn(sp, (int)slen, NULL);
	if (!br || !bs || !ECDSA_SIG_set0(es, br, bs)) {
		BN_free(br);
		BN_free(bs);
		return -ENOMEM;
	}
	n = i2d_ECDSA_SIG(es, &der);
	if (n <= 0)
		return JIT_E_CRYPTO;
	*ret = der;
	*ret_len = (size_t)n;
	return 0;
}

int key_verify(const struct key *k, const uint8_t *sig, size_t siglen, const uint8_t *data,
	       size_t len, const char **ret_alg)
{
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
	_cleanup_(wbuf_freep) struct wbuf *rd = NULL;
	_cleanup_free_ uint8_t *padded = NULL;
	const uint8_t *algname, *blob;
	size_t alglen, bloblen, modlen;
	uint8_t *der = NULL;
	const EVP_MD *digest;
	const char *name;
	int r, ok;

	if (!md)
		return -ENOMEM;
	if (siglen > WBUF_SIZE_MAX)
		return JIT_E_TOO_LARGE;
	rd = wbuf_from(sig, siglen);
	if (!rd)
		return -ENOMEM;
	if ((r = wbuf_get_string_direct(rd, &algname, &alglen)) < 0 ||
	    (r = wbuf_get_string_direct(rd, &blob, &bloblen)) < 0)
		return r;
	if (wbuf_len(rd) != 0)
		return JIT_E_FORMAT;
	name = sig_alg(k, algname, alglen, &digest);
	if (!name)
		return JIT_E_KEY_TYPE;

	switch (k->type) {
	case KEY_ED25519:
		if (bloblen != ED25519_SIG_LEN)
			return JIT_E_FORMAT;
		break;
	case KEY_ECDSA_P256:
	case KEY_ECDSA_P384:
		if ((r = ecdsa_ssh_to_der(blob, bloblen, &der, &bloblen)) < 0)
			return r;
		blob = der;
		break;
	case KEY_RSA:
		modlen = (size_t)EVP_PKEY_get_size(k->pkey);
		if (bloblen > modlen)
			return JIT_E_SIGNATURE;
		if (bloblen < modlen) {
			/* OpenSSH accepts and left-pads a short signature. */
			padded = calloc(1, modlen);
			if (!padded)
				return -ENOMEM;
			memcpy(padded + modlen - bloblen, blob, bloblen);
			blob = padded;
			bloblen = modlen;
		}
		break;
	default:
		return JIT_E_KEY_TYPE;
	}
	ok = EVP_DigestVerifyInit(md, NULL, digest, NULL, k->pkey) == 1 &&
	     EVP_DigestVerify(md, blob, bloblen, data, len) == 1;
	OPENSSL_free(der);
	if (!ok)
		return JIT_E_SIGNATURE;
	if (ret_alg)
		*ret_alg = name;
	return 0;
}
