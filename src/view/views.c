/*
 * The table of views: everything `nosco dump` and the views' option
 * parser know of a view is its one entry here. Adding a view is writing
 * its function (declared in view.h) and one entry; tests/unit/test-view.c
 * checks the table.
 */
#include <string.h>

#include "view/internal.h"

const struct view_def view_defs[] = {
	{
	        .name = "thread-info",
	        .args = "[TID]",
	        .summary = "the threads, their root calls and how they ended",
	        .options = VIEW_OPT_ADDRESSES | VIEW_OPT_BACKTRACE | VIEW_OPT_STATS,
	        .pos = VIEW_POS_TID,
	        .run = view_thread_info,
	        .usage =
	                "Usage: nosco dump -i FILE thread-info [--addresses] [--backtrace] "
	                "[--stats]\n"
	                "                                      [TID]\n"
	                "\n"
	                "The threads (or the threads whose Linux thread id is TID): who created\n"
	                "each one, its root calls, what happened in it outside traced calls and\n"
	                "how it ended. KDL output, described in docs/views.md.\n"
	                "\n"
	                "Options:\n"
	                "      --addresses    add the address of every call and frame\n"
	                "      --backtrace    add where each root call and event was reached from\n"
	                "      --stats        add each thread's calls, root calls and "
	                "instructions\n"
	                "  -h, --help         show this help\n",
	},
	{
	        .name = "call-info",
	        .args = "CALL_ID",
	        .summary = "one call and the state changes inside it",
	        .options = VIEW_OPT_ADDRESSES | VIEW_OPT_BACKTRACE,
	        .pos = VIEW_POS_CALL,
	        .run = view_call_info,
	        .usage =
	                "Usage: nosco dump -i FILE call-info [--addresses] [--backtrace] CALL_ID\n"
	                "\n"
	                "One call: its thread, and the state changes (binaries, threads, signals)\n"
	                "made inside it but not in the calls it made. KDL output.\n"
	                "\n"
	                "Options:\n"
	                "      --addresses    add the address of the call and of its frames\n"
	                "      --backtrace    add the chain of calls that led to it\n"
	                "  -h, --help         show this help\n",
	},
	{
	        .name = "call-trace",
	        .args = "CALL_ID",
	        .summary = "the tree of calls below a call",
	        .options = VIEW_OPT_ADDRESSES | VIEW_OPT_BACKTRACE | VIEW_OPT_DEPTH,
	        .pos = VIEW_POS_CALL,
	        .run = view_call_trace,
	        .usage = "Usage: nosco dump -i FILE call-trace [--depth N] [--addresses] "
	                 "[--backtrace] CALL_ID\n"
	                 "\n"
	                 "The tree of calls made below CALL_ID, in the order they ran, with the\n"
	                 "state changes of each call. KDL output.\n"
	                 "\n"
	                 "Options:\n"
	                 "      --depth N      show calls down to N levels below CALL_ID (0: only\n"
	                 "                     CALL_ID and its own state changes)\n"
	                 "      --addresses    add the entry address of every call\n"
	                 "      --backtrace    add the chain of calls that led to CALL_ID\n"
	                 "  -h, --help         show this help\n",
	},
	{
	        .name = "exec-trace",
	        .args = "CALL_ID",
	        .summary = "the instructions a call executed, as assembly",
	        .options = VIEW_OPT_ADDRESSES | VIEW_OPT_DEPTH | VIEW_OPT_RANGE,
	        .pos = VIEW_POS_CALL,
	        .run = view_exec_trace,
	        .usage = "Usage: nosco dump -i FILE exec-trace [--addresses] [--depth N] [--range "
	                 "FROM..TO]\n"
	                 "                                     CALL_ID\n"
	                 "\n"
	                 "The instructions CALL_ID executed, as a GNU as source file in Intel\n"
	                 "syntax; the calls it made and its state changes are comments.\n"
	                 "\n"
	                 "Options:\n"
	                 "      --addresses    start each line with the instruction's address\n"
	                 "      --depth N      also show the instructions of the calls made down "
	                 "to\n"
	                 "                     N levels below CALL_ID, indented, in the order they "
	                 "ran\n"
	                 "      --range FROM..TO  only instructions FROM to TO - 1 of the call (0 "
	                 "is\n"
	                 "                     its first; those of the calls it made count); "
	                 "FROM..\n"
	                 "                     to its end\n"
	                 "  -h, --help         show this help\n",
	},
	{
	        .name = "binary-info",
	        .args = "[SUFFIX]",
	        .summary = "the binaries that were loaded",
	        .options = VIEW_OPT_ADDRESSES | VIEW_OPT_BACKTRACE,
	        .pos = VIEW_POS_SUFFIX,
	        .run = view_binary_info,
	        .usage = "Usage: nosco dump -i FILE binary-info [--addresses] [--backtrace] "
	                 "[SUFFIX]\n"
	                 "\n"
	                 "The binaries that were mapped (those whose path ends with the path\n"
	                 "components SUFFIX, e.g. libc.so.6), and the calls that loaded and\n"
	                 "unloaded them. KDL output.\n"
	                 "\n"
	                 "Options:\n"
	                 "      --addresses    add where in the calls the loads and unloads "
	                 "happened\n"
	                 "      --backtrace    add where those calls were reached from\n"
	                 "  -h, --help         show this help\n",
	},
	{
	        .name = "calls",
	        .args = "",
	        .summary = "one line per call, to find call ids",
	        .options = VIEW_OPT_THREAD | VIEW_OPT_SYMBOL | VIEW_OPT_MIN_INSNS | VIEW_OPT_LIMIT,
	        .pos = VIEW_POS_NONE,
	        .run = view_calls,
	        .usage =
	                "Usage: nosco dump -i FILE calls [--thread TID] [--symbol GLOB] "
	                "[--min-insns N]\n"
	                "                                [--limit N]\n"
	                "\n"
	                "One line per call, in the order the calls began: its id, Linux thread\n"
	                "id, depth, number of instructions of its own ('-' when it was past the\n"
	                "depth limit), number of calls it made, and its symbol, indented by\n"
	                "depth.\n"
	                "\n"
	                "Options:\n"
	                "      --thread TID   only the calls of the thread(s) with this Linux tid\n"
	                "      --symbol GLOB  only the calls whose symbol matches GLOB "
	                "(fnmatch(3),\n"
	                "                     e.g. 'str*' or '*@plt')\n"
	                "      --min-insns N  only the calls with N instructions of their own or "
	                "more\n"
	                "      --limit N      stop after N lines\n"
	                "  -h, --help         show this help\n",
	},
	{
	        .name = "report",
	        .args = "",
	        .summary = "one line per function: calls, instructions, time",
	        .options = VIEW_OPT_SORT | VIEW_OPT_THREAD,
	        .pos = VIEW_POS_NONE,
	        .run = view_report,
	        .usage =
	                "Usage: nosco dump -i FILE report [--sort calls|self|total|wall] [--thread "
	                "TID]\n"
	                "\n"
	                "One line per function (symbol), like uftrace report: the number of calls\n"
	                "to it, the instructions of its calls with those of their callees "
	                "(total),\n"
	                "its own instructions (self) and the wall time of its calls. Calls of a\n"
	                "function made inside another call of it count once in total and wall.\n"
	                "\n"
	                "Options:\n"
	                "      --sort KEY     sort by calls, self, total (the default) or wall,\n"
	                "                     largest first\n"
	                "      --thread TID   only the calls of the thread(s) with this Linux tid\n"
	                "  -h, --help         show this help\n",
	},
	{
	        .name = "graph",
	        .args = "FUNCTION",
	        .summary = "a function's callers and callees",
	        .options = VIEW_OPT_THREAD,
	        .pos = VIEW_POS_FUNCTION,
	        .run = view_graph,
	        .usage =
	                "Usage: nosco dump -i FILE graph [--thread TID] FUNCTION\n"
	                "\n"
	                "FUNCTION (a symbol as the views print it: main, puts@plt, "
	                "libc.so.6+0x2a1c0)\n"
	                "with the functions that called it and those it called, each with the\n"
	                "number of calls and their instructions, like uftrace graph.\n"
	                "\n"
	                "Options:\n"
	                "      --thread TID   only the calls of the thread(s) with this Linux tid\n"
	                "  -h, --help         show this help\n",
	},
	{
	        .name = "events",
	        .args = "",
	        .summary = "every record of the file, in order",
	        .options = 0,
	        .pos = VIEW_POS_NONE,
	        .run = view_events,
	        .usage = "Usage: nosco dump -i FILE events\n"
	                 "\n"
	                 "Print every record of the trace file, one per line: metadata, argv,\n"
	                 "binaries, scopes, threads, events, calls, then each thread's "
	                 "instructions.\n",
	},
};

const size_t view_count = sizeof(view_defs) / sizeof(view_defs[0]);

const struct view_def *view_find(const char *name)
{
	size_t i;

	for (i = 0; i < view_count; i++)
		if (!strcmp(view_defs[i].name, name))
			return &view_defs[i];
	return NULL;
}

const struct view_def *view_of(view_fn *run)
{
	size_t i;

	for (i = 0; i < view_count; i++)
		if (view_defs[i].run == run)
			return &view_defs[i];
	return NULL;
}
