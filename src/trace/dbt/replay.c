/*
 * Replaying a thread's ring into the core. The ring says which blocks the
 * thread entered, in order, and the value of the stack pointer after each instruction
 * that set it from run-time values; everything else about the stack pointer follows
 * from the instructions themselves. A block's record is written when the
 * block is entered, so how far it ran is known only from what comes next:
 * the next block's record (it ran to its end, and its terminator went
 * there), or the place the thread was stopped at (dbt_replay_finish).
 *
 * Only a block's terminator can change the call stack (core.h): a block
 * is given to the core as one store block, runs of the same block (a
 * loop) as one run, in batches; then the terminator goes to
 * core_transfer() whenever it can open or close a frame, with the
 * registers the core looks at (pc and the stack pointer) reconstructed. Blocks entered
 * part way or cut short go instruction by instruction through core_step().
 *
 * While the core does not record the thread (a truncated call, after its
 * scope returned) the replay plays the single-step engine's breakpoints:
 * arriving at a return point with the stack pointer above its frame, or at a landing
 * pad being watched, is core_return_hit().
 */
#include <string.h>

#include "trace/dbt/dbt.h"
#include "trace/step/step.h"

/* The replay's per-record path, inlined into its loop: it runs millions of times. */
#define HOT static inline __attribute__((always_inline))

/*
 * regs_at - the registers the core reads for a control transfer: pc and
 * the stack pointer; the others stay zero (so no syscall number: not rt_sigreturn).
 */
static void regs_at(struct arch_regs *r, uint64_t pc, uint64_t sp)
{
	arch_regs_set_pc(r, pc);
	arch_regs_set_sp(r, sp);
}

/* flush_runs - give the core the runs recorded so far (before anything else reaches it) */
static int flush_runs(struct dbt *d, struct dbt_thread *dt, struct err *err)
{
	struct dbt_replay *rp = &dt->rp;
	uint32_t n = rp->n_runs;

	if (!n)
		return 0;
	rp->n_runs = 0;
	return core_record_blocks(d->t->core, dt->th->core, rp->runs, n, err);
}

/* record - block id (h: its summary) ran repeat times */
HOT int record(struct dbt *d, struct dbt_thread *dt, uint32_t id, struct dbt_hot *h,
               uint64_t repeat, struct err *err)
{
	struct dbt_replay *rp = &dt->rp;
	int64_t sb = h->store != DBT_NO_STORE ? h->store
	                                      : dbt_block_intern(d, dbt_block_by_id(d, id), h, err);

	if (sb < 0)
		return -1;
	rp->just_recorded = true;
	if (rp->n_runs && rp->runs[rp->n_runs - 1].block == (uint32_t)sb) {
		rp->runs[rp->n_runs - 1].repeat += repeat;
		return 0;
	}
	if (rp->n_runs == DBT_RUNS && flush_runs(d, dt, err))
		return -1;
	rp->runs[rp->n_runs++] = (struct store_run){ (uint32_t)sb, repeat };
	return 0;
}

/*
 * set_dir - after a call into the core, which wrote the thread's new
 * directive into dt->step->dir (in place: copied from a struct the core
 * had just written, the copy's wide loads waited for the core's narrower
 * stores, 2 % of a full trace's replay); and its frame
 */
static int set_dir(struct dbt *d, struct dbt_thread *dt, struct err *err)
{
	if (dt->step->dir.mode != CORE_RUN_TO_RETURN && dt->step->resume_bps.len)
		step_landing_clear(d->t, dt->th);
	dt->rp.close_sp = core_close_sp(dt->th->core);
	return step_landing_watch(d->t, dt->th, err);
}

/*
 * to_core - give one instruction to the core (it changes frames, or is
 * recorded alone); recorded: it was, as the end of a block
 */
static int to_core(struct dbt *d, struct dbt_thread *dt, const struct arch_insn *in,
                   uint64_t sp_before, uint64_t pc_after, uint64_t sp_after, bool recorded,
                   struct err *err)
{
	struct arch_regs *before = &dt->rp.before, *after = &dt->rp.after;

