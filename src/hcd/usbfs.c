/* The Linux usbfs backend (see usbfs.h and docs/usbfs.md).
 *
 * Threads and the one completion path:
 *   - owners submit and cancel on their own threads (SUBMITURB / DISCARDURB under the bus
 *     lock, never blocking);
 *   - the reaper thread polls every open device fd plus a wake-up pipe, reaps finished
 *     usbfs URBs with REAPURBNDELAY, and is the only place an owu_urb is completed and a
 *     vanished device is finalised (fd closed, owu_hcd_device_left reported);
 *   - the monitor thread reads NETLINK_KOBJECT_UEVENT: "add" opens the device and reports
 *     it, "remove" only nudges the reaper (the kernel's ENODEV is what finalises).
 * One owu_urb is one "xfer" holding one or more usbfs URBs ("kurbs"); it completes when
 * its last kurb has been reaped. owu_urb_done is always called with no backend lock held.
 */
#include "hcd/usbfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/netlink.h>
#include <linux/usbdevice_fs.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openwinusb/profile.h>

#include "core/clock.h"
#include "core/file_read.h"
#include "hcd/usbfs_internal.h"

#define REAP_BATCH 64            /* kurbs reaped per device per wake-up (fairness) */
#define SHUTDOWN_WAIT_MS 5000    /* how long shutdown waits for the kernel to give URBs back */
#define CONFIG_SETTLE_MS 1000    /* how long a new device may take to get configured */
#define UEVENT_BUF 8192
/* A transfer that failed with a bus-level error (EPROTO and friends) is what a surprise
 * removal looks like before the hub driver notices the disconnect. Such completions wait
 * this long for the device to vanish, so that the owner sees OWU_E_NODEV as on Windows. */
#define GONE_GRACE_MS 1000

struct usbfs_bus;
struct usbfs_xfer;

struct kurb {
    struct usbfs_xfer *x;
    unsigned index;
    bool retired;
    size_t offset;               /* where its data goes in the owner's buffer (bulk) */
    struct usbdevfs_urb *u;      /* what the kernel sees; u->usercontext = this */
};

struct usbfs_xfer {
    struct owu_urb *urb;
    struct usbfs_dev *ud;
    struct usbfs_xfer *next;     /* in ud->pending (then ud->held or a done list) */
    struct usbfs_xfer **pprev;   /* what points at it in ud->pending; NULL when not there */
    struct kurb *k;
    unsigned submitted, retired;
    uint8_t *bounce;             /* control (setup + data) and iso staging */
    size_t actual;
    int status;                  /* first real failure, OWU_OK otherwise */
    bool stopping;               /* the rest is being discarded (short packet, error, cancel) */
    bool owner_cancel;
    bool killed;                 /* some kurb came back discarded */
    bool bus_error;              /* some kurb failed with a low-level bus error */
    uint64_t deadline_ns;        /* held back until then (see GONE_GRACE_MS) */
    int final;                   /* status delivered to the owner */
    size_t alloc;                /* kurbs allocated (submitted may be fewer) */
};

struct usbfs_map {
    void *addr;
    size_t len;
    bool mmapped;
    struct usbfs_map *next;
};

struct usbfs_dev {
    struct usbfs_bus *bus;
    struct owu_usb_device *dev;  /* the backend's reference until the device is finalised */
    struct usbfs_dev *next;      /* in bus->devices while open */
    int fd;                      /* open until the device object is released */
    bool finalised;              /* out of the poll set, owu_hcd_device_left reported */
    unsigned busnum, devnum;
    char name[64];               /* sysfs directory name ("1-2.3") */
    uint32_t caps;
    struct usbfs_xfer *pending;
    struct usbfs_xfer *held;     /* finished with a bus error, waiting to see if it is gone */
    struct usbfs_map *maps;
    uint8_t detached[32];        /* interfaces whose kernel driver we unbound */
    bool disconnected;           /* the kernel said ENODEV / hang-up */
    bool closing;                /* shutdown: everything is being discarded */
    bool removed_hint;           /* a "remove" uevent named it */
    bool unreapable;             /* REAPURBNDELAY itself fails: left out of the poll set */
    bool announcing;             /* owu_hcd_device_arrived is running for it */
    bool left_deferred;          /* finalised while announcing: report left afterwards */
};

struct usbfs_bus {
    struct owu_hcd hcd;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct usbfs_dev *devices;
    int wake[2];                 /* reaper wake-up pipe */
    int mon_wake[2];             /* monitor wake-up pipe */
    int nl;                      /* netlink socket, -1 when hotplug is unavailable */
    pthread_t reaper, monitor;
    bool reaper_running, monitor_running;
    bool stop_reaper, stop_monitor;
    size_t max_urb;              /* OPENWINUSB_USBFS_MAX_URB, 0 = none */
    bool enomem_reported;
};

static struct usbfs_bus *to_bus(struct owu_hcd *hcd) { return (struct usbfs_bus *)hcd; }

static void wake_fd(int fd)
{
    char c = 1;
    ssize_t r = write(fd, &c, 1);
    (void)r;   /* a full pipe already means "wake up" */
}

static void drain_fd(int fd)
{
    char buf[64];
    while (read(fd, buf, sizeof buf) > 0) {
    }
}

/* The live usbfs device behind dev, with the bus lock held; NULL when gone. */
static struct usbfs_dev *live(struct owu_usb_device *dev)
{
    struct usbfs_dev *ud = dev->hcd_priv;
    return ud && !ud->finalised && !ud->disconnected && !ud->closing ? ud : NULL;
}


/* ---- completion ------------------------------------------------------------------------ */

static void free_xfer(struct usbfs_xfer *x)
{
    if (!x)
        return;
    if (x->k)
        for (size_t i = 0; i < x->alloc; i++)
            free(x->k[i].u);
    free(x->k);
    free(x->bounce);
    free(x);
}

/* Asks the kernel to give back every kurb not yet reaped, newest first (so a later kurb
 * cannot take data meant for an earlier one). Bus lock held. */
static void discard_rest(struct usbfs_xfer *x)
{
    x->stopping = true;
    for (unsigned i = x->submitted; i-- > 0;)
        if (!x->k[i].retired)
            ioctl(x->ud->fd, USBDEVFS_DISCARDURB, x->k[i].u);   /* EINVAL: already done */
}

/* Puts x on ud->pending / takes it off again, in O(1). Bus lock held. */
static void link_xfer(struct usbfs_dev *ud, struct usbfs_xfer *x)
{
    x->next = ud->pending;
    if (x->next)
        x->next->pprev = &x->next;
    x->pprev = &ud->pending;
    ud->pending = x;
}

