/* The continuous reader: read_urbs bulk IN transfers stay in flight and feed a bounded ring.
 * Room is reserved before an URB goes out (ring free space minus what the URBs in flight may
 * bring), so a completion always fits; when there is no room the URB stays idle — the device
 * then NAKs, which is USB flow control — and the reader resubmits it once it has drained
 * enough. The notification URB on the interrupt endpoint carries SERIAL_STATE. */
#include "drivers/usbser/usbser_internal.h"

#include <stdlib.h>
#include <string.h>

static void rx_complete(struct owu_urb *urb);
static void notify_complete(struct owu_urb *urb);

int usbser_rx_init(struct owu_usbser_port *port)
{
    size_t mps = port->lay.in_mps ? port->lay.in_mps : 64;
    size_t sz = port->opt.read_urb_size;
    sz = (sz + mps - 1) / mps * mps;
    port->rx_size = sz;
    port->nrx = port->opt.read_urbs;
    size_t need = (size_t)port->nrx * sz;
    if (port->opt.rx_buffer_size < need)
        port->opt.rx_buffer_size = need;
    port->ring.cap = port->opt.rx_buffer_size;
    port->ring.buf = malloc(port->ring.cap);
    port->rx = calloc(port->nrx, sizeof *port->rx);
    if (!port->ring.buf || !port->rx)
        return OWU_E_NOMEM;
    for (unsigned i = 0; i < port->nrx; i++) {
        struct usbser_rx_urb *r = &port->rx[i];
        r->port = port;
        r->urb.dev = port->udev;
        r->urb.type = OWU_XFER_BULK;
        r->urb.endpoint = port->lay.in_ep;
        r->urb.buffer = malloc(sz);
        r->urb.length = sz;
        r->urb.complete = rx_complete;
        r->urb.context = r;
        if (!r->urb.buffer)
            return OWU_E_NOMEM;
    }
    struct owu_urb *n = &port->nurb;
    n->dev = port->udev;
    n->type = OWU_XFER_INTERRUPT;
    n->endpoint = port->lay.notify_ep;
    n->buffer = port->nbuf;
    n->length = port->lay.notify_mps && port->lay.notify_mps < USBSER_NOTIFY_BUF ? port->lay.notify_mps
                                                                                : USBSER_NOTIFY_BUF;
    n->complete = notify_complete;
    n->context = port;
    return OWU_OK;
}

void usbser_rx_free(struct owu_usbser_port *port)
{
    if (port->rx)
        for (unsigned i = 0; i < port->nrx; i++)
            free(port->rx[i].urb.buffer);
    free(port->rx);
    free(port->ring.buf);
    port->rx = NULL;
    port->ring.buf = NULL;
}

void usbser_mark_gone_locked(struct owu_usbser_port *port)
{
    if (!port->gone) {
        port->gone = true;
        pthread_cond_broadcast(&port->cond);
    }
}

static bool readers_allowed(const struct owu_usbser_port *port)
{
    return !port->gone && !port->stopping && port->pm == PM_ACTIVE;
}

/* Room for one more URB: the free space not promised to URBs in flight. */
static bool rx_room(const struct owu_usbser_port *port)
{
    size_t promised = port->ring.len + (size_t)port->rx_inflight * port->rx_size;
    return promised + port->rx_size <= port->ring.cap;
}

/* Submits an URB of the port (read or notification) that was marked busy under the lock;
 * when the submission fails, undoes that and either marks the port gone or retries later
 * (from the worker, never in a loop here). Lock not held. */
static void submit_or_undo(struct owu_usbser_port *port, struct owu_urb *urb)
{
    int rc = owu_urb_submit(urb);
    if (rc == OWU_OK)
        return;
    pthread_mutex_lock(&port->lock);
    if (urb == &port->nurb) {
        port->n_busy = false;
        port->n_retry = rc != OWU_E_NODEV;
    } else {
        ((struct usbser_rx_urb *)urb->context)->busy = false;
        port->rx_inflight--;
        port->rx_errors++;
    }
    if (rc == OWU_E_NODEV)
        usbser_mark_gone_locked(port);
    else
        usbser_retry_later_locked(port);
    pthread_cond_broadcast(&port->cond);
    pthread_mutex_unlock(&port->lock);
}

