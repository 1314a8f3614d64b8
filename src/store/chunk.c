/*
 * The one chunk writer: instruction streams (stream.c), the distinct
 * instructions (blocks.c), the call chunks (calls.c) and the call index
 * with its summaries (callindex.c) are rows whose data is a zstd frame of
 * a payload each encodes its own way.
 */
#include "store/writer-int.h"
#include "util/xalloc.h"

/* chunk_write - the one writer; checked: the frame carries a checksum */
static int chunk_write(struct store *s, sqlite3_stmt *st, int col, const void *data, size_t len,
                       const char *what, bool checked, struct err *err)
{
	size_t bound = ZSTD_compressBound(len), z;
	int rc;

	if (bound > s->zbuf_cap) {
		s->zbuf_cap = bound;
		s->zbuf = xrealloc(s->zbuf, s->zbuf_cap);
	}
	/*
	 * One context for every chunk, the checksum set for a frame and unset
	 * after: a second context's workspace is as many pages more to touch
	 * (0.1 ms of the last commit of a short run)
	 */
	z = checked ? ZSTD_CCtx_setParameter(s->zc, ZSTD_c_checksumFlag, 1) : 0;
	if (!ZSTD_isError(z))
		z = ZSTD_compress2(s->zc, s->zbuf, s->zbuf_cap, data, len);
	if (checked) {
		size_t r = ZSTD_CCtx_setParameter(s->zc, ZSTD_c_checksumFlag, 0);

		z = ZSTD_isError(r) ? r : z;
	}
	if (ZSTD_isError(z)) {
		sqlite3_clear_bindings(st);
		return err_set(err, ERR_INTERNAL, "store: zstd: %s", ZSTD_getErrorName(z));
	}
	sqlite3_bind_blob(st, col, s->zbuf, (int)z, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	/* the row's data is s->zbuf: no statement may keep it past this call */
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : store_sql_fail(s, what, err);
}

int store_chunk_write(struct store *s, sqlite3_stmt *st, int col, const void *data, size_t len,
                      const char *what, struct err *err)
{
	return chunk_write(s, st, col, data, len, what, false, err);
}

int store_chunk_write_checked(struct store *s, sqlite3_stmt *st, int col, const void *data,
                              size_t len, const char *what, struct err *err)
{
	return chunk_write(s, st, col, data, len, what, true, err);
}

int store_chunk_level(struct store *s, int level, struct err *err)
{
	if (ZSTD_isError(ZSTD_CCtx_setParameter(s->zc, ZSTD_c_compressionLevel, level)))
		return err_set(err, ERR_INTERNAL, "store: cannot set zstd level %d", level);
	return 0;
}
