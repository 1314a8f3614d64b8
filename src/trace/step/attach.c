/*
 * The step engine attached to a running process (nosco run --pid): its
 * threads start where they are, and at the end nosco detaches instead of
 * killing. How each engine brings its threads back to the program's own
 * state is its settle() and release() (engine.h); the ptrace side is
 * src/trace/ptrace/attach.c. docs/engine.md describes it.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

#include "trace/session.h"
#include "trace/step/step.h"
#include "util/log.h"

/* How long the threads may take to stop for the detach (a vfork child to exec, say). */
#define QUIET_TIMEOUT_S 30

/* give_up - attaching failed half-way: let the process go as it was */
static int give_up(struct tracee *t, struct session *s)
{
	tracee_detach(t, NULL);
	s->detached = true;
	return -1;
}

/*
 * start_thread - th is stopped where nosco found it: record it as
 * attached, and let it go as the core says (a thread with a stop of its
 * own queued goes on when the engine handles that stop)
 */
static int start_thread(struct tracee *t, struct tthread *th, struct err *err)
{
	bool queued = tracee_attach_queued(t, th);
	struct core_directive d;

	if (tracee_get_regs(t, th, err))
		return -1;
	/*
	 * Interrupted in a system call the kernel would restart on resuming:
	 * restart it now, so that the thread is at the syscall instruction,
	 * the next one it runs (what the step and dbt engines need).
	 */
	if (!queued && arch_regs_restart_syscall(&th->regs) && tracee_set_regs(t, th, err))
		return -1;
	th->core = core_thread_attached(t->core, th->tid, &th->regs, &d, err);
	if (!th->core)
		return -1;
	if (!queued)
		return step_apply(t, th, &d, err);
	step_of(th)->dir = d;
	return step_arm_returns(t, th, &d, err);
}

int step_attach(struct tracee *t, struct session *s, struct err *err)
{
	VEC(pid_t) tids = { 0 };
	struct tthread *th;
	size_t i = 0;
	int ret;

	if (tracee_attach(t, s->attach_pid, err))
		return -1;
	s->pid = t->pid;
	ret = tracee_open_mem(t, err) || linkmap_attach(t, err) ? -1 : 0;
	/* Threads in the order of their ids: the trace's thread ids follow it. */
	while (hashmap_next(&t->threads, &i, NULL, (void **)&th))
		vec_push(&tids, th->tid);
	for (i = 1; i < tids.len; i++)
		for (size_t j = i; j > 0 && tids.data[j - 1] > tids.data[j]; j--) {
			pid_t x = tids.data[j];

			tids.data[j] = tids.data[j - 1];
			tids.data[j - 1] = x;
		}
	for (i = 0; !ret && i < tids.len; i++)
		ret = start_thread(t, tracee_thread(t, tids.data[i]), err);
	vec_free(&tids);
	if (ret)
		return give_up(t, s);
	session_attached(s);
	return 0;
}

static int64_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* interrupts_lost - the engine handled a stop: the threads it resumed need interrupting again */
static void interrupts_lost(struct tracee *t)
{
	struct tthread *th;
	size_t i = 0;

	while (hashmap_next(&t->threads, &i, NULL, (void **)&th))
		th->detach_interrupted = false;
}

/* on_quiet - th stopped at its interrupt with nothing waiting: out of any step-over, engine code */
static int on_quiet(struct tracee *t, const struct engine *e, struct tthread *th, struct err *err)
{
	/* Its breakpoint goes back in (and away with the others): the held threads go on. */
	if (step_of(th)->over_addr && step_finish_over(t, th, err))
		return -1;
	return e->ops->settle ? e->ops->settle(e->self, th, err) : 0;
}

/*
 * quiet_all - stop every thread in the program's own state; the engine
 * handles every other stop meanwhile, as it would have
 */
static int quiet_all(struct tracee *t, const struct engine *e, struct err *err)
{
	int64_t give_up_at = now_s() + QUIET_TIMEOUT_S;
	struct tracee_event ev;
	struct tthread *th;
	bool all;
	int r;

	for (;;) {
		if (step_done(t))
			return 0; /* the process ended meanwhile */
		if (tracee_detach_interrupt(t, &all, err))
			return -1;
		if (all)
			return 0;
		r = tracee_next_event(t, &ev, err);
		if (r < 0)
			return -1;
		if (r > 0) {
			if (now_s() > give_up_at)
				return err_set(err, ERR_TRACE,
				               "the program's threads did not stop within %d s "
				               "to be detached",
				               QUIET_TIMEOUT_S);
			continue;
		}
		th = tracee_thread(t, ev.tid);
		r = th && WIFSTOPPED(ev.status) ? tracee_detach_stop(t, th, ev.status, err) : 2;
		if (r == 1)
			r = on_quiet(t, e, th, err);
		else if (r == 2) {
			r = e->ops->handle(e->self, &ev, err);
			interrupts_lost(t);
		}
		if (r < 0)
			return -1;
	}
}

int engine_leave(struct tracee *t, struct session *s, const struct engine *e, int ret,
                 struct err *err)
{
	struct err mine;
	struct err *derr = ret ? &mine : err;

	if (!t->attached || s->detached || step_done(t))
		return ret;
	log_debug("detaching from process %d", (int)t->pid);
	/* After an error, detaching still matters most: the program goes on. */
	if (quiet_all(t, e, derr) ||
	    (!step_done(t) && e->ops->release && e->ops->release(e->self, derr))) {
		if (ret)
			log_warn("detaching after the error: %s", mine.msg);
		tracee_detach(t, NULL);
		s->detached = !step_done(t);
		return -1;
	}
	if (step_done(t))
		return ret;
	s->detached = true;
	if (tracee_detach(t, derr))
		return -1;
	return ret;
}
