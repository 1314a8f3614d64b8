/*
 * The trace writer: creating the file, the records other than
 * instructions, and the long-running transaction that is committed every
 * STORE_COMMIT_INTERVAL_MS. The instruction hot path is in stream.c.
 */
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/writer-int.h"
#include "util/thread.h"
#include "util/xalloc.h"

static const char *const stmt_sql[ST_COUNT] = {
	/* IMMEDIATE: the RESERVED lock, held from the start, tells readers a writer is alive. */
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_META] = "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)",
	[ST_ARGV_CLEAR] = "DELETE FROM argv",
	[ST_ARGV] = "INSERT INTO argv(idx, arg) VALUES (?1, ?2)",
	[ST_BINARY] = "INSERT INTO binaries(id, path, name, build_id, base, start_addr, end_addr, "
	              "image, load_event) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[ST_BINARY_UNLOAD] = "UPDATE binaries SET unload_event = ?2 WHERE id = ?1",
	[ST_SCOPE] = "INSERT INTO scopes(id, symbol, binary, addr, resolver, depth) "
	             "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_SCOPE_ADDR] = "UPDATE scopes SET addr = ?2 WHERE id = ?1",
	[ST_THREAD] = "INSERT INTO threads(id, tid, create_event) VALUES (?1, ?2, ?3)",
	[ST_THREAD_EXIT] = "UPDATE threads SET exit_event = ?2, exit_code = ?3, exit_signal = ?4 "
	                   "WHERE id = ?1",
	[ST_THREAD_TID] = "UPDATE threads SET tid = ?2 WHERE id = ?1",
	[ST_EVENT] = "INSERT INTO events(id, kind, time_ns, thread, call, pos, addr, backtrace, "
	             "subject, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	/* a call still running at a commit; its end is ST_CALL_CLOSE */
	[ST_CALL] = "INSERT INTO calls(id, thread, parent, kind, depth, addr, site, ret_addr, "
	            "pos_start, time_start, signal, truncated, backtrace) "
	            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	[ST_CALL_CLOSE] = "UPDATE calls SET pos_end = ?2, end_kind = ?3, time_end = ?4, "
	                  "kids = ?5, inner_insns = ?6, ids_end = ?7 WHERE id = ?1",
	[ST_CHUNK] = "INSERT INTO chunks(thread, seq, first_pos, count, data) "
	             "VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_BLOCK] = "INSERT INTO blocks(id, insns) VALUES (?1, ?2)",
	[ST_INSN_CHUNK] = "INSERT INTO insn_chunks(first, count, data) VALUES (?1, ?2, ?3)",
	[ST_CALL_CHUNK] = "INSERT INTO call_chunks(seq, count, data) VALUES (?1, ?2, ?3)",
	[ST_CALL_INDEX] = "INSERT INTO call_index(first, count, data) VALUES (?1, ?2, ?3)",
	[ST_CALL_SUMMARY] = "INSERT INTO call_summary(first, data) VALUES (?1, ?2)",
	[ST_THREAD_STATS] = "INSERT OR REPLACE INTO thread_stats(thread, calls, roots, first_call, "
	                    "last_call, insns) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
};

uint64_t store_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int store_sql_fail(struct store *s, const char *what, struct err *err)
{
	if (!s->failed) {
		s->failed = true;
		err_set(&s->fail, ERR_IO, "cannot write %s (%s): %s", s->path, what,
		        sqlite3_errmsg(s->db));
	}
	if (err)
		*err = s->fail;
	return -1;
}

int store_check_failed(struct store *s, struct err *err)
{
	if (!s->failed)
		return 0;
	if (err)
		*err = s->fail;
	return -1;
}

sqlite3_stmt *store_stmt(struct store *s, enum store_stmt which, struct err *err)
{
	if (!s->st[which] &&
	    sqlite3_prepare_v3(s->db, stmt_sql[which], -1, SQLITE_PREPARE_PERSISTENT, &s->st[which],
	                       NULL) != SQLITE_OK) {
		/* Its SQL would make the message long; sqlite3_errmsg() says what went wrong. */
		store_sql_fail(s, "a statement", err);
		return NULL;
	}
	return s->st[which];
}

int store_step_done(struct store *s, enum store_stmt which, const char *what, struct err *err)
{
	sqlite3_stmt *st = store_stmt(s, which, err);
	int rc;

	if (!st)
		return -1;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return store_sql_fail(s, what, err);
	return 0;
}

