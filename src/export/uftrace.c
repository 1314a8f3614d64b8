/*
 * uftrace: a uftrace data directory (uftrace.data), so that `uftrace
 * replay`, `report`, `graph`, `tui` and `dump -d DIR` read a nosco trace
 * (docs/export.md). What uftrace reads (its version 4 format):
 *
 *	info                 a 40-byte header (magic "Ftrace!", feature and
 *	                     info masks) and one "key:value" line per info bit
 *	task.txt             SESS (the session: pid, id, program) and TASK lines
 *	sid-<SID>.map        the binaries, as /proc/PID/maps lines with build-ids
 *	<NAME>.sym           each binary's functions, relative to its map start
 *	<TID>.dat            a thread's records: 16 bytes each, an entry or an
 *	                     exit with its time, depth and function address
 *
 * The records are written as the walk goes, one file per thread; the
 * functions met (their names as the views print them, so stripped code
 * shows as binary+0xOFFSET) are kept by address and written at the end,
 * with the other files. uftrace counts depth in 10 bits: calls more than
 * 1023 levels below an exported root are left out (and counted).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "export/export.h"
#include "export/outdir.h"
#include "util/hashmap.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define UFT_VERSION      4
#define UFT_HEADER_SIZE  40
#define UFT_RECORD_MAGIC 5
#define UFT_DEPTH_MAX    1023
#define UFT_MAX_STACK    1024
#define UFT_ADDR_MASK    ((1ULL << 48) - 1)

/* Feature bits of the header. */
enum {
	UFT_FEAT_TASK_SESSION = 1 << 1,
	UFT_FEAT_SYM_REL_ADDR = 1 << 5,
	UFT_FEAT_MAX_STACK = 1 << 6,
};

/* Info bits: which "key:value" sections follow the header, in bit order. */
enum {
	UFT_INFO_EXE_NAME = 1 << 0,
	UFT_INFO_EXIT_STATUS = 1 << 2,
	UFT_INFO_CMDLINE = 1 << 3,
	UFT_INFO_TASKINFO = 1 << 7,
	UFT_INFO_RECORD_DATE = 1 << 11,
};

enum { UFT_ENTRY = 0, UFT_EXIT = 1 };

/* A function met: its binary (an index of the symbolizer's), its offset from the map start. */
struct uft_sym {
	int64_t bin;
	uint64_t off;
	char *name;
};

struct uftrace {
	struct export_outdir dir;
	FILE *dat;          /* the records of the thread being walked */
	int64_t dat_thread; /* its nosco id */
	char dat_name[32];
	bool *used;          /* by nosco thread id: it has records */
	struct hashmap seen; /* address and binary -> index + 1 in syms */
	VEC(struct uft_sym) syms;
	uint64_t base; /* the time of the records' 0 */
	uint64_t too_deep;
	char sid[17];
};

static void put_u64(FILE *f, uint64_t v)
{
	unsigned char b[8];
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	fwrite(b, 1, sizeof(b), f);
}

static void record(FILE *f, uint64_t time, unsigned type, uint32_t depth, uint64_t addr)
{
	put_u64(f, time);
	put_u64(f,
	        type | UFT_RECORD_MAGIC << 3 | (uint64_t)depth << 6 | (addr & UFT_ADDR_MASK) << 16);
}

/* Remember the call's function for the .sym files, once per address and binary. */
static void note_symbol(struct export_ctx *x, struct uftrace *u, const struct reader_call *c)
{
	int64_t bin;
	uint64_t key = export_func_key(x, c, &bin);
	struct uft_sym s;

	if (!key || hashmap_get(&u->seen, key))
		return;
	s.bin = bin;
	s.off = c->addr - x->syms.bins.data[bin].start;
	s.name = xstrdup(export_name(x, c));
	vec_push(&u->syms, s);
	hashmap_put(&u->seen, key, (void *)(uintptr_t)u->syms.len);
}

/* The records of the call's thread: one file per Linux tid, appended to. */
static int thread_file(struct export_ctx *x, struct uftrace *u, int64_t thread, struct err *err)
{
	if (u->dat && u->dat_thread == thread)
		return 0;
	if (u->dat && export_outdir_close_file(&u->dir, u->dat, u->dat_name, err)) {
		u->dat = NULL;
		return -1;
	}
	snprintf(u->dat_name, sizeof(u->dat_name), "%d.dat", export_tid(x, thread));
	u->dat_thread = thread;
	u->dat = export_outdir_file(&u->dir, u->dat_name, err);
	if (u->dat && thread >= 0 && (uint64_t)thread < x->threads.len)
		u->used[thread] = true;
	return u->dat ? 0 : -1;
}

