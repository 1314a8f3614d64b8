/*
 * The code cache: translating the program's basic blocks, linking their
 * exits, finding them again by application or cache address.
 *
 * A block is straight-line code up to the first control transfer (or a
 * system call, or an instruction the cache cannot run, or an address the
 * tracer must see). Its translation:
 *
 *	slots      one 8-byte jump target per exit, the return address of a call
 *	misses     one int3 per exit: where a slot leads until its target exists
 *	head       int3 if the tracer wants to see the block entered (sync)
 *	entry      the ring record: the block's id
 *	body       each instruction copied (pc-relative displacement adjusted),
 *	           a stack pointer record after each that sets it from run-time values
 *	terminator its replacement: jumps through the slots, a call pushing the
 *	           real return address, the shared lookup for indirect targets
 *
 * Exits always go through their slot (an 8-byte store redirects them, no
 * code is ever patched), and every block is entered in the lookup table
 * so indirect branches find it without the tracer.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "trace/dbt/dbt.h"
#include "util/log.h"

/*
 * Blocks translated ahead of need on a miss: few at first, as a narrowed
 * trace runs little code in the cache and most blocks ahead of its first
 * misses never run (Python's PyDict_New scope: 168 translations, 1.2 ms
 * of the tracer's time, with 40 from the start); more as the program shows
 * it runs much new code (a full trace: thousands of misses fewer). None
 * in the callees of calls past the depth limit, which run natively.
 */
#define AHEAD_MIN  16
#define AHEAD_MAX  40
#define AHEAD_STEP 16 /* blocks translated for each one more ahead */
/*
 * At a scope's first entry, more of what the scope records, so that its
 * first calls do not stop at a miss each (Python's PyDict_New scope at
 * depth 2: 66 blocks at once and no miss, instead of 78 blocks, 4 of the
 * misses in _PyObject_GC_New).
 */
#define AHEAD_SCOPE 64
#define AHEAD_QUEUE (AHEAD_SCOPE * 2 + 2)

/* The system calls whose effects the tracer must see: they go through a hypercall. */
static const int special_syscalls[] = {
	SYS_rt_sigreturn,  SYS_mmap,       SYS_mprotect, SYS_munmap, SYS_mremap,
	SYS_pkey_mprotect, SYS_arch_prctl, SYS_shmat,    SYS_shmdt,
};

struct dbt_waits {
	VEC(struct dbt_link) links;
};

/* is_sync - must the tracer see the block starting here entered? (scopes, its own hooks) */
static bool is_sync(struct dbt *d, uint64_t addr)
{
	struct bp *bp = tracee_bp_at(d->t, addr);

	return (bp && (bp->internal || bp->scopes)) || core_is_scope_entry(d->t->core, addr);
}

static bool code_ok(const struct dbt_map *m)
{
	/* Writable or shared code may change behind the cache's back: step it instead. */
	return m && m->r && m->x && !m->w && !m->shared;
}

/* page - the code of a page, read once (translations reread nothing) */
static const uint8_t *page(struct dbt *d, uint64_t at)
{
	uint8_t *p = hashmap_get(&d->pages, at);

	if (p)
		return p;
	p = xmalloc(DBT_PAGE);
	if (tracee_read_partial(d->t, at, p, DBT_PAGE) != DBT_PAGE) {
		free(p);
		return NULL;
	}
	hashmap_put(&d->pages, at, p);
	return p;
}

/* code - copy up to len bytes of code at addr, within one mapping; returns how many */
static size_t code(struct dbt *d, uint64_t addr, const struct dbt_map *m, uint8_t *buf, size_t len)
{
	size_t got = 0;

	if (len > m->hi - addr)
		len = m->hi - addr;
	while (got < len) {
		uint64_t at = (addr + got) & ~(uint64_t)(DBT_PAGE - 1), off = addr + got - at;
		const uint8_t *p = page(d, at);
		size_t n = DBT_PAGE - off < len - got ? DBT_PAGE - off : len - got;

		if (!p)
			break;
		memcpy(buf + got, p + off, n);
		got += n;
	}
	return got;
}

