/*
 * The readers of the viewer's requests. A reader serves one request at a
 * time, and its calls are those of the plan it was opened with
 * (reader_plan_calls()): a request for one call's callees plans that
 * call's subtree, which costs one pass over the trace's call chunks
 * instead of loading every call of a big trace. A reader given back is
 * kept for the next request with the same plan (a page asks for the same
 * call's callees, then its instructions, then more of them); the least
 * recently used one is closed when too many are idle.
 *
 * Requests that need the same plan at once share one reader, one after
 * the other, rather than each pass over the chunks.
 *
 * A reader that reads no calls (threads, binaries, metadata) is taken
 * without a plan (NULL): it costs no pass over the call chunks, and a
 * request with a plan may plan it later. The reader opened at start is
 * one: the URL is printed before any call is read.
 */
#include <inttypes.h>
#include <string.h>

#include "web/internal.h"

int web_pool_init(struct web_pool *p, const char *path, struct err *err)
{
	struct store_reader *r;

	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->given, NULL);
	p->path = path;
	/* Opened now so that a file that is not a trace fails the command, not a request. */
	if (!(r = reader_open(path, err))) {
		web_pool_fini(p);
		return -1;
	}
	web_pool_give(p, r, NULL);
	return 0;
}

void web_pool_fini(struct web_pool *p)
{
	size_t i;

	for (i = 0; i < p->n_idle; i++)
		reader_close(p->idle[i].r);
	p->n_idle = 0;
	pthread_cond_destroy(&p->given);
	pthread_mutex_destroy(&p->lock);
}

static bool same_plan(const struct reader_calls_plan *a, const struct reader_calls_plan *b)
{
	if (!a || !b)
		return !a && !b;
	if (a->need != b->need)
		return false;
	if (a->need != READER_CALLS_ONE && a->need != READER_CALLS_TREE)
		return true;
	return a->call == b->call && a->levels == b->levels && a->has_range == b->has_range &&
	       (!a->has_range || (a->from == b->from && a->to == b->to)) &&
	       a->min_insns == b->min_insns;
}

/* The idle reader to take for @plan: one with the same plan, else an unplanned one, else -1. */
static long pick_idle(const struct web_pool *p, const struct reader_calls_plan *plan, bool exact)
{
	long unplanned = -1;
	size_t i;

	for (i = 0; i < p->n_idle; i++) {
		const struct web_pool_ent *e = &p->idle[i];

		if (same_plan(e->planned ? &e->plan : NULL, plan))
			return (long)i;
		if (!e->planned)
			unplanned = (long)i;
	}
	return exact ? -1 : unplanned;
}

static bool is_busy(const struct web_pool *p, const struct reader_calls_plan *plan)
{
	size_t i;

	for (i = 0; plan && i < p->n_busy; i++)
		if (same_plan(&p->busy[i], plan))
			return true;
	return false;
}

/* A reader with @plan is no longer in use: requests waiting for one look again. */
static void not_busy(struct web_pool *p, const struct reader_calls_plan *plan)
{
	size_t i;

	for (i = 0; plan && i < p->n_busy; i++) {
		if (same_plan(&p->busy[i], plan)) {
			p->busy[i] = p->busy[--p->n_busy];
			break;
		}
	}
	pthread_cond_broadcast(&p->given);
}

struct store_reader *web_pool_take(struct web_pool *p, const struct reader_calls_plan *plan,
                                   struct err *err)
{
	struct store_reader *r = NULL;
	bool planned = false;
	long i;

	pthread_mutex_lock(&p->lock);
	/*
	 * A reader with this plan in use by another request will be given back
	 * soon, and planning another one would pass over the chunks again (a
	 * call's page asks for the call, its callees and its instructions at once).
	 */
	while ((i = pick_idle(p, plan, true)) < 0 && is_busy(p, plan))
		pthread_cond_wait(&p->given, &p->lock);
	if (i < 0)
		i = pick_idle(p, plan, false);
	if (i >= 0) {
		r = p->idle[i].r;
		planned = p->idle[i].planned;
		p->idle[i] = p->idle[--p->n_idle];
	}
	if (plan && p->n_busy < WEB_POOL_BUSY)
		p->busy[p->n_busy++] = *plan;
	pthread_mutex_unlock(&p->lock);
	if (!r && !(r = reader_open(p->path, err))) {
		pthread_mutex_lock(&p->lock);
		not_busy(p, plan);
		pthread_mutex_unlock(&p->lock);
		return NULL;
	}
	if (plan && !planned)
		reader_plan_calls(r, plan);
	return r;
}

void web_pool_give(struct web_pool *p, struct store_reader *r, const struct reader_calls_plan *plan)
{
	struct store_reader *evict = NULL;
	struct web_pool_ent *e;
	size_t i, oldest = 0;

	if (!r)
		return;
	pthread_mutex_lock(&p->lock);
	if (p->n_idle == WEB_POOL_IDLE) {
		for (i = 1; i < p->n_idle; i++)
			if (p->idle[i].used < p->idle[oldest].used)
				oldest = i;
		evict = p->idle[oldest].r;
		p->idle[oldest] = p->idle[--p->n_idle];
	}
	e = &p->idle[p->n_idle++];
	e->r = r;
	e->planned = plan != NULL;
	if (plan)
		e->plan = *plan;
	e->used = ++p->clock;
	not_busy(p, plan);
	pthread_mutex_unlock(&p->lock);
	reader_close(evict);
}

void web_pool_drop(struct web_pool *p, struct store_reader *r, const struct reader_calls_plan *plan)
{
	reader_close(r);
	pthread_mutex_lock(&p->lock);
	not_busy(p, plan);
	pthread_mutex_unlock(&p->lock);
}

struct store_reader *web_take_tree(struct web_req *q, int64_t call, uint32_t levels,
                                   struct reader_calls_plan *plan)
{
	struct store_reader *r;
	struct err e = { 0 };

	memset(plan, 0, sizeof(*plan));
	plan->need = READER_CALLS_TREE;
	plan->call = call;
	plan->levels = levels;
	if (!(r = web_pool_take(&q->w->pool, plan, &e)))
		web_fail_err(q, &e);
	return r;
}

int web_get_call(struct web_req *q, struct store_reader *r, int64_t id, struct reader_call *out)
{
	struct reader_counts n;
	struct err e = { 0 };

	if (!reader_call_get(r, id, out, &e))
		return 0;
	if (e.kind != ERR_NOT_FOUND)
		return web_fail_err(q, &e);
	if (reader_counts(r, &n, NULL) || n.calls <= 0)
		return web_fail(q, 404, "the trace has no call %" PRId64, id);
	return web_fail(q, 404,
	                "the trace has no call %" PRId64 " (its calls are 0 to %" PRId64 ")", id,
	                n.calls - 1);
}
