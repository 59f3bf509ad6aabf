/* openwinusb over usbfs against the kernel's own paths, on one gadget (tests/kernel/run.sh
 * --bench runs it inside the test VM: dummy_hcd, the configfs composite of ACM + Loopback,
 * VID 1209 PID 0001; Loopback requests of 16 KiB). One table, side by side, with the ratio ours / theirs:
 *
 *  - bulk throughput on the Loopback function (echoed bytes per second: each write is read
 *    back), synchronous and with 4 and 16 writes and reads outstanding, 16 KiB to 1 MiB:
 *    the WinUSB API (SetupDi by the interface GUID of tests/kernel/driver/
 *    owu_loopback_winusb.inf, CreateFile, WinUsb_*; queued runs with RAW_IO; each cell the
 *    best of 3 runs) against
 *    libusb-1.0 (the peer program tests/kernel/guest_bench_libusb.c, same sizes and depths);
 *  - control-transfer latency: GET_DESCRIPTOR(device) through each;
 *  - for the synchronous rows, a third column: the same transfers through openwinusb's core
 *    (owu_transfer_sync / owu_control_sync on the usbfs device, no WinUSB), which tells the
 *    WinUSB layer's cost from the backend's;
 *  - serial throughput on the ACM function, both directions, the gadget's end being
 *    /dev/ttyGS0: the usbser driver (cdc_acm detached), through its API and as a CUSE
 *    terminal device (read/write/poll on /dev/ttyOWUbench), against Linux's cdc-acm
 *    (/dev/ttyACM0, after usbser hands the interfaces back).
 *
 * dummy_hcd under QEMU/TCG moves bytes as fast as the emulated CPU copies them, so the
 * absolute numbers say little; the ratio is the point. A benchmark, not a test: it fails
 * only when a transfer fails or data comes back wrong. Where no such gadget is attached (an
 * ordinary machine) it says so and exits 0.
 *
 *   bench_usbfs [--quick] [--peer PATH] [--ms N] [--serial-kib N] */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openwinusb/serialtty.h>
#include <openwinusb/stack.h>
#include <openwinusb/usbser.h>
#include <openwinusb/win32/windows.h>
#include <openwinusb/win32/initguid.h>
#include <openwinusb/win32/setupapi.h>
#include <openwinusb/win32/winusb.h>

#include "api/process_stack.h"
#include "core/urb.h"
#include "hcd/hcd.h"

DEFINE_GUID(LOOPBACK_GUID, 0x5c8a4f2e, 0x7b31, 0x4d0a, 0x9e, 0x6f, 0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f);

#define LOOP_BUFLEN 16384u   /* bulk_buflen of the bench gadget (guest_init.sh) */
#define NSIZES 4
#define NDEPTHS 3
#define MAXDEPTH 16
static const size_t sizes[NSIZES] = {16384, 65536, 262144, 1048576};
static const unsigned depths[NDEPTHS] = {1, 4, 16};

static unsigned ms_per_cell = 1500;
/* Each cell is the best of TRIES runs of ms_per_cell / TRIES: the emulated CPUs' scheduling
 * makes single runs noisy. */
#define TRIES 3

static double try_s(void) { return ms_per_cell / 1000.0 / TRIES; }

/* Best of two results (-1 = failed, which wins). */
static double best(double a, double b, bool higher_better)
{
    if (a < 0 || b < 0)
        return -1;
    return higher_better ? (a > b ? a : b) : (a < b ? a : b);
}
static size_t serial_bytes = 1u << 20;
static const char *peer_path = "/tests/guest_bench_libusb";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static bool read_sysfs(const char *path, char *out, size_t size)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    bool ok = fgets(out, (int)size, f) != NULL;
    fclose(f);
    if (ok)
        out[strcspn(out, "\n")] = 0;
    return ok;
}

/* ---- WinUSB ------------------------------------------------------------------------------ */

static HANDLE file = INVALID_HANDLE_VALUE;
static WINUSB_INTERFACE_HANDLE wh;
static UCHAR ep_in, ep_out;

