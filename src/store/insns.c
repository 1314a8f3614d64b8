/*
 * Streaming a thread's executed instructions: chunks are fetched and
 * decoded one at a time, and each id is resolved through a cache of the
 * insns table filled on demand, so memory depends on the chunk size and on
 * the distinct instructions seen, never on the length of the range.
 */
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "store/reader-int.h"
#include "util/xalloc.h"

/* A chunk claiming more than this is damage, not a reason to allocate. */
#define MAX_CHUNK_COUNT (1u << 24)

struct reader_insns {
	struct store_reader *r;
	int64_t thread;
	uint64_t pos, to;     /* the next position to yield, the end of the range */
	sqlite3_stmt *st;     /* the thread's chunks from the one holding `from` on */
	uint64_t chunk_first; /* stream position of ids[0] */
	uint32_t *ids;
	size_t n, cap;
	uint8_t *packed;
	size_t packed_cap;
	ZSTD_DCtx *dz;
	bool done;
	uint8_t bytes[STORE_INSN_MAX]; /* the last instruction's, as the cache may move */
};

struct block_span {
	size_t off, len;
};

/* The blocks read so far, as runs of instruction ids in one pool. */
struct reader_blocks {
	sqlite3_stmt *st;     /* one row of blocks by id */
	struct hashmap where; /* block id -> index + 1 in spans */
	VEC(struct block_span) spans;
	VEC(uint32_t) ids;
	struct err err; /* why the last lookup failed */
};

void reader_insn_cache_fini(struct store_reader *r)
{
	hashmap_fini(&r->insn_cache);
	vec_free(&r->insns);
	if (r->blocks) {
		sqlite3_finalize(r->blocks->st);
		hashmap_fini(&r->blocks->where);
		vec_free(&r->blocks->spans);
		vec_free(&r->blocks->ids);
		free(r->blocks);
		r->blocks = NULL;
	}
}

/* read_block - load a block's ids from the blocks table into the pool */
static int read_block(struct store_reader *r, struct reader_blocks *b, uint32_t id)
{
	struct block_span span = { .off = b->ids.len };
	const void *blob;
	size_t len, n;
	int rc;

	if (!b->st &&
	    !(b->st = reader_prepare(r, "SELECT insns FROM blocks WHERE id = ?1", &b->err)))
		return -1;
	sqlite3_bind_int64(b->st, 1, id);
	rc = reader_step(r, b->st, "the blocks", &b->err);
	if (rc <= 0) {
		sqlite3_reset(b->st);
		return rc ? -1 : reader_damaged(r, &b->err, "block %u is missing", id);
	}
	blob = sqlite3_column_blob(b->st, 0);
	len = (size_t)sqlite3_column_bytes(b->st, 0);
	/* Each id takes one byte at least: len bounds the count. */
	vec_reserve(&b->ids, len);
	for (n = 1; n <= len && n <= STORE_BLOCK_MAX; n++)
		if (!store_ids_unpack(blob, len, b->ids.data + span.off, n))
			break;
	sqlite3_reset(b->st);
	if (!blob || n > len || n > STORE_BLOCK_MAX)
		return reader_damaged(r, &b->err, "block %u cannot be decoded", id);
	span.len = n;
	b->ids.len += n;
	vec_push(&b->spans, span);
	hashmap_put(&b->where, id, (void *)(uintptr_t)b->spans.len);
	return 0;
}

/* block_ids - the token decoder's lookup (struct store_token_blocks) */
static int block_ids(void *ctx, uint32_t id, const uint32_t **ids, size_t *n)
{
	struct store_reader *r = ctx;
	struct reader_blocks *b = r->blocks;
	uintptr_t ref = (uintptr_t)hashmap_get(&b->where, id);

	if (!ref) {
		if (read_block(r, b, id))
			return -1;
		ref = b->spans.len;
	}
	*ids = b->ids.data + b->spans.data[ref - 1].off;
	*n = b->spans.data[ref - 1].len;
	return 0;
}

/* Decode an insn chunk's records (instructions first, first + 1, ...) into the cache. */
static int chunk_records(struct store_reader *r, uint32_t first, uint64_t count, const uint8_t *p,
                         const uint8_t *end)
{
	uint64_t addr = 0, z, k;

	for (k = 0; k < count; k++) {
		struct reader_insn_ent e = { 0 };

		if (store_varint_get(&p, end, 63, &z))
			return -1;
		addr += (uint64_t)store_unzigzag(z);
		if (p == end || *p == 0 || *p > STORE_INSN_MAX || (size_t)(end - p) < 1u + *p)
			return -1;
		e.addr = addr;
		e.len = *p++;
		memcpy(e.bytes, p, e.len);
		p += e.len;
		if (hashmap_get(&r->insn_cache, first + k))
			continue;
		vec_push(&r->insns, e);
		hashmap_put(&r->insn_cache, first + k, (void *)(uintptr_t)r->insns.len);
	}
	return p == end ? 0 : -1;
}

