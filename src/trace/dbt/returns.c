/*
 * Calls past the depth limit that run natively (docs/engine.md, "Native
 * past the depth limit").
 *
 * A call over budget whose thread is still in the frame that used the
 * budget up enters its callee through its block's pad (cache.c). Its
 * first time there stops the thread (dbt_native_try): if a return door
 * can be written at the call's return site, the pad goes on to the callee
 * itself from then on, natively, with the real return address pushed;
 * the return comes back through the door into the recorded translation
 * without a stop (arch_dbt_ret_door). The native call goes native only
 * from a frame whose own return address (which the step engine watches
 * too: a retpoline's callee returns there) is in the callers' set: it has
 * a door, or a watch where none fits (a breakpoint the leaves go past),
 * made at the native call's first stop from such a frame
 * (arch_dbt_emit_native). A door is a jump over the site's
 * first instructions, so these must be instructions that can be moved
 * (no call among them, a branch only last unless conditional), no code
 * near may jump into them, no other breakpoint may be among them and no
 * thread may stand in their middle while it is written. Threads that run
 * the site for another reason go on past it natively (moved code), or stop
 * as at a breakpoint there while the step engine has a role at the site
 * (a thread it runs returns there: the word struct bp's armed points at).
 */
#include <stdlib.h>

#include "trace/dbt/dbt.h"
#include "trace/step/step.h"
#include "util/log.h"
#include "util/populate.h"
#include "util/xalloc.h"

#define SITE_INSNS 5 /* instructions a return door may cover at most */

/* site_insns - the instructions the door's jump at at covers: how many, or 0 if not plain */
static size_t site_insns(struct dbt *d, uint64_t at, struct dbt_insn insns[SITE_INSNS])
{
	uint8_t buf[SITE_INSNS * ARCH_MAX_INSN_LEN];
	size_t n = 0, len = tracee_read_partial(d->t, at, buf, sizeof(buf));
	uint64_t a;

	for (a = at; a < at + ARCH_DBT_DOOR_LEN; a += insns[n++].a.len) {
		if (n == SITE_INSNS || a - at >= len ||
		    arch_dbt_analyze(a, buf + (a - at), len - (a - at), &insns[n]))
			return 0;
		if (a > at && tracee_bp_covering(d->t, a))
			return 0;
	}
	for (a = at + 1; a < at + ARCH_DBT_DOOR_LEN; a++)
		if (tracee_bp_at(d->t, a))
			return 0;
	return n;
}

/* emit - the door's code for at in a region within reach of it, or NULL */
static struct dbt_door *emit(struct dbt *d, struct tthread *th, uint64_t at,
                             const struct dbt_insn *insns, size_t n)
{
	struct arch_dbt_ret_door rd;
	struct dbt_code c;
	struct dbt_region *rg = dbt_region_code(d, th, at, &c);
	struct dbt_door *dr;

	if (!rg || arch_dbt_emit_ret_door(&c, at, insns, n, rg->dispatch, &rd) || c.full)
		return NULL;
	rg->used = c.pc - rg->base;
	dr = xcalloc(1, sizeof(*dr));
	dr->at = at;
	dr->len = ARCH_DBT_DOOR_LEN;
	dr->parts = (struct arch_dbt_door){ .code = rd.code, .load = rd.load, .stop = rd.stop };
	dr->pass = rd.pass;
	dr->armed = rd.armed;
	return dr;
}

uint64_t dbt_foreign_base(const struct dbt *d, uint64_t app_base)
{
	if (app_base || d->no_doors)
		return app_base;
	return d->data_base + DBT_TABLE_SIZE + (uint64_t)DBT_FOREIGN_SLOT * DBT_SLOT_SIZE;
}

bool dbt_is_engine_base(const struct dbt *d, uint64_t base)
{
	uint64_t slots = d->data_base + DBT_TABLE_SIZE;

	return base >= slots && base < slots + (uint64_t)DBT_MAX_SLOTS * DBT_SLOT_SIZE &&
	       (base - slots) % DBT_SLOT_SIZE == 0;
}

/*
 * foreign_all - every thread the cache does not run and whose engine base
 * is 0 gets the foreign context, so that it passes return doors without a
 * stop (every other thread stopped). Threads made later inherit it.
 */
