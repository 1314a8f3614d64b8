/*
 * Threads of the traced process: the table, registers, waiting for stops,
 * and stopping every other thread while one steps over a breakpoint.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/kcmp.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <elf.h>

#include "trace/ptrace/tracee.h"
#include "util/xalloc.h"

struct tthread *tracee_thread(struct tracee *t, pid_t tid)
{
	return hashmap_get(&t->threads, (uint64_t)tid);
}

struct tthread *tracee_thread_add(struct tracee *t, pid_t tid, enum tthread_kind kind)
{
	struct tthread *th = xcalloc(1, sizeof(*th));

	th->tid = tid;
	th->kind = kind;
	th->resumed_by = PTRACE_CONT; /* one seized as it runs (attach.c) runs free */
	if (t->thread_state)
		th->engine_state = t->thread_state->make();
	hashmap_put(&t->threads, (uint64_t)tid, th);
	return th;
}

static void drop_step_bp(struct tracee *t, struct tthread *th)
{
	if (th->step_bp)
		tracee_bp_del(t, th->step_bp, BP_STEP);
	th->step_bp = 0;
}

void tracee_thread_free(struct tracee *t, struct tthread *th)
{
	if (t->thread_state)
		t->thread_state->free(th->engine_state);
	free(th);
}

void tracee_thread_remove(struct tracee *t, pid_t tid)
{
	struct tthread *th = hashmap_del(&t->threads, (uint64_t)tid);

	if (!th)
		return;
	drop_step_bp(t, th);
	tracee_thread_free(t, th);
	if (t->mem_tid == tid)
		t->mem_tid = t->pid;
}

int tracee_get_regs(struct tracee *t, struct tthread *th, struct err *err)
{
	struct iovec iov = { &th->regs, sizeof(th->regs) };

	(void)t;
	if (ptrace(PTRACE_GETREGSET, th->tid, (void *)NT_PRSTATUS, &iov))
		return err_sys(err, ERR_TRACE, "cannot read the registers of thread %d",
		               (int)th->tid);
	return 0;
}

int tracee_set_regs(struct tracee *t, struct tthread *th, struct err *err)
{
	struct iovec iov = { &th->regs, sizeof(th->regs) };

	(void)t;
	if (ptrace(PTRACE_SETREGSET, th->tid, (void *)NT_PRSTATUS, &iov))
		return err_sys(err, ERR_TRACE, "cannot write the registers of thread %d",
		               (int)th->tid);
	return 0;
}

#ifndef NT_X86_SHSTK
#define NT_X86_SHSTK 0x204 /* Linux 6.6: a kernel without it has no shadow stacks */
#endif

bool tracee_shadow_stack(const struct tthread *th)
{
	uint64_t ssp;
	struct iovec iov = { &ssp, sizeof(ssp) };

	/* ENODEV while the thread has none enabled, EINVAL on older kernels. */
	return !ptrace(PTRACE_GETREGSET, th->tid, (void *)NT_X86_SHSTK, &iov);
}

/* wait_event - one waitpid for any task: 0 with ev, 1 for none (WNOHANG) or a signal, -1 */
static int wait_event(struct tracee_event *ev, int flags, struct err *err)
{
	pid_t tid = waitpid(-1, &ev->status, __WALL | flags);

	if (tid > 0) {
		ev->tid = tid;
		return 0;
	}
	if (!tid || errno == EINTR)
		return 1;
	return err_sys(err, ERR_TRACE, "waitpid");
}

int tracee_next_event(struct tracee *t, struct tracee_event *ev, struct err *err)
{
	if (t->queue.len) {
		*ev = t->queue.data[0];
		memmove(t->queue.data, t->queue.data + 1, --t->queue.len * sizeof(*ev));
		return 0;
	}
	return wait_event(ev, 0, err);
}

int tracee_poll_event(struct tracee_event *ev, struct err *err)
{
	return wait_event(ev, WNOHANG, err);
}

