/* The CUSE serial terminal (include/openwinusb/serialtty.h) against the virtual cdc-acm
 * model, with this test playing the kernel: requests go over a SOCK_SEQPACKET socket pair
 * (one request per message, as /dev/cuse delivers them), exactly as fs/fuse/cuse.c would
 * send them, including the unrestricted-ioctl retry and poll notifications. What the model
 * receives (line coding, DTR/RTS, breaks) is checked at the other end. The real kernel runs
 * the same terminal in tests/kernel/guest_test_serialtty.c. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <linux/fuse.h>
#include <linux/serial.h>

#include <openwinusb/serialtty.h>
#include <openwinusb/stack.h>
#include <openwinusb/usbser.h>

#include "check.h"
#include "devices/models.h"
#include "model_fixture.h"

#define TCGETS2_ _IOR('T', 0x2A, struct kterm)
#define TCSETS2_ _IOW('T', 0x2B, struct kterm)

struct kterm {   /* the kernel's struct termios2 */
    uint32_t iflag, oflag, cflag, lflag;
    uint8_t line, cc[19];
    uint32_t ispeed, ospeed;
};

static struct owu_stack *g_stack;
static struct owu_usbser_port *g_port;
static struct owu_serial_tty *g_tty;
static int g_k = -1;             /* our end: the "kernel" */
static uint64_t g_unique = 100;
static uint64_t g_notified[16];  /* poll handles woken */
static size_t g_n_notified;

/* Replies that arrived while waiting for another one. */
static struct stash {
    uint64_t unique;
    size_t len;
    uint8_t buf[4096];
} g_stash[8];

#define now_ms fx_now_ms
#define sleep_ms fx_sleep_ms

static struct owu_vdev *model(void)
{
    return fx_model_at(g_stack, "virtual:1-1");
}

/* Sends request `op` with payload parts; returns its unique. */
static uint64_t k_send(uint32_t op, uint32_t uid, const void *a, size_t alen, const void *b, size_t blen)
{
    uint8_t msg[70000];
    struct fuse_in_header h = {.len = (uint32_t)(sizeof h + alen + blen), .opcode = op,
                               .unique = ++g_unique, .uid = uid};
    memcpy(msg, &h, sizeof h);
    if (alen)
        memcpy(msg + sizeof h, a, alen);
    if (blen)
        memcpy(msg + sizeof h + alen, b, blen);
    ssize_t w = send(g_k, msg, h.len, 0);
    CHECK_INT(w, h.len);
    return h.unique;
}

/* The reply to `unique` within timeout_ms: its error (0 or -errno), payload into out.
 * Returns 1 when it came, 0 on timeout. Poll notifications are recorded on the way. */
static int k_reply(uint64_t unique, unsigned timeout_ms, int *error, void *out, size_t *out_len)
{
    for (size_t i = 0; i < sizeof g_stash / sizeof g_stash[0]; i++) {
        if (g_stash[i].len && g_stash[i].unique == unique) {
            struct fuse_out_header h;
            memcpy(&h, g_stash[i].buf, sizeof h);
            *error = h.error;
            if (out)
                memcpy(out, g_stash[i].buf + sizeof h, g_stash[i].len - sizeof h);
            if (out_len)
                *out_len = g_stash[i].len - sizeof h;
            g_stash[i].len = 0;
            return 1;
        }
    }
    uint64_t end = now_ms() + timeout_ms;
    for (;;) {
        uint64_t now = now_ms();
        if (now >= end)
            return 0;
        struct pollfd p = {g_k, POLLIN, 0};
        if (poll(&p, 1, (int)(end - now)) <= 0)
            return 0;
        uint8_t buf[70000];
        ssize_t n = recv(g_k, buf, sizeof buf, 0);
        struct fuse_out_header h;
        if (n < (ssize_t)sizeof h)
            return 0;
        memcpy(&h, buf, sizeof h);
        CHECK_INT(h.len, n);
        if (h.unique == 0) {
            CHECK_INT(h.error, FUSE_NOTIFY_POLL);
            struct fuse_notify_poll_wakeup_out w;
            memcpy(&w, buf + sizeof h, sizeof w);
            if (g_n_notified < 16)
                g_notified[g_n_notified++] = w.kh;
            continue;
        }
        if (h.unique == unique) {
            *error = h.error;
            if (out)
                memcpy(out, buf + sizeof h, (size_t)n - sizeof h);
            if (out_len)
                *out_len = (size_t)n - sizeof h;
            return 1;
        }
        for (size_t i = 0; i < sizeof g_stash / sizeof g_stash[0]; i++) {
            if (!g_stash[i].len && (size_t)n <= sizeof g_stash[i].buf) {
                g_stash[i].unique = h.unique;
                g_stash[i].len = (size_t)n;
                memcpy(g_stash[i].buf, buf, (size_t)n);
                break;
            }
        }
    }
}

