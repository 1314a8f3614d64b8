/*
 * The probe of this machine's single-step traps. Some hypervisors emulate
 * an instruction (cpuid always exits to them) and lose the trap that
 * PTRACE_SINGLESTEP asks for after it: the thread runs the next
 * instruction too. nosco steps the instructions that a hypervisor may
 * emulate by a breakpoint instead (arch_insn's hv_emulated); this test
 * single-steps each candidate that the CPU has, in a child of its own, and
 * fails if a trap is lost after one that nosco would single-step. It runs
 * on every machine of the suite, so a new kind of machine that loses the
 * trap after another instruction is found here, not in a wrong trace. The
 * line "step-traps: ..." says what this machine does.
 */
#include <cpuid.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "arch/arch.h"

/* Each stub: the instruction, then a nop where its step must stop. */
__asm__(".text\n"
        ".globl probe_cpuid\nprobe_cpuid: cpuid; nop; int3\n"
        ".globl probe_rdtsc\nprobe_rdtsc: rdtsc; nop; int3\n"
        ".globl probe_rdtscp\nprobe_rdtscp: rdtscp; nop; int3\n"
        ".globl probe_xgetbv\nprobe_xgetbv: xgetbv; nop; int3\n"
        ".globl probe_rdrand\nprobe_rdrand: rdrand %eax; nop; int3\n"
        ".globl probe_rdseed\nprobe_rdseed: rdseed %eax; nop; int3\n"
        ".globl probe_rdpid\nprobe_rdpid: rdpid %rax; nop; int3\n"
        ".globl probe_pause\nprobe_pause: pause; nop; int3\n"
        ".globl probe_lfence\nprobe_lfence: lfence; nop; int3\n"
        ".globl probe_mfence\nprobe_mfence: mfence; nop; int3\n"
        ".globl probe_syscall\nprobe_syscall: syscall; nop; int3\n"
        ".globl probe_mov\nprobe_mov: mov %rbx, %rdx; nop; int3\n");

extern const uint8_t probe_cpuid[], probe_rdtsc[], probe_rdtscp[], probe_xgetbv[], probe_rdrand[],
        probe_rdseed[], probe_rdpid[], probe_pause[], probe_lfence[], probe_mfence[],
        probe_syscall[], probe_mov[];

enum feature { ANY, RDTSCP, OSXSAVE, RDRAND, RDSEED, RDPID };

struct candidate {
	const char *name;
	const uint8_t *code;
	enum feature needs;
};

static const struct candidate candidates[] = {
	{ "cpuid", probe_cpuid, ANY },      { "rdtsc", probe_rdtsc, ANY },
	{ "rdtscp", probe_rdtscp, RDTSCP }, { "xgetbv", probe_xgetbv, OSXSAVE },
	{ "rdrand", probe_rdrand, RDRAND }, { "rdseed", probe_rdseed, RDSEED },
	{ "rdpid", probe_rdpid, RDPID },    { "pause", probe_pause, ANY },
	{ "lfence", probe_lfence, ANY },    { "mfence", probe_mfence, ANY },
	{ "syscall", probe_syscall, ANY },  { "mov", probe_mov, ANY },
};

static bool has(enum feature f)
{
	unsigned a, b, c, d;

	switch (f) {
	case RDTSCP:
		return __get_cpuid(0x80000001, &a, &b, &c, &d) && (d >> 27 & 1);
	case OSXSAVE:
		return __get_cpuid(1, &a, &b, &c, &d) && (c >> 27 & 1);
	case RDRAND:
		return __get_cpuid(1, &a, &b, &c, &d) && (c >> 30 & 1);
	case RDSEED:
		return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b >> 18 & 1);
	case RDPID:
		return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (c >> 22 & 1);
	default:
		return true;
	}
}

/*
 * step_once_at - single-step one instruction at code in a stopped child;
 * Return: where the child stopped, relative to code (or -1).
 */
static long step_once_at(const uint8_t *code)
{
	struct arch_regs r;
	struct iovec io = { &r, sizeof(r) };
	int status;
	long off = -1;
	pid_t pid = fork();

	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		raise(SIGSTOP);
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSTOPPED(status));
	assert_int_equal(ptrace(PTRACE_GETREGSET, pid, NT_PRSTATUS, &io), 0);
	arch_regs_set_pc(&r, (uintptr_t)code);
	/* getpid for the syscall (a cpuid leaf past the last: harmless) */
	arch_regs_set_syscall(&r, 39, (const uint64_t[6]){ 0 });
	arch_regs_set_rep_count(&r, 0); /* xgetbv's XCR0 */
	assert_int_equal(ptrace(PTRACE_SETREGSET, pid, NT_PRSTATUS, &io), 0);
	if (!ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL) && waitpid(pid, &status, 0) == pid &&
	    WIFSTOPPED(status) && !ptrace(PTRACE_GETREGSET, pid, NT_PRSTATUS, &io))
		off = (long)(arch_regs_pc(&r) - (uintptr_t)code);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return off;
}

static void test_traps_lost_only_after_emulated(void **state)
{
	char lost[256] = "", line[320];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		const struct candidate *c = &candidates[i];
		struct arch_insn in;
		long off;

		if (!has(c->needs))
			continue;
		assert_int_equal(arch_decode((uintptr_t)c->code, c->code, 16, &in), 0);
		off = step_once_at(c->code);
		if (off == in.len)
			continue;
		/* Past the nop after it: the trap after the instruction was lost. */
		snprintf(line, sizeof(line), "%s%s (stopped at +%ld, not +%u)", *lost ? ", " : "",
		         c->name, off, in.len);
		strncat(lost, line, sizeof(lost) - strlen(lost) - 1);
		if (!in.hv_emulated)
			fail_msg("the single-step trap after %s is lost here, and nosco "
			         "single-steps "
			         "it: add it to x86_hv_emulated()",
			         c->name);
	}
	printf("step-traps: lost after %s\n", *lost ? lost : "none");
}

/* The instructions a hypervisor may emulate are the ones nosco steps by a breakpoint. */
static void test_emulated_class(void **state)
{
	static const struct {
		uint8_t bytes[4];
		uint8_t len;
		bool emulated;
	} cases[] = {
		{ { 0x0f, 0xa2 }, 2, true },        /* cpuid */
		{ { 0x0f, 0x31 }, 2, true },        /* rdtsc */
		{ { 0x0f, 0x01, 0xf9 }, 3, true },  /* rdtscp */
		{ { 0x0f, 0xc7, 0xf0 }, 3, true },  /* rdrand eax */
		{ { 0x0f, 0x01, 0xd0 }, 3, false }, /* xgetbv */
		{ { 0xf3, 0x90 }, 2, false },       /* pause */
		{ { 0x0f, 0x05 }, 2, false },       /* syscall */
		{ { 0x48, 0x89, 0xda }, 3, false }, /* mov rdx, rbx */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct arch_insn in;

		assert_int_equal(arch_decode(0x1000, cases[i].bytes, cases[i].len, &in), 0);
		assert_int_equal(in.len, cases[i].len);
		assert_int_equal(in.hv_emulated, cases[i].emulated);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_emulated_class),
		cmocka_unit_test(test_traps_lost_only_after_emulated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
