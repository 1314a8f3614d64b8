/*
 * The KDL nodes the views share (docs/views.md): the call node, the
 * backtrace node, the node saying where an event happened, and the nodes
 * of state changes; plus the text forms exec-trace and calls use.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "view/internal.h"

static void prop_hex(struct view_ctx *v, const char *key, uint64_t addr)
{
	char buf[20];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, addr);
	kdl_emit_prop_string(&v->em, key, buf);
}

static void prop_id(struct view_ctx *v, const char *key, int64_t id)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, id);
	kdl_emit_prop_string(&v->em, key, buf);
}

/* line="file:N" with --lines, when DWARF knows the address. */
static void prop_line(struct view_ctx *v, uint64_t addr, uint64_t time, enum view_addr_kind kind)
{
	struct strbuf sb;

	if (!v->syms.lines)
		return;
	sb_init(&sb);
	if (view_sym_line(&v->syms, addr, time, kind, &sb))
		kdl_emit_prop_string(&v->em, "line", sb.buf);
	sb_fini(&sb);
}

/* call_id=, addr=, thread= and the extras of a call, after its symbol */
static void call_props(struct view_ctx *v, const struct reader_call *c, uint64_t addr,
                       unsigned flags)
{
	char sig[32];

	prop_id(v, "call_id", c->id);
	if (v->o.addresses)
		prop_hex(v, "addr", addr);
	if (flags & VIEW_CALL_THREAD)
		kdl_emit_prop_int(&v->em, "thread", view_tid(v, c->thread));
	if (flags & VIEW_CALL_EXTRA) {
		if (c->kind == STORE_CALL_JUMP || c->kind == STORE_CALL_SIGNAL ||
		    c->kind == STORE_CALL_ATTACHED)
			kdl_emit_prop_string(&v->em, "kind", reader_call_kind_name(c->kind));
		if (c->kind == STORE_CALL_SIGNAL)
			kdl_emit_prop_string(&v->em, "signal",
			                     view_signame(c->signal, sig, sizeof(sig)));
		if (c->open)
			kdl_emit_prop_string(&v->em, "end", "open");
		else if (c->end != STORE_END_RETURN)
			kdl_emit_prop_string(&v->em, "end", reader_call_end_name(c->end));
	}
	prop_line(v, addr, c->time_start, VIEW_ADDR_CODE);
}

void view_call_entries(struct view_ctx *v, const struct reader_call *c, uint64_t addr,
                       unsigned flags)
{
	kdl_emit_arg_string(&v->em, view_sym(v, c->addr, c->time_start, VIEW_ADDR_CODE));
	call_props(v, c, addr, flags);
}

void view_call_node(struct view_ctx *v, const struct reader_call *c, unsigned flags)
{
	kdl_emit_node(&v->em, NULL, view_sym(v, c->addr, c->time_start, VIEW_ADDR_CODE));
	call_props(v, c, c->addr, flags);
}

/* A return address: "sym+0x5 addr=..", or "<0x...>" outside every binary. */
static void return_frame(struct view_ctx *v, uint64_t addr, uint64_t time)
{
	const char *name = view_sym(v, addr, time, VIEW_ADDR_RETURN);
	bool outside = name[0] == '<';

	kdl_emit_node(&v->em, NULL, name);
	if (v->o.addresses && !outside)
		prop_hex(v, "addr", addr);
	prop_line(v, addr, time, VIEW_ADDR_RETURN);
	kdl_emit_node_end(&v->em);
}

/* An enclosing traced call: named after its call site ("main+0x10 call_id=.."). */
static void call_frame(struct view_ctx *v, const struct reader_frame *f, uint64_t time)
{
	struct reader_call c;
	struct err e = { 0 };
	uint64_t site = f->addr;

	/* An unknown call site (entered while running free): the caller's entry. */
	if (!site) {
		if (reader_call_get(v->r, f->call, &c, &e))
			view_damage(v, &e);
		else
			site = c.addr;
	}
	kdl_emit_node(&v->em, NULL, view_sym(v, site, time, VIEW_ADDR_CODE));
	prop_id(v, "call_id", f->call);
	if (v->o.addresses)
		prop_hex(v, "addr", site);
	prop_line(v, site, time, VIEW_ADDR_CODE);
	kdl_emit_node_end(&v->em);
}

static void empty_backtrace(struct view_ctx *v)
{
	kdl_emit_node(&v->em, NULL, "backtrace");
	kdl_emit_arg_string(&v->em, "<none>");
	kdl_emit_node_end(&v->em);
}

