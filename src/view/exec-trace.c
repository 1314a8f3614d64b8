/*
 * exec-trace: the instructions a call executed, as a GNU as source file
 * in Intel syntax (docs/views.md). The calls it made and its state
 * changes are trailing comments on the instruction before them; with
 * --depth N the instructions of the calls made down to N levels are
 * inlined, indented, under a label of their own.
 *
 * The thread's stream is read forward once, from the call's first
 * position to its last, skipping the ranges of calls that are not
 * inlined: memory depends on the nesting depth (a few hundred bytes a
 * level, walk.c), not on the number of instructions. Lines are written as they come; the newline of
 * an instruction is held back until it is known whether comments follow.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "arch/arch.h"
#include "view/internal.h"

/* Reading through a skipped range is cheaper than reopening the stream below this. */
#define SKIP_READ_MAX   65536
#define TEXT_CACHE_SIZE 4096 /* formatted instructions, direct-mapped by address */
#define TEXT_MAX        128

struct text_slot {
	uint64_t addr;
	uint8_t len;
	uint8_t bytes[ARCH_MAX_INSN_LEN];
	char text[TEXT_MAX];
};

struct frame {
	struct reader_call call;
	uint32_t level; /* 0 for the call asked for */
	uint64_t cur;   /* the next position of its own to list */
	struct view_next next;
};

struct frame_stack {
	struct frame *data;
	size_t len;
	size_t cap;
};

struct listing {
	struct view_ctx *v;
	enum arch_mode mode;
	int64_t thread;
	uint64_t end;    /* the root call's last position + 1, or --range's end */
	uint64_t lo, hi; /* --range: the positions listed are [lo, hi) */
	struct reader_insns *it;
	uint64_t it_pos; /* the position the iterator yields next */
	bool it_done;
	/* The instruction line written without its newline, if any. */
	bool pending, pending_comment;
	int64_t pending_owner;
	int prefix_w;                /* --addresses: the width of the last address comment */
	struct strbuf src, src_last; /* --lines: the source line of the last instruction */
	struct text_slot *cache;
	struct frame_stack stack;
};

static void flush_line(struct listing *l)
{
	if (l->pending)
		fputc('\n', l->v->out);
	l->pending = false;
}

/* Past VIEW_INDENT_MAX levels the indentation stops growing: lines stay short. */
static void indent(struct listing *l, uint32_t level)
{
	fprintf(l->v->out, "%*s", (int)(4 * (level < VIEW_INDENT_MAX ? level : VIEW_INDENT_MAX)),
	        "");
}

/* The address comment that starts an instruction line with --addresses. */
static void addr_prefix(struct listing *l, uint64_t addr)
{
	if (l->v->o.addresses)
		l->prefix_w = fprintf(l->v->out, " /* 0x%" PRIx64 " */", addr);
}

/* Spaces as wide as the last address comment, so that other lines align with it. */
static void blank_prefix(struct listing *l)
{
	fprintf(l->v->out, "%*s", l->prefix_w, "");
}

/* A comment on the pending instruction of @owner, or on a line of its own. */
static void comment(struct listing *l, int64_t owner, uint32_t level, const char *text)
{
	if (l->pending && l->pending_owner == owner) {
		fprintf(l->v->out, "%s %s", l->pending_comment ? "" : "   #", text);
		l->pending_comment = true;
		return;
	}
	flush_line(l);
	blank_prefix(l);
	indent(l, level + 1);
	fprintf(l->v->out, "# %s\n", text);
}

static const char *insn_text(struct listing *l, const struct reader_insn *in)
{
	struct text_slot *s = &l->cache[(in->addr ^ (in->addr >> 12)) % TEXT_CACHE_SIZE];
	size_t len = in->len < ARCH_MAX_INSN_LEN ? in->len : ARCH_MAX_INSN_LEN;

	if (s->addr == in->addr && s->len == len && !memcmp(s->bytes, in->bytes, len) && len)
		return s->text;
	s->addr = in->addr;
	s->len = (uint8_t)len;
	memcpy(s->bytes, in->bytes, len);
	arch_format_asm(l->mode, in->addr, in->bytes, len, s->text, sizeof(s->text));
	return s->text;
}

/* --lines: "# file:line" when an instruction starts a new source line. */
static void source_line(struct listing *l, const struct frame *f, uint64_t addr)
{
	if (!l->v->syms.lines)
		return;
	sb_reset(&l->src);
	if (!view_sym_line(&l->v->syms, addr, f->call.time_start, VIEW_ADDR_CODE, &l->src) ||
	    !strcmp(l->src.buf, l->src_last.buf))
		return;
	sb_reset(&l->src_last);
	sb_adds(&l->src_last, l->src.buf);
	flush_line(l);
	blank_prefix(l);
	indent(l, f->level + 1);
	fprintf(l->v->out, "# %s\n", l->src.buf);
}

