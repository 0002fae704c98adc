/* SPDX-License-Identifier: ISC */
/*
 * test_sig.c - SSHSIG against the real ssh-keygen in both directions (ours checked by
 * `ssh-keygen -Y check-novalidate` and `-Y verify`, theirs from `ssh-keygen -Y sign` checked by
 * ours, armour byte-identical), plus the parser's refusals.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "err.h"
#include "key.h"
#include "sig.h"
#include "testutil.h"
#include "wbuf.h"

#define NS "jit-ssh-request"

/* ---- helpers ---------------------------------------------------------------------------- */

static char *data_path(const char *name)
{
	const char *dir = getenv("SSHCORE_TESTDATA");
	char *p;

	assert_true(asprintf(&p, "%s/%s", dir && *dir ? dir : "tests/data", name) > 0);
	return p;
}

static char *read_path(const char *path, size_t *ret_len)
{
	char *text = NULL;

	assert_int_equal(tu_read_file(path, &text, ret_len), 0);
	return text;
}

static char *read_data(const char *name, size_t *ret_len)
{
	char *path = data_path(name), *text = read_path(path, ret_len);

	free(path);
	return text;
}

static struct key *load_pub(const char *name)
{
	char *text = read_data(name, NULL);
	struct key *k = NULL;

	assert_int_equal(key_from_line(text, &k, NULL), 0);
	free(text);
	return k;
}

/* The binary blob inside an armoured fixture. */
static uint8_t *load_blob(const char *name, size_t *ret_len)
{
	size_t len;
	char *text = read_data(name, &len);
	uint8_t *blob = NULL;

	assert_int_equal(sig_dearmor(text, len, &blob, ret_len), 0);
	free(text);
	return blob;
}

/*
 * The golden comparisons need OpenSSH's ssh-keygen, which scripts/setup installs: without it
 * they fail (a cmocka skip() would be counted as a pass).
 */
static void need_ssh_keygen(void)
{
	if (tu_run(NULL, "command -v %s >/dev/null", tu_ssh_keygen()) != 0)
		fail_msg("%s not found: the golden tests need OpenSSH's ssh-keygen "
			 "(scripts/setup installs openssh-client)",
			 tu_ssh_keygen());
}

static struct key *gen(enum key_type t)
{
	struct key *k = NULL;

	assert_int_equal(key_generate(t, t == KEY_RSA ? 3072 : 0, &k), 0);
	return k;
}

static void sign_blob(const struct key *k, const char *ns, const char *msg, const char *hashalg,
		      uint8_t **ret, size_t *ret_len)
{
	struct signer s = key_signer(k);

	assert_int_equal(sig_sign(&s, ns, (const uint8_t *)msg, strlen(msg), hashalg, ret, ret_len),
			 0);
}

/* Sign @msg with @k and write the armoured signature and the message into @dir. */
static void write_ours(const char *dir, const struct key *k, const char *msg, const char *hashalg)
{
	uint8_t *blob;
	size_t len;
	char *armor = NULL, *path = NULL;

	sign_blob(k, NS, msg, hashalg, &blob, &len);
	assert_int_equal(sig_armor(blob, len, &armor), 0);
	assert_true(asprintf(&path, "%s/msg.sig", dir) > 0);
	assert_int_equal(tu_write_file(path, armor, strlen(armor), 0644), 0);
	free(path);
	assert_true(asprintf(&path, "%s/msg", dir) > 0);
	assert_int_equal(tu_write_file(path, msg, strlen(msg), 0644), 0);
	free(path);
	free(armor);
	free(blob);
}

static const struct {
	enum key_type type;
	const char *kg_type, *kg_bits, *fixture;
} key_types[] = {
	{ KEY_ED25519, "ed25519", "256", "ed25519" },
	{ KEY_ECDSA_P256, "ecdsa", "256", "p256" },
	{ KEY_ECDSA_P384, "ecdsa", "384", "p384" },
	{ KEY_RSA, "rsa", "3072", "rsa" },
};

/* ---- fixtures made by ssh-keygen -Y sign (tests/data/make-fixtures.sh) ------------------- */