static void foreign_all(struct dbt *d, struct tthread *th)
{
	struct dbt_thread *dt;
	struct tthread *o;
	size_t i = 0;

	if (d->foreign_all || d->no_doors)
		return;
	while (hashmap_next(&d->t->threads, &i, NULL, (void **)&o)) {
		dt = dbt_thread_of(d, o, false);
		if (o == th || o->kind != TT_THREAD || o->in_vfork || (dt && dt->in_cache))
			continue;
		/* One that cannot be read (exiting) or written keeps its stop at the doors. */
		if (tracee_get_regs(d->t, o, &(struct err){ 0 }) || arch_regs_engine_base(&o->regs))
			continue;
		arch_regs_set_engine_base(&o->regs, dbt_foreign_base(d, 0));
		tracee_set_regs(d->t, o, &(struct err){ 0 });
	}
	d->foreign_all = true;
}

/* put - write dr's jump, every other thread stopped: 1 if done, 0 if a thread is in its bytes */
static int put(struct dbt *d, struct tthread *th, struct dbt_door *dr, struct err *err)
{
	uint8_t jump[ARCH_DBT_DOOR_LEN];
	struct bp *bp;
	int done;

	if (tracee_stop_world(d->t, th, err))
		return -1;
	done = !dbt_door_inside(d, th, dr->at, dr->len) &&
	       arch_dbt_door_jump(dr->at, dr->parts.code, jump) == dr->len;
	if (done && tracee_bp_add(d->t, dr->at, BP_DOOR, err))
		done = -1;
	bp = tracee_bp_at(d->t, dr->at);
	if (done > 0 && bp->len != ARCH_BP_LEN) {
		tracee_bp_del(d->t, dr->at, BP_DOOR);
		done = 0;
	}
	if (done > 0) {
		foreign_all(d, th);
		tracee_bp_watch(bp, dbt_tracer_ptr(d, dr->armed));
		if (tracee_bp_door(d->t, bp, jump, dr->len, err))
			done = -1;
	}
	if (tracee_resume_world(d->t, done < 0 ? &(struct err){ 0 } : err))
		return -1;
	return done;
}

/* door_at - the return door at at, written if need be: NULL where none can be (-1: error) */
static int door_at(struct dbt *d, struct tthread *th, uint64_t at, struct dbt_door **out,
                   struct err *err)
{
	struct dbt_door *dr = hashmap_get(&d->ret_doors, at);
	struct dbt_insn insns[SITE_INSNS];
	size_t n;
	int done;

	*out = dr == (void *)&d->no_door ? NULL : dr;
	if (dr)
		return 0;
	n = site_insns(d, at, insns);
	dr = n && !dbt_door_jumped_into(d, at, at + ARCH_DBT_DOOR_LEN) ? emit(d, th, at, insns, n)
	                                                               : NULL;
	done = dr ? put(d, th, dr, err) : 0;
	if (done < 0) {
		free(dr);
		return -1;
	}
	if (!done) {
		free(dr);
		log_debug("dbt: no return door at %#llx", (unsigned long long)at);
		hashmap_put(&d->ret_doors, at, &d->no_door);
		return 0;
	}
	log_debug("dbt: a return door at %#llx", (unsigned long long)at);
	hashmap_put(&d->ret_doors, at, dr);
	dbt_door_register(d, dr);
	*out = dr;
	return 0;
}

/* caller_slots - where at may be in the callers' set (DBT_CALLER_PROBES words) */
static uint64_t *caller_slots(struct dbt *d, uint64_t at)
{
	return (uint64_t *)(void *)(d->shm + DBT_CALLERS_OFF) + arch_dbt_caller_slot(at);
}

/* callers_add - at in the callers' set: false if its slots are taken */
static bool callers_add(struct dbt *d, uint64_t at)
{
	uint64_t *slot = caller_slots(d, at);

	/* all at once the first time, not a page fault (10 us or more here) at each caller's */
	if (!d->callers_present) {
		populate_write(d->shm + DBT_CALLERS_OFF, DBT_CALLERS_SIZE);
		d->callers_present = true;
	}

	for (int k = 0; k < DBT_CALLER_PROBES; k++)
		if (slot[k] == at)
			return true;
	for (int k = 0; k < DBT_CALLER_PROBES; k++)
		if (!slot[k]) {
			__atomic_store_n(&slot[k], at, __ATOMIC_RELEASE);
			return true;
		}
	return false;
}

