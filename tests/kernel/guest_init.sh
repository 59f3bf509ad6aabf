#!/bin/busybox sh
# /init of the test VM (tests/kernel/run.sh): mounts, loads modules, builds the composite
# gadget (ACM + Loopback + SourceSink) on dummy_udc.0, runs every test program and prints
# "OWU-KERNEL-RESULT: N" (0 = all passed), then powers off.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
echo "=== OWU guest: $(uname -r)"
for m in $(cat /modules.list); do
    insmod "$m" || echo "=== OWU insmod $m failed"
done
mount -t configfs configfs /sys/kernel/config

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
    echo "acm+loopback" > configs/c.1/strings/0x409/configuration
    mkdir -p functions/acm.usb0 functions/Loopback.0
    echo 65536 > functions/Loopback.0/bulk_buflen
    ln -s functions/acm.usb0 configs/c.1/
    ln -s functions/Loopback.0 configs/c.1/
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
export OPENWINUSB_BUSES=usbfs OPENWINUSB_REGISTRY=none OPENWINUSB_DRIVER_STORE=/tmp/empty-store
if [ -x /bin/openwinusb ]; then
    echo "=== OWU openwinusb tree"
    /bin/openwinusb tree 2>&1
fi
rc=0
for t in $(cat /tests.list); do
    echo "=== OWU running $t"
    /tests/$t 2>&1
    r=$?
    echo "=== OWU $t exited $r"
    [ $r -ne 0 ] && rc=1
done
echo "OWU-KERNEL-RESULT: $rc"
sync
poweroff -f
