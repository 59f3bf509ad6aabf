#!/bin/bash
# Kernel-in-the-loop tests: boots Debian's kernel under QEMU (TCG, no KVM needed) with
# dummy_hcd and a configfs composite gadget, and runs the guest test programs against the
# real usbfs. Exits with the guest tests' status.
#
#   tests/kernel/run.sh BUILD_DIR [GUEST_PROGRAM...]
#   tests/kernel/run.sh --bench BUILD_DIR [BENCH_PROGRAM [LIBUSB_PEER [USBIP_BENCH]]]
#
# BUILD_DIR holds the built guest programs (default: tests/kernel/guest_test_* there).
# --bench boots the same VM but runs bench_usbfs (default BUILD_DIR/bench/bench_usbfs, with
# the libusb peer BUILD_DIR/tests/kernel/guest_bench_libusb when built) and prints its table;
# it exits with the benchmark's status. Then guest_bench_usbip (when built) prints our USB/IP
# client against vhci-hcd + libusb on the gadget exported by Linux's usbip-host (not part of
# the status). The driver packages of tests/kernel/driver/ are the guest's driver store
# (/driver). See docs/kernel-tests.md.
# The kernel package is fetched once into $OWU_KERNEL_CACHE (default
# ~/.cache/openwinusb/kernel) and reused. Needs root for apt-get only when
# qemu-system-x86, busybox-static, cpio or kmod are missing. See docs/usbfs.md.
set -euo pipefail

die() { echo "run.sh: $*" >&2; exit 2; }
# Exit status 77 = "skipped" for ctest (SKIP_RETURN_CODE): the machine cannot run the VM.
# OWU_KERNEL_REQUIRED=1 (set by ./run.sh test) turns that into a failure.
skip() {
    if [ "${OWU_KERNEL_REQUIRED:-0}" = 1 ]; then
        echo "run.sh: FAILED (OWU_KERNEL_REQUIRED=1): cannot run the VM: $*" >&2
        exit 1
    fi
    echo "run.sh: SKIPPED: $*" >&2
    exit 77
}

MODE=test
if [ "${1:-}" = "--bench" ]; then
    MODE=bench
    shift
