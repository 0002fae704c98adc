/* SPDX-License-Identifier: ISC */
/*
 * test_cert.c - OpenSSH certificates: the encoder's own rules, the parser's checks, and
 * golden comparisons with the real ssh-keygen in both directions (ours listed by
 * `ssh-keygen -L`, theirs from `ssh-keygen -s` parsed by ours). Fixed clock throughout.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "b64.h"
#include "cert.h"
#include "err.h"
#include "key.h"
#include "testutil.h"
#include "wbuf.h"

/* The fixtures' window: 2030-01-01T00:00:00Z .. 2030-01-01T00:10:00Z (make-fixtures.sh). */
#define T0 UINT64_C(1893456000)
#define T_END (T0 + 600)
#define KEY_ID "jit-ssh user=alice host=prod-web-3 login=root request=0123456789abcdef0123456789abcdef"
#define P_ROOT "jit:prod-web-3:root"
#define P_DEPLOY "jit:prod-web-3:deploy"

/* ---- helpers ---------------------------------------------------------------------------- */

static char *data_path(const char *name)
{
	const char *dir = getenv("SSHCORE_TESTDATA");
	char *p;

	assert_true(asprintf(&p, "%s/%s", dir && *dir ? dir : "tests/data", name) > 0);
	return p;
}

static char *read_data(const char *name)
{
	char *path = data_path(name), *text = NULL;

	assert_int_equal(tu_read_file(path, &text, NULL), 0);
	free(path);
	return text;
}

static struct key *load_pub(const char *name)
{
	char *text = read_data(name);
	struct key *k = NULL;

	assert_int_equal(key_from_line(text, &k, NULL), 0);
	free(text);
	return k;
}

static struct cert *load_cert(const char *name)
{
	char *text = read_data(name);
	struct cert *c = NULL;

	assert_int_equal(cert_from_line(text, &c), 0);
	free(text);
	return c;
}

static struct key *gen(enum key_type t)
{
	struct key *k = NULL;

	assert_int_equal(key_generate(t, t == KEY_RSA ? 3072 : 0, &k), 0);
	return k;
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

/* An unsigned certificate that satisfies every rule: window T0..T_END, one principal. */
static struct cert *valid_cert(enum key_type subject)
{
	struct cert *c = NULL;
	struct key *k = NULL;

	/* RSA subjects at the minimum size keep the suite fast; RSA CAs are 3072 bits. */
	assert_int_equal(key_generate(subject, subject == KEY_RSA ? 2048 : 0, &k), 0);
	assert_int_equal(cert_new(k, &c), 0);
	c->serial = 1;
	assert_int_equal(cert_set_key_id(c, KEY_ID), 0);
	assert_int_equal(cert_add_principal(c, P_ROOT), 0);
	assert_int_equal(cert_set_validity(c, T0 + 60, 60, 540), 0);
	return c;
}

static int sign_with(struct cert *c, const struct key *ca, const char *alg)
{
	struct signer s = key_signer(ca);

	return cert_sign(c, &s, alg);
}

static bool has_option(const struct cert_option *o, size_t n, const char *name,
		       const char *value)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(o[i].name, name) == 0)
			return value ? o[i].value && strcmp(o[i].value, value) == 0 : !o[i].value;
	return false;
}

/* ---- building: the encoder enforces the rules itself ------------------------------------- */

static void test_cert_with_all_fields_signs_and_parses_back_with_the_same_fields(void **state)
{
	struct key *ca = gen(KEY_ED25519);
	struct cert *c = valid_cert(KEY_ECDSA_P256), *p = NULL;
	(void)state;

	c->serial = 77;
	assert_int_equal(cert_add_principal(c, P_DEPLOY), 0);
	assert_int_equal(cert_add_critical(c, "source-address", "127.0.0.1/32"), 0);
	assert_int_equal(cert_add_critical(c, "force-command", "/usr/bin/true"), 0);
	assert_int_equal(cert_add_extension(c, "permit-pty", NULL), 0);
	assert_int_equal(sign_with(c, ca, NULL), 0);
	assert_string_equal(c->signature_alg, "ssh-ed25519");

	assert_int_equal(cert_parse(c->blob, c->blob_len, &p), 0);
	assert_int_equal(p->type, CERT_TYPE_USER);
	assert_true(key_equal_public(p->subject, c->subject));
	assert_memory_equal(p->nonce, c->nonce, CERT_NONCE_LEN);
	assert_int_equal(p->serial, 77);
	assert_string_equal(p->key_id, KEY_ID);
	assert_int_equal(p->n_principals, 2);
	assert_string_equal(p->principals[0], P_ROOT);
	assert_string_equal(p->principals[1], P_DEPLOY);
	assert_int_equal(p->valid_after, T0);
	assert_int_equal(p->valid_before, T_END);
	assert_int_equal(p->n_critical, 2);
	assert_string_equal(p->critical[0].name, "force-command");
	assert_string_equal(p->critical[0].value, "/usr/bin/true");
	assert_string_equal(p->critical[1].name, "source-address");
	assert_string_equal(p->critical[1].value, "127.0.0.1/32");
	assert_int_equal(p->n_extensions, 1);
	assert_string_equal(p->extensions[0].name, "permit-pty");
	assert_null(p->extensions[0].value);
	assert_true(key_equal_public(p->signature_key, ca));
	assert_string_equal(p->signature_alg, "ssh-ed25519");
	assert_int_equal(p->blob_len, c->blob_len);
	assert_memory_equal(p->blob, c->blob, c->blob_len);
	cert_free(p);
	cert_free(c);
	key_free(ca);
}

static void test_cert_with_zero_principals_is_refused(void **state)
{
	struct key *ca = gen(KEY_ED25519), *subject = gen(KEY_ED25519);
	struct cert *c = NULL;
	(void)state;

	assert_int_equal(cert_new(subject, &c), 0);
	c->serial = 1;
	assert_int_equal(cert_set_key_id(c, KEY_ID), 0);
	assert_int_equal(cert_set_validity(c, T0, 0, 600), 0);
	assert_int_equal(sign_with(c, ca, NULL), JIT_E_CERT);
	assert_null(c->blob);
	cert_free(c);
	key_free(ca);
}

static void test_cert_with_serial_zero_is_refused(void **state)
{
	struct key *ca = gen(KEY_ED25519);
	struct cert *c = valid_cert(KEY_ED25519);
	(void)state;

	c->serial = 0;
	assert_int_equal(sign_with(c, ca, NULL), JIT_E_CERT);
	assert_null(c->blob);
	cert_free(c);
	key_free(ca);
}

static void test_cert_whose_valid_after_is_not_before_valid_before_is_refused(void **state)
{
	struct key *ca = gen(KEY_ED25519);
	struct cert *c = valid_cert(KEY_ED25519);
	(void)state;

	c->valid_after = c->valid_before;
	assert_int_equal(sign_with(c, ca, NULL), JIT_E_CERT);
	c->valid_after = c->valid_before + 1;
	assert_int_equal(sign_with(c, ca, NULL), JIT_E_CERT);
	assert_null(c->blob);
	cert_free(c);
	key_free(ca);
}

static void test_cert_without_key_id_is_refused(void **state)
{
	struct key *ca = gen(KEY_ED25519);
	struct cert *c = valid_cert(KEY_ED25519);
	(void)state;

	assert_int_equal(cert_set_key_id(c, ""), 0);
	assert_int_equal(sign_with(c, ca, NULL), JIT_E_CERT);
	free(c->key_id);
	c->key_id = NULL;
	assert_int_equal(sign_with(c, ca, NULL), JIT_E_CERT);
	assert_null(c->blob);
	cert_free(c);
	key_free(ca);
}

