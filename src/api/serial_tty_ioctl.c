/* The CUSE serial terminal's ioctls: termios (TCGETS/TCSETS and the termios2 forms), modem
 * lines, breaks, flushes, counters — each turned into what Linux cdc-acm would do with it
 * (linux-usb.md §3.5): SET_LINE_CODING for rate/size/parity/stop bits, DTR dropped at B0,
 * SET_CONTROL_LINE_STATE for TIOCMSET, SEND_BREAK for breaks.
 *
 * CUSE runs with unrestricted ioctls: the kernel cannot know how many bytes an old-style
 * tty ioctl reads or writes at its argument, so the first request comes without data and
 * we answer FUSE_IOCTL_RETRY naming the argument's extent; the kernel then repeats the
 * request with those bytes (in) and room for the answer (out). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>

#include <linux/fuse.h>
#include <linux/serial.h>

#include "api/serial_tty_internal.h"

#define OWU_TCGETS2 _IOR('T', 0x2A, struct owu_ktermios)
#define OWU_TCSETS2 _IOW('T', 0x2B, struct owu_ktermios)
#define OWU_TCSETSW2 _IOW('T', 0x2C, struct owu_ktermios)
#define OWU_TCSETSF2 _IOW('T', 0x2D, struct owu_ktermios)
_Static_assert(sizeof(struct owu_ktermios) == OWU_KTERMIOS2_SIZE, "struct termios2 layout");

#define BREAK_DEFAULT_MS 250u      /* tcsendbreak(fd, 0) */
#define BREAK_UNTIL_CLEARED 0xFFFFu

/* Bytes each ioctl takes from (in) and gives to (out) the caller's argument. */
static const struct {
    uint32_t cmd;
    uint16_t in, out;
} g_shapes[] = {
    {TCGETS, 0, OWU_KTERMIOS_SIZE},
    {TCSETS, OWU_KTERMIOS_SIZE, 0},
    {TCSETSW, OWU_KTERMIOS_SIZE, 0},
    {TCSETSF, OWU_KTERMIOS_SIZE, 0},
    {OWU_TCGETS2, 0, OWU_KTERMIOS2_SIZE},
    {OWU_TCSETS2, OWU_KTERMIOS2_SIZE, 0},
    {OWU_TCSETSW2, OWU_KTERMIOS2_SIZE, 0},
    {OWU_TCSETSF2, OWU_KTERMIOS2_SIZE, 0},
    {TIOCMGET, 0, sizeof(int)},
    {TIOCMSET, sizeof(int), 0},
    {TIOCMBIS, sizeof(int), 0},
    {TIOCMBIC, sizeof(int), 0},
    {TIOCMIWAIT, 0, 0},
    {TIOCGICOUNT, 0, sizeof(struct serial_icounter_struct)},
    {FIONREAD, 0, sizeof(int)},
    {TIOCOUTQ, 0, sizeof(int)},
    {TCFLSH, 0, 0},
    {TCSBRK, 0, 0},
    {TCSBRKP, 0, 0},
    {TIOCSBRK, 0, 0},
    {TIOCCBRK, 0, 0},
    {TCXONC, 0, 0},
    {TIOCEXCL, 0, 0},
    {TIOCNXCL, 0, 0},
    {TIOCGEXCL, 0, sizeof(int)},
    {TIOCGWINSZ, 0, 4 * sizeof(uint16_t)},
    {TIOCSWINSZ, 4 * sizeof(uint16_t), 0},
    {TIOCGSOFTCAR, 0, sizeof(int)},
    {TIOCSSOFTCAR, sizeof(int), 0},
    {TIOCGSERIAL, 0, sizeof(struct serial_struct)},
    {TIOCSSERIAL, sizeof(struct serial_struct), 0},
};

/* Output not yet with the device: queued, in flight, waiting writers or earlier drains. */
static bool output_busy_locked(const struct owu_serial_tty *t)
{
    return t->tx.len || t->tx_inflight || t->writes.head || t->drains.head;
}

/* ---- lines and line coding (loop thread; never with the lock held) ----------------------- */

/* Sends DTR/RTS when what the user wants, less RTS held back by CRTSCTS, differs from what
 * the device has (the port keeps the lines as last set). */
