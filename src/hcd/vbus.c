/* The virtual bus: ports holding device models, one lock, one completion thread.
 *
 * Submission runs the model synchronously under the bus lock (the model either finishes the
 * URB or parks it); finished URBs go onto a done list that the completion thread drains, so
 * owners always see completions on another thread, never under the bus lock — as with a
 * real host controller's interrupt handler.
 */
#include "hcd/vbus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/urb.h"

/* Control data stages are staged through a buffer as large as any wLength, so a model that
 * answers with more than was asked for cannot write past the owner's buffer. */
#define VBUS_CTRL_BUF (65536u + 1024u)

struct owu_vbus {
    struct owu_hcd hcd;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    bool stop;
    struct owu_urb *done_head, *done_tail;
    struct owu_vdev *ports[OWU_VBUS_MAX_PORTS + 1];
    uint64_t epoch_ns;
    uint8_t ctrl_buf[VBUS_CTRL_BUF];
};

static struct owu_vbus *to_vbus(struct owu_hcd *hcd) { return (struct owu_vbus *)hcd; }

/* ---- helpers for models (called with the bus lock held) -------------------------------- */

void owu_vdev_queue(struct owu_vdev *vd, struct owu_urb *urb)
{
    urb->hcd_next = NULL;
    urb->hcd_priv = vd;
    if (vd->queue_tail)
        vd->queue_tail->hcd_next = urb;
    else
        vd->queue_head = urb;
    vd->queue_tail = urb;
}

static bool urb_on_endpoint(const struct owu_urb *urb, uint8_t endpoint)
{
    return (urb->type == OWU_XFER_CONTROL ? 0 : urb->endpoint) == endpoint;
}

static struct owu_urb *queue_remove(struct owu_vdev *vd, struct owu_urb *target, int endpoint)
{
    struct owu_urb *prev = NULL;
    for (struct owu_urb *u = vd->queue_head; u; prev = u, u = u->hcd_next) {
        bool match = target ? u == target : urb_on_endpoint(u, (uint8_t)endpoint);
        if (!match)
            continue;
        if (prev)
            prev->hcd_next = u->hcd_next;
        else
            vd->queue_head = u->hcd_next;
        if (vd->queue_tail == u)
            vd->queue_tail = prev;
        u->hcd_next = NULL;
        return u;
    }
    return NULL;
}

struct owu_urb *owu_vdev_peek(struct owu_vdev *vd, uint8_t endpoint)
{
    for (struct owu_urb *u = vd->queue_head; u; u = u->hcd_next)
        if (urb_on_endpoint(u, endpoint))
            return u;
    return NULL;
}

struct owu_urb *owu_vdev_take(struct owu_vdev *vd, uint8_t endpoint)
{
    return queue_remove(vd, NULL, endpoint);
}

void owu_vdev_complete(struct owu_vdev *vd, struct owu_urb *urb, int status, size_t actual)
{
    struct owu_vbus *bus = vd->bus;
    urb->hcd_status = status;
    urb->actual = actual;
    urb->hcd_next = NULL;
    if (bus->done_tail)
        bus->done_tail->hcd_next = urb;
    else
        bus->done_head = urb;
    bus->done_tail = urb;
    pthread_cond_signal(&bus->cond);
}

static unsigned ep_index(uint8_t endpoint) { return endpoint & 0x0F; }

bool owu_vdev_halted(const struct owu_vdev *vd, uint8_t endpoint)
{
    return (vd->halted[(endpoint & 0x80) ? 1 : 0] >> ep_index(endpoint)) & 1u;
}

void owu_vdev_set_halt(struct owu_vdev *vd, uint8_t endpoint, bool halted)
{
    uint32_t bit = 1u << ep_index(endpoint);
    uint32_t *w = &vd->halted[(endpoint & 0x80) ? 1 : 0];
    *w = halted ? (*w | bit) : (*w & ~bit);
}