/* An ioctl as the kernel sends one with unrestricted ioctls: first without data, then
 * with the extent the retry names. Returns the ioctl's result. */
static int k_ioctl(uint32_t cmd, uint64_t arg, const void *in, size_t in_len, void *out, size_t out_len)
{
    struct fuse_ioctl_in q = {.fh = 1, .flags = FUSE_IOCTL_UNRESTRICTED, .cmd = cmd, .arg = arg};
    uint64_t u = k_send(FUSE_IOCTL, 0, &q, sizeof q, NULL, 0);
    int err = 1;
    uint8_t buf[4096];
    size_t n = 0;
    if (!k_reply(u, 3000, &err, buf, &n)) {
        CHECK(!"no reply to an ioctl");
        return -9999;
    }
    CHECK_INT(err, 0);
    struct fuse_ioctl_out o;
    memcpy(&o, buf, sizeof o);
    if (o.flags & FUSE_IOCTL_RETRY) {
        CHECK_INT(o.in_iovs, in_len ? 1 : 0);
        CHECK_INT(o.out_iovs, out_len ? 1 : 0);
        struct fuse_ioctl_iovec v[2];
        memcpy(v, buf + sizeof o, (o.in_iovs + o.out_iovs) * sizeof v[0]);
        for (unsigned i = 0; i < o.in_iovs + o.out_iovs; i++) {
            CHECK(v[i].base == arg);
            CHECK_INT(v[i].len, i < o.in_iovs ? in_len : out_len);
        }
        q.in_size = (uint32_t)in_len;
        q.out_size = (uint32_t)out_len;
        u = k_send(FUSE_IOCTL, 0, &q, sizeof q, in, in_len);
        if (!k_reply(u, 3000, &err, buf, &n)) {
            CHECK(!"no reply to a retried ioctl");
            return -9999;
        }
        memcpy(&o, buf, sizeof o);
        CHECK(!(o.flags & FUSE_IOCTL_RETRY));
    } else {
        CHECK(in_len == 0 && out_len == 0);
    }
    if (out && n > sizeof o)
        memcpy(out, buf + sizeof o, n - sizeof o < out_len ? n - sizeof o : out_len);
    return o.result;
}

static int k_ioctl_int_out(uint32_t cmd, int *v)
{
    return k_ioctl(cmd, 0x1000, NULL, 0, v, sizeof *v);
}

static int k_ioctl_int_in(uint32_t cmd, int v)
{
    return k_ioctl(cmd, 0x1000, &v, sizeof v, NULL, 0);
}

static uint64_t k_read_async(uint32_t size, uint32_t flags)
{
    struct fuse_read_in r = {.fh = 1, .size = size, .flags = flags};
    return k_send(FUSE_READ, 0, &r, sizeof r, NULL, 0);
}

static int k_write(const void *data, uint32_t size, uint32_t flags, uint32_t *written)
{
    struct fuse_write_in w = {.fh = 1, .size = size, .flags = flags};
    uint64_t u = k_send(FUSE_WRITE, 0, &w, sizeof w, data, size);
    int err = 1;
    struct fuse_write_out o = {0};
    size_t n = 0;
    if (!k_reply(u, 5000, &err, &o, &n))
        return -9999;
    *written = o.size;
    return err;
}

static int k_open(uint32_t uid)
{
    struct fuse_open_in o = {.flags = O_RDWR};
    uint64_t u = k_send(FUSE_OPEN, uid, &o, sizeof o, NULL, 0);
    int err = 1;
    if (!k_reply(u, 3000, &err, NULL, NULL))
        return -9999;
    return err;
}

static int k_release(void)
{
    struct fuse_release_in r = {.fh = 1};
    uint64_t u = k_send(FUSE_RELEASE, 0, &r, sizeof r, NULL, 0);
    int err = 1;
    if (!k_reply(u, 3000, &err, NULL, NULL))
        return -9999;
    return err;
}

static int model_lines(void)
{
    return owu_cdc_acm_control_lines(model());
}

static bool wait_model_lines(int want, unsigned ms)
{
    uint64_t end = now_ms() + ms;
    while (model_lines() != want && now_ms() < end)
        sleep_ms(5);
    return model_lines() == want;
}

