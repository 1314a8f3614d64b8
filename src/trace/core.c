/*
 * The tracer core: call stacks, depth rules, scopes, and what goes into the
 * store. See core.h for the rules; docs/architecture.md for where it sits.
 */
#include "trace/core.h"

#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>

#include "trace/core-internal.h"
#include "trace/images.h"
#include "sym/unwind.h"

/*
 * How many times an engine replaying calls in a batch gives out for each
 * read of the coarse clock: some 256 calls are replayed in tens of µs, its
 * ticks are 4 ms apart, and reading it was 3 % of the replay worker's time
 * in a hot scope
 */
#define CLOCK_EVERY 256

uint64_t core_now_ns(struct core *c)
{
	struct timespec ts;
	uint64_t t;

	if (c->clock_left) {
		c->clock_left--;
		return ++c->last_ns;
	}
	if (c->clock_batch && c->clock != CLOCK_REALTIME)
		c->clock_left = CLOCK_EVERY - 1;
	clock_gettime(c->clock, &ts);
	t = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	/* Coarse ticks: still one distinct, increasing time per record, in the order recorded. */
	if (c->clock != CLOCK_REALTIME && t <= c->last_ns)
		t = c->last_ns + 1;
	c->last_ns = t;
	return t;
}

void core_clock_batch(struct core *c, bool on)
{
	c->clock_batch = on;
	c->clock_left = 0;
}

/* bt_max - how many return addresses a backtrace keeps: backtrace-depth, as far as bt_buf goes */
static size_t bt_max(const struct core *c)
{
	size_t max = (size_t)c->cfg->backtrace_depth;

	return max < sizeof(c->bt_buf) / sizeof(c->bt_buf[0])
	               ? max
	               : sizeof(c->bt_buf) / sizeof(c->bt_buf[0]);
}

static size_t backtrace_of(struct core *c, const struct arch_regs *regs)
{
	c->bt_entry_len = c->bt_load_len = 0;
	if (!regs || !bt_max(c))
		return 0;
	return images_backtrace(c->images, regs, c->bt_buf, bt_max(c));
}

/*
 * entry_backtrace - the backtrace of a function at its first instruction.
 * There the return address is certainly at the stack pointer, so it is
 * taken from there and the unwinding starts in the caller: right even for
 * code without unwind information (hand-written assembly).
 */
static size_t entry_backtrace(struct core *c, const struct arch_regs *regs, uint64_t ret_addr)
{
	size_t max = bt_max(c), n;
	struct arch_regs caller;

	c->bt_load_len = 0;
	if (c->given_bt) {
		memcpy(c->bt_buf, c->given_bt, c->given_bt_len * sizeof(c->bt_buf[0]));
		return c->bt_entry_len = c->given_bt_len;
	}
	if (!max || !ret_addr)
		return backtrace_of(c, regs);
	caller = *regs;
	arch_regs_set_pc(&caller, ret_addr);
	arch_regs_set_sp(&caller, arch_regs_sp(regs) + ARCH_PTR_SIZE);
	n = images_backtrace(c->images, &caller, c->bt_buf + 1, max - 1);
	c->bt_buf[0] = ret_addr;
	return c->bt_entry_len = n + 1;
}

/* add_event - an event whose backtrace is the first bt_len return addresses of bt_buf */
static int64_t add_event(struct core *c, struct core_thread *th, const struct arch_regs *regs,
                         size_t bt_len, enum store_event_kind kind, int64_t subject,
                         const char *detail, struct err *err)
{
	struct frame *f = top_frame(th);
	struct store_origin o = {
		.thread = th->id,
		.call = f ? f->call : STORE_NONE,
		.pos = store_thread_pos(c->store, th->id),
		.addr = regs ? arch_regs_pc(regs) : 0,
		.time_ns = core_now_ns(c),
		.bt = c->bt_buf,
		.bt_len = bt_len,
	};

	stat_set(&c->stats.events, c->stats.events + 1);
	return store_event_add(c->store, kind, &o, subject, detail, err);
}

