/*
 * Unit tests of the tracer core (src/trace/core.c, core-life.c): the rules
 * that turn observed instructions into calls, depths and events.
 *
 * Each test plays a backend: it feeds the core a synthetic instruction
 * stream (real bytes decoded by arch_decode, with registers that agree with
 * what each instruction did) and the events a backend reports (scope hits,
 * return hits, signals, threads, binaries), checks the directives the core
 * answers with, then reads the trace file back and compares the exact call
 * tree, events and instruction positions.
 *
 * The program's memory is a fake: two stacks (the thread's and an
 * alternate signal stack) and the fixture's first pages (its GOT, where
 * IFUNC implementations are stored) served from buffers. Code addresses are made up
 * (the core never reads code), except scope entries, which come from a
 * tiny program compiled at test time and "loaded" at BASE; its symbol
 * addresses are read with nm, independently of nosco's symbol code.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "arch/arch.h"
#include "config/config.h"
#include "store/reader.h"
#include "store/store.h"
#include "trace/core-internal.h"
#include "trace/core.h"
#include "util/xalloc.h"

/* The fake program's memory: the thread's stack and an alternate signal stack above it. */
#define MEM_WORDS 4096
#define STACK_LO  UINT64_C(0x7ffd00000000)
#define S0        (STACK_LO + 0x6000) /* the stack pointer where tests start */
#define ALT_LO    UINT64_C(0x7ffe00000000)
#define A0        (ALT_LO + 0x6000) /* the top of the alternate signal stack */
#define MAX_ARMS  16

/* Made-up code addresses, outside every binary (so backtraces stop there). */
#define MAIN     UINT64_C(0x401000)
#define F        UINT64_C(0x402000)
#define G        UINT64_C(0x403000)
#define K        UINT64_C(0x404000)
#define H        UINT64_C(0x405000)   /* a signal handler */
#define RESTORER UINT64_C(0x406000)   /* its return trampoline (__restore_rt) */
#define RET0     UINT64_C(0x10001234) /* where an untraced caller called a scope from */
/* Callees of the scopes: past the fixture's end, but within a rel32 call's reach. */
#define X (BASE + 0x100000)
#define Y (BASE + 0x101000)
#define Z (BASE + 0x102000)

/* Where the fixture program is "loaded", and its scope functions there. */
#define BASE             UINT64_C(0x555500000000)
#define BASE2            UINT64_C(0x7f0000000000)
#define OUTER            (BASE + sym.outer)
#define INNER            (BASE + sym.inner)
#define ZERO             (BASE + sym.zero)
#define TAIL             (BASE + sym.tail)
#define TAIL2            (BASE + sym.tail2)
#define PLAIN            (BASE + sym.plain)
#define RESOLVER         (BASE + sym.pick)
#define IMPL_A           (BASE + sym.impl_a)
#define IMPL_B           (BASE + sym.impl_b)
#define IREL_SLOT        (BASE + sym.irel_slot)
#define N_REGIONS        3

#define SYS_EXIT         60
#define SYS_CLONE        56
#define SYS_RT_SIGRETURN 15

static char tmpdir[] = "/tmp/nosco-test-core-XXXXXX";
static char prog_path[512];

/* File addresses of the fixture's functions (from nm). */
static struct {
	uint64_t outer, inner, zero, tail, tail2, plain, pick, impl_a, impl_b;
	uint64_t irel_slot; /* the GOT slot of scope_ifunc's IRELATIVE relocation */
} sym;

/* Everything one test builds; reset before each test, released after it. */
static struct world {
	struct config cfg;
	struct store *store;
	struct core *core;
	struct store_reader *r;
	char *path;
	struct region {
		uint64_t lo;
		uint64_t w[MEM_WORDS];
	} mem[N_REGIONS];
	uint64_t armed[MAX_ARMS], disarmed[MAX_ARMS];
	size_t n_armed, n_disarmed;
} W;

/* A thread as the backend sees it: registers now, the last directive. */
struct thr {
	struct core_thread *th;
	struct arch_regs regs;
	struct core_directive d;
};

/* The bytes of one instruction, as (pointer, length) arguments. */
#define BYTES(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

/* The fake target */

static uint64_t *word_at(uint64_t addr)
{
	for (size_t i = 0; i < N_REGIONS; i++)
		if (addr >= W.mem[i].lo && addr < W.mem[i].lo + MEM_WORDS * 8 && !(addr & 7))
			return &W.mem[i].w[(addr - W.mem[i].lo) / 8];
	fail_msg("no fake memory at %#" PRIx64, addr);
	return NULL;
}

static void poke(uint64_t addr, uint64_t v)
{
	*word_at(addr) = v;
}

static uint64_t peek(uint64_t addr)
{
	return *word_at(addr);
}

static long fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	(void)ctx;
	for (size_t i = 0; i < N_REGIONS; i++) {
		uint64_t lo = W.mem[i].lo, hi = lo + MEM_WORDS * 8;

		if (addr < lo || addr >= hi)
			continue;
		if (len > hi - addr)
			len = hi - addr;
		memcpy(buf, (const uint8_t *)W.mem[i].w + (addr - lo), len);
		return (long)len;
	}
	return -1;
}

static int fake_arm(void *ctx, uint64_t addr, struct err *err)
{
	(void)ctx;
	(void)err;
	assert_true(W.n_armed < MAX_ARMS);
	W.armed[W.n_armed++] = addr;
	return 0;
}

static void fake_disarm(void *ctx, uint64_t addr)
{
	(void)ctx;
	assert_true(W.n_disarmed < MAX_ARMS);
	W.disarmed[W.n_disarmed++] = addr;
}

/* The world: configuration, store, core */

static void world_open(const char *kdl)
{
	static int n;
	const struct core_target target = { .read_mem = fake_read,
		                            .arm_scope = fake_arm,
		                            .disarm_scope = fake_disarm };
	struct err err = { 0 };

	memset(&W, 0, sizeof(W));
	W.mem[0].lo = STACK_LO;
	W.mem[1].lo = ALT_LO;
	W.mem[2].lo = BASE;
	if (config_parse(&W.cfg, kdl, "cfg.kdl", &err))
		fail_msg("config: %s", err.msg);
	W.path = xasprintf("%s/trace-%d.nosco", tmpdir, n++);
	W.store = store_create(W.path, true, &err);
	if (!W.store)
		fail_msg("store_create: %s", err.msg);
	W.core = core_new(&W.cfg, W.store, NULL, &target, &err);
	if (!W.core)
		fail_msg("core_new: %s", err.msg);
}

/* world_finish - end the trace (core_finish's result), then open it for reading */
static int world_finish(enum store_call_end how, bool run_failed, struct err *err)
{
	struct err e = { 0 };
	int rc = core_finish(W.core, how, run_failed, err);

	core_free(W.core);
	W.core = NULL;
	if (store_close(W.store, &e))
		fail_msg("store_close: %s", e.msg);
	W.store = NULL;
	W.r = reader_open(W.path, &e);
	if (!W.r)
		fail_msg("reader_open: %s", e.msg);
	return rc;
}

static void finish(enum store_call_end how)
{
	struct err err = { 0 };

	if (world_finish(how, false, &err))
		fail_msg("core_finish: %s", err.msg);
}

static int teardown(void **state)
{
	(void)state;
	reader_close(W.r);
	core_free(W.core);
	store_close(W.store, NULL);
	config_fini(&W.cfg);
	if (W.path)
		unlink(W.path);
	free(W.path);
	memset(&W, 0, sizeof(W));
	return 0;
}

static void load_binary(struct thr *t, uint64_t base)
{
	const struct core_binary b = { .path = prog_path, .name = prog_path, .base = base };
	struct err err = { 0 };

	if (core_binary_loaded(W.core, t ? t->th : NULL, t ? &t->regs : NULL, &b, &err))
		fail_msg("core_binary_loaded: %s", err.msg);
}

/* The backend's side: threads and instructions */

static void set_regs(struct arch_regs *r, uint64_t pc, uint64_t sp)
{
	memset(r, 0, sizeof(*r));
	arch_regs_set_pc(r, pc);
	arch_regs_set_sp(r, sp);
}

static uint64_t pc_of(const struct thr *t)
{
	return arch_regs_pc(&t->regs);
}

static uint64_t sp_of(const struct thr *t)
{
	return arch_regs_sp(&t->regs);
}

static void thread_start(struct thr *t, pid_t tid, struct thr *parent, uint64_t pc, uint64_t sp)
{
	struct err err = { 0 };

	memset(t, 0, sizeof(*t));
	set_regs(&t->regs, pc, sp);
	t->th = core_thread_new(W.core, tid, parent ? parent->th : NULL,
	                        parent ? &parent->regs : NULL, &t->regs, &t->d, &err);
	if (!t->th)
		fail_msg("core_thread_new: %s", err.msg);
}

static struct arch_insn decode(uint64_t addr, const uint8_t *b, size_t n)
{
	struct arch_insn insn;

	if (arch_decode(addr, b, n, &insn) || insn.len != n)
		fail_msg("%zu bytes at %#" PRIx64 " are not one instruction", n, addr);
	return insn;
}

/* exec - the thread executed one instruction, which left it at pc with sp */
static struct arch_insn exec(struct thr *t, const uint8_t *b, size_t n, uint64_t pc, uint64_t sp)
{
	struct arch_insn insn = decode(pc_of(t), b, n);
	struct arch_regs after = t->regs;
	struct err err = { 0 };

	if (t->d.mode != CORE_RECORD)
		fail_msg("stepping at %#" PRIx64 " a thread that is not recording", pc_of(t));
	arch_regs_set_pc(&after, pc);
	arch_regs_set_sp(&after, sp);
	if (core_step(W.core, t->th, &insn, &t->regs, &after, &t->d, &err))
		fail_msg("core_step: %s", err.msg);
	t->regs = after;
	return insn;
}

/* op - an instruction that neither branches nor moves the stack pointer */
static void op(struct thr *t, const uint8_t *b, size_t n)
{
	exec(t, b, n, pc_of(t) + n, sp_of(t));
}

static void nop(struct thr *t)
{
	op(t, BYTES(0x90));
}

/* op_sp - an instruction that moves the stack pointer by delta (push, pop, sub rsp) */
static void op_sp(struct thr *t, int64_t delta, const uint8_t *b, size_t n)
{
	exec(t, b, n, pc_of(t) + n, sp_of(t) + (uint64_t)delta);
}

static void sub_sp(struct thr *t, uint8_t n)
{
	op_sp(t, -(int64_t)n, BYTES(0x48, 0x83, 0xec, n));
}

static void add_sp(struct thr *t, uint8_t n)
{
	op_sp(t, n, BYTES(0x48, 0x83, 0xc4, n));
}

/* call_via - a call instruction of any form: pushes the return address (and CS if far) */
static void call_via(struct thr *t, uint64_t target, size_t pushed, const uint8_t *b, size_t n)
{
	uint64_t sp = sp_of(t) - pushed;

	assert_int_equal(decode(pc_of(t), b, n).cls, ARCH_INSN_CALL);
	poke(sp, pc_of(t) + n);
	if (pushed > 8)
		poke(sp + 8, 0x33); /* the code segment of a far call */
	exec(t, b, n, target, sp);
}

