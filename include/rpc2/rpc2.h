/* SPDX-License-Identifier: MIT */
/*
 * <rpc2/rpc2.h> -- the RPC layer's public API, source compatible with Coda
 * RPC2 2.x: same names, numeric values, structure members and calling
 * conventions, so Coda programs and rp2gen output compile unchanged.
 *
 * Model. A process runs one RPC instance over one UDP port (IPv4, plus IPv6
 * on the same port number with RPC2_OPTION_IPV6). A client binds a
 * connection to a server's subsystem (RPC2_NewBinding) and makes calls on it
 * (RPC2_MakeRPC), one outstanding call per connection. A server's LWPs take
 * requests (RPC2_GetRequest) and answer them (RPC2_SendResponse). Every
 * connection is encrypted and integrity-protected by rpc2sec (AES-CCM-8);
 * the security level chooses whether the bind is authenticated by a shared
 * secret. Wire details, limits and Coda differences: docs/rpc.md.
 *
 * Threads. Call everything from the OS thread that ran LWP_Init, after
 * LWP_Init (RPC2_Init starts IOMGR itself). Calls marked "blocks" suspend
 * only the calling LWP; other LWPs run meanwhile.
 *
 * Return codes. 0 is RPC2_SUCCESS; -1..-999 are warnings, -1000..-1999
 * errors that leave the connection usable, below -2000 fatal errors after
 * which a connection is unusable (except RPC2_TIMEOUT, see RPC2_MakeRPC).
 * RPC2_ErrorMsg() names a code. Positive values in a reply's ReturnCode are
 * the server application's result, translated through <rpc2/errors.h>.
 *
 * Left out on purpose: the legacy multicast-group calls (RPC2_CreateMgrp,
 * RPC2_AddToMgrp, RPC2_RemoveFromMgrp, RPC2_DeleteMgrp) and the legacy XOR
 * handshakes (this library speaks rpc2sec only, like Coda with
 * RPC2SEC_ONLY=1). SFTP side effects and MultiRPC come with <rpc2/sftp.h>
 * and <rpc2/multi.h>'s calls in a later release; until then RPC2_MakeRPC
 * with a side-effect descriptor returns RPC2_SEFAIL2.
 */
#ifndef RPC2_RPC2_H
#define RPC2_RPC2_H

#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <lwp/export.h>
#include <rpc2/rpc2_addrinfo.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Passed to RPC2_Init (must match) and sent in every bind request. */
#define RPC2_VERSION "Version 15.0: JH, 10 Dec 1998, 12:00"
/* First word of every RPC2 packet. */
#define RPC2_PROTOVERSION 8

/* Security levels (RPC2_BindParms.SecurityLevel). */
#define RPC2_OPENKIMONO 98  /* not authenticated; still encrypted */
#define RPC2_AUTHONLY 12    /* authenticated by the shared secret */
#define RPC2_HEADERSONLY 73 /* as AUTHONLY with rpc2sec */
#define RPC2_SECURE 66      /* as AUTHONLY with rpc2sec */

/* Encryption types, a bit mask; an authenticated bind names RPC2_XOR. */
#define RPC2_DES 1
#define RPC2_XOR 2
#define RPC2_ENCRYPTIONTYPES (RPC2_DES | RPC2_XOR)
#define RPC2_KEYSIZE 8 /* bytes in an RPC2_EncryptionKey */

/* Return codes: class limits. */
#define RPC2_SUCCESS 0
#define RPC2_WLIMIT -1
#define RPC2_ELIMIT -1000
#define RPC2_FLIMIT -2000

/* Warnings. */
#define RPC2_OLDVERSION (RPC2_WLIMIT - 1)    /* -2 */
#define RPC2_INVALIDOPCODE (RPC2_WLIMIT - 2) /* -3: stubs, unknown opcode */
#define RPC2_BADDATA (RPC2_WLIMIT - 3)       /* -4: stubs, bad marshalling */
#define RPC2_NOGREEDY (RPC2_WLIMIT - 4)      /* -5: never returned */
#define RPC2_ABANDONED (RPC2_WLIMIT - 5)     /* -6: MultiRPC */

/* Errors: the connection stays usable. */
#define RPC2_CONNBUSY (RPC2_ELIMIT - 1)        /* -1001 */
#define RPC2_SEFAIL1 (RPC2_ELIMIT - 2)         /* -1002 */
#define RPC2_TOOLONG (RPC2_ELIMIT - 3)         /* -1003 */
#define RPC2_NOMGROUP (RPC2_ELIMIT - 4)        /* -1004..-1008: multicast */
#define RPC2_MGRPBUSY (RPC2_ELIMIT - 5)
#define RPC2_NOTGROUPMEMBER (RPC2_ELIMIT - 6)
#define RPC2_DUPLICATEMEMBER (RPC2_ELIMIT - 7)
#define RPC2_BADMGROUP (RPC2_ELIMIT - 8)

