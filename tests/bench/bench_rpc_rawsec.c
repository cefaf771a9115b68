/* SPDX-License-Identifier: MIT */
/*
 * bench_rpc's rawsec peer: the floor of a server that speaks rpc2sec. The
 * raw epoll server (rawev) plus what rpc2sec requires of every datagram,
 * through the RPC layer's own rpc2sec code: open the request's frame
 * (anti-replay check, AES-128-CCM-8 tag check and decryption) and seal
 * the reply (encryption and tag). The client seals its calls and opens the
 * replies the same way. The plaintext is as long as our RPC's (a 60-byte
 * header and the 64-byte message), so the frames on the wire are too.
 * The server has one security association per direction; the client one
 * for sending (its calls reach the server's socket in the order sent) and
 * one per connection for receiving (each connection's replies arrive in
 * order, while the replies of different connections, read from different
 * sockets, are not read in the order the server sealed them, which one
 * shared anti-replay window would drop).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_rpc.h"
#include "rpc_sec.h"

static const uint8_t to_server_key[19] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3,
                                          5, 8, 9, 7, 9, 3, 2, 3, 8};
static const uint8_t to_client_key[19] = {2, 7, 1, 8, 2, 8, 1, 8, 2, 8,
                                          4, 5, 9, 0, 4, 5, 2, 3, 5};
static struct sec_sa sa_out, sa_in;

/* The SAs of one side: server = 1 (receives with the to-server key). */
int rawsec_keys(int server)
{
    sec_clear(&sa_out);
    sec_clear(&sa_in);
    sa_out.peer_spi = 0x4711;
    if (sec_init(0) != 0 ||
        sec_set_send(&sa_out, SEC_VERSION, SEC_AUTH_NONE, SEC_ENCR_AES_CCM_8,
                     server ? to_client_key : to_server_key, 19) != 0 ||
        sec_set_recv(&sa_in, SEC_VERSION, SEC_AUTH_NONE, SEC_ENCR_AES_CCM_8,
                     server ? to_server_key : to_client_key, 19) != 0)
        return -1;
    return 0;
}

ssize_t rawsec_seal(const void *pt, size_t len, uint8_t *out, size_t cap)
{
    return sec_seal(&sa_out, pt, len, out, cap);
}

ssize_t rawsec_open(const uint8_t *frame, size_t len, uint8_t *out,
                    size_t cap)
{
    return sec_open(&sa_in, frame, len, out, cap);
}

struct sec_sa *rawsec_conn_sa(void)
{
    struct sec_sa *sa = calloc(1, sizeof(*sa));

    if (sa && sec_set_recv(sa, SEC_VERSION, SEC_AUTH_NONE, SEC_ENCR_AES_CCM_8,
                           to_client_key, 19) != 0) {
        free(sa);
        sa = NULL;
    }
    return sa;
}

ssize_t rawsec_conn_open(struct sec_sa *sa, const uint8_t *frame, size_t len,
                         uint8_t *out, size_t cap)
{
    return sec_open(sa, frame, len, out, cap);
}

void rawsec_conn_free(struct sec_sa *sa)
{
    if (sa) {
        sec_clear(sa);
        free(sa);
    }
}

int rawsec_serve(int reply_fd)
{
    uint8_t frame[SEC_MAX_FRAME], pt[SEC_MAX_FRAME];
    struct epoll_event ev = {.events = EPOLLIN};
    int fd, ep = -1, port = rpc_udp_socket(&fd);

    if (port > 0 && rawsec_keys(1) == 0)
        ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        close(ep);
        ep = -1;
    }
    rpc_report_port(reply_fd, ep >= 0 ? port : 0,
                    ep >= 0 ? NULL : "socket, epoll or rpc2sec set-up");
    if (ep < 0)
        return 1;
    for (;;) {
        struct sockaddr_in from;
        socklen_t flen = sizeof(from);
        ssize_t n, p;

        if (epoll_wait(ep, &ev, 1, -1) != 1)
            continue;
        n = recvfrom(fd, frame, sizeof(frame), MSG_DONTWAIT,
                     (struct sockaddr *)&from, &flen);
        if (n < 0 || (p = rawsec_open(frame, (size_t)n, pt, sizeof(pt))) < 0)
            continue;
        n = rawsec_seal(pt, (size_t)p, frame, sizeof(frame));
        if (n > 0)
            sendto(fd, frame, (size_t)n, 0, (struct sockaddr *)&from, flen);
    }
}
