#!/bin/busybox sh
# /init of the test VM (tests/kernel/run.sh): mounts, loads modules, builds the composite
# gadget (ACM with IAD + Loopback + SourceSink + HID keyboard) on dummy_udc.0, runs every test program and prints
# "OWU-KERNEL-RESULT: N" (0 = all passed), then powers off. With /mode = "bench" it runs
# /tests/bench_usbfs instead (its table on the console) and reports its status the same way,
# then /tests/guest_bench_usbip when present (a table only).
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
echo "=== OWU guest: $(uname -r)"
for m in $(cat /modules.list); do
    insmod "$m" || echo "=== OWU insmod $m failed"
done
mount -t configfs configfs /sys/kernel/config
# Loopback networking for USB/IP between the guest's usbipd/vhci-hcd and openwinusb.
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up

G=/sys/kernel/config/usb_gadget/owu
gadget_setup() {
    mkdir -p $G && cd $G || return 1
    echo 0x1209 > idVendor
    echo 0x0001 > idProduct
    echo 0x0200 > bcdUSB
    echo 0x0100 > bcdDevice
    echo 0xEF > bDeviceClass
    echo 0x02 > bDeviceSubClass
    echo 0x01 > bDeviceProtocol
    mkdir -p strings/0x409
    echo openwinusb > strings/0x409/manufacturer
    echo "owu test composite" > strings/0x409/product
    echo OWU0001 > strings/0x409/serialnumber
    mkdir -p configs/c.1/strings/0x409
    echo 100 > configs/c.1/MaxPower
    echo "acm+loopback+sourcesink" > configs/c.1/strings/0x409/configuration
    mkdir -p functions/acm.usb0 functions/Loopback.0 functions/SourceSink.0
    if [ "$(cat /mode 2>/dev/null)" = bench ]; then
        # bench_usbfs: every size it moves (16 KiB .. 1 MiB) is whole Loopback requests, so
        # no write needs a ZLP; 128 requests hold a synchronous 1 MiB write before its read.
        echo 16384 > functions/Loopback.0/bulk_buflen
        echo 128 > functions/Loopback.0/qlen
    else
        echo 65536 > functions/Loopback.0/bulk_buflen
    fi
    # SourceSink (interface 3): its IN endpoint always has data, its OUT endpoint takes
    # anything and checks it; pattern 1 = byte j of every packet is j % 63 (a bad byte
    # halts the OUT endpoint).
    echo 1 > functions/SourceSink.0/pattern
    # HID boot keyboard (interface 4): its Windows IDs are checked, nothing more.
    mkdir -p functions/hid.usb0
    echo 1 > functions/hid.usb0/protocol
    echo 1 > functions/hid.usb0/subclass
    echo 8 > functions/hid.usb0/report_length
    printf '\005\001\011\006\241\001\005\007\031\340\051\347\025\000\045\001\165\001\225\010\201\002\225\001\165\010\201\003\225\005\165\001\005\010\031\001\051\005\221\002\225\001\165\003\221\003\225\006\165\010\025\000\045\145\005\007\031\000\051\145\201\000\300' > functions/hid.usb0/report_desc
    ln -s functions/acm.usb0 configs/c.1/
    ln -s functions/Loopback.0 configs/c.1/
    ln -s functions/SourceSink.0 configs/c.1/
    ln -s functions/hid.usb0 configs/c.1/
    cd /
}
gadget_setup || echo "=== OWU gadget setup failed"
echo dummy_udc.0 > $G/UDC || echo "=== OWU binding the gadget failed"
# Let the kernel enumerate and configure it.
i=0
while [ $i -lt 300 ] && [ -z "$(cat /sys/bus/usb/devices/1-1/bConfigurationValue 2>/dev/null)" ]; do
    sleep 0.1
    i=$((i + 1))
done
sleep 0.5
echo "=== OWU usb devices: $(ls /sys/bus/usb/devices | tr '\n' ' ')"

export OWU_GADGET=$G OWU_UDC=dummy_udc.0
[ -f /strict ] && export OWU_KERNEL_STRICT=1
[ -f /usbip.env ] && export $(cat /usbip.env)
export OPENWINUSB_BUSES=usbfs OPENWINUSB_REGISTRY=none OPENWINUSB_DRIVER_STORE=/tmp/empty-store
if [ -x /bin/openwinusb ]; then
    echo "=== OWU openwinusb tree"
    /bin/openwinusb tree 2>&1
fi
rc=0
if [ "$(cat /mode 2>/dev/null)" = bench ]; then
    # Up to 16 x 1 MiB reads and writes in flight: beyond the default 16 MiB usbfs budget.
    echo 0 > /sys/module/usbcore/parameters/usbfs_memory_mb
    echo "=== OWU running bench_usbfs"
    t0=$(date +%s)
    OPENWINUSB_DRIVER_STORE=/driver /tests/bench_usbfs --peer /tests/guest_bench_libusb 2>&1
    rc=$?
    echo "=== OWU bench_usbfs exited $rc after $(( $(date +%s) - t0 )) s"
    if [ -x /tests/guest_bench_usbip ]; then
        # Not part of the status: a table only.
        echo "=== OWU running guest_bench_usbip"
        t0=$(date +%s)
        /tests/guest_bench_usbip --peer /tests/guest_bench_libusb 2>&1
        echo "=== OWU guest_bench_usbip exited $? after $(( $(date +%s) - t0 )) s"
    fi
else
    for t in $(cat /tests.list); do
        echo "=== OWU running $t"
        # guest_test_usbfs works without driver packages; the others use the vendor INF of
        # tests/kernel/driver/ (WinUSB on the Loopback function).
        store=/driver
        [ "$t" = guest_test_usbfs ] && store=/tmp/empty-store
        t0=$(date +%s)
        OPENWINUSB_DRIVER_STORE=$store /tests/$t 2>&1
        r=$?
        echo "=== OWU $t exited $r after $(( $(date +%s) - t0 )) s"
        [ $r -ne 0 ] && rc=1
    done
fi
echo "OWU-KERNEL-RESULT: $rc"
sync
poweroff -f
