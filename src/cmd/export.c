/*
 * nosco export: write a trace in the format of another tool (src/export/,
 * docs/export.md). Exit codes are dump's: 1 for a trace, call or thread
 * that cannot be read as asked, 2 for a bad command line.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "export/export.h"
#include "store/reader.h"
#include "util/log.h"
#include "util/outfile.h"
#include "view/view.h"

static const char export_usage_head[] =
        "Usage: nosco export -i FILE -f FORMAT [-o OUT] [--thread TID] [--depth N]\n"
        "                    [--clock insns|wall] [--hits] [-n] [--sysroot DIR] [CALL_ID]\n"
        "\n"
        "Write a trace (all of it, or the subtree of CALL_ID) in the file format of\n"
        "another tool. docs/export.md says which tool reads which format.\n"
        "\n"
        "Formats:\n";

static const char export_usage_tail[] =
        "\n"
        "Options:\n"
        "  -i, --input FILE      the trace file to read\n"
        "  -f, --format FORMAT   the format to write\n"
        "  -o, --output OUT      write to OUT instead of standard output\n"
        "      --thread TID      only the calls of this thread (Linux thread id)\n"
        "      --depth N         only N levels of calls below each root call; the\n"
        "                        instructions of deeper calls count in their caller\n"
        "      --clock CLOCK     the time axis: insns (default; one tick per\n"
        "                        instruction) or wall (the recorded times)\n"
        "      --hits            drcov: also write OUT.hits, each block's hit count\n"
        "  -n, --no-symbols      raw addresses, do not read the traced binaries\n"
        "      --sysroot DIR     look for the traced binaries under DIR\n"
        "  -h, --help            show this help\n";

enum { OPT_THREAD = 256, OPT_DEPTH, OPT_CLOCK, OPT_HITS, OPT_SYSROOT };

static const struct option export_options[] = {
	{ "input", required_argument, NULL, 'i' },
	{ "format", required_argument, NULL, 'f' },
	{ "output", required_argument, NULL, 'o' },
	{ "thread", required_argument, NULL, OPT_THREAD },
	{ "depth", required_argument, NULL, OPT_DEPTH },
	{ "clock", required_argument, NULL, OPT_CLOCK },
	{ "hits", no_argument, NULL, OPT_HITS },
	{ "no-symbols", no_argument, NULL, 'n' },
	{ "sysroot", required_argument, NULL, OPT_SYSROOT },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct export_opts {
	const char *input;
	const char *format;
	bool has_clock;
	struct export_args a;
};

static void print_usage(void)
{
	size_t i;

	fputs(export_usage_head, stdout);
	for (i = 0; i < export_format_count; i++)
		printf("  %-10s %s\n", export_formats[i].name, export_formats[i].summary);
	fputs(export_usage_tail, stdout);
}

/* The formats' names, from the table (at most 16); Return: how many. */
static size_t format_names(const char *names[static 16])
{
	size_t i, n = export_format_count < 16 ? export_format_count : 16;

	for (i = 0; i < n; i++)
		names[i] = export_formats[i].name;
	return n;
}

static int parse_option(int c, struct export_opts *o)
{
	unsigned long long v;

	switch (c) {
	case 'i':
		o->input = optarg;
		return 0;
	case 'f':
		o->format = optarg;
		return 0;
	case 'o':
		o->a.out_path = optarg;
		return 0;
	case OPT_THREAD:
		if (view_parse_num(optarg, INT32_MAX, &v))
			return cmd_usage_error("export", "invalid thread id '%s'", optarg);
		o->a.has_thread = true;
		o->a.tid = (int)v;
		return 0;
	case OPT_DEPTH:
		if (view_parse_num(optarg, UINT32_MAX, &v))
			return cmd_usage_error("export", "invalid depth '%s'", optarg);
		o->a.has_depth = true;
		o->a.depth = (uint32_t)v;
		return 0;
	case OPT_CLOCK:
		if (strcmp(optarg, "insns") && strcmp(optarg, "wall"))
			return cmd_usage_error("export", "invalid clock '%s' (insns or wall)",
			                       optarg);
		o->has_clock = true;
		o->a.clock = strcmp(optarg, "wall") ? EXPORT_CLOCK_INSNS : EXPORT_CLOCK_WALL;
		return 0;
	case OPT_HITS:
		o->a.hits = true;
		return 0;
	case 'n':
		o->a.symbols = false;
		return 0;
	case OPT_SYSROOT:
		o->a.sysroot = optarg;
		return 0;
	case 'h':
		print_usage();
		exit(EXIT_OK);
	default:
		return EXIT_USAGE;
	}
}

