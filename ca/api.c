/* SPDX-License-Identifier: ISC */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "api.h"
#include "config.h"
#include "err.h"
#include "issue.h"
#include "names.h"
#include "request.h"
#include "util.h"

/* The principal format as GET /v1/ca describes it (names.h principal_format()). */
#define PRINCIPAL_FORMAT_TEXT PRINCIPAL_PREFIX "{host}:{login}"

/* GnuTLS priorities: TLS 1.3, and TLS 1.2 with AEAD ciphers only (no CBC, no SHA-1 MACs). */
#define API_TLS_PRIORITIES                                                                         \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:"        \
	"+CHACHA20-POLY1305:-MAC-ALL:+AEAD"

struct api {
	struct MHD_Daemon *daemon;
	struct api_options o;
	struct signer ca;
	char *ca_line;
	char *ca_fingerprint;
	uint16_t port;
	_Atomic bool chain_ok;
	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t idle;
	unsigned in_flight;
	struct policy *policy;
	uint64_t policy_loaded_at;
	uint64_t policy_generation;
	uint64_t policy_reload_attempts;
	uint64_t policy_reload_failed_at; /* 0 after a successful reload */
	unsigned policy_reload_errors;
};

/* Per-request state, from the first call of the handler to the completion callback. */
struct conn {
	char request_id[REQUEST_ID_LEN + 1];
	uint8_t *body;
	size_t len;
	size_t discarded;
	bool too_large;
	bool answered;
};

/* What the request's log line says. */
struct logline {
	const char *result;
	const struct request *req; /* authenticated: its user, host and login are logged */
	const char *claimed_user;  /* not authenticated: only the name it claims */
	uint64_t serial;
};

static uint64_t now_sec(void)
{
	return (uint64_t)time(NULL);
}

/* The method as it may be echoed: an upper-case token of at most 16 letters. */
static const char *method_text(const char *m)
{
	size_t n = strlen(m);

	if (n == 0 || n > 16)
		return "(other)";
	for (size_t i = 0; i < n; i++)
		if (m[i] < 'A' || m[i] > 'Z')
			return "(other)";
	return m;
}

/* The path as it may be logged: a route of ours, never arbitrary client text. */
static const char *path_text(const char *url)
{
	if (!strcmp(url, "/v1/requests") || !strcmp(url, "/v1/explain") || !strcmp(url, "/v1/ca") ||
	    !strcmp(url, "/healthz"))
		return url;
	if (!strncmp(url, "/v1/requests/", 13))
		return request_id_valid(url + 13) ? url : "/v1/requests/(invalid)";
	return "(unknown)";
}

static void client_address(struct MHD_Connection *c, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci;

	buf[0] = 0;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!ci || !ci->client_addr)
		return;
	if (ci->client_addr->sa_family == AF_INET)
		inet_ntop(AF_INET,
			  &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr,
			  buf, (socklen_t)len);
	else if (ci->client_addr->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
			  &((const struct sockaddr_in6 *)(const void *)ci->client_addr)->sin6_addr,
			  buf, (socklen_t)len);
}

static void log_request(struct api *a, struct MHD_Connection *c, const char *method,
			const char *url, unsigned status, const struct conn *cn,
			const struct logline *l)
{
	char stamp[32], addr[INET6_ADDRSTRLEN], serial[32] = "";
	struct tm tm;
	time_t t = time(NULL);

	if (!a->o.log)
		return;
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	client_address(c, addr, sizeof(addr));
	if (l->serial)
		snprintf(serial, sizeof(serial), " serial=%llu", (unsigned long long)l->serial);
	/* Only validated names and our own routes are logged, never client text as sent. */
	fprintf(a->o.log,
		"%s jit-ssh-ca: request_id=%s client=%s method=%s path=%s status=%u result=%s"
		"%s%s%s%s%s%s%s%s%s\n",
		stamp, cn->request_id, addr[0] ? addr : "-", method_text(method), path_text(url),
		status, l->result, l->req ? " user=" : "", l->req ? l->req->user : "",
		l->req ? " host=" : "", l->req ? l->req->host : "", l->req ? " login=" : "",
		l->req ? l->req->login : "", l->claimed_user ? " claimed_user=" : "",
		l->claimed_user ? l->claimed_user : "", serial);
	fflush(a->o.log);
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *body,
				 const char *allow)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *text;

	text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	if (!text) {
		text = strdup("{\"error\":\"internal\",\"message\":\"out of memory\"}");
		status = 500;
		if (!text)
			return MHD_NO;
	}
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static json_t *error_body(const struct request_error *e)
{
	return json_pack("{s:s, s:s}", "error", e->code, "message", e->message);
}

