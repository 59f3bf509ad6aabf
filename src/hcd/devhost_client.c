/* The device host client backend: bus kind "host[=SOCKET]" of OPENWINUSB_BUSES. Every device
 * of a device host (`openwinusb host`, devhost_server.c) is attached in shared mode and
 * appears on this bus; other processes may use the same devices at the same time, each with
 * the interfaces it claimed (docs/device-host.md).
 *
 * One Unix-domain connection per device, with a writer thread draining queued PDUs (the
 * submitting thread never blocks on the socket, so a completion handler may resubmit) and a
 * reader thread that completes URBs by seqnum and delivers the replies of CLAIM / RELEASE.
 * claim_interface / release_interface ask the host (refused: OWU_E_BUSY). The host
 * enumerated and configured the device: reset_port and set_address are NULL, and a
 * SET_CONFIGURATION of the active configuration is a no-op, as with usbfs. Host gone: every
 * pending URB fails with OWU_E_NODEV and the devices are reported gone.
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
#include "hcd/devhost.h"
#include "hcd/usbip.h"

#define HC_MAX_PORTS 127u
#define HC_HASH 256u
#define HC_OP_TIMEOUT_MS 10000u

struct hc_pend {
    struct hc_pend *next;
    struct owu_urb *urb;
    uint32_t seqnum;
    uint32_t unlink_seqnum;
    bool in;
};

struct hc_msg {
    struct hc_msg *next;
    size_t len;
    uint8_t data[];
};

struct hc_dev {
    struct hc_bus *bus;
    struct owu_usb_device *dev;
    unsigned port;
    int fd;
    struct owu_usbip_device rec;
    uint32_t devid;
    pthread_t reader, writer;
    pthread_mutex_t lock;
    pthread_cond_t cond;             /* writer queue, op replies, death */
    bool dead;
    uint32_t next_seq;
    struct hc_pend *hash[HC_HASH];
    struct hc_msg *out_head, *out_tail;
    pthread_mutex_t op_lock;         /* one CLAIM/RELEASE in flight */
    uint16_t op_expect;              /* reply code awaited, 0 = none */
    bool op_done;
    uint32_t op_status;
    int32_t interval[2][16];
};

struct hc_zombie {
    struct hc_zombie *next;
    pthread_t thread;
};

struct hc_bus {
    struct owu_hcd hcd;
    char path[sizeof ((struct sockaddr_un *)0)->sun_path];
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct hc_dev *ports[HC_MAX_PORTS + 1];
    struct hc_zombie *zombies;
};

static struct hc_bus *to_bus(struct owu_hcd *hcd) { return (struct hc_bus *)hcd; }

/* ---- pending map and writer queue --------------------------------------------------------- */

static struct hc_pend **pend_slot(struct hc_dev *d, uint32_t seqnum)
{
    struct hc_pend **pp = &d->hash[seqnum % HC_HASH];
    while (*pp && (*pp)->seqnum != seqnum)
        pp = &(*pp)->next;
    return pp;
}

static uint32_t next_seq_locked(struct hc_dev *d)
{
    do {
        d->next_seq++;
    } while (d->next_seq == 0 || *pend_slot(d, d->next_seq));
    return d->next_seq;
}

