/* The single-step backend's pieces, shared between its files. */
#ifndef NOSCO_TRACE_STEP_STEP_H
#define NOSCO_TRACE_STEP_STEP_H

#include "trace/backend.h"
#include "trace/ptrace/tracee.h"

/*
 * What the step engine keeps of a thread (the substrate's tthread holds it
 * as its engine_state; step_of() reaches it). An engine built on the step
 * engine (dbt) reads and sets it where it hands a thread back.
 */
struct step_thread {
	struct core_directive dir; /* what the core said it is to do */
	struct arch_insn pending;  /* CORE_RECORD: the instruction about to run at regs' pc */
	bool has_pending;
	struct arch_regs pending_regs; /* the registers before the pending instruction */
	/* regs holds only pc and sp: the rest was not read since the last
	 * straight-line instruction (reading them costs a system call per step) */
	bool regs_stale;
	/* just started or exec'd: its first step stop comes from the syscall's
	 * return, before any instruction ran */
	bool fresh;
	/* the code at code_addr, read once per straight-line run of instructions */
	uint8_t code[64];
	uint64_t code_addr;
	size_t code_len;
	uint64_t over_addr; /* stepping over the breakpoint here (0: not) */
	/* a signal with a handler was delivered while recording */
	int handler_sig;
	struct arch_regs interrupted;
	uint64_t ret_bps[2];      /* CORE_RUN_TO_RETURN: our return breakpoints (0: none) */
	VEC(uint64_t) resume_bps; /* landing pads this thread may resume recording at */
	uint64_t landing; /* where a longjmp it recorded the start of lands, until it lands */
};

/* step_of - the step engine's state of th */
static inline struct step_thread *step_of(const struct tthread *th)
{
	return th->engine_state;
}

/*
 * How an engine built on this one (the dbt engine) tells it what happened
 * to a thread while that engine ran it. The core's directive for the
 * thread (step_of(th)->dir) is whichever engine's that called the core
 * last; nothing else of the step engine's state changes but through these.
 */

/* step_ran - th ran meanwhile: its next step stop is not a new thread's first */
static inline void step_ran(struct tthread *th)
{
	step_of(th)->fresh = false;
}

/* step_taken - another engine runs th from here: no instruction of its is pending */
static inline void step_taken(struct tthread *th)
{
	step_of(th)->has_pending = false;
	step_ran(th);
}

/* step_given_back - th is back, th->regs whole and current: nothing read before holds */
static inline void step_given_back(struct tthread *th)
{
	struct step_thread *st = step_of(th);

	st->regs_stale = false;
	st->code_len = 0;
	st->has_pending = false;
}

/* step_regs_changed - th's registers were changed behind the step engine's back */
static inline void step_regs_changed(struct tthread *th)
{
	step_of(th)->regs_stale = true;
}

/*
 * step_pending_set - th is about to run in (a system call the other engine
 * leaves to the step engine to record); before: the registers it runs
 * from, NULL when the step engine has them already
 */
static inline void step_pending_set(struct tthread *th, const struct arch_insn *in,
                                    const struct arch_regs *before)
{
	struct step_thread *st = step_of(th);

	st->pending = *in;
	st->has_pending = true;
	if (before)
		st->pending_regs = *before;
}

/* How the substrate makes and frees a thread's struct step_thread (tracee_init()). */
extern const struct tthread_state_ops step_thread_state;

/*
 * step_start - spawn the session's program (or attach to it: step_attach)
 * and let its first thread go as the core says
 */
int step_start(struct tracee *t, struct session *s, struct err *err);
/* step_attach - attach to s->attach_pid and let every thread go as the core says */
int step_attach(struct tracee *t, struct session *s, struct err *err);
/*
 * step_end - end a run: stop the commit ticker, kill the program if it
 * failed or was stopped, note how it ended, close the calls still open
 * Return: ret, or the error of closing the trace.
 */
int step_end(struct tracee *t, struct session *s, int ret, struct err *err);
/* step_resume - let a stopped thread go on as its directive says */
int step_resume(struct tracee *t, struct tthread *th, struct err *err);
/* step_direct - give a stopped thread a new directive (its breakpoints set), not resuming it */
int step_direct(struct tracee *t, struct tthread *th, const struct core_directive *d,
                struct err *err);
/* step_apply - give a stopped thread a new directive and let it go on */
int step_apply(struct tracee *t, struct tthread *th, const struct core_directive *d,
               struct err *err);
/* step_refresh_regs - read th's registers if only pc and sp are known */
int step_refresh_regs(struct tracee *t, struct tthread *th, struct err *err);
/* step_arm_returns - the breakpoints where th's truncated call (or its caller) comes back (d) */
int step_arm_returns(struct tracee *t, struct tthread *th, const struct core_directive *d,
                     struct err *err);
/* step_drop_returns - remove th's return breakpoints */
void step_drop_returns(struct tracee *t, struct tthread *th);
int step_finish_over(struct tracee *t, struct tthread *th, struct err *err);
/*
 * step_go - let a stopped thread go on: one step over its pending
 * instruction (tracee_step(); a bare one when a signal handler is about to
 * be entered: it stops at the handler), or (step false) continue
 */
int step_go(struct tracee *t, struct tthread *th, bool step, struct err *err);

/* --- landing.c: leaving truncated calls by exceptions and longjmp --- */
/*
 * A call past the depth limit runs free until its return address is
 * reached, but an exception or a longjmp can leave it for a frame the core
 * records, past that return address. At the unwinding hooks
 * (escape_target()) the thread gets a breakpoint at the landing too, and
 * the core closes whatever the stack pointer says was left.
 */
/*
 * step_landing_on_hook - th is at addr, one of the tracer's hooks, with its
 * registers read: at an unwinding hook, if it runs a truncated call, watch
 * the landing; if it records, keep it (step_landing_watch())
 */
int step_landing_on_hook(struct tracee *t, struct tthread *th, uint64_t addr, struct err *err);
/* step_landing_take - is addr one of th's watched landings? (it is then unwatched) */
bool step_landing_take(struct tracee *t, struct tthread *th, uint64_t addr);
/*
 * step_landing_watch - th's directive changed: while it runs a call past
 * the depth limit, the landing of a longjmp it recorded the start of
 * (landing) is watched like the landings found in that call, since the
 * longjmp may go on in it (glibc's longjmp calls __longjmp)
 */
int step_landing_watch(struct tracee *t, struct tthread *th, struct err *err);
/* step_landing_clear - stop watching th's landings */
void step_landing_clear(struct tracee *t, struct tthread *th);

/* step_handle - act on one stop or exit of a task */
int step_handle(struct tracee *t, const struct tracee_event *ev, struct session *s,
                struct err *err);
/* step_done - has the traced process ended? */
bool step_done(const struct tracee *t);
/* step_collect_exit - how the process ended, into the session */
void step_collect_exit(struct tracee *t, struct session *s);

#endif
