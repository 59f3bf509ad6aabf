/* Driver matching at scale: builds the device nodes of 10,000 virtual devices (the ID lists of
 * the seven standard models, enumerated once on a virtual bus, copied with varied vendor and
 * product IDs, composite functions included) and ranks every node against the whole store —
 * the in-box packages plus 100 synthetic vendor packages of 100 Models lines each that name
 * half of the devices. Prints the time of each phase, the rate and the peak memory.
 * A benchmark, not a test: it fails only when something errs.
 *   bench_match [--quick] [--devices N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <openwinusb/driverstore.h>
#include <openwinusb/pnp.h>
#include <openwinusb/stack.h>

#define VENDOR_PACKAGES 100
#define LINES_PER_PACKAGE 100
#define VENDOR_VID 0x2000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* Copies an ID, giving "USB\VID_xxxx&PID_yyyy..." IDs the new vendor and product. */
static int add_id(owu_strlist *l, const char *id, unsigned vid, unsigned pid)
{
    const char *v = strstr(id, "VID_"), *p = strstr(id, "PID_");
    if (strncmp(id, "USB\\VID_", 8) != 0 || !v || !p || strlen(v) < 8 || strlen(p) < 8)
        return owu_strlist_add(l, id);
    char buf[512];
    int n = snprintf(buf, sizeof buf, "%.*s%04X%.*s%04X%s", (int)(v + 4 - id), id, vid,
                     (int)(p + 4 - (v + 8)), v + 8, pid, p + 8);
    return n < 0 || (size_t)n >= sizeof buf ? owu_strlist_add(l, id) : owu_strlist_add(l, buf);
}

static struct owu_devnode *copy_node(const struct owu_devnode *t, unsigned vid, unsigned pid)
{
    struct owu_devnode *n = owu_devnode_new(t->kind);
    if (!n)
        return NULL;
    n->composite = t->composite;
    for (size_t i = 0; i < t->hardware_ids.n; i++)
        if (add_id(&n->hardware_ids, t->hardware_ids.v[i], vid, pid) < 0)
            goto fail;
    for (size_t i = 0; i < t->compatible_ids.n; i++)
        if (add_id(&n->compatible_ids, t->compatible_ids.v[i], vid, pid) < 0)
            goto fail;
    for (const struct owu_devnode *c = t->first_child; c; c = c->next_sibling) {
        struct owu_devnode *cc = copy_node(c, vid, pid);
        if (!cc)
            goto fail;
        owu_devnode_add_child(n, cc);
    }
    return n;
fail:
    owu_devnode_free(n);
    return NULL;
}

static char *vendor_package(unsigned k)
{
    size_t cap = 64 * 1024, len = 0;
    char *t = malloc(cap);
    if (!t)
        return NULL;
    len += (size_t)snprintf(t + len, cap - len,
                            "[Version]\nSignature=\"$Windows NT$\"\nClass=USBDevice\n"
                            "ClassGuid={88BAE032-5A81-49f0-BC3D-A4FF138216D6}\nProvider=%%V%%\n"
                            "CatalogFile=vendor%u.cat\nDriverVer=01/%02u/2021,1.0.%u.0\n"
                            "[Manufacturer]\n%%V%%=Devices,NTx86,NTamd64,NTarm64\n[Devices.NTamd64]\n",
                            k, k % 28 + 1, k);
    for (unsigned i = 0; i < LINES_PER_PACKAGE && len + 256 < cap; i++) {
        unsigned pid = k * LINES_PER_PACKAGE + i;
        len += (size_t)snprintf(t + len, cap - len,
                                "%%Dev%%=Dev_Install,USB\\VID_%04X&PID_%04X\n"
                                "%%Dev%%=Dev_Install,USB\\VID_%04X&PID_%04X&MI_00\n",
                                VENDOR_VID, pid, VENDOR_VID, pid);
    }
    snprintf(t + len, cap - len,
             "[Dev_Install.NT]\nInclude=winusb.inf\nNeeds=WINUSB.NT\n"
             "[Dev_Install.NT.HW]\nAddReg=Dev_HW\n"
             "[Dev_HW]\nHKR,,DeviceInterfaceGUIDs,0x10000,\"{00000000-1111-2222-3333-%012u}\"\n"
             "[Dev_Install.NT.Services]\nInclude=winusb.inf\nNeeds=WINUSB.NT.Services\n"
             "[Strings]\nV=\"Bench Vendor %u\"\nDev=\"Bench device\"\n",
             k, k);
    return t;
}

struct tally {
    unsigned nodes, matched, winners, candidates;
    unsigned usbser, usbccgp, winusb, other;
};

