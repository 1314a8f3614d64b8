/*
 * Stack unwinding with libdwfl's frame API, fed from caller-supplied
 * registers and memory, with a frame-pointer-chain fallback. See unwind.h.
 *
 * libdwfl walks CFI. Where a frame has none, elfutils' x86-64 backend
 * (0.188 here) follows the frame pointer itself without checking the
 * result: every frame it returns goes through our checks in uw_frame()
 * (the stack must grow, the return address must be in a module). When
 * libdwfl still cannot unwind a frame it returns an error; we then take
 * one checked frame-pointer step (fp_step) from the last frame we trusted
 * and restart libdwfl from the registers that step recovered (pc, stack
 * and frame pointers), so later frames get CFI again. So the frame-pointer
 * chain is followed with or without the backend's help, and never trusted
 * blindly. The frame layout and the DWARF register numbers are the ISA's
 * (arch/arch.h).
 */
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "sym/internal.h"
#include "sym/unwind.h"
#include "util/hash.h"
#include "util/xalloc.h"

#define UW_TID          1           /* libdwfl wants a thread id; registers come from the request */
#define UW_LINE_SIZE    4096        /* memory is read in aligned blocks of this size ... */
#define UW_LINES        8           /* ... and this many are cached during one backtrace */
#define UW_MAX_FP_FRAME (64u << 20) /* a frame pointer this far above sp is garbage */
#define UW_SCAN_WORDS   16          /* how far up the stack scan_step looks */

struct uw_module {
	struct sym_image *img;
	uint64_t bias, lo, hi;
	char *name; /* unique, so that re-reporting finds the same Dwfl_Module */
	Dwfl_Module *mod;
	struct sym_fde_table fdes; /* opened at the first sym_unwinder_frame_rows() */
	bool fdes_tried, has_fdes;
	uint64_t rows_key; /* sym_rows_cursor.key, with the table */
};

struct uw_line {
	uint64_t base;
	size_t len;
	uint8_t data[UW_LINE_SIZE];
};

/* One backtrace request, seen by the libdwfl callbacks. */
struct uw_req {
	const struct sym_mem *mem;
	uint64_t regs[SYM_UNWIND_NREGS];
	uint32_t valid; /* bit i: regs[i] is known */
	uint64_t *out;
	size_t max, n;
	/* the last frame accepted: where a frame-pointer step starts */
	uint64_t pc, sp, fp;
	bool has_sp, has_fp;
	bool initial; /* the next frame is the first of a libdwfl run: not output */
	bool stop;    /* a frame failed the checks: do not try the frame-pointer chain */
};

struct sym_unwinder {
	Dwfl *dwfl;
	Elf64_Ehdr arch_ehdr; /* tells libdwfl the machine before any module exists */
	Elf *arch_elf;
	VEC(struct uw_module *) mods;
	struct uw_req *req;
	struct sym_unwind_stats stats;
	bool fp_only;
	/* the CFI row sym_unwinder_frame_rule() read last: [lo, hi) of mod, and what it said */
	struct {
		Dwfl_Module *mod;
		uint64_t lo, hi;
		struct sym_frame_rule rule;
		bool ok;
	} row;
	/* the memory read, kept for one backtrace, or while held for the next ones */
	struct uw_line lines[UW_LINES];
	size_t nlines, next_line;
	bool hold;
};

static long mem_read(struct sym_unwinder *uw, uint64_t addr, void *buf, size_t len)
{
	uw->stats.mem_reads++;
	return uw->req->mem->read(uw->req->mem->arg, addr, buf, len);
}

