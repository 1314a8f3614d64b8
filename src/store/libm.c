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

static void *libm;
static pthread_once_t libm_once = PTHREAD_ONCE_INIT;

static void libm_open(void)
{
	libm = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
}

/* libm_fn - libm's function name, or NULL: looked up at every call, as nosco's own SQL makes none
 */
static void *libm_fn(const char *name)
{
	pthread_once(&libm_once, libm_open);
	return libm ? dlsym(libm, name) : NULL;
}

#define LIBM_1(f)                                                                                  \
	double f(double x)                                                                         \
	{                                                                                          \
		double (*fn)(double);                                                              \
                                                                                                   \
		*(void **)&fn = libm_fn(#f);                                                       \
		return fn ? fn(x) : NAN;                                                           \
	}
#define LIBM_2(f)                                                                                  \
	double f(double x, double y)                                                               \
	{                                                                                          \
		double (*fn)(double, double);                                                      \
                                                                                                   \
		*(void **)&fn = libm_fn(#f);                                                       \
		return fn ? fn(x, y) : NAN;                                                        \
	}

LIBM_1(acos)
LIBM_1(acosh)
LIBM_1(asin)
LIBM_1(asinh)
LIBM_1(atan)
LIBM_1(atanh)
LIBM_1(cos)
LIBM_1(cosh)
LIBM_1(exp)
LIBM_1(log)
LIBM_1(sin)
LIBM_1(sinh)
LIBM_1(sqrt)
LIBM_1(tan)
LIBM_1(tanh)
LIBM_1(trunc)
LIBM_2(atan2)
LIBM_2(fmod)
LIBM_2(pow)
