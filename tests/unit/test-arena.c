/*
 * Unit tests of the arena (src/util/arena.c): allocations are zeroed,
 * aligned for any object and disjoint, across chunks and for objects
 * bigger than a chunk; after arena_fini() the arena is empty and usable;
 * huge pages are asked for only after the first chunk (a narrowed trace's
 * few hundred KiB stay on small pages).
 */
#include <setjmp.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/arena.h"

#define N 20000

static void check_zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		assert_int_equal(p[i], 0);
}

static void test_many_small(void **state)
{
	static unsigned char *p[N];
	struct arena a;
	size_t i, size;

	(void)state;
	arena_init(&a);
	/* Sizes from 1 to 600 bytes: several chunks of 2 MiB. */
	for (i = 0; i < N; i++) {
		size = 1 + (i * 37) % 600;
		p[i] = arena_zalloc(&a, size);
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i] % alignof(max_align_t), 0);
		check_zero(p[i], size);
		memset(p[i], 0xa5, size);
	}
	assert_true(a.chunks.len > 1);
	/* Disjoint: each one still holds what was written into it, up to the next. */
	for (i = 0; i + 1 < N; i++) {
		size = 1 + (i * 37) % 600;
		assert_int_equal(p[i][size - 1], 0xa5);
		if (p[i + 1] > p[i])
			assert_true(p[i] + size <= p[i + 1]);
	}
	arena_fini(&a);
	assert_int_equal(a.chunks.len, 0);
	assert_null(a.chunks.data);
}

static void test_big_object(void **state)
{
	struct arena a;
	unsigned char *small, *big, *after;
	size_t big_size = (3u << 20) + 5;

	(void)state;
	arena_init(&a);
	small = arena_zalloc(&a, 16);
	big = arena_zalloc(&a, big_size);
	check_zero(big, big_size);
	memset(big, 1, big_size);
	/* The chunk the small one came from is still the one small ones come from. */
	after = arena_zalloc(&a, 16);
	assert_ptr_equal(after, small + 16);
	check_zero(after, 16);
	assert_int_equal(a.chunks.len, 2);
	arena_fini(&a);
	/* Usable again after fini. */
	small = arena_zalloc(&a, 8);
	check_zero(small, 8);
	arena_fini(&a);
}

/* asked_huge - is the mapping holding p marked for huge pages ("hg" in smaps' VmFlags)? */
static bool asked_huge(const void *p)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false, hg = false;
	unsigned long lo, hi;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
		else if (in && !strncmp(line, "VmFlags:", 8))
			hg = strstr(line, " hg") != NULL;
	}
	fclose(f);
	return hg;
}

static void test_huge_pages_later(void **state)
{
	struct arena a;
	unsigned char *first, *p = NULL;

	(void)state;
	arena_init(&a);
	first = arena_zalloc(&a, 64);
	assert_int_equal(a.mapped, 2u << 20);
	assert_false(asked_huge(first));
	while (a.mapped <= (2u << 20))
		p = arena_zalloc(&a, 1u << 20);
	/* Only where the kernel has transparent huge pages can they be asked for. */
	if (access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) == 0)
		assert_true(asked_huge(p));
	assert_false(asked_huge(first));
	arena_fini(&a);
	assert_int_equal(a.mapped, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_small),
		cmocka_unit_test(test_big_object),
		cmocka_unit_test(test_huge_pages_later),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
