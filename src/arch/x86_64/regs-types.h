/* x86-64 register layout: the kernel's ptrace layout, used as is. */
#ifndef NOSCO_ARCH_X86_64_REGS_TYPES_H
#define NOSCO_ARCH_X86_64_REGS_TYPES_H

#include <sys/user.h>

struct arch_regs {
	struct user_regs_struct u;
};

#endif