void store_bind_id(sqlite3_stmt *st, int col, int64_t id)
{
	if (id >= 0)
		sqlite3_bind_int64(st, col, id);
	else
		sqlite3_bind_null(st, col);
}

void store_bind_u64(sqlite3_stmt *st, int col, uint64_t v)
{
	sqlite3_bind_int64(st, col, (sqlite3_int64)v);
}

/* Bind a byte string (NULL stays NULL); SQLite copies it. */
static void bind_blob(sqlite3_stmt *st, int col, const void *p, size_t len)
{
	if (p)
		sqlite3_bind_blob64(st, col, len ? p : "", len, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, col);
}

/* store_bt_encode - a backtrace as little-endian u64s (free() it), NULL if empty */
static uint8_t *store_bt_encode(const uint64_t *bt, size_t n)
{
	uint8_t *buf;
	size_t i, j;

	if (!bt || !n)
		return NULL;
	buf = xmalloc(n * 8);
	for (i = 0; i < n; i++)
		for (j = 0; j < 8; j++)
			buf[i * 8 + j] = (uint8_t)(bt[i] >> (8 * j));
	return buf;
}

void store_bind_backtrace(sqlite3_stmt *st, int col, const uint64_t *bt, size_t n)
{
	uint8_t *buf = store_bt_encode(bt, n);

	if (buf)
		sqlite3_bind_blob64(st, col, buf, n * 8, free);
	else
		sqlite3_bind_null(st, col);
}

static int begin(struct store *s, struct err *err)
{
	if (store_step_done(s, ST_BEGIN, "begin", err))
		return -1;
	s->in_txn = true;
	return 0;
}

/*
 * Write the pending instructions of every thread, then commit. With
 * @reopen, a commit that finds a reader holding its lock is left for the
 * next interval, and a new transaction is begun after a commit.
 */
static int commit(struct store *s, bool reopen, struct err *err)
{
	sqlite3_stmt *st;
	int64_t t;
	int rc;

	if (store_check_failed(s, err) || store_insn_chunk_flush(s, err) ||
	    store_calls_write_open(s, err))
		return -1;
	for (t = 0; t < s->n_threads; t++)
		if (store_stream_flush(s, t, err))
			return -1;
	if (s->exited_stream >= 0 && store_stream_release(s, s->exited_stream, err))
		return -1;
	s->exited_stream = -1;
	if (!(st = store_stmt(s, ST_COMMIT, err)))
		return -1;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (reopen && (rc & 0xff) == SQLITE_BUSY) {
		s->last_commit_ms = store_now_ms(); /* try again next interval, not next tick */
		return 0;
	}
	if (rc != SQLITE_DONE)
		return store_sql_fail(s, "commit", err);
	s->in_txn = false;
	s->last_commit_ms = store_now_ms();
	return reopen ? begin(s, err) : 0;
}

int store_commit(struct store *s, struct err *err)
{
	STORE_ENTER(s);
	return commit(s, true, err);
}

void store_hand_over(struct store *s, pthread_t to)
{
	owner_give(&s->owner, to);
}

int store_flush(struct store *s, size_t min, struct err *err)
{
	int64_t t;

	STORE_ENTER(s);
	if (store_check_failed(s, err) || (s->ilen >= min && store_insn_chunk_flush(s, err)) ||
	    (s->clen >= min && store_calls_flush(s, err)))
		return -1;
	for (t = 0; t < s->n_threads; t++)
		if (s->streams.data[t].tok_len >= min && store_stream_flush(s, t, err))
			return -1;
	return 0;
}

int store_tick(struct store *s, struct err *err)
{
	STORE_ENTER(s);
	if (store_check_failed(s, err))
		return -1;
	if (store_now_ms() - s->last_commit_ms < STORE_COMMIT_INTERVAL_MS)
		return 0;
	return store_commit(s, err);
}

static void close_db(struct store *s)
{
	int i;

	for (i = 0; i < ST_COUNT; i++) {
		sqlite3_finalize(s->st[i]);
		s->st[i] = NULL;
	}
	sqlite3_close(s->db);
	s->db = NULL;
}

static void store_free(struct store *s)
{
	if (s->replaced_fd >= 0)
		close(s->replaced_fd);
	close_db(s);
	store_blocks_fini(s);
	store_calls_fini(s);
	store_streams_fini(s);
	store_ix_fini(s);
	ZSTD_freeCCtx(s->zc);
	free(s->zbuf);
	free(s->path);
	free(s);
}

