/*
 * Symbols for the viewer: one symbolizer of the dump views (view/symbols.c)
 * shared by every request behind a mutex, so each binary is opened once;
 * its warnings (a binary missing on disk) are kept for the overview. And
 * the functions of the trace for search: every call's entry address
 * named once, counted, kept after the first search. Schema 4 files have
 * them counted in their call summaries; older files are read whole once.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util/hashmap.h"
#include "util/xalloc.h"
#include "web/internal.h"

static void keep_warning(void *ctx, const char *msg)
{
	struct web *w = ctx;

	/* Called under sym_lock, by the symbolizer. */
	sb_adds(&w->warnings, msg);
	sb_addc(&w->warnings, '\n');
}

int web_syms_init(struct web *w, struct err *err)
{
	struct view_args a = { .symbols = w->o.symbols,
		               .lines = true,
		               .sysroot = w->o.sysroot,
		               .warn = keep_warning,
		               .warn_ctx = w };
	struct store_reader *r = web_pool_take(&w->pool, err);
	const char *arch;
	int rc;

	if (!r)
		return -1;
	arch = reader_meta_text(r, "arch");
	if (arch_mode_from_name(arch, &w->mode))
		w->mode = ARCH_MODE_64;
	sb_init(&w->warnings);
	pthread_mutex_init(&w->sym_lock, NULL);
	rc = view_syms_init(&w->syms, r, &a, err);
	web_pool_give(&w->pool, r);
	if (rc) {
		sb_fini(&w->warnings);
		pthread_mutex_destroy(&w->sym_lock);
	}
	return rc;
}

void web_syms_fini(struct web *w)
{
	view_syms_fini(&w->syms);
	sb_fini(&w->warnings);
	pthread_mutex_destroy(&w->sym_lock);
}

void web_sym(struct web *w, uint64_t addr, uint64_t time, enum view_addr_kind kind,
             struct strbuf *sb)
{
	pthread_mutex_lock(&w->sym_lock);
	view_sym_name(&w->syms, addr, time, kind, sb);
	pthread_mutex_unlock(&w->sym_lock);
}

bool web_line(struct web *w, uint64_t addr, uint64_t time, struct strbuf *sb)
{
	bool found;

	pthread_mutex_lock(&w->sym_lock);
	found = view_sym_line(&w->syms, addr, time, VIEW_ADDR_CODE, sb);
	pthread_mutex_unlock(&w->sym_lock);
	return found;
}

/* One call into the index of functions by entry address (value: index + 1). */
static void index_call(struct web *w, struct hashmap *by_addr, const struct reader_call *c,
                       struct strbuf *sb)
{
	uintptr_t at = (uintptr_t)hashmap_get(by_addr, c->addr);
	struct web_func *f;

	if (!at) {
		struct web_func nf = { .addr = c->addr };

		sb_reset(sb);
		web_sym(w, c->addr, c->time_start, VIEW_ADDR_CODE, sb);
		nf.name = xstrdup(sb->buf);
		vec_push(&w->funcs, nf);
		at = w->funcs.len;
		hashmap_put(by_addr, c->addr, (void *)at);
	}
	f = &w->funcs.data[at - 1];
	if (f->calls < sizeof(f->first) / sizeof(f->first[0]))
		f->first[f->calls] = c->id;
	f->first_known = true;
	f->calls++;
	f->insns += c->pos_end - c->pos_start;
}

static void funcs_clear(struct web *w)
{
	size_t i;

	for (i = 0; i < w->funcs.len; i++)
		free(w->funcs.data[i].name);
	w->funcs.len = 0;
}

/* func_name - the name of a function as the views print its first call's */
static int func_name(struct web *w, struct store_reader *r, const struct reader_func *rf,
                     struct strbuf *sb, struct err *err)
{
	struct reader_call c = { .time_start = 0 };

	/* The time matters only where several binaries held the address. */
	if (!view_sym_timeless(&w->syms, rf->addr) && reader_call_get(r, rf->first_call, &c, err))
		return -1;
	sb_reset(sb);
	web_sym(w, rf->addr, c.time_start, VIEW_ADDR_CODE, sb);
	return 0;
}

/* funcs_of_summaries - the functions from a schema 4 file's call summaries: 1, 0 without, -1 */
static int funcs_of_summaries(struct web *w, struct store_reader *r, struct strbuf *sb,
                              struct err *err)
{
	struct reader_func *rf;
	size_t n, i;
	int got = reader_funcs(r, &rf, &n, err), rc = got;

	for (i = 0; rc > 0 && i < n; i++) {
		struct web_func f = { .addr = rf[i].addr,
			              .calls = rf[i].calls,
			              .insns = rf[i].insns };

		if (func_name(w, r, &rf[i], sb, err)) {
			rc = -1;
			break;
		}
		f.name = xstrdup(sb->buf);
		vec_push(&w->funcs, f);
	}
	if (got > 0)
		free(rf);
	if (rc < 0)
		funcs_clear(w);
	return rc;
}

/*
 * funcs_build - build the index of functions once: from the call
 * summaries, or else from every call (then the one request that reads
 * all the calls of the trace). Return: 0, or -1 with err; the caller
 * holds func_lock.
 */
