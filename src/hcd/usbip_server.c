/* The USB/IP server: shares devices of the stack (virtual models, usbfs devices) with USB/IP
 * clients, in user space (no usbip-host, no root).
 *
 * Threads: one accept thread; per connection a reader (management PDUs, then CMD_SUBMIT /
 * CMD_UNLINK) and a writer that drains a queue of encoded replies. Device completions only
 * queue their RET_SUBMIT, so a slow client never blocks the device's completion thread, and
 * the reader never blocks on the network while holding anything.
 *
 * Rules (docs/usbip.md): only exported devices are visible; one client per device at a time
 * (a second OP_REQ_IMPORT gets status DEV_BUSY); a malformed PDU closes that connection only;
 * when a connection ends, its URBs are cancelled and waited for, then the device is free
 * again. Like usbip-host, SET_CONFIGURATION, SET_INTERFACE and CLEAR_FEATURE(ENDPOINT_HALT)
 * are carried out through the stack's standard operations, and SET_ADDRESS is answered
 * without reaching the device (our stack addressed it already).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openwinusb/descriptors.h>

#include "core/urb.h"
#include "hcd/usbip.h"

/* Back-pressure: the reader stops taking CMD_SUBMITs while this much is in flight. */
#define SRV_MAX_PENDING 1024u
#define SRV_MAX_PENDING_BYTES (64u * 1024u * 1024u)
#define SRV_STD_TIMEOUT_MS 5000u
/* A connection must send its management request within this time; at most this many
 * connections are served at once (more are closed at once). */
#define SRV_MGMT_TIMEOUT_S 30
#define SRV_MAX_CONNS 128u

struct srv_export {
    struct owu_usb_device *dev;
    struct owu_devinfo *info;        /* our copy of what enumeration learnt */
    char busid[OWU_USBIP_BUSID_SIZE];
    struct srv_conn *owner;          /* NULL: free to import */
};

struct out_msg {
    struct out_msg *next;
    bool hang_up;                    /* after the messages before it: close the connection */
    size_t len;
    uint8_t data[];
};

struct srv_urb {
    struct owu_urb urb;
    struct srv_conn *c;
    uint32_t seqnum;
    bool in;
    int refs;                        /* in flight + a reader cancelling it */
    bool unlink_requested;
    uint32_t unlink_seqnum;
    size_t bytes;
    struct srv_urb *next;
    struct owu_iso_packet *iso;
};

struct srv_conn {
    struct owu_usbip_server *srv;
    int fd;
    pthread_t reader, writer;
    bool writer_started;
    pthread_mutex_t lock;
    pthread_cond_t cond;             /* writer: queue; reader: pending drained */
    struct out_msg *out_head, *out_tail;
    bool closing;                    /* no more replies; writer exits */
    bool dead;                       /* socket failed */
    bool writing;                    /* the writer thread is sending (outside the lock) */
    struct srv_urb *pending;
    unsigned n_pending;
    size_t pending_bytes;
    struct srv_export *exp;
    uint32_t devid;
    /* Endpoint types of the active configuration and alternate settings: [dir][number],
     * 0xFF = no such endpoint. */
    uint8_t ep_type[2][16];
    uint8_t config_value;
    uint8_t alt[256];
    struct srv_conn *next;
};

struct owu_usbip_server {
    pthread_mutex_t lock;
    pthread_cond_t cond;             /* a connection ended */
    struct srv_export *exports;
    size_t num_exports;
    int listen_fd;
    int wake[2];                     /* self-pipe that stops the accept thread */
    pthread_t acceptor;
    bool started;
    bool stopping;
    struct srv_conn *conns;
    unsigned num_conns;
    unsigned protocol_errors;
};

/* ---- device record ---------------------------------------------------------------------- */

static struct owu_config *config_by_value(const struct owu_devinfo *info, uint8_t value)
{
    for (unsigned i = 0; i < info->num_configs; i++) {
        struct owu_config *cfg = NULL;
        if (owu_devinfo_config(info, i, &cfg, NULL) != OWU_OK)
            continue;
        if (cfg->bConfigurationValue == value)
            return cfg;
        owu_config_free(cfg);
    }
    return NULL;
}

