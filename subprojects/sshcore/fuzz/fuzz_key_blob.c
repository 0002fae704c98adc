/* SPDX-License-Identifier: ISC */
/*
 * fuzz_key_blob.c - key_from_blob() on the input; a parsed key must re-encode to exactly the
 * input. The input is also offered as an SSH signature to key_verify() under fixed keys of
 * every type (signature parsing: alg name, Ed25519 length, ECDSA mpints, RSA padding).
 * Corpus: corpus/key_blob/ (public-key blobs and signature encodings, valid and broken).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fixed public keys (made once with ssh-keygen). */
static const char *const fixed_lines[] = {
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO0gXP81iZn+V3Bm0RpBVMmCxyrRpzxeq0ArxbIzrVWI",
	"ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBD1VXrq3csVIyA"
		"dko/QbVMiJm56qkAhzBGFK8fhJCt1CEZZMJ9mD57X0hHoUUd3knCY/9zGzo/EN5nNMmi8ox0c=",
	"ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBDpaD/VUUVXGAU"
		"QhwAi6ZC+T+zUwgGs2J+wdUrQGAnOwitaHpWAL2CRCARTFZ8F7w4m1iSSmXxi4JvjahGF7ozn5487gUZEkz71UEy"
		"Tq04UW72K4b3AMdm3HXgJumqkwXQ==",
	"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCi/tWWr4y+nlEYJtk4ntqdQ4//gAqOo5NlEADzNbMXD5sqOq"
		"mfAnA5FttU5xj/paYe0eVU6t8BmrSVOKkbFkew9TxUmDQDdYRH2WdQzBawXT91rckd51dBf5K3bS+K11iWPWZbhC"
		"QJ8NHme9JVN9VE+NbWB+ZJd1Fa2OdoMGmp+TADp5ez0gxrfANpWcvn6qjul2+n5Dc2FVuhYY3S+TJHmsjZpLeLRN"
		"ODFI+DQW529JrgKxcHK2fs5ZtySBvoDBpSRN0c5mrXG1gcVPbwcSRMZ7diCUIPMGel6mml5MAom2aS7fyDPsudVQ"
		"iAHF+LWEYZhwFNASHTSZLsMydP5xrt",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct key *fixed[sizeof fixed_lines / sizeof fixed_lines[0]];
	static int loaded;
	struct key *k = NULL;

	if (!loaded) {
		for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
			if (key_from_line(fixed_lines[i], &fixed[i], NULL) != 0)
				abort();
		loaded = 1;
	}
	if (key_from_blob(data, size, &k) == 0) {
		uint8_t *blob = NULL;
		size_t len = 0;

		if (key_to_blob(k, &blob, &len) != 0 || len != size || memcmp(blob, data, size) != 0)
			abort();
		free(blob);
		key_free(k);
	}
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		if (key_verify(fixed[i], data, size, (const uint8_t *)"fuzz", 4, NULL) == 0)
			abort(); /* nobody holds these private keys */
	return 0;
}
