/* The OSR USB-FX2 learning kit: switches, a bar graph and a 7-segment display behind vendor
 * requests, the switch state on an interrupt endpoint, and a bulk loopback (0x06 -> 0x88).
 * Like the real kit it has no serial number. */
#include <string.h>

#include "core/urb.h"
#include "devices/desc_build.h"
#include "devices/loopback.h"
#include "devices/models.h"

#define FX2_VID 0x0547
#define FX2_PID 0x1002
#define FX2_EP_SWITCHES 0x81
#define FX2_EP_OUT 0x06
#define FX2_EP_IN 0x88

enum {
    FX2_READ_7SEGMENT_DISPLAY = 0xD4,
    FX2_READ_SWITCHES = 0xD6,
    FX2_READ_BARGRAPH_DISPLAY = 0xD7,
    FX2_SET_BARGRAPH_DISPLAY = 0xD8,
    FX2_IS_HIGH_SPEED = 0xD9,
    FX2_SET_7SEGMENT_DISPLAY = 0xDB,
};

static const uint8_t fx2_device[] = {
    OWU_D_DEVICE(0x0200, 0x00, 0x00, 0x00, 64, FX2_VID, FX2_PID, 0x0000, 1, 2, 0, 1),
};

#define FX2_CONFIG_LEN 39
static const uint8_t fx2_config[] = {
    OWU_D_CONFIG(FX2_CONFIG_LEN, 1, 1, 0, 0xA0, 50),   /* bus-powered, remote wakeup, 100 mA */
    OWU_D_INTERFACE(0, 0, 3, 0xFF, 0x00, 0x00, 0),
    OWU_D_ENDPOINT(FX2_EP_SWITCHES, OWU_EP_INTR, 1, 1),
    OWU_D_ENDPOINT(FX2_EP_OUT, OWU_EP_BULK, 512, 0),
    OWU_D_ENDPOINT(FX2_EP_IN, OWU_EP_BULK, 512, 0),
};
_Static_assert(sizeof fx2_config == FX2_CONFIG_LEN, "fx2_config: length field and table disagree");

static const struct owu_vblob fx2_configs[] = {{fx2_config, sizeof fx2_config}};
static const uint16_t fx2_langids[] = {0x0409};
static const struct owu_vstring fx2_strings[] = {
    {1, "OSR"},
    {2, "OSR USB-FX2 Learning Kit"},
};

struct fx2_state {
    uint8_t switches;
    uint8_t bargraph;
    uint8_t segment;
    bool switch_report;      /* a changed switch state waits for an interrupt IN URB */
    struct owu_loopback loop;
};

static int fx2_init(struct owu_vdev *vd, const void *arg)
{
    struct fx2_state *st = owu_vdev_priv(vd);
    owu_loopback_init(&st->loop, FX2_EP_OUT, FX2_EP_IN);
    return OWU_OK;
}

static void report_switches(struct fx2_state *st, struct owu_vdev *vd)
{
    if (!st->switch_report)
        return;
    struct owu_urb *u = owu_vdev_take(vd, FX2_EP_SWITCHES);
    if (!u)
        return;
    st->switch_report = false;
    if (u->length == 0) {
        owu_vdev_complete(vd, u, OWU_E_OVERFLOW, 0);
        return;
    }
    u->buffer[0] = st->switches;
    owu_vdev_complete(vd, u, OWU_OK, 1);
}

/* The firmware decodes vendor requests by bRequest; requests sent with a standard type
 * (as Microsoft's WinUSB walk-through does for 0xD8) reach it the same way. */
