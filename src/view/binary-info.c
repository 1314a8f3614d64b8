/*
 * binary-info: one node per recorded binary, in the order they were
 * mapped, with the calls that loaded and unloaded it (docs/views.md).
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

static void binary_node(struct view_ctx *v, const struct view_binary *b)
{
	char range[48];

	snprintf(range, sizeof(range), "0x%" PRIx64 "..0x%" PRIx64, b->start, b->end);
	kdl_emit_node(&v->em, NULL, "binary");
	kdl_emit_arg_string(&v->em, b->path);
	kdl_emit_prop_string(&v->em, "addr_range", range);
	if (b->load_event != STORE_NONE || b->unload_event != STORE_NONE) {
		kdl_emit_children_begin(&v->em);
		origin(v, "loaded_by", b->load_event);
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
	int rc = view_begin(&v, &view_spec_binary_info, a, err);

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
