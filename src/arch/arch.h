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

/*
 * The ISA's constants and struct arch_regs, from the one header that this
 * block picks: ARCH_NAME; ARCH_MULTIARCH (the triplet in the names of the
 * library directories); ARCH_MAX_INSN_LEN, ARCH_BP_LEN, ARCH_SYSCALL_LEN
 * and ARCH_PTR_SIZE; ARCH_ELF_MACHINE and ARCH_ELF_CLASS (the ELF images
 * whose code and relocations this ISA knows); ARCH_DWARF_NREGS and the
 * DWARF numbers of the frame pointer, stack pointer and pc (ARCH_DWARF_FP,
 * _SP, _PC); ARCH_CALL_LOOKBACK (see arch_follows_call()); ARCH_DBT_DOOR_LEN
 * (see arch/dbt.h).
 */
#if defined(__x86_64__)
#include "arch/x86_64/isa.h"
#else
#error "nosco runs on x86-64 hosts only"
#endif

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
	 * by a breakpoint after it instead (tracee_step()).
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

/*
 * Registers of a stopped thread (struct arch_regs, in the kernel's ptrace
 * layout: PTRACE_GETREGSET NT_PRSTATUS reads it whole).
 */
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
void arch_regs_set_arg(struct arch_regs *r, int n, uint64_t v);
/* arch_regs_ret - a function's integer return value, just after it returned */
uint64_t arch_regs_ret(const struct arch_regs *r);
/* arch_regs_rep_count - the count register of rep-prefixed instructions */
uint64_t arch_regs_rep_count(const struct arch_regs *r);
void arch_regs_set_rep_count(struct arch_regs *r, uint64_t count);
/* arch_regs_tls_base - the thread pointer (fs base on x86-64) */
uint64_t arch_regs_tls_base(const struct arch_regs *r);
void arch_regs_set_tls_base(struct arch_regs *r, uint64_t base);
/*
 * arch_regs_engine_base - the base register that no program code uses
 * (gs on x86-64), which the dbt engine points at a thread's context
 * while the thread runs in the code cache
 */
uint64_t arch_regs_engine_base(const struct arch_regs *r);
void arch_regs_set_engine_base(struct arch_regs *r, uint64_t base);
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

/* arch_regs_syscall_arg - the Nth (0-based, up to 5) argument of the syscall about to run */
uint64_t arch_regs_syscall_arg(const struct arch_regs *r, int n);
/* arch_regs_syscall_ret - a syscall's result (a negated errno on failure), once it returned */
uint64_t arch_regs_syscall_ret(const struct arch_regs *r);
/*
 * arch_regs_set_syscall - registers for running syscall nr with args at a
 * syscall instruction, which the kernel must not restart afterwards (the
 * caller sets the pc)
 */
void arch_regs_set_syscall(struct arch_regs *r, long nr, const uint64_t args[6]);
/*
 * arch_regs_before_syscall - r as stopped at a syscall's entry or exit:
 * the syscall number back in its register (the kernel keeps it aside), as
 * it was before the syscall instruction ran
 */
void arch_regs_before_syscall(struct arch_regs *r);

/* The syscall instruction (what a remote system call steps over). */
extern const uint8_t arch_syscall_insn[ARCH_SYSCALL_LEN];

/* arch_is_sigreturn - is this syscall instruction, with these registers, rt_sigreturn? */
bool arch_is_sigreturn(const struct arch_insn *insn, const struct arch_regs *r);

/* arch_is_plain_ret - does insn only pop the return address off the stack and go there? */
bool arch_is_plain_ret(const struct arch_insn *insn);

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

/* Stack frames, for the unwinder's fallbacks where there is no CFI. */

/*
 * arch_fp_frame - the frame a frame pointer fp points to: the caller's
 * frame pointer is stored at fp, the return address at *ret_at, and the
 * caller's stack pointer is *caller_sp once it returned
 */
void arch_fp_frame(uint64_t fp, uint64_t *ret_at, uint64_t *caller_sp);
/*
 * arch_caller_sp - the caller's stack pointer once it returned through the
 * address stored at ret_at
 */
uint64_t arch_caller_sp(uint64_t ret_at);
/*
 * arch_follows_call - do the code bytes just before a return address end
 * with a call instruction (the guess a stack scan makes)? @before holds
 * the ARCH_CALL_LOOKBACK bytes that precede it.
 */
bool arch_follows_call(const uint8_t before[ARCH_CALL_LOOKBACK]);

/**
 * arch_raw_syscall - make a system call without the C library: nothing but
 * the registers changes (errno is not set), so that a child sharing
 * nosco's memory and thread-local storage (tracee_launch()) may make it
 * @nr: the call's number (SYS_*)
 * @a0: its first argument, and so on
 *
 * Return: what the kernel returned: -errno on an error.
 */
