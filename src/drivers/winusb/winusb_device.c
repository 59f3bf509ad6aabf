/* WinUSB device and interface objects: what WinUsb_Initialize builds (the cached
 * descriptors, the array of the function's interfaces, their pipes) and alternate settings. */
#include "drivers/winusb/winusb_priv.h"

#include <stdlib.h>
#include <string.h>

static uint32_t bytes_per_interval(enum owu_speed speed, const struct owu_endpoint *ep)
{
    uint32_t mps = ep->wMaxPacketSize & 0x7FFu;
    unsigned type = ep->bmAttributes & 3u;
    bool periodic = type == OWU_XFER_ISOCHRONOUS || type == OWU_XFER_INTERRUPT;
    if (speed >= OWU_SPEED_SUPER && periodic && ep->has_ss_companion)
        return ep->ss_wBytesPerInterval;
    if (speed == OWU_SPEED_HIGH && periodic)
        return mps * (1u + ((ep->wMaxPacketSize >> 11) & 3u));
    return mps;
}

int owu_winusb_pipe_info(const struct owu_winusb_dev *dev, const struct owu_altsetting *alt,
                         unsigned index, struct owu_winusb_pipe_info *out)
{
    if (!alt || index >= alt->num_endpoints)
        return OWU_E_NOTFOUND;
    const struct owu_endpoint *ep = &alt->endpoints[index];
    out->address = ep->bEndpointAddress;
    out->type = (enum owu_xfer_type)(ep->bmAttributes & 3u);
    out->max_packet = ep->wMaxPacketSize & 0x7FFu;
    out->interval = ep->bInterval;
    out->bytes_per_interval = bytes_per_interval(dev->udev->speed, ep);
    return OWU_OK;
}

void wu_policy_defaults(struct owu_winusb_pipe *p)
{
    memset(&p->policy, 0, sizeof p->policy);
    p->policy.allow_partial_reads = true;
    p->policy.timeout_ms = p->address == 0 ? OWU_WINUSB_CONTROL_TIMEOUT_MS : 0;
    p->policy.max_transfer = p->address == 0 ? OWU_WINUSB_MAX_CONTROL_LENGTH : OWU_WINUSB_MAX_TRANSFER_SIZE;
}

/* Makes the endpoints of alternate setting `alt` the interface's pipes (lock held). */
static void apply_alt(struct owu_winusb_intf *intf, const struct owu_altsetting *alt)
{
    for (unsigned i = 0; i < WU_PIPES; i++)
        intf->pipes[i].present = false;
    for (unsigned i = 0; i < alt->num_endpoints; i++) {
        const struct owu_endpoint *ep = &alt->endpoints[i];
        struct owu_winusb_pipe *p = &intf->pipes[wu_pipe_slot(ep->bEndpointAddress)];
        p->type = (enum owu_xfer_type)(ep->bmAttributes & 3u);
        p->max_packet = ep->wMaxPacketSize & 0x7FFu;
        p->interval = ep->bInterval;
        p->bytes_per_interval = bytes_per_interval(intf->dev->udev->speed, ep);
        p->present = true;
        p->iso_stream = false;
    }
    intf->cur_alt = alt->bAlternateSetting;
}

static void init_pipe(struct owu_winusb_pipe *p, struct owu_winusb_intf *intf, uint8_t address)
{
    p->intf = intf;
    p->address = address;
    wu_policy_defaults(p);
}

