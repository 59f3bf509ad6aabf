#!/bin/bash
# `openwinusb driver add|list|remove` and `openwinusb why` against a temporary driver store
# and virtual devices. Usage: cli_driver.sh PATH/TO/openwinusb TESTS/DATA
set -u
CLI=$1
DATA=$2
STORE=$(mktemp -d /tmp/owu-cli-driver-XXXXXX)
trap 'rm -rf "$STORE"' EXIT
export OPENWINUSB_DRIVER_STORE=$STORE/drivers
export OPENWINUSB_BUSES="virtual:cdc-acm,composite,fx2"
unset OPENWINUSB_DRIVER_TRUST
fail=0
pass=0
check() { # description, then a command that must succeed
    local what=$1; shift
    if "$@" >/dev/null; then echo "ok   $what"; pass=$((pass + 1)); else echo "FAIL $what"; fail=$((fail + 1)); fi
}

TINY=adafruit__USBtinyISP_WinUSB__USBtiny_WinUSB.inf

out=$("$CLI" driver list)
check "list shows the in-box packages" grep -q "^usbser.inf .*in-box" <<<"$out"
check "list names the store" grep -q "User store: $OPENWINUSB_DRIVER_STORE" <<<"$out"

out=$("$CLI" driver add "$DATA/inf/$TINY")
check "add succeeds" test $? -eq 0
check "add names the package" grep -q "added $TINY" <<<"$out"
check "add copies the file" test -f "$OPENWINUSB_DRIVER_STORE/$TINY"

out=$("$CLI" driver add "$DATA/inf/$TINY" 2>&1)
rc=$?
check "duplicate add fails" test $rc -eq 1
check "duplicate add says why" grep -q "already has" <<<"$out"
check "duplicate add suggests --replace" grep -q -- "--replace" <<<"$out"
check "add --replace succeeds" "$CLI" driver add "$DATA/inf/$TINY" --replace

json=$("$CLI" driver list --json)
check "list --json has the user package" grep -q "\"name\": \"$TINY\"" <<<"$json"
check "list --json is valid JSON" python3 -c 'import json,sys; d=json.load(sys.stdin); assert any(p["name"]=="usbser.inf" and p["inbox"] for p in d["packages"])' <<<"$json"

"$CLI" driver add /nonexistent/x.inf >/dev/null 2>&1
check "add of a missing file fails" test $? -eq 1
"$CLI" driver frobnicate >/dev/null 2>&1
check "unknown subcommand is a usage error" test $? -eq 2

# A corrupt INF in the store is a warning, never fatal.
printf 'garbage\n' >"$OPENWINUSB_DRIVER_STORE/corrupt.inf"
out=$("$CLI" driver list 2>&1)
check "corrupt INF: list still works" grep -q "$TINY" <<<"$out"
check "corrupt INF: reported" grep -q "warning: corrupt.inf" <<<"$out"
check "remove of the corrupt file" "$CLI" driver remove corrupt.inf

# why: the CDC-ACM function of virtual:1-1 gets usbser, the composite parent usbccgp.
fn=$("$CLI" tree | grep -o 'USB\\VID_1209&PID_0001&MI_00\\[^ ]*' | head -1)
out=$("$CLI" why "$fn")
check "why CDC function: usbser wins" grep -q "Result: usbser from usbser.inf" <<<"$out"
check "why CDC function: rank" grep -q "winner     rank 0x00FF2000" <<<"$out"
out=$("$CLI" why virtual:1-2)
check "why composite: usbccgp" grep -q "Result: usbccgp from usb.inf" <<<"$out"
out=$("$CLI" why virtual:1-3 --json)
check "why fx2 --json: no candidate" python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["winner"] is None and d["candidates"]==[]' <<<"$out"
"$CLI" why virtual:9-9 >/dev/null 2>&1
check "why of an unknown node fails" test $? -eq 1
"$CLI" why >/dev/null 2>&1
check "why without NODE is a usage error" test $? -eq 2

check "remove the package" "$CLI" driver remove "$TINY"
check "the file is gone" test ! -e "$OPENWINUSB_DRIVER_STORE/$TINY"
"$CLI" driver remove "$TINY" >/dev/null 2>&1
check "remove of an unknown package fails" test $? -eq 1
out=$("$CLI" driver remove usbser.inf 2>&1)
check "in-box packages cannot be removed" grep -q "in-box" <<<"$out"

echo "$pass passed, $fail failed"
exit $((fail != 0))
