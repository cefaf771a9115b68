/* SPDX-License-Identifier: MIT */
/*
 * <rpc2/errors.h> -- errno values that travel in a reply's ReturnCode
 * (Coda RPC2 names and numbers).
 *
 * A positive ReturnCode is an application result, and on the wire it is a
 * platform-independent "wire errno" (BSD numbering plus Coda's own codes).
 * The runtime translates it both ways: RPC2_SendResponse sends
 * RPC2_S2RError(code) and a client's reply gets RPC2_R2SError(code), so an
 * application works with local values only. A positive value missing from
 * the table travels, and arrives, as 4711.
 *
 * This header defines the local value of every name in the table that the
 * system's <errno.h> lacks: RPC2_ERRBASE + its wire value. Coda's own codes
 * (VSALVAGE ... CAENOSERVERS) are therefore 601 ... 808 on Linux.
 *
 * Compiles alone, in C and C++.
 */
#ifndef RPC2_ERRORS_H
#define RPC2_ERRORS_H

#include <errno.h>

#include <lwp/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Local value of a name the system does not define: RPC2_ERRBASE + wire. */
#define RPC2_ERRBASE 500

/* Value a positive code without a translation becomes (both directions). */
#define RPC2_UNKNOWN_ERRNO 4711

/* Aliases: these travel as the errno they stand for. */
#ifndef VREADONLY
#define VREADONLY EROFS /* volume is read-only */
#endif
#ifndef VDISKFULL
#define VDISKFULL ENOSPC /* partition is full */
#endif
#ifndef EWOULDBLOCK
#define EWOULDBLOCK EAGAIN
#endif

/* System errno names, for systems that lack some of them. */
#ifndef EPERM
#define EPERM (RPC2_ERRBASE + 1)
#endif
#ifndef ENOENT
#define ENOENT (RPC2_ERRBASE + 2)
#endif
#ifndef ESRCH
#define ESRCH (RPC2_ERRBASE + 3)
#endif
#ifndef EINTR
#define EINTR (RPC2_ERRBASE + 4)
#endif
#ifndef EIO
#define EIO (RPC2_ERRBASE + 5)
#endif
#ifndef ENXIO
#define ENXIO (RPC2_ERRBASE + 6)
#endif
#ifndef E2BIG
#define E2BIG (RPC2_ERRBASE + 7)
#endif
#ifndef ENOEXEC
#define ENOEXEC (RPC2_ERRBASE + 8)
#endif
#ifndef EBADF
#define EBADF (RPC2_ERRBASE + 9)
#endif
#ifndef ECHILD
#define ECHILD (RPC2_ERRBASE + 10)
#endif
#ifndef EDEADLK
#define EDEADLK (RPC2_ERRBASE + 11)
#endif
#ifndef ENOMEM
#define ENOMEM (RPC2_ERRBASE + 12)
#endif
#ifndef EACCES
#define EACCES (RPC2_ERRBASE + 13)
#endif
#ifndef EFAULT
#define EFAULT (RPC2_ERRBASE + 14)
#endif
#ifndef ENOTBLK
#define ENOTBLK (RPC2_ERRBASE + 15)
#endif
#ifndef EBUSY
#define EBUSY (RPC2_ERRBASE + 16)
#endif
#ifndef EEXIST
#define EEXIST (RPC2_ERRBASE + 17)
#endif
#ifndef EXDEV
#define EXDEV (RPC2_ERRBASE + 18)
#endif
#ifndef ENODEV
#define ENODEV (RPC2_ERRBASE + 19)
#endif
#ifndef ENOTDIR
#define ENOTDIR (RPC2_ERRBASE + 20)
#endif
#ifndef EISDIR
#define EISDIR (RPC2_ERRBASE + 21)
#endif
#ifndef EINVAL
#define EINVAL (RPC2_ERRBASE + 22)
#endif
#ifndef ENFILE
#define ENFILE (RPC2_ERRBASE + 23)
#endif
#ifndef EMFILE
#define EMFILE (RPC2_ERRBASE + 24)
#endif
#ifndef ENOTTY
#define ENOTTY (RPC2_ERRBASE + 25)
#endif
#ifndef ETXTBSY
#define ETXTBSY (RPC2_ERRBASE + 26)
#endif
#ifndef EFBIG
#define EFBIG (RPC2_ERRBASE + 27)
#endif
#ifndef ENOSPC
#define ENOSPC (RPC2_ERRBASE + 28)
#endif
#ifndef ESPIPE
#define ESPIPE (RPC2_ERRBASE + 29)
#endif
#ifndef EROFS
#define EROFS (RPC2_ERRBASE + 30)
#endif
#ifndef EMLINK
#define EMLINK (RPC2_ERRBASE + 31)
#endif
#ifndef EPIPE
#define EPIPE (RPC2_ERRBASE + 32)
#endif
#ifndef EDOM
#define EDOM (RPC2_ERRBASE + 33)
#endif
#ifndef ERANGE
#define ERANGE (RPC2_ERRBASE + 34)
#endif
#ifndef EAGAIN
#define EAGAIN (RPC2_ERRBASE + 35)
#endif
#ifndef EALREADY
#define EALREADY (RPC2_ERRBASE + 37)
#endif
#ifndef ENOSYS
#define ENOSYS (RPC2_ERRBASE + 38)
#endif
#ifndef EPROTONOSUPPORT
#define EPROTONOSUPPORT (RPC2_ERRBASE + 43)
#endif
#ifndef EOPNOTSUPP
#define EOPNOTSUPP (RPC2_ERRBASE + 45)
#endif
#ifndef ENOBUFS
#define ENOBUFS (RPC2_ERRBASE + 55)
#endif
#ifndef ENOTCONN
#define ENOTCONN (RPC2_ERRBASE + 57)
#endif
#ifndef ESHUTDOWN
#define ESHUTDOWN (RPC2_ERRBASE + 58)
#endif
#ifndef ETOOMANYREFS
#define ETOOMANYREFS (RPC2_ERRBASE + 59)
#endif
#ifndef ETIMEDOUT
#define ETIMEDOUT (RPC2_ERRBASE + 60)
#endif
#ifndef ELOOP
#define ELOOP (RPC2_ERRBASE + 62)
#endif
#ifndef ENAMETOOLONG
#define ENAMETOOLONG (RPC2_ERRBASE + 63)
#endif
#ifndef ENOTEMPTY
#define ENOTEMPTY (RPC2_ERRBASE + 66)
#endif
#ifndef EDQUOT
#define EDQUOT (RPC2_ERRBASE + 69)
#endif