int owu_winusb_dev_open(struct owu_usb_device *udev, const struct owu_devinfo *info,
                        uint8_t first_interface, unsigned num_interfaces,
                        const struct owu_winusb_power_defaults *pd, struct owu_winusb_dev **out,
                        owu_err *err)
{
    *out = NULL;
    if (!udev || !info)
        return owu_fail(err, OWU_E_INVAL, "winusb: no device");
    if (owu_usb_device_gone(udev))
        return owu_fail(err, OWU_E_NODEV, "winusb: %s: device is gone", udev->location);
    if (info->device_len < OWU_DEVICE_DESC_SIZE || info->num_configs == 0)
        return owu_fail(err, OWU_E_BADDESC, "winusb: %s: no device or configuration descriptor",
                        udev->location);

    struct owu_winusb_dev *dev = calloc(1, sizeof *dev);
    if (!dev)
        return owu_fail(err, OWU_E_NOMEM, "winusb: out of memory");
    int rc = owu_config_parse(info->configs[0].data, info->configs[0].len, &dev->config, err);
    if (rc != OWU_OK) {
        free(dev);
        owu_err_wrap(err, "winusb: %s: configuration 0: ", udev->location);
        return rc;
    }
    memcpy(dev->device_desc, info->device, OWU_DEVICE_DESC_SIZE);

    unsigned n = 0;
    for (unsigned i = 0; i < dev->config->num_interfaces; i++) {
        uint8_t num = dev->config->interfaces[i].number;
        if (num_interfaces == 0 || (num >= first_interface && num < first_interface + num_interfaces))
            n++;
    }
    if (n == 0 || !(dev->intfs = calloc(n, sizeof *dev->intfs)) ||
        !(dev->info = owu_devinfo_clone(info))) {
        rc = n == 0 ? owu_fail(err, OWU_E_BADDESC, "winusb: %s: no interface %u..%u in configuration 0",
                               udev->location, first_interface,
                               first_interface + (num_interfaces ? num_interfaces - 1 : 255))
                    : owu_fail(err, OWU_E_NOMEM, "winusb: out of memory");
        free(dev->intfs);
        owu_config_free(dev->config);
        free(dev);
        return rc;
    }
    dev->udev = udev;
    dev->refcount = 1;
    pthread_mutex_init(&dev->lock, NULL);
    owu_cond_init_monotonic(&dev->cond);
    for (unsigned i = 0; i < dev->config->num_interfaces; i++) {
        const struct owu_interface *d = &dev->config->interfaces[i];
        if (!(num_interfaces == 0 || (d->number >= first_interface && d->number < first_interface + num_interfaces)))
            continue;
        struct owu_winusb_intf *intf = &dev->intfs[dev->num_intfs];
        intf->dev = dev;
        intf->index = dev->num_intfs++;
        intf->desc = d;
        init_pipe(&intf->ctrl, intf, 0);
        intf->ctrl.type = OWU_XFER_CONTROL;
        intf->ctrl.present = true;
        intf->ctrl.max_packet = (uint16_t)udev->ep0_max_packet;
        for (unsigned s = 0; s < WU_PIPES; s++)
            init_pipe(&intf->pipes[s], intf, (uint8_t)((s & 0x0Fu) | (s & 16u ? 0x80u : 0u)));
        /* The configuration starts every interface in its setting 0. */
        const struct owu_altsetting *alt0 = owu_interface_find_alt(d, 0);
        apply_alt(intf, alt0 ? alt0 : &d->alts[0]);
    }

    if (pd)
        dev->pdef = *pd;
    else
        owu_winusb_power_defaults_init(&dev->pdef);
    dev->auto_suspend = dev->pdef.default_idle_state;
    dev->suspend_delay_ms = dev->pdef.idle_timeout_ms;
    dev->last_activity_ns = owu_now_ns();
    owu_usb_device_ref(udev);

    rc = wu_worker_start(dev);
    if (rc != OWU_OK) {
        owu_winusb_dev_unref(dev);
        return owu_fail(err, rc, "winusb: cannot start the device's worker thread");
    }
    *out = dev;
    return OWU_OK;
}

void owu_winusb_dev_ref(struct owu_winusb_dev *dev)
{
    pthread_mutex_lock(&dev->lock);
    dev->refcount++;
    pthread_mutex_unlock(&dev->lock);
}

