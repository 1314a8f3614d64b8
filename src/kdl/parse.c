/*
 * The KDL grammar: documents, nodes, entries, children blocks, slashdash.
 * Tokens come from string.c and number.c, whitespace from scan.c. One
 * parser serves both versions; the differences are in the character
 * classes and in a few checks on rd->version.
 */
#include "kdl/internal.h"

#include <stdlib.h>
#include <string.h>

struct node_vec {
	struct kdl_node *data;
	size_t len, cap;
};

/* Where a children block may appear relative to the node's entries. */
enum entry_state {
	ENTRIES,   /* arguments and properties still allowed */
	SD_BLOCKS, /* after a slashdashed block: only blocks */
	BLOCK,     /* after the real block: only slashdashed blocks */
};

static int parse_nodes(struct kdl_reader *rd, struct node_vec *out, bool in_block);

static bool is_v2(const struct kdl_reader *rd)
{
	return rd->version == KDL_V2;
}

/* v2 allows whitespace in and after type annotations and around '=' */
static int skip_v2_space(struct kdl_reader *rd)
{
	return is_v2(rd) ? kdl_rd_skip_node_space(rd) : 0;
}

static bool at_terminator(const struct kdl_reader *rd)
{
	int32_t cp = kdl_rd_peek(rd);

	return cp == KDL_EOF || cp == '}' || cp == ';' || kdl_rd_at_newline(rd) ||
	       kdl_rd_at(rd, "//");
}

static bool at_keyword(const struct kdl_reader *rd)
{
	static const char *const v1_words[] = { "true", "false", "null" };
	size_t i, n;

	if (is_v2(rd))
		return kdl_rd_byte(rd, 0) == '#' && kdl_rd_byte(rd, 1) != '#' &&
		       kdl_rd_byte(rd, 1) != '"';
	n = kdl_rd_ident_run(rd);
	for (i = 0; i < 3; i++)
		if (strlen(v1_words[i]) == n && !memcmp(rd->src + rd->cur.pos, v1_words[i], n))
			return true;
	return false;
}

static int parse_keyword(struct kdl_reader *rd, struct kdl_value *v)
{
	static const struct {
		const char *word;
		enum kdl_kind kind;
		double real;
	} words[] = {
		{ "true", KDL_BOOL, 1 },
		{ "false", KDL_BOOL, 0 },
		{ "null", KDL_NULL, 0 },
		{ "inf", KDL_FLOAT, __builtin_inf() },
		{ "-inf", KDL_FLOAT, -__builtin_inf() },
		{ "nan", KDL_FLOAT, __builtin_nan("") },
	};
	struct kdl_cursor start = rd->cur;
	size_t i, n, skip = is_v2(rd);
	const char *w;

	kdl_rd_skip(rd, skip);
	n = kdl_rd_ident_run(rd);
	w = rd->src + rd->cur.pos;
	for (i = 0; i < (is_v2(rd) ? 6 : 3); i++) {
		if (strlen(words[i].word) != n || memcmp(w, words[i].word, n))
			continue;
		v->kind = words[i].kind;
		v->boolean = words[i].real != 0;
		v->real = words[i].real;
		kdl_rd_skip(rd, n);
		return 0;
	}
	return kdl_rd_fail(
	        rd, start,
	        "unknown keyword '#%.*s' (expected #true, #false, #null, #inf, #-inf or #nan)",
	        (int)n, w);
}

/* A value after its type annotation: number, keyword or string. */
static int parse_value_body(struct kdl_reader *rd, struct kdl_value *v)
{
	struct kdl_cursor start = rd->cur;
	bool bare;

	if (kdl_rd_at_number(rd))
		return kdl_rd_number(rd, v);
	if (at_keyword(rd))
		return parse_keyword(rd, v);
	if (!kdl_rd_at_string(rd))
		return kdl_rd_expected(rd, "a value");
	v->kind = KDL_STRING;
	if (kdl_rd_string(rd, &v->text, &bare))
		return -1;
	if (bare && !is_v2(rd))
		return kdl_rd_fail(rd, start, "string values must be quoted in KDL v1: \"%s\"",
		                   v->text.ptr);
	return 0;
}

