/* The isochronous loopback model (src/devices/iso_loopback.c) on a virtual bus: its
 * descriptors (alternate setting 0 without endpoints, 1 with ISO OUT 0x01 / IN 0x81), the
 * endpoints absent in alt 0, OUT packets coming back one per IN packet with their lengths,
 * an IN URB waiting while nothing is kept, a packet larger than the IN packet, packet tables
 * outside the buffer, and SET_INTERFACE dropping what is kept. */
#include <pthread.h>
#include <time.h>

#include <openwinusb/descriptors.h>

#include "check.h"
#include "core/urb.h"
#include "devices/models.h"
#include "hcd/vbus.h"

#define TIMEOUT_MS 2000
#define MPS 512

static struct owu_hcd *hcd;
static struct owu_vdev *vd;
static struct owu_usb_device *dev;

static int ctl(uint8_t type, uint8_t req, uint16_t value, uint16_t index, void *data, uint16_t len)
{
    return owu_control_sync(dev, type, req, value, index, data, len, TIMEOUT_MS);
}

struct iso_xfer {
    struct owu_urb urb;
    struct owu_iso_packet pk[16];
    uint8_t buf[16 * MPS];
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
};

static void on_done(struct owu_urb *u)
{
    struct iso_xfer *x = u->context;
    pthread_mutex_lock(&x->lock);
    x->done = true;
    pthread_cond_signal(&x->cond);
    pthread_mutex_unlock(&x->lock);
}

/* Submits an ISO URB of `n` packets of the given lengths laid out back to back. */
static int submit(struct iso_xfer *x, uint8_t ep, unsigned n, const uint32_t *lens)
{
    memset(&x->urb, 0, sizeof x->urb);
    pthread_mutex_init(&x->lock, NULL);
    pthread_cond_init(&x->cond, NULL);
    x->done = false;
    uint32_t off = 0;
    for (unsigned i = 0; i < n; i++) {
        x->pk[i] = (struct owu_iso_packet){.offset = off, .length = lens[i]};
        off += lens[i];
    }
    x->urb = (struct owu_urb){.dev = dev, .type = OWU_XFER_ISOCHRONOUS, .endpoint = ep,
                              .buffer = x->buf, .length = off, .flags = OWU_URB_ISO_ASAP,
                              .num_iso_packets = n, .iso = x->pk, .complete = on_done, .context = x};
    return owu_urb_submit(&x->urb);
}

static bool wait_done(struct iso_xfer *x, unsigned ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&x->lock);
    while (!x->done)
        if (pthread_cond_timedwait(&x->cond, &x->lock, &until) != 0)
            break;
    bool done = x->done;
    pthread_mutex_unlock(&x->lock);
    return done;
}

static struct iso_xfer xo, xi;

static void setup_bus(void)
{
    owu_err err = {0};
    hcd = owu_vbus_create(1, &err);
    CHECK(hcd != NULL);
    if (!hcd)
        exit(check_report());
    CHECK_OK(owu_vbus_plug(hcd, &owu_model_iso_loopback, NULL, 0, &vd, &err), &err);
    if (!vd)
        exit(check_report());
    dev = vd->dev;
    CHECK_INT(ctl(0x00, OWU_REQ_SET_ADDRESS, 5, 0, NULL, 0), 0);
    CHECK_INT(ctl(0x00, OWU_REQ_SET_CONFIGURATION, 1, 0, NULL, 0), 0);
}

static void test_registered(void)
{
    CHECK(owu_vdev_model_find("iso-loopback") == &owu_model_iso_loopback);
    CHECK(!owu_vdev_model_in_all(&owu_model_iso_loopback));
    CHECK_INT(owu_model_iso_loopback.speed, OWU_SPEED_HIGH);
}

