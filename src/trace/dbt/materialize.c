/*
 * Materializing a thread that runs in the code cache: finding the
 * application state it is in, single-stepping it out of engine code
 * (spills, the lookup, the ring stubs) when it is not at a clean point,
 * replaying its ring up to there and giving it its own registers back.
 *
 * Clean points are the places where every register holds the
 * application's value: a block's head (nothing of it ran), the start of
 * an instruction's code in a block, right after a copied syscall or at a
 * cut block's exit, and every hypercall, whose meaning is recorded with
 * it (struct dbt_hyper).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <elf.h>

#include "trace/dbt/dbt.h"
#include "trace/step/step.h"

/*
 * The most single-steps out of engine code: its longest stretch is a scope
 * entry's stack walk, which may first empty the thread's kept rules (3
 * instructions for each of DBT_RULES_SLOTS: 1,536 steps; a timer signal
 * landed there in tests/e2e's async fixture, one run in ten, when this was
 * 1,000), checks the words its last walk read (some 8 instructions for
 * each of DBT_MEMO_PAIRS) and then looks up to DBT_WALK_MAX return
 * addresses up in the rules, the table and the rows (a binary search:
 * some hundreds each).
 */
#define MAX_STUB_STEPS (4 * DBT_RULES_SLOTS + 8 * DBT_MEMO_PAIRS + 1024 * DBT_WALK_MAX)

static int get_regs(pid_t tid, struct arch_regs *r, struct err *err)
{
	struct iovec iov = { r, sizeof(*r) };

	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &iov))
		return err_sys(err, ERR_TRACE, "cannot read the registers of thread %d", (int)tid);
	return 0;
}

static int set_regs(pid_t tid, const struct arch_regs *r, struct err *err)
{
	struct iovec iov = { (void *)r, sizeof(*r) };

	if (ptrace(PTRACE_SETREGSET, tid, (void *)NT_PRSTATUS, &iov))
		return err_sys(err, ERR_TRACE, "cannot write the registers of thread %d", (int)tid);
	return 0;
}

static void from_hyper(struct dbt *d, struct dbt_thread *dt, const struct dbt_hyper *h,
                       struct dbt_loc *l)
{
	l->b = h->b;
	l->done = h->done;
	l->pc = h->target;
	switch (h->kind) {
	case HY_SYNC:
		l->b = NULL; /* its record is not written yet */
		break;
	case HY_INDIRECT:
		l->pc = dbt_ctx_get(dt, DBT_CTX_TARGET);
		break;
	default:
		break;
	}
	/* On the way into unrecorded code: the block that led there was all recorded. */
	if (h->free)
		l->b = NULL;
	(void)d;
}

/* where - the application state at cache address pc: 1 clean, 0 engine code, -1 not ours */
static int where(struct dbt *d, struct dbt_thread *dt, uint64_t pc, bool after_int3,
                 struct dbt_loc *l)
{
	struct dbt_hyper h;
	struct dbt_block *b;
	uint64_t off;
	uint32_t k;

	if (dbt_hyper_at(d, after_int3 ? pc - ARCH_BP_LEN : pc, &h)) {
		from_hyper(d, dt, &h, l);
		return 1;
	}
	b = dbt_locate(d, pc);
	if (!b) {
		if (dbt_region_at(d, pc))
			return 0; /* the lookup, a door */
		/* Natively between its scopes (doors.c) or past the depth limit: where it is. */
		if (!dbt_ctx_get(dt, DBT_CTX_FREE_SP))
			return -1;
		l->b = NULL;
		l->done = 0;
		l->pc = pc;
		return 1;
	}
	if (pc == b->cache || pc == b->entry) {
		l->b = NULL;
		l->done = 0;
		l->pc = b->addr;
		return 1;
	}
	if (pc < b->body)
		return 0;
	off = pc - b->body;
	for (k = 0; k < b->n; k++) {
		if (b->off[k] != off)
			continue;
		l->b = b;
		l->done = k;
		l->pc = b->insns[k].a.addr;
		return 1;
	}
	if (b->term_end && off == b->term_end) {
		l->b = b;
		l->done = b->n;
		l->pc = b->insns[b->n - 1].a.addr + b->insns[b->n - 1].a.len;
		return 1;
	}
	return 0;
}

/* nearest - for a thread that cannot be stepped: the last instruction boundary before pc */
static void nearest(struct dbt *d, struct dbt_thread *dt, uint64_t pc, struct dbt_loc *l)
{
	struct dbt_block *b = dbt_locate(d, pc);
	uint32_t k;

	l->b = NULL;
	l->done = 0;
	l->pc = b ? b->addr : pc;
	if (!b || b != dbt_replay_block(d, &dt->rp) || pc < b->body)
		return;
	for (k = 0; k < b->n && b->body + b->off[k] <= pc; k++)
		;
	l->b = b;
	l->done = k ? k - 1 : 0;
	l->pc = b->insns[l->done].a.addr;
}

int dbt_ring_full(struct dbt *d, struct dbt_thread *dt, const siginfo_t *si, bool *yes,
                  struct err *err)
{
	uint64_t a = (uint64_t)(uintptr_t)si->si_addr, guard = dt->ring + d->ring_size;
	struct arch_regs r;

	*yes = si->si_signo == SIGSEGV && a >= guard && a < guard + DBT_PAGE;
	if (!*yes)
		return 0;
	if (get_regs(dt->th->tid, &r, err) || dbt_async_push(d, dt, err))
		return -1;
	/* The record stub goes on at the next ring's start. */
	arch_dbt_set_ring_cursor(&r, dt->ring);
	return set_regs(dt->th->tid, &r, err);
}

