/* SPDX-License-Identifier: ISC */
/*
 * test_agentc.c - the ssh-agent client against a real OpenSSH ssh-agent (one per test, in
 * its own temporary directory), checked with ssh-add; malformed replies through the
 * identities parser and through a misbehaving peer on a Unix socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "agentc.h"
#include "cert.h"
#include "err.h"
#include "key.h"
#include "testutil.h"
#include "util.h"
#include "wbuf.h"

static const uint8_t data[] = "data to be signed by the agent";

/* ---- fixtures ---------------------------------------------------------------------- */

struct agent {
	char *dir;
	char *sock;
	pid_t pid;
};

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * Start `ssh-agent -D -a SOCK` with @askpass as its confirmation program (forced, so no
 * display is needed: /bin/false refuses every confirmation, /bin/true grants it).
 */
static int agent_start(void **state, const char *askpass)
{
	const char *prog = getenv("SSH_AGENT");
	struct agent *ag = calloc(1, sizeof *ag);

	if (!prog || !*prog)
		prog = "ssh-agent";
	if (!ag || !(ag->dir = tu_tmpdir()) || asprintf(&ag->sock, "%s/agent.sock", ag->dir) < 0)
		return -1;
	ag->pid = fork();
	if (ag->pid < 0)
		return -1;
	if (ag->pid == 0) {
		int fd = open("/dev/null", O_RDWR);
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		setenv("SSH_ASKPASS", askpass, 1);
		setenv("SSH_ASKPASS_REQUIRE", "force", 1);
		execlp(prog, "ssh-agent", "-D", "-a", ag->sock, (char *)NULL);
		_exit(127);
	}
	/* Poll until the agent accepts connections (the socket exists before it listens). */
	for (int i = 0; i < 200; i++) {
		struct agentc *a = NULL;
		if (agentc_open(ag->sock, &a) == 0) {
			agentc_close(a);
			*state = ag;
			return 0;
		}
		if (waitpid(ag->pid, NULL, WNOHANG) == ag->pid) {
			fprintf(stderr, "ssh-agent (%s) exited at start\n", prog);
			return -1;
		}
		sleep_ms(50);
	}
	fprintf(stderr, "ssh-agent did not listen on %s\n", ag->sock);
	return -1;
}

static int agent_setup(void **state)
{
	return agent_start(state, "/bin/false");
}

static int agent_setup_confirming(void **state)
{
	return agent_start(state, "/bin/true");
}

static int agent_teardown(void **state)
{
	struct agent *ag = *state;

	if (!ag)
		return 0;
	if (ag->pid > 0) {
		kill(ag->pid, SIGTERM);
		waitpid(ag->pid, NULL, 0);
	}
	tu_rmtree(ag->dir);
	free(ag->dir);
	free(ag->sock);
	free(ag);
	return 0;
}

static struct agentc *connect_agent(const struct agent *ag)
{
	struct agentc *a = NULL;

	assert_int_equal(agentc_open(ag->sock, &a), 0);
	assert_non_null(a);
	return a;
}

/* Run ssh-add with SSH_AUTH_SOCK pointing at the test agent; returns its output (new). */
static char *ssh_add(const struct agent *ag, const char *args, int want_status)
{
	char *out = NULL;

	assert_int_equal(tu_run(&out, "SSH_AUTH_SOCK='%s' ssh-add %s", ag->sock, args),
			 want_status);
	return out;
}

/* Generate a key with ssh-keygen in the agent's directory, add it with ssh-add, return its
 * public key. */
static struct key *keygen_and_ssh_add(const struct agent *ag, const char *name,
				      const char *type_args)
{
	_cleanup_free_ char *out = NULL, *line = NULL, *pubpath = NULL, *arg = NULL;
	struct key *k = NULL;

	assert_int_equal(tu_run(&out, "%s -q -N '' -C %s %s -f '%s/%s'", tu_ssh_keygen(), name,
				type_args, ag->dir, name),
			 0);
	assert_true(asprintf(&pubpath, "%s/%s.pub", ag->dir, name) > 0);
	assert_int_equal(tu_read_file(pubpath, &line, NULL), 0);
	assert_int_equal(key_from_line(line, &k, NULL), 0);
	assert_true(asprintf(&arg, "'%s/%s'", ag->dir, name) > 0);
	free(ssh_add(ag, arg, 0));
	return k;
}

/* The first string of an SSH signature encoding: its algorithm name (new). */
static char *sig_alg(const struct wbuf *sig)
{
	_cleanup_(wbuf_freep) struct wbuf *b = wbuf_from(wbuf_ptr(sig), wbuf_len(sig));
	char *alg = NULL;

	assert_non_null(b);
	assert_int_equal(wbuf_get_cstring(b, &alg, NULL), 0);
	return alg;
}

/* ---- a real agent ------------------------------------------------------------------ */

static void test_empty_agent_lists_no_identities(void **state)
{
	_cleanup_(agentc_closep) struct agentc *a = connect_agent(*state);
	struct agent_identity *ids = (void *)0x1;
	size_t n = 99;

	assert_int_equal(agentc_list(a, &ids, &n), 0);
	assert_int_equal(n, 0);
	agentc_identities_free(ids, n);
}

static void test_added_ed25519_key_is_listed_by_ssh_add_with_its_fingerprint(void **state)
{
	const struct agent *ag = *state;
	_cleanup_(agentc_closep) struct agentc *a = connect_agent(ag);
	_cleanup_(key_freep) struct key *k = NULL;
	_cleanup_free_ char *fp = NULL, *out = NULL;
	struct agent_identity *ids = NULL;
	size_t n = 0;

	assert_int_equal(key_generate(KEY_ED25519, 0, &k), 0);
	assert_int_equal(agentc_add_key(a, k, "jit test key", 0, false), 0);
	assert_int_equal(key_fingerprint(k, &fp), 0);

	out = ssh_add(ag, "-l", 0);
	assert_non_null(strstr(out, fp));
	assert_non_null(strstr(out, "jit test key"));

	assert_int_equal(agentc_list(a, &ids, &n), 0);
	assert_int_equal(n, 1);
	assert_non_null(ids[0].key);
	assert_null(ids[0].cert);
	assert_true(key_equal_public(ids[0].key, k));
	assert_string_equal(ids[0].comment, "jit test key");
	agentc_identities_free(ids, n);
}

