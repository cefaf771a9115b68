#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The `install` test: usage  run.sh BUILD_DIR SOURCE_DIR CC [CONFIG]
#
#  1. cmake --install BUILD_DIR into a fresh temporary prefix;
#  2. check the installed files (headers, liblwp.a, liblwp.so with its
#     versioned soname, lwp.pc, the CMake package);
#  3. compile every installed header alone, as the first and only include
#     of a one-line file, with CC under -std=c99, c11 and c17, each with
#     and without -D_POSIX_C_SOURCE=200809L, and with the C++ compiler
#     matching CC under -std=c++11 and c++17 (Coda is mostly C++); all with
#     -Wall -Wextra -pedantic -Werror (C also -Wstrict-prototypes); then
#     tests/install/prototypes.c the same ways (Coda's calls and cast-free
#     opaque pointers);
#  4. build tests/install/consumer.c with CC through pkg-config (only
#     PKG_CONFIG_PATH points at the prefix) and run it with LD_LIBRARY_PATH;
#  5. the same program linked with the run path the README recommends for
#     a private prefix (-Wl,-rpath from pkg-config's libdir variable), run
#     without LD_LIBRARY_PATH;
#  6. configure and build tests/install/cmake_consumer with
#     CMAKE_PREFIX_PATH=<prefix> (find_package(lwp), lwp::lwp and
#     lwp::lwp_static) and run both programs.
#
# Environment: LWP_CONSUMER_FLAGS (extra compile+link flags, e.g. the
# sanitizer flags of a sanitized build), CMAKE_COMMAND (default cmake),
# PKG_CONFIG (default pkg-config), CXX (the C++ compiler; default: derived
# from CC, e.g. gcc -> g++, clang -> clang++; the C++ checks are skipped
# with a message if there is none), LWP_KEEP_PREFIX=1 keeps the prefix.
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
         "$prefix/include/rpc2/rpc2.h" "$prefix/include/rpc2/errors.h" \
         "$prefix/include/rpc2/pack_helper.h" "$prefix/include/rpc2/se.h" \
         "$libdir/liblwprpc.a" "$libdir/liblwprpc.so" "$pcdir/lwprpc.pc" \
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
rpc_soname_link=$(find "$libdir" -maxdepth 1 -name 'liblwprpc.so.[0-9]*' | sort | head -n 1)
[ -n "$rpc_soname_link" ] || fail "no versioned liblwprpc.so.N in $libdir"
grep -q "^prefix=$prefix\$" "$pc" || { cat "$pc"; fail "lwp.pc prefix is not $prefix"; }