static void test_host_cert_is_refused_by_the_signer(void **state)
{
	struct key *ca = gen(KEY_ED25519);
	struct cert *c = valid_cert(KEY_ED25519);
	(void)state;

	c->type = CERT_TYPE_HOST;
	assert_int_equal(sign_with(c, ca, NULL), JIT_E_CERT);
	assert_null(c->blob);
	cert_free(c);
	key_free(ca);
}

static void test_failed_signing_leaves_an_earlier_signed_blob_unchanged(void **state)
{
	struct key *ca = gen(KEY_ED25519);
	struct cert *c = valid_cert(KEY_ED25519);
	uint8_t *blob;
	size_t len;
	(void)state;

	assert_int_equal(sign_with(c, ca, NULL), 0);
	blob = c->blob;
	len = c->blob_len;
	c->serial = 0;
	assert_int_equal(sign_with(c, ca, NULL), JIT_E_CERT);
	assert_ptr_equal(c->blob, blob);
	assert_int_equal(c->blob_len, len);
	assert_string_equal(c->signature_alg, "ssh-ed25519");
	cert_free(c);
	key_free(ca);
}

static void test_options_added_out_of_order_are_encoded_sorted_by_name(void **state)
{
	struct key *ca = gen(KEY_ED25519);
	struct cert *c = valid_cert(KEY_ED25519), *p = NULL;
	(void)state;

	assert_int_equal(cert_add_extension(c, "permit-pty", NULL), 0);
	assert_int_equal(cert_add_extension(c, "permit-agent-forwarding", NULL), 0);
	assert_int_equal(cert_add_extension(c, "permit-X11-forwarding", NULL), 0);
	assert_int_equal(cert_add_critical(c, "source-address", "10.0.0.0/8"), 0);
	assert_int_equal(cert_add_critical(c, "force-command", "id"), 0);
	assert_int_equal(sign_with(c, ca, NULL), 0);
	assert_int_equal(cert_parse(c->blob, c->blob_len, &p), 0);
	/* strcmp order: upper case sorts before lower case, as OpenSSH's list does. */
	assert_string_equal(p->extensions[0].name, "permit-X11-forwarding");
	assert_string_equal(p->extensions[1].name, "permit-agent-forwarding");
	assert_string_equal(p->extensions[2].name, "permit-pty");
	assert_string_equal(p->critical[0].name, "force-command");
	assert_string_equal(p->critical[1].name, "source-address");
	cert_free(p);
	cert_free(c);
	key_free(ca);
}

static void test_duplicate_option_name_is_refused(void **state)
{
	struct cert *c = valid_cert(KEY_ED25519);
	(void)state;

	assert_int_equal(cert_add_critical(c, "force-command", "id"), 0);
	assert_int_equal(cert_add_critical(c, "force-command", "true"), JIT_E_FORMAT);
	assert_int_equal(cert_add_extension(c, "permit-pty", NULL), 0);
	assert_int_equal(cert_add_extension(c, "permit-pty", NULL), JIT_E_FORMAT);
	assert_int_equal(c->n_critical, 1);
	assert_string_equal(c->critical[0].value, "id");
	assert_int_equal(c->n_extensions, 1);
	cert_free(c);
}

static void test_options_up_to_the_limit_are_accepted_and_one_more_is_refused(void **state)
{
	struct cert *c = valid_cert(KEY_ED25519);
	char name[32];
	(void)state;

	for (int i = 0; i < CERT_OPTIONS_MAX; i++) {
		snprintf(name, sizeof name, "ext-%03d@example.com", i);
		assert_int_equal(cert_add_extension(c, name, NULL), 0);
	}
	assert_int_equal(cert_add_extension(c, "zzz@example.com", NULL), JIT_E_TOO_LARGE);
	assert_int_equal(c->n_extensions, CERT_OPTIONS_MAX);
	cert_free(c);
}

static void test_option_name_or_value_over_its_limit_is_refused(void **state)
{
	struct cert *c = valid_cert(KEY_ED25519);
	char name[CERT_OPTION_NAME_MAX + 2], value[CERT_OPTION_VALUE_MAX + 2];
	(void)state;

	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = 0;
	memset(value, 'v', sizeof value - 1);
	value[sizeof value - 1] = 0;
	assert_int_equal(cert_add_extension(c, name, NULL), JIT_E_TOO_LARGE);
	name[CERT_OPTION_NAME_MAX] = 0;
	assert_int_equal(cert_add_extension(c, name, NULL), 0);
	assert_int_equal(cert_add_critical(c, "force-command", value), JIT_E_TOO_LARGE);
	value[CERT_OPTION_VALUE_MAX] = 0;
	assert_int_equal(cert_add_critical(c, "force-command", value), 0);
	cert_free(c);
}

static void test_option_with_an_empty_name_or_a_control_character_is_refused(void **state)
{
	struct cert *c = valid_cert(KEY_ED25519);
	(void)state;

	assert_int_equal(cert_add_extension(c, "", NULL), JIT_E_FORMAT);
	assert_int_equal(cert_add_extension(c, "permit\npty", NULL), JIT_E_FORMAT);
	assert_int_equal(cert_add_critical(c, "force-command", "id\nrm -rf /"), JIT_E_FORMAT);
	assert_int_equal(c->n_critical + c->n_extensions, 0);
	cert_free(c);
}

static void test_unsorted_options_placed_in_the_struct_are_refused_by_the_signer(void **state)
{
	struct key *ca = gen(KEY_ED25519);
	struct cert *c = valid_cert(KEY_ED25519);
	struct cert_option tmp;
	(void)state;

	assert_int_equal(cert_add_extension(c, "permit-pty", NULL), 0);
	assert_int_equal(cert_add_extension(c, "permit-user-rc", NULL), 0);
	tmp = c->extensions[0];
	c->extensions[0] = c->extensions[1];
	c->extensions[1] = tmp;
	assert_int_equal(sign_with(c, ca, NULL), JIT_E_CERT);
	/* and a duplicate */
	free(c->extensions[0].name);
	c->extensions[0].name = strdup("permit-pty");
	assert_int_equal(sign_with(c, ca, NULL), JIT_E_CERT);
	assert_null(c->blob);
	cert_free(c);
	key_free(ca);
}

static void test_option_data_is_a_string_inside_the_string_and_empty_for_a_flag(void **state)
{
	static const uint8_t force[] = {
		0, 0, 0, 13, 'f', 'o', 'r', 'c', 'e', '-', 'c', 'o', 'm', 'm', 'a', 'n', 'd',
		0, 0, 0, 6, 0, 0, 0, 2, 'i', 'd',
	};
	static const uint8_t pty[] = {
		0, 0, 0, 10, 'p', 'e', 'r', 'm', 'i', 't', '-', 'p', 't', 'y', 0, 0, 0, 0,
	};
	struct key *ca = gen(KEY_ED25519);
	struct cert *c = valid_cert(KEY_ED25519);
	(void)state;

	assert_int_equal(cert_add_critical(c, "force-command", "id"), 0);
	assert_int_equal(cert_add_extension(c, "permit-pty", NULL), 0);
	assert_int_equal(sign_with(c, ca, NULL), 0);
	assert_non_null(memmem(c->blob, c->blob_len, force, sizeof force));
	assert_non_null(memmem(c->blob, c->blob_len, pty, sizeof pty));
	cert_free(c);
	key_free(ca);
}

