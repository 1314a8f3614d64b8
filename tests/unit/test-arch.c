/*
 * The arch_* functions that stand for ISA and C library facts, checked
 * against the kernel and glibc of this machine where they can be: the
 * syscall registers against a real syscall stop of a traced child, the
 * longjmp target against a real jmp_buf, the frame-pointer layout against
 * this test's own frames.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <elf.h>

#include <cmocka.h>

#include "arch/arch.h"

static const uint64_t six_args[6] = { 11, 22, 33, 44, 55, 66 };

static void get_regs(pid_t pid, struct arch_regs *r)
{
	struct iovec iov = { r, sizeof(*r) };

	assert_int_equal(ptrace(PTRACE_GETREGSET, pid, (void *)NT_PRSTATUS, &iov), 0);
}

static void set_regs(pid_t pid, const struct arch_regs *r)
{
	struct iovec iov = { (void *)r, sizeof(*r) };

	assert_int_equal(ptrace(PTRACE_SETREGSET, pid, (void *)NT_PRSTATUS, &iov), 0);
}

/* syscall_stop - let the child run to its next syscall entry or exit; its registers there */
static void syscall_stop(pid_t pid, struct arch_regs *r)
{
	int status;

	assert_int_equal(ptrace(PTRACE_SYSCALL, pid, NULL, NULL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSTOPPED(status) && WSTOPSIG(status) == SIGTRAP);
	get_regs(pid, r);
}

/* A child that stops, then makes getppid with six arguments (the kernel ignores them). */
static pid_t traced_child(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		raise(SIGSTOP);
		syscall(SYS_getppid, six_args[0], six_args[1], six_args[2], six_args[3],
		        six_args[4], six_args[5]);
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSTOPPED(status));
	return pid;
}

/* stopped_nr - the number of the syscall a thread stopped at (its entry or exit) */
static uint64_t stopped_nr(const struct arch_regs *r)
{
	struct arch_regs before = *r;

	arch_regs_before_syscall(&before);
	return arch_regs_syscall_nr(&before);
}

/* run_to_getppid - the entry stop of the child's getppid (skipping raise's) */
static void run_to_getppid(pid_t pid, struct arch_regs *r)
{
	for (int i = 0; i < 8; i++) {
		syscall_stop(pid, r);
		if (stopped_nr(r) == SYS_getppid)
			return;
	}
	fail_msg("no getppid entry stop");
}

static void check_args(const struct arch_regs *r, const uint64_t args[6])
{
	for (int n = 0; n < 6; n++)
		assert_int_equal(arch_regs_syscall_arg(r, n), args[n]);
}

