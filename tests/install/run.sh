#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The `install` test: usage  run.sh BUILD_DIR SOURCE_DIR CC [CONFIG]
#
#  1. cmake --install BUILD_DIR into a fresh temporary prefix;
#  2. check the installed files (headers, liblwp.a, liblwp.so with its
#     versioned soname, lwp.pc, the CMake package);
#  3. build tests/install/consumer.c with CC through pkg-config (only
#     PKG_CONFIG_PATH points at the prefix) and run it with LD_LIBRARY_PATH;
#  4. configure and build tests/install/cmake_consumer with
#     CMAKE_PREFIX_PATH=<prefix> (find_package(lwp), lwp::lwp and
#     lwp::lwp_static) and run both programs.
#
# Environment: LWP_CONSUMER_FLAGS (extra compile+link flags, e.g. the
# sanitizer flags of a sanitized build), CMAKE_COMMAND (default cmake),
# PKG_CONFIG (default pkg-config), LWP_KEEP_PREFIX=1 keeps the prefix.
set -eu

if [ "$#" -lt 3 ]; then
    echo "usage: $0 BUILD_DIR SOURCE_DIR CC [CONFIG]" >&2
    exit 2
fi
build_dir=$1
source_dir=$2
cc=$3
config=${4:-}
cmake=${CMAKE_COMMAND:-cmake}
pkg_config=${PKG_CONFIG:-pkg-config}
flags=${LWP_CONSUMER_FLAGS:-}

fail() {
    echo "install test: FAIL: $*" >&2
    exit 1
}
step() {
    echo "--- install test: $*"
}

work=$(mktemp -d "${TMPDIR:-/tmp}/lwp-install-test.XXXXXX")
cleanup() {
    if [ "${LWP_KEEP_PREFIX:-0}" = 1 ]; then
        echo "install test: kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
prefix=$work/prefix

# 1. Install.
step "cmake --install $build_dir --prefix $prefix"
if [ -n "$config" ]; then
    "$cmake" --install "$build_dir" --prefix "$prefix" --config "$config" \
        >"$work/install.log" 2>&1 || { cat "$work/install.log"; fail "cmake --install"; }
else
    "$cmake" --install "$build_dir" --prefix "$prefix" \
        >"$work/install.log" 2>&1 || { cat "$work/install.log"; fail "cmake --install"; }
fi

# 2. What was installed. The libdir depends on GNUInstallDirs (lib, lib64,
# lib/<multiarch>): find it through lwp.pc.
pc=$(find "$prefix" -name lwp.pc -path '*/pkgconfig/*' | head -n 1)
[ -n "$pc" ] || fail "no lwp.pc under $prefix"
pcdir=$(dirname "$pc")
libdir=$(dirname "$pcdir")
for f in "$prefix/include/lwp/lwp.h" "$prefix/include/lwp/lock.h" \
         "$prefix/include/lwp/timer.h" "$prefix/include/lwp/fasttime.h" \
         "$libdir/liblwp.a" "$libdir/liblwp.so" \
         "$libdir/cmake/lwp/lwpConfig.cmake" \
         "$libdir/cmake/lwp/lwpConfigVersion.cmake" \
         "$libdir/cmake/lwp/lwpTargets.cmake"; do
    [ -e "$f" ] || fail "missing $f"
done
soname_link=$(find "$libdir" -maxdepth 1 -name 'liblwp.so.[0-9]*' | sort | head -n 1)
[ -n "$soname_link" ] || fail "no versioned liblwp.so.N in $libdir"
if command -v readelf >/dev/null 2>&1; then
    soname=$(readelf -d "$libdir/liblwp.so" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
    case $soname in
    liblwp.so.[0-9]*) ;;
    *) fail "liblwp.so has soname '$soname', expected liblwp.so.<major>" ;;
    esac
    [ -e "$libdir/$soname" ] || fail "soname $soname not installed"
    echo "liblwp.so soname: $soname"
fi
grep -q "^prefix=$prefix\$" "$pc" || { cat "$pc"; fail "lwp.pc prefix is not $prefix"; }

# 3. pkg-config consumer.
step "pkg-config build of consumer.c"
PKG_CONFIG_PATH=$pcdir
export PKG_CONFIG_PATH
pc_flags=$("$pkg_config" --cflags --libs lwp) || fail "pkg-config --cflags --libs lwp"
echo "pkg-config --cflags --libs lwp: $pc_flags"
# shellcheck disable=SC2086 # word splitting of the flag lists is intended
"$cc" $flags -o "$work/consumer_pc" "$source_dir/tests/install/consumer.c" \
    $pc_flags || fail "compiling consumer.c through pkg-config"
LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
if command -v ldd >/dev/null 2>&1; then
    ldd "$work/consumer_pc" | grep -F "$libdir/liblwp.so" >/dev/null ||
        { ldd "$work/consumer_pc"; fail "consumer_pc does not load $libdir/liblwp.so"; }
fi
"$work/consumer_pc" || fail "consumer_pc exited with status $?"

# 4. CMake consumer (find_package).
step "find_package(lwp) build of cmake_consumer"
"$cmake" -S "$source_dir/tests/install/cmake_consumer" -B "$work/cmake_build" \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" \
    >"$work/cmake_configure.log" 2>&1 ||
    { cat "$work/cmake_configure.log"; fail "configuring cmake_consumer"; }
"$cmake" --build "$work/cmake_build" >"$work/cmake_build.log" 2>&1 ||
    { cat "$work/cmake_build.log"; fail "building cmake_consumer"; }
grep -F "$libdir/cmake/lwp" "$work/cmake_build/CMakeCache.txt" >/dev/null ||
    fail "cmake_consumer did not find the package under $libdir/cmake/lwp"
"$work/cmake_build/consumer" || fail "cmake consumer (lwp::lwp) exited with status $?"
"$work/cmake_build/consumer_static" ||
    fail "cmake consumer (lwp::lwp_static) exited with status $?"
if command -v readelf >/dev/null 2>&1; then
    readelf -d "$work/cmake_build/consumer" | grep -q 'NEEDED.*liblwp\.so' ||
        fail "lwp::lwp did not link liblwp.so"
    if readelf -d "$work/cmake_build/consumer_static" | grep -q 'NEEDED.*liblwp\.so'; then
        fail "lwp::lwp_static linked liblwp.so"
    fi
fi

echo "install test: PASS"
