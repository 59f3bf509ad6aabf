/* `openwinusb driver add|list|remove` (the user driver store) and `openwinusb why NODE`
 * (every driver candidate of a device node, ranked and explained). docs/driver-store.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openwinusb/driverstore.h>

#include "cli.h"
#include "core/json.h"

int cmd_driver(int argc, char **argv);
int cmd_why(int argc, char **argv);

#define DRIVER_USAGE                                                                       \
    "usage: openwinusb driver add FILE.inf [--replace] [STORE OPTIONS]\n"                  \
    "       openwinusb driver list [--json] [STORE OPTIONS]\n"                              \
    "       openwinusb driver remove NAME [STORE OPTIONS]\n"                                \
    "STORE OPTIONS: --store DIR  --arch x86|amd64|arm64|arm|ia64  --trust catalog|none|all\n"

#define WHY_USAGE                                                                          \
    "usage: openwinusb why NODE [--json] [--target win10|win11] [STORE OPTIONS]\n"         \
    "NODE is a device instance ID or a location such as virtual:1-2 (see `openwinusb tree`).\n" \
    "STORE OPTIONS: --store DIR  --arch x86|amd64|arm64|arm|ia64  --trust catalog|none|all\n"

/* Options naming the store: returns 1 when argv[*i] was one (value consumed), 0 when not,
 * -1 on a bad value (message printed). */
static int store_option(struct owu_driver_store_options *o, const char *cmd, int argc, char **argv,
                        int *i)
{
    const char *a = argv[*i];
    const char *names[] = {"--store", "--arch", "--trust"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        size_t n = strlen(names[k]);
        if (strncmp(a, names[k], n) != 0 || (a[n] != '\0' && a[n] != '='))
            continue;
        const char *v = a[n] == '=' ? a + n + 1 : (*i + 1 < argc ? argv[++*i] : NULL);
        if (!v || !*v) {
            fprintf(stderr, "openwinusb %s: %s needs a value\n", cmd, names[k]);
            return -1;
        }
        if (k == 0) {
            o->dir = v;
        } else if (k == 1) {
            if (owu_inf_arch_parse(v, &o->target.arch) < 0) {
                fprintf(stderr, "openwinusb %s: --arch takes x86, amd64, arm64, arm or ia64, not \"%s\"\n",
                        cmd, v);
                return -1;
            }
        } else if (owu_driver_trust_parse(v, &o->trust) < 0) {
            fprintf(stderr, "openwinusb %s: --trust takes catalog, none or all, not \"%s\"\n", cmd, v);
            return -1;
        }
        return 1;
    }
    return 0;
}

static struct owu_driver_store *open_store(const struct owu_driver_store_options *o, const char *cmd,
                                           bool show_warnings)
{
    struct owu_driver_store *s = NULL;
    owu_err err = {0};
    if (owu_driver_store_open(o, &s, &err) != OWU_OK) {
        fprintf(stderr, "openwinusb %s: %s\n", cmd, err.msg);
        return NULL;
    }
    if (show_warnings)
        for (size_t i = 0; i < owu_driver_store_warning_count(s); i++)
            fprintf(stderr, "openwinusb %s: warning: %s\n", cmd, owu_driver_store_warning(s, i));
    return s;
}

static void ver_text(const struct owu_inf_driver_ver *v, char *buf, size_t n)
{
    if (!v->present)
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%02u/%02u/%04u,%u.%u.%u.%u", v->month, v->day, v->year, v->version[0],
                 v->version[1], v->version[2], v->version[3]);
}

static const char *signature_name(enum owu_pkg_signature s)
{
    return s == OWU_PKG_TRUSTED ? "in-box" : s == OWU_PKG_SIGNED ? "signed" : "unsigned";
}

static void target_text(const struct owu_driver_store *s, char *buf, size_t n)
{
    const struct owu_inf_target *t = owu_driver_store_target(s);
    snprintf(buf, n, "%s Windows %u.%u", owu_inf_arch_name(t->arch), t->major, t->minor);
}

