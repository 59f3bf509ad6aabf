/* A vendor-class device that asks for WinUSB through MS OS 1.0 descriptors: string 0xEE with
 * vendor code 0x20 and the ContainerID flag, an extended compat ID "WINUSB" for interface 0,
 * extended properties for interface 0 (DeviceInterfaceGUIDs, DeviceIdleEnabled) and a
 * ContainerID. Bulk loopback 0x01 -> 0x81. Layouts: winusb-api.md §8.2-8.6. */
#include "core/urb.h"
#include "devices/desc_build.h"
#include "devices/loopback.h"
#include "devices/models.h"

#define MSOS1_VENDOR_CODE 0x20
#define MSOS1_EP_IN 0x81
#define MSOS1_EP_OUT 0x01

static const uint8_t msos1_device[] = {
    OWU_D_DEVICE(0x0200, 0x00, 0x00, 0x00, 64, 0x1209, 0x0004, 0x0100, 1, 2, 3, 1),
};

#define MSOS1_CONFIG_LEN 32
static const uint8_t msos1_config[] = {
    OWU_D_CONFIG(MSOS1_CONFIG_LEN, 1, 1, 0, 0x80, 50),
    OWU_D_INTERFACE(0, 0, 2, 0xFF, 0x00, 0x00, 0),
    OWU_D_ENDPOINT(MSOS1_EP_IN, OWU_EP_BULK, 512, 0),
    OWU_D_ENDPOINT(MSOS1_EP_OUT, OWU_EP_BULK, 512, 0),
};
_Static_assert(sizeof msos1_config == MSOS1_CONFIG_LEN, "msos1_config: length field and table disagree");

#define MSOS1_COMPAT_LEN 40
static const uint8_t msos1_compat[] = {
    OWU_LE32(MSOS1_COMPAT_LEN), OWU_LE16(0x0100), OWU_LE16(0x0004), 1, 0, 0, 0, 0, 0, 0, 0,
    0, 0x01, 'W', 'I', 'N', 'U', 'S', 'B', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};
_Static_assert(sizeof msos1_compat == MSOS1_COMPAT_LEN, "msos1_compat: length field and table disagree");

/* DeviceInterfaceGUIDs (REG_MULTI_SZ) = {1F0E6D5C-4B3A-4928-8776-A5B4C3D2E1F0};
 * DeviceIdleEnabled (REG_DWORD_LITTLE_ENDIAN) = 1. */
#define MSOS1_PROPS_LEN 200
static const uint8_t msos1_props0[] = {
    OWU_LE32(MSOS1_PROPS_LEN), OWU_LE16(0x0100), OWU_LE16(0x0005), OWU_LE16(2),
    OWU_LE32(136), OWU_LE32(7), OWU_LE16(42),
    OWU_U16('D'), OWU_U16('e'), OWU_U16('v'), OWU_U16('i'), OWU_U16('c'), OWU_U16('e'),
    OWU_U16('I'), OWU_U16('n'), OWU_U16('t'), OWU_U16('e'), OWU_U16('r'), OWU_U16('f'),
    OWU_U16('a'), OWU_U16('c'), OWU_U16('e'), OWU_U16('G'), OWU_U16('U'), OWU_U16('I'),
    OWU_U16('D'), OWU_U16('s'), 0, 0,
    OWU_LE32(80),
    OWU_U16('{'), OWU_U16('1'), OWU_U16('F'), OWU_U16('0'), OWU_U16('E'), OWU_U16('6'),
    OWU_U16('D'), OWU_U16('5'), OWU_U16('C'), OWU_U16('-'), OWU_U16('4'), OWU_U16('B'),
    OWU_U16('3'), OWU_U16('A'), OWU_U16('-'), OWU_U16('4'), OWU_U16('9'), OWU_U16('2'),
    OWU_U16('8'), OWU_U16('-'), OWU_U16('8'), OWU_U16('7'), OWU_U16('7'), OWU_U16('6'),
    OWU_U16('-'), OWU_U16('A'), OWU_U16('5'), OWU_U16('B'), OWU_U16('4'), OWU_U16('C'),
    OWU_U16('3'), OWU_U16('D'), OWU_U16('2'), OWU_U16('E'), OWU_U16('1'), OWU_U16('F'),
    OWU_U16('0'), OWU_U16('}'), 0, 0, 0, 0,
    OWU_LE32(54), OWU_LE32(4), OWU_LE16(36),
    OWU_U16('D'), OWU_U16('e'), OWU_U16('v'), OWU_U16('i'), OWU_U16('c'), OWU_U16('e'),
    OWU_U16('I'), OWU_U16('d'), OWU_U16('l'), OWU_U16('e'), OWU_U16('E'), OWU_U16('n'),
    OWU_U16('a'), OWU_U16('b'), OWU_U16('l'), OWU_U16('e'), OWU_U16('d'), 0, 0,
    OWU_LE32(4), OWU_LE32(1),
};
_Static_assert(sizeof msos1_props0 == MSOS1_PROPS_LEN, "msos1_props0: length field and table disagree");

