/* The HID boot keyboard function (one interface, one interrupt IN endpoint), shared by the
 * hid-keyboard and composite models. All calls run with the bus lock held, except the
 * owu_hid_keyboard_* API in models.h. */
#ifndef OWU_DEVICES_HID_KBD_FUNCTION_H
#define OWU_DEVICES_HID_KBD_FUNCTION_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/models.h"

#define OWU_HIDKBD_REPORT_LEN 8
#define OWU_HIDKBD_QUEUE 128
#define OWU_HIDKBD_REPORT_DESC_LEN 63

/* The HID class descriptor that follows the interface descriptor: HID 1.11, no country,
 * one report descriptor. */
#define OWU_HIDKBD_HID_DESC \
    9, 0x21, 0x11, 0x01, 0x00, 0x01, 0x22, OWU_HIDKBD_REPORT_DESC_LEN, 0x00
#define OWU_HIDKBD_HID_DESC_LEN 9

extern const uint8_t owu_hidkbd_report_desc[OWU_HIDKBD_REPORT_DESC_LEN];

struct owu_hidkbd_fn {
    uint8_t intf;
    uint8_t in_ep;
    uint8_t protocol;        /* 0 boot, 1 report (the default after reset) */
    uint8_t idle;            /* 4 ms units, 0 = only on change */
    uint8_t leds;            /* output report */
    uint8_t current[OWU_HIDKBD_REPORT_LEN];
    uint8_t queue[OWU_HIDKBD_QUEUE][OWU_HIDKBD_REPORT_LEN];
    unsigned head, count;
};

void owu_hidkbd_fn_init(struct owu_hidkbd_fn *f, uint8_t intf, uint8_t in_ep);
/* Bus reset and SET_CONFIGURATION: protocol, idle rate, LEDs, keys back to power-on state. */
void owu_hidkbd_fn_reset(struct owu_hidkbd_fn *f);
/* HID class requests and GET_DESCRIPTOR(HID / report) to the interface; OWU_VDEV_DEFAULT
 * for anything else. */
int owu_hidkbd_fn_control(struct owu_hidkbd_fn *f, struct owu_vdev *vd, const struct owu_setup *s,
                          uint8_t *data);
bool owu_hidkbd_fn_transfer(struct owu_hidkbd_fn *f, struct owu_vdev *vd, struct owu_urb *urb);
/* Queues an input report (OWU_E_BUSY when full). */
int owu_hidkbd_fn_report(struct owu_hidkbd_fn *f, struct owu_vdev *vd,
                         const uint8_t report[OWU_HIDKBD_REPORT_LEN]);

#endif
