/* Benchmark run inside the test VM by `run.sh --bench` after bench_usbfs (not a test): the
 * same gadget exported by Linux (usbip-host, Debian's usbipd on 127.0.0.1:3240) and used
 * two ways —
 *   ours:   openwinusb's USB/IP client (OPENWINUSB_BUSES=usbip=127.0.0.1:3240), the URB core
 *           (owu_transfer_sync / owu_control_sync) on the Loopback function;
 *   theirs: the kernel's vhci-hcd (`usbip attach`) and libusb on the vhci device's usbfs node
 *           (tests/kernel/guest_bench_libusb, the peer bench_usbfs uses).
 * Prints bulk echo throughput (write then read back, synchronous, 16 KiB to 1 MiB) and the
 * GET_DESCRIPTOR(device) latency side by side with the ratio (ours / theirs for throughput,
 * theirs / ours for latency: above 1 = openwinusb faster). Every cell is the best of 3 runs.
 *
 *   guest_bench_usbip [--peer PATH] [--ms N]
 *
 * Exits 0 when it could measure, 1 on a setup failure, 0 with a note when the usbip tools are
 * missing. */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openwinusb/stack.h>

#include "core/urb.h"
#include "hcd/hcd.h"

#define TRIES 3
#define LOOP_BUFLEN 16384u   /* bulk_buflen of the bench gadget (guest_init.sh) */

static const size_t sizes[] = {16384, 65536, 262144, 1048576};
#define NSIZES (sizeof sizes / sizeof sizes[0])
static unsigned ms_per_cell = 1500;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static bool port_open(unsigned port, unsigned ms)
{
    double end = now_s() + ms / 1000.0;
    for (;;) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bool ok = s >= 0 && connect(s, (struct sockaddr *)&a, sizeof a) == 0;
        if (s >= 0)
            close(s);
        if (ok)
            return true;
        if (now_s() > end)
            return false;
        sleep_ms(100);
    }
}

static int sh(const char *cmd)
{
    printf("  $ %s\n", cmd);
    fflush(stdout);
    return system(cmd);
}

/* ---- ours ---------------------------------------------------------------------------- */

static struct owu_usb_device *dev;
static uint8_t ep_in, ep_out, loop_intf = 0xFF;

static struct owu_devnode *find_imported(struct owu_devnode *n)
{
    for (; n; n = n->next_sibling) {
        const struct owu_usb_device *d = n->bus_device;
        if (d && d->hcd && d->hcd->ops && strcmp(d->hcd->ops->name, "usbip") == 0 && n->device_id &&
            strcmp(n->device_id, "USB\\VID_1209&PID_0001") == 0)
            return n;
        struct owu_devnode *c = find_imported(n->first_child);
        if (c)
            return c;
    }
    return NULL;
}

static bool grab(struct owu_stack *stack)
{
    static uint8_t config[4096];
    size_t len = 0;
    for (int i = 0; i < 200 && !dev; i++) {
        owu_stack_lock(stack);
        struct owu_devnode *n = find_imported(owu_stack_tree(stack));
        if (n && n->bus_device && n->info && n->info->num_configs > 0 &&
            n->info->configs[0].len <= sizeof config) {
            dev = n->bus_device;
            owu_usb_device_ref(dev);
            memcpy(config, n->info->configs[0].data, n->info->configs[0].len);
            len = n->info->configs[0].len;
        }
        owu_stack_unlock(stack);
        if (!dev)
            sleep_ms(100);
    }
    if (!dev)
        return false;
    size_t off = 0;
    bool in_loop = false;
    while (off + 2 <= len && config[off] >= 2 && off + config[off] <= len) {
        const uint8_t *d = config + off;
        if (d[1] == OWU_DT_INTERFACE && d[0] >= 9) {
            in_loop = d[5] == 0xFF && (loop_intf == 0xFF || loop_intf == d[2]);
            if (in_loop)
                loop_intf = d[2];
        } else if (d[1] == OWU_DT_ENDPOINT && d[0] >= 7 && in_loop && (d[3] & 3) == 2) {
            if (d[2] & 0x80)
                ep_in = d[2];
            else
                ep_out = d[2];
        }
        off += config[off];
    }
    return ep_in && ep_out && loop_intf != 0xFF;
}

