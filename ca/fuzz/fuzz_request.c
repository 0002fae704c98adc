/* SPDX-License-Identifier: ISC */
/*
 * fuzz_request.c - request_parse() and request_parse_authorization() on arbitrary bytes.
 * The input is split at the first newline: the header value before it (when the input
 * holds one), the body after it, so both parsers see every shape.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request_error e;
	struct request *req = NULL;
	const uint8_t *nl = memchr(data, '\n', size);
	const uint8_t *body = data;
	size_t len = size;

	if (nl) {
		char *header = strndup((const char *)data, (size_t)(nl - data));
		uint8_t *blob = NULL;
		size_t bloblen = 0;

		if (header && request_parse_authorization(header, &blob, &bloblen, &e) == 0)
			free(blob);
		free(header);
		body = nl + 1;
		len = size - (size_t)(nl - data) - 1;
	}
	if (request_parse(body, len, &req, &e) == 0) {
		if (!req->user || !req->host || !req->login || !req->nonce || !req->public_key)
			abort();
		request_free(req);
	}
	/* The body parser also sees the whole input, newline included. */
	if (nl && request_parse(data, size, &req, &e) == 0)
		request_free(req);
	return 0;
}