/* Fatal errors: the connection (if any) is unusable. */
#define RPC2_FAIL (RPC2_FLIMIT - 1)            /* -2001 */
#define RPC2_NOCONNECTION (RPC2_FLIMIT - 2)    /* -2002 */
#define RPC2_TIMEOUT (RPC2_FLIMIT - 3)         /* -2003 */
#define RPC2_NOBINDING (RPC2_FLIMIT - 4)       /* -2004 */
#define RPC2_DUPLICATESERVER (RPC2_FLIMIT - 5) /* -2005 */
#define RPC2_NOTWORKER (RPC2_FLIMIT - 6)       /* -2006 */
#define RPC2_NOTCLIENT (RPC2_FLIMIT - 7)       /* -2007: never returned */
#define RPC2_WRONGVERSION (RPC2_FLIMIT - 8)    /* -2008 */
#define RPC2_NOTAUTHENTICATED (RPC2_FLIMIT - 9) /* -2009 */
#define RPC2_CLOSECONNECTION (RPC2_FLIMIT - 10) /* -2010: never returned */
#define RPC2_BADFILTER (RPC2_FLIMIT - 11)      /* -2011 */
#define RPC2_LWPNOTINIT (RPC2_FLIMIT - 12)     /* -2012: LWP_Init not run */
#define RPC2_BADSERVER (RPC2_FLIMIT - 13)      /* -2013 */
#define RPC2_SEFAIL2 (RPC2_FLIMIT - 14)        /* -2014 */
#define RPC2_DEAD (RPC2_FLIMIT - 15)           /* -2015 */
#define RPC2_NAKED (RPC2_FLIMIT - 16)          /* -2016 */
#define RPC2_SEFAIL3 (RPC2_FLIMIT - 17)        /* -2017 */
#define RPC2_SEFAIL4 (RPC2_FLIMIT - 18)        /* -2018 */

#define MGRPERROR(code)                                                     \
    ((code) == RPC2_NOMGROUP || (code) == RPC2_MGRPBUSY ||                  \
     (code) == RPC2_NOTGROUPMEMBER || (code) == RPC2_DUPLICATEMEMBER ||     \
     (code) == RPC2_BADMGROUP)

/* Reserved opcodes (values <= 0); subsystems number theirs from 1. */
#define RPC2_INIT1OPENKIMONO -2
#define RPC2_INIT1AUTHONLY -3
#define RPC2_INIT1HEADERSONLY -4
#define RPC2_INIT1SECURE -5
#define RPC2_LASTACK -6 /* defined, never sent */
#define RPC2_REPLY -8
#define RPC2_INIT2 -10
#define RPC2_INIT3 -11
#define RPC2_INIT4 -12
#define RPC2_NEWCONNECTION -13 /* opcode of GetRequest's bind notice */
#define RPC2_BUSY -14
#define RPC2_INITMULTICAST -15

/* Largest packet buffer, prefix and header included (bytes). */
#define RPC2_MAXPACKETSIZE 4500

typedef enum {
    RPC2_HOSTBYNAME = 39,
    RPC2_HOSTBYINETADDR = 17,
    RPC2_HOSTBYADDRINFO = 6,
    RPC2_DUMMYHOST = 88888
} HostTag;

typedef enum {
    RPC2_PORTBYINETNUMBER = 53,
    RPC2_PORTBYNAME = 64,
    RPC2_DUMMYPORT = 99999
} PortTag;

typedef enum {
    RPC2_SUBSYSBYID = 71,
    RPC2_SUBSYSBYNAME = 84, /* obsolete: refused with RPC2_FAIL */
    RPC2_DUMMYSUBSYS = 44444
} SubsysTag;

typedef enum {
    RPC2_MGRPBYINETADDR = 111,
    RPC2_MGRPBYADDRINFO = 121,
    RPC2_MGRPBYNAME = 137,
    RPC2_DUMMYMGRP = 77777
} MgrpTag;

/* Debugging knobs Coda programs set by name. RPC2_DebugLevel 0 is quiet;
 * RPC2_Perror 1 prints socket errors; RPC2_Trace is accepted and unused. */
LWP_EXPORT extern long RPC2_DebugLevel;
LWP_EXPORT extern long RPC2_Perror;
LWP_EXPORT extern long RPC2_Trace;

