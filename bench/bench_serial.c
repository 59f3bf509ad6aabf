/* usbser on the virtual cdc-acm model: loopback throughput (MB/s, a writer thread and a
 * reader) and round-trip latency (µs for one small write followed by reading it back),
 * through the driver API. Beside it, in the same process and on the same endpoints, a peer
 * run with raw synchronous transfers (owu_transfer_sync, one URB at a time each way), and the
 * ratio driver / peer. A benchmark, not a test: it prints numbers and fails only when a
 * transfer fails or the data comes back wrong.
 *   bench_serial [--quick] [--mib N] [--rounds N] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openwinusb/stack.h>
#include <openwinusb/usbser.h>

#include "core/urb.h"
#include "hcd/hcd.h"

#define CHUNK 16384u

static uint8_t pattern(uint64_t i) { return (uint8_t)(i * 131u + (i >> 9)); }

struct result {
    double mbps;
    double rtt_us;
    bool ok;
};

/* ---- through the driver ------------------------------------------------------------------ */

struct drv_writer {
    struct owu_usbser_port *port;
    uint64_t total;
    int rc;
};

static void *drv_write(void *arg)
{
    struct drv_writer *w = arg;
    uint8_t *buf = malloc(1u << 20);
    w->rc = buf ? OWU_OK : OWU_E_NOMEM;
    for (uint64_t pos = 0; buf && pos < w->total && w->rc == OWU_OK;) {
        size_t n = w->total - pos < (1u << 20) ? (size_t)(w->total - pos) : (1u << 20);
        for (size_t i = 0; i < n; i++)
            buf[i] = pattern(pos + i);
        w->rc = owu_usbser_write(w->port, buf, n, 30000, NULL);
        pos += n;
    }
    free(buf);
    return NULL;
}

static struct result run_driver(struct owu_stack *s, uint64_t total, unsigned rounds)
{
    struct result r = {0};
    struct owu_usbser_port *p = NULL;
    owu_err err = {0};
    if (owu_usbser_open(s, "COM3", NULL, &p, &err) != OWU_OK) {
        fprintf(stderr, "bench_serial: %s\n", err.msg);
        return r;
    }
    r.ok = true;
    struct drv_writer w = {.port = p, .total = total};
    uint8_t *buf = malloc(256 * 1024);
    uint64_t t0 = owu_now_ns();
    pthread_t t;
    pthread_create(&t, NULL, drv_write, &w);
    uint64_t pos = 0;
    while (buf && pos < total) {
        size_t got = 0;
        if (owu_usbser_read(p, buf, 256 * 1024, 30000, &got) != OWU_OK) {
            r.ok = false;
            break;
        }
        for (size_t i = 0; i < got; i++)
            if (buf[i] != pattern(pos + i))
                r.ok = false;
        pos += got;
    }
    pthread_join(t, NULL);
    double secs = (double)(owu_now_ns() - t0) / 1e9;
    r.ok = r.ok && w.rc == OWU_OK && pos == total;
    r.mbps = (double)total / 1e6 / secs;

    uint8_t msg[32], back[32];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)i;
    t0 = owu_now_ns();
    for (unsigned k = 0; k < rounds && r.ok; k++) {
        if (owu_usbser_write(p, msg, sizeof msg, 5000, NULL) != OWU_OK) {
            r.ok = false;
            break;
        }
        size_t have = 0;
        while (have < sizeof msg) {
            size_t got = 0;
            if (owu_usbser_read(p, back + have, sizeof msg - have, 5000, &got) != OWU_OK) {
                r.ok = false;
                break;
            }
            have += got;
        }
        if (memcmp(back, msg, sizeof msg) != 0)
            r.ok = false;
    }
    r.rtt_us = (double)(owu_now_ns() - t0) / 1e3 / rounds;
    free(buf);
    owu_usbser_close(p);
    return r;
}

/* ---- the peer: raw synchronous transfers on the same endpoints ------------------------------- */

struct raw_writer {
    struct owu_usb_device *dev;
    uint64_t total;
    int rc;
};

static void *raw_write(void *arg)
{
    struct raw_writer *w = arg;
    uint8_t buf[CHUNK];
    w->rc = OWU_OK;
    for (uint64_t pos = 0; pos < w->total && w->rc == OWU_OK;) {
        size_t n = w->total - pos < CHUNK ? (size_t)(w->total - pos) : CHUNK;
        for (size_t i = 0; i < n; i++)
            buf[i] = pattern(pos + i);
        size_t done = 0;
        w->rc = owu_transfer_sync(w->dev, OWU_XFER_BULK, 0x02, buf, n, &done, 30000);
        pos += done;
    }
    return NULL;
}

