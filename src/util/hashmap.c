/* Open-addressing hash map from u64 to pointers: see hashmap.h. */
#include "util/hashmap.h"

#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

static size_t slot_of(uint64_t key, size_t cap)
{
	/* Addresses and tids share low-bit patterns: mix before masking. */
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return (size_t)key & (cap - 1);
}

void hashmap_init(struct hashmap *m)
{
	m->slots = NULL;
	m->cap = 0;
	m->len = 0;
}

void hashmap_fini(struct hashmap *m)
{
	free(m->slots);
	hashmap_init(m);
}

static void hashmap_grow(struct hashmap *m)
{
	struct hashmap_slot *old = m->slots;
	size_t old_cap = m->cap, i;

	m->cap = old_cap ? old_cap * 2 : 16;
	/*
	 * Zeroed by writing, not calloc: fresh pages read before they are
	 * written fault twice, the second time with a TLB flush of every CPU
	 * the process runs on.
	 */
	m->slots = xmalloc(m->cap * sizeof(*m->slots));
	memset(m->slots, 0, m->cap * sizeof(*m->slots));
	m->len = 0;
	for (i = 0; i < old_cap; i++)
		if (old[i].value)
			hashmap_put(m, old[i].key, old[i].value);
	free(old);
}

void *hashmap_get(const struct hashmap *m, uint64_t key)
{
	size_t i;

	if (!m->cap)
		return NULL;
	for (i = slot_of(key, m->cap); m->slots[i].value; i = (i + 1) & (m->cap - 1))
		if (m->slots[i].key == key)
			return m->slots[i].value;
	return NULL;
}

void *hashmap_put(struct hashmap *m, uint64_t key, void *value)
{
	size_t i;

	if ((m->len + 1) * 4 > m->cap * 3)
		hashmap_grow(m);
	for (i = slot_of(key, m->cap); m->slots[i].value; i = (i + 1) & (m->cap - 1)) {
		if (m->slots[i].key == key) {
			void *old = m->slots[i].value;

			m->slots[i].value = value;
			return old;
		}
	}
	m->slots[i].key = key;
	m->slots[i].value = value;
	m->len++;
	return NULL;
}

void *hashmap_del(struct hashmap *m, uint64_t key)
{
	size_t i, j, mask = m->cap - 1;
	void *old;

	if (!m->cap)
		return NULL;
	for (i = slot_of(key, m->cap); m->slots[i].value; i = (i + 1) & mask)
		if (m->slots[i].key == key)
			break;
	if (!m->slots[i].value)
		return NULL;
	old = m->slots[i].value;
	m->slots[i].value = NULL;
	m->len--;
	/* Re-insert the rest of the cluster so that probing stays correct. */
	for (j = (i + 1) & mask; m->slots[j].value; j = (j + 1) & mask) {
		struct hashmap_slot s = m->slots[j];

		m->slots[j].value = NULL;
		m->len--;
		hashmap_put(m, s.key, s.value);
	}
	return old;
}

bool hashmap_next(const struct hashmap *m, size_t *pos, uint64_t *key, void **value)
{
	while (*pos < m->cap) {
		struct hashmap_slot *s = &m->slots[(*pos)++];

		if (s->value) {
			if (key)
				*key = s->key;
			if (value)
				*value = s->value;
			return true;
		}
	}
	return false;
}
