/*
 * Frame rules for the stack walk at scope entries. With backtraces on, a
 * scope's entry used to stop the program every time: its backtrace is
 * unwound from the stack as it is then. The core says when a backtrace
 * could have been found by walking the stack with one frame rule per
 * return address (core_scope_hit_frames: a size from the stack pointer,
 * or the frame pointer's chain); the tracer then writes those rules into
 * memory shared with the program, and the unrecorded translation of a
 * scope's entry (arch_dbt_emit_scope_entry) walks the stack with them and
 * enters without a stop when every return address on the way has one,
 * logging the backtrace for the replay to give the core.
 *
 * Each slot is one word (the return address's key and its rule) written
 * in one store, so a thread reading it meanwhile sees it whole or empty.
 * A rule learned again different (no one rule holds there) becomes
 * DBT_FRAME_NONE, which walks never pass. Every system call that changes
 * mappings empties the table: what the binaries are, and so their unwind
 * information, may have changed. The table is kept at most half full.
 *
 * Each thread keeps the rules its walks found (arch/dbt.h's ctx[RULES])
 * and looks there first; each word written into the table, and each
 * emptying of the table and the published rows, counts in a word they see
 * (rules_changed()), and a walk that finds the count moved empties its
 * thread's rules first. A bit per slot (the home bits) says where some
 * key's probe starts: a walk reads the table only there. Each binary's
 * rows have a page index (index_pages()): a search reads one page's.
 *
 * A return address with no word in the table is looked up in the frame
 * rows: the rules of a whole binary at once (core_frame_rows()), written
 * for a binary from the second stop that learns a frame in it, while the
 * program runs (dbt_frames_defer()). They are written once into the rows area
 * and never moved or overwritten, so that a thread searching them while
 * the tracer publishes a new index reads rules that held; a mapping
 * change unpublishes them all, and a binary's are published again where
 * the same binary (the same extent) is at the same place. A binary the
 * core sees unloaded (dbt_frames_unload()) empties the table and loses
 * its rows: the thread that unmapped it may have run natively, its
 * system call unseen.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "trace/core.h"
#include "trace/dbt/dbt.h"
#include "util/log.h"
#include "util/populate.h"

/* the frames at the end of a backtrace to the stack's end that are its start (below) */
#define START_FRAMES 3

static _Atomic uint64_t *table(struct dbt *d)
{
	return (_Atomic uint64_t *)(void *)(d->shm + DBT_FRAMES_OFF);
}

/* key - a return address's key, the first one's apart (it is unwound differently) */
static uint64_t key(uint64_t ret, size_t i)
{
	return ret << 1 | (i == 0);
}

/* find - the slot of k, or the empty one where it would go; *w its word */
static uint32_t find(_Atomic uint64_t *t, uint64_t k, uint64_t *w)
{
	uint32_t i = arch_dbt_frame_slot(k);

	for (;; i = (i + 1) & (DBT_FRAME_SLOTS - 1)) {
		*w = atomic_load_explicit(&t[i], memory_order_relaxed);
		if (!*w || *w >> 16 == k)
			return i;
	}
}

/* rule_value - the table's value for rule r (arch/dbt.h), DBT_FRAME_NONE if it has none */
static uint32_t rule_value(const struct sym_frame_rule *r)
{
	uint64_t words = r->size / ARCH_PTR_SIZE, k;
	uint32_t fp = DBT_FP_LOST;

	if (r->kind == SYM_FRAME_END)
		return DBT_FRAME_END;
	if (r->kind == SYM_FRAME_FP)
		return DBT_FRAME_FP;
	if (r->size % ARCH_PTR_SIZE || !words || words >= DBT_FRAME_WORDS)
		return DBT_FRAME_NONE;
	/* saved elsewhere: not known to the walk, which is only ever more cautious */
	k = (uint64_t)-r->fp_at / ARCH_PTR_SIZE - 1;
	if (r->fp == SYM_FP_SAME)
		fp = DBT_FP_SAME;
	else if (r->fp == SYM_FP_SAVED && r->fp_at < 0 && !(r->fp_at % ARCH_PTR_SIZE) && k >= 1 &&
	         k < DBT_FP_LOST)
		fp = (uint32_t)k;
	return (uint32_t)words | fp << DBT_FP_SHIFT;
}

