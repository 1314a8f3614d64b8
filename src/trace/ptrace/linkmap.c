/*
 * Which binaries the traced process has mapped. At exec, the auxiliary
 * vector names the executable, the interpreter and the vdso. After that the
 * dynamic linker announces every change by calling its r_brk function
 * (_dl_debug_state) with r_debug.r_state saying whether the link map is
 * consistent; we break there and compare its list with the last one seen.
 * A program launched where nothing is traced before its libraries are
 * loaded first runs to the first consistent list (linkmap_prestart), so
 * that the trace file is made meanwhile.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "trace/ptrace/tracee.h"
#include "util/log.h"
#include "util/xalloc.h"

/*
 * struct r_debug (r_debug_extended from r_version 2 on: r_next, the next
 * namespace's) and struct link_map, 64-bit layout, as words: each is read
 * whole, in one system call rather than one a field.
 */
enum { R_VERSION, R_MAP, R_BRK, R_STATE, R_LDBASE, R_NEXT, R_WORDS };
enum { LM_ADDR, LM_NAME, LM_LD, LM_NEXT, LM_WORDS };
#define RT_CONSISTENT    0
#define MAX_LINK_MAPS    100000 /* a corrupted list must not loop forever */
#define MAX_NAMESPACES   64
#define AUXV_MAX_ENTRIES 128 /* the kernel gives some 25 */

static int read_auxv(pid_t pid, struct linkmap_auxv *ai, struct err *err)
{
	/* Read whole: a read per entry was some 25 system calls. */
	uint64_t kv[2 * AUXV_MAX_ENTRIES];
	size_t got = 0, i;
	char path[64];
	ssize_t n;
	int fd;

	memset(ai, 0, sizeof(*ai));
	snprintf(path, sizeof(path), "/proc/%d/auxv", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, ERR_TRACE, "cannot open %s", path);
	while (got < sizeof(kv) && (n = read(fd, (char *)kv + got, sizeof(kv) - got)) > 0)
		got += (size_t)n;
	close(fd);
	for (i = 0; i + 1 < got / sizeof(*kv) && kv[i] != AT_NULL; i += 2) {
		if (kv[i] == AT_ENTRY)
			ai->entry = kv[i + 1];
		else if (kv[i] == AT_BASE)
			ai->base = kv[i + 1];
		else if (kv[i] == AT_SYSINFO_EHDR)
			ai->vdso = kv[i + 1];
		else if (kv[i] == AT_PHDR)
			ai->phdr = kv[i + 1];
		else if (kv[i] == AT_PHNUM)
			ai->phnum = kv[i + 1];
	}
	return 0;
}

/*
 * mapping_of - the file (or [name]) mapped at addr, and the extent of
 * the mappings that start there with the same name, from /proc/PID/maps.
 */
static char *mapping_of(pid_t pid, uint64_t addr, uint64_t *end)
{
	char path[64], line[PATH_MAX + 128];
	char *name = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi;
		int off = 0;

		if (sscanf(line, "%llx-%llx %*s %*s %*s %*s %n", &lo, &hi, &off) < 2 || !off)
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (name && !strcmp(name, line + off)) {
			*end = hi;
			continue;
		}
		if (name)
			break;
		if (lo == addr) {
			name = xstrdup(line + off);
			*end = hi;
		}
	}
	fclose(f);
	return name;
}

static int report(struct tracee *t, struct tthread *th, const struct core_binary *b,
                  struct err *err)
{
	if (core_binary_loaded(t->core, th ? th->core : NULL, th ? &th->regs : NULL, b, err))
		return -1;
	return escape_hooks_add(t, b->base, err) || ifunc_hooks_add(t, b->base, err) ? -1 : 0;
}

static int report_vdso(struct tracee *t, struct tthread *th, uint64_t vdso, struct err *err)
{
	uint64_t end = 0;
	char *name = mapping_of(t->pid, vdso, &end);
	uint8_t *image;
	int ret;

	free(name);
	if (!end || end <= vdso || end - vdso > (64u << 20))
		return 0;
	image = xmalloc(end - vdso);
	if (tracee_read(t, vdso, image, end - vdso)) {
		free(image);
		return 0;
	}
	ret = report(t, th,
	             &(struct core_binary){ .path = "[vdso]",
	                                    .name = CORE_VDSO_NAME,
	                                    .base = vdso,
	                                    .image = image,
	                                    .image_len = end - vdso },
	             err);
	free(image);
	return ret;
}

