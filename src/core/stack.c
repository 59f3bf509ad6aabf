/* The host stack: buses from OPENWINUSB_BUSES, hotplug → enumeration → PnP device nodes →
 * usbccgp functions for composite devices. One lock guards the device tree. */
#include <openwinusb/stack.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openwinusb/profile.h>

#include "core/enumerate.h"
#include "hcd/buses.h"
#include "hcd/usbfs.h"
#include "hcd/usbip.h"
#include "hcd/vbus.h"
#include "pnp/pnp_manager.h"

struct stack_bus {
    struct owu_hcd *hcd;
    struct owu_devnode *hub;
};

struct owu_stack {
    pthread_mutex_t lock;
    struct owu_stack_options opt;
    struct owu_enum_options eopt;
    struct owu_devnode *root;
    struct owu_pnp_manager *pm;
    struct stack_bus buses[OWU_MAX_BUSES];
    unsigned num_buses;
};

void owu_stack_options_default(struct owu_stack_options *opt)
{
    memset(opt, 0, sizeof *opt);
    owu_pnp_options_default(&opt->pnp);
}

void owu_stack_lock(struct owu_stack *stack) { pthread_mutex_lock(&stack->lock); }
void owu_stack_unlock(struct owu_stack *stack) { pthread_mutex_unlock(&stack->lock); }
struct owu_devnode *owu_stack_tree(struct owu_stack *stack) { return stack->root; }

static struct stack_bus *bus_of(struct owu_stack *stack, struct owu_hcd *hcd)
{
    for (unsigned i = 0; i < stack->num_buses; i++)
        if (stack->buses[i].hcd == hcd)
            return &stack->buses[i];
    return NULL;
}

/* Whether a node other than `except` has this device instance ID. */
static bool another_with_instance(const struct owu_devnode *n, const char *id, const struct owu_devnode *except)
{
    for (; n; n = n->next_sibling) {
        if (n != except && n->instance_id && strcasecmp(n->instance_id, id) == 0)
            return true;
        if (another_with_instance(n->first_child, id, except))
            return true;
    }
    return false;
}

/* Hotplug: a device arrived (enumerate it and build its nodes) or left (drop its nodes). */
static void on_hotplug(struct owu_hcd *hcd, struct owu_usb_device *dev, bool arrived, void *ctx)
{
    struct owu_stack *stack = ctx;
    if (!arrived) {
        pthread_mutex_lock(&stack->lock);
        struct owu_devnode *node = dev->devnode;
        dev->devnode = NULL;
        if (node) {
            owu_pnp_remove(stack->pm, node);
            if (node->parent)
                owu_devnode_remove_child(node->parent, node);
            owu_devnode_free(node);
        }
        pthread_mutex_unlock(&stack->lock);
        if (node)
            owu_usb_device_unref(dev);   /* the node's reference */
        return;
    }

    struct owu_devinfo *info = NULL;
    owu_err err = {0};
    if (owu_enumerate(dev, &stack->eopt, &info, &err) != OWU_OK) {
        fprintf(stderr, "openwinusb: %s: enumeration aborted: %s\n", dev->location, err.msg);
        return;
    }
    pthread_mutex_lock(&stack->lock);
    struct stack_bus *bus = bus_of(stack, hcd);
    if (!bus || owu_usb_device_gone(dev)) {
        /* Unplugged while we enumerated it: its departure found no node; build none. */
        pthread_mutex_unlock(&stack->lock);
        owu_devinfo_free(info);
        return;
    }
    struct owu_devnode *node = NULL;
    int rc = owu_pnp_build_device(bus->hub, info, &stack->opt.pnp, &node, &err);
    /* Two attached devices with one serial number would share an instance ID (Windows: Code
     * 42 for the second). The second gets the port-based instance ID instead, so both work
     * and keep apart their Device Parameters and interfaces (docs/pnp-ids.md). */
    if (rc == OWU_OK && node->unique_id) {
        if (another_with_instance(stack->root, node->instance_id, node))
            rc = owu_pnp_use_port_instance(node);
    }
    if (rc == OWU_OK)
        rc = owu_pnp_start(stack->pm, node, &err);
    if (rc != OWU_OK)
        fprintf(stderr, "openwinusb: %s: %s\n", dev->location, err.msg);
    if (node) {
        owu_usb_device_ref(dev);
        node->bus_device = dev;
        dev->devnode = node;
    }
    pthread_mutex_unlock(&stack->lock);
}

