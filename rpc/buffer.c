/* SPDX-License-Identifier: MIT */
/*
 * Packet buffers: three size classes (Coda's 350, 1500 and 4500 bytes for
 * the whole allocation), each with a bounded free list so steady traffic
 * allocates nothing. Internally one more class holds any datagram the
 * listener accepts (a 4500-byte frame decrypts to at most that).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_internal.h"

#define PB_MAGIC 0x50424f4bL /* "PBOK" while allocated */
#define PB_FREED 0x50424644L /* "PBFD" on a free list */
#define POOL_KEEP 512        /* free buffers kept per class */

static const size_t class_size[] = {
    350, 1500, RPC2_MAXPACKETSIZE,
    sizeof(RPC2_PacketBuffer) + SEC_MAX_FRAME,
};
#define NCLASS (sizeof class_size / sizeof class_size[0])

struct pool {
    RPC2_PacketBuffer *free;
    unsigned n;
};
static _Thread_local struct pool pools[NCLASS];

long rpc2_PBSmallCreationCount, rpc2_PBSmallFreeCount;
long rpc2_PBMediumCreationCount, rpc2_PBMediumFreeCount;
long rpc2_PBLargeCreationCount, rpc2_PBLargeFreeCount;
long rpc2_PBCount, rpc2_PBHoldCount, rpc2_HoldHWMark;

static int class_of(size_t body)
{
    size_t need = body + sizeof(RPC2_PacketBuffer);

    for (unsigned i = 0; i < NCLASS; i++) {
        if (need <= class_size[i]) {
            return (int)i;
        }
    }
    return -1;
}

/* Coda's counters by class (the listener's class counts as large). */
static long *const creation_count[NCLASS] = {
    &rpc2_PBSmallCreationCount, &rpc2_PBMediumCreationCount,
    &rpc2_PBLargeCreationCount, &rpc2_PBLargeCreationCount};
static long *const free_count[NCLASS] = {
    &rpc2_PBSmallFreeCount, &rpc2_PBMediumFreeCount, &rpc2_PBLargeFreeCount,
    &rpc2_PBLargeFreeCount};

static void count_create(int k)
{
    (*creation_count[k])++;
}

static void count_free(int k)
{
    (*free_count[k])++;
}

RPC2_PacketBuffer *rpc_buf_alloc(size_t body)
{
    int k = class_of(body);
    RPC2_PacketBuffer *pb;

    if (k < 0) {
        return NULL;
    }
    pb = pools[k].free;
    if (pb) {
        pools[k].free = (RPC2_PacketBuffer *)pb->Prefix.LE.Next;
        pools[k].n--;
    } else {
        pb = malloc(class_size[k]);
        if (!pb) {
            return NULL;
        }
        memset(pb->Prefix.oldhostandport, 0,
               sizeof pb->Prefix.oldhostandport);
        count_create(k);
    }
    /* The padding (oldhostandport) was zeroed once, at creation, and the
     * library never writes it. */
    memset(&pb->Prefix, 0, offsetof(struct RPC2_PacketBufferPrefix,
                                    oldhostandport));
    memset(&pb->Prefix.RecvStamp, 0, sizeof pb->Prefix.RecvStamp);
    memset(&pb->Header, 0, sizeof pb->Header);
    pb->Prefix.LE.MagicNumber = PB_MAGIC;
    pb->Prefix.BufferSize = (long)class_size[k];
    pb->Header.BodyLength = (RPC2_Unsigned)body;
    pb->Prefix.LengthOfPacket = (long)(WIRE_HDR + body);
    rpc2_PBCount++;
    return pb;
}

size_t rpc_buf_room(const RPC2_PacketBuffer *pb)
{
    return (size_t)pb->Prefix.BufferSize - sizeof(RPC2_PacketBuffer);
}

RPC2_PacketBuffer *rpc_buf_copy(const RPC2_PacketBuffer *pb)
{
    RPC2_PacketBuffer *c = rpc_buf_alloc(pb->Header.BodyLength);

    if (c) {
        c->Header = pb->Header;
        memcpy(c->Body, pb->Body, pb->Header.BodyLength);
    }
    return c;
}

RPC2_PacketBuffer *rpc_buf_copy_into(RPC2_PacketBuffer *dst,
                                     const RPC2_PacketBuffer *pb)
{
    size_t body = pb->Header.BodyLength;

    if (!dst || rpc_buf_room(dst) < body) {
        RPC2_FreeBuffer(&dst);
        return rpc_buf_copy(pb);
    }
    dst->Header = pb->Header;
    memcpy(dst->Body, pb->Body, body);
    dst->Prefix.LengthOfPacket = (long)(WIRE_HDR + body);
    return dst;
}

static void buf_release(RPC2_PacketBuffer *pb)
{
    int k = -1;

    for (unsigned i = 0; i < NCLASS; i++) {
        if ((size_t)pb->Prefix.BufferSize == class_size[i]) {
            k = (int)i;
        }
    }
    if (pb->Prefix.PeerAddr) {
        RPC2_freeaddrinfo(pb->Prefix.PeerAddr);
        pb->Prefix.PeerAddr = NULL;
    }
    rpc2_PBCount--;
    count_free(k < 0 ? 0 : k);
    if (k < 0 || pools[k].n >= POOL_KEEP) {
        free(pb);
        return;
    }
    pb->Prefix.LE.MagicNumber = PB_FREED;
    pb->Prefix.LE.Next = (struct rpc2_LinkEntry *)pools[k].free;
    pools[k].free = pb;
    pools[k].n++;
}

long rpc2_AllocBuffer(long MinBodySize, RPC2_PacketBuffer **BufferPtr,
                      const char *SrcFile, long SrcLine)
{
    RPC2_PacketBuffer *pb;

    if (!BufferPtr) {
        return RPC2_FAIL;
    }
    *BufferPtr = NULL;
    /* F1: Coda returned success without a buffer when too big. */
    if (MinBodySize < 0 ||
        (size_t)MinBodySize + sizeof(RPC2_PacketBuffer) > RPC2_MAXPACKETSIZE) {
        return RPC2_FAIL;
    }
    pb = rpc_buf_alloc((size_t)MinBodySize);
    if (!pb) {
        return RPC2_FAIL;
    }
    pb->Prefix.Line = SrcLine;
    (void)SrcFile;
    *BufferPtr = pb;
    return RPC2_SUCCESS;
}

long RPC2_FreeBuffer(RPC2_PacketBuffer **Buffer)
{
    if (!Buffer || !*Buffer) {
        return RPC2_SUCCESS;
    }
    if ((*Buffer)->Prefix.LE.MagicNumber != PB_MAGIC) {
        /* A double free or a foreign pointer: refuse rather than corrupt
         * the pool. */
        rpc_log(0, "RPC2_FreeBuffer: %p is not an allocated packet buffer",
                (void *)*Buffer);
        return RPC2_FAIL;
    }
    buf_release(*Buffer);
    *Buffer = NULL;
    return RPC2_SUCCESS;
}

void rpc_bufs_fini(void)
{
    for (unsigned k = 0; k < NCLASS; k++) {
        while (pools[k].free) {
            RPC2_PacketBuffer *pb = pools[k].free;
            pools[k].free = (RPC2_PacketBuffer *)pb->Prefix.LE.Next;
            free(pb);
        }
        pools[k].n = 0;
    }
}