static void remember(struct linkmap *lm, uint64_t base, const char *name)
{
	struct linkmap_entry e = { base, xstrdup(name) };

	vec_push(&lm->known, e);
}

/* exe_dynamic - the executable's dynamic section in memory, from its program headers */
static uint64_t exe_dynamic(struct tracee *t, const struct linkmap_auxv *ai)
{
	/* In one read, not one system call a header (13 for Python) */
	Elf64_Phdr ph[256];
	uint64_t bias = 0, dyn = 0, i, n = ai->phnum < 256 ? ai->phnum : 256;

	if (tracee_read(t, ai->phdr, ph, n * sizeof(*ph)))
		return 0;
	for (i = 0; i < n; i++) {
		if (ph[i].p_type == PT_PHDR)
			bias = ai->phdr - ph[i].p_vaddr;
		else if (ph[i].p_type == PT_DYNAMIC)
			dyn = ph[i].p_vaddr;
	}
	return dyn ? bias + dyn : 0;
}

/* find_rbrk - the function the dynamic linker calls on every change (a symbol) */
static void find_rbrk(struct tracee *t, uint64_t base)
{
	/*
	 * The linker's own _r_debug (exported by ld.so, present in static
	 * executables that can dlopen); failing that, the DT_DEBUG entry it
	 * fills in (find_r_debug).
	 */
	if (core_object_addr(t->core, base, "_r_debug", &t->lm.r_debug))
		t->lm.r_debug = 0;
	if (core_symbol_addr(t->core, base, "_dl_debug_state", &t->lm.r_brk)) {
		t->lm.r_brk = 0;
		log_info("no _dl_debug_state in the binary at %#llx: libraries loaded later are "
		         "not seen",
		         (unsigned long long)base);
	}
}

/*
 * find_r_debug - r_debug, once the dynamic linker has published it in the
 * executable's DT_DEBUG entry (it does so before its first notification).
 */
static void find_r_debug(struct tracee *t)
{
	uint64_t d = t->lm.exe_dynamic, tag_val[2];
	int i;

	for (i = 0; d && i < 4096; i++, d += sizeof(tag_val)) {
		if (tracee_read(t, d, tag_val, sizeof(tag_val)) || tag_val[0] == DT_NULL)
			return;
		if (tag_val[0] == DT_DEBUG) {
			t->lm.r_debug = tag_val[1];
			return;
		}
	}
}

/* exe_bias - the executable's load bias: where its entry point ended up (0 for non-PIE) */
static uint64_t exe_bias(const char *exe, uint64_t entry)
{
	Elf64_Ehdr eh;
	int fd = open(exe, O_RDONLY | O_CLOEXEC);
	uint64_t bias = 0;

	if (fd < 0)
		return 0;
	if (pread(fd, &eh, sizeof(eh), 0) == sizeof(eh) && eh.e_type == ET_DYN)
		bias = entry - eh.e_entry;
	close(fd);
	return bias;
}

/* settle - the binaries the program starts with are all reported */
static void settle(struct tracee *t)
{
	if (t->lm.settled)
		return;
	t->lm.settled = true;
	core_binaries_settled(t->core);
}

