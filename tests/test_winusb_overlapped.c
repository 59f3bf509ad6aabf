/* Overlapped I/O and the Win32 waiting primitives: events (manual and auto reset, timeouts),
 * OVERLAPPED.Internal/InternalHigh, WinUsb_GetOverlappedResult and GetOverlappedResult with
 * bWait TRUE and FALSE, hEvent NULL (the file handle is signalled), CancelIo, and thread-local
 * GetLastError. */
#include "test_winusb_fixture.h"

static DWORD last(void) { return GetLastError(); }

static void test_events(void)
{
    HANDLE m = CreateEventA(NULL, TRUE, FALSE, NULL);
    HANDLE a = CreateEventW(NULL, FALSE, TRUE, NULL);
    CHECK(m && a);
    CHECK_INT(WaitForSingleObject(m, 0), WAIT_TIMEOUT);
    CHECK_INT(WaitForSingleObject(m, 20), WAIT_TIMEOUT);
    CHECK(SetEvent(m));
    CHECK_INT(WaitForSingleObject(m, 0), WAIT_OBJECT_0);
    CHECK_INT(WaitForSingleObject(m, INFINITE), WAIT_OBJECT_0);   /* manual: stays set */
    CHECK(ResetEvent(m));
    CHECK_INT(WaitForSingleObject(m, 0), WAIT_TIMEOUT);
    /* Auto-reset, initially set: one wait takes it. */
    CHECK_INT(WaitForSingleObject(a, 0), WAIT_OBJECT_0);
    CHECK_INT(WaitForSingleObject(a, 0), WAIT_TIMEOUT);
    CHECK(SetEvent(a));
    CHECK_INT(WaitForSingleObject(a, 1000), WAIT_OBJECT_0);
    CHECK_INT(WaitForSingleObject(a, 0), WAIT_TIMEOUT);
    CHECK(CloseHandle(m));
    CHECK(CloseHandle(a));
    CHECK(!SetEvent(m));
    CHECK_INT(last(), ERROR_INVALID_HANDLE);
    CHECK(!ResetEvent(NULL));
    CHECK_INT(last(), ERROR_INVALID_HANDLE);
    CHECK(!CloseHandle(NULL));
    CHECK(!CloseHandle(INVALID_HANDLE_VALUE));
    CHECK_INT(last(), ERROR_INVALID_HANDLE);
}

static void *set_later(void *arg)
{
    Sleep(20);
    SetEvent((HANDLE)arg);
    return NULL;
}

static void test_wait_wakes(void)
{
    HANDLE e = CreateEventA(NULL, FALSE, FALSE, NULL);
    pthread_t t;
    pthread_create(&t, NULL, set_later, e);
    CHECK_INT(WaitForSingleObject(e, INFINITE), WAIT_OBJECT_0);
    pthread_join(t, NULL);
    CloseHandle(e);
}

static void *error_thread(void *arg)
{
    SetLastError(1234);
    *(DWORD *)arg = GetLastError();
    return NULL;
}

static void test_last_error_is_per_thread(void)
{
    SetLastError(42);
    DWORD other = 0;
    pthread_t t;
    pthread_create(&t, NULL, error_thread, &other);
    pthread_join(t, NULL);
    CHECK_INT(other, 1234);
    CHECK_INT(GetLastError(), 42);
}

static void test_overlapped_read(void)
{
    struct fx f;
    CHECK(fx_open_fx2(&f));
    OVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    ov.hEvent = CreateEventA(NULL, TRUE, TRUE, NULL);   /* set: the start resets it */
    UCHAR in[64];
    ULONG n = 0xDEAD;
    CHECK(!WinUsb_ReadPipe(f.h, 0x88, in, sizeof in, NULL, &ov));
    CHECK_INT(last(), ERROR_IO_PENDING);
    CHECK_INT(ov.Internal, STATUS_PENDING);
    CHECK(!HasOverlappedIoCompleted(&ov));
    CHECK_INT(WaitForSingleObject(ov.hEvent, 0), WAIT_TIMEOUT);
    DWORD got = 77;
    CHECK(!WinUsb_GetOverlappedResult(f.h, &ov, &got, FALSE));
    CHECK_INT(last(), ERROR_IO_INCOMPLETE);
    /* Data arrives: the read completes, the event is set, Internal/InternalHigh filled. */
    UCHAR out[7] = "abcdef";
    CHECK(WinUsb_WritePipe(f.h, 0x06, out, sizeof out, &n, NULL));
    CHECK_INT(WaitForSingleObject(ov.hEvent, 5000), WAIT_OBJECT_0);
    CHECK(HasOverlappedIoCompleted(&ov));
    CHECK_INT(ov.Internal, 0);
    CHECK_INT(ov.InternalHigh, 7);
    CHECK(WinUsb_GetOverlappedResult(f.h, &ov, &got, FALSE));
    CHECK_INT(got, 7);
    CHECK(memcmp(in, out, 7) == 0);
    /* The Win32 call on the file handle reports the same. */
    got = 0;
    CHECK(GetOverlappedResult(f.file, &ov, &got, TRUE));
    CHECK_INT(got, 7);
    CHECK(!GetOverlappedResult(f.h, &ov, &got, TRUE));   /* not a file handle */
    CHECK_INT(last(), ERROR_INVALID_HANDLE);
    CHECK(!WinUsb_GetOverlappedResult(f.h, NULL, &got, TRUE));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CloseHandle(ov.hEvent);
    fx_close(&f);
}