static enum MHD_Result send_error(struct api *a, struct MHD_Connection *c, const char *method,
				  const char *url, struct conn *cn, const struct request_error *e,
				  const struct request *req, const char *allow)
{
	_cleanup_(json_decrefp) json_t *body = error_body(e);
	struct logline l = {.result = e->code, .req = req};

	cn->answered = true;
	log_request(a, c, method, url, e->status, cn, &l);
	return send_json(c, e->status, body, allow);
}

/*
 * The answer to a request that failed the checks of authenticate(): the names it carries
 * are not proven, so the log gives only the user it claims to be.
 */
static enum MHD_Result send_auth_error(struct api *a, struct MHD_Connection *c, const char *url,
				       struct conn *cn, const struct request_error *e,
				       const struct request *claimed)
{
	_cleanup_(json_decrefp) json_t *body = error_body(e);
	struct logline l = {.result = e->code, .claimed_user = claimed ? claimed->user : NULL};

	cn->answered = true;
	log_request(a, c, "POST", url, e->status, cn, &l);
	return send_json(c, e->status, body, NULL);
}

/* A ledger that reports a broken chain turns "ledger_chain_ok" false until restart. */
static void note_ledger_error(struct api *a, int r)
{
	if (r == JIT_E_LEDGER_CORRUPT)
		atomic_store(&a->chain_ok, false);
}

static void policy_unrefp(struct policy **p)
{
	policy_unref(*p);
}

struct policy *api_policy_get(struct api *a)
{
	struct policy *p;

	pthread_mutex_lock(&a->lock);
	p = policy_ref(a->policy);
	pthread_mutex_unlock(&a->lock);
	return p;
}

void api_policy_set(struct api *a, struct policy *p, uint64_t now)
{
	struct policy *old;

	policy_ref(p);
	pthread_mutex_lock(&a->lock);
	old = a->policy;
	a->policy = p;
	a->policy_loaded_at = now;
	a->policy_generation++;
	a->policy_reload_attempts++;
	a->policy_reload_failed_at = 0;
	a->policy_reload_errors = 0;
	pthread_mutex_unlock(&a->lock);
	/* Requests still holding the old policy keep it alive until they finish. */
	policy_unref(old);
}

void api_policy_failed(struct api *a, uint64_t now, unsigned n_errors)
{
	pthread_mutex_lock(&a->lock);
	a->policy_reload_attempts++;
	a->policy_reload_failed_at = now ? now : 1;
	a->policy_reload_errors = n_errors ? n_errors : 1;
	pthread_mutex_unlock(&a->lock);
}

static bool media_type_is_json(const char *ct)
{
	static const char json[] = "application/json";

	if (!ct || strncasecmp(ct, json, sizeof(json) - 1) != 0)
		return false;
	ct += sizeof(json) - 1;
	ct += strspn(ct, " \t");
	return *ct == 0 || *ct == ';';
}

/*
 * The checks POST /v1/requests and POST /v1/explain share, in this order: size, media type,
 * body, signature over the exact bytes by an enrolled key of the named user (under @p),
 * timestamp window, nonce (claimed durably). Fills @ret_req and @ret_key_fp, or @e.
 */