int64_t core_add_event(struct core *c, struct core_thread *th, const struct arch_regs *regs,
                       enum store_event_kind kind, int64_t subject, const char *detail,
                       struct err *err)
{
	return add_event(c, th, regs, backtrace_of(c, regs), kind, subject, detail, err);
}

int64_t core_add_load_event(struct core *c, struct core_thread *th, const struct arch_regs *regs,
                            bool same_stop, int64_t binary, struct err *err)
{
	size_t n = same_stop && c->bt_load_len ? c->bt_load_len : backtrace_of(c, regs);
	int64_t ev = add_event(c, th, regs, n, STORE_EV_LOAD_BINARY, binary, NULL, err);

	c->bt_load_len = n;
	return ev;
}

static int read_word(struct core *c, uint64_t addr, uint64_t *out)
{
	*out = 0;
	return c->target.read_mem(c->target.ctx, addr, out, ARCH_PTR_SIZE) == ARCH_PTR_SIZE ? 0
	                                                                                    : -1;
}

/*
 * open_frame - push a frame and open its call record. The caller fills in
 * what the frame is; this sets the tree position (parent, depth).
 */
int core_open_frame(struct core *c, struct core_thread *th, struct frame *f,
                    struct store_call *call, const struct arch_regs *regs, struct err *err)
{
	struct frame *parent = top_frame(th);
	int64_t id;

	call->thread = th->id;
	call->parent = parent ? parent->call : STORE_NONE;
	call->depth = parent ? parent->depth + 1 : 1;
	call->pos = store_thread_pos(c->store, th->id);
	call->time_ns = core_now_ns(c);
	call->truncated = f->truncated;
	/* A root's backtrace: at its entry, or given (a call open when nosco attached). */
	if (!parent && call->kind != STORE_CALL_ROOT && !call->bt) {
		call->bt = c->bt_buf;
		call->bt_len = call->kind == STORE_CALL_SIGNAL
		                       ? backtrace_of(c, regs)
		                       : entry_backtrace(c, regs, call->ret_addr);
	}
	f->depth = call->depth;
	if (!f->resume_sp)
		f->resume_sp = f->entry_sp;
	id = store_call_open(c->store, call, err);
	if (id < 0)
		return -1;
	stat_set(&c->stats.calls, c->stats.calls + 1);
	/* The id goes into the copy: copied with f, just written, its wide loads would wait. */
	vec_push(&th->frames, *f);
	vec_last(&th->frames).call = id;
	return 0;
}

int core_close_top(struct core *c, struct core_thread *th, enum store_call_end how, struct err *err)
{
	struct frame *f = top_frame(th);

	th->frames.len--;
	return store_call_close(c->store, th->id, f->call, how, store_thread_pos(c->store, th->id),
	                        core_now_ns(c), err);
}

/*
 * close_by_sp - close the frames the stack pointer has left. A return
 * closes with STORE_END_RETURN (several frames at once after tail calls,
 * which share the entry stack pointer); anything else is an unwind.
 */
static int close_by_sp(struct core *c, struct core_thread *th, uint64_t sp, bool returned,
                       bool sigreturn, struct err *err)
{
	struct frame *f;

	while ((f = top_frame(th))) {
		bool over;

		if (f->signal && sigreturn) {
			over = true;
			sigreturn = false;
			returned = true;
		} else {
			over = f->entry_sp != SP_NEVER && sp > f->entry_sp;
		}
		if (!over)
			break;
		if (core_close_top(c, th, returned ? STORE_END_RETURN : STORE_END_UNWIND, err))
			return -1;
	}
	return 0;
}

