/* `openwinusb serial`: list the usbser ports, or bridge one to a Linux pseudo-terminal so
 * that ordinary serial programs (pyserial, minicom, screen) can use it.
 *
 * The bridge: posix_openpt gives a master/slave pair; a symlink with a stable name
 * ($XDG_RUNTIME_DIR/openwinusb/COMn, else /tmp/openwinusb-$UID/COMn) points at the slave
 * (/dev/pts/N) and is printed at start. Bytes flow both ways. The master runs in packet mode
 * (TIOCPKT) so a tcflush(TCIFLUSH) on the slave purges the port's receive buffer; termios
 * changes on the slave are noticed by comparing the slave's termios every few milliseconds
 * (TIOCPKT_IOCTL only reports them under EXTPROC) and become SET_LINE_CODING (rate, CS5..CS8,
 * PARENB/PARODD/CMSPAR, CSTOPB) and, for B0, DTR dropped like Linux cdc-acm.
 * Limits (docs/usbser.md): a pty has no modem lines, so DCD/DSR/RI cannot be shown to the
 * slave side (they are printed with --verbose; a DCD drop without CLOCAL sends SIGHUP through
 * TIOCSIG), and TIOCMSET/TIOCMGET/break on the slave do not reach the device; the pty driver
 * forces CS8 and clears PARENB, so data bits and even parity come from --line.
 */
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
#include <termios.h>
#include <unistd.h>

#include <openwinusb/stack.h>
#include <openwinusb/usbser.h>

#include "cli.h"

int cmd_serial(int argc, char **argv);

#define SERIAL_USAGE                                                                        \
    "usage: openwinusb serial --list\n"                                                     \
    "       openwinusb serial PORT --pty [--line RATE,DPS] [--link PATH] [--detach]\n"      \
    "                                    [--verbose]\n"                                      \
    "PORT is COMn, a device instance ID or a bus location such as virtual:1-1.\n"          \
    "--pty bridges the port to a pseudo-terminal; its path (a symlink to /dev/pts/N) is\n" \
    "printed at start. Stop with Ctrl-C or SIGTERM.\n"                                      \
    "--line sets the line coding at start, e.g. 115200,8E1 (data bits 5-8, parity\n"       \
    "N/O/E/M/S, stop bits 1/1.5/2). A Linux pty forces CS8 and clears PARENB, so the\n"    \
    "data bits, and even parity versus none, come from --line (default 8N); rate, stop\n"  \
    "bits and odd/mark/space parity follow the pty's termios.\n"                           \
    "--detach unbinds a Linux kernel driver (cdc_acm) from a usbfs device's interfaces.\n"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* ---- termios <-> line coding --------------------------------------------------------------- */

static const struct {
    speed_t code;
    uint32_t rate;
} g_speeds[] = {
    {B50, 50}, {B75, 75}, {B110, 110}, {B134, 134}, {B150, 150}, {B200, 200}, {B300, 300},
    {B600, 600}, {B1200, 1200}, {B1800, 1800}, {B2400, 2400}, {B4800, 4800}, {B9600, 9600},
    {B19200, 19200}, {B38400, 38400}, {B57600, 57600}, {B115200, 115200}, {B230400, 230400},
    {B460800, 460800}, {B500000, 500000}, {B576000, 576000}, {B921600, 921600},
    {B1000000, 1000000}, {B1152000, 1152000}, {B1500000, 1500000}, {B2000000, 2000000},
    {B2500000, 2500000}, {B3000000, 3000000}, {B3500000, 3500000}, {B4000000, 4000000},
};

static uint32_t speed_rate(speed_t s)
{
    for (size_t i = 0; i < sizeof g_speeds / sizeof g_speeds[0]; i++)
        if (g_speeds[i].code == s)
            return g_speeds[i].rate;
    return 0;
}

static speed_t rate_speed(uint32_t rate)
{
    for (size_t i = 0; i < sizeof g_speeds / sizeof g_speeds[0]; i++)
        if (g_speeds[i].rate == rate)
            return g_speeds[i].code;
    return B9600;
}

/* What the pty cannot carry (Linux's pty driver forces CS8 and clears PARENB on every
 * termios change): the data bits, and whether "no PARODD/CMSPAR" means even or none. */
static uint8_t g_fixed_data_bits = 8;
static uint8_t g_fixed_plain_parity = 0;   /* 0 none or 2 even */

/* The line coding a termios asks for (linux-usb.md §3.5); false for B0. PARODD and CMSPAR
 * mean nothing without PARENB, so on a pty (where PARENB never shows) they are read as the
 * odd, mark and space parities the application asked for. */
