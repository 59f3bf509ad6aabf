/* The USB/IP server: shares devices of the stack (virtual models, usbfs devices) with USB/IP
 * clients, in user space (no usbip-host, no root). One engine, two modes:
 *
 *   exclusive  a TCP listener (`openwinusb export`, docs/usbip.md): OP_REQ_IMPORT, one client
 *              per device at a time (a second import gets status DEV_BUSY);
 *   shared     a Unix-domain listener (`openwinusb host`, docs/device-host.md): the shared
 *              import 0x8F03, several clients per device, and per-interface claims (extension
 *              ops CLAIM / RELEASE, carried out with owu_dev_claim_interface on the real device,
 *              so the claim bitmap is the one the rest of the stack respects). A client may use
 *              the endpoints of the interfaces it claimed and send them interface- or
 *              endpoint-addressed control requests; standard read-only requests are always
 *              allowed.
 *
 * Threads: one accept thread; per connection a reader (management PDUs, then CMD_SUBMIT /
 * CMD_UNLINK and, shared, the extension ops) and a writer that drains a queue of encoded
 * replies. A completion sends its reply at once when the socket takes it without blocking,
 * else queues it, so a slow client never blocks the device's completion thread.
 *
 * A malformed PDU closes that connection only; when a connection ends, its URBs are cancelled
 * and waited for, then its claims released and the device is free again. Like usbip-host,
 * SET_CONFIGURATION, SET_INTERFACE and CLEAR_FEATURE(ENDPOINT_HALT) are carried out through
 * the stack's standard operations, and SET_ADDRESS is answered without reaching the device
 * (our stack addressed it already).
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
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openwinusb/descriptors.h>
#include <openwinusb/devinfo.h>
#include <openwinusb/pnp.h>
#include <openwinusb/stack.h>

#include "core/urb.h"
#include "hcd/usbip.h"

/* Back-pressure: the reader stops taking PDUs while this much is in flight or queued. */
#define SRV_MAX_PENDING 1024u
#define SRV_MAX_PENDING_BYTES (64u * 1024u * 1024u)
#define SRV_MAX_QUEUED_BYTES (8u * 1024u * 1024u)   /* replies not yet written */
#define SRV_STD_TIMEOUT_MS 5000u
/* A connection must send its management request within this time; at most this many
 * connections are served at once (more are closed at once). */
#define SRV_MGMT_TIMEOUT_S 30
#define SRV_MAX_CONNS 128u
#define SRV_LOCAL_MGMT_TIMEOUT_S 10
#define SRV_LOCAL_MAX_CONNS 256u
#define SRV_NO_INTF 0xFFFFu

struct srv_conn;

struct srv_export {
    struct owu_usb_device *dev;
    struct owu_devinfo *info;        /* our copy of what enumeration learnt */
    char busid[OWU_USBIP_BUSID_SIZE];
    struct srv_conn *owner;          /* exclusive mode: the importer; NULL: free */
    /* Device state, under the server lock. Endpoints of the active configuration and
     * alternate settings: [dir][number]; type 0xFF = no such endpoint. */
    uint8_t config_value;
    uint8_t alt[256];
    uint16_t ep_intf[2][16];         /* interface of the endpoint, SRV_NO_INTF: none */
    uint8_t ep_type[2][16];
    bool intf_exists[256];
    struct srv_conn *claim[256];     /* shared mode: interface claims */
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
    struct srv_urb *next, **pprev;   /* the connection's pending list */
};

struct srv_conn {
    struct owu_usbip_server *srv;
    int fd;
    pthread_t reader, writer;
    bool writer_started;
    pthread_mutex_t lock;
    pthread_cond_t cond;             /* writer: queue; reader: room */
    struct owu_usbip_outq out;       /* replies */
    bool closing;                    /* no more replies; writer exits */
    bool dead;                       /* socket failed */
    struct srv_urb *pending;
    unsigned n_pending;
    size_t pending_bytes;
    struct srv_export *exp;
    uint32_t devid;
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
    bool shared;                     /* device host mode (start_local) */
    struct srv_conn *conns;
    unsigned num_conns;
    unsigned protocol_errors;
    char path[sizeof ((struct sockaddr_un *)0)->sun_path];   /* Unix socket to remove */
};

/* The command serving, for messages. */
static const char *who(const struct owu_usbip_server *srv)
{
    return srv->shared ? "openwinusb host" : "openwinusb export";
}

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

