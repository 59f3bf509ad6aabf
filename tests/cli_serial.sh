#!/usr/bin/env bash
# `openwinusb serial COMn --pty` end to end: the bridge runs in the background on the virtual
# cdc-acm model; pyserial (Debian's python3-serial) opens the printed pty path, sets
# 115200 8E1, loops patterned bytes through the device and back, changes parity and stop
# bits and drops to B0; the bridge's log shows what the device (the model) reports for each,
# and that pyserial's input flush (tcflush on the slave) purged the port's receive buffer;
# then picocom sets odd parity and two stop bits through the same path, and GNU screen
# (detached) sets 19200 and sends text that comes back through the device.
# usage: cli_serial.sh OPENWINUSB_BINARY DATA_DIR
set -u
CLI=$1
fail() { echo "FAIL: $*" >&2; exit 1; }

"$CLI" serial --help >/dev/null 2>&1 || fail "openwinusb serial --help failed"

PY=""
for p in /usr/bin/python3 python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import serial' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || fail "pyserial is not installed (Debian package python3-serial; run.sh installs it)"

WORK=$(mktemp -d)
BRIDGE=""
cleanup() {
    [ -n "$BRIDGE" ] && kill "$BRIDGE" 2>/dev/null && wait "$BRIDGE" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
chmod 700 "$WORK"
export XDG_RUNTIME_DIR=$WORK OPENWINUSB_BUSES=virtual:cdc-acm OPENWINUSB_REGISTRY=none

# Bad arguments.
"$CLI" serial >/dev/null 2>&1; [ $? -eq 2 ] || fail "serial without a port should exit 2"
"$CLI" serial COM3 --pty --line 9600,9Q1 >/dev/null 2>&1; [ $? -eq 2 ] || fail "a bad --line should exit 2"
"$CLI" serial COM3 --pty=tty >/dev/null 2>"$WORK/err"; [ $? -eq 2 ] || fail "--pty=tty should exit 2"
grep -q 'auto, cuse or pts' "$WORK/err" || fail "--pty=tty message: $(cat "$WORK/err")"
"$CLI" serial COM3 --pty=cuse --tty-name ../x >/dev/null 2>"$WORK/err"; [ $? -eq 2 ] || fail "a bad --tty-name should exit 2"
grep -q '"../x"' "$WORK/err" || fail "--tty-name message: $(cat "$WORK/err")"
if [ ! -e /dev/cuse ]; then
    # No CUSE here: asked for, it fails naming /dev/cuse; --pty (auto) falls back and says so.
    "$CLI" serial COM3 --pty=cuse >/dev/null 2>"$WORK/err"; [ $? -eq 1 ] || fail "--pty=cuse without /dev/cuse should exit 1"
    grep -q '/dev/cuse' "$WORK/err" || fail "--pty=cuse message: $(cat "$WORK/err")"
    "$CLI" serial COM3 --pty --link "$WORK/auto" >"$WORK/log" 2>"$WORK/err" &
    BRIDGE=$!
    for _ in $(seq 1 200); do [ -L "$WORK/auto" ] && break; sleep 0.05; done
    kill "$BRIDGE"; wait "$BRIDGE"; BRIDGE=""
    grep -q "^COM3: $WORK/auto -> /dev/pts/" "$WORK/log" || fail "auto fallback start line: $(cat "$WORK/log")"
    grep -q "using a pseudo-terminal instead" "$WORK/err" || fail "auto fallback note: $(cat "$WORK/err")"
fi
"$CLI" serial COM42 --pty >/dev/null 2>"$WORK/err"; [ $? -eq 1 ] || fail "an absent port should exit 1"
grep -q "COM42" "$WORK/err" || fail "the message should name COM42: $(cat "$WORK/err")"

"$CLI" serial --list >"$WORK/list" || fail "serial --list failed"
grep -q "^COM3	USB\\\\VID_1209&PID_0001&MI_00" "$WORK/list" || fail "list: $(cat "$WORK/list")"

# Even parity cannot travel through a Linux pty (it clears PARENB): --line says it.
"$CLI" serial COM3 --pty=pts --line 9600,8E1 --verbose >"$WORK/log" 2>"$WORK/errlog" &
BRIDGE=$!
LINK=$WORK/openwinusb/COM3
for _ in $(seq 1 200); do [ -L "$LINK" ] && grep -q -- "->" "$WORK/log" && break; sleep 0.05; done
[ -L "$LINK" ] || fail "no link $LINK; log: $(cat "$WORK/log" "$WORK/errlog")"
grep -q "^COM3: $LINK -> /dev/pts/[0-9]* (virtual:1-1, 9600 8E1)" "$WORK/log" || fail "start line: $(cat "$WORK/log")"

"$PY" - "$LINK" <<'EOF' || fail "pyserial session failed; bridge log: $(cat "$WORK/log" "$WORK/errlog")"
import sys, time, termios
import serial

s = serial.Serial(sys.argv[1], 115200, bytesize=8, parity="E", stopbits=1, timeout=10)
total = 1 << 20
data = bytes(((i * 2654435761) >> 13 ^ (i >> 8)) & 0xFF for i in range(total))
out = bytearray()
chunk = 16384
for off in range(0, total, chunk):
    s.write(data[off:off + chunk])
    want = min(off + chunk, total)
    while len(out) < want:
        b = s.read(want - len(out))
        if not b:
            sys.exit("timed out after %d of %d bytes" % (len(out), total))
        out += b
if bytes(out) != data:
    bad = next(i for i in range(total) if out[i] != data[i])
    sys.exit("byte %d differs" % bad)
time.sleep(0.3)
s.parity = "O"; time.sleep(0.3)
s.parity = "M"; time.sleep(0.3)
s.parity = "S"; s.stopbits = 2; time.sleep(0.3)
# B0 drops DTR, leaving it raises DTR again (Linux cdc-acm behaviour).
a = termios.tcgetattr(s.fd)
a[4] = a[5] = termios.B0
termios.tcsetattr(s.fd, termios.TCSANOW, a)
time.sleep(0.3)
a[4] = a[5] = termios.B57600
termios.tcsetattr(s.fd, termios.TCSANOW, a)
time.sleep(0.3)
s.close()
EOF

# picocom (Debian's) on the same path: odd parity and two stop bits survive the pty (PARODD,
# CSTOPB), its data bits do not (CS8 forced; --line's 8 stay). (Its init string reaching a
# device is checked in the VM, tests/kernel/guest_test_serialtty.c: here picocom's exit
# flushes the loopback's echo.)
command -v picocom >/dev/null 2>&1 || fail "picocom is not installed (Debian package picocom; run.sh installs it)"
timeout 20 picocom -q -b 57600 -d 7 -y o -p 2 -X -t "hello from picocom" "$LINK" </dev/null ||
    fail "picocom failed on $LINK"
for _ in $(seq 1 100); do grep -qF "line coding 57600 8O2" "$WORK/log" && break; sleep 0.05; done
grep -qF "line coding 57600 8O2 (device reports 57600 8O2)" "$WORK/log" ||
    fail "picocom's settings did not reach the device: $(cat "$WORK/log")"

# GNU screen (Debian's), detached, on the same path at 19200: what is typed into its window
# goes to the device, comes back from the model's loopback and shows in screen's log.
command -v screen >/dev/null 2>&1 || fail "screen is not installed (Debian package screen; run.sh installs it)"
mkdir -m 700 "$WORK/screens"
export SCREENDIR=$WORK/screens TERM=${TERM:-vt100}
[ "$TERM" = dumb ] && export TERM=vt100
screen -dmS owu-cli-serial -L -Logfile "$WORK/screen.log" "$LINK" 19200,cs8 || fail "screen did not start"
for _ in $(seq 1 100); do grep -qF "line coding 19200" "$WORK/log" && break; sleep 0.05; done
screen -S owu-cli-serial -X logfile flush 0
screen -S owu-cli-serial -X stuff "hello from screen"
for _ in $(seq 1 100); do grep -qF "hello from screen" "$WORK/screen.log" 2>/dev/null && break; sleep 0.05; done
screen -S owu-cli-serial -X quit
grep -qF "hello from screen" "$WORK/screen.log" || fail "screen's text did not come back: $(cat -v "$WORK/screen.log" 2>&1)"
# screen sets its own c_cflag (no PARODD, CSTOPB): 8 bits and even parity from --line.
grep -qF "line coding 19200 8E1 (device reports 19200 8E1)" "$WORK/log" ||
    fail "screen's rate did not reach the device: $(cat "$WORK/log")"

kill "$BRIDGE"; wait "$BRIDGE"; BRIDGE=""
[ ! -e "$LINK" ] || fail "the link should be removed at exit"
log=$(cat "$WORK/log")
for want in "line coding 115200 8E1 (device reports 115200 8E1)" \
            "line coding 115200 8O1 (device reports 115200 8O1)" \
            "line coding 115200 8M1 (device reports 115200 8M1)" \
            "line coding 115200 8S2 (device reports 115200 8S2)" \
            "B0: DTR dropped" "leaving B0: DTR raised" \
            "input flushed: receive buffer purged" \
            "line coding 57600 8S2 (device reports 57600 8S2)"; do
    grep -qF "$want" <<<"$log" || fail "bridge log lacks \"$want\": $log"
done
echo "ok"
