/* The one Windows ID formatter: device IDs, hardware IDs and compatible IDs of the
 * computer, root hubs, hub-enumerated devices and usbccgp functions, and the node builders
 * that pull instance IDs (instance_id.c) and container IDs (container_id.c) together.
 * Spellings: shared/reference/pnp-ids.md §1; decisions: docs/pnp-ids.md. */
#include <openwinusb/pnp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pnp/msos.h"

void owu_pnp_options_default(struct owu_pnp_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->target = OWU_TARGET_WIN10;
    const char *t = getenv("OPENWINUSB_TARGET");
    if (t && strcasecmp(t, "win11") == 0)
        opt->target = OWU_TARGET_WIN11;
}

/* ---- failure IDs (pnp-ids.md §1.2) ---------------------------------------------------- */

static const struct {
    enum owu_enum_failure failure;
    unsigned pid;
    const char *id;
    const char *description;
} failures[] = {
    { OWU_FAIL_RESET, 0x0001, "USB\\RESET_FAILURE", "Unknown USB Device (Port Reset Failed)" },
    { OWU_FAIL_DEVICE_DESCRIPTOR, 0x0002, "USB\\DEVICE_DESCRIPTOR_FAILURE",
      "Unknown USB Device (Device Descriptor Request Failed)" },
    { OWU_FAIL_CONFIG_DESCRIPTOR, 0x0003, "USB\\CONFIG_DESCRIPTOR_FAILURE",
      "Unknown USB Device (Configuration Descriptor Request Failed)" },
    { OWU_FAIL_SET_ADDRESS, 0x0004, "USB\\SET_ADDRESS_FAILURE", "Unknown USB Device (Set Address Failed)" },
    { OWU_FAIL_DEVICE_DESCRIPTOR_INVALID, 0x0005, "USB\\DEVICE_DESCRIPTOR_VALIDATION_FAILURE",
      "Unknown USB Device (Invalid Device Descriptor)" },
    { OWU_FAIL_CONFIG_DESCRIPTOR_INVALID, 0x0006, "USB\\CONFIGURATION_DESCRIPTOR_VALIDATION_FAILURE",
      "Unknown USB Device (Invalid Configuration Descriptor)" },
    { OWU_FAIL_PORT_LINK_SSINACTIVE, 0x0007, "USB\\PORT_LINK_SSINACTIVE",
      "Unknown USB Device (Link in SS.Inactive)" },
    { OWU_FAIL_PORT_LINK_COMPLIANCE, 0x0008, "USB\\PORT_LINK_COMPLIANCE_MODE",
      "Unknown USB Device (Link in Compliance Mode)" },
};

const char *owu_failure_id(enum owu_enum_failure f)
{
    for (size_t i = 0; i < sizeof failures / sizeof failures[0]; i++)
        if (failures[i].failure == f)
            return failures[i].id;
    return "USB\\UNKNOWN_DEVICE";
}

unsigned owu_failure_pid(enum owu_enum_failure f)
{
    for (size_t i = 0; i < sizeof failures / sizeof failures[0]; i++)
        if (failures[i].failure == f)
            return failures[i].pid;
    return 0x0000;
}

static const char *failure_description(enum owu_enum_failure f)
{
    for (size_t i = 0; i < sizeof failures / sizeof failures[0]; i++)
        if (failures[i].failure == f)
            return failures[i].description;
    return "Unknown USB Device";
}

/* ---- pieces ---------------------------------------------------------------------------- */

void owu_pnp_rev_text(uint16_t bcd_usb, uint16_t bcd_device, char out[5])
{
    if (bcd_usb > 0x0200) {
        snprintf(out, 5, "%04X", bcd_device);
        return;
    }
    /* The older formatter adds '0' to each nibble, so A-F come out as : ; < = > ? */
    for (int i = 0; i < 4; i++)
        out[i] = (char)('0' + ((bcd_device >> (12 - 4 * i)) & 0xF));
    out[4] = '\0';
}

