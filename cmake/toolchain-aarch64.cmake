# SPDX-License-Identifier: MIT
# Cross-build for 64-bit Arm Linux with Debian's cross toolchain
# (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross); programs run under
# qemu-user (qemu-aarch64), which is also what `ctest` and
# `cmake --build --target test` use through CMAKE_CROSSCOMPILING_EMULATOR.
#
#   cmake -S . -B build/aarch64 \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake -DBUILD_TESTING=OFF
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(LWP_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${LWP_CROSS_TRIPLE}-gcc)
set(CMAKE_ASM_COMPILER ${LWP_CROSS_TRIPLE}-gcc)

# Look for libraries and headers of the target only, programs of the host:
# in the cross toolchain's root, and in / for Debian Multi-Arch packages
# (libev-dev:arm64), whose libraries are under /usr/lib/${LWP_CROSS_TRIPLE}.
set(CMAKE_LIBRARY_ARCHITECTURE ${LWP_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH /usr/${LWP_CROSS_TRIPLE} /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# pkg-config must not hand out the host's (x86-64) libraries.
set(ENV{PKG_CONFIG_LIBDIR}
    "/usr/lib/${LWP_CROSS_TRIPLE}/pkgconfig:/usr/${LWP_CROSS_TRIPLE}/lib/pkgconfig")

set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64;-L;/usr/${LWP_CROSS_TRIPLE})
