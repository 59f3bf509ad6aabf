/* Runs inside the test VM (tests/kernel/run.sh): the CUSE serial terminal
 * (include/openwinusb/serialtty.h) with Linux's real /dev/cuse, used through ordinary
 * system calls — tcsetattr, ioctl, poll, read, write — the way serial programs use a tty.
 *
 * 1. In this process, on the virtual cdc-acm model: every termios setting a pty cannot carry
 *    (7 data bits, even parity, arbitrary rates through termios2) reaches the device's line
 *    coding; DTR/RTS; SERIAL_STATE through TIOCMGET, TIOCMIWAIT and TIOCGICOUNT; breaks;
 *    1 MiB looped back through poll/read/write; VTIME; surprise removal (EIO, the node goes).
 * 2. `openwinusb serial usbfs:1-1 --pty --detach` (the command, CUSE chosen because
 *    /dev/cuse is there) on the gadget's real f_acm function, driven by pyserial (Debian's
 *    python3-serial, copied into the VM by run.sh): 115200 7E1 reaches f_acm (the bridge
 *    prints what GET_LINE_CODING returns), DCD/DSR follow the gadget side opening and
 *    closing /dev/ttyGS0, data both ways, a break from the gadget counted in TIOCGICOUNT. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <linux/serial.h>

#include <openwinusb/serialtty.h>
#include <openwinusb/stack.h>
#include <openwinusb/usbser.h>

#include "check.h"
#include "devices/models.h"
#include "model_fixture.h"

#define DEV "/dev/ttyOWUvt"

struct kterm2 {   /* the kernel's struct termios2, for TCGETS2/TCSETS2 */
    uint32_t iflag, oflag, cflag, lflag;
    uint8_t line, cc[19];
    uint32_t ispeed, ospeed;
};
#define TCGETS2_ _IOR('T', 0x2A, struct kterm2)
#define TCSETS2_ _IOW('T', 0x2B, struct kterm2)

static struct owu_stack *vstack;
static struct owu_usbser_port *vport;
static struct owu_serial_tty *vtty;

#define now_ms fx_now_ms
#define sleep_ms fx_sleep_ms

static struct owu_vdev *model(void)
{
    return fx_model_at(vstack, "virtual:1-1");
}

static bool wait_model_lines(int want, unsigned ms)
{
    uint64_t end = now_ms() + ms;
    while (owu_cdc_acm_control_lines(model()) != want && now_ms() < end)
        sleep_ms(5);
    return owu_cdc_acm_control_lines(model()) == want;
}

static void print_log(void *ctx, const char *line)
{
    (void)ctx;
    printf("     [tty] %s\n", line);
}

/* Opens the terminal (raw: cfmakeraw first); -1 (and a failed check) when it cannot. */
static int open_dev(int flags, bool raw)
{
    int fd = open(DEV, O_RDWR | O_NOCTTY | flags);
    CHECK(fd >= 0);
    if (fd >= 0 && raw) {
        struct termios t;
        tcgetattr(fd, &t);
        cfmakeraw(&t);
        tcsetattr(fd, TCSANOW, &t);
    }
    return fd;
}

static void test_cuse_available(void)
{
    struct stat st;
    CHECK(stat("/dev/cuse", &st) == 0 && S_ISCHR(st.st_mode));
}

static void test_start_virtual(void)
{
    struct owu_stack_options so;
    owu_stack_options_default(&so);
    so.buses = "virtual:cdc-acm";
    owu_err err = {0};
    CHECK_OK(owu_stack_open(&so, &vstack, &err), &err);
    struct owu_usbser_options po;
    owu_usbser_options_default(&po);
    po.keep_lines = true;
    CHECK_OK(owu_usbser_open(vstack, "COM3", &po, &vport, &err), &err);
    struct owu_serial_tty_options o;
    owu_serial_tty_options_default(&o);
    o.devname = "ttyOWUvt";
    o.log = print_log;
    CHECK_OK(owu_serial_tty_start(vport, &o, &vtty, &err), &err);
    CHECK_STR(owu_serial_tty_path(vtty), DEV);
    struct stat st;
    CHECK(stat(DEV, &st) == 0 && S_ISCHR(st.st_mode));
    /* A second terminal of the same name is refused with a message naming it. */
    struct owu_serial_tty *again = NULL;
    CHECK_INT(owu_serial_tty_start(vport, &o, &again, &err), OWU_E_BUSY);
    CHECK(strstr(err.msg, DEV) != NULL);
}

