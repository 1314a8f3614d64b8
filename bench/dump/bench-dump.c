/*
 * Benchmark of the dump views (bench/dump/synthetic): do exec-trace and
 * call-trace stream, i.e. run in memory bounded independently of the
 * trace's size, and how many lines per second do they write?
 *
 * Builds synthetic traces with the store writer: one call of N
 * instructions (a loop), and a call tree of M calls (fan-out 4, depth up
 * to 12, a few instructions per call). Calls and instructions are at the
 * addresses of this program's own functions and the binary recorded is
 * this program, so symbolication does real lookups. Then runs
 * `nosco dump` on each, at two sizes, reading its output through a pipe:
 * lines, seconds, lines/s and the child's peak RSS (ru_maxrss). The
 * baseline is the same trace read through store/reader.h without any
 * output, in this process: the ratio is what the view adds to reading.
 *
 * Usage: bench-dump NOSCO DIR [SCALE]   (SCALE 1: 1M/10M insns, 100k/1M calls)
 *        bench-dump --gen TRACE CALLS INSNS_PER_CALL: write a trace of blocks
 *        of that call tree (for bench/dump/run)
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/reader.h"
#include "store/store.h"
#include "sym/image.h"

#define MAX_FUNCS 256

/* A loop body of real x86-64 instructions: mov, add, mov, inc, cmp, jne. */
static const struct {
	uint8_t len;
	uint8_t bytes[8];
} body[] = {
	{ 2, { 0x8b, 0x03 } },       /* mov eax, dword ptr [rbx] */
	{ 3, { 0x83, 0xc0, 0x01 } }, /* add eax, 0x1 */
	{ 2, { 0x89, 0x03 } },       /* mov dword ptr [rbx], eax */
	{ 3, { 0x48, 0xff, 0xc1 } }, /* inc rcx */
	{ 3, { 0x48, 0x39, 0xd1 } }, /* cmp rcx, rdx */
	{ 2, { 0x75, 0xf2 } },       /* jnz back */
	{ 5, { 0xe8, 0, 0, 0, 0 } }, /* call */
	{ 1, { 0xc3 } },             /* ret */
};

struct ctx {
	struct store *s;
	struct err err;
	uint64_t funcs[MAX_FUNCS]; /* file addresses of this program's functions */
	size_t nfuncs;
	uint32_t ids[MAX_FUNCS][8];    /* interned instructions: function f, body k */
	uint32_t blocks[MAX_FUNCS][3]; /* gen: the loop, the call, the ret of f */
	uint64_t pos, time, calls, max_calls;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, const struct err *e)
{
	fprintf(stderr, "bench-dump: %s: %s\n", what, e ? e->msg : "failed");
	exit(1);
}

/* This program as the traced binary: its path, build-id, extent, functions. */
static void add_self(struct ctx *c, const char *self)
{
	struct sym_image *img = sym_image_open(self, NULL, &c->err);
	struct store_binary b = { .path = self };
	struct sym_info si;
	size_t i, n;

	if (!img)
		die(self, &c->err);
	b.build_id = sym_image_build_id(img, &b.build_id_len);
	if (sym_image_extent(img, &b.start, &b.end))
		die("no PT_LOAD", NULL);
	n = sym_image_count(img);
	for (i = 0; i < n && c->nfuncs < MAX_FUNCS; i++) {
		sym_image_symbol(img, i, &si);
		if (si.size >= 16 && si.kind == SYM_KIND_TABLE)
			c->funcs[c->nfuncs++] = si.addr;
	}
	if (!c->nfuncs)
		die("no functions in this program", NULL);
	if (store_binary_add(c->s, &b, STORE_NONE, &c->err) < 0)
		die("store_binary_add", &c->err);
	sym_image_free(img);
}

static void intern_all(struct ctx *c)
{
	size_t f, k;
	uint64_t off;

	for (f = 0; f < c->nfuncs; f++)
		for (k = 0, off = 0; k < 8; off += body[k].len, k++) {
			int64_t id = store_insn_intern(c->s, c->funcs[f] + off, body[k].bytes,
			                               body[k].len, &c->err);

			if (id < 0)
				die("store_insn_intern", &c->err);
			c->ids[f][k] = (uint32_t)id;
		}
}

