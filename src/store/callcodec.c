/*
 * The call records (docs/trace-format.md, "Call
 * chunks"): a finished call as a run of varints, each field coded against
 * the same field of the previous record of its chunk, so that the calls
 * of a recursion or a loop repeat the same bytes for zstd to fold.
 */
#include "store/internal.h"
#include "store/store.h"

#include <stdint.h>
#include <string.h>

/* Flags in the second varint. */
#define F_TRUNCATED 1
#define F_SIGNAL    2
#define F_BT        4
#define F_PARENT    8
#define F_BT_SAME   (1u << 12) /* the backtrace the chunk's last one listed (schema 5) */

/* same_bt - c's backtrace is the one the chunk's last listed */
static bool same_bt(const struct store_callcodec *st, const struct store_callrec *c)
{
	return c->bt_len == st->bt_len && !memcmp(c->bt, st->bt, c->bt_len * sizeof(*c->bt));
}

size_t store_callrec_encode(struct store_callcodec *st, const struct store_callrec *c, uint8_t *out)
{
	uint64_t flags = (c->truncated ? F_TRUNCATED : 0) | (c->kind == 4 ? F_SIGNAL : 0) |
	                 (c->parent >= 0 ? F_PARENT : 0);
	uint8_t *p = out;
	size_t i;

	if (c->bt_len)
		flags |= same_bt(st, c) ? F_BT_SAME : F_BT;

	p = store_varint_put(p, store_zigzag(c->id - st->id));
	p = store_varint_put(p, flags | (uint64_t)c->kind << 4 | (uint64_t)c->end_kind << 8);
	p = store_varint_put(p, (uint64_t)c->thread);
	if (c->parent >= 0)
		p = store_varint_put(p, (uint64_t)(c->id - c->parent));
	p = store_varint_put(p, c->depth);
	p = store_varint_put(p, store_zigzag((int64_t)(c->addr - st->addr)));
	p = store_varint_put(p, store_zigzag((int64_t)(c->site - st->site)));
	p = store_varint_put(p, store_zigzag((int64_t)(c->ret_addr - c->site)));
	p = store_varint_put(p, store_zigzag((int64_t)(c->pos_start - st->pos)));
	p = store_varint_put(p, c->pos_end - c->pos_start);
	p = store_varint_put(p, store_zigzag((int64_t)(c->time_start - st->time)));
	p = store_varint_put(p, store_zigzag((int64_t)(c->time_end - c->time_start)));
	p = store_varint_put(p, c->kids);
	p = store_varint_put(p, c->inner);
	p = store_varint_put(p, (uint64_t)(c->ids_end - c->id));
	if (flags & F_SIGNAL)
		p = store_varint_put(p, (uint64_t)c->signal);
	if (flags & F_BT) {
		p = store_varint_put(p, c->bt_len);
		for (i = 0; i < c->bt_len; i++)
			p = store_varint_put(p, c->bt[i]);
		st->bt_len = c->bt_len;
		memcpy(st->bt, c->bt, c->bt_len * sizeof(*c->bt));
	}
	st->id = c->id;
	st->addr = c->addr;
	st->site = c->site;
	st->pos = c->pos_start;
	st->time = c->time_start;
	return (size_t)(p - out);
}

/*
 * The record's numbers are checked before they are used: a damaged chunk
 * may hold any 64-bit value, and ids and parents are signed.
 */
int store_callrec_decode(struct store_callcodec *st, const uint8_t **p, const uint8_t *end,
                         struct store_callrec *c, uint64_t *bt, size_t bt_max)
{
	uint64_t v[15], flags, n, i, id;
	int k;

	memset(c, 0, sizeof(*c));
	if (store_varint_get(p, end, 63, &v[0]) || store_varint_get(p, end, 63, &flags) ||
	    store_varint_get(p, end, 63, &v[1]))
		return -1;
	id = (uint64_t)st->id + (uint64_t)store_unzigzag(v[0]);
	if (id > INT64_MAX || v[1] > INT64_MAX || flags >> 13 ||
	    (flags & F_BT && flags & F_BT_SAME) || (flags >> 4 & 15) > STORE_CALL_ATTACHED ||
	    (flags >> 8 & 15) > STORE_END_DETACHED)
		return -1;
	c->id = (int64_t)id;
	c->kind = (int)(flags >> 4 & 15);
	c->end_kind = (int)(flags >> 8 & 15);
	c->truncated = flags & F_TRUNCATED;
	c->thread = (int64_t)v[1];
	c->parent = -1;
	if (flags & F_PARENT) {
		/* A parent begins before its call: 1 <= id - parent <= id. */
		if (store_varint_get(p, end, 63, &v[2]) || v[2] == 0 || v[2] > id)
			return -1;
		c->parent = (int64_t)(id - v[2]);
	}
	for (k = 3; k < 14; k++)
		if (store_varint_get(p, end, 63, &v[k]))
			return -1;
	if (v[3] > UINT32_MAX)
		return -1;
	c->depth = (uint32_t)v[3];
	c->addr = st->addr + (uint64_t)store_unzigzag(v[4]);
	c->site = st->site + (uint64_t)store_unzigzag(v[5]);
	c->ret_addr = c->site + (uint64_t)store_unzigzag(v[6]);
	c->pos_start = st->pos + (uint64_t)store_unzigzag(v[7]);
	if (v[8] > UINT64_MAX - c->pos_start)
		return -1;
	c->pos_end = c->pos_start + v[8];
	c->time_start = st->time + (uint64_t)store_unzigzag(v[9]);
	c->time_end = c->time_start + (uint64_t)store_unzigzag(v[10]);
	/* Its calls and their instructions lie within it; its subtree's ids follow it. */
	if (v[12] > v[8] || v[13] == 0 || v[13] > (uint64_t)INT64_MAX - id || v[11] >= v[13])
		return -1;
	c->kids = v[11];
	c->inner = v[12];
	c->ids_end = (int64_t)(id + v[13]);
	if (flags & F_SIGNAL) {
		if (store_varint_get(p, end, 63, &v[14]) || v[14] > INT32_MAX)
			return -1;
		c->signal = (int32_t)v[14];
	}
	if (flags & F_BT) {
		if (store_varint_get(p, end, 63, &n) || n > bt_max)
			return -1;
		for (i = 0; i < n; i++)
			if (store_varint_get(p, end, 63, &bt[i]))
				return -1;
		c->bt = bt;
		c->bt_len = n;
		/* longer than a writer gives a record: none after it is the same */
		st->bt_len = n <= STORE_CALLREC_BT_MAX ? n : 0;
		memcpy(st->bt, bt, st->bt_len * sizeof(*bt));
	} else if (flags & F_BT_SAME) {
		if (!st->bt_len || st->bt_len > bt_max)
			return -1;
		memcpy(bt, st->bt, st->bt_len * sizeof(*bt));
		c->bt = bt;
		c->bt_len = st->bt_len;
	}
	st->id = c->id;
	st->addr = c->addr;
	st->site = c->site;
	st->pos = c->pos_start;
	st->time = c->time_start;
	return 0;
}
