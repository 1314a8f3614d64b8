/*
 * The single-step backend: every instruction of a recording thread is one
 * PTRACE_SINGLESTEP; threads that are not recording run at full speed and
 * stop only at breakpoints (scope entries, returns of truncated calls, the
 * dynamic linker's r_brk). This is the reference engine: slow, simple and
 * exact.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>

#include "trace/backend.h"
#include "trace/engine.h"
#include "trace/session.h"
#include "trace/ptrace/tracee.h"
#include "trace/step/step.h"
#include "util/log.h"
#include "util/ticker.h"
#include "util/xalloc.h"

static long read_mem(void *ctx, uint64_t addr, void *buf, size_t len)
{
	size_t n = tracee_read_partial(ctx, addr, buf, len);

	return n ? (long)n : -1;
}

static int arm_scope(void *ctx, uint64_t addr, struct err *err)
{
	return tracee_bp_add(ctx, addr, BP_SCOPE, err);
}

static void disarm_scope(void *ctx, uint64_t addr)
{
	tracee_bp_del(ctx, addr, BP_SCOPE);
}

static void *thread_make(void)
{
	return xcalloc(1, sizeof(struct step_thread));
}

static void thread_free(void *state)
{
	struct step_thread *st = state;

	if (!st)
		return;
	vec_free(&st->resume_bps);
	free(st);
}

const struct tthread_state_ops step_thread_state = { thread_make, thread_free };

int step_go(struct tracee *t, struct tthread *th, bool step, struct err *err)
{
	struct step_thread *st = step_of(th);

	if (!step || st->handler_sig)
		return tracee_resume(t, th, step, err);
	return tracee_step(t, th, st->has_pending ? &st->pending : NULL, err);
}

/* start_step_over - step th over the breakpoint at its pc with every other thread stopped */
static int start_step_over(struct tracee *t, struct tthread *th, struct bp *bp, struct err *err)
{
	if (tracee_stop_world(t, th, err) || tracee_bp_lift(t, bp, err))
		return -1;
	step_of(th)->over_addr = bp->addr;
	return step_go(t, th, true, err);
}

/*
 * return_over - th, not recording, is at a breakpoint of the tracer's own
 * alone on a plain `ret` (`_dl_debug_state` under r_brk, at every
 * library loaded or unloaded): return for it instead of stepping over
 * it, which costs a stop and stops every other thread meanwhile
 * (tracee_return_over()).
 *
 * Return: 1 when th is at the return address, 0 when it must step over, -1 on error.
 */
static int return_over(struct tracee *t, struct tthread *th, const struct bp *bp, struct err *err)
{
	if (th->kind != TT_THREAD || bp->addr != arch_regs_pc(&th->regs) || !bp->internal ||
	    bp->scopes || bp->rets || bp->steps)
		return 0;
	return tracee_return_over(t, th, err);
}

/* finish_step_over - th stopped after a step-over: put the breakpoint back, release the others */
int step_finish_over(struct tracee *t, struct tthread *th, struct err *err)
{
	struct step_thread *st = step_of(th);
	uint64_t addr = st->over_addr;

	if (!addr)
		return 0;
	st->over_addr = 0;
	if (tracee_bp_restore(t, addr, err))
		return -1;
	return tracee_resume_world(t, err);
}

/*
 * decode_pending - decode the instruction at pc. Code is read a window at a
 * time and reused while the thread runs straight through it, so that most
 * single-steps cost no memory read.
 */
static void decode_pending(struct tracee *t, struct tthread *th, uint64_t pc)
{
	struct step_thread *st = step_of(th);
	uint64_t end = st->code_addr + st->code_len;
	bool window_ends_mapping = st->code_len < sizeof(st->code);

	if (pc < st->code_addr || pc >= end ||
	    (pc + ARCH_MAX_INSN_LEN > end && !window_ends_mapping)) {
		st->code_addr = pc;
		st->code_len = tracee_read_partial(t, pc, st->code, sizeof(st->code));
		end = pc + st->code_len;
	}
	arch_decode(pc, st->code + (pc - st->code_addr), end - pc, &st->pending);
}

int step_refresh_regs(struct tracee *t, struct tthread *th, struct err *err)
{
	struct step_thread *st = step_of(th);

	if (!st->regs_stale)
		return 0;
	st->regs_stale = false;
	return tracee_get_regs(t, th, err);
}

