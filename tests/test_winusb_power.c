/* Selective suspend (shared/reference/winusb-api.md §6) on the FX2: Device Parameters
 * (DeviceIdleEnabled, DefaultIdleState, DefaultIdleTimeout) from the Device Parameters store
 * or the device's own properties, AUTO_SUSPEND and SUSPEND_DELAY, the idle timer suspending
 * through the backend, the next transfer resuming, pending reads not keeping the device
 * awake but pending writes doing so, and RESET_PIPE_ON_RESUME. */
#include "test_winusb_fixture.h"

#include <openwinusb/registry.h>

#include "api/winusb_api_internal.h"

static DWORD last(void) { return GetLastError(); }

static struct owu_winusb_dev *wdev_of(WINUSB_INTERFACE_HANDLE h)
{
    struct owu_w32_winusb *w = owu_w32_winusb_get(h);
    struct owu_winusb_dev *d = owu_winusb_intf_dev(w->intf);
    owu_w32_obj_unref(&w->obj);
    return d;
}

static struct owu_winusb_power_stats stats(struct fx *f)
{
    struct owu_winusb_power_stats s;
    owu_winusb_power_stats(wdev_of(f->h), &s);
    return s;
}

static void read_suspended(struct owu_vdev *vd, void *arg) { *(bool *)arg = vd->suspended; }

static bool bus_suspended(struct fx *f)
{
    bool s;
    owu_vdev_with_lock(f->vd, read_suspended, &s);
    return s;
}

static bool is_suspended(void *arg) { return stats(arg).suspended; }

/* Opens the FX2 with Device Parameters values set in the process's store first. */
static bool open_with_params(struct fx *f, uint32_t idle_enabled, int idle_state, int timeout_ms)
{
    if (!fx_stack(f, "virtual:fx2"))
        return false;
    owu_stack_lock(f->stack);
    struct owu_devnode *n = fx_find(owu_stack_tree(f->stack), 0x0547, 0x1002, OWU_NODE_DEVICE);
    char *id = n ? strdup(n->instance_id) : NULL;
    owu_stack_unlock(f->stack);
    struct owu_registry *reg = owu_stack_registry(f->stack);
    if (!id || !reg)
        return false;
    owu_registry_delete_key(reg, id, NULL);
    owu_registry_set_dword(reg, id, OWU_REGVAL_DEVICE_IDLE_ENABLED, idle_enabled, NULL);
    if (idle_state >= 0)
        owu_registry_set_dword(reg, id, OWU_REGVAL_DEFAULT_IDLE_STATE, (uint32_t)idle_state, NULL);
    if (timeout_ms >= 0)
        owu_registry_set_dword(reg, id, OWU_REGVAL_DEFAULT_IDLE_TIMEOUT, (uint32_t)timeout_ms, NULL);
    free(id);
    f->file = fx_open_file(f, 0x0547, 0x1002, OWU_NODE_DEVICE, FILE_FLAG_OVERLAPPED);
    return f->file != INVALID_HANDLE_VALUE && WinUsb_Initialize(f->file, &f->h);
}

static void test_no_suspend_without_device_idle_enabled(void)
{
    struct fx f;
    CHECK(open_with_params(&f, 0, -1, 10));
    ULONG v = 0, len = 4;
    CHECK(WinUsb_GetPowerPolicy(f.h, SUSPEND_DELAY, &len, &v));
    CHECK_INT(v, 10);
    Sleep(100);
    CHECK_INT(stats(&f).suspends, 0);
    CHECK(!bus_suspended(&f));
    fx_close(&f);
}

static void test_defaults_from_parameters(void)
{
    struct fx f;
    CHECK(open_with_params(&f, 1, 0, 1234));
    UCHAR b = 9;
    ULONG len = 1;
    CHECK(WinUsb_GetPowerPolicy(f.h, AUTO_SUSPEND, &len, &b));
    CHECK_INT(b, 0);   /* DefaultIdleState 0 */
    ULONG v = 0;
    len = 4;
    CHECK(WinUsb_GetPowerPolicy(f.h, SUSPEND_DELAY, &len, &v));
    CHECK_INT(v, 1234);
    fx_close(&f);
}

