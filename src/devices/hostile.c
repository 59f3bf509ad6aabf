/* Hostile devices: each breaks one rule so that the enumerator's error paths can be driven
 * on purpose. They lie only in what they send; what the standard handler and the bus do with
 * their tables stays memory-safe (every walk is bounds-checked, the bus clamps answers to
 * wLength). All are full-speed vendor devices 1209:0010, told apart by bcdDevice. */
#include <string.h>

#include "core/urb.h"
#include "devices/desc_build.h"
#include "devices/models.h"

#define H_VID 0x1209
#define H_PID 0x0010
#define H_VENDOR_CODE 0x22

/* A plain device descriptor with a per-model bcdDevice. */
#define H_DEVICE(bcdusb, bcddev) \
    OWU_D_DEVICE(bcdusb, 0x00, 0x00, 0x00, 64, H_VID, H_PID, bcddev, 1, 2, 0, 1)

#define H_CONFIG_LEN 32
static const uint8_t h_config[] = {
    OWU_D_CONFIG(H_CONFIG_LEN, 1, 1, 0, 0x80, 50),
    OWU_D_INTERFACE(0, 0, 2, 0xFF, 0x00, 0x00, 0),
    OWU_D_ENDPOINT(0x81, OWU_EP_BULK, 64, 0),
    OWU_D_ENDPOINT(0x01, OWU_EP_BULK, 64, 0),
};
_Static_assert(sizeof h_config == H_CONFIG_LEN, "h_config: length field and table disagree");
static const struct owu_vblob h_configs[] = {{h_config, sizeof h_config}};
static const uint16_t h_langids[] = {0x0409};

/* The fields every hostile model shares; each model adds its own fault on top. */
#define H_BASE(mname, msummary, mdevice, mconfigs, mstrings)                  \
    .name = mname, .summary = msummary, .speed = OWU_SPEED_FULL,               \
    .device = mdevice, .device_len = sizeof mdevice,                           \
    .configs = mconfigs, .num_configs = sizeof mconfigs / sizeof mconfigs[0],  \
    .langids = h_langids, .num_langids = 1,                                    \
    .strings = mstrings, .num_strings = sizeof mstrings / sizeof mstrings[0]

/* Data endpoints of every hostile model: nothing behind them. */
static void h_transfer(struct owu_vdev *vd, struct owu_urb *urb)
{
    owu_vdev_complete(vd, urb, OWU_E_STALL, 0);
}

static bool is_get_descriptor(const struct owu_setup *s, uint8_t type)
{
    return s->bmRequestType == (OWU_DIR_IN | OWU_TYPE_STANDARD | OWU_RECIP_DEVICE) &&
           s->bRequest == OWU_REQ_GET_DESCRIPTOR && (s->wValue >> 8) == type;
}

/* ---- hostile-total-length: wTotalLength 64, but only 32 bytes exist ----------------------- */

static const uint8_t tl_device[] = {H_DEVICE(0x0200, 0x0101)};
static const uint8_t tl_config[] = {
    OWU_D_CONFIG(64, 1, 1, 0, 0x80, 50),
    OWU_D_INTERFACE(0, 0, 2, 0xFF, 0x00, 0x00, 0),
    OWU_D_ENDPOINT(0x81, OWU_EP_BULK, 64, 0),
    OWU_D_ENDPOINT(0x01, OWU_EP_BULK, 64, 0),
};
static const struct owu_vblob tl_configs[] = {{tl_config, sizeof tl_config}};

static const struct owu_vstring tl_strings[] = {{1, "openwinusb"}, {2, "hostile: wTotalLength too large"}};

const struct owu_vdev_model owu_model_hostile_total_length = {
    H_BASE("hostile-total-length",
           "configuration wTotalLength (64) claims more than the 32 bytes it returns",
           tl_device, tl_configs, tl_strings),
    .transfer = h_transfer,
};

/* ---- hostile-zero-blength: an endpoint descriptor with bLength 0 ------------------------- */

static const uint8_t zb_device[] = {H_DEVICE(0x0200, 0x0102)};
static const uint8_t zb_config[] = {
    OWU_D_CONFIG(32, 1, 1, 0, 0x80, 50),
    OWU_D_INTERFACE(0, 0, 2, 0xFF, 0x00, 0x00, 0),
    OWU_D_ENDPOINT(0x81, OWU_EP_BULK, 64, 0),
    0, 0x05, 0x01, OWU_EP_BULK, OWU_LE16(64), 0,    /* bLength 0: a naive walker never advances */
};
static const struct owu_vblob zb_configs[] = {{zb_config, sizeof zb_config}};