/* One 8-byte word through the block cache; stacks are read mostly in one place. */
static bool read_word(struct sym_unwinder *uw, uint64_t addr, uint64_t *out)
{
	uint64_t base = addr & ~(uint64_t)(UW_LINE_SIZE - 1);
	struct uw_line *l;
	long n;

	for (size_t i = 0; i < uw->nlines; i++) {
		l = &uw->lines[i];
		if (addr >= l->base && addr - l->base + 8 <= l->len) {
			memcpy(out, l->data + (addr - l->base), 8);
			return true;
		}
	}
	if (addr - base + 8 <= UW_LINE_SIZE) {
		l = &uw->lines[uw->next_line];
		n = mem_read(uw, base, l->data, UW_LINE_SIZE);
		if (n > 0) {
			l->base = base;
			l->len = (size_t)n;
			uw->next_line = (uw->next_line + 1) % UW_LINES;
			if (uw->nlines < UW_LINES)
				uw->nlines++;
			if (addr - base + 8 <= l->len) {
				memcpy(out, l->data + (addr - base), 8);
				return true;
			}
		}
	}
	return mem_read(uw, addr, out, 8) == 8;
}

static bool in_module(struct sym_unwinder *uw, uint64_t addr)
{
	return dwfl_addrmodule(uw->dwfl, addr) != NULL;
}

/* libdwfl callbacks */

static int uw_find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                       char **file_name, Elf **elfp)
{
	struct uw_module *m = *userdata;
	size_t size;
	char *raw;

	(void)mod;
	(void)modname;
	(void)base;
	if (!m || !(raw = elf_rawfile(m->img->main.elf, &size)))
		return -1;
	/* a handle of its own over the image's bytes: libdwfl ends it, the image stays */
	*elfp = elf_memory(raw, size);
	*file_name = xstrdup(m->img->path);
	return -1;
}

/* No separate debug files: .eh_frame is in every image of the ISAs nosco knows. */
static int uw_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
                             Dwarf_Addr base, const char *file_name, const char *debuglink_file,
                             GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	(void)mod, (void)userdata, (void)modname, (void)base, (void)file_name;
	(void)debuglink_file, (void)debuglink_crc, (void)debuginfo_file_name;
	return -1;
}

static pid_t uw_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	(void)dwfl;
	if (*thread_argp)
		return 0;
	*thread_argp = arg;
	return UW_TID;
}

static bool uw_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	(void)dwfl;
	(void)tid;
	*thread_argp = arg;
	return true;
}

static bool uw_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	uint64_t v;

	(void)dwfl;
	if (!read_word(arg, addr, &v))
		return false;
	*result = v;
	return true;
}

static bool uw_set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	struct uw_req *r = ((struct sym_unwinder *)arg)->req;

	for (int i = 0; i < SYM_UNWIND_NREGS; i++) {
		Dwarf_Word v = r->regs[i];

		if ((r->valid & (1u << i)) && !dwfl_thread_state_registers(thread, i, 1, &v))
			return false;
	}
	return true;
}

