/* The URB core and the virtual bus with a minimal model defined here: synchronous and
 * asynchronous transfers, timeouts, cancellation, overflow, unplug with I/O pending,
 * interface claiming, and completion races under many threads. */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "check.h"
#include "core/urb.h"
#include "hcd/vbus.h"

/* ---- a loopback model: vendor requests + bulk 0x02 OUT -> 0x81 IN ------------------------ */

struct echo_state {
    uint8_t fifo[4096];
    size_t used;
};

static const uint8_t echo_device[18] = {18, 1, 0x00, 0x02, 0xFF, 0, 0, 64, 0x09, 0x12, 0xEE, 0xEE,
                                        0x01, 0x00, 0, 0, 0, 1};
static const uint8_t echo_config[] = {
    9, 2, 32, 0, 1, 1, 0, 0x80, 50,
    9, 4, 0, 0, 2, 0xFF, 0, 0, 0,
    7, 5, 0x81, 2, 0x00, 0x02, 0,
    7, 5, 0x02, 2, 0x00, 0x02, 0,
};
static const struct owu_vblob echo_configs[] = {{echo_config, sizeof echo_config}};

static int echo_control(struct owu_vdev *vd, const struct owu_setup *s, uint8_t *data)
{
    if ((s->bmRequestType & OWU_TYPE_MASK) != OWU_TYPE_VENDOR)
        return OWU_VDEV_DEFAULT;
    switch (s->bRequest) {
    case 0x01: /* IN: wValue bytes counting up */
        for (unsigned i = 0; i < s->wValue && i < 65536; i++)
            data[i] = (uint8_t)i;
        return s->wValue;
    case 0x02: /* never answers */
        return OWU_E_PENDING;
    case 0x03: /* stalls */
        return OWU_E_STALL;
    default:
        return OWU_E_STALL;
    }
}

static void echo_pump(struct owu_vdev *vd)
{
    struct echo_state *st = owu_vdev_priv(vd);
    struct owu_urb *in;
    while (st->used && (in = owu_vdev_take(vd, 0x81)) != NULL) {
        size_t n = in->length < st->used ? in->length : st->used;
        memcpy(in->buffer, st->fifo, n);
        memmove(st->fifo, st->fifo + n, st->used - n);
        st->used -= n;
        owu_vdev_complete(vd, in, OWU_OK, n);
    }
}

static void echo_transfer(struct owu_vdev *vd, struct owu_urb *urb)
{
    struct echo_state *st = owu_vdev_priv(vd);
    if (urb->endpoint == 0x02) {
        size_t room = sizeof st->fifo - st->used;
        size_t n = urb->length < room ? urb->length : room;
        memcpy(st->fifo + st->used, urb->buffer, n);
        st->used += n;
        owu_vdev_complete(vd, urb, OWU_OK, n);
    } else if (urb->endpoint == 0x81) {
        owu_vdev_queue(vd, urb);
    } else {
        owu_vdev_complete(vd, urb, OWU_E_STALL, 0);
    }
    echo_pump(vd);
}

static const struct owu_vdev_model echo_model = {
    .name = "test-echo",
    .speed = OWU_SPEED_HIGH,
    .device = echo_device,
    .device_len = sizeof echo_device,
    .configs = echo_configs,
    .num_configs = 1,
    .priv_size = sizeof(struct echo_state),
    .control = echo_control,
    .transfer = echo_transfer,
};

/* A bus with one echo device, addressed and configured through real requests. */
static struct owu_hcd *g_hcd;
static struct owu_usb_device *g_dev;

static void hotplug(struct owu_hcd *hcd, struct owu_usb_device *dev, bool arrived, void *ctx)
{
    (void)hcd;
    (void)ctx;
    if (arrived)
        g_dev = dev;
}

static void setup_bus(void)
{
    owu_err err = {0};
    g_hcd = owu_vbus_create(1, &err);
    CHECK(g_hcd != NULL);
    g_hcd->hotplug = hotplug;
    g_dev = NULL;
    CHECK_OK(owu_vbus_plug(g_hcd, &echo_model, NULL, 3, NULL, &err), &err);
    CHECK(g_dev != NULL);
    owu_usb_device_ref(g_dev);
    CHECK_OK(g_hcd->ops->reset_port(g_dev), NULL);
    CHECK_OK(g_hcd->ops->set_address(g_dev, 3), NULL);
    CHECK_OK(owu_dev_set_configuration(g_dev, 1, 1000), NULL);
}