int owu_usbip_device_record(struct owu_usb_device *dev, const struct owu_devinfo *info,
                            const char *busid, uint8_t config_value, struct owu_usbip_device *out,
                            owu_err *err)
{
    memset(out, 0, sizeof *out);
    if (!info || info->device_len < OWU_DEVICE_DESC_SIZE)
        return owu_fail(err, OWU_E_NODEV, "%s: not enumerated, cannot be exported", dev->location);
    if (strlen(busid) >= OWU_USBIP_BUSID_SIZE)
        return owu_fail(err, OWU_E_INVAL, "USB/IP busid \"%s\" is longer than 31 characters", busid);
    snprintf(out->busid, sizeof out->busid, "%s", busid);
    snprintf(out->path, sizeof out->path, "/openwinusb/%s", dev->location);
    out->busnum = dev->hcd->bus_number & 0xFFFF;
    out->devnum = (dev->address ? dev->address : dev->port) & 0xFFFF;
    out->speed = owu_usbip_speed_from_owu(dev->speed);
    const uint8_t *d = info->device;
    out->bDeviceClass = d[4];
    out->bDeviceSubClass = d[5];
    out->bDeviceProtocol = d[6];
    out->idVendor = owu_le16(d + 8);
    out->idProduct = owu_le16(d + 10);
    out->bcdDevice = owu_le16(d + 12);
    out->bNumConfigurations = d[17];
    out->bConfigurationValue = config_value;
    struct owu_config *cfg = config_by_value(info, config_value);
    if (!cfg && info->num_configs)
        owu_devinfo_config(info, 0, &cfg, NULL);
    if (cfg) {
        unsigned n = cfg->num_interfaces < OWU_USBIP_MAX_INTERFACES ? cfg->num_interfaces
                                                                     : OWU_USBIP_MAX_INTERFACES;
        out->bNumInterfaces = (uint8_t)n;
        for (unsigned i = 0; i < n; i++) {
            const struct owu_altsetting *a = &cfg->interfaces[i].alts[0];
            out->interfaces[i] = (struct owu_usbip_interface){a->bInterfaceClass,
                                                               a->bInterfaceSubClass,
                                                               a->bInterfaceProtocol};
        }
        owu_config_free(cfg);
    }
    return OWU_OK;
}

/* ---- endpoint table ------------------------------------------------------------------------ */

static void rebuild_endpoints(struct srv_conn *c)
{
    memset(c->ep_type, 0xFF, sizeof c->ep_type);
    struct owu_config *cfg = config_by_value(c->exp->info, c->config_value);
    if (!cfg)
        return;
    for (unsigned i = 0; i < cfg->num_interfaces; i++) {
        const struct owu_interface *intf = &cfg->interfaces[i];
        const struct owu_altsetting *a = owu_interface_find_alt(intf, c->alt[intf->number]);
        if (!a)
            a = &intf->alts[0];
        for (unsigned e = 0; e < a->num_endpoints; e++) {
            uint8_t addr = a->endpoints[e].bEndpointAddress;
            c->ep_type[(addr & 0x80) ? 1 : 0][addr & 0x0F] = a->endpoints[e].bmAttributes & 0x03;
        }
    }
    owu_config_free(cfg);
}

static enum owu_xfer_type xfer_type(uint8_t attr)
{
    switch (attr) {
    case 1: return OWU_XFER_ISOCHRONOUS;
    case 2: return OWU_XFER_BULK;
    case 3: return OWU_XFER_INTERRUPT;
    default: return OWU_XFER_CONTROL;
    }
}

/* ---- the writer ---------------------------------------------------------------------------- */

static struct out_msg *msg_new(size_t len)
{
    struct out_msg *m = malloc(sizeof *m + len);
    if (m) {
        m->next = NULL;
        m->hang_up = false;
        m->len = len;
    }
    return m;
}

/* Sends a reply (takes ownership); dropped when the connection is closing. Lock held. When
 * nothing is queued or being written it goes out directly without blocking; the rest is
 * left to the writer thread, so a device's completion thread never waits for a client. */
static void enqueue_locked(struct srv_conn *c, struct out_msg *m)
{
    if (c->closing || c->dead) {
        free(m);
        return;
    }
    if (!m->hang_up && !c->writing && !c->out_head) {
        size_t n = owu_usbip_send_now(c->fd, m->data, m->len);
        if (n == m->len) {
            free(m);
            return;
        }
        if (n) {
            memmove(m->data, m->data + n, m->len - n);
            m->len -= n;
        }
    }
    if (c->out_tail)
        c->out_tail->next = m;
    else
        c->out_head = m;
    c->out_tail = m;
    pthread_cond_broadcast(&c->cond);
}