const char *owu_pnp_class_name(uint8_t cls, uint8_t sub, uint8_t prot)
{
    switch (cls) {
    case OWU_CLASS_AUDIO: return "USB Audio Device";
    case OWU_CLASS_COMM: return sub == 0x02 ? "USB Serial Device" : "USB Communications Device";
    case OWU_CLASS_HID: return "USB Input Device";
    case 0x06: return "USB Imaging Device";
    case OWU_CLASS_PRINTER: return "USB Printing Support";
    case OWU_CLASS_MASS_STORAGE: return "USB Mass Storage Device";
    case OWU_CLASS_HUB: return "Generic USB Hub";
    case OWU_CLASS_CDC_DATA: return "USB CDC Data Interface";
    case 0x0B: return "USB Smart Card Reader";
    case OWU_CLASS_VIDEO: return "USB Video Device";
    case OWU_CLASS_BILLBOARD: return "USB Billboard Device";
    case 0xE0: return "USB Wireless Controller";
    case OWU_CLASS_MISC:
        return sub == 0x04 && prot == 0x01 ? "Remote NDIS Compatible Device" : "USB Device";
    case 0xFE: return "USB Application Specific Device";
    case OWU_CLASS_VENDOR: return "USB Vendor Specific Device";
    default: return "USB Device";
    }
}

static int set_str(char **dst, const char *s)
{
    char *copy = strdup(s);
    if (!copy)
        return OWU_E_NOMEM;
    free(*dst);
    *dst = copy;
    return OWU_OK;
}

/* MS_COMP lines: the sub-compat line appears whenever the sub-compatible ID is non-empty,
 * even with an empty compatible ID (the hub's quirk, pnp-ids.md §1.8). */
static int add_msos_ids(owu_strlist *l, const char *compat, const char *sub)
{
    int rc = OWU_OK;
    if (sub[0])
        rc = owu_strlist_addf(l, "USB\\MS_COMP_%s&MS_SUBCOMP_%s", compat, sub);
    if (rc == OWU_OK && compat[0])
        rc = owu_strlist_addf(l, "USB\\MS_COMP_%s", compat);
    return rc;
}

/* COMPAT_VID (WIN11) and class lines. The hub prints upper-case hex, usbccgp lower case. */
static int add_class_ids(owu_strlist *l, uint16_t vid, uint8_t c, uint8_t s, uint8_t p, bool win11,
                         bool lower)
{
    int rc = OWU_OK;
    if (win11) {
        if (lower) {
            if ((rc = owu_strlist_addf(l, "USB\\COMPAT_VID_%04x&Class_%02x&SubClass_%02x&Prot_%02x",
                                       vid, c, s, p)) < 0 ||
                (rc = owu_strlist_addf(l, "USB\\COMPAT_VID_%04x&Class_%02x&SubClass_%02x", vid, c, s)) < 0 ||
                (rc = owu_strlist_addf(l, "USB\\COMPAT_VID_%04x&Class_%02x", vid, c)) < 0)
                return rc;
        } else {
            if ((rc = owu_strlist_addf(l, "USB\\COMPAT_VID_%04X&Class_%02X&SubClass_%02X&Prot_%02X",
                                       vid, c, s, p)) < 0 ||
                (rc = owu_strlist_addf(l, "USB\\COMPAT_VID_%04X&Class_%02X&SubClass_%02X", vid, c, s)) < 0 ||
                (rc = owu_strlist_addf(l, "USB\\COMPAT_VID_%04X&Class_%02X", vid, c)) < 0)
                return rc;
        }
    }
    if (lower) {
        if ((rc = owu_strlist_addf(l, "USB\\Class_%02x&SubClass_%02x&Prot_%02x", c, s, p)) < 0 ||
            (rc = owu_strlist_addf(l, "USB\\Class_%02x&SubClass_%02x", c, s)) < 0 ||
            (rc = owu_strlist_addf(l, "USB\\Class_%02x", c)) < 0)
            return rc;
    } else {
        if ((rc = owu_strlist_addf(l, "USB\\Class_%02X&SubClass_%02X&Prot_%02X", c, s, p)) < 0 ||
            (rc = owu_strlist_addf(l, "USB\\Class_%02X&SubClass_%02X", c, s)) < 0 ||
            (rc = owu_strlist_addf(l, "USB\\Class_%02X", c)) < 0)
            return rc;
    }
    return OWU_OK;
}