/* ---- driver list ------------------------------------------------------------------------- */

static void list_json(const struct owu_driver_store *s, enum owu_driver_trust trust)
{
    struct owu_json_writer w;
    owu_jw_init(&w, stdout, true);
    owu_jw_begin_object(&w);
    owu_jw_key(&w, "store");
    owu_jw_string(&w, owu_driver_store_dir(s));
    const struct owu_inf_target *t = owu_driver_store_target(s);
    owu_jw_key(&w, "arch");
    owu_jw_string(&w, owu_inf_arch_name(t->arch));
    char os[32];
    snprintf(os, sizeof os, "%u.%u", t->major, t->minor);
    owu_jw_key(&w, "os");
    owu_jw_string(&w, os);
    owu_jw_key(&w, "trust");
    owu_jw_string(&w, owu_driver_trust_name(trust));
    owu_jw_key(&w, "packages");
    owu_jw_begin_array(&w);
    for (size_t i = 0; i < owu_driver_store_count(s); i++) {
        const struct owu_driver_package *p = owu_driver_store_at(s, i);
        char ver[64];
        ver_text(&p->driver_ver, ver, sizeof ver);
        owu_jw_begin_object(&w);
        owu_jw_key(&w, "name");
        owu_jw_string(&w, p->name);
        owu_jw_key(&w, "inbox");
        owu_jw_bool(&w, p->inbox);
        owu_jw_key(&w, "path");
        owu_jw_string(&w, p->path);
        owu_jw_key(&w, "signature");
        owu_jw_string(&w, signature_name(p->signature));
        owu_jw_key(&w, "catalog");
        owu_jw_string(&w, p->catalog);
        owu_jw_key(&w, "provider");
        owu_jw_string(&w, p->provider);
        owu_jw_key(&w, "class");
        owu_jw_string(&w, p->class_name);
        owu_jw_key(&w, "class_guid");
        owu_jw_string(&w, p->class_guid);
        owu_jw_key(&w, "driver_ver");
        if (p->driver_ver.present)
            owu_jw_string(&w, ver);
        else
            owu_jw_null(&w);
        owu_jw_key(&w, "models");
        owu_jw_int(&w, (long long)p->num_models);
        owu_jw_end_object(&w);
    }
    owu_jw_end_array(&w);
    owu_jw_key(&w, "warnings");
    owu_jw_begin_array(&w);
    for (size_t i = 0; i < owu_driver_store_warning_count(s); i++)
        owu_jw_string(&w, owu_driver_store_warning(s, i));
    owu_jw_end_array(&w);
    owu_jw_end_object(&w);
    owu_jw_finish(&w);
}

static void list_text(const struct owu_driver_store *s, enum owu_driver_trust trust)
{
    int w = 4;
    for (size_t i = 0; i < owu_driver_store_count(s); i++) {
        size_t n = strlen(owu_driver_store_at(s, i)->name);
        if ((int)n > w)
            w = n > 64 ? 64 : (int)n;
    }
    printf("%-*s %-7s %-9s %-16s %-24s %-22s %s\n", w, "NAME", "SOURCE", "SIGNATURE", "CLASS",
           "PROVIDER", "DRIVERVER", "MODELS");
    for (size_t i = 0; i < owu_driver_store_count(s); i++) {
        const struct owu_driver_package *p = owu_driver_store_at(s, i);
        char ver[64];
        ver_text(&p->driver_ver, ver, sizeof ver);
        printf("%-*s %-7s %-9s %-16.16s %-24.24s %-22s %zu\n", w, p->name, p->inbox ? "in-box" : "user",
               signature_name(p->signature), p->class_name ? p->class_name : "-",
               p->provider ? p->provider : "-", ver, p->num_models);
    }
    char tt[64];
    target_text(s, tt, sizeof tt);
    const char *dir = owu_driver_store_dir(s);
    printf("\nUser store: %s\nModels counted for %s; user packages: trust %s.\n",
           dir ? dir : "(none)", tt, owu_driver_trust_name(trust));
}