static void *writer_main(void *arg)
{
    struct srv_conn *c = arg;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (!c->out_head && !c->closing)
            pthread_cond_wait(&c->cond, &c->lock);
        if (!c->out_head)
            break;
        struct out_msg *list = c->out_head;
        c->out_head = c->out_tail = NULL;
        c->writing = true;
        pthread_mutex_unlock(&c->lock);
        bool failed = false;
        while (list) {
            struct out_msg *next = list->next;
            if (!failed && owu_usbip_write_full(c->fd, list->data, list->len) != OWU_OK)
                failed = true;
            if (list->hang_up)
                failed = true;   /* the device left: the reader sees EOF and cleans up */
            free(list);
            list = next;
        }
        pthread_mutex_lock(&c->lock);
        c->writing = false;
        if (failed) {
            /* The reader learns it from its next recv. */
            c->dead = true;
            shutdown(c->fd, SHUT_RDWR);
        }
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

static void send_simple(struct srv_conn *c, const struct owu_usbip_pdu *p)
{
    struct out_msg *m = msg_new(OWU_USBIP_HEADER_SIZE);
    if (!m)
        return;
    owu_usbip_encode_pdu(m->data, p);
    pthread_mutex_lock(&c->lock);
    enqueue_locked(c, m);
    pthread_mutex_unlock(&c->lock);
}

static void send_ret_submit_status(struct srv_conn *c, uint32_t seqnum, int status)
{
    struct owu_usbip_pdu p = {.command = OWU_USBIP_RET_SUBMIT, .seqnum = seqnum,
                              .status = owu_usbip_status_to_errno(status), .number_of_packets = -1};
    send_simple(c, &p);
}

/* ---- URB completion ------------------------------------------------------------------------- */

static void srv_urb_unref_locked(struct srv_conn *c, struct srv_urb *su)
{
    if (--su->refs > 0)
        return;
    free(su->urb.buffer);
    free(su->iso);
    free(su);
    (void)c;
}

/* Builds RET_SUBMIT for a finished URB: IN data (ISO: packed packet by packet), then ISO
 * descriptors. */
static struct out_msg *build_ret_submit(struct srv_urb *su)
{
    struct owu_urb *u = &su->urb;
    uint32_t np = u->type == OWU_XFER_ISOCHRONOUS ? u->num_iso_packets : 0;
    /* actual_length counts OUT bytes too; only IN data travels. ISO: the packets' sum. */
    size_t actual = u->actual;
    if (np) {
        actual = 0;
        for (uint32_t i = 0; i < np; i++)
            actual += u->iso[i].actual;
    }
    size_t data = su->in ? actual : 0;
    struct out_msg *m = msg_new(OWU_USBIP_HEADER_SIZE + data + (size_t)np * OWU_USBIP_ISO_DESC_SIZE);
    if (!m)
        return NULL;
    struct owu_usbip_pdu p = {.command = OWU_USBIP_RET_SUBMIT, .seqnum = su->seqnum,
                              .status = owu_usbip_status_to_errno(u->status),
                              .actual_length = (uint32_t)actual,
                              .start_frame = np ? (int32_t)u->start_frame : 0,
                              .number_of_packets = np ? (int32_t)np : -1};
    uint8_t *w = m->data + OWU_USBIP_HEADER_SIZE;
    if (np) {
        struct owu_usbip_iso_desc d[1];
        int errors = 0;
        for (uint32_t i = 0; i < np; i++) {
            if (su->in) {
                memcpy(w, u->buffer + u->iso[i].offset, u->iso[i].actual);
                w += u->iso[i].actual;
            }
            if (u->iso[i].status != OWU_OK)
                errors++;
        }
        p.error_count = errors;
        for (uint32_t i = 0; i < np; i++) {
            d[0] = (struct owu_usbip_iso_desc){u->iso[i].offset, u->iso[i].length, u->iso[i].actual,
                                               owu_usbip_status_to_errno(u->iso[i].status)};
            owu_usbip_encode_iso(w + 16 * (size_t)i, d, 1);
        }
    } else if (data) {
        memcpy(w, u->buffer, data);
    }
    owu_usbip_encode_pdu(m->data, &p);
    return m;
}

static void srv_complete(struct owu_urb *urb)
{
    struct srv_urb *su = urb->context;
    struct srv_conn *c = su->c;
    struct out_msg *ret = NULL, *unl = NULL;
    /* unlink_requested only ever turns true: if it does after this look, the RET_SUBMIT goes
     * out followed by RET_UNLINK 0 (the "already completed" answer), which is just as right. */
    pthread_mutex_lock(&c->lock);
    bool unlinked = su->unlink_requested && urb->status == OWU_E_CANCELLED;
    pthread_mutex_unlock(&c->lock);
    if (unlinked) {
        unl = msg_new(OWU_USBIP_HEADER_SIZE);
        if (unl) {
            struct owu_usbip_pdu p = {.command = OWU_USBIP_RET_UNLINK, .seqnum = su->unlink_seqnum,
                                      .status = -ECONNRESET};
            owu_usbip_encode_pdu(unl->data, &p);
        }
    } else {
        ret = build_ret_submit(su);
    }
    pthread_mutex_lock(&c->lock);
    for (struct srv_urb **pp = &c->pending; *pp; pp = &(*pp)->next) {
        if (*pp == su) {
            *pp = su->next;
            break;
        }
    }
    c->n_pending--;
    c->pending_bytes -= su->bytes;
    if (ret)
        enqueue_locked(c, ret);
    if (unl)
        enqueue_locked(c, unl);
    if (urb->status == OWU_E_NODEV) {
        /* The exported device left: after this reply the connection ends, as with
         * usbip-host, so that the client reports the device gone. */
        struct out_msg *bye = msg_new(0);
        if (bye) {
            bye->hang_up = true;
            enqueue_locked(c, bye);
        }
    }
    /* An unlink that lost the race: the target's RET_SUBMIT went first, now RET_UNLINK 0. */
    if (su->unlink_requested && !unlinked) {
        struct out_msg *m = msg_new(OWU_USBIP_HEADER_SIZE);
        if (m) {
            struct owu_usbip_pdu p = {.command = OWU_USBIP_RET_UNLINK, .seqnum = su->unlink_seqnum};
            owu_usbip_encode_pdu(m->data, &p);
            enqueue_locked(c, m);
        }
    }
    srv_urb_unref_locked(c, su);
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

/* ---- the reader: URB phase ------------------------------------------------------------------ */

/* Standard requests that change device state go through the stack's operations. Returns
 * true when the request was handled here (its RET_SUBMIT queued). */
static bool intercept_control(struct srv_conn *c, uint32_t seqnum, const struct owu_setup *s)
{
    struct owu_usb_device *dev = c->exp->dev;
    int rc;
    if (s->bmRequestType == (OWU_DIR_OUT | OWU_TYPE_STANDARD | OWU_RECIP_DEVICE) &&
        s->bRequest == OWU_REQ_SET_ADDRESS) {
        rc = OWU_OK;   /* the device has its address from our own enumeration */
    } else if (s->bmRequestType == (OWU_DIR_OUT | OWU_TYPE_STANDARD | OWU_RECIP_DEVICE) &&
               s->bRequest == OWU_REQ_SET_CONFIGURATION) {
        rc = owu_dev_set_configuration(dev, s->wValue & 0xFF, SRV_STD_TIMEOUT_MS);
        if (rc == OWU_OK) {
            c->config_value = (uint8_t)s->wValue;
            memset(c->alt, 0, sizeof c->alt);
            rebuild_endpoints(c);
        }
    } else if (s->bmRequestType == (OWU_DIR_OUT | OWU_TYPE_STANDARD | OWU_RECIP_INTERFACE) &&
               s->bRequest == OWU_REQ_SET_INTERFACE) {
        rc = owu_dev_set_interface(dev, (uint8_t)s->wIndex, (uint8_t)s->wValue, SRV_STD_TIMEOUT_MS);
        if (rc == OWU_OK) {
            c->alt[s->wIndex & 0xFF] = (uint8_t)s->wValue;
            rebuild_endpoints(c);
        }
    } else if (s->bmRequestType == (OWU_DIR_OUT | OWU_TYPE_STANDARD | OWU_RECIP_ENDPOINT) &&
               s->bRequest == OWU_REQ_CLEAR_FEATURE && s->wValue == OWU_FEAT_ENDPOINT_HALT) {
        rc = owu_dev_clear_halt(dev, (uint8_t)s->wIndex, SRV_STD_TIMEOUT_MS);
    } else {
        return false;
    }
    send_ret_submit_status(c, seqnum, rc);
    return true;
}

static int fail_conn(struct srv_conn *c, owu_err *err)
{
    pthread_mutex_lock(&c->srv->lock);
    c->srv->protocol_errors++;
    pthread_mutex_unlock(&c->srv->lock);
    fprintf(stderr, "openwinusb export: %s: closing the connection: %s\n", c->exp->busid, err->msg);
    return OWU_E_PARSE;
}

/* Reads the payload of a CMD_SUBMIT and starts the URB. Returns OWU_OK to go on, or a
 * status that closes the connection. */
static int handle_submit(struct srv_conn *c, const struct owu_usbip_pdu *p)
{
    owu_err err = {0};
    uint32_t np = owu_usbip_iso_count(p);
    bool in = p->direction == OWU_USBIP_DIR_IN;
    if (p->devid != c->devid) {
        owu_fail(&err, OWU_E_PARSE, "CMD_SUBMIT seq %u: devid 0x%08X is not the imported device's 0x%08X",
                 p->seqnum, p->devid, c->devid);
        return fail_conn(c, &err);
    }
    struct srv_urb *su = calloc(1, sizeof *su);
    uint8_t *buf = p->transfer_buffer_length ? malloc(p->transfer_buffer_length) : NULL;
    struct owu_iso_packet *iso = np ? calloc(np, sizeof *iso) : NULL;
    uint8_t *isobuf = np ? malloc((size_t)np * OWU_USBIP_ISO_DESC_SIZE) : NULL;
    struct owu_usbip_iso_desc *desc = np ? calloc(np, sizeof *desc) : NULL;
    int rc = OWU_OK;
    if (!su || (p->transfer_buffer_length && !buf) || (np && (!iso || !isobuf || !desc))) {
        rc = OWU_E_NOMEM;
        goto out;
    }
    if (!in && p->transfer_buffer_length &&
        (rc = owu_usbip_read_full(c->fd, buf, p->transfer_buffer_length)) != OWU_OK)
        goto out;
    if (np) {
        if ((rc = owu_usbip_read_full(c->fd, isobuf, (size_t)np * OWU_USBIP_ISO_DESC_SIZE)) != OWU_OK)
            goto out;
        if (owu_usbip_decode_iso(isobuf, (size_t)np * OWU_USBIP_ISO_DESC_SIZE, np,
                                 p->transfer_buffer_length, false, in, 0, desc, &err) != OWU_OK) {
            rc = fail_conn(c, &err);
            goto out;
        }
        for (uint32_t i = 0; i < np; i++)
            iso[i] = (struct owu_iso_packet){desc[i].offset, desc[i].length, 0, OWU_E_PENDING};
    }

    struct owu_urb *u = &su->urb;
    u->dev = c->exp->dev;
    u->buffer = buf;
    u->length = p->transfer_buffer_length;
    u->complete = srv_complete;
    u->context = su;
    su->c = c;
    su->seqnum = p->seqnum;
    su->in = in;
    su->refs = 1;
    su->bytes = p->transfer_buffer_length;
    if (p->ep == 0) {
        u->type = OWU_XFER_CONTROL;
        owu_setup_unpack(p->setup, &u->setup);
        u->length = u->setup.wLength;
        if (intercept_control(c, p->seqnum, &u->setup)) {
            free(buf);
            free(su);
            buf = NULL;
            su = NULL;
            goto out;
        }
    } else {
        uint8_t t = c->ep_type[in ? 1 : 0][p->ep];
        if (t == 0xFF || t == 0) {
            /* No such endpoint in the active settings: answer as a stall, like a device
             * would, instead of tearing the link down as usbip-host does. */
            send_ret_submit_status(c, p->seqnum, OWU_E_STALL);
            goto out;
        }
        u->type = xfer_type(t);
        u->endpoint = (uint8_t)(p->ep | (in ? 0x80 : 0));
        if ((u->type == OWU_XFER_ISOCHRONOUS) != (np > 0)) {
            owu_fail(&err, OWU_E_PARSE, "CMD_SUBMIT seq %u: %u ISO packets for a%s endpoint 0x%02X",
                     p->seqnum, np, u->type == OWU_XFER_ISOCHRONOUS ? "n isochronous" : " non-isochronous",
                     u->endpoint);
            rc = fail_conn(c, &err);
            goto out;
        }
        if (np) {
            u->num_iso_packets = np;
            u->iso = iso;
            su->iso = iso;
            iso = NULL;
            u->start_frame = (uint32_t)p->start_frame;
        }
        if (in && (p->transfer_flags & OWU_USBIP_URB_SHORT_NOT_OK))
            u->flags |= OWU_URB_SHORT_NOT_OK;
        if (!in && (p->transfer_flags & OWU_USBIP_URB_ZERO_PACKET))
            u->flags |= OWU_URB_ZERO_PACKET;
        if (p->transfer_flags & OWU_USBIP_URB_ISO_ASAP)
            u->flags |= OWU_URB_ISO_ASAP;
    }
    if (in && buf)
        memset(buf, 0, p->transfer_buffer_length);

    pthread_mutex_lock(&c->lock);
    su->next = c->pending;
    c->pending = su;
    c->n_pending++;
    c->pending_bytes += su->bytes;
    pthread_mutex_unlock(&c->lock);
    int src = owu_urb_submit(u);
    if (src != OWU_OK) {
        pthread_mutex_lock(&c->lock);
        for (struct srv_urb **pp = &c->pending; *pp; pp = &(*pp)->next)
            if (*pp == su) {
                *pp = su->next;
                break;
            }
        c->n_pending--;
        c->pending_bytes -= su->bytes;
        pthread_mutex_unlock(&c->lock);
        send_ret_submit_status(c, p->seqnum, src);
        free(su->iso);
        free(buf);
        free(su);
        buf = NULL;
        su = NULL;
        if (src == OWU_E_NODEV)
            rc = OWU_E_NODEV;   /* the device left: end the connection as usbip-host does */
    } else {
        buf = NULL;
        su = NULL;
    }
out:
    free(su);
    free(buf);
    free(iso);
    free(isobuf);
    free(desc);
    return rc;
}

static void handle_unlink(struct srv_conn *c, const struct owu_usbip_pdu *p)
{
    pthread_mutex_lock(&c->lock);
    struct srv_urb *su = c->pending;
    while (su && su->seqnum != p->unlink_seqnum)
        su = su->next;
    if (!su || su->unlink_requested) {
        /* Already finished: its RET_SUBMIT is queued ahead of this reply. */
        struct out_msg *m = msg_new(OWU_USBIP_HEADER_SIZE);
        if (m) {
            struct owu_usbip_pdu r = {.command = OWU_USBIP_RET_UNLINK, .seqnum = p->seqnum};
            owu_usbip_encode_pdu(m->data, &r);
            enqueue_locked(c, m);
        }
        pthread_mutex_unlock(&c->lock);
        return;
    }
    su->unlink_requested = true;
    su->unlink_seqnum = p->seqnum;
    su->refs++;
    pthread_mutex_unlock(&c->lock);
    owu_urb_cancel(&su->urb);   /* the completion sends the right replies */
    pthread_mutex_lock(&c->lock);
    srv_urb_unref_locked(c, su);
    pthread_mutex_unlock(&c->lock);
}

/* Waits (back-pressure) until there is room for more URBs. */
/* Waits (back-pressure) until there is room for more URBs. Returns false when the client
 * hung up meanwhile: URBs that never complete must not keep a departed client's device
 * busy, so the socket is checked every 100 ms while waiting. */
static bool wait_room(struct srv_conn *c)
{
    bool alive = true;
    pthread_mutex_lock(&c->lock);
    while ((c->n_pending >= SRV_MAX_PENDING || c->pending_bytes >= SRV_MAX_PENDING_BYTES) && !c->dead) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (pthread_cond_timedwait(&c->cond, &c->lock, &ts) == 0)
            continue;
        struct pollfd pf = {c->fd, POLLRDHUP, 0};
        if (poll(&pf, 1, 0) > 0 && (pf.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
            alive = false;
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return alive;
}

static void urb_phase(struct srv_conn *c)
{
    uint8_t hdr[OWU_USBIP_HEADER_SIZE];
    for (;;) {
        if (!wait_room(c) || owu_usbip_read_full(c->fd, hdr, sizeof hdr) != OWU_OK)
            return;
        struct owu_usbip_pdu p;
        owu_err err = {0};
        if (owu_usbip_decode_pdu(hdr, sizeof hdr, &p, &err) != OWU_OK) {
            fail_conn(c, &err);
            return;
        }
        if (p.command == OWU_USBIP_CMD_SUBMIT) {
            if (handle_submit(c, &p) != OWU_OK)
                return;
        } else if (p.command == OWU_USBIP_CMD_UNLINK) {
            handle_unlink(c, &p);
        } else {
            owu_fail(&err, OWU_E_PARSE, "%s seq %u sent by a client", owu_usbip_command_name(p.command),
                     p.seqnum);
            fail_conn(c, &err);
            return;
        }
    }
}

/* Cancels whatever the connection still has in flight and waits for every completion. */
static void drain(struct srv_conn *c)
{
    pthread_mutex_lock(&c->lock);
    c->closing = true;   /* replies from now on are dropped */
    pthread_cond_broadcast(&c->cond);
    while (c->pending) {
        struct srv_urb *su = c->pending;
        while (su && su->unlink_requested)
            su = su->next;
        if (!su) {
            /* Everything left is being cancelled: wait for the completions. */
            pthread_cond_wait(&c->cond, &c->lock);
            continue;
        }
        su->unlink_requested = true;
        su->refs++;
        pthread_mutex_unlock(&c->lock);
        owu_urb_cancel(&su->urb);
        pthread_mutex_lock(&c->lock);
        srv_urb_unref_locked(c, su);
    }
    pthread_mutex_unlock(&c->lock);
}

/* ---- the reader: management phase ------------------------------------------------------------ */

static struct srv_export *find_export(struct owu_usbip_server *srv, const char *busid)
{
    for (size_t i = 0; i < srv->num_exports; i++)
        if (strcmp(srv->exports[i].busid, busid) == 0)
            return &srv->exports[i];
    return NULL;
}

static uint8_t current_config(struct owu_usb_device *dev, const struct owu_devinfo *info)
{
    uint8_t value = 0;
    int n = owu_control_sync(dev, OWU_DIR_IN | OWU_TYPE_STANDARD | OWU_RECIP_DEVICE,
                             OWU_REQ_GET_CONFIGURATION, 0, 0, &value, 1, SRV_STD_TIMEOUT_MS);
    if (n == 1)
        return value;
    return info->num_configs ? info->configs[0].data[5] : 0;
}

static void reply_devlist(struct srv_conn *c)
{
    struct owu_usbip_server *srv = c->srv;
    pthread_mutex_lock(&srv->lock);
    size_t n = srv->num_exports;
    struct owu_usbip_device *devs = calloc(n ? n : 1, sizeof *devs);
    size_t k = 0;
    for (size_t i = 0; devs && i < n; i++) {
        struct owu_usb_device *dev = srv->exports[i].dev;
        if (owu_usb_device_gone(dev))
            continue;
        const struct owu_devinfo *info = srv->exports[i].info;
        uint8_t cfg = info->num_configs ? info->configs[0].data[5] : 0;
        if (owu_usbip_device_record(dev, info, srv->exports[i].busid, cfg, &devs[k], NULL) == OWU_OK)
            k++;
    }
    pthread_mutex_unlock(&srv->lock);
    uint8_t *buf = NULL;
    size_t len = 0;
    if (devs && owu_usbip_encode_devlist(devs, k, &buf, &len, NULL) == OWU_OK)
        owu_usbip_write_full(c->fd, buf, len);
    free(buf);
    free(devs);
}

/* Returns true when the connection now carries URBs of an imported device. */
static bool handle_import(struct srv_conn *c, const uint8_t head[8])
{
    uint8_t req[OWU_USBIP_REQ_IMPORT_SIZE];
    memcpy(req, head, 8);
    if (owu_usbip_read_full(c->fd, req + 8, sizeof req - 8) != OWU_OK)
        return false;
    char busid[OWU_USBIP_BUSID_SIZE];
    owu_err err = {0};
    uint8_t rep[OWU_USBIP_REP_IMPORT_SIZE];
    if (owu_usbip_decode_req_import(req, sizeof req, busid, &err) != OWU_OK) {
        pthread_mutex_lock(&c->srv->lock);
        c->srv->protocol_errors++;
        pthread_mutex_unlock(&c->srv->lock);
        fprintf(stderr, "openwinusb export: closing a connection: %s\n", err.msg);
        int n = owu_usbip_encode_rep_import(rep, OWU_USBIP_ST_ERROR, NULL, NULL);
        owu_usbip_write_full(c->fd, rep, (size_t)n);
        return false;
    }
    struct owu_usbip_server *srv = c->srv;
    pthread_mutex_lock(&srv->lock);
    struct srv_export *e = find_export(srv, busid);
    uint32_t status = OWU_USBIP_ST_OK;
    if (!e || owu_usb_device_gone(e->dev))
        status = OWU_USBIP_ST_NODEV;
    else if (e->owner)
        status = OWU_USBIP_ST_DEV_BUSY;
    else
        e->owner = c;
    pthread_mutex_unlock(&srv->lock);
    if (status != OWU_USBIP_ST_OK) {
        int n = owu_usbip_encode_rep_import(rep, status, NULL, NULL);
        owu_usbip_write_full(c->fd, rep, (size_t)n);
        return false;
    }
    c->exp = e;
    c->config_value = current_config(e->dev, e->info);
    rebuild_endpoints(c);
    struct owu_usbip_device rec;
    if (owu_usbip_device_record(e->dev, e->info, e->busid, c->config_value, &rec, &err) != OWU_OK)
        status = OWU_USBIP_ST_DEV_ERR;
    c->devid = rec.busnum << 16 | rec.devnum;
    int n = owu_usbip_encode_rep_import(rep, status, &rec, &err);
    if (n < 0 || owu_usbip_write_full(c->fd, rep, (size_t)n) != OWU_OK || status != OWU_USBIP_ST_OK)
        return false;
    return true;
}

static void conn_free(struct srv_conn *c)
{
    struct out_msg *m = c->out_head;
    while (m) {
        struct out_msg *next = m->next;
        free(m);
        m = next;
    }
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static void *reader_main(void *arg)
{
    struct srv_conn *c = arg;
    struct owu_usbip_server *srv = c->srv;
    uint8_t head[OWU_USBIP_OP_HEADER_SIZE];
    struct owu_usbip_op_header h;
    owu_err err = {0};
    if (owu_usbip_read_full(c->fd, head, sizeof head) == OWU_OK) {
        if (owu_usbip_decode_op_header(head, sizeof head, 0, &h, &err) != OWU_OK ||
            (h.code != OWU_USBIP_OP_REQ_DEVLIST && h.code != OWU_USBIP_OP_REQ_IMPORT)) {
            if (err.msg[0] == '\0')
                owu_fail(&err, OWU_E_PARSE, "USB/IP: code 0x%04X at offset 2 is not a request", h.code);
            pthread_mutex_lock(&srv->lock);
            srv->protocol_errors++;
            pthread_mutex_unlock(&srv->lock);
            fprintf(stderr, "openwinusb export: closing a connection: %s\n", err.msg);
        } else if (h.code == OWU_USBIP_OP_REQ_DEVLIST) {
            reply_devlist(c);
        } else if (handle_import(c, head)) {
            /* URB traffic may pause for as long as the client likes. */
            struct timeval none = {0};
            setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
            if (pthread_create(&c->writer, NULL, writer_main, c) == 0) {
                c->writer_started = true;
                urb_phase(c);
            }
            /* The client left or misbehaved: nothing more is read or sent. */
            shutdown(c->fd, SHUT_RDWR);
            drain(c);
            if (c->writer_started) {
                /* Let the writer flush what is queued before the socket closes. */
                pthread_join(c->writer, NULL);
            }
        }
    }
    pthread_mutex_lock(&srv->lock);
    if (c->exp && c->exp->owner == c)
        c->exp->owner = NULL;
    for (struct srv_conn **pp = &srv->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            srv->num_conns--;
            break;
        }
    pthread_cond_broadcast(&srv->cond);
    pthread_mutex_unlock(&srv->lock);
    close(c->fd);
    conn_free(c);
    return NULL;
}

/* ---- accepting ------------------------------------------------------------------------------- */

static void *accept_main(void *arg)
{
    struct owu_usbip_server *srv = arg;
    for (;;) {
        struct pollfd pf[2] = {{srv->listen_fd, POLLIN, 0}, {srv->wake[0], POLLIN, 0}};
        if (poll(pf, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pf[1].revents)
            break;
        if (!(pf[0].revents & POLLIN))
            continue;
        int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        struct srv_conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->srv = srv;
        c->fd = fd;
        pthread_mutex_init(&c->lock, NULL);
        pthread_cond_init(&c->cond, NULL);
        pthread_mutex_lock(&srv->lock);
        if (srv->stopping) {
            pthread_mutex_unlock(&srv->lock);
            close(fd);
            conn_free(c);
            break;
        }
        if (srv->num_conns >= SRV_MAX_CONNS) {
            pthread_mutex_unlock(&srv->lock);
            close(fd);
            conn_free(c);
            continue;
        }
        struct timeval tv = {.tv_sec = SRV_MGMT_TIMEOUT_S};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        c->next = srv->conns;
        srv->conns = c;
        srv->num_conns++;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&c->reader, &attr, reader_main, c) != 0) {
            srv->conns = c->next;
            srv->num_conns--;
            close(fd);
            conn_free(c);
        }
        pthread_attr_destroy(&attr);
        pthread_mutex_unlock(&srv->lock);
    }
    return NULL;
}

/* ---- public ----------------------------------------------------------------------------------- */

struct owu_usbip_server *owu_usbip_server_new(owu_err *err)
{
    struct owu_usbip_server *srv = calloc(1, sizeof *srv);
    if (!srv) {
        owu_fail(err, OWU_E_NOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&srv->lock, NULL);
    pthread_cond_init(&srv->cond, NULL);
    srv->listen_fd = -1;
    srv->wake[0] = srv->wake[1] = -1;
    return srv;
}

int owu_usbip_server_export(struct owu_usbip_server *srv, struct owu_usb_device *dev,
                            const struct owu_devinfo *info, const char *busid, owu_err *err)
{
    if (!dev || !busid || !*busid)
        return owu_fail(err, OWU_E_INVAL, "USB/IP export: no device or busid");
    if (strlen(busid) >= OWU_USBIP_BUSID_SIZE)
        return owu_fail(err, OWU_E_INVAL, "USB/IP export: busid \"%s\" is longer than 31 characters", busid);
    if (!info || info->device_len < OWU_DEVICE_DESC_SIZE || info->failure != OWU_FAIL_NONE)
        return owu_fail(err, OWU_E_NODEV, "USB/IP export: %s was not enumerated successfully",
                        dev->location);
    pthread_mutex_lock(&srv->lock);
    if (srv->started) {
        pthread_mutex_unlock(&srv->lock);
        return owu_fail(err, OWU_E_BUSY, "USB/IP export: add devices before the server starts");
    }
    if (find_export(srv, busid)) {
        pthread_mutex_unlock(&srv->lock);
        return owu_fail(err, OWU_E_BUSY, "USB/IP export: busid \"%s\" is exported already", busid);
    }
    struct owu_devinfo *copy = owu_devinfo_clone(info);
    struct srv_export *grown = copy ? realloc(srv->exports, (srv->num_exports + 1) * sizeof *grown) : NULL;
    if (!grown) {
        owu_devinfo_free(copy);
        pthread_mutex_unlock(&srv->lock);
        return owu_fail(err, OWU_E_NOMEM, "out of memory");
    }
    srv->exports = grown;
    struct srv_export *e = &srv->exports[srv->num_exports++];
    memset(e, 0, sizeof *e);
    owu_usb_device_ref(dev);
    e->dev = dev;
    e->info = copy;
    snprintf(e->busid, sizeof e->busid, "%s", busid);
    pthread_mutex_unlock(&srv->lock);
    return OWU_OK;
}

int owu_usbip_server_start(struct owu_usbip_server *srv, const char *addr, unsigned port,
                           unsigned *bound_port, owu_err *err)
{
    if (srv->started)
        return owu_fail(err, OWU_E_BUSY, "USB/IP server already started");
    int fd = owu_usbip_listen(addr, port, bound_port, err);
    if (fd < 0)
        return fd;
    if (pipe2(srv->wake, O_CLOEXEC) != 0) {
        close(fd);
        return owu_fail(err, OWU_E_IO, "USB/IP server: pipe: %s", strerror(errno));
    }
    srv->listen_fd = fd;
    if (pthread_create(&srv->acceptor, NULL, accept_main, srv) != 0) {
        close(fd);
        close(srv->wake[0]);
        close(srv->wake[1]);
        srv->listen_fd = srv->wake[0] = srv->wake[1] = -1;
        return owu_fail(err, OWU_E_NOMEM, "USB/IP server: cannot start the accept thread");
    }
    pthread_mutex_lock(&srv->lock);
    srv->started = true;
    pthread_mutex_unlock(&srv->lock);
    return OWU_OK;
}

void owu_usbip_server_drop_clients(struct owu_usbip_server *srv)
{
    pthread_mutex_lock(&srv->lock);
    while (srv->conns) {
        /* Again on every pass: a client may have connected meanwhile. */
        for (struct srv_conn *c = srv->conns; c; c = c->next)
            shutdown(c->fd, SHUT_RDWR);
        pthread_cond_wait(&srv->cond, &srv->lock);
    }
    pthread_mutex_unlock(&srv->lock);
}

unsigned owu_usbip_server_protocol_errors(struct owu_usbip_server *srv)
{
    pthread_mutex_lock(&srv->lock);
    unsigned n = srv->protocol_errors;
    pthread_mutex_unlock(&srv->lock);
    return n;
}

unsigned owu_usbip_server_busy_count(struct owu_usbip_server *srv)
{
    pthread_mutex_lock(&srv->lock);
    unsigned n = 0;
    for (size_t i = 0; i < srv->num_exports; i++)
        n += srv->exports[i].owner != NULL;
    pthread_mutex_unlock(&srv->lock);
    return n;
}

void owu_usbip_server_free(struct owu_usbip_server *srv)
{
    if (!srv)
        return;
    pthread_mutex_lock(&srv->lock);
    srv->stopping = true;
    bool started = srv->started;
    pthread_mutex_unlock(&srv->lock);
    if (started) {
        ssize_t w = write(srv->wake[1], "x", 1);
        (void)w;
        pthread_join(srv->acceptor, NULL);
        close(srv->listen_fd);
        close(srv->wake[0]);
        close(srv->wake[1]);
    }
    owu_usbip_server_drop_clients(srv);
    for (size_t i = 0; i < srv->num_exports; i++) {
        owu_usb_device_unref(srv->exports[i].dev);
        owu_devinfo_free(srv->exports[i].info);
    }
    free(srv->exports);
    pthread_cond_destroy(&srv->cond);
    pthread_mutex_destroy(&srv->lock);
    free(srv);
}
