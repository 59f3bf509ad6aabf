/* The hub's enumeration walk, step by step as Windows does it:
 *   1. reset the port;
 *   2. read the first 8 bytes of the device descriptor at address 0 (bMaxPacketSize0);
 *   3. SET_ADDRESS;
 *   4. read the whole device descriptor;
 *   5. read each configuration descriptor: 9 bytes, then wTotalLength;
 *   6. read the LANGID list and the strings (manufacturer, product, serial number and every
 *      string the descriptors name) in the device's languages;
 *   7. for bcdUSB >= 0x0201 read the BOS, and the MS OS 2.0 descriptor set it announces;
 *   8. without MS OS 2.0 (and for bcdUSB other than 1.x) ask for the MS OS 1.0 string 0xEE
 *      and, when present, the extended compat ID, extended properties and ContainerID;
 *   9. SET_CONFIGURATION to the first configuration.
 * Steps 1 and 3 are skipped on backends whose kernel or remote side already did them.
 * A failure in steps 1-5 is fatal and becomes one of Windows' failure IDs; failures later on
 * only lose the optional information (as on Windows).
 */
#include "core/enumerate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openwinusb/usb_defs.h>

#include "core/urb.h"

#define GET_DESCRIPTOR_IN (OWU_DIR_IN | OWU_TYPE_STANDARD | OWU_RECIP_DEVICE)
#define VENDOR_IN_DEVICE (OWU_DIR_IN | OWU_TYPE_VENDOR | OWU_RECIP_DEVICE)
#define VENDOR_IN_INTERFACE (OWU_DIR_IN | OWU_TYPE_VENDOR | OWU_RECIP_INTERFACE)
#define MAX_CONFIGS 8
#define MSOS1_STRING_INDEX 0xEE

void owu_enum_options_default(struct owu_enum_options *opt)
{
    opt->timeout_ms = 5000;
    const char *env = getenv("OPENWINUSB_ENUM_TIMEOUT_MS");
    if (env && *env) {
        char *end;
        unsigned long v = strtoul(env, &end, 10);
        if (*end == '\0' && v > 0 && v <= 600000)
            opt->timeout_ms = (unsigned)v;
    }
    opt->set_configuration = true;
    opt->windows_version = 0x0A000000;
    opt->max_languages = 4;
}

struct walk {
    struct owu_usb_device *dev;
    const struct owu_enum_options *opt;
    struct owu_devinfo *info;
    bool silent;          /* a request timed out: the device stopped answering */
    uint8_t buf[65535];
};

/* Every request of the walk goes through here. Once one request has timed out the device is
 * taken to have stopped answering and the remaining (optional) requests are not sent, so a
 * silent device costs one timeout instead of one per string and feature descriptor. */
static int control_in(struct walk *w, uint8_t bmRequestType, uint8_t bRequest, uint16_t wValue,
                      uint16_t wIndex, uint16_t len)
{
    if (w->silent)
        return OWU_E_TIMEOUT;
    int rc = owu_control_sync(w->dev, bmRequestType, bRequest, wValue, wIndex, w->buf, len,
                              w->opt->timeout_ms);
    if (rc == OWU_E_TIMEOUT)
        w->silent = true;
    return rc;
}

static int get_descriptor(struct walk *w, uint8_t type, uint8_t index, uint16_t langid, uint16_t len)
{
    return control_in(w, GET_DESCRIPTOR_IN, OWU_REQ_GET_DESCRIPTOR, (uint16_t)(type << 8 | index),
                      langid, len);
}

static int fail(struct walk *w, enum owu_enum_failure f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct walk *w, enum owu_enum_failure f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->info->failure_detail, sizeof w->info->failure_detail, fmt, ap);
    va_end(ap);
    w->info->failure = f;
    return OWU_OK;
}