static void test_ssh_keygen_signatures_of_each_key_type_verify_with_ours(void **state)
{
	size_t msglen;
	char *msg = read_data("sig-msg.json", &msglen);
	(void)state;

	for (size_t i = 0; i < ELEMENTSOF(key_types); i++) {
		char name[64];
		struct key *pub, *got = NULL;
		uint8_t *blob;
		size_t len;

		snprintf(name, sizeof name, "sig-%s.sig", key_types[i].fixture);
		blob = load_blob(name, &len);
		snprintf(name, sizeof name, "sig-%s.pub", key_types[i].fixture);
		pub = load_pub(name);
		assert_int_equal(sig_verify(blob, len, NS, (uint8_t *)msg, msglen, &got), 0);
		assert_true(key_equal_public(got, pub));
		key_free(got);
		key_free(pub);
		free(blob);
	}
	free(msg);
}

static void test_ssh_keygen_sha256_signature_verifies_with_ours(void **state)
{
	size_t msglen, len;
	char *msg = read_data("sig-msg.json", &msglen);
	uint8_t *blob = load_blob("sig-ed25519-sha256.sig", &len);
	(void)state;

	assert_non_null(memmem(blob, len, "\0\0\0\6sha256", 10));
	assert_int_equal(sig_verify(blob, len, NS, (uint8_t *)msg, msglen, NULL), 0);
	free(blob);
	free(msg);
}

static void test_signature_under_another_namespace_is_refused_with_a_namespace_error(
	void **state)
{
	size_t msglen, len;
	char *msg = read_data("sig-msg.json", &msglen);
	uint8_t *blob = load_blob("sig-ed25519.sig", &len);
	struct key *got = (struct key *)&got;
	(void)state;

	assert_int_equal(sig_verify(blob, len, "file", (uint8_t *)msg, msglen, &got),
			 JIT_E_NAMESPACE);
	assert_int_equal(sig_verify(blob, len, NS "x", (uint8_t *)msg, msglen, &got),
			 JIT_E_NAMESPACE);
	assert_ptr_equal(got, (struct key *)&got);
	free(blob);
	free(msg);
}

static void test_signature_over_an_altered_message_is_refused(void **state)
{
	size_t msglen;
	char *msg = read_data("sig-msg.json", &msglen);
	(void)state;

	for (size_t i = 0; i < ELEMENTSOF(key_types); i++) {
		char name[64];
		struct key *got = (struct key *)&got;
		uint8_t *blob;
		size_t len;

		snprintf(name, sizeof name, "sig-%s.sig", key_types[i].fixture);
		blob = load_blob(name, &len);
		msg[10] ^= 0x01;
		assert_int_equal(sig_verify(blob, len, NS, (uint8_t *)msg, msglen, &got),
				 JIT_E_SIGNATURE);
		msg[10] ^= 0x01;
		assert_int_equal(sig_verify(blob, len, NS, (uint8_t *)msg, msglen - 1, &got),
				 JIT_E_SIGNATURE);
		assert_ptr_equal(got, (struct key *)&got);
		free(blob);
	}
	free(msg);
}

static void test_every_truncation_of_each_fixture_is_refused(void **state)
{
	size_t msglen;
	char *msg = read_data("sig-msg.json", &msglen);
	(void)state;

	for (size_t i = 0; i < ELEMENTSOF(key_types); i++) {
		char name[64], *text;
		size_t len, text_len;
		uint8_t *blob;

		snprintf(name, sizeof name, "sig-%s.sig", key_types[i].fixture);
		blob = load_blob(name, &len);
		for (size_t n = 0; n < len; n++) {
			uint8_t *copy = malloc(n ? n : 1);
			struct key *got = (struct key *)&got;

			memcpy(copy, blob, n);
			assert_true(sig_verify(copy, n, NS, (uint8_t *)msg, msglen, &got) < 0);
			assert_ptr_equal(got, (struct key *)&got);
			free(copy);
		}
		/* The armoured text too: a cut before the footer's end never yields a blob. */
		text = read_data(name, &text_len);
		for (size_t n = 0; n + 1 < text_len; n++) {
			uint8_t *out = (uint8_t *)&out;
			size_t out_len = 0;

			assert_true(sig_dearmor(text, n, &out, &out_len) < 0);
			assert_ptr_equal(out, (uint8_t *)&out);
		}
		free(text);
		free(blob);
	}
	free(msg);
}

