/*
 * KDL documents: a reader that turns KDL 2.0.0 text (or KDL 1.0.0, or
 * either) into a tree where every node and value knows its source line and
 * column, and the canonical printer of the kdl-org test suite. The streaming
 * writer used by the dumps is in kdl/emit.h.
 */
#ifndef NOSCO_KDL_KDL_H
#define NOSCO_KDL_KDL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util/err.h"
#include "util/vec.h"

enum kdl_version {
	KDL_V2 = 0, /* KDL 2.0.0, the default */
	KDL_V1,     /* KDL 1.0.0 */
	KDL_DETECT, /* v2, falling back to v1 when v2 fails (reading only) */
};

enum kdl_kind {
	KDL_NULL,
	KDL_BOOL,
	KDL_INT,
	KDL_FLOAT,
	KDL_STRING,
};

/* 1-based; columns count code points, so a tab is one column. */
struct kdl_pos {
	unsigned line, col;
};

/*
 * Strings may hold U+0000 (written as \u{0}), hence the length. ptr is
 * always NUL-terminated; a missing type annotation has ptr == NULL.
 */
struct kdl_str {
	char *ptr;
	size_t len;
};

struct kdl_value {
	enum kdl_kind kind;
	struct kdl_str type; /* type annotation */
	struct kdl_pos pos;  /* where the value (or its annotation) starts */
	bool boolean;
	int64_t integer; /* KDL_INT, unless big */
	bool big;        /* KDL_INT that does not fit int64_t: only text is exact */
	double real;     /* KDL_FLOAT (#inf, #-inf, #nan too); KDL_INT: approximation */
	unsigned radix;  /* KDL_INT: 2, 8, 10 or 16 as written */
	/*
	 * KDL_STRING: the value; numbers: the literal as written minus the
	 * underscores ("-0xFF", "1.5e10"); NULL for keywords (#inf, #true, ...)
	 */
	struct kdl_str text;
};

struct kdl_prop {
	struct kdl_str name;
	struct kdl_pos pos; /* of the name */
	struct kdl_value value;
};

struct kdl_node {
	struct kdl_str type;
	struct kdl_str name;
	struct kdl_pos pos;       /* where the node (or its annotation) starts */
	struct kdl_pos name_pos;  /* where the name starts */
	struct kdl_pos block_pos; /* the '{' when has_children */
	VEC(struct kdl_value) args;
	VEC(struct kdl_prop) props; /* source order; a repeated name keeps its last value */
	VEC(struct kdl_node) children;
	bool has_children; /* a children block was written, maybe empty */
};

struct kdl_document {
	VEC(struct kdl_node) nodes;
	enum kdl_version version; /* the syntax the text was read as */
};

struct kdl_parse_opts {
	enum kdl_version version;
	const char *source; /* prefixed to error messages ("cfg.kdl"), may be NULL */
};

/**
 * kdl_parse - read a whole KDL document
 * @doc: filled on success, empty on failure; kdl_document_fini() it in both cases
 * @text: the document, UTF-8 (need not be NUL-terminated)
 * @len: its length in bytes
 * @opts: syntax version and source name; NULL means KDL v2, no name
 * @where: if not NULL, receives the position of a syntax error
 * @err: on failure, ERR_INPUT "[SOURCE:]LINE:COL: what was expected, what was found"
 *
 * In KDL_DETECT mode a document that fails as v2 is read again as v1; if
 * that fails too, the v2 error is the one reported.
 *
 * Return: 0 on success, -1 on a syntax error.
 */
int kdl_parse(struct kdl_document *doc, const char *text, size_t len,
              const struct kdl_parse_opts *opts, struct kdl_pos *where, struct err *err);

/**
 * kdl_document_fini - free everything a document holds
 * @doc: may be NULL
 */
void kdl_document_fini(struct kdl_document *doc);

/**
 * kdl_node_fini - free a node, its entries and its children
 * @node: may be NULL
 */
void kdl_node_fini(struct kdl_node *node);

/**
 * kdl_value_fini - free a value's strings
 * @value: may be NULL
 */
void kdl_value_fini(struct kdl_value *value);

/**
 * kdl_node_prop - look a property up by name
 *
 * Return: the property, or NULL if the node has none of that name.
 */
const struct kdl_prop *kdl_node_prop(const struct kdl_node *node, const char *name);

/**
 * kdl_kind_name - "null", "boolean", "integer", "float" or "string"
 */
const char *kdl_kind_name(enum kdl_kind kind);

/**
 * kdl_print_canonical - write a document in the kdl-org test suite's canonical form
 * @doc: the document
 * @out: where to write
 * @version: KDL_V2 or KDL_V1 (the two suites print differently)
 * @err: ERR_IO if writing failed
 *
 * Comments are gone, nodes are one per line with 4-space indentation,
 * properties are sorted by name, strings are bare when they can be and
 * quoted with escapes otherwise, integers are decimal (v1 keeps the radix)
 * and floats use an E exponent.
 *
 * Return: 0 on success, -1 on a write error.
 */
int kdl_print_canonical(const struct kdl_document *doc, FILE *out, enum kdl_version version,
                        struct err *err);

/**
 * kdl_source_line - find a line of a document, counted as the reader counts them
 * @text: the document
 * @len: its length in bytes
 * @line: 1-based line number, as in a struct kdl_pos
 * @start: receives the offset of the line's first byte
 * @end: receives the offset just past its last byte (before the newline)
 *
 * For showing the line an error points at.
 *
 * Return: false if the document has fewer lines.
 */
bool kdl_source_line(const char *text, size_t len, unsigned line, size_t *start, size_t *end);

/**
 * kdl_is_identifier - whether a string can be written bare in KDL v2
 * @s: the string (UTF-8)
 * @len: its length in bytes
 *
 * True when s is a valid identifier string: not empty, no whitespace, none
 * of \ / ( ) { } [ ] ; " # =, not number-like (1x, -5, .5, +.5) and not one
 * of the words true, false, null, inf, -inf, nan.
 */
bool kdl_is_identifier(const char *s, size_t len);

/**
 * kdl_utf8_decode - decode the code point at the start of s
 * @s: the bytes
 * @len: how many there are
 * @cp: receives the code point
 *
 * Return: the length of its encoding, 0 if s does not start with valid
 * UTF-8 (or len is 0).
 */
size_t kdl_utf8_decode(const char *s, size_t len, int32_t *cp);

#endif
