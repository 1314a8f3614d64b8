/*
 * Fixture for test-sym: built several ways (PIE, non-PIE, static, IBT,
 * stripped, without frame pointers). With an argument it runs the call
 * chain main -> f1 -> f2 -> f3, and f3 stops on int3 for the unwinder test
 * (with NO_CFI_F3, "loop" and "garbage" stop in broken frames instead).
 */
#include <stdio.h>

void real_fn(void);
void alias_fn(void);
void _under_fn(void);
void f1(void);
void f2(void);
void f3(void);

void real_fn(void)
{
	puts("real");
}

void alias_fn(void) __attribute__((alias("real_fn")));
void _under_fn(void) __attribute__((weak, alias("real_fn")));

static __attribute__((noinline)) int static_helper(int x)
{
	return x * 3 + 1;
}

/* a symbol with an explicit size followed by bytes that belong to no symbol */
__asm__(".text\n"
        ".globl sized\n.type sized,@function\nsized: ret\n.size sized,1\n"
        ".byte 0x90,0x90,0x90,0x90,0x90,0x90,0x90\n"
        ".globl after_sized\n.type after_sized,@function\nafter_sized: ret\n.size after_sized,1\n");

#ifdef NO_CFI_F3 /* f3 and the broken frames are in nocfi.S */
void f3_loop(void);
void f3_garbage(void);
#else
__attribute__((noinline)) void f3(void)
{
	__asm__ volatile("int3");
}
#endif

__attribute__((noinline)) void f2(void)
{
	f3();
	__asm__ volatile(""); /* not a tail call */
}

__attribute__((noinline)) void f1(void)
{
	f2();
	__asm__ volatile("");
}

int main(int argc, char **argv)
{
	puts("hello");
#ifdef NO_CFI_F3
	if (argc > 1 && argv[1][0] == 'l')
		f3_loop();
	if (argc > 1 && argv[1][0] == 'g')
		f3_garbage();
#endif
	if (argc > 1)
		f1();
	return static_helper(argc) == 0;
}
