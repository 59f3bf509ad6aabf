/* Rendering of the device tree: a text view like Device Manager's "devices by connection"
 * and the JSON of docs/tree-json.md. Both walk the same nodes and show the same facts. */
#include <stdio.h>
#include <string.h>

#include <openwinusb/usb_defs.h>

#include "cli.h"
#include "core/json.h"
#include "core/usbids.h"

static const char *kind_name(enum owu_node_kind k)
{
    switch (k) {
    case OWU_NODE_ROOT: return "root";
    case OWU_NODE_HUB: return "root-hub";
    case OWU_NODE_DEVICE: return "device";
    case OWU_NODE_FUNCTION: return "function";
    }
    return "unknown";
}

static const char *target_name(enum owu_target_os t) { return t == OWU_TARGET_WIN11 ? "win11" : "win10"; }

/* usb.ids names for a device (empty strings when the database or the entry is missing). */
static void names_of(const struct owu_devnode *n, char *vendor, size_t vsz, char *product, size_t psz)
{
    vendor[0] = product[0] = '\0';
    if (n->kind != OWU_NODE_DEVICE || n->failure)
        return;
    owu_usbids_vendor(n->vid, vendor, vsz);
    owu_usbids_product(n->vid, n->pid, product, psz);
}

/* ---- text ------------------------------------------------------------------------------ */

size_t cli_put_text(FILE *f, const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
        if (*p < 0x20 || *p == 0x7F) {
            fprintf(f, "\\x%02X", *p);
            n += 4;
        } else if (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F) {
            fprintf(f, "\\u00%02X", *++p);
            n += 6;
        } else {
            fputc(*p, f);
            n++;
        }
    }
    return n;
}

static void print_field(FILE *f, const char *prefix, const char *label, const char *value)
{
    fprintf(f, "%s%-16s", prefix, label);
    cli_put_text(f, value);
    fputc('\n', f);
}

static void print_list(FILE *f, const char *prefix, const char *label, const owu_strlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        fprintf(f, "%s%-16s", prefix, i == 0 ? label : "");
        cli_put_text(f, l->v[i]);
        fputc('\n', f);
    }
    if (l->n == 0)
        fprintf(f, "%s%-16s(none)\n", prefix, label);
}

static void print_node_text(FILE *f, const struct owu_devnode *n, const char *indent, bool last)
{
    char head[512], body[512];
    if (n->kind == OWU_NODE_ROOT) {
        cli_put_text(f, n->description ? n->description : "openwinusb");
        fputc('\n', f);
        snprintf(body, sizeof body, "%s", "");
    } else {
        fprintf(f, "%s%s ", indent, last ? "`-" : "|-");
        if (n->kind == OWU_NODE_DEVICE && n->info) {
            fputc('[', f);
            cli_put_text(f, n->info->location);
            fputs("] ", f);
        } else if (n->kind == OWU_NODE_FUNCTION) {
            fprintf(f, "[interface %u] ", n->first_interface);
        }
        cli_put_text(f, n->description ? n->description : "(no description)");
        if (n->kind == OWU_NODE_DEVICE && !n->failure && n->info)
            fprintf(f, "  (%04x:%04x, %s speed)", n->vid, n->pid, owu_speed_name(n->info->speed));
        fputc('\n', f);
        snprintf(body, sizeof body, "%s%s", indent, last ? "   " : "|  ");
    }
    snprintf(head, sizeof head, "%s%s", body, n->first_child ? "|    " : "     ");
    if (n->kind == OWU_NODE_ROOT)
        snprintf(head, sizeof head, "%s", "");

    if (n->kind == OWU_NODE_DEVICE || n->kind == OWU_NODE_FUNCTION || n->kind == OWU_NODE_HUB) {
        char vendor[128], product[128];
        names_of(n, vendor, sizeof vendor, product, sizeof product);
        if (n->failure && n->info && n->info->failure_detail[0])
            print_field(f, head, "Problem:", n->info->failure_detail);
        print_field(f, head, "Device ID:", n->device_id ? n->device_id : "");
        print_field(f, head, "Instance ID:", n->instance_id ? n->instance_id : "");
        print_list(f, head, "Hardware IDs:", &n->hardware_ids);
        print_list(f, head, "Compatible IDs:", &n->compatible_ids);
        if (n->container_id[0])
            fprintf(f, "%s%-16s%s\n", head, "Container ID:", n->container_id);
        if (n->location && n->location[0])
            print_field(f, head, "Location:", n->location);
        if (n->msos_error && n->msos_error[0])
            print_field(f, head, "MS OS note:", n->msos_error);
        if (vendor[0]) {
            char names[300];
            snprintf(names, sizeof names, "%s%s%s", vendor, product[0] ? " / " : "", product);
            print_field(f, head, "usb.ids:", names);
        }
        if (n->service) {
            char drv[600];
            snprintf(drv, sizeof drv, "%s (%s [%s], rank 0x%08X)", n->service, n->inf ? n->inf : "?",
                     n->inf_section ? n->inf_section : "?", n->rank);
            print_field(f, head, "Driver:", drv);
        }
        for (unsigned i = 0; i < n->num_properties; i++)
            print_field(f, head, i == 0 ? "Properties:" : "", n->properties[i].name);
    }
    char child_indent[512];
    snprintf(child_indent, sizeof child_indent, "%s", n->kind == OWU_NODE_ROOT ? "" : body);
    for (const struct owu_devnode *c = n->first_child; c; c = c->next_sibling)
        print_node_text(f, c, child_indent, c->next_sibling == NULL);
}

