/*
 * Error records for library code. Library functions never print or exit:
 * they fill a caller-owned struct err and return -1 (or NULL). Only the
 * commands in src/cmd/ turn an error kind into a message and an exit code.
 */
#ifndef NOSCO_UTIL_ERR_H
#define NOSCO_UTIL_ERR_H

enum err_kind {
	ERR_NONE = 0,
	ERR_USAGE,       /* bad command line */
	ERR_CONFIG,      /* invalid configuration */
	ERR_IO,          /* reading or writing a file failed */
	ERR_INPUT,       /* an input file is not what it should be */
	ERR_NOT_FOUND,   /* a named thing (call, thread, program, symbol) does not exist */
	ERR_NOT_EXEC,    /* the program exists but cannot be executed */
	ERR_PERMISSION,  /* the OS refused (ptrace not permitted, ...) */
	ERR_UNSUPPORTED, /* valid input nosco cannot handle */
	ERR_TRACE,       /* tracing the program failed */
	ERR_INTERNAL,    /* a bug in nosco */
};

struct err {
	enum err_kind kind;
	char msg[1024];
};

/**
 * err_set - record an error
 * @e: the record to fill (may be NULL, then nothing is recorded)
 * @kind: what kind of error it is
 * @fmt: printf-style message, one line, without a trailing newline
 *
 * Return: always -1, so that callers can write "return err_set(...)".
 */
int err_set(struct err *e, enum err_kind kind, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/**
 * err_sys - record an error caused by a failed system call
 *
 * Same as err_set() but appends ": <strerror(errno)>" to the message.
 * errno is read before anything else is done.
 *
 * Return: always -1.
 */
int err_sys(struct err *e, enum err_kind kind, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/**
 * err_prefix - put "<prefix>: " in front of an already recorded message
 *
 * Return: always -1.
 */
int err_prefix(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * err_clear - forget a recorded error
 */
void err_clear(struct err *e);

/**
 * err_keep_first - remember e in first unless first already holds an error
 *
 * For work that goes on after an error (a view over a damaged trace) and
 * reports the first one at the end.
 */
void err_keep_first(struct err *first, const struct err *e);

#endif
