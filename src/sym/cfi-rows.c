/*
 * Every CFI row of a binary at once, each with its frame rule
 * (sym_frame_rule, unwind.h): for the stack walk at scope entries, which
 * looks rules up by address in the program instead of stopping it to ask
 * libdwfl. libdw answers one address at a time, interpreting the FDE
 * from its start each time (14 ms for Python's 61,000 rows); this reads
 * each FDE's instructions once. It gives what libdw's rows say, as
 * sym_unwinder_frame_rule() reads them (test_frame_rows checks every row
 * of libc against it), and no rule where it is unsure: an instruction it
 * does not know ends the FDE's rules there, as an error does libdw's.
 *
 * The state before a CIE's instructions is the ABI's, as elfutils'
 * x86-64 backend gives it (x86_64_abi_cfi): the callee-saved registers
 * and the return address the same, the stack pointer the CFA, the rest
 * undefined, and no CFA until the CIE says.
 */
#include <dwarf.h>
#include <string.h>

#include "arch/arch.h"
#include "sym/internal.h"
#include "sym/unwind.h"

#define MAX_STATES 8 /* DW_CFA_remember_state nesting */
#define MAX_CIES   16

enum reg_kind { REG_UNDEF, REG_SAME, REG_OFFSET, REG_VAL_OFFSET, REG_OTHER };

struct reg_rule {
	int32_t kind;
	int32_t off; /* from the CFA, for REG_OFFSET and REG_VAL_OFFSET */
};

struct row_state {
	enum {
		CFA_UNDEF,
		CFA_REG,
		CFA_EXPR
	} cfa; /* the CFA's rule: none yet, a register + offset */
	uint64_t cfa_reg;
	int64_t cfa_off;
	uint32_t unwalkable; /* bit i: reg[i] has a rule no walk can follow (set_reg) */
	struct reg_rule reg[ARCH_DWARF_NREGS];
};

struct cie_info {
	Dwarf_Off off;
	Dwarf_CIE cie;
	uint8_t enc;
	bool ok; /* a CIE whose FDEs can have rules (not a signal frame's, return address in rip) */
	struct row_state init;
};

/* One FDE's interpretation. */
struct interp {
	const struct cie_info *ci;
	struct row_state s, stack[MAX_STATES];
	int depth;
	uint64_t loc, end;
	sym_frame_row_fn fn;
	void *arg;
	int rc;
};

static bool uleb(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	int shift = 0;

	*v = 0;
	while (*p < end && shift < 64) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
		shift += 7;
	}
	return false;
}

static bool sleb(const uint8_t **p, const uint8_t *end, int64_t *v)
{
	int shift = 0;
	uint64_t u = 0;

	while (*p < end && shift < 64) {
		uint8_t b = *(*p)++;

		u |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80)) {
			if (shift < 64 && (b & 0x40))
				u |= ~(uint64_t)0 << shift;
			*v = (int64_t)u;
			return true;
		}
	}
	return false;
}

static void abi_state(struct row_state *s)
{
	static const int same[] = { 0, ARCH_DWARF_FP, 12, 13, 14, 15, ARCH_DWARF_PC };

	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		s->reg[same[i]].kind = REG_SAME;
	s->reg[ARCH_DWARF_SP].kind = REG_VAL_OFFSET;
}

