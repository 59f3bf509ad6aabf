/* The Win32 Comm API over usbser ports, through the process stack, against the virtual
 * cdc-acm model: structure layouts, CreateFile on port names and the port's interface path
 * (exclusive), DCB and line coding / control lines as the model sees them, BuildCommDCB,
 * timeouts, escapes and breaks, every SERIAL_STATE bit reaching GetCommModemStatus,
 * WaitCommEvent and ClearCommError, data looped back through ReadFile/WriteFile
 * (synchronous and overlapped) under each COMMTIMEOUTS mode, purge and cancel, closing with
 * requests pending, and surprise removal during a blocking read and a pending wait.
 * Nothing here judges elapsed time; every wait that could hang is bounded. */
#include <stddef.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include <openwinusb/devif.h>
#include <openwinusb/stack.h>
#include <openwinusb/usbser.h>
#include <openwinusb/win32/windows.h>
#include <openwinusb/win32/winusb.h>

#include "api/process_stack.h"
#include "api/win32_internal.h"
#include "check.h"
#include "devices/models.h"
#include "hcd/vbus.h"

#define WAIT_MS 5000u   /* upper bound of every wait for something that must happen */

struct cx {
    struct owu_stack *stack;
    struct owu_vdev *vd;
    char name[16];        /* "COM3" */
    char dev_name[24];    /* "\\.\COM3" */
};

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A stack with the cdc-acm model as the process stack; the port name from usbser's list. */
static bool cx_open(struct cx *x)
{
    memset(x, 0, sizeof *x);
    setenv("OPENWINUSB_REGISTRY", "memory", 1);
    setenv("OPENWINUSB_DRIVER_STORE", "/nonexistent/openwinusb-test-driver-store", 1);
    struct owu_stack_options opt;
    owu_stack_options_default(&opt);
    opt.buses = "virtual:cdc-acm";
    owu_err err = {0};
    if (owu_stack_open(&opt, &x->stack, &err) != OWU_OK) {
        fprintf(stderr, "stack: %s\n", err.msg);
        return false;
    }
    owu_process_stack_replace(x->stack);
    owu_strlist l = {0};
    if (owu_usbser_list(x->stack, &l, &err) != OWU_OK || l.n != 1) {
        fprintf(stderr, "no port: %s\n", err.msg);
        owu_strlist_clear(&l);
        return false;
    }
    size_t n = strcspn(l.v[0], "\t");
    snprintf(x->name, sizeof x->name, "%.*s", (int)n, l.v[0]);
    snprintf(x->dev_name, sizeof x->dev_name, "\\\\.\\%s", x->name);
    owu_strlist_clear(&l);
    owu_stack_lock(x->stack);
    struct owu_devnode *node = owu_stack_find(x->stack, "virtual:1-1");
    struct owu_usb_device *d = node ? node->bus_device : NULL;
    x->vd = d ? owu_vbus_port(d->hcd, d->port) : NULL;
    owu_stack_unlock(x->stack);
    return x->vd != NULL;
}

static void cx_close(struct cx *x)
{
    owu_process_stack_reset();
    if (x->stack)
        owu_stack_close(x->stack);
    memset(x, 0, sizeof *x);
}

static HANDLE open_port(const char *name, DWORD flags)
{
    HANDLE h = CreateFileA(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, flags, NULL);
    if (h == INVALID_HANDLE_VALUE)
        fprintf(stderr, "CreateFile %s: %u\n", name, (unsigned)GetLastError());
    return h;
}

static bool set_timeouts(HANDLE h, DWORD ri, DWORD rtm, DWORD rtc, DWORD wtm, DWORD wtc)
{
    COMMTIMEOUTS t = {ri, rtm, rtc, wtm, wtc};
    return SetCommTimeouts(h, &t) != FALSE;
}

static DWORD modem_status(HANDLE h)
{
    DWORD s = 0xDEAD;
    return GetCommModemStatus(h, &s) ? s : 0xDEAD;
}

/* Polls GetCommModemStatus until it equals `want` (set-up only, never a timing verdict). */
static DWORD wait_modem_status(HANDLE h, DWORD want)
{
    DWORD s = modem_status(h);
    for (unsigned i = 0; i < WAIT_MS && s != want; i++) {
        sleep_ms(1);
        s = modem_status(h);
    }
    return s;
}

/* An overlapped WaitCommEvent, waited for with a bound: the mask, or 0xDEAD. */
static DWORD wait_event(HANDLE h)
{
    OVERLAPPED ov = {0};
    ov.hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
    DWORD ev = 0xDEAD, n = 0;
    BOOL ok = WaitCommEvent(h, &ev, &ov);
    if (!ok && GetLastError() == ERROR_IO_PENDING) {
        if (WaitForSingleObject(ov.hEvent, WAIT_MS) != WAIT_OBJECT_0) {
            PurgeComm(h, PURGE_RXABORT);
            SetCommMask(h, 0);   /* completes the wait with 0 */
        }
        ok = GetOverlappedResult(h, &ov, &n, TRUE);
    }
    CloseHandle(ov.hEvent);
    return ok ? ev : 0xDEAD;
}

/* ---- layouts ------------------------------------------------------------------------------------- */

static void test_layouts(void)
{
    CHECK_INT(sizeof(DCB), 28);
    CHECK_INT(sizeof(COMMTIMEOUTS), 20);
    CHECK_INT(sizeof(COMSTAT), 12);
    CHECK_INT(sizeof(COMMPROP), 64);
    CHECK_INT(offsetof(DCB, BaudRate), 4);
    CHECK_INT(offsetof(DCB, wReserved), 12);
    CHECK_INT(offsetof(DCB, XonLim), 14);
    CHECK_INT(offsetof(DCB, ByteSize), 18);
    CHECK_INT(offsetof(DCB, EvtChar), 25);
    CHECK_INT(offsetof(COMSTAT, cbInQue), 4);
    CHECK_INT(offsetof(COMMPROP, dwMaxBaud), 20);
    CHECK_INT(offsetof(COMMPROP, wcProvChar), 60);
    /* The bit-fields sit where Windows puts them in the third DWORD. */
    DCB d;
    memset(&d, 0, sizeof d);
    d.fBinary = 1;
    d.fDtrControl = DTR_CONTROL_HANDSHAKE;
    d.fRtsControl = RTS_CONTROL_TOGGLE;
    d.fAbortOnError = 1;
    d.fOutxCtsFlow = 1;
    DWORD bits;
    memcpy(&bits, (const char *)&d + 8, 4);
    CHECK_INT(bits, 0x1u | (0x2u << 4) | (0x3u << 12) | (1u << 14) | (1u << 2));
    COMSTAT st;
    memset(&st, 0, sizeof st);
    st.fTxim = 1;
    memcpy(&bits, &st, 4);
    CHECK_INT(bits, 1u << 6);
}

/* ---- CreateFile / CloseHandle ------------------------------------------------------------------- */

