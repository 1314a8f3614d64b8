/*
 * Software breakpoints. One record per address, shared by every role that
 * needs the address (a scope entry, threads' return points, the tracer's
 * own hooks); the int3 stays in memory while any role holds it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace/ptrace/tracee.h"
#include "util/xalloc.h"

struct bp *tracee_bp_at(struct tracee *t, uint64_t addr)
{
	return hashmap_get(&t->bps, addr);
}

struct bp *tracee_bp_covering(struct tracee *t, uint64_t addr)
{
	struct bp *bp;
	unsigned k;

	for (k = 0; k < BP_MAX_LEN && k <= addr; k++) {
		bp = tracee_bp_at(t, addr - k);
		if (bp && bp->inserted && k < bp->len)
			return bp;
	}
	return NULL;
}

/*
 * undoor - bp is a breakpoint instruction again. Its first byte goes
 * first: a thread that reaches it meanwhile stops there, and none is in
 * the middle of a door's bytes (tracee_bp_door()). Lifted, it is only
 * put back so.
 */
static int undoor(struct tracee *t, struct bp *bp, struct err *err)
{
	if (bp->len == ARCH_BP_LEN)
		return 0;
	if (bp->inserted && (tracee_write_raw(t, bp->addr, arch_bp_insn, ARCH_BP_LEN) ||
	                     tracee_write_raw(t, bp->addr + ARCH_BP_LEN, bp->orig + ARCH_BP_LEN,
	                                      bp->len - ARCH_BP_LEN)))
		return err_set(err, ERR_TRACE, "cannot take the door at %#llx out",
		               (unsigned long long)bp->addr);
	bp->len = ARCH_BP_LEN;
	memcpy(bp->code, arch_bp_insn, ARCH_BP_LEN);
	t->bp_epoch++;
	return 0;
}

int tracee_bp_door(struct tracee *t, struct bp *bp, const uint8_t *code, size_t len,
                   struct err *err)
{
	uint8_t orig[BP_MAX_LEN];

	if (!bp->inserted || bp->len != ARCH_BP_LEN || len <= ARCH_BP_LEN || len > BP_MAX_LEN)
		return err_set(err, ERR_INTERNAL, "no door fits the breakpoint at %#llx",
		               (unsigned long long)bp->addr);
	memcpy(orig, bp->orig, ARCH_BP_LEN);
	if (tracee_read(t, bp->addr + ARCH_BP_LEN, orig + ARCH_BP_LEN, len - ARCH_BP_LEN) ||
	    tracee_write_raw(t, bp->addr + ARCH_BP_LEN, code + ARCH_BP_LEN, len - ARCH_BP_LEN) ||
	    tracee_write_raw(t, bp->addr, code, ARCH_BP_LEN))
		return err_set(err, ERR_TRACE, "cannot write a door at %#llx",
		               (unsigned long long)bp->addr);
	memcpy(bp->orig, orig, len);
	memcpy(bp->code, code, len);
	bp->len = (uint8_t)len;
	t->bp_epoch++;
	return 0;
}

/* note_roles - bp's engine learns whether a role its door does not play is there */
static void note_roles(struct bp *bp)
{
	if (bp->armed)
		__atomic_store_n(bp->armed, bp->scopes + bp->rets + bp->steps + bp->internal,
		                 __ATOMIC_RELEASE);
}

static unsigned *role_count(struct bp *bp, enum bp_role role)
{
	switch (role) {
	case BP_SCOPE:
		return &bp->scopes;
	case BP_RET:
		return &bp->rets;
	case BP_STEP:
		return &bp->steps;
	case BP_DOOR:
		return &bp->doors;
	default:
		return &bp->internal;
	}
}

void tracee_bp_watch(struct bp *bp, uint64_t *armed)
{
	bp->armed = armed;
	note_roles(bp);
}