/* decode - the instructions of the block at addr (0: the first cannot be translated) */
static uint32_t decode(struct dbt *d, uint64_t addr, struct dbt_insn *out)
{
	const struct dbt_map *m = dbt_maps_find(d, addr);
	uint8_t buf[1024];
	uint64_t cur = addr;
	size_t got;
	uint32_t n = 0;

	if (!code_ok(m))
		return 0;
	got = code(d, addr, m, buf, sizeof(buf));
	while (n < DBT_BLOCK_MAX) {
		size_t at = cur - addr;

		if (n && is_sync(d, cur))
			break;
		/* An instruction may run past the window: end the block, the next one reads on. */
		if (n && got - at < ARCH_MAX_INSN_LEN && got == sizeof(buf))
			break;
		if (at >= got)
			break;
		if (arch_dbt_analyze(cur, buf + at, got - at, &out[n]) ||
		    out[n].flow == DBT_FLOW_STEP)
			break;
		cur += out[n].a.len;
		if (out[n++].flow != DBT_FLOW_NEXT)
			break;
	}
	return n;
}

/* key - where the translation of addr is filed (unrec: the unrecorded one) */
static uint64_t key(uint64_t addr, bool unrec)
{
	return unrec ? addr | DBT_FREE_KEY : addr;
}

/*
 * enters_free - does b's call, once over budget, enter its callee
 * unrecorded? Not a call of the next instruction, which reads the pc
 * (the core opens no frame for it): that one stops as before.
 */
static bool enters_free(const struct dbt_block *b)
{
	const struct dbt_insn *t = &b->insns[b->n - 1];

	return !b->free && (t->flow == DBT_FLOW_CALL_IND ||
	                    (t->flow == DBT_FLOW_CALL && t->target != t->a.addr + t->a.len));
}

/*
 * scope_budget - the call budget of a thread entering the scope b starts,
 * if b is unrecorded and threads between scopes enter it without a stop
 * (arch_dbt_emit_scope_entry); -1 otherwise
 */
static int64_t scope_budget(struct dbt *d, const struct dbt_block *b)
{
	return b->free ? core_scope_entry_budget(d->t->core, b->addr) : -1;
}

static int n_exits(const struct dbt_block *b)
{
	const struct dbt_insn *term = &b->insns[b->n - 1];

	switch (term->flow) {
	case DBT_FLOW_JCC:
		return 2;
	case DBT_FLOW_CALL:
		return enters_free(b) ? 2 : 1; /* the callee, and its unrecorded translation */
	case DBT_FLOW_CALL_IND:
	case DBT_FLOW_JMP_IND:
	case DBT_FLOW_RET:
		return 0;
	default:
		return 1;
	}
}

/* The layout of a block's exits while it is emitted. */
struct exits {
	uint64_t slot[3], miss[3], target[3];
	bool free[3], past_sync[3];
	int n;
	int scope_exit; /* the exit of a scope's entry code into the recorded translation, or -1 */
	int64_t scope_budget; /* scope_budget() of the block */
	uint64_t retslot;     /* CALL: the return address */
	uint64_t pad;         /* CALL, SYSCALL: unspill, then the hypercall at pad_int3 */
	uint64_t pad_int3;
	/* a call that may enter its callee unrecorded: see emit_data */
	uint64_t pad_slot, pad_free;
};

static void exit_to(struct dbt_code *c, const struct dbt_block *b, struct exits *x, uint64_t target)
{
	x->target[x->n] = target;
	x->free[x->n] = b->free;
	arch_dbt_emit_jmp_slot(c, x->slot[x->n++]);
}

/* emit_terminator - the code of b's last instruction and its exits */
static void emit_terminator(struct dbt_region *rg, struct dbt_code *c, struct dbt_block *b,
                            struct exits *x)
{
	const struct dbt_insn *in = &b->insns[b->n - 1];
	uint64_t next = in->a.addr + in->a.len, dispatch = b->free ? rg->fdispatch : rg->dispatch;

