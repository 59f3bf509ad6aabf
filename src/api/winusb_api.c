/* The WinUSB API's handles, descriptors, settings and policies (shared/reference/winusb-api.md
 * §3.1-3.9, 3.13, 3.14). Error codes of every case: docs/winusb.md. */
#include "api/winusb_api_internal.h"

#include <stdlib.h>
#include <string.h>

struct owu_w32_winusb *owu_w32_winusb_get(WINUSB_INTERFACE_HANDLE h)
{
    return (struct owu_w32_winusb *)owu_w32_handle_get(h, OWU_W32_WINUSB);
}

static void winusb_destroy(struct owu_w32_obj *obj)
{
    struct owu_w32_winusb *h = (struct owu_w32_winusb *)obj;
    owu_winusb_intf_release(h->intf);
    owu_w32_obj_unref(&h->file->obj);
    free(h);
}

/* Wraps interface `index` of the file's WinUSB device in a new handle. */
static BOOL new_handle(struct owu_w32_file *file, struct owu_winusb_dev *wdev, unsigned index,
                       bool is_default, PWINUSB_INTERFACE_HANDLE out)
{
    struct owu_winusb_intf *intf;
    int rc = owu_winusb_intf_acquire(wdev, index, &intf);
    if (rc == OWU_E_NOTFOUND)
        return owu_w32_fail(ERROR_NO_MORE_ITEMS);
    if (rc == OWU_E_BUSY)
        return owu_w32_fail(ERROR_ALREADY_EXISTS);
    struct owu_w32_winusb *h = calloc(1, sizeof *h);
    if (!h) {
        owu_winusb_intf_release(intf);
        return owu_w32_fail(ERROR_NOT_ENOUGH_MEMORY);
    }
    h->obj.destroy = winusb_destroy;
    h->file = file;
    owu_w32_obj_ref(&file->obj);
    h->intf = intf;
    h->is_default = is_default;
    HANDLE v = owu_w32_handle_add(&h->obj, OWU_W32_WINUSB);
    if (!v) {
        winusb_destroy(&h->obj);
        return owu_w32_fail(ERROR_NOT_ENOUGH_MEMORY);
    }
    *out = v;
    SetLastError(ERROR_SUCCESS);
    return TRUE;
}

BOOL WINAPI WinUsb_Initialize(HANDLE DeviceHandle, PWINUSB_INTERFACE_HANDLE InterfaceHandle)
{
    struct owu_w32_file *f = (struct owu_w32_file *)owu_w32_handle_get(DeviceHandle, OWU_W32_FILE);
    if (!f)
        return FALSE;
    BOOL ok = FALSE;
    if (!(f->flags & FILE_FLAG_OVERLAPPED)) {
        ok = owu_w32_fail(ERROR_INVALID_HANDLE);   /* WinUSB does all its I/O overlapped */
    } else if (!f->winusb) {
        ok = owu_w32_fail(ERROR_INVALID_FUNCTION); /* another driver's device */
    } else if (!InterfaceHandle) {
        ok = owu_w32_fail(ERROR_INVALID_PARAMETER);
    } else if (owu_usb_device_gone(f->udev)) {
        ok = owu_w32_fail(ERROR_BAD_COMMAND);
    } else {
        pthread_mutex_lock(&f->lock);
        DWORD err = ERROR_SUCCESS;
        if (!f->wdev) {
            owu_err e = {0};
            int rc = owu_winusb_dev_open(f->udev, f->info, f->first_interface, f->num_interfaces, &f->power,
                                         &f->wdev, &e);
            if (rc != OWU_OK)
                err = rc == OWU_E_NOMEM ? ERROR_NOT_ENOUGH_MEMORY : rc == OWU_E_NODEV ? ERROR_BAD_COMMAND
                                                                                      : ERROR_BAD_DEVICE;
        }
        struct owu_winusb_dev *wdev = f->wdev;
        pthread_mutex_unlock(&f->lock);
        ok = err == ERROR_SUCCESS ? new_handle(f, wdev, 0, true, InterfaceHandle) : owu_w32_fail(err);
    }
    owu_w32_obj_unref(&f->obj);
    return ok;
}