	if (flush_runs(d, dt, err))
		return -1;
	regs_at(before, in->addr, sp_before);
	regs_at(after, pc_after, sp_after);
	if ((recorded ? core_transfer : core_step)(d->t->core, dt->th->core, in, before, after,
	                                           &dt->step->dir, err))
		return -1;
	if (set_dir(d, dt, err))
		return -1;
	dt->rp.just_recorded = true;
	return 0;
}

/*
 * arrive - a thread the core does not record reaches pc with the stack pointer sp, as
 * if the single-step engine's breakpoints were there. Return: 1 if one
 * was hit (dt->step->dir says what now), 0 if not, -1 on error.
 */
static int arrive(struct dbt *d, struct dbt_thread *dt, uint64_t pc, uint64_t sp, struct err *err)
{
	struct tthread *th = dt->th;
	struct arch_regs r;
	bool hit = false;
	int i;

	memset(&r, 0, sizeof(r));
	if (dt->step->dir.mode == CORE_RECORD)
		return 0;
	if (dt->rp.just_recorded) {
		dt->rp.just_recorded = false;
		return 0;
	}
	if (dt->step->dir.mode == CORE_RUN_TO_RETURN)
		for (i = 0; i < 2; i++)
			if (dt->step->dir.ret[i].addr == pc && sp > dt->step->dir.ret[i].frame_sp)
				hit = true;
	if (!hit && dt->step->resume_bps.len && step_landing_take(d->t, th, pc))
		hit = true;
	if (!hit)
		return 0;
	regs_at(&r, pc, sp);
	if (core_return_hit(d->t->core, th->core, &r, &dt->step->dir, err) || set_dir(d, dt, err))
		return -1;
	return 1;
}

/*
 * needs_core - can a terminator of class cls (fall: what follows it)
 * change frames, going to next with the stack pointer sp_after? maybe_scope: next may be
 * a scope entry (false when next's block has no sync hypercall: scope
 * entries all have one).
 */
HOT bool needs_core(struct dbt *d, struct dbt_thread *dt, enum arch_insn_class cls, uint64_t fall,
                    uint64_t next, bool maybe_scope, uint64_t sp_after)
{
	if (cls == ARCH_INSN_OTHER)
		return false;
	if (cls == ARCH_INSN_CALL && next != fall)
		return true;
	if (sp_after > dt->rp.close_sp)
		return true;
	return (cls == ARCH_INSN_JUMP || cls == ARCH_INSN_BRANCH) && next != fall && maybe_scope &&
	       core_is_scope_entry(d->t->core, next);
}

/*
 * fast_complete - a whole plain block (id, h) of a recording thread ran
 * repeat times, then went to the block next_h: the common case.
 */
HOT int fast_complete(struct dbt *d, struct dbt_thread *dt, uint32_t id, struct dbt_hot *h,
                      const struct dbt_hot *next_h, uint64_t repeat, struct err *err)
{
	uint64_t sp_before = dt->rp.sp_in + (uint64_t)(int64_t)h->delta;
	uint64_t sp_after = sp_before + (uint64_t)(int64_t)h->term_delta;
	uint64_t next = next_h->addr;

	if (record(d, dt, id, h, repeat, err))
		return -1;
	if (needs_core(d, dt, h->cls, h->fall, next, next_h->sync, sp_after)) {
		/* The terminator as the core needs it, without reading the block. */
		struct arch_insn t = { .addr = h->fall - h->term_len,
			               .len = h->term_len,
			               .cls = h->cls };

		if (to_core(d, dt, &t, sp_before, next, sp_after, true, err))
			return -1;
	}
	dt->rp.sp = sp_after;
	dt->rp.hot = NULL;
	return 0;
}

/*
 * complete - b ran its first done instructions (all of them: then its
 * terminator went to next). Records what the core records, plays the
 * breakpoints where it does not.
 */
