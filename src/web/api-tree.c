/*
 * The API's pictures of many calls: the flame graph of a call's subtree
 * (its calls merged by stack of names) and the timeline of a thread (its
 * calls on the instruction clock, for a window and a width in pixels:
 * calls narrower than a pixel are merged into one aggregate per run, so
 * an answer stays small however many calls the window holds).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/hashmap.h"
#include "util/xalloc.h"
#include "web/internal.h"

#define FLAME_LEVELS_MAX 24
#define VISIT_MAX        1000000 /* calls looked at by one answer */
#define SLICES_MAX       50000   /* calls and aggregates in one timeline answer */
#define TIMELINE_ROOTS   8       /* roots of a window whose callees are shown */

/* A frame of the flame graph: the calls with the same stack of names. */
struct fnode {
	char *name;
	uint64_t total, calls;
	VEC(struct fnode *) kids;
};

struct flame {
	struct web_req *q;
	struct store_reader *r;
	uint32_t levels;
	uint64_t visited;
	uint64_t min_total; /* frames below this are summed into their parent's self */
	struct strbuf sb;
	struct err e;
};

static struct fnode *fnode_kid(struct fnode *n, const char *name)
{
	struct fnode **k, *nk;

	vec_foreach (&n->kids, k)
		if (!strcmp((*k)->name, name))
			return *k;
	nk = xcalloc(1, sizeof(*nk));
	nk->name = xstrdup(name);
	vec_push(&n->kids, nk);
	return nk;
}

static void fnode_free(struct fnode *n)
{
	struct fnode **k;

	vec_foreach (&n->kids, k)
		fnode_free(*k);
	vec_free(&n->kids);
	free(n->name);
	free(n);
}

static int flame_walk(struct flame *f, int64_t call, struct fnode *n, uint32_t level)
{
	struct reader_cursor *c = reader_calls_children(f->r, call, &f->e);
	struct reader_call k;
	int rc;

	if (!c)
		return -1;
	while ((rc = reader_call_next(c, &k, &f->e)) > 0 && f->visited < VISIT_MAX) {
		struct fnode *kn;

		f->visited++;
		sb_reset(&f->sb);
		web_sym(f->q->w, k.addr, k.time_start, VIEW_ADDR_CODE, &f->sb);
		kn = fnode_kid(n, f->sb.buf);
		kn->total += k.pos_end - k.pos_start;
		kn->calls++;
		if (level + 1 < f->levels && flame_walk(f, k.id, kn, level + 1) < 0) {
			rc = -1;
			break;
		}
	}
	reader_cursor_free(c);
	return rc < 0 ? -1 : 0;
}

static int by_total(const void *a, const void *b)
{
	const struct fnode *x = *(const struct fnode *const *)a;
	const struct fnode *y = *(const struct fnode *const *)b;

	return x->total < y->total ? 1 : x->total > y->total ? -1 : strcmp(x->name, y->name);
}

/* {"name","total","calls","kids":[...]}: frames too small to see are left out. */
static void flame_json(struct flame *f, struct fnode *n)
{
	struct json *j = &f->q->j;
	size_t i;

	json_obj(j);
	json_kstr(j, "name", n->name);
	json_kuint(j, "total", n->total);
	json_kuint(j, "calls", n->calls);
	json_key(j, "kids");
	json_arr(j);
	if (n->kids.len > 1)
		qsort(n->kids.data, n->kids.len, sizeof(*n->kids.data), by_total);
	for (i = 0; i < n->kids.len && n->kids.data[i]->total >= f->min_total; i++)
		flame_json(f, n->kids.data[i]);
	json_arr_end(j);
	json_obj_end(j);
}

