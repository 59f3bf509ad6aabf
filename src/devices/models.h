/* The built-in device models of the virtual bus (see docs/device-models.md), the helpers the
 * standard handler offers to models, and the event-injection / inspection API that tests
 * and tools use on a plugged model.
 *
 * Every injection / inspection function takes the live struct owu_vdev (from
 * owu_vbus_plug or owu_vbus_port), takes the bus lock itself through owu_vdev_with_lock,
 * and so must be called from outside the bus (never from a model callback). Each checks that
 * the device is a model with that function and returns OWU_E_INVAL otherwise.
 */
#ifndef OWU_DEVICES_MODELS_H
#define OWU_DEVICES_MODELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hcd/vbus.h"

/* ---- the models ------------------------------------------------------------------------ */

extern const struct owu_vdev_model owu_model_fx2;
extern const struct owu_vdev_model owu_model_cdc_acm;
extern const struct owu_vdev_model owu_model_composite;
extern const struct owu_vdev_model owu_model_hid_keyboard;
extern const struct owu_vdev_model owu_model_msos1;
extern const struct owu_vdev_model owu_model_mass_storage;
extern const struct owu_vdev_model owu_model_hub;
/* Isochronous loopback (src/devices/iso_loopback.c); not part of "virtual:all". */
extern const struct owu_vdev_model owu_model_iso_loopback;
/* Descriptor-only replay of a struct owu_devinfo: owu_vbus_plug's arg is a
 * `const struct owu_devinfo *` (cloned at plug time; the caller keeps its own). */
extern const struct owu_vdev_model owu_model_profile;

extern const struct owu_vdev_model owu_model_hostile_total_length;
extern const struct owu_vdev_model owu_model_hostile_zero_blength;
extern const struct owu_vdev_model owu_model_hostile_truncated;
extern const struct owu_vdev_model owu_model_hostile_loop;
extern const struct owu_vdev_model owu_model_hostile_msos20_zero;
extern const struct owu_vdev_model owu_model_hostile_ep0;
extern const struct owu_vdev_model owu_model_hostile_bad_device;
extern const struct owu_vdev_model owu_model_hostile_zero_configs;
extern const struct owu_vdev_model owu_model_hostile_long_string;
extern const struct owu_vdev_model owu_model_hostile_silent;
extern const struct owu_vdev_model owu_model_hostile_no_address;
extern const struct owu_vdev_model owu_model_hostile_stall_device;
extern const struct owu_vdev_model owu_model_hostile_stall_config;

/* ---- helpers of the standard handler (src/devices/std_request.c), bus lock held ---------- */

/* Whether `endpoint` (not 0) exists in the current configuration, in the current alternate
 * setting of its interface; its 7-byte endpoint descriptor is copied to desc (may be NULL). */
bool owu_vdev_active_endpoint(struct owu_vdev *vd, uint8_t endpoint, uint8_t desc[7]);

/* Decodes an MS OS 1.0 feature-descriptor request whose bRequest already matched the vendor
 * code: bmRequestType 0xC0 or 0xC1, wIndex exactly 4 (extended compat ID), 5 (extended
 * properties) or 6 (ContainerID). The interface is the low byte of wValue, as Windows sends
 * it; a request with the low byte 0 and a non-zero high byte is read the way the
 * specification words it (interface in the high byte, page 0). Both bytes non-zero would be
 * a page > 0 of an interface, which no model needs: refused. Returns the feature index and
 * the interface in *intf, or OWU_E_STALL. */
int owu_msos1_feature_request(const struct owu_setup *setup, uint8_t *intf);

/* Copies min(len, wLength) bytes of a descriptor into the data stage; returns the count. */
int owu_vdev_reply(const struct owu_setup *setup, uint8_t *data, const void *src, size_t len);

/* The MS OS descriptors a device answers with (a model's tables, or a recorded profile). */
struct owu_vmsos_view {
    uint8_t msos1_vendor_code;               /* 0: none */
    const uint8_t *msos1_compat;
    size_t msos1_compat_len;
    const struct owu_vmsos1_props *msos1_props;
    unsigned num_msos1_props;
    const uint8_t *msos1_container_id;
    size_t msos1_container_id_len;
    uint8_t msos20_vendor_code;              /* 0: none */
    const uint8_t *msos20;
    size_t msos20_len;
};

