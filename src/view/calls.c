/*
 * calls: one line per call, so that users find call ids without walking
 * the tree from thread-info (docs/views.md):
 *
 *	 3  tid=4242  depth=2    insns=12   calls=1    a
 *
 * Columns have fixed widths computed from the trace's counts before the
 * first line, so the table is aligned and still streams. The symbol is
 * last, indented by the call's level in the tree.
 */
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "view/internal.h"

/* The ancestors of a thread's current call (ids), to know each call's level. */
struct ancestry {
	int64_t *data;
	size_t len, cap;
};

struct table {
	int id_w, tid_w, insns_w, calls_w;
	uint64_t lines;       /* written so far, for --limit */
	struct ancestry *anc; /* by thread id */
	size_t nthreads;
};

static int digits(uint64_t v)
{
	int n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

static void table_init(struct view_ctx *v, struct table *t)
{
	const struct reader_thread *th;
	struct reader_counts n;
	struct err e = { 0 };
	uint64_t max_insns = 0;
	int tid_w = 1;

	memset(t, 0, sizeof(*t));
	if (reader_counts(v->r, &n, &e) && n.calls < 0)
		view_damage(v, &e);
	if (n.calls < 1)
		n.calls = 1;
	vec_foreach (&v->threads, th) {
		if (th->insn_count > max_insns)
			max_insns = th->insn_count;
		if (digits((uint64_t)th->tid) > tid_w)
			tid_w = digits((uint64_t)th->tid);
	}
	t->id_w = digits((uint64_t)n.calls - 1);
	t->tid_w = tid_w;
	t->insns_w = digits(max_insns);
	t->calls_w = digits((uint64_t)n.calls);
	t->nthreads = v->threads.len;
	t->anc = xcalloc(t->nthreads ? t->nthreads : 1, sizeof(*t->anc));
}

static void table_fini(struct table *t)
{
	size_t i;

	for (i = 0; i < t->nthreads; i++)
		free(t->anc[i].data);
	free(t->anc);
}

/* The call's level in its thread's tree (1 for a root), keeping the ancestry current. */
static size_t level_of(struct table *t, const struct reader_call *c)
{
	struct ancestry *a;

	if (c->thread < 0 || (size_t)c->thread >= t->nthreads)
		return 1;
	a = &t->anc[c->thread];
	while (a->len && (c->parent == STORE_NONE || a->data[a->len - 1] != c->parent))
		a->len--;
	vec_push(a, c->id);
	return a->len;
}

/* Own instructions (its range minus its children's) and number of children. */
static int own_counts(struct view_ctx *v, const struct reader_call *c, uint64_t *insns,
                      uint64_t *kids)
{
	struct reader_cursor *cur;
	struct reader_call k;
	struct err e = { 0 };
	uint64_t inner = 0;
	int rc;

	*kids = 0;
	if (!(cur = reader_calls_children(v->r, c->id, &e))) {
		view_damage(v, &e);
		return -1;
	}
	while ((rc = reader_call_next(cur, &k, &e)) > 0) {
		(*kids)++;
		inner += k.pos_end - k.pos_start;
	}
	reader_cursor_free(cur);
	if (rc < 0) {
		view_damage(v, &e);
		return -1;
	}
	*insns = c->pos_end - c->pos_start > inner ? c->pos_end - c->pos_start - inner : 0;
	return 0;
}

/* Whether --min-insns keeps a call: one past the depth limit has no instructions. */
static bool enough_insns(const struct view_ctx *v, const struct reader_call *c, bool counted,
                         uint64_t insns)
{
	if (!v->o.min_insns)
		return true;
	return counted && !c->truncated && insns >= v->o.min_insns;
}

static void call_line(struct view_ctx *v, struct table *t, const struct reader_call *c,
                      size_t level)
{
	const char *sym = view_sym(v, c->addr, c->time_start, VIEW_ADDR_CODE);
	uint64_t insns = 0, kids = 0;
	char num[24] = "?", nkids[24] = "?";
	bool counted;

	if (v->o.glob && fnmatch(v->o.glob, sym, 0))
		return;
	counted = !own_counts(v, c, &insns, &kids);
	if (!enough_insns(v, c, counted, insns))
		return;
	if (counted) {
		snprintf(num, sizeof(num), "%" PRIu64, insns);
		snprintf(nkids, sizeof(nkids), "%" PRIu64, kids);
	}
	if (c->truncated)
		snprintf(num, sizeof(num), "-");
	t->lines++;
	fprintf(v->out, "%*" PRId64 "  tid=%-*d  depth=%-3zu  insns=%-*s  calls=%-*s  %*s%s",
	        t->id_w, c->id, t->tid_w, view_tid(v, c->thread), level, t->insns_w, num,
	        t->calls_w, nkids,
	        (int)(2 * (level - 1 < VIEW_INDENT_MAX ? level - 1 : VIEW_INDENT_MAX)), "", sym);
	sb_reset(&v->sb);
	view_call_extra_text(c, &v->sb);
	fprintf(v->out, "%s\n", v->sb.buf);
}

static bool limit_reached(const struct view_ctx *v, const struct table *t)
{
	return v->o.has_limit && t->lines >= v->o.limit;
}

/* One line for a call; stop reading at --limit. */
static bool call_row(struct view_ctx *v, const struct reader_call *c, void *arg)
{
	struct table *t = arg;

	call_line(v, t, c, level_of(t, c));
	return !limit_reached(v, t);
}

int view_calls(const struct view_args *a, struct err *err)
{
	struct view_ctx v;
	struct table t;
	int rc = view_begin(&v, &view_spec_calls, a, err);

	if (rc)
		return rc > 0 ? 0 : -1;
	table_init(&v, &t);
	if (!limit_reached(&v, &t))
		view_each_call(&v, call_row, &t);
	table_fini(&t);
	return view_end(&v, err);
}