/* homes - the table's home bits (arch/dbt.h's DBT_FRAME_HOMES_AT) */
static _Atomic uint64_t *homes(struct dbt *d)
{
	return (_Atomic uint64_t *)(void *)(d->shm + DBT_FRAMES_OFF + DBT_FRAME_HOMES_AT);
}

/* rules_changed - counted where threads find it: their own copies of rules are emptied */
static void rules_changed(struct dbt *d)
{
	atomic_fetch_add_explicit(
	        (_Atomic uint64_t *)(void *)(d->shm + DBT_FRAMES_OFF + DBT_RULES_GEN_AT), 1,
	        memory_order_release);
}

/* set - the word for k: value, or DBT_FRAME_NONE if it already has another; whether one was added
 */
static bool set(struct dbt *d, uint64_t k, uint32_t value)
{
	_Atomic uint64_t *t = table(d);
	uint64_t w;
	uint32_t i = find(t, k, &w);

	if (w && (w & 0xffff) == value)
		return false;
	if (!w && d->frames_used >= DBT_FRAME_SLOTS / 2)
		return false;
	if (!w) {
		uint32_t home = arch_dbt_frame_slot(k);

		atomic_fetch_or_explicit(&homes(d)[home / 64], 1ull << home % 64,
		                         memory_order_release);
	}
	d->frames_used += !w;
	atomic_store_explicit(&t[i], k << 16 | (w ? DBT_FRAME_NONE : value), memory_order_release);
	/* a thread may have kept the rows' rule for k, or the one replaced */
	rules_changed(d);
	return !w;
}

static _Atomic uint64_t *rows_index(struct dbt *d)
{
	return (_Atomic uint64_t *)(void *)(d->shm + DBT_ROWS_OFF);
}

/* rows_at - the published rows of the binary around addr, or NULL */
static struct dbt_rows *rows_at(struct dbt *d, uint64_t addr)
{
	struct dbt_rows *r;

	vec_foreach (&d->rows, r) {
		if (addr >= r->lo && addr < r->hi && r->published)
			return r;
	}
	return NULL;
}

/* row_rule - the rule rows r give ret as the i-th return address (as the generated search) */
static uint32_t row_rule(struct dbt *d, const struct dbt_rows *r, uint64_t ret, size_t i)
{
	const uint64_t *rows = (const uint64_t *)(void *)(d->shm + r->off);
	uint64_t below = (ret - (i ? 1 : 0) - r->lo + 1) << 16;
	size_t lo = 0, n = r->n;

	while (n > 1) {
		size_t half = n / 2;

		if (rows[lo + half] < below) {
			lo += half;
			n -= half;
		} else {
			n = half;
		}
	}
	return rows[lo] & 0xffff;
}

/* known - has the table a word for ret as the i-th return address (a rule, an end, or none), or the
 * rows a rule? */
static bool known(void *ctx, uint64_t ret, size_t i)
{
	struct dbt *d = ctx;
	const struct dbt_rows *r;
	uint64_t w;

	find(table(d), key(ret, i), &w);
	if (w)
		return true;
	r = rows_at(d, ret - (i ? 1 : 0));
	return r && row_rule(d, r, ret, i) != DBT_FRAME_NONE;
}

/* The rows area's first free byte: past the table's head (arch/dbt.h's DBT_FRAMES_HEAD). */
static uint64_t rows_free(const struct dbt *d)
{
	return DBT_FRAMES_OFF + DBT_FRAMES_HEAD + d->rows_used;
}