/* callers_del - at out of the callers' set (its door or watch goes) */
static void callers_del(struct dbt *d, uint64_t at)
{
	uint64_t *slot = caller_slots(d, at);

	for (int k = 0; k < DBT_CALLER_PROBES; k++)
		if (slot[k] == at)
			__atomic_store_n(&slot[k], 0, __ATOMIC_RELEASE);
}

/*
 * A watch: where a frame's return address can hold no door (Python's
 * PyEval_EvalCode returns from its interpreter loop to an instruction a
 * branch jumps past), a breakpoint of the door's role instead, that the
 * leaves' native forms go past (the pass code: the instruction moved,
 * arch_dbt_emit_watches). A thread in a native call that gets there
 * returned past its frame (a retpoline's callee): its stop is the
 * step engine's return breakpoint; any other is sent on to the pass code.
 */
struct dbt_watch {
	uint64_t at, pass;
	uint32_t slot; /* in the table of the leaves (regions[0].watches) */
};

/* watch_words - the table's words: ARCH_DBT_WATCHES addresses, then their pass codes */
static uint64_t *watch_words(struct dbt *d)
{
	return dbt_tracer_ptr(d, d->regions[0].watches);
}

/* watch_at - a watch at at, made if need be: 1, or 0 where none can be (-1: error) */
static int watch_at(struct dbt *d, struct tthread *th, uint64_t at, struct err *err)
{
	uint64_t *words = watch_words(d);
	uint8_t buf[ARCH_MAX_INSN_LEN];
	struct dbt_watch *w;
	struct dbt_insn in;
	struct dbt_region *rg;
	struct dbt_code c;
	uint64_t pass;
	uint32_t k;
	size_t len;

	if (hashmap_get(&d->watches, at))
		return 1;
	for (k = 0; k < ARCH_DBT_WATCHES && words[k]; k++)
		;
	len = tracee_read_partial(d->t, at, buf, sizeof(buf));
	if (k == ARCH_DBT_WATCHES || tracee_bp_covering(d->t, at) || !len ||
	    arch_dbt_analyze(at, buf, len, &in))
		return 0;
	rg = dbt_region_code(d, th, at, &c);
	pass = c.pc;
	if (!rg || arch_dbt_emit_pass(&c, &in) || c.full)
		return 0;
	rg->used = c.pc - rg->base;
	if (tracee_bp_add(d->t, at, BP_DOOR, err))
		return -1;
	__atomic_store_n(&words[ARCH_DBT_WATCHES + k], pass, __ATOMIC_RELEASE);
	__atomic_store_n(&words[k], at, __ATOMIC_RELEASE);
	w = xmalloc(sizeof(*w));
	*w = (struct dbt_watch){ at, pass, k };
	hashmap_put(&d->watches, at, w);
	d->n_watches++;
	log_debug("dbt: a watch at %#llx", (unsigned long long)at);
	return 1;
}

/* unwatch - w goes: out of the leaves' table first, then its breakpoint */
static void unwatch(struct dbt *d, struct dbt_watch *w)
{
	callers_del(d, w->at);
	__atomic_store_n(&watch_words(d)[w->slot], 0, __ATOMIC_RELEASE);
	tracee_bp_del(d->t, w->at, BP_DOOR);
	free(w);
}

int dbt_watch_pass(struct dbt *d, struct tthread *th, int status, uint64_t pc, struct err *err)
{
	struct dbt_thread *dt = dbt_thread_of(d, th, false);
	struct dbt_watch *w = hashmap_get(&d->watches, pc - ARCH_BP_LEN);
	uint64_t free_sp;
	struct bp *bp;

	bp = tracee_bp_at(d->t, pc - ARCH_BP_LEN);
	/* Another role there is the step engine's; a thread it records runs the instruction. */
	if (!w || !bp || bp->scopes || bp->rets || bp->internal || bp->steps ||
	    (!(dt && dt->in_cache) && step_of(th)->dir.mode == CORE_RECORD))
		return 0;
	free_sp = dt && dt->in_cache ? dbt_ctx_get(dt, DBT_CTX_FREE_SP) : 0;
	if (free_sp && free_sp != UINT64_MAX) {
		if (tracee_get_regs(d->t, th, err))
			return -1;
		if (arch_regs_sp(&th->regs) > free_sp)
			return 0;
	}
	/* While the world is stopped the stop waits, to come here again. */
	if (tracee_hold_if_world_stopped(d->t, th, status))
		return 1;
	if (tracee_set_pc(d->t, th, w->pass, err))
		return -1;
	step_regs_changed(th);
	return tracee_resume(d->t, th, false, err) ? -1 : 1;
}

