/* SPDX-License-Identifier: MIT */
/*
 * Context switch for AArch64, AAPCS64, ELF (GNU as).
 *
 * A suspended context is a stack pointer; the callee-saved registers are
 * stored just above it (160 bytes, keeping sp 16-byte aligned):
 *
 *     sp + 0    x19  x20     arg, fn (new context only)
 *     sp + 16   x21  x22
 *     sp + 32   x23  x24
 *     sp + 48   x25  x26
 *     sp + 64   x27  x28
 *     sp + 80   x29  x30     frame pointer, return address
 *     sp + 96   d8   d9      (the low halves AAPCS64 says survive a call)
 *     sp + 112  d10  d11
 *     sp + 128  d12  d13
 *     sp + 144  d14  d15
 *
 * Not saved: the signal mask and FPCR/FPSR (LWPs share the floating-point
 * environment).
 */
        .text

/* void lwp__arch_swap_sp(void **from_sp, void *to_sp) */
        .globl  lwp__arch_swap_sp
        .hidden lwp__arch_swap_sp
        .type   lwp__arch_swap_sp, %function
        .p2align 4
lwp__arch_swap_sp:
        .cfi_startproc
        hint    #34             /* bti c */
        sub     sp, sp, #160
        .cfi_adjust_cfa_offset 160
        stp     x19, x20, [sp, #0]
        stp     x21, x22, [sp, #16]
        stp     x23, x24, [sp, #32]
        stp     x25, x26, [sp, #48]
        stp     x27, x28, [sp, #64]
        stp     x29, x30, [sp, #80]
        .cfi_rel_offset x29, 80
        .cfi_rel_offset x30, 88
        stp     d8, d9, [sp, #96]
        stp     d10, d11, [sp, #112]
        stp     d12, d13, [sp, #128]
        stp     d14, d15, [sp, #144]
        mov     x2, sp
        str     x2, [x0]
        mov     sp, x1
        ldp     x19, x20, [sp, #0]
        ldp     x21, x22, [sp, #16]
        ldp     x23, x24, [sp, #32]
        ldp     x25, x26, [sp, #48]
        ldp     x27, x28, [sp, #64]
        ldp     x29, x30, [sp, #80]
        ldp     d8, d9, [sp, #96]
        ldp     d10, d11, [sp, #112]
        ldp     d12, d13, [sp, #128]
        ldp     d14, d15, [sp, #144]
        add     sp, sp, #160
        .cfi_adjust_cfa_offset -160
        ret
        .cfi_endproc
        .size   lwp__arch_swap_sp, .-lwp__arch_swap_sp

/* void *lwp__arch_frame(void *stack_top, void (*fn)(void *), void *arg) */
        .globl  lwp__arch_frame
        .hidden lwp__arch_frame
        .type   lwp__arch_frame, %function
        .p2align 4
lwp__arch_frame:
        .cfi_startproc
        hint    #34
        and     x0, x0, #~15
        sub     x0, x0, #160
        stp     x2, x1, [x0, #0]
        stp     xzr, xzr, [x0, #16]
        stp     xzr, xzr, [x0, #32]
        stp     xzr, xzr, [x0, #48]
        stp     xzr, xzr, [x0, #64]
        adr     x3, lwp__arch_start
        stp     xzr, x3, [x0, #80]
        stp     xzr, xzr, [x0, #96]
        stp     xzr, xzr, [x0, #112]
        stp     xzr, xzr, [x0, #128]
        stp     xzr, xzr, [x0, #144]
        ret
        .cfi_endproc
        .size   lwp__arch_frame, .-lwp__arch_frame

/* First code of every new context: fn(arg); fn never returns. */
        .type   lwp__arch_start, %function
        .p2align 4
lwp__arch_start:
        .cfi_startproc
        .cfi_undefined x30
        hint    #36             /* bti j */
        mov     x0, x19
        blr     x20
        brk     #0
        .cfi_endproc
        .size   lwp__arch_start, .-lwp__arch_start

        .section .note.GNU-stack,"",%progbits
