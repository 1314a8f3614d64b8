/*
 * An output that is a directory (uftrace's uftrace.data): written in a
 * new directory next to OUT, put in OUT's place only when it is whole, so
 * that an error never leaves a half-written directory and an OUT that is
 * not ours is never touched (outdir.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export/outdir.h"
#include "util/xalloc.h"

/* Every entry of a directory whose names a uftrace data directory uses. */
static bool entry_is_uftrace(const char *name)
{
	static const char *const ends[] = { ".dat", ".sym", ".map", ".opts", ".txt", ".dbg" };
	size_t i, n = strlen(name);

	if (!strcmp(name, "info") || !strcmp(name, "task") || !strcmp(name, "kernel_header") ||
	    !strcmp(name, "extern.dat") || !strcmp(name, "kallsyms"))
		return true;
	for (i = 0; i < sizeof(ends) / sizeof(ends[0]); i++)
		if (n > strlen(ends[i]) && !strcmp(name + n - strlen(ends[i]), ends[i]))
			return true;
	return false;
}

/* Whether dir/info begins with uftrace's magic. */
static bool has_uftrace_info(const char *dir)
{
	char *path = xasprintf("%s/info", dir), magic[8] = { 0 };
	FILE *f = fopen(path, "rb");
	bool ok = f && fread(magic, 1, sizeof(magic), f) == sizeof(magic) &&
	          !memcmp(magic, "Ftrace!", 8);

	if (f)
		fclose(f);
	free(path);
	return ok;
}

/*
 * What is at OUT: 0 if it may be replaced (nothing, an empty directory, a
 * uftrace data directory: an earlier export or uftrace's own recording),
 * else -1 with err.
 */
static int check_target(const char *out, struct err *err)
{
	struct stat st;
	struct dirent *de;
	bool empty = true, ours = true;
	DIR *d;

	if (lstat(out, &st))
		return errno == ENOENT ? 0 : err_sys(err, ERR_IO, "cannot use %s", out);
	if (S_ISLNK(st.st_mode))
		return err_set(err, ERR_USAGE, "%s is a symbolic link: give the directory itself",
		               out);
	if (!S_ISDIR(st.st_mode))
		return err_set(err, ERR_USAGE, "%s exists and is not a directory", out);
	if (!(d = opendir(out)))
		return err_sys(err, ERR_IO, "cannot read %s", out);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		empty = false;
		ours = ours && entry_is_uftrace(de->d_name);
	}
	closedir(d);
	if (empty || (ours && has_uftrace_info(out)))
		return 0;
	return err_set(err, ERR_USAGE,
	               "%s is a directory that holds other files than a uftrace data directory; "
	               "not replacing it",
	               out);
}

/* Remove a directory this export wrote, and the files in it (it has no subdirectories). */
static void remove_flat_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char *path;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		unlink(path);
		free(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

int export_outdir_open(struct export_outdir *o, const char *out, struct err *err)
{
	mode_t mask;

	memset(o, 0, sizeof(*o));
	if (check_target(out, err))
		return -1;
	o->out = out;
	o->tmp = xasprintf("%s.nosco-XXXXXX", out);
	if (!mkdtemp(o->tmp)) {
		err_sys(err, ERR_IO, "cannot create a directory next to %s", out);
		free(o->tmp);
		o->tmp = NULL;
		return -1;
	}
	/* mkdtemp makes it 0700: give it the mode mkdir would */
	mask = umask(0);
	umask(mask);
	chmod(o->tmp, 0777 & ~mask);
	return 0;
}

FILE *export_outdir_file(struct export_outdir *o, const char *name, struct err *err)
{
	char *path = xasprintf("%s/%s", o->tmp, name);
	FILE *f = fopen(path, "ab"); /* a new file, or one written before (a tid seen again) */

	if (!f)
		err_sys(err, ERR_IO, "cannot write %s/%s", o->out, name);
	free(path);
	return f;
}

int export_outdir_close_file(struct export_outdir *o, FILE *f, const char *name, struct err *err)
{
	bool bad = ferror(f);

	if (fclose(f) || bad)
		return err_sys(err, ERR_IO, "cannot write %s/%s", o->out, name);
	return 0;
}

/* Put the new directory in OUT's place; an old one is moved aside first, then removed. */
static int commit(struct export_outdir *o, struct err *err)
{
	char *old;

	if (!rename(o->tmp, o->out))
		return 0;
	if (errno != ENOTEMPTY && errno != EEXIST)
		return err_sys(err, ERR_IO, "cannot rename %s to %s", o->tmp, o->out);
	/* the old one was checked when the export began: check again, it may have changed */
	if (check_target(o->out, err))
		return -1;
	old = xasprintf("%s.nosco-old-XXXXXX", o->out);
	if (!mkdtemp(old) || rename(o->out, old)) {
		err_sys(err, ERR_IO, "cannot move %s aside", o->out);
		rmdir(old);
		free(old);
		return -1;
	}
	if (rename(o->tmp, o->out)) {
		err_sys(err, ERR_IO, "cannot rename %s to %s", o->tmp, o->out);
		rename(old, o->out); /* put it back */
		free(old);
		return -1;
	}
	remove_flat_dir(old);
	free(old);
	return 0;
}

int export_outdir_close(struct export_outdir *o, bool keep, struct err *err)
{
	int rc = 0;

	if (!o->tmp)
		return 0;
	if (keep)
		rc = commit(o, err);
	if (!keep || rc)
		remove_flat_dir(o->tmp);
	free(o->tmp);
	o->tmp = NULL;
	return rc;
}
