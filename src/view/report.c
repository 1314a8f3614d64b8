/*
 * report: one line per function, like uftrace report (docs/views.md):
 *
 *	CALLS  TOTAL  SELF        WALL  FUNCTION
 *	    1    142     8   35.210 us  main
 *
 * The calls stream by once (view_funcs_walk); only the functions are
 * kept, then sorted and printed with columns as wide as their largest
 * number.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "view/internal.h"

static uint64_t sort_key(const struct view_func *fn, enum view_sort sort)
{
	switch (sort) {
	case VIEW_SORT_SELF:
		return fn->self;
	case VIEW_SORT_CALLS:
		return fn->calls;
	case VIEW_SORT_WALL:
		return fn->wall_ns;
	case VIEW_SORT_TOTAL:
		break;
	}
	return fn->total;
}

/* A function and what it is sorted by. */
struct row {
	uint64_t key;
	const struct view_func *fn;
};

/* Largest first; equal ones by name, so that the order does not depend on the trace's. */
static int cmp_rows(const void *pa, const void *pb)
{
	const struct row *a = pa, *b = pb;

	if (a->key != b->key)
		return a->key > b->key ? -1 : 1;
	return strcmp(a->fn->name, b->fn->name);
}

/* Wall times in the largest unit under 1000 (ns, us, ms, s): "35.210 us". */
void view_format_wall(uint64_t ns, char buf[static 16])
{
	static const char *const units[] = { "ns", "us", "ms", "s" };
	double t = (double)ns;
	size_t u = 0;

	if (ns < 1000) {
		snprintf(buf, 16, "%" PRIu64 " ns", ns);
		return;
	}
	while (t >= 1000 && u < 3) {
		t /= 1000;
		u++;
	}
	snprintf(buf, 16, "%.3f %s", t, units[u]);
}

/* As wide as the largest number, or its header. */
int view_num_width(uint64_t v, int min)
{
	int n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n > min ? n : min;
}

static void print_report(struct view_ctx *v, const struct row *rows, size_t n)
{
	int cw = 5, tw = 5, sw = 4;
	char wall[16];
	size_t i;

	for (i = 0; i < n; i++) {
		cw = view_num_width(rows[i].fn->calls, cw);
		tw = view_num_width(rows[i].fn->total, tw);
		sw = view_num_width(rows[i].fn->self, sw);
	}
	fprintf(v->out, "%*s  %*s  %*s  %10s  FUNCTION\n", cw, "CALLS", tw, "TOTAL", sw, "SELF",
	        "WALL");
	for (i = 0; i < n; i++) {
		view_format_wall(rows[i].fn->wall_ns, wall);
		fprintf(v->out, "%*" PRIu64 "  %*" PRIu64 "  %*" PRIu64 "  %10s  %s\n", cw,
		        rows[i].fn->calls, tw, rows[i].fn->total, sw, rows[i].fn->self, wall,
		        rows[i].fn->name);
	}
}

int view_report(const struct view_args *a, struct err *err)
{
	struct view_ctx v;
	struct view_funcs f;
	struct row *rows;
	size_t i;
	int rc = view_begin(&v, view_report, a, err);

	if (rc)
		return rc > 0 ? 0 : -1;
	view_funcs_walk(&v, &f, NULL, NULL);
	rows = xcalloc(f.all.len ? f.all.len : 1, sizeof(*rows));
	for (i = 0; i < f.all.len; i++)
		rows[i] = (struct row){ sort_key(f.all.data[i], v.o.sort), f.all.data[i] };
	qsort(rows, f.all.len, sizeof(*rows), cmp_rows);
	if (v.first.kind != ERR_NOT_FOUND) /* no such --thread: no table at all */
		print_report(&v, rows, f.all.len);
	free(rows);
	view_funcs_fini(&f);
	return view_end(&v, err);
}