static bool winusb_open(void)
{
    char path[512] = "";
    for (int tries = 0; tries < 300 && !path[0]; tries++) {
        HDEVINFO hdi = SetupDiGetClassDevsA(&LOOPBACK_GUID, NULL, NULL, DIGCF_PRESENT | DIGCF_DEVICEINTERFACE);
        SP_DEVICE_INTERFACE_DATA ifd = {.cbSize = sizeof ifd};
        if (hdi != INVALID_HANDLE_VALUE && SetupDiEnumDeviceInterfaces(hdi, NULL, &LOOPBACK_GUID, 0, &ifd)) {
            union {
                SP_DEVICE_INTERFACE_DETAIL_DATA_A d;
                char space[600];
            } u;
            u.d.cbSize = sizeof u.d;
            if (SetupDiGetDeviceInterfaceDetailA(hdi, &ifd, &u.d, sizeof u, NULL, NULL))
                snprintf(path, sizeof path, "%s", u.d.DevicePath);
        }
        if (hdi != INVALID_HANDLE_VALUE)
            SetupDiDestroyDeviceInfoList(hdi);
        if (!path[0])
            sleep_ms(50);
    }
    if (!path[0]) {
        fprintf(stderr, "bench_usbfs: no interface of the Loopback class (is the vendor INF in "
                        "OPENWINUSB_DRIVER_STORE?)\n");
        return false;
    }
    file = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING,
                       FILE_FLAG_OVERLAPPED, NULL);
    if (file == INVALID_HANDLE_VALUE || !WinUsb_Initialize(file, &wh)) {
        fprintf(stderr, "bench_usbfs: opening %s: error %u\n", path, (unsigned)GetLastError());
        return false;
    }
    for (UCHAR i = 0; i < 2; i++) {
        WINUSB_PIPE_INFORMATION pi;
        if (WinUsb_QueryPipe(wh, 0, i, &pi) && pi.PipeType == UsbdPipeTypeBulk)
            *((pi.PipeId & 0x80) ? &ep_in : &ep_out) = pi.PipeId;
    }
    return ep_in && ep_out;
}

static void winusb_close(void)
{
    if (wh)
        WinUsb_Free(wh);
    wh = NULL;
    if (file != INVALID_HANDLE_VALUE)
        CloseHandle(file);
    file = INVALID_HANDLE_VALUE;
}

/* Writes that are not a multiple of the Loopback's request size would need a ZLP, else the
 * gadget waits for more; the bench gadget's requests are 16 KiB, so none of the sizes does. */
static void set_policies(size_t size, bool raw)
{
    UCHAR stp = size % LOOP_BUFLEN ? 1 : 0, r = raw ? 1 : 0;
    WinUsb_SetPipePolicy(wh, ep_out, SHORT_PACKET_TERMINATE, 1, &stp);
    WinUsb_SetPipePolicy(wh, ep_out, RAW_IO, 1, &r);
    WinUsb_SetPipePolicy(wh, ep_in, RAW_IO, 1, &r);
}

static double winusb_sync(size_t size, uint8_t *w, uint8_t *r)
{
    set_policies(size, false);
    double t0 = now_s(), t = t0;
    uint64_t bytes = 0;
    while (t - t0 < try_s()) {
        ULONG n = 0;
        if (!WinUsb_WritePipe(wh, ep_out, w, (ULONG)size, &n, NULL) || n != size)
            return -1;
        for (size_t have = 0; have < size; have += n)
            if (!WinUsb_ReadPipe(wh, ep_in, r + have, (ULONG)(size - have), &n, NULL) || n == 0)
                return -1;
        bytes += size;
        t = now_s();
    }
    return (double)bytes / (t - t0) / 1e6;
}

/* `depth` writes and reads in flight (RAW_IO: all of them with the backend). Requests are
 * posted and completed in order per pipe; a read is posted only when a write it can echo
 * has been posted, and writes stop when the time is up, so nothing is left over. */
