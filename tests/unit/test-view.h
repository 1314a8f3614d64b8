/*
 * What the view tests share: a small ELF file with symbols at fixed
 * addresses (built at test time from the assembly below), a synthetic
 * trace written with the store writer whose calls run in it, and helpers
 * to run a view into a string and check its output exactly.
 *
 * The trace (times in ns, positions in thread 0's stream):
 *
 *   thread 0 (tid 1000)
 *     call 0  main, scope root, backtrace [dies+0x6]        pos 0..12
 *       call 1  work, site main+0x4                        pos 3..7
 *         event 0 load_binary libgone.so (pos 4)
 *         call 2  libgone.so+0x1234, truncated             pos 5..5
 *       event 1 create_thread 1001 (pos 7)
 *       call 3  ns::f(int), site main+0x9, ends by unwind  pos 8..9
 *         event 3 unload_binary libgone.so (pos 9)
 *       event 4 signal SIGUSR1 (pos 9)
 *     event 6 exit_thread 1000 code 3, outside calls, with a backtrace [dies+0x6]
 *   thread 1 (tid 1001), created by event 1
 *     event 2 fork child_pid=4242 vfork, outside calls (pos 0)
 *     call 4  <0x1000>, root, ends with the thread          pos 0..2
 *       event 5 exit_thread 1001 signal 9 (pos 2)
 *
 * The exit of thread 0 is event 6.
 */
#ifndef NOSCO_TEST_VIEW_H
#define NOSCO_TEST_VIEW_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kdl/kdl.h"
#include "test-util.h"
#include "store/reader.h"
#include "store/store.h"
#include "util/strbuf.h"
#include "util/xalloc.h"
#include "view/view.h"

/* The fixture binary: functions at fixed addresses, a fixed build-id. */
static const char fixture_asm[] = "\t.intel_syntax noprefix\n"
                                  "\t.text\n"
                                  "\t.globl main\n\t.type main, @function\n"
                                  "main:\n" /* 0x401000 */
                                  "\tpush rbp\n\tmov rbp, rsp\n\tcall work\n\tcall _ZN2ns1fEi\n"
                                  "\txor eax, eax\n\tpop rbp\n\tret\n"
                                  "\t.size main, .-main\n"
                                  "\t.org 0x100\n"
                                  "\t.globl work\n\t.type work, @function\n"
                                  "work:\n" /* 0x401100 */
                                  "\tpush rbx\n\tcall rax\n\tpop rbx\n\tret\n"
                                  "\t.size work, .-work\n"
                                  "\t.org 0x200\n"
                                  "\t.globl _ZN2ns1fEi\n\t.type _ZN2ns1fEi, @function\n"
                                  "_ZN2ns1fEi:\n" /* 0x401200: ns::f(int) */
                                  "\tnop dword ptr [rax]\n\tret\n"
                                  "\t.size _ZN2ns1fEi, .-_ZN2ns1fEi\n"
                                  "\t.org 0x300\n"
                                  "\t.globl dies\n\t.type dies, @function\n"
                                  "dies:\n" /* 0x401300: ends with a call that does not return */
                                  "\tpush rbp\n\tcall main\n"
                                  "\t.size dies, .-dies\n"
                                  "\t.globl next\n\t.type next, @function\n"
                                  "next:\n" /* 0x401306: the return address of dies' call */
                                  "\tret\n"
                                  "\t.size next, .-next\n"
                                  "\t.org 0x400\n"
                                  "\t.fill 16, 1, 0x90\n"; /* 0x401400: bytes no symbol covers */

#define FIXTURE_BUILD_ID "0102030405060708"

static char view_tmpdir[] = "/tmp/nosco-test-view-XXXXXX";

static const char *tpath(const char *name)
{
	return test_path(view_tmpdir, name);
}

#define sh test_sh

