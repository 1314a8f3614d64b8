/*
 * The step engine's handling of stops (src/trace/step/events.c, step.c)
 * on a real child, through the whole engine as `nosco run -e step` runs
 * it, into a real store read back: a breakpoint at a scope's entry opens
 * the scope's call; single-steps record its instructions; a signal the
 * program raises inside the scope becomes a signal call of its handler;
 * an int3 of the program's own reaches the program as SIGTRAP instead of
 * being taken for one of the tracer's; calls past the depth limit are
 * truncated; the return closes the scope; the exit status is the
 * program's. The fixture is built here (no PIE: its addresses are the
 * file's).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "store/reader.h"
#include "store/store.h"
#include "sym/image.h"
#include "trace/backend.h"
#include "trace/session.h"
#include "test-util.h"
#include "util/xalloc.h"

static char tmpdir[] = "/tmp/nosco-test-step-XXXXXX";

static const char fixture[] =
        "#include <signal.h>\n"
        "static volatile int hits;\n"
        "static void on_signal(int sig) { hits += sig; }\n"
        "__attribute__((noinline)) int leaf(int x) { return x * 2; }\n"
        "__attribute__((noinline)) int deeper(int x) { return leaf(x) + 1; }\n"
        "__attribute__((noinline)) int scoped(int x) {\n"
        "	raise(SIGUSR1);\n"
        "	__asm__ volatile(\"int3\");\n"
        "	return deeper(x) + leaf(x) + hits;\n"
        "}\n"
        "int main(void) {\n"
        "	signal(SIGUSR1, on_signal);\n"
        "	signal(SIGTRAP, on_signal);\n"
        "	return scoped(1) == 5 + SIGUSR1 + SIGTRAP ? 42 : 1;\n"
        "}\n";

/*
 * spin, interrupted by the other thread: once spin runs (with the dbt
 * engine: in the code cache), a kicker sends it SIGUSR1 every 300 µs, at
 * whatever instruction it is, the engine's own code included (the ring
 * record at each block's head is about a third of the loop's code there).
 * The result must be the one spin gives uninterrupted. Kicks start 3 ms
 * after spin is called: kicked at once, a thread still at its scope's
 * entry would take every signal there.
 */
static const char fixture_kick[] =
        "#define _GNU_SOURCE\n"
        "#include <pthread.h>\n"
        "#include <signal.h>\n"
        "#include <time.h>\n"
        "#include <unistd.h>\n"
        "#include <sys/syscall.h>\n"
        "static volatile int kicks, go, done;\n"
        "static pid_t spinner;\n"
        "static void on_kick(int sig) { (void)sig; kicks++; }\n"
        "__attribute__((noipa)) unsigned long spin(unsigned long n) {\n"
        "	unsigned long a = 1, b = 2, c = 3;\n"
        "	for (unsigned long i = 0; i < n; i++) {\n"
        "		a = a * 6364136223846793005UL + b;\n"
        "		b ^= a >> 7;\n"
        "		c += a ^ b;\n"
        "	}\n"
        "	return a ^ b ^ c;\n"
        "}\n"
        "static void *kicker(void *arg) {\n"
        "	struct timespec first = { 0, 3000000 }, next = { 0, 300000 };\n"
        "	(void)arg;\n"
        "	while (!go)\n"
        "		;\n"
        "	nanosleep(&first, 0);\n"
        "	for (int k = 0; k < 100 && !done; k++) {\n"
        "		syscall(SYS_tgkill, getpid(), spinner, SIGUSR1);\n"
        "		nanosleep(&next, 0);\n"
        "	}\n"
        "	return 0;\n"
        "}\n"
        "int main(void) {\n"
        "	pthread_t t;\n"
        "	unsigned long r1, r2;\n"
        "	signal(SIGUSR1, on_kick);\n"
        "	spinner = gettid();\n"
        "	pthread_create(&t, 0, kicker, 0);\n"
        "	go = 1;\n"
        "	r1 = spin(20000000);\n"
        "	done = 1;\n"
        "	pthread_join(t, 0);\n"
        "	r2 = spin(20000000);\n"
        "	return r1 == r2 && kicks > 0 ? 42 : 1;\n"
        "}\n";

/*
 * copy's first instructions could take a door (a jump the dbt engine
 * writes over a hot scope's entry); shifted, before it in the file,
 * jumps past copy's first instruction, into those bytes, as glibc's
 * mempcpy jumps into memmove.
 */
