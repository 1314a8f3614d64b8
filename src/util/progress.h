/*
 * The live progress line of a long run: one line on a terminal, redrawn in
 * place ("\r", then erase to the end of the line), never wider than the
 * terminal, erased before any other message of nosco's (log.h holds it
 * off around each) and at the end. It exists only on a terminal that can
 * erase a line, while nosco is in its foreground, after the run has lasted
 * PROGRESS_DELAY_MS; elsewhere every call here does nothing.
 */
#ifndef NOSCO_UTIL_PROGRESS_H
#define NOSCO_UTIL_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Short runs print nothing; a redraw at most every PROGRESS_EVERY_MS. */
#define PROGRESS_DELAY_MS 1000
#define PROGRESS_EVERY_MS 200

/* What the line says besides the elapsed time. */
struct progress_counts {
	uint64_t insns;   /* recorded instructions */
	uint64_t calls;   /* recorded calls */
	uint64_t threads; /* live threads */
	uint64_t bytes;   /* the trace file's size; 0: not shown */
};

/*
 * progress_start - the run starts now: show its line on fd from
 * PROGRESS_DELAY_MS on, if fd is a terminal and TERM names one that can
 * erase a line (not unset, not "dumb"). Return: whether the line is on.
 */
bool progress_start(int fd);
/* progress_due - is the line on and is it time to redraw it? */
bool progress_due(void);
/* progress_show - draw the line with these counts (when progress_due() said so) */
void progress_show(const struct progress_counts *c);
/*
 * progress_hold - erase the line and draw it no more until
 * progress_release(): around anything else written to the terminal, from
 * any thread, so that no message shares a line with it.
 */
void progress_hold(void);
void progress_release(void);
/* progress_stop - erase the line for good (the run is over) */
void progress_stop(void);

/* The longest count progress_count() writes ("18.4E"), with its NUL. */
#define PROGRESS_COUNT_MAX 8

/*
 * progress_count - n in at most 5 characters, three significant digits
 * with an SI prefix from 1000 on: 999, 1.0k, 12.3k, 123k, 1.2M, 3.4G.
 * Return: buf.
 */
char *progress_count(char buf[PROGRESS_COUNT_MAX], uint64_t n);

/*
 * progress_format - the line: "nosco: ELAPSED, N instructions, N calls, N
 * threads, SIZE" in at most width - 1 characters (a full last column makes
 * some terminals wrap): whole fields are dropped from the end, and only
 * the first one is cut when even it does not fit. No "\r", no escape.
 * Return: its length (it is NUL-terminated in buf, cut to cap - 1).
 */
size_t progress_format(char *buf, size_t cap, unsigned width, uint64_t elapsed_ms,
                       const struct progress_counts *c);

#endif
