/* Fixture for test-sym: a shared object with a soname. */
int symtest_exported(int x);

int symtest_exported(int x)
{
	return x + 1;
}
