/*
 * The call index (docs/trace-format.md, "Call index"):
 * for every call id, where its record is (a row of calls, or a record of
 * a call chunk) with its thread and parent, so that a
 * reader finds one call, the calls of a thread or those a call made
 * without decoding every chunk. The entries of the calls since the last
 * write are kept here until each one's place is known: the writer makes
 * it known by turning the calls still running into rows (as a commit
 * does) when STORE_IX_BLOCK calls wait, so memory stays bounded however
 * long the run. With each row, the call summary of its calls (their
 * entry addresses, threads, own instructions: callsum.c), so that filters
 * skip rows without decoding them. Also the per-thread summaries.
 */
#include <stdlib.h>
#include <string.h>

#include "store/writer-int.h"
#include "util/xalloc.h"

static struct store_thread_sum *sum_of(struct store *s, int64_t thread)
{
	static const struct store_thread_sum none = { .first = STORE_NONE, .last = STORE_NONE };

	while (s->sums.len <= (size_t)thread)
		vec_push(&s->sums, none);
	return &s->sums.data[thread];
}

void store_ix_call(struct store *s, const struct store_call *c)
{
	struct store_ix_ent e = {
		.seq = STORE_IX_PENDING,
		.parent = c->parent >= 0 ? c->parent : STORE_NONE,
		.addr = c->addr,
		.thread = (uint32_t)c->thread,
	};
	struct store_thread_sum *sum = sum_of(s, c->thread);

	vec_push(&s->ix, e);
	if (sum->first == STORE_NONE)
		sum->first = s->n_calls;
	sum->last = s->n_calls;
	sum->calls++;
	sum->roots += c->parent < 0;
}

bool store_ix_full(const struct store *s)
{
	return s->ix.len >= STORE_IX_BLOCK;
}

/*
 * encode - the entries [from, from + n) of s->ix, each coded against the
 * one before: calls that end in the order they began are the next record
 * of the same chunk, which zstd folds to almost nothing.
 */
static size_t encode(const struct store *s, size_t from, size_t n, uint8_t *out)
{
	int64_t prev_seq = 0, prev_idx = -1;
	uint8_t *p = out;
	size_t i;

	for (i = from; i < from + n; i++) {
		const struct store_ix_ent *e = &s->ix.data[i];
		int64_t id = s->ix_base + (int64_t)i;

		if (e->seq == STORE_IX_ROW) {
			p = store_varint_put(p, 0);
		} else {
			if (e->seq != prev_seq)
				prev_idx = -1;
			p = store_varint_put(p, 1 + store_zigzag(e->seq - prev_seq));
			p = store_varint_put(p, store_zigzag(e->idx - prev_idx - 1));
			prev_seq = e->seq;
			prev_idx = e->idx;
		}
		p = store_varint_put(p, e->thread);
		p = store_varint_put(p, e->parent >= 0 ? (uint64_t)(id - e->parent) : 0);
	}
	return (size_t)(p - out);
}

/*
 * write_row - one row of call_index: the entries [from, from + n) of s->ix,
 * compressed with a checksum: a flipped bit must not move a call
 * to another parent, or hide it from a filter, unseen
 */
static int write_row(struct store *s, size_t from, size_t n, struct err *err)
{
	sqlite3_stmt *st = store_stmt(s, ST_CALL_INDEX, err);
	uint8_t *raw;
	size_t len;
	int rc;

	if (!st)
		return -1;
	raw = xmalloc(n * STORE_IX_ENT_MAX);
	len = encode(s, from, n, raw);
	sqlite3_bind_int64(st, 1, s->ix_base + (int64_t)from);
	sqlite3_bind_int64(st, 2, (int64_t)n);
	rc = store_chunk_write_checked(s, st, 3, raw, len, "the call index", err);
	free(raw);
	return rc;
}

