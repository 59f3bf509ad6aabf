/* Runs inside the test VM (tests/kernel/run.sh): the usbser driver (include/openwinusb/usbser.h)
 * over usbfs against the gadget's f_acm function. The stack binds usbser to the ACM function
 * through the in-box usbser.inf (USB\Class_02&SubClass_02); Linux's cdc_acm holds its
 * interfaces, so the port opens only with detach_kernel_driver, and closing hands them back.
 * The gadget's side of the line is /dev/ttyGS0, opened here (raw, non-blocking, polled
 * with timeouts).
 *
 * What f_acm (Linux 6.1) shows the gadget side, and so what can be checked end to end:
 *  - data both ways: yes;
 *  - SET_LINE_CODING: stored by f_acm and answered by GET_LINE_CODING, but not passed to the
 *    tty (ttyGS0's termios keep their own speed): checked through GET_LINE_CODING only;
 *  - SET_CONTROL_LINE_STATE: stored by f_acm, not visible on ttyGS0 (no TIOCMGET):
 *    only the request's success is checked; the gadget's termios/TIOCMGET are printed;
 *  - SERIAL_STATE: f_acm raises DCD and DSR when ttyGS0 is opened and drops them when it is
 *    closed: checked through the port's modem status and events. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openwinusb/stack.h>
#include <openwinusb/usbser.h>

#include "check.h"

#define LOCATION "usbfs:1-1"

static struct owu_stack *stack;
static struct owu_usbser_port *port;
static int tty = -1;

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* cdc_acm (not usbfs, which a detaching claim binds) drives the ACM function. */
static bool acm_bound(void)
{
    char link[256];
    ssize_t n = readlink("/sys/bus/usb/devices/1-1:1.0/driver", link, sizeof link - 1);
    if (n <= 0)
        return false;
    link[n] = 0;
    const char *base = strrchr(link, '/');
    return strcmp(base ? base + 1 : link, "cdc_acm") == 0;
}

static bool wait_acm_bound(bool bound, unsigned ms)
{
    uint64_t end = now_ms() + ms;
    while (acm_bound() != bound) {
        if (now_ms() > end)
            return false;
        sleep_ms(20);
    }
    return true;
}

static bool wait_node(unsigned ms)
{
    uint64_t end = now_ms() + ms;
    for (;;) {
        owu_stack_lock(stack);
        bool there = owu_stack_find(stack, LOCATION) != NULL;
        owu_stack_unlock(stack);
        if (there)
            return true;
        if (now_ms() > end)
            return false;
        sleep_ms(20);
    }
}

/* Not periodic: any 16 bytes of it say where they came from. */
static uint8_t pattern(size_t i, unsigned seed)
{
    uint32_t x = (uint32_t)i * 2654435761u + seed * 40503u;
    x ^= x >> 15;
    x *= 2246822519u;
    return (uint8_t)(x >> 24);
}

static int open_tty(void)
{
    int fd = open("/dev/ttyGS0", O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return -1;
    struct termios t;
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(fd, TCSANOW, &t);
    }
    return fd;
}

/* Reads n bytes from the gadget's tty within ms. */
static size_t tty_read_all(uint8_t *buf, size_t n, unsigned ms)
{
    size_t have = 0;
    uint64_t end = now_ms() + ms;
    while (have < n && now_ms() < end) {
        struct pollfd p = {.fd = tty, .events = POLLIN};
        if (poll(&p, 1, 50) > 0) {
            ssize_t r = read(tty, buf + have, n - have);
            if (r > 0)
                have += (size_t)r;
        }
    }
    return have;
}

