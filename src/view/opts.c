/*
 * The views' command lines: one option table for all of them, each view
 * accepting the subset its spec names, and its positional argument.
 * Mistakes are ERR_USAGE errors (views never print), worded like the
 * commands' own (src/cmd/common.c).
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "view/internal.h"

const char view_thread_info_usage[] =
        "Usage: nosco dump -i FILE thread-info [--addresses] [--backtrace] [--stats] [TID]\n"
        "\n"
        "The threads (or the threads whose Linux thread id is TID): who created\n"
        "each one, its root calls, what happened in it outside traced calls and\n"
        "how it ended. KDL output, described in docs/views.md.\n"
        "\n"
        "Options:\n"
        "      --addresses    add the address of every call and frame\n"
        "      --backtrace    add where each root call and event was reached from\n"
        "      --stats        add each thread's calls, root calls and instructions\n"
        "  -h, --help         show this help\n";

const char view_call_info_usage[] =
        "Usage: nosco dump -i FILE call-info [--addresses] [--backtrace] CALL_ID\n"
        "\n"
        "One call: its thread, and the state changes (binaries, threads, signals)\n"
        "made inside it but not in the calls it made. KDL output.\n"
        "\n"
        "Options:\n"
        "      --addresses    add the address of the call and of its frames\n"
        "      --backtrace    add the chain of calls that led to it\n"
        "  -h, --help         show this help\n";

const char view_call_trace_usage[] =
        "Usage: nosco dump -i FILE call-trace [--depth N] [--addresses] [--backtrace] CALL_ID\n"
        "\n"
        "The tree of calls made below CALL_ID, in the order they ran, with the\n"
        "state changes of each call. KDL output.\n"
        "\n"
        "Options:\n"
        "      --depth N      show calls down to N levels below CALL_ID (0: only\n"
        "                     CALL_ID and its own state changes)\n"
        "      --addresses    add the entry address of every call\n"
        "      --backtrace    add the chain of calls that led to CALL_ID\n"
        "  -h, --help         show this help\n";

const char view_binary_info_usage[] =
        "Usage: nosco dump -i FILE binary-info [--addresses] [--backtrace] [SUFFIX]\n"
        "\n"
        "The binaries that were mapped (those whose path ends with the path\n"
        "components SUFFIX, e.g. libc.so.6), and the calls that loaded and\n"
        "unloaded them. KDL output.\n"
        "\n"
        "Options:\n"
        "      --addresses    add where in the calls the loads and unloads happened\n"
        "      --backtrace    add where those calls were reached from\n"
        "  -h, --help         show this help\n";

const char view_exec_trace_usage[] =
        "Usage: nosco dump -i FILE exec-trace [--addresses] [--depth N] [--range FROM..TO]\n"
        "                                     CALL_ID\n"
        "\n"
        "The instructions CALL_ID executed, as a GNU as source file in Intel\n"
        "syntax; the calls it made and its state changes are comments.\n"
        "\n"
        "Options:\n"
        "      --addresses    start each line with the instruction's address\n"
        "      --depth N      also show the instructions of the calls made down to\n"
        "                     N levels below CALL_ID, indented, in the order they ran\n"
        "      --range FROM..TO  only instructions FROM to TO - 1 of the call (0 is\n"
        "                     its first; those of the calls it made count); FROM..\n"
        "                     to its end\n"
        "  -h, --help         show this help\n";

const char view_calls_usage[] =
        "Usage: nosco dump -i FILE calls [--thread TID] [--symbol GLOB] [--min-insns N]\n"
        "                                [--limit N]\n"
        "\n"
        "One line per call, in the order the calls began: its id, Linux thread\n"
        "id, depth, number of instructions of its own ('-' when it was past the\n"
        "depth limit), number of calls it made, and its symbol, indented by\n"
        "depth.\n"
        "\n"
        "Options:\n"
        "      --thread TID   only the calls of the thread(s) with this Linux tid\n"
        "      --symbol GLOB  only the calls whose symbol matches GLOB (fnmatch(3),\n"
        "                     e.g. 'str*' or '*@plt')\n"
        "      --min-insns N  only the calls with N instructions of their own or more\n"
        "      --limit N      stop after N lines\n"
        "  -h, --help         show this help\n";

const char view_report_usage[] =
        "Usage: nosco dump -i FILE report [--sort calls|self|total|wall] [--thread TID]\n"
        "\n"
        "One line per function (symbol), like uftrace report: the number of calls\n"
        "to it, the instructions of its calls with those of their callees (total),\n"
        "its own instructions (self) and the wall time of its calls. Calls of a\n"
        "function made inside another call of it count once in total and wall.\n"
        "\n"
        "Options:\n"
        "      --sort KEY     sort by calls, self, total (the default) or wall,\n"
        "                     largest first\n"
        "      --thread TID   only the calls of the thread(s) with this Linux tid\n"
        "  -h, --help         show this help\n";

const char view_graph_usage[] =
        "Usage: nosco dump -i FILE graph [--thread TID] FUNCTION\n"
        "\n"
        "FUNCTION (a symbol as the views print it: main, puts@plt, libc.so.6+0x2a1c0)\n"
        "with the functions that called it and those it called, each with the\n"
        "number of calls and their instructions, like uftrace graph.\n"
        "\n"
        "Options:\n"
        "      --thread TID   only the calls of the thread(s) with this Linux tid\n"
        "  -h, --help         show this help\n";

const struct view_spec view_spec_events = { "events", view_events_usage, 0, VIEW_POS_NONE };
const struct view_spec view_spec_thread_info = { "thread-info", view_thread_info_usage,
	                                         VIEW_OPT_ADDRESSES | VIEW_OPT_BACKTRACE |
	                                                 VIEW_OPT_STATS,
	                                         VIEW_POS_TID };
const struct view_spec view_spec_call_info = { "call-info", view_call_info_usage,
	                                       VIEW_OPT_ADDRESSES | VIEW_OPT_BACKTRACE,
	                                       VIEW_POS_CALL };
const struct view_spec view_spec_call_trace = { "call-trace", view_call_trace_usage,
	                                        VIEW_OPT_ADDRESSES | VIEW_OPT_BACKTRACE |
	                                                VIEW_OPT_DEPTH,
	                                        VIEW_POS_CALL };
const struct view_spec view_spec_binary_info = { "binary-info", view_binary_info_usage,
	                                         VIEW_OPT_ADDRESSES | VIEW_OPT_BACKTRACE,
	                                         VIEW_POS_SUFFIX };
const struct view_spec view_spec_exec_trace = { "exec-trace", view_exec_trace_usage,
	                                        VIEW_OPT_ADDRESSES | VIEW_OPT_DEPTH |
	                                                VIEW_OPT_RANGE,
	                                        VIEW_POS_CALL };
const struct view_spec view_spec_calls = { "calls", view_calls_usage,
	                                   VIEW_OPT_THREAD | VIEW_OPT_SYMBOL | VIEW_OPT_MIN_INSNS |
	                                           VIEW_OPT_LIMIT,
	                                   VIEW_POS_NONE };
const struct view_spec view_spec_report = { "report", view_report_usage,
	                                    VIEW_OPT_SORT | VIEW_OPT_THREAD, VIEW_POS_NONE };
const struct view_spec view_spec_graph = { "graph", view_graph_usage, VIEW_OPT_THREAD,
	                                   VIEW_POS_FUNCTION };

static const struct view_spec *const specs[] = {
	&view_spec_events,     &view_spec_thread_info, &view_spec_call_info,
	&view_spec_call_trace, &view_spec_binary_info, &view_spec_exec_trace,
	&view_spec_calls,      &view_spec_report,      &view_spec_graph,
};

/* Every option of every view; a view rejects those its spec does not name. */
static const struct {
	struct option opt;
	unsigned flag;
} table[] = {
	{ { "addresses", no_argument, NULL, 'a' }, VIEW_OPT_ADDRESSES },
	{ { "backtrace", no_argument, NULL, 'b' }, VIEW_OPT_BACKTRACE },
	{ { "depth", required_argument, NULL, 'd' }, VIEW_OPT_DEPTH },
	{ { "thread", required_argument, NULL, 't' }, VIEW_OPT_THREAD },
	{ { "symbol", required_argument, NULL, 's' }, VIEW_OPT_SYMBOL },
	{ { "min-insns", required_argument, NULL, 'm' }, VIEW_OPT_MIN_INSNS },
	{ { "limit", required_argument, NULL, 'l' }, VIEW_OPT_LIMIT },
	{ { "range", required_argument, NULL, 'r' }, VIEW_OPT_RANGE },
	{ { "sort", required_argument, NULL, 'S' }, VIEW_OPT_SORT },
	{ { "stats", no_argument, NULL, 'T' }, VIEW_OPT_STATS },
	{ { "help", no_argument, NULL, 'h' }, 0 },
};