static int by_addr(const void *a, const void *b)
{
	const struct store_callsum_func *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int by_thread(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* summarize - the call summary of the entries [from, from + n) of s->ix */
static void summarize(const struct store *s, size_t from, size_t n, struct store_callsum *sum)
{
	struct hashmap at; /* addr -> index + 1 in sum->funcs */
	size_t i, k;

	hashmap_init(&at);
	for (i = from; i < from + n; i++) {
		const struct store_ix_ent *e = &s->ix.data[i];
		uintptr_t f = (uintptr_t)hashmap_get(&at, e->addr);

		if (!f) {
			struct store_callsum_func nf = { .addr = e->addr,
				                         .first = (uint32_t)(i - from) };

			vec_push(&sum->funcs, nf);
			f = sum->funcs.len;
			hashmap_put(&at, e->addr, (void *)f);
		}
		sum->funcs.data[f - 1].calls++;
		if (e->seq == STORE_IX_ROW) {
			sum->rows++;
		} else {
			sum->funcs.data[f - 1].insns += e->insns;
			if (e->own > sum->max_own)
				sum->max_own = e->own;
		}
		/* Calls of one thread come in runs: most repeats are the last one. */
		if (!sum->threads.len || vec_last(&sum->threads) != e->thread)
			vec_push(&sum->threads, e->thread);
	}
	hashmap_fini(&at);
	qsort(sum->funcs.data, sum->funcs.len, sizeof(*sum->funcs.data), by_addr);
	qsort(sum->threads.data, sum->threads.len, sizeof(*sum->threads.data), by_thread);
	for (i = k = 0; i < sum->threads.len; i++)
		if (!k || sum->threads.data[k - 1] != sum->threads.data[i])
			sum->threads.data[k++] = sum->threads.data[i];
	sum->threads.len = k;
}

/* write_summary - the row of call_summary for the entries [from, from + n) of s->ix */
static int write_summary(struct store *s, size_t from, size_t n, struct err *err)
{
	sqlite3_stmt *st = store_stmt(s, ST_CALL_SUMMARY, err);
	struct store_callsum sum = { 0 };
	uint8_t *raw;
	size_t len;
	int rc;

	if (!st)
		return -1;
	summarize(s, from, n, &sum);
	raw = xmalloc(store_callsum_max(&sum));
	len = store_callsum_encode(&sum, raw);
	store_callsum_fini(&sum);
	sqlite3_bind_int64(st, 1, s->ix_base + (int64_t)from);
	rc = store_chunk_write_checked(s, st, 2, raw, len, "the call summaries", err);
	free(raw);
	return rc;
}

int store_ix_write(struct store *s, struct err *err)
{
	size_t i, n;

	if (!s->ix.len)
		return 0;
	for (i = 0; i < s->ix.len; i++)
		if (s->ix.data[i].seq == STORE_IX_PENDING)
			return err_set(err, ERR_INTERNAL, "store: call %lld has no place yet",
			               (long long)(s->ix_base + (int64_t)i));
	for (i = 0; i < s->ix.len; i += n) {
		n = s->ix.len - i < STORE_IX_BLOCK ? s->ix.len - i : STORE_IX_BLOCK;
		if (write_row(s, i, n, err) || write_summary(s, i, n, err))
			return -1;
	}
	s->ix_base += (int64_t)s->ix.len;
	s->ix.len = 0;
	return 0;
}

int store_ix_summaries(struct store *s, struct err *err)
{
	sqlite3_stmt *st = store_stmt(s, ST_THREAD_STATS, err);
	int64_t t;

	if (!st)
		return -1;
	for (t = 0; t < s->n_threads; t++) {
		const struct store_thread_sum *sum = sum_of(s, t);

		sqlite3_bind_int64(st, 1, t);
		sqlite3_bind_int64(st, 2, (int64_t)sum->calls);
		sqlite3_bind_int64(st, 3, (int64_t)sum->roots);
		store_bind_id(st, 4, sum->first);
		store_bind_id(st, 5, sum->last);
		store_bind_u64(st, 6, s->streams.data[t].pos);
		if (store_step_done(s, ST_THREAD_STATS, "the thread summaries", err))
			return -1;
	}
	return 0;
}

void store_ix_fini(struct store *s)
{
	vec_free(&s->ix);
	vec_free(&s->sums);
}
