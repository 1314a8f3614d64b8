/*
 * The code the dbt translator writes into the code cache. Fixed sequences
 * are assembled here by hand (their encodings are in the comments); the
 * operands of indirect branches are re-encoded with the Zydis encoder.
 *
 * Invariants every sequence keeps: no write to the application's stack
 * beyond what the emulated instruction itself does, no change of the
 * application's flags (the lookup saves and restores them with lahf/seto
 * and sahf), and every register spilled to the context page is restored
 * before control can reach an application instruction or a hypercall.
 */
#include <stddef.h>
#include <string.h>

#include <Zydis/Zydis.h>

#include "arch/x86_64/dbt-x86.h"
#include "arch/x86_64/insn-int.h"

#define GS           0x65
#define JMP_SLOT_LEN 6 /* jmp qword [rip+slot] */

static void put(struct dbt_code *c, const void *b, size_t n)
{
	if (c->full || (size_t)(c->end - c->p) < n) {
		c->full = true;
		return;
	}
	memcpy(c->p, b, n);
	c->p += n;
	c->pc += n;
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

void arch_dbt_emit_bytes(struct dbt_code *c, const void *bytes, size_t n)
{
	put(c, bytes, n);
}

/* gs_mov - mov gs:[off], reg (store) or mov reg, gs:[off] (load); reg 0..15 */
static void gs_mov(struct dbt_code *c, bool store, int reg, uint32_t off)
{
	uint8_t b[9] = { GS, (uint8_t)(0x48 | (reg >= 8 ? 4 : 0)), store ? 0x89 : 0x8b,
		         (uint8_t)(0x04 | (reg & 7) << 3), 0x25 };

	put32(b + 5, off);
	put(c, b, sizeof(b));
}

/* gs_jmp - jmp qword gs:[off] */
static void gs_jmp(struct dbt_code *c, uint32_t off)
{
	uint8_t b[8] = { GS, 0xff, 0x24, 0x25 };

	put32(b + 4, off);
	put(c, b, sizeof(b));
}

/*
 * red_rcx - rcx to (store) or from the word below sp: free at a function's
 * entry and right after a call returned (a signal frame skips it)
 */
static void red_rcx(struct dbt_code *c, bool store)
{
	put(c, store ? "\x48\x89\x4c\x24\xf8" : "\x48\x8b\x4c\x24\xf8", 5);
}

enum { RAX = 0, RCX = 1, RSP = 4, RBP = 5 };

uint64_t arch_dbt_emit_hyper(struct dbt_code *c)
{
	uint64_t at = c->pc;

	put(c, "\xcc", 1);
	return at;
}

void arch_dbt_emit_log_block(struct dbt_code *c, uint32_t id)
{
	uint8_t rec[6] = { 0xc7, 0x00 }; /* mov dword [rax], id */

	put32(rec + 2, id);
	gs_mov(c, true, RAX, DBT_CTX_S_RAX);
	gs_mov(c, false, RAX, DBT_CTX_CURSOR);
	put(c, rec, sizeof(rec));
	put(c, "\x48\x8d\x40\x04", 4); /* lea rax, [rax+4] */
	gs_mov(c, true, RAX, DBT_CTX_CURSOR);
	gs_mov(c, false, RAX, DBT_CTX_S_RAX);
}

/* log_value - append the record tag, reg (rcx or rsp) to the ring; rax holds the cursor */
static void log_value(struct dbt_code *c, uint32_t tag, int reg)
{
	uint8_t st[4] = { 0x48, 0x89, (uint8_t)(0x40 | reg << 3), 0x04 }; /* mov [rax+4], reg */
	uint8_t tg[6] = { 0xc7, 0x00 };                                   /* mov dword [rax], tag */

	/*
	 * The highest store comes first: if the record crosses into the
	 * guard page, nothing of it is written before the fault (which
	 * points rax at the next ring and runs the store again).
	 */
	put32(tg + 2, tag);
	gs_mov(c, true, RAX, DBT_CTX_S_RAX);
	gs_mov(c, false, RAX, DBT_CTX_CURSOR);
	put(c, st, sizeof(st));
	put(c, tg, sizeof(tg));
	put(c, "\x48\x8d\x40\x0c", 4); /* lea rax, [rax+12] */
	gs_mov(c, true, RAX, DBT_CTX_CURSOR);
	gs_mov(c, false, RAX, DBT_CTX_S_RAX);
}

void arch_dbt_emit_log_sp(struct dbt_code *c)
{
	log_value(c, DBT_REC_SP, RSP);
}

int arch_dbt_emit_copy(struct dbt_code *c, const struct dbt_insn *in)
{
	uint8_t b[ARCH_MAX_INSN_LEN];
	int32_t disp;
	int64_t nd;

	memcpy(b, in->a.bytes, in->a.len);
	if (in->disp_off) {
		memcpy(&disp, b + in->disp_off, 4);
		nd = (int64_t)disp + (int64_t)(in->a.addr - c->pc);
		if (nd != (int32_t)nd)
			return -1;
		put32(b + in->disp_off, (uint32_t)(int32_t)nd);
	}
	put(c, b, in->a.len);
	return 0;
}

static void rel32(struct dbt_code *c, uint8_t *b, size_t n, uint64_t to)
{
	put32(b + n - 4, (uint32_t)(to - (c->pc + n)));
	put(c, b, n);
}

void arch_dbt_emit_jmp_slot(struct dbt_code *c, uint64_t slot)
{
	uint8_t b[JMP_SLOT_LEN] = { 0xff, 0x25 }; /* jmp qword [rip+slot] */

	rel32(c, b, sizeof(b), slot);
}

void arch_dbt_emit_jmp(struct dbt_code *c, uint64_t to)
{
	uint8_t b[5] = { 0xe9 };

	rel32(c, b, sizeof(b), to);
}

/* jrcxz_past - jrcxz to the near jump that follows, past it otherwise (jrcxz reaches 127 bytes) */
static void jrcxz_past(struct dbt_code *c)
{
	put(c, "\xe3\x02\xeb\x05", 4); /* jrcxz L; jmp over; L: (the jump); over: */
}

/* jrcxz_to - go to @to if rcx is 0, the flags left alone: short where it reaches */
static void jrcxz_to(struct dbt_code *c, uint64_t to)
{
	int64_t d = (int64_t)to - (int64_t)(c->pc + 2);

	if (d == (int8_t)d) {
		put(c, (uint8_t[2]){ 0xe3, (uint8_t)d }, 2);
		return;
	}
	jrcxz_past(c);
	arch_dbt_emit_jmp(c, to);
}

/* opcode_at - the offset of the opcode byte after legacy prefixes and REX */
static size_t opcode_at(const struct dbt_insn *in)
{
	size_t i = 0;

	while (i < in->a.len) {
		uint8_t b = in->a.bytes[i];

		if (b == 0xf0 || b == 0xf2 || b == 0xf3 || b == 0x2e || b == 0x36 || b == 0x3e ||
		    b == 0x26 || b == 0x64 || b == 0x65 || b == 0x66 || b == 0x67 ||
		    (b >= 0x40 && b <= 0x4f))
			i++;
		else
			break;
	}
	return i;
}

/* jcc_cc - a conditional jump's condition (the low nibble of its opcode) */
static uint8_t jcc_cc(const struct dbt_insn *in)
{
	size_t op = opcode_at(in);

	return (in->a.bytes[op] == 0x0f ? in->a.bytes[op + 1] : in->a.bytes[op]) & 0x0f;
}

void arch_dbt_emit_jcc(struct dbt_code *c, const struct dbt_insn *in)
{
	uint8_t b[ARCH_MAX_INSN_LEN];
	/* past the jcc (its short form and pad, or jcc rel32) and the exit jump after it */
	uint64_t taken = c->pc + (in->short_jcc ? in->a.len + 7u : 6u) + JMP_SLOT_LEN;

	if (in->short_jcc) {
		/* jrcxz/loop L; jmp over; L: jmp taken; over: */
		memcpy(b, in->a.bytes, in->a.len);
		b[in->a.len - 1] = 2;
		put(c, b, in->a.len);
		put(c, "\xeb\x05", 2);
		arch_dbt_emit_jmp(c, taken);
		return;
	}
	b[0] = 0x0f;
	b[1] = (uint8_t)(0x80 | jcc_cc(in));
	rel32(c, b, 6, taken);
}

void arch_dbt_emit_call_check(struct dbt_code *c, uint64_t trunc)
{
	gs_mov(c, true, RCX, DBT_CTX_S_RCX);
	gs_mov(c, false, RCX, DBT_CTX_UP);
	jrcxz_to(c, trunc);
	put(c, "\x48\x8d\x49\xff", 4); /* lea rcx, [rcx-1] */
	gs_mov(c, true, RCX, DBT_CTX_UP);
	gs_mov(c, true, RSP, DBT_CTX_CALL_SP);
	gs_mov(c, false, RCX, DBT_CTX_OUT);
	put(c, "\x48\x8d\x49\x01", 4); /* lea rcx, [rcx+1] */
	gs_mov(c, true, RCX, DBT_CTX_OUT);
	gs_mov(c, false, RCX, DBT_CTX_S_RCX);
}

void arch_dbt_emit_unspill(struct dbt_code *c)
{
	gs_mov(c, false, RCX, DBT_CTX_S_RCX);
}

uint64_t arch_dbt_emit_trunc(struct dbt_code *c)
{
	arch_dbt_emit_unspill(c);
	return arch_dbt_emit_hyper(c);
}

/* save_flags - rax spilled, the flags in ax (lahf; seto al): no stack to push them on */
static void save_flags(struct dbt_code *c)
{
	gs_mov(c, true, RAX, DBT_CTX_S_RAX);
	put(c, "\x9f\x0f\x90\xc0", 4); /* lahf; seto al */
}

/* restore_flags - the flags and rax back, as saved by save_flags */
static void restore_flags(struct dbt_code *c)
{
	put(c, "\x04\x7f\x9e", 3); /* add al, 0x7f; sahf */
	gs_mov(c, false, RAX, DBT_CTX_S_RAX);
}

void arch_dbt_emit_free_entry(struct dbt_code *c, uint64_t retslot, uint64_t target,
                              uint64_t exit_slot, uint64_t fdispatch, uint64_t trunc)
{
	uint8_t imm[10] = { 0x48, 0xb9 }; /* mov rcx, imm64 */
	uint8_t *ja;
	uint64_t from;

	save_flags(c);
	gs_mov(c, false, RCX, DBT_CTX_CALL_SP);
	put(c, "\x48\x8d\x49\xf8", 4); /* lea rcx, [rcx-8] */
	put(c, "\x48\x39\xcc", 3);     /* cmp rsp, rcx */
	ja = c->p;
	put(c, "\x77\x00", 2); /* ja trunc */
	from = c->pc;
	restore_flags(c);
	arch_dbt_emit_push_ret(c, retslot);
	if (target) {
		memcpy(imm + 2, &target, 8);
		put(c, imm, sizeof(imm));
	} else {
		gs_mov(c, false, RCX, DBT_CTX_TARGET);
	}
	log_value(c, DBT_REC_FREE_IN, RCX);
	gs_mov(c, true, RSP, DBT_CTX_FREE_SP);
	gs_mov(c, false, RCX, DBT_CTX_S_RCX);
	if (target)
		arch_dbt_emit_jmp_slot(c, exit_slot);
	else
		arch_dbt_emit_jmp(c, fdispatch);
	if (!c->full)
		ja[1] = (uint8_t)(c->pc - from);
	restore_flags(c);
	arch_dbt_emit_jmp(c, trunc);
}

void arch_dbt_emit_push_ret(struct dbt_code *c, uint64_t slot)
{
	uint8_t b[6] = { 0xff, 0x35 }; /* push qword [rip+slot] */

	rel32(c, b, sizeof(b), slot);
}

/* encode_mem - mnemonic with the memory operand mem (and a register first, unless NONE) */
static int encode_mem(struct dbt_code *c, ZydisMnemonic m, ZydisRegister reg,
                      const ZydisDecodedOperand *mem)
{
	ZydisEncoderRequest rq;
	ZydisEncoderOperand *op;
	uint8_t b[ZYDIS_MAX_INSTRUCTION_LENGTH];
	ZyanUSize len = sizeof(b);

	memset(&rq, 0, sizeof(rq));
	rq.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
	rq.mnemonic = m;
	if (reg != ZYDIS_REGISTER_NONE) {
		rq.operands[rq.operand_count].type = ZYDIS_OPERAND_TYPE_REGISTER;
		rq.operands[rq.operand_count++].reg.value = reg;
	}
	op = &rq.operands[rq.operand_count++];
	op->type = ZYDIS_OPERAND_TYPE_MEMORY;
	op->mem.base = mem->mem.base;
	op->mem.index = mem->mem.index;
	op->mem.scale = mem->mem.scale;
	op->mem.displacement = mem->mem.disp.value;
	op->mem.size = 8;
	if (mem->mem.segment == ZYDIS_REGISTER_FS)
		rq.prefixes = ZYDIS_ATTRIB_HAS_SEGMENT_FS;
	else if (mem->mem.segment == ZYDIS_REGISTER_ES)
		rq.prefixes = ZYDIS_ATTRIB_HAS_SEGMENT_ES;
	if (ZYAN_FAILED(ZydisEncoderEncodeInstruction(&rq, b, &len)))
		return -1;
	put(c, b, len);
	return 0;
}

/* encode_rip_mem - like encode_mem for a RIP-relative operand whose absolute address is abs */
static int encode_rip_mem(struct dbt_code *c, ZydisMnemonic m, ZydisRegister reg, uint64_t abs)
{
	ZydisEncoderRequest rq;
	uint8_t b[ZYDIS_MAX_INSTRUCTION_LENGTH];
	ZyanUSize len = sizeof(b);
	int n = 0;

	memset(&rq, 0, sizeof(rq));
	rq.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
	rq.mnemonic = m;
	if (reg != ZYDIS_REGISTER_NONE) {
		rq.operands[n].type = ZYDIS_OPERAND_TYPE_REGISTER;
		rq.operands[n++].reg.value = reg;
	}
	rq.operands[n].type = ZYDIS_OPERAND_TYPE_MEMORY;
	rq.operands[n].mem.base = ZYDIS_REGISTER_RIP;
	rq.operands[n].mem.displacement = (int64_t)abs;
	rq.operands[n++].mem.size = 8;
	rq.operand_count = (ZyanU8)n;
	if (ZYAN_FAILED(ZydisEncoderEncodeInstructionAbsolute(&rq, b, &len, c->pc)))
		return -1;
	put(c, b, len);
	return 0;
}

int arch_dbt_emit_target(struct dbt_code *c, const struct dbt_insn *in)
{
	ZydisDecodedInstruction d;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	bool call = in->flow == DBT_FLOW_CALL_IND;
	struct dbt_code save = *c;
	uint64_t abs;
	int rc;

	if (ZYAN_FAILED(ZydisDecoderDecodeFull(x86_decoder64(), in->a.bytes, in->a.len, &d, ops)))
		return -1;
	if (ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER) {
		ZydisRegister r = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64,
		                                                   ops[0].reg.value);
		int id = ZydisRegisterGetId(r);

		if (ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, ops[0].reg.value) != 64 ||
		    id < 0 || id > 15)
			return -1;
		gs_mov(c, true, id, DBT_CTX_TARGET);
		return c->full ? -1 : 0;
	}
	if (ops[0].type != ZYDIS_OPERAND_TYPE_MEMORY || ops[0].mem.segment == ZYDIS_REGISTER_GS)
		return -1;
	/*
	 * A call may push its operand: the call itself writes that very stack
	 * slot next. A jump must not, the slot may be live red-zone data, so
	 * it loads the target through rax.
	 */
	if (!call)
		gs_mov(c, true, RAX, DBT_CTX_S_RAX);
	if (ops[0].mem.base == ZYDIS_REGISTER_RIP) {
		if (ZYAN_FAILED(ZydisCalcAbsoluteAddress(&d, &ops[0], in->a.addr, &abs)))
			return -1;
		rc = call ? encode_rip_mem(c, ZYDIS_MNEMONIC_PUSH, ZYDIS_REGISTER_NONE, abs)
		          : encode_rip_mem(c, ZYDIS_MNEMONIC_MOV, ZYDIS_REGISTER_RAX, abs);
	} else {
		rc = call ? encode_mem(c, ZYDIS_MNEMONIC_PUSH, ZYDIS_REGISTER_NONE, &ops[0])
		          : encode_mem(c, ZYDIS_MNEMONIC_MOV, ZYDIS_REGISTER_RAX, &ops[0]);
	}
	if (rc) {
		*c = save;
		return -1;
	}
	if (call) {
		put(c, "\x65\x8f\x04\x25", 4); /* pop qword gs:[TARGET] */
		put(c, (uint8_t[4]){ DBT_CTX_TARGET }, 4);
	} else {
		gs_mov(c, true, RAX, DBT_CTX_TARGET);
		gs_mov(c, false, RAX, DBT_CTX_S_RAX);
	}
	return c->full ? -1 : 0;
}

