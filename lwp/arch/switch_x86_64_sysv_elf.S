/* SPDX-License-Identifier: MIT */
/*
 * The context switch for x86-64, System V ABI, ELF (GNU as).
 *
 * A suspended context's stack pointer points at its saved frame:
 *
 *     sp + 0   the value its lwp__arch_switch call returns when resumed
 *     sp + 8   r15, r14, r13, r12, rbx, rbp (up to sp + 48)
 *     sp + 56  resume address (lwp__arch_start for a new context)
 *     sp + 64  fn    (new context only)
 *     sp + 72  arg   (new context only)
 *
 * Nothing else is saved: not the signal mask (no system call), and not
 * MXCSR or the x87 control word (measured at up to 40 ns a switch; LWPs
 * share the floating-point environment).
 *
 * The resumed context is entered by an indirect jump, not a `ret`. The
 * hot paths call the switch as a tail call, so the LWP that resumes
 * continues straight in its caller: had it returned, the return-address
 * predictor (which holds the other stack's calls) would mispredict once
 * per switch. An indirect jump is predicted from branch history instead,
 * which learns a ping-pong. It carries `notrack` because resume addresses
 * are return addresses, not endbr64 landing pads.
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
        .type   lwp__arch_switch, @function
        .p2align 4
lwp__arch_switch:
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
        pushq   %rdx
        .cfi_adjust_cfa_offset 8
        movq    %rsp, (%rdi)
        /* The resumed frame has the same layout, so the unwind rules above
         * describe it too: its caller is where it will resume. */
        movq    %rsi, %rsp
#ifndef LWP_ASAN
        cmpl    $0, lwp__switch_hook(%rip)
        jne     .Lhook
#endif
.Lrestore:
        .cfi_remember_state
        popq    %rax
        .cfi_adjust_cfa_offset -8
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
        popq    %rcx
        .cfi_adjust_cfa_offset -8
        .cfi_register %rip, %rcx
        notrack jmp *%rcx
#ifndef LWP_ASAN
/* A dead LWP's stack to free or stacks to re-protect, now that the switch
 * is off them. Nothing is popped yet, so every register is free except the
 * frame pointer in rsp, kept in rbx across the call. */
.Lhook:
        .cfi_restore_state
        movq    %rsp, %rbx
        .cfi_def_cfa_register %rbx
        andq    $-16, %rsp
        call    lwp__after_switch_hook
        movq    %rbx, %rsp
        .cfi_def_cfa_register %rsp
        jmp     .Lrestore
#endif
        .cfi_endproc
        .size   lwp__arch_switch, .-lwp__arch_switch

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