static int fx2_control(struct owu_vdev *vd, const struct owu_setup *s, uint8_t *data)
{
    struct fx2_state *st = owu_vdev_priv(vd);
    uint8_t type = s->bmRequestType & OWU_TYPE_MASK;
    if ((type != OWU_TYPE_VENDOR && type != OWU_TYPE_STANDARD) ||
        (s->bmRequestType & OWU_RECIP_MASK) != OWU_RECIP_DEVICE)
        return OWU_VDEV_DEFAULT;
    bool in = (s->bmRequestType & OWU_DIR_IN) != 0;
    uint8_t byte;
    switch (s->bRequest) {
    case FX2_READ_7SEGMENT_DISPLAY:
        byte = st->segment;
        break;
    case FX2_READ_SWITCHES:
        byte = st->switches;
        break;
    case FX2_READ_BARGRAPH_DISPLAY:
        byte = st->bargraph;
        break;
    case FX2_IS_HIGH_SPEED:
        byte = (vd->dev ? vd->dev->speed : vd->model->speed) == OWU_SPEED_HIGH;
        break;
    case FX2_SET_BARGRAPH_DISPLAY:
    case FX2_SET_7SEGMENT_DISPLAY:
        if (in || s->wLength < 1)
            return OWU_E_STALL;
        if (s->bRequest == FX2_SET_BARGRAPH_DISPLAY)
            st->bargraph = data[0];
        else
            st->segment = data[0];
        return 0;
    default:
        return OWU_VDEV_DEFAULT;
    }
    return in ? owu_vdev_reply(s, data, &byte, 1) : OWU_E_STALL;
}

static void fx2_transfer(struct owu_vdev *vd, struct owu_urb *urb)
{
    struct fx2_state *st = owu_vdev_priv(vd);
    if (!owu_vdev_active_endpoint(vd, urb->endpoint, NULL)) {
        owu_vdev_complete(vd, urb, OWU_E_STALL, 0);
        return;
    }
    if (urb->endpoint == FX2_EP_SWITCHES) {
        owu_vdev_queue(vd, urb);
        report_switches(st, vd);
        return;
    }
    if (!owu_loopback_transfer(&st->loop, vd, urb))
        owu_vdev_complete(vd, urb, OWU_E_STALL, 0);
}

static void fx2_configured(struct owu_vdev *vd, uint8_t value)
{
    struct fx2_state *st = owu_vdev_priv(vd);
    owu_loopback_flush(&st->loop);
}

static void fx2_bus_reset(struct owu_vdev *vd)
{
    struct fx2_state *st = owu_vdev_priv(vd);
    owu_loopback_flush(&st->loop);
    st->switch_report = false;
}

const struct owu_vdev_model owu_model_fx2 = {
    .name = "fx2",
    .summary = "OSR USB-FX2 learning kit (0547:1002): switches, LEDs, bulk loopback",
    .speed = OWU_SPEED_HIGH,
    .device = fx2_device,
    .device_len = sizeof fx2_device,
    .configs = fx2_configs,
    .num_configs = 1,
    .langids = fx2_langids,
    .num_langids = 1,
    .strings = fx2_strings,
    .num_strings = sizeof fx2_strings / sizeof fx2_strings[0],
    .priv_size = sizeof(struct fx2_state),
    .init = fx2_init,
    .control = fx2_control,
    .transfer = fx2_transfer,
    .configured = fx2_configured,
    .bus_reset = fx2_bus_reset,
};

/* ---- injection / inspection API ----------------------------------------------------------- */

struct fx2_call {
    int value;
    int which;
};

static void do_set_switches(struct owu_vdev *vd, void *arg)
{
    struct fx2_state *st = owu_vdev_priv(vd);
    uint8_t v = (uint8_t)((struct fx2_call *)arg)->value;
    if (v == st->switches)
        return;
    st->switches = v;
    st->switch_report = true;
    report_switches(st, vd);
}

int owu_fx2_set_switches(struct owu_vdev *vd, uint8_t switches)
{
    if (!vd || vd->model != &owu_model_fx2)
        return OWU_E_INVAL;
    struct fx2_call c = {.value = switches};
    owu_vdev_with_lock(vd, do_set_switches, &c);
    return OWU_OK;
}

static void do_read(struct owu_vdev *vd, void *arg)
{
    struct fx2_state *st = owu_vdev_priv(vd);
    struct fx2_call *c = arg;
    c->value = c->which ? st->segment : st->bargraph;
}

static int read_display(struct owu_vdev *vd, int which)
{
    if (!vd || vd->model != &owu_model_fx2)
        return OWU_E_INVAL;
    struct fx2_call c = {.which = which};
    owu_vdev_with_lock(vd, do_read, &c);
    return c.value;
}

int owu_fx2_bargraph(struct owu_vdev *vd) { return read_display(vd, 0); }
int owu_fx2_7segment(struct owu_vdev *vd) { return read_display(vd, 1); }
