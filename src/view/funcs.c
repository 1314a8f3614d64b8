/*
 * Calls seen as calls of functions, for the views that aggregate them
 * (report, graph): a function is a symbol as the views print it, so two
 * entry addresses with one name are one function. The calls stream by
 * in the order they began, each thread's with the chain of its open
 * calls, so memory grows with the number of distinct functions and the
 * depth of the call trees, never with the number of calls.
 */
#include <fnmatch.h>
#include <string.h>

#include "view/internal.h"

/* Every call of a cursor (NULL: it could not be opened, e says why), freed here, until fn stops. */
static bool each_of(struct view_ctx *v, struct reader_cursor *cur, struct err *e, view_call_fn *fn,
                    void *arg)
{
	struct reader_call c;
	bool more = true;
	int rc;

	if (!cur) {
		view_damage(v, e);
		return true;
	}
	while ((rc = reader_call_next(cur, &c, e)) > 0 && (more = fn(v, &c, arg)))
		;
	if (more && rc < 0)
		view_damage(v, e);
	reader_cursor_free(cur);
	return more;
}

/* --symbol: the entry addresses whose name matches, memoized (value: 1 no, 2 yes). */
struct glob_memo {
	struct view_ctx *v;
	struct hashmap seen;
};

/* Whether a call entering at addr may match --symbol (a name that changes with time may). */
static bool glob_may_match(void *arg, uint64_t addr)
{
	struct glob_memo *m = arg;
	uintptr_t k = (uintptr_t)hashmap_get(&m->seen, addr);

	if (!k) {
		struct view_ctx *v = m->v;

		k = !view_sym_timeless(&v->syms, addr) ||
		                    !fnmatch(v->o.glob, view_sym(v, addr, 0, VIEW_ADDR_CODE), 0)
		            ? 2
		            : 1;
		hashmap_put(&m->seen, addr, (void *)k);
	}
	return k == 2;
}

/* The calls of a cursor that --symbol and --min-insns may keep (the fn still checks each). */
static struct reader_cursor *filtered(struct reader_cursor *cur, const struct reader_call_filter *f)
{
	if (cur && (f->addr_ok || f->min_own))
		reader_calls_filter(cur, f);
	return cur;
}

void view_each_call(struct view_ctx *v, view_call_fn *fn, void *arg)
{
	const struct reader_thread *th;
	struct err e = { 0 };
	bool found = false, more = true;
	struct glob_memo memo = { .v = v };
	struct reader_call_filter f = { .min_own = v->o.min_insns };

	hashmap_init(&memo.seen);
	if (v->o.glob) {
		f.addr_ok = glob_may_match;
		f.arg = &memo;
	}
	if (!v->o.has_thread) {
		each_of(v, filtered(reader_calls(v->r, &e), &f), &e, fn, arg);
		hashmap_fini(&memo.seen);
		return;
	}
	vec_foreach (&v->threads, th) {
		if (th->tid != v->o.tid)
			continue;
		found = true;
		if (more)
			more = each_of(v, filtered(reader_calls_of_thread(v->r, th->id, &e), &f),
			               &e, fn, arg);
	}
	hashmap_fini(&memo.seen);
	if (!found) {
		err_set(&e, ERR_NOT_FOUND, "%s has no thread with Linux thread id %d",
		        reader_path(v->r), v->o.tid);
		view_damage(v, &e);
	}
}

/* FNV-1a: names are interned by their hash, with a chain for collisions. */
static uint64_t name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h ? h : 1;
}

static struct view_func *func_named(struct view_funcs *f, const char *name)
{
	uint64_t h = name_hash(name);
	struct view_func *fn = hashmap_get(&f->by_name, h), *head = fn;

	for (; fn; fn = fn->next)
		if (!strcmp(fn->name, name))
			return fn;
	fn = xcalloc(1, sizeof(*fn));
	fn->name = xstrdup(name);
	fn->index = f->all.len;
	fn->next = head;
	hashmap_put(&f->by_name, h, fn);
	vec_push(&f->all, fn);
	return fn;
}

/*
 * The function of a call. Symbolizing is the costly part, so the answer
 * is kept by entry address and the binary mapped there (an address
 * names another function once another binary is mapped at it).
 */
static struct view_func *func_of(struct view_ctx *v, struct view_funcs *f,
                                 const struct reader_call *c)
{
	const struct view_binary *vb = view_sym_binary_at(&v->syms, c->addr, c->time_start);
	int64_t bin = vb ? vb - v->syms.bins.data : -1;
	uint64_t key = c->addr ^ ((uint64_t)(bin + 1) << 48);
	struct view_func *fn = NULL;
	bool cached = c->addr < (1ULL << 48) && bin < 0xffff;

	if (cached && (fn = hashmap_get(&f->by_addr, key)))
		return fn;
	fn = func_named(f, view_sym(v, c->addr, c->time_start, VIEW_ADDR_CODE));
	if (cached)
		hashmap_put(&f->by_addr, key, fn);
	return fn;
}

