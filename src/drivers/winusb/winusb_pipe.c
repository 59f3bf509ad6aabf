/* The pipe engine: one queue of requests per pipe, carried out as URBs with WinUSB's pipe
 * policies (shared/reference/winusb-api.md §5; docs/winusb.md "Pipe policies").
 *
 * Requests complete in the order they were queued. Without RAW_IO only the oldest
 * unfinished request of a pipe has a transfer in flight: it is split at
 * MAXIMUM_TRANSFER_SIZE into URBs submitted one after the other, reads are rounded up to a
 * multiple of wMaxPacketSize through a bounce buffer so that surplus bytes can be kept or
 * dropped. With RAW_IO (and for isochronous transfers) every request is one URB submitted
 * at once, so transfers run back to back.
 *
 * One thread at a time runs a pipe (p->running): it submits URBs and delivers finished
 * requests with the device lock dropped, so completions may arrive on any thread, even
 * inside owu_urb_submit, without reordering anything.
 */
#include "drivers/winusb/winusb_priv.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct owu_winusb_req *owu_winusb_req_new(unsigned num_iso)
{
    struct owu_winusb_req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (num_iso) {
        r->iso = calloc(num_iso, sizeof *r->iso);
        if (!r->iso) {
            free(r);
            return NULL;
        }
        r->iso_cap = num_iso;
    }
    return r;
}

void owu_winusb_req_free(struct owu_winusb_req *req)
{
    if (!req)
        return;
    free(req->bounce);
    free(req->iso);
    free(req);
}

bool wu_pipe_is_in(const struct owu_winusb_pipe *p) { return (p->address & 0x80) != 0; }

bool wu_pipe_idle(const struct owu_winusb_pipe *p) { return p->head == NULL; }

/* Host-controller failures: the ones that halt an endpoint (and that AUTO_CLEAR_STALL
 * resets). Cancellation, timeout and removal do not. */
static bool hc_error(int status)
{
    return status == OWU_E_STALL || status == OWU_E_IO || status == OWU_E_OVERFLOW;
}

static void req_finish(struct owu_winusb_req *r, int status)
{
    r->status = status;
    r->state = WU_REQ_DONE;
    r->needs_submit = false;
}

/* A transfer of the request failed on the bus. */
static void req_failed(struct owu_winusb_pipe *p, struct owu_winusb_req *r, int status)
{
    if (p->address == 0 || p->type == OWU_XFER_ISOCHRONOUS || !hc_error(status)) {
        req_finish(r, status);
        return;
    }
    if (p->policy.auto_clear_stall && wu_pipe_is_in(p)) {
        /* Reset before completing the failed read, so later reads keep flowing. */
        r->status = status;
        r->state = WU_REQ_WAIT_RESET;
        r->needs_submit = false;
        if (!p->resetting) {
            p->resetting = true;
            wu_worker_queue_reset(p);
        }
        return;
    }
    p->halted = true;
    req_finish(r, status);
}

static size_t round_up(size_t n, unsigned mps)
{
    if (mps == 0)
        return n;
    return (n + mps - 1) / mps * mps;
}

static void take_surplus(struct owu_winusb_pipe *p, struct owu_winusb_req *r)
{
    size_t n = r->length - r->transferred;
    if (n > p->surplus_len)
        n = p->surplus_len;
    memcpy(r->buffer + r->transferred, p->surplus, n);
    memmove(p->surplus, p->surplus + n, p->surplus_len - n);
    p->surplus_len -= n;
    r->transferred += n;
}

static bool save_surplus(struct owu_winusb_pipe *p, const uint8_t *data, size_t n)
{
    if (p->surplus_len + n > p->surplus_cap) {
        size_t cap = p->surplus_len + n;
        uint8_t *s = realloc(p->surplus, cap);
        if (!s)
            return false;
        p->surplus = s;
        p->surplus_cap = cap;
    }
    memcpy(p->surplus + p->surplus_len, data, n);
    p->surplus_len += n;
    return true;
}

