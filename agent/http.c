/* SPDX-License-Identifier: ISC */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "err.h"
#include "http.h"
#include "util.h"

#ifndef JIT_SSH_VERSION
#define JIT_SSH_VERSION "unknown"
#endif

void http_reply_clear(struct http_reply *r)
{
	free(r->body);
	*r = (struct http_reply){0};
}

static bool host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (strcmp(host, "[::1]") == 0)
		return true;
	return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

static int why(char **ret_why, const char *text)
{
	char *s = strdup(text);

	if (!s)
		return -ENOMEM;
	*ret_why = s;
	return -EINVAL;
}

int http_url_check(const char *url, bool *ret_plain, char **ret_why)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *part = NULL;
	bool plain = false;
	int r = 0;

	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		r = why(ret_why, "not a URL such as https://ca.example.com:8443");
		goto out;
	}
	if (strcmp(scheme, "http") == 0) {
		plain = true;
		if (!host_is_loopback(host)) {
			r = why(ret_why, "plain http:// is only allowed to a loopback address "
					 "(localhost, 127.0.0.1, ::1); use https://");
			goto out;
		}
	} else if (strcmp(scheme, "https") != 0) {
		r = why(ret_why, "the scheme must be https://");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK) {
		r = why(ret_why, "a user name or password does not belong in the CA URL");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK) {
		r = why(ret_why, "a query or fragment does not belong in the CA URL");
		goto out;
	}
	*ret_plain = plain;
out:
	curl_free(part);
	curl_free(host);
	curl_free(scheme);
	curl_url_cleanup(u);
	return r;
}

int http_url_join(const char *base, const char *path, char **ret)
{
	size_t n = strlen(base);
	char *s;

	while (n > 0 && base[n - 1] == '/')
		n--;
	if (asprintf(&s, "%.*s%s", (int)n, base, path) < 0)
		return -ENOMEM;
	*ret = s;
	return 0;
}

struct sink {
	char *buf;
	size_t len;
	bool too_large;
};

static size_t sink_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct sink *s = userdata;
	size_t n = size * nmemb;
	char *nb;

	if (n > HTTP_RESPONSE_MAX - s->len) {
		s->too_large = true;
		return 0; /* makes curl stop with CURLE_WRITE_ERROR */
	}
	if (!(nb = realloc(s->buf, s->len + n + 1)))
		return 0;
	memcpy(nb + s->len, data, n);
	s->len += n;
	nb[s->len] = 0;
	s->buf = nb;
	return n;
}

static int translate(CURLcode c)
{
	switch (c) {
	case CURLE_OK:
		return 0;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		return -EKEYREJECTED;
	case CURLE_SSL_CACERT_BADFILE:
		return -ENOENT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_USE_SSL_FAILED:
		return -EPROTO;
	case CURLE_ABORTED_BY_CALLBACK:
		return -EINTR;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

static int add_header(struct curl_slist **list, const char *line)
{
	struct curl_slist *l = curl_slist_append(*list, line);

	if (!l)
		return -ENOMEM;
	*list = l;
	return 0;
}

/* The TLS trust settings: a pin, a CA bundle, or both. */
static CURLcode set_tls(CURL *c, const struct http_tls *tls)
{
	CURLcode cc = CURLE_OK;

	if (tls->pin && (cc = curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, tls->pin)))
		return cc;
	if (tls->ca_bundle) {
		if ((cc = curl_easy_setopt(c, CURLOPT_CAINFO, tls->ca_bundle)) ||
		    (cc = curl_easy_setopt(c, CURLOPT_CAPATH, NULL)))
			return cc;
	} else if (tls->pin) {
		/*
		 * The CA's certificate is self-signed, so the pin alone decides. libcurl
		 * checks a pin even with chain and name verification off.
		 */
		if ((cc = curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L)) ||
		    (cc = curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L)))
			return cc;
	}
	return cc;
}

struct ticker {
	http_tick_fn fn;
	void *userdata;
};

static int xferinfo(void *p, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		    curl_off_t ulnow)
{
	const struct ticker *t = p;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return t->fn(t->userdata) ? 1 : 0;
}

