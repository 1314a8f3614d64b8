/*
 * Interning (address, bytes) pairs (for blocks too), and the hot path of
 * an engine that reports single instructions (the step engine): one
 * instruction token each appended to the thread's stream, written as
 * zstd-compressed chunks (docs/trace-format.md, "chunks").
 *
 * Per executed instruction this costs one hash lookup, one memcmp of at
 * most 15 bytes and one token of a few bytes; SQLite is only touched once
 * per instruction chunk and once per stream chunk.
 */
#include <stdlib.h>
#include <string.h>

#include "store/writer-int.h"
#include "util/xalloc.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* The id of a known pair, or -1; *head: the first pair at addr (its id + 1), 0 if none */
static inline int64_t insn_find(const struct store *s, uint64_t addr, const uint8_t *bytes,
                                size_t len, uintptr_t *head)
{
	uintptr_t ref = (uintptr_t)hashmap_get(&s->insn_by_addr, addr);

	*head = ref;
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
	uintptr_t head;
	int64_t id = insn_find(s, addr, bytes, len, &head);

	STORE_ENTER(s);
	if (id >= 0)
		return id;
	if (len == 0 || len > STORE_INSN_MAX)
		return err_set(err, ERR_INTERNAL, "store: instruction of %zu bytes at 0x%llx", len,
		               (unsigned long long)addr);
	id = (int64_t)s->insns.len;
	if (id >= UINT32_MAX)
		return err_set(err, ERR_UNSUPPORTED, "store: more than 2^32 distinct instructions");
	if (store_insn_chunk_add(s, addr, bytes, len, err))
		return -1;
	memcpy(e.bytes, bytes, len);
	/* Same address, new bytes (self-modifying code): chain behind the first pair. */
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
	sqlite3_stmt *st;
	uint64_t count = t->tok_insns;
	const uint8_t *payload;
	size_t len;

	if (!count)
		return 0;
	if (!(st = store_stmt(s, ST_CHUNK, err)))
		return -1;
	payload = store_token_payload(t, &len);
	sqlite3_bind_int64(st, 1, thread);
	sqlite3_bind_int64(st, 2, t->seq);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)t->first);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)count);
	if (store_chunk_write(s, st, 5, payload, len, "instructions", err))
		return -1;
	t->seq++;
	t->first += count;
	store_token_reset(t);
	return 0;
}

int store_bad_thread(int64_t thread, struct err *err)
{
	return err_set(err, ERR_INTERNAL, "store: instructions of unknown thread %lld",
	               (long long)thread);
}

int64_t store_insn(struct store *s, int64_t thread, uint64_t addr, const uint8_t *bytes, size_t len,
                   struct err *err)
{
	uintptr_t head;
	int64_t id;

	STORE_ENTER(s);
	if (unlikely((uint64_t)thread >= s->streams.len))
		return store_bad_thread(thread, err);
	id = insn_find(s, addr, bytes, len, &head);
	if (unlikely(id < 0)) {
		id = store_insn_intern(s, addr, bytes, len, err);
		if (id < 0)
			return -1;
	}
	return store_token_append_insn(s, thread, (uint32_t)id, err);
}

int store_stream_append(struct store *s, int64_t thread, const uint32_t *ids, size_t n,
                        struct err *err)
{
	uint32_t limit = (uint32_t)s->insns.len;
	size_t i;

	STORE_ENTER(s);
	if ((uint64_t)thread >= s->streams.len)
		return store_bad_thread(thread, err);
	/* Check first so that a bad id leaves the stream as it was. */
	for (i = 0; i < n; i++)
		if (unlikely(ids[i] >= limit))
			return err_set(err, ERR_INTERNAL, "store: unknown instruction id %u",
			               ids[i]);
	for (i = 0; i < n; i++)
		if (store_token_append_insn(s, thread, ids[i], err) < 0)
			return -1;
	return 0;
}

int store_stream_release(struct store *s, int64_t thread, struct err *err)
{
	struct store_stream *t = &s->streams.data[thread];

	if (store_stream_flush(s, thread, err))
		return -1;
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
		free(t->tok);
	vec_free(&s->streams);
	vec_free(&s->insns);
	hashmap_fini(&s->insn_by_addr);
}
