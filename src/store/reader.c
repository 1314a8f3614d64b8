/*
 * Opening a trace for reading: recognising the file, recovering a trace
 * whose writer was killed, noticing a truncated file, and the small tables
 * (metadata, argv) that are read once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/reader-int.h"
#include "util/xalloc.h"

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The primary result codes that mean the file's content is wrong, not unreadable. */
static bool is_damage(int code)
{
	switch (code & 0xff) {
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_FORMAT:
	case SQLITE_RANGE:
	case SQLITE_MISMATCH:
	case SQLITE_SCHEMA:
	case SQLITE_ERROR: /* a table or column the schema lacks */
	case SQLITE_TOOBIG:
		return true;
	default:
		return false;
	}
}

int reader_sql_error(struct store_reader *r, const char *what, struct err *err)
{
	int code = sqlite3_extended_errcode(r->db);

	if (is_damage(code))
		return err_set(err, ERR_INPUT, "%s is damaged: cannot read %s: %s", r->path, what,
		               sqlite3_errmsg(r->db));
	return err_set(err, ERR_IO, "cannot read %s of %s: %s", what, r->path,
	               sqlite3_errmsg(r->db));
}

int reader_step(struct store_reader *r, sqlite3_stmt *st, const char *what, struct err *err)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return reader_sql_error(r, what, err);
}

int reader_vdamaged(struct store_reader *r, struct err *err, const char *fmt, va_list ap)
{
	struct strbuf sb;

	sb_init(&sb);
	sb_vaddf(&sb, fmt, ap);
	err_set(err, ERR_INPUT, "%s is damaged: %s", r->path, sb.buf);
	sb_fini(&sb);
	return -1;
}

int reader_damaged(struct store_reader *r, struct err *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reader_vdamaged(r, err, fmt, ap);
	va_end(ap);
	return -1;
}

int reader_has_table(struct store_reader *r, const char *name)
{
	sqlite3_stmt *st = reader_prepare(r,
	                                  "SELECT 1 FROM main.sqlite_master WHERE type = 'table' "
	                                  "AND name = ?1",
	                                  NULL);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = reader_step(r, st, "its schema", NULL);
	sqlite3_finalize(st);
	return rc;
}