long arch_raw_syscall(long nr, long a0, long a1, long a2, long a3);

/* The C library's ABI on this ISA. */

/**
 * arch_longjmp_target - where a longjmp-family function will continue
 * @r: registers at the function's entry (its first argument is the jmp_buf)
 * @read: reads len bytes of the thread's memory at addr; 0 or -1
 * @ctx: passed to @read
 * @out: receives the pc saved in the jmp_buf, demangled as glibc mangles it
 *
 * Return: 0, or -1 if memory could not be read.
 */
int arch_longjmp_target(const struct arch_regs *r,
                        int (*read)(void *ctx, uint64_t addr, void *buf, size_t len), void *ctx,
                        uint64_t *out);

/*
 * ELF images of this ISA: what relocation types do, and code patterns
 * (PLT stubs, the _start sequence) for synthetic symbols. Only
 * instructions are looked at; what the addresses mean (which relocation
 * names a GOT slot, which section is a PLT) is up to the caller.
 */
enum arch_reloc_kind {
	ARCH_RELOC_OTHER,
	ARCH_RELOC_SLOT,      /* a GOT or PLT slot that receives a symbol's address */
	ARCH_RELOC_ABS,       /* a word that receives a symbol's address plus the addend */
	ARCH_RELOC_RELATIVE,  /* a word that receives the load base plus the addend */
	ARCH_RELOC_IRELATIVE, /* a word that receives what the resolver at the addend returns */
};

/* arch_reloc_kind - what an ELF relocation type of this ISA does */
enum arch_reloc_kind arch_reloc_kind(unsigned type);

/**
 * struct arch_plt_stub - one PLT stub found by arch_plt_scan()
 * @start: address of the stub's first instruction
 * @end: address just after its last instruction (trailing padding excluded)
 * @slot: the GOT slot its indirect jump reads the target from, or 0
 * @push_index: the relocation index a lazy-binding stub pushes, or -1
 */
struct arch_plt_stub {
	uint64_t start;
	uint64_t end;
	uint64_t slot;
	int64_t push_index;
};

/**
 * arch_plt_scan - split PLT code into stubs
 * @code: the section's bytes
 * @len: their number
 * @addr: the address of @code[0]
 * @fn: called for each stub that has a slot or a pushed index
 * @arg: passed to @fn
 *
 * Decodes the section linearly instead of assuming a stub size, so the
 * classic lazy PLT (jmp *slot; push n; jmp PLT0), the IBT layouts
 * (.plt.sec: endbr64; bnd jmp *slot) and .plt.got / static-binary stubs
 * (jmp *slot; xchg ax,ax) are all handled. A stub starts at the first
 * instruction that is not padding and ends at its unconditional jump (an
 * indirect jump followed by "push imm" continues into the lazy-binding
 * tail). Undecodable bytes end the scan.
 *
 * Return: the number of stubs reported.
 */
size_t arch_plt_scan(const uint8_t *code, size_t len, uint64_t addr,
                     void (*fn)(const struct arch_plt_stub *stub, void *arg), void *arg);

/* How _start computed main's address, the first argument of __libc_start_main. */
enum arch_main_kind {
	ARCH_MAIN_VALUE, /* main is the value (x86-64: mov rdi, imm or lea rdi, [rip+X]) */
	ARCH_MAIN_LOAD,  /* main is the pointer stored at the value (mov rdi, [rip+X]) */
};

/**
 * struct arch_start_call - the call that hands main to the C library
 * @main_kind: how to interpret @main
 * @main: see enum arch_main_kind
 * @call_addr: address of the call instruction
 * @call_target: its target for a direct call (static executables), or 0
 * @call_slot: the GOT slot of an indirect call (dynamic executables), or 0
 */
struct arch_start_call {
	enum arch_main_kind main_kind;
	uint64_t main;
	uint64_t call_addr;
	uint64_t call_target;
	uint64_t call_slot;
};

/**
 * arch_start_scan - find the __libc_start_main call in entry code
 * @code: bytes at the entry point
 * @len: their number (a few dozen suffice)
 * @addr: the entry address
 * @out: filled on success
 *
 * Decodes from the entry to the first call, tracking the last value
 * written to the first argument's register. The call must be followed by hlt, as in glibc's _start
 * (__libc_start_main never returns), so an unrelated call is not mistaken
 * for it.
 *
 * Return: 0 when the pattern was found and main is known, -1 otherwise.
 */
int arch_start_scan(const uint8_t *code, size_t len, uint64_t addr, struct arch_start_call *out);

#endif