static void call(struct thr *t, uint64_t target)
{
	uint32_t rel = (uint32_t)(target - (pc_of(t) + 5));

	call_via(t, target, 8, BYTES(0xe8, rel, rel >> 8, rel >> 16, rel >> 24));
}

/* ret_via - a return of any form: pops the return address and `popped - 8` more bytes */
static void ret_via(struct thr *t, size_t popped, const uint8_t *b, size_t n)
{
	assert_int_equal(decode(pc_of(t), b, n).cls, ARCH_INSN_RET);
	exec(t, b, n, peek(sp_of(t)), sp_of(t) + popped);
}

static void ret(struct thr *t)
{
	ret_via(t, 8, BYTES(0xc3));
}

static void jmp(struct thr *t, uint64_t target)
{
	int64_t rel8 = (int64_t)(target - (pc_of(t) + 2));
	uint32_t rel = (uint32_t)(target - (pc_of(t) + 5));

	if (rel8 >= -128 && rel8 < 128)
		exec(t, BYTES(0xeb, (uint8_t)rel8), target, sp_of(t));
	else
		exec(t, BYTES(0xe9, rel, rel >> 8, rel >> 16, rel >> 24), target, sp_of(t));
}

/* long_jump - what longjmp ends with: mov rsp, rdx; jmp rcx */
static void long_jump(struct thr *t, uint64_t pc, uint64_t sp)
{
	exec(t, BYTES(0x48, 0x89, 0xd4), pc_of(t) + 3, sp);
	exec(t, BYTES(0xff, 0xe1), pc, sp);
}

/* sys - a syscall instruction (system call nr) after which the thread is at pc with sp */
static void sys(struct thr *t, uint64_t nr, uint64_t pc, uint64_t sp)
{
	const uint64_t args[6] = { 0 };

	arch_regs_set_syscall(&t->regs, (long)nr, args);
	exec(t, BYTES(0x0f, 0x05), pc, sp);
}

/* The backend ran the thread at full speed to a scope entry (ret: the word at sp). */
static void scope_hit(struct thr *t, uint64_t pc, uint64_t sp, uint64_t ret_addr)
{
	struct err err = { 0 };

	assert_true(core_is_scope_entry(W.core, pc));
	poke(sp, ret_addr);
	arch_regs_set_pc(&t->regs, pc);
	arch_regs_set_sp(&t->regs, sp);
	if (core_scope_hit(W.core, t->th, &t->regs, &t->d, &err))
		fail_msg("core_scope_hit: %s", err.msg);
}

/* The backend ran the thread at full speed to one of its return points. */
static void return_hit(struct thr *t, uint64_t pc, uint64_t sp)
{
	struct err err = { 0 };

	arch_regs_set_pc(&t->regs, pc);
	arch_regs_set_sp(&t->regs, sp);
	if (core_return_hit(W.core, t->th, &t->regs, &t->d, &err))
		fail_msg("core_return_hit: %s", err.msg);
}

/* A signal is delivered and its handler entered at pc with sp. */
static void signal_handler(struct thr *t, int sig, uint64_t pc, uint64_t sp)
{
	struct arch_regs handler;
	struct err err = { 0 };

	if (core_signal(W.core, t->th, sig, &t->regs, &err))
		fail_msg("core_signal: %s", err.msg);
	set_regs(&handler, pc, sp);
	poke(sp, RESTORER); /* the kernel's return address: the sigreturn trampoline */
	if (core_signal_handler(W.core, t->th, sig, &t->regs, &handler, &t->d, &err))
		fail_msg("core_signal_handler: %s", err.msg);
	t->regs = handler;
}

/* The thread exits; a recording thread's last instruction is its exit syscall. */
static void thread_exit(struct thr *t, int code)
{
	const struct store_exit ex = { .code = code };
	struct arch_insn last = decode(pc_of(t), BYTES(0x0f, 0x05));
	bool recording = t->d.mode == CORE_RECORD;
	struct err err = { 0 };

	arch_regs_set_syscall(&t->regs, SYS_EXIT, (const uint64_t[6]){ 0 });
	if (core_thread_exit(W.core, t->th, recording ? &last : NULL, &t->regs, &ex, &err))
		fail_msg("core_thread_exit: %s", err.msg);
}

/* Expectations */

#define EXPECT_DIR(t, mode, a0, s0, a1, s1) expect_dir(t, mode, a0, s0, a1, s1, __LINE__)
#define EXPECT_RECORD(t)                    EXPECT_DIR(t, CORE_RECORD, 0, 0, 0, 0)
#define EXPECT_FREE(t)                      EXPECT_DIR(t, CORE_RUN_FREE, 0, 0, 0, 0)
#define EXPECT_RUN_TO(t, a0, s0, a1, s1)    EXPECT_DIR(t, CORE_RUN_TO_RETURN, a0, s0, a1, s1)

static const char *mode_name(enum core_mode m)
{
	return m == CORE_RECORD ? "record" : m == CORE_RUN_FREE ? "run-free" : "run-to-return";
}

static void expect_dir(const struct thr *t, enum core_mode mode, uint64_t a0, uint64_t s0,
                       uint64_t a1, uint64_t s1, int line)
{
	const struct core_directive *d = &t->d;

	if (d->mode == mode && d->ret[0].addr == a0 && d->ret[0].frame_sp == s0 &&
	    d->ret[1].addr == a1 && d->ret[1].frame_sp == s1)
		return;
	fail_msg("line %d: directive %s {%#" PRIx64 ", %#" PRIx64 "} {%#" PRIx64 ", %#" PRIx64
	         "}, want %s {%#" PRIx64 ", %#" PRIx64 "} {%#" PRIx64 ", %#" PRIx64 "}",
	         line, mode_name(d->mode), d->ret[0].addr, d->ret[0].frame_sp, d->ret[1].addr,
	         d->ret[1].frame_sp, mode_name(mode), a0, s0, a1, s1);
}

/* tree - every call of the trace, one line each: "id tTHREAD kind ^PARENT dDEPTH [pos) end" */
static char *tree(void)
{
	struct err err = { 0 };
	struct reader_cursor *c = reader_calls(W.r, &err);
	struct reader_call call;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc;

	assert_non_null(c);
	while ((rc = reader_call_next(c, &call, &err)) > 0) {
		fprintf(f, "%" PRId64 " t%" PRId64 " %s ^", call.id, call.thread,
		        reader_call_kind_name(call.kind));
		if (call.parent == STORE_NONE)
			fputc('-', f);
		else
			fprintf(f, "%" PRId64, call.parent);
		fprintf(f, " d%u [%" PRIu64 ",%" PRIu64 ") %s%s\n", call.depth, call.pos_start,
		        call.pos_end, call.open ? "open" : reader_call_end_name(call.end),
		        call.truncated ? " trunc" : "");
	}
	reader_cursor_free(c);
	fclose(f);
	if (rc < 0)
		fail_msg("reading calls: %s", err.msg);
	return buf;
}

/* events - every event: "id kind tTHREAD cCALL @POS sSUBJECT [detail]" */
static char *events(void)
{
	struct err err = { 0 };
	struct reader_cursor *c = reader_events(W.r, &err);
	struct reader_event ev;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc;

	assert_non_null(c);
	while ((rc = reader_event_next(c, &ev, &err)) > 0) {
		fprintf(f, "%" PRId64 " %s t%" PRId64 " c", ev.id, reader_event_kind_name(ev.kind),
		        ev.thread);
		if (ev.call == STORE_NONE)
			fputc('-', f);
		else
			fprintf(f, "%" PRId64, ev.call);
		fprintf(f, " @%" PRIu64 " s%" PRId64 "%s%s\n", ev.pos, ev.subject,
		        ev.detail ? " " : "", ev.detail ? ev.detail : "");
	}
	reader_cursor_free(c);
	fclose(f);
	if (rc < 0)
		fail_msg("reading events: %s", err.msg);
	return buf;
}

/* insns - the addresses of a thread's instructions [from, to), space-separated */
static char *insns(int64_t thread, uint64_t from, uint64_t to)
{
	struct err err = { 0 };
	struct reader_insns *it = reader_insns_open(W.r, thread, from, to, &err);
	struct reader_insn in;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc;

	assert_non_null(it);
	while ((rc = reader_insns_next(it, &in, &err)) > 0)
		fprintf(f, "%s%#" PRIx64, ftell(f) ? " " : "", in.addr);
	reader_insns_free(it);
	fclose(f);
	if (rc < 0)
		fail_msg("reading instructions: %s", err.msg);
	return buf;
}

#define EXPECT_TEXT(got, want) expect_text(#got, got, want, __LINE__)

static void expect_text(const char *what, char *got, const char *want, int line)
{
	if (strcmp(got, want)) {
		print_error("line %d: %s is\n%s\nwant\n%s\n", line, what, got, want);
		free(got);
		fail();
	}
	free(got);
}

#define EXPECT_CALL(id, addr, site, ret_addr) expect_call(id, addr, site, ret_addr, __LINE__)

static struct reader_call get_call(int64_t id)
{
	struct reader_call call;
	struct err err = { 0 };

	if (reader_call_get(W.r, id, &call, &err))
		fail_msg("call %" PRId64 ": %s", id, err.msg);
	return call;
}

/* expect_call - a call's entry address, call site and return address */
static void expect_call(int64_t id, uint64_t addr, uint64_t site, uint64_t ret_addr, int line)
{
	struct reader_call call = get_call(id);

	if (call.addr != addr || call.site != site || call.ret_addr != ret_addr)
		fail_msg("line %d: call %" PRId64 " addr %#" PRIx64 " site %#" PRIx64
		         " ret %#" PRIx64 ", want %#" PRIx64 " %#" PRIx64 " %#" PRIx64,
		         line, id, call.addr, call.site, call.ret_addr, addr, site, ret_addr);
}

static struct reader_counts counts(void)
{
	struct reader_counts n;
	struct err err = { 0 };

	if (reader_counts(W.r, &n, &err))
		fail_msg("counts: %s", err.msg);
	return n;
}

/* The scoped configuration most scoped tests use. */
static const char scoped_kdl[] = "call-depth 1\n"
                                 "trace scope_outer binary=prog\n"
                                 "trace scope_inner binary=prog call-depth=2\n"
                                 "trace scope_zero binary=prog call-depth=0\n"
                                 "trace scope_tail binary=prog\n"
                                 "trace scope_tail2 binary=prog\n";

/* scoped - a scoped world with the fixture loaded at BASE and one thread running free */
static void scoped(struct thr *t, const char *kdl)
{
	world_open(kdl);
	load_binary(NULL, BASE);
	thread_start(t, 100, NULL, MAIN, S0 + 0x100);
	EXPECT_FREE(t);
}

/* 1. Full mode: the implicit root, the depth limit */

/*
 * Levels 1..N record (the thread's start is level 1); a call at level N+1
 * is recorded without instructions and runs to its return, watched at its
 * own return address and at its caller's.
 */
