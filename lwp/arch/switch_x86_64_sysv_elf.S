/* SPDX-License-Identifier: MIT */
/*
 * Context switch for x86-64, System V ABI, ELF (GNU as).
 *
 * A suspended context is a stack pointer; the callee-saved registers are
 * stored just above it:
 *
 *     sp + 0   r15
 *     sp + 8   r14
 *     sp + 16  r13     fn  (new context only)
 *     sp + 24  r12     arg (new context only)
 *     sp + 32  rbx
 *     sp + 40  rbp
 *     sp + 48  return address (lwp__arch_start for a new context)
 *
 * Nothing else is saved: not the signal mask (no system call), and not
 * MXCSR or the x87 control word (measured at up to 40 ns a switch; LWPs
 * share the floating-point environment).
 */
        .text

/* void lwp__arch_swap_sp(void **from_sp, void *to_sp) */
        .globl  lwp__arch_swap_sp
        .hidden lwp__arch_swap_sp
        .type   lwp__arch_swap_sp, @function
        .p2align 4
lwp__arch_swap_sp:
        .cfi_startproc
        endbr64
        pushq   %rbp
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %rbp, 0
        pushq   %rbx
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %rbx, 0
        pushq   %r12
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %r12, 0
        pushq   %r13
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %r13, 0
        pushq   %r14
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %r14, 0
        pushq   %r15
        .cfi_adjust_cfa_offset 8
        .cfi_rel_offset %r15, 0
        movq    %rsp, (%rdi)
        /* The new stack has the same layout, so the CFI above stays true. */
        movq    %rsi, %rsp
        popq    %r15
        .cfi_adjust_cfa_offset -8
        .cfi_restore %r15
        popq    %r14
        .cfi_adjust_cfa_offset -8
        .cfi_restore %r14
        popq    %r13
        .cfi_adjust_cfa_offset -8
        .cfi_restore %r13
        popq    %r12
        .cfi_adjust_cfa_offset -8
        .cfi_restore %r12
        popq    %rbx
        .cfi_adjust_cfa_offset -8
        .cfi_restore %rbx
        popq    %rbp
        .cfi_adjust_cfa_offset -8
        .cfi_restore %rbp
        ret
        .cfi_endproc
        .size   lwp__arch_swap_sp, .-lwp__arch_swap_sp

/* void *lwp__arch_frame(void *stack_top, void (*fn)(void *), void *arg)
 * Builds the first frame of a new context below stack_top and returns its
 * stack pointer. The frame is placed so that rsp is 16-byte aligned at the
 * call in lwp__arch_start, as the ABI requires. */
        .globl  lwp__arch_frame
        .hidden lwp__arch_frame
        .type   lwp__arch_frame, @function
        .p2align 4
lwp__arch_frame:
        .cfi_startproc
        endbr64
        andq    $-16, %rdi
        leaq    -72(%rdi), %rax
        xorl    %ecx, %ecx
        movq    %rcx, 0(%rax)
        movq    %rcx, 8(%rax)
        movq    %rsi, 16(%rax)
        movq    %rdx, 24(%rax)
        movq    %rcx, 32(%rax)
        movq    %rcx, 40(%rax)
        leaq    lwp__arch_start(%rip), %rcx
        movq    %rcx, 48(%rax)
        movq    $0, 56(%rax)
        movq    $0, 64(%rax)
        ret
        .cfi_endproc
        .size   lwp__arch_frame, .-lwp__arch_frame

/* First code of every new context: call fn(arg). fn never returns; the
 * undefined return address ends backtraces here. */
        .type   lwp__arch_start, @function
        .p2align 4
lwp__arch_start:
        .cfi_startproc
        .cfi_undefined %rip
        endbr64
        movq    %r12, %rdi
        callq   *%r13
        ud2
        .cfi_endproc
        .size   lwp__arch_start, .-lwp__arch_start

        .section .note.GNU-stack,"",%progbits
