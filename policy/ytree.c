/* SPDX-License-Identifier: ISC */
/*
 * ytree.c - a YAML document as a tree of nodes with their positions, built from libyaml's
 * event stream. Everything that could make a small document large is refused while
 * parsing: anchors and aliases (so "billion laughs" stops at its first anchor), tags,
 * nesting beyond POLICY_DEPTH_MAX, collections beyond POLICY_LIST_MAX, documents beyond
 * POLICY_NODES_MAX nodes, scalars beyond POLICY_SCALAR_MAX bytes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "err.h"
#include "internal.h"
#include "util.h"

struct ytree_ctx {
	struct ynode *stack[POLICY_DEPTH_MAX + 1];
	size_t depth;
	size_t n_nodes;
	unsigned err_line, err_col;
	char *err_msg;
};

struct ynode *ytree_free(struct ynode *n)
{
	if (!n)
		return NULL;
	for (size_t i = 0; i < n->n_kids; i++)
		ytree_free(n->kids[i]);
	free(n->kids);
	free(n->value);
	free(n);
	return NULL;
}

void ytree_freep(struct ynode **n)
{
	ytree_free(*n);
}

__attribute__((format(printf, 3, 4)))
static int fail(struct ytree_ctx *c, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&c->err_msg, fmt, ap);
	va_end(ap);
	if (r < 0) {
		c->err_msg = NULL;
		return -ENOMEM;
	}
	c->err_line = (unsigned)m->line + 1;
	c->err_col = (unsigned)m->column + 1;
	return JIT_E_POLICY;
}

int ytree_pos_cmp(const struct ynode *x, const struct ynode *y)
{
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->col < y->col ? -1 : x->col > y->col;
}

static int key_cmp(const void *a, const void *b)
{
	const struct ynode *x = *(const struct ynode *const *)a;
	const struct ynode *y = *(const struct ynode *const *)b;
	int r = strcmp(x->value, y->value);

	return r ? r : ytree_pos_cmp(x, y);
}

/* Duplicate keys in a finished mapping; sorting keeps this O(n log n) for large ones. */
static int check_duplicates(struct ytree_ctx *c, const struct ynode *map)
{
	size_t n = map->n_kids / 2;
	_cleanup_free_ struct ynode **keys = NULL;

	if (n < 2)
		return 0;
	keys = malloc(n * sizeof *keys);
	if (!keys)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		keys[i] = map->kids[2 * i];
	qsort(keys, n, sizeof *keys, key_cmp);
	for (size_t i = 1; i < n; i++)
		if (strcmp(keys[i - 1]->value, keys[i]->value) == 0) {
			yaml_mark_t m = { .line = keys[i]->line - 1, .column = keys[i]->col - 1 };
			return fail(c, &m, "duplicate key '%s' (first at line %u)", keys[i]->value,
				    keys[i - 1]->line);
		}
	return 0;
}

static int attach(struct ytree_ctx *c, struct ynode *n, const yaml_mark_t *m, struct ynode **root)
{
	struct ynode *parent;

	if (++c->n_nodes > POLICY_NODES_MAX)
		return fail(c, m, "document has more than %u nodes", POLICY_NODES_MAX);
	if (c->depth == 0) {
		*root = n;
		return 0;
	}
	parent = c->stack[c->depth - 1];
	if (parent->type == YNODE_MAP && parent->n_kids % 2 == 0 && n->type != YNODE_SCALAR)
		return fail(c, m, "mapping keys must be plain text");
	if ((parent->type == YNODE_MAP ? parent->n_kids / 2 : parent->n_kids) >= POLICY_LIST_MAX)
		return fail(c, m, "more than %d entries in one list or mapping", POLICY_LIST_MAX);
	if (parent->n_kids == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 8;
		struct ynode **k = reallocarray(parent->kids, cap, sizeof *k);
		if (!k)
			return -ENOMEM;
		parent->kids = k;
		parent->cap = cap;
	}
	parent->kids[parent->n_kids++] = n;
	return 0;
}

static int new_node(struct ytree_ctx *c, enum ynode_type type, const yaml_mark_t *m,
		    const yaml_char_t *anchor, const yaml_char_t *tag, struct ynode **root,
		    struct ynode **ret)
{
	struct ynode *n;
	int r;

