/*
 * Pieces of the trace file format shared by the writer (store.h) and the
 * reader (reader.h): the schema, the file probe and the stream chunk
 * codec. docs/trace-format.md is the description for humans; this is the
 * one place in the code that must agree with it.
 */
#ifndef NOSCO_STORE_INTERNAL_H
#define NOSCO_STORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/vec.h"

/* Instructions per full stream chunk (partial chunks are cut at commits). */
#define STORE_CHUNK_INSNS 65536
/*
 * zstd level of every chunk (streams, instructions, call records): their
 * payloads are compact before compression already (tokens, deltas), and
 * the dbt engine writes them at hundreds of millions of instructions per
 * second.
 */
#define STORE_ZSTD_LEVEL 1
/* The longest x86 instruction; instruction byte strings are at most this long. */
#define STORE_INSN_MAX 15
/* A varint of a zig-zag delta of two 32-bit ids takes at most 5 bytes. */
#define STORE_VARINT_MAX 5
/*
 * Schema versions the reader knows: 3 is 4 without the call summaries
 * (read without them), 4 is 5 without call records that give their
 * backtrace as the previous one's; 1 (instruction ids, calls as rows) and
 * 2 (block streams without the call index) are refused.
 * STORE_SCHEMA_VERSION (store.h) is the one written.
 */
#define STORE_SCHEMA_OLDEST  3
#define STORE_SCHEMA_SUMMARY 4
/* Instructions in one block at most (blocks are straight-line code). */
#define STORE_BLOCK_MAX 4096
/* The longest token: a block varint (6 bytes) and a repeat count (10). */
#define STORE_TOKEN_MAX 16

/* The CREATE statements of the schema. */
extern const char store_schema_sql[];
/* The settings of a file being written (store_open_db(), gen-template.c). */
extern const char store_writer_pragmas[];

enum store_file_kind {
	STORE_FILE_MISSING, /* nothing at the path */
	STORE_FILE_EMPTY,   /* an empty regular file: nothing to lose */
	STORE_FILE_TRACE,   /* an SQLite database with nosco's application_id */
	STORE_FILE_OTHER,   /* anything else: must not be replaced without --force */
};

/**
 * store_probe_file - tell what is at a path without changing it
 * @path: the file
 * @kind: filled with what was found
 * @err: filled when the path cannot be examined (a directory, no access)
 *
 * A trace is recognised by the SQLite header magic and the application_id
 * field of the header (big-endian at offset 68).
 * Return: 0, or -1 with err (ERR_IO).
 */
int store_probe_file(const char *path, enum store_file_kind *kind, struct err *err);

/**
 * store_ids_pack - encode a run of instruction ids: a block's (blocks.insns)
 * @ids: the ids, in execution order
 * @n: how many
 * @out: room for at least n * STORE_VARINT_MAX bytes
 *
 * Each id becomes the unsigned LEB128 varint of the zig-zag encoded
 * difference to the previous id (the first to 0).
 * Return: the payload length in bytes.
 */
size_t store_ids_pack(const uint32_t *ids, size_t n, uint8_t *out);

/**
 * store_ids_unpack - decode ids encoded by store_ids_pack()
 * @in, @len: the payload
 * @ids: room for @n ids
 * @n: the number of ids the row says it holds
 *
 * Return: 0, or -1 if the payload does not hold exactly @n valid ids.
 */
int store_ids_unpack(const uint8_t *in, size_t len, uint32_t *ids, size_t n);

/* A finished call, as the file keeps it in call chunks. */
struct store_callrec {
	int64_t id, thread, parent; /* parent -1: none */
	int kind, end_kind;         /* enum store_call_kind, enum store_call_end */
	uint32_t depth;
	uint64_t addr, site, ret_addr, pos_start, pos_end, time_start, time_end;
	int32_t signal;
	bool truncated;
	const uint64_t *bt;
	size_t bt_len;
	/* what the views show without reading the calls it made */
	uint64_t kids;   /* calls it made */
	uint64_t inner;  /* instructions of those calls (<= pos_end - pos_start) */
	int64_t ids_end; /* every call it made, and theirs, has an id below this */
};

/* The most return addresses a call record holds: a longer backtrace is cut there. */
#define STORE_CALLREC_BT_MAX 256
/*
 * The previous record of a chunk, which each field is coded against (zero
 * at its start), and the backtrace the last record that listed one listed
 * (a record of a hot scope's entry often has the same: schema 5)
 */
struct store_callcodec {
	int64_t id;
	uint64_t addr, site, pos, time;
	size_t bt_len;
	uint64_t bt[STORE_CALLREC_BT_MAX];
};

/* Instructions per insn chunk at most. */
#define STORE_INSN_CHUNK 4096
/* Calls per call chunk at most. */
#define STORE_CALL_CHUNK 4096
/* Calls per row of the call index at most. */
#define STORE_IX_BLOCK 16384
/* The longest encoded entry of the call index. */
#define STORE_IX_ENT_MAX 40
/* The longest encoded call record without its backtrace. */
#define STORE_CALLREC_MAX 176