static void test_open_exclusive(void)
{
    struct cx x;
    CHECK(cx_open(&x));
    if (!x.vd) {
        cx_close(&x);
        return;
    }
    size_t handles = owu_w32_handle_count();
    CHECK_STR(x.name, "COM3");
    HANDLE h = open_port(x.name, 0);
    CHECK(h != INVALID_HANDLE_VALUE);
    /* Exclusive: any spelling of the same port is refused while it is open. */
    HANDLE h2 = CreateFileA(x.dev_name, GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL);
    CHECK(h2 == INVALID_HANDLE_VALUE);
    CHECK_INT(GetLastError(), ERROR_ACCESS_DENIED);
    h2 = CreateFileA("com3", GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL);
    CHECK(h2 == INVALID_HANDLE_VALUE);
    CHECK_INT(GetLastError(), ERROR_ACCESS_DENIED);
    /* DTR and RTS went up at open. */
    CHECK_INT(owu_cdc_acm_control_lines(x.vd), OWU_ACM_DTR | OWU_ACM_RTS);
    CHECK(CloseHandle(h));
    CHECK_INT(owu_cdc_acm_control_lines(x.vd), 0);
    /* Stale handle. */
    DCB d;
    CHECK(!GetCommState(h, &d));
    CHECK_INT(GetLastError(), ERROR_INVALID_HANDLE);
    CHECK(!CloseHandle(h));
    CHECK_INT(GetLastError(), ERROR_INVALID_HANDLE);

    /* Released at once: the device path and the UTF-16 entry open it again. */
    h = open_port("\\\\.\\com3", FILE_FLAG_OVERLAPPED);
    CHECK(h != INVALID_HANDLE_VALUE);
    CHECK(CloseHandle(h));
    const WCHAR wname[] = {'\\', '\\', '.', '\\', 'C', 'O', 'M', '3', 0};
    h = CreateFileW(wname, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    CHECK(h != INVALID_HANDLE_VALUE);
    CHECK(GetCommState(h, &d));
    CHECK(CloseHandle(h));
    h = open_port("COM3:", 0);
    CHECK(h != INVALID_HANDLE_VALUE);
    CHECK(CloseHandle(h));

    /* Not a WinUSB device; without FILE_FLAG_OVERLAPPED WinUSB refuses the handle first. */
    h = open_port(x.name, FILE_FLAG_OVERLAPPED);
    WINUSB_INTERFACE_HANDLE wh = NULL;
    CHECK(!WinUsb_Initialize(h, &wh));
    CHECK_INT(GetLastError(), ERROR_INVALID_FUNCTION);
    CHECK(CloseHandle(h));
    /* Another user of the stack holding the port excludes CreateFile too. */
    struct owu_usbser_port *direct = NULL;
    CHECK_INT(owu_usbser_open(x.stack, x.name, NULL, &direct, NULL), 0);
    h = CreateFileA(x.dev_name, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING, 0, NULL);
    CHECK(h == INVALID_HANDLE_VALUE);
    CHECK_INT(GetLastError(), ERROR_ACCESS_DENIED);
    owu_usbser_close(direct);

    /* Names that are no port. */
    const char *bad[] = {"COM4", "\\\\.\\COM99", "COM0", "COM03", "COM",
                         "COM3x", "\\\\.\\COM1234", "COM10", "COM3::", "\\\\.\\COM3:"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        h = CreateFileA(bad[i], GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL);
        CHECK(h == INVALID_HANDLE_VALUE);
        CHECK_INT(GetLastError(), ERROR_FILE_NOT_FOUND);
        if (h != INVALID_HANDLE_VALUE)
            CloseHandle(h);
    }
    h = CreateFileA(x.name, GENERIC_READ, 0, NULL, CREATE_NEW, 0, NULL);
    CHECK(h == INVALID_HANDLE_VALUE);
    CHECK_INT(GetLastError(), ERROR_INVALID_PARAMETER);

    /* The port's device interface (GUID_DEVINTERFACE_COMPORT) opens the port too. */
    struct owu_devif_info *ifs = NULL;
    size_t n = 0;
    CHECK_INT(owu_w32_query_interfaces((const GUID *)&OWU_GUID_DEVINTERFACE_COMPORT, NULL, true, &ifs, &n), 0);
    CHECK_INT(n, 1);
    if (n >= 1) {
        h = open_port(ifs[0].path, 0);
        CHECK(h != INVALID_HANDLE_VALUE);
        CHECK(GetCommState(h, &d));
        HANDLE again = CreateFileA(x.name, GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL);
        CHECK(again == INVALID_HANDLE_VALUE);
        CHECK_INT(GetLastError(), ERROR_ACCESS_DENIED);
        CHECK(CloseHandle(h));
    }
    owu_devif_infos_free(ifs, n);
    CHECK_INT(owu_w32_handle_count(), handles);
    cx_close(&x);
}

/* Comm functions on handles that are not COM ports. */
static void test_bad_handles(void)
{
    struct cx x;
    CHECK(cx_open(&x));
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL);
    HANDLE bogus[] = {NULL, INVALID_HANDLE_VALUE, ev, (HANDLE)(uintptr_t)0x12345678};
    for (size_t i = 0; i < sizeof bogus / sizeof bogus[0]; i++) {
        HANDLE b = bogus[i];
        DCB d;
        COMMTIMEOUTS t;
        DWORD v = 0;
        COMSTAT st;
        COMMPROP p;
        char buf[4];
        CHECK(!GetCommState(b, &d));
        CHECK_INT(GetLastError(), ERROR_INVALID_HANDLE);
        CHECK(!SetCommState(b, &d));
        CHECK_INT(GetLastError(), ERROR_INVALID_HANDLE);
        CHECK(!GetCommTimeouts(b, &t));
        CHECK(!SetCommTimeouts(b, &t));
        CHECK(!EscapeCommFunction(b, SETDTR));
        CHECK(!SetCommBreak(b));
        CHECK(!ClearCommBreak(b));
        CHECK(!GetCommModemStatus(b, &v));
        CHECK(!SetCommMask(b, EV_RXCHAR));
        CHECK(!GetCommMask(b, &v));
        CHECK(!WaitCommEvent(b, &v, NULL));
        CHECK(!PurgeComm(b, PURGE_RXCLEAR));
        CHECK(!ClearCommError(b, &v, &st));
        CHECK(!GetCommProperties(b, &p));
        CHECK(!SetupComm(b, 1024, 1024));
        CHECK(!TransmitCommChar(b, 'x'));
        CHECK_INT(GetLastError(), ERROR_INVALID_HANDLE);
        CHECK(!ReadFile(b, buf, sizeof buf, &v, NULL));
        CHECK_INT(GetLastError(), ERROR_INVALID_HANDLE);
        CHECK(!WriteFile(b, buf, sizeof buf, &v, NULL));
        CHECK_INT(GetLastError(), ERROR_INVALID_HANDLE);
    }
    CloseHandle(ev);

    /* A device file that is no COM port (the composite parent of the CDC function). */
    HANDLE dev = INVALID_HANDLE_VALUE;
    if (x.stack) {
        owu_stack_lock(x.stack);
        struct owu_devnode *node = owu_stack_find(x.stack, "virtual:1-1");
        dev = node ? owu_w32_open_node(x.stack, node, NULL, FILE_FLAG_OVERLAPPED) : INVALID_HANDLE_VALUE;
        owu_stack_unlock(x.stack);
    }
    CHECK(dev != INVALID_HANDLE_VALUE);
    if (dev != INVALID_HANDLE_VALUE) {
        char buf[4];
        DWORD n;
        DCB d;
        CHECK(!ReadFile(dev, buf, sizeof buf, &n, NULL));
        CHECK_INT(GetLastError(), ERROR_INVALID_FUNCTION);
        CHECK(!WriteFile(dev, buf, sizeof buf, &n, NULL));
        CHECK_INT(GetLastError(), ERROR_INVALID_FUNCTION);
        CHECK(!GetCommState(dev, &d));
        CHECK_INT(GetLastError(), ERROR_INVALID_HANDLE);
        CHECK(!PurgeComm(dev, PURGE_RXCLEAR));
        CHECK_INT(GetLastError(), ERROR_INVALID_HANDLE);
        CHECK(CancelIo(dev));
        CHECK(CloseHandle(dev));
    }
    cx_close(&x);
}

/* ---- DCB ------------------------------------------------------------------------------------------ */