static int enter(struct export_walk *w, struct export_frame *f, struct err *err)
{
	struct export_ctx *x = w->x;
	struct uftrace *u = w->ctx;

	if (f->level > UFT_DEPTH_MAX) {
		u->too_deep++;
		return 0;
	}
	if (thread_file(x, u, f->call.thread, err))
		return -1;
	note_symbol(x, u, &f->call);
	record(u->dat, u->base + export_ts_start(x, f), UFT_ENTRY, f->level, f->call.addr);
	return 0;
}

static int leave(struct export_walk *w, struct export_frame *f, struct err *err)
{
	struct export_ctx *x = w->x;
	struct uftrace *u = w->ctx;

	if (f->level > UFT_DEPTH_MAX)
		return 0;
	record(u->dat, u->base + export_ts_end(x, f), UFT_EXIT, f->level, f->call.addr);
	if (ferror(u->dat))
		return err_sys(err, ERR_IO, "cannot write %s/%s", u->dir.out, u->dat_name);
	return 0;
}

static int cmp_syms(const void *pa, const void *pb)
{
	const struct uft_sym *a = pa, *b = pb;

	if (a->bin != b->bin)
		return a->bin < b->bin ? -1 : 1;
	return a->off < b->off ? -1 : a->off > b->off;
}

/*
 * The .sym file of a binary: BASENAME.sym, as uftrace looks for it, unless
 * an earlier binary took that name (then uftrace looks for
 * BASENAME-<first 4 digits of the build-id>.sym, or a checksum of the path).
 */
static char *sym_file_name(const struct view_syms *s, int64_t bin)
{
	const struct view_binary *b = &s->bins.data[bin];
	uint16_t csum = 0;
	const char *p;
	int64_t i;

	for (i = 0; i < bin; i++)
		if (!strcmp(s->bins.data[i].file, b->file) && strcmp(s->bins.data[i].path, b->path))
			break;
	if (i == bin)
		return xasprintf("%s.sym", b->file);
	if (b->build_id_len >= 2)
		return xasprintf("%s-%02x%02x.sym", b->file, b->build_id[0], b->build_id[1]);
	for (p = b->path; *p; p++)
		csum += (uint16_t)*p;
	return xasprintf("%s-%04x.sym", b->file, csum);
}

static void build_id_hex(const struct view_binary *b, struct strbuf *sb)
{
	size_t i;

	sb_reset(sb);
	for (i = 0; i < b->build_id_len; i++)
		sb_addf(sb, "%02x", b->build_id[i]);
}

/* One binary's functions, from syms[from] on; returns where the next binary's begin. */
static size_t write_sym_file(struct export_ctx *x, struct uftrace *u, size_t from, struct err *err)
{
	const struct view_binary *b = &x->syms.bins.data[u->syms.data[from].bin];
	char *name = sym_file_name(&x->syms, u->syms.data[from].bin);
	struct strbuf bid;
	size_t i, to = from;
	FILE *f;

	while (to < u->syms.len && u->syms.data[to].bin == u->syms.data[from].bin)
		to++;
	f = export_outdir_file(&u->dir, name, err);
	if (f) {
		sb_init(&bid);
		build_id_hex(b, &bid);
		fprintf(f, "# symbols: %zu\n# path name: %s\n", to - from, b->path);
		if (bid.len)
			fprintf(f, "# build-id: %s\n", bid.buf);
		sb_fini(&bid);
		for (i = from; i < to; i++)
			fprintf(f, "%016" PRIx64 " T %s\n", u->syms.data[i].off,
			        u->syms.data[i].name);
		/* the end of the last one: uftrace sizes each function up to the next symbol */
		fprintf(f, "%016" PRIx64 " ? __sym_end\n", u->syms.data[to - 1].off + 1);
		if (export_outdir_close_file(&u->dir, f, name, err))
			f = NULL;
	}
	free(name);
	return f ? to : 0;
}