/* remove_file - a trace that must not stay, and its journal */
static void remove_file(const char *path)
{
	char *journal = xasprintf("%s-journal", path);

	unlink(path);
	unlink(journal);
	free(journal);
}

/*
 * new_store - the store of a new trace at path, its old file (if any)
 * removed, the new one not yet made; NULL with err
 */
static struct store *new_store(const char *path, bool force, struct stat *old, struct err *err)
{
	char *target = store_output_path(path, err);
	struct store *s;
	int old_fd;

	/* the file behind a symbolic link is replaced, the link stays */
	if (!target || store_prepare_output(target, force, old, &old_fd, err)) {
		free(target);
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->replaced_fd = old_fd;
	owner_init(&s->owner);
	s->path = target;
	hashmap_init(&s->insn_by_addr);
	s->exited_stream = -1;
	return s;
}

/* make_file - the file, with the schema, the format ids and the first metadata, committed */
static int make_file(struct store *s, const struct stat *old, struct err *err)
{
	s->zc = ZSTD_createCCtx();
	if (!s->zc)
		return err_set(err, ERR_INTERNAL, "cannot create a zstd context");
	if (store_chunk_level(s, STORE_ZSTD_LEVEL, err) || store_write_template(s->path, err) ||
	    store_open_db(s, old, err) || begin(s, err))
		return -1;
	s->last_commit_ms = store_now_ms();
	return 0;
}

struct store *store_create(const char *path, bool force, struct err *err)
{
	struct stat old;
	struct store *s = new_store(path, force, &old, err);

	if (s && make_file(s, &old, err)) {
		store_discard(s);
		return NULL;
	}
	return s;
}

struct store_opener {
	pthread_t thread;
	bool started; /* on a thread of its own; else made at store_wait() */
	struct stat old;
	store_then_fn *then;
	void *arg;
	int ret;
	struct err err;
};

/* set in the opener's thread: its own store calls must not wait for it */
static _Thread_local bool opening;

/*
 * prepare_all - every statement, prepared ahead of its first use: made
 * while the program loads, not at its stops (0.05 ms each)
 */
static int prepare_all(struct store *s, struct err *err)
{
	for (int i = 0; i < ST_COUNT; i++)
		if (!store_stmt(s, (enum store_stmt)i, err))
			return -1;
	return 0;
}

/* make_later - make the file, on the opener's thread or else at store_wait() */
static void make_later(struct store *s)
{
	struct store_opener *o = s->opener;

	opening = true;
	owner_take(&s->owner);
	if (make_file(s, &o->old, &o->err) || (o->then && o->then(s, o->arg, &o->err)) ||
	    prepare_all(s, &o->err))
		o->ret = -1;
	opening = false;
}

/*
 * opener_main - the opener's thread, at the lowest priority (nice 19: the
 * tracer thread and the program, woken by a stop, must not wait for it),
 * yielding at once, as a new thread runs before its creator. Not
 * SCHED_IDLE: a CPU running only such a thread counts as idle, and the
 * program resumed there waited for it, 1.5 ms, one run in ten.
 */
static void *opener_main(void *arg)
{
	pthread_setname_np(pthread_self(), "nosco-opener");
	setpriority(PRIO_PROCESS, (id_t)gettid(), 19);
	sched_yield();
	make_later(arg);
	return NULL;
}

/* start_opener - the opener's thread */
static bool start_opener(struct store *s)
{
	return !thread_start(&s->opener->thread, NULL, opener_main, s);
}

struct store *store_create_async(const char *path, bool force, store_then_fn *then, void *arg,
                                 struct err *err)
{
	struct store_opener *o = xcalloc(1, sizeof(*o));
	struct store *s = new_store(path, force, &o->old, err);

