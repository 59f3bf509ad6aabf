/* Runs inside the test VM (tests/kernel/run.sh): an unmodified-style WinUSB program against the
 * gadget's Loopback function over usbfs. The program finds the function the Windows way —
 * SetupDi by the interface class GUID that the vendor package tests/kernel/driver/
 * owu_loopback_winusb.inf gives USB\VID_1209&PID_0001&MI_02 (OPENWINUSB_DRIVER_STORE=/driver,
 * OPENWINUSB_BUSES=usbfs, set by guest_init.sh) — opens it with CreateFile and talks to it
 * through WinUsb_*; the SourceSink function (MI_03, its own class in the same INF) likewise.
 * cdc_acm keeps the ACM function meanwhile.
 *
 * The Loopback function (bulk_buflen 65536) echoes each OUT request when it completes: at
 * 64 KiB, a short packet or a zero-length packet. The OUT pipe runs with
 * SHORT_PACKET_TERMINATE, so every write ends an OUT request. Observed on dummy_hcd: a write
 * of whole packets (its length a multiple of 512) and its ZLP come back as the data followed
 * by a zero-length packet, so such an echo is read as the data and then a zero-length read. */
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openwinusb/win32/windows.h>
#include <openwinusb/win32/initguid.h>
#include <openwinusb/win32/cfgmgr32.h>
#include <openwinusb/win32/setupapi.h>
#include <openwinusb/win32/winusb.h>

#include "check.h"

/* tests/kernel/driver/owu_loopback_winusb.inf */
DEFINE_GUID(LOOPBACK_GUID, 0x5c8a4f2e, 0x7b31, 0x4d0a, 0x9e, 0x6f, 0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f);
DEFINE_GUID(SOURCESINK_GUID, 0x5c8a4f2e, 0x7b31, 0x4d0a, 0x9e, 0x6f, 0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x60);

#define MAX_XFER (1u << 20)

static char g_path[512];
static HANDLE g_file = INVALID_HANDLE_VALUE;
static WINUSB_INTERFACE_HANDLE g_h;
static UCHAR g_in, g_out;
static uint8_t *g_wbuf, *g_rbuf;

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int write_file(const char *path, const char *value)
{
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, value, strlen(value));
    close(fd);
    return n < 0 ? -1 : 0;
}

static int bind_gadget(bool bind)
{
    char path[256];
    const char *g = getenv("OWU_GADGET"), *udc = getenv("OWU_UDC");
    snprintf(path, sizeof path, "%s/UDC", g ? g : "/sys/kernel/config/usb_gadget/owu");
    return write_file(path, bind ? (udc ? udc : "dummy_udc.0") : "\n");
}

/* cdc_acm (not usbfs, which a detaching claim binds) drives the ACM function. */
static bool acm_bound(void)
{
    char link[256];
    ssize_t n = readlink("/sys/bus/usb/devices/1-1:1.0/driver", link, sizeof link - 1);
    if (n <= 0)
        return false;
    link[n] = 0;
    const char *base = strrchr(link, '/');
    return strcmp(base ? base + 1 : link, "cdc_acm") == 0;
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i * 13u + seed + (i >> 9));
}

/* The device path of the first present interface of the class, "" when none (yet). */
static bool find_path_of(const GUID *guid, char *out, size_t size)
{
    out[0] = 0;
    HDEVINFO hdi = SetupDiGetClassDevsA(guid, NULL, NULL, DIGCF_PRESENT | DIGCF_DEVICEINTERFACE);
    if (hdi == INVALID_HANDLE_VALUE)
        return false;
    SP_DEVICE_INTERFACE_DATA ifd = {.cbSize = sizeof ifd};
    bool ok = false;
    if (SetupDiEnumDeviceInterfaces(hdi, NULL, guid, 0, &ifd)) {
        DWORD required = 0;
        SetupDiGetDeviceInterfaceDetailA(hdi, &ifd, NULL, 0, &required, NULL);
        PSP_DEVICE_INTERFACE_DETAIL_DATA_A d = required ? malloc(required) : NULL;
        if (d) {
            d->cbSize = sizeof *d;
            if (SetupDiGetDeviceInterfaceDetailA(hdi, &ifd, d, required, NULL, NULL)) {
                snprintf(out, size, "%s", d->DevicePath);
                ok = true;
            }
            free(d);
        }
    }
    SetupDiDestroyDeviceInfoList(hdi);
    return ok;
}