void view_call_backtrace(struct view_ctx *v, int64_t call, uint64_t time)
{
	struct reader_frame *frames;
	struct err e = { 0 };
	size_t n, i;

	if (reader_call_backtrace(v->r, call, &frames, &n, &e)) {
		view_damage(v, &e);
		n = 0;
		frames = NULL;
	}
	if (!n) {
		empty_backtrace(v);
		return;
	}
	kdl_emit_node(&v->em, NULL, "backtrace");
	kdl_emit_children_begin(&v->em);
	for (i = n; i-- > 0;) {
		if (frames[i].call != STORE_NONE)
			call_frame(v, &frames[i], time);
		else
			return_frame(v, frames[i].addr, time);
	}
	kdl_emit_children_end(&v->em);
	kdl_emit_node_end(&v->em);
	free(frames);
}

/* "backtrace { ... }" of unwound return addresses (innermost first) */
static void addrs_backtrace(struct view_ctx *v, const uint64_t *bt, size_t n, uint64_t time)
{
	size_t i;

	if (!n) {
		empty_backtrace(v);
		return;
	}
	kdl_emit_node(&v->em, NULL, "backtrace");
	kdl_emit_children_begin(&v->em);
	for (i = n; i-- > 0;)
		return_frame(v, bt[i], time);
	kdl_emit_children_end(&v->em);
	kdl_emit_node_end(&v->em);
}

void view_origin_node(struct view_ctx *v, const char *name, const struct reader_event *e,
                      void (*code)(struct view_ctx *v, const void *arg), const void *arg,
                      bool with_thread)
{
	struct reader_call c = { 0 };
	struct err err = { 0 };
	bool in_call = e->call != STORE_NONE;
	uint64_t *bt = NULL;
	size_t bt_len = e->bt_len;

	/* The event's strings and arrays belong to its cursor: keep what is used later. */
	if (bt_len) {
		bt = xmalloc(bt_len * sizeof(*bt));
		memcpy(bt, e->bt, bt_len * sizeof(*bt));
	}
	if (in_call && reader_call_get(v->r, e->call, &c, &err)) {
		if (err.kind == ERR_NOT_FOUND)
			err_set(&err, ERR_INPUT,
			        "%s is damaged: event %" PRId64 " happened in call %" PRId64
			        ", which is not in it",
			        reader_path(v->r), e->id, e->call);
		view_damage(v, &err);
		in_call = false;
	}
	kdl_emit_node(&v->em, NULL, name);
	if (code)
		code(v, arg);
	if (in_call)
		view_call_entries(v, &c, e->addr, 0);
	if (with_thread && e->thread != STORE_NONE)
		kdl_emit_prop_int(&v->em, "thread", view_tid(v, e->thread));
	if (v->o.backtrace) {
		kdl_emit_children_begin(&v->em);
		if (in_call)
			view_call_backtrace(v, c.id, c.time_start);
		else
			addrs_backtrace(v, bt, bt_len, e->time_ns);
		kdl_emit_children_end(&v->em);
	}
	kdl_emit_node_end(&v->em);
	free(bt);
}

static void range_prop(struct view_ctx *v, uint64_t start, uint64_t end)
{
	char buf[48];

	snprintf(buf, sizeof(buf), "0x%" PRIx64 "..0x%" PRIx64, start, end);
	kdl_emit_prop_string(&v->em, "addr_range", buf);
}

/* code=N or signal=NAME of a thread that exited. */
static void exit_props(struct view_ctx *v, const struct reader_thread *t)
{
	char sig[32];

	if (!t || !t->exited)
		return;
	if (t->signaled)
		kdl_emit_prop_string(&v->em, "signal", view_signame(t->code, sig, sizeof(sig)));
	else
		kdl_emit_prop_int(&v->em, "code", t->code);
}

static void binary_state_node(struct view_ctx *v, const struct reader_event *e)
{
	const struct view_binary *b = view_sym_binary(&v->syms, e->subject);

	if (e->kind == STORE_EV_LOAD_BINARY) {
		kdl_emit_node(&v->em, NULL, "load_binary");
		kdl_emit_arg_string(&v->em, b ? b->path : "?");
		if (b)
			range_prop(v, b->start, b->end);
	} else {
		kdl_emit_node(&v->em, NULL, "unload_binary");
		if (b) {
			prop_hex(v, "addr", b->start);
			kdl_emit_prop_string(&v->em, "path", b->path);
		}
	}
}