static double winusb_queued(size_t size, unsigned depth, uint8_t **bufs)
{
    set_policies(size, true);
    OVERLAPPED wo[MAXDEPTH], ro[MAXDEPTH];
    memset(wo, 0, sizeof wo);
    memset(ro, 0, sizeof ro);
    for (unsigned i = 0; i < depth; i++) {
        wo[i].hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
        ro[i].hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
    }
    uint64_t w_posted = 0, w_done = 0, r_posted = 0, r_done = 0, bytes = 0;
    bool ok = true, stop = false;
    double t0 = now_s(), end = t0 + try_s();
    while (ok) {
        while (ok && !stop && w_posted - w_done < depth) {
            unsigned s = (unsigned)(w_posted % depth);
            ok = !WinUsb_WritePipe(wh, ep_out, bufs[s], (ULONG)size, NULL, &wo[s]) && GetLastError() == ERROR_IO_PENDING;
            w_posted += ok;
        }
        while (ok && r_posted < w_posted && r_posted - r_done < depth) {
            unsigned s = (unsigned)(r_posted % depth);
            ok = !WinUsb_ReadPipe(wh, ep_in, bufs[MAXDEPTH + s], (ULONG)size, NULL, &ro[s]) &&
                 GetLastError() == ERROR_IO_PENDING;
            r_posted += ok;
        }
        if (!ok || r_done == r_posted)
            break;
        unsigned s = (unsigned)(r_done % depth);
        ULONG n = 0;
        if (WaitForSingleObject(ro[s].hEvent, 30000) != WAIT_OBJECT_0 || !WinUsb_GetOverlappedResult(wh, &ro[s], &n, TRUE) ||
            n != size) {
            ok = false;
            break;
        }
        r_done++;
        bytes += n;
        while (w_done < w_posted && HasOverlappedIoCompleted(&wo[w_done % depth])) {
            if (!WinUsb_GetOverlappedResult(wh, &wo[w_done % depth], &n, FALSE) || n != size)
                ok = false;
            w_done++;
        }
        stop = now_s() >= end;
        if (stop && r_done == w_posted)
            break;
    }
    double t = now_s();
    if (!ok) {
        WinUsb_AbortPipe(wh, ep_out);
        WinUsb_AbortPipe(wh, ep_in);
    }
    for (; w_done < w_posted; w_done++) {
        ULONG n = 0;
        WinUsb_GetOverlappedResult(wh, &wo[w_done % depth], &n, TRUE);
    }
    for (; r_done < r_posted; r_done++) {
        ULONG n = 0;
        WinUsb_GetOverlappedResult(wh, &ro[r_done % depth], &n, TRUE);
    }
    for (unsigned i = 0; i < depth; i++) {
        CloseHandle(wo[i].hEvent);
        CloseHandle(ro[i].hEvent);
    }
    set_policies(size, false);
    return ok ? (double)bytes / (t - t0) / 1e6 : -1;
}

static double winusb_control(void)
{
    WINUSB_SETUP_PACKET s = {.RequestType = 0x80, .Request = 6, .Value = 0x0100, .Index = 0, .Length = 18};
    UCHAR d[18];
    unsigned rounds = 0;
    double t0 = now_s(), t = t0;
    while (t - t0 < try_s()) {
        ULONG n = 0;
        if (!WinUsb_ControlTransfer(wh, s, d, sizeof d, &n, NULL) || n != 18)
            return -1;
        rounds++;
        t = now_s();
    }
    return (t - t0) * 1e6 / rounds;
}

/* ---- the core, below WinUSB ------------------------------------------------------------ */

static struct owu_usb_device *core_open(void)
{
    owu_err err = {0};
    struct owu_stack *s = owu_process_stack(&err);
    if (!s)
        return NULL;
    owu_stack_lock(s);
    struct owu_devnode *n = owu_stack_find(s, "usbfs:1-1");
    struct owu_usb_device *d = n ? n->bus_device : NULL;
    if (d)
        owu_usb_device_ref(d);
    owu_stack_unlock(s);
    if (d && owu_dev_claim_interface(d, 2, 0) != OWU_OK) {
        owu_usb_device_unref(d);
        d = NULL;
    }
    return d;
}

