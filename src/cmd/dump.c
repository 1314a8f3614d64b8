/*
 * nosco dump: show a trace file. The options of dump itself come before the
 * view name; each view has its own options after it.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "store/reader.h"
#include "util/log.h"
#include "util/near.h"
#include "util/outfile.h"
#include "util/xalloc.h"
#include "view/view.h"

/* dump's help, around the list of views (from the views' table) */
static const char dump_usage_head[] =
        "Usage: nosco dump -i FILE [-o OUT] [-n] [--sysroot DIR] VIEW [VIEW-OPTIONS]\n"
        "\n"
        "Show what a trace file holds.\n"
        "\n"
        "Views:\n";

static const char dump_usage_tail[] =
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

static void print_usage(void)
{
	char call[64];
	size_t v;

	fputs(dump_usage_head, stdout);
	for (v = 0; v < view_count; v++) {
		snprintf(call, sizeof(call), "%s%s%s", view_defs[v].name,
		         *view_defs[v].args ? " " : "", view_defs[v].args);
		printf("  %-26s%s\n", call, view_defs[v].summary);
	}
	fputs(dump_usage_tail, stdout);
}

static const struct option dump_options[] = {
	{ "input", required_argument, NULL, 'i' },
	{ "output", required_argument, NULL, 'o' },
	{ "no-symbols", no_argument, NULL, 'n' },
	{ "sysroot", required_argument, NULL, 'S' },
	{ "lines", no_argument, NULL, 'L' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* The views' names, from their table. */
static const char **view_names(void)
{
	const char **names = xcalloc(view_count, sizeof(*names));
	size_t v;

	for (v = 0; v < view_count; v++)
		names[v] = view_defs[v].name;
	return names;
}

/*
 * An option of dump itself written after the view (nosco dump thread-info
 * -i FILE): the view would only call it unknown. Which of dump's options
 * arg is, as the usage writes it, or NULL.
 */
static const char *dump_option_usage(const char *arg)
{
	static const struct {
		const char *shortopt, *longopt, *usage;
	} opts[] = {
		{ "-i", "--input", "-i FILE" }, { "-o", "--output", "-o OUT" },
		{ "-n", "--no-symbols", "-n" }, { NULL, "--sysroot", "--sysroot DIR" },
		{ NULL, "--lines", "--lines" },
	};
	size_t i, n = strcspn(arg, "=");

	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		/* -iFILE is -i too */
		if (opts[i].shortopt && !strncmp(arg, opts[i].shortopt, 2))
			return opts[i].usage;
		if (strlen(opts[i].longopt) == n && !strncmp(arg, opts[i].longopt, n))
			return opts[i].usage;
	}
	return NULL;
}

/* The first of the view's arguments that is an option of dump, or NULL. */
static const char *misplaced_option(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (dump_option_usage(argv[i]))
			return argv[i];
	return NULL;
}

static int misplaced_option_error(const char *arg, const char *view)
{
	return cmd_usage_error("dump",
	                       "'%.*s' is an option of dump: it comes before the view "
	                       "(nosco dump %s %s ...)",
	                       (int)(arg[1] == '-' ? strcspn(arg, "=") : 2), arg,
	                       dump_option_usage(arg), view);
}

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
			print_usage();
			exit(EXIT_OK);
		default:
			return -1;
		}
	}
	return 0;
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

/* Run the view on the opened trace, writing to out (closed here). */
static int run_view(const struct view_def *view, const struct dump_opts *o, struct store_reader *r,
                    struct outfile *out, int argc, char **argv)
{
	struct view_args a = { .reader = r,
		               .out = out->f,
		               .symbols = o->symbols,
		               .lines = o->lines,
		               .sysroot = o->sysroot,
		               .warn = warn_view,
		               .argc = argc,
		               .argv = argv };
	struct err err, werr;
	int rc;