/* gs_cmp - cmp reg, gs:[off] */
static void gs_cmp(struct dbt_code *c, int reg, uint32_t off)
{
	uint8_t b[9] = { GS, (uint8_t)(0x48 | (reg >= 8 ? 4 : 0)), 0x3b,
		         (uint8_t)(0x04 | (reg & 7) << 3), 0x25 };

	put32(b + 5, off);
	put(c, b, sizeof(b));
}

/* gs_at - op reg, gs:[base + off] (op 0x89: store, 0x8b: load, 0x3b: cmp; base not rsp) */
static void gs_at(struct dbt_code *c, uint8_t op, int reg, int base, uint32_t off)
{
	uint8_t b[8] = { GS, (uint8_t)(0x48 | (reg >= 8 ? 4 : 0) | (base >= 8 ? 1 : 0)), op,
		         (uint8_t)(0x80 | (reg & 7) << 3 | (base & 7)) };

	put32(b + 4, off);
	put(c, b, sizeof(b));
}

/* gs_cmp_imm - cmp qword gs:[off], imm (sign-extended; one byte where it fits) */
static void gs_cmp_imm(struct dbt_code *c, uint32_t off, int32_t imm)
{
	bool small = imm == (int8_t)imm;
	uint8_t b[13] = { GS, 0x48, small ? 0x83 : 0x81, 0x3c, 0x25 };

	put32(b + 5, off);
	if (small)
		b[9] = (uint8_t)imm;
	else
		put32(b + 9, (uint32_t)imm);
	put(c, b, small ? 10 : 13);
}

/* set_ctx - mov qword gs:[off], imm (sign-extended) */
static void set_ctx(struct dbt_code *c, uint32_t off, int32_t imm)
{
	uint8_t b[13] = { GS, 0x48, 0xc7, 0x04, 0x25 };

	put32(b + 5, off);
	put32(b + 9, (uint32_t)imm);
	put(c, b, sizeof(b));
}

/* jump32 - a near jump (op 0xe9) or jcc (op its second byte, 0x80 + cc) to be patched; its end */
static uint64_t jump32(struct dbt_code *c, uint8_t op, uint8_t **rel)
{
	if (op == 0xe9)
		put(c, "\xe9\0\0\0\0", 5);
	else
		put(c, (uint8_t[6]){ 0x0f, op }, 6);
	*rel = c->p - 4;
	return c->pc;
}

static void patch32(struct dbt_code *c, uint8_t *rel, uint64_t end, uint64_t to)
{
	if (!c->full)
		put32(rel, (uint32_t)(to - end));
}