static void test_idle_suspend_and_resume(void)
{
    struct fx f;
    CHECK(open_with_params(&f, 1, -1, 20));
    CHECK(fx_wait_for(is_suspended, &f, 5000));
    CHECK(bus_suspended(&f));
    CHECK(stats(&f).suspends >= 1);
    /* The next transfer resumes the device first. */
    UCHAR out[5] = {1, 2, 3, 4, 5}, in[64];
    ULONG n;
    CHECK(WinUsb_WritePipe(f.h, 0x06, out, sizeof out, &n, NULL));
    CHECK(stats(&f).resumes >= 1);
    CHECK(WinUsb_ReadPipe(f.h, 0x88, in, sizeof in, &n, NULL));
    CHECK_INT(n, 5);
    /* Control transfers too. */
    CHECK(fx_wait_for(is_suspended, &f, 5000));
    UCHAR r;
    CHECK(WinUsb_ControlTransfer(f.h, fx_setup(0xC0, 0xD6, 0, 0, 1), &r, 1, &n, NULL));
    CHECK_INT(n, 1);
    /* A read that waits does not keep the device awake. */
    OVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    CHECK(!WinUsb_ReadPipe(f.h, 0x88, in, sizeof in, NULL, &ov));
    CHECK(fx_wait_for(is_suspended, &f, 5000));
    CHECK(!HasOverlappedIoCompleted(&ov));
    CHECK(WinUsb_WritePipe(f.h, 0x06, out, 3, &n, NULL));
    DWORD got;
    CHECK(WinUsb_GetOverlappedResult(f.h, &ov, &got, TRUE));
    CHECK_INT(got, 3);

    /* AUTO_SUSPEND off: the device is woken and stays awake. */
    CHECK(fx_wait_for(is_suspended, &f, 5000));
    UCHAR off = 0;
    CHECK(WinUsb_SetPowerPolicy(f.h, AUTO_SUSPEND, 1, &off));
    struct owu_winusb_power_stats s0;
    for (int i = 0; i < 5000 && (s0 = stats(&f)).suspended; i++)
        Sleep(1);
    CHECK(!s0.suspended);
    Sleep(60);
    CHECK_INT(stats(&f).suspends, s0.suspends);
    CHECK(!bus_suspended(&f));
    fx_close(&f);
}

static void test_pending_write_keeps_device_awake(void)
{
    struct fx f;
    CHECK(open_with_params(&f, 1, 1, 15));
    /* More than the loopback FIFO holds: the write stays pending (the device NAKs). */
    enum { BIG = 70000 };
    UCHAR *big = calloc(1, BIG);
    OVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    CHECK(!WinUsb_WritePipe(f.h, 0x06, big, BIG, NULL, &ov));
    CHECK_INT(last(), ERROR_IO_PENDING);
    unsigned before = stats(&f).suspends;
    Sleep(80);
    CHECK_INT(stats(&f).suspends, before);
    CHECK(!bus_suspended(&f));
    CHECK(WinUsb_AbortPipe(f.h, 0x06));
    DWORD got;
    CHECK(!WinUsb_GetOverlappedResult(f.h, &ov, &got, TRUE));
    CHECK_INT(last(), ERROR_OPERATION_ABORTED);
    CHECK(got > 0 && got < BIG);   /* what the device took before the abort */
    CHECK(fx_wait_for(is_suspended, &f, 5000));
    free(big);
    fx_close(&f);
}

static void test_reset_pipe_on_resume(void)
{
    for (int policy = 0; policy <= 1; policy++) {
        struct fx f;
        CHECK(open_with_params(&f, 1, 1, 15));
        UCHAR v = (UCHAR)policy;
        CHECK(WinUsb_SetPipePolicy(f.h, 0x88, RESET_PIPE_ON_RESUME, 1, &v));
        ULONG n;
        /* The device loses its endpoint state while suspended (here: the endpoint is left
         * halted). */
        CHECK(WinUsb_ControlTransfer(f.h, fx_setup(0x02, USB_REQUEST_SET_FEATURE, 0, 0x88, 0), NULL, 0, &n, NULL));
        UCHAR out[4] = {4, 3, 2, 1}, in[64];
        CHECK(WinUsb_WritePipe(f.h, 0x06, out, sizeof out, &n, NULL));
        CHECK(fx_wait_for(is_suspended, &f, 5000));
        BOOL ok = WinUsb_ReadPipe(f.h, 0x88, in, sizeof in, &n, NULL);
        if (policy) {
            CHECK(ok);
            CHECK_INT(n, 4);
        } else {
            CHECK(!ok);
            CHECK_INT(last(), ERROR_GEN_FAILURE);
        }
        fx_close(&f);
    }
}

static void test_parameters_from_device_descriptors(void)
{
    /* The msos1 model declares DeviceIdleEnabled = 1 in its MS OS extended properties; the
     * PnP manager puts it into Device Parameters, where WinUSB finds it. */
    struct fx f;
    CHECK(fx_stack(&f, "virtual:msos1"));
    f.file = fx_open_file(&f, 0x1209, 0x0004, OWU_NODE_DEVICE, FILE_FLAG_OVERLAPPED);
    CHECK(f.file != INVALID_HANDLE_VALUE);
    CHECK(WinUsb_Initialize(f.file, &f.h));
    ULONG v = 10;
    CHECK(WinUsb_SetPowerPolicy(f.h, SUSPEND_DELAY, 4, &v));
    CHECK(fx_wait_for(is_suspended, &f, 5000));
    CHECK(bus_suspended(&f));
    /* The last handle going resumes the device. */
    CHECK(WinUsb_Free(f.h));
    f.h = NULL;
    CHECK(CloseHandle(f.file));
    f.file = INVALID_HANDLE_VALUE;
    CHECK(!bus_suspended(&f));
    fx_close(&f);
}

int main(void)
{
    fx_env();
    RUN(test_no_suspend_without_device_idle_enabled);
    RUN(test_defaults_from_parameters);
    RUN(test_idle_suspend_and_resume);
    RUN(test_pending_write_keeps_device_awake);
    RUN(test_reset_pipe_on_resume);
    RUN(test_parameters_from_device_descriptors);
    owu_process_stack_reset();
    CHECK_INT(owu_w32_handle_count(), 0);
    return check_report();
}
