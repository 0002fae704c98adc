/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
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

/*
 * Create @path exclusively with @mode and write what @fn puts into a memory BIO, with
 * write(2): no stdio buffer keeps a copy, and the BIO's buffer is wiped before it is freed.
 * The file is removed on failure.
 */
static int write_pem(const char *path, mode_t mode, int (*fn)(BIO *, void *), void *arg)
{
	BIO *bio = BIO_new(BIO_s_secmem());
	char *data = NULL;
	long len = 0;
	int fd, r = 0;

	if (!bio)
		return -ENOMEM;
	if (!fn(bio, arg) || (len = BIO_get_mem_data(bio, &data)) <= 0) {
		r = JIT_E_CRYPTO;
		goto out;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	for (long off = 0; off < len && r == 0;) {
		ssize_t n = write(fd, data + off, (size_t)(len - off));

		if (n < 0 && errno != EINTR)
			r = -errno;
		else if (n > 0)
			off += n;
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		unlink(path);
out:
	if (data && len > 0)
		OPENSSL_cleanse(data, (size_t)len);
	BIO_free(bio);
	return r;
}

static int write_key(BIO *b, void *arg)
{
	return PEM_write_bio_PrivateKey(b, arg, NULL, NULL, 0, NULL, NULL);
}

static int write_cert(BIO *b, void *arg)
{
	return PEM_write_bio_X509(b, arg);
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

/* Read @path whole; with @secret, only a regular file of ours that no one else may access. */
static int read_file(const char *path, bool secret, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (secret) {
		if (fstat(fd, &st) < 0)
			r = -errno;
		else if (!S_ISREG(st.st_mode))
			r = -EINVAL;
		else if ((st.st_mode & 077) || st.st_uid != geteuid())
			r = JIT_E_PERMISSION;
	}
	buf = r == 0 ? malloc(TLSGEN_PEM_MAX + 1) : NULL;
	if (r == 0 && !buf)
		r = -ENOMEM;
	while (r == 0) {
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
		if (buf)
			OPENSSL_cleanse(buf, len);
		return r;
	}
	buf[len] = 0;
	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

int tlsgen_read_file(const char *path, char **ret, size_t *ret_len)
{
	return read_file(path, false, ret, ret_len);
}

int tlsgen_read_private_file(const char *path, char **ret, size_t *ret_len)
{
	return read_file(path, true, ret, ret_len);
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
