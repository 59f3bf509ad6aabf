/* Device-interface lookups for SetupDi*, CM_* and CreateFile: the process stack's interface
 * table (what its PnP manager registered), filtered by presence. */
#include "api/win32_internal.h"

#include <string.h>

#include "api/process_stack.h"

/* The stack's lock is held. */
static bool instance_present_locked(struct owu_stack *stack, const char *instance_id)
{
    if (!instance_id)
        return false;
    struct owu_devnode *n = owu_stack_find(stack, instance_id);
    struct owu_usb_device *udev = owu_w32_node_device(n);
    return udev && !owu_usb_device_gone(udev);
}

int owu_w32_query_interfaces(const GUID *cls, const char *instance_id, bool present_only,
                             struct owu_devif_info **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    struct owu_stack *stack = owu_process_stack(NULL);
    if (!stack)
        return OWU_OK;   /* no stack, no devices */
    struct owu_devif_table *t = owu_stack_interfaces(stack);
    struct owu_guid g;
    if (cls)
        memcpy(&g, cls, sizeof g);
    struct owu_devif_info *v = NULL;
    size_t n = 0;
    int rc = owu_devif_query(t, cls ? &g : NULL, instance_id, present_only ? OWU_DEVIF_PRESENT : OWU_DEVIF_ALL,
                             &v, &n, NULL);
    if (rc != OWU_OK)
        return rc;
    if (present_only) {
        size_t k = 0;
        owu_stack_lock(stack);
        for (size_t i = 0; i < n; i++) {
            if (instance_present_locked(stack, v[i].instance_id))
                v[k++] = v[i];
            else
                owu_devif_info_clear(&v[i]);
        }
        owu_stack_unlock(stack);
        n = k;
    }
    if (n == 0) {
        owu_devif_infos_free(v, 0);
        v = NULL;
    }
    *out = v;
    *count = n;
    return OWU_OK;
}