void owu_winusb_dev_unref(struct owu_winusb_dev *dev)
{
    if (!dev)
        return;
    pthread_mutex_lock(&dev->lock);
    int left = --dev->refcount;
    pthread_mutex_unlock(&dev->lock);
    if (left > 0)
        return;
    wu_worker_stop(dev);   /* resumes a suspended device first */
    /* Leave the interfaces in the setting the configuration starts them in, so the next
     * WinUsb_Initialize finds what it assumes. */
    for (unsigned i = 0; i < dev->num_intfs; i++) {
        struct owu_winusb_intf *intf = &dev->intfs[i];
        if (intf->cur_alt != 0 && !owu_usb_device_gone(dev->udev))
            owu_dev_set_interface(dev->udev, intf->desc->number, 0, OWU_WINUSB_CONTROL_TIMEOUT_MS);
        free(intf->ctrl.surplus);
        for (unsigned s = 0; s < WU_PIPES; s++)
            free(intf->pipes[s].surplus);
    }
    free(dev->intfs);
    owu_config_free(dev->config);
    owu_devinfo_free(dev->info);
    owu_usb_device_unref(dev->udev);
    pthread_cond_destroy(&dev->cond);
    pthread_mutex_destroy(&dev->lock);
    free(dev);
}

unsigned owu_winusb_dev_num_interfaces(const struct owu_winusb_dev *dev) { return dev->num_intfs; }
struct owu_usb_device *owu_winusb_dev_usb(const struct owu_winusb_dev *dev) { return dev->udev; }
enum owu_speed owu_winusb_dev_speed(const struct owu_winusb_dev *dev) { return dev->udev->speed; }
bool owu_winusb_dev_gone(const struct owu_winusb_dev *dev) { return owu_usb_device_gone(dev->udev); }
const uint8_t *owu_winusb_dev_device_desc(const struct owu_winusb_dev *dev) { return dev->device_desc; }

const uint8_t *owu_winusb_dev_config_desc(const struct owu_winusb_dev *dev, size_t *len)
{
    *len = dev->config->raw.len;
    return dev->config->raw.data;
}

static void abort_intf_locked(struct owu_winusb_intf *intf)
{
    wu_pipe_abort_locked(&intf->ctrl);
    for (unsigned s = 0; s < WU_PIPES; s++)
        if (intf->pipes[s].head || intf->pipes[s].delivering)
            wu_pipe_abort_locked(&intf->pipes[s]);
}

void owu_winusb_dev_abort_all(struct owu_winusb_dev *dev)
{
    pthread_mutex_lock(&dev->lock);
    for (unsigned i = 0; i < dev->num_intfs; i++)
        abort_intf_locked(&dev->intfs[i]);
    pthread_mutex_unlock(&dev->lock);
}

static void kick(struct owu_winusb_pipe *p)
{
    if (p->waiting_power || p->head) {
        p->waiting_power = false;
        wu_pipe_run(p);
    }
}

void wu_dev_kick_pipes(struct owu_winusb_dev *dev)
{
    for (unsigned i = 0; i < dev->num_intfs; i++) {
        kick(&dev->intfs[i].ctrl);
        for (unsigned s = 0; s < WU_PIPES; s++)
            kick(&dev->intfs[i].pipes[s]);
    }
}

/* ---- interfaces ----------------------------------------------------------------------------- */

int owu_winusb_intf_acquire(struct owu_winusb_dev *dev, unsigned index, struct owu_winusb_intf **out)
{
    *out = NULL;
    pthread_mutex_lock(&dev->lock);
    int rc = OWU_OK;
    if (index >= dev->num_intfs) {
        rc = OWU_E_NOTFOUND;
    } else if (dev->intfs[index].handed_out) {
        rc = OWU_E_BUSY;
    } else {
        struct owu_winusb_intf *intf = &dev->intfs[index];
        intf->handed_out = true;
        wu_policy_defaults(&intf->ctrl);
        for (unsigned s = 0; s < WU_PIPES; s++) {
            wu_policy_defaults(&intf->pipes[s]);
            intf->pipes[s].surplus_len = 0;
        }
        dev->refcount++;
        *out = intf;
    }
    pthread_mutex_unlock(&dev->lock);
    return rc;
}

