/*
 * Where functions branch to: each function (the extent its unwind
 * information gives) decoded once from its start, its direct branches'
 * targets kept sorted, so that a door can ask whether code jumps into the
 * bytes it would cover (doors.c, returns.c). The first question about a
 * function is answered by a scan of its bytes where that can (below).
 */
#include <stdlib.h>

#include "trace/dbt/dbt.h"
#include "util/xalloc.h"

#define FN_MAX (1u << 20) /* a function this long or longer is not decoded */

struct dbt_fn {
	uint64_t e;       /* its end */
	bool decoded;     /* else only scanned, the first time it was asked about */
	bool undecodable; /* its decoding does not end at its end, or it jumps into an instruction
	                   */
	size_t n;
	uint64_t *targets; /* sorted */
};

static int by_addr(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* decode - f's branch targets from the code of [s, e) */
static void decode(struct dbt *d, uint64_t s, uint64_t e, struct dbt_fn *f)
{
	uint8_t *code = xmalloc(e - s), *start = xcalloc(e - s, 1);
	uint64_t a = s, target;
	size_t cap = 0, len;

	if (tracee_read_partial(d->t, s, code, e - s) == e - s)
		for (; a < e && !arch_dbt_branch(a, code + (a - s), e - a, &len, &target);
		     a += len) {
			start[a - s] = 1;
			if (!target)
				continue;
			if (f->n == cap)
				f->targets = xrealloc(f->targets, (cap = cap ? cap * 2 : 16) * 8);
			f->targets[f->n++] = target;
		}
	f->undecodable = a != e;
	for (size_t i = 0; i < f->n && !f->undecodable; i++)
		f->undecodable =
		        f->targets[i] >= s && f->targets[i] < e && !start[f->targets[i] - s];
	if (f->n) /* no targets, no array: qsort's is never NULL */
		qsort(f->targets, f->n, sizeof(*f->targets), by_addr);
	free(code);
	free(start);
}

/*
 * looks_jumped_into - does a byte of [s, e) look like a branch into (lo,
 * hi) (arch_dbt_jumps_into())? Yes where it cannot be read. Where none
 * does, decoding would find no branch there either: a function asked
 * about once is only scanned so (Python's PyDict_New at depth 1: its 25
 * callers decoded for the doors at their return sites, 2.8 ms a run); the
 * second time it is decoded, for many doors in one function (Python's
 * interpreter loop, 70 KB) to be looked up, not scanned.
 */
static bool looks_jumped_into(struct dbt *d, uint64_t s, uint64_t e, uint64_t lo, uint64_t hi)
{
	uint8_t *code = xmalloc(e - s);
	bool into = tracee_read_partial(d->t, s, code, e - s) < e - s ||
	            arch_dbt_jumps_into(code, NULL, e - s, s, lo, hi);

	free(code);
	return into;
}

int dbt_fn_jumps_into(struct dbt *d, uint64_t s, uint64_t e, uint64_t lo, uint64_t hi)
{
	struct dbt_fn *f = hashmap_get(&d->fns, s);
	size_t a = 0, b;

	if (e <= s || e - s >= FN_MAX)
		return -1;
	if (!f) {
		f = xcalloc(1, sizeof(*f));
		f->e = e;
		hashmap_put(&d->fns, s, f);
		if (!looks_jumped_into(d, s, e, lo, hi))
			return 0;
	}
	if (!f->decoded) {
		decode(d, s, e, f);
		f->decoded = true;
	}
	if (f->undecodable)
		return -1;
	/* the first target above lo */
	for (b = f->n; a < b;) {
		size_t m = a + (b - a) / 2;

		if (f->targets[m] <= lo)
			a = m + 1;
		else
			b = m;
	}
	return a < f->n && f->targets[a] < hi;
}

void dbt_fns_drop(struct dbt *d, uint64_t lo, uint64_t hi)
{
	VEC(uint64_t) gone = { 0 };
	size_t i = 0;
	struct dbt_fn *f;
	uint64_t s;

	while (hashmap_next(&d->fns, &i, &s, (void **)&f))
		if (s < hi && f->e > lo)
			vec_push(&gone, s);
	for (i = 0; i < gone.len; i++) {
		f = hashmap_del(&d->fns, gone.data[i]);
		free(f->targets);
		free(f);
	}
	vec_free(&gone);
}
