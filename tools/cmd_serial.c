/* `openwinusb serial`: list the usbser ports, or make one a Linux terminal so that ordinary
 * serial programs (pyserial, picocom, minicom, screen) can use it (docs/usbser.md):
 *
 *  - a CUSE terminal device of our own (src/api/serial_tty*.c): all of termios, the modem
 *    lines and breaks reach the device; needs /dev/cuse;
 *  - else the pty bridge here: posix_openpt gives a master/slave pair, bytes flow both ways,
 *    the master runs in packet mode (TIOCPKT) so a tcflush(TCIFLUSH) on the slave purges the
 *    port's receive buffer, and termios changes on the slave are noticed by comparing its
 *    termios every 20 ms (TIOCPKT_IOCTL only reports them under EXTPROC). A pty has no modem
 *    lines and its driver forces CS8 and clears PARENB, so data bits and even parity come
 *    from --line there.
 *
 * Either way a symlink with a stable name ($XDG_RUNTIME_DIR/openwinusb/COMn, else
 * /tmp/openwinusb-$UID/COMn, or --link) points at the terminal and is printed at start.
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

#include <openwinusb/serialtty.h>
#include <openwinusb/stack.h>
#include <openwinusb/usbser.h>

#include "cli.h"

int cmd_serial(int argc, char **argv);

#define SERIAL_USAGE                                                                          \
    "usage: openwinusb serial --list\n"                                                       \
    "       openwinusb serial PORT --pty[=auto|cuse|pts] [--line RATE,DPS] [--link PATH]\n"   \
    "                                  [--tty-name NAME] [--detach] [--verbose]\n"            \
    "PORT is COMn, a device instance ID or a bus location such as virtual:1-1.\n"            \
    "--pty makes the port a terminal for ordinary serial programs; its stable path (a\n"     \
    "symlink) is printed at start. Stop with Ctrl-C or SIGTERM.\n"                            \
    "  cuse: a terminal device of our own, /dev/ttyOWU<n> (--tty-name sets it), through\n"   \
    "        /dev/cuse: all of termios (rate, data bits, parity, stop bits, B0, CRTSCTS)\n"  \
    "        reaches the device, TIOCMGET/TIOCMIWAIT show DCD, DSR and RI. Needs the cuse\n"  \
    "        module and root (or access to /dev/cuse).\n"                                    \
    "  pts:  a pseudo-terminal (/dev/pts/N), no privileges needed. Linux's pty driver\n"     \
    "        forces CS8 and clears PARENB, so the data bits and even-vs-no parity come\n"    \
    "        from --line; a pty has no modem lines.\n"                                        \
    "  auto (the default): cuse when /dev/cuse can be used, else pts.\n"                    \
    "--line sets the line coding at start, e.g. 115200,8E1 (data bits 5-8, parity\n"         \
    "N/O/E/M/S, stop bits 1/1.5/2).\n"                                                        \
    "--detach unbinds a Linux kernel driver (cdc_acm) from a usbfs device's interfaces.\n"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* ---- termios <-> line coding on a pty ------------------------------------------------------ */

/* What the pty cannot carry (Linux's pty driver forces CS8 and clears PARENB on every
 * termios change): the data bits, and whether "no PARODD/CMSPAR" means even or none. */
static uint8_t g_fixed_data_bits = 8;
static uint8_t g_fixed_plain_parity = 0;   /* 0 none or 2 even */

/* The line coding a pty's termios asks for (the shared mapping, owu_usbser_line_from_cflag,
 * plus what a pty loses); false for B0. PARODD and CMSPAR mean nothing without PARENB, so
 * on a pty (where PARENB never shows) they are read as the odd, mark and space parities the
 * application asked for. */
static bool termios_line(const struct termios *t, struct owu_usbser_line_coding *lc)
{
    speed_t s = cfgetospeed(t);
    if (s == B0)
        return false;
    uint32_t rate = owu_usbser_speed_rate(s);
    uint32_t cflag = t->c_cflag;
    bool parenb = (cflag & PARENB) != 0;
    if (cflag & (PARODD | CMSPAR))
        cflag |= PARENB;
    owu_usbser_line_from_cflag(cflag, rate ? rate : 9600, lc);
    if (!(cflag & PARENB))
        lc->parity = g_fixed_plain_parity;
    if (!parenb && lc->data_bits == 8)   /* a pty: CS8 is forced, not chosen */
        lc->data_bits = g_fixed_data_bits;
    return true;
}