static double core_sync(struct owu_usb_device *d, size_t size, uint8_t *w, uint8_t *r)
{
    double t0 = now_s(), t = t0;
    uint64_t bytes = 0;
    while (t - t0 < try_s()) {
        size_t n = 0;
        if (owu_transfer_sync(d, OWU_XFER_BULK, ep_out, w, size, &n, 5000) != OWU_OK || n != size)
            return -1;
        for (size_t have = 0; have < size; have += n)
            if (owu_transfer_sync(d, OWU_XFER_BULK, ep_in, r + have, size - have, &n, 5000) != OWU_OK || n == 0)
                return -1;
        bytes += size;
        t = now_s();
    }
    return (double)bytes / (t - t0) / 1e6;
}

static double core_control(struct owu_usb_device *d)
{
    uint8_t desc[18];
    unsigned rounds = 0;
    double t0 = now_s(), t = t0;
    while (t - t0 < try_s()) {
        if (owu_control_sync(d, 0x80, 6, 0x0100, 0, desc, 18, 5000) != 18)
            return -1;
        rounds++;
        t = now_s();
    }
    return (t - t0) * 1e6 / rounds;
}

/* ---- the libusb peer --------------------------------------------------------------------- */

static bool run_peer(double bulk[NDEPTHS][NSIZES], double *ctrl, char *version, size_t vsize)
{
    char bus[16], dev[16], cmd[512];
    if (access(peer_path, X_OK) != 0 || !read_sysfs("/sys/bus/usb/devices/1-1/busnum", bus, sizeof bus) ||
        !read_sysfs("/sys/bus/usb/devices/1-1/devnum", dev, sizeof dev)) {
        fprintf(stderr, "bench_usbfs: no libusb peer (%s)\n", peer_path);
        return false;
    }
    snprintf(cmd, sizeof cmd, "%s %s %s 2 0x%02x 0x%02x %u", peer_path, bus, dev, ep_out, ep_in, ms_per_cell);
    FILE *p = popen(cmd, "r");
    if (!p)
        return false;
    char line[256];
    while (fgets(line, sizeof line, p)) {
        unsigned depth = 0;
        size_t size = 0;
        double v = 0;
        if (sscanf(line, "BULK %u %zu %lf", &depth, &size, &v) == 3) {
            for (int d = 0; d < NDEPTHS; d++)
                for (int s = 0; s < NSIZES; s++)
                    if (depths[d] == depth && sizes[s] == size)
                        bulk[d][s] = v;
        } else if (sscanf(line, "CTRL %lf", &v) == 1)
            *ctrl = v;
        else if (strncmp(line, "VERSION ", 8) == 0)
            snprintf(version, vsize, "%.*s", (int)strcspn(line + 8, "\n"), line + 8);
    }
    return pclose(p) == 0;
}

/* ---- serial ------------------------------------------------------------------------------ */

static uint8_t pattern(uint64_t i) { return (uint8_t)(i * 131u + (i >> 9)); }

static int open_raw(const char *path)
{
    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return -1;
    struct termios t;
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        t.c_cflag |= CLOCAL | CREAD;
        tcsetattr(fd, TCSANOW, &t);
    }
    return fd;
}

/* Moves `total` bytes from src to dst through poll()ed non-blocking fds, checking the
 * pattern; returns when all arrived or `limit` s passed. */
struct fdpump {
    int fd;
    bool reading;
    uint64_t total, done;
    bool bad;
    double end_time;
};

static void *pump(void *arg)
{
    struct fdpump *p = arg;
    static __thread uint8_t buf[16384];
    double limit = now_s() + 60;
    while (p->done < p->total && now_s() < limit) {
        struct pollfd pfd = {.fd = p->fd, .events = p->reading ? POLLIN : POLLOUT};
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        size_t want = p->total - p->done < sizeof buf ? (size_t)(p->total - p->done) : sizeof buf;
        if (p->reading) {
            ssize_t r = read(p->fd, buf, want);
            for (ssize_t i = 0; i < r; i++)
                p->bad |= buf[i] != pattern(p->done + (uint64_t)i);
            if (r > 0)
                p->done += (uint64_t)r;
        } else {
            for (size_t i = 0; i < want; i++)
                buf[i] = pattern(p->done + i);
            ssize_t r = write(p->fd, buf, want);
            if (r > 0)
                p->done += (uint64_t)r;
        }
    }
    p->end_time = now_s();
    return NULL;
}