/* rule_of - the rule of a row in state s, as frame_rule() in unwind.c reads libdw's; false: none */
static bool rule_of(const struct row_state *s, struct sym_frame_rule *r)
{
	const struct reg_rule *fp = &s->reg[ARCH_DWARF_FP], *pc = &s->reg[ARCH_DWARF_PC];

	memset(r, 0, sizeof(*r));
	if (s->cfa == CFA_UNDEF)
		return false;
	if (pc->kind == REG_UNDEF) {
		r->kind = SYM_FRAME_END;
		return true;
	}
	if (s->cfa == CFA_EXPR)
		return false;
	if (s->cfa_reg == ARCH_DWARF_SP && s->cfa_off >= (int64_t)ARCH_PTR_SIZE) {
		r->kind = SYM_FRAME_SP;
		r->size = (uint64_t)s->cfa_off;
	} else if (s->cfa_reg == ARCH_DWARF_FP && s->cfa_off == 2 * (int64_t)ARCH_PTR_SIZE) {
		r->kind = SYM_FRAME_FP;
	} else {
		return false;
	}
	if (pc->kind != REG_OFFSET || pc->off != -(int64_t)ARCH_PTR_SIZE || s->unwalkable ||
	    s->reg[ARCH_DWARF_SP].kind != REG_VAL_OFFSET || s->reg[ARCH_DWARF_SP].off)
		return false;
	r->fp = fp->kind == REG_UNDEF  ? SYM_FP_LOST
	        : fp->kind == REG_SAME ? SYM_FP_SAME
	                               : SYM_FP_SAVED;
	r->fp_at = fp->kind == REG_OFFSET ? fp->off : 0;
	return r->kind != SYM_FRAME_FP ||
	       (r->fp == SYM_FP_SAVED && r->fp_at == -2 * (int64_t)ARCH_PTR_SIZE);
}

/* emit - the row [loc, to) in the current state */
static int emit(struct interp *in, uint64_t to, bool known)
{
	struct sym_frame_rule r;

	if (to > in->end)
		to = in->end;
	if (to <= in->loc)
		return 0;
	known = known && in->ci->ok && rule_of(&in->s, &r);
	in->rc = in->fn(in->arg, in->loc, to, known ? &r : NULL);
	in->loc = to;
	return in->rc;
}

/* set_rule - reg's rule, and whether the walk can follow it (the stack pointer's is the CFA) */
static void set_rule(struct row_state *s, uint64_t reg, struct reg_rule r)
{
	bool bad = r.kind == REG_OTHER || (r.kind == REG_VAL_OFFSET && reg != ARCH_DWARF_SP);

	s->reg[reg] = r;
	s->unwalkable = (s->unwalkable & ~(1u << reg)) | (uint32_t)bad << reg;
}

static void set_reg(struct row_state *s, uint64_t reg, int32_t kind, int64_t off)
{
	/* an offset beyond 2 GiB: no rule (never written by a compiler) */
	if (reg < ARCH_DWARF_NREGS)
		set_rule(s, reg,
		         off == (int32_t)off ? (struct reg_rule){ kind, (int32_t)off }
		                             : (struct reg_rule){ REG_OTHER, 0 });
}

/* skip_block - past a DW_FORM_block operand (an expression) */
static bool skip_block(const uint8_t **p, const uint8_t *end)
{
	uint64_t n;

	if (!uleb(p, end, &n) || n > (uint64_t)(end - *p))
		return false;
	*p += n;
	return true;
}

/*
 * step - run the instruction at *p (init: the CIE's own, where
 * restore is not allowed); false for one not understood
 */
