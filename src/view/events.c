/*
 * The raw view: every record of the trace file, one line each, so that
 * the file's content can be checked without SQL. The line format is
 * documented in docs/trace-format.md ("Raw dump"); it is stable because
 * tests compare it.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "view/internal.h"

/* A string needs quotes when a reader splitting on spaces would get it wrong. */
static bool needs_quotes(const unsigned char *s, size_t len)
{
	size_t i;

	if (!len || (len == 1 && s[0] == '-'))
		return true;
	for (i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f || s[i] == '"' || s[i] == '\\')
			return true;
	return false;
}

/* A string as is, or in double quotes with C escapes for what is not printable ASCII. */
static void put_str(FILE *out, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i;

	if (!s) {
		fputc('-', out);
		return;
	}
	if (!needs_quotes(s, len)) {
		fwrite(s, 1, len, out);
		return;
	}
	fputc('"', out);
	for (i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			fprintf(out, "\\%c", s[i]);
		else if (s[i] == '\n')
			fputs("\\n", out);
		else if (s[i] == '\t')
			fputs("\\t", out);
		else if (s[i] < ' ' || s[i] >= 0x7f)
			fprintf(out, "\\x%02x", s[i]);
		else
			fputc(s[i], out);
	}
	fputc('"', out);
}

static void put_hex(FILE *out, const uint8_t *p, size_t len)
{
	size_t i;

	if (!p || !len) {
		fputc('-', out);
		return;
	}
	for (i = 0; i < len; i++)
		fprintf(out, "%02x", p[i]);
}

/* " key=N", or " key=-" for STORE_NONE */
static void put_id(FILE *out, const char *key, int64_t id)
{
	if (id < 0)
		fprintf(out, " %s=-", key);
	else
		fprintf(out, " %s=%" PRId64, key, id);
}

static void put_bt(FILE *out, const uint64_t *bt, size_t n)
{
	size_t i;

	fputs(" bt=", out);
	if (!n)
		fputc('-', out);
	for (i = 0; i < n; i++)
		fprintf(out, "%s0x%" PRIx64, i ? "," : "", bt[i]);
}

static void dump_meta(const struct view_args *a)
{
	size_t i;

	for (i = 0; i < reader_meta_count(a->reader); i++) {
		const struct reader_meta *m = reader_meta_at(a->reader, i);

		fputs("meta ", a->out);
		put_str(a->out, m->key, strlen(m->key));
		fputc('=', a->out);
		if (m->is_int)
			fprintf(a->out, "%" PRId64, m->num);
		else
			put_str(a->out, m->text, strlen(m->text));
		fputc('\n', a->out);
	}
}

static void dump_argv(const struct view_args *a)
{
	size_t i, len;

	for (i = 0; i < reader_argc(a->reader); i++) {
		const char *arg = reader_argv(a->reader, i, &len);

		fprintf(a->out, "argv %zu ", i);
		put_str(a->out, arg, len);
		fputc('\n', a->out);
	}
}

static void put_binary(FILE *out, const struct reader_binary *b)
{
	fprintf(out, "binary id=%" PRId64 " path=", b->id);
	put_str(out, b->path, b->path_len);
	fputs(" name=", out);
	put_str(out, b->name, b->name_len);
	fputs(" build_id=", out);
	put_hex(out, b->build_id, b->build_id_len);
	fprintf(out, " base=0x%" PRIx64 " start=0x%" PRIx64 " end=0x%" PRIx64, b->base, b->start,
	        b->end);
	if (b->image)
		fprintf(out, " image=%zu", b->image_len);
	else
		fputs(" image=-", out);
	put_id(out, "load_event", b->load_event);
	put_id(out, "unload_event", b->unload_event);
	fputc('\n', out);
}

/* A 0 address is "-": an IFUNC scope whose resolver never ran, a scope that is no IFUNC. */
static void put_addr(FILE *out, const char *key, uint64_t addr)
{
	if (addr)
		fprintf(out, " %s=0x%" PRIx64, key, addr);
	else
		fprintf(out, " %s=-", key);
}

static void dump_scopes(const struct view_args *a)
{
	size_t i;

	for (i = 0; i < reader_scope_count(a->reader); i++) {
		const struct reader_scope *sc = reader_scope_at(a->reader, i);

		fprintf(a->out, "scope id=%" PRId64 " symbol=", sc->id);
		put_str(a->out, sc->symbol, strlen(sc->symbol));
		fprintf(a->out, " binary=%" PRId64, sc->binary);
		put_addr(a->out, "addr", sc->addr);
		put_addr(a->out, "resolver", sc->resolver);
		fprintf(a->out, " depth=%" PRIu32 "\n", sc->depth);
	}
}

static void put_thread(FILE *out, const struct reader_thread *t)
{
	fprintf(out, "thread id=%" PRId64 " tid=%d", t->id, t->tid);
	put_id(out, "create_event", t->create_event);
	put_id(out, "exit_event", t->exit_event);
	put_id(out, "exit_code", t->exited && !t->signaled ? t->code : STORE_NONE);
	put_id(out, "exit_signal", t->exited && t->signaled ? t->code : STORE_NONE);
	fprintf(out, " insns=%" PRIu64 "\n", t->insn_count);
}