/* Add a generated key of @type with agentc_add_key(); ssh-add must list it; it must sign. */
static void add_generated_key_and_sign(const struct agent *ag, enum key_type type, const char *alg,
				       const char *want_alg)
{
	_cleanup_(agentc_closep) struct agentc *a = connect_agent(ag);
	_cleanup_(key_freep) struct key *k = NULL;
	_cleanup_(wbuf_freep) struct wbuf *sig = wbuf_new(0);
	_cleanup_free_ char *fp = NULL, *out = NULL, *got = NULL;
	const char *verified = NULL;

	assert_int_equal(key_generate(type, 0, &k), 0);
	assert_int_equal(agentc_add_key(a, k, "generated", 0, false), 0);
	assert_int_equal(key_fingerprint(k, &fp), 0);
	out = ssh_add(ag, "-l", 0);
	assert_non_null(strstr(out, fp));

	assert_int_equal(agentc_sign(a, k, data, sizeof data, alg, sig), 0);
	got = sig_alg(sig);
	assert_string_equal(got, want_alg);
	assert_int_equal(key_verify(k, wbuf_ptr(sig), wbuf_len(sig), data, sizeof data, &verified),
			 0);
	assert_string_equal(verified, want_alg);
}

static void test_added_ecdsa_p256_key_is_listed_and_signs(void **state)
{
	add_generated_key_and_sign(*state, KEY_ECDSA_P256, NULL, "ecdsa-sha2-nistp256");
}

static void test_added_ecdsa_p384_key_is_listed_and_signs(void **state)
{
	add_generated_key_and_sign(*state, KEY_ECDSA_P384, NULL, "ecdsa-sha2-nistp384");
}

static void test_added_rsa_key_is_listed_and_signs(void **state)
{
	add_generated_key_and_sign(*state, KEY_RSA, "rsa-sha2-256", "rsa-sha2-256");
}

static void test_key_added_with_lifetime_is_listed_by_ssh_add(void **state)
{
	const struct agent *ag = *state;
	_cleanup_(agentc_closep) struct agentc *a = connect_agent(ag);
	_cleanup_(key_freep) struct key *k = NULL;
	_cleanup_free_ char *fp = NULL, *out = NULL;

	assert_int_equal(key_generate(KEY_ED25519, 0, &k), 0);
	assert_int_equal(agentc_add_key(a, k, "with lifetime", 3600, false), 0);
	assert_int_equal(key_fingerprint(k, &fp), 0);
	out = ssh_add(ag, "-l", 0);
	assert_non_null(strstr(out, fp));
}

static void test_key_with_one_second_lifetime_disappears(void **state)
{
	_cleanup_(agentc_closep) struct agentc *a = connect_agent(*state);
	_cleanup_(key_freep) struct key *k = NULL;
	size_t n = 1;

	assert_int_equal(key_generate(KEY_ED25519, 0, &k), 0);
	assert_int_equal(agentc_add_key(a, k, "short-lived", 1, false), 0);
	/* Poll (up to 30 s) rather than assert a time: the agent drops it after ~1-2 s. */
	for (int i = 0; i < 300 && n > 0; i++) {
		struct agent_identity *ids = NULL;
		assert_int_equal(agentc_list(a, &ids, &n), 0);
		agentc_identities_free(ids, n);
		if (n > 0)
			sleep_ms(100);
	}
	assert_int_equal(n, 0);
}

static void test_key_with_confirm_constraint_is_not_used_when_confirmation_is_refused(void **state)
{
	const struct agent *ag = *state;
	_cleanup_(agentc_closep) struct agentc *a = connect_agent(ag);
	_cleanup_(key_freep) struct key *k = NULL;
	_cleanup_(wbuf_freep) struct wbuf *sig = wbuf_new(0);
	_cleanup_free_ char *fp = NULL, *out = NULL;

	assert_int_equal(key_generate(KEY_ED25519, 0, &k), 0);
	assert_int_equal(agentc_add_key(a, k, "confirm me", 0, true), 0);
	assert_int_equal(key_fingerprint(k, &fp), 0);
	out = ssh_add(ag, "-l", 0);
	assert_non_null(strstr(out, fp));
	/* The agent's confirmation program is /bin/false: the agent holds the key but refuses. */
	assert_int_equal(agentc_sign(a, k, data, sizeof data, NULL, sig), JIT_E_AGENT);
	assert_int_equal(wbuf_len(sig), 0);
}

static void test_key_with_confirm_constraint_signs_once_confirmed(void **state)
{
	_cleanup_(agentc_closep) struct agentc *a = connect_agent(*state);
	_cleanup_(key_freep) struct key *k = NULL;
	_cleanup_(wbuf_freep) struct wbuf *sig = wbuf_new(0);

	assert_int_equal(key_generate(KEY_ED25519, 0, &k), 0);
	assert_int_equal(agentc_add_key(a, k, "confirm me", 60, true), 0);
	assert_int_equal(agentc_sign(a, k, data, sizeof data, NULL, sig), 0);
	assert_int_equal(key_verify(k, wbuf_ptr(sig), wbuf_len(sig), data, sizeof data, NULL), 0);
}

/* The first two fields of a public-key or certificate line (new). */
static char *line_type_and_blob(const char *line)
{
	const char *sp = strchr(line, ' ');
	size_t n;

	assert_non_null(sp);
	n = strcspn(sp + 1, " \n");
	return strndup(line, (size_t)(sp + 1 - line) + n);
}