static void test_comm_state(void)
{
    struct cx x;
    CHECK(cx_open(&x));
    HANDLE h = x.vd ? open_port(x.name, 0) : INVALID_HANDLE_VALUE;
    CHECK(h != INVALID_HANDLE_VALUE);
    if (h == INVALID_HANDLE_VALUE) {
        cx_close(&x);
        return;
    }
    DCB d;
    memset(&d, 0xAB, sizeof d);
    CHECK(GetCommState(h, &d));
    /* The device's line coding at open (the model starts at 9600 8N1). */
    CHECK_INT(d.DCBlength, sizeof(DCB));
    CHECK_INT(d.BaudRate, 9600);
    CHECK_INT(d.ByteSize, 8);
    CHECK_INT(d.Parity, NOPARITY);
    CHECK_INT(d.StopBits, ONESTOPBIT);
    CHECK_INT(d.fBinary, 1);
    CHECK_INT(d.fDtrControl, DTR_CONTROL_ENABLE);
    CHECK_INT(d.fRtsControl, RTS_CONTROL_ENABLE);
    CHECK_INT(d.fOutxCtsFlow, 0);
    CHECK_INT(d.XonChar, 0x11);
    CHECK_INT(d.XoffChar, 0x13);

    d.BaudRate = CBR_115200;
    d.ByteSize = 7;
    d.Parity = EVENPARITY;
    d.StopBits = TWOSTOPBITS;
    d.fOutxCtsFlow = 1;
    d.fAbortOnError = 0;
    d.EvtChar = '\n';
    CHECK(SetCommState(h, &d));
    struct owu_cdc_line_coding lc;
    CHECK_INT(owu_cdc_acm_line_coding(x.vd, &lc), 0);
    CHECK_INT(lc.rate, 115200);
    CHECK_INT(lc.data_bits, 7);
    CHECK_INT(lc.parity, 2);
    CHECK_INT(lc.stop_bits, 2);
    DCB back;
    CHECK(GetCommState(h, &back));
    CHECK_INT(back.BaudRate, 115200);
    CHECK_INT(back.ByteSize, 7);
    CHECK_INT(back.Parity, EVENPARITY);
    CHECK_INT(back.StopBits, TWOSTOPBITS);
    CHECK_INT(back.fOutxCtsFlow, 1);
    CHECK_INT(back.EvtChar, '\n');

    /* Odd rates are fine (BAUD_USER); mark parity, 1.5 stop bits with 5 data bits. */
    d.BaudRate = 250000;
    d.ByteSize = 5;
    d.Parity = MARKPARITY;
    d.StopBits = ONE5STOPBITS;
    CHECK(SetCommState(h, &d));
    CHECK_INT(owu_cdc_acm_line_coding(x.vd, &lc), 0);
    CHECK_INT(lc.rate, 250000);
    CHECK_INT(lc.data_bits, 5);
    CHECK_INT(lc.parity, 3);
    CHECK_INT(lc.stop_bits, 1);

    /* Control lines from the DCB. */
    d.ByteSize = 8;
    d.Parity = SPACEPARITY;
    d.StopBits = ONESTOPBIT;
    d.fDtrControl = DTR_CONTROL_DISABLE;
    CHECK(SetCommState(h, &d));
    CHECK_INT(owu_cdc_acm_control_lines(x.vd), OWU_ACM_RTS);
    d.fRtsControl = RTS_CONTROL_DISABLE;
    CHECK(SetCommState(h, &d));
    CHECK_INT(owu_cdc_acm_control_lines(x.vd), 0);
    d.fDtrControl = DTR_CONTROL_HANDSHAKE;
    d.fRtsControl = RTS_CONTROL_HANDSHAKE;
    CHECK(SetCommState(h, &d));
    CHECK_INT(owu_cdc_acm_control_lines(x.vd), OWU_ACM_DTR | OWU_ACM_RTS);
    d.fRtsControl = RTS_CONTROL_TOGGLE;
    CHECK(SetCommState(h, &d));
    CHECK_INT(owu_cdc_acm_control_lines(x.vd), OWU_ACM_DTR);

    /* Invalid DCBs change nothing. */
    CHECK(GetCommState(h, &d));
    struct {
        const char *what;
        DWORD baud;
        BYTE size, parity, stop;
        unsigned dtr;
        char xon, xoff;
    } bad[] = {
        {"baud 0", 0, 8, 0, 0, 1, 0x11, 0x13},
        {"4 data bits", 9600, 4, 0, 0, 1, 0x11, 0x13},
        {"9 data bits", 9600, 9, 0, 0, 1, 0x11, 0x13},
        {"parity 5", 9600, 8, 5, 0, 1, 0x11, 0x13},
        {"stop 3", 9600, 8, 0, 3, 1, 0x11, 0x13},
        {"5 data, 2 stop", 9600, 5, 0, 2, 1, 0x11, 0x13},
        {"8 data, 1.5 stop", 9600, 8, 0, 1, 1, 0x11, 0x13},
        {"dtr 3", 9600, 8, 0, 0, 3, 0x11, 0x13},
        {"xon == xoff", 9600, 8, 0, 0, 1, 0x11, 0x11},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        DCB b = d;
        b.BaudRate = bad[i].baud;
        b.ByteSize = bad[i].size;
        b.Parity = bad[i].parity;
        b.StopBits = bad[i].stop;
        b.fDtrControl = bad[i].dtr & 3u;
        b.XonChar = bad[i].xon;
        b.XoffChar = bad[i].xoff;
        SetLastError(0);
        if (SetCommState(h, &b))
            fprintf(stderr, "accepted: %s\n", bad[i].what);
        CHECK_INT(GetLastError(), ERROR_INVALID_PARAMETER);
    }
    CHECK(!SetCommState(h, NULL));
    CHECK_INT(GetLastError(), ERROR_INVALID_PARAMETER);
    CHECK(!GetCommState(h, NULL));
    CHECK_INT(GetLastError(), ERROR_INVALID_PARAMETER);
    CHECK_INT(owu_cdc_acm_line_coding(x.vd, &lc), 0);
    CHECK_INT(lc.rate, 250000);
    CHECK(GetCommState(h, &back));
    CHECK_INT(back.BaudRate, 250000);
    CHECK_INT(back.Parity, SPACEPARITY);
    CHECK(CloseHandle(h));
    cx_close(&x);
}

static void test_build_dcb(void)
{
    DCB d;
    memset(&d, 0, sizeof d);
    d.fOutxCtsFlow = 1;
    d.fOutX = 1;
    d.EvtChar = 'z';
    CHECK(BuildCommDCBA("baud=115200 parity=N data=8 stop=1", &d));
    CHECK_INT(d.BaudRate, 115200);
    CHECK_INT(d.Parity, NOPARITY);
    CHECK_INT(d.ByteSize, 8);
    CHECK_INT(d.StopBits, ONESTOPBIT);
    CHECK_INT(d.fBinary, 1);
    CHECK_INT(d.fOutxCtsFlow, 0);   /* flow control is reset to none */
    CHECK_INT(d.fOutX, 0);
    CHECK_INT(d.fDtrControl, DTR_CONTROL_ENABLE);
    CHECK_INT(d.fRtsControl, RTS_CONTROL_ENABLE);
    CHECK_INT(d.EvtChar, 'z');      /* members the string does not name stay */

    CHECK(BuildCommDCBA("COM1:9600,n,8,1", &d));
    CHECK_INT(d.BaudRate, 9600);
    CHECK_INT(d.Parity, NOPARITY);
    CHECK_INT(d.ByteSize, 8);
    CHECK_INT(d.StopBits, ONESTOPBIT);

    CHECK(BuildCommDCBA("19200,E,7,2", &d));
    CHECK_INT(d.BaudRate, 19200);
    CHECK_INT(d.Parity, EVENPARITY);
    CHECK_INT(d.fParity, 1);
    CHECK_INT(d.ByteSize, 7);
    CHECK_INT(d.StopBits, TWOSTOPBITS);

    /* Abbreviated rates, 1.5 stop bits, hardware handshake. */
    CHECK(BuildCommDCBA("com2: 96,o,5,1.5,p", &d));
    CHECK_INT(d.BaudRate, 9600);
    CHECK_INT(d.Parity, ODDPARITY);
    CHECK_INT(d.ByteSize, 5);
    CHECK_INT(d.StopBits, ONE5STOPBITS);
    CHECK_INT(d.fOutxCtsFlow, 1);
    CHECK_INT(d.fOutxDsrFlow, 1);
    CHECK_INT(d.fDtrControl, DTR_CONTROL_HANDSHAKE);
    CHECK_INT(d.fRtsControl, RTS_CONTROL_HANDSHAKE);
    CHECK(BuildCommDCBA("1200,,,,x", &d));
    CHECK_INT(d.BaudRate, 1200);
    CHECK_INT(d.ByteSize, 5);        /* empty fields keep the value */
    CHECK_INT(d.fOutX, 1);
    CHECK_INT(d.fInX, 1);
    CHECK_INT(d.fOutxCtsFlow, 0);
    /* 110 baud means two stop bits unless told otherwise. */
    CHECK(BuildCommDCBA("11,n,8", &d));
    CHECK_INT(d.BaudRate, 110);
    CHECK_INT(d.StopBits, TWOSTOPBITS);

    CHECK(BuildCommDCBA("baud=9600 parity=m data=6 stop=2 xon=on odsr=on octs=on dtr=hs rts=tg idsr=on to=off", &d));
    CHECK_INT(d.Parity, MARKPARITY);
    CHECK_INT(d.ByteSize, 6);
    CHECK_INT(d.StopBits, TWOSTOPBITS);
    CHECK_INT(d.fOutX, 1);
    CHECK_INT(d.fInX, 1);
    CHECK_INT(d.fOutxDsrFlow, 1);
    CHECK_INT(d.fOutxCtsFlow, 1);
    CHECK_INT(d.fDsrSensitivity, 1);
    CHECK_INT(d.fDtrControl, DTR_CONTROL_HANDSHAKE);
    CHECK_INT(d.fRtsControl, RTS_CONTROL_TOGGLE);
    CHECK(BuildCommDCBA("dtr=off rts=off", &d));
    CHECK_INT(d.fDtrControl, DTR_CONTROL_DISABLE);
    CHECK_INT(d.fRtsControl, RTS_CONTROL_DISABLE);
    CHECK_INT(d.BaudRate, 9600);

    const WCHAR w[] = {'b', 'a', 'u', 'd', '=', '5', '7', '6', '0', '0', 0};
    CHECK(BuildCommDCBW(w, &d));
    CHECK_INT(d.BaudRate, 57600);

    /* Bad strings change nothing. */
    const char *bad[] = {"", "   ", "baud=", "baud=0", "baud=abc", "parity=x", "data=9", "data=4", "stop=3",
                         "xon=maybe", "dtr=tg", "speed=9600", "9600,q", "9600,n,9", "9600,n,8,3",
                         "9600,n,8,1,z", "9600,n,8,1,x,extra", "COMX:9600", "COM1;9600", "=9600",
                         "baud=99999999999"};
    DCB before = d;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        SetLastError(0);
        if (BuildCommDCBA(bad[i], &d))
            fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
        CHECK_INT(GetLastError(), ERROR_INVALID_PARAMETER);
        CHECK(memcmp(&d, &before, sizeof d) == 0);
    }
    CHECK(!BuildCommDCBA(NULL, &d));
    CHECK_INT(GetLastError(), ERROR_INVALID_PARAMETER);
    CHECK(!BuildCommDCBA("9600", NULL));
    CHECK_INT(GetLastError(), ERROR_INVALID_PARAMETER);
}

