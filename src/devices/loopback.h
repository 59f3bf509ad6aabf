/* A bulk loopback pair shared by the models: bytes written to the OUT endpoint come back on
 * the IN endpoint through a bounded FIFO. Flow control is the USB kind: an OUT URB that does
 * not fit stays pending (the device NAKs) and takes bytes as space frees up, an IN URB stays
 * pending while the FIFO is empty and completes with what is there, up to its length.
 * All calls run with the bus lock held (from model callbacks). */
#ifndef OWU_DEVICES_LOOPBACK_H
#define OWU_DEVICES_LOOPBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hcd/vbus.h"

#define OWU_LOOPBACK_CAP 65536u

struct owu_loopback {
    uint8_t out_ep, in_ep;
    size_t head;        /* index of the oldest byte */
    size_t count;       /* bytes held */
    uint8_t buf[OWU_LOOPBACK_CAP];
};

void owu_loopback_init(struct owu_loopback *lb, uint8_t out_ep, uint8_t in_ep);
/* Drops the buffered bytes (endpoint reset); pending URBs stay pending. */
void owu_loopback_flush(struct owu_loopback *lb);
/* Takes a data-endpoint URB if it is for one of the pair's endpoints (returns false
 * otherwise, and leaves the URB alone). */
bool owu_loopback_transfer(struct owu_loopback *lb, struct owu_vdev *vd, struct owu_urb *urb);

#endif
