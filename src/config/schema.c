/*
 * What the configuration's nodes mean, and the checks that turn every
 * mistake into a message saying what was expected. Nodes may come in any
 * order: a trace node's default depth is resolved after the whole document.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config/internal.h"
#include "util/xalloc.h"

static const char *const node_names[] = { "call-depth", "backtrace-depth", "engine", "trace" };
static const char *const trace_props[] = { "binary", "call-depth" };

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *float_keyword(const struct kdl_value *v)
{
	if (isnan(v->real))
		return "#nan";
	return v->real > 0 ? "#inf" : "#-inf";
}

/* "a string ("10")", "a float (2.5)", ...: what was found instead. */
static const char *describe(const struct config_ctx *c, const struct kdl_value *v, char *buf,
                            size_t size)
{
	const char *hash = c->version == KDL_V1 ? "" : "#";

	switch (v->kind) {
	case KDL_NULL:
		snprintf(buf, size, "%snull", hash);
		break;
	case KDL_BOOL:
		snprintf(buf, size, "a boolean (%s%s)", hash, v->boolean ? "true" : "false");
		break;
	case KDL_STRING:
		snprintf(buf, size, "a string (\"%.40s\")", v->text.ptr);
		break;
	case KDL_FLOAT:
		snprintf(buf, size, "a float (%.40s)",
		         v->text.ptr ? v->text.ptr : float_keyword(v));
		break;
	case KDL_INT:
		snprintf(buf, size, "an integer (%.40s)", v->text.ptr);
		break;
	}
	return buf;
}

static int check_no_type(struct config_ctx *c, const struct kdl_str *type, struct kdl_pos pos)
{
	if (!type->ptr)
		return 0;
	return config_fail(c, pos,
	                   "type annotations are not allowed in the configuration, found "
	                   "'(%s)'",
	                   type->ptr);
}

static int check_no_children(struct config_ctx *c, const struct kdl_node *node)
{
	if (!node->has_children)
		return 0;
	return config_fail(c, node->block_pos, "'%s' takes no children block", node->name.ptr);
}

/* A depth: a non-negative integer no larger than CONFIG_MAX_DEPTH. */
static int get_depth(struct config_ctx *c, const struct kdl_value *v, const char *what, int *out)
{
	char buf[96];

	if (check_no_type(c, &v->type, v->pos))
		return -1;
	if (v->kind != KDL_INT)
		return config_fail(c, v->pos, "%s must be a non-negative integer, found %s", what,
		                   describe(c, v, buf, sizeof(buf)));
	if ((v->big && v->text.ptr[0] == '-') || (!v->big && v->integer < 0))
		return config_fail(c, v->pos, "%s must not be negative, found %s", what,
		                   v->text.ptr);
	if (v->big || v->integer > CONFIG_MAX_DEPTH)
		return config_fail(c, v->pos, "%s %s is too large (the maximum is %d)", what,
		                   v->text.ptr, CONFIG_MAX_DEPTH);
	*out = (int)v->integer;
	return 0;
}

/* A non-empty string without NUL. */
static int get_string(struct config_ctx *c, const struct kdl_value *v, const char *what,
                      const char **out)
{
	char buf[96];

	if (check_no_type(c, &v->type, v->pos))
		return -1;
	if (v->kind != KDL_STRING)
		return config_fail(c, v->pos, "%s must be a string, found %s", what,
		                   describe(c, v, buf, sizeof(buf)));
	if (!v->text.len)
		return config_fail(c, v->pos, "%s must not be empty", what);
	if (strlen(v->text.ptr) != v->text.len)
		return config_fail(c, v->pos, "%s must not contain U+0000", what);
	*out = v->text.ptr;
	return 0;
}

/* Checks the shape NAME VALUE: one argument, no properties, no children. */
static int get_single_arg(struct config_ctx *c, const struct kdl_node *node, const char *example,
                          const struct kdl_node **first, const struct kdl_value **arg)
{
	const char *name = node->name.ptr;

	if (*first)
		return config_fail(c, node->pos, "duplicate '%s' (the first one is on line %u)",
		                   name, (*first)->pos.line);
	*first = node;
	if (node->props.len)
		return config_fail(c, node->props.data[0].pos,
		                   "'%s' takes no properties, found '%s' (write: %s)", name,
		                   node->props.data[0].name.ptr, example);
	if (check_no_children(c, node))
		return -1;
	if (!node->args.len)
		return config_fail(c, node->name_pos, "'%s' needs one argument (write: %s)", name,
		                   example);
	if (node->args.len > 1)
		return config_fail(c, node->args.data[1].pos,
		                   "'%s' takes one argument, found %zu (write: %s)", name,
		                   node->args.len, example);
	*arg = &node->args.data[0];
	return 0;
}

static int apply_depth_node(struct config_ctx *c, const struct kdl_node *node,
                            const struct kdl_node **first, int *out)
{
	const struct kdl_value *arg;
	char example[64];

	snprintf(example, sizeof(example), "%s 10", node->name.ptr);
	if (get_single_arg(c, node, example, first, &arg))
		return -1;
	return get_depth(c, arg, node->name.ptr, out);
}

