/*
 * The dump views. A view reads an opened trace (store/reader.h) and writes
 * text to an output stream; `nosco dump` (src/cmd/dump.c) opens the file,
 * picks the view by name and reports its errors. Views never print
 * messages or exit: problems go into the struct err, and a view that met
 * damage part-way still writes everything it could read before returning
 * -1.
 */
#ifndef NOSCO_VIEW_VIEW_H
#define NOSCO_VIEW_VIEW_H

#include <stdbool.h>
#include <stdio.h>

#include "store/reader.h"
#include "util/err.h"

/* What every view gets. */
struct view_args {
	struct store_reader *reader; /* the opened trace */
	FILE *out;                   /* where the view writes its output */
	bool symbols;                /* false with -n: show raw addresses only */
	const char *sysroot;         /* --sysroot DIR, or NULL */
	int argc;                    /* the view's own arguments: argv[0] is its name */
	char **argv;
};

/*
 * Every view has the signature of view_events(). Return: 0, or -1 with
 * err: ERR_USAGE for a bad view argument (exit code 2), anything else for
 * a trace that cannot be read as asked (exit code 1).
 */

/**
 * view_events - every record of the trace, one per line, in file order
 * @a: the trace, the output and the view's arguments (only --help)
 * @err: the first record that could not be read
 *
 * Sections: meta, argv, binaries, threads, events, calls, then each
 * thread's instructions by position (docs/trace-format.md, "Raw dump").
 */
int view_events(const struct view_args *a, struct err *err);

/* view_events_usage - the help text of the events view */
extern const char view_events_usage[];

#endif
