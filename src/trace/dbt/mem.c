/*
 * The memory the dbt engine shares with the traced process: one memfd,
 * mapped whole (read-write) in the tracer, and in the tracee as a data
 * area (lookup table, thread contexts and rings) plus code regions placed
 * near the code they translate. The tracee maps them with system calls
 * the tracer makes it execute ("remote" calls: registers set, one
 * single-step over a syscall instruction, registers restored), opening
 * the memfd through /proc/<tracer>/fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <elf.h>

#include "trace/dbt/dbt.h"
#include "trace/step/step.h"
#include "util/log.h"

#define GB (1ull << 30)
/* New regions go within this distance of the code; existing ones serve a bit further. */
#define REACH_NEW (GB + GB / 2)
#define REACH_USE (GB + GB * 3 / 4)
#define USER_TOP  0x7ffffffff000ull
#define USER_LOW  0x10000ull
#define DATA_HINT 0x200000000ull

/* env_count - the environment variable name as a count from 1 to max, or dflt */
static uint32_t env_count(const char *name, uint32_t dflt, uint32_t max)
{
	const char *v = getenv(name);
	char *end;
	unsigned long n;

	if (!v)
		return dflt;
	n = strtoul(v, &end, 10);
	return *end || !n || n > max ? dflt : (uint32_t)n;
}

int dbt_mem_init(struct dbt *d, struct err *err)
{
	d->shm_fd = (int)syscall(SYS_memfd_create, "nosco-dbt", MFD_CLOEXEC);
	if (d->shm_fd < 0)
		return err_sys(err, ERR_TRACE, "memfd_create");
	if (ftruncate(d->shm_fd, (off_t)DBT_SHM_SIZE))
		return err_sys(err, ERR_TRACE, "cannot size the dbt memory");
	d->shm = mmap(NULL, DBT_SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
	              d->shm_fd, 0);
	if (d->shm == MAP_FAILED) {
		d->shm = NULL;
		return err_sys(err, ERR_TRACE, "cannot map the dbt memory");
	}
	d->maps_stale = true;
	/*
	 * The tests make rings small so that every trace fills them many
	 * times, call sites go unrecorded after one stop over budget, and
	 * binaries get their frame rows from the first stop that learns frames.
	 */
	d->ring_size = env_count("NOSCO_DBT_RING_PAGES", DBT_RING_SIZE / DBT_PAGE,
	                         DBT_RING_SIZE / DBT_PAGE) *
	               DBT_PAGE;
	d->truncs_to_free = env_count("NOSCO_DBT_TRUNCS", DBT_TRUNCS_TO_FREE, UINT32_MAX);
	d->no_native = getenv("NOSCO_DBT_NATIVE") && !strcmp(getenv("NOSCO_DBT_NATIVE"), "0");
	d->rows_after = env_count("NOSCO_DBT_ROWS_AFTER", DBT_ROWS_AFTER, UINT32_MAX);
	d->rows_cache = dbt_rows_cache_dir();
	d->rows_at_end = getenv("NOSCO_DBT_ROWS_AT_END") != NULL;
	d->hot_returns = env_count("NOSCO_DBT_HOT", DBT_HOT_RETURNS, UINT32_MAX / 4);
	return 0;
}

void dbt_mem_fini(struct dbt *d)
{
	uint32_t i;

	for (i = 0; i < d->n_regions; i++)
		vec_free(&d->regions[i].blocks);
	if (d->shm)
		munmap(d->shm, DBT_SHM_SIZE);
	if (d->shm_fd >= 0)
		close(d->shm_fd);
	d->shm = NULL;
	d->shm_fd = -1;
	vec_free(&d->maps);
	free(d->rows_cache);
	d->rows_cache = NULL;
}

