/* SPDX-License-Identifier: MIT */
/*
 * rpc_kv_client -- client of rpc_kv_server (protocol in rpc_kv.h).
 *
 *   rpc_kv_client [-h host] -p port (-k keyfile | -o) COMMAND
 *     get KEY        prints the value and a newline
 *     put KEY VALUE  prints "ok"
 *     del KEY        prints "ok"
 *     list           prints every key, one a line, in byte order
 *     raw OP HEX     sends the bytes HEX as a request body with opcode OP
 *                    (for testing the server's checks); prints the reply
 *                    body in hex
 *   rpc_kv_client [-h host] -p port (-k keyfile | -o) -L [-c conns]
 *                 [-d seconds] [-s bytes]
 *     load: conns connections (default 10), each an LWP doing put/get of
 *     an s-byte value (default 64) in a closed loop for d seconds
 *     (default 5); a progress line a second on stderr, then on stdout
 *     "calls: N calls", "rate: N calls/s", "p50: N us", "p99: N us".
 *
 * -k binds at RPC2_SECURE with the secret in keyfile; -o at OPENKIMONO.
 * Exit status: 0 success, 1 usage, 2 RPC failure (bind or call; the
 * RPC2_ErrorMsg text is printed), 3 the server refused the request
 * (no such key, store full, key or value too long).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lwp/fasttime.h>
#include <lwp/iomgr.h>
#include <lwp/lwp.h>

#include "rpc_kv.h"

#define HIST_US 100000 /* latency histogram: 1 us buckets up to 100 ms */

static const char *host_name = "127.0.0.1";
static long port_no = -1;
static RPC2_EncryptionKey secret;
static int open_kimono;

static long load_conns = 10, load_secs = 5, load_size = 64;
static volatile int load_stop;
static int load_live;
static char load_gone;
static long load_failure; /* first RPC failure of any load LWP */
static unsigned long long load_calls;
static unsigned long *hist; /* HIST_US + 1 buckets, last = overflow */

/* ---- Binding and calls ------------------------------------------------- */

static long kv_bind(RPC2_Handle *h)
{
    RPC2_HostIdent host = {.Tag = RPC2_HOSTBYNAME};
    RPC2_PortIdent port = {.Tag = RPC2_PORTBYINETNUMBER};
    RPC2_SubsysIdent subsys = {.Tag = RPC2_SUBSYSBYID};
    RPC2_CountedBS ident = {9, (RPC2_ByteSeq) "kv-client"};
    RPC2_EncryptionKey key;
    RPC2_BindParms bp = {.SecurityLevel = RPC2_SECURE,
                         .EncryptionType = RPC2_XOR,
                         .SharedSecret = &key,
                         .ClientIdent = &ident};

    if (open_kimono) {
        bp.SecurityLevel = RPC2_OPENKIMONO;
        bp.SharedSecret = NULL;
        bp.ClientIdent = NULL;
    }
    memcpy(key, secret, RPC2_KEYSIZE);
    snprintf(host.Value.Name, sizeof host.Value.Name, "%s", host_name);
    port.Value.InetPortNumber = htons((uint16_t)port_no);
    subsys.Value.SubsysId = KV_SUBSYS;
    long rc = RPC2_NewBinding(&host, &port, &subsys, &bp, h);
    memset(key, 0, sizeof key);
    return rc;
}

/* Makes one call. Returns the RPC result (< 0 failure); on RPC2_SUCCESS
 * *app is the server's ReturnCode (local errno or an RPC2 code) and *reply
 * the reply, which the caller frees. */
static long kv_call(RPC2_Handle h, RPC2_PacketBuffer *req, long *app,
                    RPC2_PacketBuffer **reply)
{
    long rc = RPC2_MakeRPC(h, req, NULL, reply, NULL, 0);

    if (rc == RPC2_SUCCESS) {
        int r = (*reply)->Header.ReturnCode;
        *app = r > 0 ? RPC2_R2SError(r) : r;
    }
    return rc;
}

