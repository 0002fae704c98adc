/* SPDX-License-Identifier: ISC */
/*
 * test_key.c - SSH keys and base64, checked against the real ssh-keygen and ssh-agent.
 *
 * The group setup has ssh-keygen make one key of every supported type in a temporary
 * directory; each per-type test runs once per key. Fixtures that today's ssh-keygen may no
 * longer make (DSA, nistp521, RSA-1024, a passphrase-protected key) are committed in
 * tests/data/key-*.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "b64.h"
#include "err.h"
#include "key.h"
#include "testutil.h"
#include "wbuf.h"

struct fx {
	const char *name;	/* file stem */
	const char *keygen;	/* ssh-keygen -t/-b arguments */
	enum key_type type;
	unsigned bits;
	const char *algs[3];	/* signature algorithms, NULL-terminated */
	/* filled by the group setup */
	char *path;		/* private key file written by ssh-keygen */
	char *line;		/* its .pub line, without the newline */
	char *priv_text;
	size_t priv_len;
	struct key *key;	/* parsed from the private file */
	uint8_t *blob;
	size_t blob_len;
};

#define FX(n, k, t, b, ...) { .name = n, .keygen = k, .type = t, .bits = b, .algs = { __VA_ARGS__ } }
static struct fx fxs[] = {
	FX("ed25519", "-t ed25519", KEY_ED25519, 255, "ssh-ed25519"),
	FX("p256", "-t ecdsa -b 256", KEY_ECDSA_P256, 256, "ecdsa-sha2-nistp256"),
	FX("p384", "-t ecdsa -b 384", KEY_ECDSA_P384, 384, "ecdsa-sha2-nistp384"),
	FX("rsa2048", "-t rsa -b 2048", KEY_RSA, 2048, "rsa-sha2-256", "rsa-sha2-512"),
	FX("rsa3072", "-t rsa -b 3072", KEY_RSA, 3072, "rsa-sha2-512", "rsa-sha2-256"),
};

static char *tmp;
static const uint8_t msg[] = "the request body that gets signed";

/* ---- helpers ---- */

static bool is_error_code(int r)
{
	return r < 0 && (r >= JIT_E_BASE ? r < JIT_E_END : r > -4096);
}

