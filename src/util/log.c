/* Messages to stderr: see log.h. */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>

#include "util/progress.h"

int log_verbosity;

static void log_v(const char *what, const char *fmt, va_list ap)
{
	/* A message never shares its line with the progress line. */
	progress_hold();
	fputs("nosco: ", stderr);
	if (what)
		fputs(what, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	progress_release();
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v("error: ", fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v("warning: ", fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	if (log_verbosity < 1)
		return;
	va_start(ap, fmt);
	log_v(NULL, fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_verbosity < 2)
		return;
	va_start(ap, fmt);
	log_v("debug: ", fmt, ap);
	va_end(ap);
}
