/*
 * Threads nosco found running when it attached to a process (nosco run
 * --pid): an attach event holding where each was and its backtrace, and in
 * full mode the calls open at that moment as frames of their own, so that
 * returning out of them closes them as any other call.
 */
#include "sym/image.h"
#include "trace/core-internal.h"

/* The open calls made frames of, at most (deeper stacks keep the rest in the root). */
#define ATTACH_MAX_FRAMES 256
/* How far above the previous one a return address is looked for on the stack. */
#define SLOT_SCAN_MAX (256u * 1024)

/* find_word - the first address from `from` up (8-byte steps) holding value */
static bool find_word(struct core *c, uint64_t from, uint64_t value, uint64_t *at)
{
	uint64_t buf[512], a = from;
	long got;
	size_t i;

	while (a < from + SLOT_SCAN_MAX) {
		got = c->target.read_mem(c->target.ctx, a, buf, sizeof(buf));
		if (got < (long)sizeof(buf[0]))
			return false;
		for (i = 0; i < (size_t)got / sizeof(buf[0]); i++)
			if (buf[i] == value) {
				*at = a + i * sizeof(buf[0]);
				return true;
			}
		a += i * sizeof(buf[0]);
	}
	return false;
}

/*
 * find_slots - where the return addresses of bt (innermost first) are on
 * the stack, each above the one before, from sp up: each open call's
 * entry stack pointer. Return: how many were found; the first one not
 * found ends the search.
 */
static size_t find_slots(struct core *c, uint64_t sp, const uint64_t *bt, size_t n, uint64_t *slots)
{
	uint64_t at = sp;
	size_t k;

	for (k = 0; k < n; k++) {
		if (!find_word(c, at, bt[k], &slots[k]))
			break;
		at = slots[k] + sizeof(uint64_t);
	}
	return k;
}

/*
 * open_calls - full mode: the calls open at the attach as frames inside the
 * attached root, outermost first. Each is at level 1 (it is where the
 * trace starts for the calls it makes) and its address is where it was:
 * the innermost's pc, the others' return points.
 */
static int open_calls(struct core *c, struct core_thread *th, const struct arch_regs *regs,
                      struct err *err)
{
	uint64_t bt[ATTACH_MAX_FRAMES], slots[ATTACH_MAX_FRAMES];
	size_t n = images_backtrace(c->images, regs, bt, ATTACH_MAX_FRAMES);
	size_t k = find_slots(c, arch_regs_sp(regs), bt, n, slots);

	while (k-- > 0) {
		struct frame f = { .entry_sp = slots[k],
			           .ret_addr = bt[k],
			           .level = 1,
			           .max_level = (uint32_t)c->cfg->call_depth };
		struct store_call call = { .kind = STORE_CALL_ATTACHED,
			                   .addr = k ? bt[k - 1] : arch_regs_pc(regs),
			                   .ret_addr = bt[k] };

		if (core_open_frame(c, th, &f, &call, regs, err))
			return -1;
	}
	return 0;
}

/* function_start - the entry of the function containing addr (0: unknown) */
static uint64_t function_start(struct core *c, uint64_t addr)
{
	struct image *img = images_at(c->images, addr);
	struct sym_info si;

	if (!img || !img->sym || sym_image_by_addr(img->sym, addr - img->base, &si, NULL) != 1)
		return 0;
	return addr - si.offset;
}

/*
 * open_scope_calls - scoped mode: a thread in a scope when nosco attached
 * records the rest of it. The outermost open call of a scope's function
 * and those inside it become frames (as if entered then: levels, depth
 * limit), the scope's a root whose backtrace is the stack beyond it.
 */
static int open_scope_calls(struct core *c, struct core_thread *th, const struct arch_regs *regs,
                            struct err *err)
{
	uint64_t bt[ATTACH_MAX_FRAMES], slots[ATTACH_MAX_FRAMES];
	size_t n = images_backtrace(c->images, regs, bt, ATTACH_MAX_FRAMES), j, k;
	const struct scope_arm *scope = NULL;

	/* Frame j is in the function holding bt[j - 1] (the pc for j = 0), returns to bt[j]. */
	for (j = n; j-- > 0;) {
		scope = hashmap_get(&c->scope_by_addr,
		                    function_start(c, j ? bt[j - 1] : arch_regs_pc(regs)));
		if (scope)
			break;
	}
	if (!scope || find_slots(c, arch_regs_sp(regs), bt, j + 1, slots) != j + 1)
		return 0;
	for (k = j + 1; k-- > 0;) {
		const struct frame *caller = top_frame(th);
		uint64_t where = k ? bt[k - 1] : arch_regs_pc(regs);
		const struct scope_arm *sc =
		        hashmap_get(&c->scope_by_addr, function_start(c, where));
		struct frame f = { .entry_sp = slots[k], .ret_addr = bt[k] };
		struct store_call call = { .kind = STORE_CALL_ATTACHED,
			                   .addr = where,
			                   .ret_addr = bt[k] };

		f.level = sc || !caller ? 1 : caller->level + 1;
		f.max_level = sc ? sc->max_level : caller->max_level;
		f.truncated = f.level > f.max_level;
		if (!caller) {
			call.bt = bt + k; /* from its own return address, as for a call entered */
			call.bt_len = n - k;
			if (call.bt_len > (size_t)c->cfg->backtrace_depth)
				call.bt_len = (size_t)c->cfg->backtrace_depth;
		}
		if (core_open_frame(c, th, &f, &call, regs, err))
			return -1;
		/* Nothing is recorded inside a call past the depth limit: it runs to its return. */
		if (f.truncated)
			break;
	}
	return 0;
}

struct core_thread *core_thread_attached(struct core *c, pid_t tid, const struct arch_regs *regs,
                                         struct core_directive *d, struct err *err)
{
	struct core_thread *th = core_thread_add(c, tid, NULL, NULL, err);

	OWNER_CHECK(&c->owner);
	/* The event, outside any call, holds where the thread was and the calls open then. */
	if (!th || core_add_event(c, th, regs, STORE_EV_ATTACH, th->id, NULL, err) < 0 ||
	    core_start_frames(c, th, regs, STORE_CALL_ATTACHED, d, err))
		return NULL;
	if (th->frames.len ? open_calls(c, th, regs, err) : open_scope_calls(c, th, regs, err))
		return NULL;
	core_directive_for(th, d);
	return th;
}
