/* SPDX-License-Identifier: ISC */
/*
 * conf.h - configuration files: one YAML mapping of scalar keys to scalar values
 * (read with libyaml), shared by jit-ssh-ca and jit-ssh.
 *
 *   listen: 127.0.0.1
 *   port: 8443
 *
 * Nested mappings, sequences, aliases, duplicate keys and unknown keys are errors. Every
 * error message has the form "FILE:LINE:COLUMN: what is wrong".
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Largest configuration file, bytes; most keys; longest value, bytes. */
#define CONF_FILE_MAX (64u * 1024u)
#define CONF_KEYS_MAX 128
#define CONF_VALUE_MAX 4096

struct conf;

/**
 * conf_load() - Read a configuration file
 * @path:    file name
 * @allowed: NULL-terminated list of the keys this program knows; others are errors
 * @ret:     new configuration
 * @ret_error: on JIT_E_FORMAT / JIT_E_TOO_LARGE, a new message "FILE:LINE:COLUMN: ..."
 *             (may be NULL if not wanted)
 * Errors: -errno (e.g. -ENOENT), JIT_E_FORMAT, JIT_E_TOO_LARGE, -ENOMEM.
 */
int conf_load(const char *path, const char *const *allowed, struct conf **ret,
	      char **ret_error);

/**
 * conf_parse() - Parse configuration text already in memory (what conf_load() does after
 * reading the file; also the fuzzing entry point)
 * @name:      file name used in error messages (borrowed)
 * @data, @len: the YAML text (borrowed; need not be NUL-terminated; at most CONF_FILE_MAX
 *             bytes)
 * @allowed:   as for conf_load()
 * @ret:       new configuration
 * @ret_error: as for conf_load()
 *
 * The text is one YAML 1.1 stream (read with libyaml's event API) holding at most one
 * document whose root is a block or flow mapping of plain or quoted scalars. An empty
 * stream, or a document that is an empty plain scalar ("---" alone), is an empty
 * configuration. Refused, with the mark (1-based line and column) of the offending node:
 * YAML syntax errors, a root that is not a mapping, a second document, anchors, aliases,
 * tags, non-scalar keys or values, duplicate keys, keys not in @allowed, keys or values
 * holding a NUL byte (JIT_E_FORMAT); more than CONF_KEYS_MAX keys, a value longer than
 * CONF_VALUE_MAX bytes, @len over CONF_FILE_MAX (JIT_E_TOO_LARGE).
 * Errors: JIT_E_FORMAT, JIT_E_TOO_LARGE, -ENOMEM.
 */
int conf_parse(const char *name, const void *data, size_t len, const char *const *allowed,
	       struct conf **ret, char **ret_error);

/** conf_free() - Free; accepts NULL; returns NULL. */
struct conf *conf_free(struct conf *c);
void conf_freep(struct conf **c);

/**
 * conf_get() - The value for @key, or NULL when absent
 * Ownership: borrowed; valid until conf_free().
 */
const char *conf_get(const struct conf *c, const char *key);

/**
 * conf_get_u64() - The value for @key as a decimal integer in @min..@max
 * @ret: written only on success; left alone when the key is absent (returns 0)
 * @ret_error: as for conf_load()
 * Errors: JIT_E_FORMAT (not a number or out of range; the message names the key and line).
 */
int conf_get_u64(const struct conf *c, const char *key, uint64_t min, uint64_t max,
		 uint64_t *ret, char **ret_error);

/**
 * conf_get_bool() - The value for @key as a boolean ("true"/"false"/"yes"/"no")
 * Errors: JIT_E_FORMAT.
 */
int conf_get_bool(const struct conf *c, const char *key, int *ret, char **ret_error);

/**
 * conf_parse_duration() - A lifetime as people type it on a command line or in the
 * engineer's config: "600" (seconds), "90s", "10m", "1h", "2d": decimal digits and at most
 * one unit letter (s, m, h, d), nothing else. (The policy file's durations are another
 * grammar: a bare number there is minutes; docs/policy.md, "Durations".)
 * @s:       the text (NUL-terminated; borrowed)
 * @max_sec: the longest lifetime accepted, seconds
 * @ret:     seconds, 1..@max_sec; written only on success
 * Errors: -EINVAL (NULL, empty, zero, a sign, a space, an unknown or second unit, over
 * @max_sec).
 */
int conf_parse_duration(const char *s, uint64_t max_sec, uint64_t *ret);
