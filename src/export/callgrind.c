/*
 * callgrind: the profile format of valgrind's callgrind, read by
 * KCachegrind, QCachegrind and callgrind_annotate (docs/export.md):
 *
 *	# callgrind format
 *	version: 1
 *	positions: instr line
 *	events: Ir
 *	ob=(1) /usr/bin/prog
 *	fl=(1) prog.c
 *	fn=(1) main
 *	0x401126 5 1          <- an instruction, its source line, times it ran
 *	cob=(1)
 *	cfi=(1)
 *	cfn=(2) a
 *	calls=1 0x401106 3    <- calls made to a (its entry and line) ...
 *	0x40112b 6 37         <- ... from this call site, with their inclusive cost
 *
 * A function is a traced call's entry, named as the views name calls, its
 * object the binary it is in and its file the source file of its entry.
 * Every executed instruction costs one Ir to the innermost exported call
 * that ran it, so the costs add up to the instructions exported; the
 * calls' inclusive costs are their instruction ranges. Costs are summed
 * per function and instruction, and calls per function, call site and
 * callee, so memory grows with the code executed, not with the trace.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "export/export.h"
#include "util/hashmap.h"
#include "util/xalloc.h"

struct cost {
	uint64_t addr;
	uint64_t ir;
};

struct call {
	uint64_t site;
	struct fn *callee;
	uint64_t count, inclusive;
};

struct fn {
	uint64_t entry, time; /* its entry, and when it was first called (for symbols) */
	char *name;
	VEC(struct cost) costs;
	struct hashmap cost_index; /* addr -> index + 1 */
	VEC(struct call) calls;
	struct hashmap call_index; /* site -> index + 1 of its latest callee */
};

/* Name compression (callgrind's "(id) name"): one table per kind of name. */
struct names {
	struct hashmap index; /* hash of the name -> id */
	VEC(char *) by_id;    /* id - 1 -> name */
};

/*
 * The last cost slots used, by address: a hot loop finds its instructions
 * here without a hash map lookup each (the per-instruction path is what
 * bounds the export's speed).
 */
#define RECENT_BITS 12

struct recent {
	const struct fn *fn;
	uint64_t addr;
	size_t idx;
};

struct callgrind {
	VEC(struct fn *) fns; /* in the order they were first called */
	struct hashmap fn_index;
	struct names objects, files, functions;
	struct recent recent[1u << RECENT_BITS];
};

static struct fn *fn_of(struct export_ctx *x, struct callgrind *cg, const struct reader_call *c)
{
	struct fn *fn = hashmap_get(&cg->fn_index, c->addr);

	if (fn)
		return fn;
	fn = xcalloc(1, sizeof(*fn));
	fn->entry = c->addr;
	fn->time = c->time_start;
	fn->name = xstrdup(export_name(x, c));
	hashmap_init(&fn->cost_index);
	hashmap_init(&fn->call_index);
	vec_push(&cg->fns, fn);
	hashmap_put(&cg->fn_index, c->addr, fn);
	return fn;
}

static int enter(struct export_walk *w, struct export_frame *f, struct err *err)
{
	(void)err;
	f->data = fn_of(w->x, w->ctx, &f->call);
	return 0;
}

/* The cost slot of an instruction in a function, added on first use. */
static size_t cost_slot(struct fn *fn, uint64_t addr)
{
	void *v = hashmap_get(&fn->cost_index, addr);
	struct cost c = { .addr = addr };

	if (v)
		return (uintptr_t)v - 1;
	vec_push(&fn->costs, c);
	hashmap_put(&fn->cost_index, addr, (void *)(uintptr_t)fn->costs.len);
	return fn->costs.len - 1;
}

static int insn(struct export_walk *w, struct export_frame *f, const struct reader_insn *in,
                struct err *err)
{
	struct callgrind *cg = w->ctx;
	struct fn *fn = f->data;
	struct recent *r = &cg->recent[(in->addr * 0x9e3779b97f4a7c15u) >> (64 - RECENT_BITS)];

	(void)err;
	if (r->fn != fn || r->addr != in->addr) {
		r->fn = fn;
		r->addr = in->addr;
		r->idx = cost_slot(fn, in->addr);
	}
	fn->costs.data[r->idx].ir++;
	return 0;
}

/* The caller's record of calls from this site to this callee. */
static struct call *call_of(struct fn *caller, uint64_t site, struct fn *callee)
{
	void *v = hashmap_get(&caller->call_index, site);
	struct call c = { .site = site, .callee = callee }, *p;

	if (v && caller->calls.data[(uintptr_t)v - 1].callee == callee)
		return &caller->calls.data[(uintptr_t)v - 1];
	vec_foreach (&caller->calls, p) /* an indirect call site with several callees */
		if (p->site == site && p->callee == callee)
			return p;
	vec_push(&caller->calls, c);
	hashmap_put(&caller->call_index, site, (void *)(uintptr_t)caller->calls.len);
	return &vec_last(&caller->calls);
}

static int leave(struct export_walk *w, struct export_frame *f, struct err *err)
{
	struct call *c;

	(void)err;
	if (w->stack.len < 2)
		return 0;
	c = call_of(w->stack.data[w->stack.len - 2].data, f->call.site, f->data);
	c->count++;
	c->inclusive += f->call.pos_end - f->call.pos_start;
	return 0;
}

static uint64_t hash_name(const char *s)
{
	uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3u;
	return h;
}