static int parse_type(struct kdl_reader *rd, struct kdl_str *type)
{
	bool bare;

	kdl_rd_next(rd);
	if (skip_v2_space(rd) < 0)
		return -1;
	if (!kdl_rd_at_string(rd))
		return kdl_rd_expected(rd, "a type name after '('");
	if (kdl_rd_string(rd, type, &bare) || skip_v2_space(rd) < 0)
		return -1;
	if (kdl_rd_peek(rd) != ')')
		return kdl_rd_expected(rd, "')' to close the type annotation");
	kdl_rd_next(rd);
	return skip_v2_space(rd) < 0 ? -1 : 0;
}

/* A value with its optional type annotation. */
static int parse_value(struct kdl_reader *rd, struct kdl_value *v)
{
	v->pos.line = rd->cur.line;
	v->pos.col = rd->cur.col;
	if (kdl_rd_peek(rd) == '(' && parse_type(rd, &v->type))
		return -1;
	return parse_value_body(rd, v);
}

static void add_prop(struct kdl_node *node, struct kdl_prop *prop)
{
	size_t i;

	for (i = 0; i < node->props.len; i++) {
		struct kdl_prop *old = &node->props.data[i];

		if (old->name.len == prop->name.len &&
		    !memcmp(old->name.ptr, prop->name.ptr, prop->name.len)) {
			free(old->name.ptr);
			kdl_value_fini(&old->value);
			*old = *prop;
			return;
		}
	}
	vec_push(&node->props, *prop);
}

/* The string turned out to be an argument: back to just after it. */
static int add_string_arg(struct kdl_reader *rd, struct kdl_node *node, struct kdl_prop *prop,
                          struct kdl_cursor after, bool discard)
{
	rd->cur = after;
	if (discard)
		return 1;
	prop->value.kind = KDL_STRING;
	prop->value.pos = prop->pos;
	prop->value.text = prop->name;
	vec_push(&node->args, prop->value);
	return 0;
}

/* name '=' value, the cursor after the name. */
static int parse_prop_rest(struct kdl_reader *rd, struct kdl_node *node, struct kdl_prop *prop,
                           bool discard)
{
	kdl_rd_next(rd);
	if (skip_v2_space(rd) < 0 || parse_value(rd, &prop->value))
		return -1;
	if (discard)
		return 1;
	add_prop(node, prop);
	return 0;
}

/* An entry that starts with a string: an argument, or a property's name. */
static int parse_string_entry(struct kdl_reader *rd, struct kdl_node *node, bool discard)
{
	struct kdl_prop prop = { .pos = { rd->cur.line, rd->cur.col } };
	struct kdl_cursor after;
	bool bare;
	int r;

	if (kdl_rd_string(rd, &prop.name, &bare))
		return -1;
	after = rd->cur;
	r = skip_v2_space(rd);
	if (r >= 0 && kdl_rd_peek(rd) == '=')
		r = parse_prop_rest(rd, node, &prop, discard);
	else if (r >= 0 && bare && !is_v2(rd))
		r = kdl_rd_fail(rd, (struct kdl_cursor){ 0, prop.pos.line, prop.pos.col },
		                "string values must be quoted in KDL v1: \"%s\"", prop.name.ptr);
	else if (r >= 0)
		r = add_string_arg(rd, node, &prop, after, discard);
	if (r) {
		free(prop.name.ptr);
		kdl_value_fini(&prop.value);
	}
	return r < 0 ? -1 : 0;
}

