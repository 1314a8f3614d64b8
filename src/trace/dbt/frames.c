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
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "trace/core.h"
#include "trace/dbt/dbt.h"

/* calls of one function guessed at once (their frames, twice for calls to a scope) */
#define DBT_GUESSES_AT_ONCE 512
/* words guesses may take: a quarter of the table, so that learning always finds room */
#define GUESSES_MAX (DBT_FRAME_SLOTS / 4)

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

/*
 * set - the word for k: value, or DBT_FRAME_NONE if it already has
 * another (a guess leaves any word as it is); whether a word was added
 */
static bool set(struct dbt *d, uint64_t k, uint32_t value, bool guess)
{
	_Atomic uint64_t *t = table(d);
	uint64_t w;
	uint32_t i = find(t, k, &w);

	if (w && ((w & 0xffff) == value || guess))
		return false;
	if (!w && d->frames_used >= DBT_FRAME_SLOTS / 2)
		return false;
	d->frames_used += !w;
	atomic_store_explicit(&t[i], k << 16 | (w ? DBT_FRAME_NONE : value), memory_order_release);
	return !w;
}

/* set_guesses - the n guesses of g into the table, as long as they may take more of it */
static void set_guesses(struct dbt *d, const struct core_frame_guess *g, size_t n)
{
	for (size_t j = 0; j < n && d->frames_guessed < GUESSES_MAX; j++)
		if (set(d, key(g[j].ret, g[j].first ? 0 : 1), rule_value(&g[j].rule), true)) {
			d->frames_guessed++;
			d->n_guessed++;
		}
}

/*
 * The frames of the calls made in the functions a learned backtrace went
 * through are guessed, once per function: where a later entry comes from
 * another of those calls, its walk knows the frame without a stop. That
 * is done while the program runs (dbt_frames_guess(), the engine's
 * defer()), not at the stop. Guesses take at most a quarter of the
 * table, so that learning always finds room.
 */
bool dbt_frames_guess(struct dbt *d)
{
	struct core_frame_guess g[DBT_GUESSES_AT_ONCE];

	/* the replay worker may be using the core */
	if (d->to_guess_next == d->to_guess.len || !dbt_async_idle(d))
		return false;
	set_guesses(d, g,
	            core_frame_guesses(d->t->core, d->to_guess.data[d->to_guess_next++],
	                               &d->guessed_fns, g, DBT_GUESSES_AT_ONCE));
	if (d->to_guess_next == d->to_guess.len || d->frames_guessed >= GUESSES_MAX)
		d->to_guess.len = d->to_guess_next = 0;
	return d->to_guess.len > 0;
}

/* guess_forget - no guess is to be made, none was */
static void guess_forget(struct dbt *d)
{
	hashmap_fini(&d->guessed_fns);
	d->to_guess.len = d->to_guess_next = 0;
	d->frames_guessed = 0;
}

/* known - has the table a word for ret as the i-th return address (a rule, an end, or none)? */
static bool known(void *ctx, uint64_t ret, size_t i)
{
	uint64_t w;

	find(table(ctx), key(ret, i), &w);
	return w != 0;
}

int dbt_frames_scope_hit(struct dbt *d, struct tthread *th, struct core_directive *nd,
                         struct err *err)
{
	struct dbt_thread *dt = dbt_thread_of(d, th, false);
	const struct core_frames_known k = { known, d };
	const struct dbt_map *stack;
	struct core_entry_frames f;
	bool learn;
	size_t i;

	if (!dt || !core_backtrace_depth(d->t->core))
		return core_scope_hit(d->t->core, th->core, &th->regs, nd, err);
	if (core_scope_hit_frames(d->t->core, th->core, &th->regs, &k, &f, &learn, nd, err))
		return -1;
	if (!learn)
		return 0;
	/* A walk reads nothing outside this: no size can lead it beyond the stack's end. */
	stack = dbt_maps_find(d, arch_regs_sp(&th->regs));
	dbt_ctx_set(dt, DBT_CTX_STACK_LO, stack ? stack->lo : 0);
	dbt_ctx_set(dt, DBT_CTX_STACK_HI, stack ? stack->hi : 0);
	for (i = 0; i + 1 < f.bt_len; i++)
		set(d, key(f.bt[i], i), rule_value(&f.rule[i]), false);
	if (f.outermost)
		set(d, key(f.bt[f.bt_len - 1], f.bt_len - 1), DBT_FRAME_END, false);
	if (d->frames_guessed >= GUESSES_MAX)
		return 0;
	for (i = 0; i < f.bt_len; i++)
		vec_push(&d->to_guess, f.bt[i]);
	return 0;
}

void dbt_frames_forget(struct dbt *d)
{
	_Atomic uint64_t *t = table(d);
	uint32_t i;

	guess_forget(d);
	if (!d->frames_used)
		return;
	for (i = 0; i < DBT_FRAME_SLOTS; i++)
		atomic_store_explicit(&t[i], 0, memory_order_relaxed);
	d->frames_used = 0;
}

void dbt_frames_fini(struct dbt *d)
{
	guess_forget(d);
	vec_free(&d->to_guess);
}
