/*
 * What x86-64's side of the dbt engine (arch/dbt.h) keeps to itself:
 * dbt-analyze.c and dbt-emit.c include it, the engine does not.
 *
 * Generated code reaches its thread's context through the gs segment: the
 * tracer points each thread's gs base at its context page (struct
 * user_regs_struct.gs_base) while the thread runs in the cache.
 */
#ifndef NOSCO_ARCH_X86_64_DBT_X86_H
#define NOSCO_ARCH_X86_64_DBT_X86_H

#include "arch/dbt.h"

/*
 * The spill slots of the generated code in the context page (gs:[offset]),
 * in the words arch/dbt.h's layout leaves free.
 */
#define DBT_CTX_S_RAX   0x00
#define DBT_CTX_S_RCX   0x08
#define DBT_CTX_S_FLAGS 0x10 /* ax after lahf; seto al */
#define DBT_CTX_S_RDX   0x70 /* the stack walk at a scope's entry */
#define DBT_CTX_S_RSI   0x78
#define DBT_CTX_S_RDI   0x80
#define DBT_CTX_W_RAX   0x88
#define DBT_CTX_S_RBP   0xa0
#define DBT_CTX_S_R8    0xa8 /* the walk's search of the frame rows */
#define DBT_CTX_S_R9    0xb0

#endif
