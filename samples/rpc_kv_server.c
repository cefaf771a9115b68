/* SPDX-License-Identifier: MIT */
/*
 * rpc_kv_server -- a small key-value service over RPC2 (protocol in
 * rpc_kv.h).
 *
 *   rpc_kv_server [-p port] [-a addr] (-k keyfile | -o) [-n lwps] [-q]
 *
 * -p  UDP port (default 0: any free port); the port is printed on stdout
 *     as "port: N" once the server takes requests
 * -a  local IPv4 address to bind (default 127.0.0.1; 0.0.0.0: all)
 * -k  binds must be SECURE (or AUTHONLY/HEADERSONLY) with the 8-byte
 *     secret in keyfile (8 raw bytes or 16 hex digits)
 * -o  accept OPENKIMONO binds only (encrypted, not authenticated)
 * -n  server LWPs taking requests (default 8)
 * -q  no summary at exit
 *
 * The store is a sorted array (binary search), bounded by KV_MAX_ENTRIES;
 * a handler never blocks, so no lock is needed between the server LWPs
 * (LWPs switch only when one blocks). SIGINT/SIGTERM reach the main LWP
 * as an event through IOMGR_Signal; it then calls RPC2_Finalize, which
 * wakes every LWP waiting in RPC2_GetRequest with a failure, and exits 0.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lwp/iomgr.h>
#include <lwp/lwp.h>

#include "rpc_kv.h"

struct kv_entry {
    char *key;
    unsigned char *value;
    size_t len;
};

static struct kv_entry store[KV_MAX_ENTRIES];
static size_t store_n;

static RPC2_EncryptionKey secret;
static int open_only; /* -o */
static char stop_event;
static int workers_live;
static char workers_gone;
static unsigned long n_calls, n_binds, n_refused, n_baddata;

/* ---- The store --------------------------------------------------------- */

/* Index of key, or of where it would go (*found says which). */
static size_t store_find(const char *key, int *found)
{
    size_t lo = 0, hi = store_n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(store[mid].key, key);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = 0;
    return lo;
}

static int store_put(const char *key, const void *value, size_t len)
{
    int found;
    size_t i = store_find(key, &found);
    unsigned char *copy = malloc(len ? len : 1);

    if (!copy) {
        return ENOMEM;
    }
    memcpy(copy, value, len);
    if (found) {
        free(store[i].value);
    } else {
        char *k;
        if (store_n == KV_MAX_ENTRIES || !(k = strdup(key))) {
            free(copy);
            return store_n == KV_MAX_ENTRIES ? ENOSPC : ENOMEM;
        }
        memmove(&store[i + 1], &store[i], (store_n - i) * sizeof store[0]);
        store_n++;
        store[i].key = k;
    }
    store[i].value = copy;
    store[i].len = len;
    return 0;
}

static int store_del(const char *key)
{
    int found;
    size_t i = store_find(key, &found);

    if (!found) {
        return ENOENT;
    }
    free(store[i].key);
    free(store[i].value);
    memmove(&store[i], &store[i + 1], (store_n - i - 1) * sizeof store[0]);
    store_n--;
    return 0;
}

static void store_clear(void)
{
    while (store_n > 0) {
        store_n--;
        free(store[store_n].key);
        free(store[store_n].value);
    }
}

/* ---- Request handlers: fill rep's body, return the ReturnCode ---------- */

static int key_ok(const char *key)
{
    size_t n = strlen(key);
    return n >= 1 && n <= KV_MAX_KEY;
}

static long do_get(BUFFER *in, BUFFER *out)
{
    RPC2_String key;
    RPC2_CountedBS v;
    int found;
    size_t i;

    if (unpack_string(in, &key) < 0) {
        return RPC2_BADDATA;
    }
    i = store_find((char *)key, &found);
    if (!found) {
        return ENOENT;
    }
    v.SeqLen = (RPC2_Unsigned)store[i].len;
    v.SeqBody = store[i].value;
    return pack_countedbs(out, &v) < 0 ? RPC2_FAIL : 0;
}