static bool find_path(char *out, size_t size) { return find_path_of(&LOOPBACK_GUID, out, size); }

static bool wait_path(bool present, unsigned ms)
{
    char p[512];
    uint64_t end = now_ms() + ms;
    for (;;) {
        bool there = find_path(p, sizeof p);
        if (there == present)
            return true;
        if (now_ms() > end)
            return false;
        sleep_ms(50);
    }
}

/* CreateFile + WinUsb_Initialize + the two bulk pipes + SHORT_PACKET_TERMINATE on OUT. */
static bool open_loopback(void)
{
    g_file = CreateFileA(g_path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                         OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OVERLAPPED, NULL);
    if (g_file == INVALID_HANDLE_VALUE) {
        fprintf(stderr, "  CreateFile(%s): error %u\n", g_path, (unsigned)GetLastError());
        return false;
    }
    if (!WinUsb_Initialize(g_file, &g_h)) {
        fprintf(stderr, "  WinUsb_Initialize: error %u\n", (unsigned)GetLastError());
        return false;
    }
    g_in = g_out = 0;
    for (UCHAR i = 0; i < 2; i++) {
        WINUSB_PIPE_INFORMATION pi;
        if (!WinUsb_QueryPipe(g_h, 0, i, &pi))
            return false;
        if (pi.PipeType == UsbdPipeTypeBulk)
            *((pi.PipeId & 0x80) ? &g_in : &g_out) = pi.PipeId;
    }
    UCHAR on = 1;
    return g_in && g_out && WinUsb_SetPipePolicy(g_h, g_out, SHORT_PACKET_TERMINATE, 1, &on);
}

static void close_loopback(void)
{
    if (g_h)
        WinUsb_Free(g_h);
    g_h = NULL;
    if (g_file != INVALID_HANDLE_VALUE)
        CloseHandle(g_file);
    g_file = INVALID_HANDLE_VALUE;
}

/* Reads exactly n bytes (several reads when the echo comes in pieces). */
static bool read_exact(uint8_t *buf, size_t n)
{
    size_t have = 0;
    while (have < n) {
        ULONG got = 0;
        if (!WinUsb_ReadPipe(g_h, g_in, buf + have, (ULONG)(n - have), &got, NULL)) {
            fprintf(stderr, "  read at %zu of %zu: error %u\n", have, n, (unsigned)GetLastError());
            return false;
        }
        if (got == 0)
            return false;
        have += got;
    }
    return true;
}

