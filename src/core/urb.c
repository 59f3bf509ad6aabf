/* URB submission, completion, cancellation and timeouts; synchronous calls on top.
 *
 * One global lock guards URB state and the timeout list; one timer thread cancels URBs whose
 * deadline passed. A timed-out URB is cancelled through the backend like any other, and its
 * OWU_E_CANCELLED completion is reported as OWU_E_TIMEOUT. Because the timer thread calls
 * into the backend without holding the lock, owu_urb_done() waits until that call returns
 * before handing the URB back to its owner, so the owner never frees an URB the timer is
 * still touching.
 */
#include "core/urb.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hcd/hcd.h"

enum { URB_IDLE = 0, URB_SUBMITTED = 1 };

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_timer_cond;           /* timer thread: list changed */
static pthread_cond_t g_cancel_done = PTHREAD_COND_INITIALIZER;  /* timer left hcd->cancel,
                                                                     or a submit returned */
static struct owu_urb *g_timer_head;          /* sorted by deadline */
static pthread_once_t g_timer_once = PTHREAD_ONCE_INIT;
static pthread_t g_timer_thread;
static bool g_timer_ok;
static struct owu_urb *g_cancelling;         /* URB the timer thread is cancelling, if any */

static void timer_unlink_locked(struct owu_urb *urb)
{
    for (struct owu_urb **pp = &g_timer_head; *pp; pp = &(*pp)->timer_next) {
        if (*pp == urb) {
            *pp = urb->timer_next;
            urb->timer_next = NULL;
            return;
        }
    }
}

static void timer_insert_locked(struct owu_urb *urb)
{
    struct owu_urb **pp = &g_timer_head;
    while (*pp && (*pp)->deadline_ns <= urb->deadline_ns)
        pp = &(*pp)->timer_next;
    urb->timer_next = *pp;
    *pp = urb;
}

static void *timer_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g_lock);
    for (;;) {
        if (!g_timer_head) {
            pthread_cond_wait(&g_timer_cond, &g_lock);
            continue;
        }
        uint64_t now = owu_now_ns();
        struct owu_urb *urb = g_timer_head;
        if (urb->deadline_ns > now) {
            struct timespec ts = {.tv_sec = (time_t)(urb->deadline_ns / 1000000000ull),
                                  .tv_nsec = (long)(urb->deadline_ns % 1000000000ull)};
            pthread_cond_timedwait(&g_timer_cond, &g_lock, &ts);
            continue;
        }
        g_timer_head = urb->timer_next;
        urb->timer_next = NULL;
        if (urb->state != URB_SUBMITTED)
            continue;
        urb->timed_out = true;
        urb->cancel_requested = true;
        g_cancelling = urb;
        pthread_mutex_unlock(&g_lock);
        /* The backend may complete the URB synchronously (then it may already be freed when
         * cancel returns): never touch it again after this call. */
        urb->dev->hcd->ops->cancel(urb);
        pthread_mutex_lock(&g_lock);
        g_cancelling = NULL;
        pthread_cond_broadcast(&g_cancel_done);
    }
    return NULL;
}

static void timer_start(void)
{
    owu_cond_init_monotonic(&g_timer_cond);
    pthread_attr_t tattr;
    pthread_attr_init(&tattr);
    pthread_attr_setdetachstate(&tattr, PTHREAD_CREATE_DETACHED);
    g_timer_ok = pthread_create(&g_timer_thread, &tattr, timer_main, NULL) == 0;
    pthread_attr_destroy(&tattr);
}

int owu_urb_submit(struct owu_urb *urb)
{
    if (!urb || !urb->dev || !urb->dev->hcd || !urb->dev->hcd->ops->submit)
        return OWU_E_INVAL;
    if (urb->length && !urb->buffer)
        return OWU_E_INVAL;
    if (urb->type == OWU_XFER_CONTROL && urb->length < urb->setup.wLength)
        return OWU_E_INVAL;
    if (urb->type == OWU_XFER_ISOCHRONOUS && urb->num_iso_packets && !urb->iso)
        return OWU_E_INVAL;
    if (owu_usb_device_gone(urb->dev))
        return OWU_E_NODEV;
    if (urb->timeout_ms) {
        pthread_once(&g_timer_once, timer_start);
        if (!g_timer_ok)
            return OWU_E_NOMEM;
    }

    pthread_mutex_lock(&g_lock);
    if (urb->state == URB_SUBMITTED) {
        pthread_mutex_unlock(&g_lock);
        return OWU_E_BUSY;
    }
    urb->state = URB_SUBMITTED;
    urb->status = OWU_E_PENDING;
    urb->actual = 0;
    urb->timed_out = false;
    urb->cancel_requested = false;
    urb->done_inline = false;
    urb->in_submit = true;
    urb->submit_thread = pthread_self();
    if (urb->timeout_ms) {
        urb->deadline_ns = owu_now_ns() + (uint64_t)urb->timeout_ms * 1000000ull;
        timer_insert_locked(urb);
        if (g_timer_head == urb)
            pthread_cond_signal(&g_timer_cond);
    }
    pthread_mutex_unlock(&g_lock);

    const struct owu_hcd_ops *ops = urb->dev->hcd->ops;
    int rc = ops->submit(urb);
    pthread_mutex_lock(&g_lock);
    if (rc != OWU_OK) {
        timer_unlink_locked(urb);
        /* The URB goes back to its owner now: the timer must be out of hcd->cancel. */
        while (g_cancelling == urb)
            pthread_cond_wait(&g_cancel_done, &g_lock);
        urb->state = URB_IDLE;
        urb->status = rc;
    }
    /* A cancel that came while the backend did not hold the URB yet: repeat it now. The
     * URB stays alive meanwhile because owu_urb_done waits for in_submit to clear. */
    bool recancel = rc == OWU_OK && urb->state == URB_SUBMITTED && urb->cancel_requested;
    if (recancel) {
        pthread_mutex_unlock(&g_lock);
        ops->cancel(urb);
        pthread_mutex_lock(&g_lock);
    }
    urb->in_submit = false;
    bool inline_done = urb->done_inline;
    pthread_cond_broadcast(&g_cancel_done);
    pthread_mutex_unlock(&g_lock);
    /* A backend that finished the URB inside its submit hook: deliver it now, after the last
     * touch of the URB here (backends should not do this; see hcd.h). */
    if (inline_done && urb->complete)
        urb->complete(urb);
    return rc;
}

