/* An isochronous loopback (1209:0007, high speed): one vendor-class interface whose alternate
 * setting 0 has no endpoints (zero bandwidth, as the USB specification asks of ISO
 * interfaces) and whose alternate setting 1 has an isochronous OUT endpoint 0x01 and IN
 * endpoint 0x81, 512 bytes every microframe. Every OUT packet is kept as one packet and
 * comes back as one IN packet, in order: an IN packet gets the next kept packet (cut to the
 * packet's length), so data and packet boundaries both loop back.
 *
 * Timing is not modelled: an OUT URB completes at once; an IN URB waits while nothing is
 * kept (so a host that polls does not spin), and completes as soon as at least one packet
 * is kept, its remaining packets empty (actual 0, status OK), as a device with nothing to
 * send in a frame answers with a zero-length packet. At most ISO_LOOP_PACKETS packets are
 * kept; an OUT packet beyond that is dropped (isochronous data is not retried). Selecting an
 * alternate setting, configuring or resetting the device drops what is kept. */
#include <string.h>

#include "core/urb.h"
#include "devices/desc_build.h"
#include "devices/models.h"

#define ISO_VID 0x1209
#define ISO_PID 0x0007
#define ISO_EP_OUT 0x01
#define ISO_EP_IN 0x81
#define ISO_MPS 512
#define ISO_LOOP_PACKETS 256
#define OWU_EP_ISO_ASYNC 0x05   /* isochronous, asynchronous synchronisation */

static const uint8_t iso_device[] = {
    OWU_D_DEVICE(0x0200, 0x00, 0x00, 0x00, 64, ISO_VID, ISO_PID, 0x0100, 1, 2, 3, 1),
};

#define ISO_CONFIG_LEN (9 + 9 + 9 + 7 + 7)
static const uint8_t iso_config[] = {
    OWU_D_CONFIG(ISO_CONFIG_LEN, 1, 1, 0, 0x80, 50),   /* bus-powered, 100 mA */
    OWU_D_INTERFACE(0, 0, 0, 0xFF, 0x00, 0x00, 4),     /* zero bandwidth */
    OWU_D_INTERFACE(0, 1, 2, 0xFF, 0x00, 0x00, 4),
    OWU_D_ENDPOINT(ISO_EP_OUT, OWU_EP_ISO_ASYNC, ISO_MPS, 1),
    OWU_D_ENDPOINT(ISO_EP_IN, OWU_EP_ISO_ASYNC, ISO_MPS, 1),
};
_Static_assert(sizeof iso_config == ISO_CONFIG_LEN, "iso_config: length field and table disagree");

static const struct owu_vblob iso_configs[] = {{iso_config, sizeof iso_config}};
static const uint16_t iso_langids[] = {0x0409};
static const struct owu_vstring iso_strings[] = {
    {1, "openwinusb"},
    {2, "openwinusb isochronous loopback"},
    {3, "OWUISO1"},
    {4, "ISO loopback"},
};

struct iso_state {
    /* Ring of kept packets: lengths, and ISO_MPS bytes of room each. */
    uint16_t len[ISO_LOOP_PACKETS];
    uint8_t data[ISO_LOOP_PACKETS][ISO_MPS];
    unsigned head, count;
};

static void iso_flush(struct iso_state *st)
{
    st->head = 0;
    st->count = 0;
}

static int iso_init(struct owu_vdev *vd, const void *arg)
{
    (void)arg;
    iso_flush(owu_vdev_priv(vd));
    return OWU_OK;
}

/* Checks an URB's packet table against its buffer; false when a packet lies outside it. */
static bool packets_fit(const struct owu_urb *u)
{
    if (u->num_iso_packets == 0 || !u->iso)
        return false;
    for (unsigned i = 0; i < u->num_iso_packets; i++) {
        const struct owu_iso_packet *p = &u->iso[i];
        if (p->offset > u->length || p->length > u->length - p->offset)
            return false;
    }
    return true;
}

