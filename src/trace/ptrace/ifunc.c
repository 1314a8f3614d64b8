/*
 * What IFUNC resolvers return. A scope on an IFUNC is entered at the
 * implementation its resolver returns (core-scope.c), and the resolver
 * runs whenever the dynamic linker binds the name: at the first call
 * through a lazy PLT slot, when a library using it is loaded, in a static
 * program's start-up code. So each resolver the core lists
 * (core_resolvers()) gets a hook at its entry; a thread passing it gets a
 * hook at its return address, and when that thread is back there (the
 * stack pointer above the entry's), the return value register holds the
 * implementation (core_ifunc_resolved()).
 *
 * These hooks are the tracer's own breakpoints (BP_INTERNAL): like the
 * unwinding hooks they act when any thread passes them, trapped or
 * stepped, with its registers read (the step engine's step_resume() hands them over).
 */
#include <stdlib.h>

#include "trace/ptrace/tracee.h"
#include "util/xalloc.h"

#define MAX_RESOLVERS 64

struct resolver {
	uint64_t base; /* the binary it belongs to */
};

/* watch - a breakpoint the tracer needs to see threads reach, even where code was translated */
static int watch(struct tracee *t, uint64_t addr, struct err *err)
{
	if (tracee_bp_add(t, addr, BP_INTERNAL, err))
		return -1;
	if (t->engine && t->engine->ops->watch)
		t->engine->ops->watch(t->engine->self, addr);
	return 0;
}

int ifunc_hooks_add(struct tracee *t, uint64_t base, struct err *err)
{
	uint64_t addrs[MAX_RESOLVERS];
	size_t n = core_resolvers(t->core, base, addrs, MAX_RESOLVERS), i;

	for (i = 0; i < n && i < MAX_RESOLVERS; i++) {
		struct resolver *r;

		if (hashmap_get(&t->resolvers, addrs[i]))
			continue;
		if (watch(t, addrs[i], err))
			return -1;
		r = xmalloc(sizeof(*r));
		r->base = base;
		hashmap_put(&t->resolvers, addrs[i], r);
	}
	return 0;
}

/* drop_wait - forget the i-th pending return (and its breakpoint) */
static void drop_wait(struct tracee *t, size_t i, bool touch_memory)
{
	if (touch_memory)
		tracee_bp_del(t, t->ifunc_waits.data[i].ret, BP_INTERNAL);
	t->ifunc_waits.data[i] = vec_last(&t->ifunc_waits);
	t->ifunc_waits.len--;
}

void ifunc_hooks_remove(struct tracee *t, uint64_t base)
{
	struct resolver *r;
	uint64_t addr;
	size_t i = 0;

	while (hashmap_next(&t->resolvers, &i, &addr, (void **)&r)) {
		if (r->base != base)
			continue;
		tracee_bp_del(t, addr, BP_INTERNAL);
		free(hashmap_del(&t->resolvers, addr));
		for (size_t w = t->ifunc_waits.len; w-- > 0;)
			if (t->ifunc_waits.data[w].resolver == addr)
				drop_wait(t, w, true);
		i = 0; /* deleting reorders the table: rescan */
	}
}

void ifunc_forget(struct tracee *t)
{
	size_t i = 0;
	void *r;

	while (hashmap_next(&t->resolvers, &i, NULL, &r))
		free(r);
	hashmap_fini(&t->resolvers);
	hashmap_init(&t->resolvers);
	vec_free(&t->ifunc_waits);
}

/* entered - th is at a resolver's entry: watch for its return */
static int entered(struct tracee *t, struct tthread *th, uint64_t resolver, struct err *err)
{
	struct ifunc_wait w = { th->tid, resolver, 0, arch_regs_sp(&th->regs) };
	struct ifunc_wait *it;

	if (tracee_read(t, w.sp, &w.ret, sizeof(w.ret)) || !w.ret)
		return 0;
	/* The hooks act each time a thread is let go from here: once is enough. */
	vec_foreach (&t->ifunc_waits, it)
		if (it->tid == w.tid && it->sp == w.sp && it->ret == w.ret)
			return 0;
	if (watch(t, w.ret, err))
		return -1;
	vec_push(&t->ifunc_waits, w);
	return 0;
}

int ifunc_on_hook(struct tracee *t, struct tthread *th, uint64_t addr, struct err *err)
{
	size_t i;

	if (th->kind != TT_THREAD)
		return 0;
	if (hashmap_get(&t->resolvers, addr) && entered(t, th, addr, err))
		return -1;
	for (i = t->ifunc_waits.len; i-- > 0;) {
		struct ifunc_wait w = t->ifunc_waits.data[i];

		if (w.tid != th->tid || w.ret != addr || arch_regs_sp(&th->regs) <= w.sp)
			continue;
		drop_wait(t, i, true);
		if (core_ifunc_resolved(t->core, w.resolver, arch_regs_ret(&th->regs), err))
			return -1;
	}
	return 0;
}
