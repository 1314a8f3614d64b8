/*
 * The ISA interface. Everything that depends on the instruction set lives
 * under src/arch/<isa>/ and is reached only through this header: decoding
 * and classifying instructions, registers of a stopped thread, the
 * breakpoint instruction. nosco supports x86-64 hosts (x86-64 tracees now,
 * i386 later).
 */
#ifndef NOSCO_ARCH_ARCH_H
#define NOSCO_ARCH_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARCH_NAME         "x86_64"
#define ARCH_MAX_INSN_LEN 15
#define ARCH_BP_LEN       1
#define ARCH_PTR_SIZE     8
#define ARCH_DWARF_NREGS  17 /* rax..r15 and rip in DWARF numbering */

extern const uint8_t arch_bp_insn[ARCH_BP_LEN];

/* What an instruction does to control flow, as far as call tracking cares. */
enum arch_insn_class {
	ARCH_INSN_OTHER,
	ARCH_INSN_CALL,    /* pushes a return address and jumps (any form, any prefix) */
	ARCH_INSN_RET,     /* pops a return address (near or far, with any prefix) */
	ARCH_INSN_JUMP,    /* unconditional jump */
	ARCH_INSN_BRANCH,  /* conditional jump or loop */
	ARCH_INSN_SYSCALL, /* enters the kernel (syscall, sysenter, int 0x80) */
	ARCH_INSN_INT3,    /* a breakpoint instruction that is really in the program */
	ARCH_INSN_INVALID, /* could not be decoded */
};

struct arch_insn {
	uint64_t addr;
	uint8_t len;
	uint8_t bytes[ARCH_MAX_INSN_LEN];
	enum arch_insn_class cls;
	bool rep;       /* a rep-prefixed string instruction: single-steps once per iteration */
	bool writes_sp; /* changes the stack pointer (push, pop, call, mov rsp, ...) */
	/*
	 * A hypervisor may intercept and emulate it (cpuid always is): some
	 * lose the single-step trap after an emulated instruction, so that a
	 * step runs the next instruction too. Such an instruction is stepped
	 * by a breakpoint after it instead (tracee_resume()).
	 */
	bool hv_emulated;
};

/**
 * arch_decode - decode and classify one instruction
 * @buf: the instruction's bytes as they are in memory (no breakpoints in them)
 * @avail: bytes readable in buf (at most ARCH_MAX_INSN_LEN are used)
 *
 * Return: 0, or -1 if the bytes are not a valid instruction (out->cls is
 * then ARCH_INSN_INVALID and out->len 1).
 */
int arch_decode(uint64_t addr, const uint8_t *buf, size_t avail, struct arch_insn *out);

/* Registers of a stopped thread (struct arch_regs), in the kernel's ptrace layout. */
#include "arch/x86_64/regs-types.h"

uint64_t arch_regs_pc(const struct arch_regs *r);
/* arch_regs_pc_offset - where the pc is in struct arch_regs (PTRACE_PEEKUSER reads it alone) */
size_t arch_regs_pc_offset(void);
uint64_t arch_regs_sp(const struct arch_regs *r);
void arch_regs_set_pc(struct arch_regs *r, uint64_t pc);
void arch_regs_set_sp(struct arch_regs *r, uint64_t sp);
/* arch_regs_syscall_nr - the syscall number register (before the syscall runs) */
uint64_t arch_regs_syscall_nr(const struct arch_regs *r);
/* arch_regs_arg - the Nth (0-based) integer argument of a function at its entry */
uint64_t arch_regs_arg(const struct arch_regs *r, int n);
/* arch_regs_ret - a function's integer return value, just after it returned */
uint64_t arch_regs_ret(const struct arch_regs *r);
/* arch_regs_count - the count register of rep-prefixed instructions */
uint64_t arch_regs_rep_count(const struct arch_regs *r);
uint64_t arch_regs_tls_base(const struct arch_regs *r);
/* arch_regs_to_dwarf - registers in DWARF numbering, for the unwinder */
void arch_regs_to_dwarf(const struct arch_regs *r, uint64_t out[ARCH_DWARF_NREGS]);

/*
 * arch_regs_restart_syscall - a thread stopped in a system call that the
 * kernel will restart when it resumes (interrupted by a ptrace stop): set
 * the registers as that restart would, the pc back on the syscall
 * instruction, and stop the kernel from doing it again. Return: whether
 * the registers changed.
 */
bool arch_regs_restart_syscall(struct arch_regs *r);
/* arch_regs_syscall_restarts - will the kernel restart the thread's syscall when it resumes? */
bool arch_regs_syscall_restarts(const struct arch_regs *r);

/* arch_is_sigreturn - is this syscall instruction, with these registers, rt_sigreturn? */
bool arch_is_sigreturn(const struct arch_insn *insn, const struct arch_regs *r);

/* Instruction formatting (Intel syntax) for views; returns the text length. */
size_t arch_format(const struct arch_insn *insn, char *buf, size_t size);

/* Decoding modes of recorded code (a trace's `arch` metadata says which). */
enum arch_mode {
	ARCH_MODE_64, /* x86-64 */
	ARCH_MODE_32, /* i386 */
};

/**
 * arch_mode_from_name - the decoding mode of a trace's `arch` metadata
 * @name: "x86_64" or "i386"; NULL (not recorded) means x86_64
 * @out: receives the mode
 *
 * Return: 0, or -1 for an architecture nosco cannot decode.
 */
int arch_mode_from_name(const char *name, enum arch_mode *out);

/**
 * arch_format_asm - one recorded instruction as GNU as source
 * @mode: 64- or 32-bit decoding
 * @addr: the instruction's address (direct branch targets print absolute)
 * @bytes: its bytes
 * @len: their number (at most ARCH_MAX_INSN_LEN are used)
 * @buf: receives the NUL-terminated text
 * @size: the size of buf
 *
 * Intel syntax that `as` reads back in `.intel_syntax noprefix` mode:
 * lowercase, rip-relative operands as [rip+disp], direct branch targets
 * as absolute addresses, bytes that do not decode as a `.byte` directive.
 *
 * Return: the length of the text.
 */
size_t arch_format_asm(enum arch_mode mode, uint64_t addr, const uint8_t *bytes, size_t len,
                       char *buf, size_t size);

#endif