/* Steps 5: one configuration; returns false when it could not be read. */
static bool read_config(struct walk *w, uint8_t index, owu_err *why, enum owu_enum_failure *kind)
{
    int n = get_descriptor(w, OWU_DT_CONFIG, index, 0, 9);
    if (n < 0) {
        *kind = OWU_FAIL_CONFIG_DESCRIPTOR;
        owu_fail(why, n, "configuration %u: GET_DESCRIPTOR failed: %s", index, owu_status_name(n));
        return false;
    }
    if (n < 9 || w->buf[1] != OWU_DT_CONFIG || w->buf[0] < 9) {
        *kind = OWU_FAIL_CONFIG_DESCRIPTOR_INVALID;
        owu_fail(why, OWU_E_BADDESC,
                 "configuration %u: header invalid (%d bytes, bLength %u, bDescriptorType 0x%02X)",
                 index, n, n > 0 ? w->buf[0] : 0, n > 1 ? w->buf[1] : 0);
        return false;
    }
    uint16_t total = owu_le16(w->buf + 2);
    if (total < 9) {
        *kind = OWU_FAIL_CONFIG_DESCRIPTOR_INVALID;
        owu_fail(why, OWU_E_BADDESC, "configuration %u: wTotalLength %u is below 9", index, total);
        return false;
    }
    n = get_descriptor(w, OWU_DT_CONFIG, index, 0, total);
    if (n < 0) {
        *kind = OWU_FAIL_CONFIG_DESCRIPTOR;
        owu_fail(why, n, "configuration %u: reading %u bytes failed: %s", index, total,
                 owu_status_name(n));
        return false;
    }
    struct owu_config *cfg = NULL;
    int rc = owu_config_parse(w->buf, (size_t)n, &cfg, why);
    if (rc != OWU_OK) {
        *kind = OWU_FAIL_CONFIG_DESCRIPTOR_INVALID;
        return false;
    }
    owu_config_free(cfg);
    if (owu_devinfo_add_config(w->info, w->buf, (size_t)n) != OWU_OK) {
        *kind = OWU_FAIL_UNKNOWN;
        owu_fail(why, OWU_E_NOMEM, "out of memory");
        return false;
    }
    return true;
}

static void read_string(struct walk *w, uint8_t index, uint16_t langid)
{
    if (index == 0 || owu_devinfo_find_string(w->info, index, langid))
        return;
    /* Found in another language only? find_string(langid) matches exactly when langid != 0. */
    int n = get_descriptor(w, OWU_DT_STRING, index, langid, 255);
    if (n >= 2 && w->buf[1] == OWU_DT_STRING)
        owu_devinfo_add_string(w->info, index, langid, w->buf, (size_t)n);
}

/* Step 6. Strings are optional: a failure loses the string, never the device. */
static void read_strings(struct walk *w, const struct owu_device_desc *dd)
{
    int n = get_descriptor(w, OWU_DT_STRING, 0, 0, 255);
    if (n < 4 || w->buf[1] != OWU_DT_STRING)
        return;
    owu_devinfo_add_string(w->info, 0, 0, w->buf, (size_t)n);
    uint16_t langs[127];
    int nlang = owu_langids_parse(w->buf, (size_t)n, langs, 127, NULL);
    if (nlang <= 0)
        return;
    if ((unsigned)nlang > w->opt->max_languages)
        nlang = (int)w->opt->max_languages;

    /* Every string index the descriptors name, each once. */
    bool wanted[256] = {false};
    wanted[dd->iManufacturer] = wanted[dd->iProduct] = wanted[dd->iSerialNumber] = true;
    for (unsigned c = 0; c < w->info->num_configs; c++) {
        struct owu_config *cfg = NULL;
        if (owu_devinfo_config(w->info, c, &cfg, NULL) != OWU_OK)
            continue;
        wanted[cfg->iConfiguration] = true;
        for (unsigned i = 0; i < cfg->num_interfaces; i++)
            for (unsigned a = 0; a < cfg->interfaces[i].num_alts; a++)
                wanted[cfg->interfaces[i].alts[a].iInterface] = true;
        for (unsigned i = 0; i < cfg->num_iads; i++)
            wanted[cfg->iads[i].iFunction] = true;
        owu_config_free(cfg);
    }
    wanted[0] = false;
    wanted[MSOS1_STRING_INDEX] = false;   /* asked for separately, without a LANGID */
    for (int l = 0; l < nlang; l++)
        for (unsigned idx = 1; idx < 256; idx++)
            if (wanted[idx])
                read_string(w, (uint8_t)idx, langs[l]);
}

