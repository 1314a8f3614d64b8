/*
 * Growable, always NUL-terminated character buffers.
 */
#ifndef NOSCO_UTIL_STRBUF_H
#define NOSCO_UTIL_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *buf; /* NUL-terminated; never NULL after sb_init() */
	size_t len;
	size_t cap;
};

void sb_init(struct strbuf *sb);
void sb_fini(struct strbuf *sb);
void sb_reset(struct strbuf *sb);
void sb_addn(struct strbuf *sb, const char *s, size_t n);
void sb_adds(struct strbuf *sb, const char *s);
void sb_addc(struct strbuf *sb, char c);
void sb_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vaddf(struct strbuf *sb, const char *fmt, va_list ap);
/* sb_detach - hand the buffer to the caller (free() it); sb needs sb_init() before reuse */
char *sb_detach(struct strbuf *sb);

#endif