static int driver_add(struct owu_driver_store_options *o, const char *file, bool replace)
{
    struct owu_driver_store *s = open_store(o, "driver add", false);
    if (!s)
        return 1;
    owu_err err = {0};
    const struct owu_driver_package *p = NULL;
    int rc = owu_driver_store_add_file(s, file, replace ? OWU_STORE_REPLACE : 0, &p, &err);
    if (rc != OWU_OK) {
        fprintf(stderr, "openwinusb driver add: %s%s\n", err.msg,
                rc == OWU_E_BUSY ? " (use --replace)" : "");
        owu_driver_store_free(s);
        return 1;
    }
    char tt[64];
    target_text(s, tt, sizeof tt);
    printf("added %s to %s (%zu Models lines for %s; %s)\n", p->name, owu_driver_store_dir(s),
           p->num_models, tt, signature_name(p->signature));
    /* Problems of the new package resolving its DDInstall sections. */
    for (size_t i = 0; i < owu_driver_store_warning_count(s); i++) {
        const char *w = owu_driver_store_warning(s, i);
        if (strncmp(w, p->name, strlen(p->name)) == 0)
            fprintf(stderr, "openwinusb driver add: warning: %s\n", w);
    }
    owu_driver_store_free(s);
    return 0;
}

static int driver_remove(struct owu_driver_store_options *o, const char *name)
{
    struct owu_driver_store *s = open_store(o, "driver remove", false);
    if (!s)
        return 1;
    owu_err err = {0};
    int rc = owu_driver_store_remove(s, name, &err);
    if (rc != OWU_OK)
        fprintf(stderr, "openwinusb driver remove: %s\n", err.msg);
    else
        printf("removed %s from %s\n", name, owu_driver_store_dir(s));
    owu_driver_store_free(s);
    return rc == OWU_OK ? 0 : 1;
}

int cmd_driver(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(DRIVER_USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    struct owu_driver_store_options o;
    owu_driver_store_options_default(&o);
    bool json = false, replace = false;
    const char *arg = NULL;
    for (int i = 2; i < argc; i++) {
        int r = store_option(&o, "driver", argc, argv, &i);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--json") == 0 && strcmp(sub, "list") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--replace") == 0 && strcmp(sub, "add") == 0) {
            replace = true;
        } else if (argv[i][0] == '-' || arg || strcmp(sub, "list") == 0) {
            fprintf(stderr, "openwinusb driver %s: unexpected argument \"%s\"\n" DRIVER_USAGE, sub,
                    argv[i]);
            return 2;
        } else {
            arg = argv[i];
        }
    }
    if (strcmp(sub, "list") == 0) {
        struct owu_driver_store *s = open_store(&o, "driver list", !json);
        if (!s)
            return 1;
        if (json)
            list_json(s, o.trust);
        else
            list_text(s, o.trust);
        owu_driver_store_free(s);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    if (strcmp(sub, "add") == 0 || strcmp(sub, "remove") == 0) {
        if (!arg) {
            fprintf(stderr, "openwinusb driver %s: missing %s\n" DRIVER_USAGE, sub,
                    sub[0] == 'a' ? "FILE.inf" : "NAME");
            return 2;
        }
        return sub[0] == 'a' ? driver_add(&o, arg, replace) : driver_remove(&o, arg);
    }
    fprintf(stderr, "openwinusb driver: unknown subcommand \"%s\"\n" DRIVER_USAGE, sub);
    return 2;
}

/* ---- why ------------------------------------------------------------------------------- */

static const char *kind_name(enum owu_node_kind k)
{
    switch (k) {
    case OWU_NODE_ROOT:
        return "computer";
    case OWU_NODE_HUB:
        return "root hub";
    case OWU_NODE_DEVICE:
        return "device";
    case OWU_NODE_FUNCTION:
        return "composite function";
    }
    return "?";
}

