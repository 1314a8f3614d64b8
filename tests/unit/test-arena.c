/*
 * Unit tests of the arena (src/util/arena.c): allocations are zeroed,
 * aligned for any object and disjoint, across chunks and for objects
 * bigger than a chunk; after arena_fini() the arena is empty and usable;
 * huge pages are asked for only after the first two chunks (a narrowed
 * trace's few hundred KiB stay on small pages), on which small objects'
 * pages are made present ahead of them and big ones' are not.
 */
#include <setjmp.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/arena.h"
#include "util/populate.h"

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

/* vm_flag - does the mapping holding p have flag (" hg", " nh") in smaps' VmFlags? */
static bool vm_flag(const void *p, const char *flag)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false, has = false;
	unsigned long lo, hi;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
		else if (in && !strncmp(line, "VmFlags:", 8))
			has = strstr(line, flag) != NULL;
	}
	fclose(f);
	return has;
}

/* asked_huge - is the mapping holding p marked for huge pages? */
static bool asked_huge(const void *p)
{
	return vm_flag(p, " hg");
}

/* asked_small - is it marked for no huge pages, whatever the system's default? */
static bool asked_small(const void *p)
{
	return vm_flag(p, " nh");
}

static void test_huge_pages_later(void **state)
{
	struct arena a;
	unsigned char *first, *second = NULL, *p = NULL;

	(void)state;
	arena_init(&a);
	first = arena_zalloc(&a, 64);
	assert_int_equal(a.mapped, 2u << 20);
	assert_false(asked_huge(first));
	while (a.mapped <= (2u << 20))
		second = arena_zalloc(&a, 1u << 20);
	assert_false(asked_huge(second));
	/* Only where the kernel has transparent huge pages can they be refused. */
	if (access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) == 0) {
		assert_true(asked_small(first));
		assert_true(asked_small(second));
	}
	while (a.mapped <= (4u << 20))
		p = arena_zalloc(&a, 1u << 20);
	/* Only where the kernel has transparent huge pages can they be asked for. */
	if (access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) == 0)
		assert_true(asked_huge(p));
	assert_false(asked_huge(first));
	arena_fini(&a);
	assert_int_equal(a.mapped, 0);
}

/* resident - how many of the pages of [p, p + len) are present (p page-aligned) */
static size_t resident(const void *p, size_t len)
{
	static unsigned char v[1024];
	size_t n = len / 4096, i, count = 0;

	assert_true(n <= sizeof(v));
	assert_int_equal(mincore((void *)p, len, v), 0);
	for (i = 0; i < n; i++)
		count += v[i] & 1;
	return count;
}

/* populate_works - does this kernel make pages present on request (Linux 5.14 on)? */
static bool populate_works(void)
{
	unsigned char *p =
	        mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bool yes;

	assert_true(p != MAP_FAILED);
	populate_write(p, 4096);
	yes = resident(p, 4096) == 1;
	munmap(p, 4096);
	return yes;
}

static void test_present_ahead(void **state)
{
	struct arena a;
	unsigned char *first, *big, *after;

	(void)state;
	if (!populate_works())
		skip();
	arena_init(&a);
	/* A small object: 256 KiB present from it on, nothing after. */
	first = arena_zalloc(&a, 64);
	assert_int_equal(resident(first, 256u << 10), 64);
	assert_int_equal(resident(first + (256u << 10), 256u << 10), 0);
	arena_fini(&a);
	/* A big one first: none of its pages until touched; a small one after it, from there on. */
	big = arena_zalloc(&a, 1u << 20);
	assert_int_equal(resident(big, 1u << 20), 0);
	after = arena_zalloc(&a, 64);
	assert_ptr_equal(after, big + (1u << 20));
	assert_int_equal(resident(after, 256u << 10), 64);
	assert_int_equal(resident(big, 1u << 20), 0);
	check_zero(after, 64);
	arena_fini(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_small),
		cmocka_unit_test(test_big_object),
		cmocka_unit_test(test_huge_pages_later),
		cmocka_unit_test(test_present_ahead),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
