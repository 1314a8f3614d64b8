/*
 * The trace file format shared by writer and reader: schema text, the
 * probe that recognises a trace, and the stream chunk codec. See
 * docs/trace-format.md.
 */
#include "store/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"

/*
 * Rollback journal with synchronous=OFF: the file survives crashes of nosco
 * and of the program (the OS still writes what was handed to it), not power
 * loss, and commits cost no fsync. A big page cache keeps an uncommitted
 * interval in memory instead of spilling it into the file.
 */
const char store_writer_pragmas[] = "PRAGMA page_size=16384;"
                                    "PRAGMA journal_mode=DELETE;"
                                    "PRAGMA synchronous=OFF;"
                                    "PRAGMA cache_size=-32768;"
                                    "PRAGMA foreign_keys=OFF;";

/*
 * Addresses, positions and times are unsigned 64-bit values stored in
 * SQLite's signed INTEGER with the same bits. Ids are dense from 0 and
 * assigned by the writer, so INTEGER PRIMARY KEY keeps them as rowids.
 */
const char store_schema_sql[] =
        "CREATE TABLE meta (\n"
        "	key TEXT PRIMARY KEY NOT NULL,\n"
        "	value NOT NULL\n"
        ");\n"
        "CREATE TABLE argv (\n"
        "	idx INTEGER PRIMARY KEY,\n"
        "	arg BLOB NOT NULL\n"
        ");\n"
        "CREATE TABLE binaries (\n"
        "	id INTEGER PRIMARY KEY,\n"
        "	path BLOB NOT NULL,\n"
        "	name BLOB,\n"
        "	build_id BLOB,\n"
        "	base INTEGER NOT NULL,\n"
        "	start_addr INTEGER NOT NULL,\n"
        "	end_addr INTEGER NOT NULL,\n"
        "	image BLOB,\n"
        "	load_event INTEGER,\n"
        "	unload_event INTEGER\n"
        ");\n"
        "CREATE TABLE threads (\n"
        "	id INTEGER PRIMARY KEY,\n"
        "	tid INTEGER NOT NULL,\n"
        "	create_event INTEGER,\n"
        "	exit_event INTEGER,\n"
        "	exit_code INTEGER,\n"
        "	exit_signal INTEGER\n"
        ");\n"
        "CREATE TABLE events (\n"
        "	id INTEGER PRIMARY KEY,\n"
        "	kind INTEGER NOT NULL,\n"
        "	time_ns INTEGER NOT NULL,\n"
        "	thread INTEGER,\n"
        "	call INTEGER,\n"
        "	pos INTEGER,\n"
        "	addr INTEGER,\n"
        "	backtrace BLOB,\n"
        "	subject INTEGER,\n"
        "	detail BLOB\n"
        ");\n"
        "CREATE INDEX events_by_call ON events(call) WHERE call IS NOT NULL;\n"
        "CREATE TABLE calls (\n"
        "	id INTEGER PRIMARY KEY,\n"
        "	thread INTEGER NOT NULL,\n"
        "	parent INTEGER,\n"
        "	kind INTEGER NOT NULL,\n"
        "	depth INTEGER NOT NULL,\n"
        "	addr INTEGER NOT NULL,\n"
        "	site INTEGER NOT NULL,\n"
        "	ret_addr INTEGER NOT NULL,\n"
        "	pos_start INTEGER NOT NULL,\n"
        "	pos_end INTEGER,\n"
        "	end_kind INTEGER,\n"
        "	time_start INTEGER NOT NULL,\n"
        "	time_end INTEGER,\n"
        "	signal INTEGER,\n"
        "	truncated INTEGER NOT NULL,\n"
        "	backtrace BLOB,\n"
        "	kids INTEGER,\n"
        "	inner_insns INTEGER,\n"
        "	ids_end INTEGER\n"
        ");\n"
        "CREATE INDEX calls_by_parent ON calls(parent) WHERE parent IS NOT NULL;\n"
        "CREATE INDEX calls_roots ON calls(thread) WHERE parent IS NULL;\n"
        /* always empty: nosco before one schema counted instructions here */
        "CREATE TABLE insns (\n"
        "	id INTEGER PRIMARY KEY,\n"
        "	addr INTEGER NOT NULL,\n"
        "	bytes BLOB NOT NULL\n"
        ");\n"
        "CREATE TABLE chunks (\n"
        "	thread INTEGER NOT NULL,\n"
        "	seq INTEGER NOT NULL,\n"
        "	first_pos INTEGER NOT NULL,\n"
        "	count INTEGER NOT NULL,\n"
        "	data BLOB NOT NULL,\n"
        "	UNIQUE (thread, first_pos)\n"
        ");\n"
        "CREATE TABLE scopes (\n"
        "	id INTEGER PRIMARY KEY,\n"
        "	symbol TEXT NOT NULL,\n"
        "	binary INTEGER NOT NULL,\n"
        "	addr INTEGER,\n"
        "	resolver INTEGER,\n"
        "	depth INTEGER NOT NULL\n"
        ");\n"
        "CREATE TABLE blocks (\n"
        "	id INTEGER PRIMARY KEY,\n"
        "	insns BLOB NOT NULL\n"
        ");\n"
        "CREATE TABLE insn_chunks (\n"
        "	first INTEGER PRIMARY KEY,\n"
        "	count INTEGER NOT NULL,\n"
        "	data BLOB NOT NULL\n"
        ");\n"
        "CREATE TABLE call_chunks (\n"
        "	seq INTEGER PRIMARY KEY,\n"
        "	count INTEGER NOT NULL,\n"
        "	data BLOB NOT NULL\n"
        ");\n"
        "CREATE TABLE call_index (\n"
        "	first INTEGER PRIMARY KEY,\n"
        "	count INTEGER NOT NULL,\n"
        "	data BLOB NOT NULL\n"
        ");\n"
        "CREATE TABLE call_summary (\n"
        "	first INTEGER PRIMARY KEY,\n"
        "	data BLOB NOT NULL\n"
        ");\n"
        "CREATE TABLE thread_stats (\n"
        "	thread INTEGER PRIMARY KEY,\n"
        "	calls INTEGER NOT NULL,\n"
        "	roots INTEGER NOT NULL,\n"
        "	first_call INTEGER,\n"
        "	last_call INTEGER,\n"
        "	insns INTEGER NOT NULL\n"
        ");\n";

