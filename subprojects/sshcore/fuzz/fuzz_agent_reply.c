/* SPDX-License-Identifier: ISC */
/*
 * fuzz_agent_reply.c - feeds bytes to the ssh-agent identities-answer parser as if they were
 * a reply message (type byte and contents) read from the agent.
 */
#include <stddef.h>
#include <stdint.h>

#include "agentc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_identity *ids = NULL;
	size_t n = 0;

	if (agentc_parse_identities(data, size, &ids, &n) == 0) {
		/* Touch every field so the sanitizers see any bad pointer or length. */
		for (size_t i = 0; i < n; i++) {
			volatile uint8_t sink = 0;
			for (size_t j = 0; j < ids[i].blob_len; j++)
				sink ^= ids[i].blob[j];
			for (const char *p = ids[i].comment; *p; p++)
				sink ^= (uint8_t)*p;
			(void)sink;
		}
		agentc_identities_free(ids, n);
	}
	return 0;
}
