/*
 * call-trace: the tree of calls below a call as nested call nodes, each
 * with its state changes, in the order they happened (docs/views.md).
 *
 * The tree is walked depth first with an explicit stack holding, for each
 * open node, where its next child and its next event are (walk.c): memory
 * grows with the depth of the tree by a few hundred bytes a level, never
 * with its size, and a deep recursion in the traced program cannot
 * overflow nosco's own stack. Past KDL_INDENT_MAX levels the emitter stops
 * indenting further, so the output stays linear in the number of lines.
 */
#include "view/internal.h"

struct frame {
	uint32_t level; /* 0 for the call asked for */
	struct view_next next;
};

/* The open nodes, innermost last (a util/vec.h vector). */
struct frame_stack {
	struct frame *data;
	size_t len;
	size_t cap;
};

/*
 * Write a call's node line; if it has children, open its block and push a
 * frame to write them. A call at the --depth limit shows its own state
 * changes but not the calls it made.
 */
static void open_call(struct view_ctx *v, struct frame_stack *stack, const struct reader_call *c,
                      uint32_t level)
{
	struct frame f = { .level = level };
	bool bt = level == 0 && v->o.backtrace;

	view_next_init(v, &f.next, c->id, !v->o.has_depth || level < v->o.depth);
	view_call_node(v, c, VIEW_CALL_EXTRA);
	if (!f.next.have_kid && !f.next.have_ev && !bt) {
		kdl_emit_node_end(&v->em);
		return;
	}
	kdl_emit_children_begin(&v->em);
	if (bt)
		view_call_backtrace(v, c->id, c->time_start);
	vec_push(stack, f);
}

static void walk(struct view_ctx *v, const struct reader_call *root)
{
	struct frame_stack stack = { 0 };
	struct reader_event ev;
	struct reader_call kid;

	open_call(v, &stack, root, 0);
	while (stack.len && !view_stopped(v)) {
		struct frame *f = &vec_last(&stack);

		if (view_next_is_event(&f->next)) {
			if (!view_next_take_event(v, &f->next, &ev))
				view_state_node(v, &ev);
		} else if (f->next.have_kid) {
			view_next_take_kid(v, &f->next, &kid);
			open_call(v, &stack, &kid, f->level + 1);
		} else {
			kdl_emit_children_end(&v->em);
			kdl_emit_node_end(&v->em);
			stack.len--;
		}
	}
	vec_free(&stack);
}

int view_call_trace(const struct view_args *a, struct err *err)
{
	struct view_ctx v;
	struct reader_call c;
	struct err e = { 0 };
	int rc = view_begin(&v, view_call_trace, a, err);

	if (rc)
		return rc > 0 ? 0 : -1;
	if (view_get_call(&v, v.o.call, &c, &e))
		view_damage(&v, &e);
	else
		walk(&v, &c);
	return view_end(&v, err);
}
