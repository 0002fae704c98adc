/* SPDX-License-Identifier: ISC */
/*
 * fuzz_ledger_record - ledger_record_decode() over arbitrary bytes: the envelope layout, its
 * key section, the hash check and the canonical-JSON check (ledger.h). Each input is decoded
 * as it is, then once more with its hash field recomputed (the documented formula) so that
 * the checks behind the hash are reached too. A decoded record must carry the fields the
 * ledger adds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ledger.h"

#define OFF_HASH 45
#define OFF_KEYS_LEN 77

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decode(const uint8_t *data, size_t size)
{
	json_t *rec = NULL;

	if (ledger_record_decode(data, size, &rec) != 0)
		return;
	if (!json_is_integer(json_object_get(rec, "seq")) ||
	    json_string_length(json_object_get(rec, "hash")) != 64 ||
	    json_string_length(json_object_get(rec, "prev")) != 64 ||
	    !json_is_string(json_object_get(rec, "event")) ||
	    !json_is_integer(json_object_get(rec, "time")))
		abort();
	json_decref(rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;
	EVP_MD_CTX *ctx;

	decode(data, size);
	if (size < OFF_KEYS_LEN || !(copy = malloc(size)))
		return 0;
	memcpy(copy, data, size);
	ctx = EVP_MD_CTX_new();
	if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, copy, OFF_HASH) == 1 &&
	    EVP_DigestUpdate(ctx, copy + OFF_KEYS_LEN, size - OFF_KEYS_LEN) == 1 &&
	    EVP_DigestFinal_ex(ctx, copy + OFF_HASH, NULL) == 1)
		decode(copy, size);
	EVP_MD_CTX_free(ctx);
	free(copy);
	return 0;
}
