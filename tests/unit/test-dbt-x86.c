/*
 * Unit tests of the dbt engine's x86-64 side: instruction analysis (flow,
 * rsp effect, RIP-relative displacement) and the generated code, run in
 * this very process with gs pointing at a context page as in a traced
 * thread: records land in the ring, and the application's registers,
 * flags and stack (red zone included) come out untouched.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <asm/prctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "arch/x86_64/dbt-x86.h"

/* --- analysis --- */

struct want {
	const char *name;
	uint8_t bytes[15];
	uint8_t len;
	enum dbt_flow flow;
	int32_t sp_delta;
	bool sp_dynamic;
	uint8_t disp_off;
	enum arch_insn_class cls;
};

static const struct want wants[] = {
	{ "push rax", { 0x50 }, 1, DBT_FLOW_NEXT, -8, false, 0, ARCH_INSN_OTHER },
	{ "pop rbx", { 0x5b }, 1, DBT_FLOW_NEXT, 8, false, 0, ARCH_INSN_OTHER },
	{ "pushfq", { 0x9c }, 1, DBT_FLOW_NEXT, -8, false, 0, ARCH_INSN_OTHER },
	{ "popfq", { 0x9d }, 1, DBT_FLOW_NEXT, 8, false, 0, ARCH_INSN_OTHER },
	{ "add rsp, 16",
	  { 0x48, 0x83, 0xc4, 0x10 },
	  4,
	  DBT_FLOW_NEXT,
	  16,
	  false,
	  0,
	  ARCH_INSN_OTHER },
	{ "sub rsp, 32",
	  { 0x48, 0x83, 0xec, 0x20 },
	  4,
	  DBT_FLOW_NEXT,
	  -32,
	  false,
	  0,
	  ARCH_INSN_OTHER },
	{ "lea rsp, [rsp+8]",
	  { 0x48, 0x8d, 0x64, 0x24, 0x08 },
	  5,
	  DBT_FLOW_NEXT,
	  8,
	  false,
	  0,
	  ARCH_INSN_OTHER },
	{ "enter 16, 0",
	  { 0xc8, 0x10, 0x00, 0x00 },
	  4,
	  DBT_FLOW_NEXT,
	  -24,
	  false,
	  0,
	  ARCH_INSN_OTHER },
	{ "leave", { 0xc9 }, 1, DBT_FLOW_NEXT, 0, true, 0, ARCH_INSN_OTHER },
	{ "mov rsp, rbp", { 0x48, 0x89, 0xec }, 3, DBT_FLOW_NEXT, 0, true, 0, ARCH_INSN_OTHER },
	{ "and rsp, -16",
	  { 0x48, 0x83, 0xe4, 0xf0 },
	  4,
	  DBT_FLOW_NEXT,
	  0,
	  true,
	  0,
	  ARCH_INSN_OTHER },
	{ "pop rsp", { 0x5c }, 1, DBT_FLOW_NEXT, 0, true, 0, ARCH_INSN_OTHER },
	{ "jmp +5", { 0xeb, 0x05 }, 2, DBT_FLOW_JMP, 0, false, 0, ARCH_INSN_JUMP },
	{ "jz rel32",
	  { 0x0f, 0x84, 0x10, 0, 0, 0 },
	  6,
	  DBT_FLOW_JCC,
	  0,
	  false,
	  0,
	  ARCH_INSN_BRANCH },
	{ "jrcxz", { 0xe3, 0x02 }, 2, DBT_FLOW_JCC, 0, false, 0, ARCH_INSN_BRANCH },
	{ "loop", { 0xe2, 0xfe }, 2, DBT_FLOW_JCC, 0, false, 0, ARCH_INSN_BRANCH },
	{ "call rel32", { 0xe8, 0, 0, 0, 0 }, 5, DBT_FLOW_CALL, -8, false, 0, ARCH_INSN_CALL },
	{ "call rax", { 0xff, 0xd0 }, 2, DBT_FLOW_CALL_IND, -8, false, 0, ARCH_INSN_CALL },
	{ "call [rip+x]",
	  { 0xff, 0x15, 0x10, 0, 0, 0 },
	  6,
	  DBT_FLOW_CALL_IND,
	  -8,
	  false,
	  2,
	  ARCH_INSN_CALL },
	{ "jmp [rip+x]",
	  { 0xff, 0x25, 0x10, 0, 0, 0 },
	  6,
	  DBT_FLOW_JMP_IND,
	  0,
	  false,
	  2,
	  ARCH_INSN_JUMP },
	{ "notrack jmp rax",
	  { 0x3e, 0xff, 0xe0 },
	  3,
	  DBT_FLOW_JMP_IND,
	  0,
	  false,
	  0,
	  ARCH_INSN_JUMP },
	{ "ret", { 0xc3 }, 1, DBT_FLOW_RET, 8, false, 0, ARCH_INSN_RET },
	{ "ret 8", { 0xc2, 0x08, 0x00 }, 3, DBT_FLOW_RET, 16, false, 0, ARCH_INSN_RET },
	{ "bnd ret", { 0xf2, 0xc3 }, 2, DBT_FLOW_RET, 8, false, 0, ARCH_INSN_RET },
	{ "syscall", { 0x0f, 0x05 }, 2, DBT_FLOW_SYSCALL, 0, false, 0, ARCH_INSN_SYSCALL },
	{ "int3", { 0xcc }, 1, DBT_FLOW_STEP, 0, false, 0, ARCH_INSN_INT3 },
	{ "ud2", { 0x0f, 0x0b }, 2, DBT_FLOW_STEP, 0, false, 0, ARCH_INSN_OTHER },
	{ "int 0x80", { 0xcd, 0x80 }, 2, DBT_FLOW_STEP, 0, false, 0, ARCH_INSN_SYSCALL },
	{ "retf", { 0xcb }, 1, DBT_FLOW_STEP, 0, true, 0, ARCH_INSN_RET },
	{ "mov eax, gs:[0]",
	  { 0x65, 0x8b, 0x04, 0x25, 0, 0, 0, 0 },
	  8,
	  DBT_FLOW_STEP,
	  0,
	  false,
	  0,
	  ARCH_INSN_OTHER },
	{ "xbegin", { 0xc7, 0xf8, 0, 0, 0, 0 }, 6, DBT_FLOW_STEP, 0, false, 0, ARCH_INSN_BRANCH },
	{ "lea rax, [rip+16]",
	  { 0x48, 0x8d, 0x05, 0x10, 0, 0, 0 },
	  7,
	  DBT_FLOW_NEXT,
	  0,
	  false,
	  3,
	  ARCH_INSN_OTHER },
	{ "cmp dword [rip+x], 5",
	  { 0x83, 0x3d, 0x10, 0, 0, 0, 0x05 },
	  7,
	  DBT_FLOW_NEXT,
	  0,
	  false,
	  2,
	  ARCH_INSN_OTHER },
	{ "vmovdqu ymm0, [rip+x]",
	  { 0xc5, 0xfe, 0x6f, 0x05, 0x10, 0, 0, 0 },
	  8,
	  DBT_FLOW_NEXT,
	  0,
	  false,
	  4,
	  ARCH_INSN_OTHER },
	{ "vpaddd zmm0, zmm1, [rip+x]",
	  { 0x62, 0xf1, 0x75, 0x48, 0xfe, 0x05, 0x10, 0, 0, 0 },
	  10,
	  DBT_FLOW_NEXT,
	  0,
	  false,
	  6,
	  ARCH_INSN_OTHER },
	{ "rep movsb", { 0xf3, 0xa4 }, 2, DBT_FLOW_NEXT, 0, false, 0, ARCH_INSN_OTHER },
};

static void test_analyze(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(wants) / sizeof(wants[0]); i++) {
		const struct want *w = &wants[i];
		struct dbt_insn in;

		arch_dbt_analyze(0x401000, w->bytes, w->len, &in);
		/* What a stepped instruction does to rsp is the step engine's business. */
		bool sp_ok =
		        w->flow == DBT_FLOW_STEP || (in.sp_dynamic == w->sp_dynamic &&
		                                     (w->sp_dynamic || in.sp_delta == w->sp_delta));

		if (in.a.len != w->len || in.flow != w->flow || in.a.cls != w->cls || !sp_ok ||
		    in.disp_off != w->disp_off)
			fail_msg("%s: len %u flow %d cls %d sp %d%s disp %u", w->name, in.a.len,
			         in.flow, in.a.cls, in.sp_delta, in.sp_dynamic ? " (dynamic)" : "",
			         in.disp_off);
	}
}

static void test_branch_targets(void **state)
{
	static const uint8_t jz[] = { 0x74, 0x10 }, call[] = { 0xe8, 0xfb, 0xff, 0xff, 0xff };
	struct dbt_insn in;

	(void)state;
	arch_dbt_analyze(0x401000, jz, sizeof(jz), &in);
	assert_int_equal(in.target, 0x401012);
	arch_dbt_analyze(0x401000, call, sizeof(call), &in);
	assert_int_equal(in.target, 0x401000);
}

/* xbegin's abort target is a branch's; xend after it has none (no operand to read one from) */
static void test_branch_xbegin_xend(void **state)
{
	static const uint8_t xbegin[] = { 0xc7, 0xf8, 0x10, 0, 0, 0 },
	                     xend[] = { 0x0f, 0x01, 0xd5 };
	uint64_t target;
	size_t len;

	(void)state;
	assert_int_equal(arch_dbt_branch(0x401000, xbegin, sizeof(xbegin), &len, &target), 0);
	assert_int_equal(len, 6);
	assert_int_equal(target, 0x401016);
	assert_true(
	        arch_dbt_jumps_into(xbegin, NULL, sizeof(xbegin), 0x401000, 0x401015, 0x401017));
	assert_int_equal(arch_dbt_branch(0x401006, xend, sizeof(xend), &len, &target), 0);
	assert_int_equal(len, 3);
	assert_int_equal(target, 0);
}

/*
 * arch_dbt_branch() says what arch_dbt_analyze() does of every instruction
 * in 256 KiB of libc's code (decoded on from wherever a decoding fails):
 * the same length, the target of each direct jump, branch and call, and
 * none for anything else but a branch arch_dbt_analyze() steps
 */
static void test_branch_agrees(void **state)
{
	const uint8_t *p = (const uint8_t *)(uintptr_t)&printf, *end = p + (256u << 10);
	size_t branches = 0, len;
	uint64_t target;

	(void)state;
	while (p < end) {
		struct dbt_insn in;
		int a = arch_dbt_analyze((uint64_t)(uintptr_t)p, p, (size_t)(end - p), &in);
		int b = arch_dbt_branch((uint64_t)(uintptr_t)p, p, (size_t)(end - p), &len,
		                        &target);

		assert_int_equal(a, b);
		if (a) {
			p++;
			continue;
		}
		assert_int_equal(len, in.a.len);
		if (in.flow == DBT_FLOW_JMP || in.flow == DBT_FLOW_JCC ||
		    in.flow == DBT_FLOW_CALL) {
			assert_int_equal(target, in.target);
			branches++;
		} else if (in.flow != DBT_FLOW_STEP) {
			assert_int_equal(target, 0);
		}
		p += len;
	}
	assert_true(branches > 1000);
}

/*
 * arch_dbt_jumps_into() finds every direct branch arch_dbt_branch() does
 * in 256 KiB of libc's code: a door's bytes it clears need no decoding
 * (doors.c)
 */
