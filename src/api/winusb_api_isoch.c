/* WinUSB isochronous functions and frame numbers (shared/reference/winusb-api.md §3.16) and
 * the time-sync functions (§3.17). Frames come from the backend's frame counter; QPC values
 * are QueryPerformanceCounter's (10 MHz ticks of CLOCK_MONOTONIC), 10000 ticks per 1 ms frame. */
#include "api/winusb_api_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QPC_PER_FRAME 10000
#define QPC_PER_MICROFRAME 1250

struct w32_isoch {
    struct owu_w32_obj obj;
    struct owu_w32_winusb *owner;     /* reference */
    struct owu_winusb_isoch_buf *buf;
};

static void isoch_destroy(struct owu_w32_obj *obj)
{
    struct w32_isoch *b = (struct w32_isoch *)obj;
    owu_winusb_isoch_unregister(b->buf);   /* waits for the transfers using it */
    owu_w32_obj_unref(&b->owner->obj);
    free(b);
}

static LONGLONG qpc_now(void)
{
    LARGE_INTEGER q;
    QueryPerformanceCounter(&q);
    return q.QuadPart;
}

BOOL WINAPI WinUsb_RegisterIsochBuffer(WINUSB_INTERFACE_HANDLE InterfaceHandle, UCHAR PipeID, PUCHAR Buffer,
                                       ULONG BufferLength, PWINUSB_ISOCH_BUFFER_HANDLE IsochBufferHandle)
{
    struct owu_w32_winusb *h = owu_w32_winusb_get(InterfaceHandle);
    if (!h)
        return FALSE;
    if (!Buffer || !BufferLength || !IsochBufferHandle) {
        owu_w32_obj_unref(&h->obj);
        return owu_w32_fail(ERROR_INVALID_PARAMETER);
    }
    struct owu_winusb_isoch_buf *buf;
    int rc = owu_winusb_isoch_register(h->intf, PipeID, Buffer, BufferLength, &buf);
    if (rc != OWU_OK) {
        owu_w32_obj_unref(&h->obj);
        return owu_w32_fail(rc == OWU_E_NOMEM ? ERROR_NOT_ENOUGH_MEMORY : ERROR_INVALID_PARAMETER);
    }
    struct w32_isoch *b = calloc(1, sizeof *b);
    HANDLE v = NULL;
    if (b) {
        b->obj.destroy = isoch_destroy;
        b->owner = h;   /* keeps the reference taken by the lookup */
        b->buf = buf;
        v = owu_w32_handle_add(&b->obj, OWU_W32_ISOCH);
    }
    if (!v) {
        if (b)
            isoch_destroy(&b->obj);
        else {
            owu_winusb_isoch_unregister(buf);
            owu_w32_obj_unref(&h->obj);
        }
        return owu_w32_fail(ERROR_NOT_ENOUGH_MEMORY);
    }
    *IsochBufferHandle = v;
    SetLastError(ERROR_SUCCESS);
    return TRUE;
}

BOOL WINAPI WinUsb_UnregisterIsochBuffer(WINUSB_ISOCH_BUFFER_HANDLE IsochBufferHandle)
{
    if (!owu_w32_handle_close(IsochBufferHandle, OWU_W32_ISOCH, NULL))
        return owu_w32_fail(ERROR_INVALID_HANDLE);
    SetLastError(ERROR_SUCCESS);
    return TRUE;
}

struct iso_submit {
    struct owu_winusb_isoch_buf *buf;
    struct owu_winusb_isoch_args args;
    uint32_t next_frame;
};

static int submit_iso(struct owu_winusb_req *req, void *arg)
{
    struct iso_submit *s = arg;
    return owu_winusb_isoch_submit(s->buf, req, &s->args, &s->next_frame);
}

