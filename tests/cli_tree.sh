#!/bin/bash
# The openwinusb command: tree, ids (profile and sysfs), profile, models, --json, --help and
# the errors a user sees. Usage: cli_tree.sh PATH/TO/openwinusb TESTS/DATA
set -u
CLI=$1
DATA=$2
TMP=$(mktemp -d /tmp/owu-cli-tree-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
export OPENWINUSB_USB_IDS=/dev/null
pass=0
fail=0
check() { # description, then a command that must succeed
    local what=$1; shift
    if "$@" >/dev/null 2>&1; then echo "ok   $what"; pass=$((pass + 1)); else echo "FAIL $what"; fail=$((fail + 1)); fi
}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }

# --- tree ---------------------------------------------------------------------------------
out=$(OPENWINUSB_BUSES=virtual:all "$CLI" tree)
check "tree exits 0" test $? -eq 0
check "tree shows the FX2" grep -q "USB\\\\VID_0547&PID_1002&REV_0000" <<<"$out"
check "tree shows composite children" grep -q "USB\\\\VID_1209&PID_0002&MI_02" <<<"$out"
check "tree shows the chosen driver" grep -q "Driver: *usbser (usbser.inf" <<<"$out"

out=$(OPENWINUSB_BUSES="virtual:fx2,composite" "$CLI" tree --json)
check "tree --json is JSON" json 'assert d["format"]=="openwinusb-tree" and d["version"]==1' <<<"$out"
check "tree --json: two devices on the bus" json 'assert len(d["root"]["children"][0]["children"])==2' <<<"$out"
check "tree --json: composite has 3 functions" \
    json 'c=d["root"]["children"][0]["children"][1]; assert c["composite"] and len(c["children"])==3' <<<"$out"
check "tree --json: WinUSB function has its MS OS property" \
    json 'f=d["root"]["children"][0]["children"][1]["children"][1]; assert f["msos_compatible_id"]=="WINUSB"; assert f["properties"][0]["name"]=="DeviceInterfaceGUIDs"; assert f["driver"]["service"]=="WinUsb"' <<<"$out"
check "tree --json: bus location" json 'assert d["root"]["children"][0]["children"][0]["bus_location"]=="virtual:1-1"' <<<"$out"

out=$(OPENWINUSB_BUSES=virtual:fx2 "$CLI" tree --target win11)
check "--target win11 adds COMPAT_VID IDs" grep -q "USB\\\\COMPAT_VID_0547&Class_FF&SubClass_00&Prot_00" <<<"$out"
out=$(OPENWINUSB_BUSES=virtual:fx2 OPENWINUSB_TARGET=win11 "$CLI" tree --json)
check "OPENWINUSB_TARGET=win11 works too" json 'assert d["target"]=="win11"' <<<"$out"
out=$(OPENWINUSB_BUSES=virtual:fx2 "$CLI" tree)
check "win10 has no COMPAT_VID IDs" bash -c '! grep -q COMPAT_VID <<<"$0"' "$out"

out=$(OPENWINUSB_BUSES="virtual:nonsense" "$CLI" tree 2>&1)
check "bad OPENWINUSB_BUSES fails with exit 1" test $? -eq 1
check "bad OPENWINUSB_BUSES names the model" grep -q 'unknown virtual device model "nonsense"' <<<"$out"
# USB/IP (issue 7): a server that is not there fails clearly (port 1: nothing listens).
out=$(OPENWINUSB_BUSES="usbip=127.0.0.1:1" "$CLI" tree 2>&1)
check "an unreachable USB/IP server fails clearly" grep -q "USB/IP server 127.0.0.1:1: cannot connect" <<<"$out"
if [ ! -d /sys/bus/usb/devices ]; then
    out=$(OPENWINUSB_BUSES="usbfs" "$CLI" tree 2>&1)
    check "usbfs on a machine without USB fails clearly" grep -q "usbfs is not available here" <<<"$out"
    check "usbfs? on a machine without USB is skipped" env OPENWINUSB_BUSES="usbfs?;virtual:fx2" "$CLI" tree
