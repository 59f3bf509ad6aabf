/* The WinUSB function driver (winusb.sys's role): per-device and per-interface state over any
 * backend, one pipe engine per endpoint that carries out WinUSB's pipe policies, alternate
 * settings, isochronous streams, and selective suspend. It uses only the URB interface
 * (core/urb.h) and the device operations of hcd/hcd.h, so it runs on every backend.
 *
 * The WinUSB API (src/api/winusb_*.c) is its only client: it turns Win32 handles and
 * OVERLAPPED structures into the objects and requests below and maps the owu status codes
 * to GetLastError values (docs/winusb.md lists the mapping).
 *
 * Threads: requests complete on the backend's completion thread or in the submitting
 * thread; the driver never calls a completion callback with a lock held, and always in
 * request order per pipe. Each open device has one worker thread for work that must not run
 * on a completion thread (clearing a stall, suspend, resume).
 *
 * Policy and power-policy codes, and their value sizes, are WinUSB's
 * (shared/reference/winusb-api.md §4.7, §5, §6).
 */
#ifndef OWU_DRIVERS_WINUSB_DRV_H
#define OWU_DRIVERS_WINUSB_DRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openwinusb/descriptors.h>
#include <openwinusb/devinfo.h>
#include <openwinusb/error.h>

#include "core/urb.h"
#include "hcd/hcd.h"

struct owu_winusb_dev;
struct owu_winusb_intf;
struct owu_winusb_isoch_buf;

/* ---- policies --------------------------------------------------------------------------- */

enum {
    OWU_WINUSB_SHORT_PACKET_TERMINATE = 0x01,
    OWU_WINUSB_AUTO_CLEAR_STALL = 0x02,
    OWU_WINUSB_PIPE_TRANSFER_TIMEOUT = 0x03,
    OWU_WINUSB_IGNORE_SHORT_PACKETS = 0x04,
    OWU_WINUSB_ALLOW_PARTIAL_READS = 0x05,
    OWU_WINUSB_AUTO_FLUSH = 0x06,
    OWU_WINUSB_RAW_IO = 0x07,
    OWU_WINUSB_MAXIMUM_TRANSFER_SIZE = 0x08,
    OWU_WINUSB_RESET_PIPE_ON_RESUME = 0x09,
    OWU_WINUSB_AUTO_SUSPEND = 0x81,
    OWU_WINUSB_SUSPEND_DELAY = 0x83,
};

/* The default control pipe's PIPE_TRANSFER_TIMEOUT. */
#define OWU_WINUSB_CONTROL_TIMEOUT_MS 5000u
/* MAXIMUM_TRANSFER_SIZE of bulk and interrupt pipes (WinUSB documents no number). */
#define OWU_WINUSB_MAX_TRANSFER_SIZE (2u * 1024u * 1024u)
/* WinUsb_ControlTransfer's limit on the data stage. */
#define OWU_WINUSB_MAX_CONTROL_LENGTH 4096u
/* Isochronous limits: packets per transfer, start-frame window (USBD_ISO_START_FRAME_RANGE),
 * and the frames an ASAP transfer that starts a new stream waits. */
#define OWU_WINUSB_ISO_MAX_PACKETS 1024u
#define OWU_WINUSB_ISO_FRAME_RANGE 1024u
#define OWU_WINUSB_ISO_ASAP_LATENCY 5u

/* Where the power-policy defaults come from: the Device Parameters values WinUSB reads
 * (DeviceIdleEnabled, DefaultIdleState, DefaultIdleTimeout, UserSetDeviceIdleEnabled). */
struct owu_winusb_power_defaults {
    bool idle_enabled;           /* DeviceIdleEnabled != 0: master switch (default off) */
    bool default_idle_state;     /* DefaultIdleState: AUTO_SUSPEND's default (default on) */
    uint32_t idle_timeout_ms;    /* DefaultIdleTimeout: SUSPEND_DELAY's default (5000) */
    bool user_disabled;          /* UserSetDeviceIdleEnabled set and the user unticked it */
};

void owu_winusb_power_defaults_init(struct owu_winusb_power_defaults *pd);

/* ---- devices and interfaces ------------------------------------------------------------- */

