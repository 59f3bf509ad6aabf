/* A full-speed HID boot keyboard without a serial number (so Windows gives it a port-based
 * instance ID). The function logic is in hid_kbd_function.c, shared with the composite. */
#include "core/urb.h"
#include "devices/desc_build.h"
#include "devices/hid_kbd_function.h"
#include "devices/model_funcs.h"

#define KBD_EP_IN 0x81

static const uint8_t kbd_device[] = {
    OWU_D_DEVICE(0x0200, 0x00, 0x00, 0x00, 8, 0x1209, 0x0003, 0x0100, 1, 2, 0, 1),
};

#define KBD_CONFIG_LEN 34
static const uint8_t kbd_config[] = {
    OWU_D_CONFIG(KBD_CONFIG_LEN, 1, 1, 0, 0xA0, 50),   /* bus-powered, remote wakeup */
    OWU_D_INTERFACE(0, 0, 1, 0x03, 0x01, 0x01, 0),     /* HID, boot, keyboard */
    OWU_HIDKBD_HID_DESC,
    OWU_D_ENDPOINT(KBD_EP_IN, OWU_EP_INTR, 8, 10),     /* 10 ms */
};
_Static_assert(sizeof kbd_config == KBD_CONFIG_LEN, "kbd_config: length field and table disagree");

static const struct owu_vblob kbd_configs[] = {{kbd_config, sizeof kbd_config}};
static const uint16_t kbd_langids[] = {0x0409};
static const struct owu_vstring kbd_strings[] = {
    {1, "openwinusb"},
    {2, "openwinusb HID keyboard"},
};

struct kbd_state {
    struct owu_model_funcs funcs;   /* first: see model_funcs.h */
    struct owu_hidkbd_fn kbd;
};

static int kbd_init(struct owu_vdev *vd, const void *arg)
{
    struct kbd_state *st = owu_vdev_priv(vd);
    st->funcs.kbd = &st->kbd;
    owu_hidkbd_fn_init(&st->kbd, 0, KBD_EP_IN);
    return OWU_OK;
}

static int kbd_control(struct owu_vdev *vd, const struct owu_setup *s, uint8_t *data)
{
    struct kbd_state *st = owu_vdev_priv(vd);
    return owu_hidkbd_fn_control(&st->kbd, vd, s, data);
}

static void kbd_transfer(struct owu_vdev *vd, struct owu_urb *urb)
{
    struct kbd_state *st = owu_vdev_priv(vd);
    if (!owu_vdev_active_endpoint(vd, urb->endpoint, NULL) ||
        !owu_hidkbd_fn_transfer(&st->kbd, vd, urb))
        owu_vdev_complete(vd, urb, OWU_E_STALL, 0);
}

static void kbd_reset(struct owu_vdev *vd)
{
    struct kbd_state *st = owu_vdev_priv(vd);
    owu_hidkbd_fn_reset(&st->kbd);
}

static void kbd_configured(struct owu_vdev *vd, uint8_t value) { kbd_reset(vd); }

const struct owu_vdev_model owu_model_hid_keyboard = {
    .name = "hid-keyboard",
    .summary = "HID boot keyboard (1209:0003), full speed, no serial number",
    .speed = OWU_SPEED_FULL,
    .device = kbd_device,
    .device_len = sizeof kbd_device,
    .configs = kbd_configs,
    .num_configs = 1,
    .langids = kbd_langids,
    .num_langids = 1,
    .strings = kbd_strings,
    .num_strings = sizeof kbd_strings / sizeof kbd_strings[0],
    .priv_size = sizeof(struct kbd_state),
    .init = kbd_init,
    .control = kbd_control,
    .transfer = kbd_transfer,
    .configured = kbd_configured,
    .bus_reset = kbd_reset,
};