#define NOPTS (sizeof(table) / sizeof(table[0]))

/* A decimal number without sign, at most max (view.h). */
int view_parse_num(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

/* --range FROM..TO or FROM.. (to the end), FROM <= TO */
static int parse_range(const char *s, struct view_opts *o)
{
	const char *dots = strstr(s, "..");
	unsigned long long from, to = UINT64_MAX;
	char *head;
	int rc;

	if (!dots)
		return -1;
	head = strndup(s, (size_t)(dots - s));
	rc = !head || view_parse_num(head, UINT64_MAX - 1, &from);
	free(head);
	if (rc || (dots[2] && view_parse_num(dots + 2, UINT64_MAX - 1, &to)) || from > to)
		return -1;
	o->has_range = true;
	o->range_from = from;
	o->range_to = to;
	return 0;
}

/* The option an unknown or incomplete argument was meant to be, worded for the user. */
static int option_error(const struct view_spec *spec, int argc, char **argv, struct err *err)
{
	const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "";
	size_t i, n;
	int k;

	/* "-1" is a negative number, not an option: say what it is wrong as. */
	for (k = 1; k < argc; k++)
		if (argv[k][0] == '-' && isdigit((unsigned char)argv[k][1]) && optopt &&
		    isdigit(optopt))
			return err_set(err, ERR_USAGE, "invalid %s '%s'",
			               spec->pos == VIEW_POS_CALL  ? "call id"
			               : spec->pos == VIEW_POS_TID ? "thread id"
			                                           : "argument",
			               argv[k]);
	if (strncmp(arg, "--", 2))
		return err_set(err, ERR_USAGE, "unknown option '-%c'", optopt);
	n = strcspn(arg + 2, "=");
	for (i = 0; i < NOPTS; i++)
		if (strlen(table[i].opt.name) == n && !strncmp(arg + 2, table[i].opt.name, n))
			break;
	if (i == NOPTS || (table[i].flag && !(spec->flags & table[i].flag)))
		return err_set(err, ERR_USAGE, "unknown option '%.*s'", (int)n + 2, arg);
	if (table[i].opt.has_arg == no_argument)
		return err_set(err, ERR_USAGE, "option '--%s' takes no argument",
		               table[i].opt.name);
	return err_set(err, ERR_USAGE, "option '--%s' needs an argument", table[i].opt.name);
}

/* --sort KEY */
static int parse_sort(const char *s, struct view_opts *o, struct err *err)
{
	static const char *const keys[] = {
		[VIEW_SORT_TOTAL] = "total",
		[VIEW_SORT_SELF] = "self",
		[VIEW_SORT_CALLS] = "calls",
		[VIEW_SORT_WALL] = "wall",
	};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(s, keys[i])) {
			o->sort = (enum view_sort)i;
			return 0;
		}
	return err_set(err, ERR_USAGE, "--sort needs calls, self, total or wall, not '%s'", s);
}