void usbser_rx_refill(struct owu_usbser_port *port)
{
    struct owu_urb *go[USBSER_MAX_READ_URBS + 1];
    unsigned ngo = 0;
    pthread_mutex_lock(&port->lock);
    if (readers_allowed(port)) {
        if (!port->rx_halted) {
            for (unsigned i = 0; i < port->nrx; i++) {
                struct usbser_rx_urb *r = &port->rx[i];
                if (r->busy)
                    continue;
                if (!rx_room(port)) {
                    if (!port->rx_paused) {
                        port->rx_paused = true;
                        port->cnt.rx_paused++;
                    }
                    break;
                }
                r->busy = true;
                port->rx_inflight++;
                go[ngo++] = &r->urb;
            }
            if (port->rx_inflight == port->nrx)
                port->rx_paused = false;
        }
        if (port->lay.notify_ep && !port->n_busy && !port->n_retry) {
            port->n_busy = true;
            go[ngo++] = &port->nurb;
        }
    }
    pthread_mutex_unlock(&port->lock);

    for (unsigned i = 0; i < ngo; i++)
        submit_or_undo(port, go[i]);
}

static void rx_complete(struct owu_urb *urb)
{
    struct usbser_rx_urb *r = urb->context;
    struct owu_usbser_port *port = r->port;
    pthread_mutex_lock(&port->lock);
    /* Data is kept whatever the status: a cancelled transfer may have brought some. */
    if (urb->actual) {
        owu_ring_put(&port->ring, urb->buffer, urb->actual);   /* fits: the room was reserved */
        port->cnt.rx_bytes += urb->actual;
        port->events |= OWU_USBSER_EV_RXCHAR;
        port->last_activity_ns = owu_now_ns();
    }
    r->busy = false;
    port->rx_inflight--;
    bool again = false;
    switch (urb->status) {
    case OWU_OK:
        port->rx_errors = 0;
        again = true;
        break;
    case OWU_E_NODEV:
        usbser_mark_gone_locked(port);
        break;
    case OWU_E_STALL:
        port->rx_halted = true;
        usbser_kick_locked(port);
        break;
    case OWU_E_CANCELLED:
    case OWU_E_TIMEOUT:
        break;
    default:
        port->rx_errors++;
        usbser_retry_later_locked(port);
        break;
    }
    pthread_cond_broadcast(&port->cond);
    /* The URB is ours again; resubmission must happen without the lock, and the port stays
     * alive until rx_inflight returns to zero, which this URB's resubmission keeps up. */
    if (again && readers_allowed(port) && !port->rx_halted && rx_room(port)) {
        r->busy = true;
        port->rx_inflight++;
        pthread_mutex_unlock(&port->lock);
        submit_or_undo(port, urb);
        return;
    }
    if (again && readers_allowed(port) && !port->rx_paused && !rx_room(port)) {
        port->rx_paused = true;
        port->cnt.rx_paused++;
    }
    pthread_mutex_unlock(&port->lock);
}