/* jump32_to - a near jump or jcc (as jump32) to to, already emitted */
static void jump32_to(struct dbt_code *c, uint8_t op, uint64_t to)
{
	uint8_t *rel;
	uint64_t end = jump32(c, op, &rel);

	patch32(c, rel, end, to);
}

enum {
	JE = 0x84,
	JNE = 0x85,
	JB = 0x82,
	JBE = 0x86,
	JA = 0x87,
	JAE = 0x83,
	JMP = 0xe9,
	RDX = 2,
	RSI = 6,
	RDI = 7,
	R8 = 8,
	R9 = 9
};

/* A forward jump to patch: its rel32 and where the jump ends. */
struct fwd {
	uint8_t *rel;
	uint64_t end;
};

static struct fwd fwd_jump(struct dbt_code *c, uint8_t op)
{
	struct fwd f;

	f.end = jump32(c, op, &f.rel);
	return f;
}

static void fwd_here(struct dbt_code *c, struct fwd f)
{
	patch32(c, f.rel, f.end, c->pc);
}

/* word - an 8-byte word of data here holding v; its address */
static uint64_t word(struct dbt_code *c, uint64_t v)
{
	uint64_t at = c->pc;

	put(c, &v, 8);
	return at;
}

/* rip_op - op (opcode bytes, a rip-relative operand with reg rcx or /digit) on the word at */
static void rip_op(struct dbt_code *c, const char *op, size_t n, uint64_t at)
{
	uint8_t b[8];

	memcpy(b, op, n);
	rel32(c, b, n + 4, at);
}

/* reaches - can a rel32 ending n bytes from here reach to? */
static bool reaches(const struct dbt_code *c, size_t n, uint64_t to)
{
	int64_t rel = (int64_t)(to - (c->pc + n));

	return rel == (int32_t)rel;
}

/* walk_restore - the application's rax, rdx, rsi, rdi, rbp and flags back (rcx stays spilled) */
static void walk_restore(struct dbt_code *c)
{
	gs_mov(c, false, RBP, DBT_CTX_S_RBP);
	gs_mov(c, false, RDX, DBT_CTX_S_RDX);
	gs_mov(c, false, RSI, DBT_CTX_S_RSI);
	gs_mov(c, false, RDI, DBT_CTX_S_RDI);
	gs_mov(c, false, RAX, DBT_CTX_S_FLAGS);
	put(c, "\x04\x7f\x9e", 3); /* add al, 0x7f; sahf */
	gs_mov(c, false, RAX, DBT_CTX_W_RAX);
}

/* Where a walk gives up (struct fwd jumps the caller patches). */
#define WALK_MISSES 9

/* bounds - jump to miss[*k] unless [rdx, rdx + 8) is in the thread's stack (rcx: scratch) */
static void bounds(struct dbt_code *c, struct fwd *miss, int *k)
{
	gs_cmp(c, RDX, DBT_CTX_STACK_LO);
	miss[(*k)++] = fwd_jump(c, JB);
	put(c, "\x48\x8d\x4a\x08", 4); /* lea rcx, [rdx+8] */
	gs_cmp(c, RCX, DBT_CTX_STACK_HI);
	miss[(*k)++] = fwd_jump(c, JA);
}

/* rcx_zero - a jump (to be patched) if rcx is 0, the flags left alone */
static struct fwd rcx_zero(struct dbt_code *c)
{
	jrcxz_past(c);
	return fwd_jump(c, JMP);
}

/* memo_room - rdi = ctx[MEMO_AT], compared with the pairs' room */
static void memo_room(struct dbt_code *c)
{
	uint8_t cmp[7] = { 0x48, 0x81, 0xff }; /* cmp rdi, DBT_MEMO_PAIRS * 16 */

	put32(cmp + 3, DBT_MEMO_PAIRS * 16);
	gs_mov(c, false, RDI, DBT_CTX_MEMO_AT);
	put(c, cmp, sizeof(cmp));
}

/* memo_note - the stack word val read at addr, for the next walk to check (rdi: scratch) */
static void memo_note(struct dbt_code *c, int addr, int val)
{
	struct fwd over;

	memo_room(c);
	over = fwd_jump(c, JAE);
	gs_at(c, 0x89, addr, RDI, DBT_CTX_MEMO_PAIRS);
	gs_at(c, 0x89, val, RDI, DBT_CTX_MEMO_PAIRS + 8);
	fwd_here(c, over);
	put(c, "\x48\x8d\x7f\x10", 4); /* lea rdi, [rdi+16] */
	gs_mov(c, true, RDI, DBT_CTX_MEMO_AT);
}

/*
 * memo_note_bp - a frame is found from rbp: the word it was read from
 * noted, or that it is the application's (rdi, rcx: scratch)
 */
static void memo_note_bp(struct dbt_code *c)
{
	struct fwd app, done;

	gs_mov(c, false, RCX, DBT_CTX_MEMO_BP_FROM);
	app = rcx_zero(c);
	memo_note(c, RCX, RBP);
	done = fwd_jump(c, JMP);
	fwd_here(c, app);
	set_ctx(c, DBT_CTX_MEMO_BP_USED, 1);
	fwd_here(c, done);
}

/*
 * memo_check - where the thread's last complete walk holds (arch/dbt.h,
 * DBT_CTX_MEMO_N), rsi = its 8 * count and on at the returned jump (to be
 * patched); otherwise on below, its check emptied (rdx, rdi, rcx:
 * scratch; rsp and rbp the application's)
 */
static struct fwd memo_check(struct dbt_code *c, uint32_t bt_max)
{
	struct fwd miss[7], hit, bp;
	uint64_t loop;
	int k = 0;

	gs_mov(c, false, RCX, DBT_CTX_MEMO_N);
	miss[k++] = rcx_zero(c);
	gs_cmp(c, RSP, DBT_CTX_MEMO_SP);
	miss[k++] = fwd_jump(c, JNE);
	gs_cmp_imm(c, DBT_CTX_MEMO_BP_USED, 0);
	bp = fwd_jump(c, JE);
	gs_cmp(c, RBP, DBT_CTX_MEMO_BP);
	miss[k++] = fwd_jump(c, JNE);
	fwd_here(c, bp);
	gs_cmp_imm(c, DBT_CTX_MEMO_MAX, (int32_t)(bt_max * 8));
	miss[k++] = fwd_jump(c, JNE);
	gs_mov(c, false, RDI, DBT_CTX_STACK_LO);
	gs_cmp(c, RDI, DBT_CTX_MEMO_LO);
	miss[k++] = fwd_jump(c, JNE);
	gs_mov(c, false, RDI, DBT_CTX_STACK_HI);
	gs_cmp(c, RDI, DBT_CTX_MEMO_HI);
	miss[k++] = fwd_jump(c, JNE);
	put(c, "\x31\xd2", 2); /* xor edx, edx */
	loop = c->pc;
	gs_at(c, 0x8b, RDI, RDX, DBT_CTX_MEMO_PAIRS);
	put(c, "\x48\x8b\x3f", 3); /* mov rdi, [rdi] */
	gs_at(c, 0x3b, RDI, RDX, DBT_CTX_MEMO_PAIRS + 8);
	miss[k++] = fwd_jump(c, JNE);
	put(c, "\x48\x83\xc2\x10", 4); /* add rdx, 16 */
	put(c, "\x48\x39\xca", 3);     /* cmp rdx, rcx */
	jump32_to(c, JB, loop);
	gs_mov(c, false, RSI, DBT_CTX_MEMO_RSI);
	hit = fwd_jump(c, JMP);
	while (k--)
		fwd_here(c, miss[k]);
	set_ctx(c, DBT_CTX_MEMO_N, 0);
	set_ctx(c, DBT_CTX_MEMO_AT, 0);
	set_ctx(c, DBT_CTX_MEMO_BP_FROM, 0);
	set_ctx(c, DBT_CTX_MEMO_BP_USED, 0);
	return hit;
}

/* memo_keep - a walk that ended (rsi: 8 * its count) kept for the next one's check, if whole */
static void memo_keep(struct dbt_code *c, uint32_t bt_max)
{
	struct fwd over;

	memo_room(c);
	over = fwd_jump(c, JA);
	gs_mov(c, true, RDI, DBT_CTX_MEMO_N);
	gs_mov(c, true, RSI, DBT_CTX_MEMO_RSI);
	gs_mov(c, true, RSP, DBT_CTX_MEMO_SP);
	gs_mov(c, false, RDI, DBT_CTX_S_RBP);
	gs_mov(c, true, RDI, DBT_CTX_MEMO_BP);
	gs_mov(c, false, RDI, DBT_CTX_STACK_LO);
	gs_mov(c, true, RDI, DBT_CTX_MEMO_LO);
	gs_mov(c, false, RDI, DBT_CTX_STACK_HI);
	gs_mov(c, true, RDI, DBT_CTX_MEMO_HI);
	set_ctx(c, DBT_CTX_MEMO_MAX, (int32_t)(bt_max * 8));
	fwd_here(c, over);
}

/*
 * walk_rule - with the rule of the frame in rdi (arch/dbt.h), move rdx to
 * where the next return address is and rbp to the caller's frame pointer
 * (0: unknown); miss[*k...] where the stack is left or the rule needs a
 * frame pointer not known
 */
