/*
 * Unit tests of fd_write_all() (src/util/fdio.c): every byte lands where
 * asked, at an offset or at the file's position, after a write cut short
 * too, and a failure says so.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/fdio.h"

/* a file of its own, already unlinked */
static int temp_file(void)
{
	char path[] = "/tmp/nosco-test-fdio-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	return fd;
}

static void test_at_offsets(void **state)
{
	int fd = temp_file();
	char got[12];

	(void)state;
	assert_true(fd_write_all(fd, "world", 5, 6));
	assert_true(fd_write_all(fd, "hello ", 6, 0));
	assert_int_equal(pread(fd, got, sizeof(got), 0), 11);
	assert_memory_equal(got, "hello world", 11);
	/* a hole before what is written past the end reads as zeros */
	assert_true(fd_write_all(fd, "!", 1, 20));
	assert_int_equal(pread(fd, got, 10, 11), 10);
	assert_memory_equal(got, "\0\0\0\0\0\0\0\0\0!", 10);
	close(fd);
}

static void test_at_position(void **state)
{
	int fd = temp_file();
	char got[8];

	(void)state;
	assert_true(fd_write_all(fd, "abc", 3, -1));
	assert_true(fd_write_all(fd, "def", 3, -1));
	assert_int_equal(pread(fd, got, sizeof(got), 0), 6);
	assert_memory_equal(got, "abcdef", 6);
	close(fd);
}

/*
 * A file size limit cuts a write short: the rest is tried again, and the
 * next write fails (EFBIG). In a child, whose limit ends with it.
 */
static void test_partial_write(void **state)
{
	int fd = temp_file(), status;
	char got[32];
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		struct rlimit lim = { 10, 10 };

		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &lim))
			_exit(3);
		errno = 0;
		_exit(fd_write_all(fd, "0123456789abcdefghij", 20, 0) ? 1 : errno == EFBIG ? 0 : 2);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* the first 10 bytes went, in the write cut short */
	assert_int_equal(pread(fd, got, sizeof(got), 0), 10);
	assert_memory_equal(got, "0123456789", 10);
	close(fd);
}

static void test_failure(void **state)
{
	int fd = temp_file(), ro;
	char path[64];

	(void)state;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY);
	assert_true(ro >= 0);
	errno = 0;
	assert_false(fd_write_all(ro, "x", 1, 0));
	assert_int_equal(errno, EBADF);
	close(ro);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_at_offsets),
		cmocka_unit_test(test_at_position),
		cmocka_unit_test(test_partial_write),
		cmocka_unit_test(test_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
