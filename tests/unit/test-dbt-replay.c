/*
 * Unit tests of the dbt engine's replay (src/trace/dbt/replay.c) and of
 * its worker (async.c): a thread's ring of records for a known set of
 * blocks goes into a real core, and the trace that core writes must be
 * the one the step engine writes for the same run: every instruction
 * given to core_step() with the registers after it, the return point of a
 * call past the depth limit to core_return_hit(), as test-core plays the
 * step engine. The same rings handed to the worker in two halves give the
 * same trace, replayed by the worker, or by the tracer at the sync where
 * the worker must leave them. Then the rings the replay must refuse, each
 * with the error that names it, from the worker too.
 *
 * There is no tracee: blocks are real bytes at made-up addresses (neither
 * the replay nor the core reads code), the engine's blocks are registered
 * as cache.c registers them (dbt_add_id), and the program's stack is a
 * fake the core reads return addresses from.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "store/reader.h"
#include "store/store.h"
#include "trace/dbt/dbt.h"
#include "trace/step/step.h"
#include "test-util.h"
#include "util/xalloc.h"

#define TID       100
#define STACK_LO  UINT64_C(0x7ffd00000000)
#define S0        (STACK_LO + 0x6000) /* the stack pointer where runs start */
#define MEM_WORDS 4096
#define MAX_RING  64
#define MAX_STEPS 32

/* Made-up code addresses: main's blocks at M, a function at F. */
#define M UINT64_C(0x401000)
#define F UINT64_C(0x402000)

static char tmpdir[] = "/tmp/nosco-test-dbt-replay-XXXXXX";
static uint64_t stack[MEM_WORDS]; /* [STACK_LO, STACK_LO + 8 * MEM_WORDS) */

/* One block of the program: its address and code. */
struct code {
	uint64_t addr;
	uint8_t bytes[32];
	size_t len;
};

/*
 * One thing the thread did, as the cache logs it: it entered block
 * `enter` (an index into the program, and its id), or (enter -1) a record
 * with a value (tag, value).
 */
struct step {
	int enter;
	uint32_t tag;
	uint64_t value;
};

/*
 * A thread's run: the program, what it did, and where it stopped at the
 * end: at pc with sp, inside the last block entered after `done` of its
 * instructions (done < its length), or between blocks (done -1).
 */
struct run {
	const char *config;
	const struct code *prog;
	size_t n_prog;
	struct step steps[MAX_STEPS];
	size_t n_steps;
	uint64_t pc, sp; /* where it stops */
	int64_t done;    /* -1: between blocks */
};

/* One trace being written: a store, a core, a thread. */
struct world {
	struct config cfg;
	struct store *store;
	struct core *core;
	struct session s; /* what the worker commits through */
	struct tthread th;
	struct step_thread st; /* th's engine state: the step engine's, as dbt builds on it */
	char *path;
};

/* How a ring reaches the replay. */
enum how {
	DIRECT,      /* dbt_replay_records() on the whole ring */
	WORKER,      /* two halves pushed to the worker (dbt_async_push), then synced */
	WORKER_LEFT, /* the same, for a thread the worker leaves to the tracer */
};

static long fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	uint64_t hi = STACK_LO + sizeof(stack);

	(void)ctx;
	if (addr < STACK_LO || addr >= hi)
		return -1;
	if (len > hi - addr)
		len = hi - addr;
	memcpy(buf, (const uint8_t *)stack + (addr - STACK_LO), len);
	return (long)len;
}

static void poke(uint64_t addr, uint64_t v)
{
	assert_true(addr >= STACK_LO && addr + 8 <= STACK_LO + sizeof(stack));
	memcpy((uint8_t *)stack + (addr - STACK_LO), &v, 8);
}

static void regs_at(struct arch_regs *r, uint64_t pc, uint64_t sp)
{
	memset(r, 0, sizeof(*r));
	arch_regs_set_pc(r, pc);
	arch_regs_set_sp(r, sp);
}

