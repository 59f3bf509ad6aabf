/* WinUSB's pipe policies and queueing rules (shared/reference/winusb-api.md §5), observed on
 * a probe model that logs every URB it receives and answers IN transfers from a script:
 * SHORT_PACKET_TERMINATE, MAXIMUM_TRANSFER_SIZE splitting, rounding of reads with
 * ALLOW_PARTIAL_READS / AUTO_FLUSH and the saved surplus, IGNORE_SHORT_PACKETS, RAW_IO,
 * AUTO_CLEAR_STALL with queued reads, PIPE_TRANSFER_TIMEOUT on data and control pipes,
 * in-order completion, and alternate settings re-reading the pipes. */
#include "test_winusb_fixture.h"

#include "devices/desc_build.h"
#include "drivers/winusb/winusb_drv.h"
#include "api/winusb_api_internal.h"

static DWORD last(void) { return GetLastError(); }

/* ---- the probe model --------------------------------------------------------------------- */

#define PROBE_VID 0x1209
#define PROBE_PID 0x7702
#define EP_OUT 0x01
#define EP_IN 0x82
#define EP_INT 0x83

static const uint8_t probe_device[] = {OWU_D_DEVICE(0x0200, 0xFF, 0x00, 0x00, 64, PROBE_VID, PROBE_PID, 0x0100, 0, 0, 0, 1)};
#define PROBE_CFG_LEN (9 + (9 + 3 * 7) + (9 + 2 * 7))
static const uint8_t probe_config[PROBE_CFG_LEN] = {
    OWU_D_CONFIG(PROBE_CFG_LEN, 1, 1, 0, 0x80, 50),
    OWU_D_INTERFACE(0, 0, 3, 0xFF, 0x00, 0x00, 0),
    OWU_D_ENDPOINT(EP_OUT, OWU_EP_BULK, 512, 0),
    OWU_D_ENDPOINT(EP_IN, OWU_EP_BULK, 512, 0),
    OWU_D_ENDPOINT(EP_INT, OWU_EP_INTR, 64, 4),
    OWU_D_INTERFACE(0, 1, 2, 0xFF, 0x00, 0x00, 0),
    OWU_D_ENDPOINT(EP_OUT, OWU_EP_BULK, 64, 0),
    OWU_D_ENDPOINT(EP_IN, OWU_EP_BULK, 64, 0),
};
static const struct owu_vblob probe_configs[] = {{probe_config, sizeof probe_config}};

#define MAX_LOG 64
#define MAX_RESP 16

struct probe {
    size_t out_len[MAX_LOG];
    unsigned out_flags[MAX_LOG];
    unsigned n_out;
    size_t in_len[MAX_LOG];
    unsigned n_in;
    uint8_t resp[MAX_RESP][4096];
    size_t resp_len[MAX_RESP];
    size_t resp_pos;             /* into resp[0] */
    unsigned n_resp;
    bool hold_out;               /* OUT transfers are never answered (NAK forever) */
};

static void serve_in(struct owu_vdev *vd, struct probe *p)
{
    struct owu_urb *u;
    while (p->n_resp && (u = owu_vdev_take(vd, EP_IN)) != NULL) {
        size_t left = p->resp_len[0] - p->resp_pos;
        size_t n = left < u->length ? left : u->length;
        memcpy(u->buffer, p->resp[0] + p->resp_pos, n);
        p->resp_pos += n;
        if (p->resp_pos == p->resp_len[0]) {
            memmove(p->resp, p->resp + 1, sizeof p->resp[0] * (p->n_resp - 1));
            memmove(p->resp_len, p->resp_len + 1, sizeof p->resp_len[0] * (p->n_resp - 1));
            p->n_resp--;
            p->resp_pos = 0;
        }
        owu_vdev_complete(vd, u, OWU_OK, n);
    }
}