struct view_func *view_func_find(const struct view_funcs *f, const char *name)
{
	struct view_func *fn = hashmap_get(&f->by_name, name_hash(name));

	while (fn && strcmp(fn->name, name))
		fn = fn->next;
	return fn;
}

void view_funcs_fini(struct view_funcs *f)
{
	struct view_func **fn;

	vec_foreach (&f->all, fn) {
		free((*fn)->name);
		free(*fn);
	}
	vec_free(&f->all);
	hashmap_fini(&f->by_name);
	hashmap_fini(&f->by_addr);
}

/* One open call of a thread. */
struct frame {
	int64_t call;
	struct view_func *fn;
	uint64_t insns, kid_insns; /* its instructions, those of its callees so far */
};

typedef VEC(struct frame) frame_vec;

struct walk {
	struct view_funcs *funcs;
	frame_vec *stacks; /* by nosco thread id */
	size_t nstacks;
	struct hashmap open; /* function index and thread -> its calls open there */
	view_func_call_fn *visit;
	void *arg;
};

static uint64_t open_key(const struct view_func *fn, int64_t thread)
{
	return (uint64_t)fn->index << 32 | (uint32_t)thread;
}

/* Count a call of fn opening (+1) or closing (-1) in a thread; return the count before. */
static uintptr_t open_count(struct walk *w, const struct view_func *fn, int64_t thread, int delta)
{
	uint64_t key = open_key(fn, thread);
	uintptr_t n = (uintptr_t)hashmap_get(&w->open, key);

	if (n + (uintptr_t)delta)
		hashmap_put(&w->open, key, (void *)(n + (uintptr_t)delta));
	else
		hashmap_del(&w->open, key);
	return n;
}

/* The innermost open call of a thread ended: its own instructions are its function's. */
static void pop(struct walk *w, frame_vec *s, int64_t thread)
{
	struct frame *f = &vec_last(s);

	/* its callees' lie inside its range, unless the file is damaged: never below 0 */
	f->fn->self += f->insns > f->kid_insns ? f->insns - f->kid_insns : 0;
	open_count(w, f->fn, thread, -1);
	s->len--;
}

/* The thread's stack with the call's parent on top (the calls that ended are popped). */
static frame_vec *stack_for(struct walk *w, const struct reader_call *c)
{
	frame_vec *s;

	if (c->thread < 0 || (uint64_t)c->thread >= w->nstacks)
		return NULL;
	s = &w->stacks[c->thread];
	while (s->len && (c->parent == STORE_NONE || vec_last(s).call != c->parent))
		pop(w, s, c->thread);
	return s;
}

static bool walk_call(struct view_ctx *v, const struct reader_call *c, void *arg)
{
	struct walk *w = arg;
	struct view_func_call fc = { .c = c };
	frame_vec *s;

	s = stack_for(w, c);
	fc.fn = func_of(v, w->funcs, c);
	fc.caller = s && s->len ? vec_last(s).fn : NULL;
	/*
	 * A call past the depth limit records no instruction of its own, but
	 * a scope entered inside it does, in its range: its caller's own
	 * instructions are not those (and the call's own are none).
	 */
	fc.insns = c->pos_end - c->pos_start;
	fc.outermost = !s || !open_count(w, fc.fn, c->thread, +1);
	fc.fn->calls++;
	if (fc.outermost) {
		fc.fn->total += fc.insns;
		if (!c->open && c->time_end >= c->time_start)
			fc.fn->wall_ns += c->time_end - c->time_start;
	}
	if (!s) {
		fc.fn->self += fc.insns; /* a thread the trace does not list: no callees known */
	} else {
		if (s->len)
			vec_last(s).kid_insns += fc.insns;
		vec_push(s, ((struct frame){ c->id, fc.fn, fc.insns, 0 }));
	}
	if (w->visit)
		w->visit(v, &fc, w->arg);
	return true;
}

void view_funcs_walk(struct view_ctx *v, struct view_funcs *f, view_func_call_fn *visit, void *arg)
{
	struct walk w = { .funcs = f, .visit = visit, .arg = arg };
	size_t i;

	memset(f, 0, sizeof(*f));
	hashmap_init(&f->by_name);
	hashmap_init(&f->by_addr);
	hashmap_init(&w.open);
	w.nstacks = v->threads.len;
	w.stacks = xcalloc(w.nstacks ? w.nstacks : 1, sizeof(*w.stacks));
	view_each_call(v, walk_call, &w);
	for (i = 0; i < w.nstacks; i++) {
		while (w.stacks[i].len) /* the calls still open end with the trace */
			pop(&w, &w.stacks[i], (int64_t)i);
		vec_free(&w.stacks[i]);
	}
	free(w.stacks);
	hashmap_fini(&w.open);
}
