/*
 * Unit tests of the symbols module: ELF images, symbol lookups both ways,
 * PLT names, build-ids, main in stripped executables, demangling, DWARF
 * lines and the unwinder.
 *
 * Inputs are built at test time from tests/unit/sym-fixtures/ with gcc
 * into a temporary directory; expected values come from independent
 * sources (a raw read of the ELF headers here, readelf, a Zydis decode of
 * the code, the running program under ptrace), never from fixed addresses.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <Zydis/Zydis.h>

#include "arch/arch.h"
#include "sym/demangle.h"
#include "sym/image.h"
#include "sym/internal.h"
#include "sym/unwind.h"
#include "test-util.h"
#include "util/xalloc.h"

#include "sym-fixtures/raw-elf.h"
#include "sym-fixtures/tracee.h"

#define FIXTURES    "tests/unit/sym-fixtures"
#define CFLAGS_FP   "-O1 -g -fno-omit-frame-pointer -fno-optimize-sibling-calls"
#define CFLAGS_NOFP "-O2 -g -fomit-frame-pointer -fno-optimize-sibling-calls"

static char tmpdir[] = "/tmp/nosco-test-sym-XXXXXX";

/* A path in the temporary directory (a few live at once). */
static const char *tpath(const char *name)
{
	return test_path(tmpdir, name);
}

#define sh test_sh

static struct sym_image *open_ok(const char *path)
{
	struct err e = { 0 };
	struct sym_image *img = sym_image_open(path, NULL, &e);

	if (!img)
		fail_msg("%s: %s", path, e.msg);
	return img;
}

static uint64_t addr_of(struct sym_image *img, const char *name)
{
	struct sym_info si;

	if (sym_image_by_name(img, name, &si, NULL) != 1)
		fail_msg("%s: no symbol %s", sym_image_path(img), name);
	return si.addr;
}

/* Setup: build the fixtures. */

static int build_fixtures(void)
{
	const char *src = FIXTURES "/prog.c";
	struct {
		const char *out, *flags;
	} progs[] = {
		{ "pie", CFLAGS_FP " -pie -fPIE" },
		{ "pie-s", CFLAGS_FP " -pie -fPIE -s" },
		{ "nopie", CFLAGS_FP " -no-pie -fno-PIE" },
		{ "nopie-s", CFLAGS_FP " -no-pie -fno-PIE -s" },
		{ "static", CFLAGS_FP " -static" },
		{ "static-s", CFLAGS_FP " -static -s" },
		{ "ibt", CFLAGS_FP " -fcf-protection -Wl,-z,ibtplt" },
		{ "omitfp", CFLAGS_NOFP },
		{ "nocfi", CFLAGS_NOFP " -DNO_CFI_F3 " FIXTURES "/nocfi.S" },
		{ "nocfi-fp", CFLAGS_FP " -DNO_CFI_F3 " FIXTURES "/nocfi.S" },
	};

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++)
		if (sh("gcc %s %s -o %s", progs[i].flags, src, tpath(progs[i].out)))
			return -1;
	for (int pie = 0; pie < 2; pie++)
		if (sh("gcc -O1 -nostartfiles -Wl,--no-relax %s %s %s/start-got.S -o %s && "
		       "strip -s %s -o %s",
		       pie ? "-pie -fPIE" : "-no-pie -fno-PIE", src, FIXTURES,
		       tpath(pie ? "got-pie" : "got-nopie"), tpath(pie ? "got-pie" : "got-nopie"),
		       tpath(pie ? "got-pie-s" : "got-nopie-s")))
			return -1;
	if (sh("gcc -O1 -shared -fPIC -Wl,-soname,libifunc.so %s/ifunc.c -o %s && "
	       "gcc -O1 -DCALLER %s/ifunc.c %s -o %s && "
	       "gcc -O1 -no-pie -fno-PIE -DSELF %s/ifunc.c -o %s",
	       FIXTURES, tpath("libifunc.so"), FIXTURES, tpath("libifunc.so"),
	       tpath("ifunc-caller"), FIXTURES, tpath("ifunc-self")))
		return -1;
	if (sh("g++ -O1 -g %s/cxx.cc -o %s", FIXTURES, tpath("cxx")) ||
	    sh("gcc -O1 -shared -fPIC -Wl,-soname,libsymtest.so.1 %s/lib.c -o %s", FIXTURES,
	       tpath("libsymtest.so")))
		return -1;
	/* a stripped copy whose symbols live in a debug file under a sysroot */
	return sh("objcopy --only-keep-debug %s %s && objcopy --strip-all %s %s", tpath("pie"),
	          tpath("pie.debug"), tpath("pie"), tpath("pie-stripped"));
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	return build_fixtures();
}

static int teardown(void **state)
{
	(void)state;
	return sh("rm -rf %s", tmpdir);
}

/* Images. */

static void test_headers(void **state)
{
	struct sym_image *img;
	struct raw_elf r;
	size_t n;

	(void)state;
	img = open_ok(tpath("pie"));
	raw_open(&r, tpath("pie"));
	assert_int_equal(sym_image_class(img), ELFCLASS64);
	assert_int_equal(sym_image_machine(img), EM_X86_64);
	assert_int_equal(sym_image_type(img), ET_DYN);
	assert_int_equal(sym_image_entry(img), r.eh->e_entry);
	sym_image_segments(img, &n);
	assert_int_equal(n, raw_nload(&r));
	assert_string_equal(sym_image_interp(img), "/lib64/ld-linux-x86-64.so.2");
	assert_null(sym_image_soname(img));
	raw_close(&r);
	sym_image_free(img);

	img = open_ok(tpath("nopie"));
	assert_int_equal(sym_image_type(img), ET_EXEC);
	sym_image_free(img);

	img = open_ok(tpath("libsymtest.so"));
	assert_string_equal(sym_image_soname(img), "libsymtest.so.1");
	assert_null(sym_image_interp(img));
	sym_image_free(img);

	img = open_ok(tpath("static"));
	assert_null(sym_image_interp(img));
	sym_image_free(img);
}

static void test_open_errors(void **state)
{
	struct err e = { 0 };

	(void)state;
	assert_null(sym_image_open(tpath("missing"), NULL, &e));
	assert_int_equal(e.kind, ERR_IO);
	assert_null(sym_image_open(FIXTURES "/prog.c", NULL, &e));
	assert_int_equal(e.kind, ERR_INPUT);
	assert_null(sym_image_open_memory("junk", "not elf", 7, &e));
	assert_int_equal(e.kind, ERR_INPUT);
	sym_image_free(NULL);
}

static void build_id_hex(struct sym_image *img, char *out)
{
	size_t len;
	const uint8_t *id = sym_image_build_id(img, &len);

	assert_non_null(id);
	for (size_t i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", id[i]);
}

/* What readelf -n prints as the build-id. */
static void readelf_build_id(const char *path, char *out, size_t size)
{
	char cmd[600], line[512], *p;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "readelf -n '%s'", path);
	f = popen(cmd, "r");
	assert_non_null(f);
	out[0] = '\0';
	while (fgets(line, sizeof(line), f))
		if ((p = strstr(line, "Build ID: ")))
			snprintf(out, size, "%.*s", (int)strcspn(p + 10, "\n"), p + 10);
	pclose(f);
}

