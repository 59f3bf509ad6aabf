/* usbccgp, the generic parent of composite devices: groups a composite device's interfaces
 * into functions (pnp-ids.md §1.7) and creates one child devnode per function. The IDs
 * themselves come from the one formatter (owu_pnp_function_ids). */
#include <openwinusb/pnp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pnp/msos.h"

struct ccgp_function {
    uint8_t first_interface;
    uint8_t num_interfaces;
    uint8_t cls, sub, prot;
    uint8_t iface_string;    /* iFunction of the IAD, else iInterface of the first interface */
    uint8_t alt_string;      /* iInterface of the first interface (fallback for an IAD) */
};

static const struct owu_altsetting *alt0(const struct owu_interface *intf)
{
    const struct owu_altsetting *a = owu_interface_find_alt(intf, 0);
    return a ? a : (intf->num_alts ? &intf->alts[0] : NULL);
}

/* IADs rule when any exists (interfaces outside every IAD are functions of their own);
 * without IADs, consecutive audio interfaces whose subclass differs from the first one's
 * join it; every other interface is its own function. Functions follow the order in which
 * their first interface appears in the configuration. */
static unsigned group_functions(const struct owu_config *cfg, bool *iad_used, struct ccgp_function *out)
{
    unsigned n = 0;
    if (cfg->num_iads > 0) {
        for (unsigned i = 0; i < cfg->num_interfaces; i++) {
            const struct owu_interface *intf = &cfg->interfaces[i];
            const struct owu_altsetting *a = alt0(intf);
            const struct owu_iad *iad = owu_config_iad_for(cfg, intf->number);
            struct ccgp_function f = { 0 };
            if (iad) {
                size_t k = (size_t)(iad - cfg->iads);
                if (k < cfg->num_iads) {
                    if (iad_used[k])
                        continue;
                    iad_used[k] = true;
                }
                f.first_interface = iad->bFirstInterface;
                f.num_interfaces = iad->bInterfaceCount;
                f.cls = iad->bFunctionClass;
                f.sub = iad->bFunctionSubClass;
                f.prot = iad->bFunctionProtocol;
                f.iface_string = iad->iFunction;
                const struct owu_interface *first = owu_config_find_interface(cfg, iad->bFirstInterface);
                const struct owu_altsetting *fa = first ? alt0(first) : a;
                f.alt_string = fa ? fa->iInterface : 0;
            } else {
                f.first_interface = intf->number;
                f.num_interfaces = 1;
                if (a) {
                    f.cls = a->bInterfaceClass;
                    f.sub = a->bInterfaceSubClass;
                    f.prot = a->bInterfaceProtocol;
                    f.iface_string = a->iInterface;
                }
            }
            out[n++] = f;
        }
        return n;
    }

    for (unsigned i = 0; i < cfg->num_interfaces;) {
        const struct owu_altsetting *a = alt0(&cfg->interfaces[i]);
        struct ccgp_function f = { .first_interface = cfg->interfaces[i].number, .num_interfaces = 1 };
        if (a) {
            f.cls = a->bInterfaceClass;
            f.sub = a->bInterfaceSubClass;
            f.prot = a->bInterfaceProtocol;
            f.iface_string = a->iInterface;
        }
        unsigned j = i + 1;
        if (a && a->bInterfaceClass == OWU_CLASS_AUDIO) {
            while (j < cfg->num_interfaces) {
                const struct owu_altsetting *b = alt0(&cfg->interfaces[j]);
                if (!b || b->bInterfaceClass != OWU_CLASS_AUDIO || b->bInterfaceSubClass == a->bInterfaceSubClass)
                    break;
                j++;
            }
            f.num_interfaces = (uint8_t)(j - i);
        }
        out[n++] = f;
        i = j;
    }
    return n;
}

static int set_description(struct owu_devnode *fn, const struct owu_devinfo *info,
                           const struct ccgp_function *f)
{
    char text[256];
    const char *s = NULL;
    if ((f->iface_string && owu_devinfo_string(info, f->iface_string, text, sizeof text) && text[0]) ||
        (f->alt_string && owu_devinfo_string(info, f->alt_string, text, sizeof text) && text[0]))
        s = text;
    char *desc = NULL;
    int rc;
    if (s) {
        rc = asprintf(&desc, "%s", s);
    } else {
        /* The parent's description is its product string when it has one. */
        char product[256];
        struct owu_device_desc dd;
        const char *base = owu_pnp_class_name(f->cls, f->sub, f->prot);
        if (owu_devinfo_device_desc(info, &dd, NULL) == OWU_OK && dd.iProduct &&
            owu_devinfo_string(info, dd.iProduct, product, sizeof product) && product[0])
            base = product;
        rc = asprintf(&desc, "%s (Interface %u)", base, f->first_interface);
    }
    if (rc < 0)
        return OWU_E_NOMEM;
    free(fn->description);
    fn->description = desc;
    return OWU_OK;
}

