/*
 * Leaving a truncated call without returning. A call past the depth limit
 * runs free until its return address is reached, but a C++ exception or a
 * longjmp can leave it for a frame we record, past that return address. So
 * we also break where the runtime decides where execution continues:
 * _Unwind_SetIP (the personality routine setting a landing pad) and the
 * longjmp family (whose jmp_buf holds the target). The thread then gets a
 * breakpoint at that target too, and the core closes whatever the stack
 * pointer says was left.
 */
#include <stdlib.h>
#include <string.h>

#include "trace/ptrace/tracee.h"
#include "util/xalloc.h"

enum hook_kind { HOOK_SET_IP = 1, HOOK_LONGJMP };

struct hook {
	enum hook_kind kind;
	uint64_t base; /* the binary it belongs to */
};

static const struct {
	const char *name;
	enum hook_kind kind;
} hook_names[] = {
	{ "_Unwind_SetIP", HOOK_SET_IP },  { "longjmp", HOOK_LONGJMP },
	{ "_longjmp", HOOK_LONGJMP },      { "siglongjmp", HOOK_LONGJMP },
	{ "__longjmp_chk", HOOK_LONGJMP },
};

int escape_hooks_add(struct tracee *t, uint64_t base, struct err *err)
{
	size_t i;

	for (i = 0; i < sizeof(hook_names) / sizeof(hook_names[0]); i++) {
		struct hook *h;
		uint64_t addr;

		if (core_symbol_addr(t->core, base, hook_names[i].name, &addr) ||
		    hashmap_get(&t->hooks, addr))
			continue;
		if (tracee_bp_add(t, addr, BP_INTERNAL, err))
			return -1;
		h = xmalloc(sizeof(*h));
		h->kind = hook_names[i].kind;
		h->base = base;
		hashmap_put(&t->hooks, addr, h);
	}
	return 0;
}

void escape_hooks_remove(struct tracee *t, uint64_t base)
{
	struct hook *h;
	uint64_t addr;
	size_t i = 0;

	while (hashmap_next(&t->hooks, &i, &addr, (void **)&h)) {
		if (h->base != base)
			continue;
		tracee_bp_del(t, addr, BP_INTERNAL);
		free(hashmap_del(&t->hooks, addr));
		i = 0;
	}
}

void escape_hooks_forget(struct tracee *t)
{
	size_t i = 0;
	void *h;

	ifunc_forget(t);
	while (hashmap_next(&t->hooks, &i, NULL, &h))
		free(h);
	hashmap_fini(&t->hooks);
	hashmap_init(&t->hooks);
}

static int read_tracee(void *t, uint64_t addr, void *buf, size_t len)
{
	return tracee_read(t, addr, buf, len);
}

/* target_of - where the hooked function will make execution continue, 0 if unknown */
static uint64_t target_of(struct tracee *t, struct tthread *th, const struct hook *h)
{
	uint64_t target;

	if (h->kind == HOOK_SET_IP)
		return arch_regs_arg(&th->regs, 1);
	return arch_longjmp_target(&th->regs, read_tracee, t, &target) ? 0 : target;
}

/* watch - th resumes recording if it lands at target (a breakpoint there) */
static int watch(struct tracee *t, struct tthread *th, uint64_t target, struct err *err)
{
	uint64_t *it;

	vec_foreach (&th->resume_bps, it)
		if (*it == target)
			return 0;
	if (tracee_bp_add(t, target, BP_RET, err))
		return -1;
	vec_push(&th->resume_bps, target);
	return 0;
}

int escape_on_hook(struct tracee *t, struct tthread *th, uint64_t addr, struct err *err)
{
	const struct hook *h = hashmap_get(&t->hooks, addr);
	uint64_t target;

	if (ifunc_on_hook(t, th, addr, err))
		return -1;
	if (!h || (th->dir.mode != CORE_RUN_TO_RETURN && th->dir.mode != CORE_RECORD))
		return 0;
	target = target_of(t, th, h);
	if (!target)
		return 0;
	/* Recorded here, it may go on past the depth limit: watched from then on. */
	if (th->dir.mode == CORE_RECORD) {
		th->landing = target;
		return 0;
	}
	return watch(t, th, target, err);
}

int escape_watch_landing(struct tracee *t, struct tthread *th, struct err *err)
{
	/* Out of every scope, it landed or will land unrecorded anyway. */
	if (th->dir.mode != CORE_RUN_TO_RETURN && th->dir.mode != CORE_RECORD)
		th->landing = 0;
	if (!th->landing || th->dir.mode != CORE_RUN_TO_RETURN)
		return 0;
	return watch(t, th, th->landing, err);
}

bool escape_take_resume(struct tracee *t, struct tthread *th, uint64_t addr)
{
	size_t i;

	for (i = 0; i < th->resume_bps.len; i++) {
		if (th->resume_bps.data[i] != addr)
			continue;
		th->resume_bps.data[i] = vec_last(&th->resume_bps);
		th->resume_bps.len--;
		tracee_bp_del(t, addr, BP_RET);
		if (th->landing == addr)
			th->landing = 0;
		return true;
	}
	return false;
}

void escape_clear_resume(struct tracee *t, struct tthread *th)
{
	uint64_t *it;

	vec_foreach (&th->resume_bps, it)
		tracee_bp_del(t, *it, BP_RET);
	th->resume_bps.len = 0;
}