/* world_open - a trace of one thread starting at pc */
static void world_open(struct world *w, const char *config, uint64_t pc)
{
	static int n;
	const struct core_target target = { .read_mem = fake_read };
	struct arch_regs r;
	struct err err = { 0 };

	memset(w, 0, sizeof(*w));
	memset(stack, 0, sizeof(stack));
	if (config_parse(&w->cfg, config, "cfg.kdl", &err))
		fail_msg("config: %s", err.msg);
	w->path = xasprintf("%s/trace-%d.nosco", tmpdir, n++);
	w->store = store_create(w->path, true, &err);
	if (!w->store)
		fail_msg("store: %s", err.msg);
	w->s.store = w->store;
	w->core = core_new(&w->cfg, w->store, NULL, &target, &err);
	if (!w->core)
		fail_msg("core_new: %s", err.msg);
	regs_at(&r, pc, S0);
	w->th.tid = TID;
	w->th.engine_state = &w->st;
	w->th.core = core_thread_new(w->core, TID, NULL, NULL, &r, &w->st.dir, &err);
	if (!w->th.core)
		fail_msg("core_thread_new: %s", err.msg);
}

/* world_close - end the trace (the thread killed) and open it for reading */
static struct store_reader *world_close(struct world *w)
{
	struct err err = { 0 };
	struct store_reader *r;

	if (core_finish(w->core, STORE_END_KILLED, false, &err))
		fail_msg("core_finish: %s", err.msg);
	core_free(w->core);
	if (store_close(w->store, &err))
		fail_msg("store_close: %s", err.msg);
	config_fini(&w->cfg);
	r = reader_open(w->path, &err);
	if (!r)
		fail_msg("reader_open: %s", err.msg);
	return r;
}

/* The cache's side: blocks by id, and a thread whose ring is replayed */

struct cache {
	struct tracee t;
	struct dbt d;
	struct dbt_thread dt;
	struct dbt_block blocks[8];
	struct dbt_insn insns[8][16];
	uint32_t off[8][16];
	uint8_t ctx[DBT_CTX_SIZE];
	uint8_t rings[DBT_RINGS * DBT_RING_STRIDE]; /* the tracer's and the "tracee's" view */
};

/* cache_open - the program's blocks as the cache translates them, ids in program order */
static void cache_open(struct cache *cache, struct world *w, const struct run *run)
{
	struct arch_regs r;

	memset(cache, 0, offsetof(struct cache, rings));
	cache->t.core = w->core;
	cache->t.spare_cpu = -1;
	cache->d.t = &cache->t;
	cache->d.s = &w->s;
	cache->d.ring_size = DBT_RING_SIZE;
	arena_init(&cache->d.arena);
	for (size_t i = 0; i < run->n_prog; i++) {
		const struct code *c = &run->prog[i];
		struct dbt_block *b = &cache->blocks[i];
		size_t at = 0;

		while (at < c->len) {
			struct dbt_insn *in = &cache->insns[i][b->n++];

			if (arch_dbt_analyze(c->addr + at, c->bytes + at, c->len - at, in))
				fail_msg("block %zu: no instruction at +%zu", i, at);
			at += in->a.len;
		}
		b->addr = c->addr;
		b->insns = cache->insns[i];
		b->off = cache->off[i];
		b->id = (uint32_t)i;
		dbt_add_id(&cache->d, b);
	}
	cache->dt.th = &w->th;
	cache->dt.step = &w->st;
	cache->dt.ctxp = cache->ctx;
	cache->dt.rings = cache->dt.ring = (uintptr_t)cache->rings;
	cache->dt.ringsp = cache->dt.ringp = cache->rings;
	dbt_ctx_set(&cache->dt, DBT_CTX_CURSOR, cache->dt.ring);
	regs_at(&r, run->prog[run->steps[0].enter].addr, S0);
	dbt_replay_start(&cache->dt, &r);
}

static void cache_close(struct cache *cache)
{
	dbt_async_free(&cache->d);
	vec_free(&cache->dt.rp.dyn);
	arena_fini(&cache->d.arena);
}