static void insn_line(struct listing *l, const struct frame *f, const struct reader_insn *in)
{
	const char *text = insn_text(l, in);

	source_line(l, f, in->addr);
	flush_line(l);
	addr_prefix(l, in->addr);
	indent(l, f->level + 1);
	fputs(text, l->v->out);
	l->pending = true;
	l->pending_comment = false;
	l->pending_owner = f->call.id;
}

/* Position the stream at @pos: read through a short gap, reopen after a long one. */
static int seek(struct listing *l, uint64_t pos)
{
	struct reader_insn in;
	struct err e = { 0 };
	int rc;

	if (l->it && pos >= l->it_pos && pos - l->it_pos <= SKIP_READ_MAX) {
		while (l->it_pos < pos) {
			if ((rc = reader_insns_next(l->it, &in, &e)) <= 0)
				goto out;
			l->it_pos++;
		}
		return 0;
	}
	reader_insns_free(l->it);
	l->it_done = false;
	l->it_pos = pos;
	if ((l->it = reader_insns_open(l->v->r, l->thread, pos, l->end, &e)))
		return 0;
	rc = -1;
out:
	if (rc < 0)
		view_damage(l->v, &e);
	l->it_done = true;
	return -1;
}

/* List the frame's own instructions up to (not including) position @to. */
static void list_until(struct listing *l, struct frame *f, uint64_t to)
{
	struct reader_insn in;
	struct err e = { 0 };
	int rc = 0;

	if (to > f->call.pos_end)
		to = f->call.pos_end;
	if (to > l->hi)
		to = l->hi;
	if (f->cur < l->lo)
		f->cur = l->lo < to ? l->lo : to;
	if (f->cur >= to)
		return;
	if ((l->it_pos != f->cur || !l->it) && seek(l, f->cur)) {
		f->cur = to;
		return;
	}
	while (f->cur < to && !l->it_done && !view_stopped(l->v) &&
	       (rc = reader_insns_next(l->it, &in, &e)) > 0) {
		insn_line(l, f, &in);
		f->cur++;
		l->it_pos++;
	}
	if (rc < 0)
		view_damage(l->v, &e);
	if (rc <= 0 && f->cur < to)
		l->it_done = true;
	f->cur = to;
}

/* A call's symbol as a valid GNU as symbol (docs/views.md, "Labels"). */
static void label(const char *sym, struct strbuf *sb)
{
	const unsigned char *p;

	for (p = (const unsigned char *)sym; *p; p++) {
		if (*p == '<' || *p == '>')
			continue;
		if (sb->len == 0 && *p >= '0' && *p <= '9')
			sb_addc(sb, '_');
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '.')
			sb_addc(sb, (char)*p);
		else
			sb_addc(sb, '_');
	}
	if (!sb->len)
		sb_addc(sb, '_');
}

/* "name: # [sym ]call_id=N[ addr=..][ extras]" */
static void label_line(struct listing *l, const struct reader_call *c, uint32_t level)
{
	const char *sym = view_sym(l->v, c->addr, c->time_start, VIEW_ADDR_CODE);
	struct strbuf sb;
	bool renamed;

	sb_init(&sb);
	label(sym, &sb);
	renamed = strcmp(sb.buf, sym) != 0;
	if (level > 0) /* a function called twice is inlined twice: labels must differ */
		sb_addf(&sb, ".%" PRId64, c->id);
	flush_line(l);
	if (level > 0)
		blank_prefix(l);
	indent(l, level);
	fprintf(l->v->out, "%s: #", sb.buf);
	if (renamed)
		fprintf(l->v->out, " %s", sym);
	fprintf(l->v->out, " call_id=%" PRId64, c->id);
	if (level > VIEW_INDENT_MAX)
		fprintf(l->v->out, " depth=%" PRIu32, level);
	if (l->v->o.addresses)
		fprintf(l->v->out, " addr=0x%" PRIx64, c->addr);
	sb_reset(&sb);
	view_call_extra_text(c, &sb);
	if (c->truncated)
		sb_adds(&sb, " truncated");
	fprintf(l->v->out, "%s\n", sb.buf);
	sb_fini(&sb);
}