static void test_every_single_byte_flip_of_each_fixture_is_refused(void **state)
{
	static const uint8_t masks[] = { 0x01, 0x80 };
	size_t msglen;
	char *msg = read_data("sig-msg.json", &msglen);
	(void)state;

	for (size_t i = 0; i < ELEMENTSOF(key_types); i++) {
		char name[64];
		size_t len;
		uint8_t *blob, *copy;

		snprintf(name, sizeof name, "sig-%s.sig", key_types[i].fixture);
		blob = load_blob(name, &len);
		copy = malloc(len);
		for (size_t m = 0; m < ELEMENTSOF(masks); m++) {
			for (size_t pos = 0; pos < len; pos++) {
				struct key *got = (struct key *)&got;
				int r;

				memcpy(copy, blob, len);
				copy[pos] ^= masks[m];
				r = sig_verify(copy, len, NS, (uint8_t *)msg, msglen, &got);
				if (r >= 0)
					fail_msg("%s: flip 0x%02x at %zu accepted", name, masks[m],
						 pos);
				assert_ptr_equal(got, (struct key *)&got);
			}
		}
		free(copy);
		free(blob);
	}
	free(msg);
}

/* ---- live ssh-keygen, both directions --------------------------------------------------- */

static void test_our_signatures_verify_with_ssh_keygen_check_novalidate(void **state)
{
	char *dir;
	(void)state;

	need_ssh_keygen();
	dir = tu_tmpdir();
	for (size_t i = 0; i < ELEMENTSOF(key_types); i++) {
		struct key *k = gen(key_types[i].type);
		char *out = NULL;

		write_ours(dir, k, "{\"login\":\"root\"}\n", NULL);
		assert_int_equal(tu_run(&out, "%1$s -Y check-novalidate -n %2$s -s %3$s/msg.sig "
					      "< %3$s/msg",
					tu_ssh_keygen(), NS, dir),
				 0);
		assert_non_null(strstr(out, "Good \"" NS "\" signature"));
		free(out);
		key_free(k);
	}
	tu_rmtree(dir);
	free(dir);
}

static void test_our_signatures_verify_with_ssh_keygen_verify_and_allowed_signers(void **state)
{
	char *dir;
	(void)state;

	need_ssh_keygen();
	dir = tu_tmpdir();
	for (size_t i = 0; i < ELEMENTSOF(key_types); i++) {
		struct key *k = gen(key_types[i].type);
		char *line = NULL, *signers = NULL, *path = NULL, *out = NULL;

		write_ours(dir, k, "body bytes", NULL);
		assert_int_equal(key_to_line(k, NULL, &line), 0);
		assert_true(asprintf(&signers, "alice@example.com namespaces=\"%s\" %s\n", NS,
				     line) > 0);
		assert_true(asprintf(&path, "%s/allowed_signers", dir) > 0);
		assert_int_equal(tu_write_file(path, signers, strlen(signers), 0644), 0);
		assert_int_equal(tu_run(&out, "%1$s -Y verify -f %2$s/allowed_signers "
					      "-I alice@example.com -n %3$s -s %2$s/msg.sig < %2$s/msg",
					tu_ssh_keygen(), dir, NS),
				 0);
		assert_non_null(strstr(out, "Good \"" NS "\" signature for alice@example.com"));
		free(out);
		/* and ssh-keygen also refuses it for another namespace: the test can fail */
		assert_int_not_equal(tu_run(NULL, "%1$s -Y check-novalidate -n file "
						  "-s %2$s/msg.sig < %2$s/msg",
					    tu_ssh_keygen(), dir),
				     0);
		free(path);
		free(signers);
		free(line);
		key_free(k);
	}
	tu_rmtree(dir);
	free(dir);
}

static void test_our_sha256_signature_verifies_with_ssh_keygen(void **state)
{
	struct key *k;
	char *dir, *out = NULL;
	(void)state;

	need_ssh_keygen();
	dir = tu_tmpdir();
	k = gen(KEY_ED25519);
	write_ours(dir, k, "message", "sha256");
	assert_int_equal(tu_run(&out, "%1$s -Y check-novalidate -n %2$s -s %3$s/msg.sig < %3$s/msg",
				tu_ssh_keygen(), NS, dir),
			 0);
	free(out);
	key_free(k);
	tu_rmtree(dir);
	free(dir);
}

