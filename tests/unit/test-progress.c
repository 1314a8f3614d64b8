/*
 * Unit tests of the progress line (src/util/progress.c): counts in five
 * characters (1.2M, 3.4G) rounded without a fourth digit, the line's
 * fields and their singulars, whole fields dropped to fit the terminal and
 * the first one cut when nothing else fits; on a pseudo-terminal, what is
 * written to draw, redraw and erase it, and that nothing is on a pipe.
 */
#include <poll.h>
#include <pty.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/progress.h"

static void check_count(uint64_t n, const char *want)
{
	char buf[PROGRESS_COUNT_MAX];

	assert_string_equal(progress_count(buf, n), want);
}

static void test_count(void **state)
{
	(void)state;
	check_count(0, "0");
	check_count(1, "1");
	check_count(999, "999");
	check_count(1000, "1.0k");
	check_count(1049, "1.0k");
	check_count(1050, "1.1k");
	check_count(12345, "12.3k");
	check_count(99949, "99.9k");
	check_count(99950, "100k");
	check_count(123456, "123k");
	check_count(999499, "999k");
	check_count(999500, "1.0M");
	check_count(1234567, "1.2M");
	check_count(3400000000ull, "3.4G");
	check_count(999999999999ull, "1.0T");
	check_count(UINT64_MAX, "18.4E");
}

static const struct progress_counts busy = { 1234567, 3400, 2, 12345678 };
static const char busy_line[] =
        "nosco: 5s, 1.2M instructions, 3.4k calls, 2 threads, 12.3 MB written";

static const char *line_of(unsigned width, uint64_t ms, const struct progress_counts *c)
{
	static char buf[256];
	size_t n = progress_format(buf, sizeof(buf), width, ms, c);

	assert_int_equal(n, strlen(buf));
	return buf;
}

static void test_fields(void **state)
{
	struct progress_counts one = { 1, 1, 1, 999 };
	struct progress_counts none = { 0, 0, 0, 0 };

	(void)state;
	assert_string_equal(line_of(200, 5999, &busy), busy_line);
	assert_string_equal(line_of(200, 0, &one),
	                    "nosco: 0s, 1 instruction, 1 call, 1 thread, 999 B written");
	assert_string_equal(line_of(200, 65000, &none),
	                    "nosco: 1m05s, 0 instructions, 0 calls, 0 threads");
	assert_string_equal(line_of(200, 3723000, &none),
	                    "nosco: 1h02m03s, 0 instructions, 0 calls, 0 threads");
}

static void test_width(void **state)
{
	size_t full = strlen(busy_line);
	unsigned w;

	(void)state;
	assert_string_equal(line_of((unsigned)full + 1, 5000, &busy), busy_line);
	/* One column short: the last field goes, whole. */
	assert_string_equal(line_of((unsigned)full, 5000, &busy),
	                    "nosco: 5s, 1.2M instructions, 3.4k calls, 2 threads");
	assert_string_equal(line_of(29, 5000, &busy), "nosco: 5s, 1.2M instructions");
	assert_string_equal(line_of(28, 5000, &busy), "nosco: 5s");
	assert_string_equal(line_of(5, 5000, &busy), "nosc");
	assert_string_equal(line_of(1, 5000, &busy), "");
	assert_string_equal(line_of(0, 5000, &busy), "");
	/* Any width: shorter than it, and whole fields once the first fits. */
	for (w = 0; w < 100; w++) {
		const char *l = line_of(w, 5000, &busy);
		size_t n = strlen(l);

		assert_true(n + 1 <= (w ? w : 1));
		assert_memory_equal(l, busy_line, n);
		if (w > 10)
			assert_true(busy_line[n] == ',' || busy_line[n] == '\0');
	}
}

static void test_cap(void **state)
{
	char buf[12];

	(void)state;
	/* A buffer smaller than the terminal is one narrower terminal. */
	assert_int_equal(progress_format(buf, sizeof(buf), 200, 5000, &busy), 9);
	assert_string_equal(buf, "nosco: 5s");
	assert_int_equal(progress_format(buf, 4, 200, 5000, &busy), 3);
	assert_string_equal(buf, "nos");
}

/* drain - what the terminal got, as a string */
static const char *drain(int master)
{
	static char buf[1024];
	struct pollfd p = { .fd = master, .events = POLLIN };
	size_t len = 0;
	ssize_t n;

	while (poll(&p, 1, 100) == 1 && len < sizeof(buf) - 1) {
		n = read(master, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

static void test_terminal(void **state)
{
	struct progress_counts c = busy;
	int master, slave;

	(void)state;
	assert_int_equal(openpty(&master, &slave, NULL, NULL, NULL), 0);
	setenv("TERM", "xterm", 1);
	assert_true(progress_start(slave));
	assert_false(progress_due()); /* not before PROGRESS_DELAY_MS */
	progress_show(&c);
	assert_string_equal(drain(master), "\r"
	                                   "nosco: 0s, 1.2M instructions, 3.4k calls, "
	                                   "2 threads, 12.3 MB written\033[K");
	progress_show(&c);
	assert_string_equal(drain(master), ""); /* nothing new to say */
	c.insns++;
	progress_show(&c);
	assert_string_equal(drain(master), "");
	c.insns = 2000000;
	progress_show(&c);
	assert_string_equal(drain(master), "\r"
	                                   "nosco: 0s, 2.0M instructions, 3.4k calls, "
	                                   "2 threads, 12.3 MB written\033[K");
	progress_hold();
	progress_release();
	assert_string_equal(drain(master), "\r\033[K");
	/* Erased already: the end writes nothing. */
	progress_stop();
	assert_string_equal(drain(master), "");
	progress_show(&c);
	assert_string_equal(drain(master), "");

	setenv("TERM", "dumb", 1);
	assert_false(progress_start(slave));
	unsetenv("TERM");
	assert_false(progress_start(slave));
	close(master);
	close(slave);
}

static void test_pipe(void **state)
{
	int fds[2];

	(void)state;
	assert_int_equal(pipe(fds), 0);
	setenv("TERM", "xterm", 1);
	assert_false(progress_start(fds[1]));
	assert_false(progress_due());
	progress_show(&busy);
	progress_hold();
	progress_release();
	progress_stop();
	close(fds[1]);
	assert_int_equal(read(fds[0], (char[8]){ 0 }, 8), 0);
	close(fds[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_count),    cmocka_unit_test(test_fields),
		cmocka_unit_test(test_width),    cmocka_unit_test(test_cap),
		cmocka_unit_test(test_terminal), cmocka_unit_test(test_pipe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