static int authenticate(struct api *a, struct MHD_Connection *c, struct conn *cn,
			const struct policy *p, unsigned parse_flags, struct request **ret_req,
			char **ret_key_fp, struct request_error *e)
{
	_cleanup_(request_freep) struct request *req = NULL;
	_cleanup_(key_freep) struct key *user_key = NULL;
	_cleanup_free_ uint8_t *sig = NULL;
	uint64_t now = now_sec();
	size_t siglen;
	int r;

	if (cn->too_large)
		return request_error_set(e, JIT_E_TOO_LARGE, 413, "body_too_large",
					 "request body is larger than %u bytes", REQUEST_BODY_MAX);
	if (!media_type_is_json(
		    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE)))
		return request_error_set(e, -EINVAL, 415, "unsupported_media_type",
					 "Content-Type must be application/json");
	if ((r = request_parse_flags(cn->body, cn->len, parse_flags, &req, e)) < 0)
		return r;
	if ((r = request_parse_authorization(
		     MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
		     &sig, &siglen, e)) < 0 ||
	    (r = request_authenticate(req, cn->body, cn->len, sig, siglen, p, &user_key, e)) < 0 ||
	    (r = request_check_time(req, now, a->o.clock_window_sec, e)) < 0 ||
	    (r = request_claim_nonce(req, a->o.ledger, now, a->o.clock_window_sec, e)) < 0) {
		note_ledger_error(a, r);
		/* For the log's claimed_user (the names were validated when the body parsed). */
		*ret_req = TAKE_PTR(req);
		return r;
	}
	if ((r = key_fingerprint(user_key, ret_key_fp)) < 0) {
		*ret_req = TAKE_PTR(req);
		return request_error_set(e, r, 500, "internal",
					 "fingerprinting the signing key: %s", jit_strerror(r));
	}
	*ret_req = TAKE_PTR(req);
	return 0;
}

/* POST /v1/requests, once the whole body is in. */
static enum MHD_Result post_request(struct api *a, struct MHD_Connection *c, const char *url,
				    struct conn *cn)
{
	_cleanup_(policy_unrefp) struct policy *pol = api_policy_get(a);
	_cleanup_(request_freep) struct request *req = NULL;
	_cleanup_(json_decrefp) json_t *body = NULL;
	_cleanup_free_ char *user_fp = NULL;
	struct request_error e = {0};
	struct logline l = {0};
	char addr[INET6_ADDRSTRLEN];
	uint64_t seq = 0;
	unsigned status;
	int r;

	if (authenticate(a, c, cn, pol, 0, &req, &user_fp, &e) < 0)
		return send_auth_error(a, c, url, cn, &e, req);

	client_address(c, addr, sizeof(addr));
	struct issue_ctx ictx = {
		.policy = pol,
		.ledger = a->o.ledger,
		.ca = &a->ca,
		.ca_fingerprint = a->ca_fingerprint,
		.skew_sec = a->o.skew_sec,
		.max_ttl_sec = a->o.max_ttl_sec,
	};
	struct issue_input in = {
		.req = req,
		.request_id = cn->request_id,
		.user_key_fp = user_fp,
		.client_addr = addr[0] ? addr : NULL,
		.now = now_sec(),
	};
	if ((r = issue_request(&ictx, &in, &seq, &body, &e)) < 0) {
		note_ledger_error(a, r);
		return send_error(a, c, "POST", url, cn, &e, req, NULL);
	}
	status = issue_answer_status(body);
	l.result = status == 201 ? "issued" : "denied";
	l.req = req;
	l.serial = (uint64_t)json_integer_value(json_object_get(body, "serial"));
	cn->answered = true;
	log_request(a, c, "POST", url, status, cn, &l);
	return send_json(c, status, body, NULL);
}

/* POST /v1/explain: authenticated like a request; the decision, the open logins and the
 * denied ones. */
static enum MHD_Result post_explain(struct api *a, struct MHD_Connection *c, const char *url,
				    struct conn *cn)
{
	_cleanup_(policy_unrefp) struct policy *pol = api_policy_get(a);
	_cleanup_(request_freep) struct request *req = NULL;
	_cleanup_(policy_decision_freep) struct policy_decision *d = NULL;
	_cleanup_free_ struct policy_open_login *open = NULL;
	_cleanup_(json_decrefp) json_t *decision = NULL;
	_cleanup_(json_decrefp) json_t *open_json = NULL;
	_cleanup_(json_decrefp) json_t *denied_json = NULL;
	_cleanup_(json_decrefp) json_t *body = NULL;
	_cleanup_free_ char *user_fp = NULL;
	struct request_error e = {0};
	struct logline l = {.result = "explained"};
	char addr[INET6_ADDRSTRLEN];
	size_t n = 0, denied_more = 0;
	int r;

