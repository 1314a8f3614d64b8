/*
 * folded: Brendan Gregg's folded stacks, the input of flamegraph.pl,
 * inferno-flamegraph and speedscope (docs/export.md):
 *
 *	main;a;b 6
 *
 * one line per call with its caller chain from the exported root, weighted
 * by its own instructions (self cost: what a flame graph adds up). Frames
 * are named as the views name calls; a ';' inside a name (none in C or
 * C++ symbols, but a path may have one) is written as ':' so that it does
 * not split the frame. A call that repeats the stack and the previous line
 * is merged into it (a loop calling one function), so the output stays
 * small without keeping more than the current stack.
 */
#include <inttypes.h>
#include <string.h>

#include "export/export.h"

struct folded {
	struct strbuf stack; /* "main;a;b": the frames of the walk's stack */
	VEC(size_t) lens;    /* stack.len before each frame was added */
	struct strbuf line;  /* the stack of the line not written yet */
	uint64_t weight;     /* its weight, 0 when there is none */
};

static void flush(struct folded *fd, FILE *out)
{
	if (fd->weight)
		fprintf(out, "%s %" PRIu64 "\n", fd->line.buf, fd->weight);
	fd->weight = 0;
}

static int enter(struct export_walk *w, struct export_frame *f, struct err *err)
{
	struct folded *fd = w->ctx;
	const char *name = export_name(w->x, &f->call);
	size_t start;

	(void)err;
	vec_push(&fd->lens, fd->stack.len);
	if (fd->stack.len)
		sb_addc(&fd->stack, ';');
	start = fd->stack.len;
	sb_adds(&fd->stack, name);
	for (char *p = fd->stack.buf + start; *p; p++)
		if (*p == ';')
			*p = ':';
	return 0;
}

static int leave(struct export_walk *w, struct export_frame *f, struct err *err)
{
	struct folded *fd = w->ctx;
	uint64_t self = export_self_insns(f);

	(void)err;
	if (self) {
		if (!fd->weight || strcmp(fd->line.buf, fd->stack.buf)) {
			flush(fd, w->x->a->out);
			sb_reset(&fd->line);
			sb_adds(&fd->line, fd->stack.buf);
		}
		fd->weight += self;
	}
	fd->stack.len = vec_last(&fd->lens);
	fd->stack.buf[fd->stack.len] = '\0';
	fd->lens.len--;
	return 0;
}

int export_folded(struct export_ctx *x, struct err *err)
{
	struct folded fd = { 0 };
	struct export_walk w = { .ctx = &fd, .enter = enter, .leave = leave };
	int rc;

	sb_init(&fd.stack);
	sb_init(&fd.line);
	rc = export_walk(x, &w, err);
	flush(&fd, x->a->out);
	sb_fini(&fd.stack);
	sb_fini(&fd.line);
	vec_free(&fd.lens);
	return rc;
}