static int funcs_build(struct web *w, struct err *err)
{
	struct store_reader *r = web_pool_take(&w->pool, err);
	struct reader_cursor *c;
	struct reader_call call;
	struct hashmap by_addr;
	struct strbuf sb;
	int rc;

	if (!r)
		return -1;
	sb_init(&sb);
	rc = funcs_of_summaries(w, r, &sb, err);
	if (rc != 0) { /* done from the summaries, or failed */
		sb_fini(&sb);
		web_pool_give(&w->pool, r);
		w->funcs_ready = rc > 0;
		return rc > 0 ? 0 : -1;
	}
	rc = -1;
	hashmap_init(&by_addr);
	if ((c = reader_calls(r, err))) {
		while ((rc = reader_call_next(c, &call, err)) > 0)
			index_call(w, &by_addr, &call, &sb);
		reader_cursor_free(c);
	}
	sb_fini(&sb);
	hashmap_fini(&by_addr);
	/* Its table of every call is big: not kept. */
	reader_close(r); /* it read every call: its caches are not kept */
	if (rc == 0)
		w->funcs_ready = true;
	return rc;
}

/* Case-insensitive substring. */
static bool matches(const char *name, const char *q)
{
	size_t n = strlen(q), i;

	for (; *name; name++) {
		for (i = 0; i < n && name[i]; i++)
			if (tolower((unsigned char)name[i]) != tolower((unsigned char)q[i]))
				break;
		if (i == n)
			return true;
	}
	return n == 0;
}

static int by_insns(const void *a, const void *b)
{
	const struct web_func *x = *(const struct web_func *const *)a;
	const struct web_func *y = *(const struct web_func *const *)b;

	if (x->insns != y->insns)
		return x->insns < y->insns ? 1 : -1;
	return strcmp(x->name, y->name);
}

static bool addr_is(void *arg, uint64_t addr)
{
	return addr == *(const uint64_t *)arg;
}

/*
 * first_calls - the first calls of @f, found through the call summaries:
 * only the index rows that hold its calls are read. Return: 0, or -1 with err.
 */
static int first_calls(struct store_reader *r, struct web_func *f, struct err *err)
{
	struct reader_call_filter only = { .addr_ok = addr_is, .arg = &f->addr };
	size_t want = f->calls < 8 ? (size_t)f->calls : 8, n = 0;
	struct reader_cursor *c = reader_calls(r, err);
	struct reader_call call;
	int rc = -1;

	if (!c)
		return -1;
	reader_calls_filter(c, &only);
	while (n < want && (rc = reader_call_next(c, &call, err)) > 0)
		if (call.addr == f->addr)
			f->first[n++] = call.id;
	reader_cursor_free(c);
	if (rc < 0)
		return -1;
	f->first_known = true;
	return 0;
}

/* hits_first_calls - first_calls() of the @n hits that are shown */
static int hits_first_calls(struct web *w, struct web_func **hits, size_t n, struct err *err)
{
	struct store_reader *r = NULL;
	size_t i;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		if (hits[i]->first_known)
			continue;
		if (!r && !(r = web_pool_take(&w->pool, err)))
			return -1;
		rc = first_calls(r, hits[i], err);
	}
	if (r)
		web_pool_give(&w->pool, r);
	return rc;
}

static void json_func(struct json *j, const struct web_func *f)
{
	size_t i, n = f->calls < 8 ? f->calls : 8;

	json_obj(j);
	json_kstr(j, "name", f->name);
	json_khex(j, "addr", f->addr);
	json_kuint(j, "calls", f->calls);
	json_kuint(j, "insns", f->insns);
	json_key(j, "first");
	json_arr(j);
	for (i = 0; i < n; i++)
		json_int(j, f->first[i]);
	json_arr_end(j);
	json_obj_end(j);
}

int web_api_search(struct web_req *q)
{
	struct web *w = q->w;
	const char *text = web_param_str(q, "q");
	struct web_func **hits = NULL;
	size_t n = 0, i;
	int64_t limit;
	const struct web_param ps[] = { WEB_OPTIONAL("limit", 1, 1000, 100, &limit) };
	struct err e = { 0 };

	if (!text || !*text)
		return web_fail(q, 400, "parameter 'q' is required: a part of a function's name");
	if (strlen(text) > 256)
		return web_fail(q, 400, "parameter 'q' is longer than 256 bytes");
	if (web_params(q, WEB_PARAMS(ps)))
		return -1;
	pthread_mutex_lock(&w->func_lock);
	if (!w->funcs_ready && funcs_build(w, &e)) {
		pthread_mutex_unlock(&w->func_lock);
		return web_fail_err(q, &e);
	}
	hits = xmalloc((w->funcs.len + 1) * sizeof(*hits));
	for (i = 0; i < w->funcs.len; i++)
		if (matches(w->funcs.data[i].name, text))
			hits[n++] = &w->funcs.data[i];
	qsort(hits, n, sizeof(*hits), by_insns);
	if (hits_first_calls(w, hits, n < (size_t)limit ? n : (size_t)limit, &e)) {
		pthread_mutex_unlock(&w->func_lock);
		free(hits);
		return web_fail_err(q, &e);
	}
	json_obj(&q->j);
	json_kuint(&q->j, "matches", n);
	json_key(&q->j, "functions");
	json_arr(&q->j);
	for (i = 0; i < n && i < (size_t)limit; i++)
		json_func(&q->j, hits[i]);
	json_arr_end(&q->j);
	json_obj_end(&q->j);
	pthread_mutex_unlock(&w->func_lock);
	free(hits);
	return 0;
}
