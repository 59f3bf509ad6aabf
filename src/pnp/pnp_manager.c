/* The PnP manager's sequence for a new device node (see pnp_manager.h). */
#include "pnp/pnp_manager.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void note(struct owu_pnp_manager *pm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(struct owu_pnp_manager *pm, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&pm->notes_lock);
    if (pm->notes.n < 1000)
        owu_strlist_add(&pm->notes, buf);
    pthread_mutex_unlock(&pm->notes_lock);
}

static void take_notes(struct owu_pnp_manager *pm, const char *who, owu_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        note(pm, "%s: %s", who, l->v[i]);
    owu_strlist_clear(l);
}

int owu_pnp_manager_open(const struct owu_pnp_options *pnp, struct owu_pnp_manager **out, owu_err *err)
{
    *out = NULL;
    struct owu_pnp_manager *pm = calloc(1, sizeof *pm);
    if (!pm)
        return owu_fail(err, OWU_E_NOMEM, "out of memory");
    pthread_mutex_init(&pm->notes_lock, NULL);
    if (pnp)
        pm->pnp = *pnp;
    else
        owu_pnp_options_default(&pm->pnp);

    struct owu_driver_store_options sopt;
    owu_driver_store_options_default(&sopt);
    int rc = owu_driver_store_open(&sopt, &pm->store, err);
    if (rc != OWU_OK) {
        owu_pnp_manager_close(pm);
        return rc;
    }
    for (size_t i = 0; i < owu_driver_store_warning_count(pm->store); i++)
        note(pm, "driver store: %s", owu_driver_store_warning(pm->store, i));

    if (pm->pnp.memory_registry) {
        pm->registry = owu_registry_open_memory();
        rc = pm->registry ? OWU_OK : owu_fail(err, OWU_E_NOMEM, "out of memory");
    } else {
        rc = owu_registry_open_default(&pm->registry, err);
    }
    if (rc != OWU_OK) {
        owu_pnp_manager_close(pm);
        return rc;
    }
    owu_strlist warnings = {0};
    owu_registry_take_warnings(pm->registry, &warnings);
    take_notes(pm, "Device Parameters", &warnings);

    pm->interfaces = owu_devif_table_new();
    if (!pm->interfaces) {
        owu_pnp_manager_close(pm);
        return owu_fail(err, OWU_E_NOMEM, "out of memory");
    }
    *out = pm;
    return OWU_OK;
}

void owu_pnp_manager_close(struct owu_pnp_manager *pm)
{
    if (!pm)
        return;
    owu_devif_table_free(pm->interfaces);
    owu_registry_close(pm->registry);
    owu_driver_store_free(pm->store);
    owu_strlist_clear(&pm->notes);
    pthread_mutex_destroy(&pm->notes_lock);
    free(pm);
}

/* Windows 8.1-era serial INFs (the usbser seed document) install usbser as a lower filter
 * under the modem stack of mdmcpq.inf instead of as the function driver. We have no modem
 * stack: usbser itself serves the port, as on Windows 10 where it is the function driver. */
static bool usbser_lower_filter(const struct owu_inf_install *in)
{
    for (size_t i = 0; in && i < in->num_hw_addreg; i++) {
        const struct owu_inf_reg *r = &in->hw_addreg[i];
        if (r->type != 7 || strcasecmp(r->name, "LowerFilters") != 0)
            continue;
        for (size_t off = 0; off < r->len && r->data[off];) {
            const char *f = (const char *)r->data + off;
            size_t l = strnlen(f, r->len - off);
            if (strcasecmp(f, "usbser") == 0)
                return true;
            off += l + 1;
        }
    }
    return false;
}

/* A tag naming the installed driver, so Device Parameters are re-installed when it changes. */
static void driver_tag(const struct owu_devnode *node, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s:%s", node->inf ? node->inf : "", node->inf_section ? node->inf_section : "");
}

int owu_pnp_start(struct owu_pnp_manager *pm, struct owu_devnode *node, owu_err *err)
{
    if (!pm || !node || !node->instance_id)
        return owu_fail(err, OWU_E_INVAL, "PnP manager: no node to start");

    /* 1. driver */
    struct owu_inf_install *install = NULL;
    owu_err why = {0};
    int rc = owu_driver_select(pm->store, node, &install, &why);
    if (rc == OWU_E_NOMEM)
        return owu_fail(err, rc, "%s", why.msg);
    bool has_driver = rc == OWU_OK;
    if (has_driver && (!node->service || !node->service[0]) && usbser_lower_filter(install)) {
        char *svc = strdup("usbser");
        if (!svc) {
            owu_inf_install_free(install);
            return owu_fail(err, OWU_E_NOMEM, "out of memory");
        }
        free(node->service);
        node->service = svc;
        note(pm, "%s: %s installs usbser as a lower filter (modem INF): usbser serves the port",
             node->instance_id, node->inf ? node->inf : "the INF");
    }

    /* 2. Device Parameters: MS OS properties, then the INF's .HW AddReg. */
    owu_strlist notes = {0};
    if (node->kind == OWU_NODE_DEVICE || node->kind == OWU_NODE_FUNCTION) {
        char tag[512];
        driver_tag(node, tag, sizeof tag);
        rc = owu_registry_install(pm->registry, node->instance_id, has_driver ? tag : NULL,
                                  node->properties, node->num_properties,
                                  install ? install->hw_addreg : NULL, install ? install->num_hw_addreg : 0,
                                  0, NULL, &notes, &why);
        if (rc == OWU_E_NOMEM) {
            owu_inf_install_free(install);
            return owu_fail(err, rc, "%s", why.msg);
        }
        if (rc != OWU_OK)
            note(pm, "%s: Device Parameters not written: %s", node->instance_id, why.msg);
        take_notes(pm, node->instance_id, &notes);
    }

    /* 3. start the driver: the generic parent creates and starts the functions. */
    if (has_driver && node->service && strcasecmp(node->service, "usbccgp") == 0 && !node->failure) {
        rc = owu_usbccgp_create_functions(node, &pm->pnp, &why);
        if (rc == OWU_OK) {
            for (struct owu_devnode *c = node->first_child; c; c = c->next_sibling) {
                rc = owu_pnp_start(pm, c, err);
                if (rc == OWU_E_NOMEM) {
                    owu_inf_install_free(install);
                    return rc;
                }
            }
        } else {
            note(pm, "%s: usbccgp could not create the functions: %s", node->instance_id, why.msg);
        }
    }

    /* 4. device interfaces (a node without a driver has no started driver to register any,
     *    but the hub still registers GUID_DEVINTERFACE_USB_DEVICE for its children). */
    rc = owu_devif_register_node(pm->interfaces, node, pm->registry, install ? install->interfaces : NULL,
                                 install ? install->num_interfaces : 0, NULL, &notes, &why);
    take_notes(pm, node->instance_id, &notes);
    owu_inf_install_free(install);
    if (rc == OWU_E_NOMEM)
        return owu_fail(err, rc, "%s", why.msg);
    if (rc != OWU_OK)
        note(pm, "%s: device interfaces not registered: %s", node->instance_id, why.msg);
    return OWU_OK;
}

void owu_pnp_remove(struct owu_pnp_manager *pm, struct owu_devnode *node)
{
    if (!pm || !node)
        return;
    for (struct owu_devnode *c = node->first_child; c; c = c->next_sibling)
        owu_pnp_remove(pm, c);
    if (node->instance_id)
        owu_devif_unregister_device(pm->interfaces, node->instance_id);
}