bool dbt_return_caught(struct dbt *d, uint64_t at)
{
	void *dr = hashmap_get(&d->ret_doors, at);

	return (dr && dr != (void *)&d->no_door) || hashmap_get(&d->watches, at);
}

/* A call run natively: its code, and the call it stands for. */
struct dbt_native {
	struct arch_dbt_native n;
	struct dbt_block *b;
};

/* caller - the return address of the frame dt's call over budget is made from */
static int caller(struct dbt *d, struct dbt_thread *dt, uint64_t *at, struct err *err)
{
	return tracee_read(d->t, dbt_ctx_get(dt, DBT_CTX_CALL_SP) - ARCH_PTR_SIZE, at, sizeof(*at))
	               ? err_set(err, ERR_TRACE, "dbt: cannot read thread %d's stack",
	                         (int)dt->th->tid)
	               : 0;
}

/*
 * add_caller - a door (or a watch) at dt's frame's return address, in the
 * callers' set, for every native call made from such frames
 */
static int add_caller(struct dbt *d, struct dbt_thread *dt, struct dbt_native *nv, struct err *err)
{
	struct dbt_door *dr = NULL;
	int watched = 0;
	uint64_t at;

	if (caller(d, dt, &at, err) || door_at(d, dt->th, at, &dr, err))
		return -1;
	if (!dr)
		watched = watch_at(d, dt->th, at, err);
	if (watched < 0)
		return -1;
	if ((dr || watched) && callers_add(d, at))
		return 0;
	/* From frames returning elsewhere, unrecorded in the cache as before. */
	__atomic_store_n((uint64_t *)dbt_tracer_ptr(d, nv->n.other), nv->b->pad_free,
	                 __ATOMIC_RELEASE);
	return 0;
}

/* emit_native - b's native call in a region within reach of its site, or NULL */
static struct dbt_native *emit_native(struct dbt *d, struct tthread *th, struct dbt_block *b)
{
	const struct dbt_insn *call = &b->insns[b->n - 1];
	uint64_t target = call->flow == DBT_FLOW_CALL ? call->target : 0;
	struct dbt_code c;
	struct dbt_region *rg = dbt_region_code(d, th, call->a.addr, &c);
	struct dbt_native *nv;

	if (!rg)
		return NULL;
	nv = xcalloc(1, sizeof(*nv));
	arch_dbt_emit_native(&c, call->a.addr + call->a.len, target, b->pad_free,
	                     d->data_base + DBT_CALLERS_OFF, &nv->n);
	if (c.full) {
		free(nv);
		return NULL;
	}
	rg->used = c.pc - rg->base;
	nv->b = b;
	hashmap_put(&d->natives, nv->n.miss, nv);
	return nv;
}

int dbt_native_try(struct dbt *d, struct dbt_thread *dt, struct dbt_block *b, uint64_t sp,
                   struct err *err)
{
	const struct dbt_insn *call = &b->insns[b->n - 1];
	struct dbt_native *nv;
	struct dbt_door *dr;

	if (!b->pad_free || b->native_tried || d->no_doors || d->no_native || d->t->world_stopped)
		return 0;
	b->native_tried = true;
	/* The step engine steps a call over a breakpoint at its target; a native call hits it. */
	if (call->flow == DBT_FLOW_CALL && tracee_bp_covering(d->t, call->target))
		return 0;
	if (dbt_async_sync(d, err) || door_at(d, dt->th, call->a.addr + call->a.len, &dr, err))
		return -1;
	nv = dr ? emit_native(d, dt->th, b) : NULL;
	if (!nv)
		return 0;
	/* Its first caller now, if the call is made from the frame that used the budget up. */
	if (sp + ARCH_PTR_SIZE <= dbt_ctx_get(dt, DBT_CTX_CALL_SP) && add_caller(d, dt, nv, err))
		return -1;
	__atomic_store_n((uint64_t *)dbt_tracer_ptr(d, b->pad_slot), nv->n.code, __ATOMIC_RELEASE);
	d->n_native++;
	if (tracee_set_pc(d->t, dt->th, nv->n.code, err))
		return -1;
	return tracee_resume(d->t, dt->th, false, err) ? -1 : 1;
}

