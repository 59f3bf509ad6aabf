/* Writes: the caller's bytes go out in bulk OUT transfers of write_urb_size, up to
 * write_urbs of them in flight, in order. A write whose total length is a multiple of
 * wMaxPacketSize is ended with a zero-length transfer, so the device sees where it ends
 * (a short packet ends every other write). Sent as a separate URB rather than a flag, so
 * every backend does it the same way. */
#include "drivers/usbser/usbser_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void tx_complete(struct owu_urb *urb)
{
    struct owu_usbser_port *port = urb->context;
    pthread_mutex_lock(&port->lock);
    port->tx_inflight--;
    port->cnt.tx_bytes += urb->actual;
    if (urb->status != OWU_OK && port->tx_error == OWU_OK)
        port->tx_error = urb->status;
    if (urb->status == OWU_E_NODEV)
        usbser_mark_gone_locked(port);
    pthread_cond_broadcast(&port->cond);
    pthread_mutex_unlock(&port->lock);
}

int usbser_tx_init(struct owu_usbser_port *port)
{
    unsigned n = port->opt.write_urbs;
    port->tx = calloc(n, sizeof *port->tx);
    port->tx_buf = calloc(n, sizeof *port->tx_buf);
    if (!port->tx || !port->tx_buf)
        return OWU_E_NOMEM;
    for (unsigned i = 0; i < n; i++) {
        port->tx_buf[i] = malloc(port->opt.write_urb_size);
        if (!port->tx_buf[i])
            return OWU_E_NOMEM;
        struct owu_urb *u = &port->tx[i];
        u->dev = port->udev;
        u->type = OWU_XFER_BULK;
        u->endpoint = port->lay.out_ep;
        u->buffer = port->tx_buf[i];
        u->complete = tx_complete;
        u->context = port;
    }
    return OWU_OK;
}

void usbser_tx_free(struct owu_usbser_port *port)
{
    if (port->tx_buf)
        for (unsigned i = 0; i < port->opt.write_urbs; i++)
            free(port->tx_buf[i]);
    free(port->tx_buf);
    free(port->tx);
    port->tx_buf = NULL;
    port->tx = NULL;
}

/* Cancels what is in flight and waits for it (lock held on entry and exit). */
static void tx_drain_locked(struct owu_usbser_port *port, bool cancel)
{
    while (port->tx_inflight) {
        if (cancel) {
            pthread_mutex_unlock(&port->lock);
            for (unsigned i = 0; i < port->opt.write_urbs; i++)
                owu_urb_cancel(&port->tx[i]);
            pthread_mutex_lock(&port->lock);
        }
        struct timespec ts;
        usbser_deadline(50, &ts);
        if (port->tx_inflight)
            pthread_cond_timedwait(&port->cond, &port->lock, &ts);
    }
}

int owu_usbser_write(struct owu_usbser_port *port, const void *buf, size_t len,
                     unsigned timeout_ms, size_t *written)
{
    if (written)
        *written = 0;
    if (!port || (len && !buf))
        return OWU_E_INVAL;
    int rc = usbser_pm_get(port);
    if (rc != OWU_OK)
        return rc;
    pthread_mutex_lock(&port->write_lock);
    struct timespec deadline;
    bool timed = usbser_deadline(timeout_ms, &deadline);
    const uint8_t *src = buf;
    size_t mps = port->lay.out_mps;
    bool zlp = len > 0 && len % mps == 0;
    size_t queued = 0;                   /* bytes handed to URBs */
    uint64_t tx_before;
    unsigned next = 0;                   /* URBs are used round-robin, so in order */
    unsigned nurb = port->opt.write_urbs;

    pthread_mutex_lock(&port->lock);
    port->tx_abort = false;
    port->tx_error = OWU_OK;
    port->writing = true;
    tx_before = port->cnt.tx_bytes;
    rc = OWU_OK;
    bool zlp_sent = false;
    for (;;) {
        if (port->gone) {
            rc = OWU_E_NODEV;
            break;
        }
        if (port->tx_abort) {
            rc = OWU_E_CANCELLED;
            break;
        }
        /* A failed transfer ends the write. */
        if (port->tx_error != OWU_OK) {
            rc = port->tx_error;
            break;
        }
        bool more = queued < len || (zlp && !zlp_sent);
        if (!more && port->tx_inflight == 0)
            break;
        if (more && port->tx_inflight < nurb) {
            struct owu_urb *u = &port->tx[next];
            next = (next + 1) % nurb;
            size_t n = len - queued;
            if (n > port->opt.write_urb_size)
                n = port->opt.write_urb_size;
            if (n)
                memcpy(u->buffer, src + queued, n);
            else
                zlp_sent = true;
            u->length = n;
            queued += n;
            port->tx_inflight++;
            pthread_mutex_unlock(&port->lock);
            int src_rc = owu_urb_submit(u);
            pthread_mutex_lock(&port->lock);
            if (src_rc != OWU_OK) {
                port->tx_inflight--;
                queued -= n;
                rc = src_rc;
                if (rc == OWU_E_NODEV)
                    usbser_mark_gone_locked(port);
                break;
            }
            if (n == 0)
                port->cnt.zero_packets++;
            continue;
        }
        if (timed) {
            if (pthread_cond_timedwait(&port->cond, &port->lock, &deadline) == ETIMEDOUT &&
                port->tx_inflight) {
                rc = OWU_E_TIMEOUT;
                break;
            }
        } else {
            pthread_cond_wait(&port->cond, &port->lock);
        }
    }
    tx_drain_locked(port, rc != OWU_OK);
    if (written)
        *written = (size_t)(port->cnt.tx_bytes - tx_before);
    port->writing = false;
    port->events |= OWU_USBSER_EV_TXEMPTY;
    port->last_activity_ns = owu_now_ns();
    pthread_cond_broadcast(&port->cond);
    pthread_mutex_unlock(&port->lock);
    pthread_mutex_unlock(&port->write_lock);
    usbser_pm_put(port);
    return rc;
}