static const struct owu_vstring zb_strings[] = {{1, "openwinusb"}, {2, "hostile: bLength 0"}};

const struct owu_vdev_model owu_model_hostile_zero_blength = {
    H_BASE("hostile-zero-blength",
           "configuration holds a descriptor with bLength 0 at offset 25",
           zb_device, zb_configs, zb_strings),
    .transfer = h_transfer,
};

/* ---- hostile-truncated: the last endpoint descriptor is cut after 4 bytes ---------------- */

static const uint8_t tr_device[] = {H_DEVICE(0x0200, 0x0103)};
static const uint8_t tr_config[] = {
    OWU_D_CONFIG(29, 1, 1, 0, 0x80, 50),
    OWU_D_INTERFACE(0, 0, 2, 0xFF, 0x00, 0x00, 0),
    OWU_D_ENDPOINT(0x81, OWU_EP_BULK, 64, 0),
    7, 0x05, 0x01, OWU_EP_BULK,                     /* bLength 7, 4 bytes present */
};
_Static_assert(sizeof tr_config == 29, "tr_config: wTotalLength");
static const struct owu_vblob tr_configs[] = {{tr_config, sizeof tr_config}};

static const struct owu_vstring tr_strings[] = {{1, "openwinusb"}, {2, "hostile: truncated endpoint"}};

const struct owu_vdev_model owu_model_hostile_truncated = {
    H_BASE("hostile-truncated",
           "configuration ends inside its last endpoint descriptor (bLength 7, 4 bytes left)",
           tr_device, tr_configs, tr_strings),
    .transfer = h_transfer,
};

/* ---- hostile-loop: a BOS capability with bLength 0, an MS OS 2.0 subset of length 0 ------ */

#define LOOP_SET_LEN 46
static const uint8_t loop_device[] = {H_DEVICE(0x0210, 0x0104)};
static const uint8_t loop_bos[] = {
    5, 0x0F, OWU_LE16(36), 2,
    28, 0x10, 0x05, 0x00,
    0xDF, 0x60, 0xDD, 0xD8, 0x89, 0x45, 0xC7, 0x4C, 0x9C, 0xD2, 0x65, 0x9D, 0x9E, 0x64, 0x8A, 0x9F,
    OWU_LE32(0x06030000), OWU_LE16(LOOP_SET_LEN), H_VENDOR_CODE, 0,
    0, 0x10, 0x02,                                  /* bLength 0 */
};
_Static_assert(sizeof loop_bos == 36, "loop_bos: wTotalLength");
static const uint8_t loop_set[] = {
    OWU_LE16(10), OWU_LE16(0x0000), OWU_LE32(0x06030000), OWU_LE16(LOOP_SET_LEN),
    OWU_LE16(8), OWU_LE16(0x0001), 0, 0, OWU_LE16(0),          /* subset length 0 */
    OWU_LE16(8), OWU_LE16(0x0002), 0, 0, OWU_LE16(0),          /* function subset length 0 */
    OWU_LE16(20), OWU_LE16(0x0003), 'W', 'I', 'N', 'U', 'S', 'B', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};
_Static_assert(sizeof loop_set == LOOP_SET_LEN, "loop_set: wTotalLength");

static const struct owu_vstring loop_strings[] = {{1, "openwinusb"}, {2, "hostile: zero-length BOS capability"}};

const struct owu_vdev_model owu_model_hostile_loop = {
    H_BASE("hostile-loop",
           "BOS capability with bLength 0; MS OS 2.0 subsets of length 0",
           loop_device, h_configs, loop_strings),
    .bos = loop_bos,
    .bos_len = sizeof loop_bos,
    .msos20_vendor_code = H_VENDOR_CODE,
    .msos20 = loop_set,
    .msos20_len = sizeof loop_set,
    .transfer = h_transfer,
};

/* ---- hostile-msos20-zero: a valid BOS leading to a set with zero-length pieces --------- */