	switch (in->flow) {
	case DBT_FLOW_JMP:
		exit_to(c, b, x, in->target);
		break;
	case DBT_FLOW_JCC:
		/* The taken exit comes right after the fall-through one. */
		arch_dbt_emit_jcc(c, in);
		exit_to(c, b, x, next);
		exit_to(c, b, x, in->target);
		break;
	case DBT_FLOW_CALL:
	case DBT_FLOW_CALL_IND:
		if (in->flow == DBT_FLOW_CALL_IND && arch_dbt_emit_target(c, in)) {
			c->full = true; /* an operand it cannot rewrite: refuse the block */
			return;
		}
		if (!b->free)
			arch_dbt_emit_call_check(c, x->pad);
		arch_dbt_emit_push_ret(c, x->retslot);
		if (in->flow == DBT_FLOW_CALL)
			exit_to(c, b, x, in->target);
		else
			arch_dbt_emit_jmp(c, dispatch);
		/* The unrecorded exit was laid out with the pad (emit_data). */
		if (in->flow == DBT_FLOW_CALL && enters_free(b))
			x->n = 2;
		break;
	case DBT_FLOW_JMP_IND:
		if (arch_dbt_emit_target(c, in)) {
			c->full = true;
			return;
		}
		arch_dbt_emit_jmp(c, dispatch);
		break;
	case DBT_FLOW_RET:
		/* Out of the outermost recorded frame: as an indirect miss, the tracer decides. */
		if (b->free)
			arch_dbt_emit_free_ret(c, in, rg->fdispatch);
		else
			arch_dbt_emit_ret(c, in, rg->dispatch);
		break;
	case DBT_FLOW_SYSCALL:
		arch_dbt_emit_syscall(c, in, special_syscalls,
		                      sizeof(special_syscalls) / sizeof(special_syscalls[0]),
		                      x->pad);
		b->term_end = (uint32_t)(c->pc - b->body);
		exit_to(c, b, x, next);
		break;
	default: /* a block cut before a sync address, a step or the window's end */
		b->term_end = (uint32_t)(c->pc - b->body);
		exit_to(c, b, x, next);
		break;
	}
}

/*
 * emit_data - the slots, the return address, the misses and the pad,
 * before the head. The pad of a recorded call is where it goes over
 * budget: a hypercall, where the step engine runs the callee natively;
 * once the tracer has seen the call site there often (its callees are
 * short: the stops cost more than running them in the cache), the pad's
 * slot leads into the callee unrecorded (the last exit, for a direct
 * call). The pad of a system call is its hypercall.
 */
static void emit_data(struct dbt *d, struct dbt_region *rg, struct dbt_code *c,
                      const struct dbt_block *b, struct exits *x)
{
	const struct dbt_insn *term = &b->insns[b->n - 1];
	bool call = term->flow == DBT_FLOW_CALL || term->flow == DBT_FLOW_CALL_IND;
	int ne = n_exits(b), i;

	x->scope_exit = -1;
	x->scope_budget = scope_budget(d, b);
	if (x->scope_budget >= 0) {
		x->scope_exit = ne++;
		x->target[x->scope_exit] = b->addr;
		x->past_sync[x->scope_exit] = true;
	}
	for (i = 0; i < ne; i++) {
		x->slot[i] = c->pc;
		arch_dbt_emit_bytes(c, "\0\0\0\0\0\0\0\0", 8);
	}
	if (call) {
		uint64_t ret = term->a.addr + term->a.len;

		x->retslot = c->pc;
		arch_dbt_emit_bytes(c, &ret, 8);
	}
	if (enters_free(b)) {
		x->pad_slot = c->pc;
		arch_dbt_emit_bytes(c, "\0\0\0\0\0\0\0\0", 8);
	}
	for (i = 0; i < ne; i++)
		x->miss[i] = arch_dbt_emit_hyper(c);
	if (enters_free(b)) {
		bool direct = term->flow == DBT_FLOW_CALL;
		uint8_t *slot = c->p - (c->pc - x->pad_slot);
		uint64_t trunc;

		x->pad = c->pc;
		arch_dbt_emit_jmp_slot(c, x->pad_slot);
		trunc = c->pc;
		x->pad_int3 = arch_dbt_emit_trunc(c);
		if (direct) {
			x->target[ne - 1] = term->target;
			x->free[ne - 1] = true;
		}
		x->pad_free = c->pc;
		arch_dbt_emit_free_entry(c, x->retslot, direct ? term->target : 0,
		                         direct ? x->slot[ne - 1] : 0, rg->fdispatch, trunc);
		if (!c->full)
			memcpy(slot, &trunc, 8);
	} else if ((call && !b->free) || term->flow == DBT_FLOW_SYSCALL) {
		x->pad = c->pc;
		arch_dbt_emit_unspill(c);
		x->pad_int3 = arch_dbt_emit_hyper(c);
	}
	arch_dbt_align(c, 16);
}

