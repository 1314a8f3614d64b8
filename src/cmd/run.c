/*
 * nosco run: trace a program into a trace file.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "config/config.h"
#include "util/log.h"

static const char run_usage[] =
	"Usage: nosco run -c CONFIG -o FILE [OPTIONS] [--] PROGRAM [ARGS...]\n"
	"\n"
	"Run PROGRAM under the tracer and write what it did to the trace file FILE.\n"
	"\n"
	"Options:\n"
	"  -c, --config CONFIG   a configuration file, or the configuration itself as\n"
	"                        KDL text (e.g. 'call-depth 3' or\n"
	"                        'trace \"main\" binary=\"echo\"'); see docs/config.md\n"
	"  -o, --output FILE     the trace file to write; an existing file is replaced\n"
	"                        only if it is a nosco trace\n"
	"  -f, --force           replace FILE even if it is not a nosco trace\n"
	"  -e, --engine ENGINE   how to trace: 'step' (single-stepping)\n"
	"      --no-pin          do not run nosco and the program on one CPU\n"
	"  -v, --verbose         say more about what happens (twice: debug output)\n"
	"  -h, --help            show this help\n"
	"\n"
	"nosco exits with the program's exit code, 128+N if it was killed by signal N,\n"
	"125 if nosco itself failed, 126 if PROGRAM cannot be executed, 127 if it\n"
	"does not exist, and 2 for a bad command line.\n";

static const struct option run_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "output", required_argument, NULL, 'o' },
	{ "force", no_argument, NULL, 'f' },
	{ "engine", required_argument, NULL, 'e' },
	{ "no-pin", no_argument, NULL, 'P' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct run_opts {
	const char *config;
	const char *output;
	const char *engine;
	bool force;
	bool pin;
};

static int parse_run_options(int argc, char **argv, struct run_opts *o)
{
	int c;

	optind = 1;
	/* '+': stop at PROGRAM, its own options are not ours. */
	while ((c = cmd_getopt("run", argc, argv, "+c:o:fe:vh", run_options)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'o':
			o->output = optarg;
			break;
		case 'f':
			o->force = true;
			break;
		case 'e':
			o->engine = optarg;
			break;
		case 'P':
			o->pin = false;
			break;
		case 'v':
			log_verbosity++;
			break;
		case 'h':
			fputs(run_usage, stdout);
			exit(EXIT_OK);
		default:
			return -1;
		}
	}
	if (!o->config)
		return cmd_usage_error("run", "missing -c CONFIG"), -1;
	if (!o->output)
		return cmd_usage_error("run", "missing -o FILE"), -1;
	if (optind >= argc)
		return cmd_usage_error("run", "missing PROGRAM to run"), -1;
	return 0;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o = { .pin = true };
	struct config cfg;
	struct err err;

	if (parse_run_options(argc, argv, &o))
		return EXIT_USAGE;
	if (config_load(&cfg, o.config, &err))
		return cmd_fail(&err);
	config_fini(&cfg);
	fputs("nosco run: tracing is not implemented yet\n", stderr);
	return EXIT_USAGE;
}