static int plug_model(struct owu_hcd *hcd, const char *name,
                      unsigned port, unsigned *port_out, owu_err *err)
{
    const struct owu_vdev_model *model;
    struct owu_devinfo *profile = NULL;
    const void *arg = NULL;
    if (strncmp(name, "profile=", 8) == 0) {
        int rc = owu_profile_load(name + 8, &profile, err);
        if (rc != OWU_OK)
            return rc;
        model = owu_vdev_model_find("profile");
        arg = profile;
    } else {
        model = owu_vdev_model_find(name);
    }
    if (!model) {
        owu_devinfo_free(profile);
        return owu_fail(err, OWU_E_NOTFOUND, "no virtual device model named \"%s\"", name);
    }
    struct owu_vdev *vd = NULL;
    int rc = owu_vbus_plug(hcd, model, arg, port, &vd, err);
    owu_devinfo_free(profile);   /* the model keeps its own copy */
    if (rc == OWU_OK && port_out)
        *port_out = vd->dev->port;
    return rc;
}

static int add_bus(struct owu_stack *stack, struct owu_hcd *hcd, const char *description)
{
    struct stack_bus *b = &stack->buses[stack->num_buses];
    b->hcd = hcd;
    b->hub = owu_pnp_build_root_hub(stack->root, hcd->bus_number, hcd->superspeed, description);
    if (!b->hub || owu_pnp_start(stack->pm, b->hub, NULL) == OWU_E_NOMEM)
        return OWU_E_NOMEM;
    hcd->hotplug = on_hotplug;
    hcd->hotplug_ctx = stack;
    stack->num_buses++;
    return OWU_OK;
}

/* Attaches a freshly created bus (NULL when its creation failed, err then says why) to the
 * stack, described as "openwinusb <what>", followed by " <bus number>" when numbered. On
 * failure the bus is destroyed and err is filled in. */
static int attach_bus(struct owu_stack *stack, struct owu_hcd *hcd, const char *what, bool numbered,
                      owu_err *err)
{
    if (!hcd)
        return err ? err->code : OWU_E_NOMEM;
    char desc[64];
    if (numbered)
        snprintf(desc, sizeof desc, "openwinusb %s %u", what, hcd->bus_number);
    else
        snprintf(desc, sizeof desc, "openwinusb %s", what);
    pthread_mutex_lock(&stack->lock);
    int rc = add_bus(stack, hcd, desc);
    pthread_mutex_unlock(&stack->lock);
    if (rc != OWU_OK) {
        owu_hcd_destroy(hcd);
        return owu_fail(err, rc, "out of memory");
    }
    return OWU_OK;
}