/* ring_of - the records the cache logs for run's steps [from, to) */
static size_t ring_of(const struct run *run, size_t from, size_t to, uint32_t ring[MAX_RING])
{
	size_t n = 0;

	for (size_t i = from; i < to; i++) {
		const struct step *s = &run->steps[i];

		assert_true(n + 3 <= MAX_RING);
		if (s->enter >= 0) {
			ring[n++] = (uint32_t)s->enter;
			continue;
		}
		ring[n++] = s->tag;
		ring[n++] = (uint32_t)s->value;
		ring[n++] = (uint32_t)(s->value >> 32);
	}
	return n;
}

/*
 * push - the thread filled its ring with run's steps [from, to): to the
 * worker, and the thread goes on in its next ring
 */
static int push(struct cache *cache, const struct run *run, size_t from, size_t to, struct err *err)
{
	uint32_t cur = cache->dt.cur;
	size_t n = ring_of(run, from, to, (uint32_t *)cache->dt.ringp);

	dbt_ctx_set(&cache->dt, DBT_CTX_CURSOR, cache->dt.ring + 4 * n);
	if (dbt_async_push(&cache->d, &cache->dt, err))
		return -1;
	assert_int_equal(cache->dt.cur, (cur + 1) % DBT_RINGS);
	assert_int_equal(dbt_ctx_get(&cache->dt, DBT_CTX_CURSOR), cache->dt.ring);
	return 0;
}

/* by_worker - run's ring in two halves through the worker; what it replayed (*n_worker) */
static int by_worker(struct cache *cache, const struct run *run, uint64_t *n_worker,
                     struct err *err)
{
	size_t half = run->n_steps / 2;

	while (half < run->n_steps && run->steps[half].enter < 0)
		half++; /* a tagged record goes with the block before it */
	if (push(cache, run, 0, half, err) || push(cache, run, half, run->n_steps, err) ||
	    dbt_async_sync(&cache->d, err))
		return -1;
	assert_true(dbt_async_idle(&cache->d));
	for (size_t k = 0; k < DBT_RINGS; k++)
		assert_false(cache->dt.held[k]);
	*n_worker = cache->d.n_worker_records;
	return 0;
}

/*
 * replay - run's ring replayed into w's core (how), and its stop; the
 * first error, or 0. *n_worker: the records the worker replayed.
 */
static int replay(struct world *w, const struct run *run, enum how how, uint64_t *n_worker,
                  struct err *err)
{
	static struct cache cache;
	uint32_t ring[MAX_RING];
	size_t n = ring_of(run, 0, run->n_steps, ring), used = n;
	struct dbt_block *last = NULL;
	struct arch_regs r;
	int rc;

	cache_open(&cache, w, run);
	for (size_t i = 0; i < run->n_steps; i++)
		if (run->steps[i].enter >= 0)
			last = &cache.blocks[run->steps[i].enter];
	regs_at(&r, run->pc, run->sp);
	w->st.landing = how == WORKER_LEFT ? F : 0; /* a longjmp's landing: the tracer's */
	*n_worker = 0;
	if (how == DIRECT)
		rc = dbt_replay_records(&cache.d, &cache.dt, ring, n, false, &used, err);
	else
		rc = by_worker(&cache, run, n_worker, err);
	if (!rc)
		assert_int_equal(used, n);
	if (!rc)
		rc = dbt_replay_finish(&cache.d, &cache.dt, run->done >= 0 ? last : NULL,
		                       run->done >= 0 ? (uint32_t)run->done : 0, run->pc, &r, err);
	cache_close(&cache);
	return rc < 0 ? -1 : 0;
}

/* The step engine's side: the same run, instruction by instruction */

struct stepper {
	struct world *w;
	struct arch_regs regs;
	const uint64_t *sps; /* the values of the run's stack pointer records, in order */
	size_t n_sps;
};

