/*
 * The readers of the viewer's requests. A reader serves one request at a
 * time (it is not thread-safe); one given back is kept for the next
 * request, and the least recently used one is closed when too many are
 * idle. Every reader finds the calls it is asked for through the file's
 * call index, so any idle reader serves any request. The reader opened at
 * start is one: the URL is printed before any call is read.
 */
#include <inttypes.h>
#include <string.h>

#include "web/internal.h"

int web_pool_init(struct web_pool *p, const char *path, struct err *err)
{
	struct store_reader *r;

	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	p->path = path;
	/* Opened now so that a file that is not a trace fails the command, not a request. */
	if (!(r = reader_open(path, err))) {
		web_pool_fini(p);
		return -1;
	}
	web_pool_give(p, r);
	return 0;
}

void web_pool_fini(struct web_pool *p)
{
	size_t i;

	for (i = 0; i < p->n_idle; i++)
		reader_close(p->idle[i].r);
	p->n_idle = 0;
	pthread_mutex_destroy(&p->lock);
}

struct store_reader *web_pool_take(struct web_pool *p, struct err *err)
{
	struct store_reader *r = NULL;
	size_t i, newest = 0;

	pthread_mutex_lock(&p->lock);
	if (p->n_idle) {
		for (i = 1; i < p->n_idle; i++)
			if (p->idle[i].used > p->idle[newest].used)
				newest = i;
		r = p->idle[newest].r;
		p->idle[newest] = p->idle[--p->n_idle];
	}
	pthread_mutex_unlock(&p->lock);
	return r ? r : reader_open(p->path, err);
}

void web_pool_give(struct web_pool *p, struct store_reader *r)
{
	struct store_reader *evict = NULL;
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
	p->idle[p->n_idle].r = r;
	p->idle[p->n_idle++].used = ++p->clock;
	pthread_mutex_unlock(&p->lock);
	reader_close(evict);
}

struct store_reader *web_take_reader(struct web_req *q)
{
	struct store_reader *r;
	struct err e = { 0 };

	if (!(r = web_pool_take(&q->w->pool, &e)))
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
