/* Isochronous transfers (shared/reference/winusb-api.md §3.16): registered buffers,
 * packetisation per service interval, start frames (explicit or ASAP, with ContinueStream)
 * and per-packet results. Transfers are URBs with struct owu_iso_packet descriptors; the
 * backend fills each packet's actual length and status.
 *
 * Packets: one per service interval of MaximumBytesPerInterval bytes at most. The interval
 * in 125 us microframes is 8 * 2^(bInterval-1) at full/low speed and 2^(bInterval-1) at high
 * speed and above; a transfer must cover whole 1 ms frames (packets a multiple of the packets
 * per frame). */
#include "drivers/winusb/winusb_priv.h"

#include <stdlib.h>

struct owu_winusb_isoch_buf {
    struct owu_winusb_intf *intf;
    uint8_t pipe_id;
    uint8_t *buffer;
    size_t length;
    unsigned inflight;
};

int owu_winusb_frame_number(struct owu_winusb_dev *dev, uint32_t *frame)
{
    const struct owu_hcd_ops *ops = dev->udev->hcd ? dev->udev->hcd->ops : NULL;
    if (!ops || !ops->get_frame_number)
        return OWU_E_NOTSUP;
    if (owu_usb_device_gone(dev->udev))
        return OWU_E_NODEV;
    return ops->get_frame_number(dev->udev, frame);
}

int owu_winusb_isoch_register(struct owu_winusb_intf *intf, uint8_t pipe_id, uint8_t *buffer,
                              size_t length, struct owu_winusb_isoch_buf **out)
{
    *out = NULL;
    if (!buffer || length == 0)
        return OWU_E_INVAL;
    struct owu_winusb_dev *dev = intf->dev;
    pthread_mutex_lock(&dev->lock);
    struct owu_winusb_pipe *p = wu_pipe_find(intf, pipe_id);
    if (!p || p->type != OWU_XFER_ISOCHRONOUS) {
        pthread_mutex_unlock(&dev->lock);
        return OWU_E_INVAL;
    }
    struct owu_winusb_isoch_buf *b = calloc(1, sizeof *b);
    if (!b) {
        pthread_mutex_unlock(&dev->lock);
        return OWU_E_NOMEM;
    }
    b->intf = intf;
    b->pipe_id = pipe_id;
    b->buffer = buffer;
    b->length = length;
    dev->refcount++;
    pthread_mutex_unlock(&dev->lock);
    *out = b;
    return OWU_OK;
}

void owu_winusb_isoch_unregister(struct owu_winusb_isoch_buf *buf)
{
    if (!buf)
        return;
    struct owu_winusb_dev *dev = buf->intf->dev;
    pthread_mutex_lock(&dev->lock);
    while (buf->inflight)
        pthread_cond_wait(&dev->cond, &dev->lock);
    pthread_mutex_unlock(&dev->lock);
    free(buf);
    owu_winusb_dev_unref(dev);
}

struct owu_winusb_intf *owu_winusb_isoch_intf(const struct owu_winusb_isoch_buf *buf)
{
    return buf->intf;
}

void wu_isoch_done_locked(struct owu_winusb_isoch_buf *buf)
{
    buf->inflight--;
}

struct iso_layout {
    unsigned per_frame;      /* packets per 1 ms frame (1 when the interval is a frame or more) */
    unsigned frames_each;    /* frames one packet spans (1 when several fit in a frame) */
};

static struct iso_layout layout_of(const struct owu_winusb_pipe *p, enum owu_speed speed)
{
    unsigned b = p->interval < 1 ? 1 : p->interval > 16 ? 16 : p->interval;
    uint32_t uframes = 1u << (b - 1);
    if (speed < OWU_SPEED_HIGH)
        uframes *= 8u;
    struct iso_layout l;
    l.per_frame = uframes >= 8 ? 1 : 8 / uframes;
    l.frames_each = uframes >= 8 ? uframes / 8 : 1;
    return l;
}

unsigned owu_winusb_isoch_packets(const struct owu_winusb_isoch_buf *buf, uint32_t length)
{
    struct owu_winusb_dev *dev = buf->intf->dev;
    pthread_mutex_lock(&dev->lock);
    struct owu_winusb_pipe *p = wu_pipe_find(buf->intf, buf->pipe_id);
    unsigned n = 0;
    if (p && p->type == OWU_XFER_ISOCHRONOUS && p->bytes_per_interval)
        n = (unsigned)((length + (uint64_t)p->bytes_per_interval - 1) / p->bytes_per_interval);
    pthread_mutex_unlock(&dev->lock);
    return n;
}