void view_state_node(struct view_ctx *v, const struct reader_event *e)
{
	char sig[32];

	switch (e->kind) {
	case STORE_EV_LOAD_BINARY:
	case STORE_EV_UNLOAD_BINARY:
		binary_state_node(v, e);
		break;
	case STORE_EV_CREATE_THREAD:
		kdl_emit_node(&v->em, NULL, "create_thread");
		kdl_emit_arg_int(&v->em, view_tid(v, e->subject));
		break;
	case STORE_EV_EXIT_THREAD:
		kdl_emit_node(&v->em, NULL, "exit_thread");
		kdl_emit_arg_int(&v->em, view_tid(v, e->subject));
		exit_props(v, view_thread(v, e->subject));
		break;
	case STORE_EV_SIGNAL:
		kdl_emit_node(&v->em, NULL, "signal");
		kdl_emit_arg_string(&v->em,
		                    e->detail ? e->detail
		                              : view_signame((int)e->subject, sig, sizeof(sig)));
		break;
	case STORE_EV_EXEC:
		kdl_emit_node(&v->em, NULL, "exec");
		kdl_emit_arg_string(&v->em, e->detail ? e->detail : "?");
		break;
	case STORE_EV_FORK:
		kdl_emit_node(&v->em, NULL, "fork");
		kdl_emit_prop_int(&v->em, "child_pid", e->subject);
		kdl_emit_prop_string(&v->em, "syscall", e->detail ? e->detail : "fork");
		break;
	case STORE_EV_ATTACH:
		/* Where the thread was when nosco attached; its stack holds the calls open then. */
		kdl_emit_node(&v->em, NULL, "attached");
		kdl_emit_arg_string(&v->em, view_sym(v, e->addr, e->time_ns, VIEW_ADDR_CODE));
		if (v->o.backtrace) {
			kdl_emit_children_begin(&v->em);
			addrs_backtrace(v, e->bt, e->bt_len, e->time_ns);
			kdl_emit_children_end(&v->em);
		}
		break;
	default:
		kdl_emit_node(&v->em, NULL, "event");
		kdl_emit_prop_int(&v->em, "kind", e->kind);
		break;
	}
	kdl_emit_node_end(&v->em);
}

void view_state_text(struct view_ctx *v, const struct reader_event *e, struct strbuf *sb)
{
	const struct view_binary *b = view_sym_binary(&v->syms, e->subject);
	char sig[32];

	switch (e->kind) {
	case STORE_EV_LOAD_BINARY:
		sb_addf(sb, "load_binary=%s", b ? b->path : "?");
		break;
	case STORE_EV_UNLOAD_BINARY:
		sb_addf(sb, "unload_binary=0x%" PRIx64, b ? b->start : 0);
		break;
	case STORE_EV_CREATE_THREAD:
		sb_addf(sb, "create_thread=%d", view_tid(v, e->subject));
		break;
	case STORE_EV_EXIT_THREAD:
		sb_addf(sb, "exit_thread=%d", view_tid(v, e->subject));
		break;
	case STORE_EV_SIGNAL:
		sb_addf(sb, "signal=%s",
		        e->detail ? e->detail : view_signame((int)e->subject, sig, sizeof(sig)));
		break;
	case STORE_EV_EXEC:
		sb_addf(sb, "exec=%s", e->detail ? e->detail : "?");
		break;
	case STORE_EV_FORK:
		sb_addf(sb, "fork=%s child_pid=%" PRId64, e->detail ? e->detail : "fork",
		        e->subject);
		break;
	case STORE_EV_ATTACH:
		sb_addf(sb, "attached=%d", view_tid(v, e->subject));
		break;
	default:
		sb_addf(sb, "event=%d", (int)e->kind);
		break;
	}
}

void view_call_extra_text(const struct reader_call *c, struct strbuf *sb)
{
	char sig[32];

	if (c->kind == STORE_CALL_JUMP || c->kind == STORE_CALL_SIGNAL ||
	    c->kind == STORE_CALL_ATTACHED)
		sb_addf(sb, " kind=%s", reader_call_kind_name(c->kind));
	if (c->kind == STORE_CALL_SIGNAL)
		sb_addf(sb, " signal=%s", view_signame(c->signal, sig, sizeof(sig)));
	if (c->open)
		sb_adds(sb, " end=open");
	else if (c->end != STORE_END_RETURN)
		sb_addf(sb, " end=%s", reader_call_end_name(c->end));
}

bool view_event_before(const struct reader_event *e, const struct reader_call *c)
{
	return e->pos < c->pos_start || (e->pos == c->pos_start && e->time_ns < c->time_start);
}