#define MZ_SET_LEN 46
static const uint8_t mz_device[] = {H_DEVICE(0x0210, 0x0105)};
static const uint8_t mz_bos[] = {
    5, 0x0F, OWU_LE16(33), 1,
    28, 0x10, 0x05, 0x00,
    0xDF, 0x60, 0xDD, 0xD8, 0x89, 0x45, 0xC7, 0x4C, 0x9C, 0xD2, 0x65, 0x9D, 0x9E, 0x64, 0x8A, 0x9F,
    OWU_LE32(0x06030000), OWU_LE16(MZ_SET_LEN), H_VENDOR_CODE, 0,
};
_Static_assert(sizeof mz_bos == 33, "mz_bos: wTotalLength");
static const uint8_t mz_set[] = {
    OWU_LE16(10), OWU_LE16(0x0000), OWU_LE32(0x06030000), OWU_LE16(MZ_SET_LEN),
    OWU_LE16(8), OWU_LE16(0x0001), 0, 0, OWU_LE16(0),          /* configuration subset length 0 */
    OWU_LE16(8), OWU_LE16(0x0002), 0, 0, OWU_LE16(0),          /* function subset length 0 */
    OWU_LE16(0), OWU_LE16(0x0003), 'W', 'I', 'N', 'U', 'S', 'B', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};
_Static_assert(sizeof mz_set == MZ_SET_LEN, "mz_set: wTotalLength");

static const struct owu_vstring mz_strings[] = {{1, "openwinusb"}, {2, "hostile: zero-length MS OS 2.0 pieces"}};

const struct owu_vdev_model owu_model_hostile_msos20_zero = {
    H_BASE("hostile-msos20-zero",
           "valid BOS; MS OS 2.0 set with zero-length subsets and a feature of wLength 0",
           mz_device, h_configs, mz_strings),
    .bos = mz_bos,
    .bos_len = sizeof mz_bos,
    .msos20_vendor_code = H_VENDOR_CODE,
    .msos20 = mz_set,
    .msos20_len = sizeof mz_set,
    .transfer = h_transfer,
};

/* ---- hostile-ep0: bMaxPacketSize0 7 ---------------------------------------------------- */

static const uint8_t ep0_device[] = {
    OWU_D_DEVICE(0x0200, 0x00, 0x00, 0x00, 7, H_VID, H_PID, 0x0106, 1, 2, 0, 1),
};

static const struct owu_vstring ep0_strings[] = {{1, "openwinusb"}, {2, "hostile: bMaxPacketSize0 7"}};

const struct owu_vdev_model owu_model_hostile_ep0 = {
    H_BASE("hostile-ep0",
           "device descriptor with bMaxPacketSize0 7",
           ep0_device, h_configs, ep0_strings),
    .transfer = h_transfer,
};

/* ---- hostile-bad-device: bLength 17 and bNumConfigurations 0 ---------------------------- */

static const uint8_t bd_device[] = {
    17, 0x01, OWU_LE16(0x0200), 0x00, 0x00, 0x00, 64, OWU_LE16(H_VID), OWU_LE16(H_PID),
    OWU_LE16(0x0107), 1, 2, 0, 0,
};

static const struct owu_vstring bd_strings[] = {{1, "openwinusb"}, {2, "hostile: bad device descriptor"}};

const struct owu_vdev_model owu_model_hostile_bad_device = {
    H_BASE("hostile-bad-device",
           "device descriptor with bLength 17 and bNumConfigurations 0",
           bd_device, h_configs, bd_strings),
    .transfer = h_transfer,
};

/* ---- hostile-zero-configs: a well-formed device descriptor with bNumConfigurations 0 --- */

static const uint8_t zc_device[] = {
    OWU_D_DEVICE(0x0200, 0x00, 0x00, 0x00, 64, H_VID, H_PID, 0x0108, 1, 2, 0, 0),
};

static const struct owu_vstring zc_strings[] = {{1, "openwinusb"}, {2, "hostile: no configurations"}};

const struct owu_vdev_model owu_model_hostile_zero_configs = {
    H_BASE("hostile-zero-configs",
           "device descriptor with bNumConfigurations 0 (otherwise valid)",
           zc_device, h_configs, zc_strings),
    .transfer = h_transfer,
};

/* ---- hostile-long-string: strings that claim bLength 255 and run on to 300 bytes -------- */

#define LS_ANSWER 300
static const uint8_t ls_device[] = {
    OWU_D_DEVICE(0x0200, 0x00, 0x00, 0x00, 64, H_VID, H_PID, 0x0109, 1, 2, 3, 1),
};

/* Answers more than wLength on purpose: the bus stages data stages in a buffer of 64 KiB plus
 * 1 KiB of slack, clamps the length to wLength and reports the babble. */
