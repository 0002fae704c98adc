/* SPDX-License-Identifier: ISC */
/*
 * fuzz_key_private.c - key_parse_private() on the input; a parsed key must format back to a
 * private-key file that parses to the same key and comment, and must sign.
 * Corpus: corpus/key_private/ (openssh-key-v1 files of every type, encrypted, refused
 * types, and broken ones).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "key.h"
#include "wbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct key *k = NULL, *again = NULL;
	char *comment = NULL, *comment2 = NULL, *text = NULL;
	size_t len = 0;

	if (key_parse_private(data, size, &k, &comment) == 0) {
		struct wbuf *sig = wbuf_new(0);

		if (!key_has_private(k) || key_format_private(k, comment, &text, &len) != 0 ||
		    key_parse_private((const uint8_t *)text, len, &again, &comment2) != 0 ||
		    !key_equal_public(k, again) || strcmp(comment, comment2) != 0)
			abort();
		if (!sig || key_sign(k, (const uint8_t *)"fuzz", 4, NULL, sig) != 0 ||
		    key_verify(again, wbuf_ptr(sig), wbuf_len(sig), (const uint8_t *)"fuzz", 4,
			       NULL) != 0)
			abort();
		wbuf_free(sig);
		OPENSSL_cleanse(text, len);
	}
	free(text);
	free(comment2);
	free(comment);
	key_free(again);
	key_free(k);
	return 0;
}
