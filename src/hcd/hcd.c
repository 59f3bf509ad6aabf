/* Backend-independent device objects, hotplug reporting and the standard operations that
 * prefer a backend hook and fall back to a control request. */
#include "hcd/hcd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Standard requests that change device state use the Windows default control timeout. */
#define STD_REQUEST_TIMEOUT_MS 5000

struct owu_usb_device *owu_usb_device_new(struct owu_hcd *hcd, unsigned port, enum owu_speed speed)
{
    struct owu_usb_device *dev = calloc(1, sizeof *dev);
    if (!dev)
        return NULL;
    if (!hcd) {
        free(dev);
        return NULL;
    }
    dev->hcd = hcd;
    owu_hcd_ref(hcd);
    dev->port = port;
    dev->speed = speed;
    dev->removable = true;
    dev->ep0_max_packet = 8;
    dev->refcount = 1;
    pthread_mutex_init(&dev->lock, NULL);
    snprintf(dev->location, sizeof dev->location, "%s:%u-%u", hcd->name, hcd->bus_number, port);
    return dev;
}

void owu_usb_device_ref(struct owu_usb_device *dev)
{
    pthread_mutex_lock(&dev->lock);
    dev->refcount++;
    pthread_mutex_unlock(&dev->lock);
}

void owu_usb_device_unref(struct owu_usb_device *dev)
{
    if (!dev)
        return;
    pthread_mutex_lock(&dev->lock);
    int left = --dev->refcount;
    pthread_mutex_unlock(&dev->lock);
    if (left > 0)
        return;
    struct owu_hcd *hcd = dev->hcd;
    if (hcd && hcd->ops->release_device)
        hcd->ops->release_device(dev);
    owu_devinfo_free(dev->info);
    pthread_mutex_destroy(&dev->lock);
    free(dev);
    if (hcd)
        owu_hcd_unref(hcd);
}

bool owu_usb_device_gone(struct owu_usb_device *dev)
{
    pthread_mutex_lock(&dev->lock);
    bool gone = dev->gone;
    pthread_mutex_unlock(&dev->lock);
    return gone;
}

void owu_hcd_device_arrived(struct owu_hcd *hcd, struct owu_usb_device *dev)
{
    /* The device may be unplugged (and the backend drop its reference) while the stack is
     * still enumerating it in this callback. */
    owu_usb_device_ref(dev);
    if (hcd->hotplug)
        hcd->hotplug(hcd, dev, true, hcd->hotplug_ctx);
    owu_usb_device_unref(dev);
}

void owu_hcd_device_left(struct owu_hcd *hcd, struct owu_usb_device *dev)
{
    pthread_mutex_lock(&dev->lock);
    dev->gone = true;
    pthread_mutex_unlock(&dev->lock);
    if (hcd->hotplug)
        hcd->hotplug(hcd, dev, false, hcd->hotplug_ctx);
}

int owu_dev_set_configuration(struct owu_usb_device *dev, int value, unsigned timeout_ms)
{
    if (value < -1 || value > 255)
        return OWU_E_INVAL;
    if (dev->hcd->ops->set_configuration)
        return dev->hcd->ops->set_configuration(dev, value);
    int rc = owu_control_sync(dev, OWU_DIR_OUT | OWU_TYPE_STANDARD | OWU_RECIP_DEVICE,
                              OWU_REQ_SET_CONFIGURATION, (uint16_t)(value < 0 ? 0 : value), 0, NULL,
                              0, timeout_ms ? timeout_ms : STD_REQUEST_TIMEOUT_MS);
    return rc < 0 ? rc : OWU_OK;
}

int owu_dev_set_interface(struct owu_usb_device *dev, uint8_t intf, uint8_t alt, unsigned timeout_ms)
{
    if (dev->hcd->ops->set_interface)
        return dev->hcd->ops->set_interface(dev, intf, alt);
    int rc = owu_control_sync(dev, OWU_DIR_OUT | OWU_TYPE_STANDARD | OWU_RECIP_INTERFACE,
                              OWU_REQ_SET_INTERFACE, alt, intf, NULL, 0,
                              timeout_ms ? timeout_ms : STD_REQUEST_TIMEOUT_MS);
    return rc < 0 ? rc : OWU_OK;
}