static const char sqlite_magic[16] = "SQLite format 3";

/* Classify an opened regular file by its first 100 bytes (the SQLite header). */
static int probe_header(int fd, const char *path, off_t size, enum store_file_kind *kind,
                        struct err *err)
{
	unsigned char hdr[100];
	uint32_t app_id;
	ssize_t n;

	if (size == 0) {
		*kind = STORE_FILE_EMPTY;
		return 0;
	}
	n = pread(fd, hdr, sizeof(hdr), 0);
	if (n < 0)
		return err_sys(err, ERR_IO, "cannot read %s", path);
	if (n < (ssize_t)sizeof(hdr) || memcmp(hdr, sqlite_magic, sizeof(sqlite_magic))) {
		*kind = STORE_FILE_OTHER;
		return 0;
	}
	app_id = (uint32_t)hdr[68] << 24 | (uint32_t)hdr[69] << 16 | (uint32_t)hdr[70] << 8 |
	         hdr[71];
	*kind = app_id == STORE_APPLICATION_ID ? STORE_FILE_TRACE : STORE_FILE_OTHER;
	return 0;
}

int store_probe_file(const char *path, enum store_file_kind *kind, struct err *err)
{
	struct stat st;
	int fd, ret;

	if (stat(path, &st)) {
		/* ENOTDIR: a parent is a file; the directory check says so better. */
		if (errno != ENOENT && errno != ENOTDIR)
			return err_sys(err, ERR_IO, "cannot examine %s", path);
		/* A dangling symlink is something the user made: not ours to replace. */
		*kind = lstat(path, &st) ? STORE_FILE_MISSING : STORE_FILE_OTHER;
		return 0;
	}
	if (S_ISDIR(st.st_mode))
		return err_set(err, ERR_IO, "%s is a directory", path);
	if (!S_ISREG(st.st_mode)) {
		*kind = STORE_FILE_OTHER;
		return 0;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_sys(err, ERR_IO, "cannot read %s", path);
	ret = probe_header(fd, path, st.st_size, kind, err);
	close(fd);
	return ret;
}

size_t store_ids_pack(const uint32_t *ids, size_t n, uint8_t *out)
{
	uint8_t *p = out;
	int64_t prev = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		p = store_varint_put(p, store_zigzag((int64_t)ids[i] - prev));
		prev = ids[i];
	}
	return (size_t)(p - out);
}

int store_ids_unpack(const uint8_t *in, size_t len, uint32_t *ids, size_t n)
{
	const uint8_t *p = in, *end = in + len;
	int64_t prev = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t v;
		int64_t id;

		/* An id delta takes at most 6 bytes. */
		if (store_varint_get(&p, end, 35, &v))
			return -1;
		id = prev + store_unzigzag(v);
		if (id < 0 || id > UINT32_MAX)
			return -1;
		ids[i] = (uint32_t)id;
		prev = id;
	}
	return p == end ? 0 : -1;
}
