/* SPDX-License-Identifier: MIT */
/*
 * <rpc2/multi.h> -- MultiRPC types (Coda RPC2 names and values). The calls
 * themselves (RPC2_MultiRPC, MRPC_MakeMulti) come in a later release; the
 * types are here so rp2gen output and Coda headers compile.
 */
/* Outside the guard on purpose, as in <rpc2/se.h>. */
#include <rpc2/rpc2.h>

#ifndef RPC2_MULTI_H
#define RPC2_MULTI_H

#include <rpc2/se.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MAXSERVERS 100

typedef long RPC2_HandleResult_func(int HowMany, RPC2_Handle ConnList[],
                                    long offset, long rpcval, ...);

/* One argument word of a MultiRPC call: a value or a pointer. */
typedef union PARM {
    RPC2_Integer integer;
    RPC2_Integer **integerp;
    RPC2_Unsigned unsgned;
    RPC2_Unsigned **unsgnedp;
    RPC2_Byte byte;
    RPC2_Byte **bytep;
    RPC2_String string;
    RPC2_String **stringp;
    RPC2_CountedBS *cbs;
    RPC2_CountedBS **cbsp;
    RPC2_BoundedBS *bbs;
    RPC2_BoundedBS **bbsp;
    RPC2_EncryptionKey *key;
    RPC2_EncryptionKey **keyp;
    RPC2_Handle *cidp;
    SE_Descriptor *sedp;
    union PARM *structp;
    union PARM **structpp;
} PARM;

typedef struct arg_info {
    ARG *ArgTypes;
    PARM *Args;
    RPC2_HandleResult_func *HandleResult;
    int ArgCount;
} ARG_INFO;

typedef long RPC2_UnpackMulti_func(int HowMany, RPC2_Handle ConnHandleList[],
                                   ARG_INFO *ArgInfo, RPC2_PacketBuffer *Reply,
                                   long errcode, long idx);

#ifdef __cplusplus
}
#endif

#endif /* RPC2_MULTI_H */
