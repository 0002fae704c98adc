/* SPDX-License-Identifier: ISC */
#include <string.h>

#include "err.h"

static const char *const jit_messages[] = {
	[JIT_E_FORMAT - JIT_E_BASE] = "malformed input",
	[JIT_E_TOO_LARGE - JIT_E_BASE] = "input too large",
	[JIT_E_CRYPTO - JIT_E_BASE] = "cryptographic operation failed",
	[JIT_E_KEY_TYPE - JIT_E_BASE] = "key or signature type not supported",
	[JIT_E_KEY_WEAK - JIT_E_BASE] = "key too weak (RSA keys need at least 2048 bits)",
	[JIT_E_KEY_INVALID - JIT_E_BASE] = "invalid key material",
	[JIT_E_SIGNATURE - JIT_E_BASE] = "signature does not verify",
	[JIT_E_PASSPHRASE - JIT_E_BASE] = "private key is passphrase-protected (not supported yet)",
	[JIT_E_CERT - JIT_E_BASE] = "certificate is invalid",
	[JIT_E_NAMESPACE - JIT_E_BASE] = "signature namespace does not match",
	[JIT_E_AGENT - JIT_E_BASE] = "ssh-agent refused the operation",
	[JIT_E_AGENT_NOKEY - JIT_E_BASE] = "ssh-agent does not hold the key",
	[JIT_E_LEDGER - JIT_E_BASE] = "ledger error",
	[JIT_E_LEDGER_FULL - JIT_E_BASE] = "ledger is full",
	[JIT_E_POLICY - JIT_E_BASE] = "policy is invalid",
	[JIT_E_NOT_FOUND - JIT_E_BASE] = "not found",
	[JIT_E_EXPIRED - JIT_E_BASE] = "outside the validity window",
	[JIT_E_REPLAY - JIT_E_BASE] = "nonce already used",
	[JIT_E_PERMISSION - JIT_E_BASE] = "unsafe file permissions",
	[JIT_E_NAME - JIT_E_BASE] = "name contains unsafe characters",
	[JIT_E_LEDGER_CORRUPT - JIT_E_BASE] = "ledger chain does not verify",
};

const char *jit_strerror(int err)
{
	if (err == 0)
		return "success";
	if (err >= JIT_E_BASE && err < JIT_E_END) {
		const char *m = jit_messages[err - JIT_E_BASE];
		return m ? m : "unknown error";
	}
	if (err < 0 && err > -4096)
		return strerror(-err);
	return "unknown error";
}
