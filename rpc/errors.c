/* SPDX-License-Identifier: MIT */
/*
 * errno translation of reply codes (reference 1.5): one table, read in
 * both directions, plus cerror().
 */
#include <rpc2/errors.h>

#include <stdio.h>

#include <rpc2/rpc2.h>

struct errno_row {
    int wire;         /* platform-independent value sent in ReturnCode */
    int local;        /* this system's value (errno.h or errors.h) */
    const char *text; /* for cerror() */
};

/* Wire values are fixed by the protocol; local values come from the
 * macros, so the same table is right on every system. */
static const struct errno_row table[] = {
    {1, EPERM, "Operation not permitted"},
    {2, ENOENT, "No such file or directory"},
    {3, ESRCH, "No such process"},
    {4, EINTR, "Interrupted system call"},
    {5, EIO, "Input/output error"},
    {6, ENXIO, "No such device or address"},
    {7, E2BIG, "Argument list too long"},
    {8, ENOEXEC, "Exec format error"},
    {9, EBADF, "Bad file descriptor"},
    {10, ECHILD, "No child processes"},
    {11, EDEADLK, "Resource deadlock avoided"},
    {12, ENOMEM, "Cannot allocate memory"},
    {13, EACCES, "Permission denied"},
    {14, EFAULT, "Bad address"},
    {15, ENOTBLK, "Block device required"},
    {16, EBUSY, "Device or resource busy"},
    {17, EEXIST, "File exists"},
    {18, EXDEV, "Invalid cross-device link"},
    {19, ENODEV, "No such device"},
    {20, ENOTDIR, "Not a directory"},
    {21, EISDIR, "Is a directory"},
    {22, EINVAL, "Invalid argument"},
    {23, ENFILE, "Too many open files in system"},
    {24, EMFILE, "Too many open files"},
    {25, ENOTTY, "Inappropriate ioctl for device"},
    {26, ETXTBSY, "Text file busy"},
    {27, EFBIG, "File too large"},
    {28, ENOSPC, "No space left on device"},
    {29, ESPIPE, "Illegal seek"},
    {30, EROFS, "Read-only file system"},
    {31, EMLINK, "Too many links"},
    {32, EPIPE, "Broken pipe"},
    {33, EDOM, "Numerical argument out of domain"},
    {34, ERANGE, "Numerical result out of range"},
    {35, EAGAIN, "Resource temporarily unavailable"},
    {37, EALREADY, "Operation already in progress"},
    {38, ENOSYS, "Function not implemented"},
    {43, EPROTONOSUPPORT, "Protocol not supported"},
    {45, EOPNOTSUPP, "Operation not supported"},
    {55, ENOBUFS, "No buffer space available"},
    {57, ENOTCONN, "Transport endpoint is not connected"},
    {58, ESHUTDOWN, "Cannot send after transport endpoint shutdown"},
    {59, ETOOMANYREFS, "Too many references"},
    {60, ETIMEDOUT, "Connection timed out"},
    {62, ELOOP, "Too many levels of symbolic links"},
    {63, ENAMETOOLONG, "File name too long"},
    {66, ENOTEMPTY, "Directory not empty"},
    {69, EDQUOT, "Disk quota exceeded"},
    {101, VSALVAGE, "Volume needs to be salvaged"},
    {102, VNOVNODE, "No such vnode in the volume"},
    {103, VNOVOL, "Volume does not exist or is not on line"},
    {104, VVOLEXISTS, "Volume already exists"},
    {105, VNOSERVICE, "Volume is not in service"},
    {106, VOFFLINE, "Volume is off line"},
    {107, VONLINE, "Volume is already on line"},
    {110, VBUSY, "Volume is temporarily unavailable"},
    {111, VMOVED, "Volume has moved to another server"},
    {112, VNOSERVER, "File server is not running"},
    {113, VLOGSTALE, "Modification log was already reintegrated"},
    {158, EVOLUME, "Volume error"},
    {198, EINCOMPATIBLE, "Version vectors are incompatible"},
    {199, EINCONS, "Object is inconsistent"},
    {200, VFAIL, "Unknown Coda error"},
    {302, CAENOSUCHUSER, "Advice monitor: unknown user"},
    {303, CAENOTVALID, "Advice monitor: connection not valid"},
    {304, CAENOASR, "Advice monitor: no repair pending"},
    {305, CAEUNEXPECTEDASR, "Advice monitor: result for the wrong repair"},
    {307, CAEADVICEPENDING, "Advice monitor: a request is pending"},
    {308, CAENOSERVERS, "No servers are known"},
};

#define TABLE_ROWS (sizeof table / sizeof table[0])

/* Values already reported, so a peer sending odd codes cannot flood the
 * log; once the list is full nothing more is printed. Unsynchronised: at
 * worst two OS threads print the same line twice. */
#define LOGGED_MAX 32
static int logged[LOGGED_MAX];
static unsigned logged_count;

static void log_unknown(const char *direction, int value)
{
    if (RPC2_DebugLevel <= 0) {
        return;
    }
    for (unsigned i = 0; i < logged_count; i++) {
        if (logged[i] == value) {
            return;
        }
    }
    if (logged_count == LOGGED_MAX) {
        return;
    }
    logged[logged_count++] = value;
    fprintf(stderr, "rpc2: no %s translation for error %d, using %d\n",
            direction, value, RPC2_UNKNOWN_ERRNO);
}

int RPC2_R2SError(int error)
{
    if (error <= 0) {
        return error;
    }
    for (size_t i = 0; i < TABLE_ROWS; i++) {
        if (table[i].wire == error) {
            return table[i].local;
        }
    }
    log_unknown("wire-to-local", error);
    return RPC2_UNKNOWN_ERRNO;
}

int RPC2_S2RError(int error)
{
    if (error <= 0) {
        return error;
    }
    for (size_t i = 0; i < TABLE_ROWS; i++) {
        if (table[i].local == error) {
            return table[i].wire;
        }
    }
    log_unknown("local-to-wire", error);
    return RPC2_UNKNOWN_ERRNO;
}

const char *cerror(int err)
{
    if (err == 0) {
        return "Success";
    }
    for (size_t i = 0; i < TABLE_ROWS; i++) {
        if (table[i].local == err) {
            return table[i].text;
        }
    }
    return "Unknown error";
}