/* step - the instruction ran, and the thread went to next */
static void step(struct stepper *s, const struct dbt_insn *in, uint64_t next)
{
	struct arch_regs after;
	uint64_t sp = arch_regs_sp(&s->regs);
	struct err err = { 0 };

	if (in->sp_dynamic) {
		assert_true(s->n_sps > 0);
		sp = *s->sps++;
		s->n_sps--;
	} else {
		sp += (uint64_t)(int64_t)in->sp_delta;
	}
	if (in->a.cls == ARCH_INSN_CALL)
		poke(sp, in->a.addr + in->a.len);
	regs_at(&after, next, sp);
	if (s->w->st.dir.mode == CORE_RECORD &&
	    core_step(s->w->core, s->w->th.core, &in->a, &s->regs, &after, &s->w->st.dir, &err))
		fail_msg("core_step: %s", err.msg);
	s->regs = after;
}

/* returned - the thread, run natively since its call, stopped at the return point pc, sp */
static void returned(struct stepper *s, uint64_t pc, uint64_t sp)
{
	struct err err = { 0 };

	assert_int_equal(s->w->st.dir.mode, CORE_RUN_TO_RETURN);
	assert_int_equal(s->w->st.dir.ret[0].addr, pc);
	regs_at(&s->regs, pc, sp);
	if (core_return_hit(s->w->core, s->w->th.core, &s->regs, &s->w->st.dir, &err))
		fail_msg("core_return_hit: %s", err.msg);
}

/* block_run - block i ran its first done instructions, then (all of them) went to next */
static void block_run(struct stepper *s, const struct run *run, int i, size_t done, uint64_t next)
{
	const struct code *c = &run->prog[i];
	struct dbt_insn in;
	size_t at = 0;

	while (done--) {
		assert_int_equal(arch_dbt_analyze(c->addr + at, c->bytes + at, c->len - at, &in),
		                 0);
		at += in.a.len;
		step(s, &in, at < c->len ? c->addr + at : next);
	}
}

static size_t block_len(const struct code *c)
{
	struct dbt_insn in;
	size_t at = 0, n = 0;

	for (; at < c->len; n++, at += in.a.len)
		assert_int_equal(arch_dbt_analyze(c->addr + at, c->bytes + at, c->len - at, &in),
		                 0);
	return n;
}

/* step_run - run given to w's core as the step engine gives it */
static void step_run(struct world *w, const struct run *run)
{
	uint64_t sps[MAX_STEPS];
	struct stepper s = { .w = w, .sps = sps };
	int prev = -1;

	for (size_t i = 0; i < run->n_steps; i++)
		if (run->steps[i].enter < 0 && run->steps[i].tag == DBT_REC_SP)
			sps[s.n_sps++] = run->steps[i].value;
	regs_at(&s.regs, run->prog[run->steps[0].enter].addr, S0);
	for (size_t i = 0; i < run->n_steps; i++) {
		const struct step *st = &run->steps[i];

		if (st->enter >= 0 && prev >= 0)
			block_run(&s, run, prev, block_len(&run->prog[prev]),
			          run->prog[st->enter].addr);
		if (st->enter >= 0)
			prev = st->enter;
		if (st->enter < 0 && st->tag == DBT_REC_FREE_IN) {
			block_run(&s, run, prev, block_len(&run->prog[prev]), st->value);
			prev = -1;
		}
		if (st->enter < 0 && st->tag == DBT_REC_FREE_OUT)
			returned(&s, run->prog[run->steps[i + 1].enter].addr, st->value);
	}
	if (prev >= 0)
		block_run(&s, run, prev,
		          run->done >= 0 ? (size_t)run->done : block_len(&run->prog[prev]),
		          run->pc);
	assert_int_equal(arch_regs_pc(&s.regs), run->pc);
	assert_int_equal(arch_regs_sp(&s.regs), run->sp);
}

/* Comparing the two traces */