static void test_empty_principal_is_refused(void **state)
{
	struct cert *c = valid_cert(KEY_ED25519);
	(void)state;

	assert_int_equal(cert_add_principal(c, ""), JIT_E_NAME);
	assert_int_equal(c->n_principals, 1);
	cert_free(c);
}

static void test_principal_with_a_comma_is_refused(void **state)
{
	struct cert *c = valid_cert(KEY_ED25519);
	(void)state;

	assert_int_equal(cert_add_principal(c, "jit:a:root,jit:b:root"), JIT_E_NAME);
	assert_int_equal(c->n_principals, 1);
	cert_free(c);
}

static void test_principal_with_whitespace_is_refused(void **state)
{
	static const char *const bad[] = { "jit:a: root", "jit:a:\troot", "jit:a:root ", " x" };
	struct cert *c = valid_cert(KEY_ED25519);
	(void)state;

	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		assert_int_equal(cert_add_principal(c, bad[i]), JIT_E_NAME);
	assert_int_equal(c->n_principals, 1);
	cert_free(c);
}

static void test_principal_with_a_control_or_non_ascii_character_is_refused(void **state)
{
	static const char *const bad[] = { "jit:a:root\n", "jit:a:\x01root", "jit:a:ro\x7fot",
					   "jit:a:caf\xc3\xa9", "jit:a:\xc2\xa0" };
	struct cert *c = valid_cert(KEY_ED25519);
	(void)state;

	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		assert_int_equal(cert_add_principal(c, bad[i]), JIT_E_NAME);
	assert_int_equal(c->n_principals, 1);
	cert_free(c);
}

static void test_principal_at_the_length_limit_is_accepted_and_one_byte_more_is_refused(
	void **state)
{
	struct cert *c = valid_cert(KEY_ED25519);
	char p[CERT_PRINCIPAL_LEN_MAX + 2];
	(void)state;

	memset(p, 'p', sizeof p - 1);
	p[sizeof p - 1] = 0;
	assert_int_equal(cert_add_principal(c, p), JIT_E_NAME);
	p[CERT_PRINCIPAL_LEN_MAX] = 0;
	assert_int_equal(cert_add_principal(c, p), 0);
	assert_int_equal(c->n_principals, 2);
	cert_free(c);
}

static void test_duplicate_principal_is_refused(void **state)
{
	struct cert *c = valid_cert(KEY_ED25519);
	(void)state;

	assert_int_equal(cert_add_principal(c, P_ROOT), JIT_E_FORMAT);
	assert_int_equal(c->n_principals, 1);
	cert_free(c);
}

static void test_principals_up_to_the_limit_are_accepted_and_one_more_is_refused(void **state)
{
	struct key *ca = gen(KEY_ED25519);
	struct cert *c = valid_cert(KEY_ED25519), *p = NULL;
	char name[32];
	(void)state;

	for (int i = 1; i < CERT_PRINCIPALS_MAX; i++) {
		snprintf(name, sizeof name, "jit:host-%d:root", i);
		assert_int_equal(cert_add_principal(c, name), 0);
	}
	assert_int_equal(cert_add_principal(c, "jit:one-more:root"), JIT_E_TOO_LARGE);
	assert_int_equal(c->n_principals, CERT_PRINCIPALS_MAX);
	assert_int_equal(sign_with(c, ca, NULL), 0);
	assert_int_equal(cert_parse(c->blob, c->blob_len, &p), 0);
	assert_int_equal(p->n_principals, CERT_PRINCIPALS_MAX);
	cert_free(p);
	cert_free(c);
	key_free(ca);
}

static void test_key_id_with_a_control_character_is_refused(void **state)
{
	struct cert *c = valid_cert(KEY_ED25519);
	(void)state;

	assert_int_equal(cert_set_key_id(c, "alice\nAccepted publickey for root"), JIT_E_NAME);
	assert_string_equal(c->key_id, KEY_ID);
	cert_free(c);
}

static void test_key_id_over_the_limit_is_refused(void **state)
{
	struct cert *c = valid_cert(KEY_ED25519);
	char id[CERT_KEY_ID_LEN_MAX + 2];
	(void)state;

	memset(id, 'k', sizeof id - 1);
	id[sizeof id - 1] = 0;
	assert_int_equal(cert_set_key_id(c, id), JIT_E_TOO_LARGE);
	assert_string_equal(c->key_id, KEY_ID);
	id[CERT_KEY_ID_LEN_MAX] = 0;
	assert_int_equal(cert_set_key_id(c, id), 0);
	cert_free(c);
}

static void test_validity_runs_from_now_minus_skew_to_now_plus_lifetime(void **state)
{
	struct cert *c = valid_cert(KEY_ED25519);
	(void)state;

	assert_int_equal(cert_set_validity(c, T0, CERT_SKEW_MAX, 300), 0);
	assert_int_equal(c->valid_after, T0 - CERT_SKEW_MAX);
	assert_int_equal(c->valid_before, T0 + 300);
	cert_free(c);
}

static void test_validity_out_of_range_is_refused_and_leaves_the_window_unchanged(void **state)
{
	struct cert *c = valid_cert(KEY_ED25519);
	(void)state;

	assert_int_equal(cert_set_validity(c, T0, CERT_SKEW_MAX + 1, 300), -EINVAL);
	assert_int_equal(cert_set_validity(c, T0, 0, 0), -EINVAL);
	assert_int_equal(cert_set_validity(c, T0, 0, CERT_LIFETIME_MAX + 1), -EINVAL);
	assert_int_equal(cert_set_validity(c, 10, 60, 300), -EINVAL);
	assert_int_equal(cert_set_validity(c, UINT64_MAX - 10, 0, 300), -EINVAL);
	assert_int_equal(c->valid_after, T0);
	assert_int_equal(c->valid_before, T_END);
	assert_int_equal(cert_set_validity(c, T0, 0, CERT_LIFETIME_MAX), 0);
	cert_free(c);
}

static void test_rsa_ca_signs_with_rsa_sha2_512_by_default(void **state)
{
	struct key *ca = gen(KEY_RSA);
	struct cert *c = valid_cert(KEY_ED25519), *p = NULL;
	(void)state;

	assert_int_equal(sign_with(c, ca, NULL), 0);
	assert_string_equal(c->signature_alg, "rsa-sha2-512");
	assert_int_equal(cert_parse(c->blob, c->blob_len, &p), 0);
	assert_string_equal(p->signature_alg, "rsa-sha2-512");
	cert_free(p);
	assert_int_equal(sign_with(c, ca, "rsa-sha2-256"), 0);
	assert_string_equal(c->signature_alg, "rsa-sha2-256");
	assert_int_equal(cert_parse(c->blob, c->blob_len, &p), 0);
	assert_string_equal(p->signature_alg, "rsa-sha2-256");
	cert_free(p);
	cert_free(c);
	key_free(ca);
}

static void test_rsa_ca_refuses_to_sign_with_sha1(void **state)
{
	struct key *ca = gen(KEY_RSA);
	struct cert *c = valid_cert(KEY_ED25519);
	(void)state;

	assert_true(sign_with(c, ca, "ssh-rsa") < 0);
	assert_null(c->blob);
	cert_free(c);
	key_free(ca);
}