static void test_key_and_certificate_are_listed_by_ssh_add(void **state)
{
	const struct agent *ag = *state;
	_cleanup_(agentc_closep) struct agentc *a = connect_agent(ag);
	_cleanup_(key_freep) struct key *k = NULL;
	_cleanup_(cert_freep) struct cert *c = NULL;
	_cleanup_free_ char *line = NULL, *path = NULL, *out = NULL, *certline = NULL, *want = NULL;
	struct agent_identity *ids = NULL;
	size_t n = 0;

	assert_int_equal(key_generate(KEY_ED25519, 0, &k), 0);
	assert_int_equal(key_to_line(k, "user", &line), 0);
	assert_true(asprintf(&path, "%s/user.pub", ag->dir) > 0);
	assert_int_equal(tu_write_file(path, line, strlen(line), 0644), 0);
	assert_int_equal(tu_run(&out,
				"%1$s -q -t ed25519 -N '' -f '%2$s/ca' && "
				"%1$s -q -s '%2$s/ca' -I jit-test -n jit:h:root -z 7 -V +1h "
				"'%2$s/user.pub'",
				tu_ssh_keygen(), ag->dir),
			 0);
	free(path);
	assert_true(asprintf(&path, "%s/user-cert.pub", ag->dir) > 0);
	assert_int_equal(tu_read_file(path, &certline, NULL), 0);
	assert_int_equal(cert_from_line(certline, &c), 0);

	assert_int_equal(agentc_add_cert(a, k, c, "jit cert", 3600, false), 0);

	free(out);
	out = ssh_add(ag, "-L", 0);
	want = line_type_and_blob(certline);
	assert_non_null(strstr(out, want));

	assert_int_equal(agentc_list(a, &ids, &n), 0);
	assert_int_equal(n, 1);
	assert_non_null(ids[0].cert);
	assert_null(ids[0].key);
	assert_int_equal(ids[0].cert->serial, 7);
	assert_true(key_equal_public(ids[0].cert->subject, k));
	assert_string_equal(ids[0].comment, "jit cert");
	agentc_identities_free(ids, n);
}

static void test_certificate_for_another_key_is_refused(void **state)
{
	_cleanup_(agentc_closep) struct agentc *a = connect_agent(*state);
	_cleanup_(key_freep) struct key *k = NULL, *other = NULL, *ca = NULL;
	_cleanup_(cert_freep) struct cert *c = NULL;
	struct agent_identity *ids = NULL;
	size_t n = 1;

	assert_int_equal(key_generate(KEY_ED25519, 0, &k), 0);
	assert_int_equal(key_generate(KEY_ED25519, 0, &other), 0);
	assert_int_equal(key_generate(KEY_ED25519, 0, &ca), 0);
	struct key *subject = NULL;
	assert_int_equal(key_public(other, &subject), 0);
	assert_int_equal(cert_new(subject, &c), 0);
	c->serial = 1;
	assert_int_equal(cert_set_key_id(c, "id"), 0);
	assert_int_equal(cert_add_principal(c, "jit:h:root"), 0);
	assert_int_equal(cert_set_validity(c, (uint64_t)time(NULL), 0, 600), 0);
	struct signer s = key_signer(ca);
	assert_int_equal(cert_sign(c, &s, NULL), 0);

	assert_int_equal(agentc_add_cert(a, k, c, "wrong", 600, false), -EINVAL);
	assert_int_equal(agentc_list(a, &ids, &n), 0);
	assert_int_equal(n, 0);
	agentc_identities_free(ids, n);
}

static void test_removed_identity_is_no_longer_listed(void **state)
{
	const struct agent *ag = *state;
	_cleanup_(agentc_closep) struct agentc *a = connect_agent(ag);
	_cleanup_(key_freep) struct key *k1 = NULL, *k2 = NULL;
	_cleanup_free_ uint8_t *blob = NULL;
	_cleanup_free_ char *fp1 = NULL, *fp2 = NULL, *out = NULL;
	size_t len;

	assert_int_equal(key_generate(KEY_ED25519, 0, &k1), 0);
	assert_int_equal(key_generate(KEY_ED25519, 0, &k2), 0);
	assert_int_equal(agentc_add_key(a, k1, "one", 0, false), 0);
	assert_int_equal(agentc_add_key(a, k2, "two", 0, false), 0);
	assert_int_equal(key_to_blob(k1, &blob, &len), 0);
	assert_int_equal(agentc_remove(a, blob, len), 0);

	assert_int_equal(key_fingerprint(k1, &fp1), 0);
	assert_int_equal(key_fingerprint(k2, &fp2), 0);
	out = ssh_add(ag, "-l", 0);
	assert_null(strstr(out, fp1));
	assert_non_null(strstr(out, fp2));
}

static void test_removing_an_absent_identity_is_refused(void **state)
{
	_cleanup_(agentc_closep) struct agentc *a = connect_agent(*state);
	_cleanup_(key_freep) struct key *k = NULL;
	_cleanup_free_ uint8_t *blob = NULL;
	size_t len;

	assert_int_equal(key_generate(KEY_ED25519, 0, &k), 0);
	assert_int_equal(key_to_blob(k, &blob, &len), 0);
	assert_int_equal(agentc_remove(a, blob, len), JIT_E_AGENT);
}

/* A key made by ssh-keygen and added by ssh-add signs through the agent as @want_alg. */
static void sign_with_ssh_added_key(const struct agent *ag, const char *type_args, const char *alg,
				    const char *want_alg)
{
	_cleanup_(agentc_closep) struct agentc *a = connect_agent(ag);
	_cleanup_(key_freep) struct key *pub = keygen_and_ssh_add(ag, "k", type_args);
	_cleanup_(wbuf_freep) struct wbuf *sig = wbuf_new(0);
	_cleanup_free_ char *got = NULL;
	const char *verified = NULL;

	assert_int_equal(agentc_sign(a, pub, data, sizeof data, alg, sig), 0);
	got = sig_alg(sig);
	assert_string_equal(got, want_alg);
	assert_int_equal(
		key_verify(pub, wbuf_ptr(sig), wbuf_len(sig), data, sizeof data, &verified), 0);
	assert_string_equal(verified, want_alg);
}