int tracee_wait_thread(pid_t tid, int *status, struct err *err)
{
	while (waitpid(tid, status, __WALL) < 0)
		if (errno != EINTR)
			return err_sys(err, ERR_TRACE, "waitpid %d", (int)tid);
	return 0;
}

int tracee_get_pc(struct tracee *t, struct tthread *th, uint64_t *pc, struct err *err)
{
	long v;

	(void)t;
	errno = 0;
	v = ptrace(PTRACE_PEEKUSER, th->tid, (void *)arch_regs_pc_offset(), NULL);
	if (errno)
		return err_sys(err, ERR_TRACE, "cannot read the pc of thread %d", (int)th->tid);
	*pc = (uint64_t)v;
	return 0;
}

int tracee_set_pc(struct tracee *t, struct tthread *th, uint64_t pc, struct err *err)
{
	(void)t;
	if (ptrace(PTRACE_POKEUSER, th->tid, (void *)arch_regs_pc_offset(), (void *)pc))
		return err_sys(err, ERR_TRACE, "cannot set the pc of thread %d", (int)th->tid);
	return 0;
}

/*
 * step_by_bp - should a step of th over in be made by a breakpoint after
 * it? It is then set (*yes), or kept from the step before.
 */
static int step_by_bp(struct tracee *t, struct tthread *th, const struct arch_insn *in, bool *yes,
                      struct err *err)
{
	uint64_t next;

	*yes = false;
	if (!in->hv_emulated || t->trust_step_traps)
		return 0;
	next = in->addr + in->len;
	if (th->step_bp != next) {
		drop_step_bp(t, th);
		if (tracee_bp_add(t, next, BP_STEP, err))
			return -1;
		th->step_bp = next;
	}
	*yes = true;
	return 0;
}

/* go - let th go on with req (PTRACE_CONT or PTRACE_SINGLESTEP), delivering th->inject */
static int go(struct tracee *t, struct tthread *th, long req, struct err *err)
{
	int sig = th->inject;

	th->inject = 0;
	th->resume_epoch = t->bp_epoch;
	th->resumed_by = req;
	if (ptrace(req, th->tid, NULL, (void *)(long)sig)) {
		/* A thread killed meanwhile (exit_group in another thread) reports its exit later.
		 */
		if (errno == ESRCH)
			return 0;
		return err_sys(err, ERR_TRACE, "cannot resume thread %d", (int)th->tid);
	}
	th->running = true;
	return 0;
}

int tracee_return_over(struct tracee *t, struct tthread *th, struct err *err)
{
	uint64_t sp = arch_regs_sp(&th->regs), to;
	struct arch_insn insn;

	if (tracee_decode(t, arch_regs_pc(&th->regs), &insn) || !arch_is_plain_ret(&insn) ||
	    tracee_read(t, sp, &to, sizeof(to)) || tracee_bp_covering(t, to) ||
	    tracee_shadow_stack(th))
		return 0;
	arch_regs_set_pc(&th->regs, to);
	arch_regs_set_sp(&th->regs, sp + sizeof(to));
	return tracee_set_regs(t, th, err) ? -1 : 1;
}

int tracee_resume(struct tracee *t, struct tthread *th, bool step, struct err *err)
{
	drop_step_bp(t, th);
	return go(t, th, step ? PTRACE_SINGLESTEP : PTRACE_CONT, err);
}

int tracee_step(struct tracee *t, struct tthread *th, const struct arch_insn *insn, struct err *err)
{
	struct arch_insn here;
	bool by_bp = false;

	if (!insn && !tracee_decode(t, arch_regs_pc(&th->regs), &here))
		insn = &here;
	if (insn && step_by_bp(t, th, insn, &by_bp, err))
		return -1;
	if (!by_bp)
		drop_step_bp(t, th);
	return go(t, th, by_bp ? PTRACE_CONT : PTRACE_SINGLESTEP, err);
}

