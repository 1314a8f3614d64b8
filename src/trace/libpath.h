/*
 * Where the dynamic linker looks for libraries, to tell a binary name that
 * a program may still load (dlopen("libm.so.6")) from one it cannot.
 */
#ifndef NOSCO_TRACE_LIBPATH_H
#define NOSCO_TRACE_LIBPATH_H

#include <stdbool.h>

/**
 * libpath_has - is there a library file of this name where a dlopen of
 * the name would look
 * @name: a file name, without a directory
 * @exe: the program's file, for $ORIGIN
 * @runpath: the program's DT_RUNPATH or DT_RPATH, or NULL
 *
 * The places: LD_LIBRARY_PATH (the program has nosco's environment), the
 * program's run path, the libraries and directories of /etc/ld.so.cache,
 * and the default directories.
 */
bool libpath_has(const char *name, const char *exe, const char *runpath);

#endif