/* One write of n bytes and its echo (plus the echoed ZLP of a write of whole packets). */
static bool loop_once(size_t n, unsigned seed)
{
    fill(g_wbuf, n, seed);
    memset(g_rbuf, 0xEE, n);
    ULONG done = 0;
    if (!WinUsb_WritePipe(g_h, g_out, g_wbuf, (ULONG)n, &done, NULL) || done != n) {
        fprintf(stderr, "  write %zu: error %u, %u bytes\n", n, (unsigned)GetLastError(), (unsigned)done);
        return false;
    }
    if (!read_exact(g_rbuf, n) || memcmp(g_rbuf, g_wbuf, n) != 0) {
        fprintf(stderr, "  echo of %zu bytes wrong\n", n);
        return false;
    }
    if (n % 512 == 0) {
        ULONG got = 1;
        if (!WinUsb_ReadPipe(g_h, g_in, g_rbuf, 512, &got, NULL) || got != 0) {
            fprintf(stderr, "  ZLP echo after %zu: error %u, %u bytes\n", n, (unsigned)GetLastError(),
                    (unsigned)got);
            return false;
        }
    }
    return true;
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_discovery(void)
{
    printf("  OPENWINUSB_DRIVER_STORE=%s OPENWINUSB_BUSES=%s\n", getenv("OPENWINUSB_DRIVER_STORE"),
           getenv("OPENWINUSB_BUSES"));
    CHECK(wait_path(true, 30000));
    CHECK(find_path(g_path, sizeof g_path));
    printf("  %s\n", g_path);
    /* The Loopback function's node (…&MI_02), the only one of the class. */
    char lower[512];
    for (size_t i = 0; i <= strlen(g_path) && i < sizeof lower; i++)
        lower[i] = (char)(g_path[i] >= 'A' && g_path[i] <= 'Z' ? g_path[i] + 32 : g_path[i]);
    CHECK(strstr(lower, "vid_1209&pid_0001&mi_02") != NULL);
    CHECK(strstr(lower, "{5c8a4f2e-7b31-4d0a-9e6f-0a1b2c3d4e5f}") != NULL);
    HDEVINFO hdi = SetupDiGetClassDevsA(&LOOPBACK_GUID, NULL, NULL, DIGCF_PRESENT | DIGCF_DEVICEINTERFACE);
    SP_DEVICE_INTERFACE_DATA ifd = {.cbSize = sizeof ifd};
    CHECK(!SetupDiEnumDeviceInterfaces(hdi, NULL, &LOOPBACK_GUID, 1, &ifd));
    CHECK_INT(GetLastError(), ERROR_NO_MORE_ITEMS);
    SetupDiDestroyDeviceInfoList(hdi);
    /* CfgMgr32 gives the same path. */
    ULONG len = 0;
    CHECK_INT(CM_Get_Device_Interface_List_SizeA(&len, (LPGUID)&LOOPBACK_GUID, NULL,
                                                 CM_GET_DEVICE_INTERFACE_LIST_PRESENT), CR_SUCCESS);
    char *list = len ? calloc(len, 1) : NULL;
    CHECK(list != NULL);
    if (list) {
        CHECK_INT(CM_Get_Device_Interface_ListA((LPGUID)&LOOPBACK_GUID, NULL, list, len,
                                                CM_GET_DEVICE_INTERFACE_LIST_PRESENT), CR_SUCCESS);
        CHECK(strcasecmp(list, g_path) == 0);
        free(list);
    }
}

static void test_open(void)
{
    CHECK(open_loopback());
    if (!g_h)
        return;
    /* WinUSB took only the Loopback interface: cdc_acm keeps the ACM function. */
    CHECK(acm_bound());
    USB_INTERFACE_DESCRIPTOR id;
    CHECK(WinUsb_QueryInterfaceSettings(g_h, 0, &id));
    CHECK_INT(id.bInterfaceNumber, 2);
    CHECK_INT(id.bInterfaceClass, 0xFF);
    CHECK_INT(id.bNumEndpoints, 2);
    WINUSB_PIPE_INFORMATION pi;
    CHECK(WinUsb_QueryPipe(g_h, 0, 0, &pi));
    CHECK_INT(pi.PipeType, UsbdPipeTypeBulk);
    CHECK_INT(pi.MaximumPacketSize, 512);
    CHECK(!WinUsb_QueryPipe(g_h, 0, 2, &pi));
    CHECK_INT(GetLastError(), ERROR_NO_MORE_ITEMS);
    UCHAR speed = 0;
    ULONG sl = 1;
    CHECK(WinUsb_QueryDeviceInformation(g_h, DEVICE_SPEED, &sl, &speed));
    CHECK_INT(speed, HighSpeed);
    /* Single client: a second open of the same function is refused. */
    HANDLE second = CreateFileA(g_path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                                NULL, OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
    CHECK(second == INVALID_HANDLE_VALUE);
    CHECK_INT(GetLastError(), ERROR_ACCESS_DENIED);
    /* Control transfer: GET_DESCRIPTOR(device) through the interface's control pipe. */
    WINUSB_SETUP_PACKET s = {.RequestType = 0x80, .Request = 6, .Value = 0x0100, .Index = 0, .Length = 18};
    UCHAR d[18] = {0};
    ULONG got = 0;
    CHECK(WinUsb_ControlTransfer(g_h, s, d, sizeof d, &got, NULL));
    CHECK_INT(got, 18);
    CHECK_INT(d[8] | d[9] << 8, 0x1209);
    CHECK_INT(d[10] | d[11] << 8, 0x0001);
}

static void test_sizes(void)
{
    static const size_t sizes[] = {1, 2, 63, 64, 511, 512, 513, 1000, 4096, 16384, 16385, 65535,
                                   65536, 65537, 100000, 131072, 262144, 500000, MAX_XFER};
    if (!g_h) {
        CHECK(g_h != NULL);
        return;
    }
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        bool ok = loop_once(sizes[i], (unsigned)i);
        CHECK(ok);
        if (!ok)
            fprintf(stderr, "  size %zu failed\n", sizes[i]);
    }
}

/* A read of more than the device sends ends at the short packet; a write that is a multiple
 * of the packet size is closed by the ZLP SHORT_PACKET_TERMINATE adds, and a lone ZLP write
 * comes back as a zero-length read. */
static void test_short_and_zlp(void)
{
    if (!g_h) {
        CHECK(g_h != NULL);
        return;
    }
    ULONG done = 0, got = 0;
    fill(g_wbuf, 100, 40);
    CHECK(WinUsb_WritePipe(g_h, g_out, g_wbuf, 100, &done, NULL));
    CHECK(WinUsb_ReadPipe(g_h, g_in, g_rbuf, 4096, &got, NULL));
    CHECK_INT(got, 100);
    CHECK(memcmp(g_rbuf, g_wbuf, 100) == 0);
    /* 1024 bytes = 2 full packets: without the ZLP the Loopback would wait for more. */
    fill(g_wbuf, 1024, 41);
    CHECK(WinUsb_WritePipe(g_h, g_out, g_wbuf, 1024, &done, NULL));
    CHECK_INT(done, 1024);
    CHECK(WinUsb_ReadPipe(g_h, g_in, g_rbuf, 1024, &got, NULL));
    CHECK_INT(got, 1024);
    CHECK(memcmp(g_rbuf, g_wbuf, 1024) == 0);
    got = 1;
    CHECK(WinUsb_ReadPipe(g_h, g_in, g_rbuf, 512, &got, NULL));   /* the echoed ZLP */
    CHECK_INT(got, 0);
    /* A zero-length write. */
    CHECK(WinUsb_WritePipe(g_h, g_out, g_wbuf, 0, &done, NULL));
    CHECK_INT(done, 0);
    got = 1;
    CHECK(WinUsb_ReadPipe(g_h, g_in, g_rbuf, 512, &got, NULL));
    CHECK_INT(got, 0);
    CHECK(loop_once(77, 42));
}

static void test_timeout(void)
{
    if (!g_h) {
        CHECK(g_h != NULL);
        return;
    }
    ULONG t = 300, got = 1;
    CHECK(WinUsb_SetPipePolicy(g_h, g_in, PIPE_TRANSFER_TIMEOUT, sizeof t, &t));
    uint64_t t0 = now_ms();
    CHECK(!WinUsb_ReadPipe(g_h, g_in, g_rbuf, 512, &got, NULL));
    CHECK_INT(GetLastError(), ERROR_SEM_TIMEOUT);
    uint64_t ms = now_ms() - t0;
    printf("  IN with no data timed out after %llu ms\n", (unsigned long long)ms);
    CHECK(ms >= 250);
    CHECK_INT(got, 0);
    t = 0;
    CHECK(WinUsb_SetPipePolicy(g_h, g_in, PIPE_TRANSFER_TIMEOUT, sizeof t, &t));
    /* The pipe did not halt, and the cancelled read took nothing. */
    CHECK(loop_once(300, 43));
}

static bool halt_in(void)
{
    WINUSB_SETUP_PACKET s = {.RequestType = 0x02, .Request = 3 /* SET_FEATURE */, .Value = 0 /* ENDPOINT_HALT */,
                             .Index = g_in, .Length = 0};
    ULONG got = 0;
    return WinUsb_ControlTransfer(g_h, s, NULL, 0, &got, NULL);
}

static void test_stall(void)
{
    if (!g_h) {
        CHECK(g_h != NULL);
        return;
    }
    ULONG t = 3000, got = 0;
    CHECK(WinUsb_SetPipePolicy(g_h, g_in, PIPE_TRANSFER_TIMEOUT, sizeof t, &t));
    /* Without AUTO_CLEAR_STALL the pipe stays halted until WinUsb_ResetPipe. */
    CHECK(halt_in());
    CHECK(!WinUsb_ReadPipe(g_h, g_in, g_rbuf, 512, &got, NULL));
    CHECK_INT(GetLastError(), ERROR_GEN_FAILURE);
    CHECK(!WinUsb_ReadPipe(g_h, g_in, g_rbuf, 512, &got, NULL));
    CHECK_INT(GetLastError(), ERROR_GEN_FAILURE);
    CHECK(WinUsb_ResetPipe(g_h, g_in));
    CHECK(loop_once(200, 44));
    /* With AUTO_CLEAR_STALL the failed read is the only casualty. */
    UCHAR on = 1;
    CHECK(WinUsb_SetPipePolicy(g_h, g_in, AUTO_CLEAR_STALL, 1, &on));
    CHECK(halt_in());
    CHECK(!WinUsb_ReadPipe(g_h, g_in, g_rbuf, 512, &got, NULL));
    CHECK_INT(GetLastError(), ERROR_GEN_FAILURE);
    CHECK(loop_once(201, 45));
    CHECK(loop_once(4096, 46));
    on = 0;
    CHECK(WinUsb_SetPipePolicy(g_h, g_in, AUTO_CLEAR_STALL, 1, &on));
    t = 0;
    CHECK(WinUsb_SetPipePolicy(g_h, g_in, PIPE_TRANSFER_TIMEOUT, sizeof t, &t));
}

#define QDEPTH 8
#define QSIZE 16000u   /* ends with a short packet: one echo per write */
#define QREAD 16384u   /* RAW_IO reads are whole packets */

/* QDEPTH reads posted first, then QDEPTH writes: every request outstanding at once, each echo
 * lands in its own read, in order. raw: RAW_IO on the IN pipe (every read with the backend at
 * once; RAW_IO writes would have to be whole packets). */
static bool overlapped_round(bool raw, unsigned seed)
{
    UCHAR v = raw ? 1 : 0;
    bool ok = WinUsb_SetPipePolicy(g_h, g_in, RAW_IO, 1, &v);
    OVERLAPPED ro[QDEPTH], wo[QDEPTH];
    memset(ro, 0, sizeof ro);
    memset(wo, 0, sizeof wo);
    for (int i = 0; i < QDEPTH; i++) {
        ro[i].hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
        wo[i].hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
        memset(g_rbuf + (size_t)i * QREAD, 0xEE, QREAD);
        fill(g_wbuf + (size_t)i * QSIZE, QSIZE, seed + (unsigned)i);
    }
    int posted_r = 0, posted_w = 0;
    for (int i = 0; i < QDEPTH && ok; i++) {
        BOOL r = WinUsb_ReadPipe(g_h, g_in, g_rbuf + (size_t)i * QREAD, QREAD, NULL, &ro[i]);
        ok = !r && GetLastError() == ERROR_IO_PENDING;
        posted_r += ok;
    }
    for (int i = 0; i < QDEPTH && ok; i++) {
        BOOL r = WinUsb_WritePipe(g_h, g_out, g_wbuf + (size_t)i * QSIZE, QSIZE, NULL, &wo[i]);
        ok = !r && GetLastError() == ERROR_IO_PENDING;
        posted_w += ok;
    }
    if (!ok)
        fprintf(stderr, "  posting failed: error %u\n", (unsigned)GetLastError());
    for (int i = 0; i < QDEPTH; i++) {
        ULONG n = 0;
        if (i < posted_w) {
            ok &= WaitForSingleObject(wo[i].hEvent, 20000) == WAIT_OBJECT_0;
            ok &= WinUsb_GetOverlappedResult(g_h, &wo[i], &n, FALSE) && n == QSIZE;
        }
    }
    for (int i = 0; i < QDEPTH; i++) {
        ULONG n = 0;
        if (i >= posted_r)
            continue;
        if (WaitForSingleObject(ro[i].hEvent, 20000) != WAIT_OBJECT_0) {
            ok = false;
            WinUsb_AbortPipe(g_h, g_in);
        }
        BOOL r = WinUsb_GetOverlappedResult(g_h, &ro[i], &n, TRUE);
        if (!r || n != QSIZE || memcmp(g_rbuf + (size_t)i * QREAD, g_wbuf + (size_t)i * QSIZE, QSIZE) != 0) {
            fprintf(stderr, "  read %d: %d, %u bytes, error %u\n", i, r, (unsigned)n, (unsigned)GetLastError());
            ok = false;
        }
    }
    for (int i = 0; i < QDEPTH; i++) {
        CloseHandle(ro[i].hEvent);
        CloseHandle(wo[i].hEvent);
    }
    v = 0;
    WinUsb_SetPipePolicy(g_h, g_in, RAW_IO, 1, &v);
    return ok;
}

static void test_overlapped(void)
{
    if (!g_h) {
        CHECK(g_h != NULL);
        return;
    }
    CHECK(overlapped_round(false, 50));
    CHECK(overlapped_round(true, 60));
    CHECK(loop_once(999, 47));
}

/* AbortPipe ends a read waiting for data that never comes. */
static void test_abort(void)
{
    if (!g_h) {
        CHECK(g_h != NULL);
        return;
    }
    OVERLAPPED o = {0};
    o.hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
    CHECK(!WinUsb_ReadPipe(g_h, g_in, g_rbuf, 512, NULL, &o));
    CHECK_INT(GetLastError(), ERROR_IO_PENDING);
    ULONG n = 0;
    CHECK(!WinUsb_GetOverlappedResult(g_h, &o, &n, FALSE));
    CHECK_INT(GetLastError(), ERROR_IO_INCOMPLETE);
    CHECK(WinUsb_AbortPipe(g_h, g_in));
    CHECK_INT(WaitForSingleObject(o.hEvent, 5000), WAIT_OBJECT_0);
    CHECK(!WinUsb_GetOverlappedResult(g_h, &o, &n, TRUE));
    CHECK_INT(GetLastError(), ERROR_OPERATION_ABORTED);
    CloseHandle(o.hEvent);
    CHECK(loop_once(123, 48));
}

/* SourceSink (pattern 1): byte j of every packet is (j % 512) % 63 both ways. */
static bool ss_pattern_ok(const uint8_t *b, size_t n)
{
    for (size_t j = 0; j < n; j++)
        if (b[j] != (uint8_t)((j % 512) % 63))
            return false;
    return true;
}

static void ss_fill(uint8_t *b, size_t n)
{
    for (size_t j = 0; j < n; j++)
        b[j] = (uint8_t)((j % 512) % 63);
}

/* A second function of the same device through its own interface class: its source streams
 * the pattern, its sink checks what it gets and halts its endpoint on a wrong byte. */
static void test_sourcesink(void)
{
    char path[512];
    uint64_t end = now_ms() + 30000;
    while (!find_path_of(&SOURCESINK_GUID, path, sizeof path) && now_ms() < end)
        sleep_ms(50);
    CHECK(path[0] != 0);
    if (!path[0])
        return;
    printf("  %s\n", path);
    char lower[512];
    for (size_t i = 0; i <= strlen(path) && i < sizeof lower; i++)
        lower[i] = (char)(path[i] >= 'A' && path[i] <= 'Z' ? path[i] + 32 : path[i]);
    CHECK(strstr(lower, "vid_1209&pid_0001&mi_03") != NULL);
    HANDLE f = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
    CHECK(f != INVALID_HANDLE_VALUE);
    WINUSB_INTERFACE_HANDLE h = NULL;
    CHECK(f != INVALID_HANDLE_VALUE && WinUsb_Initialize(f, &h));
    if (!h) {
        if (f != INVALID_HANDLE_VALUE)
            CloseHandle(f);
        return;
    }
    USB_INTERFACE_DESCRIPTOR id;
    CHECK(WinUsb_QueryInterfaceSettings(h, 0, &id));
    CHECK_INT(id.bInterfaceNumber, 3);
    UCHAR in = 0, out = 0;
    for (UCHAR i = 0; i < id.bNumEndpoints; i++) {
        WINUSB_PIPE_INFORMATION pi;
        if (WinUsb_QueryPipe(h, 0, i, &pi) && pi.PipeType == UsbdPipeTypeBulk)
            *((pi.PipeId & 0x80) ? &in : &out) = pi.PipeId;
    }
    CHECK(in && out);
    ULONG t = 5000;
    WinUsb_SetPipePolicy(h, in, PIPE_TRANSFER_TIMEOUT, sizeof t, &t);
    WinUsb_SetPipePolicy(h, out, PIPE_TRANSFER_TIMEOUT, sizeof t, &t);
    /* Source: whole packets, checked byte by byte. */
    static const size_t reads[] = {512, 1536, 4096, 65536};
    for (size_t k = 0; k < sizeof reads / sizeof reads[0] && in; k++) {
        ULONG got = 0;
        memset(g_rbuf, 0xEE, reads[k]);
        CHECK(WinUsb_ReadPipe(h, in, g_rbuf, (ULONG)reads[k], &got, NULL));
        CHECK_INT(got, reads[k]);
        CHECK(ss_pattern_ok(g_rbuf, got));
    }
    /* Sink: the pattern is accepted; a wrong byte halts the endpoint (the device's verdict
     * arrives as a stall on a later write), WinUsb_ResetPipe clears it. */
    ULONG done = 0;
    ss_fill(g_wbuf, 65536);
    CHECK(WinUsb_WritePipe(h, out, g_wbuf, 65536, &done, NULL));
    CHECK_INT(done, 65536);
    CHECK(WinUsb_WritePipe(h, out, g_wbuf, 1000, &done, NULL));
    CHECK(WinUsb_WritePipe(h, out, g_wbuf, 512, &done, NULL));
    sleep_ms(100);
    /* No stall so far: the device found nothing wrong. */
    CHECK(WinUsb_WritePipe(h, out, g_wbuf, 512, &done, NULL));
    /* The sink checks a request when it completes (4 KiB or a short packet): the wrong
     * byte goes out in a short packet. */
    g_wbuf[100] ^= 0xFF;
    CHECK(WinUsb_WritePipe(h, out, g_wbuf, 300, &done, NULL));
    g_wbuf[100] ^= 0xFF;
    sleep_ms(100);
    bool stalled = false;
    DWORD e = 0;
    for (int i = 0; i < 3 && !stalled; i++) {
        stalled = !WinUsb_WritePipe(h, out, g_wbuf, 512, &done, NULL);
        e = GetLastError();
    }
    CHECK(stalled);
    if (stalled)
        CHECK_INT(e, ERROR_GEN_FAILURE);
    CHECK(WinUsb_ResetPipe(h, out));
    CHECK(WinUsb_WritePipe(h, out, g_wbuf, 4096, &done, NULL));
    CHECK_INT(done, 4096);
    WinUsb_Free(h);
    CloseHandle(f);
}

/* Unbinding the gadget with a read pending: the read completes with an error, nothing hangs;
 * afterwards the interface is gone from discovery, and binding again brings it back. */
static void test_surprise_removal(void)
{
    if (!g_h) {
        CHECK(g_h != NULL);
        return;
    }
    OVERLAPPED o = {0};
    o.hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
    CHECK(!WinUsb_ReadPipe(g_h, g_in, g_rbuf, 4096, NULL, &o));
    CHECK_INT(GetLastError(), ERROR_IO_PENDING);
    sleep_ms(100);
    uint64_t t0 = now_ms();
    CHECK_INT(bind_gadget(false), 0);
    DWORD w = WaitForSingleObject(o.hEvent, 30000);
    CHECK_INT(w, WAIT_OBJECT_0);
    if (w != WAIT_OBJECT_0)
        WinUsb_AbortPipe(g_h, g_in);   /* never leave it pending */
    ULONG n = 0;
    CHECK(!WinUsb_GetOverlappedResult(g_h, &o, &n, TRUE));
    DWORD e = GetLastError();
    printf("  pending read completed %llu ms after the unbind: error %u\n",
           (unsigned long long)(now_ms() - t0), (unsigned)e);
    CHECK_INT(e, ERROR_DEVICE_NOT_CONNECTED);
    CloseHandle(o.hEvent);
    /* Later I/O fails at once; cached information still answers. */
    ULONG done = 0;
    CHECK(!WinUsb_WritePipe(g_h, g_out, g_wbuf, 10, &done, NULL));
    CHECK_INT(GetLastError(), ERROR_DEVICE_NOT_CONNECTED);
    USB_INTERFACE_DESCRIPTOR id;
    CHECK(WinUsb_QueryInterfaceSettings(g_h, 0, &id));
    CHECK(wait_path(false, 30000));
    close_loopback();
    /* Bound again: found again through hotplug, and it works. */
    CHECK_INT(bind_gadget(true), 0);
    CHECK(wait_path(true, 30000));
    CHECK(find_path(g_path, sizeof g_path));
    CHECK(open_loopback());
    if (g_h)
        CHECK(loop_once(5000, 49));
    close_loopback();
    /* Leave the machine as found: cdc_acm on the ACM function. */
    for (int i = 0; i < 250 && !acm_bound(); i++)
        sleep_ms(20);
    CHECK(acm_bound());
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    g_wbuf = malloc(MAX_XFER + 4096);
    g_rbuf = malloc(MAX_XFER + 4096);
    if (!g_wbuf || !g_rbuf)
        return 1;
    RUN(test_discovery);
    RUN(test_open);
    RUN(test_sizes);
    RUN(test_short_and_zlp);
    RUN(test_timeout);
    RUN(test_stall);
    RUN(test_overlapped);
    RUN(test_abort);
    RUN(test_sourcesink);
    RUN(test_surprise_removal);
    close_loopback();
    free(g_wbuf);
    free(g_rbuf);
    return check_report();
}
