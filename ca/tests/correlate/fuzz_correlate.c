/* SPDX-License-Identifier: ISC */
/*
 * fuzz_correlate.c - libFuzzer target for the sshd log parser (ca/correlate.h): the input is
 * parsed as one line, then fed line by line to a stream. Every event must keep the
 * documented shape (printable ASCII strings, a serial wherever a key ID is).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "correlate.h"

/* 2026-11-21T13:04:05Z: year-less syslog dates resolve against it. */
#define FUZZ_NOW 1795266245ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s)
{
	if (!s)
		return;
	if (strlen(s) > CORRELATE_FIELD_MAX)
		abort();
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			abort();
}

static void check(const struct correlate_login *l)
{
	const char *const strs[] = {
		l->time_text, l->host, l->login, l->from_addr, l->key_type, l->key_fingerprint,
		l->key_id, l->ca_key_type, l->ca_fingerprint, l->ca_source, l->jit_user,
		l->jit_host, l->jit_login, l->jit_request, l->detail,
	};

	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		check_str(strs[i]);
	if (l->kind == CORRELATE_REASON ? l->has_serial || l->key_id || !l->detail
					: !l->has_serial || !l->key_id || !l->ca_fingerprint)
		abort();
	if ((l->jit_user != NULL) != (l->jit_request != NULL))
		abort();
	if ((l->host == NULL) != (l->pid == 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct correlate_stream *s = NULL;
	struct correlate_login *l = NULL;

	if (correlate_parse_line(p, size, FUZZ_NOW, &l) == 0) {
		check(l);
		l = correlate_login_free(l);
	}

	if (correlate_stream_new(&s) < 0)
		return 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);

		correlate_stream_feed(s, p, n, FUZZ_NOW);
		while (correlate_stream_next(s, &l) == 0) {
			if (l->kind == CORRELATE_REASON)
				abort();
			check(l);
			l = correlate_login_free(l);
		}
		p += n;
	}
	correlate_stream_flush(s);
	while (correlate_stream_next(s, &l) == 0) {
		check(l);
		l = correlate_login_free(l);
	}
	correlate_stream_free(s);
	return 0;
}
