#!/bin/bash
# USB/IP from the command line: `openwinusb export` in the background on an ephemeral
# loopback port, then `list --remote` (text and JSON), `attach` (prints the imported tree
# with the Windows IDs), a second importer refused while `attach --hold` holds the device,
# `detach`, and the errors a user sees.
# Usage: cli_usbip.sh PATH/TO/openwinusb TESTS/DATA
set -u
CLI=$1
TMP=$(mktemp -d /tmp/owu-cli-usbip-XXXXXX)
export XDG_RUNTIME_DIR=$TMP
export OPENWINUSB_USB_IDS=/dev/null
SERVER=""
HOLDER=""
cleanup() {
    [ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null && wait "$HOLDER" 2>/dev/null
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
pass=0
fail=0
check() { # description, then a command that must succeed
    local what=$1; shift
    if "$@" >/dev/null 2>&1; then echo "ok   $what"; pass=$((pass + 1)); else echo "FAIL $what"; fail=$((fail + 1)); fi
}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }

# --- export, config file --------------------------------------------------------------------
cat >"$TMP/export.conf" <<'EOF'
# shared devices
listen 127.0.0.1:0
fx2
cdc-acm   # the serial one
EOF
"$CLI" export --config "$TMP/export.conf" >"$TMP/server.out" 2>"$TMP/server.err" &
SERVER=$!
PORT=""
for _ in $(seq 1 500); do
    PORT=$(sed -n 's/^openwinusb export: listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$TMP/server.out")
    [ -n "$PORT" ] && break
    kill -0 "$SERVER" 2>/dev/null || break
    sleep 0.01
done
check "export prints its ephemeral port" test -n "$PORT"
if [ -z "$PORT" ]; then cat "$TMP/server.err"; echo "0 passed, 1 failed"; exit 1; fi
check "export lists what it shares" grep -q "1-1 *0547:1002" "$TMP/server.out"

out=$("$CLI" list --remote "127.0.0.1:$PORT")
check "list --remote exits 0" test $? -eq 0
check "list --remote shows the FX2" grep -q "1-1 *0547:1002" <<<"$out"
check "list --remote shows the CDC-ACM interfaces" grep -q "interface 1: class 0a/00/00" <<<"$out"
out=$("$CLI" list --remote "127.0.0.1:$PORT" --json)
check "list --remote --json" json 'assert [x["busid"] for x in d["devices"]]==["1-1","1-2"]; assert d["devices"][0]["vid"]=="0547"; assert d["devices"][1]["interfaces"]==[[2,2,1],[10,0,0]]' <<<"$out"

# Linux's own client tool parses our device list (when the Debian package usbip is installed;
# `usbip list -r` needs no kernel module).
USBIP_TOOL=$(command -v usbip || ls /usr/sbin/usbip 2>/dev/null || true)
if [ -n "$USBIP_TOOL" ]; then
    out=$("$USBIP_TOOL" --tcp-port "$PORT" list -r 127.0.0.1 2>&1)
    check "Linux usbip list -r reads our device list" grep -q "1-1: .*(0547:1002)" <<<"$out"
    check "Linux usbip list -r sees the CDC-ACM interfaces" grep -q "1 - .*(0a/00/00)" <<<"$out"
else
    echo "skip Linux usbip list -r (package usbip not installed)"
fi

# --- attach: the imported device with its Windows IDs, then released --------------------------
out=$("$CLI" attach "127.0.0.1:$PORT" 1-1 2>"$TMP/attach.err")
check "attach exits 0" test $? -eq 0
check "attach shows the device ID" grep -q 'USB\\VID_0547&PID_1002$' <<<"$out"
check "attach shows the USB/IP location" grep -q '\[usbip:1-1\]' <<<"$out"
check "attach says how programs reach it" grep -q "OPENWINUSB_BUSES=\"usbip=127.0.0.1:$PORT/1-1\"" "$TMP/attach.err"
out=$(OPENWINUSB_BUSES="usbip=127.0.0.1:$PORT" "$CLI" tree --json)
check "OPENWINUSB_BUSES=usbip= imports every export" json 'b=d["root"]["children"][0]; assert len(b["children"])==2; assert b["children"][1]["bus_location"]=="usbip:1-2"' <<<"$out"

# --- attach --hold keeps it; a second importer is refused; detach releases it ------------------
"$CLI" attach "127.0.0.1:$PORT" 1-1 --hold >"$TMP/hold.out" 2>"$TMP/hold.err" &
HOLDER=$!
for _ in $(seq 1 500); do
    grep -q "holding 1-1" "$TMP/hold.err" 2>/dev/null && break
    sleep 0.01
done
check "attach --hold holds" grep -q "holding 1-1" "$TMP/hold.err"
out=$("$CLI" attach "127.0.0.1:$PORT" 1-1 2>&1)
check "a second importer is refused" grep -q "refused: device busy" <<<"$out"
check "detach releases it" "$CLI" detach "127.0.0.1:$PORT" 1-1
wait "$HOLDER" 2>/dev/null
HOLDER=""
# The server frees the device once it has seen the holder's connection end (asynchronous).
attach_again() {
    for _ in $(seq 1 200); do
        "$CLI" attach "127.0.0.1:$PORT" 1-1 && return 0
        sleep 0.02
    done
    return 1
}
check "the device can be attached again" attach_again
out=$("$CLI" detach "127.0.0.1:$PORT" 1-1 2>&1)
check "detach of a device nobody holds explains itself" grep -q "is not held here" <<<"$out"

# --- errors -------------------------------------------------------------------------------------
out=$("$CLI" attach "127.0.0.1:$PORT" 9-9 2>&1)
check "attach of an unknown busid fails clearly" grep -q "refused: no such device" <<<"$out"
out=$("$CLI" list --remote 127.0.0.1:1 2>&1)
check "list of an absent server fails clearly" grep -q "cannot connect" <<<"$out"
out=$("$CLI" export nonsense 2>&1)
check "export of an unknown model fails clearly" grep -q 'unknown virtual device model "nonsense"' <<<"$out"
out=$("$CLI" export 2>&1)
check "export without devices says so" grep -q "name the devices" <<<"$out"
out=$("$CLI" export --listen nowhere fx2 2>&1)
check "bad --listen is refused" grep -q "takes ADDR:PORT" <<<"$out"
out=$("$CLI" export --listen "127.0.0.1:$PORT" fx2 2>&1)
check "a port in use is reported" grep -q "cannot listen on 127.0.0.1:$PORT" <<<"$out"

kill "$SERVER"
wait "$SERVER"
check "export stops cleanly on SIGTERM" test $? -eq 0
SERVER=""
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