static void teardown_bus(void)
{
    owu_hcd_destroy(g_hcd);
    owu_usb_device_unref(g_dev);
    g_dev = NULL;
    g_hcd = NULL;
}

/* ---- tests --------------------------------------------------------------------------- */

static void test_control_sync(void)
{
    setup_bus();
    uint8_t buf[300];
    int n = owu_control_sync(g_dev, 0xC0, 0x01, 300, 0, buf, 300, 1000);
    CHECK_INT(n, 300);
    CHECK_INT(buf[0], 0);
    CHECK_INT(buf[299], 299 & 0xFF);
    /* standard request answered by the generic handler: the device descriptor */
    n = owu_control_sync(g_dev, 0x80, OWU_REQ_GET_DESCRIPTOR, 0x0100, 0, buf, 18, 1000);
    CHECK_INT(n, 18);
    CHECK(memcmp(buf, echo_device, 18) == 0);
    /* truncated to wLength */
    n = owu_control_sync(g_dev, 0x80, OWU_REQ_GET_DESCRIPTOR, 0x0100, 0, buf, 8, 1000);
    CHECK_INT(n, 8);
    CHECK_INT(owu_control_sync(g_dev, 0xC0, 0x03, 0, 0, buf, 4, 1000), OWU_E_STALL);
    teardown_bus();
}

static void test_overflow_is_contained(void)
{
    setup_bus();
    /* The model answers 64 bytes to a request for 16: babble. The caller's buffer must not be
     * written past 16 bytes. */
    uint8_t buf[32];
    memset(buf, 0xA5, sizeof buf);
    struct owu_urb urb = {0};
    urb.dev = g_dev;
    urb.type = OWU_XFER_CONTROL;
    urb.setup = (struct owu_setup){0xC0, 0x01, 64, 0, 16};
    urb.buffer = buf;
    urb.length = 16;
    urb.timeout_ms = 1000;
    CHECK_INT(owu_urb_submit_wait(&urb), OWU_E_OVERFLOW);
    CHECK_INT(urb.actual, 16);
    for (int i = 16; i < 32; i++)
        CHECK_INT(buf[i], 0xA5);
    teardown_bus();
}

static void test_timeout(void)
{
    setup_bus();
    uint8_t buf[4];
    uint64_t t0 = owu_now_ns();
    CHECK_INT(owu_control_sync(g_dev, 0xC0, 0x02, 0, 0, buf, 4, 30), OWU_E_TIMEOUT);
    CHECK(owu_now_ns() - t0 >= 30ull * 1000000ull);   /* not before the deadline */
    /* bulk IN with nothing to read times out too, and the device still works afterwards */
    size_t actual = 99;
    CHECK_INT(owu_transfer_sync(g_dev, OWU_XFER_BULK, 0x81, buf, 4, &actual, 20), OWU_E_TIMEOUT);
    CHECK_INT(actual, 0);
    uint8_t out[3] = {7, 8, 9};
    CHECK_OK(owu_transfer_sync(g_dev, OWU_XFER_BULK, 0x02, out, 3, &actual, 1000), NULL);
    CHECK_OK(owu_transfer_sync(g_dev, OWU_XFER_BULK, 0x81, buf, 4, &actual, 1000), NULL);
    CHECK_INT(actual, 3);
    CHECK_INT(buf[2], 9);
    teardown_bus();
}

struct async_result {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
    int status;
};