static int push_lines(struct owu_serial_tty *t)
{
    pthread_mutex_lock(&t->lock);
    unsigned want = t->lines & ~(t->rts_flow_off ? (unsigned)OWU_USBSER_RTS : 0u);
    pthread_mutex_unlock(&t->lock);
    if (want == owu_usbser_control_lines(t->port))
        return OWU_OK;
    int rc = owu_usbser_set_control_lines(t->port, want);
    if (rc != OWU_OK) {
        owu_tty_log(t, "SET_CONTROL_LINE_STATE %s%s failed: %s", want & OWU_USBSER_DTR ? "DTR" : "-",
                    want & OWU_USBSER_RTS ? " RTS" : " -", owu_status_name(rc));
    }
    return rc;
}

static uint32_t speed_bits(uint32_t rate)
{
    unsigned code = owu_usbser_rate_speed(rate);
    return code ? code : OWU_BOTHER;
}

void owu_tty_termios_init(struct owu_serial_tty *t)
{
    struct owu_usbser_line_coding lc = {9600, 0, 0, 8};
    struct owu_usbser_line_coding dev;
    if (owu_usbser_get_line_coding(t->port, &dev) == OWU_OK && dev.rate && dev.data_bits >= 5 &&
        dev.data_bits <= 8 && dev.parity <= 4 && dev.stop_bits <= 2)
        lc = dev;
    t->line = lc;
    struct owu_ktermios *k = &t->term;
    memset(k, 0, sizeof *k);
    /* Raw: no line discipline runs here, so none is claimed. */
    k->c_cflag = owu_usbser_cflag_with_line(speed_bits(lc.rate) | CREAD | HUPCL | CLOCAL, &lc);
    k->c_ispeed = k->c_ospeed = lc.rate;
    static const struct {
        int i;
        uint8_t v;
    } cc[] = {{VINTR, 003}, {VQUIT, 034}, {VERASE, 0177}, {VKILL, 025}, {VEOF, 004}, {VTIME, 0},
              {VMIN, 1},    {VSTART, 021}, {VSTOP, 023}, {VSUSP, 032}, {VREPRINT, 022},
              {VDISCARD, 017}, {VWERASE, 027}, {VLNEXT, 026}};
    for (size_t i = 0; i < sizeof cc / sizeof cc[0]; i++)
        if (cc[i].i < OWU_KNCCS)
            k->c_cc[cc[i].i] = cc[i].v;
    t->lines = owu_usbser_control_lines(t->port);
    t->modem = owu_usbser_modem_status(t->port);
}

/* A termios from the caller, with its speeds made explicit. */
static void normalize(const struct owu_serial_tty *t, struct owu_ktermios *nt, bool is2)
{
    uint32_t code = nt->c_cflag & OWU_CBAUD;
    if (code != OWU_BOTHER)
        nt->c_ospeed = owu_usbser_speed_rate(code);
    else if (!is2 || !nt->c_ospeed)
        nt->c_ospeed = t->term.c_ospeed;   /* TCSETS cannot carry an arbitrary rate */
    nt->c_cflag &= ~OWU_CIBAUD;            /* one rate for both directions, as on CDC-ACM */
    nt->c_ispeed = nt->c_ospeed;
}

static void apply_termios(struct owu_serial_tty *t, const struct owu_ktermios *nt)
{
    pthread_mutex_lock(&t->lock);
    struct owu_ktermios old = t->term;
    t->term = *nt;
    struct owu_usbser_line_coding cur = t->line;
    bool was_b0 = (old.c_cflag & OWU_CBAUD) == B0;
    bool b0 = (nt->c_cflag & OWU_CBAUD) == B0;
    if (b0 && !was_b0)
        t->lines &= ~(unsigned)OWU_USBSER_DTR;
    else if (!b0 && was_b0)
        t->lines |= OWU_USBSER_DTR;
    pthread_mutex_unlock(&t->lock);
    if (b0 != was_b0) {
        int rc = push_lines(t);
        owu_tty_log(t, "%s%s", b0 ? "B0: DTR dropped" : "leaving B0: DTR raised",
                    rc == OWU_OK ? "" : " (request failed)");
    }
    if (b0)
        return;   /* the rate stays what it was, as in cdc-acm */
    struct owu_usbser_line_coding lc;
    owu_usbser_line_from_cflag(nt->c_cflag, nt->c_ospeed, &lc);
    if (owu_usbser_same_line(&lc, &cur))
        return;
    char msg[160];
    struct owu_usbser_line_coding now;
    owu_usbser_apply_line(t->port, &lc, &now, msg, sizeof msg);
    owu_tty_log(t, "%s", msg);
    pthread_mutex_lock(&t->lock);
    t->line = now;
    pthread_mutex_unlock(&t->lock);
}

