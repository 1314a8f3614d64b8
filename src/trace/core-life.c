/*
 * The tracer core's lifecycle parts: creating the core, threads starting
 * and exiting, binaries coming and going (the scopes they resolve are
 * core-scope.c's), exec, and the end of the trace.
 */
#include <stdlib.h>
#include <string.h>

#include "trace/core-internal.h"
#include "trace/images.h"

/*
 * note_known - img was read before the run (the program): has it an
 * IFUNC? In scoped mode its dynamic linker is read now, while the kernel
 * loads the program, for core_quiet_start() at its exec.
 */
static void note_known(struct image *img, void *arg)
{
	struct core *c = arg;

	c->early_ifunc = c->early_ifunc || image_has_ifunc(img);
	if (!c->full_mode && image_interp(img))
		c->interp = images_preload(c->images, image_interp(img), 0);
}

struct core *core_new(const struct config *cfg, struct store *store, struct images *known,
                      const struct core_target *target, struct err *err)
{
	struct core *c = xcalloc(1, sizeof(*c));

	(void)err;
	owner_init(&c->owner);
	c->cfg = cfg;
	c->store = store;
	c->target = *target;
	c->full_mode = cfg->n_scopes == 0;
	c->clock = CLOCK_REALTIME;
	c->scope_matched = xcalloc(cfg->n_scopes ? cfg->n_scopes : 1, sizeof(bool));
	c->scope_warned = xcalloc(cfg->n_scopes ? cfg->n_scopes : 1, sizeof(bool));
	c->images = images_new(target->read_mem, target->ctx);
	images_reuse(c->images, known);
	if (known)
		images_foreach(known, note_known, c);
	hashmap_init(&c->scope_by_addr);
	return c;
}

void core_hand_over(struct core *c, pthread_t to)
{
	owner_give(&c->owner, to);
	store_hand_over(c->store, to);
}

void core_free(struct core *c)
{
	struct core_thread **th;
	size_t i = 0;

	if (!c)
		return;
	vec_foreach (&c->threads, th) {
		vec_free(&(*th)->frames);
		free(*th);
	}
	vec_free(&c->threads);
	for (i = 0; i < c->binary_names.len; i++)
		free(c->binary_names.data[i]);
	vec_free(&c->binary_names);
	core_scopes_free(c);
	images_free(c->images);
	free(c->scope_matched);
	free(c->scope_warned);
	free(c);
}

int core_start_frames(struct core *c, struct core_thread *th, const struct arch_regs *regs,
                      enum store_call_kind kind, struct core_directive *d, struct err *err)
{
	/* Full mode: the thread's start is an implicit outermost call that never returns. */
	if (c->full_mode && c->cfg->call_depth > 0) {
		struct frame f = { .entry_sp = UINT64_MAX,
			           .level = 1,
			           .max_level = (uint32_t)c->cfg->call_depth };
		struct store_call call = { .kind = kind, .addr = arch_regs_pc(regs) };

		if (core_open_frame(c, th, &f, &call, regs, err))
			return -1;
	}
	core_directive_for(th, d);
	return 0;
}

struct core_thread *core_thread_add(struct core *c, pid_t tid, struct core_thread *parent,
                                    const struct arch_regs *parent_regs, struct err *err)
{
	struct core_thread *th = xcalloc(1, sizeof(*th));
	int64_t ev = STORE_NONE;

	th->tid = tid;
	vec_push(&c->threads, th);
	/* Store ids are dense, so the new thread's id is known before it is stored. */
	if (parent) {
		ev = core_add_event(c, parent, parent_regs, STORE_EV_CREATE_THREAD, c->n_threads,
		                    NULL, err);
		if (ev < 0)
			return NULL;
	}
	th->id = store_thread_add(c->store, tid, ev, err);
	if (th->id < 0)
		return NULL;
	if (th->id != c->n_threads++) {
		err_set(err, ERR_INTERNAL, "store gave thread id %lld, expected %lld",
		        (long long)th->id, (long long)c->n_threads - 1);
		return NULL;
	}
	stat_set(&c->stats.threads, c->stats.threads + 1);
	stat_set(&c->stats.live_threads, c->stats.live_threads + 1);
	return th;
}

struct core_thread *core_thread_new(struct core *c, pid_t tid, struct core_thread *parent,
                                    const struct arch_regs *parent_regs,
                                    const struct arch_regs *regs, struct core_directive *d,
                                    struct err *err)
{
	struct core_thread *th = core_thread_add(c, tid, parent, parent_regs, err);

	OWNER_CHECK(&c->owner);
	if (!th || core_start_frames(c, th, regs, STORE_CALL_ROOT, d, err))
		return NULL;
	return th;
}

static int close_all(struct core *c, struct core_thread *th, enum store_call_end how,
                     struct err *err)
{
	while (th->frames.len)
		if (core_close_top(c, th, how, err))
			return -1;
	return 0;
}

/* record_last - store the instruction that ended a thread or its image */
static int record_last(struct core *c, struct core_thread *th, const struct arch_insn *last,
                       struct err *err)
{
	if (!last)
		return 0;
	stat_set(&c->stats.insns, c->stats.insns + 1);
	return store_insn(c->store, th->id, last->addr, last->bytes, last->len, err) < 0 ? -1 : 0;
}

int core_thread_exit(struct core *c, struct core_thread *th, const struct arch_insn *last,
                     const struct arch_regs *regs, const struct store_exit *ex, struct err *err)
{
	int64_t ev;

	OWNER_CHECK(&c->owner);
	if (th->exited)
		return 0;
	if (record_last(c, th, last, err))
		return -1;
	ev = core_add_event(c, th, regs, STORE_EV_EXIT_THREAD, th->id, NULL, err);
	if (ev < 0 || close_all(c, th, STORE_END_EXIT, err))
		return -1;
	th->exited = true;
	stat_set(&c->stats.live_threads, c->stats.live_threads - 1);
	return store_thread_exited(c->store, th->id, ex, ev, err);
}

