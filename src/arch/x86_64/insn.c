/*
 * x86-64 instruction decoding with Zydis. Calls and returns are recognised
 * from the decoded instruction, so every form counts whatever its prefixes
 * (bnd, notrack, rep ret, far forms), unlike a byte-pattern match.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <Zydis/Zydis.h>

#include "arch/arch.h"
#include "arch/x86_64/insn-int.h"

const uint8_t arch_bp_insn[ARCH_BP_LEN] = { 0xcc };

static ZydisDecoder decoder64;

static void decoder64_init(void)
{
	ZydisDecoderInit(&decoder64, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
}

/* The dbt engine's replay worker decodes too: the decoder is set up once, whichever thread asks. */
const ZydisDecoder *x86_decoder64(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, decoder64_init);
	return &decoder64;
}

enum arch_insn_class x86_classify(const ZydisDecodedInstruction *in)
{
	switch (in->meta.category) {
	case ZYDIS_CATEGORY_CALL:
		return ARCH_INSN_CALL;
	case ZYDIS_CATEGORY_RET:
		return ARCH_INSN_RET;
	case ZYDIS_CATEGORY_UNCOND_BR:
		return ARCH_INSN_JUMP;
	case ZYDIS_CATEGORY_COND_BR:
		return ARCH_INSN_BRANCH;
	case ZYDIS_CATEGORY_SYSCALL:
		return ARCH_INSN_SYSCALL;
	default:
		break;
	}
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_INT3:
		return ARCH_INSN_INT3;
	case ZYDIS_MNEMONIC_INT:
	case ZYDIS_MNEMONIC_SYSENTER:
		return ARCH_INSN_SYSCALL;
	default:
		return ARCH_INSN_OTHER;
	}
}

bool x86_ops_write_sp(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops)
{
	int i;

	for (i = 0; i < in->operand_count; i++) {
		if (ops[i].type == ZYDIS_OPERAND_TYPE_REGISTER &&
		    (ops[i].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) &&
		    ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64,
		                                     ops[i].reg.value) == ZYDIS_REGISTER_RSP)
			return true;
	}
	return false;
}

/* writes_sp - does the instruction write the stack pointer, explicitly or not? */
static bool writes_sp(const ZydisDecoderContext *ctx, const ZydisDecodedInstruction *in)
{
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];

	if (ZYAN_FAILED(
	            ZydisDecoderDecodeOperands(x86_decoder64(), ctx, in, ops, in->operand_count)))
		return true; /* when in doubt, the caller looks at the registers */
	return x86_ops_write_sp(in, ops);
}

bool x86_is_rep(const ZydisDecodedInstruction *in)
{
	/* rep ret is a plain return; only string instructions iterate. */
	return (in->attributes &
	        (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE)) &&
	       in->meta.category == ZYDIS_CATEGORY_STRINGOP;
}

bool x86_hv_emulated(const ZydisDecodedInstruction *in)
{
	/*
	 * cpuid exits to the hypervisor unconditionally under VMX and SVM; the
	 * others can be made to (time stamp counter, performance counter and
	 * random number controls). Instructions a hypervisor may intercept but
	 * that fault in user mode (in, out, hlt, xsetbv, ...) are left out.
	 */
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_CPUID:
	case ZYDIS_MNEMONIC_RDTSC:
	case ZYDIS_MNEMONIC_RDTSCP:
	case ZYDIS_MNEMONIC_RDPMC:
	case ZYDIS_MNEMONIC_RDRAND:
	case ZYDIS_MNEMONIC_RDSEED:
		return true;
	default:
		return false;
	}
}

int arch_decode(uint64_t addr, const uint8_t *buf, size_t avail, struct arch_insn *out)
{
	ZydisDecoderContext ctx;
	ZydisDecodedInstruction in;

	if (avail > ARCH_MAX_INSN_LEN)
		avail = ARCH_MAX_INSN_LEN;
	out->addr = addr;
	out->rep = false;
	out->hv_emulated = false;
	if (ZYAN_FAILED(ZydisDecoderDecodeInstruction(x86_decoder64(), &ctx, buf, avail, &in))) {
		out->len = 1;
		out->writes_sp = true;
		out->bytes[0] = avail ? buf[0] : 0;
		out->cls = ARCH_INSN_INVALID;
		return -1;
	}
	out->len = in.length;
	memcpy(out->bytes, buf, in.length);
	out->cls = x86_classify(&in);
	out->writes_sp = writes_sp(&ctx, &in);
	out->rep = x86_is_rep(&in);
	out->hv_emulated = x86_hv_emulated(&in);
	return 0;
}

static ZydisFormatter formatter;

static void formatter_init(void)
{
	ZydisFormatterInit(&formatter, ZYDIS_FORMATTER_STYLE_INTEL);
}

size_t arch_format(const struct arch_insn *insn, char *buf, size_t size)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];

	pthread_once(&once, formatter_init);
	if (ZYAN_FAILED(
	            ZydisDecoderDecodeFull(x86_decoder64(), insn->bytes, insn->len, &in, ops)) ||
	    ZYAN_FAILED(ZydisFormatterFormatInstruction(
	            &formatter, &in, ops, in.operand_count_visible, buf, size, insn->addr, NULL))) {
		snprintf(buf, size, "(bad)");
	}
	return strlen(buf);
}
