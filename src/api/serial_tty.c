/* The CUSE serial terminal: the channel to the kernel, the request loop, reads, writes,
 * poll and the threads that move bytes (serial_tty_internal.h has the design; ioctls are in
 * serial_tty_ioctl.c).
 *
 * CUSE (fs/fuse/cuse.c) is FUSE for one character device: after we answer CUSE_INIT with
 * DEVNAME=<name>, the kernel creates /dev/<name> and forwards every open, read, write,
 * ioctl, poll and release on it as a request on our channel; a request is answered by
 * writing a reply with its `unique`. A request may be answered later (a read waiting for
 * data): the caller sleeps in the kernel meanwhile, and a signal to it arrives here as
 * FUSE_INTERRUPT, answered by failing the request with EINTR. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <linux/fuse.h>

#include "api/serial_tty_internal.h"
#include "core/clock.h"

#define DEFAULT_BUFFER (64u * 1024u)
#define CHANNEL_MAX_IO (64u * 1024u)   /* max_read / max_write we ask for */
#define TX_CHUNK (64u * 1024u)
#define THREAD_TICK_MS 250u            /* port calls wait at most this long, so stop is prompt */

void owu_tty_log(struct owu_serial_tty *t, const char *fmt, ...)
{
    if (!t->log)
        return;
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    t->log(t->log_ctx, line);
}

void owu_tty_wake(struct owu_serial_tty *t)
{
    char c = 1;
    ssize_t w = write(t->wake[1], &c, 1);   /* a full pipe already wakes the loop */
    (void)w;
}

void owu_tty_reply(struct owu_serial_tty *t, uint64_t unique, int error, const struct iovec *iov, int n)
{
    struct iovec v[4];
    struct fuse_out_header h = {.len = sizeof h, .error = error, .unique = unique};
    v[0].iov_base = &h;
    v[0].iov_len = sizeof h;
    int k = 1;
    for (int i = 0; i < n && k < 4; i++) {
        if (!iov[i].iov_len)
            continue;
        v[k++] = iov[i];
        h.len += (uint32_t)iov[i].iov_len;
    }
    /* ENOENT: the request was interrupted and answered meanwhile, or aborted: nothing to do. */
    while (writev(t->fd, v, k) < 0 && errno == EINTR) {
    }
}

void owu_tty_reply_err(struct owu_serial_tty *t, uint64_t unique, int error)
{
    owu_tty_reply(t, unique, error, NULL, 0);
}

void owu_tty_queue_push(struct tty_queue *q, struct tty_req *r)
{
    r->next = NULL;
    if (q->tail)
        q->tail->next = r;
    else
        q->head = r;
    q->tail = r;
}

static struct tty_req *queue_pop(struct tty_queue *q)
{
    struct tty_req *r = q->head;
    if (r) {
        q->head = r->next;
        if (!q->head)
            q->tail = NULL;
    }
    return r;
}

/* Removes the request `unique` from q; NULL when it is not there. */
static struct tty_req *queue_take(struct tty_queue *q, uint64_t unique)
{
    struct tty_req *prev = NULL;
    for (struct tty_req *r = q->head; r; prev = r, r = r->next) {
        if (r->unique != unique)
            continue;
        if (prev)
            prev->next = r->next;
        else
            q->head = r->next;
        if (q->tail == r)
            q->tail = prev;
        return r;
    }
    return NULL;
}

static void req_free(struct tty_req *r)
{
    if (r) {
        free(r->data);
        free(r);
    }
}

/* Fails every request of q with `error` (a WRITE that queued bytes reports them). */
static void queue_fail(struct owu_serial_tty *t, struct tty_queue *q, int error)
{
    struct tty_req *r;
    while ((r = queue_pop(q)) != NULL) {
        if (!r->unique) {
            /* one of ours (the HUPCL hangup): nobody waits for an answer */
        } else if (r->kind == REQ_WRITE && r->done) {
            struct fuse_write_out o = {.size = (uint32_t)r->done};
            struct iovec v = {&o, sizeof o};
            owu_tty_reply(t, r->unique, 0, &v, 1);
        } else {
            owu_tty_reply_err(t, r->unique, error);
        }
        req_free(r);
    }
}

/* Every waiting request fails with EIO (the device went, or the terminal stops). */
static void fail_all_locked(struct owu_serial_tty *t)
{
    queue_fail(t, &t->reads, -EIO);
    queue_fail(t, &t->writes, -EIO);
    queue_fail(t, &t->drains, -EIO);
    queue_fail(t, &t->miwaits, -EIO);
}

