; A tight loop with no libc and no dynamic linker: every instruction the
; program executes is in this file, so a single-step tracer and the bare
; single-step loop step exactly the same instructions.
; Usage: loop N   (N iterations of a 3-instruction loop body; default 1000)
	global _start
	section .text
_start:
	mov rcx, 1000
	mov rdi, [rsp]		; argc
	cmp rdi, 2
	jb .go
	mov rsi, [rsp + 16]	; argv[1]
	xor rcx, rcx
.digit:
	movzx eax, byte [rsi]
	test eax, eax
	jz .go
	imul rcx, rcx, 10
	sub eax, '0'
	add rcx, rax
	inc rsi
	jmp .digit
.go:
	xor eax, eax
.loop:
	add rax, rcx
	dec rcx
	jnz .loop
	mov eax, 60		; exit(0)
	xor edi, edi
	syscall