static const Dwfl_Callbacks uw_callbacks = {
	.find_elf = uw_find_elf,
	.find_debuginfo = uw_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

static const Dwfl_Thread_Callbacks uw_thread_callbacks = {
	.next_thread = uw_next_thread,
	.get_thread = uw_get_thread,
	.memory_read = uw_memory_read,
	.set_initial_registers = uw_set_initial_registers,
};

/* Where the last trusted frame is. */
static void note_frame(struct uw_req *r, uint64_t pc, Dwfl_Frame *state)
{
	Dwarf_Word v;

	r->pc = pc;
	r->has_sp = dwfl_frame_reg(state, ARCH_DWARF_SP, &v) == 0;
	r->sp = r->has_sp ? v : 0;
	r->has_fp = dwfl_frame_reg(state, ARCH_DWARF_FP, &v) == 0;
	r->fp = r->has_fp ? v : 0;
}

static int uw_frame(Dwfl_Frame *state, void *arg)
{
	struct sym_unwinder *uw = arg;
	struct uw_req *r = uw->req;
	uint64_t prev_sp = r->sp;
	bool had_sp = r->has_sp, act;
	Dwarf_Addr pc;

	if (!dwfl_frame_pc(state, &pc, &act))
		return DWARF_CB_ABORT;
	if (r->initial) {
		/* the current pc, or a return address already output before a restart */
		r->initial = false;
		note_frame(r, pc, state);
		return DWARF_CB_OK;
	}
	note_frame(r, pc, state);
	if (!pc || !r->has_sp || (had_sp && r->sp <= prev_sp) ||
	    !in_module(uw, act ? pc : pc - 1)) {
		r->stop = true;
		return DWARF_CB_ABORT;
	}
	r->out[r->n++] = pc;
	return r->n < r->max ? DWARF_CB_OK : DWARF_CB_ABORT;
}

/* One step along the frame-pointer chain from the last trusted frame. */
static bool fp_step(struct sym_unwinder *uw, struct uw_req *r)
{
	uint64_t fp = r->fp, saved_fp, ret, ret_at, caller_sp;

	if (!r->has_fp || !r->has_sp || (fp % ARCH_PTR_SIZE) || fp < r->sp ||
	    fp - r->sp > UW_MAX_FP_FRAME)
		return false;
	arch_fp_frame(fp, &ret_at, &caller_sp);
	if (!read_word(uw, fp, &saved_fp) || !read_word(uw, ret_at, &ret))
		return false;
	if (!ret || !in_module(uw, ret - 1))
		return false;
	r->out[r->n++] = ret;
	uw->stats.fp_frames++;
	memset(r->regs, 0, sizeof(r->regs));
	r->regs[ARCH_DWARF_PC] = ret;
	r->regs[ARCH_DWARF_SP] = caller_sp;
	r->regs[ARCH_DWARF_FP] = saved_fp;
	r->valid = 1u << ARCH_DWARF_PC | 1u << ARCH_DWARF_SP | 1u << ARCH_DWARF_FP;
	r->pc = ret;
	r->sp = caller_sp;
	r->fp = saved_fp;
	return true;
}

/* follows_call - do the bytes before ret look like the end of a call instruction? */
static bool follows_call(struct sym_unwinder *uw, uint64_t ret)
{
	uint8_t b[ARCH_CALL_LOOKBACK];

	if (ret < sizeof(b) || mem_read(uw, ret - sizeof(b), b, sizeof(b)) != (long)sizeof(b))
		return false;
	return arch_follows_call(b);
}

/*
 * scan_step - a frame has neither unwind information nor a usable frame
 * pointer (assembly: clone3 after its syscall, hand-written functions):
 * take the first word near the stack pointer that is a return address just
 * after a call instruction, the guess debuggers make. At a leaf the word at
 * the stack pointer itself is taken; further up a saved register may come
 * first, so a few words are tried.
 */
static bool scan_step(struct sym_unwinder *uw, struct uw_req *r)
{
	uint64_t ret = 0, at = 0, w;
	int i;

	if (!r->has_sp)
		return false;
	for (i = 0; i < UW_SCAN_WORDS && !at; i++) {
		if (read_word(uw, r->sp + ARCH_PTR_SIZE * (uint64_t)i, &w) && w &&
		    in_module(uw, w - 1) && follows_call(uw, w)) {
			ret = w;
			at = r->sp + ARCH_PTR_SIZE * (uint64_t)i;
		}
	}
	if (!at)
		return false;
	r->out[r->n++] = ret;
	r->regs[ARCH_DWARF_PC] = ret;
	r->regs[ARCH_DWARF_SP] = arch_caller_sp(at);
	r->valid =
	        1u << ARCH_DWARF_PC | 1u << ARCH_DWARF_SP | (r->has_fp ? 1u << ARCH_DWARF_FP : 0);
	r->regs[ARCH_DWARF_FP] = r->fp;
	r->pc = ret;
	r->sp = arch_caller_sp(at);
	return true;
}

/* unwind - run the request: CFI where there is some, else the frame-pointer chain or a stack scan
 */
static size_t unwind(struct sym_unwinder *uw, struct uw_req *r)
{
	uw->req = r;
	uw->stats.backtraces++;
	if (!uw->hold)
		uw->nlines = uw->next_line = 0;
	while (uw->fp_only && r->n < r->max && fp_step(uw, r))
		;
	while (!uw->fp_only && r->n < r->max) {
		int rc;

		r->initial = true;
		rc = dwfl_getthread_frames(uw->dwfl, UW_TID, uw_frame, uw);
		/* 0: the outermost frame (CFI says the pc is undefined); 1: we stopped */
		if (rc != -1 || r->n >= r->max || !(fp_step(uw, r) || scan_step(uw, r)))
			break;
		r->stop = false;
	}
	uw->req = NULL;
	uw->stats.frames += r->n;
	return r->n;
}

void sym_unwinder_hold_memory(struct sym_unwinder *uw, bool hold)
{
	/* What an earlier backtrace read is not held: the thread ran since. */
	uw->hold = hold;
	uw->nlines = uw->next_line = 0;
}

bool sym_unwinder_read(struct sym_unwinder *uw, const struct sym_mem *mem, uint64_t addr,
                       uint64_t *out)
{
	struct uw_req req = { .mem = mem };
	bool ok;

	if (!uw->hold)
		uw->nlines = uw->next_line = 0;
	uw->req = &req;
	ok = read_word(uw, addr, out);
	uw->req = NULL;
	return ok;
}

size_t sym_unwinder_backtrace(struct sym_unwinder *uw, const uint64_t regs[SYM_UNWIND_NREGS],
                              const struct sym_mem *mem, uint64_t *out, size_t max)
{
	struct uw_req req = { .mem = mem, .out = out, .max = max };

	memcpy(req.regs, regs, sizeof(req.regs));
	req.valid = (1u << SYM_UNWIND_NREGS) - 1;
	req.pc = regs[ARCH_DWARF_PC];
	req.sp = regs[ARCH_DWARF_SP];
	req.fp = regs[ARCH_DWARF_FP];
	req.has_sp = req.has_fp = true;
	return unwind(uw, &req);
}

static Elf *arch_elf(Elf64_Ehdr *h)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->e_ident, ELFMAG, SELFMAG);
	h->e_ident[EI_CLASS] = ELFCLASS64;
	h->e_ident[EI_DATA] = ELFDATA2LSB;
	h->e_ident[EI_VERSION] = EV_CURRENT;
	h->e_type = ET_EXEC;
	h->e_machine = ARCH_ELF_MACHINE;
	h->e_version = EV_CURRENT;
	h->e_ehsize = sizeof(*h);
	return elf_memory((char *)h, sizeof(*h));
}

