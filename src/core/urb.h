/* URBs: the one request type every backend carries, with asynchronous completion,
 * cancellation and timeouts. Synchronous transfers are built on the same path
 * (owu_urb_submit_wait): submit, then sleep until the completion callback fires.
 *
 * Life of an URB: the owner fills it and calls owu_urb_submit(); the core arms the timeout,
 * the backend (hcd) carries it out and calls owu_urb_done() exactly once, from any thread,
 * never with its own locks held; the core disarms the timeout and calls urb->complete.
 * owu_urb_cancel() asks the backend to finish it early (status OWU_E_CANCELLED, or
 * OWU_E_TIMEOUT when the core's timer did the cancelling).
 */
#ifndef OWU_CORE_URB_H
#define OWU_CORE_URB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openwinusb/error.h>
#include <openwinusb/usb_defs.h>

#include "core/clock.h"   /* owu_now_ns: the timer base */

struct owu_usb_device;

enum {
    OWU_URB_SHORT_NOT_OK = 1u << 0,  /* IN: a short packet is an error (OWU_E_IO) */
    OWU_URB_ZERO_PACKET = 1u << 1,   /* OUT: end a multiple-of-wMaxPacketSize transfer with a ZLP */
    OWU_URB_ISO_ASAP = 1u << 2,      /* ISO: start at the next possible frame */
};

struct owu_iso_packet {
    uint32_t offset;         /* in urb->buffer */
    uint32_t length;
    uint32_t actual;
    int status;
};

struct owu_urb {
    struct owu_usb_device *dev;
    enum owu_xfer_type type;
    uint8_t endpoint;            /* bEndpointAddress; 0 for the default control pipe */
    struct owu_setup setup;      /* control transfers only; direction from bmRequestType */
    uint8_t *buffer;             /* data stage / payload (not the SETUP bytes) */
    size_t length;
    size_t actual;               /* bytes transferred */
    int status;                  /* OWU_E_PENDING in flight, then OWU_OK or a failure */
    unsigned flags;
    unsigned timeout_ms;         /* 0: no timeout */

    uint32_t start_frame;        /* ISO: first frame (unless OWU_URB_ISO_ASAP); set on completion */
    unsigned num_iso_packets;
    struct owu_iso_packet *iso;

    void (*complete)(struct owu_urb *urb);
    void *context;

    /* --- private to the core and the backend --- */
    void *hcd_priv;
    struct owu_urb *hcd_next;    /* backends may link URBs through this while they own them */
    int hcd_status;              /* backends may park the final status here until delivery */
    int state;                   /* core bookkeeping (enum in urb.c) */
    bool timed_out;
    bool cancel_requested;       /* a cancel arrived, perhaps before the backend held the URB */
    bool in_submit;              /* owu_urb_submit is still inside hcd->submit */
    bool done_inline;            /* the backend finished it inside hcd->submit */
    pthread_t submit_thread;
    uint64_t deadline_ns;
    struct owu_urb *timer_next;
    void *waiter;
};

/* Direction of a transfer: true when data flows device-to-host. */
static inline bool owu_urb_is_in(const struct owu_urb *u)
{
    return u->type == OWU_XFER_CONTROL ? (u->setup.bmRequestType & 0x80) != 0 : (u->endpoint & 0x80) != 0;
}

int owu_urb_submit(struct owu_urb *urb);
/* Asks for early completion; harmless when the URB already finished (returns OWU_E_NOTFOUND). */
int owu_urb_cancel(struct owu_urb *urb);
/* Called by backends, exactly once per submitted URB. */
void owu_urb_done(struct owu_urb *urb, int status, size_t actual);

/* Submit and wait for completion; returns urb->status. */
int owu_urb_submit_wait(struct owu_urb *urb);

/* Convenience: a synchronous control transfer on the default pipe. Returns the number of
 * bytes transferred (>= 0) or a negative status. */
int owu_control_sync(struct owu_usb_device *dev, uint8_t bmRequestType, uint8_t bRequest,
                     uint16_t wValue, uint16_t wIndex, uint8_t *data, uint16_t wLength,
                     unsigned timeout_ms);

/* A synchronous bulk/interrupt transfer; *actual gets the byte count. */
int owu_transfer_sync(struct owu_usb_device *dev, enum owu_xfer_type type, uint8_t endpoint,
                      uint8_t *data, size_t length, size_t *actual, unsigned timeout_ms);


#endif
