/*
 * nosco dump: show a trace file. The options of dump itself come before the
 * view name; each view has its own options after it.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "store/reader.h"
#include "util/log.h"
#include "view/view.h"

static const char dump_usage[] =
        "Usage: nosco dump -i FILE [-o OUT] [-n] [--sysroot DIR] VIEW [VIEW-OPTIONS]\n"
        "\n"
        "Show what a trace file holds.\n"
        "\n"
        "Views:\n"
        "  thread-info [TID]         the threads, their root calls and how they ended\n"
        "  call-info CALL_ID         one call and the state changes inside it\n"
        "  call-trace CALL_ID        the tree of calls below a call\n"
        "  exec-trace CALL_ID        the instructions a call executed, as assembly\n"
        "  binary-info [SUFFIX]      the binaries that were loaded\n"
        "  calls                     one line per call, to find call ids\n"
        "  events                    every record of the file, in order\n"
        "\n"
        "Options:\n"
        "  -i, --input FILE      the trace file to read\n"
        "  -o, --output OUT      write to OUT instead of standard output\n"
        "  -n, --no-symbols      show raw addresses, do not read the traced binaries\n"
        "      --sysroot DIR     look for the traced binaries under DIR\n"
        "      --lines           add source file:line from DWARF where there is one\n"
        "  -h, --help            show this help\n"
        "\n"
        "Run 'nosco dump VIEW --help' for the options of a view.\n";

static const struct option dump_options[] = {
	{ "input", required_argument, NULL, 'i' },
	{ "output", required_argument, NULL, 'o' },
	{ "no-symbols", no_argument, NULL, 'n' },
	{ "sysroot", required_argument, NULL, 'S' },
	{ "lines", no_argument, NULL, 'L' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const struct {
	const char *name;
	int (*fn)(const struct view_args *a, struct err *err);
	const char *usage;
} views[] = {
	{ "thread-info", view_thread_info, view_thread_info_usage },
	{ "call-info", view_call_info, view_call_info_usage },
	{ "call-trace", view_call_trace, view_call_trace_usage },
	{ "exec-trace", view_exec_trace, view_exec_trace_usage },
	{ "binary-info", view_binary_info, view_binary_info_usage },
	{ "calls", view_calls, view_calls_usage },
	{ "events", view_events, view_events_usage },
};

struct dump_opts {
	const char *input;
	const char *output;
	const char *sysroot;
	bool symbols;
	bool lines;
};

static int parse_dump_options(int argc, char **argv, struct dump_opts *o)
{
	int c;

	optind = 0; /* a full re-initialisation: "+" is read only then, views parse too */
	while ((c = cmd_getopt("dump", argc, argv, "+i:o:nh", dump_options)) != -1) {
		switch (c) {
		case 'i':
			o->input = optarg;
			break;
		case 'o':
			o->output = optarg;
			break;
		case 'n':
			o->symbols = false;
			break;
		case 'S':
			o->sysroot = optarg;
			break;
		case 'L':
			o->lines = true;
			break;
		case 'h':
			fputs(dump_usage, stdout);
			exit(EXIT_OK);
		default:
			return -1;
		}
	}
	return 0;
}

/* Say what reader_open() found wrong but could live with. */
static void warn_damage(const struct store_reader *r, const char *input)
{
	if (reader_recovered(r))
		log_warn("%s was not closed by nosco (was it killed?); showing its last commit",
		         input);
	if (reader_damage(r))
		log_warn("%s is damaged: %s; showing what can be read", input, reader_damage(r));
}

/* Views report what the user should know (a binary missing on disk) through this. */
static void warn_view(void *ctx, const char *msg)
{
	(void)ctx;
	log_warn("%s", msg);
}

/* A bad view argument: "nosco dump VIEW: ..." and a hint to the view's --help. */
static int view_usage_error(const char *view, const char *msg)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "dump %s", view);
	return cmd_usage_error(cmd, "%s", msg);
}

/* Run the view on the opened trace, writing to -o OUT or stdout. */
static int run_view(size_t v, const struct dump_opts *o, struct store_reader *r, int argc,
                    char **argv)
{
	struct view_args a = { .reader = r,
		               .symbols = o->symbols,
		               .lines = o->lines,
		               .sysroot = o->sysroot,
		               .warn = warn_view,
		               .argc = argc,
		               .argv = argv };
	struct err err;
	int rc;

	a.out = o->output ? fopen(o->output, "w") : stdout;
	if (!a.out) {
		err_sys(&err, ERR_IO, "cannot write %s", o->output);
		log_error("%s", err.msg);
		return EXIT_FAILURE_INPUT;
	}
	rc = views[v].fn(&a, &err);
	if ((o->output ? fclose(a.out) : fflush(a.out)) || (!o->output && ferror(a.out))) {
		err_sys(&err, ERR_IO, "cannot write %s", o->output ? o->output : "the output");
		log_error("%s", err.msg);
		return EXIT_FAILURE_INPUT;
	}
	if (!rc)
		return EXIT_OK;
	if (err.kind == ERR_USAGE)
		return view_usage_error(views[v].name, err.msg);
	log_error("%s", err.msg);
	return EXIT_FAILURE_INPUT;
}

int cmd_dump(int argc, char **argv)
{
	struct dump_opts o = { .symbols = true };
	struct store_reader *r;
	struct err err;
	size_t v;
	int ret, first;

	if (parse_dump_options(argc, argv, &o))
		return EXIT_USAGE;
	if (optind >= argc)
		return cmd_usage_error("dump",
		                       "missing VIEW (one of thread-info, call-info, "
		                       "call-trace, exec-trace, binary-info, calls, events)");
	for (v = 0; v < sizeof(views) / sizeof(views[0]); v++)
		if (!strcmp(argv[optind], views[v].name))
			break;
	if (v == sizeof(views) / sizeof(views[0]))
		return cmd_usage_error("dump", "unknown view '%s'", argv[optind]);
	/* The view's arguments are checked before the file is opened: usage errors first. */
	/* getopt's optind is reused by the view's own parsing: keep where the view starts. */
	first = optind;
	ret = view_check_args(argc - first, argv + first, &err);
	if (ret < 0)
		return view_usage_error(views[v].name, err.msg);
	if (ret > 0) {
		fputs(views[v].usage, stdout);
		return EXIT_OK;
	}
	if (!o.input)
		return cmd_usage_error("dump", "missing -i FILE");
	r = reader_open(o.input, &err);
	if (!r) {
		log_error("%s", err.msg);
		return EXIT_FAILURE_INPUT;
	}
	warn_damage(r, o.input);
	ret = run_view(v, &o, r, argc - first, argv + first);
	reader_close(r);
	return ret;
}
