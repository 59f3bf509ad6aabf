/* The WinUSB API against the FX2 model and a two-interface test model: handles, descriptors,
 * settings, pipes, control/bulk/interrupt transfers, stalls, timeouts, aborts, exclusive
 * access and unplug, with the error code of every failure (docs/winusb.md). */
#include "test_winusb_fixture.h"

#include "devices/desc_build.h"

static DWORD last(void) { return GetLastError(); }

/* ---- a vendor device with two interfaces (not composite: one WinUSB device) ---------------- */

#define DUAL_VID 0x1209
#define DUAL_PID 0x7701

static const uint8_t dual_device[] = {OWU_D_DEVICE(0x0200, 0xFF, 0x00, 0x00, 64, DUAL_VID, DUAL_PID, 0x0100, 0, 0, 0, 1)};
#define DUAL_CFG_LEN (9 + 2 * (9 + 7 + 7))
static const uint8_t dual_config[DUAL_CFG_LEN] = {
    OWU_D_CONFIG(DUAL_CFG_LEN, 2, 1, 0, 0x80, 50),
    OWU_D_INTERFACE(0, 0, 2, 0xFF, 0x00, 0x00, 0),
    OWU_D_ENDPOINT(0x01, OWU_EP_BULK, 512, 0),
    OWU_D_ENDPOINT(0x81, OWU_EP_BULK, 512, 0),
    OWU_D_INTERFACE(1, 0, 2, 0xFF, 0x00, 0x00, 0),
    OWU_D_ENDPOINT(0x02, OWU_EP_BULK, 512, 0),
    OWU_D_ENDPOINT(0x82, OWU_EP_BULK, 512, 0),
};
static const struct owu_vblob dual_configs[] = {{dual_config, sizeof dual_config}};

struct dual_state {
    struct owu_setup last;
    unsigned vendor_requests;
};

static int dual_control(struct owu_vdev *vd, const struct owu_setup *s, uint8_t *data)
{
    struct dual_state *st = owu_vdev_priv(vd);
    if ((s->bmRequestType & OWU_TYPE_MASK) != OWU_TYPE_VENDOR)
        return OWU_VDEV_DEFAULT;
    st->last = *s;
    st->vendor_requests++;
    if (s->bmRequestType & OWU_DIR_IN) {
        data[0] = (uint8_t)s->wIndex;
        return s->wLength ? 1 : 0;
    }
    return 0;
}

static void dual_transfer(struct owu_vdev *vd, struct owu_urb *urb)
{
    if (urb->endpoint & 0x80)
        owu_vdev_queue(vd, urb);   /* IN: nothing to say, ever */
    else
        owu_vdev_complete(vd, urb, OWU_OK, urb->length);
}

static const struct owu_vdev_model dual_model = {
    .name = "test-dual",
    .speed = OWU_SPEED_HIGH,
    .device = dual_device,
    .device_len = sizeof dual_device,
    .configs = dual_configs,
    .num_configs = 1,
    .priv_size = sizeof(struct dual_state),
    .control = dual_control,
    .transfer = dual_transfer,
};

/* A device whose configuration has no interface at all. */
static const uint8_t empty_device[] = {OWU_D_DEVICE(0x0200, 0xFF, 0x00, 0x00, 64, DUAL_VID, 0x7704, 0x0100, 0, 0, 0, 1)};
static const uint8_t empty_config[] = {OWU_D_CONFIG(9, 0, 1, 0, 0x80, 50)};
static const struct owu_vblob empty_configs[] = {{empty_config, sizeof empty_config}};
static const struct owu_vdev_model empty_model = {
    .name = "test-empty",
    .speed = OWU_SPEED_FULL,
    .device = empty_device,
    .device_len = sizeof empty_device,
    .configs = empty_configs,
    .num_configs = 1,
};

static void read_last(struct owu_vdev *vd, void *arg)
{
    struct dual_state *st = owu_vdev_priv(vd);
    *(struct owu_setup *)arg = st->last;
}

