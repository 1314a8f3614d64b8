/*
 * A 64-bit hash of bytes: to tell contents apart (a cache's key, a
 * file's checksum), not against anyone crafting collisions.
 */
#ifndef NOSCO_UTIL_HASH_H
#define NOSCO_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

/* hash_bytes - the hash of len bytes at p, from seed (0, or another hash to chain) */
uint64_t hash_bytes(const void *p, size_t len, uint64_t seed);

/* hash_u64 - hash_bytes() of one value */
uint64_t hash_u64(uint64_t v, uint64_t seed);

#endif
