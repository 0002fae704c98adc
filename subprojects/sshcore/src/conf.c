/* SPDX-License-Identifier: ISC */
/*
 * conf.c - flat YAML configuration files, read with libyaml's event API.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "conf.h"
#include "err.h"
#include "util.h"

/* Longest key quoted back in an error message, bytes. */
#define CONF_QUOTE_MAX 64

struct conf_entry {
	char *key;
	char *value;
	size_t key_line; /* 1-based */
	size_t line;	 /* 1-based position of the value */
	size_t column;
};

struct conf {
	char *name;
	size_t n;
	struct conf_entry e[CONF_KEYS_MAX];
};

/* Set *ret_error (when wanted) to "NAME:LINE:COLUMN: message" and return @err. */
static int conf_error(char **ret_error, int err, const char *name, size_t line, size_t column,
		      const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int conf_error(char **ret_error, int err, const char *name, size_t line, size_t column,
		      const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	char *full;
	va_list ap;
	int r;

	if (!ret_error)
		return err;
	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0) {
		msg = NULL;
		return -ENOMEM;
	}
	if (asprintf(&full, "%s:%zu:%zu: %s", name, line, column, msg) < 0)
		return -ENOMEM;
	*ret_error = full;
	return err;
}

/* A printable, bounded copy of untrusted text for an error message (into @out). */
static void conf_quote(const char *s, size_t len, char out[static CONF_QUOTE_MAX * 4 + 4])
{
	size_t o = 0;

	for (size_t i = 0; i < len && i < CONF_QUOTE_MAX; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch >= 0x20 && ch < 0x7f && ch != '\\')
			out[o++] = (char)ch;
		else
			o += (size_t)snprintf(out + o, 5, "\\x%02x", ch);
	}
	if (len > CONF_QUOTE_MAX) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = 0;
}

/* 1-based line and column of byte @offset in @data (for reader errors and size limits). */
static void conf_position(const char *data, size_t len, size_t offset, size_t *line, size_t *column)
{
	*line = 1;
	*column = 1;
	for (size_t i = 0; i < offset && i < len; i++) {
		if (data[i] == '\n') {
			(*line)++;
			*column = 1;
		} else {
			(*column)++;
		}
	}
}

static int conf_parser_error(const yaml_parser_t *p, const char *name, const char *data, size_t len,
			     char **ret_error)
{
	size_t line, column;

	if (p->error == YAML_MEMORY_ERROR)
		return -ENOMEM;
	if (p->error == YAML_READER_ERROR) {
		conf_position(data, len, p->problem_offset, &line, &column);
	} else {
		line = p->problem_mark.line + 1;
		column = p->problem_mark.column + 1;
	}
	if (p->context)
		return conf_error(ret_error, JIT_E_FORMAT, name, line, column, "%s %s",
				  p->problem ? p->problem : "syntax error", p->context);
	return conf_error(ret_error, JIT_E_FORMAT, name, line, column, "%s",
			  p->problem ? p->problem : "syntax error");
}

static bool conf_allowed(const char *const *allowed, const char *key)
{
	for (; allowed && *allowed; allowed++)
		if (strcmp(*allowed, key) == 0)
			return true;
	return false;
}

/*
 * Check that the event for a key or value is a plain scalar without anchor or tag. @what
 * names the node for the message ("key", "value of 'port'").
 */
static int conf_check_scalar(const yaml_event_t *ev, const char *name, const char *what,
			     char **ret_error)
{
	size_t line = ev->start_mark.line + 1, column = ev->start_mark.column + 1;

	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		if (ev->data.scalar.anchor)
			return conf_error(ret_error, JIT_E_FORMAT, name, line, column,
					  "anchors are not allowed (%s)", what);
		if (ev->data.scalar.tag)
			return conf_error(ret_error, JIT_E_FORMAT, name, line, column,
					  "tags are not allowed (%s)", what);
		if (memchr(ev->data.scalar.value, 0, ev->data.scalar.length))
			return conf_error(ret_error, JIT_E_FORMAT, name, line, column,
					  "NUL byte in %s", what);
		return 0;
	case YAML_ALIAS_EVENT:
		return conf_error(ret_error, JIT_E_FORMAT, name, line, column,
				  "aliases are not allowed (%s)", what);
	case YAML_MAPPING_START_EVENT:
		return conf_error(ret_error, JIT_E_FORMAT, name, line, column,
				  "nested mappings are not allowed (%s)", what);
	case YAML_SEQUENCE_START_EVENT:
		return conf_error(ret_error, JIT_E_FORMAT, name, line, column,
				  "sequences are not allowed (%s)", what);
	default:
		return conf_error(ret_error, JIT_E_FORMAT, name, line, column,
				  "unexpected YAML event (%s)", what);
	}
}

/* Parse the next event into @ev, translating libyaml's errors. */
static int conf_next(yaml_parser_t *p, yaml_event_t *ev, const char *name, const char *data,
		     size_t len, char **ret_error)
{
	if (!yaml_parser_parse(p, ev)) {
		memset(ev, 0, sizeof *ev);
		return conf_parser_error(p, name, data, len, ret_error);
	}
	return 0;
}