	if (!s) {
		free(o);
		return NULL;
	}
	o->then = then;
	o->arg = arg;
	s->opener = o;
	o->started = start_opener(s);
	return s;
}

int store_take_replaced(struct store *s)
{
	int fd = s->replaced_fd;

	s->replaced_fd = -1;
	return fd;
}

int store_wait(struct store *s, struct err *err)
{
	struct store_opener *o = s->opener;

	if (!o || opening)
		return 0;
	if (o->started)
		pthread_join(o->thread, NULL);
	else
		make_later(s);
	s->opener = NULL;
	owner_take(&s->owner);
	if (o->ret) {
		close_db(s);
		remove_file(s->path);
		if (!s->failed) {
			s->failed = true;
			s->fail = o->err;
		}
	}
	free(o);
	if (!s->failed)
		return 0;
	if (err)
		*err = s->fail;
	return -1;
}

int store_close(struct store *s, struct err *err)
{
	int ret;

	if (!s)
		return 0;
	STORE_ENTER(s);
	/* At the end, wait for readers rather than lose the last interval. */
	if (s->db)
		sqlite3_busy_timeout(s->db, 10000);
	ret = store_check_failed(s, NULL) ? 0 : store_ix_summaries(s, err);
	if (!ret)
		ret = commit(s, false, err);
	store_free(s);
	return ret;
}

void store_discard(struct store *s)
{
	char *path;

	if (!s)
		return;
	store_wait(s, NULL);
	/* Close first: closing rolls the open transaction back through the journal. */
	path = xstrdup(s->path);
	store_free(s);
	remove_file(path);
	free(path);
}

int store_meta_set_text(struct store *s, const char *key, const char *value, struct err *err)
{
	sqlite3_stmt *st;

	STORE_ENTER(s);
	if (store_check_failed(s, err) || !(st = store_stmt(s, ST_META, err)))
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_TRANSIENT);
	return store_step_done(s, ST_META, "metadata", err);
}

int store_meta_set_int(struct store *s, const char *key, int64_t value, struct err *err)
{
	sqlite3_stmt *st;

	STORE_ENTER(s);
	if (store_check_failed(s, err) || !(st = store_stmt(s, ST_META, err)))
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, value);
	return store_step_done(s, ST_META, "metadata", err);
}

int store_meta_set_argv(struct store *s, char *const *argv, struct err *err)
{
	sqlite3_stmt *st;
	int64_t i;

	STORE_ENTER(s);
	if (store_check_failed(s, err) || store_step_done(s, ST_ARGV_CLEAR, "argv", err) ||
	    !(st = store_stmt(s, ST_ARGV, err)))
		return -1;
	for (i = 0; argv && argv[i]; i++) {
		sqlite3_bind_int64(st, 1, i);
		bind_blob(st, 2, argv[i], strlen(argv[i]));
		if (store_step_done(s, ST_ARGV, "argv", err))
			return -1;
	}
	return 0;
}

int64_t store_binary_add(struct store *s, const struct store_binary *b, int64_t load_event,
                         struct err *err)
{
	sqlite3_stmt *st;

	STORE_ENTER(s);
	if (store_check_failed(s, err) || !(st = store_stmt(s, ST_BINARY, err)))
		return -1;
	if (!b->path)
		return err_set(err, ERR_INTERNAL, "store: binary without a path");
	sqlite3_bind_int64(st, 1, s->n_binaries);
	bind_blob(st, 2, b->path, strlen(b->path));
	bind_blob(st, 3, b->name, b->name ? strlen(b->name) : 0);
	bind_blob(st, 4, b->build_id, b->build_id_len);
	store_bind_u64(st, 5, b->base);
	store_bind_u64(st, 6, b->start);
	store_bind_u64(st, 7, b->end);
	bind_blob(st, 8, b->image, b->image_len);
	store_bind_id(st, 9, load_event);
	if (store_step_done(s, ST_BINARY, "binary", err))
		return -1;
	return s->n_binaries++;
}

int store_binary_unloaded(struct store *s, int64_t binary, int64_t unload_event, struct err *err)
{
	sqlite3_stmt *st;

	STORE_ENTER(s);
	if (store_check_failed(s, err) || !(st = store_stmt(s, ST_BINARY_UNLOAD, err)))
		return -1;
	if (binary < 0 || binary >= s->n_binaries)
		return err_set(err, ERR_INTERNAL, "store: unknown binary %lld", (long long)binary);
	sqlite3_bind_int64(st, 1, binary);
	store_bind_id(st, 2, unload_event);
	return store_step_done(s, ST_BINARY_UNLOAD, "binary unload", err);
}

int64_t store_scope_add(struct store *s, const struct store_scope *sc, struct err *err)
{
	sqlite3_stmt *st;

	STORE_ENTER(s);
	if (store_check_failed(s, err) || !(st = store_stmt(s, ST_SCOPE, err)))
		return -1;
	if (sc->binary < 0 || sc->binary >= s->n_binaries)
		return err_set(err, ERR_INTERNAL, "store: scope in unknown binary %lld",
		               (long long)sc->binary);
	sqlite3_bind_int64(st, 1, s->n_scopes);
	sqlite3_bind_text(st, 2, sc->symbol, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, sc->binary);
	if (sc->addr)
		store_bind_u64(st, 4, sc->addr);
	if (sc->resolver)
		store_bind_u64(st, 5, sc->resolver);
	sqlite3_bind_int64(st, 6, sc->depth);
	if (store_step_done(s, ST_SCOPE, "scope", err))
		return -1;
	return s->n_scopes++;
}

