/*
 * The token codec of instruction streams (docs/trace-format.md, "Block
 * streams"): a chunk payload is a sequence of tokens, each a single
 * instruction id or a run of one block, delta-coded against the previous
 * instruction and the previous block of the chunk.
 */
#include "store/internal.h"

#include <string.h>

size_t store_token_insn(uint8_t *out, uint32_t id, int64_t *prev_insn)
{
	uint64_t v = store_zigzag((int64_t)id - *prev_insn) << 1;

	*prev_insn = id;
	return (size_t)(store_varint_put(out, v) - out);
}

size_t store_token_block(uint8_t *out, uint32_t block, uint64_t repeat, int64_t *prev_block)
{
	uint64_t v = store_zigzag((int64_t)block - *prev_block) << 2 | 1;
	uint8_t *p;

	*prev_block = block;
	if (repeat < 2)
		return (size_t)(store_varint_put(out, v) - out);
	p = store_varint_put(out, v | 2);
	return (size_t)(store_varint_put(p, repeat - 2) - out);
}

/* Copy one block's ids r times into ids[*k..]; -1 if it does not fit in n. */
static int expand_block(const struct store_token_blocks *bl, uint32_t block, uint64_t r,
                        uint32_t *ids, size_t *k, size_t n)
{
	const uint32_t *b;
	size_t len;

	if (bl->get(bl->ctx, block, &b, &len) || !len)
		return -1;
	if (r > (n - *k) / len)
		return -1;
	while (r--) {
		memcpy(ids + *k, b, len * sizeof(*ids));
		*k += len;
	}
	return 0;
}

int store_tokens_unpack(const uint8_t *in, size_t len, uint32_t *ids, size_t n,
                        const struct store_token_blocks *bl)
{
	const uint8_t *p = in, *end = in + len;
	int64_t prev_insn = 0, prev_block = 0, x;
	size_t k = 0;
	uint64_t v, r;

	while (p < end) {
		if (store_varint_get(&p, end, 63, &v))
			return -1;
		if (!(v & 1)) {
			x = prev_insn + store_unzigzag(v >> 1);
			if (x < 0 || x > UINT32_MAX || k == n)
				return -1;
			ids[k++] = (uint32_t)x;
			prev_insn = x;
			continue;
		}
		r = 1;
		if ((v & 2) && (store_varint_get(&p, end, 63, &r) || r > UINT64_MAX - 2))
			return -1;
		if (v & 2)
			r += 2;
		x = prev_block + store_unzigzag(v >> 2);
		if (x < 0 || x > UINT32_MAX || expand_block(bl, (uint32_t)x, r, ids, &k, n))
			return -1;
		prev_block = x;
	}
	return k == n ? 0 : -1;
}