static void put_event(FILE *out, const struct reader_event *e)
{
	fprintf(out, "event id=%" PRId64 " kind=%s time=%" PRIu64, e->id,
	        reader_event_kind_name(e->kind), e->time_ns);
	put_id(out, "thread", e->thread);
	put_id(out, "call", e->call);
	if (e->thread >= 0)
		fprintf(out, " pos=%" PRIu64, e->pos);
	else
		fputs(" pos=-", out);
	fprintf(out, " addr=0x%" PRIx64, e->addr);
	put_id(out, "subject", e->subject);
	fputs(" detail=", out);
	put_str(out, e->detail, e->detail ? strlen(e->detail) : 0);
	put_bt(out, e->bt, e->bt_len);
	fputc('\n', out);
}

static void put_call(FILE *out, const struct reader_call *c)
{
	fprintf(out, "call id=%" PRId64 " thread=%" PRId64, c->id, c->thread);
	put_id(out, "parent", c->parent);
	fprintf(out,
	        " kind=%s depth=%" PRIu32 " addr=0x%" PRIx64 " site=0x%" PRIx64 " ret=0x%" PRIx64
	        " pos_start=%" PRIu64,
	        reader_call_kind_name(c->kind), c->depth, c->addr, c->site, c->ret_addr,
	        c->pos_start);
	if (c->open)
		fprintf(out, " pos_end=- end=open time_start=%" PRIu64 " time_end=-",
		        c->time_start);
	else
		fprintf(out, " pos_end=%" PRIu64 " end=%s time_start=%" PRIu64 " time_end=%" PRIu64,
		        c->pos_end, reader_call_end_name(c->end), c->time_start, c->time_end);
	put_id(out, "signal", c->kind == STORE_CALL_SIGNAL ? c->signal : STORE_NONE);
	fprintf(out, " truncated=%d", c->truncated);
	put_bt(out, c->bt, c->bt_len);
	fputc('\n', out);
}

/* Keep the first error; later sections still print what they can. */
static void keep_first(struct err *first, const struct err *e)
{
	if (first->kind == ERR_NONE)
		*first = *e;
}

static void dump_records(const struct view_args *a, int which, struct err *first)
{
	struct store_reader *r = a->reader;
	struct reader_cursor *c;
	union {
		struct reader_binary b;
		struct reader_thread t;
		struct reader_event e;
		struct reader_call c;
	} u;
	struct err e;
	int rc = 0;

	c = which == 0   ? reader_binaries(r, &e)
	    : which == 1 ? reader_threads(r, &e)
	    : which == 2 ? reader_events(r, &e)
	                 : reader_calls(r, &e);
	if (!c) {
		keep_first(first, &e);
		return;
	}
	while (!ferror(a->out)) {
		if (which == 0 && (rc = reader_binary_next(c, &u.b, &e)) > 0)
			put_binary(a->out, &u.b);
		else if (which == 1 && (rc = reader_thread_next(c, &u.t, &e)) > 0)
			put_thread(a->out, &u.t);
		else if (which == 2 && (rc = reader_event_next(c, &u.e, &e)) > 0)
			put_event(a->out, &u.e);
		else if (which == 3 && (rc = reader_call_next(c, &u.c, &e)) > 0)
			put_call(a->out, &u.c);
		else
			break;
	}
	if (rc < 0)
		keep_first(first, &e);
	reader_cursor_free(c);
}

static void dump_thread_insns(const struct view_args *a, int64_t thread, struct err *first)
{
	struct reader_insns *it = reader_insns_open(a->reader, thread, 0, UINT64_MAX, first);
	struct reader_insn in;
	struct err e;
	int rc;

	if (!it)
		return;
	while (!ferror(a->out) && (rc = reader_insns_next(it, &in, &e)) > 0) {
		fprintf(a->out,
		        "insn thread=%" PRId64 " pos=%" PRIu64 " addr=0x%" PRIx64 " bytes=", thread,
		        in.pos, in.addr);
		put_hex(a->out, in.bytes, in.len);
		fputc('\n', a->out);
	}
	if (rc < 0)
		keep_first(first, &e);
	reader_insns_free(it);
}

static void dump_insns(const struct view_args *a, struct err *first)
{
	struct reader_thread t;
	struct err e;
	struct reader_cursor *c = reader_threads(a->reader, &e);
	int rc;

	if (!c) {
		keep_first(first, &e);
		return;
	}
	while ((rc = reader_thread_next(c, &t, &e)) > 0) {
		struct err te = { 0 };

		dump_thread_insns(a, t.id, &te);
		if (te.kind != ERR_NONE)
			keep_first(first, &te);
	}
	if (rc < 0)
		keep_first(first, &e);
	reader_cursor_free(c);
}

int view_events(const struct view_args *a, struct err *err)
{
	const struct view_def *self = view_of(view_events);
	struct err first = { 0 };
	struct view_opts o;
	int i;

	if (view_parse(self, a->argc, a->argv, &o, err))
		return -1;
	if (o.help) {
		fputs(self->usage, a->out);
		return 0;
	}
	dump_meta(a);
	dump_argv(a);
	for (i = 0; i < 4; i++) {
		/* The calls of a big trace take time to list: show what is ready. */
		if (i == 3)
			fflush(a->out);
		dump_records(a, i, &first);
		if (i == 0)
			dump_scopes(a);
	}
	dump_insns(a, &first);
	if (first.kind == ERR_NONE)
		return 0;
	*err = first;
	return -1;
}