static void test_agent_signs_with_ssh_added_ed25519_key(void **state)
{
	sign_with_ssh_added_key(*state, "-t ed25519", NULL, "ssh-ed25519");
}

static void test_agent_signs_with_ssh_added_ecdsa_p256_key(void **state)
{
	sign_with_ssh_added_key(*state, "-t ecdsa -b 256", NULL, "ecdsa-sha2-nistp256");
}

static void test_agent_signs_with_ssh_added_ecdsa_p384_key(void **state)
{
	sign_with_ssh_added_key(*state, "-t ecdsa -b 384", NULL, "ecdsa-sha2-nistp384");
}

static void test_agent_signs_with_ssh_added_rsa_key_using_sha256(void **state)
{
	sign_with_ssh_added_key(*state, "-t rsa -b 2048", "rsa-sha2-256", "rsa-sha2-256");
}

static void test_agent_signs_with_ssh_added_rsa_key_using_sha512(void **state)
{
	sign_with_ssh_added_key(*state, "-t rsa -b 2048", "rsa-sha2-512", "rsa-sha2-512");
}

static void test_rsa_signature_defaults_to_sha512(void **state)
{
	sign_with_ssh_added_key(*state, "-t rsa -b 2048", NULL, "rsa-sha2-512");
}

static void test_agent_signer_signs_through_the_agent(void **state)
{
	_cleanup_(agentc_closep) struct agentc *a = connect_agent(*state);
	_cleanup_(key_freep) struct key *k = NULL, *pub = NULL;
	_cleanup_(wbuf_freep) struct wbuf *sig = wbuf_new(0);

	assert_int_equal(key_generate(KEY_ECDSA_P256, 0, &k), 0);
	assert_int_equal(key_public(k, &pub), 0);
	assert_int_equal(agentc_add_key(a, k, "signer", 0, false), 0);
	struct signer s = agentc_signer(a, pub);
	assert_ptr_equal(s.pub, pub);
	assert_int_equal(s.sign(s.ctx, s.pub, data, sizeof data, NULL, sig), 0);
	assert_int_equal(key_verify(pub, wbuf_ptr(sig), wbuf_len(sig), data, sizeof data, NULL), 0);
}

static void test_signing_with_a_key_the_agent_lacks_is_refused(void **state)
{
	_cleanup_(agentc_closep) struct agentc *a = connect_agent(*state);
	_cleanup_(key_freep) struct key *k = NULL, *absent = NULL;
	_cleanup_(wbuf_freep) struct wbuf *sig = wbuf_new(0);

	assert_int_equal(key_generate(KEY_ED25519, 0, &k), 0);
	assert_int_equal(key_generate(KEY_ED25519, 0, &absent), 0);
	assert_int_equal(agentc_add_key(a, k, "present", 0, false), 0);
	assert_int_equal(agentc_sign(a, absent, data, sizeof data, NULL, sig), JIT_E_AGENT_NOKEY);
	assert_int_equal(wbuf_len(sig), 0);
}

static void test_signature_algorithm_not_for_the_key_is_refused(void **state)
{
	_cleanup_(agentc_closep) struct agentc *a = connect_agent(*state);
	_cleanup_(key_freep) struct key *k = NULL;
	_cleanup_(wbuf_freep) struct wbuf *sig = wbuf_new(0);

	assert_int_equal(key_generate(KEY_ED25519, 0, &k), 0);
	assert_int_equal(agentc_add_key(a, k, "ed", 0, false), 0);
	assert_int_equal(agentc_sign(a, k, data, sizeof data, "rsa-sha2-256", sig), JIT_E_KEY_TYPE);
	assert_int_equal(agentc_sign(a, k, data, sizeof data, "ecdsa-sha2-nistp256", sig),
			 JIT_E_KEY_TYPE);
	assert_int_equal(wbuf_len(sig), 0);
}

static void test_rsa_sha1_signature_is_never_requested(void **state)
{
	_cleanup_(agentc_closep) struct agentc *a = connect_agent(*state);
	_cleanup_(key_freep) struct key *pub = keygen_and_ssh_add(*state, "r", "-t rsa -b 2048");
	_cleanup_(wbuf_freep) struct wbuf *sig = wbuf_new(0);

	assert_int_equal(agentc_sign(a, pub, data, sizeof data, "ssh-rsa", sig), JIT_E_KEY_TYPE);
	assert_int_equal(wbuf_len(sig), 0);
}

static void test_request_over_the_limit_is_refused_before_sending(void **state)
{
	_cleanup_(agentc_closep) struct agentc *a = connect_agent(*state);
	_cleanup_(key_freep) struct key *k = NULL;
	_cleanup_(wbuf_freep) struct wbuf *sig = wbuf_new(0);
	_cleanup_free_ uint8_t *big = calloc(1, AGENT_REQUEST_MAX);
	struct agent_identity *ids = NULL;
	size_t n = 0;

	assert_non_null(big);
	assert_int_equal(key_generate(KEY_ED25519, 0, &k), 0);
	assert_int_equal(agentc_add_key(a, k, "k", 0, false), 0);
	assert_int_equal(agentc_sign(a, k, big, AGENT_REQUEST_MAX, NULL, sig), JIT_E_TOO_LARGE);
	/* The connection is still usable. */
	assert_int_equal(agentc_list(a, &ids, &n), 0);
	assert_int_equal(n, 1);
	agentc_identities_free(ids, n);
}

/* ---- opening ----------------------------------------------------------------------- */