static void test_build_id(void **state)
{
	const char *paths[] = { tpath("pie"), tpath("static"), tpath("libsymtest.so"), "/bin/ls",
		                "/lib/x86_64-linux-gnu/libc.so.6" };
	char ours[256], theirs[256];

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct sym_image *img = open_ok(paths[i]);

		build_id_hex(img, ours);
		readelf_build_id(paths[i], theirs, sizeof(theirs));
		assert_string_equal(ours, theirs);
		sym_image_free(img);
	}
}

/* Symbols. */

static void check_roundtrip(const char *path)
{
	const char *names[] = { "main", "f1", "f2", "f3", "real_fn", "static_helper", "sized" };
	struct sym_image *img = open_ok(path);
	struct sym_info si, back;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(sym_image_by_name(img, names[i], &si, NULL), 1);
		assert_string_equal(si.raw, names[i]);
		assert_int_equal(sym_image_by_addr(img, si.addr, &back, NULL), 1);
		assert_string_equal(back.name, names[i]);
		assert_int_equal(back.offset, 0);
		if (si.size > 1) {
			assert_int_equal(sym_image_by_addr(img, si.addr + si.size - 1, &back, NULL),
			                 1);
			assert_string_equal(back.name, names[i]);
			assert_int_equal(back.offset, si.size - 1);
		}
	}
	assert_int_equal(sym_image_by_name(img, "static_helper", &si, NULL), 1);
	assert_true(si.local);
	sym_image_free(img);
}

static void test_roundtrip(void **state)
{
	(void)state;
	check_roundtrip(tpath("pie"));
	check_roundtrip(tpath("nopie"));
	check_roundtrip(tpath("static"));
	check_roundtrip(tpath("ibt"));
	check_roundtrip(tpath("omitfp"));
}

static void test_aliases(void **state)
{
	struct sym_image *img = open_ok(tpath("pie"));
	struct sym_info si, all[8];
	uint64_t a = addr_of(img, "real_fn");

	(void)state;
	assert_int_equal(addr_of(img, "alias_fn"), a);
	assert_int_equal(addr_of(img, "_under_fn"), a);
	/* both global: no underscore, then shortest */
	assert_int_equal(sym_image_by_addr(img, a, &si, NULL), 1);
	assert_string_equal(si.name, "real_fn");
	assert_int_equal(sym_image_by_name_all(img, "alias_fn", all, 8), 1);
	assert_int_equal(sym_image_by_name(img, "no_such_function", &si, NULL), 0);
	sym_image_free(img);

	img = open_ok("/lib/x86_64-linux-gnu/libc.so.6");
	a = addr_of(img, "puts");
	assert_int_equal(addr_of(img, "_IO_puts"), a);
	assert_int_equal(sym_image_by_addr(img, a, &si, NULL), 1);
	assert_string_equal(si.name, "puts");
	a = addr_of(img, "fopen");
	assert_int_equal(addr_of(img, "fopen64"), a);
	assert_int_equal(addr_of(img, "_IO_fopen"), a);
	assert_int_equal(sym_image_by_addr(img, a, &si, NULL), 1);
	assert_string_equal(si.name, "fopen");
	/* memcpy has two versions: the default one (GLIBC_2.14) comes first */
	assert_int_equal(sym_image_by_name_all(img, "memcpy", all, 8), 2);
	assert_int_equal(addr_of(img, "memcpy"), all[0].addr);
	assert_true(all[0].addr != all[1].addr);
	sym_image_free(img);
}

/* What a library exports, through its GNU hash table; what a program defines, through its tables.
 */
static void test_exported(void **state)
{
	static const char *const names[] = { "longjmp", "_longjmp", "siglongjmp", "__longjmp_chk",
		                             "memcpy",  "puts",     "malloc" };
	struct sym_image *img = open_ok("/lib/x86_64-linux-gnu/libc.so.6");
	struct sym_info si;
	bool ifunc;
	uint64_t a;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_true(sym_image_exported(img, names[i], &a));
		assert_int_equal(a, addr_of(img, names[i])); /* memcpy: its default version */
	}
	assert_false(sym_image_exported(img, "no_such_function", &a));
	/* a local function (the debug file names it) is not exported */
	assert_false(sym_image_exported(img, "__libc_start_call_main", &a));
	assert_false(sym_image_dynamic(img, "__libc_start_call_main", &a, &ifunc));
	/* the dynamic table gives what the symbol tables prefer, IFUNCs as such */
	assert_true(sym_image_dynamic(img, "memcpy", &a, &ifunc));
	assert_int_equal(sym_image_by_name(img, "memcpy", &si, NULL), 1);
	assert_int_equal(a, si.addr);
	assert_true(ifunc && si.ifunc);
	assert_true(sym_image_dynamic(img, "puts", &a, &ifunc));
	assert_int_equal(a, addr_of(img, "puts"));
	assert_false(ifunc);
	sym_image_free(img);

	img = open_ok(tpath("pie")); /* a program: its tables, read name by name */
	assert_true(sym_image_exported(img, "real_fn", &a));
	assert_int_equal(a, addr_of(img, "real_fn"));
	assert_false(sym_image_exported(img, "no_such_function", &a));
	/* a local function too: -static-libgcc keeps _Unwind_SetIP local */
	assert_true(sym_image_exported(img, "static_helper", &a));
	assert_int_equal(a, addr_of(img, "static_helper"));
	sym_image_free(img);

	img = open_ok(tpath("static")); /* its own runtime, hidden */
	assert_true(sym_image_exported(img, "_dl_debug_state", &a));
	assert_int_equal(a, addr_of(img, "_dl_debug_state"));
	assert_true(sym_image_exported(img, "_Unwind_SetIP", &a));
	assert_int_equal(a, addr_of(img, "_Unwind_SetIP"));
	sym_image_free(img);
}

/* Several names at once find what each finds alone, in libraries and programs alike. */
static void test_exported_each(void **state)
{
	static const char *const names[] = { "_Unwind_SetIP", "longjmp",       "_longjmp",
		                             "siglongjmp",    "__longjmp_chk", "_dl_debug_state",
		                             "real_fn",       "static_helper", "no_such_function",
		                             "puts" };
	static const char *const files[] = { "/lib/x86_64-linux-gnu/libc.so.6", "pie", "static" };
	enum { N = sizeof(names) / sizeof(names[0]) };
	uint64_t addrs[N], a;
	bool found[N], any[N] = { false };

	(void)state;
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		struct sym_image *img = open_ok(f ? tpath(files[f]) : files[f]);

		/* more than one batch of names: 10 */
		sym_image_exported_each(img, names, N, addrs, found);
		for (size_t i = 0; i < N; i++) {
			assert_int_equal(found[i], sym_image_exported(img, names[i], &a));
			if (found[i])
				assert_int_equal(addrs[i], a);
			any[i] |= found[i];
		}
		sym_image_free(img);
	}
	/* each kind of answer was checked: found in one binary or another, and not at all */
	for (size_t i = 0; i + 1 < N; i++)
		assert_true(any[i] || !strcmp(names[i], "no_such_function"));
	assert_false(any[8]);
}

/* relocs - readelf's dynamic relocations of a file, one per line */
static char *relocs(const char *path)
{
	char cmd[600], *buf = NULL, line[512];
	size_t len = 0;
	FILE *p, *out = open_memstream(&buf, &len);

	snprintf(cmd, sizeof(cmd), "readelf -rW '%s'", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p))
		fputs(line, out);
	pclose(p);
	fclose(out);
	return buf;
}