static char *path_in(const char *dir, const char *name)
{
	char *p;
	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

static char *data_path(const char *name)
{
	const char *d = getenv("SSHCORE_TESTDATA");
	return path_in(d && *d ? d : "tests/data", name);
}

/* noinline: keeps gcc's -Wdangling-pointer from tracking the out-parameter */
__attribute__((noinline)) static char *read_text(const char *path, size_t *len)
{
	char *s = NULL;
	assert_int_equal(tu_read_file(path, &s, len), 0);
	return s;
}

static void chomp(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = 0;
}

/* Armour a binary openssh-key-v1 blob the way ssh-keygen does. */
static char *armour(const uint8_t *bin, size_t len)
{
	char *b64, *out;
	size_t n, off = 0;

	assert_int_equal(b64_encode(bin, len, &b64), 0);
	n = strlen(b64);
	out = malloc(n + n / 70 + 128);
	assert_non_null(out);
	off += (size_t)sprintf(out, "-----BEGIN OPENSSH PRIVATE KEY-----\n");
	for (size_t i = 0; i < n; i += 70) {
		size_t m = n - i < 70 ? n - i : 70;
		memcpy(out + off, b64 + i, m);
		off += m;
		out[off++] = '\n';
	}
	sprintf(out + off, "-----END OPENSSH PRIVATE KEY-----\n");
	free(b64);
	return out;
}

/* The binary inside a private-key file's armour. */
static uint8_t *unarmour(const char *text, size_t *ret_len)
{
	const char *p = strchr(text, '\n') + 1, *end = strstr(text, "-----END");
	char *joined = malloc(strlen(text) + 1);
	uint8_t *bin;
	size_t n = 0;

	assert_non_null(joined);
	for (; p < end; p++)
		if (*p != '\n')
			joined[n++] = *p;
	assert_int_equal(b64_decode(joined, n, &bin, ret_len), 0);
	free(joined);
	return bin;
}

static uint8_t *line_blob(const char *line, size_t *ret_len)
{
	const char *b = strchr(line, ' ') + 1, *e = strchr(b, ' ');
	uint8_t *blob;
	assert_int_equal(b64_decode(b, e ? (size_t)(e - b) : strlen(b), &blob, ret_len), 0);
	return blob;
}

static int parse_data_file(const char *name, bool private_file)
{
	char *path = data_path(name), *text;
	struct key *k = NULL;
	size_t len;
	int r;

	text = read_text(path, &len);
	if (private_file)
		r = key_parse_private((const uint8_t *)text, len, &k, NULL);
	else
		r = key_from_line(text, &k, NULL);
	key_free(k);
	free(text);
	free(path);
	return r;
}

static struct wbuf *sign(const struct key *k, const char *alg)
{
	struct wbuf *s = wbuf_new(0);
	assert_int_equal(key_sign(k, msg, sizeof msg, alg, s), 0);
	return s;
}

/* ---- group setup: keys from ssh-keygen ---- */

static int group_setup(void **state)
{
	(void)state;
	tmp = tu_tmpdir();
	if (!tmp)
		return -1;
	for (size_t i = 0; i < ELEMENTSOF(fxs); i++) {
		struct fx *f = &fxs[i];
		char *out = NULL, *pub;
		size_t n;

		f->path = path_in(tmp, f->name);
		if (tu_run(&out, "%s -q %s -N '' -C 'test key %s' -f '%s'", tu_ssh_keygen(),
			   f->keygen, f->name, f->path) != 0) {
			fprintf(stderr, "ssh-keygen failed: %s\n", out);
			free(out);
			return -1;
		}
		free(out);
		if (asprintf(&pub, "%s.pub", f->path) < 0 || tu_read_file(pub, &f->line, NULL) != 0)
			return -1;
		free(pub);
		chomp(f->line);
		if (tu_read_file(f->path, &f->priv_text, &f->priv_len) != 0 ||
		    key_load_private(f->path, true, &f->key) != 0 ||
		    key_to_blob(f->key, &f->blob, &n) != 0)
			return -1;
		f->blob_len = n;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(fxs); i++) {
		free(fxs[i].path);
		free(fxs[i].line);
		free(fxs[i].priv_text);
		free(fxs[i].blob);
		key_free(fxs[i].key);
	}
	tu_rmtree(tmp);
	free(tmp);
	return 0;
}

/* ---- per key type, against ssh-keygen ---- */

static void test_public_line_from_ssh_keygen_round_trips_byte_exactly(void **state)
{
	struct fx *f = *state;
	struct key *k = NULL;
	char *comment = NULL, *line = NULL;

	assert_int_equal(key_from_line(f->line, &k, &comment), 0);
	assert_int_equal(key_type(k), f->type);
	assert_int_equal(key_bits(k), f->bits);
	assert_false(key_has_private(k));
	assert_int_equal(key_to_line(k, comment, &line), 0);
	assert_string_equal(line, f->line);
	free(line);
	free(comment);
	key_free(k);
}

static void test_fingerprint_matches_ssh_keygen_lf(void **state)
{
	struct fx *f = *state;
	char *out = NULL, *fp = NULL, *want;

	assert_int_equal(tu_run(&out, "%s -l -E sha256 -f '%s.pub'", tu_ssh_keygen(), f->path), 0);
	/* "BITS SHA256:xxx comment (TYPE)" */
	want = strtok(strchr(out, ' ') + 1, " ");
	assert_int_equal(key_fingerprint(f->key, &fp), 0);
	assert_string_equal(fp, want);
	free(fp);
	free(out);
}

static void test_private_file_from_ssh_keygen_gives_the_public_key_and_comment(void **state)
{
	struct fx *f = *state;
	struct key *k = NULL, *pub = NULL;
	char *comment = NULL, *want;

	assert_int_equal(key_parse_private((const uint8_t *)f->priv_text, f->priv_len, &k,
					   &comment), 0);
	assert_true(key_has_private(k));
	assert_int_equal(key_from_line(f->line, &pub, NULL), 0);
	assert_true(key_equal_public(k, pub));
	assert_true(asprintf(&want, "test key %s", f->name) > 0);
	assert_string_equal(comment, want);
	free(want);
	free(comment);
	key_free(pub);
	key_free(k);
}

static void test_written_private_key_is_read_back_by_ssh_keygen(void **state)
{
	struct fx *f = *state;
	char *path, *out = NULL, *want;
	struct stat st;

	assert_true(asprintf(&path, "%s/%s-written", tmp, f->name) > 0);
	unlink(path);
	assert_int_equal(key_write_private(f->key, "written", path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(tu_run(&out, "%s -y -f '%s'", tu_ssh_keygen(), path), 0);
	chomp(out);
	assert_int_equal(key_to_line(f->key, "written", &want), 0);
	assert_string_equal(out, want);
	free(want);
	free(out);
	free(path);
}

static void test_written_private_key_signs_with_ssh_keygen(void **state)
{
	struct fx *f = *state;
	char *path, *out = NULL;

	assert_true(asprintf(&path, "%s/%s-signer", tmp, f->name) > 0);
	unlink(path);
	assert_int_equal(key_write_private(f->key, NULL, path), 0);
	assert_int_equal(tu_run(&out,
				"cd '%s' && printf 'hello' > %s.msg && "
				"%s -Y sign -n test -f '%s' %s.msg && "
				"echo 'id %s' > %s.allowed && "
				"%s -Y verify -n test -I id -f %s.allowed -s %s.msg.sig < %s.msg",
				tmp, f->name, tu_ssh_keygen(), path, f->name, f->line, f->name,
				tu_ssh_keygen(), f->name, f->name, f->name),
			 0);
	free(out);
	free(path);
}

static void test_private_file_written_by_us_parses_back_to_the_same_key(void **state)
{
	struct fx *f = *state;
	struct key *k = NULL;
	char *text = NULL, *comment = NULL;
	size_t len;

	assert_int_equal(key_format_private(f->key, "again", &text, &len), 0);
	assert_int_equal(strlen(text), len);
	assert_int_equal(key_parse_private((const uint8_t *)text, len, &k, &comment), 0);
	assert_true(key_equal_public(k, f->key));
	assert_string_equal(comment, "again");
	/* and the private halves are the same: the same agent encoding */
	struct wbuf *a = wbuf_new(0), *b = wbuf_new(0);
	assert_int_equal(key_put_private_agent(k, false, a), 0);
	assert_int_equal(key_put_private_agent(f->key, false, b), 0);
	assert_int_equal(wbuf_len(a), wbuf_len(b));
	assert_memory_equal(wbuf_ptr(a), wbuf_ptr(b), wbuf_len(a));
	wbuf_free(a);
	wbuf_free(b);
	free(comment);
	free(text);
	key_free(k);
}

/* SSH_AGENTC_ADD_IDENTITY (17) with our private encoding; true when the agent says SUCCESS. */
static bool agent_add(const char *sock, const struct key *k)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct wbuf *m = wbuf_new(0), *pkt = wbuf_new(0);
	uint8_t reply[5];
	size_t got = 0;
	int fd;

	strncpy(sa.sun_path, sock, sizeof sa.sun_path - 1);
	assert_int_equal(wbuf_put_u8(m, 17), 0);
	assert_int_equal(wbuf_put_cstring(m, key_type_name(k)), 0);
	assert_int_equal(key_put_private_agent(k, false, m), 0);
	assert_int_equal(wbuf_put_cstring(m, "agent test"), 0);
	assert_int_equal(wbuf_put_stringb(pkt, m), 0);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(write(fd, wbuf_ptr(pkt), wbuf_len(pkt)), (ssize_t)wbuf_len(pkt));
	while (got < sizeof reply) {
		ssize_t n = read(fd, reply + got, sizeof reply - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	wbuf_free(m);
	wbuf_free(pkt);
	return got == sizeof reply && reply[3] == 1 && reply[4] == 6;
}

static void test_agent_encoding_is_accepted_and_used_by_ssh_agent(void **state)
{
	struct fx *f = *state;
	const char *agent = getenv("SSH_AGENT");
	char *sock, *out = NULL;
	pid_t pid;
	int tries;

	if (!agent || !*agent)
		agent = "ssh-agent";
	assert_true(asprintf(&sock, "%s/agent-%s.sock", tmp, f->name) > 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stdout))
			_exit(127);
		execlp(agent, agent, "-D", "-a", sock, (char *)NULL);
		_exit(127);
	}
	/* wait for the socket (no timing assertion: up to ~10 s, then the add fails) */
	for (tries = 0; tries < 1000 && access(sock, F_OK) != 0; tries++)
		usleep(10000);
	bool added = agent_add(sock, f->key);
	if (added)
		/* ssh-keygen -Y sign with a public key file signs through the agent */
		assert_int_equal(tu_run(&out,
					"cd '%s' && printf 'via agent' > %s.amsg && "
					"SSH_AUTH_SOCK='%s' %s -Y sign -n test -f '%s.pub' %s.amsg && "
					"echo 'id %s' > %s.aallowed && %s -Y verify -n test -I id "
					"-f %s.aallowed -s %s.amsg.sig < %s.amsg",
					tmp, f->name, sock, tu_ssh_keygen(), f->path, f->name,
					f->line, f->name, tu_ssh_keygen(), f->name, f->name,
					f->name),
				 0);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	free(out);
	free(sock);
	assert_true(added);
}

static void test_agent_cert_encoding_is_the_tail_of_the_plain_one(void **state)
{
	struct fx *f = *state;
	struct wbuf *plain = wbuf_new(0), *cert = wbuf_new(0);
	size_t pl, cl;

	assert_int_equal(key_put_private_agent(f->key, false, plain), 0);
	assert_int_equal(key_put_private_agent(f->key, true, cert), 0);
	pl = wbuf_len(plain);
	cl = wbuf_len(cert);
	if (f->type == KEY_ED25519)
		assert_int_equal(cl, pl);
	else
		assert_true(cl < pl);
	assert_memory_equal(wbuf_ptr(plain) + pl - cl, wbuf_ptr(cert), cl);
	/* what is dropped is exactly the public fields (ECDSA: curve, Q; RSA: n, e) */
	if (f->type == KEY_ECDSA_P256 || f->type == KEY_ECDSA_P384) {
		struct wbuf *pubf = wbuf_new(0);
		assert_int_equal(key_put_public_fields(f->key, pubf), 0);
		assert_int_equal(pl - cl, wbuf_len(pubf));
		assert_memory_equal(wbuf_ptr(plain), wbuf_ptr(pubf), wbuf_len(pubf));
		wbuf_free(pubf);
	}
	wbuf_free(plain);
	wbuf_free(cert);
}

static void test_agent_encoding_matches_the_fields_in_ssh_keygen_file(void **state)
{
	struct fx *f = *state;
	size_t binlen;
	uint8_t *bin = unarmour(f->priv_text, &binlen);
	struct wbuf *b = wbuf_from(bin, binlen), *priv = NULL, *ours = wbuf_new(0);
	const uint8_t *p;
	size_t n;
	uint32_t u;

	/* magic, cipher, kdf, kdfoptions, count, public blob, private section */
	assert_int_equal(wbuf_consume(b, 15), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(wbuf_get_string_direct(b, &p, &n), 0);
	assert_int_equal(wbuf_get_u32(b, &u), 0);
	assert_int_equal(wbuf_get_string_direct(b, &p, &n), 0);
	assert_int_equal(wbuf_get_stringb(b, &priv), 0);
	assert_int_equal(wbuf_consume(priv, 8), 0);
	assert_int_equal(wbuf_get_string_direct(priv, &p, &n), 0);
	assert_int_equal(key_put_private_agent(f->key, false, ours), 0);
	assert_true(wbuf_len(priv) > wbuf_len(ours));
	assert_memory_equal(wbuf_ptr(priv), wbuf_ptr(ours), wbuf_len(ours));
	wbuf_free(ours);
	wbuf_free(priv);
	wbuf_free(b);
	free(bin);
}

static void test_signatures_verify_for_every_algorithm_of_the_key(void **state)
{
	struct fx *f = *state;
	struct key *pub = NULL;

	assert_int_equal(key_from_line(f->line, &pub, NULL), 0);
	for (int i = 0; f->algs[i]; i++) {
		struct wbuf *s = sign(f->key, f->algs[i]);
		const char *alg = NULL;
		assert_int_equal(key_verify(pub, wbuf_ptr(s), wbuf_len(s), msg, sizeof msg, &alg),
				 0);
		assert_string_equal(alg, f->algs[i]);
		wbuf_free(s);
	}
	/* the default algorithm: the first listed for RSA is not always it, so ask */
	struct wbuf *s = sign(f->key, NULL);
	const char *alg = NULL;
	assert_int_equal(key_verify(pub, wbuf_ptr(s), wbuf_len(s), msg, sizeof msg, &alg), 0);
	assert_string_equal(alg, f->type == KEY_RSA ? "rsa-sha2-512" : f->algs[0]);
	wbuf_free(s);
	key_free(pub);
}

static void test_signature_over_other_data_does_not_verify(void **state)
{
	struct fx *f = *state;
	struct wbuf *s = sign(f->key, NULL);
	uint8_t other[sizeof msg];

	memcpy(other, msg, sizeof msg);
	other[0] ^= 1;
	assert_int_equal(key_verify(f->key, wbuf_ptr(s), wbuf_len(s), other, sizeof other, NULL),
			 JIT_E_SIGNATURE);
	wbuf_free(s);
}

static void test_signature_with_any_byte_flipped_is_refused(void **state)
{
	struct fx *f = *state;
	struct wbuf *s = sign(f->key, NULL);
	size_t len = wbuf_len(s);
	uint8_t *copy = malloc(len);

	for (size_t i = 0; i < len; i++) {
		for (unsigned bit = 0; bit < 8; bit += 7) {
			memcpy(copy, wbuf_ptr(s), len);
			copy[i] ^= (uint8_t)(1u << bit);
			int r = key_verify(f->key, copy, len, msg, sizeof msg, NULL);
			assert_true(is_error_code(r));
		}
	}
	free(copy);
	wbuf_free(s);
}

static void test_signature_truncated_at_any_length_is_refused(void **state)
{
	struct fx *f = *state;
	struct wbuf *s = sign(f->key, NULL);

	for (size_t n = 0; n < wbuf_len(s); n++) {
		uint8_t *copy = malloc(n ? n : 1);
		memcpy(copy, wbuf_ptr(s), n);
		assert_int_equal(key_verify(f->key, copy, n, msg, sizeof msg, NULL), JIT_E_FORMAT);
		free(copy);
	}
	wbuf_free(s);
}

static void test_signature_with_trailing_bytes_is_refused(void **state)
{
	struct fx *f = *state;
	struct wbuf *s = sign(f->key, NULL);

	assert_int_equal(wbuf_put_u8(s, 0), 0);
	assert_int_equal(key_verify(f->key, wbuf_ptr(s), wbuf_len(s), msg, sizeof msg, NULL),
			 JIT_E_FORMAT);
	wbuf_free(s);
}

/*
 * ssh-keygen -Y sign makes an SSHSIG (PROTOCOL.sshsig); its inner signature is an ordinary
 * SSH signature over "SSHSIG" || string namespace || string reserved || string hash_alg ||
 * string H(message), which key_verify() must accept.
 */
static void test_signature_made_by_ssh_keygen_verifies(void **state)
{
	struct fx *f = *state;
	char *out = NULL, *sigpath, *text;
	struct wbuf *b, *tbs = wbuf_new(0);
	const uint8_t *p, *sig, *hashalg;
	size_t n, siglen, hashlen, binlen;
	uint8_t *bin, h[64];
	uint32_t ver;
	const char *alg = NULL;

	assert_int_equal(tu_run(&out, "cd '%s' && printf 'golden' > %s.gmsg && rm -f %s.gmsg.sig"
				" && %s -Y sign -n golden -f '%s' %s.gmsg",
				tmp, f->name, f->name, tu_ssh_keygen(), f->path, f->name),
			 0);
	free(out);
	assert_true(asprintf(&sigpath, "%s/%s.gmsg.sig", tmp, f->name) > 0);
	text = read_text(sigpath, NULL);
	{
		/* armour: first and last lines are markers */
		char *s = strchr(text, '\n') + 1, *e = strstr(s, "-----END"), *j = malloc(
			strlen(text));
		size_t k = 0;
		for (; s < e; s++)
			if (*s != '\n')
				j[k++] = *s;
		assert_int_equal(b64_decode(j, k, &bin, &binlen), 0);
		free(j);
	}
	b = wbuf_from(bin, binlen);
	assert_int_equal(memcmp(wbuf_ptr(b), "SSHSIG", 6), 0);
	assert_int_equal(wbuf_consume(b, 6), 0);
	assert_int_equal(wbuf_get_u32(b, &ver), 0);
	assert_int_equal(wbuf_get_string_direct(b, &p, &n), 0);	/* public key */
	assert_int_equal(n, f->blob_len);
	assert_memory_equal(p, f->blob, n);
	assert_int_equal(wbuf_get_string_direct(b, &p, &n), 0);	/* namespace */
	assert_int_equal(wbuf_get_string_direct(b, &p, &n), 0);	/* reserved */
	assert_int_equal(wbuf_get_string_direct(b, &hashalg, &hashlen), 0);
	assert_int_equal(wbuf_get_string_direct(b, &sig, &siglen), 0);
	assert_true(hashlen == 6 && memcmp(hashalg, "sha512", 6) == 0);
	SHA512((const unsigned char *)"golden", 6, h);
	assert_int_equal(wbuf_put(tbs, "SSHSIG", 6), 0);
	assert_int_equal(wbuf_put_cstring(tbs, "golden"), 0);
	assert_int_equal(wbuf_put_cstring(tbs, ""), 0);
	assert_int_equal(wbuf_put_cstring(tbs, "sha512"), 0);
	assert_int_equal(wbuf_put_string(tbs, h, sizeof h), 0);
	assert_int_equal(key_verify(f->key, sig, siglen, wbuf_ptr(tbs), wbuf_len(tbs), &alg), 0);
	assert_string_equal(alg, f->type == KEY_RSA ? "rsa-sha2-512" : f->algs[0]);
	/* one changed byte of the signed data and it no longer verifies */
	assert_int_equal(key_verify(f->key, sig, siglen, wbuf_ptr(tbs), wbuf_len(tbs) - 1, NULL),
			 JIT_E_SIGNATURE);
	wbuf_free(tbs);
	wbuf_free(b);
	free(bin);
	free(text);
	free(sigpath);
}

static void test_blob_truncated_at_any_length_is_refused(void **state)
{
	struct fx *f = *state;

	for (size_t n = 0; n < f->blob_len; n++) {
		struct key *k = NULL;
		int r = key_from_blob(f->blob, n, &k);
		assert_true(is_error_code(r));
		assert_null(k);
	}
}

static void test_blob_with_any_byte_flipped_is_refused_or_is_another_valid_key(void **state)
{
	struct fx *f = *state;
	uint8_t *copy = malloc(f->blob_len);

	for (size_t i = 0; i < f->blob_len; i++) {
		for (unsigned bit = 0; bit < 8; bit++) {
			struct key *k = NULL;
			memcpy(copy, f->blob, f->blob_len);
			copy[i] ^= (uint8_t)(1u << bit);
			int r = key_from_blob(copy, f->blob_len, &k);
			if (r == 0) {
				/* only key material may change, never the framing */
				uint8_t *again;
				size_t len;
				assert_int_equal(key_to_blob(k, &again, &len), 0);
				assert_int_equal(len, f->blob_len);
				assert_memory_equal(again, copy, len);
				assert_false(key_equal_public(k, f->key));
				free(again);
				key_free(k);
			} else {
				assert_true(is_error_code(r));
			}
		}
	}
	free(copy);
}

static void test_private_file_truncated_at_any_length_is_refused(void **state)
{
	struct fx *f = *state;
	size_t binlen;
	uint8_t *bin = unarmour(f->priv_text, &binlen);

	/* the text (armour and base64) */
	for (size_t n = 0; n + 1 < f->priv_len; n++) {
		struct key *k = NULL;
		int r = key_parse_private((const uint8_t *)f->priv_text, n, &k, NULL);
		assert_true(is_error_code(r));
	}
	/* the binary inside, armoured again */
	for (size_t n = 0; n < binlen; n++) {
		struct key *k = NULL;
		char *text = armour(bin, n);
		int r = key_parse_private((const uint8_t *)text, strlen(text), &k, NULL);
		assert_true(is_error_code(r));
		free(text);
	}
	free(bin);
}

static void test_private_file_with_any_byte_flipped_is_refused_or_same_key(void **state)
{
	struct fx *f = *state;
	size_t binlen;
	uint8_t *bin = unarmour(f->priv_text, &binlen);
	char *orig_comment;

	assert_true(asprintf(&orig_comment, "test key %s", f->name) > 0);
	for (size_t i = 0; i < binlen; i++) {
		struct key *k = NULL;
		char *comment = NULL;
		bin[i] ^= 0x20;
		char *text = armour(bin, binlen);
		int r = key_parse_private((const uint8_t *)text, strlen(text), &k, &comment);
		bin[i] ^= 0x20;
		if (r == 0) {
			/* only the comment may change undetected */
			assert_true(key_equal_public(k, f->key));
			assert_string_not_equal(comment, orig_comment);
			key_free(k);
			free(comment);
		} else {
			assert_true(is_error_code(r));
		}
		free(text);
	}
	free(orig_comment);
	free(bin);
}

static void test_public_copy_has_no_private_half(void **state)
{
	struct fx *f = *state;
	struct key *pub = NULL;
	struct wbuf *w = wbuf_new(0);

	assert_int_equal(key_public(f->key, &pub), 0);
	assert_false(key_has_private(pub));
	assert_true(key_equal_public(pub, f->key));
	assert_int_equal(key_sign(pub, msg, sizeof msg, NULL, w), JIT_E_KEY_TYPE);
	assert_int_equal(key_put_private_agent(pub, false, w), JIT_E_KEY_TYPE);
	assert_int_equal(key_write_private(pub, NULL, "/nonexistent/never"), JIT_E_KEY_TYPE);
	assert_int_equal(wbuf_len(w), 0);
	wbuf_free(w);
	key_free(pub);
}

static void test_public_fields_round_trip_as_in_a_certificate(void **state)
{
	struct fx *f = *state;
	struct wbuf *w = wbuf_new(0);
	struct key *k = NULL;

	assert_int_equal(key_put_public_fields(f->key, w), 0);
	assert_int_equal(wbuf_put_u64(w, 42), 0);
	assert_int_equal(key_get_public_fields(f->type, w, &k), 0);
	assert_true(key_equal_public(k, f->key));
	assert_int_equal(wbuf_len(w), 8); /* the serial after it is left */
	key_free(k);
	wbuf_free(w);
}

static void test_public_fields_of_the_wrong_type_are_refused_and_leave_the_buffer(void **state)
{
	struct fx *f = *state;
	struct wbuf *w = wbuf_new(0);
	struct key *k = NULL;
	enum key_type other = f->type == KEY_ED25519 ? KEY_RSA : KEY_ED25519;

	assert_int_equal(key_put_public_fields(f->key, w), 0);
	size_t len = wbuf_len(w);
	assert_true(is_error_code(key_get_public_fields(other, w, &k)));
	assert_null(k);
	assert_int_equal(wbuf_len(w), len);
	wbuf_free(w);
}

static void test_cert_type_name_maps_back_to_the_key_type(void **state)
{
	struct fx *f = *state;

	assert_int_equal(key_type_from_cert_name(key_cert_type_name(f->key)), f->type);
	assert_non_null(strstr(key_cert_type_name(f->key), key_type_name(f->key)));
}

static void test_certificate_for_the_key_is_refused_as_a_plain_key(void **state)
{
	struct fx *f = *state;
	char *out = NULL, *path, *line;
	struct key *k = NULL;
	uint8_t *blob;
	size_t len;

	assert_int_equal(tu_run(&out, "cd '%s' && rm -f %s-cert.pub && %s -q -s '%s' -I id -n p "
				"'%s.pub'",
				tmp, f->name, tu_ssh_keygen(), fxs[0].path, f->path),
			 0);
	free(out);
	assert_true(asprintf(&path, "%s-cert.pub", f->path) > 0);
	line = read_text(path, NULL);
	assert_int_equal(key_from_line(line, &k, NULL), JIT_E_KEY_TYPE);
	blob = line_blob(line, &len);
	assert_int_equal(key_from_blob(blob, len, &k), JIT_E_KEY_TYPE);
	assert_null(k);
	free(blob);
	free(line);
	free(path);
}

static void test_generated_key_is_accepted_by_ssh_keygen(void **state)
{
	struct fx *f = *state;
	struct key *k = NULL;
	char *path, *line = NULL, *fp = NULL, *out = NULL;

	assert_int_equal(key_generate(f->type, f->bits, &k), 0);
	assert_int_equal(key_type(k), f->type);
	assert_int_equal(key_bits(k), f->bits);
	assert_true(key_has_private(k));
	assert_true(asprintf(&path, "%s/gen-%s", tmp, f->name) > 0);
	unlink(path);
	assert_int_equal(key_write_private(k, "generated", path), 0);
	assert_int_equal(tu_run(&out, "%s -y -f '%s'", tu_ssh_keygen(), path), 0);
	chomp(out);
	assert_int_equal(key_to_line(k, "generated", &line), 0);
	assert_string_equal(out, line);
	free(out);
	assert_int_equal(tu_run(&out, "%s -l -f '%s'", tu_ssh_keygen(), path), 0);
	assert_int_equal(key_fingerprint(k, &fp), 0);
	assert_non_null(strstr(out, fp));
	free(out);
	free(fp);
	free(line);
	free(path);
	key_free(k);
}

/* ---- refusals and edges ---- */

static void test_dsa_key_is_refused_as_key_type(void **state)
{
	(void)state;
	assert_int_equal(parse_data_file("key-dsa.pub", false), JIT_E_KEY_TYPE);
	assert_int_equal(parse_data_file("key-dsa", true), JIT_E_KEY_TYPE);
}

static void test_ecdsa_nistp521_key_is_refused_as_key_type(void **state)
{
	(void)state;
	assert_int_equal(parse_data_file("key-ecdsa521.pub", false), JIT_E_KEY_TYPE);
	assert_int_equal(parse_data_file("key-ecdsa521", true), JIT_E_KEY_TYPE);
}

static void test_rsa_1024_key_is_refused_as_weak(void **state)
{
	(void)state;
	assert_int_equal(parse_data_file("key-rsa1024.pub", false), JIT_E_KEY_WEAK);
	assert_int_equal(parse_data_file("key-rsa1024", true), JIT_E_KEY_WEAK);
}

static void test_keys_made_now_by_ssh_keygen_of_refused_types_are_refused(void **state)
{
	static const struct {
		const char *args;
		int want;
	} cases[] = {
		{ "-t dsa", JIT_E_KEY_TYPE },
		{ "-t ecdsa -b 521", JIT_E_KEY_TYPE },
		{ "-t rsa -b 1024", JIT_E_KEY_WEAK },
		{ "-t ed25519-sk", JIT_E_KEY_TYPE },
	};
	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		char *out = NULL, *path, *line;
		struct key *k = NULL;

		assert_true(asprintf(&path, "%s/refused%zu", tmp, i) > 0);
		if (tu_run(&out, "%s -q %s -N '' -f '%s' </dev/null", tu_ssh_keygen(),
			   cases[i].args, path) == 0) {
			assert_int_equal(key_load_private(path, true, &k), cases[i].want);
			free(path);
			assert_true(asprintf(&path, "%s/refused%zu.pub", tmp, i) > 0);
			line = read_text(path, NULL);
			assert_int_equal(key_from_line(line, &k, NULL), cases[i].want);
			free(line);
		} else {
			/* this ssh-keygen cannot make it (e.g. no DSA, no FIDO token) */
			assert_true(strstr(cases[i].args, "dsa") || strstr(cases[i].args, "-sk"));
		}
		free(out);
		free(path);
	}
}

static void test_sk_key_blob_is_refused_as_key_type(void **state)
{
	struct wbuf *w = wbuf_new(0);
	struct key *k = NULL;
	uint8_t pk[32] = { 1 };

	(void)state;
	assert_int_equal(wbuf_put_cstring(w, "sk-ssh-ed25519@openssh.com"), 0);
	assert_int_equal(wbuf_put_string(w, pk, sizeof pk), 0);
	assert_int_equal(wbuf_put_cstring(w, "ssh:"), 0);
	assert_int_equal(key_from_blob(wbuf_ptr(w), wbuf_len(w), &k), JIT_E_KEY_TYPE);
	wbuf_free(w);
}

static void test_passphrase_protected_key_is_refused_with_passphrase_error(void **state)
{
	char *out = NULL, *path = path_in(tmp, "encrypted");
	struct key *k = NULL;

	(void)state;
	assert_int_equal(parse_data_file("key-ed25519-encrypted", true), JIT_E_PASSPHRASE);
	unlink(path);
	assert_int_equal(tu_run(&out, "%s -q -t ecdsa -N 'pass phrase' -f '%s'", tu_ssh_keygen(),
				path),
			 0);
	assert_int_equal(key_load_private(path, true, &k), JIT_E_PASSPHRASE);
	free(out);
	free(path);
}

static void test_private_key_readable_by_others_is_refused_when_mode_is_required(void **state)
{
	struct fx *f = &fxs[0];
	char *path = path_in(tmp, "mode0644");
	struct key *k = NULL;

	(void)state;
	assert_int_equal(tu_write_file(path, f->priv_text, f->priv_len, 0644), 0);
	assert_int_equal(key_load_private(path, true, &k), JIT_E_PERMISSION);
	assert_null(k);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(key_load_private(path, true, &k), JIT_E_PERMISSION);
	assert_int_equal(chmod(path, 0604), 0);
	assert_int_equal(key_load_private(path, true, &k), JIT_E_PERMISSION);
	/* without the requirement, the same file loads */
	assert_int_equal(key_load_private(path, false, &k), 0);
	key_free(k);
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(key_load_private(path, true, &k), 0);
	key_free(k);
	free(path);
}

static void test_private_key_owned_by_another_user_is_refused_when_mode_is_required(void **state)
{
	struct fx *f = &fxs[0];
	char *path = path_in(tmp, "other-owner");
	uid_t other = geteuid() == 0 ? 65534 : 0;
	struct key *k = NULL;

	(void)state;
	assert_int_equal(tu_write_file(path, f->priv_text, f->priv_len, 0600), 0);
	if (chown(path, other, (gid_t)-1) < 0) {
		free(path);
		skip(); /* only root can give a file away */
	}
	assert_int_equal(key_load_private(path, true, &k), JIT_E_PERMISSION);
	assert_null(k);
	/* without the requirement, the same file loads */
	assert_int_equal(key_load_private(path, false, &k), 0);
	key_free(k);
	free(path);
}

static void test_missing_private_key_file_gives_enoent(void **state)
{
	struct key *k = NULL;
	(void)state;
	assert_int_equal(key_load_private("/nonexistent/key", false, &k), -ENOENT);
}

static void test_private_key_file_over_the_limit_is_refused(void **state)
{
	char *path = path_in(tmp, "huge");
	char *big = malloc(KEY_PRIVATE_FILE_MAX + 1);
	struct key *k = NULL;

	(void)state;
	memset(big, 'A', KEY_PRIVATE_FILE_MAX + 1);
	assert_int_equal(tu_write_file(path, big, KEY_PRIVATE_FILE_MAX + 1, 0600), 0);
	assert_int_equal(key_load_private(path, true, &k), JIT_E_TOO_LARGE);
	assert_int_equal(key_parse_private((uint8_t *)big, KEY_PRIVATE_FILE_MAX + 1, &k, NULL),
			 JIT_E_TOO_LARGE);
	free(big);
	free(path);
}

static void test_write_private_does_not_replace_an_existing_file(void **state)
{
	char *path = path_in(tmp, "exists");
	char *text = NULL;

	(void)state;
	assert_int_equal(tu_write_file(path, "keep", 4, 0600), 0);
	assert_int_equal(key_write_private(fxs[0].key, NULL, path), -EEXIST);
	assert_int_equal(tu_read_file(path, &text, NULL), 0);
	assert_string_equal(text, "keep");
	free(text);
	free(path);
}

static void test_written_key_is_0600_even_with_an_open_umask(void **state)
{
	char *path = path_in(tmp, "umask0");
	struct stat st;
	mode_t old = umask(0);

	(void)state;
	unlink(path);
	assert_int_equal(key_write_private(fxs[1].key, NULL, path), 0);
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	free(path);
}

/* Build a fresh P-256 blob from the fixture with one change. */
static struct wbuf *p256_blob(const char *type, const char *curve, int qbyte, uint8_t qxor)
{
	struct fx *f = &fxs[1];
	struct wbuf *in = wbuf_from(f->blob, f->blob_len), *out = wbuf_new(0);
	const uint8_t *p;
	size_t n;
	uint8_t q[65];

	assert_int_equal(wbuf_get_string_direct(in, &p, &n), 0);
	assert_int_equal(wbuf_get_string_direct(in, &p, &n), 0);
	assert_int_equal(wbuf_get_string_direct(in, &p, &n), 0);
	assert_int_equal(n, 65);
	memcpy(q, p, n);
	if (qbyte >= 0)
		q[qbyte] ^= qxor;
	assert_int_equal(wbuf_put_cstring(out, type), 0);
	assert_int_equal(wbuf_put_cstring(out, curve), 0);
	assert_int_equal(wbuf_put_string(out, q, sizeof q), 0);
	wbuf_free(in);
	return out;
}

static void test_ecdsa_point_off_the_curve_is_refused(void **state)
{
	struct wbuf *w = p256_blob("ecdsa-sha2-nistp256", "nistp256", 64, 1);
	struct key *k = NULL;

	(void)state;
	assert_int_equal(key_from_blob(wbuf_ptr(w), wbuf_len(w), &k), JIT_E_KEY_INVALID);
	wbuf_free(w);
	/* the unchanged point is fine */
	w = p256_blob("ecdsa-sha2-nistp256", "nistp256", -1, 0);
	assert_int_equal(key_from_blob(wbuf_ptr(w), wbuf_len(w), &k), 0);
	key_free(k);
	wbuf_free(w);
}

static void test_ecdsa_compressed_point_is_refused(void **state)
{
	struct wbuf *w = wbuf_new(0);
	struct key *k = NULL;
	uint8_t q[33];

	(void)state;
	memcpy(q, fxs[1].blob + fxs[1].blob_len - 65, 33);
	q[0] = 0x02;
	assert_int_equal(wbuf_put_cstring(w, "ecdsa-sha2-nistp256"), 0);
	assert_int_equal(wbuf_put_cstring(w, "nistp256"), 0);
	assert_int_equal(wbuf_put_string(w, q, sizeof q), 0);
	assert_int_equal(key_from_blob(wbuf_ptr(w), wbuf_len(w), &k), JIT_E_KEY_INVALID);
	wbuf_free(w);
	/* the right length with another prefix byte */
	w = p256_blob("ecdsa-sha2-nistp256", "nistp256", 0, 0x04 ^ 0x06);
	assert_int_equal(key_from_blob(wbuf_ptr(w), wbuf_len(w), &k), JIT_E_KEY_INVALID);
	wbuf_free(w);
}

static void test_ecdsa_curve_name_not_matching_the_type_is_refused(void **state)
{
	struct wbuf *w = p256_blob("ecdsa-sha2-nistp256", "nistp384", -1, 0);
	struct key *k = NULL;

	(void)state;
	assert_int_equal(key_from_blob(wbuf_ptr(w), wbuf_len(w), &k), JIT_E_KEY_INVALID);
	wbuf_free(w);
	w = p256_blob("ecdsa-sha2-nistp384", "nistp256", -1, 0);
	assert_int_equal(key_from_blob(wbuf_ptr(w), wbuf_len(w), &k), JIT_E_KEY_INVALID);
	wbuf_free(w);
}

static void test_ed25519_key_of_31_or_33_bytes_is_invalid(void **state)
{
	uint8_t pk[33] = { 7 };
	struct key *k = NULL;

	(void)state;
	for (size_t n = 31; n <= 33; n += 2) {
		struct wbuf *w = wbuf_new(0);
		assert_int_equal(wbuf_put_cstring(w, "ssh-ed25519"), 0);
		assert_int_equal(wbuf_put_string(w, pk, n), 0);
		assert_int_equal(key_from_blob(wbuf_ptr(w), wbuf_len(w), &k), JIT_E_KEY_INVALID);
		wbuf_free(w);
	}
}

static void test_blob_with_a_trailing_byte_is_refused(void **state)
{
	struct fx *f = &fxs[0];
	uint8_t *b = malloc(f->blob_len + 1);
	struct key *k = NULL;

	(void)state;
	memcpy(b, f->blob, f->blob_len);
	b[f->blob_len] = 0;
	assert_int_equal(key_from_blob(b, f->blob_len + 1, &k), JIT_E_FORMAT);
	free(b);
}

static void test_unknown_key_type_is_refused_as_key_type(void **state)
{
	struct wbuf *w = wbuf_new(0);
	struct key *k = NULL;

	(void)state;
	assert_int_equal(wbuf_put_cstring(w, "ssh-foo"), 0);
	assert_int_equal(key_from_blob(wbuf_ptr(w), wbuf_len(w), &k), JIT_E_KEY_TYPE);
	wbuf_free(w);
}

/* An RSA public blob with e = 65537 and an odd modulus of @bits bits. */
static struct wbuf *rsa_blob(unsigned bits, bool pad_e)
{
	struct wbuf *w = wbuf_new(0);
	size_t n = (bits + 7) / 8;
	uint8_t *mod = calloc(1, n);
	static const uint8_t e[] = { 0x00, 0x01, 0x00, 0x01 };

	mod[0] = (uint8_t)(1u << ((bits + 7) % 8));
	mod[n / 2] = 0x5a;
	mod[n - 1] = 0x01;
	assert_int_equal(wbuf_put_cstring(w, "ssh-rsa"), 0);
	if (pad_e) /* mpint with a needless leading zero */
		assert_int_equal(wbuf_put_string(w, e, sizeof e), 0);
	else
		assert_int_equal(wbuf_put_mpint_bytes(w, e, sizeof e), 0);
	assert_int_equal(wbuf_put_mpint_bytes(w, mod, n), 0);
	free(mod);
	return w;
}

static void test_rsa_modulus_size_limits_are_enforced(void **state)
{
	static const struct {
		unsigned bits;
		int want;
	} cases[] = {
		{ KEY_RSA_MIN_BITS - 1, JIT_E_KEY_WEAK },
		{ KEY_RSA_MIN_BITS, 0 },
		{ KEY_RSA_MAX_BITS, 0 },
		{ KEY_RSA_MAX_BITS + 1, JIT_E_TOO_LARGE },
	};
	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct wbuf *w = rsa_blob(cases[i].bits, false);
		struct key *k = NULL;
		assert_int_equal(key_from_blob(wbuf_ptr(w), wbuf_len(w), &k), cases[i].want);
		if (k)
			assert_int_equal(key_bits(k), cases[i].bits);
		key_free(k);
		wbuf_free(w);
	}
}

static void test_rsa_blob_with_non_minimal_mpint_is_refused(void **state)
{
	struct wbuf *w = rsa_blob(2048, true);
	struct key *k = NULL;

	(void)state;
	assert_int_equal(key_from_blob(wbuf_ptr(w), wbuf_len(w), &k), JIT_E_FORMAT);
	wbuf_free(w);
}

static void test_generate_refuses_rsa_sizes_out_of_range_and_unknown_types(void **state)
{
	struct key *k = NULL;

	(void)state;
	assert_int_equal(key_generate(KEY_RSA, 1024, &k), JIT_E_KEY_WEAK);
	assert_int_equal(key_generate(KEY_RSA, KEY_RSA_MIN_BITS - 1, &k), JIT_E_KEY_WEAK);
	assert_int_equal(key_generate(KEY_RSA, KEY_RSA_MAX_BITS + 1, &k), JIT_E_TOO_LARGE);
	assert_int_equal(key_generate(KEY_UNSPEC, 0, &k), JIT_E_KEY_TYPE);
	assert_null(k);
}

static void test_generate_rsa_defaults_to_3072_bits(void **state)
{
	struct key *k = NULL;

	(void)state;
	assert_int_equal(key_generate(KEY_RSA, 0, &k), 0);
	assert_int_equal(key_bits(k), 3072);
	key_free(k);
}

static void test_ssh_rsa_sha1_is_never_used_or_accepted(void **state)
{
	struct fx *f = &fxs[3];
	struct wbuf *w = wbuf_new(0), *s, *forged = wbuf_new(0);
	const uint8_t *alg, *blob;
	size_t alglen, bloblen;

	(void)state;
	assert_int_equal(key_sign(f->key, msg, sizeof msg, "ssh-rsa", w), JIT_E_KEY_TYPE);
	assert_int_equal(wbuf_len(w), 0);
	/* an rsa-sha2-256 signature relabelled "ssh-rsa" */
	s = sign(f->key, "rsa-sha2-256");
	assert_int_equal(wbuf_get_string_direct(s, &alg, &alglen), 0);
	assert_int_equal(wbuf_get_string_direct(s, &blob, &bloblen), 0);
	assert_int_equal(wbuf_put_cstring(forged, "ssh-rsa"), 0);
	assert_int_equal(wbuf_put_string(forged, blob, bloblen), 0);
	assert_int_equal(key_verify(f->key, wbuf_ptr(forged), wbuf_len(forged), msg, sizeof msg,
				    NULL),
			 JIT_E_KEY_TYPE);
	wbuf_free(forged);
	wbuf_free(s);
	wbuf_free(w);
}

static void test_signature_algorithm_of_another_key_type_is_refused(void **state)
{
	struct wbuf *w = wbuf_new(0);
	struct wbuf *s = sign(fxs[0].key, NULL); /* ssh-ed25519 */

	(void)state;
	for (size_t i = 1; i < ELEMENTSOF(fxs); i++) {
		assert_int_equal(key_verify(fxs[i].key, wbuf_ptr(s), wbuf_len(s), msg, sizeof msg,
					    NULL),
				 JIT_E_KEY_TYPE);
		assert_int_equal(key_sign(fxs[i].key, msg, sizeof msg, "ssh-ed25519", w),
				 JIT_E_KEY_TYPE);
	}
	assert_int_equal(key_sign(fxs[1].key, msg, sizeof msg, "ecdsa-sha2-nistp384", w),
			 JIT_E_KEY_TYPE);
	assert_int_equal(key_sign(fxs[0].key, msg, sizeof msg, "rsa-sha2-512", w),
			 JIT_E_KEY_TYPE);
	assert_int_equal(wbuf_len(w), 0);
	wbuf_free(s);
	wbuf_free(w);
}

/* RFC 8332 / OpenSSH: a signature shorter than the modulus is left-padded and accepted. */
static void test_rsa_signature_shorter_than_the_modulus_is_accepted(void **state)
{
	struct fx *f = &fxs[3];
	const size_t modlen = 256;
	bool found = false;

	(void)state;
	for (uint32_t i = 0; i < 8192 && !found; i++) {
		struct wbuf *s = wbuf_new(0), *shortsig = wbuf_new(0);
		const uint8_t *alg, *blob;
		size_t alglen, bloblen;
		uint8_t data[4] = { (uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8),
				    (uint8_t)i };

		assert_int_equal(key_sign(f->key, data, sizeof data, "rsa-sha2-256", s), 0);
		assert_int_equal(wbuf_get_string_direct(s, &alg, &alglen), 0);
		assert_int_equal(wbuf_get_string_direct(s, &blob, &bloblen), 0);
		assert_int_equal(bloblen, modlen); /* produced at full length */
		if (blob[0] == 0) {
			found = true;
			assert_int_equal(wbuf_put_cstring(shortsig, "rsa-sha2-256"), 0);
			assert_int_equal(wbuf_put_string(shortsig, blob + 1, bloblen - 1), 0);
			assert_int_equal(key_verify(f->key, wbuf_ptr(shortsig), wbuf_len(shortsig),
						    data, sizeof data, NULL),
					 0);
		}
		wbuf_free(shortsig);
		wbuf_free(s);
	}
	assert_true(found);
}

static void test_rsa_signature_longer_than_the_modulus_is_refused(void **state)
{
	struct fx *f = &fxs[3];
	struct wbuf *s = sign(f->key, "rsa-sha2-512"), *longsig = wbuf_new(0);
	const uint8_t *alg, *blob;
	size_t alglen, bloblen;
	uint8_t *padded;

	(void)state;
	assert_int_equal(wbuf_get_string_direct(s, &alg, &alglen), 0);
	assert_int_equal(wbuf_get_string_direct(s, &blob, &bloblen), 0);
	padded = calloc(1, bloblen + 1);
	memcpy(padded + 1, blob, bloblen);
	assert_int_equal(wbuf_put_cstring(longsig, "rsa-sha2-512"), 0);
	assert_int_equal(wbuf_put_string(longsig, padded, bloblen + 1), 0);
	assert_int_equal(key_verify(f->key, wbuf_ptr(longsig), wbuf_len(longsig), msg, sizeof msg,
				    NULL),
			 JIT_E_SIGNATURE);
	free(padded);
	wbuf_free(longsig);
	wbuf_free(s);
}

static void test_ecdsa_signature_with_negative_or_padded_mpint_is_refused(void **state)
{
	struct fx *f = &fxs[1];
	struct wbuf *s = sign(f->key, NULL), *inner, *bad = wbuf_new(0), *in2 = wbuf_new(0);
	const uint8_t *alg, *r, *ss;
	size_t alglen, rlen, slen;
	uint8_t neg[33];

	(void)state;
	assert_int_equal(wbuf_get_string_direct(s, &alg, &alglen), 0);
	assert_int_equal(wbuf_get_stringb(s, &inner), 0);
	assert_int_equal(wbuf_get_mpint_direct(inner, &r, &rlen), 0);
	assert_int_equal(wbuf_get_mpint_direct(inner, &ss, &slen), 0);
	/* r written as a negative number */
	memset(neg, 0, sizeof neg);
	memcpy(neg + sizeof neg - rlen, r, rlen);
	neg[0] = 0x80;
	assert_int_equal(wbuf_put_string(in2, neg, sizeof neg), 0);
	assert_int_equal(wbuf_put_mpint_bytes(in2, ss, slen), 0);
	assert_int_equal(wbuf_put_cstring(bad, "ecdsa-sha2-nistp256"), 0);
	assert_int_equal(wbuf_put_stringb(bad, in2), 0);
	assert_int_equal(key_verify(f->key, wbuf_ptr(bad), wbuf_len(bad), msg, sizeof msg, NULL),
			 JIT_E_FORMAT);
	wbuf_free(inner);
	wbuf_free(in2);
	wbuf_free(bad);
	wbuf_free(s);
}

static void test_key_signer_signs_with_the_key(void **state)
{
	struct fx *f = &fxs[2];
	struct signer sg = key_signer(f->key);
	struct wbuf *s = wbuf_new(0);

	(void)state;
	assert_ptr_equal(sg.pub, f->key);
	assert_int_equal(sg.sign(sg.ctx, sg.pub, msg, sizeof msg, NULL, s), 0);
	assert_int_equal(key_verify(f->key, wbuf_ptr(s), wbuf_len(s), msg, sizeof msg, NULL), 0);
	/* asked for another key's signature, it refuses */
	assert_int_equal(sg.sign(sg.ctx, fxs[0].key, msg, sizeof msg, NULL, s), JIT_E_KEY_TYPE);
	wbuf_free(s);
}

static void test_get_public_reads_a_nested_key_and_leaves_the_buffer_on_failure(void **state)
{
	struct fx *f = &fxs[0];
	struct wbuf *w = wbuf_new(0);
	struct key *k = NULL;

	(void)state;
	assert_int_equal(wbuf_put_string(w, f->blob, f->blob_len - 1), 0);
	assert_int_equal(key_get_public(w, &k), JIT_E_FORMAT);
	assert_int_equal(wbuf_len(w), 4 + f->blob_len - 1);
	wbuf_reset(w);
	assert_int_equal(wbuf_put_string(w, f->blob, f->blob_len), 0);
	assert_int_equal(wbuf_put_u8(w, 9), 0);
	assert_int_equal(key_get_public(w, &k), 0);
	assert_true(key_equal_public(k, f->key));
	assert_int_equal(wbuf_len(w), 1);
	key_free(k);
	wbuf_free(w);
}

static void test_key_line_type_must_match_the_blob(void **state)
{
	struct fx *f = &fxs[0];
	char *line;
	struct key *k = NULL;

	(void)state;
	assert_true(asprintf(&line, "ssh-rsa%s", strchr(f->line, ' ')) > 0);
	assert_int_equal(key_from_line(line, &k, NULL), JIT_E_FORMAT);
	free(line);
}

static void test_key_line_whitespace_and_comment_rules(void **state)
{
	struct fx *f = &fxs[0];
	const char *b64 = strchr(f->line, ' ') + 1;
	char *line, *comment = NULL, *out = NULL;
	struct key *k = NULL;
	int blen = (int)(strchr(b64, ' ') - b64);

	(void)state;
	/* leading blanks, tabs between fields, CRLF at the end, spaces inside the comment */
	assert_true(asprintf(&line, "  ssh-ed25519\t%.*s  a b  c \r\n", blen, b64) > 0);
	assert_int_equal(key_from_line(line, &k, &comment), 0);
	assert_string_equal(comment, "a b  c");
	free(comment);
	k = key_free(k);
	free(line);
	/* no comment */
	assert_true(asprintf(&line, "ssh-ed25519 %.*s\n", blen, b64) > 0);
	assert_int_equal(key_from_line(line, &k, &comment), 0);
	assert_string_equal(comment, "");
	assert_int_equal(key_to_line(k, NULL, &out), 0);
	assert_memory_equal(out, line, strlen(line) - 1);
	free(out);
	assert_int_equal(key_to_line(k, "two\nlines", &out), -EINVAL);
	free(comment);
	k = key_free(k);
	free(line);
	/* two lines in one */
	assert_true(asprintf(&line, "ssh-ed25519 %.*s x\nssh-ed25519 %.*s", blen, b64, blen,
			     b64) > 0);
	assert_int_equal(key_from_line(line, &k, NULL), JIT_E_FORMAT);
	free(line);
	/* missing base64, bad base64, empty */
	assert_int_equal(key_from_line("ssh-ed25519", &k, NULL), JIT_E_FORMAT);
	assert_int_equal(key_from_line("ssh-ed25519 AAAA*AAA", &k, NULL), JIT_E_FORMAT);
	assert_int_equal(key_from_line("", &k, NULL), JIT_E_FORMAT);
	assert_int_equal(key_from_line(" \n", &k, NULL), JIT_E_FORMAT);
	/* authorized_keys options are not part of a key line */
	assert_true(asprintf(&line, "no-pty %s", f->line) > 0);
	assert_true(is_error_code(key_from_line(line, &k, NULL)));
	free(line);
	assert_null(k);
}

static void test_key_line_over_the_limit_is_refused(void **state)
{
	struct fx *f = &fxs[0];
	size_t n = strlen(f->line);
	char *line = malloc(KEY_LINE_MAX + 2);
	struct key *k = NULL;

	(void)state;
	/* exactly at the limit (comment padding) it parses; one more byte and it does not */
	/* the comment limit is smaller than the line limit: pad with trailing blanks */
	memcpy(line, f->line, n);
	memset(line + n, ' ', KEY_LINE_MAX - n);
	line[KEY_LINE_MAX] = 0;
	assert_int_equal(key_from_line(line, &k, NULL), 0);
	key_free(k);
	line[KEY_LINE_MAX] = ' ';
	line[KEY_LINE_MAX + 1] = 0;
	assert_int_equal(key_from_line(line, &k, NULL), JIT_E_TOO_LARGE);
	free(line);
}

static void test_key_comment_over_the_limit_is_refused(void **state)
{
	struct fx *f = &fxs[0];
	const char *b64 = strchr(f->line, ' ') + 1;
	int blen = (int)(strchr(b64, ' ') - b64);
	char *c = malloc(KEY_COMMENT_MAX + 2), *line, *out = NULL;
	struct key *k = NULL;

	(void)state;
	memset(c, 'c', KEY_COMMENT_MAX);
	c[KEY_COMMENT_MAX] = 0;
	assert_true(asprintf(&line, "ssh-ed25519 %.*s %s", blen, b64, c) > 0);
	assert_int_equal(key_from_line(line, &k, NULL), 0);
	key_free(k);
	free(line);
	c[KEY_COMMENT_MAX] = 'c';
	c[KEY_COMMENT_MAX + 1] = 0;
	assert_true(asprintf(&line, "ssh-ed25519 %.*s %s", blen, b64, c) > 0);
	assert_int_equal(key_from_line(line, &k, NULL), JIT_E_TOO_LARGE);
	assert_int_equal(key_to_line(fxs[0].key, c, &out), -EINVAL);
	assert_int_equal(key_format_private(fxs[0].key, c, &out, &(size_t){ 0 }),
			 JIT_E_TOO_LARGE);
	free(line);
	free(c);
}

/* Edit the binary of the ed25519 fixture's private file and parse it again. */
static int parse_edited_private(void (*edit)(uint8_t *bin, size_t len))
{
	size_t binlen;
	uint8_t *bin = unarmour(fxs[0].priv_text, &binlen);
	struct key *k = NULL;
	char *text;
	int r;

	edit(bin, binlen);
	text = armour(bin, binlen);
	r = key_parse_private((const uint8_t *)text, strlen(text), &k, NULL);
	key_free(k);
	free(text);
	free(bin);
	return r;
}

/* Offsets in the ed25519 file: magic 15, "none" x2 (8 each), kdfopts 4, count 4, pub 55. */
#define ED_PRIV_OFF (15 + 8 + 8 + 4 + 4 + 4 + 51 + 4)

static void edit_checkint(uint8_t *bin, size_t len)
{
	(void)len;
	bin[ED_PRIV_OFF] ^= 1;
}

static void edit_padding(uint8_t *bin, size_t len)
{
	bin[len - 1] ^= 0x10;
}

static void edit_private_seed(uint8_t *bin, size_t len)
{
	(void)len;
	/* checkints 8, type 15, pk 36, sk length 4: the first seed byte */
	bin[ED_PRIV_OFF + 8 + 15 + 36 + 4] ^= 1;
}

static void edit_outer_public_key(uint8_t *bin, size_t len)
{
	(void)len;
	bin[ED_PRIV_OFF - 4 - 1] ^= 1; /* last byte of the outer public key */
}

static void edit_key_count(uint8_t *bin, size_t len)
{
	(void)len;
	bin[15 + 8 + 8 + 4 + 3] = 2;
}

static void edit_magic(uint8_t *bin, size_t len)
{
	(void)len;
	bin[0] = 'O';
}

static void test_private_file_inconsistencies_are_refused_as_format(void **state)
{
	(void)state;
	assert_int_equal(parse_edited_private(edit_checkint), JIT_E_FORMAT);
	assert_int_equal(parse_edited_private(edit_padding), JIT_E_FORMAT);
	assert_int_equal(parse_edited_private(edit_private_seed), JIT_E_FORMAT);
	assert_int_equal(parse_edited_private(edit_outer_public_key), JIT_E_FORMAT);
	assert_int_equal(parse_edited_private(edit_key_count), JIT_E_FORMAT);
	assert_int_equal(parse_edited_private(edit_magic), JIT_E_FORMAT);
}

static void test_private_file_of_another_format_is_refused(void **state)
{
	struct key *k = NULL;
	const char *pem = "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n";
	char *out = NULL, *path = path_in(tmp, "pem"), *text;
	size_t len;

	(void)state;
	assert_int_equal(key_parse_private((const uint8_t *)pem, strlen(pem), &k, NULL),
			 JIT_E_FORMAT);
	unlink(path);
	assert_int_equal(tu_run(&out, "%s -q -t ecdsa -m PEM -N '' -f '%s'", tu_ssh_keygen(), path),
			 0);
	text = read_text(path, &len);
	assert_int_equal(key_parse_private((const uint8_t *)text, len, &k, NULL), JIT_E_FORMAT);
	free(text);
	free(out);
	free(path);
}

static void test_private_file_with_crlf_lines_parses(void **state)
{
	struct fx *f = &fxs[0];
	char *crlf = malloc(f->priv_len * 2 + 1), *comment = NULL;
	struct key *k = NULL;
	size_t n = 0;

	(void)state;
	for (size_t i = 0; i < f->priv_len; i++) {
		if (f->priv_text[i] == '\n')
			crlf[n++] = '\r';
		crlf[n++] = f->priv_text[i];
	}
	assert_int_equal(key_parse_private((const uint8_t *)crlf, n, &k, &comment), 0);
	assert_true(key_equal_public(k, f->key));
	key_free(k);
	free(comment);
	/* but not garbage after the end marker */
	crlf[n++] = 'x';
	assert_int_equal(key_parse_private((const uint8_t *)crlf, n, &k, NULL), JIT_E_FORMAT);
	free(crlf);
}

static void test_key_type_from_cert_name_knows_only_supported_types(void **state)
{
	(void)state;
	assert_int_equal(key_type_from_cert_name("ssh-rsa-cert-v01@openssh.com"), KEY_RSA);
	assert_int_equal(key_type_from_cert_name("ssh-dss-cert-v01@openssh.com"), KEY_UNSPEC);
	assert_int_equal(key_type_from_cert_name("ecdsa-sha2-nistp521-cert-v01@openssh.com"),
			 KEY_UNSPEC);
	assert_int_equal(key_type_from_cert_name("ssh-ed25519"), KEY_UNSPEC);
}

static void test_fingerprint_of_a_known_blob(void **state)
{
	/* printf '' | sha256sum: e3b0c442...; its base64 without padding */
	char *fp = NULL;

	(void)state;
	assert_int_equal(key_fingerprint_blob((const uint8_t *)"", 0, &fp), 0);
	assert_string_equal(fp, "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU");
	free(fp);
}

/* ---- base64 ---- */

static void test_b64_round_trips_every_length(void **state)
{
	uint8_t data[64];

	(void)state;
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)(i * 37 + 11);
	for (size_t n = 0; n <= sizeof data; n++) {
		char *text = NULL;
		uint8_t *back = NULL;
		size_t len;
		assert_int_equal(b64_encode(data, n, &text), 0);
		assert_int_equal(strlen(text), (n + 2) / 3 * 4);
		assert_int_equal(b64_decode(text, strlen(text), &back, &len), 0);
		assert_int_equal(len, n);
		assert_memory_equal(back, data, n);
		assert_int_equal(back[n], 0);
		free(back);
		free(text);
	}
}