static const char fixture_door[] =
        "__asm__(\".text\\n\"\n"
        "        \".globl shifted\\n.type shifted, @function\\nshifted:\\n\"\n"
        "        \"	mov %rdi, %rax\\n	add %rdx, %rax\\n	jmp .Linner\\n\"\n"
        "        \".size shifted, .-shifted\\n\"\n"
        "        \".globl copy\\n.type copy, @function\\ncopy:\\n\"\n"
        "        \"	mov %rdi, %rax\\n.Linner:\\n	cmp $0x40, %rdx\\n	jb 1f\\n\"\n"
        "        \"	add $1, %rax\\n1:	ret\\n.size copy, .-copy\\n\"\n"
        /* no padding within a short jump of copy: its door cannot lead anywhere */
        "        \".fill 130, 1, 0xcc\\n\"\n"
        /* the same with a 5-byte no-op after its ret (nopl 0(%rax,%rax,1)): a door can lead there
         */
        "        \".globl shifted2\\n.type shifted2, @function\\nshifted2:\\n\"\n"
        "        \"	mov %rdi, %rax\\n	add %rdx, %rax\\n	jmp .Linner2\\n\"\n"
        "        \".size shifted2, .-shifted2\\n\"\n"
        "        \".globl copy2\\n.type copy2, @function\\ncopy2:\\n\"\n"
        "        \"	mov %rdi, %rax\\n.Linner2:\\n	cmp $0x40, %rdx\\n	jb 1f\\n\"\n"
        "        \"	add $1, %rax\\n1:	ret\\n	.byte 0x0f, 0x1f, 0x44, 0, 0\\n	ret\\n\"\n"
        "        \".size copy2, .-copy2\\n\"\n"
        /*
         * copy3 starts with a branch and has no padding after it, but 8 bytes
         * of no-ops before it, after before3's return (its unwind information
         * says where before3 ends): a door can lead there
         */
        "        \".globl before3\\n.type before3, @function\\nbefore3:\\n	"
        ".cfi_startproc\\n\"\n"
        "        \"	mov %rdi, %rax\\n	ret\\n	.cfi_endproc\\n.size before3, "
        ".-before3\\n\"\n"
        "        \"	.byte 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0\\n\"\n"
        "        \".globl copy3\\n.type copy3, @function\\ncopy3:\\n\"\n"
        "        \"	test %rdx, %rdx\\n	je 1f\\n	lea 1(%rdi), %rax\\n	"
        "ret\\n1:	mov %rdi, %rax\\n\"\n"
        "        \"	ret\\n.size copy3, .-copy3\\n	.fill 130, 1, 0xcc\\n\"\n"
        /* the same, but before4 falls through the no-ops into copy4: no door there */
        "        \".globl before4\\n.type before4, @function\\nbefore4:\\n	"
        ".cfi_startproc\\n\"\n"
        "        \"	xor %edx, %edx\\n	cmp $100, %rdi\\n	jae .Lbig4\\n	"
        ".cfi_endproc\\n\"\n"
        "        \".size before4, .-before4\\n	.byte 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0\\n\"\n"
        "        \".globl copy4\\n.type copy4, @function\\ncopy4:\\n\"\n"
        "        \"	test %rdx, %rdx\\n	je 1f\\n	lea 1(%rdi), %rax\\n	"
        "ret\\n1:	mov %rdi, %rax\\n\"\n"
        "        \"	ret\\n.Lbig4:	mov $7, %eax\\n	ret\\n.size copy4, .-copy4\\n\"\n"
        "        \"	.fill 130, 1, 0xcc\\n\"\n"
        /*
         * before5's mov holds the bytes of a short jump into copy5's first
         * ones (eb 03, to copy5 + 2): decoded from before5's start (its unwind
         * information), they are an immediate, and copy5 gets its door
         */
        "        \".globl before5\\n.type before5, @function\\nbefore5:\\n	"
        ".cfi_startproc\\n\"\n"
        "        \"	mov $0x03eb0000, %eax\\n	ret\\n	.cfi_endproc\\n.size before5, "
        ".-before5\\n\"\n"
        "        \".globl copy5\\n.type copy5, @function\\ncopy5:\\n\"\n"
        "        \"	mov %rdi, %rax\\n	add $1, %rax\\n	ret\\n.size copy5, .-copy5\\n\"\n"
        "        \"	.fill 130, 1, 0xcc\\n\");\n"
        "long copy(long, long, long), copy2(long, long, long);\n"
        "long shifted(long, long, long), shifted2(long, long, long);\n"
        "long copy3(long, long, long), copy4(long, long, long), before3(long), before4(long);\n"
        "long copy5(long), before5(void);\n"
        "int main(void) {\n"
        "	long s = 0, s2 = 0, s3 = 0;\n"
        "	for (int i = 0; i < 5; i++)\n"
        "		s += copy(i, 0, i);\n"
        "	for (int i = 0; i < 50; i++)\n"
        "		s2 += copy2(i, 0, i) + shifted2(1, 0, 2);\n"
        "	for (int i = 0; i < 50; i++)\n"
        "		s3 += copy3(i, 0, i) + copy4(i, 0, i) + before4(i) + before3(0);\n"
        "	for (int i = 0; i < 50; i++)\n"
        "		s3 += copy5(i) + (before5() == 0x03eb0000);\n"
        "	return s + shifted(1, 0, 2) == 10 + 3 && s2 == 1225 + 150 &&\n"
        "	       s3 == 2 * 1274 + 1225 + 1275 + 50 ? 42 : 1;\n"
        "}\n";

/*
 * A signal the program sends itself by a system call right before a
 * scope's entry: the kernel reports it with the thread at the entry, its
 * breakpoint not yet run. The handler runs in the scope, as when the
 * breakpoint's trap comes first.
 */
static const char fixture_sigentry[] =
        "#include <signal.h>\n"
        "#include <unistd.h>\n"
        "__asm__(\".text\\n.globl raise_then_enter\\n.type raise_then_enter, @function\\n\"\n"
        "        \"raise_then_enter:\\n	mov $62, %eax\\n	mov $10, %esi\\n	"
        "syscall\\n\"\n"
        "        \".globl entered\\n.type entered, @function\\nentered:\\n	mov $7, %eax\\n\"\n"
        "        \"	ret\\n.size entered, .-entered\\n\");\n"
        "int raise_then_enter(int pid);\n"
        "static volatile int handled;\n"
        "static void on_usr1(int sig) { handled += sig == SIGUSR1; }\n"
        "int main(void) {\n"
        "	int s = 0;\n"
        "	signal(SIGUSR1, on_usr1);\n"
        "	for (int i = 0; i < 3; i++)\n"
        "		s += raise_then_enter(getpid());\n"
        "	return s == 21 && handled == 3 ? 42 : 1;\n"
        "}\n";