static void match_text(const struct owu_driver_candidate *c, char *buf, size_t n)
{
    if (c->inf_list == OWU_IDS_HARDWARE)
        snprintf(buf, n, "%s ID #%u %s = hardware ID of the line", owu_id_list_name(c->device_list),
                 c->device_pos, c->device_id);
    else
        snprintf(buf, n, "%s ID #%u %s = compatible ID #%u of the line",
                 owu_id_list_name(c->device_list), c->device_pos, c->device_id, c->inf_pos);
}

static void why_text(const struct owu_driver_store *s, const struct owu_devnode *n,
                     const struct owu_driver_candidates *cs, enum owu_driver_trust trust)
{
    printf("%s (%s)\n", n->instance_id ? n->instance_id : n->device_id ? n->device_id : "?",
           kind_name(n->kind));
    if (n->description) {
        fputs("  ", stdout);
        cli_put_text(stdout, n->description);
        putchar('\n');
    }
    printf("  hardware IDs:\n");
    for (size_t i = 0; i < n->hardware_ids.n; i++)
        printf("    #%zu %s\n", i, n->hardware_ids.v[i]);
    printf("  compatible IDs:\n");
    for (size_t i = 0; i < n->compatible_ids.n; i++)
        printf("    #%zu %s\n", i, n->compatible_ids.v[i]);
    if (n->inf)
        printf("  driver the stack installed: %s from %s [%s], rank 0x%08X\n",
               n->service ? (*n->service ? n->service : "NULL driver") : "no function driver",
               n->inf, n->inf_section ? n->inf_section : "?", n->rank);
    size_t user = 0;
    for (size_t i = 0; i < owu_driver_store_count(s); i++)
        user += !owu_driver_store_at(s, i)->inbox;
    char tt[64];
    target_text(s, tt, sizeof tt);
    const char *dir = owu_driver_store_dir(s);
    printf("\nDriver store: %zu in-box and %zu user packages (%s); target %s; trust %s\n",
           owu_driver_store_count(s) - user, user, dir ? dir : "no user store", tt,
           owu_driver_trust_name(trust));
    if (!cs->n) {
        printf("\nNo Models line of any package names one of these IDs: the device gets no driver\n"
               "(Windows shows it with problem code 28).\n");
        return;
    }
    printf("\nCandidates, best first (rank = 0xSSGGTHHH: signature, feature, identifier; lower wins):\n");
    for (size_t i = 0; i < cs->n; i++) {
        const struct owu_driver_candidate *c = &cs->v[i];
        char m[600], ver[64];
        match_text(c, m, sizeof m);
        ver_text(&c->driver_ver, ver, sizeof ver);
        printf("\n  %zu. %-10s rank 0x%08X  %s  [%s] line %u  \"%s\"\n", i + 1,
               owu_candidate_status_name(c->status), c->rank, c->inf,
               c->models_section ? c->models_section : "?", c->models_line,
               c->description ? c->description : "");
        if (c->inf_id && strcmp(c->inf_id, c->device_id) != 0)
            printf("     match:   %s (the INF writes %s)\n", m, c->inf_id);
        else
            printf("     match:   %s\n", m);
        printf("     scores:  signature %02X (%s, signer 0x%08X), feature %02X, identifier %04X\n",
               c->signature_score, signature_name(c->package->signature), c->signer_score,
               c->feature_score, c->identifier_score);
        char svc[300];
        if (!c->service)
            snprintf(svc, sizeof svc, "no function driver");
        else if (!*c->service)
            snprintf(svc, sizeof svc, "NULL driver");
        else
            snprintf(svc, sizeof svc, "service %s", c->service);
        printf("     install: [%s] -> %s; DriverVer %s\n",
               c->install_section ? c->install_section : c->install, svc, ver);
        printf("     why:     %s\n", c->reason);
    }
    const struct owu_driver_candidate *w = owu_driver_winner(cs);
    if (w)
        printf("\nResult: %s from %s [%s], rank 0x%08X\n",
               w->service ? (*w->service ? w->service : "NULL driver") : "no function driver",
               w->inf, w->install_section, w->rank);
    else
        printf("\nResult: no usable candidate; the device gets no driver.\n");
}