/* The request's turn has come: requests that need no transfer finish here. */
static void req_start(struct owu_winusb_pipe *p, struct owu_winusb_req *r)
{
    r->state = WU_REQ_ACTIVE;
    if (r->aborted) {
        req_finish(r, OWU_E_CANCELLED);
        return;
    }
    if (r->kind == OWU_WINUSB_REQ_READ) {
        /* Zero-length reads are not sent to the device. */
        if (r->length == 0) {
            req_finish(r, OWU_OK);
            return;
        }
        if (p->surplus_len && !r->raw) {
            take_surplus(p, r);
            if (r->transferred == r->length || !p->policy.ignore_short_packets) {
                req_finish(r, OWU_OK);
                return;
            }
        }
    }
    if ((r->kind == OWU_WINUSB_REQ_READ || r->kind == OWU_WINUSB_REQ_WRITE) && p->halted) {
        req_finish(r, OWU_E_STALL);
        return;
    }
    r->needs_submit = true;
}

static void urb_done(struct owu_urb *u);

/* Fills the URB for the request's next transfer; false when the request finished instead. */
static bool req_prepare_urb(struct owu_winusb_pipe *p, struct owu_winusb_req *r)
{
    struct owu_urb *u = &r->urb;
    if (r->kind != OWU_WINUSB_REQ_ISOCH) {
        memset(u, 0, sizeof *u);
        u->type = p->type;
        u->endpoint = p->address;
    }
    u->dev = p->intf->dev->udev;
    u->complete = urb_done;
    u->context = r;

    /* PIPE_TRANSFER_TIMEOUT covers the request from its first transfer on; time spent
     * waiting in the queue does not count. */
    uint32_t tmo = r->kind == OWU_WINUSB_REQ_ISOCH ? 0 : p->policy.timeout_ms;
    if (tmo) {
        uint64_t now = owu_now_ns();
        if (!r->deadline_ns)
            r->deadline_ns = now + (uint64_t)tmo * 1000000ull;
        if (now >= r->deadline_ns) {
            req_finish(r, OWU_E_TIMEOUT);
            return false;
        }
        uint64_t left_ms = (r->deadline_ns - now + 999999ull) / 1000000ull;
        u->timeout_ms = left_ms ? (unsigned)left_ms : 1u;
    }

    switch (r->kind) {
    case OWU_WINUSB_REQ_CONTROL:
        u->type = OWU_XFER_CONTROL;
        u->endpoint = 0;
        u->setup = r->setup;
        u->buffer = r->setup.wLength ? r->buffer : NULL;
        u->length = r->setup.wLength;
        r->chunk = r->setup.wLength;
        break;
    case OWU_WINUSB_REQ_WRITE: {
        if (r->length > 0 && r->transferred >= r->length) {
            /* SHORT_PACKET_TERMINATE: a separate zero-length write. */
            r->zlp_done = true;
            u->buffer = NULL;
            u->length = 0;
            r->chunk = 0;
            break;
        }
        size_t chunk = r->length - r->transferred;
        if (!r->raw && chunk > p->policy.max_transfer)
            chunk = p->policy.max_transfer;
        u->buffer = chunk ? r->buffer + r->transferred : NULL;
        u->length = chunk;
        r->chunk = chunk;
        if (r->raw && p->policy.short_packet_terminate && chunk && p->max_packet &&
            chunk % p->max_packet == 0)
            u->flags |= OWU_URB_ZERO_PACKET;
        break;
    }
    case OWU_WINUSB_REQ_READ: {
        size_t chunk = r->length - r->transferred;
        if (!r->raw && chunk > p->policy.max_transfer)
            chunk = p->policy.max_transfer;
        size_t urb_len = r->raw ? chunk : round_up(chunk, p->max_packet);
        if (urb_len == chunk) {
            u->buffer = r->buffer + r->transferred;
        } else {
            if (r->bounce_len < urb_len) {
                uint8_t *b = realloc(r->bounce, urb_len);
                if (!b) {
                    req_finish(r, OWU_E_NOMEM);
                    return false;
                }
                r->bounce = b;
                r->bounce_len = urb_len;
            }
            u->buffer = r->bounce;
        }
        u->length = urb_len;
        r->chunk = chunk;
        break;
    }
    case OWU_WINUSB_REQ_ISOCH:
        break;
    }
    return true;
}