static void probe_transfer(struct owu_vdev *vd, struct owu_urb *urb)
{
    struct probe *p = owu_vdev_priv(vd);
    if (!owu_vdev_active_endpoint(vd, urb->endpoint, NULL)) {
        owu_vdev_complete(vd, urb, OWU_E_STALL, 0);
        return;
    }
    if (urb->endpoint == EP_OUT) {
        if (p->n_out < MAX_LOG) {
            p->out_len[p->n_out] = urb->length;
            p->out_flags[p->n_out] = urb->flags;
            p->n_out++;
        }
        if (p->hold_out)
            owu_vdev_queue(vd, urb);
        else
            owu_vdev_complete(vd, urb, OWU_OK, urb->length);
        return;
    }
    if (p->n_in < MAX_LOG)
        p->in_len[p->n_in++] = urb->length;
    owu_vdev_queue(vd, urb);
    if (urb->endpoint == EP_IN)
        serve_in(vd, p);
}

/* Vendor request 0x01 is never answered (the host's timeout ends it). */
static int probe_control(struct owu_vdev *vd, const struct owu_setup *s, uint8_t *data)
{
    if ((s->bmRequestType & OWU_TYPE_MASK) == OWU_TYPE_VENDOR && s->bRequest == 0x01)
        return OWU_E_PENDING;
    return OWU_VDEV_DEFAULT;
}

static const struct owu_vdev_model probe_model = {
    .name = "test-probe",
    .speed = OWU_SPEED_HIGH,
    .device = probe_device,
    .device_len = sizeof probe_device,
    .configs = probe_configs,
    .num_configs = 1,
    .priv_size = sizeof(struct probe),
    .control = probe_control,
    .transfer = probe_transfer,
};

struct push_arg {
    const uint8_t *data;
    size_t len;
};

static void do_push(struct owu_vdev *vd, void *arg)
{
    struct probe *p = owu_vdev_priv(vd);
    struct push_arg *a = arg;
    if (p->n_resp < MAX_RESP) {
        memcpy(p->resp[p->n_resp], a->data, a->len);
        p->resp_len[p->n_resp++] = a->len;
    }
    serve_in(vd, p);
}

/* Queues one IN transfer the device will send (ending in a short packet unless its length is
 * a multiple of the packet size). */
static void push(struct fx *f, const void *data, size_t len)
{
    struct push_arg a = {data, len};
    owu_vdev_with_lock(f->vd, do_push, &a);
}

static void push_pattern(struct fx *f, size_t len, uint8_t seed)
{
    uint8_t buf[4096];
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(seed + i);
    push(f, buf, len);
}

static void do_snapshot(struct owu_vdev *vd, void *arg) { *(struct probe *)arg = *(struct probe *)owu_vdev_priv(vd); }

static struct probe *snapshot(struct fx *f)
{
    static struct probe copy;
    owu_vdev_with_lock(f->vd, do_snapshot, &copy);
    return &copy;
}

static void do_clear_logs(struct owu_vdev *vd, void *arg)
{
    struct probe *p = owu_vdev_priv(vd);
    p->n_out = p->n_in = 0;
    if (arg)
        p->hold_out = *(bool *)arg;
}

static void clear_logs(struct fx *f) { owu_vdev_with_lock(f->vd, do_clear_logs, NULL); }
static void hold_out(struct fx *f, bool on) { owu_vdev_with_lock(f->vd, do_clear_logs, &on); }

static bool open_probe(struct fx *f) { return fx_open_model(f, &probe_model, PROBE_VID, PROBE_PID); }

static void set_bool(struct fx *f, UCHAR pipe, ULONG policy, UCHAR v)
{
    CHECK(WinUsb_SetPipePolicy(f->h, pipe, policy, 1, &v));
}

