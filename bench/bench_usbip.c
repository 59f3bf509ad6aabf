/* USB/IP vs. local: bulk loopback throughput (MB/s, several URBs in flight each way, the
 * completion handlers resubmitting) and round-trip latency (µs: a 64-byte OUT then its IN;
 * and one FX2 vendor control request) on the FX2 model, used once through our USB/IP client
 * and server over loopback TCP and once directly on a virtual bus, side by side with the
 * ratio. A benchmark, not a test: it prints numbers and fails only when a transfer fails or
 * the data comes back wrong.
 *   bench_usbip [--quick] [--mib N] [--rounds N] [--urb KiB] [--depth N] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openwinusb/stack.h>

#include "core/urb.h"
#include "hcd/usbip.h"

static uint8_t pattern(uint64_t i) { return (uint8_t)(i * 131u + (i >> 9)); }

struct pump {
    struct owu_usb_device *dev;
    size_t urb_size;
    uint64_t total;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint64_t out_sent;       /* bytes handed to OUT URBs */
    uint64_t in_got;         /* bytes received */
    unsigned live;           /* URBs in flight */
    bool bad;
};

struct slot {
    struct owu_urb urb;
    struct pump *p;
    uint8_t *buf;
};

static void out_done(struct owu_urb *u);
static void in_done(struct owu_urb *u);

/* Lock held. Starts the OUT URB again with the next piece of the pattern, if any is left. */
static bool refill_out(struct slot *s)
{
    struct pump *p = s->p;
    if (p->out_sent >= p->total || p->bad)
        return false;
    size_t n = p->total - p->out_sent < p->urb_size ? (size_t)(p->total - p->out_sent) : p->urb_size;
    for (size_t i = 0; i < n; i++)
        s->buf[i] = pattern(p->out_sent + i);
    p->out_sent += n;
    s->urb = (struct owu_urb){.dev = p->dev, .type = OWU_XFER_BULK, .endpoint = 0x06, .buffer = s->buf,
                              .length = n, .complete = out_done, .context = s, .timeout_ms = 30000};
    return true;
}

static bool refill_in(struct slot *s)
{
    struct pump *p = s->p;
    if (p->bad || p->in_got >= p->total)
        return false;
    s->urb = (struct owu_urb){.dev = p->dev, .type = OWU_XFER_BULK, .endpoint = 0x88, .buffer = s->buf,
                              .length = p->urb_size, .complete = in_done, .context = s, .timeout_ms = 30000};
    return true;
}