static BOOL iso_io(WINUSB_ISOCH_BUFFER_HANDLE BufferHandle, bool in, ULONG Offset, ULONG Length, PULONG FrameNumber,
                   bool asap, BOOL ContinueStream, ULONG NumberOfPackets, PUSBD_ISO_PACKET_DESCRIPTOR descs,
                   LPOVERLAPPED Overlapped)
{
    struct w32_isoch *b = (struct w32_isoch *)owu_w32_handle_get(BufferHandle, OWU_W32_ISOCH);
    if (!b)
        return FALSE;
    BOOL ok;
    /* The OVERLAPPED of an isochronous call must start zeroed (Offset fields unused). */
    if ((!asap && !FrameNumber) || (in && (!descs || NumberOfPackets == 0)) ||
        (Overlapped && (Overlapped->Offset || Overlapped->OffsetHigh))) {
        ok = owu_w32_fail(ERROR_INVALID_PARAMETER);
        goto out;
    }
    struct iso_submit s = {.buf = b->buf};
    s.args.offset = Offset;
    s.args.length = Length;
    s.args.asap = asap;
    s.args.continue_stream = ContinueStream != FALSE;
    s.args.frame = FrameNumber && !asap ? *FrameNumber : 0;
    s.args.num_packets = in ? NumberOfPackets : 0;
    unsigned npk = in ? NumberOfPackets : owu_winusb_isoch_packets(b->buf, Length);
    if (npk == 0 || npk > OWU_WINUSB_ISO_MAX_PACKETS) {
        ok = owu_w32_fail(ERROR_INVALID_PARAMETER);
        goto out;
    }
    struct owu_winusb_req *req = owu_winusb_req_new(npk);
    if (!req) {
        ok = owu_w32_fail(ERROR_NOT_ENOUGH_MEMORY);
        goto out;
    }
    ULONG ignored;
    ok = owu_w32_run_request(b->owner, req, submit_iso, &s, Overlapped, &ignored, in ? descs : NULL);
    /* The frame after the transfer, for the next call (set once the transfer was queued). */
    if (FrameNumber && !asap && (ok || GetLastError() == ERROR_IO_PENDING))
        *FrameNumber = s.next_frame;
out:
    owu_w32_obj_unref(&b->obj);
    return ok;
}

BOOL WINAPI WinUsb_WriteIsochPipe(WINUSB_ISOCH_BUFFER_HANDLE BufferHandle, ULONG Offset, ULONG Length,
                                  PULONG FrameNumber, LPOVERLAPPED Overlapped)
{
    return iso_io(BufferHandle, false, Offset, Length, FrameNumber, false, FALSE, 0, NULL, Overlapped);
}

BOOL WINAPI WinUsb_ReadIsochPipe(WINUSB_ISOCH_BUFFER_HANDLE BufferHandle, ULONG Offset, ULONG Length,
                                 PULONG FrameNumber, ULONG NumberOfPackets,
                                 PUSBD_ISO_PACKET_DESCRIPTOR IsoPacketDescriptors, LPOVERLAPPED Overlapped)
{
    return iso_io(BufferHandle, true, Offset, Length, FrameNumber, false, FALSE, NumberOfPackets,
                  IsoPacketDescriptors, Overlapped);
}

BOOL WINAPI WinUsb_WriteIsochPipeAsap(WINUSB_ISOCH_BUFFER_HANDLE BufferHandle, ULONG Offset, ULONG Length,
                                      BOOL ContinueStream, LPOVERLAPPED Overlapped)
{
    return iso_io(BufferHandle, false, Offset, Length, NULL, true, ContinueStream, 0, NULL, Overlapped);
}

BOOL WINAPI WinUsb_ReadIsochPipeAsap(WINUSB_ISOCH_BUFFER_HANDLE BufferHandle, ULONG Offset, ULONG Length,
                                     BOOL ContinueStream, ULONG NumberOfPackets,
                                     PUSBD_ISO_PACKET_DESCRIPTOR IsoPacketDescriptors, LPOVERLAPPED Overlapped)
{
    return iso_io(BufferHandle, true, Offset, Length, NULL, true, ContinueStream, NumberOfPackets,
                  IsoPacketDescriptors, Overlapped);
}

