/*
 * Doors: scope entries a thread running natively between its scopes
 * enters without a stop (docs/engine.md, "Native between scopes").
 *
 * A thread that leaves its scopes often returns out of the outermost
 * recorded frame straight into the program's own code, natively, with its
 * gs base still its context page (arch_dbt_emit_leave's native form). The
 * scope's entry then holds, instead of the step engine's int3, a jump to
 * a door (arch_dbt_emit_door) that sends such a thread into the
 * unrecorded translation of the entry: the stack walk, the scope entered
 * by its ring records, recorded code after it. Every other thread stops
 * in the door as the int3 would have stopped it; dbt_door_rewind() makes
 * that stop look like the int3's to the step engine, which steps over the
 * door as over any breakpoint (its bytes lifted, the world stopped).
 *
 * A door is 5 bytes over the first instructions of the function: it is
 * written only where those are plain instructions (no branch, no system
 * call), no code near it jumps into them, no other breakpoint is
 * among them, and no thread is in their middle (every thread is stopped
 * while it is written). Where code jumps into them (glibc's mempcpy into
 * memmove, past its first instruction), the door can be 2 bytes: a short
 * jump to the 5-byte jump, written in padding nearby that nothing runs
 * (no-ops after a return or a jump, arch_dbt_door_pad(); or before the
 * entry, after the function before it, arch_dbt_door_pad_before(): glibc's
 * memchr and strncmp for AVX-512 start with a branch), a breakpoint of
 * the tracer's own so that reads of the code see the no-ops.
 */
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include "trace/dbt/dbt.h"
#include "trace/step/step.h"
#include "util/log.h"
#include "util/xalloc.h"

#define SCAN_SIZE 4096 /* how much code either side is looked at for jumps into the door */

/* plain_head - only plain instructions under len bytes at at, and no other breakpoint? */
static bool plain_head(struct dbt *d, uint64_t at, size_t len)
{
	uint8_t buf[ARCH_DBT_DOOR_LEN + ARCH_MAX_INSN_LEN];
	struct dbt_insn in;
	uint64_t a;

	if (tracee_read(d->t, at, buf, sizeof(buf)))
		return false;
	for (a = at; a < at + len; a += in.a.len)
		if (arch_dbt_analyze(a, buf + (a - at), sizeof(buf) - (a - at), &in) ||
		    in.flow != DBT_FLOW_NEXT)
			return false;
	for (a = at + 1; a < at + len; a++)
		if (tracee_bp_at(d->t, a))
			return false;
	return true;
}

/*
 * dbt_door_jumped_into - may code jump into (lo, hi)? The function holding
 * lo is decoded whole (dbt_fn_jumps_into()): its own branches may come
 * from anywhere in it (a loop back into the bytes after a call: Python's
 * interpreter loop is 70 KB long). Other code near lo too: glibc's mempcpy
 * ends with a jump into memmove, past its first instruction. Every byte
 * of the SCAN_SIZE bytes either side is first taken for the start of a
 * branch (arch_dbt_jumps_into()); where that says yes, the functions whose
 * unwind information covers those bytes are decoded from their starts
 * instead, and only the bytes of none of them are taken so (of libc's
 * functions about 4 % got no door for bytes that only looked like a branch
 * into their first ones: strcasecmp for AVX-512).
 */
bool dbt_door_jumped_into(struct dbt *d, uint64_t lo, uint64_t hi)
{
	const struct dbt_map *m = dbt_maps_find(d, lo);
	uint64_t from, to, s, e, at;
	uint8_t *buf, *scan;
	int own = -1; /* what the function holding lo says, if one does */
	size_t len;
	bool into;

	if (!m)
		return true;
	if (!core_code_before(d->t->core, lo + 1, &s, &e) && lo < e)
		own = dbt_fn_jumps_into(d, s, e, lo, hi);
	if (own > 0)
		return true;
	from = lo - m->lo > SCAN_SIZE ? lo - SCAN_SIZE : m->lo;
	to = m->hi - lo > SCAN_SIZE ? lo + SCAN_SIZE : m->hi;
	/*
	 * All the code either side is that function's, decoded whole: nothing
	 * else is there to scan (call sites in Python's 70 KB interpreter loop:
	 * 8 KB read and scanned twice per door, 10 ms of a 140 ms run with a
	 * scope on it at depth 1)
	 */
	if (!own && s <= from && e >= to)
		return false;
	buf = xmalloc(to - from);
	len = tracee_read_partial(d->t, from, buf, to - from);
	into = len < to - from || arch_dbt_jumps_into(buf, NULL, len, from, lo, hi);
	if (into && len == to - from) {
		scan = xmalloc(len);
		memset(scan, 1, len);
		into = false;
		for (at = to; !into && at > from && !core_code_before(d->t->core, at, &s, &e);
		     at = s) {
			int r = e > from ? dbt_fn_jumps_into(d, s, e, lo, hi) : -1;

			into = r > 0;
			if (!r)
				memset(scan + (s > from ? s - from : 0), 0,
				       (e < to ? e : to) - (s > from ? s : from));
		}
		into = into || arch_dbt_jumps_into(buf, scan, len, from, lo, hi);
		free(scan);
	}
	free(buf);
	return into;
}

