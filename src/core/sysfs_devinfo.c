/* A devinfo from a Linux sysfs USB device directory (/sys/bus/usb/devices/B-P.P): the
 * kernel's cached descriptors plus a few attributes. Nothing here talks to the device.
 * The directory may be a copy or a hand-made fake, so every file is treated as untrusted. */
#include <openwinusb/profile.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/file_read.h"

#define ATTR_MAX 4096   /* a sysfs attribute is at most one page */
#define DESCRIPTORS_MAX (OWU_DEVICE_DESC_SIZE + (size_t)OWU_PROFILE_MAX_CONFIGS * 0xFFFF)
#define LANGID_EN_US 0x0409

struct sysdir {
    const char *dir;
    owu_err *err;
};

/* Reads dir/name. A missing optional file gives OWU_OK with *text NULL. */
static int read_attr(struct sysdir *d, const char *name, size_t max, bool required, char **text,
                     size_t *len)
{
    char path[PATH_MAX];
    *text = NULL;
    *len = 0;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", d->dir, name) >= sizeof path)
        return owu_fail(d->err, OWU_E_INVAL, "%s: path too long", d->dir);
    owu_err why = {0};
    int rc = owu_read_file(path, max, text, len, &why);
    if (rc == OWU_E_NOTFOUND && !required)
        return OWU_OK;
    if (rc < 0)
        return owu_fail(d->err, rc, "%s", why.msg);
    return OWU_OK;
}

/* A one-word attribute ("480\n") with surrounding whitespace removed, in place; *nul tells
 * whether the file held a NUL byte (checked first, since trimming writes NULs). */
static char *trim(char *s, size_t len, bool *nul)
{
    *nul = strlen(s) != len;
    while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' ' || s[len - 1] == '\t' ||
                       s[len - 1] == '\r'))
        s[--len] = '\0';
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

__attribute__((format(printf, 4, 5)))
static int attr_fail(struct sysdir *d, int code, const char *name, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return owu_fail(d->err, code, "%s/%s: %s", d->dir, name, what);
}

static int read_speed(struct sysdir *d, enum owu_speed *out)
{
    static const struct { const char *text; enum owu_speed speed; } map[] = {
        { "1.5", OWU_SPEED_LOW },       { "12", OWU_SPEED_FULL },
        { "480", OWU_SPEED_HIGH },      { "5000", OWU_SPEED_SUPER },
        { "10000", OWU_SPEED_SUPER_PLUS }, { "20000", OWU_SPEED_SUPER_PLUS },
    };
    char *raw;
    size_t len;
    int rc = read_attr(d, "speed", ATTR_MAX, true, &raw, &len);
    if (rc < 0)
        return rc;
    bool nul;
    const char *s = trim(raw, len, &nul);
    if (nul) {
        free(raw);
        return attr_fail(d, OWU_E_PARSE, "speed", "contains a NUL byte");
    }
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (strcmp(s, map[i].text) == 0) {
            *out = map[i].speed;
            free(raw);
            return OWU_OK;
        }
    }
    rc = attr_fail(d, OWU_E_PARSE, "speed", "\"%.32s\" is not one of 1.5, 12, 480, 5000, 10000, 20000", s);
    free(raw);
    return rc;
}

/* busnum (decimal) and devpath ("1", "1.4.2"; "0" for a root hub) -> location and port. */
static int read_location(struct sysdir *d, struct owu_devinfo *info)
{
    char *bus_raw = NULL, *path_raw = NULL;
    size_t len;
    int rc = read_attr(d, "busnum", ATTR_MAX, true, &bus_raw, &len);
    if (rc < 0)
        return rc;
    bool nul;
    char *bus = trim(bus_raw, len, &nul);
    unsigned long busnum = 0;
    bool ok = *bus != '\0' && !nul && strlen(bus) <= 5;
    for (const char *p = bus; ok && *p; p++) {
        ok = *p >= '0' && *p <= '9';
        busnum = busnum * 10 + (unsigned long)(*p - '0');
    }
    if (!ok || busnum == 0) {
        rc = attr_fail(d, OWU_E_PARSE, "busnum", "\"%.16s\" is not a bus number", bus);
        goto done;
    }
    if ((rc = read_attr(d, "devpath", ATTR_MAX, true, &path_raw, &len)) < 0)
        goto done;
    char *devpath = trim(path_raw, len, &nul);
    /* Dot-separated port numbers 0..255, no empty components, at most 7 of them (the most
     * a port chain can have; usbfs CONNINFO_EX reports ports[7]). */
    unsigned port = 0, components = 1;
    size_t digits = 0;
    ok = !nul && *devpath != '\0' && strlen(devpath) < 64;
    for (const char *p = devpath; ok && *p; p++) {
        if (*p == '.') {
            ok = digits > 0 && ++components <= 7;
            digits = 0;
            port = 0;
        } else if (*p >= '0' && *p <= '9') {
            port = port * 10 + (unsigned)(*p - '0');
            ok = ++digits <= 3 && port <= 255;
        } else {
            ok = false;
        }
    }
    if (!ok || digits == 0) {
        rc = attr_fail(d, OWU_E_PARSE, "devpath", "\"%.32s\" is not a port path like 1.4.2", devpath);
        goto done;
    }
    snprintf(info->location, sizeof info->location, "usbfs:%lu-%s", busnum, devpath);
    info->port = port;
done:
    free(bus_raw);
    free(path_raw);
    return rc;
}

