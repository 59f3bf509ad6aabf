#!/usr/bin/env bash
# openwinusb quick start: sets everything up on Debian 12 and runs the main job or the tests.
#   ./run.sh main    install build dependencies, build, show the device tree of the virtual bus
#   ./run.sh test    install dependencies, build (release, ASan+UBSan, libFuzzer) and run every test
# Build trees: build/ (release), build-asan/ (sanitizers), build-fuzz/ (clang + libFuzzer).
set -euo pipefail
cd "$(dirname "$0")"

JOBS=$(nproc 2>/dev/null || echo 2)
BUILD_PACKAGES=(build-essential cmake pkg-config usb.ids)
TEST_PACKAGES=(clang libclang-rt-14-dev python3 python3-serial jq libusb-1.0-0-dev
               qemu-system-x86 busybox-static cpio kmod usbip usbutils picocom
               screen)   # qemu-system-x86 .. picocom: kernel-in-the-loop tests

log() { printf '\n== %s\n' "$*"; }

# Installs the Debian packages that are missing (root or sudo needed only then).
ensure_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then sudo=(sudo); else
      echo "run.sh: packages missing (${missing[*]}) and not root; install them or run as root" >&2
      exit 1
    fi
  fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build() { # build DIR [cmake args...]
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j "$JOBS"
}

case "${1:-}" in
  main)
    ensure_packages "${BUILD_PACKAGES[@]}"
    log "building (build/)"
    build build
    log "openwinusb tree (OPENWINUSB_BUSES=${OPENWINUSB_BUSES:-virtual:all})"
    OPENWINUSB_BUSES="${OPENWINUSB_BUSES:-virtual:all}" ./build/openwinusb tree
    ;;
  test)
    ensure_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
    # The kernel-in-the-loop tests must run here, not be skipped (tests/kernel/run.sh).
    export OWU_KERNEL_REQUIRED=1
    log "release build and tests (build/)"
    build build
    ctest --test-dir build --output-on-failure -j "$JOBS"
    log "ASan + UBSan build and tests (build-asan/)"
    build build-asan -DOWU_SANITIZE=ON
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      ctest --test-dir build-asan --output-on-failure -j "$JOBS"
    log "libFuzzer build: seed corpora and short fuzzing runs (build-fuzz/)"
    CC=clang build build-fuzz -DOWU_FUZZ=ON -DOWU_SANITIZE=ON
    ctest --test-dir build-fuzz --output-on-failure -R '^fuzz_' -j "$JOBS"
    log "benchmarks (not tests: they print numbers)"
    for b in build/bench/bench_*; do [ -x "$b" ] && "$b" --quick; done
    log "all tests passed"
    ;;
  *)
    echo "usage: ./run.sh main|test" >&2
    exit 2
    ;;
esac