static void test_descriptors(void)
{
    uint8_t d[18];
    CHECK_INT(ctl(0x80, OWU_REQ_GET_DESCRIPTOR, OWU_DT_DEVICE << 8, 0, d, sizeof d), 18);
    CHECK_INT(d[8] | d[9] << 8, 0x1209);
    CHECK_INT(d[10] | d[11] << 8, 0x0007);
    uint8_t c[64];
    int n = ctl(0x80, OWU_REQ_GET_DESCRIPTOR, OWU_DT_CONFIG << 8, 0, c, sizeof c);
    CHECK_INT(n, 41);
    /* interface 0 alt 0: no endpoints; alt 1: two ISO endpoints of 512 bytes, interval 1 */
    CHECK_INT(c[9 + 1], OWU_DT_INTERFACE);
    CHECK_INT(c[9 + 3], 0);
    CHECK_INT(c[9 + 4], 0);
    CHECK_INT(c[18 + 3], 1);
    CHECK_INT(c[18 + 4], 2);
    CHECK_INT(c[27 + 2], 0x01);
    CHECK_INT(c[27 + 3] & 3, 1);
    CHECK_INT(c[27 + 4] | c[27 + 5] << 8, MPS);
    CHECK_INT(c[34 + 2], 0x81);
    CHECK_INT(c[34 + 3] & 3, 1);
    CHECK_INT(c[34 + 6], 1);
}

static void test_alt0_has_no_endpoints(void)
{
    static const uint32_t lens[] = {10};
    CHECK_INT(submit(&xo, 0x01, 1, lens), OWU_OK);
    CHECK(wait_done(&xo, TIMEOUT_MS));
    CHECK_INT(xo.urb.status, OWU_E_STALL);
}

static void test_loop_per_packet(void)
{
    CHECK_INT(ctl(0x01, OWU_REQ_SET_INTERFACE, 1, 0, NULL, 0), 0);
    static const uint32_t out_lens[] = {512, 1, 0, 300, 512, 77};
    unsigned n = 6;
    uint32_t total = 0;
    for (unsigned i = 0; i < n; i++)
        total += out_lens[i];
    for (uint32_t i = 0; i < total; i++)
        xo.buf[i] = (uint8_t)(i * 13u + 5u);
    CHECK_INT(submit(&xo, 0x01, n, out_lens), OWU_OK);
    CHECK(wait_done(&xo, TIMEOUT_MS));
    CHECK_INT(xo.urb.status, OWU_OK);
    CHECK_INT(xo.urb.actual, total);
    for (unsigned i = 0; i < n; i++)
        CHECK_INT(xo.pk[i].actual, out_lens[i]);
    /* IN with 8 packets of 512: the six kept packets, then two empty ones */
    static const uint32_t in_lens[] = {MPS, MPS, MPS, MPS, MPS, MPS, MPS, MPS};
    memset(xi.buf, 0xEE, sizeof xi.buf);
    CHECK_INT(submit(&xi, 0x81, 8, in_lens), OWU_OK);
    CHECK(wait_done(&xi, TIMEOUT_MS));
    CHECK_INT(xi.urb.status, OWU_OK);
    CHECK_INT(xi.urb.actual, total);
    uint32_t off = 0;
    bool same = true;
    for (unsigned i = 0; i < 8; i++) {
        uint32_t want = i < n ? out_lens[i] : 0;
        CHECK_INT(xi.pk[i].actual, want);
        CHECK_INT(xi.pk[i].status, OWU_OK);
        same = same && memcmp(xi.buf + xi.pk[i].offset, xo.buf + off, want) == 0;
        off += want;
    }
    CHECK(same);
}