void owu_tty_notify_poll_locked(struct owu_serial_tty *t)
{
    for (size_t i = 0; i < t->n_poll_kh; i++) {
        struct fuse_out_header h = {.len = sizeof h + sizeof(struct fuse_notify_poll_wakeup_out),
                                    .error = FUSE_NOTIFY_POLL, .unique = 0};
        struct fuse_notify_poll_wakeup_out w = {.kh = t->poll_kh[i]};
        struct iovec v[2] = {{&h, sizeof h}, {&w, sizeof w}};
        while (writev(t->fd, v, 2) < 0 && errno == EINTR) {
        }
    }
    t->n_poll_kh = 0;
}

/* The device went away: every thread and waiter learns (the loop fails the requests). */
static void mark_gone_locked(struct owu_serial_tty *t)
{
    t->gone = true;
    pthread_cond_broadcast(&t->cond);
    owu_tty_wake(t);
}

/* Takes the lock for a request on a live device; else fails the request with EIO. */
static bool lock_alive(struct owu_serial_tty *t, uint64_t unique)
{
    pthread_mutex_lock(&t->lock);
    if (!t->gone)
        return true;
    pthread_mutex_unlock(&t->lock);
    owu_tty_reply_err(t, unique, -EIO);
    return false;
}

/* ---- reads ----------------------------------------------------------------------------- */

/* Answers a read with up to n bytes of rx. */
static void reply_rx_locked(struct owu_serial_tty *t, uint64_t unique, size_t n)
{
    if (n > t->rx.len)
        n = t->rx.len;
    struct iovec v[2];
    owu_ring_spans(&t->rx, n, v);
    owu_tty_reply(t, unique, 0, v, 2);
    owu_ring_drop(&t->rx, n);
    pthread_cond_broadcast(&t->cond);   /* room for the rx thread */
    if (t->rts_flow_off)
        owu_tty_wake(t);                /* maybe raise RTS again */
}

/* Answers waiting reads that can be answered. `arrived`: bytes just came (restarts the
 * inter-byte timer of VMIN > 0, VTIME > 0 reads). */
static void serve_reads_locked(struct owu_serial_tty *t, bool arrived, uint64_t now)
{
    struct tty_req *r;
    while ((r = t->reads.head) != NULL) {
        size_t need = r->vmin ? (r->vmin < r->size ? r->vmin : r->size) : 1;
        if (t->rx.len >= need) {
            queue_pop(&t->reads);
            reply_rx_locked(t, r->unique, r->size);
            req_free(r);
            continue;
        }
        if (r->vmin && r->vtime && t->rx.len && (arrived || !r->deadline_ms)) {
            r->deadline_ms = now + 100u * r->vtime;
            owu_tty_wake(t);   /* the loop's poll timeout follows the new deadline */
        }
        if (r->deadline_ms && now >= r->deadline_ms) {
            queue_pop(&t->reads);
            reply_rx_locked(t, r->unique, r->size);   /* may be 0 bytes: VTIME expired */
            req_free(r);
            continue;
        }
        break;
    }
}

static void handle_read(struct owu_serial_tty *t, uint64_t unique, const struct fuse_read_in *in)
{
    size_t size = in->size < t->max_read ? in->size : t->max_read;
    bool nonblock = (in->flags & O_NONBLOCK) != 0;
    if (!lock_alive(t, unique))
        return;
    /* Canonical mode is not emulated: such a read returns what has arrived. */
    if (in->offset != 0) {
        /* The kernel splits a large read into requests of max_read bytes and goes on while
         * they come back full; a follow-up must not wait: what is there ends the read. */
        reply_rx_locked(t, unique, size);
        pthread_mutex_unlock(&t->lock);
        return;
    }
    bool canon = (t->term.c_lflag & ICANON) != 0;
    unsigned vmin = canon ? 1 : t->term.c_cc[VMIN];
    unsigned vtime = canon ? 0 : t->term.c_cc[VTIME];
    size_t need = vmin ? (vmin < size ? vmin : size) : 1;
    bool first = !t->reads.head;   /* reads are answered in the order they came */
    if (first && (size == 0 || t->rx.len >= need)) {
        reply_rx_locked(t, unique, size);
    } else if (nonblock) {
        if (first && t->rx.len)
            reply_rx_locked(t, unique, size);
        else
            owu_tty_reply_err(t, unique, -EAGAIN);
    } else if (first && !vmin && !vtime) {   /* polling read: what is there, maybe nothing */
        reply_rx_locked(t, unique, size);
    } else {
        struct tty_req *r = calloc(1, sizeof *r);
        if (!r) {
            pthread_mutex_unlock(&t->lock);
            owu_tty_reply_err(t, unique, -ENOMEM);
            return;
        }
        r->kind = REQ_READ;
        r->unique = unique;
        r->size = size;
        r->vmin = vmin;
        r->vtime = vtime;
        if (!vmin && vtime)
            r->deadline_ms = owu_now_ms() + 100u * vtime;
        owu_tty_queue_push(&t->reads, r);
        serve_reads_locked(t, false, owu_now_ms());
        if (t->reads.head)
            owu_tty_wake(t);   /* the loop's poll timeout follows the earliest deadline */
    }
    pthread_mutex_unlock(&t->lock);
}