static bool serial_disorder;

/* One direction between the gadget's tty and a host end: `host` is either an fd or a port. */
static double serial_run(int gadget_fd, int host_fd, struct owu_usbser_port *port, bool to_gadget)
{
    struct fdpump g = {.fd = gadget_fd, .reading = to_gadget, .total = serial_bytes};
    pthread_t th;
    double t0 = now_s();
    if (pthread_create(&th, NULL, pump, &g) != 0)
        return -1;
    bool bad = false;
    uint64_t moved = 0;
    if (host_fd >= 0) {
        struct fdpump h = {.fd = host_fd, .reading = !to_gadget, .total = serial_bytes};
        pump(&h);
        bad = h.bad;
        moved = h.done;
    } else {
        static uint8_t buf[16384];
        double limit = t0 + 60;
        while (moved < serial_bytes && now_s() < limit) {
            size_t want = serial_bytes - moved < sizeof buf ? (size_t)(serial_bytes - moved) : sizeof buf;
            size_t n = 0;
            int rc;
            if (to_gadget) {
                for (size_t i = 0; i < want; i++)
                    buf[i] = pattern(moved + i);
                rc = owu_usbser_write(port, buf, want, 10000, &n);
            } else {
                rc = owu_usbser_read(port, buf, want, 200, &n);
                for (size_t i = 0; i < n; i++)
                    bad |= buf[i] != pattern(moved + i);
                if (rc == OWU_E_TIMEOUT)
                    rc = OWU_OK;
            }
            moved += n;
            if (rc != OWU_OK)
                break;
        }
    }
    pthread_join(th, NULL);
    double end = to_gadget ? g.end_time : now_s();
    if (moved != serial_bytes || g.done != serial_bytes) {
        fprintf(stderr, "bench_usbfs: serial %s: %llu/%llu bytes\n", to_gadget ? "to gadget" : "from gadget",
                (unsigned long long)(to_gadget ? g.done : moved), (unsigned long long)serial_bytes);
        return -1;
    }
    if (bad || g.bad) {
        /* Every byte arrived but not in order (see docs/kernel-tests.md): the number is kept,
         * marked, and the run fails. */
        fprintf(stderr, "bench_usbfs: serial %s: all bytes arrived, but not in the order sent\n",
                to_gadget ? "to gadget" : "from gadget");
        serial_disorder = true;
    }
    return (double)serial_bytes / (end - t0) / 1e6;
}

/* out[0..1]: through the usbser API; out[2..3]: through the CUSE terminal's device file
 * (include/openwinusb/serialtty.h) with read/write/poll, like /dev/ttyACM0 below. */
static bool serial_usbser(double out[4])
{
    owu_err err = {0};
    struct owu_stack *stack = owu_process_stack(&err);
    struct owu_usbser_options opt;
    owu_usbser_options_default(&opt);
    opt.detach_kernel_driver = true;
    struct owu_usbser_port *port = NULL;
    if (!stack || owu_usbser_open(stack, "usbfs:1-1", &opt, &port, &err) != OWU_OK) {
        fprintf(stderr, "bench_usbfs: usbser: %s\n", err.msg);
        return false;
    }
    int g = open_raw("/dev/ttyGS0");
    bool ok = g >= 0;
    if (ok) {
        out[0] = serial_run(g, -1, port, true);
        out[1] = serial_run(g, -1, port, false);
        struct owu_serial_tty_options to;
        owu_serial_tty_options_default(&to);
        to.devname = "ttyOWUbench";
        struct owu_serial_tty *tty = NULL;
        if (owu_serial_tty_start(port, &to, &tty, &err) == OWU_OK) {
            int h = open_raw(owu_serial_tty_path(tty));
            if (h >= 0) {
                out[2] = serial_run(g, h, NULL, true);
                out[3] = serial_run(g, h, NULL, false);
                close(h);
            }
            owu_serial_tty_stop(tty);
        } else {
            fprintf(stderr, "bench_usbfs: CUSE terminal: %s\n", err.msg);
        }
        close(g);
    }
    owu_usbser_close(port);
    return ok;
}