static void flush_output(struct owu_serial_tty *t)
{
    pthread_mutex_lock(&t->lock);
    owu_tty_flush_tx_locked(t);
    pthread_mutex_unlock(&t->lock);
    owu_usbser_purge(t->port, OWU_USBSER_PURGE_ABORT_WRITE);   /* the chunk in flight */
}

static int send_break(struct owu_serial_tty *t, unsigned ms)
{
    int rc = owu_usbser_send_break(t->port, (uint16_t)ms);
    if (ms == BREAK_UNTIL_CLEARED)
        owu_tty_log(t, "break on%s", rc == OWU_OK ? "" : " (request failed)");
    else if (ms == 0)
        owu_tty_log(t, "break off%s", rc == OWU_OK ? "" : " (request failed)");
    else
        owu_tty_log(t, "break %u ms%s", ms, rc == OWU_OK ? "" : " (request failed)");
    return rc == OWU_OK ? 0 : rc == OWU_E_NODEV ? -EIO : -EPIPE;
}

void owu_tty_first_open(struct owu_serial_tty *t)
{
    pthread_mutex_lock(&t->lock);
    if ((t->term.c_cflag & OWU_CBAUD) != B0)   /* as a tty port raises them at open */
        t->lines |= OWU_USBSER_DTR | OWU_USBSER_RTS;
    pthread_mutex_unlock(&t->lock);
    push_lines(t);
}

/* HUPCL: DTR and RTS drop once what the last user wrote has gone out (a tty waits for its
 * output before hanging up), unless someone opened the terminal again meanwhile. */
static void hang_up(struct owu_serial_tty *t)
{
    pthread_mutex_lock(&t->lock);
    bool closed = t->opens == 0;
    if (closed)
        t->lines &= ~(unsigned)(OWU_USBSER_DTR | OWU_USBSER_RTS);
    pthread_mutex_unlock(&t->lock);
    if (closed)
        push_lines(t);
}

void owu_tty_last_close(struct owu_serial_tty *t)
{
    pthread_mutex_lock(&t->lock);
    bool hup = (t->term.c_cflag & HUPCL) != 0;
    t->tx_stopped = false;
    pthread_cond_broadcast(&t->cond);
    bool busy = output_busy_locked(t);
    struct tty_req *r = hup && busy ? calloc(1, sizeof *r) : NULL;
    if (r) {
        r->kind = REQ_DRAIN;
        r->hangup = true;   /* unique 0: answered to nobody */
        owu_tty_queue_push(&t->drains, r);
    }
    pthread_mutex_unlock(&t->lock);
    if (hup && !r)
        hang_up(t);
}

void owu_tty_flow(struct owu_serial_tty *t)
{
    pthread_mutex_lock(&t->lock);
    bool was = t->rts_flow_off;
    if (!(t->term.c_cflag & CRTSCTS))
        t->rts_flow_off = false;
    else if (!t->rts_flow_off && t->rx.len >= t->rx.cap / 4 * 3)
        t->rts_flow_off = true;   /* readers are behind: ask the device to hold on */
    else if (t->rts_flow_off && t->rx.len <= t->rx.cap / 4)
        t->rts_flow_off = false;
    bool now = t->rts_flow_off;
    pthread_mutex_unlock(&t->lock);
    if (now != was) {
        owu_tty_log(t, "CRTSCTS: RTS %s", now ? "dropped (receive buffer nearly full)" : "raised");
        push_lines(t);
    }
}

/* ---- answering --------------------------------------------------------------------------- */