/* Writes n bytes to the gadget's tty within ms. */
static size_t tty_write_all(const uint8_t *buf, size_t n, unsigned ms)
{
    size_t done = 0;
    uint64_t end = now_ms() + ms;
    while (done < n && now_ms() < end) {
        struct pollfd p = {.fd = tty, .events = POLLOUT};
        if (poll(&p, 1, 50) > 0) {
            ssize_t r = write(tty, buf + done, n - done);
            if (r > 0)
                done += (size_t)r;
        }
    }
    return done;
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_bound_to_usbser(void)
{
    owu_err err = {0};
    CHECK_OK(owu_stack_open(NULL, &stack, &err), &err);
    if (!stack)
        exit(check_report());
    CHECK(wait_node(30000));
    owu_strlist list = {0};
    CHECK_OK(owu_usbser_list(stack, &list, &err), &err);
    bool found = false;
    for (size_t i = 0; i < list.n; i++) {
        printf("  port %s\n", list.v[i]);
        found |= strstr(list.v[i], LOCATION) != NULL && strstr(list.v[i], "MI_00") != NULL;
    }
    owu_strlist_clear(&list);
    CHECK(found);
    CHECK(acm_bound());
}

static void test_open_needs_detach(void)
{
    owu_err err = {0};
    struct owu_usbser_options opt;
    owu_usbser_options_default(&opt);
    /* cdc_acm holds the interfaces: without detaching, the open is refused. */
    CHECK_INT(owu_usbser_open(stack, LOCATION, &opt, &port, &err), OWU_E_BUSY);
    printf("  without detach: %s\n", err.msg);
    CHECK(port == NULL);
    CHECK(acm_bound());
    opt.detach_kernel_driver = true;
    CHECK_OK(owu_usbser_open(stack, LOCATION, &opt, &port, &err), &err);
    if (!port)
        return;
    CHECK(!acm_bound());
    struct owu_usbser_info info;
    owu_usbser_get_info(port, &info);
    printf("  %s %s: comm %u data %u, found by %s, ACM caps 0x%02x\n", info.port_name, info.instance_id,
           info.comm_interface, info.data_interface, info.found_by ? info.found_by : "?",
           info.acm_capabilities);
    CHECK_INT(info.comm_interface, 0);
    CHECK_INT(info.data_interface, 1);
    CHECK_INT(info.in_max_packet, 512);
    CHECK(info.notify_ep != 0);
    /* A second open of the same port is refused. */
    struct owu_usbser_port *p2 = NULL;
    CHECK_INT(owu_usbser_open(stack, LOCATION, &opt, &p2, &err), OWU_E_BUSY);
    CHECK(p2 == NULL);
}

/* f_acm raises DCD and DSR (SERIAL_STATE) when the gadget's tty opens. */
static void test_serial_state_on_tty_open(void)
{
    if (!port) {
        CHECK(port != NULL);
        return;
    }
    owu_usbser_clear_events(port, OWU_USBSER_EV_ALL);
    tty = open_tty();
    CHECK(tty >= 0);
    if (tty < 0)
        return;
    unsigned which = 0;
    uint64_t end = now_ms() + 5000;
    unsigned status = 0;
    while (now_ms() < end && (status & (OWU_USBSER_DCD | OWU_USBSER_DSR)) != (OWU_USBSER_DCD | OWU_USBSER_DSR)) {
        owu_usbser_wait_events(port, OWU_USBSER_EV_DCD | OWU_USBSER_EV_DSR, 200, &which);
        status = owu_usbser_modem_status(port);
    }
    printf("  modem status after ttyGS0 opened: 0x%x\n", status);
    CHECK(status & OWU_USBSER_DCD);
    CHECK(status & OWU_USBSER_DSR);
    struct owu_usbser_counters c;
    owu_usbser_get_counters(port, &c);
    CHECK(c.notifications >= 1);
}

static void test_host_to_gadget(void)
{
    if (!port || tty < 0) {
        CHECK(port && tty >= 0);
        return;
    }
    static const size_t sizes[] = {1, 100, 512, 4096, 65536, 300000};
    static uint8_t out[300000], in[300000];
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        for (size_t i = 0; i < n; i++)
            out[i] = pattern(i, (unsigned)k);
        memset(in, 0, n);
        size_t written = 0;
        /* The tty's buffer is small: the gadget reads while the write is under way, so the
         * write is not waited for here before reading (it runs until the reads drain it). */
        int rc = OWU_OK;
        if (n <= 4096) {
            rc = owu_usbser_write(port, out, n, 5000, &written);
            CHECK_OK(rc, NULL);
            CHECK_INT(written, n);
            CHECK_INT(tty_read_all(in, n, 5000), n);
        } else {
            /* Larger than the gadget's buffers: write in pieces, read in between. */
            size_t got = 0;
            for (size_t pos = 0; pos < n && rc == OWU_OK;) {
                size_t piece = n - pos < 4096 ? n - pos : 4096;
                size_t w = 0;
                rc = owu_usbser_write(port, out + pos, piece, 5000, &w);
                pos += w;
                got += tty_read_all(in + got, pos - got, 5000);
            }
            CHECK_OK(rc, NULL);
            CHECK_INT(got, n);
        }
        CHECK(memcmp(in, out, n) == 0);
    }
}