/* Opens the WinUSB state of one device function: the interfaces first_interface ..
 * first_interface + num_interfaces - 1 of the first configuration (num_interfaces 0: every
 * interface of the configuration, for a non-composite device node). Interface index 0 is the
 * first of them in configuration order. `info` is what enumeration learnt (copied).
 * Errors: OWU_E_NODEV (device gone), OWU_E_BADDESC (no usable first configuration or no
 * interface in the range: Windows' ERROR_BAD_DEVICE), OWU_E_NOMEM.
 * The caller holds one reference; release it with owu_winusb_dev_unref. */
int owu_winusb_dev_open(struct owu_usb_device *udev, const struct owu_devinfo *info,
                        uint8_t first_interface, unsigned num_interfaces,
                        const struct owu_winusb_power_defaults *pd, struct owu_winusb_dev **out,
                        owu_err *err);
void owu_winusb_dev_ref(struct owu_winusb_dev *dev);
/* The last reference aborts what is still queued, resumes a suspended device, stops the
 * worker and frees everything. */
void owu_winusb_dev_unref(struct owu_winusb_dev *dev);

unsigned owu_winusb_dev_num_interfaces(const struct owu_winusb_dev *dev);
struct owu_usb_device *owu_winusb_dev_usb(const struct owu_winusb_dev *dev);
enum owu_speed owu_winusb_dev_speed(const struct owu_winusb_dev *dev);
bool owu_winusb_dev_gone(const struct owu_winusb_dev *dev);
/* The cached device descriptor (18 bytes) and first configuration (wTotalLength bytes). */
const uint8_t *owu_winusb_dev_device_desc(const struct owu_winusb_dev *dev);
const uint8_t *owu_winusb_dev_config_desc(const struct owu_winusb_dev *dev, size_t *len);
/* Cancels every request of every interface (CancelIo); returns when they completed. */
void owu_winusb_dev_abort_all(struct owu_winusb_dev *dev);

/* Hands out interface `index` (one holder at a time): OWU_E_NOTFOUND when there is no such
 * interface, OWU_E_BUSY when it is already handed out. Takes a device reference.
 * Policies of a handed-out interface start at their defaults. */
int owu_winusb_intf_acquire(struct owu_winusb_dev *dev, unsigned index, struct owu_winusb_intf **out);
/* Aborts every request of the interface's pipes and waits until they completed. */
void owu_winusb_intf_abort(struct owu_winusb_intf *intf);
/* Aborts the interface's pipes (waits for their requests), returns it, drops the reference. */
void owu_winusb_intf_release(struct owu_winusb_intf *intf);

struct owu_winusb_dev *owu_winusb_intf_dev(const struct owu_winusb_intf *intf);
unsigned owu_winusb_intf_index(const struct owu_winusb_intf *intf);
uint8_t owu_winusb_intf_number(const struct owu_winusb_intf *intf);
/* Alternate settings by ordinal (0 = first in the descriptor) or by bAlternateSetting. */
const struct owu_altsetting *owu_winusb_intf_alt(const struct owu_winusb_intf *intf, unsigned ordinal);
const struct owu_altsetting *owu_winusb_intf_alt_value(const struct owu_winusb_intf *intf, uint8_t value);
uint8_t owu_winusb_intf_current_alt(struct owu_winusb_intf *intf);
/* SET_INTERFACE, then the pipes of the new setting replace the old ones (a pipe whose
 * endpoint address exists in both keeps its policies). OWU_E_NOTFOUND: no such setting;
 * OWU_E_BUSY: requests are pending on the interface; transfer errors as they come. */
int owu_winusb_intf_set_alt(struct owu_winusb_intf *intf, uint8_t value);
/* Whether `endpoint` belongs to any alternate setting of the interface. */
bool owu_winusb_intf_owns_endpoint(const struct owu_winusb_intf *intf, uint8_t endpoint);

/* Pipe facts as WinUsb_QueryPipeEx reports them. */
struct owu_winusb_pipe_info {
    uint8_t address;
    enum owu_xfer_type type;
    uint16_t max_packet;              /* bits 10..0 of wMaxPacketSize */
    uint8_t interval;                 /* bInterval */
    uint32_t bytes_per_interval;      /* max packet x transactions, or the SS companion's */
};
/* The index-th endpoint of an alternate setting. OWU_E_NOTFOUND past the last one. */
int owu_winusb_pipe_info(const struct owu_winusb_dev *dev, const struct owu_altsetting *alt,
                         unsigned index, struct owu_winusb_pipe_info *out);

