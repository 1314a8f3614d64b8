/*
 * Block streams: a backend that records whole blocks of straight-line
 * code interns each block once, as the list of its instruction ids, and
 * appends one token per run of a block to the thread's stream. A loop of
 * one block executed a million times is then one token instead of
 * millions of ids. A backend that records single instructions appends one
 * instruction token each (stream.c). See docs/trace-format.md, "chunks".
 */
#include <stdlib.h>
#include <string.h>

#include "store/writer-int.h"
#include "util/xalloc.h"

int64_t store_block_intern(struct store *s, const uint32_t *ids, size_t n, struct err *err)
{
	uint8_t packed[STORE_BLOCK_MAX * STORE_VARINT_MAX];
	int64_t id = (int64_t)s->block_len.len;
	sqlite3_stmt *st;
	size_t i, len;

	STORE_ENTER(s);
	if (store_check_failed(s, err) || !(st = store_stmt(s, ST_BLOCK, err)))
		return -1;
	if (!n || n > STORE_BLOCK_MAX)
		return err_set(err, ERR_INTERNAL, "store: a block of %zu instructions", n);
	for (i = 0; i < n; i++)
		if (ids[i] >= s->insns.len)
			return err_set(err, ERR_INTERNAL, "store: unknown instruction id %u",
			               ids[i]);
	if (id >= UINT32_MAX)
		return err_set(err, ERR_UNSUPPORTED, "store: more than 2^32 blocks");
	len = store_ids_pack(ids, n, packed);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_blob(st, 2, packed, (int)len, SQLITE_STATIC);
	if (store_step_done(s, ST_BLOCK, "block", err))
		return -1;
	vec_push(&s->block_len, (uint16_t)n);
	return id;
}

/* room - make space for two more tokens in t's buffer */
static void room(struct store_stream *t)
{
	if (t->tok_len + 2 * STORE_TOKEN_MAX <= t->tok_cap)
		return;
	t->tok_cap = t->tok_cap ? t->tok_cap * 2 : 4096;
	t->tok = xrealloc(t->tok, t->tok_cap);
}

/* end_run - encode the pending run of a block, if any */
static void end_run(struct store_stream *t)
{
	if (!t->run_count)
		return;
	room(t);
	t->tok_len +=
	        store_token_block(t->tok + t->tok_len, t->run_block, t->run_count, &t->prev_block);
	t->run_count = 0;
}

const uint8_t *store_token_payload(struct store_stream *t, size_t *len)
{
	end_run(t);
	*len = t->tok_len;
	return t->tok;
}

void store_token_reset(struct store_stream *t)
{
	t->tok_len = 0;
	t->tok_insns = 0;
	t->prev_insn = 0;
	t->prev_block = 0;
	t->run_count = 0;
}

/* full - the pending chunk is complete: write it, and commit when the interval has passed */
static int full(struct store *s, int64_t thread, struct err *err)
{
	if (store_stream_flush(s, thread, err))
		return -1;
	if (store_now_ms() - s->last_commit_ms >= STORE_COMMIT_INTERVAL_MS)
		return store_commit(s, err);
	return 0;
}

int64_t store_token_append_insn(struct store *s, int64_t thread, uint32_t id, struct err *err)
{
	struct store_stream *t = &s->streams.data[thread];
	int64_t pos;

	end_run(t);
	room(t);
	t->tok_len += store_token_insn(t->tok + t->tok_len, id, &t->prev_insn);
	t->tok_insns++;
	pos = (int64_t)t->pos++;
	if (t->tok_insns >= STORE_CHUNK_INSNS && full(s, thread, err))
		return -1;
	return pos;
}

/* append_run - one run to t's pending chunk; -1 if the chunk could not be written */
static int append_run(struct store *s, int64_t thread, uint32_t block, uint64_t len,
                      uint64_t repeat, struct err *err)
{
	struct store_stream *t = &s->streams.data[thread];
	uint64_t k, left;

	while (repeat) {
		if (t->run_count && t->run_block != block)
			end_run(t);
		/* Cut chunks near STORE_CHUNK_INSNS: a run is split across two if need be. */
		left = STORE_CHUNK_INSNS - t->tok_insns;
		k = repeat <= left && repeat * len <= left ? repeat : (left + len - 1) / len;
		t->run_block = block;
		t->run_count += k;
		t->tok_insns += k * len;
		t->pos += k * len;
		repeat -= k;
		if (t->tok_insns >= STORE_CHUNK_INSNS) {
			if (full(s, thread, err))
				return -1;
			t = &s->streams.data[thread];
		}
	}
	return 0;
}

int64_t store_stream_append_runs(struct store *s, int64_t thread, const struct store_run *runs,
                                 size_t n, struct err *err)
{
	const uint16_t *lens = s->block_len.data;
	uint64_t insns = 0, len;
	size_t i;

	STORE_ENTER(s);
	if ((uint64_t)thread >= s->streams.len)
		return store_bad_thread(thread, err);
	for (i = 0; i < n; i++) {
		if (runs[i].block >= s->block_len.len)
			return err_set(err, ERR_INTERNAL, "store: unknown block %u", runs[i].block);
		len = lens[runs[i].block];
		if (append_run(s, thread, runs[i].block, len, runs[i].repeat, err))
			return -1;
		insns += len * runs[i].repeat;
	}
	return (int64_t)insns;
}

uint64_t store_block_len(const struct store *s, uint32_t block)
{
	return block < s->block_len.len ? s->block_len.data[block] : 0;
}

int store_insn_chunk_flush(struct store *s, struct err *err)
{
	sqlite3_stmt *st;

	if (!s->in)
		return 0;
	if (!(st = store_stmt(s, ST_INSN_CHUNK, err)))
		return -1;
	sqlite3_bind_int64(st, 1, s->ifirst);
	sqlite3_bind_int64(st, 2, s->in);
	if (store_chunk_write(s, st, 3, s->ibuf, s->ilen, "instructions", err))
		return -1;
	s->ifirst += s->in;
	s->in = 0;
	s->ilen = 0;
	s->iprev = 0;
	return 0;
}

int store_insn_chunk_add(struct store *s, uint64_t addr, const uint8_t *bytes, size_t len,
                         struct err *err)
{
	uint8_t *p;

	if (s->ilen + 10 + 1 + STORE_INSN_MAX > s->icap) {
		s->icap = s->icap ? s->icap * 2 : 65536;
		s->ibuf = xrealloc(s->ibuf, s->icap);
	}
	p = store_varint_put(s->ibuf + s->ilen, store_zigzag((int64_t)(addr - s->iprev)));
	s->ilen = (size_t)(p - s->ibuf);
	s->ibuf[s->ilen++] = (uint8_t)len;
	memcpy(s->ibuf + s->ilen, bytes, len);
	s->ilen += len;
	s->iprev = addr;
	if (++s->in >= STORE_INSN_CHUNK)
		return store_insn_chunk_flush(s, err);
	return 0;
}

void store_blocks_fini(struct store *s)
{
	vec_free(&s->block_len);
	free(s->cbuf);
	s->cbuf = NULL;
	free(s->ibuf);
	s->ibuf = NULL;
}