static void test_b64_known_answers_from_rfc4648(void **state)
{
	static const char *const v[][2] = { { "", "" },		 { "f", "Zg==" },
					    { "fo", "Zm8=" },	 { "foo", "Zm9v" },
					    { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
					    { "foobar", "Zm9vYmFy" } };
	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(v); i++) {
		char *text = NULL;
		assert_int_equal(b64_encode((const uint8_t *)v[i][0], strlen(v[i][0]), &text), 0);
		assert_string_equal(text, v[i][1]);
		free(text);
	}
}

static void test_b64_malformed_text_is_refused(void **state)
{
	static const char *const bad[] = {
		"Zg=",	    /* length not a multiple of 4 */
		"Zg",	    /* padding missing */
		"Z===",	    /* too much padding */
		"Zg=a",	    /* padding in the middle */
		"Zm9v Zg==",/* whitespace */
		" Zm9",	    /* leading whitespace */
		"Zm9\n",    /* newline */
		"Zh==",	    /* non-zero bits after the data */
		"Zm9=",	    /* likewise, one pad */
		"Zm-v",	    /* URL alphabet */
		"====",
	};
	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		uint8_t *out = NULL;
		size_t len = 99;
		assert_int_equal(b64_decode(bad[i], strlen(bad[i]), &out, &len), JIT_E_FORMAT);
		assert_null(out);
		assert_int_equal(len, 99);
	}
	/* a NUL inside the counted text is not base64 either */
	uint8_t *out = NULL;
	size_t len;
	assert_int_equal(b64_decode("Zm\0v", 4, &out, &len), JIT_E_FORMAT);
}