static void test_full_root_at_first_insn_and_call_past_depth_runs_to_return(void **state)
{
	struct thr t;

	(void)state;
	world_open("call-depth 2\n");
	thread_start(&t, 100, NULL, MAIN, S0);
	EXPECT_RECORD(&t);
	nop(&t);     /* 0 */
	call(&t, F); /* 1 MAIN+1: level 2 */
	EXPECT_RECORD(&t);
	sub_sp(&t, 24); /* 2 F */
	call(&t, G);    /* 3 F+4: level 3, past the limit */
	EXPECT_RUN_TO(&t, F + 9, S0 - 0x28, MAIN + 6, S0 - 8);
	return_hit(&t, F + 9, S0 - 0x20);
	EXPECT_RECORD(&t);
	add_sp(&t, 24); /* 4 F+9 */
	ret(&t);        /* 5 F+13 */
	EXPECT_RECORD(&t);
	nop(&t);            /* 6 MAIN+6 */
	thread_exit(&t, 0); /* 7 */
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 root ^- d1 [0,8) exit\n"
	                    "1 t0 call ^0 d2 [2,6) return\n"
	                    "2 t0 call ^1 d3 [4,4) return trunc\n");
	EXPECT_CALL(0, MAIN, 0, 0);
	EXPECT_CALL(1, F, MAIN + 1, MAIN + 6);
	EXPECT_CALL(2, G, F + 4, F + 9);
	EXPECT_TEXT(insns(0, 2, 6), "0x402000 0x402004 0x402009 0x40200d");
	assert_int_equal(get_call(0).bt_len, 0); /* only scopes have a backtrace */
}

/* A truncated call that never comes back to its return address ends at its caller's. */
static void test_full_truncated_call_unwound_to_callers_return_point(void **state)
{
	struct thr t;

	(void)state;
	world_open("call-depth 2\n");
	thread_start(&t, 100, NULL, MAIN, S0);
	call(&t, F);    /* 0 */
	sub_sp(&t, 24); /* 1 */
	call(&t, G);    /* 2 */
	EXPECT_RUN_TO(&t, F + 9, S0 - 0x28, MAIN + 5, S0 - 8);
	/* G longjmps (or throws) past F: F's return point is reached, G's never. */
	return_hit(&t, MAIN + 5, S0);
	EXPECT_RECORD(&t);
	nop(&t); /* 3 */
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 root ^- d1 [0,4) killed\n"
	                    "1 t0 call ^0 d2 [1,3) return\n"
	                    "2 t0 call ^1 d3 [3,3) unwind trunc\n");
}

/* The implicit root never returns, so a truncated call it makes has one return point. */
static void test_full_truncated_call_of_root_has_one_return_point(void **state)
{
	struct thr t;

	(void)state;
	world_open("call-depth 1\n");
	thread_start(&t, 100, NULL, MAIN, S0);
	call(&t, F);
	EXPECT_RUN_TO(&t, MAIN + 5, S0 - 8, 0, 0);
	return_hit(&t, MAIN + 5, S0);
	EXPECT_RECORD(&t);
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 root ^- d1 [0,1) killed\n"
	                    "1 t0 call ^0 d2 [1,1) return trunc\n");
}

static void test_full_call_depth_0_records_nothing(void **state)
{
	struct thr t;

	(void)state;
	world_open("call-depth 0\n");
	thread_start(&t, 100, NULL, MAIN, S0);
	EXPECT_FREE(&t);
	thread_exit(&t, 0);
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "");
	EXPECT_TEXT(events(), "0 exit_thread t0 c- @0 s0\n");
	assert_int_equal(counts().insns, 0);
	assert_int_equal(counts().threads, 1);
}

/* The thread's start is an outermost call that no stack pointer closes. */
static void test_full_root_never_closes_by_stack_pointer(void **state)
{
	struct thr t;

	(void)state;
	world_open("call-depth 3\n");
	thread_start(&t, 100, NULL, MAIN, S0);
	poke(S0, MAIN + 0x30);
	ret(&t); /* 0: a start routine returning */
	EXPECT_RECORD(&t);
	long_jump(&t, MAIN + 0x40, S0 + 0x800); /* 1, 2 */
	EXPECT_RECORD(&t);
	call(&t, F); /* 3 */
	ret(&t);     /* 4 */
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 root ^- d1 [0,5) killed\n"
	                    "1 t0 call ^0 d2 [4,5) return\n");
}

/*
 * A thread found running when nosco attached: an attach event outside any
 * call, then (full mode) an "attached" root at its pc that, like a
 * thread's start, never closes by the stack pointer: the returns out of
 * the calls open at the attach are recorded in it; at the detach it ends
 * "detached".
 */
static void test_attached_thread_roots_at_its_pc_and_ends_detached(void **state)
{
	struct err err = { 0 };
	struct thr t;

	(void)state;
	world_open("call-depth 2\n");
	memset(&t, 0, sizeof(t));
	set_regs(&t.regs, F + 9, S0 - 0x20);
	t.th = core_thread_attached(W.core, 100, &t.regs, &t.d, &err);
	if (!t.th)
		fail_msg("core_thread_attached: %s", err.msg);
	EXPECT_RECORD(&t);
	poke(S0 - 0x20, MAIN + 6);
	ret(&t); /* 0: out of F, open at the attach */
	EXPECT_RECORD(&t);
	call(&t, G); /* 1 MAIN+6: level 2 */
	ret(&t);     /* 2 */
	finish(STORE_END_DETACHED);

	EXPECT_TEXT(tree(), "0 t0 attached ^- d1 [0,3) detached\n"
	                    "1 t0 call ^0 d2 [2,3) return\n");
	EXPECT_TEXT(events(), "0 attach t0 c- @0 s0\n");
}

/* 2. Scoped mode */

/* A scope entry hit while running free opens a root scope with the caller's backtrace. */
static void test_scope_hit_opens_root_scope_with_entry_backtrace(void **state)
{
	struct thr t;
	struct reader_call root;

	(void)state;
	scoped(&t, scoped_kdl);
	scope_hit(&t, OUTER, S0, RET0);
	EXPECT_RECORD(&t);
	nop(&t);     /* 0 */
	call(&t, X); /* 1: level 2 of a call-depth 1 scope */
	EXPECT_RUN_TO(&t, OUTER + 6, S0 - 8, RET0, S0);
	return_hit(&t, OUTER + 6, S0);
	EXPECT_RECORD(&t);
	ret(&t); /* 2 */
	EXPECT_FREE(&t);
	/* The scope called again (in a loop): another root of the same thread. */
	scope_hit(&t, OUTER, S0, RET0 + 0x10);
	ret(&t); /* 3 */
	EXPECT_FREE(&t);
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 scope ^- d1 [0,3) return\n"
	                    "1 t0 call ^0 d2 [2,2) return trunc\n"
	                    "2 t0 scope ^- d1 [3,4) return\n");
	EXPECT_CALL(0, OUTER, 0, RET0);
	EXPECT_CALL(1, X, OUTER + 1, OUTER + 6);
	EXPECT_CALL(2, OUTER, 0, RET0 + 0x10);
	/* The return address at the entry, then the unwinding from there (nothing: RET0 is
	 * in no binary). */
	root = get_call(0);
	assert_int_equal(root.bt_len, 1);
	assert_int_equal(root.bt[0], RET0);
	assert_int_equal(get_call(1).bt_len, 0);
}

/* call-depth=0: the scope's call is recorded, none of its instructions. */
static void test_scope_depth_0_is_truncated_at_once(void **state)
{
	struct thr t;

	(void)state;
	scoped(&t, scoped_kdl);
	scope_hit(&t, ZERO, S0, RET0);
	EXPECT_RUN_TO(&t, RET0, S0, 0, 0);
	return_hit(&t, RET0, S0 + 8);
	EXPECT_FREE(&t);
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 scope ^- d1 [0,0) return trunc\n");
	EXPECT_CALL(0, ZERO, 0, RET0);
	assert_int_equal(get_call(0).bt_len, 1);
	assert_int_equal(counts().insns, 0);
}

/* A scope called while recording starts its own depth budget, and the caller keeps its. */
static void test_scope_entered_by_call_has_own_budget(void **state)
{
	struct thr t;

	(void)state;
	scoped(&t, scoped_kdl); /* scope_outer call-depth 1, scope_inner 2 */
	scope_hit(&t, OUTER, S0, RET0);
	call(&t, INNER); /* 0: level 1 of scope_inner, not 2 of scope_outer */
	EXPECT_RECORD(&t);
	call(&t, X); /* 1: level 2 of scope_inner */
	EXPECT_RECORD(&t);
	call(&t, Y); /* 2: level 3 */
	EXPECT_RUN_TO(&t, X + 5, S0 - 24, INNER + 5, S0 - 16);
	return_hit(&t, X + 5, S0 - 16);
	ret(&t); /* 3 */
	ret(&t); /* 4 */
	EXPECT_RECORD(&t);
	call(&t, Z); /* 5: level 2 of scope_outer again */
	EXPECT_RUN_TO(&t, OUTER + 10, S0 - 8, RET0, S0);
	return_hit(&t, OUTER + 10, S0);
	ret(&t); /* 6 */
	EXPECT_FREE(&t);
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 scope ^- d1 [0,7) return\n"
	                    "1 t0 call ^0 d2 [1,5) return\n"
	                    "2 t0 call ^1 d3 [2,4) return\n"
	                    "3 t0 call ^2 d4 [3,3) return trunc\n"
	                    "4 t0 call ^0 d2 [6,6) return trunc\n");
	EXPECT_CALL(1, INNER, OUTER, OUTER + 5);
	assert_int_equal(get_call(1).bt_len, 0);
}

/* A tail call into a scope: a `jump` call inside the caller; one ret ends both. */
static void test_scope_reached_by_jump_nests_and_closes_on_the_one_ret(void **state)
{
	struct thr t;

	(void)state;
	scoped(&t, scoped_kdl);
	scope_hit(&t, OUTER, S0, RET0);
	op_sp(&t, -8, BYTES(0x55)); /* 0 push rbp */
	op_sp(&t, 8, BYTES(0x5d));  /* 1 pop rbp: back at the entry sp, still inside */
	jmp(&t, TAIL);              /* 2 */
	EXPECT_RECORD(&t);
	nop(&t);     /* 3 */
	call(&t, X); /* 4: level 2 of scope_tail's own budget of 1 */
	EXPECT_RUN_TO(&t, TAIL + 6, S0 - 8, RET0, S0);
	return_hit(&t, TAIL + 6, S0);
	ret(&t); /* 5 */
	EXPECT_FREE(&t);
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 scope ^- d1 [0,6) return\n"
	                    "1 t0 jump ^0 d2 [3,6) return\n"
	                    "2 t0 call ^1 d3 [5,5) return trunc\n");
	EXPECT_CALL(1, TAIL, 0, RET0);
}

