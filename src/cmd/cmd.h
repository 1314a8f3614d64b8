/*
 * The commands. Each command parses its own options, calls into the
 * library code and is the only place that chooses exit codes and prints
 * errors. The exit codes are documented in docs/cli.md.
 */
#ifndef NOSCO_CMD_CMD_H
#define NOSCO_CMD_CMD_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

#include "util/err.h"

struct outfile;
struct store_reader;

enum {
	EXIT_OK = 0,
	EXIT_FAILURE_INPUT = 1, /* dump: the trace or a named part of it is bad or missing */
	EXIT_USAGE = 2,         /* bad command line */
	EXIT_NOSCO = 125,       /* run: nosco failed (config, output file, tracer) */
	EXIT_NOT_EXEC = 126,    /* run: the program cannot be executed */
	EXIT_NOT_FOUND = 127,   /* run: the program does not exist */
};

int cmd_run(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_view(int argc, char **argv);

/**
 * cmd_usage_error - report a command-line mistake
 * @cmd: the command as the user typed it ("run", "dump exec-trace")
 *
 * Prints "nosco <cmd>: <message>" and a hint to --help on stderr.
 * Return: EXIT_USAGE.
 */
int cmd_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * cmd_getopt - getopt_long() with nosco's handling of mistakes
 *
 * Returns the option character, -1 at the end of the options, or '?' after
 * it has reported an unknown option or a missing argument with
 * cmd_usage_error() (the caller then returns EXIT_USAGE).
 */
int cmd_getopt(const char *cmd, int argc, char **argv, const char *shortopts,
               const struct option *longopts);

/**
 * cmd_put_wrapped - a help entry: prefix, then text wrapped at 79 columns,
 * its next lines indented by indent spaces
 */
void cmd_put_wrapped(FILE *f, const char *prefix, size_t indent, const char *text);

/* cmd_name_list - "a, b, c": the names joined, into list (cut at its size) */
const char *cmd_name_list(char list[static 256], const char *const *names, size_t n);

/*
 * cmd_unknown_name - "unknown view 'x', did you mean 'y'? (views: ...)"
 * @kind: what the names are ("view", "format")
 * Return: EXIT_USAGE.
 */
int cmd_unknown_name(const char *cmd, const char *kind, const char *name, const char *const *names,
                     size_t n);

/* cmd_fail - print the recorded error as one line; return its exit code for @cmd */
int cmd_fail(const struct err *e);

/*
 * cmd_open_output - open -o OUT (util/outfile.h), standard output when
 * name is NULL; ERR_USAGE when OUT is the trace being read (@input) or
 * cannot be written as asked. A regular OUT is replaced only when the
 * caller keeps the output at outfile_close().
 */
int cmd_open_output(struct outfile *out, const char *name, const char *input, struct err *err);

/* cmd_warn_unfinished - say, before any output, that a trace does not hold a whole run */
void cmd_warn_unfinished(struct store_reader *r, const char *input);

#endif