	if (authenticate(a, c, cn, pol, REQUEST_PARSE_KEY_OPTIONAL, &req, &user_fp, &e) < 0)
		return send_auth_error(a, c, url, cn, &e, req);
	client_address(c, addr, sizeof(addr));
	struct policy_request pr = {
		.user = req->user,
		.host = req->host,
		.login = req->login,
		.ttl_sec = req->ttl_sec,
		.reason = req->reason,
		.client_addr = addr[0] ? addr : NULL,
		.now = now_sec(),
	};
	if ((r = issue_explain(pol, &pr, a->o.max_ttl_sec, &d, &open, &n)) < 0 ||
	    (r = policy_explain_json(&pr, d, &decision)) < 0 ||
	    (r = issue_open_logins_json(open, n, &open_json, &denied_json, &denied_more)) < 0 ||
	    !(body = json_pack("{s:O, s:O, s:O, s:I}", "decision", decision, "open", open_json,
			       "denied", denied_json, "denied_more", (json_int_t)denied_more))) {
		request_error_set(&e, r < 0 ? r : -ENOMEM, 500, "internal",
				  "explaining the decision: %s", jit_strerror(r < 0 ? r : -ENOMEM));
		return send_error(a, c, "POST", url, cn, &e, req, NULL);
	}
	l.req = req;
	cn->answered = true;
	log_request(a, c, "POST", url, 200, cn, &l);
	return send_json(c, 200, body, NULL);
}

static enum MHD_Result get_request(struct api *a, struct MHD_Connection *c, const char *url,
				   struct conn *cn)
{
	_cleanup_(json_decrefp) json_t *events = NULL;
	_cleanup_(json_decrefp) json_t *body = NULL;
	const char *id = url + strlen("/v1/requests/");
	struct request_error e = {0};
	struct logline l = {0};
	unsigned status;
	int r;

	r = request_id_valid(id) ? ledger_request_events(a->o.ledger, id, &events)
				 : JIT_E_NOT_FOUND;
	if (r == 0)
		r = issue_answer_from_events(events, &body);
	if (r == JIT_E_NOT_FOUND) {
		request_error_set(&e, r, 404, "not_found", "no request with that ID");
		return send_error(a, c, "GET", url, cn, &e, NULL, NULL);
	}
	if (r < 0) {
		request_error_set(&e, r, 503, "ledger_unavailable", "the ledger cannot be read: %s",
				  jit_strerror(r));
		return send_error(a, c, "GET", url, cn, &e, NULL, NULL);
	}
	l.result = json_string_value(json_object_get(body, "state"));
	l.serial = (uint64_t)json_integer_value(json_object_get(body, "serial"));
	/* Its "state" tells issued, denied and cancelled apart; finding the request is a 200. */
	status = 200;
	cn->answered = true;
	log_request(a, c, "GET", url, status, cn, &l);
	return send_json(c, status, body, NULL);
}

static enum MHD_Result send_ok(struct api *a, struct MHD_Connection *c, const char *url,
			       struct conn *cn, json_t *body)
{
	struct logline l = {.result = "ok"};

	cn->answered = true;
	log_request(a, c, "GET", url, 200, cn, &l);
	return send_json(c, 200, body, NULL);
}

static enum MHD_Result get_healthz(struct api *a, struct MHD_Connection *c, const char *url,
				   struct conn *cn)
{
	_cleanup_(json_decrefp) json_t *body = NULL;
	_cleanup_free_ char *failed = NULL;
	struct request_error e = {0};
	bool reload_failed;
	uint64_t records = 0;
	int r;

	if ((r = ledger_count(a->o.ledger, &records)) < 0) {
		request_error_set(&e, r, 503, "ledger_unavailable", "the ledger cannot be read: %s",
				  jit_strerror(r));
		return send_error(a, c, "GET", url, cn, &e, NULL, NULL);
	}
	pthread_mutex_lock(&a->lock);
	/* Unauthenticated: the outcome of the last reload, never the loader's messages (they
	 * name users, groups, rules and paths); those go to the log and to `reload`. */
	reload_failed = a->policy_reload_failed_at != 0;
	if (reload_failed &&
	    asprintf(&failed,
		     "the last reload failed with %u error%s; the CA's log and "
		     "`jit-ssh-ca reload` give them",
		     a->policy_reload_errors, a->policy_reload_errors == 1 ? "" : "s") < 0)
		failed = NULL;
	/* clang-format off */
	body = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s?, s:o, s:I, s:I, s:b}",
			 "status", "ok",
			 "policy_version", policy_version(a->policy),
			 "policy_loaded_at", (json_int_t)a->policy_loaded_at,
			 "policy_generation", (json_int_t)a->policy_generation,
			 "policy_reload_attempts", (json_int_t)a->policy_reload_attempts,
			 "policy_reload_error", failed,
			 "policy_reload_failed_at", a->policy_reload_failed_at
				? json_integer((json_int_t)a->policy_reload_failed_at)
				: json_null(),
			 "policy_reload_errors", (json_int_t)a->policy_reload_errors,
			 "ledger_records", (json_int_t)records,
			 "ledger_chain_ok", (int)atomic_load(&a->chain_ok));
	/* clang-format on */
	pthread_mutex_unlock(&a->lock);
	if (!body || (reload_failed && !failed)) {
		request_error_set(&e, -ENOMEM, 500, "internal", "building the answer: %s",
				  jit_strerror(-ENOMEM));
		return send_error(a, c, "GET", url, cn, &e, NULL, NULL);
	}
	return send_ok(a, c, url, cn, body);
}