/*
 * Read the mapping body (after MAPPING_START up to and including MAPPING_END) into @c.
 */
static int conf_read_mapping(yaml_parser_t *p, struct conf *c, const char *data, size_t len,
			     const char *const *allowed, char **ret_error)
{
	char q[CONF_QUOTE_MAX * 4 + 4];
	int r;

	for (;;) {
		yaml_event_t k, v;
		size_t line, column;

		if ((r = conf_next(p, &k, c->name, data, len, ret_error)) < 0)
			return r;
		if (k.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&k);
			return 0;
		}
		line = k.start_mark.line + 1;
		column = k.start_mark.column + 1;
		if ((r = conf_check_scalar(&k, c->name, "key", ret_error)) < 0)
			goto key_out;
		const char *key = (const char *)k.data.scalar.value;
		conf_quote(key, k.data.scalar.length, q);
		for (size_t i = 0; i < c->n; i++)
			if (strcmp(c->e[i].key, key) == 0) {
				r = conf_error(ret_error, JIT_E_FORMAT, c->name, line, column,
					       "duplicate key '%s' (first given on line %zu)", q,
					       c->e[i].key_line);
				goto key_out;
			}
		if (!conf_allowed(allowed, key)) {
			r = conf_error(ret_error, JIT_E_FORMAT, c->name, line, column,
				       "unknown key '%s'", q);
			goto key_out;
		}
		if (c->n == CONF_KEYS_MAX) {
			r = conf_error(ret_error, JIT_E_TOO_LARGE, c->name, line, column,
				       "more than %d keys", CONF_KEYS_MAX);
			goto key_out;
		}

		if ((r = conf_next(p, &v, c->name, data, len, ret_error)) < 0)
			goto key_out;
		size_t key_line = line;
		line = v.start_mark.line + 1;
		column = v.start_mark.column + 1;
		char what[sizeof q + 16];
		snprintf(what, sizeof what, "value of '%s'", q);
		if ((r = conf_check_scalar(&v, c->name, what, ret_error)) < 0)
			goto value_out;
		if (v.data.scalar.length > CONF_VALUE_MAX) {
			r = conf_error(ret_error, JIT_E_TOO_LARGE, c->name, line, column,
				       "value of '%s' is longer than %u bytes", q,
				       (unsigned)CONF_VALUE_MAX);
			goto value_out;
		}
		struct conf_entry *e = &c->e[c->n];
		e->key = strdup(key);
		e->value = strndup((const char *)v.data.scalar.value, v.data.scalar.length);
		e->key_line = key_line;
		e->line = line;
		e->column = column;
		c->n++;
		if (!e->key || !e->value)
			r = -ENOMEM;
	value_out:
		yaml_event_delete(&v);
	key_out:
		yaml_event_delete(&k);
		if (r < 0)
			return r;
	}
}

/* The document's root node, from the event after DOCUMENT_START. */
static int conf_read_document(yaml_parser_t *p, struct conf *c, const char *data, size_t len,
			      const char *const *allowed, char **ret_error)
{
	yaml_event_t ev;
	size_t line, column;
	int r;

	if ((r = conf_next(p, &ev, c->name, data, len, ret_error)) < 0)
		return r;
	line = ev.start_mark.line + 1;
	column = ev.start_mark.column + 1;
	if (ev.type == YAML_MAPPING_START_EVENT) {
		if (ev.data.mapping_start.anchor)
			r = conf_error(ret_error, JIT_E_FORMAT, c->name, line, column,
				       "anchors are not allowed (top level)");
		else if (ev.data.mapping_start.tag)
			r = conf_error(ret_error, JIT_E_FORMAT, c->name, line, column,
				       "tags are not allowed (top level)");
		else
			r = conf_read_mapping(p, c, data, len, allowed, ret_error);
	} else if (ev.type == YAML_SCALAR_EVENT && ev.data.scalar.length == 0 &&
		   ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ev.data.scalar.anchor &&
		   !ev.data.scalar.tag) {
		r = 0; /* "---" with nothing after it */
	} else {
		r = conf_error(ret_error, JIT_E_FORMAT, c->name, line, column,
			       "the top level must be a mapping of keys to values");
	}
	yaml_event_delete(&ev);
	if (r < 0)
		return r;

	if ((r = conf_next(p, &ev, c->name, data, len, ret_error)) < 0)
		return r;
	if (ev.type != YAML_DOCUMENT_END_EVENT)
		r = conf_error(ret_error, JIT_E_FORMAT, c->name, ev.start_mark.line + 1,
			       ev.start_mark.column + 1, "unexpected YAML event after the mapping");
	yaml_event_delete(&ev);
	return r;
}

