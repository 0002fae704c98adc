/* SPDX-License-Identifier: ISC */
/*
 * http.h - the client's HTTP(S) calls to the CA, through libcurl.
 *
 * TLS trust is either a public-key pin (CURLOPT_PINNEDPUBLICKEY, "sha256//BASE64" of the
 * SHA-256 of the server certificate's DER SubjectPublicKeyInfo; the CA's certificate is
 * self-signed, so with a pin alone the chain and name checks are off and the pin is the
 * check), or a CA bundle (CURLOPT_CAINFO; chain and host name verified), or both. Plain
 * http:// is allowed for loopback hosts only (checked by http_url_check()).
 *
 * curl's codes are translated here, once: callers see errno values and JIT_E_* codes only.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Largest response body we read, bytes; a longer answer is an error. */
#define HTTP_RESPONSE_MAX (64u * 1024u)
/* Time to connect (TCP + TLS), seconds. */
#define HTTP_CONNECT_TIMEOUT_SEC 10L
/* Time for a whole request, seconds, unless the caller asks for longer. */
#define HTTP_TIMEOUT_SEC 60L

/**
 * struct http_tls - how to trust the server (both borrowed; either may be NULL)
 * @pin:       libcurl pin string, several joined with ';'
 * @ca_bundle: PEM file of trusted CA certificates
 */
struct http_tls {
	const char *pin;
	const char *ca_bundle;
};

/**
 * struct http_reply - one response
 * @status: HTTP status code
 * @body:   the body (new; NUL-terminated one byte past @len; never NULL after success)
 * @len:    body length in bytes (at most HTTP_RESPONSE_MAX)
 */
struct http_reply {
	long status;
	char *body;
	size_t len;
};

/** http_reply_clear() - Free the body and zero @r; accepts an already cleared reply. */
void http_reply_clear(struct http_reply *r);

/**
 * http_url_check() - Check a CA base URL
 * @url:       "https://HOST[:PORT][/PATH]" or "http://LOOPBACK[:PORT][/PATH]", no user
 *             name, query or fragment (parsed with libcurl's URL API)
 * @ret_plain: true for an http:// URL (the caller should warn)
 * @ret_why:   on -EINVAL, a new text saying what is wrong
 * Loopback hosts: "localhost", 127.0.0.0/8, ::1.
 * Errors: -EINVAL, -ENOMEM.
 */
int http_url_check(const char *url, bool *ret_plain, char **ret_why);

/**
 * http_url_join() - @base without trailing slashes, then @path (which starts with '/')
 * @ret: new string
 * Errors: -ENOMEM.
 */
int http_url_join(const char *base, const char *path, char **ret);

/**
 * http_post_json() - POST a JSON body
 * @url:           full URL (borrowed)
 * @tls:           trust settings (borrowed)
 * @authorization: value of the Authorization header, or NULL for none (borrowed)
 * @body, @len:    the exact body bytes (sent as Content-Type: application/json)
 * @timeout_sec:   limit for the whole exchange (0 = HTTP_TIMEOUT_SEC)
 * @ret:           the response, whatever its status (cleared before use; caller clears)
 * @ret_error:     on failure, a new one-line text from curl (what failed, e.g.
 *                 "Failed to connect to 127.0.0.1 port 8443: Connection refused")
 * Errors: -ECONNREFUSED (cannot connect), -EHOSTUNREACH (name does not resolve),
 * -ETIMEDOUT, -EINTR (a tick function asked to stop, http_get_ticking()), -EKEYREJECTED (the
 * server's key does not match the pin), -EPROTO (TLS handshake or certificate verification failed),
 * -ENOENT (CA bundle unreadable), JIT_E_TOO_LARGE (response over HTTP_RESPONSE_MAX), -EIO (other
 * transfer failures), -ENOMEM.
 */
int http_post_json(const char *url, const struct http_tls *tls, const char *authorization,
		   const char *body, size_t len, long timeout_sec, struct http_reply *ret,
		   char **ret_error);

/**
 * http_get() - GET @url; otherwise as http_post_json()
 */
int http_get(const char *url, const struct http_tls *tls, long timeout_sec, struct http_reply *ret,
	     char **ret_error);

/**
 * http_tick_fn - called about once a second while a request is in progress (libcurl's
 * CURLOPT_XFERINFOFUNCTION, which libcurl calls at least once a second even while no data
 * moves), in the calling thread
 * @userdata: as given to http_get_ticking()
 * Return: 0 to go on; anything else stops the request, which then fails with -EINTR.
 */
typedef int (*http_tick_fn)(void *userdata);

/**
 * http_get_ticking() - http_get(), calling @tick (borrowed, not NULL) with @userdata while
 * it waits, e.g. to redraw a status line or to stop on Ctrl-C
 */
int http_get_ticking(const char *url, const struct http_tls *tls, long timeout_sec,
		     http_tick_fn tick, void *userdata, struct http_reply *ret, char **ret_error);
