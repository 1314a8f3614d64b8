/*
 * What the views share: option parsing, the symbolizer over the recorded
 * binaries, the view context (reader, output, threads, first error) and
 * the KDL node writers of docs/views.md. Not for use outside src/view/,
 * except by the viewer (src/web/), which symbolizes as the views do.
 */
#ifndef NOSCO_VIEW_INTERNAL_H
#define NOSCO_VIEW_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "kdl/emit.h"
#include "store/reader.h"
#include "util/hashmap.h"
#include "util/strbuf.h"
#include "util/vec.h"
#include "view/syms.h"
#include "view/view.h"

/* Text views indent no deeper than KDL views do (kdl/emit.h). */
#define VIEW_INDENT_MAX KDL_INDENT_MAX

/* What report sorts its functions by (--sort), largest first. */
enum view_sort {
	VIEW_SORT_TOTAL, /* the default */
	VIEW_SORT_SELF,
	VIEW_SORT_CALLS,
	VIEW_SORT_WALL,
};

struct view_opts {
	bool help;
	bool addresses;
	bool backtrace;
	bool stats; /* --stats */
	bool has_depth;
	uint32_t depth;
	bool has_thread; /* --thread, or the TID of thread-info */
	int tid;
	const char *glob;   /* --symbol */
	uint64_t min_insns; /* --min-insns, 0 if not given */
	bool has_limit;
	uint64_t limit; /* --limit */
	bool has_range;
	uint64_t range_from, range_to; /* --range: UINT64_MAX for an open end */
	bool has_call;
	int64_t call;       /* CALL_ID */
	const char *suffix; /* binary-info's SUFFIX, or NULL */
	enum view_sort sort;
	const char *function; /* graph's FUNCTION */
};

/**
 * view_parse - parse a view's arguments
 * @spec: what the view accepts
 * @argc: the arguments, argv[0] being the view's name
 * @argv: reordered as getopt_long does
 * @o: receives the options
 * @err: ERR_USAGE saying what is wrong
 *
 * Return: 0, or -1 with err.
 */
int view_parse(const struct view_def *spec, int argc, char **argv, struct view_opts *o,
               struct err *err);

/* view_option_name - the long name of a VIEW_OPT_* ("depth"), or NULL if there is none */
const char *view_option_name(unsigned option);

/* What a view has at hand while it runs. */
struct view_ctx {
	struct store_reader *r;
	FILE *out;
	struct view_opts o;
	struct view_syms syms;
	struct kdl_emitter em;
	reader_thread_vec threads; /* by id */
	struct strbuf sb;          /* scratch for names */
	struct err first;          /* the first damage met; output goes on */
};

/* view_stopped - the output cannot be written (a reader such as head went away): stop */
static inline bool view_stopped(const struct view_ctx *v)
{
	return ferror(v->out);
}

/**
 * view_begin - parse the arguments and get ready to run a view
 * @v: the context to fill
 * @self: the view's function (its entry in view_defs)
 * @a: its arguments
 * @err: ERR_USAGE, or why the trace cannot be read
 *
 * Return: 0 to run the view, 1 when --help was printed, -1 with err.
 */
int view_begin(struct view_ctx *v, view_fn *self, const struct view_args *a, struct err *err);

/**
 * view_end - release the context and report the outcome
 * @err: receives the first error met while the view ran
 *
 * Return: 0, or -1 with err when something could not be read.
 */
int view_end(struct view_ctx *v, struct err *err);

/* view_damage - remember that part of the trace could not be read (the first one is kept) */
void view_damage(struct view_ctx *v, const struct err *e);

/* view_tid - the Linux tid of a nosco thread id (-1 if unknown) */
int view_tid(const struct view_ctx *v, int64_t thread);

/* view_thread - the thread record of a nosco thread id, or NULL */
const struct reader_thread *view_thread(const struct view_ctx *v, int64_t thread);

/* view_get_call - a call by id, ERR_NOT_FOUND naming the range of ids when there is none */
int view_get_call(struct view_ctx *v, int64_t id, struct reader_call *out, struct err *err);

/* view_signame - "SIGSEGV" for 11, "SIG99" for an unknown number */
const char *view_signame(int sig, char *buf, size_t size);

/* view_sym - the display name of an address, in v->sb (valid until the next use) */
const char *view_sym(struct view_ctx *v, uint64_t addr, uint64_t time, enum view_addr_kind kind);

/* KDL node writers (nodes.c) */

enum {
	VIEW_CALL_THREAD = 1 << 0, /* thread=TID */
	VIEW_CALL_EXTRA = 1 << 1,  /* kind=, signal=, end= of the call itself */
};

/**
 * view_call_entries - a call as entries of a started node: "<SYM> call_id=.. [addr=..] ..."
 * @c: the call
 * @addr: the address shown with --addresses (the entry, or where an event happened)
 * @flags: VIEW_CALL_*
 *
 * For nodes with a fixed name: "traced main call_id=..", "created ..".
 */
void view_call_entries(struct view_ctx *v, const struct reader_call *c, uint64_t addr,
                       unsigned flags);

/* view_call_node - start a node named after the call's symbol, with its entries */
void view_call_node(struct view_ctx *v, const struct reader_call *c, unsigned flags);