static enum MHD_Result route(struct api *a, struct MHD_Connection *c, const char *url,
			     const char *method, struct conn *cn)
{
	_cleanup_(json_decrefp) json_t *body = NULL;
	struct request_error e = {0};
	bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
	const char *allow = NULL;

	if (!strcmp(url, "/v1/requests")) {
		if (post)
			return post_request(a, c, url, cn);
		allow = "POST";
	} else if (!strncmp(url, "/v1/requests/", 13)) {
		if (get)
			return get_request(a, c, url, cn);
		allow = "GET";
	} else if (!strcmp(url, "/v1/explain")) {
		if (post)
			return post_explain(a, c, url, cn);
		allow = "POST";
	} else if (!strcmp(url, "/v1/ca")) {
		if (get) {
			body = json_pack("{s:[s], s:s}", "keys", a->ca_line, "principal_format",
					 PRINCIPAL_FORMAT_TEXT);
			return send_ok(a, c, url, cn, body);
		}
		allow = "GET";
	} else if (!strcmp(url, "/healthz")) {
		if (get)
			return get_healthz(a, c, url, cn);
		allow = "GET";
	}
	if (allow) {
		request_error_set(&e, -EINVAL, 405, "method_not_allowed",
				  "method %s is not allowed here (allowed: %s)",
				  method_text(method), allow);
		return send_error(a, c, method, url, cn, &e, NULL, allow);
	}
	request_error_set(&e, JIT_E_NOT_FOUND, 404, "not_found", "no such resource");
	return send_error(a, c, method, url, cn, &e, NULL, NULL);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload_data,
			       size_t *upload_data_size, void **con_cls)
{
	struct api *a = cls;
	struct conn *cn = *con_cls;
	const char *cl;

	(void)version;
	if (!cn) {
		cn = calloc(1, sizeof(*cn));
		if (!cn || request_id_new(cn->request_id) < 0) {
			free(cn);
			return MHD_NO;
		}
		pthread_mutex_lock(&a->lock);
		a->in_flight++;
		pthread_mutex_unlock(&a->lock);
		*con_cls = cn;
		/* A declared length over the cap is refused before any of the body is read. */
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						 MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > REQUEST_BODY_MAX) {
			cn->too_large = true;
			return route(a, c, url, method, cn);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (cn->answered)
			return MHD_YES;
		if (cn->too_large || n > REQUEST_BODY_MAX - cn->len) {
			/*
			 * libmicrohttpd takes a response only before or after the body, so an
			 * oversize body without Content-Length is read and dropped up to
			 * API_DISCARD_MAX, answered with 413 at its end, or cut off past that.
			 */
			free(cn->body);
			cn->body = NULL;
			cn->too_large = true;
			cn->discarded += n;
			if (cn->discarded > API_DISCARD_MAX) {
				struct logline l = {.result = "body_too_large"};

				cn->answered = true;
				log_request(a, c, method, url, 413, cn, &l);
				return MHD_NO;
			}
			return MHD_YES;
		}
		uint8_t *nb = realloc(cn->body, cn->len + n);
		if (!nb)
			return MHD_NO;
		memcpy(nb + cn->len, upload_data, n);
		cn->body = nb;
		cn->len += n;
		return MHD_YES;
	}
	if (cn->answered)
		return MHD_YES;
	return route(a, c, url, method, cn);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct api *a = cls;
	struct conn *cn = *con_cls;

	(void)c;
	(void)toe;
	if (!cn)
		return;
	free(cn->body);
	free(cn);
	*con_cls = NULL;
	pthread_mutex_lock(&a->lock);
	if (--a->in_flight == 0)
		pthread_cond_broadcast(&a->idle);
	pthread_mutex_unlock(&a->lock);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct api *a = cls;

	if (!a->o.log)
		return;
	fputs("jit-ssh-ca: http: ", a->o.log);
	vfprintf(a->o.log, fmt, ap);
	fflush(a->o.log);
}

