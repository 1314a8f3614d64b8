/*
 * Unit tests of xalloc_reserve() (src/util/xalloc.c): the heap grows by
 * the reserve at once, its pages resident before anything uses them, and
 * a block of that size is served from it rather than from a new mapping;
 * what the heap grows by past it is made resident by the next x helper.
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/xalloc.h"

#define RESERVE (1u << 20)

extern char end; /* the end of the program's bss: its heap starts past it */

/* all_resident - every page of [lo, hi) resident */
static bool all_resident(char *lo, char *hi)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), n, i;
	unsigned char *resident;
	bool all = true;

	lo = (char *)((uintptr_t)lo & ~(uintptr_t)(page - 1));
	n = (size_t)(hi - lo + (ptrdiff_t)page - 1) / page;
	resident = malloc(n);
	assert_int_equal(mincore(lo, n * page, resident), 0);
	for (i = 0; i < n; i++)
		all &= resident[i] & 1;
	free(resident);
	return all;
}

static void test_reserve_present(void **state)
{
	char *lo, *hi, *block;

	(void)state;
#ifdef __SANITIZE_ADDRESS__
	skip(); /* ASan's allocator has no heap of the kind */
#endif
	lo = sbrk(0);
	xalloc_reserve(RESERVE);
	hi = sbrk(0);
	assert_true(hi - lo >= (ptrdiff_t)RESERVE);
	assert_true(all_resident(lo, hi));
	/* from the heap (past the program's bss), not a mapping of its own as before */
	block = malloc(RESERVE);
	assert_true(block > &end && block + RESERVE <= (char *)sbrk(0));
	free(block);
}

/* Runs after test_reserve_present, in the same process: the reserve is made. */
static void test_growth_present(void **state)
{
	char *lo = sbrk(0), *hi, *grown;

	(void)state;
#ifdef __SANITIZE_ADDRESS__
	skip();
#endif
	/* past the reserve, by the C library's own malloc: nothing touches it */
	grown = malloc(2 * RESERVE - 4096);
	hi = sbrk(0);
	assert_non_null(grown);
	assert_true(hi > lo);
	free(xmalloc(16));
	assert_true(all_resident(lo, hi));
	free(grown);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reserve_present),
		cmocka_unit_test(test_growth_present),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