/* ---- policies ---------------------------------------------------------------------------- */

/* Pipe policies of one pipe of the interface (0x00 = its default control pipe, else an
 * endpoint of the current alternate setting). Value sizes: booleans 1..4 bytes (any
 * non-zero byte = TRUE), PIPE_TRANSFER_TIMEOUT exactly 4. OWU_E_NOTFOUND: no such pipe;
 * OWU_E_INVAL: unknown policy, wrong ValueLength, or MAXIMUM_TRANSFER_SIZE (read-only).
 * Get: *len in = buffer size, out = bytes written (1 for booleans, 4 for ULONGs);
 * OWU_E_OVERFLOW (with *len = size needed) when the buffer is too small. */
int owu_winusb_set_pipe_policy(struct owu_winusb_intf *intf, uint8_t pipe_id, uint32_t policy,
                               const void *value, size_t len);
int owu_winusb_get_pipe_policy(struct owu_winusb_intf *intf, uint8_t pipe_id, uint32_t policy,
                               void *value, size_t *len);
/* Power policies of the device (AUTO_SUSPEND: boolean 1..4 bytes; SUSPEND_DELAY: 4 bytes). */
int owu_winusb_set_power_policy(struct owu_winusb_dev *dev, uint32_t policy, const void *value,
                                size_t len);
int owu_winusb_get_power_policy(struct owu_winusb_dev *dev, uint32_t policy, void *value, size_t *len);

/* Tests: a smaller MAXIMUM_TRANSFER_SIZE for one pipe, to see splitting without megabytes. */
int owu_winusb_test_set_max_transfer(struct owu_winusb_intf *intf, uint8_t pipe_id, uint32_t size);

/* Power state for tests and diagnostics. */
struct owu_winusb_power_stats {
    bool suspended;
    unsigned suspends;           /* selective suspends done */
    unsigned resumes;
};
void owu_winusb_power_stats(struct owu_winusb_dev *dev, struct owu_winusb_power_stats *out);

/* ---- requests ------------------------------------------------------------------------------ */

enum owu_winusb_req_kind {
    OWU_WINUSB_REQ_READ,         /* bulk/interrupt IN */
    OWU_WINUSB_REQ_WRITE,        /* bulk/interrupt OUT */
    OWU_WINUSB_REQ_CONTROL,      /* default control pipe */
    OWU_WINUSB_REQ_ISOCH,        /* isochronous, either direction (owu_winusb_isoch_submit) */
};

struct owu_winusb_req;
typedef void (*owu_winusb_complete_fn)(struct owu_winusb_req *req);

/* One request. The caller allocates it (owu_winusb_req_new), fills the first block and
 * submits it; `complete` runs exactly once, with no driver lock held, after which the driver
 * no longer touches the request — the callback (or whoever it wakes) frees it. A callback
 * must not release the last reference to the device nor call back into the driver for the
 * same pipe; it may run on the backend's completion thread or the device's worker. */
struct owu_winusb_req {
    enum owu_winusb_req_kind kind;
    uint8_t pipe_id;             /* bEndpointAddress; 0 for control */
    uint8_t *buffer;
    size_t length;
    struct owu_setup setup;      /* control: as the device will see it */
    owu_winusb_complete_fn complete;
    void *context;

    /* Isochronous (filled by owu_winusb_isoch_submit). */
    struct owu_winusb_isoch_buf *isoch;
    struct owu_iso_packet *iso;  /* per-packet results: offset, length, actual, status */
    unsigned num_iso;            /* packets of the transfer */
    unsigned iso_cap;            /* packets allocated */

    /* Results. */
    size_t transferred;
    int status;                  /* OWU_OK or a failure (see docs/winusb.md) */

    /* Private to the pipe engine. */
    struct owu_winusb_req *next;
    struct owu_winusb_pipe *pipe;
    int state;
    bool raw;
    bool aborted;
    bool urb_busy;
    bool needs_submit;
    bool zlp_done;
    bool busy_counted;
    bool cancel_sent;
    int cancelling;
    uint64_t seq;
    uint64_t deadline_ns;
    size_t chunk;                /* user bytes the URB in flight is for */
    uint8_t *bounce;
    size_t bounce_len;
    struct owu_urb urb;
};