static int rank_tree(const struct owu_driver_store *s, struct owu_devnode *n, struct tally *t)
{
    for (; n; n = n->next_sibling) {
        if (n->kind == OWU_NODE_HUB) {
            if (rank_tree(s, n->first_child, t) < 0)
                return -1;
            continue;
        }
        owu_err err = {0};
        struct owu_driver_candidates *c = NULL;
        if (owu_driver_rank(s, n, &c, &err) != OWU_OK) {
            fprintf(stderr, "bench_match: %s\n", err.msg);
            return -1;
        }
        t->nodes++;
        t->candidates += (unsigned)c->n;
        t->matched += c->n > 0;
        const struct owu_driver_candidate *w = owu_driver_winner(c);
        if (w) {
            t->winners++;
            if (owu_driver_apply(s, n, w, NULL, &err) != OWU_OK) {
                fprintf(stderr, "bench_match: %s\n", err.msg);
                owu_driver_candidates_free(c);
                return -1;
            }
            const char *svc = w->service ? w->service : "";
            if (strcmp(svc, "usbser") == 0)
                t->usbser++;
            else if (strcmp(svc, "usbccgp") == 0)
                t->usbccgp++;
            else if (strcmp(svc, "WinUsb") == 0)
                t->winusb++;
            else
                t->other++;
        }
        owu_driver_candidates_free(c);
        if (rank_tree(s, n->first_child, t) < 0)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    unsigned devices = 10000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            devices = 1000;
        else if (strcmp(argv[i], "--devices") == 0 && i + 1 < argc)
            devices = (unsigned)strtoul(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: bench_match [--quick] [--devices N]\n");
            return 2;
        }
    }
    long rss0 = peak_rss_kib();

    /* The seven standard models, enumerated once: their nodes are the templates. */
    struct owu_stack_options so;
    owu_stack_options_default(&so);
    so.buses = "virtual:fx2,cdc-acm,composite,hid-keyboard,msos1,mass-storage,hub";
    struct owu_stack *stack = NULL;
    owu_err err = {0};
    if (owu_stack_open(&so, &stack, &err) != OWU_OK) {
        fprintf(stderr, "bench_match: %s\n", err.msg);
        return 1;
    }
    const struct owu_devnode *templates[16];
    unsigned nt = 0;
    owu_stack_lock(stack);
    for (const struct owu_devnode *bus = owu_stack_tree(stack)->first_child; bus; bus = bus->next_sibling)
        for (const struct owu_devnode *d = bus->first_child; d && nt < 16; d = d->next_sibling)
            templates[nt++] = d;
    if (!nt) {
        fprintf(stderr, "bench_match: the virtual bus shows no device\n");
        owu_stack_unlock(stack);
        owu_stack_close(stack);
        return 1;
    }

    /* Device nodes, 127 per hub like on the virtual buses: even devices get the vendor ID
     * the vendor packages name. */
    double t0 = now_s();
    struct owu_devnode *root = owu_devnode_new(OWU_NODE_ROOT), *hub = NULL;
    for (unsigned i = 0; i < devices; i++) {
        if (i % 127 == 0) {
            hub = owu_devnode_new(OWU_NODE_HUB);
            owu_devnode_add_child(root, hub);
        }
        const struct owu_devnode *t = templates[i % nt];
        unsigned vid = i % 2 ? t->vid : VENDOR_VID;
        unsigned pid = i % 2 ? (t->pid + i) & 0xFFFF : (i / 2) % (VENDOR_PACKAGES * LINES_PER_PACKAGE);
        struct owu_devnode *n = copy_node(t, vid, pid);
        if (!n) {
            fprintf(stderr, "bench_match: out of memory\n");
            return 1;
        }
        owu_devnode_add_child(hub, n);
    }
    owu_stack_unlock(stack);
    owu_stack_close(stack);
    double t1 = now_s();

    /* The store: in-box packages plus the vendor packages (in memory: no disk I/O timed). */
    struct owu_driver_store_options o;
    owu_driver_store_options_default(&o);
    o.no_user_store = true;
    struct owu_driver_store *s = NULL;
    if (owu_driver_store_open(&o, &s, &err) != OWU_OK) {
        fprintf(stderr, "bench_match: %s\n", err.msg);
        return 1;
    }
    for (unsigned k = 0; k < VENDOR_PACKAGES; k++) {
        char *text = vendor_package(k);
        char name[32];
        snprintf(name, sizeof name, "vendor%03u.inf", k);
        if (!text || owu_driver_store_add_mem(s, name, text, strlen(text), OWU_PKG_SIGNED, &err) != OWU_OK) {
            fprintf(stderr, "bench_match: %s\n", text ? err.msg : "out of memory");
            return 1;
        }
        free(text);
    }
    size_t lines = 0;
    for (size_t i = 0; i < owu_driver_store_count(s); i++)
        lines += owu_driver_store_at(s, i)->num_models;
    double t2 = now_s();

    struct tally t = {0};
    if (rank_tree(s, root->first_child, &t) < 0)
        return 1;
    double t3 = now_s();

    double rank_s = t3 - t2;
    printf("bench_match: %u devices, %u nodes (devices + composite functions), %zu packages with "
           "%zu Models lines\n",
           devices, t.nodes, owu_driver_store_count(s), lines);
    printf("  %-34s %10.3f s\n", "build device nodes", t1 - t0);
    printf("  %-34s %10.3f s  (in-box + %u vendor packages, added one by one)\n", "open + fill store",
           t2 - t1, VENDOR_PACKAGES);
    printf("  %-34s %10.3f s  %10.0f nodes/s  %.2f us/node\n", "rank + apply every node", rank_s,
           t.nodes / (rank_s > 0 ? rank_s : 1e-9), rank_s * 1e6 / (t.nodes ? t.nodes : 1));
    printf("  %-34s %u matched, %u with a driver, %u candidates (%.2f per node)\n", "results",
           t.matched, t.winners, t.candidates, t.nodes ? (double)t.candidates / t.nodes : 0.0);
    printf("  %-34s usbser %u, usbccgp %u, WinUsb %u, other %u\n", "function drivers", t.usbser,
           t.usbccgp, t.winusb, t.other);
    printf("  %-34s %10ld KiB (%ld KiB at start)\n", "peak RSS", peak_rss_kib(), rss0);
    owu_devnode_free(root);
    owu_driver_store_free(s);
    return 0;
}