/**
 * store_callrec_encode - append a call record
 * @out: room for STORE_CALLREC_MAX + 10 * c->bt_len bytes
 * Return: the bytes written.
 */
size_t store_callrec_encode(struct store_callcodec *st, const struct store_callrec *c,
                            uint8_t *out);

/**
 * store_callrec_decode - read one call record at *p (advanced past it)
 * @bt: room for bt_max return addresses (c->bt points there)
 * Return: 0, or -1 if the bytes are not a record.
 */
int store_callrec_decode(struct store_callcodec *st, const uint8_t **p, const uint8_t *end,
                         struct store_callrec *c, uint64_t *bt, size_t bt_max);

/* One entry address in a call summary: its calls in the index row. */
struct store_callsum_func {
	uint64_t addr;
	uint64_t calls; /* how many of the row's calls enter there (>= 1) */
	uint64_t insns; /* their instructions (pos_end - pos_start), of those that are records */
	uint32_t first; /* the first of them: its id - the row's first id */
};

/* What the calls of one call index row are made of (schema 4, callsum.c). */
struct store_callsum {
	uint64_t max_own;     /* the most own instructions of a call that is a record */
	uint32_t rows;        /* how many of its calls are rows of calls (running at the write) */
	VEC(int64_t) threads; /* their threads, ascending */
	VEC(struct store_callsum_func) funcs; /* their entry addresses, ascending */
};

/* store_callsum_max - room store_callsum_encode() needs for s */
size_t store_callsum_max(const struct store_callsum *s);

/* store_callsum_encode - the summary as varints; Return: the bytes written */
size_t store_callsum_encode(const struct store_callsum *s, uint8_t *out);

/**
 * store_callsum_decode - a summary of an index row of @count calls
 * Checked: threads and addresses ascending, every call counted once
 * (the functions' calls add up to @count), first calls within the row.
 * Return: 0, or -1 if the bytes are not such a summary.
 */
int store_callsum_decode(const uint8_t *p, const uint8_t *end, int64_t count,
                         struct store_callsum *out);

/* store_callsum_fini - free what a decoded or built summary holds */
void store_callsum_fini(struct store_callsum *s);

/* How a token decoder finds a block's instruction ids. */
struct store_token_blocks {
	void *ctx;
	/* the ids of block (valid until the next call); 0, or -1 if there is no such block */
	int (*get)(void *ctx, uint32_t block, const uint32_t **ids, size_t *n);
};

/**
 * store_token_insn - encode a one-instruction token
 * @out: room for STORE_TOKEN_MAX bytes
 * @prev_insn: the previous instruction id of the chunk (0 at its start), updated
 *
 * Return: the bytes written.
 */
size_t store_token_insn(uint8_t *out, uint32_t id, int64_t *prev_insn);

/**
 * store_token_block - encode a token for a block executed @repeat (>= 1) times in a row
 * @prev_block: the previous block id of the chunk (0 at its start), updated
 *
 * Return: the bytes written (at most STORE_TOKEN_MAX).
 */
size_t store_token_block(uint8_t *out, uint32_t block, uint64_t repeat, int64_t *prev_block);

/**
 * store_tokens_unpack - decode a stream chunk payload into instruction ids
 * @in, @len: the payload
 * @ids: room for @n ids
 * @n: the number of instructions the chunk row says it holds
 * @bl: where block ids are looked up
 *
 * Return: 0, or -1 if the payload does not decode to exactly @n valid ids.
 */
int store_tokens_unpack(const uint8_t *in, size_t len, uint32_t *ids, size_t n,
                        const struct store_token_blocks *bl);

/*
 * The varints of the file formats: 7 bits a byte, low bits first, the top
 * bit set on every byte but the last; signed values zig-zag coded.
 */
static inline uint8_t *store_varint_put(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* store_varint_get - decode one varint of at most max_shift / 7 + 1 bytes; 0 or -1 */
static inline int store_varint_get(const uint8_t **pp, const uint8_t *end, unsigned max_shift,
                                   uint64_t *out)
{
	const uint8_t *p = *pp;
	unsigned shift = 0;
	uint64_t v = 0;

	do {
		if (p == end || shift > max_shift)
			return -1;
		v |= (uint64_t)(*p & 0x7f) << shift;
		shift += 7;
	} while (*p++ & 0x80);
	*pp = p;
	*out = v;
	return 0;
}

static inline uint64_t store_zigzag(int64_t d)
{
	return ((uint64_t)d << 1) ^ (uint64_t)(d >> 63);
}

static inline int64_t store_unzigzag(uint64_t z)
{
	return (int64_t)((z >> 1) ^ (~(z & 1) + 1));
}

#endif
