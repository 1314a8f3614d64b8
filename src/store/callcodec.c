/*
 * The call records of schema 2 files (docs/trace-format.md, "Call
 * chunks"): a finished call as a run of varints, each field coded against
 * the same field of the previous record of its chunk, so that the calls
 * of a recursion or a loop repeat the same bytes for zstd to fold.
 */
#include "store/internal.h"

#include <string.h>

static uint8_t *put(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static uint64_t zz(int64_t d)
{
	return ((uint64_t)d << 1) ^ (uint64_t)(d >> 63);
}

static int64_t unzz(uint64_t z)
{
	return (int64_t)((z >> 1) ^ (~(z & 1) + 1));
}

/* Flags in the second varint. */
#define F_TRUNCATED 1
#define F_SIGNAL    2
#define F_BT        4
#define F_PARENT    8

size_t store_callrec_encode(struct store_callcodec *st, const struct store_callrec *c, uint8_t *out)
{
	uint64_t flags = (c->truncated ? F_TRUNCATED : 0) | (c->kind == 4 ? F_SIGNAL : 0) |
	                 (c->bt_len ? F_BT : 0) | (c->parent >= 0 ? F_PARENT : 0);
	uint8_t *p = out;
	size_t i;

	p = put(p, zz(c->id - st->id));
	p = put(p, flags | (uint64_t)c->kind << 4 | (uint64_t)c->end_kind << 8);
	p = put(p, (uint64_t)c->thread);
	if (c->parent >= 0)
		p = put(p, (uint64_t)(c->id - c->parent));
	p = put(p, c->depth);
	p = put(p, zz((int64_t)(c->addr - st->addr)));
	p = put(p, zz((int64_t)(c->site - st->site)));
	p = put(p, zz((int64_t)(c->ret_addr - c->site)));
	p = put(p, zz((int64_t)(c->pos_start - st->pos)));
	p = put(p, c->pos_end - c->pos_start);
	p = put(p, zz((int64_t)(c->time_start - st->time)));
	p = put(p, zz((int64_t)(c->time_end - c->time_start)));
	if (flags & F_SIGNAL)
		p = put(p, (uint64_t)c->signal);
	if (flags & F_BT) {
		p = put(p, c->bt_len);
		for (i = 0; i < c->bt_len; i++)
			p = put(p, c->bt[i]);
	}
	st->id = c->id;
	st->addr = c->addr;
	st->site = c->site;
	st->pos = c->pos_start;
	st->time = c->time_start;
	return (size_t)(p - out);
}

static int get(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
	const uint8_t *p = *pp;
	unsigned shift = 0;

	*v = 0;
	do {
		if (p == end || shift > 63)
			return -1;
		*v |= (uint64_t)(*p & 0x7f) << shift;
		shift += 7;
	} while (*p++ & 0x80);
	*pp = p;
	return 0;
}

int store_callrec_decode(struct store_callcodec *st, const uint8_t **p, const uint8_t *end,
                         struct store_callrec *c, uint64_t *bt, size_t bt_max)
{
	uint64_t v[12], flags, n, i;
	int k;

	memset(c, 0, sizeof(*c));
	if (get(p, end, &v[0]) || get(p, end, &flags) || get(p, end, &v[1]))
		return -1;
	c->id = st->id + unzz(v[0]);
	c->kind = (int)(flags >> 4 & 15);
	c->end_kind = (int)(flags >> 8 & 15);
	c->truncated = flags & F_TRUNCATED;
	c->thread = (int64_t)v[1];
	c->parent = -1;
	if (flags & F_PARENT) {
		if (get(p, end, &v[2]))
			return -1;
		c->parent = c->id - (int64_t)v[2];
	}
	for (k = 3; k < 11; k++)
		if (get(p, end, &v[k]))
			return -1;
	c->depth = (uint32_t)v[3];
	c->addr = st->addr + (uint64_t)unzz(v[4]);
	c->site = st->site + (uint64_t)unzz(v[5]);
	c->ret_addr = c->site + (uint64_t)unzz(v[6]);
	c->pos_start = st->pos + (uint64_t)unzz(v[7]);
	c->pos_end = c->pos_start + v[8];
	c->time_start = st->time + (uint64_t)unzz(v[9]);
	c->time_end = c->time_start + (uint64_t)unzz(v[10]);
	if (flags & F_SIGNAL) {
		if (get(p, end, &v[11]))
			return -1;
		c->signal = (int32_t)v[11];
	}
	if (flags & F_BT) {
		if (get(p, end, &n) || n > bt_max)
			return -1;
		for (i = 0; i < n; i++)
			if (get(p, end, &bt[i]))
				return -1;
		c->bt = bt;
		c->bt_len = n;
	}
	st->id = c->id;
	st->addr = c->addr;
	st->site = c->site;
	st->pos = c->pos_start;
	st->time = c->time_start;
	return 0;
}