/* Allocates a zeroed request with room for `num_iso` packet results. NULL when out of memory. */
struct owu_winusb_req *owu_winusb_req_new(unsigned num_iso);
void owu_winusb_req_free(struct owu_winusb_req *req);

/* Queues a read, write or control request on the interface. Checks before queueing (then
 * returns the failure and never calls complete): OWU_E_INVAL (no such pipe in the current
 * setting, wrong direction or type, RAW_IO size rules, control data stage > 4096 bytes or
 * larger than the buffer), OWU_E_STALL (the pipe is halted after a stall: every request
 * fails until WinUsb_ResetPipe), OWU_E_NODEV (device gone), OWU_E_BUSY (an alternate
 * setting change is in progress). OWU_OK: complete will run (maybe already has). */
int owu_winusb_submit(struct owu_winusb_intf *intf, struct owu_winusb_req *req);

/* Cancels every request of the pipe (queued ones and the transfers in flight); they complete
 * with OWU_E_CANCELLED. Returns once all of them have completed. OWU_E_NOTFOUND: no such pipe. */
int owu_winusb_abort_pipe(struct owu_winusb_intf *intf, uint8_t pipe_id);
/* Clears the pipe's halt on both sides (CLEAR_FEATURE(ENDPOINT_HALT)); pipe 0 cannot be reset
 * (OWU_E_INVAL). */
int owu_winusb_reset_pipe(struct owu_winusb_intf *intf, uint8_t pipe_id);
/* Drops the bytes saved by ALLOW_PARTIAL_READS for the pipe (no-op for OUT pipes). */
int owu_winusb_flush_pipe(struct owu_winusb_intf *intf, uint8_t pipe_id);
/* Sends a control request synchronously from an API thread (descriptors, standard requests
 * the driver issues for the caller). Returns bytes transferred or a negative status. */
int owu_winusb_control_sync(struct owu_winusb_intf *intf, const struct owu_setup *setup,
                            uint8_t *data, size_t length);

/* ---- isochronous -------------------------------------------------------------------------- */

/* Registers a caller buffer for isochronous transfers on an isochronous pipe of the current
 * setting (OWU_E_INVAL otherwise). Takes a device reference. */
int owu_winusb_isoch_register(struct owu_winusb_intf *intf, uint8_t pipe_id, uint8_t *buffer,
                              size_t length, struct owu_winusb_isoch_buf **out);
/* Waits until no transfer uses the buffer, then frees the registration. */
void owu_winusb_isoch_unregister(struct owu_winusb_isoch_buf *buf);
struct owu_winusb_intf *owu_winusb_isoch_intf(const struct owu_winusb_isoch_buf *buf);

struct owu_winusb_isoch_args {
    uint32_t offset;             /* into the registered buffer */
    uint32_t length;
    bool asap;
    bool continue_stream;        /* ASAP: only if it can follow the previous transfer */
    uint32_t frame;              /* explicit: the start frame */
    unsigned num_packets;        /* IN: the caller's packet count; OUT: 0 (computed) */
};
/* Packetises and queues an isochronous transfer; req must have been allocated with room for
 * the packets (owu_winusb_isoch_packets tells how many for OUT). On success *next_frame
 * gets the frame after the last one the transfer uses. OWU_E_INVAL: range outside the
 * buffer, length 0, packet count or sizes not fitting the endpoint, not ending on a frame
 * boundary, start frame outside the window; OWU_E_IO: ContinueStream impossible;
 * OWU_E_NOTSUP: the backend has no frame counter and an explicit frame was asked for. */
int owu_winusb_isoch_submit(struct owu_winusb_isoch_buf *buf, struct owu_winusb_req *req,
                            const struct owu_winusb_isoch_args *args, uint32_t *next_frame);
/* Packets an OUT transfer of `length` bytes is cut into (0 when the pipe is not isochronous). */
unsigned owu_winusb_isoch_packets(const struct owu_winusb_isoch_buf *buf, uint32_t length);
/* The bus frame counter (OWU_E_NOTSUP when the backend has none). */
int owu_winusb_frame_number(struct owu_winusb_dev *dev, uint32_t *frame);

#endif