static long do_put(BUFFER *in)
{
    RPC2_String key;
    RPC2_CountedBS v;

    if (unpack_string(in, &key) < 0 || unpack_countedbs(in, &v) < 0) {
        return RPC2_BADDATA;
    }
    if (!key_ok((char *)key) || v.SeqLen > KV_MAX_VALUE) {
        return EINVAL;
    }
    return store_put((char *)key, v.SeqBody, v.SeqLen);
}

static long do_del(BUFFER *in)
{
    RPC2_String key;

    if (unpack_string(in, &key) < 0) {
        return RPC2_BADDATA;
    }
    return store_del((char *)key);
}

/* Keys after `after`, as many as fit in the reply. */
static long do_list(BUFFER *in, BUFFER *out)
{
    RPC2_String after;
    BUFFER head = *out;
    RPC2_Integer n = 0, more = 0;
    int found;
    size_t i;

    if (unpack_string(in, &after) < 0) {
        return RPC2_BADDATA;
    }
    i = store_find((char *)after, &found);
    i += found;
    if (pack_integer(out, 0) < 0 || pack_integer(out, 0) < 0) {
        return RPC2_FAIL;
    }
    for (; i < store_n; i++, n++) {
        RPC2_CountedBS k = {(RPC2_Unsigned)strlen(store[i].key),
                            (RPC2_ByteSeq)store[i].key};
        if (pack_countedbs(out, &k) < 0) {
            more = 1;
            break;
        }
    }
    pack_integer(&head, n);
    pack_integer(&head, more);
    return 0;
}

static void answer(RPC2_Handle h, RPC2_PacketBuffer *req)
{
    RPC2_PacketBuffer *rep = NULL;
    BUFFER in = kv_unpack_cursor(req, RP2_SERVER), out;
    long rc;

    if (RPC2_AllocBuffer(KV_MAX_BODY, &rep) != RPC2_SUCCESS) {
        return; /* the client retries, then gets RPC2_DEAD */
    }
    out = kv_pack_cursor(rep, RP2_SERVER);
    switch (req->Header.Opcode) {
    case KV_GET: rc = do_get(&in, &out); break;
    case KV_PUT: rc = do_put(&in); break;
    case KV_DEL: rc = do_del(&in); break;
    case KV_LIST: rc = do_list(&in, &out); break;
    default: rc = RPC2_INVALIDOPCODE; break;
    }
    if (rc != 0) {
        out.buffer = (char *)rep->Body; /* no results with an error */
    }
    n_baddata += rc == RPC2_BADDATA;
    kv_pack_done(rep, &out);
    rep->Header.ReturnCode = (RPC2_Integer)rc;
    RPC2_SendResponse(h, rep);
    RPC2_FreeBuffer(&rep);
    n_calls++;
}

/* ---- Binds -------------------------------------------------------------- */

/* cident is NULL for OPENKIMONO. -k refuses OPENKIMONO and -o refuses the
 * authenticated levels, so a server runs at one kind of level only. */
static long get_keys(RPC2_Integer *auth, RPC2_CountedBS *cident,
                     RPC2_EncryptionKey shared, RPC2_EncryptionKey session)
{
    (void)auth;
    if ((cident == NULL) != (open_only != 0)) {
        return -1;
    }
    if (cident) {
        memcpy(shared, secret, RPC2_KEYSIZE);
    }
    /* rpc2sec derives the real session keys itself; this one is unused. */
    memset(session, 0, RPC2_KEYSIZE);
    return 0;
}

static long auth_fail(RPC2_Integer auth, RPC2_CountedBS *cident,
                      RPC2_Integer enc, RPC2_HostIdent *host,
                      RPC2_PortIdent *port)
{
    (void)auth, (void)cident, (void)enc, (void)host, (void)port;
    n_refused++;
    return 0;
}

static void worker(void *arg)
{
    (void)arg;
    for (;;) {
        RPC2_Handle h;
        RPC2_PacketBuffer *req = NULL;

        if (RPC2_GetRequest(NULL, &h, &req, NULL, get_keys, RPC2_XOR,
                            auth_fail) != RPC2_SUCCESS) {
            break; /* RPC2_Finalize */
        }
        if (req->Header.Opcode == RPC2_NEWCONNECTION) {
            if (RPC2_Enable(h) == RPC2_SUCCESS) {
                n_binds++;
            }
        } else {
            answer(h, req);
        }
        RPC2_FreeBuffer(&req);
    }
    if (--workers_live == 0) {
        LWP_NoYieldSignal(&workers_gone);
    }
}