void owu_vdev_with_lock(struct owu_vdev *vd, void (*fn)(struct owu_vdev *vd, void *arg), void *arg)
{
    pthread_mutex_lock(&vd->bus->lock);
    fn(vd, arg);
    pthread_mutex_unlock(&vd->bus->lock);
}

uint32_t owu_vbus_frame_number(const struct owu_vbus *bus)
{
    return (uint32_t)((owu_now_ns() - bus->epoch_ns) / 1000000ull);
}

/* ---- completion thread ----------------------------------------------------------------- */

static void *completion_main(void *arg)
{
    struct owu_vbus *bus = arg;
    pthread_mutex_lock(&bus->lock);
    for (;;) {
        while (!bus->done_head && !bus->stop)
            pthread_cond_wait(&bus->cond, &bus->lock);
        if (!bus->done_head && bus->stop)
            break;
        struct owu_urb *list = bus->done_head;
        bus->done_head = bus->done_tail = NULL;
        /* No longer cancellable: vbus_cancel reads hcd_priv under this lock. */
        for (struct owu_urb *u = list; u; u = u->hcd_next)
            u->hcd_priv = NULL;
        pthread_mutex_unlock(&bus->lock);
        while (list) {
            struct owu_urb *next = list->hcd_next;  /* read first: done() may resubmit it */
            list->hcd_next = NULL;
            owu_urb_done(list, list->hcd_status, list->actual);
            list = next;
        }
        pthread_mutex_lock(&bus->lock);
    }
    pthread_mutex_unlock(&bus->lock);
    return NULL;
}

/* ---- hcd ops --------------------------------------------------------------------------- */

/* The model behind a device, or NULL once unplugged: hcd_priv is only ever written under
 * the bus lock (plug, unplug), which every caller holds. */
static struct owu_vdev *live_vdev(struct owu_usb_device *dev)
{
    return dev->hcd_priv;
}

static void submit_control(struct owu_vbus *bus, struct owu_vdev *vd, struct owu_urb *urb)
{
    const struct owu_setup *s = &urb->setup;
    bool in = (s->bmRequestType & 0x80) != 0;
    uint8_t *data = bus->ctrl_buf;
    memset(data, 0, s->wLength);
    if (!in && s->wLength)
        memcpy(data, urb->buffer, s->wLength);

    vd->requests_seen++;
    int rc = OWU_VDEV_DEFAULT;
    if (vd->model->control)
        rc = vd->model->control(vd, s, data);
    if (rc == OWU_VDEV_DEFAULT)
        rc = owu_vdev_std_request(vd, s, data);

    if (rc == OWU_E_PENDING) {
        owu_vdev_queue(vd, urb);   /* never answered: ends by cancel, timeout or unplug */
        return;
    }
    if (rc < 0) {
        owu_vdev_complete(vd, urb, rc, 0);
        return;
    }
    if (!in) {
        owu_vdev_complete(vd, urb, OWU_OK, s->wLength);
        return;
    }
    size_t n = (size_t)rc;
    int status = OWU_OK;
    if (n > s->wLength) {   /* the device sent more than asked: babble */
        n = s->wLength;
        status = OWU_E_OVERFLOW;
    }
    memcpy(urb->buffer, data, n);
    owu_vdev_complete(vd, urb, status, n);
}

static int vbus_submit(struct owu_urb *urb)
{
    struct owu_vbus *bus = to_vbus(urb->dev->hcd);
    pthread_mutex_lock(&bus->lock);
    struct owu_vdev *vd = live_vdev(urb->dev);
    if (!vd) {
        pthread_mutex_unlock(&bus->lock);
        return OWU_E_NODEV;
    }
    if (vd->suspended) {
        pthread_mutex_unlock(&bus->lock);
        return OWU_E_IO;
    }
    if (urb->type == OWU_XFER_CONTROL) {
        submit_control(bus, vd, urb);
    } else if (vd->config_value == 0 || !vd->model->transfer) {
        owu_vdev_complete(vd, urb, OWU_E_STALL, 0);
    } else if (owu_vdev_halted(vd, urb->endpoint)) {
        owu_vdev_complete(vd, urb, OWU_E_STALL, 0);
    } else {
        vd->model->transfer(vd, urb);
    }
    pthread_mutex_unlock(&bus->lock);
    return OWU_OK;
}

