/* The process-wide stack, device-interface table and Device Parameters store of the Win32
 * subset, opened lazily. */
#include "api/process_stack.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct owu_stack *g_stack;
static bool g_stack_owned;
static struct owu_devif_table *g_devif;
static bool g_devif_owned;
static struct owu_registry *g_registry;
static bool g_registry_owned;

struct owu_stack *owu_process_stack(owu_err *err)
{
    pthread_mutex_lock(&g_lock);
    if (!g_stack) {
        struct owu_stack_options opt;
        owu_stack_options_default(&opt);
        if (owu_stack_open(&opt, &g_stack, err) == OWU_OK)
            g_stack_owned = true;
        else
            g_stack = NULL;
    }
    struct owu_stack *s = g_stack;
    pthread_mutex_unlock(&g_lock);
    return s;
}

struct owu_devif_table *owu_process_devif(void)
{
    pthread_mutex_lock(&g_lock);
    if (!g_devif && (g_devif = owu_devif_table_new()) != NULL)
        g_devif_owned = true;
    struct owu_devif_table *t = g_devif;
    pthread_mutex_unlock(&g_lock);
    return t;
}

struct owu_registry *owu_process_registry(void)
{
    pthread_mutex_lock(&g_lock);
    if (!g_registry && owu_registry_open_default(&g_registry, NULL) == OWU_OK)
        g_registry_owned = true;
    struct owu_registry *r = g_registry;
    pthread_mutex_unlock(&g_lock);
    return r;
}

static void register_msos_guids(struct owu_devif_table *t, const struct owu_devnode *n)
{
    const struct owu_property *p = owu_devnode_find_property(n, "DeviceInterfaceGUIDs");
    if (p && p->type == OWU_REG_MULTI_SZ && p->len) {
        /* NUL-separated strings ending in an empty one; never read past len. */
        size_t i = 0;
        while (i < p->len && p->data[i]) {
            size_t start = i;
            while (i < p->len && p->data[i])
                i++;
            char guid_text[OWU_GUID_STR_SIZE + 1];
            size_t len = i - start;
            struct owu_guid g;
            if (len == OWU_GUID_STR_LEN) {
                memcpy(guid_text, p->data + start, len);
                guid_text[len] = '\0';
                if (owu_guid_parse(guid_text, &g, NULL) == OWU_OK)
                    owu_devif_register(t, &g, n->instance_id, NULL, NULL, NULL);
            }
            i++;
        }
        return;
    }
    p = owu_devnode_find_property(n, "DeviceInterfaceGUID");
    if (p && p->type == OWU_REG_SZ && p->len >= OWU_GUID_STR_LEN) {
        char guid_text[OWU_GUID_STR_SIZE];
        memcpy(guid_text, p->data, OWU_GUID_STR_LEN);
        guid_text[OWU_GUID_STR_LEN] = '\0';
        struct owu_guid g;
        if (owu_guid_parse(guid_text, &g, NULL) == OWU_OK)
            owu_devif_register(t, &g, n->instance_id, NULL, NULL, NULL);
    }
}

static void sync_node(struct owu_devif_table *t, struct owu_registry *reg, const struct owu_devnode *n,
                      unsigned depth)
{
    if (depth > 64)
        return;
    if ((n->kind == OWU_NODE_DEVICE || n->kind == OWU_NODE_FUNCTION) && n->instance_id && n->bus_device) {
        if (n->service && strcasecmp(n->service, "WinUSB") == 0)
            owu_devif_register_node(t, n, reg, NULL, 0, NULL, NULL, NULL);
        else if (!n->service && strcasecmp(n->msos_compat, "WINUSB") == 0 && !n->composite)
            register_msos_guids(t, n);
    }
    for (const struct owu_devnode *c = n->first_child; c; c = c->next_sibling)
        sync_node(t, reg, c, depth + 1);
}

void owu_process_sync_interfaces(void)
{
    struct owu_stack *stack = owu_process_stack(NULL);
    struct owu_devif_table *t = owu_process_devif();
    struct owu_registry *reg = owu_process_registry();
    if (!stack || !t)
        return;
    owu_stack_lock(stack);
    sync_node(t, reg, owu_stack_tree(stack), 0);
    owu_stack_unlock(stack);
}

static void close_owned(void)
{
    if (g_stack_owned)
        owu_stack_close(g_stack);
    if (g_devif_owned)
        owu_devif_table_free(g_devif);
    if (g_registry_owned)
        owu_registry_close(g_registry);
    g_stack = NULL;
    g_devif = NULL;
    g_registry = NULL;
    g_stack_owned = g_devif_owned = g_registry_owned = false;
}

void owu_process_stack_replace(struct owu_stack *stack, struct owu_devif_table *devif,
                               struct owu_registry *registry)
{
    pthread_mutex_lock(&g_lock);
    close_owned();
    g_stack = stack;
    g_devif = devif;
    g_registry = registry;
    pthread_mutex_unlock(&g_lock);
}

void owu_process_stack_reset(void)
{
    pthread_mutex_lock(&g_lock);
    close_owned();
    pthread_mutex_unlock(&g_lock);
}
