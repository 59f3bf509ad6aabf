/* openwinusb: the usbser function driver (usbser.sys's role) — a serial port over a USB
 * CDC Abstract Control Model function, on any backend.
 *
 * A port is opened on a device node whose driver the PnP manager chose as "usbser" (a CDC-ACM
 * function of a composite device, or a whole CDC-ACM device). Opening claims the
 * communication and data interfaces (a second open of the same port fails with
 * OWU_E_BUSY), starts the notification reader (SERIAL_STATE) and the continuous bulk reader
 * that fills a bounded receive buffer, and raises DTR and RTS. Closing lowers them.
 *
 * Ports are named "COMn", assigned once per device instance and kept in its Device
 * Parameters (PortName). Details, the suspend policy and the limits: docs/usbser.md.
 *
 * All functions are thread-safe. After surprise removal every call on the port (and every
 * waiting reader, writer and event waiter) fails with OWU_E_NODEV; only close remains.
 */
#ifndef OPENWINUSB_USBSER_H
#define OPENWINUSB_USBSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openwinusb/error.h>
#include <openwinusb/pnp.h>

#ifdef __cplusplus
extern "C" {
#endif

struct owu_stack;
struct owu_registry;
struct owu_usbser_port;

/* Timeout value meaning "wait as long as it takes". */
#define OWU_USBSER_INFINITE 0xFFFFFFFFu
/* Port numbers handed out start here (COM1 and COM2 are the legacy UARTs on Windows). */
#define OWU_USBSER_FIRST_COM 3u
#define OWU_USBSER_MAX_COM 256u
/* IdleUsbSelectiveSuspendPolicy values (Device Parameters, REG_DWORD). */
#define OWU_USBSER_SUSPEND_WHEN_CLOSED 0u
#define OWU_USBSER_SUSPEND_WHEN_IDLE 1u

struct owu_usbser_options {
    unsigned read_urbs;          /* bulk IN transfers kept in flight; 0: 8 */
    size_t read_urb_size;        /* bytes each (rounded up to wMaxPacketSize); 0: 16 KiB */
    size_t rx_buffer_size;       /* receive buffer; 0: 1 MiB (at least read_urbs x size) */
    unsigned write_urbs;         /* bulk OUT transfers a write keeps in flight; 0: 4 */
    size_t write_urb_size;       /* bytes each; 0: 16 KiB */
    unsigned idle_timeout_ms;    /* policy 1: idle time before suspending; 0: 5000 */
    bool keep_lines;             /* do not raise DTR/RTS at open nor lower them at close */
    bool detach_kernel_driver;   /* usbfs: unbind Linux's cdc_acm from the interfaces first */
};

void owu_usbser_options_default(struct owu_usbser_options *opt);

/* CDC line coding (linux-usb.md §3.2). */
struct owu_usbser_line_coding {
    uint32_t rate;               /* bits per second */
    uint8_t stop_bits;           /* 0: 1, 1: 1.5, 2: 2 */
    uint8_t parity;              /* 0 none, 1 odd, 2 even, 3 mark, 4 space */
    uint8_t data_bits;           /* 5, 6, 7, 8 or 16 */
};

/* Control lines (SET_CONTROL_LINE_STATE) and modem status (SERIAL_STATE bits). */
enum {
    OWU_USBSER_DTR = 1u << 0,
    OWU_USBSER_RTS = 1u << 1,

    OWU_USBSER_DCD = 1u << 0,    /* levels from the last SERIAL_STATE */
    OWU_USBSER_DSR = 1u << 1,
    OWU_USBSER_RI = 1u << 3,     /* bRingSignal of the last SERIAL_STATE */
};

/* Events a waiter can ask for. Bits 0..6 are the SERIAL_STATE bit positions: DCD and DSR
 * report a change of level, the others that the device reported the event. */
enum {
    OWU_USBSER_EV_DCD = 1u << 0,
    OWU_USBSER_EV_DSR = 1u << 1,
    OWU_USBSER_EV_BREAK = 1u << 2,
    OWU_USBSER_EV_RING = 1u << 3,
    OWU_USBSER_EV_FRAMING = 1u << 4,
    OWU_USBSER_EV_PARITY = 1u << 5,
    OWU_USBSER_EV_OVERRUN = 1u << 6,
    OWU_USBSER_EV_RXCHAR = 1u << 8,     /* bytes arrived in the receive buffer */
    OWU_USBSER_EV_TXEMPTY = 1u << 9,    /* a write finished and none is in progress */
    OWU_USBSER_EV_ALL = 0x37Fu,
};

struct owu_usbser_counters {
    uint32_t dcd, dsr, ring, brk, framing, parity, overrun;   /* per SERIAL_STATE event */
    uint32_t notifications;      /* SERIAL_STATE notifications received */
    uint32_t ignored_notifications;   /* other or malformed notifications */
    uint64_t rx_bytes, tx_bytes;
    uint32_t zero_packets;       /* ZLPs sent after writes ending on a packet boundary */
    uint32_t rx_paused;          /* times the reader stopped because the buffer was full */
    uint32_t stalls_cleared;     /* bulk IN halts cleared by the driver */
};

/* What the driver found in the descriptors. */
struct owu_usbser_info {
    char port_name[16];          /* "COM3" */
    char instance_id[200];       /* the device node's instance ID */
    char location[96];           /* "virtual:1-1" */
    uint8_t comm_interface, data_interface;
    uint8_t notify_ep, in_ep, out_ep;
    uint16_t in_max_packet, out_max_packet;
    uint8_t acm_capabilities;    /* ACM functional descriptor bmCapabilities (0 if none) */
    const char *found_by;        /* "union", "call management", "iad", "data class", "combined" */
    int suspend_policy;          /* -1: absent (never suspend), 0 or 1 */
};

struct owu_usbser_power_stats {
    bool suspended;
    unsigned suspends, resumes;
};

/* ---- names and lookup ---------------------------------------------------------------------- */

/* The port name of a device instance: its PortName value when that is a valid "COMn", else
 * the lowest free COMn (n >= OWU_USBSER_FIRST_COM) that no other instance of the store
 * holds, written to PortName. out gets "COMn". */
int owu_usbser_port_name(struct owu_registry *reg, const char *instance_id, char out[16],
                         owu_err *err);

/* Finds the usbser node of a port with the stack lock held. `name` is a port name ("COM3",
 * "\\.\COM3", case-insensitive), a device instance ID, or a bus location ("virtual:1-1":
 * the device's first usbser function). Port names of every usbser node in the tree are
 * assigned on the way (so lookup by name also finds ports never opened). NULL when there is
 * no such port (err says why). */
struct owu_devnode *owu_usbser_find(struct owu_stack *stack, const char *name, owu_err *err);

/* Appends "COMn<TAB>instance ID<TAB>location" for every present usbser node. */
int owu_usbser_list(struct owu_stack *stack, owu_strlist *out, owu_err *err);

/* ---- ports ------------------------------------------------------------------------------------ */

/* Opens the port `name` (as owu_usbser_find). opt may be NULL. Errors: OWU_E_NOTFOUND (no
 * such port), OWU_E_BUSY (already open: its interfaces are claimed), OWU_E_NODEV (gone),
 * OWU_E_BADDESC (no communication/data interface pair), OWU_E_NOMEM, transfer errors. */
int owu_usbser_open(struct owu_stack *stack, const char *name, const struct owu_usbser_options *opt,
                    struct owu_usbser_port **out, owu_err *err);
/* Lowers DTR/RTS (unless keep_lines or gone), stops the readers, releases the interfaces,
 * suspends the device when the policy says so, frees the port. Waiters still blocked in
 * another thread must have returned first (purge with OWU_USBSER_PURGE_ABORT_ALL wakes
 * them). NULL is fine. */
void owu_usbser_close(struct owu_usbser_port *port);

void owu_usbser_get_info(const struct owu_usbser_port *port, struct owu_usbser_info *out);
bool owu_usbser_gone(struct owu_usbser_port *port);

/* Class requests (synchronous). */
int owu_usbser_set_line_coding(struct owu_usbser_port *port, const struct owu_usbser_line_coding *lc);
/* GET_LINE_CODING from the device. */
int owu_usbser_get_line_coding(struct owu_usbser_port *port, struct owu_usbser_line_coding *lc);
/* SET_CONTROL_LINE_STATE with OWU_USBSER_DTR | OWU_USBSER_RTS. */
int owu_usbser_set_control_lines(struct owu_usbser_port *port, unsigned lines);
/* The lines as last set. */
unsigned owu_usbser_control_lines(struct owu_usbser_port *port);
/* SEND_BREAK: duration in ms; 0xFFFF = until SEND_BREAK 0; 0 = end of break. */
int owu_usbser_send_break(struct owu_usbser_port *port, uint16_t duration_ms);

/* Modem status: OWU_USBSER_DCD | DSR | RI from the last SERIAL_STATE. */
unsigned owu_usbser_modem_status(struct owu_usbser_port *port);
void owu_usbser_get_counters(struct owu_usbser_port *port, struct owu_usbser_counters *out);

/* Waits until one of the events in `mask` has happened since it was last reported (or
 * cleared), then reports (*which, may be NULL) and clears the masked events that happened.
 * timeout 0 polls. OWU_E_TIMEOUT, OWU_E_NODEV, OWU_E_CANCELLED (purged with
 * OWU_USBSER_PURGE_ABORT_WAIT or closing). */
int owu_usbser_wait_events(struct owu_usbser_port *port, unsigned mask, unsigned timeout_ms,
                           unsigned *which);
/* Forgets events that happened (mask bits) without waiting. */
void owu_usbser_clear_events(struct owu_usbser_port *port, unsigned mask);

/* Reads what the receive buffer holds, up to len bytes, waiting up to timeout_ms for at
 * least one byte (0: do not wait). OWU_OK with *got > 0, OWU_E_TIMEOUT (*got = 0),
 * OWU_E_NODEV, OWU_E_CANCELLED (purged with OWU_USBSER_PURGE_ABORT_READ). */
int owu_usbser_read(struct owu_usbser_port *port, void *buf, size_t len, unsigned timeout_ms,
                    size_t *got);
/* Bytes waiting in the receive buffer. */
size_t owu_usbser_rx_available(struct owu_usbser_port *port);

/* Writes len bytes (writers are served one at a time), split into bulk transfers; a write
 * whose length is a multiple of wMaxPacketSize ends with a zero-length packet. Waits up to
 * timeout_ms for all of it. *written (may be NULL) gets what the device took even on
 * failure. OWU_E_TIMEOUT, OWU_E_NODEV, OWU_E_CANCELLED (OWU_USBSER_PURGE_ABORT_WRITE),
 * transfer errors. */
int owu_usbser_write(struct owu_usbser_port *port, const void *buf, size_t len,
                     unsigned timeout_ms, size_t *written);

enum {
    OWU_USBSER_PURGE_RX = 1u << 0,           /* drop the received bytes not yet read */
    OWU_USBSER_PURGE_ABORT_READ = 1u << 1,   /* waiting reads return OWU_E_CANCELLED */
    OWU_USBSER_PURGE_ABORT_WRITE = 1u << 2,  /* the write in progress is cancelled */
    OWU_USBSER_PURGE_ABORT_WAIT = 1u << 3,   /* event waiters return OWU_E_CANCELLED */
    OWU_USBSER_PURGE_ABORT_ALL = 0xEu,
};
int owu_usbser_purge(struct owu_usbser_port *port, unsigned flags);

void owu_usbser_power_stats(struct owu_usbser_port *port, struct owu_usbser_power_stats *out);

/* Sends lc (SET_LINE_CODING) and reads back what the device then reports (GET_LINE_CODING)
 * into *now (lc itself when either request fails). msg gets the line the terminals print:
 * "line coding 115200 8E1 (device reports 115200 8E1)", "line coding ..." when the read back
 * failed, "line coding ... refused by the device: STATUS". Returns the SET status. */
int owu_usbser_apply_line(struct owu_usbser_port *port, const struct owu_usbser_line_coding *lc,
                          struct owu_usbser_line_coding *now, char *msg, size_t n);

/* ---- line coding as text and as termios flags (src/drivers/usbser/usbser_line.c) ---------- */

/* Parses "115200,8E1", "8E1" (rate kept) or "115200" (format kept) into *lc: data bits 5-8,
 * parity N/O/E/M/S, stop bits 1, 1.5 or 2. false (lc unchanged) when malformed. */
bool owu_usbser_parse_line(const char *spec, struct owu_usbser_line_coding *lc);
/* "115200 8E1" into buf. */
const char *owu_usbser_line_text(const struct owu_usbser_line_coding *lc, char *buf, size_t n);
bool owu_usbser_same_line(const struct owu_usbser_line_coding *a, const struct owu_usbser_line_coding *b);
/* A termios speed code (B9600 ...) as bits per second: 0 for B0 and unknown codes. */
uint32_t owu_usbser_speed_rate(unsigned speed);
/* The termios speed code of a rate, 0 when there is none (BOTHER territory). */
unsigned owu_usbser_rate_speed(uint32_t rate);
/* The line coding a termios c_cflag (CSIZE, CSTOPB, PARENB, PARODD, CMSPAR) asks for at
 * `rate` bits per second, as Linux cdc-acm maps it (linux-usb.md §3.5). */
void owu_usbser_line_from_cflag(uint32_t cflag, uint32_t rate, struct owu_usbser_line_coding *lc);
/* cflag with its CSIZE, CSTOPB, PARENB, PARODD and CMSPAR bits describing lc (1.5 stop
 * bits read as CSTOPB). The speed bits are left alone. */
uint32_t owu_usbser_cflag_with_line(uint32_t cflag, const struct owu_usbser_line_coding *lc);

#ifdef __cplusplus
}
#endif
#endif