static void unlink_xfer(struct usbfs_xfer *x)
{
    if (x->pprev) {
        *x->pprev = x->next;
        if (x->next)
            x->next->pprev = x->pprev;
    }
    x->pprev = NULL;
    x->next = NULL;
}

static int final_status(const struct usbfs_xfer *x)
{
    if (x->ud->disconnected)
        return OWU_E_NODEV;
    if (x->status != OWU_OK)
        return x->status;
    if (x->owner_cancel && x->killed)
        return OWU_E_CANCELLED;
    return OWU_OK;
}

/* Takes x off its device and fixes its result; it then belongs to the done list. */
static void finish(struct usbfs_xfer *x, struct usbfs_xfer **done)
{
    struct usbfs_dev *ud = x->ud;
    unlink_xfer(x);
    x->final = final_status(x);
    x->urb->hcd_priv = NULL;   /* from here on cancel answers OWU_E_NOTFOUND */
    if (x->bus_error && x->final != OWU_E_NODEV && !ud->closing && !ud->finalised) {
        x->deadline_ns = owu_now_ns() + GONE_GRACE_MS * 1000000ull;
        x->next = ud->held;
        ud->held = x;
        return;
    }
    x->next = *done;
    *done = x;
}

/* Moves held xfers to the done list: all of them once the device is gone (as
 * OWU_E_NODEV), else those whose grace time is over. Returns the earliest deadline left
 * (0 = none). Bus lock held. */
static uint64_t release_held(struct usbfs_dev *ud, uint64_t now, struct usbfs_xfer **done)
{
    uint64_t next = 0;
    for (struct usbfs_xfer **pp = &ud->held; *pp;) {
        struct usbfs_xfer *x = *pp;
        if (ud->disconnected || ud->finalised || x->deadline_ns <= now) {
            if (ud->disconnected || ud->finalised)
                x->final = OWU_E_NODEV;
            *pp = x->next;
            x->next = *done;
            *done = x;
            continue;
        }
        if (!next || x->deadline_ns < next)
            next = x->deadline_ns;
        pp = &x->next;
    }
    return next;
}

static bool is_bus_error(int kernel_status)
{
    switch (-kernel_status) {
    case EPROTO: case EILSEQ: case ETIME: case ECOMM: case ENOSR: case EIO:
        return true;
    default:
        return false;
    }
}

static void note_status(struct usbfs_xfer *x, int st)
{
    if (st == OWU_E_CANCELLED)
        x->killed = true;
    else if (st != OWU_OK && x->status == OWU_OK)
        x->status = st;
}

/* Bookkeeping for one reaped kurb. Bus lock held. */
static void retire(struct kurb *k, struct usbfs_xfer **done)
{
    struct usbfs_xfer *x = k->x;
    struct owu_urb *urb = x->urb;
    struct usbdevfs_urb *u = k->u;
    k->retired = true;
    x->retired++;
    int st = owu_usbfs_urb_status(u->status);
    if (is_bus_error(u->status))
        x->bus_error = true;
    size_t got = u->actual_length > 0 ? (size_t)u->actual_length : 0;
    bool last = k->index + 1 == x->submitted;

    switch (urb->type) {
    case OWU_XFER_CONTROL:
        if (got > urb->setup.wLength)
            got = urb->setup.wLength;
        if (owu_urb_is_in(urb) && got)
            memcpy(urb->buffer, x->bounce + 8, got);
        x->actual = got;
        note_status(x, st);
        break;
    case OWU_XFER_ISOCHRONOUS: {
        unsigned first = k->index * OWU_USBFS_ISO_MAX_PACKETS;
        size_t pos = 0;
        for (int i = 0; i < u->number_of_packets; i++) {
            struct owu_iso_packet *p = &urb->iso[first + (unsigned)i];
            const struct usbdevfs_iso_packet_desc *d = &u->iso_frame_desc[i];
            size_t a = d->actual_length < p->length ? d->actual_length : p->length;
            if (owu_urb_is_in(urb) && a)
                memcpy(urb->buffer + p->offset, (uint8_t *)u->buffer + pos, a);
            p->actual = (uint32_t)a;
            p->status = owu_usbfs_urb_status((int)d->status);
            pos += d->length;
            x->actual += a;
        }
        if (k->index == 0)
            urb->start_frame = (uint32_t)u->start_frame;
        note_status(x, st);
        break;
    }
    default: {
        /* Data lands at k->offset; after a short kurb, whatever later kurbs still received
         * is moved down so the owner's buffer stays contiguous. */
        size_t want = (size_t)u->buffer_length;
        if (got > want)
            got = want;
        if (owu_urb_is_in(urb) && got && k->offset != x->actual)
            memmove(urb->buffer + x->actual, urb->buffer + k->offset, got);
        x->actual += got;
        bool is_short = got < want;
        /* -EREMOTEIO on a kurb flagged SHORT_NOT_OK only to stop the chain is a plain short
         * packet; under the owner's own SHORT_NOT_OK it is an error. */
        if (u->status == -EREMOTEIO && !(urb->flags & OWU_URB_SHORT_NOT_OK))
            st = OWU_OK;
        note_status(x, st);
        if (st == OWU_OK && is_short && owu_urb_is_in(urb) && (urb->flags & OWU_URB_SHORT_NOT_OK))
            note_status(x, OWU_E_IO);
        if ((is_short || (st != OWU_OK && st != OWU_E_CANCELLED)) && !last && !x->stopping)
            discard_rest(x);
        break;
    }
    }
    if (x->retired == x->submitted)
        finish(x, done);
}

/* Delivers finished xfers; no lock held. */
static void deliver(struct usbfs_xfer *list)
{
    /* Finished transfers are pushed on the front of the round's list as they are reaped;
     * owners expect completions in the order the device finished them (a serial stream
     * with several reads in flight), so reverse the list first. */
    struct usbfs_xfer *in_order = NULL;
    while (list) {
        struct usbfs_xfer *next = list->next;
        list->next = in_order;
        in_order = list;
        list = next;
    }
    list = in_order;
    while (list) {
        struct usbfs_xfer *next = list->next;
        struct owu_urb *urb = list->urb;
        int status = list->final;
        size_t actual = list->actual;
        free_xfer(list);
        owu_urb_done(urb, status, actual);
        list = next;
    }
}

/* ---- device lifetime ------------------------------------------------------------------- */

/* Takes ud out of the poll set; every xfer still pending is completed with OWU_E_NODEV
 * (the kernel never gives those back: the fd stays open but is never reaped again, so the
 * kernel does not write into them). Bus lock held; returns whether device_left must be
 * reported now (else the announcing thread reports it). */