static void walk_rule(struct dbt_code *c, struct fwd *miss, int *k)
{
	uint8_t words[6] = { 0x81, 0xe1 }, fp[6] = { 0x81, 0xf9 }; /* and, cmp ecx, imm32 */
	struct fwd is_fp, same, saved, done[2];

	put32(words + 2, DBT_FRAME_WORDS);
	put32(fp + 2, DBT_FRAME_FP);
	put(c, "\x89\xf9", 2); /* mov ecx, edi */
	put(c, words, sizeof(words));
	put(c, fp, sizeof(fp));
	is_fp = fwd_jump(c, JE);
	/* from the stack pointer: so many words up, the frame pointer as its rule says */
	put(c, "\x48\x8d\x14\xca", 4); /* lea rdx, [rdx + rcx*8] */
	bounds(c, miss, k);
	put(c, "\xc1\xef", 2); /* shr edi, DBT_FP_SHIFT */
	put(c, (uint8_t[1]){ DBT_FP_SHIFT }, 1);
	same = fwd_jump(c, JE);
	put(c, "\x83\xff", 2); /* cmp edi, DBT_FP_LOST */
	put(c, (uint8_t[1]){ DBT_FP_LOST }, 1);
	saved = fwd_jump(c, JNE);
	put(c, "\x31\xed", 2); /* xor ebp, ebp */
	done[0] = fwd_jump(c, JMP);
	fwd_here(c, saved);
	put(c, "\x48\xc1\xe7\x03", 4); /* shl rdi, 3 */
	put(c, "\x48\x89\xd1", 3);     /* mov rcx, rdx */
	put(c, "\x48\x29\xf9", 3);     /* sub rcx, rdi */
	miss[(*k)++] = fwd_jump(c, JB);
	gs_cmp(c, RCX, DBT_CTX_STACK_LO);
	miss[(*k)++] = fwd_jump(c, JB);
	put(c, "\x48\x8b\x29", 3); /* mov rbp, [rcx] */
	gs_mov(c, true, RCX, DBT_CTX_MEMO_BP_FROM);
	done[1] = fwd_jump(c, JMP);
	/* from the frame pointer: above the current return address, or no frame */
	fwd_here(c, is_fp);
	memo_note_bp(c);
	put(c, "\x48\x8d\x4a\x08", 4); /* lea rcx, [rdx+8] */
	put(c, "\x48\x39\xcd", 3);     /* cmp rbp, rcx */
	miss[(*k)++] = fwd_jump(c, JB);
	put(c, "\x48\x8d\x55\x08", 4); /* lea rdx, [rbp+8] */
	bounds(c, miss, k);
	put(c, "\x48\x89\xe9", 3);     /* mov rcx, rbp */
	put(c, "\x48\x8b\x6d\x00", 4); /* mov rbp, [rbp] */
	gs_mov(c, true, RCX, DBT_CTX_MEMO_BP_FROM);
	fwd_here(c, same);
	fwd_here(c, done[0]);
	fwd_here(c, done[1]);
}

/*
 * search_rows - the rule of the return address whose key << 16 is in rax
 * from the frame rows (arch/dbt.h) into rdi, DBT_FRAME_NONE where none
 * holds; then on at found (rax, rdx, rsi, rbp kept; rcx: scratch)
 */
static void search_rows(struct dbt_code *c, uint64_t found)
{
	uint8_t index[7] = { 0x48, 0x8b, 0xbf }; /* mov rdi, [rdi + DBT_ROWS_INDEX] */
	uint8_t size[4] = { 0x48, 0x83, 0xc7 };  /* add rdi, sizeof(struct arch_dbt_rows) */
	uint8_t page[4] = { 0x49, 0xc1, 0xe8, DBT_ROWS_PAGE_BITS }; /* shr r8, DBT_ROWS_PAGE_BITS */
	struct fwd no_index, no_image, next, hit, done, lower;
	uint64_t image, search;

	_Static_assert(sizeof(struct arch_dbt_rows) == 40 &&
	                       offsetof(struct arch_dbt_rows, pages) == 32,
	               "the search reads the binaries' entries as laid out");
	size[3] = sizeof(struct arch_dbt_rows);
	put32(index + 3, (uint32_t)DBT_ROWS_INDEX);
	/* the address looked up: the first frame's return address, a later one's minus 1 */
	put(c, "\x48\x89\xc1", 3);     /* mov rcx, rax */
	put(c, "\x48\xc1\xe9\x10", 4); /* shr rcx, 16: the key */
	put(c, "\x48\xff\xc9", 3);     /* dec rcx */
	put(c, "\x48\xd1\xe9", 3);     /* shr rcx, 1 */
	gs_mov(c, false, RDI, DBT_CTX_FRAMES);
	put(c, index, sizeof(index));
	put(c, "\x48\x85\xff", 3); /* test rdi, rdi */
	no_index = fwd_jump(c, JE);
	gs_mov(c, true, R8, DBT_CTX_S_R8);
	gs_mov(c, true, R9, DBT_CTX_S_R9);
	put(c, "\x4c\x8b\x07", 3);     /* mov r8, [rdi]: the binaries */
	put(c, "\x48\x83\xc7\x08", 4); /* add rdi, 8 */
	image = c->pc;
	put(c, "\x4d\x85\xc0", 3); /* test r8, r8 */
	no_image = fwd_jump(c, JE);
	put(c, "\x48\x3b\x0f", 3); /* cmp rcx, [rdi]: lo */
	next = fwd_jump(c, JB);
	put(c, "\x48\x3b\x4f\x08", 4); /* cmp rcx, [rdi+8]: hi */
	hit = fwd_jump(c, JB);
	fwd_here(c, next);
	put(c, size, sizeof(size));
	put(c, "\x49\xff\xc8", 3); /* dec r8 */
	jump32_to(c, JMP, image);
	fwd_here(c, hit);
	put(c, "\x48\x2b\x0f", 3); /* sub rcx, [rdi]: the offset from lo */
	/* the rows from the last at or below its page's start to the last at or below the next's */
	put(c, "\x49\x89\xc8", 3); /* mov r8, rcx */
	put(c, page, sizeof(page));
	put(c, "\x4c\x8b\x4f\x20", 4); /* mov r9, [rdi+32]: the page index */
	put(c, "\x4f\x8d\x0c\x81", 4); /* lea r9, [r9 + r8*4] */
	put(c, "\x45\x8b\x41\x04", 4); /* mov r8d, [r9+4] */
	put(c, "\x45\x8b\x09", 3);     /* mov r9d, [r9] */
	put(c, "\x4d\x29\xc8", 3);     /* sub r8, r9 */
	put(c, "\x49\xff\xc0", 3);     /* inc r8 */
	put(c, "\x48\x8b\x7f\x10", 4); /* mov rdi, [rdi+16]: the rows */
	put(c, "\x4a\x8d\x3c\xcf", 4); /* lea rdi, [rdi + r9*8] */
	put(c, "\x48\xff\xc1", 3);     /* inc rcx */
	put(c, "\x48\xc1\xe1\x10", 4); /* shl rcx, 16: rows below this are at or below it */
	/* the last row below rcx among r8 from rdi (the first is below it) */
	search = c->pc;
	put(c, "\x49\x83\xf8\x01", 4); /* cmp r8, 1 */
	done = fwd_jump(c, JBE);
	put(c, "\x4d\x89\xc1", 3);     /* mov r9, r8 */
	put(c, "\x49\xd1\xe9", 3);     /* shr r9, 1 */
	put(c, "\x4a\x39\x0c\xcf", 4); /* cmp [rdi + r9*8], rcx */
	lower = fwd_jump(c, JAE);
	put(c, "\x4a\x8d\x3c\xcf", 4); /* lea rdi, [rdi + r9*8] */
	put(c, "\x4d\x29\xc8", 3);     /* sub r8, r9 */
	jump32_to(c, JMP, search);
	fwd_here(c, lower);
	put(c, "\x4d\x89\xc8", 3); /* mov r8, r9 */
	jump32_to(c, JMP, search);
	fwd_here(c, done);
	put(c, "\x0f\xb7\x3f", 3); /* movzx edi, word [rdi]: its rule */
	gs_mov(c, false, R8, DBT_CTX_S_R8);
	gs_mov(c, false, R9, DBT_CTX_S_R9);
	jump32_to(c, JMP, found);
	fwd_here(c, no_image);
	gs_mov(c, false, R8, DBT_CTX_S_R8);
	gs_mov(c, false, R9, DBT_CTX_S_R9);
	fwd_here(c, no_index);
	put(c, "\xbf\xff\xff\x00\x00", 5); /* mov edi, DBT_FRAME_NONE */
	jump32_to(c, JMP, found);
}

/* rules_slot - rcx = arch_dbt_rules_slot() of the key whose key << 16 is in rax (rdi: scratch) */
static void rules_slot(struct dbt_code *c)
{
	uint8_t mask[6] = { 0x81, 0xe1 }; /* and ecx, DBT_RULES_SLOTS - 1 */

	put32(mask + 2, DBT_RULES_SLOTS - 1);
	put(c, "\x48\x89\xc1", 3);     /* mov rcx, rax */
	put(c, "\x48\xc1\xe9\x11", 4); /* shr rcx, 17: the return address */
	put(c, "\x48\x89\xcf", 3);     /* mov rdi, rcx */
	put(c, "\x48\xc1\xef\x09", 4); /* shr rdi, 9 */
	put(c, "\x48\x31\xf9", 3);     /* xor rcx, rdi */
	put(c, mask, sizeof(mask));
	gs_mov(c, true, RCX, DBT_CTX_RULES_AT);
}

/* rules_fresh - ctx[RULES] emptied if the rules changed since it was filled (rdi, rcx: scratch) */
static void rules_fresh(struct dbt_code *c)
{
	uint8_t gen[7] = { 0x48, 0x8b, 0xbf };        /* mov rdi, [rdi + DBT_RULES_GEN_AT] */
	uint8_t size[5] = { 0xb9 };                   /* mov ecx, DBT_RULES_SLOTS * 8 */
	uint8_t empty[12] = { GS, 0x48, 0xc7, 0x81 }; /* mov qword gs:[rcx + RULES], 0 */
	struct fwd same;
	uint64_t loop;

	put32(gen + 3, (uint32_t)DBT_RULES_GEN_AT);
	put32(size + 1, DBT_RULES_SLOTS * 8);
	put32(empty + 4, DBT_CTX_RULES);
	gs_mov(c, false, RDI, DBT_CTX_FRAMES);
	put(c, gen, sizeof(gen));
	gs_cmp(c, RDI, DBT_CTX_RULES_GEN);
	same = fwd_jump(c, JE);
	gs_mov(c, true, RDI, DBT_CTX_RULES_GEN);
	set_ctx(c, DBT_CTX_MEMO_N, 0);
	put(c, size, sizeof(size));
	loop = c->pc;
	put(c, "\x83\xe9\x08", 3); /* sub ecx, 8 */
	put(c, empty, sizeof(empty));
	jump32_to(c, JNE, loop);
	fwd_here(c, same);
}