static void test_fresh_ssh_keygen_signatures_verify_with_ours(void **state)
{
	char *dir;
	(void)state;

	need_ssh_keygen();
	dir = tu_tmpdir();
	for (size_t i = 0; i < ELEMENTSOF(key_types); i++) {
		static const char msg[] = "{\"user\":\"alice\"}";
		char *path = NULL, *text = NULL;
		struct key *pub = NULL, *got = NULL;
		uint8_t *blob = NULL;
		size_t len, blob_len;

		assert_int_equal(tu_run(NULL,
					"rm -f %1$s/k %1$s/k.pub %1$s/msg.sig && "
					"%2$s -q -t %3$s -b %4$s -N '' -f %1$s/k && "
					"printf '%%s' '%5$s' > %1$s/msg && "
					"%2$s -q -Y sign -n %6$s -f %1$s/k %1$s/msg",
					dir, tu_ssh_keygen(), key_types[i].kg_type,
					key_types[i].kg_bits, msg, NS),
				 0);
		assert_true(asprintf(&path, "%s/k.pub", dir) > 0);
		text = read_path(path, NULL);
		assert_int_equal(key_from_line(text, &pub, NULL), 0);
		free(text);
		free(path);
		assert_true(asprintf(&path, "%s/msg.sig", dir) > 0);
		text = read_path(path, &len);
		assert_int_equal(sig_dearmor(text, len, &blob, &blob_len), 0);
		assert_int_equal(sig_verify(blob, blob_len, NS, (const uint8_t *)msg,
					    strlen(msg), &got),
				 0);
		assert_true(key_equal_public(got, pub));
		key_free(got);
		key_free(pub);
		free(blob);
		free(text);
		free(path);
	}
	tu_rmtree(dir);
	free(dir);
}

/* ssh-keygen's key file, loaded by us, signs the same bytes ssh-keygen writes. */
static void armour_matches_ssh_keygen(const char *kg_type, const char *kg_bits)
{
	static const char msg[] = "{\"login\":\"root\",\"host\":\"prod-web-3\"}\n";
	char *dir, *path = NULL, *theirs = NULL, *ours = NULL;
	struct key *k = NULL;
	uint8_t *blob;
	size_t len;

	need_ssh_keygen();
	dir = tu_tmpdir();
	assert_int_equal(tu_run(NULL,
				"%2$s -q -t %3$s -b %4$s -N '' -f %1$s/k && "
				"printf '%%s\\n' '{\"login\":\"root\",\"host\":\"prod-web-3\"}' "
				"> %1$s/msg && %2$s -q -Y sign -n %5$s -f %1$s/k %1$s/msg",
				dir, tu_ssh_keygen(), kg_type, kg_bits, NS),
			 0);
	assert_true(asprintf(&path, "%s/k", dir) > 0);
	assert_int_equal(key_load_private(path, true, &k), 0);
	free(path);
	assert_true(asprintf(&path, "%s/msg.sig", dir) > 0);
	theirs = read_path(path, NULL);
	sign_blob(k, NS, msg, NULL, &blob, &len);
	assert_int_equal(sig_armor(blob, len, &ours), 0);
	assert_string_equal(ours, theirs);
	free(ours);
	free(blob);
	free(theirs);
	free(path);
	key_free(k);
	tu_rmtree(dir);
	free(dir);
}

static void test_our_armoured_ed25519_signature_is_byte_identical_to_ssh_keygens(void **state)
{
	(void)state;
	armour_matches_ssh_keygen("ed25519", "256");
}

static void test_our_armoured_rsa_signature_is_byte_identical_to_ssh_keygens(void **state)
{
	(void)state;
	armour_matches_ssh_keygen("rsa", "3072");
}

/* ---- armour ----------------------------------------------------------------------------- */

static void test_armour_wraps_base64_at_70_columns(void **state)
{
	/* 105 bytes -> 140 base64 characters: exactly two full lines, no empty line after. */
	static const size_t sizes[] = { 105, 106, 1 };
	static const size_t want_lines[] = { 2, 3, 1 };
	uint8_t blob[106];
	(void)state;

	memset(blob, 0xa5, sizeof blob);
	for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
		char *text = NULL, *p, *nl;
		size_t lines = 0;
		uint8_t *back = NULL;
		size_t back_len;

		assert_int_equal(sig_armor(blob, sizes[i], &text), 0);
		assert_true(strncmp(text, "-----BEGIN SSH SIGNATURE-----\n", 30) == 0);
		p = text + 30;
		while ((nl = strchr(p, '\n')) && strncmp(p, "-----END", 8) != 0) {
			assert_true(nl - p <= 70 && nl > p);
			if (strncmp(nl + 1, "-----END", 8) != 0)
				assert_int_equal(nl - p, 70);
			lines++;
			p = nl + 1;
		}
		assert_int_equal(lines, want_lines[i]);
		assert_string_equal(p, "-----END SSH SIGNATURE-----\n");
		assert_int_equal(sig_dearmor(text, strlen(text), &back, &back_len), 0);
		assert_int_equal(back_len, sizes[i]);
		assert_memory_equal(back, blob, sizes[i]);
		free(back);
		free(text);
	}
}