/* What a finished URB means for its request (lock held). */
static void req_urb_result(struct owu_winusb_pipe *p, struct owu_winusb_req *r, int status,
                           size_t actual)
{
    struct owu_urb *u = &r->urb;
    switch (r->kind) {
    case OWU_WINUSB_REQ_CONTROL:
        r->transferred = actual;
        if (status != OWU_OK)
            req_failed(p, r, status);
        else
            req_finish(r, OWU_OK);
        return;

    case OWU_WINUSB_REQ_ISOCH:
        /* Packets the backend left untouched take the transfer's status. */
        for (unsigned i = 0; i < r->num_iso; i++)
            if (r->iso[i].status == OWU_E_PENDING)
                r->iso[i].status = status == OWU_OK ? OWU_OK : status;
        r->transferred = 0;
        req_finish(r, status);
        return;

    case OWU_WINUSB_REQ_WRITE: {
        bool was_zlp = r->zlp_done && r->chunk == 0 && r->length > 0;
        r->transferred += actual;
        if (status != OWU_OK) {
            req_failed(p, r, status);
            return;
        }
        if (was_zlp || r->length == 0 || actual < r->chunk) {
            req_finish(r, OWU_OK);
            return;
        }
        if (r->transferred < r->length) {
            if (r->aborted)
                req_finish(r, OWU_E_CANCELLED);
            else
                r->needs_submit = true;
            return;
        }
        if (!r->raw && p->policy.short_packet_terminate && p->max_packet &&
            r->length % p->max_packet == 0 && !r->zlp_done) {
            if (r->aborted)
                req_finish(r, OWU_E_CANCELLED);
            else
                r->needs_submit = true;
            return;
        }
        req_finish(r, OWU_OK);
        return;
    }

    case OWU_WINUSB_REQ_READ: {
        size_t delivered = actual < r->chunk ? actual : r->chunk;
        if (delivered && u->buffer == r->bounce)
            memcpy(r->buffer + r->transferred, r->bounce, delivered);
        r->transferred += delivered;
        if (status != OWU_OK) {
            req_failed(p, r, status);
            return;
        }
        if (actual > r->chunk) {
            /* More than asked for (the request was rounded up to whole packets). */
            if (!p->policy.allow_partial_reads) {
                req_failed(p, r, OWU_E_OVERFLOW);
                return;
            }
            if (!p->policy.auto_flush && !save_surplus(p, r->bounce + r->chunk, actual - r->chunk)) {
                req_finish(r, OWU_E_NOMEM);
                return;
            }
        }
        bool short_packet = actual < u->length;
        if (r->transferred >= r->length ||
            (short_packet && (r->raw || !p->policy.ignore_short_packets))) {
            req_finish(r, OWU_OK);
            return;
        }
        if (r->aborted)
            req_finish(r, OWU_E_CANCELLED);
        else
            r->needs_submit = true;
        return;
    }
    }
}

static void urb_done(struct owu_urb *u)
{
    struct owu_winusb_req *r = u->context;
    struct owu_winusb_pipe *p = r->pipe;
    struct owu_winusb_dev *dev = p->intf->dev;
    pthread_mutex_lock(&dev->lock);
    r->urb_busy = false;
    req_urb_result(p, r, u->status, u->actual);
    wu_pm_activity(dev);
    wu_pipe_run(p);
    pthread_mutex_unlock(&dev->lock);
}