/*
 * Calls past the depth limit of top (call-depth 2) whose callees run
 * natively: leaf from near_site, rec from rec (which runs its own return
 * site again, deeper, natively); far_site's return site is jumped into
 * from 5000 bytes further on in far_site, too far for the bytes scanned
 * around it, so that only decoding far_site whole says no door may go
 * there. main then runs all three outside the scope, natively, across
 * the doors (far_site(0) by that jump).
 */
#define ASM_NEAR_SITE                                                                              \
	"__asm__(\".text\\n\"\n"                                                                   \
	"        \".globl leaf\\n.type leaf, @function\\nleaf:\\n	lea 1(%rdi), %rax\\n	"           \
	"ret\\n\"\n"                                                                               \
	"        \".size leaf, .-leaf\\n\"\n"                                                      \
	"        \".globl near_site\\n.type near_site, @function\\nnear_site:\\n	"                 \
	".cfi_startproc\\n\"\n"                                                                    \
	"        \"	sub $8, %rsp\\n	.cfi_adjust_cfa_offset 8\\n	call leaf\\n	add $8, "             \
	"%rsp\\n\"\n"                                                                              \
	"        \"	.cfi_adjust_cfa_offset -8\\n	add $1, %rax\\n	ret\\n	"                          \
	".cfi_endproc\\n\"\n"                                                                      \
	"        \".size near_site, .-near_site\\n\"\n"

static const char fixture_retdoor[] = ASM_NEAR_SITE
        "        \".globl far_site\\n.type far_site, @function\\nfar_site:\\n	"
        ".cfi_startproc\\n\"\n"
        "        \"	push %rbx\\n	.cfi_adjust_cfa_offset 8\\n	xor %ebx, %ebx\\n\"\n"
        "        \"	test %rdi, %rdi\\n	je .Lskip\\n	call leaf\\n	mov %rax, "
        "%rbx\\n\"\n"
        "        \".Lin:	add $1, %rbx\\n	mov %rbx, %rax\\n	pop %rbx\\n\"\n"
        "        \"	.cfi_adjust_cfa_offset -8\\n	ret\\n	.cfi_adjust_cfa_offset 8\\n\"\n"
        "        \".Lskip:	.fill 5000, 1, 0x90\\n	jmp .Lin\\n	.cfi_endproc\\n\"\n"
        "        \".size far_site, .-far_site\\n\"\n"
        "        \".globl rec\\n.type rec, @function\\nrec:\\n	.cfi_startproc\\n\"\n"
        "        \"	test %rdi, %rdi\\n	jne 1f\\n	mov $1, %eax\\n	ret\\n\"\n"
        "        \"1:	sub $8, %rsp\\n	.cfi_adjust_cfa_offset 8\\n	dec %rdi\\n	call "
        "rec\\n\"\n"
        "        \"	add $8, %rsp\\n	.cfi_adjust_cfa_offset -8\\n	add $2, %rax\\n	ret\\n\"\n"
        "        \"	.cfi_endproc\\n.size rec, .-rec\\n\");\n"
        "long near_site(long), far_site(long), rec(long);\n"
        "long top(long n) {\n"
        "	long s = 0;\n"
        "	for (long i = 0; i < n; i++)\n"
        "		s += near_site(i) + far_site(i + 1) + rec(3);\n"
        "	return s;\n"
        "}\n"
        "int main(void) {\n"
        "	long s = top(20), t = 0;\n"
        "	for (long i = 0; i < 20; i++)\n"
        "		t += near_site(i) + far_site(0) + rec(3);\n"
        "	return s == 620 && t == 390 ? 42 : 1;\n"
        "}\n";

/*
 * A scope entered again from the call past its depth limit (call-depth 1:
 * walk's callees are not recorded): walk calls apply, which calls walk
 * back, four deep. apply's return site in walk and walk's in apply both
 * take return doors.
 */
static const char fixture_nested[] =
        "__asm__(\".text\\n\"\n"
        "        \".globl walk\\n.type walk, @function\\nwalk:\\n	.cfi_startproc\\n\"\n"
        "        \"	push %rbx\\n	.cfi_adjust_cfa_offset 8\\n	mov %rdi, %rbx\\n\"\n"
        "        \"	mov $1, %eax\\n	test %rdi, %rdi\\n	jle 1f\\n\"\n"
        "        \"	lea -1(%rdi), %rsi\\n	lea walk(%rip), %rdi\\n	call apply\\n\"\n"
        "        \"	add %rbx, %rax\\n	pop %rbx\\n	.cfi_remember_state\\n\"\n"
        "        \"	.cfi_adjust_cfa_offset -8\\n	ret\\n	.cfi_restore_state\\n\"\n"
        "        \"1:	pop %rbx\\n	.cfi_adjust_cfa_offset -8\\n	ret\\n\"\n"
        "        \"	.cfi_endproc\\n.size walk, .-walk\\n\"\n"
        "        \".globl apply\\n.type apply, @function\\napply:\\n	.cfi_startproc\\n\"\n"
        "        \"	sub $8, %rsp\\n	.cfi_adjust_cfa_offset 8\\n	mov %rdi, %rax\\n\"\n"
        "        \"	mov %rsi, %rdi\\n	call *%rax\\n	lea 1(%rax,%rax), %rax\\n\"\n"
        "        \"	add $8, %rsp\\n	.cfi_adjust_cfa_offset -8\\n	ret\\n\"\n"
        "        \"	.cfi_endproc\\n.size apply, .-apply\\n\"\n"
        "        \".globl drive\\n.type drive, @function\\ndrive:\\n	.cfi_startproc\\n\"\n"
        "        \"	sub $8, %rsp\\n	.cfi_adjust_cfa_offset 8\\n	mov $4, %edi\\n\"\n"
        "        \"	call walk\\n	add $8, %rsp\\n	.cfi_adjust_cfa_offset -8\\n	ret\\n\"\n"
        "        \"	.cfi_endproc\\n.size drive, .-drive\\n\");\n"
        "long drive(void);\n"
        "int main(void) {\n"
        "	long s = 0;\n"
        "	for (int i = 0; i < 20; i++)\n"
        "		s += drive();\n"
        "	return s == 20 * 57 ? 42 : 1;\n"
        "}\n";