	rc = view->run(&a, &err);
	/*
	 * Damage found at open (a truncated file) is what went wrong, whatever
	 * the view met after it: the view showed what could be read, and the
	 * exit status says it is not the whole trace.
	 */
	if ((!rc || err.kind == ERR_INPUT || err.kind == ERR_NOT_FOUND) && reader_damage(r)) {
		err_set(&err, ERR_INPUT, "%s is damaged: %s", o->input, reader_damage(r));
		rc = -1;
	}
	/* The reader of a pipe went away (| head): the view stopped, as was wanted. */
	if (out->error == EPIPE) {
		outfile_close(out, false, NULL);
		return EXIT_OK;
	}
	/*
	 * A damaged trace still gives what could be read: keep that too. A
	 * write error is the one to tell (the view only saw that writing failed).
	 */
	if (outfile_close(out, rc == 0 || outfile_wrote(out), &werr)) {
		log_error("%s", werr.msg);
		return EXIT_FAILURE_INPUT;
	}
	if (!rc)
		return EXIT_OK;
	if (err.kind == ERR_USAGE)
		return view_usage_error(view->name, err.msg);
	log_error("%s", err.msg);
	return EXIT_FAILURE_INPUT;
}

/* Open -o OUT (or stdout), then the trace, and show the view. */
static int dump(const struct view_def *view, const struct dump_opts *o, int argc, char **argv)
{
	struct store_reader *r;
	struct outfile out;
	struct err err;
	int ret;

	/* A closed pipe is a write error (EPIPE) that ends the view, not a signal that kills it. */
	signal(SIGPIPE, SIG_IGN);
	/* OUT first: one that cannot be written is a command-line mistake (exit 2) */
	if (cmd_open_output(&out, o->output, o->input, &err)) {
		if (err.kind == ERR_USAGE)
			return cmd_usage_error("dump", "%s", err.msg);
		log_error("%s", err.msg);
		return EXIT_FAILURE_INPUT;
	}
	r = reader_open(o->input, &err);
	if (!r) {
		outfile_close(&out, false, NULL);
		log_error("%s", err.msg);
		return EXIT_FAILURE_INPUT;
	}
	/* A damaged file ends with the error saying so, which is what matters. */
	if (!reader_damage(r))
		cmd_warn_unfinished(r, o->input);
	ret = run_view(view, o, r, &out, argc, argv);
	reader_close(r);
	return ret;
}

/* A missing or unknown view's name: the error lists the views. */
static int view_name_error(const char *name)
{
	const char **names = view_names();
	char list[256];
	int ret;

	if (!name)
		ret = cmd_usage_error("dump", "missing VIEW (one of %s)",
		                      cmd_name_list(list, names, view_count));
	else
		ret = cmd_unknown_name("dump", "view", name, names, view_count);
	free(names);
	return ret;
}

int cmd_dump(int argc, char **argv)
{
	struct dump_opts o = { .symbols = true };
	const struct view_def *view;
	const char *misplaced;
	struct err err;
	int ret, first;

	if (parse_dump_options(argc, argv, &o))
		return EXIT_USAGE;
	if (optind >= argc)
		return view_name_error(NULL);
	view = view_find(argv[optind]);
	if (!view)
		return view_name_error(argv[optind]);
	/* The view's arguments are checked before the file is opened: usage errors first. */
	/* getopt's optind is reused by the view's own parsing: keep where the view starts. */
	first = optind;
	ret = view_check_args(argc - first, argv + first, &err);
	misplaced = ret < 0 ? misplaced_option(argc - first, argv + first) : NULL;
	if (misplaced)
		return misplaced_option_error(misplaced, view->name);
	if (ret < 0)
		return view_usage_error(view->name, err.msg);
	if (ret > 0) {
		fputs(view->usage, stdout);
		return EXIT_OK;
	}
	if (!o.input)
		return cmd_usage_error("dump", "missing -i FILE");
	return dump(view, &o, argc - first, argv + first);
}
