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
 *
 * Shared mode (bus kind "host[=SOCKET]", docs/device-host.md): the same engine over a
 * Unix-domain socket to a device host, with the shared import instead of OP_REQ_IMPORT.
 * claim_interface / release_interface send CLAIM / RELEASE and wait for the reply, which the
 * reader delivers (refused: OWU_E_BUSY); a SET_CONFIGURATION of the active configuration is a
 * no-op, as with usbfs, so that enumeration does not reset the device under other clients.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openwinusb/descriptors.h>

#include "core/urb.h"
#include "hcd/usbip.h"

#define UCLI_MAX_PORTS 127u
#define UCLI_HASH 256u
#define UCLI_OP_TIMEOUT_MS 10000u

struct ucli_pend {
    struct ucli_pend *next;          /* hash chain */
    struct owu_urb *urb;
    uint32_t seqnum;
    uint32_t unlink_seqnum;          /* 0: no CMD_UNLINK sent */
    bool in;
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
    uint32_t next_seq;
    struct ucli_pend *hash[UCLI_HASH];
    struct owu_usbip_outq out;       /* CMD_SUBMIT / CMD_UNLINK / ops to send */
    int32_t interval[2][16];         /* periodic endpoints: HC units; 0 = not seen */
    /* Shared mode: one CLAIM / RELEASE in flight, its reply delivered by the reader. */
    pthread_mutex_t op_lock;
    uint16_t op_expect;              /* reply code awaited, 0 = none */
    bool op_done;
    uint32_t op_status;
};

struct ucli_zombie {
    struct ucli_zombie *next;
    pthread_t thread;
};

