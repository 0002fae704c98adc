/* SPDX-License-Identifier: ISC */
/*
 * fuzz_conf.c - feeds bytes to the configuration parser as the text of a file, with the CA's
 * key list, then reads every key back as a string, number and boolean; and the same bytes
 * to the duration parser.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const keys[] = {
	"listen",	    "port",	 "plain_http",	    "tls_cert", "tls_key",
	"ca_key",	    "policy",	 "ledger",	    "skew_sec", "max_ttl_sec",
	"clock_window_sec", "signer_id", "ledger_map_size", NULL,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *c = NULL;
	char *err = NULL;
	char *text = malloc(size + 1);
	uint64_t sec;

	/* The same bytes as a command-line duration. */
	if (text) {
		memcpy(text, data, size);
		text[size] = 0;
		if (conf_parse_duration(text, 7 * 86400, &sec) == 0 && (sec == 0 || sec > 7 * 86400))
			abort();
		free(text);
	}

	if (conf_parse("fuzz.yaml", data, size, keys, &c, &err) < 0) {
		free(err);
		return 0;
	}
	for (size_t i = 0; keys[i]; i++) {
		uint64_t v;
		int b;
		(void)conf_get(c, keys[i]);
		(void)conf_get_u64(c, keys[i], 1, 65535, &v, &err);
		free(err);
		err = NULL;
		(void)conf_get_bool(c, keys[i], &b, &err);
		free(err);
		err = NULL;
	}
	conf_free(c);
	return 0;
}
