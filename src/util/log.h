/*
 * nosco's own messages. They always go to stderr, never to stdout, so they
 * cannot mix with the traced program's output or with a dump, and each
 * erases the progress line first (progress.h). The verbosity is the only
 * global state besides signal flags and the progress line.
 */
#ifndef NOSCO_UTIL_LOG_H
#define NOSCO_UTIL_LOG_H

extern int log_verbosity; /* 0: errors and warnings, 1: -v, 2: -vv */

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_info - shown with -v */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_debug - shown with -vv */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