/* Preferred session key length in bytes (19, 27 or 35 for AES-128/192/256
 * CCM; 0 = default 19). The environment variable RPC2SEC_KEYSIZE, read by
 * RPC2_Init, overrides it (bytes, or bits if above 64). */
LWP_EXPORT extern size_t RPC2_Preferred_Keysize;
/* Always behaves as 1: binds without rpc2sec are refused (a legacy INIT1
 * gets no answer, a plaintext INIT2 fails the bind with RPC2_OLDVERSION).
 * Kept for source compatibility; setting it to 0 changes nothing. */
LWP_EXPORT extern int RPC2_secure_only;

/* Types known to the IDL compiler. */
typedef int32_t RPC2_Integer;
typedef uint32_t RPC2_Unsigned;
typedef uint8_t RPC2_Byte;
typedef double RPC2_Double;
typedef RPC2_Byte *RPC2_ByteSeq;
typedef RPC2_ByteSeq RPC2_String; /* NUL-terminated */

typedef struct {
    RPC2_Unsigned SeqLen;
    RPC2_ByteSeq SeqBody;
} RPC2_CountedBS;

typedef struct {
    RPC2_Unsigned MaxSeqLen; /* size of the buffer SeqBody points to */
    RPC2_Unsigned SeqLen;    /* bytes of it in use */
    RPC2_ByteSeq SeqBody;
} RPC2_BoundedBS;

typedef RPC2_Byte RPC2_EncryptionKey[RPC2_KEYSIZE];

/* A connection handle: random, at least 256, never a small integer. */
typedef RPC2_Integer RPC2_Handle;

typedef struct {
    HostTag Tag;
    union {
        struct RPC2_addrinfo *AddrInfo; /* includes the port */
        struct in_addr InetAddress;     /* network order */
        char Name[64];
    } Value;
} RPC2_HostIdent;

typedef struct {
    PortTag Tag;
    union {
        uint16_t InetPortNumber; /* network order */
        char Name[20];           /* UDP service name */
    } Value;
} RPC2_PortIdent;

typedef struct {
    SubsysTag Tag;
    union {
        long SubsysId;
        char Name[20];
    } Value;
} RPC2_SubsysIdent;

typedef struct {
    MgrpTag Tag;
    union {
        struct RPC2_addrinfo *AddrInfo;
        struct in_addr InetAddress;
        char Name[64];
    } Value;
} RPC2_McastIdent;

/* Filled by RPC2_GetPeerInfo. */
typedef struct {
    RPC2_HostIdent RemoteHost; /* BYADDRINFO (caller frees) if IPv6-ready */
    RPC2_PortIdent RemotePort;
    RPC2_SubsysIdent RemoteSubsys;
    RPC2_Handle RemoteHandle;
    RPC2_Integer SecurityLevel;
    RPC2_Integer EncryptionType;
    RPC2_Integer Uniquefier;
    RPC2_EncryptionKey SessionKey;
} RPC2_PeerInfo;

/* Links of the runtime's packet lists (kept for layout compatibility). */
struct rpc2_LinkEntry {
    struct rpc2_LinkEntry *Next;
    struct rpc2_LinkEntry *Prev;
    long MagicNumber;
    struct rpc2_LinkEntry **Queue;
};

struct security_association;

/* A packet: a local prefix, then the 60-byte header and the body that go on
 * the wire. Allocate with RPC2_AllocBuffer, free with RPC2_FreeBuffer. The
 * header is in host order whenever the application sees it. */
typedef struct RPC2_PacketBuffer {
    struct RPC2_PacketBufferPrefix {
        struct rpc2_LinkEntry LE;
        long BufferSize;     /* whole allocation, prefix included */
        long LengthOfPacket; /* header + body bytes sent or received */
        long File[3];        /* allocation site (debugging) */
        long Line;
        struct RPC2_addrinfo *PeerAddr; /* source of a received packet */
        struct security_association *sa;
        char oldhostandport[84]; /* layout padding, unused */
        struct timeval RecvStamp; /* arrival time of a received packet */
    } Prefix;
    struct RPC2_PacketHeader {
        RPC2_Integer ProtoVersion;
        RPC2_Integer RemoteHandle;
        RPC2_Integer LocalHandle;
        RPC2_Integer Flags;
        RPC2_Unsigned BodyLength; /* bytes of Body; set by the sender */
        RPC2_Unsigned SeqNumber;
        RPC2_Integer Opcode;      /* > 0 requests; reserved values above */
        RPC2_Unsigned SEFlags;
        RPC2_Unsigned SEDataOffset;
        RPC2_Unsigned SubsysId;
        RPC2_Integer ReturnCode;  /* replies: the server's result */
        RPC2_Unsigned Lamport;
        RPC2_Integer Uniquefier;
        RPC2_Unsigned TimeStamp;
        RPC2_Integer BindTime;
    } Header;
    RPC2_Byte Body[1]; /* Header.BodyLength bytes */
} RPC2_PacketBuffer;