static bool serial_cdc_acm(double out[2])
{
    /* usbser's close handed the interfaces back; the kernel binds cdc_acm again. */
    int h = -1;
    for (int i = 0; i < 250 && h < 0; i++) {
        h = open_raw("/dev/ttyACM0");
        if (h < 0)
            sleep_ms(20);
    }
    int g = open_raw("/dev/ttyGS0");
    if (h < 0 || g < 0) {
        fprintf(stderr, "bench_usbfs: cannot open /dev/ttyACM0 or /dev/ttyGS0 (%s)\n", strerror(errno));
        if (h >= 0)
            close(h);
        if (g >= 0)
            close(g);
        return false;
    }
    out[0] = serial_run(g, h, NULL, true);
    out[1] = serial_run(g, h, NULL, false);
    close(h);
    close(g);
    return true;
}

/* ---- the table ----------------------------------------------------------------------------- */

static void cell(double v, int decimals)
{
    if (v < 0)
        printf(" %9s", "fail");
    else if (v == 0)
        printf(" %9s", "-");
    else
        printf(" %9.*f", decimals, v);
}

static void ratio(double ours, double theirs, bool higher_better)
{
    if (ours > 0 && theirs > 0)
        printf(" %8.2f\n", higher_better ? ours / theirs : theirs / ours);
    else
        printf(" %8s\n", "-");
}

