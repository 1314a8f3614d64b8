/*
 * A format whose output is a directory (EXPORT_FLAG_DIR: uftrace's
 * uftrace.data) writes its files into a new directory next to OUT
 * (OUT.nosco-XXXXXX), which replaces OUT only once it is whole. OUT may
 * be missing, an empty directory, or a uftrace data directory (an earlier
 * export, or uftrace's own recording): anything else is refused before
 * anything is written, and an error leaves OUT as it was.
 */
#ifndef NOSCO_EXPORT_OUTDIR_H
#define NOSCO_EXPORT_OUTDIR_H

#include <stdbool.h>
#include <stdio.h>

#include "util/err.h"

struct export_outdir {
	const char *out; /* OUT, as given */
	char *tmp;       /* the directory being written */
};

/* export_outdir_open - check OUT and create the new directory; ERR_USAGE for an OUT not to replace
 */
int export_outdir_open(struct export_outdir *o, const char *out, struct err *err);

/* export_outdir_file - create a file of the new directory (or append to it), or NULL with err */
FILE *export_outdir_file(struct export_outdir *o, const char *name, struct err *err);

/* export_outdir_close_file - close it; -1 with err if anything could not be written */
int export_outdir_close_file(struct export_outdir *o, FILE *f, const char *name, struct err *err);

/*
 * export_outdir_close - with @keep, put the new directory in OUT's place
 * (an old OUT is moved aside, then removed); without it, or when that
 * fails, remove it. Return: 0, or -1 with err.
 */
int export_outdir_close(struct export_outdir *o, bool keep, struct err *err);

#endif
