/*
 * What every exporter shares: the context (symbolizer, threads, first
 * damage), function names and the clock.
 */
#include "export/export.h"

#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "view/view.h"

void export_damage(struct export_ctx *x, const struct err *e)
{
	err_keep_first(&x->first, e);
}

int export_tid(const struct export_ctx *x, int64_t thread)
{
	if (thread < 0 || (uint64_t)thread >= x->threads.len)
		return -1;
	return x->threads.data[thread].tid;
}

const char *export_name(struct export_ctx *x, const struct reader_call *c)
{
	sb_reset(&x->name);
	view_sym_name(&x->syms, c->addr, c->time_start, VIEW_ADDR_CODE, &x->name);
	return x->name.buf;
}

uint64_t export_self_insns(const struct export_frame *f)
{
	uint64_t all = f->call.pos_end - f->call.pos_start;

	return all > f->kid_insns ? all - f->kid_insns : 0;
}

/* Wall time is counted from the program's start (meta start_ns) when it was recorded. */
static uint64_t wall(const struct export_ctx *x, uint64_t ns)
{
	return ns >= x->start_ns ? ns - x->start_ns : 0;
}

static uint64_t meta_ns(const struct export_ctx *x, const char *key)
{
	int64_t v;

	return reader_meta_int(x->r, key, &v) || v < 0 ? 0 : (uint64_t)v;
}

uint64_t export_ts_start(const struct export_ctx *x, const struct export_frame *f)
{
	if (x->a->clock == EXPORT_CLOCK_INSNS)
		return f->call.pos_start;
	return wall(x, f->call.time_start);
}

uint64_t export_ts_end(const struct export_ctx *x, const struct export_frame *f)
{
	if (x->a->clock == EXPORT_CLOCK_INSNS)
		return f->call.pos_end;
	return wall(x, f->time_end);
}

static int begin(struct export_ctx *x, const struct export_format *f, const struct export_args *a,
                 struct err *err)
{
	struct view_args va = { .reader = a->reader,
		                .out = a->out,
		                .symbols = a->symbols,
		                .lines = (f->flags & EXPORT_FLAG_LINES) != 0,
		                .sysroot = a->sysroot,
		                .warn = a->warn,
		                .warn_ctx = a->warn_ctx };

	memset(x, 0, sizeof(*x));
	x->a = a;
	x->r = a->reader;
	sb_init(&x->name);
	x->start_ns = meta_ns(x, "start_ns");
	x->end_ns = meta_ns(x, "end_ns");
	return view_syms_init(&x->syms, x->r, &va, err) ||
	                       reader_load_threads(x->r, &x->threads, err)
	               ? -1
	               : 0;
}

static void end(struct export_ctx *x)
{
	view_syms_fini(&x->syms);
	vec_free(&x->threads);
	sb_fini(&x->name);
}

/*
 * A CALL_ID or TID that is not in the trace is an error before anything is
 * written, so that no output is started for it.
 */
static int check_selection(struct export_ctx *x, struct err *err)
{
	const struct reader_thread *t;
	struct reader_call c;

	if (x->a->has_call) {
		if (reader_call_get(x->r, x->a->call, &c, err))
			return err->kind == ERR_NOT_FOUND ? err_set(err, ERR_NOT_FOUND,
			                                            "%s has no call %" PRId64
			                                            " (the calls view lists them)",
			                                            reader_path(x->r), x->a->call)
			                                  : -1;
		if (x->a->has_thread && export_tid(x, c.thread) != x->a->tid)
			return err_set(err, ERR_NOT_FOUND,
			               "call %" PRId64 " is in thread %d, not in thread %d", c.id,
			               export_tid(x, c.thread), x->a->tid);
		return 0;
	}
	if (!x->a->has_thread)
		return 0;
	vec_foreach (&x->threads, t)
		if (t->tid == x->a->tid)
			return 0;
	return err_set(err, ERR_NOT_FOUND, "%s has no thread with Linux thread id %d",
	               reader_path(x->r), x->a->tid);
}

int export_run(const struct export_format *f, const struct export_args *a, struct err *err)
{
	struct export_ctx x;
	int rc = begin(&x, f, a, err);

	if (!rc)
		rc = check_selection(&x, err);
	if (!rc)
		rc = f->write(&x, err);
	/* Damage met on the way is the outcome when the format itself finished. */
	if (!rc && x.first.kind != ERR_NONE) {
		*err = x.first;
		rc = -1;
	}
	end(&x);
	return rc;
}
