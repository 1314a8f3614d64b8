/* Error records: see err.h. */
#include "util/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void err_vset(struct err *e, enum err_kind kind, const char *fmt, va_list ap)
{
	e->kind = kind;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
}

int err_set(struct err *e, enum err_kind kind, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	va_start(ap, fmt);
	err_vset(e, kind, fmt, ap);
	va_end(ap);
	return -1;
}

int err_sys(struct err *e, enum err_kind kind, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	size_t len;

	if (!e)
		return -1;
	va_start(ap, fmt);
	err_vset(e, kind, fmt, ap);
	va_end(ap);
	len = strlen(e->msg);
	snprintf(e->msg + len, sizeof(e->msg) - len, ": %s", strerror(saved));
	errno = saved;
	return -1;
}

int err_prefix(struct err *e, const char *fmt, ...)
{
	char old[sizeof(e->msg)];
	size_t len;
	va_list ap;

	if (!e)
		return -1;
	memcpy(old, e->msg, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	len = strlen(e->msg);
	/* Keep as much of the old message as fits after "prefix: ". */
	if (len + 2 < sizeof(e->msg)) {
		size_t room = sizeof(e->msg) - len - 3, n = strlen(old);

		memcpy(e->msg + len, ": ", 2);
		if (n > room)
			n = room;
		memcpy(e->msg + len + 2, old, n);
		e->msg[len + 2 + n] = '\0';
	}
	return -1;
}

void err_clear(struct err *e)
{
	if (!e)
		return;
	e->kind = ERR_NONE;
	e->msg[0] = '\0';
}

void err_keep_first(struct err *first, const struct err *e)
{
	if (first->kind == ERR_NONE && e->kind != ERR_NONE)
		*first = *e;
}