int tracee_bp_add(struct tracee *t, uint64_t addr, enum bp_role role, struct err *err)
{
	struct bp *bp = tracee_bp_at(t, addr);

	if (!bp) {
		struct bp *door = tracee_bp_covering(t, addr);

		/* A door's bytes cannot hold another breakpoint: it becomes one again. */
		if (door && undoor(t, door, err))
			return -1;
		bp = xcalloc(1, sizeof(*bp));
		bp->addr = addr;
		bp->len = ARCH_BP_LEN;
		memcpy(bp->code, arch_bp_insn, ARCH_BP_LEN);
		if (tracee_read(t, addr, bp->orig, ARCH_BP_LEN) ||
		    tracee_write_raw(t, addr, arch_bp_insn, ARCH_BP_LEN)) {
			free(bp);
			return err_set(err, ERR_TRACE, "cannot set a breakpoint at %#llx",
			               (unsigned long long)addr);
		}
		bp->inserted = true;
		t->bp_epoch++;
		hashmap_put(&t->bps, addr, bp);
	}
	(*role_count(bp, role))++;
	note_roles(bp);
	return 0;
}

void tracee_bp_del(struct tracee *t, uint64_t addr, enum bp_role role)
{
	struct bp *bp = tracee_bp_at(t, addr);
	unsigned *n;

	if (!bp)
		return;
	n = role_count(bp, role);
	if (*n)
		(*n)--;
	note_roles(bp);
	/* The engine's door goes; its other roles keep the breakpoint instruction. */
	if (role == BP_DOOR && !bp->doors)
		undoor(t, bp, &(struct err){ 0 });
	if (bp->scopes || bp->rets || bp->internal || bp->steps || bp->doors)
		return;
	/* The page may be gone already (dlclose): then there is nothing to restore. */
	if (bp->inserted) {
		tracee_write_raw(t, addr, bp->orig, bp->len);
		t->bp_epoch++;
	}
	hashmap_del(&t->bps, addr);
	free(bp);
}

void tracee_bp_forget_all(struct tracee *t)
{
	size_t i = 0;
	void *bp;
	struct tthread *th;

	while (hashmap_next(&t->bps, &i, NULL, &bp))
		free(bp);
	hashmap_fini(&t->bps);
	hashmap_init(&t->bps);
	i = 0;
	while (hashmap_next(&t->threads, &i, NULL, (void **)&th))
		th->step_bp = 0;
}

int tracee_bp_lift(struct tracee *t, struct bp *bp, struct err *err)
{
	if (!bp->inserted)
		return 0;
	if (tracee_write_raw(t, bp->addr, bp->orig, bp->len))
		return err_set(err, ERR_TRACE, "cannot lift the breakpoint at %#llx",
		               (unsigned long long)bp->addr);
	bp->inserted = false;
	t->bp_epoch++;
	return 0;
}

int tracee_bp_restore(struct tracee *t, uint64_t addr, struct err *err)
{
	struct bp *bp = tracee_bp_at(t, addr);

	/* Its last role may have been dropped during the step-over. */
	if (!bp || bp->inserted)
		return 0;
	if (tracee_write_raw(t, addr, bp->code, bp->len))
		return err_set(err, ERR_TRACE, "cannot restore the breakpoint at %#llx",
		               (unsigned long long)addr);
	bp->inserted = true;
	t->bp_epoch++;
	return 0;
}

int tracee_bp_clean_child(struct tracee *t, pid_t child, struct err *err)
{
	char path[64];
	size_t i = 0;
	struct bp *bp;
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)child);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, ERR_TRACE, "cannot open %s", path);
	while (hashmap_next(&t->bps, &i, NULL, (void **)&bp)) {
		if (bp->inserted &&
		    pwrite(fd, bp->orig, bp->len, (off_t)bp->addr) != (ssize_t)bp->len)
			ret = err_set(err, ERR_TRACE,
			              "cannot remove a breakpoint from child %d at %#llx",
			              (int)child, (unsigned long long)bp->addr);
	}
	close(fd);
	return ret;
}