/* "key=(id) name" the first time, "key=(id)" after; a hash collision writes the name only. */
static void put_name(FILE *out, const char *key, struct names *t, const char *name)
{
	uint64_t h = hash_name(name);
	uintptr_t id = (uintptr_t)hashmap_get(&t->index, h);

	if (id && !strcmp(t->by_id.data[id - 1], name)) {
		fprintf(out, "%s=(%" PRIuPTR ")\n", key, id);
		return;
	}
	if (id) {
		fprintf(out, "%s=%s\n", key, name);
		return;
	}
	vec_push(&t->by_id, xstrdup(name));
	hashmap_put(&t->index, h, (void *)(uintptr_t)t->by_id.len);
	fprintf(out, "%s=(%zu) %s\n", key, t->by_id.len, name);
}

static void names_fini(struct names *t)
{
	char **p;

	vec_foreach (&t->by_id, p)
		free(*p);
	vec_free(&t->by_id);
	hashmap_fini(&t->index);
}

/* Where an instruction is: its object, and its source file and line ("???", 0 if unknown). */
struct where {
	const char *object, *file;
	int line;
};

static struct where where_of(struct export_ctx *x, uint64_t addr, uint64_t time)
{
	const struct view_binary *b = view_sym_binary_at(&x->syms, addr, time);
	struct where w = { b ? b->path : "???", "???", 0 };
	struct sym_line l;

	if (view_sym_source(&x->syms, addr, time, &l)) {
		w.file = l.file;
		w.line = l.line;
	}
	return w;
}

static int by_addr(const void *a, const void *b)
{
	const struct cost *p = a, *q = b;

	return p->addr < q->addr ? -1 : p->addr > q->addr;
}

static void write_calls(struct export_ctx *x, struct callgrind *cg, const struct fn *fn, FILE *out)
{
	const struct call *c;

	vec_foreach (&fn->calls, c) {
		struct where to = where_of(x, c->callee->entry, c->callee->time);
		struct where from = where_of(x, c->site, fn->time);

		put_name(out, "cob", &cg->objects, to.object);
		put_name(out, "cfi", &cg->files, to.file);
		put_name(out, "cfn", &cg->functions, c->callee->name);
		fprintf(out, "calls=%" PRIu64 " 0x%" PRIx64 " %d\n", c->count, c->callee->entry,
		        to.line);
		fprintf(out, "0x%" PRIx64 " %d %" PRIu64 "\n", c->site, from.line, c->inclusive);
	}
}

static void write_fn(struct export_ctx *x, struct callgrind *cg, struct fn *fn, FILE *out)
{
	struct where w = where_of(x, fn->entry, fn->time);
	const char *file = w.file;
	const struct cost *c;

	putc('\n', out);
	put_name(out, "ob", &cg->objects, w.object);
	put_name(out, "fl", &cg->files, w.file);
	put_name(out, "fn", &cg->functions, fn->name);
	if (fn->costs.len) /* a call past the depth limit ran none */
		qsort(fn->costs.data, fn->costs.len, sizeof(*fn->costs.data), by_addr);
	vec_foreach (&fn->costs, c) {
		struct where at = where_of(x, c->addr, fn->time);

		/* code of another file inside the function: inlined, or a jump into other code */
		if (strcmp(at.file, file)) {
			put_name(out, "fi", &cg->files, at.file);
			file = at.file;
		}
		fprintf(out, "0x%" PRIx64 " %d %" PRIu64 "\n", c->addr, at.line, c->ir);
	}
	if (strcmp(file, w.file))
		put_name(out, "fe", &cg->files, w.file);
	write_calls(x, cg, fn, out);
}

static void write_header(struct export_ctx *x, FILE *out)
{
	const char *version = reader_meta_text(x->r, "nosco_version");
	int64_t pid;
	size_t i;

	fprintf(out, "# callgrind format\nversion: 1\ncreator: nosco %s\n", version ? version : "");
	if (!reader_meta_int(x->r, "pid", &pid))
		fprintf(out, "pid: %" PRId64 "\n", pid);
	fputs("cmd:", out);
	for (i = 0; i < reader_argc(x->r); i++) {
		const char *arg = reader_argv(x->r, i, NULL);

		putc(' ', out);
		for (; *arg; arg++)
			putc(*arg == '\n' ? ' ' : *arg, out);
	}
	fputs("\npart: 1\n\npositions: instr line\nevents: Ir\n", out);
}

static void callgrind_fini(struct callgrind *cg)
{
	struct fn **p;

	vec_foreach (&cg->fns, p) {
		free((*p)->name);
		vec_free(&(*p)->costs);
		vec_free(&(*p)->calls);
		hashmap_fini(&(*p)->cost_index);
		hashmap_fini(&(*p)->call_index);
		free(*p);
	}
	vec_free(&cg->fns);
	hashmap_fini(&cg->fn_index);
	names_fini(&cg->objects);
	names_fini(&cg->files);
	names_fini(&cg->functions);
}

int export_callgrind(struct export_ctx *x, struct err *err)
{
	struct callgrind *cg = xcalloc(1, sizeof(*cg)); /* its recent slots are 128 KB */
	struct export_walk w = { .ctx = cg, .enter = enter, .leave = leave, .insn = insn };
	struct fn **fn;
	int rc;

	hashmap_init(&cg->fn_index);
	hashmap_init(&cg->objects.index);
	hashmap_init(&cg->files.index);
	hashmap_init(&cg->functions.index);
	rc = export_walk(x, &w, err);
	if (!rc) {
		write_header(x, x->a->out);
		vec_foreach (&cg->fns, fn)
			write_fn(x, cg, *fn, x->a->out);
	}
	callgrind_fini(cg);
	free(cg);
	return rc;
}
