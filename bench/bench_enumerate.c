/* Enumerates 10,000 virtual devices (the seven standard models in turn, 127 per bus) and
 * builds their PnP nodes, keeping the whole tree alive; prints the time, the rate and the
 * peak memory. Side by side in the same run it rebuilds the IDs of every device from its
 * saved devinfo alone (no bus traffic), so the ratio shows what the bus walk costs.
 * A benchmark, not a test: it prints numbers and fails only if enumeration fails.
 *   bench_enumerate [--quick] [--devices N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <openwinusb/pnp.h>

#include "core/enumerate.h"
#include "core/urb.h"
#include "hcd/vbus.h"

struct bench {
    struct owu_enum_options eopt;
    struct owu_pnp_options pnp;
    struct owu_devnode *root;
    struct owu_devnode *hub;
    unsigned built, failed, functions;
};

static void on_hotplug(struct owu_hcd *hcd, struct owu_usb_device *dev, bool arrived, void *ctx)
{
    (void)hcd;
    struct bench *b = ctx;
    if (!arrived)
        return;
    struct owu_devinfo *info = NULL;
    struct owu_devnode *node = NULL;
    owu_err err = {0};
    if (owu_enumerate(dev, &b->eopt, &info, &err) != OWU_OK ||
        owu_pnp_build_device(b->hub, info, &b->pnp, &node, &err) != OWU_OK) {
        b->failed++;
        return;
    }
    if (node->composite)
        owu_usbccgp_create_functions(node, &b->pnp, &err);
    for (struct owu_devnode *c = node->first_child; c; c = c->next_sibling)
        b->functions++;
    b->built++;
}

static long peak_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
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
            fprintf(stderr, "usage: bench_enumerate [--quick] [--devices N]\n");
            return 2;
        }
    }
    const char *names[] = {"fx2", "cdc-acm", "composite", "hid-keyboard", "msos1", "mass-storage", "hub"};
    struct bench b = {0};
    owu_enum_options_default(&b.eopt);
    owu_pnp_options_default(&b.pnp);
    b.root = owu_devnode_new(OWU_NODE_ROOT);

    long rss0 = peak_rss_kib();
    unsigned nbus = (devices + OWU_VBUS_MAX_PORTS - 1) / OWU_VBUS_MAX_PORTS;
    struct owu_hcd **buses = calloc(nbus ? nbus : 1, sizeof *buses);
    uint64_t t0 = owu_now_ns();
    for (unsigned i = 0; i < devices; i++) {
        unsigned bus = i / OWU_VBUS_MAX_PORTS;
        if (!buses[bus]) {
            buses[bus] = owu_vbus_create(bus + 1, NULL);
            if (!buses[bus]) {
                fprintf(stderr, "bench_enumerate: cannot create bus %u\n", bus + 1);
                return 1;
            }
            buses[bus]->hotplug = on_hotplug;
            buses[bus]->hotplug_ctx = &b;
            b.hub = owu_pnp_build_root_hub(b.root, bus + 1, false, "bench bus");
        }
        owu_err err = {0};
        if (owu_vbus_plug(buses[bus], owu_vdev_model_find(names[i % 7]), NULL, i % OWU_VBUS_MAX_PORTS + 1,
                          NULL, &err) != OWU_OK) {
            fprintf(stderr, "bench_enumerate: %s\n", err.msg);
            return 1;
        }
    }
    uint64_t t1 = owu_now_ns();
    long rss1 = peak_rss_kib();

    /* Peer: the same IDs from the saved devinfo, without the bus. */
    struct owu_devnode *root2 = owu_devnode_new(OWU_NODE_ROOT);
    struct owu_devnode *hub2 = owu_pnp_build_root_hub(root2, 1, false, "ids only");
    unsigned rebuilt = 0;
    uint64_t t2 = owu_now_ns();
    for (struct owu_devnode *hub = b.root->first_child; hub; hub = hub->next_sibling)
        for (struct owu_devnode *n = hub->first_child; n; n = n->next_sibling) {
            struct owu_devnode *copy = NULL;
            if (owu_pnp_build_device(hub2, owu_devinfo_clone(n->info), &b.pnp, &copy, NULL) == OWU_OK) {
                if (copy->composite)
                    owu_usbccgp_create_functions(copy, &b.pnp, NULL);
                rebuilt++;
            }
        }
    uint64_t t3 = owu_now_ns();

    double enum_s = (double)(t1 - t0) / 1e9, ids_s = (double)(t3 - t2) / 1e9;
    printf("bench_enumerate: %u devices (%u composite functions) on %u virtual buses\n", b.built,
           b.functions, nbus);
    printf("  %-34s %10.3f s  %10.0f devices/s\n", "enumerate + IDs (bus walk)", enum_s,
           b.built / (enum_s > 0 ? enum_s : 1e-9));
    printf("  %-34s %10.3f s  %10.0f devices/s\n", "IDs from saved devinfo (peer)", ids_s,
           rebuilt / (ids_s > 0 ? ids_s : 1e-9));
    printf("  %-34s %10.1f x\n", "ratio bus walk / IDs only", ids_s > 0 ? enum_s / ids_s : 0.0);
    printf("  %-34s %10ld KiB (%ld KiB before, %.1f KiB per device incl. IDs copy)\n", "peak RSS",
           peak_rss_kib(), rss0, b.built ? (double)(rss1 - rss0) / b.built : 0.0);

    for (unsigned i = 0; i < nbus; i++)
        owu_hcd_destroy(buses[i]);
    free(buses);
    owu_devnode_free(b.root);
    owu_devnode_free(root2);
    return b.failed ? 1 : 0;
}
