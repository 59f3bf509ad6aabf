/* The CDC-ACM function (one communication interface with a notification endpoint, one data
 * interface with a bulk loopback pair), shared by the cdc-acm and composite models.
 * All calls run with the bus lock held, except the owu_cdc_acm_* API in models.h. */
#ifndef OWU_DEVICES_CDC_ACM_FUNCTION_H
#define OWU_DEVICES_CDC_ACM_FUNCTION_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/loopback.h"
#include "devices/models.h"

#define OWU_ACM_NOTIFY_QUEUE 8
#define OWU_ACM_NOTIFY_LEN 10

/* Class-specific descriptors of the communication interface (Header 1.10, Call Management,
 * ACM with line coding + break, Union), 19 bytes. */
#define OWU_ACM_FUNCTIONAL_DESCS(comm, data)                                     \
    5, 0x24, 0x00, 0x10, 0x01,        /* Header, bcdCDC 1.10 */                  \
    5, 0x24, 0x01, 0x00, data,        /* Call Management: host does it */        \
    4, 0x24, 0x02, 0x06,              /* ACM: line coding/state + SEND_BREAK */  \
    5, 0x24, 0x06, comm, data         /* Union: control, subordinate */
#define OWU_ACM_FUNCTIONAL_LEN 19

struct owu_acm_fn {
    uint8_t comm_intf;
    uint8_t notify_ep;
    uint8_t line[7];                 /* line coding as sent by SET_LINE_CODING */
    uint16_t lines;                  /* DTR/RTS from SET_CONTROL_LINE_STATE */
    uint16_t levels;                 /* DCD/DSR levels reported to the host */
    uint16_t pending[OWU_ACM_NOTIFY_QUEUE];   /* SERIAL_STATE values not yet delivered */
    unsigned npending;
    unsigned breaks;
    uint16_t last_break;
    struct owu_loopback data;
};

void owu_acm_fn_init(struct owu_acm_fn *f, uint8_t comm_intf, uint8_t notify_ep,
                     uint8_t data_out_ep, uint8_t data_in_ep);
/* Bus reset: everything back to power-on state (9600 8N1, lines low, nothing queued). */
void owu_acm_fn_reset(struct owu_acm_fn *f);
/* SET_CONFIGURATION: the data FIFO empties. */
void owu_acm_fn_configured(struct owu_acm_fn *f);
/* Class requests to the communication interface; OWU_VDEV_DEFAULT for anything else. */
int owu_acm_fn_control(struct owu_acm_fn *f, struct owu_vdev *vd, const struct owu_setup *s,
                       uint8_t *data);
/* Returns false when the URB is not for one of the function's endpoints. */
bool owu_acm_fn_transfer(struct owu_acm_fn *f, struct owu_vdev *vd, struct owu_urb *urb);
void owu_acm_fn_serial_state(struct owu_acm_fn *f, struct owu_vdev *vd, uint16_t bits);

#endif