/* Delivers finished requests from the head of the queue, in order. */
static void deliver(struct owu_winusb_pipe *p)
{
    struct owu_winusb_dev *dev = p->intf->dev;
    struct owu_winusb_req *r;
    while ((r = p->head) != NULL && r->state == WU_REQ_DONE && r->cancelling == 0 && !r->urb_busy) {
        p->head = r->next;
        if (!p->head)
            p->tail = NULL;
        r->next = NULL;
        if (r->busy_counted) {
            r->busy_counted = false;
            dev->pm_busy--;
        }
        struct owu_winusb_isoch_buf *isoch = r->isoch;
        wu_pm_activity(dev);
        wu_worker_kick(dev);
        /* Counted until the callback has returned: aborts, WinUsb_Free and unregistering
         * wait for that, so no callback can drop the last reference to the device (the
         * API's callbacks release file references) while the engine still uses it. */
        p->delivering++;
        pthread_mutex_unlock(&dev->lock);
        r->complete(r);   /* the request may be freed from here on */
        pthread_mutex_lock(&dev->lock);
        p->delivering--;
        if (isoch)
            wu_isoch_done_locked(isoch);
        pthread_cond_broadcast(&dev->cond);
    }
}

/* Starts what may start and submits what needs submitting; true when the list may have
 * changed (the lock was dropped) and must be scanned again. */
static bool submit_some(struct owu_winusb_pipe *p)
{
    struct owu_winusb_dev *dev = p->intf->dev;
    if (p->resetting)
        return false;
    bool earlier = false;   /* an unfinished RAW request precedes */
    for (struct owu_winusb_req *r = p->head; r; r = r->next) {
        if (r->state == WU_REQ_DONE)
            continue;
        if (r->state == WU_REQ_WAIT_RESET)
            return false;
        if (r->state == WU_REQ_QUEUED) {
            if (earlier && !r->raw)
                return false;
            req_start(p, r);
            if (r->state == WU_REQ_DONE)
                return true;
        }
        if (r->needs_submit) {
            if (!wu_pm_may_submit(dev, p))
                return false;
            if (!req_prepare_urb(p, r)) {
                wu_pm_submit_done(dev);
                return true;
            }
            r->needs_submit = false;
            r->urb_busy = true;
            pthread_mutex_unlock(&dev->lock);
            int rc = owu_urb_submit(&r->urb);
            pthread_mutex_lock(&dev->lock);
            wu_pm_submit_done(dev);
            if (rc != OWU_OK) {
                /* Refused before reaching the bus (device gone, backend limits): the
                 * endpoint did not stall, so this never halts the pipe. */
                r->urb_busy = false;
                req_finish(r, rc);
            }
            return true;
        }
        if (!r->raw)
            return false;
        earlier = true;
    }
    return false;
}

void wu_pipe_run(struct owu_winusb_pipe *p)
{
    struct owu_winusb_dev *dev = p->intf->dev;
    if (p->running) {
        p->rerun = true;
        return;
    }
    p->running = true;
    do {
        p->rerun = false;
        deliver(p);
        if (submit_some(p))
            p->rerun = true;
    } while (p->rerun);
    p->running = false;
    pthread_cond_broadcast(&dev->cond);
}

void wu_pipe_reset_done(struct owu_winusb_pipe *p)
{
    p->resetting = false;
    p->halted = false;
    for (struct owu_winusb_req *r = p->head; r; r = r->next)
        if (r->state == WU_REQ_WAIT_RESET)
            r->state = WU_REQ_DONE;
    wu_pipe_run(p);
}

static bool has_older(const struct owu_winusb_pipe *p, uint64_t seq)
{
    for (const struct owu_winusb_req *r = p->head; r; r = r->next)
        if (r->seq < seq)
            return true;
    return false;
}