static struct owu_stack *stack_new(const struct owu_stack_options *opt, owu_err *err)
{
    struct owu_stack *stack = calloc(1, sizeof *stack);
    if (!stack) {
        owu_fail(err, OWU_E_NOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&stack->lock, NULL);
    if (opt)
        stack->opt = *opt;
    else
        owu_stack_options_default(&stack->opt);
    owu_enum_options_default(&stack->eopt);
    if (stack->opt.enum_timeout_ms)
        stack->eopt.timeout_ms = stack->opt.enum_timeout_ms;
    if (owu_pnp_manager_open(&stack->opt.pnp, &stack->pm, err) != OWU_OK) {
        free(stack);
        return NULL;
    }
    stack->root = owu_devnode_new(OWU_NODE_ROOT);
    if (!stack->root) {
        owu_pnp_manager_close(stack->pm);
        free(stack);
        owu_fail(err, OWU_E_NOMEM, "out of memory");
        return NULL;
    }
    stack->root->device_id = strdup("ROOT\\OPENWINUSB");
    stack->root->instance_id = strdup("ROOT\\OPENWINUSB\\0000");
    stack->root->description = strdup("openwinusb host");
    return stack;
}

int owu_stack_open(const struct owu_stack_options *opt, struct owu_stack **out, owu_err *err)
{
    *out = NULL;
    struct owu_stack *stack = stack_new(opt, err);
    if (!stack)
        return err ? err->code : OWU_E_NOMEM;
    const char *spec = stack->opt.buses;
    if (!spec)
        spec = getenv("OPENWINUSB_BUSES");
    if (!spec)
        spec = OWU_DEFAULT_BUSES;

    struct owu_bus_config cfg;
    int rc = owu_buses_parse(spec, &cfg, err);
    if (rc != OWU_OK) {
        owu_stack_close(stack);
        return rc;
    }
    unsigned next_bus = 1;
    for (unsigned i = 0; i < cfg.num_buses && rc == OWU_OK; i++) {
        struct owu_bus_spec *bs = &cfg.buses[i];
        if (bs->kind == OWU_BUS_USBFS) {
            /* usbfs (issue 6): one bus for every usbfs device of the machine; "usbfs?" only
             * where /dev/bus/usb and /sys/bus/usb/devices exist. add_bus registers the
             * hotplug sink before owu_usbfs_start reports the devices already present. */
            if (bs->optional && !owu_usbfs_available())
                continue;
            struct owu_hcd *uhcd = owu_usbfs_create(next_bus++, err);
            rc = attach_bus(stack, uhcd, "usbfs bus", false, err);
            if (rc != OWU_OK)
                break;
            rc = owu_usbfs_start(uhcd, err);
            if (rc != OWU_OK && bs->optional)
                rc = OWU_OK;
            continue;
        }
        if (bs->kind == OWU_BUS_USBIP) {
            /* USB/IP (issue 7): one bus per server. Every export (or the one busid named) is
             * imported and enumerated like a local device; add_bus registers the hotplug
             * sink first. */
            struct owu_hcd *ihcd = owu_usbip_client_create(next_bus++, bs->host, bs->tcp_port, err);
            rc = attach_bus(stack, ihcd, "USB/IP bus", true, err);
            if (rc != OWU_OK)
                break;
            rc = bs->busid ? owu_usbip_client_import(ihcd, bs->busid, NULL, err)
                           : owu_usbip_client_import_all(ihcd, NULL, err);
            continue;
        }
        if (bs->kind == OWU_BUS_HOST) {
            /* Device host client (docs/device-host.md): the host's devices, shared with other
             * processes; attached and enumerated like USB/IP imports. */
            struct owu_hcd *dhcd = owu_usbip_client_create_local(next_bus++, bs->socket, err);
            rc = attach_bus(stack, dhcd, "device host bus", true, err);
            if (rc != OWU_OK)
                break;
            rc = owu_usbip_client_import_all(dhcd, NULL, err);
            continue;
        }
        struct owu_hcd *hcd = owu_vbus_create(next_bus++, err);
        rc = attach_bus(stack, hcd, "virtual bus", true, err);
        if (rc != OWU_OK)
            break;
        for (unsigned m = 0; m < bs->num_models && rc == OWU_OK; m++)
            rc = plug_model(hcd, bs->models[m], m + 1, NULL, err);
    }
    owu_buses_free(&cfg);
    if (rc != OWU_OK) {
        owu_stack_close(stack);
        return rc;
    }
    *out = stack;
    return OWU_OK;
}

void owu_stack_close(struct owu_stack *stack)
{
    if (!stack)
        return;
    /* Destroying a bus unplugs its devices, which removes their nodes through on_hotplug. */
    for (unsigned i = 0; i < stack->num_buses; i++)
        owu_hcd_destroy(stack->buses[i].hcd);
    owu_devnode_free(stack->root);
    owu_pnp_manager_close(stack->pm);
    pthread_mutex_destroy(&stack->lock);
    free(stack);
}

struct owu_devif_table *owu_stack_interfaces(struct owu_stack *stack) { return stack->pm->interfaces; }
struct owu_registry *owu_stack_registry(struct owu_stack *stack) { return stack->pm->registry; }
const struct owu_driver_store *owu_stack_driver_store(struct owu_stack *stack) { return stack->pm->store; }

size_t owu_stack_take_notes(struct owu_stack *stack, owu_strlist *out)
{
    pthread_mutex_lock(&stack->pm->notes_lock);
    size_t n = stack->pm->notes.n;
    for (size_t i = 0; i < n; i++)
        owu_strlist_add(out, stack->pm->notes.v[i]);
    owu_strlist_clear(&stack->pm->notes);
    pthread_mutex_unlock(&stack->pm->notes_lock);
    return n;
}

static struct owu_devnode *find_in(struct owu_devnode *n, const char *key)
{
    if (!n)
        return NULL;
    if ((n->instance_id && strcasecmp(n->instance_id, key) == 0) ||
        (n->kind == OWU_NODE_DEVICE && n->info && strcasecmp(n->info->location, key) == 0))
        return n;
    for (struct owu_devnode *c = n->first_child; c; c = c->next_sibling) {
        struct owu_devnode *hit = find_in(c, key);
        if (hit)
            return hit;
    }
    return NULL;
}

struct owu_devnode *owu_stack_find(struct owu_stack *stack, const char *key)
{
    return key ? find_in(stack->root, key) : NULL;
}

static struct stack_bus *first_virtual(struct owu_stack *stack, unsigned bus_number)
{
    for (unsigned i = 0; i < stack->num_buses; i++) {
        struct owu_hcd *hcd = stack->buses[i].hcd;
        if (strcmp(hcd->ops->name, "virtual") == 0 && (!bus_number || hcd->bus_number == bus_number))
            return &stack->buses[i];
    }
    return NULL;
}

int owu_stack_plug(struct owu_stack *stack, const char *model, unsigned port, unsigned *port_out,
                   owu_err *err)
{
    struct stack_bus *b = first_virtual(stack, 0);
    if (!b)
        return owu_fail(err, OWU_E_NOTFOUND, "no virtual bus is configured (see OPENWINUSB_BUSES)");
    return plug_model(b->hcd, model, port, port_out, err);
}

int owu_stack_unplug(struct owu_stack *stack, unsigned bus_number, unsigned port, owu_err *err)
{
    struct stack_bus *b = first_virtual(stack, bus_number);
    if (!b)
        return owu_fail(err, OWU_E_NOTFOUND, "no virtual bus %u", bus_number);
    int rc = owu_vbus_unplug(b->hcd, port);
    if (rc != OWU_OK)
        return owu_fail(err, rc, "virtual bus %u: no device on port %u", b->hcd->bus_number, port);
    return OWU_OK;
}

int owu_stack_open_devinfo(const struct owu_devinfo *info, const struct owu_pnp_options *pnp,
                           struct owu_stack **out, owu_err *err)
{
    struct owu_stack_options opt;
    owu_stack_options_default(&opt);
    if (pnp)
        opt.pnp = *pnp;
    opt.pnp.memory_registry = true;   /* `ids FILE` describes; it installs nothing */
    *out = NULL;
    struct owu_stack *stack = stack_new(&opt, err);
    if (!stack)
        return err ? err->code : OWU_E_NOMEM;
    /* A file-described device answers instantly or never: no need for Windows' 5 s. */
    stack->eopt.timeout_ms = 500;
    struct owu_hcd *hcd = owu_vbus_create(1, err);
    int rc = attach_bus(stack, hcd, "virtual bus", true, err);
    if (rc != OWU_OK) {
        owu_stack_close(stack);
        return rc;
    }
    unsigned port = info->port && info->port <= OWU_VBUS_MAX_PORTS ? info->port : 1;
    rc = owu_vbus_plug(hcd, owu_vdev_model_find("profile"), info, port, NULL, err);
    if (rc != OWU_OK) {
        owu_stack_close(stack);
        return rc;
    }
    *out = stack;
    return OWU_OK;
}