static int conf_read_stream(yaml_parser_t *p, struct conf *c, const char *data, size_t len,
			    const char *const *allowed, char **ret_error)
{
	bool seen_document = false;
	yaml_event_t ev;
	int r;

	for (;;) {
		if ((r = conf_next(p, &ev, c->name, data, len, ret_error)) < 0)
			return r;
		switch (ev.type) {
		case YAML_STREAM_START_EVENT:
			break;
		case YAML_STREAM_END_EVENT:
			yaml_event_delete(&ev);
			return 0;
		case YAML_DOCUMENT_START_EVENT:
			if (seen_document) {
				r = conf_error(ret_error, JIT_E_FORMAT, c->name,
					       ev.start_mark.line + 1, ev.start_mark.column + 1,
					       "only one YAML document is allowed");
				break;
			}
			seen_document = true;
			r = conf_read_document(p, c, data, len, allowed, ret_error);
			break;
		default:
			r = conf_error(ret_error, JIT_E_FORMAT, c->name, ev.start_mark.line + 1,
				       ev.start_mark.column + 1, "unexpected YAML event");
			break;
		}
		yaml_event_delete(&ev);
		if (r < 0)
			return r;
	}
}

int conf_parse(const char *name, const void *data, size_t len, const char *const *allowed,
	       struct conf **ret, char **ret_error)
{
	_cleanup_(conf_freep) struct conf *c = NULL;
	yaml_parser_t p;
	int r;

	if (len > CONF_FILE_MAX) {
		size_t line, column;
		conf_position(data, len, CONF_FILE_MAX, &line, &column);
		return conf_error(ret_error, JIT_E_TOO_LARGE, name, line, column,
				  "file is larger than %u bytes", (unsigned)CONF_FILE_MAX);
	}
	c = calloc(1, sizeof *c);
	if (!c || !(c->name = strdup(name)))
		return -ENOMEM;
	if (!yaml_parser_initialize(&p))
		return -ENOMEM;
	yaml_parser_set_input_string(&p, data, len);
	r = conf_read_stream(&p, c, data, len, allowed, ret_error);
	yaml_parser_delete(&p);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}

int conf_load(const char *path, const char *const *allowed, struct conf **ret, char **ret_error)
{
	/* One byte more than the limit, so an over-long file is seen as such. */
	_cleanup_free_ char *buf = malloc(CONF_FILE_MAX + 1);
	size_t len = 0;
	int fd, r = 0;

	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	while (len < CONF_FILE_MAX + 1) {
		ssize_t n = read(fd, buf + len, CONF_FILE_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (r < 0)
		return r;
	return conf_parse(path, buf, len, allowed, ret, ret_error);
}

struct conf *conf_free(struct conf *c)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < c->n; i++) {
		free(c->e[i].key);
		free(c->e[i].value);
	}
	free(c->name);
	free(c);
	return NULL;
}

void conf_freep(struct conf **c)
{
	conf_free(*c);
}

static const struct conf_entry *conf_find(const struct conf *c, const char *key)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->e[i].key, key) == 0)
			return &c->e[i];
	return NULL;
}

const char *conf_get(const struct conf *c, const char *key)
{
	const struct conf_entry *e = conf_find(c, key);

	return e ? e->value : NULL;
}

int conf_get_u64(const struct conf *c, const char *key, uint64_t min, uint64_t max, uint64_t *ret,
		 char **ret_error)
{
	const struct conf_entry *e = conf_find(c, key);
	uint64_t v = 0;
	const char *s;

	if (!e)
		return 0;
	s = e->value;
	if (!*s)
		goto bad;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			goto bad;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			goto bad;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v < min || v > max)
		goto bad;
	*ret = v;
	return 0;
bad:
	return conf_error(ret_error, JIT_E_FORMAT, c->name, e->line, e->column,
			  "'%s' must be a decimal integer in %llu..%llu", key,
			  (unsigned long long)min, (unsigned long long)max);
}

int conf_get_bool(const struct conf *c, const char *key, int *ret, char **ret_error)
{
	const struct conf_entry *e = conf_find(c, key);

	if (!e)
		return 0;
	if (strcmp(e->value, "true") == 0 || strcmp(e->value, "yes") == 0) {
		*ret = 1;
		return 0;
	}
	if (strcmp(e->value, "false") == 0 || strcmp(e->value, "no") == 0) {
		*ret = 0;
		return 0;
	}
	return conf_error(ret_error, JIT_E_FORMAT, c->name, e->line, e->column,
			  "'%s' must be true, false, yes or no", key);
}

int conf_parse_duration(const char *s, uint64_t max_sec, uint64_t *ret)
{
	uint64_t v = 0, unit = 1;
	size_t i = 0;

	if (!s || !ret)
		return -EINVAL;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		uint64_t d = (uint64_t)(s[i] - '0');

		if (v > max_sec / 10 || v * 10 > max_sec - d)
			return -EINVAL;
		v = v * 10 + d;
	}
	if (i == 0)
		return -EINVAL;
	switch (s[i]) {
	case 0:
	case 's':
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	default:
		return -EINVAL;
	}
	if (s[i] && s[i + 1])
		return -EINVAL;
	if (v == 0 || v > max_sec / unit)
		return -EINVAL;
	*ret = v * unit;
	return 0;
}