BOOL WINAPI WinUsb_Free(WINUSB_INTERFACE_HANDLE InterfaceHandle)
{
    struct owu_w32_obj *obj = owu_w32_handle_get(InterfaceHandle, OWU_W32_WINUSB);
    if (obj) {
        struct owu_w32_winusb *h = (struct owu_w32_winusb *)obj;
        /* No new lookups from now on; what is pending completes (aborted) so that every
         * thread still inside a call on this handle returns and lets it go. */
        owu_w32_handle_close(InterfaceHandle, OWU_W32_WINUSB, NULL);
        owu_winusb_intf_abort(h->intf);
        owu_w32_obj_unref(obj);
    }
    SetLastError(ERROR_SUCCESS);
    return TRUE;
}

BOOL WINAPI WinUsb_GetAssociatedInterface(WINUSB_INTERFACE_HANDLE InterfaceHandle, UCHAR AssociatedInterfaceIndex,
                                          PWINUSB_INTERFACE_HANDLE AssociatedInterfaceHandle)
{
    struct owu_w32_winusb *h = owu_w32_winusb_get(InterfaceHandle);
    if (!h)
        return FALSE;
    BOOL ok;
    if (!h->is_default)
        ok = owu_w32_fail(ERROR_INVALID_HANDLE);
    else if (!AssociatedInterfaceHandle || AssociatedInterfaceIndex == 0xFF)
        ok = owu_w32_fail(ERROR_INVALID_PARAMETER);
    else if (owu_usb_device_gone(h->file->udev))
        ok = owu_w32_fail(ERROR_BAD_COMMAND);
    else
        ok = new_handle(h->file, owu_winusb_intf_dev(h->intf), AssociatedInterfaceIndex + 1u, false,
                        AssociatedInterfaceHandle);
    owu_w32_obj_unref(&h->obj);
    return ok;
}

/* ---- descriptors ----------------------------------------------------------------------------- */

/* Copies a descriptor the way WinUsb_GetDescriptor reports it: a buffer smaller than the
 * descriptor itself (its bLength) gets nothing; a larger one up to the whole of it (the
 * configuration's wTotalLength bytes), so reading the 9-byte header of a configuration
 * first works as on Windows. */
static BOOL copy_desc(const uint8_t *d, size_t len, PUCHAR buf, ULONG buflen, PULONG done)
{
    if (len == 0)
        return owu_w32_fail(ERROR_GEN_FAILURE);
    size_t own = d[0] && d[0] < len ? d[0] : len;
    if (buflen < own) {
        *done = 0;
        return owu_w32_fail(ERROR_INSUFFICIENT_BUFFER);
    }
    size_t n = len < buflen ? len : buflen;
    memcpy(buf, d, n);
    *done = (ULONG)n;
    SetLastError(ERROR_SUCCESS);
    return TRUE;
}

static BOOL get_descriptor(struct owu_w32_winusb *h, UCHAR type, UCHAR index, USHORT lang, PUCHAR buf,
                           ULONG buflen, PULONG done)
{
    struct owu_winusb_dev *dev = owu_winusb_intf_dev(h->intf);
    size_t cfg_len;
    const uint8_t *cfg = owu_winusb_dev_config_desc(dev, &cfg_len);
    switch (type) {
    case USB_DEVICE_DESCRIPTOR_TYPE:
        return copy_desc(owu_winusb_dev_device_desc(dev), 18, buf, buflen, done);
    case USB_CONFIGURATION_DESCRIPTOR_TYPE:
        if (index == 0)
            return copy_desc(cfg, cfg_len, buf, buflen, done);
        break;
    case USB_INTERFACE_DESCRIPTOR_TYPE: {
        /* The handle's interface; Index = alternate setting ordinal. */
        const struct owu_altsetting *alt = owu_winusb_intf_alt(h->intf, index);
        if (!alt)
            return owu_w32_fail(ERROR_NO_MORE_ITEMS);
        return copy_desc(alt->all.data, 9, buf, buflen, done);
    }
    case USB_ENDPOINT_DESCRIPTOR_TYPE: {
        /* Index = endpoint ordinal in the current alternate setting. */
        const struct owu_altsetting *alt = owu_winusb_intf_alt_value(h->intf, owu_winusb_intf_current_alt(h->intf));
        if (!alt || index >= alt->num_endpoints || alt->endpoints[index].offset + 7 > cfg_len)
            return owu_w32_fail(ERROR_NO_MORE_ITEMS);
        return copy_desc(cfg + alt->endpoints[index].offset, 7, buf, buflen, done);
    }
    default:
        break;
    }
    /* Everything else comes from the device (strings, BOS, other configurations). */
    uint8_t *tmp = malloc(buflen ? buflen : 1);
    if (!tmp)
        return owu_w32_fail(ERROR_NOT_ENOUGH_MEMORY);
    uint16_t wlen = buflen > 0xFFFFu ? 0xFFFFu : (uint16_t)buflen;
    struct owu_setup s = {0x80, USB_REQUEST_GET_DESCRIPTOR, USB_DESCRIPTOR_MAKE_TYPE_AND_INDEX(type, index),
                          lang, wlen};
    int n = owu_winusb_control_sync(h->intf, &s, tmp, wlen);
    BOOL ok;
    if (n < 0) {
        *done = 0;
        ok = owu_w32_fail(owu_w32_error_of(n));
    } else if (n >= 1 && tmp[0] > n && (size_t)n == wlen) {
        *done = 0;   /* cut short by the caller's buffer */
        ok = owu_w32_fail(ERROR_INSUFFICIENT_BUFFER);
    } else {
        memcpy(buf, tmp, (size_t)n);
        *done = (ULONG)n;
        SetLastError(ERROR_SUCCESS);
        ok = TRUE;
    }
    free(tmp);
    return ok;
}

