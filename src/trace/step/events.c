/*
 * What the single-step backend does with each stop: finished steps,
 * breakpoints, signals, new threads and processes, exec and exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <limits.h>

#include "trace/step/step.h"
#include "util/log.h"

#define SI_STEP_INTO_HANDLER SIGTRAP /* si_code of the stop at a signal handler's entry */

static struct store_exit exit_of(int status)
{
	struct store_exit ex = { 0 };

	if (WIFSIGNALED(status)) {
		ex.signaled = true;
		ex.code = WTERMSIG(status);
	} else {
		ex.code = WEXITSTATUS(status);
	}
	return ex;
}

/* fetch_regs - read the registers of a stopped thread; its code window starts afresh */
static int fetch_regs(struct tracee *t, struct tthread *th, struct err *err)
{
	struct step_thread *st = step_of(th);

	st->regs_stale = false;
	st->code_len = 0;
	return tracee_get_regs(t, th, err);
}

bool step_done(const struct tracee *t)
{
	return t->leader_dead;
}

void step_collect_exit(struct tracee *t, struct session *s)
{
	s->exit = exit_of(t->leader_status);
	s->unreaped = t->leader_unreaped;
}

/*
 * on_step - a recording thread executed its pending instruction (or
 * entered a handler); th->regs are still those from before.
 */
static int on_step_regs(struct tracee *t, struct tthread *th, int si_code, struct err *err)
{
	struct step_thread *st = step_of(th);
	struct core_directive d;

	if (!st->has_pending || st->dir.mode != CORE_RECORD)
		return step_resume(t, th, err); /* a step over a breakpoint, not recorded */
	/*
	 * The trap at the exit of a syscall that a signal interrupted and the
	 * kernel restarts as the thread resumes: the syscall is still to run.
	 */
	if (st->pending.cls == ARCH_INSN_SYSCALL && !st->regs_stale &&
	    arch_regs_syscall_restarts(&th->regs))
		return step_go(t, th, true, err);
	if (st->handler_sig) {
		int sig = st->handler_sig;

		st->handler_sig = 0;
		if (si_code == SI_STEP_INTO_HANDLER) {
			if (core_signal_handler(t->core, th->core, sig, &st->interrupted, &th->regs,
			                        &d, err))
				return -1;
			return step_apply(t, th, &d, err);
		}
	}
	/*
	 * Still at the instruction: a rep string instruction traps once per
	 * iteration, and a thread that just started or exec'd first reports
	 * the return from its syscall. Either way it has not completed.
	 */
	if ((st->pending.rep || st->fresh) && arch_regs_pc(&th->regs) == st->pending.addr) {
		st->fresh = false;
		return step_go(t, th, true, err);
	}
	st->fresh = false;
	if (arch_regs_pc(&th->regs) == st->pending.addr)
		log_debug("thread %d: step stop without progress at %#llx", (int)th->tid,
		          (unsigned long long)st->pending.addr);
	if (core_step(t->core, th->core, &st->pending, &st->pending_regs, &th->regs, &d, err))
		return -1;
	return step_apply(t, th, &d, err);
}

/* straight_line - an instruction after which the pc is the next one's */
static bool straight_line(const struct arch_insn *in)
{
	return in->cls == ARCH_INSN_OTHER && !in->rep;
}

/*
 * lost_trap - a recorded straight-line step that did not stop at the next
 * instruction, nor before its own (a signal): the trap after it was lost.
 */
static bool lost_trap(const struct tthread *th)
{
	struct step_thread *st = step_of(th);
	uint64_t pc = arch_regs_pc(&th->regs);

	return st->dir.mode == CORE_RECORD && st->has_pending && !st->handler_sig && !st->fresh &&
	       straight_line(&st->pending) && pc != st->pending.addr &&
	       pc != st->pending.addr + st->pending.len;
}

/*
 * on_lost_trap - the pending instruction ran and so did the next one,
 * unseen (a hypervisor emulated the first and dropped the trap after it:
 * tracee_step() steps the instructions known to do that by a breakpoint).
 * When the second is straight-line too and the two do not both move the
 * stack pointer, the registers between them are known where the core looks
 * (pc and sp) and both are recorded as they ran; else the trace cannot go
 * on exactly, and the run ends with an error rather than record it wrong.
 */
