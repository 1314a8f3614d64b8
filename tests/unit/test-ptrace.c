/*
 * The ptrace substrate (src/trace/ptrace/) on a real child, without a
 * core: spawning it seized and stopped at its exec, its registers,
 * breakpoints hidden from reads (and gone from memory once deleted), a
 * step over one instruction; and the step engine's per-thread state over
 * it: the landings of longjmps and exceptions it watches (step/landing.c);
 * a program launched before its tracer is ready, adopted or aborted.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "trace/ptrace/tracee.h"
#include "trace/step/step.h"

struct child {
	struct tracee t;
	struct tthread *th;
	volatile sig_atomic_t stop;
	uint64_t pc; /* where it stopped: the dynamic linker's first instruction */
};

/* child_start - /bin/true stopped at its exec; ops: the engine's thread state (NULL: none) */
static void child_start(struct child *c, const struct tthread_state_ops *ops)
{
	static char *const argv[] = { "true", NULL };
	struct err err = { 0 };

	memset(c, 0, sizeof(*c));
	tracee_init(&c->t, NULL, &c->stop, ops);
	if (tracee_spawn(&c->t, "/bin/true", argv, CPU_ANY, &err) || tracee_open_mem(&c->t, &err))
		fail_msg("spawn: %s", err.msg);
	c->th = tracee_thread_add(&c->t, c->t.pid, TT_THREAD);
	assert_non_null(c->th);
	assert_int_equal(tracee_get_pc(&c->t, c->th, &c->pc, &err), 0);
	assert_true(c->pc != 0);
}

static void child_end(struct child *c)
{
	tracee_kill(&c->t);
	tracee_fini(&c->t);
}

/* The byte at addr as it is in memory, breakpoints and all. */
static uint8_t raw_byte(pid_t pid, uint64_t addr)
{
	char path[64];
	uint8_t b = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, (off_t)addr), 1);
	close(fd);
	return b;
}

static void test_spawned_at_exec(void **state)
{
	struct child c;
	struct err err = { 0 };

	(void)state;
	child_start(&c, NULL);
	assert_int_equal(tracee_get_regs(&c.t, c.th, &err), 0);
	assert_int_equal(arch_regs_pc(&c.th->regs), c.pc);
	assert_true(arch_regs_sp(&c.th->regs) != 0);
	child_end(&c);
}

static void test_bp_hidden(void **state)
{
	struct child c;
	struct err err = { 0 };
	uint8_t before[8], seen[8];

	(void)state;
	child_start(&c, NULL);
	assert_int_equal(tracee_read(&c.t, c.pc, before, sizeof(before)), 0);
	assert_int_equal(tracee_bp_add(&c.t, c.pc, BP_INTERNAL, &err), 0);
	assert_non_null(tracee_bp_at(&c.t, c.pc));
	assert_true(raw_byte(c.t.pid, c.pc) != before[0]); /* in memory */
	assert_int_equal(tracee_read(&c.t, c.pc, seen, sizeof(seen)), 0);
	assert_memory_equal(seen, before, sizeof(before)); /* not to a reader */
	tracee_bp_del(&c.t, c.pc, BP_INTERNAL);
	assert_null(tracee_bp_at(&c.t, c.pc));
	assert_int_equal(raw_byte(c.t.pid, c.pc), before[0]);
	child_end(&c);
}

/* A breakpoint serving two roles stays until both are gone. */
static void test_bp_roles(void **state)
{
	struct child c;
	struct err err = { 0 };
	uint8_t orig;

	(void)state;
	child_start(&c, NULL);
	orig = raw_byte(c.t.pid, c.pc);
	assert_int_equal(tracee_bp_add(&c.t, c.pc, BP_SCOPE, &err), 0);
	assert_int_equal(tracee_bp_add(&c.t, c.pc, BP_RET, &err), 0);
	tracee_bp_del(&c.t, c.pc, BP_SCOPE);
	assert_true(raw_byte(c.t.pid, c.pc) != orig);
	tracee_bp_del(&c.t, c.pc, BP_RET);
	assert_int_equal(raw_byte(c.t.pid, c.pc), orig);
	child_end(&c);
}

/*
 * An engine's door (BP_DOOR, a jump over the first bytes) is told of the
 * other roles at its address through its armed word; when the door goes,
 * a role left there keeps the breakpoint instruction, and the bytes after
 * it are the program's again.
 */