int owu_dev_clear_halt(struct owu_usb_device *dev, uint8_t endpoint, unsigned timeout_ms)
{
    if (dev->hcd->ops->clear_halt)
        return dev->hcd->ops->clear_halt(dev, endpoint);
    int rc = owu_control_sync(dev, OWU_DIR_OUT | OWU_TYPE_STANDARD | OWU_RECIP_ENDPOINT,
                              OWU_REQ_CLEAR_FEATURE, OWU_FEAT_ENDPOINT_HALT, endpoint, NULL, 0,
                              timeout_ms ? timeout_ms : STD_REQUEST_TIMEOUT_MS);
    return rc < 0 ? rc : OWU_OK;
}

int owu_dev_claim_interface(struct owu_usb_device *dev, uint8_t intf, unsigned flags)
{
    unsigned byte = intf / 8u;
    uint8_t bit = (uint8_t)(1u << (intf % 8u));
    if (byte >= sizeof dev->claimed)
        return OWU_E_INVAL;
    pthread_mutex_lock(&dev->lock);
    if (dev->gone) {
        pthread_mutex_unlock(&dev->lock);
        return OWU_E_NODEV;
    }
    if (dev->claimed[byte] & bit) {
        pthread_mutex_unlock(&dev->lock);
        return OWU_E_BUSY;
    }
    dev->claimed[byte] |= bit;
    pthread_mutex_unlock(&dev->lock);
    if (dev->hcd->ops->claim_interface) {
        int rc = dev->hcd->ops->claim_interface(dev, intf, flags);
        if (rc != OWU_OK) {
            pthread_mutex_lock(&dev->lock);
            dev->claimed[byte] &= (uint8_t)~bit;
            pthread_mutex_unlock(&dev->lock);
            return rc;
        }
    }
    return OWU_OK;
}

int owu_dev_release_interface(struct owu_usb_device *dev, uint8_t intf)
{
    unsigned byte = intf / 8u;
    uint8_t bit = (uint8_t)(1u << (intf % 8u));
    if (byte >= sizeof dev->claimed)
        return OWU_E_INVAL;
    pthread_mutex_lock(&dev->lock);
    bool held = (dev->claimed[byte] & bit) != 0;
    dev->claimed[byte] &= (uint8_t)~bit;
    pthread_mutex_unlock(&dev->lock);
    if (!held)
        return OWU_E_NOTFOUND;
    if (dev->hcd->ops->release_interface && !owu_usb_device_gone(dev))
        return dev->hcd->ops->release_interface(dev, intf);
    return OWU_OK;
}

void owu_hcd_init(struct owu_hcd *hcd, const struct owu_hcd_ops *ops, unsigned bus_number,
                  const char *name)
{
    hcd->ops = ops;
    hcd->bus_number = bus_number;
    snprintf(hcd->name, sizeof hcd->name, "%s", name);
    hcd->refcount = 1;
    pthread_mutex_init(&hcd->ref_lock, NULL);
}

void owu_hcd_ref(struct owu_hcd *hcd)
{
    pthread_mutex_lock(&hcd->ref_lock);
    hcd->refcount++;
    pthread_mutex_unlock(&hcd->ref_lock);
}

void owu_hcd_unref(struct owu_hcd *hcd)
{
    pthread_mutex_lock(&hcd->ref_lock);
    int left = --hcd->refcount;
    pthread_mutex_unlock(&hcd->ref_lock);
    if (left > 0)
        return;
    pthread_mutex_destroy(&hcd->ref_lock);
    if (hcd->ops->destroy)
        hcd->ops->destroy(hcd);
}

void owu_hcd_destroy(struct owu_hcd *hcd)
{
    if (!hcd)
        return;
    if (hcd->ops->shutdown)
        hcd->ops->shutdown(hcd);
    owu_hcd_unref(hcd);
}