static int g_log_lines;
static char g_last_log[256];
static pthread_mutex_t g_log_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_log(void *ctx, const char *line)
{
    (void)ctx;
    pthread_mutex_lock(&g_log_lock);
    g_log_lines++;
    snprintf(g_last_log, sizeof g_last_log, "%s", line);
    pthread_mutex_unlock(&g_log_lock);
}

/* Stack with the cdc-acm model, COM3 open, the terminal started on a socket pair. */
static bool setup(size_t rx_buffer)
{
    struct owu_stack_options so;
    owu_stack_options_default(&so);
    so.buses = "virtual:cdc-acm";
    owu_err err = {0};
    if (owu_stack_open(&so, &g_stack, &err) != OWU_OK) {
        fprintf(stderr, "stack: %s\n", err.msg);
        return false;
    }
    struct owu_usbser_options po;
    owu_usbser_options_default(&po);
    po.keep_lines = true;
    if (owu_usbser_open(g_stack, "COM3", &po, &g_port, &err) != OWU_OK) {
        fprintf(stderr, "port: %s\n", err.msg);
        return false;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0)
        return false;
    g_k = sv[0];
    g_unique = 100;
    memset(g_stash, 0, sizeof g_stash);
    g_n_notified = 0;
    struct cuse_init_in ci = {.major = FUSE_KERNEL_VERSION, .minor = 31};
    uint64_t u = k_send(CUSE_INIT, 0, &ci, sizeof ci, NULL, 0);
    struct owu_serial_tty_options o;
    owu_serial_tty_options_default(&o);
    o.cuse_fd = sv[1];
    o.devname = "ttyOWUtest";
    o.log = on_log;
    if (rx_buffer)
        o.rx_buffer_size = rx_buffer;
    if (owu_serial_tty_start(g_port, &o, &g_tty, &err) != OWU_OK) {
        fprintf(stderr, "tty: %s\n", err.msg);
        return false;
    }
    int e = 1;
    uint8_t buf[1024];
    size_t n = 0;
    CHECK_INT(k_reply(u, 3000, &e, buf, &n), 1);
    CHECK_INT(e, 0);
    struct cuse_init_out io;
    CHECK(n > sizeof io);
    memcpy(&io, buf, sizeof io);
    CHECK_INT(io.major, FUSE_KERNEL_VERSION);
    CHECK_INT(io.minor, 31);   /* never more than the kernel offered */
    CHECK(io.flags & CUSE_UNRESTRICTED_IOCTL);
    CHECK(io.max_write >= 4096);
    buf[n < sizeof buf ? n : sizeof buf - 1] = 0;
    CHECK_STR((const char *)buf + sizeof io, "DEVNAME=ttyOWUtest");
    CHECK_STR(owu_serial_tty_path(g_tty), "/dev/ttyOWUtest");
    return true;
}

static void teardown(void);

/* setup() and one open of the terminal; false (after a failed check) when either fails. */
static bool start_open(size_t rx_buffer)
{
    if (setup(rx_buffer) && k_open(0) == 0)
        return true;
    CHECK(!"setup and open");
    teardown();
    return false;
}

static void teardown(void)
{
    owu_serial_tty_stop(g_tty);
    g_tty = NULL;
    owu_usbser_close(g_port);
    g_port = NULL;
    owu_stack_close(g_stack);
    g_stack = NULL;
    if (g_k >= 0)
        close(g_k);
    g_k = -1;
}