/* The readelf line relocating slot (a file address) has type and, if given, names what */
static void expect_reloc(const char *text, uint64_t slot, const char *type, const char *what)
{
	char key[32];
	const char *line;

	snprintf(key, sizeof(key), "%016" PRIx64 " ", slot);
	line = strstr(text, key);
	if (!line)
		fail_msg("no relocation of %#" PRIx64 " in\n%s", slot, text);
	if (strncmp(strstr(line, "R_X86_64_"), type, strlen(type)) || (what && !strstr(line, what)))
		fail_msg("relocation of %#" PRIx64 " is not %s %s: %.*s", slot, type,
		         what ? what : "", (int)strcspn(line, "\n"), line);
}

/* Is name among the n names? */
static bool has_name(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}

/*
 * An IFUNC's exported names, from the dynamic symbol table alone: each of
 * them a name the symbol tables give the resolver, each once, and every
 * name of the resolver that the dynamic table finds there; none for a
 * program. And the PLT, from the section headers alone: every PLT stub
 * the symbol tables name is in it, no function is.
 */
static void test_exported_names_at(void **state)
{
	static const char *const libs[] = { "/lib/x86_64-linux-gnu/libc.so.6", NULL };
	const char *exp[8], *all[8];
	struct sym_info si;
	size_t n, n_all;
	uint64_t a;
	bool ifunc;

	(void)state;
	for (size_t l = 0; l < 2; l++) {
		struct sym_image *img = open_ok(libs[l] ? libs[l] : tpath("libifunc.so"));
		const char *ifn = libs[l] ? "memcpy" : "symtest_ifunc";
		size_t plt = 0;

		assert_true(sym_image_dynamic(img, ifn, &a, &ifunc));
		assert_true(ifunc);
		assert_true(sym_image_exported_names_at(img, a, exp, 8, &n));
		assert_true(has_name(exp, n, ifn));
		n_all = sym_image_names_at(img, a, all, 8);
		for (size_t i = 0; i < n; i++) {
			uint64_t at;

			assert_true(has_name(all, n_all, exp[i]));
			for (size_t j = 0; j < i; j++)
				assert_string_not_equal(exp[i], exp[j]);
			if (sym_image_dynamic(img, exp[i], &at, &ifunc))
				assert_int_equal(at, a);
		}
		for (size_t i = 0; i < n_all; i++) {
			uint64_t at;

			if (sym_image_dynamic(img, all[i], &at, &ifunc) && at == a)
				assert_true(has_name(exp, n, all[i]));
		}
		assert_true(sym_image_exported_names_at(img, a + 1, exp, 8, &n));
		assert_int_equal(n, 0);
		for (size_t i = 0; i < sym_image_count(img); i++) {
			sym_image_symbol(img, i, &si);
			assert_int_equal(sym_image_in_plt(img, si.addr), si.kind == SYM_KIND_PLT);
			plt += si.kind == SYM_KIND_PLT;
		}
		assert_true(plt > 0);
		sym_image_free(img);
	}
	{
		struct sym_image *img = open_ok(tpath("pie"));

		assert_false(sym_image_exported_names_at(img, addr_of(img, "main"), exp, 8, &n));
		sym_image_free(img);
	}
}

/* IFUNCs: the flag, the names at the resolver, the slots the implementation is stored in. */
static void test_ifunc(void **state)
{
	const char *names[8];
	struct sym_image *img = open_ok(tpath("libifunc.so"));
	struct sym_slot slots[8];
	struct sym_info si;
	uint64_t resolver = addr_of(img, "symtest_ifunc");
	char *text;
	size_t n;

	(void)state;
	assert_int_equal(sym_image_by_name(img, "symtest_ifunc", &si, NULL), 1);
	assert_true(si.ifunc);
	assert_int_equal(sym_image_by_name(img, "symtest_resolve", &si, NULL), 1);
	assert_false(si.ifunc); /* the resolver's own (local) name: a plain function */
	assert_int_equal(si.addr, resolver);
	assert_int_equal(sym_image_by_name(img, "symtest_use", &si, NULL), 1);
	assert_false(si.ifunc);
	n = sym_image_names_at(img, resolver, names, 8);
	assert_int_equal(n, 3);
	assert_int_equal(sym_image_names_at(img, resolver, names, 1), 3);
	assert_int_equal(sym_image_names_at(img, resolver + 1, names, 8), 0);
	/* The object's own calls of both names go through JUMP_SLOTs (they are preemptible). */
	n = sym_image_names_at(img, resolver, names, 8);
	text = relocs(tpath("libifunc.so"));
	assert_int_equal(sym_image_ifunc_slots(img, resolver, names, n, slots, 8), 2);
	expect_reloc(text, slots[0].addr, "R_X86_64_JUMP_SLOT", "symtest_ifunc");
	expect_reloc(text, slots[1].addr, "R_X86_64_JUMP_SLOT", "symtest_ifunc");
	assert_true(slots[0].addr != slots[1].addr);
	assert_true(slots[0].init != 0); /* the lazy PLT entry */
	assert_int_equal(sym_image_ifunc_slots(img, resolver, names, 1, slots, 0), 1);
	free(text);
	sym_image_free(img);
	/* A program calling it: its JUMP_SLOT, found by the name only. */
	img = open_ok(tpath("ifunc-caller"));
	names[0] = "symtest_ifunc";
	text = relocs(tpath("ifunc-caller"));
	assert_int_equal(sym_image_ifunc_slots(img, 0, names, 1, slots, 8), 1);
	expect_reloc(text, slots[0].addr, "R_X86_64_JUMP_SLOT", "symtest_ifunc");
	names[0] = "symtest_use";
	assert_int_equal(sym_image_ifunc_slots(img, 0, names, 1, slots, 8), 0);
	free(text);
	sym_image_free(img);
	/* A program defining it: IRELATIVE slots whose addend is the resolver (one per name). */
	img = open_ok(tpath("ifunc-self"));
	resolver = addr_of(img, "symtest_ifunc");
	names[0] = "symtest_ifunc";
	text = relocs(tpath("ifunc-self"));
	assert_int_equal(sym_image_ifunc_slots(img, resolver, names, 1, slots, 8), 2);
	expect_reloc(text, slots[0].addr, "R_X86_64_IRELATIV", NULL);
	expect_reloc(text, slots[1].addr, "R_X86_64_IRELATIV", NULL);
	assert_int_equal(sym_image_ifunc_slots(img, resolver + 1, names, 1, slots, 8), 0);
	free(text);
	sym_image_free(img);
}

static void test_outside_size(void **state)
{
	struct sym_image *img = open_ok(tpath("pie"));
	uint64_t sized = addr_of(img, "sized"), after = addr_of(img, "after_sized");
	struct sym_info si;

	(void)state;
	assert_true(after > sized + 1);
	for (uint64_t a = sized + 1; a < after; a++)
		assert_int_equal(sym_image_by_addr(img, a, &si, NULL), 0);
	assert_int_equal(sym_image_by_addr(img, after, &si, NULL), 1);
	assert_string_equal(si.name, "after_sized");
	assert_int_equal(sym_image_by_addr(img, 0, &si, NULL), 0);
	sym_image_free(img);
}

static void check_stripped_main(const char *full, const char *stripped)
{
	struct sym_image *a = open_ok(full), *b = open_ok(stripped);
	struct sym_info si;
	uint64_t m = addr_of(a, "main"), size;

	assert_int_equal(sym_image_by_name(b, "main", &si, NULL), 1);
	assert_int_equal(si.addr, m);
	assert_int_equal(si.kind, SYM_KIND_ENTRY);
	assert_int_equal(sym_image_by_addr(b, m + 1, &si, NULL), 1);
	assert_string_equal(si.name, "main");
	assert_int_equal(si.offset, 1);
	/* main's size comes from its FDE: the unstripped symbol agrees */
	assert_int_equal(sym_image_by_name(b, "main", &si, NULL), 1);
	size = si.size;
	assert_int_equal(sym_image_by_name(a, "main", &si, NULL), 1);
	assert_int_equal(size, si.size);
	assert_int_equal(sym_image_by_addr(b, sym_image_entry(b), &si, NULL), 1);
	assert_string_equal(si.name, "_start");
	sym_image_free(a);
	sym_image_free(b);
}

