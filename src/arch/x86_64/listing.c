/*
 * Instructions as assembler source, for the exec-trace view: Zydis'
 * Intel syntax tuned so that GNU as accepts the text back in
 * `.intel_syntax noprefix` mode. rip-relative operands stay relative
 * ([rip+0x2fe2]): an absolute form would not fit a 32-bit displacement
 * for code mapped high. Direct branch targets are absolute addresses
 * (`call 0x401030`), which as turns into a relocation against an absolute
 * symbol. Bytes that do not decode become a `.byte` directive.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <Zydis/Zydis.h>

#include "arch/arch.h"
#include "arch/x86_64/insn-int.h"

int arch_mode_from_name(const char *name, enum arch_mode *out)
{
	if (!name || !strcmp(name, "x86_64"))
		*out = ARCH_MODE_64;
	else if (!strcmp(name, "i386"))
		*out = ARCH_MODE_32;
	else
		return -1;
	return 0;
}

static ZydisDecoder decoder32;

static void decoder32_init(void)
{
	ZydisDecoderInit(&decoder32, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
}

static const ZydisDecoder *listing_decoder(enum arch_mode mode)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	if (mode != ARCH_MODE_32)
		return x86_decoder64();
	pthread_once(&once, decoder32_init);
	return &decoder32;
}

/*
 * Lowercase like objdump and capstone, no zero padding, rip-relative kept
 * relative, and the size of every memory operand written ("dword ptr"):
 * Zydis leaves it out where implicit operands decide it (div [rsp]), but
 * as does not see those and finds the size ambiguous.
 */
static ZydisFormatter formatter;

static void formatter_init(void)
{
	ZydisFormatterInit(&formatter, ZYDIS_FORMATTER_STYLE_INTEL);
	ZydisFormatterSetProperty(&formatter, ZYDIS_FORMATTER_PROP_FORCE_SIZE, ZYAN_TRUE);
	ZydisFormatterSetProperty(&formatter, ZYDIS_FORMATTER_PROP_HEX_UPPERCASE, ZYAN_FALSE);
	ZydisFormatterSetProperty(&formatter, ZYDIS_FORMATTER_PROP_FORCE_RELATIVE_RIPREL,
	                          ZYAN_TRUE);
	ZydisFormatterSetProperty(&formatter, ZYDIS_FORMATTER_PROP_ADDR_PADDING_ABSOLUTE,
	                          ZYDIS_PADDING_DISABLED);
	ZydisFormatterSetProperty(&formatter, ZYDIS_FORMATTER_PROP_ADDR_PADDING_RELATIVE,
	                          ZYDIS_PADDING_DISABLED);
	ZydisFormatterSetProperty(&formatter, ZYDIS_FORMATTER_PROP_DISP_PADDING,
	                          ZYDIS_PADDING_DISABLED);
	ZydisFormatterSetProperty(&formatter, ZYDIS_FORMATTER_PROP_IMM_PADDING,
	                          ZYDIS_PADDING_DISABLED);
}

static const ZydisFormatter *listing_formatter(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, formatter_init);
	return &formatter;
}

/* ".byte 0x0f, 0x0b": what as reassembles to the same bytes. */
static size_t format_bytes(const uint8_t *bytes, size_t len, char *buf, size_t size)
{
	size_t i, n;

	if (!size)
		return 0;
	n = (size_t)snprintf(buf, size, ".byte");
	for (i = 0; i < len && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s0x%02x", i ? ", " : " ", bytes[i]);
	return strlen(buf);
}

/*
 * The multi-byte nop (0f 1f /0): Zydis shows its ModRM register as a
 * second operand, as takes only the memory one.
 */
static int format_nop(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops,
                      uint64_t addr, char *buf, size_t size)
{
	int n = snprintf(buf, size, "nop ");

	if (n < 0 || (size_t)n >= size)
		return -1;
	if (ZYAN_FAILED(ZydisFormatterFormatOperand(listing_formatter(), in, &ops[0], buf + n,
	                                            size - (size_t)n, addr, NULL)))
		return -1;
	return 0;
}

size_t arch_format_asm(enum arch_mode mode, uint64_t addr, const uint8_t *bytes, size_t len,
                       char *buf, size_t size)
{
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	bool nop;

	if (len > ARCH_MAX_INSN_LEN)
		len = ARCH_MAX_INSN_LEN;
	if (mode == ARCH_MODE_32)
		addr &= 0xffffffffu;
	if (ZYAN_FAILED(ZydisDecoderDecodeFull(listing_decoder(mode), bytes, len, &in, ops)))
		return format_bytes(bytes, len, buf, size);
	nop = in.mnemonic == ZYDIS_MNEMONIC_NOP && in.operand_count_visible > 1 &&
	      ops[0].type == ZYDIS_OPERAND_TYPE_MEMORY;
	if (nop) {
		if (format_nop(&in, ops, addr, buf, size))
			return format_bytes(bytes, len, buf, size);
	} else if (ZYAN_FAILED(ZydisFormatterFormatInstruction(listing_formatter(), &in, ops,
	                                                       in.operand_count_visible, buf, size,
	                                                       addr, NULL))) {
		return format_bytes(bytes, len, buf, size);
	}
	return strlen(buf);
}
