/*
 * Stops of threads that run in the code cache. Cache misses are served
 * and the thread goes on in the cache; everything else "materializes" the
 * thread first: it is single-stepped out of any engine code it is in, its
 * ring is replayed up to there, and its registers become the
 * application's own (the real pc, the application's value of the engine
 * base register). Then the single-step engine handles the stop as if it
 * had been stepping the thread all along, and gives it back through
 * dbt_take() when it next resumes it recording. A thread that runs
 * natively between its scopes (doors.c) gets the application's base
 * register back at any stop and is handled as any native thread.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <elf.h>

#include "trace/dbt/dbt.h"
#include "trace/step/step.h"
#include "util/log.h"

/* Where a stopped cache thread is, in application terms. */
struct loc {
	struct dbt_block *b; /* the block it entered and is in, or NULL between blocks */
	uint32_t done;       /* instructions of b completed */
	uint64_t pc;         /* the application address it continues at */
};

static int get_regs(struct tthread *th, struct arch_regs *r, struct err *err)
{
	struct iovec iov = { r, sizeof(*r) };

	if (ptrace(PTRACE_GETREGSET, th->tid, (void *)NT_PRSTATUS, &iov))
		return err_sys(err, ERR_TRACE, "cannot read the registers of thread %d",
		               (int)th->tid);
	return 0;
}

static int set_regs(struct tthread *th, const struct arch_regs *r, struct err *err)
{
	struct iovec iov = { (void *)r, sizeof(*r) };

	if (ptrace(PTRACE_SETREGSET, th->tid, (void *)NT_PRSTATUS, &iov))
		return err_sys(err, ERR_TRACE, "cannot write the registers of thread %d",
		               (int)th->tid);
	return 0;
}

/*
 * A thread that returned out of its scopes DBT_HOT_RETURNS times through a
 * stop enters them often: from then on it leaves them without a stop,
 * natively (doors.c) or, where doors cannot be, in the cache, unrecorded
 * between its scopes. In the cache, unless the code it runs between them
 * is not in the cache yet: after this many misses between two scopes it
 * runs natively again, and needs twice as many returns to come back (a
 * program that enters its scopes from all over its code would be
 * translated whole).
 */
#define MISSES_OUT 16
/*
 * Coming back takes at most 4 times as many returns: doubling without end
 * made a thread that left 9 times (Python's imports between its memcpy
 * calls) wait for 8,192 returns, each a stop, while it entered memcpy
 * every few microseconds.
 */
#define HOT_AT_MAX(d) ((d)->hot_returns * 4) /* hot_returns is at most UINT32_MAX / 4 (mem.c) */

/*
 * too_many_misses - one more miss of dt between its scopes: was it the
 * MISSES_OUT-th since it last entered one? A scope entered without a stop
 * is seen in the ring: nothing else logs records between scopes. (Before,
 * only a stop counted as an entry: a thread entering memcpy every few
 * microseconds without a stop left the cache after 16 misses in all and
 * stopped at each of its 10,000 entries.)
 */
static bool too_many_misses(struct dbt_thread *dt)
{
	if (dbt_ctx_get(dt, DBT_CTX_CURSOR) != dt->miss_cursor)
		dt->misses_out = 0;
	return ++dt->misses_out > MISSES_OUT;
}

struct dbt_thread *dbt_thread_of(struct dbt *d, struct tthread *th, bool create)
{
	struct dbt_thread *dt = hashmap_get(&d->threads, (uint64_t)(uintptr_t)th);
	uint64_t off;
	uint32_t i;

	if (dt || !create || !d->ready)
		return dt;
	for (i = 0; i < DBT_FOREIGN_SLOT && d->slot_used[i]; i++)
		;
	if (i == DBT_FOREIGN_SLOT)
		return NULL;
	dt = xcalloc(1, sizeof(*dt));
	dt->th = th;
	dt->step = step_of(th);
	dt->slot = i;
	dt->hot_at = d->hot_returns;
	off = DBT_TABLE_SIZE + (uint64_t)i * DBT_SLOT_SIZE;
	dt->ctx = d->data_base + off;
	dt->ctxp = d->shm + off;
	dt->rings = dt->ring = dt->ctx + DBT_CTX_SIZE;
	dt->ringsp = dt->ringp = dt->ctxp + DBT_CTX_SIZE;
	memset(dt->ctxp, 0, DBT_CTX_SIZE);
	dbt_ctx_set(dt, DBT_CTX_CURSOR, dt->ring);
	dt->seen = dt->ring;
	dbt_ctx_set(dt, DBT_CTX_TABLE, d->data_base);
	dbt_ctx_set(dt, DBT_CTX_FRAMES, d->data_base + DBT_FRAMES_OFF);
	d->slot_used[i] = true;
	hashmap_put(&d->threads, (uint64_t)(uintptr_t)th, dt);
	return dt;
}

void dbt_thread_free(struct dbt *d, struct tthread *th)
{
	struct dbt_thread *dt = hashmap_del(&d->threads, (uint64_t)(uintptr_t)th);

	if (!dt)
		return;
	d->slot_used[dt->slot] = false;
	vec_free(&dt->rp.dyn);
	free(dt);
}

void dbt_threads_free(struct dbt *d)
{
	struct dbt_thread *dt;
	size_t i = 0;

	while (hashmap_next(&d->threads, &i, NULL, (void **)&dt)) {
		vec_free(&dt->rp.dyn);
		free(dt);
	}
	hashmap_fini(&d->threads);
	hashmap_init(&d->threads);
}