static void test_b64_over_the_limit_is_refused(void **state)
{
	uint8_t *out = NULL;
	char *text = NULL;
	size_t len;

	(void)state;
	assert_int_equal(b64_encode((const uint8_t *)"", (size_t)WBUF_SIZE_MAX + 1, &text),
			 JIT_E_TOO_LARGE);
	assert_int_equal(b64_decode("AAAA", (size_t)WBUF_SIZE_MAX / 3 * 4 + 8, &out, &len),
			 JIT_E_TOO_LARGE);
}

#define PER_KEY(fn)                                                                         \
	cmocka_unit_test_prestate(fn, &fxs[0]), cmocka_unit_test_prestate(fn, &fxs[1]),     \
		cmocka_unit_test_prestate(fn, &fxs[2]), cmocka_unit_test_prestate(fn, &fxs[3]), \
		cmocka_unit_test_prestate(fn, &fxs[4])

int main(void)
{
	char *out = NULL;

	if (tu_run(&out, "%s -? 2>&1; true", tu_ssh_keygen()) != 0 || !strstr(out, "usage")) {
		fprintf(stderr, "ssh-keygen not available: skipping\n");
		free(out);
		return 77;
	}
	free(out);

	const struct CMUnitTest tests[] = {
		PER_KEY(test_public_line_from_ssh_keygen_round_trips_byte_exactly),
		PER_KEY(test_fingerprint_matches_ssh_keygen_lf),
		PER_KEY(test_private_file_from_ssh_keygen_gives_the_public_key_and_comment),
		PER_KEY(test_written_private_key_is_read_back_by_ssh_keygen),
		PER_KEY(test_written_private_key_signs_with_ssh_keygen),
		PER_KEY(test_private_file_written_by_us_parses_back_to_the_same_key),
		PER_KEY(test_agent_encoding_is_accepted_and_used_by_ssh_agent),
		PER_KEY(test_agent_cert_encoding_is_the_tail_of_the_plain_one),
		PER_KEY(test_agent_encoding_matches_the_fields_in_ssh_keygen_file),
		PER_KEY(test_signatures_verify_for_every_algorithm_of_the_key),
		PER_KEY(test_signature_over_other_data_does_not_verify),
		PER_KEY(test_signature_with_any_byte_flipped_is_refused),
		PER_KEY(test_signature_truncated_at_any_length_is_refused),
		PER_KEY(test_signature_with_trailing_bytes_is_refused),
		PER_KEY(test_signature_made_by_ssh_keygen_verifies),
		PER_KEY(test_blob_truncated_at_any_length_is_refused),
		PER_KEY(test_blob_with_any_byte_flipped_is_refused_or_is_another_valid_key),
		PER_KEY(test_private_file_truncated_at_any_length_is_refused),
		PER_KEY(test_private_file_with_any_byte_flipped_is_refused_or_same_key),
		PER_KEY(test_public_copy_has_no_private_half),
		PER_KEY(test_public_fields_round_trip_as_in_a_certificate),
		PER_KEY(test_public_fields_of_the_wrong_type_are_refused_and_leave_the_buffer),
		PER_KEY(test_cert_type_name_maps_back_to_the_key_type),
		PER_KEY(test_certificate_for_the_key_is_refused_as_a_plain_key),
		PER_KEY(test_generated_key_is_accepted_by_ssh_keygen),
		cmocka_unit_test(test_dsa_key_is_refused_as_key_type),
		cmocka_unit_test(test_ecdsa_nistp521_key_is_refused_as_key_type),
		cmocka_unit_test(test_rsa_1024_key_is_refused_as_weak),
		cmocka_unit_test(test_keys_made_now_by_ssh_keygen_of_refused_types_are_refused),
		cmocka_unit_test(test_sk_key_blob_is_refused_as_key_type),
		cmocka_unit_test(test_passphrase_protected_key_is_refused_with_passphrase_error),
		cmocka_unit_test(
			test_private_key_readable_by_others_is_refused_when_mode_is_required),
		cmocka_unit_test(
			test_private_key_owned_by_another_user_is_refused_when_mode_is_required),
		cmocka_unit_test(test_missing_private_key_file_gives_enoent),
		cmocka_unit_test(test_private_key_file_over_the_limit_is_refused),
		cmocka_unit_test(test_write_private_does_not_replace_an_existing_file),
		cmocka_unit_test(test_written_key_is_0600_even_with_an_open_umask),
		cmocka_unit_test(test_ecdsa_point_off_the_curve_is_refused),
		cmocka_unit_test(test_ecdsa_compressed_point_is_refused),
		cmocka_unit_test(test_ecdsa_curve_name_not_matching_the_type_is_refused),
		cmocka_unit_test(test_ed25519_key_of_31_or_33_bytes_is_invalid),
		cmocka_unit_test(test_blob_with_a_trailing_byte_is_refused),
		cmocka_unit_test(test_unknown_key_type_is_refused_as_key_type),
		cmocka_unit_test(test_rsa_modulus_size_limits_are_enforced),
		cmocka_unit_test(test_rsa_blob_with_non_minimal_mpint_is_refused),
		cmocka_unit_test(test_generate_refuses_rsa_sizes_out_of_range_and_unknown_types),
		cmocka_unit_test(test_generate_rsa_defaults_to_3072_bits),
		cmocka_unit_test(test_ssh_rsa_sha1_is_never_used_or_accepted),
		cmocka_unit_test(test_signature_algorithm_of_another_key_type_is_refused),
		cmocka_unit_test(test_rsa_signature_shorter_than_the_modulus_is_accepted),
		cmocka_unit_test(test_rsa_signature_longer_than_the_modulus_is_refused),
		cmocka_unit_test(test_ecdsa_signature_with_negative_or_padded_mpint_is_refused),
		cmocka_unit_test(test_key_signer_signs_with_the_key),
		cmocka_unit_test(
			test_get_public_reads_a_nested_key_and_leaves_the_buffer_on_failure),
		cmocka_unit_test(test_key_line_type_must_match_the_blob),
		cmocka_unit_test(test_key_line_whitespace_and_comment_rules),
		cmocka_unit_test(test_key_line_over_the_limit_is_refused),
		cmocka_unit_test(test_key_comment_over_the_limit_is_refused),
		cmocka_unit_test(test_private_file_inconsistencies_are_refused_as_format),
		cmocka_unit_test(test_private_file_of_another_format_is_refused),
		cmocka_unit_test(test_private_file_with_crlf_lines_parses),
		cmocka_unit_test(test_key_type_from_cert_name_knows_only_supported_types),
		cmocka_unit_test(test_fingerprint_of_a_known_blob),
		cmocka_unit_test(test_b64_round_trips_every_length),
		cmocka_unit_test(test_b64_known_answers_from_rfc4648),
		cmocka_unit_test(test_b64_malformed_text_is_refused),
		cmocka_unit_test(test_b64_over_the_limit_is_refused),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