/* SERIAL_STATE: levels DCD/DSR (a change is an event), RI, and one-shot events. */
static void serial_state_locked(struct owu_usbser_port *port, uint16_t bits)
{
    unsigned ev = 0;
    unsigned changed = (port->modem ^ bits) & (OWU_USBSER_DCD | OWU_USBSER_DSR);
    if (changed & OWU_USBSER_DCD) {
        port->cnt.dcd++;
        ev |= OWU_USBSER_EV_DCD;
    }
    if (changed & OWU_USBSER_DSR) {
        port->cnt.dsr++;
        ev |= OWU_USBSER_EV_DSR;
    }
    if (bits & OWU_USBSER_EV_BREAK) {
        port->cnt.brk++;
        ev |= OWU_USBSER_EV_BREAK;
    }
    if (bits & OWU_USBSER_EV_RING) {
        port->cnt.ring++;
        ev |= OWU_USBSER_EV_RING;
    }
    if (bits & OWU_USBSER_EV_FRAMING) {
        port->cnt.framing++;
        ev |= OWU_USBSER_EV_FRAMING;
    }
    if (bits & OWU_USBSER_EV_PARITY) {
        port->cnt.parity++;
        ev |= OWU_USBSER_EV_PARITY;
    }
    if (bits & OWU_USBSER_EV_OVERRUN) {
        port->cnt.overrun++;
        ev |= OWU_USBSER_EV_OVERRUN;
    }
    port->modem = bits & (OWU_USBSER_DCD | OWU_USBSER_DSR | OWU_USBSER_RI);
    port->cnt.notifications++;
    port->events |= ev;
}

/* Reassembles notifications that span packets; a header announcing more than the buffer
 * holds is dropped (hostile device). */
static void notify_data_locked(struct owu_usbser_port *port, const uint8_t *data, size_t n)
{
    if (n > sizeof port->nacc - port->nacc_len) {
        port->nacc_len = 0;
        port->cnt.ignored_notifications++;
        if (n > sizeof port->nacc)
            return;
    }
    memcpy(port->nacc + port->nacc_len, data, n);
    port->nacc_len += n;
    while (port->nacc_len >= 8) {
        size_t total = 8u + owu_le16(port->nacc + 6);
        if (total > sizeof port->nacc) {
            port->nacc_len = 0;
            port->cnt.ignored_notifications++;
            return;
        }
        if (port->nacc_len < total)
            return;
        if (port->nacc[0] == 0xA1 && port->nacc[1] == CDC_NOTIFY_SERIAL_STATE && total == 10)
            serial_state_locked(port, owu_le16(port->nacc + 8));
        else
            port->cnt.ignored_notifications++;
        memmove(port->nacc, port->nacc + total, port->nacc_len - total);
        port->nacc_len -= total;
    }
}

static void notify_complete(struct owu_urb *urb)
{
    struct owu_usbser_port *port = urb->context;
    pthread_mutex_lock(&port->lock);
    port->n_busy = false;
    bool again = false;
    switch (urb->status) {
    case OWU_OK:
        notify_data_locked(port, urb->buffer, urb->actual);
        again = true;
        break;
    case OWU_E_NODEV:
        usbser_mark_gone_locked(port);
        break;
    case OWU_E_CANCELLED:
    case OWU_E_TIMEOUT:
        break;
    default:
        port->n_retry = true;
        usbser_retry_later_locked(port);
        break;
    }
    pthread_cond_broadcast(&port->cond);
    if (again && readers_allowed(port)) {
        port->n_busy = true;
        pthread_mutex_unlock(&port->lock);
        submit_or_undo(port, urb);
        return;
    }
    pthread_mutex_unlock(&port->lock);
}

void usbser_rx_stop(struct owu_usbser_port *port)
{
    for (;;) {
        pthread_mutex_lock(&port->lock);
        bool idle = port->rx_inflight == 0 && !port->n_busy;
        pthread_mutex_unlock(&port->lock);
        if (idle)
            return;
        for (unsigned i = 0; i < port->nrx; i++)
            owu_urb_cancel(&port->rx[i].urb);
        owu_urb_cancel(&port->nurb);
        /* A completion racing with the cancel may have resubmitted just before the caller's
         * flag became visible to it; wait a little and cancel again. */
        pthread_mutex_lock(&port->lock);
        struct timespec ts;
        usbser_deadline(50, &ts);
        if (port->rx_inflight != 0 || port->n_busy)
            pthread_cond_timedwait(&port->cond, &port->lock, &ts);
        pthread_mutex_unlock(&port->lock);
    }
}
