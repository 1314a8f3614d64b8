/*
 * x86-64 ABI facts that are not about registers: the frame-pointer frame
 * layout and what precedes a return address (for the unwinder's
 * fallbacks), glibc's jmp_buf, and a system call made by hand.
 */
#include "arch/arch.h"

void arch_fp_frame(uint64_t fp, uint64_t *ret_at, uint64_t *caller_sp)
{
	/* push rbp; mov rbp, rsp: [rbp] the caller's rbp, above it the return address */
	*ret_at = fp + 8;
	*caller_sp = fp + 16;
}

uint64_t arch_caller_sp(uint64_t ret_at)
{
	return ret_at + 8; /* ret pops the return address */
}

bool arch_follows_call(const uint8_t b[ARCH_CALL_LOOKBACK])
{
	return b[2] == 0xe8 ||                            /* call rel32 */
	       (b[5] == 0xff && (b[6] & 0xf8) == 0xd0) || /* call reg */
	       (b[4] == 0x41 && b[5] == 0xff && (b[6] & 0xf8) == 0xd0) ||
	       (b[1] == 0xff && b[2] == 0x15) ||        /* call [rip + disp32] */
	       (b[4] == 0xff && (b[5] & 0xf8) == 0x50); /* call [reg + disp8] */
}

/* glibc's x86-64 jmp_buf: rbx, rbp, r12-r15, rsp, pc; rbp, rsp and pc are mangled. */
#define JB_PC             7
#define POINTER_GUARD_OFF 0x30 /* tcbhead_t.pointer_guard, from the thread pointer */

/* demangle_ptr - undo glibc's PTR_MANGLE (which xors with the guard, then rotates left 0x11) */
static uint64_t demangle_ptr(uint64_t v, uint64_t guard)
{
	v = (v >> 0x11) | (v << (64 - 0x11));
	return v ^ guard;
}

int arch_longjmp_target(const struct arch_regs *r,
                        int (*read)(void *ctx, uint64_t addr, void *buf, size_t len), void *ctx,
                        uint64_t *out)
{
	uint64_t jb_pc, guard;

	if (read(ctx, arch_regs_arg(r, 0) + JB_PC * 8, &jb_pc, sizeof(jb_pc)) ||
	    read(ctx, arch_regs_tls_base(r) + POINTER_GUARD_OFF, &guard, sizeof(guard)))
		return -1;
	*out = demangle_ptr(jb_pc, guard);
	return 0;
}

long arch_raw_syscall(long nr, long a0, long a1, long a2, long a3)
{
	register long r10 __asm__("r10") = a3;
	long ret;

	__asm__ volatile("syscall"
	                 : "=a"(ret)
	                 : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10)
	                 : "rcx", "r11", "memory");
	return ret;
}