int linkmap_start(struct tracee *t, struct tthread *th, struct err *err)
{
	char exe_link[64], exe[PATH_MAX];
	struct linkmap_auxv ai;
	uint64_t end = 0;
	char *interp = NULL;
	const char *ld;
	ssize_t n;
	int ret;

	ai = t->lm.auxv;
	if (!t->lm.auxv_read && read_auxv(t->pid, &ai, err))
		return -1;
	linkmap_reset(&t->lm);
	t->lm.exe_dynamic = exe_dynamic(t, &ai);
	snprintf(exe_link, sizeof(exe_link), "/proc/%d/exe", (int)t->pid);
	n = readlink(exe_link, exe, sizeof(exe) - 1);
	if (n < 0)
		return err_sys(err, ERR_TRACE, "cannot read %s", exe_link);
	exe[n] = '\0';
	ret = report(t, th,
	             &(struct core_binary){ .path = exe,
	                                    .name = exe,
	                                    .base = exe_bias(exe, ai.entry),
	                                    .is_main = true },
	             err);
	if (ret)
		return ret;
	remember(&t->lm, 0, "");
	if (ai.base) {
		interp = mapping_of(t->pid, ai.base, &end);
		ld = interp ? interp : "ld.so";
		ret = report(t, th,
		             &(struct core_binary){ .path = ld, .name = ld, .base = ai.base }, err);
		t->lm.interp_base = ai.base;
		free(interp);
		if (ret)
			return ret;
	}
	t->lm.vdso_base = ai.vdso;
	if (ai.vdso && report_vdso(t, th, ai.vdso, err))
		return -1;
	find_rbrk(t, ai.base ? ai.base : exe_bias(exe, ai.entry));
	log_debug("r_brk at %#llx, r_debug at %#llx", (unsigned long long)t->lm.r_brk,
	          (unsigned long long)t->lm.r_debug);
	if (t->lm.r_brk && tracee_bp_add(t, t->lm.r_brk, BP_INTERNAL, err))
		return -1;
	/* Without a dynamic linker to load more, the program starts with what it has. */
	if (!ai.base || !t->lm.r_brk)
		settle(t);
	return 0;
}

/*
 * run_to_consistent - let th run, returned for at the linker's
 * notifications of a list being changed (tracee_return_over(): no stop
 * more), until it stops otherwise: that stop is queued for the engine.
 * After the first of them, once th runs again, meanwhile() is done.
 */
static int run_to_consistent(struct tracee *t, struct tthread *th, uint64_t r_brk, uint64_t r_debug,
                             struct linkmap_meanwhile *meanwhile, struct err *err)
{
	struct tracee_event ev = { th->tid, 0 };
	bool added = false;
	uint64_t state;
	int r;

	for (;;) {
		if (tracee_resume(t, th, false, err))
			return -1;
		if (added && !meanwhile->done) {
			meanwhile->done = true;
			if (meanwhile->fn(t, th, meanwhile->arg, err))
				return -1;
		}
		if (tracee_wait_thread(th->tid, &ev.status, err))
			return -1;
		th->running = false;
		if (!WIFSTOPPED(ev.status) || WSTOPSIG(ev.status) != SIGTRAP || ev.status >> 16 ||
		    tracee_get_regs(t, th, err) || arch_regs_pc(&th->regs) != r_brk + ARCH_BP_LEN ||
		    tracee_read(t, r_debug + R_STATE * sizeof(state), &state, sizeof(state)) ||
		    (uint32_t)state == RT_CONSISTENT)
			break;
		arch_regs_set_pc(&th->regs, r_brk);
		r = tracee_return_over(t, th, err);
		if (r <= 0) {
			if (r < 0)
				return -1;
			break;
		}
		added = true;
	}
	vec_push(&t->queue, ev);
	return tracee_get_regs(t, th, err);
}

int linkmap_prestart(struct tracee *t, struct tthread *th, struct linkmap_meanwhile *meanwhile,
                     struct err *err)
{
	uint64_t r_brk, r_debug;
	struct linkmap_auxv ai;
	int ret;

	if (read_auxv(t->pid, &ai, err))
		return -1;
	t->lm.auxv = ai;
	t->lm.auxv_read = true;
	if (!ai.base || core_quiet_start(t->core, ai.base, &r_brk, &r_debug))
		return 0;
	if (tracee_bp_add(t, r_brk, BP_INTERNAL, err))
		return -1;
	ret = run_to_consistent(t, th, r_brk, r_debug, meanwhile, err);
	/* linkmap_start() has set it too */
	tracee_bp_del(t, r_brk, BP_INTERNAL);
	return ret ? -1 : 1;
}

void linkmap_reset(struct linkmap *lm)
{
	struct linkmap_entry *e;

	vec_foreach (&lm->known, e)
		free(e->name);
	vec_free(&lm->known);
	memset(lm, 0, sizeof(*lm));
}

/*
 * read_words - n words at addr, zeros from where they cannot be read (a
 * version 1 r_debug is 5 words long, and may end its mapping)
 */