/* A request with the given opcode; key and value may be NULL. */
static RPC2_PacketBuffer *kv_request(int op, const char *key,
                                     const void *value, size_t len)
{
    RPC2_PacketBuffer *req = NULL;
    BUFFER b;

    if (RPC2_AllocBuffer(KV_MAX_BODY, &req) != RPC2_SUCCESS) {
        return NULL;
    }
    b = kv_pack_cursor(req, RP2_CLIENT);
    RPC2_CountedBS v = {(RPC2_Unsigned)len, (RPC2_ByteSeq)value};
    if ((key && pack_string(&b, (RPC2_String)key) < 0) ||
        (value && pack_countedbs(&b, &v) < 0)) {
        RPC2_FreeBuffer(&req);
        return NULL;
    }
    kv_pack_done(req, &b);
    req->Header.Opcode = op;
    return req;
}

/* ---- One-shot commands ------------------------------------------------- */

static int fail_rpc(const char *what, long rc)
{
    fprintf(stderr, "rpc_kv_client: %s: %s\n", what, RPC2_ErrorMsg(rc));
    return 2;
}

static int fail_app(const char *what, long app)
{
    if (app < 0) {
        fprintf(stderr, "rpc_kv_client: %s: %s\n", what, RPC2_ErrorMsg(app));
    } else if (app == ENOENT) {
        fprintf(stderr, "rpc_kv_client: %s: no such key\n", what);
    } else {
        fprintf(stderr, "rpc_kv_client: %s: %s\n", what, strerror((int)app));
    }
    return 3;
}

/* Prints the reply of get (the value) or list (keys, one a line); sets
 * *last to the last key listed and *more for list. */
static int print_reply(int op, RPC2_PacketBuffer *rep, char *last, int *more)
{
    BUFFER b = kv_unpack_cursor(rep, RP2_CLIENT);
    RPC2_CountedBS v;
    RPC2_Integer n = 1, m = 0;

    if (op == KV_LIST && (unpack_integer(&b, &n) < 0 ||
                          unpack_integer(&b, &m) < 0 || n < 0)) {
        return -1;
    }
    for (RPC2_Integer i = 0; i < n; i++) {
        if (unpack_countedbs(&b, &v) < 0 ||
            (op == KV_LIST && (v.SeqLen < 1 || v.SeqLen > KV_MAX_KEY))) {
            return -1;
        }
        fwrite(v.SeqBody, 1, v.SeqLen, stdout);
        putchar('\n');
        if (op == KV_LIST) {
            memcpy(last, v.SeqBody, v.SeqLen);
            last[v.SeqLen] = '\0';
        }
    }
    *more = n > 0 && m != 0;
    return 0;
}

/* "raw OPCODE HEX": sends HEX as the body of a request with OPCODE, as a
 * broken or hostile client would; prints the reply body in hex. */
static int run_raw(RPC2_Handle h, const char *opcode, const char *hex)
{
    size_t n = strlen(hex) / 2;
    RPC2_PacketBuffer *req = NULL, *rep = NULL;
    long app = 0, rc;

    if (strlen(hex) % 2 || n > KV_MAX_BODY ||
        RPC2_AllocBuffer(n, &req) != RPC2_SUCCESS) {
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        int hi = kv_hexval(hex[2 * i]), lo = kv_hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            RPC2_FreeBuffer(&req);
            return 1;
        }
        req->Body[i] = (RPC2_Byte)(hi << 4 | lo);
    }
    req->Header.Opcode = (RPC2_Integer)strtol(opcode, NULL, 0);
    rc = kv_call(h, req, &app, &rep);
    RPC2_FreeBuffer(&req);
    if (rc != RPC2_SUCCESS) {
        return fail_rpc("raw", rc);
    }
    for (long i = 0; app == 0 && i < rep->Header.BodyLength; i++) {
        printf("%02x", rep->Body[i]);
    }
    if (app == 0) {
        putchar('\n');
    }
    RPC2_FreeBuffer(&rep);
    return app == 0 ? 0 : fail_app("raw", app);
}

