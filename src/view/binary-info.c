/*
 * binary-info: one node per recorded binary, in the order they were
 * mapped, with the calls that loaded and unloaded it and the scopes
 * resolved in it (docs/views.md).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "view/internal.h"

/* Does path end with the whole path components of suffix ("libc.so.6", "lib/libc.so.6")? */
static bool suffix_match(const char *path, const char *suffix)
{
	size_t n = strlen(path), k = strlen(suffix);

	if (k > n || strcmp(path + n - k, suffix))
		return false;
	return k == n || suffix[0] == '/' || path[n - k - 1] == '/';
}

static void origin(struct view_ctx *v, const char *name, int64_t id)
{
	struct reader_event e;
	struct err err = { 0 };

	if (id == STORE_NONE)
		return;
	if (reader_event_get(v->r, id, &e, &err)) {
		view_damage(v, &err);
		kdl_emit_node(&v->em, NULL, name);
		kdl_emit_node_end(&v->em);
		return;
	}
	view_origin_node(v, name, &e, NULL, NULL, true);
}

/* An address as a property, and its value with --addresses. */
static void addr_props(struct view_ctx *v, const struct view_binary *b, const char *key,
                       const char *addr_key, uint64_t addr)
{
	char hex[24];

	kdl_emit_prop_string(&v->em, key, view_sym(v, addr, b->t_load, VIEW_ADDR_CODE));
	if (!v->o.addresses)
		return;
	snprintf(hex, sizeof(hex), "0x%" PRIx64, addr);
	kdl_emit_prop_string(&v->em, addr_key, hex);
}

/* scope SYMBOL [entry=SYM] [resolver=SYM]: a scope resolved in the binary */
static void scope_node(struct view_ctx *v, const struct view_binary *b,
                       const struct reader_scope *sc)
{
	kdl_emit_node(&v->em, NULL, "scope");
	kdl_emit_arg_string(&v->em, sc->symbol);
	if (sc->addr)
		addr_props(v, b, "entry", "addr", sc->addr);
	if (sc->resolver)
		addr_props(v, b, "resolver", "resolver_addr", sc->resolver);
	kdl_emit_node_end(&v->em);
}

static void binary_node(struct view_ctx *v, const struct view_binary *b)
{
	size_t i, n = reader_scope_count(v->r), scopes = 0;
	char range[48];

	for (i = 0; i < n; i++)
		scopes += reader_scope_at(v->r, i)->binary == b->id;
	snprintf(range, sizeof(range), "0x%" PRIx64 "..0x%" PRIx64, b->start, b->end);
	kdl_emit_node(&v->em, NULL, "binary");
	kdl_emit_arg_string(&v->em, b->path);
	kdl_emit_prop_string(&v->em, "addr_range", range);
	if (b->load_event != STORE_NONE || b->unload_event != STORE_NONE || scopes) {
		kdl_emit_children_begin(&v->em);
		origin(v, "loaded_by", b->load_event);
		for (i = 0; i < n; i++)
			if (reader_scope_at(v->r, i)->binary == b->id)
				scope_node(v, b, reader_scope_at(v->r, i));
		origin(v, "unloaded_by", b->unload_event);
		kdl_emit_children_end(&v->em);
	}
	kdl_emit_node_end(&v->em);
}

int view_binary_info(const struct view_args *a, struct err *err)
{
	struct view_ctx v;
	const struct view_binary *b;
	bool found = false;
	int rc = view_begin(&v, view_binary_info, a, err);

	if (rc)
		return rc > 0 ? 0 : -1;
	vec_foreach (&v.syms.bins, b) {
		if (v.o.suffix && !suffix_match(b->path, v.o.suffix))
			continue;
		found = true;
		binary_node(&v, b);
	}
	if (v.o.suffix && !found) {
		struct err e;

		err_set(&e, ERR_NOT_FOUND, "%s has no binary whose path ends with '%s'",
		        reader_path(v.r), v.o.suffix);
		view_damage(&v, &e);
	}
	return view_end(&v, err);
}