/*
 * top (the scope, call-depth 1) calls work past its depth limit; drive
 * calls top from a site where no return door fits (a call follows the
 * inc within 5 bytes): top's frame returns there, a watch instead.
 */
static const char fixture_watch[] =
        "__asm__(\".text\\n\"\n"
        "        \".globl work\\n.type work, @function\\nwork:\\n	lea 1(%rdi), %rax\\n	"
        "ret\\n\"\n"
        "        \".size work, .-work\\n\"\n"
        "        \".globl top\\n.type top, @function\\ntop:\\n	.cfi_startproc\\n\"\n"
        "        \"	sub $8, %rsp\\n	.cfi_adjust_cfa_offset 8\\n	call work\\n\"\n"
        "        \"	add $8, %rsp\\n	.cfi_adjust_cfa_offset -8\\n	ret\\n\"\n"
        "        \"	.cfi_endproc\\n.size top, .-top\\n\"\n"
        "        \".globl drive\\n.type drive, @function\\ndrive:\\n	.cfi_startproc\\n\"\n"
        "        \"	sub $8, %rsp\\n	.cfi_adjust_cfa_offset 8\\n	mov $1, %edi\\n\"\n"
        "        \"	call top\\n	inc %eax\\n	mov %eax, %edi\\n	call top\\n\"\n"
        "        \"	add $8, %rsp\\n	.cfi_adjust_cfa_offset -8\\n	ret\\n\"\n"
        "        \"	.cfi_endproc\\n.size drive, .-drive\\n\");\n"
        "long drive(void);\n"
        "int main(void) {\n"
        "	long s = 0;\n"
        "	for (int i = 0; i < 20; i++)\n"
        "		s += drive();\n"
        "	return s == 20 * 4 ? 42 : 1;\n"
        "}\n";

/*
 * near_site's return door, passed natively by threads that never enter
 * the scope: one made before the door was written, one after.
 */
static const char fixture_retthreads[] =
        ASM_NEAR_SITE "        );\n"
                      "#include <pthread.h>\n"
                      "long near_site(long);\n"
                      "static volatile int go;\n"
                      "static long runs(void) {\n"
                      "	long s = 0;\n"
                      "	for (long i = 0; i < 200; i++)\n"
                      "		s += near_site(i);\n"
                      "	return s;\n"
                      "}\n"
                      "static void *worker(void *p) {\n"
                      "	while (!go)\n"
                      "		;\n"
                      "	*(long *)p = runs();\n"
                      "	return 0;\n"
                      "}\n"
                      "long top(long n) {\n"
                      "	long s = 0;\n"
                      "	for (long i = 0; i < n; i++)\n"
                      "		s += near_site(i);\n"
                      "	return s;\n"
                      "}\n"
                      "int main(void) {\n"
                      "	pthread_t a, b;\n"
                      "	long ra = 0, rb = 0, s;\n"
                      "	pthread_create(&a, 0, worker, &ra);\n"
                      "	s = top(20);\n"
                      "	go = 1;\n"
                      "	pthread_create(&b, 0, worker, &rb);\n"
                      "	pthread_join(a, 0);\n"
                      "	pthread_join(b, 0);\n"
                      "	return s == 230 && ra == 20300 && rb == 20300 ? 42 : 1;\n"
                      "}\n";

/* A scope's door by padding, in a library loaded, unloaded and loaded again. */
static const char fixture_libhot[] =
        "__asm__(\".text\\n.globl hot\\n.type hot, @function\\nhot:\\n\"\n"
        "        \"	mov %rdi, %rax\\n.Lin:\\n	add $1, %rax\\n	ret\\n\"\n"
        "        \"	.byte 0x0f, 0x1f, 0x44, 0, 0\\n	ret\\n.size hot, .-hot\\n\"\n"
        "        \".globl hot_in\\n.type hot_in, @function\\nhot_in:\\n\"\n"
        "        \"	mov %rdi, %rax\\n	jmp .Lin\\n.size hot_in, .-hot_in\\n\");\n";

static const char fixture_reload[] =
        "#include <dlfcn.h>\n"
        "int main(void) {\n"
        "	long s = 0;\n"
        "	for (int round = 0; round < 2; round++) {\n"
        "		void *h = dlopen(LIBHOT, RTLD_NOW);\n"
        "		long (*hot)(long) = h ? (long (*)(long))dlsym(h, \"hot\") : 0;\n"
        "		if (!hot)\n"
        "			return 2;\n"
        "		for (int i = 0; i < 50; i++)\n"
        "			s += hot(i);\n"
        "		dlclose(h);\n"
        "	}\n"
        "	return s == 2 * (1225 + 50) ? 42 : 1;\n"
        "}\n";

/*
 * A scope entered N times from one loop (hot1: once; hot1000). With
 * TAKEN (taken: 100 times), the engine's data area's fixed place
 * (docs/engine.md, "Memory") is mapped by the program first.
 */