/* The map of the binaries that have functions, and their .sym files. */
static int write_symbols(struct export_ctx *x, struct uftrace *u, struct err *err)
{
	char *name = xasprintf("sid-%s.map", u->sid);
	FILE *map = export_outdir_file(&u->dir, name, err);
	struct strbuf bid;
	size_t i = 0;
	int rc = 0;

	if (!map) {
		free(name);
		return -1;
	}
	sb_init(&bid);
	if (u->syms.len)
		qsort(u->syms.data, u->syms.len, sizeof(*u->syms.data), cmp_syms);
	while (!rc && i < u->syms.len) {
		const struct view_binary *b = &x->syms.bins.data[u->syms.data[i].bin];

		build_id_hex(b, &bid);
		fprintf(map, "%" PRIx64 "-%" PRIx64 " r-xp 00000000 00:00 0 %s%s%s\n", b->start,
		        b->end, b->path, bid.len ? " build-id:" : "", bid.len ? bid.buf : "");
		if (!(i = write_sym_file(x, u, i, err)))
			rc = -1;
	}
	sb_fini(&bid);
	/* uftrace takes the addresses above the stack's region for the kernel's */
	fputs("7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0 [stack]\n", map);
	if (export_outdir_close_file(&u->dir, map, name, err))
		rc = -1;
	free(name);
	return rc;
}

static int process_pid(const struct export_ctx *x)
{
	int64_t pid;

	return reader_meta_int(x->r, "pid", &pid) ? 0 : (int)pid;
}

static const char *program(const struct export_ctx *x)
{
	const char *p = reader_meta_text(x->r, "program");

	return p ? p : "unknown";
}

/* A time as uftrace writes them: seconds.nanoseconds */
static void put_time(FILE *f, uint64_t ns)
{
	fprintf(f, "%" PRIu64 ".%09" PRIu64, ns / 1000000000, ns % 1000000000);
}

/* task.txt: the session, then each thread that has records. */
static int write_tasks(struct export_ctx *x, struct uftrace *u, struct err *err)
{
	FILE *f = export_outdir_file(&u->dir, "task.txt", err);
	int pid = process_pid(x);
	size_t i;

	if (!f)
		return -1;
	fputs("SESS timestamp=", f);
	put_time(f, u->base);
	fprintf(f, " pid=%d sid=%s exename=\"%s\"\n", pid, u->sid, program(x));
	for (i = 0; i < x->threads.len; i++) {
		if (!u->used[i])
			continue;
		fputs("TASK timestamp=", f);
		put_time(f, u->base);
		fprintf(f, " tid=%d pid=%d\n", x->threads.data[i].tid, pid);
	}
	return export_outdir_close_file(&u->dir, f, "task.txt", err);
}

/* The wait status uftrace records, or -1 when the program's end is not in the trace. */
static int exit_status(const struct export_ctx *x)
{
	const char *kind = reader_meta_text(x->r, "exit_kind");
	int64_t v;

	if (kind && !strcmp(kind, "exited") && !reader_meta_int(x->r, "exit_code", &v))
		return (int)(v & 0xff) << 8;
	if (kind && !strcmp(kind, "signaled") && !reader_meta_int(x->r, "exit_signal", &v))
		return (int)(v & 0x7f);
	return -1;
}

static void info_header(FILE *f, uint64_t info_mask)
{
	unsigned char h[UFT_HEADER_SIZE] = "Ftrace!";
	uint64_t feat = UFT_FEAT_TASK_SESSION | UFT_FEAT_SYM_REL_ADDR | UFT_FEAT_MAX_STACK;
	int i;

	h[8] = UFT_VERSION;
	h[12] = UFT_HEADER_SIZE;
	h[14] = 1; /* little endian */
	h[15] = 2; /* ELF class 64 */
	for (i = 0; i < 8; i++) {
		h[16 + i] = (unsigned char)(feat >> (8 * i));
		h[24 + i] = (unsigned char)(info_mask >> (8 * i));
	}
	h[32] = UFT_MAX_STACK & 0xff;
	h[33] = UFT_MAX_STACK >> 8;
	fwrite(h, 1, sizeof(h), f);
}

/* The program's command line on one line. */
static void put_cmdline(FILE *f, const struct export_ctx *x)
{
	size_t i, j, len;

	fputs("cmdline:", f);
	for (i = 0; i < reader_argc(x->r); i++) {
		const char *arg = reader_argv(x->r, i, &len);

		if (i)
			putc(' ', f);
		for (j = 0; j < len; j++)
			putc(arg[j] == '\n' ? ' ' : arg[j], f);
	}
	putc('\n', f);
}

static void put_record_date(FILE *f, const struct export_ctx *x)
{
	time_t t = (time_t)(x->start_ns / 1000000000);
	uint64_t elapsed = x->end_ns > x->start_ns ? x->end_ns - x->start_ns : 0;
	char date[64] = "unknown\n";
	struct tm tm;

	if (x->start_ns && localtime_r(&t, &tm))
		strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y\n", &tm);
	fprintf(f, "record_date:%s", date);
	fprintf(f, "elapsed_time:%" PRIu64 ".%09" PRIu64 " sec\n", elapsed / 1000000000,
	        elapsed % 1000000000);
}