/* The options, then at most one CALL_ID. */
static int parse_args(int argc, char **argv, struct export_opts *o)
{
	unsigned long long v;
	int c;

	optind = 0;
	while ((c = cmd_getopt("export", argc, argv, "i:f:o:nh", export_options)) != -1)
		if (parse_option(c, o))
			return EXIT_USAGE;
	if (optind < argc) {
		if (view_parse_num(argv[optind], INT64_MAX, &v))
			return cmd_usage_error("export", "invalid call id '%s'", argv[optind]);
		o->a.has_call = true;
		o->a.call = (int64_t)v;
		if (optind + 1 < argc)
			return cmd_usage_error("export", "unexpected argument '%s'",
			                       argv[optind + 1]);
	}
	return 0;
}

/* The options the format does not take, and what it needs. */
static int check_format(const struct export_format *f, const struct export_opts *o)
{
	if (o->has_clock && !(f->flags & EXPORT_FLAG_CLOCK))
		return cmd_usage_error(
		        "export", "--clock does not apply to %s (it has no time axis)", f->name);
	if (o->a.hits && !(f->flags & EXPORT_FLAG_HITS))
		return cmd_usage_error("export", "--hits applies to drcov only");
	if (o->a.hits && !o->a.out_path)
		return cmd_usage_error("export", "--hits needs -o OUT (the counts go to OUT.hits)");
	if ((f->flags & EXPORT_FLAG_FILE) && !o->a.out_path)
		return cmd_usage_error("export", "%s needs -o OUT", f->name);
	return 0;
}

static void warn(void *ctx, const char *msg)
{
	(void)ctx;
	log_warn("%s", msg);
}

static int export(const struct export_format *f, struct export_opts *o)
{
	struct outfile out;
	struct err err, werr;
	int rc;

	bool dir = f->flags & EXPORT_FLAG_DIR; /* the format writes OUT itself */

	/* OUT first: one that cannot be written is a command-line mistake (exit 2) */
	if (!dir && cmd_open_output(&out, o->a.out_path, o->input, &err)) {
		if (err.kind == ERR_USAGE)
			return cmd_usage_error("export", "%s", err.msg);
		log_error("%s", err.msg);
		return EXIT_FAILURE_INPUT;
	}
	/* OUT.hits is made next to a file: not next to /dev/stdout or a FIFO */
	if (o->a.hits && !out.path) {
		outfile_close(&out, false, NULL);
		return cmd_usage_error("export", "--hits needs -o OUT to be a file, not %s",
		                       o->a.out_path);
	}
	o->a.reader = reader_open(o->input, &err);
	if (!o->a.reader) {
		if (!dir)
			outfile_close(&out, false, NULL);
		log_error("%s", err.msg);
		return EXIT_FAILURE_INPUT;
	}
	if (!reader_damage(o->a.reader))
		cmd_warn_unfinished(o->a.reader, o->input);
	o->a.out = dir ? NULL : out.f;
	o->a.warn = warn;
	rc = export_run(f, &o->a, &err);
	if (!rc && reader_damage(o->a.reader))
		rc = err_set(&err, ERR_INPUT, "%s is damaged: %s", o->input,
		             reader_damage(o->a.reader));
	reader_close(o->a.reader);
	/*
	 * Damage still gives a whole file of what could be read, if anything
	 * could; other errors leave OUT as it was.
	 */
	if (!dir &&
	    outfile_close(&out, !rc || (err.kind == ERR_INPUT && outfile_wrote(&out)), &werr)) {
		log_error("%s", werr.msg);
		return EXIT_FAILURE_INPUT;
	}
	if (!rc)
		return EXIT_OK;
	if (err.kind == ERR_USAGE)
		return cmd_usage_error("export", "%s", err.msg);
	log_error("%s", err.msg);
	return EXIT_FAILURE_INPUT;
}

int cmd_export(int argc, char **argv)
{
	struct export_opts o = { .a = { .symbols = true, .clock = EXPORT_CLOCK_INSNS } };
	const struct export_format *f;
	const char *names[16];
	size_t n = format_names(names);
	char list[256];

	if (parse_args(argc, argv, &o))
		return EXIT_USAGE;
	if (!o.format)
		return cmd_usage_error("export", "missing -f FORMAT (one of %s)",
		                       cmd_name_list(list, names, n));
	if (!(f = export_find(o.format)))
		return cmd_unknown_name("export", "format", o.format, names, n);
	if (check_format(f, &o))
		return EXIT_USAGE;
	if (!o.input)
		return cmd_usage_error("export", "missing -i FILE");
	return export(f, &o);
}