static void test_dearmor_tolerates_whitespace_and_crlf_around_lines(void **state)
{
	size_t len, blob_len, ref_len;
	char *text = read_data("sig-ed25519.sig", &len), *messy, *w;
	uint8_t *blob = NULL, *ref = load_blob("sig-ed25519.sig", &ref_len);
	(void)state;

	messy = malloc(3 * len + 16);
	if (!messy)
		abort();
	w = stpcpy(messy, "\n  \r\n");
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\n') {
			w = stpcpy(w, " \t\r\n\n");
		} else {
			*w++ = text[i];
		}
	}
	*w = 0;
	assert_int_equal(sig_dearmor(messy, strlen(messy), &blob, &blob_len), 0);
	assert_int_equal(blob_len, ref_len);
	assert_memory_equal(blob, ref, ref_len);
	free(blob);
	free(ref);
	free(messy);
	free(text);
}

static int dearmor_str(const char *text)
{
	uint8_t *blob = (uint8_t *)&blob;
	size_t len = 7;
	int r = sig_dearmor(text, strlen(text), &blob, &len);

	if (r == 0)
		free(blob);
	else
		assert_true(blob == (uint8_t *)&blob && len == 7);
	return r;
}

static void test_dearmor_without_header_or_footer_is_refused(void **state)
{
	(void)state;
	assert_int_equal(dearmor_str("U1NIU0lH\n-----END SSH SIGNATURE-----\n"), JIT_E_FORMAT);
	assert_int_equal(dearmor_str("-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n"), JIT_E_FORMAT);
	assert_int_equal(dearmor_str("-----BEGIN SSH SIGNATURE-----\n-----END SSH SIGNATURE-----\n"),
			 JIT_E_FORMAT);
	assert_int_equal(dearmor_str(""), JIT_E_FORMAT);
}

static void test_dearmor_with_text_outside_the_markers_is_refused(void **state)
{
	(void)state;
	assert_int_equal(dearmor_str("x\n-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n"
				     "-----END SSH SIGNATURE-----\n"),
			 JIT_E_FORMAT);
	assert_int_equal(dearmor_str("-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n"
				     "-----END SSH SIGNATURE-----\nx\n"),
			 JIT_E_FORMAT);
	assert_int_equal(dearmor_str("-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n"
				     "-----END SSH SIGNATURE-----\n-----BEGIN SSH SIGNATURE-----\n"),
			 JIT_E_FORMAT);
}

static void test_dearmor_with_bad_base64_is_refused(void **state)
{
	(void)state;
	assert_int_equal(dearmor_str("-----BEGIN SSH SIGNATURE-----\nU1NI U0lH\n"
				     "-----END SSH SIGNATURE-----\n"),
			 JIT_E_FORMAT);
	assert_int_equal(dearmor_str("-----BEGIN SSH SIGNATURE-----\nU1NIU0l\n"
				     "-----END SSH SIGNATURE-----\n"),
			 JIT_E_FORMAT);
	assert_int_equal(dearmor_str("-----BEGIN SSH SIGNATURE-----\nU1NI*0lH\n"
				     "-----END SSH SIGNATURE-----\n"),
			 JIT_E_FORMAT);
}

static void test_dearmor_with_a_nul_byte_is_refused(void **state)
{
	static const char text[] = "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\0\n"
				   "-----END SSH SIGNATURE-----\n";
	uint8_t *blob = NULL;
	size_t len;
	(void)state;

	assert_int_equal(sig_dearmor(text, sizeof text - 1, &blob, &len), JIT_E_FORMAT);
	assert_null(blob);
}

static void test_dearmor_over_the_size_limit_is_refused(void **state)
{
	char *text = malloc(SIG_ARMOR_MAX + 1);
	uint8_t *blob = NULL;
	size_t len;
	(void)state;

	memset(text, '\n', SIG_ARMOR_MAX + 1);
	assert_int_equal(sig_dearmor(text, SIG_ARMOR_MAX + 1, &blob, &len), JIT_E_TOO_LARGE);
	assert_null(blob);
	free(text);
}