static int read_removable(struct sysdir *d, struct owu_devinfo *info)
{
    char *raw;
    size_t len;
    int rc = read_attr(d, "removable", ATTR_MAX, false, &raw, &len);
    if (rc < 0)
        return rc;
    info->removable = true;   /* older kernels lack the attribute */
    if (!raw)
        return OWU_OK;
    bool nul;
    const char *s = trim(raw, len, &nul);
    if (nul || (strcmp(s, "removable") != 0 && strcmp(s, "fixed") != 0 &&
                               strcmp(s, "unknown") != 0))
        rc = attr_fail(d, OWU_E_PARSE, "removable", "\"%.32s\" is not removable, fixed or unknown", s);
    else
        info->removable = strcmp(s, "fixed") != 0;
    free(raw);
    return rc;
}

/* The `descriptors` file: device descriptor, then each configuration, wTotalLength each. */
static int read_descriptors(struct sysdir *d, struct owu_devinfo *info)
{
    char *raw;
    size_t len;
    int rc = read_attr(d, "descriptors", DESCRIPTORS_MAX, true, &raw, &len);
    if (rc < 0)
        return rc;
    const uint8_t *b = (const uint8_t *)raw;
    if (len < OWU_DEVICE_DESC_SIZE) {
        rc = attr_fail(d, OWU_E_BADDESC, "descriptors", "%zu bytes; the device descriptor alone needs %d",
                       len, OWU_DEVICE_DESC_SIZE);
        goto done;
    }
    owu_err why = {0};
    if (owu_device_desc_parse(b, OWU_DEVICE_DESC_SIZE, info->speed, NULL, &why) < 0) {
        rc = attr_fail(d, OWU_E_BADDESC, "descriptors", "%s", why.msg);
        goto done;
    }
    memcpy(info->device, b, OWU_DEVICE_DESC_SIZE);
    info->device_len = OWU_DEVICE_DESC_SIZE;
    size_t pos = OWU_DEVICE_DESC_SIZE;
    unsigned index = 0;
    while (pos < len) {
        size_t left = len - pos;
        if (index >= OWU_PROFILE_MAX_CONFIGS) {
            rc = attr_fail(d, OWU_E_BADDESC, "descriptors", "more than %d configurations",
                           OWU_PROFILE_MAX_CONFIGS);
            goto done;
        }
        if (left < 9) {
            rc = attr_fail(d, OWU_E_BADDESC, "descriptors",
                           "configuration %u at offset %zu: only %zu bytes, a configuration "
                           "descriptor needs 9", index, pos, left);
            goto done;
        }
        if (b[pos + 1] != OWU_DT_CONFIG) {
            rc = attr_fail(d, OWU_E_BADDESC, "descriptors",
                           "configuration %u at offset %zu: bDescriptorType 0x%02X is not 0x02",
                           index, pos, b[pos + 1]);
            goto done;
        }
        size_t total = owu_le16(b + pos + 2);
        if (total < 9) {
            rc = attr_fail(d, OWU_E_BADDESC, "descriptors",
                           "configuration %u at offset %zu: wTotalLength %zu is below 9", index, pos,
                           total);
            goto done;
        }
        if (total > left) {
            rc = attr_fail(d, OWU_E_BADDESC, "descriptors",
                           "configuration %u at offset %zu: wTotalLength %zu runs past the end of "
                           "the file (%zu bytes left)", index, pos, total, left);
            goto done;
        }
        if (index >= info->device[17]) {
            rc = attr_fail(d, OWU_E_BADDESC, "descriptors",
                           "configuration %u at offset %zu: more configurations than "
                           "bNumConfigurations (%u)", index, pos, info->device[17]);
            goto done;
        }
        if (owu_devinfo_add_config(info, b + pos, total) < 0) {
            rc = owu_fail(d->err, OWU_E_NOMEM, "%s: out of memory", d->dir);
            goto done;
        }
        pos += total;
        index++;
    }
    if (index == 0)
        rc = attr_fail(d, OWU_E_BADDESC, "descriptors", "no configuration descriptor after the "
                       "device descriptor");
done:
    free(raw);
    return rc;
}

