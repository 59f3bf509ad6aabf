/* A composite device: CDC-ACM (IAD, interfaces 0-1), a vendor interface 2 with a bulk
 * loopback that MS OS 2.0 descriptors mark as WINUSB, and a HID boot keyboard on
 * interface 3. Device class EF/02/01, bcdUSB 2.10 (for the BOS), two languages. */
#include "core/urb.h"
#include "devices/cdc_acm_function.h"
#include "devices/desc_build.h"
#include "devices/hid_kbd_function.h"
#include "devices/loopback.h"
#include "devices/model_funcs.h"

#define CMP_EP_ACM_NOTIFY 0x83
#define CMP_EP_ACM_IN 0x81
#define CMP_EP_ACM_OUT 0x02
#define CMP_EP_VENDOR_IN 0x84
#define CMP_EP_VENDOR_OUT 0x04
#define CMP_EP_KBD_IN 0x85
#define CMP_VENDOR_CODE 0x21
#define CMP_WINDOWS_VERSION 0x06030000   /* Windows 8.1 */

static const uint8_t cmp_device[] = {
    OWU_D_DEVICE(0x0210, 0xEF, 0x02, 0x01, 64, 0x1209, 0x0002, 0x0100, 1, 2, 3, 1),
};

#define CMP_CONFIG_LEN 123
static const uint8_t cmp_config[] = {
    OWU_D_CONFIG(CMP_CONFIG_LEN, 4, 1, 0, 0x80, 100),
    OWU_D_IAD(0, 2, 0x02, 0x02, 0x01, 4),
    OWU_D_INTERFACE(0, 0, 1, 0x02, 0x02, 0x01, 0),
    OWU_ACM_FUNCTIONAL_DESCS(0, 1),
    OWU_D_ENDPOINT(CMP_EP_ACM_NOTIFY, OWU_EP_INTR, 16, 8),
    OWU_D_INTERFACE(1, 0, 2, 0x0A, 0x00, 0x00, 0),
    OWU_D_ENDPOINT(CMP_EP_ACM_IN, OWU_EP_BULK, 512, 0),
    OWU_D_ENDPOINT(CMP_EP_ACM_OUT, OWU_EP_BULK, 512, 0),
    OWU_D_INTERFACE(2, 0, 2, 0xFF, 0x00, 0x00, 5),
    OWU_D_ENDPOINT(CMP_EP_VENDOR_IN, OWU_EP_BULK, 512, 0),
    OWU_D_ENDPOINT(CMP_EP_VENDOR_OUT, OWU_EP_BULK, 512, 0),
    OWU_D_INTERFACE(3, 0, 1, 0x03, 0x01, 0x01, 0),
    OWU_HIDKBD_HID_DESC,
    OWU_D_ENDPOINT(CMP_EP_KBD_IN, OWU_EP_INTR, 8, 7),    /* 2^6 microframes = 8 ms */
};
_Static_assert(sizeof cmp_config == CMP_CONFIG_LEN, "cmp_config: length field and table disagree");

#define CMP_MSOS20_LEN 178
#define CMP_BOS_LEN 40
static const uint8_t cmp_bos[] = {
    5, 0x0F, OWU_LE16(CMP_BOS_LEN), 2,
    7, 0x10, 0x02, OWU_LE32(0x00000000),                 /* USB 2.0 extension, no LPM */
    28, 0x10, 0x05, 0x00,                                /* platform: MS OS 2.0 */
    0xDF, 0x60, 0xDD, 0xD8, 0x89, 0x45, 0xC7, 0x4C, 0x9C, 0xD2, 0x65, 0x9D, 0x9E, 0x64, 0x8A, 0x9F,
    OWU_LE32(CMP_WINDOWS_VERSION), OWU_LE16(CMP_MSOS20_LEN), CMP_VENDOR_CODE, 0,
};
_Static_assert(sizeof cmp_bos == CMP_BOS_LEN, "cmp_bos: length field and table disagree");

/* Set header, configuration subset (first configuration), function subset for interface 2:
 * compatible ID WINUSB and DeviceInterfaceGUIDs = {8A5E2C31-6F0B-4D7E-9C41-2B3D5E7F9A10}. */
