/*
 * The dump views. A view reads an opened trace (store/reader.h) and writes
 * text to an output stream; `nosco dump` (src/cmd/dump.c) opens the file,
 * picks the view by name and reports its errors. Views never print
 * messages or exit: problems go into the struct err (warnings, such as a
 * traced binary missing on disk, through view_args.warn), and a view that
 * met damage part-way still writes everything it could read before
 * returning -1. The output of every view is described in docs/views.md.
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
	bool lines;                  /* --lines: add file:line from DWARF */
	const char *sysroot;         /* --sysroot DIR, or NULL */
	int argc;                    /* the view's own arguments: argv[0] is its name */
	char **argv;
	/* warn - say something the user should know (once per cause); may be NULL */
	void (*warn)(void *ctx, const char *msg);
	void *warn_ctx;
};

/*
 * Every view is a view_fn. Return: 0, or -1 with err: ERR_USAGE for a bad
 * view argument (exit code 2), anything else for a trace that cannot be
 * read as asked (exit code 1).
 */
typedef int view_fn(const struct view_args *a, struct err *err);

/**
 * view_events - every record of the trace, one per line, in file order
 * @a: the trace, the output and the view's arguments (only --help)
 * @err: the first record that could not be read
 *
 * Sections: meta, argv, binaries, threads, events, calls, then each
 * thread's instructions by position (docs/trace-format.md, "Raw dump").
 */
int view_events(const struct view_args *a, struct err *err);

/**
 * view_thread_info - the threads: how each was created, its root calls, how it ended
 * @a: the trace; arguments [--addresses] [--backtrace] [TID]
 * @err: ERR_NOT_FOUND for a TID that is in no thread
 */
int view_thread_info(const struct view_args *a, struct err *err);

/**
 * view_call_info - one call, its backtrace and the state changes made inside it
 * @a: the trace; arguments [--addresses] [--backtrace] CALL_ID
 * @err: ERR_NOT_FOUND for an unknown call id
 */
int view_call_info(const struct view_args *a, struct err *err);

/**
 * view_call_trace - the tree of calls below a call, with their state changes
 * @a: the trace; arguments [--depth N] [--addresses] [--backtrace] CALL_ID
 * @err: ERR_NOT_FOUND for an unknown call id
 *
 * Streams: memory depends on the depth of the tree, not on its size.
 */
int view_call_trace(const struct view_args *a, struct err *err);

/**
 * view_binary_info - the binaries that were mapped, who loaded and unloaded them
 * @a: the trace; arguments [--addresses] [--backtrace] [SUFFIX]
 * @err: ERR_NOT_FOUND when no binary path ends with SUFFIX
 */
int view_binary_info(const struct view_args *a, struct err *err);

/**
 * view_exec_trace - the instructions a call executed, as GNU as source
 * @a: the trace; arguments [--addresses] [--depth N] CALL_ID
 * @err: ERR_NOT_FOUND for an unknown call id
 *
 * Streams: memory depends on the nesting depth, not on the instruction count.
 */
int view_exec_trace(const struct view_args *a, struct err *err);

/**
 * view_calls - one line per call, to find call ids
 * @a: the trace; arguments [--thread TID] [--symbol GLOB]
 * @err: ERR_NOT_FOUND for a TID that is in no thread
 */
int view_calls(const struct view_args *a, struct err *err);

/**
 * view_report - one line per function: calls, total and self instructions, wall time
 * @a: the trace; arguments [--sort calls|self|total|wall] [--thread TID]
 * @err: ERR_NOT_FOUND for a TID that is in no thread
 *
 * Streams over the calls: memory depends on the number of functions.
 */
int view_report(const struct view_args *a, struct err *err);

/**
 * view_graph - a function's callers and callees, aggregated
 * @a: the trace; arguments [--thread TID] FUNCTION
 * @err: ERR_NOT_FOUND for a function no call was made to
 *
 * Streams over the calls: memory depends on the number of functions.
 */
int view_graph(const struct view_args *a, struct err *err);

/* Options a view accepts (struct view_def.options), besides --help. */
enum {
	VIEW_OPT_ADDRESSES = 1 << 0, /* --addresses */
	VIEW_OPT_BACKTRACE = 1 << 1, /* --backtrace */
	VIEW_OPT_DEPTH = 1 << 2,     /* --depth N */
	VIEW_OPT_THREAD = 1 << 3,    /* --thread TID */
	VIEW_OPT_SYMBOL = 1 << 4,    /* --symbol GLOB */
	VIEW_OPT_MIN_INSNS = 1 << 5, /* --min-insns N */
	VIEW_OPT_LIMIT = 1 << 6,     /* --limit N */
	VIEW_OPT_RANGE = 1 << 7,     /* --range FROM..TO */
	VIEW_OPT_SORT = 1 << 8,      /* --sort KEY */
	VIEW_OPT_STATS = 1 << 9,     /* --stats */
};

/* The positional argument of a view. */
enum view_positional {
	VIEW_POS_NONE,
	VIEW_POS_CALL,     /* CALL_ID, required */
	VIEW_POS_TID,      /* [TID] */
	VIEW_POS_SUFFIX,   /* [SUFFIX] */
	VIEW_POS_FUNCTION, /* FUNCTION, required */
};

/* One view: everything `nosco dump` and the views' option parser know of it. */
struct view_def {
	const char *name;
	const char *args;    /* its positional argument in dump's list of views, or "" */
	const char *summary; /* what it shows, in dump's list of views */
	unsigned options;    /* the VIEW_OPT_* it accepts */
	enum view_positional pos;
	view_fn *run;
	const char *usage; /* its --help */
};

/* The views, in the order dump's help lists them (views.c). */
extern const struct view_def view_defs[];
extern const size_t view_count;

/* view_find - the view called name, or NULL */
const struct view_def *view_find(const char *name);

/* view_of - the entry of the view whose function is run, or NULL */
const struct view_def *view_of(view_fn *run);

/* view_parse_num - a decimal number without sign, at most max: 0, or -1 */
int view_parse_num(const char *s, unsigned long long max, unsigned long long *out);

/**
 * view_check_args - check a view's arguments without reading any trace
 * @argc: the view's arguments, argv[0] being its name
 * @argv: they may be reordered (options first), as getopt_long does
 * @err: ERR_USAGE saying what is wrong
 *
 * Lets `nosco dump` report a bad command line (exit code 2) before it
 * opens the trace file. Views check their arguments again when they run.
 *
 * Return: 0 when they are valid, 1 when they ask for --help, -1 with err.
 */
int view_check_args(int argc, char **argv, struct err *err);

#endif