int store_scope_set_addr(struct store *s, int64_t scope, uint64_t addr, struct err *err)
{
	sqlite3_stmt *st;

	STORE_ENTER(s);
	if (store_check_failed(s, err) || !(st = store_stmt(s, ST_SCOPE_ADDR, err)))
		return -1;
	if (scope < 0 || scope >= s->n_scopes)
		return err_set(err, ERR_INTERNAL, "store: unknown scope %lld", (long long)scope);
	sqlite3_bind_int64(st, 1, scope);
	store_bind_u64(st, 2, addr);
	return store_step_done(s, ST_SCOPE_ADDR, "scope", err);
}

int64_t store_thread_add(struct store *s, int tid, int64_t create_event, struct err *err)
{
	struct store_stream zero = { 0 };
	sqlite3_stmt *st;

	STORE_ENTER(s);
	if (store_check_failed(s, err) || !(st = store_stmt(s, ST_THREAD, err)))
		return -1;
	sqlite3_bind_int64(st, 1, s->n_threads);
	sqlite3_bind_int64(st, 2, tid);
	store_bind_id(st, 3, create_event);
	if (store_step_done(s, ST_THREAD, "thread", err))
		return -1;
	vec_push(&s->streams, zero);
	return s->n_threads++;
}

int store_thread_exited(struct store *s, int64_t thread, const struct store_exit *ex,
                        int64_t exit_event, struct err *err)
{
	sqlite3_stmt *st;

	STORE_ENTER(s);
	if (store_check_failed(s, err) || !(st = store_stmt(s, ST_THREAD_EXIT, err)))
		return -1;
	if (thread < 0 || thread >= s->n_threads)
		return err_set(err, ERR_INTERNAL, "store: unknown thread %lld", (long long)thread);
	/* Programs that start many short threads must not keep a buffer per dead thread. */
	if (s->exited_stream >= 0 && store_stream_release(s, s->exited_stream, err))
		return -1;
	s->exited_stream = thread;
	sqlite3_bind_int64(st, 1, thread);
	store_bind_id(st, 2, exit_event);
	if (ex && ex->signaled)
		sqlite3_bind_int64(st, 4, ex->code);
	else if (ex)
		sqlite3_bind_int64(st, 3, ex->code);
	return store_step_done(s, ST_THREAD_EXIT, "thread exit", err);
}

int store_thread_set_tid(struct store *s, int64_t thread, int tid, struct err *err)
{
	sqlite3_stmt *st;

	STORE_ENTER(s);
	if (store_check_failed(s, err) || !(st = store_stmt(s, ST_THREAD_TID, err)))
		return -1;
	if (thread < 0 || thread >= s->n_threads)
		return err_set(err, ERR_INTERNAL, "store: unknown thread %lld", (long long)thread);
	sqlite3_bind_int64(st, 1, thread);
	sqlite3_bind_int64(st, 2, tid);
	return store_step_done(s, ST_THREAD_TID, "thread tid", err);
}

int64_t store_event_add(struct store *s, enum store_event_kind kind, const struct store_origin *o,
                        int64_t subject, const char *detail, struct err *err)
{
	sqlite3_stmt *st;

	STORE_ENTER(s);
	if (store_check_failed(s, err) || !(st = store_stmt(s, ST_EVENT, err)))
		return -1;
	sqlite3_bind_int64(st, 1, s->n_events);
	sqlite3_bind_int64(st, 2, kind);
	if (o) {
		store_bind_u64(st, 3, o->time_ns);
		store_bind_id(st, 4, o->thread);
		store_bind_id(st, 5, o->call);
		if (o->thread >= 0)
			store_bind_u64(st, 6, o->pos);
		store_bind_u64(st, 7, o->addr);
		store_bind_backtrace(st, 8, o->bt, o->bt_len);
	} else {
		sqlite3_bind_int64(st, 3, 0);
	}
	store_bind_id(st, 9, subject);
	bind_blob(st, 10, detail, detail ? strlen(detail) : 0);
	if (store_step_done(s, ST_EVENT, "event", err))
		return -1;
	return s->n_events++;
}