/* Header Flags bits. */
#define RPC2_RETRY 0x01      /* a retransmission */
#define RPC2_ENCRYPTED 0x02  /* legacy XOR encryption (never set here) */
#define RPC2SEC_CAPABLE 0x10 /* set on INIT1 by rpc2sec clients */

/* Request filters for RPC2_GetRequest. */
enum E1 { ANY = 12, ONECONN = 37, ONESUBSYS = 43 };
enum E2 { OLD = 27, NEW = 38, OLDORNEW = 69 };

typedef struct {
    enum E1 FromWhom;
    enum E2 OldOrNew; /* OLD: requests; NEW: binds; OLDORNEW: both */
    union {
        RPC2_Handle WhichConn; /* FromWhom == ONECONN */
        long SubsysId;         /* FromWhom == ONESUBSYS */
    } ConnOrSubsys;
} RPC2_RequestFilter;

/* Body of the RPC2_NEWCONNECTION request GetRequest returns for a bind, in
 * network order; the client identity's bytes start at ClientIdent_SeqBody
 * (body offset 20). */
typedef struct {
    RPC2_Integer SideEffectType;
    RPC2_Integer SecurityLevel;
    RPC2_Integer EncryptionType;
    RPC2_Integer AuthenticationType;
    RPC2_Unsigned ClientIdent_SeqLen;
    RPC2_Unsigned ClientIdent_SeqBody;
} RPC2_NewConnectionBody;

typedef struct {
    RPC2_Byte Flags;
} RPC2_Options;
#define RPC2_OPTION_IPV6 0x1         /* also an IPv6 socket; BYADDRINFO ids */
#define RPC2_OPTION_VERBOSE_INIT 0x2 /* print the crypto self-test */

typedef struct {
    RPC2_Integer SecurityLevel;       /* RPC2_OPENKIMONO .. RPC2_SECURE */
    RPC2_Integer EncryptionType;      /* RPC2_XOR unless OPENKIMONO */
    RPC2_EncryptionKey *SharedSecret; /* required unless OPENKIMONO */
    RPC2_Integer AuthenticationType;  /* opaque, passed to GetKeys */
    RPC2_CountedBS *ClientIdent;      /* may be NULL; sent in plaintext */
    RPC2_Integer SideEffectType;      /* 0 (none) */
    RPC2_Integer Color;               /* low byte stamped in packets */
} RPC2_BindParms;

/* For rp2gen output and MultiRPC. */
typedef enum {
    RP2_CLIENT = 0,
    RP2_SERVER = 1,
    RP2_MULTI = 2,
    RP2_DUMP = 3,
    RP2_HELPER = 4
} WHO;

typedef enum {
    NO_MODE = 0,
    IN_MODE = 1,
    OUT_MODE = 2,
    IN_OUT_MODE = 3,
    C_END = 4,
    MAX_BOUND = 5
} MODE;

typedef enum {
    RPC2_INTEGER_TAG = 0,
    RPC2_UNSIGNED_TAG = 1,
    RPC2_BYTE_TAG = 2,
    RPC2_STRING_TAG = 3,
    RPC2_COUNTEDBS_TAG = 4,
    RPC2_BOUNDEDBS_TAG = 5,
    RPC2_BULKDESCRIPTOR_TAG = 6,
    RPC2_ENCRYPTIONKEY_TAG = 7,
    RPC2_STRUCT_TAG = 8,
    RPC2_ENUM_TAG = 9,
    RPC2_DOUBLE_TAG = 10
} TYPE_TAG;

typedef struct arg {
    MODE mode;
    TYPE_TAG type;
    int size;           /* for structures, the C size */
    struct arg *field;  /* structure members */
    int bound;          /* byte arrays */
    void (*startlog)(long);
    void (*endlog)(long, RPC2_Integer, RPC2_Handle *, RPC2_Integer *);
} ARG;

/* Legacy multicast descriptor; accepted and ignored. */
typedef struct {
    RPC2_Handle Mgroup;
    RPC2_Integer ExpandHandle;
    RPC2_Integer StraySeen;
    RPC2_Integer StrayLen;
    RPC2_HostIdent *StraySites;
} RPC2_Multicast;

/* Network measurement logs (RPC2_GetNetInfo and friends). */
#define RPC2_MAXLOGLENGTH 32 /* entries kept per peer and type */
#define RPC2_MAXQUANTUM ((unsigned)-1)