static int vbus_cancel(struct owu_urb *urb)
{
    struct owu_vbus *bus = to_vbus(urb->dev->hcd);
    pthread_mutex_lock(&bus->lock);
    int rc = OWU_E_NOTFOUND;
    struct owu_vdev *vd = urb->hcd_priv;
    /* Only URBs parked in a live device's queue are cancellable; anything else has already
     * been finished and is on its way to the completion thread. */
    if (vd && urb->dev->hcd_priv == vd && queue_remove(vd, urb, -1)) {
        owu_vdev_complete(vd, urb, OWU_E_CANCELLED, urb->actual);
        rc = OWU_OK;
    }
    pthread_mutex_unlock(&bus->lock);
    return rc;
}

static int vbus_reset_port(struct owu_usb_device *dev)
{
    struct owu_vbus *bus = to_vbus(dev->hcd);
    pthread_mutex_lock(&bus->lock);
    struct owu_vdev *vd = live_vdev(dev);
    if (!vd) {
        pthread_mutex_unlock(&bus->lock);
        return OWU_E_NODEV;
    }
    vd->address = 0;
    vd->config_value = 0;
    memset(vd->alt, 0, sizeof vd->alt);
    memset(vd->halted, 0, sizeof vd->halted);
    vd->remote_wakeup = false;
    vd->suspended = false;
    /* Reset aborts whatever the device was doing. */
    struct owu_urb *u;
    while ((u = vd->queue_head) != NULL) {
        queue_remove(vd, u, -1);
        owu_vdev_complete(vd, u, OWU_E_CANCELLED, u->actual);
    }
    if (vd->model->bus_reset)
        vd->model->bus_reset(vd);
    dev->address = 0;
    pthread_mutex_unlock(&bus->lock);
    return OWU_OK;
}

static int vbus_set_address(struct owu_usb_device *dev, uint8_t address)
{
    /* Sent as a real request so that models can refuse it. */
    int rc = owu_control_sync(dev, OWU_DIR_OUT | OWU_TYPE_STANDARD | OWU_RECIP_DEVICE,
                              OWU_REQ_SET_ADDRESS, address, 0, NULL, 0, 1000);
    if (rc < 0)
        return rc;
    dev->address = address;
    return OWU_OK;
}

static int vbus_suspend_resume(struct owu_usb_device *dev, bool suspend)
{
    struct owu_vbus *bus = to_vbus(dev->hcd);
    pthread_mutex_lock(&bus->lock);
    struct owu_vdev *vd = live_vdev(dev);
    if (vd)
        vd->suspended = suspend;
    pthread_mutex_unlock(&bus->lock);
    return vd ? OWU_OK : OWU_E_NODEV;
}

static int vbus_suspend(struct owu_usb_device *dev) { return vbus_suspend_resume(dev, true); }
static int vbus_resume(struct owu_usb_device *dev) { return vbus_suspend_resume(dev, false); }

static int vbus_get_frame_number(struct owu_usb_device *dev, uint32_t *frame)
{
    *frame = owu_vbus_frame_number(to_vbus(dev->hcd));
    return OWU_OK;
}