	if (anchor)
		return fail(c, m, "YAML anchors and aliases are not allowed");
	if (tag)
		return fail(c, m, "YAML tags are not allowed");
	n = calloc(1, sizeof *n);
	if (!n)
		return -ENOMEM;
	n->type = type;
	n->line = (unsigned)m->line + 1;
	n->col = (unsigned)m->column + 1;
	if ((r = attach(c, n, m, root)) < 0) {
		ytree_free(n);
		return r;
	}
	*ret = n;
	return 0;
}

static int on_event(struct ytree_ctx *c, const yaml_event_t *ev, bool *seen_doc,
		    struct ynode **root)
{
	const yaml_mark_t *m = &ev->start_mark;
	struct ynode *n;
	int r;

	switch (ev->type) {
	case YAML_STREAM_START_EVENT:
	case YAML_STREAM_END_EVENT:
	case YAML_DOCUMENT_END_EVENT:
	case YAML_NO_EVENT:
		return 0;
	case YAML_DOCUMENT_START_EVENT:
		if (*seen_doc)
			return fail(c, m, "only one YAML document is allowed");
		*seen_doc = true;
		return 0;
	case YAML_ALIAS_EVENT:
		return fail(c, m, "YAML anchors and aliases are not allowed");
	case YAML_SCALAR_EVENT: {
		r = new_node(c, YNODE_SCALAR, m, ev->data.scalar.anchor, ev->data.scalar.tag, root,
			     &n);
		if (r < 0)
			return r;
		if (ev->data.scalar.length > POLICY_SCALAR_MAX)
			return fail(c, m, "text longer than %d bytes", POLICY_SCALAR_MAX);
		if (memchr(ev->data.scalar.value, 0, ev->data.scalar.length))
			return fail(c, m, "NUL character in text");
		n->value = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
		if (!n->value)
			return -ENOMEM;
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		return 0;
	}
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
		if (c->depth >= POLICY_DEPTH_MAX)
			return fail(c, m, "nested deeper than %d levels", POLICY_DEPTH_MAX);
		r = new_node(c, seq ? YNODE_SEQ : YNODE_MAP, m,
			     seq ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor,
			     seq ? ev->data.sequence_start.tag : ev->data.mapping_start.tag, root,
			     &n);
		if (r < 0)
			return r;
		c->stack[c->depth++] = n;
		return 0;
	}
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		n = c->stack[--c->depth];
		return n->type == YNODE_MAP ? check_duplicates(c, n) : 0;
	}
	return 0;
}

int ytree_parse(const char *data, size_t len, struct ynode **ret, unsigned *ret_line,
		unsigned *ret_col, char **ret_msg)
{
	struct ytree_ctx c = { 0 };
	_cleanup_(ytree_freep) struct ynode *root = NULL;
	yaml_parser_t parser;
	bool seen_doc = false, done = false;
	int r = 0;

	if (len > POLICY_FILE_MAX)
		return JIT_E_TOO_LARGE;
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	while (!done && r == 0) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&parser, &ev)) {
			if (parser.error == YAML_MEMORY_ERROR) {
				r = -ENOMEM;
			} else {
				yaml_mark_t m = parser.problem_mark;
				if (parser.error != YAML_SCANNER_ERROR &&
				    parser.error != YAML_PARSER_ERROR)
					m = parser.mark;
				r = fail(&c, &m, "YAML: %s%s%s",
					 parser.problem ? parser.problem : "syntax error",
					 parser.context ? " " : "",
					 parser.context ? parser.context : "");
			}
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		r = on_event(&c, &ev, &seen_doc, &root);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	if (r == 0 && !root) {
		yaml_mark_t m = { 0 };
		r = fail(&c, &m, "empty document (a policy is a mapping)");
	}
	if (r < 0) {
		if (r == JIT_E_POLICY && ret_msg) {
			*ret_line = c.err_line;
			*ret_col = c.err_col;
			*ret_msg = TAKE_PTR(c.err_msg);
		}
		free(c.err_msg);
		return r;
	}
	*ret = TAKE_PTR(root);
	return 0;
}
