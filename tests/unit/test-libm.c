/*
 * Unit tests of the math functions nosco forwards to libm, loaded when one
 * is first called (src/store/libm.c): each gives libm's result, called
 * directly and from SQL, as SQLite's math functions call them.
 */
#include <dlfcn.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

/*
 * The test's own calls go to the shim, linked from libnosco.a before -lm;
 * the arguments are read from memory, or the compiler computes the calls.
 */
static void test_direct(void **state)
{
	volatile double two = 2.0, ten = 10.0, minus = -2.7, one = 1.0, five = 5.0;
	Dl_info info;

	(void)state;
	assert_true(dladdr((void *)pow, &info));
	assert_null(strstr(info.dli_fname, "libm.so"));
	assert_true(pow(two, ten) == 1024.0);
	assert_true(sqrt(ten * ten) == 10.0);
	assert_true(trunc(minus) == -2.0);
	assert_true(fmod(ten, two + one) == 1.0);
	assert_true(acos(one) == 0.0);
	assert_true(fabs(atan2(one, one) - M_PI / 4) < 1e-12);
	assert_true(fabs(exp(log(five)) - 5.0) < 1e-12);
	assert_true(isnan(sqrt(-one)));
}

static void test_from_sql(void **state)
{
	sqlite3 *db;
	sqlite3_stmt *st;

	(void)state;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT pow(2, 12), sqrt(2.25), trunc(9.9), acos(-1)",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_true(sqlite3_column_double(st, 0) == 4096.0);
	assert_true(sqlite3_column_double(st, 1) == 1.5);
	assert_true(sqlite3_column_double(st, 2) == 9.0);
	assert_true(fabs(sqlite3_column_double(st, 3) - M_PI) < 1e-12);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_direct),
		cmocka_unit_test(test_from_sql),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