static CURLcode set_ticker(CURL *c, const struct ticker *t)
{
	CURLcode cc;

	if (!t->fn)
		return CURLE_OK;
	if ((cc = curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, xferinfo)) ||
	    (cc = curl_easy_setopt(c, CURLOPT_XFERINFODATA, t)))
		return cc;
	return curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
}

static int perform(const char *url, const struct http_tls *tls, const char *authorization,
		   const char *body, size_t len, long timeout_sec, const struct ticker *tick,
		   struct http_reply *ret, char **ret_error)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	_cleanup_free_ char *auth = NULL;
	struct sink sink = {0};
	CURL *c;
	CURLcode cc;
	long status = 0;
	int r;

	http_reply_clear(ret);
	if (!(c = curl_easy_init()))
		return -ENOMEM;
	if (authorization && asprintf(&auth, "Authorization: %s", authorization) < 0) {
		auth = NULL;
		r = -ENOMEM;
		goto out;
	}
	/* "Expect:" switches 100-continue off: the body is small and goes at once. */
	if ((r = add_header(&headers, "Accept: application/json")) < 0 ||
	    (r = add_header(&headers, "Expect:")) < 0 ||
	    (body && (r = add_header(&headers, "Content-Type: application/json")) < 0) ||
	    (auth && (r = add_header(&headers, auth)) < 0))
		goto out;

	if ((cc = curl_easy_setopt(c, CURLOPT_URL, url)) ||
	    (cc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https")) ||
	    (cc = curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf)) ||
	    (cc = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L)) ||
	    (cc = curl_easy_setopt(c, CURLOPT_USERAGENT, "jit-ssh/" JIT_SSH_VERSION)) ||
	    (cc = curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers)) ||
	    (cc = curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, HTTP_CONNECT_TIMEOUT_SEC)) ||
	    (cc = curl_easy_setopt(c, CURLOPT_TIMEOUT,
				   timeout_sec > 0 ? timeout_sec : HTTP_TIMEOUT_SEC)) ||
	    (cc = curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)HTTP_RESPONSE_MAX)) ||
	    (cc = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write)) ||
	    (cc = curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink)) ||
	    (cc = curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2)) ||
	    (body && (cc = curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len))) ||
	    (body && (cc = curl_easy_setopt(c, CURLOPT_POSTFIELDS, body))) ||
	    (cc = set_tls(c, tls)) || (cc = set_ticker(c, tick)) || (cc = curl_easy_perform(c))) {
		bool big = sink.too_large || cc == CURLE_FILESIZE_EXCEEDED;
		r = big ? JIT_E_TOO_LARGE : translate(cc);
		if (ret_error)
			*ret_error = strdup(big		? "the answer is larger than 64 KiB"
					    : errbuf[0] ? errbuf
							: curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (!sink.buf && !(sink.buf = calloc(1, 1))) {
		r = -ENOMEM;
		goto out;
	}
	ret->status = status;
	ret->body = TAKE_PTR(sink.buf);
	ret->len = sink.len;
	r = 0;
out:
	free(sink.buf);
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	return r;
}

int http_post_json(const char *url, const struct http_tls *tls, const char *authorization,
		   const char *body, size_t len, long timeout_sec, struct http_reply *ret,
		   char **ret_error)
{
	struct ticker none = {0};

	return perform(url, tls, authorization, body, len, timeout_sec, &none, ret, ret_error);
}

int http_get(const char *url, const struct http_tls *tls, long timeout_sec, struct http_reply *ret,
	     char **ret_error)
{
	struct ticker none = {0};

	return perform(url, tls, NULL, NULL, 0, timeout_sec, &none, ret, ret_error);
}

int http_get_ticking(const char *url, const struct http_tls *tls, long timeout_sec,
		     http_tick_fn tick, void *userdata, struct http_reply *ret, char **ret_error)
{
	struct ticker t = {.fn = tick, .userdata = userdata};

	return perform(url, tls, NULL, NULL, 0, timeout_sec, &t, ret, ret_error);
}