/* ---- timeouts, escapes, breaks, properties ------------------------------------------------------- */

static void test_timeouts_escape_props(void)
{
    struct cx x;
    CHECK(cx_open(&x));
    HANDLE h = x.vd ? open_port(x.name, 0) : INVALID_HANDLE_VALUE;
    CHECK(h != INVALID_HANDLE_VALUE);
    if (h == INVALID_HANDLE_VALUE) {
        cx_close(&x);
        return;
    }
    COMMTIMEOUTS t = {1, 2, 3, 4, 5}, back;
    CHECK(GetCommTimeouts(h, &back));
    CHECK_INT(back.ReadIntervalTimeout, 0);
    CHECK_INT(back.WriteTotalTimeoutConstant, 0);
    CHECK(SetCommTimeouts(h, &t));
    CHECK(GetCommTimeouts(h, &back));
    CHECK(memcmp(&t, &back, sizeof t) == 0);
    COMMTIMEOUTS all = {MAXDWORD, MAXDWORD, MAXDWORD, 0, 0};
    CHECK(!SetCommTimeouts(h, &all));
    CHECK_INT(GetLastError(), ERROR_INVALID_PARAMETER);
    CHECK(!SetCommTimeouts(h, NULL));
    CHECK_INT(GetLastError(), ERROR_INVALID_PARAMETER);
    CHECK(!GetCommTimeouts(h, NULL));
    CHECK(GetCommTimeouts(h, &back));
    CHECK_INT(back.ReadTotalTimeoutConstant, 3);

    /* Lines as the model sees them. */
    CHECK(EscapeCommFunction(h, CLRDTR));
    CHECK_INT(owu_cdc_acm_control_lines(x.vd), OWU_ACM_RTS);
    CHECK(EscapeCommFunction(h, CLRRTS));
    CHECK_INT(owu_cdc_acm_control_lines(x.vd), 0);
    CHECK(EscapeCommFunction(h, SETRTS));
    CHECK_INT(owu_cdc_acm_control_lines(x.vd), OWU_ACM_RTS);
    CHECK(EscapeCommFunction(h, SETDTR));
    CHECK_INT(owu_cdc_acm_control_lines(x.vd), OWU_ACM_DTR | OWU_ACM_RTS);
    /* Breaks: SEND_BREAK 0xFFFF, then 0. */
    uint16_t last = 1;
    int before = owu_cdc_acm_breaks(x.vd, &last);
    CHECK(EscapeCommFunction(h, SETBREAK));
    CHECK_INT(owu_cdc_acm_breaks(x.vd, &last), before + 1);
    CHECK_INT(last, 0xFFFF);
    CHECK(EscapeCommFunction(h, CLRBREAK));
    CHECK_INT(owu_cdc_acm_breaks(x.vd, &last), before + 2);
    CHECK_INT(last, 0);
    CHECK(SetCommBreak(h));
    CHECK_INT(owu_cdc_acm_breaks(x.vd, &last), before + 3);
    CHECK_INT(last, 0xFFFF);
    CHECK(ClearCommBreak(h));
    CHECK_INT(owu_cdc_acm_breaks(x.vd, &last), before + 4);
    CHECK_INT(last, 0);
    /* Accepted no-ops and bad functions. */
    CHECK(EscapeCommFunction(h, SETXOFF));
    CHECK(EscapeCommFunction(h, SETXON));
    CHECK(EscapeCommFunction(h, RESETDEV));
    CHECK_INT(owu_cdc_acm_control_lines(x.vd), OWU_ACM_DTR | OWU_ACM_RTS);
    CHECK(!EscapeCommFunction(h, 0));
    CHECK_INT(GetLastError(), ERROR_INVALID_PARAMETER);
    CHECK(!EscapeCommFunction(h, 10));
    CHECK_INT(GetLastError(), ERROR_INVALID_PARAMETER);
    /* Lines under handshake / toggle control cannot be set by hand. */
    DCB d;
    CHECK(GetCommState(h, &d));
    d.fDtrControl = DTR_CONTROL_HANDSHAKE;
    d.fRtsControl = RTS_CONTROL_TOGGLE;
    CHECK(SetCommState(h, &d));
    CHECK(!EscapeCommFunction(h, CLRDTR));
    CHECK_INT(GetLastError(), ERROR_INVALID_PARAMETER);
    CHECK(!EscapeCommFunction(h, SETRTS));
    CHECK_INT(GetLastError(), ERROR_INVALID_PARAMETER);
    d.fRtsControl = RTS_CONTROL_HANDSHAKE;
    CHECK(SetCommState(h, &d));
    CHECK(!EscapeCommFunction(h, CLRRTS));
    CHECK_INT(GetLastError(), ERROR_INVALID_PARAMETER);
    CHECK_INT(owu_cdc_acm_control_lines(x.vd), OWU_ACM_DTR | OWU_ACM_RTS);

    COMMPROP p;
    memset(&p, 0xEE, sizeof p);
    CHECK(GetCommProperties(h, &p));
    CHECK_INT(p.wPacketLength, sizeof(COMMPROP));
    CHECK_INT(p.dwServiceMask, SP_SERIALCOMM);
    CHECK_INT(p.dwMaxBaud, BAUD_USER);
    CHECK_INT(p.dwProvSubType, PST_RS232);
    CHECK(p.dwSettableBaud & BAUD_115200);
    CHECK(p.dwSettableBaud & BAUD_USER);
    CHECK(p.dwSettableParams & SP_BAUD);
    CHECK_INT(p.wSettableData, DATABITS_5 | DATABITS_6 | DATABITS_7 | DATABITS_8);
    CHECK(p.wSettableStopParity & PARITY_SPACE);
    CHECK(p.wSettableStopParity & STOPBITS_15);
    CHECK(p.dwProvCapabilities & PCF_TOTALTIMEOUTS);
    CHECK(!(p.dwProvCapabilities & PCF_XONXOFF));
    CHECK_INT(p.dwCurrentRxQueue, 0);
    CHECK(SetupComm(h, 4096, 2048));
    CHECK(GetCommProperties(h, &p));
    CHECK_INT(p.dwCurrentRxQueue, 4096);
    CHECK_INT(p.dwCurrentTxQueue, 2048);
    CHECK(!GetCommProperties(h, NULL));
    CHECK_INT(GetLastError(), ERROR_INVALID_PARAMETER);
    CHECK(CloseHandle(h));
    cx_close(&x);
}

/* ---- SERIAL_STATE: modem status, events, errors --------------------------------------------------- */

