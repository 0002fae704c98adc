/* SPDX-License-Identifier: ISC */
/*
 * fuzz_key_line.c - key_from_line() on the input as text; a parsed key must format back to a
 * line that parses to the same key with the same comment.
 * Corpus: corpus/key_line/ (ssh-keygen .pub lines of every type, valid and broken).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct key *k = NULL, *again = NULL;
	char *text, *comment = NULL, *comment2 = NULL, *line = NULL, *fp = NULL;

	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	if (key_from_line(text, &k, &comment) == 0) {
		if (key_to_line(k, comment, &line) == 0) {
			if (key_from_line(line, &again, &comment2) != 0 ||
			    !key_equal_public(k, again) || strcmp(comment, comment2) != 0)
				abort();
		}
		if (key_fingerprint(k, &fp) != 0)
			abort();
	}
	free(fp);
	free(line);
	free(comment2);
	free(comment);
	key_free(again);
	key_free(k);
	free(text);
	return 0;
}