static void test_stripped_main(void **state)
{
	(void)state;
	check_stripped_main(tpath("pie"), tpath("pie-s"));
	check_stripped_main(tpath("nopie"), tpath("nopie-s"));
	check_stripped_main(tpath("static"), tpath("static-s"));
	check_stripped_main(tpath("got-pie"), tpath("got-pie-s"));
	check_stripped_main(tpath("got-nopie"), tpath("got-nopie-s"));
}

static void check_plt_call(const char *path, const char *plt_section)
{
	struct sym_image *img = open_ok(path);
	struct sym_info si, m;
	uint64_t targets[32];
	size_t n;
	bool found = false;

	assert_int_equal(sym_image_by_name(img, "main", &m, NULL), 1);
	n = call_targets(path, m.addr, m.size, targets, 32);
	for (size_t i = 0; i < n; i++) {
		if (sym_image_by_addr(img, targets[i], &si, NULL) != 1 ||
		    strcmp(si.name, "puts@plt"))
			continue;
		found = true;
		assert_int_equal(si.offset, 0);
		assert_int_equal(si.kind, SYM_KIND_PLT);
		assert_true(in_section(path, plt_section, targets[i]));
		assert_int_equal(addr_of(img, "puts@plt"), targets[i]);
	}
	assert_true(found);
	sym_image_free(img);
}

static void test_plt(void **state)
{
	struct sym_image *img;
	struct sym_info si;

	(void)state;
	check_plt_call(tpath("pie"), ".plt");
	check_plt_call(tpath("nopie"), ".plt");
	check_plt_call(tpath("pie-s"), ".plt");
	check_plt_call(tpath("ibt"), ".plt.sec");
	/* .plt.got: __cxa_finalize is called through a GOT entry it also reads */
	img = open_ok(tpath("pie"));
	assert_int_equal(sym_image_by_name(img, "__cxa_finalize@plt", &si, NULL), 1);
	assert_true(in_section(tpath("pie"), ".plt.got", si.addr));
	assert_int_equal(sym_image_by_addr(img, si.addr + 1, &si, NULL), 1);
	assert_string_equal(si.name, "__cxa_finalize@plt");
	sym_image_free(img);
	/* static: IRELATIVE stubs are named after the IFUNC their addend points to */
	img = open_ok(tpath("static"));
	assert_int_equal(sym_image_by_name(img, "memcpy@plt", &si, NULL), 1);
	assert_true(in_section(tpath("static"), ".plt", si.addr));
	sym_image_free(img);
}

static void test_debug_file(void **state)
{
	char dir[600];
	struct sym_image *img;
	struct sym_info si;
	struct err e = { 0 };

	(void)state;
	img = open_ok(tpath("pie-stripped"));
	build_id_hex(img, dir);
	assert_int_equal(sh("mkdir -p %s/usr/lib/debug/.build-id/%.2s && cp %s "
	                    "%s/usr/lib/debug/.build-id/%.2s/%s.debug",
	                    tpath("root"), dir, tpath("pie.debug"), tpath("root"), dir, dir + 2),
	                 0);
	/* without the sysroot: only synthetic names */
	assert_int_equal(sym_image_by_name(img, "static_helper", &si, NULL), 0);
	assert_null(sym_image_debug_path(img));
	sym_image_free(img);

	img = sym_image_open(tpath("pie-stripped"), tpath("root"), &e);
	assert_non_null(img);
	assert_non_null(sym_image_debug_path(img));
	assert_int_equal(sym_image_by_name(img, "static_helper", &si, NULL), 1);
	assert_true(si.local);
	assert_int_equal(sym_image_by_name(img, "main", &si, NULL), 1);
	assert_int_equal(si.kind, SYM_KIND_TABLE);
	sym_image_free(img);
}

static void test_cxx(void **state)
{
	struct sym_image *img = open_ok(tpath("cxx"));
	struct sym_info si, back;

	(void)state;
	assert_int_equal(sym_image_by_name(img, "_ZNK2ns6Widget4frobEi", &si, NULL), 1);
	assert_string_equal(si.name, "ns::Widget::frob(int) const");
	assert_int_equal(sym_image_by_addr(img, si.addr, &back, NULL), 1);
	assert_string_equal(back.raw, "_ZNK2ns6Widget4frobEi");
	assert_string_equal(back.name, "ns::Widget::frob(int) const");
	assert_int_equal(sym_image_by_name(img, "ns::Widget::frob(int) const", &back, NULL), 1);
	assert_int_equal(back.addr, si.addr);
	assert_int_equal(sym_image_by_name(img, "ns::Widget::frob", &back, NULL), 1);
	assert_int_equal(back.addr, si.addr);
	sym_image_free(img);
}

static void check_demangle(const char *raw, const char *want)
{
	char *got = sym_demangle_symbol(raw);

	if (!want) {
		if (got)
			fail_msg("%s: expected no demangling, got %s", raw, got);
		return;
	}
	if (!got)
		fail_msg("%s: not demangled, expected %s", raw, want);
	assert_string_equal(got, want);
	free(got);
}

static void test_demangle(void **state)
{
	(void)state;
	check_demangle("_ZN3foo3barEv", "foo::bar()");
	check_demangle("_ZNSt6vectorIiSaIiEE9push_backERKi",
	               "std::vector<int, std::allocator<int> >::push_back(int const&)");
	check_demangle("_ZN3foo3barEv@plt", "foo::bar()@plt");
	check_demangle("_ZN2ns1fEi.cold", "ns::f(int) [clone .cold]");
	check_demangle("puts", NULL);
	check_demangle("_Zgarbage", NULL);
	check_demangle("main@plt", NULL);
	/* Rust legacy: the hash goes, $-escapes are decoded */
	check_demangle("_ZN4core3fmt9Formatter3pad17h0123456789abcdefE",
	               "core::fmt::Formatter::pad");
	check_demangle("_ZN66_$LT$alloc..vec..Vec$LT$T$GT$$u20$as$u20$core..ops..drop..Drop$GT$"
	               "4drop17hfedcba9876543210E",
	               "<alloc::vec::Vec<T> as core::ops::drop::Drop>::drop");
	check_demangle("_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17h0011223344556677E",
	               "std::rt::lang_start::{{closure}}");
	/* Rust v0 */
	check_demangle("_RNvCs1234_7mycrate3foo", "mycrate::foo");
	check_demangle("_RNvNtCs1234_7mycrate3foo3bar", "mycrate::foo::bar");
	check_demangle("_RNvMNtCs1_7mycrate3fooNtNtCs1_7mycrate3foo3Bar3new",
	               "<mycrate::foo::Bar>::new");
	check_demangle("_RNvXCs1_7mycrateNtCs1_7mycrate3FooNtNtCs1_4core3fmt7Display3fmt",
	               "<mycrate::Foo as core::fmt::Display>::fmt");
	check_demangle("_RINvCs1_7mycrate4swaplE", "mycrate::swap::<i32>");
	check_demangle("_RINvCs1_7mycrate4swapRNtB2_3FooE", "mycrate::swap::<&mycrate::Foo>");
	check_demangle("_RINvCs1_7mycrate3sumTjbEKj10_E", "mycrate::sum::<(usize, bool), 16>");
	check_demangle("_RNCNvCs1_7mycrate4main0B3_", "mycrate::main::{closure#0}");
	check_demangle("_RNvCs1_7mycrateu3foo", NULL);   /* punycode: left raw */
	check_demangle("_RINvCs1_7mycrate1fFEuE", NULL); /* fn pointer type: left raw */
	check_demangle("_RB0_", NULL);                   /* a back-reference to itself */
	check_demangle("_R", NULL);
}