static int parse_option(int c, struct view_opts *o, struct err *err)
{
	unsigned long long v;

	switch (c) {
	case 'a':
		o->addresses = true;
		return 0;
	case 'b':
		o->backtrace = true;
		return 0;
	case 'T':
		o->stats = true;
		return 0;
	case 'd':
		if (view_parse_num(optarg, UINT32_MAX, &v))
			return err_set(err, ERR_USAGE,
			               "--depth needs a number of levels (0 or more), not '%s'",
			               optarg);
		o->has_depth = true;
		o->depth = (uint32_t)v;
		return 0;
	case 't':
		if (view_parse_num(optarg, INT_MAX, &v))
			return err_set(err, ERR_USAGE, "--thread needs a Linux thread id, not '%s'",
			               optarg);
		o->has_thread = true;
		o->tid = (int)v;
		return 0;
	case 's':
		o->glob = optarg;
		return 0;
	case 'm':
		if (view_parse_num(optarg, UINT64_MAX, &v))
			return err_set(err, ERR_USAGE,
			               "--min-insns needs a number of instructions, not '%s'",
			               optarg);
		o->min_insns = v;
		return 0;
	case 'r':
		if (parse_range(optarg, o))
			return err_set(
			        err, ERR_USAGE,
			        "--range needs FROM..TO or FROM.. (instruction numbers, FROM "
			        "<= TO), not '%s'",
			        optarg);
		return 0;
	case 'S':
		return parse_sort(optarg, o, err);
	case 'l':
		if (view_parse_num(optarg, UINT64_MAX, &v))
			return err_set(err, ERR_USAGE, "--limit needs a number of lines, not '%s'",
			               optarg);
		o->has_limit = true;
		o->limit = v;
		return 0;
	default:
		return err_set(err, ERR_INTERNAL, "unexpected option %d", c);
	}
}