static void flush_rx_locked(struct owu_serial_tty *t)
{
    owu_ring_clear(&t->rx);
    pthread_cond_broadcast(&t->cond);
    if (t->rts_flow_off)
        owu_tty_wake(t);
}

void owu_tty_flush_input(struct owu_serial_tty *t)
{
    /* The rx thread may hold bytes it read before this flush and not yet stored: the
     * generation tells it to drop them. A read of its still waiting is aborted, so bytes
     * arriving after the flush come through a read started under the new generation. */
    pthread_mutex_lock(&t->lock);
    t->rx_gen++;
    flush_rx_locked(t);
    pthread_mutex_unlock(&t->lock);
    owu_usbser_purge(t->port, OWU_USBSER_PURGE_RX | OWU_USBSER_PURGE_ABORT_READ);
}

static void *rx_main(void *arg)
{
    struct owu_serial_tty *t = arg;
    pthread_mutex_lock(&t->lock);
    while (!t->stopping && !t->gone) {
        if (!owu_ring_room(&t->rx)) {   /* readers are behind: leave the rest in the port */
            pthread_cond_wait(&t->cond, &t->lock);
            continue;
        }
        /* Straight into the ring: only this thread adds to it, readers only take from its
         * head, and a flush meanwhile changes the generation (the bytes are then dropped). */
        size_t room;
        uint8_t *tail = owu_ring_tail(&t->rx, &room);
        unsigned gen = t->rx_gen;
        pthread_mutex_unlock(&t->lock);
        size_t got = 0;
        int rc = owu_usbser_read(t->port, tail, room, THREAD_TICK_MS, &got);
        pthread_mutex_lock(&t->lock);
        if (rc == OWU_E_NODEV) {
            mark_gone_locked(t);
            break;
        }
        if (rc != OWU_OK || !got || gen != t->rx_gen)
            continue;   /* (a flush while reading: these bytes are older than it) */
        t->rx.len += got;
        serve_reads_locked(t, true, owu_now_ms());
        owu_tty_notify_poll_locked(t);
        if ((t->term.c_cflag & CRTSCTS) && !t->rts_flow_off && t->rx.len >= t->rx.cap / 4 * 3)
            owu_tty_wake(t);   /* CRTSCTS: time to drop RTS */
    }
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
    owu_tty_wake(t);
    return NULL;
}

/* ---- writes ---------------------------------------------------------------------------- */

/* Copies up to n bytes into tx; returns how many fitted. */
size_t owu_tty_tx_put_locked(struct owu_serial_tty *t, const uint8_t *p, size_t n)
{
    n = owu_ring_put(&t->tx, p, n);
    if (n)
        pthread_cond_broadcast(&t->cond);
    return n;
}

static void reply_written(struct owu_serial_tty *t, uint64_t unique, size_t n)
{
    struct fuse_write_out o = {.size = (uint32_t)n};
    struct iovec v = {&o, sizeof o};
    owu_tty_reply(t, unique, 0, &v, 1);
}

/* Moves waiting writes into tx, in order, answering those that fitted entirely. */
static void serve_writes_locked(struct owu_serial_tty *t)
{
    struct tty_req *r;
    while ((r = t->writes.head) != NULL) {
        r->done += owu_tty_tx_put_locked(t, r->data + r->done, r->size - r->done);
        if (r->done < r->size)
            break;
        queue_pop(&t->writes);
        reply_written(t, r->unique, r->size);
        req_free(r);
    }
}