/* A scope entered by breakpoint inside a truncated call nests under it, with its own budget. */
static void test_scope_hit_while_running_free_nests_under_truncated_call(void **state)
{
	struct thr t;

	(void)state;
	scoped(&t, scoped_kdl);
	scope_hit(&t, OUTER, S0, RET0);
	call(&t, X); /* 0 */
	EXPECT_RUN_TO(&t, OUTER + 5, S0 - 8, RET0, S0);
	/* X runs free and calls scope_inner from X+0x20 */
	scope_hit(&t, INNER, S0 - 0x30, X + 0x20);
	EXPECT_RECORD(&t);
	nop(&t);     /* 1 */
	call(&t, Y); /* 2: level 2 of scope_inner's 2 */
	EXPECT_RECORD(&t);
	ret(&t); /* 3 */
	ret(&t); /* 4: back in X, which still runs free */
	EXPECT_RUN_TO(&t, OUTER + 5, S0 - 8, RET0, S0);
	return_hit(&t, OUTER + 5, S0);
	EXPECT_RECORD(&t);
	ret(&t); /* 5 */
	EXPECT_FREE(&t);
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 scope ^- d1 [0,6) return\n"
	                    "1 t0 call ^0 d2 [1,5) return trunc\n"
	                    "2 t0 scope ^1 d3 [1,5) return\n"
	                    "3 t0 call ^2 d4 [3,4) return\n");
	EXPECT_CALL(2, INNER, 0, X + 0x20);
	assert_int_equal(get_call(2).bt_len, 0); /* not a root: its callers are in the tree */
}

/* A scope hit above frames the thread left without a return point closes them as unwound. */
static void test_scope_hit_closes_frames_the_stack_pointer_left(void **state)
{
	struct thr t;

	(void)state;
	scoped(&t, scoped_kdl);
	scope_hit(&t, OUTER, S0, RET0);
	call(&t, X); /* 0 */
	EXPECT_RUN_TO(&t, OUTER + 5, S0 - 8, RET0, S0);
	/* X throws to a handler further up, which later calls scope_inner. */
	scope_hit(&t, INNER, S0 + 0x40, RET0 + 0x40);
	EXPECT_RECORD(&t);
	ret(&t); /* 1 */
	EXPECT_FREE(&t);
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 scope ^- d1 [0,1) unwind\n"
	                    "1 t0 call ^0 d2 [1,1) unwind trunc\n"
	                    "2 t0 scope ^- d1 [1,2) return\n");
}

/* Recursive entries of a truncated scope nest, and each returns at its own stack pointer. */
static void test_recursive_scope_entries_nest_and_return_by_sp(void **state)
{
	struct thr t;

	(void)state;
	scoped(&t, scoped_kdl);
	scope_hit(&t, ZERO, S0, RET0);
	EXPECT_RUN_TO(&t, RET0, S0, 0, 0);
	scope_hit(&t, ZERO, S0 - 0x30, ZERO + 0x10); /* scope_zero calls itself */
	EXPECT_RUN_TO(&t, ZERO + 0x10, S0 - 0x30, 0, 0);
	return_hit(&t, ZERO + 0x10, S0 - 0x28);
	EXPECT_RUN_TO(&t, RET0, S0, 0, 0);
	return_hit(&t, RET0, S0 + 8);
	EXPECT_FREE(&t);
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 scope ^- d1 [0,0) return trunc\n"
	                    "1 t0 scope ^0 d2 [0,0) return trunc\n");
}

/* 3. Call and return forms */

static void test_every_call_form_opens_one_frame(void **state)
{
	static const struct {
		uint8_t b[8];
		size_t len, rel_at, pushed;
	} forms[] = {
		{ { 0xe8 }, 5, 1, 8 },                               /* call rel32 */
		{ { 0xff, 0xd0 }, 2, 0, 8 },                         /* call rax */
		{ { 0x41, 0xff, 0xd3 }, 3, 0, 8 },                   /* call r11 */
		{ { 0x3e, 0xff, 0xd0 }, 3, 0, 8 },                   /* notrack call rax */
		{ { 0xf2, 0xe8 }, 6, 2, 8 },                         /* bnd call rel32 */
		{ { 0xff, 0x15, 0x00, 0x10, 0x00, 0x00 }, 6, 0, 8 }, /* call [rip+0x1000] */
		{ { 0x48, 0xff, 0x1c, 0x24 }, 4, 0, 16 },            /* call far [rsp] */
	};
	const size_t n = sizeof(forms) / sizeof(forms[0]);
	struct thr t;
	uint64_t site[8];

	(void)state;
	world_open("call-depth 5\n");
	thread_start(&t, 100, NULL, MAIN, S0);
	for (size_t i = 0; i < n; i++) {
		uint64_t target = G + i * 0x100;
		uint8_t b[8];

		site[i] = pc_of(&t);
		memcpy(b, forms[i].b, sizeof(b));
		if (forms[i].rel_at) {
			uint32_t rel = (uint32_t)(target - (site[i] + forms[i].len));

			memcpy(b + forms[i].rel_at, &rel, 4);
		}
		call_via(&t, target, forms[i].pushed, b, forms[i].len);
		EXPECT_RECORD(&t);
		if (forms[i].pushed > 8)
			ret_via(&t, 16, BYTES(0x48, 0xcb)); /* far ret */
		else
			ret(&t);
		assert_int_equal(pc_of(&t), site[i] + forms[i].len);
	}
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 root ^- d1 [0,14) killed\n"
	                    "1 t0 call ^0 d2 [1,2) return\n"
	                    "2 t0 call ^0 d2 [3,4) return\n"
	                    "3 t0 call ^0 d2 [5,6) return\n"
	                    "4 t0 call ^0 d2 [7,8) return\n"
	                    "5 t0 call ^0 d2 [9,10) return\n"
	                    "6 t0 call ^0 d2 [11,12) return\n"
	                    "7 t0 call ^0 d2 [13,14) return\n");
	for (size_t i = 0; i < n; i++)
		EXPECT_CALL((int64_t)i + 1, G + i * 0x100, site[i], site[i] + forms[i].len);
}

/*
 * Each return form ends the callee and only it, whatever it pops: ret imm
 * pops the argument its caller pushed, a far ret the code segment its far
 * call pushed.
 */
static void test_every_return_form_closes_exactly_one_frame(void **state)
{
	struct thr t;

	(void)state;
	world_open("call-depth 5\n");
	thread_start(&t, 100, NULL, MAIN, S0);
	call(&t, F); /* 0 */
	call(&t, G);
	ret_via(&t, 8, BYTES(0xc3)); /* 1, 2: ret */
	call(&t, G);
	ret_via(&t, 8, BYTES(0xf3, 0xc3)); /* 3, 4: rep ret */
	call(&t, G);
	ret_via(&t, 8, BYTES(0xf2, 0xc3)); /* 5, 6: bnd ret */
	op_sp(&t, -8, BYTES(0x50));        /* 7: push rax (an argument) */
	call(&t, G);
	ret_via(&t, 16, BYTES(0xc2, 0x08, 0x00)); /* 8, 9: ret 8 */
	call(&t, G);
	ret_via(&t, 8, BYTES(0x48, 0xc3)); /* 10, 11: rex.w ret */
	call_via(&t, G, 16, BYTES(0x48, 0xff, 0x1c, 0x24));
	ret_via(&t, 16, BYTES(0x48, 0xcb)); /* 12, 13: far call, far ret */
	EXPECT_RECORD(&t);
	assert_int_equal(sp_of(&t), S0 - 8);
	ret(&t); /* 14 */
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 root ^- d1 [0,15) killed\n"
	                    "1 t0 call ^0 d2 [1,15) return\n"
	                    "2 t0 call ^1 d3 [2,3) return\n"
	                    "3 t0 call ^1 d3 [4,5) return\n"
	                    "4 t0 call ^1 d3 [6,7) return\n"
	                    "5 t0 call ^1 d3 [9,10) return\n"
	                    "6 t0 call ^1 d3 [11,12) return\n"
	                    "7 t0 call ^1 d3 [13,14) return\n");
}

/* Tail calls share the entry stack pointer: the one ret ends every frame of the chain. */
static void test_ret_from_tail_call_chain_closes_frames_sharing_entry_sp(void **state)
{
	struct thr t;

	(void)state;
	scoped(&t, "call-depth 2\n"
	           "trace scope_outer binary=prog\n"
	           "trace scope_tail binary=prog\n"
	           "trace scope_tail2 binary=prog\n");
	scope_hit(&t, OUTER, S0, RET0);
	sub_sp(&t, 8);  /* 0 */
	call(&t, X);    /* 1 OUTER+4 */
	jmp(&t, TAIL);  /* 2: X tail-calls scope_tail */
	nop(&t);        /* 3 */
	jmp(&t, TAIL2); /* 4: which tail-calls scope_tail2 */
	ret(&t);        /* 5: back in scope_outer */
	EXPECT_RECORD(&t);
	add_sp(&t, 8); /* 6 */
	ret(&t);       /* 7 */
	EXPECT_FREE(&t);
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 scope ^- d1 [0,8) return\n"
	                    "1 t0 call ^0 d2 [2,6) return\n"
	                    "2 t0 jump ^1 d3 [3,6) return\n"
	                    "3 t0 jump ^2 d4 [5,6) return\n");
	EXPECT_CALL(2, TAIL, 0, OUTER + 9);
	EXPECT_CALL(3, TAIL2, 0, OUTER + 9);
}

/* A truncated call that tail-calls a scope: the scope's ret is the truncated call's too. */
static void test_tail_call_from_truncated_call_into_scope_returns_both(void **state)
{
	struct thr t;

	(void)state;
	scoped(&t, scoped_kdl);
	scope_hit(&t, OUTER, S0, RET0);
	call(&t, X); /* 0 */
	EXPECT_RUN_TO(&t, OUTER + 5, S0 - 8, RET0, S0);
	scope_hit(&t, TAIL, S0 - 8, OUTER + 5); /* X jumps to scope_tail */
	EXPECT_RECORD(&t);
	ret(&t); /* 1 */
	EXPECT_RECORD(&t);
	ret(&t); /* 2 */
	EXPECT_FREE(&t);
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 scope ^- d1 [0,3) return\n"
	                    "1 t0 call ^0 d2 [1,2) return trunc\n"
	                    "2 t0 scope ^1 d3 [1,2) return\n");
}

/* 4. Unwinding */

/*
 * longjmp: the stack pointer moves above frames without a ret; exactly
 * those are unwound, at the jump that leaves them (it is still theirs).
 */
static void test_longjmp_unwinds_frames_below_new_sp_only(void **state)
{
	struct thr t;

	(void)state;
	world_open("call-depth 10\n");
	thread_start(&t, 100, NULL, MAIN, S0);
	call(&t, F);                        /* 0: entry sp S0-8 */
	sub_sp(&t, 24);                     /* 1: setjmp would be here, sp S0-0x20 */
	call(&t, G);                        /* 2: entry sp S0-0x28 */
	sub_sp(&t, 24);                     /* 3 */
	call(&t, K);                        /* 4: entry sp S0-0x48 */
	sub_sp(&t, 24);                     /* 5 */
	long_jump(&t, F + 0x20, S0 - 0x20); /* 6 mov rsp, 7 jmp */
	EXPECT_RECORD(&t);
	add_sp(&t, 24); /* 8 */
	ret(&t);        /* 9 */
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 root ^- d1 [0,10) killed\n"
	                    "1 t0 call ^0 d2 [1,10) return\n"
	                    "2 t0 call ^1 d3 [3,8) unwind\n"
	                    "3 t0 call ^2 d4 [5,8) unwind\n");
}

/*
 * A C++ exception lands as libgcc's _Unwind_RaiseException ends on x86-64:
 * mov rsp, rcx; pop rcx; jmp rcx. Every frame between the thrower and the
 * catcher is unwound, the catcher is not.
 */