int step_resume(struct tracee *t, struct tthread *th, struct err *err)
{
	struct step_thread *st = step_of(th);
	uint64_t pc = arch_regs_pc(&th->regs);
	struct bp *bp = tracee_bp_at(t, pc);
	bool record = st->dir.mode == CORE_RECORD && th->kind == TT_THREAD;

	if (th->group_stop)
		return 0;
	/*
	 * The tracer's own hooks act whenever a thread passes them, whether it
	 * trapped there or stepped there (and is about to step over them).
	 */
	if (bp && bp->internal && th->kind == TT_THREAD) {
		if (step_refresh_regs(t, th, err) ||
		    (pc == t->lm.r_brk && linkmap_update(t, th, err)) ||
		    ifunc_on_hook(t, th, pc, err) || step_landing_on_hook(t, th, pc, err))
			return -1;
		bp = tracee_bp_at(t, pc); /* the update may have dropped it */
	}
	if (record && t->engine && t->engine->ops->take) {
		bool taken = false;

		if (t->engine->ops->take(t->engine->self, th, &taken, err))
			return -1;
		if (taken)
			return 0;
	}
	if (record) {
		decode_pending(t, th, pc);
		/* A syscall's number (rt_sigreturn?) needs real registers. */
		if (st->pending.cls == ARCH_INSN_SYSCALL && step_refresh_regs(t, th, err))
			return -1;
		st->pending_regs = th->regs;
		st->has_pending = true;
	} else {
		st->has_pending = false;
	}
	/* Inside a door's bytes too: they are not the program's instructions. */
	bp = tracee_bp_covering(t, pc);
	if (bp && !record) {
		int r = return_over(t, th, bp, err);

		if (r)
			return r < 0 ? -1 : step_resume(t, th, err);
	}
	if (bp)
		return start_step_over(t, th, bp, err);
	return step_go(t, th, record, err);
}

void step_drop_returns(struct tracee *t, struct tthread *th)
{
	struct step_thread *st = step_of(th);
	size_t i;

	for (i = 0; i < 2; i++)
		if (st->ret_bps[i])
			tracee_bp_del(t, st->ret_bps[i], BP_RET);
	memset(st->ret_bps, 0, sizeof(st->ret_bps));
}

int step_arm_returns(struct tracee *t, struct tthread *th, const struct core_directive *d,
                     struct err *err)
{
	struct step_thread *st = step_of(th);
	uint64_t want[2] = { 0, 0 };
	size_t i;

	if (d->mode == CORE_RUN_TO_RETURN) {
		want[0] = d->ret[0].addr;
		want[1] = d->ret[1].addr;
	}
	if (!memcmp(want, st->ret_bps, sizeof(want)))
		return 0;
	/* Add before deleting, so that a shared address never leaves memory. */
	for (i = 0; i < 2; i++)
		if (want[i] && tracee_bp_add(t, want[i], BP_RET, err))
			return -1;
	step_drop_returns(t, th);
	memcpy(st->ret_bps, want, sizeof(want));
	return 0;
}

int step_direct(struct tracee *t, struct tthread *th, const struct core_directive *d,
                struct err *err)
{
	if (step_arm_returns(t, th, d, err))
		return -1;
	if (d->mode != CORE_RUN_TO_RETURN)
		step_landing_clear(t, th);
	step_of(th)->dir = *d;
	return step_landing_watch(t, th, err);
}

int step_apply(struct tracee *t, struct tthread *th, const struct core_directive *d,
               struct err *err)
{
	return step_direct(t, th, d, err) ? -1 : step_resume(t, th, err);
}

/* next_event - tracee_next_event(), doing the engine's deferred work while no stop waits */
static int next_event(struct tracee *t, const struct engine *e, struct tracee_event *ev,
                      struct err *err)
{
	while (!t->queue.len && e->ops->defer && e->ops->defer(e->self)) {
		int r = tracee_poll_event(ev, err);

		if (r <= 0)
			return r;
	}
	return tracee_next_event(t, ev, err);
}

int engine_run(struct tracee *t, struct session *s, const struct engine *e, struct err *err)
{
	struct tracee_event ev;
	unsigned n = 0;

	while (!step_done(t)) {
		int r = next_event(t, e, &ev, err);

		if (r < 0)
			return -1;
		if (session_should_end(s)) {
			/* Not handled: detaching handles it (killing lets every task go). */
			if (r == 0)
				vec_push(&t->queue, ev);
			return 0;
		}
		/* Ticked (in waitpid or not), or every so many events: periodic work. */
		if (ticker_ticked() || r > 0 || !(++n & 1023)) {
			if (r > 0 && e->ops->running && e->ops->running(e->self, err))
				return -1;
			if ((!e->ops->idle || e->ops->idle(e->self)) && session_tick(s, err))
				return -1;
			session_progress(s, t->core);
		}
		if (r == 0 && e->ops->handle(e->self, &ev, err))
			return -1;
	}
	return 0;
}