static int complete(struct dbt *d, struct dbt_thread *dt, struct dbt_block *b, uint32_t done,
                    uint64_t next, struct err *err)
{
	struct dbt_replay *rp = &dt->rp;
	uint64_t sp = rp->sp_in, sp_after;
	uint32_t k, di = 0, from = 0;
	const struct dbt_insn *in;
	bool rec = dt->step->dir.mode == CORE_RECORD;
	int r;

	for (k = 0; k < done; k++) {
		in = &b->insns[k];
		if (!rec) {
			r = arrive(d, dt, in->a.addr, sp, err);
			if (r < 0)
				return -1;
			if (r && dt->step->dir.mode == CORE_RECORD) {
				rec = true;
				from = k;
			}
		}
		if (in->sp_dynamic) {
			if (di >= rp->dyn.len)
				return err_set(
				        err, ERR_INTERNAL,
				        "dbt: no stack pointer record after %#llx in thread %d",
				        (unsigned long long)in->a.addr, (int)dt->th->tid);
			sp_after = rp->dyn.data[di++];
		} else {
			sp_after = sp + (uint64_t)(int64_t)in->sp_delta;
		}
		if (k + 1 == b->n && rec) {
			/* The terminator: with its block if that was recorded from its start. */
			if (from == 0) {
				if (record(d, dt, b->id, rp->hot, 1, err) ||
				    (needs_core(d, dt, in->a.cls, in->a.addr + in->a.len, next,
				                true, sp_after) &&
				     to_core(d, dt, &in->a, sp, next, sp_after, true, err)))
					return -1;
			} else {
				for (; from < k; from++)
					if (to_core(d, dt, &b->insns[from].a, 0,
					            b->insns[from].a.addr + b->insns[from].a.len, 0,
					            false, err))
						return -1;
				if (to_core(d, dt, &in->a, sp, next, sp_after, false, err))
					return -1;
			}
		}
		sp = sp_after;
	}
	/* Stopped inside: what ran of it (never its terminator) is recorded one by one. */
	if (rec && done < b->n)
		for (k = from; k < done; k++)
			if (to_core(d, dt, &b->insns[k].a, 0,
			            b->insns[k].a.addr + b->insns[k].a.len, 0, false, err))
				return -1;
	rp->sp = sp;
	rp->hot = NULL;
	rp->dyn.len = 0;
	return 0;
}

/* finish_block - the pending block ran to its end, and its terminator went to the block next_h */
HOT int finish_block(struct dbt *d, struct dbt_thread *dt, const struct dbt_hot *next_h,
                     struct err *err)
{
	struct dbt_replay *rp = &dt->rp;
	struct dbt_block *b;

	if (rp->hot->plain && dt->step->dir.mode == CORE_RECORD)
		return fast_complete(d, dt, rp->id, rp->hot, next_h, 1, err);
	b = dbt_block_by_id(d, rp->id);
	return complete(d, dt, b, b->n, next_h->addr, err);
}

/* same_run - how many records from w on repeat w[0] */
static size_t same_run(const uint32_t *w, size_t n)
{
	uint64_t pair = (uint64_t)w[0] << 32 | w[0], x;
	size_t i = 1;

	/* Two records a compare: a loop makes millions of them. */
	while (i + 2 <= n) {
		memcpy(&x, w + i, 8);
		if (x != pair)
			break;
		i += 2;
	}
	while (i < n && w[i] == w[0])
		i++;
	return i;
}

/*
 * worker_may_replay - the replay worker leaves a thread the core does not
 * record to the tracer thread, but for a call past the depth limit
 * (nothing but the return point to play): playing other breakpoints
 * changes the tracee's breakpoints.
 */
static bool worker_may_replay(const struct dbt_thread *dt)
{
	return !dt->step->resume_bps.len && !dt->step->landing;
}

/*
 * unrecorded - the pending block's terminator went to target, and the
 * thread on in unrecorded code: a call over budget entered its callee
 * (DBT_REC_FREE_IN: the core opens the call, truncated, unless it records
 * the callee after all, a scope entry, whose sync hypercall stops the
 * thread before anything runs unrecorded), or a return left every
 * recorded frame (DBT_REC_LEFT). A later record the core does not agree
 * with is an internal error: a trace missing code is never written.
 */
