/*
 * Functions without CFI for the unwinder tests (linked into the nocfi build
 * of prog.c). f3: the unwinder must follow the rbp chain out of it.
 */
	.text
	.globl f3
	.type f3, @function
f3:
	push %rbp
	mov %rsp, %rbp
	sub $32, %rsp
	int3
	leave
	ret
	.size f3, .-f3

/* A frame that links to itself: rbp-chain walking must not loop. */
	.text
	.globl f3_loop
	.type f3_loop, @function
f3_loop:
	push %rbp
	mov %rsp, %rbp
	sub $32, %rsp
	lea f3_loop+1(%rip), %rax
	mov %rax, 8(%rsp)
	mov %rsp, (%rsp)
	mov %rsp, %rbp
	int3
	leave
	ret
	.size f3_loop, .-f3_loop

/* A garbage frame pointer: nothing may be read through it. */
	.globl f3_garbage
	.type f3_garbage, @function
f3_garbage:
	push %rbp
	mov $0x10, %rbp
	int3
	pop %rbp
	ret
	.size f3_garbage, .-f3_garbage

	.section .note.GNU-stack, "", @progbits