BOOL WINAPI WinUsb_GetDescriptor(WINUSB_INTERFACE_HANDLE InterfaceHandle, UCHAR DescriptorType, UCHAR Index,
                                 USHORT LanguageID, PUCHAR Buffer, ULONG BufferLength, PULONG LengthTransferred)
{
    struct owu_w32_winusb *h = owu_w32_winusb_get(InterfaceHandle);
    if (!h)
        return FALSE;
    BOOL ok;
    if (!LengthTransferred || (!Buffer && BufferLength))
        ok = owu_w32_fail(ERROR_INVALID_PARAMETER);
    else
        ok = get_descriptor(h, DescriptorType, Index, LanguageID, Buffer, BufferLength, LengthTransferred);
    owu_w32_obj_unref(&h->obj);
    return ok;
}

BOOL WINAPI WinUsb_QueryInterfaceSettings(WINUSB_INTERFACE_HANDLE InterfaceHandle, UCHAR AlternateInterfaceNumber,
                                          PUSB_INTERFACE_DESCRIPTOR UsbAltInterfaceDescriptor)
{
    struct owu_w32_winusb *h = owu_w32_winusb_get(InterfaceHandle);
    if (!h)
        return FALSE;
    BOOL ok;
    const struct owu_altsetting *alt = owu_winusb_intf_alt(h->intf, AlternateInterfaceNumber);
    if (!UsbAltInterfaceDescriptor) {
        ok = owu_w32_fail(ERROR_INVALID_PARAMETER);
    } else if (!alt) {
        ok = owu_w32_fail(ERROR_NO_MORE_ITEMS);
    } else {
        memcpy(UsbAltInterfaceDescriptor, alt->all.data, sizeof *UsbAltInterfaceDescriptor);
        SetLastError(ERROR_SUCCESS);
        ok = TRUE;
    }
    owu_w32_obj_unref(&h->obj);
    return ok;
}

BOOL WINAPI WinUsb_QueryDeviceInformation(WINUSB_INTERFACE_HANDLE InterfaceHandle, ULONG InformationType,
                                          PULONG BufferLength, PVOID Buffer)
{
    struct owu_w32_winusb *h = owu_w32_winusb_get(InterfaceHandle);
    if (!h)
        return FALSE;
    BOOL ok;
    if (InformationType != DEVICE_SPEED || !BufferLength) {
        ok = owu_w32_fail(ERROR_INVALID_PARAMETER);
    } else if (!Buffer || *BufferLength < 1) {
        *BufferLength = 1;
        ok = owu_w32_fail(ERROR_INSUFFICIENT_BUFFER);
    } else {
        /* Only two answers: high speed or faster, and full speed or slower. */
        enum owu_speed sp = owu_winusb_dev_speed(owu_winusb_intf_dev(h->intf));
        *(UCHAR *)Buffer = sp >= OWU_SPEED_HIGH ? HighSpeed : LowSpeed;
        *BufferLength = 1;
        SetLastError(ERROR_SUCCESS);
        ok = TRUE;
    }
    owu_w32_obj_unref(&h->obj);
    return ok;
}

