/*
 * chrome: the Trace Event Format (JSON object form) read by Perfetto UI,
 * chrome://tracing and speedscope (docs/export.md):
 *
 *	{"displayTimeUnit":"ns","otherData":{...},"traceEvents":[
 *	{"ph":"M","name":"process_name","pid":P,"tid":P,"args":{"name":"prog"}},
 *	{"ph":"M","name":"thread_name","pid":P,"tid":T,"args":{"name":"thread T"}},
 *	{"ph":"X","name":"main","cat":"call","pid":P,"tid":T,"ts":0,"dur":42,"args":{...}},
 *	...]}
 *
 * One complete ("X") event per call, written when the call ends (so an
 * open call's end is known); viewers order events by ts themselves. ts and
 * dur are microseconds in the format: with --clock insns one instruction
 * is one tick, with --clock wall the recorded nanoseconds are written as
 * microseconds with three decimals, from the program's start.
 */
#include <inttypes.h>
#include <string.h>

#include "export/export.h"
#include "kdl/kdl.h"

/* s as a JSON string: escaped, and a byte that is not UTF-8 becomes U+FFFD. */
static void json_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), len;
	int32_t cp;

	putc('"', out);
	while (n) {
		if (*p == '"' || *p == '\\') {
			fprintf(out, "\\%c", *p);
			len = 1;
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(out, "\\u%04x", *p);
			len = 1;
		} else if ((len = kdl_utf8_decode((const char *)p, n, &cp))) {
			fwrite(p, 1, len, out);
		} else {
			fputs("\\ufffd", out);
			len = 1;
		}
		p += len;
		n -= len;
	}
	putc('"', out);
}

/* A time on the format's microsecond axis. */
static void json_time(struct export_ctx *x, uint64_t t)
{
	if (x->a->clock == EXPORT_CLOCK_INSNS)
		fprintf(x->a->out, "%" PRIu64, t);
	else
		fprintf(x->a->out, "%" PRIu64 ".%03u", t / 1000, (unsigned)(t % 1000));
}

static int process_pid(const struct export_ctx *x)
{
	int64_t pid;

	return reader_meta_int(x->r, "pid", &pid) ? 0 : (int)pid;
}

static void header(struct export_ctx *x)
{
	FILE *out = x->a->out;
	const char *program = reader_meta_text(x->r, "program");
	const struct reader_thread *t;
	int pid = process_pid(x);

	fprintf(out, "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"clock\":\"%s\"},\n",
	        x->a->clock == EXPORT_CLOCK_INSNS ? "insns: 1 us = 1 instruction" : "wall");
	fprintf(out,
	        "\"traceEvents\":[\n{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%d,"
	        "\"tid\":%d,\"args\":{\"name\":",
	        pid, pid);
	json_string(out, program ? program : "nosco trace");
	fputs("}}", out);
	vec_foreach (&x->threads, t) {
		if (x->a->has_thread && t->tid != x->a->tid)
			continue;
		fprintf(out,
		        ",\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,\"tid\":%d,"
		        "\"args\":{\"name\":\"thread %d\"}}",
		        pid, t->tid, t->tid);
	}
}

static int slice(struct export_walk *w, struct export_frame *f, struct err *err)
{
	struct export_ctx *x = w->x;
	FILE *out = x->a->out;
	uint64_t start = export_ts_start(x, f), end = export_ts_end(x, f);

	(void)err;
	fputs(",\n{\"ph\":\"X\",\"cat\":\"call\",\"name\":", out);
	json_string(out, export_name(x, &f->call));
	fprintf(out, ",\"pid\":%d,\"tid\":%d,\"ts\":", *(int *)w->ctx,
	        export_tid(x, f->call.thread));
	json_time(x, start);
	fputs(",\"dur\":", out);
	json_time(x, end > start ? end - start : 0);
	fprintf(out,
	        ",\"args\":{\"call_id\":%" PRId64 ",\"insns\":%" PRIu64 ",\"self_insns\":%" PRIu64
	        ",\"end\":\"%s\"}}",
	        f->call.id, f->call.pos_end - f->call.pos_start, export_self_insns(f),
	        f->call.open ? "open" : reader_call_end_name(f->call.end));
	return 0;
}

int export_chrome(struct export_ctx *x, struct err *err)
{
	int pid = process_pid(x);
	struct export_walk w = { .ctx = &pid, .leave = slice };
	int rc;

	header(x);
	rc = export_walk(x, &w, err);
	fputs("\n]}\n", x->a->out);
	return rc;
}
