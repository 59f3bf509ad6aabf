/* openwinusb: a serial terminal device of our own for a usbser port, through Linux CUSE
 * (character devices in user space: /dev/cuse).
 *
 * A Linux pseudo-terminal cannot carry everything a serial line has: the pty driver forces
 * CS8 and clears PARENB on every termios change, and it has no modem lines. This terminal
 * is a character device (/dev/ttyOWU3 for COM3 by default) whose every open, read, write,
 * poll and ioctl the kernel hands to us, so all of termios reaches the device:
 *
 *  - TCSETS / TCSETS2 (tcsetattr, pyserial's custom rates): rate, data bits, parity
 *    (none, odd, even, mark, space), stop bits become SET_LINE_CODING; B0 drops DTR and
 *    leaving it raises DTR (Linux cdc-acm); CRTSCTS drives RTS from the receive buffer's
 *    room (hardware flow control towards the device);
 *  - TIOCMGET / TIOCMSET / TIOCMBIS / TIOCMBIC: DTR and RTS (SET_CONTROL_LINE_STATE); DCD,
 *    DSR and RI from SERIAL_STATE (CTS reads as on: CDC-ACM has no CTS, as in cdc-acm);
 *  - TIOCMIWAIT / TIOCGICOUNT: waiting for and counting modem-line changes, breaks,
 *    framing, parity and overrun errors the device reports;
 *  - tcsendbreak, TIOCSBRK / TIOCCBRK: SEND_BREAK; tcflush, tcdrain, FIONREAD, TIOCOUTQ,
 *    TIOCEXCL, VMIN / VTIME, O_NONBLOCK, poll/select.
 *
 * No line discipline runs: bytes pass unchanged whatever the input/output/local flags say
 * (they are kept and read back); ICANON reads return what has arrived. docs/usbser.md.
 *
 * Needs /dev/cuse (module cuse) and the right to open it (root, by default).
 */
#ifndef OPENWINUSB_SERIALTTY_H
#define OPENWINUSB_SERIALTTY_H

#include <stddef.h>
#include <stdint.h>

#include <openwinusb/error.h>

#ifdef __cplusplus
extern "C" {
#endif

struct owu_usbser_port;
struct owu_serial_tty;

struct owu_serial_tty_options {
    const char *devname;      /* device name below /dev; NULL: "ttyOWU<n>" for port COMn */
    const char *cuse_path;    /* NULL: "/dev/cuse" */
    int cuse_fd;              /* >= 0: an already open channel speaking the CUSE protocol,
                               * one request per read (tests use a SOCK_SEQPACKET pair); the
                               * terminal owns it from a successful start and the device node
                               * is not waited for. -1: open cuse_path */
    size_t rx_buffer_size;    /* bytes held for readers; 0: 64 KiB */
    size_t tx_buffer_size;    /* bytes queued for the device; 0: 64 KiB */
    unsigned node_timeout_ms; /* wait for /dev/NAME to appear; 0: 3000 */
    /* Each notable event (line coding sent, B0, break, flushes, modem changes) as one line
     * without newline, from the terminal's threads. May be NULL. */
    void (*log)(void *ctx, const char *line);
    void *log_ctx;
};

void owu_serial_tty_options_default(struct owu_serial_tty_options *opt);

/* Creates the device for an open port and starts serving it. The port must stay open until
 * owu_serial_tty_stop; the terminal raises DTR and RTS when its first user opens it and,
 * under HUPCL, drops them at the last close (open the port with keep_lines). Errors:
 * OWU_E_NOTSUP (no /dev/cuse), OWU_E_ACCESS, OWU_E_BUSY (the name is taken),
 * OWU_E_NOMEM, OWU_E_IO, OWU_E_TIMEOUT (the node did not appear). */
int owu_serial_tty_start(struct owu_usbser_port *port, const struct owu_serial_tty_options *opt,
                         struct owu_serial_tty **out, owu_err *err);

/* "/dev/ttyOWU3". */
const char *owu_serial_tty_path(const struct owu_serial_tty *tty);

/* Waits up to timeout_ms while the terminal runs. OWU_E_TIMEOUT: still running;
 * OWU_E_NODEV: the device went away (every user got EIO); OWU_E_IO: the kernel ended the
 * CUSE connection. */
int owu_serial_tty_wait(struct owu_serial_tty *tty, unsigned timeout_ms);

/* Stops serving: pending requests fail with EIO, the device node disappears (users' open
 * files then fail with ENODEV), threads are joined. NULL is fine. */
void owu_serial_tty_stop(struct owu_serial_tty *tty);

#ifdef __cplusplus
}
#endif

#endif