/* §1.6: the DevClass triple is the constant 00 string, and the first COMPAT_VID line really
 * says "Prot00" without an underscore. */
static int add_composite_ids(owu_strlist *l, uint16_t vid, bool win11)
{
    int rc;
    if (win11 &&
        ((rc = owu_strlist_addf(l, "USB\\COMPAT_VID_%04X&DevClass_00&SubClass_00&Prot00", vid)) < 0 ||
         (rc = owu_strlist_addf(l, "USB\\COMPAT_VID_%04X&DevClass_00&SubClass_00", vid)) < 0 ||
         (rc = owu_strlist_addf(l, "USB\\COMPAT_VID_%04X&DevClass_00", vid)) < 0))
        return rc;
    if ((rc = owu_strlist_add(l, "USB\\DevClass_00&SubClass_00&Prot_00")) < 0 ||
        (rc = owu_strlist_add(l, "USB\\DevClass_00&SubClass_00")) < 0 ||
        (rc = owu_strlist_add(l, "USB\\DevClass_00")) < 0 ||
        (rc = owu_strlist_add(l, "USB\\COMPOSITE")) < 0)
        return rc;
    return OWU_OK;
}

int owu_pnp_function_ids(struct owu_devnode *fn, const struct owu_pnp_options *opt, owu_err *err)
{
    if (!fn || !opt)
        return owu_fail(err, OWU_E_INVAL, "function IDs: no node or options");
    owu_strlist_clear(&fn->hardware_ids);
    owu_strlist_clear(&fn->compatible_ids);
    char rev[5];
    owu_pnp_rev_text(fn->bcd_usb, fn->rev, rev);
    char *id = NULL;
    if (asprintf(&id, "USB\\VID_%04X&PID_%04X&MI_%02X", fn->vid, fn->pid, fn->first_interface) < 0)
        return owu_fail(err, OWU_E_NOMEM, "function IDs: out of memory");
    free(fn->device_id);
    fn->device_id = id;
    int rc;
    if ((rc = owu_strlist_addf(&fn->hardware_ids, "USB\\VID_%04X&PID_%04X&REV_%s&MI_%02X", fn->vid,
                               fn->pid, rev, fn->first_interface)) < 0 ||
        (rc = owu_strlist_addf(&fn->hardware_ids, "USB\\VID_%04X&PID_%04X&MI_%02X", fn->vid, fn->pid,
                               fn->first_interface)) < 0 ||
        (rc = add_msos_ids(&fn->compatible_ids, fn->msos_compat, fn->msos_subcompat)) < 0 ||
        (rc = add_class_ids(&fn->compatible_ids, fn->vid, fn->class_code, fn->subclass, fn->protocol,
                            opt->target == OWU_TARGET_WIN11, true)) < 0)
        return owu_fail(err, rc, "function IDs: out of memory");
    return OWU_OK;
}

/* ---- the computer and root hubs ------------------------------------------------------ */

static int fill_fixed_node(struct owu_devnode *n, const char *device_id, const char *instance_part,
                           const char *description)
{
    int rc;
    if ((rc = set_str(&n->device_id, device_id)) < 0 ||
        (rc = owu_strlist_add(&n->hardware_ids, device_id)) < 0 ||
        (rc = set_str(&n->description, description)) < 0 ||
        (rc = set_str(&n->location, "")) < 0 ||
        (rc = owu_pnp_set_instance(n, instance_part, false)) < 0)
        return rc;
    snprintf(n->container_id, sizeof n->container_id, "%s", OWU_CONTAINER_ID_ROOT);
    return OWU_OK;
}

struct owu_devnode *owu_pnp_build_root(void)
{
    struct owu_devnode *n = owu_devnode_new(OWU_NODE_ROOT);
    if (n && fill_fixed_node(n, "ROOT\\OPENWINUSB", "0000", "openwinusb host") < 0) {
        owu_devnode_free(n);
        return NULL;
    }
    return n;
}

