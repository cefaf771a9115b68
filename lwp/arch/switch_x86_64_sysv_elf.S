/* SPDX-License-Identifier: MIT */
/*
 * The start of new contexts for x86-64, System V ABI, ELF (GNU as). The
 * switch itself is inline assembly in switch.h, which also builds new
 * frames; it leaves a suspended context's stack pointer pointing at:
 *
 *     sp + 0   resume address (lwp__arch_start for a new context)
 *     sp + 8   rbp
 *     sp + 16  fn    (new context only)
 *     sp + 24  arg   (new context only)
 *
 * Nothing else is saved: not the signal mask (no system call), and not
 * MXCSR or the x87 control word (measured at up to 40 ns a switch; LWPs
 * share the floating-point environment). Every other register is declared
 * clobbered by the inline switch, so the compiler keeps nothing in them.
 */
        .text

/* First code of every new context, reached by the switch's jump: call
 * fn(arg). fn never returns; the undefined return address ends backtraces
 * here. */
        .globl  lwp__arch_start
        .hidden lwp__arch_start
        .type   lwp__arch_start, @function
        .p2align 4
lwp__arch_start:
        .cfi_startproc
        .cfi_undefined %rip
        endbr64
        popq    %rax
        popq    %rdi
        callq   *%rax
        ud2
        .cfi_endproc
        .size   lwp__arch_start, .-lwp__arch_start

        .section .note.GNU-stack,"",%progbits