/* Step 7: BOS and the MS OS 2.0 set. Returns true when an MS OS 2.0 set was read. */
static bool read_bos(struct walk *w)
{
    int n = get_descriptor(w, OWU_DT_BOS, 0, 0, 5);
    if (n < 5 || w->buf[1] != OWU_DT_BOS)
        return false;
    uint16_t total = owu_le16(w->buf + 2);
    if (total < 5)
        return false;
    n = get_descriptor(w, OWU_DT_BOS, 0, 0, total);
    if (n < 5)
        return false;
    owu_devinfo_set_bos(w->info, w->buf, (size_t)n);

    struct owu_bos *bos = NULL;
    if (owu_bos_parse(w->buf, (size_t)n, &bos, NULL) != OWU_OK)
        return false;   /* kept raw for the profile; the ID builder ignores it */
    const struct owu_msos20_set_info *set = owu_bos_msos20_for(bos, w->opt->windows_version);
    bool got = false;
    if (set && set->bMS_VendorCode && set->wTotalLength >= 10) {
        uint16_t len = set->wTotalLength;
        n = control_in(w, VENDOR_IN_DEVICE, set->bMS_VendorCode, 0, 0x07, len);
        if (n > 0) {
            owu_devinfo_set_msos20(w->info, w->buf, (size_t)n);
            got = true;
        }
    }
    owu_bos_free(bos);
    return got;
}

/* Reads a vendor "feature descriptor" of MS OS 1.0: header first, then its dwLength. */
static int read_msos1_feature(struct walk *w, uint8_t recipient, uint16_t wvalue, uint16_t windex,
                              uint16_t header_len)
{
    int n = control_in(w, recipient, w->info->msos1.vendor_code, wvalue, windex, header_len);
    if (n < (int)header_len)
        return -1;
    uint32_t total = owu_le32(w->buf);
    if (total < header_len || total > 0xFFFF)
        return -1;
    if (total == header_len)
        return n;
    return control_in(w, recipient, w->info->msos1.vendor_code, wvalue, windex, (uint16_t)total);
}

/* Step 8: MS OS 1.0. */
static void read_msos1(struct walk *w)
{
    static const uint8_t signature[14] = {'M', 0, 'S', 0, 'F', 0, 'T', 0, '1', 0, '0', 0, '0', 0};
    int n = get_descriptor(w, OWU_DT_STRING, MSOS1_STRING_INDEX, 0, 0x12);
    if (n < 18 || w->buf[0] != 0x12 || w->buf[1] != OWU_DT_STRING ||
        memcmp(w->buf + 2, signature, sizeof signature) != 0)
        return;
    owu_devinfo_add_string(w->info, MSOS1_STRING_INDEX, 0, w->buf, 18);
    struct owu_msos1_info *m = &w->info->msos1;
    m->present = true;
    m->vendor_code = w->buf[16];
    m->flags = w->buf[17];

    n = read_msos1_feature(w, VENDOR_IN_DEVICE, 0, 0x0004, 16);
    if (n > 0)
        owu_devinfo_set_blob(&m->compat_id, &m->compat_id_len, w->buf, (size_t)n);

    /* Extended properties: interface 0 for a single-function device; for a composite, the
     * first interface of each function the compat descriptor lists. The interface number
     * travels in the low byte of wValue, as Windows sends it. */
    bool ask[256] = {false};
    ask[0] = true;
    if (m->compat_id && m->compat_id_len >= 16) {
        unsigned count = m->compat_id[12];
        for (unsigned i = 0; i < count && 16 + 24 * (size_t)(i + 1) <= m->compat_id_len; i++)
            ask[m->compat_id[16 + 24 * i]] = true;
    }
    for (unsigned intf = 0; intf < 256; intf++) {
        if (!ask[intf])
            continue;
        n = read_msos1_feature(w, VENDOR_IN_INTERFACE, (uint16_t)intf, 0x0005, 10);
        if (n > 0)
            owu_devinfo_add_msos1_props(w->info, (uint8_t)intf, w->buf, (size_t)n);
    }
    if (m->flags & 0x02) {
        n = read_msos1_feature(w, VENDOR_IN_DEVICE, 0, 0x0006, 24);
        if (n > 0)
            owu_devinfo_set_blob(&m->container_id, &m->container_id_len, w->buf, (size_t)n);
    }
}

int owu_enumerate(struct owu_usb_device *dev, const struct owu_enum_options *opt,
                  struct owu_devinfo **out, owu_err *err)
{
    if (!dev || !out)
        return owu_fail(err, OWU_E_INVAL, "enumerate: no device");
    struct owu_enum_options defaults;
    if (!opt) {
        owu_enum_options_default(&defaults);
        opt = &defaults;
    }
    struct walk *w = calloc(1, sizeof *w);
    struct owu_devinfo *info = owu_devinfo_new();
    if (!w || !info) {
        free(w);
        owu_devinfo_free(info);
        return owu_fail(err, OWU_E_NOMEM, "enumerate: out of memory");
    }
    w->dev = dev;
    w->opt = opt;
    w->info = info;
    info->speed = dev->speed;
    info->port = dev->port;
    info->removable = dev->removable;
    snprintf(info->location, sizeof info->location, "%s", dev->location);
    *out = info;