static void test_modem_status_and_events(void)
{
    struct cx x;
    CHECK(cx_open(&x));
    HANDLE h = x.vd ? open_port(x.name, FILE_FLAG_OVERLAPPED) : INVALID_HANDLE_VALUE;
    CHECK(h != INVALID_HANDLE_VALUE);
    if (h == INVALID_HANDLE_VALUE) {
        cx_close(&x);
        return;
    }
    /* The model answers DTR with DSR and DCD; CTS is always reported. */
    CHECK_INT(wait_modem_status(h, MS_CTS_ON | MS_DSR_ON | MS_RLSD_ON), MS_CTS_ON | MS_DSR_ON | MS_RLSD_ON);
    const uint16_t levels = OWU_ACM_STATE_DCD | OWU_ACM_STATE_DSR;

    DWORD v = 0;
    CHECK(!WaitCommEvent(h, &v, NULL));   /* no mask yet */
    CHECK_INT(GetLastError(), ERROR_INVALID_PARAMETER);
    CHECK(!SetCommMask(h, 0x2000));
    CHECK_INT(GetLastError(), ERROR_INVALID_PARAMETER);
    const DWORD mask = EV_DSR | EV_RLSD | EV_BREAK | EV_ERR | EV_RING | EV_CTS;
    CHECK(SetCommMask(h, mask));
    CHECK(GetCommMask(h, &v));
    CHECK_INT(v, mask);
    CHECK(!GetCommMask(h, NULL));
    CHECK(!WaitCommEvent(h, NULL, NULL));
    CHECK_INT(GetLastError(), ERROR_INVALID_PARAMETER);

    struct {
        uint16_t state;
        DWORD event;
        DWORD status;
    } steps[] = {
        {OWU_ACM_STATE_DCD, EV_DSR, MS_CTS_ON | MS_RLSD_ON},
        {0, EV_RLSD, MS_CTS_ON},
        {OWU_ACM_STATE_DSR, EV_DSR, MS_CTS_ON | MS_DSR_ON},
        {levels, EV_RLSD, MS_CTS_ON | MS_DSR_ON | MS_RLSD_ON},
        {levels | OWU_ACM_STATE_BREAK, EV_BREAK, MS_CTS_ON | MS_DSR_ON | MS_RLSD_ON},
        {levels | OWU_ACM_STATE_RING, EV_RING, MS_CTS_ON | MS_DSR_ON | MS_RLSD_ON | MS_RING_ON},
        {levels | OWU_ACM_STATE_FRAMING, EV_ERR, MS_CTS_ON | MS_DSR_ON | MS_RLSD_ON},
        {levels | OWU_ACM_STATE_PARITY, EV_ERR, MS_CTS_ON | MS_DSR_ON | MS_RLSD_ON},
        {levels | OWU_ACM_STATE_OVERRUN, EV_ERR, MS_CTS_ON | MS_DSR_ON | MS_RLSD_ON},
    };
    DWORD expect_errors[] = {0, 0, 0, 0, CE_BREAK, 0, CE_FRAME, CE_RXPARITY, CE_OVERRUN};
    DWORD errors = 0;
    CHECK(ClearCommError(h, &errors, NULL));
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        CHECK_INT(owu_cdc_acm_set_serial_state(x.vd, steps[i].state), 0);
        DWORD ev = wait_event(h);
        if (ev != steps[i].event)
            fprintf(stderr, "step %zu: state 0x%x\n", i, steps[i].state);
        CHECK_INT(ev, steps[i].event);
        CHECK_INT(modem_status(h), steps[i].status);
        errors = 0xDEAD;
        CHECK(ClearCommError(h, &errors, NULL));
        CHECK_INT(errors, expect_errors[i]);
    }
    /* Several error bits at once; ClearCommError reports them once. */
    CHECK_INT(owu_cdc_acm_set_serial_state(x.vd, levels | 0x74), 0);
    CHECK_INT(wait_event(h), EV_BREAK | EV_ERR);
    COMSTAT st;
    CHECK(ClearCommError(h, &errors, &st));
    CHECK_INT(errors, CE_BREAK | CE_FRAME | CE_RXPARITY | CE_OVERRUN);
    CHECK(ClearCommError(h, &errors, NULL));
    CHECK_INT(errors, 0);
    CHECK(ClearCommError(h, NULL, NULL));

    /* A synchronous WaitCommEvent returns at once for an event that already happened. */
    CHECK_INT(owu_cdc_acm_set_serial_state(x.vd, levels | OWU_ACM_STATE_RING), 0);
    CHECK_INT(wait_modem_status(h, MS_CTS_ON | MS_DSR_ON | MS_RLSD_ON | MS_RING_ON),
              MS_CTS_ON | MS_DSR_ON | MS_RLSD_ON | MS_RING_ON);
    v = 0;
    CHECK(WaitCommEvent(h, &v, NULL));
    CHECK_INT(v, EV_RING);

    /* Events outside the mask are not reported. */
    CHECK(SetCommMask(h, EV_RING));
    CHECK_INT(owu_cdc_acm_set_serial_state(x.vd, levels | OWU_ACM_STATE_BREAK), 0);
    CHECK_INT(owu_cdc_acm_set_serial_state(x.vd, levels | OWU_ACM_STATE_RING), 0);
    CHECK_INT(wait_event(h), EV_RING);
    CHECK(CloseHandle(h));
    cx_close(&x);
}

/* An overlapped WaitCommEvent: pending, a second one refused, SetCommMask completes it with 0,
 * the next one completes with the event. */
static void test_wait_overlapped(void)
{
    struct cx x;
    CHECK(cx_open(&x));
    HANDLE h = x.vd ? open_port(x.name, FILE_FLAG_OVERLAPPED) : INVALID_HANDLE_VALUE;
    CHECK(h != INVALID_HANDLE_VALUE);
    if (h == INVALID_HANDLE_VALUE) {
        cx_close(&x);
        return;
    }
    CHECK_INT(wait_modem_status(h, MS_CTS_ON | MS_DSR_ON | MS_RLSD_ON), MS_CTS_ON | MS_DSR_ON | MS_RLSD_ON);
    CHECK(SetCommMask(h, EV_RING));
    OVERLAPPED ov = {0};
    ov.hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
    DWORD ev = 0xDEAD, n = 0;
    CHECK(!WaitCommEvent(h, &ev, &ov));
    CHECK_INT(GetLastError(), ERROR_IO_PENDING);
    CHECK(!HasOverlappedIoCompleted(&ov));
    CHECK(!GetOverlappedResult(h, &ov, &n, FALSE));
    CHECK_INT(GetLastError(), ERROR_IO_INCOMPLETE);
    DWORD other = 0;
    OVERLAPPED ov2 = {0};
    CHECK(!WaitCommEvent(h, &other, &ov2));
    CHECK_INT(GetLastError(), ERROR_INVALID_PARAMETER);
    CHECK(SetCommMask(h, EV_RING | EV_BREAK));
    CHECK_INT(WaitForSingleObject(ov.hEvent, WAIT_MS), WAIT_OBJECT_0);
    CHECK(GetOverlappedResult(h, &ov, &n, TRUE));
    CHECK_INT(ev, 0);

    /* Completed by the event; the event handle is signalled. The file handle is too when
     * hEvent is NULL. */
    ev = 0xDEAD;
    CHECK(!WaitCommEvent(h, &ev, &ov));
    CHECK_INT(GetLastError(), ERROR_IO_PENDING);
    CHECK_INT(owu_cdc_acm_set_serial_state(x.vd, OWU_ACM_STATE_DCD | OWU_ACM_STATE_DSR | OWU_ACM_STATE_BREAK), 0);
    CHECK_INT(WaitForSingleObject(ov.hEvent, WAIT_MS), WAIT_OBJECT_0);
    CHECK(GetOverlappedResult(h, &ov, &n, TRUE));
    CHECK_INT(ev, EV_BREAK);
    OVERLAPPED ov3 = {0};
    ev = 0xDEAD;
    CHECK(!WaitCommEvent(h, &ev, &ov3));
    CHECK_INT(GetLastError(), ERROR_IO_PENDING);
    CHECK_INT(owu_cdc_acm_set_serial_state(x.vd, OWU_ACM_STATE_DCD | OWU_ACM_STATE_DSR | OWU_ACM_STATE_RING), 0);
    CHECK_INT(WaitForSingleObject(h, WAIT_MS), WAIT_OBJECT_0);
    CHECK(GetOverlappedResult(h, &ov3, &n, TRUE));
    CHECK_INT(ev, EV_RING);

    /* CancelIo ends a pending wait with ERROR_OPERATION_ABORTED. */
    CHECK(!WaitCommEvent(h, &ev, &ov));
    CHECK_INT(GetLastError(), ERROR_IO_PENDING);
    CHECK(CancelIo(h));
    CHECK(!GetOverlappedResult(h, &ov, &n, TRUE));
    CHECK_INT(GetLastError(), ERROR_OPERATION_ABORTED);
    CloseHandle(ov.hEvent);
    CHECK(CloseHandle(h));
    cx_close(&x);
}

