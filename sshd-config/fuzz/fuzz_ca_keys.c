/* SPDX-License-Identifier: ISC */
/* Fuzz target: the CA public-key file parser, hostcfg_ca_keys_parse(). */
#include <stdint.h>
#include <stdlib.h>

#include "hostcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = NULL, *error = NULL;
	size_t n;

	if (hostcfg_ca_keys_parse((const char *)data, size, &text, &n, &error) == 0 && n == 0)
		abort(); /* success always means at least one key */
	free(text);
	free(error);
	return 0;
}