static void handle_write(struct owu_serial_tty *t, uint64_t unique, const struct fuse_write_in *in,
                         const uint8_t *data, size_t avail)
{
    if (in->size > avail) {
        owu_tty_reply_err(t, unique, -EINVAL);
        return;
    }
    size_t size = in->size;
    bool nonblock = (in->flags & O_NONBLOCK) != 0;
    if (!lock_alive(t, unique))
        return;
    /* Writes are queued in the order they came: none overtakes a waiting one. */
    size_t put = t->writes.head ? 0 : owu_tty_tx_put_locked(t, data, size);
    if (put == size) {
        reply_written(t, unique, size);
    } else if (nonblock) {
        if (put)
            reply_written(t, unique, put);
        else
            owu_tty_reply_err(t, unique, -EAGAIN);
    } else {
        /* Answered once all of it is queued (`done` counts what is). */
        struct tty_req *r = calloc(1, sizeof *r);
        uint8_t *copy = malloc(size);
        if (!r || !copy) {
            free(r);
            free(copy);
            if (put)
                reply_written(t, unique, put);
            else
                owu_tty_reply_err(t, unique, -ENOMEM);
        } else {
            memcpy(copy, data, size);
            r->kind = REQ_WRITE;
            r->unique = unique;
            r->data = copy;
            r->size = size;
            r->done = put;
            owu_tty_queue_push(&t->writes, r);
        }
    }
    pthread_mutex_unlock(&t->lock);
}

void owu_tty_flush_tx_locked(struct owu_serial_tty *t)
{
    owu_ring_clear(&t->tx);
    pthread_cond_broadcast(&t->cond);
    serve_writes_locked(t);   /* waiting writers go on into the room made */
    owu_tty_notify_poll_locked(t);
    owu_tty_wake(t);          /* drains */
}

static void *tx_main(void *arg)
{
    struct owu_serial_tty *t = arg;
    /* Up to 64 KiB per write: usbser splits it into several bulk transfers in flight. */
    size_t cap = t->tx.cap < TX_CHUNK ? t->tx.cap : TX_CHUNK;
    uint8_t *buf = malloc(cap);
    pthread_mutex_lock(&t->lock);
    if (!buf) {
        owu_tty_log(t, "writer: out of memory");
        mark_gone_locked(t);
    }
    while (!t->stopping && !t->gone) {
        if (!t->tx.len || t->tx_stopped) {
            pthread_cond_wait(&t->cond, &t->lock);
            continue;
        }
        size_t n = owu_ring_get(&t->tx, buf, cap);
        t->tx_inflight = n;
        serve_writes_locked(t);
        owu_tty_notify_poll_locked(t);
        pthread_mutex_unlock(&t->lock);
        size_t off = 0;
        int rc = OWU_OK;
        while (off < n) {
            size_t w = 0;
            rc = owu_usbser_write(t->port, buf + off, n - off, THREAD_TICK_MS, &w);
            off += w;
            if (rc != OWU_E_TIMEOUT)
                break;
            pthread_mutex_lock(&t->lock);
            bool stop = t->stopping;
            pthread_mutex_unlock(&t->lock);
            if (stop)
                break;
        }
        pthread_mutex_lock(&t->lock);
        t->tx_inflight = 0;
        if (rc == OWU_E_NODEV) {
            mark_gone_locked(t);
            break;
        }
        if (rc != OWU_OK && rc != OWU_E_CANCELLED && rc != OWU_E_TIMEOUT)
            owu_tty_log(t, "write to the device failed: %s (%zu bytes dropped)", owu_status_name(rc), n - off);
        if (!t->tx.len)
            owu_tty_wake(t);   /* drains and TCSETSW wait for this */
    }
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
    owu_tty_wake(t);
    free(buf);
    return NULL;
}

/* ---- modem-status events ----------------------------------------------------------------- */

static void *ev_main(void *arg)
{
    struct owu_serial_tty *t = arg;
    const unsigned mask = OWU_USBSER_EV_DCD | OWU_USBSER_EV_DSR | OWU_USBSER_EV_BREAK |
                          OWU_USBSER_EV_RING | OWU_USBSER_EV_FRAMING | OWU_USBSER_EV_PARITY |
                          OWU_USBSER_EV_OVERRUN;
    for (;;) {
        pthread_mutex_lock(&t->lock);
        bool stop = t->stopping || t->gone;
        pthread_mutex_unlock(&t->lock);
        if (stop)
            break;
        unsigned which = 0;
        int rc = owu_usbser_wait_events(t->port, mask, THREAD_TICK_MS, &which);
        if (rc == OWU_E_NODEV) {
            pthread_mutex_lock(&t->lock);
            mark_gone_locked(t);
            pthread_mutex_unlock(&t->lock);
            break;
        }
        if (rc != OWU_OK)
            continue;
        unsigned m = owu_usbser_modem_status(t->port);
        pthread_mutex_lock(&t->lock);
        unsigned old = t->modem;
        t->modem = m;
        pthread_mutex_unlock(&t->lock);
        if (m != old)
            owu_tty_log(t, "modem status: DCD %d DSR %d RI %d", !!(m & OWU_USBSER_DCD),
                        !!(m & OWU_USBSER_DSR), !!(m & OWU_USBSER_RI));
        if (which & OWU_USBSER_EV_BREAK)
            owu_tty_log(t, "break received");
        if (which & (OWU_USBSER_EV_FRAMING | OWU_USBSER_EV_PARITY | OWU_USBSER_EV_OVERRUN))
            owu_tty_log(t, "line errors:%s%s%s", which & OWU_USBSER_EV_FRAMING ? " framing" : "",
                        which & OWU_USBSER_EV_PARITY ? " parity" : "",
                        which & OWU_USBSER_EV_OVERRUN ? " overrun" : "");
        owu_tty_wake(t);   /* TIOCMIWAIT waiters */
    }
    owu_tty_wake(t);
    return NULL;
}

