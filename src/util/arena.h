/*
 * A bump allocator for many small objects that live and die together (a
 * code cache's blocks): one allocation per chunk instead of one per object,
 * and freeing them all is freeing the chunks.
 */
#ifndef NOSCO_UTIL_ARENA_H
#define NOSCO_UTIL_ARENA_H

#include <stdbool.h>
#include <stddef.h>

#include "util/vec.h"

struct arena_chunk {
	char *p;
	size_t size;
	bool mapped; /* mmap()ed (else calloc()ed) */
};

struct arena {
	VEC(struct arena_chunk) chunks;
	char *next; /* free space in the last chunk */
	size_t left;
	char *present; /* made present up to here, on a chunk of small pages (arena.c) */
	size_t mapped; /* the chunks' bytes */
};

void arena_init(struct arena *a);
/* arena_fini - free everything allocated from a; it can be used again */
void arena_fini(struct arena *a);
/* arena_zalloc - size zeroed bytes, aligned for any object; aborts when out of memory */
void *arena_zalloc(struct arena *a, size_t size);

#endif
