/* PnP device nodes: allocation, the tree links, and the property list. */
#include <openwinusb/pnp.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct owu_devnode *owu_devnode_new(enum owu_node_kind kind)
{
    struct owu_devnode *node = calloc(1, sizeof *node);
    if (node)
        node->kind = kind;
    return node;
}

static void free_property(struct owu_property *p)
{
    free(p->name);
    free(p->data);
}

static void free_node(struct owu_devnode *node)
{
    free(node->device_id);
    owu_strlist_clear(&node->hardware_ids);
    owu_strlist_clear(&node->compatible_ids);
    free(node->instance_id);
    free(node->parent_id_prefix);
    free(node->description);
    free(node->location);
    free(node->msos_error);
    for (unsigned i = 0; i < node->num_properties; i++)
        free_property(&node->properties[i]);
    free(node->properties);
    free(node->service);
    free(node->inf);
    free(node->inf_section);
    /* Functions point at their parent's devinfo; only the device node owns it. */
    if (node->kind == OWU_NODE_DEVICE)
        owu_devinfo_free(node->info);
    free(node);
}

/* Post-order without recursion: always descend to the first child; a leaf is the first
 * child of its parent, so freeing it makes its next sibling the first child. */
static void devnode_free_tree(struct owu_devnode *top)
{
    struct owu_devnode *n = top;
    while (n) {
        if (n->first_child) {
            n = n->first_child;
            continue;
        }
        struct owu_devnode *next = NULL;
        if (n != top) {
            n->parent->first_child = n->next_sibling;
            if (!n->next_sibling)
                n->parent->last_child = NULL;
            next = n->next_sibling ? n->next_sibling : n->parent;
        }
        free_node(n);
        n = next;
    }
}

void owu_devnode_free(struct owu_devnode *node)
{
    if (!node)
        return;
    if (node->parent)
        owu_devnode_remove_child(node->parent, node);
    devnode_free_tree(node);
}

void owu_devnode_add_child(struct owu_devnode *parent, struct owu_devnode *child)
{
    if (!parent || !child || child == parent)
        return;
    if (child->parent)
        owu_devnode_remove_child(child->parent, child);
    if (parent->last_child)
        parent->last_child->next_sibling = child;
    else
        parent->first_child = child;
    parent->last_child = child;
    child->next_sibling = NULL;
    child->parent = parent;
}

void owu_devnode_remove_child(struct owu_devnode *parent, struct owu_devnode *child)
{
    if (!parent || !child)
        return;
    struct owu_devnode *prev = NULL;
    for (struct owu_devnode **link = &parent->first_child; *link; prev = *link, link = &(*link)->next_sibling) {
        if (*link == child) {
            *link = child->next_sibling;
            if (parent->last_child == child)
                parent->last_child = prev;
            child->next_sibling = NULL;
            child->parent = NULL;
            return;
        }
    }
}

int owu_devnode_add_property(struct owu_devnode *node, const char *name, uint32_t type,
                             const uint8_t *data, size_t len)
{
    if (!node || !name || (len && !data))
        return OWU_E_INVAL;
    struct owu_property p = { .type = type, .len = len };
    p.name = strdup(name);
    /* One spare byte so a zero-length value still has a valid pointer. */
    p.data = malloc(len ? len : 1);
    if (!p.name || !p.data) {
        free_property(&p);
        return OWU_E_NOMEM;
    }
    if (len)
        memcpy(p.data, data, len);

    for (unsigned i = 0; i < node->num_properties; i++) {
        if (strcasecmp(node->properties[i].name, name) == 0) {
            free_property(&node->properties[i]);
            node->properties[i] = p;
            return OWU_OK;
        }
    }
    struct owu_property *v = realloc(node->properties, (node->num_properties + 1) * sizeof *v);
    if (!v) {
        free_property(&p);
        return OWU_E_NOMEM;
    }
    node->properties = v;
    node->properties[node->num_properties++] = p;
    return OWU_OK;
}

const struct owu_property *owu_devnode_find_property(const struct owu_devnode *node, const char *name)
{
    if (!node || !name)
        return NULL;
    for (unsigned i = 0; i < node->num_properties; i++)
        if (strcasecmp(node->properties[i].name, name) == 0)
            return &node->properties[i];
    return NULL;
}