static int unrecorded(struct dbt *d, struct dbt_thread *dt, uint64_t target, struct err *err)
{
	struct dbt_replay *rp = &dt->rp;
	struct dbt_hot next = { .addr = target, .sync = true };

	if (!rp->hot || rp->free)
		return err_set(err, ERR_INTERNAL, "dbt: a stray record in thread %d's ring",
		               (int)dt->th->tid);
	if (finish_block(d, dt, &next, err))
		return -1;
	rp->free = true;
	rp->free_at = target;
	return 0;
}

/* free_out - the unrecorded call returned, leaving the stack pointer at sp: recording again */
static int free_out(struct dbt_thread *dt, uint64_t sp, struct err *err)
{
	struct dbt_replay *rp = &dt->rp;

	if (!rp->free || dt->step->dir.mode == CORE_RECORD)
		return err_set(err, ERR_INTERNAL,
		               "dbt: thread %d ran code unrecorded that the trace records",
		               (int)dt->th->tid);
	rp->free = false;
	rp->free_back = true;
	rp->sp = sp;
	return 0;
}

/* scope_bt - a scope entry's backtrace (DBT_REC_SCOPE_BT); the words it took */
static int scope_bt(struct dbt_thread *dt, const uint32_t *w, size_t n, struct err *err)
{
	struct dbt_replay *rp = &dt->rp;
	size_t len = w[1] / 8, k;

	/* the same return addresses as the last record listed (arch/dbt.h) */
	if (!w[1] && !w[2] && rp->last_bt_len) {
		rp->scope_bt_len = rp->last_bt_len;
		return 3;
	}
	if (w[1] % 8 || !len || len > DBT_WALK_MAX)
		return err_set(err, ERR_INTERNAL, "dbt: thread %d logged a backtrace of %u bytes",
		               (int)dt->th->tid, w[1]);
	if (n < 2 + 2 * len)
		return err_set(err, ERR_INTERNAL, "dbt: a cut record in thread %d's ring",
		               (int)dt->th->tid);
	for (k = 0; k < len; k++)
		rp->scope_bt[k] = w[2 + 2 * k] | (uint64_t)w[3 + 2 * k] << 32;
	rp->scope_bt_len = rp->last_bt_len = len;
	return (int)(2 + 2 * len);
}

/* tagged - a record that is no block id: the words it took (3 with a 64-bit value), or -1 */
static int tagged(struct dbt *d, struct dbt_thread *dt, const uint32_t *w, size_t n,
                  struct err *err)
{
	struct dbt_replay *rp = &dt->rp;
	uint64_t v;

	if (n < 3)
		return err_set(err, ERR_INTERNAL, "dbt: a cut record in thread %d's ring",
		               (int)dt->th->tid);
	if (w[0] == DBT_REC_SCOPE_BT)
		return scope_bt(dt, w, n, err);
	v = w[1] | (uint64_t)w[2] << 32;
	switch (w[0]) {
	case DBT_REC_SP:
		if (!rp->hot)
			return err_set(err, ERR_INTERNAL, "dbt: a stray stack pointer record");
		vec_push(&rp->dyn, v);
		return 3;
	case DBT_REC_FREE_IN:
		return unrecorded(d, dt, v, err) ? -1 : 3;
	case DBT_REC_FREE_OUT:
		return free_out(dt, v, err) ? -1 : 3;
	case DBT_REC_SCOPE_SP:
		/* Between scopes, or in a call past the depth limit run natively. */
		if (!rp->free || rp->scope_in || dt->step->dir.mode == CORE_RECORD)
			return err_set(err, ERR_INTERNAL,
			               "dbt: thread %d entered a scope in a scope",
			               (int)dt->th->tid);
		rp->scope_sp = v;
		d->n_nested += dt->step->dir.mode == CORE_RUN_TO_RETURN;
		return 3;
	case DBT_REC_SCOPE_RET:
		rp->scope_ret = v;
		rp->scope_in = true;
		return 3;
	case DBT_REC_LEFT:
		if (unrecorded(d, dt, v, err))
			return -1;
		if (dt->step->dir.mode == CORE_RECORD)
			return err_set(err, ERR_INTERNAL,
			               "dbt: thread %d left the recorded frames the core records",
			               (int)dt->th->tid);
		d->n_resumed += dt->step->dir.mode == CORE_RUN_TO_RETURN;
		return 3;
	default:
		return err_set(err, ERR_INTERNAL, "dbt: unknown record %#x in thread %d's ring",
		               w[0], (int)dt->th->tid);
	}
}

