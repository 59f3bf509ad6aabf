/* How usbfs transfers are cut and how the kernel's answers become statuses. The split rule
 * follows what the kernel can take (USBDEVFS_GET_CAPABILITIES, docs/usbfs.md):
 *   - scatter-gather controllers take one URB of any size (the kernel chunks it itself);
 *   - else, with BULK_CONTINUATION, 16 KiB URBs chained so a short packet stops the rest;
 *   - else, without a packet size limit, one URB;
 *   - else (very old kernels) 16 KiB URBs.
 * No URB exceeds OWU_USBFS_MAX_URB (or the OPENWINUSB_USBFS_MAX_URB override). */
#include "hcd/usbfs_internal.h"

#include <errno.h>
#include <limits.h>
#include <linux/usbdevice_fs.h>

int owu_usbfs_plan_bulk(size_t length, uint32_t caps, size_t max_urb, struct owu_usbfs_plan *out)
{
    out->chunk = 0;
    out->count = 1;
    out->continuation = false;
    if (length == 0)
        return OWU_OK;   /* one zero-length URB */
    size_t chunk;
    if (caps & USBDEVFS_CAP_BULK_SCATTER_GATHER)
        chunk = length;
    else if (caps & USBDEVFS_CAP_BULK_CONTINUATION)
        chunk = OWU_USBFS_CHUNK;
    else if (caps & USBDEVFS_CAP_NO_PACKET_SIZE_LIM)
        chunk = length;
    else
        chunk = OWU_USBFS_CHUNK;
    if (chunk > OWU_USBFS_MAX_URB)
        chunk = OWU_USBFS_MAX_URB;
    if (max_urb && chunk > max_urb)
        chunk = max_urb;
    size_t count = length / chunk + (length % chunk != 0);
    if (count > UINT_MAX)
        return OWU_E_INVAL;
    out->chunk = chunk < length ? chunk : length;
    out->count = (unsigned)count;
    out->continuation = count > 1 && (caps & USBDEVFS_CAP_BULK_CONTINUATION) != 0;
    return OWU_OK;
}

int owu_usbfs_errno_status(int errnum)
{
    switch (errnum) {
    case 0: return OWU_OK;
    case ENODEV: case ESHUTDOWN: case ENXIO: return OWU_E_NODEV;
    case EACCES: case EPERM: return OWU_E_ACCESS;
    case EBUSY: return OWU_E_BUSY;
    case ENOMEM: return OWU_E_NOMEM;
    case EPIPE: return OWU_E_STALL;
    case ETIMEDOUT: return OWU_E_TIMEOUT;
    case EINVAL: return OWU_E_INVAL;
    case ENOENT: case ENODATA: return OWU_E_NOTFOUND;
    case ENOTTY: case ENOSYS: case EOPNOTSUPP: return OWU_E_NOTSUP;
    case EOVERFLOW: return OWU_E_OVERFLOW;
    default: return OWU_E_IO;
    }
}

int owu_usbfs_urb_status(int kernel_status)
{
    switch (-kernel_status) {
    case 0: return OWU_OK;
    case ENOENT: case ECONNRESET: return OWU_E_CANCELLED;
    case EPIPE: return OWU_E_STALL;
    case EOVERFLOW: return OWU_E_OVERFLOW;
    case ENODEV: case ESHUTDOWN: return OWU_E_NODEV;
    case ETIMEDOUT: return OWU_E_TIMEOUT;
    default: return OWU_E_IO;   /* EREMOTEIO (short under SHORT_NOT_OK), EPROTO, EILSEQ, ... */
    }
}