static void test_termios_to_line_coding(void)
{
    if (!setup(0)) {
        CHECK(!"setup");
        teardown();
        return;
    }
    CHECK_INT(model_lines(), 0);   /* nothing raised before a program opens it */
    CHECK_INT(k_open(1000), 0);
    CHECK(wait_model_lines(OWU_ACM_DTR | OWU_ACM_RTS, 2000));

    struct kterm k;
    CHECK_INT(k_ioctl(TCGETS, 0x2000, NULL, 0, &k, 36), 0);
    CHECK_INT(k.cflag & CBAUD, B9600);
    CHECK_INT(k.cflag & CSIZE, CS8);
    CHECK_INT(k.lflag & ICANON, 0);
    CHECK_INT(k.cc[VMIN], 1);

    /* The settings a pty loses: 7 data bits and even parity. */
    k.cflag = (k.cflag & ~(uint32_t)(CBAUD | CSIZE)) | B19200 | CS7 | PARENB;
    CHECK_INT(k_ioctl(TCSETS, 0x2000, &k, 36, NULL, 0), 0);
    struct owu_cdc_line_coding m;
    CHECK_OK(owu_cdc_acm_line_coding(model(), &m), NULL);
    CHECK_INT(m.rate, 19200);
    CHECK_INT(m.data_bits, 7);
    CHECK_INT(m.parity, 2);
    CHECK_INT(m.stop_bits, 0);

    /* termios2 with an arbitrary rate (BOTHER), mark parity, two stop bits. */
    struct kterm k2;
    CHECK_INT(k_ioctl(TCGETS2_, 0x2000, NULL, 0, &k2, 44), 0);
    CHECK_INT(k2.ospeed, 19200);
    k2.cflag = (k2.cflag & ~(uint32_t)(CBAUD | CSIZE)) | 0010000u | CS8 | PARENB | PARODD | CMSPAR | CSTOPB;
    k2.ospeed = k2.ispeed = 250000;
    CHECK_INT(k_ioctl(TCSETS2_, 0x2000, &k2, 44, NULL, 0), 0);
    CHECK_OK(owu_cdc_acm_line_coding(model(), &m), NULL);
    CHECK_INT(m.rate, 250000);
    CHECK_INT(m.data_bits, 8);
    CHECK_INT(m.parity, 3);
    CHECK_INT(m.stop_bits, 2);
    CHECK_INT(k_ioctl(TCGETS2_, 0x2000, NULL, 0, &k2, 44), 0);
    CHECK_INT(k2.ospeed, 250000);
    CHECK_INT(k2.cflag & CBAUD, 0010000u);

    /* B0 drops DTR (the rate stays), leaving it raises DTR. */
    k.cflag = (k.cflag & ~(uint32_t)CBAUD) | B0;
    CHECK_INT(k_ioctl(TCSETS, 0x2000, &k, 36, NULL, 0), 0);
    CHECK_INT(model_lines(), OWU_ACM_RTS);
    CHECK_OK(owu_cdc_acm_line_coding(model(), &m), NULL);
    CHECK_INT(m.rate, 250000);
    k.cflag = (k.cflag & ~(uint32_t)(CBAUD | CSIZE | PARENB | CSTOPB | PARODD | CMSPAR)) | B115200 | CS8;
    CHECK_INT(k_ioctl(TCSETSW, 0x2000, &k, 36, NULL, 0), 0);
    CHECK_INT(model_lines(), OWU_ACM_DTR | OWU_ACM_RTS);
    CHECK_OK(owu_cdc_acm_line_coding(model(), &m), NULL);
    CHECK_INT(m.rate, 115200);
    CHECK_INT(m.parity, 0);
    pthread_mutex_lock(&g_log_lock);
    CHECK_STR(g_last_log, "line coding 115200 8N1 (device reports 115200 8N1)");
    pthread_mutex_unlock(&g_log_lock);

    /* Modem-control ioctls. */
    CHECK_INT(k_ioctl_int_in(TIOCMBIC, TIOCM_DTR), 0);
    CHECK_INT(model_lines(), OWU_ACM_RTS);
    int v = 0;
    CHECK_INT(k_ioctl_int_out(TIOCMGET, &v), 0);
    CHECK_INT(v, TIOCM_RTS | TIOCM_CTS);
    CHECK_INT(k_ioctl_int_in(TIOCMSET, TIOCM_DTR), 0);
    CHECK_INT(model_lines(), OWU_ACM_DTR);
    CHECK_INT(k_ioctl_int_in(TIOCMBIS, TIOCM_RTS), 0);
    CHECK_INT(model_lines(), OWU_ACM_DTR | OWU_ACM_RTS);

    /* Breaks: tcsendbreak (250 ms, timed by the device), TIOCSBRK / TIOCCBRK. */
    uint16_t last = 0;
    CHECK_INT(k_ioctl(TCSBRK, 0, NULL, 0, NULL, 0), 0);
    CHECK_INT(owu_cdc_acm_breaks(model(), &last), 1);
    CHECK_INT(last, 250);
    CHECK_INT(k_ioctl(TIOCSBRK, 0, NULL, 0, NULL, 0), 0);
    CHECK_INT(owu_cdc_acm_breaks(model(), &last), 2);
    CHECK_INT(last, 0xFFFF);
    CHECK_INT(k_ioctl(TIOCCBRK, 0, NULL, 0, NULL, 0), 0);
    CHECK_INT(owu_cdc_acm_breaks(model(), &last), 3);
    CHECK_INT(last, 0);

    /* Unknown ioctls, opcodes and malformed requests: errors, nothing else. */
    CHECK_INT(k_ioctl(0x5499, 0, NULL, 0, NULL, 0), -ENOTTY);
    int e = 0;
    uint64_t u = k_send(9999, 0, NULL, 0, NULL, 0);
    CHECK_INT(k_reply(u, 2000, &e, NULL, NULL), 1);
    CHECK_INT(e, -ENOSYS);
    uint8_t half[8] = {0};
    u = k_send(FUSE_READ, 0, half, sizeof half, NULL, 0);
    CHECK_INT(k_reply(u, 2000, &e, NULL, NULL), 1);
    CHECK_INT(e, -EINVAL);
    struct fuse_ioctl_in lie = {.flags = FUSE_IOCTL_UNRESTRICTED, .cmd = TCSETS, .arg = 0x2000, .in_size = 36};
    u = k_send(FUSE_IOCTL, 0, &lie, sizeof lie, half, sizeof half);   /* in_size > what came */
    CHECK_INT(k_reply(u, 2000, &e, NULL, NULL), 1);
    CHECK_INT(e, -EINVAL);
    struct fuse_write_in wl = {.size = 100};
    u = k_send(FUSE_WRITE, 0, &wl, sizeof wl, half, sizeof half);
    CHECK_INT(k_reply(u, 2000, &e, NULL, NULL), 1);
    CHECK_INT(e, -EINVAL);

    /* Last close under HUPCL drops DTR and RTS. */
    CHECK_INT(k_release(), 0);
    CHECK(wait_model_lines(0, 2000));
    teardown();
}

