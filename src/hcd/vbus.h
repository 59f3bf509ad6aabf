/* The virtual bus: an in-process host controller with ports into which device models are
 * plugged. Device models (src/devices/) are constant descriptor trees plus a few handlers;
 * one generic standard-request handler (src/devices/std_request.c) answers GET_DESCRIPTOR,
 * SET_ADDRESS, SET/GET_CONFIGURATION, SET/GET_INTERFACE, GET_STATUS, CLEAR/SET_FEATURE and
 * the MS OS 1.0/2.0 vendor requests from those tables, so a model only handles its own
 * class and vendor requests and its data endpoints.
 *
 * Threading: every model callback runs with the bus lock held (one lock per bus), so model
 * state needs no locks of its own. Completions are never delivered under that lock: models
 * call owu_vdev_complete(), which hands the URB to the bus's completion thread.
 */
#ifndef OWU_HCD_VBUS_H
#define OWU_HCD_VBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hcd/hcd.h"

struct owu_vdev;

/* A string a model offers: index (0 never: the LANGID list is built from langids) and text. */
struct owu_vstring {
    uint8_t index;
    const char *text;            /* UTF-8 */
};

/* An MS OS 1.0 extended-properties descriptor a model returns for one interface. */
struct owu_vmsos1_props {
    uint8_t interface;
    const uint8_t *data;
    size_t len;
};

struct owu_vblob {
    const uint8_t *data;
    size_t len;
};

/* Return values of owu_vdev_model.control besides a data length >= 0. */
#define OWU_VDEV_DEFAULT 0x7fff0000  /* not handled: let the standard handler answer */

struct owu_vdev_model {
    const char *name;            /* "fx2", the name used in OPENWINUSB_BUSES */
    const char *summary;         /* one line for --help */
    enum owu_speed speed;

    /* Constant descriptor tree. */
    const uint8_t *device;       /* 18 bytes (hostile models may lie) */
    size_t device_len;
    const struct owu_vblob *configs;
    unsigned num_configs;
    const uint8_t *bos;          /* NULL: GET_DESCRIPTOR(BOS) stalls */
    size_t bos_len;
    const uint16_t *langids;     /* NULL with num_langids 0: string 0 stalls */
    unsigned num_langids;
    const struct owu_vstring *strings;
    unsigned num_strings;

    /* MS OS descriptors (served by the standard handler when set). */
    uint8_t msos1_vendor_code;   /* 0: string 0xEE stalls */
    uint8_t msos1_flags;
    const uint8_t *msos1_compat;             /* extended compat ID (feature index 4) */
    size_t msos1_compat_len;
    const struct owu_vmsos1_props *msos1_props;  /* feature index 5 */
    unsigned num_msos1_props;
    const uint8_t *msos1_container_id;       /* feature index 6 (24 bytes) */
    uint8_t msos20_vendor_code;  /* 0: no MS OS 2.0 set */
    const uint8_t *msos20;
    size_t msos20_len;

    size_t priv_size;            /* bytes of zeroed model state at owu_vdev_priv() */

    /* All optional. */
    int (*init)(struct owu_vdev *vd, const void *arg);
    void (*fini)(struct owu_vdev *vd);
    /* Every control request comes here first (when set). Return the IN data length written
     * to `data` (<= setup->wLength) or 0 for OUT/no-data success; OWU_E_STALL to stall;
     * OWU_E_PENDING to never answer (the host's timeout ends it); OWU_VDEV_DEFAULT to let
     * the standard handler answer. For OUT requests `data` holds the wLength data bytes. */
    int (*control)(struct owu_vdev *vd, const struct owu_setup *setup, uint8_t *data);
    /* A transfer on a data endpoint. Complete it with owu_vdev_complete() now or later;
     * to keep it pending, park it with owu_vdev_queue(). */
    void (*transfer)(struct owu_vdev *vd, struct owu_urb *urb);
    /* State changes made by the standard handler. */
    void (*configured)(struct owu_vdev *vd, uint8_t config_value);
    void (*interface_set)(struct owu_vdev *vd, uint8_t intf, uint8_t alt);
    void (*bus_reset)(struct owu_vdev *vd);
    /* Override of descriptor answers (profile and hostile models): return a length, or
     * OWU_VDEV_DEFAULT to use the tables. */
    int (*get_descriptor)(struct owu_vdev *vd, const struct owu_setup *setup, uint8_t *data);
};