static void finish(struct slot *s, bool again)
{
    struct pump *p = s->p;
    if (again && owu_urb_submit(&s->urb) == OWU_OK)
        return;
    pthread_mutex_lock(&p->lock);
    if (again)
        p->bad = true;
    p->live--;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

/* OUT URBs are filled and submitted under the pump's lock so that the byte stream enters the
 * device in pattern order whichever thread submits (backends never call a completion from
 * inside submit, so this cannot deadlock). */
static void out_done(struct owu_urb *u)
{
    struct slot *s = u->context;
    struct pump *p = s->p;
    pthread_mutex_lock(&p->lock);
    if (u->status != OWU_OK)
        p->bad = true;
    bool again = refill_out(s) && owu_urb_submit(&s->urb) == OWU_OK;
    if (!again)
        p->live--;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

static void in_done(struct owu_urb *u)
{
    struct slot *s = u->context;
    struct pump *p = s->p;
    pthread_mutex_lock(&p->lock);
    if (u->status == OWU_E_CANCELLED && p->in_got >= p->total) {
        /* a spare IN URB cancelled at the end of the run */
    } else if (u->status != OWU_OK) {
        p->bad = true;
    } else {
        /* IN URBs complete in stream order (one FIFO, one completion thread each side). */
        for (size_t i = 0; i < u->actual; i++)
            if (s->buf[i] != pattern(p->in_got + i)) {
                p->bad = true;
                break;
            }
        p->in_got += u->actual;
    }
    bool again = !p->bad && p->in_got < p->total && refill_in(s);
    pthread_mutex_unlock(&p->lock);
    finish(s, again);
}

/* MB/s of a full loopback of `total` bytes with `depth` URBs of `urb_size` each way. */
static double throughput(struct owu_usb_device *dev, uint64_t total, size_t urb_size, unsigned depth,
                         bool *ok)
{
    struct pump p = {.dev = dev, .urb_size = urb_size, .total = total};
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.cond, NULL);
    struct slot *slots = calloc(2 * depth, sizeof *slots);
    for (unsigned i = 0; i < 2 * depth; i++) {
        slots[i].p = &p;
        slots[i].buf = malloc(urb_size);
    }
    uint64_t t0 = owu_now_ns();
    pthread_mutex_lock(&p.lock);
    for (unsigned i = 0; i < depth; i++) {
        struct slot *in = &slots[2 * i], *out = &slots[2 * i + 1];
        if (refill_in(in)) {
            if (owu_urb_submit(&in->urb) == OWU_OK)
                p.live++;
            else
                p.bad = true;
        }
        if (refill_out(out)) {
            if (owu_urb_submit(&out->urb) == OWU_OK)
                p.live++;
            else
                p.bad = true;
        }
    }
    /* IN URBs still parked when the stream is complete are cancelled. */
    while (p.live && !(p.in_got >= total || p.bad))
        pthread_cond_wait(&p.cond, &p.lock);
    uint64_t t1 = owu_now_ns();
    pthread_mutex_unlock(&p.lock);
    for (unsigned i = 0; i < 2 * depth; i++)
        owu_urb_cancel(&slots[i].urb);
    pthread_mutex_lock(&p.lock);
    while (p.live)
        pthread_cond_wait(&p.cond, &p.lock);
    pthread_mutex_unlock(&p.lock);
    *ok = !p.bad && p.in_got == total;
    for (unsigned i = 0; i < 2 * depth; i++)
        free(slots[i].buf);
    free(slots);
    pthread_cond_destroy(&p.cond);
    pthread_mutex_destroy(&p.lock);
    return (double)total / 1e6 / ((double)(t1 - t0) / 1e9);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median µs of `rounds` echo round trips (64 bytes out, read back) and of vendor requests. */
static void latency(struct owu_usb_device *dev, unsigned rounds, double *echo_us, double *ctrl_us, bool *ok)
{
    double *t = calloc(rounds, sizeof *t), *c = calloc(rounds, sizeof *c);
    uint8_t out[64], in[64];
    for (unsigned r = 0; r < rounds && *ok; r++) {
        for (unsigned i = 0; i < sizeof out; i++)
            out[i] = pattern(r * 64u + i);
        size_t a = 0;
        uint64_t t0 = owu_now_ns();
        int rc = owu_transfer_sync(dev, OWU_XFER_BULK, 0x06, out, sizeof out, &a, 5000);
        if (rc == OWU_OK)
            rc = owu_transfer_sync(dev, OWU_XFER_BULK, 0x88, in, sizeof in, &a, 5000);
        uint64_t t1 = owu_now_ns();
        uint8_t v;
        int n = owu_control_sync(dev, 0xC0, 0xD7, 0, 0, &v, 1, 5000);
        uint64_t t2 = owu_now_ns();
        if (rc != OWU_OK || a != sizeof in || memcmp(in, out, sizeof in) != 0 || n != 1)
            *ok = false;
        t[r] = (double)(t1 - t0) / 1e3;
        c[r] = (double)(t2 - t1) / 1e3;
    }
    qsort(t, rounds, sizeof *t, cmp_double);
    qsort(c, rounds, sizeof *c, cmp_double);
    *echo_us = t[rounds / 2];
    *ctrl_us = c[rounds / 2];
    free(t);
    free(c);
}

static struct owu_usb_device *find(struct owu_stack *s, const char *location, const struct owu_devinfo **info)
{
    owu_stack_lock(s);
    struct owu_devnode *n = owu_stack_find(s, location);
    struct owu_usb_device *dev = n ? n->bus_device : NULL;
    if (info)
        *info = n ? n->info : NULL;
    owu_stack_unlock(s);
    return dev;
}

static struct owu_stack *open_stack(const char *spec)
{
    struct owu_stack_options opt;
    owu_stack_options_default(&opt);
    opt.buses = spec;
    struct owu_stack *s = NULL;
    owu_err err = {0};
    if (owu_stack_open(&opt, &s, &err) != OWU_OK)
        fprintf(stderr, "bench_usbip: %s: %s\n", spec, err.msg);
    return s;
}

int main(int argc, char **argv)
{
    unsigned mib = 256, rounds = 2000, urb_kib = 64, depth = 8;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            mib = 16;
            rounds = 200;
        } else if (strcmp(argv[i], "--mib") == 0 && i + 1 < argc) {
            mib = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--urb") == 0 && i + 1 < argc) {
            urb_kib = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--depth") == 0 && i + 1 < argc) {
            depth = (unsigned)strtoul(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "usage: bench_usbip [--quick] [--mib N] [--rounds N] [--urb KiB] [--depth N]\n");
            return 2;
        }
    }
    if (!mib || !rounds || !urb_kib || urb_kib > 16384 || !depth || depth > 256) {
        fprintf(stderr, "bench_usbip: values out of range\n");
        return 2;
    }
    struct owu_stack *local = open_stack("virtual:fx2");
    struct owu_stack *served = open_stack("virtual:fx2");
    if (!local || !served)
        return 1;
    const struct owu_devinfo *info = NULL;
    struct owu_usb_device *sdev = find(served, "virtual:1-1", &info);
    owu_err err = {0};
    struct owu_usbip_server *srv = owu_usbip_server_new(&err);
    unsigned port = 0;
    if (!srv || owu_usbip_server_export(srv, sdev, info, "1-1", &err) != OWU_OK ||
        owu_usbip_server_start(srv, "127.0.0.1", 0, &port, &err) != OWU_OK) {
        fprintf(stderr, "bench_usbip: %s\n", err.msg);
        return 1;
    }
    char spec[64];
    snprintf(spec, sizeof spec, "usbip=127.0.0.1:%u/1-1", port);
    struct owu_stack *remote = open_stack(spec);
    if (!remote)
        return 1;
    struct owu_usb_device *ldev = find(local, "virtual:1-1", NULL);
    struct owu_usb_device *rdev = find(remote, "usbip:1-1", NULL);
    if (!ldev || !rdev) {
        fprintf(stderr, "bench_usbip: device not found\n");
        return 1;
    }

    uint64_t total = (uint64_t)mib << 20;
    size_t urb = (size_t)urb_kib << 10;
    bool ok = true, lok = true, rok = true;
    double l_mbps = throughput(ldev, total, urb, depth, &lok);
    double r_mbps = throughput(rdev, total, urb, depth, &rok);
    ok = lok && rok;
    double l_echo = 0, l_ctrl = 0, r_echo = 0, r_ctrl = 0;
    latency(ldev, rounds, &l_echo, &l_ctrl, &ok);
    latency(rdev, rounds, &r_echo, &r_ctrl, &ok);

    printf("bench_usbip: FX2 bulk loopback, %u MiB, %u KiB URBs, %u in flight each way; %u rounds\n",
           mib, urb_kib, depth, rounds);
    printf("%-34s %14s %14s %10s\n", "", "local virtual", "USB/IP (TCP)", "ratio");
    printf("%-34s %14.1f %14.1f %9.2fx\n", "bulk loopback throughput (MB/s)", l_mbps, r_mbps,
           r_mbps > 0 ? l_mbps / r_mbps : 0.0);
    printf("%-34s %14.1f %14.1f %9.2fx\n", "64-byte echo round trip (us, median)", l_echo, r_echo,
           l_echo > 0 ? r_echo / l_echo : 0.0);
    printf("%-34s %14.1f %14.1f %9.2fx\n", "vendor control IN (us, median)", l_ctrl, r_ctrl,
           l_ctrl > 0 ? r_ctrl / l_ctrl : 0.0);
    printf("(ratio: how many times slower USB/IP is)\n");
    if (!ok)
        fprintf(stderr, "bench_usbip: a transfer failed or data came back wrong\n");

    owu_stack_close(remote);
    owu_usbip_server_free(srv);
    owu_stack_close(served);
    owu_stack_close(local);
    return ok ? 0 : 1;
}
