/* SPDX-License-Identifier: ISC */
/*
 * fuzz_response.c - the CA answer parsers: response.h (POST/GET /v1/requests) and explain.h
 * (POST /v1/explain). The first input byte picks the HTTP status; the rest is the body. Each
 * body goes through both parsers; what parses is used as the client uses it: an issued
 * answer is checked against a fixed key, a pending one gives the waiting status line, an
 * explanation is rendered.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "explain.h"
#include "key.h"
#include "response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = {201, 202, 200, 403, 401, 400, 404, 413, 500, 503, 302, 410};
	static struct key *subject;
	struct response *r = NULL;
	struct explain *e = NULL;
	char *text = NULL;

	if (size < 1)
		return 0;
	if (!subject && key_generate(KEY_ED25519, 0, &subject) < 0)
		return 0;
	if (response_parse(statuses[data[0] % (sizeof statuses / sizeof statuses[0])],
			   (const char *)data + 1, size - 1, &r) == 0) {
		if (r->kind == RESPONSE_ISSUED)
			(void)response_check_cert(r, subject, "prod-web-3", "root", 1700000000u);
		if (r->kind == RESPONSE_PENDING && response_pending_status(r, data[0], &text) == 0)
			free(text);
		response_free(r);
	}
	if (explain_parse((const char *)data + 1, size - 1, &e) == 0) {
		if (explain_render(e, "prod-web-3", "root", &text) == 0)
			free(text);
		explain_free(e);
	}
	return 0;
}