typedef enum {
    RPC2_UNSET_NLE = 0,
    RPC2_MEASURED_NLE = 1,
    RPC2_STATIC_NLE = 2
} NetLogTag;

typedef enum { RPC2_MEASUREMENT = 0, SE_MEASUREMENT = 1 } NetLogEntryType;

typedef struct {
    struct timeval TimeStamp;
    NetLogTag Tag;
    union {
        struct Measured_NLE {
            RPC2_Handle Conn;
            RPC2_Unsigned Bytes;
            RPC2_Unsigned ElapsedTime; /* ms */
        } Measured;
        struct Static_NLE {
            RPC2_Unsigned Bandwidth; /* bytes/s */
        } Static;
    } Value;
} RPC2_NetLogEntry;

typedef struct {
    RPC2_Unsigned Quantum;      /* ms of measurements wanted */
    RPC2_Unsigned NumEntries;   /* room in Entries */
    RPC2_Unsigned ValidEntries; /* filled in */
    RPC2_NetLogEntry *Entries;
} RPC2_NetLog;

/* Stub statistics (rp2gen). */
typedef struct {
    RPC2_String name;
    RPC2_Integer countent;
    RPC2_Integer countexit;
    RPC2_Integer tsec;
    RPC2_Integer tusec;
    RPC2_Integer counttime;
} CallCountEntry;

typedef struct {
    RPC2_String name;
    RPC2_Integer countent;
    RPC2_Integer countexit;
    RPC2_Integer tsec;
    RPC2_Integer tusec;
    RPC2_Integer counttime;
    RPC2_Integer counthost;
} MultiCallEntry;

typedef struct {
    RPC2_Integer opengate;
    RPC2_Integer tsec;
    RPC2_Integer tusec;
} MultiStubWork;

#ifdef __cplusplus
}
#endif

#include <rpc2/se.h>
#include <rpc2/multi.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Initialisation --------------------------------------------------- */

/* Starts the RPC instance: checks VersionId against RPC2_VERSION, opens the
 * UDP socket(s) on *Port (NULL or port 0: any free port; *Port is set to the
 * port chosen, RPC2_PORTBYINETNUMBER, network order), starts IOMGR and the
 * listener LWP. RetryCount: retransmissions before a peer is declared dead
 * (< 0: 6; capped at 15). KeepAliveInterval: NULL = 60 s; a dead peer is
 * declared after about half of it. A second call returns RPC2_SUCCESS.
 * Returns RPC2_SUCCESS, RPC2_WRONGVERSION, RPC2_LWPNOTINIT (no LWP_Init),
 * RPC2_DUPLICATESERVER (port in use), RPC2_BADSERVER (other bind error),
 * RPC2_FAIL (bad port/address, resources). */
LWP_EXPORT long RPC2_Init(const char *VersionId, RPC2_Options *Options,
                          RPC2_PortIdent *Port, long RetryCount,
                          struct timeval *KeepAliveInterval);

/* Before RPC2_Init: the local address to bind (NULL: the wildcard). */
LWP_EXPORT void RPC2_setbindaddr(RPC2_HostIdent *host);
/* Deprecated form of RPC2_setbindaddr for IPv4; returns the old address. */
LWP_EXPORT struct in_addr RPC2_setip(struct in_addr *ip);

/* Where diagnostics go (default stderr) and RPC2_DebugLevel. */
LWP_EXPORT void RPC2_SetLog(FILE *file, int level);

/* Stops the instance: closes the sockets, ends the listener, frees every
 * connection and buffer. Not in Coda; lets a program or test start again
 * with RPC2_Init. Returns RPC2_SUCCESS or RPC2_FAIL (not initialised). */
LWP_EXPORT long RPC2_Finalize(void);

/* ---- Subsystems -------------------------------------------------------- */

/* Records a subsystem id (RPC2_SUBSYSBYID) as served here. A bind for a
 * subsystem that is not exported is answered with a NAK (the client sees
 * RPC2_NAKED; Coda kept it waiting). RPC2_SUCCESS, RPC2_DUPLICATESERVER, RPC2_FAIL (bad tag,
 * NULL, not initialised). */
LWP_EXPORT long RPC2_Export(RPC2_SubsysIdent *Subsys);
/* NULL removes every export. RPC2_SUCCESS or RPC2_BADSERVER. Existing
 * connections are unaffected. */
LWP_EXPORT long RPC2_DeExport(RPC2_SubsysIdent *Subsys);

/* ---- Buffers ----------------------------------------------------------- */

/* A buffer with room for MinBodySize body bytes, BodyLength set to it, the
 * header zeroed (the body is not). RPC2_SUCCESS; RPC2_FAIL if MinBodySize
 * is negative or the buffer would exceed RPC2_MAXPACKETSIZE (*BufferPtr is
 * then NULL; Coda returned success without a buffer). */