/* emit - write b's translation at the end of rg; -1 with *bad the first instruction out of reach */
static int emit(struct dbt *d, struct dbt_region *rg, struct dbt_block *b, uint32_t *bad)
{
	struct dbt_code c = { rg->map + rg->used, rg->map + DBT_REGION_SIZE, rg->base + rg->used,
		              false };
	const struct dbt_insn *term = &b->insns[b->n - 1];
	struct exits x = { .n = 0 };
	uint32_t k;
	int i;

	dbt_region_ahead(rg);

	b->start = c.pc;
	emit_data(d, rg, &c, b, &x);
	b->cache = c.pc;
	if (x.scope_exit >= 0)
		b->sync_at = arch_dbt_emit_scope_entry(&c, x.slot[x.scope_exit], x.scope_budget,
		                                       (uint32_t)core_backtrace_depth(d->t->core),
		                                       d->regions[0].leave_resume);
	else if (b->sync)
		b->sync_at = arch_dbt_emit_hyper(&c);
	b->entry = c.pc;
	if (!b->free)
		arch_dbt_emit_log_block(&c, b->id);
	b->body = c.pc;
	for (k = 0; k + 1 < b->n || (k < b->n && term->flow == DBT_FLOW_NEXT); k++) {
		b->off[k] = (uint32_t)(c.pc - b->body);
		if (arch_dbt_emit_copy(&c, &b->insns[k])) {
			*bad = k;
			return -1;
		}
		if (b->insns[k].sp_dynamic && !b->free)
			arch_dbt_emit_log_sp(&c);
	}
	if (term->flow != DBT_FLOW_NEXT)
		b->off[b->n - 1] = (uint32_t)(c.pc - b->body);
	emit_terminator(rg, &c, b, &x);
	if (x.scope_exit >= 0)
		x.n = x.scope_exit + 1;
	arch_dbt_align(&c, 8);
	if (c.full) {
		*bad = b->n;
		return -1;
	}
	b->end = c.pc;
	rg->used = c.pc - rg->base;
	/* Now that the block is in place: its hypercalls, and its exits' slots. */
	b->pad_int3 = x.pad_int3;
	b->pad_slot = x.pad_slot;
	b->pad_free = x.pad_free;
	b->n_exits = (uint8_t)x.n;
	for (i = 0; i < x.n; i++) {
		struct dbt_link l = { x.slot[i], x.miss[i], x.past_sync[i] };
		uint64_t at = key(x.target[i], x.free[i]);
		struct dbt_block *to = hashmap_get(&d->by_addr, at);

		b->exits[i] = (struct dbt_exit){ x.slot[i], x.miss[i], x.target[i], x.free[i],
			                         x.past_sync[i] };
		memcpy(dbt_tracer_ptr(d, l.slot), &l.miss, 8);
		if (to) {
			dbt_link(d, l, to);
		} else {
			struct dbt_waits *w = hashmap_get(&d->waiting, at);

			if (!w) {
				w = xcalloc(1, sizeof(*w));
				hashmap_put(&d->waiting, at, w);
			}
			vec_push(&w->links, l);
		}
	}
	return 0;
}

void dbt_link(struct dbt *d, struct dbt_link l, struct dbt_block *to)
{
	uint64_t *slot = dbt_tracer_ptr(d, l.slot);
	struct dbt_incoming *in = arena_zalloc(&d->arena, sizeof(*in));

	__atomic_store_n(slot, l.past_sync ? to->entry : to->cache, __ATOMIC_RELEASE);
	in->l = l;
	in->next = to->incoming;
	to->incoming = in;
}