/* manufacturer / product / serial -> string descriptors in US English. */
static int read_strings(struct sysdir *d, struct owu_devinfo *info)
{
    static const struct { const char *name; size_t offset; } attrs[] = {
        { "manufacturer", 14 }, { "product", 15 }, { "serial", 16 },
    };
    uint8_t desc[3][255];
    int desc_len[3] = {0};
    uint8_t index[3] = {0};
    unsigned found = 0;
    for (size_t i = 0; i < 3; i++) {
        index[i] = info->device[attrs[i].offset];
        if (index[i] == 0)
            continue;   /* the kernel only has the attribute when the index is set */
        char *raw;
        size_t len;
        int rc = read_attr(d, attrs[i].name, ATTR_MAX, false, &raw, &len);
        if (rc < 0)
            return rc;
        if (!raw)
            continue;
        if (len > 0 && raw[len - 1] == '\n')
            raw[--len] = '\0';   /* the kernel adds one; the rest is the device's text */
        if (strlen(raw) != len) {
            free(raw);
            return attr_fail(d, OWU_E_PARSE, attrs[i].name, "contains a NUL byte");
        }
        int n = owu_string_desc_encode(raw, desc[i], sizeof desc[i]);
        free(raw);
        if (n < 0)
            return attr_fail(d, OWU_E_PARSE, attrs[i].name,
                             "not UTF-8 or too long for a string descriptor");
        desc_len[i] = n;
        found++;
    }
    if (!found)
        return OWU_OK;
    static const uint8_t langids[4] = { 4, OWU_DT_STRING, LANGID_EN_US & 0xFF, LANGID_EN_US >> 8 };
    if (owu_devinfo_add_string(info, 0, 0, langids, sizeof langids) < 0)
        return owu_fail(d->err, OWU_E_NOMEM, "%s: out of memory", d->dir);
    for (size_t i = 0; i < 3; i++) {
        if (!desc_len[i] || owu_devinfo_find_string(info, index[i], LANGID_EN_US))
            continue;   /* one index named twice: the first attribute read wins */
        if (owu_devinfo_add_string(info, index[i], LANGID_EN_US, desc[i], (size_t)desc_len[i]) < 0)
            return owu_fail(d->err, OWU_E_NOMEM, "%s: out of memory", d->dir);
    }
    return OWU_OK;
}

int owu_sysfs_read_devinfo(const char *dir, struct owu_devinfo **out, owu_err *err)
{
    if (!out)
        return owu_fail(err, OWU_E_INVAL, "owu_sysfs_read_devinfo: no output pointer");
    *out = NULL;
    if (!dir || !*dir)
        return owu_fail(err, OWU_E_INVAL, "sysfs: no device directory given");
    struct stat st;
    if (stat(dir, &st) != 0)
        return owu_fail(err, errno == EACCES ? OWU_E_ACCESS : OWU_E_NOTFOUND, "%s: %s", dir,
                        strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return owu_fail(err, OWU_E_NOTFOUND, "%s: not a directory (expected a USB device "
                        "directory such as /sys/bus/usb/devices/1-2)", dir);
    struct owu_devinfo *info = owu_devinfo_new();
    if (!info)
        return owu_fail(err, OWU_E_NOMEM, "%s: out of memory", dir);
    struct sysdir d = { dir, err };
    int rc;
    if ((rc = read_speed(&d, &info->speed)) < 0 || (rc = read_descriptors(&d, info)) < 0 ||
        (rc = read_location(&d, info)) < 0 || (rc = read_removable(&d, info)) < 0 ||
        (rc = read_strings(&d, info)) < 0) {
        owu_devinfo_free(info);
        return rc;
    }
    *out = info;
    return OWU_OK;
}