static int parse_positional(const struct view_spec *spec, int argc, char **argv,
                            struct view_opts *o, struct err *err)
{
	int left = argc - optind;
	const char *arg = left > 0 ? argv[optind] : NULL;
	unsigned long long v;

	if (left > (spec->pos != VIEW_POS_NONE))
		return err_set(err, ERR_USAGE, "unexpected argument '%s'",
		               argv[optind + (spec->pos != VIEW_POS_NONE)]);
	switch (spec->pos) {
	case VIEW_POS_CALL:
		if (!arg)
			return err_set(err, ERR_USAGE,
			               "missing CALL_ID (the calls view lists them)");
		if (view_parse_num(arg, INT64_MAX, &v))
			return err_set(err, ERR_USAGE,
			               "invalid call id '%s' (call ids are numbers from 0)", arg);
		o->has_call = true;
		o->call = (int64_t)v;
		break;
	case VIEW_POS_TID:
		if (!arg)
			break;
		if (view_parse_num(arg, INT_MAX, &v))
			return err_set(err, ERR_USAGE, "invalid thread id '%s'", arg);
		o->has_thread = true;
		o->tid = (int)v;
		break;
	case VIEW_POS_SUFFIX:
		if (arg && !*arg)
			return err_set(err, ERR_USAGE, "empty SUFFIX");
		o->suffix = arg;
		break;
	case VIEW_POS_FUNCTION:
		if (!arg || !*arg)
			return err_set(err, ERR_USAGE,
			               "missing FUNCTION (the report view lists them)");
		o->function = arg;
		break;
	case VIEW_POS_NONE:
		break;
	}
	return 0;
}

int view_parse(const struct view_spec *spec, int argc, char **argv, struct view_opts *o,
               struct err *err)
{
	struct option longopts[NOPTS + 1];
	size_t i, n = 0;
	int c;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < NOPTS; i++)
		if (!table[i].flag || (spec->flags & table[i].flag))
			longopts[n++] = table[i].opt;
	memset(&longopts[n], 0, sizeof(longopts[n]));
	optind = 0; /* a full re-initialisation of getopt: views may parse twice */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == '?' || c == ':')
			return option_error(spec, argc, argv, err);
		if (c == 'h') {
			o->help = true;
			return 0;
		}
		if (parse_option(c, o, err))
			return -1;
	}
	return parse_positional(spec, argc, argv, o, err);
}

int view_check_args(int argc, char **argv, struct err *err)
{
	struct view_opts o;
	size_t i;

	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		if (strcmp(argv[0], specs[i]->name))
			continue;
		if (view_parse(specs[i], argc, argv, &o, err))
			return -1;
		return o.help ? 1 : 0;
	}
	return err_set(err, ERR_USAGE, "unknown view '%s'", argv[0]);
}