static void read_words(struct tracee *t, uint64_t addr, uint64_t *w, size_t n)
{
	size_t got = tracee_read_partial(t, addr, w, n * sizeof(*w));

	memset((char *)w + got, 0, n * sizeof(*w) - got);
}

/* read_maps - every (base, name) of every namespace's list, skipping what linkmap_start reported */
static void read_maps(struct tracee *t, const uint64_t *first_rd, struct linkmap_entry **out,
                      size_t *n)
{
	VEC(struct linkmap_entry) cur = { 0 };
	uint64_t rd[R_WORDS], lm[LM_WORDS];
	int ns;

	memcpy(rd, first_rd, sizeof(rd));
	for (ns = 0; ns < MAX_NAMESPACES; ns++) {
		uint64_t at = rd[R_MAP];
		int i;

		for (i = 0; at && i < MAX_LINK_MAPS; i++, at = lm[LM_NEXT]) {
			char *name;
			bool main_exe;

			read_words(t, at, lm, LM_WORDS);
			name = tracee_read_cstr(t, lm[LM_NAME], PATH_MAX);
			main_exe = ns == 0 && i == 0 && !name[0];
			if (!main_exe && lm[LM_ADDR] != t->lm.interp_base &&
			    lm[LM_ADDR] != t->lm.vdso_base && name[0]) {
				struct linkmap_entry e = { lm[LM_ADDR], name };

				vec_push(&cur, e);
			} else {
				free(name);
			}
		}
		/* dlmopen namespaces hang off r_debug_extended from version 2 on. */
		if ((uint32_t)rd[R_VERSION] < 2 || !rd[R_NEXT])
			break;
		read_words(t, rd[R_NEXT], rd, R_WORDS);
	}
	*out = cur.data;
	*n = cur.len;
}

static bool contains(const struct linkmap_entry *v, size_t n, const struct linkmap_entry *e)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].base == e->base && !strcmp(v[i].name, e->name))
			return true;
	return false;
}

int linkmap_update(struct tracee *t, struct tthread *th, struct err *err)
{
	struct linkmap_entry *cur, *e;
	uint64_t rd[R_WORDS];
	size_t n, i, reported = 0;
	int ret = 0;

	if (!t->lm.r_debug)
		find_r_debug(t);
	if (!t->lm.r_debug)
		return 0;
	read_words(t, t->lm.r_debug, rd, R_WORDS);
	log_debug("r_brk reached by thread %d, r_state %u", th ? (int)th->tid : 0,
	          (unsigned)rd[R_STATE]);
	if ((uint32_t)rd[R_STATE] != RT_CONSISTENT)
		return 0;
	read_maps(t, rd, &cur, &n);
	/* Unloads first: a library reloaded at the same address is two events. */
	for (i = 0; i < t->lm.known.len && !ret; i++) {
		e = &t->lm.known.data[i];
		if (e->name[0] && !contains(cur, n, e) && th) {
			escape_hooks_remove(t, e->base);
			ifunc_hooks_remove(t, e->base);
			ret = core_binary_unloaded(t->core, th->core, &th->regs, e->base, err);
		}
	}
	for (i = 0; i < n && !ret; i++)
		if (!contains(t->lm.known.data, t->lm.known.len, &cur[i]))
			ret = report(t, th,
			             &(struct core_binary){ .path = cur[i].name,
			                                    .name = cur[i].name,
			                                    .base = cur[i].base,
			                                    .same_stop = reported++ > 0 },
			             err);
	/* The list just read becomes the known one (keeping the executable's marker). */
	vec_foreach (&t->lm.known, e)
		free(e->name);
	t->lm.known.len = 0;
	remember(&t->lm, 0, "");
	for (i = 0; i < n; i++)
		vec_push(&t->lm.known, cur[i]);
	free(cur);
	/* The first consistent list: the dynamic linker has loaded what the program needs. */
	if (!ret)
		settle(t);
	return ret;
}

int linkmap_attach(struct tracee *t, struct err *err)
{
	if (linkmap_start(t, NULL, err))
		return -1;
	/*
	 * The libraries the dynamic linker has loaded, as if r_brk had just
	 * been reached; in the middle of a dlopen (the list not consistent),
	 * they are reported when it is done.
	 */
	return t->lm.settled ? 0 : linkmap_update(t, NULL, err);
}