static void test_dearmored_blob_over_the_size_limit_is_refused(void **state)
{
	/* Base64 of SIG_BLOB_MAX + 3 bytes fits in SIG_ARMOR_MAX. */
	size_t n = (SIG_BLOB_MAX + 3) / 3 * 4;
	char *text = malloc(n + 64), *w;
	uint8_t *blob = NULL;
	size_t len;
	(void)state;
	if (!text)
		abort();

	w = stpcpy(text, "-----BEGIN SSH SIGNATURE-----\n");
	memset(w, 'A', n);
	w += n;
	stpcpy(w, "\n-----END SSH SIGNATURE-----\n");
	assert_true(strlen(text) <= SIG_ARMOR_MAX);
	assert_int_equal(sig_dearmor(text, strlen(text), &blob, &len), JIT_E_TOO_LARGE);
	assert_null(blob);
	free(text);
}

/* ---- hand-built blobs: the parser's checks ----------------------------------------------- */

struct raw {
	const char *magic;
	uint32_t version;
	const char *ns;
	const char *reserved;
	const char *hashalg;
	const char *alg;	/* signature algorithm, NULL for the key's default */
	bool trailing_byte;
};

/* Encode an SSHSIG blob over @msg, with an honest signature over the data @r describes. */
static void raw_sign(const struct raw *r, const struct key *k, const char *msg, uint8_t **ret,
		     size_t *ret_len)
{
	struct wbuf *tbs = wbuf_new(0), *sig = wbuf_new(0), *b = wbuf_new(0);
	const EVP_MD *md = strcmp(r->hashalg, "sha256") == 0 ? EVP_sha256() : EVP_sha512();
	uint8_t h[EVP_MAX_MD_SIZE], *kb = NULL;
	unsigned hlen;
	size_t klen;

	assert_int_equal(EVP_Digest(msg, strlen(msg), h, &hlen, md, NULL), 1);
	assert_int_equal(key_to_blob(k, &kb, &klen), 0);
	assert_int_equal(wbuf_put(tbs, "SSHSIG", 6), 0);
	assert_int_equal(wbuf_put_cstring(tbs, r->ns), 0);
	assert_int_equal(wbuf_put_cstring(tbs, r->reserved), 0);
	assert_int_equal(wbuf_put_cstring(tbs, r->hashalg), 0);
	assert_int_equal(wbuf_put_string(tbs, h, hlen), 0);
	assert_int_equal(key_sign(k, wbuf_ptr(tbs), wbuf_len(tbs), r->alg, sig), 0);
	assert_int_equal(wbuf_put(b, r->magic, 6), 0);
	assert_int_equal(wbuf_put_u32(b, r->version), 0);
	assert_int_equal(wbuf_put_string(b, kb, klen), 0);
	assert_int_equal(wbuf_put_cstring(b, r->ns), 0);
	assert_int_equal(wbuf_put_cstring(b, r->reserved), 0);
	assert_int_equal(wbuf_put_cstring(b, r->hashalg), 0);
	assert_int_equal(wbuf_put_stringb(b, sig), 0);
	if (r->trailing_byte)
		assert_int_equal(wbuf_put_u8(b, 0), 0);
	assert_int_equal(wbuf_dup(b, ret, ret_len), 0);
	free(kb);
	wbuf_free(b);
	wbuf_free(sig);
	wbuf_free(tbs);
}

static struct raw raw_valid(void)
{
	return (struct raw){
		.magic = "SSHSIG", .version = 1, .ns = NS, .reserved = "", .hashalg = "sha512",
	};
}

/* Verify the hand-built @r, signed by a new @type key, under NS; nothing returned on failure. */
static int raw_verify_with(const struct raw *r, enum key_type type)
{
	static const char msg[] = "message";
	struct key *k = gen(type), *got = (struct key *)&got;
	uint8_t *blob;
	size_t len;
	int ret;

	raw_sign(r, k, msg, &blob, &len);
	ret = sig_verify(blob, len, NS, (const uint8_t *)msg, strlen(msg), &got);
	if (ret == 0)
		key_free(got);
	else
		assert_ptr_equal(got, (struct key *)&got);
	free(blob);
	key_free(k);
	return ret;
}

static int raw_verify(const struct raw *r)
{
	return raw_verify_with(r, KEY_ED25519);
}

