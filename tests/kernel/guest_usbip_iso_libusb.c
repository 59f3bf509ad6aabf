/* Peer of guest_test_usbip (runs inside the test VM, linked against Debian's libusb-1.0):
 * isochronous transfers through the kernel's vhci-hcd against openwinusb's iso-loopback
 * model exported by `openwinusb export`. Opens 1209:0007, selects alternate setting 1,
 * sends ISO OUT URBs of several packets and reads them back with ISO IN URBs of the same
 * packet count, comparing lengths and bytes packet by packet. Prints "N passed, N failed"
 * for its rounds and exits 0 when all passed. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libusb.h>

#define VID 0x1209
#define PID 0x0007
#define EP_OUT 0x01
#define EP_IN 0x81
#define MPS 512
#define NPK 8

static void done_cb(struct libusb_transfer *t) { *(int *)t->user_data = 1; }

/* Runs one ISO transfer to completion (bounded by 5 s of event handling). */
static int run(libusb_context *ctx, struct libusb_transfer *t)
{
    int done = 0;
    t->user_data = &done;
    t->callback = done_cb;
    int rc = libusb_submit_transfer(t);
    if (rc != 0) {
        fprintf(stderr, "  submit: %s\n", libusb_error_name(rc));
        return rc;
    }
    for (int i = 0; i < 50 && !done; i++) {
        struct timeval tv = {0, 100000};
        libusb_handle_events_timeout_completed(ctx, &tv, &done);
    }
    if (!done) {
        libusb_cancel_transfer(t);
        for (int i = 0; i < 20 && !done; i++) {
            struct timeval tv = {0, 100000};
            libusb_handle_events_timeout_completed(ctx, &tv, &done);
        }
        fprintf(stderr, "  transfer on 0x%02x timed out\n", t->endpoint);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int passed = 0, failed = 0;
    if (argc != 2) {
        fprintf(stderr, "usage: %s /dev/bus/usb/BBB/DDD\n", argv[0]);
        return 2;
    }
    /* No udevd in the VM: the device is handed over by its usbfs node. */
    int fd = open(argv[1], O_RDWR);
    libusb_context *ctx = NULL;
    libusb_set_option(NULL, LIBUSB_OPTION_NO_DEVICE_DISCOVERY);
    libusb_device_handle *h = NULL;
    if (fd < 0 || libusb_init(&ctx) != 0 || libusb_wrap_sys_device(ctx, (intptr_t)fd, &h) != 0) {
        printf("  cannot open %s through libusb\n0 passed, 1 failed\n", argv[1]);
        return 1;
    }
    {
        struct libusb_device_descriptor dd;
        if (libusb_get_device_descriptor(libusb_get_device(h), &dd) != 0 || dd.idVendor != VID ||
            dd.idProduct != PID) {
            printf("  %s is not %04x:%04x\n0 passed, 1 failed\n", argv[1], VID, PID);
            return 1;
        }
    }
    int rc = libusb_claim_interface(h, 0);
    if (rc == 0)
        rc = libusb_set_interface_alt_setting(h, 0, 1);
    if (rc != 0) {
        printf("  claim / alt 1: %s\n0 passed, 1 failed\n", libusb_error_name(rc));
        libusb_close(h);
        libusb_exit(ctx);
        return 1;
    }
    static unsigned char out[NPK * MPS], in[NPK * MPS];
    struct libusb_transfer *to = libusb_alloc_transfer(NPK), *ti = libusb_alloc_transfer(NPK);
    for (unsigned round = 0; round < 4; round++) {
        /* packet lengths vary per round: full, short, empty and odd sizes */
        unsigned lens[NPK];
        for (unsigned i = 0; i < NPK; i++)
            lens[i] = (i * 97u + round * 131u) % (MPS + 1);
        lens[round % NPK] = MPS;
        unsigned total = 0;
        for (unsigned i = 0; i < NPK; i++)
            total += lens[i];
        for (unsigned i = 0; i < total; i++)
            out[i] = (unsigned char)(i * 31u + round * 7u + (i >> 9));
        libusb_fill_iso_transfer(to, h, EP_OUT, out, (int)total, NPK, NULL, NULL, 5000);
        for (unsigned i = 0; i < NPK; i++)
            to->iso_packet_desc[i].length = lens[i];
        bool ok = run(ctx, to) == 0 && to->status == LIBUSB_TRANSFER_COMPLETED;
        for (unsigned i = 0; ok && i < NPK; i++)
            ok = to->iso_packet_desc[i].status == LIBUSB_TRANSFER_COMPLETED &&
                 to->iso_packet_desc[i].actual_length == lens[i];
        memset(in, 0xEE, sizeof in);
        libusb_fill_iso_transfer(ti, h, EP_IN, in, sizeof in, NPK, NULL, NULL, 5000);
        libusb_set_iso_packet_lengths(ti, MPS);
        ok = ok && run(ctx, ti) == 0 && ti->status == LIBUSB_TRANSFER_COMPLETED;
        unsigned off = 0;
        for (unsigned i = 0; ok && i < NPK; i++) {
            const unsigned char *p = libusb_get_iso_packet_buffer(ti, i);
            ok = ti->iso_packet_desc[i].status == LIBUSB_TRANSFER_COMPLETED &&
                 ti->iso_packet_desc[i].actual_length == lens[i] && memcmp(p, out + off, lens[i]) == 0;
            if (!ok)
                fprintf(stderr, "  round %u packet %u: status %d, %u bytes, want %u\n", round, i,
                        ti->iso_packet_desc[i].status, ti->iso_packet_desc[i].actual_length, lens[i]);
            off += lens[i];
        }
        printf("%s iso round %u: %u packets, %u bytes out and back\n", ok ? "ok  " : "FAIL", round, NPK, total);
        ok ? passed++ : failed++;
    }
    libusb_free_transfer(to);
    libusb_free_transfer(ti);
    libusb_set_interface_alt_setting(h, 0, 0);
    libusb_release_interface(h, 0);
    libusb_close(h);
    libusb_exit(ctx);
    close(fd);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