static void expect_same_calls(struct store_reader *a, struct store_reader *b)
{
	struct err err = { 0 };
	struct reader_cursor *ca = reader_calls(a, &err), *cb = reader_calls(b, &err);
	struct reader_call x, y;
	int ra, rb, n = 0;

	assert_non_null(ca);
	assert_non_null(cb);
	while ((ra = reader_call_next(ca, &x, &err)) > 0 &&
	       (rb = reader_call_next(cb, &y, &err)) > 0) {
		assert_int_equal(x.id, y.id);
		assert_int_equal(x.parent, y.parent);
		assert_int_equal(x.kind, y.kind);
		assert_int_equal(x.depth, y.depth);
		assert_int_equal(x.addr, y.addr);
		assert_int_equal(x.site, y.site);
		assert_int_equal(x.ret_addr, y.ret_addr);
		assert_int_equal(x.pos_start, y.pos_start);
		assert_int_equal(x.pos_end, y.pos_end);
		assert_int_equal(x.open, y.open);
		assert_int_equal(x.end, y.end);
		assert_int_equal(x.truncated, y.truncated);
		n++;
	}
	assert_int_equal(ra, 0);
	assert_int_equal(reader_call_next(cb, &y, &err), 0);
	assert_true(n > 0);
	reader_cursor_free(ca);
	reader_cursor_free(cb);
}

/* expect_same_insns - the same instructions, n of them */
static void expect_same_insns(struct store_reader *a, struct store_reader *b, uint64_t n)
{
	struct err err = { 0 };
	struct reader_insns *ia = reader_insns_open(a, 0, 0, UINT64_MAX, &err);
	struct reader_insns *ib = reader_insns_open(b, 0, 0, UINT64_MAX, &err);
	struct reader_insn x, y;
	uint64_t got = 0;
	int ra;

	assert_non_null(ia);
	assert_non_null(ib);
	while ((ra = reader_insns_next(ia, &x, &err)) > 0) {
		assert_int_equal(reader_insns_next(ib, &y, &err), 1);
		assert_int_equal(x.pos, y.pos);
		assert_int_equal(x.addr, y.addr);
		assert_int_equal(x.len, y.len);
		got++;
	}
	assert_int_equal(ra, 0);
	assert_int_equal(reader_insns_next(ib, &y, &err), 0);
	assert_int_equal(got, n);
	reader_insns_free(ia);
	reader_insns_free(ib);
}

/*
 * expect_as_stepped - run replayed from its ring (how) writes the trace
 * the step engine writes, n instructions; it is a block streams trace.
 * Return: the records the worker replayed.
 */
static uint64_t expect_as_stepped(const struct run *run, enum how how, uint64_t n)
{
	struct world rw, sw;
	struct store_reader *rr, *sr;
	struct err err = { 0 };
	uint64_t n_worker;

	world_open(&rw, run->config, run->prog[run->steps[0].enter].addr);
	if (replay(&rw, run, how, &n_worker, &err))
		fail_msg("replay: %s", err.msg);
	rr = world_close(&rw);
	world_open(&sw, run->config, run->prog[run->steps[0].enter].addr);
	step_run(&sw, run);
	sr = world_close(&sw);
	expect_same_calls(rr, sr);
	expect_same_insns(rr, sr, n);
	reader_close(rr);
	reader_close(sr);
	unlink(rw.path);
	unlink(sw.path);
	free(rw.path);
	free(sw.path);
	return n_worker;
}

/* expect_refused - run's ring (or its stop) is an internal error naming what is wrong */
static void expect_refused(const struct run *run, enum how how, const char *msg)
{
	struct world w;
	struct err err = { 0 };
	uint64_t n_worker;

	world_open(&w, run->config, run->prog[run->steps[0].enter].addr);
	assert_int_equal(replay(&w, run, how, &n_worker, &err), -1);
	assert_int_equal(err.kind, ERR_INTERNAL);
	if (!strstr(err.msg, msg))
		fail_msg("error \"%s\" does not say \"%s\"", err.msg, msg);
	reader_close(world_close(&w));
	unlink(w.path);
	free(w.path);
}

#define ENTER(i)                                                                                   \
	{                                                                                          \
		.enter = (i)                                                                       \
	}