static void test_near_names(void **state)
{
	struct sym_image *img = open_ok(tpath("pie"));
	const char *out[8];
	size_t n;

	(void)state;
	n = sym_image_near_names(img, "mian", out, 8);
	assert_true(n >= 1);
	assert_string_equal(out[0], "main");
	n = sym_image_near_names(img, "static_helpr", out, 8);
	assert_true(n >= 1);
	assert_string_equal(out[0], "static_helper");
	n = sym_image_near_names(img, "MAIN", out, 8);
	assert_true(n >= 1);
	assert_string_equal(out[0], "main");
	n = sym_image_near_names(img, "sized", out, 8);
	assert_true(n >= 1);
	assert_string_equal(out[0], "after_sized"); /* contains it; "sized" itself is excluded */
	assert_int_equal(sym_image_near_names(img, "zzzzzzzzzzzz", out, 8), 0);
	sym_image_free(img);
}

/* The vdso of this process, as a memory image. */
static struct sym_image *own_vdso(void)
{
	char line[512], name[64] = "";
	unsigned long lo = 0, hi = 0;
	struct sym_image *img = NULL;
	FILE *f = fopen("/proc/self/maps", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %63s", &lo, &hi, name) == 3 &&
		    !strcmp(name, "[vdso]"))
			break;
	fclose(f);
	if (!strcmp(name, "[vdso]"))
		img = sym_image_open_memory("[vdso]", (void *)lo, hi - lo, NULL);
	return img;
}

static void test_memory_image(void **state)
{
	struct sym_image *file = open_ok(tpath("pie-s")), *mem, *vdso;
	struct sym_info si;
	struct err e = { 0 };
	size_t len, idlen;
	void *buf = read_all(tpath("pie-s"), &len);

	(void)state;
	mem = sym_image_open_memory("pie-s in memory", buf, len, &e);
	free(buf); /* the image has its own copy */
	assert_non_null(mem);
	assert_string_equal(sym_image_path(mem), "pie-s in memory");
	assert_int_equal(addr_of(mem, "main"), addr_of(file, "main"));
	assert_int_equal(addr_of(mem, "puts@plt"), addr_of(file, "puts@plt"));
	sym_image_free(mem);
	sym_image_free(file);

	vdso = own_vdso();
	assert_non_null(vdso);
	assert_string_equal(sym_image_soname(vdso), "linux-vdso.so.1");
	assert_non_null(sym_image_build_id(vdso, &idlen));
	assert_int_equal(sym_image_by_name(vdso, "__vdso_clock_gettime", &si, NULL), 1);
	assert_int_equal(sym_image_by_addr(vdso, si.addr, &si, NULL), 1);
	sym_image_free(vdso);
}

/* The line of the first occurrence of a string in a fixture. */
static int source_line(const char *file, const char *needle)
{
	char line[512];
	int n = 0;
	FILE *f = fopen(file, "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		n++;
		if (strstr(line, needle))
			break;
	}
	fclose(f);
	return n;
}

static void test_lines(void **state)
{
	struct sym_image *img = open_ok(tpath("pie"));
	int want = source_line(FIXTURES "/prog.c", "int main(int argc");
	struct sym_line l;
	size_t n;

	(void)state;
	assert_int_equal(sym_image_line(img, addr_of(img, "main"), &l), 1);
	n = strlen(l.file);
	assert_true(n >= 6 && !strcmp(l.file + n - 6, "prog.c"));
	assert_in_range(l.line, want, want + 1);
	assert_int_equal(sym_image_line(img, 1, &l), 0);
	sym_image_free(img);
	img = open_ok(tpath("pie-s"));
	assert_int_equal(sym_image_line(img, addr_of(img, "main"), &l), 0);
	sym_image_free(img);
}

/* Stripped system binaries: main found, in .text, and reached at run time. */

static void check_system_main(const char *path, char *const argv[])
{
	struct sym_image *img = open_ok(path);
	uint64_t regs[SYM_UNWIND_NREGS], ret[8], bp;
	struct sym_mem mem;
	struct tracee_mod *exe, *libc;
	struct sym_unwinder *uw;
	struct tracee t;
	struct sym_info si;
	char real[PATH_MAX];
	long orig;
	size_t n;

	assert_int_equal(sym_image_by_name(img, "main", &si, NULL), 1);
	assert_int_equal(si.kind, SYM_KIND_ENTRY); /* Debian strips them */
	assert_true(in_section(path, ".text", si.addr));
	assert_non_null(realpath(path, real));

	/* a breakpoint on main is hit, and main returns into __libc_start_call_main */
	tracee_spawn(&t, path, argv);
	tracee_load_maps(&t);
	exe = tracee_mod_named(&t, real);
	assert_non_null(exe);
	bp = exe->bias + si.addr;
	errno = 0;
	orig = ptrace(PTRACE_PEEKTEXT, t.pid, (void *)bp, NULL);
	assert_int_equal(errno, 0);
	assert_int_equal(
	        ptrace(PTRACE_POKETEXT, t.pid, (void *)bp, (void *)((orig & ~0xffL) | 0xcc)), 0);
	tracee_run_to_trap(&t);
	assert_int_equal(arch_regs_pc(&t.regs) - 1, bp);
	arch_regs_set_pc(&t.regs, bp);
	tracee_load_maps(&t);
	uw = sym_unwinder_new(NULL);
	assert_non_null(uw);
	for (size_t i = 0; i < t.nmods; i++)
		assert_int_equal(sym_unwinder_add(uw, t.mods[i].img, t.mods[i].bias, NULL), 0);
	arch_regs_to_dwarf(&t.regs, regs);
	mem = (struct sym_mem){ tracee_read, &t.pid };
	n = sym_unwinder_backtrace(uw, regs, &mem, ret, 8);
	assert_true(n >= 1);
	libc = tracee_mod_at(&t, ret[0]);
	assert_non_null(libc);
	assert_non_null(strstr(libc->path, "/libc.so"));
	if (sym_image_by_name(libc->img, "__libc_start_call_main", &si, NULL) == 1)
		assert_string_equal(tracee_symbolize(&t, ret[0]), "__libc_start_call_main");
	sym_unwinder_free(uw);
	tracee_kill(&t);
	sym_image_free(img);
}

static void test_system_main(void **state)
{
	char *echo[] = { "echo", "hi", NULL }, *ls[] = { "ls", "--version", NULL };

	(void)state;
	check_system_main("/bin/echo", echo);
	check_system_main("/bin/ls", ls);
}