static void test_termios_reaches_device(void)
{
    CHECK_INT(owu_cdc_acm_control_lines(model()), 0);
    int fd = open_dev(0, false);
    if (fd < 0)
        return;
    CHECK(isatty(fd));
    CHECK(wait_model_lines(OWU_ACM_DTR | OWU_ACM_RTS, 2000));   /* raised at open */
    struct termios t;
    CHECK_INT(tcgetattr(fd, &t), 0);
    CHECK_INT(cfgetospeed(&t), B9600);
    /* 7 data bits, even parity: what a pty drops. */
    cfmakeraw(&t);
    cfsetspeed(&t, B19200);
    t.c_cflag = (t.c_cflag & ~(tcflag_t)CSIZE) | CS7 | PARENB;
    CHECK_INT(tcsetattr(fd, TCSANOW, &t), 0);
    struct owu_cdc_line_coding m;
    CHECK_OK(owu_cdc_acm_line_coding(model(), &m), NULL);
    CHECK_INT(m.rate, 19200);
    CHECK_INT(m.data_bits, 7);
    CHECK_INT(m.parity, 2);
    struct termios back;
    CHECK_INT(tcgetattr(fd, &back), 0);
    CHECK_INT(back.c_cflag & (CSIZE | PARENB | PARODD), CS7 | PARENB);
    /* Space parity, 6 data bits, 2 stop bits, at an arbitrary rate through termios2. */
    struct kterm2 k2;
    CHECK_INT(ioctl(fd, TCGETS2_, &k2), 0);
    k2.cflag = (k2.cflag & ~(uint32_t)(CBAUD | CSIZE | PARODD)) | 0010000u | CS6 | PARENB | CMSPAR | CSTOPB;
    k2.ispeed = k2.ospeed = 31250;   /* MIDI */
    CHECK_INT(ioctl(fd, TCSETS2_, &k2), 0);
    CHECK_OK(owu_cdc_acm_line_coding(model(), &m), NULL);
    CHECK_INT(m.rate, 31250);
    CHECK_INT(m.data_bits, 6);
    CHECK_INT(m.parity, 4);
    CHECK_INT(m.stop_bits, 2);
    /* B0 drops DTR; TIOCMSET sets the lines; TIOCMGET reads them back. */
    cfsetspeed(&t, B0);
    CHECK_INT(tcsetattr(fd, TCSADRAIN, &t), 0);
    CHECK_INT(owu_cdc_acm_control_lines(model()), OWU_ACM_RTS);
    cfsetspeed(&t, B115200);
    t.c_cflag = (t.c_cflag & ~(tcflag_t)(CSIZE | PARENB)) | CS8;
    CHECK_INT(tcsetattr(fd, TCSAFLUSH, &t), 0);
    CHECK_INT(owu_cdc_acm_control_lines(model()), OWU_ACM_DTR | OWU_ACM_RTS);
    int v = TIOCM_DTR;
    CHECK_INT(ioctl(fd, TIOCMSET, &v), 0);
    CHECK_INT(owu_cdc_acm_control_lines(model()), OWU_ACM_DTR);
    CHECK_INT(ioctl(fd, TIOCMGET, &v), 0);
    CHECK_INT(v & (TIOCM_DTR | TIOCM_RTS | TIOCM_CTS), TIOCM_DTR | TIOCM_CTS);
    v = TIOCM_RTS;
    CHECK_INT(ioctl(fd, TIOCMBIS, &v), 0);
    CHECK_INT(owu_cdc_acm_control_lines(model()), OWU_ACM_DTR | OWU_ACM_RTS);
    /* Breaks. */
    uint16_t last = 0;
    CHECK_INT(tcsendbreak(fd, 0), 0);
    CHECK_INT(owu_cdc_acm_breaks(model(), &last), 1);
    CHECK_INT(last, 250);
    CHECK_INT(ioctl(fd, TIOCSBRK), 0);
    CHECK_INT(owu_cdc_acm_breaks(model(), &last), 2);
    CHECK_INT(last, 0xFFFF);
    CHECK_INT(ioctl(fd, TIOCCBRK), 0);
    CHECK_INT(owu_cdc_acm_breaks(model(), &last), 3);
    CHECK_INT(last, 0);
    /* An ioctl a serial port does not have. */
    int dummy = 0;
    errno = 0;
    CHECK(ioctl(fd, TIOCGPTN, &dummy) < 0 && errno == ENOTTY);
    close(fd);
    CHECK(wait_model_lines(0, 2000));   /* HUPCL: dropped at the last close */
}