void dbt_mem_reset(struct dbt *d)
{
	uint32_t i;

	for (i = 0; i < d->n_regions; i++)
		vec_free(&d->regions[i].blocks);
	memset(d->regions, 0, sizeof(d->regions));
	d->n_regions = 0;
	d->program_syscall = 0;
	d->ready = false;
	d->data_base = 0;
	memset(d->slot_used, 0, sizeof(d->slot_used));
	memset(d->slot_guarded, 0, sizeof(d->slot_guarded));
	d->frames_present = false;
	d->callers_present = false;
	/* Zero everything at once: the kernel drops the pages. */
	fallocate(d->shm_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)DBT_SHM_SIZE);
	d->frames_used = 0;
	dbt_frames_fini(d);
	d->maps_stale = true;
}

void *dbt_tracer_ptr(struct dbt *d, uint64_t addr)
{
	uint32_t i;

	if (addr >= d->data_base && addr < d->data_base + DBT_DATA_SIZE)
		return d->shm + (addr - d->data_base);
	for (i = 0; i < d->n_regions; i++)
		if (addr >= d->regions[i].base && addr < d->regions[i].base + DBT_REGION_SIZE)
			return d->regions[i].map + (addr - d->regions[i].base);
	return NULL;
}

static int get_regs(pid_t tid, struct arch_regs *r)
{
	struct iovec iov = { r, sizeof(*r) };

	return ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &iov) ? -1 : 0;
}

static int set_regs(pid_t tid, const struct arch_regs *r)
{
	struct iovec iov = { (void *)r, sizeof(*r) };

	return ptrace(PTRACE_SETREGSET, tid, (void *)NT_PRSTATUS, &iov) ? -1 : 0;
}

/* wait_trap - run_to_trap() for a thread resumed already */
static int wait_trap(pid_t tid, enum __ptrace_request request, int *other_sig, struct err *err)
{
	int status;

	for (;;) {
		if (tracee_wait_thread(tid, &status, err))
			return -1;
		if (!WIFSTOPPED(status))
			return err_set(err, ERR_TRACE, "thread %d ended during a remote call",
			               (int)tid);
		if (WSTOPSIG(status) == SIGTRAP && !(status >> 16))
			return 0;
		if (!(status >> 16) && !*other_sig)
			*other_sig = WSTOPSIG(status);
		if (ptrace(request, tid, NULL, NULL))
			return err_sys(err, ERR_TRACE, "cannot resume thread %d", (int)tid);
	}
}

/*
 * run_to_trap - resume tid (request: PTRACE_SINGLESTEP or PTRACE_CONT) until
 * its next SIGTRAP; the first other signal that comes meanwhile goes to
 * *other_sig (the program's: raised again by the caller)
 */
static int run_to_trap(pid_t tid, enum __ptrace_request request, int *other_sig, struct err *err)
{
	if (ptrace(request, tid, NULL, NULL))
		return err_sys(err, ERR_TRACE, "cannot resume thread %d", (int)tid);
	return wait_trap(tid, request, other_sig, err);
}

/*
 * run_gadget - step the thread over the syscall at gadget with registers r
 * (r receives the registers after). A thread fresh from exec or clone
 * first reports its own syscall's return without executing anything, and
 * execve then writes its result over the result register: the step is
 * made again with r.
 */
static int run_gadget(struct tthread *th, struct arch_regs *r, uint64_t gadget, int *other,
                      struct err *err)
{
	struct arch_regs want = *r;
	int tries;

	for (tries = 0; tries < 2; tries++) {
		if (set_regs(th->tid, &want))
			return err_sys(err, ERR_TRACE, "cannot set registers");
		if (run_to_trap(th->tid, PTRACE_SINGLESTEP, other, err))
			return -1;
		if (get_regs(th->tid, r))
			return err_sys(err, ERR_TRACE, "cannot read registers");
		if (arch_regs_pc(r) != gadget)
			break;
		step_ran(th);
	}
	return 0;
}