static bool termios_line(const struct termios *t, struct owu_usbser_line_coding *lc)
{
    speed_t s = cfgetospeed(t);
    if (s == B0)
        return false;
    lc->rate = speed_rate(s);
    if (!lc->rate)
        lc->rate = 9600;
    lc->stop_bits = (t->c_cflag & CSTOPB) ? 2 : 0;
    bool parenb = (t->c_cflag & PARENB) != 0;
    if (parenb || (t->c_cflag & (PARODD | CMSPAR)))
        lc->parity = (uint8_t)(((t->c_cflag & PARODD) ? 1 : 2) + ((t->c_cflag & CMSPAR) ? 2 : 0));
    else
        lc->parity = g_fixed_plain_parity;
    switch (t->c_cflag & CSIZE) {
    case CS5: lc->data_bits = 5; break;
    case CS6: lc->data_bits = 6; break;
    case CS7: lc->data_bits = 7; break;
    default: lc->data_bits = 8; break;
    }
    if (!parenb && lc->data_bits == 8)   /* a pty: CS8 is forced, not chosen */
        lc->data_bits = g_fixed_data_bits;
    return true;
}

static void line_to_termios(const struct owu_usbser_line_coding *lc, struct termios *t)
{
    cfsetispeed(t, rate_speed(lc->rate));
    cfsetospeed(t, rate_speed(lc->rate));
    t->c_cflag &= ~(tcflag_t)(CSIZE | CSTOPB | PARENB | PARODD | CMSPAR);
    t->c_cflag |= lc->data_bits == 5 ? CS5 : lc->data_bits == 6 ? CS6 : lc->data_bits == 7 ? CS7 : CS8;
    if (lc->stop_bits == 2)
        t->c_cflag |= CSTOPB;
    switch (lc->parity) {
    case 1: t->c_cflag |= PARENB | PARODD; break;
    case 2: t->c_cflag |= PARENB; break;
    case 3: t->c_cflag |= PARENB | PARODD | CMSPAR; break;
    case 4: t->c_cflag |= PARENB | CMSPAR; break;
    default: break;
    }
}

/* "115200,8E1" / "8E1" / "115200" */
static bool parse_line(const char *spec, struct owu_usbser_line_coding *lc)
{
    const char *p = spec;
    char *end;
    if (*p >= '0' && *p <= '9' && strchr(spec, ',')) {
        unsigned long r = strtoul(p, &end, 10);
        if (*end != ',' || r == 0 || r > 100000000ul)
            return false;
        lc->rate = (uint32_t)r;
        p = end + 1;
    } else if (*p >= '0' && *p <= '9' && strlen(p) > 3) {
        unsigned long r = strtoul(p, &end, 10);
        if (*end || r == 0 || r > 100000000ul)
            return false;
        lc->rate = (uint32_t)r;
        return true;
    }
    if (p[0] < '5' || p[0] > '8' || !p[1])
        return false;
    lc->data_bits = (uint8_t)(p[0] - '0');
    const char *par = strchr("NOEMS", p[1]);
    if (!par || !p[1])
        return false;
    lc->parity = (uint8_t)(par - "NOEMS");
    const char *st = p + 2;
    if (strcmp(st, "1") == 0)
        lc->stop_bits = 0;
    else if (strcmp(st, "1.5") == 0)
        lc->stop_bits = 1;
    else if (strcmp(st, "2") == 0)
        lc->stop_bits = 2;
    else
        return false;
    return true;
}

static const char *line_text(const struct owu_usbser_line_coding *lc, char *buf, size_t n)
{
    static const char par[] = "NOEMS";
    static const char *stop[] = {"1", "1.5", "2"};
    snprintf(buf, n, "%u %u%c%s", lc->rate, lc->data_bits, lc->parity < 5 ? par[lc->parity] : '?',
             lc->stop_bits < 3 ? stop[lc->stop_bits] : "?");
    return buf;
}

static bool same_line(const struct owu_usbser_line_coding *a, const struct owu_usbser_line_coding *b)
{
    return a->rate == b->rate && a->stop_bits == b->stop_bits && a->parity == b->parity &&
           a->data_bits == b->data_bits;
}

/* ---- the link ------------------------------------------------------------------------------ */