/* Coda file-server codes (volumes, versions, consistency). */
#ifndef VSALVAGE
#define VSALVAGE (RPC2_ERRBASE + 101) /* volume needs salvaging */
#endif
#ifndef VNOVNODE
#define VNOVNODE (RPC2_ERRBASE + 102) /* no such vnode */
#endif
#ifndef VNOVOL
#define VNOVOL (RPC2_ERRBASE + 103) /* no such volume, or not on line */
#endif
#ifndef VVOLEXISTS
#define VVOLEXISTS (RPC2_ERRBASE + 104)
#endif
#ifndef VNOSERVICE
#define VNOSERVICE (RPC2_ERRBASE + 105)
#endif
#ifndef VOFFLINE
#define VOFFLINE (RPC2_ERRBASE + 106)
#endif
#ifndef VONLINE
#define VONLINE (RPC2_ERRBASE + 107)
#endif
#ifndef VBUSY
#define VBUSY (RPC2_ERRBASE + 110)
#endif
#ifndef VMOVED
#define VMOVED (RPC2_ERRBASE + 111)
#endif
#ifndef VNOSERVER
#define VNOSERVER (RPC2_ERRBASE + 112)
#endif
#ifndef VLOGSTALE
#define VLOGSTALE (RPC2_ERRBASE + 113)
#endif
#ifndef EVOLUME
#define EVOLUME (RPC2_ERRBASE + 158)
#endif
#ifndef EINCOMPATIBLE
#define EINCOMPATIBLE (RPC2_ERRBASE + 198)
#endif
#ifndef EINCONS
#define EINCONS (RPC2_ERRBASE + 199)
#endif
#ifndef VFAIL
#define VFAIL (RPC2_ERRBASE + 200)
#endif

/* Coda advice-monitor codes (legacy, still in the table). */
#ifndef CAENOSUCHUSER
#define CAENOSUCHUSER (RPC2_ERRBASE + 302)
#endif
#ifndef CAENOTVALID
#define CAENOTVALID (RPC2_ERRBASE + 303)
#endif
#ifndef CAENOASR
#define CAENOASR (RPC2_ERRBASE + 304)
#endif
#ifndef CAEUNEXPECTEDASR
#define CAEUNEXPECTEDASR (RPC2_ERRBASE + 305)
#endif
#ifndef CAEADVICEPENDING
#define CAEADVICEPENDING (RPC2_ERRBASE + 307)
#endif
#ifndef CAENOSERVERS
#define CAENOSERVERS (RPC2_ERRBASE + 308)
#endif

/* Wire value -> local errno (applied to every reply a client accepts).
 * Values <= 0 (RPC2 codes) are returned unchanged; a positive value not in
 * the table gives RPC2_UNKNOWN_ERRNO (4711) and, when RPC2_DebugLevel > 0,
 * one line on stderr the first time that value is seen. Never yields. */
LWP_EXPORT int RPC2_R2SError(int error);

/* Local errno -> wire value (applied to every RPC2_SendResponse). Same
 * rules as RPC2_R2SError. Never yields. */
LWP_EXPORT int RPC2_S2RError(int error);

/* A static description of a local errno value of the table ("Success" for
 * 0, "Unknown error" for anything else), like strerror() but knowing the
 * Coda codes. Never NULL; never yields; thread-safe. */
LWP_EXPORT const char *cerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* RPC2_ERRORS_H */