#define RPC2_AllocBuffer(x, y) \
    (rpc2_AllocBuffer((long)(x), y, __FILE__, (long)__LINE__))
LWP_EXPORT long rpc2_AllocBuffer(long MinBodySize, RPC2_PacketBuffer **BufferPtr,
                                 const char *SrcFile, long SrcLine);
/* Frees *Buffer (NULL allowed) and sets it to NULL. RPC2_SUCCESS, or
 * RPC2_FAIL (and nothing freed) if *Buffer is not an allocated buffer, e.g.
 * freed twice. */
LWP_EXPORT long RPC2_FreeBuffer(RPC2_PacketBuffer **Buffer);

/* ---- Binding ----------------------------------------------------------- */

/* Server callback run for every bind, OPENKIMONO included (cident NULL).
 * Fill SharedSecret (pre-zeroed; leave zero for OPENKIMONO) and sessionkey;
 * return 0 to accept, non-zero to refuse with RPC2_NOTAUTHENTICATED. May
 * not block. */
typedef long RPC2_GetKeys_func(RPC2_Integer *AuthenticationType,
                               RPC2_CountedBS *cident,
                               RPC2_EncryptionKey SharedSecret,
                               RPC2_EncryptionKey sessionkey);
/* Server callback after a refused bind (logging). */
typedef long RPC2_AuthFail_func(RPC2_Integer AuthenticationType,
                                RPC2_CountedBS *cident,
                                RPC2_Integer EncryptionType,
                                RPC2_HostIdent *PeerHost,
                                RPC2_PortIdent *PeerPort);

/* Binds a new connection to Subsys at Host:Port. Blocks for the handshake.
 * Host: BYINETADDR, BYADDRINFO or BYNAME (each address is tried in turn).
 * RPC2_SUCCESS with *ConnHandle set; otherwise *ConnHandle = 0 and
 * RPC2_NOBINDING (no answer in time, name not resolved), RPC2_NAKED
 * (subsystem not exported there), RPC2_NOTAUTHENTICATED (refused, or a
 * wrong key: the server's first answer cannot be opened), RPC2_OLDVERSION (peer
 * without rpc2sec), RPC2_FAIL (bad arguments, not initialised). */
LWP_EXPORT long RPC2_NewBinding(RPC2_HostIdent *Host, RPC2_PortIdent *Port,
                                RPC2_SubsysIdent *Subsys,
                                RPC2_BindParms *Bparms,
                                RPC2_Handle *ConnHandle);

/* Removes a connection locally; nothing is sent. RPC2_SUCCESS,
 * RPC2_NOCONNECTION, RPC2_CONNBUSY (a call or bind in progress). */
LWP_EXPORT long RPC2_Unbind(RPC2_Handle ConnHandle);

/* ---- Server side ------------------------------------------------------- */

/* Takes the next request matching Filter (NULL: any). Blocks until one
 * arrives or Patience (NULL: no limit) passes. A bind is run to completion
 * here (GetKeys decides) and returned as an RPC2_NEWCONNECTION request; the
 * connection must then be enabled with RPC2_Enable. The caller owns and
 * frees *Request. RPC2_SUCCESS, RPC2_TIMEOUT, RPC2_BADFILTER, RPC2_FAIL
 * (NULL arguments, not initialised). EncryptionTypeMask is accepted and
 * ignored (legacy handshakes only). */
LWP_EXPORT long RPC2_GetRequest(RPC2_RequestFilter *Filter,
                                RPC2_Handle *ConnHandle,
                                RPC2_PacketBuffer **Request,
                                struct timeval *Patience,
                                RPC2_GetKeys_func *GetKeys,
                                long EncryptionTypeMask,
                                RPC2_AuthFail_func *AuthFail);

/* Lets a newly bound connection take requests (requests that arrived before
 * are held and delivered after). RPC2_SUCCESS, RPC2_NOCONNECTION, RPC2_FAIL
 * (not awaiting enable). */
LWP_EXPORT long RPC2_Enable(RPC2_Handle ConnHandle);

/* Answers the request being processed on ConnHandle. Only BodyLength and
 * ReturnCode of Reply's header are used; the caller keeps and frees Reply.
 * Does not block. The reply is sealed at once and leaves with the other
 * datagrams of the current round of LWPs (one sendmmsg): at once if it
 * answers the last request handed out or held, else at the IO MANAGER's
 * next pass, when the LWPs have run. RPC2_SUCCESS, RPC2_NOCONNECTION, RPC2_NOTWORKER (no
 * request being processed), RPC2_FAIL (Reply NULL, or a body over
 * 4226 bytes). */