/* n bytes written on the gadget's tty, read through the port; true when they all arrived in
 * order (the first difference is described on stderr). */
static bool gadget_to_host(struct owu_usbser_port *p, size_t n, unsigned seed)
{
    static uint8_t out[100000], in[100000];
    if (n > sizeof out)
        return false;
    for (size_t i = 0; i < n; i++)
        out[i] = pattern(i, seed);
    memset(in, 0, n);
    size_t sent = 0, have = 0;
    uint64_t end = now_ms() + 10000;
    while (have < n && now_ms() < end) {
        if (sent < n)
            sent += tty_write_all(out + sent, n - sent, 20);
        size_t got = 0;
        int rc = owu_usbser_read(p, in + have, n - have, 50, &got);
        if (rc == OWU_OK)
            have += got;
        else if (rc != OWU_E_TIMEOUT) {
            fprintf(stderr, "  read: %s\n", owu_status_name(rc));
            break;
        }
    }
    if (have != n) {
        fprintf(stderr, "  %zu of %zu bytes from the gadget arrived\n", have, n);
        return false;
    }
    size_t bad = 0;
    while (bad < n && in[bad] == out[bad])
        bad++;
    if (bad == n)
        return true;
    fprintf(stderr, "  %zu bytes from the gadget: first difference at %zu\n", n, bad);
    for (size_t at = bad & ~(size_t)511, shown = 0; at + 16 <= n && shown < 8; at += 512) {
        long from = -1;
        for (size_t j = 0; j + 16 <= n && from < 0; j++)
            if (memcmp(out + j, in + at, 16) == 0)
                from = (long)j;
        if (from != (long)at) {
            fprintf(stderr, "    received at %zu: sent at %ld\n", at, from);
            shown++;
        }
    }
    return false;
}

