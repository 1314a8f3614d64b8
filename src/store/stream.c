/*
 * The instruction hot path: interning (address, bytes) pairs and appending
 * their ids to per-thread streams, written as zstd-compressed chunks of
 * varint-encoded id deltas (docs/trace-format.md, "Instruction streams").
 *
 * Per executed instruction this costs one hash lookup, one memcmp of at
 * most 15 bytes and one store into the thread's buffer; SQLite is only
 * touched for a new pair and once per chunk.
 */
#include <stdlib.h>
#include <string.h>

#include "store/writer-int.h"
#include "util/xalloc.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* The id of a known pair, or -1. */
static inline int64_t insn_find(const struct store *s, uint64_t addr, const uint8_t *bytes,
                                size_t len)
{
	uintptr_t ref = (uintptr_t)hashmap_get(&s->insn_by_addr, addr);

	while (ref) {
		const struct store_insn_ent *e = &s->insns.data[ref - 1];

		if (likely(e->len == len && !memcmp(e->bytes, bytes, len)))
			return (int64_t)(ref - 1);
		ref = e->next;
	}
	return -1;
}

int64_t store_insn_intern(struct store *s, uint64_t addr, const uint8_t *bytes, size_t len,
                          struct err *err)
{
	struct store_insn_ent e = { .addr = addr, .len = (uint8_t)len };
	sqlite3_stmt *st = s->st[ST_INSN];
	int64_t id = insn_find(s, addr, bytes, len);
	uintptr_t head;

	OWNER_CHECK(&s->owner);
	if (id >= 0)
		return id;
	if (len == 0 || len > STORE_INSN_MAX)
		return err_set(err, ERR_INTERNAL, "store: instruction of %zu bytes at 0x%llx", len,
		               (unsigned long long)addr);
	id = (int64_t)s->insns.len;
	if (id >= UINT32_MAX)
		return err_set(err, ERR_UNSUPPORTED, "store: more than 2^32 distinct instructions");
	if (s->blocks) {
		if (store_insn_chunk_add(s, addr, bytes, len, err))
			return -1;
	} else {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)addr);
		sqlite3_bind_blob(st, 3, bytes, (int)len, SQLITE_STATIC);
		if (store_step_done(s, ST_INSN, "instruction", err))
			return -1;
	}
	memcpy(e.bytes, bytes, len);
	/* Same address, new bytes (self-modifying code): chain behind the first pair. */
	head = (uintptr_t)hashmap_get(&s->insn_by_addr, addr);
	if (head) {
		e.next = s->insns.data[head - 1].next;
		s->insns.data[head - 1].next = (uint32_t)id + 1;
	} else {
		hashmap_put(&s->insn_by_addr, addr, (void *)(uintptr_t)(id + 1));
	}
	vec_push(&s->insns, e);
	return id;
}

int store_stream_flush(struct store *s, int64_t thread, struct err *err)
{
	struct store_stream *t = &s->streams.data[thread];
	sqlite3_stmt *st = s->st[ST_CHUNK];
	const uint8_t *payload = s->packed;
	uint64_t count = s->blocks ? t->tok_insns : t->len;
	size_t packed;

	if (!count)
		return 0;
	if (s->blocks)
		payload = store_token_payload(s, t, &packed);
	else
		packed = store_chunk_pack(t->buf, t->len, s->packed);
	sqlite3_bind_int64(st, 1, thread);
	sqlite3_bind_int64(st, 2, t->seq);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)t->first);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)count);
	if (store_chunk_write(s, st, 5, payload, packed, "instructions", err))
		return -1;
	t->seq++;
	t->first += count;
	t->len = 0;
	store_token_reset(t);
	return 0;
}

/* Make room for one more id: grow the buffer, or write it out when it holds a full chunk. */
static int stream_make_room(struct store *s, int64_t thread, struct err *err)
{
	struct store_stream *t = &s->streams.data[thread];

	if (t->cap < STORE_CHUNK_INSNS) {
		t->cap = t->cap ? t->cap * 4 : 1024;
		if (t->cap > STORE_CHUNK_INSNS)
			t->cap = STORE_CHUNK_INSNS;
		t->buf = xreallocarray(t->buf, t->cap, sizeof(*t->buf));
		return 0;
	}
	if (store_stream_flush(s, thread, err))
		return -1;
	if (store_now_ms() - s->last_commit_ms >= STORE_COMMIT_INTERVAL_MS)
		return store_commit(s, err);
	return 0;
}

static int bad_thread(int64_t thread, struct err *err)
{
	return err_set(err, ERR_INTERNAL, "store: instructions of unknown thread %lld",
	               (long long)thread);
}

int64_t store_insn(struct store *s, int64_t thread, uint64_t addr, const uint8_t *bytes, size_t len,
                   struct err *err)
{
	struct store_stream *t;
	int64_t id;

	OWNER_CHECK(&s->owner);
	if (unlikely((uint64_t)thread >= s->streams.len))
		return bad_thread(thread, err);
	id = insn_find(s, addr, bytes, len);
	if (unlikely(id < 0)) {
		id = store_insn_intern(s, addr, bytes, len, err);
		if (id < 0)
			return -1;
	}
	if (unlikely(s->blocks))
		return store_token_append_insn(s, thread, (uint32_t)id, err);
	t = &s->streams.data[thread];
	if (unlikely(t->len == t->cap)) {
		if (stream_make_room(s, thread, err))
			return -1;
		t = &s->streams.data[thread];
	}
	t->buf[t->len++] = (uint32_t)id;
	return (int64_t)t->pos++;
}

int store_stream_append(struct store *s, int64_t thread, const uint32_t *ids, size_t n,
                        struct err *err)
{
	uint32_t limit = (uint32_t)s->insns.len;
	struct store_stream *t;
	size_t i, k;

	OWNER_CHECK(&s->owner);
	if ((uint64_t)thread >= s->streams.len)
		return bad_thread(thread, err);
	/* Check first so that a bad id leaves the stream as it was. */
	for (i = 0; i < n; i++)
		if (unlikely(ids[i] >= limit))
			return err_set(err, ERR_INTERNAL, "store: unknown instruction id %u",
			               ids[i]);
	if (s->blocks) {
		for (i = 0; i < n; i++)
			if (store_token_append_insn(s, thread, ids[i], err) < 0)
				return -1;
		return 0;
	}
	while (n) {
		t = &s->streams.data[thread];
		if (t->len == t->cap && stream_make_room(s, thread, err))
			return -1;
		t = &s->streams.data[thread];
		k = t->cap - t->len < n ? t->cap - t->len : n;
		memcpy(t->buf + t->len, ids, k * sizeof(*ids));
		t->len += k;
		t->pos += k;
		ids += k;
		n -= k;
	}
	return 0;
}

int store_stream_release(struct store *s, int64_t thread, struct err *err)
{
	struct store_stream *t = &s->streams.data[thread];

	if (store_stream_flush(s, thread, err))
		return -1;
	free(t->buf);
	t->buf = NULL;
	t->cap = 0;
	free(t->tok);
	t->tok = NULL;
	t->tok_cap = 0;
	return 0;
}

uint64_t store_thread_pos(struct store *s, int64_t thread)
{
	if ((uint64_t)thread >= s->streams.len)
		return 0;
	return s->streams.data[thread].pos;
}

void store_streams_fini(struct store *s)
{
	struct store_stream *t;

	vec_foreach (&s->streams, t)
		free(t->buf);
	vec_free(&s->streams);
	vec_free(&s->insns);
	hashmap_fini(&s->insn_by_addr);
}
