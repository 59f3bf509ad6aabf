/* COM port names, the Ports class installer's job on Windows: a device instance keeps the
 * name stored in its Device Parameters (PortName); a new one gets the lowest COMn, n >= 3,
 * that no other instance of the store holds. The store persists across plugs and runs, so
 * the same device (same instance ID) gets the same name back. */
#include <openwinusb/usbser.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openwinusb/registry.h>
#include <openwinusb/stack.h>

/* n of "COMn" (1..OWU_USBSER_MAX_COM, no leading zero), else 0. */
static unsigned com_number(const char *s)
{
    if (!s || strncasecmp(s, "COM", 3) != 0)
        return 0;
    s += 3;
    if (*s < '1' || *s > '9')
        return 0;
    unsigned n = 0;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s))
            return 0;
        n = n * 10u + (unsigned)(*s - '0');
        if (n > OWU_USBSER_MAX_COM)
            return 0;
    }
    return n;
}

int owu_usbser_port_name(struct owu_registry *reg, const char *instance_id, char out[16],
                         owu_err *err)
{
    out[0] = '\0';
    if (!reg || !instance_id)
        return owu_fail(err, OWU_E_INVAL, "port name: no registry or no instance ID");
    char *have = NULL;
    if (owu_registry_get_string(reg, instance_id, OWU_REGVAL_PORT_NAME, &have, NULL) == OWU_OK) {
        unsigned n = com_number(have);
        free(have);
        if (n) {
            snprintf(out, 16, "COM%u", n);
            return OWU_OK;
        }
    }
    /* Taken names: every other instance's PortName. */
    uint8_t used[OWU_USBSER_MAX_COM + 1] = {0};
    owu_strlist keys = {0};
    int rc = owu_registry_list_keys(reg, &keys, err);
    if (rc != OWU_OK)
        return rc;
    for (size_t i = 0; i < keys.n; i++) {
        if (strcasecmp(keys.v[i], instance_id) == 0)
            continue;
        char *s = NULL;
        if (owu_registry_get_string(reg, keys.v[i], OWU_REGVAL_PORT_NAME, &s, NULL) == OWU_OK) {
            unsigned n = com_number(s);
            if (n)
                used[n] = 1;
            free(s);
        }
    }
    owu_strlist_clear(&keys);
    unsigned n = OWU_USBSER_FIRST_COM;
    while (n <= OWU_USBSER_MAX_COM && used[n])
        n++;
    if (n > OWU_USBSER_MAX_COM)
        return owu_fail(err, OWU_E_BUSY, "port name: COM%u..COM%u are all taken", OWU_USBSER_FIRST_COM,
                        OWU_USBSER_MAX_COM);
    char name[16];
    snprintf(name, sizeof name, "COM%u", n);
    rc = owu_registry_set_string(reg, instance_id, OWU_REGVAL_PORT_NAME, name, err);
    if (rc != OWU_OK)
        return rc;
    memcpy(out, name, strlen(name) + 1);
    return OWU_OK;
}

static bool is_usbser(const struct owu_devnode *n)
{
    const void *dev = n->bus_device;
    if (!dev && n->kind == OWU_NODE_FUNCTION && n->parent)
        dev = n->parent->bus_device;
    return (n->kind == OWU_NODE_DEVICE || n->kind == OWU_NODE_FUNCTION) && n->service &&
           strcasecmp(n->service, "usbser") == 0 && n->instance_id && dev;
}

/* Depth-first, in tree order; `visit` returns true to stop. */
static struct owu_devnode *walk(struct owu_devnode *n,
                                bool (*visit)(struct owu_devnode *n, void *ctx), void *ctx)
{
    for (; n; n = n->next_sibling) {
        if (is_usbser(n) && visit(n, ctx))
            return n;
        struct owu_devnode *hit = walk(n->first_child, visit, ctx);
        if (hit)
            return hit;
    }
    return NULL;
}

struct by_name {
    struct owu_registry *reg;
    unsigned want;
};

static bool visit_name(struct owu_devnode *n, void *ctx)
{
    struct by_name *b = ctx;
    char name[16];
    if (owu_usbser_port_name(b->reg, n->instance_id, name, NULL) != OWU_OK)
        return false;
    return com_number(name) == b->want;
}

static bool visit_first(struct owu_devnode *n, void *ctx)
{
    (void)n;
    (void)ctx;
    return true;
}

struct owu_devnode *owu_usbser_find(struct owu_stack *stack, const char *name, owu_err *err)
{
    if (!stack || !name) {
        owu_fail(err, OWU_E_INVAL, "no port name");
        return NULL;
    }
    const char *key = name;
    if (strncmp(key, "\\\\.\\", 4) == 0)
        key += 4;
    unsigned want = com_number(key);
    if (want) {
        struct by_name b = {owu_stack_registry(stack), want};
        struct owu_devnode *n = walk(owu_stack_tree(stack), visit_name, &b);
        if (!n)
            owu_fail(err, OWU_E_NOTFOUND, "no serial port named COM%u is present", want);
        return n;
    }
    struct owu_devnode *n = owu_stack_find(stack, name);
    if (!n) {
        owu_fail(err, OWU_E_NOTFOUND, "\"%s\" is neither a present COM port, a device instance ID nor a bus location",
                 name);
        return NULL;
    }
    if (is_usbser(n))
        return n;
    struct owu_devnode *hit = walk(n->first_child, visit_first, NULL);
    if (!hit)
        owu_fail(err, OWU_E_NOTFOUND, "%s has no function whose driver is usbser", name);
    return hit;
}

static bool visit_list(struct owu_devnode *n, void *ctx)
{
    void **a = ctx;
    struct owu_registry *reg = a[0];
    owu_strlist *out = a[1];
    char name[16];
    if (owu_usbser_port_name(reg, n->instance_id, name, NULL) != OWU_OK)
        snprintf(name, sizeof name, "-");
    const char *loc = n->info ? n->info->location : "";
    owu_strlist_addf(out, "%s\t%s\t%s", name, n->instance_id, loc);
    return false;
}

int owu_usbser_list(struct owu_stack *stack, owu_strlist *out, owu_err *err)
{
    if (!stack || !out)
        return owu_fail(err, OWU_E_INVAL, "owu_usbser_list: no stack or no list");
    void *ctx[2] = {owu_stack_registry(stack), out};
    owu_stack_lock(stack);
    walk(owu_stack_tree(stack), visit_list, ctx);
    owu_stack_unlock(stack);
    return OWU_OK;
}
