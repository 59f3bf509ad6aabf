#!/bin/bash
# `openwinusb host`: another process's stack sees the host's devices through
# OPENWINUSB_BUSES=host=SOCKET, with the same Windows IDs as locally.
# Usage: cli_host.sh PATH/TO/openwinusb TESTS/DATA
set -u
CLI=$1
TMP=$(mktemp -d /tmp/owu-cli-host-XXXXXX)
HOST_PID=
cleanup() { [ -n "$HOST_PID" ] && kill "$HOST_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
export OPENWINUSB_USB_IDS=/dev/null OPENWINUSB_REGISTRY=none
pass=0
fail=0
check() {
    local what=$1; shift
    if "$@" >/dev/null 2>&1; then echo "ok   $what"; pass=$((pass + 1)); else echo "FAIL $what"; fail=$((fail + 1)); fi
}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }

SOCK=$TMP/host.sock
OPENWINUSB_BUSES=virtual:composite,fx2 "$CLI" host --socket "$SOCK" >"$TMP/host.log" 2>&1 &
HOST_PID=$!
for _ in $(seq 1 300); do [ -S "$SOCK" ] && break; sleep 0.1; done
check "the host creates its socket" test -S "$SOCK"

local_ids=$(OPENWINUSB_BUSES=virtual:composite "$CLI" tree --json |
    json 'n=d["root"]["children"][0]["children"][0]; print(n["device_id"], n["instance_id"], len(n["children"]), n["children"][1]["instance_id"])')
out=$(OPENWINUSB_BUSES="host=$SOCK" "$CLI" tree --json)
check "a client sees both devices" json 'assert len(d["root"]["children"][0]["children"])==2' <<<"$out"
remote_ids=$(json 'n=[c for c in d["root"]["children"][0]["children"] if c["vid"]==0x1209][0]; print(n["device_id"], n["instance_id"], len(n["children"]), n["children"][1]["instance_id"])' <<<"$out")
check "the composite device has its local Windows IDs" test "$local_ids" = "$remote_ids"
check "two clients at once" bash -c 'OPENWINUSB_BUSES="host=$1" "$2" tree >/dev/null & p=$!; OPENWINUSB_BUSES="host=$1" "$2" tree >/dev/null && wait $p' _ "$SOCK" "$CLI"
out=$(OPENWINUSB_BUSES="host=$TMP/none.sock" "$CLI" tree 2>&1)
check "no host: a clear error" grep -q "none.sock" <<<"$out"
OPENWINUSB_BUSES=virtual:fx2 "$CLI" host --socket "$SOCK" >/dev/null 2>&1
check "a second host on the same socket is refused" test $? -ne 0
kill "$HOST_PID"; wait "$HOST_PID" 2>/dev/null; HOST_PID=
check "SIGTERM removes the socket" test ! -e "$SOCK"

echo "$pass passed, $fail failed"
exit $((fail != 0))