/*
 * add - a row of the binary being built from addr on, in the rows area
 * after those written; a row of no length is replaced, one with the
 * previous rule merged. The pages are made present ahead of the rows, in
 * bulk: a fault each costs more.
 */
static int add(struct dbt *d, uint64_t addr, uint32_t value)
{
	struct dbt_rows_build *b = &d->building;
	uint64_t *rows = (uint64_t *)(void *)(d->shm + rows_free(d)), off = addr - b->cur.lo;
	uint64_t at = rows_free(d) + b->n * 8;

	/* rows out of order would mislead the search: none are then published */
	if (addr < b->cur.lo || (b->n && rows[b->n - 1] >> 16 > off))
		return -1;
	if (b->n && rows[b->n - 1] >> 16 == off)
		b->n--;
	if (b->n && (rows[b->n - 1] & 0xffff) == value)
		return 0;
	if (at + 8 > DBT_ROWS_OFF + DBT_ROWS_SIZE)
		return -1;
	if (at + 8 > b->populated) {
		b->populated = at + DBT_ROWS_POPULATE < DBT_ROWS_OFF + DBT_ROWS_SIZE
		                       ? at + DBT_ROWS_POPULATE
		                       : DBT_ROWS_OFF + DBT_ROWS_SIZE;
		populate_write(d->shm + (at & ~(uint64_t)(DBT_PAGE - 1)),
		               b->populated - (at & ~(uint64_t)(DBT_PAGE - 1)));
	}
	rows[b->n++] = off << 16 | value;
	return 0;
}

static int add_row(void *arg, uint64_t start, uint64_t end, const struct sym_frame_rule *r)
{
	struct dbt *d = arg;

	if (end > d->building.cur.hi) /* CFI beyond the binary's extent: not its code */
		return 0;
	if ((start > d->building.end && add(d, d->building.end, DBT_FRAME_NONE)) ||
	    add(d, start, r ? rule_value(r) : DBT_FRAME_NONE))
		return -1;
	d->building.end = end;
	return 0;
}

/* publish - a new index of every binary's rows published, and r's */
static void publish(struct dbt *d, struct dbt_rows *r)
{
	uint64_t off = rows_free(d), *w = (uint64_t *)(void *)(d->shm + off);
	struct arch_dbt_rows *e = (struct arch_dbt_rows *)(void *)(w + 1);
	struct dbt_rows *p;
	size_t n = 1;

	vec_foreach (&d->rows, p)
		n += p->published;
	if (off + 8 + n * sizeof(*e) > DBT_ROWS_OFF + DBT_ROWS_SIZE)
		return;
	r->published = true;
	w[0] = n;
	vec_foreach (&d->rows, p) {
		if (p->published)
			*e++ = (struct arch_dbt_rows){ p->lo, p->hi, d->data_base + p->off, p->n,
				                       d->data_base + p->pages };
	}
	d->rows_used += 8 + n * sizeof(*e);
	atomic_store_explicit(rows_index(d), d->data_base + off, memory_order_release);
}

static void rows_for(struct dbt *d, size_t i);

/* pages_words - the words of a binary's page index (arch/dbt.h): one a page, and the end */
static uint64_t pages_words(const struct dbt_rows *r)
{
	return ((r->hi - r->lo + DBT_ROWS_PAGE - 1) >> DBT_ROWS_PAGE_BITS) + 1;
}

/* pages_size - the bytes it takes in the rows area */
static uint64_t pages_size(const struct dbt_rows *r)
{
	return (pages_words(r) * 4 + 7) & ~(uint64_t)7;
}

/* pages_start - r's page index to be made at off in the shared memory */
static void pages_start(struct dbt *d, const struct dbt_rows *r, uint64_t off,
                        struct dbt_pages_build *p)
{
	*p = (struct dbt_pages_build){ (uint32_t *)(void *)(d->shm + off), pages_words(r), 0, 0 };
	populate_write(p->index, p->n * 4);
}