static void reply_ioctl(struct owu_serial_tty *t, uint64_t unique, int32_t result, const void *out, size_t n)
{
    struct fuse_ioctl_out o = {.result = result};
    struct iovec v[2] = {{&o, sizeof o}, {(void *)out, n}};
    owu_tty_reply(t, unique, 0, v, 2);
}

static void reply_retry(struct owu_serial_tty *t, uint64_t unique, uint64_t arg, size_t in, size_t out)
{
    struct fuse_ioctl_iovec iov[2];
    struct fuse_ioctl_out o = {.flags = FUSE_IOCTL_RETRY};
    size_t k = 0;
    if (in) {
        iov[k++] = (struct fuse_ioctl_iovec){.base = arg, .len = in};
        o.in_iovs = 1;
    }
    if (out) {
        iov[k++] = (struct fuse_ioctl_iovec){.base = arg, .len = out};
        o.out_iovs = 1;
    }
    struct iovec v[2] = {{&o, sizeof o}, {iov, k * sizeof iov[0]}};
    owu_tty_reply(t, unique, 0, v, 2);
}

static struct tty_req *new_req(enum tty_req_kind kind, uint64_t unique)
{
    struct tty_req *r = calloc(1, sizeof *r);
    if (r) {
        r->kind = kind;
        r->unique = unique;
    }
    return r;
}

static int modem_bits(struct owu_serial_tty *t)
{
    unsigned m = owu_usbser_modem_status(t->port);
    unsigned l = owu_usbser_control_lines(t->port);
    int v = TIOCM_CTS;   /* CDC-ACM has no CTS: always on, as cdc-acm reports it */
    if (l & OWU_USBSER_DTR)
        v |= TIOCM_DTR;
    if (l & OWU_USBSER_RTS)
        v |= TIOCM_RTS;
    if (m & OWU_USBSER_DCD)
        v |= TIOCM_CAR;
    if (m & OWU_USBSER_DSR)
        v |= TIOCM_DSR;
    if (m & OWU_USBSER_RI)
        v |= TIOCM_RNG;
    return v;
}

static bool lines_changed(uint32_t mask, const struct owu_usbser_counters *a, const struct owu_usbser_counters *b)
{
    return ((mask & TIOCM_RNG) && a->ring != b->ring) || ((mask & TIOCM_DSR) && a->dsr != b->dsr) ||
           ((mask & TIOCM_CAR) && a->dcd != b->dcd);
}

/* TCSETS and friends: now, or once the output drained (W, F). */
static void set_termios(struct owu_serial_tty *t, uint64_t unique, uint32_t cmd, const uint8_t *data,
                        size_t n)
{
    bool is2 = cmd == OWU_TCSETS2 || cmd == OWU_TCSETSW2 || cmd == OWU_TCSETSF2;
    bool wait = cmd != TCSETS && cmd != OWU_TCSETS2;
    bool flush = cmd == TCSETSF || cmd == OWU_TCSETSF2;
    struct owu_ktermios nt;
    pthread_mutex_lock(&t->lock);
    nt = t->term;
    bool busy = output_busy_locked(t);
    pthread_mutex_unlock(&t->lock);
    memcpy(&nt, data, n < sizeof nt ? n : sizeof nt);
    normalize(t, &nt, is2);
    if (wait && busy) {
        struct tty_req *r = new_req(REQ_SETW, unique);
        if (!r) {
            reply_ioctl(t, unique, -ENOMEM, NULL, 0);
            return;
        }
        r->term = nt;
        r->flush_input = flush;
        pthread_mutex_lock(&t->lock);
        owu_tty_queue_push(&t->drains, r);
        pthread_mutex_unlock(&t->lock);
        return;
    }
    if (flush)
        owu_tty_flush_input(t);
    apply_termios(t, &nt);
    reply_ioctl(t, unique, 0, NULL, 0);
}

/* tcdrain (TCSBRK with a non-zero argument) and tcsendbreak (after draining, as the tty
 * layer does). */