void print_tree_text(FILE *f, const struct owu_devnode *root)
{
    print_node_text(f, root, "", true);
}

/* ---- JSON ------------------------------------------------------------------------------ */

static void json_list(struct owu_json_writer *w, const char *key, const owu_strlist *l)
{
    owu_jw_key(w, key);
    owu_jw_begin_array(w);
    for (size_t i = 0; i < l->n; i++)
        owu_jw_string(w, l->v[i]);
    owu_jw_end_array(w);
}

static void json_property(struct owu_json_writer *w, const struct owu_property *p)
{
    owu_jw_begin_object(w);
    owu_jw_key(w, "name");
    owu_jw_string(w, p->name);
    owu_jw_key(w, "type");
    owu_jw_int(w, p->type);
    owu_jw_key(w, "value");
    if ((p->type == 1 || p->type == 2 || p->type == 6) && p->len && memchr(p->data, 0, p->len)) {
        owu_jw_string(w, (const char *)p->data);
    } else if (p->type == 7) {
        owu_jw_begin_array(w);
        size_t off = 0;
        while (off < p->len && p->data[off]) {
            const char *s = (const char *)p->data + off;
            size_t l = strnlen(s, p->len - off);
            if (off + l >= p->len)
                break;
            owu_jw_string(w, s);
            off += l + 1;
        }
        owu_jw_end_array(w);
    } else if (p->type == 4 && p->len == 4) {
        owu_jw_int(w, (long long)owu_le32(p->data));
    } else {
        owu_jw_hex(w, p->data, p->len);
    }
    owu_jw_end_object(w);
}

