/* SPDX-License-Identifier: ISC */
/*
 * fuzz_tz.c - the TZif reader (RFC 8536) and POSIX TZ strings on arbitrary bytes; whatever
 * parses is asked for offsets at extreme and ordinary instants.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void probe(const struct tz *z)
{
	static const int64_t t[] = { INT64_MIN, -2145916800, 0, 1709546400, 4118455800,
				     INT64_MAX };
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		int32_t off = tz_utoff(z, t[i]);
		if (off < -26 * 3600 || off > 26 * 3600)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tz *z = NULL;
	char *s;

	if (tz_parse("fuzz", data, size, &z) == 0) {
		probe(z);
		tz_free(z);
	}
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	if (tz_from_posix(s, &z) == 0) {
		probe(z);
		tz_free(z);
	}
	free(s);
	return 0;
}