/* ---- the request loop -------------------------------------------------------------------- */

static void handle_open(struct owu_serial_tty *t, uint64_t unique, const struct fuse_in_header *h)
{
    pthread_mutex_lock(&t->lock);
    if (t->gone) {
        pthread_mutex_unlock(&t->lock);
        owu_tty_reply_err(t, unique, -ENODEV);
        return;
    }
    if (t->excl && t->opens && h->uid != 0) {   /* TIOCEXCL: root may still open, as on Linux */
        pthread_mutex_unlock(&t->lock);
        owu_tty_reply_err(t, unique, -EBUSY);
        return;
    }
    bool first = t->opens++ == 0;
    uint64_t fh = ++t->next_fh;
    pthread_mutex_unlock(&t->lock);
    if (first) {
        /* What came while nobody had it open is not this user's: a closed serial port
         * drops its input. */
        owu_tty_flush_input(t);
        owu_tty_first_open(t);
    }
    struct fuse_open_out o = {.fh = fh, .open_flags = FOPEN_DIRECT_IO | FOPEN_NONSEEKABLE | FOPEN_STREAM};
    struct iovec v = {&o, sizeof o};
    owu_tty_reply(t, unique, 0, &v, 1);
}

static void handle_release(struct owu_serial_tty *t, uint64_t unique)
{
    pthread_mutex_lock(&t->lock);
    bool last = t->opens && --t->opens == 0;
    if (last)
        t->excl = false;
    pthread_mutex_unlock(&t->lock);
    if (last)
        owu_tty_last_close(t);
    owu_tty_reply_err(t, unique, 0);
}

static void handle_poll(struct owu_serial_tty *t, uint64_t unique, const struct fuse_poll_in *in)
{
    pthread_mutex_lock(&t->lock);
    uint32_t ev = 0;
    if (t->rx.len)
        ev |= POLLIN | POLLRDNORM;
    if (!t->writes.head && t->tx.len < t->tx.cap)
        ev |= POLLOUT | POLLWRNORM;
    if (t->gone)
        ev |= POLLIN | POLLRDNORM | POLLHUP | POLLERR;
    if (in->flags & FUSE_POLL_SCHEDULE_NOTIFY) {
        bool known = false;
        for (size_t i = 0; i < t->n_poll_kh; i++)
            known |= t->poll_kh[i] == in->kh;
        if (!known) {
            if (t->n_poll_kh == t->cap_poll_kh) {
                size_t cap = t->cap_poll_kh ? t->cap_poll_kh * 2 : 8;
                uint64_t *p = cap <= 4096 ? realloc(t->poll_kh, cap * sizeof *p) : NULL;
                if (p) {
                    t->poll_kh = p;
                    t->cap_poll_kh = cap;
                }
            }
            if (t->n_poll_kh < t->cap_poll_kh)
                t->poll_kh[t->n_poll_kh++] = in->kh;
        }
    }
    pthread_mutex_unlock(&t->lock);
    struct fuse_poll_out o = {.revents = ev};
    struct iovec v = {&o, sizeof o};
    owu_tty_reply(t, unique, 0, &v, 1);
}

static void handle_interrupt(struct owu_serial_tty *t, const struct fuse_interrupt_in *in)
{
    pthread_mutex_lock(&t->lock);
    struct tty_req *r = queue_take(&t->reads, in->unique);
    if (!r)
        r = queue_take(&t->writes, in->unique);
    if (!r)
        r = queue_take(&t->drains, in->unique);
    if (!r)
        r = queue_take(&t->miwaits, in->unique);
    if (r) {
        if (r->kind == REQ_WRITE && r->done)   /* a write that queued something reports it */
            reply_written(t, r->unique, r->done);
        else
            owu_tty_reply_err(t, r->unique, -EINTR);
        req_free(r);
    }
    /* Not found: answered already. Nothing to say then. */
    pthread_mutex_unlock(&t->lock);
}

