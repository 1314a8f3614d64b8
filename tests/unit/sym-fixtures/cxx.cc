// Fixture for test-sym: a mangled C++ member function.
#include <cstdio>

namespace ns
{
struct Widget {
	int v;
	int frob(int x) const;
};

__attribute__((noinline)) int Widget::frob(int x) const
{
	return v + x;
}
} // namespace ns

int main(int argc, char **)
{
	ns::Widget w{ argc };
	std::printf("%d\n", w.frob(argc));
	return 0;
}
