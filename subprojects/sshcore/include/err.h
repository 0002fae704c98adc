/* SPDX-License-Identifier: ISC */
/*
 * err.h - one error space for all of jit-ssh.
 *
 * Functions return int: 0 on success, -errno for system failures (e.g. -ENOMEM, -EINVAL,
 * -ENOENT), or one of the JIT_E_* codes below for domain failures. The JIT_E_* values lie far
 * below every errno value so the two never collide. Append new codes at the end; never
 * renumber (the values appear in logs and tests).
 *
 * Third-party error codes (OpenSSL, LMDB, curl, libmicrohttpd) are translated where they enter
 * our code; nothing above that layer sees them.
 */
#pragma once

enum {
	JIT_E_BASE = -100000,
	JIT_E_FORMAT = JIT_E_BASE,	/* input is malformed (wire format, line, JSON shape) */
	JIT_E_TOO_LARGE,		/* input exceeds a named size limit */
	JIT_E_CRYPTO,			/* an OpenSSL operation failed unexpectedly */
	JIT_E_KEY_TYPE,			/* key or signature algorithm not supported */
	JIT_E_KEY_WEAK,			/* key too small (RSA < 2048 bits) */
	JIT_E_KEY_INVALID,		/* key material invalid (e.g. point not on the curve) */
	JIT_E_SIGNATURE,		/* signature does not verify */
	JIT_E_PASSPHRASE,		/* private key is passphrase-protected (not supported yet) */
	JIT_E_CERT,			/* certificate violates an invariant (no principals, serial 0, ...) */
	JIT_E_NAMESPACE,		/* SSHSIG namespace mismatch */
	JIT_E_AGENT,			/* ssh-agent answered with a failure */
	JIT_E_AGENT_NOKEY,		/* ssh-agent does not hold the requested key */
	JIT_E_LEDGER,			/* ledger could not be read or written */
	JIT_E_LEDGER_FULL,		/* ledger map or disk is full */
	JIT_E_POLICY,			/* policy document is invalid */
	JIT_E_NOT_FOUND,		/* the named object does not exist */
	JIT_E_EXPIRED,			/* outside a validity window */
	JIT_E_REPLAY,			/* nonce already used */
	JIT_E_PERMISSION,		/* file permissions unsafe (e.g. CA key readable by others) */
	JIT_E_NAME,			/* a name (user, login, host, principal) has unsafe characters */
	JIT_E_LEDGER_CORRUPT,		/* ledger hash chain or checkpoint does not verify */
	JIT_E_END,			/* not an error: one past the last code */
};

/**
 * jit_strerror() - Describe an error code
 * @err: 0, a negative errno value or a JIT_E_* code
 *
 * Ownership: returns a borrowed static string, valid for the life of the process.
 * Errors: none; unknown codes give "unknown error".
 * Return: a short English description without a trailing newline.
 */
const char *jit_strerror(int err);