/*
 * walk_frames - walk the stack from rsp with the frame rules (the
 * thread's own, else the table's, else the rows'), the return addresses
 * found into gs:[WALK]; miss[] jump (patched by the caller; how many,
 * returned) where a return address has no rule or the walk would leave
 * the thread's stack; otherwise it goes on with rsi = 8 * their count.
 * rdx: where the current one was read; rax: its key << 16; rbp: the frame
 * pointer there (the application's at first, 0: unknown); rdi, rcx:
 * scratch.
 */
static int walk_frames(struct dbt_code *c, uint32_t bt_max, struct fwd miss[WALK_MISSES])
{
	uint8_t lim[7] = { 0x48, 0x81, 0xfe };            /* cmp rsi, imm32 */
	uint8_t mask[6] = { 0x81, 0xe1 };                 /* and ecx, DBT_FRAME_SLOTS - 1 */
	uint8_t load[8] = { 0x48, 0x8b, 0xbc, 0xcf };     /* mov rdi, [rdi + rcx*8 + 0] */
	uint8_t own[9] = { GS, 0x48, 0x8b, 0x3c, 0xcd };  /* mov rdi, gs:[rcx*8 + RULES] */
	uint8_t keep[9] = { GS, 0x48, 0x89, 0x04, 0xcd }; /* mov gs:[rcx*8 + RULES], rax */
	uint8_t homes[8] = { 0x48, 0x0f, 0xa3, 0x8f };    /* bt [rdi + HOMES], rcx */
	struct fwd full, end, found, rows, absent, empty, known, none, kept, hit;
	uint64_t next, probe, fill;
	int k = 0;

	put32(lim + 3, bt_max * 8);
	put32(mask + 2, DBT_FRAME_SLOTS - 1);
	put32(own + 5, DBT_CTX_RULES);
	put32(keep + 5, DBT_CTX_RULES);
	put32(homes + 4, (uint32_t)DBT_FRAME_HOMES_AT);
	rules_fresh(c);
	/* the backtrace logged last, if gs:[WALK] still holds it; none until this one is logged */
	gs_mov(c, false, RCX, DBT_CTX_WALK_LOGGED);
	gs_mov(c, true, RCX, DBT_CTX_WALK_PREV);
	set_ctx(c, DBT_CTX_WALK_LOGGED, 0);
	set_ctx(c, DBT_CTX_WALK_DIFF, 0);
	hit = memo_check(c, bt_max);
	put(c, "\x48\x89\xe2", 3);         /* mov rdx, rsp */
	put(c, "\x31\xf6", 2);             /* xor esi, esi */
	put(c, "\x48\x8b\x0a", 3);         /* mov rcx, [rdx] */
	put(c, "\x48\x8d\x44\x09\x01", 5); /* lea rax, [rcx + rcx + 1]: the first frame's key */
	memo_note(c, RDX, RCX);
	next = c->pc;
	gs_at(c, 0x39, RCX, RSI, DBT_CTX_WALK); /* cmp gs:[rsi + WALK], rcx */
	kept = fwd_jump(c, JE);
	gs_at(c, 0x89, RCX, RSI, DBT_CTX_WALK);
	set_ctx(c, DBT_CTX_WALK_DIFF, 1);
	fwd_here(c, kept);
	put(c, "\x48\x83\xc6\x08", 4); /* add rsi, 8 */
	put(c, lim, sizeof(lim));
	full = fwd_jump(c, JE);        /* as many as the backtrace holds */
	put(c, "\x48\xc1\xe0\x10", 4); /* shl rax, 16 */
	rules_slot(c);
	put(c, own, sizeof(own));
	put(c, "\x48\x85\xff", 3); /* test rdi, rdi: an empty slot (a key of 0 is no match) */
	empty = fwd_jump(c, JE);
	put(c, "\x48\x31\xc7", 3);                 /* xor rdi, rax */
	put(c, "\x48\x81\xff\xff\xff\x00\x00", 7); /* cmp rdi, 0xffff */
	known = fwd_jump(c, JBE);                  /* the thread's own word: rdi is the rule */
	fwd_here(c, empty);
	put(c, "\x48\x89\xc1", 3);     /* mov rcx, rax */
	put(c, "\x48\xc1\xe9\x10", 4); /* shr rcx, 16 */
	put(c, "\x48\x89\xc7", 3);     /* mov rdi, rax */
	put(c, "\x48\xc1\xef\x20", 4); /* shr rdi, 32 */
	put(c, "\x48\x31\xf9", 3);     /* xor rcx, rdi: arch_dbt_frame_slot() */
	put(c, mask, sizeof(mask));
	gs_mov(c, false, RDI, DBT_CTX_FRAMES);
	put(c, homes, sizeof(homes));
	absent = fwd_jump(c, JAE); /* no key's probe starts at this slot */
	probe = c->pc;
	gs_mov(c, false, RDI, DBT_CTX_FRAMES);
	put(c, load, sizeof(load));
	put(c, "\x48\x85\xff", 3); /* test rdi, rdi: an empty slot */
	rows = fwd_jump(c, JE);
	put(c, "\x48\x31\xc7", 3);                 /* xor rdi, rax */
	put(c, "\x48\x81\xff\xff\xff\x00\x00", 7); /* cmp rdi, 0xffff */
	found = fwd_jump(c, JBE);                  /* the key matched: rdi is the rule */
	put(c, "\xff\xc1", 2);                     /* inc ecx */
	put(c, mask, sizeof(mask));
	jump32_to(c, JMP, probe);
	fwd_here(c, found);
	/* kept in the thread's own words, unless none holds (which may be learned later) */
	fill = c->pc;
	put(c, "\x81\xff\xff\xff\x00\x00", 6); /* cmp edi, DBT_FRAME_NONE */
	none = fwd_jump(c, JE);
	gs_mov(c, false, RCX, DBT_CTX_RULES_AT);
	put(c, "\x48\x09\xf8", 3); /* or rax, rdi */
	put(c, keep, sizeof(keep));
	put(c, "\x48\x31\xf8", 3); /* xor rax, rdi */
	fwd_here(c, none);
	fwd_here(c, known);
	put(c, "\x48\x85\xff", 3); /* test rdi, rdi: DBT_FRAME_END */
	end = fwd_jump(c, JE);
	put(c, "\x48\x81\xff\xff\xff\x00\x00", 7); /* cmp rdi, DBT_FRAME_NONE */
	miss[k++] = fwd_jump(c, JE);
	walk_rule(c, miss, &k);
	put(c, "\x48\x8b\x0a", 3);     /* mov rcx, [rdx] */
	put(c, "\x48\x8d\x04\x09", 4); /* lea rax, [rcx + rcx] */
	memo_note(c, RDX, RCX);
	jump32_to(c, JMP, next);
	fwd_here(c, rows);
	fwd_here(c, absent);
	search_rows(c, fill);
	fwd_here(c, full);
	fwd_here(c, end);
	memo_keep(c, bt_max);
	fwd_here(c, hit);
	return k;
}

/*
 * log_walk - log the return addresses in gs:[WALK] (rsi: 8 * their count)
 * as one record (DBT_REC_SCOPE_BT), rax saved as log_value() does; as
 * the short record where they are those logged last (arch/dbt.h). Its
 * last word is stored first: if the record crosses into the guard page,
 * nothing of it is written before the fault, as there.
 */
static void log_walk(struct dbt_code *c)
{
	uint8_t tag[6] = { 0xc7, 0x00 }; /* mov dword [rax], DBT_REC_SCOPE_BT */
	struct fwd none, differs[2], logged;
	uint64_t loop;

	put32(tag + 2, DBT_REC_SCOPE_BT);
	put(c, "\x48\x85\xf6", 3); /* test rsi, rsi */
	none = fwd_jump(c, JE);
	gs_mov(c, true, RAX, DBT_CTX_S_RAX);
	gs_mov(c, false, RAX, DBT_CTX_CURSOR);
	gs_cmp_imm(c, DBT_CTX_WALK_DIFF, 0);
	differs[0] = fwd_jump(c, JNE);
	gs_cmp(c, RSI, DBT_CTX_WALK_PREV);
	differs[1] = fwd_jump(c, JNE);
	put(c, "\xc7\x40\x08\x00\x00\x00\x00", 7); /* mov dword [rax+8], 0: the last word first */
	put(c, "\xc7\x40\x04\x00\x00\x00\x00", 7); /* mov dword [rax+4], 0: no list */
	put(c, tag, sizeof(tag));
	put(c, "\x48\x8d\x40\x0c", 4); /* lea rax, [rax+12] */
	logged = fwd_jump(c, JMP);
	fwd_here(c, differs[0]);
	fwd_here(c, differs[1]);
	gs_at(c, 0x8b, RCX, RSI, DBT_CTX_WALK - 8);
	put(c, "\x48\x89\x0c\x30", 4); /* mov [rax + rsi], rcx */
	put(c, "\x31\xd2", 2);         /* xor edx, edx */
	loop = c->pc;
	gs_at(c, 0x8b, RCX, RDX, DBT_CTX_WALK);
	put(c, "\x48\x89\x4c\x10\x08", 5); /* mov [rax + rdx + 8], rcx */
	put(c, "\x48\x83\xc2\x08", 4);     /* add rdx, 8 */
	put(c, "\x48\x39\xf2", 3);         /* cmp rdx, rsi */
	jump32_to(c, JB, loop);
	put(c, tag, sizeof(tag));
	put(c, "\x89\x70\x04", 3);         /* mov [rax + 4], esi */
	put(c, "\x48\x8d\x44\x30\x08", 5); /* lea rax, [rax + rsi + 8] */
	fwd_here(c, logged);
	gs_mov(c, true, RAX, DBT_CTX_CURSOR);
	gs_mov(c, false, RAX, DBT_CTX_S_RAX);
	gs_mov(c, true, RSI, DBT_CTX_WALK_LOGGED);
	fwd_here(c, none);
}