/*
 * pages_feed - the next n rows: each page before the first of them past
 * its start gets the last row seen (the first row is at offset 0, so
 * every page has one at or below its start)
 */
static void pages_feed(struct dbt_pages_build *p, const uint64_t *rows, size_t n)
{
	for (size_t j = 0; j < n; j++, p->seen++)
		while (p->next < p->n && p->next << DBT_ROWS_PAGE_BITS < rows[j] >> 16)
			p->index[p->next++] = (uint32_t)(p->seen - 1);
}

/* pages_end - the rows all seen: the pages after the last row's get it */
static void pages_end(struct dbt_pages_build *p)
{
	while (p->next < p->n)
		p->index[p->next++] = (uint32_t)(p->seen - 1);
}

/*
 * index_pages - r's page index, after its rows: made from the copy's
 * buffer as the rows were copied (kept), else from the rows written here
 * (the shared memory's pages the tracer has touched already); false
 * without room for it
 */
static bool index_pages(struct dbt *d, struct dbt_rows *r, bool kept)
{
	struct dbt_pages_build *p = &d->building.pages;

	if (rows_free(d) + pages_size(r) > DBT_ROWS_OFF + DBT_ROWS_SIZE || r->n > UINT32_MAX)
		return false;
	r->pages = rows_free(d);
	if (!kept) {
		pages_start(d, r, r->pages, p);
		pages_feed(p, (const uint64_t *)(void *)(d->shm + r->off), r->n);
	}
	pages_end(p);
	d->rows_used += pages_size(r);
	return true;
}

/* built - the rows of the binary being built are all there (n of them, 0 if they could not be) */
static void built(struct dbt *d, size_t n, bool kept)
{
	struct dbt_rows_build *b = &d->building;
	struct dbt_rows *r = &d->rows.data[b->binary];

	b->on = false;
	dbt_rows_cache_close(&b->kept);
	r->written = true;
	r->off = rows_free(d);
	r->n = n;
	log_debug("dbt: %llu frame rows for [%#llx, %#llx)%s", (unsigned long long)r->n,
	          (unsigned long long)r->lo, (unsigned long long)r->hi,
	          kept ? ", kept from a run before" : "");
	d->rows_used += r->n * 8;
	d->n_rows += r->n;
	if (r->n && !index_pages(d, r, kept))
		r->n = 0;
	if (!r->n)
		return;
	publish(d, r);
	if (d->rows_cache && !kept)
		dbt_rows_cache_save(d->rows_cache, r->key, r->hi - r->lo,
		                    (const uint64_t *)(void *)(d->shm + r->off), r->n);
}

/*
 * copy_more - the next kept rows of the binary being built, copied: a
 * part at a time too, as a stop that comes meanwhile waits for the part
 * (Python's 516 KB took 1.6 ms at once, read straight into the shared
 * memory; 0.45 ms in all now, rows-cache.c)
 */
static void copy_more(struct dbt *d)
{
	struct dbt_rows_build *b = &d->building;
	struct dbt_rows *r = &d->rows.data[b->binary];

	/* the shared memory's file, at the rows area's first free byte */
	size_t n = dbt_rows_cache_copy(&b->kept, d->shm_fd, rows_free(d));

	pages_feed(&b->pages, b->kept.part, n);
	if (b->kept.done < b->kept.n)
		return;
	if (dbt_rows_cache_whole(&b->kept)) {
		built(d, b->kept.n, true);
		return;
	}
	/* not as written: written again, from the start, and kept again */
	log_debug("dbt: the frame rows kept for [%#llx, %#llx) are damaged",
	          (unsigned long long)r->lo, (unsigned long long)r->hi);
	dbt_rows_cache_close(&b->kept);
	r->kept = false;
	rows_for(d, b->binary);
}

