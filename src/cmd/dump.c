/*
 * nosco dump: show a trace file. The options of dump itself come before the
 * view name; each view has its own options after it.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"

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
	"  -h, --help            show this help\n"
	"\n"
	"Run 'nosco dump VIEW --help' for the options of a view.\n";

static const struct option dump_options[] = {
	{ "input", required_argument, NULL, 'i' },
	{ "output", required_argument, NULL, 'o' },
	{ "no-symbols", no_argument, NULL, 'n' },
	{ "sysroot", required_argument, NULL, 'S' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char *const views[] = {
	"thread-info", "call-info", "call-trace", "exec-trace", "binary-info", "calls", "events",
};

int cmd_dump(int argc, char **argv)
{
	const char *input = NULL;
	size_t i;
	int c;

	optind = 1;
	while ((c = cmd_getopt("dump", argc, argv, "+i:o:nh", dump_options)) != -1) {
		switch (c) {
		case 'i':
			input = optarg;
			break;
		case 'o':
		case 'n':
		case 'S':
			break;
		case 'h':
			fputs(dump_usage, stdout);
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return cmd_usage_error("dump", "missing VIEW (one of thread-info, call-info, "
					       "call-trace, exec-trace, binary-info, calls, events)");
	for (i = 0; i < sizeof(views) / sizeof(views[0]); i++)
		if (!strcmp(argv[optind], views[i]))
			break;
	if (i == sizeof(views) / sizeof(views[0]))
		return cmd_usage_error("dump", "unknown view '%s'", argv[optind]);
	if (!input)
		return cmd_usage_error("dump", "missing -i FILE");
	fprintf(stderr, "nosco dump: view '%s' is not implemented yet\n", views[i]);
	return EXIT_USAGE;
}
