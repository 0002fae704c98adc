/* SPDX-License-Identifier: ISC */
/*
 * fuzz_response.c - the CA answer parser (response.h). The first input byte picks the HTTP
 * status; the rest is the body. An issued answer is also checked against a fixed key.
 */
#include <stddef.h>
#include <stdint.h>

#include "key.h"
#include "response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = {201, 202, 200, 403, 401, 400, 404, 413, 500, 503, 302};
	static struct key *subject;
	struct response *r = NULL;

	if (size < 1)
		return 0;
	if (!subject && key_generate(KEY_ED25519, 0, &subject) < 0)
		return 0;
	if (response_parse(statuses[data[0] % (sizeof statuses / sizeof statuses[0])],
			   (const char *)data + 1, size - 1, &r) == 0) {
		if (r->kind == RESPONSE_ISSUED)
			(void)response_check_cert(r, subject, "prod-web-3", "root", 1700000000u);
		response_free(r);
	}
	return 0;
}