struct sym_unwinder *sym_unwinder_new(struct err *e)
{
	struct sym_unwinder *uw = xcalloc(1, sizeof(*uw));

	sym_libelf_init();
	uw->arch_elf = arch_elf(&uw->arch_ehdr);
	uw->dwfl = dwfl_begin(&uw_callbacks);
	if (!uw->arch_elf || !uw->dwfl ||
	    !dwfl_attach_state(uw->dwfl, uw->arch_elf, UW_TID, &uw_thread_callbacks, uw)) {
		err_set(e, ERR_INTERNAL, "cannot set up the unwinder: %s", dwfl_errmsg(-1));
		sym_unwinder_free(uw);
		return NULL;
	}
	return uw;
}

static void module_free(struct uw_module *m)
{
	sym_image_free(m->img);
	free(m->name);
	free(m);
}

void sym_unwinder_free(struct sym_unwinder *uw)
{
	struct uw_module **m;

	if (!uw)
		return;
	/* libdwfl ends its ELF handles before the images they point into go */
	if (uw->dwfl)
		dwfl_end(uw->dwfl);
	vec_foreach (&uw->mods, m)
		module_free(*m);
	vec_free(&uw->mods);
	if (uw->arch_elf)
		elf_end(uw->arch_elf);
	free(uw);
}

/*
 * libdwfl computes a module's bias as its start minus the page-aligned
 * p_vaddr of the first PT_LOAD, so that is the start to report.
 */