static void test_open_without_ssh_auth_sock_is_enoent(void **state)
{
	(void)state;
	struct agentc *a = NULL;
	char *saved = getenv("SSH_AUTH_SOCK") ? strdup(getenv("SSH_AUTH_SOCK")) : NULL;

	unsetenv("SSH_AUTH_SOCK");
	assert_int_equal(agentc_open(NULL, &a), -ENOENT);
	setenv("SSH_AUTH_SOCK", "", 1);
	assert_int_equal(agentc_open(NULL, &a), -ENOENT);
	assert_null(a);
	if (saved)
		setenv("SSH_AUTH_SOCK", saved, 1);
	else
		unsetenv("SSH_AUTH_SOCK");
	free(saved);
}

static void test_open_uses_ssh_auth_sock(void **state)
{
	const struct agent *ag = *state;
	_cleanup_(agentc_closep) struct agentc *a = NULL;
	struct agent_identity *ids = NULL;
	size_t n = 1;

	setenv("SSH_AUTH_SOCK", ag->sock, 1);
	assert_int_equal(agentc_open(NULL, &a), 0);
	unsetenv("SSH_AUTH_SOCK");
	assert_int_equal(agentc_list(a, &ids, &n), 0);
	assert_int_equal(n, 0);
}

static void test_open_of_missing_socket_fails(void **state)
{
	(void)state;
	struct agentc *a = NULL;

	assert_int_equal(agentc_open("/nonexistent/jit-ssh/agent.sock", &a), -ENOENT);
	assert_null(a);
}

static void test_open_of_socket_path_too_long_is_refused(void **state)
{
	(void)state;
	char path[200];
	struct agentc *a = NULL;

	memset(path, 'a', sizeof path - 1);
	path[0] = '/';
	path[sizeof path - 1] = 0;
	assert_int_equal(agentc_open(path, &a), JIT_E_TOO_LARGE);
	assert_null(a);
}

static void test_close_accepts_null(void **state)
{
	(void)state;
	assert_null(agentc_close(NULL));
}

/* ---- a misbehaving peer ------------------------------------------------------------ */

/*
 * A one-shot server at DIR/peer.sock: accepts one connection; unless @reply is NULL, reads
 * one framed request, then writes @reply_len bytes of @reply; then closes and exits.
 */
static pid_t peer_start(const char *dir, const uint8_t *reply, size_t reply_len, char **ret_path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	char *path = NULL;
	pid_t pid;
	int fd;

	assert_true(asprintf(&path, "%s/peer.sock", dir) > 0);
	assert_true(strlen(path) < sizeof addr.sun_path);
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
	assert_int_equal(listen(fd, 1), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int c = accept(fd, NULL, NULL);
		uint8_t hdr[4], buf[4096];
		if (c < 0)
			_exit(1);
		if (reply) {
			if (recv(c, hdr, 4, MSG_WAITALL) != 4)
				_exit(1);
			size_t n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 |
				   (size_t)hdr[2] << 8 | hdr[3];
			while (n > 0) {
				ssize_t r = recv(c, buf, n < sizeof buf ? n : sizeof buf, 0);
				if (r <= 0)
					_exit(1);
				n -= (size_t)r;
			}
			if (send(c, reply, reply_len, MSG_NOSIGNAL) != (ssize_t)reply_len)
				_exit(1);
		}
		close(c);
		_exit(0);
	}
	close(fd);
	*ret_path = path;
	return pid;
}

static int peer_wait(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* agentc_list() against a peer that answers @reply; returns its error code. */
static int list_against_peer(const uint8_t *reply, size_t reply_len, int *ret_second)
{
	_cleanup_free_ char *dir = tu_tmpdir(), *path = NULL;
	struct agent_identity *ids = NULL;
	struct agentc *a = NULL;
	size_t n = 0;
	pid_t pid;
	int r;

	assert_non_null(dir);
	pid = peer_start(dir, reply, reply_len, &path);
	assert_int_equal(agentc_open(path, &a), 0);
	r = agentc_list(a, &ids, &n);
	if (r == 0)
		agentc_identities_free(ids, n);
	assert_int_equal(peer_wait(pid), 0);
	if (ret_second)
		*ret_second = agentc_list(a, &ids, &n);
	agentc_close(a);
	tu_rmtree(dir);
	return r;
}

static void test_reply_length_over_the_limit_is_refused(void **state)
{
	(void)state;
	const uint32_t n = AGENT_REPLY_MAX + 1;
	const uint8_t reply[] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8),
				 (uint8_t)n, 12};
	int second;

	assert_int_equal(list_against_peer(reply, sizeof reply, &second), JIT_E_TOO_LARGE);
	/* The stream is out of step: the connection is closed, not reused. */
	assert_int_equal(second, -ENOTCONN);
}

static void test_reply_of_exactly_the_limit_is_read(void **state)
{
	(void)state;
	_cleanup_free_ uint8_t *reply = calloc(1, 4 + AGENT_REPLY_MAX);

	assert_non_null(reply);
	reply[1] = (uint8_t)(AGENT_REPLY_MAX >> 16); /* length AGENT_REPLY_MAX, big-endian */
	reply[4] = 5;				     /* SSH_AGENT_FAILURE, then padding */
	assert_int_equal(list_against_peer(reply, 4 + AGENT_REPLY_MAX, NULL), JIT_E_AGENT);
}

static void test_reply_cut_short_is_an_error(void **state)
{
	(void)state;
	const uint8_t reply[] = {0, 0, 0, 9, 12, 0, 0, 0};

	assert_int_equal(list_against_peer(reply, sizeof reply, NULL), -ECONNRESET);
}

static void test_reply_header_cut_short_is_an_error(void **state)
{
	(void)state;
	const uint8_t reply[] = {0, 0};

	assert_int_equal(list_against_peer(reply, sizeof reply, NULL), -ECONNRESET);
}

static void test_empty_reply_message_is_malformed(void **state)
{
	(void)state;
	const uint8_t reply[] = {0, 0, 0, 0};

	assert_int_equal(list_against_peer(reply, sizeof reply, NULL), JIT_E_FORMAT);
}