static int build_fixture(void)
{
	FILE *f;

	if (!mkdtemp(view_tmpdir))
		return -1;
	f = fopen(tpath("viewprog.s"), "w");
	if (!f)
		return -1;
	fputs(fixture_asm, f);
	fclose(f);
	/* A sysroot holding the same file, for --sysroot. */
	return sh("gcc -g -nostdlib -static -no-pie -Wl,-Ttext=0x401000 -Wl,--build-id=0x%s "
	          "-Wl,-e,main %s -o %s && mkdir -p %s/sysroot/opt && cp %s %s/sysroot/opt/",
	          FIXTURE_BUILD_ID, tpath("viewprog.s"), tpath("viewprog"), view_tmpdir,
	          tpath("viewprog"), view_tmpdir);
}

/* How the synthetic trace differs from the default. */
struct trace_opts {
	const char *prog;    /* recorded path of the fixture binary, NULL: the real one */
	bool wrong_build_id; /* record a build-id the file does not have */
	const char *arch;    /* meta arch, NULL for x86_64 */
};

struct writer {
	struct store *s;
	struct err err;
};

#define WRITE_OK(expr)                                                                             \
	do {                                                                                       \
		if ((expr) < 0)                                                                    \
			fail_msg("%s: %s", #expr, w->err.msg);                                     \
	} while (0)

static void w_insn(struct writer *w, int64_t thread, uint64_t addr, const char *hex)
{
	uint8_t b[16];
	size_t n = strlen(hex) / 2, i;

	for (i = 0; i < n; i++)
		sscanf(hex + 2 * i, "%2hhx", &b[i]);
	WRITE_OK(store_insn(w->s, thread, addr, b, n, &w->err));
}

static int64_t w_event(struct writer *w, enum store_event_kind kind, int64_t thread, int64_t call,
                       uint64_t pos, uint64_t addr, uint64_t time, int64_t subject,
                       const char *detail, const uint64_t *bt, size_t bt_len)
{
	struct store_origin o = { .thread = thread,
		                  .call = call,
		                  .pos = pos,
		                  .addr = addr,
		                  .time_ns = time,
		                  .bt = bt,
		                  .bt_len = bt_len };
	int64_t id = store_event_add(w->s, kind, &o, subject, detail, &w->err);

	WRITE_OK(id);
	return id;
}

static int64_t w_call(struct writer *w, int64_t thread, int64_t parent, enum store_call_kind kind,
                      uint64_t addr, uint64_t site, uint64_t pos, uint64_t time, bool truncated)
{
	static const uint64_t bt[] = { 0x401306 };
	struct store_call c = { .thread = thread,
		                .parent = parent,
		                .kind = kind,
		                .depth = parent < 0 ? 1 : 2,
		                .addr = addr,
		                .site = site,
		                .ret_addr = site ? site + 5 : 0,
		                .pos = pos,
		                .time_ns = time,
		                .truncated = truncated };
	int64_t id;

	if (parent < 0 && kind == STORE_CALL_SCOPE) {
		c.bt = bt;
		c.bt_len = 1;
	}
	id = store_call_open(w->s, &c, &w->err);
	WRITE_OK(id);
	return id;
}

static void w_close(struct writer *w, int64_t thread, int64_t call, enum store_call_end how,
                    uint64_t pos, uint64_t time)
{
	WRITE_OK(store_call_close(w->s, thread, call, how, pos, time, &w->err));
}

static void w_binaries(struct writer *w, const struct trace_opts *o)
{
	static const uint8_t good[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	static const uint8_t bad[] = { 9, 9, 9, 9 };
	struct store_binary b = { .path = o->prog ? o->prog : tpath("viewprog"),
		                  .build_id = o->wrong_build_id ? bad : good,
		                  .build_id_len = o->wrong_build_id ? sizeof(bad) : sizeof(good),
		                  .start = 0x400000,
		                  .end = 0x402000 };

	WRITE_OK(store_binary_add(w->s, &b, STORE_NONE, &w->err));
}

/* Thread 0's calls 0..3 and their events (the layout is at the top of this file). */
static void w_thread0(struct writer *w)
{
	struct store_binary gone = { .path = "/nonexistent/libgone.so",
		                     .base = 0x7f0000000000,
		                     .start = 0x7f0000000000,
		                     .end = 0x7f0000010000 };
	int64_t c0, c1, c2, c3, ev;

	c0 = w_call(w, 0, STORE_NONE, STORE_CALL_SCOPE, 0x401000, 0, 0, 100, false);
	w_insn(w, 0, 0x401000, "55");
	w_insn(w, 0, 0x401001, "4889e5");
	w_insn(w, 0, 0x401004, "e8f7000000");
	c1 = w_call(w, 0, c0, STORE_CALL_CALL, 0x401100, 0x401004, 3, 110, false);
	w_insn(w, 0, 0x401100, "53");
	ev = w_event(w, STORE_EV_LOAD_BINARY, 0, c1, 4, 0x401101, 130, 1, NULL, NULL, 0);
	WRITE_OK(store_binary_add(w->s, &gone, ev, &w->err));
	w_insn(w, 0, 0x401101, "ffd0");
	c2 = w_call(w, 0, c1, STORE_CALL_CALL, 0x7f0000001234, 0x401101, 5, 140, true);
	w_close(w, 0, c2, STORE_END_RETURN, 5, 150);
	w_insn(w, 0, 0x401103, "5b");
	w_insn(w, 0, 0x401104, "c3");
	w_close(w, 0, c1, STORE_END_RETURN, 7, 160);
	/* thread 1 is created here; its fork happens before the next call of thread 0 */
	ev = w_event(w, STORE_EV_CREATE_THREAD, 0, c0, 7, 0x401009, 170, 1, NULL, NULL, 0);
	WRITE_OK(store_thread_add(w->s, 1001, ev, &w->err));
	w_event(w, STORE_EV_FORK, 1, STORE_NONE, 0, 0x1000, 175, 4242, "vfork", NULL, 0);
	w_insn(w, 0, 0x401009, "e8f2010000");
	c3 = w_call(w, 0, c0, STORE_CALL_CALL, 0x401200, 0x401009, 8, 180, false);
	w_insn(w, 0, 0x401200, "0f1f00");
	ev = w_event(w, STORE_EV_UNLOAD_BINARY, 0, c3, 9, 0x401203, 190, 1, NULL, NULL, 0);
	WRITE_OK(store_binary_unloaded(w->s, 1, ev, &w->err));
	w_close(w, 0, c3, STORE_END_UNWIND, 9, 195);
	w_event(w, STORE_EV_SIGNAL, 0, c0, 9, 0x40100e, 200, 10, "SIGUSR1", NULL, 0);
	w_insn(w, 0, 0x40100e, "31c0");
	w_insn(w, 0, 0x401010, "5d");
	w_insn(w, 0, 0x401011, "c3");
	w_close(w, 0, c0, STORE_END_RETURN, 12, 250);
}

/* Thread 0 exits after the others. */
static void w_exit0(struct writer *w)
{
	static const uint64_t exit_bt[] = { 0x401306 };
	struct store_exit ex = { .code = 3 };
	int64_t ev;

	ev = w_event(w, STORE_EV_EXIT_THREAD, 0, STORE_NONE, 12, 0x401306, 300, 0, NULL, exit_bt,
	             1);
	WRITE_OK(store_thread_exited(w->s, 0, &ex, ev, &w->err));
}

/* Thread 1: one root call outside every binary; the thread is killed inside it. */
static void w_thread1(struct writer *w)
{
	struct store_exit ex = { .signaled = true, .code = 9 };
	int64_t c4, ev;

	c4 = w_call(w, 1, STORE_NONE, STORE_CALL_ROOT, 0x1000, 0, 0, 185, false);
	w_insn(w, 1, 0x1000, "40");
	w_insn(w, 1, 0x1001, "c3");
	ev = w_event(w, STORE_EV_EXIT_THREAD, 1, c4, 2, 0x1001, 210, 1, NULL, NULL, 0);
	w_close(w, 1, c4, STORE_END_EXIT, 2, 210);
	WRITE_OK(store_thread_exited(w->s, 1, &ex, ev, &w->err));
}

/* Write the synthetic trace to path. */
static void write_trace(const char *path, const struct trace_opts *o)
{
	struct writer wr = { 0 }, *w = &wr;

	unlink(path);
	w->s = store_create(path, true, &w->err);
	if (!w->s)
		fail_msg("store_create: %s", w->err.msg);
	WRITE_OK(store_meta_set_text(w->s, "arch", o->arch ? o->arch : "x86_64", &w->err));
	w_binaries(w, o);
	WRITE_OK(store_thread_add(w->s, 1000, STORE_NONE, &w->err));
	w_thread0(w);
	w_thread1(w);
	w_exit0(w);
	WRITE_OK(store_close(w->s, &w->err));
}

/* The outcome of running a view. */
struct run {
	int rc;
	struct err err;
	char *out;    /* what it wrote */
	int warnings; /* how many warnings it gave */
	struct strbuf warned;
};

static void count_warning(void *ctx, const char *msg)
{
	struct run *r = ctx;

	r->warnings++;
	sb_adds(&r->warned, msg);
	sb_addc(&r->warned, '\n');
}

struct view_opts_test {
	bool no_symbols;
	bool lines;
	const char *sysroot;
};

/* Run a view, given as its words ("call-trace --depth 1 0"), on a trace. */
static __attribute__((unused)) void run_view(struct run *r, const char *trace,
                                             const struct view_opts_test *t,
                                             int (*fn)(const struct view_args *, struct err *),
                                             const char *words)
{
	char *copy = xstrdup(words), *argv[16], *save = NULL, *w;
	struct view_args a = { 0 };
	size_t len = 0;
	int argc = 0;

	memset(r, 0, sizeof(*r));
	sb_init(&r->warned);
	for (w = strtok_r(copy, " ", &save); w && argc < 15; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	a.reader = reader_open(trace, &r->err);
	if (!a.reader)
		fail_msg("reader_open %s: %s", trace, r->err.msg);
	a.out = open_memstream(&r->out, &len);
	a.symbols = !(t && t->no_symbols);
	a.lines = t && t->lines;
	a.sysroot = t ? t->sysroot : NULL;
	a.argc = argc;
	a.argv = argv;
	a.warn = count_warning;
	a.warn_ctx = r;
	r->rc = fn(&a, &r->err);
	fclose(a.out);
	reader_close(a.reader);
	free(copy);
}

static void run_free(struct run *r)
{
	free(r->out);
	sb_fini(&r->warned);
}

/* The output must be exactly @want; the view must have succeeded. */
static void expect_out(const struct run *r, const char *want)
{
	if (r->rc)
		fail_msg("view failed: %s", r->err.msg);
	if (strcmp(r->out, want))
		fail_msg("output differs\n--- expected\n%s--- actual\n%s---", want, r->out);
}

/* KDL outputs must read back with our own KDL reader. */
static __attribute__((unused)) void expect_kdl(const struct run *r)
{
	struct kdl_document doc;
	struct err e = { 0 };

	if (kdl_parse(&doc, r->out, strlen(r->out), NULL, NULL, &e))
		fail_msg("not valid KDL: %s\n%s", e.msg, r->out);
	kdl_document_fini(&doc);
}

/* The synthetic trace the view tests read, written once per test program. */
static char *trace_path;

static int view_setup(void **state)
{
	struct trace_opts o = { 0 };

	(void)state;
	if (build_fixture())
		return -1;
	trace_path = xstrdup(tpath("view.trace"));
	write_trace(trace_path, &o);
	return 0;
}

static int view_teardown(void **state)
{
	(void)state;
	free(trace_path);
	return sh("rm -rf %s", view_tmpdir);
}

#endif
