/* x86-64 registers of a stopped thread (struct user_regs_struct layout). */
#include <stddef.h>
#include <sys/syscall.h>
#include <sys/user.h>

#include "arch/arch.h"

#define REG(r, name) ((r)->u.name)

uint64_t arch_regs_pc(const struct arch_regs *r)
{
	return REG(r, rip);
}

uint64_t arch_regs_sp(const struct arch_regs *r)
{
	return REG(r, rsp);
}

size_t arch_regs_pc_offset(void)
{
	return offsetof(struct arch_regs, u.rip);
}

void arch_regs_set_pc(struct arch_regs *r, uint64_t pc)
{
	r->u.rip = pc;
}

void arch_regs_set_sp(struct arch_regs *r, uint64_t sp)
{
	r->u.rsp = sp;
}

uint64_t arch_regs_syscall_nr(const struct arch_regs *r)
{
	return REG(r, rax);
}

uint64_t arch_regs_arg(const struct arch_regs *r, int n)
{
	switch (n) {
	case 0:
		return REG(r, rdi);
	case 1:
		return REG(r, rsi);
	case 2:
		return REG(r, rdx);
	case 3:
		return REG(r, rcx);
	case 4:
		return REG(r, r8);
	default:
		return REG(r, r9);
	}
}

uint64_t arch_regs_ret(const struct arch_regs *r)
{
	return REG(r, rax);
}

uint64_t arch_regs_rep_count(const struct arch_regs *r)
{
	return REG(r, rcx);
}

uint64_t arch_regs_tls_base(const struct arch_regs *r)
{
	return REG(r, fs_base);
}

void arch_regs_to_dwarf(const struct arch_regs *r, uint64_t out[ARCH_DWARF_NREGS])
{
	out[0] = REG(r, rax);
	out[1] = REG(r, rdx);
	out[2] = REG(r, rcx);
	out[3] = REG(r, rbx);
	out[4] = REG(r, rsi);
	out[5] = REG(r, rdi);
	out[6] = REG(r, rbp);
	out[7] = REG(r, rsp);
	out[8] = REG(r, r8);
	out[9] = REG(r, r9);
	out[10] = REG(r, r10);
	out[11] = REG(r, r11);
	out[12] = REG(r, r12);
	out[13] = REG(r, r13);
	out[14] = REG(r, r14);
	out[15] = REG(r, r15);
	out[16] = REG(r, rip);
}

/* The kernel's restart codes (include/linux/errno.h), which user space never sees. */
#define ERESTARTSYS           512
#define ERESTARTNOINTR        513
#define ERESTARTNOHAND        514
#define ERESTART_RESTARTBLOCK 516
#define SYSCALL_INSN_LEN      2

bool arch_regs_syscall_restarts(const struct arch_regs *r)
{
	int64_t ret = (int64_t)REG(r, rax);

	return (int64_t)REG(r, orig_rax) >= 0 &&
	       (ret == -ERESTARTSYS || ret == -ERESTARTNOINTR || ret == -ERESTARTNOHAND ||
	        ret == -ERESTART_RESTARTBLOCK);
}

bool arch_regs_restart_syscall(struct arch_regs *r)
{
	if (!arch_regs_syscall_restarts(r))
		return false;
	/* As arch_do_signal_or_restart() does when no handler runs. */
	if ((int64_t)REG(r, rax) == -ERESTART_RESTARTBLOCK)
		REG(r, rax) = SYS_restart_syscall;
	else
		REG(r, rax) = REG(r, orig_rax);
	REG(r, rip) -= SYSCALL_INSN_LEN;
	REG(r, orig_rax) = (uint64_t)-1;
	return true;
}

bool arch_is_sigreturn(const struct arch_insn *insn, const struct arch_regs *r)
{
	return insn->cls == ARCH_INSN_SYSCALL && insn->len == 2 && insn->bytes[0] == 0x0f &&
	       insn->bytes[1] == 0x05 && REG(r, rax) == SYS_rt_sigreturn;
}
