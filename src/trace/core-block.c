/*
 * The tracer core for backends that execute whole blocks of straight-line
 * code (the dbt engine): what they need to know to tell when an
 * instruction can change the call stack, and the bulk path that records a
 * block without looking at each of its instructions.
 */
#include "trace/core-internal.h"

uint64_t core_close_sp(const struct core_thread *th)
{
	const struct frame *f = th->frames.len ? &vec_last(&th->frames) : NULL;

	return f ? f->entry_sp : UINT64_MAX;
}

uint32_t core_call_budget(const struct core_thread *th)
{
	struct core_frame_info f;

	return th->frames.len && core_frame_at(th, (uint32_t)th->frames.len - 1, &f) ? f.budget : 0;
}

uint32_t core_open_frames(const struct core_thread *th)
{
	return (uint32_t)th->frames.len;
}

uint64_t core_root_sp(const struct core_thread *th)
{
	return th->frames.len ? th->frames.data[0].entry_sp : 0;
}

bool core_frame_at(const struct core_thread *th, uint32_t i, struct core_frame_info *out)
{
	const struct frame *f = i < th->frames.len ? &th->frames.data[i] : NULL;

	if (!f)
		return false;
	*out = (struct core_frame_info){
		.entry_sp = f->entry_sp,
		.ret_addr = f->ret_addr,
		.budget = f->truncated || f->level >= f->max_level ? 0 : f->max_level - f->level,
		.truncated = f->truncated,
		.signal = f->signal,
	};
	return true;
}

int64_t core_block(struct core *c, const struct arch_insn *const *insns, size_t n, struct err *err)
{
	uint32_t ids[CORE_BLOCK_MAX];
	size_t k;

	OWNER_CHECK(&c->owner);
	if (n > CORE_BLOCK_MAX)
		return err_set(err, ERR_INTERNAL, "a block of %zu instructions", n);
	for (k = 0; k < n; k++) {
		int64_t id = store_insn_intern(c->store, insns[k]->addr, insns[k]->bytes,
		                               insns[k]->len, err);

		if (id < 0)
			return -1;
		ids[k] = (uint32_t)id;
	}
	return store_block_intern(c->store, ids, n, err);
}

int core_record_blocks(struct core *c, struct core_thread *th, const struct store_run *runs,
                       size_t n, struct err *err)
{
	int64_t insns = store_stream_append_runs(c->store, th->id, runs, n, err);

	OWNER_CHECK(&c->owner);
	if (insns < 0)
		return -1;
	stat_set(&c->stats.insns, c->stats.insns + (uint64_t)insns);
	return 0;
}

void core_coarse_times(struct core *c)
{
	c->clock = CLOCK_REALTIME_COARSE;
}
