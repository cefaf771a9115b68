/* SPDX-License-Identifier: MIT */
/*
 * <rpc2/se.h> -- side-effect descriptors (Coda RPC2 names and values).
 *
 * A side effect is extra work tied to one RPC, such as SFTP's bulk file
 * transfer. This release defines the types so Coda code and rp2gen output
 * compile; no side effect is available yet: RPC2_MakeRPC with a descriptor
 * returns RPC2_SEFAIL2 and a bind naming a side-effect type other than 0
 * fails with RPC2_FAIL. SE_DefSpecs is empty (SE_DefCount 0).
 */
/* Outside the guard on purpose: <rpc2/rpc2.h> includes this file in its
 * middle, once the types used here exist. */
#include <rpc2/rpc2.h>

#ifndef RPC2_SE_H
#define RPC2_SE_H

#ifdef __cplusplus
extern "C" {
#endif

/* Hooks of one side-effect type; any may be NULL. Called by the runtime
 * with the arguments documented in docs/rpc.md (Coda's conventions). */
struct SE_SideEffectDescriptor;

struct SE_Definition {
    long SideEffectType;
    long (*SE_Init)(void);
    long (*SE_Bind1)(RPC2_Handle, RPC2_CountedBS *);
    long (*SE_Bind2)(RPC2_Handle, RPC2_Unsigned);
    long (*SE_Unbind)(RPC2_Handle);
    long (*SE_NewConnection)(RPC2_Handle, RPC2_CountedBS *);
    long (*SE_MakeRPC1)(RPC2_Handle, struct SE_SideEffectDescriptor *,
                        RPC2_PacketBuffer **);
    long (*SE_MakeRPC2)(RPC2_Handle, struct SE_SideEffectDescriptor *,
                        RPC2_PacketBuffer *);
    long (*SE_MultiRPC1)(void);
    long (*SE_MultiRPC2)(void);
    long (*SE_CreateMgrp)(void);   /* multicast: never called */
    long (*SE_AddToMgrp)(void);
    long (*SE_InitMulticast)(void);
    long (*SE_DeleteMgrp)(void);
    long (*SE_GetRequest)(RPC2_Handle, RPC2_PacketBuffer *);
    long (*SE_InitSideEffect)(RPC2_Handle, struct SE_SideEffectDescriptor *);
    long (*SE_CheckSideEffect)(RPC2_Handle, struct SE_SideEffectDescriptor *,
                               long);
    long (*SE_SendResponse)(RPC2_Handle, RPC2_PacketBuffer **);
    long (*SE_PrintSEDescriptor)(struct SE_SideEffectDescriptor *);
    long (*SE_SetDefaults)(void *);
    long (*SE_GetSideEffectTime)(RPC2_Handle, struct timeval *);
    long (*SE_GetHostInfo)(RPC2_Handle, void *);
};

#define OMITSE 9999   /* MultiRPC: no side effect on this connection */
#define SMARTFTP 1189 /* SFTP */

enum WhichWay { CLIENTTOSERVER = 93, SERVERTOCLIENT = 87 };

enum FileInfoTag {
    FILEBYNAME = 33,
    FILEBYINODE = 58,
    FILEBYFD = 67,
    FILEINVM = 74
};

struct SFTP_Descriptor {
    enum WhichWay TransmissionDirection;
    char hashmark;         /* non-zero: print progress marks */
    long SeekOffset;       /* where the transfer starts in the file */
    long BytesTransferred; /* out */
    long ByteQuota;        /* -1: no limit */
    long QuotaExceeded;    /* out */
    enum FileInfoTag Tag;
    union {
        struct FileInfoByName {
            long ProtectionBits;
            char LocalFileName[256];
        } ByName;
        struct FileInfoByInode {
            long Device;
            long Inode;
        } ByInode;
        struct FileInfoByFD {
            long fd;
        } ByFD;
        struct FileInfoByAddr {
            RPC2_BoundedBS vmfile;
            long vmfilep;
        } ByAddr;
    } FileInfo;
};

enum SE_Status {
    SE_NOTSTARTED = 33,
    SE_INPROGRESS = 24,
    SE_SUCCESS = 57,
    SE_FAILURE = 36
};

typedef struct SE_SideEffectDescriptor {
    enum SE_Status LocalStatus;
    enum SE_Status RemoteStatus;
    long Tag; /* SMARTFTP or OMITSE */
    union {
        struct SFTP_Descriptor SmartFTPD;
    } Value;
    void (*XferCB)(void *userp, unsigned int offset);
    void *userp;
} SE_Descriptor;

typedef struct SFTPI {
    long PacketSize;
    long WindowSize;
    long RetryCount;
    long RetryInterval; /* ms */
    long SendAhead;
    long AckPoint;
    long EnforceQuota;
    long DoPiggy;
    long DupThreshold;
    long MaxPackets;
    RPC2_PortIdent Port;
} SFTP_Initializer;

/* Flags of RPC2_CheckSideEffect. */
#define SE_AWAITLOCALSTATUS 1
#define SE_AWAITREMOTESTATUS 2

LWP_EXPORT extern struct SE_Definition *SE_DefSpecs;
LWP_EXPORT extern long SE_DefCount;
LWP_EXPORT void SE_SetDefaults(void);
/* Text for an SE_Status value ("SE_SUCCESS", ...). */
LWP_EXPORT char *SE_ErrorMsg(long rc);

#ifdef __cplusplus
}
#endif

#endif /* RPC2_SE_H */