bool dbt_native_hyper(struct dbt *d, uint64_t at, struct dbt_hyper *h)
{
	struct dbt_native *nv = hashmap_get(&d->natives, at);

	if (!nv)
		return false;
	h->kind = HY_NATIVE;
	h->b = nv->b;
	h->done = nv->b->n - 1;
	h->target = nv->b->insns[h->done].a.addr;
	return true;
}

int dbt_native_miss(struct dbt *d, struct dbt_thread *dt, uint64_t at, struct err *err)
{
	struct dbt_native *nv = hashmap_get(&d->natives, at);

	if (dbt_async_sync(d, err) || add_caller(d, dt, nv, err) ||
	    tracee_set_pc(d->t, dt->th, nv->n.code, err))
		return -1;
	return tracee_resume(d->t, dt->th, false, err);
}

int dbt_door_pass(struct dbt *d, struct tthread *th, struct err *err)
{
	uint64_t pc;
	struct dbt_door *dr;

	if (tracee_get_pc(d->t, th, &pc, err))
		return -1;
	dr = hashmap_get(&d->door_parts, pc);
	if (!dr || tracee_set_pc(d->t, th, dr->pass, err))
		return dr ? -1
		          : err_set(err, ERR_INTERNAL, "dbt: no return door at %#llx",
		                    (unsigned long long)pc);
	step_regs_changed(th);
	d->n_door_faults++;
	return tracee_resume(d->t, th, false, err);
}

/* bp_of - the breakpoint holding dr's jump, if it still does */
static struct bp *bp_of(struct dbt *d, const struct dbt_door *dr)
{
	struct bp *bp = tracee_bp_at(d->t, dr->at);

	return bp && bp->armed == dbt_tracer_ptr(d, dr->armed) ? bp : NULL;
}

void dbt_ret_doors_arm(struct dbt *d)
{
	size_t i = 0;
	struct dbt_door *dr;
	struct bp *bp;

	while (hashmap_next(&d->ret_doors, &i, NULL, (void **)&dr)) {
		if (dr == (void *)&d->no_door)
			continue;
		bp = bp_of(d, dr);
		if (bp)
			tracee_bp_watch(bp, NULL);
		*(uint64_t *)dbt_tracer_ptr(d, dr->armed) = 1;
	}
}

/* drop - dr goes: its jump (another role there keeps the breakpoint instruction) */
static void drop(struct dbt *d, struct dbt_door *dr)
{
	struct bp *bp;

	if (dr == (void *)&d->no_door)
		return;
	callers_del(d, dr->at);
	bp = bp_of(d, dr);
	if (bp) {
		tracee_bp_watch(bp, NULL);
		tracee_bp_del(d->t, dr->at, BP_DOOR);
	}
	dbt_door_unregister(d, dr);
	free(dr);
}

void dbt_ret_doors_drop(struct dbt *d, uint64_t lo, uint64_t hi)
{
	size_t i = 0;
	uint64_t at;
	struct dbt_door *dr;
	VEC(uint64_t) gone = { 0 };

	while (hashmap_next(&d->ret_doors, &i, &at, (void **)&dr))
		if (at >= lo && at < hi)
			vec_push(&gone, at);
	for (i = 0; i < gone.len; i++)
		drop(d, hashmap_del(&d->ret_doors, gone.data[i]));
	gone.len = 0;
	i = 0;
	while (hashmap_next(&d->watches, &i, &at, NULL))
		if (at >= lo && at < hi)
			vec_push(&gone, at);
	for (i = 0; i < gone.len; i++)
		unwatch(d, hashmap_del(&d->watches, gone.data[i]));
	vec_free(&gone);
}

void dbt_ret_doors_reset(struct dbt *d)
{
	size_t i = 0;
	struct dbt_door *dr;
	void *nv;

	while (hashmap_next(&d->ret_doors, &i, NULL, (void **)&dr))
		if (dr != (void *)&d->no_door) {
			struct bp *bp = bp_of(d, dr);

			if (bp)
				tracee_bp_watch(bp, NULL);
			free(dr);
		}
	hashmap_fini(&d->ret_doors);
	hashmap_init(&d->ret_doors);
	/* Their breakpoints went with the image, their table with the regions. */
	i = 0;
	while (hashmap_next(&d->watches, &i, NULL, &nv))
		free(nv);
	hashmap_fini(&d->watches);
	hashmap_init(&d->watches);
	i = 0;
	while (hashmap_next(&d->natives, &i, NULL, &nv))
		free(nv);
	hashmap_fini(&d->natives);
	hashmap_init(&d->natives);
}