/*
 * scope_in - the thread entered the scope at pc without a stop (logged:
 * DBT_REC_SCOPE_*): as the step engine's breakpoint there would have
 */
static int scope_in(struct dbt *d, struct dbt_thread *dt, uint64_t pc, struct err *err)
{
	struct dbt_replay *rp = &dt->rp;
	size_t bt_len = rp->scope_bt_len;

	rp->scope_in = false;
	rp->scope_bt_len = 0;
	regs_at(&rp->before, pc, rp->scope_sp);
	if (core_scope_hit_at(d->t->core, dt->th->core, &rp->before, rp->scope_ret,
	                      bt_len ? rp->scope_bt : NULL, bt_len, &dt->step->dir, err) ||
	    set_dir(d, dt, err))
		return -1;
	if (dt->step->dir.mode != CORE_RECORD)
		return err_set(err, ERR_INTERNAL, "dbt: thread %d entered %#llx, not a scope",
		               (int)dt->th->tid, (unsigned long long)pc);
	rp->free = false;
	rp->sp = rp->scope_sp;
	rp->just_recorded = false;
	return 0;
}

/*
 * arrive_back - the first block after an unrecorded call: where the
 * single-step engine's return breakpoint would have stopped the thread
 */
static int arrive_back(struct dbt *d, struct dbt_thread *dt, uint64_t pc, struct err *err)
{
	dt->rp.free_back = false;
	dt->rp.just_recorded = false;
	return arrive(d, dt, pc, dt->rp.sp, err) < 0 ? -1 : 0;
}

static int replay_records(struct dbt *d, struct dbt_thread *dt, const uint32_t *w, size_t n,
                          bool worker, size_t *used, struct err *err)
{
	struct dbt_replay *rp = &dt->rp;
	struct dbt_hot *h;
	size_t i = 0, run;

	while (i < n) {
		if (worker && !worker_may_replay(dt))
			break;
		if (w[i] > DBT_BLOCK_ID_MAX) {
			int k = tagged(d, dt, w + i, n - i, err);

			if (k < 0)
				return -1;
			i += (size_t)k;
			continue;
		}
		h = dbt_hot_by_id(d, w[i]);
		if (!h)
			return err_set(err, ERR_INTERNAL, "dbt: unknown block %u in the ring",
			               w[i]);
		if (rp->scope_in && scope_in(d, dt, h->addr, err))
			return -1;
		if (rp->free)
			return err_set(err, ERR_INTERNAL,
			               "dbt: thread %d recorded a block while unrecorded",
			               (int)dt->th->tid);
		if (rp->hot && finish_block(d, dt, h, err))
			return -1;
		if (rp->free_back && arrive_back(d, dt, h->addr, err))
			return -1;
		/*
		 * A block that loops on itself with the stack pointer unchanged, recorded: the
		 * repeats are decided by the first one.
		 */
		run = same_run(w + i, n - i);
		if (run > 2 && h->plain && dt->step->dir.mode == CORE_RECORD &&
		    h->delta + h->term_delta == 0 &&
		    !needs_core(d, dt, h->cls, h->fall, h->addr, h->sync, rp->sp)) {
			rp->sp_in = rp->sp;
			if (fast_complete(d, dt, w[i], h, h, run - 1, err))
				return -1;
			i += run - 1;
		}
		rp->id = w[i];
		rp->hot = h;
		rp->sp_in = rp->sp;
		rp->dyn.len = 0;
		i++;
	}
	*used = i;
	return 0;
}

