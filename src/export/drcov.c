/*
 * drcov: DynamoRIO's coverage format, version 2, read by Lighthouse (IDA,
 * Binary Ninja), lightkeeper (Ghidra), bncov and the fuzzers' scripts
 * (docs/export.md):
 *
 *	DRCOV VERSION: 2
 *	DRCOV FLAVOR: drcov
 *	Module Table: version 2, count 3
 *	Columns: id, base, end, entry, path
 *	 0, 0x0000555555554000, 0x0000555555559018, 0x0000000000000000, /usr/bin/prog
 *	...
 *	BB Table: 42 bbs
 *	<42 records of 8 bytes: u32 start, u16 size, u16 module id, little-endian>
 *
 * A block's start is its offset from its module's base (the lowest address
 * the binary was mapped at), so the file loads whatever the ASLR base was.
 * The blocks are the runs of instructions the trace executed one after the
 * other in memory: a run ends where the next instruction executed is not
 * the one that follows in memory (a taken branch, a call, a return), so
 * every executed instruction lies in a block and every byte of a block was
 * executed. Each distinct block is written once; with --hits, OUT.hits
 * says how many times each ran. Memory grows with the distinct blocks,
 * that is with the code executed, not with how long it ran.
 */
#include <inttypes.h>
#include <string.h>

#include "export/export.h"
#include "util/hashmap.h"
#include "util/outfile.h"
#include "util/xalloc.h"

#define MAX_BLOCK 0xffffu /* a block's size is a u16 */

struct block {
	uint64_t start;
	uint32_t size;
	int32_t module; /* index in the symbolizer's binaries, -1 if in none */
	uint64_t hits;
};

struct drcov {
	VEC(struct block) blocks;
	struct hashmap index; /* start << 16 | size -> index in blocks + 1 */
	uint64_t run_start, run_end;
	bool in_run;
	uint64_t run_time; /* when the run's call began: which binary was mapped */
	uint64_t outside;  /* distinct blocks in no recorded binary */
};

static int32_t module_of(struct export_ctx *x, uint64_t addr, uint64_t time)
{
	const struct view_binary *b = view_sym_binary_at(&x->syms, addr, time);

	return b ? (int32_t)(b - x->syms.bins.data) : -1;
}

/* The run that just ended, as a block: counted once more, added if new. */
static void end_run(struct export_ctx *x, struct drcov *d)
{
	uint32_t size = (uint32_t)(d->run_end - d->run_start);
	uint64_t key = d->run_start << 16 | size;
	struct block b = { .start = d->run_start, .size = size, .hits = 1 };
	void *v;

	if (!d->in_run)
		return;
	d->in_run = false;
	if (d->run_start >> 48) /* not a user-space address: the key would not hold it */
		return;
	if ((v = hashmap_get(&d->index, key))) {
		d->blocks.data[(uintptr_t)v - 1].hits++;
		return;
	}
	b.module = module_of(x, b.start, d->run_time);
	if (b.module < 0)
		d->outside++;
	vec_push(&d->blocks, b);
	hashmap_put(&d->index, key, (void *)(uintptr_t)d->blocks.len);
}

static int insn(struct export_walk *w, struct export_frame *f, const struct reader_insn *in,
                struct err *err)
{
	struct drcov *d = w->ctx;

	(void)err;
	if (d->in_run && in->addr == d->run_end &&
	    d->run_end + in->len - d->run_start <= MAX_BLOCK) {
		d->run_end += in->len;
		return 0;
	}
	end_run(w->x, d);
	d->in_run = true;
	d->run_start = in->addr;
	d->run_end = in->addr + in->len;
	d->run_time = f->call.time_start;
	return 0;
}

/* A root's instructions do not run on into the next root's (another thread's). */
static int enter(struct export_walk *w, struct export_frame *f, struct err *err)
{
	(void)err;
	if (f->level == 0)
		end_run(w->x, w->ctx);
	return 0;
}