/*
 * guard_start - the page after each of the thread's rings faults: a full
 * ring stops the thread. The thread makes the calls while the tracer goes
 * on with its entry (guard_end() waits for them).
 */
static int guard_start(struct dbt *d, struct dbt_thread *dt, struct err *err)
{
	/* in the context page, past what the generated code uses */
	struct arch_dbt_syscall *calls = (void *)(dt->ctxp + DBT_CTX_BATCH);
	bool frames = d->n_regions && !d->frames_present;
	uint32_t k, n = DBT_RINGS;

	_Static_assert(DBT_RINGS + 2 <= DBT_BATCH_MAX, "the guard's calls overflow the batch");
	if (d->slot_guarded[dt->slot])
		return 0;
	for (k = 0; k < DBT_RINGS; k++)
		calls[k] =
		        (struct arch_dbt_syscall){ SYS_mprotect,
			                           { dt->rings + k * DBT_RING_STRIDE + d->ring_size,
			                             DBT_PAGE, PROT_NONE } };
	/*
	 * Present in the program at once rather than a page fault at a time
	 * (5 to 10 us each here): its first ring's start and, once, the frame
	 * table the stack walk looks return addresses up in at random (78 of
	 * the 90 faults Python's PyDict_New scope took there). Best effort:
	 * Linux 5.14 on; and only in a batch, not a stop of their own each.
	 */
	if (d->n_regions) {
		uint64_t ring = d->ring_size < DBT_RING_POPULATE ? d->ring_size : DBT_RING_POPULATE;

		calls[n++] = (struct arch_dbt_syscall){ SYS_madvise,
			                                { dt->rings, ring, MADV_POPULATE_WRITE } };
	}
	if (frames)
		calls[n++] = (struct arch_dbt_syscall){ SYS_madvise,
			                                { d->data_base + DBT_FRAMES_OFF,
			                                  DBT_FRAMES_HEAD, MADV_POPULATE_WRITE } };
	dt->guarding = true;
	dt->guarding_frames = frames;
	return dbt_remote_batch_start(d, dt->th, dt->ctx + DBT_CTX_BATCH, n, err);
}

/* guard_end - guard_start()'s calls made */
static int guard_end(struct dbt *d, struct dbt_thread *dt, struct err *err)
{
	const struct arch_dbt_syscall *calls = (void *)(dt->ctxp + DBT_CTX_BATCH);
	uint32_t k;

	if (!dt->guarding)
		return 0;
	dt->guarding = false;
	if (dbt_remote_batch_end(d, err))
		return -1;
	/* nosco's side of the frame table too, which it learns frames into */
	if (dt->guarding_frames)
		populate_write(d->shm + DBT_FRAMES_OFF, DBT_FRAMES_HEAD);
	d->frames_present |= dt->guarding_frames;
	for (k = 0; k < DBT_RINGS; k++)
		if (calls[k].ret)
			return err_set(err, ERR_TRACE, "dbt: cannot protect a ring's guard page");
	d->slot_guarded[dt->slot] = true;
	return 0;
}

/*
 * leave_to - where dt's return out of the outermost recorded frame goes:
 * natively where the scope it entered last has a door (doors.c) and the
 * program does not use its gs base (the thread keeps it pointing at its
 * context page); otherwise to the tracer until it did that often, then on
 * in the cache without a stop (which translates what runs between scopes).
 */
static uint64_t leave_to(const struct dbt *d, const struct dbt_thread *dt)
{
	if (dt->door && !d->no_doors && !dt->app_base)
		return d->regions[0].leave_native;
	return dt->returns_out < dt->hot_at ? d->regions[0].ind_miss : d->regions[0].leave;
}

/* group_start - the first of the run of recorded frames that ends with frame end - 1 */
static uint32_t group_start(const struct core_thread *ct, uint32_t end)
{
	struct core_frame_info f;

	while (end > 0 && core_frame_at(ct, end - 1, &f) && !f.truncated && !f.signal)
		end--;
	return end;
}

/* truncated_at - is frame i a truncated call's, not a signal handler's? */
static bool truncated_at(const struct core_thread *ct, uint32_t i, struct core_frame_info *f)
{
	return core_frame_at(ct, i, f) && f->truncated && !f->signal;
}

/*
 * nest - the thread's innermost frames are a scope's entered from a
 * truncated call (a callback of a call past the depth limit): returned out
 * of them, it goes on natively in that call (arch_dbt_emit_leave's
 * resuming form), and the call's own return comes back through its return
 * door as a native call's does, into the recorded frames below, which may
 * themselves be such a scope's (a level each, DBT_NEST_MAX at most). A
 * level needs a return door or a watch at the call's return address and
 * at that of the frame it was called from, as a native call does. Sets the context
 * words of the innermost frames and the levels below them; false (nothing
 * set) where there is no level.
 */