static void append(struct ctx *c, const uint32_t *ids, size_t n)
{
	if (store_stream_append(c->s, 0, ids, n, &c->err))
		die("store_stream_append", &c->err);
	c->pos += n;
}

static struct ctx *trace_begin(const char *path, const char *self)
{
	struct ctx *c = calloc(1, sizeof(*c));

	unlink(path);
	if (!(c->s = store_create(path, true, &c->err)))
		die(path, &c->err);
	store_meta_set_text(c->s, "arch", "x86_64", &c->err);
	add_self(c, self);
	if (store_thread_add(c->s, 4242, STORE_NONE, &c->err) < 0)
		die("store_thread_add", &c->err);
	intern_all(c);
	return c;
}

static void trace_end(struct ctx *c)
{
	/* a finished run, which dump does not warn about */
	if (store_meta_set_text(c->s, "exit_kind", "exited", &c->err) || store_close(c->s, &c->err))
		die("store_close", &c->err);
	free(c);
}

static int64_t open_call(struct ctx *c, int64_t parent, size_t f)
{
	struct store_call call = { .thread = 0,
		                   .parent = parent,
		                   .kind = parent < 0 ? STORE_CALL_SCOPE : STORE_CALL_CALL,
		                   .depth = 1,
		                   .addr = c->funcs[f],
		                   .site = parent < 0 ? 0 : c->funcs[f] + 11,
		                   .pos = c->pos,
		                   .time_ns = ++c->time };
	int64_t id = store_call_open(c->s, &call, &c->err);

	if (id < 0)
		die("store_call_open", &c->err);
	c->calls++;
	return id;
}

static void close_call(struct ctx *c, int64_t id)
{
	if (store_call_close(c->s, 0, id, STORE_END_RETURN, c->pos, ++c->time, &c->err))
		die("store_call_close", &c->err);
}

/*
 * One call of n instructions: the loop bodies of the functions in turn, 16
 * iterations each, so that about 1500 distinct instructions are listed.
 */
static void write_insns_trace(const char *path, const char *self, uint64_t n)
{
	struct ctx *c = trace_begin(path, self);
	uint32_t buf[6 * 1024];
	int64_t root = open_call(c, STORE_NONE, 0);
	size_t i;

	for (i = 0; i < sizeof(buf) / sizeof(buf[0]); i++)
		buf[i] = c->ids[(i / 6 / 16) % c->nfuncs][i % 6];
	while (c->pos < n) {
		uint64_t k = n - c->pos < 6 * 1024 ? n - c->pos : 6 * 1024;

		append(c, buf, k);
	}
	close_call(c, root);
	trace_end(c);
}

/* A call and its subtree: 4 instructions, then per child the call, then ret. */
static void subtree(struct ctx *c, int64_t parent, unsigned level)
{
	size_t f = (size_t)(c->calls * 7) % c->nfuncs;
	int64_t id = open_call(c, parent, f);
	uint32_t head[4] = { c->ids[f][0], c->ids[f][1], c->ids[f][2], c->ids[f][3] };
	int k;

	append(c, head, 4);
	for (k = 0; k < 4 && level < 12 && c->calls < c->max_calls; k++) {
		append(c, &c->ids[f][6], 1);
		subtree(c, id, level + 1);
	}
	append(c, &c->ids[f][7], 1);
	close_call(c, id);
}

static void write_tree_trace(const char *path, const char *self, uint64_t m)
{
	struct ctx *c = trace_begin(path, self);
	int64_t root = open_call(c, STORE_NONE, 0);

	c->max_calls = m;
	/* Breadth at the top so that the tree is wide, not one deep chain. */
	while (c->calls < m) {
		append(c, &c->ids[0][6], 1);
		subtree(c, root, 1);
	}
	append(c, &c->ids[0][7], 1);
	close_call(c, root);
	trace_end(c);
}