/* ---- Main --------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: rpc_kv_server [-p port] [-a addr] "
                    "(-k keyfile | -o) [-n lwps] [-q]\n");
    exit(1);
}

static long start_rpc(const char *addr, long port_no)
{
    RPC2_HostIdent host = {.Tag = RPC2_HOSTBYINETADDR};
    RPC2_PortIdent port = {.Tag = RPC2_PORTBYINETNUMBER};
    RPC2_SubsysIdent subsys = {.Tag = RPC2_SUBSYSBYID};
    long rc;

    if (inet_pton(AF_INET, addr, &host.Value.InetAddress) != 1) {
        fprintf(stderr, "rpc_kv_server: bad address %s\n", addr);
        exit(1);
    }
    RPC2_setbindaddr(&host);
    port.Value.InetPortNumber = htons((uint16_t)port_no);
    if ((rc = RPC2_Init(RPC2_VERSION, NULL, &port, -1, NULL)) != RPC2_SUCCESS) {
        return rc;
    }
    subsys.Value.SubsysId = KV_SUBSYS;
    if ((rc = RPC2_Export(&subsys)) != RPC2_SUCCESS) {
        return rc;
    }
    printf("port: %u\n", ntohs(port.Value.InetPortNumber));
    fflush(stdout);
    return RPC2_SUCCESS;
}

int main(int argc, char **argv)
{
    const char *keyfile = NULL, *addr = "127.0.0.1";
    long port_no = 0, lwps = 8;
    int quiet = 0, opt;
    PROCESS pid;
    long rc;

    while ((opt = getopt(argc, argv, "p:a:k:on:q")) != -1) {
        switch (opt) {
        case 'p': port_no = strtol(optarg, NULL, 10); break;
        case 'a': addr = optarg; break;
        case 'k': keyfile = optarg; break;
        case 'o': open_only = 1; break;
        case 'n': lwps = strtol(optarg, NULL, 10); break;
        case 'q': quiet = 1; break;
        default: usage();
        }
    }
    if (optind != argc || (keyfile == NULL) == !open_only || port_no < 0 ||
        port_no > 65535 || lwps < 1 || lwps > 1000) {
        usage();
    }
    if (keyfile && kv_read_key(keyfile, secret) < 0) {
        return 1;
    }
    LWP_Init(LWP_VERSION, LWP_NORMAL_PRIORITY, &pid);
    if ((rc = start_rpc(addr, port_no)) != RPC2_SUCCESS) {
        fprintf(stderr, "rpc_kv_server: %s\n", RPC2_ErrorMsg(rc));
        return 2;
    }
    if (IOMGR_Signal(SIGINT, &stop_event) != LWP_SUCCESS ||
        IOMGR_Signal(SIGTERM, &stop_event) != LWP_SUCCESS) {
        fprintf(stderr, "rpc_kv_server: IOMGR_Signal failed\n");
        return 2;
    }
    for (long i = 0; i < lwps; i++) {
        if (LWP_CreateProcess(worker, 32768, LWP_NORMAL_PRIORITY, NULL,
                              "kv worker", &pid) != LWP_SUCCESS) {
            fprintf(stderr, "rpc_kv_server: cannot start worker %ld\n", i);
            return 2;
        }
        workers_live++;
    }
    LWP_WaitProcess(&stop_event);
    RPC2_Finalize();
    while (workers_live > 0) {
        LWP_WaitProcess(&workers_gone);
    }
    if (!quiet) {
        printf("rpc_kv_server: stopped: %lu binds, %lu calls, %lu binds "
               "refused by get_keys, %lu bad requests, %zu keys\n",
               n_binds, n_calls, n_refused, n_baddata, store_n);
    }
    store_clear();
    memset(secret, 0, sizeof secret);
    IOMGR_CancelSignal(SIGINT);
    IOMGR_CancelSignal(SIGTERM);
    LWP_TerminateProcessSupport();
    return 0;
}
