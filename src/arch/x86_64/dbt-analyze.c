/*
 * Instruction analysis for the dbt translator: the control flow an
 * instruction has in the code cache, what it does to rsp (so that the
 * tracer can follow the stack pointer without reading registers), where
 * its RIP-relative displacement is, and whether it can run in the cache
 * at all. The class the core sees (struct arch_insn) comes from
 * arch_decode(), exactly as for the single-step engine.
 */
#include <string.h>

#include <Zydis/Zydis.h>

#include "arch/x86_64/dbt-x86.h"
#include "arch/x86_64/insn-int.h"

static bool is_sp(ZydisRegister r)
{
	return r == ZYDIS_REGISTER_RSP || r == ZYDIS_REGISTER_ESP || r == ZYDIS_REGISTER_SP ||
	       r == ZYDIS_REGISTER_SPL;
}

/* writes_rsp - does any operand, visible or hidden, write the stack pointer? */
static bool writes_rsp(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops)
{
	int i;

	for (i = 0; i < in->operand_count; i++)
		if (ops[i].type == ZYDIS_OPERAND_TYPE_REGISTER && is_sp(ops[i].reg.value) &&
		    (ops[i].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
			return true;
	return false;
}

/* sp_effect - the static change of rsp, or sp_dynamic when it depends on run-time values */
static void sp_effect(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops,
                      struct dbt_insn *out)
{
	int size = in->operand_width / 8;

	out->sp_delta = 0;
	out->sp_dynamic = false;
	if (!writes_rsp(in, ops))
		return;
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_PUSH:
	case ZYDIS_MNEMONIC_PUSHFQ:
	case ZYDIS_MNEMONIC_PUSHF:
		out->sp_delta = -size;
		return;
	case ZYDIS_MNEMONIC_POP:
		if (ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER && is_sp(ops[0].reg.value))
			break; /* pop rsp */
		out->sp_delta = size;
		return;
	case ZYDIS_MNEMONIC_POPFQ:
	case ZYDIS_MNEMONIC_POPF:
		out->sp_delta = size;
		return;
	case ZYDIS_MNEMONIC_CALL:
		out->sp_delta = -8;
		return;
	case ZYDIS_MNEMONIC_RET:
		out->sp_delta = 8 + out->ret_imm;
		return;
	case ZYDIS_MNEMONIC_ADD:
	case ZYDIS_MNEMONIC_SUB:
		if (ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
		    ops[0].reg.value == ZYDIS_REGISTER_RSP &&
		    ops[1].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
			int64_t v = ops[1].imm.value.s;

			out->sp_delta = (int32_t)(in->mnemonic == ZYDIS_MNEMONIC_ADD ? v : -v);
			return;
		}
		break;
	case ZYDIS_MNEMONIC_LEA:
		if (ops[0].reg.value == ZYDIS_REGISTER_RSP &&
		    ops[1].mem.base == ZYDIS_REGISTER_RSP &&
		    ops[1].mem.index == ZYDIS_REGISTER_NONE && ops[1].mem.disp.has_displacement) {
			out->sp_delta = (int32_t)ops[1].mem.disp.value;
			return;
		}
		if (ops[0].reg.value == ZYDIS_REGISTER_RSP &&
		    ops[1].mem.base == ZYDIS_REGISTER_RSP &&
		    ops[1].mem.index == ZYDIS_REGISTER_NONE) {
			out->sp_delta = 0;
			return;
		}
		break;
	case ZYDIS_MNEMONIC_ENTER:
		if (ops[1].imm.value.u == 0) {
			out->sp_delta = -8 - (int32_t)ops[0].imm.value.u;
			return;
		}
		break;
	default:
		break;
	}
	out->sp_dynamic = true;
}

/* step_only - a reason the instruction must be single-stepped rather than copied, or NULL */
static const char *step_only(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops)
{
	int i;

	if (in->attributes & ZYDIS_ATTRIB_IS_PRIVILEGED)
		return "privileged";
	/* gs is the engine's: the application's own gs accesses would see the engine's base. */
	if (in->attributes & ZYDIS_ATTRIB_HAS_SEGMENT_GS)
		return "gs segment";
	for (i = 0; i < in->operand_count; i++)
		if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
		    ops[i].mem.segment == ZYDIS_REGISTER_GS)
			return "gs segment";
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_INT:
	case ZYDIS_MNEMONIC_INT1:
	case ZYDIS_MNEMONIC_INT3:
	case ZYDIS_MNEMONIC_INTO:
	case ZYDIS_MNEMONIC_UD0:
	case ZYDIS_MNEMONIC_UD1:
	case ZYDIS_MNEMONIC_UD2:
	case ZYDIS_MNEMONIC_HLT:
		return "trap";
	case ZYDIS_MNEMONIC_SYSENTER:
	case ZYDIS_MNEMONIC_SYSEXIT:
	case ZYDIS_MNEMONIC_SYSRET:
		return "system call form";
	case ZYDIS_MNEMONIC_IRET:
	case ZYDIS_MNEMONIC_IRETD:
	case ZYDIS_MNEMONIC_IRETQ:
		return "iret";
	case ZYDIS_MNEMONIC_XBEGIN:
	case ZYDIS_MNEMONIC_XABORT:
	case ZYDIS_MNEMONIC_XEND:
		return "transaction";
	case ZYDIS_MNEMONIC_RDGSBASE:
	case ZYDIS_MNEMONIC_WRGSBASE:
	case ZYDIS_MNEMONIC_SWAPGS:
		return "gs base";
	default:
		return NULL;
	}
}

