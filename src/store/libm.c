/*
 * The C math library, loaded the first time one of SQLite's SQL math
 * functions (acos(), pow(), ...) is called. Debian's SQLite archive has
 * them, so linking it made libm a library every nosco command loaded and
 * relocated at start-up (0.3 ms of `nosco --version` on the development
 * VM, where mapping memory is dear), though nosco's own SQL calls none of
 * them. The nosco binary links this file as an object, before the
 * archives, so that SQLite's calls come here; without libm, they return
 * NaN.
 */
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>

#define LIBM_UNARY(X)                                                                              \
	X(acos)                                                                                    \
	X(acosh) X(asin) X(asinh) X(atan) X(atanh) X(cos) X(cosh) X(exp) X(log) X(sin) X(sinh)     \
	        X(sqrt) X(tan) X(tanh) X(trunc)
#define LIBM_BINARY(X) X(atan2) X(fmod) X(pow)

#define LIBM_PTR1(f)   double (*f)(double);
#define LIBM_PTR2(f)   double (*f)(double, double);
static struct {
	LIBM_UNARY(LIBM_PTR1)
	LIBM_BINARY(LIBM_PTR2)
} libm;
static pthread_once_t libm_once = PTHREAD_ONCE_INIT;

static void libm_load(void)
{
	void *lib = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);

	if (!lib)
		return;
#define LIBM_SYM(f) *(void **)&libm.f = dlsym(lib, #f);
	LIBM_UNARY(LIBM_SYM)
	LIBM_BINARY(LIBM_SYM)
}

#define LIBM_DEF1(f)                                                                               \
	double f(double x)                                                                         \
	{                                                                                          \
		pthread_once(&libm_once, libm_load);                                               \
		return libm.f ? libm.f(x) : NAN;                                                   \
	}
#define LIBM_DEF2(f)                                                                               \
	double f(double x, double y)                                                               \
	{                                                                                          \
		pthread_once(&libm_once, libm_load);                                               \
		return libm.f ? libm.f(x, y) : NAN;                                                \
	}
LIBM_UNARY(LIBM_DEF1)
LIBM_BINARY(LIBM_DEF2)
