/* WinUSB API throughput and small-transfer rate on the virtual bus: the FX2 model's bulk
 * loopback (pipe 0x06 out, 0x88 in) driven through WinUsb_WritePipe/ReadPipe with
 * OVERLAPPED requests, 1, 4 and 16 of each direction outstanding. Side by side in the same
 * run, the peer drives the same model through raw core URBs with the same queue depth, so the
 * ratio is what the WinUSB layer (API, handles, pipe engine, policies) costs.
 *   bench_winusb [--quick] */
#include <openwinusb/stack.h>
#include <openwinusb/win32/windows.h>
#include <openwinusb/win32/setupapi.h>
#include <openwinusb/win32/winusb.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/urb.h"
#include "hcd/hcd.h"

#define OUT_PIPE 0x06
#define IN_PIPE 0x88
#define MAX_DEPTH 16

static const GUID fx2_guid = {0x60e6a27b, 0x1d30, 0x4bd7, {0x84, 0xce, 0xa4, 0xf8, 0xa8, 0x53, 0x5a, 0x09}};

/* ---- through the WinUSB API ------------------------------------------------------------ */

static HANDLE open_fx2(WINUSB_INTERFACE_HANDLE *wu)
{
    HDEVINFO devs = SetupDiGetClassDevs(&fx2_guid, NULL, NULL, DIGCF_PRESENT | DIGCF_DEVICEINTERFACE);
    SP_DEVICE_INTERFACE_DATA ifd = {.cbSize = sizeof ifd};
    if (devs == INVALID_HANDLE_VALUE || !SetupDiEnumDeviceInterfaces(devs, NULL, &fx2_guid, 0, &ifd))
        return INVALID_HANDLE_VALUE;
    DWORD need = 0;
    SetupDiGetDeviceInterfaceDetail(devs, &ifd, NULL, 0, &need, NULL);
    PSP_DEVICE_INTERFACE_DETAIL_DATA d = malloc(need);
    d->cbSize = sizeof(SP_DEVICE_INTERFACE_DETAIL_DATA);
    HANDLE f = INVALID_HANDLE_VALUE;
    if (SetupDiGetDeviceInterfaceDetail(devs, &ifd, d, need, NULL, NULL))
        f = CreateFile(d->DevicePath, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                       OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
    free(d);
    SetupDiDestroyDeviceInfoList(devs);
    if (f != INVALID_HANDLE_VALUE && !WinUsb_Initialize(f, wu)) {
        CloseHandle(f);
        return INVALID_HANDLE_VALUE;
    }
    return f;
}

/* Loops `total` bytes in `size`-byte transfers with `depth` writes and reads outstanding;
 * returns the seconds taken (negative on failure). */
static double api_loop(WINUSB_INTERFACE_HANDLE wu, size_t size, unsigned depth, size_t total)
{
    static UCHAR wbuf[MAX_DEPTH][65536], rbuf[MAX_DEPTH][65536];
    OVERLAPPED wov[MAX_DEPTH], rov[MAX_DEPTH];
    memset(wov, 0, sizeof wov);
    memset(rov, 0, sizeof rov);
    for (unsigned i = 0; i < depth; i++) {
        wov[i].hEvent = CreateEvent(NULL, TRUE, FALSE, NULL);
        rov[i].hEvent = CreateEvent(NULL, TRUE, FALSE, NULL);
    }
    size_t count = total / size, sent = 0, got = 0;
    uint64_t t0 = owu_now_ns();
    for (unsigned i = 0; i < depth && sent < count; i++, sent++) {
        WinUsb_WritePipe(wu, OUT_PIPE, wbuf[i], (ULONG)size, NULL, &wov[i]);
        WinUsb_ReadPipe(wu, IN_PIPE, rbuf[i], (ULONG)size, NULL, &rov[i]);
    }
    bool ok = true;
    for (unsigned slot = 0; got < count; slot = (slot + 1) % depth) {
        ULONG n = 0;
        if (!WinUsb_GetOverlappedResult(wu, &wov[slot], &n, TRUE) ||
            !WinUsb_GetOverlappedResult(wu, &rov[slot], &n, TRUE)) {
            ok = false;
            break;
        }
        got++;
        if (sent < count) {
            WinUsb_WritePipe(wu, OUT_PIPE, wbuf[slot], (ULONG)size, NULL, &wov[slot]);
            WinUsb_ReadPipe(wu, IN_PIPE, rbuf[slot], (ULONG)size, NULL, &rov[slot]);
            sent++;
        }
    }
    uint64_t t1 = owu_now_ns();
    for (unsigned i = 0; i < depth; i++) {
        CloseHandle(wov[i].hEvent);
        CloseHandle(rov[i].hEvent);
    }
    return ok ? (double)(t1 - t0) / 1e9 : -1.0;
}

/* ---- the peer: raw core URBs on the same model ------------------------------------------- */

struct peer_slot {
    struct owu_urb w, r;
    pthread_mutex_t *lock;
    pthread_cond_t *cond;
    int done;
};

static void peer_complete(struct owu_urb *urb)
{
    struct peer_slot *s = urb->context;
    pthread_mutex_lock(s->lock);
    s->done++;
    pthread_cond_broadcast(s->cond);
    pthread_mutex_unlock(s->lock);
}

static double peer_loop(struct owu_usb_device *dev, size_t size, unsigned depth, size_t total)
{
    static uint8_t wbuf[MAX_DEPTH][65536], rbuf[MAX_DEPTH][65536];
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
    struct peer_slot slots[MAX_DEPTH];
    memset(slots, 0, sizeof slots);
    size_t count = total / size, sent = 0, got = 0;
    uint64_t t0 = owu_now_ns();
    for (unsigned i = 0; i < depth; i++) {
        struct peer_slot *s = &slots[i];
        s->lock = &lock;
        s->cond = &cond;
        s->w = (struct owu_urb){.dev = dev, .type = OWU_XFER_BULK, .endpoint = OUT_PIPE, .buffer = wbuf[i],
                                .length = size, .complete = peer_complete, .context = s};
        s->r = (struct owu_urb){.dev = dev, .type = OWU_XFER_BULK, .endpoint = IN_PIPE, .buffer = rbuf[i],
                                .length = size, .complete = peer_complete, .context = s};
        if (sent < count) {
            owu_urb_submit(&s->w);
            owu_urb_submit(&s->r);
            sent++;
        } else {
            s->done = 2;
        }
    }
    for (unsigned slot = 0; got < count; slot = (slot + 1) % depth) {
        struct peer_slot *s = &slots[slot];
        pthread_mutex_lock(&lock);
        while (s->done < 2)
            pthread_cond_wait(&cond, &lock);
        s->done = 0;
        pthread_mutex_unlock(&lock);
        if (s->w.status != OWU_OK || s->r.status != OWU_OK)
            return -1.0;
        got++;
        if (sent < count) {
            owu_urb_submit(&s->w);
            owu_urb_submit(&s->r);
            sent++;
        } else {
            s->done = 2;
        }
    }
    return (double)(owu_now_ns() - t0) / 1e9;
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    setenv("OPENWINUSB_BUSES", "virtual:fx2", 1);
    setenv("OPENWINUSB_DRIVER_STORE", OWU_SOURCE_DIR "/examples/driver", 1);
    setenv("OPENWINUSB_REGISTRY", "none", 1);

    WINUSB_INTERFACE_HANDLE wu;
    HANDLE f = open_fx2(&wu);
    if (f == INVALID_HANDLE_VALUE) {
        fprintf(stderr, "bench_winusb: cannot open the FX2 through the WinUSB API (error %u)\n",
                (unsigned)GetLastError());
        return 1;
    }
    struct owu_stack_options opt;
    owu_stack_options_default(&opt);
    opt.buses = "virtual:fx2";
    struct owu_stack *peer_stack = NULL;
    owu_err err = {0};
    if (owu_stack_open(&opt, &peer_stack, &err) != OWU_OK) {
        fprintf(stderr, "bench_winusb: %s\n", err.msg);
        return 1;
    }
    owu_stack_lock(peer_stack);
    struct owu_devnode *node = owu_stack_find(peer_stack, "virtual:1-1");
    struct owu_usb_device *dev = node ? node->bus_device : NULL;
    owu_stack_unlock(peer_stack);

    const size_t sizes[] = {64, 512, 16384, 65536};
    const unsigned depths[] = {1, 4, 16};
    printf("bench_winusb: FX2 bulk loopback on the virtual bus, WinUSB API vs raw core URBs (peer)\n");
    printf("  %8s %5s %14s %14s %14s %14s %7s\n", "size", "depth", "API MB/s", "API xfer/s", "peer MB/s",
           "peer xfer/s", "ratio");
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        for (size_t di = 0; di < sizeof depths / sizeof *depths; di++) {
            size_t size = sizes[si];
            unsigned depth = depths[di];
            size_t total = size * (size < 4096 ? (quick ? 2000 : 20000) : (quick ? 200 : 2000));
            double a = api_loop(wu, size, depth, total);
            double p = dev ? peer_loop(dev, size, depth, total) : -1.0;
            if (a <= 0 || p <= 0) {
                fprintf(stderr, "bench_winusb: transfer failed (size %zu, depth %u)\n", size, depth);
                return 1;
            }
            double n = (double)(total / size);
            printf("  %8zu %5u %14.1f %14.0f %14.1f %14.0f %7.2f\n", size, depth, total / a / 1e6, n / a,
                   total / p / 1e6, n / p, p / a);
        }
    }
    printf("  ratio = API speed / peer speed (1.00 = the WinUSB layer costs nothing)\n");
    WinUsb_Free(wu);
    CloseHandle(f);
    owu_stack_close(peer_stack);
    return 0;
}
