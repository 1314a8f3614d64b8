/*
 * Unit tests of util/owner: an object's owner thread, and that the check
 * aborts in any other thread (in a forked child, which must die of
 * SIGABRT), also at the store's writing entry points in debug builds.
 */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/store.h"
#include "util/owner.h"

static struct owner shared;

static void *check_shared(void *arg)
{
	(void)arg;
	owner_check(&shared, "check_shared");
	return NULL;
}

/* in_thread - run fn in a new thread and wait for it */
static void in_thread(void *(*fn)(void *), void *arg)
{
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, fn, arg), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
}

/*
 * child_status - run fn in a forked child (its stderr into msg, if not
 * NULL) and return its wait status
 */
static int child_status(void (*fn)(void), char *msg, size_t len)
{
	int fds[2], status;
	pid_t pid;
	ssize_t n;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], STDERR_FILENO);
		fn();
		_exit(0);
	}
	close(fds[1]);
	n = read(fds[0], msg, len - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void test_owner_passes(void **state)
{
	(void)state;
	owner_init(&shared);
	assert_true(owner_is_me(&shared));
	owner_check(&shared, "test");
}

static void wrong_thread(void)
{
	owner_init(&shared);
	in_thread(check_shared, NULL);
}

static void test_wrong_thread_aborts(void **state)
{
	char msg[256];
	int status = child_status(wrong_thread, msg, sizeof(msg));

	(void)state;
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	assert_non_null(strstr(msg, "check_shared called by a thread that does not own it"));
}

static void *take_shared(void *arg)
{
	(void)arg;
	owner_take(&shared);
	return NULL;
}

/* handed_over - the owner gave it to another thread: the first owner may no longer use it */
static void handed_over(void)
{
	owner_init(&shared);
	in_thread(take_shared, NULL);
	owner_check(&shared, "handed_over");
}

static void given_back(void)
{
	owner_init(&shared);
	in_thread(take_shared, NULL);
	owner_take(&shared);
	owner_check(&shared, "given_back");
}

static void test_hand_over(void **state)
{
	char msg[256];

	(void)state;
	assert_true(WIFSIGNALED(child_status(handed_over, msg, sizeof(msg))));
	assert_non_null(strstr(msg, "handed_over called by"));
	assert_int_equal(child_status(given_back, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
}

static char store_path[] = "/tmp/nosco-test-owner-XXXXXX";
static struct store *store;

static void *write_meta(void *arg)
{
	struct err err;

	(void)arg;
	store_meta_set_int(store, "key", 1, &err);
	return NULL;
}

static void store_wrong_thread(void)
{
	struct err err;

	store = store_create(store_path, true, &err);
	if (!store)
		_exit(2);
	in_thread(write_meta, NULL);
}

static void store_handed_over(void)
{
	struct err err;

	store = store_create(store_path, true, &err);
	if (!store)
		_exit(2);
	store_hand_over(store, pthread_self());
	write_meta(NULL);
}

/* The store's writing entry points check their owner in debug builds (NOSCO_DEBUG). */
static void test_store_checks_owner(void **state)
{
	char msg[256];
	int status, fd;

	(void)state;
	if (!owner_checks_on())
		skip(); /* a build without the checks (make DEBUG=1 or ASAN=1 has them) */
	fd = mkstemp(store_path);
	assert_true(fd >= 0);
	close(fd);
	status = child_status(store_wrong_thread, msg, sizeof(msg));
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	assert_non_null(strstr(msg, "store_meta_set_int called by a thread that does not own it"));
	assert_int_equal(child_status(store_handed_over, msg, sizeof(msg)), 0);
	unlink(store_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_owner_passes),
		cmocka_unit_test(test_wrong_thread_aborts),
		cmocka_unit_test(test_hand_over),
		cmocka_unit_test(test_store_checks_owner),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