static int parse_entry(struct kdl_reader *rd, struct kdl_node *node, bool discard)
{
	struct kdl_cursor start = rd->cur;
	struct kdl_value v = { 0 };

	if (kdl_rd_peek(rd) != '(' && !kdl_rd_at_number(rd) && !at_keyword(rd)) {
		if (!kdl_rd_at_string(rd))
			return kdl_rd_expected(rd, "an argument, a property or '{'");
		return parse_string_entry(rd, node, discard);
	}
	if (parse_value(rd, &v))
		goto fail;
	if (kdl_rd_peek(rd) == '=') {
		if (v.type.ptr)
			kdl_rd_fail(rd, start, "a property name cannot have a type annotation");
		else
			kdl_rd_fail(rd, start, "a property name must be a string, not a %s",
			            kdl_kind_name(v.kind));
		goto fail;
	}
	if (discard)
		kdl_value_fini(&v);
	else
		vec_push(&node->args, v);
	return 0;
fail:
	kdl_value_fini(&v);
	return -1;
}

static int parse_children(struct kdl_reader *rd, struct kdl_node *node, bool discard)
{
	struct kdl_cursor open = rd->cur;
	struct node_vec kids = { 0 };
	int r = 0;
	size_t i;

	if (rd->depth >= KDL_MAX_DEPTH)
		return kdl_rd_fail(rd, open, "children blocks nested more than %d deep",
		                   KDL_MAX_DEPTH);
	rd->depth++;
	kdl_rd_next(rd);
	r = parse_nodes(rd, &kids, true);
	if (!r && kdl_rd_peek(rd) != '}')
		r = kdl_rd_fail(
		        rd, rd->cur,
		        "expected '}' to close the children block opened at %u:%u, found end "
		        "of input",
		        open.line, open.col);
	rd->depth--;
	if (!r)
		kdl_rd_next(rd);
	if (r || discard) {
		for (i = 0; i < kids.len; i++)
			kdl_node_fini(&kids.data[i]);
		free(kids.data);
		return r;
	}
	node->children.data = kids.data;
	node->children.len = kids.len;
	node->children.cap = kids.cap;
	node->has_children = true;
	node->block_pos.line = open.line;
	node->block_pos.col = open.col;
	return 0;
}

/* '/-' inside a node: comments out an entry or a children block. */
static int parse_slashdashed(struct kdl_reader *rd, struct kdl_node *node, enum entry_state *state)
{
	struct kdl_cursor at = rd->cur;

	kdl_rd_skip(rd, 2);
	if (kdl_rd_skip_line_space(rd) < 0)
		return -1;
	if (kdl_rd_peek(rd) == '{') {
		if (*state == ENTRIES)
			*state = SD_BLOCKS;
		return parse_children(rd, node, true);
	}
	if (*state != ENTRIES)
		return kdl_rd_fail(rd, at,
		                   "arguments and properties must come before children blocks");
	if (at_terminator(rd))
		return kdl_rd_expected(rd, "an argument, a property or '{' after '/-'");
	return parse_entry(rd, node, true);
}

static int parse_entries(struct kdl_reader *rd, struct kdl_node *node)
{
	enum entry_state state = ENTRIES;
	int space;

	for (;;) {
		space = kdl_rd_skip_node_space(rd);
		if (space < 0)
			return -1;
		if (at_terminator(rd))
			return 0;
		if (kdl_rd_at(rd, "/-")) {
			if (!space && !is_v2(rd))
				return kdl_rd_expected(rd, "whitespace before '/-'");
			if (parse_slashdashed(rd, node, &state))
				return -1;
			continue;
		}
		if (kdl_rd_peek(rd) == '{') {
			if (state == BLOCK)
				return kdl_rd_fail(rd, rd->cur,
				                   "a node has at most one children block");
			state = BLOCK;
			if (parse_children(rd, node, false))
				return -1;
			continue;
		}
		if (state != ENTRIES)
			return kdl_rd_expected(rd, "';' or a newline after the children block");
		if (!space)
			return kdl_rd_expected(rd, "whitespace between node entries");
		if (parse_entry(rd, node, false))
			return -1;
	}
}