static int module_range(struct sym_image *img, uint64_t bias, uint64_t *lo, uint64_t *hi)
{
	const struct sym_segment *segs;
	uint64_t first, align, elo;
	size_t n;

	segs = sym_image_segments(img, &n);
	if (!n || sym_image_extent(img, &elo, hi) < 0)
		return -1;
	align = segs[0].align > 1 ? segs[0].align : 1;
	first = segs[0].vaddr & ~(align - 1);
	*lo = bias + first;
	*hi += bias;
	return 0;
}

static struct uw_module *module_at(struct sym_unwinder *uw, uint64_t addr, size_t *index)
{
	for (size_t i = 0; i < uw->mods.len; i++) {
		struct uw_module *m = uw->mods.data[i];

		if (addr >= m->lo && addr < m->hi) {
			if (index)
				*index = i;
			return m;
		}
	}
	return NULL;
}

static bool overlaps(struct sym_unwinder *uw, uint64_t lo, uint64_t hi)
{
	struct uw_module **m;

	vec_foreach (&uw->mods, m)
		if (lo < (*m)->hi && (*m)->lo < hi)
			return true;
	return false;
}

/* Re-report the modules we keep: libdwfl drops the others, keeping the kept ones' caches. */
static int rereport(struct sym_unwinder *uw)
{
	struct uw_module **m;

	dwfl_report_begin(uw->dwfl);
	vec_foreach (&uw->mods, m)
		dwfl_report_module(uw->dwfl, (*m)->name, (*m)->lo, (*m)->hi);
	return dwfl_report_end(uw->dwfl, NULL, NULL);
}

int sym_unwinder_add(struct sym_unwinder *uw, struct sym_image *img, uint64_t bias, struct err *e)
{
	struct uw_module *m;
	Dwarf_Addr got_bias;
	void **userdata;
	uint64_t lo, hi;

	if (module_range(img, bias, &lo, &hi) < 0)
		return err_set(e, ERR_INPUT, "%s: no loadable segment", sym_image_path(img));
	if (overlaps(uw, lo, hi))
		return err_set(e, ERR_INTERNAL, "%s: overlaps a loaded module at 0x%" PRIx64,
		               sym_image_path(img), lo);
	m = xcalloc(1, sizeof(*m));
	m->img = sym_image_ref(img);
	m->bias = bias;
	m->lo = lo;
	m->hi = hi;
	m->name = xasprintf("%s@0x%" PRIx64, sym_image_path(img), bias);
	dwfl_report_begin_add(uw->dwfl);
	m->mod = dwfl_report_module(uw->dwfl, m->name, lo, hi);
	if (m->mod) {
		dwfl_module_info(m->mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL);
		*userdata = m;
	}
	dwfl_report_end(uw->dwfl, NULL, NULL);
	vec_push(&uw->mods, m);
	/* open it now: a bias libdwfl disagrees with would give wrong CFI silently */
	if (!m->mod || !dwfl_module_getelf(m->mod, &got_bias) || got_bias != bias) {
		err_set(e, ERR_INTERNAL, "%s: unwinder cannot use the module: %s",
		        sym_image_path(img), m->mod ? dwfl_errmsg(-1) : "not reported");
		sym_unwinder_remove(uw, lo);
		return -1;
	}
	return 0;
}

int sym_unwinder_remove(struct sym_unwinder *uw, uint64_t addr)
{
	struct uw_module *m;
	size_t i;

	uw->row.mod = NULL;
	m = module_at(uw, addr, &i);
	if (!m)
		return -1;
	memmove(&uw->mods.data[i], &uw->mods.data[i + 1],
	        (uw->mods.len - i - 1) * sizeof(*uw->mods.data));
	uw->mods.len--;
	rereport(uw);
	module_free(m);
	return 0;
}

void sym_unwinder_fp_only(struct sym_unwinder *uw, bool on)
{
	uw->fp_only = on;
}

void sym_unwinder_stats(const struct sym_unwinder *uw, struct sym_unwind_stats *out)
{
	*out = uw->stats;
}

