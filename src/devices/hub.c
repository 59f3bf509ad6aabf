/* A high-speed USB 2.0 hub (single TT) with four empty ports. Its descriptors drive the hub
 * paths of enumeration and ID building (USB\USB20_HUB, the MSFT20 serial prefix); the hub
 * class requests keep per-port power state, and no device ever connects, so the status
 * change endpoint never reports anything (its URBs stay pending). */
#include <string.h>

#include "core/urb.h"
#include "devices/desc_build.h"
#include "devices/models.h"

#define HUB_PORTS 4
#define HUB_EP_STATUS 0x81

enum {
    HUB_GET_STATUS = 0x00,
    HUB_CLEAR_FEATURE = 0x01,
    HUB_SET_FEATURE = 0x03,
    HUB_GET_DESCRIPTOR = 0x06,
    HUB_PORT_POWER = 8,
    HUB_PORT_STATUS_POWER = 0x0100,
    HUB_FEATURE_MAX = 22,    /* highest USB 2.0 port feature selector (PORT_INDICATOR) */
};

static const uint8_t hub_device[] = {
    OWU_D_DEVICE(0x0200, 0x09, 0x00, 0x01, 64, 0x1209, 0x0006, 0x0100, 1, 2, 3, 1),
};

#define HUB_CONFIG_LEN 25
static const uint8_t hub_config[] = {
    OWU_D_CONFIG(HUB_CONFIG_LEN, 1, 1, 0, 0xE0, 50),    /* self-powered, remote wakeup */
    OWU_D_INTERFACE(0, 0, 1, 0x09, 0x00, 0x00, 0),
    OWU_D_ENDPOINT(HUB_EP_STATUS, OWU_EP_INTR, 1, 12),  /* 1 bit per port + hub; 256 ms */
};
_Static_assert(sizeof hub_config == HUB_CONFIG_LEN, "hub_config: length field and table disagree");

/* Hub descriptor: 4 ports, per-port power switching and over-current reporting, 100 ms
 * power-on to power-good, 100 mA for the hub controller, all ports removable. */
static const uint8_t hub_class_desc[] = {
    9, 0x29, HUB_PORTS, OWU_LE16(0x0009), 50, 100, 0x00, 0xFF,
};

static const struct owu_vblob hub_configs[] = {{hub_config, sizeof hub_config}};
static const uint16_t hub_langids[] = {0x0409};
static const struct owu_vstring hub_strings[] = {
    {1, "openwinusb"},
    {2, "openwinusb 4-port hub"},
    {3, "OWUHUB0006"},
};

struct hub_state {
    uint8_t powered;    /* bit n: port n powered */
};

static int hub_control(struct owu_vdev *vd, const struct owu_setup *s, uint8_t *data)
{
    struct hub_state *st = owu_vdev_priv(vd);
    if ((s->bmRequestType & OWU_TYPE_MASK) != OWU_TYPE_CLASS)
        return OWU_VDEV_DEFAULT;
    uint8_t recip = s->bmRequestType & OWU_RECIP_MASK;
    bool in = (s->bmRequestType & OWU_DIR_IN) != 0;
    bool port_ok = s->wIndex >= 1 && s->wIndex <= HUB_PORTS;

    switch (s->bRequest) {
    case HUB_GET_DESCRIPTOR:
        if (!in || recip != OWU_RECIP_DEVICE || (s->wValue >> 8) != OWU_DT_HUB)
            return OWU_E_STALL;
        return owu_vdev_reply(s, data, hub_class_desc, sizeof hub_class_desc);
    case HUB_GET_STATUS: {
        uint8_t status[4] = {0};
        if (!in || s->wValue != 0)
            return OWU_E_STALL;
        if (recip == OWU_RECIP_OTHER) {
            if (!port_ok)
                return OWU_E_STALL;
            if (st->powered & (1u << s->wIndex))
                owu_put_le16(status, HUB_PORT_STATUS_POWER);
        } else if (recip != OWU_RECIP_DEVICE || s->wIndex != 0) {
            return OWU_E_STALL;
        }
        return owu_vdev_reply(s, data, status, sizeof status);
    }
    case HUB_SET_FEATURE:
    case HUB_CLEAR_FEATURE:
        if (in || s->wLength)
            return OWU_E_STALL;
        if (recip == OWU_RECIP_DEVICE)   /* C_HUB_LOCAL_POWER, C_HUB_OVER_CURRENT */
            return s->wValue <= 1 && s->wIndex == 0 ? 0 : OWU_E_STALL;
        if (recip != OWU_RECIP_OTHER || (s->wIndex & 0xFF) < 1 || (s->wIndex & 0xFF) > HUB_PORTS ||
            s->wValue > HUB_FEATURE_MAX)
            return OWU_E_STALL;
        if (s->wValue == HUB_PORT_POWER) {
            uint8_t bit = (uint8_t)(1u << (s->wIndex & 0xFF));
            st->powered = s->bRequest == HUB_SET_FEATURE ? st->powered | bit : st->powered & ~bit;
        }
        return 0;   /* reset, suspend, enable, indicators: nothing is connected */
    default:
        return OWU_E_STALL;   /* TT requests and the rest */
    }
}

static void hub_transfer(struct owu_vdev *vd, struct owu_urb *urb)
{
    if (urb->endpoint == HUB_EP_STATUS && owu_vdev_active_endpoint(vd, urb->endpoint, NULL))
        owu_vdev_queue(vd, urb);
    else
        owu_vdev_complete(vd, urb, OWU_E_STALL, 0);
}

static void hub_bus_reset(struct owu_vdev *vd)
{
    struct hub_state *st = owu_vdev_priv(vd);
    st->powered = 0;
}

const struct owu_vdev_model owu_model_hub = {
    .name = "hub",
    .summary = "USB 2.0 hub (1209:0006), 4 empty ports",
    .speed = OWU_SPEED_HIGH,
    .device = hub_device,
    .device_len = sizeof hub_device,
    .configs = hub_configs,
    .num_configs = 1,
    .langids = hub_langids,
    .num_langids = 1,
    .strings = hub_strings,
    .num_strings = sizeof hub_strings / sizeof hub_strings[0],
    .priv_size = sizeof(struct hub_state),
    .control = hub_control,
    .transfer = hub_transfer,
    .bus_reset = hub_bus_reset,
};