static int ls_control(struct owu_vdev *vd, const struct owu_setup *s, uint8_t *data)
{
    uint8_t index = (uint8_t)(s->wValue & 0xFF);
    if (!is_get_descriptor(s, OWU_DT_STRING) || index == 0 || index == 0xEE)
        return OWU_VDEV_DEFAULT;
    data[0] = 0xFF;
    data[1] = OWU_DT_STRING;
    for (size_t i = 2; i + 1 < LS_ANSWER; i += 2) {
        data[i] = (uint8_t)('A' + (i / 2 - 1) % 26);
        data[i + 1] = 0;
    }
    data[LS_ANSWER - 1] = 0;
    return LS_ANSWER;
}

static const struct owu_vstring ls_strings[] = {{1, "openwinusb"}, {2, "hostile: long strings"}};

const struct owu_vdev_model owu_model_hostile_long_string = {
    H_BASE("hostile-long-string",
           "string descriptors claim bLength 255 and the device sends 300 bytes whatever wLength",
           ls_device, h_configs, ls_strings),
    .control = ls_control,
    .transfer = h_transfer,
};

/* ---- hostile-silent: answers the first device-descriptor read, then goes quiet ---------- */

static const uint8_t si_device[] = {H_DEVICE(0x0200, 0x010A)};

struct silent_state {
    bool answered;
};

/* Everything after the first device-descriptor read stays unanswered, SET_ADDRESS included:
 * the host's timeout ends each request. Bus resets do not revive it. */
static int si_control(struct owu_vdev *vd, const struct owu_setup *s, uint8_t *data)
{
    struct silent_state *st = owu_vdev_priv(vd);
    if (!st->answered && is_get_descriptor(s, OWU_DT_DEVICE)) {
        st->answered = true;
        return OWU_VDEV_DEFAULT;
    }
    return OWU_E_PENDING;
}

static const struct owu_vstring si_strings[] = {{1, "openwinusb"}, {2, "hostile: silent"}};

const struct owu_vdev_model owu_model_hostile_silent = {
    H_BASE("hostile-silent",
           "answers the first device-descriptor read, then never answers again",
           si_device, h_configs, si_strings),
    .priv_size = sizeof(struct silent_state),
    .control = si_control,
    .transfer = h_transfer,
};

/* ---- hostile-no-address / stall-device / stall-config ---------------------------------- */

static const uint8_t na_device[] = {H_DEVICE(0x0200, 0x010B)};

static int na_control(struct owu_vdev *vd, const struct owu_setup *s, uint8_t *data)
{
    return s->bRequest == OWU_REQ_SET_ADDRESS && (s->bmRequestType & OWU_TYPE_MASK) == OWU_TYPE_STANDARD
               ? OWU_E_STALL
               : OWU_VDEV_DEFAULT;
}

static const struct owu_vstring na_strings[] = {{1, "openwinusb"}, {2, "hostile: no address"}};

const struct owu_vdev_model owu_model_hostile_no_address = {
    H_BASE("hostile-no-address",
           "stalls SET_ADDRESS",
           na_device, h_configs, na_strings),
    .control = na_control,
    .transfer = h_transfer,
};

static const uint8_t sd_device[] = {H_DEVICE(0x0200, 0x010C)};

static int sd_control(struct owu_vdev *vd, const struct owu_setup *s, uint8_t *data)
{
    return is_get_descriptor(s, OWU_DT_DEVICE) ? OWU_E_STALL : OWU_VDEV_DEFAULT;
}

static const struct owu_vstring sd_strings[] = {{1, "openwinusb"}, {2, "hostile: stalls device descriptor"}};

const struct owu_vdev_model owu_model_hostile_stall_device = {
    H_BASE("hostile-stall-device",
           "stalls GET_DESCRIPTOR(device)",
           sd_device, h_configs, sd_strings),
    .control = sd_control,
    .transfer = h_transfer,
};

static const uint8_t sc_device[] = {H_DEVICE(0x0200, 0x010D)};

static int sc_control(struct owu_vdev *vd, const struct owu_setup *s, uint8_t *data)
{
    return is_get_descriptor(s, OWU_DT_CONFIG) ? OWU_E_STALL : OWU_VDEV_DEFAULT;
}

static const struct owu_vstring sc_strings[] = {{1, "openwinusb"}, {2, "hostile: stalls configuration"}};

const struct owu_vdev_model owu_model_hostile_stall_config = {
    H_BASE("hostile-stall-config",
           "stalls GET_DESCRIPTOR(configuration)",
           sc_device, h_configs, sc_strings),
    .control = sc_control,
    .transfer = h_transfer,
};