/* cfa_rule - is the rule ops (n of them) "saved at CFA + off" (value: "is CFA + off")? */
static bool cfa_rule(const Dwarf_Op *ops, size_t n, bool value, int64_t *off)
{
	if (n < 1 || ops[0].atom != DW_OP_call_frame_cfa)
		return false;
	*off = 0;
	if (n > 1 && ops[1].atom == DW_OP_plus_uconst) {
		*off = (int64_t)ops[1].number;
		ops++;
		n--;
	}
	return value ? n == 2 && ops[1].atom == DW_OP_stack_value : n == 1;
}

/* cfa_off - is the CFA, as ops (n of them) computes it, register reg plus *off? */
static bool cfa_off(const Dwarf_Op *ops, size_t n, unsigned reg, int64_t *off)
{
	if (n != 1 || ops[0].atom != DW_OP_bregx || ops[0].number != reg)
		return false;
	*off = (int64_t)ops[0].number2;
	return true;
}

/*
 * fp_rule - r->fp and r->fp_at from the frame pointer's rule (ops, n of
 * them, in mem: undefined): unchanged, saved at a fixed place from the
 * CFA, or lost; false for a rule the walk cannot follow and that could
 * still matter (a value computed from other registers)
 */
static bool fp_rule(const Dwarf_Op *ops, const Dwarf_Op *mem, size_t n, struct sym_frame_rule *r)
{
	int64_t off;

	if (!n) {
		r->fp = ops == mem ? SYM_FP_LOST : SYM_FP_SAME;
		return true;
	}
	if (!cfa_rule(ops, n, false, &off))
		return false;
	r->fp = SYM_FP_SAVED;
	r->fp_at = off;
	return true;
}

/*
 * frame_rule - is f a frame unwound the same on any stack from the stack
 * pointer and the frame pointer alone (*r: how)? Its CFA is the stack
 * pointer plus a constant, or the frame pointer plus twice a pointer
 * with the caller's frame pointer saved at the frame pointer (the frame
 * a frame-pointer prologue makes); the return address is saved just
 * below the CFA, the caller's sp is the CFA, and every other register is
 * unchanged, undefined or saved at a fixed place from the CFA (so that no
 * word read moves the frames). Or it is the outermost frame: its return
 * address undefined. No signal frame.
 */
static bool frame_rule(Dwarf_Frame *f, struct sym_frame_rule *r)
{
	Dwarf_Op mem[3], *ops, *cfa;
	size_t n, ncfa;
	bool signal;
	int64_t off, size;

	memset(r, 0, sizeof(*r));
	if (dwarf_frame_info(f, NULL, NULL, &signal) != ARCH_DWARF_PC || signal ||
	    dwarf_frame_cfa(f, &cfa, &ncfa))
		return false;
	if (dwarf_frame_register(f, ARCH_DWARF_PC, mem, &ops, &n))
		return false;
	if (!n && ops == mem) {
		r->kind = SYM_FRAME_END;
		return true;
	}
	if (cfa_off(cfa, ncfa, ARCH_DWARF_SP, &size) && size >= (int64_t)ARCH_PTR_SIZE) {
		r->kind = SYM_FRAME_SP;
		r->size = (uint64_t)size;
	} else if (cfa_off(cfa, ncfa, ARCH_DWARF_FP, &size) && size == 2 * ARCH_PTR_SIZE) {
		r->kind = SYM_FRAME_FP;
	} else {
		return false;
	}
	for (int reg = 0; reg < ARCH_DWARF_NREGS; reg++) {
		if (dwarf_frame_register(f, reg, mem, &ops, &n))
			return false;
		if (reg == ARCH_DWARF_PC) {
			if (!cfa_rule(ops, n, false, &off) || off != -(int64_t)ARCH_PTR_SIZE)
				return false;
		} else if (reg == ARCH_DWARF_SP) {
			if (!cfa_rule(ops, n, true, &off) || off)
				return false;
		} else if (reg == ARCH_DWARF_FP) {
			if (!fp_rule(ops, mem, n, r))
				return false;
		} else if (n && !cfa_rule(ops, n, false, &off)) {
			return false;
		}
	}
	/* A frame-pointer frame: its caller's frame pointer is where the frame pointer points. */
	return r->kind != SYM_FRAME_FP ||
	       (r->fp == SYM_FP_SAVED && r->fp_at == -2 * (int64_t)ARCH_PTR_SIZE);
}