/* A root hub's instance part: "4&<FNV-1a of OPENWINUSB\BUS\<n>>&0&0" (decision). */
static void root_hub_instance(unsigned bus_number, char *out, size_t outsz)
{
    char name[48];
    snprintf(name, sizeof name, "OPENWINUSB\\BUS\\%u", bus_number);
    snprintf(out, outsz, "4&%X&0&0", owu_fnv1a32(name));
}

static unsigned next_hub_number(struct owu_devnode *node);

struct owu_devnode *owu_pnp_build_root_hub(struct owu_devnode *root, unsigned bus_number,
                                           bool superspeed, const char *description)
{
    struct owu_devnode *n = owu_devnode_new(OWU_NODE_HUB);
    if (!n)
        return NULL;
    if (root) {
        owu_devnode_add_child(root, n);
        n->hub_number = next_hub_number(n);
    } else {
        n->hub_number = bus_number;
    }
    char inst[32];
    root_hub_instance(bus_number, inst, sizeof inst);
    if (!description)
        description = superspeed ? "USB Root Hub (USB 3.0)" : "USB Root Hub";
    if (fill_fixed_node(n, superspeed ? "USB\\ROOT_HUB30" : "USB\\ROOT_HUB20", inst, description) < 0) {
        owu_devnode_free(n);
        return NULL;
    }
    return n;
}

/* The prefix port-based children of `parent` get; with no parent, the one the USB 2 root
 * hub of bus 0 would hand out. */
static int port_prefix(const struct owu_devnode *parent, char *out, size_t outsz)
{
    if (parent && parent->parent_id_prefix) {
        snprintf(out, outsz, "%s", parent->parent_id_prefix);
        return OWU_OK;
    }
    char inst[32], full[64];
    root_hub_instance(0, inst, sizeof inst);
    snprintf(full, sizeof full, "USB\\ROOT_HUB20\\%s", inst);
    snprintf(out, outsz, "5&%X&0", owu_fnv1a32(full));
    return OWU_OK;
}

int owu_pnp_use_port_instance(struct owu_devnode *node)
{
    if (!node || node->kind != OWU_NODE_DEVICE || !node->info)
        return OWU_E_INVAL;
    char prefix[64], inst[96];
    port_prefix(node->parent, prefix, sizeof prefix);
    snprintf(inst, sizeof inst, "%s&%u", prefix, node->info->port);
    return owu_pnp_set_instance(node, inst, false);
}

/* Hub numbers for locations: every hub of a tree — root hubs and external hubs alike —
 * takes the next number from a counter kept on the tree's top node, in creation order. */
static unsigned next_hub_number(struct owu_devnode *node)
{
    struct owu_devnode *top = node;
    while (top->parent)
        top = top->parent;
    return ++top->hub_counter;
}

/* ---- devices on a hub port ----------------------------------------------------------- */

static int build_failure(struct owu_devnode *node, const struct owu_devnode *parent, owu_err *err)
{
    struct owu_devinfo *info = node->info;
    enum owu_enum_failure f = info->failure;
    node->failure = f;
    node->vid = 0;
    node->pid = (uint16_t)owu_failure_pid(f);
    char id[40], prefix[64], inst[96];
    snprintf(id, sizeof id, "USB\\VID_0000&PID_%04X", node->pid);
    port_prefix(parent, prefix, sizeof prefix);
    snprintf(inst, sizeof inst, "%s&%u", prefix, info->port);
    int rc;
    if ((rc = set_str(&node->device_id, id)) < 0 ||
        (rc = owu_strlist_add(&node->hardware_ids, owu_failure_id(f))) < 0 ||
        (rc = owu_strlist_add(&node->compatible_ids, owu_failure_id(f))) < 0 ||
        (rc = set_str(&node->description, failure_description(f))) < 0 ||
        (rc = owu_pnp_set_instance(node, inst, false)) < 0)
        return owu_fail(err, rc, "device on port %u: out of memory", info->port);
    if (!info->removable && parent && parent->container_id[0])
        memcpy(node->container_id, parent->container_id, sizeof node->container_id);
    else
        owu_container_id_from_location(0, node->pid, 0, 0, info->location, node->container_id);
    return OWU_OK;
}

