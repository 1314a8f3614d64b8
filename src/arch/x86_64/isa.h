/*
 * The x86-64 facts arch/arch.h gives as constants and types: sizes of
 * instructions and pointers, DWARF register numbers (psABI), the ELF
 * machine, and the register layout of a stopped thread (the kernel's
 * ptrace layout, used as is). Included by arch/arch.h only.
 */
#ifndef NOSCO_ARCH_X86_64_ISA_H
#define NOSCO_ARCH_X86_64_ISA_H

#include <elf.h>
#include <sys/user.h>

#define ARCH_NAME          "x86_64"
#define ARCH_MULTIARCH     "x86_64-linux-gnu" /* the library directories' name on Debian */
#define ARCH_ELF_MACHINE   EM_X86_64
#define ARCH_ELF_CLASS     ELFCLASS64
#define ARCH_MAX_INSN_LEN  15
#define ARCH_BP_LEN        1
#define ARCH_SYSCALL_LEN   2 /* syscall */
#define ARCH_PTR_SIZE      8
#define ARCH_CALL_LOOKBACK 7  /* the longest call form arch_follows_call() knows */
#define ARCH_DWARF_NREGS   17 /* rax..r15 and rip in DWARF numbering */
#define ARCH_DWARF_FP      6  /* rbp */
#define ARCH_DWARF_SP      7  /* rsp */
#define ARCH_DWARF_PC      16 /* rip */
#define ARCH_DBT_DOOR_LEN  5  /* jmp rel32, written over a scope's entry (arch/dbt.h) */
#define ARCH_DBT_HOP_LEN   2  /* jmp rel8, to a door's jump in dead padding (arch/dbt.h) */

/*
 * The registers of a stopped thread. Code outside src/arch/ reaches them
 * through the arch_regs_* accessors only.
 */
struct arch_regs {
	struct user_regs_struct u;
};

#endif
