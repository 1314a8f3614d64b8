/*
 * The view context: arguments, the symbolizer, the threads of the trace
 * (a few records, kept in memory to turn nosco's thread ids into Linux
 * tids), the KDL emitter and the first damage met. Views keep going after
 * damage so that the output holds everything that could be read.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "view/internal.h"

void view_damage(struct view_ctx *v, const struct err *e)
{
	if (v->first.kind == ERR_NONE && e->kind != ERR_NONE)
		v->first = *e;
}

static int load_threads(struct view_ctx *v, struct err *err)
{
	struct reader_cursor *c = reader_threads(v->r, err);
	struct reader_thread t;
	int rc;

	if (!c)
		return -1;
	while ((rc = reader_thread_next(c, &t, err)) > 0)
		vec_push(&v->threads, t);
	reader_cursor_free(c);
	return rc < 0 ? -1 : 0;
}

int view_begin(struct view_ctx *v, view_fn *self, const struct view_args *a, struct err *err)
{
	const struct view_def *spec = view_of(self);

	memset(v, 0, sizeof(*v));
	v->r = a->reader;
	v->out = a->out;
	if (view_parse(spec, a->argc, a->argv, &v->o, err))
		return -1;
	if (v->o.help) {
		fputs(spec->usage, a->out);
		return 1;
	}
	kdl_emitter_init(&v->em, a->out);
	if (view_syms_init(&v->syms, v->r, a, err) || load_threads(v, err)) {
		view_syms_fini(&v->syms);
		vec_free(&v->threads);
		return -1;
	}
	sb_init(&v->sb);
	return 0;
}

int view_end(struct view_ctx *v, struct err *err)
{
	struct err e = { 0 };

	if (kdl_emitter_fini(&v->em, &e))
		view_damage(v, &e);
	view_syms_fini(&v->syms);
	vec_free(&v->threads);
	sb_fini(&v->sb);
	if (v->first.kind == ERR_NONE)
		return 0;
	*err = v->first;
	return -1;
}

const struct reader_thread *view_thread(const struct view_ctx *v, int64_t thread)
{
	if (thread < 0 || (uint64_t)thread >= v->threads.len)
		return NULL;
	return &v->threads.data[thread];
}

int view_tid(const struct view_ctx *v, int64_t thread)
{
	const struct reader_thread *t = view_thread(v, thread);

	return t ? t->tid : -1;
}

int view_get_call(struct view_ctx *v, int64_t id, struct reader_call *out, struct err *err)
{
	struct reader_counts n;

	if (!reader_call_get(v->r, id, out, err))
		return 0;
	if (err->kind != ERR_NOT_FOUND)
		return -1;
	if (reader_counts(v->r, &n, NULL) || n.calls < 0)
		return err_set(err, ERR_NOT_FOUND, "%s has no call %" PRId64, reader_path(v->r),
		               id);
	if (!n.calls)
		return err_set(err, ERR_NOT_FOUND, "%s has no call %" PRId64 " (it has no calls)",
		               reader_path(v->r), id);
	if (n.calls == 1)
		return err_set(err, ERR_NOT_FOUND,
		               "%s has no call %" PRId64 " (its only call is 0)", reader_path(v->r),
		               id);
	return err_set(err, ERR_NOT_FOUND,
	               "%s has no call %" PRId64 " (its calls are 0 to %" PRId64
	               "; the calls view lists them)",
	               reader_path(v->r), id, n.calls - 1);
}

const char *view_signame(int sig, char *buf, size_t size)
{
	const char *abbrev = sig > 0 ? sigabbrev_np(sig) : NULL;

	if (abbrev)
		snprintf(buf, size, "SIG%s", abbrev);
	else
		snprintf(buf, size, "SIG%d", sig);
	return buf;
}

const char *view_sym(struct view_ctx *v, uint64_t addr, uint64_t time, enum view_addr_kind kind)
{
	sb_reset(&v->sb);
	view_sym_name(&v->syms, addr, time, kind, &v->sb);
	return v->sb.buf;
}