void core_directive_for(struct core_thread *th, struct core_directive *d)
{
	struct frame *f = top_frame(th);

	memset(d, 0, sizeof(*d));
	if (!f) {
		d->mode = CORE_RUN_FREE;
	} else if (f->truncated) {
		d->mode = CORE_RUN_TO_RETURN;
		d->ret[0].addr = f->ret_addr;
		d->ret[0].frame_sp = f->resume_sp;
		if (th->frames.len > 1 && f[-1].resume_sp != SP_NEVER && !f[-1].truncated) {
			d->ret[1].addr = f[-1].ret_addr;
			d->ret[1].frame_sp = f[-1].resume_sp;
		}
	} else {
		d->mode = CORE_RECORD;
	}
}

static const struct scope_arm *scope_at(const struct core *c, uint64_t addr)
{
	return hashmap_get(&c->scope_by_addr, addr);
}

bool core_is_scope_entry(const struct core *c, uint64_t addr)
{
	return scope_at(c, addr) != NULL;
}

/* enter_call - the instruction just executed was a call, the thread is at the callee */
static int enter_call(struct core *c, struct core_thread *th, const struct arch_insn *insn,
                      const struct arch_regs *after, struct err *err)
{
	uint64_t pc = arch_regs_pc(after);
	const struct scope_arm *scope = scope_at(c, pc);
	struct frame *caller = top_frame(th);
	struct frame f = { .entry_sp = arch_regs_sp(after), .ret_addr = insn->addr + insn->len };
	struct store_call call = {
		.kind = STORE_CALL_CALL,
		.addr = pc,
		.site = insn->addr,
		.ret_addr = f.ret_addr,
	};

	if (scope) {
		f.level = 1;
		f.max_level = scope->max_level;
	} else {
		f.level = caller->level + 1;
		f.max_level = caller->max_level;
	}
	f.truncated = f.level > f.max_level;
	return core_open_frame(c, th, &f, &call, after, err);
}

/*
 * enter_scope - open a scope's frame at the thread's current position
 * (ret: its return address, or NULL to read it at the stack pointer)
 */
static int enter_scope(struct core *c, struct core_thread *th, const struct scope_arm *scope,
                       enum store_call_kind kind, const struct arch_regs *regs, const uint64_t *ret,
                       struct err *err)
{
	uint64_t sp = arch_regs_sp(regs);
	struct frame f = { .entry_sp = sp, .level = 1, .max_level = scope->max_level };
	struct store_call call = { .kind = kind, .addr = arch_regs_pc(regs) };

	if (ret)
		f.ret_addr = *ret;
	else if (read_word(c, sp, &f.ret_addr))
		f.ret_addr = 0;
	call.ret_addr = f.ret_addr;
	f.truncated = f.max_level < 1;
	return core_open_frame(c, th, &f, &call, regs, err);
}

int core_step(struct core *c, struct core_thread *th, const struct arch_insn *insn,
              const struct arch_regs *before, const struct arch_regs *after,
              struct core_directive *d, struct err *err)
{
	OWNER_CHECK(&c->owner);
	if (store_insn(c->store, th->id, insn->addr, insn->bytes, insn->len, err) < 0)
		return -1;
	stat_set(&c->stats.insns, c->stats.insns + 1);
	return core_transfer(c, th, insn, before, after, d, err);
}

int core_transfer(struct core *c, struct core_thread *th, const struct arch_insn *insn,
                  const struct arch_regs *before, const struct arch_regs *after,
                  struct core_directive *d, struct err *err)
{
	uint64_t pc = arch_regs_pc(after);
	const struct scope_arm *scope;

