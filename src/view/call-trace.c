/*
 * call-trace: the tree of calls below a call as nested call nodes, each
 * with its state changes, in the order they happened (docs/views.md).
 *
 * The tree is walked depth first with an explicit stack holding, for each
 * open node, its call and two cursors (its children, its events): memory
 * grows with the depth of the tree, never with its size, and a deep
 * recursion in the traced program cannot overflow nosco's own stack.
 */
#include "view/internal.h"

struct frame {
	struct reader_call call;
	uint32_t level; /* 0 for the call asked for */
	struct reader_cursor *kids, *evs;
	struct reader_call kid; /* the next child, when have_kid */
	struct reader_event ev; /* the next event, when have_ev */
	bool have_kid, have_ev;
};

/* The open nodes, innermost last (a util/vec.h vector). */
struct frame_stack {
	struct frame *data;
	size_t len;
	size_t cap;
};

static void kid_next(struct view_ctx *v, struct frame *f)
{
	struct err e = { 0 };
	int rc = f->kids ? reader_call_next(f->kids, &f->kid, &e) : 0;

	if (rc < 0)
		view_damage(v, &e);
	f->have_kid = rc > 0;
}

static void ev_next(struct view_ctx *v, struct frame *f)
{
	struct err e = { 0 };
	int rc = f->evs ? reader_event_next(f->evs, &f->ev, &e) : 0;

	if (rc < 0)
		view_damage(v, &e);
	f->have_ev = rc > 0;
}

static void frame_free(struct frame *f)
{
	reader_cursor_free(f->kids);
	reader_cursor_free(f->evs);
}

/*
 * Write a call's node line; if it has children, open its block and push a
 * frame to write them. A call at the --depth limit shows its own state
 * changes but not the calls it made.
 */
static void open_call(struct view_ctx *v, struct frame_stack *stack, const struct reader_call *c,
                      uint32_t level)
{
	struct frame f = { .call = *c, .level = level };
	bool bt = level == 0 && v->o.backtrace;
	struct err e = { 0 };

	if (!v->o.has_depth || level < v->o.depth) {
		if (!(f.kids = reader_calls_children(v->r, c->id, &e)))
			view_damage(v, &e);
	}
	if (!(f.evs = reader_events_of_call(v->r, c->id, &e)))
		view_damage(v, &e);
	kid_next(v, &f);
	ev_next(v, &f);
	view_call_node(v, c, VIEW_CALL_EXTRA);
	if (!f.have_kid && !f.have_ev && !bt) {
		kdl_emit_node_end(&v->em);
		frame_free(&f);
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

	open_call(v, &stack, root, 0);
	while (stack.len) {
		struct frame *f = &vec_last(&stack);
		struct reader_call kid;

		if (f->have_ev && (!f->have_kid || view_event_before(&f->ev, &f->kid))) {
			view_state_node(v, &f->ev);
			ev_next(v, f);
		} else if (f->have_kid) {
			kid = f->kid;
			kid_next(v, f);
			open_call(v, &stack, &kid, f->level + 1);
		} else {
			kdl_emit_children_end(&v->em);
			kdl_emit_node_end(&v->em);
			frame_free(f);
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
	int rc = view_begin(&v, &view_spec_call_trace, a, err);

	if (rc)
		return rc > 0 ? 0 : -1;
	if (view_get_call(&v, v.o.call, &c, &e))
		view_damage(&v, &e);
	else
		walk(&v, &c);
	return view_end(&v, err);
}