static int on_lost_trap(struct tracee *t, struct tthread *th, struct err *err)
{
	struct step_thread *st = step_of(th);
	const struct arch_insn *x = &st->pending;
	struct arch_insn y;
	struct arch_regs mid = th->regs;
	struct core_directive d;
	char text[96];

	if (tracee_decode(t, x->addr + x->len, &y) || !straight_line(&y) ||
	    (x->writes_sp && y.writes_sp) || arch_regs_pc(&th->regs) != y.addr + y.len) {
		arch_format(x, text, sizeof(text));
		return err_set(err, ERR_TRACE,
		               "thread %d: the single-step trap after '%s' at %#llx was lost (the "
		               "machine ran on to %#llx unseen); the trace cannot be exact",
		               (int)th->tid, text, (unsigned long long)x->addr,
		               (unsigned long long)arch_regs_pc(&th->regs));
	}
	log_debug("thread %d: the trap after %#llx was lost; both instructions recorded",
	          (int)th->tid, (unsigned long long)x->addr);
	arch_regs_set_pc(&mid, y.addr);
	if (!y.writes_sp)
		arch_regs_set_sp(&mid, arch_regs_sp(&th->regs));
	else
		arch_regs_set_sp(&mid, arch_regs_sp(&st->pending_regs));
	if (core_step(t->core, th->core, x, &st->pending_regs, &mid, &d, err))
		return -1;
	st->dir = d;
	st->pending = y;
	st->pending_regs = mid;
	return on_step_regs(t, th, TRAP_TRACE, err);
}

/* on_step - like on_step_regs, fetching the registers after the step first */
static int on_step(struct tracee *t, struct tthread *th, int si_code, struct err *err)
{
	if (fetch_regs(t, th, err))
		return -1;
	if (si_code == TRAP_TRACE && lost_trap(th))
		return on_lost_trap(t, th, err);
	return on_step_regs(t, th, si_code, err);
}

/* is_return - has a thread running to a return reached one of its return points? */
static bool is_return(const struct tthread *th, uint64_t pc)
{
	struct step_thread *st = step_of(th);
	size_t i;

	if (st->dir.mode != CORE_RUN_TO_RETURN)
		return false;
	for (i = 0; i < 2; i++)
		if (st->dir.ret[i].addr == pc && arch_regs_sp(&th->regs) > st->dir.ret[i].frame_sp)
			return true;
	return false;
}

/* caught_signals - the thread's handled-signal mask, to know whether a handler will run */
static uint64_t caught_signals(pid_t tid)
{
	char v[32];

	return tracee_status_line(tid, "SigCgt", v, sizeof(v)) ? 0 : strtoull(v, NULL, 16);
}

/* enter_scope - th is at a scope's entry: what it does there, as the engine or the core says */
static int enter_scope(struct tracee *t, struct tthread *th, struct core_directive *d,
                       struct err *err)
{
	const struct engine *e = t->engine;

	return e && e->ops->scope_hit ? e->ops->scope_hit(e->self, th, d, err)
	                              : core_scope_hit(t->core, th->core, &th->regs, d, err);
}

/*
 * scope_first - th, not recording, gets a signal at a scope's entry: the
 * call is made, and the handler runs inside the scope, as when the
 * breakpoint's trap comes first (the kernel reports either first when a
 * signal comes as the call is made). The scope is entered here as at its
 * breakpoint, so that the trace does not depend on which.
 */
static int scope_first(struct tracee *t, struct tthread *th, struct err *err)
{
	struct step_thread *st = step_of(th);
	uint64_t pc = arch_regs_pc(&th->regs);
	struct core_directive d = st->dir;

	if (!th->core || th->kind != TT_THREAD || st->dir.mode == CORE_RECORD ||
	    !tracee_bp_at(t, pc) || is_return(th, pc) || !core_is_scope_entry(t->core, pc))
		return 0;
	if (enter_scope(t, th, &d, err) || step_direct(t, th, &d, err))
		return -1;
	st->has_pending = d.mode == CORE_RECORD && !tracee_decode(t, pc, &st->pending);
	st->pending_regs = th->regs;
	return 0;
}

