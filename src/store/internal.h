/*
 * Pieces of the trace file format shared by the writer (store.h) and the
 * reader (reader.h): the schema, the file probe and the stream chunk
 * codec. docs/trace-format.md is the description for humans; this is the
 * one place in the code that must agree with it.
 */
#ifndef NOSCO_STORE_INTERNAL_H
#define NOSCO_STORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Instructions per full stream chunk (partial chunks are cut at commits). */
#define STORE_CHUNK_INSNS 65536
/*
 * zstd level of stream chunks. Measured on loop-shaped streams
 * (bench/store): level 3 gives ~87 KB per million instructions at ~1.7 ns
 * each, level 6 ~37 KB at ~3.7 ns, level 12 ~26 KB at ~60 ns.
 */
#define STORE_ZSTD_LEVEL 6
/* The longest x86 instruction; instruction byte strings are at most this long. */
#define STORE_INSN_MAX 15
/* A varint of a zig-zag delta of two 32-bit ids takes at most 5 bytes. */
#define STORE_VARINT_MAX 5

/* The CREATE statements of schema version STORE_SCHEMA_VERSION. */
extern const char store_schema_sql[];

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
 * store_chunk_pack - encode a run of instruction ids as a chunk payload
 * @ids: the ids, in stream order
 * @n: how many
 * @out: room for at least n * STORE_VARINT_MAX bytes
 *
 * Each id becomes the unsigned LEB128 varint of the zig-zag encoded
 * difference to the previous id of the chunk (the first to 0).
 * Return: the payload length in bytes.
 */
size_t store_chunk_pack(const uint32_t *ids, size_t n, uint8_t *out);

/**
 * store_chunk_unpack - decode a chunk payload made by store_chunk_pack()
 * @in, @len: the payload
 * @ids: room for @n ids
 * @n: the number of ids the chunk row says it holds
 *
 * Return: 0, or -1 if the payload does not hold exactly @n valid ids.
 */
int store_chunk_unpack(const uint8_t *in, size_t len, uint32_t *ids, size_t n);

#endif
