/* SPDX-License-Identifier: ISC */
/*
 * fuzz_review.c - the review tools' parsers on arbitrary bytes: a ledger record as
 * ledger_cli_review_check() reads it (the "review" record's signature over its fields), and
 * the same bytes as a command-line time (ledger_cli_parse_time()).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "err.h"
#include "ledger_cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *rec = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	struct key *k = NULL;
	char *text = strndup((const char *)data, size < 64 ? size : 64);
	uint64_t t = 0;

	if (rec) {
		int r = ledger_cli_review_check(rec, &k);

		/* Only a verified signature hands out a key. */
		if ((r == 0) != (k != NULL))
			abort();
		key_free(k);
		json_decref(rec);
	}
	if (text) {
		ledger_cli_parse_time(text, 1700000000, true, &t);
		ledger_cli_parse_time(text, 0, true, &t);
		free(text);
	}
	return 0;
}