static void drain_then(struct owu_serial_tty *t, uint64_t unique, unsigned break_ms)
{
    pthread_mutex_lock(&t->lock);
    bool busy = output_busy_locked(t);
    pthread_mutex_unlock(&t->lock);
    if (!busy) {
        reply_ioctl(t, unique, break_ms ? send_break(t, break_ms) : 0, NULL, 0);
        return;
    }
    struct tty_req *r = new_req(REQ_DRAIN, unique);
    if (!r) {
        reply_ioctl(t, unique, -ENOMEM, NULL, 0);
        return;
    }
    r->break_ms = break_ms;
    pthread_mutex_lock(&t->lock);
    owu_tty_queue_push(&t->drains, r);
    pthread_mutex_unlock(&t->lock);
}

void owu_tty_service_locked(struct owu_serial_tty *t)
{
    /* Only this (the loop) thread takes from drains and miwaits, so they stay put while the
     * lock is dropped below. */
    while (t->drains.head && !t->tx.len && !t->tx_inflight && !t->writes.head && !t->gone) {
        struct tty_req *r = t->drains.head;
        t->drains.head = r->next;
        if (!t->drains.head)
            t->drains.tail = NULL;
        pthread_mutex_unlock(&t->lock);
        int result = 0;
        if (r->kind == REQ_SETW) {
            if (r->flush_input)
                owu_tty_flush_input(t);
            apply_termios(t, &r->term);
        } else if (r->hangup) {
            hang_up(t);
        } else if (r->break_ms) {
            result = send_break(t, r->break_ms);
        }
        if (r->unique)
            reply_ioctl(t, r->unique, result, NULL, 0);
        free(r);
        pthread_mutex_lock(&t->lock);
    }
    if (!t->miwaits.head)
        return;
    pthread_mutex_unlock(&t->lock);
    struct owu_usbser_counters now;
    owu_usbser_get_counters(t->port, &now);
    pthread_mutex_lock(&t->lock);
    struct tty_req **pp = &t->miwaits.head;
    t->miwaits.tail = NULL;
    while (*pp) {
        struct tty_req *r = *pp;
        if (lines_changed(r->mask, &now, &r->snap)) {
            *pp = r->next;
            reply_ioctl(t, r->unique, 0, NULL, 0);
            free(r);
        } else {
            t->miwaits.tail = r;
            pp = &r->next;
        }
    }
}

/* ---- the ioctls -------------------------------------------------------------------------- */

static bool get_int(const uint8_t *data, size_t n, int *v)
{
    if (n < sizeof *v)
        return false;
    memcpy(v, data, sizeof *v);
    return true;
}