/* branch_stepped - why a branch (op: its first operand) is left to the processor, or NULL */
static const char *branch_stepped(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *op)
{
	if (in->meta.branch_type == ZYDIS_BRANCH_TYPE_FAR || op->type == ZYDIS_OPERAND_TYPE_POINTER)
		return "far branch";
	/* A 16-bit operand size truncates the new rip. */
	if (in->operand_width == 16 && in->meta.category != ZYDIS_CATEGORY_COND_BR)
		return "16-bit branch";
	return NULL;
}

/* branch_flow - the flow of a call, jump or return */
static void branch_flow(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops,
                        uint64_t addr, struct dbt_insn *out)
{
	bool direct = ops[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE && ops[0].imm.is_relative;

	out->why = branch_stepped(in, &ops[0]);
	if (out->why) {
		out->flow = DBT_FLOW_STEP;
		return;
	}
	if (direct && ZYAN_FAILED(ZydisCalcAbsoluteAddress(in, &ops[0], addr, &out->target))) {
		out->flow = DBT_FLOW_STEP;
		out->why = "branch target";
		return;
	}
	switch (in->meta.category) {
	case ZYDIS_CATEGORY_CALL:
		out->flow = direct ? DBT_FLOW_CALL : DBT_FLOW_CALL_IND;
		break;
	case ZYDIS_CATEGORY_RET:
		out->flow = DBT_FLOW_RET;
		break;
	case ZYDIS_CATEGORY_UNCOND_BR:
		out->flow = direct ? DBT_FLOW_JMP : DBT_FLOW_JMP_IND;
		break;
	default:
		out->flow = DBT_FLOW_JCC;
		out->short_jcc = in->mnemonic == ZYDIS_MNEMONIC_JRCXZ ||
		                 in->mnemonic == ZYDIS_MNEMONIC_JECXZ ||
		                 in->mnemonic == ZYDIS_MNEMONIC_JCXZ ||
		                 in->mnemonic == ZYDIS_MNEMONIC_LOOP ||
		                 in->mnemonic == ZYDIS_MNEMONIC_LOOPE ||
		                 in->mnemonic == ZYDIS_MNEMONIC_LOOPNE;
		break;
	}
}

int arch_dbt_analyze(uint64_t addr, const uint8_t *buf, size_t avail, struct dbt_insn *out)
{
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	int i;

	memset(out, 0, sizeof(*out));
	if (avail > ARCH_MAX_INSN_LEN)
		avail = ARCH_MAX_INSN_LEN;
	if (ZYAN_FAILED(ZydisDecoderDecodeFull(x86_decoder64(), buf, avail, &in, ops))) {
		arch_decode(addr, buf, avail, &out->a);
		out->flow = DBT_FLOW_STEP;
		out->why = "undecodable";
		out->sp_dynamic = true;
		return -1;
	}
	/* What the core sees, as arch_decode() would say it (one decode instead of two). */
	out->a.addr = addr;
	out->a.len = in.length;
	memcpy(out->a.bytes, buf, in.length);
	out->a.cls = x86_classify(&in);
	out->a.writes_sp = x86_ops_write_sp(&in, ops);
	out->a.rep = x86_is_rep(&in);
	out->a.hv_emulated = x86_hv_emulated(&in);
	if (in.mnemonic == ZYDIS_MNEMONIC_RET && in.operand_count_visible)
		out->ret_imm = (uint16_t)ops[0].imm.value.u;
	out->why = step_only(&in, ops);
	if (out->why) {
		out->flow = DBT_FLOW_STEP;
	} else if (in.mnemonic == ZYDIS_MNEMONIC_SYSCALL) {
		out->flow = DBT_FLOW_SYSCALL;
	} else if (in.meta.category == ZYDIS_CATEGORY_CALL ||
	           in.meta.category == ZYDIS_CATEGORY_RET ||
	           in.meta.category == ZYDIS_CATEGORY_UNCOND_BR ||
	           in.meta.category == ZYDIS_CATEGORY_COND_BR) {
		branch_flow(&in, ops, addr, out);
	} else if (out->a.cls != ARCH_INSN_OTHER) {
		/* Anything else the core sees as a control transfer is its business alone. */
		out->flow = DBT_FLOW_STEP;
		out->why = "control transfer";
	}
	sp_effect(&in, ops, out);
	for (i = 0; i < in.operand_count_visible; i++)
		if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
		    ops[i].mem.base == ZYDIS_REGISTER_RIP && in.raw.disp.size == 32)
			out->disp_off = in.raw.disp.offset;
	return 0;
}

