/* Isochronous transfers, frame numbers and time sync (shared/reference/winusb-api.md §3.16,
 * §3.17) on a tiny isochronous model (the virtual bus has none of its own): registration,
 * packetisation per service interval, explicit and ASAP start frames with ContinueStream,
 * per-packet USBD_ISO_PACKET_DESCRIPTOR results, abort, unregister, unplug. */
#include "test_winusb_fixture.h"

#include "devices/desc_build.h"

static DWORD last(void) { return GetLastError(); }

#define ISO_VID 0x1209
#define ISO_PID 0x7703
#define EP_IN 0x81            /* iso IN, 256 bytes, every microframe: 8 packets per frame */
#define EP_OUT 0x02           /* iso OUT, 2 x 512 bytes (high bandwidth), every 8 microframes */
#define EP_OUT_MPS (512 | (1 << 11))

static const uint8_t iso_device[] = {OWU_D_DEVICE(0x0200, 0xEF, 0x02, 0x01, 64, ISO_VID, ISO_PID, 0x0100, 0, 0, 0, 1)};
#define ISO_CFG_LEN (9 + 9 + (9 + 2 * 7))
static const uint8_t iso_config[ISO_CFG_LEN] = {
    OWU_D_CONFIG(ISO_CFG_LEN, 1, 1, 0, 0x80, 50),
    OWU_D_INTERFACE(0, 0, 0, 0xFF, 0x00, 0x00, 0),   /* zero bandwidth */
    OWU_D_INTERFACE(0, 1, 2, 0xFF, 0x00, 0x00, 0),
    OWU_D_ENDPOINT(EP_IN, 0x05, 256, 1),              /* isochronous, asynchronous */
    OWU_D_ENDPOINT(EP_OUT, 0x05, EP_OUT_MPS, 4),
};
static const struct owu_vblob iso_configs[] = {{iso_config, sizeof iso_config}};

#define LATE_PACKET 3

struct iso_state {
    bool park;
    unsigned urbs;
    uint32_t start_frame[32];
    unsigned flags[32];
    unsigned packets[32];
    uint32_t out_len[16];
    unsigned n_out_len;
};

static void iso_fill(struct owu_vdev *vd, struct owu_urb *urb)
{
    size_t total = 0;
    for (unsigned i = 0; i < urb->num_iso_packets; i++) {
        struct owu_iso_packet *p = &urb->iso[i];
        if (urb->endpoint & 0x80) {
            if (i == LATE_PACKET) {
                p->actual = 0;
                p->status = OWU_E_TIMEOUT;   /* its frame went by before it could be sent */
                continue;
            }
            uint32_t n = 100 + i < p->length ? 100 + i : p->length;
            memset(urb->buffer + p->offset, (int)(i + 1), n);
            p->actual = n;
        } else {
            p->actual = p->length;
        }
        p->status = OWU_OK;
        total += p->actual;
    }
    owu_vdev_complete(vd, urb, OWU_OK, total);
}

static void iso_transfer(struct owu_vdev *vd, struct owu_urb *urb)
{
    struct iso_state *st = owu_vdev_priv(vd);
    if (urb->type != OWU_XFER_ISOCHRONOUS || !owu_vdev_active_endpoint(vd, urb->endpoint, NULL)) {
        owu_vdev_complete(vd, urb, OWU_E_STALL, 0);
        return;
    }
    if (st->urbs < 32) {
        st->start_frame[st->urbs] = urb->start_frame;
        st->flags[st->urbs] = urb->flags;
        st->packets[st->urbs] = urb->num_iso_packets;
    }
    st->urbs++;
    if (!(urb->endpoint & 0x80))
        for (unsigned i = 0; i < urb->num_iso_packets && st->n_out_len < 16; i++)
            st->out_len[st->n_out_len++] = urb->iso[i].length;
    if (st->park)
        owu_vdev_queue(vd, urb);
    else
        iso_fill(vd, urb);
}

static const struct owu_vdev_model iso_model = {
    .name = "test-iso",
    .speed = OWU_SPEED_HIGH,
    .device = iso_device,
    .device_len = sizeof iso_device,
    .configs = iso_configs,
    .num_configs = 1,
    .priv_size = sizeof(struct iso_state),
    .transfer = iso_transfer,
};