static int vbus_reset_device(struct owu_usb_device *dev)
{
    /* A reset keeps the address and configuration the host had set up (re-applied). */
    struct owu_vbus *bus = to_vbus(dev->hcd);
    pthread_mutex_lock(&bus->lock);
    struct owu_vdev *vd = live_vdev(dev);
    uint8_t cfg = vd ? vd->config_value : 0;
    pthread_mutex_unlock(&bus->lock);
    if (!vd)
        return OWU_E_NODEV;
    uint8_t addr = dev->address;
    int rc = vbus_reset_port(dev);
    if (rc == OWU_OK && addr)
        rc = vbus_set_address(dev, addr);
    if (rc == OWU_OK && cfg)
        rc = owu_dev_set_configuration(dev, cfg, 1000);
    return rc;
}

static void free_vdev(struct owu_vdev *vd)
{
    if (!vd)
        return;
    if (vd->model->fini)
        vd->model->fini(vd);
    free(vd->priv);
    free(vd);
}

static void vbus_shutdown(struct owu_hcd *hcd);
static void vbus_destroy(struct owu_hcd *hcd);

static const struct owu_hcd_ops vbus_ops = {
    .name = "virtual",
    .submit = vbus_submit,
    .cancel = vbus_cancel,
    .reset_port = vbus_reset_port,
    .set_address = vbus_set_address,
    .reset_device = vbus_reset_device,
    .suspend = vbus_suspend,
    .resume = vbus_resume,
    .get_frame_number = vbus_get_frame_number,
    .shutdown = vbus_shutdown,
    .destroy = vbus_destroy,
};

struct owu_hcd *owu_vbus_create(unsigned bus_number, owu_err *err)
{
    struct owu_vbus *bus = calloc(1, sizeof *bus);
    if (!bus) {
        owu_fail(err, OWU_E_NOMEM, "virtual bus %u: out of memory", bus_number);
        return NULL;
    }
    owu_hcd_init(&bus->hcd, &vbus_ops, bus_number, "virtual");
    bus->hcd.priv = bus;
    bus->epoch_ns = owu_now_ns();
    pthread_mutex_init(&bus->lock, NULL);
    pthread_cond_init(&bus->cond, NULL);
    if (pthread_create(&bus->thread, NULL, completion_main, bus) != 0) {
        pthread_cond_destroy(&bus->cond);
        pthread_mutex_destroy(&bus->lock);
        pthread_mutex_destroy(&bus->hcd.ref_lock);
        free(bus);
        owu_fail(err, OWU_E_NOMEM, "virtual bus %u: cannot start its completion thread", bus_number);
        return NULL;
    }
    return &bus->hcd;
}

int owu_vbus_plug(struct owu_hcd *hcd, const struct owu_vdev_model *model, const void *arg,
                  unsigned port, struct owu_vdev **out, owu_err *err)
{
    struct owu_vbus *bus = to_vbus(hcd);
    if (!model)
        return owu_fail(err, OWU_E_INVAL, "virtual bus %u: no device model given", hcd->bus_number);
    if (port > OWU_VBUS_MAX_PORTS)
        return owu_fail(err, OWU_E_INVAL, "virtual bus %u: port %u is out of range 1..%u",
                        hcd->bus_number, port, OWU_VBUS_MAX_PORTS);

    struct owu_vdev *vd = calloc(1, sizeof *vd);
    if (!vd)
        return owu_fail(err, OWU_E_NOMEM, "virtual bus: out of memory");
    vd->model = model;
    vd->bus = bus;
    if (model->priv_size && !(vd->priv = calloc(1, model->priv_size))) {
        free(vd);
        return owu_fail(err, OWU_E_NOMEM, "virtual bus: out of memory");
    }

    pthread_mutex_lock(&bus->lock);
    if (port == 0) {
        for (unsigned p = 1; p <= OWU_VBUS_MAX_PORTS && !port; p++)
            if (!bus->ports[p])
                port = p;
        if (!port) {
            pthread_mutex_unlock(&bus->lock);
            free(vd->priv);
            free(vd);
            return owu_fail(err, OWU_E_BUSY, "virtual bus %u: all %u ports are in use",
                            hcd->bus_number, OWU_VBUS_MAX_PORTS);
        }
    } else if (bus->ports[port]) {
        pthread_mutex_unlock(&bus->lock);
        free(vd->priv);
        free(vd);
        return owu_fail(err, OWU_E_BUSY, "virtual bus %u: port %u already holds a device",
                        hcd->bus_number, port);
    }
    struct owu_usb_device *dev = owu_usb_device_new(hcd, port, model->speed);
    if (!dev) {
        pthread_mutex_unlock(&bus->lock);
        free(vd->priv);
        free(vd);
        return owu_fail(err, OWU_E_NOMEM, "virtual bus: out of memory");
    }
    vd->dev = dev;
    if (model->init) {
        int rc = model->init(vd, arg);
        if (rc != OWU_OK) {
            pthread_mutex_unlock(&bus->lock);
            vd->priv = (free(vd->priv), NULL);
            free(vd);
            owu_usb_device_unref(dev);
            return owu_fail(err, rc, "virtual bus %u: model %s failed to start (%s)",
                            hcd->bus_number, model->name, owu_status_name(rc));
        }
    }
    dev->hcd_priv = vd;
    bus->ports[port] = vd;
    pthread_mutex_unlock(&bus->lock);

    if (out)
        *out = vd;
    owu_hcd_device_arrived(hcd, dev);
    return OWU_OK;
}