/* gen: function f's blocks, its loop (6 instructions), its call and its ret */
static void intern_blocks(struct ctx *c)
{
	size_t f;
	int64_t b;

	for (f = 0; f < c->nfuncs; f++) {
		if ((b = store_block_intern(c->s, c->ids[f], 6, &c->err)) < 0)
			die("store_block_intern", &c->err);
		c->blocks[f][0] = (uint32_t)b;
		if ((b = store_block_intern(c->s, &c->ids[f][6], 1, &c->err)) < 0)
			die("store_block_intern", &c->err);
		c->blocks[f][1] = (uint32_t)b;
		if ((b = store_block_intern(c->s, &c->ids[f][7], 1, &c->err)) < 0)
			die("store_block_intern", &c->err);
		c->blocks[f][2] = (uint32_t)b;
	}
}

static void run_block(struct ctx *c, uint32_t block, uint64_t repeat, uint64_t insns)
{
	struct store_run run = { block, repeat };

	if (store_stream_append_runs(c->s, 0, &run, 1, &c->err) < 0)
		die("store_stream_append_runs", &c->err);
	c->pos += repeat * insns;
}

/* gen: a call of @loops loop iterations, then its children (as subtree()), then ret */
static void gen_subtree(struct ctx *c, int64_t parent, unsigned level, uint64_t loops)
{
	size_t f = (size_t)(c->calls * 7) % c->nfuncs;
	int64_t id = open_call(c, parent, f);
	int k;

	run_block(c, c->blocks[f][0], loops, 6);
	for (k = 0; k < 4 && level < 12 && c->calls < c->max_calls; k++) {
		run_block(c, c->blocks[f][1], 1, 1);
		gen_subtree(c, id, level + 1, loops);
	}
	run_block(c, c->blocks[f][2], 1, 1);
	close_call(c, id);
}

/*
 * gen: a trace of blocks (as the dbt engine writes) of @m calls of
 * about @per instructions each, in the tree of write_tree_trace()
 */
static void gen_trace(const char *path, const char *self, uint64_t m, uint64_t per)
{
	struct ctx *c = trace_begin(path, self);
	uint64_t loops = per > 8 ? (per - 2) / 6 : 1;
	int64_t root;

	intern_blocks(c);
	root = open_call(c, STORE_NONE, 0);
	c->max_calls = m;
	while (c->calls < m) {
		run_block(c, c->blocks[0][1], 1, 1);
		gen_subtree(c, root, 1, loops);
	}
	run_block(c, c->blocks[0][2], 1, 1);
	close_call(c, root);
	printf("%" PRIu64 " calls, %" PRIu64 " instructions\n", c->calls, c->pos);
	trace_end(c);
}

struct result {
	uint64_t lines, bytes;
	double secs;
	long rss_kb;
};

/* Run nosco dump with its output into a pipe; count lines, time it, its peak RSS. */
static void run_dump(const char *nosco, const char *trace, char *const view[], struct result *r)
{
	char *argv[16] = { (char *)nosco, "dump", "-i", (char *)trace };
	int fd[2], status, i, argc = 4;
	char buf[1 << 16];
	struct rusage ru;
	ssize_t n;
	double t0;
	pid_t pid;

	for (i = 0; view[i] && argc < 15; i++)
		argv[argc++] = view[i];
	argv[argc] = NULL;
	memset(r, 0, sizeof(*r));
	if (pipe(fd))
		die("pipe", NULL);
	t0 = now();
	pid = fork();
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execv(nosco, argv);
		_exit(127);
	}
	close(fd[1]);
	while ((n = read(fd[0], buf, sizeof(buf))) > 0) {
		r->bytes += (uint64_t)n;
		for (i = 0; i < n; i++)
			r->lines += buf[i] == '\n';
	}
	close(fd[0]);
	if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		die("nosco dump failed", NULL);
	r->secs = now() - t0;
	r->rss_kb = ru.ru_maxrss;
}