static void test_gadget_to_host(void)
{
    if (!port || tty < 0) {
        CHECK(port && tty >= 0);
        return;
    }
    static const size_t sizes[] = {1, 64, 512, 4096, 100000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
        CHECK(gadget_to_host(port, sizes[k], (unsigned)k + 100));
    struct owu_usbser_counters c;
    owu_usbser_get_counters(port, &c);
    printf("  counters: rx %llu tx %llu zlp %u notifications %u\n", (unsigned long long)c.rx_bytes,
           (unsigned long long)c.tx_bytes, c.zero_packets, c.notifications);
    CHECK(c.rx_bytes >= 1 + 64 + 512 + 4096 + 100000);
}

/* The driver's default: 8 bulk IN transfers in flight. f_acm answers in 2 KiB pieces, so a
 * burst completes several transfers at once; their data must still arrive in order (the
 * usbfs reaper once delivered one round's completions newest first; fixed in deliver()). */
static void test_default_readers_keep_order(void)
{
    owu_err err = {0};
    struct owu_usbser_options opt;
    owu_usbser_options_default(&opt);
    opt.detach_kernel_driver = true;
    struct owu_usbser_port *p = NULL;
    CHECK_OK(owu_usbser_open(stack, LOCATION, &opt, &p, &err), &err);
    if (!p)
        return;
    tty = open_tty();
    CHECK(tty >= 0);
    bool ordered = true;
    for (unsigned round = 0; round < 3 && ordered && tty >= 0; round++)
        ordered = gadget_to_host(p, 100000, 200 + round);
    if (tty >= 0)
        close(tty);
    tty = -1;
    owu_usbser_close(p);
    printf("  8 read transfers in flight: data %s\n", ordered ? "in order" : "OUT OF ORDER");
    CHECK(ordered);
    CHECK(wait_acm_bound(true, 5000));
}

static void test_line_coding(void)
{
    if (!port) {
        CHECK(port != NULL);
        return;
    }
    static const struct owu_usbser_line_coding codings[] = {
        {115200, 0, 0, 8}, {9600, 2, 2, 7}, {3000000, 1, 1, 5}, {57600, 0, 4, 6}};
    for (size_t i = 0; i < sizeof codings / sizeof codings[0]; i++) {
        struct owu_usbser_line_coding got = {0};
        CHECK_OK(owu_usbser_set_line_coding(port, &codings[i]), NULL);
        CHECK_OK(owu_usbser_get_line_coding(port, &got), NULL);
        CHECK_INT(got.rate, codings[i].rate);
        CHECK_INT(got.stop_bits, codings[i].stop_bits);
        CHECK_INT(got.parity, codings[i].parity);
        CHECK_INT(got.data_bits, codings[i].data_bits);
    }
    /* For the record: what the gadget's tty says (f_acm does not pass line coding on). */
    struct termios t;
    if (tty >= 0 && tcgetattr(tty, &t) == 0)
        printf("  ttyGS0 after SET_LINE_CODING 57600 6M1: ospeed code %u, CSIZE 0x%x, PARENB %d, CSTOPB %d\n",
               (unsigned)cfgetospeed(&t), (unsigned)(t.c_cflag & CSIZE), !!(t.c_cflag & PARENB),
               !!(t.c_cflag & CSTOPB));
}

static void test_control_lines(void)
{
    if (!port) {
        CHECK(port != NULL);
        return;
    }
    /* Raised at open. */
    CHECK_INT(owu_usbser_control_lines(port), OWU_USBSER_DTR | OWU_USBSER_RTS);
    CHECK_OK(owu_usbser_set_control_lines(port, OWU_USBSER_DTR), NULL);
    CHECK_INT(owu_usbser_control_lines(port), OWU_USBSER_DTR);
    int bits = 0;
    int r = tty >= 0 ? ioctl(tty, TIOCMGET, &bits) : -1;
    printf("  ttyGS0 TIOCMGET after DTR only: %s (0x%x)\n", r == 0 ? "ok" : strerror(errno), (unsigned)bits);
    CHECK_OK(owu_usbser_set_control_lines(port, 0), NULL);
    CHECK_INT(owu_usbser_control_lines(port), 0);
    CHECK_OK(owu_usbser_set_control_lines(port, OWU_USBSER_DTR | OWU_USBSER_RTS), NULL);
    /* SEND_BREAK: f_acm's answer is recorded, not judged. */
    int b = owu_usbser_send_break(port, 10);
    printf("  SEND_BREAK 10 ms: %s\n", owu_status_name(b));
    /* Data still flows after the class requests. */
    const uint8_t msg[] = "after the control requests";
    size_t w = 0;
    CHECK_OK(owu_usbser_write(port, msg, sizeof msg - 1, 5000, &w), NULL);
    uint8_t in[64] = {0};
    CHECK_INT(tty_read_all(in, sizeof msg - 1, 5000), sizeof msg - 1);
    CHECK(memcmp(in, msg, sizeof msg - 1) == 0);
}

/* Closing the gadget's tty drops DCD and DSR. */
static void test_serial_state_on_tty_close(void)
{
    if (!port || tty < 0) {
        CHECK(port && tty >= 0);
        return;
    }
    owu_usbser_clear_events(port, OWU_USBSER_EV_ALL);
    close(tty);
    tty = -1;
    uint64_t end = now_ms() + 5000;
    unsigned status = owu_usbser_modem_status(port), which = 0;
    while (now_ms() < end && (status & (OWU_USBSER_DCD | OWU_USBSER_DSR))) {
        owu_usbser_wait_events(port, OWU_USBSER_EV_DCD | OWU_USBSER_EV_DSR, 200, &which);
        status = owu_usbser_modem_status(port);
    }
    printf("  modem status after ttyGS0 closed: 0x%x\n", status);
    CHECK_INT(status & (OWU_USBSER_DCD | OWU_USBSER_DSR), 0);
}

/* Closing the port hands the interfaces back to cdc_acm. */
static void test_close_rebinds_cdc_acm(void)
{
    if (!port) {
        CHECK(port != NULL);
        return;
    }
    owu_usbser_close(port);
    port = NULL;
    CHECK(wait_acm_bound(true, 5000));
    bool tty_acm = false;
    for (int i = 0; i < 250 && !tty_acm; i++) {
        tty_acm = access("/dev/ttyACM0", F_OK) == 0;
        if (!tty_acm)
            sleep_ms(20);
    }
    CHECK(tty_acm);
}

/* Unbinding the gadget with a reader waiting: the read fails with OWU_E_NODEV, no hang. */
static void test_surprise_removal(void)
{
    owu_err err = {0};
    struct owu_usbser_options opt;
    owu_usbser_options_default(&opt);
    opt.detach_kernel_driver = true;
    CHECK_OK(owu_usbser_open(stack, LOCATION, &opt, &port, &err), &err);
    if (!port)
        return;
    const char *g = getenv("OWU_GADGET"), *udc = getenv("OWU_UDC");
    char path[256];
    snprintf(path, sizeof path, "%s/UDC", g ? g : "/sys/kernel/config/usb_gadget/owu");
    int fd = open(path, O_WRONLY);
    CHECK(fd >= 0);
    if (fd >= 0) {
        CHECK(write(fd, "\n", 1) == 1);
        close(fd);
    }
    uint8_t b[64];
    size_t got = 0;
    uint64_t t0 = now_ms();
    int rc = owu_usbser_read(port, b, sizeof b, 30000, &got);
    printf("  waiting read ended %llu ms after the unbind: %s\n", (unsigned long long)(now_ms() - t0),
           owu_status_name(rc));
    CHECK_INT(rc, OWU_E_NODEV);
    CHECK(owu_usbser_gone(port));
    size_t w = 0;
    CHECK_INT(owu_usbser_write(port, b, 4, 1000, &w), OWU_E_NODEV);
    owu_usbser_close(port);
    port = NULL;
    fd = open(path, O_WRONLY);
    CHECK(fd >= 0);
    if (fd >= 0) {
        const char *u = udc ? udc : "dummy_udc.0";
        CHECK(write(fd, u, strlen(u)) == (ssize_t)strlen(u));
        close(fd);
    }
    CHECK(wait_node(30000));
    CHECK(wait_acm_bound(true, 10000));
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    RUN(test_bound_to_usbser);
    RUN(test_open_needs_detach);
    RUN(test_serial_state_on_tty_open);
    RUN(test_host_to_gadget);
    RUN(test_gadget_to_host);
    RUN(test_line_coding);
    RUN(test_control_lines);
    RUN(test_serial_state_on_tty_close);
    RUN(test_close_rebinds_cdc_acm);
    RUN(test_default_readers_keep_order);
    RUN(test_surprise_removal);
    if (tty >= 0)
        close(tty);
    owu_usbser_close(port);
    owu_stack_close(stack);
    return check_report();
}