static void read_maps(struct dbt *d)
{
	char path[64], line[512];
	FILE *f;

	d->maps.len = 0;
	d->maps_stale = false;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)d->t->pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi;
		char perms[8];
		struct dbt_map m;

		if (sscanf(line, "%llx-%llx %7s", &lo, &hi, perms) != 3)
			continue;
		m.stack = strstr(line, "[stack]") != NULL;
		m.vdso = strstr(line, "[vdso]") != NULL;
		m.lo = lo;
		m.hi = hi;
		m.r = perms[0] == 'r';
		m.w = perms[1] == 'w';
		m.x = perms[2] == 'x';
		m.shared = perms[3] == 's';
		vec_push(&d->maps, m);
	}
	fclose(f);
}

/*
 * maps_add - a mapping the engine made in the program, added to the maps
 * rather than them read again (0.1 ms each here)
 */
static void maps_add(struct dbt *d, uint64_t lo, uint64_t len, bool x)
{
	struct dbt_map m = { .lo = lo, .hi = lo + len, .r = true, .w = !x, .x = x, .shared = true };
	size_t i = d->maps.len;

	vec_push(&d->maps, m);
	for (; i > 0 && d->maps.data[i - 1].lo > lo; i--)
		d->maps.data[i] = d->maps.data[i - 1];
	d->maps.data[i] = m;
}

/* is_syscall_at - do the bytes read at addr hold a syscall instruction, breakpoints aside? */
static bool is_syscall_at(struct dbt *d, const uint8_t *bytes, uint64_t addr)
{
	if (memcmp(bytes, arch_syscall_insn, ARCH_SYSCALL_LEN))
		return false;
	for (size_t i = 0; i < ARCH_SYSCALL_LEN; i++)
		if (tracee_bp_at(d->t, addr + i))
			return false;
	return true;
}

/* 64 KiB a read (a page past an unreadable one) */
#define SCAN_CHUNK (16 * DBT_PAGE)

/* scan_syscall - the first syscall instruction's bytes in the mapping m, or 0 */
static uint64_t scan_syscall(struct dbt *d, const struct dbt_map *m, uint8_t *buf)
{
	uint64_t at;
	size_t n;

	for (at = m->lo; m->r && m->x && at < m->hi;
	     at += n >= SCAN_CHUNK ? SCAN_CHUNK : (n & ~(size_t)(DBT_PAGE - 1)) + DBT_PAGE) {
		/* A few bytes past the chunk too: the instruction may straddle it. */
		n = tracee_read_partial(d->t, at, buf,
		                        m->hi - at > SCAN_CHUNK ? SCAN_CHUNK + ARCH_SYSCALL_LEN - 1
		                                                : m->hi - at);
		for (size_t k = 0; k + ARCH_SYSCALL_LEN <= n && k < SCAN_CHUNK; k++)
			if (is_syscall_at(d, buf + k, at + k))
				return at + k;
	}
	return 0;
}

/*
 * program_syscall - the address of the bytes of a syscall instruction in
 * the program's code (an instruction's or only inside one: jumping there
 * runs a syscall all the same), or 0. Until the engine has code of its
 * own, remote system calls run there: writing one into the code would
 * make any other thread running it execute the system call too. The
 * vdso's fallbacks have one in its two resident pages; the program's own
 * code is read only without a vdso (Python's first is 60 KiB into its
 * code: reading that far took 0.45 ms of the first scope entry's stop).
 * Found once: a scan that came after the engine's first code region is
 * mapped (and still empty) read all 64 MiB of it, which the program then
 * had resident.
 */
static uint64_t program_syscall(struct dbt *d)
{
	uint8_t *buf;
	size_t i;

	if (d->program_syscall)
		return d->program_syscall;
	if (d->maps_stale)
		read_maps(d);
	buf = xmalloc(SCAN_CHUNK + ARCH_SYSCALL_LEN - 1);
	for (i = 0; i < d->maps.len && !d->program_syscall; i++)
		if (d->maps.data[i].vdso)
			d->program_syscall = scan_syscall(d, &d->maps.data[i], buf);
	for (i = 0; i < d->maps.len && !d->program_syscall; i++)
		d->program_syscall = scan_syscall(d, &d->maps.data[i], buf);
	free(buf);
	return d->program_syscall;
}