static void test_hand_built_signature_that_keeps_every_rule_verifies(void **state)
{
	struct raw r = raw_valid();
	(void)state;
	assert_int_equal(raw_verify(&r), 0);
	r.hashalg = "sha256";
	assert_int_equal(raw_verify(&r), 0);
}

static void test_signature_with_bad_magic_is_refused(void **state)
{
	struct raw r = raw_valid();
	(void)state;
	r.magic = "SSHSIH";
	assert_int_equal(raw_verify(&r), JIT_E_FORMAT);
}

static void test_signature_of_a_version_other_than_one_is_refused(void **state)
{
	struct raw r = raw_valid();
	(void)state;
	r.version = 2;
	assert_int_equal(raw_verify(&r), JIT_E_FORMAT);
	r.version = 0;
	assert_int_equal(raw_verify(&r), JIT_E_FORMAT);
}

static void test_signature_with_a_non_empty_reserved_field_is_refused(void **state)
{
	struct raw r = raw_valid();
	(void)state;
	r.reserved = "x";
	assert_int_equal(raw_verify(&r), JIT_E_FORMAT);
}

static void test_signature_with_an_unknown_hash_algorithm_is_refused(void **state)
{
	struct raw r = raw_valid();
	(void)state;
	r.hashalg = "sha1";
	assert_int_equal(raw_verify(&r), JIT_E_KEY_TYPE);
}

static void test_signature_with_a_trailing_byte_is_refused(void **state)
{
	struct raw r = raw_valid();
	(void)state;
	r.trailing_byte = true;
	assert_int_equal(raw_verify(&r), JIT_E_FORMAT);
}

static void test_signature_blob_over_the_size_limit_is_refused(void **state)
{
	uint8_t *big = calloc(1, SIG_BLOB_MAX + 1);
	(void)state;

	memcpy(big, "SSHSIG\0\0\0\1", 10);
	assert_int_equal(sig_verify(big, SIG_BLOB_MAX + 1, NS, big, 1, NULL), JIT_E_TOO_LARGE);
	free(big);
}

static void test_verifying_against_an_empty_namespace_is_refused(void **state)
{
	size_t msglen, len;
	char *msg = read_data("sig-msg.json", &msglen);
	uint8_t *blob = load_blob("sig-ed25519.sig", &len);
	(void)state;

	assert_int_equal(sig_verify(blob, len, "", (uint8_t *)msg, msglen, NULL), -EINVAL);
	assert_int_equal(sig_verify(blob, len, NULL, (uint8_t *)msg, msglen, NULL), -EINVAL);
	free(blob);
	free(msg);
}

static void test_signing_with_an_empty_or_over_long_namespace_is_refused(void **state)
{
	struct key *k = gen(KEY_ED25519);
	struct signer s = key_signer(k);
	char ns[SIG_NAMESPACE_MAX + 2];
	uint8_t *blob = NULL;
	size_t len;
	(void)state;

	memset(ns, 'n', sizeof ns - 1);
	ns[sizeof ns - 1] = 0;
	assert_int_equal(sig_sign(&s, "", (const uint8_t *)"m", 1, NULL, &blob, &len), -EINVAL);
	assert_int_equal(sig_sign(&s, ns, (const uint8_t *)"m", 1, NULL, &blob, &len), -EINVAL);
	assert_null(blob);
	ns[SIG_NAMESPACE_MAX] = 0;
	assert_int_equal(sig_sign(&s, ns, (const uint8_t *)"m", 1, NULL, &blob, &len), 0);
	assert_int_equal(sig_verify(blob, len, ns, (const uint8_t *)"m", 1, NULL), 0);
	free(blob);
	key_free(k);
}

static void test_signing_with_an_unknown_hash_algorithm_is_refused(void **state)
{
	struct key *k = gen(KEY_ED25519);
	struct signer s = key_signer(k);
	uint8_t *blob = NULL;
	size_t len;
	(void)state;

	assert_int_equal(sig_sign(&s, NS, (const uint8_t *)"m", 1, "sha1", &blob, &len), -EINVAL);
	assert_null(blob);
	key_free(k);
}

static void test_rsa_signatures_use_rsa_sha2_512(void **state)
{
	struct key *k = gen(KEY_RSA);
	uint8_t *blob = NULL;
	size_t len;
	(void)state;

	sign_blob(k, NS, "m", NULL, &blob, &len);
	assert_non_null(memmem(blob, len, "\0\0\0\14rsa-sha2-512", 16));
	free(blob);
	sign_blob(k, NS, "m", "sha256", &blob, &len);
	assert_non_null(memmem(blob, len, "\0\0\0\14rsa-sha2-512", 16));
	assert_int_equal(sig_verify(blob, len, NS, (const uint8_t *)"m", 1, NULL), 0);
	free(blob);
	key_free(k);
}

