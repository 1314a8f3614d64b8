#include "util/arena.h"

#include <stdalign.h>
#include <stdlib.h>

#include "util/xalloc.h"

#define ARENA_CHUNK ((size_t)1 << 20)

void arena_init(struct arena *a)
{
	a->chunks.data = NULL;
	a->chunks.len = a->chunks.cap = 0;
	a->next = NULL;
	a->left = 0;
}

void arena_fini(struct arena *a)
{
	void **c;

	vec_foreach (&a->chunks, c)
		free(*c);
	vec_free(&a->chunks);
	arena_init(a);
}

void *arena_zalloc(struct arena *a, size_t size)
{
	size_t align = alignof(max_align_t), chunk;
	void *p;

	size = (size + align - 1) & ~(align - 1);
	if (size > a->left) {
		/* Fresh chunks come zeroed (calloc); an object bigger than one gets its own. */
		chunk = size > ARENA_CHUNK ? size : ARENA_CHUNK;
		p = xcalloc(1, chunk);
		vec_push(&a->chunks, p);
		if (chunk == size)
			return p;
		a->next = p;
		a->left = chunk;
	}
	p = a->next;
	a->next += size;
	a->left -= size;
	return p;
}