static const uint8_t cmp_msos20[] = {
    OWU_LE16(10), OWU_LE16(0x0000), OWU_LE32(CMP_WINDOWS_VERSION), OWU_LE16(CMP_MSOS20_LEN),
    OWU_LE16(8), OWU_LE16(0x0001), 0, 0, OWU_LE16(168),
    OWU_LE16(8), OWU_LE16(0x0002), 2, 0, OWU_LE16(160),
    OWU_LE16(20), OWU_LE16(0x0003), 'W', 'I', 'N', 'U', 'S', 'B', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    OWU_LE16(132), OWU_LE16(0x0004), OWU_LE16(7), OWU_LE16(42),
    OWU_U16('D'), OWU_U16('e'), OWU_U16('v'), OWU_U16('i'), OWU_U16('c'), OWU_U16('e'),
    OWU_U16('I'), OWU_U16('n'), OWU_U16('t'), OWU_U16('e'), OWU_U16('r'), OWU_U16('f'),
    OWU_U16('a'), OWU_U16('c'), OWU_U16('e'), OWU_U16('G'), OWU_U16('U'), OWU_U16('I'),
    OWU_U16('D'), OWU_U16('s'), 0, 0,
    OWU_LE16(80),
    OWU_U16('{'), OWU_U16('8'), OWU_U16('A'), OWU_U16('5'), OWU_U16('E'), OWU_U16('2'),
    OWU_U16('C'), OWU_U16('3'), OWU_U16('1'), OWU_U16('-'), OWU_U16('6'), OWU_U16('F'),
    OWU_U16('0'), OWU_U16('B'), OWU_U16('-'), OWU_U16('4'), OWU_U16('D'), OWU_U16('7'),
    OWU_U16('E'), OWU_U16('-'), OWU_U16('9'), OWU_U16('C'), OWU_U16('4'), OWU_U16('1'),
    OWU_U16('-'), OWU_U16('2'), OWU_U16('B'), OWU_U16('3'), OWU_U16('D'), OWU_U16('5'),
    OWU_U16('E'), OWU_U16('7'), OWU_U16('F'), OWU_U16('9'), OWU_U16('A'), OWU_U16('1'),
    OWU_U16('0'), OWU_U16('}'), 0, 0, 0, 0,
};
_Static_assert(sizeof cmp_msos20 == CMP_MSOS20_LEN, "cmp_msos20: length field and table disagree");

static const struct owu_vblob cmp_configs[] = {{cmp_config, sizeof cmp_config}};
static const uint16_t cmp_langids[] = {0x0409, 0x0407};
static const struct owu_vstring cmp_strings[] = {
    {1, "openwinusb"},
    {2, "openwinusb composite device"},
    {3, "OWUCMP0002"},
    {4, "openwinusb serial port"},
    {5, "openwinusb WinUSB loopback"},
};

struct cmp_state {
    struct owu_model_funcs funcs;   /* first: see model_funcs.h */
    struct owu_acm_fn acm;
    struct owu_hidkbd_fn kbd;
    struct owu_loopback vendor;
};

static int cmp_init(struct owu_vdev *vd, const void *arg)
{
    struct cmp_state *st = owu_vdev_priv(vd);
    st->funcs.acm = &st->acm;
    st->funcs.kbd = &st->kbd;
    owu_acm_fn_init(&st->acm, 0, CMP_EP_ACM_NOTIFY, CMP_EP_ACM_OUT, CMP_EP_ACM_IN);
    owu_hidkbd_fn_init(&st->kbd, 3, CMP_EP_KBD_IN);
    owu_loopback_init(&st->vendor, CMP_EP_VENDOR_OUT, CMP_EP_VENDOR_IN);
    return OWU_OK;
}

static int cmp_control(struct owu_vdev *vd, const struct owu_setup *s, uint8_t *data)
{
    struct cmp_state *st = owu_vdev_priv(vd);
    int rc = owu_acm_fn_control(&st->acm, vd, s, data);
    if (rc == OWU_VDEV_DEFAULT)
        rc = owu_hidkbd_fn_control(&st->kbd, vd, s, data);
    return rc;
}

static void cmp_transfer(struct owu_vdev *vd, struct owu_urb *urb)
{
    struct cmp_state *st = owu_vdev_priv(vd);
    if (!owu_vdev_active_endpoint(vd, urb->endpoint, NULL) ||
        !(owu_acm_fn_transfer(&st->acm, vd, urb) || owu_hidkbd_fn_transfer(&st->kbd, vd, urb) ||
          owu_loopback_transfer(&st->vendor, vd, urb)))
        owu_vdev_complete(vd, urb, OWU_E_STALL, 0);
}

static void cmp_configured(struct owu_vdev *vd, uint8_t value)
{
    struct cmp_state *st = owu_vdev_priv(vd);
    owu_acm_fn_configured(&st->acm);
    owu_hidkbd_fn_reset(&st->kbd);
    owu_loopback_flush(&st->vendor);
}

static void cmp_bus_reset(struct owu_vdev *vd)
{
    struct cmp_state *st = owu_vdev_priv(vd);
    owu_acm_fn_reset(&st->acm);
    owu_hidkbd_fn_reset(&st->kbd);
    owu_loopback_flush(&st->vendor);
}

const struct owu_vdev_model owu_model_composite = {
    .name = "composite",
    .summary = "composite (1209:0002): CDC-ACM + WinUSB vendor loopback (MS OS 2.0) + HID keyboard",
    .speed = OWU_SPEED_HIGH,
    .device = cmp_device,
    .device_len = sizeof cmp_device,
    .configs = cmp_configs,
    .num_configs = 1,
    .bos = cmp_bos,
    .bos_len = sizeof cmp_bos,
    .langids = cmp_langids,
    .num_langids = sizeof cmp_langids / sizeof cmp_langids[0],
    .strings = cmp_strings,
    .num_strings = sizeof cmp_strings / sizeof cmp_strings[0],
    .msos20_vendor_code = CMP_VENDOR_CODE,
    .msos20 = cmp_msos20,
    .msos20_len = sizeof cmp_msos20,
    .priv_size = sizeof(struct cmp_state),
    .init = cmp_init,
    .control = cmp_control,
    .transfer = cmp_transfer,
    .configured = cmp_configured,
    .bus_reset = cmp_bus_reset,
};
