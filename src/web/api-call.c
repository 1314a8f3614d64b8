/*
 * The API's answers about one call: the call with its backtrace, its
 * callees a page at a time, and its instructions a page at a time. All
 * three find what they read through the call index. The callees' own
 * instruction counts need their callees too, which may be many more (a
 * function called for every line of the input): they are an answer of
 * their own (self=1).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "web/internal.h"

#define INSNS_MAX 5000

static void json_frames(struct web_req *q, const struct reader_frame *f, size_t n, uint64_t time,
                        struct strbuf *sb)
{
	size_t i;

	json_key(&q->j, "backtrace");
	json_arr(&q->j);
	for (i = 0; i < n; i++) {
		json_obj(&q->j);
		if (f[i].call != STORE_NONE)
			json_kint(&q->j, "call", f[i].call);
		json_khex(&q->j, "addr", f[i].addr);
		sb_reset(sb);
		web_sym(q->w, f[i].addr, time,
		        f[i].call != STORE_NONE ? VIEW_ADDR_CODE : VIEW_ADDR_RETURN, sb);
		json_kstr(&q->j, "name", sb->buf);
		json_obj_end(&q->j);
	}
	json_arr_end(&q->j);
}

static int call_answer(struct web_req *q, struct store_reader *r, int64_t id)
{
	struct reader_call c;
	struct reader_frame *frames = NULL;
	struct err e = { 0 };
	struct strbuf sb;
	uint64_t self, kids;
	size_t n = 0;
	int rc = 0;

	if (web_get_call(q, r, id, &c))
		return -1;
	if (web_call_self(r, &c, &self, &kids, &e) || reader_call_backtrace(r, id, &frames, &n, &e))
		return web_fail_err(q, &e);
	sb_init(&sb);
	json_obj(&q->j);
	web_json_call(q, &c, &sb);
	json_kuint(&q->j, "self", self);
	json_kuint(&q->j, "callees", kids);
	json_frames(q, frames, n, c.time_start, &sb);
	json_obj_end(&q->j);
	sb_fini(&sb);
	free(frames);
	return rc;
}

int web_api_call(struct web_req *q)
{
	struct store_reader *r;
	int64_t id;
	const struct web_param ps[] = { WEB_REQUIRED("id", 0, INT64_MAX, &id) };
	int rc;

	if (!(r = web_begin(q, WEB_PARAMS(ps))))
		return -1;
	rc = call_answer(q, r, id);
	web_pool_give(&q->w->pool, r);
	return rc;
}

static int callees_answer(struct web_req *q, struct store_reader *r, int64_t id, int64_t offset,
                          int64_t limit, bool self)
{
	struct reader_call c;
	struct reader_cursor *cur;
	struct err e = { 0 };
	int rc;

	if (web_get_call(q, r, id, &c))
		return -1;
	if (!(cur = reader_calls_children(r, id, &e)))
		return web_fail_err(q, &e);
	json_obj(&q->j);
	json_kint(&q->j, "parent", id);
	rc = web_json_calls_page(q, r, cur, offset, limit, self, &e);
	json_obj_end(&q->j);
	reader_cursor_free(cur);
	return rc < 0 ? web_fail_err(q, &e) : 0;
}

int web_api_calls(struct web_req *q)
{
	struct store_reader *r;
	int64_t id, offset, limit, self;
	const struct web_param ps[] = {
		WEB_REQUIRED("parent", 0, INT64_MAX, &id),
		WEB_OPTIONAL("offset", 0, INT64_MAX, 0, &offset),
		WEB_OPTIONAL("limit", 1, 10000, 500, &limit),
		WEB_OPTIONAL("self", 0, 1, 0, &self),
	};
	int rc;

	if (!(r = web_begin(q, WEB_PARAMS(ps))))
		return -1;
	rc = callees_answer(q, r, id, offset, limit, self != 0);
	web_pool_give(&q->w->pool, r);
	return rc;
}

/* The callees of @c that overlap [from, to), as {"id","name","start","end"}. */
static int json_window_callees(struct web_req *q, struct store_reader *r,
                               const struct reader_call *c, uint64_t from, uint64_t to,
                               struct strbuf *sb, struct err *e)
{
	struct reader_cursor *cur = reader_calls_children(r, c->id, e);
	struct reader_call k;
	int rc;