int web_api_flame(struct web_req *q)
{
	struct flame f = { .q = q };
	struct reader_call c;
	struct fnode *root;
	int64_t id, levels;
	const struct web_param ps[] = {
		WEB_REQUIRED("id", 0, INT64_MAX, &id),
		WEB_OPTIONAL("depth", 1, FLAME_LEVELS_MAX, 8, &levels),
	};
	int rc = -1;

	if (!(f.r = web_begin(q, WEB_PARAMS(ps))))
		return -1;
	f.levels = (uint32_t)levels;
	sb_init(&f.sb);
	if (!web_get_call(q, f.r, id, &c)) {
		root = xcalloc(1, sizeof(*root));
		web_sym(q->w, c.addr, c.time_start, VIEW_ADDR_CODE, &f.sb);
		root->name = xstrdup(f.sb.buf);
		root->total = c.pos_end - c.pos_start;
		root->calls = 1;
		/* A frame of less than a thousandth of the whole is thinner than a pixel. */
		f.min_total = root->total / 2000 ? root->total / 2000 : 1;
		rc = flame_walk(&f, id, root, 0);
		if (rc < 0) {
			web_fail_err(q, &f.e);
		} else {
			json_obj(&q->j);
			json_kint(&q->j, "call", id);
			json_kuint(&q->j, "depth", f.levels);
			json_kbool(&q->j, "truncated", f.visited >= VISIT_MAX);
			json_key(&q->j, "root");
			flame_json(&f, root);
			json_obj_end(&q->j);
		}
		fnode_free(root);
	}
	sb_fini(&f.sb);
	web_pool_give(&q->w->pool, f.r);
	return rc;
}

/* A run of calls too narrow to see, at one depth. */
struct agg {
	uint64_t s, e, n;
};

struct timeline {
	struct web_req *q;
	struct store_reader *r;
	uint64_t from, to;
	double min_w; /* positions per pixel */
	uint32_t levels;
	uint64_t visited, slices;
	struct agg aggs[FLAME_LEVELS_MAX + 1];
	struct hashmap names; /* address -> index + 1 in "names" */
	struct json names_j;
	size_t n_names;
	struct strbuf sb;
	struct err e;
};

static size_t name_index(struct timeline *t, const struct reader_call *c)
{
	uintptr_t at = (uintptr_t)hashmap_get(&t->names, c->addr);

	if (at)
		return at - 1;
	sb_reset(&t->sb);
	web_sym(t->q->w, c->addr, c->time_start, VIEW_ADDR_CODE, &t->sb);
	json_str(&t->names_j, t->sb.buf);
	hashmap_put(&t->names, c->addr, (void *)(uintptr_t)++t->n_names);
	return t->n_names - 1;
}

static void agg_flush(struct timeline *t, uint32_t d)
{
	struct agg *a = &t->aggs[d];

	if (!a->n)
		return;
	json_arr(&t->q->j);
	json_uint(&t->q->j, d);
	json_uint(&t->q->j, a->s);
	json_uint(&t->q->j, a->e);
	json_int(&t->q->j, -1);
	json_uint(&t->q->j, a->n);
	json_arr_end(&t->q->j);
	t->slices++;
	a->n = 0;
}

/* A call too narrow to draw: into the run of its depth, or the start of a new one. */
static void agg_add(struct timeline *t, uint32_t d, const struct reader_call *c)
{
	struct agg *a = &t->aggs[d];

	if (a->n && (double)c->pos_start > (double)a->e + t->min_w)
		agg_flush(t, d);
	if (!a->n)
		a->s = c->pos_start;
	a->e = c->pos_end;
	a->n++;
}

/* [depth, start, end, id, name index] */
static void slice(struct timeline *t, uint32_t d, const struct reader_call *c)
{
	agg_flush(t, d);
	json_arr(&t->q->j);
	json_uint(&t->q->j, d);
	json_uint(&t->q->j, c->pos_start);
	json_uint(&t->q->j, c->pos_end);
	json_int(&t->q->j, c->id);
	json_uint(&t->q->j, name_index(t, c));
	json_arr_end(&t->q->j);
	t->slices++;
}

static bool visible(const struct timeline *t, const struct reader_call *c)
{
	return c->pos_end > t->from && c->pos_start < t->to;
}

static bool wide(const struct timeline *t, const struct reader_call *c)
{
	return (double)(c->pos_end - c->pos_start) >= t->min_w;
}

static bool full(const struct timeline *t)
{
	return t->visited >= VISIT_MAX || t->slices >= SLICES_MAX;
}