/* One request from the channel. */
static void handle_request(struct owu_serial_tty *t, const uint8_t *buf, size_t n)
{
    struct fuse_in_header h;
    if (n < sizeof h)
        return;
    memcpy(&h, buf, sizeof h);
    const uint8_t *p = buf + sizeof h;
    size_t len = n - sizeof h;
#define NEED(type, var)                                \
    type var;                                          \
    if (len < sizeof var) {                            \
        owu_tty_reply_err(t, h.unique, -EINVAL);       \
        return;                                        \
    }                                                  \
    memcpy(&var, p, sizeof var)
    switch (h.opcode) {
    case FUSE_OPEN:
        handle_open(t, h.unique, &h);
        break;
    case FUSE_RELEASE:
        handle_release(t, h.unique);
        break;
    case FUSE_FLUSH:
        owu_tty_reply_err(t, h.unique, 0);
        break;
    case FUSE_READ: {
        NEED(struct fuse_read_in, in);
        handle_read(t, h.unique, &in);
        break;
    }
    case FUSE_WRITE: {
        NEED(struct fuse_write_in, in);
        handle_write(t, h.unique, &in, p + sizeof in, len - sizeof in);
        break;
    }
    case FUSE_POLL: {
        NEED(struct fuse_poll_in, in);
        handle_poll(t, h.unique, &in);
        break;
    }
    case FUSE_IOCTL:
        owu_tty_ioctl(t, h.unique, p, len);
        break;
    case FUSE_INTERRUPT: {
        if (len < sizeof(struct fuse_interrupt_in))
            return;   /* an interrupt is never answered */
        struct fuse_interrupt_in in;
        memcpy(&in, p, sizeof in);
        handle_interrupt(t, &in);
        break;
    }
    case FUSE_DESTROY:
        owu_tty_reply_err(t, h.unique, 0);
        break;
    default:
        owu_tty_reply_err(t, h.unique, -ENOSYS);
        break;
    }
#undef NEED
}

/* Milliseconds until the VTIME timer of the first waiting read (the only one served), -1
 * for none. */
static int next_timeout_locked(struct owu_serial_tty *t, uint64_t now)
{
    const struct tty_req *r = t->reads.head;
    if (!r || !r->deadline_ms)
        return -1;
    return r->deadline_ms <= now ? 0 : (int)(r->deadline_ms - now);
}

static void *loop_main(void *arg)
{
    struct owu_serial_tty *t = arg;
    size_t cap = t->max_write + 4096;
    uint8_t *buf = malloc(cap);
    bool ended = buf == NULL;
    while (!ended) {
        pthread_mutex_lock(&t->lock);
        bool stop = t->stopping;
        bool gone = t->gone;
        int timeout = next_timeout_locked(t, owu_now_ms());
        pthread_mutex_unlock(&t->lock);
        if (stop)
            break;
        if (gone) {
            /* Every waiter learns at once; later requests are failed as they come. */
            pthread_mutex_lock(&t->lock);
            fail_all_locked(t);
            owu_tty_notify_poll_locked(t);
            pthread_cond_broadcast(&t->cond);
            pthread_mutex_unlock(&t->lock);
        }
        struct pollfd p[2] = {{t->fd, POLLIN, 0}, {t->wake[0], POLLIN, 0}};
        int pr = poll(p, 2, timeout < 0 || timeout > 1000 ? 1000 : timeout);
        if (pr < 0 && errno != EINTR)
            break;
        if (p[1].revents & POLLIN) {
            char drain[64];
            while (read(t->wake[0], drain, sizeof drain) > 0) {
            }
        }
        if (p[0].revents & (POLLIN | POLLERR | POLLHUP)) {
            ssize_t n = read(t->fd, buf, cap);
            if (n > 0) {
                handle_request(t, buf, (size_t)n);
            } else if (n == 0 || (errno != EINTR && errno != EAGAIN && errno != ENOENT)) {
                ended = true;   /* ENODEV: the kernel aborted the connection */
            }
        }
        owu_tty_flow(t);
        pthread_mutex_lock(&t->lock);
        serve_reads_locked(t, false, owu_now_ms());
        owu_tty_service_locked(t);
        pthread_mutex_unlock(&t->lock);
    }
    pthread_mutex_lock(&t->lock);
    if (ended)
        t->conn_ended = true;
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
    free(buf);
    return NULL;
}

/* ---- start and stop ---------------------------------------------------------------------- */