static void enqueue_locked(struct hc_dev *d, struct hc_msg *m)
{
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
    struct hc_dev *d = arg;
    pthread_mutex_lock(&d->lock);
    for (;;) {
        while (!d->out_head && !d->dead)
            pthread_cond_wait(&d->cond, &d->lock);
        if (d->dead)
            break;
        struct hc_msg *list = d->out_head;
        d->out_head = d->out_tail = NULL;
        pthread_mutex_unlock(&d->lock);
        bool failed = false;
        while (list) {
            struct hc_msg *next = list->next;
            if (!failed && owu_usbip_write_full(d->fd, list->data, list->len) != OWU_OK)
                failed = true;
            free(list);
            list = next;
        }
        pthread_mutex_lock(&d->lock);
        if (failed)
            shutdown(d->fd, SHUT_RDWR);
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

/* ---- submit / cancel ------------------------------------------------------------------------ */

static void learn_intervals_locked(struct hc_dev *d, const uint8_t *b, size_t n)
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

static int hc_submit(struct owu_urb *urb)
{
    struct hc_dev *d = urb->dev->hcd_priv;
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
    size_t total = OWU_USBIP_HEADER_SIZE + out_data + (size_t)np * OWU_USBIP_ISO_DESC_SIZE;
    struct hc_msg *m = malloc(sizeof *m + total);
    struct hc_pend *pe = malloc(sizeof *pe);
    if (!m || !pe) {
        free(m);
        free(pe);
        return OWU_E_NOMEM;
    }
    m->len = total;
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
    struct hc_pend **slot = &d->hash[pe->seqnum % HC_HASH];
    pe->next = *slot;
    *slot = pe;
    urb->hcd_priv = pe;
    enqueue_locked(d, m);
    pthread_mutex_unlock(&d->lock);
    return OWU_OK;
}

static int hc_cancel(struct owu_urb *urb)
{
    struct hc_dev *d = urb->dev->hcd_priv;
    if (!d)
        return OWU_E_NOTFOUND;
    pthread_mutex_lock(&d->lock);
    int rc = OWU_E_NOTFOUND;
    struct hc_pend *pe = urb->hcd_priv;
    if (pe && !d->dead && *pend_slot(d, pe->seqnum) == pe && pe->urb == urb) {
        rc = OWU_OK;
        if (!pe->unlink_seqnum) {
            struct hc_msg *m = malloc(sizeof *m + OWU_USBIP_HEADER_SIZE);
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

/* ---- claims ---------------------------------------------------------------------------------- */

/* Sends CLAIM or RELEASE and waits for the host's answer. */
static int hc_op(struct hc_dev *d, uint16_t req, uint16_t rep, uint8_t intf)
{
    struct hc_msg *m = malloc(sizeof *m + OWU_USBIP_OP_HEADER_SIZE);
    if (!m)
        return OWU_E_NOMEM;
    m->len = OWU_USBIP_OP_HEADER_SIZE;
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
    until.tv_sec += HC_OP_TIMEOUT_MS / 1000;
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

static int hc_claim_interface(struct owu_usb_device *dev, uint8_t intf, unsigned flags)
{
    struct hc_dev *d = dev->hcd_priv;
    return d ? hc_op(d, OWU_DEVHOST_OP_REQ_CLAIM, OWU_DEVHOST_OP_REP_CLAIM, intf) : OWU_E_NODEV;
}

static int hc_release_interface(struct owu_usb_device *dev, uint8_t intf)
{
    struct hc_dev *d = dev->hcd_priv;
    return d ? hc_op(d, OWU_DEVHOST_OP_REQ_RELEASE, OWU_DEVHOST_OP_REP_RELEASE, intf) : OWU_E_NODEV;
}

/* The host configured the device for everyone: selecting the active configuration again
 * must not reset it under the other clients (usbfs does the same). */
static int hc_set_configuration(struct owu_usb_device *dev, int value)
{
    struct hc_dev *d = dev->hcd_priv;
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

static void complete(struct hc_pend *pe, int status, size_t actual)
{
    struct owu_urb *urb = pe->urb;
    free(pe);
    urb->hcd_priv = NULL;
    owu_urb_done(urb, status, actual);
}

static int read_ret_submit(struct hc_dev *d, const struct owu_usbip_pdu *p, struct hc_pend *pe,
                           size_t *actual, owu_err *err)
{
    struct owu_urb *urb = pe->urb;
    size_t asked = urb->type == OWU_XFER_CONTROL ? urb->setup.wLength : urb->length;
    uint32_t np = owu_usbip_iso_count(p);
    uint32_t want_np = urb->type == OWU_XFER_ISOCHRONOUS ? urb->num_iso_packets : 0;
    if (np != want_np)
        return owu_fail(err, OWU_E_PARSE, "RET_SUBMIT seq %u: %u ISO packets for a request of %u", p->seqnum,
                        np, want_np);
    if (p->actual_length > asked)
        return owu_fail(err, OWU_E_PARSE, "RET_SUBMIT seq %u: actual_length %u exceeds the %zu bytes asked",
                        p->seqnum, p->actual_length, asked);
    *actual = p->actual_length;
    if (!np) {
        if (pe->in && p->actual_length && owu_usbip_read_full(d->fd, urb->buffer, p->actual_length) != OWU_OK)
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
        size_t src = 0, sum = 0;
        for (uint32_t i = 0; i < np; i++) {
            urb->iso[i].actual = desc[i].actual_length;
            urb->iso[i].status = owu_usbip_errno_to_status(desc[i].status);
            if (pe->in) {
                memcpy(urb->buffer + urb->iso[i].offset, tmp + src, desc[i].actual_length);
                src += desc[i].actual_length;
            }
            sum += desc[i].actual_length;
        }
        urb->start_frame = (uint32_t)p->start_frame;
        if (!pe->in)
            *actual = sum;
    }
    free(tmp);
    free(desc);
    return rc;
}

static void reap_zombies(struct hc_bus *bus)
{
    pthread_mutex_lock(&bus->lock);
    struct hc_zombie *z = bus->zombies;
    bus->zombies = NULL;
    pthread_mutex_unlock(&bus->lock);
    while (z) {
        struct hc_zombie *next = z->next;
        pthread_join(z->thread, NULL);
        free(z);
        z = next;
    }
}

static void *reader_main(void *arg)
{
    struct hc_dev *d = arg;
    struct hc_bus *bus = d->bus;
    owu_err err = {0};
    uint8_t hdr[OWU_USBIP_HEADER_SIZE];
    for (;;) {
        if (owu_usbip_read_full(d->fd, hdr, OWU_USBIP_OP_HEADER_SIZE) != OWU_OK)
            break;
        if (hdr[0] == (OWU_USBIP_VERSION >> 8) && hdr[1] == (OWU_USBIP_VERSION & 0xFF)) {
            /* An extension op reply (CLAIM / RELEASE). */
            struct owu_usbip_op_header h;
            if (owu_usbip_decode_op_header(hdr, OWU_USBIP_OP_HEADER_SIZE, 0, &h, &err) != OWU_OK)
                break;
            pthread_mutex_lock(&d->lock);
            bool expected = d->op_expect && h.code == d->op_expect && !d->op_done;
            if (expected) {
                d->op_done = true;
                d->op_status = h.status;
                pthread_cond_broadcast(&d->cond);
            }
            pthread_mutex_unlock(&d->lock);
            if (!expected) {
                owu_fail(&err, OWU_E_PARSE, "unexpected op reply 0x%04X from the host", h.code);
                break;
            }
            continue;
        }
        if (owu_usbip_read_full(d->fd, hdr + OWU_USBIP_OP_HEADER_SIZE,
                                OWU_USBIP_HEADER_SIZE - OWU_USBIP_OP_HEADER_SIZE) != OWU_OK)
            break;
        struct owu_usbip_pdu p;
        if (owu_usbip_decode_pdu(hdr, sizeof hdr, &p, &err) != OWU_OK)
            break;
        if (p.command == OWU_USBIP_RET_SUBMIT) {
            pthread_mutex_lock(&d->lock);
            struct hc_pend *pe = *pend_slot(d, p.seqnum);
            pthread_mutex_unlock(&d->lock);
            if (!pe) {
                owu_fail(&err, OWU_E_PARSE, "RET_SUBMIT for unknown seqnum %u", p.seqnum);
                break;
            }
            size_t actual = 0;
            if (read_ret_submit(d, &p, pe, &actual, &err) != OWU_OK)
                break;
            pthread_mutex_lock(&d->lock);
            struct hc_pend **pp = pend_slot(d, p.seqnum);
            if (*pp == pe)
                *pp = pe->next;
            pthread_mutex_unlock(&d->lock);
            complete(pe, owu_usbip_errno_to_status(p.status), actual);
        } else if (p.command == OWU_USBIP_RET_UNLINK) {
            struct hc_pend *pe = NULL;
            pthread_mutex_lock(&d->lock);
            for (unsigned b = 0; b < HC_HASH && !pe; b++)
                for (struct hc_pend *q = d->hash[b]; q; q = q->next)
                    if (q->unlink_seqnum == p.seqnum) {
                        pe = q;
                        break;
                    }
            if (pe && p.status != 0) {
                struct hc_pend **pp = pend_slot(d, pe->seqnum);
                *pp = pe->next;
            } else {
                pe = NULL;
            }
            pthread_mutex_unlock(&d->lock);
            if (pe)
                complete(pe, OWU_E_CANCELLED, 0);
        } else {
            owu_fail(&err, OWU_E_PARSE, "%s seq %u sent by the host", owu_usbip_command_name(p.command), p.seqnum);
            break;
        }
    }
    if (err.msg[0] && err.code != OWU_E_NODEV)
        fprintf(stderr, "openwinusb: %s: device host connection closed: %s\n", d->dev->location, err.msg);

    shutdown(d->fd, SHUT_RDWR);
    pthread_mutex_lock(&d->lock);
    d->dead = true;
    pthread_cond_broadcast(&d->cond);
    struct hc_pend *all = NULL;
    for (unsigned b = 0; b < HC_HASH; b++) {
        while (d->hash[b]) {
            struct hc_pend *q = d->hash[b];
            d->hash[b] = q->next;
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
        struct hc_pend *next = all->next;
        complete(all, OWU_E_NODEV, 0);
        all = next;
    }
    struct hc_msg *m = d->out_head;
    d->out_head = d->out_tail = NULL;
    while (m) {
        struct hc_msg *next = m->next;
        free(m);
        m = next;
    }
    struct owu_usb_device *dev = d->dev;
    owu_hcd_device_left(&bus->hcd, dev);
    struct hc_zombie *z = malloc(sizeof *z);
    pthread_mutex_lock(&bus->lock);
    bus->ports[d->port] = NULL;
    /* Closed under the bus lock: hc_shutdown may still shutdown() it until the port is free. */
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
    owu_usb_device_unref(dev);
    return NULL;
}

/* ---- management ----------------------------------------------------------------------------------- */

static int hc_list(const char *path, struct owu_usbip_device **devs, size_t *n, owu_err *err)
{
    *devs = NULL;
    *n = 0;
    int fd = owu_devhost_connect(path, err);
    if (fd < 0)
        return fd;
    uint8_t req[OWU_USBIP_OP_HEADER_SIZE], head[OWU_USBIP_DEVLIST_HEAD_SIZE];
    owu_usbip_encode_op_header(req, OWU_USBIP_OP_REQ_DEVLIST, 0);
    uint32_t ndev = 0;
    int rc = OWU_OK;
    if (owu_usbip_write_full(fd, req, sizeof req) != OWU_OK || owu_usbip_read_full(fd, head, sizeof head) != OWU_OK)
        rc = owu_fail(err, OWU_E_NODEV, "device host %s closed the connection before its device list", path);
    if (rc == OWU_OK)
        rc = owu_usbip_decode_devlist_head(head, sizeof head, &ndev, err);
    struct owu_usbip_device *out = NULL;
    if (rc == OWU_OK && ndev && !(out = calloc(ndev, sizeof *out)))
        rc = owu_fail(err, OWU_E_NOMEM, "out of memory");
    uint8_t rec[OWU_USBIP_DEVICE_SIZE], ifs[OWU_USBIP_MAX_INTERFACES * OWU_USBIP_INTERFACE_SIZE];
    for (uint32_t i = 0; rc == OWU_OK && i < ndev; i++) {
        if (owu_usbip_read_full(fd, rec, sizeof rec) != OWU_OK) {
            rc = owu_fail(err, OWU_E_PARSE, "device host list: truncated in device %u of %u", i, ndev);
            break;
        }
        if ((rc = owu_usbip_decode_device(rec, sizeof rec, &out[i], err)) != OWU_OK)
            break;
        size_t nif = (size_t)out[i].bNumInterfaces * OWU_USBIP_INTERFACE_SIZE;
        if (owu_usbip_read_full(fd, ifs, nif) != OWU_OK) {
            rc = owu_fail(err, OWU_E_PARSE, "device host list: truncated in the interfaces of device %u", i);
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

static int hc_import(const char *path, const char *busid, struct owu_usbip_device *rec, owu_err *err)
{
    uint8_t req[OWU_USBIP_REQ_IMPORT_SIZE];
    int rc = owu_usbip_encode_req_import(req, busid, err);
    if (rc != OWU_OK)
        return rc;
    req[2] = OWU_DEVHOST_OP_REQ_IMPORT_SHARED >> 8;
    req[3] = OWU_DEVHOST_OP_REQ_IMPORT_SHARED & 0xFF;
    int fd = owu_devhost_connect(path, err);
    if (fd < 0)
        return fd;
    uint8_t rep[OWU_USBIP_REP_IMPORT_SIZE];
    struct owu_usbip_op_header h;
    uint32_t status = 0;
    if (owu_usbip_write_full(fd, req, sizeof req) != OWU_OK ||
        owu_usbip_read_full(fd, rep, OWU_USBIP_OP_HEADER_SIZE) != OWU_OK) {
        rc = owu_fail(err, OWU_E_NODEV, "device host %s: connection closed while attaching %s", path, busid);
    } else if ((rc = owu_usbip_decode_op_header(rep, OWU_USBIP_OP_HEADER_SIZE, OWU_USBIP_OP_REP_IMPORT, &h, err)) ==
               OWU_OK) {
        if (h.status != OWU_USBIP_ST_OK)
            rc = owu_fail(err, OWU_E_NOTFOUND, "device host %s: attaching %s refused: %s", path, busid,
                          owu_usbip_op_status_name(h.status));
        else if (owu_usbip_read_full(fd, rep + 8, sizeof rep - 8) != OWU_OK)
            rc = owu_fail(err, OWU_E_NODEV, "device host %s: import reply truncated", path);
        else if ((rc = owu_usbip_decode_rep_import(rep, sizeof rep, &status, rec, err)) == OWU_OK &&
                 strcmp(rec->busid, busid) != 0)
            rc = owu_fail(err, OWU_E_PARSE, "device host %s: asked for %s, got %s", path, busid, rec->busid);
    }
    if (rc != OWU_OK) {
        close(fd);
        return rc;
    }
    return fd;
}

static int hc_attach(struct hc_bus *bus, const char *busid, owu_err *err)
{
    struct owu_hcd *hcd = &bus->hcd;
    reap_zombies(bus);
    struct owu_usbip_device rec;
    int fd = hc_import(bus->path, busid, &rec, err);
    if (fd < 0)
        return fd;
    struct hc_dev *d = calloc(1, sizeof *d);
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
    for (unsigned p = 1; p <= HC_MAX_PORTS && !port; p++)
        if (!bus->ports[p])
            port = p;
    struct owu_usb_device *dev = port ? owu_usb_device_new(hcd, port, owu_usbip_speed_to_owu(rec.speed)) : NULL;
    bool started = false;
    if (dev) {
        d->dev = dev;
        d->port = port;
        dev->address = (uint8_t)(rec.devnum & 0x7F);
        snprintf(dev->location, sizeof dev->location, "host:%u-%u", hcd->bus_number, port);
        dev->hcd_priv = d;
        if (pthread_create(&d->writer, NULL, writer_main, d) == 0) {
            if (pthread_create(&d->reader, NULL, reader_main, d) == 0) {
                started = true;
            } else {
                pthread_mutex_lock(&d->lock);
                d->dead = true;
                pthread_cond_broadcast(&d->cond);
                pthread_mutex_unlock(&d->lock);
                pthread_join(d->writer, NULL);
            }
        }
    }
    if (!started) {
        pthread_mutex_unlock(&bus->lock);
        close(fd);
        if (dev) {
            dev->hcd_priv = NULL;
            owu_usb_device_unref(dev);
        }
        pthread_cond_destroy(&d->cond);
        pthread_mutex_destroy(&d->op_lock);
        pthread_mutex_destroy(&d->lock);
        free(d);
        return owu_fail(err, port ? OWU_E_NOMEM : OWU_E_BUSY, "device host bus %u: %s", hcd->bus_number,
                        port ? "cannot start the connection threads" : "all ports are in use");
    }
    bus->ports[port] = d;
    pthread_mutex_unlock(&bus->lock);
    owu_hcd_device_arrived(hcd, dev);
    return OWU_OK;
}

int owu_devhost_client_attach_all(struct owu_hcd *hcd, unsigned *count, owu_err *err)
{
    struct hc_bus *bus = to_bus(hcd);
    struct owu_usbip_device *devs = NULL;
    size_t n = 0;
    if (count)
        *count = 0;
    int rc = hc_list(bus->path, &devs, &n, err);
    for (size_t i = 0; rc == OWU_OK && i < n; i++) {
        rc = hc_attach(bus, devs[i].busid, err);
        if (rc == OWU_OK && count)
            (*count)++;
    }
    free(devs);
    return rc;
}

/* ---- hcd ops ---------------------------------------------------------------------------------------- */

static void hc_release_device(struct owu_usb_device *dev)
{
    struct hc_dev *d = dev->hcd_priv;
    if (!d)
        return;
    dev->hcd_priv = NULL;
    pthread_cond_destroy(&d->cond);
    pthread_mutex_destroy(&d->op_lock);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

static void hc_shutdown(struct owu_hcd *hcd)
{
    struct hc_bus *bus = to_bus(hcd);
    pthread_mutex_lock(&bus->lock);
    for (unsigned p = 1; p <= HC_MAX_PORTS; p++) {
        struct hc_dev *d = bus->ports[p];
        if (!d)
            continue;
        shutdown(d->fd, SHUT_RDWR);
        while (bus->ports[p] == d)
            pthread_cond_wait(&bus->cond, &bus->lock);
    }
    pthread_mutex_unlock(&bus->lock);
    reap_zombies(bus);
}

static void hc_destroy(struct owu_hcd *hcd)
{
    struct hc_bus *bus = to_bus(hcd);
    reap_zombies(bus);
    pthread_cond_destroy(&bus->cond);
    pthread_mutex_destroy(&bus->lock);
    free(bus);
}

static const struct owu_hcd_ops hc_ops = {
    .name = "host",
    .submit = hc_submit,
    .cancel = hc_cancel,
    /* reset_port, set_address: the device host enumerated the device. */
    .set_configuration = hc_set_configuration,
    .claim_interface = hc_claim_interface,
    .release_interface = hc_release_interface,
    .release_device = hc_release_device,
    .shutdown = hc_shutdown,
    .destroy = hc_destroy,
};

struct owu_hcd *owu_devhost_client_create(unsigned bus_number, const char *path, owu_err *err)
{
    struct hc_bus *bus = calloc(1, sizeof *bus);
    if (!bus) {
        owu_fail(err, OWU_E_NOMEM, "out of memory");
        return NULL;
    }
    char def[sizeof bus->path];
    if (!path || !*path) {
        if (owu_devhost_default_socket(def, sizeof def, false, err) != OWU_OK) {
            free(bus);
            return NULL;
        }
        path = def;
    }
    if (strlen(path) >= sizeof bus->path) {
        free(bus);
        owu_fail(err, OWU_E_INVAL, "device host: socket path \"%s\" is too long", path);
        return NULL;
    }
    owu_hcd_init(&bus->hcd, &hc_ops, bus_number, "host");
    bus->hcd.priv = bus;
    snprintf(bus->path, sizeof bus->path, "%s", path);
    pthread_mutex_init(&bus->lock, NULL);
    pthread_cond_init(&bus->cond, NULL);
    return &bus->hcd;
}