static void why_json(const struct owu_driver_store *s, const struct owu_devnode *n,
                     const struct owu_driver_candidates *cs, enum owu_driver_trust trust)
{
    struct owu_json_writer w;
    owu_jw_init(&w, stdout, true);
    owu_jw_begin_object(&w);
    owu_jw_key(&w, "instance_id");
    owu_jw_string(&w, n->instance_id);
    owu_jw_key(&w, "kind");
    owu_jw_string(&w, kind_name(n->kind));
    owu_jw_key(&w, "hardware_ids");
    owu_jw_begin_array(&w);
    for (size_t i = 0; i < n->hardware_ids.n; i++)
        owu_jw_string(&w, n->hardware_ids.v[i]);
    owu_jw_end_array(&w);
    owu_jw_key(&w, "compatible_ids");
    owu_jw_begin_array(&w);
    for (size_t i = 0; i < n->compatible_ids.n; i++)
        owu_jw_string(&w, n->compatible_ids.v[i]);
    owu_jw_end_array(&w);
    owu_jw_key(&w, "installed");
    if (n->inf) {
        owu_jw_begin_object(&w);
        owu_jw_key(&w, "inf");
        owu_jw_string(&w, n->inf);
        owu_jw_key(&w, "install_section");
        owu_jw_string(&w, n->inf_section);
        owu_jw_key(&w, "service");
        owu_jw_string(&w, n->service);
        char rank[16];
        snprintf(rank, sizeof rank, "0x%08X", n->rank);
        owu_jw_key(&w, "rank");
        owu_jw_string(&w, rank);
        owu_jw_end_object(&w);
    } else {
        owu_jw_null(&w);
    }
    owu_jw_key(&w, "store");
    owu_jw_string(&w, owu_driver_store_dir(s));
    owu_jw_key(&w, "arch");
    owu_jw_string(&w, owu_inf_arch_name(owu_driver_store_target(s)->arch));
    owu_jw_key(&w, "trust");
    owu_jw_string(&w, owu_driver_trust_name(trust));
    owu_jw_key(&w, "candidates");
    owu_jw_begin_array(&w);
    for (size_t i = 0; i < cs->n; i++) {
        const struct owu_driver_candidate *c = &cs->v[i];
        char rank[16], ver[64];
        snprintf(rank, sizeof rank, "0x%08X", c->rank);
        ver_text(&c->driver_ver, ver, sizeof ver);
        owu_jw_begin_object(&w);
        owu_jw_key(&w, "status");
        owu_jw_string(&w, owu_candidate_status_name(c->status));
        owu_jw_key(&w, "rank");
        owu_jw_string(&w, rank);
        owu_jw_key(&w, "inf");
        owu_jw_string(&w, c->inf);
        owu_jw_key(&w, "inbox");
        owu_jw_bool(&w, c->inbox);
        owu_jw_key(&w, "signature");
        owu_jw_string(&w, signature_name(c->package->signature));
        owu_jw_key(&w, "models_section");
        owu_jw_string(&w, c->models_section);
        owu_jw_key(&w, "models_line");
        owu_jw_int(&w, c->models_line);
        owu_jw_key(&w, "description");
        owu_jw_string(&w, c->description);
        owu_jw_key(&w, "device_id");
        owu_jw_string(&w, c->device_id);
        owu_jw_key(&w, "device_list");
        owu_jw_string(&w, owu_id_list_name(c->device_list));
        owu_jw_key(&w, "device_position");
        owu_jw_int(&w, c->device_pos);
        owu_jw_key(&w, "inf_id");
        owu_jw_string(&w, c->inf_id);
        owu_jw_key(&w, "inf_list");
        owu_jw_string(&w, owu_id_list_name(c->inf_list));
        owu_jw_key(&w, "inf_position");
        owu_jw_int(&w, c->inf_pos);
        owu_jw_key(&w, "install");
        owu_jw_string(&w, c->install);
        owu_jw_key(&w, "install_section");
        owu_jw_string(&w, c->install_section);
        owu_jw_key(&w, "service");
        owu_jw_string(&w, c->service);
        owu_jw_key(&w, "driver_ver");
        owu_jw_string(&w, ver);
        owu_jw_key(&w, "exclude_id");
        owu_jw_string(&w, c->exclude_id);
        owu_jw_key(&w, "reason");
        owu_jw_string(&w, c->reason);
        owu_jw_end_object(&w);
    }
    owu_jw_end_array(&w);
    const struct owu_driver_candidate *win = owu_driver_winner(cs);
    owu_jw_key(&w, "winner");
    if (win) {
        owu_jw_begin_object(&w);
        owu_jw_key(&w, "inf");
        owu_jw_string(&w, win->inf);
        owu_jw_key(&w, "install_section");
        owu_jw_string(&w, win->install_section);
        owu_jw_key(&w, "service");
        owu_jw_string(&w, win->service);
        owu_jw_end_object(&w);
    } else {
        owu_jw_null(&w);
    }
    owu_jw_end_object(&w);
    owu_jw_finish(&w);
}