static double ours_bulk(size_t size)
{
    static uint8_t out[1048576], in[1048576];
    for (size_t i = 0; i < size; i++)
        out[i] = (uint8_t)(i * 7u);
    double t0 = now_s(), t = t0;
    size_t bytes = 0;
    while (t - t0 < ms_per_cell / 1000.0 / TRIES) {
        size_t got = 0;
        if (owu_transfer_sync(dev, OWU_XFER_BULK, ep_out, out, size, &got, 5000) != OWU_OK || got != size)
            return -1;
        if (owu_transfer_sync(dev, OWU_XFER_BULK, ep_in, in, size, &got, 5000) != OWU_OK || got != size)
            return -1;
        bytes += size;
        t = now_s();
    }
    if (memcmp(in, out, size) != 0)
        return -1;
    return (double)bytes / (t - t0) / 1e6;
}

static double ours_ctrl_us(void)
{
    uint8_t d[18];
    unsigned rounds = 0;
    double t0 = now_s(), t = t0;
    while (t - t0 < ms_per_cell / 1000.0 / TRIES) {
        if (owu_control_sync(dev, 0x80, 6, 0x0100, 0, d, 18, 5000) != 18)
            return -1;
        rounds++;
        t = now_s();
    }
    return rounds ? (t - t0) * 1e6 / rounds : -1;
}

/* ---- theirs: vhci-hcd + libusb -------------------------------------------------------- */

static bool read_line(const char *path, char *out, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    bool ok = fgets(out, (int)n, f) != NULL;
    fclose(f);
    if (ok)
        out[strcspn(out, "\n")] = 0;
    return ok;
}