/* The comment a call leaves on its caller's call instruction. */
static void call_comment(struct listing *l, const struct frame *f, const struct reader_call *c)
{
	struct strbuf sb;

	sb_init(&sb);
	sb_adds(&sb, view_sym(l->v, c->addr, c->time_start, VIEW_ADDR_CODE));
	sb_addf(&sb, " call_id=%" PRId64, c->id);
	if (l->v->o.addresses)
		sb_addf(&sb, " addr=0x%" PRIx64, c->addr);
	view_call_extra_text(c, &sb);
	comment(l, f->call.id, f->level, sb.buf);
	sb_fini(&sb);
}

static void push(struct listing *l, const struct reader_call *c, uint32_t level)
{
	struct frame f = { .call = *c, .level = level, .cur = c->pos_start };

	/* Only the call asked for has its backtrace read: the others' would be dangling. */
	f.call.bt = NULL;
	f.call.bt_len = 0;
	view_next_init(l->v, &f.next, c->id, true);
	label_line(l, c, level);
	vec_push(&l->stack, f);
}

/* The rest of the top frame's own instructions; past --range, everything after is left out. */
static void end_frame(struct listing *l, struct frame *f)
{
	list_until(l, f, f->call.pos_end);
	l->stack.len--;
}

/* One step of the walk: the next event, the next call, or the end of the top frame. */
static void step(struct listing *l)
{
	struct frame *f = &vec_last(&l->stack);
	struct reader_event ev;
	struct reader_call kid;
	struct strbuf sb;

	if (view_next_is_event(&f->next)) {
		if (view_next_take_event(l->v, &f->next, &ev))
			return;
		if (ev.pos >= l->hi)
			return end_frame(l, f);
		if (ev.pos < l->lo)
			return;
		list_until(l, f, ev.pos);
		sb_init(&sb);
		view_state_text(l->v, &ev, &sb);
		comment(l, f->call.id, f->level, sb.buf);
		sb_fini(&sb);
	} else if (f->next.have_kid) {
		view_next_take_kid(l->v, &f->next, &kid);
		if (kid.pos_start >= l->hi)
			return end_frame(l, f);
		if (kid.pos_start < l->lo && kid.pos_end <= l->lo) {
			if (kid.pos_end > f->cur)
				f->cur = kid.pos_end;
			return;
		}
		list_until(l, f, kid.pos_start);
		call_comment(l, f, &kid);
		if (kid.pos_end > f->cur)
			f->cur = kid.pos_end;
		if (l->v->o.has_depth && f->level < l->v->o.depth)
			push(l, &kid, f->level + 1);
	} else {
		end_frame(l, f);
	}
}

/* --range FROM..TO as stream positions, clipped to the call; no bound where it reaches past. */
static void set_range(struct listing *l, const struct reader_call *c)
{
	uint64_t n = c->pos_end - c->pos_start;

	l->lo = 0;
	l->hi = UINT64_MAX;
	l->end = c->pos_end;
	if (!l->v->o.has_range)
		return;
	l->lo = c->pos_start + (l->v->o.range_from < n ? l->v->o.range_from : n);
	if (l->v->o.range_to < n)
		l->hi = l->end = c->pos_start + l->v->o.range_to;
}

int view_exec_trace(const struct view_args *a, struct err *err)
{
	struct view_ctx v;
	struct listing l = { .v = &v };
	struct reader_call c;
	struct err e = { 0 };
	const char *arch;
	int rc = view_begin(&v, view_exec_trace, a, err);

	if (rc)
		return rc > 0 ? 0 : -1;
	arch = reader_meta_text(v.r, "arch");
	if (arch_mode_from_name(arch, &l.mode)) {
		err_set(&e, ERR_UNSUPPORTED, "%s holds %s code, which nosco cannot disassemble",
		        reader_path(v.r), arch);
		view_damage(&v, &e);
	} else if (view_get_call(&v, v.o.call, &c, &e)) {
		view_damage(&v, &e);
	} else {
		l.thread = c.thread;
		set_range(&l, &c);
		l.cache = xcalloc(TEXT_CACHE_SIZE, sizeof(*l.cache));
		if (v.o.addresses)
			l.prefix_w = snprintf(NULL, 0, " /* 0x%" PRIx64 " */", c.addr);
		sb_init(&l.src);
		sb_init(&l.src_last);
		fprintf(v.out, ".intel_syntax noprefix\n%s\n",
		        l.mode == ARCH_MODE_32 ? ".code32\n" : "");
		push(&l, &c, 0);
		while (l.stack.len && !view_stopped(&v))
			step(&l);
		flush_line(&l);
		reader_insns_free(l.it);
		vec_free(&l.stack);
		free(l.cache);
		sb_fini(&l.src);
		sb_fini(&l.src_last);
	}
	return view_end(&v, err);
}