void owu_tty_ioctl(struct owu_serial_tty *t, uint64_t unique, const uint8_t *p, size_t len)
{
    struct fuse_ioctl_in in;
    if (len < sizeof in) {
        owu_tty_reply_err(t, unique, -EINVAL);
        return;
    }
    memcpy(&in, p, sizeof in);
    const uint8_t *data = p + sizeof in;
    size_t dlen = len - sizeof in;
    if (in.in_size > dlen) {
        owu_tty_reply_err(t, unique, -EINVAL);
        return;
    }
    size_t need_in = 0, need_out = 0;
    bool known = false;
    for (size_t i = 0; i < sizeof g_shapes / sizeof g_shapes[0] && !known; i++) {
        if (g_shapes[i].cmd == in.cmd) {
            known = true;
            need_in = g_shapes[i].in;
            need_out = g_shapes[i].out;
        }
    }
    bool compat = (in.flags & FUSE_IOCTL_COMPAT) != 0;
    if (!known || (compat && (in.cmd == TIOCGSERIAL || in.cmd == TIOCSSERIAL))) {
        reply_ioctl(t, unique, -ENOTTY, NULL, 0);
        return;
    }
    if (in.in_size < need_in || in.out_size < need_out) {
        if (!(in.flags & FUSE_IOCTL_UNRESTRICTED) || !in.arg)
            reply_ioctl(t, unique, in.arg ? -EINVAL : -EFAULT, NULL, 0);
        else
            reply_retry(t, unique, in.arg, need_in, need_out);
        return;
    }
    pthread_mutex_lock(&t->lock);
    bool gone = t->gone;
    pthread_mutex_unlock(&t->lock);
    if (gone) {
        reply_ioctl(t, unique, -EIO, NULL, 0);
        return;
    }
    int v = 0;
    unsigned long arg = (unsigned long)in.arg;
    switch (in.cmd) {
    case TCGETS:
    case OWU_TCGETS2: {
        pthread_mutex_lock(&t->lock);
        struct owu_ktermios k = t->term;
        pthread_mutex_unlock(&t->lock);
        reply_ioctl(t, unique, 0, &k, need_out);
        return;
    }
    case TCSETS:
    case TCSETSW:
    case TCSETSF:
    case OWU_TCSETS2:
    case OWU_TCSETSW2:
    case OWU_TCSETSF2:
        set_termios(t, unique, in.cmd, data, need_in);
        return;
    case TIOCMGET:
        v = modem_bits(t);
        reply_ioctl(t, unique, 0, &v, sizeof v);
        return;
    case TIOCMSET:
    case TIOCMBIS:
    case TIOCMBIC: {
        get_int(data, dlen, &v);
        unsigned bits = ((v & TIOCM_DTR) ? OWU_USBSER_DTR : 0u) | ((v & TIOCM_RTS) ? OWU_USBSER_RTS : 0u);
        pthread_mutex_lock(&t->lock);
        if (in.cmd == TIOCMSET)
            t->lines = bits;
        else if (in.cmd == TIOCMBIS)
            t->lines |= bits;
        else
            t->lines &= ~bits;
        pthread_mutex_unlock(&t->lock);
        int rc = push_lines(t);
        reply_ioctl(t, unique, rc == OWU_OK ? 0 : -EIO, NULL, 0);
        return;
    }
    case TIOCMIWAIT: {
        if (!(arg & (TIOCM_RNG | TIOCM_DSR | TIOCM_CAR | TIOCM_CTS))) {
            reply_ioctl(t, unique, -EINVAL, NULL, 0);
            return;
        }
        struct tty_req *r = new_req(REQ_MIWAIT, unique);
        if (!r) {
            reply_ioctl(t, unique, -ENOMEM, NULL, 0);
            return;
        }
        r->mask = (uint32_t)arg;
        owu_usbser_get_counters(t->port, &r->snap);
        pthread_mutex_lock(&t->lock);
        owu_tty_queue_push(&t->miwaits, r);
        pthread_mutex_unlock(&t->lock);
        return;
    }
    case TIOCGICOUNT: {
        struct owu_usbser_counters c;
        owu_usbser_get_counters(t->port, &c);
        struct serial_icounter_struct ic;
        memset(&ic, 0, sizeof ic);
        ic.dsr = (int)c.dsr;
        ic.rng = (int)c.ring;
        ic.dcd = (int)c.dcd;
        ic.rx = (int)c.rx_bytes;
        ic.tx = (int)c.tx_bytes;
        ic.frame = (int)c.framing;
        ic.overrun = (int)c.overrun;
        ic.parity = (int)c.parity;
        ic.brk = (int)c.brk;
        reply_ioctl(t, unique, 0, &ic, sizeof ic);
        return;
    }
    case FIONREAD: {
        /* Both under our lock: the rx thread cannot store what it took from the port
         * meanwhile, so no byte is counted twice (bytes in its hands count once they land). */
        pthread_mutex_lock(&t->lock);
        size_t n = t->rx.len + owu_usbser_rx_available(t->port);
        pthread_mutex_unlock(&t->lock);
        v = n > 0x7FFFFFFF ? 0x7FFFFFFF : (int)n;
        reply_ioctl(t, unique, 0, &v, sizeof v);
        return;
    }
    case TIOCOUTQ:
        pthread_mutex_lock(&t->lock);
        v = (int)(t->tx.len + t->tx_inflight);
        pthread_mutex_unlock(&t->lock);
        reply_ioctl(t, unique, 0, &v, sizeof v);
        return;
    case TCFLSH:
        if (arg > TCIOFLUSH) {
            reply_ioctl(t, unique, -EINVAL, NULL, 0);
            return;
        }
        if (arg == TCIFLUSH || arg == TCIOFLUSH)
            owu_tty_flush_input(t);
        if (arg == TCOFLUSH || arg == TCIOFLUSH)
            flush_output(t);
        owu_tty_log(t, "%s flushed", arg == TCIFLUSH ? "input" : arg == TCOFLUSH ? "output" : "input and output");
        reply_ioctl(t, unique, 0, NULL, 0);
        return;
    case TCSBRK:
        drain_then(t, unique, arg ? 0 : BREAK_DEFAULT_MS);
        return;
    case TCSBRKP:
        drain_then(t, unique, arg ? (arg > 600 ? 60000u : (unsigned)arg * 100u) : BREAK_DEFAULT_MS);
        return;
    case TIOCSBRK:
    case TIOCCBRK:
        reply_ioctl(t, unique, send_break(t, in.cmd == TIOCSBRK ? BREAK_UNTIL_CLEARED : 0), NULL, 0);
        return;
    case TCXONC: {
        int result = 0;
        if (arg == TCOOFF || arg == TCOON) {
            pthread_mutex_lock(&t->lock);
            t->tx_stopped = arg == TCOOFF;
            pthread_cond_broadcast(&t->cond);
            pthread_mutex_unlock(&t->lock);
        } else if (arg == TCIOFF || arg == TCION) {
            /* The STOP / START character joins the output queue (never blocking this thread
             * on the device); a full queue refuses it. */
            pthread_mutex_lock(&t->lock);
            uint8_t c = t->term.c_cc[arg == TCIOFF ? VSTOP : VSTART];
            result = owu_tty_tx_put_locked(t, &c, 1) == 1 ? 0 : -EAGAIN;
            pthread_mutex_unlock(&t->lock);
        } else {
            result = -EINVAL;
        }
        reply_ioctl(t, unique, result, NULL, 0);
        return;
    }
    case TIOCEXCL:
    case TIOCNXCL:
        pthread_mutex_lock(&t->lock);
        t->excl = in.cmd == TIOCEXCL;
        pthread_mutex_unlock(&t->lock);
        reply_ioctl(t, unique, 0, NULL, 0);
        return;
    case TIOCGEXCL:
        pthread_mutex_lock(&t->lock);
        v = t->excl;
        pthread_mutex_unlock(&t->lock);
        reply_ioctl(t, unique, 0, &v, sizeof v);
        return;
    case TIOCGWINSZ:
    case TIOCSWINSZ: {
        uint16_t ws[4];
        pthread_mutex_lock(&t->lock);
        if (in.cmd == TIOCSWINSZ)
            memcpy(t->winsize, data, sizeof t->winsize);
        memcpy(ws, t->winsize, sizeof ws);
        pthread_mutex_unlock(&t->lock);
        reply_ioctl(t, unique, 0, in.cmd == TIOCGWINSZ ? ws : NULL, in.cmd == TIOCGWINSZ ? sizeof ws : 0);
        return;
    }
    case TIOCGSOFTCAR:
        pthread_mutex_lock(&t->lock);
        v = (t->term.c_cflag & CLOCAL) != 0;
        pthread_mutex_unlock(&t->lock);
        reply_ioctl(t, unique, 0, &v, sizeof v);
        return;
    case TIOCSSOFTCAR:
        get_int(data, dlen, &v);
        pthread_mutex_lock(&t->lock);
        t->term.c_cflag = v ? (t->term.c_cflag | CLOCAL) : (t->term.c_cflag & ~(uint32_t)CLOCAL);
        pthread_mutex_unlock(&t->lock);
        reply_ioctl(t, unique, 0, NULL, 0);
        return;
    case TIOCGSERIAL: {
        struct serial_struct ss;
        memset(&ss, 0, sizeof ss);
        ss.type = PORT_UNKNOWN;
        ss.line = atoi(t->port_name + (strncmp(t->port_name, "COM", 3) == 0 ? 3 : 0));
        pthread_mutex_lock(&t->lock);
        ss.xmit_fifo_size = (int)t->tx.cap;
        ss.baud_base = (int)t->term.c_ospeed;
        pthread_mutex_unlock(&t->lock);
        ss.close_delay = 50;
        ss.closing_wait = ASYNC_CLOSING_WAIT_NONE;
        reply_ioctl(t, unique, 0, &ss, sizeof ss);
        return;
    }
    case TIOCSSERIAL:   /* nothing of it applies to a USB port; accepted like cdc-acm does */
        reply_ioctl(t, unique, 0, NULL, 0);
        return;
    default:
        reply_ioctl(t, unique, -ENOTTY, NULL, 0);
        return;
    }
}
