/* SPDX-License-Identifier: ISC */
/*
 * fuzz_sig.c - sig_dearmor() then sig_verify() on armoured input, and sig_verify() on the
 * raw input as a blob. Corpus: corpus/sig/ (armoured signatures and blobs, valid and broken),
 * made over the message below in namespace "jit-ssh-request".
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "key.h"
#include "sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_msg[] = "{\"user\":\"alice\",\"host\":\"prod-web-3\",\"login\":\"root\"}\n";

static void verify(const uint8_t *blob, size_t len)
{
	struct key *k = NULL;

	if (sig_verify(blob, len, "jit-ssh-request", (const uint8_t *)fuzz_msg,
		       sizeof fuzz_msg - 1, &k) == 0)
		key_free(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *blob = NULL;
	size_t len;

	if (sig_dearmor((const char *)data, size, &blob, &len) == 0) {
		char *text = NULL;

		verify(blob, len);
		if (sig_armor(blob, len, &text) == 0)
			free(text);
		free(blob);
	}
	verify(data, size);
	return 0;
}