static void fill_in(struct iso_state *st, struct owu_vdev *vd, struct owu_urb *u)
{
    size_t total = 0;
    for (unsigned i = 0; i < u->num_iso_packets; i++) {
        struct owu_iso_packet *p = &u->iso[i];
        p->actual = 0;
        p->status = OWU_OK;
        if (st->count == 0)
            continue;
        size_t n = st->len[st->head];
        if (n > p->length) {
            n = p->length;
            p->status = OWU_E_OVERFLOW;   /* the packet was larger than the host asked for */
        }
        memcpy(u->buffer + p->offset, st->data[st->head], n);
        p->actual = (uint32_t)n;
        total += n;
        st->head = (st->head + 1) % ISO_LOOP_PACKETS;
        st->count--;
    }
    u->start_frame = vd->bus ? owu_vbus_frame_number(vd->bus) : 0;
    owu_vdev_complete(vd, u, OWU_OK, total);
}

static void pump_in(struct iso_state *st, struct owu_vdev *vd)
{
    struct owu_urb *u;
    while (st->count > 0 && (u = owu_vdev_take(vd, ISO_EP_IN)) != NULL)
        fill_in(st, vd, u);
}

static void iso_transfer(struct owu_vdev *vd, struct owu_urb *urb)
{
    struct iso_state *st = owu_vdev_priv(vd);
    if (!owu_vdev_active_endpoint(vd, urb->endpoint, NULL) || urb->type != OWU_XFER_ISOCHRONOUS) {
        owu_vdev_complete(vd, urb, OWU_E_STALL, 0);
        return;
    }
    if (!packets_fit(urb)) {
        owu_vdev_complete(vd, urb, OWU_E_INVAL, 0);
        return;
    }
    if (urb->endpoint == ISO_EP_IN) {
        if (st->count == 0)
            owu_vdev_queue(vd, urb);
        else
            fill_in(st, vd, urb);
        return;
    }
    size_t total = 0;
    for (unsigned i = 0; i < urb->num_iso_packets; i++) {
        struct owu_iso_packet *p = &urb->iso[i];
        if (p->length > ISO_MPS) {   /* more than the endpoint carries in one packet */
            p->actual = 0;
            p->status = OWU_E_OVERFLOW;
            continue;
        }
        p->actual = p->length;
        p->status = OWU_OK;
        total += p->length;
        if (st->count == ISO_LOOP_PACKETS)
            continue;   /* dropped, as a full device would */
        unsigned slot = (st->head + st->count) % ISO_LOOP_PACKETS;
        memcpy(st->data[slot], urb->buffer + p->offset, p->length);
        st->len[slot] = (uint16_t)p->length;
        st->count++;
    }
    urb->start_frame = vd->bus ? owu_vbus_frame_number(vd->bus) : 0;
    owu_vdev_complete(vd, urb, OWU_OK, total);
    pump_in(st, vd);
}

static void iso_configured(struct owu_vdev *vd, uint8_t value)
{
    (void)value;
    iso_flush(owu_vdev_priv(vd));
}

static void iso_interface_set(struct owu_vdev *vd, uint8_t intf, uint8_t alt)
{
    (void)intf;
    (void)alt;
    iso_flush(owu_vdev_priv(vd));
}

static void iso_bus_reset(struct owu_vdev *vd) { iso_flush(owu_vdev_priv(vd)); }

const struct owu_vdev_model owu_model_iso_loopback = {
    .name = "iso-loopback",
    .summary = "isochronous loopback (1209:0007): ISO OUT 0x01 packets echoed on ISO IN 0x81 (alt 1)",
    .speed = OWU_SPEED_HIGH,
    .device = iso_device,
    .device_len = sizeof iso_device,
    .configs = iso_configs,
    .num_configs = 1,
    .langids = iso_langids,
    .num_langids = 1,
    .strings = iso_strings,
    .num_strings = sizeof iso_strings / sizeof iso_strings[0],
    .priv_size = sizeof(struct iso_state),
    .init = iso_init,
    .transfer = iso_transfer,
    .configured = iso_configured,
    .interface_set = iso_interface_set,
    .bus_reset = iso_bus_reset,
};
