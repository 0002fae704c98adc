/* SPDX-License-Identifier: ISC */
/*
 * fuzz_cert.c - cert_parse() on the raw input, and cert_from_line() on it as text.
 * Corpus: corpus/cert/ (certificate blobs and *-cert.pub lines, valid and broken).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cert *c = NULL;
	char *line;

	if (cert_parse(data, size, &c) == 0) {
		char *out = NULL;

		/* A parsed certificate must survive the checks and re-encoding as a line. */
		(void)cert_check(c, c->signature_key, c->valid_after, c->principals[0]);
		if (cert_to_line(c, "fuzz", &out) == 0)
			free(out);
		cert_free(c);
	}

	line = malloc(size + 1);
	if (!line)
		return 0;
	if (size)
		memcpy(line, data, size);
	line[size] = 0;
	if (cert_from_line(line, &c) == 0)
		cert_free(c);
	free(line);
	return 0;
}