/* A signer that signs with another key than the one it claims. */
static int lying_sign(void *ctx, const struct key *pub, const uint8_t *data, size_t len,
		      const char *alg, struct wbuf *sig)
{
	(void)pub;
	return key_sign(ctx, data, len, alg, sig);
}

static void test_signature_from_a_signer_holding_another_key_is_refused(void **state)
{
	struct key *ca = gen(KEY_ED25519), *other = gen(KEY_ED25519);
	struct cert *c = valid_cert(KEY_ED25519);
	struct signer s = { .sign = lying_sign, .ctx = other, .pub = ca };
	(void)state;

	assert_int_equal(cert_sign(c, &s, NULL), JIT_E_SIGNATURE);
	assert_null(c->blob);
	cert_free(c);
	key_free(other);
	key_free(ca);
}

/* ---- lines ------------------------------------------------------------------------------ */

static void test_cert_line_round_trips_with_its_comment(void **state)
{
	struct key *ca = gen(KEY_ED25519);
	struct cert *c = valid_cert(KEY_ECDSA_P384), *p = NULL;
	char *line = NULL, *with_nl = NULL;
	(void)state;

	assert_int_equal(sign_with(c, ca, NULL), 0);
	assert_int_equal(cert_to_line(c, "alice@laptop", &line), 0);
	assert_true(strncmp(line, "ecdsa-sha2-nistp384-cert-v01@openssh.com AAAA", 45) == 0);
	assert_string_equal(line + strlen(line) - 13, " alice@laptop");
	assert_true(asprintf(&with_nl, "  %s\r\n", line) > 0);
	assert_int_equal(cert_from_line(with_nl, &p), 0);
	assert_memory_equal(p->blob, c->blob, c->blob_len);
	cert_free(p);
	free(with_nl);
	free(line);
	cert_free(c);
	key_free(ca);
}

static void test_cert_line_whose_type_name_does_not_match_the_blob_is_refused(void **state)
{
	char *text = read_data("cert-ed25519-ed25519-cert.pub"), *b64 = strchr(text, ' ');
	char *line = NULL;
	struct cert *c = (struct cert *)&c;
	(void)state;

	assert_true(asprintf(&line, "ecdsa-sha2-nistp256-cert-v01@openssh.com%s", b64) > 0);
	assert_int_equal(cert_from_line(line, &c), JIT_E_FORMAT);
	assert_ptr_equal(c, (struct cert *)&c);
	free(line);
	free(text);
}

static void test_cert_line_spanning_two_lines_is_refused(void **state)
{
	char *text = read_data("cert-ed25519-ed25519-cert.pub"), *line = NULL;
	struct cert *c = NULL;
	(void)state;

	assert_true(asprintf(&line, "%s%s", text, text) > 0);
	assert_int_equal(cert_from_line(line, &c), JIT_E_FORMAT);
	assert_int_equal(cert_from_line("ssh-ed25519-cert-v01@openssh.com", &c), JIT_E_FORMAT);
	assert_int_equal(cert_from_line("", &c), JIT_E_FORMAT);
	assert_int_equal(cert_from_line("ssh-ed25519-cert-v01@openssh.com AAAA!", &c), JIT_E_FORMAT);
	assert_null(c);
	free(line);
	free(text);
}

static void test_cert_line_over_the_limit_is_refused(void **state)
{
	char *line = malloc(CERT_LINE_MAX + 2);
	struct cert *c = NULL;
	(void)state;

	memcpy(line, "ssh-ed25519-cert-v01@openssh.com ", 33);
	memset(line + 33, 'A', CERT_LINE_MAX + 1 - 33);
	line[CERT_LINE_MAX + 1] = 0;
	assert_int_equal(cert_from_line(line, &c), JIT_E_TOO_LARGE);
	assert_null(c);
	free(line);
}

static void test_unsigned_cert_has_no_line(void **state)
{
	struct cert *c = valid_cert(KEY_ED25519);
	char *line = NULL;
	(void)state;

	assert_int_equal(cert_to_line(c, NULL, &line), -EINVAL);
	assert_null(line);
	cert_free(c);
}

/* ---- fixtures made by ssh-keygen -s (tests/data/make-fixtures.sh) ------------------------ */

static const struct fixture {
	const char *cert, *ca;
	enum key_type subject;
	const char *alg;
	uint64_t serial;
} fixtures[] = {
	{ "cert-ed25519-ed25519-cert.pub", "cert-ca-ed25519.pub", KEY_ED25519, "ssh-ed25519", 42 },
	{ "cert-p256-rsa-cert.pub", "cert-ca-p256.pub", KEY_RSA, "ecdsa-sha2-nistp256", 43 },
	{ "cert-p384-p256-cert.pub", "cert-ca-p384.pub", KEY_ECDSA_P256, "ecdsa-sha2-nistp384", 44 },
	{ "cert-rsa-p384-cert.pub", "cert-ca-rsa.pub", KEY_ECDSA_P384, "rsa-sha2-512", 45 },
};

static void test_fixture_certs_parse_with_the_fields_ssh_keygen_was_given(void **state)
{
	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(fixtures); i++) {
		struct cert *c = load_cert(fixtures[i].cert);
		struct key *ca = load_pub(fixtures[i].ca);

		assert_int_equal(c->type, CERT_TYPE_USER);
		assert_int_equal(key_type(c->subject), fixtures[i].subject);
		assert_int_equal(c->serial, fixtures[i].serial);
		assert_string_equal(c->key_id, KEY_ID);
		assert_int_equal(c->n_principals, 2);
		assert_string_equal(c->principals[0], P_ROOT);
		assert_string_equal(c->principals[1], P_DEPLOY);
		assert_int_equal(c->valid_after, T0);
		assert_int_equal(c->valid_before, T_END);
		assert_int_equal(c->n_critical, 2);
		assert_true(has_option(c->critical, c->n_critical, "force-command", "/usr/bin/true"));
		assert_true(has_option(c->critical, c->n_critical, "source-address", "127.0.0.1/32"));
		assert_int_equal(c->n_extensions, 1);
		assert_true(has_option(c->extensions, c->n_extensions, "permit-pty", NULL));
		assert_true(key_equal_public(c->signature_key, ca));
		assert_string_equal(c->signature_alg, fixtures[i].alg);
		key_free(ca);
		cert_free(c);
	}
}

static void test_check_accepts_a_listed_principal_from_the_trusted_ca_within_validity(
	void **state)
{
	struct cert *c = load_cert("cert-ed25519-ed25519-cert.pub");
	struct key *ca = load_pub("cert-ca-ed25519.pub");
	(void)state;

	assert_int_equal(cert_check(c, ca, T0, P_ROOT), 0);
	assert_int_equal(cert_check(c, ca, T_END - 1, P_DEPLOY), 0);
	assert_int_equal(cert_check(c, ca, T0 + 1, NULL), 0);
	key_free(ca);
	cert_free(c);
}

static void test_check_refuses_a_cert_signed_by_another_ca(void **state)
{
	struct cert *c = load_cert("cert-ed25519-ed25519-cert.pub");
	struct key *other = load_pub("cert-ca-p256.pub");
	(void)state;

	assert_int_equal(cert_check(c, other, T0, P_ROOT), JIT_E_SIGNATURE);
	key_free(other);
	cert_free(c);
}

