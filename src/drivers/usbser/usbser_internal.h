/* Private state of the usbser driver, shared by its files:
 *   usbser_desc.c   finding the communication / data interface pair in the descriptors
 *   usbser_port.c   open, close, class requests, state queries
 *   usbser_rx.c     continuous bulk reader, receive ring buffer, SERIAL_STATE notifications
 *   usbser_tx.c     writes
 *   usbser_power.c  the worker thread: halts, unplug detection, selective suspend
 *   usbser_names.c  COM port names and lookup through the stack
 *
 * Locking: port->lock guards everything below it in struct owu_usbser_port. URBs are never
 * submitted or cancelled with port->lock held (a backend may complete in the submitting
 * thread); completion handlers take it themselves.
 */
#ifndef OWU_DRIVERS_USBSER_INTERNAL_H
#define OWU_DRIVERS_USBSER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openwinusb/descriptors.h>
#include <openwinusb/usbser.h>

#include "core/ring.h"
#include "core/urb.h"
#include "hcd/hcd.h"

#define USBSER_CONTROL_TIMEOUT_MS 5000u
#define USBSER_MAX_READ_URBS 64u
#define USBSER_MAX_WRITE_URBS 16u
#define USBSER_NOTIFY_BUF 64u
#define USBSER_WORKER_TICK_MS 20u

/* CDC class codes (linux-usb.md §3). */
enum {
    CDC_SET_LINE_CODING = 0x20,
    CDC_GET_LINE_CODING = 0x21,
    CDC_SET_CONTROL_LINE_STATE = 0x22,
    CDC_SEND_BREAK = 0x23,
    CDC_NOTIFY_SERIAL_STATE = 0x20,
    CDC_CS_INTERFACE = 0x24,
    CDC_FD_CALL_MGMT = 0x01,
    CDC_FD_ACM = 0x02,
    CDC_FD_UNION = 0x06,
};

/* Where the function's pieces are. */
struct usbser_layout {
    uint8_t comm_intf, data_intf;
    uint8_t data_alt;                 /* alternate setting of the data interface to select */
    uint8_t notify_ep;                /* 0 when the function has none */
    uint16_t notify_mps;
    uint8_t in_ep, out_ep;
    uint16_t in_mps, out_mps;
    uint8_t acm_caps;
    const char *found_by;
};

/* Finds the pair inside interfaces [first, first + count) of the configuration (count 0:
 * all of them). OWU_E_BADDESC with a message naming what is missing. */
int usbser_find_layout(const struct owu_config *cfg, uint8_t first, unsigned count,
                       struct usbser_layout *out, owu_err *err);

enum usbser_pm { PM_ACTIVE, PM_TRANSITION, PM_SUSPENDED };

struct usbser_rx_urb {
    struct owu_urb urb;
    struct owu_usbser_port *port;
    bool busy;
};

struct owu_usbser_port {
    struct owu_usb_device *udev;      /* one reference */
    struct usbser_layout lay;
    struct owu_usbser_options opt;
    struct owu_usbser_info info;
    bool sole_function;               /* the only function of its device: may suspend it */

    pthread_mutex_t lock;
    pthread_cond_t cond;              /* any state change: data, events, completions, power */

    bool gone;
    bool stopping;                    /* closing: nothing is resubmitted */
    bool claimed_comm, claimed_data;

    /* receive ring */
    struct owu_ring ring;
    size_t rx_size;
    unsigned nrx, rx_inflight;
    struct usbser_rx_urb *rx;
    bool rx_paused;                   /* an URB stayed idle for want of room */
    bool rx_halted;                   /* bulk IN stalled: the worker clears it */
    unsigned rx_errors;               /* consecutive failures other than stall */
    uint64_t retry_at_ns;             /* the worker retries failed readers from then on */
    uint64_t read_abort_gen;

    /* notifications */
    struct owu_urb nurb;
    uint8_t nbuf[USBSER_NOTIFY_BUF];
    uint8_t nacc[USBSER_NOTIFY_BUF];
    size_t nacc_len;
    bool n_busy;
    bool n_retry;                     /* the worker resubmits after an error */

    /* state */
    unsigned modem;                   /* OWU_USBSER_DCD | DSR | RI */
    unsigned lines;                   /* DTR | RTS as last set */
    unsigned events;                  /* happened, not yet reported */
    uint64_t wait_abort_gen;
    struct owu_usbser_counters cnt;

    /* writes: one writer at a time holds write_lock (never while holding lock) */
    pthread_mutex_t write_lock;
    struct owu_urb *tx;               /* write_urbs URBs */
    uint8_t **tx_buf;
    unsigned tx_inflight;
    bool tx_abort;
    int tx_error;                     /* first failure of the write in progress */
    bool writing;

    /* power */
    enum usbser_pm pm;
    int policy;                       /* -1 absent, 0, 1 */
    bool resume_wanted;
    unsigned pm_busy;                 /* requests that need the device awake */
    uint64_t last_activity_ns;
    unsigned suspends, resumes;

    pthread_t worker;
    bool worker_started;
    bool worker_kick;
};

/* usbser_rx.c */
int usbser_rx_init(struct owu_usbser_port *port);
void usbser_rx_free(struct owu_usbser_port *port);
/* Submits every idle read URB that fits in the ring, and the notification URB when idle.
 * Call without port->lock. */
void usbser_rx_refill(struct owu_usbser_port *port);
/* Cancels the readers and waits until none is in flight (port->stopping or pm != ACTIVE
 * must already keep them from being resubmitted). Call without port->lock. */
void usbser_rx_stop(struct owu_usbser_port *port);
/* With the lock: the device went away. Wakes everybody. */
void usbser_mark_gone_locked(struct owu_usbser_port *port);

/* usbser_tx.c */
int usbser_tx_init(struct owu_usbser_port *port);
void usbser_tx_free(struct owu_usbser_port *port);

/* usbser_power.c */
/* With the lock: a reader failed; the worker retries after a tick, never in a tight loop. */
void usbser_retry_later_locked(struct owu_usbser_port *port);
int usbser_worker_start(struct owu_usbser_port *port);
void usbser_worker_stop(struct owu_usbser_port *port);
void usbser_kick_locked(struct owu_usbser_port *port);
/* Wakes the device if needed and counts a user of it; OWU_E_NODEV when gone. */
int usbser_pm_get(struct owu_usbser_port *port);
void usbser_pm_put(struct owu_usbser_port *port);
bool usbser_may_suspend(const struct owu_usbser_port *port);

/* Absolute deadline for pthread_cond_timedwait (CLOCK_MONOTONIC) ms from now; false for
 * OWU_USBSER_INFINITE. */
bool usbser_deadline(unsigned timeout_ms, struct timespec *ts);

#endif