static void test_exception_landing_unwinds_frames_between_throw_and_catch(void **state)
{
	struct thr t;

	(void)state;
	world_open("call-depth 10\n");
	thread_start(&t, 100, NULL, MAIN, S0);
	call(&t, F);                              /* 0: the catcher, entry sp S0-8 */
	sub_sp(&t, 24);                           /* 1 */
	call(&t, G);                              /* 2: entry sp S0-0x28 */
	call(&t, K);                              /* 3: __cxa_throw, entry sp S0-0x30 */
	call(&t, H);                              /* 4: _Unwind_RaiseException, entry sp S0-0x38 */
	sub_sp(&t, 64);                           /* 5 */
	poke(S0 - 0x28, F + 0x50);                /* the landing pad */
	op_sp(&t, 0x50, BYTES(0x48, 0x89, 0xcc)); /* 6 mov rsp, rcx */
	op_sp(&t, 8, BYTES(0x59));                /* 7 pop rcx */
	exec(&t, BYTES(0xff, 0xe1), F + 0x50, S0 - 0x20); /* 8 jmp rcx */
	EXPECT_RECORD(&t);
	add_sp(&t, 24); /* 9 */
	ret(&t);        /* 10 */
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 root ^- d1 [0,11) killed\n"
	                    "1 t0 call ^0 d2 [1,11) return\n"
	                    "2 t0 call ^1 d3 [3,9) unwind\n"
	                    "3 t0 call ^2 d4 [4,9) unwind\n"
	                    "4 t0 call ^3 d5 [5,9) unwind\n");
}

/*
 * A frame ends when control is transferred with the stack pointer above
 * its entry: not at the entry sp itself, not at the instruction that moves
 * sp there (pop rcx; jmp rcx returns without a ret: an unwind).
 */
static void test_frame_ends_at_control_transfer_above_entry_sp(void **state)
{
	struct thr t;

	(void)state;
	world_open("call-depth 10\n");
	thread_start(&t, 100, NULL, MAIN, S0);
	call(&t, F);                               /* 0: entry sp S0-8 */
	sub_sp(&t, 24);                            /* 1 */
	add_sp(&t, 24);                            /* 2: at the entry sp */
	jmp(&t, F + 0x40);                         /* 3: a transfer there: still inside */
	op_sp(&t, 8, BYTES(0x59));                 /* 4: pop rcx: above it, no transfer yet */
	exec(&t, BYTES(0xff, 0xe1), MAIN + 5, S0); /* 5: jmp rcx */
	EXPECT_RECORD(&t);
	nop(&t); /* 6 */
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 root ^- d1 [0,7) killed\n"
	                    "1 t0 call ^0 d2 [1,6) unwind\n");
}

/* 5. Recursion through a truncated region */

/*
 * A truncated recursive call's return address is reached by deeper
 * recursive calls returning too: only a stack pointer above the truncated
 * call's entry ends it (the backend filters on frame_sp; the core must not
 * rely on that).
 */
static void test_return_hit_closes_only_frames_sp_is_above(void **state)
{
	struct thr t;

	(void)state;
	world_open("call-depth 2\n");
	thread_start(&t, 100, NULL, MAIN, S0);
	call(&t, F);    /* 0: entry sp S0-8 */
	sub_sp(&t, 24); /* 1 */
	call(&t, F);    /* 2: recursive, truncated, entry sp S0-0x28 */
	EXPECT_RUN_TO(&t, F + 9, S0 - 0x28, MAIN + 5, S0 - 8);
	return_hit(&t, F + 9, S0 - 0x40); /* a deeper recursion level returns */
	EXPECT_RUN_TO(&t, F + 9, S0 - 0x28, MAIN + 5, S0 - 8);
	return_hit(&t, F + 9, S0 - 0x28); /* not above the entry sp either */
	EXPECT_RUN_TO(&t, F + 9, S0 - 0x28, MAIN + 5, S0 - 8);
	return_hit(&t, F + 9, S0 - 0x20);
	EXPECT_RECORD(&t);
	add_sp(&t, 24); /* 3 */
	ret(&t);        /* 4 */
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 root ^- d1 [0,5) killed\n"
	                    "1 t0 call ^0 d2 [1,5) return\n"
	                    "2 t0 call ^1 d3 [3,3) return trunc\n");
}

/*
 * An exception thrown in a truncated recursive call and caught two levels
 * up lands at the same return address as the truncated call's own: only
 * the outermost frame the stack pointer left returned there; the frame it
 * contained was unwound.
 */
static void test_return_hit_returns_outermost_frame_only(void **state)
{
	struct thr t;

	(void)state;
	world_open("call-depth 3\n");
	thread_start(&t, 100, NULL, MAIN, S0);
	call(&t, F);    /* 0: level 2, entry sp S0-8 */
	sub_sp(&t, 24); /* 1 */
	call(&t, F);    /* 2: level 3, entry sp S0-0x28 */
	sub_sp(&t, 24); /* 3 */
	call(&t, F);    /* 4: level 4, truncated, entry sp S0-0x48 */
	EXPECT_RUN_TO(&t, F + 9, S0 - 0x48, F + 9, S0 - 0x28);
	return_hit(&t, F + 9, S0 - 0x20); /* level 2's landing pad goes on at F+9 */
	EXPECT_RECORD(&t);
	add_sp(&t, 24); /* 5 */
	ret(&t);        /* 6 */
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 root ^- d1 [0,7) killed\n"
	                    "1 t0 call ^0 d2 [1,7) return\n"
	                    "2 t0 call ^1 d3 [3,5) return\n"
	                    "3 t0 call ^2 d4 [5,5) unwind trunc\n");
}

/* 6. Signal handlers */

/*
 * A handler on the thread's stack is a call one level below the
 * interrupted code; its ret goes to the restorer, still inside it, and
 * rt_sigreturn ends it.
 */
static void test_signal_handler_same_stack_closes_at_rt_sigreturn(void **state)
{
	const uint64_t si = S0 - 0x20, hs = si - 0x400;
	struct thr t;

	(void)state;
	world_open("call-depth 4\n");
	thread_start(&t, 100, NULL, MAIN, S0);
	call(&t, F);    /* 0 */
	sub_sp(&t, 24); /* 1 */
	nop(&t);        /* 2 */
	signal_handler(&t, SIGUSR1, H, hs);
	EXPECT_RECORD(&t);
	nop(&t);     /* 3: level 3 */
	call(&t, G); /* 4: level 4 */
	EXPECT_RECORD(&t);
	call(&t, K); /* 5: level 5 */
	EXPECT_RUN_TO(&t, G + 5, hs - 16, H + 6, hs - 8);
	return_hit(&t, G + 5, hs - 8);
	ret(&t); /* 6 */
	ret(&t); /* 7: to the restorer */
	assert_int_equal(pc_of(&t), RESTORER);
	EXPECT_RECORD(&t);
	op(&t, BYTES(0xb8, 0x0f, 0x00, 0x00, 0x00)); /* 8: mov eax, 15 */
	sys(&t, SYS_RT_SIGRETURN, F + 5, si);        /* 9 */
	EXPECT_RECORD(&t);
	add_sp(&t, 24); /* 10 */
	ret(&t);        /* 11 */
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 root ^- d1 [0,12) killed\n"
	                    "1 t0 call ^0 d2 [1,12) return\n"
	                    "2 t0 signal ^1 d3 [3,10) return\n"
	                    "3 t0 call ^2 d4 [5,7) return\n"
	                    "4 t0 call ^3 d5 [6,6) return trunc\n");
	EXPECT_CALL(2, H, 0, F + 5);
	assert_int_equal(get_call(2).signal, SIGUSR1);
	EXPECT_TEXT(events(), "0 signal t0 c1 @3 s10 SIGUSR1\n");
}

/* siglongjmp out of a handler on the thread's stack: back at the interrupted sp, it is over. */
static void test_signal_handler_same_stack_closes_when_sp_is_back(void **state)
{
	const uint64_t si = S0 - 0x20, hs = si - 0x400;
	struct thr t;

	(void)state;
	world_open("call-depth 4\n");
	thread_start(&t, 100, NULL, MAIN, S0);
	call(&t, F);    /* 0 */
	sub_sp(&t, 24); /* 1 */
	signal_handler(&t, SIGSEGV, H, hs);
	call(&t, G); /* 2 */
	/* G jumps back into the handler's frame: G is left, the handler is not, as sp is
	 * still below the interrupted sp */
	op_sp(&t, 0x300, BYTES(0x48, 0x81, 0xc4, 0x00, 0x03, 0x00, 0x00)); /* 3 add rsp */
	jmp(&t, G + 0x40);                                                 /* 4 */
	EXPECT_RECORD(&t);
	long_jump(&t, F + 0x30, si); /* 5, 6: siglongjmp back to F */
	EXPECT_RECORD(&t);
	add_sp(&t, 24); /* 7 */
	ret(&t);        /* 8 */
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 root ^- d1 [0,9) killed\n"
	                    "1 t0 call ^0 d2 [1,9) return\n"
	                    "2 t0 signal ^1 d3 [2,7) unwind\n"
	                    "3 t0 call ^2 d4 [3,5) unwind\n");
}

/* On an alternate stack the handler's stack pointer says nothing: only rt_sigreturn ends it. */
static void test_signal_handler_alt_stack_closes_only_at_rt_sigreturn(void **state)
{
	const uint64_t si = S0 - 0x20, hs = A0 - 0x400;
	struct thr t;

	(void)state;
	world_open("call-depth 4\n");
	thread_start(&t, 100, NULL, MAIN, S0);
	call(&t, F);    /* 0 */
	sub_sp(&t, 24); /* 1 */
	signal_handler(&t, SIGUSR2, H, hs);
	EXPECT_RECORD(&t);
	nop(&t);     /* 2: sp far above every frame of the thread's stack */
	call(&t, G); /* 3 */
	ret(&t);     /* 4 */
	EXPECT_RECORD(&t);
	ret(&t); /* 5: to the restorer */
	EXPECT_RECORD(&t);
	sys(&t, SYS_RT_SIGRETURN, F + 4, si); /* 6 */
	EXPECT_RECORD(&t);
	add_sp(&t, 24); /* 7 */
	ret(&t);        /* 8 */
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 root ^- d1 [0,9) killed\n"
	                    "1 t0 call ^0 d2 [1,9) return\n"
	                    "2 t0 signal ^1 d3 [2,7) return\n"
	                    "3 t0 call ^2 d4 [4,5) return\n");
}

/* A handler past the depth limit runs free until the thread is back where it was interrupted. */
static void test_signal_handler_past_depth_runs_to_interrupted_pc(void **state)
{
	const uint64_t si = S0 - 0x20, hs = si - 0x400;
	struct thr t;

	(void)state;
	world_open("call-depth 2\n");
	thread_start(&t, 100, NULL, MAIN, S0);
	call(&t, F);    /* 0: level 2 */
	sub_sp(&t, 24); /* 1 */
	signal_handler(&t, SIGUSR1, H, hs);
	EXPECT_RUN_TO(&t, F + 4, si - 1, MAIN + 5, S0 - 8);
	return_hit(&t, F + 4, si); /* after rt_sigreturn */
	EXPECT_RECORD(&t);
	add_sp(&t, 24); /* 2 */
	ret(&t);        /* 3 */
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 root ^- d1 [0,4) killed\n"
	                    "1 t0 call ^0 d2 [1,4) return\n"
	                    "2 t0 signal ^1 d3 [2,2) return trunc\n");
}