static void test_reply_of_wrong_type_is_malformed(void **state)
{
	(void)state;
	const uint8_t reply[] = {0, 0, 0, 1, 6};

	assert_int_equal(list_against_peer(reply, sizeof reply, NULL), JIT_E_FORMAT);
}

/* agentc_sign() with @pub against a peer that answers SSH_AGENT_SIGN_RESPONSE carrying a
 * signature made by @signer with @alg; returns agentc_sign()'s result. */
static int sign_against_peer(const struct key *pub, const struct key *signer, const char *alg,
			     const char *ask_alg, struct wbuf *sig)
{
	_cleanup_free_ char *dir = tu_tmpdir(), *path = NULL;
	_cleanup_(wbuf_freep) struct wbuf *inner = wbuf_new(0), *reply = wbuf_new(0);
	_cleanup_(agentc_closep) struct agentc *a = NULL;
	pid_t pid;
	int r;

	assert_non_null(dir);
	assert_int_equal(key_sign(signer, data, sizeof data, alg, inner), 0);
	assert_int_equal(wbuf_put_u32(reply, (uint32_t)(1 + 4 + wbuf_len(inner))), 0);
	assert_int_equal(wbuf_put_u8(reply, 14), 0);
	assert_int_equal(wbuf_put_stringb(reply, inner), 0);
	pid = peer_start(dir, wbuf_ptr(reply), wbuf_len(reply), &path);
	assert_int_equal(agentc_open(path, &a), 0);
	r = agentc_sign(a, pub, data, sizeof data, ask_alg, sig);
	assert_int_equal(peer_wait(pid), 0);
	tu_rmtree(dir);
	return r;
}

static void test_signature_by_another_key_is_refused(void **state)
{
	(void)state;
	_cleanup_(key_freep) struct key *k = NULL, *other = NULL;
	_cleanup_(wbuf_freep) struct wbuf *sig = wbuf_new(0);

	assert_int_equal(key_generate(KEY_ED25519, 0, &k), 0);
	assert_int_equal(key_generate(KEY_ED25519, 0, &other), 0);
	assert_int_equal(sign_against_peer(k, other, NULL, NULL, sig), JIT_E_SIGNATURE);
	assert_int_equal(wbuf_len(sig), 0);
	/* The same peer answer made by the right key is accepted (the check can pass). */
	assert_int_equal(sign_against_peer(k, k, NULL, NULL, sig), 0);
	assert_true(wbuf_len(sig) > 0);
}

static void test_signature_with_another_algorithm_than_asked_is_refused(void **state)
{
	(void)state;
	_cleanup_(key_freep) struct key *k = NULL;
	_cleanup_(wbuf_freep) struct wbuf *sig = wbuf_new(0);

	assert_int_equal(key_generate(KEY_RSA, 2048, &k), 0);
	assert_int_equal(sign_against_peer(k, k, "rsa-sha2-256", "rsa-sha2-512", sig),
			 JIT_E_SIGNATURE);
	assert_int_equal(wbuf_len(sig), 0);
}

static void test_peer_that_hangs_up_does_not_raise_sigpipe(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = tu_tmpdir(), *path = NULL;
	_cleanup_(agentc_closep) struct agentc *a = NULL;
	_cleanup_(key_freep) struct key *k = NULL;
	_cleanup_(wbuf_freep) struct wbuf *sig = wbuf_new(0);
	_cleanup_free_ uint8_t *big = calloc(1, 200000);
	void (*old)(int) = signal(SIGPIPE, SIG_DFL);
	pid_t pid;
	int r;

	assert_non_null(dir);
	assert_non_null(big);
	assert_int_equal(key_generate(KEY_ED25519, 0, &k), 0);
	pid = peer_start(dir, NULL, 0, &path);
	assert_int_equal(agentc_open(path, &a), 0);
	assert_int_equal(peer_wait(pid), 0); /* the peer has closed its end */
	r = agentc_sign(a, k, big, 200000, NULL, sig);
	assert_true(r == -EPIPE || r == -ECONNRESET);
	signal(SIGPIPE, old);
	tu_rmtree(dir);
}

/* ---- the identities-answer parser --------------------------------------------------- */

/* An identities answer holding @n blobs with comments "c0", "c1", ... (new buffer). */
static struct wbuf *answer(uint8_t type, uint32_t count, const struct wbuf *const *blobs, size_t n)
{
	struct wbuf *b = wbuf_new(0);

	assert_non_null(b);
	assert_int_equal(wbuf_put_u8(b, type), 0);
	assert_int_equal(wbuf_put_u32(b, count), 0);
	for (size_t i = 0; i < n; i++) {
		char comment[32];
		snprintf(comment, sizeof comment, "c%zu", i);
		assert_int_equal(wbuf_put_stringb(b, blobs[i]), 0);
		assert_int_equal(wbuf_put_cstring(b, comment), 0);
	}
	return b;
}

static struct wbuf *key_blob(enum key_type type)
{
	_cleanup_(key_freep) struct key *k = NULL;
	struct wbuf *b = wbuf_new(0);

	assert_int_equal(key_generate(type, 0, &k), 0);
	assert_int_equal(key_put_blob(k, b), 0);
	return b;
}

static void test_identities_answer_is_parsed(void **state)
{
	(void)state;
	_cleanup_(wbuf_freep) struct wbuf *k1 = key_blob(KEY_ED25519);
	_cleanup_(wbuf_freep) struct wbuf *k2 = key_blob(KEY_ECDSA_P256);
	_cleanup_(wbuf_freep) struct wbuf *dss = wbuf_new(0);
	assert_int_equal(wbuf_put_cstring(dss, "ssh-dss"), 0);
	assert_int_equal(wbuf_put_string(dss, "xyz", 3), 0);
	const struct wbuf *blobs[] = {k1, k2, dss};
	_cleanup_(wbuf_freep) struct wbuf *msg = answer(12, 3, blobs, 3);
	struct agent_identity *ids = NULL;
	size_t n = 0;

	assert_int_equal(agentc_parse_identities(wbuf_ptr(msg), wbuf_len(msg), &ids, &n), 0);
	assert_int_equal(n, 3);
	assert_non_null(ids[0].key);
	assert_int_equal(key_type(ids[0].key), KEY_ED25519);
	assert_int_equal(key_type(ids[1].key), KEY_ECDSA_P256);
	assert_memory_equal(ids[1].blob, wbuf_ptr(k2), wbuf_len(k2));
	assert_string_equal(ids[1].comment, "c1");
	/* An unsupported key type is listed, unparsed. */
	assert_null(ids[2].key);
	assert_null(ids[2].cert);
	assert_int_equal(ids[2].blob_len, wbuf_len(dss));
	agentc_identities_free(ids, n);
}

