/*
 * Streaming KDL v2 writer. Nodes go straight to a FILE as they are
 * described, so a dump of millions of calls needs memory only for the
 * nesting depth. The layout is the one of kdl-rs autoformat that nosco's
 * expected outputs use: one node per line, 4-space indentation, '{' on the
 * node's line and '}' on a line of its own. Deeper than KDL_INDENT_MAX
 * levels, lines keep that level's indentation and a node line starts with
 * a multi-line comment giving its depth instead ("depth 40"), so that the
 * text stays linear in the number of nodes.
 *
 *	kdl_emit_node(em, NULL, "call");
 *	kdl_emit_arg_string(em, "main");
 *	kdl_emit_prop_uint(em, "thread", 1);
 *	kdl_emit_children_begin(em);
 *	... child nodes ...
 *	kdl_emit_children_end(em);
 *	kdl_emit_node_end(em);
 */
#ifndef NOSCO_KDL_EMIT_H
#define NOSCO_KDL_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util/err.h"

/* The deepest level indented further (4 spaces a level). */
#define KDL_INDENT_MAX 32

enum kdl_emit_state {
	KDL_EMIT_BETWEEN, /* where a node may start */
	KDL_EMIT_ENTRIES, /* on a node's line: entries or '{' may follow */
	KDL_EMIT_CLOSED,  /* after a node's '}': only its end may follow */
};

struct kdl_emitter {
	FILE *out;
	unsigned depth; /* open children blocks */
	enum kdl_emit_state state;
	bool misuse; /* calls came in an impossible order */
};

/**
 * kdl_emitter_init - start a document
 * @em: the emitter
 * @out: where the text goes; stays owned by the caller
 */
void kdl_emitter_init(struct kdl_emitter *em, FILE *out);

/**
 * kdl_emitter_fini - finish a document
 * @em: the emitter (may be NULL)
 * @err: ERR_IO if writing failed, ERR_INTERNAL if nodes were left open
 *	 or the calls came in an impossible order
 *
 * Flushes the FILE, but does not close it.
 *
 * Return: 0 on success, -1 on failure.
 */
int kdl_emitter_fini(struct kdl_emitter *em, struct err *err);

/**
 * kdl_emit_node - start a node line
 * @em: the emitter
 * @type: the type annotation, or NULL for none
 * @name: the node name, written bare when it is a valid identifier
 */
void kdl_emit_node(struct kdl_emitter *em, const char *type, const char *name);

/**
 * kdl_emit_node_end - finish the current node (after its children, if any)
 */
void kdl_emit_node_end(struct kdl_emitter *em);

/**
 * kdl_emit_children_begin - open the current node's children block
 */
void kdl_emit_children_begin(struct kdl_emitter *em);

/**
 * kdl_emit_children_end - close the innermost children block
 */
void kdl_emit_children_end(struct kdl_emitter *em);

/**
 * kdl_emit_arg_string - add a string argument to the current node
 *
 * Written bare when it is a valid identifier, quoted with escapes
 * otherwise. Bytes that are not valid UTF-8 are written as U+FFFD.
 */
void kdl_emit_arg_string(struct kdl_emitter *em, const char *s);

/**
 * kdl_emit_arg_int - add a signed integer argument
 */
void kdl_emit_arg_int(struct kdl_emitter *em, int64_t v);

/**
 * kdl_emit_arg_uint - add an unsigned integer argument
 */
void kdl_emit_arg_uint(struct kdl_emitter *em, uint64_t v);

/**
 * kdl_emit_arg_float - add a floating-point argument (#inf, #-inf, #nan for those)
 */
void kdl_emit_arg_float(struct kdl_emitter *em, double v);

/**
 * kdl_emit_arg_bool - add #true or #false
 */
void kdl_emit_arg_bool(struct kdl_emitter *em, bool v);

/**
 * kdl_emit_arg_null - add #null
 */
void kdl_emit_arg_null(struct kdl_emitter *em);

/**
 * kdl_emit_prop_string - add key=string to the current node
 *
 * The key is written like a node name, the value like kdl_emit_arg_string().
 */
void kdl_emit_prop_string(struct kdl_emitter *em, const char *key, const char *s);

/**
 * kdl_emit_prop_int - add key=signed integer
 */
void kdl_emit_prop_int(struct kdl_emitter *em, const char *key, int64_t v);

/**
 * kdl_emit_prop_uint - add key=unsigned integer
 */
void kdl_emit_prop_uint(struct kdl_emitter *em, const char *key, uint64_t v);

/**
 * kdl_emit_prop_float - add key=floating-point number
 */
void kdl_emit_prop_float(struct kdl_emitter *em, const char *key, double v);

/**
 * kdl_emit_prop_bool - add key=#true or key=#false
 */
void kdl_emit_prop_bool(struct kdl_emitter *em, const char *key, bool v);

/**
 * kdl_emit_prop_null - add key=#null
 */
void kdl_emit_prop_null(struct kdl_emitter *em, const char *key);

/**
 * kdl_write_string - write a string bare if it is an identifier, else quoted
 * @out: where to write
 * @s: the string (UTF-8; invalid bytes become U+FFFD)
 * @len: its length in bytes
 *
 * The building block of the emitter, for callers that compose KDL text
 * themselves.
 */
void kdl_write_string(FILE *out, const char *s, size_t len);

/**
 * kdl_write_quoted - write a string quoted, with KDL v2 escapes
 * @out: where to write
 * @s: the string
 * @len: its length in bytes
 */
void kdl_write_quoted(FILE *out, const char *s, size_t len);

#endif
