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
	struct strbuf line; /* the line being written (view_sym() uses v->sb) */
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
	sb_init(&t->line);
}

static void table_fini(struct table *t)
{
	size_t i;

	for (i = 0; i < t->nthreads; i++)
		free(t->anc[i].data);
	free(t->anc);
	sb_fini(&t->line);
}

/*
 * ancestry_of - the chain from the root to @parent, read from the file:
 * the calls before this one were not all seen (a filter skipped parts of
 * the file). Parents precede their children, so the walk ends.
 */
static void ancestry_of(struct view_ctx *v, struct ancestry *a, int64_t parent)
{
	struct err e = { 0 };
	size_t i;

	while (parent != STORE_NONE) {
		vec_push(a, parent);
		if (reader_call_parent(v->r, parent, &parent, &e)) {
			view_damage(v, &e);
			break;
		}
	}
	for (i = 0; i < a->len / 2; i++) {
		int64_t x = a->data[i];

		a->data[i] = a->data[a->len - 1 - i];
		a->data[a->len - 1 - i] = x;
	}
}

/* The call's level in its thread's tree (1 for a root), keeping the ancestry current. */
static size_t level_of(struct view_ctx *v, struct table *t, const struct reader_call *c)
{
	struct ancestry *a;

	if (c->thread < 0 || (size_t)c->thread >= t->nthreads)
		return 1;
	a = &t->anc[c->thread];
	while (a->len && (c->parent == STORE_NONE || a->data[a->len - 1] != c->parent))
		a->len--;
	if (!a->len && c->parent != STORE_NONE)
		ancestry_of(v, a, c->parent);
	vec_push(a, c->id);
	return a->len;
}

/* Own instructions (its range minus its children's) and number of children. */
static int own_counts(struct view_ctx *v, const struct reader_call *c, uint64_t *insns,
                      uint64_t *kids)
{
	struct err e = { 0 };

	if (!reader_call_counts(v->r, c, kids, insns, &e))
		return 0;
	view_damage(v, &e);
	return -1;
}

/* Whether --min-insns keeps a call: one past the depth limit has no instructions. */
static bool enough_insns(const struct view_ctx *v, const struct reader_call *c, bool counted,
                         uint64_t insns)
{
	if (!v->o.min_insns)
		return true;
	return counted && !c->truncated && insns >= v->o.min_insns;
}

static const char spaces[] = "                                                                "
                             "                                                                ";

/* pad - append @n spaces (at most sizeof(spaces) - 1: indentation stops at 64, columns are
 * narrower) */
static void pad(struct strbuf *sb, size_t n)
{
	sb_addn(sb, spaces, n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1);
}

/* put - append @s to the line, padded with spaces to @width on the left (right-aligned) or right */
static void put(struct strbuf *sb, const char *s, int width, bool right)
{
	size_t n = strlen(s), w = width > 0 ? (size_t)width : 0;

	if (right && n < w)
		pad(sb, w - n);
	sb_addn(sb, s, n);
	if (!right && n < w)
		pad(sb, w - n);
}

/* A number as text (printf costs more than the rest of a line: millions are written). */
static const char *num_text(uint64_t v, char buf[24])
{
	char *p = buf + 23;

	*p = '\0';
	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	return p;
}

static void call_line(struct view_ctx *v, struct table *t, const struct reader_call *c,
                      size_t level)
{
	const char *sym = view_sym(v, c->addr, c->time_start, VIEW_ADDR_CODE);
	struct strbuf *sb = &t->line;
	uint64_t insns = 0, kids = 0;
	char b[24];
	int tid = view_tid(v, c->thread);
	size_t indent = 2 * (level - 1 < VIEW_INDENT_MAX ? level - 1 : VIEW_INDENT_MAX);
	bool counted;

	if (v->o.glob && fnmatch(v->o.glob, sym, 0))
		return;
	counted = !own_counts(v, c, &insns, &kids);
	if (!enough_insns(v, c, counted, insns))
		return;
	t->lines++;
	sb_reset(sb);
	put(sb, num_text((uint64_t)c->id, b), t->id_w, true);
	sb_adds(sb, "  tid=");
	if (tid < 0)
		sb_addc(sb, '-');
	put(sb, num_text(tid < 0 ? (uint64_t) - (int64_t)tid : (uint64_t)tid, b),
	    t->tid_w - (tid < 0), false);
	sb_adds(sb, "  depth=");
	put(sb, num_text(level, b), 3, false);
	sb_adds(sb, "  insns=");
	put(sb, c->truncated ? "-" : counted ? num_text(insns, b) : "?", t->insns_w, false);
	sb_adds(sb, "  calls=");
	put(sb, counted ? num_text(kids, b) : "?", t->calls_w, false);
	pad(sb, 2 + indent);
	sb_adds(sb, sym);
	view_call_extra_text(c, sb);
	sb_addc(sb, '\n');
	fwrite(sb->buf, 1, sb->len, v->out);
}

static bool limit_reached(const struct view_ctx *v, const struct table *t)
{
	return v->o.has_limit && t->lines >= v->o.limit;
}

/*
 * One line for a call, until --limit or until the reader of the output
 * went away. The first line is flushed at once, and the lines a filter
 * keeps every SCAN_FLUSH calls read: a pipe's reader sees them as they
 * are found, not when a buffer fills.
 */
#define SCAN_FLUSH 65536

struct listing {
	struct table *t;
	uint64_t scanned, flushed;
};

static bool call_row(struct view_ctx *v, const struct reader_call *c, void *arg)
{
	struct listing *l = arg;
	struct table *t = l->t;

	call_line(v, t, c, level_of(v, t, c));
	l->scanned++;
	if (t->lines != l->flushed && (!l->flushed || l->scanned % SCAN_FLUSH == 0)) {
		fflush(v->out);
		l->flushed = t->lines;
	}
	return !limit_reached(v, t) && !view_stopped(v);
}

int view_calls(const struct view_args *a, struct err *err)
{
	struct view_ctx v;
	struct table t;
	int rc = view_begin(&v, view_calls, a, err);

	if (rc)
		return rc > 0 ? 0 : -1;
	table_init(&v, &t);
	if (!limit_reached(&v, &t))
		view_each_call(&v, call_row, &(struct listing){ &t, 0, 0 });
	table_fini(&t);
	return view_end(&v, err);
}