static void test_jumps_into_finds_branches(void **state)
{
	const uint8_t *p = (const uint8_t *)(uintptr_t)&printf, *end = p + (256u << 10);
	size_t branches = 0, len;
	uint64_t target, at;

	(void)state;
	while (p < end) {
		at = (uint64_t)(uintptr_t)p;
		if (arch_dbt_branch(at, p, (size_t)(end - p), &len, &target)) {
			p++;
			continue;
		}
		/* the branch's own bytes are enough: each byte is looked at alone */
		if (target) {
			assert_true(arch_dbt_jumps_into(p, NULL, len, at, target - 1, target + 1));
			branches++;
		}
		p += len;
	}
	assert_true(branches > 1000);
}

/* --- running generated code in this process --- */

#define RING_WORDS 64

static uint8_t *code; /* an executable buffer for generated code */
static uint8_t *ctx;  /* a context page, gs points here while code runs */
static uint32_t ring[RING_WORDS];

static const uint32_t value = 0x7654321; /* data a RIP-relative load reads */

static int setup(void **state)
{
	uint64_t near = ((uint64_t)(uintptr_t)&value & ~0xfffffull) + (64u << 20);
	int i;

	(void)state;
	/* Within 2 GB of this program's data, as the engine places its code regions. */
	code = MAP_FAILED;
	for (i = 0; i < 64 && code == MAP_FAILED; i++)
		code = mmap((void *)(uintptr_t)(near + (uint64_t)i * (16u << 20)), 1 << 16,
		            PROT_READ | PROT_WRITE | PROT_EXEC,
		            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ctx = mmap(NULL, DBT_CTX_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return code == MAP_FAILED || ctx == MAP_FAILED ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	munmap(code, 1 << 16);
	munmap(ctx, DBT_CTX_SIZE);
	return 0;
}

static void set_gs(uint64_t base)
{
	syscall(SYS_arch_prctl, ARCH_SET_GS, base);
}

static void ctx_set(int off, uint64_t v)
{
	memcpy(ctx + off, &v, 8);
}

static uint64_t ctx_get(int off)
{
	uint64_t v;

	memcpy(&v, ctx + off, 8);
	return v;
}

static struct dbt_code start(void)
{
	struct dbt_code c = { code, code + (1 << 16), (uint64_t)(uintptr_t)code, false };

	memset(code, 0xcc, 1 << 16);
	return c;
}

/* What a run of generated code left: registers, flags, the red zone below rsp. */
struct run {
	uint64_t rax, rcx, rdx, flags, rsp_in, rsp_out, rbp, r9;
	uint64_t red[24];
};

/*
 * The words above the return address the generated code is called with
 * (what a stack walk reads there), the same at every call: run_code's own
 * frame is no such place (ASan moves it).
 */
static uint64_t stack_words[8];
/* When not 0: rbp points this far above stack_words' first one in the code run (then given back).
 */
static uint64_t run_bp;

/* r9 after the code ran (run_code's loop leaves 0 there), written by its asm */
uint64_t run_r9;

/*
 * run_code - call the generated code with rax, rcx, rdx, the flags, a
 * marked red zone and rbp (run_bp) set, and collect them afterwards (the
 * code ends in ret). With the frame pointer kept, no operand is rbp.
 */
__attribute__((optimize("no-omit-frame-pointer"))) static void
run_code(void *fn, uint64_t rax, uint64_t rcx, uint64_t rdx, uint64_t flags, struct run *out)
{
	uint64_t o_rax, o_rcx, o_rdx, o_flags, rsp_in, rsp_out, bp = run_bp;
	int i;

	set_gs((uint64_t)(uintptr_t)ctx);
	__asm__ volatile(
	        "mov %%rbp, %%r8\n\t"
	        "sub $64, %%rsp\n\t"
	        "movdqu (%[words]), %%xmm0\n\t"
	        "movdqu %%xmm0, (%%rsp)\n\t"
	        "movdqu 16(%[words]), %%xmm0\n\t"
	        "movdqu %%xmm0, 16(%%rsp)\n\t"
	        "movdqu 32(%[words]), %%xmm0\n\t"
	        "movdqu %%xmm0, 32(%%rsp)\n\t"
	        "movdqu 48(%[words]), %%xmm0\n\t"
	        "movdqu %%xmm0, 48(%%rsp)\n\t"
	        "mov %%rsp, %[rin]\n\t"
	        "test %%rsi, %%rsi\n\t"
	        "jz 2f\n\t"
	        "lea (%%rsp,%%rsi), %%rbp\n\t"
	        "2:\n\t"
	        "lea -200(%%rsp), %%r11\n\t"
	        "movq $0x5a5a5a5a5a5a5a5a, %%r10\n\t"
	        "mov $24, %%r9d\n\t"
	        "1: mov %%r10, (%%r11)\n\t"
	        "add $8, %%r11\n\t"
	        "dec %%r9d\n\t"
	        "jnz 1b\n\t"
	        "push %[fl]\n\t"
	        "popfq\n\t"
	        "call *%[fn]\n\t"
	        "pushfq\n\t"
	        "pop %[ofl]\n\t"
	        "mov %%rsp, %[rout]\n\t"
	        "add $64, %%rsp\n\t"
	        "mov %%rbp, %%rsi\n\t"
	        "mov %%r8, %%rbp\n\t"
	        "mov %%r9, run_r9(%%rip)\n\t"
	        : "+a"(rax), "+c"(rcx), "+d"(rdx),
	          "+S"(bp), [ofl] "=&r"(o_flags), [rin] "=&r"(rsp_in), [rout] "=&r"(rsp_out)
	        : [fn] "r"(fn), [fl] "r"(flags), [words] "r"(stack_words)
	        : "r8", "r9", "r10", "r11", "xmm0", "memory", "cc");
	set_gs(0);
	o_rax = rax;
	o_rcx = rcx;
	o_rdx = rdx;
	out->rax = o_rax;
	out->rcx = o_rcx;
	out->rdx = o_rdx;
	out->flags = o_flags;
	out->rsp_in = rsp_in;
	out->rsp_out = rsp_out;
	out->rbp = bp;
	out->r9 = run_r9;
	for (i = 0; i < 24; i++)
		memcpy(&out->red[i], (uint8_t *)(uintptr_t)(rsp_in - 200 + i * 8), 8);
}

/* The arithmetic flags and DF, as pushfq shows them (IF and reserved bits aside). */
#define FLAGS_MASK 0x0cd5u

static void check_untouched(const struct run *r, uint64_t rax, uint64_t rcx, uint64_t rdx,
                            uint64_t flags)
{
	int i;

	assert_int_equal(r->rax, rax);
	assert_int_equal(r->rcx, rcx);
	assert_int_equal(r->rdx, rdx);
	assert_int_equal(r->flags & FLAGS_MASK, flags & FLAGS_MASK);
	assert_int_equal(r->rsp_in, r->rsp_out);
	assert_int_equal(r->r9, 0); /* as run_code's loop left it (r8 holds its rbp) */
	/* Below the return address the call pushed: nothing may have been written. */
	for (i = 0; i < 23; i++)
		assert_int_equal(r->red[i], 0x5a5a5a5a5a5a5a5aull);
}

static void test_log_block(void **state)
{
	struct dbt_code c = start();
	uint64_t flags[] = { 0x202, 0x2d7, 0xa93 }; /* none, CF PF AF ZF SF, OF DF SF CF */
	struct run r;
	size_t i;

	(void)state;
	arch_dbt_emit_log_block(&c, 0x1234);
	arch_dbt_emit_bytes(&c, "\xc3", 1);
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		ctx_set(DBT_CTX_CURSOR, (uint64_t)(uintptr_t)ring);
		memset(ring, 0, sizeof(ring));
		run_code(code, 0x1111, 0x2222, 0x3333, flags[i], &r);
		check_untouched(&r, 0x1111, 0x2222, 0x3333, flags[i]);
		assert_int_equal(ring[0], 0x1234);
		assert_int_equal(ctx_get(DBT_CTX_CURSOR), (uint64_t)(uintptr_t)(ring + 1));
	}
}

static void test_log_sp(void **state)
{
	struct dbt_code c = start();
	struct run r;
	uint64_t sp;

	(void)state;
	arch_dbt_emit_log_sp(&c);
	arch_dbt_emit_bytes(&c, "\xc3", 1);
	ctx_set(DBT_CTX_CURSOR, (uint64_t)(uintptr_t)ring);
	run_code(code, 7, 8, 9, 0x2c3, &r);
	check_untouched(&r, 7, 8, 9, 0x2c3);
	assert_int_equal(ring[0], DBT_REC_SP);
	sp = ring[1] | (uint64_t)ring[2] << 32;
	assert_int_equal(sp, r.rsp_in - 8); /* inside the call */
	assert_int_equal(ctx_get(DBT_CTX_CURSOR), (uint64_t)(uintptr_t)(ring + 3));
}

/* The lookup: a hit jumps to the cache address with everything restored. */
static void test_dispatch(void **state)
{
	static struct arch_dbt_entry table[DBT_TABLE_SLOTS + DBT_TABLE_SPILL];
	struct dbt_code c = start();
	uint64_t landing, dispatch, miss, app = 0x401234;
	struct run r;

	(void)state;
	landing = c.pc;
	arch_dbt_emit_bytes(&c, "\xc3", 1); /* the "block": returns to the caller */
	arch_dbt_align(&c, 16);
	dispatch = c.pc;
	arch_dbt_emit_dispatch(&c, 0, &miss);
	assert_false(c.full);
	assert_int_equal(*(uint8_t *)(uintptr_t)miss, 0xcc);
	/* A colliding entry first: the probe must go past it. */
	table[arch_dbt_hash(app)].app = app + (DBT_TABLE_SLOTS << 3);
	table[arch_dbt_hash(app)].cache = 1;
	table[arch_dbt_hash(app) + 1].app = app;
	table[arch_dbt_hash(app) + 1].cache = landing;
	ctx_set(DBT_CTX_TABLE, (uint64_t)(uintptr_t)table);
	ctx_set(DBT_CTX_TARGET, app);
	run_code((void *)(uintptr_t)dispatch, 0xaaaa, 0xbbbb, 0xcccc, 0x8d5, &r);
	check_untouched(&r, 0xaaaa, 0xbbbb, 0xcccc, 0x8d5);
	assert_int_equal(ctx_get(DBT_CTX_JMPT), landing);
}

/* stub - code that sets rdx to mark and returns: where generated code goes on in a test */
static uint64_t stub(struct dbt_code *c, uint8_t mark)
{
	uint8_t b[8] = { 0x48, 0xc7, 0xc2, mark, 0, 0, 0, 0xc3 }; /* mov rdx, mark; ret */
	uint64_t at = c->pc;

	arch_dbt_emit_bytes(c, b, sizeof(b));
	arch_dbt_align(c, 16);
	return at;
}

/* ring_value - the 64-bit value of the tagged record at ring[0], checking the tag */
static uint64_t ring_value(uint32_t tag)
{
	assert_int_equal(ring[0], tag);
	assert_int_equal(ctx_get(DBT_CTX_CURSOR), (uint64_t)(uintptr_t)(ring + 3));
	return ring[1] | (uint64_t)ring[2] << 32;
}

/*
 * The unrecorded lookup: keys with bit 63; with rsp above gs:[FREE_SP]
 * (the unrecorded call returned) it logs rsp and goes to the recorded one.
 */
static void test_free_dispatch(void **state)
{
	static struct arch_dbt_entry table[DBT_TABLE_SLOTS + DBT_TABLE_SPILL];
	struct dbt_code c = start();
	uint64_t landing, rec, dispatch, miss, app = 0x402468;
	struct run r;

	(void)state;
	landing = stub(&c, 0x11);
	rec = stub(&c, 0x22);
	dispatch = c.pc;
	arch_dbt_emit_dispatch(&c, rec, &miss);
	assert_false(c.full);
	table[arch_dbt_hash(app)].app = app; /* the recorded translation: not this one */
	table[arch_dbt_hash(app)].cache = 1;
	table[arch_dbt_hash(app) + 1].app = app | DBT_FREE_KEY;
	table[arch_dbt_hash(app) + 1].cache = landing;
	ctx_set(DBT_CTX_TABLE, (uint64_t)(uintptr_t)table);
	ctx_set(DBT_CTX_TARGET, app);
	ctx_set(DBT_CTX_CURSOR, (uint64_t)(uintptr_t)ring);
	ctx_set(DBT_CTX_FREE_SP, UINT64_MAX);
	run_code((void *)(uintptr_t)dispatch, 1, 2, 0xdd, 0x8d5, &r);
	check_untouched(&r, 1, 2, 0x11, 0x8d5);
	assert_int_equal(ctx_get(DBT_CTX_JMPT), landing);
	assert_int_equal(ctx_get(DBT_CTX_CURSOR), (uint64_t)(uintptr_t)ring);
	ctx_set(DBT_CTX_FREE_SP, 4096);
	run_code((void *)(uintptr_t)dispatch, 1, 2, 0xdd, 0x8d5, &r);
	assert_int_equal(r.rdx, 0x22);
	assert_int_equal(r.rax, 1);
	assert_int_equal(r.rcx, 2);
	assert_int_equal(r.flags & FLAGS_MASK, 0x8d5 & FLAGS_MASK);
	assert_int_equal(ring_value(DBT_REC_FREE_OUT), r.rsp_in - 8);
}

/*
 * A call over budget (rcx spilled, 0): inside the frame that used the
 * budget up, into its callee unrecorded (return address pushed, target
 * logged, the callee's entry rsp kept); outside it, the hypercall.
 */
static void test_free_entry(void **state)
{
	struct dbt_code c = start();
	uint64_t ret = 0x401777, target = 0x405000, callee, trunc, slots, pad;
	struct run r;

	(void)state;
	callee = c.pc;
	arch_dbt_emit_bytes(&c, "\x5a\xc3", 2); /* pop rdx; ret: the callee shows what was pushed */
	arch_dbt_align(&c, 16);
	trunc = c.pc;
	arch_dbt_emit_unspill(&c);
	stub(&c, 0x66);
	slots = c.pc;
	arch_dbt_emit_bytes(&c, &ret, 8);
	arch_dbt_emit_bytes(&c, &callee, 8);
	pad = c.pc;
	arch_dbt_emit_free_entry(&c, slots, target, slots + 8, 0, trunc);
	assert_false(c.full);
	ctx_set(DBT_CTX_S_RCX, 2);
	ctx_set(DBT_CTX_CURSOR, (uint64_t)(uintptr_t)ring);
	ctx_set(DBT_CTX_CALL_SP, UINT64_MAX);
	run_code((void *)(uintptr_t)pad, 1, 0, 3, 0x2c3, &r);
	assert_int_equal(r.rdx, ret);
	assert_int_equal(r.rax, 1);
	assert_int_equal(r.rcx, 2);
	assert_int_equal(r.flags & FLAGS_MASK, 0x2c3 & FLAGS_MASK);
	assert_int_equal(ring_value(DBT_REC_FREE_IN), target);
	assert_int_equal(ctx_get(DBT_CTX_FREE_SP), r.rsp_in - 16);
	/* Above the frame whose call used the budget up: nothing pushed, nothing logged. */
	ctx_set(DBT_CTX_CURSOR, (uint64_t)(uintptr_t)ring);
	ctx_set(DBT_CTX_CALL_SP, 4096);
	run_code((void *)(uintptr_t)pad, 1, 0, 3, 0x2c3, &r);
	check_untouched(&r, 1, 2, 0x66, 0x2c3);
	assert_int_equal(ctx_get(DBT_CTX_CURSOR), (uint64_t)(uintptr_t)ring);
}

/* A leave's code and what it goes to: stubs marking rdx 0x44, 0x33 and 0x22. */
struct leave_code {
	uint64_t leave, target, watches;
};

/* leave_of - a leave of form how, its unrecorded lookup, indirect miss and target stubs */
static struct leave_code leave_of(struct dbt_code *c, enum arch_dbt_leave how)
{
	uint64_t fdispatch = stub(c, 0x44), ind_miss = stub(c, 0x33);
	struct leave_code l = { .target = stub(c, 0x22) };

	l.watches = arch_dbt_emit_watches(c);
	l.leave = c->pc;
	arch_dbt_emit_leave(c, ind_miss, fdispatch, how, l.watches);
	assert_false(c->full);
	return l;
}

/*
 * A return out of every recorded frame for a thread that stays in the
 * cache: above the outermost frame's entry rsp, the target is logged and
 * the thread goes on unrecorded; otherwise to the indirect miss.
 */
static void test_leave(void **state)
{
	struct dbt_code c = start();
	uint64_t leave = leave_of(&c, ARCH_DBT_LEAVE_CACHE).leave;
	struct run r;

	(void)state;
	ctx_set(DBT_CTX_TARGET, 0x401abc);
	ctx_set(DBT_CTX_CURSOR, (uint64_t)(uintptr_t)ring);
	ctx_set(DBT_CTX_FREE_SP, 0);
	ctx_set(DBT_CTX_ROOT_SP, 4096);
	run_code((void *)(uintptr_t)leave, 5, 6, 7, 0x8d5, &r);
	check_untouched(&r, 5, 6, 0x44, 0x8d5);
	assert_int_equal(ring_value(DBT_REC_LEFT), 0x401abc);
	assert_int_equal(ctx_get(DBT_CTX_FREE_SP), UINT64_MAX);
	ctx_set(DBT_CTX_CURSOR, (uint64_t)(uintptr_t)ring);
	ctx_set(DBT_CTX_FREE_SP, 0);
	ctx_set(DBT_CTX_ROOT_SP, UINT64_MAX);
	run_code((void *)(uintptr_t)leave, 5, 6, 7, 0x8d5, &r);
	check_untouched(&r, 5, 6, 0x33, 0x8d5);
	assert_int_equal(ctx_get(DBT_CTX_CURSOR), (uint64_t)(uintptr_t)ring);
	assert_int_equal(ctx_get(DBT_CTX_FREE_SP), 0);
}

/*
 * The native form goes on at the return's target itself (a stub here),
 * logged the same; at a watched one, at the watch's pass code.
 */
static void test_leave_native(void **state)
{
	struct dbt_code c = start();
	struct leave_code l = leave_of(&c, ARCH_DBT_LEAVE_NATIVE);
	uint64_t target = l.target, leave = l.leave, watches = l.watches, pass;
	struct run r;

	(void)state;
	ctx_set(DBT_CTX_TARGET, target);
	ctx_set(DBT_CTX_CURSOR, (uint64_t)(uintptr_t)ring);
	ctx_set(DBT_CTX_FREE_SP, 0);
	ctx_set(DBT_CTX_ROOT_SP, 4096);
	run_code((void *)(uintptr_t)leave, 5, 6, 7, 0x8d5, &r);
	check_untouched(&r, 5, 6, 0x22, 0x8d5);
	assert_int_equal(ring_value(DBT_REC_LEFT), target);
	assert_int_equal(ctx_get(DBT_CTX_FREE_SP), UINT64_MAX);
	ctx_set(DBT_CTX_CURSOR, (uint64_t)(uintptr_t)ring);
	ctx_set(DBT_CTX_ROOT_SP, UINT64_MAX);
	run_code((void *)(uintptr_t)leave, 5, 6, 7, 0x8d5, &r);
	check_untouched(&r, 5, 6, 0x33, 0x8d5);
	/* A watched target: to its pass code, the target itself logged. */
	pass = stub(&c, 0x77);
	memcpy((void *)(uintptr_t)(watches + 8 * (ARCH_DBT_WATCHES + 5)), &pass, 8);
	memcpy((void *)(uintptr_t)(watches + 8 * 5), &target, 8);
	ctx_set(DBT_CTX_CURSOR, (uint64_t)(uintptr_t)ring);
	ctx_set(DBT_CTX_ROOT_SP, 4096);
	run_code((void *)(uintptr_t)leave, 5, 6, 7, 0x8d5, &r);
	check_untouched(&r, 5, 6, 0x77, 0x8d5);
	assert_int_equal(ring_value(DBT_REC_LEFT), target);
	assert_int_equal(ctx_get(DBT_CTX_TARGET), target);
}

/* the callers' set of the native call test (arch_dbt_caller_slot()) */
static uint64_t callers_set[DBT_CALLERS_SIZE / 8];

/*
 * A native call: from a frame whose return address is in the callers' set
 * (or the program's first frame), the callee runs natively with the
 * return address pushed, logged and its entry sp kept; from another frame
 * it goes through the other slot, outside the frame to the free entry,
 * every register as it was but the pad's scratch one.
 */
static void test_native(void **state)
{
	const uint64_t frame_ret = 0x4011ab;
	struct dbt_code c = start();
	uint64_t free_at, other_at, callee, back, rsp_in;
	struct arch_dbt_native n;
	struct run r;

	(void)state;
	free_at = stub(&c, 0x44);
	other_at = stub(&c, 0x33);
	callee = stub(&c, 0x22);
	back = stub(&c, 0x55);
	arch_dbt_emit_native(&c, back, callee, free_at, (uint64_t)(uintptr_t)callers_set, &n);
	assert_false(c.full);
	memcpy((void *)(uintptr_t)n.other, &other_at, 8);
	memset(callers_set, 0, sizeof(callers_set));
	/* The program's first frame: native, the callee's ret to back, back's to us. */
	ctx_set(DBT_CTX_CALL_SP, UINT64_MAX + ARCH_PTR_SIZE);
	ctx_set(DBT_CTX_CURSOR, (uint64_t)(uintptr_t)ring);
	ctx_set(DBT_CTX_S_RCX, 6);
	run_code((void *)(uintptr_t)n.code, 5, 6, 7, 0x8d5, &r);
	assert_int_equal(r.rdx, 0x55);
	assert_int_equal(r.rcx, 6);
	assert_int_equal(r.flags & FLAGS_MASK, 0x8d5 & FLAGS_MASK);
	assert_int_equal(ring_value(DBT_REC_FREE_IN), callee);
	rsp_in = r.rsp_in;
	assert_int_equal(ctx_get(DBT_CTX_FREE_SP), rsp_in - 16);
	/* A frame whose return address (stack_words[0]) is not in the set: the other slot. */
	stack_words[0] = frame_ret;
	ctx_set(DBT_CTX_CALL_SP, rsp_in + 8);
	ctx_set(DBT_CTX_CURSOR, (uint64_t)(uintptr_t)ring);
	run_code((void *)(uintptr_t)n.code, 5, 6, 7, 0x8d5, &r);
	check_untouched(&r, 5, r.rcx, 0x33, 0x8d5); /* rcx is the pad's, spilled */
	assert_int_equal(ctx_get(DBT_CTX_CURSOR), (uint64_t)(uintptr_t)ring);
	/* In the set (its last probe's slot): native. */
	callers_set[arch_dbt_caller_slot(frame_ret) + DBT_CALLER_PROBES - 1] = frame_ret;
	run_code((void *)(uintptr_t)n.code, 5, 6, 7, 0x2d4, &r);
	assert_int_equal(r.rdx, 0x55);
	assert_int_equal(r.flags & FLAGS_MASK, 0x2d4 & FLAGS_MASK);
	assert_int_equal(ring_value(DBT_REC_FREE_IN), callee);
	/* Outside the frame (sp above it): the free entry. */
	ctx_set(DBT_CTX_CALL_SP, rsp_in - 8);
	ctx_set(DBT_CTX_CURSOR, (uint64_t)(uintptr_t)ring);
	run_code((void *)(uintptr_t)n.code, 5, 6, 7, 0x8d5, &r);
	check_untouched(&r, 5, r.rcx, 0x44, 0x8d5);
	stack_words[0] = 0;
}

/* the context words a level keeps (arch/dbt.h) */
static const uint32_t level_words[DBT_LEVEL_WORDS] = {
	[DBT_LEVEL_FREE_SP] = DBT_CTX_FREE_SP, [DBT_LEVEL_UP] = DBT_CTX_UP,
	[DBT_LEVEL_OUT] = DBT_CTX_OUT,         [DBT_LEVEL_CALL_SP] = DBT_CTX_CALL_SP,
	[DBT_LEVEL_ROOT_SP] = DBT_CTX_ROOT_SP, [DBT_LEVEL_LEAVE] = DBT_CTX_LEAVE,
};

/*
 * The resuming form goes on natively too, in the truncated call: the
 * words of the level ctx[NEST] points at become the context's (its entry
 * sp the native call's, the counts and the leave the caller's), and the
 * level below it the next; unless sp is above the call's entry sp (the
 * call returned, the scope was left by a longjmp into it): then the
 * tracer decides, nothing changed.
 */
static void test_leave_resume(void **state)
{
	const uint32_t level = DBT_CTX_LEVELS + DBT_LEVEL_WORDS * 8;
	struct dbt_code c = start();
	struct leave_code l = leave_of(&c, ARCH_DBT_LEAVE_RESUME);
	uint64_t target = l.target, leave = l.leave;
	struct run r;
	size_t i;

	(void)state;
	for (i = 0; i < DBT_LEVEL_WORDS; i++)
		ctx_set((int)(level + i * 8), 0x1000 + i);
	/* The call returned itself (sp above its entry sp): the tracer decides. */
	ctx_set(DBT_CTX_NEST, level);
	ctx_set(DBT_CTX_TARGET, target);
	ctx_set(DBT_CTX_CURSOR, (uint64_t)(uintptr_t)ring);
	ctx_set(DBT_CTX_ROOT_SP, 4096);
	run_code((void *)(uintptr_t)leave, 5, 6, 7, 0x8d5, &r);
	check_untouched(&r, 5, 6, 0x33, 0x8d5);
	assert_int_equal(ctx_get(DBT_CTX_NEST), level);
	assert_int_equal(ctx_get(DBT_CTX_CURSOR), (uint64_t)(uintptr_t)ring);
	/* The scope returned into the call (sp below its entry sp): on in it. */
	ctx_set((int)level, UINT64_MAX - 0x1000);
	ctx_set(DBT_CTX_TARGET, target);
	ctx_set(DBT_CTX_CURSOR, (uint64_t)(uintptr_t)ring);
	ctx_set(DBT_CTX_ROOT_SP, 4096);
	run_code((void *)(uintptr_t)leave, 5, 6, 7, 0x8d5, &r);
	check_untouched(&r, 5, 6, 0x22, 0x8d5);
	assert_int_equal(ring_value(DBT_REC_LEFT), target);
	assert_int_equal(ctx_get(DBT_CTX_FREE_SP), UINT64_MAX - 0x1000);
	for (i = 1; i < DBT_LEVEL_WORDS; i++)
		assert_int_equal(ctx_get((int)level_words[i]), 0x1000 + i);
	assert_int_equal(ctx_get(DBT_CTX_NEST), DBT_CTX_LEVELS);
	/* Not above the outermost recorded frame: the tracer decides, nothing changed. */
	ctx_set(DBT_CTX_CURSOR, (uint64_t)(uintptr_t)ring);
	ctx_set(DBT_CTX_ROOT_SP, UINT64_MAX);
	run_code((void *)(uintptr_t)leave, 5, 6, 7, 0x8d5, &r);
	check_untouched(&r, 5, 6, 0x33, 0x8d5);
	assert_int_equal(ctx_get(DBT_CTX_NEST), DBT_CTX_LEVELS);
	assert_int_equal(ctx_get(DBT_CTX_CURSOR), (uint64_t)(uintptr_t)ring);
}

/* regs_kept - the registers, flags and rsp as they were (the red zone below rsp may differ) */
static void regs_kept(const struct run *r, uint64_t rax, uint64_t rcx, uint64_t rdx, uint64_t flags)
{
	assert_int_equal(r->rax, rax);
	assert_int_equal(r->rcx, rcx);
	assert_int_equal(r->rdx, rdx);
	assert_int_equal(r->flags & FLAGS_MASK, flags & FLAGS_MASK);
	assert_int_equal(r->rsp_in, r->rsp_out);
}

/*
 * A door: a thread between scopes goes on through its slot with every
 * register as it was, and so does one in a native call, ctx[NESTING] set
 * for the scope's entry code; a thread the cache does not run (ctx[FREE_SP]
 * 0) gets to the int3 with its registers as they were (here a ret stands
 * for it); the slot leads to the miss at first; the jump written at the
 * entry reaches it.
 */
static void test_door(void **state)
{
	struct dbt_code c = start();
	struct arch_dbt_door dr;
	uint64_t in, slot_to;
	uint8_t jump[5];
	int32_t rel;
	struct run r;

	(void)state;
	in = stub(&c, 0x66);
	arch_dbt_emit_door(&c, &dr);
	assert_false(c.full);
	assert_int_equal(dr.slot % 8, 0);
	memcpy(&slot_to, (void *)(uintptr_t)dr.slot, 8);
	assert_int_equal(slot_to, dr.miss);
	assert_int_equal(*(uint8_t *)(uintptr_t)dr.miss, 0xcc);
	assert_int_equal(*(uint8_t *)(uintptr_t)dr.stop, 0xcc);
	assert_true(dr.code < dr.load && dr.load < dr.stop && dr.stop < dr.miss);
	memcpy((void *)(uintptr_t)dr.slot, &in, 8);
	ctx_set(DBT_CTX_FREE_SP, UINT64_MAX);
	run_code((void *)(uintptr_t)dr.code, 1, 2, 3, 0x8d5, &r);
	regs_kept(&r, 1, 2, 0x66, 0x8d5);
	run_code((void *)(uintptr_t)dr.code, 1, 2, 3, 0x0, &r);
	regs_kept(&r, 1, 2, 0x66, 0x0);
	*(uint8_t *)(uintptr_t)dr.stop = 0xc3;
	ctx_set(DBT_CTX_NESTING, 0);
	ctx_set(DBT_CTX_FREE_SP, 0);
	run_code((void *)(uintptr_t)dr.code, 1, 2, 3, 0x8d5, &r);
	regs_kept(&r, 1, 2, 3, 0x8d5);
	assert_int_equal(ctx_get(DBT_CTX_NESTING), 0);
	ctx_set(DBT_CTX_FREE_SP, 0x7000);
	run_code((void *)(uintptr_t)dr.code, 1, 2, 3, 0x0, &r);
	regs_kept(&r, 1, 2, 0x66, 0x0);
	assert_int_equal(ctx_get(DBT_CTX_NESTING), 1);
	assert_int_equal(arch_dbt_door_jump(0x401000, 0x402000, jump), 5);
	assert_int_equal(jump[0], 0xe9);
	memcpy(&rel, jump + 1, 4);
	assert_int_equal(rel, 0x1000 - 5);
	assert_int_equal(arch_dbt_door_jump(0x401000, 0x401000 + (3ull << 31), jump), 0);
}

/*
 * A door's jump in padding nothing runs: no-ops right after a return or a
 * jump (glibc's memmove: `ret; nopl 0x0(%rax,%rax,1)` 57 bytes after its
 * entry), 5 bytes of them, within a short jump's reach of the entry.
 */
static void test_door_pad(void **state)
{
	/* mov %rdi,%rax; cmp $0x20,%rdx; jb +0x37; ret; nopl 0(%rax,%rax,1); cmp ... */
	static const uint8_t memmove_head[] = { 0x48, 0x89, 0xf8, 0x48, 0x83, 0xfa,
		                                0x20, 0x72, 0x37, 0xc3, 0x0f, 0x1f,
		                                0x44, 0x00, 0x00, 0x83, 0xfa, 0x10 };
	/* ret; then a 4-byte no-op and an int3: too short */
	static const uint8_t short_pad[] = { 0x48, 0x89, 0xf8, 0xc3, 0x0f, 0x1f, 0x40, 0x00, 0xcc };
	/* jmp *%rax; two no-ops of 3 and 2 bytes; the run is long enough */
	static const uint8_t two_nops[] = { 0x48, 0x89, 0xf8, 0xff, 0xe0, 0x0f,
		                            0x1f, 0x00, 0x66, 0x90, 0xcc };
	/* a no-op run after a conditional jump is run by its fall-through */
	static const uint8_t after_jcc[] = { 0x48, 0x89, 0xf8, 0x72, 0x10, 0x0f,
		                             0x1f, 0x44, 0x00, 0x00, 0xc3 };
	uint8_t far[3 + 1 + 130 + 5], hop[2];

	(void)state;
	assert_int_equal(arch_dbt_door_pad(memmove_head, sizeof(memmove_head), 0x163f00), 0x163f0a);
	assert_int_equal(arch_dbt_door_pad(short_pad, sizeof(short_pad), 0x1000), 0);
	assert_int_equal(arch_dbt_door_pad(two_nops, sizeof(two_nops), 0x1000), 0x1005);
	assert_int_equal(arch_dbt_door_pad(after_jcc, sizeof(after_jcc), 0x1000), 0);
	/* out of a short jump's reach: 3 bytes of mov, a ret, 130 one-byte no-ops */
	memcpy(far, (const uint8_t[]){ 0x48, 0x89, 0xf8, 0xc3 }, 4);
	memset(far + 4, 0x90, sizeof(far) - 4);
	assert_int_equal(arch_dbt_door_pad(far, sizeof(far), 0x1000), 0x1004);
	memset(far + 4, 0xcc, 126); /* the no-ops start 130 bytes in: past the reach */
	far[3] = 0x90;
	far[129] = 0xc3;
	assert_int_equal(arch_dbt_door_pad(far, sizeof(far), 0x1000), 0);
	assert_int_equal(arch_dbt_door_hop(0x163f00, 0x163f0a, hop), 2);
	assert_int_equal(hop[0], 0xeb);
	assert_int_equal(hop[1], 0x08);
	assert_int_equal(arch_dbt_door_hop(0x1000, 0x1000 + 2 + 127, hop), 2);
	assert_int_equal(arch_dbt_door_hop(0x1000, 0x1000 + 2 + 128, hop), 0);
}

/*
 * A door's jump in the padding before the entry: no-ops only, between the
 * end of the function before (its last instruction a return or a jump,
 * found by decoding it from its start) and the entry, within a short
 * jump's reach back (glibc's memchr for AVX-512: ret, then 30 bytes of
 * no-ops up to its entry, which starts with a branch).
 */
static void test_door_pad_before(void **state)
{
	/* mov %rdi,%rax; ret; cs nopw 0(%rax,%rax,1) (10 bytes); xchg %ax,%ax */
	static const uint8_t after_ret[] = { 0x48, 0x89, 0xf8, 0xc3, 0x66, 0x2e, 0x0f, 0x1f,
		                             0x84, 0x00, 0x00, 0x00, 0x00, 0x00, 0x66, 0x90 };
	/* cmp %rsi,%rdi; jb +0x10: falls through the same no-ops */
	static const uint8_t after_jcc[] = { 0x48, 0x39, 0xf7, 0x72, 0x10, 0x66, 0x2e, 0x0f, 0x1f,
		                             0x84, 0x00, 0x00, 0x00, 0x00, 0x00, 0x66, 0x90 };
	/* ret, then int3s: not padding that decodes as no-ops */
	static const uint8_t traps[] = { 0xc3, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc };
	/* ret, then a 3-byte no-op: too short for the jump */
	static const uint8_t short_pad[] = { 0xc3, 0x0f, 0x1f, 0x00 };
	uint8_t far[1 + 200];

	(void)state;
	assert_int_equal(arch_dbt_door_pad_before(after_ret, 0x1000, 0x1004, 0x1010), 0x1004);
	/* the function's end in the middle of its mov: no instruction ends there */
	assert_int_equal(arch_dbt_door_pad_before(after_ret, 0x1000, 0x1002, 0x1010), 0);
	/* an end past the entry, or the entry right after it */
	assert_int_equal(arch_dbt_door_pad_before(after_ret, 0x1000, 0x1010, 0x1010), 0);
	assert_int_equal(arch_dbt_door_pad_before(after_jcc, 0x1000, 0x1005, 0x1011), 0);
	assert_int_equal(arch_dbt_door_pad_before(traps, 0x1000, 0x1001, 0x1007), 0);
	assert_int_equal(arch_dbt_door_pad_before(short_pad, 0x1000, 0x1001, 0x1004), 0);
	/* 200 one-byte no-ops: the first a short jump back from the entry reaches */
	far[0] = 0xc3;
	memset(far + 1, 0x90, sizeof(far) - 1);
	assert_int_equal(arch_dbt_door_pad_before(far, 0x1000, 0x1001, 0x1000 + sizeof(far)),
	                 0x1000 + sizeof(far) + 2 - 128);
}

#define LEAVE_RESUME 0x7e57ab1e /* stands for the resuming leave's address */

/*
 * A scope's entry, unrecorded, for a thread between scopes: rsp and the
 * return address logged, the context of one frame set, on to the recorded
 * translation; any other thread gets the sync hypercall.
 */
static void test_scope_entry(void **state)
{
	struct dbt_code c = start();
	uint64_t rec, slot, entry, sync, ret;
	struct run r;

	(void)state;
	rec = stub(&c, 0x55);
	slot = c.pc;
	arch_dbt_emit_bytes(&c, &rec, 8);
	entry = c.pc;
	sync = arch_dbt_emit_scope_entry(&c, slot, 5, 0, LEAVE_RESUME);
	assert_false(c.full);
	assert_int_equal(*(uint8_t *)(uintptr_t)sync, 0xcc);
	ctx_set(DBT_CTX_CURSOR, (uint64_t)(uintptr_t)ring);
	ctx_set(DBT_CTX_FREE_SP, UINT64_MAX);
	ctx_set(DBT_CTX_UP, 7);
	run_code((void *)(uintptr_t)entry, 1, 2, 3, 0x8d5, &r);
	check_untouched(&r, 1, 2, 0x55, 0x8d5);
	assert_int_equal(ring[0], DBT_REC_SCOPE_SP);
	assert_int_equal(ring[1] | (uint64_t)ring[2] << 32, r.rsp_in - 8);
	assert_int_equal(ring[3], DBT_REC_SCOPE_RET);
	/* The return address: into run_code, right after its call. */
	ret = ring[4] | (uint64_t)ring[5] << 32;
	assert_true(ret > (uint64_t)(uintptr_t)run_code &&
	            ret < (uint64_t)(uintptr_t)run_code + 512);
	assert_int_equal(ctx_get(DBT_CTX_CURSOR), (uint64_t)(uintptr_t)(ring + 6));
	assert_int_equal(ctx_get(DBT_CTX_UP), 5);
	assert_int_equal(ctx_get(DBT_CTX_CALL_SP), r.rsp_in); /* the entry sp + a pointer */
	assert_int_equal(ctx_get(DBT_CTX_OUT), 1);
	assert_int_equal(ctx_get(DBT_CTX_ROOT_SP), r.rsp_in - 8);
	assert_int_equal(ctx_get(DBT_CTX_FREE_SP), 0);
}

/* the frame table, the address of the rows index, the rules' generation, the home bits (arch/dbt.h)
 */
static uint64_t frames[DBT_FRAMES_HEAD / 8];
#define ROWS_INDEX frames[DBT_ROWS_INDEX / 8]

/* rules_changed - as the tracer: each thread's own rules are emptied before its next walk */
static void rules_changed(void)
{
	frames[DBT_RULES_GEN_AT / 8]++;
}

/* table_clear - the table and its home bits emptied */
static void table_clear(void)
{
	memset(frames, 0, DBT_ROWS_INDEX);
	memset(frames + DBT_FRAME_HOMES_AT / 8, 0, DBT_FRAME_SLOTS / 8);
	rules_changed();
}

/* frames_clear - the table emptied, no rows published */
static void frames_clear(void)
{
	table_clear();
	ROWS_INDEX = 0;
}

/* entry_of - emit a scope entry going on to a stub marking rdx 0x55; its sync made a ret */
static uint64_t entry_of(struct dbt_code *c, uint32_t bt_max)
{
	uint64_t rec = stub(c, 0x55), slot = c->pc, entry, sync;

	arch_dbt_emit_bytes(c, &rec, 8);
	entry = c->pc;
	sync = arch_dbt_emit_scope_entry(c, slot, 5, bt_max, LEAVE_RESUME);
	assert_false(c->full);
	*(uint8_t *)(uintptr_t)sync = 0xc3; /* a ret instead of the stop */
	arch_dbt_align(c, 16);
	return entry;
}

/*
 * run_entry_again - run a scope entry for a thread between scopes, the
 * backtrace it logged before kept; did it enter (not stop)?
 */
static bool run_entry_again(uint64_t entry, uint64_t flags, struct run *r)
{
	memset(ring, 0, sizeof(ring));
	ctx_set(DBT_CTX_CURSOR, (uint64_t)(uintptr_t)ring);
	ctx_set(DBT_CTX_FREE_SP, UINT64_MAX);
	run_code((void *)(uintptr_t)entry, 1, 2, 3, flags, r);
	check_untouched(r, 1, 2, r->rdx == 0x55 ? 0x55 : 3, flags);
	if (r->rdx != 0x55)
		assert_int_equal(ctx_get(DBT_CTX_CURSOR), (uint64_t)(uintptr_t)ring);
	return r->rdx == 0x55;
}

/* run_entry - the same, as the thread's first: its backtrace logged whole */
static bool run_entry(uint64_t entry, uint64_t flags, struct run *r)
{
	ctx_set(DBT_CTX_WALK_LOGGED, 0);
	return run_entry_again(entry, flags, r);
}

/* set_frame - the frame rule of a return address (first: as the first frame unwound) */
static void set_frame(uint64_t ret, bool first, uint64_t size)
{
	uint64_t key = ret << 1 | first;
	uint32_t i = arch_dbt_frame_slot(key);

	frames[DBT_FRAME_HOMES_AT / 8 + i / 64] |= 1ull << i % 64;
	while (frames[i] && frames[i] >> 16 != key)
		i = (i + 1) & (DBT_FRAME_SLOTS - 1);
	frames[i] = key << 16 | size;
	rules_changed();
}

/* ring_word - the value of the k-th tagged record, checking its tag */
static uint64_t ring_word(size_t k, uint32_t tag)
{
	assert_int_equal(ring[3 * k], tag);
	return ring[3 * k + 1] | (uint64_t)ring[3 * k + 2] << 32;
}

/* ring_bt - the i-th return address of the backtrace record first in the ring, n of them */
static uint64_t ring_bt(size_t i, size_t n)
{
	assert_int_equal(ring[0], DBT_REC_SCOPE_BT);
	assert_int_equal(ring[1], 8 * n);
	return ring[2 + 2 * i] | (uint64_t)ring[3 + 2 * i] << 32;
}

/* ring_after_bt - ring_word() of the k-th record after that backtrace record */
static uint64_t ring_after_bt(size_t k, uint32_t tag)
{
	const uint32_t *w = ring + 2 + ring[1] / 4 + 3 * k;

	assert_int_equal(w[0], tag);
	return w[1] | (uint64_t)w[2] << 32;
}

/*
 * A thread in a native call entered by a door (ctx[NESTING] set) enters
 * too: its context words are pushed as a level and its leave is the
 * resuming one. Without ctx[NESTING] (a thread in an unrecorded call in
 * the cache), or with every level taken, it stops, its words as they were.
 */
static void test_scope_entry_nested(void **state)
{
	const uint64_t last = DBT_CTX_LEVELS + (DBT_NEST_MAX - 1) * DBT_LEVEL_WORDS * 8;
	struct dbt_code c = start();
	uint64_t entry = entry_of(&c, 0),
	         words[DBT_LEVEL_WORDS] = { 0x1234, 0, 3, 0x2000, 0x3000, 0x4444 };
	struct run r;
	size_t i;

	(void)state;
	for (int pass = 0; pass < 3; pass++) {
		for (i = 0; i < DBT_LEVEL_WORDS; i++)
			ctx_set((int)level_words[i], words[i]);
		ctx_set(DBT_CTX_NESTING, pass != 1);
		ctx_set(DBT_CTX_NEST, pass == 2 ? last : DBT_CTX_LEVELS - DBT_LEVEL_WORDS * 8);
		memset(ring, 0, sizeof(ring));
		ctx_set(DBT_CTX_CURSOR, (uint64_t)(uintptr_t)ring);
		run_code((void *)(uintptr_t)entry, 1, 2, 3, 0x8d5, &r);
		check_untouched(&r, 1, 2, pass ? 3 : 0x55, 0x8d5);
		assert_int_equal(ctx_get(DBT_CTX_NESTING), 0);
		if (pass) {
			for (i = 0; i < DBT_LEVEL_WORDS; i++)
				assert_int_equal(ctx_get((int)level_words[i]), words[i]);
			assert_int_equal(ctx_get(DBT_CTX_CURSOR), (uint64_t)(uintptr_t)ring);
			continue;
		}
		assert_int_equal(ctx_get(DBT_CTX_NEST), DBT_CTX_LEVELS);
		for (i = 0; i < DBT_LEVEL_WORDS; i++)
			assert_int_equal(ctx_get((int)(DBT_CTX_LEVELS + i * 8)), words[i]);
		assert_int_equal(ctx_get(DBT_CTX_LEAVE), LEAVE_RESUME);
		assert_int_equal(ctx_get(DBT_CTX_FREE_SP), 0);
		assert_int_equal(ctx_get(DBT_CTX_OUT), 1);
		assert_int_equal(ctx_get(DBT_CTX_UP), 5);
		assert_int_equal(ctx_get(DBT_CTX_ROOT_SP), r.rsp_in - 8);
		assert_int_equal(ring_word(0, DBT_REC_SCOPE_SP), r.rsp_in - 8);
	}
}

/* walk_table - the entries' walks use the frame table, the whole address space their stack */
static void walk_table(void)
{
	ctx_set(DBT_CTX_FRAMES, (uint64_t)(uintptr_t)frames);
	ctx_set(DBT_CTX_STACK_LO, 0);
	ctx_set(DBT_CTX_STACK_HI, UINT64_MAX);
}

/*
 * WALK_START - the entries' walks use the frame table; where an entry
 * (plain: one without a walk) called from run_code is: its rsp, the
 * return address. A macro: run_code's stack is the calling test's, the
 * same for every entry it runs.
 */
#define WALK_START(plain, rsp, ret)                                                                \
	do {                                                                                       \
		struct run r0;                                                                     \
                                                                                                   \
		walk_table();                                                                      \
		assert_true(run_entry((plain), 0x202, &r0));                                       \
		(rsp) = ring_word(0, DBT_REC_SCOPE_SP);                                            \
		(ret) = ring_word(1, DBT_REC_SCOPE_RET);                                           \
	} while (0)

/*
 * With backtraces: the entry walks the stack with the frame rules and
 * goes on without a stop, logging the return addresses found, only when
 * every one has a rule (or ends the unwinding); otherwise it stops, the
 * thread as it was. The walk here: run_code's return address (at rsp),
 * then the word a frame's size above it (stack_words).
 */
static void test_scope_entry_walk(void **state)
{
	struct dbt_code c = start();
	uint64_t plain = entry_of(&c, 0), entry = entry_of(&c, 4), walk2 = entry_of(&c, 2);
	uint64_t flags[] = { 0x202, 0x2d7, 0xa93 }, rsp, ret, above;
	struct run r;
	size_t i;

	(void)state;
	WALK_START(plain, rsp, ret);
	for (i = 0; i < 3; i++)
		assert_false(run_entry(entry, flags[i], &r));
	/* The return address ends the unwinding there, as the first frame. */
	set_frame(ret, true, DBT_FRAME_END);
	set_frame(ret, false, 1); /* a later frame's rule: not for the first */
	for (i = 0; i < 3; i++) {
		assert_true(run_entry(entry, flags[i], &r));
		assert_int_equal(ring_bt(0, 1), ret);
		assert_int_equal(ring_after_bt(0, DBT_REC_SCOPE_SP), rsp);
		assert_int_equal(ring_after_bt(1, DBT_REC_SCOPE_RET), ret);
	}
	/* One more frame: the word 2 words above the return address, itself the last one. */
	frames_clear();
	set_frame(ret, true, 2);
	assert_false(run_entry(entry, 0x2d7, &r));
	above = stack_words[1] = 0x7f0000001234; /* at rsp + 16 */
	set_frame(above, false, DBT_FRAME_END);
	assert_true(run_entry(entry, 0x2d7, &r));
	assert_int_equal(ring_bt(0, 2), ret);
	assert_int_equal(ring_bt(1, 2), above);
	assert_int_equal(ring_after_bt(0, DBT_REC_SCOPE_SP), rsp);
	/* Not past the end of the thread's stack, nor below its start. */
	ctx_set(DBT_CTX_STACK_HI, rsp + 16 + 7);
	assert_false(run_entry(entry, 0x2d7, &r));
	ctx_set(DBT_CTX_STACK_HI, rsp + 16 + 8);
	assert_true(run_entry(entry, 0x2d7, &r));
	ctx_set(DBT_CTX_STACK_LO, rsp + 16 + 1);
	assert_false(run_entry(entry, 0x2d7, &r));
	ctx_set(DBT_CTX_STACK_LO, 0);
	ctx_set(DBT_CTX_STACK_HI, UINT64_MAX);
	/* As far as the backtrace goes: two return addresses, the walk stops there. */
	frames_clear();
	set_frame(ret, true, 2);
	set_frame(above, false, 1);
	assert_true(run_entry(walk2, 0x2d7, &r));
	assert_int_equal(ring_bt(1, 2), above);
	assert_int_equal(ring_after_bt(0, DBT_REC_SCOPE_SP), rsp);
	assert_false(run_entry(entry, 0x2d7, &r));
	/* No one size holds: never walked past. */
	set_frame(above, false, DBT_FRAME_NONE);
	assert_false(run_entry(entry, 0x2d7, &r));
	assert_true(run_entry(walk2, 0x2d7, &r)); /* not that far */
	frames_clear();
	set_frame(ret, true, DBT_FRAME_NONE);
	assert_false(run_entry(entry, 0x2d7, &r));
	frames_clear();
	stack_words[1] = 0;
}

/*
 * An entry whose return addresses are those the thread logged last logs
 * the short record (the tag, two words of 0); one with another address,
 * another count, or after a walk that stopped, the whole list again.
 */
static void test_scope_entry_walk_again(void **state)
{
	struct dbt_code c = start();
	uint64_t plain = entry_of(&c, 0), entry = entry_of(&c, 4), walk1 = entry_of(&c, 1);
	uint64_t rsp, ret, above = 0x7f0000005678;
	struct run r;

	(void)state;
	WALK_START(plain, rsp, ret);
	stack_words[1] = above;
	set_frame(ret, true, 2);
	set_frame(above, false, DBT_FRAME_END);
	assert_true(run_entry(entry, 0x2d7, &r));
	assert_int_equal(ring_bt(1, 2), above);
	assert_int_equal(ctx_get(DBT_CTX_WALK_LOGGED), 16);
	/* the same two: short */
	assert_true(run_entry_again(entry, 0x2d7, &r));
	assert_int_equal(ring[0], DBT_REC_SCOPE_BT);
	assert_int_equal(ring[1], 0);
	assert_int_equal(ring[2], 0);
	assert_int_equal(ring_word(1, DBT_REC_SCOPE_SP), rsp);
	assert_int_equal(ring_word(2, DBT_REC_SCOPE_RET), ret);
	/* one of them changed: whole */
	stack_words[1] = above + 1;
	set_frame(above + 1, false, DBT_FRAME_END);
	assert_true(run_entry_again(entry, 0x2d7, &r));
	assert_int_equal(ring_bt(1, 2), above + 1);
	/* fewer (the same first one): whole */
	assert_true(run_entry_again(walk1, 0x2d7, &r));
	assert_int_equal(ring_bt(0, 1), ret);
	assert_true(run_entry_again(walk1, 0x2d7, &r));
	assert_int_equal(ring[1], 0);
	/* a walk that stopped wrote some of the words: the next lists them */
	assert_true(run_entry_again(entry, 0x2d7, &r));
	set_frame(above + 1, false, DBT_FRAME_NONE);
	assert_false(run_entry_again(entry, 0x2d7, &r));
	assert_int_equal(ctx_get(DBT_CTX_WALK_LOGGED), 0);
	set_frame(above + 1, false, DBT_FRAME_END);
	assert_true(run_entry_again(entry, 0x2d7, &r));
	assert_int_equal(ring_bt(1, 2), above + 1);
	frames_clear();
	stack_words[1] = 0;
}

/*
 * Frames found from the frame pointer: the next return address just
 * above where it points, the caller's frame pointer there; a frame found
 * from the stack pointer passes the frame pointer on as its rule says
 * (the same, saved some words below the next return address, or lost).
 * The application's rbp comes back whatever the walk did with it. Here
 * the walk reads run_code's return address at rsp, then stack_words.
 */
static void test_scope_entry_walk_fp(void **state)
{
	struct dbt_code c = start();
	uint64_t entry = entry_of(&c, 4), plain = entry_of(&c, 0), rsp, ret;
	const uint64_t above = 0x7f0000005678, far = 0x7f000000abcd, farther = 0x7f000000cdef;
	const uint32_t saved1 = 2 | 1u << DBT_FP_SHIFT, lost = 2 | DBT_FP_LOST << DBT_FP_SHIFT;
	struct run r;

	(void)state;
	WALK_START(plain, rsp, ret);
	/* rbp at stack_words[1] (rsp + 16): the next return address above it */
	run_bp = 8;
	stack_words[1] = rsp + 0x1000;
	stack_words[2] = above;
	set_frame(ret, true, DBT_FRAME_FP);
	set_frame(above, false, DBT_FRAME_END);
	assert_true(run_entry(entry, 0x2d7, &r));
	assert_int_equal(ring_bt(0, 2), ret);
	assert_int_equal(ring_bt(1, 2), above);
	assert_int_equal(r.rbp, rsp + 16);
	/* a frame pointer at or below the return address just read is no frame */
	run_bp = (uint64_t)-8;
	assert_false(run_entry(entry, 0x2d7, &r));
	assert_int_equal(r.rbp, rsp);
	/* from the stack pointer, rbp saved a word below the next return address, then from rbp */
	run_bp = 0;
	frames_clear();
	stack_words[0] = rsp + 24; /* the caller's rbp: stack_words[2]'s address */
	stack_words[1] = above;
	stack_words[3] = far;
	set_frame(ret, true, saved1);
	set_frame(above, false, DBT_FRAME_FP);
	set_frame(far, false, DBT_FRAME_END);
	assert_true(run_entry(entry, 0x2d7, &r));
	assert_int_equal(ring_bt(1, 3), above);
	assert_int_equal(ring_bt(2, 3), far);
	/* the same, the frame pointer lost: no frame above it found from it */
	frames_clear();
	set_frame(ret, true, lost);
	set_frame(above, false, DBT_FRAME_FP);
	set_frame(far, false, DBT_FRAME_END);
	assert_false(run_entry(entry, 0x2d7, &r));
	/* lost, then saved a frame later (at stack_words[2]): found from it again */
	frames_clear();
	stack_words[3] = far;
	stack_words[2] = rsp + 40; /* stack_words[4]'s address */
	stack_words[5] = farther;
	set_frame(ret, true, lost);
	set_frame(above, false, saved1);
	set_frame(far, false, DBT_FRAME_FP);
	set_frame(farther, false, DBT_FRAME_END);
	assert_true(run_entry(entry, 0x2d7, &r));
	assert_int_equal(ring_bt(2, 4), far);
	assert_int_equal(ring_bt(3, 4), farther);
	frames_clear();
	memset(stack_words, 0, sizeof(stack_words));
}

/* rules_gone - the table and the thread's own rules emptied, no new generation said */
static void rules_gone(void)
{
	uint64_t gen = frames[DBT_RULES_GEN_AT / 8];

	table_clear();
	frames[DBT_RULES_GEN_AT / 8] = gen;
	memset(ctx + DBT_CTX_RULES, 0, DBT_RULES_SLOTS * 8);
}

/*
 * MEMO_MADE - an entry walks to the list bt[0..n) and keeps its walk
 * (pairs words), then the rules are gone. Macros, as WALK_START: the
 * entries run from the calling test's stack.
 */
#define MEMO_MADE(entry, n, bt, pairs)                                                             \
	do {                                                                                       \
		struct run r1;                                                                     \
                                                                                                   \
		assert_true(run_entry((entry), 0x2d7, &r1));                                       \
		for (size_t k1 = 0; k1 < (n); k1++)                                                \
			assert_int_equal(ring_bt(k1, (n)), (bt)[k1]);                              \
		assert_int_equal(ctx_get(DBT_CTX_MEMO_N), 16 * (pairs));                           \
		rules_gone();                                                                      \
	} while (0)

/* MEMO_HIT - the entry enters without a rule: its walk checked, not walked; its list logged */
#define MEMO_HIT(entry, n, bt)                                                                     \
	do {                                                                                       \
		struct run r1;                                                                     \
                                                                                                   \
		assert_true(run_entry_again((entry), 0x2d7, &r1));                                 \
		assert_int_equal(ring[0], DBT_REC_SCOPE_BT);                                       \
		assert_int_equal(ring[1], 0); /* the short record */                               \
		assert_true(run_entry((entry), 0x2d7, &r1));                                       \
		for (size_t k1 = 0; k1 < (n); k1++)                                                \
			assert_int_equal(ring_bt(k1, (n)), (bt)[k1]);                              \
	} while (0)

/*
 * The thread's last complete walk is checked instead of walked again
 * (arch/dbt.h, DBT_CTX_MEMO_N): with the rules gone behind its back, an
 * entry whose stack still holds every word that walk's result depends on
 * enters with its list; one with any of those words changed, or the
 * stack's bounds, the depth or the rules' generation, walks (and stops,
 * finding no rule). A saved rbp is such a word once a frame is found
 * from it, and the application's rbp too; not otherwise. The walk:
 * run_code's return address, rbp saved below the next one
 * (stack_words[0], pointing at stack_words[2]), that one (stack_words[1]),
 * found from rbp the last (stack_words[3]).
 */
static void test_scope_entry_walk_memo(void **state)
{
	struct dbt_code c = start();
	uint64_t plain = entry_of(&c, 0), entry = entry_of(&c, 4), walk3 = entry_of(&c, 3);
	const uint32_t saved1 = 2 | 1u << DBT_FP_SHIFT;
	uint64_t rsp, ret, bt[3] = { 0, 0x7f0000009abc, 0x7f000000def0 };
	uint64_t *input[] = { &stack_words[0], &stack_words[1], &stack_words[3] };
	struct run r;
	size_t i;

	(void)state;
	WALK_START(plain, rsp, ret);
	bt[0] = ret;
	for (i = 0; i < 8; i++) {
		stack_words[0] = rsp + 24;
		stack_words[1] = bt[1];
		stack_words[2] = 0x1234;
		stack_words[3] = bt[2];
		set_frame(ret, true, saved1);
		set_frame(bt[1], false, DBT_FRAME_FP);
		set_frame(bt[2], false, DBT_FRAME_END);
		MEMO_MADE(entry, 3, bt, 4);
		/* not inputs: the word rbp was read from last, the application's rbp */
		stack_words[2]++;
		run_bp = 8;
		MEMO_HIT(entry, 3, bt);
		run_bp = 0;
		if (i < 3)
			(*input[i])++;
		else if (i == 3)
			ctx_set(DBT_CTX_STACK_HI, UINT64_MAX - 1);
		else if (i == 4)
			rules_changed();
		assert_false(run_entry(i == 5 ? walk3 : entry, 0x2d7, &r));
		assert_int_equal(ctx_get(DBT_CTX_MEMO_N), 0);
		walk_table();
		if (i == 5)
			break;
	}
	/* the first frame found from the application's rbp: rbp an input */
	frames_clear();
	run_bp = 8; /* rbp at stack_words[1]: the next return address at stack_words[2] */
	stack_words[1] = rsp + 0x1000;
	stack_words[2] = bt[1];
	set_frame(ret, true, DBT_FRAME_FP);
	set_frame(bt[1], false, DBT_FRAME_END);
	MEMO_MADE(entry, 2, bt, 2);
	MEMO_HIT(entry, 2, bt);
	run_bp = 16;
	assert_false(run_entry(entry, 0x2d7, &r));
	run_bp = 0;
	frames_clear();
	memset(stack_words, 0, sizeof(stack_words));
}

/*
 * rows_bin - a binary's entry in the rows index, its page index made
 * (into pages) from its rows as the tracer makes it (frames.c)
 */
static struct arch_dbt_rows rows_bin(uint64_t lo, uint64_t hi, const uint64_t *rows, uint64_t n,
                                     uint32_t *pages)
{
	uint64_t np = ((hi - lo + DBT_ROWS_PAGE - 1) >> DBT_ROWS_PAGE_BITS) + 1, i = 0, p;

	for (p = 0; p < np; p++) {
		while (i + 1 < n && rows[i + 1] >> 16 <= p << DBT_ROWS_PAGE_BITS)
			i++;
		pages[p] = (uint32_t)i;
	}
	rules_changed();
	return (struct arch_dbt_rows){ lo, hi, (uint64_t)(uintptr_t)rows, n,
		                       (uint64_t)(uintptr_t)pages };
}

/*
 * Return addresses the table has no word for: their rules from the frame
 * rows, the rule of the last row at or below the first return address,
 * at or below the address before a later one; none where no binary
 * covers it, no index is published, or a row has none; the table's word
 * first. The walk here: run_code's return address, then stack_words[1].
 */
static void test_scope_entry_walk_rows(void **state)
{
	static uint64_t index[1 + 2 * 5], rows_a[3], rows_b[3];
	static uint32_t pages_a[3], pages_b[4];
	struct dbt_code c = start();
	uint64_t entry = entry_of(&c, 4), plain = entry_of(&c, 0), rsp, ret;
	const uint64_t above = 0x7f0000001234, lo_b = 0x7f0000000000;
	struct arch_dbt_rows *bins = (struct arch_dbt_rows *)(void *)(index + 1);
	struct run r;

	(void)state;
	WALK_START(plain, rsp, ret);
	stack_words[1] = above;
	/* run_code's binary: no rule before ret, 2 words from ret on */
	rows_a[0] = 0 << 16 | DBT_FRAME_NONE;
	rows_a[1] = 0xf0ull << 16 | DBT_FRAME_NONE;
	rows_a[2] = 0x100ull << 16 | 2;
	bins[0] = rows_bin(ret - 0x100, ret + 0x100, rows_a, 3, pages_a);
	/* the other: the unwinding ends from above on (a later frame looks at above - 1) */
	rows_b[0] = 0 << 16 | DBT_FRAME_NONE;
	rows_b[1] = (above - lo_b) << 16 | DBT_FRAME_END;
	rows_b[2] = (above - lo_b + 1) << 16 | DBT_FRAME_NONE;
	bins[1] = rows_bin(lo_b, lo_b + 0x2000, rows_b, 3, pages_b);
	index[0] = 2;
	assert_false(run_entry(entry, 0x2d7, &r)); /* nothing published */
	ROWS_INDEX = (uint64_t)(uintptr_t)index;
	assert_false(run_entry(entry, 0x2d7, &r)); /* above - 1 has no rule */
	rows_b[1] = (above - 1 - lo_b) << 16 | DBT_FRAME_END;
	bins[1] = rows_bin(lo_b, lo_b + 0x2000, rows_b, 3, pages_b);
	assert_true(run_entry(entry, 0x2d7, &r));
	assert_int_equal(ring_bt(0, 2), ret);
	assert_int_equal(ring_bt(1, 2), above);
	assert_int_equal(ring_after_bt(0, DBT_REC_SCOPE_SP), rsp);
	/* the table's word goes first */
	set_frame(above, false, DBT_FRAME_NONE);
	assert_false(run_entry(entry, 0x2d7, &r));
	table_clear();
	/* a return address no binary covers */
	index[0] = 1;
	rules_changed();
	assert_false(run_entry(entry, 0x2d7, &r));
	/* the first return address's rule at it, not before: a row starting past it is not its */
	index[0] = 2;
	rows_a[2] = 0x101ull << 16 | 2;
	bins[0] = rows_bin(ret - 0x100, ret + 0x100, rows_a, 3, pages_a);
	assert_false(run_entry(entry, 0x2d7, &r));
	ROWS_INDEX = 0;
	memset(stack_words, 0, sizeof(stack_words));
}

/*
 * A binary's rows over several pages: the search reads those between the
 * page index's two entries around the address, and finds the last row at
 * or below it there, whether rows start at a page's first byte, before
 * it or in the page before. The binary is placed so that run_code's
 * return address (the first frame, looked up at itself) is at each
 * offset in turn; only the row expected ends the unwinding.
 */
static void test_scope_entry_walk_pages(void **state)
{
	static uint64_t index[1 + 5], rows[6];
	static uint32_t pages[7];
	static const uint64_t at[] = { 0,      0x7ff,  0x800,  0xfff,  0x1000,
		                       0x1001, 0x2fff, 0x3000, 0x3010, 0x4fff };
	static const size_t row_of[] = { 0, 0, 1, 1, 2, 2, 3, 3, 4, 5 };
	static const uint64_t offs[6] = { 0, 0x800, 0x1000, 0x2ff0, 0x3010, 0x4800 };
	struct dbt_code c = start();
	uint64_t entry = entry_of(&c, 4), plain = entry_of(&c, 0), rsp, ret;
	struct arch_dbt_rows *bin = (struct arch_dbt_rows *)(void *)(index + 1);
	struct run r;
	size_t k, i;

	(void)state;
	WALK_START(plain, rsp, ret);
	index[0] = 1;
	ROWS_INDEX = (uint64_t)(uintptr_t)index;
	for (k = 0; k < sizeof(at) / sizeof(*at); k++) {
		for (i = 0; i < 6; i++)
			rows[i] = offs[i] << 16 | (i == row_of[k] ? DBT_FRAME_END : DBT_FRAME_NONE);
		*bin = rows_bin(ret - at[k], ret - at[k] + 0x5000, rows, 6, pages);
		assert_true(run_entry(entry, 0x2d7, &r));
		assert_int_equal(ring_bt(0, 1), ret);
		assert_int_equal(ring_after_bt(0, DBT_REC_SCOPE_SP), rsp);
		rows[row_of[k]] = offs[row_of[k]] << 16 | DBT_FRAME_NONE;
		*bin = rows_bin(ret - at[k], ret - at[k] + 0x5000, rows, 6, pages);
		assert_false(run_entry(entry, 0x2d7, &r));
	}
	ROWS_INDEX = 0;
	rules_changed();
}

/* own_rule - the thread's own word for the return address (first: as the first frame) */
static uint64_t own_rule(uint64_t ret, bool first)
{
	uint64_t key = ret << 1 | first;

	return ctx_get((int)(DBT_CTX_RULES + 8 * arch_dbt_rules_slot(key)));
}

/*
 * The thread's own rules: a walk keeps each rule it finds in the table or
 * the rows, and finds it there next time, the table emptied or not, until
 * the rules' generation changes; a slot's home bit off, the table is not
 * looked in; no rule holding (DBT_FRAME_NONE) is never kept. The walk:
 * run_code's return address, then stack_words[1].
 */
static void test_scope_entry_walk_own(void **state)
{
	static uint64_t index[1 + 5], rows[1];
	static uint32_t pages[2];
	struct dbt_code c = start();
	uint64_t entry = entry_of(&c, 4), plain = entry_of(&c, 0), rsp, ret, home, key;
	const uint64_t above = 0x7f0000004321;
	struct arch_dbt_rows *bins = (struct arch_dbt_rows *)(void *)(index + 1);
	struct run r;
	uint32_t i;

	(void)state;
	WALK_START(plain, rsp, ret);
	stack_words[1] = above;
	set_frame(ret, true, 2);
	/* above's rule from the rows: the unwinding ends there */
	rows[0] = 0 << 16 | DBT_FRAME_END;
	bins[0] = rows_bin(above - 0x10, above + 0x10, rows, 1, pages);
	index[0] = 1;
	ROWS_INDEX = (uint64_t)(uintptr_t)index;
	assert_true(run_entry(entry, 0x2d7, &r));
	assert_int_equal(ring_after_bt(0, DBT_REC_SCOPE_SP), rsp);
	assert_int_equal(own_rule(ret, true), (ret << 1 | 1) << 16 | 2);
	assert_int_equal(own_rule(above, false), (above << 1) << 16 | DBT_FRAME_END);
	assert_int_equal(ctx_get(DBT_CTX_RULES_GEN), frames[DBT_RULES_GEN_AT / 8]);
	/* kept: the table and the rows gone, the walk goes on with the thread's own */
	memset(frames, 0, DBT_ROWS_INDEX);
	ROWS_INDEX = 0;
	assert_true(run_entry(entry, 0x2d7, &r));
	assert_int_equal(ring_bt(1, 2), above);
	/* the generation changed: emptied, and nothing to find them again */
	rules_changed();
	assert_false(run_entry(entry, 0x2d7, &r));
	for (i = 0; i < DBT_RULES_SLOTS; i++)
		assert_int_equal(ctx_get((int)(DBT_CTX_RULES + 8 * i)), 0);
	assert_int_equal(ctx_get(DBT_CTX_RULES_GEN), frames[DBT_RULES_GEN_AT / 8]);
	/* a table word whose home bit is off is not looked for */
	ROWS_INDEX = (uint64_t)(uintptr_t)index;
	set_frame(ret, true, 2);
	key = ret << 1 | 1;
	home = arch_dbt_frame_slot(key);
	frames[DBT_FRAME_HOMES_AT / 8 + home / 64] &= ~(1ull << home % 64);
	rules_changed();
	assert_false(run_entry(entry, 0x2d7, &r));
	assert_int_equal(own_rule(ret, true), 0);
	frames[DBT_FRAME_HOMES_AT / 8 + home / 64] |= 1ull << home % 64;
	assert_true(run_entry(entry, 0x2d7, &r));
	/* no rule holding: not kept, as one may be learned */
	frames_clear();
	set_frame(ret, true, DBT_FRAME_NONE);
	assert_false(run_entry(entry, 0x2d7, &r));
	assert_int_equal(own_rule(ret, true), 0);
	frames_clear();
	memset(stack_words, 0, sizeof(stack_words));
}

/*
 * A batch of system calls: each of the table's, its result written back,
 * then the hypercall (here a no-op, the registers it clobbers saved
 * around it: the tracer restores them all).
 */
static void test_batch(void **state)
{
	static struct arch_dbt_syscall calls[3];
	struct dbt_code c = start();
	uint64_t fn = c.pc, at, end;
	uint8_t movabs[10] = { 0x48, 0xbf }; /* movabs rdi, calls */
	uint64_t table = (uint64_t)(uintptr_t)calls;
	struct run r;

	(void)state;
	memcpy(movabs + 2, &table, 8);
	/* push rbx; push r12; push rdi; push r8 (run_code keeps rbp there) */
	arch_dbt_emit_bytes(&c, "\x53\x41\x54\x57\x41\x50", 6);
	arch_dbt_emit_bytes(&c, movabs, sizeof(movabs));
	arch_dbt_emit_bytes(&c, "\xbe\x03\x00\x00\x00", 5); /* mov esi, 3 */
	at = arch_dbt_emit_batch(&c, &end);
	assert_true(at < end);
	assert_int_equal(*(uint8_t *)(uintptr_t)(end - 1), 0xcc);
	*(uint8_t *)(uintptr_t)(end - 1) = 0x90;
	arch_dbt_emit_bytes(&c, "\x41\x58\x5f\x41\x5c\x5b\xc3", 7); /* pop them; ret */
	calls[0] = (struct arch_dbt_syscall){ SYS_getpid, { 0 }, 1 };
	calls[1] = (struct arch_dbt_syscall){ SYS_getppid, { 0 }, 1 };
	calls[2] = (struct arch_dbt_syscall){ SYS_close, { (uint64_t)-1 }, 1 };
	run_code((void *)(uintptr_t)fn, 0, 0, 0, 0x202, &r);
	assert_int_equal(calls[0].ret, (uint64_t)getpid());
	assert_int_equal(calls[1].ret, (uint64_t)getppid());
	assert_int_equal(calls[2].ret, (uint64_t)-EBADF);
}

/* The call count: down by one per call, to the pad at 0 with rcx restored. */
static void test_call_check(void **state)
{
	struct dbt_code c = start();
	uint64_t pad;
	struct run r;

	(void)state;
	/* The pad is a ret that marks rdx; the check otherwise falls through to a ret. */
	pad = c.pc;
	arch_dbt_emit_unspill(&c);
	arch_dbt_emit_bytes(&c, "\x48\xc7\xc2\x77\x00\x00\x00\xc3", 8); /* mov rdx, 0x77; ret */
	arch_dbt_align(&c, 16);
	{
		uint64_t fn = c.pc;

		arch_dbt_emit_call_check(&c, pad);
		arch_dbt_emit_bytes(&c, "\xc3", 1);
		ctx_set(DBT_CTX_UP, 2);
		run_code((void *)(uintptr_t)fn, 1, 2, 3, 0x246, &r);
		check_untouched(&r, 1, 2, 3, 0x246);
		assert_int_equal(ctx_get(DBT_CTX_UP), 1);
		ctx_set(DBT_CTX_UP, 0);
		run_code((void *)(uintptr_t)fn, 1, 2, 3, 0x246, &r);
		assert_int_equal(r.rdx, 0x77);
		assert_int_equal(r.rcx, 2);
		assert_int_equal(ctx_get(DBT_CTX_UP), 0);
	}
}

/*
 * jcc_exits - a conditional branch (its bytes b) and the two exit jumps
 * after it, as cache.c lays them out: not taken through the first slot
 * (to a stub that marks rdx 1), taken through the second (rdx 2)
 */
static uint64_t jcc_exits(struct dbt_code *c, const uint8_t *b, size_t n)
{
	uint64_t slot = c->pc, fall, taken, fn;
	struct dbt_insn in;

	arch_dbt_emit_bytes(c, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	fall = stub(c, 1);
	taken = stub(c, 2);
	memcpy(c->p - (c->pc - slot), &fall, 8);
	memcpy(c->p - (c->pc - slot) + 8, &taken, 8);
	fn = c->pc;
	assert_int_equal(arch_dbt_analyze(0x401000, b, n, &in), 0);
	assert_int_equal(in.flow, DBT_FLOW_JCC);
	arch_dbt_emit_jcc(c, &in);
	arch_dbt_emit_jmp_slot(c, slot);
	arch_dbt_emit_jmp_slot(c, slot + 8);
	assert_false(c->full);
	return fn;
}

/* A conditional branch goes to the second exit when taken, the first otherwise. */
static void test_jcc(void **state)
{
	struct dbt_code c = start();
	uint64_t jz = jcc_exits(&c, (const uint8_t *)"\x74\x10", 2);    /* jz: ZF (0x40) */
	uint64_t jrcxz = jcc_exits(&c, (const uint8_t *)"\xe3\x10", 2); /* rcx 0, short only */
	struct run r;

	(void)state;
	run_code((void *)(uintptr_t)jz, 0, 0, 0, 0x246, &r);
	assert_int_equal(r.rdx, 2);
	run_code((void *)(uintptr_t)jz, 0, 0, 0, 0x202, &r);
	assert_int_equal(r.rdx, 1);
	run_code((void *)(uintptr_t)jrcxz, 0, 0, 0, 0x202, &r);
	assert_int_equal(r.rdx, 2);
	run_code((void *)(uintptr_t)jrcxz, 0, 5, 0, 0x202, &r);
	assert_int_equal(r.rdx, 1);
}

/* Indirect targets of every operand form land in gs:[TARGET]; the stack is as before. */
static void test_targets(void **state)
{
	static const struct {
		const char *name;
		uint8_t bytes[8];
		uint8_t len;
	} forms[] = {
		{ "call rax", { 0xff, 0xd0 }, 2 },
		{ "call [rcx]", { 0xff, 0x11 }, 2 },
		{ "call [rcx+rdx*8]", { 0xff, 0x14, 0xd1 }, 3 },
		{ "jmp rdx", { 0xff, 0xe2 }, 2 },
		{ "jmp [rcx+8]", { 0xff, 0x61, 0x08 }, 3 },
		{ "jmp [rax]", { 0xff, 0x20 }, 2 },
	};
	static uint64_t cell[4] = { 0x1000, 0x2000, 0x3000, 0x4000 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct dbt_code c = start();
		uint64_t want;
		struct dbt_insn in;
		struct run r;

		arch_dbt_analyze(c.pc, forms[i].bytes, forms[i].len, &in);
		if (arch_dbt_emit_target(&c, &in))
			fail_msg("%s: not rewritten", forms[i].name);
		arch_dbt_emit_bytes(&c, "\xc3", 1);
		ctx_set(DBT_CTX_TARGET, 0);
		/* rax = &cell[0] (or a value), rcx = &cell[0], rdx = 1 */
		run_code(code, (uint64_t)(uintptr_t)cell, (uint64_t)(uintptr_t)cell, 1, 0x202, &r);
		check_untouched(&r, (uint64_t)(uintptr_t)cell, (uint64_t)(uintptr_t)cell, 1, 0x202);
		switch (i) {
		case 0:
			want = (uint64_t)(uintptr_t)cell;
			break;
		case 1:
			want = 0x1000;
			break;
		case 2:
		case 4:
			want = 0x2000;
			break;
		case 3:
			want = 1;
			break;
		default:
			want = 0x1000;
			break;
		}
		if (ctx_get(DBT_CTX_TARGET) != want)
			fail_msg("%s: target %#llx, want %#llx", forms[i].name,
			         (unsigned long long)ctx_get(DBT_CTX_TARGET),
			         (unsigned long long)want);
	}
}

/* A RIP-relative operand keeps pointing at the same data from its new place. */
static void test_copy_riprel(void **state)
{
	uint8_t orig[7] = { 0x8b, 0x05 };                  /* mov eax, [rip+disp] */
	uint64_t at = (uint64_t)(uintptr_t)&value - 0x100; /* where the original would sit */
	struct dbt_code c = start();
	struct dbt_insn in;
	int32_t disp = (int32_t)((uint64_t)(uintptr_t)&value - (at + 6));
	struct run r;

	(void)state;
	memcpy(orig + 2, &disp, 4);
	arch_dbt_analyze(at, orig, 6, &in);
	assert_int_equal(in.disp_off, 2);
	assert_int_equal(arch_dbt_emit_copy(&c, &in), 0);
	arch_dbt_emit_bytes(&c, "\xc3", 1);
	run_code(code, 0, 0, 0, 0x202, &r);
	assert_int_equal(r.rax, value);
}

/* The syscall check: a listed number goes to the pad, others make the call. */
static void test_syscall_check(void **state)
{
	static const uint8_t sc[] = { 0x0f, 0x05 };
	static const int nrs[] = { SYS_rt_sigreturn, SYS_munmap };
	struct dbt_code c = start();
	struct dbt_insn in;
	uint64_t pad, fn;
	struct run r;

	(void)state;
	pad = c.pc;
	arch_dbt_emit_unspill(&c);
	arch_dbt_emit_bytes(&c, "\x48\xc7\xc2\x55\x00\x00\x00\xc3", 8); /* mov rdx, 0x55; ret */
	arch_dbt_align(&c, 16);
	fn = c.pc;
	arch_dbt_analyze(fn, sc, 2, &in);
	arch_dbt_emit_syscall(&c, &in, nrs, 2, pad);
	arch_dbt_emit_bytes(&c, "\xc3", 1);
	run_code((void *)(uintptr_t)fn, SYS_getpid, 9, 3, 0x202, &r);
	assert_int_equal(r.rax, getpid());
	assert_int_equal(r.rdx, 3);
	run_code((void *)(uintptr_t)fn, SYS_munmap, 9, 3, 0x202, &r);
	assert_int_equal(r.rdx, 0x55);
	assert_int_equal(r.rcx, 9);
	assert_int_equal(r.rax, SYS_munmap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_analyze),
		cmocka_unit_test(test_branch_targets),
		cmocka_unit_test(test_branch_xbegin_xend),
		cmocka_unit_test(test_branch_agrees),
		cmocka_unit_test(test_jumps_into_finds_branches),
		cmocka_unit_test(test_log_block),
		cmocka_unit_test(test_log_sp),
		cmocka_unit_test(test_dispatch),
		cmocka_unit_test(test_call_check),
		cmocka_unit_test(test_jcc),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_copy_riprel),
		cmocka_unit_test(test_syscall_check),
		cmocka_unit_test(test_free_dispatch),
		cmocka_unit_test(test_free_entry),
		cmocka_unit_test(test_leave),
		cmocka_unit_test(test_leave_native),
		cmocka_unit_test(test_leave_resume),
		cmocka_unit_test(test_native),
		cmocka_unit_test(test_scope_entry_nested),
		cmocka_unit_test(test_door),
		cmocka_unit_test(test_door_pad),
		cmocka_unit_test(test_door_pad_before),
		cmocka_unit_test(test_scope_entry),
		cmocka_unit_test(test_scope_entry_walk),
		cmocka_unit_test(test_scope_entry_walk_again),
		cmocka_unit_test(test_scope_entry_walk_fp),
		cmocka_unit_test(test_scope_entry_walk_memo),
		cmocka_unit_test(test_scope_entry_walk_rows),
		cmocka_unit_test(test_scope_entry_walk_own),
		cmocka_unit_test(test_scope_entry_walk_pages),
		cmocka_unit_test(test_batch),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
