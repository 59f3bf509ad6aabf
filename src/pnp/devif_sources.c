/* What registers device interfaces for a device node: the hub (USB_DEVICE), the in-box
 * drivers' class interfaces, WinUSB's DeviceInterfaceGUID(s) from Device Parameters and
 * the INF's AddInterface entries (docs/device-interfaces.md "Who registers what"). */
#include <openwinusb/devif.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Only interfaces a USB stack registers on USB device nodes. Left out on purpose:
 * usbstor/uaspstor (disk and volume interfaces belong to the storage stack's children),
 * usbprint (its printer port interface sits on the USBPRINT child), usbccgp (none),
 * WinUSB (its classes come from Device Parameters). */
static const struct owu_devif_service_class service_classes[] = {
    { "usbser", "GUID_DEVINTERFACE_COMPORT", &OWU_GUID_DEVINTERFACE_COMPORT },
    { "HidUsb", "GUID_DEVINTERFACE_HID", &OWU_GUID_DEVINTERFACE_HID },
    { "usbhub", "GUID_DEVINTERFACE_USB_HUB", &OWU_GUID_DEVINTERFACE_USB_HUB },
    { "usbhub3", "GUID_DEVINTERFACE_USB_HUB", &OWU_GUID_DEVINTERFACE_USB_HUB },
};

const struct owu_devif_service_class *owu_devif_service_classes(size_t *count)
{
    if (count)
        *count = sizeof service_classes / sizeof service_classes[0];
    return service_classes;
}

size_t owu_devif_classes_of_service(const char *service, const struct owu_guid **out, size_t max)
{
    size_t n = 0;
    if (!service)
        return 0;
    for (size_t i = 0; i < sizeof service_classes / sizeof service_classes[0]; i++) {
        if (strcasecmp(service_classes[i].service, service) != 0)
            continue;
        if (out && n < max)
            out[n] = service_classes[i].guid;
        n++;
    }
    return n;
}

static void note(owu_strlist *notes, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(owu_strlist *notes, const char *fmt, ...)
{
    if (!notes)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    owu_strlist_add(notes, msg);
}

/* Registers one interface; a bad input becomes a note, only out-of-memory fails. */
static int reg_one(struct owu_devif_table *t, const struct owu_guid *g, const char *id, const char *ref,
                   size_t *count, owu_strlist *notes, const char *source, owu_err *err)
{
    owu_err e;
    int rc = owu_devif_register(t, g, id, ref, NULL, &e);
    if (rc == OWU_OK) {
        (*count)++;
        return OWU_OK;
    }
    if (rc == OWU_E_NOMEM)
        return owu_fail(err, rc, "%s", e.msg);
    note(notes, "%s: %s: %s; interface not registered", id, source, e.msg);
    return OWU_OK;
}

static int reg_guid_text(struct owu_devif_table *t, const char *text, const char *id, const char *ref,
                         size_t *count, owu_strlist *notes, const char *source, owu_err *err)
{
    struct owu_guid g;
    owu_err e;
    if (owu_guid_parse(text, &g, &e) < 0) {
        note(notes, "%s: %s: %s; interface not registered", id, source, e.msg);
        return OWU_OK;
    }
    return reg_one(t, &g, id, ref, count, notes, source, err);
}

/* WinUSB, as it loads: DeviceInterfaceGUIDs, else DeviceInterfaceGUID. */
static int reg_winusb(struct owu_devif_table *t, struct owu_registry *params, const char *id,
                      size_t *count, owu_strlist *notes, owu_err *err)
{
    owu_strlist guids = { 0 };
    owu_err e;
    int rc = owu_registry_get_multi_sz(params, id, OWU_REGVAL_DEVICE_INTERFACE_GUIDS, &guids, &e);
    if (rc == OWU_E_NOMEM)
        return owu_fail(err, rc, "%s", e.msg);
    if (rc < 0 && rc != OWU_E_NOTFOUND)
        note(notes, "%s; WinUSB ignores it", e.msg);
    size_t before = *count;
    for (size_t i = 0; rc == OWU_OK && i < guids.n; i++)
        rc = reg_guid_text(t, guids.v[i], id, NULL, count, notes, OWU_REGVAL_DEVICE_INTERFACE_GUIDS, err);
    owu_strlist_clear(&guids);
    if (rc == OWU_E_NOMEM)
        return rc;
    if (*count > before)
        return OWU_OK;

    char *one = NULL;
    rc = owu_registry_get_string(params, id, OWU_REGVAL_DEVICE_INTERFACE_GUID, &one, &e);
    if (rc == OWU_E_NOMEM)
        return owu_fail(err, rc, "%s", e.msg);
    if (rc < 0) {
        if (rc != OWU_E_NOTFOUND)
            note(notes, "%s; WinUSB ignores it", e.msg);
        return OWU_OK;
    }
    rc = reg_guid_text(t, one, id, NULL, count, notes, OWU_REGVAL_DEVICE_INTERFACE_GUID, err);
    free(one);
    return rc;
}

int owu_devif_register_device(struct owu_devif_table *t, const char *instance_id,
                              const char *service, unsigned flags, struct owu_registry *params,
                              const struct owu_inf_interface *ifs, size_t n_ifs,
                              size_t *registered, owu_strlist *notes, owu_err *err)
{
    size_t count = 0;
    if (registered)
        *registered = 0;
    if (!t || (n_ifs && !ifs))
        return owu_fail(err, OWU_E_INVAL, "owu_devif_register_device: NULL argument");
    int rc = owu_registry_check_instance_id(instance_id, err);
    if (rc < 0)
        return rc;

    if (flags & OWU_DEVIF_HUB_CHILD)
        rc = reg_one(t, &OWU_GUID_DEVINTERFACE_USB_DEVICE, instance_id, NULL, &count, notes, "hub", err);
    if (rc == OWU_OK && (flags & OWU_DEVIF_ROOT_HUB))
        rc = reg_one(t, &OWU_GUID_DEVINTERFACE_USB_HUB, instance_id, NULL, &count, notes, "root hub", err);
    const struct owu_guid *cls[8];
    size_t ncls = owu_devif_classes_of_service(service, cls, 8);
    for (size_t i = 0; rc == OWU_OK && i < ncls && i < 8; i++)
        rc = reg_one(t, cls[i], instance_id, NULL, &count, notes, service, err);
    if (rc == OWU_OK && params && service && strcasecmp(service, "WinUSB") == 0)
        rc = reg_winusb(t, params, instance_id, &count, notes, err);
    for (size_t i = 0; rc == OWU_OK && i < n_ifs; i++) {
        char source[300];
        snprintf(source, sizeof source, "%s:%u: AddInterface", ifs[i].inf ? ifs[i].inf : "INF", ifs[i].line);
        rc = reg_guid_text(t, ifs[i].guid ? ifs[i].guid : "", instance_id, ifs[i].reference, &count, notes,
                           source, err);
    }
    if (registered)
        *registered = count;
    return rc;
}

int owu_devif_register_node(struct owu_devif_table *t, const struct owu_devnode *node,
                            struct owu_registry *params, const struct owu_inf_interface *ifs,
                            size_t n_ifs, size_t *registered, owu_strlist *notes, owu_err *err)
{
    if (registered)
        *registered = 0;
    if (!node)
        return owu_fail(err, OWU_E_INVAL, "owu_devif_register_node: NULL node");
    unsigned flags = node->kind == OWU_NODE_DEVICE ? OWU_DEVIF_HUB_CHILD
                   : node->kind == OWU_NODE_HUB    ? OWU_DEVIF_ROOT_HUB
                                                   : 0;
    return owu_devif_register_device(t, node->instance_id, node->service, flags, params, ifs, n_ifs,
                                     registered, notes, err);
}