/* {4F575531-0004-4A6B-8C2D-3E4F5A6B7C8D}, little-endian GUID order. */
#define MSOS1_CONTAINER_LEN 24
static const uint8_t msos1_container[] = {
    OWU_LE32(MSOS1_CONTAINER_LEN), OWU_LE16(0x0100), OWU_LE16(0x0006),
    0x31, 0x55, 0x57, 0x4F, 0x04, 0x00, 0x6B, 0x4A, 0x8C, 0x2D, 0x3E, 0x4F, 0x5A, 0x6B, 0x7C, 0x8D,
};
_Static_assert(sizeof msos1_container == MSOS1_CONTAINER_LEN, "msos1_container: length field and table disagree");

static const struct owu_vmsos1_props msos1_props[] = {{0, msos1_props0, sizeof msos1_props0}};
static const struct owu_vblob msos1_configs[] = {{msos1_config, sizeof msos1_config}};
static const uint16_t msos1_langids[] = {0x0409};
static const struct owu_vstring msos1_strings[] = {
    {1, "openwinusb"},
    {2, "openwinusb MS OS 1.0 WinUSB device"},
    {3, "OWUMSOS10004"},
};

struct msos1_state {
    struct owu_loopback loop;
};

static int msos1_init(struct owu_vdev *vd, const void *arg)
{
    struct msos1_state *st = owu_vdev_priv(vd);
    owu_loopback_init(&st->loop, MSOS1_EP_OUT, MSOS1_EP_IN);
    return OWU_OK;
}

static void msos1_transfer(struct owu_vdev *vd, struct owu_urb *urb)
{
    struct msos1_state *st = owu_vdev_priv(vd);
    if (!owu_vdev_active_endpoint(vd, urb->endpoint, NULL) ||
        !owu_loopback_transfer(&st->loop, vd, urb))
        owu_vdev_complete(vd, urb, OWU_E_STALL, 0);
}

static void msos1_reset(struct owu_vdev *vd)
{
    struct msos1_state *st = owu_vdev_priv(vd);
    owu_loopback_flush(&st->loop);
}

static void msos1_configured(struct owu_vdev *vd, uint8_t value) { msos1_reset(vd); }

const struct owu_vdev_model owu_model_msos1 = {
    .name = "msos1",
    .summary = "WinUSB device via MS OS 1.0 descriptors (1209:0004), bulk loopback",
    .speed = OWU_SPEED_HIGH,
    .device = msos1_device,
    .device_len = sizeof msos1_device,
    .configs = msos1_configs,
    .num_configs = 1,
    .langids = msos1_langids,
    .num_langids = 1,
    .strings = msos1_strings,
    .num_strings = sizeof msos1_strings / sizeof msos1_strings[0],
    .msos1_vendor_code = MSOS1_VENDOR_CODE,
    .msos1_flags = 0x02,
    .msos1_compat = msos1_compat,
    .msos1_compat_len = sizeof msos1_compat,
    .msos1_props = msos1_props,
    .num_msos1_props = 1,
    .msos1_container_id = msos1_container,
    .priv_size = sizeof(struct msos1_state),
    .init = msos1_init,
    .transfer = msos1_transfer,
    .configured = msos1_configured,
    .bus_reset = msos1_reset,
};