struct set_later {
    unsigned delay_ms;
    uint16_t bits;
};

static void *set_state_later(void *arg)
{
    struct set_later *s = arg;
    sleep_ms(s->delay_ms);
    owu_cdc_acm_set_serial_state(model(), s->bits);
    return NULL;
}

static void test_modem_lines(void)
{
    int fd = open_dev(0, false);
    if (fd < 0)
        return;
    CHECK_OK(owu_cdc_acm_set_serial_state(model(), 0), NULL);
    int v = 0;
    uint64_t end = now_ms() + 3000;
    do
        ioctl(fd, TIOCMGET, &v);
    while ((v & (TIOCM_CAR | TIOCM_DSR)) && now_ms() < end && (sleep_ms(5), 1));
    CHECK_INT(v & (TIOCM_CAR | TIOCM_DSR | TIOCM_RNG), 0);
    /* TIOCMIWAIT sleeps in the kernel until the carrier changes. */
    struct set_later sl = {200, OWU_ACM_STATE_DCD | OWU_ACM_STATE_DSR};
    pthread_t th;
    pthread_create(&th, NULL, set_state_later, &sl);
    uint64_t t0 = now_ms();
    CHECK_INT(ioctl(fd, TIOCMIWAIT, TIOCM_CAR), 0);
    CHECK(now_ms() - t0 >= 150);
    pthread_join(th, NULL);
    CHECK_INT(ioctl(fd, TIOCMGET, &v), 0);
    CHECK_INT(v & (TIOCM_CAR | TIOCM_DSR), TIOCM_CAR | TIOCM_DSR);
    struct serial_icounter_struct c0, c1;
    CHECK_INT(ioctl(fd, TIOCGICOUNT, &c0), 0);
    CHECK_OK(owu_cdc_acm_set_serial_state(model(), OWU_ACM_STATE_DCD | OWU_ACM_STATE_DSR | OWU_ACM_STATE_RING |
                                                       OWU_ACM_STATE_BREAK | OWU_ACM_STATE_FRAMING |
                                                       OWU_ACM_STATE_PARITY | OWU_ACM_STATE_OVERRUN),
             NULL);
    end = now_ms() + 3000;
    do
        ioctl(fd, TIOCGICOUNT, &c1);
    while (c1.overrun == c0.overrun && now_ms() < end && (sleep_ms(5), 1));
    CHECK_INT(c1.rng - c0.rng, 1);
    CHECK_INT(c1.brk - c0.brk, 1);
    CHECK_INT(c1.frame - c0.frame, 1);
    CHECK_INT(c1.parity - c0.parity, 1);
    CHECK_INT(c1.overrun - c0.overrun, 1);
    CHECK_INT(c1.dcd - c0.dcd, 0);
    CHECK_INT(ioctl(fd, TIOCMGET, &v), 0);
    CHECK(v & TIOCM_RNG);
    close(fd);
}

