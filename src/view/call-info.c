/*
 * call-info: one call node with its thread, its backtrace (--backtrace)
 * and the state changes whose origin is exactly this call, not the calls
 * it made (docs/views.md).
 */
#include "view/internal.h"

int view_call_info(const struct view_args *a, struct err *err)
{
	struct view_ctx v;
	struct reader_call c;
	struct reader_cursor *evs;
	struct reader_event ev;
	struct err e = { 0 };
	int rc = view_begin(&v, view_call_info, a, err);

	if (rc)
		return rc > 0 ? 0 : -1;
	if (view_get_call(&v, v.o.call, &c, &e)) {
		view_damage(&v, &e);
		return view_end(&v, err);
	}
	evs = reader_events_of_call(v.r, c.id, &e);
	rc = evs ? reader_event_next(evs, &ev, &e) : -1;
	view_call_node(&v, &c, VIEW_CALL_THREAD | VIEW_CALL_EXTRA);
	if (rc > 0 || v.o.backtrace) {
		kdl_emit_children_begin(&v.em);
		if (v.o.backtrace)
			view_call_backtrace(&v, c.id, c.time_start);
		for (; rc > 0; rc = reader_event_next(evs, &ev, &e))
			view_state_node(&v, &ev);
		kdl_emit_children_end(&v.em);
	}
	kdl_emit_node_end(&v.em);
	if (rc < 0)
		view_damage(&v, &e);
	reader_cursor_free(evs);
	return view_end(&v, err);
}
