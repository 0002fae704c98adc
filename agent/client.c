/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "agentc.h"
#include "cert.h"
#include "client.h"
#include "err.h"
#include "explain.h"
#include "http.h"
#include "key.h"
#include "opts.h"
#include "request.h"
#include "response.h"
#include "store.h"
#include "util.h"

#ifndef JIT_SSH_VERSION
#define JIT_SSH_VERSION "unknown"
#endif

/* Print "jit-ssh: MESSAGE" on stderr; returns @code. */
static int say(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int say(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("jit-ssh: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

static uint64_t now_sec(void)
{
	time_t t = time(NULL);

	return t < 0 ? 0 : (uint64_t)t;
}

char **client_argv_free(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
	return NULL;
}

static void argv_freep(char ***argv)
{
	client_argv_free(*argv);
}

/* "-o NAME=VALUE" value for ssh: '%' doubled, quoted when it holds blanks. */
static int ssh_path_option(const char *name, const char *path, char **ret)
{
	size_t n = 0;
	bool blank = false;
	char *s, *p;

	for (const char *c = path; *c; c++) {
		if (*c == '"' || *c == '\\' || *c == '$' || (unsigned char)*c < 0x20 || *c == 0x7f)
			return -EINVAL;
		blank |= *c == ' ';
		n += *c == '%' ? 2 : 1;
	}
	if (!(s = malloc(strlen(name) + n + 4)))
		return -ENOMEM;
	p = stpcpy(stpcpy(s, name), blank ? "=\"" : "=");
	for (const char *c = path; *c; c++) {
		*p++ = *c;
		if (*c == '%')
			*p++ = '%';
	}
	strcpy(p, blank ? "\"" : "");
	*ret = s;
	return 0;
}

int client_ssh_argv(const struct opts *o, const char *pub_path, const char *cert_path, char ***ret)
{
	_cleanup_(argv_freep) char **v = NULL;
	size_t n = 0, max = 12 + o->n_ssh_args + o->n_command;
	int r;

	if (!(v = calloc(max + 1, sizeof *v)))
		return -ENOMEM;
#define PUSH(s)                                                                                    \
	do {                                                                                       \
		if (!(v[n++] = strdup(s)))                                                         \
			return -ENOMEM;                                                            \
	} while (0)
	PUSH(o->ssh);
	PUSH("-o");
	PUSH("IdentitiesOnly=yes");
	PUSH("-o");
	if ((r = ssh_path_option("IdentityFile", pub_path, &v[n++])) < 0)
		return r;
	PUSH("-o");
	if ((r = ssh_path_option("CertificateFile", cert_path, &v[n++])) < 0)
		return r;
	for (size_t i = 0; i < o->n_ssh_args; i++)
		PUSH(o->ssh_args[i]);
	PUSH("-l");
	PUSH(o->login);
	if (o->n_command > 0 && o->command[0][0] == '-')
		PUSH("--");
	PUSH(o->host_arg);
	for (size_t i = 0; i < o->n_command; i++)
		PUSH(o->command[i]);
#undef PUSH
	*ret = TAKE_PTR(v);
	return 0;
}

/* One exchange with the CA failed before any answer: say why; returns the exit status. */
static int transport_failure(const struct opts *o, const char *url, int r, const char *why)
{
	switch (r) {
	case -EKEYREJECTED:
		return say(
			CLIENT_EXIT_UNREACHABLE,
			"TLS pin mismatch: the server at %s does not have the CA key pinned as "
			"%s. Check the URL and the pin (`jit-ssh-ca init` printed it); if the CA's "
			"TLS key was replaced, get the new pin from its operator.",
			url, o->pin);
	case -EPROTO:
		return say(CLIENT_EXIT_UNREACHABLE, "TLS with the CA at %s failed: %s%s", url, why,
			   o->ca_bundle ? " (check --ca-bundle / ca_bundle)" : "");
	case -ENOENT:
		return say(CLIENT_EXIT_CONFIG, "cannot read the CA bundle %s: %s", o->ca_bundle,
			   why);
	case JIT_E_TOO_LARGE:
		return say(CLIENT_EXIT_CA,
			   "the CA at %s sent an answer over 64 KiB; is the URL right?", url);
	case -ENOMEM:
		return say(CLIENT_EXIT_FAILURE, "out of memory");
	default:
		return say(CLIENT_EXIT_UNREACHABLE, "cannot reach the CA at %s: %s", url, why);
	}
}

/* The public key named by the identity setting: FILE.pub, or FILE.pub next to FILE, or FILE. */
static int identity_public_key(const char *path, struct key **ret)
{
	_cleanup_free_ char *pub_path = NULL, *text = NULL;
	_cleanup_(key_freep) struct key *priv = NULL;
	size_t n = strlen(path), len = 0;
	bool is_pub = n > 4 && strcmp(path + n - 4, ".pub") == 0;
	FILE *f;
	int r;

	if (is_pub)
		pub_path = strdup(path);
	else if (asprintf(&pub_path, "%s.pub", path) < 0)
		pub_path = NULL;
	if (!pub_path)
		return -ENOMEM;
	f = fopen(pub_path, "re");
	if (!f && is_pub)
		return -errno;
	if (!f) {
		if ((r = key_load_private(path, true, &priv)) < 0)
			return r;
		return key_public(priv, ret);
	}
	if (!(text = calloc(1, KEY_LINE_MAX + 1))) {
		fclose(f);
		return -ENOMEM;
	}
	len = fread(text, 1, KEY_LINE_MAX + 1, f);
	fclose(f);
	if (len > KEY_LINE_MAX)
		return JIT_E_TOO_LARGE;
	text[len] = 0;
	return key_from_line(text, ret, NULL);
}

/*
 * One enrolled key to try: its public half (borrowed), a signer, and its fingerprint for
 * messages.
 */
struct candidate {
	const struct key *pub;
	struct signer signer;
	char *fingerprint;
};

struct session {
	const struct opts *o;
	struct http_tls tls;
	struct agentc *agent;
	struct agent_identity *ids;
	size_t n_ids;
	struct key *file_key; /* -i KEYFILE */
	struct key *identity; /* the identity setting's public key */
	struct candidate cand[CLIENT_KEYS_TRIED_MAX];
	size_t n_cand;
	bool more_keys;	   /* the agent held more than CLIENT_KEYS_TRIED_MAX */
	struct key *fresh; /* the key to certify (private; wiped by key_free) */
	char *fresh_line;
};

static void session_done(struct session *s)
{
	for (size_t i = 0; i < s->n_cand; i++)
		free(s->cand[i].fingerprint);
	agentc_identities_free(s->ids, s->n_ids);
	agentc_close(s->agent);
	key_free(s->file_key);
	key_free(s->identity);
	key_free(s->fresh);
	free(s->fresh_line);
}

static int add_candidate(struct session *s, const struct key *pub, struct signer signer)
{
	struct candidate *c;
	int r;

	if (s->n_cand == CLIENT_KEYS_TRIED_MAX) {
		s->more_keys = true;
		return 0;
	}
	c = &s->cand[s->n_cand];
	if ((r = key_fingerprint(pub, &c->fingerprint)) < 0)
		return r;
	c->pub = pub;
	c->signer = signer;
	s->n_cand++;
	return 0;
}

/*
 * True when the agent also holds a certificate for @k: then @k is a certified key (such as
 * one jit-ssh added earlier), not an enrolled one.
 */
static bool has_certificate(const struct session *s, const struct key *k)
{
	for (size_t i = 0; i < s->n_ids; i++)
		if (s->ids[i].cert && s->ids[i].cert->subject &&
		    key_equal_public(s->ids[i].cert->subject, k))
			return true;
	return false;
}

static int open_agent(struct session *s)
{
	const char *sock = getenv("SSH_AUTH_SOCK");
	int r = agentc_open(NULL, &s->agent);

	if (r == -ENOENT && (!sock || !*sock))
		return say(CLIENT_EXIT_AGENT,
			   "no ssh-agent: SSH_AUTH_SOCK is not set. Start one with "
			   "`eval $(ssh-agent)` and add your enrolled key with `ssh-add`.");
	if (r < 0)
		return say(CLIENT_EXIT_AGENT,
			   "cannot connect to ssh-agent at %s: %s. Start one with "
			   "`eval $(ssh-agent)` and add your enrolled key with `ssh-add`.",
			   sock ? sock : "$SSH_AUTH_SOCK", jit_strerror(r));
	return 0;
}

/* The keys to sign with: -i KEYFILE, or the agent's plain keys (maybe only @identity). */
static int pick_keys(struct session *s)
{
	const struct opts *o = s->o;
	int r;

	if (o->key_file) {
		r = key_load_private(o->key_file, true, &s->file_key);
		if (r == JIT_E_PASSPHRASE)
			return say(CLIENT_EXIT_USAGE,
				   "%s is protected by a passphrase: add it to your agent with "
				   "`ssh-add %s` and leave out -i",
				   o->key_file, o->key_file);
		if (r == JIT_E_PERMISSION)
			return say(CLIENT_EXIT_USAGE,
				   "%s must be yours and private: it is accessible to others or "
				   "owned by another user (`chmod 600 %s`, and own it)",
				   o->key_file, o->key_file);
		if (r < 0)
			return say(CLIENT_EXIT_USAGE, "cannot use the key file %s: %s", o->key_file,
				   jit_strerror(r));
		if ((r = add_candidate(s, s->file_key, key_signer(s->file_key))) < 0)
			return say(CLIENT_EXIT_FAILURE, "%s", jit_strerror(r));
		return 0;
	}

	if (o->identity && (r = identity_public_key(o->identity, &s->identity)) < 0)
		return say(CLIENT_EXIT_CONFIG,
			   "cannot read the public key of the identity %s (JIT_SSH_IDENTITY or "
			   "identity): %s",
			   o->identity, jit_strerror(r));
	if ((r = agentc_list(s->agent, &s->ids, &s->n_ids)) < 0)
		return say(CLIENT_EXIT_AGENT, "cannot list the keys in ssh-agent: %s",
			   jit_strerror(r));
	for (size_t i = 0; i < s->n_ids; i++) {
		const struct key *k = s->ids[i].key;
		if (!k || s->ids[i].cert || has_certificate(s, k))
			continue;
		if (s->identity && !key_equal_public(k, s->identity))
			continue;
		if ((r = add_candidate(s, k, agentc_signer(s->agent, k))) < 0)
			return say(CLIENT_EXIT_FAILURE, "%s", jit_strerror(r));
	}
	if (s->n_cand > 0)
		return 0;
	if (s->identity) {
		_cleanup_free_ char *fp = NULL;
		if (key_fingerprint(s->identity, &fp) < 0)
			fp = NULL;
		return say(CLIENT_EXIT_AGENT,
			   "the key %s (%s) is not in your ssh-agent: add it with `ssh-add`",
			   o->identity, fp ? fp : "?");
	}
	return say(CLIENT_EXIT_AGENT,
		   "your ssh-agent holds no usable key: add your enrolled key with `ssh-add` "
		   "(Ed25519, ECDSA P-256/P-384 or RSA of 2048 bits or more)");
}

/*
 * Build, sign and POST one request with candidate @c to @path; the answer, whatever its
 * status, in *ret. @public_key NULL leaves it out of the body (explain).
 */
static int post_signed(struct session *s, const struct candidate *c, const char *path,
		       const char *public_key, struct http_reply *ret)
{
	const struct opts *o = s->o;
	_cleanup_free_ char *nonce = NULL, *body = NULL, *auth = NULL, *url = NULL, *why = NULL;
	size_t len = 0;
	int r;

	if ((r = request_nonce(&nonce)) < 0)
		return say(CLIENT_EXIT_FAILURE, "no randomness for the nonce: %s", jit_strerror(r));
	struct request req = {
		.user = o->user,
		.host = o->host,
		.login = o->login,
		.public_key = public_key,
		.ttl_sec = o->ttl_sec,
		.reason = o->reason,
		.timestamp = now_sec(),
		.nonce = nonce,
	};
	if ((r = request_body(&req, &body, &len)) < 0)
		return say(CLIENT_EXIT_USAGE, "cannot build the request: %s", jit_strerror(r));
	if ((r = request_authorization(&c->signer, body, len, &auth)) < 0)
		return r; /* the caller reports a key that cannot sign */
	if ((r = http_url_join(o->ca_url, path, &url)) < 0)
		return say(CLIENT_EXIT_FAILURE, "out of memory");
	r = http_post_json(url, &s->tls, auth, body, len, 0, ret, &why);
	if (r < 0)
		return transport_failure(o, o->ca_url, r, why ? why : jit_strerror(r));
	return 0;
}

/* The answer as a response (response.h), or say why it is unusable. */
static int parse_answer(const struct opts *o, const struct http_reply *reply, struct response **ret)
{
	int r = response_parse(reply->status, reply->body, reply->len, ret);

	if (r < 0)
		return say(CLIENT_EXIT_CA,
			   "the CA at %s gave an answer jit-ssh cannot use (HTTP %ld): %s",
			   o->ca_url, reply->status, jit_strerror(r));
	return 0;
}

/* True for the CA's "this key is not enrolled for this user" answer. */
static bool unknown_key(const struct http_reply *reply)
{
	_cleanup_(response_freep) struct response *r = NULL;

	return reply->status == 401 && response_parse(401, reply->body, reply->len, &r) == 0 &&
	       r->error && strcmp(r->error, "unknown_user_or_key") == 0;
}

/*
 * POST a signed request to @path with each candidate key in turn until one is known to the
 * CA; that answer, whatever it says, in *ret.
 */
static int ask(struct session *s, const char *path, const char *public_key, struct http_reply *ret)
{
	struct http_reply reply = {0};
	char tried[CLIENT_KEYS_TRIED_MAX * 64] = "";
	size_t used = 0;
	bool sent = false;
	int r;

	for (size_t i = 0; i < s->n_cand; i++) {
		const struct candidate *c = &s->cand[i];
		r = post_signed(s, c, path, public_key, &reply);
		if (r > 0)
			return r; /* already reported */
		used += (size_t)snprintf(tried + used, sizeof tried - used, "%s%s",
					 used ? ", " : "", c->fingerprint);
		if (r < 0) {
			say(0, "could not sign with %s: %s", c->fingerprint, jit_strerror(r));
			continue;
		}
		sent = true;
		if (unknown_key(&reply))
			continue;
		*ret = reply;
		return 0;
	}
	http_reply_clear(&reply);
	if (!sent)
		return say(CLIENT_EXIT_AGENT, "no key could sign the request (tried %s)", tried);
	if (s->o->key_file)
		return say(CLIENT_EXIT_AUTH,
			   "the CA does not know the key in %s (%s) for user '%s'. Send its public "
			   "key (`ssh-keygen -y -f %s`) to whoever runs the jit-ssh policy.",
			   s->o->key_file, tried, s->o->user, s->o->key_file);
	return say(CLIENT_EXIT_AUTH,
		   "none of the keys tried from your ssh-agent is enrolled for user '%s' at the "
		   "CA (tried %s%s). Send your public key (`ssh-add -L`) to whoever runs the "
		   "jit-ssh policy%s.",
		   s->o->user, tried, s->more_keys ? "; only the first keys were tried" : "",
		   s->more_keys ? ", or name your enrolled key with JIT_SSH_IDENTITY" : "");
}

/* Ask for the certificate: the CA's answer, parsed, in *ret. */
static int obtain(struct session *s, struct response **ret)
{
	struct http_reply reply = {0};
	int r;

	if ((r = ask(s, "/v1/requests", s->fresh_line, &reply)) != 0)
		return r;
	r = parse_answer(s->o, &reply, ret);
	http_reply_clear(&reply);
	return r;
}

/* Ctrl-C while waiting for approval. */
static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

/*
 * The status line while waiting: on a terminal redrawn in place each second; otherwise a
 * plain line when the approvals change and every CLIENT_STATUS_EVERY_SEC.
 */
struct waiting {
	const struct response *resp; /* the latest pending answer (borrowed) */
	uint64_t start;
	bool tty;
	bool drawn;	/* a status line is on the terminal, without a newline */
	uint64_t shown; /* when the status was last shown */
	char *progress; /* the status last shown, without the time */
};

static void show_status(struct waiting *w, bool force)
{
	_cleanup_free_ char *line = NULL, *progress = NULL;
	uint64_t now = now_sec();

	if (w->tty) {
		if (!force && w->drawn && now == w->shown)
			return;
		if (response_pending_status(w->resp, now - w->start, &line) < 0)
			return;
		fprintf(stderr, "\r\033[Kjit-ssh: %s", line);
		fflush(stderr);
		w->drawn = true;
		w->shown = now;
		return;
	}
	if (response_pending_status(w->resp, 0, &progress) < 0)
		return;
	if (w->progress && strcmp(w->progress, progress) == 0 &&
	    now - w->shown < CLIENT_STATUS_EVERY_SEC)
		return;
	if (response_pending_status(w->resp, now - w->start, &line) < 0)
		return;
	say(0, "%s", line);
	free(w->progress);
	w->progress = TAKE_PTR(progress);
	w->shown = now;
}

/* Take the status line off the terminal, so that the next message starts clean. */
static void clear_status(struct waiting *w)
{
	if (w->tty && w->drawn)
		fputs("\r\033[K", stderr);
	w->drawn = false;
}

static int waiting_tick(void *userdata)
{
	struct waiting *w = userdata;

	if (interrupted)
		return 1;
	show_status(w, false);
	return 0;
}

/* Sleep about @sec seconds, keeping the status line alive; false when interrupted. */
static bool waiting_sleep(struct waiting *w, unsigned sec)
{
	for (unsigned i = 0; i < sec && !interrupted; i++) {
		struct timespec one = {.tv_sec = 1};
		nanosleep(&one, NULL);
		show_status(w, false);
	}
	return !interrupted;
}

/*
 * 202 pending: long-poll GET /v1/requests/ID?wait= until the answer's "state" is no longer
 * "pending" (the status code of GET is 200 whatever the state), showing the status line.
 */
static int poll_approval(struct session *s, struct waiting *w, struct response **resp)
{
	const struct opts *o = s->o;
	_cleanup_free_ char *id = NULL;
	int r;

	if (!(id = strdup((*resp)->request_id)))
		return say(CLIENT_EXIT_FAILURE, "out of memory");
	while ((*resp)->kind == RESPONSE_PENDING) {
		_cleanup_free_ char *path = NULL, *url = NULL, *why = NULL;
		struct http_reply reply = {0};
		uint64_t t0 = now_sec();

		w->resp = *resp;
		show_status(w, true);
		if (t0 - w->start > CLIENT_APPROVAL_WAIT_MAX_SEC) {
			clear_status(w);
			return say(CLIENT_EXIT_CA,
				   "no decision on request %s after %u minutes; gave up", id,
				   CLIENT_APPROVAL_WAIT_MAX_SEC / 60);
		}
		if (asprintf(&path, "/v1/requests/%s?wait=%d", id, CLIENT_POLL_WAIT_SEC) < 0)
			path = NULL;
		if (!path || http_url_join(o->ca_url, path, &url) < 0) {
			clear_status(w);
			return say(CLIENT_EXIT_FAILURE, "out of memory");
		}
		r = http_get_ticking(url, &s->tls, CLIENT_POLL_WAIT_SEC + HTTP_TIMEOUT_SEC,
				     waiting_tick, w, &reply, &why);
		if (r == -EINTR || interrupted)
			return -EINTR;
		clear_status(w);
		if (r < 0)
			return transport_failure(o, o->ca_url, r, why ? why : jit_strerror(r));
		*resp = response_free(*resp);
		w->resp = NULL;
		r = response_parse(reply.status, reply.body, reply.len, resp);
		http_reply_clear(&reply);
		if (r < 0)
			return say(CLIENT_EXIT_CA, "the CA's answer while waiting is unusable: %s",
				   jit_strerror(r));
		if ((*resp)->kind == RESPONSE_PENDING && now_sec() - t0 < 2) {
			w->resp = *resp; /* the CA answered at once: do not hammer it */
			if (!waiting_sleep(w, 2))
				return -EINTR;
		}
	}
	return 0;
}

static int wait_for_approval(struct session *s, struct response **resp)
{
	struct waiting w = {.start = now_sec(), .tty = isatty(STDERR_FILENO) == 1};
	struct sigaction sa = {.sa_handler = on_interrupt}, old_int;
	_cleanup_free_ char *id = NULL;
	int r;

	if (!(id = strdup((*resp)->request_id)))
		return say(CLIENT_EXIT_FAILURE, "out of memory");
	say(0, "request %s waits for approval (Ctrl-C to stop waiting)", id);
	interrupted = 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	r = poll_approval(s, &w, resp);
	sigaction(SIGINT, &old_int, NULL);
	clear_status(&w);
	free(w.progress);
	if (r == -EINTR) {
		uint64_t t = now_sec() - w.start;
		return say(CLIENT_EXIT_INTERRUPTED,
			   "interrupted: stopped waiting for approval of request %s after "
			   "%llu:%02llu. Its key is gone with this run: run jit-ssh again to ask "
			   "anew.",
			   id, (unsigned long long)(t / 60), (unsigned long long)(t % 60));
	}
	return r;
}

/* A denial or an error answer: say what the CA said; returns the exit status. */
static int refused(const struct opts *o, const struct response *r)
{
	const char *msg = r->message ? r->message : "(no message)";

	if (r->kind == RESPONSE_DENIED)
		return say(CLIENT_EXIT_DENIED, "denied: %s%s%s%s",
			   r->reason ? r->reason : "(the CA gave no reason)",
			   r->rule ? " (rule " : "", r->rule ? r->rule : "", r->rule ? ")" : "");
	if (r->kind == RESPONSE_EXPIRED)
		return say(CLIENT_EXIT_DENIED, "request %s expired before it was approved%s%s",
			   r->request_id, r->reason ? ": " : "", r->reason ? r->reason : "");
	if (r->kind == RESPONSE_CANCELLED)
		return say(CLIENT_EXIT_CA, "the CA cancelled request %s without an answer%s%s",
			   r->request_id, r->reason ? ": " : "", r->reason ? r->reason : "");
	if (!r->error)
		return say(CLIENT_EXIT_CA, "the CA at %s answered HTTP %ld without an explanation",
			   o->ca_url, r->status);
	if (strcmp(r->error, "clock_skew") == 0)
		return say(CLIENT_EXIT_AUTH,
			   "the CA says this computer's clock is wrong (%s). Fix your clock "
			   "(e.g. `timedatectl set-ntp true`) and try again.",
			   msg);
	if (strcmp(r->error, "bad_signature") == 0)
		return say(CLIENT_EXIT_AUTH, "the CA could not verify the request's signature: %s",
			   msg);
	if (strcmp(r->error, "replay") == 0)
		return say(CLIENT_EXIT_AUTH,
			   "the CA refused the request as a replay: %s; try again", msg);
	if (r->status == 401)
		return say(CLIENT_EXIT_AUTH, "the CA refused the authentication (%s): %s", r->error,
			   msg);
	return say(CLIENT_EXIT_CA, "the CA refused the request (HTTP %ld, %s): %s", r->status,
		   r->error, msg);
}

static int check_issued(struct session *s, const struct response *r, uint64_t now)
{
	const struct opts *o = s->o;
	int k = response_check_cert(r, s->fresh, o->host, o->login, now);

	if (k == JIT_E_CERT)
		return say(CLIENT_EXIT_CA,
			   "the CA's certificate (request %s) is not for the key jit-ssh sent; "
			   "not using it",
			   r->request_id);
	if (k == JIT_E_NOT_FOUND)
		return say(CLIENT_EXIT_CA,
			   "the CA's certificate (request %s) lacks the principal jit:%s:%s; "
			   "not using it",
			   r->request_id, o->host, o->login);
	if (k == JIT_E_EXPIRED)
		return say(CLIENT_EXIT_CA,
			   "the CA's certificate (request %s) is already expired by this "
			   "computer's clock; check your clock",
			   r->request_id);
	if (k < 0)
		return say(CLIENT_EXIT_CA, "the CA's certificate is unusable: %s", jit_strerror(k));
	return 0;
}

static void format_utc(uint64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, size, "%llu", (unsigned long long)t);
}

/* Text from the CA, with control characters shown as '?'. */
static void put_text(const char *s)
{
	for (; *s; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

/* ", confirm each use" after the validity when the agent asks before each use. */
static const char *constraint_note(const struct opts *o)
{
	return o->confirm ? ", confirm each use" : "";
}

static void print_cert(const struct opts *o, const struct cert *c, const char *pub_path,
		       const char *cert_path, uint64_t now)
{
	char until[64];

	format_utc(c->valid_before, until, sizeof until);
	printf("certificate %s\n", cert_path);
	printf("public key  %s\n", pub_path);
	printf("serial      %llu\n", (unsigned long long)c->serial);
	printf("key id      ");
	put_text(c->key_id ? c->key_id : "");
	printf("\nprincipals  ");
	for (size_t i = 0; i < c->n_principals; i++) {
		if (i)
			putchar(',');
		put_text(c->principals[i]);
	}
	printf("\nvalid until %s (%llu minutes)%s\n", until,
	       (unsigned long long)((c->valid_before - now + 30) / 60), constraint_note(o));
}

/*
 * Add the key with its certificate and the plain key to the agent, both with the lifetime of
 * the certificate and, with --confirm, the confirm constraint; write the files. They are
 * named after HOST as typed (a safe name: host_normalize() accepted it), which is what ssh's
 * %n token gives a `Match exec` line.
 */
static int install(struct session *s, const struct cert *c, char **ret_pub, char **ret_cert)
{
	const struct opts *o = s->o;
	_cleanup_free_ char *comment = NULL, *dir = NULL, *cert_line = NULL, *pub_name = NULL,
			    *cert_name = NULL, *pub_path = NULL, *cert_path = NULL;
	uint64_t now = now_sec();
	uint64_t life = c->valid_before > now ? c->valid_before - now : 1;
	uint32_t lifetime = life > UINT32_MAX ? UINT32_MAX : (uint32_t)life;
	int r;

	if (asprintf(&comment, "jit-ssh %s@%s serial %llu", o->login, o->host,
		     (unsigned long long)c->serial) < 0 ||
	    asprintf(&pub_name, "%s@%s.pub", o->login, o->host_arg) < 0 ||
	    asprintf(&cert_name, "%s@%s-cert.pub", o->login, o->host_arg) < 0)
		return say(CLIENT_EXIT_FAILURE, "out of memory");
	if ((r = agentc_add_cert(s->agent, s->fresh, c, comment, lifetime, o->confirm)) < 0)
		return say(CLIENT_EXIT_AGENT, "ssh-agent did not take the certificate: %s",
			   jit_strerror(r));
	if ((r = agentc_add_key(s->agent, s->fresh, comment, lifetime, o->confirm)) < 0)
		return say(CLIENT_EXIT_AGENT, "ssh-agent did not take the key: %s",
			   jit_strerror(r));

	r = store_dir(getenv("XDG_RUNTIME_DIR"), getenv("HOME"), &dir);
	if (r == -ENOENT)
		return say(
			CLIENT_EXIT_FAILURE,
			"nowhere to put the certificate: neither XDG_RUNTIME_DIR nor HOME is set");
	if (r < 0)
		return say(CLIENT_EXIT_FAILURE, "cannot prepare %s/jit-ssh: %s",
			   getenv("XDG_RUNTIME_DIR") ? "$XDG_RUNTIME_DIR" : "~/.cache",
			   jit_strerror(r));
	if (asprintf(&pub_path, "%s/%s", dir, pub_name) < 0 ||
	    asprintf(&cert_path, "%s/%s", dir, cert_name) < 0)
		return say(CLIENT_EXIT_FAILURE, "out of memory");
	if ((r = cert_to_line(c, comment, &cert_line)) < 0)
		return say(CLIENT_EXIT_FAILURE, "cannot format the certificate: %s",
			   jit_strerror(r));
	if ((r = store_write(dir, pub_name, s->fresh_line)) < 0)
		return say(CLIENT_EXIT_FAILURE, "cannot write %s: %s", pub_path, jit_strerror(r));
	if ((r = store_write(dir, cert_name, cert_line)) < 0)
		return say(CLIENT_EXIT_FAILURE, "cannot write %s: %s", cert_path, jit_strerror(r));
	*ret_pub = TAKE_PTR(pub_path);
	*ret_cert = TAKE_PTR(cert_path);
	return 0;
}

static int run(const struct opts *o)
{
	struct session s = {.o = o, .tls = {.pin = o->pin, .ca_bundle = o->ca_bundle}};
	_cleanup_(response_freep) struct response *resp = NULL;
	_cleanup_free_ char *pub_path = NULL, *cert_path = NULL;
	_cleanup_(argv_freep) char **argv = NULL;
	const struct cert *c;
	int r;

	if (o->plain_http) {
		say(0, "warning: talking to the CA at %s over plain http (loopback only)",
		    o->ca_url);
		s.tls = (struct http_tls){0};
	}
	if ((r = open_agent(&s)) != 0 || (r = pick_keys(&s)) != 0)
		goto out;
	if ((r = key_generate(KEY_ED25519, 0, &s.fresh)) < 0 ||
	    (r = key_to_line(s.fresh, NULL, &s.fresh_line)) < 0) {
		r = say(CLIENT_EXIT_FAILURE, "cannot make a fresh key: %s", jit_strerror(r));
		goto out;
	}
	if ((r = obtain(&s, &resp)) != 0)
		goto out;
	if (resp->kind == RESPONSE_PENDING && (r = wait_for_approval(&s, &resp)) != 0)
		goto out;
	if (resp->kind != RESPONSE_ISSUED) {
		r = refused(o, resp);
		goto out;
	}
	c = resp->cert;
	if ((r = check_issued(&s, resp, now_sec())) != 0 ||
	    (r = install(&s, c, &pub_path, &cert_path)) != 0)
		goto out;
	s.fresh = key_free(s.fresh); /* the private key now lives in the agent only */

	if (o->cmd == OPTS_CMD_CERT) {
		print_cert(o, c, pub_path, cert_path, now_sec());
		r = fflush(stdout) == 0 ? CLIENT_EXIT_OK
					: say(CLIENT_EXIT_FAILURE, "cannot write to stdout");
		goto out;
	}
	{
		char until[64];
		format_utc(c->valid_before, until, sizeof until);
		say(0, "certificate serial %llu for %s@%s, valid until %s%s",
		    (unsigned long long)c->serial, o->login, o->host, until, constraint_note(o));
	}
	if ((r = client_ssh_argv(o, pub_path, cert_path, &argv)) < 0) {
		r = say(CLIENT_EXIT_FAILURE, "cannot pass %s to ssh: %s", pub_path,
			jit_strerror(r));
		goto out;
	}
	session_done(&s);
	s = (struct session){0};
	fflush(NULL);
	execvp(argv[0], argv);
	r = say(CLIENT_EXIT_FAILURE,
		"cannot run %s: %s (set JIT_SSH_SSH or ssh in the configuration)", argv[0],
		strerror(errno));
out:
	session_done(&s);
	return r;
}

/* Print the CA's JSON answer as it came (it parsed, so it holds no raw control bytes). */
static int print_json(const struct http_reply *reply)
{
	fwrite(reply->body, 1, reply->len, stdout);
	if (reply->len == 0 || reply->body[reply->len - 1] != '\n')
		putchar('\n');
	return fflush(stdout) == 0 ? 0 : say(CLIENT_EXIT_FAILURE, "cannot write to stdout");
}

/* `jit-ssh explain`: POST the signed request to /v1/explain, show the answer. */
static int run_explain(const struct opts *o)
{
	struct session s = {.o = o, .tls = {.pin = o->pin, .ca_bundle = o->ca_bundle}};
	_cleanup_(explain_freep) struct explain *e = NULL;
	_cleanup_(response_freep) struct response *resp = NULL;
	_cleanup_free_ char *text = NULL;
	struct http_reply reply = {0};
	int r;

	if (o->plain_http) {
		say(0, "warning: talking to the CA at %s over plain http (loopback only)",
		    o->ca_url);
		s.tls = (struct http_tls){0};
	}
	/* With -i KEYFILE nothing goes to the agent, so none is needed. */
	if ((!o->key_file && (r = open_agent(&s)) != 0) || (r = pick_keys(&s)) != 0 ||
	    (r = ask(&s, "/v1/explain", NULL, &reply)) != 0)
		goto out;
	if (reply.status == 404) {
		r = say(CLIENT_EXIT_CA,
			"the CA at %s does not explain decisions (no /v1/explain); "
			"it is older than jit-ssh explain",
			o->ca_url);
		goto out;
	}
	if (reply.status != 200) {
		if ((r = parse_answer(o, &reply, &resp)) == 0)
			r = refused(o, resp);
		goto out;
	}
	if ((r = explain_parse(reply.body, reply.len, &e)) < 0) {
		r = say(CLIENT_EXIT_CA,
			"the CA at %s gave an explanation jit-ssh cannot use: %s (does it "
			"support jit-ssh explain?)",
			o->ca_url, jit_strerror(r));
		goto out;
	}
	if (o->json) {
		if ((r = print_json(&reply)) != 0)
			goto out;
	} else {
		if ((r = explain_render(e, o->host, o->login, &text)) < 0) {
			r = say(CLIENT_EXIT_FAILURE, "out of memory");
			goto out;
		}
		fputs(text, stdout);
		if (fflush(stdout) != 0) {
			r = say(CLIENT_EXIT_FAILURE, "cannot write to stdout");
			goto out;
		}
	}
	r = e->verdict == EXPLAIN_DENIED ? CLIENT_EXIT_DENIED : CLIENT_EXIT_OK;
	if (e->verdict == EXPLAIN_NEEDS_APPROVAL)
		say(0,
		    "note: %s@%s is not denied, but not allowed outright either: a request for "
		    "it needs approval",
		    o->login, e->host ? e->host : o->host);
out:
	http_reply_clear(&reply);
	session_done(&s);
	return r;
}

int client_main(int argc, char **argv, char **envp)
{
	_cleanup_(opts_freep) struct opts *o = NULL;
	_cleanup_free_ char *error = NULL;
	int r;

	r = opts_parse(argc, argv, &o, &error);
	if (r < 0)
		return say(CLIENT_EXIT_USAGE, "%s", error ? error : jit_strerror(r));
	if (o->cmd == OPTS_CMD_HELP) {
		fputs(opts_usage(), stdout);
		return CLIENT_EXIT_OK;
	}
	if (o->cmd == OPTS_CMD_VERSION) {
		printf("jit-ssh %s\n", JIT_SSH_VERSION);
		return CLIENT_EXIT_OK;
	}
	r = opts_resolve(o, envp, &error);
	if (r == -EINVAL || r == JIT_E_NAME)
		return say(CLIENT_EXIT_USAGE, "%s", error);
	if (r < 0)
		return say(CLIENT_EXIT_CONFIG, "%s", error ? error : jit_strerror(r));
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return say(CLIENT_EXIT_FAILURE, "cannot initialise libcurl");
	r = o->cmd == OPTS_CMD_EXPLAIN ? run_explain(o) : run(o);
	curl_global_cleanup();
	return r;
}