static int on_signal(struct tracee *t, struct tthread *th, int sig, struct err *err)
{
	struct step_thread *st = step_of(th);

	log_debug("thread %d gets signal %d", (int)th->tid, sig);
	if (fetch_regs(t, th, err) || scope_first(t, th, err))
		return -1;
	if (th->core && core_signal(t->core, th->core, sig, &th->regs, err))
		return -1;
	th->inject = sig;
	if (st->dir.mode == CORE_RECORD && st->has_pending && th->kind == TT_THREAD &&
	    (caught_signals(th->tid) & (1ull << (sig - 1)))) {
		st->handler_sig = sig;
		st->interrupted = th->regs;
		return step_go(t, th, true, err);
	}
	if (st->dir.mode == CORE_RECORD && st->has_pending)
		return step_go(t, th, true, err);
	return step_resume(t, th, err);
}

/*
 * program_has_int3 - is there an int3 of the program's own at addr? The
 * alternative is one of ours that another thread's return removed after
 * this thread hit it: memory holds the real instruction again.
 */
static bool program_has_int3(struct tracee *t, uint64_t addr)
{
	uint8_t b[ARCH_BP_LEN];

	return !tracee_read(t, addr, b, sizeof(b)) && !memcmp(b, arch_bp_insn, sizeof(b));
}

/*
 * on_own_int3 - th executed an int3 of the program's own at pc: a
 * recording thread records it as any instruction, then its SIGTRAP goes
 * to the program as any signal would (its handler a signal call)
 */
static int on_own_int3(struct tracee *t, struct tthread *th, uint64_t pc, struct err *err)
{
	struct step_thread *st = step_of(th);
	struct core_directive d;

	if (st->dir.mode == CORE_RECORD && st->has_pending && st->pending.addr == pc) {
		if (core_step(t->core, th->core, &st->pending, &st->pending_regs, &th->regs, &d,
		              err))
			return -1;
		if (d.mode != CORE_RECORD) {
			th->inject = SIGTRAP; /* recording ends here: the handler is not recorded */
			return step_apply(t, th, &d, err);
		}
		st->dir = d;
		st->pending_regs = th->regs;
		/* the next one is pending: the handler interrupts it (else run it plainly) */
		st->has_pending = !tracee_decode(t, arch_regs_pc(&th->regs), &st->pending);
	}
	return on_signal(t, th, SIGTRAP, err);
}

/* on_breakpoint - th executed an int3; rewind it and see which of ours it was */
static int on_breakpoint(struct tracee *t, struct tthread *th, struct err *err)
{
	struct step_thread *st = step_of(th);
	uint64_t pc;
	struct bp *bp;
	struct core_directive d = st->dir;
	bool decided = false;

	if (fetch_regs(t, th, err))
		return -1;
	pc = arch_regs_pc(&th->regs) - ARCH_BP_LEN;
	bp = tracee_bp_at(t, pc);
	if (!bp && program_has_int3(t, pc))
		return on_own_int3(t, th, pc, err);
	/* Ours, possibly removed since the thread hit it: run the real instruction. */
	arch_regs_set_pc(&th->regs, pc);
	if (tracee_set_regs(t, th, err))
		return -1;
	if (!bp)
		return step_resume(t, th, err);
	if (th->kind != TT_THREAD || st->dir.mode == CORE_RECORD)
		return step_resume(t, th, err); /* step over it (a recording thread records it) */
	if (is_return(th, pc) || step_landing_take(t, th, pc)) {
		if (core_return_hit(t->core, th->core, &th->regs, &d, err))
			return -1;
		decided = true;
	}
	if (!decided && core_is_scope_entry(t->core, pc)) {
		if (enter_scope(t, th, &d, err))
			return -1;
		decided = true;
	}
	return step_apply(t, th, &d, err);
}

/* bp_inserted_at - could a step from addr have hit one of our breakpoints instead? */
static bool bp_inserted_at(struct tracee *t, uint64_t addr)
{
	struct bp *bp = tracee_bp_at(t, addr);

	return bp && bp->inserted;
}

