/* SPDX-License-Identifier: MIT */
/*
 * The globals Coda programs read or write by name (rpc2.h). Everything else
 * the RPC layer keeps lives in its instance structure (rpc_internal.h).
 */
#include <rpc2/rpc2.h>

long RPC2_DebugLevel = 0;
long RPC2_Perror = 1;
long RPC2_Trace = 0;
int RPC2_enableReaping = 0;
size_t RPC2_Preferred_Keysize = 0;
int RPC2_secure_only = 1;