/*
 * pad_before - arch_dbt_door_pad_before() for at: the padding after the
 * function whose unwind information starts last below at; 0 where there
 * is none
 */
static uint64_t pad_before(struct dbt *d, uint64_t at)
{
	uint64_t from, end, pad = 0;
	uint8_t *code;

	if (core_code_before(d->t->core, at, &from, &end) || from >= at ||
	    at - from > SCAN_SIZE * 16)
		return 0;
	code = xmalloc(at - from);
	if (tracee_read_partial(d->t, from, code, at - from) == at - from)
		pad = arch_dbt_door_pad_before(code, from, end, at);
	free(code);
	return pad;
}

/*
 * door_pad - where at's door's jump can go when code jumps into the
 * entry's first bytes: padding after it (arch_dbt_door_pad()) or before
 * it (pad_before()), a 2-byte jump at the entry leading there; 0 where
 * none can be. Nothing may jump into the padding or to it, and no
 * breakpoint may be among its bytes.
 */
static uint64_t door_pad(struct dbt *d, uint64_t at)
{
	uint8_t buf[ARCH_DBT_HOP_LEN + INT8_MAX + ARCH_DBT_DOOR_LEN + ARCH_MAX_INSN_LEN];
	size_t n = tracee_read_partial(d->t, at, buf, sizeof(buf));
	uint64_t pad = arch_dbt_door_pad(buf, n, at);

	if (!pad)
		pad = pad_before(d, at);
	if (!pad || !plain_head(d, at, ARCH_DBT_HOP_LEN) ||
	    dbt_door_jumped_into(d, at, at + ARCH_DBT_HOP_LEN) ||
	    dbt_door_jumped_into(d, pad - 1, pad + ARCH_DBT_DOOR_LEN))
		return 0;
	for (uint64_t a = pad; a < pad + ARCH_DBT_DOOR_LEN; a++)
		if (tracee_bp_covering(d->t, a))
			return 0;
	return pad;
}

/* trapped - did thread o stop at the int3 of at (its stop is queued)? */
static bool trapped(struct tracee *t, const struct tthread *o)
{
	const struct tracee_event *ev;

	if (o->has_deferred && WIFSTOPPED(o->deferred_status) &&
	    WSTOPSIG(o->deferred_status) == SIGTRAP)
		return true;
	vec_foreach (&t->queue, ev)
		if (ev->tid == o->tid && WIFSTOPPED(ev->status) && WSTOPSIG(ev->status) == SIGTRAP)
			return true;
	return false;
}

/*
 * dbt_door_inside - is a thread other than th stopped in the middle of the door's
 * bytes? Not one that stopped at the int3 there: the step engine rewinds
 * it to the entry.
 */
bool dbt_door_inside(struct dbt *d, struct tthread *th, uint64_t at, size_t len)
{
	struct tthread *o;
	size_t i = 0;
	uint64_t pc;
	struct err err;

	while (hashmap_next(&d->t->threads, &i, NULL, (void **)&o)) {
		if (o == th || o->in_vfork || tracee_get_pc(d->t, o, &pc, &err))
			continue;
		if (pc > at && pc < at + len && !(pc == at + ARCH_BP_LEN && trapped(d->t, o)))
			return true;
	}
	return false;
}

/* emit_door - a door's code in a region within reach of at, or NULL */
static struct dbt_door *emit_door(struct dbt *d, struct tthread *th, uint64_t at)
{
	struct dbt_code c;
	struct dbt_region *rg = dbt_region_code(d, th, at, &c);
	struct dbt_door *dr;

	if (!rg)
		return NULL;
	dr = xcalloc(1, sizeof(*dr));
	dr->at = at;
	arch_dbt_emit_door(&c, &dr->parts);
	if (c.full) {
		free(dr);
		return NULL;
	}
	rg->used = c.pc - rg->base;
	return dr;
}

/*
 * put_pad - dr's jump to its door in the padding, unless it is there
 * already (the entry's jump was lifted since): 1 if it is, 0 if the door
 * is out of its reach
 */