static void remember_name(struct core *c, const struct image *img)
{
	const char *slash = strrchr(img->path, '/');
	const char *name = slash ? slash + 1 : img->path;
	size_t i;

	for (i = 0; i < c->binary_names.len; i++)
		if (!strcmp(c->binary_names.data[i], name))
			return;
	vec_push(&c->binary_names, xstrdup(name));
}

int core_binary_loaded(struct core *c, struct core_thread *th, const struct arch_regs *regs,
                       const struct core_binary *b, struct err *err)
{
	struct image *img = images_add(c->images, b->path, b->name, b->base, b->image, b->image_len,
	                               b->is_main);
	struct store_binary sb = {
		.path = img->path,
		.name = img->name,
		.base = img->base,
		.start = img->start,
		.end = img->end,
		.image = b->image,
		.image_len = b->image_len,
	};
	int64_t ev = STORE_NONE;

	OWNER_CHECK(&c->owner);
	sb.build_id = image_build_id(img, &sb.build_id_len);
	remember_name(c, img);
	if (th) {
		ev = core_add_load_event(c, th, regs, b->same_stop, c->n_binaries, err);
		if (ev < 0)
			return -1;
	}
	img->id = store_binary_add(c->store, &sb, ev, err);
	if (img->id < 0)
		return -1;
	if (img->id != c->n_binaries++)
		return err_set(err, ERR_INTERNAL, "store gave binary id %lld, expected %lld",
		               (long long)img->id, (long long)c->n_binaries - 1);
	return core_scopes_load(c, img, err);
}

int core_binary_unloaded(struct core *c, struct core_thread *th, const struct arch_regs *regs,
                         uint64_t base, struct err *err)
{
	struct image *img = images_take(c->images, base);
	int64_t ev;
	int ret = -1;

	OWNER_CHECK(&c->owner);
	if (!img)
		return 0;
	core_scopes_unload(c, base);
	if (c->target.binary_unloaded)
		c->target.binary_unloaded(c->target.ctx, img->start, img->end);
	ev = core_add_event(c, th, regs, STORE_EV_UNLOAD_BINARY, img->id, NULL, err);
	if (ev >= 0)
		ret = store_binary_unloaded(c->store, img->id, ev, err);
	image_free(img);
	return ret;
}

static void collect_base(struct image *img, void *arg)
{
	VEC(uint64_t) *bases = arg;

	vec_push(bases, img->base);
}

int core_exec(struct core *c, struct core_thread *th, const struct arch_insn *last,
              const char *path, struct err *err)
{
	OWNER_CHECK(&c->owner);
	VEC(uint64_t) bases = { 0 };
	int ret = 0;
	size_t i;

	if (record_last(c, th, last, err) ||
	    core_add_event(c, th, NULL, STORE_EV_EXEC, STORE_NONE, path, err) < 0 ||
	    close_all(c, th, STORE_END_EXEC, err))
		return -1;
	images_foreach(c->images, collect_base, &bases);
	for (i = 0; i < bases.len && !ret; i++)
		ret = core_binary_unloaded(c, th, NULL, bases.data[i], err);
	vec_free(&bases);
	return ret;
}

int core_thread_restart(struct core *c, struct core_thread *th, const struct arch_regs *regs,
                        struct core_directive *d, struct err *err)
{
	OWNER_CHECK(&c->owner);
	return core_start_frames(c, th, regs, STORE_CALL_ROOT, d, err);
}

void core_symbols_addr(struct core *c, uint64_t base, const char *const *names, size_t n,
                       uint64_t *addrs, bool *found)
{
	struct image *img = images_find(c->images, base);

	if (img)
		image_exported_addrs(img, names, n, addrs, found);
	else
		memset(found, 0, n * sizeof(*found));
}

int core_symbol_addr(struct core *c, uint64_t base, const char *symbol, uint64_t *addr)
{
	bool found;

	core_symbols_addr(c, base, &symbol, 1, addr, &found);
	return found ? 0 : -1;
}

int core_object_addr(struct core *c, uint64_t base, const char *name, uint64_t *addr)
{
	struct image *img = images_find(c->images, base);

	return img ? image_object_addr(img, name, addr) : -1;
}

int core_quiet_start(struct core *c, uint64_t base, uint64_t *r_brk, uint64_t *r_debug)
{
	static const char *const rbrk_name = "_dl_debug_state";
	struct image *ld = c->interp;
	bool found;
	size_t i;

	if (c->full_mode || c->early_ifunc || !ld)
		return -1;
	ld->base = base;
	for (i = 0; i < c->cfg->n_scopes; i++)
		if (image_matches(ld, c->cfg->scopes[i].binary) ||
		    !strcmp(c->cfg->scopes[i].binary, CORE_VDSO_NAME))
			return -1;
	image_exported_addrs(ld, &rbrk_name, 1, r_brk, &found);
	return found && !image_object_addr(ld, "_r_debug", r_debug) ? 0 : -1;
}

int core_finish(struct core *c, enum store_call_end how, bool run_failed, struct err *err)
{
	struct core_thread **th;

	OWNER_CHECK(&c->owner);
	vec_foreach (&c->threads, th) {
		if (!(*th)->exited && close_all(c, *th, how, err))
			return -1;
	}
	if (!run_failed)
		core_scopes_finish(c);
	return 0;
}
