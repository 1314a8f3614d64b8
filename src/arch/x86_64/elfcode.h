/*
 * x86-64 code patterns found in ELF images, for the symbols module: the
 * stubs of the procedure linkage table (PLT) and glibc's _start sequence.
 * Only instructions are looked at here; what the addresses mean (which
 * relocation names a GOT slot, which section is a PLT) is up to the caller.
 */
#ifndef NOSCO_ARCH_X86_64_ELFCODE_H
#define NOSCO_ARCH_X86_64_ELFCODE_H

#include <stddef.h>
#include <stdint.h>

/**
 * struct x86_64_plt_stub - one PLT stub found by x86_64_plt_scan()
 * @start: address of the stub's first instruction
 * @end: address just after its last instruction (trailing padding excluded)
 * @slot: the GOT slot its indirect jump reads the target from, or 0
 * @push_index: the relocation index a lazy-binding stub pushes, or -1
 */
struct x86_64_plt_stub {
	uint64_t start;
	uint64_t end;
	uint64_t slot;
	int64_t push_index;
};

/**
 * x86_64_plt_scan - split PLT code into stubs
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
size_t x86_64_plt_scan(const uint8_t *code, size_t len, uint64_t addr,
                       void (*fn)(const struct x86_64_plt_stub *stub, void *arg), void *arg);

/* How _start computed the first argument (rdi) of __libc_start_main. */
enum x86_64_rdi_kind {
	X86_64_RDI_VALUE, /* rdi = value (mov rdi, imm or lea rdi, [rip+X]) */
	X86_64_RDI_LOAD,  /* rdi = the 8 bytes stored at value (mov rdi, [rip+X]) */
};

/**
 * struct x86_64_start_call - the call that hands main to the C library
 * @rdi_kind: how to interpret @rdi
 * @rdi: see enum x86_64_rdi_kind
 * @call_addr: address of the call instruction
 * @call_target: its target for a direct call (static executables), or 0
 * @call_slot: the GOT slot of an indirect call (dynamic executables), or 0
 */
struct x86_64_start_call {
	enum x86_64_rdi_kind rdi_kind;
	uint64_t rdi;
	uint64_t call_addr;
	uint64_t call_target;
	uint64_t call_slot;
};

/**
 * x86_64_start_scan - find the __libc_start_main call in entry code
 * @code: bytes at the entry point
 * @len: their number (a few dozen suffice)
 * @addr: the entry address
 * @out: filled on success
 *
 * Decodes from the entry to the first call, tracking the last value
 * written to rdi. The call must be followed by hlt, as in glibc's _start
 * (__libc_start_main never returns), so an unrelated call is not mistaken
 * for it.
 *
 * Return: 0 when the pattern was found and rdi is known, -1 otherwise.
 */
int x86_64_start_scan(const uint8_t *code, size_t len, uint64_t addr,
                      struct x86_64_start_call *out);

#endif