	OWNER_CHECK(&c->owner);
	/* "call next; pop reg" reads the pc: a push, not a call to anything. */
	if (insn->cls == ARCH_INSN_CALL && arch_regs_sp(after) < arch_regs_sp(before) &&
	    pc != insn->addr + insn->len) {
		if (enter_call(c, th, insn, after, err))
			return -1;
	} else if (insn->cls != ARCH_INSN_OTHER) {
		/*
		 * Frames end where control leaves them: a longjmp or an exception
		 * landing moves the stack pointer first and jumps after, and the
		 * jump still belongs to the code that made it.
		 */
		if (close_by_sp(c, th, arch_regs_sp(after), insn->cls == ARCH_INSN_RET,
		                arch_is_sigreturn(insn, before), err))
			return -1;
		/* A scope reached by a jump (tail call, PLT stub) is entered all the same. */
		scope = scope_at(c, pc);
		if (scope && th->frames.len && pc != insn->addr + insn->len &&
		    (insn->cls == ARCH_INSN_JUMP || insn->cls == ARCH_INSN_BRANCH) &&
		    enter_scope(c, th, scope, STORE_CALL_JUMP, after, NULL, err))
			return -1;
	}
	core_directive_for(th, d);
	return 0;
}

/* scope_hit - core_scope_hit(), the return address given (ret) or read at the stack pointer */
static int scope_hit(struct core *c, struct core_thread *th, const struct arch_regs *regs,
                     const uint64_t *ret, struct core_directive *d, struct err *err)
{
	const struct scope_arm *scope = scope_at(c, arch_regs_pc(regs));

	if (close_by_sp(c, th, arch_regs_sp(regs), false, false, err))
		return -1;
	if (scope && enter_scope(c, th, scope, STORE_CALL_SCOPE, regs, ret, err))
		return -1;
	core_directive_for(th, d);
	return 0;
}

int core_scope_hit(struct core *c, struct core_thread *th, const struct arch_regs *regs,
                   struct core_directive *d, struct err *err)
{
	OWNER_CHECK(&c->owner);
	return scope_hit(c, th, regs, NULL, d, err);
}

int core_scope_hit_at(struct core *c, struct core_thread *th, const struct arch_regs *at,
                      uint64_t ret_addr, const uint64_t *bt, size_t bt_len,
                      struct core_directive *d, struct err *err)
{
	int rc;

	OWNER_CHECK(&c->owner);
	if (!bt != !bt_max(c) || bt_len > bt_max(c))
		return err_set(err, ERR_INTERNAL, "a scope entered at %#llx without its backtrace",
		               (unsigned long long)arch_regs_pc(at));
	c->given_bt = bt;
	c->given_bt_len = bt_len;
	rc = scope_hit(c, th, at, &ret_addr, d, err);
	c->given_bt = NULL;
	return rc;
}

int64_t core_scope_entry_budget(const struct core *c, uint64_t addr)
{
	const struct scope_arm *scope = scope_at(c, addr);

	if (!scope || scope->max_level < 1)
		return -1;
	return (int64_t)scope->max_level - 1;
}

size_t core_backtrace_depth(const struct core *c)
{
	return bt_max(c);
}

/*
 * to_learn - how many return addresses of the backtrace bt (n of them)
 * must be unwound to learn those known() does not know: up to the
 * outermost of them and the one after it, whose position gives its
 * frame's size; all n when the last one has to be learned as the
 * outermost frame (the unwinding ended before the maximum); 0 for none.
 */
static size_t to_learn(const struct core *c, const uint64_t *bt, size_t n,
                       const struct core_frames_known *known)
{
	size_t i = n;

	if (n < bt_max(c) && !known->fn(known->ctx, bt[n - 1], n - 1))
		return n;
	while (i > 1 && known->fn(known->ctx, bt[i - 2], i - 2))
		i--;
	return i > 1 ? i : 0;
}

/*
 * walk_frame - from where the current return address was read (*at) and
 * the frame pointer there (*fp, unless !*fp_known), where the caller's
 * is, as rule r says, and the caller's frame pointer; false where the
 * rule needs a frame pointer not known, the frame does not grow the
 * way a walk of the stack checks, or a word cannot be read
 */
