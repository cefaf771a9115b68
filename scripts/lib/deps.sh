# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# Sourced by scripts/test and scripts/demo: install missing Debian packages.
#
#   lwp_install_packages pkg...   install those not yet installed; runs
#                                 `apt-get update` at most once per process
#   lwp_missing_packages pkg...   print the ones not installed
#   lwp_enable_arch ARCH          let dpkg install ARCH packages (pkg:ARCH)
#
# Runs apt-get directly as root, through sudo otherwise (when present).
# Returns non-zero if something could not be installed. On a system
# without dpkg/apt-get it only warns: the build then finds out.

LWP_APT_UPDATED=${LWP_APT_UPDATED:-0}

lwp_missing_packages() {
    local p status
    for p in "$@"; do
        status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) || status=
        case $status in
        ii*) ;;
        *) printf '%s\n' "$p" ;;
        esac
    done
}

lwp_apt() {
    if [ "$(id -u)" -eq 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo DEBIAN_FRONTEND=noninteractive apt-get "$@"
    else
        echo "deps: not root and no sudo: cannot run apt-get $*" >&2
        return 1
    fi
}

lwp_install_packages() {
    local missing
    if ! command -v dpkg-query >/dev/null 2>&1 ||
        ! command -v apt-get >/dev/null 2>&1; then
        echo "deps: no dpkg/apt-get here; make sure these are installed: $*" >&2
        return 0
    fi
    missing=$(lwp_missing_packages "$@" | tr '\n' ' ')
    missing=${missing% }
    if [ -z "$missing" ]; then
        return 0
    fi
    echo "deps: installing $missing"
    if [ "$LWP_APT_UPDATED" != 1 ]; then
        lwp_apt update -q || return 1
        LWP_APT_UPDATED=1
    fi
    # shellcheck disable=SC2086 # one word per package
    lwp_apt install -y -q --no-install-recommends $missing
}

lwp_enable_arch() {
    local arch=$1
    if ! command -v dpkg >/dev/null 2>&1; then
        return 1
    fi
    if [ "$(dpkg --print-architecture)" = "$arch" ] ||
        dpkg --print-foreign-architectures | grep -qx "$arch"; then
        return 0
    fi
    echo "deps: enabling $arch packages (dpkg --add-architecture $arch)"
    if [ "$(id -u)" -eq 0 ]; then
        dpkg --add-architecture "$arch" || return 1
    elif command -v sudo >/dev/null 2>&1; then
        sudo dpkg --add-architecture "$arch" || return 1
    else
        return 1
    fi
    LWP_APT_UPDATED=0 # the package lists must now include $arch
}
