/*
 * Demangling of C++ and Rust symbol names, for display. Lookups keep the
 * raw names; this only produces the human-readable form.
 *
 * - C++ (Itanium ABI, "_Z..."): libstdc++'s __cxa_demangle (loaded when
 *   first needed), full form with parameter types ("ns::Widget::frob(int)
 *   const").
 * - Rust legacy ("_ZN...17h<16 hex digits>E"): the path joined with "::",
 *   $-escapes decoded ($LT$ -> <, $u20$ -> ' ', ...), the hash dropped,
 *   as rustc-demangle's alternate form prints it.
 * - Rust v0 ("_R..."): paths, impl and trait paths, generic arguments,
 *   basic, reference, pointer, array, slice and tuple types, integer, bool
 *   and char constants, back-references; disambiguators (crate hashes) are
 *   dropped. Function pointer and dyn-trait types, punycode identifiers
 *   and anything unexpected make the whole name stay raw: a raw name is
 *   better than a wrong one.
 */
#ifndef NOSCO_SYM_DEMANGLE_H
#define NOSCO_SYM_DEMANGLE_H

/**
 * sym_demangle - demangle a C++ or Rust name
 * @raw: a symbol name
 *
 * Return: a newly allocated demangled name (free() it), or NULL when @raw
 * is not mangled in a scheme handled here or is malformed.
 */
char *sym_demangle(const char *raw);

/**
 * sym_demangle_symbol - demangle a symbol name that may carry a suffix
 * @raw: a symbol name, possibly with "@plt" or a symbol version
 *	 ("@GLIBC_2.2.5", "@@...") after the mangled part
 *
 * The suffix is kept after the demangled name: "_ZN2ns1fEv@plt" gives
 * "ns::f()@plt".
 *
 * Return: a newly allocated name, or NULL as for sym_demangle().
 */
char *sym_demangle_symbol(const char *raw);

/**
 * sym_demangle_rust_v0 - demangle a Rust v0 name ("_R...")
 * @raw: the symbol name
 *
 * Return: a newly allocated name, or NULL when it is not a v0 name or uses
 * a construct not handled (see the file comment).
 */
char *sym_demangle_rust_v0(const char *raw);

#endif