static bool walk_frame(struct core *c, const struct sym_frame_rule *r, uint64_t *at, uint64_t *fp,
                       bool *fp_known)
{
	uint64_t cfa;

	if (r->kind == SYM_FRAME_FP) {
		if (!*fp_known || *fp < *at + ARCH_PTR_SIZE)
			return false;
		*at = *fp + ARCH_PTR_SIZE;
		return !images_read_word(c->images, *fp, fp);
	}
	*at += r->size;
	cfa = *at + ARCH_PTR_SIZE;
	if (r->fp == SYM_FP_LOST)
		*fp_known = false;
	else if (r->fp == SYM_FP_SAVED) {
		/* known again, whatever it was in this frame (the walk reloads it too) */
		if (images_read_word(c->images, cfa + (uint64_t)r->fp_at, fp))
			return false;
		*fp_known = true;
	}
	return true;
}

/* entry_frames - core_scope_hit_frames()'s frames, from the entry's backtrace if at hand */
static bool entry_frames(struct core *c, const struct arch_regs *regs,
                         const struct core_frames_known *known, struct core_entry_frames *f)
{
	uint64_t at = arch_regs_sp(regs), ret, next, dwarf[ARCH_DWARF_NREGS];
	struct sym_frame_rule end;
	bool fp_known = true;
	size_t n, m;

	if (!bt_max(c) || bt_max(c) > CORE_FRAMES_MAX || images_read_word(c->images, at, &ret) ||
	    !ret)
		return false;
	/* the scope hit unwound it when it opened the entry's call */
	n = c->bt_entry_len && c->bt_buf[0] == ret ? c->bt_entry_len
	                                           : entry_backtrace(c, regs, ret);
	m = n ? to_learn(c, c->bt_buf, n, known) : 0;
	f->bt_len = 0;
	f->outermost = false;
	if (!m)
		return true;
	arch_regs_to_dwarf(regs, dwarf);
	/* every frame from the entry's: the frame pointer goes through those known already */
	for (size_t i = 0; i + 1 < m; i++)
		if (images_frame_rule(c->images, c->bt_buf[i], i == 0, &f->rule[i]) ||
		    f->rule[i].kind == SYM_FRAME_END ||
		    !walk_frame(c, &f->rule[i], &at, &dwarf[ARCH_DWARF_FP], &fp_known) ||
		    images_read_word(c->images, at, &next) || next != c->bt_buf[i + 1])
			return false;
	memcpy(f->bt, c->bt_buf, m * sizeof(f->bt[0]));
	f->bt_len = m;
	f->outermost = m == n && n < bt_max(c) &&
	               !images_frame_rule(c->images, c->bt_buf[n - 1], n == 1, &end) &&
	               end.kind == SYM_FRAME_END;
	return true;
}

int core_code_before(struct core *c, uint64_t addr, uint64_t *start, uint64_t *end)
{
	OWNER_CHECK(&c->owner);
	return images_code_before(c->images, addr, start, end);
}

int core_frame_rows(struct core *c, uint64_t addr, struct sym_rows_cursor *cur, size_t max,
                    sym_frame_row_fn fn, void *arg)
{
	OWNER_CHECK(&c->owner);
	return images_frame_rows(c->images, addr, cur, max, fn, arg);
}

int core_scope_hit_frames(struct core *c, struct core_thread *th, const struct arch_regs *regs,
                          const struct core_frames_known *known, struct core_entry_frames *f,
                          bool *learn, struct core_directive *d, struct err *err)
{
	int ret = 0;

	OWNER_CHECK(&c->owner);
	c->bt_entry_len = 0;
	*learn = false;
	/* The thread is stopped: its stack is read once for the unwindings below. */
	images_hold_memory(c->images, true);
	if (scope_hit(c, th, regs, NULL, d, err))
		ret = -1;
	else
		*learn = d->mode == CORE_RECORD && entry_frames(c, regs, known, f);
	images_hold_memory(c->images, false);
	return ret;
}

int core_return_hit(struct core *c, struct core_thread *th, const struct arch_regs *regs,
                    struct core_directive *d, struct err *err)
{
	uint64_t pc = arch_regs_pc(regs), sp = arch_regs_sp(regs), out_sp;
	size_t n = th->frames.len;
	struct frame *f;