/*
 * trap_kept - does a single-step of the cache instruction at pc end with
 * its trap? Not after one a hypervisor may emulate (arch_insn's
 * hv_emulated). Engine code holds none, and the program's own are met at
 * clean points, where stepping out stops: this makes sure of it.
 */
static bool trap_kept(const struct dbt *d, uint64_t pc)
{
	const struct dbt_region *g = dbt_region_at(d, pc);
	struct arch_insn in;

	return !g || arch_decode(pc, g->map + (pc - g->base), g->base + g->used - pc, &in) ||
	       !in.hv_emulated;
}

/* step_out - single-step until a clean point; 2 if the thread stopped otherwise (queued) */
static int step_out(struct dbt *d, struct dbt_thread *dt, struct arch_regs *r, struct dbt_loc *l,
                    struct dbt_stash *stash, struct err *err)
{
	struct tthread *th = dt->th;
	siginfo_t si;
	int status, n, w;
	bool full;

	for (n = 0; n < MAX_STUB_STEPS; n++) {
		if (!trap_kept(d, arch_regs_pc(r)))
			return err_set(err, ERR_INTERNAL,
			               "dbt: thread %d would step an emulated instruction at %#llx",
			               (int)th->tid, (unsigned long long)arch_regs_pc(r));
		if (ptrace(PTRACE_SINGLESTEP, th->tid, NULL, NULL))
			return err_sys(err, ERR_TRACE, "cannot step thread %d", (int)th->tid);
		if (tracee_wait_thread(th->tid, &status, err))
			return -1;
		if (!WIFSTOPPED(status) || status >> 16) {
			struct tracee_event ev = { th->tid, status };

			vec_push(&d->t->queue, ev);
			return 2;
		}
		if (ptrace(PTRACE_GETSIGINFO, th->tid, NULL, &si))
			return err_sys(err, ERR_TRACE, "PTRACE_GETSIGINFO");
		if (WSTOPSIG(status) != SIGTRAP) {
			if (dbt_ring_full(d, dt, &si, &full, err))
				return -1;
			if (!full && !stash->sig) {
				stash->sig = WSTOPSIG(status);
				stash->si = si;
			}
		}
		if (get_regs(th->tid, r, err))
			return -1;
		w = where(d, dt, arch_regs_pc(r),
		          WSTOPSIG(status) == SIGTRAP && si.si_code == SI_KERNEL, l);
		if (w < 0)
			return err_set(err, ERR_INTERNAL, "dbt: thread %d stepped to %#llx",
			               (int)th->tid, (unsigned long long)arch_regs_pc(r));
		if (w)
			return 0;
	}
	return err_set(err, ERR_INTERNAL, "dbt: thread %d does not leave engine code at %#llx",
	               (int)th->tid, (unsigned long long)arch_regs_pc(r));
}

/*
 * hand_back - dt stopped at l (r: its registers): replay its ring up to
 * there, give it the application's registers (pc: where it goes on) and hand it to
 * the step engine
 */
static int hand_back(struct dbt *d, struct dbt_thread *dt, struct dbt_loc *l, struct arch_regs *r,
                     uint64_t pc, struct err *err)
{
	struct tthread *th = dt->th;
	int hit;

	if (dbt_drain(d, dt, err))
		return -1;
	/* Unrecorded code has nothing to replay. */
	if (l->b && l->b->free)
		l->b = NULL;
	arch_regs_set_pc(r, l->pc);
	arch_regs_set_engine_base(r, dbt_foreign_base(d, dt->app_base));
	hit = dbt_replay_finish(d, dt, l->b, l->done, l->pc, r, err);
	arch_regs_set_pc(r, pc);
	/* It runs natively from here if the core says so: inside a call past the depth limit. */
	if (hit < 0 || set_regs(th->tid, r, err) || step_arm_returns(d->t, th, &dt->step->dir, err))
		return -1;
	th->regs = *r;
	step_given_back(th);
	dt->in_cache = false;
	return hit;
}

int dbt_materialize(struct dbt *d, struct dbt_thread *dt, enum dbt_mat how, bool at_int3,
                    struct dbt_loc *l, struct dbt_stash *stash, struct err *err)
{
	struct tthread *th = dt->th;
	struct arch_regs r;
	int w;

	stash->sig = 0;
	if (get_regs(th->tid, &r, err))
		return -1;
	w = where(d, dt, arch_regs_pc(&r), at_int3, l);
	if (w < 0)
		return err_set(err, ERR_INTERNAL,
		               "dbt: thread %d stopped at %#llx, not in the cache", (int)th->tid,
		               (unsigned long long)arch_regs_pc(&r));
	if (!w && how == MAT_FAULT && dbt_fault_block(d, arch_regs_pc(&r))) {
		l->b = dbt_fault_block(d, arch_regs_pc(&r));
		l->done = l->b->n - 1;
		l->pc = l->b->insns[l->done].a.addr;
	} else if (!w && how == MAT_NO_STEP) {
		if (dbt_drain(d, dt, err))
			return -1;
		nearest(d, dt, arch_regs_pc(&r), l);
	} else if (!w) {
		w = step_out(d, dt, &r, l, stash, err);
		if (w)
			return w;
	}
	return hand_back(d, dt, l, &r, l->pc, err);
}

int dbt_materialize_native(struct dbt *d, struct dbt_thread *dt, uint64_t pc, bool trap,
                           struct err *err)
{
	struct dbt_loc l = { NULL, 0, trap ? pc - ARCH_BP_LEN : pc };
	struct arch_regs r;

	if (get_regs(dt->th->tid, &r, err))
		return -1;
	return hand_back(d, dt, &l, &r, pc, err);
}
