/*
 * Test helpers for test-sym.c (included there, static functions): run a
 * program under ptrace, stop it at a breakpoint, list its mapped images
 * from /proc/PID/maps and read its memory with process_vm_readv; and a
 * fixture stopped on an int3 with an unwinder that knows its images.
 */
#ifndef NOSCO_TEST_SYM_TRACEE_H
#define NOSCO_TEST_SYM_TRACEE_H

#define TRACEE_MAX_MODS 32

struct tracee_mod {
	char path[256];
	struct sym_image *img;
	uint64_t bias, lo, hi;
};

struct tracee {
	pid_t pid;
	struct arch_regs regs;
	struct tracee_mod mods[TRACEE_MAX_MODS];
	size_t nmods;
};

/* Start path under ptrace, stopped at its exec; its stdout goes to /dev/null. */
static void tracee_spawn(struct tracee *t, const char *path, char *const argv[])
{
	int st;

	memset(t, 0, sizeof(*t));
	t->pid = fork();
	assert_true(t->pid >= 0);
	if (t->pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		execv(path, argv);
		_exit(127);
	}
	assert_int_equal(waitpid(t->pid, &st, 0), t->pid);
	assert_true(WIFSTOPPED(st) && WSTOPSIG(st) == SIGTRAP);
}

/* Continue to the next SIGTRAP (an int3) and read the registers there. */
static void tracee_run_to_trap(struct tracee *t)
{
	struct iovec io = { &t->regs, sizeof(t->regs) };
	int st;

	assert_int_equal(ptrace(PTRACE_CONT, t->pid, NULL, NULL), 0);
	assert_int_equal(waitpid(t->pid, &st, 0), t->pid);
	if (!WIFSTOPPED(st) || WSTOPSIG(st) != SIGTRAP)
		fail_msg("tracee did not stop on SIGTRAP (status %#x)", st);
	assert_int_equal(ptrace(PTRACE_GETREGSET, t->pid, NT_PRSTATUS, &io), 0);
}

static long tracee_read(void *arg, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };

	return process_vm_readv(*(pid_t *)arg, &local, 1, &remote, 1, 0);
}

static struct sym_image *tracee_vdso(struct tracee *t, uint64_t lo, uint64_t hi)
{
	size_t len = hi - lo;
	void *buf = xmalloc(len);
	struct sym_image *img = NULL;

	if (tracee_read(&t->pid, lo, buf, len) == (long)len)
		img = sym_image_open_memory("[vdso]", buf, len, NULL);
	free(buf);
	return img;
}

static struct tracee_mod *tracee_mod_named(struct tracee *t, const char *path)
{
	for (size_t i = 0; i < t->nmods; i++)
		if (!strcmp(t->mods[i].path, path))
			return &t->mods[i];
	return NULL;
}

/* Add the images mapped now and not known yet (the first mapping of each file). */
static void tracee_load_maps(struct tracee *t)
{
	char maps[64], line[600], path[256];
	unsigned long lo, hi, off;
	FILE *f;

	snprintf(maps, sizeof(maps), "/proc/%d/maps", t->pid);
	f = fopen(maps, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) && t->nmods < TRACEE_MAX_MODS) {
		struct tracee_mod *m = &t->mods[t->nmods];
		const struct sym_segment *seg;
		uint64_t elo, ehi;
		size_t n;

		if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %255s", &lo, &hi, &off, path) != 4 ||
		    off != 0 || tracee_mod_named(t, path) ||
		    (path[0] != '/' && strcmp(path, "[vdso]")))
			continue;
		m->img = path[0] == '/' ? sym_image_open(path, NULL, NULL) : tracee_vdso(t, lo, hi);
		if (!m->img)
			continue;
		seg = sym_image_segments(m->img, &n);
		assert_true(n > 0);
		snprintf(m->path, sizeof(m->path), "%s", path);
		m->bias = lo - (seg[0].vaddr & ~(uint64_t)4095);
		assert_int_equal(sym_image_extent(m->img, &elo, &ehi), 0);
		m->lo = m->bias + elo;
		m->hi = m->bias + ehi;
		t->nmods++;
	}
	fclose(f);
}

static struct tracee_mod *tracee_mod_at(struct tracee *t, uint64_t addr)
{
	for (size_t i = 0; i < t->nmods; i++)
		if (addr >= t->mods[i].lo && addr < t->mods[i].hi)
			return &t->mods[i];
	return NULL;
}

/* The symbol name of a runtime address, or "?". */
static const char *tracee_symbolize(struct tracee *t, uint64_t addr)
{
	struct tracee_mod *m = tracee_mod_at(t, addr);
	struct sym_info si;

	if (!m || sym_image_by_addr(m->img, addr - m->bias, &si, NULL) != 1)
		return "?";
	return si.name;
}

static void tracee_kill(struct tracee *t)
{
	int st;

	kill(t->pid, SIGKILL);
	waitpid(t->pid, &st, 0);
	for (size_t i = 0; i < t->nmods; i++)
		sym_image_free(t->mods[i].img);
	t->nmods = 0;
}

/* Unwinding a fixture stopped on the int3 in f3. */

struct stopped {
	struct tracee t;
	struct sym_unwinder *uw;
	uint64_t regs[SYM_UNWIND_NREGS];
	struct sym_mem mem;
};

static void add_module(struct sym_unwinder *uw, struct tracee_mod *m)
{
	struct err e = { 0 };

	if (sym_unwinder_add(uw, m->img, m->bias, &e) < 0)
		fail_msg("%s: %s", m->path, e.msg);
}

static void stop_at(struct stopped *s, const char *prog, const char *arg, const char *where)
{
	char *argv[] = { (char *)prog, (char *)arg, NULL };

	tracee_spawn(&s->t, prog, argv);
	tracee_run_to_trap(&s->t);
	tracee_load_maps(&s->t);
	s->uw = sym_unwinder_new(NULL);
	assert_non_null(s->uw);
	for (size_t i = 0; i < s->t.nmods; i++)
		add_module(s->uw, &s->t.mods[i]);
	arch_regs_to_dwarf(&s->t.regs, s->regs);
	s->mem = (struct sym_mem){ tracee_read, &s->t.pid };
	assert_string_equal(tracee_symbolize(&s->t, arch_regs_pc(&s->t.regs)), where);
}

static void stop_in_f3(struct stopped *s, const char *prog)
{
	stop_at(s, prog, "run", "f3");
}

static void stopped_end(struct stopped *s)
{
	sym_unwinder_free(s->uw);
	tracee_kill(&s->t);
}

static size_t backtrace_names(struct stopped *s, const char **names, size_t max)
{
	uint64_t ret[64];
	size_t n = sym_unwinder_backtrace(s->uw, s->regs, &s->mem, ret, max < 64 ? max : 64);

	for (size_t i = 0; i < n; i++)
		names[i] = tracee_symbolize(&s->t, ret[i]);
	return n;
}

static bool libc_has_debug_symbols(struct stopped *s)
{
	struct sym_info si;

	for (size_t i = 0; i < s->t.nmods; i++)
		if (strstr(s->t.mods[i].path, "/libc.so"))
			return sym_image_by_name(s->t.mods[i].img, "__libc_start_call_main", &si,
			                         NULL) == 1;
	return false;
}

#endif