static void async_complete(struct owu_urb *urb)
{
    struct async_result *r = urb->context;
    pthread_mutex_lock(&r->lock);
    r->status = urb->status;
    r->done++;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static void wait_done(struct async_result *r, int count)
{
    pthread_mutex_lock(&r->lock);
    while (r->done < count)
        pthread_cond_wait(&r->cond, &r->lock);
    pthread_mutex_unlock(&r->lock);
}

static void test_cancel(void)
{
    setup_bus();
    struct async_result r = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    uint8_t buf[64];
    struct owu_urb urb = {0};
    urb.dev = g_dev;
    urb.type = OWU_XFER_BULK;
    urb.endpoint = 0x81;
    urb.buffer = buf;
    urb.length = sizeof buf;
    urb.complete = async_complete;
    urb.context = &r;
    CHECK_OK(owu_urb_submit(&urb), NULL);
    CHECK_INT(owu_urb_submit(&urb), OWU_E_BUSY);   /* already in flight */
    CHECK_OK(owu_urb_cancel(&urb), NULL);
    wait_done(&r, 1);
    CHECK_INT(r.status, OWU_E_CANCELLED);
    CHECK_INT(owu_urb_cancel(&urb), OWU_E_NOTFOUND);   /* finished already */
    teardown_bus();
}

static void test_unplug_with_io_pending(void)
{
    setup_bus();
    struct async_result r = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    enum { N = 8 };
    struct owu_urb urbs[N];
    uint8_t bufs[N][16];
    for (int i = 0; i < N; i++) {
        memset(&urbs[i], 0, sizeof urbs[i]);
        urbs[i].dev = g_dev;
        urbs[i].type = i % 2 ? OWU_XFER_BULK : OWU_XFER_CONTROL;
        urbs[i].endpoint = i % 2 ? 0x81 : 0;
        urbs[i].setup = (struct owu_setup){0xC0, 0x02, 0, 0, 16};
        urbs[i].buffer = bufs[i];
        urbs[i].length = 16;
        urbs[i].complete = async_complete;
        urbs[i].context = &r;
        CHECK_OK(owu_urb_submit(&urbs[i]), NULL);
    }
    CHECK_OK(owu_vbus_unplug(g_hcd, 3), NULL);
    wait_done(&r, N);
    for (int i = 0; i < N; i++)
        CHECK_INT(urbs[i].status, OWU_E_NODEV);
    CHECK(owu_usb_device_gone(g_dev));
    uint8_t b[4];
    CHECK_INT(owu_control_sync(g_dev, 0xC0, 0x01, 4, 0, b, 4, 100), OWU_E_NODEV);
    CHECK_INT(owu_vbus_unplug(g_hcd, 3), OWU_E_NOTFOUND);
    teardown_bus();
}

static void test_claim(void)
{
    setup_bus();
    CHECK_OK(owu_dev_claim_interface(g_dev, 0, 0), NULL);
    CHECK_INT(owu_dev_claim_interface(g_dev, 0, 0), OWU_E_BUSY);
    CHECK_OK(owu_dev_claim_interface(g_dev, 200, 0), NULL);
    CHECK_OK(owu_dev_release_interface(g_dev, 0), NULL);
    CHECK_INT(owu_dev_release_interface(g_dev, 0), OWU_E_NOTFOUND);
    CHECK_OK(owu_dev_claim_interface(g_dev, 0, 0), NULL);
    teardown_bus();
}

static void test_plug_errors(void)
{
    owu_err err = {0};
    struct owu_hcd *hcd = owu_vbus_create(2, &err);
    CHECK_OK(owu_vbus_plug(hcd, &echo_model, NULL, 5, NULL, &err), &err);
    CHECK_INT(owu_vbus_plug(hcd, &echo_model, NULL, 5, NULL, &err), OWU_E_BUSY);
    CHECK_CONTAINS(err.msg, "port 5 already holds a device");
    CHECK_INT(owu_vbus_plug(hcd, &echo_model, NULL, 128, NULL, &err), OWU_E_INVAL);
    CHECK_INT(owu_vbus_plug(hcd, NULL, NULL, 1, NULL, &err), OWU_E_INVAL);
    for (unsigned p = 0; p < OWU_VBUS_MAX_PORTS - 1; p++)
        CHECK_OK(owu_vbus_plug(hcd, &echo_model, NULL, 0, NULL, &err), &err);
    CHECK_INT(owu_vbus_plug(hcd, &echo_model, NULL, 0, NULL, &err), OWU_E_BUSY);
    CHECK_CONTAINS(err.msg, "all 127 ports are in use");
    owu_hcd_destroy(hcd);
}

/* Many threads, short timeouts racing with completions: every URB completes exactly once
 * with a sensible status (ASan catches any use after free). */
static atomic_int g_completions;

static void *race_thread(void *arg)
{
    (void)arg;
    uint8_t buf[8];
    for (int i = 0; i < 300; i++) {
        size_t actual;
        int rc;
        if (i % 3 == 0) {
            rc = owu_control_sync(g_dev, 0xC0, 0x02, 0, 0, buf, 8, 1);
            if (rc == OWU_E_TIMEOUT)
                atomic_fetch_add(&g_completions, 1);
        } else if (i % 3 == 1) {
            rc = owu_transfer_sync(g_dev, OWU_XFER_BULK, 0x02, buf, 8, &actual, 50);
            if (rc == OWU_OK || rc == OWU_E_TIMEOUT)
                atomic_fetch_add(&g_completions, 1);
        } else {
            rc = owu_transfer_sync(g_dev, OWU_XFER_BULK, 0x81, buf, 8, &actual, 1);
            if (rc == OWU_OK || rc == OWU_E_TIMEOUT)
                atomic_fetch_add(&g_completions, 1);
        }
    }
    return NULL;
}

static void test_timeout_races(void)
{
    setup_bus();
    atomic_store(&g_completions, 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, race_thread, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECK_INT(atomic_load(&g_completions), 4 * 300);
    teardown_bus();
}

/* ---- a backend whose submit hook lets a cancel run before it takes the URB ---------------- */

struct slow_hcd {
    struct owu_hcd hcd;
    pthread_mutex_t lock;
    struct owu_urb *held;
    int cancels_not_found;
};

static pthread_t g_canceller;
static struct owu_urb *g_race_urb;

static void *cancel_now(void *arg)
{
    (void)arg;
    owu_urb_cancel(g_race_urb);
    return NULL;
}

static int slow_submit(struct owu_urb *urb)
{
    /* The URB is marked submitted but this backend does not hold it yet: a cancel now can
     * only get "not found" from us. */
    g_race_urb = urb;
    pthread_create(&g_canceller, NULL, cancel_now, NULL);
    pthread_join(g_canceller, NULL);
    struct slow_hcd *h = (struct slow_hcd *)urb->dev->hcd;
    pthread_mutex_lock(&h->lock);
    h->held = urb;
    pthread_mutex_unlock(&h->lock);
    return OWU_OK;
}

static void *complete_later(void *arg)
{
    struct owu_urb *urb = arg;
    owu_urb_done(urb, OWU_E_CANCELLED, 0);
    return NULL;
}

static int slow_cancel(struct owu_urb *urb)
{
    struct slow_hcd *h = (struct slow_hcd *)urb->dev->hcd;
    pthread_mutex_lock(&h->lock);
    bool found = h->held == urb;
    if (found)
        h->held = NULL;
    else
        h->cancels_not_found++;
    pthread_mutex_unlock(&h->lock);
    if (!found)
        return OWU_E_NOTFOUND;
    pthread_t t;   /* complete from another thread, as a real backend does */
    pthread_create(&t, NULL, complete_later, urb);
    pthread_detach(t);
    return OWU_OK;
}

static const struct owu_hcd_ops slow_ops = {.name = "slow", .submit = slow_submit, .cancel = slow_cancel};

static void test_cancel_before_backend_holds(void)
{
    struct slow_hcd h;
    memset(&h, 0, sizeof h);
    owu_hcd_init(&h.hcd, &slow_ops, 9, "slow");
    pthread_mutex_init(&h.lock, NULL);
    struct owu_usb_device *dev = owu_usb_device_new(&h.hcd, 1, OWU_SPEED_HIGH);
    uint8_t buf[8];
    size_t actual = 0;
    /* Without the core repeating the early cancel this would wait forever (no timeout). */
    CHECK_INT(owu_transfer_sync(dev, OWU_XFER_BULK, 0x81, buf, sizeof buf, &actual, 0), OWU_E_CANCELLED);
    CHECK_INT(h.cancels_not_found, 1);
    owu_usb_device_unref(dev);
    owu_hcd_unref(&h.hcd);   /* no destroy hook: the struct is on the stack */
    pthread_mutex_destroy(&h.lock);
}

int main(void)
{
    RUN(test_control_sync);
    RUN(test_overflow_is_contained);
    RUN(test_timeout);
    RUN(test_cancel);
    RUN(test_unplug_with_io_pending);
    RUN(test_claim);
    RUN(test_plug_errors);
    RUN(test_timeout_races);
    RUN(test_cancel_before_backend_holds);
    return check_report();
}