static bool gadget_present(void)
{
    char v[16], p[16];
    return read_sysfs("/sys/bus/usb/devices/1-1/idVendor", v, sizeof v) &&
           read_sysfs("/sys/bus/usb/devices/1-1/idProduct", p, sizeof p) && strcmp(v, "1209") == 0 &&
           strcmp(p, "0001") == 0;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            ms_per_cell = 300;
            serial_bytes = 128u << 10;
        } else if (strcmp(argv[i], "--peer") == 0 && i + 1 < argc)
            peer_path = argv[++i];
        else if (strcmp(argv[i], "--ms") == 0 && i + 1 < argc)
            ms_per_cell = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--serial-kib") == 0 && i + 1 < argc)
            serial_bytes = (size_t)strtoul(argv[++i], NULL, 10) << 10;
        else {
            fprintf(stderr, "usage: bench_usbfs [--quick] [--peer PATH] [--ms N] [--serial-kib N]\n");
            return 2;
        }
    }
    if (ms_per_cell == 0 || serial_bytes == 0)
        return 2;
    if (!gadget_present()) {
        printf("bench_usbfs: no test gadget (1209:0001 at usb 1-1); it runs in the test VM: "
               "tests/kernel/run.sh --bench BUILD_DIR\n");
        return 0;
    }
    setenv("OPENWINUSB_BUSES", "usbfs", 0);
    setvbuf(stdout, NULL, _IOLBF, 0);

    double ours[NDEPTHS][NSIZES] = {{0}}, theirs[NDEPTHS][NSIZES] = {{0}}, ctrl_ours = 0, ctrl_theirs = 0;
    double ser_ours[4] = {0}, ser_theirs[2] = {0};
    char libusb_version[32] = "?";
    uint8_t *bufs[2 * MAXDEPTH];
    for (int i = 0; i < 2 * MAXDEPTH; i++) {
        bufs[i] = malloc(sizes[NSIZES - 1]);
        if (!bufs[i])
            return 1;
        memset(bufs[i], (int)i, sizes[NSIZES - 1]);
    }
    bool failed = false;
    if (!winusb_open())
        return 1;
    for (int d = 0; d < NDEPTHS; d++)
        for (int s = 0; s < NSIZES; s++) {
            for (int k = 0; k < TRIES; k++) {
                double v = depths[d] == 1 ? winusb_sync(sizes[s], bufs[0], bufs[MAXDEPTH])
                                          : winusb_queued(sizes[s], depths[d], bufs);
                ours[d][s] = k ? best(ours[d][s], v, true) : v;
            }
            failed |= ours[d][s] < 0;
        }
    for (int k = 0; k < TRIES; k++)
        ctrl_ours = k ? best(ctrl_ours, winusb_control(), false) : winusb_control();
    failed |= ctrl_ours < 0;
    winusb_close();   /* the core and then the peer claim the interface next */
    double core_bulk[NSIZES] = {0}, ctrl_core = 0;
    struct owu_usb_device *cd = core_open();
    if (cd) {
        for (int s = 0; s < NSIZES; s++)
            for (int k = 0; k < TRIES; k++) {
                double v = core_sync(cd, sizes[s], bufs[0], bufs[MAXDEPTH]);
                core_bulk[s] = k ? best(core_bulk[s], v, true) : v;
            }
        for (int k = 0; k < TRIES; k++)
            ctrl_core = k ? best(ctrl_core, core_control(cd), false) : core_control(cd);
        owu_dev_release_interface(cd, 2);
        owu_usb_device_unref(cd);
    } else
        fprintf(stderr, "bench_usbfs: the core could not claim the Loopback interface\n");
    if (!run_peer(theirs, &ctrl_theirs, libusb_version, sizeof libusb_version))
        fprintf(stderr, "bench_usbfs: the libusb peer failed\n");
    failed |= !serial_usbser(ser_ours);
    failed |= !serial_cdc_acm(ser_theirs);
    failed |= ser_ours[0] < 0 || ser_ours[1] < 0;

    printf("\nbench_usbfs: dummy_hcd, high speed, Loopback bulk_buflen 16 KiB, qlen 128; best of %d runs of %u ms per cell\n", TRIES, ms_per_cell / TRIES);
    printf("%-44s %9s %9s %9s %8s\n", "bulk loopback, MB/s echoed", "WinUSB", "(core)", "libusb", "ratio");
    for (int d = 0; d < NDEPTHS; d++)
        for (int s = 0; s < NSIZES; s++) {
            char label[64];
            if (depths[d] == 1)
                snprintf(label, sizeof label, "  synchronous, %4zu KiB", sizes[s] >> 10);
            else
                snprintf(label, sizeof label, "  %2u outstanding (RAW_IO), %4zu KiB", depths[d], sizes[s] >> 10);
            printf("%-44s", label);
            cell(ours[d][s], 1);
            cell(depths[d] == 1 ? core_bulk[s] : 0, 1);
            cell(theirs[d][s], 1);
            ratio(ours[d][s], theirs[d][s], true);
            failed |= ours[d][s] < 0;
        }
    printf("%-44s", "control GET_DESCRIPTOR latency, us");
    cell(ctrl_ours, 1);
    cell(ctrl_core, 1);
    cell(ctrl_theirs, 1);
    ratio(ctrl_ours, ctrl_theirs, false);
    printf("%-44s %9s %9s %9s %8s\n", "serial (ACM <-> /dev/ttyGS0), MB/s", "usbser", "(CUSE)", "cdc-acm", "ratio");
    printf("%-44s", "  host to gadget");
    cell(ser_ours[0], 2);
    cell(ser_ours[2], 2);
    cell(ser_theirs[0], 2);
    ratio(ser_ours[0], ser_theirs[0], true);
    printf("%-44s", "  gadget to host");
    cell(ser_ours[1], 2);
    cell(ser_ours[3], 2);
    cell(ser_theirs[1], 2);
    ratio(ser_ours[1], ser_theirs[1], true);
    if (serial_disorder)
        printf("(serial: data arrived out of order in at least one run; its number is still shown)\n");
    failed |= serial_disorder;
    printf("(ratio: ours / theirs for throughput, theirs / ours for latency: above 1 = openwinusb faster; "
           "(core): openwinusb's URB core without WinUSB; (CUSE): the same port as a terminal device "
           "(/dev/ttyOWU*), read/write like /dev/ttyACM0; libusb %s; serial %zu KiB per direction)\n", libusb_version, serial_bytes >> 10);
    for (int i = 0; i < 2 * MAXDEPTH; i++)
        free(bufs[i]);
    owu_process_stack_reset();
    return failed ? 1 : 0;
}