int dbt_replay_records(struct dbt *d, struct dbt_thread *dt, const uint32_t *w, size_t n,
                       bool worker, size_t *used, struct err *err)
{
	int rc;

	core_clock_batch(d->t->core, true);
	rc = replay_records(d, dt, w, n, worker, used, err);
	core_clock_batch(d->t->core, false);
	return rc;
}

void dbt_replay_start(struct dbt_thread *dt, const struct arch_regs *regs)
{
	/* It comes from the step engine, which just stepped over whatever is here. */
	dt->rp.just_recorded = true;
	dt->rp.hot = NULL;
	dt->rp.sp = arch_regs_sp(regs);
	dt->rp.dyn.len = 0;
	dt->rp.n_runs = 0;
	dt->rp.close_sp = core_close_sp(dt->th->core);
	dt->rp.free = false;
	dt->rp.free_back = false;
	dt->rp.scope_in = false;
}

int dbt_ring_take(struct dbt *d, struct dbt_thread *dt, size_t *from, size_t *n, struct err *err)
{
	uint64_t *cursor = (uint64_t *)(dt->ctxp + DBT_CTX_CURSOR);

	if (*cursor < dt->ring + dt->taken * 4 || *cursor > dt->ring + d->ring_size)
		return err_set(err, ERR_INTERNAL, "dbt: thread %d's ring cursor is off",
		               (int)dt->th->tid);
	*from = dt->taken;
	*n = (size_t)(*cursor - dt->ring) / 4;
	*cursor = dt->ring;
	dt->taken = 0;
	dt->seen = dt->ring;
	d->n_drains++;
	return 0;
}

int dbt_drain(struct dbt *d, struct dbt_thread *dt, struct err *err)
{
	size_t from, n, used;

	/* What the worker has of this ring comes first. */
	if (dbt_async_sync(d, err) || dbt_ring_take(d, dt, &from, &n, err))
		return -1;
	return dbt_replay_records(d, dt, (const uint32_t *)dt->ringp + from, n - from, false, &used,
	                          err);
}

int dbt_replay_finish(struct dbt *d, struct dbt_thread *dt, struct dbt_block *b, uint32_t done,
                      uint64_t pc, const struct arch_regs *regs, struct err *err)
{
	struct dbt_replay *rp = &dt->rp;
	struct dbt_block *pending = dbt_replay_block(d, rp);
	int hit;

	if (b && b != pending)
		return err_set(err, ERR_INTERNAL,
		               "dbt: thread %d stopped in a block it did not enter",
		               (int)dt->th->tid);
	if (pending && complete(d, dt, pending, b ? done : pending->n, pc, err))
		return -1;
	/* Stopped on the way from a scope's entry code to its first block. */
	if (rp->scope_in && scope_in(d, dt, pc, err))
		return -1;
	/*
	 * In unrecorded code, or just back from it: the stack pointer is the real one, and
	 * the recorded call is what brought the thread here only if it is
	 * still where the call went.
	 */
	if (regs && (rp->free || rp->free_back)) {
		rp->sp = arch_regs_sp(regs);
		rp->just_recorded &= rp->free && pc == rp->free_at;
		rp->free = rp->free_back = false;
	}
	if (regs && rp->sp != arch_regs_sp(regs))
		return err_set(err, ERR_INTERNAL,
		               "dbt: thread %d: replayed sp %#llx, real %#llx at %#llx",
		               (int)dt->th->tid, (unsigned long long)rp->sp,
		               (unsigned long long)arch_regs_sp(regs), (unsigned long long)pc);
	rp->landed_recorded = rp->just_recorded;
	hit = arrive(d, dt, pc, rp->sp, err);
	if (hit < 0 || flush_runs(d, dt, err))
		return -1;
	return hit;
}