static const char fixture_hot[] =
        "#include <sys/mman.h>\n"
        "__asm__(\".text\\n.globl leaf\\n.type leaf, @function\\nleaf:\\n\"\n"
        "        \"	mov %rdi, %rax\\n	add $1, %rax\\n	ret\\n.size leaf, .-leaf\\n\");\n"
        "long leaf(long);\n"
        "int main(void) {\n"
        "	long s = 0;\n"
        "#ifdef TAKEN\n"
        "	if (mmap((void *)0x200000000, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS |\n"
        "	         MAP_FIXED_NOREPLACE, -1, 0) != (void *)0x200000000)\n"
        "		return 2;\n"
        "#endif\n"
        "	for (long i = 0; i < N; i++)\n"
        "		s += leaf(i);\n"
        "	return s == N * (N + 1) / 2 ? 42 : 1;\n"
        "}\n";

/*
 * work (the scope) logs a record per turn of its loop, then sleeps in a
 * system call of its own (no stop) for 50 ms: the tracer wakes meanwhile.
 */
static const char fixture_sleeper[] =
        "#include <sys/syscall.h>\n"
        "#include <time.h>\n"
        "long work(long n) {\n"
        "	struct timespec ts = { 0, 50000000 };\n"
        "	long s = 0, r;\n"
        "	for (long i = 0; i < n; i++)\n"
        "		s += i;\n"
        "	__asm__ volatile(\"syscall\" : \"=a\"(r)\n"
        "	                 : \"0\"((long)SYS_nanosleep), \"D\"(&ts), \"S\"(0L)\n"
        "	                 : \"rcx\", \"r11\", \"memory\");\n"
        "	return r ? -1 : s;\n"
        "}\n"
        "int main(void) {\n"
        "	return work(3000) == 3000L * 2999 / 2 ? 42 : 1;\n"
        "}\n";

static const char *tpath(const char *name)
{
	return test_path(tmpdir, name);
}

/* build_with - compile source into tmpdir/name with gcc's flags */
static int build_with(const char *name, const char *source, const char *flags)
{
	char src[600];
	FILE *f;

	snprintf(src, sizeof(src), "%s.c", tpath(name));
	f = fopen(src, "w");
	if (!f)
		return -1;
	fputs(source, f);
	fclose(f);
	return test_sh("gcc -O1 %s -fno-inline -pthread -o %s %s", flags, tpath(name), src);
}

/* build - compile source into tmpdir/name (no PIE) */
static int build(const char *name, const char *source)
{
	return build_with(name, source, "-no-pie");
}

/* build_reload - libhot.so, and reload, which loads it twice by its path */
static int build_reload(void)
{
	char flags[700];

	snprintf(flags, sizeof(flags), "-no-pie -DLIBHOT='\"%s\"'", tpath("libhot.so"));
	return build_with("libhot.so", fixture_libhot, "-shared -fPIC") ||
	       build_with("reload", fixture_reload, flags);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	return build("prog", fixture) || build("kick", fixture_kick) ||
	                       build("door", fixture_door) || build("sigentry", fixture_sigentry) ||
	                       build("retdoor", fixture_retdoor) ||
	                       build("retthreads", fixture_retthreads) ||
	                       build("nested", fixture_nested) || build("watch", fixture_watch) ||
	                       build_with("hot1", fixture_hot, "-no-pie -DN=1") ||
	                       build_with("hot1000", fixture_hot, "-no-pie -DN=1000") ||
	                       build_with("taken", fixture_hot, "-no-pie -DN=100 -DTAKEN") ||
	                       build("sleeper", fixture_sleeper) || build_reload()
	               ? -1
	               : 0;
}

static int teardown(void **state)
{
	(void)state;
	return test_sh("rm -rf %s", tmpdir);
}

/* addr_in - a function's address in a fixture (no PIE: where it runs) */
static uint64_t addr_in(const char *prog, const char *name)
{
	struct sym_image *img = sym_image_open(tpath(prog), NULL, NULL);
	struct sym_info si;

	assert_non_null(img);
	assert_int_equal(sym_image_by_name(img, name, &si, NULL), 1);
	sym_image_free(img);
	return si.addr;
}

static uint64_t addr_of(const char *name)
{
	return addr_in("prog", name);
}

/* trace_with - fixture prog traced by engine with config kdl; its exit code */
static struct store_reader *trace_with(const struct backend_ops *engine, const char *prog,
                                       const char *kdl, int *exit_code)
{
	char *argv[] = { (char *)prog, NULL };
	volatile sig_atomic_t stop = 0;
	struct session s = { 0 };
	struct store_reader *r;
	struct config cfg;
	struct err err = { 0 };

	if (config_parse(&cfg, kdl, "test.kdl", &err))
		fail_msg("config: %s", err.msg);
	s.path = xstrdup(tpath(prog));
	s.argv = argv;
	s.cfg = &cfg;
	s.cpu = CPU_ANY;
	s.stop = &stop;
	s.store = store_create(tpath("t.trace"), true, &err);
	assert_non_null(s.store);
	if (session_run(&s, engine, &err))
		fail_msg("run: %s", err.msg);
	assert_int_equal(store_close(s.store, &err), 0);
	assert_false(s.exit.signaled);
	*exit_code = s.exit.code;
	session_forget(&s);
	config_fini(&cfg);
	r = reader_open(tpath("t.trace"), &err);
	if (!r)
		fail_msg("reader_open: %s", err.msg);
	return r;
}

