/*
 * nosco export: a trace written in the file format of another tool
 * (docs/export.md). `nosco export` (src/cmd/export.c) opens the trace and
 * the output, finds the format by name in export_formats[] and calls its
 * write function. Like the views, exporters never print or exit: errors go
 * into the struct err, warnings through export_args.warn.
 *
 * Every format streams: the calls are walked depth first through the
 * reader (export_walk() in walk.c), so memory grows with the depth of the
 * call tree, not with the size of the trace. A format may aggregate what
 * it needs per distinct piece of code (drcov's blocks, callgrind's costs
 * per instruction), which is bounded by the program's code, not by how
 * long it ran.
 *
 * Adding a format FOO:
 *
 * 1. src/export/foo.c defines
 *	int export_foo(struct export_ctx *x, struct err *err);
 *    Most formats fill a struct export_walk with callbacks (enter and
 *    leave a call, and optionally one per instruction when the format
 *    needs them: they cost a decoding pass over the streams) and call
 *    export_walk(). The callbacks write to x->a->out; export_name() gives
 *    a function's name as the dump views print it. A format that writes
 *    more than one file (drcov --hits) derives their names from
 *    x->a->out_path and writes them with util/outfile.h too. Per-call
 *    state goes in export_frame.data. Damage in the trace is
 *    export_damage()'d and the export goes on, so that the output is a
 *    whole file of what could be read; return -1 only for what stops it
 *    (the output cannot be written).
 * 2. Declare it below and add a line to export_formats[] in formats.c:
 *    { "foo", "one line for --help", export_foo, EXPORT_FLAG_... }.
 *    The usage text of `nosco export` lists the table, so nothing else
 *    in src/cmd/ changes unless FOO has an option of its own (then add it
 *    to struct export_args and to the options in src/cmd/export.c, and
 *    reject it for the other formats there).
 * 3. Document it in docs/export.md (which tool reads it, the exact
 *    commands) and test it in tests/e2e/ with the tool itself where
 *    Debian has it, else with a checker written from the format's
 *    specification (see tests/e2e/export_check.py).
 */
#ifndef NOSCO_EXPORT_EXPORT_H
#define NOSCO_EXPORT_EXPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h> /* vec_free() */

#include "store/reader.h"
#include "util/err.h"
#include "util/strbuf.h"
#include "util/vec.h"
#include "view/syms.h"

/* The time axis of formats that have one (--clock). */
enum export_clock {
	EXPORT_CLOCK_INSNS, /* one tick per recorded instruction: the stream positions */
	EXPORT_CLOCK_WALL,  /* the recorded timestamps, in nanoseconds */
};

/* What `nosco export` gives a format. */
struct export_args {
	struct store_reader *reader; /* the opened trace */
	FILE *out;                   /* the output (-o OUT, or standard output) */
	const char *out_path;        /* -o OUT as given, NULL for standard output */
	bool has_thread;             /* --thread TID: only that thread's calls */
	int tid;
	bool has_depth; /* --depth N: N levels of calls below each exported root */
	uint32_t depth;
	enum export_clock clock;
	bool has_call; /* CALL_ID: only that call and its subtree */
	int64_t call;
	bool symbols;        /* false with -n: raw addresses only */
	const char *sysroot; /* --sysroot DIR, or NULL */
	bool hits;           /* drcov --hits: write OUT.hits too */
	/* warn - say something the user should know (once per cause); may be NULL */
	void (*warn)(void *ctx, const char *msg);
	void *warn_ctx;
};

/* What a format needs of its command-line options (struct export_format.flags). */
enum {
	EXPORT_FLAG_CLOCK = 1 << 0, /* it has a time axis: --clock applies */
	EXPORT_FLAG_HITS = 1 << 1,  /* --hits applies */
	EXPORT_FLAG_FILE = 1 << 2,  /* binary or multi-file output: -o OUT is required */
	EXPORT_FLAG_LINES = 1 << 3, /* it shows source lines: the symbolizer reads DWARF */
	EXPORT_FLAG_DIR = 1 << 4, /* OUT is a directory the format writes (outdir.h): out is NULL */
};