static bool finalise(struct usbfs_dev *ud, struct usbfs_xfer **done)
{
    struct usbfs_bus *bus = ud->bus;
    for (struct usbfs_dev **pp = &bus->devices; *pp; pp = &(*pp)->next)
        if (*pp == ud) {
            *pp = ud->next;
            break;
        }
    ud->next = NULL;
    ud->finalised = true;
    ud->disconnected = true;
    while (ud->pending)
        finish(ud->pending, done);
    release_held(ud, 0, done);
    pthread_cond_broadcast(&bus->cond);
    if (ud->announcing) {
        ud->left_deferred = true;
        return false;
    }
    return true;
}

static void report_left(struct usbfs_bus *bus, struct usbfs_dev **list)
{
    while (*list) {
        struct usbfs_dev *ud = *list;
        *list = ud->next;
        ud->next = NULL;
        struct owu_usb_device *dev = ud->dev;
        owu_hcd_device_left(&bus->hcd, dev);
        owu_usb_device_unref(dev);   /* the backend's reference */
    }
}

static void usbfs_release_device(struct owu_usb_device *dev)
{
    struct usbfs_dev *ud = dev->hcd_priv;
    if (!ud)
        return;
    dev->hcd_priv = NULL;
    while (ud->maps) {
        struct usbfs_map *m = ud->maps;
        ud->maps = m->next;
        if (m->mmapped)
            munmap(m->addr, m->len);
        else
            free(m->addr);
        free(m);
    }
    if (ud->fd >= 0)
        close(ud->fd);
    free(ud);
}

/* ---- reaper thread --------------------------------------------------------------------- */

static void reap_device(struct usbfs_dev *ud, bool hangup, struct usbfs_xfer **done)
{
    for (int i = 0; i < REAP_BATCH; i++) {
        void *p = NULL;
        if (ioctl(ud->fd, USBDEVFS_REAPURBNDELAY, &p) == 0) {
            struct usbdevfs_urb *u = p;
            if (u && u->usercontext)
                retire(u->usercontext, done);
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN) {
            /* A hang-up with nothing left to reap is a disconnect, even on kernels that
             * answer EAGAIN rather than ENODEV then. */
            if (hangup)
                ud->disconnected = true;
            return;
        }
        if (errno == ENODEV || errno == ESHUTDOWN)
            ud->disconnected = true;   /* everything has been given back */
        else
            ud->unreapable = true;     /* not a usbfs node (ENOTTY): never poll it again */
        return;
    }
    /* More may be waiting: poll will say so at once. */
}

static void *reaper_main(void *arg)
{
    struct usbfs_bus *bus = arg;
    struct pollfd *pfd = NULL;
    struct usbfs_dev **who = NULL;
    size_t cap = 0;
    uint64_t wake_at = 0;   /* earliest deadline among the held xfers (0 = none) */
    pthread_mutex_lock(&bus->lock);
    while (!bus->stop_reaper) {
        size_t n = 1;
        for (struct usbfs_dev *ud = bus->devices; ud; ud = ud->next)
            n++;
        if (n > cap) {
            struct pollfd *np = realloc(pfd, n * sizeof *np);
            if (np)
                pfd = np;
            struct usbfs_dev **nw = realloc(who, n * sizeof *nw);
            if (nw)
                who = nw;
            if (!np || !nw) {
                /* Cannot grow the poll set: wait for memory rather than spin. */
                pthread_mutex_unlock(&bus->lock);
                usleep(10000);
                pthread_mutex_lock(&bus->lock);
                continue;
            }
            cap = n;
        }
        pfd[0] = (struct pollfd){.fd = bus->wake[0], .events = POLLIN};
        n = 1;
        for (struct usbfs_dev *ud = bus->devices; ud; ud = ud->next) {
            if (ud->unreapable && !ud->closing)
                continue;
            pfd[n] = (struct pollfd){.fd = ud->fd, .events = POLLOUT};
            who[n++] = ud;
        }
        uint64_t now = owu_now_ns();
        int timeout = -1;
        if (wake_at)
            timeout = wake_at <= now ? 0 : (int)((wake_at - now) / 1000000u) + 1;
        pthread_mutex_unlock(&bus->lock);
        int r = poll(pfd, (nfds_t)n, timeout);
        pthread_mutex_lock(&bus->lock);
        if (r < 0)
            continue;
        if (pfd[0].revents)
            drain_fd(bus->wake[0]);
        struct usbfs_xfer *done = NULL;
        struct usbfs_dev *left = NULL;
        for (size_t i = 1; i < n; i++) {
            struct usbfs_dev *ud = who[i];
            if (ud->finalised)
                continue;
            bool hangup = (pfd[i].revents & (POLLHUP | POLLERR | POLLNVAL)) != 0;
            if (pfd[i].revents || ud->removed_hint || ud->closing)
                reap_device(ud, hangup, &done);
        }
        /* Devices that are gone (or being shut down) and hold nothing more leave now. Only
         * this thread adds to the held lists (retire, above), so the earliest deadline left
         * here is still the earliest when the next round polls. */
        now = owu_now_ns();
        wake_at = 0;
        for (struct usbfs_dev *ud = bus->devices, *next; ud; ud = next) {
            next = ud->next;
            uint64_t due = release_held(ud, now, &done);
            if (due && (!wake_at || due < wake_at))
                wake_at = due;
            if ((ud->disconnected || ud->closing) && !ud->pending && finalise(ud, &done)) {
                ud->next = left;
                left = ud;
            }
        }
        pthread_mutex_unlock(&bus->lock);
        deliver(done);
        report_left(bus, &left);
        pthread_mutex_lock(&bus->lock);
    }
    pthread_mutex_unlock(&bus->lock);
    free(pfd);
    free(who);
    return NULL;
}

/* ---- opening devices ------------------------------------------------------------------- */

static enum owu_speed speed_from_kernel(int s)
{
    switch (s) {
    case 1: return OWU_SPEED_LOW;
    case 2: return OWU_SPEED_FULL;
    case 3: return OWU_SPEED_HIGH;
    case 5: return OWU_SPEED_SUPER;
    case 6: return OWU_SPEED_SUPER_PLUS;
    default: return OWU_SPEED_UNKNOWN;
    }
}

static struct usbfs_dev *find_open(struct usbfs_bus *bus, unsigned busnum, unsigned devnum)
{
    /* A device on its way out does not count: the kernel may already have given its
     * address to a new one. */
    for (struct usbfs_dev *ud = bus->devices; ud; ud = ud->next)
        if (ud->busnum == busnum && ud->devnum == devnum && !ud->disconnected && !ud->removed_hint)
            return ud;
    return NULL;
}

/* The active configuration as the kernel sees it: sysfs bConfigurationValue ("" = none);
 * -1 when unknown. */