static int run_command(RPC2_Handle h, int argc, char **argv)
{
    const char *cmd = argv[0];
    char last[KV_MAX_KEY + 1] = "";
    int op, more = 0;

    if (!strcmp(cmd, "raw") && argc == 3) {
        return run_raw(h, argv[1], argv[2]);
    }
    if (!strcmp(cmd, "get") && argc == 2) {
        op = KV_GET;
    } else if (!strcmp(cmd, "put") && argc == 3) {
        op = KV_PUT;
    } else if (!strcmp(cmd, "del") && argc == 2) {
        op = KV_DEL;
    } else if (!strcmp(cmd, "list") && argc == 1) {
        op = KV_LIST;
    } else {
        return 1;
    }
    do {
        const char *key = op == KV_LIST ? last : argv[1];
        RPC2_PacketBuffer *req = kv_request(
            op, key, op == KV_PUT ? argv[2] : NULL,
            op == KV_PUT ? strlen(argv[2]) : 0);
        RPC2_PacketBuffer *rep = NULL;
        long app = 0, rc;

        if (!req) {
            fprintf(stderr, "rpc_kv_client: %s: arguments too long\n", cmd);
            return 1;
        }
        rc = kv_call(h, req, &app, &rep);
        RPC2_FreeBuffer(&req);
        if (rc != RPC2_SUCCESS) {
            return fail_rpc(cmd, rc);
        }
        if (app != 0) {
            RPC2_FreeBuffer(&rep);
            return fail_app(cmd, app);
        }
        if (op == KV_PUT || op == KV_DEL) {
            puts("ok");
        } else if (print_reply(op, rep, last, &more) < 0) {
            RPC2_FreeBuffer(&rep);
            return fail_app(cmd, RPC2_BADDATA);
        }
        RPC2_FreeBuffer(&rep);
    } while (more);
    return 0;
}

/* ---- Load mode ---------------------------------------------------------- */

static void record(unsigned long long us)
{
    hist[us < HIST_US ? us : HIST_US]++;
    load_calls++;
}

/* One call of the load loop; returns the RPC failure or 0. */
static long load_call(RPC2_Handle h, RPC2_PacketBuffer *req)
{
    RPC2_PacketBuffer *rep = NULL;
    unsigned long long t0 = FT_MonotonicMicros();
    long app = 0, rc = kv_call(h, req, &app, &rep);

    if (rc == RPC2_SUCCESS) {
        record(FT_MonotonicMicros() - t0);
        rc = app == 0 ? 0 : RPC2_FAIL;
        if (app != 0) {
            fail_app("load", app);
        }
    }
    RPC2_FreeBuffer(&rep);
    return rc;
}

/* arg: the connection's handle, bound by run_load. */
static void load_lwp(void *arg)
{
    RPC2_Handle h = (RPC2_Handle)(intptr_t)arg;
    char key[32], value[KV_MAX_VALUE];
    RPC2_PacketBuffer *put, *get;
    long rc;

    snprintf(key, sizeof key, "load-%ld", (long)h);
    memset(value, 'a' + (int)((unsigned long)h % 26), sizeof value);
    put = kv_request(KV_PUT, key, value, (size_t)load_size);
    get = kv_request(KV_GET, key, NULL, 0);
    rc = put && get ? 0 : RPC2_FAIL;
    while (rc == 0 && !load_stop) {
        rc = load_call(h, put);
        if (rc == 0 && !load_stop) {
            rc = load_call(h, get);
        }
    }
    RPC2_FreeBuffer(&put);
    RPC2_FreeBuffer(&get);
    RPC2_Unbind(h);
    if (rc != 0 && load_failure == 0) {
        load_failure = rc;
        load_stop = 1;
    }
    if (--load_live == 0) {
        LWP_NoYieldSignal(&load_gone);
    }
}

static unsigned long percentile(double p)
{
    unsigned long long want = (unsigned long long)(p * (double)load_calls);
    unsigned long long seen = 0;

    for (unsigned long us = 0; us <= HIST_US; us++) {
        seen += hist[us];
        if (seen > want) {
            return us;
        }
    }
    return HIST_US;
}

/* Binds every connection first, one after the other: a server accepts a
 * bind only while one of its LWPs waits in RPC2_GetRequest, so binds sent
 * in a burst, or into a server busy with calls, would mostly be dropped
 * and wait for their retransmissions. */
static long bind_all(RPC2_Handle *hs)
{
    unsigned long long t0 = FT_MonotonicMicros();

    for (long i = 0; i < load_conns; i++) {
        long rc = kv_bind(&hs[i]);
        if (rc != RPC2_SUCCESS) {
            while (i-- > 0) {
                RPC2_Unbind(hs[i]);
            }
            return rc;
        }
    }
    printf("bind: %.1f us\n",
           (double)(FT_MonotonicMicros() - t0) / (double)load_conns);
    return RPC2_SUCCESS;
}

