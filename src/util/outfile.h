/*
 * The file a command's text output goes to (nosco dump [-o OUT]). OUT is
 * written where it points and never changed into something else:
 *
 * - a regular file (or a missing one) gets a temporary file next to it,
 *   renamed over it only when the output is complete, so a failed dump
 *   never leaves a half-written or empty file in place of a good one; the
 *   new file keeps the old one's mode and owner;
 * - a symbolic link: the same, at the file it points to; the link stays;
 * - a character device or a FIFO (/dev/null, /dev/tty, a pipe to a
 *   viewer) is written into, as a shell's > would;
 * - /dev/stdout, /dev/stderr, /dev/fd/N are the descriptors nosco has;
 * - a regular file with other hard links, a directory, a block device or
 *   a socket is refused: nothing could be written there without breaking
 *   a link or harming what is there.
 *
 * Write errors are remembered with their cause, so that a full disk or
 * /dev/full is reported as "cannot write OUT: No space left on device".
 */
#ifndef NOSCO_UTIL_OUTFILE_H
#define NOSCO_UTIL_OUTFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util/err.h"

/* The stream's cookie points here: an outfile must not be moved while open. */
struct outfile {
	FILE *f;        /* where the output is written */
	char *name;     /* OUT as given, or "standard output", for messages */
	char *path;     /* the regular file replaced at the end; NULL when writing into OUT */
	char *tmp;      /* the temporary file renamed to path */
	int fd;         /* the descriptor written */
	bool own_fd;    /* closed at the end (not standard output's) */
	int error;      /* errno of the first write that failed, 0 if none */
	uint64_t bytes; /* handed to write() so far */
};

/**
 * outfile_open - open OUT for writing
 * @o: filled in
 * @out: the path given by the user; NULL for standard output
 * @err: ERR_USAGE when out is something that cannot be written as asked
 *       (the message says what it is), ERR_IO when a file cannot be created
 * Return: 0, or -1 with err.
 */
int outfile_open(struct outfile *o, const char *out, struct err *err);

/* outfile_wrote - whether anything was written so far (flushes the stream) */
bool outfile_wrote(struct outfile *o);

/**
 * outfile_close - finish the output
 * @o: opened by outfile_open()
 * @keep_output: put it in place (a regular OUT); false drops it and leaves
 *               OUT as it was (what was written into a device or FIFO is
 *               written)
 * @err: ERR_IO "cannot write OUT: <why>" when the output could not all be
 *       written (then a regular OUT is left as it was)
 * Return: 0, or -1 with err; o is released either way.
 */
int outfile_close(struct outfile *o, bool keep_output, struct err *err);

#endif
