/* The device host server: the devices of this process's stack, shared with local client
 * processes over a Unix-domain socket (docs/device-host.md).
 *
 * Unlike the USB/IP server (one client per device), every client attaches in shared mode and
 * the host arbitrates per interface: a client claims interfaces (extension op CLAIM, carried
 * out with owu_dev_claim_interface on the real device, so the claim bitmap is the one the
 * rest of the stack respects) and may then use their endpoints and send them interface- or
 * endpoint-addressed control requests. Standard read-only requests are always allowed.
 *
 * Threads: one accept thread; per connection a reader (handshake, then ops and URB PDUs) and
 * a writer draining a queue of encoded replies, so completions never block on a slow client.
 * When a connection ends its URBs are cancelled and waited for, then its claims released.
 * A malformed packet closes that connection only.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <openwinusb/descriptors.h>
#include <openwinusb/devinfo.h>
#include <openwinusb/pnp.h>
#include <openwinusb/stack.h>

#include "core/urb.h"
#include "hcd/devhost.h"
#include "hcd/usbip.h"

#define DH_MAX_PENDING 1024u
#define DH_MAX_PENDING_BYTES (64u * 1024u * 1024u)
#define DH_MAX_CONNS 256u
#define DH_MAX_QUEUED_BYTES (8u * 1024u * 1024u)   /* replies not yet written (non-URB ones) */
#define DH_STD_TIMEOUT_MS 5000u
#define DH_NO_INTF 0xFFFFu

struct dh_conn;

struct dh_dev {
    struct owu_usb_device *dev;
    struct owu_devinfo *info;
    char busid[OWU_USBIP_BUSID_SIZE];
    /* Shared device state, under the server lock. */
    uint8_t config_value;
    uint8_t alt[256];
    uint16_t ep_intf[2][16];         /* [dir][number] -> interface number, DH_NO_INTF: none */
    uint8_t ep_type[2][16];
    bool intf_exists[256];
    struct dh_conn *owner[256];      /* claims */
};

struct dh_msg {
    struct dh_msg *next;
    bool hang_up;
    size_t len;
    uint8_t data[];
};

struct dh_urb {
    struct owu_urb urb;
    struct dh_conn *c;
    uint32_t seqnum;
    bool in;
    int refs;
    bool unlink_requested;
    uint32_t unlink_seqnum;
    size_t bytes;
    struct dh_urb *next;
};

struct dh_conn {
    struct owu_devhost_server *srv;
    int fd;
    pthread_t reader, writer;
    bool writer_started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct dh_msg *out_head, *out_tail;
    size_t out_bytes;                /* queued, not yet written */
    bool closing, dead;
    struct dh_urb *pending;
    unsigned n_pending;
    size_t pending_bytes;
    struct dh_dev *d;
    uint32_t devid;
    struct dh_conn *next;
};

struct owu_devhost_server {
    pthread_mutex_t lock;
    pthread_cond_t cond;             /* a connection ended */
    struct dh_dev *devs;
    size_t num_devs;
    int listen_fd;
    int wake[2];
    pthread_t acceptor;
    bool started, stopping;
    struct dh_conn *conns;
    unsigned num_conns;
    unsigned protocol_errors;
    char path[sizeof ((struct sockaddr_un *)0)->sun_path];
};

/* ---- sockets --------------------------------------------------------------------------------- */

int owu_devhost_default_socket(char *out, size_t size, bool create_dir, owu_err *err)
{
    char dir[sizeof ((struct sockaddr_un *)0)->sun_path];
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    int n;
    if (xdg && xdg[0] == '/')
        n = snprintf(dir, sizeof dir, "%s/openwinusb", xdg);
    else
        n = snprintf(dir, sizeof dir, "/tmp/openwinusb-%u", (unsigned)getuid());
    if (n < 0 || (size_t)n + sizeof "/host.sock" > sizeof dir || (size_t)n + sizeof "/host.sock" > size)
        return owu_fail(err, OWU_E_INVAL, "device host: socket directory path \"%s\" is too long", dir);
    if (create_dir && mkdir(dir, 0700) != 0 && errno != EEXIST)
        return owu_fail(err, OWU_E_IO, "device host: cannot create %s: %s", dir, strerror(errno));
    if (create_dir) {
        struct stat st;
        if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid())
            return owu_fail(err, OWU_E_ACCESS, "device host: %s is not a directory of this user", dir);
        chmod(dir, 0700);
    }
    snprintf(out, size, "%s/host.sock", dir);
    return OWU_OK;
}

static int fill_addr(struct sockaddr_un *sa, const char *path, owu_err *err)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (!path || !*path || strlen(path) >= sizeof sa->sun_path)
        return owu_fail(err, OWU_E_INVAL, "device host: socket path \"%s\" is empty or longer than %zu bytes",
                        path ? path : "", sizeof sa->sun_path - 1);
    memcpy(sa->sun_path, path, strlen(path) + 1);
    return OWU_OK;
}