static bool nest(struct dbt *d, struct dbt_thread *dt, uint32_t open)
{
	const struct core_thread *ct = dt->th->core;
	uint64_t levels[DBT_NEST_MAX][DBT_LEVEL_WORDS];
	struct core_frame_info t, caller, root;
	uint32_t lo = group_start(ct, open), top = lo, below, n = 0, i;
	uint64_t leave;

	if (d->no_doors || d->no_native || dt->app_base || lo == open)
		return false;
	for (; n < DBT_NEST_MAX && lo >= 2; n++, lo = below) {
		if (!truncated_at(ct, lo - 1, &t) || !core_frame_at(ct, lo - 2, &caller) ||
		    caller.truncated || caller.signal || !dbt_return_caught(d, t.ret_addr) ||
		    !dbt_return_caught(d, caller.ret_addr))
			break;
		below = group_start(ct, lo - 1);
		core_frame_at(ct, below, &root);
		/* The outermost leave as always; others by the next level, or a stop. */
		leave = below ? d->regions[0].ind_miss : leave_to(d, dt);
		if (n)
			levels[n - 1][DBT_LEVEL_LEAVE] = d->regions[0].leave_resume;
		memcpy(levels[n],
		       (uint64_t[DBT_LEVEL_WORDS]){ t.entry_sp, caller.budget, lo - 1 - below,
		                                    caller.entry_sp + ARCH_PTR_SIZE, root.entry_sp,
		                                    leave },
		       sizeof(levels[n]));
	}
	if (!n)
		return false;
	for (i = 0; i < n; i++)
		for (uint32_t w = 0; w < DBT_LEVEL_WORDS; w++)
			dbt_ctx_set(dt, DBT_CTX_LEVELS + ((n - 1 - i) * DBT_LEVEL_WORDS + w) * 8,
			            levels[i][w]);
	core_frame_at(ct, top, &root);
	dbt_ctx_set(dt, DBT_CTX_NEST, DBT_CTX_LEVELS + (n - 1) * DBT_LEVEL_WORDS * 8);
	dbt_ctx_set(dt, DBT_CTX_OUT, open - top);
	dbt_ctx_set(dt, DBT_CTX_ROOT_SP, root.entry_sp);
	dbt_ctx_set(dt, DBT_CTX_LEAVE, d->regions[0].leave_resume);
	return true;
}

/* load_context - what the cache's code needs to know of the core's frames for dt */
static void load_context(struct dbt *d, struct dbt_thread *dt)
{
	const struct core_thread *ct = dt->th->core;
	uint32_t open = core_open_frames(ct);

	dbt_ctx_set(dt, DBT_CTX_UP, core_call_budget(ct));
	/* The innermost frame's entry as the cache keeps it (none: nothing to be sure of). */
	dbt_ctx_set(dt, DBT_CTX_CALL_SP, open ? core_close_sp(ct) + ARCH_PTR_SIZE : ARCH_PTR_SIZE);
	dbt_ctx_set(dt, DBT_CTX_FREE_SP, 0);
	dbt_ctx_set(dt, DBT_CTX_NESTING, 0);
	dbt_ctx_set(dt, DBT_CTX_NEST, DBT_CTX_LEVELS - DBT_LEVEL_WORDS * 8);
	dt->misses_out = 0;
	if (nest(d, dt, open))
		return;
	dbt_ctx_set(dt, DBT_CTX_OUT, open);
	dbt_ctx_set(dt, DBT_CTX_ROOT_SP, core_root_sp(ct));
	dbt_ctx_set(dt, DBT_CTX_LEAVE, leave_to(d, dt));
}

/* enter - start th at b in the cache */
static int enter(struct dbt *d, struct dbt_thread *dt, struct dbt_block *b, struct err *err)
{
	struct tthread *th = dt->th;
	struct arch_regs r = th->regs;

	dt->app_base = arch_regs_engine_base(&r);
	if (dbt_is_engine_base(d, dt->app_base))
		dt->app_base = 0;
	if (dt->app_base && !d->no_doors) {
		d->no_doors = true;
		dbt_ret_doors_arm(d);
	}
	arch_regs_set_engine_base(&r, dt->ctx);
	/* The step engine just acted on whatever the tracer's hooks at b are for. */
	arch_regs_set_pc(&r, b->entry);
	load_context(d, dt);
	if (set_regs(th, &r, err))
		return -1;
	dbt_replay_start(dt, &r);
	dt->in_cache = true;
	step_taken(th);
	return tracee_resume(d->t, th, false, err);
}

/* after_syscall - a system call that may change code mappings ran: forget what it changed */
static void after_syscall(struct dbt *d, struct dbt_thread *dt)
{
	const uint64_t *a = dt->syscall_args;
	uint64_t lo = a[0] & ~(uint64_t)(DBT_PAGE - 1), len = 0;
	bool replaced = true; /* the bytes there may be others now, or soon: writable */

	switch (dt->syscall_nr) {
	case SYS_mprotect:
	case SYS_pkey_mprotect:
		replaced = a[2] & PROT_WRITE;
		len = a[1];
		break;
	case SYS_munmap:
	case SYS_mremap:
		len = a[1];
		break;
	case SYS_mmap:
		if (a[3] & MAP_FIXED)
			len = a[1];
		break;
	case SYS_shmdt:
		lo = 0;
		len = UINT64_MAX;
		break;
	default:
		break;
	}
	if (len) {
		uint64_t hi = len == UINT64_MAX ? UINT64_MAX : a[0] + len;

		dbt_invalidate(d, lo, hi);
		if (replaced)
			dbt_ret_doors_drop(d, lo, hi);
	}
	/* Which binaries there are, and so how their frames unwind, may have changed. */
	dbt_frames_forget(d);
	d->maps_stale = true;
}

/* broken - the engine cannot map its memory (why in err): every thread is stepped */
static void broken(struct dbt *d, const struct err *err)
{
	log_warn("%s; tracing by single-stepping only", err->msg);
	d->broken = true;
}

int dbt_thread_made_start(struct dbt *d, struct tthread *th, struct err *err)
{
	if (th->inject || th->kind != TT_THREAD || d->broken)
		return 0;
	if (step_refresh_regs(d->t, th, err))
		return -1;
	if (dbt_mem_ready_start(d, th, arch_regs_pc(&th->regs), err))
		broken(d, err);
	return 0;
}