int arch_dbt_branch(uint64_t addr, const uint8_t *buf, size_t avail, size_t *len, uint64_t *target)
{
	ZydisDecoderContext ctx;
	ZydisDecodedInstruction in;
	ZydisDecodedOperand op;

	*target = 0;
	if (avail > ARCH_MAX_INSN_LEN)
		avail = ARCH_MAX_INSN_LEN;
	if (ZYAN_FAILED(ZydisDecoderDecodeInstruction(x86_decoder64(), &ctx, buf, avail, &in)))
		return -1;
	*len = in.length;
	if (in.meta.category != ZYDIS_CATEGORY_CALL &&
	    in.meta.category != ZYDIS_CATEGORY_UNCOND_BR &&
	    in.meta.category != ZYDIS_CATEGORY_COND_BR)
		return 0;
	/* the operand the target is in (xend has none), and branch_flow()'s rules for it */
	if (!in.operand_count ||
	    ZYAN_FAILED(ZydisDecoderDecodeOperands(x86_decoder64(), &ctx, &in, &op, 1)) ||
	    op.type != ZYDIS_OPERAND_TYPE_IMMEDIATE || !op.imm.is_relative ||
	    branch_stepped(&in, &op) ||
	    ZYAN_FAILED(ZydisCalcAbsoluteAddress(&in, &op, addr, target)))
		*target = 0;
	return 0;
}

/* rel - the little-endian signed displacement of n bytes at p */
static int64_t rel(const uint8_t *p, size_t n)
{
	if (n == 1)
		return (int8_t)p[0];
	return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	                 (uint32_t)p[3] << 24);
}