/* A model's live state on the bus. Standard-request state is kept here for the handler. */
struct owu_vdev {
    const struct owu_vdev_model *model;
    struct owu_usb_device *dev;
    struct owu_vbus *bus;
    uint8_t address;
    uint8_t config_value;        /* 0 = unconfigured */
    uint8_t alt[32];             /* current alternate setting per interface number */
    uint32_t halted[2];          /* bit n: endpoint n halted; [0] OUT, [1] IN */
    bool remote_wakeup;
    bool suspended;
    unsigned requests_seen;      /* control requests received (hostile models use it) */
    struct owu_urb *queue_head;  /* parked URBs, any endpoint, in arrival order */
    struct owu_urb *queue_tail;
    void *priv;
};

/* ---- for models ------------------------------------------------------------------------ */

static inline void *owu_vdev_priv(struct owu_vdev *vd) { return vd->priv; }

/* Park a pending URB (it stays until taken, cancelled, or the device is unplugged). */
void owu_vdev_queue(struct owu_vdev *vd, struct owu_urb *urb);
/* The oldest parked URB on an endpoint address (with direction bit), or NULL; take removes it. */
struct owu_urb *owu_vdev_peek(struct owu_vdev *vd, uint8_t endpoint);
struct owu_urb *owu_vdev_take(struct owu_vdev *vd, uint8_t endpoint);
/* Finish an URB (not parked, or already taken). Delivery happens on the completion thread. */
void owu_vdev_complete(struct owu_vdev *vd, struct owu_urb *urb, int status, size_t actual);
/* Endpoint halt state (the standard handler clears it on CLEAR_FEATURE(ENDPOINT_HALT)). */
bool owu_vdev_halted(const struct owu_vdev *vd, uint8_t endpoint);
void owu_vdev_set_halt(struct owu_vdev *vd, uint8_t endpoint, bool halted);
/* Run fn(vd, arg) with the bus lock held, from outside the bus (tests, event injection). */
void owu_vdev_with_lock(struct owu_vdev *vd, void (*fn)(struct owu_vdev *vd, void *arg), void *arg);
/* The bus frame counter (1 ms frames, from the monotonic clock). */
uint32_t owu_vbus_frame_number(const struct owu_vbus *bus);

/* ---- the generic standard-request handler (src/devices/std_request.c) ------------------- */

/* Answers a standard request (and MS OS vendor requests) from the model's tables.
 * Returns like owu_vdev_model.control, never OWU_VDEV_DEFAULT. */
int owu_vdev_std_request(struct owu_vdev *vd, const struct owu_setup *setup, uint8_t *data);

/* ---- the model registry (src/devices/registry.c) ---------------------------------------- */

const struct owu_vdev_model *owu_vdev_model_find(const char *name);
/* NULL-terminated list of every built-in model (hostile ones included). */
const struct owu_vdev_model *const *owu_vdev_models(void);
/* Models included by "virtual:all" (the standard ones, not the hostile ones). */
bool owu_vdev_model_in_all(const struct owu_vdev_model *m);

/* ---- the bus ---------------------------------------------------------------------------- */

#define OWU_VBUS_MAX_PORTS 127

struct owu_hcd *owu_vbus_create(unsigned bus_number, owu_err *err);
/* Plug a model into a port (0 = first free port). arg goes to model->init (a
 * const struct owu_devinfo * for the profile model). On success *out (may be NULL) gets
 * the live model. */
int owu_vbus_plug(struct owu_hcd *hcd, const struct owu_vdev_model *model, const void *arg,
                  unsigned port, struct owu_vdev **out, owu_err *err);
/* Unplug: every pending URB completes with OWU_E_NODEV, then the stack is told. */
int owu_vbus_unplug(struct owu_hcd *hcd, unsigned port);
struct owu_vdev *owu_vbus_port(struct owu_hcd *hcd, unsigned port);

#endif
