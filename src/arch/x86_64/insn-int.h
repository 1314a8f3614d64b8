/*
 * Pieces of the x86-64 decoding shared inside src/arch/x86_64/: how a
 * decoded instruction is classified for the core, so that every decoder
 * of the tree (arch_decode(), the dbt translator's) agrees.
 */
#ifndef NOSCO_ARCH_X86_64_INSN_INT_H
#define NOSCO_ARCH_X86_64_INSN_INT_H

#include <stdbool.h>

#include <Zydis/Zydis.h>

#include "arch/arch.h"

/* x86_decoder64 - the one 64-bit decoder of the tree */
const ZydisDecoder *x86_decoder64(void);
/* x86_classify - what the instruction does to control flow, as the core sees it */
enum arch_insn_class x86_classify(const ZydisDecodedInstruction *in);
/* x86_ops_write_sp - does any operand (ops: all of them) write the stack pointer? */
bool x86_ops_write_sp(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops);
/* x86_is_rep - a rep-prefixed string instruction, which iterates */
bool x86_is_rep(const ZydisDecodedInstruction *in);
/* x86_hv_emulated - may a hypervisor intercept and emulate it? (struct arch_insn) */
bool x86_hv_emulated(const ZydisDecodedInstruction *in);

#endif