int dbt_thread_made_end(struct dbt *d, struct tthread *th, struct dbt_thread **dt, struct err *err)
{
	*dt = NULL;
	if (th->inject || th->kind != TT_THREAD || d->broken)
		return 0;
	if (dbt_mem_ready_end(d, th, err)) {
		broken(d, err);
		return 0;
	}
	*dt = dbt_thread_of(d, th, true);
	return 0;
}

int dbt_thread_made(struct dbt *d, struct tthread *th, struct dbt_thread **dt, struct err *err)
{
	*dt = NULL;
	return dbt_thread_made_start(d, th, err) || dbt_thread_made_end(d, th, dt, err) ? -1 : 0;
}

int dbt_take(struct dbt *d, struct tthread *th, bool *taken, struct err *err)
{
	struct dbt_thread *dt;
	struct dbt_block *b;
	uint64_t pc;
	int rc;

	*taken = false;
	if (dbt_thread_made(d, th, &dt, err))
		return -1;
	if (!dt)
		return 0;
	if (dt->force_step) {
		dt->force_step--;
		d->n_stepped++;
		return 0;
	}
	if (dt->syscall_nr) {
		after_syscall(d, dt);
		dt->syscall_nr = 0;
	}
	/* Its first translations and its door are made while it guards its rings. */
	if (guard_start(d, dt, err))
		return -1;
	pc = arch_regs_pc(&th->regs);
	b = core_is_scope_entry(d->t->core, pc)
	            ? dbt_scope_block_at(d, th, pc, core_call_budget(th->core))
	            : dbt_block_at(d, th, pc, false, core_call_budget(th->core));
	/*
	 * Likely the scope it enters again next: natively if it has a door,
	 * else in the cache. The door is written at the first entry (until
	 * stop 37 at the second: two stops more, the thread's first return
	 * out of the scope and its next entry).
	 */
	rc = b && core_is_scope_entry(d->t->core, b->addr)
	             ? dbt_door_try(d, th, b->addr, &dt->door, err)
	             : 0;
	if (guard_end(d, dt, rc ? &(struct err){ 0 } : err) || rc)
		return -1;
	if (!b) {
		d->n_fallback++;
		return 0;
	}
	*taken = true;
	return enter(d, dt, b, err);
}

/* pending_at - the step engine's state for a thread about to execute the instruction at l */
static void pending_at(struct dbt *d, struct tthread *th, const struct dbt_loc *l)
{
	struct step_thread *st = step_of(th);

	if (l->b && l->done < l->b->n)
		st->pending = l->b->insns[l->done].a;
	else
		tracee_decode(d->t, l->pc, &st->pending);
	st->pending_regs = th->regs;
	st->has_pending = true;
}

/* resume_at - set a cache thread going at pc (a served miss: only the pc changes) */
static int resume_at(struct dbt *d, struct tthread *th, uint64_t pc, struct err *err)
{
	if (tracee_set_pc(d->t, th, pc, err))
		return -1;
	return tracee_resume(d->t, th, false, err);
}

/* note_syscall - the system call a thread is about to make, to act on once it ran */
static void note_syscall(struct dbt_thread *dt, const struct arch_regs *r)
{
	dt->syscall_nr = (long)arch_regs_syscall_nr(r);
	for (int i = 0; i < 4; i++)
		dt->syscall_args[i] = arch_regs_syscall_arg(r, i);
}

/* hand_over - th is materialized: the step engine goes on with it as the core says */
static int hand_over(struct dbt *d, struct tthread *th, struct err *err)
{
	struct core_directive dir = step_of(th)->dir;

	return step_apply(d->t, th, &dir, err);
}

/* on_sync - a block the tracer wanted to see entered: act as the step engine's breakpoint */
static int on_sync(struct dbt *d, struct dbt_thread *dt, struct err *err)
{
	struct tthread *th = dt->th;
	struct dbt_stash st;
	struct dbt_loc l;
	struct core_directive nd;
	int hit = dbt_materialize(d, dt, MAT_STEP, true, &l, &st, err);

	if (hit < 0 || hit == 2)
		return hit < 0 ? -1 : 0;
	d->n_syncs++;
	nd = dt->step->dir;
	/* As the scope's breakpoint: not after a recorded step, which steps over it. */
	if (!hit && !dt->rp.landed_recorded && dt->step->dir.mode != CORE_RECORD &&
	    core_is_scope_entry(d->t->core, l.pc)) {
		if (dbt_frames_scope_hit(d, th, &nd, err))
			return -1;
	}
	return step_apply(d->t, th, &nd, err);
}

/* on_step_here - the instruction at the hypercall is for the step engine (a call, a syscall) */
static int on_step_here(struct dbt *d, struct dbt_thread *dt, const struct dbt_hyper *h,
                        struct err *err)
{
	struct tthread *th = dt->th;
	struct dbt_stash st;
	struct dbt_loc l;
	int rc = dbt_materialize(d, dt, MAT_STEP, true, &l, &st, err);

	if (rc < 0 || rc == 2)
		return rc < 0 ? -1 : 0;
	if (h->kind == HY_SYSCALL) {
		note_syscall(dt, &th->regs);
	}
	dt->force_step = h->kind == HY_STEP ? 0 : 1;
	return hand_over(d, th, err);
}