static struct api *api_free(struct api *a)
{
	if (!a)
		return NULL;
	free(a->ca_line);
	free(a->ca_fingerprint);
	policy_unref(a->policy);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->idle);
	free(a);
	return NULL;
}

static void api_freep(struct api **a)
{
	api_free(*a);
}

int api_start(const struct api_options *o, struct api **ret)
{
	_cleanup_(api_freep) struct api *a = NULL;
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	const union MHD_DaemonInfo *di;
	unsigned flags =
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	int r;

	if (inet_pton(AF_INET, o->listen, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(o->port);
	} else if (inet_pton(AF_INET6, o->listen, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(o->port);
		flags |= MHD_USE_IPv6;
	} else {
		return -EINVAL;
	}
	if (o->plain_http ? !config_address_is_loopback(o->listen)
			  : !o->tls_cert_pem || !o->tls_key_pem)
		return -EINVAL;
	if (o->per_ip_connection_limit > API_CONNECTIONS_MAX)
		return -EINVAL;
	if (!o->plain_http)
		flags |= MHD_USE_TLS;

	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->idle, NULL);
	a->o = *o;
	a->ca = key_signer(o->ca_key);
	a->policy = policy_ref(o->policy);
	a->policy_loaded_at = o->policy_loaded_at;
	a->policy_generation = 1;
	atomic_store(&a->chain_ok, o->ledger_chain_ok);
	if ((r = key_to_line(o->ca_key, NULL, &a->ca_line)) < 0 ||
	    (r = key_fingerprint(o->ca_key, &a->ca_fingerprint)) < 0)
		return r;

	unsigned threads = o->threads ? o->threads : API_THREADS_DEFAULT;
	unsigned per_ip = o->per_ip_connection_limit ? o->per_ip_connection_limit
						     : API_PER_IP_CONNECTIONS_DEFAULT;
	unsigned timeout = o->connection_timeout_sec ? o->connection_timeout_sec
						     : API_CONNECTION_TIMEOUT_DEFAULT_SEC;
	struct MHD_OptionItem opts[] = {
		{MHD_OPTION_SOCK_ADDR, 0, &ss},
		{MHD_OPTION_THREAD_POOL_SIZE, threads, NULL},
		{MHD_OPTION_CONNECTION_LIMIT, API_CONNECTIONS_MAX, NULL},
		{MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip, NULL},
		{MHD_OPTION_CONNECTION_TIMEOUT, timeout, NULL},
		{MHD_OPTION_CONNECTION_MEMORY_LIMIT, API_CONNECTION_MEMORY_MAX, NULL},
		{MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, a},
		/* TLS last, so that plain HTTP can end the list here. */
		{MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)o->tls_key_pem},
		{MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)o->tls_cert_pem},
		{MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)API_TLS_PRIORITIES},
		{MHD_OPTION_END, 0, NULL},
	};
	for (size_t i = 0; o->plain_http && opts[i].option != MHD_OPTION_END; i++)
		if (opts[i].option == MHD_OPTION_HTTPS_MEM_KEY)
			opts[i].option = MHD_OPTION_END;

	errno = 0;
	/* The logger first, so that libmicrohttpd logs nothing past it. */
	a->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handler, a, MHD_OPTION_EXTERNAL_LOGGER,
				     mhd_log, a, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (!a->daemon)
		return errno ? -errno : JIT_E_CRYPTO;
	di = MHD_get_daemon_info(a->daemon, MHD_DAEMON_INFO_BIND_PORT);
	a->port = di ? di->port : o->port;
	*ret = TAKE_PTR(a);
	return 0;
}

uint16_t api_port(const struct api *a)
{
	return a->port;
}

struct api *api_stop(struct api *a)
{
	struct timespec deadline;
	MHD_socket fd;

	if (!a)
		return NULL;
	fd = MHD_quiesce_daemon(a->daemon);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += API_DRAIN_SEC;
	pthread_mutex_lock(&a->lock);
	while (a->in_flight > 0)
		if (pthread_cond_timedwait(&a->idle, &a->lock, &deadline) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&a->lock);
	MHD_stop_daemon(a->daemon);
	return api_free(a);
}