/* ---- data ------------------------------------------------------------------------------------------ */

static void pattern(uint8_t *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i * 7u + seed + (i >> 8));
}

/* Reads exactly n bytes with the handle's timeouts (each ReadFile may return fewer). */
static size_t read_all(HANDLE h, uint8_t *buf, size_t n)
{
    size_t got = 0;
    for (unsigned tries = 0; got < n && tries < 1000; tries++) {
        DWORD k = 0;
        if (!ReadFile(h, buf + got, (DWORD)(n - got), &k, NULL))
            break;
        got += k;
    }
    return got;
}

static void test_loopback_sync(void)
{
    struct cx x;
    CHECK(cx_open(&x));
    HANDLE h = x.vd ? open_port(x.name, 0) : INVALID_HANDLE_VALUE;
    CHECK(h != INVALID_HANDLE_VALUE);
    if (h == INVALID_HANDLE_VALUE) {
        cx_close(&x);
        return;
    }
    enum { N = 100000 };
    uint8_t *out = malloc(N), *in = malloc(N);
    pattern(out, N, 3);
    CHECK(set_timeouts(h, 0, 0, WAIT_MS, 0, WAIT_MS));
    DWORD k = 0;
    CHECK(WriteFile(h, out, N, &k, NULL));
    CHECK_INT(k, N);
    memset(in, 0, N);
    CHECK_INT(read_all(h, in, N), N);
    CHECK(memcmp(in, out, N) == 0);

    /* Interval MAXDWORD, totals 0: at once, with nothing. */
    CHECK(set_timeouts(h, MAXDWORD, 0, 0, 0, 0));
    k = 99;
    CHECK(ReadFile(h, in, 10, &k, NULL));
    CHECK_INT(k, 0);
    /* A total timeout that passes is success with what arrived (nothing). */
    CHECK(set_timeouts(h, 0, 1, 20, 0, 0));
    k = 99;
    CHECK(ReadFile(h, in, 10, &k, NULL));
    CHECK_INT(k, 0);
    /* Immediate mode returns what is buffered. */
    CHECK(WriteFile(h, "hello", 5, &k, NULL));
    CHECK_INT(k, 5);
    COMSTAT st;
    DWORD errors;
    for (unsigned i = 0; i < WAIT_MS; i++) {
        CHECK(ClearCommError(h, &errors, &st));
        if (st.cbInQue == 5)
            break;
        sleep_ms(1);
    }
    CHECK_INT(st.cbInQue, 5);
    CHECK_INT(st.cbOutQue, 0);
    CHECK(set_timeouts(h, MAXDWORD, 0, 0, 0, 0));
    CHECK(ReadFile(h, in, 100, &k, NULL));
    CHECK_INT(k, 5);
    CHECK(memcmp(in, "hello", 5) == 0);
    /* Interval MAXDWORD, multiplier MAXDWORD: the first bytes that come. */
    CHECK(set_timeouts(h, MAXDWORD, MAXDWORD, WAIT_MS, 0, 0));
    CHECK(WriteFile(h, "abc", 3, &k, NULL));
    size_t got = 0;
    for (unsigned i = 0; i < 3 && got < 3; i++) {
        CHECK(ReadFile(h, in + got, 100, &k, NULL));
        CHECK(k > 0);
        got += k;
    }
    CHECK_INT(got, 3);
    CHECK(memcmp(in, "abc", 3) == 0);
    /* An interval timeout ends a read that got fewer bytes than asked. */
    CHECK(set_timeouts(h, 30, 0, 0, 0, 0));
    CHECK(WriteFile(h, "0123456789", 10, &k, NULL));
    got = 0;
    for (unsigned i = 0; i < 10 && got < 10; i++) {
        CHECK(ReadFile(h, in + got, 1000, &k, NULL));
        got += k;
    }
    CHECK_INT(got, 10);
    CHECK(memcmp(in, "0123456789", 10) == 0);
    /* Exactly the size asked for, with no timeouts at all. */
    CHECK(set_timeouts(h, 0, 0, 0, 0, 0));
    CHECK(WriteFile(h, "xyzxyz", 6, &k, NULL));
    CHECK(ReadFile(h, in, 6, &k, NULL));
    CHECK_INT(k, 6);
    CHECK(memcmp(in, "xyzxyz", 6) == 0);
    /* TransmitCommChar, FlushFileBuffers. */
    CHECK(TransmitCommChar(h, '!'));
    CHECK(FlushFileBuffers(h));
    CHECK(ReadFile(h, in, 1, &k, NULL));
    CHECK_INT(k, 1);
    CHECK_INT(in[0], '!');
    /* Argument errors. */
    CHECK(!ReadFile(h, NULL, 5, &k, NULL));
    CHECK_INT(GetLastError(), ERROR_NOACCESS);
    CHECK(!WriteFile(h, NULL, 5, &k, NULL));
    CHECK_INT(GetLastError(), ERROR_NOACCESS);
    CHECK(!ReadFile(h, in, 5, NULL, NULL));
    CHECK_INT(GetLastError(), ERROR_INVALID_PARAMETER);
    CHECK(ReadFile(h, in, 0, &k, NULL));
    CHECK_INT(k, 0);
    CHECK(WriteFile(h, out, 0, &k, NULL));
    CHECK_INT(k, 0);
    free(out);
    free(in);
    CHECK(CloseHandle(h));
    cx_close(&x);
}

/* A write the device cannot take (nobody reads: usbser's buffer and the model's FIFO fill)
 * ends at its total timeout and succeeds with what was taken. */
static void test_write_timeout(void)
{
    struct cx x;
    CHECK(cx_open(&x));
    HANDLE h = x.vd ? open_port(x.name, 0) : INVALID_HANDLE_VALUE;
    CHECK(h != INVALID_HANDLE_VALUE);
    if (h == INVALID_HANDLE_VALUE) {
        cx_close(&x);
        return;
    }
    size_t n = 4u << 20;
    uint8_t *buf = calloc(1, n);
    CHECK(set_timeouts(h, 0, 0, 0, 0, 1000));
    DWORD k = 0;
    CHECK(WriteFile(h, buf, (DWORD)n, &k, NULL));
    CHECK(k < n);
    CHECK(k > 0);
    COMSTAT st;
    CHECK(ClearCommError(h, NULL, &st));
    CHECK(st.cbInQue > 0);
    CHECK_INT(st.cbOutQue, 0);
    /* The device still takes nothing: a multiplier-only timeout (1 ms per byte) ends the
     * next write, successfully, with what was taken. */
    CHECK(set_timeouts(h, 0, 0, 0, 1, 0));
    k = 12345;
    CHECK(WriteFile(h, buf, 100, &k, NULL));
    CHECK(k < 100);
    CHECK(PurgeComm(h, PURGE_RXCLEAR | PURGE_TXCLEAR));
    free(buf);
    CHECK(CloseHandle(h));
    cx_close(&x);
}