static int active_config(const char *name)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s/bConfigurationValue", owu_usbfs_sysfs_root(),
                         name) >= sizeof path)
        return -1;
    char *text = NULL;
    size_t len = 0;
    if (owu_read_file(path, 64, &text, &len, NULL) != OWU_OK)
        return -1;
    int v = 0;
    size_t i = 0;
    for (; i < len && text[i] >= '0' && text[i] <= '9' && v < 1000; i++)
        v = v * 10 + (text[i] - '0');
    bool ok = i == len || text[i] == '\n';
    free(text);
    return ok ? v : -1;
}

/* A device that has just appeared is configured by the kernel right after its "add"
 * event; wait (bounded) so our SET_CONFIGURATION does not race the kernel's. */
static void wait_configured(const char *name)
{
    for (int waited = 0; waited < CONFIG_SETTLE_MS; waited += 10) {
        if (active_config(name) != 0)
            return;
        usleep(10000);
    }
}

/* Opens and announces one device (idempotent: an open device is left alone). */
static int add_device(struct usbfs_bus *bus, const struct owu_usbfs_entry *e, bool settle)
{
    pthread_mutex_lock(&bus->lock);
    bool known = find_open(bus, e->busnum, e->devnum) != NULL;
    pthread_mutex_unlock(&bus->lock);
    if (known)
        return OWU_OK;
    if (settle)
        wait_configured(e->name);

    char path[PATH_MAX];
    if (owu_usbfs_node_path(owu_usbfs_dev_root(), e->busnum, e->devnum, path, sizeof path) != OWU_OK)
        return OWU_E_INVAL;
    int fd = -1;
    /* devtmpfs creates the node before the event; a udev-managed /dev may lag a little. */
    for (int tries = 0; tries < 50; tries++) {
        fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd >= 0 || errno != ENOENT || !settle)
            break;
        usleep(10000);
    }
    if (fd < 0) {
        int e2 = errno;
        if (e2 == EACCES || e2 == EPERM) {
            char msg[512];
            owu_usbfs_access_message(path, e2, msg, sizeof msg);
            fprintf(stderr, "openwinusb: %s\n", msg);
            return OWU_E_ACCESS;
        }
        if (e2 != ENOENT && e2 != ENODEV)
            fprintf(stderr, "openwinusb: %s: cannot open: %s\n", path, strerror(e2));
        return owu_usbfs_errno_status(e2);
    }
    uint32_t caps = 0;
    if (ioctl(fd, USBDEVFS_GET_CAPABILITIES, &caps) != 0)
        caps = 0;

    /* Speed, location ("usbfs:B-P.P"), port and removability as sysfs tells them. */
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s", owu_usbfs_sysfs_root(), e->name);
    struct owu_devinfo *info = NULL;
    enum owu_speed speed = OWU_SPEED_UNKNOWN;
    unsigned port = 0;
    bool removable = true;
    char location[96];
    snprintf(location, sizeof location, "usbfs:%u-%s", e->busnum, e->devpath);
    if (owu_sysfs_read_devinfo(dir, &info, NULL) == OWU_OK) {
        speed = info->speed;
        port = info->port;
        removable = info->removable;
        snprintf(location, sizeof location, "%s", info->location);
        owu_devinfo_free(info);
    }
    if (speed == OWU_SPEED_UNKNOWN) {
        int ks = ioctl(fd, USBDEVFS_GET_SPEED);
        speed = ks >= 0 ? speed_from_kernel(ks) : OWU_SPEED_UNKNOWN;
    }
    if (port == 0) {
        const char *dot = strrchr(e->devpath, '.');
        port = (unsigned)strtoul(dot ? dot + 1 : e->devpath, NULL, 10);
    }

    struct usbfs_dev *ud = calloc(1, sizeof *ud);
    struct owu_usb_device *dev = ud ? owu_usb_device_new(&bus->hcd, port, speed) : NULL;
    if (!dev) {
        free(ud);
        close(fd);
        return OWU_E_NOMEM;
    }
    snprintf(dev->location, sizeof dev->location, "%s", location);
    dev->removable = removable;
    dev->address = (uint8_t)e->devnum;
    ud->bus = bus;
    ud->dev = dev;
    ud->fd = fd;
    ud->busnum = e->busnum;
    ud->devnum = e->devnum;
    ud->caps = caps;
    snprintf(ud->name, sizeof ud->name, "%s", e->name);
    dev->hcd_priv = ud;

    pthread_mutex_lock(&bus->lock);
    if (find_open(bus, e->busnum, e->devnum)) {   /* the scan and an event raced */
        pthread_mutex_unlock(&bus->lock);
        owu_usb_device_unref(dev);                 /* closes fd, frees ud */
        return OWU_OK;
    }
    ud->announcing = true;
    ud->next = bus->devices;
    bus->devices = ud;
    pthread_mutex_unlock(&bus->lock);
    wake_fd(bus->wake[1]);

    owu_hcd_device_arrived(&bus->hcd, dev);

    pthread_mutex_lock(&bus->lock);
    ud->announcing = false;
    bool left = ud->left_deferred;
    pthread_mutex_unlock(&bus->lock);
    if (left) {
        owu_hcd_device_left(&bus->hcd, dev);
        owu_usb_device_unref(dev);
    }
    return OWU_OK;
}

/* ---- hotplug monitor thread ------------------------------------------------------------ */

static void handle_uevent(struct usbfs_bus *bus, const struct owu_uevent *ev)
{
    if (!ev->usb_device || !owu_usbfs_is_device_name(ev->name))
        return;
    if (ev->action == OWU_UEVENT_ADD) {
        struct owu_usbfs_entry e;
        if (owu_usbfs_read_entry(owu_usbfs_sysfs_root(), ev->name, &e, NULL) != OWU_OK) {
            if (!ev->busnum || !ev->devnum)
                return;
            memset(&e, 0, sizeof e);
            snprintf(e.name, sizeof e.name, "%s", ev->name);
            snprintf(e.devpath, sizeof e.devpath, "%s", strchr(ev->name, '-') + 1);
            e.busnum = ev->busnum;
            e.devnum = ev->devnum;
        }
        add_device(bus, &e, true);
    } else if (ev->action == OWU_UEVENT_REMOVE) {
        pthread_mutex_lock(&bus->lock);
        for (struct usbfs_dev *ud = bus->devices; ud; ud = ud->next)
            if ((ev->busnum && ud->busnum == ev->busnum && ud->devnum == ev->devnum) ||
                strcmp(ud->name, ev->name) == 0)
                ud->removed_hint = true;
        pthread_mutex_unlock(&bus->lock);
        wake_fd(bus->wake[1]);
    }
}