static void test_rsa_sha2_256_signature_as_newer_ssh_keygen_makes_it_verifies(void **state)
{
	struct raw r = raw_valid();
	(void)state;
	r.hashalg = "sha256";
	r.alg = "rsa-sha2-256";
	assert_int_equal(raw_verify_with(&r, KEY_RSA), 0);
}

static void test_empty_message_signs_and_verifies(void **state)
{
	struct key *k = gen(KEY_ECDSA_P256), *got = NULL;
	struct signer s = key_signer(k);
	uint8_t *blob = NULL;
	size_t len;
	(void)state;

	assert_int_equal(sig_sign(&s, NS, NULL, 0, NULL, &blob, &len), 0);
	assert_int_equal(sig_verify(blob, len, NS, NULL, 0, &got), 0);
	assert_true(key_equal_public(got, k));
	assert_int_equal(sig_verify(blob, len, NS, (const uint8_t *)"x", 1, NULL),
			 JIT_E_SIGNATURE);
	key_free(got);
	free(blob);
	key_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ssh_keygen_signatures_of_each_key_type_verify_with_ours),
		cmocka_unit_test(test_ssh_keygen_sha256_signature_verifies_with_ours),
		cmocka_unit_test(
			test_signature_under_another_namespace_is_refused_with_a_namespace_error),
		cmocka_unit_test(test_signature_over_an_altered_message_is_refused),
		cmocka_unit_test(test_every_truncation_of_each_fixture_is_refused),
		cmocka_unit_test(test_every_single_byte_flip_of_each_fixture_is_refused),
		cmocka_unit_test(test_our_signatures_verify_with_ssh_keygen_check_novalidate),
		cmocka_unit_test(test_our_signatures_verify_with_ssh_keygen_verify_and_allowed_signers),
		cmocka_unit_test(test_our_sha256_signature_verifies_with_ssh_keygen),
		cmocka_unit_test(test_fresh_ssh_keygen_signatures_verify_with_ours),
		cmocka_unit_test(test_our_armoured_ed25519_signature_is_byte_identical_to_ssh_keygens),
		cmocka_unit_test(test_our_armoured_rsa_signature_is_byte_identical_to_ssh_keygens),
		cmocka_unit_test(test_armour_wraps_base64_at_70_columns),
		cmocka_unit_test(test_dearmor_tolerates_whitespace_and_crlf_around_lines),
		cmocka_unit_test(test_dearmor_without_header_or_footer_is_refused),
		cmocka_unit_test(test_dearmor_with_text_outside_the_markers_is_refused),
		cmocka_unit_test(test_dearmor_with_bad_base64_is_refused),
		cmocka_unit_test(test_dearmor_with_a_nul_byte_is_refused),
		cmocka_unit_test(test_dearmor_over_the_size_limit_is_refused),
		cmocka_unit_test(test_dearmored_blob_over_the_size_limit_is_refused),
		cmocka_unit_test(test_hand_built_signature_that_keeps_every_rule_verifies),
		cmocka_unit_test(test_signature_with_bad_magic_is_refused),
		cmocka_unit_test(test_signature_of_a_version_other_than_one_is_refused),
		cmocka_unit_test(test_signature_with_a_non_empty_reserved_field_is_refused),
		cmocka_unit_test(test_signature_with_an_unknown_hash_algorithm_is_refused),
		cmocka_unit_test(test_signature_with_a_trailing_byte_is_refused),
		cmocka_unit_test(test_signature_blob_over_the_size_limit_is_refused),
		cmocka_unit_test(test_verifying_against_an_empty_namespace_is_refused),
		cmocka_unit_test(test_signing_with_an_empty_or_over_long_namespace_is_refused),
		cmocka_unit_test(test_signing_with_an_unknown_hash_algorithm_is_refused),
		cmocka_unit_test(test_rsa_signatures_use_rsa_sha2_512),
		cmocka_unit_test(test_rsa_sha2_256_signature_as_newer_ssh_keygen_makes_it_verifies),
		cmocka_unit_test(test_empty_message_signs_and_verifies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