static void print_node_json(struct owu_json_writer *w, const struct owu_devnode *n)
{
    owu_jw_begin_object(w);
    owu_jw_key(w, "kind");
    owu_jw_string(w, kind_name(n->kind));
    owu_jw_key(w, "description");
    owu_jw_string(w, n->description);
    owu_jw_key(w, "device_id");
    owu_jw_string(w, n->device_id);
    owu_jw_key(w, "instance_id");
    owu_jw_string(w, n->instance_id);
    json_list(w, "hardware_ids", &n->hardware_ids);
    json_list(w, "compatible_ids", &n->compatible_ids);
    owu_jw_key(w, "container_id");
    owu_jw_string(w, n->container_id[0] ? n->container_id : NULL);
    owu_jw_key(w, "location");
    owu_jw_string(w, n->location);
    if (n->kind == OWU_NODE_DEVICE || n->kind == OWU_NODE_FUNCTION) {
        char vendor[128], product[128];
        names_of(n, vendor, sizeof vendor, product, sizeof product);
        if (n->kind == OWU_NODE_DEVICE && n->info) {
            owu_jw_key(w, "bus_location");
            owu_jw_string(w, n->info->location);
            owu_jw_key(w, "speed");
            owu_jw_string(w, owu_speed_name(n->info->speed));
        }
        owu_jw_key(w, "vid");
        owu_jw_int(w, n->vid);
        owu_jw_key(w, "pid");
        owu_jw_int(w, n->pid);
        owu_jw_key(w, "rev");
        owu_jw_int(w, n->rev);
        owu_jw_key(w, "class");
        owu_jw_int(w, n->class_code);
        owu_jw_key(w, "subclass");
        owu_jw_int(w, n->subclass);
        owu_jw_key(w, "protocol");
        owu_jw_int(w, n->protocol);
        owu_jw_key(w, "composite");
        owu_jw_bool(w, n->composite);
        if (n->kind == OWU_NODE_FUNCTION) {
            owu_jw_key(w, "first_interface");
            owu_jw_int(w, n->first_interface);
            owu_jw_key(w, "num_interfaces");
            owu_jw_int(w, n->num_interfaces);
        }
        owu_jw_key(w, "unique_id");
        owu_jw_bool(w, n->unique_id);
        owu_jw_key(w, "msos_compatible_id");
        owu_jw_string(w, n->msos_compat[0] ? n->msos_compat : NULL);
        owu_jw_key(w, "msos_note");
        owu_jw_string(w, n->msos_error && n->msos_error[0] ? n->msos_error : NULL);
        owu_jw_key(w, "failure");
        owu_jw_string(w, n->failure ? owu_failure_id(n->failure) : NULL);
        owu_jw_key(w, "failure_detail");
        owu_jw_string(w, n->failure && n->info && n->info->failure_detail[0] ? n->info->failure_detail : NULL);
        owu_jw_key(w, "vendor_name");
        owu_jw_string(w, vendor[0] ? vendor : NULL);
        owu_jw_key(w, "product_name");
        owu_jw_string(w, product[0] ? product : NULL);
        owu_jw_key(w, "properties");
        owu_jw_begin_array(w);
        for (unsigned i = 0; i < n->num_properties; i++)
            json_property(w, &n->properties[i]);
        owu_jw_end_array(w);
        owu_jw_key(w, "driver");
        if (n->service) {
            owu_jw_begin_object(w);
            owu_jw_key(w, "service");
            owu_jw_string(w, n->service);
            owu_jw_key(w, "inf");
            owu_jw_string(w, n->inf);
            owu_jw_key(w, "section");
            owu_jw_string(w, n->inf_section);
            owu_jw_key(w, "rank");
            owu_jw_int(w, n->rank);
            owu_jw_end_object(w);
        } else {
            owu_jw_null(w);
        }
    }
    owu_jw_key(w, "children");
    owu_jw_begin_array(w);
    for (const struct owu_devnode *c = n->first_child; c; c = c->next_sibling)
        print_node_json(w, c);
    owu_jw_end_array(w);
    owu_jw_end_object(w);
}

void print_tree_json(FILE *f, const struct owu_devnode *root, const struct owu_pnp_options *pnp)
{
    struct owu_json_writer w;
    owu_jw_init(&w, f, true);
    owu_jw_begin_object(&w);
    owu_jw_key(&w, "format");
    owu_jw_string(&w, "openwinusb-tree");
    owu_jw_key(&w, "version");
    owu_jw_int(&w, 1);
    owu_jw_key(&w, "target");
    owu_jw_string(&w, target_name(pnp->target));
    owu_jw_key(&w, "root");
    print_node_json(&w, root);
    owu_jw_end_object(&w);
    owu_jw_finish(&w);
}