static void test_serial_state_and_waits(void)
{
    if (!start_open(0))
        return;
    /* The model starts with carrier and DSR up: drop them first. */
    int v = 0;
    CHECK_OK(owu_cdc_acm_set_serial_state(model(), 0), NULL);
    uint64_t end = now_ms() + 3000;
    do
        k_ioctl_int_out(TIOCMGET, &v);
    while ((v & TIOCM_CAR) && now_ms() < end && (sleep_ms(5), 1));
    CHECK_INT(v & (TIOCM_CAR | TIOCM_DSR), 0);
    struct fuse_ioctl_in q = {.flags = FUSE_IOCTL_UNRESTRICTED, .cmd = TIOCMIWAIT, .arg = TIOCM_CAR};
    uint64_t wait_u = k_send(FUSE_IOCTL, 0, &q, sizeof q, NULL, 0);
    int e = 1;
    uint8_t buf[256];
    size_t n = 0;
    CHECK_INT(k_reply(wait_u, 300, &e, buf, &n), 0);   /* waits */
    CHECK_OK(owu_cdc_acm_set_serial_state(model(), OWU_ACM_STATE_DCD | OWU_ACM_STATE_DSR), NULL);
    CHECK_INT(k_reply(wait_u, 3000, &e, buf, &n), 1);
    CHECK_INT(e, 0);
    struct fuse_ioctl_out o;
    memcpy(&o, buf, sizeof o);
    CHECK_INT(o.result, 0);
    CHECK_INT(k_ioctl_int_out(TIOCMGET, &v), 0);
    CHECK_INT(v & (TIOCM_CAR | TIOCM_DSR | TIOCM_RNG), TIOCM_CAR | TIOCM_DSR);
    struct serial_icounter_struct ic, ic0;
    CHECK_INT(k_ioctl(TIOCGICOUNT, 0x3000, NULL, 0, &ic0, sizeof ic0), 0);
    CHECK(ic0.dcd >= 2);   /* (the model's first report), down, up */
    CHECK(ic0.dsr >= 2);
    CHECK_OK(owu_cdc_acm_set_serial_state(model(), OWU_ACM_STATE_DCD | OWU_ACM_STATE_DSR | OWU_ACM_STATE_RING |
                                                       OWU_ACM_STATE_BREAK | OWU_ACM_STATE_FRAMING |
                                                       OWU_ACM_STATE_PARITY | OWU_ACM_STATE_OVERRUN),
             NULL);
    end = now_ms() + 3000;
    do {
        memset(&ic, 0, sizeof ic);
        CHECK_INT(k_ioctl(TIOCGICOUNT, 0x3000, NULL, 0, &ic, sizeof ic), 0);
    } while (ic.overrun == ic0.overrun && now_ms() < end && (sleep_ms(5), 1));
    CHECK_INT(ic.dcd - ic0.dcd, 0);   /* levels unchanged */
    CHECK_INT(ic.dsr - ic0.dsr, 0);
    CHECK_INT(ic.rng - ic0.rng, 1);
    CHECK_INT(ic.brk - ic0.brk, 1);
    CHECK_INT(ic.frame - ic0.frame, 1);
    CHECK_INT(ic.parity - ic0.parity, 1);
    CHECK_INT(ic.overrun - ic0.overrun, 1);
    CHECK_INT(k_ioctl_int_out(TIOCMGET, &v), 0);
    CHECK(v & TIOCM_RNG);
    CHECK_OK(owu_cdc_acm_set_serial_state(model(), 0), NULL);   /* carrier and DSR drop */
    end = now_ms() + 3000;
    do
        k_ioctl_int_out(TIOCMGET, &v);
    while ((v & TIOCM_CAR) && now_ms() < end && (sleep_ms(5), 1));
    CHECK_INT(v & (TIOCM_CAR | TIOCM_DSR), 0);

    /* A wait the caller gives up on (a signal): FUSE_INTERRUPT answers it with EINTR. */
    q.arg = TIOCM_RNG;
    wait_u = k_send(FUSE_IOCTL, 0, &q, sizeof q, NULL, 0);
    CHECK_INT(k_reply(wait_u, 100, &e, buf, &n), 0);
    struct fuse_interrupt_in ii = {.unique = wait_u};
    k_send(FUSE_INTERRUPT, 0, &ii, sizeof ii, NULL, 0);
    CHECK_INT(k_reply(wait_u, 3000, &e, buf, &n), 1);
    CHECK_INT(e, -EINTR);
    CHECK_INT(k_ioctl(TIOCMIWAIT, 0, NULL, 0, NULL, 0), -EINVAL);   /* nothing to wait for */
    teardown();
}

