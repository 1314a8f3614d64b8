/*
 * The call summaries of schema 4 files (docs/trace-format.md,
 * "call_summary"): for each row of the call index, what its calls are
 * made of, so that a filter (a symbol, a thread, a number of
 * instructions) or a search by name skips the rows that cannot hold what
 * it looks for without decoding their calls. This is the encoding,
 * shared by the writer (callindex.c) and the reader (calls-ix.c).
 */
#include <stdlib.h>

#include "store/internal.h"

size_t store_callsum_max(const struct store_callsum *s)
{
	return 3 * 10 + s->threads.len * 10 + s->funcs.len * 40;
}

size_t store_callsum_encode(const struct store_callsum *s, uint8_t *out)
{
	const struct store_callsum_func *f;
	uint8_t *p = out;
	uint64_t prev = 0;
	int64_t prev_thread = 0;
	const int64_t *t;

	p = store_varint_put(p, s->max_own);
	p = store_varint_put(p, s->rows);
	p = store_varint_put(p, s->threads.len);
	vec_foreach (&s->threads, t) {
		p = store_varint_put(p, (uint64_t)(*t - prev_thread));
		prev_thread = *t;
	}
	p = store_varint_put(p, s->funcs.len);
	vec_foreach (&s->funcs, f) {
		p = store_varint_put(p, f->addr - prev);
		p = store_varint_put(p, f->calls);
		p = store_varint_put(p, f->insns);
		p = store_varint_put(p, f->first);
		prev = f->addr;
	}
	return (size_t)(p - out);
}

/* decode_threads - ascending thread ids below 2^63, at most @count of them */
static int decode_threads(const uint8_t **p, const uint8_t *end, int64_t count,
                          struct store_callsum *out)
{
	uint64_t n, d, t = 0;
	size_t i;

	if (store_varint_get(p, end, 63, &n) || n == 0 || n > (uint64_t)count)
		return -1;
	for (i = 0; i < n; i++) {
		if (store_varint_get(p, end, 63, &d) || (i && d == 0) || d > INT64_MAX - t)
			return -1;
		t += d;
		vec_push(&out->threads, (int64_t)t);
	}
	return 0;
}

int store_callsum_decode(const uint8_t *p, const uint8_t *end, int64_t count,
                         struct store_callsum *out)
{
	uint64_t n, d, calls = 0, addr = 0;
	size_t i;

	out->threads.len = out->funcs.len = 0;
	if (count <= 0 || store_varint_get(&p, end, 63, &out->max_own) ||
	    store_varint_get(&p, end, 63, &n) || n > (uint64_t)count)
		return -1;
	out->rows = (uint32_t)n;
	if (decode_threads(&p, end, count, out) || store_varint_get(&p, end, 63, &n) || n == 0 ||
	    n > (uint64_t)count)
		return -1;
	for (i = 0; i < n; i++) {
		struct store_callsum_func f;
		uint64_t first;

		if (store_varint_get(&p, end, 63, &d) || (i && d == 0) || d > UINT64_MAX - addr ||
		    store_varint_get(&p, end, 63, &f.calls) || f.calls == 0 ||
		    f.calls > (uint64_t)count - calls || store_varint_get(&p, end, 63, &f.insns) ||
		    store_varint_get(&p, end, 63, &first) || first >= (uint64_t)count)
			return -1;
		addr += d;
		f.addr = addr;
		f.first = (uint32_t)first;
		calls += f.calls;
		vec_push(&out->funcs, f);
	}
	/* Every call of the row has its function: none is left out. */
	return p == end && calls == (uint64_t)count ? 0 : -1;
}

void store_callsum_fini(struct store_callsum *s)
{
	vec_free(&s->threads);
	vec_free(&s->funcs);
}