static struct result run_raw(struct owu_stack *s, uint64_t total, unsigned rounds)
{
    struct result r = {0};
    owu_stack_lock(s);
    struct owu_devnode *n = owu_stack_find(s, "virtual:1-1");
    struct owu_usb_device *dev = n ? n->bus_device : NULL;
    if (dev)
        owu_usb_device_ref(dev);
    owu_stack_unlock(s);
    if (!dev)
        return r;
    r.ok = true;
    struct raw_writer w = {.dev = dev, .total = total};
    uint8_t *buf = malloc(CHUNK);
    uint64_t t0 = owu_now_ns();
    pthread_t t;
    pthread_create(&t, NULL, raw_write, &w);
    uint64_t pos = 0;
    while (buf && pos < total) {
        size_t got = 0;
        if (owu_transfer_sync(dev, OWU_XFER_BULK, 0x81, buf, CHUNK, &got, 30000) != OWU_OK) {
            r.ok = false;
            break;
        }
        for (size_t i = 0; i < got; i++)
            if (buf[i] != pattern(pos + i))
                r.ok = false;
        pos += got;
    }
    pthread_join(t, NULL);
    double secs = (double)(owu_now_ns() - t0) / 1e9;
    r.ok = r.ok && w.rc == OWU_OK && pos == total;
    r.mbps = (double)total / 1e6 / secs;

    uint8_t msg[32], back[512];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)i;
    t0 = owu_now_ns();
    for (unsigned k = 0; k < rounds && r.ok; k++) {
        size_t done = 0, have = 0;
        if (owu_transfer_sync(dev, OWU_XFER_BULK, 0x02, msg, sizeof msg, &done, 5000) != OWU_OK) {
            r.ok = false;
            break;
        }
        while (have < sizeof msg) {
            size_t got = 0;
            if (owu_transfer_sync(dev, OWU_XFER_BULK, 0x81, back + have, sizeof back - have, &got, 5000) !=
                OWU_OK) {
                r.ok = false;
                break;
            }
            have += got;
        }
        if (memcmp(back, msg, sizeof msg) != 0)
            r.ok = false;
    }
    r.rtt_us = (double)(owu_now_ns() - t0) / 1e3 / rounds;
    free(buf);
    owu_usb_device_unref(dev);
    return r;
}

int main(int argc, char **argv)
{
    unsigned mib = 256, rounds = 20000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            mib = 32;
            rounds = 2000;
        } else if (strcmp(argv[i], "--mib") == 0 && i + 1 < argc) {
            mib = (unsigned)atoi(argv[++i]);
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = (unsigned)atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: bench_serial [--quick] [--mib N] [--rounds N]\n");
            return 2;
        }
    }
    if (!mib || !rounds) {
        fprintf(stderr, "bench_serial: --mib and --rounds must be positive\n");
        return 2;
    }
    setenv("OPENWINUSB_REGISTRY", "memory", 1);
    struct owu_stack_options opt;
    owu_stack_options_default(&opt);
    opt.buses = "virtual:cdc-acm";
    struct owu_stack *s = NULL;
    owu_err err = {0};
    if (owu_stack_open(&opt, &s, &err) != OWU_OK) {
        fprintf(stderr, "bench_serial: %s\n", err.msg);
        return 1;
    }
    uint64_t total = (uint64_t)mib << 20;
    struct result d = run_driver(s, total, rounds);
    struct result p = run_raw(s, total, rounds);
    owu_stack_close(s);
    printf("bench_serial: virtual cdc-acm loopback, %u MiB, %u round trips of 32 bytes\n", mib, rounds);
    printf("  %-34s %10s %14s\n", "", "MB/s", "round trip µs");
    printf("  %-34s %10.1f %14.1f\n", "usbser driver (read/write API)", d.mbps, d.rtt_us);
    printf("  %-34s %10.1f %14.1f\n", "peer: raw owu_transfer_sync", p.mbps, p.rtt_us);
    printf("  %-34s %10.2f %14.2f\n", "ratio driver / peer", p.mbps > 0 ? d.mbps / p.mbps : 0.0,
           p.rtt_us > 0 ? d.rtt_us / p.rtt_us : 0.0);
    if (!d.ok || !p.ok) {
        fprintf(stderr, "bench_serial: %s run failed or returned wrong data\n", !d.ok ? "driver" : "peer");
        return 1;
    }
    return 0;
}