int owu_winusb_isoch_submit(struct owu_winusb_isoch_buf *buf, struct owu_winusb_req *req,
                            const struct owu_winusb_isoch_args *a, uint32_t *next_frame)
{
    struct owu_winusb_intf *intf = buf->intf;
    struct owu_winusb_dev *dev = intf->dev;
    if (!req || !req->complete)
        return OWU_E_INVAL;
    if (a->length == 0 || a->offset > buf->length || a->length > buf->length - a->offset)
        return OWU_E_INVAL;

    pthread_mutex_lock(&dev->lock);
    int rc = OWU_OK;
    struct owu_winusb_pipe *p = wu_pipe_find(intf, buf->pipe_id);
    if (owu_usb_device_gone(dev->udev)) {
        rc = OWU_E_NODEV;
        goto out;
    }
    if (!p || p->type != OWU_XFER_ISOCHRONOUS || p->bytes_per_interval == 0 || intf->changing_alt) {
        rc = intf->changing_alt ? OWU_E_BUSY : OWU_E_INVAL;
        goto out;
    }
    bool in = wu_pipe_is_in(p);
    uint32_t bpi = p->bytes_per_interval;
    unsigned n;
    uint32_t each;
    if (in) {
        n = a->num_packets;
        if (n == 0 || a->length % n != 0 || a->length / n > bpi) {
            rc = OWU_E_INVAL;
            goto out;
        }
        each = a->length / n;
    } else {
        n = (unsigned)((a->length + (uint64_t)bpi - 1) / bpi);
        each = bpi;
    }
    struct iso_layout l = layout_of(p, dev->udev->speed);
    if (n > OWU_WINUSB_ISO_MAX_PACKETS || n > req->iso_cap || n % l.per_frame != 0) {
        rc = OWU_E_INVAL;
        goto out;
    }
    uint32_t frames = l.per_frame > 1 ? n / l.per_frame : n * l.frames_each;

    uint32_t cur = 0;
    bool have_frame = owu_winusb_frame_number(dev, &cur) == OWU_OK;
    uint32_t start = 0;
    unsigned flags = 0;
    bool follows = p->iso_stream && (int32_t)(p->iso_next_frame - cur) > 0;
    if (!a->asap) {
        if (!have_frame) {
            rc = OWU_E_NOTSUP;
            goto out;
        }
        int32_t delta = (int32_t)(a->frame - cur);
        if (delta >= (int32_t)OWU_WINUSB_ISO_FRAME_RANGE || delta <= -(int32_t)OWU_WINUSB_ISO_FRAME_RANGE) {
            rc = OWU_E_INVAL;
            goto out;
        }
        start = a->frame;
    } else if (have_frame) {
        if (a->continue_stream) {
            if (!follows) {
                rc = OWU_E_IO;   /* it would leave a gap after the previous transfer */
                goto out;
            }
            start = p->iso_next_frame;
        } else {
            start = cur + OWU_WINUSB_ISO_ASAP_LATENCY;
            if (follows && (int32_t)(p->iso_next_frame - start) > 0)
                start = p->iso_next_frame;
        }
    } else {
        /* No frame counter: the backend picks the frame. */
        flags = OWU_URB_ISO_ASAP;
        if (a->continue_stream && !p->iso_stream) {
            rc = OWU_E_IO;
            goto out;
        }
    }

    req->kind = OWU_WINUSB_REQ_ISOCH;
    req->pipe_id = buf->pipe_id;
    req->isoch = buf;
    req->buffer = buf->buffer + a->offset;
    req->length = a->length;
    req->num_iso = n;
    for (unsigned i = 0; i < n; i++) {
        uint32_t off = i * each;
        req->iso[i].offset = off;
        req->iso[i].length = in ? each : (a->length - off < bpi ? a->length - off : bpi);
        req->iso[i].actual = 0;
        req->iso[i].status = OWU_E_PENDING;
    }
    struct owu_urb *u = &req->urb;
    *u = (struct owu_urb){0};
    u->type = OWU_XFER_ISOCHRONOUS;
    u->endpoint = p->address;
    u->buffer = req->buffer;
    u->length = req->length;
    u->iso = req->iso;
    u->num_iso_packets = n;
    u->start_frame = start;
    u->flags = flags;
    req->raw = true;   /* isochronous transfers go to the bus at once, back to back */

    /* Counted before queueing: the request may be delivered before enqueue returns. */
    buf->inflight++;
    bool had_stream = p->iso_stream;
    uint32_t had_next = p->iso_next_frame;
    p->iso_stream = true;
    p->iso_next_frame = start + frames;
    rc = wu_enqueue_locked(p, req);
    if (rc != OWU_OK) {
        buf->inflight--;
        p->iso_stream = had_stream;
        p->iso_next_frame = had_next;
    } else if (next_frame) {
        *next_frame = start + frames;
    }
out:
    pthread_mutex_unlock(&dev->lock);
    return rc;
}
