/* SPDX-License-Identifier: MIT */
/* Visibility and version macros shared by every public header. */
#ifndef LWP_EXPORT_H
#define LWP_EXPORT_H

/* The library is built with hidden visibility; only what carries
 * LWP_EXPORT is part of the ABI of liblwp.so. */
#if defined(__GNUC__) || defined(__clang__)
#define LWP_EXPORT __attribute__((visibility("default")))
#else
#define LWP_EXPORT
#endif

#define LWP_LIB_VERSION_MAJOR 1
#define LWP_LIB_VERSION_MINOR 0
#define LWP_LIB_VERSION_PATCH 0

#endif /* LWP_EXPORT_H */