struct ucli_bus {
    struct owu_hcd hcd;
    bool shared;                     /* device host: Unix socket, shared import, claims */
    char host[256];                  /* exclusive: TCP server */
    unsigned tcp_port;
    char path[sizeof ((struct sockaddr_un *)0)->sun_path];   /* shared: the host's socket */
    char peer[320];                  /* "USB/IP HOST:PORT" or "device host PATH", for messages */
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

/* Sends a PDU (takes ownership), lock held: at once when the socket takes it without
 * blocking, else through the writer thread, so a submitter never waits for the network. */
static void enqueue_locked(struct ucli_dev *d, struct owu_usbip_msg *m)
{
    owu_usbip_outq_send(&d->out, d->fd, &d->cond, m);
}

static void *writer_main(void *arg)
{
    struct ucli_dev *d = arg;
    pthread_mutex_lock(&d->lock);
    /* Until the connection is dead (the reader then clears what is left); a failed write
     * shuts the socket down, which the reader turns into OWU_E_NODEV. */
    owu_usbip_outq_run(&d->out, d->fd, &d->lock, &d->cond, &d->dead, false, NULL);
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
    struct owu_usbip_msg *m = owu_usbip_msg_new(OWU_USBIP_HEADER_SIZE + out_data + (size_t)np * OWU_USBIP_ISO_DESC_SIZE);
    struct ucli_pend *pe = malloc(sizeof *pe);
    if (!m || !pe) {
        free(m);
        free(pe);
        return OWU_E_NOMEM;
    }
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
            struct owu_usbip_msg *m = owu_usbip_msg_new(OWU_USBIP_HEADER_SIZE);
            if (m) {
                pe->unlink_seqnum = next_seq_locked(d);
                struct owu_usbip_pdu p = {.command = OWU_USBIP_CMD_UNLINK, .seqnum = pe->unlink_seqnum,
                                          .devid = d->devid, .unlink_seqnum = pe->seqnum};
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

/* ---- claims (shared mode) ------------------------------------------------------------------------ */

/* Sends CLAIM or RELEASE and waits for the host's answer. */
static int ucli_op(struct ucli_dev *d, uint16_t req, uint16_t rep, uint8_t intf)
{
    struct owu_usbip_msg *m = owu_usbip_msg_new(OWU_USBIP_OP_HEADER_SIZE);
    if (!m)
        return OWU_E_NOMEM;
    owu_usbip_encode_op_header(m->data, req, intf);
    pthread_mutex_lock(&d->op_lock);
    pthread_mutex_lock(&d->lock);
    if (d->dead) {
        pthread_mutex_unlock(&d->lock);
        pthread_mutex_unlock(&d->op_lock);
        free(m);
        return OWU_E_NODEV;
    }
    d->op_expect = rep;
    d->op_done = false;
    enqueue_locked(d, m);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += UCLI_OP_TIMEOUT_MS / 1000;
    int wrc = 0;
    while (!d->op_done && !d->dead && wrc == 0)
        wrc = pthread_cond_timedwait(&d->cond, &d->lock, &until);
    int rc;
    if (d->op_done) {
        switch (d->op_status) {
        case OWU_USBIP_ST_OK: rc = OWU_OK; break;
        case OWU_USBIP_ST_DEV_BUSY: rc = OWU_E_BUSY; break;
        case OWU_USBIP_ST_NODEV: rc = OWU_E_INVAL; break;   /* no such interface */
        case OWU_USBIP_ST_NA: rc = OWU_E_NOTFOUND; break;
        default: rc = OWU_E_IO; break;
        }
    } else {
        rc = d->dead ? OWU_E_NODEV : OWU_E_TIMEOUT;
        if (!d->dead)
            shutdown(d->fd, SHUT_RDWR);   /* a host that stops answering is as good as gone */
    }
    d->op_expect = 0;
    pthread_mutex_unlock(&d->lock);
    pthread_mutex_unlock(&d->op_lock);
    return rc;
}

static int ucli_claim_interface(struct owu_usb_device *dev, uint8_t intf, unsigned flags)
{
    (void)flags;
    struct ucli_dev *d = dev->hcd_priv;
    return d ? ucli_op(d, OWU_USBIP_OP_REQ_CLAIM, OWU_USBIP_OP_REP_CLAIM, intf) : OWU_E_NODEV;
}

static int ucli_release_interface(struct owu_usb_device *dev, uint8_t intf)
{
    struct ucli_dev *d = dev->hcd_priv;
    return d ? ucli_op(d, OWU_USBIP_OP_REQ_RELEASE, OWU_USBIP_OP_REP_RELEASE, intf) : OWU_E_NODEV;
}

/* The host configured the device for everyone: selecting the active configuration again
 * must not reset it under the other clients (usbfs does the same). */
static int ucli_set_configuration(struct owu_usb_device *dev, int value)
{
    struct ucli_dev *d = dev->hcd_priv;
    if (!d)
        return OWU_E_NODEV;
    pthread_mutex_lock(&d->lock);
    bool same = value >= 0 && (uint8_t)value == d->rec.bConfigurationValue;
    pthread_mutex_unlock(&d->lock);
    if (same)
        return OWU_OK;
    int rc = owu_control_sync(dev, OWU_DIR_OUT | OWU_TYPE_STANDARD | OWU_RECIP_DEVICE, OWU_REQ_SET_CONFIGURATION,
                              (uint16_t)(value < 0 ? 0 : value), 0, NULL, 0, 5000);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&d->lock);
    d->rec.bConfigurationValue = (uint8_t)(value < 0 ? 0 : value);
    pthread_mutex_unlock(&d->lock);
    return OWU_OK;
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
    for (;;) {
        struct owu_usbip_op_header h;
        struct owu_usbip_pdu p;
        int kind = owu_usbip_read_next(d->fd, &h, &p, &err);
        if (kind < 0)
            break;
        if (kind == 1) {
            /* An extension op reply (CLAIM / RELEASE). */
            pthread_mutex_lock(&d->lock);
            bool expected = d->op_expect && h.code == d->op_expect && !d->op_done;
            if (expected) {
                d->op_done = true;
                d->op_status = h.status;
                pthread_cond_broadcast(&d->cond);
            }
            pthread_mutex_unlock(&d->lock);
            if (!expected) {
                owu_fail(&err, OWU_E_PARSE, "unexpected op reply 0x%04X", h.code);
                break;
            }
            continue;
        }
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
        fprintf(stderr, "openwinusb: %s: %s connection closed: %s\n", d->dev->location,
                bus->shared ? "device host" : "USB/IP", err.msg);

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
    pthread_mutex_unlock(&d->lock);
    pthread_join(d->writer, NULL);
    /* Gone before the first OWU_E_NODEV completion, so that its handler sees it gone
     * (owu_hcd_device_left below sets it again and notifies). */
    pthread_mutex_lock(&d->dev->lock);
    d->dev->gone = true;
    pthread_mutex_unlock(&d->dev->lock);
    while (all) {
        struct ucli_pend *next = all->next;
        complete(all, OWU_E_NODEV, 0);
        all = next;
    }
    owu_usbip_outq_clear(&d->out);
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

/* OP_REQ_DEVLIST on a new connection fd (closed here); peer names the server in messages. */
static int list_on(int fd, const char *peer, struct owu_usbip_device **devs, size_t *n, owu_err *err)
{
    *devs = NULL;
    *n = 0;
    if (fd < 0)
        return fd;
    uint8_t req[OWU_USBIP_OP_HEADER_SIZE], head[OWU_USBIP_DEVLIST_HEAD_SIZE];
    owu_usbip_encode_op_header(req, OWU_USBIP_OP_REQ_DEVLIST, 0);
    uint32_t ndev = 0;
    int rc = owu_usbip_write_full(fd, req, sizeof req);
    if (rc == OWU_OK && owu_usbip_read_full(fd, head, sizeof head) != OWU_OK)
        rc = owu_fail(err, OWU_E_NODEV, "%s closed the connection before its device list", peer);
    else if (rc != OWU_OK)
        rc = owu_fail(err, OWU_E_NODEV, "%s: cannot send OP_REQ_DEVLIST", peer);
    if (rc == OWU_OK)
        rc = owu_usbip_decode_devlist_head(head, sizeof head, &ndev, err);
    struct owu_usbip_device *out = NULL;
    if (rc == OWU_OK && ndev && !(out = calloc(ndev, sizeof *out)))
        rc = owu_fail(err, OWU_E_NOMEM, "out of memory");
    uint8_t rec[OWU_USBIP_DEVICE_SIZE], ifs[OWU_USBIP_MAX_INTERFACES * OWU_USBIP_INTERFACE_SIZE];
    for (uint32_t i = 0; rc == OWU_OK && i < ndev; i++) {
        if (owu_usbip_read_full(fd, rec, sizeof rec) != OWU_OK) {
            rc = owu_fail(err, OWU_E_PARSE, "%s: OP_REP_DEVLIST truncated in device %u of %u", peer, i, ndev);
            break;
        }
        rc = owu_usbip_decode_device(rec, sizeof rec, &out[i], err);
        if (rc != OWU_OK)
            break;
        size_t nif = (size_t)out[i].bNumInterfaces * OWU_USBIP_INTERFACE_SIZE;
        if (owu_usbip_read_full(fd, ifs, nif) != OWU_OK) {
            rc = owu_fail(err, OWU_E_PARSE, "%s: OP_REP_DEVLIST truncated in the interfaces of device %u", peer, i);
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

int owu_usbip_list(const char *host, unsigned port, struct owu_usbip_device **devs, size_t *n,
                   owu_err *err)
{
    char peer[320];
    snprintf(peer, sizeof peer, "USB/IP server %s:%u", host, port);
    return list_on(owu_usbip_connect(host, port, err), peer, devs, n, err);
}

static int bus_connect(struct ucli_bus *bus, owu_err *err)
{
    return bus->shared ? owu_usbip_connect_local(bus->path, err) : owu_usbip_connect(bus->host, bus->tcp_port, err);
}

/* The import (shared mode: the shared import) on a new connection; returns its fd. */
static int do_import(struct ucli_bus *bus, const char *busid, struct owu_usbip_device *rec, owu_err *err)
{
    uint8_t req[OWU_USBIP_REQ_IMPORT_SIZE];
    int rc = owu_usbip_encode_req_import_code(
        req, bus->shared ? OWU_USBIP_OP_REQ_IMPORT_SHARED : OWU_USBIP_OP_REQ_IMPORT, busid, err);
    if (rc != OWU_OK)
        return rc;
    int fd = bus_connect(bus, err);
    if (fd < 0)
        return fd;
    const char *peer = bus->peer;
    uint8_t rep[OWU_USBIP_REP_IMPORT_SIZE];
    struct owu_usbip_op_header h;
    uint32_t status = 0;
    if (owu_usbip_write_full(fd, req, sizeof req) != OWU_OK ||
        owu_usbip_read_full(fd, rep, OWU_USBIP_OP_HEADER_SIZE) != OWU_OK) {
        rc = owu_fail(err, OWU_E_NODEV, "%s: connection closed during the import of %s", peer, busid);
    } else if ((rc = owu_usbip_decode_op_header(rep, OWU_USBIP_OP_HEADER_SIZE, OWU_USBIP_OP_REP_IMPORT, &h,
                                                err)) == OWU_OK) {
        if (h.status != OWU_USBIP_ST_OK) {
            rc = owu_fail(err, h.status == OWU_USBIP_ST_DEV_BUSY ? OWU_E_BUSY : OWU_E_NOTFOUND,
                          "%s: import of %s refused: %s", peer, busid, owu_usbip_op_status_name(h.status));
        } else if (owu_usbip_read_full(fd, rep + 8, sizeof rep - 8) != OWU_OK) {
            rc = owu_fail(err, OWU_E_NODEV, "%s: OP_REP_IMPORT truncated", peer);
        } else {
            rc = owu_usbip_decode_rep_import(rep, sizeof rep, &status, rec, err);
            if (rc == OWU_OK && strcmp(rec->busid, busid) != 0)
                rc = owu_fail(err, OWU_E_PARSE, "%s: asked for %s, the server sent %s", peer, busid, rec->busid);
        }
    }
    if (rc != OWU_OK) {
        close(fd);
        return rc;
    }
    return fd;
}

static void dev_free(struct ucli_dev *d)
{
    pthread_cond_destroy(&d->cond);
    pthread_mutex_destroy(&d->op_lock);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

int owu_usbip_client_import(struct owu_hcd *hcd, const char *busid, unsigned *port_out, owu_err *err)
{
    struct ucli_bus *bus = to_bus(hcd);
    reap_zombies(bus);
    struct owu_usbip_device rec;
    int fd = do_import(bus, busid, &rec, err);
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
    pthread_mutex_init(&d->op_lock, NULL);
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
        dev_free(d);
        return owu_fail(err, port ? OWU_E_NOMEM : OWU_E_BUSY, "%s bus %u: %s",
                        bus->shared ? "device host" : "USB/IP", hcd->bus_number,
                        port ? "out of memory" : "all ports are in use");
    }
    d->dev = dev;
    d->port = port;
    dev->address = (uint8_t)(rec.devnum & 0x7F);
    snprintf(dev->location, sizeof dev->location, "%s:%u-%u", bus->shared ? "host" : "usbip", hcd->bus_number,
             port);
    dev->hcd_priv = d;
    if (pthread_create(&d->writer, NULL, writer_main, d) != 0) {
        pthread_mutex_unlock(&bus->lock);
        close(fd);
        dev->hcd_priv = NULL;
        owu_usb_device_unref(dev);
        dev_free(d);
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
        dev_free(d);
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
    int rc = list_on(bus_connect(bus, err), bus->peer, &devs, &n, err);
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
    dev_free(d);
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

static const struct owu_hcd_ops ucli_shared_ops = {
    .name = "host",
    .submit = ucli_submit,
    .cancel = ucli_cancel,
    /* reset_port, set_address: the device host enumerated the device. */
    .set_configuration = ucli_set_configuration,
    .claim_interface = ucli_claim_interface,
    .release_interface = ucli_release_interface,
    .release_device = ucli_release_device,
    .shutdown = ucli_shutdown,
    .destroy = ucli_destroy,
};

static struct ucli_bus *bus_new(unsigned bus_number, bool shared, owu_err *err)
{
    struct ucli_bus *bus = calloc(1, sizeof *bus);
    if (!bus) {
        owu_fail(err, OWU_E_NOMEM, "out of memory");
        return NULL;
    }
    bus->shared = shared;
    owu_hcd_init(&bus->hcd, shared ? &ucli_shared_ops : &ucli_ops, bus_number, shared ? "host" : "usbip");
    bus->hcd.priv = bus;
    pthread_mutex_init(&bus->lock, NULL);
    pthread_cond_init(&bus->cond, NULL);
    return bus;
}

struct owu_hcd *owu_usbip_client_create(unsigned bus_number, const char *host, unsigned port,
                                        owu_err *err)
{
    if (!host || !*host || strlen(host) >= sizeof ((struct ucli_bus *)0)->host) {
        owu_fail(err, OWU_E_INVAL, "USB/IP: bad server host name");
        return NULL;
    }
    struct ucli_bus *bus = bus_new(bus_number, false, err);
    if (!bus)
        return NULL;
    snprintf(bus->host, sizeof bus->host, "%s", host);
    bus->tcp_port = port ? port : OWU_USBIP_DEFAULT_PORT;
    snprintf(bus->peer, sizeof bus->peer, "USB/IP %s:%u", bus->host, bus->tcp_port);
    return &bus->hcd;
}

struct owu_hcd *owu_usbip_client_create_local(unsigned bus_number, const char *path, owu_err *err)
{
    char def[sizeof ((struct ucli_bus *)0)->path];
    if (!path || !*path) {
        if (owu_usbip_local_default_path(def, sizeof def, false, err) != OWU_OK)
            return NULL;
        path = def;
    }
    if (strlen(path) >= sizeof def) {
        owu_fail(err, OWU_E_INVAL, "device host: socket path \"%s\" is too long", path);
        return NULL;
    }
    struct ucli_bus *bus = bus_new(bus_number, true, err);
    if (!bus)
        return NULL;
    snprintf(bus->path, sizeof bus->path, "%s", path);
    snprintf(bus->peer, sizeof bus->peer, "device host %s", path);
    return &bus->hcd;
}