void dbt_table_add(struct dbt *d, struct dbt_block *b)
{
	struct arch_dbt_entry *tab = (struct arch_dbt_entry *)d->shm;
	uint32_t i;

	/* The last entry stays empty: every probe ends there at the latest. */
	for (i = arch_dbt_hash(b->addr); i < DBT_TABLE_SLOTS + DBT_TABLE_SPILL - 1; i++) {
		size_t chunk = (size_t)i * sizeof(*tab) / DBT_TABLE_CHUNK;

		if (!(d->table_populated[chunk / 8] & 1u << chunk % 8)) {
			d->table_populated[chunk / 8] |= (uint8_t)(1u << chunk % 8);
			populate_write(d->shm + chunk * DBT_TABLE_CHUNK, DBT_TABLE_CHUNK);
		}
		if (tab[i].app && tab[i].app != key(b->addr, b->free))
			continue;
		tab[i].cache = b->cache;
		__atomic_store_n(&tab[i].app, key(b->addr, b->free), __ATOMIC_RELEASE);
		return;
	}
}

/* summary - what the replay needs of b for each of its records */
static struct dbt_hot summary(const struct dbt_block *b)
{
	const struct dbt_insn *t = &b->insns[b->n - 1];
	struct dbt_hot h = { .addr = b->addr,
		             .fall = t->a.addr + t->a.len,
		             .term_delta = t->sp_delta,
		             .store = DBT_NO_STORE,
		             .cls = (uint8_t)t->a.cls,
		             .term_len = t->a.len,
		             .sync = b->sync,
		             .plain = !t->sp_dynamic };
	int64_t delta = 0;
	uint32_t k;

	for (k = 0; k + 1 < b->n; k++) {
		h.plain &= !b->insns[k].sp_dynamic;
		delta += b->insns[k].sp_delta;
	}
	h.plain &= delta == (int32_t)delta;
	h.delta = (int32_t)delta;
	return h;
}

/* dbt_add_id - see dbt.h: the id's page is allocated on first use */
void dbt_add_id(struct dbt *d, struct dbt_block *b)
{
	uint32_t page = b->id / DBT_IDS_PER_PAGE, i = b->id % DBT_IDS_PER_PAGE;

	if (!d->id_pages[page]) {
		d->id_pages[page] = arena_zalloc(&d->arena, DBT_IDS_PER_PAGE * sizeof(b));
		d->hot_pages[page] =
		        arena_zalloc(&d->arena, DBT_IDS_PER_PAGE * sizeof(struct dbt_hot));
	}
	d->id_pages[page][i] = b;
	d->hot_pages[page][i] = summary(b);
	__atomic_store_n(&d->n_ids, b->id + 1, __ATOMIC_RELEASE);
}

/* translate - one block at addr (unrec: unrecorded), registered and linked; NULL if it cannot be */
static struct dbt_block *translate(struct dbt *d, struct tthread *th, uint64_t addr, bool unrec)
{
	struct dbt_insn insns[DBT_BLOCK_MAX];
	struct dbt_region *rg;
	struct dbt_block *b;
	struct dbt_waits *w;
	struct err err;
	uint32_t n = decode(d, addr, insns), bad = 0;
	uint64_t used;

	if (!n || d->n_ids >= DBT_BLOCK_ID_MAX || d->n_ids >= DBT_ID_PAGES * DBT_IDS_PER_PAGE)
		return NULL;
	rg = dbt_region_for(d, th, addr, &err);
	if (!rg) {
		log_debug("dbt: %s", err.msg);
		return NULL;
	}
	/* One allocation: the block, then its instructions, then their code offsets. */
	b = arena_zalloc(&d->arena, sizeof(*b) + n * (sizeof(*b->insns) + sizeof(*b->off)));
	b->insns = (struct dbt_insn *)(b + 1);
	b->off = (uint32_t *)(b->insns + n);
	b->addr = addr;
	b->id = d->n_ids;
	b->sync = is_sync(d, addr);
	b->free = unrec;
	used = rg->used;
	for (;;) {
		b->n = n;
		memcpy(b->insns, insns, n * sizeof(*insns));
		if (!emit(d, rg, b, &bad))
			break;
		rg->used = used;
		/* Cut the block before what is out of reach; a block of nothing is stepped. */
		if (!bad || bad >= n)
			return NULL; /* b stays in the arena unused: this is rare */
		n = bad;
	}
	dbt_add_id(d, b);
	vec_push(&rg->blocks, b);
	hashmap_put(&d->by_addr, key(addr, unrec), b);
	dbt_table_add(d, b);
	d->n_blocks++;
	w = hashmap_del(&d->waiting, key(addr, unrec));
	if (w) {
		struct dbt_link *l;

		vec_foreach (&w->links, l)
			dbt_link(d, *l, b);
		vec_free(&w->links);
		free(w);
	}
	return b;
}