fi
out=$("$CLI" tree --bogus 2>&1)
check "unknown option is a usage error" test $? -eq 2
out=$("$CLI" tree --target win7 2>&1)
check "bad --target is a usage error" grep -q "win10 or win11" <<<"$out"

# --- failure IDs through the command ---------------------------------------------------
out=$(OPENWINUSB_BUSES=virtual:hostile-stall-device "$CLI" tree --json)
check "failed device shows its Windows failure ID" \
    json 'n=d["root"]["children"][0]["children"][0]; assert n["failure"]=="USB\\DEVICE_DESCRIPTOR_FAILURE"; assert n["device_id"]=="USB\\VID_0000&PID_0002"; assert n["failure_detail"]' <<<"$out"

# --- profile save and ids ----------------------------------------------------------------
check "profile saves a device" env OPENWINUSB_BUSES=virtual:composite "$CLI" profile virtual:1-1 -o "$TMP/c.json"
check "saved profile is JSON" json 'assert d["format"]=="openwinusb-device-profile"' <"$TMP/c.json"
a=$(OPENWINUSB_BUSES=virtual:composite "$CLI" tree --json | json 'print(json.dumps(d["root"]["children"][0]["children"][0], sort_keys=True))')
b=$("$CLI" ids "$TMP/c.json" --json | json 'print(json.dumps(d["root"]["children"][0]["children"][0], sort_keys=True))')
check "ids of the saved profile equals the live device" test "$a" = "$b"
out=$(OPENWINUSB_BUSES=virtual:composite "$CLI" profile 'USB\VID_1209&PID_0002&MI_02\6&E9F9F368&0&0002')
check "profile of a function saves its device" json 'assert d["device"].startswith("12 01 10 02")' <<<"$out"
out=$(OPENWINUSB_BUSES=virtual:fx2 "$CLI" profile virtual:1-9 2>&1)
check "profile of an unknown device fails" grep -q 'no device "virtual:1-9"' <<<"$out"

