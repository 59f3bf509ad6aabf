/* usbfs discovery: device directories of /sys/bus/usb/devices (or the test override), their
 * bus and device numbers, the matching device node, and the messages for the two problems
 * users meet most (permissions, the usbfs memory budget). The tree may be fake or changing
 * under us, so every attribute is checked. */
#include "hcd/usbfs_internal.h"
#include "hcd/usbfs.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file_read.h"

#define ATTR_MAX 4096

const char *owu_usbfs_sysfs_root(void)
{
    const char *env = getenv(OWU_USBFS_SYSFS_ENV);
    return env && *env ? env : OWU_USBFS_SYSFS_DEFAULT;
}

const char *owu_usbfs_dev_root(void)
{
    const char *env = getenv(OWU_USBFS_DEV_ENV);
    return env && *env ? env : OWU_USBFS_DEV_DEFAULT;
}

bool owu_usbfs_available(void)
{
    return access(owu_usbfs_dev_root(), F_OK) == 0 && access(owu_usbfs_sysfs_root(), F_OK) == 0;
}

bool owu_usbfs_is_device_name(const char *name)
{
    /* digits '-' digits ('.' digits)* */
    const char *p = name;
    if (!(*p >= '0' && *p <= '9'))
        return false;
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p++ != '-')
        return false;
    for (;;) {
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
        if (*p == '\0')
            return strlen(name) < sizeof ((struct owu_usbfs_entry *)0)->name;
        if (*p++ != '.')
            return false;
    }
}

/* A decimal attribute in [1, max]. */
static int read_number(const char *dir, const char *attr, unsigned max, unsigned *out, owu_err *err)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, attr) >= sizeof path)
        return owu_fail(err, OWU_E_INVAL, "%s: path too long", dir);
    char *text = NULL;
    size_t len = 0;
    owu_err why = {0};
    int rc = owu_read_file(path, ATTR_MAX, &text, &len, &why);
    if (rc < 0)
        return owu_fail(err, rc, "%s", why.msg);
    unsigned long v = 0;
    size_t i = 0, digits = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t'))
        i++;
    for (; i < len && text[i] >= '0' && text[i] <= '9' && digits < 6; i++, digits++)
        v = v * 10 + (unsigned long)(text[i] - '0');
    while (i < len && (text[i] == '\n' || text[i] == ' '))
        i++;
    bool ok = digits > 0 && i == len && v >= 1 && v <= max;
    free(text);
    if (!ok)
        return owu_fail(err, OWU_E_PARSE, "%s: not a number in 1..%u", path, max);
    *out = (unsigned)v;
    return OWU_OK;
}

int owu_usbfs_read_entry(const char *root, const char *name, struct owu_usbfs_entry *out,
                         owu_err *err)
{
    memset(out, 0, sizeof *out);
    if (!owu_usbfs_is_device_name(name))
        return owu_fail(err, OWU_E_INVAL, "%s/%s: not a USB device directory name", root, name);
    char dir[PATH_MAX];
    if ((size_t)snprintf(dir, sizeof dir, "%s/%s", root, name) >= sizeof dir)
        return owu_fail(err, OWU_E_INVAL, "%s: path too long", root);
    snprintf(out->name, sizeof out->name, "%s", name);
    int rc = read_number(dir, "busnum", OWU_USBFS_MAX_BUSNUM, &out->busnum, err);
    if (rc == OWU_OK)
        rc = read_number(dir, "devnum", OWU_USBFS_MAX_DEVNUM, &out->devnum, err);
    if (rc != OWU_OK)
        return rc;
    /* The devpath is the port chain after "B-" in the name; the kernel names directories
     * that way, and the name is what hotplug events carry. */
    snprintf(out->devpath, sizeof out->devpath, "%s", strchr(name, '-') + 1);
    return OWU_OK;
}

static int entry_cmp(const void *a, const void *b)
{
    const struct owu_usbfs_entry *x = a, *y = b;
    if (x->busnum != y->busnum)
        return x->busnum < y->busnum ? -1 : 1;
    return strcmp(x->name, y->name);
}

int owu_usbfs_scan(const char *root, struct owu_usbfs_entry **out, size_t *count, owu_err *err)
{
    *out = NULL;
    *count = 0;
    DIR *d = opendir(root);
    if (!d)
        return owu_fail(err, errno == ENOENT ? OWU_E_NOTFOUND : OWU_E_IO, "%s: cannot list: %s",
                        root, strerror(errno));
    struct owu_usbfs_entry *v = NULL;
    size_t n = 0, cap = 0;
    int rc = OWU_OK;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!owu_usbfs_is_device_name(de->d_name))
            continue;
        struct owu_usbfs_entry e;
        if (owu_usbfs_read_entry(root, de->d_name, &e, NULL) != OWU_OK)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct owu_usbfs_entry *nv = realloc(v, ncap * sizeof *nv);
            if (!nv) {
                rc = owu_fail(err, OWU_E_NOMEM, "out of memory");
                break;
            }
            v = nv;
            cap = ncap;
        }
        v[n++] = e;
    }
    closedir(d);
    if (rc != OWU_OK) {
        free(v);
        return rc;
    }
    if (n)
        qsort(v, n, sizeof *v, entry_cmp);
    *out = v;
    *count = n;
    return OWU_OK;
}

int owu_usbfs_node_path(const char *devroot, unsigned busnum, unsigned devnum, char *out,
                        size_t outsz)
{
    if (busnum == 0 || busnum > OWU_USBFS_MAX_BUSNUM || devnum == 0 || devnum > OWU_USBFS_MAX_DEVNUM)
        return OWU_E_INVAL;
    if ((size_t)snprintf(out, outsz, "%s/%03u/%03u", devroot, busnum, devnum) >= outsz)
        return OWU_E_INVAL;
    return OWU_OK;
}

void owu_usbfs_access_message(const char *path, int errnum, char *out, size_t outsz)
{
    snprintf(out, outsz,
             "%s: permission denied (%s): this user may not open the USB device for writing; "
             "install the udev rule " OWU_USBFS_UDEV_RULE " (packaging/udev/70-openwinusb.rules, "
             "see docs/usbfs.md), add yourself to its group \"plugdev\" and re-plug the device",
             path, strerror(errnum));
}

void owu_usbfs_enomem_message(size_t length, char *out, size_t outsz)
{
    snprintf(out, outsz,
             "usbfs refused a transfer of %zu bytes for lack of memory (ENOMEM): the kernel's "
             "usbfs buffer budget is exhausted; raise it in " OWU_USBFS_MEMORY_MB
             " (0 = no limit) or use smaller transfers", length);
}
