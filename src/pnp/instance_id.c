/* Instance IDs (pnp-ids.md §1.9): serial-number validation and fix-up, the ParentIdPrefix
 * decision, and composing the full device instance ID. */
#include <openwinusb/pnp.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool owu_pnp_serial_valid(const char *serial)
{
    if (!serial || !serial[0])
        return false;
    for (const unsigned char *p = (const unsigned char *)serial; *p; p++)
        if (*p < 0x20 || *p > 0x7F || *p == ',')
            return false;
    return true;
}

int owu_pnp_serial_instance(const char *serial, const char *prefix, char *out, size_t outsz)
{
    if (!owu_pnp_serial_valid(serial) || !out)
        return OWU_E_INVAL;
    size_t plen = prefix ? strlen(prefix) : 0;
    size_t slen = strlen(serial);
    if (plen + slen + 1 > outsz)
        return OWU_E_INVAL;
    if (plen)
        memcpy(out, prefix, plen);
    for (size_t i = 0; i < slen; i++) {
        char c = serial[i];
        /* The hub accepts a space; PnP then replaces it (decision, docs/pnp-ids.md). */
        out[plen + i] = c == ' ' ? '_' : (char)toupper((unsigned char)c);
    }
    out[plen + slen] = '\0';
    return OWU_OK;
}

uint32_t owu_fnv1a32(const char *s)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return h;
}

unsigned owu_pnp_node_depth(const struct owu_devnode *node)
{
    unsigned up = 0;
    /* Iterative: the tree comes from enumeration, not from this function's caller. */
    for (const struct owu_devnode *n = node; n; n = n->parent, up++) {
        switch (n->kind) {
        case OWU_NODE_ROOT: return 3 + up;
        case OWU_NODE_HUB: return 4 + up;
        case OWU_NODE_DEVICE:
            if (!n->parent)
                return 5 + up;
            break;
        case OWU_NODE_FUNCTION:
            if (!n->parent)
                return 6 + up;
            break;
        }
    }
    return 5;
}

int owu_pnp_set_instance(struct owu_devnode *node, const char *instance_part, bool unique)
{
    if (!node || !node->device_id || !instance_part)
        return OWU_E_INVAL;
    char *full = NULL;
    if (asprintf(&full, "%s\\%s", node->device_id, instance_part) < 0)
        return OWU_E_NOMEM;
    /* PnP upper-cases the instance part; the device ID is already upper case. */
    for (char *p = full + strlen(node->device_id) + 1; *p; p++)
        *p = (char)toupper((unsigned char)*p);

    char *prefix = NULL;
    if (asprintf(&prefix, "%u&%X&0", owu_pnp_node_depth(node) + 1, owu_fnv1a32(full)) < 0) {
        free(full);
        return OWU_E_NOMEM;
    }
    free(node->instance_id);
    free(node->parent_id_prefix);
    node->instance_id = full;
    node->parent_id_prefix = prefix;
    node->unique_id = unique;
    return OWU_OK;
}