/* successors - the application addresses b continues at that are known now */
static int successors(const struct dbt_block *b, uint64_t out[2])
{
	const struct dbt_insn *in = &b->insns[b->n - 1];
	uint64_t next = in->a.addr + in->a.len;

	switch (in->flow) {
	case DBT_FLOW_JMP:
		out[0] = in->target;
		return 1;
	case DBT_FLOW_JCC:
	case DBT_FLOW_CALL:
		out[0] = next;
		out[1] = in->target;
		return 2;
	case DBT_FLOW_CALL_IND:
	case DBT_FLOW_SYSCALL:
	case DBT_FLOW_NEXT:
		out[0] = next;
		return 1;
	default:
		return 0;
	}
}

/* An address to translate ahead, and the calls a thread may still make there. */
struct ahead {
	uint64_t addr;
	int64_t budget; /* DBT_NO_BUDGET if not known */
};

/* A queue of them, in the order they were found. */
struct ahead_queue {
	struct ahead a[AHEAD_QUEUE];
	size_t head, tail;
};

static void ahead_push(struct ahead_queue *q, uint64_t addr, int64_t budget)
{
	if (q->tail < AHEAD_QUEUE)
		q->a[q->tail++] = (struct ahead){ addr, budget };
}

/*
 * queue_successors - b's successors, b reached with budget: the callee of
 * a call after every other, so that the blocks ahead finish the functions
 * they are in before they start on the functions those call; not a
 * callee the budget leaves to run natively
 */
static void queue_successors(const struct dbt_block *b, int64_t budget, struct ahead_queue *local,
                             struct ahead_queue *callees)
{
	uint64_t next[2];
	int n = successors(b, next);

	if (n == 2 && b->insns[b->n - 1].flow == DBT_FLOW_CALL) {
		ahead_push(local, next[0], budget);
		if (budget)
			ahead_push(callees, next[1], budget == DBT_NO_BUDGET ? budget : budget - 1);
		return;
	}
	while (n > 0)
		ahead_push(local, next[--n], budget);
}

/*
 * block_at - the block at addr and up to ahead more that it leads to
 * directly, a thread at addr able to make budget calls more
 */
static struct dbt_block *block_at(struct dbt *d, struct tthread *th, uint64_t addr, bool unrec,
                                  uint64_t ahead, int64_t budget)
{
	struct dbt_block *b = hashmap_get(&d->by_addr, key(addr, unrec)), *first;
	struct ahead_queue local = { .head = 0 }, callees = { .head = 0 };
	uint64_t made = 0;

	if (b)
		return b;
	if (hashmap_get(&d->no_trans, addr))
		return NULL;
	first = translate(d, th, addr, unrec);
	if (!first) {
		hashmap_put(&d->no_trans, addr, (void *)1);
		return NULL;
	}
	queue_successors(first, budget, &local, &callees);
	while (made < ahead && (local.head < local.tail || callees.head < callees.tail)) {
		struct ahead a =
		        local.head < local.tail ? local.a[local.head++] : callees.a[callees.head++];

		if (hashmap_get(&d->by_addr, key(a.addr, unrec)) ||
		    hashmap_get(&d->no_trans, a.addr))
			continue;
		b = translate(d, th, a.addr, unrec);
		if (!b) {
			hashmap_put(&d->no_trans, a.addr, (void *)1);
			continue;
		}
		made++;
		queue_successors(b, a.budget, &local, &callees);
	}
	return first;
}

