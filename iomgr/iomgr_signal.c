/* SPDX-License-Identifier: MIT */
/*
 * Unix signals as LWP events (IOMGR_Signal) and software interrupts
 * (IOMGR_SoftSig).
 *
 * Unix signals go through libev's signal watchers, which turn a delivery
 * into a loop event without a window in which it could be missed; the
 * callback runs in the loop, i.e. in an LWP, so LWP_NoYieldSignal is safe
 * there. Soft signals are claimed in a slot with atomics and announced with
 * ev_async_send, both async-signal-safe.
 */
#include <string.h>

#include "iomgr_internal.h"

static void signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct iomgr_sig *s = (struct iomgr_sig *)w;
    struct iomgr *m = iomgr__running();

    (void)loop;
    (void)revents;
    if (LWP_NoYieldSignal(s->event) == LWP_SUCCESS && m)
        m->woken++;
}

/* Refused as by PRE_SetSignal: SIGKILL and SIGSTOP cannot be caught
 * (libev would not say so), and a fault signal such as SIGSEGV would be
 * raised again at once by the faulting instruction each time its handler
 * returned (a spin at 100% CPU, and no stack-overflow report). */
int IOMGR_Signal(int signo, const void *event)
{
    struct iomgr *m = iomgr__entry();
    struct iomgr_sig *s;
    struct sigaction old;

    if (!lwp__sig_usable(signo))
        return LWP_EBADSIG;
    if (!event)
        return LWP_EBADEVENT;
    if (!m)
        return lwp__no_rt();
    s = &m->sig[signo];
    if (s->active) {
        s->event = event;
        return LWP_SUCCESS;
    }
    /* Preemption's timer signal: its handler must stay in place. */
    if (lwp__sig_claim(lwp__rt, signo, LWP_SIG_IOMGR) != 0)
        return LWP_ESIGBUSY;
    if (sigaction(signo, NULL, &old)) {
        lwp__sig_release(lwp__rt, signo, LWP_SIG_IOMGR);
        return LWP_ESYSTEM;
    }
    s->old = old;
    s->event = event;
    s->active = 1;
    ev_signal_init(&s->w, signal_cb, signo);
    ev_signal_start(m->loop, &s->w);
    iomgr__unpark(m); /* deliveries must not wait for the LWPs to block */
    return LWP_SUCCESS;
}

static void stop_one(struct iomgr *m, int signo)
{
    struct iomgr_sig *s = &m->sig[signo];

    ev_signal_stop(m->loop, &s->w);
    sigaction(signo, &s->old, NULL);
    s->active = 0;
    s->event = NULL;
    lwp__sig_release(lwp__rt, signo, LWP_SIG_IOMGR);
}

int IOMGR_CancelSignal(int signo)
{
    struct iomgr *m = iomgr__entry();

    if (signo <= 0 || signo >= NSIG)
        return LWP_EBADSIG;
    if (!m)
        return lwp__no_rt();
    if (!m->sig[signo].active)
        return LWP_EBADSIG;
    stop_one(m, signo);
    return LWP_SUCCESS;
}

void iomgr__signals_stop(struct iomgr *m)
{
    for (int signo = 1; signo < NSIG; signo++)
        if (m->sig[signo].active)
            stop_one(m, signo);
}

/* The LWPs are started after ev_run returns (iomgr__run_softsigs):
 * creating one yields, which a libev callback must not do. */
void iomgr__softsig_cb(struct ev_loop *loop, ev_async *w, int revents)
{
    struct iomgr *m = w->data;

    (void)loop;
    (void)revents;
    m->softsig_seen = 1; /* iomgr__run_softsigs, after the pass, looks */
}

int iomgr__softsig(void (*proc)(void *), void *(*afs_proc)(void *),
                   void *rock)
{
    struct iomgr *m = atomic_load(&iomgr__mgr);

    if (!m || (!proc && !afs_proc))
        return -1;
    for (int i = 0; i < IOMGR_SOFTSIG_SLOTS; i++) {
        struct iomgr_softsig *s = &m->softsig[i];
        int expect = 0;

        if (!atomic_compare_exchange_strong(&s->state, &expect, 1))
            continue;
        s->proc = proc;
        s->afs_proc = afs_proc;
        s->rock = rock;
        atomic_store_explicit(&s->state, 2, memory_order_release);
        ev_async_send(m->loop, &m->softsig_async);
        return 0;
    }
    return -1;
}

int IOMGR_SoftSig(void (*aproc)(void *), void *arock)
{
    return iomgr__softsig(aproc, NULL, arock);
}