static int on_sigtrap(struct tracee *t, struct tthread *th, struct err *err)
{
	struct step_thread *st = step_of(th);
	siginfo_t si;

	/*
	 * The hot path: a plain recorded step that moved the pc is a finished
	 * step, nothing else; it is not worth a PTRACE_GETSIGINFO. Unless
	 * breakpoints changed while the thread ran: it may have executed one
	 * that is gone again.
	 */
	if (st->dir.mode == CORE_RECORD && st->has_pending && !st->handler_sig &&
	    st->pending.cls != ARCH_INSN_INT3 && th->resume_epoch == t->bp_epoch &&
	    !bp_inserted_at(t, st->pending.addr)) {
		/*
		 * Straight-line code: the pc moves on by the instruction's length
		 * and the stack pointer stays, so the registers need not be read.
		 * Anything else than that (a lost trap, a SIGTRAP sent before the
		 * instruction ran) is looked at below.
		 */
		uint64_t next = st->pending.addr + st->pending.len, pc;

		if (straight_line(&st->pending) && !st->pending.writes_sp && !st->fresh) {
			/* Only the pc is read, to be sure the step stopped where it must. */
			if (tracee_get_pc(t, th, &pc, err))
				return -1;
			if (pc == next) {
				arch_regs_set_pc(&th->regs, pc);
				st->regs_stale = true;
				return on_step_regs(t, th, TRAP_TRACE, err);
			}
		} else {
			if (fetch_regs(t, th, err))
				return -1;
			pc = arch_regs_pc(&th->regs);
			if (pc != st->pending.addr && (!straight_line(&st->pending) || pc == next))
				return on_step_regs(t, th, TRAP_TRACE, err);
		}
	}
	if (ptrace(PTRACE_GETSIGINFO, th->tid, NULL, &si))
		return err_sys(err, ERR_TRACE, "PTRACE_GETSIGINFO");
	log_debug("thread %d: SIGTRAP with si_code %d", (int)th->tid, si.si_code);
	switch (si.si_code) {
	case TRAP_TRACE:
	case TRAP_BRKPT: /* a single-step over a syscall instruction */
	case SI_STEP_INTO_HANDLER:
		return on_step(t, th, si.si_code, err);
	case SI_KERNEL:
		return on_breakpoint(t, th, err);
	default:
		return on_signal(t, th, SIGTRAP, err); /* sent by someone: the program's */
	}
}

/*
 * entered_insn - the pending instruction of a recording thread stopped in
 * the kernel, if it is one it executed (the exit syscall: the pc is past
 * it), not one it never completed (a faulting access that kills it).
 */
static const struct arch_insn *entered_insn(const struct tthread *th)
{
	struct step_thread *st = step_of(th);

	if (st->dir.mode != CORE_RECORD || !st->has_pending ||
	    arch_regs_pc(&th->regs) != st->pending.addr + st->pending.len)
		return NULL;
	return &st->pending;
}

/*
 * leader_leaving - the program's last thread left its exit stop: the run
 * ends now, the trace is finished while the kernel frees the program's
 * memory (a millisecond for Python), and it is reaped after
 * (session_forget()). Its status is final: exit_group fixed it, or no
 * thread is left to change it. Not with other tasks about (one may still
 * stop), nor for a process nosco attached to (its parent reaps it).
 */
static void leader_leaving(struct tracee *t, const struct tthread *th, int status)
{
	if (th->tid != t->pid || t->attached || t->threads.len != 1 || t->children.len ||
	    t->parked.len || t->queue.len)
		return;
	t->leader_dead = t->leader_unreaped = true;
	t->leader_status = status;
}

static int on_exit_event(struct tracee *t, struct tthread *th, struct err *err)
{
	struct step_thread *st = step_of(th);
	unsigned long msg = 0;
	struct store_exit ex;

	th->exiting = true;
	ptrace(PTRACE_GETEVENTMSG, th->tid, NULL, &msg);
	ex = exit_of((int)msg);
	if (th->core && fetch_regs(t, th, err) == 0 &&
	    core_thread_exit(t->core, th->core, entered_insn(th), &th->regs, &ex, err))
		return -1;
	st->has_pending = false;
	step_drop_returns(t, th);
	st->dir.mode = CORE_RUN_FREE;
	if (tracee_resume(t, th, false, err))
		return -1;
	leader_leaving(t, th, (int)msg);
	return 0;
}