static void test_bp_door_role(void **state)
{
	static const uint8_t jump[5] = { 0xe9, 1, 2, 3, 4 };
	struct child c;
	struct err err = { 0 };
	uint8_t orig[5], now[5];
	uint64_t armed = 99;
	struct bp *bp;

	(void)state;
	child_start(&c, NULL);
	for (int i = 0; i < 5; i++)
		orig[i] = raw_byte(c.t.pid, c.pc + (uint64_t)i);
	assert_int_equal(tracee_bp_add(&c.t, c.pc, BP_DOOR, &err), 0);
	bp = tracee_bp_at(&c.t, c.pc);
	tracee_bp_watch(bp, &armed);
	assert_int_equal(armed, 0);
	assert_int_equal(tracee_bp_door(&c.t, bp, jump, sizeof(jump), &err), 0);
	assert_int_equal(raw_byte(c.t.pid, c.pc + 4), 4);
	assert_int_equal(tracee_bp_add(&c.t, c.pc, BP_RET, &err), 0);
	assert_int_equal(armed, 1);
	tracee_bp_watch(bp, NULL);
	tracee_bp_del(&c.t, c.pc, BP_DOOR);
	for (int i = 0; i < 5; i++)
		now[i] = raw_byte(c.t.pid, c.pc + (uint64_t)i);
	assert_true(now[0] != orig[0]);
	assert_memory_equal(now + 1, orig + 1, 4);
	tracee_bp_del(&c.t, c.pc, BP_RET);
	assert_int_equal(raw_byte(c.t.pid, c.pc), orig[0]);
	child_end(&c);
}

/*
 * A step over one instruction. The first step of a thread just exec'd may
 * stop before any instruction ran (the trap of the exec's return: the
 * step engine's "fresh" thread), so a second step may be needed.
 */
/* gone - has pid been reaped (no such process any more)? */
static bool gone(pid_t pid)
{
	return kill(pid, 0) < 0 && errno == ESRCH;
}

/* A launched program runs to its exec on its own; adopted, it is stopped there. */
static void test_launch_adopt(void **state)
{
	static char *const argv[] = { "true", NULL };
	struct tracee_launch l;
	struct err err = { 0 };
	struct child c;

	(void)state;
	memset(&c, 0, sizeof(c));
	tracee_init(&c.t, NULL, &c.stop, NULL);
	assert_int_equal(tracee_launch(&l, "/bin/true", argv, CPU_ANY, &err), 0);
	assert_true(l.pid > 0);
	assert_int_equal(tracee_adopt(&c.t, &l, &err), 0);
	assert_int_equal(l.pid, 0); /* the tracee's now */
	assert_true(c.t.pid > 0);
	assert_int_equal(tracee_open_mem(&c.t, &err), 0);
	c.th = tracee_thread_add(&c.t, c.t.pid, TT_THREAD);
	assert_int_equal(tracee_get_pc(&c.t, c.th, &c.pc, &err), 0);
	assert_true(c.pc != 0);
	child_end(&c);
}

/* One not adopted is killed and reaped; one that cannot exec says why, and is gone. */
static void test_launch_abort(void **state)
{
	static char *const argv[] = { "x", NULL };
	struct tracee_launch l;
	struct err err = { 0 };
	char path[] = "/tmp/nosco-test-launch-XXXXXX";
	struct child c;
	pid_t pid;
	int fd;

	(void)state;
	assert_int_equal(tracee_launch(&l, "/bin/true", argv, CPU_ANY, &err), 0);
	pid = l.pid;
	tracee_launch_abort(&l);
	assert_true(gone(pid));
	tracee_launch_abort(&l); /* twice: nothing */

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "#!/nonexistent/interpreter\n", 27), 27);
	close(fd);
	assert_int_equal(chmod(path, 0700), 0);
	memset(&c, 0, sizeof(c));
	tracee_init(&c.t, NULL, &c.stop, NULL);
	assert_int_equal(tracee_launch(&l, path, argv, CPU_ANY, &err), 0);
	pid = l.pid;
	assert_int_equal(tracee_adopt(&c.t, &l, &err), -1);
	assert_int_equal(err.kind, ERR_NOT_FOUND);
	assert_non_null(strstr(err.msg, "cannot execute"));
	assert_true(gone(pid));
	assert_int_equal(c.t.pid, 0);
	tracee_fini(&c.t);
	unlink(path);
}

