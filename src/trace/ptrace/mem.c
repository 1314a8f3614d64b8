/*
 * The traced process's memory, through /proc/PID/mem: one system call per
 * read, and writes reach read-only code pages (the kernel forces them for
 * a tracer). Reads hide our breakpoints, so the trace only ever sees the
 * program's real instructions.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace/ptrace/tracee.h"
#include "util/xalloc.h"

#define CSTR_FIRST 256 /* bytes of a string read first (tracee_read_cstr) */

int tracee_open_mem(struct tracee *t, struct err *err)
{
	char path[64];

	if (t->mem_fd >= 0)
		close(t->mem_fd);
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)t->pid);
	t->mem_fd = open(path, O_RDWR | O_CLOEXEC);
	if (t->mem_fd < 0)
		return err_sys(err, ERR_TRACE, "cannot open %s", path);
	return 0;
}

/* mask_all - like mask_breakpoints for a long buffer: look at each breakpoint instead */
static void mask_all(struct tracee *t, uint64_t addr, uint8_t *buf, size_t len)
{
	struct bp *bp;
	size_t i = 0, k;

	while (hashmap_next(&t->bps, &i, NULL, (void **)&bp)) {
		if (!bp->inserted || bp->addr + bp->len <= addr || bp->addr >= addr + len)
			continue;
		for (k = 0; k < bp->len; k++)
			if (bp->addr + k >= addr && bp->addr + k < addr + len)
				buf[bp->addr + k - addr] = bp->orig[k];
	}
}

static void mask_breakpoints(struct tracee *t, uint64_t addr, uint8_t *buf, size_t len)
{
	size_t i;

	if (!t->bps.len)
		return;
	/* A long read (a page of code) costs fewer lookups the other way round. */
	if (len > 4 * t->bps.len + 64) {
		mask_all(t, addr, buf, len);
		return;
	}
	for (i = 0; i < len; i++) {
		struct bp *bp = hashmap_get(&t->bps, addr + i);

		if (bp && bp->inserted) {
			size_t k;

			for (k = 0; k < bp->len && i + k < len; k++)
				buf[i + k] = bp->orig[k];
		}
	}
	/* A breakpoint (a door) starting just before the buffer can cover its first bytes. */
	for (i = 1; i < BP_MAX_LEN && i <= addr; i++) {
		struct bp *bp = hashmap_get(&t->bps, addr - i);

		if (bp && bp->inserted) {
			size_t k;

			for (k = i; k < bp->len && k - i < len; k++)
				buf[k - i] = bp->orig[k];
		}
	}
}

size_t tracee_read_partial(struct tracee *t, uint64_t addr, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(t->mem_fd, (char *)buf + done, len - done, (off_t)(addr + done));

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			break;
		}
		done += (size_t)n;
	}
	mask_breakpoints(t, addr, buf, done);
	return done;
}

int tracee_read(struct tracee *t, uint64_t addr, void *buf, size_t len)
{
	return tracee_read_partial(t, addr, buf, len) == len ? 0 : -1;
}

int tracee_write_raw(struct tracee *t, uint64_t addr, const void *buf, size_t len)
{
	ssize_t n = pwrite(t->mem_fd, buf, len, (off_t)addr);

	return n == (ssize_t)len ? 0 : -1;
}

int tracee_decode(struct tracee *t, uint64_t addr, struct arch_insn *insn)
{
	uint8_t buf[ARCH_MAX_INSN_LEN];
	size_t n = tracee_read_partial(t, addr, buf, sizeof(buf));

	/* Code near the end of a mapping (the vdso) cannot be read 15 bytes at a time. */
	return arch_decode(addr, buf, n, insn);
}

char *tracee_read_cstr(struct tracee *t, uint64_t addr, size_t max)
{
	char *s = xmalloc(max + 1);
	/* A short piece first: a path's end is most often in it, and a page is read, not two. */
	size_t n = tracee_read_partial(t, addr, s, max < CSTR_FIRST ? max : CSTR_FIRST);

	if (n == CSTR_FIRST && n < max && !memchr(s, 0, n))
		n += tracee_read_partial(t, addr + n, s + n, max - n);
	s[n] = '\0';
	/* The rest back to the heap: a binary's path is kept for the run, a page each otherwise. */
	return xrealloc(s, strnlen(s, n) + 1);
}