static void set_max_transfer(struct fx *f, UCHAR pipe, uint32_t size)
{
    struct owu_w32_winusb *h = owu_w32_winusb_get(f->h);
    CHECK_OK(owu_winusb_test_set_max_transfer(h->intf, pipe, size), NULL);
    owu_w32_obj_unref(&h->obj);
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_short_packet_terminate(void)
{
    struct fx f;
    CHECK(open_probe(&f));
    UCHAR buf[1024] = {0};
    ULONG n;
    CHECK(WinUsb_WritePipe(f.h, EP_OUT, buf, 512, &n, NULL));
    struct probe *p = snapshot(&f);
    CHECK_INT(p->n_out, 1);   /* off by default: no ZLP */
    set_bool(&f, EP_OUT, SHORT_PACKET_TERMINATE, 1);
    clear_logs(&f);
    CHECK(WinUsb_WritePipe(f.h, EP_OUT, buf, 1024, &n, NULL));
    CHECK_INT(n, 1024);
    p = snapshot(&f);
    CHECK_INT(p->n_out, 2);
    CHECK_INT(p->out_len[0], 1024);
    CHECK_INT(p->out_len[1], 0);   /* a separate zero-length write */
    clear_logs(&f);
    CHECK(WinUsb_WritePipe(f.h, EP_OUT, buf, 100, &n, NULL));
    p = snapshot(&f);
    CHECK_INT(p->n_out, 1);   /* not a multiple of the packet size */
    /* A zero-length write is sent as one. */
    clear_logs(&f);
    CHECK(WinUsb_WritePipe(f.h, EP_OUT, buf, 0, &n, NULL));
    CHECK_INT(n, 0);
    p = snapshot(&f);
    CHECK_INT(p->n_out, 1);
    CHECK_INT(p->out_len[0], 0);
    fx_close(&f);
}

static void test_write_splitting_and_raw(void)
{
    struct fx f;
    CHECK(open_probe(&f));
    static UCHAR buf[5000];
    ULONG n;
    set_max_transfer(&f, EP_OUT, 1000);
    ULONG v = 0, len = sizeof v;
    CHECK(WinUsb_GetPipePolicy(f.h, EP_OUT, MAXIMUM_TRANSFER_SIZE, &len, &v));
    CHECK_INT(v, 1000);
    CHECK(WinUsb_WritePipe(f.h, EP_OUT, buf, 2500, &n, NULL));
    CHECK_INT(n, 2500);
    struct probe *p = snapshot(&f);
    CHECK_INT(p->n_out, 3);
    CHECK_INT(p->out_len[0], 1000);
    CHECK_INT(p->out_len[1], 1000);
    CHECK_INT(p->out_len[2], 500);

    /* RAW_IO: multiples of the packet size up to MAXIMUM_TRANSFER_SIZE, never split. */
    set_max_transfer(&f, EP_OUT, 4096);
    set_bool(&f, EP_OUT, RAW_IO, 1);
    clear_logs(&f);
    CHECK(WinUsb_WritePipe(f.h, EP_OUT, buf, 2048, &n, NULL));
    p = snapshot(&f);
    CHECK_INT(p->n_out, 1);
    CHECK_INT(p->out_len[0], 2048);
    CHECK(!WinUsb_WritePipe(f.h, EP_OUT, buf, 100, &n, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(!WinUsb_WritePipe(f.h, EP_OUT, buf, 4608, &n, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    /* With SHORT_PACKET_TERMINATE a raw write asks the controller for the ZLP. */
    set_bool(&f, EP_OUT, SHORT_PACKET_TERMINATE, 1);
    clear_logs(&f);
    CHECK(WinUsb_WritePipe(f.h, EP_OUT, buf, 512, &n, NULL));
    p = snapshot(&f);
    CHECK_INT(p->n_out, 1);
    CHECK(p->out_flags[0] & OWU_URB_ZERO_PACKET);
    fx_close(&f);
}

static void test_read_rounding_and_surplus(void)
{
    struct fx f;
    CHECK(open_probe(&f));
    UCHAR buf[600];
    ULONG n;
    /* A 10-byte read is sent as one 512-byte packet; the device answers 100 bytes. */
    push_pattern(&f, 100, 0);
    CHECK(WinUsb_ReadPipe(f.h, EP_IN, buf, 10, &n, NULL));
    CHECK_INT(n, 10);
    CHECK_INT(buf[9], 9);
    struct probe *p = snapshot(&f);
    CHECK_INT(p->n_in, 1);
    CHECK_INT(p->in_len[0], 512);
    /* ALLOW_PARTIAL_READS on, AUTO_FLUSH off: the surplus starts the next read. */
    CHECK(WinUsb_ReadPipe(f.h, EP_IN, buf, 50, &n, NULL));
    CHECK_INT(n, 50);
    CHECK_INT(buf[0], 10);
    CHECK(WinUsb_ReadPipe(f.h, EP_IN, buf, sizeof buf, &n, NULL));
    CHECK_INT(n, 40);
    CHECK_INT(buf[0], 60);
    p = snapshot(&f);
    CHECK_INT(p->n_in, 1);   /* served from the surplus, not the device */

    /* FlushPipe drops the saved bytes. */
    push_pattern(&f, 100, 0);
    CHECK(WinUsb_ReadPipe(f.h, EP_IN, buf, 10, &n, NULL));
    CHECK(WinUsb_FlushPipe(f.h, EP_IN));
    push_pattern(&f, 3, 200);
    CHECK(WinUsb_ReadPipe(f.h, EP_IN, buf, sizeof buf, &n, NULL));
    CHECK_INT(n, 3);
    CHECK_INT(buf[0], 200);

    /* AUTO_FLUSH: the surplus is discarded at once. */
    set_bool(&f, EP_IN, AUTO_FLUSH, 1);
    push_pattern(&f, 100, 0);
    CHECK(WinUsb_ReadPipe(f.h, EP_IN, buf, 10, &n, NULL));
    CHECK_INT(n, 10);
    push_pattern(&f, 4, 100);
    CHECK(WinUsb_ReadPipe(f.h, EP_IN, buf, sizeof buf, &n, NULL));
    CHECK_INT(n, 4);
    CHECK_INT(buf[0], 100);

    /* ALLOW_PARTIAL_READS off: more than asked for fails the read (and halts the pipe). */
    set_bool(&f, EP_IN, ALLOW_PARTIAL_READS, 0);
    push_pattern(&f, 100, 0);
    CHECK(!WinUsb_ReadPipe(f.h, EP_IN, buf, 10, &n, NULL));
    CHECK_INT(last(), ERROR_GEN_FAILURE);
    CHECK(!WinUsb_ReadPipe(f.h, EP_IN, buf, 512, &n, NULL));
    CHECK_INT(last(), ERROR_GEN_FAILURE);
    CHECK(WinUsb_ResetPipe(f.h, EP_IN));
    /* A read of whole packets cannot overflow. */
    push_pattern(&f, 100, 7);
    CHECK(WinUsb_ReadPipe(f.h, EP_IN, buf, 512, &n, NULL));
    CHECK_INT(n, 100);
    CHECK_INT(buf[0], 7);
    fx_close(&f);
}

static void test_read_splitting_and_short_packets(void)
{
    struct fx f;
    CHECK(open_probe(&f));
    static UCHAR buf[4096];
    ULONG n;
    set_max_transfer(&f, EP_IN, 1024);
    push_pattern(&f, 2500, 1);
    CHECK(WinUsb_ReadPipe(f.h, EP_IN, buf, 2500, &n, NULL));
    CHECK_INT(n, 2500);
    CHECK_INT(buf[2499], (UCHAR)(1 + 2499));
    struct probe *p = snapshot(&f);
    CHECK_INT(p->n_in, 3);
    CHECK_INT(p->in_len[0], 1024);
    CHECK_INT(p->in_len[1], 1024);
    CHECK_INT(p->in_len[2], 512);   /* 452 rounded up to a packet */

    /* A short packet ends a read... */
    set_max_transfer(&f, EP_IN, 2 * 1024 * 1024);
    push_pattern(&f, 100, 0);
    push_pattern(&f, 924, 100);
    CHECK(WinUsb_ReadPipe(f.h, EP_IN, buf, 1024, &n, NULL));
    CHECK_INT(n, 100);
    CHECK(WinUsb_ReadPipe(f.h, EP_IN, buf, 1024, &n, NULL));
    CHECK_INT(n, 924);
    /* ...unless IGNORE_SHORT_PACKETS: then it goes on to the full length. */
    set_bool(&f, EP_IN, IGNORE_SHORT_PACKETS, 1);
    push_pattern(&f, 100, 0);
    push_pattern(&f, 924, 100);
    CHECK(WinUsb_ReadPipe(f.h, EP_IN, buf, 1024, &n, NULL));
    CHECK_INT(n, 1024);
    CHECK_INT(buf[99], 99);
    CHECK_INT(buf[100], 100);
    CHECK_INT(buf[1023], (UCHAR)(100 + 923));
    fx_close(&f);
}

static bool n_in_at_least(void *arg)
{
    struct fx *f = ((void **)arg)[0];
    unsigned want = (unsigned)(uintptr_t)((void **)arg)[1];
    return snapshot(f)->n_in >= want;
}

static void test_queueing_and_raw_io(void)
{
    struct fx f;
    CHECK(open_probe(&f));
    UCHAR buf[4][512];
    OVERLAPPED ov[4];
    /* Without RAW_IO requests wait in WinUSB's queue: one transfer at a time. */
    for (int i = 0; i < 3; i++) {
        memset(&ov[i], 0, sizeof ov[i]);
        ov[i].hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
        CHECK(!WinUsb_ReadPipe(f.h, EP_IN, buf[i], 512, NULL, &ov[i]));
        CHECK_INT(last(), ERROR_IO_PENDING);
    }
    CHECK_INT(snapshot(&f)->n_in, 1);
    for (int i = 0; i < 3; i++)
        push_pattern(&f, 10 + i, (uint8_t)(i * 50));
    for (int i = 0; i < 3; i++) {
        DWORD n;
        CHECK(WinUsb_GetOverlappedResult(f.h, &ov[i], &n, TRUE));
        CHECK_INT(n, 10 + i);
        CHECK_INT(buf[i][0], i * 50);   /* in order */
    }
    /* RAW_IO: every request goes to the bus at once. */
    set_bool(&f, EP_IN, RAW_IO, 1);
    UCHAR small[100];
    ULONG n;
    CHECK(!WinUsb_ReadPipe(f.h, EP_IN, small, sizeof small, &n, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    clear_logs(&f);
    for (int i = 0; i < 4; i++) {
        ResetEvent(ov[i].hEvent);
        CHECK(!WinUsb_ReadPipe(f.h, EP_IN, buf[i], 512, NULL, &ov[i]));
        CHECK_INT(last(), ERROR_IO_PENDING);
    }
    void *arg[2] = {&f, (void *)(uintptr_t)4};
    CHECK(fx_wait_for(n_in_at_least, arg, 2000));
    CHECK_INT(snapshot(&f)->n_in, 4);
    for (int i = 0; i < 4; i++)
        push_pattern(&f, 512, (uint8_t)i);
    for (int i = 0; i < 4; i++) {
        DWORD got;
        CHECK(WinUsb_GetOverlappedResult(f.h, &ov[i], &got, TRUE));
        CHECK_INT(got, 512);
        CHECK_INT(buf[i][0], i);
        CloseHandle(ov[i].hEvent);
    }
    fx_close(&f);
}

static void test_auto_clear_stall_with_queue(void)
{
    for (int auto_clear = 0; auto_clear <= 1; auto_clear++) {
        struct fx f;
        CHECK(open_probe(&f));
        set_bool(&f, EP_IN, AUTO_CLEAR_STALL, (UCHAR)auto_clear);
        UCHAR buf[3][512];
        OVERLAPPED ov[3];
        for (int i = 0; i < 3; i++) {
            memset(&ov[i], 0, sizeof ov[i]);
            CHECK(!WinUsb_ReadPipe(f.h, EP_IN, buf[i], 512, NULL, &ov[i]));
        }
        /* The device halts the endpoint: the transfer in flight fails with a stall. */
        ULONG n;
        CHECK(WinUsb_ControlTransfer(f.h, fx_setup(0x02, USB_REQUEST_SET_FEATURE, 0, EP_IN, 0), NULL, 0, &n, NULL));
        DWORD got;
        CHECK(!WinUsb_GetOverlappedResult(f.h, &ov[0], &got, TRUE));
        CHECK_INT(last(), ERROR_GEN_FAILURE);
        if (auto_clear) {
            /* The pipe was reset before the failure was reported; queued reads flow on. */
            push_pattern(&f, 20, 1);
            push_pattern(&f, 30, 2);
            CHECK(WinUsb_GetOverlappedResult(f.h, &ov[1], &got, TRUE));
            CHECK_INT(got, 20);
            CHECK(WinUsb_GetOverlappedResult(f.h, &ov[2], &got, TRUE));
            CHECK_INT(got, 30);
        } else {
            /* Every transfer after the stall fails until WinUsb_ResetPipe. */
            CHECK(!WinUsb_GetOverlappedResult(f.h, &ov[1], &got, TRUE));
            CHECK_INT(last(), ERROR_GEN_FAILURE);
            CHECK(!WinUsb_GetOverlappedResult(f.h, &ov[2], &got, TRUE));
            CHECK_INT(last(), ERROR_GEN_FAILURE);
            CHECK(!WinUsb_ReadPipe(f.h, EP_IN, buf[0], 512, &n, NULL));
            CHECK_INT(last(), ERROR_GEN_FAILURE);
            CHECK(WinUsb_ResetPipe(f.h, EP_IN));
            push_pattern(&f, 8, 3);
            CHECK(WinUsb_ReadPipe(f.h, EP_IN, buf[0], 512, &n, NULL));
            CHECK_INT(n, 8);
        }
        fx_close(&f);
    }
}

static void test_timeouts(void)
{
    struct fx f;
    CHECK(open_probe(&f));
    /* OUT transfers that the device never takes. */
    hold_out(&f, true);
    ULONG ms = 30;
    CHECK(WinUsb_SetPipePolicy(f.h, EP_OUT, PIPE_TRANSFER_TIMEOUT, 4, &ms));
    UCHAR buf[512] = {0};
    ULONG n;
    CHECK(!WinUsb_WritePipe(f.h, EP_OUT, buf, 512, &n, NULL));
    CHECK_INT(last(), ERROR_SEM_TIMEOUT);
    /* Queued behind one that times out: each request gets its own timeout. */
    OVERLAPPED ov[2];
    for (int i = 0; i < 2; i++) {
        memset(&ov[i], 0, sizeof ov[i]);
        CHECK(!WinUsb_WritePipe(f.h, EP_OUT, buf, 64, NULL, &ov[i]));
    }
    for (int i = 0; i < 2; i++) {
        DWORD got;
        CHECK(!WinUsb_GetOverlappedResult(f.h, &ov[i], &got, TRUE));
        CHECK_INT(last(), ERROR_SEM_TIMEOUT);
    }
    hold_out(&f, false);
    CHECK(WinUsb_WritePipe(f.h, EP_OUT, buf, 64, &n, NULL));

    /* The control pipe: PIPE_TRANSFER_TIMEOUT on pipe 0 (5 s by default). */
    ms = 30;
    CHECK(WinUsb_SetPipePolicy(f.h, 0x00, PIPE_TRANSFER_TIMEOUT, 4, &ms));
    CHECK(!WinUsb_ControlTransfer(f.h, fx_setup(0x40, 0x01, 0, 0, 0), NULL, 0, &n, NULL));
    CHECK_INT(last(), ERROR_SEM_TIMEOUT);
    /* Zero means no timeout: the request waits until aborted. */
    ms = 0;
    CHECK(WinUsb_SetPipePolicy(f.h, 0x00, PIPE_TRANSFER_TIMEOUT, 4, &ms));
    OVERLAPPED cov;
    memset(&cov, 0, sizeof cov);
    CHECK(!WinUsb_ControlTransfer(f.h, fx_setup(0x40, 0x01, 0, 0, 0), NULL, 0, NULL, &cov));
    CHECK_INT(last(), ERROR_IO_PENDING);
    DWORD got;
    CHECK(!WinUsb_GetOverlappedResult(f.h, &cov, &got, FALSE));
    CHECK_INT(last(), ERROR_IO_INCOMPLETE);
    CHECK(WinUsb_AbortPipe(f.h, 0x00));
    CHECK(!WinUsb_GetOverlappedResult(f.h, &cov, &got, TRUE));
    CHECK_INT(last(), ERROR_OPERATION_ABORTED);
    fx_close(&f);
}

static void test_alternate_settings(void)
{
    struct fx f;
    CHECK(open_probe(&f));
    USB_INTERFACE_DESCRIPTOR id;
    CHECK(WinUsb_QueryInterfaceSettings(f.h, 1, &id));
    CHECK_INT(id.bAlternateSetting, 1);
    CHECK_INT(id.bNumEndpoints, 2);
    WINUSB_PIPE_INFORMATION pi;
    CHECK(WinUsb_QueryPipe(f.h, 1, 0, &pi));
    CHECK_INT(pi.MaximumPacketSize, 64);
    CHECK(!WinUsb_QueryPipe(f.h, 1, 2, &pi));
    CHECK_INT(last(), ERROR_NO_MORE_ITEMS);

    set_bool(&f, EP_OUT, SHORT_PACKET_TERMINATE, 1);
    /* Not while a request is pending on the interface. */
    OVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    UCHAR buf[512] = {0};
    CHECK(!WinUsb_ReadPipe(f.h, EP_IN, buf, 64, NULL, &ov));
    CHECK(!WinUsb_SetCurrentAlternateSetting(f.h, 1));
    CHECK_INT(last(), ERROR_BUSY);
    CHECK(WinUsb_AbortPipe(f.h, EP_IN));
    DWORD got;
    CHECK(!WinUsb_GetOverlappedResult(f.h, &ov, &got, TRUE));

    CHECK(WinUsb_SetCurrentAlternateSetting(f.h, 1));
    UCHAR alt = 0;
    CHECK(WinUsb_GetCurrentAlternateSetting(f.h, &alt));
    CHECK_INT(alt, 1);
    CHECK_INT(f.vd->alt[0], 1);
    /* The pipes now are those of setting 1: 64-byte packets, no interrupt pipe. */
    clear_logs(&f);
    ULONG n;
    CHECK(WinUsb_WritePipe(f.h, EP_OUT, buf, 64, &n, NULL));
    struct probe *p = snapshot(&f);
    CHECK_INT(p->n_out, 2);   /* 64 is a whole packet now: the ZLP follows (policy kept) */
    CHECK_INT(p->out_len[1], 0);
    CHECK(!WinUsb_ReadPipe(f.h, EP_INT, buf, 64, &n, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    push_pattern(&f, 10, 0);
    CHECK(WinUsb_ReadPipe(f.h, EP_IN, buf, 5, &n, NULL));
    p = snapshot(&f);
    CHECK_INT(p->in_len[p->n_in - 1], 64);   /* rounded to the new packet size */
    /* The standard SET_INTERFACE request does the same thing. */
    CHECK(WinUsb_ControlTransfer(f.h, fx_setup(0x01, USB_REQUEST_SET_INTERFACE, 0, 0, 0), NULL, 0, &n, NULL));
    CHECK(WinUsb_GetCurrentAlternateSetting(f.h, &alt));
    CHECK_INT(alt, 0);
    CHECK(!WinUsb_ControlTransfer(f.h, fx_setup(0x01, USB_REQUEST_SET_INTERFACE, 5, 0, 0), NULL, 0, &n, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    /* Back in setting 0 the interrupt pipe exists again. */
    CHECK(WinUsb_QueryPipe(f.h, 0, 2, &pi));
    CHECK_INT(pi.PipeId, EP_INT);
    CHECK_INT(pi.PipeType, UsbdPipeTypeInterrupt);
    CHECK_INT(pi.Interval, 4);
    fx_close(&f);
}

static void test_interrupt_rounding(void)
{
    struct fx f;
    CHECK(open_probe(&f));
    OVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    UCHAR buf[8];
    CHECK(!WinUsb_ReadPipe(f.h, EP_INT, buf, 8, NULL, &ov));
    void *arg[2] = {&f, (void *)(uintptr_t)1};
    CHECK(fx_wait_for(n_in_at_least, arg, 2000));
    struct probe *p = snapshot(&f);
    CHECK_INT(p->in_len[0], 64);
    CHECK(WinUsb_AbortPipe(f.h, EP_INT));
    DWORD got;
    CHECK(!WinUsb_GetOverlappedResult(f.h, &ov, &got, TRUE));
    CHECK_INT(last(), ERROR_OPERATION_ABORTED);
    fx_close(&f);
}

int main(void)
{
    fx_env();
    RUN(test_short_packet_terminate);
    RUN(test_write_splitting_and_raw);
    RUN(test_read_rounding_and_surplus);
    RUN(test_read_splitting_and_short_packets);
    RUN(test_queueing_and_raw_io);
    RUN(test_auto_clear_stall_with_queue);
    RUN(test_timeouts);
    RUN(test_alternate_settings);
    RUN(test_interrupt_rounding);
    owu_process_stack_reset();
    CHECK_INT(owu_w32_handle_count(), 0);
    return check_report();
}