/*
 * chunk_insns - every instruction of the insn chunk holding id
 * into the cache. Return: 0 (also when no chunk holds it), -1 with err.
 */
static int chunk_insns(struct store_reader *r, uint32_t id, struct err *err)
{
	sqlite3_stmt *st = reader_prepare(r,
	                                  "SELECT first, count, data FROM insn_chunks WHERE "
	                                  "first <= ?1 ORDER BY first DESC LIMIT 1",
	                                  err);
	unsigned long long size;
	uint8_t *buf = NULL;
	int64_t first, count;
	const void *data;
	size_t len, got;
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = reader_step(r, st, "the instructions", err);
	if (rc <= 0)
		goto out;
	first = sqlite3_column_int64(st, 0);
	count = sqlite3_column_int64(st, 1);
	data = sqlite3_column_blob(st, 2);
	len = (size_t)sqlite3_column_bytes(st, 2);
	size = data ? ZSTD_getFrameContentSize(data, len) : ZSTD_CONTENTSIZE_ERROR;
	rc = -1;
	if (first < 0 || first > id || count <= 0 || count > STORE_INSN_CHUNK ||
	    size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN ||
	    size > (unsigned long long)count * (11 + STORE_INSN_MAX))
		goto bad;
	buf = xmalloc(size ? size : 1);
	got = ZSTD_decompress(buf, size, data, len);
	if (ZSTD_isError(got) || chunk_records(r, (uint32_t)first, (uint64_t)count, buf, buf + got))
		goto bad;
	rc = 0;
	goto out;
bad:
	reader_damaged(r, err, "the instruction chunk holding instruction %u cannot be decoded",
	               id);
out:
	free(buf);
	sqlite3_finalize(st);
	return rc < 0 ? -1 : 0;
}

/* The (address, bytes) pair of an id, read with its insn chunk the first time. */
static const struct reader_insn_ent *insn_lookup(struct store_reader *r, uint32_t id,
                                                 struct err *err)
{
	uintptr_t ref = (uintptr_t)hashmap_get(&r->insn_cache, id);

	if (!ref) {
		if (chunk_insns(r, id, err))
			return NULL;
		ref = (uintptr_t)hashmap_get(&r->insn_cache, id);
	}
	if (!ref) {
		reader_damaged(r, err, "instruction %u is missing", id);
		return NULL;
	}
	return &r->insns.data[ref - 1];
}

/* The first position of the chunk holding @pos (0 if none does). */
static int chunk_start(struct store_reader *r, int64_t thread, uint64_t pos, uint64_t *first,
                       struct err *err)
{
	sqlite3_stmt *st = reader_prepare(r,
	                                  "SELECT first_pos FROM chunks WHERE thread = ?1 AND "
	                                  "first_pos <= ?2 ORDER BY first_pos DESC LIMIT 1",
	                                  err);
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, thread);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)pos);
	rc = reader_step(r, st, "the instruction chunks", err);
	*first = rc > 0 ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return rc < 0 ? -1 : 0;
}

struct reader_insns *reader_insns_open(struct store_reader *r, int64_t thread, uint64_t from,
                                       uint64_t to, struct err *err)
{
	struct reader_insns *it;
	uint64_t first;

	if (thread < 0 || (uint64_t)thread >= r->thread_insns.len) {
		err_set(err, ERR_NOT_FOUND, "%s has no thread %lld", r->path, (long long)thread);
		return NULL;
	}
	if (chunk_start(r, thread, from, &first, err))
		return NULL;
	it = xcalloc(1, sizeof(*it));
	it->r = r;
	it->thread = thread;
	it->pos = from;
	it->to = to;
	it->done = from >= to;
	it->dz = ZSTD_createDCtx();
	it->st = reader_prepare(r,
	                        "SELECT first_pos, count, data FROM chunks WHERE thread = ?1 AND "
	                        "first_pos >= ?2 ORDER BY first_pos",
	                        err);
	if (!it->dz || !it->st) {
		if (!it->dz)
			err_set(err, ERR_INTERNAL, "cannot create a zstd context");
		reader_insns_free(it);
		return NULL;
	}
	sqlite3_bind_int64(it->st, 1, thread);
	sqlite3_bind_int64(it->st, 2, (sqlite3_int64)first);
	return it;
}