struct waiter {
    WINUSB_INTERFACE_HANDLE h;
    OVERLAPPED *ov;
    BOOL ok;
    DWORD n;
};

static void *wait_result(void *arg)
{
    struct waiter *w = arg;
    w->ok = WinUsb_GetOverlappedResult(w->h, w->ov, &w->n, TRUE);
    return NULL;
}

static void test_overlapped_wait_true(void)
{
    struct fx f;
    CHECK(fx_open_fx2(&f));
    /* bWait TRUE blocks until the request completes (completed from this thread). */
    OVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    ov.hEvent = CreateEventA(NULL, FALSE, FALSE, NULL);   /* auto-reset */
    UCHAR in[512];
    CHECK(!WinUsb_ReadPipe(f.h, 0x88, in, sizeof in, NULL, &ov));
    struct waiter w = {f.h, &ov, FALSE, 0};
    pthread_t t;
    pthread_create(&t, NULL, wait_result, &w);
    UCHAR out[300];
    memset(out, 0x11, sizeof out);
    ULONG n;
    CHECK(WinUsb_WritePipe(f.h, 0x06, out, sizeof out, &n, NULL));
    pthread_join(t, NULL);
    CHECK(w.ok);
    CHECK_INT(w.n, 300);
    /* The auto-reset event was not consumed by GetOverlappedResult; consuming it here does
     * not make a later bWait=TRUE call hang. */
    WaitForSingleObject(ov.hEvent, 0);
    DWORD got;
    CHECK(WinUsb_GetOverlappedResult(f.h, &ov, &got, TRUE));
    CHECK_INT(got, 300);
    CloseHandle(ov.hEvent);
    fx_close(&f);
}

static void test_overlapped_without_event(void)
{
    struct fx f;
    CHECK(fx_open_fx2(&f));
    OVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    UCHAR in[64];
    CHECK(!WinUsb_ReadPipe(f.h, 0x88, in, sizeof in, NULL, &ov));
    CHECK_INT(last(), ERROR_IO_PENDING);
    CHECK_INT(WaitForSingleObject(f.file, 0), WAIT_TIMEOUT);
    UCHAR out[3] = {9, 8, 7};
    ULONG n;
    CHECK(WinUsb_WritePipe(f.h, 0x06, out, 3, &n, NULL));
    /* The file handle itself is signalled when a request started on it completes. */
    CHECK_INT(WaitForSingleObject(f.file, 5000), WAIT_OBJECT_0);
    DWORD got;
    CHECK(WinUsb_GetOverlappedResult(f.h, &ov, &got, TRUE));
    CHECK_INT(got, 3);
    fx_close(&f);
}

static void test_overlapped_write_and_control(void)
{
    struct fx f;
    CHECK(fx_open_fx2(&f));
    OVERLAPPED ow, oc, orr;
    memset(&ow, 0, sizeof ow);
    memset(&oc, 0, sizeof oc);
    memset(&orr, 0, sizeof orr);
    ow.hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
    oc.hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
    orr.hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
    UCHAR data[1000];
    for (unsigned i = 0; i < sizeof data; i++)
        data[i] = (UCHAR)i;
    CHECK(!WinUsb_WritePipe(f.h, 0x06, data, sizeof data, NULL, &ow));
    CHECK_INT(last(), ERROR_IO_PENDING);
    UCHAR seg = 0x7E;
    CHECK(!WinUsb_ControlTransfer(f.h, fx_setup(0x40, 0xDB, 0, 0, 1), &seg, 1, NULL, &oc));
    CHECK_INT(last(), ERROR_IO_PENDING);
    DWORD got;
    CHECK(WinUsb_GetOverlappedResult(f.h, &ow, &got, TRUE));
    CHECK_INT(got, sizeof data);
    CHECK(WinUsb_GetOverlappedResult(f.h, &oc, &got, TRUE));
    CHECK_INT(got, 1);
    CHECK_INT(owu_fx2_7segment(f.vd), 0x7E);
    UCHAR back[1024];
    CHECK(!WinUsb_ReadPipe(f.h, 0x88, back, sizeof back, NULL, &orr));
    CHECK(WinUsb_GetOverlappedResult(f.h, &orr, &got, TRUE));
    CHECK_INT(got, sizeof data);
    CHECK(memcmp(back, data, sizeof data) == 0);
    /* A request refused before it starts returns its error at once, not ERROR_IO_PENDING. */
    CHECK(!WinUsb_ReadPipe(f.h, 0x06, back, 4, NULL, &orr));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(HasOverlappedIoCompleted(&orr));
    /* Standard requests WinUSB handles itself complete through the OVERLAPPED too. */
    CHECK(!WinUsb_ControlTransfer(f.h, fx_setup(0x00, USB_REQUEST_SET_CONFIGURATION, 1, 0, 0), NULL, 0, NULL, &oc));
    CHECK_INT(last(), ERROR_IO_PENDING);
    CHECK(WinUsb_GetOverlappedResult(f.h, &oc, &got, FALSE));
    CloseHandle(ow.hEvent);
    CloseHandle(oc.hEvent);
    CloseHandle(orr.hEvent);
    fx_close(&f);
}