/* step_in_cache - single-step th where it is; 2 if it stopped otherwise (queued for the loop) */
static int step_in_cache(struct dbt *d, struct tthread *th, int *other, struct err *err)
{
	struct tracee_event ev = { th->tid, 0 };

	for (;;) {
		if (ptrace(PTRACE_SINGLESTEP, th->tid, NULL, NULL))
			return err_sys(err, ERR_TRACE, "cannot step thread %d", (int)th->tid);
		if (tracee_wait_thread(th->tid, &ev.status, err))
			return -1;
		if (!WIFSTOPPED(ev.status) || ev.status >> 16) {
			vec_push(&d->t->queue, ev);
			return 2;
		}
		if (WSTOPSIG(ev.status) == SIGTRAP)
			return 0;
		/* A signal before the step: it is sent again once the step is done. */
		if (!*other)
			*other = WSTOPSIG(ev.status);
	}
}

/* is_map_syscall - a system call listed only for the mappings it may change? */
static bool is_map_syscall(long nr)
{
	return nr == SYS_mmap || nr == SYS_munmap || nr == SYS_mprotect || nr == SYS_mremap ||
	       nr == SYS_pkey_mprotect || nr == SYS_shmat || nr == SYS_shmdt;
}

/*
 * on_map_syscall - th is at the hypercall before a system call that may
 * change code mappings (r: its registers): the call runs where it is, in
 * the cache (one single-step), then the translations it made stale are
 * dropped. The core has nothing to do with it: the thread stays in the
 * cache, and the replay worker goes on meanwhile.
 */
static int on_map_syscall(struct dbt *d, struct dbt_thread *dt, uint64_t at,
                          const struct dbt_hyper *h, struct arch_regs *r, struct err *err)
{
	struct tthread *th = dt->th;
	const struct dbt_block *b = h->b;
	uint64_t insn = b->body + b->term_end - b->insns[b->n - 1].a.len, pc;
	int other = 0, rc;

	note_syscall(dt, r);
	arch_regs_set_pc(r, insn);
	if (set_regs(th, r, err))
		return -1;
	d->n_stepped++;
	rc = step_in_cache(d, th, &other, err);
	if (rc < 0)
		return -1;
	/* Stopped before the call ran: back to the hypercall, to come here again. */
	if (rc == 2 && !get_regs(th, r, err) && arch_regs_pc(r) == insn) {
		arch_regs_set_pc(r, at);
		dt->syscall_nr = 0;
		return set_regs(th, r, err);
	}
	after_syscall(d, dt);
	dt->syscall_nr = 0;
	if (other)
		syscall(SYS_tgkill, d->t->pid, th->tid, other);
	if (rc == 2)
		return 0;
	/* Anywhere but right after the syscall, the step's trap was lost. */
	if (tracee_get_pc(d->t, th, &pc, err))
		return -1;
	if (pc != b->body + b->term_end)
		return err_set(err, ERR_INTERNAL, "dbt: thread %d stepped a system call to %#llx",
		               (int)th->tid, (unsigned long long)pc);
	return tracee_resume(d->t, th, false, err);
}

/*
 * returned_out - did the thread return out of every frame it had when it
 * entered the cache? It then leaves what the core records, most likely,
 * and runs natively from there (on_sync). The count only decides when to
 * ask: a longjmp or an exception makes it wrong either way, and the
 * replay says what really happened.
 */
static bool returned_out(const struct dbt_thread *dt)
{
	return dbt_ctx_get(dt, DBT_CTX_OUT) == 0;
}

/* between_scopes - is the thread in the cache unrecorded with no call to return from? */
static bool between_scopes(const struct dbt_thread *dt)
{
	return dbt_ctx_get(dt, DBT_CTX_FREE_SP) == UINT64_MAX;
}

/* on_hyper - th executed the hypercall int3 at at */
static int on_hyper(struct dbt *d, struct dbt_thread *dt, uint64_t at, const struct dbt_hyper *h,
                    struct err *err)
{
	struct tthread *th = dt->th;
	struct dbt_block *b;
	uint64_t target = h->target;
	struct arch_regs r;

	switch (h->kind) {
	case HY_EXIT:
	case HY_INDIRECT:
		if (h->kind == HY_INDIRECT && !h->free && returned_out(dt)) {
			dt->returns_out++;
			return dbt_async_sync(d, err) ? -1 : on_sync(d, dt, err);
		}
		if (h->free && h->b && between_scopes(dt) && too_many_misses(dt)) {
			dt->returns_out = 0;
			if (dt->hot_at < HOT_AT_MAX(d))
				dt->hot_at *= 2;
			return dbt_async_sync(d, err) ? -1 : on_sync(d, dt, err);
		}
		if (h->kind == HY_INDIRECT)
			target = dbt_ctx_get(dt, DBT_CTX_TARGET);
		/* A miss is served while the worker replays: translation leaves the core alone. */
		b = dbt_block_at(d, th, target, h->free, (int64_t)dbt_ctx_get(dt, DBT_CTX_UP));
		if (!b)
			return dbt_async_sync(d, err) ? -1 : on_step_here(d, dt, h, err);
		d->n_misses++;
		/* An exit whose block was invalidated is not waiting for the new one. */
		if (h->kind == HY_EXIT) {
			uint64_t *slot = dbt_tracer_ptr(d, h->slot);

			if (*slot != (h->past_sync ? b->entry : b->cache))
				dbt_link(d, (struct dbt_link){ h->slot, at, h->past_sync }, b);
		} else {
			dbt_table_add(d, b);
		}
		if (dbt_async_offer(d, dt, err))
			return -1;
		dt->miss_cursor = dbt_ctx_get(dt, DBT_CTX_CURSOR);
		return resume_at(d, th, h->past_sync ? b->entry : b->cache, err);
	case HY_SYSCALL:
		if (get_regs(th, &r, err))
			return -1;
		if (is_map_syscall((long)arch_regs_syscall_nr(&r)))
			return on_map_syscall(d, dt, at, h, &r, err);
		break;
	case HY_NATIVE:
		return dbt_native_miss(d, dt, at, err);
	case HY_TRUNC: {
		/* A site tried once has its way: no registers to read for it again. */
		int native = h->b->native_tried ? 0
		             : get_regs(th, &r, err)
		                     ? -1
		                     : dbt_native_try(d, dt, h->b, arch_regs_sp(&r), err);

		if (native)
			return native < 0 ? -1 : 0;
		dbt_trunc_seen(d, h->b);
		break;
	}
	default:
		break;
	}
	if (dbt_async_sync(d, err))
		return -1;
	return h->kind == HY_SYNC ? on_sync(d, dt, err) : on_step_here(d, dt, h, err);
}