LWP_EXPORT long RPC2_SendResponse(RPC2_Handle ConnHandle,
                                  RPC2_PacketBuffer *Reply);

/* ---- Client side ------------------------------------------------------- */

/* Sends Request and waits for the reply. Blocks. One call at a time per
 * connection: with EnqueueRequest non-zero a second caller waits its turn,
 * else it gets RPC2_CONNBUSY. Patience (NULL: none) bounds the whole call:
 * RPC2_TIMEOUT then leaves the connection usable. Request's header is
 * rewritten; the caller frees Request and *Reply. RPC2_SUCCESS (*Reply
 * set, its ReturnCode the server's result), RPC2_NOCONNECTION, RPC2_FAIL
 * (connection dead, bad arguments, a body over 4226 bytes: the most a Coda
 * peer accepts), RPC2_CONNBUSY,
 * RPC2_TIMEOUT, RPC2_DEAD (no answer within the retry schedule),
 * RPC2_NAKED (the server does not know the connection), RPC2_SEFAIL2
 * (SDesc not NULL: side effects are not supported yet). */
LWP_EXPORT long RPC2_MakeRPC(RPC2_Handle ConnHandle,
                             RPC2_PacketBuffer *Request,
                             SE_Descriptor *SDesc, RPC2_PacketBuffer **Reply,
                             struct timeval *Patience, long EnqueueRequest);

/* ---- Side effects (server; SFTP not available yet) ---------------------- */

/* RPC2_NOCONNECTION; RPC2_FAIL (not processing a request, SDesc NULL, or
 * the connection has no side effect -- always, in this release). */
LWP_EXPORT long RPC2_InitSideEffect(RPC2_Handle ConnHandle,
                                    SE_Descriptor *SDesc);
LWP_EXPORT long RPC2_CheckSideEffect(RPC2_Handle ConnHandle,
                                     SE_Descriptor *SDesc, long Flags);

/* ---- Per-connection data ---------------------------------------------- */

/* RPC2_SUCCESS or RPC2_NOCONNECTION (also for a NULL out-pointer:
 * RPC2_FAIL). A non-NULL private pointer protects a server connection from
 * the reaper. */
LWP_EXPORT long RPC2_GetPrivatePointer(RPC2_Handle WhichConn, char **PrivatePtr);
LWP_EXPORT long RPC2_SetPrivatePointer(RPC2_Handle WhichConn, char *PrivatePtr);
struct SFTP_Entry;
LWP_EXPORT long RPC2_GetSEPointer(RPC2_Handle WhichConn, struct SFTP_Entry **SEPtr);
LWP_EXPORT long RPC2_SetSEPointer(RPC2_Handle WhichConn, struct SFTP_Entry *SEPtr);

/* Peer address, handles, level and keys of a connection. RPC2_SUCCESS,
 * RPC2_NOCONNECTION, RPC2_FAIL (NULL). With RPC2_OPTION_IPV6 RemoteHost is
 * BYADDRINFO and the caller must RPC2_freeaddrinfo it. */
LWP_EXPORT long RPC2_GetPeerInfo(RPC2_Handle WhichConn, RPC2_PeerInfo *PeerInfo);

/* ---- Colour, time, liveness and network estimates --------------------- */

LWP_EXPORT long RPC2_SetColor(RPC2_Handle ConnHandle, RPC2_Integer Color);
LWP_EXPORT long RPC2_GetColor(RPC2_Handle ConnHandle, RPC2_Integer *Color);
/* Increments and returns the process's Lamport clock. */
LWP_EXPORT long RPC2_LamportTime(void);
/* When the peer (address and port) was last heard from; SETime is zero (no
 * side effects). RPC2_SUCCESS, RPC2_NOCONNECTION, RPC2_FAIL (NULL). */
LWP_EXPORT long RPC2_GetPeerLiveness(RPC2_Handle ConnHandle,
                                     struct timeval *Time,
                                     struct timeval *SETime);
/* Smoothed round-trip time and its variation, microseconds. */
LWP_EXPORT int RPC2_GetRTT(RPC2_Handle handle, unsigned long *RTT,
                           unsigned long *RTTvar);
/* Outgoing bandwidth estimates, bytes per second. */
LWP_EXPORT int RPC2_GetBandwidth(RPC2_Handle handle, unsigned long *BWlow,
                                 unsigned long *BWavg, unsigned long *BWhigh);
LWP_EXPORT int RPC2_GetLastObs(RPC2_Handle handle, struct timeval *tv);
/* Sets the bind-phase time limit of a connection (only consulted while it
 * binds). RPC2_SUCCESS or RPC2_NOCONNECTION. */