/* §1.4 UAS case: with bcdUSB > 0x0200 at high speed, or at SuperSpeed when a bulk endpoint
 * of that setting declares streams, an 08/06/62 alternate setting of the chosen interface
 * feeds the class IDs and earns the MSFT30 serial prefix. */
static const struct owu_altsetting *uas_alt(const struct owu_device_desc *dd, enum owu_speed speed,
                                            const struct owu_interface *intf)
{
    if (!intf || dd->bcdUSB <= 0x0200)
        return NULL;
    for (unsigned i = 0; i < intf->num_alts; i++) {
        const struct owu_altsetting *a = &intf->alts[i];
        if (a->bInterfaceClass != OWU_CLASS_MASS_STORAGE || a->bInterfaceSubClass != 0x06 ||
            a->bInterfaceProtocol != 0x62)
            continue;
        if (speed == OWU_SPEED_HIGH)
            return a;
        if (speed == OWU_SPEED_SUPER || speed == OWU_SPEED_SUPER_PLUS)
            for (unsigned e = 0; e < a->num_endpoints; e++) {
                const struct owu_endpoint *ep = &a->endpoints[e];
                if ((ep->bmAttributes & 3) == OWU_XFER_BULK && ep->has_ss_companion &&
                    (ep->ss_bmAttributes & 0x1F) != 0)
                    return a;
            }
    }
    return NULL;
}

/* Checks the descriptors a successful enumeration must have left; turns the node into the
 * matching failure node when they are missing or do not parse. */
static int check_descriptors(struct owu_devinfo *info, struct owu_device_desc *dd,
                             struct owu_config **cfg)
{
    owu_err e = { 0 };
    int rc = owu_devinfo_device_desc(info, dd, &e);
    if (rc == OWU_E_NOMEM)
        return rc;
    if (rc < 0) {
        info->failure = info->device_len < OWU_DEVICE_DESC_SIZE ? OWU_FAIL_DEVICE_DESCRIPTOR
                                                                 : OWU_FAIL_DEVICE_DESCRIPTOR_INVALID;
        snprintf(info->failure_detail, sizeof info->failure_detail, "%s", e.msg);
        return OWU_OK;
    }
    if (info->num_configs == 0) {
        info->failure = OWU_FAIL_CONFIG_DESCRIPTOR;
        snprintf(info->failure_detail, sizeof info->failure_detail, "no configuration descriptor was read");
        return OWU_OK;
    }
    rc = owu_devinfo_config(info, 0, cfg, &e);
    if (rc == OWU_E_NOMEM)
        return rc;
    if (rc < 0) {
        *cfg = NULL;
        info->failure = OWU_FAIL_CONFIG_DESCRIPTOR_INVALID;
        snprintf(info->failure_detail, sizeof info->failure_detail, "%s", e.msg);
    }
    return OWU_OK;
}