/* f2, f1, main, __libc_start_call_main, ..., _start */
static void check_chain(struct stopped *s, const char *what)
{
	const char *names[64];
	size_t n = backtrace_names(s, names, 64);

	printf("unwind %s:", what);
	for (size_t i = 0; i < n; i++)
		printf(" %s", names[i]);
	printf("\n");
	assert_true(n >= 4 && n <= 8);
	assert_string_equal(names[0], "f2");
	assert_string_equal(names[1], "f1");
	assert_string_equal(names[2], "main");
	if (libc_has_debug_symbols(s))
		assert_string_equal(names[3], "__libc_start_call_main");
	assert_string_equal(names[n - 1], "_start");
	/* a shorter request stops early */
	assert_int_equal(backtrace_names(s, names, 2), 2);
	assert_int_equal(backtrace_names(s, names, 0), 0);
}

static void test_unwind_fp(void **state)
{
	struct stopped s;

	(void)state;
	stop_in_f3(&s, tpath("pie"));
	check_chain(&s, "pie");
	stopped_end(&s);
	stop_in_f3(&s, tpath("nopie"));
	check_chain(&s, "nopie");
	stopped_end(&s);
}

static void test_unwind_cfi(void **state)
{
	struct stopped s;

	(void)state;
	stop_in_f3(&s, tpath("omitfp"));
	check_chain(&s, "omitfp");
	stopped_end(&s);
}

/* A stack of a few words at made-up addresses, 0 elsewhere on it. */
#define FAKE_SP    0x7ff000000000ull
#define FAKE_WORDS 8192

struct fake_stack {
	uint64_t w[FAKE_WORDS];
};

static long fake_read(void *arg, uint64_t addr, void *buf, size_t len)
{
	struct fake_stack *fs = arg;

	if (addr < FAKE_SP || addr - FAKE_SP + len > sizeof(fs->w))
		return -1;
	memcpy(buf, (char *)fs->w + (addr - FAKE_SP), len);
	return (long)len;
}

static void fake_put(struct fake_stack *fs, uint64_t addr, uint64_t v)
{
	assert_true(addr >= FAKE_SP && (addr - FAKE_SP) / 8 < FAKE_WORDS);
	fs->w[(addr - FAKE_SP) / 8] = v;
}

/*
 * place - put the caller's return address ret and frame pointer fp2 where
 * rule r puts them, from where the current return address is (*at) and
 * the frame pointer (*fp, 0: unknown); false when it cannot
 */
static bool place(struct fake_stack *fs, const struct sym_frame_rule *r, uint64_t *at, uint64_t *fp,
                  uint64_t ret, uint64_t fp2)
{
	if (r->kind == SYM_FRAME_FP) {
		if (!*fp || *fp < *at + 8)
			return false;
		*at = *fp + 8;
		fake_put(fs, *fp, fp2);
		fake_put(fs, *at, ret);
		*fp = fp2;
		return true;
	}
	if (r->kind != SYM_FRAME_SP)
		return false;
	*at += r->size;
	fake_put(fs, *at, ret);
	if (r->fp == SYM_FP_SAVED) {
		fake_put(fs, *at + 8 + (uint64_t)r->fp_at, fp2);
		*fp = fp2;
	} else if (r->fp == SYM_FP_LOST) {
		*fp = 0;
	}
	return true;
}

/* unwind_fake - libdwfl's backtrace of the made-up stack from pc, sp and fp alone */
static size_t unwind_fake(struct sym_unwinder *uw, struct fake_stack *fs, uint64_t pc, uint64_t fp,
                          uint64_t *out, size_t max)
{
	uint64_t regs[SYM_UNWIND_NREGS] = { 0 };
	struct sym_mem mem = { fake_read, fs };

	regs[ARCH_DWARF_PC] = pc;
	regs[ARCH_DWARF_SP] = FAKE_SP;
	regs[ARCH_DWARF_FP] = fp;
	return sym_unwinder_backtrace(uw, regs, &mem, out, max);
}

/*
 * check_rule - libdwfl unwinds ret (as a call's return address) as the
 * rules say: as the first frame (the unwinding starting at ret),
 * the next return address where its rule puts it from the stack pointer
 * or the frame pointer; as a later one, where its rule puts it from the
 * first frame's. Return: frames checked.
 */
static int check_rule(struct sym_unwinder *uw, uint64_t ret, uint64_t next)
{
	static struct fake_stack fs;
	const uint64_t fp0 = FAKE_SP + 0x4000, fp1 = FAKE_SP + 0x6000;
	struct sym_frame_rule r0, r1;
	uint64_t out[4], at = FAKE_SP - 8, fp = fp0;
	int checked = 0;

	if (sym_unwinder_frame_rule(uw, ret, true, &r0) || r0.kind == SYM_FRAME_END)
		return 0;
	memset(&fs, 0, sizeof(fs));
	assert_true(place(&fs, &r0, &at, &fp, next, fp1));
	assert_true(unwind_fake(uw, &fs, ret, fp0, out, 1) == 1);
	assert_int_equal(out[0], next);
	checked++;
	if (sym_unwinder_frame_rule(uw, ret, false, &r1) || r1.kind == SYM_FRAME_END)
		return checked;
	memset(&fs, 0, sizeof(fs));
	at = FAKE_SP - 8;
	fp = fp0;
	assert_true(place(&fs, &r0, &at, &fp, ret, fp1));
	if (!place(&fs, &r1, &at, &fp, next, 0))
		return checked;
	assert_true(unwind_fake(uw, &fs, ret, fp0, out, 2) == 2);
	assert_int_equal(out[0], ret);
	assert_int_equal(out[1], next);
	return checked + 1;
}

/*
 * Every 50th of a module's rows with a rule, two addresses long or more
 * and a frame the made-up stack holds (not an epilogue's, whose rbp is
 * still said to be saved below the CFA after its pop), into a rows_sample.
 */
struct rows_sample {
	uint64_t at[1024];
	size_t n, seen;
};

static int sample_row(void *arg, uint64_t start, uint64_t end, const struct sym_frame_rule *r)
{
	struct rows_sample *s = arg;

	if (r && r->kind != SYM_FRAME_END && r->size < 0x1000 && end - start >= 2 &&
	    (r->fp != SYM_FP_SAVED || r->fp_at >= -(int64_t)r->size) && s->seen++ % 50 == 0 &&
	    s->n < sizeof(s->at) / sizeof(s->at[0]))
		s->at[s->n++] = start + 1;
	return 0;
}

/*
 * Rows of libc with a rule, as return addresses: libdwfl, unwinding a
 * made-up stack from the stack pointer and the frame pointer alone, finds
 * the next return address where the rule puts it, as the first frame and
 * as a later one.
 */
static void test_frame_rows_unwind(void **state)
{
	struct sym_image *img = open_ok("/lib/x86_64-linux-gnu/libc.so.6");
	struct sym_unwinder *uw = sym_unwinder_new(NULL);
	struct sym_rows_cursor cur = { 0 };
	struct rows_sample *s = calloc(1, sizeof(*s));
	uint64_t next;
	int checked = 0;

	(void)state;
	assert_non_null(uw);
	assert_non_null(s);
	assert_int_equal(sym_unwinder_add(uw, img, 0, NULL), 0);
	assert_true(sym_image_exported(img, "malloc", &next));
	assert_int_equal(sym_unwinder_frame_rows(uw, next, &cur, SIZE_MAX, sample_row, s), 0);
	for (size_t i = 0; i < s->n; i++)
		checked += check_rule(uw, s->at[i], next);
	printf("frame rows unwound: %zu rows, %d frames checked\n", s->n, checked);
	assert_true(s->n > 100 && checked > (int)s->n);
	free(s);
	sym_unwinder_free(uw);
	sym_image_free(img);
}