/* The cursor is at the node's name or type annotation. */
static int parse_node_body(struct kdl_reader *rd, struct kdl_node *node)
{
	bool bare;

	node->pos.line = rd->cur.line;
	node->pos.col = rd->cur.col;
	if (kdl_rd_peek(rd) == '(' && parse_type(rd, &node->type))
		return -1;
	node->name_pos.line = rd->cur.line;
	node->name_pos.col = rd->cur.col;
	if (!kdl_rd_at_string(rd))
		return kdl_rd_expected(rd, node->type.ptr ? "a node name after the type annotation"
		                                          : "a node name");
	if (kdl_rd_string(rd, &node->name, &bare) || parse_entries(rd, node))
		return -1;
	if (kdl_rd_peek(rd) == ';')
		kdl_rd_next(rd);
	else if (kdl_rd_at(rd, "//"))
		kdl_rd_skip_line_comment(rd);
	else if (kdl_rd_at_newline(rd))
		kdl_rd_newline(rd);
	return 0;
}

static int parse_nodes(struct kdl_reader *rd, struct node_vec *out, bool in_block)
{
	struct kdl_node node;
	bool dropped;

	for (;;) {
		if (kdl_rd_skip_line_space(rd) < 0)
			return -1;
		if (kdl_rd_peek(rd) == KDL_EOF || (in_block && kdl_rd_peek(rd) == '}'))
			return 0;
		if (kdl_rd_peek(rd) == '}')
			return kdl_rd_fail(rd, rd->cur,
			                   "unexpected '}' outside of a children block");
		memset(&node, 0, sizeof(node));
		dropped = kdl_rd_at(rd, "/-");
		if (dropped) {
			kdl_rd_skip(rd, 2);
			if (kdl_rd_skip_line_space(rd) < 0)
				return -1;
			if (kdl_rd_peek(rd) == KDL_EOF || kdl_rd_peek(rd) == '}')
				return kdl_rd_expected(rd, "a node after '/-'");
		}
		if (parse_node_body(rd, &node)) {
			kdl_node_fini(&node);
			return -1;
		}
		if (dropped)
			kdl_node_fini(&node);
		else
			vec_push(out, node);
	}
}

static int parse_as(struct kdl_document *doc, const char *text, size_t len,
                    enum kdl_version version, const char *source, struct kdl_pos *where,
                    struct err *err)
{
	struct kdl_reader rd = { .src = text,
		                 .len = len,
		                 .cur = { 0, 1, 1 },
		                 .version = version,
		                 .source = source,
		                 .err = err };
	struct node_vec nodes = { 0 };
	size_t i;

	if (kdl_rd_at(&rd, "\xef\xbb\xbf"))
		rd.cur.pos = 3; /* the BOM is not a column */
	if (!kdl_rd_validate(&rd) && !parse_nodes(&rd, &nodes, false)) {
		doc->nodes.data = nodes.data;
		doc->nodes.len = nodes.len;
		doc->nodes.cap = nodes.cap;
		doc->version = version;
		return 0;
	}
	for (i = 0; i < nodes.len; i++)
		kdl_node_fini(&nodes.data[i]);
	free(nodes.data);
	if (where)
		*where = rd.where;
	return -1;
}

int kdl_parse(struct kdl_document *doc, const char *text, size_t len,
              const struct kdl_parse_opts *opts, struct kdl_pos *where, struct err *err)
{
	enum kdl_version version = opts ? opts->version : KDL_V2;
	const char *source = opts ? opts->source : NULL;
	struct kdl_pos where2;
	struct err err2, err1;

	memset(doc, 0, sizeof(*doc));
	if (version != KDL_DETECT)
		return parse_as(doc, text, len, version, source, where, err);
	if (!parse_as(doc, text, len, KDL_V2, source, &where2, &err2))
		return 0;
	if (!parse_as(doc, text, len, KDL_V1, source, NULL, &err1))
		return 0;
	/* v1 is the fallback: its complaints would only confuse a v2 author */
	if (where)
		*where = where2;
	if (err)
		*err = err2;
	return -1;
}
