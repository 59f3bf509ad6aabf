/* The libusb peer of bench/bench_usbfs.c (run inside the test VM by run.sh --bench): the same
 * measurements on the same Loopback function, through libusb-1.0 (Debian's build) instead of
 * openwinusb. bench_usbfs starts it and reads its lines:
 *
 *   BULK <queue depth> <size> <MB/s>     echoed bytes per second (write + read back)
 *   CTRL <microseconds>                  one GET_DESCRIPTOR(device), synchronous
 *
 *   guest_bench_libusb BUSNUM DEVNUM INTERFACE EP_OUT EP_IN MS_PER_CELL
 *
 * The device is opened through its usbfs node and handed to libusb (libusb_wrap_sys_device,
 * no device discovery), so no udev is needed. Queued runs keep `depth` writes and `depth`
 * reads in flight with the asynchronous API; a size that is not a multiple of the Loopback's
 * request size (16 KiB in the bench VM) would end each write with a zero-length packet, as
 * the WinUSB side would. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libusb.h>

#define LOOP_BUFLEN 16384u   /* bulk_buflen of the bench gadget (guest_init.sh) */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static libusb_device_handle *h;
static unsigned char ep_out, ep_in;
static unsigned ms_per_cell;
#define TRIES 3   /* each cell: the best of TRIES runs of ms_per_cell / TRIES, as bench_usbfs */

static double try_s(void) { return ms_per_cell / 1000.0 / TRIES; }

static double best(double a, double b, int higher_better)
{
    if (a < 0 || b < 0)
        return -1;
    return higher_better ? (a > b ? a : b) : (a < b ? a : b);
}

static double bulk_sync(size_t size)
{
    unsigned char *w = malloc(size), *r = malloc(size);
    if (!w || !r)
        return -1;
    memset(w, 0x5A, size);
    double t0 = now_s(), t = t0;
    uint64_t bytes = 0;
    while (t - t0 < try_s()) {
        int done = 0;
        if (libusb_bulk_transfer(h, ep_out, w, (int)size, &done, 5000) != 0 || (size_t)done != size)
            return -1;
        if (size % LOOP_BUFLEN && size % 512 == 0 && libusb_bulk_transfer(h, ep_out, w, 0, &done, 5000) != 0)
            return -1;
        for (size_t have = 0; have < size; have += (size_t)done)
            if (libusb_bulk_transfer(h, ep_in, r + have, (int)(size - have), &done, 5000) != 0 || done == 0)
                return -1;
        bytes += size;
        t = now_s();
    }
    free(w);
    free(r);
    return (double)bytes / (t - t0) / 1e6;
}

/* Queued runs: writes are resubmitted until the cell's time is up; a read is (re)submitted
 * only while fewer reads than writes have been submitted, so every read has an echo coming
 * and nothing is left over in the Loopback when the cell ends. Reads without a write to
 * match wait on the idle list until the next write goes out. */
struct qstate {
    uint64_t bytes_in;
    uint64_t w_sub, r_sub;
    unsigned outstanding;
    int failed;
    double end;
    struct libusb_transfer *idle[64];
    unsigned n_idle;
};

static int submit(struct qstate *q, struct libusb_transfer *x)
{
    if (libusb_submit_transfer(x) != 0) {
        q->failed = 1;
        return -1;
    }
    q->outstanding++;
    if (x->endpoint & 0x80)
        q->r_sub++;
    else
        q->w_sub++;
    return 0;
}

static void LIBUSB_CALL on_done(struct libusb_transfer *x)
{
    struct qstate *q = x->user_data;
    q->outstanding--;
    if (x->status != LIBUSB_TRANSFER_COMPLETED || x->actual_length != x->length) {
        q->failed = 1;
        return;
    }
    if (q->failed)
        return;
    if (x->endpoint & 0x80) {
        q->bytes_in += (uint64_t)x->actual_length;
        if (q->r_sub < q->w_sub)
            submit(q, x);
        else
            q->idle[q->n_idle++] = x;
    } else if (now_s() < q->end) {
        submit(q, x);
        if (q->n_idle > 0 && q->r_sub < q->w_sub)
            submit(q, q->idle[--q->n_idle]);
    }
}

