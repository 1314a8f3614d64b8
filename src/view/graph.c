/*
 * graph FUNCTION: the function's callers and callees, each aggregated
 * over all the calls (docs/views.md), like uftrace graph:
 *
 *	c  calls=2  total=28  self=18  wall=3.120 us
 *
 *	callers:
 *	  CALLS  INSNS  FUNCTION
 *	      1     14  a
 *
 *	callees:
 *	  CALLS  INSNS  FUNCTION
 *	      2     10  getpid@plt
 *
 * INSNS are the instructions of the calls counted on that line (FUNCTION's
 * calls from a caller, a callee's calls from FUNCTION), with their
 * callees'. One pass over the calls; memory depends on the number of
 * functions.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/near.h"
#include "view/internal.h"

/* The calls between FUNCTION and one other function. */
struct edge {
	const struct view_func *fn; /* NULL for a root call (callers) */
	uint64_t calls, insns;
};

typedef VEC(struct edge) edge_vec; /* by function index, fn NULL until met */

struct graph {
	const char *name;
	struct view_func *target; /* once its first call is met */
	struct edge root;         /* its calls that are root calls */
	edge_vec callers, callees;
};

static void add_edge(edge_vec *ev, const struct view_func *fn, uint64_t insns)
{
	struct edge *e;

	while (ev->len <= fn->index)
		vec_push(ev, ((struct edge){ 0 }));
	e = &ev->data[fn->index];
	e->fn = fn;
	e->calls++;
	e->insns += insns;
}

static void visit(struct view_ctx *v, const struct view_func_call *fc, void *arg)
{
	struct graph *g = arg;

	(void)v;
	if (!g->target && !strcmp(fc->fn->name, g->name))
		g->target = fc->fn;
	if (fc->fn == g->target) {
		if (fc->caller) {
			add_edge(&g->callers, fc->caller, fc->insns);
		} else {
			g->root.calls++;
			g->root.insns += fc->insns;
		}
	}
	if (fc->caller && fc->caller == g->target)
		add_edge(&g->callees, fc->fn, fc->insns);
}

static const char *edge_name(const struct edge *e)
{
	return e->fn ? e->fn->name : "(root)";
}

/* Most instructions first, then most calls, then by name; the unused slots last. */
static int cmp_edges(const void *pa, const void *pb)
{
	const struct edge *a = pa, *b = pb;

	if (!a->calls || !b->calls)
		return !a->calls - !b->calls;
	if (a->insns != b->insns)
		return a->insns > b->insns ? -1 : 1;
	if (a->calls != b->calls)
		return a->calls > b->calls ? -1 : 1;
	return strcmp(edge_name(a), edge_name(b));
}

static void print_edges(struct view_ctx *v, const char *title, edge_vec *ev,
                        const struct edge *root)
{
	int cw = 5, iw = 5;
	size_t i;

	if (root->calls)
		vec_push(ev, *root);
	if (ev->len)
		qsort(ev->data, ev->len, sizeof(*ev->data), cmp_edges);
	for (i = 0; i < ev->len; i++) {
		cw = view_num_width(ev->data[i].calls, cw);
		iw = view_num_width(ev->data[i].insns, iw);
	}
	fprintf(v->out, "\n%s:\n  %*s  %*s  FUNCTION\n", title, cw, "CALLS", iw, "INSNS");
	for (i = 0; i < ev->len && ev->data[i].calls; i++)
		fprintf(v->out, "  %*" PRIu64 "  %*" PRIu64 "  %s\n", cw, ev->data[i].calls, iw,
		        ev->data[i].insns, edge_name(&ev->data[i]));
}

/* No call to the function: say so, with the name most likely meant. */
static void not_found(struct view_ctx *v, const struct view_funcs *f, const char *name)
{
	const char **names = xcalloc(f->all.len ? f->all.len : 1, sizeof(*names));
	const char *guess;
	struct err e = { 0 };
	size_t i;

	for (i = 0; i < f->all.len; i++)
		names[i] = f->all.data[i]->name;
	guess = near_closest(name, names, f->all.len);
	err_set(&e, ERR_NOT_FOUND, "%s has no call to a function '%s'%s%s%s", reader_path(v->r),
	        name, guess ? ", did you mean '" : " (the report view lists them)",
	        guess ? guess : "", guess ? "'?" : "");
	view_damage(v, &e);
	free(names);
}

int view_graph(const struct view_args *a, struct err *err)
{
	struct view_ctx v;
	struct view_funcs f;
	struct graph g = { 0 };
	char wall[16];
	int rc = view_begin(&v, view_graph, a, err);

	if (rc)
		return rc > 0 ? 0 : -1;
	g.name = v.o.function;
	view_funcs_walk(&v, &f, visit, &g);
	if (g.target) {
		view_format_wall(g.target->wall_ns, wall);
		fprintf(v.out,
		        "%s  calls=%" PRIu64 "  total=%" PRIu64 "  self=%" PRIu64 "  wall=%s\n",
		        g.target->name, g.target->calls, g.target->total, g.target->self, wall);
		print_edges(&v, "callers", &g.callers, &g.root);
		print_edges(&v, "callees", &g.callees, &(struct edge){ 0 });
	} else if (v.first.kind == ERR_NONE) {
		not_found(&v, &f, g.name);
	}
	vec_free(&g.callers);
	vec_free(&g.callees);
	view_funcs_fini(&f);
	return view_end(&v, err);
}
