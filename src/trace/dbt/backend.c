/*
 * The dbt backend: the single-step backend's event loop and handlers, with
 * recording threads run in the code cache (docs/engine.md). Threads the
 * core does not record run natively exactly as with the step engine;
 * instructions the cache cannot run are single-stepped.
 */
#include <stdlib.h>

#include "trace/backend.h"
#include "trace/dbt/dbt.h"
#include "trace/engine.h"
#include "trace/session.h"
#include "trace/step/step.h"
#include "util/ticker.h"
#include "util/xalloc.h"

static long read_mem(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct dbt *d = ctx;
	size_t n = tracee_read_partial(d->t, addr, buf, len);

	return n ? (long)n : -1;
}

/* A new scope entry must start a block of its own: translations holding it go. */
static int arm_scope(void *ctx, uint64_t addr, struct err *err)
{
	struct dbt *d = ctx;

	if (tracee_bp_add(d->t, addr, BP_SCOPE, err))
		return -1;
	if (d->n_ids)
		dbt_invalidate(d, addr, addr + 1);
	return 0;
}

/* So must a hook of the tracer's added while the program runs (an IFUNC resolver's return). */
static void watch(void *self, uint64_t addr)
{
	struct dbt *d = self;

	if (d->n_ids)
		dbt_invalidate(d, addr, addr + 1);
}

static int handle(void *self, const struct tracee_event *ev, struct err *err)
{
	if (dbt_handle(self, ev, err))
		return -1;
	dbt_async_wake_later(self);
	return 0;
}

static int take(void *self, struct tthread *th, bool *taken, struct err *err)
{
	return dbt_take(self, th, taken, err);
}

/* While the replay worker has work, the store is its own (it commits). */
static bool idle(void *self)
{
	return dbt_async_idle(self);
}

static int scope_hit(void *self, struct tthread *th, struct core_directive *nd, struct err *err)
{
	return dbt_frames_scope_hit(self, th, nd, err);
}

static bool defer(void *self)
{
	return dbt_frames_defer(self);
}

static int running(void *self, struct err *err)
{
	return dbt_async_running(self, err);
}

static int settle(void *self, struct tthread *th, struct err *err)
{
	return dbt_settle(self, th, err);
}

static int release(void *self, struct err *err)
{
	return dbt_release(self, err);
}

static const struct engine_ops dbt_engine_ops = {
	.handle = handle,
	.take = take,
	.watch = watch,
	.scope_hit = scope_hit,
	.idle = idle,
	.defer = defer,
	.running = running,
	.settle = settle,
	.release = release,
};

static void disarm_scope(void *ctx, uint64_t addr)
{
	struct dbt *d = ctx;

	/* The entry's jump first: it may lead to the door's jump in padding. */
	tracee_bp_del(d->t, addr, BP_SCOPE);
	dbt_door_disarm(d, addr);
	if (d->n_ids)
		dbt_invalidate(d, addr, addr + 1);
}

/* The code entering a scope without a stop holds its call budget. */
static void scope_changed(void *ctx, uint64_t addr)
{
	struct dbt *d = ctx;

	if (d->n_ids)
		dbt_invalidate(d, addr, addr + 1);
}

/*
 * Its frame rules and return doors go with it: the thread that unmapped it
 * may have run natively, unseen by after_syscall(), and another binary may
 * come there.
 */
static void binary_unloaded(void *ctx, uint64_t start, uint64_t end)
{
	dbt_frames_unload(ctx, start, end);
	dbt_ret_doors_drop(ctx, start, end);
	dbt_fns_drop(ctx, start, end);
}

static int write_counts(struct dbt *d, struct err *err)
{
	struct session *s = d->s;

	return session_count(s, "dbt_fallback_insns", d->n_fallback, err) ||
	       session_count(s, "dbt_stepped_insns", d->n_stepped, err) ||
	       session_count(s, "dbt_blocks", d->n_blocks, err) ||
	       session_count(s, "dbt_misses", d->n_misses, err) ||
	       session_count(s, "dbt_doors", d->n_doors, err) ||
	       session_count(s, "dbt_native_calls", d->n_native, err) ||
	       session_count(s, "dbt_door_faults", d->n_door_faults, err) ||
	       session_count(s, "dbt_watches", d->n_watches, err) ||
	       session_count(s, "dbt_nested_scopes", d->n_nested, err) ||
	       session_count(s, "dbt_resumed", d->n_resumed, err) ||
	       session_count(s, "dbt_stops", d->n_stops, err) ||
	       session_count(s, "dbt_frame_rows", d->n_rows, err) ||
	       session_count(s, "dbt_ring_full", d->n_full, err) ||
	       session_count(s, "dbt_worker_records", d->n_worker_records, err) ||
	       session_count(s, "dbt_running_jobs", d->n_running_jobs, err);
}

static void dbt_free(struct dbt *d)
{
	dbt_threads_free(d);
	hashmap_fini(&d->threads);
	dbt_frames_fini(d);
	dbt_cache_reset(d);
	dbt_mem_fini(d);
}

static int dbt_run(struct session *s, struct err *err)
{
	struct core_target target = { .read_mem = read_mem,
		                      .arm_scope = arm_scope,
		                      .disarm_scope = disarm_scope,
		                      .scope_changed = scope_changed,
		                      .binary_unloaded = binary_unloaded };
	struct tracee t;
	/* On the heap: 68 KB of stack were 17 page faults before the program could start. */
	struct dbt *d = xcalloc(1, sizeof(*d));
	const struct engine engine = { &dbt_engine_ops, d };
	struct core *core;
	int ret;

	d->shm_fd = -1;
	d->t = &t;
	d->s = s;
	target.ctx = d;
	core = core_new(s->cfg, s->store, s->checked, &target, err);
	if (!core) {
		free(d);
		return -1;
	}
	/* Calls are replayed from rings in batches: their times are those of the replay. */
	core_coarse_times(core);
	tracee_init(&t, core, s->stop, &step_thread_state);
	t.engine = &engine;
	ret = dbt_mem_init(d, err);
	if (!ret)
		ret = step_start(d->t, d->s, err);
	if (!ret && ticker_start(BACKEND_TICK_MS))
		ret = err_sys(err, ERR_TRACE, "cannot start the commit timer");
	if (!ret)
		ret = engine_run(&t, s, &engine, err);
	ret = engine_leave(&t, s, &engine, ret, err);
	if (!ret)
		ret = dbt_async_sync(d, err);
	/*
	 * Once synced the worker waits for work that will not come: when nosco
	 * exits after the run, it is left waiting rather than woken and joined
	 * (0.5 ms between the program's exit and nosco's).
	 */
	if (ret || !s->exits_after)
		dbt_async_free(d);
	if (!ret)
		dbt_frames_finish(d);
	ret = step_end(&t, s, ret, err);
	if (!ret)
		ret = write_counts(d, err);
	tracee_fini(&t);
	if (!s->exits_after) {
		core_free(core);
		dbt_free(d);
		free(d);
	}
	return ret;
}

const struct backend_ops backend_dbt = {
	.name = "dbt",
	.run = dbt_run,
};