void owu_winusb_intf_abort(struct owu_winusb_intf *intf)
{
    pthread_mutex_lock(&intf->dev->lock);
    abort_intf_locked(intf);
    pthread_mutex_unlock(&intf->dev->lock);
}

void owu_winusb_intf_release(struct owu_winusb_intf *intf)
{
    if (!intf)
        return;
    struct owu_winusb_dev *dev = intf->dev;
    pthread_mutex_lock(&dev->lock);
    abort_intf_locked(intf);
    for (unsigned s = 0; s < WU_PIPES; s++)
        intf->pipes[s].surplus_len = 0;
    intf->handed_out = false;
    pthread_mutex_unlock(&dev->lock);
    owu_winusb_dev_unref(dev);
}

struct owu_winusb_dev *owu_winusb_intf_dev(const struct owu_winusb_intf *intf) { return intf->dev; }
unsigned owu_winusb_intf_index(const struct owu_winusb_intf *intf) { return intf->index; }
uint8_t owu_winusb_intf_number(const struct owu_winusb_intf *intf) { return intf->desc->number; }

const struct owu_altsetting *owu_winusb_intf_alt(const struct owu_winusb_intf *intf, unsigned ordinal)
{
    return ordinal < intf->desc->num_alts ? &intf->desc->alts[ordinal] : NULL;
}

const struct owu_altsetting *owu_winusb_intf_alt_value(const struct owu_winusb_intf *intf, uint8_t value)
{
    return owu_interface_find_alt(intf->desc, value);
}

uint8_t owu_winusb_intf_current_alt(struct owu_winusb_intf *intf)
{
    pthread_mutex_lock(&intf->dev->lock);
    uint8_t v = intf->cur_alt;
    pthread_mutex_unlock(&intf->dev->lock);
    return v;
}

static bool intf_idle(const struct owu_winusb_intf *intf)
{
    if (!wu_pipe_idle(&intf->ctrl))
        return false;
    for (unsigned s = 0; s < WU_PIPES; s++)
        if (!wu_pipe_idle(&intf->pipes[s]))
            return false;
    return true;
}

int owu_winusb_intf_set_alt(struct owu_winusb_intf *intf, uint8_t value)
{
    struct owu_winusb_dev *dev = intf->dev;
    const struct owu_altsetting *alt = owu_interface_find_alt(intf->desc, value);
    if (!alt)
        return OWU_E_NOTFOUND;
    pthread_mutex_lock(&dev->lock);
    if (intf->changing_alt || !intf_idle(intf)) {
        pthread_mutex_unlock(&dev->lock);
        return OWU_E_BUSY;
    }
    intf->changing_alt = true;
    pthread_mutex_unlock(&dev->lock);

    int rc = OWU_E_NODEV;
    if (!owu_usb_device_gone(dev->udev)) {
        wu_pm_get(dev);
        rc = owu_dev_set_interface(dev->udev, intf->desc->number, value, OWU_WINUSB_CONTROL_TIMEOUT_MS);
        wu_pm_put(dev);
    }

    pthread_mutex_lock(&dev->lock);
    if (rc == OWU_OK) {
        apply_alt(intf, alt);
        for (unsigned s = 0; s < WU_PIPES; s++) {
            intf->pipes[s].halted = false;
            intf->pipes[s].surplus_len = 0;
        }
    }
    intf->changing_alt = false;
    pthread_mutex_unlock(&dev->lock);
    return rc;
}

bool owu_winusb_intf_owns_endpoint(const struct owu_winusb_intf *intf, uint8_t endpoint)
{
    for (unsigned a = 0; a < intf->desc->num_alts; a++) {
        const struct owu_altsetting *alt = &intf->desc->alts[a];
        for (unsigned e = 0; e < alt->num_endpoints; e++)
            if (alt->endpoints[e].bEndpointAddress == endpoint)
                return true;
    }
    return false;
}