void wu_pipe_abort_locked(struct owu_winusb_pipe *p)
{
    struct owu_winusb_dev *dev = p->intf->dev;
    uint64_t last = p->next_seq;
    for (struct owu_winusb_req *r = p->head; r; r = r->next) {
        if (r->state == WU_REQ_DONE || r->state == WU_REQ_WAIT_RESET)
            continue;
        r->aborted = true;
        if (!r->urb_busy)
            req_finish(r, OWU_E_CANCELLED);
    }
    /* Cancel the transfers in flight one at a time: the list changes while unlocked. A
     * request being cancelled is not delivered (and so not freed) before the call returns.
     * A cancel that misses an URB owu_urb_submit has not yet made live (submit_some marks
     * it busy before calling it, and the core neither records nor repeats such a cancel)
     * is tried again a moment later. Cancels that were accepted need no polling: urb_done
     * clears urb_busy under the lock and wu_pipe_run broadcasts. */
    for (;;) {
        bool busy = false, retry = false;
        struct owu_winusb_req *victim = NULL;
        for (struct owu_winusb_req *r = p->head; r && !victim; r = r->next) {
            if (r->seq >= last || !r->urb_busy)
                continue;
            busy = true;
            if (!r->cancel_sent)
                victim = r;
        }
        if (!busy)
            break;
        if (victim) {
            victim->cancel_sent = true;
            victim->cancelling++;
            pthread_mutex_unlock(&dev->lock);
            int rc = owu_urb_cancel(&victim->urb);
            pthread_mutex_lock(&dev->lock);
            victim->cancelling--;
            if (rc != OWU_OK && victim->urb_busy) {
                victim->cancel_sent = false;
                retry = true;
            }
        }
        if (!victim) {
            pthread_cond_wait(&dev->cond, &dev->lock);
        } else if (retry) {
            struct timespec ts;
            owu_deadline_ms(&ts, 1);
            pthread_cond_timedwait(&dev->cond, &dev->lock, &ts);
        }
    }
    wu_pipe_run(p);
    while (has_older(p, last) || p->delivering)
        pthread_cond_wait(&dev->cond, &dev->lock);
}

/* ---- entry points -------------------------------------------------------------------------- */

struct owu_winusb_pipe *wu_pipe_find(struct owu_winusb_intf *intf, uint8_t pipe_id)
{
    if (pipe_id == 0)
        return &intf->ctrl;
    if ((pipe_id & 0x70) != 0)
        return NULL;
    struct owu_winusb_pipe *p = &intf->pipes[wu_pipe_slot(pipe_id)];
    return p->present && p->address == pipe_id ? p : NULL;
}

/* Queues a checked request (lock held). */
static void enqueue(struct owu_winusb_pipe *p, struct owu_winusb_req *r)
{
    struct owu_winusb_dev *dev = p->intf->dev;
    r->pipe = p;
    r->state = WU_REQ_QUEUED;
    r->status = OWU_E_PENDING;
    r->transferred = 0;
    r->seq = p->next_seq++;
    r->next = NULL;
    /* IN queues are not power-managed: a pending read does not keep the device awake. */
    if (r->kind != OWU_WINUSB_REQ_READ) {
        r->busy_counted = true;
        dev->pm_busy++;
    }
    wu_pm_activity(dev);
    if (p->tail)
        p->tail->next = r;
    else
        p->head = r;
    p->tail = r;
    wu_pipe_run(p);
}

int wu_enqueue_locked(struct owu_winusb_pipe *p, struct owu_winusb_req *r)
{
    if (owu_usb_device_gone(p->intf->dev->udev))
        return OWU_E_NODEV;
    enqueue(p, r);
    return OWU_OK;
}

int owu_winusb_submit(struct owu_winusb_intf *intf, struct owu_winusb_req *r)
{
    if (!intf || !r || !r->complete || r->kind == OWU_WINUSB_REQ_ISOCH)
        return OWU_E_INVAL;
    if (r->length && !r->buffer)
        return OWU_E_INVAL;
    struct owu_winusb_dev *dev = intf->dev;
    int rc = OWU_OK;
    pthread_mutex_lock(&dev->lock);
    struct owu_winusb_pipe *p = r->kind == OWU_WINUSB_REQ_CONTROL ? &intf->ctrl : wu_pipe_find(intf, r->pipe_id);
    if (owu_usb_device_gone(dev->udev)) {
        rc = OWU_E_NODEV;
    } else if (intf->changing_alt) {
        rc = OWU_E_BUSY;
    } else if (!p || (r->kind != OWU_WINUSB_REQ_CONTROL && r->pipe_id == 0)) {
        rc = OWU_E_INVAL;
    } else if (r->kind == OWU_WINUSB_REQ_CONTROL) {
        if (r->length < r->setup.wLength)
            rc = OWU_E_INVAL;
    } else if ((p->type != OWU_XFER_BULK && p->type != OWU_XFER_INTERRUPT) ||
               wu_pipe_is_in(p) != (r->kind == OWU_WINUSB_REQ_READ)) {
        rc = OWU_E_INVAL;
    } else if (p->policy.raw_io &&
               ((p->max_packet && r->length % p->max_packet) || r->length > p->policy.max_transfer)) {
        rc = OWU_E_INVAL;
    } else if (p->halted) {
        rc = OWU_E_STALL;
    }
    if (rc == OWU_OK) {
        r->raw = r->kind != OWU_WINUSB_REQ_CONTROL && p->policy.raw_io;
        enqueue(p, r);
    }
    pthread_mutex_unlock(&dev->lock);
    return rc;
}

