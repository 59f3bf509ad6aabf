/* The USB/IP client backend: devices exported by a USB/IP server appear on a bus of the
 * stack, entirely in user space (no vhci-hcd, no root).
 *
 * One bus per server; every imported device has its own TCP connection (the protocol's
 * import socket), a writer thread draining a queue of encoded CMD_SUBMIT / CMD_UNLINK PDUs
 * and a reader thread that matches RET_SUBMIT / RET_UNLINK to the pending URBs by seqnum.
 * The reader is the only thread that completes URBs, always without a lock held; the
 * submitting thread never blocks on the network (so a completion handler may resubmit).
 *
 * Cancellation is CMD_UNLINK: the URB completes when the server answers, either
 * RET_UNLINK with a non-zero status (unlinked: OWU_E_CANCELLED) or its RET_SUBMIT (it had
 * finished first; RET_UNLINK 0 then follows and is ignored). A lost connection completes
 * every pending URB with OWU_E_NODEV and reports the device gone.
 *
 * The server's kernel (or our server's stack) reset, addressed and configured the device, so
 * reset_port and set_address are NULL; SET_CONFIGURATION and friends travel as ordinary
 * control requests, which the server carries out through its own stack.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openwinusb/descriptors.h>

#include "core/urb.h"
#include "hcd/usbip.h"

#define UCLI_MAX_PORTS 127u
#define UCLI_HASH 256u

struct ucli_pend {
    struct ucli_pend *next;          /* hash chain */
    struct owu_urb *urb;
    uint32_t seqnum;
    uint32_t unlink_seqnum;          /* 0: no CMD_UNLINK sent */
    bool in;
};

struct ucli_msg {
    struct ucli_msg *next;
    size_t len;
    uint8_t data[];
};

struct ucli_dev {
    struct ucli_bus *bus;
    struct owu_usb_device *dev;
    unsigned port;
    int fd;
    struct owu_usbip_device rec;
    uint32_t devid;
    pthread_t reader, writer;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool dead;                       /* connection lost: submissions refused */
    bool writing;                    /* the writer thread is sending (outside the lock) */
    uint32_t next_seq;
    struct ucli_pend *hash[UCLI_HASH];
    unsigned n_pending;
    struct ucli_msg *out_head, *out_tail;
    int32_t interval[2][16];         /* periodic endpoints: HC units; 0 = not seen */
};

struct ucli_zombie {
    struct ucli_zombie *next;
    pthread_t thread;
};

struct ucli_bus {
    struct owu_hcd hcd;
    char host[256];
    unsigned tcp_port;
    pthread_mutex_t lock;
    pthread_cond_t cond;             /* a port became free */
    struct ucli_dev *ports[UCLI_MAX_PORTS + 1];
    struct ucli_zombie *zombies;     /* finished readers to join */
};

static struct ucli_bus *to_bus(struct owu_hcd *hcd) { return (struct ucli_bus *)hcd; }

/* ---- pending map ---------------------------------------------------------------------------- */

static struct ucli_pend **pend_slot(struct ucli_dev *d, uint32_t seqnum)
{
    struct ucli_pend **pp = &d->hash[seqnum % UCLI_HASH];
    while (*pp && (*pp)->seqnum != seqnum)
        pp = &(*pp)->next;
    return pp;
}

static struct ucli_pend *pend_take(struct ucli_dev *d, uint32_t seqnum)
{
    struct ucli_pend **pp = pend_slot(d, seqnum);
    struct ucli_pend *p = *pp;
    if (p) {
        *pp = p->next;
        d->n_pending--;
        p->urb->hcd_priv = NULL;   /* from now on cancel finds nothing to unlink */
    }
    return p;
}

static uint32_t next_seq_locked(struct ucli_dev *d)
{
    /* 0 is kept for "no unlink"; seqnums are unique among pending URBs. */
    do {
        d->next_seq++;
    } while (d->next_seq == 0 || *pend_slot(d, d->next_seq));
    return d->next_seq;
}

/* ---- writer ---------------------------------------------------------------------------------- */

/* Sends a PDU (takes ownership). When nothing is queued or being written it goes out
 * directly without blocking (one thread hop less per transfer); what the socket does not
 * take at once is left to the writer thread, so a submitter never waits for the network. */