/* A directory only this user can write: $XDG_RUNTIME_DIR/openwinusb or /tmp/openwinusb-UID. */
static int link_dir(char *out, size_t n)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if (xdg && xdg[0] == '/')
        snprintf(out, n, "%s/openwinusb", xdg);
    else
        snprintf(out, n, "/tmp/openwinusb-%u", (unsigned)getuid());
    if (mkdir(out, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "openwinusb serial: cannot create %s: %s\n", out, strerror(errno));
        return -1;
    }
    struct stat st;
    if (lstat(out, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 0022)) {
        fprintf(stderr, "openwinusb serial: %s is not a private directory of this user\n", out);
        return -1;
    }
    return 0;
}

/* ---- the bridge ---------------------------------------------------------------------------- */

struct bridge {
    struct owu_usbser_port *port;
    int master;
    bool verbose;
    _Atomic bool stop;        /* set by either thread, read by both */
    int exit_code;
    pthread_mutex_t lock;     /* stderr messages and exit code */
};

static void bridge_fail(struct bridge *b, const char *what, int rc)
{
    pthread_mutex_lock(&b->lock);
    if (!b->stop) {
        fprintf(stderr, "openwinusb serial: %s: %s\n", what, owu_status_name(rc));
        b->exit_code = rc == OWU_E_NODEV ? 3 : 1;
    }
    b->stop = true;
    pthread_mutex_unlock(&b->lock);
}