static void *monitor_main(void *arg)
{
    struct usbfs_bus *bus = arg;
    char *buf = malloc(UEVENT_BUF);
    if (!buf)
        return NULL;
    for (;;) {
        struct pollfd pfd[2] = {{.fd = bus->nl, .events = POLLIN},
                                {.fd = bus->mon_wake[0], .events = POLLIN}};
        int r = poll(pfd, 2, -1);
        pthread_mutex_lock(&bus->lock);
        bool stop = bus->stop_monitor;
        pthread_mutex_unlock(&bus->lock);
        if (stop)
            break;
        if (r <= 0)
            continue;
        for (;;) {
            struct sockaddr_nl sa;
            socklen_t salen = sizeof sa;
            memset(&sa, 0, sizeof sa);
            ssize_t len = recvfrom(bus->nl, buf, UEVENT_BUF, MSG_DONTWAIT, (struct sockaddr *)&sa, &salen);
            if (len < 0) {
                if (errno == EINTR)
                    continue;
                break;   /* EAGAIN, or ENOBUFS after an overflow: lost events are lost */
            }
            /* Only the kernel (port id 0) speaks on group 1; anything else is ignored. */
            if (salen < sizeof sa || sa.nl_family != AF_NETLINK || sa.nl_pid != 0)
                continue;
            struct owu_uevent ev;
            if (owu_uevent_parse(buf, (size_t)len, &ev) == OWU_OK)
                handle_uevent(bus, &ev);
        }
    }
    free(buf);
    return NULL;
}

static int open_netlink(void)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
    if (fd < 0)
        return -1;
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = 1};
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- hcd ops --------------------------------------------------------------------------- */

static struct kurb *add_kurbs(struct usbfs_xfer *x, size_t count, size_t iso_packets)
{
    x->k = calloc(count, sizeof *x->k);
    if (!x->k)
        return NULL;
    x->alloc = count;
    for (size_t i = 0; i < count; i++) {
        x->k[i].x = x;
        x->k[i].index = (unsigned)i;
        x->k[i].u = calloc(1, sizeof(struct usbdevfs_urb) +
                                  iso_packets * sizeof(struct usbdevfs_iso_packet_desc));
        if (!x->k[i].u)
            return NULL;
        x->k[i].u->usercontext = &x->k[i];
    }
    return x->k;
}

static int build_control(struct usbfs_xfer *x)
{
    struct owu_urb *urb = x->urb;
    uint16_t wlen = urb->setup.wLength;
    if (wlen && (!urb->buffer || urb->length < wlen))
        return OWU_E_INVAL;
    if (!(x->bounce = malloc(8u + wlen)) || !add_kurbs(x, 1, 0))
        return OWU_E_NOMEM;
    owu_setup_pack(&urb->setup, x->bounce);
    if (!owu_urb_is_in(urb) && wlen)
        memcpy(x->bounce + 8, urb->buffer, wlen);
    struct usbdevfs_urb *u = x->k[0].u;
    u->type = USBDEVFS_URB_TYPE_CONTROL;
    u->endpoint = 0;
    u->buffer = x->bounce;
    u->buffer_length = 8 + wlen;
    return OWU_OK;
}

static int build_bulk(struct usbfs_xfer *x, uint32_t caps, size_t max_urb)
{
    struct owu_urb *urb = x->urb;
    bool in = owu_urb_is_in(urb);
    if (urb->length && !urb->buffer)
        return OWU_E_INVAL;
    struct owu_usbfs_plan plan;
    if (urb->type == OWU_XFER_INTERRUPT) {
        /* One URB: interrupt transfers are small, and the kernel would not chain them. */
        if (urb->length > OWU_USBFS_MAX_URB)
            return OWU_E_INVAL;
        plan = (struct owu_usbfs_plan){.chunk = urb->length, .count = 1};
    } else if (owu_usbfs_plan_bulk(urb->length, caps, max_urb, &plan) != OWU_OK) {
        return OWU_E_INVAL;
    }
    if (!add_kurbs(x, plan.count, 0))
        return OWU_E_NOMEM;
    for (unsigned i = 0; i < plan.count; i++) {
        struct usbdevfs_urb *u = x->k[i].u;
        bool last = i + 1 == plan.count;
        size_t off = (size_t)i * plan.chunk;
        size_t len = last ? urb->length - off : plan.chunk;
        x->k[i].offset = off;
        u->type = urb->type == OWU_XFER_INTERRUPT ? USBDEVFS_URB_TYPE_INTERRUPT : USBDEVFS_URB_TYPE_BULK;
        u->endpoint = urb->endpoint;
        u->buffer = urb->length ? urb->buffer + off : urb->buffer;
        u->buffer_length = (int)len;
        if (in && ((urb->flags & OWU_URB_SHORT_NOT_OK) || (plan.continuation && !last)))
            u->flags |= USBDEVFS_URB_SHORT_NOT_OK;
        if (plan.continuation && i > 0)
            u->flags |= USBDEVFS_URB_BULK_CONTINUATION;
        if (!in && last && (urb->flags & OWU_URB_ZERO_PACKET))
            u->flags |= USBDEVFS_URB_ZERO_PACKET;
    }
    return OWU_OK;
}

static int build_iso(struct usbfs_xfer *x)
{
    struct owu_urb *urb = x->urb;
    unsigned n = urb->num_iso_packets;
    if (n == 0 || !urb->iso || !urb->buffer)
        return OWU_E_INVAL;
    size_t total = 0;
    for (unsigned i = 0; i < n; i++) {
        const struct owu_iso_packet *p = &urb->iso[i];
        if ((size_t)p->offset > urb->length || p->length > urb->length - p->offset || p->length > 98304)
            return OWU_E_INVAL;
        total += p->length;
    }
    size_t count = (n + OWU_USBFS_ISO_MAX_PACKETS - 1) / OWU_USBFS_ISO_MAX_PACKETS;
    if (!(x->bounce = calloc(1, total ? total : 1)) || !add_kurbs(x, count, OWU_USBFS_ISO_MAX_PACKETS))
        return OWU_E_NOMEM;
    bool in = owu_urb_is_in(urb);
    size_t pos = 0;
    for (size_t k = 0; k < count; k++) {
        struct usbdevfs_urb *u = x->k[k].u;
        unsigned first = (unsigned)k * OWU_USBFS_ISO_MAX_PACKETS;
        unsigned np = n - first < OWU_USBFS_ISO_MAX_PACKETS ? n - first : OWU_USBFS_ISO_MAX_PACKETS;
        u->type = USBDEVFS_URB_TYPE_ISO;
        u->endpoint = urb->endpoint;
        u->buffer = x->bounce + pos;
        u->number_of_packets = (int)np;
        /* Only the first URB may ask for a given frame; the rest follow it. */
        if (k > 0 || (urb->flags & OWU_URB_ISO_ASAP))
            u->flags = USBDEVFS_URB_ISO_ASAP;
        else
            u->start_frame = (int)urb->start_frame;
        size_t bytes = 0;
        for (unsigned i = 0; i < np; i++) {
            const struct owu_iso_packet *p = &urb->iso[first + i];
            u->iso_frame_desc[i].length = p->length;
            if (!in && p->length)
                memcpy(x->bounce + pos + bytes, urb->buffer + p->offset, p->length);
            bytes += p->length;
        }
        u->buffer_length = (int)bytes;
        pos += bytes;
    }
    return OWU_OK;
}