static void on_alarm(int sig)
{
    (void)sig;
}

static void test_interrupted_wait(void)
{
    int fd = open_dev(0, false);
    if (fd < 0)
        return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;   /* no SA_RESTART: the call returns EINTR */
    sigaction(SIGALRM, &sa, NULL);
    alarm(1);
    errno = 0;
    uint64_t t0 = now_ms();
    int rc = ioctl(fd, TIOCMIWAIT, TIOCM_RNG | TIOCM_DSR);
    CHECK(rc < 0 && errno == EINTR);
    CHECK(now_ms() - t0 >= 900);
    /* A blocking read too. */
    tcflush(fd, TCIFLUSH);
    alarm(1);
    uint8_t b;
    errno = 0;
    CHECK(read(fd, &b, 1) < 0 && errno == EINTR);
    close(fd);
}

static uint8_t pattern(size_t i)
{
    uint32_t x = (uint32_t)i * 2654435761u;
    x ^= x >> 15;
    x *= 2246822519u;
    return (uint8_t)(x >> 24);
}

static void test_loopback_poll(void)
{
    int fd = open_dev(O_NONBLOCK, true);
    if (fd < 0)
        return;
    struct termios t;
    tcgetattr(fd, &t);
    tcflush(fd, TCIOFLUSH);
    uint8_t b;
    errno = 0;
    CHECK(read(fd, &b, 1) < 0 && errno == EAGAIN);
    const size_t total = 1u << 20;
    uint8_t *in = malloc(total);
    size_t sent = 0, got = 0;
    uint64_t end = now_ms() + 60000;
    while (got < total && now_ms() < end) {
        struct pollfd p = {fd, POLLIN | (sent < total ? POLLOUT : 0), 0};
        if (poll(&p, 1, 1000) <= 0)
            continue;
        if (p.revents & POLLOUT) {
            uint8_t out[4096];
            size_t n = total - sent < sizeof out ? total - sent : sizeof out;
            for (size_t i = 0; i < n; i++)
                out[i] = pattern(sent + i);
            ssize_t w = write(fd, out, n);
            if (w > 0)
                sent += (size_t)w;
        }
        if (p.revents & POLLIN) {
            ssize_t r = read(fd, in + got, total - got);
            if (r > 0)
                got += (size_t)r;
        }
    }
    CHECK_INT(got, total);
    size_t bad = total;
    for (size_t i = 0; i < got && bad == total; i++)
        if (in[i] != pattern(i))
            bad = i;
    CHECK_INT(bad, total);
    free(in);
    /* VMIN 0, VTIME 2 on a blocking descriptor: 0 bytes after 0.2 s. */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 2;
    tcsetattr(fd, TCSANOW, &t);
    uint64_t t0 = now_ms();
    CHECK_INT(read(fd, &b, 1), 0);
    CHECK(now_ms() - t0 >= 180);
    close(fd);
}

static void *unplug_later(void *arg)
{
    (void)arg;
    sleep_ms(300);
    owu_err err = {0};
    int rc = owu_stack_unplug(vstack, 1, 1, &err);
    if (rc != OWU_OK)
        printf("     unplug: %s\n", err.msg);
    return NULL;
}

static void test_surprise_removal(void)
{
    int fd = open_dev(0, true);
    if (fd < 0)
        return;
    tcflush(fd, TCIFLUSH);
    /* Unplugged from another thread while this one sleeps in read(2). */
    pthread_t th;
    uint64_t t0 = now_ms();
    pthread_create(&th, NULL, unplug_later, NULL);
    uint8_t b;
    errno = 0;
    ssize_t r = read(fd, &b, 1);
    int e = errno;
    CHECK(r < 0 && e == EIO);
    pthread_join(th, NULL);
    printf("     the blocked read failed (%s) %.0f ms after it began (unplug at 300 ms)\n", strerror(e),
           (double)(now_ms() - t0));
    CHECK_INT(owu_serial_tty_wait(vtty, 3000), OWU_E_NODEV);
    owu_serial_tty_stop(vtty);
    vtty = NULL;
    errno = 0;
    CHECK(read(fd, &b, 1) < 0);
    close(fd);
    uint64_t end = now_ms() + 3000;
    struct stat st;
    while (stat(DEV, &st) == 0 && now_ms() < end)
        sleep_ms(10);
    CHECK(stat(DEV, &st) != 0);   /* the node is gone with the terminal */
    owu_usbser_close(vport);
    vport = NULL;
    owu_stack_close(vstack);
    vstack = NULL;
}