/* What the rows of a module were, and checked against libdwfl's rows. */
struct rows_check {
	struct sym_unwinder *uw;
	uint64_t last_end;
	size_t rows, ruled, points;
};

static bool same_rule(const struct sym_frame_rule *a, const struct sym_frame_rule *b)
{
	return a->kind == b->kind && a->size == b->size && a->fp == b->fp && a->fp_at == b->fp_at;
}

/* check_row - at the row's first and last address, libdw's row gives the same rule, or none */
static int check_row(void *arg, uint64_t start, uint64_t end, const struct sym_frame_rule *r)
{
	struct rows_check *c = arg;
	const uint64_t at[2] = { start, end - 1 };
	struct sym_frame_rule lib;

	assert_true(start < end && start >= c->last_end);
	c->last_end = end;
	c->rows++;
	c->ruled += r != NULL;
	for (int i = 0; i < 2; i++) {
		int rc = sym_unwinder_frame_rule(c->uw, at[i], true, &lib);

		if (!r ? rc == 0 : rc != 0 || !same_rule(r, &lib))
			fail_msg("row [%#" PRIx64 ", %#" PRIx64 ") at %#" PRIx64
			         ": rows say %s, libdw %s (kind %d size %" PRIu64
			         " fp %d at %" PRId64 ")",
			         start, end, at[i], r ? "a rule" : "none", rc ? "none" : "a rule",
			         (int)lib.kind, lib.size, (int)lib.fp, lib.fp_at);
		c->points++;
	}
	return 0;
}

/* stop_after - ends the rows at the first */
static int stop_after(void *arg, uint64_t start, uint64_t end, const struct sym_frame_rule *r)
{
	(void)start;
	(void)end;
	(void)r;
	++*(int *)arg;
	return 1;
}

/*
 * Every CFI row of libc and of a fixture (loaded at a bias), read a part
 * at a time, gives the rule libdw's row gives at its first and last
 * address; rows come in order and do not overlap, across the parts too;
 * a nonzero return ends them.
 */
static void test_frame_rows(void **state)
{
	const char *const paths[] = { "/lib/x86_64-linux-gnu/libc.so.6", tpath("pie") };
	const uint64_t bias[] = { 0, 0x7f0000000000 };

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct sym_image *img = open_ok(paths[i]);
		struct rows_check c = { .uw = sym_unwinder_new(NULL) };
		struct sym_rows_cursor cur = { 0 };
		uint64_t entry = sym_image_entry(img) + bias[i];
		int calls = 0, parts = 0, rc;

		assert_non_null(c.uw);
		assert_int_equal(sym_unwinder_add(c.uw, img, bias[i], NULL), 0);
		while ((rc = sym_unwinder_frame_rows(c.uw, entry, &cur, 100, check_row, &c)) == 1)
			parts++;
		assert_int_equal(rc, 0);
		assert_true(cur.lo <= entry && c.last_end <= cur.hi);
		printf("frame rows of %s: %zu (%zu with a rule) in %d parts, %zu points checked\n",
		       paths[i], c.rows, c.ruled, parts + 1, c.points);
		assert_true(c.ruled > c.rows / 2 && c.rows > (i ? 5 : 10000));
		memset(&cur, 0, sizeof(cur));
		assert_int_equal(
		        sym_unwinder_frame_rows(c.uw, entry, &cur, 100, stop_after, &calls), -1);
		assert_int_equal(calls, 1);
		/* no rows outside every module, for the extent alone none either */
		memset(&cur, 0, sizeof(cur));
		assert_int_equal(sym_unwinder_frame_rows(c.uw, c.last_end + (1ull << 40), &cur, 100,
		                                         check_row, &c),
		                 -1);
		assert_int_equal(sym_unwinder_frame_rows(c.uw, entry, &cur, 0, NULL, NULL), 1);
		assert_int_equal(cur.next_fde, 0);
		sym_unwinder_free(c.uw);
		sym_image_free(img);
	}
}

/*
 * walk_rules - walk the stopped fixture's stack with the frames' rules
 * alone (sym_unwinder_frame_rule(): from pc, sp and fp), checking each
 * return address against libdwfl's backtrace; how many frames walked,
 * *fp_frames of them found from the frame pointer
 */
static size_t walk_rules(struct stopped *s, size_t *fp_frames)
{
	uint64_t bt[64], pc = s->regs[ARCH_DWARF_PC], fp = s->regs[ARCH_DWARF_FP], next;
	uint64_t at =
	        s->regs[ARCH_DWARF_SP] - 8; /* as if the frame's return address were read there */
	size_t n = sym_unwinder_backtrace(s->uw, s->regs, &s->mem, bt, 64), i;
	struct sym_frame_rule r;

	*fp_frames = 0;
	for (i = 0; i < n; i++) {
		if (sym_unwinder_frame_rule(s->uw, i ? bt[i - 1] : pc, i == 0, &r) ||
		    r.kind == SYM_FRAME_END)
			break;
		if (r.kind == SYM_FRAME_FP) {
			assert_true(fp >= at + 8);
			at = fp + 8;
			assert_int_equal(s->mem.read(s->mem.arg, fp, &fp, 8), 8);
			(*fp_frames)++;
		} else {
			at += r.size;
			if (r.fp == SYM_FP_SAVED)
				assert_int_equal(
				        s->mem.read(s->mem.arg, at + 8 + (uint64_t)r.fp_at, &fp, 8),
				        8);
		}
		assert_int_equal(s->mem.read(s->mem.arg, at, &next, 8), 8);
		assert_int_equal(next, bt[i]);
	}
	return i;
}

/*
 * Frame rules follow the stack as libdwfl does: from the stack pointer in
 * code without frame pointers, through the frame pointer's chain in code
 * with them, as far as main and libc's frames.
 */
static void test_frame_rules(void **state)
{
	struct stopped s;
	size_t fp_frames;

	(void)state;
	stop_in_f3(&s, tpath("pie"));
	assert_true(walk_rules(&s, &fp_frames) >= 4);
	assert_true(fp_frames >= 3); /* f3, f2, f1 */
	stopped_end(&s);
	stop_in_f3(&s, tpath("omitfp"));
	assert_true(walk_rules(&s, &fp_frames) >= 4);
	assert_int_equal(fp_frames, 0);
	stopped_end(&s);
}

/* mem_reads - how many times the unwinder has read memory so far */
static uint64_t mem_reads(struct stopped *s)
{
	struct sym_unwind_stats st;

	sym_unwinder_stats(s->uw, &st);
	return st.mem_reads;
}

/*
 * Held, the memory one backtrace read serves the next ones, which read
 * none and find the same, and reads of its words; what was read before
 * the hold is not held; released, it is read again.
 */