/* build_more - the rows of the next FDEs of the binary being built; published once all are */
static void build_more(struct dbt *d)
{
	struct dbt_rows_build *b = &d->building;
	struct dbt_rows *r = &d->rows.data[b->binary];
	int rc;

	if (b->kept.open) {
		copy_more(d);
		return;
	}
	rc = core_frame_rows(d->t->core, r->lo, &b->cur, DBT_ROWS_FDES, add_row, d);
	if (rc > 0)
		return;
	/* out of room, or rows out of order: none for this binary */
	built(d, rc < 0 || add(d, b->end, DBT_FRAME_NONE) ? 0 : b->n, false);
}

/*
 * rows_for - publish the rows of binary i: written before, or now, a
 * part at a time, copied from a run before's where it kept them
 */
static void rows_for(struct dbt *d, size_t i)
{
	struct dbt_rows_build *b = &d->building;
	struct dbt_rows *r = &d->rows.data[i];
	uint64_t room = DBT_ROWS_OFF + DBT_ROWS_SIZE - rows_free(d);

	if (r->written) {
		if (r->n && !r->published)
			publish(d, r);
		return;
	}
	memset(b, 0, sizeof(*b));
	b->on = true;
	b->binary = i;
	/* room for them, their page index and the index published after */
	if (r->kept && room > 4096 + pages_size(r) &&
	    dbt_rows_cache_open(d->rows_cache, r->key, r->hi - r->lo,
	                        (room - 4096 - pages_size(r)) / 8, &b->kept)) {
		pages_start(d, r, rows_free(d) + b->kept.n * 8, &b->pages);
		return;
	}
	r->kept = false;
	b->cur.lo = b->end = r->lo;
	b->cur.hi = r->hi;
	b->populated = rows_free(d);
	add(d, r->lo, DBT_FRAME_NONE); /* the first at offset 0; no room fails the last */
}

/*
 * want_rows - a frame at addr was learned: the rows of its binary are
 * written from the second stop that learns frames there on (a binary one
 * frame of every backtrace goes through, libc's __libc_start_call_main,
 * is not worth them); a binary is known by its extent
 */
static void want_rows(struct dbt *d, uint64_t addr)
{
	struct sym_rows_cursor cur = { 0 };
	struct dbt_rows *r;

	if (rows_at(d, addr) || core_frame_rows(d->t->core, addr, &cur, 0, NULL, NULL) < 0)
		return;
	vec_foreach (&d->rows, r) {
		if (r->lo == cur.lo && r->hi == cur.hi)
			break;
	}
	if (r == d->rows.data + d->rows.len) {
		vec_push(&d->rows,
		         ((struct dbt_rows){ .lo = cur.lo, .hi = cur.hi, .key = cur.key }));
		r = &d->rows.data[d->rows.len - 1];
		/*
		 * Kept by a run before: read while the program runs, not at this
		 * stop (half a millisecond or more), and published from the first.
		 */
		r->kept = d->rows_cache && dbt_rows_cache_has(d->rows_cache, r->key);
	}
	if (r->kept) {
		vec_push(&d->rows_todo, (size_t)(r - d->rows.data));
		return;
	}
	if (r->last_stop != d->stop_seq) {
		r->last_stop = d->stop_seq;
		r->stops++;
	}
	if (r->stops >= d->rows_after)
		vec_push(&d->rows_todo, (size_t)(r - d->rows.data));
}

bool dbt_frames_defer(struct dbt *d)
{
	/* the replay worker may be using the core */
	if ((!d->rows_todo.len && !d->building.on) || !dbt_async_idle(d))
		return false;
	/* the tests' stand-in for a program that ends before its rows are written */
	if (d->rows_at_end && d->building.on && !d->building.kept.open)
		return false;
	if (d->building.on)
		build_more(d);
	else
		rows_for(d, d->rows_todo.data[--d->rows_todo.len]);
	return true;
}

int dbt_frames_scope_hit(struct dbt *d, struct tthread *th, struct core_directive *nd,
                         struct err *err)
{
	const struct core_frames_known k = { known, d };
	const struct dbt_map *stack;
	struct core_entry_frames f;
	struct dbt_thread *dt;
	bool learn;
	size_t i, start;
	int rc;

