/*
 * What an output path names: the file behind its symbolic links, and the
 * words for what it is when it is not a regular file. Shared by the trace
 * writer (run -o) and the dump's output (dump -o), which must write where
 * the user pointed and never replace a link, a device or a FIFO.
 */
#ifndef NOSCO_UTIL_PATH_H
#define NOSCO_UTIL_PATH_H

#include <sys/stat.h>
#include <sys/types.h>

#include "util/err.h"

/* path_dir - the directory that holds path ("." for a bare name); free() it */
char *path_dir(const char *path);

/**
 * path_follow - the path a file is created at when path is written
 * @path: the path as given
 * @err: ERR_IO for a loop of links or a link that cannot be read
 *
 * path itself when it is not a symbolic link; else what its chain of links
 * ends at, which may not exist yet (a dangling link: writing creates its
 * target, as a shell's > does). Renaming a new file to the result replaces
 * the target and keeps the links.
 * Return: a new string (free() it), or NULL with err.
 */
char *path_follow(const char *path, struct err *err);

/**
 * path_take_mode - give the new file at path the mode and owner of the one it replaces
 * @old: what stat() said of the old file
 *
 * A private output stays private, and root keeps a user's file the user's;
 * a file that cannot be given to its old owner loses its set-id bits.
 */
void path_take_mode(const char *path, const struct stat *old);

/* path_kind - "a directory", "a FIFO", ...: what a file that is not a regular one is */
const char *path_kind(mode_t mode);

#endif
