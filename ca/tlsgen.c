/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "b64.h"
#include "err.h"
#include "tlsgen.h"
#include "util.h"

static void evp_pkey_freep(EVP_PKEY **p)
{
	EVP_PKEY_free(*p);
}

static void x509_freep(X509 **p)
{
	X509_free(*p);
}

static int add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return JIT_E_CRYPTO;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : JIT_E_CRYPTO;
}

static int make_cert(EVP_PKEY *pkey, uint64_t now, X509 **ret)
{
	_cleanup_(x509_freep) X509 *x = X509_new();
	unsigned char serial[16];
	BIGNUM *bn;
	X509_NAME *name;
	int r;

	if (!x)
		return -ENOMEM;
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		return JIT_E_CRYPTO;
	serial[0] &= 0x7f; /* positive (RFC 5280 section 4.1.2.2) */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (!bn)
		return -ENOMEM;
	r = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	if (!r)
		return JIT_E_CRYPTO;

	name = X509_get_subject_name(x);
	if (!X509_set_version(x, 2) || !ASN1_TIME_set(X509_getm_notBefore(x), (time_t)(now - 60)) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)(now + TLSGEN_VALIDITY_SEC)) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)"jit-ssh-ca", -1, -1, 0) ||
	    !X509_set_issuer_name(x, name) || !X509_set_pubkey(x, pkey))
		return JIT_E_CRYPTO;
	if ((r = add_ext(x, NID_basic_constraints, "critical,CA:TRUE")) < 0 ||
	    (r = add_ext(x, NID_key_usage, "critical,digitalSignature,keyCertSign")) < 0 ||
	    (r = add_ext(x, NID_ext_key_usage, "serverAuth")) < 0 ||
	    (r = add_ext(x, NID_subject_key_identifier, "hash")) < 0 ||
	    (r = add_ext(x, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1")) < 0)
		return r;
	if (X509_sign(x, pkey, EVP_sha256()) <= 0)
		return JIT_E_CRYPTO;
	*ret = TAKE_PTR(x);
	return 0;
}

/* Create @path exclusively with @mode and write what @fn writes; remove it on failure. */
static int write_pem(const char *path, mode_t mode, int (*fn)(FILE *, void *), void *arg)
{
	FILE *f;
	int fd, r;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		r = -errno;
		close(fd);
		unlink(path);
		return r;
	}
	r = fn(f, arg) ? 0 : JIT_E_CRYPTO;
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		r = r < 0 ? r : -errno;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	if (r < 0)
		unlink(path);
	return r;
}

static int write_key(FILE *f, void *arg)
{
	return PEM_write_PrivateKey(f, arg, NULL, NULL, 0, NULL, NULL);
}

static int write_cert(FILE *f, void *arg)
{
	return PEM_write_X509(f, arg);
}

static int pin_x509(X509 *x, char **ret)
{
	unsigned char *der = NULL, md[SHA256_DIGEST_LENGTH];
	_cleanup_free_ char *b64 = NULL;
	char *pin;
	int len, r;

	len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	if (len <= 0)
		return JIT_E_CRYPTO;
	SHA256(der, (size_t)len, md);
	OPENSSL_free(der);
	if ((r = b64_encode(md, sizeof(md), &b64)) < 0)
		return r;
	if (asprintf(&pin, "sha256//%s", b64) < 0)
		return -ENOMEM;
	*ret = pin;
	return 0;
}

int tlsgen_write(const char *key_path, const char *cert_path, uint64_t now, char **ret_pin)
{
	_cleanup_(evp_pkey_freep) EVP_PKEY *pkey = NULL;
	_cleanup_(x509_freep) X509 *x = NULL;
	_cleanup_free_ char *pin = NULL;
	int r;

	pkey = EVP_EC_gen("P-256");
	if (!pkey)
		return JIT_E_CRYPTO;
	if ((r = make_cert(pkey, now, &x)) < 0)
		return r;
	if (ret_pin && (r = pin_x509(x, &pin)) < 0)
		return r;
	if ((r = write_pem(key_path, 0600, write_key, pkey)) < 0)
		return r;
	if ((r = write_pem(cert_path, 0644, write_cert, x)) < 0) {
		unlink(key_path);
		return r;
	}
	if (ret_pin)
		*ret_pin = TAKE_PTR(pin);
	return 0;
}

int tlsgen_pin_pem(const char *pem, size_t len, char **ret)
{
	_cleanup_(x509_freep) X509 *x = NULL;
	BIO *bio;

	if (len > TLSGEN_PEM_MAX)
		return JIT_E_TOO_LARGE;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return -ENOMEM;
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (!x)
		return JIT_E_FORMAT;
	return pin_x509(x, ret);
}

int tlsgen_read_file(const char *path, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(TLSGEN_PEM_MAX + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		n = read(fd, buf + len, TLSGEN_PEM_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > TLSGEN_PEM_MAX) {
			r = JIT_E_TOO_LARGE;
			break;
		}
	}
	close(fd);
	if (r < 0) {
		OPENSSL_cleanse(buf, len);
		return r;
	}
	buf[len] = 0;
	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

int tlsgen_pin_file(const char *cert_path, char **ret)
{
	_cleanup_free_ char *pem = NULL;
	size_t len;
	int r;

	if ((r = tlsgen_read_file(cert_path, &pem, &len)) < 0)
		return r;
	return tlsgen_pin_pem(pem, len, ret);
}