static struct store_reader *trace(const char *kdl, int *exit_code)
{
	return trace_with(&backend_step, "prog", kdl, exit_code);
}

/* calls - every call of the trace, in id order (free it); *n how many */
static struct reader_call *calls(struct store_reader *r, size_t *n)
{
	struct reader_counts counts;
	struct reader_call *c;
	struct err err = { 0 };

	assert_int_equal(reader_counts(r, &counts, &err), 0);
	*n = (size_t)counts.calls;
	c = xcalloc(*n + 1, sizeof(*c));
	for (size_t i = 0; i < *n; i++)
		assert_int_equal(reader_call_get(r, (int64_t)i, &c[i], &err), 0);
	return c;
}

/* count_kind - calls of that kind (and, for STORE_CALL_SIGNAL, that signal; 0: any) */
static size_t count_kind(const struct reader_call *c, size_t n, enum store_call_kind kind, int sig)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += c[i].kind == kind && (!sig || c[i].signal == sig);
	return k;
}

static void test_scope_signals_int3(void **state)
{
	struct reader_call *c;
	struct store_reader *r;
	size_t n, i;
	int code;

	(void)state;
	r = trace("trace \"scoped\" binary=\"prog\"", &code);
	assert_int_equal(code, 42); /* the program saw both its signals */
	c = calls(r, &n);
	/* the scope's entry: one call at scoped, by the breakpoint there, returned */
	assert_int_equal(count_kind(c, n, STORE_CALL_SCOPE, 0), 1);
	for (i = 0; c[i].kind != STORE_CALL_SCOPE; i++)
		;
	assert_int_equal(c[i].addr, addr_of("scoped"));
	assert_false(c[i].open);
	assert_int_equal(c[i].end, STORE_END_RETURN);
	assert_true(c[i].pos_end > c[i].pos_start);
	/* its handlers ran as signal calls: SIGUSR1 raised, SIGTRAP of its own int3 */
	assert_int_equal(count_kind(c, n, STORE_CALL_SIGNAL, SIGUSR1), 1);
	assert_int_equal(count_kind(c, n, STORE_CALL_SIGNAL, SIGTRAP), 1);
	/* leaf twice (once through deeper), deeper once, all recorded */
	for (size_t k = 0, leaf = 0, deeper = 0; k <= n; k++) {
		if (k == n) {
			assert_int_equal(leaf, 2);
			assert_int_equal(deeper, 1);
			break;
		}
		leaf += c[k].addr == addr_of("leaf") && !c[k].truncated;
		deeper += c[k].addr == addr_of("deeper") && !c[k].truncated;
	}
	free(c);
	reader_close(r);
}

/* Past the depth limit the callee is not recorded: leaf under deeper is truncated. */
static void test_depth_limit(void **state)
{
	struct reader_call *c;
	struct store_reader *r;
	size_t n, truncated = 0, recorded = 0;
	int code;

	(void)state;
	r = trace("trace \"scoped\" binary=\"prog\" call-depth=2", &code);
	assert_int_equal(code, 42);
	c = calls(r, &n);
	for (size_t k = 0; k < n; k++) {
		if (c[k].addr != addr_of("leaf"))
			continue;
		if (c[k].truncated) {
			truncated++;
			assert_int_equal(c[k].pos_end,
			                 c[k].pos_start); /* none of its instructions */
		} else {
			recorded++;
		}
	}
	assert_int_equal(truncated, 1); /* scoped > deeper > leaf: depth 3 */
	assert_int_equal(recorded, 1);  /* scoped > leaf: depth 2 */
	free(c);
	reader_close(r);
}

/*
 * dbt_materialize(): a thread interrupted anywhere in the code cache,
 * inside the engine's own code too (step_out()), gets the program's
 * exact state back (spin's result is the same as uninterrupted), its
 * handler is a signal call inside the scope, and the scope's own
 * instructions are those of the run without signals. A thread handed
 * back with the engine's registers, or at another instruction, fails
 * one of these.
 */
static void test_materialize_signals(void **state)
{
	struct reader_call *c;
	struct store_reader *r;
	uint64_t spin = addr_in("kick", "spin"), own[2] = { 0, 0 };
	size_t n, k, roots = 0, handlers = 0;
	int code;

	(void)state;
	r = trace_with(&backend_dbt, "kick", "trace \"spin\" binary=\"kick\"", &code);
	assert_int_equal(code, 42);
	c = calls(r, &n);
	for (k = 0; k < n; k++) {
		if (c[k].kind == STORE_CALL_SCOPE) {
			assert_int_equal(c[k].addr, spin);
			assert_true(roots < 2);
			own[roots++] = c[k].pos_end - c[k].pos_start;
		}
		if (c[k].kind == STORE_CALL_SIGNAL) {
			assert_int_equal(c[k].signal, SIGUSR1);
			assert_int_equal(c[k].depth, 2); /* SIGUSR1 is blocked in its handler */
			assert_true(roots == 1);         /* in the first spin */
			handlers++;
			own[0] -= c[k].pos_end - c[k].pos_start;
		}
	}
	assert_int_equal(roots, 2);
	assert_true(handlers > 0);
	assert_int_equal(own[0], own[1]);
	free(c);
	reader_close(r);
}

/* meta_int - the trace's integer metadata key, or -1 */
static int64_t meta_int(const struct store_reader *r, const char *key)
{
	for (size_t i = 0; i < reader_meta_count(r); i++) {
		const struct reader_meta *m = reader_meta_at(r, i);

		if (!strcmp(m->key, key) && m->is_int)
			return m->num;
	}
	return -1;
}