/*
 * A truncated handler on an alternate stack returns like one on the
 * thread's own stack: back at the interrupted pc with the interrupted sp
 * after rt_sigreturn (its frame keeps that sp apart from its entry sp,
 * which on another stack says nothing).
 */
static void test_signal_handler_alt_stack_past_depth_runs_to_interrupted_pc(void **state)
{
	const uint64_t si = S0 - 0x20, hs = A0 - 0x400;
	struct thr t;

	(void)state;
	world_open("call-depth 2\n");
	thread_start(&t, 100, NULL, MAIN, S0);
	call(&t, F);    /* 0: level 2 */
	sub_sp(&t, 24); /* 1 */
	signal_handler(&t, SIGUSR1, H, hs);
	/* after rt_sigreturn, sp = si must pass the backend's "sp > frame_sp" */
	EXPECT_RUN_TO(&t, F + 4, si - 1, MAIN + 5, S0 - 8);
	return_hit(&t, F + 4, si);
	EXPECT_RECORD(&t);
	add_sp(&t, 24); /* 2 */
	ret(&t);        /* 3 */
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 root ^- d1 [0,4) killed\n"
	                    "1 t0 call ^0 d2 [1,4) return\n"
	                    "2 t0 signal ^1 d3 [2,2) return trunc\n");
}

/*
 * A handler that is a scope starts its own budget, as a scope entered by a
 * call does: scope_outer's depth 1 would truncate it, scope_inner's 2 does not.
 */
static void test_signal_handler_that_is_a_scope_has_own_budget(void **state)
{
	const uint64_t si = S0 - 0x18;
	struct thr t;
	uint64_t hs = si - 0x400;

	(void)state;
	scoped(&t, "call-depth 1\n"
	           "trace scope_outer binary=prog\n"
	           "trace scope_inner binary=prog call-depth=2\n");
	scope_hit(&t, OUTER, S0, RET0);
	sub_sp(&t, 24); /* 0 */
	signal_handler(&t, SIGUSR1, INNER, hs);
	EXPECT_RECORD(&t);
	call(&t, X); /* 1: level 2 of scope_inner */
	EXPECT_RECORD(&t);
	call(&t, Y); /* 2: level 3 */
	EXPECT_RUN_TO(&t, X + 5, hs - 16, INNER + 5, hs - 8);
	return_hit(&t, X + 5, hs - 8);
	ret(&t);                                  /* 3 */
	ret(&t);                                  /* 4: to the restorer */
	sys(&t, SYS_RT_SIGRETURN, OUTER + 4, si); /* 5 */
	EXPECT_RECORD(&t);
	add_sp(&t, 24); /* 6 */
	ret(&t);        /* 7 */
	EXPECT_FREE(&t);
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 scope ^- d1 [0,8) return\n"
	                    "1 t0 signal ^0 d2 [1,6) return\n"
	                    "2 t0 call ^1 d3 [2,4) return\n"
	                    "3 t0 call ^2 d4 [3,3) return trunc\n");
}

/* 7. The get-pc idiom */

/* `call next; pop reg` reads the program counter: it calls nothing and opens no frame. */
static void test_get_pc_idiom_is_not_a_call(void **state)
{
	struct thr t;

	(void)state;
	world_open("call-depth 5\n");
	thread_start(&t, 100, NULL, MAIN, S0);
	call(&t, F);                                     /* 0 */
	call_via(&t, F + 5, 8, BYTES(0xe8, 0, 0, 0, 0)); /* 1: call F+5 */
	EXPECT_RECORD(&t);
	op_sp(&t, 8, BYTES(0x5b)); /* 2: pop rbx */
	EXPECT_RECORD(&t);
	ret(&t); /* 3 */
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 root ^- d1 [0,4) killed\n"
	                    "1 t0 call ^0 d2 [1,4) return\n");
}

/* 8. Threads, exec, the end of the trace */

static void test_thread_new_records_create_event_in_parents_call(void **state)
{
	struct thr t, c;
	struct reader_thread rt;
	struct reader_event ev;
	struct err err = { 0 };

	(void)state;
	world_open("call-depth 3\n");
	thread_start(&t, 100, NULL, MAIN, S0);
	call(&t, F);                       /* 0 */
	nop(&t);                           /* 1 */
	sys(&t, SYS_CLONE, F + 3, S0 - 8); /* 2 */
	thread_start(&c, 101, &t, F + 3, S0 - 0x10000);
	EXPECT_RECORD(&c);  /* full mode: the child records from its first instruction */
	nop(&c);            /* child 0 */
	thread_exit(&c, 3); /* child 1 */
	nop(&t);            /* 3 */
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 root ^- d1 [0,4) killed\n"
	                    "1 t0 call ^0 d2 [1,4) killed\n"
	                    "2 t1 root ^- d1 [0,2) exit\n");
	EXPECT_TEXT(events(), "0 create_thread t0 c1 @3 s1\n"
	                      "1 exit_thread t1 c2 @2 s1\n");
	assert_int_equal(reader_event_get(W.r, 0, &ev, &err), 0);
	assert_int_equal(ev.addr, F + 3);
	assert_int_equal(reader_thread_get(W.r, 1, &rt, &err), 0);
	assert_int_equal(rt.tid, 101);
	assert_int_equal(rt.create_event, 0);
	assert_true(rt.exited && !rt.signaled);
	assert_int_equal(rt.code, 3);
	assert_int_equal(rt.exit_event, 1);
	EXPECT_TEXT(insns(1, 0, UINT64_MAX), "0x402003 0x402004");
}

/* Exit: the exit syscall is the last instruction, then the event, then every call ends. */
static void test_thread_exit_records_last_insn_and_closes_calls_as_exit(void **state)
{
	struct thr t;
	struct reader_thread rt;
	struct err err = { 0 };

	(void)state;
	world_open("call-depth 2\n");
	thread_start(&t, 100, NULL, MAIN, S0);
	call(&t, F); /* 0 */
	call(&t, G); /* 1: truncated */
	return_hit(&t, F + 5, S0 - 8);
	nop(&t);            /* 2 */
	thread_exit(&t, 7); /* 3 */
	thread_exit(&t, 7); /* reported twice: nothing more */
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 root ^- d1 [0,4) exit\n"
	                    "1 t0 call ^0 d2 [1,4) exit\n"
	                    "2 t0 call ^1 d3 [2,2) return trunc\n");
	EXPECT_TEXT(events(), "0 exit_thread t0 c1 @4 s0\n");
	EXPECT_TEXT(insns(0, 3, UINT64_MAX), "0x402006");
	assert_int_equal(reader_thread_get(W.r, 0, &rt, &err), 0);
	assert_true(rt.exited);
	assert_int_equal(rt.code, 7);
	assert_int_equal(rt.exit_event, 0);
}

/* exec: the execve is recorded, calls end as exec, binaries are unloaded and scopes disarmed. */
static void test_exec_closes_calls_as_exec_and_unloads_binaries(void **state)
{
	struct thr t;
	struct arch_insn last;
	struct reader_binary b;
	struct err err = { 0 };
	char want[64];

	(void)state;
	scoped(&t, scoped_kdl);
	assert_int_equal(W.n_armed, 5);
	scope_hit(&t, OUTER, S0, RET0);
	nop(&t); /* 0 */
	last = decode(pc_of(&t), BYTES(0x0f, 0x05));
	if (core_exec(W.core, t.th, &last, "/bin/next", &err)) /* 1 */
		fail_msg("core_exec: %s", err.msg);
	assert_int_equal(W.n_disarmed, 5);
	assert_false(core_is_scope_entry(W.core, OUTER));
	/* The new image (the same file, elsewhere), then the thread goes on in it. */
	load_binary(&t, BASE2);
	assert_int_equal(W.n_armed, 10);
	assert_int_equal(W.armed[5], BASE2 + sym.outer);
	set_regs(&t.regs, 0x1000, S0 + 0x100);
	if (core_thread_restart(W.core, t.th, &t.regs, &t.d, &err))
		fail_msg("core_thread_restart: %s", err.msg);
	EXPECT_FREE(&t);
	scope_hit(&t, BASE2 + sym.outer, S0, RET0);
	ret(&t); /* 2 */
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 scope ^- d1 [0,2) exec\n"
	                    "1 t0 scope ^- d1 [2,3) return\n");
	EXPECT_TEXT(events(), "0 exec t0 c0 @2 s-1 /bin/next\n"
	                      "1 unload_binary t0 c- @2 s0\n"
	                      "2 load_binary t0 c- @2 s1\n");
	snprintf(want, sizeof(want), "%#" PRIx64 " %#" PRIx64, OUTER, OUTER + 1);
	EXPECT_TEXT(insns(0, 0, 2), want);
	assert_int_equal(reader_binary_get(W.r, 0, &b, &err), 0);
	assert_int_equal(b.unload_event, 1);
	assert_int_equal(b.load_event, STORE_NONE);
	assert_int_equal(reader_binary_get(W.r, 1, &b, &err), 0);
	assert_int_equal(b.base, BASE2);
	assert_int_equal(b.load_event, 2);
}

/* Full mode after exec: the new image starts with a new implicit root. */
static void test_exec_in_full_mode_restarts_with_a_new_root(void **state)
{
	struct thr t;
	struct arch_insn last;
	struct err err = { 0 };

	(void)state;
	world_open("call-depth 3\n");
	thread_start(&t, 100, NULL, MAIN, S0);
	call(&t, F); /* 0 */
	last = decode(pc_of(&t), BYTES(0x0f, 0x05));
	if (core_exec(W.core, t.th, &last, "/bin/next", &err)) /* 1 */
		fail_msg("core_exec: %s", err.msg);
	set_regs(&t.regs, 0x7000, S0 + 0x200);
	if (core_thread_restart(W.core, t.th, &t.regs, &t.d, &err))
		fail_msg("core_thread_restart: %s", err.msg);
	EXPECT_RECORD(&t);
	nop(&t); /* 2 */
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 root ^- d1 [0,2) exec\n"
	                    "1 t0 call ^0 d2 [1,2) exec\n"
	                    "2 t0 root ^- d1 [2,3) killed\n");
	EXPECT_CALL(2, 0x7000, 0, 0);
}

/* The end of the trace: what is still open ends as the backend says (killed after Ctrl-C). */
static void test_finish_closes_open_calls_as_killed(void **state)
{
	struct thr t, u;

	(void)state;
	world_open("call-depth 2\n");
	thread_start(&t, 100, NULL, MAIN, S0);
	thread_start(&u, 101, NULL, MAIN + 0x100, S0 - 0x1000);
	call(&t, F); /* t 0 */
	call(&t, G); /* t 1: truncated, running free when the trace stops */
	nop(&u);     /* u 0 */
	thread_exit(&u, 0);
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 root ^- d1 [0,2) killed\n"
	                    "1 t1 root ^- d1 [0,2) exit\n"
	                    "2 t0 call ^0 d2 [1,2) killed\n"
	                    "3 t0 call ^2 d3 [2,2) killed trunc\n");
}

