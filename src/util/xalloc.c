/* Allocation helpers that abort on exhaustion: see xalloc.h. */
#include "util/xalloc.h"

#include <malloc.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/populate.h"
#include "util/progress.h"

/* how far the heap was made present (0: it is not made present, xalloc_reserve() was not asked) */
static _Atomic uintptr_t present_end;

/*
 * present_grown - the heap grown past what was made present, by any
 * allocation since the last one here (SQLite's, zstd's): made present too
 * (a Python scope on memcpy outgrows the reserve: +1.3 ms without)
 */
static void present_grown(void)
{
	uintptr_t end = atomic_load_explicit(&present_end, memory_order_relaxed), top;

	if (!end)
		return;
	top = (uintptr_t)sbrk(0); /* the C library's own copy of the break: no system call */
	if (top > end && top != (uintptr_t)-1 &&
	    atomic_compare_exchange_strong(&present_end, &end, top))
		populate_write((void *)end, top - end);
}

static void *check(void *p)
{
	if (!p) {
		progress_hold();
		fputs("nosco: out of memory\n", stderr);
		abort();
	}
	present_grown();
	return p;
}

void *xmalloc(size_t size)
{
	return check(malloc(size ? size : 1));
}

void *xcalloc(size_t n, size_t size)
{
	return check(calloc(n ? n : 1, size ? size : 1));
}

void *xrealloc(void *ptr, size_t size)
{
	return check(realloc(ptr, size ? size : 1));
}

void *xreallocarray(void *ptr, size_t n, size_t size)
{
	return check(reallocarray(ptr, n ? n : 1, size ? size : 1));
}

char *xstrdup(const char *s)
{
	return check(strdup(s));
}

char *xstrndup(const char *s, size_t n)
{
	return check(strndup(s, n));
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		check(NULL);
	return s;
}

void xalloc_reserve(size_t bytes)
{
	uintptr_t lo = (uintptr_t)sbrk(0), hi;
	void *volatile block; /* volatile: or the compiler drops the malloc and free */

	if (bytes > INT32_MAX / 2 || lo == (uintptr_t)-1)
		return;
	/* Blocks that size come from the heap, not new mappings; freeing it keeps it. */
	mallopt(M_MMAP_THRESHOLD, (int)bytes * 2);
	mallopt(M_TRIM_THRESHOLD, (int)bytes * 2);
	/*
	 * Other threads' blocks from it too, not from a heap of their own whose
	 * pages fault in one at a time (the trace file's thread: 0.5 ms)
	 */
	mallopt(M_ARENA_MAX, 1);
	block = malloc(bytes);
	free(block);
	hi = (uintptr_t)sbrk(0);
	if (hi > lo) {
		populate_write((void *)lo, hi - lo);
		atomic_store(&present_end, hi);
	}
}