/* on_signal - a signal for a cache thread: the step engine delivers it at the real pc */
static int on_signal(struct dbt *d, struct dbt_thread *dt, const struct tracee_event *ev,
                     const siginfo_t *si, struct err *err)
{
	struct tthread *th = dt->th;
	bool sync = si->si_code > 0 && si->si_code != SI_KERNEL;
	struct dbt_stash st;
	struct dbt_loc l;
	int rc = dbt_syscall_restarts(d, dt, err);

	if (rc)
		return rc < 0 ? -1 : step_handle(d->t, ev, d->s, err);
	rc = dbt_materialize(d, dt, sync ? MAT_FAULT : MAT_STEP, false, &l, &st, err);
	if (rc < 0 || rc == 2)
		return rc < 0 ? -1 : 0;
	/* Stepped out of engine code with the signal held back: it is still this one. */
	if (ptrace(PTRACE_SETSIGINFO, th->tid, NULL, si))
		return err_sys(err, ERR_TRACE, "PTRACE_SETSIGINFO");
	if (st.sig && st.sig != WSTOPSIG(ev->status))
		syscall(SYS_tgkill, d->t->pid, th->tid, st.sig);
	pending_at(d, th, &l);
	return step_handle(d->t, ev, d->s, err);
}

/*
 * syscall_pending - a ptrace event (clone, fork, vfork) inside a copied
 * syscall: materialize the thread with the syscall as the step engine's
 * pending instruction, to return to the real address after it.
 */
static int syscall_pending(struct dbt *d, struct dbt_thread *dt, struct err *err)
{
	struct tthread *th = dt->th;
	struct arch_regs r, before;
	struct dbt_block *b;
	struct dbt_stash st;
	struct dbt_loc l;
	int rc;

	if (get_regs(th, &r, err))
		return -1;
	b = dbt_locate(d, arch_regs_pc(&r));
	if (!b || !b->term_end || arch_regs_pc(&r) != b->body + b->term_end)
		return err_set(err, ERR_INTERNAL, "dbt: thread %d reported a system call at %#llx",
		               (int)th->tid, (unsigned long long)arch_regs_pc(&r));
	/* Replay up to the syscall, not past it: the step engine records it when it returns. */
	arch_regs_set_pc(&r, b->body + b->off[b->n - 1]);
	if (set_regs(th, &r, err))
		return -1;
	rc = dbt_materialize(d, dt, MAT_NO_STEP, false, &l, &st, err);
	if (rc < 0)
		return -1;
	before = th->regs;
	arch_regs_before_syscall(&before);
	step_pending_set(th, &b->insns[b->n - 1].a, &before);
	arch_regs_set_pc(&th->regs, l.pc + b->insns[b->n - 1].a.len);
	return set_regs(th, &th->regs, err);
}

int dbt_syscall_restarts(struct dbt *d, struct dbt_thread *dt, struct err *err)
{
	struct dbt_block *b;
	struct arch_regs r;

	if (get_regs(dt->th, &r, err))
		return -1;
	b = dbt_locate(d, arch_regs_pc(&r));
	if (!b || !b->term_end || arch_regs_pc(&r) != b->body + b->term_end ||
	    b->insns[b->n - 1].a.cls != ARCH_INSN_SYSCALL || !arch_regs_syscall_restarts(&r))
		return 0;
	return syscall_pending(d, dt, err) ? -1 : 1;
}

/*
 * fix_child - a task created from the cache starts where its creator's
 * syscall returns, in the cache, with the creator's gs base: move it to the
 * real address and the application's gs base before the step engine sees
 * it. A child process of its own also loses the engine's mappings.
 */
static int fix_child(struct dbt *d, struct dbt_thread *parent, pid_t tid, int event,
                     uint64_t real_pc, struct err *err)
{
	void *parked = hashmap_del(&d->t->parked, (uint64_t)tid);
	struct tthread tmp = { .tid = tid };
	bool own = !(event == PTRACE_EVENT_CLONE && tracee_is_thread_of(tid, d->t->pid)) &&
	           !tracee_shares_memory(d->t->pid, tid, event);
	struct arch_regs r;
	int status;

	if (parked) {
		status = (int)(intptr_t)parked - 1;
	} else if (tracee_wait_thread(tid, &status, err)) {
		return -1;
	}
	if (WIFSTOPPED(status)) {
		if (get_regs(&tmp, &r, err))
			return -1;
		arch_regs_set_pc(&r, real_pc);
		/* A process of its own loses the engine's memory: no context there. */
		arch_regs_set_engine_base(&r, own ? parent->app_base
		                                  : dbt_foreign_base(d, parent->app_base));
		if (set_regs(&tmp, &r, err))
			return -1;
		if (own && dbt_mem_unmap(d, &tmp, err))
			return -1;
	}
	hashmap_put(&d->t->parked, (uint64_t)tid, (void *)(intptr_t)(status + 1));
	return 0;
}