static void test_many_in_order(void)
{
    struct fx f;
    CHECK(fx_open_fx2(&f));
    enum { N = 16 };
    OVERLAPPED ov[N];
    UCHAR in[N][64];
    for (int i = 0; i < N; i++) {
        memset(&ov[i], 0, sizeof ov[i]);
        CHECK(!WinUsb_ReadPipe(f.h, 0x88, in[i], 64, NULL, &ov[i]));
    }
    /* 16 writes of 64 bytes: the reads get them in order. */
    for (int i = 0; i < N; i++) {
        UCHAR out[64];
        memset(out, i, sizeof out);
        ULONG n;
        CHECK(WinUsb_WritePipe(f.h, 0x06, out, sizeof out, &n, NULL));
    }
    int done = 0;
    for (int i = 0; i < N; i++) {
        DWORD got;
        if (WinUsb_GetOverlappedResult(f.h, &ov[i], &got, TRUE) && got == 64 && in[i][0] == i && in[i][63] == i)
            done++;
    }
    CHECK_INT(done, N);
    fx_close(&f);
}

static void test_cancel_io(void)
{
    struct fx f;
    CHECK(fx_open_fx2(&f));
    OVERLAPPED a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    UCHAR x[64], y[4];
    CHECK(!WinUsb_ReadPipe(f.h, 0x88, x, 64, NULL, &a));
    CHECK(!WinUsb_ReadPipe(f.h, 0x81, y, 1, NULL, &b));
    CHECK(CancelIo(f.file));
    DWORD got;
    CHECK(!WinUsb_GetOverlappedResult(f.h, &a, &got, TRUE));
    CHECK_INT(last(), ERROR_OPERATION_ABORTED);
    CHECK(!WinUsb_GetOverlappedResult(f.h, &b, &got, TRUE));
    CHECK_INT(last(), ERROR_OPERATION_ABORTED);
    CHECK(!CancelIo(f.h));
    CHECK_INT(last(), ERROR_INVALID_HANDLE);
    fx_close(&f);
}

static void test_free_with_io_pending(void)
{
    /* WinUsb_Free with requests pending: they complete (aborted), nothing leaks or hangs. */
    struct fx f;
    CHECK(fx_open_fx2(&f));
    OVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    ov.hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
    UCHAR x[64];
    CHECK(!WinUsb_ReadPipe(f.h, 0x88, x, 64, NULL, &ov));
    CHECK(WinUsb_Free(f.h));
    f.h = NULL;
    CHECK_INT(WaitForSingleObject(ov.hEvent, 5000), WAIT_OBJECT_0);
    DWORD got;
    CHECK(!GetOverlappedResult(f.file, &ov, &got, FALSE));
    CHECK_INT(last(), ERROR_OPERATION_ABORTED);
    CloseHandle(ov.hEvent);
    fx_close(&f);
}

static void test_misc_win32(void)
{
    LARGE_INTEGER a, b, fq;
    CHECK(QueryPerformanceFrequency(&fq));
    CHECK_INT(fq.QuadPart, 10000000);
    CHECK(QueryPerformanceCounter(&a));
    Sleep(2);
    CHECK(QueryPerformanceCounter(&b));
    CHECK(b.QuadPart >= a.QuadPart + 20000);
    CHECK(GetTickCount64() > 0);
    void *p = LocalAlloc(LPTR, 16);
    CHECK(p && ((unsigned char *)p)[15] == 0);
    CHECK(LocalFree(p) == NULL);
    p = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, 8);
    CHECK(p && ((unsigned char *)p)[7] == 0);
    CHECK(HeapFree(GetProcessHeap(), 0, p));
}

int main(void)
{
    fx_env();
    RUN(test_events);
    RUN(test_wait_wakes);
    RUN(test_last_error_is_per_thread);
    RUN(test_overlapped_read);
    RUN(test_overlapped_wait_true);
    RUN(test_overlapped_without_event);
    RUN(test_overlapped_write_and_control);
    RUN(test_many_in_order);
    RUN(test_cancel_io);
    RUN(test_free_with_io_pending);
    RUN(test_misc_win32);
    owu_process_stack_reset();
    CHECK_INT(owu_w32_handle_count(), 0);
    return check_report();
}
