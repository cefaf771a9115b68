/* SPDX-License-Identifier: MIT */
/*
 * rw_demo: readers and a writer share a queue under a struct Lock.
 *
 *   rw_demo [readers [messages]]      (defaults: 4 readers, 40 messages)
 *
 * The main LWP creates `readers` reader LWPs and one writer LWP, all at
 * LWP_NORMAL_PRIORITY. The writer puts `messages` messages into a bounded
 * queue, each under ObtainWriteLock, and signals the queue's address so that
 * waiting readers wake up: LWP_NoYieldSignal while there is room, and
 * LWP_SignalProcess, which also yields to the readers, once the queue is full
 * (or the last message is in). With the queue full it waits for a reader to
 * free a slot. A reader takes one message under the
 * write lock (taking modifies the queue), prints it and yields with
 * LWP_DispatchProcess so the others get their turn; with the queue empty it
 * waits on the queue's address. The reader that takes the last message
 * signals `done`; the main LWP, waiting for it, then destroys the readers
 * (still waiting for more), prints a summary and shuts the runtime down.
 *
 * Every wait is "check under the lock, release, wait": releasing never
 * yields, so no signal can slip in between the check and the wait.
 *
 * Exit status: 0 when every message was produced once and consumed once.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <lwp/lock.h>
#include <lwp/lwp.h>

#define MAX_READERS 64
#define MAX_MESSAGES 1000000
#define QUEUE_SLOTS 8
#define STACK_SIZE (64 * 1024)

struct message {
    int seq;
    char text[32];
};

/* The queue's address is the "messages available" event; the lock is not
 * its first member, so no lock event can share that address. */
struct queue {
    int head;  /* index of the oldest message */
    int count; /* messages queued */
    struct message slot[QUEUE_SLOTS];
    struct Lock lock;
    char space; /* event: a slot became free */
};

static struct queue queue;
static int n_messages;               /* how many the writer produces */
static int produced;                 /* written by the writer only */
static int consumed;                 /* under queue.lock */
static int per_reader[MAX_READERS];  /* messages taken by each reader */
static char done;                    /* event: the last message was taken */

static void queue_put(struct queue *q, int seq)
{
    struct message *m = &q->slot[(q->head + q->count) % QUEUE_SLOTS];

    m->seq = seq;
    snprintf(m->text, sizeof(m->text), "message %d", seq);
    q->count++;
}

static void queue_take(struct queue *q, struct message *out)
{
    *out = q->slot[q->head];
    q->head = (q->head + 1) % QUEUE_SLOTS;
    q->count--;
}

static void writer(void *arg)
{
    struct queue *q = arg;
    int seq, queued;

    for (seq = 1; seq <= n_messages; seq++) {
        ObtainWriteLock(&q->lock);
        while (q->count == QUEUE_SLOTS) {
            ReleaseWriteLock(&q->lock);
            printf("[writer] queue full, waiting\n");
            LWP_WaitProcess(&q->space);
            ObtainWriteLock(&q->lock);
        }
        queue_put(q, seq);
        queued = q->count;
        ReleaseWriteLock(&q->lock);
        produced++;
        printf("[writer] put: message %d (%d queued)\n", seq, queued);
        /* Wake every waiting reader; yield to them once the queue is full
         * (or at the end), so that each reader finds something to take. */
        if (queued == QUEUE_SLOTS || seq == n_messages)
            LWP_SignalProcess(q);
        else
            LWP_NoYieldSignal(q);
    }
    printf("[writer] done after %d messages\n", produced);
}

static void reader(void *arg)
{
    int id = (int)(intptr_t)arg;
    struct queue *q = &queue;
    struct message m;
    int last;

    for (;;) {
        ObtainWriteLock(&q->lock);
        if (q->count == 0) {
            ReleaseWriteLock(&q->lock);
            LWP_WaitProcess(q);
            continue;
        }
        queue_take(q, &m);
        last = ++consumed == n_messages;
        ReleaseWriteLock(&q->lock);

        per_reader[id]++;
        printf("[reader %d] got: %s\n", id, m.text);
        LWP_NoYieldSignal(&q->space);
        if (last)
            LWP_NoYieldSignal(&done);
        LWP_DispatchProcess();
    }
}

static int parse_count(const char *s, int min, int max, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    PROCESS self, writer_pid, readers[MAX_READERS];
    int n_readers = 4, i, rc, sum = 0;
    double start, elapsed;

    n_messages = 40;
    if (argc > 3 ||
        (argc > 1 && parse_count(argv[1], 1, MAX_READERS, &n_readers)) ||
        (argc > 2 && parse_count(argv[2], 0, MAX_MESSAGES, &n_messages))) {
        fprintf(stderr,
                "usage: %s [readers (1-%d, default 4) "
                "[messages (0-%d, default 40)]]\n",
                argv[0], MAX_READERS, MAX_MESSAGES);
        return 2;
    }

    rc = LWP_Init(LWP_VERSION, LWP_NORMAL_PRIORITY, &self);
    if (rc != LWP_SUCCESS) {
        fprintf(stderr, "LWP_Init: %s\n", LWP_StrError(rc));
        return 1;
    }
    Lock_Init(&queue.lock);
    printf("rw_demo: %d readers, 1 writer, %d messages, queue of %d slots\n",
           n_readers, n_messages, QUEUE_SLOTS);
    start = now_seconds();

    for (i = 0; i < n_readers; i++) {
        char name[24];

        snprintf(name, sizeof(name), "reader %d", i);
        rc = LWP_CreateProcess(reader, STACK_SIZE, LWP_NORMAL_PRIORITY,
                               (void *)(intptr_t)i, name, &readers[i]);
        if (rc != LWP_SUCCESS) {
            fprintf(stderr, "creating %s: %s\n", name, LWP_StrError(rc));
            return 1;
        }
    }
    rc = LWP_CreateProcess(writer, STACK_SIZE, LWP_NORMAL_PRIORITY, &queue,
                           "writer", &writer_pid);
    if (rc != LWP_SUCCESS) {
        fprintf(stderr, "creating the writer: %s\n", LWP_StrError(rc));
        return 1;
    }

    /* The last reader to take a message signals `done`. */
    while (consumed < n_messages)
        LWP_WaitProcess(&done);
    elapsed = now_seconds() - start;

    /* The readers are waiting for more; the writer has already returned. */
    for (i = 0; i < n_readers; i++) {
        rc = LWP_DestroyProcess(readers[i]);
        if (rc != LWP_SUCCESS)
            fprintf(stderr, "destroying reader %d: %s\n", i,
                    LWP_StrError(rc));
    }

    printf("\nsummary:\n");
    printf("  writer   produced %d messages\n", produced);
    for (i = 0; i < n_readers; i++) {
        printf("  reader %d consumed %d messages\n", i, per_reader[i]);
        sum += per_reader[i];
    }
    printf("  consumed %d of %d messages\n", sum, n_messages);
    printf("  context switches (Cont_Sws): %d\n", Cont_Sws);
    printf("  elapsed: %.3f ms, throughput: %.0f messages/s\n",
           elapsed * 1e3, elapsed > 0 ? n_messages / elapsed : 0.0);

    rc = LWP_TerminateProcessSupport();
    if (rc != LWP_SUCCESS) {
        fprintf(stderr, "LWP_TerminateProcessSupport: %s\n",
                LWP_StrError(rc));
        return 1;
    }
    return produced == n_messages && sum == n_messages &&
                   consumed == n_messages
               ? 0
               : 1;
}