sqlite3_stmt *reader_prepare(struct store_reader *r, const char *sql, struct err *err)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v3(r->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		reader_sql_error(r, "its schema", err);
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

static void add_damage(struct store_reader *r, const char *what)
{
	if (r->damage.len)
		sb_adds(&r->damage, "; ");
	sb_adds(&r->damage, what);
}

/* Read the 100-byte SQLite header: is this a nosco trace at all? */
static int read_header(const char *path, unsigned char *hdr, off_t *size, struct err *err)
{
	struct stat st;
	ssize_t n;
	int fd;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer that never comes. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return err_sys(err, ERR_IO, "cannot open %s", path);
	if (fstat(fd, &st)) {
		err_sys(err, ERR_IO, "cannot read %s", path);
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		if (S_ISDIR(st.st_mode))
			return err_set(err, ERR_IO, "cannot read %s: it is a directory", path);
		return err_set(err, ERR_INPUT,
		               "%s is not a nosco trace (not a regular file: a trace is an SQLite "
		               "database)",
		               path);
	}
	n = pread(fd, hdr, 100, 0);
	if (n < 0) {
		err_sys(err, ERR_IO, "cannot read %s", path);
		close(fd);
		return -1;
	}
	close(fd);
	*size = st.st_size;
	if (n == 0)
		return err_set(err, ERR_INPUT, "%s is not a nosco trace (the file is empty)", path);
	if (n < 100 || memcmp(hdr, "SQLite format 3", 16))
		return err_set(err, ERR_INPUT, "%s is not a nosco trace (not an SQLite database)",
		               path);
	if (be32(hdr + 68) != STORE_APPLICATION_ID)
		return err_set(err, ERR_INPUT,
		               "%s is not a nosco trace (an SQLite database of another program)",
		               path);
	return 0;
}

/*
 * The header's page count is trustworthy when its "version-valid-for"
 * matches the change counter; a file shorter than that has lost its end.
 */
static int check_length(struct store_reader *r, struct err *err)
{
	unsigned char hdr[100];
	uint64_t page, want;
	off_t size;

	sb_reset(&r->damage);
	if (read_header(r->path, hdr, &size, err))
		return -1;
	page = (uint64_t)hdr[16] << 8 | hdr[17];
	if (page == 1)
		page = 65536;
	want = page * be32(hdr + 28);
	if (be32(hdr + 92) == be32(hdr + 24) && (uint64_t)size < want) {
		char *msg = xasprintf("the file is truncated (%lld of %llu bytes)", (long long)size,
		                      (unsigned long long)want);

		add_damage(r, msg);
		free(msg);
		/* Else SQLite refuses the whole file; this lets it read what is there. */
		sqlite3_exec(r->db, "PRAGMA writable_schema=ON", NULL, NULL, NULL);
	}
	return 0;
}

static int open_db(struct store_reader *r, int flags, struct err *err)
{
	int rc;

	sqlite3_close(r->db);
	r->db = NULL;
	rc = sqlite3_open_v2(r->path, &r->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		return err_set(err, ERR_IO, "cannot open %s: %s", r->path,
		               r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc));
	sqlite3_extended_result_codes(r->db, 1);
	/* A live writer locks the file for a moment at each commit. */
	sqlite3_busy_timeout(r->db, 5000);
	return 0;
}

/* The schema version; this is also the first read, which finds a hot journal. */
static int read_version(struct store_reader *r)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(r->db, "PRAGMA user_version", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			r->schema = sqlite3_column_int(st, 0);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

/*
 * A writer killed inside a transaction leaves a hot journal, and SQLite
 * will not read the file before rolling it back, which a read-only
 * connection cannot do. The rollback restores the last commit and is what
 * any SQLite client would do on its first read: do it with a read-write
 * connection that writes nothing else, then read read-only as usual.
 */
static int recover(struct store_reader *r, struct err *err)
{
	if (open_db(r, SQLITE_OPEN_READWRITE, err) || read_version(r) != SQLITE_OK) {
		err_set(err, ERR_IO,
		        "%s was left unfinished by a killed nosco and must be rolled back to its "
		        "last commit before it can be read, which needs write access: %s",
		        r->path, r->db ? sqlite3_errmsg(r->db) : "cannot open it");
		return -1;
	}
	r->recovered = true;
	return open_db(r, SQLITE_OPEN_READONLY, err);
}

static int open_checked(struct store_reader *r, struct err *err)
{
	int rc;

	if (open_db(r, SQLITE_OPEN_READONLY, err) || check_length(r, err))
		return -1;
	rc = read_version(r);
	if (rc == SQLITE_READONLY_ROLLBACK) {
		/* The rollback may also restore the length: look again. */
		if (recover(r, err) || check_length(r, err))
			return -1;
		rc = read_version(r);
	}
	if (rc != SQLITE_OK)
		return reader_sql_error(r, "its header", err);
	if (r->schema > STORE_SCHEMA_VERSION)
		return err_set(
		        err, ERR_INPUT,
		        "%s was written by a newer nosco (schema %d, this nosco reads up to %d)",
		        r->path, r->schema, STORE_SCHEMA_VERSION);
	if (r->schema < 1)
		return err_set(err, ERR_INPUT, "%s is not a complete nosco trace (schema %d)",
		               r->path, r->schema);
	if (r->schema < STORE_SCHEMA_OLDEST)
		return err_set(err, ERR_INPUT,
		               "%s is a schema %d trace of an older nosco; record it again",
		               r->path, r->schema);
	return 0;
}

static void load_meta(struct store_reader *r)
{
	sqlite3_stmt *st = reader_prepare(r, "SELECT key, value FROM meta ORDER BY key", NULL);
	int rc = -1;

	while (st && (rc = reader_step(r, st, "the metadata", NULL)) > 0) {
		struct reader_meta m = { 0 };

		m.key = xstrdup((const char *)sqlite3_column_text(st, 0) ?: "");
		m.is_int = sqlite3_column_type(st, 1) == SQLITE_INTEGER;
		if (m.is_int)
			m.num = sqlite3_column_int64(st, 1);
		else
			m.text = xstrdup((const char *)sqlite3_column_text(st, 1) ?: "");
		vec_push(&r->meta, m);
	}
	if (rc)
		add_damage(r, "the metadata cannot be read");
	sqlite3_finalize(st);
}

static void load_argv(struct store_reader *r)
{
	sqlite3_stmt *st = reader_prepare(r, "SELECT arg FROM argv ORDER BY idx", NULL);
	int rc = -1;

	while (st && (rc = reader_step(r, st, "the arguments", NULL)) > 0) {
		struct reader_arg a;
		const void *p = sqlite3_column_blob(st, 0);

		a.len = (size_t)sqlite3_column_bytes(st, 0);
		a.s = xmalloc(a.len + 1);
		if (a.len)
			memcpy(a.s, p, a.len);
		a.s[a.len] = '\0';
		vec_push(&r->args, a);
	}
	if (rc)
		add_damage(r, "the program's arguments cannot be read");
	sqlite3_finalize(st);
}

/* Files written before scopes were recorded have no table: no scopes, no damage. */
static void load_scopes(struct store_reader *r)
{
	sqlite3_stmt *st;
	int rc = reader_has_table(r, "scopes");

	if (!rc)
		return;
	st = rc > 0 ? reader_prepare(r,
	                             "SELECT id, symbol, binary, addr, resolver, depth FROM scopes "
	                             "ORDER BY id",
	                             NULL)
	            : NULL;
	if (!st) {
		add_damage(r, "the scopes cannot be read");
		return;
	}
	while ((rc = reader_step(r, st, "the scopes", NULL)) > 0) {
		struct reader_scope sc = { 0 };

		sc.id = sqlite3_column_int64(st, 0);
		sc.symbol = xstrdup((const char *)sqlite3_column_text(st, 1) ?: "");
		sc.binary = sqlite3_column_int64(st, 2);
		sc.addr = (uint64_t)sqlite3_column_int64(st, 3);
		sc.resolver = (uint64_t)sqlite3_column_int64(st, 4);
		sc.depth = (uint32_t)sqlite3_column_int64(st, 5);
		vec_push(&r->scopes, sc);
	}
	if (rc)
		add_damage(r, "the scopes cannot all be read");
	sqlite3_finalize(st);
}

/*
 * The end of the last chunk of a thread's stream (0 if it has none); -1
 * if it cannot be read or makes no sense (a position past 2^63).
 */
static int thread_stream_end(struct store_reader *r, sqlite3_stmt *st, int64_t thread,
                             uint64_t *end)
{
	int64_t first, count;
	int rc;

	*end = 0;
	sqlite3_bind_int64(st, 1, thread);
	rc = reader_step(r, st, "the instruction chunks", NULL);
	if (rc > 0) {
		first = sqlite3_column_int64(st, 0);
		count = sqlite3_column_int64(st, 1);
		if (first < 0 || count <= 0 || count > STORE_CHUNK_INSNS + STORE_BLOCK_MAX ||
		    count > INT64_MAX - first)
			rc = -1;
		else
			*end = (uint64_t)(first + count);
	}
	sqlite3_reset(st);
	return rc < 0 ? -1 : 0;
}

/*
 * The committed length of every thread's stream, by thread id: 0, or -1
 * when a thread is missing (ids are dense) or its rows cannot be read;
 * *lost when a stream's end cannot be read.
 */
static int read_thread_insns(struct store_reader *r, bool *lost)
{
	sqlite3_stmt *st = reader_prepare(r, "SELECT id FROM threads ORDER BY id", NULL);
	sqlite3_stmt *last = reader_prepare(r,
	                                    "SELECT first_pos, count FROM chunks WHERE thread = ?1 "
	                                    "ORDER BY first_pos DESC LIMIT 1",
	                                    NULL);
	int rc = -1;
	uint64_t end;

	r->thread_insns.len = 0;
	*lost = false;
	while (st && last && (rc = reader_step(r, st, "the threads", NULL)) > 0) {
		int64_t id = sqlite3_column_int64(st, 0);

		if (id < 0 || (size_t)id != r->thread_insns.len) {
			rc = -1;
			break;
		}
		if (thread_stream_end(r, last, id, &end)) {
			*lost = true;
			end = STREAM_UNKNOWN;
		}
		vec_push(&r->thread_insns, end);
	}
	sqlite3_finalize(st);
	sqlite3_finalize(last);
	return rc ? -1 : 0;
}

static void load_thread_insns(struct store_reader *r)
{
	bool lost;

	if (read_thread_insns(r, &lost))
		add_damage(r, "the threads cannot all be read");
	if (lost)
		add_damage(r, "the instruction streams cannot all be read");
}

bool reader_thread_reaches(struct store_reader *r, int64_t thread, uint64_t pos)
{
	bool lost;

	if (thread < 0)
		return false;
	if ((uint64_t)thread < r->thread_insns.len && pos <= r->thread_insns.data[thread])
		return true;
	return !read_thread_insns(r, &lost) && (uint64_t)thread < r->thread_insns.len &&
	       pos <= r->thread_insns.data[thread];
}

struct store_reader *reader_open(const char *path, struct err *err)
{
	struct store_reader *r = xcalloc(1, sizeof(*r));
	unsigned char hdr[100];
	off_t size;

	r->path = xstrdup(path);
	sb_init(&r->damage);
	hashmap_init(&r->insn_cache);
	hashmap_init(&r->event_calls);
	if (read_header(path, hdr, &size, err) || open_checked(r, err)) {
		reader_close(r);
		return NULL;
	}
	load_meta(r);
	load_argv(r);
	load_scopes(r);
	load_thread_insns(r);
	r->counted_id = -1;
	if (reader_ix_open(r))
		add_damage(r, "the call index cannot all be read");
	return r;
}

void reader_close(struct store_reader *r)
{
	struct reader_meta *m;
	struct reader_scope *sc;
	struct reader_arg *a;
	size_t i, j;

	if (!r)
		return;
	reader_get_cursors_free(r);
	reader_ix_close(r);
	for (i = 0; i < RQ_COUNT; i++) {
		for (j = 0; j < r->pool[i].len; j++)
			sqlite3_finalize(r->pool[i].data[j]);
		vec_free(&r->pool[i]);
	}
	reader_insn_cache_fini(r);
	hashmap_fini(&r->event_calls);
	sqlite3_close(r->db);
	vec_foreach (&r->meta, m) {
		free((char *)m->key);
		free((char *)m->text);
	}
	vec_free(&r->meta);
	vec_foreach (&r->args, a)
		free(a->s);
	vec_free(&r->args);
	vec_foreach (&r->scopes, sc)
		free((char *)sc->symbol);
	vec_free(&r->scopes);
	vec_free(&r->thread_insns);
	sb_fini(&r->damage);
	free(r->path);
	free(r);
}

const char *reader_path(const struct store_reader *r)
{
	return r->path;
}

int reader_schema(const struct store_reader *r)
{
	return r->schema;
}

const char *reader_damage(const struct store_reader *r)
{
	return r->damage.len ? r->damage.buf : NULL;
}

bool reader_recovered(const struct store_reader *r)
{
	return r->recovered;
}

/*
 * Whether a connection holds the file's RESERVED lock: one that is writing,
 * in this process or another (the lock is SQLite's, on the file itself).
 */
static bool writer_holds_lock(struct store_reader *r)
{
	sqlite3_file *f = NULL;
	int held = 0;

	if (sqlite3_file_control(r->db, "main", SQLITE_FCNTL_FILE_POINTER, &f) != SQLITE_OK || !f ||
	    !f->pMethods || !f->pMethods->xCheckReservedLock)
		return false;
	return f->pMethods->xCheckReservedLock(f, &held) == SQLITE_OK && held;
}

/* meta exit_kind as the file says now (the metadata loaded at open may be older). */
static char *exit_kind_now(struct store_reader *r)
{
	sqlite3_stmt *st = NULL;
	char *kind = NULL;

	if (sqlite3_prepare_v2(r->db, "SELECT value FROM meta WHERE key = 'exit_kind'", -1, &st,
	                       NULL) == SQLITE_OK &&
	    reader_step(r, st, "the metadata", NULL) > 0 && sqlite3_column_text(st, 0))
		kind = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return kind;
}

enum reader_end reader_end(struct store_reader *r)
{
	enum reader_end end = READER_END_MISSING;
	char *kind;

	if (writer_holds_lock(r))
		return READER_END_LIVE;
	kind = exit_kind_now(r);
	if (kind && !strcmp(kind, "failed"))
		end = READER_END_FAILED;
	else if (kind && strcmp(kind, "running"))
		end = READER_END_WRITTEN;
	/* The writer lets the lock go for a moment at each commit: look again. */
	else if (writer_holds_lock(r))
		end = READER_END_LIVE;
	free(kind);
	return end;
}

/* SQLite's check reports start with "*** in database main ***" and span lines. */
static int check_failed(struct store_reader *r, const char *report, struct err *err)
{
	static const char banner[] = "*** in database main ***";
	char *msg, *p;

	if (!strncmp(report, banner, sizeof(banner) - 1))
		report += sizeof(banner) - 1;
	report += strspn(report, " \n");
	msg = xstrdup(report);
	for (p = msg; *p; p++)
		if (*p == '\n')
			*p = ' ';
	err_set(err, ERR_INPUT, "%s is damaged: %s", r->path, msg);
	free(msg);
	return -1;
}

int reader_check(struct store_reader *r, struct err *err)
{
	sqlite3_stmt *st = reader_prepare(r, "PRAGMA quick_check(1)", err);
	const char *report;
	int rc, ret = 0;

	if (!st)
		return -1;
	rc = reader_step(r, st, "its pages", err);
	report = rc > 0 ? (const char *)sqlite3_column_text(st, 0) : NULL;
	if (rc == 0)
		ret = reader_damaged(r, err, "the integrity check gave no answer");
	else if (rc < 0)
		ret = -1;
	else if (strcmp(report ?: "", "ok"))
		ret = check_failed(r, report ?: "", err);
	sqlite3_finalize(st);
	return ret;
}

/* One count: -1 with err if that table cannot be read. */
static int64_t count_of(struct store_reader *r, const char *sql, struct err *err)
{
	sqlite3_stmt *st = reader_prepare(r, sql, err);
	int64_t n = -1;
	int rc;

	if (!st)
		return -1;
	rc = reader_step(r, st, "its record counts", err);
	if (rc > 0)
		n = sqlite3_column_int64(st, 0);
	else if (rc == 0)
		reader_damaged(r, err, "a count gave no answer");
	sqlite3_finalize(st);
	return n;
}

int reader_counts(struct store_reader *r, struct reader_counts *out, struct err *err)
{
	/* Ids are dense, so max(id) + 1 is the count and needs no scan. */
	out->threads = count_of(r, "SELECT coalesce(max(id) + 1, 0) FROM threads", err);
	out->binaries = count_of(r, "SELECT coalesce(max(id) + 1, 0) FROM binaries", err);
	out->events = count_of(r, "SELECT coalesce(max(id) + 1, 0) FROM events", err);
	out->calls = reader_ix_total(r);
	/* insn chunks follow each other from id 0 */
	out->insns = count_of(r, "SELECT coalesce(max(first + count), 0) FROM insn_chunks", err);
	out->chunks = count_of(r, "SELECT count(*) FROM chunks", err);
	return out->threads < 0 || out->binaries < 0 || out->events < 0 || out->calls < 0 ||
	                       out->insns < 0 || out->chunks < 0
	               ? -1
	               : 0;
}

size_t reader_meta_count(const struct store_reader *r)
{
	return r->meta.len;
}

const struct reader_meta *reader_meta_at(const struct store_reader *r, size_t i)
{
	return i < r->meta.len ? &r->meta.data[i] : NULL;
}

static const struct reader_meta *meta_find(const struct store_reader *r, const char *key)
{
	size_t i;

	for (i = 0; i < r->meta.len; i++)
		if (!strcmp(r->meta.data[i].key, key))
			return &r->meta.data[i];
	return NULL;
}

const char *reader_meta_text(const struct store_reader *r, const char *key)
{
	const struct reader_meta *m = meta_find(r, key);

	return m && !m->is_int ? m->text : NULL;
}

int reader_meta_int(const struct store_reader *r, const char *key, int64_t *out)
{
	const struct reader_meta *m = meta_find(r, key);

	if (!m || !m->is_int)
		return -1;
	*out = m->num;
	return 0;
}

size_t reader_argc(const struct store_reader *r)
{
	return r->args.len;
}

const char *reader_argv(const struct store_reader *r, size_t i, size_t *len)
{
	if (i >= r->args.len)
		return NULL;
	if (len)
		*len = r->args.data[i].len;
	return r->args.data[i].s;
}

size_t reader_scope_count(const struct store_reader *r)
{
	return r->scopes.len;
}

const struct reader_scope *reader_scope_at(const struct store_reader *r, size_t i)
{
	return i < r->scopes.len ? &r->scopes.data[i] : NULL;
}

uint64_t reader_thread_insn_count(const struct store_reader *r, int64_t thread)
{
	if (thread < 0 || (uint64_t)thread >= r->thread_insns.len ||
	    r->thread_insns.data[thread] == STREAM_UNKNOWN)
		return 0;
	return r->thread_insns.data[thread];
}
