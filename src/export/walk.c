/*
 * The walk every exporter is built on: the exported calls depth first, in
 * the order they ran, with (when a format asks) each executed instruction
 * handed to the innermost exported call that ran it.
 *
 * Like the call-trace view (src/view/walk.c), a level of the tree holds a
 * few scalars: a call's next child is looked up as "the first one after
 * the last walked", not kept in an open cursor. The instructions come from
 * one iterator over the root's stream range, which decodes a chunk at a
 * time, so memory grows with the depth of the tree, never with its size.
 */
#include "export/export.h"

/* The walk of one root: the instruction iterator and the instruction read ahead. */
struct root_walk {
	struct export_ctx *x;
	struct export_walk *w;
	struct reader_insns *it;
	struct reader_insn next;
	bool have_next;
};

/* Read the next instruction ahead; damage ends the instructions of this root. */
static void read_insn(struct root_walk *rw)
{
	struct err e; /* not cleared: it is read only after a failure, and it is 1 KB */
	int rc = reader_insns_next(rw->it, &rw->next, &e);

	if (rc < 0)
		export_damage(rw->x, &e);
	rw->have_next = rc > 0;
}

/* Hand the instructions before stream position @to to the innermost open call. */
static int insns_until(struct root_walk *rw, uint64_t to, struct err *err)
{
	struct export_walk *w = rw->w;

	while (rw->it && rw->have_next && rw->next.pos < to) {
		if (w->insn(w, &vec_last(&w->stack), &rw->next, err))
			return -1;
		read_insn(rw);
	}
	return 0;
}

static bool want_kids(const struct export_ctx *x, uint32_t level)
{
	return !x->a->has_depth || level < x->a->depth;
}

static int enter(struct root_walk *rw, const struct reader_call *c, uint32_t level, struct err *err)
{
	struct export_walk *w = rw->w;
	struct export_frame f = { .call = *c, .level = level, .last_kid = -1 };

	f.call.bt = NULL; /* it belongs to the reader's lookup */
	f.call.bt_len = 0;
	f.kids = want_kids(rw->x, level);
	f.time_end = c->open ? c->time_start : c->time_end;
	if (c->open && rw->x->end_ns > f.time_end)
		f.time_end = rw->x->end_ns;
	vec_push(&w->stack, f);
	return w->enter ? w->enter(w, &vec_last(&w->stack), err) : 0;
}

/* The innermost call ends: its instructions, its callback, then its parent's account. */
static int leave(struct root_walk *rw, struct err *err)
{
	struct export_walk *w = rw->w;
	struct export_frame *f = &vec_last(&w->stack);

	if (insns_until(rw, f->call.pos_end, err))
		return -1;
	if (w->leave && w->leave(w, f, err))
		return -1;
	w->stack.len--;
	if (w->stack.len) {
		struct export_frame *p = &vec_last(&w->stack);

		p->kid_insns += f->call.pos_end - f->call.pos_start;
		if (p->call.open && f->time_end > p->time_end)
			p->time_end = f->time_end;
	}
	if (rw->x->a->out && ferror(rw->x->a->out))
		return err_set(err, ERR_IO, "cannot write the output");
	return 0;
}

/* The next child of the innermost call: 1 with it in kid, 0 when there is none. */
static int next_kid(struct root_walk *rw, struct reader_call *kid)
{
	struct export_frame *f = &vec_last(&rw->w->stack);
	struct err e; /* read only after a failure */
	int rc;

	if (!f->kids)
		return 0;
	rc = reader_call_child_after(rw->x->r, f->call.id, f->last_kid, kid, &e);
	if (rc < 0) {
		export_damage(rw->x, &e);
		return 0;
	}
	if (rc > 0)
		f->last_kid = kid->id;
	return rc;
}

static int walk_root(struct export_ctx *x, struct export_walk *w, const struct reader_call *root,
                     struct err *err)
{
	struct root_walk rw = { .x = x, .w = w };
	struct reader_call kid;
	struct err e = { 0 };
	int rc = 0;

	if (w->insn) {
		rw.it = reader_insns_open(x->r, root->thread, root->pos_start, root->pos_end, &e);
		if (!rw.it)
			export_damage(x, &e);
		else
			read_insn(&rw);
	}
	w->stack.len = 0;
	if (enter(&rw, root, 0, err))
		rc = -1;
	while (!rc && w->stack.len) {
		if (next_kid(&rw, &kid) > 0) {
			rc = insns_until(&rw, kid.pos_start, err) ||
			     enter(&rw, &kid, vec_last(&w->stack).level + 1, err);
		} else {
			rc = leave(&rw, err);
		}
	}
	reader_insns_free(rw.it);
	return rc ? -1 : 0;
}

/* The call of CALL_ID, as the root of the walk (export_run() checked that it exists). */
static int walk_call(struct export_ctx *x, struct export_walk *w, struct err *err)
{
	struct reader_call c;

	return reader_call_get(x->r, x->a->call, &c, err) ? -1 : walk_root(x, w, &c, err);
}

/* Every root call of a thread, in the order they ran. */
static int walk_thread(struct export_ctx *x, struct export_walk *w, int64_t thread, struct err *err)
{
	struct err e = { 0 };
	struct reader_cursor *cur = reader_calls_roots(x->r, thread, &e);
	struct reader_call root;
	int rc;

	if (!cur) { /* damage: the other threads may still be read */
		export_damage(x, &e);
		return 0;
	}
	while ((rc = reader_call_next(cur, &root, &e)) > 0)
		if (walk_root(x, w, &root, err)) {
			reader_cursor_free(cur);
			return -1;
		}
	reader_cursor_free(cur);
	if (rc < 0)
		export_damage(x, &e);
	return 0;
}

int export_walk(struct export_ctx *x, struct export_walk *w, struct err *err)
{
	const struct reader_thread *t;
	int rc = 0;

	w->x = x;
	w->stack.len = 0;
	if (x->a->has_call) {
		rc = walk_call(x, w, err);
	} else {
		vec_foreach (&x->threads, t) {
			if (x->a->has_thread && t->tid != x->a->tid)
				continue;
			if ((rc = walk_thread(x, w, t->id, err)))
				break;
		}
	}
	vec_free(&w->stack);
	return rc;
}