/* wait_stopped - wait for th to stop after PTRACE_INTERRUPT; queue any other stop it reports */
static int wait_stopped(struct tthread *th, struct err *err)
{
	int status;

	if (tracee_wait_thread(th->tid, &status, err))
		return errno == ECHILD ? 0 : -1;
	th->running = false;
	if (WIFSTOPPED(status) && status >> 16 == PTRACE_EVENT_STOP &&
	    (WSTOPSIG(status) == SIGTRAP))
		return 0; /* the interrupt itself */
	/* Stopped (or died) for a reason of its own: handle that after the step-over. */
	th->deferred_status = status;
	th->has_deferred = true;
	return 0;
}

int tracee_stop_world(struct tracee *t, struct tthread *except, struct err *err)
{
	struct tthread *th;
	size_t i = 0;

	while (hashmap_next(&t->threads, &i, NULL, (void **)&th)) {
		if (th == except || !th->running || th->in_vfork)
			continue;
		if (ptrace(PTRACE_INTERRUPT, th->tid, NULL, NULL) && errno != ESRCH)
			return err_sys(err, ERR_TRACE, "cannot interrupt thread %d", (int)th->tid);
		th->held = true;
	}
	i = 0;
	while (hashmap_next(&t->threads, &i, NULL, (void **)&th))
		if (th->held && th->running && wait_stopped(th, err))
			return -1;
	t->world_stopped = true;
	t->over_thread = except;
	return 0;
}

int tracee_resume_world(struct tracee *t, struct err *err)
{
	struct tthread *th;
	size_t i = 0;

	t->world_stopped = false;
	t->over_thread = NULL;
	while (hashmap_next(&t->threads, &i, NULL, (void **)&th)) {
		if (!th->held)
			continue;
		th->held = false;
		if (th->has_deferred) {
			struct tracee_event ev = { th->tid, th->deferred_status };

			th->has_deferred = false;
			vec_push(&t->queue, ev);
			continue;
		}
		/* It was running before: it is between stops, so it goes on as it was. */
		if (go(t, th, th->resumed_by, err))
			return -1;
	}
	return 0;
}

int tracee_status_line(pid_t tid, const char *key, char *out, size_t len)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	FILE *f;
	int ret = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) || line[klen] != ':')
			continue;
		snprintf(out, len, "%s", line + klen + 1 + strspn(line + klen + 1, " \t"));
		out[strcspn(out, "\n")] = '\0';
		ret = 0;
		break;
	}
	fclose(f);
	if (ret)
		errno = ENOENT;
	return ret;
}

bool tracee_is_thread_of(pid_t tid, pid_t pid)
{
	char v[32];

	return !tracee_status_line(tid, "Tgid", v, sizeof(v)) && atoi(v) == pid;
}

bool tracee_shares_memory(pid_t a, pid_t b, int event)
{
	long r = syscall(SYS_kcmp, a, b, KCMP_VM, 0, 0);

	/* Without kcmp, only vfork is known to share the memory. */
	if (r < 0)
		return event == PTRACE_EVENT_VFORK;
	return r == 0;
}

int tracee_group_stop(struct tracee *t, struct tthread *th, int sig, struct err *err)
{
	(void)t;
	if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
		/* Stay stopped until SIGCONT, as without nosco. */
		th->group_stop = true;
		if (ptrace(PTRACE_LISTEN, th->tid, NULL, NULL) && errno != ESRCH)
			return err_sys(err, ERR_TRACE, "PTRACE_LISTEN");
		return 1;
	}
	th->group_stop = false; /* any other stop: SIGCONT has come, if it was stopped */
	return 0;
}

bool tracee_hold_if_world_stopped(struct tracee *t, struct tthread *th, int status)
{
	th->running = false;
	if (!t->world_stopped || th == t->over_thread)
		return false;
	/* It could run again only past a lifted breakpoint: keep its stop for later. */
	th->held = true;
	th->deferred_status = status;
	th->has_deferred = true;
	return true;
}
