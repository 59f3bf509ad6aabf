/* The bounded loopback FIFO behind the models' bulk pairs. */
#include "devices/loopback.h"

#include <string.h>

#include "core/urb.h"

void owu_loopback_init(struct owu_loopback *lb, uint8_t out_ep, uint8_t in_ep)
{
    lb->out_ep = out_ep;
    lb->in_ep = in_ep;
    owu_loopback_flush(lb);
}

void owu_loopback_flush(struct owu_loopback *lb)
{
    lb->head = 0;
    lb->count = 0;
}

static size_t fifo_put(struct owu_loopback *lb, const uint8_t *src, size_t n)
{
    size_t room = OWU_LOOPBACK_CAP - lb->count;
    if (n > room)
        n = room;
    if (n == 0)
        return 0;
    size_t tail = (lb->head + lb->count) % OWU_LOOPBACK_CAP;
    size_t first = OWU_LOOPBACK_CAP - tail < n ? OWU_LOOPBACK_CAP - tail : n;
    memcpy(lb->buf + tail, src, first);
    memcpy(lb->buf, src + first, n - first);
    lb->count += n;
    return n;
}

static size_t fifo_get(struct owu_loopback *lb, uint8_t *dst, size_t n)
{
    if (n > lb->count)
        n = lb->count;
    if (n == 0)
        return 0;
    size_t first = OWU_LOOPBACK_CAP - lb->head < n ? OWU_LOOPBACK_CAP - lb->head : n;
    memcpy(dst, lb->buf + lb->head, first);
    memcpy(dst + first, lb->buf, n - first);
    lb->head = (lb->head + n) % OWU_LOOPBACK_CAP;
    lb->count -= n;
    return n;
}

/* Moves bytes from parked OUT URBs into the FIFO and from the FIFO into parked IN URBs until
 * neither side can move. A parked OUT URB keeps its progress in urb->actual, which is also
 * what the bus reports if it is cancelled half-way. */
static void pump(struct owu_loopback *lb, struct owu_vdev *vd)
{
    bool moved = true;
    while (moved) {
        moved = false;
        struct owu_urb *u;
        while (lb->count > 0 && (u = owu_vdev_take(vd, lb->in_ep)) != NULL) {
            size_t n = fifo_get(lb, u->buffer, u->length);
            owu_vdev_complete(vd, u, OWU_OK, n);
            moved = true;
        }
        while ((u = owu_vdev_peek(vd, lb->out_ep)) != NULL) {
            size_t n = u->actual < u->length
                           ? fifo_put(lb, u->buffer + u->actual, u->length - u->actual)
                           : 0;
            u->actual += n;
            if (n)
                moved = true;
            if (u->actual < u->length)
                break;   /* FIFO full: the rest waits */
            owu_vdev_take(vd, lb->out_ep);
            owu_vdev_complete(vd, u, OWU_OK, u->actual);
        }
    }
}

bool owu_loopback_transfer(struct owu_loopback *lb, struct owu_vdev *vd, struct owu_urb *urb)
{
    if (urb->endpoint != lb->out_ep && urb->endpoint != lb->in_ep)
        return false;
    if (urb->endpoint == lb->in_ep && urb->length == 0) {
        owu_vdev_complete(vd, urb, OWU_OK, 0);
        return true;
    }
    urb->actual = 0;
    owu_vdev_queue(vd, urb);
    pump(lb, vd);
    return true;
}