static void test_step(void **state)
{
	struct child c;
	struct err err = { 0 };
	struct arch_insn in;
	uint64_t pc;
	int status, steps = 0;

	(void)state;
	child_start(&c, NULL);
	assert_int_equal(tracee_decode(&c.t, c.pc, &in), 0);
	/* The dynamic linker starts with straight-line code (mov rdi, rsp). */
	assert_int_equal(in.cls, ARCH_INSN_OTHER);
	do {
		assert_int_equal(tracee_step(&c.t, c.th, &in, &err), 0);
		assert_int_equal(waitpid(c.t.pid, &status, __WALL), c.t.pid);
		assert_true(WIFSTOPPED(status) && WSTOPSIG(status) == SIGTRAP);
		assert_int_equal(tracee_get_pc(&c.t, c.th, &pc, &err), 0);
	} while (pc == c.pc && ++steps < 2);
	assert_int_equal(pc, c.pc + in.len);
	child_end(&c);
}

/*
 * landing_start - a child whose thread has the step engine's state, a
 * longjmp's landing at its pc; *orig: the byte there
 */
static struct step_thread *landing_start(struct child *c, uint8_t *orig)
{
	struct step_thread *st;

	child_start(c, &step_thread_state);
	st = step_of(c->th);
	assert_non_null(st);
	*orig = raw_byte(c->t.pid, c->pc);
	st->landing = c->pc;
	return st;
}

/* A longjmp's landing, kept while recording, is watched past the depth limit. */
static void test_landing_watched(void **state)
{
	struct child c;
	struct err err = { 0 };
	uint8_t orig;
	struct step_thread *st = landing_start(&c, &orig);

	(void)state;
	st->dir.mode = CORE_RECORD;
	assert_int_equal(step_landing_watch(&c.t, c.th, &err), 0);
	assert_int_equal(st->resume_bps.len, 0); /* recorded: the core sees it land */
	st->dir.mode = CORE_RUN_TO_RETURN;
	assert_int_equal(step_landing_watch(&c.t, c.th, &err), 0);
	assert_int_equal(step_landing_watch(&c.t, c.th, &err), 0); /* once */
	assert_int_equal(st->resume_bps.len, 1);
	assert_true(raw_byte(c.t.pid, c.pc) != orig);
	assert_false(step_landing_take(&c.t, c.th, c.pc + 1));
	assert_true(step_landing_take(&c.t, c.th, c.pc));
	assert_int_equal(st->resume_bps.len, 0);
	assert_int_equal(st->landing, 0);
	assert_int_equal(raw_byte(c.t.pid, c.pc), orig);
	assert_false(step_landing_take(&c.t, c.th, c.pc));
	child_end(&c);
}

/* Out of every scope, a landing no longer matters; clearing unwatches them all. */
static void test_landing_forgotten(void **state)
{
	struct child c;
	struct err err = { 0 };
	uint8_t orig;
	struct step_thread *st = landing_start(&c, &orig);

	(void)state;
	st->dir.mode = CORE_RUN_FREE;
	assert_int_equal(step_landing_watch(&c.t, c.th, &err), 0);
	assert_int_equal(st->landing, 0);
	assert_int_equal(st->resume_bps.len, 0);
	st->landing = c.pc;
	st->dir.mode = CORE_RUN_TO_RETURN;
	assert_int_equal(step_landing_watch(&c.t, c.th, &err), 0);
	step_landing_clear(&c.t, c.th);
	assert_int_equal(st->resume_bps.len, 0);
	assert_int_equal(raw_byte(c.t.pid, c.pc), orig);
	child_end(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spawned_at_exec),
		cmocka_unit_test(test_bp_hidden),
		cmocka_unit_test(test_bp_roles),
		cmocka_unit_test(test_bp_door_role),
		cmocka_unit_test(test_step),
		cmocka_unit_test(test_landing_watched),
		cmocka_unit_test(test_landing_forgotten),
		cmocka_unit_test(test_launch_adopt),
		cmocka_unit_test(test_launch_abort),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