static int timeline_walk(struct timeline *t, int64_t call, uint32_t d)
{
	struct reader_cursor *c = reader_calls_children(t->r, call, &t->e);
	struct reader_call k;
	int rc = 0;

	if (!c)
		return -1;
	while (!full(t) && (rc = reader_call_next(c, &k, &t->e)) > 0) {
		t->visited++;
		if (k.pos_start >= t->to)
			break;
		if (!visible(t, &k))
			continue;
		if (!wide(t, &k)) {
			agg_add(t, d, &k);
			continue;
		}
		slice(t, d, &k);
		if (d < t->levels && timeline_walk(t, k.id, d + 1) < 0) {
			rc = -1;
			break;
		}
	}
	reader_cursor_free(c);
	return rc < 0 ? -1 : 0;
}

/* The callees of one wide root in the window. */
static int root_subtree(struct timeline *t, const struct reader_call *root)
{
	struct store_reader *r;
	int rc;

	if (!(r = web_pool_take(&t->q->w->pool, &t->e)))
		return -1;
	t->r = r;
	rc = timeline_walk(t, root->id, 1);
	web_pool_give(&t->q->w->pool, r);
	return rc;
}

/* The roots of the thread in the window, at depth 0; the ids of the widest ones. */
static int timeline_roots(struct timeline *t, int64_t thread, struct reader_call *wide_roots,
                          size_t *n_wide)
{
	struct store_reader *r = web_pool_take(&t->q->w->pool, &t->e);
	struct reader_cursor *c;
	struct reader_call k;
	int rc = -1;

	*n_wide = 0;
	if (!r)
		return -1;
	if ((c = reader_calls_roots(r, thread, &t->e))) {
		while (!full(t) && (rc = reader_call_next(c, &k, &t->e)) > 0) {
			t->visited++;
			if (!visible(t, &k))
				continue;
			if (!wide(t, &k)) {
				agg_add(t, 0, &k);
				continue;
			}
			slice(t, 0, &k);
			if (*n_wide < TIMELINE_ROOTS)
				wide_roots[(*n_wide)++] = k;
		}
		reader_cursor_free(c);
	}
	web_pool_give(&t->q->w->pool, r);
	return rc < 0 ? -1 : 0;
}

static int timeline_answer(struct timeline *t, int64_t thread)
{
	struct reader_call roots[TIMELINE_ROOTS];
	size_t n = 0, i;
	uint32_t d;

	json_obj(&t->q->j);
	json_kint(&t->q->j, "thread", thread);
	json_kuint(&t->q->j, "from", t->from);
	json_kuint(&t->q->j, "to", t->to);
	json_key(&t->q->j, "slices");
	json_arr(&t->q->j);
	if (timeline_roots(t, thread, roots, &n) < 0)
		return -1;
	for (i = 0; i < n && !full(t); i++)
		if (root_subtree(t, &roots[i]) < 0)
			return -1;
	for (d = 0; d <= t->levels; d++)
		agg_flush(t, d);
	json_arr_end(&t->q->j);
	json_arr_end(&t->names_j);
	json_key(&t->q->j, "names");
	json_raw(&t->q->j, t->names_j.sb.buf);
	json_kbool(&t->q->j, "truncated", full(t));
	json_obj_end(&t->q->j);
	return 0;
}

int web_api_timeline(struct web_req *q)
{
	struct timeline t = { .q = q };
	int64_t thread, from, to, px, levels;
	const struct web_param ps[] = {
		WEB_REQUIRED("thread", 0, INT64_MAX, &thread),
		WEB_OPTIONAL("from", 0, INT64_MAX, 0, &from),
		WEB_REQUIRED("to", 1, INT64_MAX, &to),
		WEB_OPTIONAL("px", 1, 100000, 1000, &px),
		WEB_OPTIONAL("depth", 0, FLAME_LEVELS_MAX, 12, &levels),
	};
	int rc;

	if (web_params(q, WEB_PARAMS(ps)))
		return -1;
	if (to <= from)
		return web_fail(q, 400, "parameter 'to' must be above 'from'");
	t.from = (uint64_t)from;
	t.to = (uint64_t)to;
	t.min_w = (double)(to - from) / (double)px;
	t.levels = (uint32_t)levels;
	hashmap_init(&t.names);
	json_init(&t.names_j);
	json_arr(&t.names_j);
	sb_init(&t.sb);
	rc = timeline_answer(&t, thread);
	if (rc < 0)
		web_fail_err(q, &t.e);
	sb_fini(&t.sb);
	json_fini(&t.names_j);
	hashmap_fini(&t.names);
	return rc;
}