struct dbt_block *dbt_block_at(struct dbt *d, struct tthread *th, uint64_t addr, bool unrec,
                               int64_t budget)
{
	uint64_t ahead = AHEAD_MIN + d->n_blocks / AHEAD_STEP;

	/* unrecorded code's calls are not counted */
	return block_at(d, th, addr, unrec, ahead < AHEAD_MAX ? ahead : AHEAD_MAX,
	                unrec ? DBT_NO_BUDGET : budget);
}

struct dbt_block *dbt_scope_block_at(struct dbt *d, struct tthread *th, uint64_t addr,
                                     int64_t budget)
{
	return block_at(d, th, addr, false, AHEAD_SCOPE, budget);
}

struct dbt_block *dbt_block_alone(struct dbt *d, struct tthread *th, uint64_t addr, bool unrec)
{
	return block_at(d, th, addr, unrec, 0, DBT_NO_BUDGET);
}

bool dbt_translatable(struct dbt *d, struct tthread *th, uint64_t addr)
{
	return dbt_block_at(d, th, addr, false, DBT_NO_BUDGET) != NULL;
}

/* holding - the block whose translation holds pc: from its head on, or from its start (data) */
static struct dbt_block *holding(struct dbt *d, uint64_t pc, bool data)
{
	const struct dbt_region *rg = dbt_region_at(d, pc);
	size_t lo = 0, hi = rg ? rg->blocks.len : 0, mid;

	/* The last block starting at or before pc: blocks are in cache order. */
	while (lo < hi) {
		mid = (lo + hi) / 2;
		if ((data ? rg->blocks.data[mid]->start : rg->blocks.data[mid]->cache) <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo && pc < rg->blocks.data[lo - 1]->end)
		return rg->blocks.data[lo - 1];
	return NULL;
}

struct dbt_block *dbt_locate(struct dbt *d, uint64_t pc)
{
	return holding(d, pc, false);
}

struct dbt_block *dbt_fault_block(struct dbt *d, uint64_t pc)
{
	struct dbt_block *b = holding(d, pc, true);

	/* What runs of the data before the head is the pad: a call over budget. */
	if (b && (pc < b->cache || pc >= b->body + b->off[b->n - 1]))
		return b;
	return NULL;
}

void dbt_trunc_seen(struct dbt *d, struct dbt_block *b)
{
	if (b->pad_free && ++b->truncs == d->truncs_to_free)
		__atomic_store_n((uint64_t *)dbt_tracer_ptr(d, b->pad_slot), b->pad_free,
		                 __ATOMIC_RELEASE);
}

bool dbt_hyper_at(struct dbt *d, uint64_t at, struct dbt_hyper *h)
{
	struct dbt_block *b;
	const struct dbt_insn *term;
	uint32_t i;

	memset(h, 0, sizeof(*h));
	if (dbt_door_hyper(d, at, h) || dbt_native_hyper(d, at, h))
		return true;
	for (i = 0; i < d->n_regions; i++)
		if (at == d->regions[i].ind_miss || at == d->regions[i].find_miss) {
			h->kind = HY_INDIRECT;
			h->free = at == d->regions[i].find_miss;
			return true;
		}
	b = holding(d, at, true);
	if (!b)
		return false;
	term = &b->insns[b->n - 1];
	h->b = b;
	if (b->sync && at == b->sync_at) {
		h->kind = HY_SYNC;
		h->target = b->addr;
		return true;
	}
	if (b->pad_int3 && at == b->pad_int3) {
		h->kind = term->flow == DBT_FLOW_SYSCALL ? HY_SYSCALL : HY_TRUNC;
		h->done = b->n - 1;
		h->target = term->a.addr;
		return true;
	}
	for (i = 0; i < b->n_exits; i++)
		if (at == b->exits[i].miss) {
			h->kind = HY_EXIT;
			h->done = b->n;
			h->target = b->exits[i].target;
			h->slot = b->exits[i].slot;
			h->free = b->exits[i].free;
			h->past_sync = b->exits[i].past_sync;
			return true;
		}
	return false;
}

int64_t dbt_block_intern(struct dbt *d, const struct dbt_block *b, struct dbt_hot *h,
                         struct err *err)
{
	const struct arch_insn *insns[DBT_BLOCK_MAX];
	int64_t sb;
	uint32_t k;

