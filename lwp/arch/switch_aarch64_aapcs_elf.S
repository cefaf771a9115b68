/* SPDX-License-Identifier: MIT */
/*
 * The start of new contexts for AArch64, AAPCS64, ELF (GNU as). The
 * switch itself is inline assembly in switch.h, which also builds new
 * frames; it leaves a suspended context's stack
 * pointer pointing at:
 *
 *     sp + 0   x29 (frame pointer)
 *     sp + 8   resume address (lwp__arch_start for a new context)
 *     sp + 16  fn    (new context only)
 *     sp + 24  arg   (new context only)
 *
 * Not saved: the signal mask and FPCR/FPSR (LWPs share the floating-point
 * environment). Every other register, d8-d15 included, is declared
 * clobbered by the inline switch, so the compiler keeps nothing in them.
 */
        .text

/* First code of every new context, reached by the switch's branch: call
 * fn(arg) with sp 16-byte aligned. fn never returns. */
        .globl  lwp__arch_start
        .hidden lwp__arch_start
        .type   lwp__arch_start, %function
        .p2align 4
lwp__arch_start:
        .cfi_startproc
        .cfi_undefined x30
        hint    #36             /* bti j */
        ldp     x9, x0, [sp], #16
        mov     x29, xzr
        blr     x9
        brk     #0
        .cfi_endproc
        .size   lwp__arch_start, .-lwp__arch_start

        .section .note.GNU-stack,"",%progbits
