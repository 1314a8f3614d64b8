/*
 * Micro-benchmark of the trace writer's hot path (bench/store/run).
 *
 * Replays a synthetic loop-shaped instruction stream (nested loops, a
 * data-dependent branch, calls into a shared helper) into a trace file with
 * store_insn() and with store_stream_append(), and the same stream into a
 * plain array (the cheapest recording imaginable) as the baseline measured
 * in the same run. Prints ns per instruction, the ratio to the baseline,
 * and trace bytes per million instructions.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"

#define N_DISTINCT 4096
#define CHUNK      65536

struct insn {
	uint64_t addr;
	uint8_t len;
	uint8_t bytes[15];
};

static struct insn table[N_DISTINCT];

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Instructions of a fake program: block b, instruction k. */
static void make_table(void)
{
	uint32_t i, j;

	for (i = 0; i < N_DISTINCT; i++) {
		table[i].addr = 0x401000 + (uint64_t)i * 5;
		table[i].len = (uint8_t)(1 + (i * 7) % 8);
		for (j = 0; j < table[i].len; j++)
			table[i].bytes[j] = (uint8_t)(i * 31 + j);
	}
}

static uint32_t lcg(uint32_t *x)
{
	*x = *x * 1103515245u + 12345u;
	return *x >> 16;
}

static size_t emit(uint32_t *out, size_t n, size_t max, uint32_t first, uint32_t count)
{
	uint32_t k;

	for (k = 0; k < count && n < max; k++)
		out[n++] = first + k;
	return n;
}

/*
 * main: for outer in 0..: a 12-insn loop head, 20 iterations of an inner
 * body with a random if/else (5 or 7 insns), every 4th outer iteration a
 * call into a 40-insn helper, every 64th a walk through fresh code.
 */
static uint32_t *make_stream(size_t n)
{
	uint32_t *s = malloc(n * sizeof(*s)), seed = 42, outer = 0, k;
	size_t i = 0;

	while (i < n) {
		i = emit(s, i, n, 0, 12);
		for (k = 0; k < 20; k++) {
			i = emit(s, i, n, 16, 6);
			i = lcg(&seed) & 1 ? emit(s, i, n, 32, 5) : emit(s, i, n, 48, 7);
			i = emit(s, i, n, 64, 3);
		}
		if (outer % 4 == 0)
			i = emit(s, i, n, 128, 40);
		if (outer % 64 == 0)
			i = emit(s, i, n, 256 + (outer / 64 * 97) % 3000, 200);
		outer++;
	}
	return s;
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : (long)st.st_size;
}

static double run_baseline(const uint32_t *stream, size_t n, uint64_t *sink)
{
	uint32_t *buf = malloc(CHUNK * sizeof(*buf)), *all = malloc(n * sizeof(*all));
	uint64_t sum = 0;
	size_t i, len = 0, done = 0;
	double t;

	/* Fault the pages in first: the store's buffers are warm too. */
	memset(all, 0, n * sizeof(*all));
	memset(buf, 0, CHUNK * sizeof(*buf));
	t = now();

	for (i = 0; i < n; i++) {
		const struct insn *in = &table[stream[i]];

		sum += in->addr + in->len;
		buf[len++] = stream[i];
		if (len == CHUNK) {
			memcpy(all + done, buf, sizeof(*buf) * len);
			done += len;
			len = 0;
		}
	}
	memcpy(all + done, buf, sizeof(*buf) * len);
	t = now() - t;
	*sink += sum + all[n / 2];
	free(buf);
	free(all);
	return t;
}

static double run_insn(const char *path, const uint32_t *stream, size_t n, long *bytes)
{
	struct err err;
	struct store *s = store_create(path, true, &err);
	int64_t th;
	size_t i;
	double t;

	if (!s || (th = store_thread_add(s, 1, STORE_NONE, &err)) < 0) {
		fprintf(stderr, "bench: %s\n", err.msg);
		exit(1);
	}
	t = now();
	for (i = 0; i < n; i++) {
		const struct insn *in = &table[stream[i]];

		if (store_insn(s, th, in->addr, in->bytes, in->len, &err) < 0) {
			fprintf(stderr, "bench: %s\n", err.msg);
			exit(1);
		}
	}
	if (store_close(s, &err)) {
		fprintf(stderr, "bench: %s\n", err.msg);
		exit(1);
	}
	t = now() - t;
	*bytes = file_size(path);
	return t;
}

/* Blocks of 8 ids, the way a block-recording engine appends. */
static double run_append(const char *path, const uint32_t *stream, size_t n)
{
	struct err err;
	struct store *s = store_create(path, true, &err);
	uint32_t ids[N_DISTINCT];
	int64_t th;
	size_t i, k;
	double t;

	if (!s || (th = store_thread_add(s, 1, STORE_NONE, &err)) < 0)
		exit(1);
	for (i = 0; i < N_DISTINCT; i++)
		ids[i] = (uint32_t)store_insn_intern(s, table[i].addr, table[i].bytes, table[i].len,
		                                     &err);
	t = now();
	for (i = 0; i < n; i += 8) {
		uint32_t blk[8];
		size_t m = n - i < 8 ? n - i : 8;

		for (k = 0; k < m; k++)
			blk[k] = ids[stream[i + k]];
		if (store_stream_append(s, th, blk, m, &err))
			exit(1);
	}
	if (store_close(s, &err))
		exit(1);
	return now() - t;
}

int main(int argc, char **argv)
{
	size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 20000000;
	const char *path = argc > 1 ? argv[1] : "/tmp/nosco-bench-store.trace";
	uint32_t *stream;
	uint64_t sink = 0;
	double base, ins, app;
	long bytes, empty;
	struct err err;

	make_table();
	stream = make_stream(n);
	store_close(store_create(path, true, &err), &err);
	empty = file_size(path);
	base = run_baseline(stream, n, &sink);
	ins = run_insn(path, stream, n, &bytes);
	app = run_append(path, stream, n);
	printf("instructions: %zu (loop-shaped, %d distinct)\n", n, N_DISTINCT);
	printf("baseline (array append): %.2f ns/insn\n", base * 1e9 / (double)n);
	printf("store_insn:              %.2f ns/insn (%.1fx baseline)\n", ins * 1e9 / (double)n,
	       ins / base);
	printf("store_stream_append:     %.2f ns/insn (%.1fx baseline)\n", app * 1e9 / (double)n,
	       app / base);
	printf("trace size: %ld bytes (%ld empty); %.0f bytes per million instructions "
	       "(baseline: %.0f)\n",
	       bytes, empty, (double)(bytes - empty) * 1e6 / (double)n, 4e6);
	unlink(path);
	free(stream);
	return sink == 1; /* keeps the baseline from being optimised away */
}
