/*
 * What comes next inside an open call of a tree walk: its next child or
 * its next event. Each is looked up by "the first one after the last
 * shown", not kept in an open cursor, so that a walk holds a few scalars
 * per level of the tree: a recursion 20,000 calls deep costs megabytes,
 * not a prepared statement per level. The reader sees that ids rise, so
 * a walk always ends.
 */
#include <string.h>

#include "view/internal.h"

static void kid_after(struct view_ctx *v, struct view_next *n, int64_t after)
{
	struct err e = { 0 };
	int rc = n->kids ? reader_call_child_after(v->r, n->call, after, &n->kid, &e) : 0;

	if (rc < 0)
		view_damage(v, &e);
	n->have_kid = rc > 0;
	/* Its backtrace belongs to the reader's lookup, which the next one reuses. */
	n->kid.bt = NULL;
	n->kid.bt_len = 0;
}

static void ev_after(struct view_ctx *v, struct view_next *n, int64_t after)
{
	struct reader_event ev;
	struct err e = { 0 };
	int rc = reader_event_of_call_after(v->r, n->call, after, &ev, &e);

	if (rc < 0)
		view_damage(v, &e);
	n->have_ev = rc > 0;
	n->ev_id = rc > 0 ? ev.id : STORE_NONE;
	n->ev_pos = ev.pos;
	n->ev_time = ev.time_ns;
}

void view_next_init(struct view_ctx *v, struct view_next *n, int64_t call, bool kids)
{
	memset(n, 0, sizeof(*n));
	n->call = call;
	n->kids = kids;
	kid_after(v, n, -1);
	ev_after(v, n, -1);
}

bool view_next_is_event(const struct view_next *n)
{
	const struct reader_call *c = &n->kid;

	if (!n->have_ev)
		return false;
	return !n->have_kid || n->ev_pos < c->pos_start ||
	       (n->ev_pos == c->pos_start && n->ev_time < c->time_start);
}

int view_next_take_event(struct view_ctx *v, struct view_next *n, struct reader_event *out)
{
	struct err e = { 0 };
	int64_t id = n->ev_id;

	/* A lookup by id: its record stays valid through the search for the next one. */
	if (reader_event_get(v->r, id, out, &e)) {
		view_damage(v, &e);
		n->have_ev = false;
		return -1;
	}
	ev_after(v, n, id);
	return 0;
}

void view_next_take_kid(struct view_ctx *v, struct view_next *n, struct reader_call *out)
{
	*out = n->kid;
	kid_after(v, n, out->id);
}