static bool step(struct interp *in, const uint8_t **p, const uint8_t *end, bool init)
{
	const Dwarf_CIE *cie = &in->ci->cie;
	struct row_state *s = &in->s;
	uint8_t op = *(*p)++;
	uint64_t reg, u, delta = 0;
	int64_t off;

	switch (op & 0xc0) {
	case DW_CFA_advance_loc:
		delta = (op & 0x3f) * cie->code_alignment_factor;
		return init ? false : (emit(in, in->loc + delta, true), true);
	case DW_CFA_offset:
		if (!uleb(p, end, &u))
			return false;
		set_reg(s, op & 0x3f, REG_OFFSET, (int64_t)u * cie->data_alignment_factor);
		return true;
	case DW_CFA_restore:
		if (init)
			return false;
		if ((op & 0x3f) < ARCH_DWARF_NREGS)
			set_rule(s, op & 0x3f, in->ci->init.reg[op & 0x3f]);
		return true;
	default:
		break;
	}
	switch (op) {
	case DW_CFA_nop:
	case DW_CFA_GNU_args_size:
		return op == DW_CFA_nop || uleb(p, end, &u);
	case DW_CFA_advance_loc1:
	case DW_CFA_advance_loc2:
	case DW_CFA_advance_loc4: {
		size_t n = op == DW_CFA_advance_loc1 ? 1 : op == DW_CFA_advance_loc2 ? 2 : 4;

		if (init || (size_t)(end - *p) < n)
			return false;
		memcpy(&delta, *p, n); /* little-endian host and target */
		*p += n;
		emit(in, in->loc + delta * cie->code_alignment_factor, true);
		return true;
	}
	case DW_CFA_offset_extended:
	case DW_CFA_val_offset:
	case DW_CFA_GNU_negative_offset_extended:
		if (!uleb(p, end, &reg) || !uleb(p, end, &u))
			return false;
		off = (int64_t)u * cie->data_alignment_factor;
		set_reg(s, reg, op == DW_CFA_val_offset ? REG_VAL_OFFSET : REG_OFFSET,
		        op == DW_CFA_GNU_negative_offset_extended ? -off : off);
		return true;
	case DW_CFA_offset_extended_sf:
	case DW_CFA_val_offset_sf:
		if (!uleb(p, end, &reg) || !sleb(p, end, &off))
			return false;
		set_reg(s, reg, op == DW_CFA_val_offset_sf ? REG_VAL_OFFSET : REG_OFFSET,
		        off * cie->data_alignment_factor);
		return true;
	case DW_CFA_restore_extended:
		if (init || !uleb(p, end, &reg))
			return false;
		if (reg < ARCH_DWARF_NREGS)
			set_rule(s, reg, in->ci->init.reg[reg]);
		return true;
	case DW_CFA_undefined:
	case DW_CFA_same_value:
		if (!uleb(p, end, &reg))
			return false;
		set_reg(s, reg, op == DW_CFA_undefined ? REG_UNDEF : REG_SAME, 0);
		return true;
	case DW_CFA_register:
		if (!uleb(p, end, &reg) || !uleb(p, end, &u))
			return false;
		set_reg(s, reg, REG_OTHER, 0);
		return true;
	case DW_CFA_expression:
	case DW_CFA_val_expression:
		if (!uleb(p, end, &reg) || !skip_block(p, end))
			return false;
		set_reg(s, reg, REG_OTHER, 0);
		return true;
	case DW_CFA_remember_state:
		if (in->depth == MAX_STATES)
			return false;
		in->stack[in->depth++] = *s;
		return true;
	case DW_CFA_restore_state:
		if (!in->depth)
			return false;
		*s = in->stack[--in->depth];
		return true;
	case DW_CFA_def_cfa:
	case DW_CFA_def_cfa_sf:
		if (!uleb(p, end, &reg))
			return false;
		if (op == DW_CFA_def_cfa ? !uleb(p, end, &u) : !sleb(p, end, &off))
			return false;
		s->cfa = CFA_REG;
		s->cfa_reg = reg;
		s->cfa_off = op == DW_CFA_def_cfa ? (int64_t)u : off * cie->data_alignment_factor;
		return true;
	case DW_CFA_def_cfa_register:
		if (s->cfa != CFA_REG || !uleb(p, end, &reg))
			return false;
		s->cfa_reg = reg;
		return true;
	case DW_CFA_def_cfa_offset:
		if (s->cfa != CFA_REG || !uleb(p, end, &u))
			return false;
		s->cfa_off = (int64_t)u;
		return true;
	case DW_CFA_def_cfa_offset_sf:
		if (s->cfa != CFA_REG || !sleb(p, end, &off))
			return false;
		s->cfa_off = off * cie->data_alignment_factor;
		return true;
	case DW_CFA_def_cfa_expression:
		if (!skip_block(p, end))
			return false;
		s->cfa = CFA_EXPR;
		return true;
	default:
		return false; /* DW_CFA_set_loc among them: toolchains do not write it for x86-64 */
	}
}

