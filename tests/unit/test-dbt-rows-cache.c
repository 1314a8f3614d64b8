/*
 * Frame rows kept between runs (src/trace/dbt/rows-cache.c): read back as
 * written, and a file that is not whole, or not for this binary, ignored.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>

#include "test-util.h"
#include "trace/dbt/dbt.h"
#include "util/xalloc.h"

#define KEY  0x0123456789abcdefull
#define SPAN 0x10000ull
#define N    100

#define AT   4104 /* where in the shared memory the rows go */

static char tmpdir[] = "/tmp/nosco-test-rows-XXXXXX";
static uint64_t rows[N];
static int shared = -1; /* stands for the shared memory's file */

/* copy - the next part of k copied, read back into to at its place; how many rows */
static size_t copy(struct dbt_rows_kept *k, uint64_t *to)
{
	size_t i = k->done, n = dbt_rows_cache_copy(k, shared, AT);

	assert_int_equal(pread(shared, to + i, n * 8, AT + (off_t)i * 8), (ssize_t)(n * 8));
	return n;
}

static char *dir_of(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

/* load - how many rows of KEY are read for SPAN (at most max) and found whole, checked against rows
 */
static size_t load(const char *dir, uint64_t key, uint64_t span, size_t max)
{
	uint64_t to[N] = { 0 };
	struct dbt_rows_kept k;
	size_t n = 0;

	if (!dbt_rows_cache_open(dir, key, span, max, &k)) {
		assert_false(k.open);
		return 0;
	}
	assert_int_equal(k.n, N);
	while (k.done < k.n)
		n += copy(&k, to);
	assert_int_equal(n, N);
	if (dbt_rows_cache_whole(&k))
		assert_memory_equal(to, rows, sizeof(rows));
	else
		n = 0;
	dbt_rows_cache_close(&k);
	assert_false(k.open);
	return n;
}

static char *file_in(const char *dir)
{
	return xasprintf("%s/%016llx.rows", dir, (unsigned long long)KEY);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	shared = (int)syscall(SYS_memfd_create, "rows", 0);
	if (shared < 0)
		return -1;
	for (size_t i = 0; i < N; i++)
		rows[i] = (uint64_t)i * 64 << 16 | (i % 7);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	close(shared);
	return test_sh("rm -rf %s", tmpdir);
}

/* flip - change one byte of the file at off */
static void flip(const char *path, off_t off)
{
	int fd = open(path, O_RDWR);
	uint8_t b;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= 0x40;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

static void test_kept_and_read_back(void **state)
{
	char *dir = dir_of("a/b/frame-rows"), *file = file_in(dir);

	(void)state;
	assert_false(dbt_rows_cache_has(dir, KEY));
	assert_int_equal(load(dir, KEY, SPAN, N), 0);
	dbt_rows_cache_save(dir, KEY, SPAN, rows, N);
	assert_true(dbt_rows_cache_has(dir, KEY));
	assert_int_equal(load(dir, KEY, SPAN, N + 8), N);
	/* another binary's, or this one's with another extent, or no room: none */
	assert_int_equal(load(dir, KEY + 1, SPAN, N), 0);
	assert_int_equal(load(dir, KEY, SPAN + 1, N), 0);
	assert_int_equal(load(dir, KEY, SPAN, N - 1), 0);
	free(file);
	free(dir);
}

/* A file damaged anywhere, cut short or grown, is not read. */
static void test_damaged_files_ignored(void **state)
{
	char *dir = dir_of("damaged"), *file = file_in(dir);
	off_t size;

	(void)state;
	dbt_rows_cache_save(dir, KEY, SPAN, rows, N);
	size = (off_t)(48 + sizeof(rows));
	for (off_t off = 0; off < size; off += 37) {
		flip(file, off);
		assert_int_equal(load(dir, KEY, SPAN, N), 0);
		flip(file, off);
		assert_int_equal(load(dir, KEY, SPAN, N), N);
	}
	assert_int_equal(truncate(file, size - 8), 0);
	assert_int_equal(load(dir, KEY, SPAN, N), 0);
	assert_int_equal(truncate(file, size + 8), 0);
	assert_int_equal(load(dir, KEY, SPAN, N), 0);
	assert_int_equal(truncate(file, 10), 0);
	assert_int_equal(load(dir, KEY, SPAN, N), 0);
	free(file);
	free(dir);
}

/* Rows out of order would mislead the walk's search: not kept, not read. */
static void test_rows_out_of_order(void **state)
{
	char *dir = dir_of("order");
	uint64_t bad[N];

	(void)state;
	memcpy(bad, rows, sizeof(bad));
	bad[10] = bad[20];
	dbt_rows_cache_save(dir, KEY, SPAN, bad, N);
	assert_int_equal(load(dir, KEY, SPAN, N), 0);
	bad[10] = rows[10];
	bad[N - 1] = (SPAN + 1) << 16; /* beyond the binary */
	dbt_rows_cache_save(dir, KEY, SPAN, bad, N);
	assert_int_equal(load(dir, KEY, SPAN, N), 0);
	free(dir);
}

/* Rows of several parts (copied 8,192 at a time): each part, and each seam, checked. */
static void test_parts(void **state)
{
	enum { PART = 8192, MANY = 2 * PART + 100 }; /* PART: rows-cache.c's */
	static uint64_t many[MANY], to[MANY];
	char *dir = dir_of("parts"), *file = file_in(dir);
	struct dbt_rows_kept k;
	size_t parts = 0;

	(void)state;
	for (size_t i = 0; i < MANY; i++)
		many[i] = (uint64_t)i * 4 << 16 | (i % 5);
	dbt_rows_cache_save(dir, KEY, (uint64_t)MANY * 4, many, MANY);
	assert_true(dbt_rows_cache_open(dir, KEY, (uint64_t)MANY * 4, MANY, &k));
	while (k.done < k.n)
		parts += copy(&k, to) > 0;
	assert_int_equal(parts, 3);
	assert_true(dbt_rows_cache_whole(&k));
	assert_memory_equal(to, many, sizeof(many));
	dbt_rows_cache_close(&k);
	/* a rule changed in the last part; then a row out of order right at a seam */
	flip(file, 48 + (MANY - 3) * 8);
	assert_true(dbt_rows_cache_open(dir, KEY, (uint64_t)MANY * 4, MANY, &k));
	while (k.done < k.n)
		copy(&k, to);
	assert_false(dbt_rows_cache_whole(&k));
	dbt_rows_cache_close(&k);
	many[PART] = many[PART - 1];
	dbt_rows_cache_save(dir, KEY, (uint64_t)MANY * 4, many, MANY);
	assert_true(dbt_rows_cache_open(dir, KEY, (uint64_t)MANY * 4, MANY, &k));
	while (k.done < k.n)
		copy(&k, to);
	assert_false(dbt_rows_cache_whole(&k));
	dbt_rows_cache_close(&k);
	free(file);
	free(dir);
}

/* Where the directory cannot be, nothing is kept, and nothing fails. */
static void test_unwritable(void **state)
{
	char *file = dir_of("file"), *dir = xasprintf("%s/under-a-file", file);

	(void)state;
	test_sh("touch %s", file);
	dbt_rows_cache_save(dir, KEY, SPAN, rows, N);
	assert_false(dbt_rows_cache_has(dir, KEY));
	free(dir);
	free(file);
}

/* The directory: under XDG_CACHE_HOME, else HOME's .cache; never making either; none if told. */
static void test_where(void **state)
{
	char *home = dir_of("home"), *want = xasprintf("%s/.cache/nosco/frame-rows", home);
	char *missing = dir_of("no-such-home"), *dir;

	(void)state;
	assert_int_equal(mkdir(home, 0700), 0);
	unsetenv("XDG_CACHE_HOME");
	unsetenv("NOSCO_NO_CACHE");
	setenv("HOME", home, 1);
	dir = dbt_rows_cache_dir();
	assert_string_equal(dir, want);
	free(dir);
	setenv("XDG_CACHE_HOME", home, 1);
	dir = dbt_rows_cache_dir();
	assert_non_null(strstr(dir, "/home/nosco/frame-rows"));
	assert_null(strstr(dir, ".cache"));
	free(dir);
	setenv("NOSCO_NO_CACHE", "1", 1);
	assert_null(dbt_rows_cache_dir());
	unsetenv("NOSCO_NO_CACHE");
	setenv("XDG_CACHE_HOME", missing, 1);
	assert_null(dbt_rows_cache_dir());
	unsetenv("XDG_CACHE_HOME");
	setenv("HOME", missing, 1);
	assert_null(dbt_rows_cache_dir());
	assert_int_equal(access(missing, F_OK), -1);
	setenv("HOME", "relative", 1);
	assert_null(dbt_rows_cache_dir());
	free(missing);
	free(want);
	free(home);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kept_and_read_back),
		cmocka_unit_test(test_damaged_files_ignored),
		cmocka_unit_test(test_rows_out_of_order),
		cmocka_unit_test(test_parts),
		cmocka_unit_test(test_unwritable),
		cmocka_unit_test(test_where),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
