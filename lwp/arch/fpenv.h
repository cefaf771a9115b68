/* SPDX-License-Identifier: MIT */
/*
 * The floating-point environment of the running thread, saved to and
 * loaded from a small buffer (lwp_fpset's context): rounding mode,
 * exception masks and exception flags.
 *
 * x86-64: MXCSR and the x87 control word and exception flags, read with
 * stmxcsr/fnstcw/fnstsw. A load writes only what differs: reading is
 * cheap, while ldmxcsr and fldcw are serialising on some cores, and x87
 * flags can only be set through fldenv (flags are usually clear, and
 * clearing them is fnclex). AArch64: FPCR and FPSR, written only when they
 * differ. Elsewhere: fegetenv/fesetenv.
 */
#ifndef LWP_ARCH_FPENV_H
#define LWP_ARCH_FPENV_H

#include <stdint.h>
#include <string.h>

#include <lwp/context.h>

#if defined(__x86_64__)

struct lwp_fpenv {
    uint32_t mxcsr;
    uint16_t x87cw;
    uint16_t x87sw; /* exception flags only */
};

#define LWP_X87_FLAGS 0x3f

static inline void lwp__fpenv_save(void *buf)
{
    struct lwp_fpenv *e = buf;

    __asm__ volatile("stmxcsr %0" : "=m"(e->mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(e->x87cw));
    __asm__ volatile("fnstsw %0" : "=m"(e->x87sw));
    e->x87sw &= LWP_X87_FLAGS;
}

/* x87 exception flags can only be set by loading a whole environment. */
static __attribute__((noinline, cold, unused)) void
lwp__x87_set_flags(uint16_t f)
{
    struct {
        uint16_t cw, pad0, sw, pad1;
        uint32_t rest[5];
    } env;

    __asm__ volatile("fnstenv %0" : "=m"(env));
    env.sw = (uint16_t)((env.sw & ~LWP_X87_FLAGS) | f);
    __asm__ volatile("fldenv %0" : : "m"(env));
}

static inline void lwp__fpenv_load(const void *buf)
{
    const struct lwp_fpenv *e = buf;
    struct lwp_fpenv now;

    lwp__fpenv_save(&now);
    if (now.mxcsr != e->mxcsr)
        __asm__ volatile("ldmxcsr %0" : : "m"(e->mxcsr));
    if (now.x87cw != e->x87cw)
        __asm__ volatile("fldcw %0" : : "m"(e->x87cw));
    if (now.x87sw != e->x87sw) {
        if (e->x87sw == 0)
            __asm__ volatile("fnclex");
        else
            lwp__x87_set_flags(e->x87sw);
    }
}

#elif defined(__aarch64__)

struct lwp_fpenv {
    uint64_t fpcr, fpsr;
};

static inline void lwp__fpenv_save(void *buf)
{
    struct lwp_fpenv *e = buf;

    __asm__ volatile("mrs %0, fpcr" : "=r"(e->fpcr));
    __asm__ volatile("mrs %0, fpsr" : "=r"(e->fpsr));
}

static inline void lwp__fpenv_load(const void *buf)
{
    const struct lwp_fpenv *e = buf;
    struct lwp_fpenv now;

    lwp__fpenv_save(&now);
    if (now.fpcr != e->fpcr)
        __asm__ volatile("msr fpcr, %0" : : "r"(e->fpcr));
    if (now.fpsr != e->fpsr)
        __asm__ volatile("msr fpsr, %0" : : "r"(e->fpsr));
}

#endif

/* ---- The environment in a signal frame (the preemption handler) ----
 * The kernel runs a handler with the default environment and restores
 * the interrupted one from the frame when the handler returns. A handler
 * that switches LWPs moves the interrupted environment into the thread
 * first (lwp__fpenv_from_frame) and, before returning, writes the one the
 * switches left back into the frame (lwp__fpenv_to_frame). Both return
 * -1 if the frame holds no FP state. */
#if defined(__x86_64__)
#include <ucontext.h>

static inline int lwp__fpenv_from_frame(const void *ucv, void *buf)
{
    const ucontext_t *uc = ucv;
    struct lwp_fpenv *e = buf;

    if (!uc->uc_mcontext.fpregs)
        return -1;
    e->mxcsr = uc->uc_mcontext.fpregs->mxcsr;
    e->x87cw = uc->uc_mcontext.fpregs->cwd;
    e->x87sw = uc->uc_mcontext.fpregs->swd & LWP_X87_FLAGS;
    return 0;
}

static inline int lwp__fpenv_to_frame(void *ucv, const void *buf)
{
    ucontext_t *uc = ucv;
    const struct lwp_fpenv *e = buf;
    struct _libc_fpstate *f = uc->uc_mcontext.fpregs;

    if (!f)
        return -1;
    f->mxcsr = e->mxcsr;
    f->cwd = e->x87cw;
    f->swd = (uint16_t)((f->swd & ~LWP_X87_FLAGS) | e->x87sw);
    return 0;
}

#elif defined(__aarch64__)
#include <ucontext.h>

/* The FP/SIMD record among the frame's extension records. */
struct lwp_fpsimd_rec {
    uint32_t magic, size;
    uint32_t fpsr, fpcr;
};
#define LWP_FPSIMD_MAGIC 0x46508001u

static inline struct lwp_fpsimd_rec *lwp__frame_fpsimd(const void *ucv)
{
    const ucontext_t *uc = ucv;
    unsigned char *p = (unsigned char *)uc->uc_mcontext.__reserved;
    unsigned char *end = p + sizeof(uc->uc_mcontext.__reserved);

    while (p + sizeof(struct lwp_fpsimd_rec) <= end) {
        struct lwp_fpsimd_rec *r = (struct lwp_fpsimd_rec *)p;
        if (r->magic == LWP_FPSIMD_MAGIC)
            return r;
        if (r->magic == 0 || r->size == 0)
            break;
        p += r->size;
    }
    return NULL;
}

static inline int lwp__fpenv_from_frame(const void *ucv, void *buf)
{
    struct lwp_fpsimd_rec *r = lwp__frame_fpsimd(ucv);
    struct lwp_fpenv *e = buf;

    if (!r)
        return -1;
    e->fpsr = r->fpsr;
    e->fpcr = r->fpcr;
    return 0;
}

static inline int lwp__fpenv_to_frame(void *ucv, const void *buf)
{
    struct lwp_fpsimd_rec *r = lwp__frame_fpsimd(ucv);
    const struct lwp_fpenv *e = buf;

    if (!r)
        return -1;
    r->fpsr = (uint32_t)e->fpsr;
    r->fpcr = (uint32_t)e->fpcr;
    return 0;
}

#else

#include <fenv.h>

struct lwp_fpenv {
    fenv_t env;
};

static inline void lwp__fpenv_save(void *buf)
{
    fegetenv(&((struct lwp_fpenv *)buf)->env);
}

static inline void lwp__fpenv_load(const void *buf)
{
    fesetenv(&((const struct lwp_fpenv *)buf)->env);
}

/* Unknown frame layout: the handler keeps the kernel's behaviour. */
static inline int lwp__fpenv_from_frame(const void *ucv, void *buf)
{
    (void)ucv;
    (void)buf;
    return -1;
}

static inline int lwp__fpenv_to_frame(void *ucv, const void *buf)
{
    (void)ucv;
    (void)buf;
    return -1;
}

#endif

_Static_assert(sizeof(struct lwp_fpenv) <= LWP_CTX_FP_SIZE,
               "LWP_CTX_FP_SIZE too small for this architecture");

#endif /* LWP_ARCH_FPENV_H */