static int on_new_task(struct dbt *d, struct dbt_thread *dt, const struct tracee_event *ev,
                       struct err *err)
{
	struct tthread *th = dt->th;
	unsigned long msg = 0;

	if (ptrace(PTRACE_GETEVENTMSG, th->tid, NULL, &msg))
		return err_sys(err, ERR_TRACE, "PTRACE_GETEVENTMSG");
	if (syscall_pending(d, dt, err) ||
	    fix_child(d, dt, (pid_t)msg, ev->status >> 16, arch_regs_pc(&th->regs), err))
		return -1;
	return step_handle(d->t, ev, d->s, err);
}

static int on_exit_event(struct dbt *d, struct dbt_thread *dt, const struct tracee_event *ev,
                         struct err *err)
{
	struct dbt_stash st;
	struct dbt_loc l;

	if (dbt_materialize(d, dt, MAT_NO_STEP, false, &l, &st, err) < 0)
		return -1;
	return step_handle(d->t, ev, d->s, err);
}

/*
 * exec_replay - the exec'ing thread's ring, up to its execve (recorded
 * when it returns: the step engine's pending instruction). From
 * unrecorded code there is nothing to record of it.
 */
static int exec_replay(struct dbt *d, struct dbt_thread *dt, struct err *err)
{
	struct dbt_block *b;

	if (dbt_drain(d, dt, err))
		return -1;
	dt->in_cache = false;
	if (dt->rp.free)
		return 0;
	b = dbt_replay_block(d, &dt->rp);
	if (!b || b->insns[b->n - 1].flow != DBT_FLOW_SYSCALL)
		return err_set(err, ERR_INTERNAL, "dbt: an exec outside a system call");
	if (dbt_replay_finish(d, dt, b, b->n - 1, b->insns[b->n - 1].a.addr, NULL, err) < 0)
		return -1;
	step_pending_set(dt->th, &b->insns[b->n - 1].a, NULL);
	return 0;
}

/* on_exec - the image is gone with the cache: the exec'ing thread's ring, then start afresh */
static int on_exec(struct dbt *d, const struct tracee_event *ev, struct err *err)
{
	struct tthread *th;
	struct dbt_thread *dt;
	unsigned long former = 0;

	ptrace(PTRACE_GETEVENTMSG, ev->tid, NULL, &former);
	th = tracee_thread(d->t, (pid_t)former);
	/* A vfork child leaving our memory: the traced process and its cache stay. */
	if (th && th->kind != TT_THREAD)
		return step_handle(d->t, ev, d->s, err);
	dt = th ? dbt_thread_of(d, th, false) : NULL;
	if (dt && dt->in_cache && exec_replay(d, dt, err))
		return -1;
	/* Every thread but the exec'ing one is gone; the cache went with the image. */
	dbt_threads_free(d);
	dbt_cache_reset(d);
	dbt_mem_reset(d);
	return step_handle(d->t, ev, d->s, err);
}

/* on_stop_event - a job-control stop or a late interrupt of a cache thread: stay in the cache */
static int on_stop_event(struct dbt *d, struct tthread *th, int sig, struct err *err)
{
	int r = tracee_group_stop(d->t, th, sig, err);

	if (r)
		return r < 0 ? -1 : 0;
	return tracee_resume(d->t, th, false, err);
}

/*
 * native_pc - the pc of dt if it runs the program's own code natively:
 * between its scopes (it left them by the native leave, doors.c) or in a
 * call past the depth limit (returns.c); or 0
 */
static uint64_t native_pc(struct dbt *d, const struct dbt_thread *dt, struct err *err)
{
	uint64_t pc;

	if (!dbt_ctx_get(dt, DBT_CTX_FREE_SP) || tracee_get_pc(d->t, dt->th, &pc, err) ||
	    dbt_region_at(d, pc))
		return 0;
	return pc;
}

/*
 * on_native - a stop of a thread that runs natively between its scopes:
 * it gets the application's gs base back and the step engine handles the
 * stop, as that of any thread running natively (a breakpoint's int3, a
 * signal, a new task, its exit).
 */
static int on_native(struct dbt *d, struct dbt_thread *dt, const struct tracee_event *ev,
                     uint64_t pc, struct err *err)
{
	struct tthread *th = dt->th;
	int event = ev->status >> 16;
	bool trap =
	        !event && WSTOPSIG(ev->status) == SIGTRAP && tracee_bp_at(d->t, pc - ARCH_BP_LEN);
	unsigned long msg = 0;
	struct arch_regs r;

	if (dbt_async_sync(d, err) || (trap && get_regs(th, &r, err)))
		return -1;
	/*
	 * At the breakpoint on the first instruction of a callee run natively
	 * past the depth limit (an indirect call's): the step engine steps
	 * the call and then over that breakpoint, which is no hit.
	 */
	if (trap && arch_regs_sp(&r) == dbt_ctx_get(dt, DBT_CTX_FREE_SP)) {
		if (dbt_materialize_native(d, dt, pc - ARCH_BP_LEN, false, err) < 0)
			return -1;
		return hand_over(d, th, err);
	}
	if (dbt_materialize_native(d, dt, pc, trap, err) < 0)
		return -1;
	if (event == PTRACE_EVENT_CLONE || event == PTRACE_EVENT_FORK ||
	    event == PTRACE_EVENT_VFORK) {
		if (ptrace(PTRACE_GETEVENTMSG, th->tid, NULL, &msg))
			return err_sys(err, ERR_TRACE, "PTRACE_GETEVENTMSG");
		if (fix_child(d, dt, (pid_t)msg, event, pc, err))
			return -1;
	}
	return step_handle(d->t, ev, d->s, err);
}