/* Writes all of buf to the non-blocking master, waiting while the slave's input is full. */
static bool master_write_all(struct bridge *b, const uint8_t *buf, size_t n)
{
    while (n && !b->stop && !g_stop) {
        ssize_t w = write(b->master, buf, n);
        if (w > 0) {
            buf += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return false;
        struct pollfd p = {b->master, POLLOUT, 0};
        poll(&p, 1, 100);
    }
    return n == 0;
}

/* Device → pty. */
static void *port_to_pty(void *arg)
{
    struct bridge *b = arg;
    uint8_t buf[16384];
    while (!b->stop && !g_stop) {
        size_t got = 0;
        int rc = owu_usbser_read(b->port, buf, sizeof buf, 100, &got);
        if (rc == OWU_E_TIMEOUT || rc == OWU_E_CANCELLED)
            continue;
        if (rc != OWU_OK) {
            bridge_fail(b, "read from the device", rc);
            break;
        }
        if (!master_write_all(b, buf, got)) {
            bridge_fail(b, "write to the pty", OWU_E_IO);
            break;
        }
    }
    return NULL;
}

/* Applies the slave's termios to the device when it changed. */
static void sync_termios(struct bridge *b, struct termios *last, bool *b0,
                         struct owu_usbser_line_coding *cur)
{
    struct termios t;
    if (tcgetattr(b->master, &t) != 0)
        return;
    if (memcmp(&t, last, sizeof t) == 0)
        return;
    *last = t;
    struct owu_usbser_line_coding lc;
    bool on = termios_line(&t, &lc);
    char txt[64], dev[64];
    if (!on) {
        if (!*b0) {
            *b0 = true;
            unsigned lines = owu_usbser_control_lines(b->port) & ~(unsigned)OWU_USBSER_DTR;
            int rc = owu_usbser_set_control_lines(b->port, lines);
            printf("B0: DTR dropped%s\n", rc == OWU_OK ? "" : " (request failed)");
            fflush(stdout);
        }
        return;
    }
    if (*b0) {
        *b0 = false;
        int rc = owu_usbser_set_control_lines(b->port, owu_usbser_control_lines(b->port) | OWU_USBSER_DTR);
        printf("leaving B0: DTR raised%s\n", rc == OWU_OK ? "" : " (request failed)");
    }
    if (same_line(&lc, cur)) {
        fflush(stdout);
        return;
    }
    int rc = owu_usbser_set_line_coding(b->port, &lc);
    struct owu_usbser_line_coding back;
    if (rc == OWU_OK && owu_usbser_get_line_coding(b->port, &back) == OWU_OK) {
        *cur = back;
        printf("line coding %s (device reports %s)\n", line_text(&lc, txt, sizeof txt),
               line_text(&back, dev, sizeof dev));
    } else {
        *cur = lc;
        printf("line coding %s refused by the device: %s\n", line_text(&lc, txt, sizeof txt),
               owu_status_name(rc));
    }
    fflush(stdout);
}

static int run_bridge(struct owu_usbser_port *port, const char *link_arg, const char *line_arg,
                      bool verbose)
{
    struct owu_usbser_info info;
    owu_usbser_get_info(port, &info);
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
        fprintf(stderr, "openwinusb serial: cannot create a pseudo-terminal: %s\n", strerror(errno));
        if (master >= 0)
            close(master);
        return 1;
    }
    char slave_path[128];
    if (ptsname_r(master, slave_path, sizeof slave_path) != 0) {
        fprintf(stderr, "openwinusb serial: ptsname: %s\n", strerror(errno));
        close(master);
        return 1;
    }
    /* Our own slave descriptor keeps the pty alive while no client has it open (the master
     * would otherwise see a hangup between clients). */
    int slave = open(slave_path, O_RDWR | O_NOCTTY);
    if (slave < 0) {
        fprintf(stderr, "openwinusb serial: %s: %s\n", slave_path, strerror(errno));
        close(master);
        return 1;
    }
    /* Raw like a serial port, and the device's current line coding. */
    struct owu_usbser_line_coding cur = {9600, 0, 0, 8};
    owu_usbser_get_line_coding(port, &cur);
    if (line_arg) {
        struct owu_usbser_line_coding want = cur;
        if (!parse_line(line_arg, &want)) {
            fprintf(stderr, "openwinusb serial: --line takes RATE,DPS such as 115200,8E1, not \"%s\"\n",
                    line_arg);
            close(slave);
            close(master);
            return 2;
        }
        int rc = owu_usbser_set_line_coding(port, &want);
        if (rc != OWU_OK) {
            fprintf(stderr, "openwinusb serial: the device refused line coding %s: %s\n", line_arg,
                    owu_status_name(rc));
            close(slave);
            close(master);
            return 1;
        }
        owu_usbser_get_line_coding(port, &cur);
        g_fixed_data_bits = want.data_bits;
        g_fixed_plain_parity = want.parity == 2 ? 2 : 0;
    }
    struct termios t;
    tcgetattr(slave, &t);
    cfmakeraw(&t);
    t.c_cflag |= CLOCAL | CREAD;
    line_to_termios(&cur, &t);
    tcsetattr(slave, TCSANOW, &t);
    int one = 1;
    ioctl(master, TIOCPKT, &one);
    fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);

    char link_path[512];
    if (link_arg) {
        snprintf(link_path, sizeof link_path, "%s", link_arg);
    } else {
        char dir[400];
        if (link_dir(dir, sizeof dir) != 0) {
            close(slave);
            close(master);
            return 1;
        }
        snprintf(link_path, sizeof link_path, "%s/%s", dir, info.port_name);
    }
    struct stat st;
    if (lstat(link_path, &st) == 0 && S_ISLNK(st.st_mode))
        unlink(link_path);   /* a stale link of an earlier run */
    if (symlink(slave_path, link_path) != 0) {
        fprintf(stderr, "openwinusb serial: cannot create the link %s: %s\n", link_path, strerror(errno));
        close(slave);
        close(master);
        return 1;
    }
    char txt[64];
    printf("%s: %s -> %s (%s, %s)\n", info.port_name, link_path, slave_path, info.location,
           line_text(&cur, txt, sizeof txt));
    fflush(stdout);

    struct bridge b = {.port = port, .master = master, .verbose = verbose};
    pthread_mutex_init(&b.lock, NULL);
    pthread_t reader;
    bool reader_ok = pthread_create(&reader, NULL, port_to_pty, &b) == 0;
    if (!reader_ok)
        bridge_fail(&b, "start", OWU_E_NOMEM);

    struct termios last;
    tcgetattr(master, &last);
    bool b0 = false;
    unsigned modem = owu_usbser_modem_status(port);
    uint8_t buf[16384 + 1];
    while (!b.stop && !g_stop) {
        struct pollfd p = {master, POLLIN, 0};
        int pr = poll(&p, 1, 20);
        if (pr > 0 && (p.revents & POLLIN)) {
            ssize_t n = read(master, buf, sizeof buf);
            if (n > 1 && buf[0] == TIOCPKT_DATA) {
                /* In slices, so a device that stops taking data does not block a stop. */
                size_t off = 1;
                while (off < (size_t)n && !b.stop && !g_stop) {
                    size_t done = 0;
                    int rc = owu_usbser_write(port, buf + off, (size_t)n - off, 200, &done);
                    off += done;
                    if (rc != OWU_OK && rc != OWU_E_TIMEOUT)
                        bridge_fail(&b, "write to the device", rc);
                }
            } else if (n == 1 && buf[0] != TIOCPKT_DATA) {
                if (buf[0] & TIOCPKT_FLUSHREAD) {   /* the slave discarded its input */
                    owu_usbser_purge(port, OWU_USBSER_PURGE_RX);
                    if (verbose) {
                        printf("input flushed: receive buffer purged\n");
                        fflush(stdout);
                    }
                }
            } else if (n < 0 && errno != EAGAIN && errno != EINTR && errno != EIO) {
                bridge_fail(&b, "read from the pty", OWU_E_IO);
            }
        }
        sync_termios(&b, &last, &b0, &cur);
        unsigned m = owu_usbser_modem_status(port);
        if ((modem & OWU_USBSER_DCD) && !(m & OWU_USBSER_DCD) && !(last.c_cflag & CLOCAL)) {
            /* Carrier lost without CLOCAL: hang up like a tty driver would — the closest a
             * pty comes (the slave's foreground process group, if it has one, gets SIGHUP). */
            int sig = SIGHUP;
            bool sent = ioctl(master, TIOCSIG, sig) == 0;
            printf("DCD dropped: %s\n", sent ? "SIGHUP sent to the pty's foreground process group"
                                               : "no process has the pty as its controlling terminal");
            fflush(stdout);
        }
        if (m != modem && verbose) {
            printf("modem status: DCD %d DSR %d RI %d\n", !!(m & OWU_USBSER_DCD), !!(m & OWU_USBSER_DSR),
                   !!(m & OWU_USBSER_RI));
            fflush(stdout);
        }
        modem = m;
        if (owu_usbser_gone(port))
            bridge_fail(&b, info.port_name, OWU_E_NODEV);
    }
    b.stop = true;
    owu_usbser_purge(port, OWU_USBSER_PURGE_ABORT_ALL);
    if (reader_ok)
        pthread_join(reader, NULL);
    unlink(link_path);
    close(slave);
    close(master);
    pthread_mutex_destroy(&b.lock);
    return b.exit_code;
}