# 3. Each installed header compiles alone, in C and C++.
step "each installed header alone, then prototypes.c (C and C++)"
checks=$work/checks
mkdir -p "$checks"
c_warn="-Wall -Wextra -pedantic -Werror -Wstrict-prototypes"
cxx_warn="-Wall -Wextra -pedantic -Werror"
n_checks=0
n_broken=0
# check LABEL COMMAND...: run a compile, report its output if it fails.
check() {
    label=$1
    shift
    n_checks=$((n_checks + 1))
    if ! "$@" >"$checks/out.log" 2>&1; then
        n_broken=$((n_broken + 1))
        echo "install test: header check failed: $label" >&2
        sed -n 1,12p "$checks/out.log" >&2
    fi
}
# The C++ compiler that goes with CC: gcc -> g++, clang -> clang++, cc -> c++
# (prefixes and version suffixes kept), unless CXX says otherwise.
cxx_of() {
    base=$(basename "$1")
    case $base in
    *clang*) base=$(echo "$base" | sed 's/clang/clang++/') ;;
    *gcc*) base=$(echo "$base" | sed 's/gcc/g++/') ;;
    *cc) base=${base%cc}c++ ;;
    *) return 1 ;;
    esac
    case $1 in
    */*) echo "$(dirname "$1")/$base" ;;
    *) echo "$base" ;;
    esac
}
cxx=${CXX:-$(cxx_of "$cc" || true)}
if [ -n "$cxx" ] && ! command -v "$cxx" >/dev/null 2>&1; then
    echo "install test: no C++ compiler $cxx: C++ header checks skipped"
    cxx=
fi
inc="-I$prefix/include"
for h in "$prefix"/include/lwp/*.h "$prefix"/include/rpc2/*.h; do
    name=$(basename "$h" .h)
    dir=$(basename "$(dirname "$h")")
    src=$checks/${dir}_$name.c
    # The header is the file's first include; the declaration after it
    # keeps an otherwise empty file legal under -pedantic.
    printf '#include <%s/%s.h>\nextern int lwp_header_check;\n' "$dir" "$name" \
        >"$src"
    for std in c99 c11 c17; do
        for posix in -D_POSIX_C_SOURCE=200809L -U_POSIX_C_SOURCE; do
            # shellcheck disable=SC2086 # flag lists
            check "<$dir/$name.h> -std=$std $posix" \
                "$cc" -std=$std $posix $c_warn $inc -fsyntax-only "$src"
        done
    done
    [ -n "$cxx" ] || continue
    for std in c++11 c++17; do
        # shellcheck disable=SC2086 # flag lists
        check "<$dir/$name.h> -std=$std (C++)" \
            "$cxx" -std=$std $cxx_warn $inc -fsyntax-only -x c++ "$src"
    done
done
proto=$source_dir/tests/install/prototypes.c
for std in c99 c11 c17; do
    # shellcheck disable=SC2086 # flag lists
    check "prototypes.c -std=$std" \
        "$cc" -std=$std -D_POSIX_C_SOURCE=200809L $c_warn $inc -fsyntax-only \
        "$proto"
done
if [ -n "$cxx" ]; then
    # shellcheck disable=SC2086 # flag lists
    check "prototypes.c -std=c++11 (C++)" \
        "$cxx" -std=c++11 $cxx_warn $inc -fsyntax-only -x c++ "$proto"
fi
[ "$n_broken" -eq 0 ] || fail "$n_broken of $n_checks header compiles failed"
echo "$n_checks header compiles passed (C: $cc; C++: ${cxx:-none})"

# 4. pkg-config consumer.
step "pkg-config build of consumer.c"
PKG_CONFIG_PATH=$pcdir
export PKG_CONFIG_PATH
pc_flags=$("$pkg_config" --cflags --libs lwp) || fail "pkg-config --cflags --libs lwp"
echo "pkg-config --cflags --libs lwp: $pc_flags"
# The stack-clash flag is recommended to consumers when the compiler has it
# (README "Stack sizing"), and the documented opt-out removes it.
if echo 'int x;' | "$cc" -fstack-clash-protection -x c -c -o /dev/null - 2>/dev/null; then
    case " $pc_flags " in
    *" -fstack-clash-protection "*) ;;
    *) fail "pkg-config --cflags lwp lacks -fstack-clash-protection" ;;
    esac
    case " $("$pkg_config" --define-variable=lwp_stack_cflags= --cflags lwp) " in
    *" -fstack-clash-protection "*) fail "lwp_stack_cflags= does not opt out" ;;
    esac
fi
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

step "pkg-config build of rpc_consumer.c (lwprpc)"
rpc_flags=$("$pkg_config" --cflags --libs lwprpc) || fail "pkg-config --cflags --libs lwprpc"
echo "pkg-config --cflags --libs lwprpc: $rpc_flags"
# shellcheck disable=SC2086 # word splitting of the flag lists is intended
"$cc" $flags -o "$work/rpc_consumer_pc" "$source_dir/tests/install/rpc_consumer.c" \
    $rpc_flags || fail "compiling rpc_consumer.c through pkg-config"
"$work/rpc_consumer_pc" || fail "rpc_consumer_pc exited with status $?"

# 5. A private prefix without LD_LIBRARY_PATH: the run path recorded at
# link time, as the README tells users of a private prefix to do.
step "consumer.c linked with -Wl,-rpath,<pkg-config libdir>, run without LD_LIBRARY_PATH"
pc_libdir=$("$pkg_config" --variable=libdir lwp) ||
    fail "pkg-config --variable=libdir lwp"
[ "$pc_libdir" = "$libdir" ] || fail "lwp.pc libdir is $pc_libdir, not $libdir"
# shellcheck disable=SC2086 # word splitting of the flag lists is intended
"$cc" $flags -o "$work/consumer_rpath" "$source_dir/tests/install/consumer.c" \
    $pc_flags "-Wl,-rpath,$pc_libdir" ||
    fail "compiling consumer.c with a run path"
(
    unset LD_LIBRARY_PATH
    "$work/consumer_rpath"
) || fail "consumer_rpath (no LD_LIBRARY_PATH) exited with status $?"

# 6. CMake consumer (find_package).
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
"$work/cmake_build/rpc_consumer" || fail "cmake rpc_consumer (lwp::lwprpc) exited with status $?"
"$work/cmake_build/rpc_consumer_static" ||
    fail "cmake rpc_consumer (lwp::lwprpc_static) exited with status $?"
if command -v readelf >/dev/null 2>&1; then
    readelf -d "$work/cmake_build/rpc_consumer" | grep -q 'NEEDED.*liblwprpc\.so' ||
        fail "lwp::lwprpc did not link liblwprpc.so"
    readelf -d "$work/cmake_build/consumer" | grep -q 'NEEDED.*liblwp\.so' ||
        fail "lwp::lwp did not link liblwp.so"
    if readelf -d "$work/cmake_build/consumer_static" | grep -q 'NEEDED.*liblwp\.so'; then
        fail "lwp::lwp_static linked liblwp.so"
    fi
fi

echo "install test: PASS"