static void report_enomem(struct usbfs_bus *bus, size_t length)
{
    pthread_mutex_lock(&bus->lock);
    bool first = !bus->enomem_reported;
    bus->enomem_reported = true;
    pthread_mutex_unlock(&bus->lock);
    if (first) {
        char msg[512];
        owu_usbfs_enomem_message(length, msg, sizeof msg);
        fprintf(stderr, "openwinusb: %s\n", msg);
    }
}

static int usbfs_submit(struct owu_urb *urb)
{
    struct usbfs_bus *bus = to_bus(urb->dev->hcd);
    struct usbfs_xfer *x = calloc(1, sizeof *x);
    if (!x)
        return OWU_E_NOMEM;
    x->urb = urb;

    pthread_mutex_lock(&bus->lock);
    struct usbfs_dev *ud = live(urb->dev);
    uint32_t caps = ud ? ud->caps : 0;
    pthread_mutex_unlock(&bus->lock);
    if (!ud) {
        free(x);
        return OWU_E_NODEV;
    }
    int rc;
    switch (urb->type) {
    case OWU_XFER_CONTROL: rc = build_control(x); break;
    case OWU_XFER_BULK:
    case OWU_XFER_INTERRUPT: rc = build_bulk(x, caps, bus->max_urb); break;
    case OWU_XFER_ISOCHRONOUS: rc = build_iso(x); break;
    default: rc = OWU_E_INVAL; break;
    }
    if (rc != OWU_OK) {
        free_xfer(x);
        return rc;
    }

    pthread_mutex_lock(&bus->lock);
    ud = live(urb->dev);
    if (!ud) {
        pthread_mutex_unlock(&bus->lock);
        free_xfer(x);
        return OWU_E_NODEV;
    }
    x->ud = ud;
    int err = 0;
    for (size_t i = 0; i < x->alloc; i++) {
        if (ioctl(ud->fd, USBDEVFS_SUBMITURB, x->k[i].u) == 0) {
            x->submitted++;
            continue;
        }
        if (errno == EINTR) {
            i--;   /* unsigned wrap-around, undone by the loop's i++ */
            continue;
        }
        err = errno;
        break;
    }
    if (err && x->submitted == 0) {
        if (err == ENODEV)
            ud->removed_hint = true;
        pthread_mutex_unlock(&bus->lock);
        if (err == ENODEV)
            wake_fd(bus->wake[1]);
        if (err == ENOMEM)
            report_enomem(bus, urb->length);
        free_xfer(x);
        return owu_usbfs_errno_status(err);
    }
    if (err) {
        /* Part of the transfer is on its way. EREMOTEIO: a short packet already ended it;
         * anything else fails the transfer once what was submitted has come back. */
        if (err != EREMOTEIO) {
            x->status = owu_usbfs_errno_status(err);
            discard_rest(x);
        }
    }
    urb->hcd_priv = x;
    link_xfer(ud, x);
    pthread_mutex_unlock(&bus->lock);
    if (err == ENOMEM)
        report_enomem(bus, urb->length);
    return OWU_OK;
}

static int usbfs_cancel(struct owu_urb *urb)
{
    struct usbfs_bus *bus = to_bus(urb->dev->hcd);
    int rc = OWU_E_NOTFOUND;
    pthread_mutex_lock(&bus->lock);
    /* hcd_priv is set when x goes on its device's pending list and cleared when it comes
     * off (usbfs_submit, finish), both under this lock: non-NULL means still pending. */
    struct usbfs_xfer *x = urb->hcd_priv;
    if (x) {
        if (!x->owner_cancel) {
            x->owner_cancel = true;
            discard_rest(x);
        }
        rc = OWU_OK;
    }
    pthread_mutex_unlock(&bus->lock);
    return rc;
}

/* The fd of a live device (it stays valid while the caller holds the device). */
static int live_fd(struct owu_usb_device *dev, struct usbfs_dev **out)
{
    struct usbfs_bus *bus = to_bus(dev->hcd);
    pthread_mutex_lock(&bus->lock);
    struct usbfs_dev *ud = live(dev);
    int fd = ud ? ud->fd : -1;
    pthread_mutex_unlock(&bus->lock);
    if (out)
        *out = ud;
    return fd;
}

static int ioctl_status(int fd, unsigned long req, void *arg)
{
    int r;
    do
        r = ioctl(fd, req, arg);
    while (r < 0 && errno == EINTR);
    return r < 0 ? owu_usbfs_errno_status(errno) : OWU_OK;
}

static int usbfs_set_configuration(struct owu_usb_device *dev, int value)
{
    struct usbfs_dev *ud;
    int fd = live_fd(dev, &ud);
    if (fd < 0)
        return OWU_E_NODEV;
    /* The kernel configured the device already; asking again for the same configuration
     * would make it reset the configuration (and fail while drivers hold interfaces). */
    int cur = active_config(ud->name);
    if (cur < 0) {
        uint8_t v = 0;
        struct usbdevfs_ctrltransfer ct = {.bRequestType = 0x80, .bRequest = OWU_REQ_GET_CONFIGURATION,
                                           .wLength = 1, .timeout = 1000, .data = &v};
        if (ioctl(fd, USBDEVFS_CONTROL, &ct) == 1)
            cur = v;
    }
    if (cur == (value < 0 ? 0 : value))
        return OWU_OK;
    int v = value;
    return ioctl_status(fd, USBDEVFS_SETCONFIGURATION, &v);
}

static int usbfs_set_interface(struct owu_usb_device *dev, uint8_t intf, uint8_t alt)
{
    int fd = live_fd(dev, NULL);
    if (fd < 0)
        return OWU_E_NODEV;
    struct usbdevfs_setinterface si = {.interface = intf, .altsetting = alt};
    return ioctl_status(fd, USBDEVFS_SETINTERFACE, &si);
}

static int usbfs_clear_halt(struct owu_usb_device *dev, uint8_t endpoint)
{
    int fd = live_fd(dev, NULL);
    if (fd < 0)
        return OWU_E_NODEV;
    unsigned ep = endpoint;
    return ioctl_status(fd, USBDEVFS_CLEAR_HALT, &ep);
}

