/*
 * thread-info: one node per thread (docs/views.md). Children, in order:
 * who created it, then its root calls ("traced") and the state changes it
 * made outside traced calls, merged in the order they happened, then how
 * it ended ("exited"). With --stats, the thread's summary (its calls, root
 * calls and instructions), which the file stores: no call is read.
 */
#include <inttypes.h>
#include <string.h>

#include "view/internal.h"

/* A peekable cursor: the record stays valid until the cursor is advanced. */
struct peek_calls {
	struct reader_cursor *c;
	struct reader_call rec;
	bool have;
};

struct peek_events {
	struct reader_cursor *c;
	struct reader_event rec;
	bool have;
	int64_t skip; /* an event shown elsewhere (the thread's exit) */
};

static void calls_next(struct view_ctx *v, struct peek_calls *p)
{
	struct err e = { 0 };
	int rc = p->c ? reader_call_next(p->c, &p->rec, &e) : 0;

	if (rc < 0)
		view_damage(v, &e);
	p->have = rc > 0;
}

static void events_next(struct view_ctx *v, struct peek_events *p)
{
	struct err e = { 0 };
	int rc;

	do
		rc = p->c ? reader_event_next(p->c, &p->rec, &e) : 0;
	while (rc > 0 && p->rec.id == p->skip);
	if (rc < 0)
		view_damage(v, &e);
	p->have = rc > 0;
}

static void traced_node(struct view_ctx *v, const struct reader_call *c)
{
	kdl_emit_node(&v->em, NULL, "traced");
	view_call_entries(v, c, c->addr, VIEW_CALL_EXTRA);
	if (v->o.backtrace) {
		kdl_emit_children_begin(&v->em);
		view_call_backtrace(v, c->id, c->time_start);
		kdl_emit_children_end(&v->em);
	}
	kdl_emit_node_end(&v->em);
}

/* Root calls and state changes outside calls, in the order they happened. */
static void merge_roots_events(struct view_ctx *v, struct peek_calls *roots,
                               struct peek_events *evs)
{
	while ((roots->have || evs->have) && !view_stopped(v)) {
		if (evs->have && (!roots->have || view_event_before(&evs->rec, &roots->rec))) {
			view_state_node(v, &evs->rec);
			events_next(v, evs);
		} else {
			traced_node(v, &roots->rec);
			calls_next(v, roots);
		}
	}
}

static void exit_code(struct view_ctx *v, const void *arg)
{
	const struct reader_thread *t = arg;
	char sig[32];

	if (t->signaled)
		kdl_emit_prop_string(&v->em, "signal", view_signame(t->code, sig, sizeof(sig)));
	else
		kdl_emit_prop_int(&v->em, "code", t->code);
}

/* "created ..." or "exited ...", from the event that says where it happened. */
static void thread_event_node(struct view_ctx *v, const char *name, int64_t id,
                              const struct reader_thread *t)
{
	struct reader_event e;
	struct err err = { 0 };
	bool exited = !strcmp(name, "exited");

	if (id == STORE_NONE || reader_event_get(v->r, id, &e, &err)) {
		if (err.kind != ERR_NONE)
			view_damage(v, &err);
		kdl_emit_node(&v->em, NULL, name);
		if (exited)
			exit_code(v, t);
		kdl_emit_node_end(&v->em);
		return;
	}
	view_origin_node(v, name, &e, exited ? exit_code : NULL, t, !exited);
}

/* --stats: calls=N roots=N insns=N on the thread's node */
static void stats_props(struct view_ctx *v, const struct reader_thread *t)
{
	struct reader_thread_summary sum;
	struct err e = { 0 };

	if (reader_thread_summary(v->r, t->id, &sum, &e)) {
		view_damage(v, &e);
		return;
	}
	kdl_emit_prop_uint(&v->em, "calls", sum.calls);
	kdl_emit_prop_uint(&v->em, "roots", sum.roots);
	kdl_emit_prop_uint(&v->em, "insns", sum.insns);
}

static void thread_node(struct view_ctx *v, const struct reader_thread *t)
{
	struct peek_calls roots = { 0 };
	struct peek_events evs = { .skip = t->exit_event };
	struct err e = { 0 };

	if (!(roots.c = reader_calls_roots(v->r, t->id, &e)))
		view_damage(v, &e);
	if (!(evs.c = reader_events_outside_calls(v->r, t->id, &e)))
		view_damage(v, &e);
	calls_next(v, &roots);
	events_next(v, &evs);
	kdl_emit_node(&v->em, NULL, "thread");
	kdl_emit_arg_int(&v->em, t->tid);
	if (v->o.stats)
		stats_props(v, t);
	if (t->create_event != STORE_NONE || roots.have || evs.have || t->exited) {
		kdl_emit_children_begin(&v->em);
		if (t->create_event != STORE_NONE)
			thread_event_node(v, "created", t->create_event, t);
		merge_roots_events(v, &roots, &evs);
		if (t->exited)
			thread_event_node(v, "exited", t->exit_event, t);
		kdl_emit_children_end(&v->em);
	}
	kdl_emit_node_end(&v->em);
	reader_cursor_free(roots.c);
	reader_cursor_free(evs.c);
}

int view_thread_info(const struct view_args *a, struct err *err)
{
	struct view_ctx v;
	const struct reader_thread *t;
	bool found = false;
	int rc = view_begin(&v, view_thread_info, a, err);

	if (rc)
		return rc > 0 ? 0 : -1;
	vec_foreach (&v.threads, t) {
		if (v.o.has_thread && t->tid != v.o.tid)
			continue;
		found = true;
		thread_node(&v, t);
	}
	if (v.o.has_thread && !found) {
		struct err e;

		err_set(&e, ERR_NOT_FOUND, "%s has no thread with Linux thread id %d",
		        reader_path(v.r), v.o.tid);
		view_damage(&v, &e);
	}
	return view_end(&v, err);
}