/*
 * The dbt engine writes no door where other code may jump into its bytes,
 * also from before the entry: shifted's jump into copy goes on as it
 * would natively (before, it ran the door's bytes and died of SIGSEGV).
 */
static void test_no_door_jumped_into(void **state)
{
	struct reader_call *c;
	struct store_reader *r;
	size_t n;
	int code;

	(void)state;
	r = trace_with(&backend_dbt, "door", "trace \"copy\" binary=\"door\"", &code);
	assert_int_equal(code, 42);
	c = calls(r, &n);
	assert_int_equal(count_kind(c, n, STORE_CALL_SCOPE, 0), 5);
	assert_int_equal(meta_int(r, "dbt_doors"), 0);
	free(c);
	reader_close(r);
}

/*
 * dbt_counts_of - prog traced with kdl by each engine: the same trace (its
 * scopes in *scopes), and the dbt engine's counts keys[0..n) in counts
 */
static void dbt_counts_of(const char *prog, const char *kdl, size_t n_keys, const char *const *keys,
                          int64_t *counts, size_t *scopes)
{
	struct reader_call *c;
	struct store_reader *r;
	int64_t insns;
	size_t n;
	int code;

	r = trace_with(&backend_step, prog, kdl, &code);
	assert_int_equal(code, 42);
	c = calls(r, &n);
	*scopes = count_kind(c, n, STORE_CALL_SCOPE, 0);
	insns = (int64_t)reader_thread_insn_count(r, 0);
	free(c);
	reader_close(r);
	r = trace_with(&backend_dbt, prog, kdl, &code);
	assert_int_equal(code, 42);
	c = calls(r, &n);
	assert_int_equal(count_kind(c, n, STORE_CALL_SCOPE, 0), *scopes);
	assert_int_equal((int64_t)reader_thread_insn_count(r, 0), insns);
	for (size_t k = 0; k < n_keys; k++)
		counts[k] = meta_int(r, keys[k]);
	free(c);
	reader_close(r);
}

/* dbt_count_of - dbt_counts_of() for one count */
static int64_t dbt_count_of(const char *prog, const char *kdl, const char *key, size_t *scopes)
{
	int64_t count;

	dbt_counts_of(prog, kdl, 1, &key, &count, scopes);
	return count;
}

/* doors_of - a scope of the door fixture: dbt_count_of() its doors */
static int64_t doors_of(const char *scope, size_t *scopes)
{
	char kdl[64];

	snprintf(kdl, sizeof(kdl), "trace \"%s\" binary=\"door\"", scope);
	return dbt_count_of("door", kdl, "dbt_doors", scopes);
}

/*
 * Calls past the depth limit run natively where a return door can be
 * written at their return sites (near_site's, rec's), with the step
 * engine's trace, and not where code far away in the same function jumps
 * into the site's bytes (far_site's: it ran the door's bytes natively).
 */
static void test_native_calls(void **state)
{
	size_t scopes;

	(void)state;
	assert_int_equal(dbt_count_of("retdoor", "trace \"top\" binary=\"retdoor\" call-depth=2",
	                              "dbt_native_calls", &scopes),
	                 2);
	assert_int_equal(scopes, 1);
}

/*
 * Threads the cache never ran pass a return door without a stop: the
 * one made before the door got the engine's foreign context when it was
 * written, the one made after inherits it (before, 400 stops).
 */
static void test_native_calls_threads(void **state)
{
	static const char *const keys[] = { "dbt_native_calls", "dbt_door_faults" };
	int64_t counts[2];
	size_t scopes;

	(void)state;
	dbt_counts_of("retthreads", "trace \"top\" binary=\"retthreads\" call-depth=2", 2, keys,
	              counts, &scopes);
	assert_int_equal(counts[0], 1);
	assert_int_equal(counts[1], 0);
	assert_int_equal(scopes, 1);
}

/*
 * A hot scope's entries after its first cost no stop: its door is written
 * at the first entry, with the door's way in (the entry's unrecorded
 * translation), and the stack walk's frames are learned there. Until
 * stop 37 the first return out of the scope, the second entry (which
 * wrote the door), the door's first use and that entry's walk each
 * stopped.
 */
static void test_hot_scope_stops(void **state)
{
	size_t once, hot;
	int64_t stops_once, stops_hot;

	(void)state;
	stops_once = dbt_count_of("hot1", "trace \"leaf\" binary=\"hot1\"", "dbt_stops", &once);
	stops_hot = dbt_count_of("hot1000", "trace \"leaf\" binary=\"hot1000\"", "dbt_stops", &hot);
	assert_int_equal(once, 1);
	assert_int_equal(hot, 1000);
	assert_int_equal(stops_hot, stops_once);
}

/*
 * Where the program has mapped the data area's fixed place, the data goes
 * anywhere (the batch's mmap refused, a mapping wherever the kernel puts
 * it) and the cache runs the scope: its entries after the first without
 * a stop, as in test_hot_scope_stops.
 */
static void test_data_place_taken(void **state)
{
	static const char *const keys[] = { "dbt_blocks", "dbt_doors", "dbt_stepped_insns" };
	int64_t counts[3];
	size_t scopes;

	(void)state;
	dbt_counts_of("taken", "trace \"leaf\" binary=\"taken\"", 3, keys, counts, &scopes);
	assert_int_equal(scopes, 100);
	assert_true(counts[0] > 0);
	assert_int_equal(counts[1], 1);
	assert_int_equal(counts[2], 0);
}