static int create_function(struct owu_devnode *parent, const struct ccgp_function *f,
                           struct owu_msos *m, const struct owu_pnp_options *opt, owu_err *err)
{
    struct owu_devnode *fn = owu_devnode_new(OWU_NODE_FUNCTION);
    if (!fn)
        return owu_fail(err, OWU_E_NOMEM, "usbccgp: out of memory");
    owu_devnode_add_child(parent, fn);
    fn->info = parent->info;
    fn->vid = parent->vid;
    fn->pid = parent->pid;
    fn->rev = parent->rev;
    fn->bcd_usb = parent->bcd_usb;
    fn->first_interface = f->first_interface;
    fn->num_interfaces = f->num_interfaces;
    fn->class_code = f->cls;
    fn->subclass = f->sub;
    fn->protocol = f->prot;
    memcpy(fn->container_id, parent->container_id, sizeof fn->container_id);

    struct owu_msos_compat_id ms;
    if (owu_msos_function_compat(m, f->first_interface, &ms)) {
        memcpy(fn->msos_compat, ms.compat, sizeof fn->msos_compat);
        memcpy(fn->msos_subcompat, ms.subcompat, sizeof fn->msos_subcompat);
    }
    int rc = owu_pnp_function_ids(fn, opt, err);
    if (rc < 0)
        goto fail;

    char inst[96];
    snprintf(inst, sizeof inst, "%s&%04X", parent->parent_id_prefix ? parent->parent_id_prefix : "0",
             f->first_interface);
    rc = OWU_E_NOMEM;
    if (owu_pnp_set_instance(fn, inst, false) < 0 ||
        (parent->location && !(fn->location = strdup(parent->location))) ||
        set_description(fn, parent->info, f) < 0 ||
        owu_msos_function_properties(m, parent->info, f->first_interface, fn) < 0)
        goto fail_nomem;
    if (m->error[0] && !(fn->msos_error = strdup(m->error)))
        goto fail_nomem;
    return OWU_OK;

fail_nomem:
    rc = owu_fail(err, OWU_E_NOMEM, "usbccgp: out of memory");
fail:
    owu_devnode_free(fn);
    return rc;
}

int owu_usbccgp_create_functions(struct owu_devnode *composite, const struct owu_pnp_options *opt,
                                 owu_err *err)
{
    if (!composite || composite->kind != OWU_NODE_DEVICE || !composite->composite || !composite->info)
        return owu_fail(err, OWU_E_INVAL, "usbccgp: %s is not a composite device",
                        composite && composite->instance_id ? composite->instance_id : "the node");
    struct owu_pnp_options defaults;
    if (!opt) {
        owu_pnp_options_default(&defaults);
        opt = &defaults;
    }

    /* Rebuild: drop functions from an earlier run. */
    for (struct owu_devnode *c = composite->first_child, *next; c; c = next) {
        next = c->next_sibling;
        if (c->kind == OWU_NODE_FUNCTION)
            owu_devnode_free(c);
    }

    const struct owu_devinfo *info = composite->info;
    struct owu_config *cfg = NULL;
    int rc = owu_devinfo_config(info, 0, &cfg, err);
    if (rc < 0)
        return owu_err_wrap(err, "usbccgp: %s: ", composite->instance_id ? composite->instance_id : "");

    struct owu_bos *bos = NULL;
    if (info->bos && owu_bos_parse(info->bos, info->bos_len, &bos, NULL) < 0)
        bos = NULL;
    struct owu_msos m;
    rc = owu_msos_load(&m, info, composite->bcd_usb, bos);
    if (bos)
        owu_bos_free(bos);
    if (rc < 0) {
        owu_config_free(cfg);
        return owu_fail(err, rc, "usbccgp: out of memory");
    }

    struct ccgp_function *funcs = calloc(cfg->num_interfaces ? cfg->num_interfaces : 1, sizeof *funcs);
    bool *iad_used = calloc(cfg->num_iads ? cfg->num_iads : 1, sizeof *iad_used);
    if (!funcs || !iad_used) {
        rc = owu_fail(err, OWU_E_NOMEM, "usbccgp: out of memory");
    } else {
        unsigned n = group_functions(cfg, iad_used, funcs);
        for (unsigned i = 0; i < n && rc == OWU_OK; i++)
            rc = create_function(composite, &funcs[i], &m, opt, err);
    }
    free(funcs);
    free(iad_used);
    owu_msos_free(&m);
    owu_config_free(cfg);
    return rc;
}
