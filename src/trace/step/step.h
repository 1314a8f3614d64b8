/* The single-step backend's pieces, shared between its files. */
#ifndef NOSCO_TRACE_STEP_STEP_H
#define NOSCO_TRACE_STEP_STEP_H

#include "trace/backend.h"
#include "trace/ptrace/tracee.h"

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

/* step_handle - act on one stop or exit of a task */
int step_handle(struct tracee *t, const struct tracee_event *ev, struct session *s,
                struct err *err);
/* step_done - has the traced process ended? */
bool step_done(const struct tracee *t);
/* step_collect_exit - how the process ended, into the session */
void step_collect_exit(struct tracee *t, struct session *s);

#endif
