/* WinUsb_ReadPipe, WinUsb_WritePipe, WinUsb_ControlTransfer and WinUsb_GetOverlappedResult:
 * requests to the driver's pipe engine, synchronous or overlapped. */
#include "api/winusb_api_internal.h"

#include <stdlib.h>

/* A synchronous request's context lives on the waiting caller's stack: io_complete touches
 * it last inside c->lock (setting done and signalling), and the caller only returns after
 * it has reacquired that lock and seen done. An overlapped request's context is allocated
 * and freed by io_complete. */
struct io_ctx {
    struct owu_w32_file *file;        /* overlapped: reference */
    LPOVERLAPPED ov;
    HANDLE event;
    bool sync;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
    PUSBD_ISO_PACKET_DESCRIPTOR descs;
};

/* USBD_STATUS of a packet's owu status. */
static USBD_STATUS owu_w32_usbd_status(int status)
{
    switch (status) {
    case OWU_OK: return USBD_STATUS_SUCCESS;
    case OWU_E_STALL: return USBD_STATUS_STALL_PID;
    case OWU_E_OVERFLOW: return USBD_STATUS_DATA_OVERRUN;
    case OWU_E_TIMEOUT: return USBD_STATUS_ISO_NOT_ACCESSED_LATE;   /* a packet's frame went by */
    case OWU_E_CANCELLED: return USBD_STATUS_CANCELED;
    case OWU_E_NODEV: return USBD_STATUS_DEVICE_GONE;
    case OWU_E_NOTSUP: return USBD_STATUS_NOT_SUPPORTED;
    case OWU_E_INVAL: return USBD_STATUS_BAD_START_FRAME;
    case OWU_E_PENDING: return USBD_STATUS_PENDING;
    default: return USBD_STATUS_ISO_TD_ERROR;
    }
}

static void io_complete(struct owu_winusb_req *req)
{
    struct io_ctx *c = req->context;
    if (c->descs) {
        for (unsigned i = 0; i < req->num_iso; i++) {
            c->descs[i].Offset = req->iso[i].offset;
            c->descs[i].Length = req->iso[i].actual;
            c->descs[i].Status = owu_w32_usbd_status(req->iso[i].status);
        }
    }
    if (c->sync) {
        pthread_mutex_lock(&c->lock);
        c->done = true;
        pthread_cond_signal(&c->cond);
        pthread_mutex_unlock(&c->lock);
        return;
    }
    owu_w32_overlapped_finish(c->file, c->ov, c->event, req->status, req->transferred);
    owu_w32_obj_unref(&c->file->obj);
    free(c);
    owu_winusb_req_free(req);
}

BOOL owu_w32_run_request(struct owu_w32_winusb *h, struct owu_winusb_req *req, owu_w32_submit_fn submit,
                         void *arg, LPOVERLAPPED ov, PULONG transferred,
                         PUSBD_ISO_PACKET_DESCRIPTOR descs)
{
    if (ov) {
        struct io_ctx *c = calloc(1, sizeof *c);
        if (!c) {
            owu_winusb_req_free(req);
            return owu_w32_fail(ERROR_NOT_ENOUGH_MEMORY);
        }
        c->descs = descs;
        req->complete = io_complete;
        req->context = c;
        c->file = h->file;
        owu_w32_obj_ref(&c->file->obj);
        c->ov = ov;
        c->event = owu_w32_overlapped_start(h->file, ov);
        int rc = submit(req, arg);
        if (rc != OWU_OK) {
            owu_w32_overlapped_refuse(c->file, ov, rc);
            owu_w32_obj_unref(&c->file->obj);
            free(c);
            owu_winusb_req_free(req);
            return owu_w32_fail(owu_w32_error_of(rc));
        }
        /* req and c belong to the completion from here on (it may have run already). */
        return owu_w32_fail(ERROR_IO_PENDING);
    }

    struct io_ctx sc = { .descs = descs, .sync = true };
    struct io_ctx *c = &sc;
    req->complete = io_complete;
    req->context = c;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    int rc = submit(req, arg);
    if (rc == OWU_OK) {
        pthread_mutex_lock(&c->lock);
        while (!c->done)
            pthread_cond_wait(&c->cond, &c->lock);
        pthread_mutex_unlock(&c->lock);
        rc = req->status;
        if (transferred)
            *transferred = (ULONG)req->transferred;
    } else if (transferred) {
        *transferred = 0;
    }
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    owu_winusb_req_free(req);
    if (rc != OWU_OK)
        return owu_w32_fail(owu_w32_error_of(rc));
    SetLastError(ERROR_SUCCESS);
    return TRUE;
}