for p in "$DATA"/profiles/*.json; do
    check "ids $(basename "$p")" "$CLI" ids "$p"
done
out=$("$CLI" ids "$DATA/profiles/winusb-msos20.json")
check "ids of an MS OS 2.0 profile shows MS_COMP_WINUSB" grep -q "USB\\\\MS_COMP_WINUSB" <<<"$out"
# Describing a device from a file leaves the user's Device Parameters alone.
mkdir -p "$TMP/ids-reg"
OPENWINUSB_REGISTRY="$TMP/ids-reg" "$CLI" ids "$DATA/profiles/winusb-msos20.json" >/dev/null 2>&1
check "ids FILE writes no Device Parameters" test -z "$(ls -A "$TMP/ids-reg")"
echo '{"format": "openwinusb-device-profile", "version": 1, "speed": "high", "device": "12 01"}' >"$TMP/bad.json"
out=$("$CLI" ids "$TMP/bad.json" 2>&1)
check "bad profile fails with exit 1" test $? -eq 1
check "bad profile error names the field" grep -q "device" <<<"$out"
out=$("$CLI" ids "$TMP/missing.json" 2>&1)
check "missing profile file fails clearly" grep -q "missing.json" <<<"$out"
out=$("$CLI" ids 2>&1)
check "ids without input is a usage error" test $? -eq 2

# --- ids --from-sysfs with a directory laid out like /sys/bus/usb/devices/1-1 -------------
S=$TMP/sys/1-1
mkdir -p "$S"
printf '\x12\x01\x00\x02\x00\x00\x00\x40\x6d\x04\x25\x08\x12\x00\x01\x02\x03\x01' >"$S/descriptors"
printf '\x09\x02\x19\x00\x01\x01\x00\x80\x32\x09\x04\x00\x00\x01\x0e\x01\x00\x00\x07\x05\x81\x03\x10\x00\x07' >>"$S/descriptors"
echo 480 >"$S/speed"; echo 1 >"$S/busnum"; echo 1 >"$S/devpath"; echo removable >"$S/removable"
echo "Logitech" >"$S/manufacturer"; echo "Webcam" >"$S/product"; echo E190CC90 >"$S/serial"
out=$("$CLI" ids --from-sysfs "$S" --json)
check "ids --from-sysfs: device ID" json 'n=d["root"]["children"][0]["children"][0]; assert n["device_id"]=="USB\\VID_046D&PID_0825"' <<<"$out"
check "ids --from-sysfs: serial instance ID" json 'n=d["root"]["children"][0]["children"][0]; assert n["instance_id"]=="USB\\VID_046D&PID_0825\\E190CC90"' <<<"$out"
check "ids --from-sysfs: Windows container ID of this serial" \
    json 'n=d["root"]["children"][0]["children"][0]; assert n["container_id"]=="{3e8be164-67c8-544f-83b8-ffdd10fc0add}"' <<<"$out"
out=$("$CLI" ids --from-sysfs "$TMP/nowhere" 2>&1)
check "ids --from-sysfs of a missing directory fails clearly" grep -q "nowhere" <<<"$out"

# --- a damaged Device Parameters store is reported and rebuilt ------------------------------
mkdir -p "$TMP/reg"
printf 'garbage\x01 not a registry\n' >"$TMP/reg/device-parameters.txt"
out=$(OPENWINUSB_REGISTRY="$TMP/reg" OPENWINUSB_BUSES=virtual:msos1 "$CLI" tree 2>&1 >/dev/null)
check "damaged registry: tree still works" test $? -eq 0
check "damaged registry is reported" grep -q "note: Device Parameters: .*damaged" <<<"$out"
check "damaged copy kept" test -f "$TMP/reg/device-parameters.bad"
check "store rewritten with the device's values" grep -q "DeviceIdleEnabled" "$TMP/reg/device-parameters.txt"

# --- hostile strings and files ------------------------------------------------------------
python3 - "$DATA/profiles/hid-mouse.json" "$TMP/esc.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
for s in d["strings"]:
    if "text" in s and s["index"] != 0:
        s["text"] = "\u001b]0;pwned\u0007\u001b[2J" + s["text"]
json.dump(d, open(sys.argv[2], "w"))
PYEOF
out=$("$CLI" ids "$TMP/esc.json")
check "control characters from a device never reach the terminal" bash -c '! grep -q $'"'"'\x1b'"'"' <<<"$0" && ! grep -q $'"'"'\x07'"'"' <<<"$0"' "$out"
check "they are shown escaped" grep -q '\\x1B\]0;pwned' <<<"$out"
out=$("$CLI" ids "$TMP/esc.json" --json)
check "JSON output escapes them" json 'import re; assert "\x1b" in d["root"]["children"][0]["children"][0]["description"]' <<<"$out"
mkfifo "$TMP/fifo"
out=$(timeout 10 "$CLI" ids "$TMP/fifo" 2>&1)
check "a FIFO given as a profile fails at once" grep -q "not a regular file" <<<"$out"
out=$("$CLI" ids --from-sysfs 2>&1)
check "--from-sysfs without a directory says so" grep -q "needs a directory" <<<"$out"
out=$("$CLI" tree --target 2>&1)
check "--target without a value says so" grep -q "needs a value" <<<"$out"

# --- help, models, unknown command ----------------------------------------------------------
check "--help exits 0" "$CLI" --help
out=$("$CLI" --help)
check "--help lists the commands" grep -q "ids --from-sysfs DIR" <<<"$out"
out=$("$CLI" models)
check "models lists fx2 and the hostile ones" bash -c 'grep -q "^fx2 " <<<"$0" && grep -q "^hostile-silent" <<<"$0"' "$out"
"$CLI" frobnicate >/dev/null 2>&1
check "unknown command exits 2" test $? -eq 2

echo "$pass passed, $fail failed"
exit $((fail != 0))