/* the context words a level keeps, in its order (arch/dbt.h) */
static const uint32_t level_words[DBT_LEVEL_WORDS] = {
	[DBT_LEVEL_FREE_SP] = DBT_CTX_FREE_SP, [DBT_LEVEL_UP] = DBT_CTX_UP,
	[DBT_LEVEL_OUT] = DBT_CTX_OUT,         [DBT_LEVEL_CALL_SP] = DBT_CTX_CALL_SP,
	[DBT_LEVEL_ROOT_SP] = DBT_CTX_ROOT_SP, [DBT_LEVEL_LEAVE] = DBT_CTX_LEAVE,
};

/* level_move - the live words into (push) or from the level at gs:[rdx] (rcx scratch) */
static void level_move(struct dbt_code *c, bool push)
{
	for (size_t i = 0; i < DBT_LEVEL_WORDS; i++) {
		if (push)
			gs_mov(c, false, RCX, level_words[i]);
		gs_at(c, push ? 0x89 : 0x8b, RCX, RDX, (uint32_t)(i * 8));
		if (!push)
			gs_mov(c, true, RCX, level_words[i]);
	}
}

/*
 * move_level - push: the thread's context words become a new level
 * (ctx[NEST] on one); pop: they are the level ctx[NEST] points at, the one
 * below it next (rdx spilled meanwhile, rcx scratch)
 */
static void move_level(struct dbt_code *c, bool push)
{
	uint8_t lea[4] = { 0x48, 0x8d, 0x52 }; /* lea rdx, [rdx+disp8] */

	lea[3] = (uint8_t)(push ? DBT_LEVEL_WORDS * 8 : -(DBT_LEVEL_WORDS * 8));
	gs_mov(c, true, RDX, DBT_CTX_S_RDX);
	gs_mov(c, false, RDX, DBT_CTX_NEST);
	if (push)
		put(c, lea, sizeof(lea));
	level_move(c, push);
	if (!push)
		put(c, lea, sizeof(lea));
	gs_mov(c, true, RDX, DBT_CTX_NEST);
	gs_mov(c, false, RDX, DBT_CTX_S_RDX);
}

uint64_t arch_dbt_emit_scope_entry(struct dbt_code *c, uint64_t rec_slot, int64_t budget,
                                   uint32_t bt_max, uint64_t leave_resume)
{
	struct fwd go, stop, full, nested, miss[WALK_MISSES];
	uint8_t last[7] = { 0x48, 0x8d, 0x89 }; /* lea rcx, [rcx-the last level] */
	uint8_t imm[10] = { 0x48, 0xb9 };       /* mov rcx, imm64 */
	int i, misses = 0;
	uint64_t sync, set;

	gs_mov(c, true, RCX, DBT_CTX_S_RCX);
	gs_mov(c, false, RCX, DBT_CTX_FREE_SP);
	put(c, "\x48\x8d\x49\x01", 4); /* lea rcx, [rcx+1] */
	go = rcx_zero(c);              /* a thread between scopes goes on */
	/* Any other only from a door, in a native call: a level more, if one is left. */
	gs_mov(c, false, RCX, DBT_CTX_NESTING);
	stop = rcx_zero(c);
	set_ctx(c, DBT_CTX_NESTING, 0);
	gs_mov(c, false, RCX, DBT_CTX_NEST);
	put32(last + 3,
	      (uint32_t) - (int32_t)(DBT_CTX_LEVELS + (DBT_NEST_MAX - 1) * DBT_LEVEL_WORDS * 8));
	put(c, last, sizeof(last));
	full = rcx_zero(c);
	fwd_here(c, go);
	if (bt_max) {
		gs_mov(c, true, RAX, DBT_CTX_W_RAX);
		put(c, "\x9f\x0f\x90\xc0", 4); /* lahf; seto al */
		gs_mov(c, true, RAX, DBT_CTX_S_FLAGS);
		gs_mov(c, true, RDX, DBT_CTX_S_RDX);
		gs_mov(c, true, RSI, DBT_CTX_S_RSI);
		gs_mov(c, true, RDI, DBT_CTX_S_RDI);
		gs_mov(c, true, RBP, DBT_CTX_S_RBP);
		misses = walk_frames(c, bt_max, miss);
		log_walk(c);
		walk_restore(c);
	}
	log_value(c, DBT_REC_SCOPE_SP, RSP);
	put(c, "\x48\x8b\x0c\x24", 4); /* mov rcx, [rsp] */
	log_value(c, DBT_REC_SCOPE_RET, RCX);
	gs_mov(c, false, RCX, DBT_CTX_FREE_SP);
	put(c, "\x48\x8d\x49\x01", 4); /* lea rcx, [rcx+1] */
	put(c, "\xe3\x05", 2);         /* jrcxz set: from between scopes */
	nested = fwd_jump(c, JMP);
	set = c->pc;
	set_ctx(c, DBT_CTX_UP, (int32_t)(budget < INT32_MAX ? budget : INT32_MAX));
	/* the scope's frame as a counted call's: its calls past the budget enter free */
	put(c, "\x48\x8d\x4c\x24\x08", 5); /* lea rcx, [rsp+8] */
	gs_mov(c, true, RCX, DBT_CTX_CALL_SP);
	set_ctx(c, DBT_CTX_OUT, 1);
	gs_mov(c, true, RSP, DBT_CTX_ROOT_SP);
	set_ctx(c, DBT_CTX_FREE_SP, 0);
	gs_mov(c, false, RCX, DBT_CTX_S_RCX);
	arch_dbt_emit_jmp_slot(c, rec_slot);
	fwd_here(c, nested);
	move_level(c, true);
	memcpy(imm + 2, &leave_resume, 8);
	put(c, imm, sizeof(imm)); /* its leave the resuming one */
	gs_mov(c, true, RCX, DBT_CTX_LEAVE);
	jump32_to(c, JMP, set);
	if (bt_max) {
		/* A return address without a rule: the stop, the thread as it was. */
		for (i = 0; i < misses; i++)
			fwd_here(c, miss[i]);
		walk_restore(c);
	}
	fwd_here(c, stop);
	fwd_here(c, full);
	gs_mov(c, false, RCX, DBT_CTX_S_RCX);
	sync = arch_dbt_emit_hyper(c);
	return sync;
}

/* pop_target - the return address into gs:[TARGET], and the ret's imm bytes released */
static void pop_target(struct dbt_code *c, const struct dbt_insn *in)
{
	uint8_t lea[8] = { 0x48, 0x8d, 0xa4, 0x24 }; /* lea rsp, [rsp+imm32] */

	put(c, "\x65\x8f\x04\x25", 4); /* pop qword gs:[TARGET] */
	put(c, (uint8_t[4]){ DBT_CTX_TARGET }, 4);
	if (in->ret_imm) {
		put32(lea + 4, in->ret_imm);
		put(c, lea, sizeof(lea));
	}
}

void arch_dbt_emit_free_ret(struct dbt_code *c, const struct dbt_insn *in, uint64_t fdispatch)
{
	pop_target(c, in);
	arch_dbt_emit_jmp(c, fdispatch);
}

void arch_dbt_emit_ret(struct dbt_code *c, const struct dbt_insn *in, uint64_t dispatch)
{
	pop_target(c, in);
	/* A return gives the caller's call back to the count. */
	gs_mov(c, true, RCX, DBT_CTX_S_RCX);
	gs_mov(c, false, RCX, DBT_CTX_UP);
	put(c, "\x48\x8d\x49\x01", 4); /* lea rcx, [rcx+1] */
	gs_mov(c, true, RCX, DBT_CTX_UP);
	gs_mov(c, false, RCX, DBT_CTX_OUT);
	put(c, "\x48\x8d\x49\xff", 4); /* lea rcx, [rcx-1] */
	gs_mov(c, true, RCX, DBT_CTX_OUT);
	put(c, "\xe3\x0e", 2);                /* jrcxz +14: past the restore and the jmp */
	gs_mov(c, false, RCX, DBT_CTX_S_RCX); /* 9 bytes */
	arch_dbt_emit_jmp(c, dispatch);       /* 5 bytes */
	gs_mov(c, false, RCX, DBT_CTX_S_RCX);
	gs_jmp(c, DBT_CTX_LEAVE);
}

uint64_t arch_dbt_emit_watches(struct dbt_code *c)
{
	uint64_t at;

	arch_dbt_align(c, 8); /* the words are stored to atomically */
	at = c->pc;
	for (int i = 0; i < 2 * ARCH_DBT_WATCHES; i++)
		word(c, 0);
	return at;
}

/* watched - rcx, a leave's target: its watch's pass code instead where it has one */
static void watched(struct dbt_code *c, uint64_t watches)
{
	for (int k = 0; k < ARCH_DBT_WATCHES; k++) {
		rip_op(c, "\x48\x3b\x0d", 3, watches + 8 * (uint64_t)k); /* cmp rcx, [rip+at] */
		put(c, "\x75\x07", 2);                                   /* jne past the mov */
		rip_op(c, "\x48\x8b\x0d", 3,
		       watches + 8 * (uint64_t)(ARCH_DBT_WATCHES + k)); /* mov rcx, [rip+pass] */
	}
}