static void test_identities_answer_truncated_at_every_length_is_refused(void **state)
{
	(void)state;
	_cleanup_(wbuf_freep) struct wbuf *k1 = key_blob(KEY_ED25519);
	_cleanup_(wbuf_freep) struct wbuf *k2 = key_blob(KEY_ECDSA_P384);
	const struct wbuf *blobs[] = {k1, k2};
	_cleanup_(wbuf_freep) struct wbuf *msg = answer(12, 2, blobs, 2);

	for (size_t len = 0; len < wbuf_len(msg); len++) {
		struct agent_identity *ids = (void *)0x1;
		size_t n = 77;
		int r = agentc_parse_identities(wbuf_ptr(msg), len, &ids, &n);
		assert_int_equal(r, JIT_E_FORMAT);
		assert_ptr_equal(ids, (void *)0x1);
		assert_int_equal(n, 77);
	}
}

static void test_identities_answer_with_trailing_byte_is_refused(void **state)
{
	(void)state;
	_cleanup_(wbuf_freep) struct wbuf *k1 = key_blob(KEY_ED25519);
	const struct wbuf *blobs[] = {k1};
	_cleanup_(wbuf_freep) struct wbuf *msg = answer(12, 1, blobs, 1);
	struct agent_identity *ids = NULL;
	size_t n = 0;

	assert_int_equal(wbuf_put_u8(msg, 0), 0);
	assert_int_equal(agentc_parse_identities(wbuf_ptr(msg), wbuf_len(msg), &ids, &n),
			 JIT_E_FORMAT);
}

static void test_identities_answer_with_count_above_entries_is_refused(void **state)
{
	(void)state;
	_cleanup_(wbuf_freep) struct wbuf *k1 = key_blob(KEY_ED25519);
	const struct wbuf *blobs[] = {k1};
	_cleanup_(wbuf_freep) struct wbuf *msg = answer(12, 2, blobs, 1);
	struct agent_identity *ids = NULL;
	size_t n = 0;

	assert_int_equal(agentc_parse_identities(wbuf_ptr(msg), wbuf_len(msg), &ids, &n),
			 JIT_E_FORMAT);
}

static void test_identities_answer_with_too_many_keys_is_refused(void **state)
{
	(void)state;
	_cleanup_(wbuf_freep) struct wbuf *at = answer(12, AGENT_IDENTITIES_MAX, NULL, 0);
	_cleanup_(wbuf_freep) struct wbuf *over = answer(12, AGENT_IDENTITIES_MAX + 1, NULL, 0);
	struct agent_identity *ids = NULL;
	size_t n = 0;

	/* At the limit the count is fine but the entries are missing; one over is too many. */
	assert_int_equal(agentc_parse_identities(wbuf_ptr(at), wbuf_len(at), &ids, &n),
			 JIT_E_FORMAT);
	assert_int_equal(agentc_parse_identities(wbuf_ptr(over), wbuf_len(over), &ids, &n),
			 JIT_E_TOO_LARGE);
}

static void test_identities_answer_of_the_maximum_count_is_parsed(void **state)
{
	(void)state;
	_cleanup_(wbuf_freep) struct wbuf *dss = wbuf_new(0);
	_cleanup_(wbuf_freep) struct wbuf *msg = NULL;
	struct agent_identity *ids = NULL;
	size_t n = 0;

	assert_int_equal(wbuf_put_cstring(dss, "ssh-dss"), 0);
	const struct wbuf **blobs = calloc(AGENT_IDENTITIES_MAX, sizeof *blobs);
	assert_non_null(blobs);
	for (size_t i = 0; i < AGENT_IDENTITIES_MAX; i++)
		blobs[i] = dss;
	msg = answer(12, AGENT_IDENTITIES_MAX, blobs, AGENT_IDENTITIES_MAX);
	free(blobs);
	assert_int_equal(agentc_parse_identities(wbuf_ptr(msg), wbuf_len(msg), &ids, &n), 0);
	assert_int_equal(n, AGENT_IDENTITIES_MAX);
	agentc_identities_free(ids, n);
}

static void test_identities_answer_over_reply_limit_is_refused(void **state)
{
	(void)state;
	_cleanup_free_ uint8_t *msg = calloc(1, AGENT_REPLY_MAX + 1);
	struct agent_identity *ids = NULL;
	size_t n = 0;

	assert_non_null(msg);
	msg[0] = 12;
	assert_int_equal(agentc_parse_identities(msg, AGENT_REPLY_MAX + 1, &ids, &n),
			 JIT_E_TOO_LARGE);
}

static void test_failure_reply_is_agent_error(void **state)
{
	(void)state;
	const uint8_t codes[] = {5, 30, 102};
	struct agent_identity *ids = NULL;
	size_t n = 0;

	for (size_t i = 0; i < sizeof codes; i++)
		assert_int_equal(agentc_parse_identities(&codes[i], 1, &ids, &n), JIT_E_AGENT);
}