/* What an exporter has at hand while it runs (export_begin() fills it). */
struct export_ctx {
	const struct export_args *a;
	struct store_reader *r;
	struct view_syms syms;
	reader_thread_vec threads; /* by id */
	struct strbuf name;        /* export_name()'s result */
	uint64_t start_ns, end_ns; /* meta start_ns and end_ns, 0 when not recorded */
	struct err first;          /* the first damage met; the export goes on */
};

struct export_format {
	const char *name;
	const char *summary; /* one line for `nosco export --help` */
	int (*write)(struct export_ctx *x, struct err *err);
	unsigned flags; /* EXPORT_FLAG_* */
};

extern const struct export_format export_formats[];
extern const size_t export_format_count;

/* export_find - the format called name, or NULL */
const struct export_format *export_find(const char *name);

/**
 * export_run - write the trace in a format
 * @f: the format
 * @a: the trace, the output and the options
 * @err: ERR_NOT_FOUND for an unknown CALL_ID or TID, ERR_INPUT for damage
 *       (what could be read is written all the same), ERR_IO for an
 *       output that cannot be written
 *
 * Return: 0, or -1 with err.
 */
int export_run(const struct export_format *f, const struct export_args *a, struct err *err);

/* export_damage - remember that part of the trace could not be read (the first one is kept) */
void export_damage(struct export_ctx *x, const struct err *e);

/* export_tid - the Linux tid of a nosco thread id (-1 if unknown) */
int export_tid(const struct export_ctx *x, int64_t thread);

/* export_name - a call's function as the views name it, in x->name (valid until the next use) */
const char *export_name(struct export_ctx *x, const struct reader_call *c);

/*
 * export_func_key - a key for the call's function (its entry address and
 * the binary mapped there), 0 when it has none (no binary there); @bin,
 * unless NULL, receives the binary's index in x->syms.bins (-1 for none)
 */
uint64_t export_func_key(struct export_ctx *x, const struct reader_call *c, int64_t *bin);

/* One open call of the walk. */
struct export_frame {
	struct reader_call call; /* without its backtrace */
	uint32_t level;          /* 0 for an exported root */
	bool kids;               /* its children are exported (--depth) */
	uint64_t kid_insns;      /* instructions of its exported children so far */
	uint64_t time_end; /* wall end; open calls: the trace's end, or the latest seen inside */
	int64_t last_kid;  /* the id of the last child walked, -1 before the first */
	void *data;        /* the format's own, per frame (cleared on entry) */
};

/* export_self_insns - the call's own instructions: its range minus its exported children's */
uint64_t export_self_insns(const struct export_frame *f);

/* export_ts - where the call starts and ends on the --clock axis (insns, or ns from the start) */
uint64_t export_ts_start(const struct export_ctx *x, const struct export_frame *f);
uint64_t export_ts_end(const struct export_ctx *x, const struct export_frame *f);

/*
 * A depth-first walk over the exported calls: every root (the CALL_ID, or
 * each thread's root calls, of --thread only), and their descendants down
 * to --depth, in the order they ran. Callbacks return 0 to go on, -1 (with
 * err) to stop the walk; NULL callbacks are skipped.
 */
struct export_walk {
	void *ctx;
	/* enter - a call begins; stack.data[stack.len - 1] is its frame */
	int (*enter)(struct export_walk *w, struct export_frame *f, struct err *err);
	/* leave - a call ends, after its children */
	int (*leave)(struct export_walk *w, struct export_frame *f, struct err *err);
	/*
	 * insn - one executed instruction, in the innermost exported call that
	 * ran it (with --depth, a deeper call's instructions are its ancestor's
	 * at the limit). NULL: the streams are not decoded at all.
	 */
	int (*insn)(struct export_walk *w, struct export_frame *f, const struct reader_insn *in,
	            struct err *err);
	/* filled by export_walk(): the open calls, outermost first */
	VEC(struct export_frame) stack;
	struct export_ctx *x;
};

/* export_walk - run the walk; Return: 0, or -1 with err (damage is export_damage()'d) */
int export_walk(struct export_ctx *x, struct export_walk *w, struct err *err);

/* The formats (one file each). */
int export_chrome(struct export_ctx *x, struct err *err);
int export_folded(struct export_ctx *x, struct err *err);
int export_drcov(struct export_ctx *x, struct err *err);
int export_callgrind(struct export_ctx *x, struct err *err);
int export_uftrace(struct export_ctx *x, struct err *err);
int export_perfetto(struct export_ctx *x, struct err *err);

#endif
