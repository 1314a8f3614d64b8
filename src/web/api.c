/*
 * The API's answers about the trace as a whole: the overview (metadata,
 * program, how it ended, counts, binaries), the threads, and the root
 * calls of a thread; and the JSON of a call, which every handler shares.
 */
#include <inttypes.h>
#include <string.h>

#include "web/internal.h"

/*
 * Counting the calls is a pass over the call chunks: the counts are an
 * answer of their own, so that the overview is shown at once.
 */

void web_json_call(struct web_req *q, const struct reader_call *c, struct strbuf *scratch)
{
	struct json *j = &q->j;

	sb_reset(scratch);
	web_sym(q->w, c->addr, c->time_start, VIEW_ADDR_CODE, scratch);
	json_kint(j, "id", c->id);
	json_kstr(j, "name", scratch->buf);
	json_kint(j, "thread", c->thread);
	json_key(j, "parent");
	if (c->parent == STORE_NONE)
		json_null(j);
	else
		json_int(j, c->parent);
	json_kuint(j, "depth", c->depth);
	json_khex(j, "addr", c->addr);
	json_kuint(j, "start", c->pos_start);
	json_kuint(j, "end", c->pos_end);
	json_kuint(j, "insns", c->pos_end - c->pos_start);
	json_kuint(j, "time_start", c->time_start);
	json_kuint(j, "time_end", c->time_end);
	json_kstr(j, "kind", reader_call_kind_name(c->kind));
	json_kstr(j, "ended", c->open ? "open" : reader_call_end_name(c->end));
	if (c->kind == STORE_CALL_SIGNAL)
		json_kint(j, "signal", c->signal);
	json_kbool(j, "truncated", c->truncated);
}

int web_call_self(struct store_reader *r, const struct reader_call *c, uint64_t *self,
                  uint64_t *kids, struct err *err)
{
	struct reader_cursor *cur = reader_calls_children(r, c->id, err);
	struct reader_call k;
	uint64_t inner = 0;
	int rc;

	*kids = 0;
	if (!cur)
		return -1;
	while ((rc = reader_call_next(cur, &k, err)) > 0) {
		inner += k.pos_end - k.pos_start;
		(*kids)++;
	}
	reader_cursor_free(cur);
	*self = c->pos_end - c->pos_start -
	        (inner < c->pos_end - c->pos_start ? inner : c->pos_end - c->pos_start);
	return rc;
}

static void json_meta(struct json *j, struct store_reader *r)
{
	size_t i;

	json_key(j, "meta");
	json_obj(j);
	for (i = 0; i < reader_meta_count(r); i++) {
		const struct reader_meta *m = reader_meta_at(r, i);

		if (m->is_int)
			json_kint(j, m->key, m->num);
		else
			json_kstr(j, m->key, m->text);
	}
	json_obj_end(j);
}

static void json_argv(struct json *j, struct store_reader *r)
{
	size_t i, len;

	json_key(j, "argv");
	json_arr(j);
	for (i = 0; i < reader_argc(r); i++) {
		const char *a = reader_argv(r, i, &len);

		json_strn(j, a, len);
	}
	json_arr_end(j);
}

static void json_counts(struct json *j, const struct reader_counts *n)
{
	json_obj(j);
	json_kint(j, "threads", n->threads);
	json_kint(j, "binaries", n->binaries);
	json_kint(j, "events", n->events);
	json_kint(j, "calls", n->calls);
	json_kint(j, "insns", n->insns);
	json_obj_end(j);
}

static int json_binaries(struct json *j, struct store_reader *r, struct err *err)
{
	struct reader_cursor *c = reader_binaries(r, err);
	struct reader_binary b;
	int rc;

	if (!c)
		return -1;
	json_key(j, "binaries");
	json_arr(j);
	while ((rc = reader_binary_next(c, &b, err)) > 0) {
		json_obj(j);
		json_kint(j, "id", b.id);
		json_key(j, "path");
		json_strn(j, b.path, b.path_len);
		json_khex(j, "start", b.start);
		json_khex(j, "end", b.end);
		json_khex(j, "base", b.base);
		json_obj_end(j);
	}
	json_arr_end(j);
	reader_cursor_free(c);
	return rc;
}

static const char *end_text(enum reader_end e)
{
	switch (e) {
	case READER_END_WRITTEN:
		return "written";
	case READER_END_FAILED:
		return "failed";
	case READER_END_LIVE:
		return "live";
	case READER_END_MISSING:
		return "missing";
	}
	return "?";
}