static int run_load(void)
{
    unsigned long long t0, elapsed;
    RPC2_Handle *hs = calloc((size_t)load_conns, sizeof *hs);
    PROCESS pid;
    long rc;

    hist = calloc(HIST_US + 1, sizeof *hist);
    if (!hist || !hs || (rc = bind_all(hs)) != RPC2_SUCCESS) {
        free(hist);
        free(hs);
        return fail_rpc("bind", hs && hist ? rc : RPC2_FAIL);
    }
    t0 = FT_MonotonicMicros();
    for (long i = 0; i < load_conns; i++) {
        if (LWP_CreateProcess(load_lwp, 65536, LWP_NORMAL_PRIORITY,
                              (void *)(intptr_t)hs[i], "kv load",
                              &pid) != LWP_SUCCESS) {
            load_stop = 1;
            while (i < load_conns) {
                RPC2_Unbind(hs[i++]);
            }
            break;
        }
        load_live++;
    }
    free(hs);
    for (long s = 1; s <= load_secs && !load_stop; s++) {
        struct timeval tv = {1, 0};
        IOMGR_Select(0, NULL, NULL, NULL, &tv);
        elapsed = FT_MonotonicMicros() - t0;
        fprintf(stderr, "progress: %lds %llu calls %.0f calls/s\n", s,
                load_calls, (double)load_calls * 1e6 / (double)elapsed);
    }
    load_stop = 1;
    while (load_live > 0) {
        LWP_WaitProcess(&load_gone);
    }
    elapsed = FT_MonotonicMicros() - t0;
    if (load_failure) {
        free(hist);
        return fail_rpc("load", load_failure);
    }
    printf("calls: %llu calls\n", load_calls);
    printf("rate: %.0f calls/s\n", (double)load_calls * 1e6 / (double)elapsed);
    printf("p50: %lu us\n", percentile(0.50));
    printf("p99: %lu us\n", percentile(0.99));
    free(hist);
    return 0;
}

/* ---- Main --------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: rpc_kv_client [-h host] -p port (-k keyfile | -o) "
            "get KEY | put KEY VALUE | del KEY | list | raw OP HEX\n"
            "       rpc_kv_client [-h host] -p port (-k keyfile | -o) -L "
            "[-c conns] [-d seconds] [-s bytes]\n");
    exit(1);
}

int main(int argc, char **argv)
{
    const char *keyfile = NULL;
    int load = 0, opt, status;
    RPC2_PortIdent port = {.Tag = RPC2_PORTBYINETNUMBER};
    RPC2_Handle h = 0;
    PROCESS pid;
    long rc;

    while ((opt = getopt(argc, argv, "h:p:k:oLc:d:s:")) != -1) {
        switch (opt) {
        case 'h': host_name = optarg; break;
        case 'p': port_no = strtol(optarg, NULL, 10); break;
        case 'k': keyfile = optarg; break;
        case 'o': open_kimono = 1; break;
        case 'L': load = 1; break;
        case 'c': load_conns = strtol(optarg, NULL, 10); break;
        case 'd': load_secs = strtol(optarg, NULL, 10); break;
        case 's': load_size = strtol(optarg, NULL, 10); break;
        default: usage();
        }
    }
    if (port_no < 1 || port_no > 65535 || (keyfile == NULL) == !open_kimono ||
        load_conns < 1 || load_conns > 10000 || load_secs < 1 ||
        load_size < 0 || load_size > KV_MAX_VALUE ||
        (load ? optind != argc : optind == argc)) {
        usage();
    }
    if (keyfile && kv_read_key(keyfile, secret) < 0) {
        return 1;
    }
    LWP_Init(LWP_VERSION, LWP_NORMAL_PRIORITY, &pid);
    if ((rc = RPC2_Init(RPC2_VERSION, NULL, &port, -1, NULL)) !=
        RPC2_SUCCESS) {
        return fail_rpc("RPC2_Init", rc);
    }
    if (load) {
        status = run_load();
    } else if ((rc = kv_bind(&h)) != RPC2_SUCCESS) {
        status = fail_rpc("bind", rc);
    } else {
        status = run_command(h, argc - optind, argv + optind);
        RPC2_Unbind(h);
        if (status == 1) {
            usage();
        }
    }
    memset(secret, 0, sizeof secret);
    RPC2_Finalize();
    LWP_TerminateProcessSupport();
    return status;
}