static int put_pad(struct dbt *d, struct dbt_door *dr, struct err *err)
{
	uint8_t jump[ARCH_DBT_DOOR_LEN];

	if (tracee_bp_at(d->t, dr->pad))
		return 1;
	if (arch_dbt_door_jump(dr->pad, dr->parts.code, jump) != ARCH_DBT_DOOR_LEN)
		return 0;
	if (tracee_bp_add(d->t, dr->pad, BP_INTERNAL, err) ||
	    tracee_bp_door(d->t, tracee_bp_at(d->t, dr->pad), jump, ARCH_DBT_DOOR_LEN, err))
		return -1;
	return 1;
}

/*
 * put_door - write the jump to dr at its entry, every other thread
 * stopped: 1 if done, 0 if a thread is in the middle of those bytes
 */
static int put_door(struct dbt *d, struct tthread *th, struct bp *bp, struct dbt_door *dr,
                    struct err *err)
{
	uint8_t jump[ARCH_DBT_DOOR_LEN];
	int done;

	if (tracee_stop_world(d->t, th, err))
		return -1;
	done = !dbt_door_inside(d, th, dr->at, dr->len) &&
	       (dr->pad ? arch_dbt_door_hop(dr->at, dr->pad, jump)
	                : arch_dbt_door_jump(dr->at, dr->parts.code, jump)) == dr->len;
	/* The padding's jump first: nothing runs it before the entry's leads there. */
	if (done && dr->pad)
		done = put_pad(d, dr, err);
	if (done > 0 && tracee_bp_door(d->t, bp, jump, dr->len, err))
		done = -1;
	if (tracee_resume_world(d->t, done < 0 ? &(struct err){ 0 } : err))
		return -1;
	return done;
}

/* door_for - at's door, its code written if need be; NULL where none can be */
static struct dbt_door *door_for(struct dbt *d, struct tthread *th, struct bp *bp, uint64_t at)
{
	struct dbt_door *dr = hashmap_get(&d->doors, at);
	uint64_t pad = 0;

	if (dr)
		return dr == (void *)&d->no_door ? NULL : dr;
	/* A door stands only for a scope's entry: any other role must stop there. */
	if (bp->rets || bp->internal || bp->steps ||
	    ((!plain_head(d, at, ARCH_DBT_DOOR_LEN) ||
	      dbt_door_jumped_into(d, at, at + ARCH_DBT_DOOR_LEN)) &&
	     !(pad = door_pad(d, at))) ||
	    !(dr = emit_door(d, th, at))) {
		log_debug("dbt: no door at %#llx", (unsigned long long)at);
		hashmap_put(&d->doors, at, &d->no_door);
		return NULL;
	}
	dr->pad = pad;
	dr->len = pad ? ARCH_DBT_HOP_LEN : ARCH_DBT_DOOR_LEN;
	hashmap_put(&d->doors, at, dr);
	return dr;
}

int dbt_door_try(struct dbt *d, struct tthread *th, uint64_t at, bool *open, struct err *err)
{
	struct bp *bp = tracee_bp_at(d->t, at);
	struct dbt_block *free_entry;
	struct dbt_door *dr;
	int done;

	*open = bp && bp->inserted && bp->len > ARCH_BP_LEN;
	if (*open || !bp || !bp->inserted || !bp->scopes || d->no_doors || d->t->world_stopped)
		return 0;
	dr = door_for(d, th, bp, at);
	/* Not while a thread is in its bytes: at a later entry, then. */
	done = dr ? put_door(d, th, bp, dr, err) : 0;
	if (done <= 0)
		return done;
	log_debug("dbt: a door at %#llx (%s)", (unsigned long long)at,
	          dr->pad ? "by padding" : "at the entry");
	*open = true;
	d->n_doors++;
	dbt_door_register(d, dr);
	/*
	 * Where the door leads, made now rather than at the next entry's
	 * stop; nothing ahead of it, as a thread that comes in by the door
	 * enters the scope there.
	 */
	free_entry = dbt_block_alone(d, th, at, true);
	if (free_entry)
		dbt_link(d, (struct dbt_link){ dr->parts.slot, dr->parts.miss, false }, free_entry);
	return 0;
}

/* parts - dr's addresses in door_parts put there (on) or taken out */
static void parts(struct dbt *d, struct dbt_door *dr, bool on)
{
	uint64_t at[] = { dr->pad, dr->parts.code, dr->parts.load, dr->parts.stop, dr->parts.miss };

	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		if (at[i] && on)
			hashmap_put(&d->door_parts, at[i], dr);
		else if (at[i])
			hashmap_del(&d->door_parts, at[i]);
	}
}

void dbt_door_register(struct dbt *d, struct dbt_door *dr)
{
	parts(d, dr, true);
}

void dbt_door_unregister(struct dbt *d, struct dbt_door *dr)
{
	parts(d, dr, false);
}