static double bulk_queued(size_t size, unsigned depth)
{
    struct libusb_transfer *xs[64];
    unsigned char *bufs[64];
    struct qstate q = {0};
    unsigned n = 2 * depth;
    for (unsigned i = 0; i < n; i++) {
        bufs[i] = malloc(size);
        xs[i] = libusb_alloc_transfer(0);
        if (!bufs[i] || !xs[i])
            return -1;
        memset(bufs[i], (int)i, size);
        unsigned char ep = i < depth ? ep_out : ep_in;
        libusb_fill_bulk_transfer(xs[i], h, ep, bufs[i], (int)size, on_done, &q, 10000);
        if (ep == ep_out && size % LOOP_BUFLEN)
            xs[i]->flags |= LIBUSB_TRANSFER_ADD_ZERO_PACKET;
    }
    double t0 = now_s();
    q.end = t0 + try_s();
    for (unsigned i = 0; i < n; i++)   /* writes first: reads follow them */
        submit(&q, xs[i]);
    while (q.outstanding > 0) {
        struct timeval tv = {1, 0};
        libusb_handle_events_timeout(NULL, &tv);
        if (now_s() > q.end + 30) {   /* never hang: a failed cell is reported as -1 */
            q.failed = 1;
            for (unsigned i = 0; i < n; i++)
                libusb_cancel_transfer(xs[i]);
        }
    }
    double t = now_s();
    for (unsigned i = 0; i < n; i++) {
        libusb_free_transfer(xs[i]);
        free(bufs[i]);
    }
    return q.failed ? -1 : (double)q.bytes_in / (t - t0) / 1e6;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: %s BUSNUM DEVNUM INTERFACE EP_OUT EP_IN MS_PER_CELL\n", argv[0]);
        return 2;
    }
    char node[64];
    snprintf(node, sizeof node, "/dev/bus/usb/%03d/%03d", atoi(argv[1]), atoi(argv[2]));
    int intf = atoi(argv[3]);
    ep_out = (unsigned char)strtoul(argv[4], NULL, 0);
    ep_in = (unsigned char)strtoul(argv[5], NULL, 0);
    ms_per_cell = (unsigned)atoi(argv[6]);
    int fd = open(node, O_RDWR);
    if (fd < 0) {
        perror(node);
        return 1;
    }
    libusb_set_option(NULL, LIBUSB_OPTION_NO_DEVICE_DISCOVERY);
    if (libusb_init(NULL) != 0 || libusb_wrap_sys_device(NULL, (intptr_t)fd, &h) != 0 ||
        libusb_claim_interface(h, intf) != 0) {
        fprintf(stderr, "libusb: cannot open %s interface %d\n", node, intf);
        return 1;
    }
    const struct libusb_version *ver = libusb_get_version();
    printf("VERSION %u.%u.%u\n", ver->major, ver->minor, ver->micro);
    static const size_t sizes[] = {16384, 65536, 262144, 1048576};
    static const unsigned depths[] = {1, 4, 16};
    for (size_t d = 0; d < 3; d++)
        for (size_t s = 0; s < 4; s++) {
            double mbps = 0;
            for (int k = 0; k < TRIES; k++) {
                double v = depths[d] == 1 ? bulk_sync(sizes[s]) : bulk_queued(sizes[s], depths[d]);
                mbps = k ? best(mbps, v, 1) : v;
            }
            printf("BULK %u %zu %.2f\n", depths[d], sizes[s], mbps);
            fflush(stdout);
        }
    double us = 0;
    for (int k = 0; k < TRIES; k++) {
        unsigned char desc[18];
        unsigned rounds = 0;
        double t0 = now_s(), t = t0;
        while (t - t0 < try_s()) {
            if (libusb_control_transfer(h, 0x80, 6, 0x0100, 0, desc, 18, 5000) != 18)
                break;
            rounds++;
            t = now_s();
        }
        double v = rounds ? (t - t0) * 1e6 / rounds : -1.0;
        us = k ? best(us, v, 0) : v;
    }
    printf("CTRL %.1f\n", us);
    libusb_release_interface(h, intf);
    libusb_close(h);
    libusb_exit(NULL);
    close(fd);
    return 0;
}
