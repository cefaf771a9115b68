#!/bin/sh
# SPDX-License-Identifier: MIT
#
# run_rpc_kv_test.sh SERVER CLIENT
#
# The ctest `sample_rpc_kv` (rpc_kv_server, rpc_kv_client):
#   1. a SECURE server on an ephemeral 127.0.0.1 port with a temporary
#      8-byte key file: put/get/list/del with their exact outputs, a get of
#      a deleted key (exit 3), a key file of the wrong size (exit 1), a
#      1 s load run of 4 connections, a client with the wrong key (exit 2,
#      RPC2_NOTAUTHENTICATED) and an OPENKIMONO client (refused too);
#      hand-made bodies that do not decode (RPC2_BADDATA), an unknown
#      opcode (RPC2_INVALIDOPCODE), keys and values beyond the limits;
#   2. an OPENKIMONO server (-o) with a put/get;
#   3. SIGTERM to each server, which must exit 0 with its summary.
# Every wait is bounded (the whole run takes a few seconds; ctest allows
# 20 s), and the trap kills whatever is still running on any exit.
set -u

server=$1
client=$2

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rpc_kv_test.XXXXXX") || exit 1
spid=

cleanup() {
    if [ -n "$spid" ] && kill -0 "$spid" 2>/dev/null; then
        kill -KILL "$spid" 2>/dev/null
        wait "$spid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fail() {
    echo "run_rpc_kv_test: FAIL: $*" >&2
    for f in "$tmp"/*.out "$tmp"/*.err; do
        [ -f "$f" ] && { echo "--- $f:" >&2; cat "$f" >&2; }
    done
    exit 1
}

# start_server NAME OPTIONS...: starts SERVER, sets spid and port.
start_server() {
    name=$1
    shift
    "$server" -p 0 "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    spid=$!
    port=
    i=0
    while :; do
        port=$(sed -n 's/^port: \([0-9][0-9]*\)$/\1/p' "$tmp/$name.out")
        [ -n "$port" ] && break
        kill -0 "$spid" 2>/dev/null || fail "$name exited before listening"
        [ "$i" -lt 50 ] || fail "$name did not print its port within 5 s"
        sleep 0.1
        i=$((i + 1))
    done
}

# stop_server NAME: SIGTERM, exit status 0 and a summary within 5 s.
stop_server() {
    kill -TERM "$spid"
    i=0
    while kill -0 "$spid" 2>/dev/null; do
        [ "$i" -lt 50 ] || fail "$1 still running 5 s after SIGTERM"
        sleep 0.1
        i=$((i + 1))
    done
    wait "$spid"
    st=$?
    spid=
    [ "$st" -eq 0 ] || fail "$1 exited with status $st"
    grep -q '^rpc_kv_server: stopped: ' "$tmp/$1.out" ||
        fail "no summary from $1"
}

# expect STATUS OUTPUT CLIENT-ARGS...: runs the client (at most 10 s) and
# checks its exit status and its whole stdout.
expect() {
    want_st=$1
    want_out=$2
    shift 2
    timeout 10 "$client" -p "$port" "$@" >"$tmp/client.out" 2>"$tmp/client.err"
    st=$?
    got=$(cat "$tmp/client.out")
    [ "$st" -eq "$want_st" ] || fail "client $*: status $st, want $want_st"
    [ "$got" = "$want_out" ] ||
        fail "client $*: output '$got', want '$want_out'"
}

printf 'k3Y!x9#q' >"$tmp/good.key"
printf '0123456789abcdef\n' >"$tmp/wrong.key"
printf 'short' >"$tmp/short.key"
nl='
'

# 1. SECURE server.
start_server secure -k "$tmp/good.key" -n 4
k="-k $tmp/good.key"
# shellcheck disable=SC2086 # $k is two words
{
    expect 0 ok $k put fruit apple
    expect 0 ok $k put veg carrot
    expect 0 ok $k put fruit banana
    expect 0 banana $k get fruit
    expect 0 "fruit${nl}veg" $k list
    expect 0 ok $k del fruit
    expect 3 "" $k get fruit
    grep -q 'no such key' "$tmp/client.err" || fail "no 'no such key' message"
    expect 3 "" $k del fruit
    expect 0 veg $k list
    expect 1 "" -k "$tmp/short.key" list
    grep -q 'need exactly 8 bytes or 16 hex digits' "$tmp/client.err" ||
        fail "no message for a short key file"
    expect 1 "" $k frobnicate
}
echo "commands: PASS"

# Requests a correct client never sends: the server answers each, and the
# client reports the code (exit 3).
long_key=$(printf '%0256d' 0)
long_value=$(printf '%01025d' 0)
# shellcheck disable=SC2086
{
    expect 0 00000006636172726f740000 $k raw 1 0000000376656700
    expect 3 "" $k raw 1 00000003766567
    grep -q 'RPC2_BADDATA' "$tmp/client.err" || fail "no NUL: no BADDATA"
    expect 3 "" $k raw 1 ""
    grep -q 'RPC2_BADDATA' "$tmp/client.err" || fail "empty get: no BADDATA"
    expect 3 "" $k raw 1 000000ff6b00
    grep -q 'RPC2_BADDATA' "$tmp/client.err" || fail "short string: no BADDATA"
    expect 3 "" $k raw 2 000000016b000000
    grep -q 'RPC2_BADDATA' "$tmp/client.err" || fail "put without value"
    expect 3 "" $k raw 99 ""
    grep -q 'RPC2_INVALIDOPCODE' "$tmp/client.err" || fail "bad opcode"
    expect 3 "" $k put "$long_key" v
    grep -q 'Invalid argument' "$tmp/client.err" || fail "long key taken"
    expect 3 "" $k put "" v
    grep -q 'Invalid argument' "$tmp/client.err" || fail "empty key taken"
    expect 3 "" $k put big "$long_value"
    grep -q 'Invalid argument' "$tmp/client.err" || fail "long value taken"
    expect 0 veg $k list
}
echo "bad requests and limits: PASS"

timeout 10 "$client" -p "$port" -k "$tmp/good.key" -L -c 4 -d 1 \
    >"$tmp/load.out" 2>"$tmp/load.err" || fail "load run failed"
for name in bind calls rate p50 p99; do
    grep -q "^$name: [0-9.][0-9.]* [a-z/]*\$" "$tmp/load.out" ||
        fail "load run printed no '$name' line"
done
grep -q '^progress: 1s ' "$tmp/load.err" || fail "no progress line"
cat "$tmp/load.out"

expect 2 "" -k "$tmp/wrong.key" list
grep -q 'RPC2_NOTAUTHENTICATED' "$tmp/client.err" ||
    fail "wrong key: $(cat "$tmp/client.err")"
expect 2 "" -o list
echo "wrong key and OPENKIMONO refused: PASS"
stop_server secure
cat "$tmp/secure.out"
grep -q ', 1 binds refused by get_keys, 4 bad requests, 5 keys$' "$tmp/secure.out" ||
    fail "wrong counts in the summary"

# 2. OPENKIMONO server.
start_server open -o
expect 0 ok -o put k v
expect 0 v -o get k
expect 2 "" -k "$tmp/good.key" list
stop_server open
echo "run_rpc_kv_test: PASS"
