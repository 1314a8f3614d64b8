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

const char *view_option_name(unsigned option)
{
	size_t i;

	for (i = 0; i < NOPTS; i++)
		if (table[i].flag == option)
			return table[i].opt.name;
	return NULL;
}

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
static int option_error(const struct view_def *spec, int argc, char **argv, struct err *err)
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
	if (i == NOPTS || (table[i].flag && !(spec->options & table[i].flag)))
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

static int parse_positional(const struct view_def *spec, int argc, char **argv, struct view_opts *o,
                            struct err *err)
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

int view_parse(const struct view_def *spec, int argc, char **argv, struct view_opts *o,
               struct err *err)
{
	struct option longopts[NOPTS + 1];
	size_t i, n = 0;
	int c;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < NOPTS; i++)
		if (!table[i].flag || (spec->options & table[i].flag))
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
	const struct view_def *view = view_find(argv[0]);
	struct view_opts o;

	if (!view)
		return err_set(err, ERR_USAGE, "unknown view '%s'", argv[0]);
	if (view_parse(view, argc, argv, &o, err))
		return -1;
	return o.help ? 1 : 0;
}
