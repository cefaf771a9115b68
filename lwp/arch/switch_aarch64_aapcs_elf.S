/* SPDX-License-Identifier: MIT */
/*
 * The context switch for AArch64, AAPCS64, ELF (GNU as).
 *
 * A suspended context's stack pointer points at its saved frame:
 *
 *     sp + 0    the value its lwp__arch_switch call returns when resumed
 *     sp + 16   x19 ... x28
 *     sp + 96   d8 ... d15
 *     sp + 160  x29, then x30: the resume address (lwp__arch_start for a
 *               new context)
 *     sp + 176  fn, arg (new context only)
 *
 * Not saved: the signal mask and FPCR/FPSR (LWPs share the floating-point
 * environment).
 *
 * Under LWP_ASAN the C wrapper runs the after-switch hook itself, after
 * telling AddressSanitizer the switch is finished.
 */
        .section lwp_text,"ax",%progbits

/* int lwp__arch_switch(void **save, void *load, int ret)
 * Saves the running context, frame pointer `save`, resumes the one whose
 * frame `load` points at. Returns `ret` when some later switch resumes it. */
        .globl  lwp__arch_switch
        .hidden lwp__arch_switch
        .type   lwp__arch_switch, %function
        .p2align 4
lwp__arch_switch:
        .cfi_startproc
        hint    #34             /* bti c */
        sub     sp, sp, #176
        .cfi_def_cfa_offset 176
        stp     x2, xzr, [sp, #0]
        stp     x19, x20, [sp, #16]
        stp     x21, x22, [sp, #32]
        stp     x23, x24, [sp, #48]
        stp     x25, x26, [sp, #64]
        stp     x27, x28, [sp, #80]
        stp     d8, d9, [sp, #96]
        stp     d10, d11, [sp, #112]
        stp     d12, d13, [sp, #128]
        stp     d14, d15, [sp, #144]
        stp     x29, x30, [sp, #160]
        .cfi_offset x19, -160
        .cfi_offset x20, -152
        .cfi_offset x21, -144
        .cfi_offset x22, -136
        .cfi_offset x23, -128
        .cfi_offset x24, -120
        .cfi_offset x25, -112
        .cfi_offset x26, -104
        .cfi_offset x27, -96
        .cfi_offset x28, -88
        .cfi_offset x29, -16
        .cfi_offset x30, -8
        mov     x9, sp
        str     x9, [x0]
        /* The resumed frame has the same layout, so the unwind rules above
         * describe it too: its caller is where it will resume. */
        mov     sp, x1
#ifndef LWP_ASAN
        adrp    x9, lwp__switch_hook
        ldr     w9, [x9, :lo12:lwp__switch_hook]
        cbnz    w9, .Lhook
#endif
.Lrestore:
        ldr     x0, [sp, #0]
        ldp     x19, x20, [sp, #16]
        ldp     x21, x22, [sp, #32]
        ldp     x23, x24, [sp, #48]
        ldp     x25, x26, [sp, #64]
        ldp     x27, x28, [sp, #80]
        ldp     d8, d9, [sp, #96]
        ldp     d10, d11, [sp, #112]
        ldp     d12, d13, [sp, #128]
        ldp     d14, d15, [sp, #144]
        ldp     x29, x30, [sp, #160]
        add     sp, sp, #176
        ret
#ifndef LWP_ASAN
/* A dead LWP's stack to free or stacks to re-protect, now that the switch
 * is off them. Nothing is loaded yet, so every register is free; x30 is
 * reloaded from the frame afterwards. */
.Lhook:
        bl      lwp__after_switch_hook
        b       .Lrestore
#endif
        .cfi_endproc
        .size   lwp__arch_switch, .-lwp__arch_switch

/* First code of every new context, reached by the switch's return: call
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
