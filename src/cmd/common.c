/* Helpers shared by the commands: usage errors and option parsing. */
#include "cmd/cmd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

int cmd_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "nosco %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'nosco %s --help' for more information.\n", cmd);
	return EXIT_USAGE;
}

int cmd_getopt(const char *cmd, int argc, char **argv, const char *shortopts,
               const struct option *longopts)
{
	int c;

	opterr = 0;
	c = getopt_long(argc, argv, shortopts, longopts, NULL);
	if (c != '?' && c != ':')
		return c;
	const char *arg = argv[optind - 1];

	if (arg && !strncmp(arg, "--", 2)) {
		const struct option *o;
		size_t n = strcspn(arg + 2, "=");

		for (o = longopts; o->name; o++)
			if (strlen(o->name) == n && !strncmp(arg + 2, o->name, n))
				break;
		if (!o->name)
			cmd_usage_error(cmd, "unknown option '%.*s'", (int)n + 2, arg);
		else if (o->has_arg == no_argument)
			cmd_usage_error(cmd, "option '--%s' takes no argument", o->name);
		else
			cmd_usage_error(cmd, "option '--%s' needs an argument", o->name);
	} else if (optopt && strchr(shortopts, optopt)) {
		cmd_usage_error(cmd, "option '-%c' needs an argument", optopt);
	} else {
		cmd_usage_error(cmd, "unknown option '-%c'", optopt);
	}
	return '?';
}

int cmd_fail(const struct err *e)
{
	log_error("%s", e->msg);
	switch (e->kind) {
	case ERR_USAGE:
		return EXIT_USAGE;
	case ERR_NOT_EXEC:
		return EXIT_NOT_EXEC;
	case ERR_NOT_FOUND:
		return EXIT_NOT_FOUND;
	default:
		return EXIT_NOSCO;
	}
}
