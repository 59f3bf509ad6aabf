/* The backend (host controller driver) interface: one vtable that the virtual bus, Linux
 * usbfs and USB/IP all fit. A hook a backend does not need or cannot do is NULL, and the core
 * falls back or reports OWU_E_NOTSUP (the libusb pattern):
 *   - virtual bus: every hook; the core enumerates from reset onwards;
 *   - usbfs: the kernel already reset, addressed and configured the device, so reset_port and
 *     set_address are NULL; standard requests that change state go through the dedicated
 *     hooks (set_configuration, set_interface, clear_halt) because the kernel must see them;
 *     interfaces may be bound to kernel drivers (claim with OWU_CLAIM_DETACH_KERNEL);
 *   - USB/IP: remote; completions arrive on a socket reader thread.
 */
#ifndef OWU_HCD_HCD_H
#define OWU_HCD_HCD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <openwinusb/devinfo.h>
#include <openwinusb/error.h>
#include <openwinusb/usb_defs.h>

#include "core/urb.h"

struct owu_hcd;

enum {
    OWU_CLAIM_DETACH_KERNEL = 1u << 0,   /* unbind a kernel driver first (never done unless asked) */
};

/* A device attached to a backend port. Created by the backend, reference counted, and
 * kept alive while anyone (a devnode, an open handle) holds it, even after unplug
 * (then `gone` is set and every transfer fails with OWU_E_NODEV). */
struct owu_usb_device {
    struct owu_hcd *hcd;
    unsigned port;               /* hub port number (1-based) */
    uint8_t address;             /* 0 until SET_ADDRESS */
    enum owu_speed speed;
    char location[96];           /* "virtual:1-3": backend name, bus number, port path */
    bool removable;
    unsigned ep0_max_packet;     /* learnt from the first 8 bytes of the device descriptor */
    void *hcd_priv;

    pthread_mutex_t lock;
    int refcount;
    bool gone;
    uint8_t claimed[32];         /* bitmap of claimed interface numbers */
    struct owu_devinfo *info;    /* set by enumeration */
    void *devnode;               /* the PnP node built for it (owned by the tree) */
};

struct owu_hcd_ops {
    const char *name;            /* "virtual", "usbfs", "usbip" */

    /* Transfers (mandatory). submit: start the URB, return OWU_OK or a failure (then no
     * completion follows); finish it later from the backend's own thread — a completion
     * inside submit is tolerated (the core delivers it when submit returns) but costs the
     * owner its asynchrony. cancel: finish a submitted URB early via owu_urb_done(); return
     * OWU_E_NOTFOUND if the backend does not hold it (finished, or not taken yet: the core
     * repeats a cancel that raced with submit). */
    int (*submit)(struct owu_urb *urb);
    int (*cancel)(struct owu_urb *urb);

    /* Enumeration steps; NULL when the kernel or remote side did them already. */
    int (*reset_port)(struct owu_usb_device *dev);
    int (*set_address)(struct owu_usb_device *dev, uint8_t address);

    /* State-changing standard requests; NULL = the core sends the standard control request. */
    int (*set_configuration)(struct owu_usb_device *dev, int value);
    int (*set_interface)(struct owu_usb_device *dev, uint8_t intf, uint8_t alt);
    int (*clear_halt)(struct owu_usb_device *dev, uint8_t endpoint);

    /* Optional. NULL claim/release = interfaces need no claiming on this backend. */
    int (*claim_interface)(struct owu_usb_device *dev, uint8_t intf, unsigned flags);
    int (*release_interface)(struct owu_usb_device *dev, uint8_t intf);
    int (*reset_device)(struct owu_usb_device *dev);
    int (*suspend)(struct owu_usb_device *dev);
    int (*resume)(struct owu_usb_device *dev);
    int (*get_frame_number)(struct owu_usb_device *dev, uint32_t *frame);

    /* Device released for good (refcount reached zero): free hcd_priv. */
    void (*release_device)(struct owu_usb_device *dev);
    /* The bus is going away: report every device gone (completing their URBs with
     * OWU_E_NODEV) and stop the backend's threads. Devices may still be referenced after it. */
    void (*shutdown)(struct owu_hcd *hcd);
    /* Free the bus object; called when the last reference (the owner's and one per device
     * object still alive) is dropped, so no device can reach a freed bus. */
    void (*destroy)(struct owu_hcd *hcd);
};

/* Hotplug sink: the stack registers one; backends report arrivals and departures through
 * owu_hcd_device_arrived/left, from any thread. */
typedef void (*owu_hotplug_fn)(struct owu_hcd *hcd, struct owu_usb_device *dev, bool arrived,
                               void *ctx);

struct owu_hcd {
    const struct owu_hcd_ops *ops;
    unsigned bus_number;
    char name[32];               /* "virtual" */
    bool superspeed;             /* root hub speed class, for the ROOT_HUB20/30 node */
    void *priv;
    owu_hotplug_fn hotplug;
    void *hotplug_ctx;
    int refcount;                /* owner + every live struct owu_usb_device of the bus */
    pthread_mutex_t ref_lock;
};

/* Backends call this when they create the bus object (refcount 1, owned by the creator). */
void owu_hcd_init(struct owu_hcd *hcd, const struct owu_hcd_ops *ops, unsigned bus_number,
                  const char *name);
void owu_hcd_ref(struct owu_hcd *hcd);
void owu_hcd_unref(struct owu_hcd *hcd);

/* Device objects. new: refcount 1, owned by the backend until it reports the device left. */
struct owu_usb_device *owu_usb_device_new(struct owu_hcd *hcd, unsigned port, enum owu_speed speed);
void owu_usb_device_ref(struct owu_usb_device *dev);
void owu_usb_device_unref(struct owu_usb_device *dev);
bool owu_usb_device_gone(struct owu_usb_device *dev);

void owu_hcd_device_arrived(struct owu_hcd *hcd, struct owu_usb_device *dev);
/* Marks the device gone, then notifies; the backend must already have completed (or must
 * complete right after) every URB it held for the device with OWU_E_NODEV. */
void owu_hcd_device_left(struct owu_hcd *hcd, struct owu_usb_device *dev);

/* Standard operations that use a backend hook when there is one, else a control request. */
int owu_dev_set_configuration(struct owu_usb_device *dev, int value, unsigned timeout_ms);
int owu_dev_set_interface(struct owu_usb_device *dev, uint8_t intf, uint8_t alt, unsigned timeout_ms);
int owu_dev_clear_halt(struct owu_usb_device *dev, uint8_t endpoint, unsigned timeout_ms);
int owu_dev_claim_interface(struct owu_usb_device *dev, uint8_t intf, unsigned flags);
int owu_dev_release_interface(struct owu_usb_device *dev, uint8_t intf);

/* Shuts the bus down (every device reported gone) and drops the owner's reference. Not from
 * a completion callback or a hotplug callback of the same bus: shutdown joins the bus's
 * threads, which are the ones running those callbacks. */
void owu_hcd_destroy(struct owu_hcd *hcd);

#endif