int dbt_remote_syscall(struct dbt *d, struct tthread *th, long nr, const uint64_t args[6],
                       uint64_t *ret, struct err *err)
{
	struct arch_regs saved, r;
	uint64_t gadget = d->n_regions ? d->regions[0].gadget : program_syscall(d);
	int other = 0, rc;

	if (dbt_remote_batch_end(d, err))
		return -1;
	if (!gadget)
		return err_set(err, ERR_TRACE, "no system call instruction in the program's code");
	if (get_regs(th->tid, &saved))
		return err_sys(err, ERR_TRACE, "cannot read the registers of thread %d",
		               (int)th->tid);
	r = saved;
	arch_regs_set_pc(&r, gadget);
	arch_regs_set_syscall(&r, nr, args);
	rc = run_gadget(th, &r, gadget, &other, err);
	if (!rc && arch_regs_pc(&r) != gadget + ARCH_SYSCALL_LEN)
		rc = err_set(err, ERR_TRACE, "a remote system call did not run in thread %d",
		             (int)th->tid);
	if (!rc)
		*ret = arch_regs_syscall_ret(&r);
	if (set_regs(th->tid, &saved) && !rc)
		rc = err_sys(err, ERR_TRACE, "cannot restore registers");
	if (other)
		syscall(SYS_tgkill, d->t->pid, th->tid, other);
	return rc;
}

int dbt_remote_batch_start(struct dbt *d, struct tthread *th, uint64_t at, size_t n,
                           struct err *err)
{
	const struct dbt_region *rg = d->regions;
	const uint64_t args[6] = { at, n };
	struct arch_regs r;

	if (dbt_remote_batch_end(d, err))
		return -1;
	/* No code of the engine's (no room for it near the program): one stop each. */
	if (!d->n_regions) {
		struct arch_dbt_syscall *calls = dbt_tracer_ptr(d, at);

		for (size_t i = 0; i < n; i++)
			if (dbt_remote_syscall(d, th, (long)calls[i].nr, calls[i].args,
			                       &calls[i].ret, err))
				return -1;
		return 0;
	}
	if (get_regs(th->tid, &d->batch.saved))
		return err_sys(err, ERR_TRACE, "cannot read the registers of thread %d",
		               (int)th->tid);
	r = d->batch.saved;
	arch_regs_set_pc(&r, rg->batch);
	arch_regs_set_syscall(&r, 0, args);
	if (set_regs(th->tid, &r))
		return err_sys(err, ERR_TRACE, "cannot set registers");
	if (ptrace(PTRACE_CONT, th->tid, NULL, NULL))
		return err_sys(err, ERR_TRACE, "cannot resume thread %d", (int)th->tid);
	d->batch.th = th;
	return 0;
}

int dbt_remote_batch_end(struct dbt *d, struct err *err)
{
	struct tthread *th = d->batch.th;
	struct arch_regs r;
	int other = 0, rc = 0;

	if (!th)
		return 0;
	d->batch.th = NULL;
	if (wait_trap(th->tid, PTRACE_CONT, &other, err))
		rc = -1;
	else if (get_regs(th->tid, &r) || arch_regs_pc(&r) != d->regions[0].batch_end)
		rc = err_set(err, ERR_TRACE, "remote calls did not end in thread %d", (int)th->tid);
	if (set_regs(th->tid, &d->batch.saved) && !rc)
		rc = err_sys(err, ERR_TRACE, "cannot restore registers");
	if (other)
		syscall(SYS_tgkill, d->t->pid, th->tid, other);
	return rc;
}

int dbt_remote_batch(struct dbt *d, struct tthread *th, uint64_t at, size_t n, struct err *err)
{
	return dbt_remote_batch_start(d, th, at, n, err) || dbt_remote_batch_end(d, err) ? -1 : 0;
}