static void test_data_poll_and_reads(void)
{
    if (!start_open(0))
        return;
    int e = 1;
    uint8_t buf[70000];
    size_t n = 0;
    /* Nothing there: a non-blocking read says EAGAIN; poll says writable only. */
    uint64_t u = k_read_async(100, O_NONBLOCK);
    CHECK_INT(k_reply(u, 2000, &e, buf, &n), 1);
    CHECK_INT(e, -EAGAIN);
    struct fuse_poll_in pi = {.fh = 1, .kh = 77, .flags = FUSE_POLL_SCHEDULE_NOTIFY, .events = POLLIN};
    u = k_send(FUSE_POLL, 0, &pi, sizeof pi, NULL, 0);
    CHECK_INT(k_reply(u, 2000, &e, buf, &n), 1);
    struct fuse_poll_out po;
    memcpy(&po, buf, sizeof po);
    CHECK_INT(po.revents & (POLLIN | POLLOUT), POLLOUT);

    /* A blocking read waits; bytes looped back through the model answer it, and the poll
     * handle is woken. */
    uint64_t rd = k_read_async(65536, 0);
    CHECK_INT(k_reply(rd, 100, &e, buf, &n), 0);
    uint8_t data[3000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7 + 3);
    uint32_t w = 0;
    CHECK_INT(k_write(data, sizeof data, 0, &w), 0);
    CHECK_INT(w, sizeof data);
    size_t got = 0;
    uint8_t in[sizeof data];
    CHECK_INT(k_reply(rd, 3000, &e, buf, &n), 1);
    CHECK_INT(e, 0);
    CHECK(n > 0 && n <= sizeof data);
    memcpy(in, buf, n);
    got = n;
    uint64_t end = now_ms() + 3000;
    while (got < sizeof data && now_ms() < end) {
        u = k_read_async((uint32_t)(sizeof data - got), 0);
        CHECK_INT(k_reply(u, 3000, &e, buf, &n), 1);
        memcpy(in + got, buf, n);
        got += n;
    }
    CHECK_INT(got, sizeof data);
    CHECK(memcmp(in, data, sizeof data) == 0);
    bool woken = false;
    for (size_t i = 0; i < g_n_notified; i++)
        woken |= g_notified[i] == 77;
    CHECK(woken);

    /* VMIN 0, VTIME 1: a read with nothing to read returns 0 bytes after 0.1 s. */
    struct kterm k;
    CHECK_INT(k_ioctl(TCGETS, 0x2000, NULL, 0, &k, 36), 0);
    k.cc[VMIN] = 0;
    k.cc[VTIME] = 1;
    CHECK_INT(k_ioctl(TCSETS, 0x2000, &k, 36, NULL, 0), 0);
    uint64_t t0 = now_ms();
    u = k_read_async(10, 0);
    CHECK_INT(k_reply(u, 3000, &e, buf, &n), 1);
    CHECK_INT(e, 0);
    CHECK_INT(n, 0);
    CHECK(now_ms() - t0 >= 90);

    /* VMIN 4, VTIME 0: the read waits for 4 bytes. */
    k.cc[VMIN] = 4;
    k.cc[VTIME] = 0;
    CHECK_INT(k_ioctl(TCSETS, 0x2000, &k, 36, NULL, 0), 0);
    u = k_read_async(10, 0);
    CHECK_INT(k_write("ab", 2, 0, &w), 0);
    CHECK_INT(k_reply(u, 300, &e, buf, &n), 0);
    CHECK_INT(k_write("cd", 2, 0, &w), 0);
    CHECK_INT(k_reply(u, 3000, &e, buf, &n), 1);
    CHECK_INT(n, 4);
    CHECK(memcmp(buf, "abcd", 4) == 0);

    /* FIONREAD, then TCFLSH(TCIFLUSH) drops what was not read. */
    CHECK_INT(k_write("xyz", 3, 0, &w), 0);
    int v = 0;
    end = now_ms() + 3000;
    do
        k_ioctl_int_out(FIONREAD, &v);
    while (v < 3 && now_ms() < end && (sleep_ms(5), 1));
    CHECK_INT(v, 3);
    CHECK_INT(k_ioctl(TCFLSH, TCIFLUSH, NULL, 0, NULL, 0), 0);
    CHECK_INT(k_ioctl_int_out(FIONREAD, &v), 0);
    CHECK_INT(v, 0);

    /* tcdrain answers once the output left; TIOCOUTQ is then 0. */
    CHECK_INT(k_write(data, sizeof data, 0, &w), 0);
    CHECK_INT(k_ioctl(TCSBRK, 1, NULL, 0, NULL, 0), 0);
    CHECK_INT(k_ioctl_int_out(TIOCOUTQ, &v), 0);
    CHECK_INT(v, 0);

    /* Surprise removal: a waiting read fails with EIO and the terminal reports it. */
    CHECK_INT(k_ioctl(TCFLSH, TCIFLUSH, NULL, 0, NULL, 0), 0);
    k.cc[VMIN] = 1;
    CHECK_INT(k_ioctl(TCSETS, 0x2000, &k, 36, NULL, 0), 0);
    sleep_ms(50);
    CHECK_INT(k_ioctl(TCFLSH, TCIFLUSH, NULL, 0, NULL, 0), 0);
    u = k_read_async(10, 0);
    CHECK_INT(k_reply(u, 100, &e, buf, &n), 0);
    owu_err err = {0};
    CHECK_OK(owu_stack_unplug(g_stack, 1, 1, &err), &err);
    CHECK_INT(k_reply(u, 3000, &e, buf, &n), 1);
    CHECK_INT(e, -EIO);
    CHECK_INT(owu_serial_tty_wait(g_tty, 3000), OWU_E_NODEV);
    u = k_read_async(10, 0);
    CHECK_INT(k_reply(u, 3000, &e, buf, &n), 1);
    CHECK_INT(e, -EIO);
    CHECK_INT(k_ioctl(TCGETS, 0x2000, NULL, 0, &k, 36), -EIO);
    teardown();
}