/* The syscall's number, arguments and result where the kernel puts them. */
static void test_syscall_registers(void **state)
{
	struct arch_regs r;
	pid_t pid = traced_child();
	int status;

	(void)state;
	run_to_getppid(pid, &r);
	check_args(&r, six_args);
	syscall_stop(pid, &r); /* its exit: the result over the number */
	assert_int_equal(arch_regs_syscall_ret(&r), getpid());
	arch_regs_before_syscall(&r);
	assert_int_equal(arch_regs_syscall_nr(&r), SYS_getppid);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

/* Registers set for a syscall at a syscall instruction run that syscall, not restarted. */
static void test_set_syscall_runs_it(void **state)
{
	const uint64_t args[6] = { 0, 7, 8, 9, 10, 12 };
	struct arch_regs r;
	pid_t pid = traced_child();
	uint64_t insn;
	int status;

	(void)state;
	run_to_getppid(pid, &r);
	syscall_stop(pid, &r);
	/* Back on the syscall instruction, as a remote system call is set up. */
	insn = arch_regs_pc(&r) - ARCH_SYSCALL_LEN;
	arch_regs_set_pc(&r, insn);
	arch_regs_set_syscall(&r, SYS_getpid, args);
	assert_false(arch_regs_syscall_restarts(&r));
	set_regs(pid, &r);
	syscall_stop(pid, &r);
	assert_int_equal(stopped_nr(&r), SYS_getpid);
	check_args(&r, args);
	assert_int_equal(arch_regs_pc(&r), insn + ARCH_SYSCALL_LEN);
	syscall_stop(pid, &r);
	assert_int_equal(arch_regs_syscall_ret(&r), pid);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

static void test_syscall_insn(void **state)
{
	struct arch_insn in;
	struct arch_regs r = { 0 };
	const uint64_t none[6] = { 0 };

	(void)state;
	assert_int_equal(arch_decode(0x1000, arch_syscall_insn, ARCH_SYSCALL_LEN, &in), 0);
	assert_int_equal(in.cls, ARCH_INSN_SYSCALL);
	assert_int_equal(in.len, ARCH_SYSCALL_LEN);
	arch_regs_set_syscall(&r, SYS_rt_sigreturn, none);
	assert_true(arch_is_sigreturn(&in, &r));
	arch_regs_set_syscall(&r, SYS_getpid, none);
	assert_false(arch_is_sigreturn(&in, &r));
}

/* Only a return that pops nothing but the return address may be done for the program. */
static void test_plain_ret(void **state)
{
	static const struct {
		uint8_t bytes[4];
		size_t len;
		bool plain;
	} cases[] = {
		{ { 0xc3 }, 1, true },                   /* ret */
		{ { 0xf3, 0xc3 }, 2, true },             /* rep ret */
		{ { 0xf2, 0xc3 }, 2, true },             /* bnd ret */
		{ { 0xc2, 0x08, 0x00 }, 3, false },      /* ret 8 */
		{ { 0xcb }, 1, false },                  /* far ret */
		{ { 0x66, 0xc3 }, 2, false },            /* 16-bit ret */
		{ { 0xf3, 0x0f, 0x1e, 0xfa }, 4, false } /* endbr64 */
	};
	struct arch_insn in;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		arch_decode(0x1000, cases[i].bytes, cases[i].len, &in);
		assert_int_equal(in.len, cases[i].len);
		assert_int_equal(arch_is_plain_ret(&in), cases[i].plain);
	}
}

static void test_engine_base(void **state)
{
	struct arch_regs r = { 0 };

	(void)state;
	arch_regs_set_engine_base(&r, 0x7f0000001000);
	assert_int_equal(arch_regs_engine_base(&r), 0x7f0000001000);
	assert_int_equal(arch_regs_tls_base(&r), 0); /* not the program's thread pointer */
	arch_regs_set_pc(&r, 0x401000);
	arch_regs_set_sp(&r, 0x7ffc0000);
	assert_int_equal(arch_regs_engine_base(&r), 0x7f0000001000);
}

/* Each argument has a register of its own, which no other accessor sets. */
static void test_args_set(void **state)
{
	struct arch_regs r = { 0 };

	(void)state;
	for (int n = 0; n < 6; n++)
		arch_regs_set_arg(&r, n, 0x1000 + (uint64_t)n);
	arch_regs_set_pc(&r, 0x401000);
	arch_regs_set_sp(&r, 0x7ffc0000);
	arch_regs_set_tls_base(&r, 0x7f0000002000);
	arch_regs_set_engine_base(&r, 0x7f0000001000);
	for (int n = 0; n < 6; n++)
		assert_int_equal(arch_regs_arg(&r, n), 0x1000 + (uint64_t)n);
	assert_int_equal(arch_regs_tls_base(&r), 0x7f0000002000);
	assert_int_equal(arch_regs_engine_base(&r), 0x7f0000001000);
	assert_int_equal(arch_regs_pc(&r), 0x401000);
	assert_int_equal(arch_regs_sp(&r), 0x7ffc0000);
}

static int read_own(void *ctx, uint64_t addr, void *buf, size_t len)
{
	(void)ctx;
	memcpy(buf, (const void *)(uintptr_t)addr, len);
	return 0;
}

static int read_fails(void *ctx, uint64_t addr, void *buf, size_t len)
{
	(void)ctx, (void)addr, (void)buf, (void)len;
	return -1;
}

/* set_jump - fill jb; where a longjmp to it continues is just after the setjmp call here */
static __attribute__((noinline)) void set_jump(jmp_buf jb, volatile uint64_t *after)
{
	if (setjmp(jb) == 0) {
		*after = 0;
		return;
	}
}

/* A jmp_buf of this glibc: its pc demangled is a return address just after a call. */
static void test_longjmp_target(void **state)
{
	jmp_buf jb;
	volatile uint64_t after = 1;
	struct arch_regs r = { 0 };
	uint8_t before[ARCH_CALL_LOOKBACK];
	uint64_t target = 0;

	(void)state;
	set_jump(jb, &after);
	assert_int_equal(after, 0);
	/* the first argument, and the thread pointer the pointer guard is read from */
	arch_regs_set_arg(&r, 0, (uintptr_t)jb);
	arch_regs_set_tls_base(&r, (uintptr_t)__builtin_thread_pointer());
	assert_int_equal(arch_regs_arg(&r, 0), (uintptr_t)jb);
	assert_int_equal(arch_longjmp_target(&r, read_own, NULL, &target), 0);
	assert_true(target > (uintptr_t)set_jump && target < (uintptr_t)set_jump + 256);
	memcpy(before, (const void *)(uintptr_t)(target - sizeof(before)), sizeof(before));
	assert_true(arch_follows_call(before));
	assert_int_equal(arch_longjmp_target(&r, read_fails, NULL, &target), -1);
}

/* walk_own_frame - the frame-pointer layout, checked on this function's own frame */
static __attribute__((noinline, optimize("no-omit-frame-pointer"))) void walk_own_frame(void)
{
	uint64_t fp = (uintptr_t)__builtin_frame_address(0), ret_at, caller_sp;

	arch_fp_frame(fp, &ret_at, &caller_sp);
	assert_int_equal(*(const uint64_t *)(uintptr_t)ret_at,
	                 (uintptr_t)__builtin_return_address(0));
	assert_int_equal(arch_caller_sp(ret_at), caller_sp);
}

static void test_frames(void **state)
{
	(void)state;
	walk_own_frame();
}

static void test_follows_call(void **state)
{
	static const struct {
		uint8_t b[ARCH_CALL_LOOKBACK];
		bool call;
	} cases[] = {
		{ { 0x90, 0x90, 0xe8, 1, 2, 3, 4 }, true },              /* call rel32 */
		{ { 0x90, 0x90, 0x90, 0x90, 0x90, 0xff, 0xd0 }, true },  /* call rax */
		{ { 0x90, 0x90, 0x90, 0x90, 0x41, 0xff, 0xd3 }, true },  /* call r11 */
		{ { 0x90, 0xff, 0x15, 1, 2, 3, 4 }, true },              /* call [rip+disp32] */
		{ { 0x90, 0x90, 0x90, 0x90, 0xff, 0x50, 8 }, true },     /* call [rax+8] */
		{ { 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0xc3 }, false }, /* ret */
		{ { 0x90, 0x90, 0x90, 0x90, 0x90, 0xff, 0xe0 }, false }, /* jmp rax */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(arch_follows_call(cases[i].b), cases[i].call);
}

static void test_reloc_kinds(void **state)
{
	(void)state;
	assert_int_equal(arch_reloc_kind(R_X86_64_JUMP_SLOT), ARCH_RELOC_SLOT);
	assert_int_equal(arch_reloc_kind(R_X86_64_GLOB_DAT), ARCH_RELOC_SLOT);
	assert_int_equal(arch_reloc_kind(R_X86_64_64), ARCH_RELOC_ABS);
	assert_int_equal(arch_reloc_kind(R_X86_64_RELATIVE), ARCH_RELOC_RELATIVE);
	assert_int_equal(arch_reloc_kind(R_X86_64_IRELATIVE), ARCH_RELOC_IRELATIVE);
	assert_int_equal(arch_reloc_kind(R_X86_64_PC32), ARCH_RELOC_OTHER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syscall_registers),
		cmocka_unit_test(test_set_syscall_runs_it),
		cmocka_unit_test(test_syscall_insn),
		cmocka_unit_test(test_plain_ret),
		cmocka_unit_test(test_engine_base),
		cmocka_unit_test(test_args_set),
		cmocka_unit_test(test_longjmp_target),
		cmocka_unit_test(test_frames),
		cmocka_unit_test(test_follows_call),
		cmocka_unit_test(test_reloc_kinds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
