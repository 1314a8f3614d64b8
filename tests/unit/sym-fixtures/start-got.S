/*
 * An entry point that loads main's address from the GOT (mov rdi,
 * [rip+X]) as older toolchains did, instead of lea/mov imm. Linked with
 * -Wl,--no-relax so the linker keeps the load (PIE: the GOT slot has a
 * RELATIVE relocation; non-PIE: it holds main's address in the file).
 */
	.text
	.globl _start
	.type _start, @function
_start:
	xor %ebp, %ebp
	mov %rdx, %r9
	pop %rsi
	mov %rsp, %rdx
	and $-16, %rsp
	push %rax
	push %rsp
	xor %r8d, %r8d
	xor %ecx, %ecx
	mov main@GOTPCREL(%rip), %rdi
	call *__libc_start_main@GOTPCREL(%rip)
	hlt
	.size _start, .-_start

	.section .note.GNU-stack, "", @progbits