BOOL WINAPI WinUsb_SetCurrentAlternateSetting(WINUSB_INTERFACE_HANDLE InterfaceHandle, UCHAR SettingNumber)
{
    struct owu_w32_winusb *h = owu_w32_winusb_get(InterfaceHandle);
    if (!h)
        return FALSE;
    int rc = owu_winusb_intf_set_alt(h->intf, SettingNumber);
    owu_w32_obj_unref(&h->obj);
    if (rc == OWU_E_NOTFOUND)
        return owu_w32_fail(ERROR_INVALID_PARAMETER);
    if (rc != OWU_OK)
        return owu_w32_fail(owu_w32_error_of(rc));
    SetLastError(ERROR_SUCCESS);
    return TRUE;
}

BOOL WINAPI WinUsb_GetCurrentAlternateSetting(WINUSB_INTERFACE_HANDLE InterfaceHandle, PUCHAR SettingNumber)
{
    struct owu_w32_winusb *h = owu_w32_winusb_get(InterfaceHandle);
    if (!h)
        return FALSE;
    BOOL ok;
    if (!SettingNumber) {
        ok = owu_w32_fail(ERROR_INVALID_PARAMETER);
    } else {
        *SettingNumber = owu_winusb_intf_current_alt(h->intf);
        SetLastError(ERROR_SUCCESS);
        ok = TRUE;
    }
    owu_w32_obj_unref(&h->obj);
    return ok;
}

static BOOL query_pipe(WINUSB_INTERFACE_HANDLE InterfaceHandle, UCHAR alt_index, UCHAR pipe_index,
                       struct owu_winusb_pipe_info *out)
{
    struct owu_w32_winusb *h = owu_w32_winusb_get(InterfaceHandle);
    if (!h)
        return FALSE;
    const struct owu_altsetting *alt = owu_winusb_intf_alt(h->intf, alt_index);
    BOOL ok;
    if (!out || !alt)
        ok = owu_w32_fail(ERROR_INVALID_PARAMETER);
    else if (owu_winusb_pipe_info(owu_winusb_intf_dev(h->intf), alt, pipe_index, out) != OWU_OK)
        ok = owu_w32_fail(ERROR_NO_MORE_ITEMS);
    else
        ok = TRUE;
    owu_w32_obj_unref(&h->obj);
    return ok;
}

BOOL WINAPI WinUsb_QueryPipe(WINUSB_INTERFACE_HANDLE InterfaceHandle, UCHAR AlternateInterfaceNumber,
                             UCHAR PipeIndex, PWINUSB_PIPE_INFORMATION PipeInformation)
{
    struct owu_winusb_pipe_info pi;
    if (!query_pipe(InterfaceHandle, AlternateInterfaceNumber, PipeIndex, PipeInformation ? &pi : NULL))
        return FALSE;
    PipeInformation->PipeType = (USBD_PIPE_TYPE)pi.type;
    PipeInformation->PipeId = pi.address;
    PipeInformation->MaximumPacketSize = pi.max_packet;
    PipeInformation->Interval = pi.interval;
    SetLastError(ERROR_SUCCESS);
    return TRUE;
}

BOOL WINAPI WinUsb_QueryPipeEx(WINUSB_INTERFACE_HANDLE InterfaceHandle, UCHAR AlternateSettingNumber,
                               UCHAR PipeIndex, PWINUSB_PIPE_INFORMATION_EX PipeInformationEx)
{
    struct owu_winusb_pipe_info pi;
    if (!query_pipe(InterfaceHandle, AlternateSettingNumber, PipeIndex, PipeInformationEx ? &pi : NULL))
        return FALSE;
    PipeInformationEx->PipeType = (USBD_PIPE_TYPE)pi.type;
    PipeInformationEx->PipeId = pi.address;
    PipeInformationEx->MaximumPacketSize = pi.max_packet;
    PipeInformationEx->Interval = pi.interval;
    PipeInformationEx->MaximumBytesPerInterval = pi.bytes_per_interval;
    SetLastError(ERROR_SUCCESS);
    return TRUE;
}

/* ---- policies ----------------------------------------------------------------------------------- */

static BOOL policy_result(int rc)
{
    switch (rc) {
    case OWU_OK:
        SetLastError(ERROR_SUCCESS);
        return TRUE;
    case OWU_E_OVERFLOW:
        return owu_w32_fail(ERROR_INSUFFICIENT_BUFFER);
    case OWU_E_NOMEM:
        return owu_w32_fail(ERROR_NOT_ENOUGH_MEMORY);
    default:   /* no such pipe, unknown policy, wrong size */
        return owu_w32_fail(ERROR_INVALID_PARAMETER);
    }
}