static int build_ok(struct owu_devnode *node, const struct owu_devnode *parent,
                    const struct owu_device_desc *dd, const struct owu_config *cfg,
                    const struct owu_pnp_options *opt, owu_err *err)
{
    struct owu_devinfo *info = node->info;
    bool win11 = opt->target == OWU_TARGET_WIN11;
    struct owu_bos *bos = NULL;
    struct owu_msos m;
    char note[sizeof m.error] = "";
    int rc;

    node->vid = dd->idVendor;
    node->pid = dd->idProduct;
    node->rev = dd->bcdDevice;
    node->bcd_usb = dd->bcdUSB;

    if (info->bos) {
        owu_err e = { 0 };
        rc = owu_bos_parse(info->bos, info->bos_len, &bos, &e);
        if (rc == OWU_E_NOMEM)
            return owu_fail(err, rc, "device on port %u: out of memory", info->port);
        if (rc < 0) {
            bos = NULL;
            snprintf(note, sizeof note, "BOS ignored: %.300s", e.msg);
        }
    }
    rc = owu_msos_load(&m, info, dd->bcdUSB, bos);
    if (rc < 0) {
        if (bos)
            owu_bos_free(bos);
        return owu_fail(err, rc, "device on port %u: out of memory", info->port);
    }
    if (!note[0])
        memcpy(note, m.error, sizeof note);

    const struct owu_interface *first_if = cfg->num_interfaces ? &cfg->interfaces[0] : NULL;
    const struct owu_altsetting *first_alt = first_if && first_if->num_alts ? &first_if->alts[0] : NULL;

    bool class_composite = dd->bDeviceClass == 0x00 ||
                           (dd->bDeviceClass == OWU_CLASS_MISC && dd->bDeviceSubClass == 0x02 &&
                            dd->bDeviceProtocol == 0x01);
    node->composite = dd->bNumConfigurations == 1 && cfg->bNumInterfaces > 1 &&
                      (class_composite || owu_msos_ccgp(&m));
    bool hub = !node->composite && first_alt && first_alt->bInterfaceClass == OWU_CLASS_HUB;
    bool billboard = !node->composite && !hub && bos && bos->has_billboard;
    const struct owu_altsetting *uas = node->composite ? NULL : uas_alt(dd, info->speed, first_if);
    const struct owu_altsetting *class_alt = uas ? uas : first_alt;

    if (node->composite) {
        node->class_code = node->subclass = node->protocol = 0;
    } else if (billboard) {
        node->class_code = OWU_CLASS_BILLBOARD;
        node->subclass = node->protocol = 0;
    } else if (class_alt) {
        node->class_code = class_alt->bInterfaceClass;
        node->subclass = class_alt->bInterfaceSubClass;
        node->protocol = class_alt->bInterfaceProtocol;
    } else {
        /* A configuration without interfaces: the device descriptor's triple. */
        node->class_code = dd->bDeviceClass;
        node->subclass = dd->bDeviceSubClass;
        node->protocol = dd->bDeviceProtocol;
    }

    char rev[5], id[32];
    owu_pnp_rev_text(dd->bcdUSB, dd->bcdDevice, rev);
    snprintf(id, sizeof id, "USB\\VID_%04X&PID_%04X", node->vid, node->pid);
    if ((rc = set_str(&node->device_id, id)) < 0 ||
        (rc = owu_strlist_addf(&node->hardware_ids, "%s&REV_%s", id, rev)) < 0 ||
        (rc = owu_strlist_add(&node->hardware_ids, id)) < 0)
        goto nomem;

    owu_strlist *compat = &node->compatible_ids;
    if (node->composite) {
        rc = add_composite_ids(compat, node->vid, win11);
    } else if (hub) {
        if (info->speed == OWU_SPEED_SUPER || info->speed == OWU_SPEED_SUPER_PLUS ||
            (info->speed == OWU_SPEED_UNKNOWN && dd->bcdUSB >= 0x0300))
            rc = owu_strlist_add(compat, "USB\\USB30_HUB");
        else if (info->speed != OWU_SPEED_LOW)
            rc = owu_strlist_add(compat, "USB\\USB20_HUB");
    } else if (billboard) {
        rc = owu_strlist_add(compat, "USB\\Class_11&SubClass_00&Prot_00");
    } else {
        struct owu_msos_compat_id ms;
        if (owu_msos_device_compat(&m, &ms)) {
            memcpy(node->msos_compat, ms.compat, sizeof node->msos_compat);
            memcpy(node->msos_subcompat, ms.subcompat, sizeof node->msos_subcompat);
            rc = add_msos_ids(compat, ms.compat, ms.subcompat);
        }
        if (rc == OWU_OK)
            rc = add_class_ids(compat, node->vid, node->class_code, node->subclass, node->protocol,
                               win11, false);
    }
    if (rc < 0 || (rc = owu_msos_device_properties(&m, info, node->composite, node)) < 0)
        goto nomem;
    if (!note[0] && m.error[0])
        memcpy(note, m.error, sizeof note);
    if (note[0] && (rc = set_str(&node->msos_error, note)) < 0)
        goto nomem;

    /* Instance ID (§1.9). */
    char serial[512] = "", inst[600];
    bool serial_ok = dd->iSerialNumber != 0 &&
                     owu_devinfo_string(info, dd->iSerialNumber, serial, sizeof serial) &&
                     owu_pnp_serial_valid(serial);
    if (serial_ok && !opt->ignore_serial) {
        const char *prefix = hub ? (dd->bcdUSB < 0x0300 ? "MSFT20" : "MSFT30") : uas ? "MSFT30" : NULL;
        if (owu_pnp_serial_instance(serial, prefix, inst, sizeof inst) < 0)
            serial_ok = false;   /* cannot happen for a valid serial of this size */
        else
            rc = owu_pnp_set_instance(node, inst, true);
    }
    if (!serial_ok || opt->ignore_serial) {
        char prefix[64];
        port_prefix(parent, prefix, sizeof prefix);
        snprintf(inst, sizeof inst, "%s&%u", prefix, info->port);
        rc = owu_pnp_set_instance(node, inst, false);
    }
    if (rc < 0)
        goto nomem;
    if (hub)
        node->hub_number = next_hub_number(node);

    /* Container ID (§1.10). */
    if (m.has_container)
        owu_guid_format(m.container, node->container_id);
    else if (!info->removable && parent && parent->container_id[0])
        memcpy(node->container_id, parent->container_id, sizeof node->container_id);
    else if (serial_ok)
        owu_container_id_from_serial(node->vid, node->pid, dd->bcdUSB, dd->bcdDevice, serial,
                                     node->container_id);
    else
        owu_container_id_from_location(node->vid, node->pid, dd->bcdUSB, dd->bcdDevice, info->location,
                                       node->container_id);

    /* Description: iProduct, else a generic name. */
    char product[256];
    const char *desc;
    if (dd->iProduct && owu_devinfo_string(info, dd->iProduct, product, sizeof product) && product[0])
        desc = product;
    else if (node->composite)
        desc = "USB Composite Device";
    else if (hub)
        desc = node->bcd_usb >= 0x0300 ? "Generic SuperSpeed USB Hub" : "Generic USB Hub";
    else
        desc = owu_pnp_class_name(node->class_code, node->subclass, node->protocol);
    if ((rc = set_str(&node->description, desc)) < 0)
        goto nomem;

    owu_msos_free(&m);
    if (bos)
        owu_bos_free(bos);
    return OWU_OK;

nomem:
    owu_msos_free(&m);
    if (bos)
        owu_bos_free(bos);
    return owu_fail(err, rc, "device on port %u: out of memory", info->port);
}