static void on_death(struct tracee *t, pid_t tid, int status)
{
	struct tthread *th = tracee_thread(t, tid);

	if (th && th->core && !th->exiting) {
		/* No exit stop (SIGKILL): the thread still ends in the trace. */
		struct store_exit ex = exit_of(status);

		core_thread_exit(t->core, th->core, NULL, NULL, &ex, NULL);
	}
	if (th)
		step_drop_returns(t, th);
	tracee_thread_remove(t, tid);
	if (tid == t->pid) {
		t->leader_dead = true;
		t->leader_status = status;
	}
}

/* first_stop - the status of a new task's first stop (it may have been parked already) */
static int first_stop(struct tracee *t, pid_t tid, struct err *err)
{
	void *parked = hashmap_del(&t->parked, (uint64_t)tid);
	int status;

	if (parked)
		return (int)(intptr_t)parked - 1;
	if (tracee_wait_thread(tid, &status, err))
		return INT_MIN;
	return status;
}

static int new_thread(struct tracee *t, struct tthread *parent, pid_t tid, struct err *err)
{
	struct tthread *th;
	struct core_directive d;
	int status = first_stop(t, tid, err);

	if (status == INT_MIN)
		return -1;
	if (!WIFSTOPPED(status))
		return 0; /* died at once */
	th = tracee_thread_add(t, tid, TT_THREAD);
	if (fetch_regs(t, th, err))
		return -1;
	step_of(th)->fresh = true;
	th->core = core_thread_new(t->core, tid, parent->core, &parent->regs, &th->regs, &d, err);
	if (!th->core)
		return -1;
	return step_apply(t, th, &d, err);
}

/*
 * new_process - a fork (or vfork) child: it runs untraced. A copy of our
 * memory gets our breakpoints removed; a child sharing our memory stays
 * attached, only to be stepped over breakpoints, until it execs or exits.
 */
static int new_process(struct tracee *t, struct tthread *parent, pid_t pid, int event,
                       struct err *err)
{
	static const char *const how[] = {
		[PTRACE_EVENT_FORK] = "fork",
		[PTRACE_EVENT_VFORK] = "vfork",
		[PTRACE_EVENT_CLONE] = "clone",
	};
	int status = first_stop(t, pid, err);
	struct tthread *child;

	if (status == INT_MIN)
		return -1;
	if (parent->core && core_fork(t->core, parent->core, &parent->regs, pid, how[event], err))
		return -1;
	if (!WIFSTOPPED(status))
		return 0;
	if (!tracee_shares_memory(t->pid, pid, event)) {
		if (tracee_bp_clean_child(t, pid, err))
			return -1;
		tracee_cpu_release(t, pid);
		ptrace(PTRACE_DETACH, pid, NULL, NULL);
		return 0;
	}
	child = tracee_thread_add(t, pid, TT_SHARED_CHILD);
	step_of(child)->dir.mode = CORE_RUN_FREE;
	return tracee_resume(t, child, false, err);
}

static int on_new_task(struct tracee *t, struct tthread *th, int event, struct err *err)
{
	struct step_thread *st = step_of(th);
	unsigned long msg = 0;
	pid_t tid;

	if (ptrace(PTRACE_GETEVENTMSG, th->tid, NULL, &msg))
		return err_sys(err, ERR_TRACE, "PTRACE_GETEVENTMSG");
	tid = (pid_t)msg;
	if (fetch_regs(t, th, err))
		return -1;
	if (th->kind == TT_THREAD && event == PTRACE_EVENT_CLONE &&
	    tracee_is_thread_of(tid, t->pid)) {
		if (new_thread(t, th, tid, err))
			return -1;
	} else if (new_process(t, th, tid, event, err)) {
		return -1;
	}
	th->in_vfork = event == PTRACE_EVENT_VFORK;
	/* The creating syscall is still the pending instruction: just go on. */
	return step_go(t, th, st->dir.mode == CORE_RECORD && st->has_pending, err);
}