/* CRTSCTS: RTS falls when the terminal's receive buffer is nearly full and rises when a
 * reader drained it. */
static void test_crtscts(void)
{
    if (!start_open(4096))
        return;
    CHECK(wait_model_lines(OWU_ACM_DTR | OWU_ACM_RTS, 2000));
    struct kterm k;
    CHECK_INT(k_ioctl(TCGETS, 0x2000, NULL, 0, &k, 36), 0);
    k.cflag |= CRTSCTS;
    CHECK_INT(k_ioctl(TCSETS, 0x2000, &k, 36, NULL, 0), 0);
    uint8_t data[4000];
    memset(data, 0x5A, sizeof data);
    uint32_t w = 0;
    CHECK_INT(k_write(data, sizeof data, 0, &w), 0);
    CHECK(wait_model_lines(OWU_ACM_DTR, 3000));   /* RTS dropped */
    int e = 1;
    uint8_t buf[70000];
    size_t n = 0, got = 0;
    uint64_t end = now_ms() + 3000;
    while (got < sizeof data && now_ms() < end) {
        uint64_t u = k_read_async(65536, 0);
        CHECK_INT(k_reply(u, 3000, &e, buf, &n), 1);
        got += n;
    }
    CHECK_INT(got, sizeof data);
    CHECK(wait_model_lines(OWU_ACM_DTR | OWU_ACM_RTS, 3000));   /* raised again */
    teardown();
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

/* Waiting requests that must not be stranded: a writer blocked on a full queue when the
 * output is flushed, the follow-up request of a large read, reads queued behind others. */
static void test_waiters_not_stranded(void)
{
    if (!start_open(0))
        return;
    int e = 1;
    uint8_t buf[70000];
    size_t n = 0;
    /* Output stopped (TCOOFF), the queue filled, a writer waits; TCFLSH(TCOFLUSH) lets it in. */
    CHECK_INT(k_ioctl(TCXONC, TCOOFF, NULL, 0, NULL, 0), 0);
    static uint8_t big[65536];
    uint32_t w = 0;
    CHECK_INT(k_write(big, sizeof big, 0, &w), 0);
    CHECK_INT(w, sizeof big);
    struct fuse_write_in wi = {.fh = 1, .size = 100};
    uint64_t wu = k_send(FUSE_WRITE, 0, &wi, sizeof wi, big, 100);
    CHECK_INT(k_reply(wu, 200, &e, buf, &n), 0);   /* waits for room */
    CHECK_INT(k_ioctl(TCFLSH, TCOFLUSH, NULL, 0, NULL, 0), 0);
    CHECK_INT(k_reply(wu, 2000, &e, buf, &n), 1);
    CHECK_INT(e, 0);
    struct fuse_write_out wo;
    memcpy(&wo, buf, sizeof wo);
    CHECK_INT(wo.size, 100);
    CHECK_INT(k_ioctl(TCXONC, TCOON, NULL, 0, NULL, 0), 0);
    CHECK_INT(k_ioctl(TCSBRK, 1, NULL, 0, NULL, 0), 0);   /* tcdrain: the 100 bytes went out */
    CHECK_INT(k_ioctl(TCFLSH, TCIFLUSH, NULL, 0, NULL, 0), 0);
    sleep_ms(100);
    CHECK_INT(k_ioctl(TCFLSH, TCIFLUSH, NULL, 0, NULL, 0), 0);   /* the echo is gone too */

    /* A follow-up request of a large read (offset > 0) answers with what is there. */
    struct fuse_read_in ri = {.fh = 1, .offset = 65536, .size = 65536};
    uint64_t u = k_send(FUSE_READ, 0, &ri, sizeof ri, NULL, 0);
    CHECK_INT(k_reply(u, 1000, &e, buf, &n), 1);
    CHECK_INT(e, 0);
    CHECK_INT(n, 0);

    /* A read waits (VMIN 1); a second one with a VTIME timer waits behind it. The loop must
     * not spin on the second one's timer meanwhile. */
    uint64_t first = k_read_async(10, 0);
    struct kterm k;
    CHECK_INT(k_ioctl(TCGETS, 0x2000, NULL, 0, &k, 36), 0);
    k.cc[VMIN] = 0;
    k.cc[VTIME] = 1;
    CHECK_INT(k_ioctl(TCSETS, 0x2000, &k, 36, NULL, 0), 0);
    uint64_t second = k_read_async(10, 0);
    double c0 = cpu_seconds();
    sleep_ms(600);
    double used = cpu_seconds() - c0;
    printf("     CPU while two reads wait: %.3f s in 0.6 s\n", used);
    CHECK(used < 0.3);
    CHECK_INT(k_write("z", 1, 0, &w), 0);   /* answers the first, then the second times out */
    CHECK_INT(k_reply(first, 3000, &e, buf, &n), 1);
    CHECK_INT(n, 1);
    CHECK_INT(k_reply(second, 3000, &e, buf, &n), 1);
    CHECK_INT(n, 0);
    teardown();
}

static void test_bad_options(void)
{
    struct owu_serial_tty_options o;
    owu_serial_tty_options_default(&o);
    owu_err err = {0};
    struct owu_serial_tty *t = NULL;
    CHECK_INT(owu_serial_tty_start(NULL, &o, &t, &err), OWU_E_INVAL);
    struct owu_stack_options so;
    owu_stack_options_default(&so);
    so.buses = "virtual:cdc-acm";
    CHECK_OK(owu_stack_open(&so, &g_stack, &err), &err);
    struct owu_usbser_port *p = NULL;
    CHECK_OK(owu_usbser_open(g_stack, "COM3", NULL, &p, &err), &err);
    o.devname = "../evil";
    CHECK_INT(owu_serial_tty_start(p, &o, &t, &err), OWU_E_INVAL);
    CHECK(strstr(err.msg, "../evil") != NULL);
    o.devname = "ttyOWUnope";
    o.cuse_path = "/nonexistent/cuse";
    CHECK_INT(owu_serial_tty_start(p, &o, &t, &err), OWU_E_NOTSUP);
    CHECK(strstr(err.msg, "/nonexistent/cuse") != NULL);
    CHECK(t == NULL);
    owu_usbser_close(p);
    owu_stack_close(g_stack);
    g_stack = NULL;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    RUN(test_termios_to_line_coding);
    RUN(test_serial_state_and_waits);
    RUN(test_data_poll_and_reads);
    RUN(test_crtscts);
    RUN(test_waiters_not_stranded);
    RUN(test_bad_options);
    return check_report();
}
