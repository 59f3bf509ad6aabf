/* The CUSE serial terminal (include/openwinusb/serialtty.h), shared by its two files:
 *   serial_tty.c        the CUSE channel, the request loop, reads, writes, poll, threads;
 *   serial_tty_ioctl.c  termios and the serial ioctls (modem lines, breaks, flushes, counts).
 *
 * Threads: the loop thread reads requests from the channel and answers most at once; the rx
 * thread moves bytes from the port into rx and answers waiting reads; the tx thread moves
 * bytes from tx to the port and answers waiting writes and drains; the event thread follows
 * SERIAL_STATE (modem lines, TIOCMIWAIT). Requests that wait (a read without data, a write
 * without room, tcdrain, TCSETSW/F, TIOCMIWAIT) are kept in lists and answered by whichever
 * thread makes them possible; the kernel matches answers by `unique`, in any order.
 * `lock` guards everything below it. Synchronous class requests (line coding, control
 * lines, breaks) are never made with `lock` held. */
#ifndef OWU_SERIAL_TTY_INTERNAL_H
#define OWU_SERIAL_TTY_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/ring.h"

#include <openwinusb/serialtty.h>
#include <openwinusb/usbser.h>

/* The kernel's struct termios2 (asm-generic/termbits.h), spelled out because <asm/termbits.h>
 * and glibc's <termios.h> cannot be included together; struct termios is its first 36
 * bytes. */
#define OWU_KNCCS 19
struct owu_ktermios {
    uint32_t c_iflag, c_oflag, c_cflag, c_lflag;
    uint8_t c_line;
    uint8_t c_cc[OWU_KNCCS];
    uint32_t c_ispeed, c_ospeed;
};
#define OWU_KTERMIOS_SIZE 36u    /* struct termios */
#define OWU_KTERMIOS2_SIZE 44u   /* struct termios2 */

/* Kernel c_cflag speed bits (asm-generic/termbits.h). */
#define OWU_CBAUD 0010017u
#define OWU_BOTHER 0010000u
#define OWU_CIBAUD 002003600000u

enum tty_req_kind { REQ_READ, REQ_WRITE, REQ_DRAIN, REQ_SETW, REQ_MIWAIT };

/* A request the kernel waits on. */
struct tty_req {
    struct tty_req *next;
    enum tty_req_kind kind;
    uint64_t unique;
    size_t size;               /* READ: bytes asked; WRITE: bytes given */
    size_t done;               /* WRITE: bytes queued so far */
    uint8_t *data;             /* WRITE: the bytes */
    uint64_t deadline_ms;      /* READ: VTIME timer (0: none) */
    unsigned vmin, vtime;      /* READ: as when the read arrived */
    uint32_t mask;             /* MIWAIT: TIOCM_ bits */
    unsigned break_ms;         /* DRAIN: then SEND_BREAK this long (tcsendbreak) */
    bool hangup;               /* DRAIN (unique 0, ours): then drop DTR/RTS if still closed */
    struct owu_usbser_counters snap;   /* MIWAIT: counts when the wait began */
    struct owu_ktermios term;  /* SETW: the termios to apply once output drained */
    bool flush_input;          /* SETW: TCSETSF */
    bool is2;                  /* SETW: TCSETSW2/TCSETSF2 */
};

struct tty_queue {
    struct tty_req *head, *tail;
};

struct owu_serial_tty {
    struct owu_usbser_port *port;
    int fd;                    /* the CUSE channel */
    bool fd_borrowed;          /* the caller's (options.cuse_fd) until start succeeded */
    int wake[2];               /* pipe: wakes the loop thread */
    char name[64];             /* "ttyOWU3" */
    char path[96];             /* "/dev/ttyOWU3" */
    char port_name[16];
    uint32_t max_read, max_write;
    void (*log)(void *ctx, const char *line);
    void *log_ctx;
    pthread_t loop_thr, rx_thr, tx_thr, ev_thr;
    bool threads[4];

    pthread_mutex_t lock;
    pthread_cond_t cond;       /* rx room, tx data, state changes; broadcast */
    bool stopping;
    bool gone;                 /* the port's device went away */
    bool conn_ended;           /* the kernel closed the channel */
    struct owu_ktermios term;
    struct owu_usbser_line_coding line;   /* as the device last reported it */
    unsigned lines;            /* DTR/RTS as the user wants them (TIOCMSET, B0, open/close) */
    bool rts_flow_off;         /* CRTSCTS dropped RTS because rx is nearly full */
    bool tx_stopped;           /* TCOOFF */
    bool excl;                 /* TIOCEXCL */
    unsigned opens;
    uint64_t next_fh;
    uint16_t winsize[4];       /* TIOCGWINSZ / TIOCSWINSZ */
    unsigned rx_gen;           /* bumped by each input flush */
    struct owu_ring rx;        /* bytes for readers */
    struct owu_ring tx;        /* bytes for the device */
    size_t tx_inflight;        /* taken from tx, being written to the device */
    struct tty_queue reads, writes, drains, miwaits;
    uint64_t *poll_kh;         /* poll handles waiting for a wake-up */
    size_t n_poll_kh, cap_poll_kh;
    unsigned modem;            /* DCD/DSR/RI as last seen */
};

/* serial_tty.c */
void owu_tty_log(struct owu_serial_tty *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void owu_tty_wake(struct owu_serial_tty *t);
/* Answers request `unique`: error (0 or -errno) with the given payload. */
void owu_tty_reply(struct owu_serial_tty *t, uint64_t unique, int error, const struct iovec *iov, int n);
void owu_tty_reply_err(struct owu_serial_tty *t, uint64_t unique, int error);
void owu_tty_queue_push(struct tty_queue *q, struct tty_req *r);
/* Drops what readers have not read, here and in the port (lock not held). */
void owu_tty_flush_input(struct owu_serial_tty *t);
/* With lock held: drops what waits for the device. */
void owu_tty_flush_tx_locked(struct owu_serial_tty *t);
/* With lock held: queues up to n bytes for the device; returns how many fitted. */
size_t owu_tty_tx_put_locked(struct owu_serial_tty *t, const uint8_t *p, size_t n);
/* With lock held: wakes poll handles waiting for a change. */
void owu_tty_notify_poll_locked(struct owu_serial_tty *t);

/* serial_tty_ioctl.c */
/* The initial termios for the device's line coding. */
void owu_tty_termios_init(struct owu_serial_tty *t);
/* Handles one FUSE_IOCTL request (loop thread). */
void owu_tty_ioctl(struct owu_serial_tty *t, uint64_t unique, const uint8_t *payload, size_t len);
/* Loop thread, lock held: applies SETW requests and answers drains once output is empty;
 * answers TIOCMIWAIT waiters whose lines changed. May drop and retake the lock. */
void owu_tty_service_locked(struct owu_serial_tty *t);
/* Loop thread, lock not held: RTS for CRTSCTS from the receive buffer's fill. */
void owu_tty_flow(struct owu_serial_tty *t);
/* First open (raise DTR/RTS unless B0) and last close (HUPCL drops them). */
void owu_tty_first_open(struct owu_serial_tty *t);
void owu_tty_last_close(struct owu_serial_tty *t);

#endif
