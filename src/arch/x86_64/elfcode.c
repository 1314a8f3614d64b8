/* x86-64 PLT stubs and _start decoding: see arch_plt_scan() and arch_start_scan() in arch/arch.h.
 */
#include "arch/arch.h"

#include <stdbool.h>
#include <string.h>

#include <Zydis/Zydis.h>

struct insn {
	ZydisDecodedInstruction d;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	uint64_t addr;
};

static bool decode(const ZydisDecoder *dec, const uint8_t *code, size_t len, size_t off,
                   uint64_t addr, struct insn *in)
{
	if (off >= len)
		return false;
	in->addr = addr + off;
	return ZYAN_SUCCESS(ZydisDecoderDecodeFull(dec, code + off, len - off, &in->d, in->ops));
}

static void decoder_init(ZydisDecoder *dec)
{
	ZydisDecoderInit(dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
}

/* The address a rip-relative memory operand designates, or 0. */
static uint64_t rip_target(const struct insn *in, const ZydisDecodedOperand *op)
{
	ZyanU64 abs;

	if (op->type != ZYDIS_OPERAND_TYPE_MEMORY || op->mem.base != ZYDIS_REGISTER_RIP ||
	    op->mem.index != ZYDIS_REGISTER_NONE)
		return 0;
	if (!ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&in->d, op, in->addr, &abs)))
		return 0;
	return abs;
}

static bool is_padding(const struct insn *in)
{
	switch (in->d.mnemonic) {
	case ZYDIS_MNEMONIC_NOP:
	case ZYDIS_MNEMONIC_INT3:
		return true;
	case ZYDIS_MNEMONIC_XCHG: /* 66 90, "xchg ax, ax" */
		return in->ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
		       in->ops[1].type == ZYDIS_OPERAND_TYPE_REGISTER &&
		       in->ops[0].reg.value == in->ops[1].reg.value;
	default:
		return false;
	}
}

static bool is_push_imm(const struct insn *in)
{
	return in->d.mnemonic == ZYDIS_MNEMONIC_PUSH &&
	       in->ops[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE;
}

size_t arch_plt_scan(const uint8_t *code, size_t len, uint64_t addr,
                     void (*fn)(const struct arch_plt_stub *stub, void *arg), void *arg)
{
	struct arch_plt_stub stub = { 0, 0, 0, -1 };
	ZydisDecoder dec;
	struct insn in, next;
	bool open = false;
	size_t off = 0, n = 0;

	decoder_init(&dec);
	while (decode(&dec, code, len, off, addr, &in)) {
		off += in.d.length;
		if (!open) {
			if (is_padding(&in))
				continue;
			stub = (struct arch_plt_stub){ in.addr, 0, 0, -1 };
			open = true;
		}
		if (is_push_imm(&in) && stub.push_index < 0)
			stub.push_index = (int64_t)in.ops[0].imm.value.u;
		if (in.d.mnemonic != ZYDIS_MNEMONIC_JMP)
			continue;
		if (in.ops[0].type == ZYDIS_OPERAND_TYPE_MEMORY) {
			if (!stub.slot)
				stub.slot = rip_target(&in, &in.ops[0]);
			/* jmp *slot; push n; jmp PLT0: the tail belongs to this stub */
			if (decode(&dec, code, len, off, addr, &next) && is_push_imm(&next))
				continue;
		}
		stub.end = in.addr + in.d.length;
		open = false;
		if (stub.slot || stub.push_index >= 0) {
			fn(&stub, arg);
			n++;
		}
	}
	return n;
}

static bool writes_rdi(const struct insn *in)
{
	for (unsigned i = 0; i < in->d.operand_count; i++) {
		const ZydisDecodedOperand *op = &in->ops[i];

		if (op->type == ZYDIS_OPERAND_TYPE_REGISTER &&
		    (op->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) &&
		    ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, op->reg.value) ==
		            ZYDIS_REGISTER_RDI)
			return true;
	}
	return false;
}

/* Track rdi through one instruction; returns false when it became unknown. */
static bool track_rdi(const struct insn *in, struct arch_start_call *out)
{
	const ZydisDecodedOperand *dst = &in->ops[0], *src = &in->ops[1];
	uint64_t v;

	if (!writes_rdi(in))
		return true;
	if (dst->type != ZYDIS_OPERAND_TYPE_REGISTER)
		return false;
	if (in->d.mnemonic == ZYDIS_MNEMONIC_MOV && src->type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
		v = src->imm.value.u;
		if (dst->size == 32)
			v &= 0xffffffffu; /* writing edi zero-extends */
		out->main_kind = ARCH_MAIN_VALUE;
		out->main = v;
		return true;
	}
	if (dst->size != 64)
		return false;
	if (in->d.mnemonic == ZYDIS_MNEMONIC_LEA && (v = rip_target(in, src))) {
		out->main_kind = ARCH_MAIN_VALUE;
		out->main = v;
		return true;
	}
	if (in->d.mnemonic == ZYDIS_MNEMONIC_MOV && (v = rip_target(in, src))) {
		out->main_kind = ARCH_MAIN_LOAD;
		out->main = v;
		return true;
	}
	return false;
}

static int finish_call(const ZydisDecoder *dec, const uint8_t *code, size_t len, size_t off,
                       uint64_t addr, const struct insn *call, struct arch_start_call *out)
{
	const ZydisDecodedOperand *op = &call->ops[0];
	struct insn next;
	ZyanU64 abs;

	if (!decode(dec, code, len, off, addr, &next) || next.d.mnemonic != ZYDIS_MNEMONIC_HLT)
		return -1;
	out->call_addr = call->addr;
	if (op->type == ZYDIS_OPERAND_TYPE_IMMEDIATE &&
	    ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&call->d, op, call->addr, &abs)))
		out->call_target = abs;
	else
		out->call_slot = rip_target(call, op);
	return 0;
}

int arch_start_scan(const uint8_t *code, size_t len, uint64_t addr, struct arch_start_call *out)
{
	ZydisDecoder dec;
	struct insn in;
	bool known = false;
	size_t off = 0;

	memset(out, 0, sizeof(*out));
	decoder_init(&dec);
	for (int i = 0; i < 32 && decode(&dec, code, len, off, addr, &in); i++) {
		off += in.d.length;
		switch (in.d.mnemonic) {
		case ZYDIS_MNEMONIC_CALL:
			if (!known)
				return -1;
			return finish_call(&dec, code, len, off, addr, &in, out);
		case ZYDIS_MNEMONIC_JMP:
		case ZYDIS_MNEMONIC_RET:
		case ZYDIS_MNEMONIC_HLT:
			return -1;
		default:
			if (writes_rdi(&in))
				known = track_rdi(&in, out);
		}
	}
	return -1;
}

enum arch_reloc_kind arch_reloc_kind(unsigned type)
{
	switch (type) {
	case R_X86_64_JUMP_SLOT:
	case R_X86_64_GLOB_DAT:
		return ARCH_RELOC_SLOT;
	case R_X86_64_64:
		return ARCH_RELOC_ABS;
	case R_X86_64_RELATIVE:
		return ARCH_RELOC_RELATIVE;
	case R_X86_64_IRELATIVE:
		return ARCH_RELOC_IRELATIVE;
	default:
		return ARCH_RELOC_OTHER;
	}
}