static void test_unwind_hold(void **state)
{
	uint64_t full[64], again[64], word, direct;
	struct stopped s;
	uint64_t before;
	size_t n;

	(void)state;
	stop_in_f3(&s, tpath("omitfp"));
	/* a backtrace before the hold leaves nothing held: the thread may have run since */
	n = sym_unwinder_backtrace(s.uw, s.regs, &s.mem, full, 64);
	sym_unwinder_hold_memory(s.uw, true);
	before = mem_reads(&s);
	n = sym_unwinder_backtrace(s.uw, s.regs, &s.mem, full, 64);
	assert_true(n >= 3 && mem_reads(&s) > before);
	before = mem_reads(&s);
	assert_int_equal(sym_unwinder_backtrace(s.uw, s.regs, &s.mem, again, 64), n);
	assert_memory_equal(again, full, n * sizeof(full[0]));
	assert_int_equal(mem_reads(&s), before);
	/* a word of the stack, read once, then from what is held, as it is in memory */
	assert_true(sym_unwinder_read(s.uw, &s.mem, s.regs[ARCH_DWARF_SP] + 8, &word));
	before = mem_reads(&s);
	assert_true(sym_unwinder_read(s.uw, &s.mem, s.regs[ARCH_DWARF_SP] + 8, &word));
	assert_int_equal(mem_reads(&s), before);
	assert_int_equal(s.mem.read(s.mem.arg, s.regs[ARCH_DWARF_SP] + 8, &direct, 8), 8);
	assert_int_equal(word, direct);
	sym_unwinder_hold_memory(s.uw, false);
	assert_int_equal(sym_unwinder_backtrace(s.uw, s.regs, &s.mem, again, 64), n);
	assert_memory_equal(again, full, n * sizeof(full[0]));
	assert_true(mem_reads(&s) > before);
	stopped_end(&s);
}

static void test_unwind_nocfi(void **state)
{
	struct sym_unwind_stats st;
	struct stopped s;

	(void)state;
	stop_in_f3(&s, tpath("nocfi"));
	check_chain(&s, "nocfi");
	sym_unwinder_stats(s.uw, &st);
	/* libdwfl's x86-64 backend follows rbp itself where CFI is missing */
	printf("unwind nocfi: %" PRIu64 " of %" PRIu64 " frames from our own rbp-chain step\n",
	       st.fp_frames, st.frames);
	stopped_end(&s);
}

/* Our own rbp-chain walk, and frames that must stop it. */
static void test_unwind_fallback(void **state)
{
	struct sym_unwind_stats st;
	const char *names[64];
	struct stopped s;
	size_t n;

	(void)state;
	/* every function has a frame pointer (f3, in assembly, too) */
	stop_in_f3(&s, tpath("nocfi-fp"));
	sym_unwinder_fp_only(s.uw, true);
	n = backtrace_names(&s, names, 64);
	assert_true(n >= 3 && n <= 8);
	assert_string_equal(names[0], "f2");
	assert_string_equal(names[1], "f1");
	assert_string_equal(names[2], "main");
	sym_unwinder_stats(s.uw, &st);
	assert_int_equal(st.fp_frames, n);
	stopped_end(&s);

	/* a frame linked to itself gives one frame, then the stack stops growing */
	stop_at(&s, tpath("nocfi"), "loop", "f3_loop");
	sym_unwinder_fp_only(s.uw, true);
	n = backtrace_names(&s, names, 64);
	assert_true(n <= 1);
	if (n)
		assert_string_equal(names[0], "f3_loop");
	stopped_end(&s);
	/* nothing can be read through rbp = 0x10 */
	stop_at(&s, tpath("nocfi"), "garbage", "f3_garbage");
	sym_unwinder_fp_only(s.uw, true);
	assert_int_equal(backtrace_names(&s, names, 64), 0);
	stopped_end(&s);

	/*
	 * With everything on, a bad frame pointer does not loop or invent
	 * frames: the stack scan recovers real callers (return addresses just
	 * after calls), and the walk ends.
	 */
	for (int garbage = 0; garbage < 2; garbage++) {
		stop_at(&s, tpath("nocfi"), garbage ? "garbage" : "loop",
		        garbage ? "f3_garbage" : "f3_loop");
		sym_unwinder_fp_only(s.uw, false);
		n = backtrace_names(&s, names, 64);
		assert_true(n <= 8);
		for (size_t i = 0; i < n; i++)
			assert_true(!strcmp(names[i], "f3_loop") || !strcmp(names[i], "f2") ||
			            !strcmp(names[i], "f1") || !strcmp(names[i], "main") ||
			            !strncmp(names[i], "__libc_start", 12) ||
			            !strcmp(names[i], "_start"));
		stopped_end(&s);
	}
}

/* Removing a module (dlclose) takes effect, and adding it back restores it. */
static void test_unwind_modules(void **state)
{
	struct tracee_mod *exe, *libc = NULL;
	const char *names[64];
	struct stopped s;
	struct err e = { 0 };

	(void)state;
	stop_in_f3(&s, tpath("pie"));
	exe = tracee_mod_at(&s.t, arch_regs_pc(&s.t.regs));
	for (size_t i = 0; i < s.t.nmods; i++)
		if (strstr(s.t.mods[i].path, "/libc.so"))
			libc = &s.t.mods[i];
	assert_non_null(exe);
	assert_non_null(libc);

	assert_int_equal(sym_unwinder_remove(s.uw, exe->lo + 1), 0);
	assert_int_equal(backtrace_names(&s, names, 64), 0);
	assert_int_equal(sym_unwinder_remove(s.uw, exe->lo), -1);
	add_module(s.uw, exe);
	assert_string_equal(names[backtrace_names(&s, names, 64) - 1], "_start");

	assert_int_equal(sym_unwinder_remove(s.uw, libc->lo), 0);
	assert_int_equal(backtrace_names(&s, names, 64), 3); /* f2 f1 main, then libc */
	add_module(s.uw, libc);
	assert_true(backtrace_names(&s, names, 64) > 4);

	assert_int_equal(sym_unwinder_add(s.uw, exe->img, exe->bias + 4096, &e), -1);
	assert_int_equal(sym_unwinder_remove(s.uw, 0), -1);
	stopped_end(&s);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void measure(const char *prog, int count, bool fp_only)
{
	struct sym_unwind_stats st;
	struct stopped s;
	uint64_t ret[64];
	size_t frames = 0;
	double t0, dt;

	stop_in_f3(&s, tpath(prog));
	sym_unwinder_fp_only(s.uw, fp_only);
	t0 = now();
	for (int i = 0; i < count; i++)
		frames = sym_unwinder_backtrace(s.uw, s.regs, &s.mem, ret, 64);
	dt = now() - t0;
	sym_unwinder_stats(s.uw, &st);
	printf("unwind speed %s%s: %.0f backtraces/s, %zu frames each, %.1f reads each\n", prog,
	       fp_only ? " (rbp chain only)" : "", count / dt, frames,
	       (double)st.mem_reads / (double)st.backtraces);
	assert_true(frames >= 3);
	stopped_end(&s);
}

static void test_unwind_speed(void **state)
{
	(void)state;
	measure("omitfp", 5000, false);
	measure("pie", 5000, false);
	measure("nocfi", 5000, false);
	measure("nocfi-fp", 5000, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_build_id),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_exported),
		cmocka_unit_test(test_exported_each),
		cmocka_unit_test(test_ifunc),
		cmocka_unit_test(test_outside_size),
		cmocka_unit_test(test_stripped_main),
		cmocka_unit_test(test_plt),
		cmocka_unit_test(test_debug_file),
		cmocka_unit_test(test_cxx),
		cmocka_unit_test(test_demangle),
		cmocka_unit_test(test_near_names),
		cmocka_unit_test(test_memory_image),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_system_main),
		cmocka_unit_test(test_unwind_fp),
		cmocka_unit_test(test_unwind_cfi),
		cmocka_unit_test(test_frame_rows_unwind),
		cmocka_unit_test(test_frame_rules),
		cmocka_unit_test(test_frame_rows),
		cmocka_unit_test(test_unwind_hold),
		cmocka_unit_test(test_unwind_nocfi),
		cmocka_unit_test(test_unwind_fallback),
		cmocka_unit_test(test_unwind_modules),
		cmocka_unit_test(test_unwind_speed),
		cmocka_unit_test(test_exported_names_at),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