static int usbfs_claim(struct owu_usb_device *dev, uint8_t intf, unsigned flags)
{
    struct usbfs_dev *ud;
    int fd = live_fd(dev, &ud);
    if (fd < 0)
        return OWU_E_NODEV;
    unsigned n = intf;
    if (!(flags & OWU_CLAIM_DETACH_KERNEL))
        return ioctl_status(fd, USBDEVFS_CLAIMINTERFACE, &n);   /* EBUSY: a kernel driver has it */

    struct usbdevfs_getdriver gd = {.interface = intf};
    bool had_driver = ioctl(fd, USBDEVFS_GETDRIVER, &gd) == 0 && strcmp(gd.driver, "usbfs") != 0;
    struct usbdevfs_disconnect_claim dc = {.interface = intf};
    int rc = ioctl_status(fd, USBDEVFS_DISCONNECT_CLAIM, &dc);
    if (rc == OWU_E_NOTSUP) {
        /* Kernels before 3.16: unbind, then claim (a driver may slip in between). */
        struct usbdevfs_ioctl cmd = {.ifno = intf, .ioctl_code = USBDEVFS_DISCONNECT};
        ioctl(fd, USBDEVFS_IOCTL, &cmd);
        rc = ioctl_status(fd, USBDEVFS_CLAIMINTERFACE, &n);
    }
    if (rc == OWU_OK && had_driver) {
        struct usbfs_bus *bus = to_bus(dev->hcd);
        pthread_mutex_lock(&bus->lock);
        ud->detached[intf / 8] |= (uint8_t)(1u << (intf % 8));
        pthread_mutex_unlock(&bus->lock);
    }
    return rc;
}

static int usbfs_release(struct owu_usb_device *dev, uint8_t intf)
{
    struct usbfs_dev *ud;
    int fd = live_fd(dev, &ud);
    if (fd < 0)
        return OWU_E_NODEV;
    unsigned n = intf;
    int rc = ioctl_status(fd, USBDEVFS_RELEASEINTERFACE, &n);
    struct usbfs_bus *bus = to_bus(dev->hcd);
    pthread_mutex_lock(&bus->lock);
    uint8_t bit = (uint8_t)(1u << (intf % 8));
    bool reattach = (ud->detached[intf / 8] & bit) != 0;
    ud->detached[intf / 8] &= (uint8_t)~bit;
    pthread_mutex_unlock(&bus->lock);
    if (rc == OWU_OK && reattach) {
        /* Give the interface back to the kernel driver we took it from. */
        struct usbdevfs_ioctl cmd = {.ifno = intf, .ioctl_code = USBDEVFS_CONNECT};
        ioctl(fd, USBDEVFS_IOCTL, &cmd);
    }
    return rc;
}

static int usbfs_reset_device(struct owu_usb_device *dev)
{
    int fd = live_fd(dev, NULL);
    if (fd < 0)
        return OWU_E_NODEV;
    int rc = ioctl_status(fd, USBDEVFS_RESET, NULL);
    if (rc != OWU_OK)
        return rc;
    /* usbfs has no reset hooks: the reset unbinds our claims, so take them again. */
    uint8_t claimed[sizeof dev->claimed];
    pthread_mutex_lock(&dev->lock);
    memcpy(claimed, dev->claimed, sizeof claimed);
    pthread_mutex_unlock(&dev->lock);
    for (unsigned i = 0; i < 8 * sizeof claimed; i++) {
        if (!(claimed[i / 8] & (1u << (i % 8))))
            continue;
        unsigned n = i;
        int r = ioctl_status(fd, USBDEVFS_CLAIMINTERFACE, &n);
        if (r != OWU_OK && rc == OWU_OK)
            rc = r;
    }
    return rc;
}

static int usbfs_suspend(struct owu_usb_device *dev)
{
    int fd = live_fd(dev, NULL);
    return fd < 0 ? OWU_E_NODEV : ioctl_status(fd, USBDEVFS_ALLOW_SUSPEND, NULL);
}

static int usbfs_resume(struct owu_usb_device *dev)
{
    int fd = live_fd(dev, NULL);
    return fd < 0 ? OWU_E_NODEV : ioctl_status(fd, USBDEVFS_FORBID_SUSPEND, NULL);
}

int owu_usbfs_wait_for_resume(struct owu_usb_device *dev)
{
    if (!dev || strcmp(dev->hcd->ops->name, "usbfs") != 0)
        return OWU_E_INVAL;
    int fd = live_fd(dev, NULL);
    return fd < 0 ? OWU_E_NODEV : ioctl_status(fd, USBDEVFS_WAIT_FOR_RESUME, NULL);
}

void *owu_usbfs_buffer_alloc(struct owu_usb_device *dev, size_t length, bool *zero_copy)
{
    if (zero_copy)
        *zero_copy = false;
    if (!dev || strcmp(dev->hcd->ops->name, "usbfs") != 0 || length == 0)
        return NULL;
    struct usbfs_bus *bus = to_bus(dev->hcd);
    struct usbfs_map *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    pthread_mutex_lock(&bus->lock);
    struct usbfs_dev *ud = live(dev);
    int fd = ud && (ud->caps & USBDEVFS_CAP_MMAP) ? ud->fd : -1;
    pthread_mutex_unlock(&bus->lock);
    if (!ud) {
        free(m);
        return NULL;
    }
    void *p = fd >= 0 ? mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
    if (p != MAP_FAILED) {
        m->mmapped = true;
    } else if (!(p = calloc(1, length))) {
        free(m);
        return NULL;
    }
    m->addr = p;
    m->len = length;
    pthread_mutex_lock(&bus->lock);
    m->next = ud->maps;
    ud->maps = m;
    pthread_mutex_unlock(&bus->lock);
    if (zero_copy)
        *zero_copy = m->mmapped;
    return p;
}

void owu_usbfs_buffer_free(struct owu_usb_device *dev, void *buffer)
{
    if (!dev || !buffer || strcmp(dev->hcd->ops->name, "usbfs") != 0)
        return;
    struct usbfs_bus *bus = to_bus(dev->hcd);
    struct usbfs_map *m = NULL;
    pthread_mutex_lock(&bus->lock);
    struct usbfs_dev *ud = dev->hcd_priv;
    for (struct usbfs_map **pp = ud ? &ud->maps : NULL; pp && *pp; pp = &(*pp)->next)
        if ((*pp)->addr == buffer) {
            m = *pp;
            *pp = m->next;
            break;
        }
    pthread_mutex_unlock(&bus->lock);
    if (!m)
        return;
    if (m->mmapped)
        munmap(m->addr, m->len);
    else
        free(m->addr);
    free(m);
}