/* call - a remote system call whose negative results are errors */
static int call(struct dbt *d, struct tthread *th, long nr, uint64_t a0, uint64_t a1, uint64_t a2,
                uint64_t a3, uint64_t a4, uint64_t a5, uint64_t *ret, struct err *err)
{
	const uint64_t args[6] = { a0, a1, a2, a3, a4, a5 };
	uint64_t r = 0;

	if (dbt_remote_syscall(d, th, nr, args, &r, err))
		return -1;
	if ((int64_t)r < 0 && (int64_t)r > -4096) {
		errno = (int)-(int64_t)r;
		return err_sys(err, ERR_TRACE, "system call %ld in the traced program", nr);
	}
	if (ret)
		*ret = r;
	return 0;
}

/* open_shm - open the memfd in the tracee; the path goes below the thread's red zone */
static int open_shm(struct dbt *d, struct tthread *th, uint64_t *fd, struct err *err)
{
	struct arch_regs r;
	char path[64];
	uint64_t at;
	int n = snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)getpid(), d->shm_fd);

	if (dbt_remote_batch_end(d, err))
		return -1;
	if (get_regs(th->tid, &r))
		return err_sys(err, ERR_TRACE, "cannot read registers");
	at = (arch_regs_sp(&r) - 1024 - (uint64_t)n - 1) & ~15ull;
	if (tracee_write_raw(d->t, at, path, (size_t)n + 1))
		return err_set(err, ERR_TRACE, "cannot write to the stack of thread %d",
		               (int)th->tid);
	return call(d, th, SYS_openat, (uint64_t)AT_FDCWD, at, O_RDWR | O_CLOEXEC, 0, 0, 0, fd,
	            err);
}

const struct dbt_map *dbt_maps_find(struct dbt *d, uint64_t addr)
{
	int pass;
	size_t lo, hi, mid;

	for (pass = 0; pass < 2; pass++) {
		if (d->maps_stale || pass)
			read_maps(d);
		lo = 0;
		hi = d->maps.len;
		while (lo < hi) {
			mid = (lo + hi) / 2;
			if (addr < d->maps.data[mid].lo)
				hi = mid;
			else if (addr >= d->maps.data[mid].hi)
				lo = mid + 1;
			else
				return &d->maps.data[mid];
		}
	}
	return NULL;
}