LWP_EXPORT int RPC2_SetTimeout(RPC2_Handle whichConn, struct timeval timeout);
/* Measurement logs of the connection's peer, newest first. */
LWP_EXPORT long RPC2_GetNetInfo(RPC2_Handle ConnHandle, RPC2_NetLog *RPCLog,
                                RPC2_NetLog *SELog);
LWP_EXPORT long RPC2_PutNetInfo(RPC2_Handle ConnHandle, RPC2_NetLog *RPCLog,
                                RPC2_NetLog *SELog);
LWP_EXPORT long RPC2_ClearNetInfo(RPC2_Handle ConnHandle);

/* ---- Debugging --------------------------------------------------------- */

/* "<NAME> (W|E|F)" for an RPC2 code; the text for an unknown code is kept
 * per call site's thread (never another call's buffer). */
LWP_EXPORT char *RPC2_ErrorMsg(long rc);
/* Prints the instance's connections and counters (never keys). */
LWP_EXPORT long RPC2_DumpState(FILE *OutFile, long Verbosity);
/* Accepted for compatibility; there is no trace buffer. RPC2_SUCCESS. */
LWP_EXPORT long RPC2_DumpTrace(FILE *OutFile, long HowMany);
LWP_EXPORT long RPC2_InitTraceBuffer(long HowMany);

/* Processes every datagram already queued on the sockets and every expired
 * timer, then LWP_DispatchProcess(). For programs whose LWPs run above the
 * listener's priority. */
LWP_EXPORT void RPC2_DispatchProcess(void);

/* Accepted for compatibility (Coda ignores the value too). */
LWP_EXPORT long RPC2_SetBindLimit(int bindLimit);

/* Exported internals Coda's auth server uses: the legacy XOR "cipher" over
 * HowManyBytes bytes (EncryptionType must be RPC2_XOR), and 32 random bits
 * from the CSPRNG. */
LWP_EXPORT void rpc2_Encrypt(char *FromBuffer, char *ToBuffer,
                             size_t HowManyBytes, RPC2_EncryptionKey WhichKey,
                             RPC2_Integer EncryptionType);
LWP_EXPORT void rpc2_Decrypt(char *FromBuffer, char *ToBuffer,
                             size_t HowManyBytes, RPC2_EncryptionKey WhichKey,
                             RPC2_Integer EncryptionType);
LWP_EXPORT void rpc2_InitRandom(void);
LWP_EXPORT unsigned int rpc2_NextRandom(char *StatePtr);

/* errno translation of reply codes, see <rpc2/errors.h>. */
LWP_EXPORT int RPC2_R2SError(int error);
LWP_EXPORT int RPC2_S2RError(int error);

/* ---- Statistics (read-only for applications) -------------------------- */

struct SStats {
    unsigned long Total, Retries, Cancelled, Multicasts, Busies, Naks, Bytes;
};
struct RStats {
    unsigned long Total, Giant, Replies, Requests, GoodReplies, GoodRequests,
        Multicasts, GoodMulticasts, Busies, GoodBusies, Bogus, Naks, Bytes;
};
LWP_EXPORT extern struct SStats rpc2_Sent;
LWP_EXPORT extern struct RStats rpc2_Recvd;
LWP_EXPORT extern struct SStats rpc2_MSent;
LWP_EXPORT extern struct RStats rpc2_MRecvd;

LWP_EXPORT extern FILE *rpc2_logfile;
LWP_EXPORT extern FILE *rpc2_tracefile;
/* Non-zero: once a minute, unbind server connections idle for 15 minutes
 * whose private pointer is NULL. */
LWP_EXPORT extern int RPC2_enableReaping;
LWP_EXPORT extern long rpc2_Bandwidth;
LWP_EXPORT extern RPC2_PortIdent rpc2_LocalPort;

/* Allocation counters (read-only). */
LWP_EXPORT extern long rpc2_PBSmallCreationCount, rpc2_PBSmallFreeCount;
LWP_EXPORT extern long rpc2_PBMediumCreationCount, rpc2_PBMediumFreeCount;
LWP_EXPORT extern long rpc2_PBLargeCreationCount, rpc2_PBLargeFreeCount;
LWP_EXPORT extern long rpc2_ConnCreationCount, rpc2_ConnCount, rpc2_ConnFreeCount;
LWP_EXPORT extern long rpc2_Unbinds, rpc2_FreeConns, rpc2_AllocConns;
LWP_EXPORT extern long rpc2_PBCount, rpc2_PBHoldCount, rpc2_HoldHWMark;

#ifdef __cplusplus
}
#endif

#endif /* RPC2_RPC2_H */