static int submit_pipe(struct owu_winusb_req *req, void *arg)
{
    return owu_winusb_submit(arg, req);
}

static BOOL pipe_io(WINUSB_INTERFACE_HANDLE InterfaceHandle, enum owu_winusb_req_kind kind, UCHAR PipeID,
                    PUCHAR Buffer, ULONG BufferLength, PULONG LengthTransferred, LPOVERLAPPED Overlapped)
{
    struct owu_w32_winusb *h = owu_w32_winusb_get(InterfaceHandle);
    if (!h)
        return FALSE;
    BOOL ok = FALSE;
    if ((!Overlapped && !LengthTransferred) || (BufferLength && !Buffer)) {
        ok = owu_w32_fail(ERROR_INVALID_PARAMETER);
    } else {
        struct owu_winusb_req *req = owu_winusb_req_new(0);
        if (!req) {
            ok = owu_w32_fail(ERROR_NOT_ENOUGH_MEMORY);
        } else {
            req->kind = kind;
            req->pipe_id = PipeID;
            req->buffer = Buffer;
            req->length = BufferLength;
            ok = owu_w32_run_request(h, req, submit_pipe, h->intf, Overlapped, LengthTransferred, NULL);
        }
    }
    owu_w32_obj_unref(&h->obj);
    return ok;
}

BOOL WINAPI WinUsb_ReadPipe(WINUSB_INTERFACE_HANDLE InterfaceHandle, UCHAR PipeID, PUCHAR Buffer,
                            ULONG BufferLength, PULONG LengthTransferred, LPOVERLAPPED Overlapped)
{
    return pipe_io(InterfaceHandle, OWU_WINUSB_REQ_READ, PipeID, Buffer, BufferLength, LengthTransferred,
                   Overlapped);
}

BOOL WINAPI WinUsb_WritePipe(WINUSB_INTERFACE_HANDLE InterfaceHandle, UCHAR PipeID, PUCHAR Buffer,
                             ULONG BufferLength, PULONG LengthTransferred, LPOVERLAPPED Overlapped)
{
    return pipe_io(InterfaceHandle, OWU_WINUSB_REQ_WRITE, PipeID, Buffer, BufferLength, LengthTransferred,
                   Overlapped);
}

/* A request the driver carries out itself, synchronously (standard requests that change
 * WinUSB's own state); reported through the OVERLAPPED when there is one. */
static BOOL finish_inline(struct owu_w32_winusb *h, int status, PULONG transferred, LPOVERLAPPED ov)
{
    if (transferred)
        *transferred = 0;
    if (ov) {
        HANDLE ev = owu_w32_overlapped_start(h->file, ov);
        owu_w32_overlapped_finish(h->file, ov, ev, status, 0);
        return owu_w32_fail(ERROR_IO_PENDING);
    }
    if (status != OWU_OK)
        return owu_w32_fail(owu_w32_error_of(status));
    SetLastError(ERROR_SUCCESS);
    return TRUE;
}