static void line_to_termios(const struct owu_usbser_line_coding *lc, struct termios *t)
{
    speed_t code = owu_usbser_rate_speed(lc->rate);
    cfsetispeed(t, code ? code : B9600);
    cfsetospeed(t, code ? code : B9600);
    t->c_cflag = owu_usbser_cflag_with_line(t->c_cflag, lc);
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
    _Atomic bool crtscts;     /* the slave's termios has CRTSCTS */
    bool rts_held;            /* reader thread: RTS dropped while the pty is full */
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
        if (b->crtscts && !b->rts_held) {
            /* CRTSCTS: the program is not reading; ask the device to hold on. */
            unsigned lines = owu_usbser_control_lines(b->port);
            if (owu_usbser_set_control_lines(b->port, lines & ~(unsigned)OWU_USBSER_RTS) == OWU_OK)
                b->rts_held = true;
        }
        struct pollfd p = {b->master, POLLOUT, 0};
        poll(&p, 1, 100);
    }
    if (b->rts_held) {
        unsigned lines = owu_usbser_control_lines(b->port);
        if (owu_usbser_set_control_lines(b->port, lines | OWU_USBSER_RTS) == OWU_OK)
            b->rts_held = false;
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
    b->crtscts = (t.c_cflag & CRTSCTS) != 0;
    struct owu_usbser_line_coding lc;
    if (!termios_line(&t, &lc)) {
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
    if (owu_usbser_same_line(&lc, cur)) {
        fflush(stdout);
        return;
    }
    char msg[160];
    owu_usbser_apply_line(b->port, &lc, cur, msg, sizeof msg);
    printf("%s\n", msg);
    fflush(stdout);
}

/* --line: sets the line coding at start. Exit code, 0 when done (or not asked). */
static int apply_line_arg(struct owu_usbser_port *port, const char *line_arg,
                          struct owu_usbser_line_coding *cur)
{
    *cur = (struct owu_usbser_line_coding){9600, 0, 0, 8};
    owu_usbser_get_line_coding(port, cur);
    if (!line_arg)
        return 0;
    struct owu_usbser_line_coding want = *cur;
    owu_usbser_parse_line(line_arg, &want);   /* checked when the arguments were read */
    int rc = owu_usbser_set_line_coding(port, &want);
    if (rc != OWU_OK) {
        fprintf(stderr, "openwinusb serial: the device refused line coding %s: %s\n", line_arg,
                owu_status_name(rc));
        return 1;
    }
    owu_usbser_get_line_coding(port, cur);
    g_fixed_data_bits = want.data_bits;
    g_fixed_plain_parity = want.parity == 2 ? 2 : 0;
    return 0;
}

/* The stable link to `target`: --link PATH, else <private dir>/COMn. */
static int make_link(const struct owu_usbser_info *info, const char *link_arg, const char *target,
                     char *link_path, size_t n)
{
    if (link_arg) {
        snprintf(link_path, n, "%s", link_arg);
    } else {
        char dir[400];
        if (link_dir(dir, sizeof dir) != 0)
            return 1;
        snprintf(link_path, n, "%s/%s", dir, info->port_name);
    }
    struct stat st;
    if (lstat(link_path, &st) == 0 && S_ISLNK(st.st_mode))
        unlink(link_path);   /* a stale link of an earlier run */
    if (symlink(target, link_path) != 0) {
        fprintf(stderr, "openwinusb serial: cannot create the link %s: %s\n", link_path, strerror(errno));
        return 1;
    }
    return 0;
}

static void print_start(const struct owu_usbser_info *info, const char *link_path, const char *dev,
                        const struct owu_usbser_line_coding *cur)
{
    char txt[64];
    printf("%s: %s -> %s (%s, %s)\n", info->port_name, link_path, dev, info->location,
           owu_usbser_line_text(cur, txt, sizeof txt));
    fflush(stdout);
}

/* ---- the CUSE terminal ------------------------------------------------------------------- */

static void print_log_line(void *ctx, const char *line)
{
    (void)ctx;
    printf("%s\n", line);
    fflush(stdout);
}

/* Serves the port as a terminal device of our own (include/openwinusb/serialtty.h). Returns
 * the exit code, or -1 when the CUSE terminal cannot start and `fallback` allows a pty. */
static int run_cuse(struct owu_usbser_port *port, const char *link_arg, const char *tty_name,
                    const struct owu_usbser_line_coding *cur, bool fallback)
{
    struct owu_usbser_info info;
    owu_usbser_get_info(port, &info);
    struct owu_serial_tty_options o;
    owu_serial_tty_options_default(&o);
    o.devname = tty_name;
    o.log = print_log_line;
    struct owu_serial_tty *tty = NULL;
    owu_err err = {0};
    int rc = owu_serial_tty_start(port, &o, &tty, &err);
    if (rc != OWU_OK) {
        if (fallback && rc != OWU_E_INVAL) {   /* a bad --tty-name is the user's to fix */
            fprintf(stderr,
                    "openwinusb serial: %s\n"
                    "openwinusb serial: using a pseudo-terminal instead: its data bits and even parity\n"
                    "  come from --line and it has no modem lines (docs/usbser.md)\n",
                    err.msg);
            return -1;
        }
        fprintf(stderr, "openwinusb serial: %s\n", err.msg);
        return rc == OWU_E_INVAL ? 2 : 1;
    }
    char link_path[512];
    if (make_link(&info, link_arg, owu_serial_tty_path(tty), link_path, sizeof link_path) != 0) {
        owu_serial_tty_stop(tty);
        return 1;
    }
    print_start(&info, link_path, owu_serial_tty_path(tty), cur);
    int code = 0;
    while (!g_stop) {
        rc = owu_serial_tty_wait(tty, 200);
        if (rc == OWU_E_TIMEOUT)
            continue;
        fprintf(stderr, "openwinusb serial: %s: %s\n", info.port_name,
                rc == OWU_E_NODEV ? "the device went away" : "the kernel ended the CUSE connection");
        code = rc == OWU_E_NODEV ? 3 : 1;
        break;
    }
    owu_serial_tty_stop(tty);
    unlink(link_path);
    return code;
}

/* ---- the pty bridge ---------------------------------------------------------------------- */

static int run_bridge(struct owu_usbser_port *port, const char *link_arg,
                      struct owu_usbser_line_coding cur, bool verbose)
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
    /* Raw like a serial port, at the device's current line coding. */
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
    if (make_link(&info, link_arg, slave_path, link_path, sizeof link_path) != 0) {
        close(slave);
        close(master);
        return 1;
    }
    print_start(&info, link_path, slave_path, &cur);

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

enum pty_kind { PTY_AUTO, PTY_CUSE, PTY_PTS };

int cmd_serial(int argc, char **argv)
{
    const char *name = NULL, *link = NULL, *line = NULL, *tty_name = NULL;
    bool pty = false, list = false, verbose = false, detach = false;
    enum pty_kind kind = PTY_AUTO;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(SERIAL_USAGE, stdout);
            return 0;
        } else if (strcmp(a, "--pty") == 0 || strncmp(a, "--pty=", 6) == 0) {
            pty = true;
            const char *k = a[5] == '=' ? a + 6 : "auto";
            if (strcmp(k, "auto") == 0)
                kind = PTY_AUTO;
            else if (strcmp(k, "cuse") == 0)
                kind = PTY_CUSE;
            else if (strcmp(k, "pts") == 0)
                kind = PTY_PTS;
            else {
                fprintf(stderr, "openwinusb serial: --pty= takes auto, cuse or pts, not \"%s\"\n", k);
                return 2;
            }
        } else if (strcmp(a, "--list") == 0) {
            list = true;
        } else if (strcmp(a, "--detach") == 0) {
            detach = true;
        } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
            verbose = true;
        } else if (strcmp(a, "--line") == 0 || strcmp(a, "--link") == 0 || strcmp(a, "--tty-name") == 0) {
            if (i + 1 >= argc || !argv[i + 1][0]) {
                fprintf(stderr, "openwinusb serial: %s needs a value\n" SERIAL_USAGE, a);
                return 2;
            }
            const char *v = argv[++i];
            if (a[2] == 't')
                tty_name = v;
            else if (strcmp(a, "--line") == 0)
                line = v;
            else
                link = v;
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
    if (line) {   /* checked before anything is opened */
        struct owu_usbser_line_coding probe = {9600, 0, 0, 8};
        if (!owu_usbser_parse_line(line, &probe)) {
            fprintf(stderr, "openwinusb serial: --line takes RATE,DPS such as 115200,8E1, not \"%s\"\n", line);
            return 2;
        }
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
        /* The terminal decides about DTR/RTS: a CUSE terminal raises them when a program
         * opens it (as a tty does), the pty bridge for as long as it runs. */
        o.keep_lines = true;
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
        struct owu_usbser_line_coding cur;
        code = apply_line_arg(port, line, &cur);
        if (code == 0 && kind != PTY_PTS)
            code = run_cuse(port, link, tty_name, &cur, kind == PTY_AUTO);
        if (code == -1 || (code == 0 && kind == PTY_PTS)) {
            owu_usbser_set_control_lines(port, OWU_USBSER_DTR | OWU_USBSER_RTS);
            code = run_bridge(port, link, cur, verbose);
        }
        if (!owu_usbser_gone(port))
            owu_usbser_set_control_lines(port, 0);   /* the line is closed */
        owu_usbser_close(port);
    }
    owu_stack_close(stack);
    return code;
}