/* The last vendor request the model saw (read under the bus lock). */
static struct owu_setup dual_last(struct owu_vdev *vd)
{
    struct owu_setup s;
    owu_vdev_with_lock(vd, read_last, &s);
    return s;
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_bad_handles(void)
{
    WINUSB_INTERFACE_HANDLE h = (WINUSB_INTERFACE_HANDLE)1;
    SetLastError(0);
    CHECK(!WinUsb_Initialize(NULL, &h));
    CHECK_INT(last(), ERROR_INVALID_HANDLE);
    CHECK(!WinUsb_Initialize(INVALID_HANDLE_VALUE, &h));
    CHECK_INT(last(), ERROR_INVALID_HANDLE);
    CHECK(!WinUsb_Initialize((HANDLE)(uintptr_t)0x12345670, &h));
    CHECK_INT(last(), ERROR_INVALID_HANDLE);

    UCHAR speed;
    ULONG len = 1;
    CHECK(!WinUsb_QueryDeviceInformation(NULL, DEVICE_SPEED, &len, &speed));
    CHECK_INT(last(), ERROR_INVALID_HANDLE);
    ULONG n;
    UCHAR buf[8];
    CHECK(!WinUsb_ReadPipe(NULL, 0x88, buf, sizeof buf, &n, NULL));
    CHECK_INT(last(), ERROR_INVALID_HANDLE);
    CHECK(!WinUsb_ControlTransfer((WINUSB_INTERFACE_HANDLE)(uintptr_t)0x400, fx_setup(0xC0, 0xD7, 0, 0, 1), buf, 1, &n, NULL));
    CHECK_INT(last(), ERROR_INVALID_HANDLE);
    CHECK(!WinUsb_AbortPipe(NULL, 0x88));
    CHECK_INT(last(), ERROR_INVALID_HANDLE);
    /* WinUsb_Free is documented to always succeed. */
    CHECK(WinUsb_Free(NULL));

    /* An event is a handle, but not a device and not a WinUSB handle. */
    HANDLE ev = CreateEventA(NULL, TRUE, FALSE, NULL);
    CHECK(ev != NULL);
    CHECK(!WinUsb_Initialize(ev, &h));
    CHECK_INT(last(), ERROR_INVALID_HANDLE);
    CHECK(!WinUsb_QueryDeviceInformation(ev, DEVICE_SPEED, &len, &speed));
    CHECK_INT(last(), ERROR_INVALID_HANDLE);
    CHECK(CloseHandle(ev));
    CHECK(!CloseHandle(ev));
    CHECK_INT(last(), ERROR_INVALID_HANDLE);
    CHECK_INT(WaitForSingleObject(ev, 0), WAIT_FAILED);
    CHECK_INT(last(), ERROR_INVALID_HANDLE);
}

static void test_initialize_rules(void)
{
    struct fx f;
    CHECK(fx_stack(&f, "virtual:fx2"));
    size_t base = owu_w32_handle_count();
    /* Without FILE_FLAG_OVERLAPPED WinUSB refuses the handle. */
    HANDLE plain = fx_open_file(&f, 0x0547, 0x1002, OWU_NODE_DEVICE, FILE_ATTRIBUTE_NORMAL);
    CHECK(plain != INVALID_HANDLE_VALUE);
    WINUSB_INTERFACE_HANDLE h = NULL;
    CHECK(!WinUsb_Initialize(plain, &h));
    CHECK_INT(last(), ERROR_INVALID_HANDLE);
    /* Single client: a second open of the device is refused while the first lasts. */
    HANDLE second = fx_open_file(&f, 0x0547, 0x1002, OWU_NODE_DEVICE, FILE_FLAG_OVERLAPPED);
    CHECK(second == INVALID_HANDLE_VALUE);
    CHECK_INT(last(), ERROR_ACCESS_DENIED);
    CHECK(CloseHandle(plain));

    HANDLE file = fx_open_file(&f, 0x0547, 0x1002, OWU_NODE_DEVICE, FILE_FLAG_OVERLAPPED);
    CHECK(file != INVALID_HANDLE_VALUE);
    CHECK(!WinUsb_Initialize(file, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(WinUsb_Initialize(file, &h));
    CHECK(h != NULL);
    WINUSB_INTERFACE_HANDLE h2 = NULL;
    CHECK(!WinUsb_Initialize(file, &h2));
    CHECK_INT(last(), ERROR_ALREADY_EXISTS);
    /* A WinUSB handle is not closed by CloseHandle. */
    CHECK(!CloseHandle(h));
    CHECK_INT(last(), ERROR_INVALID_HANDLE);
    CHECK(WinUsb_Free(h));
    UCHAR alt;
    CHECK(!WinUsb_GetCurrentAlternateSetting(h, &alt));
    CHECK_INT(last(), ERROR_INVALID_HANDLE);
    /* Initialize again after Free. */
    CHECK(WinUsb_Initialize(file, &h));
    /* Closing the file first keeps the WinUSB handle usable until it is freed. */
    CHECK(CloseHandle(file));
    CHECK(WinUsb_GetCurrentAlternateSetting(h, &alt));
    CHECK(WinUsb_Free(h));
    CHECK_INT(owu_w32_handle_count(), base);
    /* Everything released: the device opens again. */
    file = fx_open_file(&f, 0x0547, 0x1002, OWU_NODE_DEVICE, FILE_FLAG_OVERLAPPED);
    CHECK(file != INVALID_HANDLE_VALUE);
    CHECK(CloseHandle(file));
    fx_close(&f);
}

static void test_device_information(void)
{
    struct fx f;
    CHECK(fx_open_fx2(&f));
    UCHAR speed = 0;
    ULONG len = sizeof speed;
    CHECK(WinUsb_QueryDeviceInformation(f.h, DEVICE_SPEED, &len, &speed));
    CHECK_INT(speed, HighSpeed);
    CHECK_INT(len, 1);
    len = 0;
    CHECK(!WinUsb_QueryDeviceInformation(f.h, DEVICE_SPEED, &len, &speed));
    CHECK_INT(last(), ERROR_INSUFFICIENT_BUFFER);
    CHECK_INT(len, 1);
    len = 1;
    CHECK(!WinUsb_QueryDeviceInformation(f.h, 2, &len, &speed));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(!WinUsb_QueryDeviceInformation(f.h, DEVICE_SPEED, NULL, &speed));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    fx_close(&f);
}

static void test_descriptors(void)
{
    struct fx f;
    CHECK(fx_open_fx2(&f));
    USB_DEVICE_DESCRIPTOR dd;
    ULONG n = 0;
    CHECK(WinUsb_GetDescriptor(f.h, USB_DEVICE_DESCRIPTOR_TYPE, 0, 0, (PUCHAR)&dd, sizeof dd, &n));
    CHECK_INT(n, 18);
    CHECK_INT(dd.idVendor, 0x0547);
    CHECK_INT(dd.idProduct, 0x1002);
    CHECK_INT(dd.bNumConfigurations, 1);

    /* The configuration header first, then all of it. */
    USB_CONFIGURATION_DESCRIPTOR cd;
    CHECK(WinUsb_GetDescriptor(f.h, USB_CONFIGURATION_DESCRIPTOR_TYPE, 0, 0, (PUCHAR)&cd, sizeof cd, &n));
    CHECK_INT(n, 9);
    CHECK_INT(cd.wTotalLength, 39);
    UCHAR full[64];
    CHECK(WinUsb_GetDescriptor(f.h, USB_CONFIGURATION_DESCRIPTOR_TYPE, 0, 0, full, sizeof full, &n));
    CHECK_INT(n, 39);
    CHECK_INT(full[9 + 1], USB_INTERFACE_DESCRIPTOR_TYPE);
    /* Smaller than the descriptor itself: nothing copied. */
    memset(full, 0xAA, sizeof full);
    CHECK(!WinUsb_GetDescriptor(f.h, USB_DEVICE_DESCRIPTOR_TYPE, 0, 0, full, 4, &n));
    CHECK_INT(last(), ERROR_INSUFFICIENT_BUFFER);
    CHECK_INT(n, 0);
    CHECK_INT(full[0], 0xAA);
    CHECK(!WinUsb_GetDescriptor(f.h, USB_DEVICE_DESCRIPTOR_TYPE, 0, 0, full, sizeof full, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);

    /* Strings come from the device. */
    UCHAR sd[256];
    CHECK(WinUsb_GetDescriptor(f.h, USB_STRING_DESCRIPTOR_TYPE, 2, 0x0409, sd, sizeof sd, &n));
    CHECK_INT(sd[1], USB_STRING_DESCRIPTOR_TYPE);
    CHECK_INT(n, 2 + 2 * strlen("OSR USB-FX2 Learning Kit"));
    CHECK_INT(sd[2], 'O');
    CHECK(!WinUsb_GetDescriptor(f.h, USB_STRING_DESCRIPTOR_TYPE, 2, 0x0409, sd, 6, &n));
    CHECK_INT(last(), ERROR_INSUFFICIENT_BUFFER);
    /* A string the device does not have: it stalls. */
    CHECK(!WinUsb_GetDescriptor(f.h, USB_STRING_DESCRIPTOR_TYPE, 9, 0x0409, sd, sizeof sd, &n));
    CHECK_INT(last(), ERROR_GEN_FAILURE);

    /* Interface and endpoint descriptors of the handle's interface. */
    USB_INTERFACE_DESCRIPTOR id;
    CHECK(WinUsb_GetDescriptor(f.h, USB_INTERFACE_DESCRIPTOR_TYPE, 0, 0, (PUCHAR)&id, sizeof id, &n));
    CHECK_INT(id.bNumEndpoints, 3);
    USB_ENDPOINT_DESCRIPTOR ed;
    CHECK(WinUsb_GetDescriptor(f.h, USB_ENDPOINT_DESCRIPTOR_TYPE, 1, 0, (PUCHAR)&ed, sizeof ed, &n));
    CHECK_INT(ed.bEndpointAddress, 0x06);
    CHECK_INT(ed.wMaxPacketSize, 512);
    CHECK(!WinUsb_GetDescriptor(f.h, USB_ENDPOINT_DESCRIPTOR_TYPE, 3, 0, (PUCHAR)&ed, sizeof ed, &n));
    CHECK_INT(last(), ERROR_NO_MORE_ITEMS);
    fx_close(&f);
}

static void test_settings_and_pipes(void)
{
    struct fx f;
    CHECK(fx_open_fx2(&f));
    USB_INTERFACE_DESCRIPTOR id;
    CHECK(WinUsb_QueryInterfaceSettings(f.h, 0, &id));
    CHECK_INT(id.bInterfaceNumber, 0);
    CHECK_INT(id.bNumEndpoints, 3);
    CHECK_INT(id.bInterfaceClass, 0xFF);
    CHECK(!WinUsb_QueryInterfaceSettings(f.h, 1, &id));
    CHECK_INT(last(), ERROR_NO_MORE_ITEMS);
    CHECK(!WinUsb_QueryInterfaceSettings(f.h, 0, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);

    static const struct {
        USBD_PIPE_TYPE type;
        UCHAR id;
        USHORT mps;
    } want[3] = {{UsbdPipeTypeInterrupt, 0x81, 1}, {UsbdPipeTypeBulk, 0x06, 512}, {UsbdPipeTypeBulk, 0x88, 512}};
    for (UCHAR i = 0; i < id.bNumEndpoints; i++) {
        WINUSB_PIPE_INFORMATION pi;
        CHECK(WinUsb_QueryPipe(f.h, 0, i, &pi));
        CHECK_INT(pi.PipeType, want[i].type);
        CHECK_INT(pi.PipeId, want[i].id);
        CHECK_INT(pi.MaximumPacketSize, want[i].mps);
        WINUSB_PIPE_INFORMATION_EX px;
        CHECK(WinUsb_QueryPipeEx(f.h, 0, i, &px));
        CHECK_INT(px.PipeId, want[i].id);
        CHECK_INT(px.MaximumBytesPerInterval, want[i].mps);
    }
    WINUSB_PIPE_INFORMATION pi;
    CHECK(!WinUsb_QueryPipe(f.h, 0, 3, &pi));
    CHECK_INT(last(), ERROR_NO_MORE_ITEMS);
    CHECK(!WinUsb_QueryPipe(f.h, 0, 0, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(!WinUsb_QueryPipe(f.h, 1, 0, &pi));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    WINUSB_PIPE_INFORMATION_EX px;
    CHECK(!WinUsb_QueryPipeEx(f.h, 0, 7, &px));
    CHECK_INT(last(), ERROR_NO_MORE_ITEMS);

    UCHAR alt = 9;
    CHECK(WinUsb_GetCurrentAlternateSetting(f.h, &alt));
    CHECK_INT(alt, 0);
    CHECK(!WinUsb_GetCurrentAlternateSetting(f.h, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(WinUsb_SetCurrentAlternateSetting(f.h, 0));
    CHECK(!WinUsb_SetCurrentAlternateSetting(f.h, 1));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    fx_close(&f);
}

static void test_control_transfers(void)
{
    struct fx f;
    CHECK(fx_open_fx2(&f));
    ULONG n = 99;
    UCHAR v = 0x5A;
    /* The bar graph, as the Microsoft walkthrough sends it (RequestType 0). */
    CHECK(WinUsb_ControlTransfer(f.h, fx_setup(0x00, 0xD8, 0, 0, 1), &v, 1, &n, NULL));
    CHECK_INT(n, 1);
    CHECK_INT(owu_fx2_bargraph(f.vd), 0x5A);
    v = 0xC3;
    CHECK(WinUsb_ControlTransfer(f.h, fx_setup(0x40, 0xD8, 0, 0, 1), &v, 1, &n, NULL));
    CHECK_INT(owu_fx2_bargraph(f.vd), 0xC3);
    UCHAR r = 0;
    CHECK(WinUsb_ControlTransfer(f.h, fx_setup(0xC0, 0xD7, 0, 0, 1), &r, 1, &n, NULL));
    CHECK_INT(n, 1);
    CHECK_INT(r, 0xC3);
    /* No data stage: LengthTransferred may be NULL. */
    CHECK(WinUsb_ControlTransfer(f.h, fx_setup(0x00, USB_REQUEST_SET_CONFIGURATION, 1, 0, 0), NULL, 0, NULL, NULL));

    UCHAR big[4097];
    CHECK(!WinUsb_ControlTransfer(f.h, fx_setup(0xC0, 0xD7, 0, 0, 4097), big, sizeof big, &n, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(!WinUsb_ControlTransfer(f.h, fx_setup(0xC0, 0xD7, 0, 0, 8), big, 4, &n, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(!WinUsb_ControlTransfer(f.h, fx_setup(0xC0, 0xD7, 0, 0, 8), NULL, 8, &n, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    /* Requests WinUSB refuses. */
    CHECK(!WinUsb_ControlTransfer(f.h, fx_setup(0x00, USB_REQUEST_SET_ADDRESS, 5, 0, 0), NULL, 0, &n, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(!WinUsb_ControlTransfer(f.h, fx_setup(0x00, USB_REQUEST_SET_CONFIGURATION, 2, 0, 0), NULL, 0, &n, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    /* An endpoint that is not the interface's. */
    UCHAR st[2];
    CHECK(!WinUsb_ControlTransfer(f.h, fx_setup(0x82, USB_REQUEST_GET_STATUS, 0, 0x02, 2), st, 2, &n, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(WinUsb_ControlTransfer(f.h, fx_setup(0x82, USB_REQUEST_GET_STATUS, 0, 0x88, 2), st, 2, &n, NULL));
    CHECK_INT(n, 2);
    CHECK_INT(st[0], 0);
    /* A request the device does not know: it stalls. */
    CHECK(!WinUsb_ControlTransfer(f.h, fx_setup(0xC0, 0x77, 0, 0, 1), &r, 1, &n, NULL));
    CHECK_INT(last(), ERROR_GEN_FAILURE);
    /* The control pipe keeps working after a stall (no halt). */
    CHECK(WinUsb_ControlTransfer(f.h, fx_setup(0xC0, 0xD7, 0, 0, 1), &r, 1, &n, NULL));
    fx_close(&f);
}

static void test_bulk_loopback(void)
{
    struct fx f;
    CHECK(fx_open_fx2(&f));
    UCHAR out[100], in[512];
    for (unsigned i = 0; i < sizeof out; i++)
        out[i] = (UCHAR)(i * 7 + 1);
    ULONG n = 0;
    CHECK(WinUsb_WritePipe(f.h, 0x06, out, sizeof out, &n, NULL));
    CHECK_INT(n, sizeof out);
    CHECK(WinUsb_ReadPipe(f.h, 0x88, in, sizeof in, &n, NULL));
    CHECK_INT(n, sizeof out);
    CHECK(memcmp(in, out, sizeof out) == 0);

    /* A zero-length read completes at once without the device. */
    CHECK(WinUsb_ReadPipe(f.h, 0x88, in, 0, &n, NULL));
    CHECK_INT(n, 0);

    /* Wrong pipes and directions. */
    CHECK(!WinUsb_WritePipe(f.h, 0x88, out, 4, &n, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(!WinUsb_ReadPipe(f.h, 0x06, in, 4, &n, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(!WinUsb_ReadPipe(f.h, 0x85, in, 4, &n, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(!WinUsb_ReadPipe(f.h, 0x00, in, 4, &n, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(!WinUsb_ReadPipe(f.h, 0x88, in, 4, NULL, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(!WinUsb_WritePipe(f.h, 0x06, NULL, 4, &n, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);

    /* A large transfer through the 64 KiB loopback FIFO, read back in pieces. */
    enum { BIG = 40000 };
    UCHAR *bo = malloc(BIG), *bi = malloc(BIG);
    for (unsigned i = 0; i < BIG; i++)
        bo[i] = (UCHAR)(i ^ (i >> 8));
    CHECK(WinUsb_WritePipe(f.h, 0x06, bo, BIG, &n, NULL));
    CHECK_INT(n, BIG);
    ULONG got = 0;
    while (got < BIG) {
        ULONG want = BIG - got < 4096 ? BIG - got : 4096;
        CHECK(WinUsb_ReadPipe(f.h, 0x88, bi + got, want, &n, NULL));
        if (n == 0)
            break;
        got += n;
    }
    CHECK_INT(got, BIG);
    CHECK(memcmp(bi, bo, BIG) == 0);
    free(bo);
    free(bi);
    fx_close(&f);
}

static void test_interrupt_pipe(void)
{
    struct fx f;
    CHECK(fx_open_fx2(&f));
    CHECK_OK(owu_fx2_set_switches(f.vd, 0xA5), NULL);
    UCHAR sw = 0;
    ULONG n = 0;
    CHECK(WinUsb_ReadPipe(f.h, 0x81, &sw, 1, &n, NULL));
    CHECK_INT(n, 1);
    CHECK_INT(sw, 0xA5);
    /* The request is rounded up to a packet: a 4-byte buffer gets the 1-byte report. */
    UCHAR four[4] = {0};
    CHECK_OK(owu_fx2_set_switches(f.vd, 0x3C), NULL);
    CHECK(WinUsb_ReadPipe(f.h, 0x81, four, 4, &n, NULL));
    CHECK_INT(n, 1);
    CHECK_INT(four[0], 0x3C);
    fx_close(&f);
}

static void test_stall_and_reset(void)
{
    struct fx f;
    CHECK(fx_open_fx2(&f));
    UCHAR buf[64] = {1, 2, 3};
    ULONG n;
    /* Halt the bulk IN endpoint on the device. */
    CHECK(WinUsb_ControlTransfer(f.h, fx_setup(0x02, USB_REQUEST_SET_FEATURE, 0, 0x88, 0), NULL, 0, &n, NULL));
    CHECK(!WinUsb_ReadPipe(f.h, 0x88, buf, sizeof buf, &n, NULL));
    CHECK_INT(last(), ERROR_GEN_FAILURE);
    /* Without AUTO_CLEAR_STALL the pipe stays halted for every later request... */
    CHECK(WinUsb_WritePipe(f.h, 0x06, buf, 3, &n, NULL));
    CHECK(!WinUsb_ReadPipe(f.h, 0x88, buf, sizeof buf, &n, NULL));
    CHECK_INT(last(), ERROR_GEN_FAILURE);
    /* ...until WinUsb_ResetPipe. */
    CHECK(WinUsb_ResetPipe(f.h, 0x88));
    CHECK(WinUsb_ReadPipe(f.h, 0x88, buf, sizeof buf, &n, NULL));
    CHECK_INT(n, 3);
    CHECK(!WinUsb_ResetPipe(f.h, 0x00));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(!WinUsb_ResetPipe(f.h, 0x02));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);

    /* With AUTO_CLEAR_STALL the failed read resets the pipe and the next one works. */
    UCHAR on = 1;
    CHECK(WinUsb_SetPipePolicy(f.h, 0x88, AUTO_CLEAR_STALL, 1, &on));
    CHECK(WinUsb_ControlTransfer(f.h, fx_setup(0x02, USB_REQUEST_SET_FEATURE, 0, 0x88, 0), NULL, 0, &n, NULL));
    CHECK(!WinUsb_ReadPipe(f.h, 0x88, buf, sizeof buf, &n, NULL));
    CHECK_INT(last(), ERROR_GEN_FAILURE);
    CHECK(WinUsb_WritePipe(f.h, 0x06, buf, 5, &n, NULL));
    CHECK(WinUsb_ReadPipe(f.h, 0x88, buf, sizeof buf, &n, NULL));
    CHECK_INT(n, 5);
    /* CLEAR_FEATURE(ENDPOINT_HALT) through a control transfer also resets the pipe. */
    on = 0;
    CHECK(WinUsb_SetPipePolicy(f.h, 0x88, AUTO_CLEAR_STALL, 1, &on));
    CHECK(WinUsb_ControlTransfer(f.h, fx_setup(0x02, USB_REQUEST_SET_FEATURE, 0, 0x88, 0), NULL, 0, &n, NULL));
    CHECK(!WinUsb_ReadPipe(f.h, 0x88, buf, sizeof buf, &n, NULL));
    CHECK(WinUsb_ControlTransfer(f.h, fx_setup(0x02, USB_REQUEST_CLEAR_FEATURE, 0, 0x88, 0), NULL, 0, &n, NULL));
    CHECK(WinUsb_WritePipe(f.h, 0x06, buf, 2, &n, NULL));
    CHECK(WinUsb_ReadPipe(f.h, 0x88, buf, sizeof buf, &n, NULL));
    CHECK_INT(n, 2);
    fx_close(&f);
}

static void test_timeout(void)
{
    struct fx f;
    CHECK(fx_open_fx2(&f));
    ULONG ms = 50;
    CHECK(WinUsb_SetPipePolicy(f.h, 0x88, PIPE_TRANSFER_TIMEOUT, sizeof ms, &ms));
    UCHAR buf[16];
    ULONG n = 7;
    CHECK(!WinUsb_ReadPipe(f.h, 0x88, buf, sizeof buf, &n, NULL));
    CHECK_INT(last(), ERROR_SEM_TIMEOUT);
    CHECK_INT(n, 0);
    /* A timeout does not halt the pipe. */
    CHECK(WinUsb_WritePipe(f.h, 0x06, buf, 4, &n, NULL));
    CHECK(WinUsb_ReadPipe(f.h, 0x88, buf, sizeof buf, &n, NULL));
    CHECK_INT(n, 4);
    fx_close(&f);
}

struct reader {
    WINUSB_INTERFACE_HANDLE h;
    UCHAR pipe;
    BOOL ok;
    DWORD err;
    volatile int done;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    UCHAR buf[64];
    ULONG n;
    r->ok = WinUsb_ReadPipe(r->h, r->pipe, buf, sizeof buf, &n, NULL);
    r->err = GetLastError();
    __atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static bool reader_done(void *arg) { return __atomic_load_n(&((struct reader *)arg)->done, __ATOMIC_ACQUIRE); }

static void test_abort(void)
{
    struct fx f;
    CHECK(fx_open_fx2(&f));
    /* Overlapped reads queued on the pipe all complete with ERROR_OPERATION_ABORTED. */
    OVERLAPPED ov[3];
    UCHAR buf[3][64];
    for (int i = 0; i < 3; i++) {
        memset(&ov[i], 0, sizeof ov[i]);
        ov[i].hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
        CHECK(!WinUsb_ReadPipe(f.h, 0x88, buf[i], sizeof buf[i], NULL, &ov[i]));
        CHECK_INT(last(), ERROR_IO_PENDING);
    }
    CHECK(WinUsb_AbortPipe(f.h, 0x88));
    for (int i = 0; i < 3; i++) {
        DWORD n = 5;
        CHECK(!WinUsb_GetOverlappedResult(f.h, &ov[i], &n, FALSE));
        CHECK_INT(last(), ERROR_OPERATION_ABORTED);
        CHECK_INT(n, 0);
        CHECK_INT(WaitForSingleObject(ov[i].hEvent, 0), WAIT_OBJECT_0);
        CloseHandle(ov[i].hEvent);
    }
    /* A synchronous read blocked in another thread returns aborted too. */
    struct reader r = {.h = f.h, .pipe = 0x88};
    pthread_t t;
    pthread_create(&t, NULL, reader_main, &r);
    for (int i = 0; i < 5000 && !reader_done(&r); i++) {
        WinUsb_AbortPipe(f.h, 0x88);
        fx_wait_for(reader_done, &r, 1);
    }
    pthread_join(t, NULL);
    CHECK(!r.ok);
    CHECK_INT(r.err, ERROR_OPERATION_ABORTED);
    CHECK(!WinUsb_AbortPipe(f.h, 0x07));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    /* The pipe works after an abort. */
    ULONG n;
    CHECK(WinUsb_WritePipe(f.h, 0x06, buf[0], 8, &n, NULL));
    CHECK(WinUsb_ReadPipe(f.h, 0x88, buf[1], 64, &n, NULL));
    CHECK_INT(n, 8);
    fx_close(&f);
}

static void test_pipe_policies(void)
{
    struct fx f;
    CHECK(fx_open_fx2(&f));
    UCHAR b = 0xFF;
    ULONG len = sizeof b;
    CHECK(WinUsb_GetPipePolicy(f.h, 0x88, ALLOW_PARTIAL_READS, &len, &b));
    CHECK_INT(len, 1);
    CHECK_INT(b, 1);
    static const ULONG off_by_default[] = {SHORT_PACKET_TERMINATE, AUTO_CLEAR_STALL, IGNORE_SHORT_PACKETS,
                                           AUTO_FLUSH, RAW_IO, RESET_PIPE_ON_RESUME};
    for (unsigned i = 0; i < sizeof off_by_default / sizeof off_by_default[0]; i++) {
        len = 1;
        b = 0xFF;
        CHECK(WinUsb_GetPipePolicy(f.h, 0x88, off_by_default[i], &len, &b));
        CHECK_INT(b, 0);
    }
    ULONG v = 77;
    len = sizeof v;
    CHECK(WinUsb_GetPipePolicy(f.h, 0x88, PIPE_TRANSFER_TIMEOUT, &len, &v));
    CHECK_INT(len, 4);
    CHECK_INT(v, 0);
    /* The default control pipe's timeout is 5 s. */
    CHECK(WinUsb_GetPipePolicy(f.h, 0x00, PIPE_TRANSFER_TIMEOUT, &len, &v));
    CHECK_INT(v, 5000);
    CHECK(WinUsb_GetPipePolicy(f.h, 0x88, MAXIMUM_TRANSFER_SIZE, &len, &v));
    CHECK_INT(v, 2 * 1024 * 1024);

    /* Sizes: booleans 1..4 bytes, ULONG exactly 4. */
    BOOL four = TRUE;
    CHECK(WinUsb_SetPipePolicy(f.h, 0x88, AUTO_FLUSH, sizeof four, &four));
    len = 1;
    CHECK(WinUsb_GetPipePolicy(f.h, 0x88, AUTO_FLUSH, &len, &b));
    CHECK_INT(b, 1);
    ULONG64 eight = 1;
    CHECK(!WinUsb_SetPipePolicy(f.h, 0x88, AUTO_FLUSH, sizeof eight, &eight));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(!WinUsb_SetPipePolicy(f.h, 0x88, AUTO_FLUSH, 0, &b));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(!WinUsb_SetPipePolicy(f.h, 0x88, PIPE_TRANSFER_TIMEOUT, 1, &b));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(!WinUsb_SetPipePolicy(f.h, 0x88, MAXIMUM_TRANSFER_SIZE, sizeof v, &v));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(!WinUsb_SetPipePolicy(f.h, 0x88, 0x42, 1, &b));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(!WinUsb_SetPipePolicy(f.h, 0x05, AUTO_FLUSH, 1, &b));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(!WinUsb_SetPipePolicy(f.h, 0x88, AUTO_FLUSH, 1, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    /* Get with too small a buffer. */
    len = 2;
    CHECK(!WinUsb_GetPipePolicy(f.h, 0x88, PIPE_TRANSFER_TIMEOUT, &len, &v));
    CHECK_INT(last(), ERROR_INSUFFICIENT_BUFFER);
    CHECK_INT(len, 4);
    CHECK(!WinUsb_GetPipePolicy(f.h, 0x88, AUTO_FLUSH, NULL, &b));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    /* Policies that do not apply to a pipe are accepted. */
    b = 1;
    CHECK(WinUsb_SetPipePolicy(f.h, 0x00, AUTO_CLEAR_STALL, 1, &b));
    CHECK(WinUsb_SetPipePolicy(f.h, 0x88, SHORT_PACKET_TERMINATE, 1, &b));

    /* WinUsb_Initialize starts from the defaults again. */
    WinUsb_Free(f.h);
    CHECK(WinUsb_Initialize(f.file, &f.h));
    len = 1;
    CHECK(WinUsb_GetPipePolicy(f.h, 0x88, AUTO_FLUSH, &len, &b));
    CHECK_INT(b, 0);
    fx_close(&f);
}

static void test_power_policy_values(void)
{
    struct fx f;
    CHECK(fx_open_fx2(&f));
    UCHAR b = 0;
    ULONG len = 1;
    CHECK(WinUsb_GetPowerPolicy(f.h, AUTO_SUSPEND, &len, &b));
    CHECK_INT(b, 1);
    ULONG v = 0;
    len = 4;
    CHECK(WinUsb_GetPowerPolicy(f.h, SUSPEND_DELAY, &len, &v));
    CHECK_INT(v, 5000);
    v = 250;
    CHECK(WinUsb_SetPowerPolicy(f.h, SUSPEND_DELAY, 4, &v));
    v = 0;
    CHECK(WinUsb_GetPowerPolicy(f.h, SUSPEND_DELAY, &len, &v));
    CHECK_INT(v, 250);
    b = 0;
    CHECK(WinUsb_SetPowerPolicy(f.h, AUTO_SUSPEND, 1, &b));
    len = 1;
    CHECK(WinUsb_GetPowerPolicy(f.h, AUTO_SUSPEND, &len, &b));
    CHECK_INT(b, 0);
    CHECK(!WinUsb_SetPowerPolicy(f.h, SUSPEND_DELAY, 2, &v));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(!WinUsb_SetPowerPolicy(f.h, 0x82, 1, &b));   /* ENABLE_WAKE is not WinUSB's */
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    len = 0;
    CHECK(!WinUsb_GetPowerPolicy(f.h, SUSPEND_DELAY, &len, &v));
    CHECK_INT(last(), ERROR_INSUFFICIENT_BUFFER);
    CHECK_INT(len, 4);
    CHECK(!WinUsb_SetPowerPolicy(NULL, AUTO_SUSPEND, 1, &b));
    CHECK_INT(last(), ERROR_INVALID_HANDLE);
    fx_close(&f);
}

static void test_flush(void)
{
    struct fx f;
    CHECK(fx_open_fx2(&f));
    CHECK(WinUsb_FlushPipe(f.h, 0x88));
    CHECK(WinUsb_FlushPipe(f.h, 0x06));   /* nothing to flush on an OUT pipe */
    CHECK(!WinUsb_FlushPipe(f.h, 0x03));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    fx_close(&f);
}

static void test_associated_interfaces(void)
{
    struct fx f;
    CHECK(fx_open_model(&f, &dual_model, DUAL_VID, DUAL_PID));
    WINUSB_INTERFACE_HANDLE a = NULL, b = NULL;
    CHECK(WinUsb_GetAssociatedInterface(f.h, 0, &a));
    CHECK(a != NULL);
    CHECK(!WinUsb_GetAssociatedInterface(f.h, 0, &b));
    CHECK_INT(last(), ERROR_ALREADY_EXISTS);
    CHECK(!WinUsb_GetAssociatedInterface(f.h, 1, &b));
    CHECK_INT(last(), ERROR_NO_MORE_ITEMS);
    CHECK(!WinUsb_GetAssociatedInterface(f.h, 255, &b));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(!WinUsb_GetAssociatedInterface(f.h, 0, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    /* Only the WinUsb_Initialize handle hands out associated interfaces. */
    CHECK(!WinUsb_GetAssociatedInterface(a, 0, &b));
    CHECK_INT(last(), ERROR_INVALID_HANDLE);

    USB_INTERFACE_DESCRIPTOR id;
    CHECK(WinUsb_QueryInterfaceSettings(a, 0, &id));
    CHECK_INT(id.bInterfaceNumber, 1);
    WINUSB_PIPE_INFORMATION pi;
    CHECK(WinUsb_QueryPipe(a, 0, 1, &pi));
    CHECK_INT(pi.PipeId, 0x82);
    /* Each handle has its interface's pipes only. */
    UCHAR buf[4] = {0};
    ULONG n;
    CHECK(!WinUsb_WritePipe(f.h, 0x02, buf, 4, &n, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(WinUsb_WritePipe(a, 0x02, buf, 4, &n, NULL));
    CHECK_INT(n, 4);

    /* Interface recipient: WinUSB puts the handle's interface number into wIndex. */
    UCHAR r = 0xEE;
    CHECK(WinUsb_ControlTransfer(a, fx_setup(0xC1, 0x10, 0, 0x3700, 1), &r, 1, &n, NULL));
    struct owu_setup s = dual_last(f.vd);
    CHECK_INT(s.wIndex, 0x3701);
    CHECK_INT(r, 0x01);
    CHECK(WinUsb_ControlTransfer(f.h, fx_setup(0x41, 0x11, 0, 0x0005, 0), NULL, 0, &n, NULL));
    s = dual_last(f.vd);
    CHECK_INT(s.wIndex, 0x0000);
    /* Device recipient: wIndex as given. */
    CHECK(WinUsb_ControlTransfer(a, fx_setup(0x40, 0x12, 0, 0x0005, 0), NULL, 0, &n, NULL));
    s = dual_last(f.vd);
    CHECK_INT(s.wIndex, 0x0005);
    /* Endpoint recipient: only the interface's own endpoints. */
    CHECK(!WinUsb_ControlTransfer(f.h, fx_setup(0x42, 0x13, 0, 0x82, 0), NULL, 0, &n, NULL));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    CHECK(WinUsb_ControlTransfer(a, fx_setup(0x42, 0x13, 0, 0x82, 0), NULL, 0, &n, NULL));

    /* Free it and it can be handed out again. */
    CHECK(WinUsb_Free(a));
    CHECK(WinUsb_GetAssociatedInterface(f.h, 0, &b));
    CHECK(WinUsb_Free(b));
    fx_close(&f);
}

static void test_bad_device(void)
{
    /* No default interface descriptor: WinUsb_Initialize answers ERROR_BAD_DEVICE. */
    struct fx f;
    CHECK(!fx_open_model(&f, &empty_model, DUAL_VID, 0x7704));
    CHECK(f.file != INVALID_HANDLE_VALUE);
    CHECK_INT(last(), ERROR_BAD_DEVICE);
    CHECK(f.h == NULL);
    fx_close(&f);
}

static bool pending(void *arg) { return !HasOverlappedIoCompleted((LPOVERLAPPED)arg); }

static void test_unplug_with_io_pending(void)
{
    struct fx f;
    CHECK(fx_open_fx2(&f));
    size_t base_handles = owu_w32_handle_count();
    OVERLAPPED ov[4];
    UCHAR buf[4][64];
    UCHAR pipes[4] = {0x88, 0x88, 0x81, 0x88};
    for (int i = 0; i < 4; i++) {
        memset(&ov[i], 0, sizeof ov[i]);
        ov[i].hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
        CHECK(!WinUsb_ReadPipe(f.h, pipes[i], buf[i], sizeof buf[i], NULL, &ov[i]));
        CHECK_INT(last(), ERROR_IO_PENDING);
        CHECK(pending(&ov[i]));
    }
    owu_err err = {0};
    CHECK_OK(owu_stack_unplug(f.stack, f.udev->hcd->bus_number, f.udev->port, &err), &err);
    for (int i = 0; i < 4; i++) {
        DWORD n;
        CHECK(!WinUsb_GetOverlappedResult(f.h, &ov[i], &n, TRUE));
        CHECK_INT(last(), ERROR_DEVICE_NOT_CONNECTED);
        CloseHandle(ov[i].hEvent);
    }
    /* Later calls fail at once. */
    ULONG n;
    CHECK(!WinUsb_ReadPipe(f.h, 0x88, buf[0], 64, &n, NULL));
    CHECK_INT(last(), ERROR_DEVICE_NOT_CONNECTED);
    CHECK(!WinUsb_WritePipe(f.h, 0x06, buf[0], 64, &n, NULL));
    CHECK_INT(last(), ERROR_DEVICE_NOT_CONNECTED);
    CHECK(!WinUsb_ControlTransfer(f.h, fx_setup(0xC0, 0xD7, 0, 0, 1), buf[0], 1, &n, NULL));
    CHECK_INT(last(), ERROR_DEVICE_NOT_CONNECTED);
    /* Cached information still answers. */
    UCHAR speed;
    ULONG len = 1;
    CHECK(WinUsb_QueryDeviceInformation(f.h, DEVICE_SPEED, &len, &speed));
    WINUSB_INTERFACE_HANDLE h2;
    CHECK(!WinUsb_Initialize(f.file, &h2));   /* the file's device is gone */
    CHECK(WinUsb_Free(f.h));
    f.h = NULL;
    CHECK_INT(owu_w32_handle_count(), base_handles - 1);   /* the interface handle went */
    fx_close(&f);
}

static void test_synchronous_unplug(void)
{
    /* A synchronous read blocked when the device goes returns with the removal error. */
    struct fx f;
    CHECK(fx_open_fx2(&f));
    struct reader r = {.h = f.h, .pipe = 0x88};
    pthread_t t;
    pthread_create(&t, NULL, reader_main, &r);
    fx_wait_for(reader_done, &r, 20);   /* give it a moment to block (not a verdict) */
    owu_err err = {0};
    CHECK_OK(owu_stack_unplug(f.stack, f.udev->hcd->bus_number, f.udev->port, &err), &err);
    pthread_join(t, NULL);
    CHECK(!r.ok);
    CHECK_INT(r.err, ERROR_DEVICE_NOT_CONNECTED);
    fx_close(&f);
}

int main(void)
{
    fx_env();
    RUN(test_bad_handles);
    RUN(test_initialize_rules);
    RUN(test_device_information);
    RUN(test_descriptors);
    RUN(test_settings_and_pipes);
    RUN(test_control_transfers);
    RUN(test_bulk_loopback);
    RUN(test_interrupt_pipe);
    RUN(test_stall_and_reset);
    RUN(test_timeout);
    RUN(test_abort);
    RUN(test_pipe_policies);
    RUN(test_power_policy_values);
    RUN(test_flush);
    RUN(test_associated_interfaces);
    RUN(test_bad_device);
    RUN(test_unplug_with_io_pending);
    RUN(test_synchronous_unplug);
    owu_process_stack_reset();
    CHECK_INT(owu_w32_handle_count(), 0);
    return check_report();
}