int sym_unwinder_frame_rule(struct sym_unwinder *uw, uint64_t pc, bool first,
                            struct sym_frame_rule *rule)
{
	/* as libdwfl looks a frame up: a return address's by its call instruction */
	uint64_t at = first ? pc : pc - 1;
	Dwfl_Module *mod = dwfl_addrmodule(uw->dwfl, at);
	Dwarf_Addr bias, lo, hi;
	Dwarf_CFI *cfi = mod ? dwfl_module_eh_cfi(mod, &bias) : NULL;
	Dwarf_Frame *f;

	if (!cfi)
		return -1;
	/* the calls of a function are mostly in one row (its CFA set once) */
	if (uw->row.mod != mod || at < uw->row.lo || at >= uw->row.hi) {
		if (dwarf_cfi_addrframe(cfi, at - bias, &f))
			return -1;
		dwarf_frame_info(f, &lo, &hi, NULL);
		uw->row.mod = mod;
		uw->row.lo = lo + bias;
		uw->row.hi = hi + bias;
		uw->row.ok = frame_rule(f, &uw->row.rule);
		free(f);
	}
	*rule = uw->row.rule;
	return uw->row.ok ? 0 : -1;
}

/*
 * rows_key - what m's rows are made of: its build id (its .eh_frame when
 * it has none: 400 KiB for Python, the id 20 bytes), its table of FDEs
 * and where the sections and m's extent are from its load address
 */
static uint64_t rows_key(const struct uw_module *m)
{
	const struct sym_fde_table *tb = &m->fdes;
	size_t id_len = 0;
	const uint8_t *id = sym_image_build_id(m->img, &id_len);
	uint64_t k = hash_u64(m->hi - m->bias, hash_u64(m->lo - m->bias, tb->eh_sh.sh_addr));

	k = hash_bytes(tb->table, tb->n * 8, hash_u64(tb->hdr_addr, k));
	return id_len ? hash_bytes(id, id_len, k) : hash_bytes(tb->eh->d_buf, tb->eh->d_size, k);
}

/* fdes - m's table of FDEs, opened at the first use; NULL if it has none */
static const struct sym_fde_table *fdes(struct uw_module *m)
{
	if (!m->fdes_tried) {
		m->fdes_tried = true;
		m->has_fdes = sym_fde_table_open(m->img->main.elf, &m->fdes);
		if (m->has_fdes)
			m->rows_key = rows_key(m);
	}
	return m->has_fdes ? &m->fdes : NULL;
}

int sym_unwinder_code_before(struct sym_unwinder *uw, uint64_t addr, uint64_t *start, uint64_t *end)
{
	struct uw_module *m = module_at(uw, addr, NULL);
	const struct sym_fde_table *tb = m ? fdes(m) : NULL;

	if (!tb || !sym_fde_table_before(tb, addr - m->bias, start, end))
		return -1;
	*start += m->bias;
	*end += m->bias;
	return 0;
}

int sym_unwinder_frame_rows(struct sym_unwinder *uw, uint64_t addr, struct sym_rows_cursor *cur,
                            size_t max, sym_frame_row_fn fn, void *arg)
{
	struct uw_module *m = module_at(uw, addr, NULL);
	const struct sym_fde_table *tb = m ? fdes(m) : NULL;

	if (!tb)
		return -1;
	cur->lo = m->lo;
	cur->hi = m->hi;
	cur->key = m->rows_key;
	cur->n_fdes = tb->n;
	return sym_fde_table_rows(tb, m->bias, &cur->next_fde, max, fn, arg);
}
