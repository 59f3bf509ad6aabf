/* Kernel uevents as they arrive on NETLINK_KOBJECT_UEVENT group 1:
 * "action@devpath\0KEY=VALUE\0KEY=VALUE\0...". The buffer comes from outside the program,
 * so nothing is assumed about termination or lengths. */
#include "hcd/usbfs_internal.h"

#include <stdio.h>
#include <string.h>

/* A decimal number of at most 5 digits, all of s[0..n). */
static bool parse_small(const char *s, size_t n, unsigned *out)
{
    if (n == 0 || n > 5)
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return true;
}

static bool key_is(const char *s, size_t n, const char *key, const char **value, size_t *vlen)
{
    size_t k = strlen(key);
    if (n <= k || memcmp(s, key, k) != 0 || s[k] != '=')
        return false;
    *value = s + k + 1;
    *vlen = n - k - 1;
    return true;
}

int owu_uevent_parse(const void *buf, size_t len, struct owu_uevent *out)
{
    memset(out, 0, sizeof *out);
    const char *p = buf, *end = p + len;
    if (len < 3 || (len >= 7 && memcmp(p, "libudev", 7) == 0))
        return OWU_E_PARSE;
    const char *nul = memchr(p, '\0', len);
    const char *hdr_end = nul ? nul : end;
    const char *at = memchr(p, '@', (size_t)(hdr_end - p));
    if (!at || at == p || at + 1 == hdr_end)
        return OWU_E_PARSE;

    bool subsystem_usb = false, devtype_device = false, have_action = false;
    const char *devpath = NULL;
    size_t devpath_len = 0;
    const char *devname = NULL;
    size_t devname_len = 0;
    for (const char *s = nul ? nul + 1 : end; s < end;) {
        const char *e = memchr(s, '\0', (size_t)(end - s));
        size_t n = (size_t)((e ? e : end) - s);
        const char *v;
        size_t vn;
        if (key_is(s, n, "ACTION", &v, &vn)) {
            have_action = true;
            out->action = vn == 3 && memcmp(v, "add", 3) == 0      ? OWU_UEVENT_ADD
                          : vn == 6 && memcmp(v, "remove", 6) == 0 ? OWU_UEVENT_REMOVE
                                                                   : OWU_UEVENT_OTHER;
        } else if (key_is(s, n, "SUBSYSTEM", &v, &vn)) {
            subsystem_usb = vn == 3 && memcmp(v, "usb", 3) == 0;
        } else if (key_is(s, n, "DEVTYPE", &v, &vn)) {
            devtype_device = vn == 10 && memcmp(v, "usb_device", 10) == 0;
        } else if (key_is(s, n, "BUSNUM", &v, &vn)) {
            if (!parse_small(v, vn, &out->busnum))
                out->busnum = 0;
        } else if (key_is(s, n, "DEVNUM", &v, &vn)) {
            if (!parse_small(v, vn, &out->devnum))
                out->devnum = 0;
        } else if (key_is(s, n, "DEVPATH", &v, &vn)) {
            devpath = v;
            devpath_len = vn;
        } else if (key_is(s, n, "DEVNAME", &v, &vn)) {
            devname = v;
            devname_len = vn;
        }
        if (!e)
            break;
        s = e + 1;
    }
    if (!have_action) {
        /* Fall back on the header's action. */
        size_t an = (size_t)(at - p);
        out->action = an == 3 && memcmp(p, "add", 3) == 0      ? OWU_UEVENT_ADD
                      : an == 6 && memcmp(p, "remove", 6) == 0 ? OWU_UEVENT_REMOVE
                                                               : OWU_UEVENT_OTHER;
    }
    if (!devpath) {
        devpath = at + 1;
        devpath_len = (size_t)(hdr_end - devpath);
    }
    const char *slash = NULL;
    for (size_t i = 0; i < devpath_len; i++)
        if (devpath[i] == '/')
            slash = devpath + i;
    const char *name = slash ? slash + 1 : devpath;
    size_t name_len = devpath_len - (size_t)(name - devpath);
    if (name_len < sizeof out->name) {
        memcpy(out->name, name, name_len);
        out->name[name_len] = '\0';
    }
    /* Old kernels without BUSNUM/DEVNUM: DEVNAME=bus/usb/BBB/DDD. */
    if ((!out->busnum || !out->devnum) && devname && devname_len == 15 &&
        memcmp(devname, "bus/usb/", 8) == 0 && devname[11] == '/') {
        unsigned b, d;
        if (parse_small(devname + 8, 3, &b) && parse_small(devname + 12, 3, &d)) {
            out->busnum = b;
            out->devnum = d;
        }
    }
    out->usb_device = subsystem_usb && devtype_device;
    return OWU_OK;
}