	for (k = 0; k < b->n; k++)
		insns[k] = &b->insns[k].a;
	sb = core_block(d->t->core, insns, b->n, err);
	if (sb >= 0)
		h->store = (uint32_t)sb;
	return sb;
}

/* retire - b's translation is stale: exits into it go back to their misses, the table forgets it */
static void retire(struct dbt *d, struct dbt_block *b)
{
	struct arch_dbt_entry *tab = (struct arch_dbt_entry *)d->shm;
	struct dbt_incoming *in;
	size_t i;

	b->dead = true;
	for (in = b->incoming; in; in = in->next)
		memcpy(dbt_tracer_ptr(d, in->l.slot), &in->l.miss, 8);
	b->incoming = NULL;
	for (i = arch_dbt_hash(b->addr); i < DBT_TABLE_SLOTS + DBT_TABLE_SPILL - 1; i++) {
		if (!tab[i].app)
			break;
		if (tab[i].app == key(b->addr, b->free))
			tab[i].cache = b->free ? d->regions[0].find_miss : d->regions[0].ind_miss;
	}
	if (hashmap_get(&d->by_addr, key(b->addr, b->free)) == b)
		hashmap_del(&d->by_addr, key(b->addr, b->free));
}

/* A list of addresses (a VEC). */
struct addrs {
	uint64_t *data;
	size_t len, cap;
};

/* keys_in - the keys of m in [lo, hi) (keys standing for span bytes: those overlapping it) */
static void keys_in(const struct hashmap *m, uint64_t lo, uint64_t hi, uint64_t span,
                    struct addrs *out)
{
	size_t i = 0;
	uint64_t a;

	while (hashmap_next(m, &i, &a, NULL))
		if (a + span > lo && a < hi)
			vec_push(out, a);
}

void dbt_invalidate(struct dbt *d, uint64_t lo, uint64_t hi)
{
	struct addrs gone = { 0 };
	uint64_t *a;
	uint32_t id;

	/* Every block was read from cached pages: no page there, no block there either. */
	keys_in(&d->pages, lo, hi, DBT_PAGE, &gone);
	for (id = 0; gone.len && id < d->n_ids; id++) {
		struct dbt_block *b = dbt_block_by_id(d, id);
		uint64_t b_end = b->insns[b->n - 1].a.addr + b->insns[b->n - 1].a.len;

		if (!b->dead && b_end > lo && b->addr < hi)
			retire(d, b);
	}
	/* What could not be translated there may be translatable now. */
	vec_foreach (&gone, a)
		free(hashmap_del(&d->pages, *a));
	gone.len = 0;
	keys_in(&d->no_trans, lo, hi, 1, &gone);
	vec_foreach (&gone, a)
		hashmap_del(&d->no_trans, *a);
	vec_free(&gone);
	if (d->program_syscall >= lo && d->program_syscall < hi)
		d->program_syscall = 0;
	dbt_fns_drop(d, lo, hi);
	d->maps_stale = true;
}

void dbt_cache_reset(struct dbt *d)
{
	size_t i;
	void *v;

	arena_fini(&d->arena);
	/* Only the pages in use: the others were never written (each would cost a fault). */
	for (i = 0; i * DBT_IDS_PER_PAGE < d->n_ids; i++) {
		d->id_pages[i] = NULL;
		d->hot_pages[i] = NULL;
	}
	d->n_ids = 0;
	hashmap_fini(&d->by_addr);
	hashmap_fini(&d->no_trans);
	i = 0;
	while (hashmap_next(&d->waiting, &i, NULL, &v)) {
		vec_free(&((struct dbt_waits *)v)->links);
		free(v);
	}
	hashmap_fini(&d->waiting);
	i = 0;
	while (hashmap_next(&d->pages, &i, NULL, &v))
		free(v);
	hashmap_fini(&d->pages);
	dbt_doors_reset(d);
	dbt_fns_drop(d, 0, UINT64_MAX);
	hashmap_fini(&d->fns);
}