int owu_winusb_abort_pipe(struct owu_winusb_intf *intf, uint8_t pipe_id)
{
    struct owu_winusb_dev *dev = intf->dev;
    pthread_mutex_lock(&dev->lock);
    struct owu_winusb_pipe *p = wu_pipe_find(intf, pipe_id);
    if (p)
        wu_pipe_abort_locked(p);
    pthread_mutex_unlock(&dev->lock);
    return p ? OWU_OK : OWU_E_NOTFOUND;
}

int owu_winusb_reset_pipe(struct owu_winusb_intf *intf, uint8_t pipe_id)
{
    struct owu_winusb_dev *dev = intf->dev;
    if (pipe_id == 0)
        return OWU_E_INVAL;
    pthread_mutex_lock(&dev->lock);
    struct owu_winusb_pipe *p = wu_pipe_find(intf, pipe_id);
    pthread_mutex_unlock(&dev->lock);
    if (!p)
        return OWU_E_NOTFOUND;
    if (owu_usb_device_gone(dev->udev))
        return OWU_E_NODEV;
    wu_pm_get(dev);
    int rc = owu_dev_clear_halt(dev->udev, pipe_id, OWU_WINUSB_CONTROL_TIMEOUT_MS);
    wu_pm_put(dev);
    pthread_mutex_lock(&dev->lock);
    /* The host side of the pipe is reset even when the device refused the request. */
    p->halted = false;
    wu_pipe_run(p);
    pthread_mutex_unlock(&dev->lock);
    return rc;
}

int owu_winusb_flush_pipe(struct owu_winusb_intf *intf, uint8_t pipe_id)
{
    struct owu_winusb_dev *dev = intf->dev;
    pthread_mutex_lock(&dev->lock);
    struct owu_winusb_pipe *p = wu_pipe_find(intf, pipe_id);
    if (p)
        p->surplus_len = 0;
    pthread_mutex_unlock(&dev->lock);
    return p ? OWU_OK : OWU_E_NOTFOUND;
}

/* ---- synchronous control requests ---------------------------------------------------------- */

struct sync_wait {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
};

static void sync_complete(struct owu_winusb_req *r)
{
    struct sync_wait *w = r->context;
    pthread_mutex_lock(&w->lock);
    w->done = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

int owu_winusb_control_sync(struct owu_winusb_intf *intf, const struct owu_setup *setup,
                            uint8_t *data, size_t length)
{
    struct owu_winusb_req *r = owu_winusb_req_new(0);
    if (!r)
        return OWU_E_NOMEM;
    struct sync_wait w = {.done = false};
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.cond, NULL);
    r->kind = OWU_WINUSB_REQ_CONTROL;
    r->setup = *setup;
    r->buffer = data;
    r->length = length;
    r->complete = sync_complete;
    r->context = &w;
    int rc = owu_winusb_submit(intf, r);
    if (rc == OWU_OK) {
        pthread_mutex_lock(&w.lock);
        while (!w.done)
            pthread_cond_wait(&w.cond, &w.lock);
        pthread_mutex_unlock(&w.lock);
        rc = r->status == OWU_OK ? (int)r->transferred : r->status;
    }
    owu_winusb_req_free(r);
    pthread_cond_destroy(&w.cond);
    pthread_mutex_destroy(&w.lock);
    return rc;
}