/* The baseline: read what the view reads, in this process, print nothing. */
static double read_insns(const char *trace)
{
	struct err e;
	struct store_reader *r = reader_open(trace, &e);
	struct reader_insns *it;
	struct reader_insn in;
	struct reader_call call;
	uint64_t sum = 0;
	double t0 = now();

	if (!r || reader_call_get(r, 0, &call, &e) ||
	    !(it = reader_insns_open(r, 0, call.pos_start, call.pos_end, &e)))
		die(trace, &e);
	while (reader_insns_next(it, &in, &e) > 0)
		sum += in.addr;
	reader_insns_free(it);
	reader_close(r);
	if (!sum)
		fprintf(stderr, "(empty)\n");
	return now() - t0;
}

static uint64_t walk(struct store_reader *r, int64_t id)
{
	struct reader_cursor *kids = reader_calls_children(r, id, NULL);
	struct reader_cursor *evs = reader_events_of_call(r, id, NULL);
	struct reader_call c;
	struct reader_event ev;
	uint64_t n = 1;

	while (reader_event_next(evs, &ev, NULL) > 0)
		;
	while (reader_call_next(kids, &c, NULL) > 0)
		n += walk(r, c.id);
	reader_cursor_free(kids);
	reader_cursor_free(evs);
	return n;
}

static double read_tree(const char *trace)
{
	struct err e;
	struct store_reader *r = reader_open(trace, &e);
	double t0 = now();

	if (!r)
		die(trace, &e);
	walk(r, 0);
	reader_close(r);
	return now() - t0;
}

static void report(const char *what, const char *size, const char *trace, const struct result *r,
                   double base)
{
	struct stat st;

	stat(trace, &st);
	printf("%-30s %-10s %7.1f MB %10" PRIu64 " %7.2f s %10.0f %7.1f MB %6.1fx\n", what, size,
	       (double)st.st_size / 1e6, r->lines, r->secs, (double)r->lines / r->secs,
	       (double)r->rss_kb / 1024, r->secs / base);
}

int main(int argc, char **argv)
{
	char self[4096], path[4096];
	double scale = argc > 3 ? atof(argv[3]) : 1;
	uint64_t insns[2] = { (uint64_t)(1e6 * scale), (uint64_t)(1e7 * scale) };
	uint64_t calls[2] = { (uint64_t)(1e5 * scale), (uint64_t)(1e6 * scale) };
	char *exec_view[] = { "exec-trace", "0", NULL };
	char *exec_addr_view[] = { "exec-trace", "--addresses", "0", NULL };
	char *tree_view[] = { "call-trace", "0", NULL };
	char *inline_view[] = { "exec-trace", "--depth", "20", "0", NULL };
	struct result r;
	char size[32];
	ssize_t n;
	int i;

	if (argc < 3) {
		fprintf(stderr, "usage: bench-dump NOSCO DIR [SCALE]\n"
		                "       bench-dump --gen TRACE CALLS INSNS_PER_CALL\n");
		return 2;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		die("/proc/self/exe", NULL);
	self[n] = '\0';
	if (!strcmp(argv[1], "--gen") && argc == 5) {
		gen_trace(argv[2], self, strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10));
		return 0;
	}
	printf("%-30s %-10s %10s %10s %9s %10s %10s %7s\n", "view", "size", "trace", "lines",
	       "time", "lines/s", "peak RSS", "/read");
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/insns-%d.trace", argv[2], i);
		write_insns_trace(path, self, insns[i]);
		snprintf(size, sizeof(size), "%.1fM insns", (double)insns[i] / 1e6);
		run_dump(argv[1], path, exec_view, &r);
		report("exec-trace 0", size, path, &r, read_insns(path));
		run_dump(argv[1], path, exec_addr_view, &r);
		report("exec-trace --addresses 0", size, path, &r, read_insns(path));
	}
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/tree-%d.trace", argv[2], i);
		write_tree_trace(path, self, calls[i]);
		snprintf(size, sizeof(size), "%.1fM calls", (double)calls[i] / 1e6);
		run_dump(argv[1], path, tree_view, &r);
		report("call-trace 0", size, path, &r, read_tree(path));
		run_dump(argv[1], path, inline_view, &r);
		report("exec-trace --depth 20 0", size, path, &r, read_tree(path));
	}
	return 0;
}
