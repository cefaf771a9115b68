/* SPDX-License-Identifier: MIT */
/* Shared by the Criterion arch tests and the Criterion-free self-test. */
#include "regcheck.h"

/* int lwpt_regcheck(long base): put base+1.. into every callee-saved
 * register, yield, and return 1 if they all still hold their values. Two
 * LWPs running it with different bases catch a switch that mixes up or
 * forgets registers. Written as whole functions so no compiler frame or
 * red zone is in the way. */
#if defined(__x86_64__) && !defined(LWP_SWITCH_UCONTEXT)
__asm__(".text\n"
        ".globl lwpt_regcheck\n"
        ".type lwpt_regcheck, @function\n"
        "lwpt_regcheck:\n"
        "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n"
        "  pushq %r14\n  pushq %r15\n  subq $8, %rsp\n"
        "  movq %rdi, (%rsp)\n"
        "  leaq 1(%rdi), %rbx\n  leaq 2(%rdi), %r12\n  leaq 3(%rdi), %r13\n"
        "  leaq 4(%rdi), %r14\n  leaq 5(%rdi), %r15\n  leaq 6(%rdi), %rbp\n"
        "  call LWP_DispatchProcess@PLT\n"
        "  movq (%rsp), %rdi\n  xorl %eax, %eax\n"
        "  leaq 1(%rdi), %rcx\n  cmpq %rcx, %rbx\n  jne 1f\n"
        "  leaq 2(%rdi), %rcx\n  cmpq %rcx, %r12\n  jne 1f\n"
        "  leaq 3(%rdi), %rcx\n  cmpq %rcx, %r13\n  jne 1f\n"
        "  leaq 4(%rdi), %rcx\n  cmpq %rcx, %r14\n  jne 1f\n"
        "  leaq 5(%rdi), %rcx\n  cmpq %rcx, %r15\n  jne 1f\n"
        "  leaq 6(%rdi), %rcx\n  cmpq %rcx, %rbp\n  jne 1f\n"
        "  movl $1, %eax\n"
        "1:addq $8, %rsp\n"
        "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n"
        "  popq %rbp\n  ret\n"
        ".size lwpt_regcheck, .-lwpt_regcheck\n");
#elif defined(__aarch64__) && !defined(LWP_SWITCH_UCONTEXT)
__asm__(".text\n"
        ".globl lwpt_regcheck\n"
        ".type lwpt_regcheck, %function\n"
        "lwpt_regcheck:\n"
        "  stp x29, x30, [sp, #-176]!\n"
        "  stp x19, x20, [sp, #16]\n  stp x21, x22, [sp, #32]\n"
        "  stp x23, x24, [sp, #48]\n  stp x25, x26, [sp, #64]\n"
        "  stp x27, x28, [sp, #80]\n  stp d8, d9, [sp, #96]\n"
        "  stp d10, d11, [sp, #112]\n  stp d12, d13, [sp, #128]\n"
        "  stp d14, d15, [sp, #144]\n  str x0, [sp, #160]\n"
        "  add x19, x0, #1\n  add x20, x0, #2\n  add x21, x0, #3\n"
        "  add x22, x0, #4\n  add x23, x0, #5\n  add x24, x0, #6\n"
        "  add x25, x0, #7\n  add x26, x0, #8\n  add x27, x0, #9\n"
        "  add x28, x0, #10\n  scvtf d8, x19\n  scvtf d15, x28\n"
        "  bl LWP_DispatchProcess\n"
        "  ldr x1, [sp, #160]\n  mov w0, #0\n"
        "  add x2, x1, #1\n  cmp x2, x19\n  b.ne 1f\n"
        "  add x2, x1, #5\n  cmp x2, x23\n  b.ne 1f\n"
        "  add x2, x1, #10\n  cmp x2, x28\n  b.ne 1f\n"
        "  scvtf d0, x19\n  fcmp d0, d8\n  b.ne 1f\n"
        "  scvtf d0, x28\n  fcmp d0, d15\n  b.ne 1f\n"
        "  mov w0, #1\n"
        "1:ldp x19, x20, [sp, #16]\n  ldp x21, x22, [sp, #32]\n"
        "  ldp x23, x24, [sp, #48]\n  ldp x25, x26, [sp, #64]\n"
        "  ldp x27, x28, [sp, #80]\n  ldp d8, d9, [sp, #96]\n"
        "  ldp d10, d11, [sp, #112]\n  ldp d12, d13, [sp, #128]\n"
        "  ldp d14, d15, [sp, #144]\n  ldp x29, x30, [sp], #176\n"
        "  ret\n"
        ".size lwpt_regcheck, .-lwpt_regcheck\n");
#endif

