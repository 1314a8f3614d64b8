/* The progress line of a run: see progress.h. */
#include "util/progress.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "util/fdio.h"

#define ERASE "\r\033[K"

/*
 * The run loop draws, but any thread may log: the lock keeps a redraw out
 * of a message (progress_hold() holds it while the message is written).
 */
static struct {
	pthread_mutex_t mu;
	int fd; /* -1: off */
	int64_t start_ms, drawn_ms;
	bool shown;     /* the line is on the screen */
	char text[256]; /* what it says there */
} line = { .mu = PTHREAD_MUTEX_INITIALIZER, .fd = -1 };

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * in_foreground - may the line be drawn? A background job's line would
 * land in the shell's, and with "stty tostop" writing would stop nosco
 * (SIGTTOU). A terminal that is not nosco's controlling one has no jobs.
 */
static bool in_foreground(int fd)
{
	pid_t fg = tcgetpgrp(fd);

	return fg < 0 || fg == getpgrp();
}

/* put - all of s; false when the terminal is gone */
static bool put(int fd, const char *s, size_t n)
{
	return fd_write_all(fd, s, n, -1);
}

static unsigned width_of(int fd)
{
	struct winsize ws;

	if (ioctl(fd, TIOCGWINSZ, &ws) || !ws.ws_col)
		return 80;
	return ws.ws_col;
}

/* erase - take the line off the screen; called locked */
static void erase(void)
{
	if (line.shown && in_foreground(line.fd) && !put(line.fd, ERASE, strlen(ERASE)))
		line.fd = -1;
	line.shown = false;
}

bool progress_start(int fd)
{
	const char *term = getenv("TERM");
	bool on = isatty(fd) && term && *term && strcmp(term, "dumb");

	pthread_mutex_lock(&line.mu);
	line.fd = on ? fd : -1;
	line.start_ms = now_ms();
	line.drawn_ms = line.start_ms;
	line.shown = false;
	pthread_mutex_unlock(&line.mu);
	return on;
}

bool progress_due(void)
{
	int64_t now = now_ms();
	bool due;

	pthread_mutex_lock(&line.mu);
	due = line.fd >= 0 && now - line.start_ms >= PROGRESS_DELAY_MS &&
	      now - line.drawn_ms >= PROGRESS_EVERY_MS;
	pthread_mutex_unlock(&line.mu);
	return due;
}

/* draw - over the old line, then erase what is left of it (no flicker); called locked */
static void draw(const char *text)
{
	char buf[sizeof(line.text) + 8];
	size_t n = strlen(text);

	if (line.shown && !strcmp(text, line.text))
		return; /* a program that sleeps: nothing new to say */
	buf[0] = '\r';
	memcpy(buf + 1, text, n);
	memcpy(buf + 1 + n, "\033[K", 3);
	line.shown = put(line.fd, buf, n + 4);
	if (!line.shown)
		line.fd = -1;
	memcpy(line.text, text, n + 1);
}

void progress_show(const struct progress_counts *c)
{
	char text[sizeof(line.text)];
	int64_t now = now_ms();

	pthread_mutex_lock(&line.mu);
	line.drawn_ms = now;
	if (line.fd >= 0 && in_foreground(line.fd)) {
		progress_format(text, sizeof(text), width_of(line.fd),
		                (uint64_t)(now - line.start_ms), c);
		draw(text);
	} else {
		/* Left behind in the background: the shell has moved on since. */
		line.shown = false;
	}
	pthread_mutex_unlock(&line.mu);
}

void progress_hold(void)
{
	pthread_mutex_lock(&line.mu);
	erase();
}

void progress_release(void)
{
	pthread_mutex_unlock(&line.mu);
}

void progress_stop(void)
{
	pthread_mutex_lock(&line.mu);
	erase();
	line.fd = -1;
	pthread_mutex_unlock(&line.mu);
}

char *progress_count(char buf[PROGRESS_COUNT_MAX], uint64_t n)
{
	static const char prefix[] = "kMGTPE";
	uint64_t unit = 1, tenths, whole;
	size_t i;

	if (n < 1000) {
		snprintf(buf, PROGRESS_COUNT_MAX, "%llu", (unsigned long long)n);
		return buf;
	}
	/* The smallest prefix that keeps three digits once rounded (999.5k is 1.0M). */
	for (i = 0; i < sizeof(prefix) - 1; i++) {
		unit *= 1000;
		tenths = n / (unit / 10) + (n % (unit / 10) >= unit / 20);
		if (tenths < 1000) {
			snprintf(buf, PROGRESS_COUNT_MAX, "%llu.%llu%c",
			         (unsigned long long)(tenths / 10),
			         (unsigned long long)(tenths % 10), prefix[i]);
			return buf;
		}
		whole = n / unit + (n % unit >= unit / 2);
		if (whole < 1000) {
			snprintf(buf, PROGRESS_COUNT_MAX, "%llu%c", (unsigned long long)whole,
			         prefix[i]);
			return buf;
		}
	}
	return buf; /* not reached: UINT64_MAX is 18.4E */
}

static void format_elapsed(char *buf, size_t cap, uint64_t ms)
{
	unsigned long long s = ms / 1000;

	if (s < 60)
		snprintf(buf, cap, "nosco: %llus", s);
	else if (s < 3600)
		snprintf(buf, cap, "nosco: %llum%02llus", s / 60, s % 60);
	else
		snprintf(buf, cap, "nosco: %lluh%02llum%02llus", s / 3600, s / 60 % 60, s % 60);
}

static void format_count(char *buf, size_t cap, uint64_t n, const char *what)
{
	char num[PROGRESS_COUNT_MAX];

	snprintf(buf, cap, "%s %s%s", progress_count(num, n), what, n == 1 ? "" : "s");
}

/* format_bytes - "512 B", "12.3 MB" */
static void format_bytes(char *buf, size_t cap, uint64_t n)
{
	char num[PROGRESS_COUNT_MAX];
	size_t len = strlen(progress_count(num, n));

	if (isalpha((unsigned char)num[len - 1]))
		snprintf(buf, cap, "%.*s %cB written", (int)len - 1, num, num[len - 1]);
	else
		snprintf(buf, cap, "%s B written", num);
}

size_t progress_format(char *buf, size_t cap, unsigned width, uint64_t elapsed_ms,
                       const struct progress_counts *c)
{
	char fields[5][48];
	size_t n_fields = 4, max = width ? width - 1 : 0, len, i, flen;

	format_elapsed(fields[0], sizeof(fields[0]), elapsed_ms);
	format_count(fields[1], sizeof(fields[1]), c->insns, "instruction");
	format_count(fields[2], sizeof(fields[2]), c->calls, "call");
	format_count(fields[3], sizeof(fields[3]), c->threads, "thread");
	if (c->bytes)
		format_bytes(fields[n_fields++], sizeof(fields[0]), c->bytes);
	if (!cap)
		return 0;
	if (max > cap - 1)
		max = cap - 1;
	len = strlen(fields[0]);
	if (len > max)
		len = max;
	memcpy(buf, fields[0], len);
	for (i = 1; i < n_fields; i++) {
		flen = strlen(fields[i]);
		if (len + 2 + flen > max)
			break;
		memcpy(buf + len, ", ", 2);
		memcpy(buf + len + 2, fields[i], flen);
		len += 2 + flen;
	}
	buf[len] = '\0';
	return len;
}
