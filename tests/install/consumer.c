/* SPDX-License-Identifier: MIT */
/*
 * Built against an *installed* liblwp (tests/install/run.sh), through
 * pkg-config and through find_package(lwp): proves the installed headers,
 * library and package files work together. Two LWPs play ping-pong: each
 * waits for its turn (a flag guarded by a struct Lock), takes it, hands the
 * turn over and signals the other's event. The main LWP waits for both to
 * finish. Exit status 0 on success.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <lwp/lock.h>
#include <lwp/lwp.h>

#define ROUNDS 1000
#define STACK_SIZE (64 * 1024)

static struct Lock table_lock;
static int turn;       /* index of the player whose turn it is */
static int hits[2];    /* strokes played by each player */
static int finished;   /* players that have returned */
static char events[2]; /* events[i]: "it is player i's turn" */
static char done;      /* "both players finished" */

static int my_turn(int me)
{
    int t;

    ObtainReadLock(&table_lock);
    t = turn;
    ReleaseReadLock(&table_lock);
    return t == me;
}

static void player(void *arg)
{
    int me = (int)(intptr_t)arg;
    int i;

    for (i = 0; i < ROUNDS; i++) {
        /* No yield between the check and the wait: no lost wake-up. */
        while (!my_turn(me))
            LWP_WaitProcess(&events[me]);
        ObtainWriteLock(&table_lock);
        hits[me]++;
        turn = !me;
        ReleaseWriteLock(&table_lock);
        LWP_SignalProcess(&events[!me]);
    }
    if (++finished == 2)
        LWP_SignalProcess(&done);
}

int main(void)
{
    PROCESS self, ping, pong;
    int rc;

    rc = LWP_Init(LWP_VERSION, LWP_NORMAL_PRIORITY, &self);
    if (rc != LWP_SUCCESS) {
        fprintf(stderr, "LWP_Init: %s\n", LWP_StrError(rc));
        return 1;
    }
    Lock_Init(&table_lock);
    if (LWP_CreateProcess(player, STACK_SIZE, LWP_NORMAL_PRIORITY,
                          (void *)(intptr_t)1, "pong", &pong) != LWP_SUCCESS ||
        LWP_CreateProcess(player, STACK_SIZE, LWP_NORMAL_PRIORITY,
                          (void *)(intptr_t)0, "ping", &ping) != LWP_SUCCESS) {
        fprintf(stderr, "LWP_CreateProcess failed\n");
        return 1;
    }
    while (finished < 2)
        LWP_WaitProcess(&done);

    if (hits[0] != ROUNDS || hits[1] != ROUNDS || CheckLock(&table_lock)) {
        fprintf(stderr, "wrong result: ping %d, pong %d, lock %d\n", hits[0],
                hits[1], CheckLock(&table_lock));
        return 1;
    }
    printf("consumer: %d rounds of ping-pong, %d dispatches, lwp %d.%d.%d\n",
           ROUNDS, Cont_Sws, LWP_LIB_VERSION_MAJOR, LWP_LIB_VERSION_MINOR,
           LWP_LIB_VERSION_PATCH);
    rc = LWP_TerminateProcessSupport();
    if (rc != LWP_SUCCESS) {
        fprintf(stderr, "LWP_TerminateProcessSupport: %s\n", LWP_StrError(rc));
        return 1;
    }
    return 0;
}