/* The step engine alone: it handles every stop itself. */
struct step_engine {
	struct tracee *t;
	struct session *s;
};

static int step_engine_handle(void *self, const struct tracee_event *ev, struct err *err)
{
	struct step_engine *se = self;

	return step_handle(se->t, ev, se->s, err);
}

static const struct engine_ops step_engine_ops = { .handle = step_engine_handle };

/* begin - the binaries the program started with, then its first thread (a linkmap_meanwhile) */
static int begin(struct tracee *t, struct tthread *th, void *arg, struct err *err)
{
	struct core_directive *d = arg;

	if (linkmap_start(t, NULL, err))
		return -1;
	th->core = core_thread_new(t->core, t->pid, NULL, NULL, &th->regs, d, err);
	return th->core ? 0 : -1;
}

int step_start(struct tracee *t, struct session *s, struct err *err)
{
	struct core_directive d;
	struct linkmap_meanwhile meanwhile = { begin, &d, false };
	struct tthread *th;
	int loaded = 0;

	if (s->attach_pid)
		return step_attach(t, s, err);
	if (s->launch ? tracee_adopt(t, s->launch, err)
	              : tracee_spawn(t, s->path, s->argv, s->cpu, err))
		return -1;
	s->pid = t->pid;
	t->mem_tid = t->pid;
	th = tracee_thread_add(t, t->pid, TT_THREAD);
	if (tracee_open_mem(t, err) || tracee_get_regs(t, th, err))
		return -1;
	if (s->launch && (loaded = linkmap_prestart(t, th, &meanwhile, err)) < 0)
		return -1;
	step_of(th)->fresh = !loaded;
	if (!meanwhile.done && begin(t, th, &d, err))
		return -1;
	if (!loaded)
		return step_apply(t, th, &d, err);
	/* It goes on when the engine handles its queued stop. */
	step_of(th)->dir = d;
	return step_arm_returns(t, th, &d, err);
}

/* also_failed - the run failed with err, then closing its calls failed too: say both */
static void also_failed(struct err *err, const struct err *fin)
{
	size_t n = strlen(err->msg);

	snprintf(err->msg + n, sizeof(err->msg) - n, " (and closing its calls failed: %s)",
	         fin->msg);
}

int step_end(struct tracee *t, struct session *s, int ret, struct err *err)
{
	struct err fin = { 0 };

	enum store_call_end how = *s->stop ? STORE_END_KILLED : STORE_END_EXIT;

	ticker_stop();
	/* A program nosco attached to is never killed: it was detached, or it ended. */
	if ((ret || *s->stop) && !t->attached)
		tracee_kill(t);
	step_collect_exit(t, s);
	if (s->detached)
		how = STORE_END_DETACHED;
	if (!ret)
		ret = core_finish(t->core, how, false, err);
	else if (core_finish(t->core, s->detached ? how : STORE_END_KILLED, true, &fin))
		also_failed(err, &fin);
	core_get_stats(t->core, &s->stats);
	return ret;
}

static int step_run(struct session *s, struct err *err)
{
	struct core_target target = { .read_mem = read_mem,
		                      .arm_scope = arm_scope,
		                      .disarm_scope = disarm_scope };
	struct tracee t;
	struct step_engine se = { &t, s };
	const struct engine engine = { &step_engine_ops, &se };
	struct core *core;
	int ret;

	target.ctx = &t;
	core = core_new(s->cfg, s->store, s->checked, &target, err);
	if (!core)
		return -1;
	tracee_init(&t, core, s->stop, &step_thread_state);
	t.engine = &engine;
	ret = step_start(&t, s, err);
	/* While the program sleeps the trace still gets committed, the progress line moves. */
	if (!ret && ticker_start(BACKEND_TICK_MS))
		ret = err_sys(err, ERR_TRACE, "cannot start the commit timer");
	if (!ret)
		ret = engine_run(&t, s, &engine, err);
	ret = engine_leave(&t, s, &engine, ret, err);
	ret = step_end(&t, s, ret, err);
	tracee_fini(&t);
	if (!s->exits_after)
		core_free(core);
	return ret;
}

const struct backend_ops backend_step = {
	.name = "step",
	.run = step_run,
};