int owu_devhost_connect(const char *path, owu_err *err)
{
    struct sockaddr_un sa;
    int rc = fill_addr(&sa, path, err);
    if (rc != OWU_OK)
        return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return owu_fail(err, OWU_E_IO, "device host: socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        return owu_fail(err, OWU_E_NODEV, "device host %s: %s (is `openwinusb host` running?)", path,
                        strerror(e));
    }
    return fd;
}

/* ---- device state ------------------------------------------------------------------------------ */

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

/* Server lock held. */
static void rebuild_endpoints(struct dh_dev *d)
{
    for (unsigned i = 0; i < 2; i++)
        for (unsigned e = 0; e < 16; e++)
            d->ep_intf[i][e] = DH_NO_INTF;
    memset(d->ep_type, 0xFF, sizeof d->ep_type);
    memset(d->intf_exists, 0, sizeof d->intf_exists);
    struct owu_config *cfg = config_by_value(d->info, d->config_value);
    if (!cfg)
        return;
    for (unsigned i = 0; i < cfg->num_interfaces; i++) {
        const struct owu_interface *intf = &cfg->interfaces[i];
        d->intf_exists[intf->number] = true;
        const struct owu_altsetting *a = owu_interface_find_alt(intf, d->alt[intf->number]);
        if (!a)
            a = &intf->alts[0];
        for (unsigned e = 0; e < a->num_endpoints; e++) {
            uint8_t addr = a->endpoints[e].bEndpointAddress;
            d->ep_intf[(addr & 0x80) ? 1 : 0][addr & 0x0F] = intf->number;
            d->ep_type[(addr & 0x80) ? 1 : 0][addr & 0x0F] = a->endpoints[e].bmAttributes & 0x03;
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

/* ---- writer ------------------------------------------------------------------------------------- */

static struct dh_msg *msg_new(size_t len)
{
    struct dh_msg *m = malloc(sizeof *m + len);
    if (m) {
        m->next = NULL;
        m->hang_up = false;
        m->len = len;
    }
    return m;
}

static void enqueue_locked(struct dh_conn *c, struct dh_msg *m)
{
    if (c->closing || c->dead) {
        free(m);
        return;
    }
    if (c->out_tail)
        c->out_tail->next = m;
    else
        c->out_head = m;
    c->out_tail = m;
    c->out_bytes += m->len;
    pthread_cond_broadcast(&c->cond);
}

static void enqueue(struct dh_conn *c, struct dh_msg *m)
{
    pthread_mutex_lock(&c->lock);
    enqueue_locked(c, m);
    pthread_mutex_unlock(&c->lock);
}

static void *writer_main(void *arg)
{
    struct dh_conn *c = arg;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (!c->out_head && !c->closing)
            pthread_cond_wait(&c->cond, &c->lock);
        if (!c->out_head)
            break;
        struct dh_msg *list = c->out_head;
        c->out_head = c->out_tail = NULL;
        size_t taken = c->out_bytes;
        pthread_mutex_unlock(&c->lock);
        bool failed = false;
        while (list) {
            struct dh_msg *next = list->next;
            if (!failed && owu_usbip_write_full(c->fd, list->data, list->len) != OWU_OK)
                failed = true;
            if (list->hang_up)
                failed = true;
            free(list);
            list = next;
        }
        pthread_mutex_lock(&c->lock);
        c->out_bytes -= taken;
        pthread_cond_broadcast(&c->cond);   /* the reader may be waiting for room */
        if (failed) {
            c->dead = true;
            shutdown(c->fd, SHUT_RDWR);
        }
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

static void send_ret_status(struct dh_conn *c, uint32_t seqnum, int status)
{
    struct dh_msg *m = msg_new(OWU_USBIP_HEADER_SIZE);
    if (!m)
        return;
    struct owu_usbip_pdu p = {.command = OWU_USBIP_RET_SUBMIT, .seqnum = seqnum,
                              .status = owu_usbip_status_to_errno(status), .number_of_packets = -1};
    owu_usbip_encode_pdu(m->data, &p);
    enqueue(c, m);
}

/* A failed ISO request still answers with its packets (the client checks the count). */
static void send_ret_status_iso(struct dh_conn *c, uint32_t seqnum, int status, uint32_t np,
                                const struct owu_usbip_iso_desc *req)
{
    if (!np) {
        send_ret_status(c, seqnum, status);
        return;
    }
    struct dh_msg *m = msg_new(OWU_USBIP_HEADER_SIZE + (size_t)np * OWU_USBIP_ISO_DESC_SIZE);
    if (!m)
        return;
    int32_t e = owu_usbip_status_to_errno(status);
    struct owu_usbip_pdu p = {.command = OWU_USBIP_RET_SUBMIT, .seqnum = seqnum, .status = e,
                              .number_of_packets = (int32_t)np, .error_count = (int32_t)np};
    owu_usbip_encode_pdu(m->data, &p);
    for (uint32_t i = 0; i < np; i++) {
        struct owu_usbip_iso_desc d = {req[i].offset, req[i].length, 0, e};
        owu_usbip_encode_iso(m->data + OWU_USBIP_HEADER_SIZE + 16 * (size_t)i, &d, 1);
    }
    enqueue(c, m);
}

static void send_op_reply(struct dh_conn *c, uint16_t code, uint32_t status)
{
    struct dh_msg *m = msg_new(OWU_USBIP_OP_HEADER_SIZE);
    if (!m)
        return;
    owu_usbip_encode_op_header(m->data, code, status);
    enqueue(c, m);
}

/* ---- completion ---------------------------------------------------------------------------------- */

static void urb_unref_locked(struct dh_urb *u)
{
    if (--u->refs > 0)
        return;
    free(u->urb.buffer);
    free(u->urb.iso);
    free(u);
}

static struct dh_msg *build_ret_submit(struct dh_urb *su)
{
    struct owu_urb *u = &su->urb;
    uint32_t np = u->type == OWU_XFER_ISOCHRONOUS ? u->num_iso_packets : 0;
    size_t actual = u->actual;
    if (np) {
        actual = 0;
        for (uint32_t i = 0; i < np; i++)
            actual += u->iso[i].actual;
    }
    size_t data = su->in ? actual : 0;
    struct dh_msg *m = msg_new(OWU_USBIP_HEADER_SIZE + data + (size_t)np * OWU_USBIP_ISO_DESC_SIZE);
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
            struct owu_usbip_iso_desc dsc = {u->iso[i].offset, u->iso[i].length, u->iso[i].actual,
                                             owu_usbip_status_to_errno(u->iso[i].status)};
            owu_usbip_encode_iso(w + 16 * (size_t)i, &dsc, 1);
        }
    } else if (data) {
        memcpy(w, u->buffer, data);
    }
    owu_usbip_encode_pdu(m->data, &p);
    return m;
}

static void dh_complete(struct owu_urb *urb)
{
    struct dh_urb *su = urb->context;
    struct dh_conn *c = su->c;
    bool unlinked = su->unlink_requested && urb->status == OWU_E_CANCELLED;
    struct dh_msg *ret = unlinked ? NULL : build_ret_submit(su);
    struct dh_msg *unl = su->unlink_requested ? msg_new(OWU_USBIP_HEADER_SIZE) : NULL;
    if (unl) {
        /* Non-zero status: unlinked; 0: it had finished first (its RET_SUBMIT goes first). */
        struct owu_usbip_pdu p = {.command = OWU_USBIP_RET_UNLINK, .seqnum = su->unlink_seqnum,
                                  .status = unlinked ? -ECONNRESET : 0};
        owu_usbip_encode_pdu(unl->data, &p);
    }
    pthread_mutex_lock(&c->lock);
    for (struct dh_urb **pp = &c->pending; *pp; pp = &(*pp)->next)
        if (*pp == su) {
            *pp = su->next;
            break;
        }
    c->n_pending--;
    c->pending_bytes -= su->bytes;
    if (ret)
        enqueue_locked(c, ret);
    if (unl)
        enqueue_locked(c, unl);
    if (urb->status == OWU_E_NODEV) {
        /* The device left: end the connection so that the client reports it gone. */
        struct dh_msg *bye = msg_new(0);
        if (bye) {
            bye->hang_up = true;
            enqueue_locked(c, bye);
        }
    }
    urb_unref_locked(su);
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

/* ---- access rules ----------------------------------------------------------------------------------- */

static int fail_conn(struct dh_conn *c, owu_err *err)
{
    pthread_mutex_lock(&c->srv->lock);
    c->srv->protocol_errors++;
    pthread_mutex_unlock(&c->srv->lock);
    fprintf(stderr, "openwinusb host: %s: closing a client connection: %s\n", c->d ? c->d->busid : "-",
            err->msg);
    return OWU_E_PARSE;
}

/* Whether this connection may send this control request (server lock held). */
static bool control_allowed_locked(struct dh_conn *c, const struct owu_setup *s)
{
    struct dh_dev *d = c->d;
    unsigned recip = s->bmRequestType & 0x1F, type = (s->bmRequestType >> 5) & 3;
    bool in = (s->bmRequestType & 0x80) != 0;
    bool std_read = type == 0 && in &&
                    (s->bRequest == OWU_REQ_GET_DESCRIPTOR || s->bRequest == OWU_REQ_GET_STATUS ||
                     s->bRequest == OWU_REQ_GET_INTERFACE);
    if (std_read)
        return true;
    if (recip == OWU_RECIP_INTERFACE) {
        /* MS OS 1.0 feature descriptors (wIndex 4 and 5) are read during enumeration. */
        if (type == 2 && in && (s->wIndex == 4 || s->wIndex == 5))
            return true;
        return d->owner[s->wIndex & 0xFF] == c;
    }
    if (recip == OWU_RECIP_ENDPOINT) {
        uint8_t ep = (uint8_t)s->wIndex;
        if ((ep & 0x0F) == 0)
            return true;
        uint16_t intf = d->ep_intf[(ep & 0x80) ? 1 : 0][ep & 0x0F];
        return intf != DH_NO_INTF && d->owner[intf] == c;
    }
    return true;   /* device and other recipients */
}

/* Standard requests that change shared state; true when handled (reply queued). */
static bool intercept_control(struct dh_conn *c, uint32_t seqnum, const struct owu_setup *s)
{
    struct owu_devhost_server *srv = c->srv;
    struct dh_dev *d = c->d;
    int rc;
    if (s->bmRequestType == (OWU_DIR_OUT | OWU_TYPE_STANDARD | OWU_RECIP_DEVICE) &&
        s->bRequest == OWU_REQ_SET_ADDRESS) {
        rc = OWU_OK;   /* the host addressed the device */
    } else if (s->bmRequestType == (OWU_DIR_OUT | OWU_TYPE_STANDARD | OWU_RECIP_DEVICE) &&
               s->bRequest == OWU_REQ_SET_CONFIGURATION) {
        uint8_t value = (uint8_t)s->wValue;
        pthread_mutex_lock(&srv->lock);
        bool same = value == d->config_value;
        bool others = false;
        for (unsigned i = 0; i < 256; i++)
            if (d->owner[i] && d->owner[i] != c)
                others = true;
        pthread_mutex_unlock(&srv->lock);
        if (same) {
            rc = OWU_OK;   /* already active: leave the device (and the other clients) alone */
        } else if (others) {
            rc = OWU_E_STALL;   /* would pull interfaces from under other clients */
        } else {
            rc = owu_dev_set_configuration(d->dev, value, DH_STD_TIMEOUT_MS);
            if (rc == OWU_OK) {
                pthread_mutex_lock(&srv->lock);
                d->config_value = value;
                memset(d->alt, 0, sizeof d->alt);
                rebuild_endpoints(d);
                pthread_mutex_unlock(&srv->lock);
            }
        }
    } else if (s->bmRequestType == (OWU_DIR_OUT | OWU_TYPE_STANDARD | OWU_RECIP_INTERFACE) &&
               s->bRequest == OWU_REQ_SET_INTERFACE) {
        rc = owu_dev_set_interface(d->dev, (uint8_t)s->wIndex, (uint8_t)s->wValue, DH_STD_TIMEOUT_MS);
        if (rc == OWU_OK) {
            pthread_mutex_lock(&srv->lock);
            d->alt[s->wIndex & 0xFF] = (uint8_t)s->wValue;
            rebuild_endpoints(d);
            pthread_mutex_unlock(&srv->lock);
        }
    } else if (s->bmRequestType == (OWU_DIR_OUT | OWU_TYPE_STANDARD | OWU_RECIP_ENDPOINT) &&
               s->bRequest == OWU_REQ_CLEAR_FEATURE && s->wValue == OWU_FEAT_ENDPOINT_HALT) {
        rc = owu_dev_clear_halt(d->dev, (uint8_t)s->wIndex, DH_STD_TIMEOUT_MS);
    } else {
        return false;
    }
    send_ret_status(c, seqnum, rc);
    return true;
}

/* ---- URB phase ------------------------------------------------------------------------------------ */

static int handle_submit(struct dh_conn *c, const struct owu_usbip_pdu *p)
{
    owu_err err = {0};
    struct owu_devhost_server *srv = c->srv;
    uint32_t np = owu_usbip_iso_count(p);
    bool in = p->direction == OWU_USBIP_DIR_IN;
    if (p->devid != c->devid) {
        owu_fail(&err, OWU_E_PARSE, "CMD_SUBMIT seq %u: devid 0x%08X is not the attached device's 0x%08X",
                 p->seqnum, p->devid, c->devid);
        return fail_conn(c, &err);
    }
    /* Read the whole payload first so that a refused request leaves the stream in step. */
    size_t out_len = in ? 0 : p->transfer_buffer_length;
    uint8_t *buf = p->transfer_buffer_length ? calloc(1, p->transfer_buffer_length) : NULL;
    uint8_t *isobuf = np ? malloc((size_t)np * OWU_USBIP_ISO_DESC_SIZE) : NULL;
    struct owu_usbip_iso_desc *desc = np ? calloc(np, sizeof *desc) : NULL;
    struct owu_iso_packet *iso = np ? calloc(np, sizeof *iso) : NULL;
    struct dh_urb *su = calloc(1, sizeof *su);
    int rc = OWU_OK;
    if (!su || (p->transfer_buffer_length && !buf) || (np && (!isobuf || !desc || !iso))) {
        rc = OWU_E_NOMEM;
        goto out;
    }
    if (out_len && (rc = owu_usbip_read_full(c->fd, buf, out_len)) != OWU_OK)
        goto out;
    if (np) {
        if ((rc = owu_usbip_read_full(c->fd, isobuf, (size_t)np * OWU_USBIP_ISO_DESC_SIZE)) != OWU_OK)
            goto out;
        if (owu_usbip_decode_iso(isobuf, (size_t)np * OWU_USBIP_ISO_DESC_SIZE, np, p->transfer_buffer_length,
                                 false, in, 0, desc, &err) != OWU_OK) {
            rc = fail_conn(c, &err);
            goto out;
        }
        for (uint32_t i = 0; i < np; i++)
            iso[i] = (struct owu_iso_packet){desc[i].offset, desc[i].length, 0, OWU_E_PENDING};
    }

    struct owu_urb *u = &su->urb;
    u->dev = c->d->dev;
    u->buffer = buf;
    u->length = p->transfer_buffer_length;
    u->complete = dh_complete;
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
            send_ret_status(c, p->seqnum, OWU_E_STALL);
            goto out;
        }
        if (intercept_control(c, p->seqnum, &u->setup))
            goto out;
    } else {
        pthread_mutex_lock(&srv->lock);
        uint8_t t = c->d->ep_type[in ? 1 : 0][p->ep];
        uint16_t intf = c->d->ep_intf[in ? 1 : 0][p->ep];
        bool mine = intf != DH_NO_INTF && c->d->owner[intf] == c;
        pthread_mutex_unlock(&srv->lock);
        if (t == 0xFF || t == 0 || !mine) {
            /* No such endpoint, or one of an interface this client has not claimed. */
            send_ret_status_iso(c, p->seqnum, OWU_E_STALL, np, desc);
            goto out;
        }
        u->type = xfer_type(t);
        u->endpoint = (uint8_t)(p->ep | (in ? 0x80 : 0));
        if ((u->type == OWU_XFER_ISOCHRONOUS) != (np > 0)) {
            owu_fail(&err, OWU_E_PARSE, "CMD_SUBMIT seq %u: %u ISO packets for endpoint 0x%02X", p->seqnum,
                     np, u->endpoint);
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
    su->next = c->pending;
    c->pending = su;
    c->n_pending++;
    c->pending_bytes += su->bytes;
    pthread_mutex_unlock(&c->lock);
    int src = owu_urb_submit(u);
    if (src != OWU_OK) {
        pthread_mutex_lock(&c->lock);
        for (struct dh_urb **pp = &c->pending; *pp; pp = &(*pp)->next)
            if (*pp == su) {
                *pp = su->next;
                break;
            }
        c->n_pending--;
        c->pending_bytes -= su->bytes;
        pthread_mutex_unlock(&c->lock);
        send_ret_status_iso(c, p->seqnum, src, np, desc);
        if (src == OWU_E_NODEV)
            rc = OWU_E_NODEV;
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

static void handle_unlink(struct dh_conn *c, const struct owu_usbip_pdu *p)
{
    pthread_mutex_lock(&c->lock);
    struct dh_urb *su = c->pending;
    while (su && su->seqnum != p->unlink_seqnum)
        su = su->next;
    if (!su || su->unlink_requested) {
        struct dh_msg *m = msg_new(OWU_USBIP_HEADER_SIZE);
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
    owu_urb_cancel(&su->urb);
    pthread_mutex_lock(&c->lock);
    urb_unref_locked(su);
    pthread_mutex_unlock(&c->lock);
}

/* CLAIM / RELEASE of one interface for this connection. */
static void handle_claim_op(struct dh_conn *c, const struct owu_usbip_op_header *h)
{
    struct owu_devhost_server *srv = c->srv;
    struct dh_dev *d = c->d;
    bool claim = h->code == OWU_DEVHOST_OP_REQ_CLAIM;
    uint16_t rep = claim ? OWU_DEVHOST_OP_REP_CLAIM : OWU_DEVHOST_OP_REP_RELEASE;
    uint32_t st = OWU_USBIP_ST_OK;
    pthread_mutex_lock(&srv->lock);
    if (h->status > 255 || !d->intf_exists[h->status]) {
        st = OWU_USBIP_ST_NODEV;
    } else if (claim) {
        uint8_t intf = (uint8_t)h->status;
        if (d->owner[intf])
            st = OWU_USBIP_ST_DEV_BUSY;
        else {
            int rc = owu_dev_claim_interface(d->dev, intf, 0);
            if (rc == OWU_OK)
                d->owner[intf] = c;
            else
                st = rc == OWU_E_BUSY ? OWU_USBIP_ST_DEV_BUSY : rc == OWU_E_NODEV ? OWU_USBIP_ST_NODEV
                                                                                  : OWU_USBIP_ST_ERROR;
        }
    } else {
        uint8_t intf = (uint8_t)h->status;
        if (d->owner[intf] != c) {
            st = OWU_USBIP_ST_NA;
        } else {
            d->owner[intf] = NULL;
            owu_dev_release_interface(d->dev, intf);
        }
    }
    pthread_mutex_unlock(&srv->lock);
    send_op_reply(c, rep, st);
}

static void wait_room(struct dh_conn *c)
{
    pthread_mutex_lock(&c->lock);
    /* A client that sends without reading its replies stops being read (bounded memory). */
    while ((c->n_pending >= DH_MAX_PENDING || c->pending_bytes >= DH_MAX_PENDING_BYTES ||
            c->out_bytes >= DH_MAX_QUEUED_BYTES) && !c->dead)
        pthread_cond_wait(&c->cond, &c->lock);
    pthread_mutex_unlock(&c->lock);
}

static void urb_phase(struct dh_conn *c)
{
    uint8_t hdr[OWU_USBIP_HEADER_SIZE];
    for (;;) {
        wait_room(c);
        if (owu_usbip_read_full(c->fd, hdr, OWU_USBIP_OP_HEADER_SIZE) != OWU_OK)
            return;
        owu_err err = {0};
        if (hdr[0] == (OWU_USBIP_VERSION >> 8) && hdr[1] == (OWU_USBIP_VERSION & 0xFF)) {
            struct owu_usbip_op_header h;
            if (owu_usbip_decode_op_header(hdr, OWU_USBIP_OP_HEADER_SIZE, 0, &h, &err) != OWU_OK)
                ;
            else if (h.code != OWU_DEVHOST_OP_REQ_CLAIM && h.code != OWU_DEVHOST_OP_REQ_RELEASE)
                owu_fail(&err, OWU_E_PARSE, "op code 0x%04X at offset 2 is not CLAIM or RELEASE", h.code);
            if (err.msg[0]) {
                fail_conn(c, &err);
                return;
            }
            handle_claim_op(c, &h);
            continue;
        }
        if (owu_usbip_read_full(c->fd, hdr + OWU_USBIP_OP_HEADER_SIZE,
                                OWU_USBIP_HEADER_SIZE - OWU_USBIP_OP_HEADER_SIZE) != OWU_OK)
            return;
        struct owu_usbip_pdu p;
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

static void drain(struct dh_conn *c)
{
    pthread_mutex_lock(&c->lock);
    c->closing = true;
    pthread_cond_broadcast(&c->cond);
    while (c->pending) {
        struct dh_urb *su = c->pending;
        while (su && su->unlink_requested)
            su = su->next;
        if (!su) {
            pthread_cond_wait(&c->cond, &c->lock);
            continue;
        }
        su->unlink_requested = true;
        su->refs++;
        pthread_mutex_unlock(&c->lock);
        owu_urb_cancel(&su->urb);
        pthread_mutex_lock(&c->lock);
        urb_unref_locked(su);
    }
    pthread_mutex_unlock(&c->lock);
}

/* ---- handshake ------------------------------------------------------------------------------------- */

static struct dh_dev *find_dev(struct owu_devhost_server *srv, const char *busid)
{
    for (size_t i = 0; i < srv->num_devs; i++)
        if (strcmp(srv->devs[i].busid, busid) == 0)
            return &srv->devs[i];
    return NULL;
}

static void reply_devlist(struct dh_conn *c)
{
    struct owu_devhost_server *srv = c->srv;
    pthread_mutex_lock(&srv->lock);
    size_t n = srv->num_devs, k = 0;
    struct owu_usbip_device *recs = calloc(n ? n : 1, sizeof *recs);
    for (size_t i = 0; recs && i < n; i++) {
        struct dh_dev *d = &srv->devs[i];
        if (owu_usb_device_gone(d->dev))
            continue;
        if (owu_usbip_device_record(d->dev, d->info, d->busid, d->config_value, &recs[k], NULL) == OWU_OK)
            k++;
    }
    pthread_mutex_unlock(&srv->lock);
    uint8_t *buf = NULL;
    size_t len = 0;
    if (recs && owu_usbip_encode_devlist(recs, k, &buf, &len, NULL) == OWU_OK)
        owu_usbip_write_full(c->fd, buf, len);
    free(buf);
    free(recs);
}

static bool handle_import(struct dh_conn *c, const uint8_t head[OWU_USBIP_OP_HEADER_SIZE])
{
    uint8_t req[OWU_USBIP_REQ_IMPORT_SIZE];
    memcpy(req, head, OWU_USBIP_OP_HEADER_SIZE);
    if (owu_usbip_read_full(c->fd, req + 8, sizeof req - 8) != OWU_OK)
        return false;
    /* Same layout as OP_REQ_IMPORT: decode it under the standard code. */
    req[2] = OWU_USBIP_OP_REQ_IMPORT >> 8;
    req[3] = OWU_USBIP_OP_REQ_IMPORT & 0xFF;
    char busid[OWU_USBIP_BUSID_SIZE];
    owu_err err = {0};
    uint8_t rep[OWU_USBIP_REP_IMPORT_SIZE];
    if (owu_usbip_decode_req_import(req, sizeof req, busid, &err) != OWU_OK) {
        fail_conn(c, &err);
        int n = owu_usbip_encode_rep_import(rep, OWU_USBIP_ST_ERROR, NULL, NULL);
        owu_usbip_write_full(c->fd, rep, (size_t)n);
        return false;
    }
    struct owu_devhost_server *srv = c->srv;
    struct owu_usbip_device rec;
    uint32_t status = OWU_USBIP_ST_OK;
    pthread_mutex_lock(&srv->lock);
    struct dh_dev *d = find_dev(srv, busid);
    if (!d || owu_usb_device_gone(d->dev))
        status = OWU_USBIP_ST_NODEV;
    else if (owu_usbip_device_record(d->dev, d->info, d->busid, d->config_value, &rec, &err) != OWU_OK)
        status = OWU_USBIP_ST_DEV_ERR;
    pthread_mutex_unlock(&srv->lock);
    int n = owu_usbip_encode_rep_import(rep, status, status == OWU_USBIP_ST_OK ? &rec : NULL, &err);
    if (n < 0 || owu_usbip_write_full(c->fd, rep, (size_t)n) != OWU_OK || status != OWU_USBIP_ST_OK)
        return false;
    c->d = d;
    c->devid = rec.busnum << 16 | rec.devnum;
    return true;
}

static void release_claims(struct dh_conn *c)
{
    struct owu_devhost_server *srv = c->srv;
    if (!c->d)
        return;
    pthread_mutex_lock(&srv->lock);
    for (unsigned i = 0; i < 256; i++)
        if (c->d->owner[i] == c) {
            c->d->owner[i] = NULL;
            owu_dev_release_interface(c->d->dev, (uint8_t)i);
        }
    pthread_mutex_unlock(&srv->lock);
}

static void conn_free(struct dh_conn *c)
{
    struct dh_msg *m = c->out_head;
    while (m) {
        struct dh_msg *next = m->next;
        free(m);
        m = next;
    }
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static void *reader_main(void *arg)
{
    struct dh_conn *c = arg;
    struct owu_devhost_server *srv = c->srv;
    uint8_t head[OWU_USBIP_OP_HEADER_SIZE];
    struct owu_usbip_op_header h;
    owu_err err = {0};
    if (owu_usbip_read_full(c->fd, head, sizeof head) == OWU_OK) {
        if (owu_usbip_decode_op_header(head, sizeof head, 0, &h, &err) != OWU_OK ||
            (h.code != OWU_USBIP_OP_REQ_DEVLIST && h.code != OWU_DEVHOST_OP_REQ_IMPORT_SHARED)) {
            if (!err.msg[0])
                owu_fail(&err, OWU_E_PARSE, "op code 0x%04X at offset 2: expected OP_REQ_DEVLIST or the "
                         "shared import 0x%04X", h.code, OWU_DEVHOST_OP_REQ_IMPORT_SHARED);
            fail_conn(c, &err);
        } else if (h.code == OWU_USBIP_OP_REQ_DEVLIST) {
            reply_devlist(c);
        } else if (handle_import(c, head)) {
            /* The handshake had a receive timeout; URB traffic may idle for ever. */
            struct timeval tv = {0};
            setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            if (pthread_create(&c->writer, NULL, writer_main, c) == 0) {
                c->writer_started = true;
                urb_phase(c);
            }
            shutdown(c->fd, SHUT_RD);
            drain(c);
            release_claims(c);
            if (c->writer_started)
                pthread_join(c->writer, NULL);
        }
    }
    shutdown(c->fd, SHUT_RDWR);
    pthread_mutex_lock(&srv->lock);
    for (struct dh_conn **pp = &srv->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    srv->num_conns--;
    pthread_cond_broadcast(&srv->cond);
    pthread_mutex_unlock(&srv->lock);
    close(c->fd);
    conn_free(c);
    return NULL;
}

/* ---- accepting --------------------------------------------------------------------------------------- */

static void *accept_main(void *arg)
{
    struct owu_devhost_server *srv = arg;
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
        struct dh_conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->srv = srv;
        c->fd = fd;
        pthread_mutex_init(&c->lock, NULL);
        pthread_cond_init(&c->cond, NULL);
        pthread_mutex_lock(&srv->lock);
        if (srv->stopping || srv->num_conns >= DH_MAX_CONNS) {
            bool stop = srv->stopping;
            pthread_mutex_unlock(&srv->lock);
            close(fd);
            conn_free(c);
            if (stop)
                break;
            continue;
        }
        struct timeval tv = {.tv_sec = 10};   /* the handshake must not hold a thread for ever */
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

/* ---- public ---------------------------------------------------------------------------------------------- */

struct owu_devhost_server *owu_devhost_server_new(owu_err *err)
{
    struct owu_devhost_server *srv = calloc(1, sizeof *srv);
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

static uint8_t active_config(struct owu_usb_device *dev, const struct owu_devinfo *info)
{
    uint8_t value = 0;
    if (owu_control_sync(dev, OWU_DIR_IN | OWU_TYPE_STANDARD | OWU_RECIP_DEVICE, OWU_REQ_GET_CONFIGURATION,
                         0, 0, &value, 1, DH_STD_TIMEOUT_MS) == 1)
        return value;
    return info->num_configs && info->configs[0].len > 5 ? info->configs[0].data[5] : 0;
}

int owu_devhost_server_add(struct owu_devhost_server *srv, struct owu_usb_device *dev,
                           const struct owu_devinfo *info, const char *busid, owu_err *err)
{
    if (!dev || !busid || !*busid || strlen(busid) >= OWU_USBIP_BUSID_SIZE)
        return owu_fail(err, OWU_E_INVAL, "device host: no device, or busid empty or longer than 31 characters");
    if (!info || info->device_len < OWU_DEVICE_DESC_SIZE || info->failure != OWU_FAIL_NONE)
        return owu_fail(err, OWU_E_NODEV, "device host: %s was not enumerated successfully", dev->location);
    uint8_t cfg = active_config(dev, info);
    pthread_mutex_lock(&srv->lock);
    if (srv->started || find_dev(srv, busid)) {
        pthread_mutex_unlock(&srv->lock);
        return owu_fail(err, OWU_E_BUSY, "device host: %s added twice or after the start", busid);
    }
    struct owu_devinfo *copy = owu_devinfo_clone(info);
    struct dh_dev *grown = copy ? realloc(srv->devs, (srv->num_devs + 1) * sizeof *grown) : NULL;
    if (!grown) {
        owu_devinfo_free(copy);
        pthread_mutex_unlock(&srv->lock);
        return owu_fail(err, OWU_E_NOMEM, "out of memory");
    }
    srv->devs = grown;
    struct dh_dev *d = &srv->devs[srv->num_devs++];
    memset(d, 0, sizeof *d);
    owu_usb_device_ref(dev);
    d->dev = dev;
    d->info = copy;
    d->config_value = cfg;
    snprintf(d->busid, sizeof d->busid, "%s", busid);
    rebuild_endpoints(d);
    pthread_mutex_unlock(&srv->lock);
    return OWU_OK;
}

/* Every device node (not the composite functions below them) with a live device. */
static int add_nodes(struct owu_devhost_server *srv, struct owu_devnode *n, unsigned *count, owu_err *err)
{
    for (; n; n = n->next_sibling) {
        if (n->kind == OWU_NODE_DEVICE && n->bus_device && n->info) {
            struct owu_usb_device *dev = n->bus_device;
            owu_err e = {0};
            int rc = owu_devhost_server_add(srv, dev, n->info, dev->location, &e);
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
        int rc = add_nodes(srv, n->first_child, count, err);
        if (rc != OWU_OK)
            return rc;
    }
    return OWU_OK;
}

int owu_devhost_server_add_stack(struct owu_devhost_server *srv, struct owu_stack *stack, unsigned *count,
                                 owu_err *err)
{
    unsigned n = 0;
    owu_stack_lock(stack);
    int rc = add_nodes(srv, owu_stack_tree(stack), &n, err);
    owu_stack_unlock(stack);
    if (count)
        *count = n;
    return rc;
}

int owu_devhost_server_start(struct owu_devhost_server *srv, const char *path, owu_err *err)
{
    if (srv->started)
        return owu_fail(err, OWU_E_BUSY, "device host: already started");
    struct sockaddr_un sa;
    int rc = fill_addr(&sa, path, err);
    if (rc != OWU_OK)
        return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return owu_fail(err, OWU_E_IO, "device host: socket: %s", strerror(errno));
    /* A stale socket of a host that died: replace it (a live one would answer connect). */
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0;
        if (probe >= 0)
            close(probe);
        if (live) {
            close(fd);
            return owu_fail(err, OWU_E_BUSY, "device host: another host is serving %s", path);
        }
        unlink(path);
    }
    mode_t old = umask(0077);   /* the socket is the owner's only */
    int b = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (b != 0 || listen(fd, 64) != 0) {
        int e = errno;
        close(fd);
        return owu_fail(err, OWU_E_IO, "device host: cannot listen on %s: %s", path, strerror(e));
    }
    if (pipe2(srv->wake, O_CLOEXEC) != 0) {
        close(fd);
        unlink(path);
        return owu_fail(err, OWU_E_IO, "device host: pipe: %s", strerror(errno));
    }
    srv->listen_fd = fd;
    snprintf(srv->path, sizeof srv->path, "%s", path);
    if (pthread_create(&srv->acceptor, NULL, accept_main, srv) != 0) {
        close(fd);
        close(srv->wake[0]);
        close(srv->wake[1]);
        unlink(path);
        srv->listen_fd = srv->wake[0] = srv->wake[1] = -1;
        srv->path[0] = '\0';
        return owu_fail(err, OWU_E_NOMEM, "device host: cannot start the accept thread");
    }
    pthread_mutex_lock(&srv->lock);
    srv->started = true;
    pthread_mutex_unlock(&srv->lock);
    return OWU_OK;
}

unsigned owu_devhost_server_protocol_errors(struct owu_devhost_server *srv)
{
    pthread_mutex_lock(&srv->lock);
    unsigned n = srv->protocol_errors;
    pthread_mutex_unlock(&srv->lock);
    return n;
}

void owu_devhost_server_free(struct owu_devhost_server *srv)
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
    }
    pthread_mutex_lock(&srv->lock);
    while (srv->conns) {
        for (struct dh_conn *c = srv->conns; c; c = c->next)
            shutdown(c->fd, SHUT_RDWR);
        pthread_cond_wait(&srv->cond, &srv->lock);
    }
    pthread_mutex_unlock(&srv->lock);
    if (srv->listen_fd >= 0)
        close(srv->listen_fd);
    if (srv->path[0])
        unlink(srv->path);
    for (int i = 0; i < 2; i++)
        if (srv->wake[i] >= 0)
            close(srv->wake[i]);
    for (size_t i = 0; i < srv->num_devs; i++) {
        owu_devinfo_free(srv->devs[i].info);
        owu_usb_device_unref(srv->devs[i].dev);
    }
    free(srv->devs);
    pthread_cond_destroy(&srv->cond);
    pthread_mutex_destroy(&srv->lock);
    free(srv);
}