/* Server lock held (or not started yet). */
static void rebuild_endpoints(struct srv_export *e)
{
    for (unsigned i = 0; i < 2; i++)
        for (unsigned n = 0; n < 16; n++)
            e->ep_intf[i][n] = SRV_NO_INTF;
    memset(e->ep_type, 0xFF, sizeof e->ep_type);
    memset(e->intf_exists, 0, sizeof e->intf_exists);
    struct owu_config *cfg = config_by_value(e->info, e->config_value);
    if (!cfg)
        return;
    for (unsigned i = 0; i < cfg->num_interfaces; i++) {
        const struct owu_interface *intf = &cfg->interfaces[i];
        e->intf_exists[intf->number] = true;
        const struct owu_altsetting *a = owu_interface_find_alt(intf, e->alt[intf->number]);
        if (!a)
            a = &intf->alts[0];
        for (unsigned k = 0; k < a->num_endpoints; k++) {
            uint8_t addr = a->endpoints[k].bEndpointAddress;
            e->ep_intf[(addr & 0x80) ? 1 : 0][addr & 0x0F] = intf->number;
            e->ep_type[(addr & 0x80) ? 1 : 0][addr & 0x0F] = a->endpoints[k].bmAttributes & 0x03;
        }
    }
    owu_config_free(cfg);
}

static uint8_t current_config(struct owu_usb_device *dev, const struct owu_devinfo *info)
{
    uint8_t value = 0;
    int n = owu_control_sync(dev, OWU_DIR_IN | OWU_TYPE_STANDARD | OWU_RECIP_DEVICE,
                             OWU_REQ_GET_CONFIGURATION, 0, 0, &value, 1, SRV_STD_TIMEOUT_MS);
    if (n == 1)
        return value;
    return info->num_configs && info->configs[0].len > 5 ? info->configs[0].data[5] : 0;
}

/* ---- the writer ---------------------------------------------------------------------------- */

/* Sends a reply (takes ownership); dropped when the connection is closing. Lock held. A
 * device's completion thread never waits for a client: what the socket does not take at once
 * is left to the writer thread. */
static void enqueue_locked(struct srv_conn *c, struct owu_usbip_msg *m)
{
    if (c->closing || c->dead) {
        free(m);
        return;
    }
    owu_usbip_outq_send(&c->out, c->fd, &c->cond, m);
}

static void enqueue(struct srv_conn *c, struct owu_usbip_msg *m)
{
    pthread_mutex_lock(&c->lock);
    enqueue_locked(c, m);
    pthread_mutex_unlock(&c->lock);
}