static bool find_vhci_dev(int *bus, int *devnum)
{
    for (int tries = 0; tries < 150; tries++) {
        DIR *d = opendir("/sys/bus/usb/devices");
        struct dirent *e;
        bool found = false;
        while (d && !found && (e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.' || strchr(e->d_name, ':') || strncmp(e->d_name, "usb", 3) == 0 ||
                strncmp(e->d_name, "1-", 2) == 0)
                continue;
            char path[300], v[16] = "", p[16] = "", cfg[8] = "", b[8] = "", n[8] = "";
            snprintf(path, sizeof path, "/sys/bus/usb/devices/%s/idVendor", e->d_name);
            read_line(path, v, sizeof v);
            snprintf(path, sizeof path, "/sys/bus/usb/devices/%s/idProduct", e->d_name);
            read_line(path, p, sizeof p);
            snprintf(path, sizeof path, "/sys/bus/usb/devices/%s/bConfigurationValue", e->d_name);
            read_line(path, cfg, sizeof cfg);
            snprintf(path, sizeof path, "/sys/bus/usb/devices/%s/busnum", e->d_name);
            read_line(path, b, sizeof b);
            snprintf(path, sizeof path, "/sys/bus/usb/devices/%s/devnum", e->d_name);
            read_line(path, n, sizeof n);
            if (strcmp(v, "1209") == 0 && strcmp(p, "0001") == 0 && cfg[0]) {
                *bus = atoi(b);
                *devnum = atoi(n);
                found = true;
            }
        }
        if (d)
            closedir(d);
        if (found)
            return true;
        sleep_ms(100);
    }
    return false;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *peer = "/tests/guest_bench_libusb";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--peer") == 0 && i + 1 < argc)
            peer = argv[++i];
        else if (strcmp(argv[i], "--ms") == 0 && i + 1 < argc)
            ms_per_cell = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--quick") == 0)
            ms_per_cell = 300;
    }
    if (access("/usr/sbin/usbipd", X_OK) != 0 || access("/usr/sbin/usbip", X_OK) != 0) {
        printf("guest_bench_usbip: usbipd/usbip not in the VM (apt-get install usbip): nothing measured\n");
        return 0;
    }
    double ours[NSIZES], theirs[NSIZES], ours_us = -1, theirs_us = -1;
    for (size_t s = 0; s < NSIZES; s++)
        ours[s] = theirs[s] = -1;

    if (sh("usbipd -D -4 -P/tmp/usbipd-bench.pid") != 0 || !port_open(3240, 10000) ||
        sh("usbip bind -b 1-1") != 0) {
        printf("guest_bench_usbip: cannot export the gadget with usbipd\n");
        return 1;
    }
    /* ours */
    struct owu_stack_options opt;
    owu_stack_options_default(&opt);
    opt.buses = "usbip=127.0.0.1:3240";
    owu_err err = {0};
    struct owu_stack *stack = NULL;
    if (owu_stack_open(&opt, &stack, &err) == OWU_OK && grab(stack) &&
        owu_dev_claim_interface(dev, loop_intf, 0) == OWU_OK) {
        for (size_t s = 0; s < NSIZES; s++)
            for (int k = 0; k < TRIES; k++) {
                double v = ours_bulk(sizes[s]);
                if (v > ours[s])
                    ours[s] = v;
            }
        for (int k = 0; k < TRIES; k++) {
            double v = ours_ctrl_us();
            if (v > 0 && (ours_us < 0 || v < ours_us))
                ours_us = v;
        }
    } else {
        printf("guest_bench_usbip: our client could not import the gadget: %s\n", err.msg);
    }
    if (dev)
        owu_usb_device_unref(dev);
    if (stack)
        owu_stack_close(stack);
    /* theirs */
    char line[256];
    FILE *f = fopen("/modules-later.list", "r");
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char cmd[300];
        snprintf(cmd, sizeof cmd, "insmod %s", line);
        sh(cmd);
    }
    if (f)
        fclose(f);
    mkdir("/var", 0755);
    mkdir("/var/run", 0755);
    int bus = 0, devnum = 0;
    if (access(peer, X_OK) == 0 && sh("usbip attach -r 127.0.0.1 -b 1-1") == 0 &&
        find_vhci_dev(&bus, &devnum)) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "%s %d %d %u 0x%02x 0x%02x %u", peer, bus, devnum, loop_intf,
                 ep_out, ep_in, ms_per_cell);
        printf("  $ %s\n", cmd);
        FILE *p = popen(cmd, "r");
        while (p && fgets(line, sizeof line, p)) {
            unsigned depth;
            size_t size;
            double v;
            if (sscanf(line, "BULK %u %zu %lf", &depth, &size, &v) == 3 && depth == 1) {
                for (size_t s = 0; s < NSIZES; s++)
                    if (sizes[s] == size)
                        theirs[s] = v;
            } else if (sscanf(line, "CTRL %lf", &v) == 1) {
                theirs_us = v;
            }
        }
        if (p)
            pclose(p);
        sh("usbip detach -p 0");
    } else {
        printf("guest_bench_usbip: vhci-hcd + libusb path not measured (peer %s)\n", peer);
    }
    sh("usbip unbind -b 1-1");
    sh("kill $(cat /tmp/usbipd-bench.pid) 2>/dev/null");
    sh("rmmod vhci_hcd 2>/dev/null");

    printf("\nUSB/IP from Linux usbip-host (127.0.0.1), bulk loopback, MB/s echoed\n");
    printf("                                  openwinusb client   vhci-hcd+libusb    ratio\n");
    for (size_t s = 0; s < NSIZES; s++) {
        char r[16] = "-";
        if (ours[s] > 0 && theirs[s] > 0)
            snprintf(r, sizeof r, "%.2f", ours[s] / theirs[s]);
        printf("  synchronous, %4zu KiB            %10.1f          %10.1f    %6s\n", sizes[s] / 1024,
               ours[s], theirs[s], r);
    }
    char r[16] = "-";
    if (ours_us > 0 && theirs_us > 0)
        snprintf(r, sizeof r, "%.2f", theirs_us / ours_us);
    printf("control GET_DESCRIPTOR latency, us  %10.1f          %10.1f    %6s\n", ours_us, theirs_us, r);
    return 0;
}