static void do_snapshot(struct owu_vdev *vd, void *arg) { *(struct iso_state *)arg = *(struct iso_state *)owu_vdev_priv(vd); }

static struct iso_state snap(struct fx *f)
{
    struct iso_state s;
    owu_vdev_with_lock(f->vd, do_snapshot, &s);
    return s;
}

static void do_park(struct owu_vdev *vd, void *arg)
{
    struct iso_state *st = owu_vdev_priv(vd);
    st->park = arg != NULL;
    if (!st->park) {   /* release what is parked */
        struct owu_urb *u;
        while ((u = vd->queue_head) != NULL) {
            owu_vdev_take(vd, u->endpoint);
            iso_fill(vd, u);
        }
    }
}

static void park(struct fx *f, bool on) { owu_vdev_with_lock(f->vd, do_park, on ? (void *)1 : NULL); }

static bool open_iso(struct fx *f)
{
    if (!fx_open_model(f, &iso_model, ISO_VID, ISO_PID))
        return false;
    return WinUsb_SetCurrentAlternateSetting(f->h, 1);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_query_and_register(void)
{
    struct fx f;
    CHECK(fx_open_model(&f, &iso_model, ISO_VID, ISO_PID));
    WINUSB_PIPE_INFORMATION_EX px;
    CHECK(WinUsb_QueryPipeEx(f.h, 1, 0, &px));
    CHECK_INT(px.PipeType, UsbdPipeTypeIsochronous);
    CHECK_INT(px.PipeId, EP_IN);
    CHECK_INT(px.MaximumPacketSize, 256);
    CHECK_INT(px.MaximumBytesPerInterval, 256);
    CHECK(WinUsb_QueryPipeEx(f.h, 1, 1, &px));
    CHECK_INT(px.MaximumPacketSize, 512);
    CHECK_INT(px.MaximumBytesPerInterval, 1024);   /* two transactions per microframe */
    CHECK_INT(px.Interval, 4);

    static UCHAR buf[8192];
    WINUSB_ISOCH_BUFFER_HANDLE bh = NULL;
    /* Setting 0 has no isochronous pipe. */
    CHECK(!WinUsb_RegisterIsochBuffer(f.h, EP_IN, buf, sizeof buf, &bh));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(WinUsb_SetCurrentAlternateSetting(f.h, 1));
    CHECK(!WinUsb_RegisterIsochBuffer(f.h, 0x85, buf, sizeof buf, &bh));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(!WinUsb_RegisterIsochBuffer(f.h, EP_IN, NULL, sizeof buf, &bh));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(!WinUsb_RegisterIsochBuffer(f.h, EP_IN, buf, sizeof buf, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(!WinUsb_RegisterIsochBuffer(NULL, EP_IN, buf, sizeof buf, &bh));
    CHECK_INT(last(), ERROR_INVALID_HANDLE);
    CHECK(WinUsb_RegisterIsochBuffer(f.h, EP_IN, buf, sizeof buf, &bh));
    CHECK(bh != NULL);
    CHECK(WinUsb_UnregisterIsochBuffer(bh));
    CHECK(!WinUsb_UnregisterIsochBuffer(bh));
    CHECK_INT(last(), ERROR_INVALID_HANDLE);
    /* Isochronous pipes take no bulk requests. */
    ULONG n;
    CHECK(!WinUsb_ReadPipe(f.h, EP_IN, buf, 256, &n, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    fx_close(&f);
}

static void test_read_asap(void)
{
    struct fx f;
    CHECK(open_iso(&f));
    static UCHAR buf[8192];
    WINUSB_ISOCH_BUFFER_HANDLE bh;
    CHECK(WinUsb_RegisterIsochBuffer(f.h, EP_IN, buf, sizeof buf, &bh));
    USBD_ISO_PACKET_DESCRIPTOR d[16];
    memset(d, 0xFF, sizeof d);
    OVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    ov.hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
    /* Two frames: 16 packets of 256 bytes. */
    CHECK(!WinUsb_ReadIsochPipeAsap(bh, 0, 4096, FALSE, 16, d, &ov));
    CHECK_INT(last(), ERROR_IO_PENDING);
    DWORD got = 99;
    CHECK(WinUsb_GetOverlappedResult(f.h, &ov, &got, TRUE));
    CHECK_INT(got, 0);   /* isochronous: count the packets instead */
    for (unsigned i = 0; i < 16; i++) {
        CHECK_INT(d[i].Offset, i * 256);
        if (i == LATE_PACKET) {
            CHECK_INT(d[i].Length, 0);
            CHECK_INT(d[i].Status, USBD_STATUS_ISO_NOT_ACCESSED_LATE);
        } else {
            CHECK_INT(d[i].Length, 100 + i);
            CHECK_INT(d[i].Status, USBD_STATUS_SUCCESS);
            CHECK_INT(buf[i * 256], i + 1);
        }
    }
    struct iso_state s = snap(&f);
    CHECK_INT(s.urbs, 1);
    CHECK_INT(s.packets[0], 16);
    /* Synchronous (no OVERLAPPED) works as well, at an offset in the buffer. */
    CHECK(WinUsb_ReadIsochPipeAsap(bh, 4096, 2048, FALSE, 8, d, NULL));
    CHECK_INT(d[1].Length, 101);
    CHECK_INT(buf[4096 + 256], 2);

    /* Refused: not whole frames, uneven packets, packets above the interval size, outside
     * the buffer, no descriptors, an OVERLAPPED that is not zeroed. */
    CHECK(!WinUsb_ReadIsochPipeAsap(bh, 0, 1024, FALSE, 4, d, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(!WinUsb_ReadIsochPipeAsap(bh, 0, 2047, FALSE, 8, d, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(!WinUsb_ReadIsochPipeAsap(bh, 0, 4096, FALSE, 8, d, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(!WinUsb_ReadIsochPipeAsap(bh, 8192 - 1024, 2048, FALSE, 8, d, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(!WinUsb_ReadIsochPipeAsap(bh, 0, 2048, FALSE, 8, NULL, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(!WinUsb_ReadIsochPipeAsap(bh, 0, 0, FALSE, 8, d, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    ov.Offset = 1;
    CHECK(!WinUsb_ReadIsochPipeAsap(bh, 0, 2048, FALSE, 8, d, &ov));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(!WinUsb_ReadIsochPipeAsap(NULL, 0, 2048, FALSE, 8, d, NULL));
    CHECK_INT(last(), ERROR_INVALID_HANDLE);
    CloseHandle(ov.hEvent);
    CHECK(WinUsb_UnregisterIsochBuffer(bh));
    fx_close(&f);
}

static void test_explicit_frames(void)
{
    struct fx f;
    CHECK(open_iso(&f));
    static UCHAR buf[4096];
    WINUSB_ISOCH_BUFFER_HANDLE bh;
    CHECK(WinUsb_RegisterIsochBuffer(f.h, EP_IN, buf, sizeof buf, &bh));
    ULONG frame;
    LARGE_INTEGER ts;
    CHECK(WinUsb_GetCurrentFrameNumber(f.h, &frame, &ts));
    CHECK(WinUsb_GetAdjustedFrameNumber(&frame, ts));
    ULONG start = frame + 5;
    ULONG next = start;
    USBD_ISO_PACKET_DESCRIPTOR d[16];
    CHECK(WinUsb_ReadIsochPipe(bh, 0, 4096, &next, 16, d, NULL));
    CHECK_INT(next, start + 2);   /* the frame after the two it used */
    struct iso_state s = snap(&f);
    CHECK_INT(s.start_frame[0], start);
    CHECK_INT(s.flags[0] & OWU_URB_ISO_ASAP, 0);
    /* Feeding the result into the next call continues the stream. */
    CHECK(WinUsb_ReadIsochPipe(bh, 0, 2048, &next, 8, d, NULL));
    s = snap(&f);
    CHECK_INT(s.start_frame[1], start + 2);
    CHECK_INT(next, start + 3);
    /* Outside the start-frame window. */
    ULONG far = frame + 5000;
    CHECK(!WinUsb_ReadIsochPipe(bh, 0, 2048, &far, 8, d, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK_INT(far, frame + 5000);
    CHECK(!WinUsb_ReadIsochPipe(bh, 0, 2048, NULL, 8, d, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(WinUsb_UnregisterIsochBuffer(bh));
    fx_close(&f);
}

static void test_continue_stream_and_abort(void)
{
    struct fx f;
    CHECK(open_iso(&f));
    /* 64 frames per transfer, so the stream stays ahead of the bus however slow the host. */
    enum { PK = 512, LEN = PK * 256 };
    static UCHAR buf[3 * LEN];
    static USBD_ISO_PACKET_DESCRIPTOR d[3][PK];
    WINUSB_ISOCH_BUFFER_HANDLE bh;
    CHECK(WinUsb_RegisterIsochBuffer(f.h, EP_IN, buf, sizeof buf, &bh));
    OVERLAPPED ov[3];
    memset(ov, 0, sizeof ov);
    /* No stream yet: continuing one is impossible. */
    CHECK(!WinUsb_ReadIsochPipeAsap(bh, 0, 2048, TRUE, 8, d[0], NULL));
    CHECK_INT(last(), ERROR_GEN_FAILURE);
    park(&f, true);
    CHECK(!WinUsb_ReadIsochPipeAsap(bh, 0, LEN, FALSE, PK, d[0], &ov[0]));
    CHECK_INT(last(), ERROR_IO_PENDING);
    CHECK(!WinUsb_ReadIsochPipeAsap(bh, LEN, LEN, TRUE, PK, d[1], &ov[1]));
    CHECK_INT(last(), ERROR_IO_PENDING);
    CHECK(!WinUsb_ReadIsochPipeAsap(bh, 2 * LEN, LEN, TRUE, PK, d[2], &ov[2]));
    CHECK_INT(last(), ERROR_IO_PENDING);
    struct iso_state s = snap(&f);
    CHECK_INT(s.urbs, 3);   /* all on the bus at once, back to back */
    CHECK_INT(s.start_frame[1], s.start_frame[0] + 64);
    CHECK_INT(s.start_frame[2], s.start_frame[0] + 128);
    /* Abort: every transfer completes cancelled, per packet too. */
    CHECK(WinUsb_AbortPipe(f.h, EP_IN));
    for (int i = 0; i < 3; i++) {
        DWORD got;
        CHECK(!WinUsb_GetOverlappedResult(f.h, &ov[i], &got, TRUE));
        CHECK_INT(last(), ERROR_OPERATION_ABORTED);
        CHECK_INT(d[i][0].Status, USBD_STATUS_CANCELED);
        CHECK_INT(d[i][PK - 1].Status, USBD_STATUS_CANCELED);
    }
    park(&f, false);
    CHECK(WinUsb_UnregisterIsochBuffer(bh));
    fx_close(&f);
}

static void test_write(void)
{
    struct fx f;
    CHECK(open_iso(&f));
    static UCHAR buf[4096];
    WINUSB_ISOCH_BUFFER_HANDLE bh;
    CHECK(WinUsb_RegisterIsochBuffer(f.h, EP_OUT, buf, sizeof buf, &bh));
    OVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    /* 3000 bytes at 1024 per frame: 3 packets, the last one short. */
    CHECK(!WinUsb_WriteIsochPipeAsap(bh, 0, 3000, FALSE, &ov));
    CHECK_INT(last(), ERROR_IO_PENDING);
    DWORD got = 5;
    CHECK(WinUsb_GetOverlappedResult(f.h, &ov, &got, TRUE));
    CHECK_INT(got, 0);
    struct iso_state s = snap(&f);
    CHECK_INT(s.packets[0], 3);
    CHECK_INT(s.n_out_len, 3);
    CHECK_INT(s.out_len[0], 1024);
    CHECK_INT(s.out_len[2], 952);
    ULONG frame;
    LARGE_INTEGER ts;
    CHECK(WinUsb_GetCurrentFrameNumber(f.h, &frame, &ts));
    ULONG next = frame + 10;
    CHECK(WinUsb_WriteIsochPipe(bh, 0, 2048, &next, NULL));
    CHECK_INT(next, frame + 12);
    CHECK(!WinUsb_WriteIsochPipe(bh, 2048, 4096, &next, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(!WinUsb_WriteIsochPipe(bh, 0, 2048, NULL, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(WinUsb_UnregisterIsochBuffer(bh));
    fx_close(&f);
}

struct unreg {
    WINUSB_ISOCH_BUFFER_HANDLE bh;
    BOOL ok;
    volatile int done;
};

static void *unregister_main(void *arg)
{
    struct unreg *u = arg;
    u->ok = WinUsb_UnregisterIsochBuffer(u->bh);
    __atomic_store_n(&u->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void test_unregister_waits(void)
{
    struct fx f;
    CHECK(open_iso(&f));
    static UCHAR buf[2048];
    WINUSB_ISOCH_BUFFER_HANDLE bh;
    CHECK(WinUsb_RegisterIsochBuffer(f.h, EP_IN, buf, sizeof buf, &bh));
    park(&f, true);
    OVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    USBD_ISO_PACKET_DESCRIPTOR d[8];
    CHECK(!WinUsb_ReadIsochPipeAsap(bh, 0, 2048, FALSE, 8, d, &ov));
    struct unreg u = {.bh = bh};
    pthread_t t;
    pthread_create(&t, NULL, unregister_main, &u);
    Sleep(10);
    park(&f, false);   /* the transfer completes; the unregister can finish */
    pthread_join(t, NULL);
    CHECK(u.ok);
    DWORD got;
    CHECK(WinUsb_GetOverlappedResult(f.h, &ov, &got, TRUE));
    CHECK_INT(d[0].Length, 100);
    fx_close(&f);
}

static void test_frame_numbers_and_time_sync(void)
{
    struct fx f;
    CHECK(open_iso(&f));
    ULONG a, b;
    LARGE_INTEGER ta, tb;
    CHECK(WinUsb_GetCurrentFrameNumber(f.h, &a, &ta));
    Sleep(5);
    CHECK(WinUsb_GetCurrentFrameNumber(f.h, &b, &tb));
    CHECK(b >= a + 4);
    CHECK(tb.QuadPart > ta.QuadPart);
    ULONG adj = a;
    CHECK(WinUsb_GetAdjustedFrameNumber(&adj, ta));
    CHECK(adj >= a + 4);
    CHECK(!WinUsb_GetCurrentFrameNumber(f.h, NULL, &ta));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(!WinUsb_GetAdjustedFrameNumber(NULL, ta));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);

    USB_START_TRACKING_FOR_TIME_SYNC_INFORMATION st = {NULL, TRUE};
    CHECK(!WinUsb_StartTrackingForTimeSync(f.h, NULL));
    CHECK_INT(last(), ERROR_INVALID_HANDLE);
    CHECK(!WinUsb_StartTrackingForTimeSync(NULL, &st));
    CHECK_INT(last(), ERROR_INVALID_HANDLE);
    CHECK(WinUsb_StartTrackingForTimeSync(f.h, &st));
    CHECK(st.TimeTrackingHandle != NULL);
    USB_FRAME_NUMBER_AND_QPC_FOR_TIME_SYNC_INFORMATION q;
    memset(&q, 0, sizeof q);
    q.TimeTrackingHandle = st.TimeTrackingHandle;
    ULONG now;
    LARGE_INTEGER tnow;
    CHECK(WinUsb_GetCurrentFrameNumber(f.h, &now, &tnow));
    q.InputFrameNumber = now;
    CHECK(WinUsb_GetCurrentFrameNumberAndQpc(f.h, &q));
    CHECK_INT(q.QueryPerformanceCounterFrequency.QuadPart, 10000000);
    CHECK(q.CurrentUSBFrameNumber >= now);
    CHECK_INT(q.CurrentHardwareFrameNumber, q.CurrentUSBFrameNumber & 0x7FF);
    CHECK(q.CurrentHardwareMicroFrameNumber <= 7);
    CHECK(q.CurrentGenerationID >= 1);
    CHECK(q.CurrentQueryPerformanceCounter.QuadPart >= tnow.QuadPart);
    /* The predicted start of the frame that was current is close to when it was read. */
    LONGLONG at = q.QueryPerformanceCounterAtInputFrameOrMicroFrame.QuadPart;
    CHECK(at > tnow.QuadPart - 20 * 10000 && at < tnow.QuadPart + 20 * 10000);
    /* A later frame maps to a later QPC, 1 ms per frame. */
    LONGLONG at0 = at;
    q.InputFrameNumber = now + 10;
    CHECK(WinUsb_GetCurrentFrameNumberAndQpc(f.h, &q));
    CHECK_INT(q.QueryPerformanceCounterAtInputFrameOrMicroFrame.QuadPart - at0, 10 * 10000);
    q.InputFrameNumber = now;
    q.InputMicroFrameNumber = 3;
    CHECK(WinUsb_GetCurrentFrameNumberAndQpc(f.h, &q));
    CHECK_INT(q.QueryPerformanceCounterAtInputFrameOrMicroFrame.QuadPart - at0, 3 * 1250);

    CHECK(!WinUsb_GetCurrentFrameNumberAndQpc(f.h, NULL));
    CHECK_INT(last(), ERROR_INVALID_HANDLE);
    USB_STOP_TRACKING_FOR_TIME_SYNC_INFORMATION sp = {st.TimeTrackingHandle};
    CHECK(WinUsb_StopTrackingForTimeSync(f.h, &sp));
    CHECK(!WinUsb_StopTrackingForTimeSync(f.h, &sp));
    CHECK_INT(last(), ERROR_INVALID_HANDLE);
    CHECK(!WinUsb_GetCurrentFrameNumberAndQpc(f.h, &q));
    CHECK_INT(last(), ERROR_INVALID_HANDLE);
    CHECK(!WinUsb_StopTrackingForTimeSync(f.h, NULL));
    CHECK_INT(last(), ERROR_INVALID_HANDLE);
    fx_close(&f);
}

static void test_unplug_with_iso_pending(void)
{
    struct fx f;
    CHECK(open_iso(&f));
    static UCHAR buf[2048];
    WINUSB_ISOCH_BUFFER_HANDLE bh;
    CHECK(WinUsb_RegisterIsochBuffer(f.h, EP_IN, buf, sizeof buf, &bh));
    park(&f, true);
    OVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    USBD_ISO_PACKET_DESCRIPTOR d[8];
    CHECK(!WinUsb_ReadIsochPipeAsap(bh, 0, 2048, FALSE, 8, d, &ov));
    owu_err err = {0};
    CHECK_OK(owu_stack_unplug(f.stack, f.udev->hcd->bus_number, f.udev->port, &err), &err);
    DWORD got;
    CHECK(!WinUsb_GetOverlappedResult(f.h, &ov, &got, TRUE));
    CHECK_INT(last(), ERROR_DEVICE_NOT_CONNECTED);
    CHECK_INT(d[0].Status, USBD_STATUS_DEVICE_GONE);
    CHECK(!WinUsb_ReadIsochPipeAsap(bh, 0, 2048, FALSE, 8, d, NULL));
    CHECK_INT(last(), ERROR_DEVICE_NOT_CONNECTED);
    ULONG frame;
    LARGE_INTEGER ts;
    CHECK(!WinUsb_GetCurrentFrameNumber(f.h, &frame, &ts));
    CHECK_INT(last(), ERROR_DEVICE_NOT_CONNECTED);
    CHECK(WinUsb_UnregisterIsochBuffer(bh));
    fx_close(&f);
}

int main(void)
{
    fx_env();
    RUN(test_query_and_register);
    RUN(test_read_asap);
    RUN(test_explicit_frames);
    RUN(test_continue_stream_and_abort);
    RUN(test_write);
    RUN(test_unregister_waits);
    RUN(test_frame_numbers_and_time_sync);
    RUN(test_unplug_with_iso_pending);
    owu_process_stack_reset();
    CHECK_INT(owu_w32_handle_count(), 0);
    return check_report();
}