void arch_dbt_emit_leave(struct dbt_code *c, uint64_t ind_miss, uint64_t fdispatch,
                         enum arch_dbt_leave how, uint64_t watches)
{
	struct fwd stay, returned = { NULL, 0 };

	save_flags(c);
	gs_cmp(c, RSP, DBT_CTX_ROOT_SP);
	stay = fwd_jump(c, JBE);
	gs_mov(c, true, RCX, DBT_CTX_S_RCX);
	if (how == ARCH_DBT_LEAVE_RESUME) {
		/* Above the call's entry sp: the call itself returned. */
		gs_mov(c, false, RCX, DBT_CTX_NEST);
		put(c, "\x65\x48\x3b\x21", 4); /* cmp rsp, gs:[rcx]: the level's FREE_SP */
		returned = fwd_jump(c, JA);
	}
	gs_mov(c, false, RCX, DBT_CTX_TARGET);
	if (how != ARCH_DBT_LEAVE_CACHE) {
		watched(c, watches);
		gs_mov(c, true, RCX, DBT_CTX_GO);
		gs_mov(c, false, RCX, DBT_CTX_TARGET);
	}
	restore_flags(c);
	log_value(c, DBT_REC_LEFT, RCX);
	if (how == ARCH_DBT_LEAVE_RESUME)
		move_level(c, false);
	gs_mov(c, false, RCX, DBT_CTX_S_RCX);
	if (how != ARCH_DBT_LEAVE_RESUME)
		set_ctx(c, DBT_CTX_FREE_SP, -1); /* unrecorded, in no call: all ones */
	if (how == ARCH_DBT_LEAVE_CACHE)
		arch_dbt_emit_jmp(c, fdispatch);
	else
		gs_jmp(c, DBT_CTX_GO);
	if (how == ARCH_DBT_LEAVE_RESUME) {
		fwd_here(c, returned);
		gs_mov(c, false, RCX, DBT_CTX_S_RCX);
	}
	fwd_here(c, stay);
	restore_flags(c);
	arch_dbt_emit_jmp(c, ind_miss);
}

void arch_dbt_emit_syscall(struct dbt_code *c, const struct dbt_insn *in, const int *nrs,
                           size_t n_nrs, uint64_t hyper)
{
	uint8_t lea[6] = { 0x8d, 0x88 }; /* lea ecx, [rax-nr] */
	size_t i;

	gs_mov(c, true, RCX, DBT_CTX_S_RCX);
	for (i = 0; i < n_nrs; i++) {
		put32(lea + 2, (uint32_t)-nrs[i]);
		put(c, lea, sizeof(lea));
		jrcxz_to(c, hyper);
	}
	gs_mov(c, false, RCX, DBT_CTX_S_RCX);
	put(c, in->a.bytes, in->a.len);
}

/* restore_lookup - the application's state back in the lookup (rax, rcx, flags spilled) */
static void restore_lookup(struct dbt_code *c)
{
	gs_mov(c, false, RAX, DBT_CTX_S_FLAGS);
	put(c, "\x04\x7f\x9e", 3); /* add al, 0x7f; sahf */
	gs_mov(c, false, RAX, DBT_CTX_S_RAX);
	gs_mov(c, false, RCX, DBT_CTX_S_RCX);
}

void arch_dbt_emit_dispatch(struct dbt_code *c, uint64_t rec_dispatch, uint64_t *miss)
{
	uint8_t mask[6] = { 0x81, 0xe1 }; /* and ecx, DBT_TABLE_SLOTS - 1 */
	uint8_t ja[6] = { 0x0f, 0x87 };   /* ja back (rel32) */
	uint8_t *jne, *je, *jmp, *back = NULL;
	uint64_t probe, next, back_end = 0;

	gs_mov(c, true, RAX, DBT_CTX_S_RAX);
	gs_mov(c, true, RCX, DBT_CTX_S_RCX);
	put(c, "\x9f\x0f\x90\xc0", 4); /* lahf; seto al */
	gs_mov(c, true, RAX, DBT_CTX_S_FLAGS);
	if (rec_dispatch) {
		/* Above the unrecorded call's frame: it returned (or was left), record again. */
		gs_cmp(c, RSP, DBT_CTX_FREE_SP);
		back = c->p;
		put(c, ja, sizeof(ja));
		back_end = c->pc;
	}
	gs_mov(c, false, RAX, DBT_CTX_TARGET);
	if (rec_dispatch)
		put(c, "\x48\x0f\xba\xe8\x3f", 5); /* bts rax, 63: DBT_FREE_KEY */
	put32(mask + 2, DBT_TABLE_SLOTS - 1);
	put(c, "\x48\x89\xc1", 3);     /* mov rcx, rax */
	put(c, "\x48\xc1\xe9\x03", 4); /* shr rcx, 3 */
	put(c, mask, sizeof(mask));
	put(c, "\x48\xc1\xe1\x04", 4);     /* shl rcx, 4 */
	put(c, "\x65\x48\x03\x0c\x25", 5); /* add rcx, gs:[TABLE] */
	put(c, (uint8_t[4]){ DBT_CTX_TABLE }, 4);
	probe = c->pc;
	put(c, "\x48\x3b\x01", 3); /* cmp rax, [rcx] */
	jne = c->p;
	put(c, "\x75\x00", 2);         /* jne next */
	put(c, "\x48\x8b\x49\x08", 4); /* mov rcx, [rcx+8] */
	gs_mov(c, true, RCX, DBT_CTX_JMPT);
	restore_lookup(c);
	gs_jmp(c, DBT_CTX_JMPT);
	next = c->pc;
	put(c, "\x48\x83\x39\x00", 4); /* cmp qword [rcx], 0 */
	je = c->p;
	put(c, "\x74\x00", 2);         /* je miss */
	put(c, "\x48\x83\xc1\x10", 4); /* add rcx, 16 */
	jmp = c->p;
	put(c, "\xeb\x00", 2); /* jmp probe */
	if (c->full)
		return;
	jne[1] = (uint8_t)(int8_t)((int64_t)next -
	                           (int64_t)(probe + 3 + 2)); /* from the end of the jne */
	jmp[1] = (uint8_t)(int8_t)((int64_t)probe - (int64_t)c->pc);
	je[1] = (uint8_t)(int8_t)((int64_t)c->pc - (int64_t)(next + 4 + 2));
	/* miss: the application's state back, the target still in gs:[TARGET] */
	restore_lookup(c);
	*miss = arch_dbt_emit_hyper(c);
	if (!back)
		return;
	put32(back + 2, (uint32_t)(c->pc - back_end));
	restore_lookup(c);
	log_value(c, DBT_REC_FREE_OUT, RSP);
	arch_dbt_emit_jmp(c, rec_dispatch);
}

uint64_t arch_dbt_emit_gadget(struct dbt_code *c)
{
	uint64_t at = c->pc;

	put(c, "\x0f\x05\xcc", 3);
	return at;
}

uint64_t arch_dbt_emit_batch(struct dbt_code *c, uint64_t *end)
{
	static const uint8_t code[] = {
		0x48, 0x89, 0xfb,       /* mov rbx, rdi: the table */
		0x49, 0x89, 0xf4,       /* mov r12, rsi: how many */
		0x48, 0x8b, 0x03,       /* mov rax, [rbx] */
		0x48, 0x8b, 0x7b, 0x08, /* mov rdi, [rbx+8] */
		0x48, 0x8b, 0x73, 0x10, /* mov rsi, [rbx+16] */
		0x48, 0x8b, 0x53, 0x18, /* mov rdx, [rbx+24] */
		0x4c, 0x8b, 0x53, 0x20, /* mov r10, [rbx+32] */
		0x4c, 0x8b, 0x43, 0x28, /* mov r8, [rbx+40] */
		0x4c, 0x8b, 0x4b, 0x30, /* mov r9, [rbx+48] */
		0x0f, 0x05,             /* syscall */
		0x48, 0x89, 0x43, 0x38, /* mov [rbx+56], rax */
		0x48, 0x83, 0xc3, 0x40, /* add rbx, 64 */
		0x49, 0xff, 0xcc,       /* dec r12 */
		0x75, 0xd6,             /* jnz to the mov rax */
		0xcc,                   /* the hypercall */
	};
	uint64_t at = c->pc;

	_Static_assert(sizeof(struct arch_dbt_syscall) == 64, "the batch's stride");
	put(c, code, sizeof(code));
	*end = c->pc;
	return at;
}

void arch_dbt_align(struct dbt_code *c, size_t n)
{
	while (c->pc % n && !c->full)
		put(c, "\xcc", 1);
}

void arch_dbt_emit_door(struct dbt_code *c, struct arch_dbt_door *dr)
{
	uint8_t jmp[6] = { 0xff, 0x25 }; /* jmp [rip+slot] */
	uint8_t *slot, *to_in, *to_stop, *nested_in;
	uint64_t from_in, from_stop, from_nested;

	arch_dbt_align(c, 8); /* the slot is stored to atomically */
	slot = c->p;
	dr->slot = c->pc;
	put(c, "\xcc\xcc\xcc\xcc\xcc\xcc\xcc\xcc", 8);
	dr->code = c->pc;
	red_rcx(c, true);
	dr->load = c->pc;
	gs_mov(c, false, RCX, DBT_CTX_FREE_SP);
	put(c, "\x48\x8d\x49\x01", 4); /* lea rcx, [rcx+1] */
	to_in = c->p;
	put(c, "\xe3\x00", 2); /* jrcxz in: a thread between scopes goes in */
	from_in = c->pc;
	put(c, "\x48\x8d\x49\xff", 4); /* lea rcx, [rcx-1] */
	to_stop = c->p;
	put(c, "\xe3\x00", 2); /* jrcxz stop: 0, a thread the cache does not run */
	from_stop = c->pc;
	/* In a native call: in as a scope nested in it (arch_dbt_emit_scope_entry). */
	set_ctx(c, DBT_CTX_NESTING, 1);
	nested_in = c->p;
	put(c, "\xeb\x00", 2); /* jmp in */
	from_nested = c->pc;
	if (!c->full)
		to_stop[1] = (uint8_t)(c->pc - from_stop);
	red_rcx(c, false);
	dr->stop = arch_dbt_emit_hyper(c);
	if (!c->full) {
		to_in[1] = (uint8_t)(c->pc - from_in);
		nested_in[1] = (uint8_t)(c->pc - from_nested);
	}
	red_rcx(c, false); /* in: */
	put32(jmp + 2, (uint32_t)(int32_t)(dr->slot - (c->pc + sizeof(jmp))));
	put(c, jmp, sizeof(jmp));
	dr->miss = arch_dbt_emit_hyper(c);
	if (!c->full)
		memcpy(slot, &dr->miss, 8);
}