/* ---- bus ------------------------------------------------------------------------------- */

static void usbfs_shutdown(struct owu_hcd *hcd);
static void usbfs_destroy(struct owu_hcd *hcd);

static const struct owu_hcd_ops usbfs_ops = {
    .name = "usbfs",
    .submit = usbfs_submit,
    .cancel = usbfs_cancel,
    .reset_port = NULL,      /* the kernel reset and addressed the device */
    .set_address = NULL,
    .set_configuration = usbfs_set_configuration,
    .set_interface = usbfs_set_interface,
    .clear_halt = usbfs_clear_halt,
    .claim_interface = usbfs_claim,
    .release_interface = usbfs_release,
    .reset_device = usbfs_reset_device,
    .suspend = usbfs_suspend,
    .resume = usbfs_resume,
    .get_frame_number = NULL,
    .release_device = usbfs_release_device,
    .shutdown = usbfs_shutdown,
    .destroy = usbfs_destroy,
};

static int make_pipe(int p[2])
{
    return pipe2(p, O_CLOEXEC | O_NONBLOCK);
}

struct owu_hcd *owu_usbfs_create(unsigned bus_number, owu_err *err)
{
    struct usbfs_bus *bus = calloc(1, sizeof *bus);
    if (!bus) {
        owu_fail(err, OWU_E_NOMEM, "usbfs bus: out of memory");
        return NULL;
    }
    bus->wake[0] = bus->wake[1] = bus->mon_wake[0] = bus->mon_wake[1] = -1;
    bus->nl = -1;
    if (make_pipe(bus->wake) != 0 || make_pipe(bus->mon_wake) != 0) {
        int e = errno;
        for (int i = 0; i < 2; i++) {
            if (bus->wake[i] >= 0)
                close(bus->wake[i]);
            if (bus->mon_wake[i] >= 0)
                close(bus->mon_wake[i]);
        }
        free(bus);
        owu_fail(err, OWU_E_IO, "usbfs bus: cannot create a pipe: %s", strerror(e));
        return NULL;
    }
    owu_hcd_init(&bus->hcd, &usbfs_ops, bus_number, "usbfs");
    bus->hcd.priv = bus;
    pthread_mutex_init(&bus->lock, NULL);
    owu_cond_init_monotonic(&bus->cond);
    const char *env = getenv(OWU_USBFS_MAX_URB_ENV);
    if (env && *env) {
        char *end;
        unsigned long long v = strtoull(env, &end, 10);
        if (*end == '\0' && v >= 1 && v <= OWU_USBFS_MAX_URB)
            bus->max_urb = (size_t)v;
    }
    return &bus->hcd;
}

int owu_usbfs_start(struct owu_hcd *hcd, owu_err *err)
{
    struct usbfs_bus *bus = to_bus(hcd);
    const char *root = owu_usbfs_sysfs_root();
    struct owu_usbfs_entry *entries = NULL;
    size_t count = 0;
    int rc = owu_usbfs_scan(root, &entries, &count, err);
    if (rc == OWU_E_NOTFOUND)
        return owu_fail(err, rc,
                        "usbfs is not available here: %s does not exist (no USB support, or a "
                        "container without /sys/bus/usb; \"usbfs?\" makes the bus optional)", root);
    if (rc != OWU_OK) {
        owu_err_wrap(err, "usbfs: ");
        return rc;
    }
    if (pthread_create(&bus->reaper, NULL, reaper_main, bus) != 0) {
        free(entries);
        return owu_fail(err, OWU_E_NOMEM, "usbfs: cannot start the reaper thread");
    }
    bus->reaper_running = true;
    /* Listen before scanning so a device that arrives meanwhile is not missed (the scan and
     * the event may both name it; add_device takes it once). */
    bus->nl = open_netlink();
    for (size_t i = 0; i < count; i++)
        add_device(bus, &entries[i], false);
    free(entries);
    if (bus->nl >= 0) {
        if (pthread_create(&bus->monitor, NULL, monitor_main, bus) == 0)
            bus->monitor_running = true;
        else {
            close(bus->nl);
            bus->nl = -1;
        }
    }
    return OWU_OK;
}

static void usbfs_shutdown(struct owu_hcd *hcd)
{
    struct usbfs_bus *bus = to_bus(hcd);
    if (bus->monitor_running) {
        pthread_mutex_lock(&bus->lock);
        bus->stop_monitor = true;
        pthread_mutex_unlock(&bus->lock);
        wake_fd(bus->mon_wake[1]);
        pthread_join(bus->monitor, NULL);
        bus->monitor_running = false;
    }
    /* Every device leaves: its URBs are discarded, reaped by the reaper (status
     * OWU_E_NODEV) and the device reported gone. */
    pthread_mutex_lock(&bus->lock);
    for (struct usbfs_dev *ud = bus->devices; ud; ud = ud->next) {
        ud->closing = true;
        ud->disconnected = true;
        for (struct usbfs_xfer *x = ud->pending; x; x = x->next)
            if (!x->stopping)
                discard_rest(x);
    }
    pthread_mutex_unlock(&bus->lock);
    if (bus->reaper_running) {
        wake_fd(bus->wake[1]);
        struct timespec ts;
        owu_deadline_ms(&ts, SHUTDOWN_WAIT_MS);
        pthread_mutex_lock(&bus->lock);
        while (bus->devices && pthread_cond_timedwait(&bus->cond, &bus->lock, &ts) == 0) {
        }
        bus->stop_reaper = true;
        pthread_mutex_unlock(&bus->lock);
        wake_fd(bus->wake[1]);
        pthread_join(bus->reaper, NULL);
        bus->reaper_running = false;
    }
    /* Whatever the kernel did not give back in time is completed here. */
    struct usbfs_xfer *done = NULL;
    struct usbfs_dev *left = NULL;
    pthread_mutex_lock(&bus->lock);
    while (bus->devices) {
        struct usbfs_dev *ud = bus->devices;
        if (finalise(ud, &done)) {
            ud->next = left;
            left = ud;
        }
    }
    pthread_mutex_unlock(&bus->lock);
    deliver(done);
    report_left(bus, &left);
}

static void usbfs_destroy(struct owu_hcd *hcd)
{
    struct usbfs_bus *bus = to_bus(hcd);
    for (int i = 0; i < 2; i++) {
        close(bus->wake[i]);
        close(bus->mon_wake[i]);
    }
    if (bus->nl >= 0)
        close(bus->nl);
    pthread_cond_destroy(&bus->cond);
    pthread_mutex_destroy(&bus->lock);
    free(bus);
}
