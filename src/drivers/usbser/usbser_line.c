/* Line coding as text ("115200 8E1") and as termios c_cflag bits: the one mapping both
 * terminals of a port use (the pty bridge of tools/cmd_serial.c and the CUSE terminal of
 * src/api/serial_tty*.c), so a termios setting means the same SET_LINE_CODING on either. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>

#include <openwinusb/usbser.h>

/* glibc's speed_t codes are the kernel's CBAUD values on Linux. */
static const struct {
    unsigned code;
    uint32_t rate;
} g_speeds[] = {
    {B50, 50}, {B75, 75}, {B110, 110}, {B134, 134}, {B150, 150}, {B200, 200}, {B300, 300},
    {B600, 600}, {B1200, 1200}, {B1800, 1800}, {B2400, 2400}, {B4800, 4800}, {B9600, 9600},
    {B19200, 19200}, {B38400, 38400}, {B57600, 57600}, {B115200, 115200}, {B230400, 230400},
    {B460800, 460800}, {B500000, 500000}, {B576000, 576000}, {B921600, 921600},
    {B1000000, 1000000}, {B1152000, 1152000}, {B1500000, 1500000}, {B2000000, 2000000},
    {B2500000, 2500000}, {B3000000, 3000000}, {B3500000, 3500000}, {B4000000, 4000000},
};

uint32_t owu_usbser_speed_rate(unsigned speed)
{
    for (size_t i = 0; i < sizeof g_speeds / sizeof g_speeds[0]; i++)
        if (g_speeds[i].code == speed)
            return g_speeds[i].rate;
    return 0;
}

unsigned owu_usbser_rate_speed(uint32_t rate)
{
    for (size_t i = 0; i < sizeof g_speeds / sizeof g_speeds[0]; i++)
        if (g_speeds[i].rate == rate)
            return g_speeds[i].code;
    return 0;
}

void owu_usbser_line_from_cflag(uint32_t cflag, uint32_t rate, struct owu_usbser_line_coding *lc)
{
    lc->rate = rate;
    lc->stop_bits = (cflag & CSTOPB) ? 2 : 0;
    if (!(cflag & PARENB))
        lc->parity = 0;
    else   /* odd 1, even 2, mark 3 (odd + stick), space 4 (even + stick) */
        lc->parity = (uint8_t)(((cflag & PARODD) ? 1 : 2) + ((cflag & CMSPAR) ? 2 : 0));
    switch (cflag & CSIZE) {
    case CS5: lc->data_bits = 5; break;
    case CS6: lc->data_bits = 6; break;
    case CS7: lc->data_bits = 7; break;
    default: lc->data_bits = 8; break;
    }
}

uint32_t owu_usbser_cflag_with_line(uint32_t cflag, const struct owu_usbser_line_coding *lc)
{
    cflag &= ~(uint32_t)(CSIZE | CSTOPB | PARENB | PARODD | CMSPAR);
    cflag |= lc->data_bits == 5 ? CS5 : lc->data_bits == 6 ? CS6 : lc->data_bits == 7 ? CS7 : CS8;
    if (lc->stop_bits != 0)
        cflag |= CSTOPB;
    switch (lc->parity) {
    case 1: cflag |= PARENB | PARODD; break;
    case 2: cflag |= PARENB; break;
    case 3: cflag |= PARENB | PARODD | CMSPAR; break;
    case 4: cflag |= PARENB | CMSPAR; break;
    default: break;
    }
    return cflag;
}

bool owu_usbser_parse_line(const char *spec, struct owu_usbser_line_coding *lc)
{
    if (!spec || !lc)
        return false;
    struct owu_usbser_line_coding out = *lc;
    const char *p = spec;
    char *end;
    if (*p >= '0' && *p <= '9' && (strchr(spec, ',') || strlen(p) > 3)) {
        unsigned long r = strtoul(p, &end, 10);
        if (r == 0 || r > 100000000ul || (*end != ',' && *end))
            return false;
        out.rate = (uint32_t)r;
        if (!*end) {
            *lc = out;
            return true;
        }
        p = end + 1;
    }
    if (p[0] < '5' || p[0] > '8' || !p[1])
        return false;
    out.data_bits = (uint8_t)(p[0] - '0');
    const char *par = strchr("NOEMS", p[1]);
    if (!par)
        return false;
    out.parity = (uint8_t)(par - "NOEMS");
    const char *st = p + 2;
    if (strcmp(st, "1") == 0)
        out.stop_bits = 0;
    else if (strcmp(st, "1.5") == 0)
        out.stop_bits = 1;
    else if (strcmp(st, "2") == 0)
        out.stop_bits = 2;
    else
        return false;
    *lc = out;
    return true;
}

const char *owu_usbser_line_text(const struct owu_usbser_line_coding *lc, char *buf, size_t n)
{
    static const char par[] = "NOEMS";
    static const char *const stop[] = {"1", "1.5", "2"};
    snprintf(buf, n, "%u %u%c%s", lc->rate, lc->data_bits, lc->parity < 5 ? par[lc->parity] : '?',
             lc->stop_bits < 3 ? stop[lc->stop_bits] : "?");
    return buf;
}

int owu_usbser_apply_line(struct owu_usbser_port *port, const struct owu_usbser_line_coding *lc,
                          struct owu_usbser_line_coding *now, char *msg, size_t n)
{
    char want[48], got[48];
    owu_usbser_line_text(lc, want, sizeof want);
    int rc = owu_usbser_set_line_coding(port, lc);
    *now = *lc;
    if (rc != OWU_OK)
        snprintf(msg, n, "line coding %s refused by the device: %s", want, owu_status_name(rc));
    else if (owu_usbser_get_line_coding(port, now) == OWU_OK)
        snprintf(msg, n, "line coding %s (device reports %s)", want, owu_usbser_line_text(now, got, sizeof got));
    else {
        *now = *lc;
        snprintf(msg, n, "line coding %s", want);
    }
    return rc;
}

bool owu_usbser_same_line(const struct owu_usbser_line_coding *a, const struct owu_usbser_line_coding *b)
{
    return a->rate == b->rate && a->stop_bits == b->stop_bits && a->parity == b->parity &&
           a->data_bits == b->data_bits;
}