static void test_comment_with_nul_byte_is_refused(void **state)
{
	(void)state;
	_cleanup_(wbuf_freep) struct wbuf *k1 = key_blob(KEY_ED25519);
	_cleanup_(wbuf_freep) struct wbuf *msg = wbuf_new(0);
	struct agent_identity *ids = NULL;
	size_t n = 0;

	assert_int_equal(wbuf_put_u8(msg, 12), 0);
	assert_int_equal(wbuf_put_u32(msg, 1), 0);
	assert_int_equal(wbuf_put_stringb(msg, k1), 0);
	assert_int_equal(wbuf_put_string(msg, "a\0b", 3), 0);
	assert_int_equal(agentc_parse_identities(wbuf_ptr(msg), wbuf_len(msg), &ids, &n),
			 JIT_E_FORMAT);
}

static void test_flipped_byte_never_crashes_and_fails_cleanly(void **state)
{
	(void)state;
	_cleanup_(wbuf_freep) struct wbuf *k1 = key_blob(KEY_ED25519);
	const struct wbuf *blobs[] = {k1};
	_cleanup_(wbuf_freep) struct wbuf *msg = answer(12, 1, blobs, 1);
	_cleanup_free_ uint8_t *copy = malloc(wbuf_len(msg));

	assert_non_null(copy);
	for (size_t i = 0; i < wbuf_len(msg); i++) {
		struct agent_identity *ids = NULL;
		size_t n = 0;
		int r;

		memcpy(copy, wbuf_ptr(msg), wbuf_len(msg));
		copy[i] ^= 0x80;
		r = agentc_parse_identities(copy, wbuf_len(msg), &ids, &n);
		if (r == 0) {
			/* Only a flip inside the key or comment bytes can still parse. */
			assert_int_equal(n, 1);
			agentc_identities_free(ids, n);
		} else {
			assert_true(r == JIT_E_FORMAT || r == JIT_E_TOO_LARGE);
		}
	}
}

int main(void)
{
#define AGENT_TEST(t) cmocka_unit_test_setup_teardown(t, agent_setup, agent_teardown)
	const struct CMUnitTest tests[] = {
		AGENT_TEST(test_empty_agent_lists_no_identities),
		AGENT_TEST(test_added_ed25519_key_is_listed_by_ssh_add_with_its_fingerprint),
		AGENT_TEST(test_added_ecdsa_p256_key_is_listed_and_signs),
		AGENT_TEST(test_added_ecdsa_p384_key_is_listed_and_signs),
		AGENT_TEST(test_added_rsa_key_is_listed_and_signs),
		AGENT_TEST(test_key_added_with_lifetime_is_listed_by_ssh_add),
		AGENT_TEST(test_key_with_one_second_lifetime_disappears),
		AGENT_TEST(
			test_key_with_confirm_constraint_is_not_used_when_confirmation_is_refused),
		cmocka_unit_test_setup_teardown(
			test_key_with_confirm_constraint_signs_once_confirmed,
			agent_setup_confirming, agent_teardown),
		AGENT_TEST(test_key_and_certificate_are_listed_by_ssh_add),
		AGENT_TEST(test_certificate_for_another_key_is_refused),
		AGENT_TEST(test_removed_identity_is_no_longer_listed),
		AGENT_TEST(test_removing_an_absent_identity_is_refused),
		AGENT_TEST(test_agent_signs_with_ssh_added_ed25519_key),
		AGENT_TEST(test_agent_signs_with_ssh_added_ecdsa_p256_key),
		AGENT_TEST(test_agent_signs_with_ssh_added_ecdsa_p384_key),
		AGENT_TEST(test_agent_signs_with_ssh_added_rsa_key_using_sha256),
		AGENT_TEST(test_agent_signs_with_ssh_added_rsa_key_using_sha512),
		AGENT_TEST(test_rsa_signature_defaults_to_sha512),
		AGENT_TEST(test_agent_signer_signs_through_the_agent),
		AGENT_TEST(test_signing_with_a_key_the_agent_lacks_is_refused),
		AGENT_TEST(test_signature_algorithm_not_for_the_key_is_refused),
		AGENT_TEST(test_rsa_sha1_signature_is_never_requested),
		AGENT_TEST(test_request_over_the_limit_is_refused_before_sending),
		AGENT_TEST(test_open_uses_ssh_auth_sock),
		cmocka_unit_test(test_open_without_ssh_auth_sock_is_enoent),
		cmocka_unit_test(test_open_of_missing_socket_fails),
		cmocka_unit_test(test_open_of_socket_path_too_long_is_refused),
		cmocka_unit_test(test_close_accepts_null),
		cmocka_unit_test(test_reply_length_over_the_limit_is_refused),
		cmocka_unit_test(test_reply_of_exactly_the_limit_is_read),
		cmocka_unit_test(test_reply_cut_short_is_an_error),
		cmocka_unit_test(test_reply_header_cut_short_is_an_error),
		cmocka_unit_test(test_empty_reply_message_is_malformed),
		cmocka_unit_test(test_reply_of_wrong_type_is_malformed),
		cmocka_unit_test(test_signature_by_another_key_is_refused),
		cmocka_unit_test(test_signature_with_another_algorithm_than_asked_is_refused),
		cmocka_unit_test(test_peer_that_hangs_up_does_not_raise_sigpipe),
		cmocka_unit_test(test_identities_answer_is_parsed),
		cmocka_unit_test(test_identities_answer_truncated_at_every_length_is_refused),
		cmocka_unit_test(test_identities_answer_with_trailing_byte_is_refused),
		cmocka_unit_test(test_identities_answer_with_count_above_entries_is_refused),
		cmocka_unit_test(test_identities_answer_with_too_many_keys_is_refused),
		cmocka_unit_test(test_identities_answer_of_the_maximum_count_is_parsed),
		cmocka_unit_test(test_identities_answer_over_reply_limit_is_refused),
		cmocka_unit_test(test_failure_reply_is_agent_error),
		cmocka_unit_test(test_comment_with_nul_byte_is_refused),
		cmocka_unit_test(test_flipped_byte_never_crashes_and_fails_cleanly),
	};
#undef AGENT_TEST

	return cmocka_run_group_tests_name("agentc", tests, NULL, NULL);
}
