/*
 * Where a call is left without returning. A C++ exception or a longjmp
 * leaves calls for a frame further out, past their return addresses; the
 * runtime decides where execution continues in _Unwind_SetIP (the
 * personality routine setting a landing pad) and the longjmp family (whose
 * jmp_buf holds the target). These hooks are internal breakpoints there,
 * and escape_target() says where a thread at one will land; what to do
 * with it is the engine's (the step engine's landing.c).
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

#define N_HOOKS (sizeof(hook_names) / sizeof(hook_names[0]))

int escape_hooks_add(struct tracee *t, uint64_t base, struct err *err)
{
	const char *names[N_HOOKS];
	uint64_t addrs[N_HOOKS];
	bool found[N_HOOKS];
	size_t i;

	for (i = 0; i < N_HOOKS; i++)
		names[i] = hook_names[i].name;
	/* At once: a program's symbol tables are read for each lookup. */
	core_symbols_addr(t->core, base, names, N_HOOKS, addrs, found);
	for (i = 0; i < N_HOOKS; i++) {
		struct hook *h;

		if (!found[i] || hashmap_get(&t->hooks, addrs[i]))
			continue;
		if (tracee_bp_add(t, addrs[i], BP_INTERNAL, err))
			return -1;
		h = xmalloc(sizeof(*h));
		h->kind = hook_names[i].kind;
		h->base = base;
		hashmap_put(&t->hooks, addrs[i], h);
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

uint64_t escape_target(struct tracee *t, const struct tthread *th, uint64_t addr)
{
	const struct hook *h = hashmap_get(&t->hooks, addr);
	uint64_t target;

	if (!h)
		return 0;
	if (h->kind == HOOK_SET_IP)
		return arch_regs_arg(&th->regs, 1);
	return arch_longjmp_target(&th->regs, read_tracee, t, &target) ? 0 : target;
}