	if (!cur)
		return -1;
	json_key(&q->j, "callees");
	json_arr(&q->j);
	while ((rc = reader_call_next(cur, &k, e)) > 0) {
		if (k.pos_end < from || (k.pos_end == from && k.pos_start < from))
			continue;
		if (k.pos_start >= to)
			break;
		json_obj(&q->j);
		json_kint(&q->j, "id", k.id);
		sb_reset(sb);
		web_sym(q->w, k.addr, k.time_start, VIEW_ADDR_CODE, sb);
		json_kstr(&q->j, "name", sb->buf);
		json_kuint(&q->j, "start", k.pos_start);
		json_kuint(&q->j, "end", k.pos_end);
		json_obj_end(&q->j);
	}
	json_arr_end(&q->j);
	reader_cursor_free(cur);
	return rc < 0 ? -1 : 0;
}

/* One instruction: position, address, assembly, symbol and source line. */
static void json_insn(struct web_req *q, const struct reader_insn *in, uint64_t time, bool lines,
                      struct strbuf *sb)
{
	char text[160];

	arch_format_asm(q->w->mode, in->addr, in->bytes, in->len, text, sizeof(text));
	json_obj(&q->j);
	json_kuint(&q->j, "pos", in->pos);
	json_khex(&q->j, "addr", in->addr);
	json_kstr(&q->j, "asm", text);
	sb_reset(sb);
	web_sym(q->w, in->addr, time, VIEW_ADDR_CODE, sb);
	json_kstr(&q->j, "sym", sb->buf);
	sb_reset(sb);
	if (lines && web_line(q->w, in->addr, time, sb))
		json_kstr(&q->j, "line", sb->buf);
	json_obj_end(&q->j);
}

static int json_insns(struct web_req *q, struct store_reader *r, const struct reader_call *c,
                      uint64_t from, uint64_t to, bool lines, struct strbuf *sb, struct err *e)
{
	struct reader_insns *it = reader_insns_open(r, c->thread, from, to, e);
	struct reader_insn in;
	int rc;

	if (!it)
		return -1;
	json_key(&q->j, "insns");
	json_arr(&q->j);
	while ((rc = reader_insns_next(it, &in, e)) > 0)
		json_insn(q, &in, c->time_start, lines, sb);
	json_arr_end(&q->j);
	reader_insns_free(it);
	return rc;
}

static int insns_answer(struct web_req *q, struct store_reader *r, int64_t id, int64_t from,
                        int64_t limit, bool lines)
{
	struct reader_call c;
	struct err e = { 0 };
	struct strbuf sb;
	uint64_t start, to;
	int rc;

	if (web_get_call(q, r, id, &c))
		return -1;
	start = from < 0 ? c.pos_start : (uint64_t)from;
	if (start < c.pos_start || start > c.pos_end)
		return web_fail(q, 400,
		                "parameter 'from' must be in the call's positions %" PRIu64
		                "..%" PRIu64,
		                c.pos_start, c.pos_end);
	to = c.pos_end - start < (uint64_t)limit ? c.pos_end : start + (uint64_t)limit;
	sb_init(&sb);
	json_obj(&q->j);
	json_kint(&q->j, "call", id);
	json_kuint(&q->j, "from", start);
	json_kuint(&q->j, "to", to);
	json_kuint(&q->j, "start", c.pos_start);
	json_kuint(&q->j, "end", c.pos_end);
	rc = json_window_callees(q, r, &c, start, to, &sb, &e);
	if (!rc)
		rc = json_insns(q, r, &c, start, to, lines, &sb, &e);
	json_obj_end(&q->j);
	sb_fini(&sb);
	return rc < 0 ? web_fail_err(q, &e) : 0;
}

int web_api_insns(struct web_req *q)
{
	struct store_reader *r;
	int64_t id, from, limit, lines;
	const struct web_param ps[] = {
		WEB_REQUIRED("call", 0, INT64_MAX, &id),
		WEB_OPTIONAL("from", 0, INT64_MAX, -1, &from),
		WEB_OPTIONAL("limit", 1, INSNS_MAX, 200, &limit),
		WEB_OPTIONAL("lines", 0, 1, 1, &lines),
	};
	int rc;

	if (!(r = web_begin(q, WEB_PARAMS(ps))))
		return -1;
	rc = insns_answer(q, r, id, from, limit, lines != 0);
	web_pool_give(&q->w->pool, r);
	return rc;
}