size_t arch_dbt_door_jump(uint64_t at, uint64_t to, uint8_t code[ARCH_DBT_DOOR_LEN])
{
	int64_t rel = (int64_t)(to - (at + ARCH_DBT_DOOR_LEN));

	if (rel != (int32_t)rel)
		return 0;
	code[0] = 0xe9;
	put32(code + 1, (uint32_t)(int32_t)rel);
	return ARCH_DBT_DOOR_LEN;
}

size_t arch_dbt_door_hop(uint64_t at, uint64_t to, uint8_t code[ARCH_DBT_HOP_LEN])
{
	int64_t rel = (int64_t)(to - (at + ARCH_DBT_HOP_LEN));

	if (rel != (int8_t)rel)
		return 0;
	code[0] = 0xeb;
	code[1] = (uint8_t)(int8_t)rel;
	return ARCH_DBT_HOP_LEN;
}

void arch_dbt_set_ring_cursor(struct arch_regs *r, uint64_t cursor)
{
	r->u.rax = cursor;
}

/*
 * moved - in's effect here, its targets and rip-relative operand kept: 0,
 * or -1 if it cannot be (see arch_dbt_emit_ret_door)
 */
static int moved(struct dbt_code *c, const struct dbt_insn *in, bool last)
{
	switch (in->flow) {
	case DBT_FLOW_NEXT:
		return arch_dbt_emit_copy(c, in);
	case DBT_FLOW_JCC:
		if (in->short_jcc || !reaches(c, 6, in->target))
			return -1;
		jump32_to(c, (uint8_t)(0x80 | jcc_cc(in)), in->target);
		return 0;
	case DBT_FLOW_JMP:
		if (!last || !reaches(c, 5, in->target))
			return -1;
		arch_dbt_emit_jmp(c, in->target);
		return 0;
	case DBT_FLOW_JMP_IND:
	case DBT_FLOW_RET:
		return last ? arch_dbt_emit_copy(c, in) : -1;
	default:
		return -1;
	}
}

int arch_dbt_emit_pass(struct dbt_code *c, const struct dbt_insn *in)
{
	if (in->flow != DBT_FLOW_NEXT || arch_dbt_emit_copy(c, in) ||
	    !reaches(c, 5, in->a.addr + in->a.len))
		return -1;
	arch_dbt_emit_jmp(c, in->a.addr + in->a.len);
	return 0;
}

int arch_dbt_emit_ret_door(struct dbt_code *c, uint64_t at, const struct dbt_insn *insns, size_t n,
                           uint64_t dispatch, struct arch_dbt_ret_door *rd)
{
	uint8_t imm[10] = { 0x48, 0xb9 }; /* mov rcx, imm64 */
	const struct dbt_insn *last = &insns[n - 1];
	uint8_t *jrcxz;
	struct fwd in;
	uint64_t from;
	size_t i;

	arch_dbt_align(c, 8); /* the word is stored to atomically */
	rd->armed = word(c, 0);
	rd->code = c->pc;
	red_rcx(c, true);
	rip_op(c, "\x48\x8b\x0d", 3, rd->armed); /* mov rcx, [rip+armed] */
	jrcxz = c->p;
	put(c, "\xe3\x00", 2); /* jrcxz ours */
	from = c->pc;
	red_rcx(c, false);
	rd->stop = arch_dbt_emit_hyper(c);
	if (!c->full)
		jrcxz[1] = (uint8_t)(c->pc - from);
	rd->load = c->pc; /* ours: */
	gs_mov(c, false, RCX, DBT_CTX_FREE_SP);
	jrcxz = c->p;
	put(c, "\xe3\x00", 2); /* jrcxz pass: no native call (not the cache's thread) */
	from = c->pc;
	save_flags(c);
	gs_cmp(c, RSP, DBT_CTX_FREE_SP);
	in = fwd_jump(c, JA);
	restore_flags(c);
	if (!c->full)
		jrcxz[1] = (uint8_t)(c->pc - from);
	rd->pass = c->pc;
	red_rcx(c, false);
	for (i = 0; i < n; i++)
		if (moved(c, &insns[i], i + 1 == n))
			return -1;
	if (last->flow == DBT_FLOW_NEXT || last->flow == DBT_FLOW_JCC) {
		if (!reaches(c, 5, last->a.addr + last->a.len))
			return -1;
		arch_dbt_emit_jmp(c, last->a.addr + last->a.len);
	}
	fwd_here(c, in);
	restore_flags(c);
	memcpy(imm + 2, &at, 8);
	put(c, imm, sizeof(imm));
	gs_mov(c, true, RCX, DBT_CTX_TARGET);
	red_rcx(c, false);
	log_value(c, DBT_REC_FREE_OUT, RSP);
	if (!reaches(c, 5, dispatch))
		return -1;
	arch_dbt_emit_jmp(c, dispatch);
	return 0;
}

/*
 * in_callers - is rcx (a return address) in the callers' set whose address
 * the word at @set holds? Jumps (hit, to patch) where it is, with rdx
 * spilled; goes on after this where it is not, rdx back. The flags are
 * not kept.
 */
static void in_callers(struct dbt_code *c, uint64_t set, struct fwd hit[DBT_CALLER_PROBES])
{
	uint8_t shr[4] = { 0x48, 0xc1, 0xea, DBT_CALLER_BITS }; /* shr rdx, bits */
	uint8_t and[6] = { 0x81, 0xe2 };                        /* and edx, slots - 1 */
	uint8_t cmp[4] = { 0x48, 0x3b, 0x4a };                  /* cmp rcx, [rdx+disp8] */

	gs_mov(c, true, RDX, DBT_CTX_S_RDX);
	put(c, "\x48\x89\xca", 3); /* mov rdx, rcx */
	put(c, shr, sizeof(shr));
	put(c, "\x48\x31\xca", 3); /* xor rdx, rcx */
	put32(and+2, DBT_CALLER_SLOTS - 1);
	put(c, and, sizeof(and));
	put(c, "\x48\xc1\xe2\x03", 4);     /* shl rdx, 3 */
	rip_op(c, "\x48\x03\x15", 3, set); /* add rdx, [rip+set] */
	for (int k = 0; k < DBT_CALLER_PROBES; k++) {
		cmp[3] = (uint8_t)(k * 8);
		put(c, cmp, sizeof(cmp));
		hit[k] = fwd_jump(c, JE);
	}
	gs_mov(c, false, RDX, DBT_CTX_S_RDX);
}

void arch_dbt_emit_native(struct dbt_code *c, uint64_t ret, uint64_t target, uint64_t free,
                          uint64_t callers, struct arch_dbt_native *n)
{
	struct fwd out, first, hit[DBT_CALLER_PROBES];
	uint64_t set;
	uint8_t *other;
	int k;

	arch_dbt_align(c, 8); /* the words are stored to atomically */
	n->ret = word(c, ret);
	n->target = word(c, target);
	other = c->p;
	n->other = word(c, 0);
	n->free = word(c, free);
	set = word(c, callers);
	n->code = c->pc;
	save_flags(c);
	gs_mov(c, false, RCX, DBT_CTX_CALL_SP);
	put(c, "\x48\x8d\x49\xf8", 4); /* lea rcx, [rcx-8] */
	put(c, "\x48\x39\xcc", 3);     /* cmp rsp, rcx */
	out = fwd_jump(c, JA);
	/* A frame of unknown entry (the program's first): no return address to watch. */
	put(c, "\x48\x83\xf9\xff", 4); /* cmp rcx, -1 */
	first = fwd_jump(c, JE);
	put(c, "\x48\x8b\x09", 3); /* mov rcx, [rcx]: the frame's return address */
	in_callers(c, set, hit);
	restore_flags(c);
	arch_dbt_emit_jmp_slot(c, n->other);
	for (k = 0; k < DBT_CALLER_PROBES; k++)
		fwd_here(c, hit[k]);
	gs_mov(c, false, RDX, DBT_CTX_S_RDX);
	fwd_here(c, first);
	restore_flags(c);
	arch_dbt_emit_push_ret(c, n->ret);
	if (target)
		rip_op(c, "\x48\x8b\x0d", 3, n->target); /* mov rcx, [rip+target] */
	else
		gs_mov(c, false, RCX, DBT_CTX_TARGET);
	log_value(c, DBT_REC_FREE_IN, RCX);
	gs_mov(c, true, RSP, DBT_CTX_FREE_SP);
	gs_mov(c, false, RCX, DBT_CTX_S_RCX);
	if (target)
		arch_dbt_emit_jmp_slot(c, n->target);
	else
		gs_jmp(c, DBT_CTX_TARGET);
	fwd_here(c, out);
	restore_flags(c);
	arch_dbt_emit_jmp_slot(c, n->free);
	if (!c->full)
		memcpy(other, &c->pc, 8);
	arch_dbt_emit_unspill(c);
	n->miss = arch_dbt_emit_hyper(c);
}