bool arch_dbt_jumps_into(const uint8_t *code, const uint8_t *scan, size_t len, uint64_t addr,
                         uint64_t lo, uint64_t hi)
{
	for (size_t i = 0; i < len; i++) {
		size_t op = 1, n; /* opcode and displacement bytes */
		uint64_t to;

		if (scan && !scan[i])
			continue;
		if (code[i] == 0xeb || (code[i] >= 0x70 && code[i] <= 0x7f) || code[i] == 0xe3)
			n = 1; /* jmp, jcc, jrcxz rel8 */
		else if (code[i] == 0xe9 || code[i] == 0xe8)
			n = 4; /* jmp, call rel32 */
		else if (code[i] == 0x0f && i + 1 < len && code[i + 1] >= 0x80 &&
		         code[i + 1] <= 0x8f)
			op = 2, n = 4; /* jcc rel32 */
		else if (code[i] == 0xc7 && i + 1 < len && code[i + 1] == 0xf8)
			op = 2, n = 4; /* xbegin rel32: its abort goes there */
		else
			continue;
		if (i + op + n > len)
			continue;
		to = addr + i + op + n + (uint64_t)rel(code + i + op, n);
		if (to > lo && to < hi)
			return true;
	}
	return false;
}

uint64_t arch_dbt_door_pad(const uint8_t *code, size_t len, uint64_t at)
{
	/* a short jump reaches 127 bytes past its end */
	const uint64_t reach = at + ARCH_DBT_HOP_LEN + INT8_MAX;
	ZydisDecodedInstruction in;
	uint64_t pad = 0, a = at;
	bool dead = false; /* after a return or a jump, and no-ops only since */

	while (a - at < len && (!pad || a - pad < ARCH_DBT_DOOR_LEN) && (pad ? pad : a) <= reach) {
		if (ZYAN_FAILED(ZydisDecoderDecodeInstruction(
		            x86_decoder64(), NULL, code + (a - at), len - (a - at), &in)))
			return 0;
		if (dead && in.mnemonic == ZYDIS_MNEMONIC_NOP) {
			pad = pad ? pad : a;
		} else {
			pad = 0;
			dead = in.mnemonic == ZYDIS_MNEMONIC_RET ||
			       in.mnemonic == ZYDIS_MNEMONIC_JMP;
		}
		a += in.length;
	}
	return pad && a - pad >= ARCH_DBT_DOOR_LEN && pad <= reach ? pad : 0;
}

uint64_t arch_dbt_door_pad_before(const uint8_t *code, uint64_t from, uint64_t end, uint64_t at)
{
	/* a short jump at the entry reaches 128 bytes before its end */
	const uint64_t reach = at + ARCH_DBT_HOP_LEN - 128;
	ZydisDecodedInstruction in;
	uint64_t pad = 0, a = from;
	bool dead = false;

	if (end < from || end > at || at - end < ARCH_DBT_DOOR_LEN)
		return 0;
	/* From the function's start: its last instruction is where it is, and what it is. */
	while (a < end) {
		if (ZYAN_FAILED(ZydisDecoderDecodeInstruction(x86_decoder64(), NULL,
		                                              code + (a - from), end - a, &in)))
			return 0;
		dead = in.mnemonic == ZYDIS_MNEMONIC_RET || in.mnemonic == ZYDIS_MNEMONIC_JMP;
		a += in.length;
	}
	if (!dead)
		return 0;
	for (; a < at; a += in.length) {
		if (ZYAN_FAILED(ZydisDecoderDecodeInstruction(x86_decoder64(), NULL,
		                                              code + (a - from), at - a, &in)) ||
		    in.mnemonic != ZYDIS_MNEMONIC_NOP)
			return 0;
		if (!pad && a >= reach && at - a >= ARCH_DBT_DOOR_LEN)
			pad = a;
	}
	return pad;
}