static void test_loopback_overlapped(void)
{
    struct cx x;
    CHECK(cx_open(&x));
    HANDLE h = x.vd ? open_port(x.name, FILE_FLAG_OVERLAPPED) : INVALID_HANDLE_VALUE;
    CHECK(h != INVALID_HANDLE_VALUE);
    if (h == INVALID_HANDLE_VALUE) {
        cx_close(&x);
        return;
    }
    CHECK(set_timeouts(h, 0, 0, 0, 0, 0));
    enum { N = 70000 };
    uint8_t *out = malloc(N), *in = calloc(1, N);
    pattern(out, N, 11);
    OVERLAPPED rov = {0}, wov = {0};
    rov.hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
    wov.hEvent = CreateEventA(NULL, FALSE, FALSE, NULL);
    /* The read is queued first and waits for all N bytes (no timeouts). */
    DWORD rn = 0, wn = 0;
    CHECK(!ReadFile(h, in, N, NULL, &rov));
    CHECK_INT(GetLastError(), ERROR_IO_PENDING);
    CHECK(!GetOverlappedResult(h, &rov, &rn, FALSE));
    CHECK_INT(GetLastError(), ERROR_IO_INCOMPLETE);
    CHECK(!WriteFile(h, out, N, NULL, &wov));
    CHECK_INT(GetLastError(), ERROR_IO_PENDING);
    CHECK_INT(WaitForSingleObject(wov.hEvent, WAIT_MS), WAIT_OBJECT_0);
    CHECK(GetOverlappedResult(h, &wov, &wn, TRUE));
    CHECK_INT(wn, N);
    CHECK_INT(WaitForSingleObject(rov.hEvent, WAIT_MS), WAIT_OBJECT_0);
    CHECK(GetOverlappedResult(h, &rov, &rn, TRUE));
    CHECK_INT(rn, N);
    CHECK_INT(rov.InternalHigh, N);
    CHECK(memcmp(in, out, N) == 0);

    /* EV_RXCHAR and EV_TXEMPTY through a pending wait. */
    CHECK(SetCommMask(h, EV_RXCHAR | EV_TXEMPTY));
    DWORD ev = 0;
    OVERLAPPED eov = {0};
    eov.hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
    CHECK(!WaitCommEvent(h, &ev, &eov));
    CHECK_INT(GetLastError(), ERROR_IO_PENDING);
    CHECK(!WriteFile(h, "ping", 4, NULL, &wov));
    CHECK_INT(GetLastError(), ERROR_IO_PENDING);
    CHECK(GetOverlappedResult(h, &wov, &wn, TRUE));
    CHECK_INT(wn, 4);
    CHECK_INT(WaitForSingleObject(eov.hEvent, WAIT_MS), WAIT_OBJECT_0);
    CHECK(GetOverlappedResult(h, &eov, &wn, TRUE));
    CHECK(ev & (EV_RXCHAR | EV_TXEMPTY));
    CHECK(!(ev & ~(DWORD)(EV_RXCHAR | EV_TXEMPTY)));
    /* First-bytes mode, overlapped. */
    CHECK(set_timeouts(h, MAXDWORD, MAXDWORD, WAIT_MS, 0, 0));
    size_t got = 0;
    for (unsigned i = 0; i < 4 && got < 4; i++) {
        if (!ReadFile(h, in + got, 100, NULL, &rov))
            CHECK_INT(GetLastError(), ERROR_IO_PENDING);
        CHECK(GetOverlappedResult(h, &rov, &rn, TRUE));
        got += rn;
    }
    CHECK_INT(got, 4);
    CHECK(memcmp(in, "ping", 4) == 0);
    /* A read that cannot be satisfied ends at its total timeout with success and 0 bytes. */
    CHECK(set_timeouts(h, 0, 0, 30, 0, 0));
    if (!ReadFile(h, in, 100, NULL, &rov))
        CHECK_INT(GetLastError(), ERROR_IO_PENDING);
    CHECK(GetOverlappedResult(h, &rov, &rn, TRUE));
    CHECK_INT(rn, 0);
    CloseHandle(rov.hEvent);
    CloseHandle(wov.hEvent);
    CloseHandle(eov.hEvent);
    free(out);
    free(in);
    CHECK(CloseHandle(h));
    cx_close(&x);
}

/* ---- purge, cancel, abort on error, close ------------------------------------------------------- */

static void test_purge_and_cancel(void)
{
    struct cx x;
    CHECK(cx_open(&x));
    HANDLE h = x.vd ? open_port(x.name, FILE_FLAG_OVERLAPPED) : INVALID_HANDLE_VALUE;
    CHECK(h != INVALID_HANDLE_VALUE);
    if (h == INVALID_HANDLE_VALUE) {
        cx_close(&x);
        return;
    }
    CHECK(set_timeouts(h, 0, 0, 0, 0, 0));
    uint8_t in[64];
    DWORD n = 0;
    OVERLAPPED ov = {0}, ov2 = {0};
    /* Two reads pending; RXABORT ends both before PurgeComm returns. */
    CHECK(!ReadFile(h, in, 10, NULL, &ov));
    CHECK_INT(GetLastError(), ERROR_IO_PENDING);
    CHECK(!ReadFile(h, in + 10, 10, NULL, &ov2));
    CHECK_INT(GetLastError(), ERROR_IO_PENDING);
    CHECK(PurgeComm(h, PURGE_RXABORT));
    CHECK(HasOverlappedIoCompleted(&ov));
    CHECK(HasOverlappedIoCompleted(&ov2));
    CHECK(!GetOverlappedResult(h, &ov, &n, FALSE));
    CHECK_INT(GetLastError(), ERROR_OPERATION_ABORTED);
    CHECK(!GetOverlappedResult(h, &ov2, &n, FALSE));
    CHECK_INT(GetLastError(), ERROR_OPERATION_ABORTED);
    /* CancelIo does the same. */
    CHECK(!ReadFile(h, in, 10, NULL, &ov));
    CHECK_INT(GetLastError(), ERROR_IO_PENDING);
    CHECK(CancelIo(h));
    CHECK(!GetOverlappedResult(h, &ov, &n, TRUE));
    CHECK_INT(GetLastError(), ERROR_OPERATION_ABORTED);
    /* RXCLEAR drops what was received. */
    CHECK(!WriteFile(h, "0123456789", 10, NULL, &ov));
    CHECK(GetOverlappedResult(h, &ov, &n, TRUE));
    COMSTAT st = {0};
    for (unsigned i = 0; i < WAIT_MS && st.cbInQue < 10; i++) {
        CHECK(ClearCommError(h, NULL, &st));
        sleep_ms(1);
    }
    CHECK_INT(st.cbInQue, 10);
    CHECK(PurgeComm(h, PURGE_RXCLEAR));
    CHECK(ClearCommError(h, NULL, &st));
    CHECK_INT(st.cbInQue, 0);
    /* TXABORT ends a write the device cannot take. */
    size_t big = 4u << 20;
    uint8_t *buf = calloc(1, big);
    CHECK(!WriteFile(h, buf, (DWORD)big, NULL, &ov));
    CHECK_INT(GetLastError(), ERROR_IO_PENDING);
    for (unsigned i = 0; i < WAIT_MS && st.cbOutQue == 0; i++) {
        CHECK(ClearCommError(h, NULL, &st));
        sleep_ms(1);
    }
    CHECK_INT(st.cbOutQue, big);
    sleep_ms(20);
    CHECK(PurgeComm(h, PURGE_TXABORT | PURGE_RXCLEAR));
    CHECK(!GetOverlappedResult(h, &ov, &n, FALSE));
    CHECK_INT(GetLastError(), ERROR_OPERATION_ABORTED);
    CHECK(n < big);
    CHECK(ClearCommError(h, NULL, &st));
    CHECK_INT(st.cbOutQue, 0);
    free(buf);
    /* Bad flags. */
    CHECK(!PurgeComm(h, 0));
    CHECK_INT(GetLastError(), ERROR_INVALID_PARAMETER);
    CHECK(!PurgeComm(h, 0x10));
    CHECK_INT(GetLastError(), ERROR_INVALID_PARAMETER);

    /* fAbortOnError: after an error, reads and writes fail until ClearCommError. */
    CHECK(PurgeComm(h, PURGE_RXCLEAR));
    DCB d;
    CHECK(GetCommState(h, &d));
    d.fAbortOnError = 1;
    CHECK(SetCommState(h, &d));
    CHECK(ClearCommError(h, NULL, NULL));
    CHECK_INT(owu_cdc_acm_set_serial_state(x.vd, OWU_ACM_STATE_DCD | OWU_ACM_STATE_DSR | OWU_ACM_STATE_FRAMING), 0);
    BOOL refused = FALSE;
    for (unsigned i = 0; i < WAIT_MS && !refused; i++) {
        refused = !WriteFile(h, "a", 1, &n, NULL) && GetLastError() == ERROR_OPERATION_ABORTED;
        if (!refused)
            sleep_ms(1);
    }
    CHECK(refused);
    CHECK(!ReadFile(h, in, 1, &n, NULL));
    CHECK_INT(GetLastError(), ERROR_OPERATION_ABORTED);
    DWORD errors = 0;
    CHECK(ClearCommError(h, &errors, NULL));
    CHECK(errors & CE_FRAME);
    CHECK(WriteFile(h, "a", 1, &n, NULL));
    CHECK_INT(n, 1);
    CHECK(CloseHandle(h));
    cx_close(&x);
}

struct blocked_read {
    HANDLE h;
    BOOL ok;
    DWORD err, n;
    int started;
};

