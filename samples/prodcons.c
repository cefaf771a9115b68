/* SPDX-License-Identifier: MIT */
/*
 * prodcons: producers and consumers around a bounded queue, with a
 * struct Lock and two events (the README shows this file).
 *
 * Two producer LWPs put ITEMS numbers each into a 4-slot queue; three
 * consumer LWPs take them and add them up. A full queue makes producers
 * wait for the "not full" event, an empty one makes consumers wait for
 * "not empty". LWPs switch only when they block or yield, so why a lock?
 * Because an LWP may yield while it holds one: here storing an item
 * yields half-way (standing for I/O, which would yield in IOMGR), and
 * the lock keeps the others out of the half-updated queue meanwhile.
 *
 * The pattern of every wait: check under the lock, release, wait.
 * Releasing never yields, so no signal can slip in between the release
 * and the wait. Exit status 0 when every item was consumed exactly once.
 */
#include <stdio.h>

#include <lwp/lock.h>
#include <lwp/lwp.h>

#define SLOTS 4
#define ITEMS 100 /* per producer */
#define PRODUCERS 2
#define CONSUMERS 3
#define STOP (-1) /* the item that tells a consumer to return */
#define STACK (64 * 1024)

static struct {
    struct Lock lock;
    int item[SLOTS];
    int head, count;
    char not_full, not_empty; /* events: only their addresses matter */
} q;

static long total; /* sum of the items taken (under q.lock) */
static int producers_left, consumers_left;
static char one_returned; /* event: a producer or a consumer returned */

static void put(int item)
{
    ObtainWriteLock(&q.lock);
    while (q.count == SLOTS) {
        ReleaseWriteLock(&q.lock);
        LWP_WaitProcess(&q.not_full);
        ObtainWriteLock(&q.lock);
    }
    q.item[(q.head + q.count) % SLOTS] = item;
    LWP_DispatchProcess(); /* half-way: the others run, the lock holds */
    q.count++;
    ReleaseWriteLock(&q.lock);
    LWP_NoYieldSignal(&q.not_empty);
}

static int take(void)
{
    int item;

    ObtainWriteLock(&q.lock);
    while (q.count == 0) {
        ReleaseWriteLock(&q.lock);
        LWP_WaitProcess(&q.not_empty);
        ObtainWriteLock(&q.lock);
    }
    item = q.item[q.head];
    q.head = (q.head + 1) % SLOTS;
    q.count--;
    if (item != STOP)
        total += item;
    ReleaseWriteLock(&q.lock);
    LWP_NoYieldSignal(&q.not_full);
    return item;
}

static void producer(void *arg)
{
    int first = *(int *)arg;

    for (int i = 0; i < ITEMS; i++)
        put(first + i);
    producers_left--;
    LWP_NoYieldSignal(&one_returned);
}

static void consumer(void *arg)
{
    int *taken = arg;

    while (take() != STOP) {
        (*taken)++;
        LWP_DispatchProcess(); /* using the item: let the others run */
    }
    consumers_left--;
    LWP_NoYieldSignal(&one_returned);
}

int main(void)
{
    static int first[PRODUCERS], taken[CONSUMERS];
    long expect = 0;
    int i, sum_taken = 0;

    if (LWP_Init(LWP_VERSION, LWP_NORMAL_PRIORITY, NULL) != LWP_SUCCESS)
        return 1;
    Lock_Init(&q.lock);
    producers_left = PRODUCERS;
    consumers_left = CONSUMERS;
    for (i = 0; i < CONSUMERS; i++)
        LWP_CreateProcess(consumer, STACK, LWP_NORMAL_PRIORITY, &taken[i],
                          "consumer", NULL);
    for (i = 0; i < PRODUCERS; i++) {
        first[i] = i * ITEMS + 1;
        LWP_CreateProcess(producer, STACK, LWP_NORMAL_PRIORITY, &first[i],
                          "producer", NULL);
    }
    while (producers_left > 0) /* check, then wait: nothing runs between */
        LWP_WaitProcess(&one_returned);
    for (i = 0; i < CONSUMERS; i++)
        put(STOP);
    while (consumers_left > 0)
        LWP_WaitProcess(&one_returned);

    for (i = 0; i < CONSUMERS; i++) {
        printf("consumer %d took %d items\n", i, taken[i]);
        sum_taken += taken[i];
    }
    for (i = 1; i <= PRODUCERS * ITEMS; i++)
        expect += i;
    printf("%d items, sum %ld (expected %ld)\n", sum_taken, total, expect);
    LWP_TerminateProcessSupport();
    return sum_taken == PRODUCERS * ITEMS && total == expect ? 0 : 1;
}
