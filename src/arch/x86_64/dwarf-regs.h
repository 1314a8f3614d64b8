/*
 * x86-64 register numbers of the DWARF psABI that the unwinder needs by
 * name (the full array comes from arch_regs_to_dwarf() in arch/arch.h),
 * and the ELF machine its CFI is for.
 */
#ifndef NOSCO_ARCH_X86_64_DWARF_REGS_H
#define NOSCO_ARCH_X86_64_DWARF_REGS_H

#include <elf.h>

#define X86_64_DWARF_RBP   6
#define X86_64_DWARF_RSP   7
#define X86_64_DWARF_RIP   16
#define X86_64_DWARF_NREGS 17
#define X86_64_ELF_MACHINE EM_X86_64

#endif