int cmd_why(int argc, char **argv)
{
    struct cli_common c;
    memset(&c, 0, sizeof c);
    owu_pnp_options_default(&c.pnp);
    struct owu_driver_store_options o;
    owu_driver_store_options_default(&o);
    const char *node_name = NULL;
    bool store_options = false;   /* --store, --arch or --trust given */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(WHY_USAGE, stdout);
            return 0;
        }
        int r = cli_common_option(&c, argc, argv, &i);
        if (r == 0) {
            r = store_option(&o, "why", argc, argv, &i);
            store_options |= r > 0;
        }
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        if (argv[i][0] == '-' || node_name) {
            fprintf(stderr, "openwinusb why: unexpected argument \"%s\"\n" WHY_USAGE, argv[i]);
            return 2;
        }
        node_name = argv[i];
    }
    if (!node_name) {
        fputs(WHY_USAGE, stderr);
        return 2;
    }
    /* Store options name another store than the stack's (opened with the defaults). */
    struct owu_driver_store *own = NULL;
    if (store_options && !(own = open_store(&o, "why", !c.json)))
        return 1;
    struct owu_stack_options so;
    owu_stack_options_default(&so);
    so.pnp = c.pnp;
    struct owu_stack *stack = NULL;
    owu_err err = {0};
    if (owu_stack_open(&so, &stack, &err) != OWU_OK) {
        fprintf(stderr, "openwinusb why: %s\n", err.msg);
        owu_driver_store_free(own);
        return 1;
    }
    const struct owu_driver_store *s = own ? own : owu_stack_driver_store(stack);
    if (!own && !c.json)
        for (size_t i = 0; i < owu_driver_store_warning_count(s); i++)
            fprintf(stderr, "openwinusb why: warning: %s\n", owu_driver_store_warning(s, i));
    int rc = 1;
    owu_stack_lock(stack);
    struct owu_devnode *n = owu_stack_find(stack, node_name);
    if (!n) {
        fprintf(stderr, "openwinusb why: no node \"%s\" (see `openwinusb tree`)\n", node_name);
    } else {
        struct owu_driver_candidates *cs = NULL;
        if (owu_driver_rank(s, n, &cs, &err) != OWU_OK) {
            fprintf(stderr, "openwinusb why: %s\n", err.msg);
        } else {
            if (c.json)
                why_json(s, n, cs, o.trust);
            else
                why_text(s, n, cs, o.trust);
            rc = fflush(stdout) == 0 ? 0 : 1;
        }
        owu_driver_candidates_free(cs);
    }
    owu_stack_unlock(stack);
    owu_stack_close(stack);
    owu_driver_store_free(own);
    return rc;
}