static void test_check_refuses_a_cert_before_valid_after(void **state)
{
	struct cert *c = load_cert("cert-ed25519-ed25519-cert.pub");
	struct key *ca = load_pub("cert-ca-ed25519.pub");
	(void)state;

	assert_int_equal(cert_check(c, ca, T0 - 1, P_ROOT), JIT_E_EXPIRED);
	assert_int_equal(cert_check(c, ca, 0, P_ROOT), JIT_E_EXPIRED);
	key_free(ca);
	cert_free(c);
}

static void test_check_refuses_a_cert_from_valid_before_on(void **state)
{
	struct cert *c = load_cert("cert-ed25519-ed25519-cert.pub");
	struct key *ca = load_pub("cert-ca-ed25519.pub");
	(void)state;

	assert_int_equal(cert_check(c, ca, T_END, P_ROOT), JIT_E_EXPIRED);
	assert_int_equal(cert_check(c, ca, UINT64_MAX, P_ROOT), JIT_E_EXPIRED);
	key_free(ca);
	cert_free(c);
}

static void test_check_refuses_a_principal_the_cert_does_not_list(void **state)
{
	struct cert *c = load_cert("cert-ed25519-ed25519-cert.pub");
	struct key *ca = load_pub("cert-ca-ed25519.pub");
	(void)state;

	assert_int_equal(cert_check(c, ca, T0, "jit:prod-web-4:root"), JIT_E_NOT_FOUND);
	assert_int_equal(cert_check(c, ca, T0, "root"), JIT_E_NOT_FOUND);
	key_free(ca);
	cert_free(c);
}

static void test_check_refuses_a_host_cert(void **state)
{
	struct cert *c = load_cert("cert-host-cert.pub");
	struct key *ca = load_pub("cert-ca-ed25519.pub");
	(void)state;

	assert_int_equal(c->type, CERT_TYPE_HOST);
	assert_int_equal(cert_check(c, ca, T0, "prod-web-3"), JIT_E_CERT);
	key_free(ca);
	cert_free(c);
}

static void test_cert_signed_by_an_rsa_ca_with_sha1_is_refused(void **state)
{
	char *text = read_data("cert-rsa-sha1-cert.pub");
	struct cert *c = NULL;
	(void)state;

	assert_int_equal(cert_from_line(text, &c), JIT_E_KEY_TYPE);
	assert_null(c);
	free(text);
}

static void test_every_truncation_of_each_fixture_is_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < ELEMENTSOF(fixtures); i++) {
		struct cert *f = load_cert(fixtures[i].cert);

		for (size_t len = 0; len < f->blob_len; len++) {
			uint8_t *copy = malloc(len ? len : 1);
			struct cert *c = (struct cert *)&c;

			memcpy(copy, f->blob, len);
			assert_true(cert_parse(copy, len, &c) < 0);
			assert_ptr_equal(c, (struct cert *)&c);
			free(copy);
		}
		cert_free(f);
	}
}

static void test_every_single_byte_flip_of_each_fixture_is_refused(void **state)
{
	static const uint8_t masks[] = { 0x01, 0x80 };
	(void)state;

	for (size_t i = 0; i < ELEMENTSOF(fixtures); i++) {
		struct cert *f = load_cert(fixtures[i].cert);
		uint8_t *copy = malloc(f->blob_len);

		for (size_t m = 0; m < ELEMENTSOF(masks); m++) {
			for (size_t pos = 0; pos < f->blob_len; pos++) {
				struct cert *c = (struct cert *)&c;
				int r;

				memcpy(copy, f->blob, f->blob_len);
				copy[pos] ^= masks[m];
				r = cert_parse(copy, f->blob_len, &c);
				if (r >= 0)
					fail_msg("%s: flip 0x%02x at %zu accepted", fixtures[i].cert,
						 masks[m], pos);
				assert_ptr_equal(c, (struct cert *)&c);
			}
		}
		free(copy);
		cert_free(f);
	}
}

static void test_blob_over_the_size_limit_is_refused(void **state)
{
	uint8_t *big = calloc(1, CERT_BLOB_MAX + 1);
	struct cert *c = NULL;
	(void)state;

	assert_int_equal(cert_parse(big, CERT_BLOB_MAX + 1, &c), JIT_E_TOO_LARGE);
	assert_null(c);
	free(big);
}

/* ---- hand-built blobs: the parser's checks, independent of our encoder ------------------- */

struct raw {
	const char *type_name;
	size_t nonce_len;
	uint64_t serial;
	uint32_t type;
	const char *key_id;
	const char *principals[4];
	uint64_t valid_after, valid_before;
	struct cert_option critical[3];
	size_t n_critical;
	struct cert_option extensions[3];
	size_t n_extensions;
	bool raw_option_data;	/* option values written as the data itself, not string(value) */
	size_t reserved_len;
	const uint8_t *sig_key; /* NULL: the CA's own blob */
	size_t sig_key_len;
	bool trailing_byte;
};

static struct raw raw_valid(void)
{
	return (struct raw){
		.type_name = "ssh-ed25519-cert-v01@openssh.com",
		.nonce_len = CERT_NONCE_LEN,
		.serial = 5,
		.type = CERT_TYPE_USER,
		.key_id = KEY_ID,
		.principals = { P_ROOT },
		.valid_after = T0,
		.valid_before = T_END,
		.critical = { { "force-command", "id" } },
		.n_critical = 1,
		.extensions = { { "permit-pty", NULL } },
		.n_extensions = 1,
	};
}

static void raw_options(struct wbuf *b, const struct cert_option *o, size_t n, bool raw_data)
{
	struct wbuf *l = wbuf_new(0), *d = wbuf_new(0);

	for (size_t i = 0; i < n; i++) {
		wbuf_reset(d);
		if (o[i].value && raw_data)
			assert_int_equal(wbuf_put(d, o[i].value, strlen(o[i].value)), 0);
		else if (o[i].value)
			assert_int_equal(wbuf_put_cstring(d, o[i].value), 0);
		assert_int_equal(wbuf_put_cstring(l, o[i].name), 0);
		assert_int_equal(wbuf_put_stringb(l, d), 0);
	}
	assert_int_equal(wbuf_put_stringb(b, l), 0);
	wbuf_free(l);
	wbuf_free(d);
}