static int write_info(struct export_ctx *x, struct uftrace *u, struct err *err)
{
	FILE *f = export_outdir_file(&u->dir, "info", err);
	uint64_t mask =
	        UFT_INFO_EXE_NAME | UFT_INFO_CMDLINE | UFT_INFO_TASKINFO | UFT_INFO_RECORD_DATE;
	int status = exit_status(x), ntids = 0;
	size_t i;

	if (!f)
		return -1;
	if (status >= 0)
		mask |= UFT_INFO_EXIT_STATUS;
	info_header(f, mask);
	fprintf(f, "exename:%s\n", program(x));
	if (status >= 0)
		fprintf(f, "exit_status:%d\n", status);
	put_cmdline(f, x);
	for (i = 0; i < x->threads.len; i++)
		ntids += u->used[i];
	fprintf(f, "taskinfo:lines=2\ntaskinfo:nr_tid=%d\ntaskinfo:tids=", ntids);
	for (i = 0, ntids = 0; i < x->threads.len; i++)
		if (u->used[i])
			fprintf(f, "%s%d", ntids++ ? "," : "", x->threads.data[i].tid);
	putc('\n', f);
	put_record_date(f, x);
	return export_outdir_close_file(&u->dir, f, "info", err);
}

/* The session id: 16 hex digits, from the program's pid and start. */
static void session_id(const struct export_ctx *x, char sid[static 17])
{
	uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)process_pid(x);

	h = (h ^ x->start_ns) * 0x100000001b3ULL;
	h = (h ^ (h >> 29)) * 0x100000001b3ULL;
	snprintf(sid, 17, "%016" PRIx64, h);
}

/* A Linux tid two nosco threads share (a thread that called execve) is one task: list it once. */
static void one_task_per_tid(struct export_ctx *x, struct uftrace *u)
{
	struct hashmap tids;
	size_t i;

	hashmap_init(&tids);
	for (i = 0; i < x->threads.len; i++) {
		uint64_t key = (uint32_t)x->threads.data[i].tid + 1ULL;

		if (u->used[i] && hashmap_put(&tids, key, (void *)1))
			u->used[i] = false;
	}
	hashmap_fini(&tids);
}

static int write_all(struct export_ctx *x, struct uftrace *u, struct err *err)
{
	struct export_walk w = { .ctx = u, .enter = enter, .leave = leave };
	char msg[160];

	if (export_walk(x, &w, err))
		return -1;
	if (u->dat) {
		FILE *f = u->dat;

		u->dat = NULL;
		if (export_outdir_close_file(&u->dir, f, u->dat_name, err))
			return -1;
	}
	if (u->too_deep && x->a->warn) {
		snprintf(msg, sizeof(msg),
		         "%" PRIu64
		         " calls more than %d levels deep are left out (uftrace's limit)",
		         u->too_deep, UFT_DEPTH_MAX);
		x->a->warn(x->a->warn_ctx, msg);
	}
	one_task_per_tid(x, u);
	return write_symbols(x, u, err) || write_tasks(x, u, err) || write_info(x, u, err) ? -1 : 0;
}

static bool any_task(const struct export_ctx *x, const struct uftrace *u)
{
	size_t i;

	for (i = 0; i < x->threads.len; i++)
		if (u->used[i])
			return true;
	return false;
}

int export_uftrace(struct export_ctx *x, struct err *err)
{
	struct uftrace u = { 0 };
	struct err e = { 0 };
	int rc;
	size_t i;

	if (export_outdir_open(&u.dir, x->a->out_path, err))
		return -1;
	hashmap_init(&u.seen);
	u.used = xcalloc(x->threads.len ? x->threads.len : 1, sizeof(*u.used));
	/* the records' times: nanoseconds from the program's start (or instructions) */
	u.base = x->start_ns ? x->start_ns : 1000000000;
	session_id(x, u.sid);
	rc = write_all(x, &u, err);
	if (u.dat)
		fclose(u.dat);
	/* a damaged trace gives what could be read, if anything could: else OUT stays as it was */
	if (export_outdir_close(&u.dir, !rc && (x->first.kind == ERR_NONE || any_task(x, &u)),
	                        rc ? &e : err))
		rc = -1;
	for (i = 0; i < u.syms.len; i++)
		free(u.syms.data[i].name);
	vec_free(&u.syms);
	hashmap_fini(&u.seen);
	free(u.used);
	return rc;
}
