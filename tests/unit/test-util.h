/*
 * Helpers shared by the unit test programs: paths in a test's temporary
 * directory, and running shell commands (compilers, readelf) from a test.
 */
#ifndef NOSCO_TESTS_UNIT_TEST_UTIL_H
#define NOSCO_TESTS_UNIT_TEST_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* test_path - DIR/NAME in a static buffer (a few live at once) */
static inline const char *test_path(const char *dir, const char *name)
{
	static char bufs[8][512];
	static int next;
	char *b = bufs[next++ % 8];

	snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
	return b;
}

/* test_sh - run a shell command; report it on stderr when it fails */
static inline int test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int test_sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st != 0)
		fprintf(stderr, "command failed (%d): %s\n", st, cmd);
	return st;
}

#endif