bool dbt_door_hyper(struct dbt *d, uint64_t at, struct dbt_hyper *h)
{
	struct dbt_door *dr = hashmap_get(&d->door_parts, at);

	if (!dr || at != dr->parts.miss)
		return false;
	/* An exit of no block, to the unrecorded translation of the entry. */
	h->kind = HY_EXIT;
	h->target = dr->at;
	h->slot = dr->parts.slot;
	h->free = true;
	return true;
}

/* rewind_to - th, stopped in a door, goes on at pc of the program (its registers read again) */
static int rewind_to(struct dbt *d, struct tthread *th, uint64_t pc, struct err *err)
{
	if (tracee_set_pc(d->t, th, pc, err))
		return -1;
	step_regs_changed(th);
	return 0;
}

/* as_breakpoint - th stopped in a door where the int3 would have stopped it: make it look so */
static int as_breakpoint(struct dbt *d, struct dbt_door *dr, struct tthread *th,
                         struct tracee_event *ev, struct err *err)
{
	siginfo_t si = { .si_signo = SIGTRAP, .si_code = SI_KERNEL };

	if (rewind_to(d, th, dr->at + ARCH_BP_LEN, err))
		return -1;
	if (ptrace(PTRACE_SETSIGINFO, th->tid, NULL, &si))
		return err_sys(err, ERR_TRACE, "cannot make thread %d's stop a breakpoint's",
		               (int)th->tid);
	ev->status = SIGTRAP << 8 | 0x7f;
	return 1;
}

int dbt_door_rewind(struct dbt *d, struct tthread *th, struct tracee_event *ev, struct err *err)
{
	int sig = WSTOPSIG(ev->status);
	struct dbt_door *dr;
	uint64_t pc;
	siginfo_t si;

	if (!d->door_parts.len || ev->status >> 16)
		return 0;
	if (tracee_get_pc(d->t, th, &pc, err))
		return -1;
	dr = hashmap_get(&d->door_parts, pc);
	if (!dr)
		dr = hashmap_get(&d->door_parts, pc - ARCH_BP_LEN);
	if (!dr)
		return 0;
	/* A return door's check: natively past its site, once it may run (dbt_door_pass()). */
	if (pc == dr->parts.load && sig == SIGSEGV && dr->pass)
		return 2;
	if ((pc == dr->parts.load && sig == SIGSEGV) ||
	    (pc == dr->parts.stop + ARCH_BP_LEN && sig == SIGTRAP))
		return as_breakpoint(d, dr, th, ev, err);
	/* The padding's jump has not run yet there: as right after the entry's. */
	if (pc != dr->parts.code && pc != dr->pad)
		return 0;
	/* Stepped over the jump: the step would have stopped at the int3. */
	if (sig == SIGTRAP && !ptrace(PTRACE_GETSIGINFO, th->tid, NULL, &si) && si.si_code > 0)
		return as_breakpoint(d, dr, th, ev, err);
	/* A signal right after the jump: it comes before the breakpoint. */
	return rewind_to(d, th, dr->at, err) ? -1 : 1;
}

int dbt_door_leave(struct dbt *d, struct tthread *th, struct err *err)
{
	struct dbt_door *dr;
	uint64_t pc;

	if (!d->door_parts.len || tracee_get_pc(d->t, th, &pc, err))
		return d->door_parts.len ? -1 : 0;
	dr = hashmap_get(&d->door_parts, pc);
	if (!dr || (pc != dr->parts.code && pc != dr->parts.load && pc != dr->pad))
		return 0;
	/* Nothing of the door ran that the program would see: at the entry. */
	return rewind_to(d, th, dr->at, err);
}

void dbt_door_disarm(struct dbt *d, uint64_t at)
{
	struct dbt_door *dr = hashmap_get(&d->doors, at);
	struct bp *entry = tracee_bp_at(d->t, at);

	/* Kept while the entry's jump stays for another role there: it may lead to the padding. */
	if (!dr || (entry && entry->len > ARCH_BP_LEN))
		return;
	/* Other code may be mapped there later: whether it can have a door is asked again. */
	hashmap_del(&d->doors, at);
	if (dr == (void *)&d->no_door)
		return;
	if (dr->pad && tracee_bp_at(d->t, dr->pad))
		tracee_bp_del(d->t, dr->pad, BP_INTERNAL);
	dbt_door_unregister(d, dr);
	free(dr);
}

void dbt_doors_reset(struct dbt *d)
{
	size_t i = 0;
	void *dr;

	while (hashmap_next(&d->doors, &i, NULL, &dr))
		if (dr != &d->no_door)
			free(dr);
	dbt_ret_doors_reset(d);
	hashmap_fini(&d->doors);
	hashmap_fini(&d->door_parts);
	hashmap_init(&d->doors);
	hashmap_init(&d->door_parts);
}