static void test_in_waits_for_data(void)
{
    static const uint32_t in_lens[] = {MPS, MPS};
    CHECK_INT(submit(&xi, 0x81, 2, in_lens), OWU_OK);
    CHECK(!wait_done(&xi, 100));   /* nothing kept: it waits */
    static const uint32_t out_lens[] = {64};
    memset(xo.buf, 0x5A, 64);
    CHECK_INT(submit(&xo, 0x01, 1, out_lens), OWU_OK);
    CHECK(wait_done(&xo, TIMEOUT_MS));
    CHECK(wait_done(&xi, TIMEOUT_MS));
    CHECK_INT(xi.urb.status, OWU_OK);
    CHECK_INT(xi.pk[0].actual, 64);
    CHECK_INT(xi.pk[1].actual, 0);
    CHECK_INT(xi.buf[63], 0x5A);
    /* cancelling a waiting IN URB ends it */
    CHECK_INT(submit(&xi, 0x81, 2, in_lens), OWU_OK);
    CHECK(!wait_done(&xi, 50));
    owu_urb_cancel(&xi.urb);
    CHECK(wait_done(&xi, TIMEOUT_MS));
    CHECK_INT(xi.urb.status, OWU_E_CANCELLED);
}

static void test_short_in_packet_and_bad_tables(void)
{
    static const uint32_t out_lens[] = {200};
    CHECK_INT(submit(&xo, 0x01, 1, out_lens), OWU_OK);
    CHECK(wait_done(&xo, TIMEOUT_MS));
    static const uint32_t in_lens[] = {100};
    CHECK_INT(submit(&xi, 0x81, 1, in_lens), OWU_OK);
    CHECK(wait_done(&xi, TIMEOUT_MS));
    CHECK_INT(xi.pk[0].actual, 100);
    CHECK_INT(xi.pk[0].status, OWU_E_OVERFLOW);
    /* an OUT packet larger than wMaxPacketSize is refused, the others go through */
    static const uint32_t big[] = {MPS + 1, 10};
    CHECK_INT(submit(&xo, 0x01, 2, big), OWU_OK);
    CHECK(wait_done(&xo, TIMEOUT_MS));
    CHECK_INT(xo.pk[0].status, OWU_E_OVERFLOW);
    CHECK_INT(xo.pk[1].actual, 10);
    /* a packet outside the buffer: the URB is refused */
    memset(&xo.urb, 0, sizeof xo.urb);
    xo.done = false;
    xo.pk[0] = (struct owu_iso_packet){.offset = 8, .length = 10};
    xo.urb = (struct owu_urb){.dev = dev, .type = OWU_XFER_ISOCHRONOUS, .endpoint = 0x01,
                              .buffer = xo.buf, .length = 12, .num_iso_packets = 1, .iso = xo.pk,
                              .complete = on_done, .context = &xo};
    int rc = owu_urb_submit(&xo.urb);
    if (rc == OWU_OK) {
        CHECK(wait_done(&xo, TIMEOUT_MS));
        rc = xo.urb.status;
    }
    CHECK(rc != OWU_OK);
}

static void test_set_interface_drops_kept(void)
{
    static const uint32_t out_lens[] = {32, 32};
    CHECK_INT(submit(&xo, 0x01, 2, out_lens), OWU_OK);
    CHECK(wait_done(&xo, TIMEOUT_MS));
    CHECK_INT(ctl(0x01, OWU_REQ_SET_INTERFACE, 0, 0, NULL, 0), 0);
    CHECK_INT(ctl(0x01, OWU_REQ_SET_INTERFACE, 1, 0, NULL, 0), 0);
    static const uint32_t in_lens[] = {MPS};
    CHECK_INT(submit(&xi, 0x81, 1, in_lens), OWU_OK);
    CHECK(!wait_done(&xi, 100));
    owu_urb_cancel(&xi.urb);
    CHECK(wait_done(&xi, TIMEOUT_MS));
}

int main(void)
{
    RUN(test_registered);
    setup_bus();
    RUN(test_descriptors);
    RUN(test_alt0_has_no_endpoints);
    RUN(test_loop_per_packet);
    RUN(test_in_waits_for_data);
    RUN(test_short_in_packet_and_bad_tables);
    RUN(test_set_interface_drops_kept);
    owu_hcd_destroy(hcd);
    return check_report();
}
