/*
 * Memos of scope entries' backtraces. With backtraces on, a scope entry
 * used to cost a stop each time: the backtrace is unwound from the
 * thread's registers and stack. The core says when a backtrace is a
 * function of the stack pointer and a few words of the stack alone
 * (core_entry_memo); the tracer then writes those words into shared
 * memory, and the code at the scope's entry (dbt_x86_emit_scope_entry)
 * compares them and enters without a stop when all match, logging the
 * memo's id for the replay to give the core its backtrace.
 *
 * Memos are written once and never changed: one is published by storing
 * its address in its slot, so a thread reading a slot meanwhile sees a
 * whole memo or none. Forgetting them (a mapping changed: what the words'
 * addresses hold, or the binaries the unwinding saw) empties the slots;
 * the memory of the old memos is not reused, since the replay may still
 * read their backtraces. When it is used up, no memo is added.
 */
#include <stdatomic.h>

#include "trace/core.h"
#include "trace/dbt/dbt.h"

#define SLOTS_BYTES ((uint64_t)DBT_MEMO_SLOTS * 8)

/*
 * One memo: rsp, ret, (address, word) pairs, (0, id), then the
 * backtrace's length and its return addresses; id is where that length is.
 */
static size_t memo_words(const struct core_entry_memo *m)
{
	return 2 + 2 * m->n_words + 2 + 1 + m->bt_len;
}

static uint64_t *slots(struct dbt *d)
{
	return (uint64_t *)(void *)(d->shm + DBT_MEMO_OFF);
}

void dbt_memo_learn(struct dbt *d, struct tthread *th)
{
	struct core_entry_memo m;
	uint64_t used = d->memo_used, at, *w, sp = arch_regs_sp(&th->regs);
	size_t n, k = 0, i;

	if (!d->ready || !core_backtrace_depth(d->t->core) ||
	    !core_entry_memo(d->t->core, &th->regs, &m))
		return;
	n = memo_words(&m);
	if (SLOTS_BYTES + used + n * 8 > DBT_MEMO_SIZE)
		return;
	at = SLOTS_BYTES + used;
	w = (uint64_t *)(void *)(d->shm + DBT_MEMO_OFF + at);
	w[k++] = sp;
	w[k++] = m.bt[0];
	for (i = 0; i < m.n_words; i++) {
		w[k++] = m.addr[i];
		w[k++] = m.val[i];
	}
	w[k] = 0;
	w[k + 1] = at + 8 * (k + 2); /* the id: where the backtrace's length is */
	k += 2;
	w[k++] = m.bt_len;
	for (i = 0; i < m.bt_len; i++)
		w[k++] = m.bt[i];
	atomic_store_explicit((_Atomic uint64_t *)&d->memo_used, used + n * 8,
	                      memory_order_release);
	atomic_store_explicit((_Atomic uint64_t *)&slots(d)[dbt_x86_memo_slot(sp, m.bt[0])],
	                      d->data_base + DBT_MEMO_OFF + at, memory_order_release);
	d->memo_live = true;
}

void dbt_memo_forget(struct dbt *d)
{
	uint64_t *s = slots(d);
	uint32_t i;

	if (!d->memo_live)
		return;
	/* Word by word: a thread reading a slot must see its old address or 0, never half. */
	for (i = 0; i < DBT_MEMO_SLOTS; i++)
		atomic_store_explicit((_Atomic uint64_t *)&s[i], 0, memory_order_relaxed);
	d->memo_live = false;
}

void dbt_memo_reset(struct dbt *d)
{
	d->memo_used = 0;
	d->memo_live = false;
}

const uint64_t *dbt_memo_backtrace(struct dbt *d, uint64_t id, size_t *len)
{
	uint64_t end = SLOTS_BYTES + atomic_load_explicit((_Atomic uint64_t *)&d->memo_used,
	                                                  memory_order_acquire);
	const uint64_t *w;

	if (id % 8 || id < SLOTS_BYTES || id >= end)
		return NULL;
	w = (const uint64_t *)(const void *)(d->shm + DBT_MEMO_OFF + id);
	if (!w[0] || w[0] > CORE_MEMO_WORDS || id + 8 + w[0] * 8 > end)
		return NULL;
	*len = w[0];
	return w + 1;
}