/* The engine's name is checked by who knows the engines: backend_choose() (trace/backend.h). */
static int apply_engine(struct config_ctx *c, const struct kdl_node *node)
{
	const struct kdl_value *arg;
	const char *name;

	if (get_single_arg(c, node, "engine \"step\"", &c->engine, &arg) ||
	    get_string(c, arg, "the engine", &name))
		return -1;
	c->cfg->engine = xstrdup(name);
	c->cfg->engine_line = arg->pos.line;
	c->cfg->engine_col = arg->pos.col;
	return 0;
}

/* binary= and call-depth= of a trace node; scope->call_depth stays -1 if unset. */
static int apply_trace_props(struct config_ctx *c, const struct kdl_node *node,
                             struct config_scope *scope)
{
	const struct kdl_prop *p;
	const char *binary;
	size_t i;

	for (i = 0; i < node->props.len; i++) {
		p = &node->props.data[i];
		if (strcmp(p->name.ptr, "binary") && strcmp(p->name.ptr, "call-depth"))
			return config_fail_unknown(c, p->pos, "property", "properties",
			                           " on 'trace'", p->name.ptr, trace_props,
			                           ARRAY_SIZE(trace_props));
	}
	p = kdl_node_prop(node, "binary");
	if (!p)
		return config_fail(c, node->name_pos,
		                   "'trace' needs a binary=\"NAME\" property: the file name of the "
		                   "executable or library that defines '%s'",
		                   scope->symbol);
	if (get_string(c, &p->value, "binary", &binary))
		return -1;
	scope->binary = xstrdup(binary);
	p = kdl_node_prop(node, "call-depth");
	if (p && !(p->value.kind == KDL_NULL && !p->value.type.ptr))
		return get_depth(c, &p->value, "call-depth", &scope->call_depth);
	return 0;
}

static int check_unique_scope(struct config_ctx *c, const struct kdl_node *node,
                              const struct config_scope *scope)
{
	size_t i;

	for (i = 0; i < c->scopes.len; i++) {
		const struct config_scope *old = &c->scopes.data[i];

		if (!strcmp(old->symbol, scope->symbol) && !strcmp(old->binary, scope->binary))
			return config_fail(c, node->pos,
			                   "duplicate trace of '%s' in '%s' (the first one is on "
			                   "line %u)",
			                   scope->symbol, scope->binary, old->line);
	}
	return 0;
}

static int apply_trace(struct config_ctx *c, const struct kdl_node *node)
{
	struct config_scope scope = { .call_depth = -1,
		                      .line = node->pos.line,
		                      .col = node->pos.col };
	const char *symbol;

	if (check_no_children(c, node))
		return -1;
	if (!node->args.len)
		return config_fail(c, node->name_pos,
		                   "'trace' needs the symbol to trace as its argument (write: "
		                   "trace \"main\" binary=\"prog\")");
	if (node->args.len > 1)
		return config_fail(c, node->args.data[1].pos,
		                   "'trace' takes one argument (the symbol), found %zu",
		                   node->args.len);
	if (get_string(c, &node->args.data[0], "the symbol", &symbol))
		return -1;
	scope.symbol = xstrdup(symbol);
	if (apply_trace_props(c, node, &scope) || check_unique_scope(c, node, &scope)) {
		free(scope.symbol);
		free(scope.binary);
		return -1;
	}
	vec_push(&c->scopes, scope);
	return 0;
}

static int apply_node(struct config_ctx *c, const struct kdl_node *node)
{
	const char *name = node->name.ptr;

	if (check_no_type(c, &node->type, node->pos))
		return -1;
	if (!strcmp(name, "call-depth"))
		return apply_depth_node(c, node, &c->call_depth, &c->cfg->call_depth);
	if (!strcmp(name, "backtrace-depth"))
		return apply_depth_node(c, node, &c->backtrace_depth, &c->cfg->backtrace_depth);
	if (!strcmp(name, "engine"))
		return apply_engine(c, node);
	if (!strcmp(name, "trace"))
		return apply_trace(c, node);
	return config_fail_unknown(c, node->name_pos, "node", "nodes", "", name, node_names,
	                           ARRAY_SIZE(node_names));
}

/**
 * config_apply - check a parsed document and fill the configuration from it
 * @c: the loading context; c->cfg has its defaults already
 * @doc: the document
 *
 * Return: 0 on success, -1 with c->err set on the first mistake.
 */
int config_apply(struct config_ctx *c, const struct kdl_document *doc)
{
	size_t i;
	int r = 0;

	for (i = 0; i < doc->nodes.len && !r; i++)
		r = apply_node(c, &doc->nodes.data[i]);
	for (i = 0; i < c->scopes.len; i++)
		if (c->scopes.data[i].call_depth < 0)
			c->scopes.data[i].call_depth = c->cfg->call_depth;
	c->cfg->scopes = c->scopes.data;
	c->cfg->n_scopes = c->scopes.len;
	return r;
}