/* cie_info - the CIE at off, interpreted once (in cache, n of them) */
static const struct cie_info *cie_info(const struct sym_fde_table *tb, Dwarf_Off off,
                                       struct cie_info *cache, size_t *n)
{
	struct cie_info *ci;
	struct interp in;
	const uint8_t *p;

	/* most FDEs share their CIE with the FDE before */
	for (size_t i = *n; i-- > 0;)
		if (cache[i].off == off)
			return &cache[i];
	if (*n == MAX_CIES)
		return NULL;
	ci = &cache[*n];
	memset(ci, 0, sizeof(*ci));
	ci->off = off;
	if (!sym_fde_table_cie(tb, off, &ci->cie, &ci->enc))
		return NULL;
	(*n)++;
	/* zeroed only here, not for every FDE that finds its CIE cached: 1.5 KiB of states */
	memset(&in, 0, sizeof(in));
	in.ci = ci;
	abi_state(&in.s);
	p = ci->cie.initial_instructions;
	while (p && p < ci->cie.initial_instructions_end)
		if (!step(&in, &p, ci->cie.initial_instructions_end, true))
			return ci; /* ok stays false: no rule for its FDEs */
	ci->init = in.s;
	ci->ok = ci->cie.return_address_register == ARCH_DWARF_PC && !in.depth &&
	         !strchr(ci->cie.augmentation, 'S');
	return ci;
}

/* fde_rows - the rows of fde in [start, end) */
static int fde_rows(const struct cie_info *ci, const Dwarf_FDE *fde, const uint8_t *p,
                    uint64_t start, uint64_t end, sym_frame_row_fn fn, void *arg)
{
	struct interp in;
	uint64_t n;
	bool ok = true;

	/* not zeroed whole: the states' stack is most of it, and rarely used */
	in.ci = ci;
	in.s = ci->init;
	in.depth = 0;
	in.loc = start;
	in.end = end;
	in.fn = fn;
	in.arg = arg;
	in.rc = 0;
	if (ci->cie.augmentation[0] == 'z')
		ok = uleb(&p, fde->end, &n) && n <= (uint64_t)(fde->end - p) && (p += n, true);
	else
		p += ci->cie.fde_augmentation_data_size;
	while (ok && !in.rc && p < fde->end && in.loc < end)
		ok = step(&in, &p, fde->end, false);
	if (in.rc)
		return in.rc;
	return emit(&in, end, ok);
}

/* One FDE of the table, read. */
struct fde_at {
	const struct cie_info *ci; /* NULL: none, or not readable */
	Dwarf_FDE fde;
	uint64_t start, end;
	const uint8_t *after;
};

static void read_fde(const struct sym_fde_table *tb, size_t i, struct cie_info *cies, size_t *ncies,
                     struct fde_at *f)
{
	memset(f, 0, sizeof(*f));
	if (i >= tb->n || !sym_fde_table_fde(tb, i, &f->fde))
		return;
	f->ci = cie_info(tb, f->fde.CIE_pointer, cies, ncies);
	if (f->ci && !sym_fde_table_bounds(tb, &f->fde, f->ci->enc, &f->start, &f->end, &f->after))
		f->ci = NULL;
}

int sym_fde_table_rows(const struct sym_fde_table *tb, uint64_t bias, size_t *next_fde, size_t max,
                       sym_frame_row_fn fn, void *arg)
{
	struct cie_info cies[MAX_CIES];
	size_t ncies = 0, i = *next_fde, end = max < tb->n - i ? i + max : tb->n;
	struct fde_at cur, next;

	if (i < end)
		read_fde(tb, i, cies, &ncies, &next);
	for (; i < end; i++) {
		cur = next;
		read_fde(tb, i + 1, cies, &ncies, &next);
		/* libdw's lookup takes the last FDE that starts at or below an address */
		if (next.ci && next.start < cur.end)
			cur.end = next.start;
		if (cur.ci && cur.start < cur.end &&
		    fde_rows(cur.ci, &cur.fde, cur.after, cur.start + bias, cur.end + bias, fn,
		             arg))
			return -1;
	}
	*next_fde = i;
	return i < tb->n;
}
