/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "b64.h"
#include "err.h"
#include "request.h"
#include "sig.h"
#include "util.h"

int request_nonce(char **ret)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[REQUEST_NONCE_LEN / 2];
	char *s;

	if (RAND_bytes(raw, sizeof raw) != 1)
		return JIT_E_CRYPTO;
	if (!(s = malloc(REQUEST_NONCE_LEN + 1)))
		return -ENOMEM;
	for (size_t i = 0; i < sizeof raw; i++) {
		s[2 * i] = hex[raw[i] >> 4];
		s[2 * i + 1] = hex[raw[i] & 15];
	}
	s[REQUEST_NONCE_LEN] = 0;
	OPENSSL_cleanse(raw, sizeof raw);
	*ret = s;
	return 0;
}

/* Set @key to a string; -EINVAL for text that is not UTF-8. */
static int put_str(json_t *o, const char *key, const char *v)
{
	if (!v)
		return -EINVAL;
	return json_object_set_new(o, key, json_string(v)) == 0 ? 0 : -EINVAL;
}

static int put_int(json_t *o, const char *key, uint64_t v)
{
	if (v > INT64_MAX)
		return -EINVAL;
	return json_object_set_new(o, key, json_integer((json_int_t)v)) == 0 ? 0 : -ENOMEM;
}

int request_body(const struct request *req, char **ret, size_t *ret_len)
{
	_cleanup_(json_decrefp) json_t *o = json_object();
	char *text;
	size_t len;
	int r;

	if (!o)
		return -ENOMEM;
	if ((r = put_str(o, "user", req->user)) < 0 || (r = put_str(o, "host", req->host)) < 0 ||
	    (r = put_str(o, "login", req->login)) < 0 ||
	    (req->public_key && (r = put_str(o, "public_key", req->public_key)) < 0) ||
	    (req->ttl_sec && (r = put_int(o, "ttl_seconds", req->ttl_sec)) < 0) ||
	    (req->reason && (r = put_str(o, "reason", req->reason)) < 0) ||
	    (r = put_int(o, "timestamp", req->timestamp)) < 0 ||
	    (r = put_str(o, "nonce", req->nonce)) < 0)
		return r;
	if (!(text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)))
		return -ENOMEM;
	len = strlen(text);
	if (len > REQUEST_BODY_MAX) {
		free(text);
		return JIT_E_TOO_LARGE;
	}
	*ret = text;
	*ret_len = len;
	return 0;
}

int request_authorization(const struct signer *s, const char *body, size_t len, char **ret)
{
	_cleanup_free_ uint8_t *blob = NULL;
	_cleanup_free_ char *b64 = NULL;
	size_t blob_len = 0;
	char *h;
	int r;

	if ((r = sig_sign(s, REQUEST_SIG_NAMESPACE, (const uint8_t *)body, len, NULL, &blob,
			  &blob_len)) < 0 ||
	    (r = b64_encode(blob, blob_len, &b64)) < 0)
		return r;
	if (asprintf(&h, "SSHSIG %s", b64) < 0)
		return -ENOMEM;
	*ret = h;
	return 0;
}