/* Encode @r over an Ed25519 subject and sign it with @ca (always a valid signature). */
static void raw_sign(const struct raw *r, const struct key *ca, uint8_t **ret, size_t *ret_len)
{
	struct key *subject = gen(KEY_ED25519);
	struct wbuf *b = wbuf_new(0), *p = wbuf_new(0), *sig = wbuf_new(0);
	uint8_t nonce[64] = { 0 }, *ca_blob = NULL;
	uint8_t reserved[8] = { 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x' };
	size_t ca_len;

	for (size_t i = 0; i < ELEMENTSOF(r->principals) && r->principals[i]; i++)
		assert_int_equal(wbuf_put_cstring(p, r->principals[i]), 0);
	assert_int_equal(key_to_blob(ca, &ca_blob, &ca_len), 0);
	assert_int_equal(wbuf_put_cstring(b, r->type_name), 0);
	assert_int_equal(wbuf_put_string(b, nonce, r->nonce_len), 0);
	assert_int_equal(key_put_public_fields(subject, b), 0);
	assert_int_equal(wbuf_put_u64(b, r->serial), 0);
	assert_int_equal(wbuf_put_u32(b, r->type), 0);
	assert_int_equal(wbuf_put_cstring(b, r->key_id), 0);
	assert_int_equal(wbuf_put_stringb(b, p), 0);
	assert_int_equal(wbuf_put_u64(b, r->valid_after), 0);
	assert_int_equal(wbuf_put_u64(b, r->valid_before), 0);
	raw_options(b, r->critical, r->n_critical, r->raw_option_data);
	raw_options(b, r->extensions, r->n_extensions, r->raw_option_data);
	assert_int_equal(wbuf_put_string(b, reserved, r->reserved_len), 0);
	if (r->sig_key)
		assert_int_equal(wbuf_put_string(b, r->sig_key, r->sig_key_len), 0);
	else
		assert_int_equal(wbuf_put_string(b, ca_blob, ca_len), 0);
	assert_int_equal(key_sign(ca, wbuf_ptr(b), wbuf_len(b), NULL, sig), 0);
	assert_int_equal(wbuf_put_stringb(b, sig), 0);
	if (r->trailing_byte)
		assert_int_equal(wbuf_put_u8(b, 0), 0);
	assert_int_equal(wbuf_dup(b, ret, ret_len), 0);
	free(ca_blob);
	wbuf_free(sig);
	wbuf_free(p);
	wbuf_free(b);
	key_free(subject);
}

/* Parse the hand-built @r; returns the result, checking that nothing is returned on failure. */
static int raw_parse(const struct raw *r)
{
	struct key *ca = gen(KEY_ED25519);
	struct cert *c = (struct cert *)&c;
	uint8_t *blob;
	size_t len;
	int ret;

	raw_sign(r, ca, &blob, &len);
	ret = cert_parse(blob, len, &c);
	if (ret == 0)
		cert_free(c);
	else
		assert_ptr_equal(c, (struct cert *)&c);
	free(blob);
	key_free(ca);
	return ret;
}

static void test_hand_built_cert_that_keeps_every_rule_parses(void **state)
{
	struct raw r = raw_valid();
	(void)state;
	assert_int_equal(raw_parse(&r), 0);
}

static void test_parsed_cert_with_zero_principals_is_refused(void **state)
{
	struct raw r = raw_valid();
	(void)state;
	r.principals[0] = NULL;
	assert_int_equal(raw_parse(&r), JIT_E_CERT);
}

static void test_parsed_cert_with_serial_zero_is_refused(void **state)
{
	struct raw r = raw_valid();
	(void)state;
	r.serial = 0;
	assert_int_equal(raw_parse(&r), JIT_E_CERT);
}

static void test_parsed_cert_whose_valid_after_is_not_before_valid_before_is_refused(
	void **state)
{
	struct raw r = raw_valid();
	(void)state;
	r.valid_after = r.valid_before;
	assert_int_equal(raw_parse(&r), JIT_E_CERT);
}

static void test_parsed_cert_with_an_empty_key_id_is_refused(void **state)
{
	struct raw r = raw_valid();
	(void)state;
	r.key_id = "";
	assert_int_equal(raw_parse(&r), JIT_E_CERT);
}

static void test_parsed_cert_with_a_principal_holding_a_comma_is_refused(void **state)
{
	struct raw r = raw_valid();
	(void)state;
	r.principals[0] = "jit:a:root,jit:b:root";
	assert_int_equal(raw_parse(&r), JIT_E_CERT);
}

static void test_parsed_cert_with_a_duplicate_principal_is_refused(void **state)
{
	struct raw r = raw_valid();
	(void)state;
	r.principals[1] = P_ROOT;
	assert_int_equal(raw_parse(&r), JIT_E_CERT);
}

static void test_parsed_cert_with_unsorted_critical_options_is_refused(void **state)
{
	struct raw r = raw_valid();
	(void)state;
	r.critical[0] = (struct cert_option){ "source-address", "127.0.0.1" };
	r.critical[1] = (struct cert_option){ "force-command", "id" };
	r.n_critical = 2;
	assert_int_equal(raw_parse(&r), JIT_E_FORMAT);
}

static void test_parsed_cert_with_duplicate_extensions_is_refused(void **state)
{
	struct raw r = raw_valid();
	(void)state;
	r.extensions[1] = r.extensions[0];
	r.n_extensions = 2;
	assert_int_equal(raw_parse(&r), JIT_E_FORMAT);
}

static void test_parsed_cert_whose_option_data_is_not_one_string_is_refused(void **state)
{
	struct raw r = raw_valid();
	(void)state;
	r.critical[0].value = "/usr/bin/true";
	r.raw_option_data = true;
	assert_int_equal(raw_parse(&r), JIT_E_FORMAT);
}

static void test_parsed_cert_with_a_non_empty_reserved_field_is_refused(void **state)
{
	struct raw r = raw_valid();
	(void)state;
	r.reserved_len = 1;
	assert_int_equal(raw_parse(&r), JIT_E_FORMAT);
}

static void test_parsed_cert_whose_signature_key_is_a_certificate_is_refused(void **state)
{
	struct cert *f = load_cert("cert-ed25519-ed25519-cert.pub");
	struct raw r = raw_valid();
	(void)state;
	r.sig_key = f->blob;
	r.sig_key_len = f->blob_len;
	assert_int_equal(raw_parse(&r), JIT_E_KEY_TYPE);
	cert_free(f);
}

static void test_parsed_cert_with_a_trailing_byte_is_refused(void **state)
{
	struct raw r = raw_valid();
	(void)state;
	r.trailing_byte = true;
	assert_int_equal(raw_parse(&r), JIT_E_FORMAT);
}

static void test_parsed_cert_with_a_nonce_of_another_length_is_refused(void **state)
{
	struct raw r = raw_valid();
	(void)state;
	r.nonce_len = 16;
	assert_int_equal(raw_parse(&r), JIT_E_FORMAT);
}

static void test_parsed_cert_of_an_unknown_type_number_is_refused(void **state)
{
	struct raw r = raw_valid();
	(void)state;
	r.type = 3;
	assert_int_equal(raw_parse(&r), JIT_E_FORMAT);
}

static void test_parsed_cert_of_an_unsupported_type_name_is_refused(void **state)
{
	struct raw r = raw_valid();
	(void)state;
	r.type_name = "ssh-dss-cert-v01@openssh.com";
	assert_int_equal(raw_parse(&r), JIT_E_KEY_TYPE);
}

static void test_parsed_cert_whose_type_name_does_not_match_the_key_fields_is_refused(
	void **state)
{
	struct raw r = raw_valid();
	(void)state;
	r.type_name = "ecdsa-sha2-nistp256-cert-v01@openssh.com";
	assert_true(raw_parse(&r) < 0);
}

/* ---- golden: ours listed by ssh-keygen -L; theirs from ssh-keygen -s parsed by ours ------ */

static const struct {
	enum key_type type;
	const char *kg_type;	/* ssh-keygen -t / -b */
	const char *kg_bits;
	const char *short_name; /* as ssh-keygen -L prints it */
} key_types[] = {
	{ KEY_ED25519, "ed25519", "256", "ED25519" },
	{ KEY_ECDSA_P256, "ecdsa", "256", "ECDSA" },
	{ KEY_ECDSA_P384, "ecdsa", "384", "ECDSA" },
	{ KEY_RSA, "rsa", "3072", "RSA" },
};

static const char *short_name(enum key_type t)
{
	for (size_t i = 0; i < ELEMENTSOF(key_types); i++)
		if (key_types[i].type == t)
			return key_types[i].short_name;
	return "?";
}

/* What `ssh-keygen -L` prints for the certificate below, after its first line (the path). */
static char *expected_listing(const struct cert *c, const struct key *ca)
{
	char *fp_subject = NULL, *fp_ca = NULL, *out = NULL;

	assert_int_equal(key_fingerprint(c->subject, &fp_subject), 0);
	assert_int_equal(key_fingerprint(ca, &fp_ca), 0);
	assert_true(asprintf(&out,
			     "        Type: %s user certificate\n"
			     "        Public key: %s-CERT %s\n"
			     "        Signing CA: %s %s (using %s)\n"
			     "        Key ID: \"%s\"\n"
			     "        Serial: %" PRIu64 "\n"
			     "        Valid: from 2030-01-01T00:00:00 to 2030-01-01T00:10:00\n"
			     "        Principals: \n"
			     "                " P_ROOT "\n"
			     "                " P_DEPLOY "\n"
			     "        Critical Options: \n"
			     "                force-command /usr/bin/true\n"
			     "                source-address 127.0.0.1/32\n"
			     "        Extensions: \n"
			     "                permit-port-forwarding\n"
			     "                permit-pty\n",
			     key_cert_type_name(c->subject), short_name(key_type(c->subject)),
			     fp_subject, short_name(key_type(ca)), fp_ca, c->signature_alg, KEY_ID,
			     c->serial) > 0);
	free(fp_subject);
	free(fp_ca);
	return out;
}

static void ours_listed_by_ssh_keygen(enum key_type ca_type, const char *want_alg)
{
	struct key *ca;
	char *dir;

	need_ssh_keygen();
	ca = gen(ca_type);
	dir = tu_tmpdir();
	for (size_t i = 0; i < ELEMENTSOF(key_types); i++) {
		struct cert *c = valid_cert(key_types[i].type);
		char *line = NULL, *path = NULL, *out = NULL, *want, *got;

		c->serial = 1000 + i;
		assert_int_equal(cert_add_principal(c, P_DEPLOY), 0);
		assert_int_equal(cert_add_critical(c, "source-address", "127.0.0.1/32"), 0);
		assert_int_equal(cert_add_critical(c, "force-command", "/usr/bin/true"), 0);
		assert_int_equal(cert_add_extension(c, "permit-pty", NULL), 0);
		assert_int_equal(cert_add_extension(c, "permit-port-forwarding", NULL), 0);
		assert_int_equal(sign_with(c, ca, NULL), 0);
		assert_string_equal(c->signature_alg, want_alg);
		assert_int_equal(cert_to_line(c, "test", &line), 0);
		assert_true(asprintf(&path, "%s/cert-%zu-cert.pub", dir, i) > 0);
		assert_int_equal(tu_write_file(path, line, strlen(line), 0644), 0);
		assert_int_equal(tu_run(&out, "TZ=UTC %s -L -f %s", tu_ssh_keygen(), path), 0);
		want = expected_listing(c, ca);
		got = strchr(out, '\n');
		assert_non_null(got);
		assert_string_equal(got + 1, want);
		free(want);
		free(out);
		free(path);
		free(line);
		cert_free(c);
	}
	tu_rmtree(dir);
	free(dir);
	key_free(ca);
}

static void test_certs_signed_by_an_ed25519_ca_are_listed_by_ssh_keygen_with_their_fields(
	void **state)
{
	(void)state;
	ours_listed_by_ssh_keygen(KEY_ED25519, "ssh-ed25519");
}

static void test_certs_signed_by_a_p256_ca_are_listed_by_ssh_keygen_with_their_fields(
	void **state)
{
	(void)state;
	ours_listed_by_ssh_keygen(KEY_ECDSA_P256, "ecdsa-sha2-nistp256");
}

static void test_certs_signed_by_a_p384_ca_are_listed_by_ssh_keygen_with_their_fields(
	void **state)
{
	(void)state;
	ours_listed_by_ssh_keygen(KEY_ECDSA_P384, "ecdsa-sha2-nistp384");
}

static void test_certs_signed_by_an_rsa_ca_are_listed_by_ssh_keygen_with_their_fields(
	void **state)
{
	(void)state;
	ours_listed_by_ssh_keygen(KEY_RSA, "rsa-sha2-512");
}

static void theirs_parsed_by_ours(size_t ca_index, const char *want_alg)
{
	char *dir, *text = NULL, *path = NULL;
	struct key *ca = NULL;

	need_ssh_keygen();
	dir = tu_tmpdir();
	assert_int_equal(tu_run(NULL, "%s -q -t %s -b %s -N '' -f %s/ca", tu_ssh_keygen(),
				key_types[ca_index].kg_type, key_types[ca_index].kg_bits, dir),
			 0);
	assert_true(asprintf(&path, "%s/ca.pub", dir) > 0);
	assert_int_equal(tu_read_file(path, &text, NULL), 0);
	assert_int_equal(key_from_line(text, &ca, NULL), 0);
	free(text);
	free(path);

	for (size_t i = 0; i < ELEMENTSOF(key_types); i++) {
		struct key *subject = NULL;
		struct cert *c = NULL;

		assert_int_equal(tu_run(NULL,
					"%1$s -q -t %2$s -b %3$s -N '' -f %4$s/u%5$zu && "
					"%1$s -q -s %4$s/ca -I '%6$s' -n %7$s,%8$s -z %9$zu "
					"-V 20300101000000Z:20300101001000Z -O clear -O permit-pty "
					"-O force-command=/usr/bin/true "
					"-O source-address=127.0.0.1/32 %4$s/u%5$zu.pub",
					tu_ssh_keygen(), key_types[i].kg_type,
					key_types[i].type == KEY_RSA ? "2048" : key_types[i].kg_bits,
					dir, i, KEY_ID, P_ROOT, P_DEPLOY, 500 + i),
				 0);
		assert_true(asprintf(&path, "%s/u%zu.pub", dir, i) > 0);
		assert_int_equal(tu_read_file(path, &text, NULL), 0);
		assert_int_equal(key_from_line(text, &subject, NULL), 0);
		free(text);
		free(path);
		assert_true(asprintf(&path, "%s/u%zu-cert.pub", dir, i) > 0);
		assert_int_equal(tu_read_file(path, &text, NULL), 0);
		assert_int_equal(cert_from_line(text, &c), 0);

		assert_int_equal(c->type, CERT_TYPE_USER);
		assert_true(key_equal_public(c->subject, subject));
		assert_int_equal(c->serial, 500 + i);
		assert_string_equal(c->key_id, KEY_ID);
		assert_int_equal(c->n_principals, 2);
		assert_string_equal(c->principals[0], P_ROOT);
		assert_string_equal(c->principals[1], P_DEPLOY);
		assert_int_equal(c->valid_after, T0);
		assert_int_equal(c->valid_before, T_END);
		assert_int_equal(c->n_critical, 2);
		assert_string_equal(c->critical[0].name, "force-command");
		assert_string_equal(c->critical[0].value, "/usr/bin/true");
		assert_string_equal(c->critical[1].name, "source-address");
		assert_string_equal(c->critical[1].value, "127.0.0.1/32");
		assert_int_equal(c->n_extensions, 1);
		assert_string_equal(c->extensions[0].name, "permit-pty");
		assert_null(c->extensions[0].value);
		assert_true(key_equal_public(c->signature_key, ca));
		assert_string_equal(c->signature_alg, want_alg);
		assert_int_equal(cert_check(c, ca, T0, P_ROOT), 0);
		cert_free(c);
		key_free(subject);
		free(text);
		free(path);
	}
	key_free(ca);
	tu_rmtree(dir);
	free(dir);
}

static void test_certs_made_by_ssh_keygen_with_an_ed25519_ca_parse_with_the_same_fields(
	void **state)
{
	(void)state;
	theirs_parsed_by_ours(0, "ssh-ed25519");
}

static void test_certs_made_by_ssh_keygen_with_a_p256_ca_parse_with_the_same_fields(
	void **state)
{
	(void)state;
	theirs_parsed_by_ours(1, "ecdsa-sha2-nistp256");
}

static void test_certs_made_by_ssh_keygen_with_a_p384_ca_parse_with_the_same_fields(
	void **state)
{
	(void)state;
	theirs_parsed_by_ours(2, "ecdsa-sha2-nistp384");
}

static void test_certs_made_by_ssh_keygen_with_an_rsa_ca_parse_with_the_same_fields(
	void **state)
{
	(void)state;
	theirs_parsed_by_ours(3, "rsa-sha2-512");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cert_with_all_fields_signs_and_parses_back_with_the_same_fields),
		cmocka_unit_test(test_cert_with_zero_principals_is_refused),
		cmocka_unit_test(test_cert_with_serial_zero_is_refused),
		cmocka_unit_test(test_cert_whose_valid_after_is_not_before_valid_before_is_refused),
		cmocka_unit_test(test_cert_without_key_id_is_refused),
		cmocka_unit_test(test_host_cert_is_refused_by_the_signer),
		cmocka_unit_test(test_failed_signing_leaves_an_earlier_signed_blob_unchanged),
		cmocka_unit_test(test_options_added_out_of_order_are_encoded_sorted_by_name),
		cmocka_unit_test(test_duplicate_option_name_is_refused),
		cmocka_unit_test(test_options_up_to_the_limit_are_accepted_and_one_more_is_refused),
		cmocka_unit_test(test_option_name_or_value_over_its_limit_is_refused),
		cmocka_unit_test(test_option_with_an_empty_name_or_a_control_character_is_refused),
		cmocka_unit_test(test_unsorted_options_placed_in_the_struct_are_refused_by_the_signer),
		cmocka_unit_test(test_option_data_is_a_string_inside_the_string_and_empty_for_a_flag),
		cmocka_unit_test(test_empty_principal_is_refused),
		cmocka_unit_test(test_principal_with_a_comma_is_refused),
		cmocka_unit_test(test_principal_with_whitespace_is_refused),
		cmocka_unit_test(test_principal_with_a_control_or_non_ascii_character_is_refused),
		cmocka_unit_test(
			test_principal_at_the_length_limit_is_accepted_and_one_byte_more_is_refused),
		cmocka_unit_test(test_duplicate_principal_is_refused),
		cmocka_unit_test(test_principals_up_to_the_limit_are_accepted_and_one_more_is_refused),
		cmocka_unit_test(test_key_id_with_a_control_character_is_refused),
		cmocka_unit_test(test_key_id_over_the_limit_is_refused),
		cmocka_unit_test(test_validity_runs_from_now_minus_skew_to_now_plus_lifetime),
		cmocka_unit_test(test_validity_out_of_range_is_refused_and_leaves_the_window_unchanged),
		cmocka_unit_test(test_rsa_ca_signs_with_rsa_sha2_512_by_default),
		cmocka_unit_test(test_rsa_ca_refuses_to_sign_with_sha1),
		cmocka_unit_test(test_signature_from_a_signer_holding_another_key_is_refused),
		cmocka_unit_test(test_cert_line_round_trips_with_its_comment),
		cmocka_unit_test(test_cert_line_whose_type_name_does_not_match_the_blob_is_refused),
		cmocka_unit_test(test_cert_line_spanning_two_lines_is_refused),
		cmocka_unit_test(test_cert_line_over_the_limit_is_refused),
		cmocka_unit_test(test_unsigned_cert_has_no_line),
		cmocka_unit_test(test_fixture_certs_parse_with_the_fields_ssh_keygen_was_given),
		cmocka_unit_test(
			test_check_accepts_a_listed_principal_from_the_trusted_ca_within_validity),
		cmocka_unit_test(test_check_refuses_a_cert_signed_by_another_ca),
		cmocka_unit_test(test_check_refuses_a_cert_before_valid_after),
		cmocka_unit_test(test_check_refuses_a_cert_from_valid_before_on),
		cmocka_unit_test(test_check_refuses_a_principal_the_cert_does_not_list),
		cmocka_unit_test(test_check_refuses_a_host_cert),
		cmocka_unit_test(test_cert_signed_by_an_rsa_ca_with_sha1_is_refused),
		cmocka_unit_test(test_every_truncation_of_each_fixture_is_refused),
		cmocka_unit_test(test_every_single_byte_flip_of_each_fixture_is_refused),
		cmocka_unit_test(test_blob_over_the_size_limit_is_refused),
		cmocka_unit_test(test_hand_built_cert_that_keeps_every_rule_parses),
		cmocka_unit_test(test_parsed_cert_with_zero_principals_is_refused),
		cmocka_unit_test(test_parsed_cert_with_serial_zero_is_refused),
		cmocka_unit_test(
			test_parsed_cert_whose_valid_after_is_not_before_valid_before_is_refused),
		cmocka_unit_test(test_parsed_cert_with_an_empty_key_id_is_refused),
		cmocka_unit_test(test_parsed_cert_with_a_principal_holding_a_comma_is_refused),
		cmocka_unit_test(test_parsed_cert_with_a_duplicate_principal_is_refused),
		cmocka_unit_test(test_parsed_cert_with_unsorted_critical_options_is_refused),
		cmocka_unit_test(test_parsed_cert_with_duplicate_extensions_is_refused),
		cmocka_unit_test(test_parsed_cert_whose_option_data_is_not_one_string_is_refused),
		cmocka_unit_test(test_parsed_cert_with_a_non_empty_reserved_field_is_refused),
		cmocka_unit_test(test_parsed_cert_whose_signature_key_is_a_certificate_is_refused),
		cmocka_unit_test(test_parsed_cert_with_a_trailing_byte_is_refused),
		cmocka_unit_test(test_parsed_cert_with_a_nonce_of_another_length_is_refused),
		cmocka_unit_test(test_parsed_cert_of_an_unknown_type_number_is_refused),
		cmocka_unit_test(test_parsed_cert_of_an_unsupported_type_name_is_refused),
		cmocka_unit_test(
			test_parsed_cert_whose_type_name_does_not_match_the_key_fields_is_refused),
		cmocka_unit_test(
			test_certs_signed_by_an_ed25519_ca_are_listed_by_ssh_keygen_with_their_fields),
		cmocka_unit_test(
			test_certs_signed_by_a_p256_ca_are_listed_by_ssh_keygen_with_their_fields),
		cmocka_unit_test(
			test_certs_signed_by_a_p384_ca_are_listed_by_ssh_keygen_with_their_fields),
		cmocka_unit_test(
			test_certs_signed_by_an_rsa_ca_are_listed_by_ssh_keygen_with_their_fields),
		cmocka_unit_test(
			test_certs_made_by_ssh_keygen_with_an_ed25519_ca_parse_with_the_same_fields),
		cmocka_unit_test(
			test_certs_made_by_ssh_keygen_with_a_p256_ca_parse_with_the_same_fields),
		cmocka_unit_test(
			test_certs_made_by_ssh_keygen_with_a_p384_ca_parse_with_the_same_fields),
		cmocka_unit_test(
			test_certs_made_by_ssh_keygen_with_an_rsa_ca_parse_with_the_same_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
