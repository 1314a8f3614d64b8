/* Helpers shared by the commands: usage errors and option parsing. */
#include "cmd/cmd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/reader.h"
#include "util/log.h"
#include "util/near.h"
#include "util/outfile.h"

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

/*
 * Once and before any output: the calls still running show end=open (or
 * end=killed after an error), which is not how the program went on.
 */
void cmd_warn_unfinished(struct store_reader *r, const char *input)
{
	switch (reader_end(r)) {
	case READER_END_LIVE:
		log_warn("%s is still being written by nosco; showing its last commit, where "
		         "running calls show end=open",
		         input);
		break;
	case READER_END_MISSING:
		log_warn(
		        "%s is unfinished (nosco was killed, or stopped by an error such as a full "
		        "disk); showing its last commit, where running calls show end=open",
		        input);
		break;
	case READER_END_FAILED:
		log_warn("%s is unfinished: nosco stopped tracing on an error, and the calls "
		         "running "
		         "then show end=killed",
		         input);
		break;
	case READER_END_WRITTEN:
		/* a rollback that left a finished run: only the rollback to tell */
		if (reader_recovered(r))
			log_warn("%s was not closed by nosco (was it killed?); showing its last "
			         "commit",
			         input);
		break;
	}
}

int cmd_open_output(struct outfile *out, const char *name, const char *input, struct err *err)
{
	struct stat a, b;

	if (name && !stat(name, &a) && !stat(input, &b) && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino)
		return err_set(err, ERR_USAGE, "-o %s would overwrite the trace being read", name);
	return outfile_open(out, name, err);
}

void cmd_put_wrapped(FILE *f, const char *prefix, size_t indent, const char *text)
{
	size_t col = strlen(prefix), n;

	fputs(prefix, f);
	for (; *text; text += n) {
		text += strspn(text, " ");
		n = strcspn(text, " ");
		if (!n)
			break;
		if (col + 1 + n > 79) {
			fprintf(f, "\n%*s", (int)indent, "");
			col = indent;
		} else {
			fputc(' ', f);
			col++;
		}
		fwrite(text, 1, n, f);
		col += n;
	}
	fputc('\n', f);
}

const char *cmd_name_list(char list[static 256], const char *const *names, size_t n)
{
	size_t i, len = 0;

	list[0] = '\0';
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(list + len, len < 256 ? 256 - len : 0, "%s%s",
		                        i ? ", " : "", names[i]);
	return list;
}

int cmd_unknown_name(const char *cmd, const char *kind, const char *name, const char *const *names,
                     size_t n)
{
	const char *guess = near_closest(name, names, n);
	char list[256];

	cmd_name_list(list, names, n);
	if (guess)
		return cmd_usage_error(cmd, "unknown %s '%s', did you mean '%s'? (%ss: %s)", kind,
		                       name, guess, kind, list);
	return cmd_usage_error(cmd, "unknown %s '%s' (%ss: %s)", kind, name, kind, list);
}