int owu_urb_cancel(struct owu_urb *urb)
{
    if (!urb)
        return OWU_E_INVAL;
    pthread_mutex_lock(&g_lock);
    bool live = urb->state == URB_SUBMITTED;
    if (live)
        urb->cancel_requested = true;
    pthread_mutex_unlock(&g_lock);
    if (!live)
        return OWU_E_NOTFOUND;
    int rc = urb->dev->hcd->ops->cancel(urb);
    /* Not found while owu_urb_submit still runs: it will repeat the cancel. */
    return rc == OWU_E_NOTFOUND ? OWU_OK : rc;
}

void owu_urb_done(struct owu_urb *urb, int status, size_t actual)
{
    pthread_mutex_lock(&g_lock);
    timer_unlink_locked(urb);
    bool inline_done = urb->in_submit && pthread_equal(pthread_self(), urb->submit_thread);
    /* The timer thread may be inside hcd->cancel for this URB, or owu_urb_submit may not
     * have finished with it yet, on other threads. */
    while (!inline_done && ((g_cancelling == urb && !pthread_equal(pthread_self(), g_timer_thread)) ||
                            urb->in_submit))
        pthread_cond_wait(&g_cancel_done, &g_lock);
    if (urb->timed_out && status == OWU_E_CANCELLED)
        status = OWU_E_TIMEOUT;
    urb->state = URB_IDLE;
    if (actual > urb->length)
        actual = urb->length;
    urb->actual = actual;
    urb->status = status;
    if (status == OWU_OK && (urb->flags & OWU_URB_SHORT_NOT_OK) && owu_urb_is_in(urb) &&
        actual < urb->length)
        urb->status = OWU_E_IO;
    urb->done_inline = inline_done;
    pthread_mutex_unlock(&g_lock);

    if (!inline_done && urb->complete)
        urb->complete(urb);
}

/* ---- synchronous calls ---------------------------------------------------------------- */

struct sync_waiter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
};

static void sync_complete(struct owu_urb *urb)
{
    struct sync_waiter *w = urb->waiter;
    pthread_mutex_lock(&w->lock);
    w->done = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

int owu_urb_submit_wait(struct owu_urb *urb)
{
    struct sync_waiter w = {.done = false};
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.cond, NULL);
    urb->complete = sync_complete;
    urb->waiter = &w;
    int rc = owu_urb_submit(urb);
    if (rc == OWU_OK) {
        pthread_mutex_lock(&w.lock);
        while (!w.done)
            pthread_cond_wait(&w.cond, &w.lock);
        pthread_mutex_unlock(&w.lock);
        rc = urb->status;
    }
    pthread_cond_destroy(&w.cond);
    pthread_mutex_destroy(&w.lock);
    urb->waiter = NULL;
    return rc;
}

int owu_control_sync(struct owu_usb_device *dev, uint8_t bmRequestType, uint8_t bRequest,
                     uint16_t wValue, uint16_t wIndex, uint8_t *data, uint16_t wLength,
                     unsigned timeout_ms)
{
    struct owu_urb urb;
    memset(&urb, 0, sizeof urb);
    urb.dev = dev;
    urb.type = OWU_XFER_CONTROL;
    urb.setup = (struct owu_setup){bmRequestType, bRequest, wValue, wIndex, wLength};
    urb.buffer = data;
    urb.length = wLength;
    urb.timeout_ms = timeout_ms;
    int rc = owu_urb_submit_wait(&urb);
    return rc == OWU_OK ? (int)urb.actual : rc;
}

int owu_transfer_sync(struct owu_usb_device *dev, enum owu_xfer_type type, uint8_t endpoint,
                      uint8_t *data, size_t length, size_t *actual, unsigned timeout_ms)
{
    struct owu_urb urb;
    memset(&urb, 0, sizeof urb);
    urb.dev = dev;
    urb.type = type;
    urb.endpoint = endpoint;
    urb.buffer = data;
    urb.length = length;
    urb.timeout_ms = timeout_ms;
    int rc = owu_urb_submit_wait(&urb);
    if (actual)
        *actual = urb.actual;
    return rc;
}