static BOOL control(struct owu_w32_winusb *h, WINUSB_SETUP_PACKET sp, PUCHAR Buffer, ULONG BufferLength,
                    PULONG LengthTransferred, LPOVERLAPPED Overlapped)
{
    struct owu_winusb_intf *intf = h->intf;
    if (sp.Length > OWU_WINUSB_MAX_CONTROL_LENGTH || sp.Length > BufferLength || (sp.Length && !Buffer))
        return owu_w32_fail(ERROR_INVALID_PARAMETER);
    unsigned recipient = sp.RequestType & 0x1Fu;
    unsigned type = (sp.RequestType >> 5) & 3u;
    bool standard = type == 0;
    if (recipient == BMREQUEST_TO_INTERFACE && type != 3) {
        /* WinUSB addresses the handle's own interface. */
        sp.Index = (USHORT)((sp.Index & 0xFF00u) | owu_winusb_intf_number(intf));
    } else if (recipient == BMREQUEST_TO_ENDPOINT) {
        uint8_t ep = (uint8_t)(sp.Index & 0xFFu);
        if ((ep & 0x0F) != 0 && !owu_winusb_intf_owns_endpoint(intf, ep))
            return owu_w32_fail(ERROR_INVALID_PARAMETER);
    }
    if (standard && !(sp.RequestType & 0x80)) {
        size_t cfg_len;
        const uint8_t *cfg = owu_winusb_dev_config_desc(owu_winusb_intf_dev(intf), &cfg_len);
        switch (sp.Request) {
        case USB_REQUEST_SET_ADDRESS:
            return owu_w32_fail(ERROR_INVALID_PARAMETER);
        case USB_REQUEST_SET_CONFIGURATION:
            /* WinUSB keeps the first configuration; selecting it again changes nothing. */
            if (recipient != BMREQUEST_TO_DEVICE || cfg_len < 9 || sp.Value != cfg[5])
                return owu_w32_fail(ERROR_INVALID_PARAMETER);
            return finish_inline(h, OWU_OK, LengthTransferred, Overlapped);
        case USB_REQUEST_SET_INTERFACE:
            if (recipient == BMREQUEST_TO_INTERFACE) {
                int rc = owu_winusb_intf_set_alt(intf, (uint8_t)sp.Value);
                if (rc == OWU_E_NOTFOUND)
                    return owu_w32_fail(ERROR_INVALID_PARAMETER);
                return finish_inline(h, rc, LengthTransferred, Overlapped);
            }
            break;
        case USB_REQUEST_CLEAR_FEATURE:
            if (recipient == BMREQUEST_TO_ENDPOINT && sp.Value == USB_FEATURE_ENDPOINT_STALL &&
                (sp.Index & 0x0F) != 0) {
                int rc = owu_winusb_reset_pipe(intf, (uint8_t)sp.Index);
                if (rc != OWU_E_NOTFOUND)   /* not in the current setting: sent as it is */
                    return finish_inline(h, rc, LengthTransferred, Overlapped);
            }
            break;
        default:
            break;
        }
    }
    struct owu_winusb_req *req = owu_winusb_req_new(0);
    if (!req)
        return owu_w32_fail(ERROR_NOT_ENOUGH_MEMORY);
    req->kind = OWU_WINUSB_REQ_CONTROL;
    req->setup = (struct owu_setup){sp.RequestType, sp.Request, sp.Value, sp.Index, sp.Length};
    req->buffer = Buffer;
    req->length = sp.Length;
    return owu_w32_run_request(h, req, submit_pipe, intf, Overlapped, LengthTransferred, NULL);
}

BOOL WINAPI WinUsb_ControlTransfer(WINUSB_INTERFACE_HANDLE InterfaceHandle, WINUSB_SETUP_PACKET SetupPacket,
                                   PUCHAR Buffer, ULONG BufferLength, PULONG LengthTransferred,
                                   LPOVERLAPPED Overlapped)
{
    struct owu_w32_winusb *h = owu_w32_winusb_get(InterfaceHandle);
    if (!h)
        return FALSE;
    BOOL ok = control(h, SetupPacket, Buffer, BufferLength, LengthTransferred, Overlapped);
    owu_w32_obj_unref(&h->obj);
    return ok;
}

BOOL WINAPI WinUsb_GetOverlappedResult(WINUSB_INTERFACE_HANDLE InterfaceHandle, LPOVERLAPPED lpOverlapped,
                                       LPDWORD lpNumberOfBytesTransferred, BOOL bWait)
{
    struct owu_w32_winusb *h = owu_w32_winusb_get(InterfaceHandle);
    if (!h)
        return FALSE;
    BOOL ok = owu_w32_overlapped_result(h->file, lpOverlapped, lpNumberOfBytesTransferred, bWait);
    owu_w32_obj_unref(&h->obj);
    return ok;
}