fi
BUILD=${1:-}
[ -n "$BUILD" ] && [ -d "$BUILD" ] || die "usage: $0 [--bench] BUILD_DIR [PROGRAM...]"
BUILD=$(cd "$BUILD" && pwd)
shift
PROGRAMS=("$@")
if [ "$MODE" = bench ] && [ ${#PROGRAMS[@]} -eq 0 ]; then
    PROGRAMS=("$BUILD/bench/bench_usbfs")
    [ -x "$BUILD/tests/kernel/guest_bench_libusb" ] && PROGRAMS+=("$BUILD/tests/kernel/guest_bench_libusb")
    [ -x "$BUILD/tests/kernel/guest_bench_usbip" ] && PROGRAMS+=("$BUILD/tests/kernel/guest_bench_usbip")
fi
if [ ${#PROGRAMS[@]} -eq 0 ]; then
    for p in "$BUILD"/tests/kernel/guest_test_*; do
        [ -x "$p" ] && PROGRAMS+=("$p")
    done
fi
[ ${#PROGRAMS[@]} -gt 0 ] || die "no guest programs found in $BUILD/tests/kernel"
CLI=$BUILD/openwinusb
CACHE=${OWU_KERNEL_CACHE:-$HOME/.cache/openwinusb/kernel}
TIMEOUT=${OWU_KERNEL_TIMEOUT:-540}
t0=$(date +%s)

# ---- host tools (only when missing) --------------------------------------------------------
missing=()
for pkg in qemu-system-x86 busybox-static cpio kmod; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] || skip "needs ${missing[*]} (apt-get install ${missing[*]} as root)"
    echo "run.sh: installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2 ||
        { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2; } ||
        skip "cannot install ${missing[*]}"
fi

# ---- the kernel: exactly the package linux-image-amd64 depends on --------------------------
PKG=$(apt-cache depends linux-image-amd64 2>/dev/null |
      awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
[ -n "$PKG" ] || skip "cannot resolve the kernel package linux-image-amd64 depends on (apt-get update?)"
mkdir -p "$CACHE"
KROOT=$CACHE/$PKG
if [ ! -d "$KROOT/boot" ]; then
    deb=$(ls "$CACHE/${PKG}"_*.deb 2>/dev/null | head -n1 || true)
    if [ -z "$deb" ]; then
        (cd "$CACHE" && apt-get download "$PKG" >&2) || skip "apt-get download $PKG failed"
        deb=$(ls "$CACHE/${PKG}"_*.deb | head -n1)
    fi
    rm -rf "$KROOT.tmp"
    dpkg-deb -x "$deb" "$KROOT.tmp"
    mv "$KROOT.tmp" "$KROOT"
    rm -f "$deb"   # the unpacked tree is what is reused
fi
KVER=$(ls "$KROOT/lib/modules" | head -n1)
VMLINUZ=$KROOT/boot/vmlinuz-$KVER
[ -f "$VMLINUZ" ] || die "$VMLINUZ missing"
MODDIR=$KROOT/lib/modules/$KVER
[ -f "$MODDIR/modules.dep" ] || depmod -b "$KROOT" "$KVER"

# ---- initramfs ------------------------------------------------------------------------------
WORK=$(mktemp -d /tmp/owu-kernel.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
R=$WORK/root
mkdir -p "$R"/{bin,sbin,proc,sys,dev,tmp,run,etc,tests,lib/modules/"$KVER"}
cp /bin/busybox "$R/bin/busybox"

# Modules in load order (dependencies first), from modules.dep.
WANT="configfs usb-common usbcore udc-core libcomposite dummy_hcd u_serial usb_f_acm usb_f_ss_lb usb_f_hid usb_f_fs cdc-acm usbip-core usbip-host cuse"
# Loaded by guest_test_usbip only while it needs them (a vhci-hcd bus would otherwise sit
# beside dummy_hcd's in every other program's view); listed in /modules-later.list.
WANT_LATER="vhci-hcd"
order=()
add_mod() {   # $1 = path relative to $MODDIR
    local m
    for m in "${order[@]}"; do [ "$m" = "$1" ] && return; done
    order+=("$1")
}
for name in $WANT $WANT_LATER; do
    norm=${name//-/_}
    line=$(awk -v want="$norm" -F: '{ n = $1; sub(/.*\//, "", n); sub(/\.ko(\.[a-z]+)?$/, "", n);
                                      gsub(/-/, "_", n); if (n == want) { print; exit } }' "$MODDIR/modules.dep")
    [ -n "$line" ] || die "module $name not found in $MODDIR/modules.dep"
    path=${line%%:*}
    deps=${line#*:}
    # modules.dep lists dependencies so that the last one must be loaded first.
    rev=()
    for d in $deps; do rev=("$d" "${rev[@]}"); done
    for d in "${rev[@]}"; do add_mod "$d"; done
    add_mod "$path"
done
: > "$R/modules.list"
: > "$R/modules-later.list"
for m in "${order[@]}"; do
    mkdir -p "$R/lib/modules/$KVER/$(dirname "$m")"
    cp "$MODDIR/$m" "$R/lib/modules/$KVER/$m"
    list=modules.list
    for later in $WANT_LATER; do
        base=${m##*/}
        base=${base%%.ko*}
        [ "${base//-/_}" = "${later//-/_}" ] && list=modules-later.list
    done
    echo "/lib/modules/$KVER/$m" >> "$R/$list"
done

# Programs and the shared libraries they need.
copy_with_libs() {
    local bin=$1 dest=$2 lib
    cp "$bin" "$dest"
    for lib in $(ldd "$bin" 2>/dev/null | awk '/=>/ { print $3 } /^\t\// { print $1 }'); do
        [ -f "$lib" ] || continue
        mkdir -p "$R$(dirname "$lib")"
        [ -f "$R$lib" ] || cp -L "$lib" "$R$lib"
    done
}
names=()
for p in "${PROGRAMS[@]}"; do
    [ -x "$p" ] || die "$p is not an executable"
    copy_with_libs "$p" "$R/tests/"
    names+=("$(basename "$p")")
done
[ -x "$CLI" ] && copy_with_libs "$CLI" "$R/bin/openwinusb"
# Debian's USB/IP tools (package usbip) for guest_test_usbip: usbipd serves the gadget, usbip
# binds it to usbip-host / attaches through vhci-hcd. libudev reads sysfs itself (no udevd).
# Without them the program skips its checks.
mkdir -p "$R/usr/sbin" "$R/usr/bin"
for t in /usr/sbin/usbipd /usr/sbin/usbip; do
    [ -x "$t" ] && copy_with_libs "$t" "$R$t"
done
# The libusb peer of guest_test_usbip (isochronous transfers through vhci-hcd).
peer=$BUILD/tests/kernel/guest_usbip_iso_libusb
[ -x "$peer" ] && copy_with_libs "$peer" "$R/tests/"
for t in /usr/bin/lsusb /usr/bin/picocom; do
    [ -x "$t" ] && copy_with_libs "$t" "$R$t"
done
# Python with pyserial for guest_test_serialtty (tests/kernel/guest_serialtty.py): the
# interpreter, its libraries, and just the modules the script imports (it lists them).
for py in "$(dirname "$0")"/guest_*.py; do
    [ -f "$py" ] && cp "$py" "$R/tests/"
done
if [ -x /usr/bin/python3 ] && mods=$(/usr/bin/python3 "$(dirname "$0")/guest_serialtty.py" --list-modules 2>/dev/null); then
    copy_with_libs /usr/bin/python3 "$R/usr/bin/python3"
    for f in $mods; do
        [ -f "$f" ] || continue
        mkdir -p "$R$(dirname "$f")"
        cp "$f" "$R$f"
    done
else
    echo "run.sh: /usr/bin/python3 with pyserial (python3-serial) missing: guest_test_serialtty will fail" >&2
fi
mkdir -p "$R/driver"
for inf in "$(dirname "$0")"/driver/*.inf; do
    [ -f "$inf" ] && cp "$inf" "$R/driver/"
done
echo "$MODE" > "$R/mode"
# OWU_KERNEL_STRICT=1: checks of known, reported problems count as failures in the guest.
[ "${OWU_KERNEL_STRICT:-1}" = 1 ] && : > "$R/strict"
# OWU_KERNEL_USBIP=0: guest_test_usbip skips; OWU_KERNEL_USBIP_EXPORT=0: it skips its second
# half (openwinusb export + vhci-hcd) only.
echo "OWU_KERNEL_USBIP=${OWU_KERNEL_USBIP:-1} OWU_KERNEL_USBIP_EXPORT=${OWU_KERNEL_USBIP_EXPORT:-1}" > "$R/usbip.env"
cp "$(dirname "$0")/guest_init.sh" "$R/init"
chmod +x "$R/init"
echo "${names[*]}" > "$R/tests.list"

(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) > "$WORK/initramfs.gz"
t1=$(date +%s)
echo "run.sh: kernel $KVER, initramfs $(du -k "$WORK/initramfs.gz" | cut -f1) KiB, prepared in $((t1 - t0)) s" >&2

# ---- boot -----------------------------------------------------------------------------------
log_name=console.log
[ "$MODE" = bench ] && log_name=console-bench.log
LOG=${OWU_KERNEL_LOG:-$BUILD/tests/kernel/$log_name}
mkdir -p "$(dirname "$LOG")"
set +e
SMP=${OWU_KERNEL_SMP:-1}
[ "$MODE" = bench ] && SMP=${OWU_KERNEL_SMP:-2}
timeout --foreground -k 10 "$TIMEOUT" qemu-system-x86_64 -accel tcg -m 1024 -smp "$SMP" -nographic -no-reboot \
    -kernel "$VMLINUZ" -initrd "$WORK/initramfs.gz" \
    -append "console=ttyS0 panic=-1 quiet loglevel=4" </dev/null >"$LOG" 2>&1
qrc=$?
set -e
t2=$(date +%s)
tr -d '\r' < "$LOG" | sed -n '/^=== OWU/,$p' | grep -v "^OWU-KERNEL-RESULT" || true
result=$(tr -d '\r' < "$LOG" | sed -n 's/^OWU-KERNEL-RESULT: \([0-9]*\).*/\1/p' | tail -n1)
echo "run.sh: guest ran $((t2 - t1)) s (qemu exit $qrc); console log in $LOG" >&2
if [ -z "$result" ]; then
    echo "run.sh: no result line from the guest (boot failure or timeout); last console lines:" >&2
    tail -n 40 "$LOG" >&2
    exit 1
fi
exit "$result"