static int list_ports(struct owu_stack *stack)
{
    owu_strlist l = {0};
    owu_err err = {0};
    if (owu_usbser_list(stack, &l, &err) != OWU_OK) {
        fprintf(stderr, "openwinusb serial: %s\n", err.msg);
        return 1;
    }
    for (size_t i = 0; i < l.n; i++)
        puts(l.v[i]);
    if (l.n == 0)
        fputs("no serial ports\n", stderr);
    owu_strlist_clear(&l);
    return 0;
}

int cmd_serial(int argc, char **argv)
{
    const char *name = NULL, *link = NULL, *line = NULL;
    bool pty = false, list = false, verbose = false, detach = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(SERIAL_USAGE, stdout);
            return 0;
        } else if (strcmp(a, "--pty") == 0) {
            pty = true;
        } else if (strcmp(a, "--list") == 0) {
            list = true;
        } else if (strcmp(a, "--detach") == 0) {
            detach = true;
        } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
            verbose = true;
        } else if (strcmp(a, "--line") == 0) {
            if (i + 1 >= argc || !argv[i + 1][0]) {
                fputs("openwinusb serial: --line needs RATE,DPS\n" SERIAL_USAGE, stderr);
                return 2;
            }
            line = argv[++i];
        } else if (strcmp(a, "--link") == 0) {
            if (i + 1 >= argc || !argv[i + 1][0]) {
                fputs("openwinusb serial: --link needs a path\n" SERIAL_USAGE, stderr);
                return 2;
            }
            link = argv[++i];
        } else if (a[0] == '-') {
            fprintf(stderr, "openwinusb serial: unknown option \"%s\"\n" SERIAL_USAGE, a);
            return 2;
        } else if (!name) {
            name = a;
        } else {
            fprintf(stderr, "openwinusb serial: more than one port given (\"%s\")\n" SERIAL_USAGE, a);
            return 2;
        }
    }
    if (!list && (!name || !pty)) {
        fputs(SERIAL_USAGE, stderr);
        return 2;
    }
    struct owu_stack *stack = NULL;
    owu_err err = {0};
    if (owu_stack_open(NULL, &stack, &err) != OWU_OK) {
        fprintf(stderr, "openwinusb serial: %s\n", err.msg);
        return 1;
    }
    int code;
    if (list) {
        code = list_ports(stack);
    } else {
        struct owu_usbser_port *port = NULL;
        struct owu_usbser_options o;
        owu_usbser_options_default(&o);
        o.detach_kernel_driver = detach;
        if (owu_usbser_open(stack, name, &o, &port, &err) != OWU_OK) {
            fprintf(stderr, "openwinusb serial: %s\n", err.msg);
            owu_stack_close(stack);
            return 1;
        }
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        code = run_bridge(port, link, line, verbose);
        owu_usbser_close(port);
    }
    owu_stack_close(stack);
    return code;
}