static uint64_t distance(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

/* is_free - no mapping overlaps [lo, lo + len), nor the data's place before it is mapped */
static bool is_free(const struct dbt *d, uint64_t lo, uint64_t len)
{
	size_t i;

	if (lo < USER_LOW || lo + len > USER_TOP)
		return false;
	if (!d->data_base && lo < DATA_HINT + DBT_DATA_SIZE && DATA_HINT < lo + len)
		return false;
	for (i = 0; i < d->maps.len; i++)
		if (d->maps.data[i].lo < lo + len && d->maps.data[i].hi > lo)
			return false;
	return true;
}

/*
 * place - where a code region for the code at addr goes: out of the way
 * of the program's own mappings, so that they land where they would
 * without nosco. Libraries and the vdso sit right below mmap_base, where
 * the kernel's top-down allocation starts: their region goes above them,
 * in the gap below the stack that allocation never uses. An executable
 * gets its region below it (its heap grows up from its end), or, when
 * there is no room there (addresses near 0), far above. 0: no room.
 * The maps are as the caller read them, in this stop.
 */
static uint64_t place(struct dbt *d, uint64_t addr)
{
	uint64_t top = 0, stack_lo = USER_TOP, lo = addr, pos;
	size_t i;

	for (i = 0; i < d->maps.len; i++)
		if (d->maps.data[i].stack)
			stack_lo = d->maps.data[i].lo;
	for (i = 0; i < d->maps.len; i++)
		if (d->maps.data[i].hi <= stack_lo && !d->maps.data[i].stack)
			top = d->maps.data[i].hi;
	/* The cluster of mappings addr is in (a binary's segments, its bss, its heap). */
	for (i = d->maps.len; i-- > 0;)
		if (d->maps.data[i].lo <= lo && d->maps.data[i].hi + (16u << 20) >= lo)
			lo = d->maps.data[i].lo;
	if (top && distance(top, addr) < REACH_NEW / 2) {
		pos = (top + (2u << 20)) & ~(uint64_t)((1u << 20) - 1);
		if (pos + DBT_REGION_SIZE + (32u << 20) <= stack_lo &&
		    is_free(d, pos, DBT_REGION_SIZE))
			return pos;
	}
	if (lo > DBT_REGION_SIZE + (2u << 20) + USER_LOW) {
		pos = (lo - DBT_REGION_SIZE - (2u << 20)) & ~(uint64_t)((1u << 20) - 1);
		if (distance(pos, addr) + DBT_REGION_SIZE < REACH_NEW &&
		    is_free(d, pos, DBT_REGION_SIZE))
			return pos;
	}
	/* Far above, the farthest free place in reach (a heap may have started anywhere below). */
	for (pos = (addr + REACH_NEW - DBT_REGION_SIZE) & ~(uint64_t)((1u << 20) - 1);
	     pos > addr + DBT_REGION_SIZE; pos -= DBT_REGION_SIZE)
		if (is_free(d, pos, DBT_REGION_SIZE))
			return pos;
	return 0;
}

/* region_init - the region's shared code: the remote-call gadget and the lookups */
static void region_init(struct dbt_region *rg)
{
	struct dbt_code c = { rg->map, rg->map + DBT_REGION_SIZE, rg->base, false };

	rg->gadget = arch_dbt_emit_gadget(&c);
	arch_dbt_align(&c, 16);
	rg->batch = arch_dbt_emit_batch(&c, &rg->batch_end);
	arch_dbt_align(&c, 16);
	rg->dispatch = c.pc;
	arch_dbt_emit_dispatch(&c, 0, &rg->ind_miss);
	arch_dbt_align(&c, 16);
	rg->fdispatch = c.pc;
	arch_dbt_emit_dispatch(&c, rg->dispatch, &rg->find_miss);
	rg->watches = arch_dbt_emit_watches(&c);
	arch_dbt_align(&c, 16);
	rg->leave = c.pc;
	arch_dbt_emit_leave(&c, rg->ind_miss, rg->fdispatch, ARCH_DBT_LEAVE_CACHE, rg->watches);
	arch_dbt_align(&c, 16);
	rg->leave_native = c.pc;
	arch_dbt_emit_leave(&c, rg->ind_miss, rg->fdispatch, ARCH_DBT_LEAVE_NATIVE, rg->watches);
	arch_dbt_align(&c, 16);
	rg->leave_resume = c.pc;
	arch_dbt_emit_leave(&c, rg->ind_miss, rg->fdispatch, ARCH_DBT_LEAVE_RESUME, rg->watches);
	arch_dbt_align(&c, 16);
	rg->used = c.pc - rg->base;
}

const struct dbt_region *dbt_region_at(const struct dbt *d, uint64_t pc)
{
	uint32_t i;

	for (i = 0; i < d->n_regions; i++)
		if (pc >= d->regions[i].base && pc < d->regions[i].base + d->regions[i].used)
			return &d->regions[i];
	return NULL;
}

void dbt_region_ahead(struct dbt_region *rg)
{
	/* What is written at once is at most some tens of KiB: populated 256 KiB ahead of it. */
	if (rg->used + (64u << 10) > rg->populated && rg->populated < DBT_REGION_SIZE) {
		populate_write(rg->map + rg->populated, 256u << 10);
		rg->populated += 256u << 10;
	}
}

/* map_region - a new code region within reach of addr, mapped through the tracee's fd */
static struct dbt_region *map_region(struct dbt *d, struct tthread *th, uint64_t addr, uint64_t fd,
                                     struct err *err)
{
	struct dbt_region *rg;
	uint64_t base, hint;

	if (d->n_regions == DBT_MAX_REGIONS) {
		err_set(err, ERR_UNSUPPORTED, "dbt: out of code regions");
		return NULL;
	}
	hint = place(d, addr);
	if (!hint) {
		err_set(err, ERR_UNSUPPORTED, "dbt: no room for code near %#llx",
		        (unsigned long long)addr);
		return NULL;
	}
	if (call(d, th, SYS_mmap, hint, DBT_REGION_SIZE, PROT_READ | PROT_EXEC,
	         MAP_SHARED | MAP_FIXED_NOREPLACE | MAP_NORESERVE, fd,
	         DBT_DATA_SIZE + (uint64_t)d->n_regions * DBT_REGION_SIZE, &base, err))
		return NULL;
	rg = &d->regions[d->n_regions];
	memset(rg, 0, sizeof(*rg));
	rg->base = base;
	rg->map = d->shm + DBT_DATA_SIZE + (uint64_t)d->n_regions * DBT_REGION_SIZE;
	d->n_regions++;
	maps_add(d, base, DBT_REGION_SIZE, true);
	region_init(rg);
	log_debug("dbt: code region %#llx for %#llx", (unsigned long long)base,
	          (unsigned long long)addr);
	return rg;
}

/* The two calls that map the data (map_data_start()): at its fixed place, and the fd closed. */
enum { DATA_MMAP, DATA_CLOSE, DATA_CALLS };

/* map_data_anywhere - the engine's data through fd where the kernel puts it, fd closed after */
static int map_data_anywhere(struct dbt *d, struct tthread *th, uint64_t fd, struct err *err)
{
	uint64_t base = 0;
	int rc = call(d, th, SYS_mmap, 0, DBT_DATA_SIZE, PROT_READ | PROT_WRITE,
	              MAP_SHARED | MAP_NORESERVE, fd, 0, &base, err);

	call(d, th, SYS_close, fd, 0, 0, 0, 0, 0, NULL, NULL);
	if (!rc)
		d->data_base = base;
	return rc;
}

/*
 * map_data_start - the engine's data through the tracee's fd, which is
 * closed: low and fixed, far from where the program maps anything
 * (docs/engine.md), or anywhere. With a code region mapped, its batch
 * maps and closes in one stop instead of two, and runs while the tracer
 * goes on (map_data_end() waits for it); its list goes below th's red
 * zone, as open_shm()'s path.
 */
static int map_data_start(struct dbt *d, struct tthread *th, uint64_t fd, struct err *err)
{
	const struct arch_dbt_syscall calls[DATA_CALLS] = {
		[DATA_MMAP] = { SYS_mmap,
		                { DATA_HINT, DBT_DATA_SIZE, PROT_READ | PROT_WRITE,
		                  MAP_SHARED | MAP_NORESERVE | MAP_FIXED_NOREPLACE, fd, 0 } },
		[DATA_CLOSE] = { SYS_close, { fd } },
	};
	struct arch_regs r;
	uint64_t base = 0;

	if (d->n_regions) {
		if (get_regs(th->tid, &r))
			return err_sys(err, ERR_TRACE, "cannot read registers");
		d->mapping_data = (arch_regs_sp(&r) - 2048 - sizeof(calls)) & ~15ull;
		if (tracee_write_raw(d->t, d->mapping_data, calls, sizeof(calls)))
			return err_set(err, ERR_TRACE, "cannot write to the stack of thread %d",
			               (int)th->tid);
		return dbt_remote_batch_start(d, th, d->mapping_data, DATA_CALLS, err);
	}
	if (call(d, th, SYS_mmap, DATA_HINT, DBT_DATA_SIZE, PROT_READ | PROT_WRITE,
	         MAP_SHARED | MAP_NORESERVE | MAP_FIXED_NOREPLACE, fd, 0, &base, NULL))
		return map_data_anywhere(d, th, fd, err);
	call(d, th, SYS_close, fd, 0, 0, 0, 0, 0, NULL, NULL);
	d->data_base = base;
	return 0;
}

/* map_data_end - map_data_start()'s batch made; where the fixed place was taken, anywhere */
static int map_data_end(struct dbt *d, struct tthread *th, struct err *err)
{
	struct arch_dbt_syscall calls[DATA_CALLS];
	uint64_t fd, at = d->mapping_data;

	if (!at)
		return 0;
	d->mapping_data = 0;
	if (dbt_remote_batch_end(d, err))
		return -1;
	if (tracee_read(d->t, at, calls, sizeof(calls)))
		return err_set(err, ERR_TRACE, "cannot read the stack of thread %d", (int)th->tid);
	if (calls[DATA_MMAP].ret < (uint64_t)-4095) {
		d->data_base = calls[DATA_MMAP].ret;
		return 0;
	}
	/* closed too: a descriptor again */
	return open_shm(d, th, &fd, err) ? -1 : map_data_anywhere(d, th, fd, err);
}

int dbt_mem_ready_start(struct dbt *d, struct tthread *th, uint64_t pc, struct err *err)
{
	struct err region_err;
	uint64_t fd;

	if (d->ready || d->mapping_data)
		return 0;
	/* as they are now, for the places of the engine's mappings (which are added to them) */
	read_maps(d);
	if (open_shm(d, th, &fd, err))
		return err_prefix(err, "dbt: cannot share memory with the program");
	/*
	 * The first code region through the same descriptor, before the data:
	 * its batch then maps the data. Where it cannot be, a translation
	 * will say why.
	 */
	map_region(d, th, pc, fd, &region_err);
	if (map_data_start(d, th, fd, err))
		return err_prefix(err, "dbt: cannot map its memory into the program");
	return d->mapping_data ? 0 : dbt_mem_ready_end(d, th, err);
}

int dbt_mem_ready_end(struct dbt *d, struct tthread *th, struct err *err)
{
	if (d->ready)
		return 0;
	if (map_data_end(d, th, err))
		return err_prefix(err, "dbt: cannot map its memory into the program");
	d->ready = true;
	maps_add(d, d->data_base, DBT_DATA_SIZE, false);
	return 0;
}

struct dbt_region *dbt_region_for(struct dbt *d, struct tthread *th, uint64_t addr, struct err *err)
{
	struct dbt_region *rg;
	uint64_t fd;
	uint32_t i;

	for (i = 0; i < d->n_regions; i++) {
		rg = &d->regions[i];
		if (distance(rg->base, addr) + DBT_REGION_SIZE < REACH_USE &&
		    rg->used + 65536 < DBT_REGION_SIZE)
			return rg;
	}
	read_maps(d);
	if (open_shm(d, th, &fd, err))
		return NULL;
	rg = map_region(d, th, addr, fd, err);
	call(d, th, SYS_close, fd, 0, 0, 0, 0, 0, NULL, NULL);
	return rg;
}

int dbt_mem_unmap(struct dbt *d, struct tthread *th, struct err *err)
{
	int i;

	if (!d->ready)
		return 0;
	if (call(d, th, SYS_munmap, d->data_base, DBT_DATA_SIZE, 0, 0, 0, 0, NULL, err))
		return -1;
	/* Region 0 holds the gadget these calls run through: it goes last. */
	for (i = (int)d->n_regions - 1; i >= 0; i--)
		if (call(d, th, SYS_munmap, d->regions[i].base, DBT_REGION_SIZE, 0, 0, 0, 0, NULL,
		         err))
			return -1;
	return 0;
}

struct dbt_region *dbt_region_code(struct dbt *d, struct tthread *th, uint64_t addr,
                                   struct dbt_code *c)
{
	struct err err;
	struct dbt_region *rg = dbt_region_for(d, th, addr, &err);

	if (!rg) {
		log_debug("dbt: %s", err.msg);
		return NULL;
	}
	*c = (struct dbt_code){ rg->map + rg->used, rg->map + DBT_REGION_SIZE, rg->base + rg->used,
		                false };
	dbt_region_ahead(rg);
	return rg;
}