static void enqueue_locked(struct ucli_dev *d, struct ucli_msg *m)
{
    if (!d->writing && !d->out_head && !d->dead) {
        size_t n = owu_usbip_send_now(d->fd, m->data, m->len);
        if (n == m->len) {
            free(m);
            return;
        }
        if (n) {
            memmove(m->data, m->data + n, m->len - n);
            m->len -= n;
        }
    }
    m->next = NULL;
    if (d->out_tail)
        d->out_tail->next = m;
    else
        d->out_head = m;
    d->out_tail = m;
    pthread_cond_broadcast(&d->cond);
}

static void *writer_main(void *arg)
{
    struct ucli_dev *d = arg;
    pthread_mutex_lock(&d->lock);
    for (;;) {
        while (!d->out_head && !d->dead)
            pthread_cond_wait(&d->cond, &d->lock);
        if (d->dead)
            break;
        struct ucli_msg *list = d->out_head;
        d->out_head = d->out_tail = NULL;
        d->writing = true;
        pthread_mutex_unlock(&d->lock);
        bool failed = false;
        while (list) {
            struct ucli_msg *next = list->next;
            if (!failed && owu_usbip_write_full(d->fd, list->data, list->len) != OWU_OK)
                failed = true;
            free(list);
            list = next;
        }
        pthread_mutex_lock(&d->lock);
        d->writing = false;
        if (failed)
            shutdown(d->fd, SHUT_RDWR);   /* the reader turns it into OWU_E_NODEV */
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

/* ---- submit / cancel ---------------------------------------------------------------------------- */

/* The interval of periodic endpoints (CMD_SUBMIT carries it; the server's host controller
 * needs it): learnt from the configuration descriptors as enumeration reads them through
 * this connection, in host-controller units as Linux sends them (frames FS/LS interrupt,
 * else 2^(bInterval-1) frames or microframes). Called by the reader, lock held. */
static void learn_intervals_locked(struct ucli_dev *d, const uint8_t *b, size_t n)
{
    size_t off = 0;
    while (off + 2 <= n) {
        size_t len = b[off];
        if (len < 2 || off + len > n)
            break;
        if (b[off + 1] == OWU_DT_ENDPOINT && len >= 7) {
            uint8_t addr = b[off + 2], attr = b[off + 3], bi = b[off + 6] ? b[off + 6] : 1;
            bool exp = d->dev->speed >= OWU_SPEED_HIGH || (attr & 3) == 1;
            unsigned v = exp ? 1u << (bi > 16 ? 15 : bi - 1) : bi;
            d->interval[(addr & 0x80) ? 1 : 0][addr & 0x0F] = (int32_t)v;
        }
        off += len;
    }
}

static int ucli_submit(struct owu_urb *urb)
{
    struct ucli_dev *d = urb->dev->hcd_priv;
    if (!d)
        return OWU_E_NODEV;
    bool in = owu_urb_is_in(urb);
    struct owu_usbip_pdu p = {.command = OWU_USBIP_CMD_SUBMIT, .devid = d->devid,
                              .direction = in ? OWU_USBIP_DIR_IN : OWU_USBIP_DIR_OUT,
                              .number_of_packets = -1};
    size_t length = urb->length;
    uint32_t np = 0;
    if (urb->type == OWU_XFER_CONTROL) {
        length = urb->setup.wLength;
        owu_setup_pack(&urb->setup, p.setup);
        if (!length)
            p.direction = OWU_USBIP_DIR_OUT;
        in = p.direction == OWU_USBIP_DIR_IN;
    } else {
        p.ep = urb->endpoint & 0x0F;
        if (urb->type == OWU_XFER_ISOCHRONOUS) {
            np = urb->num_iso_packets;
            if (np == 0 || np > OWU_USBIP_MAX_ISO_PACKETS)
                return OWU_E_INVAL;
            for (uint32_t i = 0; i < np; i++)
                if ((uint64_t)urb->iso[i].offset + urb->iso[i].length > length)
                    return OWU_E_INVAL;
            p.number_of_packets = (int32_t)np;
            p.start_frame = (int32_t)urb->start_frame;
        }
    }
    if (length > OWU_USBIP_MAX_TRANSFER)
        return OWU_E_INVAL;
    p.transfer_buffer_length = (uint32_t)length;
    if (in)
        p.transfer_flags |= OWU_USBIP_URB_DIR_IN;
    if (in && (urb->flags & OWU_URB_SHORT_NOT_OK))
        p.transfer_flags |= OWU_USBIP_URB_SHORT_NOT_OK;
    if (!in && (urb->flags & OWU_URB_ZERO_PACKET))
        p.transfer_flags |= OWU_USBIP_URB_ZERO_PACKET;
    if (urb->flags & OWU_URB_ISO_ASAP)
        p.transfer_flags |= OWU_USBIP_URB_ISO_ASAP;

    size_t out_data = in ? 0 : length;
    struct ucli_msg *m = malloc(sizeof *m + OWU_USBIP_HEADER_SIZE + out_data + (size_t)np * OWU_USBIP_ISO_DESC_SIZE);
    struct ucli_pend *pe = malloc(sizeof *pe);
    if (!m || !pe) {
        free(m);
        free(pe);
        return OWU_E_NOMEM;
    }
    m->len = OWU_USBIP_HEADER_SIZE + out_data + (size_t)np * OWU_USBIP_ISO_DESC_SIZE;
    if (out_data)
        memcpy(m->data + OWU_USBIP_HEADER_SIZE, urb->buffer, out_data);
    for (uint32_t i = 0; i < np; i++) {
        struct owu_usbip_iso_desc desc = {urb->iso[i].offset, urb->iso[i].length, 0, 0};
        owu_usbip_encode_iso(m->data + OWU_USBIP_HEADER_SIZE + out_data + 16 * (size_t)i, &desc, 1);
    }
    pe->urb = urb;
    pe->unlink_seqnum = 0;
    pe->in = in;

    pthread_mutex_lock(&d->lock);
    if (d->dead) {
        pthread_mutex_unlock(&d->lock);
        free(m);
        free(pe);
        return OWU_E_NODEV;
    }
    p.seqnum = pe->seqnum = next_seq_locked(d);
    if (urb->type == OWU_XFER_INTERRUPT || urb->type == OWU_XFER_ISOCHRONOUS) {
        int32_t iv = d->interval[in ? 1 : 0][urb->endpoint & 0x0F];
        p.interval = iv ? iv : 1;
    }
    owu_usbip_encode_pdu(m->data, &p);
    struct ucli_pend **slot = &d->hash[pe->seqnum % UCLI_HASH];
    pe->next = *slot;
    *slot = pe;
    d->n_pending++;
    urb->hcd_priv = pe;
    enqueue_locked(d, m);
    pthread_mutex_unlock(&d->lock);
    return OWU_OK;
}

static int ucli_cancel(struct owu_urb *urb)
{
    struct ucli_dev *d = urb->dev->hcd_priv;
    if (!d)
        return OWU_E_NOTFOUND;
    pthread_mutex_lock(&d->lock);
    int rc = OWU_E_NOTFOUND;
    struct ucli_pend *pe = urb->hcd_priv;
    /* The URB is ours only while its seqnum is in the map with this entry. */
    if (pe && !d->dead && *pend_slot(d, pe->seqnum) == pe && pe->urb == urb) {
        rc = OWU_OK;
        if (!pe->unlink_seqnum) {
            struct ucli_msg *m = malloc(sizeof *m + OWU_USBIP_HEADER_SIZE);
            if (m) {
                pe->unlink_seqnum = next_seq_locked(d);
                struct owu_usbip_pdu p = {.command = OWU_USBIP_CMD_UNLINK, .seqnum = pe->unlink_seqnum,
                                          .devid = d->devid, .unlink_seqnum = pe->seqnum};
                m->len = OWU_USBIP_HEADER_SIZE;
                owu_usbip_encode_pdu(m->data, &p);
                enqueue_locked(d, m);
            } else {
                rc = OWU_E_NOMEM;
            }
        }
    }
    pthread_mutex_unlock(&d->lock);
    return rc;
}

/* ---- reader ------------------------------------------------------------------------------------ */

static void complete(struct ucli_pend *pe, int status, size_t actual)
{
    struct owu_urb *urb = pe->urb;
    free(pe);
    owu_urb_done(urb, status, actual);
}

/* Reads the payload of a RET_SUBMIT into the URB. Returns OWU_OK, or a status that ends the
 * connection (err says why). */
static int read_ret_submit(struct ucli_dev *d, const struct owu_usbip_pdu *p, struct ucli_pend *pe,
                           size_t *actual, owu_err *err)
{
    struct owu_urb *urb = pe->urb;
    size_t asked = urb->type == OWU_XFER_CONTROL ? urb->setup.wLength : urb->length;
    uint32_t np = owu_usbip_iso_count(p);
    uint32_t want_np = urb->type == OWU_XFER_ISOCHRONOUS ? urb->num_iso_packets : 0;
    if (np != want_np)
        return owu_fail(err, OWU_E_PARSE, "RET_SUBMIT seq %u: %u ISO packets for a request of %u",
                        p->seqnum, np, want_np);
    if (p->actual_length > asked)
        return owu_fail(err, OWU_E_PARSE, "RET_SUBMIT seq %u: actual_length %u exceeds the %zu bytes asked",
                        p->seqnum, p->actual_length, asked);
    *actual = p->actual_length;
    if (!np) {
        if (pe->in && p->actual_length &&
            owu_usbip_read_full(d->fd, urb->buffer, p->actual_length) != OWU_OK)
            return owu_fail(err, OWU_E_NODEV, "connection lost");
        if (urb->type == OWU_XFER_CONTROL && urb->setup.bmRequestType == 0x80 &&
            urb->setup.bRequest == OWU_REQ_GET_DESCRIPTOR && (urb->setup.wValue >> 8) == OWU_DT_CONFIG &&
            p->status == 0) {
            pthread_mutex_lock(&d->lock);
            learn_intervals_locked(d, urb->buffer, p->actual_length);
            pthread_mutex_unlock(&d->lock);
        }
        return OWU_OK;
    }
    size_t data = pe->in ? p->actual_length : 0;
    uint8_t *tmp = malloc(data + (size_t)np * OWU_USBIP_ISO_DESC_SIZE + 1);
    struct owu_usbip_iso_desc *desc = calloc(np, sizeof *desc);
    int rc = OWU_OK;
    if (!tmp || !desc)
        rc = owu_fail(err, OWU_E_NOMEM, "out of memory");
    else if (owu_usbip_read_full(d->fd, tmp, data + (size_t)np * OWU_USBIP_ISO_DESC_SIZE) != OWU_OK)
        rc = owu_fail(err, OWU_E_NODEV, "connection lost");
    else
        rc = owu_usbip_decode_iso(tmp + data, (size_t)np * OWU_USBIP_ISO_DESC_SIZE, np, (uint32_t)urb->length,
                                  true, pe->in, p->actual_length, desc, err);
    if (rc == OWU_OK) {
        /* IN data arrives packed; spread it back to each packet's offset. */
        size_t src = 0;
        for (uint32_t i = 0; i < np; i++) {
            urb->iso[i].actual = desc[i].actual_length;
            urb->iso[i].status = owu_usbip_errno_to_status(desc[i].status);
            if (pe->in) {
                memcpy(urb->buffer + urb->iso[i].offset, tmp + src, desc[i].actual_length);
                src += desc[i].actual_length;
            }
        }
        urb->start_frame = (uint32_t)p->start_frame;
        if (!pe->in) {
            size_t sum = 0;
            for (uint32_t i = 0; i < np; i++)
                sum += desc[i].actual_length;
            *actual = sum;
        }
    }
    free(tmp);
    free(desc);
    return rc;
}

static void reap_zombies(struct ucli_bus *bus)
{
    pthread_mutex_lock(&bus->lock);
    struct ucli_zombie *z = bus->zombies;
    bus->zombies = NULL;
    pthread_mutex_unlock(&bus->lock);
    while (z) {
        struct ucli_zombie *next = z->next;
        pthread_join(z->thread, NULL);
        free(z);
        z = next;
    }
}

static void *reader_main(void *arg)
{
    struct ucli_dev *d = arg;
    struct ucli_bus *bus = d->bus;
    owu_err err = {0};
    uint8_t hdr[OWU_USBIP_HEADER_SIZE];
    for (;;) {
        if (owu_usbip_read_full(d->fd, hdr, sizeof hdr) != OWU_OK)
            break;
        struct owu_usbip_pdu p;
        if (owu_usbip_decode_pdu(hdr, sizeof hdr, &p, &err) != OWU_OK)
            break;
        if (p.command == OWU_USBIP_RET_SUBMIT) {
            pthread_mutex_lock(&d->lock);
            struct ucli_pend *pe = *pend_slot(d, p.seqnum);
            pthread_mutex_unlock(&d->lock);
            if (!pe) {
                owu_fail(&err, OWU_E_PARSE, "RET_SUBMIT for unknown seqnum %u", p.seqnum);
                break;
            }
            size_t actual = 0;
            if (read_ret_submit(d, &p, pe, &actual, &err) != OWU_OK)
                break;
            pthread_mutex_lock(&d->lock);
            pend_take(d, p.seqnum);
            pthread_mutex_unlock(&d->lock);
            complete(pe, owu_usbip_errno_to_status(p.status), actual);
        } else if (p.command == OWU_USBIP_RET_UNLINK) {
            /* Find the URB this unlink was for; status 0 = it finished first (its
             * RET_SUBMIT did or will complete it). */
            struct ucli_pend *pe = NULL;
            pthread_mutex_lock(&d->lock);
            for (unsigned b = 0; b < UCLI_HASH && !pe; b++)
                for (struct ucli_pend *q = d->hash[b]; q; q = q->next)
                    if (q->unlink_seqnum == p.seqnum) {
                        pe = q;
                        break;
                    }
            if (pe && p.status != 0)
                pend_take(d, pe->seqnum);
            else
                pe = NULL;
            pthread_mutex_unlock(&d->lock);
            if (pe)
                complete(pe, OWU_E_CANCELLED, 0);
        } else {
            owu_fail(&err, OWU_E_PARSE, "%s seq %u sent by the server", owu_usbip_command_name(p.command),
                     p.seqnum);
            break;
        }
    }
    if (err.msg[0] && err.code != OWU_E_NODEV)
        fprintf(stderr, "openwinusb: %s: USB/IP connection closed: %s\n", d->dev->location, err.msg);

    /* Connection lost or detached: nothing more is sent; every pending URB fails. */
    shutdown(d->fd, SHUT_RDWR);
    pthread_mutex_lock(&d->lock);
    d->dead = true;
    pthread_cond_broadcast(&d->cond);
    struct ucli_pend *all = NULL;
    for (unsigned b = 0; b < UCLI_HASH; b++) {
        while (d->hash[b]) {
            struct ucli_pend *q = d->hash[b];
            d->hash[b] = q->next;
            q->urb->hcd_priv = NULL;
            q->next = all;
            all = q;
        }
    }
    d->n_pending = 0;
    pthread_mutex_unlock(&d->lock);
    pthread_join(d->writer, NULL);
    while (all) {
        struct ucli_pend *next = all->next;
        complete(all, OWU_E_NODEV, 0);
        all = next;
    }
    struct ucli_msg *m = d->out_head;
    d->out_head = d->out_tail = NULL;
    while (m) {
        struct ucli_msg *next = m->next;
        free(m);
        m = next;
    }
    struct owu_usb_device *dev = d->dev;
    owu_hcd_device_left(&bus->hcd, dev);
    struct ucli_zombie *z = malloc(sizeof *z);
    pthread_mutex_lock(&bus->lock);
    bus->ports[d->port] = NULL;
    /* Closed only now: detach looks the fd up through the port under this lock. */
    close(d->fd);
    d->fd = -1;
    if (z) {
        z->thread = pthread_self();
        z->next = bus->zombies;
        bus->zombies = z;
    } else {
        pthread_detach(pthread_self());
    }
    pthread_cond_broadcast(&bus->cond);
    pthread_mutex_unlock(&bus->lock);
    owu_usb_device_unref(dev);   /* the bus's reference; may free d */
    return NULL;
}

/* ---- management ------------------------------------------------------------------------------- */

int owu_usbip_list(const char *host, unsigned port, struct owu_usbip_device **devs, size_t *n,
                   owu_err *err)
{
    *devs = NULL;
    *n = 0;
    int fd = owu_usbip_connect(host, port, err);
    if (fd < 0)
        return fd;
    uint8_t req[OWU_USBIP_OP_HEADER_SIZE], head[OWU_USBIP_DEVLIST_HEAD_SIZE];
    owu_usbip_encode_op_header(req, OWU_USBIP_OP_REQ_DEVLIST, 0);
    uint32_t ndev = 0;
    int rc = owu_usbip_write_full(fd, req, sizeof req);
    if (rc == OWU_OK && owu_usbip_read_full(fd, head, sizeof head) != OWU_OK)
        rc = owu_fail(err, OWU_E_NODEV, "USB/IP server %s:%u closed the connection before its device list",
                      host, port);
    else if (rc != OWU_OK)
        rc = owu_fail(err, OWU_E_NODEV, "USB/IP server %s:%u: cannot send OP_REQ_DEVLIST", host, port);
    if (rc == OWU_OK)
        rc = owu_usbip_decode_devlist_head(head, sizeof head, &ndev, err);
    struct owu_usbip_device *out = NULL;
    if (rc == OWU_OK && ndev && !(out = calloc(ndev, sizeof *out)))
        rc = owu_fail(err, OWU_E_NOMEM, "out of memory");
    uint8_t rec[OWU_USBIP_DEVICE_SIZE], ifs[OWU_USBIP_MAX_INTERFACES * OWU_USBIP_INTERFACE_SIZE];
    for (uint32_t i = 0; rc == OWU_OK && i < ndev; i++) {
        if (owu_usbip_read_full(fd, rec, sizeof rec) != OWU_OK) {
            rc = owu_fail(err, OWU_E_PARSE, "USB/IP OP_REP_DEVLIST: truncated in device %u of %u", i, ndev);
            break;
        }
        rc = owu_usbip_decode_device(rec, sizeof rec, &out[i], err);
        if (rc != OWU_OK)
            break;
        size_t nif = (size_t)out[i].bNumInterfaces * OWU_USBIP_INTERFACE_SIZE;
        if (owu_usbip_read_full(fd, ifs, nif) != OWU_OK) {
            rc = owu_fail(err, OWU_E_PARSE, "USB/IP OP_REP_DEVLIST: truncated in the interfaces of device %u", i);
            break;
        }
        rc = owu_usbip_decode_interfaces(ifs, nif, &out[i], err);
    }
    close(fd);
    if (rc != OWU_OK) {
        free(out);
        return rc;
    }
    *devs = out;
    *n = ndev;
    return OWU_OK;
}

static int do_import(const char *host, unsigned port, const char *busid, struct owu_usbip_device *rec,
                     owu_err *err)
{
    uint8_t req[OWU_USBIP_REQ_IMPORT_SIZE];
    int rc = owu_usbip_encode_req_import(req, busid, err);
    if (rc != OWU_OK)
        return rc;
    int fd = owu_usbip_connect(host, port, err);
    if (fd < 0)
        return fd;
    uint8_t rep[OWU_USBIP_REP_IMPORT_SIZE];
    struct owu_usbip_op_header h;
    uint32_t status = 0;
    if (owu_usbip_write_full(fd, req, sizeof req) != OWU_OK ||
        owu_usbip_read_full(fd, rep, OWU_USBIP_OP_HEADER_SIZE) != OWU_OK) {
        rc = owu_fail(err, OWU_E_NODEV, "USB/IP %s:%u: connection closed during the import of %s", host,
                      port, busid);
    } else if ((rc = owu_usbip_decode_op_header(rep, OWU_USBIP_OP_HEADER_SIZE, OWU_USBIP_OP_REP_IMPORT, &h,
                                                err)) == OWU_OK) {
        if (h.status != OWU_USBIP_ST_OK) {
            rc = owu_fail(err, h.status == OWU_USBIP_ST_DEV_BUSY ? OWU_E_BUSY : OWU_E_NOTFOUND,
                          "USB/IP %s:%u: import of %s refused: %s", host, port, busid,
                          owu_usbip_op_status_name(h.status));
        } else if (owu_usbip_read_full(fd, rep + 8, sizeof rep - 8) != OWU_OK) {
            rc = owu_fail(err, OWU_E_NODEV, "USB/IP %s:%u: OP_REP_IMPORT truncated", host, port);
        } else {
            rc = owu_usbip_decode_rep_import(rep, sizeof rep, &status, rec, err);
            if (rc == OWU_OK && strcmp(rec->busid, busid) != 0)
                rc = owu_fail(err, OWU_E_PARSE, "USB/IP %s:%u: asked for %s, the server sent %s", host,
                              port, busid, rec->busid);
        }
    }
    if (rc != OWU_OK) {
        close(fd);
        return rc;
    }
    return fd;
}

int owu_usbip_client_import(struct owu_hcd *hcd, const char *busid, unsigned *port_out, owu_err *err)
{
    struct ucli_bus *bus = to_bus(hcd);
    reap_zombies(bus);
    struct owu_usbip_device rec;
    int fd = do_import(bus->host, bus->tcp_port, busid, &rec, err);
    if (fd < 0)
        return fd;
    struct ucli_dev *d = calloc(1, sizeof *d);
    if (!d) {
        close(fd);
        return owu_fail(err, OWU_E_NOMEM, "out of memory");
    }
    d->bus = bus;
    d->fd = fd;
    d->rec = rec;
    d->devid = rec.busnum << 16 | rec.devnum;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->cond, NULL);

    pthread_mutex_lock(&bus->lock);
    unsigned port = 0;
    for (unsigned p = 1; p <= UCLI_MAX_PORTS && !port; p++)
        if (!bus->ports[p])
            port = p;
    struct owu_usb_device *dev = port ? owu_usb_device_new(hcd, port, owu_usbip_speed_to_owu(rec.speed)) : NULL;
    if (!dev) {
        pthread_mutex_unlock(&bus->lock);
        close(fd);
        pthread_cond_destroy(&d->cond);
        pthread_mutex_destroy(&d->lock);
        free(d);
        return owu_fail(err, port ? OWU_E_NOMEM : OWU_E_BUSY, "USB/IP bus %u: %s", hcd->bus_number,
                        port ? "out of memory" : "all ports are in use");
    }
    d->dev = dev;
    d->port = port;
    dev->address = (uint8_t)(rec.devnum & 0x7F);
    snprintf(dev->location, sizeof dev->location, "usbip:%u-%u", hcd->bus_number, port);
    dev->hcd_priv = d;
    if (pthread_create(&d->writer, NULL, writer_main, d) != 0) {
        pthread_mutex_unlock(&bus->lock);
        close(fd);
        dev->hcd_priv = NULL;
        owu_usb_device_unref(dev);
        pthread_cond_destroy(&d->cond);
        pthread_mutex_destroy(&d->lock);
        free(d);
        return owu_fail(err, OWU_E_NOMEM, "USB/IP: cannot start a writer thread");
    }
    if (pthread_create(&d->reader, NULL, reader_main, d) != 0) {
        pthread_mutex_lock(&d->lock);
        d->dead = true;
        pthread_cond_broadcast(&d->cond);
        pthread_mutex_unlock(&d->lock);
        pthread_join(d->writer, NULL);
        pthread_mutex_unlock(&bus->lock);
        close(fd);
        dev->hcd_priv = NULL;
        owu_usb_device_unref(dev);
        pthread_cond_destroy(&d->cond);
        pthread_mutex_destroy(&d->lock);
        free(d);
        return owu_fail(err, OWU_E_NOMEM, "USB/IP: cannot start a reader thread");
    }
    bus->ports[port] = d;
    /* The connection may drop (and the reader release the bus's reference) before the
     * arrival is reported. */
    owu_usb_device_ref(dev);
    pthread_mutex_unlock(&bus->lock);
    if (port_out)
        *port_out = port;
    owu_hcd_device_arrived(hcd, dev);
    owu_usb_device_unref(dev);
    return OWU_OK;
}

int owu_usbip_client_import_all(struct owu_hcd *hcd, unsigned *count, owu_err *err)
{
    struct ucli_bus *bus = to_bus(hcd);
    struct owu_usbip_device *devs = NULL;
    size_t n = 0;
    if (count)
        *count = 0;
    int rc = owu_usbip_list(bus->host, bus->tcp_port, &devs, &n, err);
    if (rc != OWU_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        bool have = false;
        pthread_mutex_lock(&bus->lock);
        for (unsigned p = 1; p <= UCLI_MAX_PORTS; p++)
            if (bus->ports[p] && strcmp(bus->ports[p]->rec.busid, devs[i].busid) == 0)
                have = true;
        pthread_mutex_unlock(&bus->lock);
        if (have)
            continue;
        owu_err e = {0};
        int r = owu_usbip_client_import(hcd, devs[i].busid, NULL, &e);
        if (r == OWU_OK) {
            if (count)
                (*count)++;
        } else if (r == OWU_E_BUSY) {
            fprintf(stderr, "openwinusb: %s\n", e.msg);
        } else {
            rc = r;
            if (err)
                *err = e;
            break;
        }
    }
    free(devs);
    return rc;
}

int owu_usbip_client_detach(struct owu_hcd *hcd, unsigned port)
{
    struct ucli_bus *bus = to_bus(hcd);
    if (port == 0 || port > UCLI_MAX_PORTS)
        return OWU_E_INVAL;
    pthread_mutex_lock(&bus->lock);
    struct ucli_dev *d = bus->ports[port];
    if (!d) {
        pthread_mutex_unlock(&bus->lock);
        return OWU_E_NOTFOUND;
    }
    shutdown(d->fd, SHUT_RDWR);
    while (bus->ports[port] == d)
        pthread_cond_wait(&bus->cond, &bus->lock);
    pthread_mutex_unlock(&bus->lock);
    reap_zombies(bus);
    return OWU_OK;
}

const struct owu_usbip_device *owu_usbip_client_record(struct owu_hcd *hcd, unsigned port)
{
    struct ucli_bus *bus = to_bus(hcd);
    if (port == 0 || port > UCLI_MAX_PORTS)
        return NULL;
    pthread_mutex_lock(&bus->lock);
    struct ucli_dev *d = bus->ports[port];
    pthread_mutex_unlock(&bus->lock);
    return d ? &d->rec : NULL;
}

/* ---- hcd ops ----------------------------------------------------------------------------------- */

static void ucli_release_device(struct owu_usb_device *dev)
{
    struct ucli_dev *d = dev->hcd_priv;
    if (!d)
        return;
    dev->hcd_priv = NULL;
    pthread_cond_destroy(&d->cond);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

static void ucli_shutdown(struct owu_hcd *hcd)
{
    for (unsigned p = 1; p <= UCLI_MAX_PORTS; p++)
        owu_usbip_client_detach(hcd, p);
    reap_zombies(to_bus(hcd));
}

static void ucli_destroy(struct owu_hcd *hcd)
{
    struct ucli_bus *bus = to_bus(hcd);
    reap_zombies(bus);
    pthread_cond_destroy(&bus->cond);
    pthread_mutex_destroy(&bus->lock);
    free(bus);
}

static const struct owu_hcd_ops ucli_ops = {
    .name = "usbip",
    .submit = ucli_submit,
    .cancel = ucli_cancel,
    /* reset_port, set_address: the server's side enumerated the device already. */
    .release_device = ucli_release_device,
    .shutdown = ucli_shutdown,
    .destroy = ucli_destroy,
};

struct owu_hcd *owu_usbip_client_create(unsigned bus_number, const char *host, unsigned port,
                                        owu_err *err)
{
    if (!host || !*host || strlen(host) >= sizeof ((struct ucli_bus *)0)->host) {
        owu_fail(err, OWU_E_INVAL, "USB/IP: bad server host name");
        return NULL;
    }
    struct ucli_bus *bus = calloc(1, sizeof *bus);
    if (!bus) {
        owu_fail(err, OWU_E_NOMEM, "out of memory");
        return NULL;
    }
    owu_hcd_init(&bus->hcd, &ucli_ops, bus_number, "usbip");
    bus->hcd.priv = bus;
    snprintf(bus->host, sizeof bus->host, "%s", host);
    bus->tcp_port = port ? port : OWU_USBIP_DEFAULT_PORT;
    pthread_mutex_init(&bus->lock, NULL);
    pthread_cond_init(&bus->cond, NULL);
    return &bus->hcd;
}