BOOL WINAPI WinUsb_SetPipePolicy(WINUSB_INTERFACE_HANDLE InterfaceHandle, UCHAR PipeID, ULONG PolicyType,
                                 ULONG ValueLength, PVOID Value)
{
    struct owu_w32_winusb *h = owu_w32_winusb_get(InterfaceHandle);
    if (!h)
        return FALSE;
    int rc = owu_winusb_set_pipe_policy(h->intf, PipeID, PolicyType, Value, ValueLength);
    owu_w32_obj_unref(&h->obj);
    return policy_result(rc);
}

BOOL WINAPI WinUsb_GetPipePolicy(WINUSB_INTERFACE_HANDLE InterfaceHandle, UCHAR PipeID, ULONG PolicyType,
                                 PULONG ValueLength, PVOID Value)
{
    struct owu_w32_winusb *h = owu_w32_winusb_get(InterfaceHandle);
    if (!h)
        return FALSE;
    int rc = OWU_E_INVAL;
    if (ValueLength) {
        size_t len = *ValueLength;
        rc = owu_winusb_get_pipe_policy(h->intf, PipeID, PolicyType, Value, &len);
        if (rc == OWU_OK || rc == OWU_E_OVERFLOW)
            *ValueLength = (ULONG)len;
    }
    owu_w32_obj_unref(&h->obj);
    return policy_result(rc);
}

/* Power policy is per device: any interface handle of it is accepted. */
BOOL WINAPI WinUsb_SetPowerPolicy(WINUSB_INTERFACE_HANDLE InterfaceHandle, ULONG PolicyType, ULONG ValueLength,
                                  PVOID Value)
{
    struct owu_w32_winusb *h = owu_w32_winusb_get(InterfaceHandle);
    if (!h)
        return FALSE;
    int rc = owu_winusb_set_power_policy(owu_winusb_intf_dev(h->intf), PolicyType, Value, ValueLength);
    owu_w32_obj_unref(&h->obj);
    return policy_result(rc);
}

BOOL WINAPI WinUsb_GetPowerPolicy(WINUSB_INTERFACE_HANDLE InterfaceHandle, ULONG PolicyType, PULONG ValueLength,
                                  PVOID Value)
{
    struct owu_w32_winusb *h = owu_w32_winusb_get(InterfaceHandle);
    if (!h)
        return FALSE;
    int rc = OWU_E_INVAL;
    if (ValueLength) {
        size_t len = *ValueLength;
        rc = owu_winusb_get_power_policy(owu_winusb_intf_dev(h->intf), PolicyType, Value, &len);
        if (rc == OWU_OK || rc == OWU_E_OVERFLOW)
            *ValueLength = (ULONG)len;
    }
    owu_w32_obj_unref(&h->obj);
    return policy_result(rc);
}

/* ---- pipe control ----------------------------------------------------------------------------- */

static BOOL pipe_op(WINUSB_INTERFACE_HANDLE InterfaceHandle, UCHAR PipeID,
                    int (*op)(struct owu_winusb_intf *, uint8_t))
{
    struct owu_w32_winusb *h = owu_w32_winusb_get(InterfaceHandle);
    if (!h)
        return FALSE;
    int rc = op(h->intf, PipeID);
    owu_w32_obj_unref(&h->obj);
    if (rc == OWU_E_NOTFOUND)   /* no such pipe; OWU_E_INVAL maps to the same error below */
        return owu_w32_fail(ERROR_INVALID_PARAMETER);
    if (rc != OWU_OK)
        return owu_w32_fail(owu_w32_error_of(rc));
    SetLastError(ERROR_SUCCESS);
    return TRUE;
}

BOOL WINAPI WinUsb_ResetPipe(WINUSB_INTERFACE_HANDLE InterfaceHandle, UCHAR PipeID)
{
    return pipe_op(InterfaceHandle, PipeID, owu_winusb_reset_pipe);
}

BOOL WINAPI WinUsb_AbortPipe(WINUSB_INTERFACE_HANDLE InterfaceHandle, UCHAR PipeID)
{
    return pipe_op(InterfaceHandle, PipeID, owu_winusb_abort_pipe);
}

BOOL WINAPI WinUsb_FlushPipe(WINUSB_INTERFACE_HANDLE InterfaceHandle, UCHAR PipeID)
{
    return pipe_op(InterfaceHandle, PipeID, owu_winusb_flush_pipe);
}
