/* x86-64 registers of a stopped thread (struct user_regs_struct layout). */
#include <stddef.h>
#include <string.h>
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

/* arg_reg - the register of the Nth integer argument (psABI: rdi, rsi, rdx, rcx, r8, r9) */
static unsigned long long *arg_reg(struct arch_regs *r, int n)
{
	switch (n) {
	case 0:
		return &REG(r, rdi);
	case 1:
		return &REG(r, rsi);
	case 2:
		return &REG(r, rdx);
	case 3:
		return &REG(r, rcx);
	case 4:
		return &REG(r, r8);
	default:
		return &REG(r, r9);
	}
}

uint64_t arch_regs_arg(const struct arch_regs *r, int n)
{
	return *arg_reg((struct arch_regs *)r, n);
}

void arch_regs_set_arg(struct arch_regs *r, int n, uint64_t v)
{
	*arg_reg(r, n) = v;
}

uint64_t arch_regs_ret(const struct arch_regs *r)
{
	return REG(r, rax);
}

uint64_t arch_regs_rep_count(const struct arch_regs *r)
{
	return REG(r, rcx);
}

void arch_regs_set_rep_count(struct arch_regs *r, uint64_t count)
{
	REG(r, rcx) = count;
}

uint64_t arch_regs_tls_base(const struct arch_regs *r)
{
	return REG(r, fs_base);
}

void arch_regs_set_tls_base(struct arch_regs *r, uint64_t base)
{
	REG(r, fs_base) = base;
}

uint64_t arch_regs_engine_base(const struct arch_regs *r)
{
	return REG(r, gs_base);
}

void arch_regs_set_engine_base(struct arch_regs *r, uint64_t base)
{
	REG(r, gs_base) = base;
}

uint64_t arch_regs_syscall_arg(const struct arch_regs *r, int n)
{
	/* The function ABI's, but for the fourth: rcx is clobbered by syscall. */
	return n == 3 ? REG(r, r10) : arch_regs_arg(r, n);
}

uint64_t arch_regs_syscall_ret(const struct arch_regs *r)
{
	return REG(r, rax);
}

void arch_regs_set_syscall(struct arch_regs *r, long nr, const uint64_t args[6])
{
	REG(r, rax) = (uint64_t)nr;
	REG(r, orig_rax) = (uint64_t)-1; /* no syscall restart on the way out */
	REG(r, rdi) = args[0];
	REG(r, rsi) = args[1];
	REG(r, rdx) = args[2];
	REG(r, r10) = args[3];
	REG(r, r8) = args[4];
	REG(r, r9) = args[5];
}

void arch_regs_before_syscall(struct arch_regs *r)
{
	REG(r, rax) = REG(r, orig_rax);
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
	REG(r, rip) -= ARCH_SYSCALL_LEN;
	REG(r, orig_rax) = (uint64_t)-1;
	return true;
}

const uint8_t arch_syscall_insn[ARCH_SYSCALL_LEN] = { 0x0f, 0x05 };

bool arch_is_sigreturn(const struct arch_insn *insn, const struct arch_regs *r)
{
	return insn->cls == ARCH_INSN_SYSCALL && insn->len == ARCH_SYSCALL_LEN &&
	       !memcmp(insn->bytes, arch_syscall_insn, ARCH_SYSCALL_LEN) &&
	       REG(r, rax) == SYS_rt_sigreturn;
}

bool arch_is_plain_ret(const struct arch_insn *insn)
{
	/* c3, or with a rep or bnd prefix that changes nothing (no far return, no immediate) */
	return insn->cls == ARCH_INSN_RET && insn->bytes[insn->len - 1] == 0xc3 &&
	       (insn->len == 1 ||
	        (insn->len == 2 && (insn->bytes[0] == 0xf3 || insn->bytes[0] == 0xf2)));
}
