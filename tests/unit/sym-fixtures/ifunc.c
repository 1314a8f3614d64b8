/*
 * Fixture for test-sym: an IFUNC. Built as a shared object that exports
 * it (its own calls go through a JUMP_SLOT, the name being preemptible)
 * and, with -DCALLER, as a program calling it from that object (a
 * JUMP_SLOT too) or, with -DSELF, defining it itself (an IRELATIVE slot).
 */
typedef int (*symtest_fn)(int);

int symtest_ifunc(int x);

#ifndef CALLER
static int symtest_impl(int x)
{
	return x + 1;
}

static symtest_fn symtest_resolve(void)
{
	return symtest_impl;
}

int symtest_ifunc(int x) __attribute__((ifunc("symtest_resolve")));
int symtest_ifunc2(int x) __attribute__((ifunc("symtest_resolve")));

int symtest_use(int x);

int symtest_use(int x)
{
	return symtest_ifunc(x) + symtest_ifunc2(x);
}
#endif

#if defined(CALLER) || defined(SELF)
int main(void)
{
	return symtest_ifunc(1) == 2 ? 0 : 1;
}
#endif