/* A path in the text header, on one line. */
static void put_path(FILE *out, const char *path)
{
	for (; *path; path++)
		putc(*path == '\n' || *path == '\r' ? '?' : *path, out);
}

static void write_modules(struct export_ctx *x, FILE *out)
{
	const struct view_binary *b;

	fprintf(out, "DRCOV VERSION: 2\nDRCOV FLAVOR: drcov\n");
	fprintf(out, "Module Table: version 2, count %zu\n", x->syms.bins.len);
	fprintf(out, "Columns: id, base, end, entry, path\n");
	vec_foreach (&x->syms.bins, b) {
		fprintf(out, "%2zu, 0x%016" PRIx64 ", 0x%016" PRIx64 ", 0x%016x, ",
		        (size_t)(b - x->syms.bins.data), b->start, b->end, 0);
		put_path(out, b->path);
		putc('\n', out);
	}
}

static bool in_module(const struct block *b)
{
	return b->module >= 0 && b->module <= 0xffff;
}

static void write_blocks(struct export_ctx *x, struct drcov *d, FILE *out)
{
	const struct block *b;
	size_t n = 0;

	vec_foreach (&d->blocks, b)
		n += in_module(b);
	fprintf(out, "BB Table: %zu bbs\n", n);
	vec_foreach (&d->blocks, b) {
		uint64_t base = x->syms.bins.data[in_module(b) ? b->module : 0].start;
		uint8_t rec[8];

		if (!in_module(b))
			continue;
		/* little-endian whatever the host: u32 start, u16 size, u16 module */
		for (int i = 0; i < 4; i++)
			rec[i] = (uint8_t)((b->start - base) >> (8 * i));
		rec[4] = (uint8_t)b->size;
		rec[5] = (uint8_t)(b->size >> 8);
		rec[6] = (uint8_t)b->module;
		rec[7] = (uint8_t)(b->module >> 8);
		fwrite(rec, 1, sizeof(rec), out);
	}
}

/* OUT.hits: "MODULE OFFSET SIZE HITS" per block, in the order of the BB table. */
static int write_hits(struct export_ctx *x, struct drcov *d, struct err *err)
{
	char *path = xasprintf("%s.hits", x->a->out_path);
	const struct block *b;
	struct outfile o;
	int rc;

	rc = outfile_open(&o, path, err);
	free(path);
	if (rc)
		return -1;
	fputs("# nosco drcov hits: one line per block of the BB table, in its order\n"
	      "# module offset size hits\n",
	      o.f);
	vec_foreach (&d->blocks, b)
		if (in_module(b))
			fprintf(o.f, "%d 0x%" PRIx64 " %u %" PRIu64 "\n", b->module,
			        b->start - x->syms.bins.data[b->module].start, b->size, b->hits);
	return outfile_close(&o, true, err);
}

static void warn_outside(struct export_ctx *x, const struct drcov *d)
{
	char msg[160];

	if (!d->outside || !x->a->warn)
		return;
	snprintf(msg, sizeof(msg),
	         "%" PRIu64 " executed blocks are in no recorded binary and are left out of the "
	         "coverage",
	         d->outside);
	x->a->warn(x->a->warn_ctx, msg);
}

int export_drcov(struct export_ctx *x, struct err *err)
{
	struct drcov d = { 0 };
	struct export_walk w = { .ctx = &d, .enter = enter, .insn = insn };
	int rc;

	hashmap_init(&d.index);
	rc = export_walk(x, &w, err);
	end_run(x, &d);
	if (!rc && x->a->hits)
		rc = write_hits(x, &d, err);
	if (!rc) {
		write_modules(x, x->a->out);
		write_blocks(x, &d, x->a->out);
		warn_outside(x, &d);
	}
	hashmap_fini(&d.index);
	vec_free(&d.blocks);
	return rc;
}