/*
 * Records a thread logs with no stop after them are handed to the replay
 * worker while it runs: the tracer wakes 2 ms after the last stop, while
 * work() sleeps, and hands over its loop's records (a job of the running
 * thread's ring, which it goes on writing), so that its exit stop has
 * little left to replay. The trace is the step engine's.
 */
static void test_running_jobs(void **state)
{
	size_t scopes;

	(void)state;
	assert_true(dbt_count_of("sleeper", "trace \"work\" binary=\"sleeper\"", "dbt_running_jobs",
	                         &scopes) > 0);
	assert_int_equal(scopes, 1);
}

/*
 * A scope entered from the call past its depth limit (a callback): the
 * callee runs natively, the nested scope is entered through the door
 * without a stop, and its return goes on natively in the callee (resumed).
 * Of each drive()'s five walks, the four nested ones; the first drive()
 * goes through the stops that write the doors. The trace is the step
 * engine's.
 */
static void test_nested_scopes(void **state)
{
	static const char *const keys[] = { "dbt_nested_scopes", "dbt_resumed" };
	int64_t counts[2];
	size_t scopes;

	(void)state;
	dbt_counts_of("nested", "trace \"walk\" binary=\"nested\" call-depth=1", 2, keys, counts,
	              &scopes);
	assert_int_equal(scopes, 100);
	assert_in_range(counts[0], 19 * 4, 20 * 4);
	assert_in_range(counts[1], 19 * 4, 20 * 4);
}

/*
 * A call past the depth limit runs natively from a frame whose return
 * address can hold no return door (drive's first call of top): a watch
 * is written there instead. The trace is the step engine's.
 */
static void test_native_calls_watched(void **state)
{
	static const char *const keys[] = { "dbt_native_calls", "dbt_watches" };
	int64_t counts[2];
	size_t scopes;

	(void)state;
	dbt_counts_of("watch", "trace \"top\" binary=\"watch\" call-depth=1", 2, keys, counts,
	              &scopes);
	assert_int_equal(scopes, 40);
	assert_int_equal(counts[0], 1);
	assert_int_equal(counts[1], 1);
}

/*
 * Where code jumps into the entry's bytes but padding after a return is
 * near, the door is a short jump to a jump there: copy2 gets one, and
 * shifted2's jump past its first instruction still goes on as natively.
 * The trace is the step engine's.
 */
static void test_door_by_padding(void **state)
{
	size_t scopes;

	(void)state;
	assert_int_equal(doors_of("copy2", &scopes), 1);
	assert_int_equal(scopes, 50);
}

/*
 * An entry that starts with a branch and has no padding after it, but
 * padding before it, after a function whose unwind information ends with a
 * return: the door leads there (copy3). Where the function before falls
 * through the padding into the entry (before4 into copy4: 100 entries,
 * half of them that way), no door is written, and the fall-through goes
 * on as natively. Both traces are the step engine's.
 */
static void test_door_by_padding_before(void **state)
{
	size_t scopes;

	(void)state;
	assert_int_equal(doors_of("copy3", &scopes), 1);
	assert_int_equal(scopes, 50);
	assert_int_equal(doors_of("copy4", &scopes), 0);
	assert_int_equal(scopes, 100);
}

/*
 * Bytes before an entry that look like a short jump into its first ones,
 * but are part of another instruction of a function whose unwind
 * information says where it starts: copy5 gets its door.
 */
static void test_door_past_lookalike(void **state)
{
	size_t scopes;

	(void)state;
	assert_int_equal(doors_of("copy5", &scopes), 1);
	assert_int_equal(scopes, 50);
}

/*
 * A signal that stops a thread at a scope's entry before its breakpoint
 * does: the scope is entered first, and its handler is a signal call in
 * it, with each engine (before, the handler ran before the scope, or in
 * it, as the kernel reported the two).
 */
static void test_signal_at_entry(void **state)
{
	const struct backend_ops *engines[] = { &backend_step, &backend_dbt };
	struct reader_call *c;
	struct store_reader *r;
	size_t n;
	int code;

	(void)state;
	for (size_t e = 0; e < 2; e++) {
		r = trace_with(engines[e], "sigentry", "trace \"entered\" binary=\"sigentry\"",
		               &code);
		assert_int_equal(code, 42);
		c = calls(r, &n);
		assert_int_equal(count_kind(c, n, STORE_CALL_SCOPE, 0), 3);
		assert_int_equal(count_kind(c, n, STORE_CALL_SIGNAL, 0), 3);
		free(c);
		reader_close(r);
	}
}

/*
 * A door, by padding, in a library unloaded and loaded again: the door
 * and its padding's jump go with the library and are written again for
 * the new one, and the trace is the step engine's.
 */
static void test_door_reloaded(void **state)
{
	size_t scopes;

	(void)state;
	assert_int_equal(
	        dbt_count_of("reload", "trace \"hot\" binary=\"libhot.so\"", "dbt_doors", &scopes),
	        2);
	assert_int_equal(scopes, 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scope_signals_int3),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_materialize_signals),
		cmocka_unit_test(test_no_door_jumped_into),
		cmocka_unit_test(test_hot_scope_stops),
		cmocka_unit_test(test_data_place_taken),
		cmocka_unit_test(test_running_jobs),
		cmocka_unit_test(test_door_by_padding),
		cmocka_unit_test(test_door_by_padding_before),
		cmocka_unit_test(test_door_past_lookalike),
		cmocka_unit_test(test_door_reloaded),
		cmocka_unit_test(test_native_calls),
		cmocka_unit_test(test_native_calls_threads),
		cmocka_unit_test(test_nested_scopes),
		cmocka_unit_test(test_native_calls_watched),
		cmocka_unit_test(test_signal_at_entry),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