static void *blocked_read_thread(void *arg)
{
    struct blocked_read *b = arg;
    uint8_t buf[16];
    __atomic_store_n(&b->started, 1, __ATOMIC_SEQ_CST);
    b->ok = ReadFile(b->h, buf, sizeof buf, &b->n, NULL);
    b->err = GetLastError();
    return NULL;
}

/* Waits until `depth` reads are queued or running on the port (a thread's read got there). */
static void wait_reads_queued(HANDLE h, unsigned depth)
{
    struct owu_w32_file *f = (struct owu_w32_file *)owu_w32_handle_get(h, OWU_W32_FILE);
    if (!f)
        return;
    for (unsigned i = 0; i < WAIT_MS; i++) {
        pthread_mutex_lock(&f->comm->lock);
        const struct owu_w32_comm_queue *q = &f->comm->q[OWU_W32_COMM_READ];
        unsigned k = q->busy;
        for (const struct owu_w32_comm_req *r = q->head; r; r = r->next)
            k++;
        pthread_mutex_unlock(&f->comm->lock);
        if (k >= depth)
            break;
        sleep_ms(1);
    }
    owu_w32_obj_unref(&f->obj);
}

/* Closing a port with requests pending completes them (ERROR_OPERATION_ABORTED), also a
 * synchronous read blocked in another thread, and frees the port for the next open. */
static void test_close_pending(void)
{
    struct cx x;
    CHECK(cx_open(&x));
    HANDLE h = x.vd ? open_port(x.name, FILE_FLAG_OVERLAPPED) : INVALID_HANDLE_VALUE;
    CHECK(h != INVALID_HANDLE_VALUE);
    if (h == INVALID_HANDLE_VALUE) {
        cx_close(&x);
        return;
    }
    size_t handles = owu_w32_handle_count();
    uint8_t buf[8];
    OVERLAPPED ov = {0}, wov = {0};
    CHECK(SetCommMask(h, EV_RING));
    DWORD ev = 0xDEAD;
    CHECK(!WaitCommEvent(h, &ev, &wov));
    CHECK_INT(GetLastError(), ERROR_IO_PENDING);
    CHECK(!ReadFile(h, buf, sizeof buf, NULL, &ov));
    CHECK_INT(GetLastError(), ERROR_IO_PENDING);
    struct blocked_read b = {.h = h};
    pthread_t t;
    CHECK_INT(pthread_create(&t, NULL, blocked_read_thread, &b), 0);
    wait_reads_queued(h, 2);
    CHECK(CloseHandle(h));
    pthread_join(t, NULL);
    CHECK(!b.ok);
    CHECK_INT(b.err, ERROR_OPERATION_ABORTED);
    CHECK(HasOverlappedIoCompleted(&ov));
    CHECK_INT(ov.Internal, 0xC0000120u);   /* STATUS_CANCELLED */
    CHECK(HasOverlappedIoCompleted(&wov));
    CHECK_INT(wov.Internal, 0xC0000120u);
    CHECK_INT(ev, 0);
    CHECK_INT(owu_w32_handle_count(), handles - 1);
    h = open_port(x.name, 0);
    CHECK(h != INVALID_HANDLE_VALUE);
    CHECK(CloseHandle(h));
    cx_close(&x);
}

/* Surprise removal: a blocking ReadFile and a pending WaitCommEvent complete with
 * ERROR_DEVICE_NOT_CONNECTED; later calls fail with ERROR_ACCESS_DENIED; only CloseHandle
 * works; the name no longer opens. */
static void test_unplug(void)
{
    struct cx x;
    CHECK(cx_open(&x));
    HANDLE h = x.vd ? open_port(x.name, FILE_FLAG_OVERLAPPED) : INVALID_HANDLE_VALUE;
    CHECK(h != INVALID_HANDLE_VALUE);
    if (h == INVALID_HANDLE_VALUE) {
        cx_close(&x);
        return;
    }
    CHECK(set_timeouts(h, 0, 0, 0, 0, 0));
    CHECK(SetCommMask(h, EV_RING | EV_RXCHAR));
    OVERLAPPED wov = {0};
    wov.hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
    DWORD ev = 0xDEAD, n = 0;
    CHECK(!WaitCommEvent(h, &ev, &wov));
    CHECK_INT(GetLastError(), ERROR_IO_PENDING);
    struct blocked_read b = {.h = h};
    pthread_t t;
    CHECK_INT(pthread_create(&t, NULL, blocked_read_thread, &b), 0);
    wait_reads_queued(h, 1);
    owu_err err = {0};
    CHECK_OK(owu_stack_unplug(x.stack, 1, 1, &err), &err);
    pthread_join(t, NULL);
    CHECK(!b.ok);
    CHECK_INT(b.err, ERROR_DEVICE_NOT_CONNECTED);
    CHECK_INT(WaitForSingleObject(wov.hEvent, WAIT_MS), WAIT_OBJECT_0);
    CHECK(!GetOverlappedResult(h, &wov, &n, TRUE));
    CHECK_INT(GetLastError(), ERROR_DEVICE_NOT_CONNECTED);
    CHECK_INT(ev, 0);
    uint8_t buf[4];
    DCB d;
    DWORD v;
    CHECK(!ReadFile(h, buf, 4, &n, NULL));
    CHECK_INT(GetLastError(), ERROR_ACCESS_DENIED);
    CHECK(!WriteFile(h, buf, 4, &n, NULL));
    CHECK_INT(GetLastError(), ERROR_ACCESS_DENIED);
    CHECK(!GetCommState(h, &d));
    CHECK_INT(GetLastError(), ERROR_ACCESS_DENIED);
    CHECK(!GetCommModemStatus(h, &v));
    CHECK_INT(GetLastError(), ERROR_ACCESS_DENIED);
    CHECK(!ClearCommError(h, &v, NULL));
    CHECK_INT(GetLastError(), ERROR_ACCESS_DENIED);
    CHECK(!EscapeCommFunction(h, SETDTR));
    CHECK_INT(GetLastError(), ERROR_ACCESS_DENIED);
    CHECK(CloseHandle(h));
    CloseHandle(wov.hEvent);
    HANDLE again = CreateFileA(x.name, GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL);
    CHECK(again == INVALID_HANDLE_VALUE);
    CHECK_INT(GetLastError(), ERROR_FILE_NOT_FOUND);
    cx_close(&x);
}

/* Many threads using one port at once while it is closed under them: nothing crashes, every
 * call returns. */
struct hammer {
    HANDLE h;
    int stop;
};

static void *hammer_thread(void *arg)
{
    struct hammer *hm = arg;
    uint8_t buf[32];
    DWORD n, v;
    DCB d;
    COMSTAT st;
    while (!__atomic_load_n(&hm->stop, __ATOMIC_SEQ_CST)) {
        WriteFile(hm->h, "abc", 3, &n, NULL);
        ReadFile(hm->h, buf, sizeof buf, &n, NULL);
        GetCommState(hm->h, &d);
        GetCommModemStatus(hm->h, &v);
        ClearCommError(hm->h, &v, &st);
        PurgeComm(hm->h, PURGE_RXABORT | PURGE_RXCLEAR);
    }
    return NULL;
}

static void test_concurrent_close(void)
{
    struct cx x;
    CHECK(cx_open(&x));
    HANDLE h = x.vd ? open_port(x.name, 0) : INVALID_HANDLE_VALUE;
    CHECK(h != INVALID_HANDLE_VALUE);
    if (h == INVALID_HANDLE_VALUE) {
        cx_close(&x);
        return;
    }
    CHECK(set_timeouts(h, 5, 0, 0, 0, 1000));
    struct hammer hm = {.h = h};
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CHECK_INT(pthread_create(&t[i], NULL, hammer_thread, &hm), 0);
    sleep_ms(50);
    CHECK(CloseHandle(h));
    __atomic_store_n(&hm.stop, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    h = open_port(x.name, 0);
    CHECK(h != INVALID_HANDLE_VALUE);
    CHECK(CloseHandle(h));
    cx_close(&x);
}

int main(void)
{
    RUN(test_layouts);
    RUN(test_open_exclusive);
    RUN(test_bad_handles);
    RUN(test_comm_state);
    RUN(test_build_dcb);
    RUN(test_timeouts_escape_props);
    RUN(test_modem_status_and_events);
    RUN(test_wait_overlapped);
    RUN(test_loopback_sync);
    RUN(test_write_timeout);
    RUN(test_loopback_overlapped);
    RUN(test_purge_and_cancel);
    RUN(test_close_pending);
    RUN(test_unplug);
    RUN(test_concurrent_close);
    return check_report();
}