/* ---- 2. the command on the gadget, driven by pyserial ------------------------------------ */

#define LINK "/tmp/owu-serial/COM"

/* Close-on-exec: pyserial's process must not keep the gadget's side open. */
static int open_gadget_tty(void)
{
    int fd = open("/dev/ttyGS0", O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
        struct termios t;
        tcgetattr(fd, &t);
        cfmakeraw(&t);
        tcsetattr(fd, TCSANOW, &t);
    }
    return fd;
}

static size_t read_until(int fd, char *buf, size_t cap, const char *end_mark, unsigned ms)
{
    size_t have = 0;
    uint64_t end = now_ms() + ms;
    while (have + 1 < cap && now_ms() < end) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 50) > 0) {
            ssize_t r = read(fd, buf + have, cap - 1 - have);
            if (r > 0)
                have += (size_t)r;
        }
        buf[have] = 0;
        if (strstr(buf, end_mark))
            break;
    }
    buf[have] = 0;
    return have;
}

static void test_pyserial_on_gadget(void)
{
    if (access("/usr/bin/python3", X_OK) != 0 || access("/tests/guest_serialtty.py", R_OK) != 0) {
        CHECK(!"python3 or guest_serialtty.py missing in the VM (run.sh copies them)");
        return;
    }
    mkdir("/tmp/owu-serial", 0700);
    int out = open("/tmp/owu-serial/bridge.log", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    pid_t bridge = fork();
    if (bridge == 0) {
        dup2(out, 1);
        dup2(out, 2);
        execl("/bin/openwinusb", "openwinusb", "serial", "usbfs:1-1", "--pty", "--detach", "--link", LINK,
              (char *)NULL);
        _exit(127);
    }
    close(out);
    uint64_t end = now_ms() + 10000;
    struct stat st;
    while (lstat(LINK, &st) != 0 && now_ms() < end)
        sleep_ms(20);
    CHECK(lstat(LINK, &st) == 0 && S_ISLNK(st.st_mode));
    char target[128] = "";
    ssize_t tn = readlink(LINK, target, sizeof target - 1);
    if (tn > 0)
        target[tn] = 0;
    CHECK(strncmp(target, "/dev/ttyOWU", 11) == 0);   /* auto chose CUSE */
    printf("     %s -> %s\n", LINK, target);

    /* pyserial runs as a child; this process plays the gadget's side (/dev/ttyGS0). */
    int gs = open_gadget_tty();
    CHECK(gs >= 0);
    int to_py[2], from_py[2];
    CHECK(pipe2(to_py, O_CLOEXEC) == 0 && pipe2(from_py, O_CLOEXEC) == 0);
    pid_t py = fork();
    if (py == 0) {
        dup2(to_py[0], 0);
        dup2(from_py[1], 1);
        close(to_py[1]);
        close(from_py[0]);
        setenv("PYTHONDONTWRITEBYTECODE", "1", 1);
        execl("/usr/bin/python3", "python3", "/tests/guest_serialtty.py", LINK, (char *)NULL);
        _exit(127);
    }
    close(to_py[0]);
    close(from_py[1]);
    FILE *pin = fdopen(from_py[0], "r");
    FILE *pout = fdopen(to_py[1], "w");
    char line[512], buf[512];
    /* The script's steps: it prints a step, this side acts, answers "go". */
    while (pin && pout && fgets(line, sizeof line, pin)) {
        line[strcspn(line, "\n")] = 0;
        printf("     [pyserial] %s\n", line);
        if (strcmp(line, "expect hello") == 0) {
            read_until(gs, buf, sizeof buf, "\n", 5000);
            CHECK_STR(buf, "hello from pyserial 7E1\n");
            const char reply[] = "hello from the gadget\n";
            CHECK_INT(write(gs, reply, sizeof reply - 1), (ssize_t)(sizeof reply - 1));
        } else if (strcmp(line, "close gadget") == 0) {
            close(gs);
            gs = -1;
        } else if (strcmp(line, "open gadget") == 0) {
            gs = open_gadget_tty();
            CHECK(gs >= 0);
        } else if (strcmp(line, "break from gadget") == 0) {
            CHECK_INT(tcsendbreak(gs, 0), 0);
        } else if (strncmp(line, "ok", 2) == 0 || strncmp(line, "FAIL", 4) == 0) {
            CHECK(strncmp(line, "ok", 2) == 0);
            continue;
        } else {
            continue;
        }
        fputs("go\n", pout);
        fflush(pout);
    }
    if (pout)
        fclose(pout);
    if (pin)
        fclose(pin);
    int status = 0;
    waitpid(py, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    /* picocom (Debian's): 57600 6O1 with hardware flow control, an init string, exit. */
    if (gs < 0)
        gs = open_gadget_tty();
    char drain[256];
    read_until(gs, drain, sizeof drain, "\x01", 200);   /* whatever is left */
    CHECK(access("/usr/bin/picocom", X_OK) == 0);
    pid_t pc = fork();
    if (pc == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        execl("/usr/bin/picocom", "picocom", "-q", "-b", "57600", "-d", "6", "-y", "o", "-f", "h", "-X", "-t",
              "hello from picocom\n", LINK, (char *)NULL);
        _exit(127);
    }
    read_until(gs, buf, sizeof buf, "\n", 5000);
    CHECK_STR(buf, "hello from picocom\n");
    waitpid(pc, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* stty (busybox) on the stable path: 38400, 7 data bits, even parity, 2 stop bits. */
    pid_t st_pid = fork();
    if (st_pid == 0) {
        execl("/bin/stty", "stty", "-F", LINK, "38400", "cs7", "parenb", "-parodd", "cstopb", (char *)NULL);
        _exit(127);
    }
    waitpid(st_pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    sleep_ms(200);
    if (gs >= 0)
        close(gs);

    kill(bridge, SIGTERM);
    waitpid(bridge, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(lstat(LINK, &st) != 0);   /* removed at exit */
    CHECK(stat(target, &st) != 0);  /* and the device with it */
    FILE *log = fopen("/tmp/owu-serial/bridge.log", "r");
    bool by_pyserial = false, by_picocom = false, by_stty = false;
    while (log && fgets(line, sizeof line, log)) {
        printf("     [bridge] %s", line);
        /* What f_acm answers to GET_LINE_CODING after each program's tcsetattr. */
        by_pyserial |= strstr(line, "line coding 115200 7E1 (device reports 115200 7E1)") != NULL;
        by_picocom |= strstr(line, "line coding 57600 6O1 (device reports 57600 6O1)") != NULL;
        by_stty |= strstr(line, "line coding 38400 7E2 (device reports 38400 7E2)") != NULL;
    }
    if (log)
        fclose(log);
    CHECK(by_pyserial);
    CHECK(by_picocom);
    CHECK(by_stty);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    RUN(test_cuse_available);
    RUN(test_start_virtual);
    if (vtty) {
        RUN(test_termios_reaches_device);
        RUN(test_modem_lines);
        RUN(test_interrupted_wait);
        RUN(test_loopback_poll);
        RUN(test_surprise_removal);
    }
    owu_serial_tty_stop(vtty);
    owu_usbser_close(vport);
    owu_stack_close(vstack);
    RUN(test_pyserial_on_gadget);
    return check_report();
}