int owu_vbus_unplug(struct owu_hcd *hcd, unsigned port)
{
    struct owu_vbus *bus = to_vbus(hcd);
    if (port == 0 || port > OWU_VBUS_MAX_PORTS)
        return OWU_E_INVAL;
    pthread_mutex_lock(&bus->lock);
    struct owu_vdev *vd = bus->ports[port];
    if (!vd) {
        pthread_mutex_unlock(&bus->lock);
        return OWU_E_NOTFOUND;
    }
    bus->ports[port] = NULL;
    struct owu_usb_device *dev = vd->dev;
    pthread_mutex_lock(&dev->lock);
    dev->gone = true;
    dev->hcd_priv = NULL;
    pthread_mutex_unlock(&dev->lock);
    struct owu_urb *u;
    while ((u = vd->queue_head) != NULL) {
        queue_remove(vd, u, -1);
        owu_vdev_complete(vd, u, OWU_E_NODEV, u->actual);
    }
    free_vdev(vd);
    pthread_mutex_unlock(&bus->lock);

    owu_hcd_device_left(hcd, dev);
    owu_usb_device_unref(dev);   /* the bus's reference */
    return OWU_OK;
}

struct owu_vdev *owu_vbus_port(struct owu_hcd *hcd, unsigned port)
{
    struct owu_vbus *bus = to_vbus(hcd);
    if (port == 0 || port > OWU_VBUS_MAX_PORTS)
        return NULL;
    pthread_mutex_lock(&bus->lock);
    struct owu_vdev *vd = bus->ports[port];
    pthread_mutex_unlock(&bus->lock);
    return vd;
}

static void vbus_shutdown(struct owu_hcd *hcd)
{
    struct owu_vbus *bus = to_vbus(hcd);
    for (unsigned p = 1; p <= OWU_VBUS_MAX_PORTS; p++)
        if (bus->ports[p])
            owu_vbus_unplug(hcd, p);
    /* Deliver what is still on the done list, then stop the completion thread. Devices that
     * outlive this see dev->gone and never reach the bus again except to lock it in cancel. */
    pthread_mutex_lock(&bus->lock);
    bus->stop = true;
    pthread_cond_signal(&bus->cond);
    pthread_mutex_unlock(&bus->lock);
    pthread_join(bus->thread, NULL);
}

static void vbus_destroy(struct owu_hcd *hcd)
{
    struct owu_vbus *bus = to_vbus(hcd);
    pthread_cond_destroy(&bus->cond);
    pthread_mutex_destroy(&bus->lock);
    free(bus);
}
