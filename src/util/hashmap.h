/*
 * A hash map from 64-bit keys to pointers (open addressing, linear
 * probing). Used on hot paths of the tracer (breakpoints by address,
 * threads by tid, instructions by address), so it stays allocation-free
 * except when it grows.
 */
#ifndef NOSCO_UTIL_HASHMAP_H
#define NOSCO_UTIL_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hashmap_slot {
	uint64_t key;
	void *value; /* NULL marks an empty slot: values must not be NULL */
};

struct hashmap {
	struct hashmap_slot *slots;
	size_t cap; /* a power of two */
	size_t len;
};

void hashmap_init(struct hashmap *m);
void hashmap_fini(struct hashmap *m);
/* hashmap_get - the value stored for key, or NULL */
void *hashmap_get(const struct hashmap *m, uint64_t key);
/* hashmap_put - store value (not NULL) for key, replacing any old value; returns the old one */
void *hashmap_put(struct hashmap *m, uint64_t key, void *value);
/* hashmap_del - remove key; returns the removed value or NULL */
void *hashmap_del(struct hashmap *m, uint64_t key);

/* Iterate: for (i = 0; hashmap_next(m, &i, &key, &value);) ... (no changes while iterating) */
bool hashmap_next(const struct hashmap *m, size_t *pos, uint64_t *key, void **value);

#endif