int owu_pnp_build_device(struct owu_devnode *parent, struct owu_devinfo *info,
                         const struct owu_pnp_options *opt, struct owu_devnode **out, owu_err *err)
{
    if (out)
        *out = NULL;
    if (!info || !out) {
        owu_devinfo_free(info);
        return owu_fail(err, OWU_E_INVAL, "build device: no device information or output");
    }
    struct owu_pnp_options defaults;
    if (!opt) {
        owu_pnp_options_default(&defaults);
        opt = &defaults;
    }
    struct owu_devnode *node = owu_devnode_new(OWU_NODE_DEVICE);
    if (!node) {
        owu_devinfo_free(info);
        return owu_fail(err, OWU_E_NOMEM, "build device: out of memory");
    }
    node->info = info;
    if (parent)
        owu_devnode_add_child(parent, node);

    int rc = OWU_OK;
    char loc[64];
    snprintf(loc, sizeof loc, "Port_#%04u.Hub_#%04u", info->port, parent ? parent->hub_number : 0);
    if (set_str(&node->location, loc) < 0) {
        rc = owu_fail(err, OWU_E_NOMEM, "build device: out of memory");
        goto fail;
    }

    struct owu_device_desc dd;
    struct owu_config *cfg = NULL;
    memset(&dd, 0, sizeof dd);
    if (info->failure == OWU_FAIL_NONE) {
        rc = check_descriptors(info, &dd, &cfg);
        if (rc < 0) {
            rc = owu_fail(err, rc, "build device: out of memory");
            goto fail;
        }
    }
    if (info->failure != OWU_FAIL_NONE)
        rc = build_failure(node, parent, err);
    else
        rc = build_ok(node, parent, &dd, cfg, opt, err);
    if (cfg)
        owu_config_free(cfg);
    if (rc < 0)
        goto fail;
    *out = node;
    return OWU_OK;

fail:
    owu_devnode_free(node);   /* detaches it and frees info */
    return rc;
}