/* 9. Binaries and scopes */

static void test_binary_loaded_arms_scope_entries(void **state)
{
	struct thr t;
	struct reader_binary b;
	struct err err = { 0 };

	(void)state;
	world_open("call-depth 1\n"
	           "trace scope_outer binary=prog\n"
	           "trace scope_inner binary=prog\n"
	           "trace scope_alias binary=prog call-depth=3\n"); /* scope_outer's other name */
	load_binary(NULL, BASE);
	assert_int_equal(W.n_armed, 2); /* one entry, one breakpoint */
	assert_int_equal(W.armed[0], OUTER);
	assert_int_equal(W.armed[1], INNER);
	assert_true(core_is_scope_entry(W.core, OUTER));
	assert_true(core_is_scope_entry(W.core, INNER));
	assert_false(core_is_scope_entry(W.core, PLAIN));
	/* Two names for one function: the deeper scope wins. */
	thread_start(&t, 100, NULL, MAIN, S0 + 0x100);
	scope_hit(&t, OUTER, S0, RET0);
	call(&t, X); /* level 2 */
	call(&t, Y); /* level 3 */
	EXPECT_RECORD(&t);
	call(&t, Z); /* level 4 */
	EXPECT_RUN_TO(&t, Y + 5, S0 - 24, X + 5, S0 - 16);
	finish(STORE_END_KILLED);

	assert_int_equal(reader_binary_get(W.r, 0, &b, &err), 0);
	assert_int_equal(b.base, BASE);
	assert_int_equal(b.load_event, STORE_NONE); /* there at the start */
	assert_true(b.end > b.start && b.start >= BASE);
	EXPECT_TEXT(events(), "");
}

/* A scope naming a function its binary does not have: where in the config, and close names. */
static void test_missing_scope_symbol_is_config_error_with_location(void **state)
{
	const struct core_binary b = { .path = prog_path, .name = prog_path, .base = BASE };
	struct err err = { 0 };
	char real[PATH_MAX], *want;

	(void)state;
	assert_non_null(realpath(prog_path, real)); /* binaries are named by their real path */
	world_open("call-depth 1\n"
	           "trace scope_inner binary=prog\n"
	           "  trace scope_outr binary=prog\n");
	assert_int_equal(core_binary_loaded(W.core, NULL, NULL, &b, &err), -1);
	assert_int_equal(err.kind, ERR_CONFIG);
	want = xasprintf("cfg.kdl:3:3: scope \"scope_outr\" binary=\"prog\": no function "
	                 "\"scope_outr\" in %s (did you mean ",
	                 real);
	if (strncmp(err.msg, want, strlen(want)))
		fail_msg("error: %s\nwant a start: %s", err.msg, want);
	free(want);
	assert_non_null(strstr(err.msg, "\"scope_outer\""));
	assert_int_equal(W.n_armed, 1); /* the scopes before it were armed */
	assert_int_equal(W.armed[0], INNER);
}

/* Unloading a binary disarms the scopes resolved in it, not those of another copy. */
static void test_binary_unloaded_disarms_its_scopes_only(void **state)
{
	struct thr t;
	struct reader_binary b;
	struct err err = { 0 };

	(void)state;
	world_open("call-depth 3\n"
	           "trace scope_outer binary=prog\n");
	thread_start(&t, 100, NULL, MAIN, S0);
	EXPECT_FREE(&t);
	load_binary(&t, BASE);
	load_binary(&t, BASE2);
	assert_int_equal(W.n_armed, 2);
	assert_int_equal(W.armed[0], OUTER);
	assert_int_equal(W.armed[1], BASE2 + sym.outer);
	assert_int_equal(core_binary_unloaded(W.core, t.th, &t.regs, BASE, &err), 0);
	assert_int_equal(W.n_disarmed, 1);
	assert_int_equal(W.disarmed[0], OUTER);
	assert_false(core_is_scope_entry(W.core, OUTER));
	assert_true(core_is_scope_entry(W.core, BASE2 + sym.outer));
	/* an address where nothing is loaded: nothing happens */
	assert_int_equal(core_binary_unloaded(W.core, t.th, &t.regs, 0x1000, &err), 0);
	assert_int_equal(W.n_disarmed, 1);
	finish(STORE_END_KILLED);

	EXPECT_TEXT(events(), "0 load_binary t0 c- @0 s0\n"
	                      "1 load_binary t0 c- @0 s1\n"
	                      "2 unload_binary t0 c- @0 s0\n");
	assert_int_equal(reader_binary_get(W.r, 0, &b, &err), 0);
	assert_int_equal(b.load_event, 0);
	assert_int_equal(b.unload_event, 2);
	assert_int_equal(reader_binary_get(W.r, 1, &b, &err), 0);
	assert_int_equal(b.unload_event, STORE_NONE);
}

/* The binaries the dynamic linker reports at one stop share their event's backtrace. */
static void test_binaries_of_one_stop_share_a_backtrace(void **state)
{
	const uint64_t first = OUTER + 6, other = BASE + sym.plain + 1;
	struct core_binary b = { .path = prog_path, .name = prog_path };
	uint64_t bt[3][8];
	size_t n[3];
	struct reader_event ev;
	struct thr t;
	struct err err = { 0 };
	int64_t i;

	(void)state;
	world_open("call-depth 3\n");
	load_binary(NULL, BASE);
	thread_start(&t, 100, NULL, INNER, S0);
	poke(S0, first);
	b.base = BASE2;
	assert_int_equal(core_binary_loaded(W.core, t.th, &t.regs, &b, &err), 0);
	/* Another return address: unwound again, it would be the event's. */
	poke(S0, other);
	b.base = BASE2 + 0x100000;
	b.same_stop = true;
	assert_int_equal(core_binary_loaded(W.core, t.th, &t.regs, &b, &err), 0);
	b.base = BASE2 + 0x200000;
	b.same_stop = false;
	assert_int_equal(core_binary_loaded(W.core, t.th, &t.regs, &b, &err), 0);
	finish(STORE_END_KILLED);

	/* a reader's backtrace lasts until its next read: kept here */
	for (i = 0; i < 3; i++) {
		assert_int_equal(reader_event_get(W.r, i, &ev, &err), 0);
		assert_int_equal(ev.kind, STORE_EV_LOAD_BINARY);
		assert_true(ev.bt_len >= 1 && ev.bt_len <= 8);
		n[i] = ev.bt_len;
		memcpy(bt[i], ev.bt, ev.bt_len * sizeof(bt[i][0]));
	}
	assert_int_equal(bt[0][0], first);
	assert_int_equal(n[1], n[0]);
	assert_memory_equal(bt[1], bt[0], n[0] * sizeof(bt[0][0]));
	assert_int_equal(bt[2][0], other);
}

/* stderr_begin/stderr_end - what nosco's messages (log_warn) say in between */
static int saved_stderr = -1;
static char stderr_path[600];

static void stderr_begin(void)
{
	int fd;

	snprintf(stderr_path, sizeof(stderr_path), "%s/stderr.txt", tmpdir);
	fflush(stderr);
	saved_stderr = dup(2);
	fd = open(stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved_stderr >= 0 && fd >= 0);
	dup2(fd, 2);
	close(fd);
}

static char *stderr_end(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f, *out = open_memstream(&buf, &len);
	int c;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	f = fopen(stderr_path, "r");
	assert_non_null(f);
	while ((c = fgetc(f)) != EOF)
		fputc(c, out);
	fclose(f);
	fclose(out);
	return buf;
}

/*
 * Scopes whose binary never loaded are only warned about: at start, those
 * the program cannot load by name either; at the end, the others. The
 * trace is complete and the run a success.
 */
static void test_scopes_whose_binary_never_loaded_are_warnings(void **state)
{
	struct thr t;
	struct err err = { 0 };

	(void)state;
	world_open("call-depth 1\n"
	           "trace scope_outer binary=prog\n"
	           "trace scope_outer binary=prgo\n"
	           "trace main binary=libzzz.so\n"
	           "trace cos binary=libm.so.6\n"); /* a library of the system, never loaded */
	load_binary(NULL, BASE);
	stderr_begin();
	core_binaries_settled(W.core);
	EXPECT_TEXT(stderr_end(),
	            "nosco: warning: cfg.kdl:3:1: scope \"scope_outer\" binary=\"prgo\": no binary "
	            "of that name is loaded, nor a library of that name where the dynamic linker "
	            "looks (did you mean \"prog\"?); the scope applies only if the program loads "
	            "such a binary by its path or executes one\n"
	            "nosco: warning: cfg.kdl:4:1: scope \"main\" binary=\"libzzz.so\": no binary "
	            "of that name is loaded, nor a library of that name where the dynamic linker "
	            "looks (loaded: prog); the scope applies only if the program loads such a "
	            "binary by its path or executes one\n");
	thread_start(&t, 100, NULL, MAIN, S0 + 0x100);
	scope_hit(&t, OUTER, S0, RET0);
	stderr_begin();
	assert_int_equal(world_finish(STORE_END_KILLED, false, &err), 0);
	EXPECT_TEXT(stderr_end(),
	            "nosco: warning: cfg.kdl:5:1: scope \"cos\" binary=\"libm.so.6\": "
	            "no binary of that name was loaded (loaded: prog); nothing was "
	            "traced for it\n");
	assert_int_equal(err.kind, ERR_NONE);
	EXPECT_TEXT(tree(), "0 t0 scope ^- d1 [0,0) killed\n");
}

/* A run that failed says nothing more about them: the failure is what matters. */
static void test_failed_run_does_not_warn_about_scopes(void **state)
{
	struct err err = { 0 };

	(void)state;
	world_open("trace main binary=libm.so.6\n");
	load_binary(NULL, BASE);
	stderr_begin();
	core_binaries_settled(W.core);
	assert_int_equal(world_finish(STORE_END_KILLED, true, &err), 0);
	EXPECT_TEXT(stderr_end(), "");
	assert_int_equal(err.kind, ERR_NONE);
}

/* scope_rows - the trace's scope records: "id symbol bBINARY entry resolver dDEPTH" */
static char *scope_rows(void)
{
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);

	for (i = 0; i < reader_scope_count(W.r); i++) {
		const struct reader_scope *sc = reader_scope_at(W.r, i);

		fprintf(f, "%" PRId64 " %s b%" PRId64 " %#" PRIx64 " %#" PRIx64 " d%u\n", sc->id,
		        sc->symbol, sc->binary, sc->addr, sc->resolver, sc->depth);
	}
	fclose(f);
	return buf;
}