static int on_exec(struct tracee *t, struct tthread *th, struct err *err)
{
	struct step_thread *st = step_of(th);
	unsigned long former = 0;
	struct core_directive d;
	char link[64], path[PATH_MAX];
	ssize_t n;

	if (th->kind == TT_SHARED_CHILD) {
		/* Our vfork child has its own memory now: let it go. */
		tracee_cpu_release(t, th->tid);
		ptrace(PTRACE_DETACH, th->tid, NULL, NULL);
		tracee_thread_remove(t, th->tid);
		return 0;
	}
	ptrace(PTRACE_GETEVENTMSG, th->tid, NULL, &former);
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)t->pid);
	n = readlink(link, path, sizeof(path) - 1);
	path[n > 0 ? n : 0] = '\0';
	if (core_exec(t->core, th->core,
	              st->dir.mode == CORE_RECORD && st->has_pending ? &st->pending : NULL, path,
	              err))
		return -1;
	st->has_pending = false;
	memset(st->ret_bps, 0, sizeof(st->ret_bps));
	st->resume_bps.len = 0;
	st->landing = 0;
	tracee_bp_forget_all(t);
	escape_hooks_forget(t);
	if (tracee_open_mem(t, err) || fetch_regs(t, th, err) || linkmap_start(t, th, err) ||
	    core_thread_restart(t->core, th->core, &th->regs, &d, err))
		return -1;
	st->dir.mode = CORE_RUN_FREE;
	st->fresh = true;
	return step_apply(t, th, &d, err);
}

/* exec_rename - a non-leader thread exec'd: it now has the leader's tid */
static struct tthread *exec_rename(struct tracee *t, pid_t former)
{
	struct tthread *leader = tracee_thread(t, t->pid);
	struct tthread *th = tracee_thread(t, former);

	if (!th || former == t->pid)
		return leader;
	if (leader && leader->core && !leader->exiting) {
		struct store_exit ex = { 0 };

		core_thread_exit(t->core, leader->core, NULL, NULL, &ex, NULL);
	}
	tracee_thread_remove(t, t->pid);
	hashmap_del(&t->threads, (uint64_t)former);
	th->tid = t->pid;
	hashmap_put(&t->threads, (uint64_t)t->pid, th);
	if (th->core && core_thread_set_tid(t->core, th->core, t->pid, NULL))
		log_warn("cannot record that thread %d became %d", (int)former, (int)t->pid);
	return th;
}

static int on_event_stop(struct tracee *t, struct tthread *th, int sig, struct err *err)
{
	struct step_thread *st = step_of(th);
	int r = tracee_group_stop(t, th, sig, err);

	if (r)
		return r < 0 ? -1 : 0;
	if (fetch_regs(t, th, err))
		return -1;
	log_debug("thread %d: interrupt stop at %#llx", (int)th->tid,
	          (unsigned long long)arch_regs_pc(&th->regs));
	/*
	 * A late interrupt stop. Inside the pending syscall (the pc is past
	 * it; the kernel restarts it) the thread goes on with it; before its
	 * pending instruction, decide afresh: a breakpoint may be there now.
	 */
	if (st->dir.mode == CORE_RECORD && st->has_pending &&
	    arch_regs_pc(&th->regs) != st->pending.addr)
		return step_go(t, th, true, err);
	return step_resume(t, th, err);
}