#define REC(t, v)                                                                                  \
	{                                                                                          \
		.enter = -1, .tag = (t), .value = (v)                                              \
	}
#define REL32(from, to)                                                                            \
	(uint8_t)((to) - (from)), (uint8_t)(((to) - (from)) >> 8),                                 \
	        (uint8_t)(((to) - (from)) >> 16), (uint8_t)(((to) - (from)) >> 24)

/*
 * main: push rbp; nop; call F        (M)
 *       pop rbp; jmp M+0x10          (M+7)
 *       nop; jmp M+0x10              (M+0x10, a loop)
 * F:    nop; ret
 */
static const struct code calls_prog[] = {
	{ M, { 0x55, 0x90, 0xe8, REL32(M + 7, F) }, 7 },
	{ M + 7, { 0x5d, 0xe9, REL32(M + 13, M + 0x10) }, 6 },
	{ M + 0x10, { 0x90, 0xe9, REL32(M + 0x16, M + 0x10) }, 6 },
	{ F, { 0x90, 0xc3 }, 2 },
};

/* A call and its return, then a loop: the runs of one block, the core told of each transfer. */
static void test_calls_and_loop_as_stepped(void **state)
{
	struct run run = { .config = "call-depth 5\n",
		           .prog = calls_prog,
		           .n_prog = 4,
		           .steps = { ENTER(0), ENTER(3), ENTER(1), ENTER(2), ENTER(2), ENTER(2),
		                      ENTER(2), ENTER(2) },
		           .n_steps = 8,
		           .pc = M + 0x10,
		           .sp = S0,
		           .done = -1 };

	(void)state;
	expect_as_stepped(&run, DIRECT, 3 + 2 + 2 + 5 * 2);
}

/* Stopped inside the loop's block, after its first instruction: that one is recorded. */
static void test_stop_inside_a_block_as_stepped(void **state)
{
	struct run run = { .config = "call-depth 5\n",
		           .prog = calls_prog,
		           .n_prog = 4,
		           .steps = { ENTER(0), ENTER(3), ENTER(1), ENTER(2), ENTER(2) },
		           .n_steps = 5,
		           .pc = M + 0x11,
		           .sp = S0,
		           .done = 1 };

	(void)state;
	expect_as_stepped(&run, DIRECT, 3 + 2 + 2 + 2 + 1);
}

/*
 * main: push rbp; mov rbp, rsp; and rsp, -16; mov rsp, rbp; call F   (M)
 *       pop rbp; jmp M+0x20                                        (M+0x12)
 *       nop; jmp M+0x20                                            (M+0x20)
 * F:    nop; ret
 * `and rsp` and `mov rsp, rbp` set rsp from run-time values: stack
 * pointer records follow them.
 */
static const struct code dynamic_prog[] = {
	{ M,
	  { 0x55, 0x48, 0x89, 0xe5, 0x48, 0x83, 0xe4, 0xf0, 0x48, 0x89, 0xec, 0xe8,
	    REL32(M + 0x10, F) },
	  16 },
	{ M + 0x10, { 0x5d, 0xe9, REL32(M + 0x16, M + 0x20) }, 6 },
	{ M + 0x20, { 0x90, 0xe9, REL32(M + 0x26, M + 0x20) }, 6 },
	{ F, { 0x90, 0xc3 }, 2 },
};

/* A block with stack pointer records: replayed instruction by instruction, as stepped. */
static void test_stack_pointer_records_as_stepped(void **state)
{
	struct run run = { .config = "call-depth 5\n",
		           .prog = dynamic_prog,
		           .n_prog = 4,
		           .steps = { ENTER(0), REC(DBT_REC_SP, S0 - 0x10), REC(DBT_REC_SP, S0 - 8),
		                      ENTER(3), ENTER(1), ENTER(2) },
		           .n_steps = 6,
		           .pc = M + 0x20,
		           .sp = S0,
		           .done = -1 };

	(void)state;
	expect_as_stepped(&run, DIRECT, 5 + 2 + 2 + 2);
}