BOOL WINAPI WinUsb_GetCurrentFrameNumber(WINUSB_INTERFACE_HANDLE InterfaceHandle, PULONG CurrentFrameNumber,
                                         LARGE_INTEGER *TimeStamp)
{
    struct owu_w32_winusb *h = owu_w32_winusb_get(InterfaceHandle);
    if (!h)
        return FALSE;
    BOOL ok;
    uint32_t f;
    if (!CurrentFrameNumber || !TimeStamp) {
        ok = owu_w32_fail(ERROR_INVALID_PARAMETER);
    } else {
        int rc = owu_winusb_frame_number(owu_winusb_intf_dev(h->intf), &f);
        if (rc != OWU_OK) {
            ok = owu_w32_fail(owu_w32_error_of(rc));
        } else {
            TimeStamp->QuadPart = qpc_now();
            *CurrentFrameNumber = f;
            SetLastError(ERROR_SUCCESS);
            ok = TRUE;
        }
    }
    owu_w32_obj_unref(&h->obj);
    return ok;
}

BOOL WINAPI WinUsb_GetAdjustedFrameNumber(PULONG CurrentFrameNumber, LARGE_INTEGER TimeStamp)
{
    if (!CurrentFrameNumber)
        return owu_w32_fail(ERROR_INVALID_PARAMETER);
    LONGLONG elapsed = qpc_now() - TimeStamp.QuadPart;
    if (elapsed > 0)
        *CurrentFrameNumber += (ULONG)(elapsed / QPC_PER_FRAME);
    SetLastError(ERROR_SUCCESS);
    return TRUE;
}

/* ---- time sync ------------------------------------------------------------------------------- */

struct w32_timesync {
    struct owu_w32_obj obj;
    struct owu_winusb_dev *dev;       /* reference */
    uint32_t frame0;                  /* a frame whose start we saw ... */
    LONGLONG qpc0;                    /* ... at this QPC */
};

/* The frame/QPC correlation never changes once tracking started: one generation. */
#define TIMESYNC_GENERATION 1u

static void timesync_destroy(struct owu_w32_obj *obj)
{
    struct w32_timesync *t = (struct w32_timesync *)obj;
    owu_winusb_dev_unref(t->dev);
    free(t);
}

/* Finds a frame boundary by watching the counter change (at most about 1 ms). */
static int find_boundary(struct owu_winusb_dev *dev, uint32_t *frame, LONGLONG *qpc)
{
    uint32_t start;
    int rc = owu_winusb_frame_number(dev, &start);
    if (rc != OWU_OK)
        return rc;
    for (unsigned i = 0; i < 400; i++) {
        uint32_t f;
        rc = owu_winusb_frame_number(dev, &f);
        if (rc != OWU_OK)
            return rc;
        if (f != start) {
            *qpc = qpc_now();
            *frame = f;
            return OWU_OK;
        }
        struct timespec ts = {0, 10000};
        nanosleep(&ts, NULL);
    }
    /* A counter that does not move: take now as the start of the current frame. */
    *frame = start;
    *qpc = qpc_now();
    return OWU_OK;
}

BOOL WINAPI WinUsb_StartTrackingForTimeSync(WINUSB_INTERFACE_HANDLE InterfaceHandle,
                                            PUSB_START_TRACKING_FOR_TIME_SYNC_INFORMATION StartTrackingInfo)
{
    struct owu_w32_winusb *h = owu_w32_winusb_get(InterfaceHandle);
    if (!h)
        return FALSE;
    if (!StartTrackingInfo) {
        owu_w32_obj_unref(&h->obj);
        return owu_w32_fail(ERROR_INVALID_HANDLE);
    }
    struct owu_winusb_dev *dev = owu_winusb_intf_dev(h->intf);
    uint32_t f;
    LONGLONG q;
    /* The boundary is found at once either way, so IsStartupDelayTolerable changes nothing. */
    int rc = find_boundary(dev, &f, &q);
    struct w32_timesync *t = rc == OWU_OK ? calloc(1, sizeof *t) : NULL;
    BOOL ok;
    if (rc != OWU_OK) {
        ok = owu_w32_fail(owu_w32_error_of(rc));
    } else if (!t) {
        ok = owu_w32_fail(ERROR_NOT_ENOUGH_MEMORY);
    } else {
        t->obj.destroy = timesync_destroy;
        t->dev = dev;
        owu_winusb_dev_ref(dev);
        t->frame0 = f;
        t->qpc0 = q;
        HANDLE v = owu_w32_handle_add(&t->obj, OWU_W32_TIMESYNC);
        if (!v) {
            timesync_destroy(&t->obj);
            ok = owu_w32_fail(ERROR_NOT_ENOUGH_MEMORY);
        } else {
            StartTrackingInfo->TimeTrackingHandle = v;
            SetLastError(ERROR_SUCCESS);
            ok = TRUE;
        }
    }
    owu_w32_obj_unref(&h->obj);
    return ok;
}