int web_api_overview(struct web_req *q)
{
	struct store_reader *r;
	struct err e = { 0 };
	int rc = 0;

	if (!(r = web_begin(q, NULL, 0)))
		return -1;
	json_obj(&q->j);
	json_kstr(&q->j, "path", reader_path(r));
	json_kstr(&q->j, "end", end_text(reader_end(r)));
	json_kstr(&q->j, "damage", reader_damage(r));
	json_meta(&q->j, r);
	json_argv(&q->j, r);
	if (json_binaries(&q->j, r, &e))
		rc = web_fail_err(q, &e);
	pthread_mutex_lock(&q->w->sym_lock);
	json_kstr(&q->j, "warnings", q->w->warnings.buf);
	pthread_mutex_unlock(&q->w->sym_lock);
	json_obj_end(&q->j);
	web_pool_give(&q->w->pool, r);
	return rc;
}

int web_api_counts(struct web_req *q)
{
	struct store_reader *r;
	struct reader_counts n;
	struct err e = { 0 };
	int rc = 0;

	if (!(r = web_begin(q, NULL, 0)))
		return -1;
	if (reader_counts(r, &n, &e))
		rc = web_fail_err(q, &e);
	else
		json_counts(&q->j, &n);
	web_pool_give(&q->w->pool, r);
	return rc;
}

static int json_thread(struct json *j, struct store_reader *r, const struct reader_thread *t,
                       struct err *e)
{
	struct reader_thread_summary sum;

	/* Stored with the trace: no call is read (but for a trace cut short). */
	if (reader_thread_summary(r, t->id, &sum, e))
		return -1;
	json_obj(j);
	json_kint(j, "id", t->id);
	json_kint(j, "tid", t->tid);
	json_kuint(j, "insns", t->insn_count);
	json_kuint(j, "calls", sum.calls);
	json_kuint(j, "roots", sum.roots);
	json_kbool(j, "exited", t->exited);
	if (t->exited) {
		json_kbool(j, "signaled", t->signaled);
		json_kint(j, "code", t->code);
	}
	json_obj_end(j);
	return 0;
}

int web_api_threads(struct web_req *q)
{
	struct store_reader *r;
	struct reader_cursor *c;
	struct reader_thread t;
	struct err e = { 0 };
	int rc = -1;

	if (!(r = web_begin(q, NULL, 0)))
		return -1;
	if ((c = reader_threads(r, &e))) {
		json_obj(&q->j);
		json_key(&q->j, "threads");
		json_arr(&q->j);
		while ((rc = reader_thread_next(c, &t, &e)) > 0)
			if (json_thread(&q->j, r, &t, &e)) {
				rc = -1;
				break;
			}
		json_arr_end(&q->j);
		json_obj_end(&q->j);
		reader_cursor_free(c);
	}
	web_pool_give(&q->w->pool, r);
	return rc < 0 ? web_fail_err(q, &e) : 0;
}

int web_json_calls_page(struct web_req *q, struct store_reader *r, struct reader_cursor *c,
                        int64_t offset, int64_t limit, bool with_self, struct err *e)
{
	struct reader_call call;
	struct strbuf sb;
	uint64_t self, kids, n = 0;
	int rc;

	sb_init(&sb);
	json_key(&q->j, "calls");
	json_arr(&q->j);
	while ((rc = reader_call_next(c, &call, e)) > 0) {
		if (n++ < (uint64_t)offset || n > (uint64_t)offset + (uint64_t)limit)
			continue;
		json_obj(&q->j);
		web_json_call(q, &call, &sb);
		if (with_self) {
			if (web_call_self(r, &call, &self, &kids, e) < 0) {
				rc = -1;
				break;
			}
			json_kuint(&q->j, "self", self);
			json_kuint(&q->j, "callees", kids);
		}
		json_obj_end(&q->j);
	}
	json_arr_end(&q->j);
	json_kuint(&q->j, "total", n);
	sb_fini(&sb);
	return rc;
}

int web_api_roots(struct web_req *q)
{
	struct store_reader *r;
	struct reader_cursor *c;
	struct err e = { 0 };
	int64_t thread, offset, limit;
	const struct web_param ps[] = {
		WEB_REQUIRED("thread", 0, INT64_MAX, &thread),
		WEB_OPTIONAL("offset", 0, INT64_MAX, 0, &offset),
		WEB_OPTIONAL("limit", 1, 10000, 1000, &limit),
	};
	int rc = -1;

	if (!(r = web_begin(q, WEB_PARAMS(ps))))
		return -1;
	if ((c = reader_calls_roots(r, thread, &e))) {
		json_obj(&q->j);
		rc = web_json_calls_page(q, r, c, offset, limit, false, &e);
		json_obj_end(&q->j);
		reader_cursor_free(c);
	}
	web_pool_give(&q->w->pool, r);
	return rc < 0 ? web_fail_err(q, &e) : 0;
}
