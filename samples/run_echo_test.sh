#!/bin/sh
# SPDX-License-Identifier: MIT
#
# run_echo_test.sh SERVER CLIENT [client options]
#
# SERVER_OPTS in the environment adds options to the server's command line
# (sample_echo_hog passes -H: a preemptible CPU hog runs in the server;
# sample_echo_idle passes -i 1: the summary must then count connections
# closed for idleness).
# The ctest `sample_echo`: starts SERVER (echo_server) on an ephemeral
# 127.0.0.1 port, then
#   1. starts a client sending 1 MiB messages and kills it with SIGKILL
#      mid-run, so the server sees connections vanish mid-message;
#   2. runs CLIENT (echo_client) with the given options (default
#      -n 10 -m 200 -s 64), which must exit 0;
#   3. sends SIGTERM to the server, which must exit 0 and report the
#      connections it served.
# Every wait is bounded, and the trap kills whatever is still running.
set -u

server=$1
client=$2
shift 2
[ $# -gt 0 ] || set -- -n 10 -m 200 -s 64

tmp=$(mktemp -d "${TMPDIR:-/tmp}/echo_test.XXXXXX") || exit 1
spid=
kpid=

cleanup() {
    for p in $kpid $spid; do
        if kill -0 "$p" 2>/dev/null; then
            kill -KILL "$p" 2>/dev/null
            wait "$p" 2>/dev/null
        fi
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fail() {
    echo "run_echo_test: FAIL: $*" >&2
    echo "--- server stdout:" >&2
    cat "$tmp/server.out" >&2
    echo "--- server stderr:" >&2
    cat "$tmp/server.err" >&2
    exit 1
}

# Wait (at most $2 tenths of a second) for process $1 to exit.
wait_exit() {
    i=0
    while kill -0 "$1" 2>/dev/null; do
        [ "$i" -lt "$2" ] || return 1
        sleep 0.1
        i=$((i + 1))
    done
    return 0
}

# shellcheck disable=SC2086 # SERVER_OPTS is a list of words
"$server" -p 0 -c 64 ${SERVER_OPTS:-} >"$tmp/server.out" 2>"$tmp/server.err" &
spid=$!

# The server prints its port once it listens; give it 10 s.
port=
i=0
while [ -z "$port" ]; do
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' \
        "$tmp/server.out")
    [ -n "$port" ] && break
    kill -0 "$spid" 2>/dev/null || fail "server exited before listening"
    [ "$i" -lt 100 ] || fail "server did not print its port within 10 s"
    sleep 0.1
    i=$((i + 1))
done
echo "server listening on 127.0.0.1:$port"

# 1. Clients that vanish mid-message.
"$client" -p "$port" -n 4 -m 100000 -s 1048576 >/dev/null 2>&1 &
kpid=$!
sleep 0.5
kill -KILL "$kpid" 2>/dev/null
wait "$kpid" 2>/dev/null
kill -0 "$spid" 2>/dev/null || fail "server died when clients vanished"
echo "killed a client mid-message; server still running"

# 2. The real exchange (timeout keeps the script inside ctest's budget).
timeout 40 "$client" -p "$port" "$@"
cstatus=$?
[ "$cstatus" -eq 0 ] || fail "client exited with status $cstatus"

# 3. Orderly shutdown.
kill -TERM "$spid"
wait_exit "$spid" 100 || fail "server still running 10 s after SIGTERM"
wait "$spid"
sstatus=$?
spid=
cat "$tmp/server.out"
[ "$sstatus" -eq 0 ] || fail "server exited with status $sstatus"
grep -q '^echo_server: stopped: ' "$tmp/server.out" ||
    fail "no summary from the server"
case " ${SERVER_OPTS:-} " in
*" -O "*)
    grep -q '^echo_server: connections on stacks of their own: deepest [1-9]' \
        "$tmp/server.out" || fail "no own-stack use in the summary"
    ;;
*)
    grep -q '^echo_server: connections on the shared stack: deepest live stack [1-9]' \
        "$tmp/server.out" || fail "no shared-stack use in the summary"
    ;;
esac
case " ${SERVER_OPTS:-} " in
*" -H "*)
    grep -q '^echo_server: hog: .* cut [1-9][0-9]* times' "$tmp/server.out" ||
        fail "the hog was never preempted"
    ;;
esac
case " ${SERVER_OPTS:-} " in
*" -i "*)
    grep -q '^echo_server: idle timeout .*: [1-9][0-9]* connections closed' \
        "$tmp/server.out" || fail "no connection was closed for idleness"
    ;;
esac
echo "run_echo_test: PASS"
