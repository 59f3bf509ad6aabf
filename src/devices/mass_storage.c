/* A USB mass-storage device (bulk-only transport, SCSI transparent command set) whose
 * descriptors are enough for enumeration and driver matching. It answers the two BOT class
 * requests but carries no SCSI target: every data transfer stalls (and halts the endpoint,
 * as BOT devices do on a command they reject), so a host sees a device that refuses I/O. */
#include "core/urb.h"
#include "devices/desc_build.h"
#include "devices/models.h"

enum {
    BOT_GET_MAX_LUN = 0xFE,
    BOT_RESET = 0xFF,
};

static const uint8_t msc_device[] = {
    OWU_D_DEVICE(0x0200, 0x00, 0x00, 0x00, 64, 0x1209, 0x0005, 0x0100, 1, 2, 3, 1),
};

#define MSC_CONFIG_LEN 32
static const uint8_t msc_config[] = {
    OWU_D_CONFIG(MSC_CONFIG_LEN, 1, 1, 0, 0x80, 250),   /* 500 mA */
    OWU_D_INTERFACE(0, 0, 2, 0x08, 0x06, 0x50, 0),      /* mass storage, SCSI, bulk-only */
    OWU_D_ENDPOINT(0x81, OWU_EP_BULK, 512, 0),
    OWU_D_ENDPOINT(0x02, OWU_EP_BULK, 512, 0),
};
_Static_assert(sizeof msc_config == MSC_CONFIG_LEN, "msc_config: length field and table disagree");

static const struct owu_vblob msc_configs[] = {{msc_config, sizeof msc_config}};
static const uint16_t msc_langids[] = {0x0409};
/* BOT wants a serial of at least 12 hex digits. */
static const struct owu_vstring msc_strings[] = {
    {1, "openwinusb"},
    {2, "openwinusb mass storage"},
    {3, "4F5755000005"},
};

static int msc_control(struct owu_vdev *vd, const struct owu_setup *s, uint8_t *data)
{
    if ((s->bmRequestType & (OWU_TYPE_MASK | OWU_RECIP_MASK)) != (OWU_TYPE_CLASS | OWU_RECIP_INTERFACE))
        return OWU_VDEV_DEFAULT;
    if (s->wIndex != 0 || s->wValue != 0)
        return OWU_E_STALL;
    switch (s->bRequest) {
    case BOT_GET_MAX_LUN: {
        if (s->bmRequestType != 0xA1 || s->wLength < 1)
            return OWU_E_STALL;
        uint8_t max_lun = 0;
        return owu_vdev_reply(s, data, &max_lun, 1);
    }
    case BOT_RESET:
        return s->bmRequestType == 0x21 && s->wLength == 0 ? 0 : OWU_E_STALL;
    default:
        return OWU_E_STALL;
    }
}

static void msc_transfer(struct owu_vdev *vd, struct owu_urb *urb)
{
    if (owu_vdev_active_endpoint(vd, urb->endpoint, NULL))
        owu_vdev_set_halt(vd, urb->endpoint, true);
    owu_vdev_complete(vd, urb, OWU_E_STALL, 0);
}

const struct owu_vdev_model owu_model_mass_storage = {
    .name = "mass-storage",
    .summary = "bulk-only mass storage (1209:0005), descriptors only: data stalls",
    .speed = OWU_SPEED_HIGH,
    .device = msc_device,
    .device_len = sizeof msc_device,
    .configs = msc_configs,
    .num_configs = 1,
    .langids = msc_langids,
    .num_langids = 1,
    .strings = msc_strings,
    .num_strings = sizeof msc_strings / sizeof msc_strings[0],
    .control = msc_control,
    .transfer = msc_transfer,
};
