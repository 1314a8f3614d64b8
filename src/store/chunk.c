/*
 * The one chunk writer: instruction streams (stream.c), the distinct
 * instructions (blocks.c), the call chunks (calls.c) and the call index
 * with its summaries (callindex.c) are rows whose data is a zstd frame of
 * a payload each encodes its own way.
 */
#include "store/writer-int.h"
#include "util/xalloc.h"

int store_chunk_write(struct store *s, sqlite3_stmt *st, int col, const void *data, size_t len,
                      const char *what, struct err *err)
{
	return store_chunk_write_with(s, s->zc, st, col, data, len, what, err);
}

int store_chunk_write_with(struct store *s, ZSTD_CCtx *zc, sqlite3_stmt *st, int col,
                           const void *data, size_t len, const char *what, struct err *err)
{
	size_t bound = ZSTD_compressBound(len), z;
	int rc;

	if (bound > s->zbuf_cap) {
		s->zbuf_cap = bound;
		s->zbuf = xrealloc(s->zbuf, s->zbuf_cap);
	}
	z = ZSTD_compress2(zc, s->zbuf, s->zbuf_cap, data, len);
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

int store_chunk_level(struct store *s, int level, struct err *err)
{
	if (ZSTD_isError(ZSTD_CCtx_setParameter(s->zc, ZSTD_c_compressionLevel, level)))
		return err_set(err, ERR_INTERNAL, "store: cannot set zstd level %d", level);
	return 0;
}