BOOL WINAPI WinUsb_GetCurrentFrameNumberAndQpc(WINUSB_INTERFACE_HANDLE InterfaceHandle,
                                               PUSB_FRAME_NUMBER_AND_QPC_FOR_TIME_SYNC_INFORMATION FrameQpcInfo)
{
    struct owu_w32_winusb *h = owu_w32_winusb_get(InterfaceHandle);
    if (!h)
        return FALSE;
    if (!FrameQpcInfo) {
        owu_w32_obj_unref(&h->obj);
        return owu_w32_fail(ERROR_INVALID_HANDLE);
    }
    struct owu_winusb_dev *dev = owu_winusb_intf_dev(h->intf);
    struct w32_timesync *t =
        (struct w32_timesync *)owu_w32_handle_get(FrameQpcInfo->TimeTrackingHandle, OWU_W32_TIMESYNC);
    BOOL ok;
    uint32_t f;
    int rc;
    if (!t || t->dev != dev) {
        ok = owu_w32_fail(ERROR_INVALID_HANDLE);
    } else if ((rc = owu_winusb_frame_number(dev, &f)) != OWU_OK) {
        ok = owu_w32_fail(owu_w32_error_of(rc));
    } else {
        LONGLONG now = qpc_now();
        LONGLONG frame_start = t->qpc0 + (LONGLONG)(int32_t)(f - t->frame0) * QPC_PER_FRAME;
        LONGLONG into = now - frame_start;
        ULONG micro = into <= 0 ? 0 : into >= 8 * QPC_PER_MICROFRAME ? 7 : (ULONG)(into / QPC_PER_MICROFRAME);
        ULONG in_micro = FrameQpcInfo->InputMicroFrameNumber & 7u;
        FrameQpcInfo->QueryPerformanceCounterAtInputFrameOrMicroFrame.QuadPart =
            t->qpc0 + (LONGLONG)(int32_t)(FrameQpcInfo->InputFrameNumber - t->frame0) * QPC_PER_FRAME +
            (LONGLONG)in_micro * QPC_PER_MICROFRAME;
        FrameQpcInfo->QueryPerformanceCounterFrequency.QuadPart = 10000000;
        FrameQpcInfo->PredictedAccuracyInMicroSeconds = 125;
        FrameQpcInfo->CurrentGenerationID = TIMESYNC_GENERATION;
        FrameQpcInfo->CurrentQueryPerformanceCounter.QuadPart = now;
        FrameQpcInfo->CurrentHardwareFrameNumber = f & 0x7FFu;   /* MFINDEX / 8: 11 bits */
        FrameQpcInfo->CurrentHardwareMicroFrameNumber = micro;
        FrameQpcInfo->CurrentUSBFrameNumber = f;
        SetLastError(ERROR_SUCCESS);
        ok = TRUE;
    }
    if (t)
        owu_w32_obj_unref(&t->obj);
    owu_w32_obj_unref(&h->obj);
    return ok;
}

BOOL WINAPI WinUsb_StopTrackingForTimeSync(WINUSB_INTERFACE_HANDLE InterfaceHandle,
                                           PUSB_STOP_TRACKING_FOR_TIME_SYNC_INFORMATION StopTrackingInfo)
{
    struct owu_w32_winusb *h = owu_w32_winusb_get(InterfaceHandle);
    if (!h)
        return FALSE;
    BOOL ok;
    if (!StopTrackingInfo || !owu_w32_handle_close(StopTrackingInfo->TimeTrackingHandle, OWU_W32_TIMESYNC, NULL)) {
        ok = owu_w32_fail(ERROR_INVALID_HANDLE);
    } else {
        SetLastError(ERROR_SUCCESS);
        ok = TRUE;
    }
    owu_w32_obj_unref(&h->obj);
    return ok;
}
