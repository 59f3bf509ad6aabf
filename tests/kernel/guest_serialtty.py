#!/usr/bin/env python3
"""pyserial on the CUSE terminal of `openwinusb serial ... --pty`, inside the test VM.

Driven by guest_test_serialtty.c, which plays the gadget's side of the line (/dev/ttyGS0):
this script prints a step on stdout and waits for "go" on stdin before going on. It checks
what a Linux pseudo-terminal cannot do: 7 data bits with even parity set through termios,
and modem lines (DCD, DSR) and a break that follow what the device reports in SERIAL_STATE.

    guest_serialtty.py PORT_PATH
    guest_serialtty.py --list-modules   (run.sh: the files Python needs in the VM)
"""
import fcntl
import struct
import sys
import time

import serial

TIOCGICOUNT = 0x545D
BRK = 9   # serial_icounter_struct: cts dsr rng dcd rx tx frame overrun parity brk ...


def fail(what):
    print("FAIL: " + what, flush=True)
    sys.exit(1)


def step(what):
    print(what, flush=True)
    if sys.stdin.readline().strip() != "go":
        fail("no answer to step " + what)


def wait_for(cond, what, secs=5.0):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.02)
    fail(what)


def breaks(fd):
    buf = bytearray(80)
    fcntl.ioctl(fd, TIOCGICOUNT, buf)
    return struct.unpack("20i", bytes(buf))[BRK]


def main():
    if sys.argv[1:] == ["--list-modules"]:
        files = {getattr(m, "__file__", None) for m in list(sys.modules.values())}
        print("\n".join(sorted(f for f in files if f)))
        return
    s = serial.Serial(sys.argv[1], 115200, bytesize=serial.SEVENBITS, parity=serial.PARITY_EVEN,
                      stopbits=serial.STOPBITS_ONE, timeout=5)
    # The gadget's side is open: f_acm reports carrier and DSR.
    wait_for(lambda: s.cd and s.dsr, "DCD and DSR up while the gadget side is open")
    s.write(b"hello from pyserial 7E1\n")
    s.flush()   # tcdrain
    step("expect hello")
    line = s.readline()
    if line != b"hello from the gadget\n":
        fail("read %r" % line)
    step("close gadget")
    wait_for(lambda: not s.cd and not s.dsr, "DCD and DSR down after the gadget side closed")
    step("open gadget")
    wait_for(lambda: s.cd and s.dsr, "DCD and DSR up again")
    before = breaks(s.fd)
    step("break from gadget")
    wait_for(lambda: breaks(s.fd) > before, "a break from the gadget counted in TIOCGICOUNT")
    s.close()
    print("ok", flush=True)


main()