/**
 * view_call_backtrace - "backtrace { ... }" of a call, oldest frame first
 * @call: the call
 * @time: when it began (which binaries were mapped)
 */
void view_call_backtrace(struct view_ctx *v, int64_t call, uint64_t time);

/**
 * view_origin_node - a node saying where an event happened
 * @name: created, exited, loaded_by, unloaded_by
 * @e: the event (its origin)
 * @code: writes entries after the name, before the call part (exited's code=), or NULL
 * @arg: passed to @code
 * @with_thread: add thread=TID of the event's thread
 *
 * "<name> [<SYM> call_id=.. [addr=PC]] thread=TID", and with --backtrace
 * the backtrace of the call, or the event's own when it was outside
 * traced calls.
 */
void view_origin_node(struct view_ctx *v, const char *name, const struct reader_event *e,
                      void (*code)(struct view_ctx *v, const void *arg), const void *arg,
                      bool with_thread);

/* view_state_node - the node of a state change (load_binary, create_thread, ...) */
void view_state_node(struct view_ctx *v, const struct reader_event *e);

/* view_state_text - a state change as exec-trace's "key=value" comment text */
void view_state_text(struct view_ctx *v, const struct reader_event *e, struct strbuf *sb);

/* view_call_extra_text - " kind=.. signal=.. end=.." of a call, for text views */
void view_call_extra_text(const struct reader_call *c, struct strbuf *sb);

/*
 * The next child and the next event of an open call in a tree walk
 * (walk.c): a few scalars per level, whatever the depth of the tree.
 */
struct view_next {
	int64_t call;
	bool kids;              /* its children are wanted (the --depth limit) */
	bool have_kid, have_ev; /* what is left */
	struct reader_call kid; /* the next child, without its backtrace */
	int64_t ev_id;          /* the next event, and where it happened */
	uint64_t ev_pos, ev_time;
};

/* view_next_init - the first child (when @kids) and the first event of @call */
void view_next_init(struct view_ctx *v, struct view_next *n, int64_t call, bool kids);

/* view_next_is_event - does the next event come before the next child (both left)? */
bool view_next_is_event(const struct view_next *n);

/*
 * view_next_take_event - the next event into out (valid until the next
 * lookup of an event by id), and move past it. Return: 0, or -1 (damage
 * recorded, no event left).
 */
int view_next_take_event(struct view_ctx *v, struct view_next *n, struct reader_event *out);

/* view_next_take_kid - the next child into out, and move past it */
void view_next_take_kid(struct view_ctx *v, struct view_next *n, struct reader_call *out);

/**
 * view_event_before - does the event come before the call in their parent's record?
 *
 * Both are in the same call (or outside calls of the same thread):
 * compared by stream position, then by time.
 */
bool view_event_before(const struct reader_event *e, const struct reader_call *c);

/* Calls as calls of functions (funcs.c), for the views that aggregate them. */

/* view_call_fn - take one call; return false to read no more */
typedef bool view_call_fn(struct view_ctx *v, const struct reader_call *c, void *arg);

/*
 * view_each_call - every call in the order they began, or those of the
 * thread(s) of --thread (ERR_NOT_FOUND damage when there is none), until
 * fn returns false
 */
void view_each_call(struct view_ctx *v, view_call_fn *fn, void *arg);

/* A function: the calls of one symbol, as view_sym() prints it. */
struct view_func {
	char *name;
	size_t index;     /* in view_funcs.all */
	uint64_t calls;   /* every call, truncated ones too */
	uint64_t total;   /* instructions of its outermost calls, those of their callees included */
	uint64_t self;    /* instructions of its own, those of its callees left out */
	uint64_t wall_ns; /* wall time of its outermost calls that ended */
	struct view_func *next; /* another with the same name hash */
};

struct view_funcs {
	struct hashmap by_name;      /* name hash -> a view_func */
	struct hashmap by_addr;      /* entry address and binary -> its view_func */
	VEC(struct view_func *) all; /* in the order they were first called */
};

/* One call, as view_funcs_walk() shows it. */
struct view_func_call {
	const struct reader_call *c;
	struct view_func *fn;
	struct view_func *caller; /* the function of its parent, NULL for a root call */
	uint64_t insns;           /* its instructions with its callees' (0 when truncated) */
	bool outermost;           /* no other call of fn is open in its thread */
};

typedef void view_func_call_fn(struct view_ctx *v, const struct view_func_call *fc, void *arg);

/**
 * view_funcs_walk - every call (of --thread), counted by function
 * @f: receives the functions and their counts (view_funcs_fini() it)
 * @visit: called for each call after it is counted, or NULL
 *
 * A call's total counts only for its function's outermost call in its
 * thread, so that a recursion is not counted once per level.
 */
void view_funcs_walk(struct view_ctx *v, struct view_funcs *f, view_func_call_fn *visit, void *arg);
void view_funcs_fini(struct view_funcs *f);

/* view_format_wall - a wall time as report prints it: "35.210 us", "3 ns" */
void view_format_wall(uint64_t ns, char buf[static 16]);

/* view_num_width - the width of a column of numbers up to v, at least min */
int view_num_width(uint64_t v, int min);

/* view_func_find - the function with this name, or NULL */
struct view_func *view_func_find(const struct view_funcs *f, const char *name);

#endif