	OWNER_CHECK(&c->owner);
	/*
	 * The outermost frame the stack pointer has left returned if this is
	 * its return address (with those sharing its entry sp: tail calls);
	 * the frames it contained were unwound, even those with the same
	 * return address (recursion).
	 */
	while (n && th->frames.data[n - 1].resume_sp != SP_NEVER &&
	       sp > th->frames.data[n - 1].resume_sp)
		n--;
	out_sp = n < th->frames.len ? th->frames.data[n].resume_sp : 0;
	while (th->frames.len > n) {
		f = top_frame(th);
		if (core_close_top(c, th,
		                   f->ret_addr == pc && f->resume_sp == out_sp ? STORE_END_RETURN
		                                                               : STORE_END_UNWIND,
		                   err))
			return -1;
	}
	core_directive_for(th, d);
	return 0;
}

int core_signal(struct core *c, struct core_thread *th, int sig, const struct arch_regs *regs,
                struct err *err)
{
	char name[16];

	OWNER_CHECK(&c->owner);
	snprintf(name, sizeof(name), "SIG%s", sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
	return core_add_event(c, th, regs, STORE_EV_SIGNAL, sig, name, err) < 0 ? -1 : 0;
}

int core_signal_handler(struct core *c, struct core_thread *th, int sig,
                        const struct arch_regs *interrupted, const struct arch_regs *handler,
                        struct core_directive *d, struct err *err)
{
	struct frame *caller = top_frame(th);
	uint64_t isp = arch_regs_sp(interrupted), hsp = arch_regs_sp(handler);
	const struct scope_arm *scope = scope_at(c, arch_regs_pc(handler));
	struct frame f = { .signal = true, .ret_addr = arch_regs_pc(interrupted) };
	struct store_call call = { .kind = STORE_CALL_SIGNAL,
		                   .addr = arch_regs_pc(handler),
		                   .signal = sig };

	OWNER_CHECK(&c->owner);
	/*
	 * On the thread's own stack the handler runs below the interrupted
	 * stack pointer, so the frame is over once sp is back up there (also
	 * after a siglongjmp). On an alternate stack only rt_sigreturn ends it.
	 */
	f.entry_sp = hsp < isp ? isp - 1 : SP_NEVER;
	f.resume_sp = isp - 1;
	if (scope) {
		/* A handler that is a scope has its own budget, as when it is called. */
		f.level = 1;
		f.max_level = scope->max_level;
	} else {
		f.level = caller ? caller->level + 1 : 1;
		f.max_level = caller ? caller->max_level : 1;
	}
	f.truncated = f.level > f.max_level;
	call.ret_addr = f.ret_addr;
	if (core_open_frame(c, th, &f, &call, handler, err))
		return -1;
	core_directive_for(th, d);
	return 0;
}

int core_fork(struct core *c, struct core_thread *th, const struct arch_regs *regs, pid_t child,
              const char *how, struct err *err)
{
	OWNER_CHECK(&c->owner);
	return core_add_event(c, th, regs, STORE_EV_FORK, child, how, err) < 0 ? -1 : 0;
}

pid_t core_thread_tid(const struct core_thread *th)
{
	return th->tid;
}

int core_thread_set_tid(struct core *c, struct core_thread *th, pid_t tid, struct err *err)
{
	OWNER_CHECK(&c->owner);
	th->tid = tid;
	return store_thread_set_tid(c->store, th->id, tid, err);
}

void core_get_stats(const struct core *c, struct core_stats *st)
{
	st->insns = __atomic_load_n(&c->stats.insns, __ATOMIC_RELAXED);
	st->calls = __atomic_load_n(&c->stats.calls, __ATOMIC_RELAXED);
	st->threads = __atomic_load_n(&c->stats.threads, __ATOMIC_RELAXED);
	st->live_threads = __atomic_load_n(&c->stats.live_threads, __ATOMIC_RELAXED);
	st->events = __atomic_load_n(&c->stats.events, __ATOMIC_RELAXED);
}