/* Answers a vendor request for MS OS 1.0 features (compat ID, properties, ContainerID) or the
 * MS OS 2.0 descriptor set from `v`; anything else stalls. The one implementation used by the
 * standard handler and the profile model. */
int owu_vdev_msos_request(const struct owu_vmsos_view *v, const struct owu_setup *s, uint8_t *data);

/* ---- fx2 ------------------------------------------------------------------------------- */

/* Sets the DIP-switch byte; when it changes, the interrupt IN endpoint 0x81 reports it (to a
 * pending URB now, else to the next one). */
int owu_fx2_set_switches(struct owu_vdev *vd, uint8_t switches);
/* Current bar-graph / 7-segment bytes as last set by the host (>= 0), or OWU_E_INVAL. */
int owu_fx2_bargraph(struct owu_vdev *vd);
int owu_fx2_7segment(struct owu_vdev *vd);

/* ---- CDC-ACM (models cdc-acm and composite) -------------------------------------------- */

enum {
    OWU_ACM_DTR = 1u << 0,            /* SET_CONTROL_LINE_STATE bits */
    OWU_ACM_RTS = 1u << 1,
    OWU_ACM_STATE_DCD = 1u << 0,      /* SERIAL_STATE bits: levels ... */
    OWU_ACM_STATE_DSR = 1u << 1,
    OWU_ACM_STATE_BREAK = 1u << 2,    /* ... and one-shot events */
    OWU_ACM_STATE_RING = 1u << 3,
    OWU_ACM_STATE_FRAMING = 1u << 4,
    OWU_ACM_STATE_PARITY = 1u << 5,
    OWU_ACM_STATE_OVERRUN = 1u << 6,
};

struct owu_cdc_line_coding {
    uint32_t rate;          /* dwDTERate */
    uint8_t stop_bits;      /* bCharFormat: 0 = 1, 1 = 1.5, 2 = 2 */
    uint8_t parity;         /* bParityType: 0 none, 1 odd, 2 even, 3 mark, 4 space */
    uint8_t data_bits;      /* bDataBits */
};

int owu_cdc_acm_line_coding(struct owu_vdev *vd, struct owu_cdc_line_coding *out);
/* DTR/RTS as last set by the host (OWU_ACM_DTR | OWU_ACM_RTS), or OWU_E_INVAL. */
int owu_cdc_acm_control_lines(struct owu_vdev *vd);
/* Reports a SERIAL_STATE: bits 0-1 become the new DCD/DSR levels, bits 2-6 are sent once. */
int owu_cdc_acm_set_serial_state(struct owu_vdev *vd, uint16_t bits);
/* Number of SEND_BREAK requests and the last wValue (duration in ms), or OWU_E_INVAL. */
int owu_cdc_acm_breaks(struct owu_vdev *vd, uint16_t *last_duration);

/* ---- HID boot keyboard (models hid-keyboard and composite) ----------------------------- */

/* Queues one 8-byte input report (modifiers, reserved, six key usages). OWU_E_BUSY when
 * 128 reports are already waiting for the host. */
int owu_hid_keyboard_report(struct owu_vdev *vd, const uint8_t report[8]);
/* Queues a press and a release of one key (HID usage) with modifier bits held. */
int owu_hid_keyboard_press(struct owu_vdev *vd, uint8_t modifiers, uint8_t usage);
/* Types printable ASCII, newline and tab (US layout, shift where needed) as a press and a
 * release per character. Returns the number of characters queued; nothing is queued when a
 * character has no key (OWU_E_INVAL) or the queue lacks room for the whole text (OWU_E_BUSY). */
int owu_hid_keyboard_type(struct owu_vdev *vd, const char *text);
/* LED output report as last set by the host (>= 0), or OWU_E_INVAL. */
int owu_hid_keyboard_leds(struct owu_vdev *vd);
/* Current protocol (0 boot, 1 report) and idle rate (4 ms units) set by the host. */
int owu_hid_keyboard_protocol(struct owu_vdev *vd);
int owu_hid_keyboard_idle(struct owu_vdev *vd);

#endif