void owu_serial_tty_options_default(struct owu_serial_tty_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->cuse_fd = -1;
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 32 || s[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

/* Reads CUSE_INIT and answers it with our device (caller checks the kernel's verdict). */
static int cuse_handshake(struct owu_serial_tty *t, owu_err *err)
{
    uint8_t buf[8192];
    struct pollfd p = {t->fd, POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0)
        return owu_fail(err, OWU_E_TIMEOUT, "%s: no CUSE_INIT request from the kernel", t->name);
    ssize_t n = read(t->fd, buf, sizeof buf);
    struct fuse_in_header h;
    struct cuse_init_in in;
    if (n < (ssize_t)(sizeof h + sizeof in))
        return owu_fail(err, OWU_E_IO, "%s: reading CUSE_INIT: %s", t->name,
                        n < 0 ? strerror(errno) : "short request");
    memcpy(&h, buf, sizeof h);
    memcpy(&in, buf + sizeof h, sizeof in);
    if (h.opcode != CUSE_INIT) {
        owu_tty_reply_err(t, h.unique, -EPROTO);
        return owu_fail(err, OWU_E_IO, "%s: expected CUSE_INIT, got request %u", t->name, h.opcode);
    }
    if (in.major != FUSE_KERNEL_VERSION) {
        owu_tty_reply_err(t, h.unique, -EPROTO);
        return owu_fail(err, OWU_E_NOTSUP, "%s: the kernel speaks FUSE %u.%u, not %u.x", t->name,
                        in.major, in.minor, FUSE_KERNEL_VERSION);
    }
    struct cuse_init_out o = {
        .major = FUSE_KERNEL_VERSION,
        .minor = in.minor < FUSE_KERNEL_MINOR_VERSION ? in.minor : FUSE_KERNEL_MINOR_VERSION,
        .flags = CUSE_UNRESTRICTED_IOCTL,   /* termios ioctls do not encode their sizes */
        .max_read = t->max_read,
        .max_write = t->max_write,
    };
    char info[96];
    int ilen = snprintf(info, sizeof info, "DEVNAME=%s", t->name) + 1;   /* with its NUL */
    struct iovec v[2] = {{&o, sizeof o}, {info, (size_t)ilen}};
    owu_tty_reply(t, h.unique, 0, v, 2);
    return OWU_OK;
}

/* Waits for the kernel to create /dev/NAME; a refused device ends the connection. */
static int wait_node(struct owu_serial_tty *t, unsigned timeout_ms, owu_err *err)
{
    uint64_t end = owu_now_ms() + timeout_ms;
    for (;;) {
        struct stat st;
        if (stat(t->path, &st) == 0 && S_ISCHR(st.st_mode))
            return OWU_OK;
        struct pollfd p = {t->fd, POLLIN, 0};
        if (poll(&p, 1, 0) > 0 && (p.revents & (POLLERR | POLLHUP)))
            return owu_fail(err, OWU_E_BUSY, "the kernel refused the device %s (is the name in use?)",
                            t->name);
        if (p.revents & POLLIN)   /* someone opens it already: it exists */
            return OWU_OK;
        if (owu_now_ms() >= end)
            return owu_fail(err, OWU_E_TIMEOUT,
                            "%s did not appear (is devtmpfs mounted on /dev, or udev running?)", t->path);
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void tty_free(struct owu_serial_tty *t)
{
    if (t->fd >= 0 && !t->fd_borrowed)
        close(t->fd);
    if (t->wake[0] >= 0)
        close(t->wake[0]);
    if (t->wake[1] >= 0)
        close(t->wake[1]);
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->lock);
    free(t->rx.buf);
    free(t->tx.buf);
    free(t->poll_kh);
    free(t);
}

int owu_serial_tty_start(struct owu_usbser_port *port, const struct owu_serial_tty_options *opt,
                         struct owu_serial_tty **out, owu_err *err)
{
    if (!port || !out)
        return owu_fail(err, OWU_E_INVAL, "serial terminal: no port");
    *out = NULL;
    struct owu_serial_tty_options o;
    if (opt)
        o = *opt;
    else
        owu_serial_tty_options_default(&o);
    struct owu_usbser_info info;
    owu_usbser_get_info(port, &info);

    struct owu_serial_tty *t = calloc(1, sizeof *t);
    if (!t)
        return owu_fail(err, OWU_E_NOMEM, "serial terminal: out of memory");
    t->fd = t->wake[0] = t->wake[1] = -1;
    pthread_mutex_init(&t->lock, NULL);
    owu_cond_init_monotonic(&t->cond);
    t->port = port;
    t->log = o.log;
    t->log_ctx = o.log_ctx;
    snprintf(t->port_name, sizeof t->port_name, "%s", info.port_name);
    if (o.devname) {
        if (!name_ok(o.devname)) {
            tty_free(t);
            return owu_fail(err, OWU_E_INVAL,
                            "device name \"%s\": use 1-32 letters, digits, '_', '-' or '.' (no '/')",
                            o.devname);
        }
        snprintf(t->name, sizeof t->name, "%s", o.devname);
    } else {
        const char *num = info.port_name + (strncmp(info.port_name, "COM", 3) == 0 ? 3 : 0);
        snprintf(t->name, sizeof t->name, "ttyOWU%s", num);
    }
    snprintf(t->path, sizeof t->path, "/dev/%s", t->name);
    t->max_read = t->max_write = CHANNEL_MAX_IO;
    t->rx.cap = o.rx_buffer_size ? o.rx_buffer_size : DEFAULT_BUFFER;
    t->tx.cap = o.tx_buffer_size ? o.tx_buffer_size : DEFAULT_BUFFER;
    t->rx.buf = malloc(t->rx.cap);
    t->tx.buf = malloc(t->tx.cap);
    if (!t->rx.buf || !t->tx.buf || pipe2(t->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        tty_free(t);
        return owu_fail(err, OWU_E_NOMEM, "serial terminal: out of memory");
    }
    owu_tty_termios_init(t);

    bool test_channel = o.cuse_fd >= 0;
    if (test_channel) {
        t->fd = o.cuse_fd;
        t->fd_borrowed = true;   /* the caller's until the terminal runs */
    } else {
        char sys[128];
        struct stat st;
        snprintf(sys, sizeof sys, "/sys/class/cuse/%s", t->name);
        if (lstat(sys, &st) == 0 || lstat(t->path, &st) == 0) {
            owu_fail(err, OWU_E_BUSY, "%s already exists (another terminal of this name?)", t->path);
            tty_free(t);
            return OWU_E_BUSY;
        }
        const char *cuse = o.cuse_path ? o.cuse_path : "/dev/cuse";
        t->fd = open(cuse, O_RDWR | O_CLOEXEC);
        if (t->fd < 0) {
            int e = errno;
            tty_free(t);
            if (e == EACCES || e == EPERM)
                return owu_fail(err, OWU_E_ACCESS, "%s: %s (a CUSE terminal needs root or access to it)",
                                cuse, strerror(e));
            return owu_fail(err, OWU_E_NOTSUP, "%s: %s (CUSE is the kernel module cuse)", cuse, strerror(e));
        }
    }
    int rc = cuse_handshake(t, err);
    if (rc == OWU_OK && !test_channel)
        rc = wait_node(t, o.node_timeout_ms ? o.node_timeout_ms : 3000, err);
    if (rc != OWU_OK) {
        tty_free(t);
        return rc;
    }
    fcntl(t->fd, F_SETFL, fcntl(t->fd, F_GETFL) | O_NONBLOCK);
    void *(*mains[4])(void *) = {loop_main, rx_main, tx_main, ev_main};
    pthread_t *thr[4] = {&t->loop_thr, &t->rx_thr, &t->tx_thr, &t->ev_thr};
    for (int i = 0; i < 4; i++) {
        if (pthread_create(thr[i], NULL, mains[i], t) != 0) {
            *out = t;
            owu_serial_tty_stop(t);
            *out = NULL;
            return owu_fail(err, OWU_E_NOMEM, "serial terminal: cannot start a thread");
        }
        t->threads[i] = true;
    }
    t->fd_borrowed = false;   /* ours now: closed at stop */
    *out = t;
    return OWU_OK;
}

const char *owu_serial_tty_path(const struct owu_serial_tty *tty)
{
    return tty ? tty->path : "";
}

int owu_serial_tty_wait(struct owu_serial_tty *t, unsigned timeout_ms)
{
    struct timespec until;
    owu_deadline_ms(&until, timeout_ms);
    pthread_mutex_lock(&t->lock);
    while (!t->gone && !t->conn_ended)
        if (pthread_cond_timedwait(&t->cond, &t->lock, &until) == ETIMEDOUT)
            break;
    int rc = t->gone ? OWU_E_NODEV : t->conn_ended ? OWU_E_IO : OWU_E_TIMEOUT;
    pthread_mutex_unlock(&t->lock);
    return rc;
}

void owu_serial_tty_stop(struct owu_serial_tty *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    t->stopping = true;
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
    owu_tty_wake(t);
    owu_usbser_purge(t->port, OWU_USBSER_PURGE_ABORT_ALL);
    pthread_t thr[4] = {t->loop_thr, t->rx_thr, t->tx_thr, t->ev_thr};
    for (int i = 0; i < 4; i++)
        if (t->threads[i])
            pthread_join(thr[i], NULL);
    pthread_mutex_lock(&t->lock);
    fail_all_locked(t);
    pthread_mutex_unlock(&t->lock);
    tty_free(t);   /* closing the channel removes the device */
}