static char *hex_rows(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *hex_rows(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static void ifunc_resolved(uint64_t resolver, uint64_t impl)
{
	struct err err = { 0 };

	if (core_ifunc_resolved(W.core, resolver, impl, &err))
		fail_msg("core_ifunc_resolved: %s", err.msg);
}

/*
 * A scope on an IFUNC: its resolver is no scope entry but a resolver the
 * backend watches; the scope is entered where the resolver sends the
 * program, and the trace records both.
 */
static void test_ifunc_scope_is_entered_at_what_its_resolver_returns(void **state)
{
	uint64_t res[4];
	struct thr t;
	char *want;

	(void)state;
	world_open("call-depth 1\n"
	           "trace scope_ifunc binary=prog call-depth=2\n");
	load_binary(NULL, BASE); /* its slot still holds what the file holds: not relocated */
	assert_int_equal(W.n_armed, 0);
	assert_false(core_is_scope_entry(W.core, RESOLVER));
	assert_int_equal(core_resolvers(W.core, BASE, res, 4), 1);
	assert_int_equal(res[0], RESOLVER);
	assert_int_equal(core_resolvers(W.core, BASE2, res, 4), 0);
	/* The resolver ran (called by the dynamic linker): the scope is entered there. */
	ifunc_resolved(RESOLVER, IMPL_B);
	assert_int_equal(W.n_armed, 1);
	assert_int_equal(W.armed[0], IMPL_B);
	/* Again, or called directly: nothing new. A result outside every binary: ignored. */
	ifunc_resolved(RESOLVER, IMPL_B);
	ifunc_resolved(RESOLVER, 0);
	ifunc_resolved(RESOLVER, 0x1000);
	ifunc_resolved(OUTER, IMPL_A); /* not a watched resolver */
	assert_int_equal(W.n_armed, 1);
	thread_start(&t, 100, NULL, MAIN, S0 + 0x100);
	scope_hit(&t, IMPL_B, S0, RET0);
	EXPECT_RECORD(&t);
	ret(&t);
	EXPECT_FREE(&t);
	finish(STORE_END_KILLED);

	EXPECT_TEXT(tree(), "0 t0 scope ^- d1 [0,1) return\n");
	EXPECT_CALL(0, IMPL_B, 0, RET0);
	want = hex_rows("0 scope_ifunc b0 %#" PRIx64 " %#" PRIx64 " d2\n", IMPL_B, RESOLVER);
	EXPECT_TEXT(scope_rows(), want);
	free(want);
}

/*
 * What the dynamic linker stored before the binary was reported (libraries
 * loaded at start are reported after their relocation): the scope is
 * entered there at once. A resolver returning something else later adds an
 * entry and a record.
 */
static void test_ifunc_scope_reads_the_implementation_already_stored(void **state)
{
	struct err err = { 0 };
	struct thr t;
	char *want;

	(void)state;
	world_open("call-depth 1\n"
	           "trace scope_ifunc binary=prog\n"
	           "trace plain_func binary=prog\n");
	poke(IREL_SLOT, IMPL_A);
	thread_start(&t, 100, NULL, MAIN, S0 + 0x100);
	load_binary(&t, BASE);
	assert_int_equal(W.n_armed, 2);
	assert_int_equal(W.armed[0], PLAIN);
	assert_int_equal(W.armed[1], IMPL_A);
	ifunc_resolved(RESOLVER, IMPL_B);
	assert_int_equal(W.n_armed, 3);
	assert_int_equal(W.armed[2], IMPL_B);
	/* Unloaded: its entries go, and its resolver is no longer watched. */
	assert_int_equal(core_binary_unloaded(W.core, t.th, &t.regs, BASE, &err), 0);
	assert_int_equal(W.n_disarmed, 3);
	assert_false(core_is_scope_entry(W.core, IMPL_A));
	assert_int_equal(core_resolvers(W.core, BASE, NULL, 0), 0);
	finish(STORE_END_KILLED);

	want = hex_rows("0 scope_ifunc b0 %#" PRIx64 " %#" PRIx64 " d1\n"
	                "1 plain_func b0 %#" PRIx64 " 0 d1\n"
	                "2 scope_ifunc b0 %#" PRIx64 " %#" PRIx64 " d1\n",
	                IMPL_A, RESOLVER, PLAIN, IMPL_B, RESOLVER);
	EXPECT_TEXT(scope_rows(), want);
	free(want);
}

/* Setup: the fixture program and its symbol addresses */

static const char prog_src[] =
        "#define F __attribute__((noinline, used))\n"
        "F int scope_outer(int x) { return x + 1; }\n"
        "int scope_alias(int x) __attribute__((alias(\"scope_outer\")));\n"
        "F int scope_inner(int x) { return x * 3; }\n"
        "F int scope_zero(int x) { return x - 1; }\n"
        "F int scope_tail(int x) { return x ^ 5; }\n"
        "F int scope_tail2(int x) { return x | 9; }\n"
        "F int plain_func(int x) { return x << 2; }\n"
        "F int impl_a(int x) { return x + 10; }\n"
        "F int impl_b(int x) { return x + 20; }\n"
        "typedef int (*fn)(int);\n"
        "F fn pick_impl(void) { return impl_a; }\n"
        "int scope_ifunc(int x) __attribute__((ifunc(\"pick_impl\")));\n"
        "int main(int c, char **v) { (void)v; return scope_outer(c) + scope_inner(c) +\n"
        "  scope_zero(c) + scope_tail(c) + scope_tail2(c) + plain_func(c) +\n"
        "  scope_ifunc(c); }\n";

static int read_symbols(void)
{
	char cmd[1024], line[512], name[256];
	uint64_t v;
	char type;
	FILE *p;
	int n = 0;

	snprintf(cmd, sizeof(cmd), "nm -P --defined-only '%s'", prog_path);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		if (sscanf(line, "%255s %c %" SCNx64, name, &type, &v) != 3)
			continue;
		n += !strcmp(name, "scope_outer")   ? (sym.outer = v, 1)
		     : !strcmp(name, "scope_inner") ? (sym.inner = v, 1)
		     : !strcmp(name, "scope_zero")  ? (sym.zero = v, 1)
		     : !strcmp(name, "scope_tail")  ? (sym.tail = v, 1)
		     : !strcmp(name, "scope_tail2") ? (sym.tail2 = v, 1)
		     : !strcmp(name, "plain_func")  ? (sym.plain = v, 1)
		     : !strcmp(name, "pick_impl")   ? (sym.pick = v, 1)
		     : !strcmp(name, "impl_a")      ? (sym.impl_a = v, 1)
		     : !strcmp(name, "impl_b")      ? (sym.impl_b = v, 1)
		                                    : 0;
	}
	if (pclose(p) != 0 || n != 9)
		return -1;
	/* The IRELATIVE slot, from readelf: "OFFSET INFO TYPE ... ADDEND" */
	snprintf(cmd, sizeof(cmd), "readelf -rW '%s'", prog_path);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p))
		if (strstr(line, "R_X86_64_IRELATIV"))
			sscanf(line, "%" SCNx64, &sym.irel_slot);
	return pclose(p) == 0 && sym.irel_slot && sym.irel_slot < MEM_WORDS * 8 ? 0 : -1;
}

static int group_setup(void **state)
{
	char src[600], cmd[2048];
	FILE *f;

	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(src, sizeof(src), "%s/prog.c", tmpdir);
	snprintf(prog_path, sizeof(prog_path), "%s/prog", tmpdir);
	f = fopen(src, "w");
	if (!f)
		return -1;
	fputs(prog_src, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "gcc -O1 -pie -fPIE -o '%s' '%s'", prog_path, src);
	if (system(cmd)) {
		fprintf(stderr, "cannot build the fixture: %s\n", cmd);
		return -1;
	}
	if (read_symbols()) {
		fprintf(stderr, "cannot read the fixture's symbols\n");
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[600];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	return 0;
}

/*
 * While an engine replays a batch (core_clock_batch), the coarse clock is
 * read for one time in 256, the others one nanosecond after the last;
 * outside one, at every time. The last time given out is set low here to
 * tell a read (a time of now) from a step.
 */
static void test_clock_read_once_for_256_times_in_a_batch(void **state)
{
	const uint64_t now = 1700000000ull * 1000000000ull;
	uint64_t i;

	(void)state;
	world_open("call-depth 2\n");
	W.core->clock = CLOCK_REALTIME_COARSE;
	core_clock_batch(W.core, true);
	assert_true(core_now_ns(W.core) > now);
	W.core->last_ns = 1000;
	for (i = 1; i < 256; i++)
		assert_int_equal(core_now_ns(W.core), 1000 + i);
	assert_true(core_now_ns(W.core) > now);
	core_clock_batch(W.core, false);
	W.core->last_ns = 1000;
	assert_true(core_now_ns(W.core) > now);
	W.core->last_ns = 1000;
	assert_true(core_now_ns(W.core) > now);
}

#define T(fn) cmocka_unit_test_teardown(fn, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_full_root_at_first_insn_and_call_past_depth_runs_to_return),
		T(test_clock_read_once_for_256_times_in_a_batch),
		T(test_full_truncated_call_unwound_to_callers_return_point),
		T(test_full_truncated_call_of_root_has_one_return_point),
		T(test_full_call_depth_0_records_nothing),
		T(test_full_root_never_closes_by_stack_pointer),
		T(test_attached_thread_roots_at_its_pc_and_ends_detached),
		T(test_scope_hit_opens_root_scope_with_entry_backtrace),
		T(test_scope_depth_0_is_truncated_at_once),
		T(test_scope_entered_by_call_has_own_budget),
		T(test_scope_reached_by_jump_nests_and_closes_on_the_one_ret),
		T(test_scope_hit_while_running_free_nests_under_truncated_call),
		T(test_scope_hit_closes_frames_the_stack_pointer_left),
		T(test_recursive_scope_entries_nest_and_return_by_sp),
		T(test_every_call_form_opens_one_frame),
		T(test_every_return_form_closes_exactly_one_frame),
		T(test_ret_from_tail_call_chain_closes_frames_sharing_entry_sp),
		T(test_tail_call_from_truncated_call_into_scope_returns_both),
		T(test_longjmp_unwinds_frames_below_new_sp_only),
		T(test_exception_landing_unwinds_frames_between_throw_and_catch),
		T(test_frame_ends_at_control_transfer_above_entry_sp),
		T(test_return_hit_closes_only_frames_sp_is_above),
		T(test_return_hit_returns_outermost_frame_only),
		T(test_signal_handler_same_stack_closes_at_rt_sigreturn),
		T(test_signal_handler_same_stack_closes_when_sp_is_back),
		T(test_signal_handler_alt_stack_closes_only_at_rt_sigreturn),
		T(test_signal_handler_past_depth_runs_to_interrupted_pc),
		T(test_signal_handler_alt_stack_past_depth_runs_to_interrupted_pc),
		T(test_signal_handler_that_is_a_scope_has_own_budget),
		T(test_get_pc_idiom_is_not_a_call),
		T(test_thread_new_records_create_event_in_parents_call),
		T(test_thread_exit_records_last_insn_and_closes_calls_as_exit),
		T(test_exec_closes_calls_as_exec_and_unloads_binaries),
		T(test_exec_in_full_mode_restarts_with_a_new_root),
		T(test_finish_closes_open_calls_as_killed),
		T(test_binary_loaded_arms_scope_entries),
		T(test_missing_scope_symbol_is_config_error_with_location),
		T(test_binary_unloaded_disarms_its_scopes_only),
		T(test_binaries_of_one_stop_share_a_backtrace),
		T(test_scopes_whose_binary_never_loaded_are_warnings),
		T(test_failed_run_does_not_warn_about_scopes),
		T(test_ifunc_scope_is_entered_at_what_its_resolver_returns),
		T(test_ifunc_scope_reads_the_implementation_already_stored),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