/*
 * Past the depth limit (main the first level, F the second): the cache
 * enters F unrecorded and logs where it went and where it came back; the
 * replay plays the return breakpoint the step engine would have hit.
 */
static void test_unrecorded_call_returns_as_stepped(void **state)
{
	struct run run = { .config = "call-depth 1\n",
		           .prog = calls_prog,
		           .n_prog = 4,
		           .steps = { ENTER(0), REC(DBT_REC_FREE_IN, F),
		                      REC(DBT_REC_FREE_OUT, S0 - 8), ENTER(1), ENTER(2) },
		           .n_steps = 5,
		           .pc = M + 0x10,
		           .sp = S0,
		           .done = -1 };

	(void)state;
	expect_as_stepped(&run, DIRECT, 3 + 2 + 2);
}

/* Rings no cache writes, and a stop the replay did not lead to: internal errors. */
static void test_bad_rings_refused(void **state)
{
	struct run run = {
		.config = "call-depth 5\n", .prog = calls_prog, .n_prog = 4, .done = -1
	};
	const struct {
		struct step steps[3];
		size_t n_steps;
		uint64_t sp;
		const char *msg;
	} bad[] = {
		{ { ENTER(0), ENTER(7) }, 2, S0, "unknown block 7" },
		{ { ENTER(0), REC(DBT_REC_FREE_OUT, S0) }, 2, S0, "ran code unrecorded" },
		{ { ENTER(0), REC(0xfffffff0u, 0) }, 2, S0, "unknown record 0xfffffff0" },
		{ { ENTER(2), ENTER(2) }, 2, S0 - 8, "replayed sp" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(run.steps, bad[i].steps, sizeof(bad[i].steps));
		run.n_steps = bad[i].n_steps;
		run.pc = M + 0x10;
		run.sp = bad[i].sp;
		expect_refused(&run, DIRECT, bad[i].msg);
		expect_refused(&run, WORKER, bad[i].msg);
	}
}

/* The worker replays full rings in the order they filled: the same trace, and all of it. */
static void test_worker_replays_pushed_rings_as_stepped(void **state)
{
	struct run run = { .config = "call-depth 5\n",
		           .prog = dynamic_prog,
		           .n_prog = 4,
		           .steps = { ENTER(0), REC(DBT_REC_SP, S0 - 0x10), REC(DBT_REC_SP, S0 - 8),
		                      ENTER(3), ENTER(1), ENTER(2), ENTER(2), ENTER(2) },
		           .n_steps = 8,
		           .pc = M + 0x20,
		           .sp = S0,
		           .done = -1 };

	(void)state;
	assert_int_equal(expect_as_stepped(&run, WORKER, 5 + 2 + 2 + 3 * 2), 1 + 6 + 5);
}

/* A thread whose longjmp landing is watched: the worker leaves it all to the tracer's sync. */
static void test_worker_leaves_watched_thread_to_sync(void **state)
{
	struct run run = { .config = "call-depth 5\n",
		           .prog = calls_prog,
		           .n_prog = 4,
		           .steps = { ENTER(0), ENTER(3), ENTER(1), ENTER(2), ENTER(2) },
		           .n_steps = 5,
		           .pc = M + 0x10,
		           .sp = S0,
		           .done = -1 };

	(void)state;
	assert_int_equal(expect_as_stepped(&run, WORKER_LEFT, 3 + 2 + 2 + 2 * 2), 0);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return test_sh("rm -rf %s", tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_calls_and_loop_as_stepped),
		cmocka_unit_test(test_stop_inside_a_block_as_stepped),
		cmocka_unit_test(test_stack_pointer_records_as_stepped),
		cmocka_unit_test(test_unrecorded_call_returns_as_stepped),
		cmocka_unit_test(test_bad_rings_refused),
		cmocka_unit_test(test_worker_replays_pushed_rings_as_stepped),
		cmocka_unit_test(test_worker_leaves_watched_thread_to_sync),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