static int on_stop(struct tracee *t, struct tthread *th, int status, struct err *err)
{
	const struct step_thread *st = step_of(th);
	int event = status >> 16, sig = WSTOPSIG(status);
	unsigned long former;

	log_debug("thread %d stopped: signal %d, event %d, mode %d, pending %#llx", (int)th->tid,
	          sig, event, (int)st->dir.mode,
	          st->has_pending ? (unsigned long long)st->pending.addr : 0ull);
	switch (event) {
	case 0:
		if (sig == SIGTRAP)
			return on_sigtrap(t, th, err);
		return on_signal(t, th, sig, err);
	case PTRACE_EVENT_CLONE:
	case PTRACE_EVENT_FORK:
	case PTRACE_EVENT_VFORK:
		return on_new_task(t, th, event, err);
	case PTRACE_EVENT_EXEC:
		if (th->kind == TT_THREAD && !ptrace(PTRACE_GETEVENTMSG, th->tid, NULL, &former))
			th = exec_rename(t, (pid_t)former);
		return th ? on_exec(t, th, err) : 0;
	case PTRACE_EVENT_EXIT:
		return on_exit_event(t, th, err);
	case PTRACE_EVENT_VFORK_DONE:
		/* Back from vfork; the syscall is still the pending instruction. */
		th->in_vfork = false;
		return step_go(t, th, st->dir.mode == CORE_RECORD && st->has_pending, err);
	case PTRACE_EVENT_STOP:
		return on_event_stop(t, th, sig, err);
	default:
		return tracee_resume(t, th, false, err);
	}
}

/*
 * on_bp_step_stop - th was resumed to run its pending instruction up to the
 * breakpoint after it (tracee_step()): the int3 there ends the step. A
 * signal that came after the instruction and before the int3 is held back
 * (the thread runs on to the int3) and sent again once the step is
 * recorded, to be delivered as it would have been at the next step.
 *
 * Return: 1 when the stop was handled here, 0 when it is an ordinary one
 * (the instruction did not run yet), -1 on error.
 */
static int on_bp_step_stop(struct tracee *t, struct tthread *th, int status, struct err *err)
{
	uint64_t at = th->step_bp, pc;
	int sig;

	if (status >> 16)
		return 0;
	if (fetch_regs(t, th, err))
		return -1;
	pc = arch_regs_pc(&th->regs);
	if (pc == at) {
		th->held_sigs |= 1ull << (WSTOPSIG(status) - 1);
		return step_go(t, th, true, err) ? -1 : 1;
	}
	if (pc != at + ARCH_BP_LEN || WSTOPSIG(status) != SIGTRAP)
		return 0;
	tracee_bp_del(t, at, BP_STEP);
	th->step_bp = 0;
	arch_regs_set_pc(&th->regs, at);
	if (tracee_set_regs(t, th, err))
		return -1;
	for (sig = 1; th->held_sigs; sig++)
		if (th->held_sigs & (1ull << (sig - 1))) {
			th->held_sigs &= ~(1ull << (sig - 1));
			syscall(SYS_tgkill, t->pid, th->tid, sig);
		}
	return on_step_regs(t, th, TRAP_TRACE, err) ? -1 : 1;
}

int step_handle(struct tracee *t, const struct tracee_event *ev, struct session *s, struct err *err)
{
	struct tthread *th = tracee_thread(t, ev->tid);
	int r;

	(void)s;
	if (!th && WIFSTOPPED(ev->status) && ev->status >> 16 == PTRACE_EVENT_EXEC &&
	    ev->tid == t->pid)
		th = NULL; /* handled below through exec_rename */
	if (!th) {
		if (WIFSTOPPED(ev->status) && ev->status >> 16 == PTRACE_EVENT_EXEC) {
			unsigned long former = 0;

			ptrace(PTRACE_GETEVENTMSG, ev->tid, NULL, &former);
			th = exec_rename(t, (pid_t)former);
			return th ? on_exec(t, th, err) : 0;
		}
		if (WIFSTOPPED(ev->status)) /* a new task announced later by its creator */
			hashmap_put(&t->parked, (uint64_t)ev->tid,
			            (void *)(intptr_t)(ev->status + 1));
		else if (ev->tid == t->pid)
			on_death(t, ev->tid, ev->status);
		return 0;
	}
	if (tracee_hold_if_world_stopped(t, th, ev->status))
		return 0;
	if (step_finish_over(t, th, err))
		return -1;
	if (!WIFSTOPPED(ev->status)) {
		on_death(t, ev->tid, ev->status);
		return 0;
	}
	r = th->step_bp ? on_bp_step_stop(t, th, ev->status, err) : 0;
	if (r)
		return r < 0 ? -1 : 0;
	return on_stop(t, th, ev->status, err);
}