void reader_insns_free(struct reader_insns *it)
{
	if (!it)
		return;
	sqlite3_finalize(it->st);
	ZSTD_freeDCtx(it->dz);
	free(it->ids);
	free(it->packed);
	free(it);
}

static int chunk_damaged(struct reader_insns *it, uint64_t first, struct err *err)
{
	return err_set(err, ERR_INPUT,
	               "%s is damaged: the instruction chunk at position %llu of thread %lld "
	               "cannot be decoded",
	               it->r->path, (unsigned long long)first, (long long)it->thread);
}

/* A chunk payload (tokens, decompressed into it->packed) into it->ids. */
static int tokens_decode(struct reader_insns *it, uint64_t first, uint64_t count, size_t got,
                         struct err *err)
{
	struct store_token_blocks bl = { .ctx = it->r, .get = block_ids };

	if (!it->r->blocks) {
		it->r->blocks = xcalloc(1, sizeof(*it->r->blocks));
		hashmap_init(&it->r->blocks->where);
	}
	err_clear(&it->r->blocks->err);
	if (store_tokens_unpack(it->packed, got, it->ids, count, &bl)) {
		if (it->r->blocks->err.kind != ERR_NONE) {
			if (err)
				*err = it->r->blocks->err;
			return -1;
		}
		return chunk_damaged(it, first, err);
	}
	it->chunk_first = first;
	it->n = count;
	return 0;
}

/* Decompress and unpack the chunk of the current row into it->ids. */
static int chunk_decode(struct reader_insns *it, uint64_t first, uint64_t count, struct err *err)
{
	const void *data = sqlite3_column_blob(it->st, 2);
	size_t len = (size_t)sqlite3_column_bytes(it->st, 2), need, got;

	if (count > MAX_CHUNK_COUNT || !data)
		return chunk_damaged(it, first, err);
	if (count > it->cap) {
		it->cap = count;
		it->ids = xreallocarray(it->ids, it->cap, sizeof(*it->ids));
	}
	/* A token payload takes at most STORE_TOKEN_MAX bytes per instruction (a run of 2). */
	need = count * (STORE_TOKEN_MAX / 2);
	if (need > it->packed_cap) {
		it->packed_cap = need;
		it->packed = xrealloc(it->packed, need);
	}
	got = ZSTD_decompressDCtx(it->dz, it->packed, it->packed_cap, data, len);
	if (ZSTD_isError(got))
		return chunk_damaged(it, first, err);
	return tokens_decode(it, first, count, got, err);
}

static int insns_missing(struct reader_insns *it, uint64_t to, struct err *err)
{
	return reader_damaged(it->r, err, "instructions %llu to %llu of thread %lld are missing",
	                      (unsigned long long)it->pos, (unsigned long long)to - 1,
	                      (long long)it->thread);
}

/*
 * Move to the chunk holding it->pos: 1, 0 at the end of the committed
 * stream, -1. Chunks are contiguous: after the first one read, each must
 * start where the previous one ended.
 */
static int next_chunk(struct reader_insns *it, struct err *err)
{
	bool started = it->n > 0;
	int64_t first, count;
	int rc;

	while ((rc = reader_step(it->r, it->st, "the instruction chunks", err)) > 0) {
		first = sqlite3_column_int64(it->st, 0);
		count = sqlite3_column_int64(it->st, 1);
		if (first < 0 || count <= 0 || count > MAX_CHUNK_COUNT ||
		    (started && (uint64_t)first < it->pos))
			return chunk_damaged(it, (uint64_t)first, err);
		if ((uint64_t)first > it->pos)
			return insns_missing(it, (uint64_t)first, err);
		if ((uint64_t)first + (uint64_t)count > it->pos)
			return chunk_decode(it, (uint64_t)first, (uint64_t)count, err) ? -1 : 1;
	}
	return rc;
}

int reader_insns_next(struct reader_insns *it, struct reader_insn *out, struct err *err)
{
	const struct reader_insn_ent *e;
	int rc;

	if (it->done)
		return 0;
	if (it->pos >= it->to)
		goto end;
	if (it->pos - it->chunk_first >= it->n || it->pos < it->chunk_first) {
		rc = next_chunk(it, err);
		if (rc <= 0) {
			it->done = true;
			return rc;
		}
	}
	e = insn_lookup(it->r, it->ids[it->pos - it->chunk_first], err);
	if (!e)
		goto fail;
	out->pos = it->pos++;
	out->addr = e->addr;
	memcpy(it->bytes, e->bytes, sizeof(it->bytes));
	out->bytes = it->bytes;
	out->len = e->len;
	return 1;
fail:
	it->done = true;
	return -1;
end:
	it->done = true;
	return 0;
}