/*
 * at_door - dt, running natively, stopped in a door (a scope's entry or a
 * return site the step engine stops at): 1 if it did, handled as the stop
 * the door stands for
 */
static int at_door(struct dbt *d, struct dbt_thread *dt, const struct tracee_event *ev,
                   struct err *err)
{
	struct tracee_event door = *ev;
	int r = dbt_door_rewind(d, dt->th, &door, err);
	uint64_t pc;

	if (r <= 0)
		return r;
	if (r == 2)
		return dbt_door_pass(d, dt->th, err) ? -1 : 1;
	if (tracee_get_pc(d->t, dt->th, &pc, err) || on_native(d, dt, &door, pc, err))
		return -1;
	return 1;
}

static int on_stopped(struct dbt *d, struct dbt_thread *dt, const struct tracee_event *ev,
                      struct err *err)
{
	struct tthread *th = dt->th;
	int event = ev->status >> 16, sig = WSTOPSIG(ev->status);
	struct dbt_hyper h;
	uint64_t pc;
	siginfo_t si;
	bool full;
	int r;

	/* Only misses, full rings and mapping calls leave the worker at work (async.c). */
	if (event && dbt_async_sync(d, err))
		return -1;
	if (event && event != PTRACE_EVENT_STOP && (pc = native_pc(d, dt, err)))
		return on_native(d, dt, ev, pc, err);
	switch (event) {
	case PTRACE_EVENT_CLONE:
	case PTRACE_EVENT_FORK:
	case PTRACE_EVENT_VFORK:
		return on_new_task(d, dt, ev, err);
	case PTRACE_EVENT_EXIT:
		return on_exit_event(d, dt, ev, err);
	case PTRACE_EVENT_STOP:
		return on_stop_event(d, th, sig, err);
	case 0:
		break;
	default:
		return tracee_resume(d->t, th, false, err);
	}
	if (ptrace(PTRACE_GETSIGINFO, th->tid, NULL, &si))
		return err_sys(err, ERR_TRACE, "PTRACE_GETSIGINFO");
	if (sig == SIGTRAP && si.si_code == SI_KERNEL) {
		if (tracee_get_pc(d->t, th, &pc, err))
			return -1;
		if (dbt_hyper_at(d, pc - ARCH_BP_LEN, &h))
			return on_hyper(d, dt, pc - ARCH_BP_LEN, &h, err);
		r = d->watches.len ? dbt_watch_pass(d, th, ev->status, pc, err) : 0;
		if (r)
			return r < 0 ? -1 : 0;
	}
	if (dbt_ring_full(d, dt, &si, &full, err))
		return -1;
	if (full)
		return tracee_resume(d->t, th, false, err);
	r = at_door(d, dt, ev, err);
	if (r)
		return r < 0 ? -1 : 0;
	pc = native_pc(d, dt, err);
	if (pc)
		return on_native(d, dt, ev, pc, err);
	if (dbt_async_sync(d, err))
		return -1;
	return on_signal(d, dt, ev, &si, err);
}

/* watch_stop - dbt_watch_pass() for a thread outside the cache, its trap's pc read first */
static int watch_stop(struct dbt *d, struct tthread *th, const struct tracee_event *ev,
                      struct err *err)
{
	uint64_t pc;

	if (!d->watches.len || !WIFSTOPPED(ev->status) || WSTOPSIG(ev->status) != SIGTRAP ||
	    ev->status >> 16)
		return 0;
	return tracee_get_pc(d->t, th, &pc, err) ? -1 : dbt_watch_pass(d, th, ev->status, pc, err);
}

int dbt_handle(struct dbt *d, const struct tracee_event *ev, struct err *err)
{
	struct tracee *t = d->t;
	struct tthread *th = tracee_thread(t, ev->tid);
	struct dbt_thread *dt;

	d->n_stops++;
	if (WIFSTOPPED(ev->status) && ev->status >> 16 == PTRACE_EVENT_EXEC)
		return dbt_async_sync(d, err) ? -1 : on_exec(d, ev, err);
	dt = th ? dbt_thread_of(d, th, false) : NULL;
	if (!dt || !dt->in_cache) {
		struct tracee_event door = *ev;
		int r = th ? watch_stop(d, th, ev, err) : 0;

		if (r)
			return r < 0 ? -1 : 0;
		r = th && WIFSTOPPED(ev->status) ? dbt_door_rewind(d, th, &door, err) : 0;

		if (r == 2)
			return tracee_hold_if_world_stopped(t, th, ev->status)
			               ? 0
			               : dbt_door_pass(d, th, err);
		if (r < 0 || dbt_async_sync(d, err))
			return -1;
		if (r)
			return step_handle(t, &door, d->s, err);
		if (th && !WIFSTOPPED(ev->status))
			dbt_thread_free(d, th);
		return step_handle(t, ev, d->s, err);
	}
	if (tracee_hold_if_world_stopped(t, th, ev->status))
		return 0;
	if (!WIFSTOPPED(ev->status)) {
		if (dbt_async_sync(d, err))
			return -1;
		/* Killed in the cache (SIGKILL): what its ring holds is all there is. */
		if (dbt_drain(d, dt, err))
			return -1;
		dbt_thread_free(d, th);
		return step_handle(t, ev, d->s, err);
	}
	return on_stopped(d, dt, ev, err);
}