static void *writer_main(void *arg)
{
    struct srv_conn *c = arg;
    pthread_mutex_lock(&c->lock);
    /* Writes what was queued before closing. A failed write or a hang-up marker (the device
     * left) marks the connection dead and shuts the socket down: the reader sees EOF and
     * cleans up. Each batch written wakes a reader waiting for room. */
    owu_usbip_outq_run(&c->out, c->fd, &c->lock, &c->cond, &c->closing, true, &c->dead);
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

/* RET_SUBMIT of a request that never became an URB (refused or failed to submit). A refused
 * ISO request still answers with its packets, every one failed: the client checks the count
 * (number_of_packets -1 would be a protocol error for it). */
static void send_ret_status(struct srv_conn *c, uint32_t seqnum, int status, uint32_t np,
                            const struct owu_usbip_iso_desc *req)
{
    struct owu_usbip_msg *m = owu_usbip_msg_new(OWU_USBIP_HEADER_SIZE + (size_t)np * OWU_USBIP_ISO_DESC_SIZE);
    if (!m)
        return;
    int32_t e = owu_usbip_status_to_errno(status);
    struct owu_usbip_pdu p = {.command = OWU_USBIP_RET_SUBMIT, .seqnum = seqnum, .status = e,
                              .number_of_packets = np ? (int32_t)np : -1, .error_count = (int32_t)np};
    owu_usbip_encode_pdu(m->data, &p);
    for (uint32_t i = 0; i < np; i++) {
        struct owu_usbip_iso_desc d = {req[i].offset, req[i].length, 0, e};
        owu_usbip_encode_iso(m->data + OWU_USBIP_HEADER_SIZE + 16 * (size_t)i, &d, 1);
    }
    enqueue(c, m);
}

static void send_op_reply(struct srv_conn *c, uint16_t code, uint32_t status)
{
    struct owu_usbip_msg *m = owu_usbip_msg_new(OWU_USBIP_OP_HEADER_SIZE);
    if (!m)
        return;
    owu_usbip_encode_op_header(m->data, code, status);
    enqueue(c, m);
}

static void send_ret_unlink_locked(struct srv_conn *c, uint32_t seqnum, int32_t status)
{
    struct owu_usbip_msg *m = owu_usbip_msg_new(OWU_USBIP_HEADER_SIZE);
    if (m) {
        struct owu_usbip_pdu p = {.command = OWU_USBIP_RET_UNLINK, .seqnum = seqnum, .status = status};
        owu_usbip_encode_pdu(m->data, &p);
        enqueue_locked(c, m);
    }
}

/* ---- URB completion ------------------------------------------------------------------------- */

static void srv_urb_unref_locked(struct srv_urb *su)
{
    if (--su->refs > 0)
        return;
    free(su->urb.buffer);
    free(su->urb.iso);
    free(su);
}

static void pending_add_locked(struct srv_conn *c, struct srv_urb *su)
{
    su->next = c->pending;
    if (su->next)
        su->next->pprev = &su->next;
    su->pprev = &c->pending;
    c->pending = su;
    c->n_pending++;
    c->pending_bytes += su->bytes;
}

static void pending_remove_locked(struct srv_conn *c, struct srv_urb *su)
{
    *su->pprev = su->next;
    if (su->next)
        su->next->pprev = su->pprev;
    c->n_pending--;
    c->pending_bytes -= su->bytes;
}

/* Builds RET_SUBMIT for a finished URB: IN data (ISO: packed packet by packet), then ISO
 * descriptors. */
static struct owu_usbip_msg *build_ret_submit(struct srv_urb *su)
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
    struct owu_usbip_msg *m = owu_usbip_msg_new(OWU_USBIP_HEADER_SIZE + data + (size_t)np * OWU_USBIP_ISO_DESC_SIZE);
    if (!m)
        return NULL;
    struct owu_usbip_pdu p = {.command = OWU_USBIP_RET_SUBMIT, .seqnum = su->seqnum,
                              .status = owu_usbip_status_to_errno(u->status),
                              .actual_length = (uint32_t)actual,
                              .start_frame = np ? (int32_t)u->start_frame : 0,
                              .number_of_packets = np ? (int32_t)np : -1};
    uint8_t *w = m->data + OWU_USBIP_HEADER_SIZE;
    if (np) {
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
            struct owu_usbip_iso_desc d = {u->iso[i].offset, u->iso[i].length, u->iso[i].actual,
                                           owu_usbip_status_to_errno(u->iso[i].status)};
            owu_usbip_encode_iso(w + 16 * (size_t)i, &d, 1);
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
    /* unlink_requested only ever turns true: if it does after this look, the RET_SUBMIT goes
     * out followed by RET_UNLINK 0 (the "already completed" answer), which is just as right. */
    pthread_mutex_lock(&c->lock);
    bool unlinked = su->unlink_requested && urb->status == OWU_E_CANCELLED;
    pthread_mutex_unlock(&c->lock);
    struct owu_usbip_msg *ret = unlinked ? NULL : build_ret_submit(su);
    pthread_mutex_lock(&c->lock);
    pending_remove_locked(c, su);
    if (ret)
        enqueue_locked(c, ret);
    if (unlinked)
        send_ret_unlink_locked(c, su->unlink_seqnum, -ECONNRESET);
    if (urb->status == OWU_E_NODEV) {
        /* The device left: after this reply the connection ends, as with usbip-host, so
         * that the client reports the device gone. */
        struct owu_usbip_msg *bye = owu_usbip_msg_new(0);
        if (bye) {
            bye->hang_up = true;
            enqueue_locked(c, bye);
        }
    }
    /* An unlink that lost the race: the target's RET_SUBMIT went first, now RET_UNLINK 0. */
    if (su->unlink_requested && !unlinked)
        send_ret_unlink_locked(c, su->unlink_seqnum, 0);
    srv_urb_unref_locked(su);
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

/* ---- the reader: URB phase ------------------------------------------------------------------ */

static int fail_conn(struct srv_conn *c, owu_err *err)
{
    pthread_mutex_lock(&c->srv->lock);
    c->srv->protocol_errors++;
    pthread_mutex_unlock(&c->srv->lock);
    fprintf(stderr, "%s: %s: closing the connection: %s\n", who(c->srv), c->exp ? c->exp->busid : "-",
            err->msg);
    return OWU_E_PARSE;
}

/* Shared mode: whether this connection may send this control request (server lock held). */
static bool control_allowed_locked(struct srv_conn *c, const struct owu_setup *s)
{
    struct srv_export *e = c->exp;
    unsigned recip = s->bmRequestType & 0x1F, type = (s->bmRequestType >> 5) & 3;
    bool in = (s->bmRequestType & 0x80) != 0;
    bool std_read = type == 0 && in &&
                    (s->bRequest == OWU_REQ_GET_DESCRIPTOR || s->bRequest == OWU_REQ_GET_STATUS ||
                     s->bRequest == OWU_REQ_GET_INTERFACE);
    if (!c->srv->shared || std_read)
        return true;
    if (recip == OWU_RECIP_INTERFACE) {
        /* MS OS 1.0 feature descriptors (wIndex 4 and 5) are read during enumeration. */
        if (type == 2 && in && (s->wIndex == 4 || s->wIndex == 5))
            return true;
        return e->claim[s->wIndex & 0xFF] == c;
    }
    if (recip == OWU_RECIP_ENDPOINT) {
        uint8_t ep = (uint8_t)s->wIndex;
        if ((ep & 0x0F) == 0)
            return true;
        uint16_t intf = e->ep_intf[(ep & 0x80) ? 1 : 0][ep & 0x0F];
        return intf != SRV_NO_INTF && e->claim[intf] == c;
    }
    return true;   /* device and other recipients */
}

/* Standard requests that change device state go through the stack's operations. Returns
 * true when the request was handled here (its RET_SUBMIT queued). */
static bool intercept_control(struct srv_conn *c, uint32_t seqnum, const struct owu_setup *s)
{
    struct owu_usbip_server *srv = c->srv;
    struct srv_export *e = c->exp;
    int rc;
    if (s->bmRequestType == (OWU_DIR_OUT | OWU_TYPE_STANDARD | OWU_RECIP_DEVICE) &&
        s->bRequest == OWU_REQ_SET_ADDRESS) {
        rc = OWU_OK;   /* the device has its address from our own enumeration */
    } else if (s->bmRequestType == (OWU_DIR_OUT | OWU_TYPE_STANDARD | OWU_RECIP_DEVICE) &&
               s->bRequest == OWU_REQ_SET_CONFIGURATION) {
        uint8_t value = (uint8_t)s->wValue;
        pthread_mutex_lock(&srv->lock);
        bool same = srv->shared && value == e->config_value;
        bool others = false;
        for (unsigned i = 0; i < 256; i++)
            if (e->claim[i] && e->claim[i] != c)
                others = true;
        pthread_mutex_unlock(&srv->lock);
        if (same) {
            rc = OWU_OK;   /* already active: leave the device (and the other clients) alone */
        } else if (others) {
            rc = OWU_E_STALL;   /* would pull interfaces from under other clients */
        } else {
            rc = owu_dev_set_configuration(e->dev, value, SRV_STD_TIMEOUT_MS);
            if (rc == OWU_OK) {
                pthread_mutex_lock(&srv->lock);
                e->config_value = value;
                memset(e->alt, 0, sizeof e->alt);
                rebuild_endpoints(e);
                pthread_mutex_unlock(&srv->lock);
            }
        }
    } else if (s->bmRequestType == (OWU_DIR_OUT | OWU_TYPE_STANDARD | OWU_RECIP_INTERFACE) &&
               s->bRequest == OWU_REQ_SET_INTERFACE) {
        rc = owu_dev_set_interface(e->dev, (uint8_t)s->wIndex, (uint8_t)s->wValue, SRV_STD_TIMEOUT_MS);
        if (rc == OWU_OK) {
            pthread_mutex_lock(&srv->lock);
            e->alt[s->wIndex & 0xFF] = (uint8_t)s->wValue;
            rebuild_endpoints(e);
            pthread_mutex_unlock(&srv->lock);
        }
    } else if (s->bmRequestType == (OWU_DIR_OUT | OWU_TYPE_STANDARD | OWU_RECIP_ENDPOINT) &&
               s->bRequest == OWU_REQ_CLEAR_FEATURE && s->wValue == OWU_FEAT_ENDPOINT_HALT) {
        rc = owu_dev_clear_halt(e->dev, (uint8_t)s->wIndex, SRV_STD_TIMEOUT_MS);
    } else {
        return false;
    }
    send_ret_status(c, seqnum, rc, 0, NULL);
    return true;
}

/* Reads the payload of a CMD_SUBMIT and starts the URB. Returns OWU_OK to go on, or a
 * status that closes the connection. The whole payload is read first, so that a refused
 * request leaves the stream in step. */
static int handle_submit(struct srv_conn *c, const struct owu_usbip_pdu *p)
{
    struct owu_usbip_server *srv = c->srv;
    owu_err err = {0};
    uint32_t np = owu_usbip_iso_count(p);
    bool in = p->direction == OWU_USBIP_DIR_IN;
    if (p->devid != c->devid) {
        owu_fail(&err, OWU_E_PARSE, "CMD_SUBMIT seq %u: devid 0x%08X is not the imported device's 0x%08X",
                 p->seqnum, p->devid, c->devid);
        return fail_conn(c, &err);
    }
    size_t out_len = in ? 0 : p->transfer_buffer_length;
    struct srv_urb *su = calloc(1, sizeof *su);
    /* OUT data is read over the whole buffer; IN starts zeroed (nothing stale goes back). */
    uint8_t *buf = !p->transfer_buffer_length ? NULL
                   : in                       ? calloc(1, p->transfer_buffer_length)
                                              : malloc(p->transfer_buffer_length);
    struct owu_iso_packet *iso = np ? calloc(np, sizeof *iso) : NULL;
    uint8_t *isobuf = np ? malloc((size_t)np * OWU_USBIP_ISO_DESC_SIZE) : NULL;
    struct owu_usbip_iso_desc *desc = np ? calloc(np, sizeof *desc) : NULL;
    int rc = OWU_OK;
    if (!su || (p->transfer_buffer_length && !buf) || (np && (!iso || !isobuf || !desc))) {
        rc = OWU_E_NOMEM;
        goto out;
    }
    if (out_len && (rc = owu_usbip_read_full(c->fd, buf, out_len)) != OWU_OK)
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
        pthread_mutex_lock(&srv->lock);
        bool ok = control_allowed_locked(c, &u->setup);
        pthread_mutex_unlock(&srv->lock);
        if (!ok) {
            send_ret_status(c, p->seqnum, OWU_E_STALL, 0, NULL);
            goto out;
        }
        if (intercept_control(c, p->seqnum, &u->setup))
            goto out;
    } else {
        pthread_mutex_lock(&srv->lock);
        uint8_t t = c->exp->ep_type[in ? 1 : 0][p->ep];
        uint16_t intf = c->exp->ep_intf[in ? 1 : 0][p->ep];
        bool mine = !srv->shared || (intf != SRV_NO_INTF && c->exp->claim[intf] == c);
        pthread_mutex_unlock(&srv->lock);
        if (t == 0xFF || t == 0 || !mine) {
            /* No such endpoint in the active settings (or, shared, one of an interface this
             * client has not claimed): answer as a stall, like a device would, instead of
             * tearing the link down as usbip-host does. */
            send_ret_status(c, p->seqnum, OWU_E_STALL, np, desc);
            goto out;
        }
        u->type = (enum owu_xfer_type)t;   /* bmAttributes bits 1..0 are the owu_xfer_type values */
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

    pthread_mutex_lock(&c->lock);
    pending_add_locked(c, su);
    pthread_mutex_unlock(&c->lock);
    int src = owu_urb_submit(u);
    if (src != OWU_OK) {
        pthread_mutex_lock(&c->lock);
        pending_remove_locked(c, su);
        pthread_mutex_unlock(&c->lock);
        send_ret_status(c, p->seqnum, src, np, desc);
        if (src == OWU_E_NODEV)
            rc = OWU_E_NODEV;   /* the device left: end the connection as usbip-host does */
        free(u->iso);
        goto out;
    }
    su = NULL;
    buf = NULL;
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
        send_ret_unlink_locked(c, p->seqnum, 0);
        pthread_mutex_unlock(&c->lock);
        return;
    }
    su->unlink_requested = true;
    su->unlink_seqnum = p->seqnum;
    su->refs++;
    pthread_mutex_unlock(&c->lock);
    owu_urb_cancel(&su->urb);   /* the completion sends the right replies */
    pthread_mutex_lock(&c->lock);
    srv_urb_unref_locked(su);
    pthread_mutex_unlock(&c->lock);
}

/* Shared mode: CLAIM / RELEASE of one interface for this connection. */
static void handle_claim_op(struct srv_conn *c, const struct owu_usbip_op_header *h)
{
    struct owu_usbip_server *srv = c->srv;
    struct srv_export *e = c->exp;
    bool claim = h->code == OWU_USBIP_OP_REQ_CLAIM;
    uint16_t rep = claim ? OWU_USBIP_OP_REP_CLAIM : OWU_USBIP_OP_REP_RELEASE;
    uint32_t st = OWU_USBIP_ST_OK;
    pthread_mutex_lock(&srv->lock);
    if (h->status > 255 || !e->intf_exists[h->status]) {
        st = OWU_USBIP_ST_NODEV;
    } else if (claim) {
        uint8_t intf = (uint8_t)h->status;
        if (e->claim[intf]) {
            st = OWU_USBIP_ST_DEV_BUSY;
        } else {
            int rc = owu_dev_claim_interface(e->dev, intf, 0);
            if (rc == OWU_OK)
                e->claim[intf] = c;
            else
                st = rc == OWU_E_BUSY ? OWU_USBIP_ST_DEV_BUSY : rc == OWU_E_NODEV ? OWU_USBIP_ST_NODEV
                                                                                  : OWU_USBIP_ST_ERROR;
        }
    } else {
        uint8_t intf = (uint8_t)h->status;
        if (e->claim[intf] != c) {
            st = OWU_USBIP_ST_NA;
        } else {
            e->claim[intf] = NULL;
            owu_dev_release_interface(e->dev, intf);
        }
    }
    pthread_mutex_unlock(&srv->lock);
    send_op_reply(c, rep, st);
}

static void release_claims(struct srv_conn *c)
{
    struct owu_usbip_server *srv = c->srv;
    if (!c->exp)
        return;
    pthread_mutex_lock(&srv->lock);
    for (unsigned i = 0; i < 256; i++)
        if (c->exp->claim[i] == c) {
            c->exp->claim[i] = NULL;
            owu_dev_release_interface(c->exp->dev, (uint8_t)i);
        }
    pthread_mutex_unlock(&srv->lock);
}

/* Waits (back-pressure) until there is room for more URBs and replies. Returns false when
 * the client hung up meanwhile: URBs that never complete must not keep a departed client's
 * device busy, so the socket is checked every 100 ms while waiting. */
static bool wait_room(struct srv_conn *c)
{
    bool alive = true;
    pthread_mutex_lock(&c->lock);
    while ((c->n_pending >= SRV_MAX_PENDING || c->pending_bytes >= SRV_MAX_PENDING_BYTES ||
            c->out.bytes >= SRV_MAX_QUEUED_BYTES) && !c->dead) {
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
    for (;;) {
        if (!wait_room(c))
            return;
        owu_err err = {0};
        struct owu_usbip_op_header h;
        struct owu_usbip_pdu p;
        int kind = owu_usbip_read_next(c->fd, &h, &p, &err);
        if (kind == OWU_E_NODEV)
            return;
        if (kind < 0) {
            fail_conn(c, &err);
            return;
        }
        if (kind == 1) {
            /* An extension op. */
            if (!c->srv->shared)
                owu_fail(&err, OWU_E_PARSE, "op code 0x%04X at offset 2 in the URB phase", h.code);
            else if (h.code != OWU_USBIP_OP_REQ_CLAIM && h.code != OWU_USBIP_OP_REQ_RELEASE)
                owu_fail(&err, OWU_E_PARSE, "op code 0x%04X at offset 2 is not CLAIM or RELEASE", h.code);
            if (err.msg[0]) {
                fail_conn(c, &err);
                return;
            }
            handle_claim_op(c, &h);
            continue;
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
        srv_urb_unref_locked(su);
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

static void reply_devlist(struct srv_conn *c)
{
    struct owu_usbip_server *srv = c->srv;
    pthread_mutex_lock(&srv->lock);
    size_t n = srv->num_exports;
    struct owu_usbip_device *devs = calloc(n ? n : 1, sizeof *devs);
    size_t k = 0;
    for (size_t i = 0; devs && i < n; i++) {
        struct srv_export *e = &srv->exports[i];
        if (owu_usb_device_gone(e->dev))
            continue;
        /* Exclusive: the first configuration, as usbip-host reports an idle device; shared:
         * the configuration the host keeps active for everyone. */
        uint8_t cfg = srv->shared ? e->config_value : e->info->num_configs ? e->info->configs[0].data[5] : 0;
        if (owu_usbip_device_record(e->dev, e->info, e->busid, cfg, &devs[k], NULL) == OWU_OK)
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

/* OP_REQ_IMPORT (exclusive) or the shared import. Returns true when the connection now
 * carries URBs of an imported device. */
static bool handle_import(struct srv_conn *c, const uint8_t head[OWU_USBIP_OP_HEADER_SIZE])
{
    struct owu_usbip_server *srv = c->srv;
    uint8_t req[OWU_USBIP_REQ_IMPORT_SIZE];
    memcpy(req, head, OWU_USBIP_OP_HEADER_SIZE);
    if (owu_usbip_read_full(c->fd, req + 8, sizeof req - 8) != OWU_OK)
        return false;
    /* The shared import has the layout of OP_REQ_IMPORT, another code (the reader checked it). */
    uint16_t code = srv->shared ? OWU_USBIP_OP_REQ_IMPORT_SHARED : OWU_USBIP_OP_REQ_IMPORT;
    char busid[OWU_USBIP_BUSID_SIZE];
    owu_err err = {0};
    uint8_t rep[OWU_USBIP_REP_IMPORT_SIZE];
    if (owu_usbip_decode_req_import_code(req, sizeof req, code, busid, &err) != OWU_OK) {
        fail_conn(c, &err);
        int n = owu_usbip_encode_rep_import(rep, OWU_USBIP_ST_ERROR, NULL, NULL);
        owu_usbip_write_full(c->fd, rep, (size_t)n);
        return false;
    }
    pthread_mutex_lock(&srv->lock);
    struct srv_export *e = find_export(srv, busid);
    uint32_t status = OWU_USBIP_ST_OK;
    if (!e || owu_usb_device_gone(e->dev))
        status = OWU_USBIP_ST_NODEV;
    else if (!srv->shared && e->owner)
        status = OWU_USBIP_ST_DEV_BUSY;
    else if (!srv->shared)
        e->owner = c;
    pthread_mutex_unlock(&srv->lock);
    if (status != OWU_USBIP_ST_OK) {
        int n = owu_usbip_encode_rep_import(rep, status, NULL, NULL);
        owu_usbip_write_full(c->fd, rep, (size_t)n);
        return false;
    }
    c->exp = e;
    if (!srv->shared) {
        /* A new importer starts from the device's present configuration, alternate settings 0. */
        uint8_t cfg = current_config(e->dev, e->info);
        pthread_mutex_lock(&srv->lock);
        e->config_value = cfg;
        memset(e->alt, 0, sizeof e->alt);
        rebuild_endpoints(e);
        pthread_mutex_unlock(&srv->lock);
    }
    struct owu_usbip_device rec;
    pthread_mutex_lock(&srv->lock);
    if (owu_usbip_device_record(e->dev, e->info, e->busid, e->config_value, &rec, &err) != OWU_OK)
        status = OWU_USBIP_ST_DEV_ERR;
    pthread_mutex_unlock(&srv->lock);
    c->devid = rec.busnum << 16 | rec.devnum;
    int n = owu_usbip_encode_rep_import(rep, status, status == OWU_USBIP_ST_OK ? &rec : NULL, &err);
    if (n < 0 || owu_usbip_write_full(c->fd, rep, (size_t)n) != OWU_OK || status != OWU_USBIP_ST_OK)
        return false;
    return true;
}

static void conn_free(struct srv_conn *c)
{
    owu_usbip_outq_clear(&c->out);
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
    uint16_t import_code = srv->shared ? OWU_USBIP_OP_REQ_IMPORT_SHARED : OWU_USBIP_OP_REQ_IMPORT;
    if (owu_usbip_read_full(c->fd, head, sizeof head) == OWU_OK) {
        if (owu_usbip_decode_op_header(head, sizeof head, 0, &h, &err) != OWU_OK ||
            (h.code != OWU_USBIP_OP_REQ_DEVLIST && h.code != import_code)) {
            /* A device host never hands a device out exclusively, nor does a USB/IP server
             * share one. */
            if (err.msg[0] == '\0')
                owu_fail(&err, OWU_E_PARSE, "op code 0x%04X at offset 2: expected OP_REQ_DEVLIST or %s 0x%04X",
                         h.code, srv->shared ? "the shared import" : "OP_REQ_IMPORT", import_code);
            fail_conn(c, &err);
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
            release_claims(c);
            if (c->writer_started)
                pthread_join(c->writer, NULL);
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
    unsigned max_conns = srv->shared ? SRV_LOCAL_MAX_CONNS : SRV_MAX_CONNS;
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
        if (srv->num_conns >= max_conns) {
            pthread_mutex_unlock(&srv->lock);
            close(fd);
            conn_free(c);
            continue;
        }
        /* The management request must not hold a thread for ever. */
        struct timeval tv = {.tv_sec = srv->shared ? SRV_LOCAL_MGMT_TIMEOUT_S : SRV_MGMT_TIMEOUT_S};
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

/* Every device node (not the composite functions below them) with a live device. */
static int export_nodes(struct owu_usbip_server *srv, struct owu_devnode *n, unsigned *count, owu_err *err)
{
    for (; n; n = n->next_sibling) {
        if (n->kind == OWU_NODE_DEVICE && n->bus_device && n->info) {
            struct owu_usb_device *dev = n->bus_device;
            owu_err e = {0};
            int rc = owu_usbip_server_export(srv, dev, n->info, dev->location, &e);
            if (rc == OWU_OK) {
                (*count)++;
            } else if (rc == OWU_E_NODEV || rc == OWU_E_INVAL) {
                fprintf(stderr, "openwinusb host: skipping %s: %s\n", dev->location, e.msg);
            } else {
                if (err)
                    *err = e;
                return rc;
            }
        }
        int rc = export_nodes(srv, n->first_child, count, err);
        if (rc != OWU_OK)
            return rc;
    }
    return OWU_OK;
}

int owu_usbip_server_export_stack(struct owu_usbip_server *srv, struct owu_stack *stack, unsigned *count,
                                  owu_err *err)
{
    unsigned n = 0;
    owu_stack_lock(stack);
    int rc = export_nodes(srv, owu_stack_tree(stack), &n, err);
    owu_stack_unlock(stack);
    if (count)
        *count = n;
    return rc;
}

/* Starts the accept thread on a listening socket (taken over). */
static int start_accepting(struct owu_usbip_server *srv, int fd, owu_err *err)
{
    if (pipe2(srv->wake, O_CLOEXEC) != 0) {
        close(fd);
        srv->wake[0] = srv->wake[1] = -1;
        return owu_fail(err, OWU_E_IO, "%s: pipe: %s", who(srv), strerror(errno));
    }
    srv->listen_fd = fd;
    if (pthread_create(&srv->acceptor, NULL, accept_main, srv) != 0) {
        close(fd);
        close(srv->wake[0]);
        close(srv->wake[1]);
        srv->listen_fd = srv->wake[0] = srv->wake[1] = -1;
        return owu_fail(err, OWU_E_NOMEM, "%s: cannot start the accept thread", who(srv));
    }
    pthread_mutex_lock(&srv->lock);
    srv->started = true;
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
    return start_accepting(srv, fd, err);
}

int owu_usbip_server_start_local(struct owu_usbip_server *srv, const char *path, owu_err *err)
{
    if (srv->started)
        return owu_fail(err, OWU_E_BUSY, "device host: already started");
    srv->shared = true;
    /* The host keeps one configuration active for every client. */
    for (size_t i = 0; i < srv->num_exports; i++) {
        struct srv_export *e = &srv->exports[i];
        e->config_value = current_config(e->dev, e->info);
        rebuild_endpoints(e);
    }
    int fd = owu_usbip_listen_local(path, err);
    if (fd < 0)
        return fd;
    int rc = start_accepting(srv, fd, err);
    if (rc != OWU_OK)
        unlink(path);
    else
        snprintf(srv->path, sizeof srv->path, "%s", path);
    return rc;
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
    if (srv->path[0])
        unlink(srv->path);
    for (size_t i = 0; i < srv->num_exports; i++) {
        owu_usb_device_unref(srv->exports[i].dev);
        owu_devinfo_free(srv->exports[i].info);
    }
    free(srv->exports);
    pthread_cond_destroy(&srv->cond);
    pthread_mutex_destroy(&srv->lock);
    free(srv);
}