	if (!core_backtrace_depth(d->t->core))
		return core_scope_hit(d->t->core, th->core, &th->regs, nd, err);
	/*
	 * At a thread's first entry too, which its first stop in the stack
	 * walk would learn otherwise: the thread is taken into the cache
	 * next. Its state is made (the engine's memory mapped, the first
	 * time) while the frames are found.
	 */
	if (dbt_thread_made_start(d, th, err))
		return -1;
	rc = core_scope_hit_frames(d->t->core, th->core, &th->regs, &k, &f, &learn, nd, err);
	if (dbt_thread_made_end(d, th, &dt, rc ? &(struct err){ 0 } : err) || rc)
		return -1;
	if (!dt || !learn)
		return 0;
	/* A walk reads nothing outside this: no size can lead it beyond the stack's end. */
	stack = dbt_maps_find(d, arch_regs_sp(&th->regs));
	dbt_ctx_set(dt, DBT_CTX_STACK_LO, stack ? stack->lo : 0);
	dbt_ctx_set(dt, DBT_CTX_STACK_HI, stack ? stack->hi : 0);
	d->stop_seq++;
	/*
	 * A backtrace to the stack's end ends in the program's or its
	 * thread's start (__libc_start_call_main, __libc_start_main, _start):
	 * the same few frames, learned once, not worth their binary's rows
	 * (libc's kept ones are 226 KB to read for Python's PyDict_New scope)
	 */
	start = f.outermost && f.bt_len > START_FRAMES ? f.bt_len - START_FRAMES : f.bt_len;
	for (i = 0; i + 1 < f.bt_len; i++)
		if (set(d, key(f.bt[i], i), rule_value(&f.rule[i])) && i < start)
			want_rows(d, f.bt[i] - (i ? 1 : 0));
	if (f.outermost)
		set(d, key(f.bt[f.bt_len - 1], f.bt_len - 1), DBT_FRAME_END);
	return 0;
}

void dbt_frames_finish(struct dbt *d)
{
	struct dbt_rows_build *b = &d->building;

	if (!d->rows_cache || !b->on || b->kept.open)
		return;
	if (!b->cur.n_fdes)
		build_more(d); /* which says how many there are */
	if (b->on && b->cur.n_fdes - b->cur.next_fde > DBT_ROWS_FINISH_FDES)
		return;
	while (b->on)
		build_more(d);
}

void dbt_frames_forget(struct dbt *d)
{
	_Atomic uint64_t *t = table(d);
	uint32_t i;

	atomic_store_explicit(rows_index(d), 0, memory_order_release);
	rules_changed(d);
	for (i = 0; i < d->rows.len; i++)
		d->rows.data[i].published = false;
	d->rows_todo.len = 0;
	d->building.on = false;
	dbt_rows_cache_close(&d->building.kept);
	if (!d->frames_used)
		return;
	for (i = 0; i < DBT_FRAME_SLOTS; i++)
		atomic_store_explicit(&t[i], 0, memory_order_relaxed);
	for (i = 0; i < DBT_FRAME_SLOTS / 64; i++)
		atomic_store_explicit(&homes(d)[i], 0, memory_order_relaxed);
	d->frames_used = 0;
}

void dbt_frames_unload(struct dbt *d, uint64_t start, uint64_t end)
{
	struct dbt_rows *r;

	dbt_frames_forget(d);
	/* never published again, nor matched by another binary's extent */
	vec_foreach (&d->rows, r) {
		if (r->lo < end && start < r->hi)
			r->lo = r->hi = 0;
	}
}

void dbt_frames_fini(struct dbt *d)
{
	vec_free(&d->rows);
	vec_free(&d->rows_todo);
	d->rows_used = 0;
	d->building.on = false;
	dbt_rows_cache_close(&d->building.kept);
}