    const struct owu_hcd_ops *ops = dev->hcd->ops;
    owu_err why = {0};
    int n;

    /* 1. reset */
    if (ops->reset_port && (n = ops->reset_port(dev)) != OWU_OK) {
        fail(w, OWU_FAIL_RESET, "port reset failed: %s", owu_status_name(n));
        goto done;
    }
    /* 2. first 8 bytes of the device descriptor */
    n = get_descriptor(w, OWU_DT_DEVICE, 0, 0, 8);
    if (n < 0) {
        fail(w, OWU_FAIL_DEVICE_DESCRIPTOR, "device descriptor (8 bytes): %s", owu_status_name(n));
        goto done;
    }
    if (n < 8) {
        fail(w, OWU_FAIL_DEVICE_DESCRIPTOR, "device descriptor: only %d of 8 bytes returned", n);
        goto done;
    }
    memcpy(info->device, w->buf, 8);
    info->device_len = 8;
    if (owu_device_desc_check_prefix(w->buf, 8, dev->speed, &why) != OWU_OK) {
        fail(w, OWU_FAIL_DEVICE_DESCRIPTOR_INVALID, "%s", why.msg);
        goto done;
    }
    dev->ep0_max_packet = w->buf[7] == 9 ? 512u : w->buf[7];

    /* 3. address */
    if (ops->set_address) {
        uint8_t address = (uint8_t)(dev->port & 0x7F ? dev->port & 0x7F : 1);
        if ((n = ops->set_address(dev, address)) != OWU_OK) {
            fail(w, OWU_FAIL_SET_ADDRESS, "SET_ADDRESS %u failed: %s", address, owu_status_name(n));
            goto done;
        }
    }
    /* 4. full device descriptor */
    n = get_descriptor(w, OWU_DT_DEVICE, 0, 0, OWU_DEVICE_DESC_SIZE);
    if (n < 0) {
        fail(w, OWU_FAIL_DEVICE_DESCRIPTOR, "device descriptor (18 bytes): %s", owu_status_name(n));
        goto done;
    }
    memcpy(info->device, w->buf, (size_t)n);
    info->device_len = (size_t)n;
    struct owu_device_desc dd;
    if (owu_device_desc_parse(w->buf, (size_t)n, dev->speed, &dd, &why) != OWU_OK) {
        fail(w, OWU_FAIL_DEVICE_DESCRIPTOR_INVALID, "%s", why.msg);
        goto done;
    }
    /* 5. configurations: the first must be good; later ones are kept while readable. */
    unsigned nconf = dd.bNumConfigurations < MAX_CONFIGS ? dd.bNumConfigurations : MAX_CONFIGS;
    for (unsigned c = 0; c < nconf; c++) {
        enum owu_enum_failure kind = OWU_FAIL_NONE;
        if (!read_config(w, (uint8_t)c, &why, &kind)) {
            if (c == 0) {
                fail(w, kind, "%s", why.msg);
                goto done;
            }
            break;
        }
    }
    /* 6. strings */
    read_strings(w, &dd);
    /* 7. BOS and MS OS 2.0 */
    bool msos20 = dd.bcdUSB >= 0x0201 && read_bos(w);
    /* 8. MS OS 1.0, not for USB 1.x devices and not when MS OS 2.0 answered */
    bool usb1x = dd.bcdUSB >= 0x0100 && dd.bcdUSB <= 0x01FF;
    if (!msos20 && !usb1x)
        read_msos1(w);
    /* 9. configure */
    if (opt->set_configuration && info->num_configs > 0 && !w->silent) {
        uint8_t value = info->configs[0].data[5];
        n = owu_dev_set_configuration(dev, value, opt->timeout_ms);
        if (n != OWU_OK)
            snprintf(info->failure_detail, sizeof info->failure_detail,
                     "SET_CONFIGURATION %u failed: %s", value, owu_status_name(n));
    }
done:
    free(w);
    return OWU_OK;
}
