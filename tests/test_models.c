/* The device models and the generic standard-request handler: descriptor tables of every
 * model (parsed with the stack's own parsers), standard requests answered from them, the
 * MS OS 1.0/2.0 requests, the hostile models' faults, then every model's behaviour end to end
 * through the virtual bus (control and data transfers, pending URBs, event injection) and a
 * record/replay round trip through the profile model. */
#include <pthread.h>
#include <time.h>

#include <openwinusb/descriptors.h>
#include <openwinusb/devinfo.h>

#include "check.h"
#include "core/enumerate.h"
#include "core/urb.h"
#include "devices/models.h"
#include "hcd/vbus.h"

#define TIMEOUT_MS 2000
#define DATA_BUF (65536 + 1024)

/* ---- helpers: a device model outside any bus ------------------------------------------------ */

/* A live model state built by hand: no bus, so only control requests that complete no URB
 * may be sent to it. */
struct hand {
    struct owu_vdev vd;
    uint8_t data[DATA_BUF];
};

static struct hand *hand_new(const struct owu_vdev_model *m)
{
    struct hand *h = calloc(1, sizeof *h);
    h->vd.model = m;
    h->vd.priv = calloc(1, m->priv_size ? m->priv_size : 1);
    if (m->init)
        CHECK_INT(m->init(&h->vd, NULL), OWU_OK);
    return h;
}

static void hand_free(struct hand *h)
{
    if (h->vd.model->fini)
        h->vd.model->fini(&h->vd);
    free(h->vd.priv);
    free(h);
}

/* What the bus does with a control request: the model first, then the standard handler. */
static int hand_ctl(struct hand *h, uint8_t type, uint8_t req, uint16_t value, uint16_t index,
                    uint16_t length)
{
    struct owu_setup s = {type, req, value, index, length};
    int rc = OWU_VDEV_DEFAULT;
    if (h->vd.model->control)
        rc = h->vd.model->control(&h->vd, &s, h->data);
    if (rc == OWU_VDEV_DEFAULT)
        rc = owu_vdev_std_request(&h->vd, &s, h->data);
    return rc;
}

static int hand_out(struct hand *h, uint8_t type, uint8_t req, uint16_t value, uint16_t index,
                    const void *bytes, uint16_t length)
{
    memset(h->data, 0, sizeof h->data);
    if (length)
        memcpy(h->data, bytes, length);
    return hand_ctl(h, type, req, value, index, length);
}

static int get_desc(struct hand *h, uint8_t type, uint8_t index, uint16_t langid, uint16_t len)
{
    memset(h->data, 0xCC, sizeof h->data);
    return hand_ctl(h, 0x80, OWU_REQ_GET_DESCRIPTOR, (uint16_t)(type << 8 | index), langid, len);
}

static const char *const standard_names[] = {"fx2", "cdc-acm", "composite", "hid-keyboard",
                                             "msos1", "mass-storage", "hub"};

static const struct owu_vdev_model *model(const char *name)
{
    const struct owu_vdev_model *m = owu_vdev_model_find(name);
    if (!m)
        fprintf(stderr, "model %s not registered\n", name);
    return m;
}

/* check.h prints err->msg when given an owu_err pointer; passing &err straight in makes
 * -Waddress complain that the test for NULL is always true. */
static const owu_err *errp(const owu_err *e) { return e; }

/* UTF-16LE (ASCII range) to a C string, for MS OS property names and values. */
static void utf16_ascii(const uint8_t *p, size_t bytes, char *out, size_t outsz)
{
    size_t n = 0;
    for (size_t i = 0; i + 1 < bytes && n + 1 < outsz; i += 2)
        out[n++] = p[i + 1] ? '?' : (char)p[i];
    out[n] = '\0';
}

/* ---- registry ------------------------------------------------------------------------------ */

static void test_registry(void)
{
    const struct owu_vdev_model *const *all = owu_vdev_models();
    unsigned count = 0, in_all = 0, hostile = 0;
    for (const struct owu_vdev_model *const *m = all; *m; m++) {
        count++;
        CHECK(owu_vdev_model_find((*m)->name) == *m);
        CHECK((*m)->summary && *(*m)->summary);
        bool is_hostile = strncmp((*m)->name, "hostile-", 8) == 0;
        hostile += is_hostile;
        if (owu_vdev_model_in_all(*m)) {
            in_all++;
            CHECK(!is_hostile);
            CHECK(strcmp((*m)->name, "profile") != 0);
        }
        for (const struct owu_vdev_model *const *o = all; *o; o++)
            if (o != m)
                CHECK(strcmp((*o)->name, (*m)->name) != 0);
    }
    CHECK_INT(in_all, 7);
    CHECK_INT(hostile, 13);
    CHECK_INT(count, 7 + 1 + 1 + 13);   /* + iso-loopback (named only) */
    for (size_t i = 0; i < 7; i++) {
        CHECK(model(standard_names[i]) != NULL);
        CHECK(owu_vdev_model_in_all(model(standard_names[i])));
    }
    CHECK(owu_vdev_model_find("profile") == &owu_model_profile);
    CHECK(!owu_vdev_model_in_all(&owu_model_profile));
    CHECK(!owu_vdev_model_in_all(&owu_model_hostile_silent));
    CHECK(owu_vdev_model_find("nonexistent") == NULL);
    CHECK(owu_vdev_model_find("") == NULL);
    CHECK(owu_vdev_model_find(NULL) == NULL);
}

/* ---- descriptor tables ------------------------------------------------------------------------ */

/* Walks an MS OS 2.0 descriptor set: every piece within its parent, lengths consistent.
 * Returns the number of features found, or -1. */
static int walk_msos20(const uint8_t *p, size_t len)
{
    if (len < 10 || owu_le16(p) != 10 || owu_le16(p + 2) != 0 || owu_le16(p + 8) != len)
        return -1;
    int features = 0;
    size_t pos = 10, config_end = len, function_end = len;
    while (pos < len) {
        if (len - pos < 4)
            return -1;
        uint16_t wlen = owu_le16(p + pos), type = owu_le16(p + pos + 2);
        if (wlen < 4 || wlen > len - pos)
            return -1;
        if (type == 1) {
            config_end = pos + owu_le16(p + pos + 6);
            if (config_end > len || config_end < pos + 8)
                return -1;
        } else if (type == 2) {
            function_end = pos + owu_le16(p + pos + 6);
            if (function_end > config_end || function_end < pos + 8)
                return -1;
        } else {
            if (pos + wlen > function_end)
                return -1;
            features++;
        }
        pos += wlen;
    }
    return features;
}

static void test_standard_tables_parse(void)
{
    for (size_t i = 0; i < 7; i++) {
        const struct owu_vdev_model *m = model(standard_names[i]);
        if (!m)
            continue;
        owu_err err = {0};
        struct owu_device_desc dd;
        CHECK_INT(m->device_len, 18);
        CHECK_OK(owu_device_desc_parse(m->device, m->device_len, m->speed, &dd, &err), errp(&err));
        CHECK_INT(dd.bNumConfigurations, m->num_configs);
        CHECK(dd.iManufacturer != 0 && dd.iProduct != 0);
        /* Only the FX2 (like the real kit) and the keyboard have no serial number. */
        bool no_serial = strcmp(m->name, "fx2") == 0 || strcmp(m->name, "hid-keyboard") == 0;
        CHECK_INT(dd.iSerialNumber == 0, no_serial);
        CHECK_INT(dd.idVendor, strcmp(m->name, "fx2") == 0 ? 0x0547 : 0x1209);
        for (unsigned c = 0; c < m->num_configs; c++) {
            struct owu_config *cfg = NULL;
            CHECK_OK(owu_config_parse(m->configs[c].data, m->configs[c].len, &cfg, &err), errp(&err));
            if (!cfg)
                continue;
            CHECK_INT(cfg->wTotalLength, m->configs[c].len);
            CHECK_INT(cfg->bConfigurationValue, c + 1);
            CHECK_INT(cfg->num_interfaces, cfg->bNumInterfaces);
            owu_config_free(cfg);
        }
        /* Every string the device descriptor names exists, in every listed language. */
        struct hand *h = hand_new(m);
        uint8_t idx[3] = {dd.iManufacturer, dd.iProduct, dd.iSerialNumber};
        for (unsigned l = 0; l < m->num_langids; l++)
            for (unsigned k = 0; k < 3; k++) {
                if (!idx[k])
                    continue;
                int n = get_desc(h, OWU_DT_STRING, idx[k], m->langids[l], 255);
                char text[256];
                CHECK(n > 2);
                CHECK(owu_string_desc_decode(h->data, n > 0 ? (size_t)n : 0, text, sizeof text, NULL) > 0);
            }
        hand_free(h);
        if (m->bos) {
            struct owu_bos *bos = NULL;
            CHECK_OK(owu_bos_parse(m->bos, m->bos_len, &bos, &err), errp(&err));
            CHECK(dd.bcdUSB >= 0x0201);
            if (bos && m->msos20) {
                CHECK(bos->has_msos20);
                const struct owu_msos20_set_info *set = owu_bos_msos20_for(bos, 0x0A000000);
                CHECK(set != NULL);
                if (set) {
                    CHECK_INT(set->bMS_VendorCode, m->msos20_vendor_code);
                    CHECK_INT(set->wTotalLength, m->msos20_len);
                }
                CHECK(walk_msos20(m->msos20, m->msos20_len) > 0);
            }
            owu_bos_free(bos);
        }
    }
}

static void test_model_ids(void)
{
    static const struct {
        const char *name;
        uint16_t pid;
        uint8_t cls;
        enum owu_speed speed;
    } want[] = {
        {"fx2", 0x1002, 0x00, OWU_SPEED_HIGH},        {"cdc-acm", 0x0001, 0xEF, OWU_SPEED_HIGH},
        {"composite", 0x0002, 0xEF, OWU_SPEED_HIGH},  {"hid-keyboard", 0x0003, 0x00, OWU_SPEED_FULL},
        {"msos1", 0x0004, 0x00, OWU_SPEED_HIGH},      {"mass-storage", 0x0005, 0x00, OWU_SPEED_HIGH},
        {"hub", 0x0006, 0x09, OWU_SPEED_HIGH},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const struct owu_vdev_model *m = model(want[i].name);
        if (!m)
            continue;
        CHECK_INT(owu_le16(m->device + 10), want[i].pid);
        CHECK_INT(m->device[4], want[i].cls);
        CHECK_INT(m->speed, want[i].speed);
    }
    /* Interface classes that drive driver matching. */
    struct owu_config *cfg = NULL;
    CHECK_OK(owu_config_parse(owu_model_composite.configs[0].data, owu_model_composite.configs[0].len,
                              &cfg, NULL), (owu_err *)NULL);
    if (cfg) {
        CHECK_INT(cfg->num_interfaces, 4);
        CHECK_INT(cfg->num_iads, 1);
        CHECK_INT(cfg->iads[0].bFirstInterface, 0);
        CHECK_INT(cfg->iads[0].bInterfaceCount, 2);
        CHECK_INT(cfg->iads[0].bFunctionClass, 0x02);
        CHECK_INT(cfg->interfaces[2].alts[0].bInterfaceClass, 0xFF);
        CHECK_INT(cfg->interfaces[3].alts[0].bInterfaceClass, 0x03);
        CHECK_INT(cfg->interfaces[3].alts[0].bInterfaceProtocol, 0x01);
        /* The CDC functional descriptors sit in the comm interface's extra bytes. */
        const struct owu_altsetting *comm = &cfg->interfaces[0].alts[0];
        CHECK_INT(comm->extra.len, 19);
        if (comm->extra.len == 19) {
            CHECK_INT(comm->extra.data[2], 0x00);    /* Header */
            CHECK_INT(owu_le16(comm->extra.data + 3), 0x0110);
            CHECK_INT(comm->extra.data[12], 0x02);   /* ACM */
            CHECK_INT(comm->extra.data[13], 0x06);
            CHECK_INT(comm->extra.data[16], 0x06);   /* Union 0 -> 1 */
            CHECK_INT(comm->extra.data[17], 0);
            CHECK_INT(comm->extra.data[18], 1);
        }
        CHECK_INT(comm->endpoints[0].wMaxPacketSize, 16);
        owu_config_free(cfg);
    }
    cfg = NULL;
    CHECK_OK(owu_config_parse(owu_model_mass_storage.configs[0].data,
                              owu_model_mass_storage.configs[0].len, &cfg, NULL), (owu_err *)NULL);
    if (cfg) {
        const struct owu_altsetting *a = &cfg->interfaces[0].alts[0];
        CHECK(a->bInterfaceClass == 0x08 && a->bInterfaceSubClass == 0x06 && a->bInterfaceProtocol == 0x50);
        owu_config_free(cfg);
    }
}

static void test_hostile_tables(void)
{
    owu_err err = {0};
    struct owu_config *cfg = NULL;
    const struct owu_vdev_model *m = &owu_model_hostile_total_length;
    CHECK_INT(owu_config_parse(m->configs[0].data, m->configs[0].len, &cfg, &err), OWU_E_BADDESC);
    CHECK_CONTAINS(err.msg, "wTotalLength");
    CHECK_INT(owu_le16(m->configs[0].data + 2), 64);
    CHECK_INT(m->configs[0].len, 32);

    m = &owu_model_hostile_zero_blength;
    CHECK_INT(owu_config_parse(m->configs[0].data, m->configs[0].len, &cfg, &err), OWU_E_BADDESC);
    CHECK_CONTAINS(err.msg, "bLength");
    m = &owu_model_hostile_truncated;
    CHECK_INT(owu_config_parse(m->configs[0].data, m->configs[0].len, &cfg, &err), OWU_E_BADDESC);
    CHECK(cfg == NULL);

    struct owu_bos *bos = NULL;
    m = &owu_model_hostile_loop;
    CHECK_INT(owu_bos_parse(m->bos, m->bos_len, &bos, &err), OWU_E_BADDESC);
    CHECK(walk_msos20(m->msos20, m->msos20_len) < 0);
    m = &owu_model_hostile_msos20_zero;
    CHECK_OK(owu_bos_parse(m->bos, m->bos_len, &bos, &err), errp(&err));
    owu_bos_free(bos);
    CHECK(walk_msos20(m->msos20, m->msos20_len) < 0);

    struct owu_device_desc dd;
    CHECK_INT(owu_device_desc_parse(owu_model_hostile_ep0.device, 18, OWU_SPEED_FULL, &dd, &err),
              OWU_E_BADDESC);
    CHECK_CONTAINS(err.msg, "bMaxPacketSize0");
    CHECK_INT(owu_device_desc_parse(owu_model_hostile_bad_device.device, 18, OWU_SPEED_FULL, &dd, &err),
              OWU_E_BADDESC);
    CHECK_INT(owu_model_hostile_bad_device.device[0], 17);
    CHECK_INT(owu_model_hostile_bad_device.device[17], 0);
    CHECK_INT(owu_device_desc_parse(owu_model_hostile_zero_configs.device, 18, OWU_SPEED_FULL, &dd, &err),
              OWU_E_BADDESC);
    CHECK_CONTAINS(err.msg, "bNumConfigurations");
    /* The other hostile models have sound tables: their faults are in how they answer. */
    const struct owu_vdev_model *sound[] = {&owu_model_hostile_silent, &owu_model_hostile_no_address,
                                            &owu_model_hostile_stall_device,
                                            &owu_model_hostile_stall_config,
                                            &owu_model_hostile_long_string};
    for (size_t i = 0; i < sizeof sound / sizeof sound[0]; i++) {
        CHECK_OK(owu_device_desc_parse(sound[i]->device, sound[i]->device_len, sound[i]->speed, &dd, &err),
                 errp(&err));
        CHECK_OK(owu_config_parse(sound[i]->configs[0].data, sound[i]->configs[0].len, &cfg, &err), errp(&err));
        owu_config_free(cfg);
        cfg = NULL;
    }
}

/* ---- the standard handler, on models outside a bus -------------------------------------------- */

static void test_get_descriptor(void)
{
    struct hand *h = hand_new(&owu_model_fx2);
    /* Device descriptor: always truncated to wLength. */
    CHECK_INT(get_desc(h, OWU_DT_DEVICE, 0, 0, 8), 8);
    CHECK(memcmp(h->data, owu_model_fx2.device, 8) == 0);
    CHECK_INT(h->data[8], 0xCC);
    CHECK_INT(get_desc(h, OWU_DT_DEVICE, 0, 0, 64), 18);
    CHECK(memcmp(h->data, owu_model_fx2.device, 18) == 0);
    CHECK_INT(get_desc(h, OWU_DT_DEVICE, 0, 0, 0), 0);
    /* Configuration: header first, then wTotalLength; index 1 does not exist. */
    CHECK_INT(get_desc(h, OWU_DT_CONFIG, 0, 0, 9), 9);
    CHECK_INT(owu_le16(h->data + 2), 39);
    CHECK_INT(get_desc(h, OWU_DT_CONFIG, 0, 0, 0xFFFF), 39);
    CHECK(memcmp(h->data, owu_model_fx2.configs[0].data, 39) == 0);
    CHECK_INT(get_desc(h, OWU_DT_CONFIG, 1, 0, 0xFFFF), OWU_E_STALL);
    /* Strings: LANGID list, text by index, truncation keeps bLength. */
    CHECK_INT(get_desc(h, OWU_DT_STRING, 0, 0, 255), 4);
    CHECK(h->data[0] == 4 && h->data[1] == 3 && owu_le16(h->data + 2) == 0x0409);
    int n = get_desc(h, OWU_DT_STRING, 2, 0x0409, 255);
    char text[128];
    CHECK(n > 0 && owu_string_desc_decode(h->data, (size_t)n, text, sizeof text, NULL) > 0);
    CHECK_STR(text, "OSR USB-FX2 Learning Kit");
    CHECK_INT(get_desc(h, OWU_DT_STRING, 2, 0x0409, 2), 2);
    CHECK_INT(h->data[0], 2 + 2 * strlen("OSR USB-FX2 Learning Kit"));
    CHECK_INT(get_desc(h, OWU_DT_STRING, 2, 0x0407, 255), OWU_E_STALL);   /* language not offered */
    CHECK_INT(get_desc(h, OWU_DT_STRING, 3, 0x0409, 255), OWU_E_STALL);   /* no serial */
    CHECK_INT(get_desc(h, OWU_DT_STRING, 0xEE, 0, 18), OWU_E_STALL);      /* no MS OS 1.0 */
    CHECK_INT(get_desc(h, OWU_DT_BOS, 0, 0, 5), OWU_E_STALL);
    CHECK_INT(get_desc(h, OWU_DT_INTERFACE, 0, 0, 9), OWU_E_STALL);
    /* High speed: a device qualifier and a full-speed view of the configuration. */
    CHECK_INT(get_desc(h, OWU_DT_DEVICE_QUALIFIER, 0, 0, 64), 10);
    CHECK(h->data[0] == 10 && h->data[1] == 6 && owu_le16(h->data + 2) == 0x0200);
    CHECK_INT(h->data[7], 64);
    CHECK_INT(h->data[8], 1);
    CHECK_INT(get_desc(h, OWU_DT_OTHER_SPEED_CONFIG, 0, 0, 0xFFFF), 39);
    CHECK_INT(h->data[1], OWU_DT_OTHER_SPEED_CONFIG);
    h->data[1] = OWU_DT_CONFIG;
    struct owu_config *cfg = NULL;
    CHECK_OK(owu_config_parse(h->data, 39, &cfg, NULL), (owu_err *)NULL);
    if (cfg) {
        const struct owu_altsetting *a = &cfg->interfaces[0].alts[0];
        for (unsigned e = 0; e < a->num_endpoints; e++)
            CHECK(a->endpoints[e].wMaxPacketSize <= 64);
        CHECK_INT(a->endpoints[1].wMaxPacketSize, 64);
        owu_config_free(cfg);
    }
    /* A GET_DESCRIPTOR with the OUT direction is refused. */
    CHECK_INT(hand_ctl(h, 0x00, OWU_REQ_GET_DESCRIPTOR, 0x0100, 0, 18), OWU_E_STALL);
    hand_free(h);

    /* Full speed: no qualifier. Two languages on the composite. */
    h = hand_new(&owu_model_hid_keyboard);
    CHECK_INT(get_desc(h, OWU_DT_DEVICE_QUALIFIER, 0, 0, 10), OWU_E_STALL);
    CHECK_INT(get_desc(h, OWU_DT_OTHER_SPEED_CONFIG, 0, 0, 64), OWU_E_STALL);
    CHECK_INT(get_desc(h, OWU_DT_DEVICE, 0, 0, 8), 8);
    CHECK_INT(h->data[7], 8);
    hand_free(h);
    h = hand_new(&owu_model_composite);
    CHECK_INT(get_desc(h, OWU_DT_STRING, 0, 0, 255), 6);
    CHECK_INT(owu_le16(h->data + 4), 0x0407);
    CHECK(get_desc(h, OWU_DT_STRING, 5, 0x0407, 255) > 2);
    CHECK_INT(get_desc(h, OWU_DT_STRING, 6, 0x0409, 255), OWU_E_STALL);
    CHECK_INT(get_desc(h, OWU_DT_BOS, 0, 0, 5), 5);
    CHECK_INT(owu_le16(h->data + 2), 40);
    CHECK_INT(get_desc(h, OWU_DT_BOS, 0, 0, 40), 40);
    hand_free(h);
}

static void test_address_and_configuration(void)
{
    struct hand *h = hand_new(&owu_model_fx2);
    CHECK_INT(hand_ctl(h, 0x00, OWU_REQ_SET_ADDRESS, 5, 0, 0), 0);
    CHECK_INT(h->vd.address, 5);
    CHECK_INT(hand_ctl(h, 0x00, OWU_REQ_SET_ADDRESS, 128, 0, 0), OWU_E_STALL);
    CHECK_INT(hand_ctl(h, 0x80, OWU_REQ_SET_ADDRESS, 6, 0, 0), OWU_E_STALL);
    CHECK_INT(h->vd.address, 5);

    CHECK_INT(hand_ctl(h, 0x80, OWU_REQ_GET_CONFIGURATION, 0, 0, 1), 1);
    CHECK_INT(h->data[0], 0);
    CHECK_INT(hand_ctl(h, 0x00, OWU_REQ_SET_CONFIGURATION, 2, 0, 0), OWU_E_STALL);
    CHECK_INT(h->vd.config_value, 0);
    CHECK_INT(hand_ctl(h, 0x00, OWU_REQ_SET_CONFIGURATION, 0x0101, 0, 0), OWU_E_STALL);
    CHECK_INT(hand_ctl(h, 0x00, OWU_REQ_SET_CONFIGURATION, 1, 0, 0), 0);
    CHECK_INT(h->vd.config_value, 1);
    CHECK_INT(hand_ctl(h, 0x80, OWU_REQ_GET_CONFIGURATION, 0, 0, 1), 1);
    CHECK_INT(h->data[0], 1);
    CHECK_INT(hand_ctl(h, 0x80, OWU_REQ_GET_CONFIGURATION, 0, 0, 0), 0);

    /* Interfaces: only what the configuration holds. */
    CHECK_INT(hand_ctl(h, 0x81, OWU_REQ_GET_INTERFACE, 0, 0, 1), 1);
    CHECK_INT(h->data[0], 0);
    CHECK_INT(hand_ctl(h, 0x81, OWU_REQ_GET_INTERFACE, 0, 1, 1), OWU_E_STALL);
    CHECK_INT(hand_ctl(h, 0x01, OWU_REQ_SET_INTERFACE, 0, 0, 0), 0);
    CHECK_INT(hand_ctl(h, 0x01, OWU_REQ_SET_INTERFACE, 1, 0, 0), OWU_E_STALL);
    CHECK_INT(hand_ctl(h, 0x01, OWU_REQ_SET_INTERFACE, 0, 1, 0), OWU_E_STALL);

    /* Unconfigured again: interface requests stall. */
    CHECK_INT(hand_ctl(h, 0x00, OWU_REQ_SET_CONFIGURATION, 0, 0, 0), 0);
    CHECK_INT(h->vd.config_value, 0);
    CHECK_INT(hand_ctl(h, 0x81, OWU_REQ_GET_INTERFACE, 0, 0, 1), OWU_E_STALL);
    CHECK_INT(hand_ctl(h, 0x01, OWU_REQ_SET_INTERFACE, 0, 0, 0), OWU_E_STALL);
    /* Requests nobody implements. */
    CHECK_INT(hand_ctl(h, 0x00, OWU_REQ_SET_DESCRIPTOR, 0x0100, 0, 0), OWU_E_STALL);
    CHECK_INT(hand_ctl(h, 0x82, OWU_REQ_SYNCH_FRAME, 0, 0x88, 2), OWU_E_STALL);
    CHECK_INT(hand_ctl(h, 0x21, 0x22, 0, 0, 0), OWU_E_STALL);   /* a class request to the FX2 */
    hand_free(h);

    h = hand_new(&owu_model_composite);
    CHECK_INT(hand_ctl(h, 0x00, OWU_REQ_SET_CONFIGURATION, 1, 0, 0), 0);
    CHECK_INT(hand_ctl(h, 0x81, OWU_REQ_GET_INTERFACE, 0, 3, 1), 1);
    CHECK_INT(hand_ctl(h, 0x81, OWU_REQ_GET_INTERFACE, 0, 4, 1), OWU_E_STALL);
    CHECK_INT(hand_ctl(h, 0x01, OWU_REQ_SET_INTERFACE, 0, 2, 0), 0);
    hand_free(h);
}

static void test_status_and_features(void)
{
    struct hand *h = hand_new(&owu_model_fx2);
    /* Device status: bus-powered; remote wakeup allowed (bmAttributes 0xA0). */
    CHECK_INT(hand_ctl(h, 0x80, OWU_REQ_GET_STATUS, 0, 0, 2), 2);
    CHECK_INT(owu_le16(h->data), 0);
    CHECK_INT(hand_ctl(h, 0x00, OWU_REQ_SET_FEATURE, OWU_FEAT_DEVICE_REMOTE_WAKEUP, 0, 0), 0);
    CHECK_INT(hand_ctl(h, 0x80, OWU_REQ_GET_STATUS, 0, 0, 2), 2);
    CHECK_INT(owu_le16(h->data), 0x0002);
    CHECK_INT(hand_ctl(h, 0x00, OWU_REQ_CLEAR_FEATURE, OWU_FEAT_DEVICE_REMOTE_WAKEUP, 0, 0), 0);
    CHECK(!h->vd.remote_wakeup);
    CHECK_INT(hand_ctl(h, 0x00, OWU_REQ_SET_FEATURE, OWU_FEAT_TEST_MODE, 0x0100, 0), OWU_E_STALL);

    /* Endpoint status: only endpoint 0 before configuration. */
    CHECK_INT(hand_ctl(h, 0x82, OWU_REQ_GET_STATUS, 0, 0x00, 2), 2);
    CHECK_INT(hand_ctl(h, 0x82, OWU_REQ_GET_STATUS, 0, 0x80, 2), 2);
    CHECK_INT(hand_ctl(h, 0x82, OWU_REQ_GET_STATUS, 0, 0x88, 2), OWU_E_STALL);
    CHECK_INT(hand_ctl(h, 0x81, OWU_REQ_GET_STATUS, 0, 0, 2), OWU_E_STALL);
    CHECK_INT(hand_ctl(h, 0x00, OWU_REQ_SET_CONFIGURATION, 1, 0, 0), 0);
    CHECK_INT(hand_ctl(h, 0x81, OWU_REQ_GET_STATUS, 0, 0, 2), 2);
    CHECK_INT(hand_ctl(h, 0x81, OWU_REQ_GET_STATUS, 0, 1, 2), OWU_E_STALL);
    CHECK_INT(hand_ctl(h, 0x82, OWU_REQ_GET_STATUS, 0, 0x88, 2), 2);
    CHECK_INT(owu_le16(h->data), 0);
    /* Halt: set, seen in GET_STATUS and by the bus, cleared. Direction matters. */
    CHECK_INT(hand_ctl(h, 0x02, OWU_REQ_SET_FEATURE, OWU_FEAT_ENDPOINT_HALT, 0x88, 0), 0);
    CHECK(owu_vdev_halted(&h->vd, 0x88));
    CHECK(!owu_vdev_halted(&h->vd, 0x08));
    CHECK_INT(hand_ctl(h, 0x82, OWU_REQ_GET_STATUS, 0, 0x88, 2), 2);
    CHECK_INT(owu_le16(h->data), 1);
    CHECK_INT(hand_ctl(h, 0x02, OWU_REQ_CLEAR_FEATURE, OWU_FEAT_ENDPOINT_HALT, 0x88, 0), 0);
    CHECK(!owu_vdev_halted(&h->vd, 0x88));
    CHECK_INT(hand_ctl(h, 0x82, OWU_REQ_GET_STATUS, 0, 0x88, 2), 2);
    CHECK_INT(owu_le16(h->data), 0);
    CHECK_INT(hand_ctl(h, 0x02, OWU_REQ_SET_FEATURE, OWU_FEAT_ENDPOINT_HALT, 0x08, 0), OWU_E_STALL);
    CHECK_INT(hand_ctl(h, 0x02, OWU_REQ_SET_FEATURE, OWU_FEAT_ENDPOINT_HALT, 0x87, 0), OWU_E_STALL);
    CHECK_INT(hand_ctl(h, 0x02, OWU_REQ_SET_FEATURE, 5, 0x88, 0), OWU_E_STALL);
    CHECK_INT(hand_ctl(h, 0x02, OWU_REQ_CLEAR_FEATURE, OWU_FEAT_ENDPOINT_HALT, 0x00, 0), 0);
    /* Halts end with SET_CONFIGURATION. */
    CHECK_INT(hand_ctl(h, 0x02, OWU_REQ_SET_FEATURE, OWU_FEAT_ENDPOINT_HALT, 0x06, 0), 0);
    CHECK(owu_vdev_halted(&h->vd, 0x06));
    CHECK_INT(hand_ctl(h, 0x00, OWU_REQ_SET_CONFIGURATION, 1, 0, 0), 0);
    CHECK(!owu_vdev_halted(&h->vd, 0x06));
    hand_free(h);

    /* Self-powered hub; no remote wakeup on the CDC-ACM (bmAttributes 0x80). */
    h = hand_new(&owu_model_hub);
    CHECK_INT(hand_ctl(h, 0x80, OWU_REQ_GET_STATUS, 0, 0, 2), 2);
    CHECK_INT(owu_le16(h->data), 0x0001);
    hand_free(h);
    h = hand_new(&owu_model_cdc_acm);
    CHECK_INT(hand_ctl(h, 0x00, OWU_REQ_SET_FEATURE, OWU_FEAT_DEVICE_REMOTE_WAKEUP, 0, 0), OWU_E_STALL);
    hand_free(h);
}

static void test_msos1_requests(void)
{
    struct hand *h = hand_new(&owu_model_msos1);
    CHECK_INT(get_desc(h, OWU_DT_STRING, 0xEE, 0, 0x12), 18);
    static const uint8_t sig[14] = {'M', 0, 'S', 0, 'F', 0, 'T', 0, '1', 0, '0', 0, '0', 0};
    CHECK(h->data[0] == 18 && h->data[1] == 3 && memcmp(h->data + 2, sig, 14) == 0);
    CHECK_INT(h->data[16], 0x20);
    CHECK_INT(h->data[17], 0x02);
    CHECK_INT(get_desc(h, OWU_DT_STRING, 0xEE, 0, 2), 2);

    /* Extended compat ID: header first, then the whole descriptor. */
    CHECK_INT(hand_ctl(h, 0xC0, 0x20, 0, 4, 16), 16);
    CHECK_INT(owu_le32(h->data), 40);
    CHECK_INT(hand_ctl(h, 0xC0, 0x20, 0, 4, 40), 40);
    CHECK_INT(owu_le16(h->data + 4), 0x0100);
    CHECK_INT(owu_le16(h->data + 6), 4);
    CHECK_INT(h->data[8], 1);
    CHECK_INT(h->data[16], 0);                               /* bFirstInterfaceNumber */
    CHECK(memcmp(h->data + 18, "WINUSB\0\0", 8) == 0);
    CHECK_INT(hand_ctl(h, 0xC1, 0x20, 0, 4, 40), 40);

    /* Extended properties for interface 0 (interface in the low byte of wValue). */
    CHECK_INT(hand_ctl(h, 0xC1, 0x20, 0, 5, 10), 10);
    CHECK_INT(owu_le32(h->data), 200);
    CHECK_INT(owu_le16(h->data + 8), 2);
    CHECK_INT(hand_ctl(h, 0xC1, 0x20, 0, 5, 0xFFFF), 200);
    const uint8_t *p = h->data + 10;
    char name[64], value[64];
    CHECK_INT(owu_le32(p), 136);
    CHECK_INT(owu_le32(p + 4), 7);
    CHECK_INT(owu_le16(p + 8), 42);
    utf16_ascii(p + 10, 42, name, sizeof name);
    CHECK_STR(name, "DeviceInterfaceGUIDs");
    CHECK_INT(owu_le32(p + 52), 80);
    utf16_ascii(p + 56, 76, value, sizeof value);
    CHECK_STR(value, "{1F0E6D5C-4B3A-4928-8776-A5B4C3D2E1F0}");
    CHECK(p[132] == 0 && p[133] == 0 && p[134] == 0 && p[135] == 0);   /* double NUL */
    p += 136;
    CHECK_INT(owu_le32(p), 54);
    CHECK_INT(owu_le32(p + 4), 4);
    utf16_ascii(p + 10, owu_le16(p + 8), name, sizeof name);
    CHECK_STR(name, "DeviceIdleEnabled");
    CHECK_INT(owu_le32(p + 46), 4);
    CHECK_INT(owu_le32(p + 50), 1);
    CHECK_INT(hand_ctl(h, 0xC0, 0x20, 0, 5, 10), 10);         /* device recipient works too */
    CHECK_INT(hand_ctl(h, 0xC1, 0x20, 1, 5, 10), OWU_E_STALL); /* no interface 1 */
    CHECK_INT(hand_ctl(h, 0xC1, 0x20, 0x0100, 5, 10), OWU_E_STALL); /* spec order: interface 1 */
    CHECK_INT(hand_ctl(h, 0xC1, 0x20, 0x0101, 5, 10), OWU_E_STALL); /* page 1 */

    /* ContainerID (flags bit 1). */
    CHECK_INT(hand_ctl(h, 0xC0, 0x20, 0, 6, 24), 24);
    CHECK_INT(owu_le32(h->data), 24);
    CHECK_INT(owu_le16(h->data + 6), 6);
    /* Anything else stalls. */
    CHECK_INT(hand_ctl(h, 0xC0, 0x20, 0, 7, 10), OWU_E_STALL);
    CHECK_INT(hand_ctl(h, 0xC0, 0x20, 0, 3, 10), OWU_E_STALL);
    CHECK_INT(hand_ctl(h, 0xC0, 0x21, 0, 4, 16), OWU_E_STALL);
    CHECK_INT(hand_ctl(h, 0x40, 0x20, 0, 4, 0), OWU_E_STALL);
    CHECK_INT(hand_ctl(h, 0xC2, 0x20, 0, 4, 16), OWU_E_STALL);
    hand_free(h);

    struct owu_setup s = {0xC1, 0x20, 0x0300, 5, 10};
    uint8_t intf = 0xFF;
    CHECK_INT(owu_msos1_feature_request(&s, &intf), 5);
    CHECK_INT(intf, 3);
    s.wValue = 0x0002;
    CHECK_INT(owu_msos1_feature_request(&s, &intf), 5);
    CHECK_INT(intf, 2);
}

static void test_msos20_requests(void)
{
    struct hand *h = hand_new(&owu_model_composite);
    CHECK_INT(hand_ctl(h, 0xC0, 0x21, 0, 7, 0xFFFF), 178);
    const uint8_t *p = h->data;
    CHECK_INT(walk_msos20(p, 178), 2);
    CHECK_INT(owu_le32(p + 4), 0x06030000);
    CHECK_INT(owu_le16(p + 12), 1);    /* configuration subset */
    CHECK_INT(p[14], 0);               /* bConfigurationValue: first configuration */
    CHECK_INT(owu_le16(p + 16), 168);
    CHECK_INT(owu_le16(p + 20), 2);    /* function subset */
    CHECK_INT(p[22], 2);               /* bFirstInterface */
    CHECK_INT(owu_le16(p + 24), 160);
    CHECK_INT(owu_le16(p + 28), 3);    /* compatible ID */
    CHECK(memcmp(p + 30, "WINUSB\0\0", 8) == 0);
    CHECK_INT(owu_le16(p + 46), 132);  /* registry property */
    CHECK_INT(owu_le16(p + 48), 4);
    CHECK_INT(owu_le16(p + 50), 7);
    CHECK_INT(owu_le16(p + 52), 42);
    char text[64];
    utf16_ascii(p + 54, 40, text, sizeof text);
    CHECK_STR(text, "DeviceInterfaceGUIDs");
    CHECK_INT(owu_le16(p + 96), 80);
    utf16_ascii(p + 98, 76, text, sizeof text);
    CHECK_STR(text, "{8A5E2C31-6F0B-4D7E-9C41-2B3D5E7F9A10}");

    CHECK_INT(hand_ctl(h, 0xC0, 0x21, 0, 7, 10), 10);
    CHECK_INT(hand_ctl(h, 0xC1, 0x21, 0, 7, 10), OWU_E_STALL);
    CHECK_INT(hand_ctl(h, 0x40, 0x21, 0, 8, 0), OWU_E_STALL);  /* no alternate enumeration */
    CHECK_INT(hand_ctl(h, 0xC0, 0x21, 0, 4, 16), OWU_E_STALL); /* no MS OS 1.0 */
    CHECK_INT(get_desc(h, OWU_DT_STRING, 0xEE, 0, 18), OWU_E_STALL);
    hand_free(h);
}

/* ---- class requests of the models, outside a bus ------------------------------------------------ */

static void test_fx2_vendor_requests(void)
{
    struct hand *h = hand_new(&owu_model_fx2);
    uint8_t v = 0x5A;
    CHECK_INT(hand_out(h, 0x40, 0xD8, 0, 0, &v, 1), 0);
    CHECK_INT(hand_ctl(h, 0xC0, 0xD7, 0, 0, 1), 1);
    CHECK_INT(h->data[0], 0x5A);
    v = 0x3F;
    CHECK_INT(hand_out(h, 0x40, 0xDB, 0, 0, &v, 1), 0);
    CHECK_INT(hand_ctl(h, 0xC0, 0xD4, 0, 0, 1), 1);
    CHECK_INT(h->data[0], 0x3F);
    CHECK_INT(hand_ctl(h, 0xC0, 0xD6, 0, 0, 1), 1);
    CHECK_INT(h->data[0], 0);
    CHECK_INT(hand_ctl(h, 0xC0, 0xD9, 0, 0, 1), 1);
    CHECK_INT(h->data[0], 1);
    CHECK_INT(hand_ctl(h, 0xC0, 0xD9, 0, 0, 0), 0);
    /* Microsoft's walk-through sends SET_BARGRAPH with bmRequestType 0: accepted. */
    v = 0x81;
    CHECK_INT(hand_out(h, 0x00, 0xD8, 0, 0, &v, 1), 0);
    CHECK_INT(hand_ctl(h, 0xC0, 0xD7, 0, 0, 1), 1);
    CHECK_INT(h->data[0], 0x81);
    /* Wrong direction, missing data, unknown codes. */
    CHECK_INT(hand_ctl(h, 0xC0, 0xD8, 0, 0, 1), OWU_E_STALL);
    CHECK_INT(hand_ctl(h, 0x40, 0xD8, 0, 0, 0), OWU_E_STALL);
    CHECK_INT(hand_ctl(h, 0x40, 0xD7, 0, 0, 0), OWU_E_STALL);
    CHECK_INT(hand_ctl(h, 0xC0, 0xD5, 0, 0, 1), OWU_E_STALL);
    CHECK_INT(hand_ctl(h, 0xC1, 0xD6, 0, 0, 1), OWU_E_STALL);
    hand_free(h);
}

static void test_cdc_acm_requests(void)
{
    struct hand *h = hand_new(&owu_model_cdc_acm);
    static const uint8_t def[7] = {0x80, 0x25, 0, 0, 0, 0, 8};
    CHECK_INT(hand_ctl(h, 0xA1, 0x21, 0, 0, 7), 7);
    CHECK(memcmp(h->data, def, 7) == 0);
    static const uint8_t lc[7] = {0x00, 0xC2, 0x01, 0x00, 2, 2, 7};   /* 115200 7E2 */
    CHECK_INT(hand_out(h, 0x21, 0x20, 0, 0, lc, 7), 0);
    CHECK_INT(hand_ctl(h, 0xA1, 0x21, 0, 0, 64), 7);
    CHECK(memcmp(h->data, lc, 7) == 0);
    CHECK_INT(hand_ctl(h, 0xA1, 0x21, 0, 0, 4), 4);
    /* Bad line codings and lengths stall and change nothing. */
    static const uint8_t bad_bits[7] = {0x80, 0x25, 0, 0, 0, 0, 9};
    static const uint8_t bad_parity[7] = {0x80, 0x25, 0, 0, 0, 5, 8};
    static const uint8_t zero_rate[7] = {0, 0, 0, 0, 0, 0, 8};
    CHECK_INT(hand_out(h, 0x21, 0x20, 0, 0, bad_bits, 7), OWU_E_STALL);
    CHECK_INT(hand_out(h, 0x21, 0x20, 0, 0, bad_parity, 7), OWU_E_STALL);
    CHECK_INT(hand_out(h, 0x21, 0x20, 0, 0, zero_rate, 7), OWU_E_STALL);
    CHECK_INT(hand_out(h, 0x21, 0x20, 0, 0, lc, 6), OWU_E_STALL);
    CHECK_INT(hand_ctl(h, 0xA1, 0x21, 0, 0, 7), 7);
    CHECK(memcmp(h->data, lc, 7) == 0);
    /* Control lines and break (no notification URB: queued, nothing completes). */
    CHECK_INT(hand_ctl(h, 0x21, 0x22, 0x0003, 0, 0), 0);
    CHECK_INT(hand_ctl(h, 0x21, 0x23, 250, 0, 0), 0);
    CHECK_INT(hand_ctl(h, 0xA1, 0x22, 0x0003, 0, 0), OWU_E_STALL);
    /* Requests the ACM capabilities (0x06) do not offer, and requests to the data interface. */
    CHECK_INT(hand_ctl(h, 0x21, 0x02, 1, 0, 2), OWU_E_STALL);    /* SET_COMM_FEATURE */
    CHECK_INT(hand_ctl(h, 0x21, 0x00, 0, 0, 4), OWU_E_STALL);    /* SEND_ENCAPSULATED_COMMAND */
    CHECK_INT(hand_ctl(h, 0xA1, 0x21, 0, 1, 7), OWU_E_STALL);
    CHECK_INT(hand_ctl(h, 0xA1, 0x21, 0, 0x0100, 7), OWU_E_STALL);
    hand_free(h);
}

static void test_hid_requests(void)
{
    const struct owu_vdev_model *models[] = {&owu_model_hid_keyboard, &owu_model_composite};
    const uint16_t intfs[] = {0, 3};
    for (size_t i = 0; i < 2; i++) {
        struct hand *h = hand_new(models[i]);
        uint16_t intf = intfs[i];
        CHECK_INT(hand_ctl(h, 0x81, OWU_REQ_GET_DESCRIPTOR, 0x2200, intf, 0xFF), 63);
        CHECK(h->data[0] == 0x05 && h->data[1] == 0x01 && h->data[2] == 0x09 && h->data[3] == 0x06);
        CHECK_INT(h->data[62], 0xC0);
        CHECK_INT(hand_ctl(h, 0x81, OWU_REQ_GET_DESCRIPTOR, 0x2100, intf, 0xFF), 9);
        CHECK(h->data[1] == 0x21 && h->data[6] == 0x22 && owu_le16(h->data + 7) == 63);
        CHECK_INT(hand_ctl(h, 0x81, OWU_REQ_GET_DESCRIPTOR, 0x2300, intf, 0xFF), OWU_E_STALL);
        CHECK_INT(hand_ctl(h, 0x81, OWU_REQ_GET_DESCRIPTOR, 0x2200, intf + 1, 0xFF), OWU_E_STALL);
        /* Protocol: report protocol after reset, boot on request. */
        CHECK_INT(hand_ctl(h, 0xA1, 0x03, 0, intf, 1), 1);
        CHECK_INT(h->data[0], 1);
        CHECK_INT(hand_ctl(h, 0x21, 0x0B, 0, intf, 0), 0);
        CHECK_INT(hand_ctl(h, 0xA1, 0x03, 0, intf, 1), 1);
        CHECK_INT(h->data[0], 0);
        CHECK_INT(hand_ctl(h, 0x21, 0x0B, 2, intf, 0), OWU_E_STALL);
        /* Idle: 500 ms default, then infinite. */
        CHECK_INT(hand_ctl(h, 0xA1, 0x02, 0, intf, 1), 1);
        CHECK_INT(h->data[0], 125);
        CHECK_INT(hand_ctl(h, 0x21, 0x0A, 0x0000, intf, 0), 0);
        CHECK_INT(hand_ctl(h, 0xA1, 0x02, 0, intf, 1), 1);
        CHECK_INT(h->data[0], 0);
        CHECK_INT(hand_ctl(h, 0x21, 0x0A, 0x0001, intf, 0), OWU_E_STALL);  /* report ID 1 */
        /* Reports: input (8 bytes), output (LEDs), no feature report. */
        CHECK_INT(hand_ctl(h, 0xA1, 0x01, 0x0100, intf, 8), 8);
        uint8_t zeros[8] = {0};
        CHECK(memcmp(h->data, zeros, 8) == 0);
        uint8_t leds = 0x05;
        CHECK_INT(hand_out(h, 0x21, 0x09, 0x0200, intf, &leds, 1), 0);
        CHECK_INT(hand_ctl(h, 0xA1, 0x01, 0x0200, intf, 1), 1);
        CHECK_INT(h->data[0], 0x05);
        CHECK_INT(hand_ctl(h, 0xA1, 0x01, 0x0300, intf, 8), OWU_E_STALL);
        CHECK_INT(hand_out(h, 0x21, 0x09, 0x0100, intf, zeros, 8), OWU_E_STALL);
        CHECK_INT(hand_ctl(h, 0x21, 0x05, 0, intf, 0), OWU_E_STALL);
        hand_free(h);
    }
}

static void test_other_class_requests(void)
{
    struct hand *h = hand_new(&owu_model_mass_storage);
    CHECK_INT(hand_ctl(h, 0xA1, 0xFE, 0, 0, 1), 1);   /* GET_MAX_LUN */
    CHECK_INT(h->data[0], 0);
    CHECK_INT(hand_ctl(h, 0x21, 0xFF, 0, 0, 0), 0);   /* bulk-only reset */
    CHECK_INT(hand_ctl(h, 0xA1, 0xFE, 0, 1, 1), OWU_E_STALL);
    CHECK_INT(hand_ctl(h, 0x21, 0xFE, 0, 0, 0), OWU_E_STALL);
    hand_free(h);

    h = hand_new(&owu_model_hub);
    CHECK_INT(hand_ctl(h, 0xA0, 0x06, 0x2900, 0, 64), 9);
    CHECK_INT(h->data[1], 0x29);
    CHECK_INT(h->data[2], 4);
    CHECK_INT(hand_ctl(h, 0xA0, 0x06, 0x2900, 0, 2), 2);
    CHECK_INT(hand_ctl(h, 0xA0, 0x00, 0, 0, 4), 4);
    CHECK_INT(hand_ctl(h, 0xA3, 0x00, 0, 2, 4), 4);
    CHECK_INT(owu_le16(h->data), 0);
    CHECK_INT(hand_ctl(h, 0x23, 0x03, 8, 2, 0), 0);   /* SET_FEATURE(PORT_POWER) */
    CHECK_INT(hand_ctl(h, 0xA3, 0x00, 0, 2, 4), 4);
    CHECK_INT(owu_le16(h->data), 0x0100);
    CHECK_INT(hand_ctl(h, 0xA3, 0x00, 0, 3, 4), 4);
    CHECK_INT(owu_le16(h->data), 0);
    CHECK_INT(hand_ctl(h, 0x23, 0x01, 8, 2, 0), 0);
    CHECK_INT(hand_ctl(h, 0xA3, 0x00, 0, 2, 4), 4);
    CHECK_INT(owu_le16(h->data), 0);
    CHECK_INT(hand_ctl(h, 0xA3, 0x00, 0, 5, 4), OWU_E_STALL);
    CHECK_INT(hand_ctl(h, 0x23, 0x03, 8, 0, 0), OWU_E_STALL);
    CHECK_INT(hand_ctl(h, 0x23, 0x03, 99, 1, 0), OWU_E_STALL);
    hand_free(h);
}

static void test_hostile_answers(void)
{
    struct hand *h = hand_new(&owu_model_hostile_stall_device);
    CHECK_INT(get_desc(h, OWU_DT_DEVICE, 0, 0, 8), OWU_E_STALL);
    CHECK_INT(get_desc(h, OWU_DT_CONFIG, 0, 0, 9), 9);
    hand_free(h);
    h = hand_new(&owu_model_hostile_stall_config);
    CHECK_INT(get_desc(h, OWU_DT_DEVICE, 0, 0, 18), 18);
    CHECK_INT(get_desc(h, OWU_DT_CONFIG, 0, 0, 9), OWU_E_STALL);
    hand_free(h);
    h = hand_new(&owu_model_hostile_no_address);
    CHECK_INT(hand_ctl(h, 0x00, OWU_REQ_SET_ADDRESS, 3, 0, 0), OWU_E_STALL);
    CHECK_INT(get_desc(h, OWU_DT_DEVICE, 0, 0, 18), 18);
    hand_free(h);

    h = hand_new(&owu_model_hostile_silent);
    CHECK_INT(get_desc(h, OWU_DT_DEVICE, 0, 0, 8), 8);
    CHECK_INT(get_desc(h, OWU_DT_DEVICE, 0, 0, 18), OWU_E_PENDING);
    CHECK_INT(hand_ctl(h, 0x00, OWU_REQ_SET_ADDRESS, 3, 0, 0), OWU_E_PENDING);
    hand_free(h);

    /* The long strings answer more than asked (the bus clamps and reports babble). */
    h = hand_new(&owu_model_hostile_long_string);
    CHECK_INT(get_desc(h, OWU_DT_STRING, 1, 0x0409, 2), 300);
    CHECK_INT(h->data[0], 0xFF);
    CHECK_INT(h->data[1], 3);
    CHECK_INT(h->data[300], 0xCC);   /* nothing beyond its own 300 bytes */
    CHECK_INT(get_desc(h, OWU_DT_STRING, 0, 0, 255), 4);
    hand_free(h);

    /* Walking the broken tables for SET_CONFIGURATION / GET_STATUS stays inside them. */
    const struct owu_vdev_model *broken[] = {&owu_model_hostile_total_length,
                                             &owu_model_hostile_zero_blength,
                                             &owu_model_hostile_truncated};
    for (size_t i = 0; i < 3; i++) {
        h = hand_new(broken[i]);
        CHECK_INT(hand_ctl(h, 0x00, OWU_REQ_SET_CONFIGURATION, 1, 0, 0), 0);
        CHECK_INT(hand_ctl(h, 0x82, OWU_REQ_GET_STATUS, 0, 0x81, 2), 2);
        CHECK_INT(hand_ctl(h, 0x82, OWU_REQ_GET_STATUS, 0, 0x01, 2), i == 0 ? 2 : OWU_E_STALL);
        CHECK_INT(hand_ctl(h, 0x01, OWU_REQ_SET_INTERFACE, 0, 0, 0), 0);
        CHECK_INT(get_desc(h, OWU_DT_CONFIG, 0, 0, 0xFFFF), (int)broken[i]->configs[0].len);
        hand_free(h);
    }
    h = hand_new(&owu_model_hostile_loop);
    CHECK_INT(get_desc(h, OWU_DT_BOS, 0, 0, 0xFFFF), 36);
    CHECK_INT(hand_ctl(h, 0xC0, 0x22, 0, 7, 0xFFFF), 46);
    hand_free(h);
}

/* ---- helpers: a model on a virtual bus --------------------------------------------------------- */

struct bus {
    struct owu_hcd *hcd;
    struct owu_vdev *vd;
    struct owu_usb_device *dev;
};

static bool bus_open(struct bus *b, const struct owu_vdev_model *m, const void *arg)
{
    owu_err err = {0};
    memset(b, 0, sizeof *b);
    b->hcd = owu_vbus_create(1, &err);
    CHECK(b->hcd != NULL);
    if (!b->hcd)
        return false;
    int rc = owu_vbus_plug(b->hcd, m, arg, 0, &b->vd, &err);
    CHECK_OK(rc, errp(&err));
    if (rc != OWU_OK) {
        owu_hcd_destroy(b->hcd);
        return false;
    }
    b->dev = b->vd->dev;
    return true;
}

static void bus_close(struct bus *b) { owu_hcd_destroy(b->hcd); }

static int ctl(struct bus *b, uint8_t type, uint8_t req, uint16_t value, uint16_t index, void *data,
               uint16_t len)
{
    return owu_control_sync(b->dev, type, req, value, index, data, len, TIMEOUT_MS);
}

static void configure(struct bus *b)
{
    CHECK_INT(ctl(b, 0x00, OWU_REQ_SET_ADDRESS, 7, 0, NULL, 0), 0);
    CHECK_INT(b->vd->address, 7);
    CHECK_INT(ctl(b, 0x00, OWU_REQ_SET_CONFIGURATION, 1, 0, NULL, 0), 0);
    uint8_t v = 0;
    CHECK_INT(ctl(b, 0x80, OWU_REQ_GET_CONFIGURATION, 0, 0, &v, 1), 1);
    CHECK_INT(v, 1);
}

static int xfer(struct bus *b, enum owu_xfer_type type, uint8_t ep, void *buf, size_t len,
                size_t *actual)
{
    return owu_transfer_sync(b->dev, type, ep, buf, len, actual, TIMEOUT_MS);
}

/* An URB in flight, waited for with a bound. */
struct async {
    struct owu_urb urb;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
};

static void async_complete(struct owu_urb *urb)
{
    struct async *a = urb->context;
    pthread_mutex_lock(&a->lock);
    a->done = true;
    pthread_cond_signal(&a->cond);
    pthread_mutex_unlock(&a->lock);
}

static struct async *async_submit(struct bus *b, enum owu_xfer_type type, uint8_t ep, void *buf,
                                  size_t len)
{
    struct async *a = calloc(1, sizeof *a);
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->cond, NULL);
    a->urb.dev = b->dev;
    a->urb.type = type;
    a->urb.endpoint = ep;
    a->urb.buffer = buf;
    a->urb.length = len;
    a->urb.complete = async_complete;
    a->urb.context = a;
    CHECK_INT(owu_urb_submit(&a->urb), OWU_OK);
    return a;
}

/* True once completed (waits up to TIMEOUT_MS). */
static bool async_wait(struct async *a)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += TIMEOUT_MS / 1000 + 1;
    pthread_mutex_lock(&a->lock);
    while (!a->done)
        if (pthread_cond_timedwait(&a->cond, &a->lock, &until) != 0)
            break;
    bool done = a->done;
    pthread_mutex_unlock(&a->lock);
    return done;
}

static void async_free(struct async *a)
{
    pthread_mutex_lock(&a->lock);
    bool done = a->done;
    pthread_mutex_unlock(&a->lock);
    if (!done) {
        owu_urb_cancel(&a->urb);
        CHECK(async_wait(a));
    }
    pthread_cond_destroy(&a->cond);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

struct peek_arg {
    uint8_t ep;
    bool found;
};

static void do_peek(struct owu_vdev *vd, void *arg)
{
    struct peek_arg *p = arg;
    p->found = owu_vdev_peek(vd, p->ep) != NULL;
}

/* Whether the device holds a pending URB for ep: deterministic, the model parks it during
 * submission, under the bus lock. */
static bool parked(struct bus *b, uint8_t ep)
{
    struct peek_arg p = {ep, false};
    owu_vdev_with_lock(b->vd, do_peek, &p);
    return p.found;
}

static uint8_t pattern(size_t i) { return (uint8_t)(i * 7 % 251); }

/* Reads from ep until `total` bytes came back, checking the pattern from `offset` on. */
static size_t drain(struct bus *b, uint8_t ep, size_t total, size_t offset)
{
    static uint8_t buf[16384];
    size_t got = 0;
    while (got < total) {
        size_t n = 0;
        int rc = xfer(b, OWU_XFER_BULK, ep, buf, sizeof buf, &n);
        CHECK_INT(rc, OWU_OK);
        if (rc != OWU_OK || n == 0)
            break;
        for (size_t i = 0; i < n; i++)
            if (buf[i] != pattern(offset + got + i)) {
                CHECK_INT(buf[i], pattern(offset + got + i));
                return got;
            }
        got += n;
    }
    return got;
}

/* ---- end to end: FX2 ---------------------------------------------------------------------------- */

static void test_e2e_fx2_control_and_switches(void)
{
    struct bus b;
    if (!bus_open(&b, &owu_model_fx2, NULL))
        return;
    CHECK_INT(b.dev->speed, OWU_SPEED_HIGH);
    uint8_t byte = 0;
    size_t n = 0;
    /* Nothing moves before SET_CONFIGURATION. */
    CHECK_INT(xfer(&b, OWU_XFER_INTERRUPT, 0x81, &byte, 1, &n), OWU_E_STALL);
    configure(&b);

    byte = 0xA5;
    CHECK_INT(ctl(&b, 0x40, 0xD8, 0, 0, &byte, 1), 1);
    CHECK_INT(owu_fx2_bargraph(b.vd), 0xA5);
    byte = 0x06;
    CHECK_INT(ctl(&b, 0x40, 0xDB, 0, 0, &byte, 1), 1);
    CHECK_INT(owu_fx2_7segment(b.vd), 0x06);
    CHECK_INT(ctl(&b, 0xC0, 0xD7, 0, 0, &byte, 1), 1);
    CHECK_INT(byte, 0xA5);
    CHECK_INT(ctl(&b, 0xC0, 0xD9, 0, 0, &byte, 1), 1);
    CHECK_INT(byte, 1);

    /* A switch change waits for the next interrupt IN when none is pending... */
    CHECK_INT(owu_fx2_set_switches(b.vd, 0x81), OWU_OK);
    CHECK_INT(ctl(&b, 0xC0, 0xD6, 0, 0, &byte, 1), 1);
    CHECK_INT(byte, 0x81);
    byte = 0;
    CHECK_INT(xfer(&b, OWU_XFER_INTERRUPT, 0x81, &byte, 1, &n), OWU_OK);
    CHECK_INT(n, 1);
    CHECK_INT(byte, 0x81);
    /* ... and completes a pending one at once. */
    uint8_t sw = 0;
    struct async *a = async_submit(&b, OWU_XFER_INTERRUPT, 0x81, &sw, 1);
    CHECK(parked(&b, 0x81));
    CHECK_INT(owu_fx2_set_switches(b.vd, 0x42), OWU_OK);
    CHECK(async_wait(a));
    CHECK_INT(a->urb.status, OWU_OK);
    CHECK_INT(a->urb.actual, 1);
    CHECK_INT(sw, 0x42);
    async_free(a);
    /* The same value again is no change: nothing is reported. */
    a = async_submit(&b, OWU_XFER_INTERRUPT, 0x81, &sw, 1);
    CHECK_INT(owu_fx2_set_switches(b.vd, 0x42), OWU_OK);
    CHECK(parked(&b, 0x81));
    owu_urb_cancel(&a->urb);
    CHECK(async_wait(a));
    CHECK_INT(a->urb.status, OWU_E_CANCELLED);
    async_free(a);

    /* Endpoints that are not there. */
    CHECK_INT(xfer(&b, OWU_XFER_BULK, 0x02, &byte, 1, &n), OWU_E_STALL);
    CHECK_INT(xfer(&b, OWU_XFER_BULK, 0x86, &byte, 1, &n), OWU_E_STALL);
    /* The API refuses other models. */
    CHECK_INT(owu_cdc_acm_control_lines(b.vd), OWU_E_INVAL);
    CHECK_INT(owu_hid_keyboard_press(b.vd, 0, 4), OWU_E_INVAL);
    CHECK_INT(owu_fx2_set_switches(NULL, 1), OWU_E_INVAL);
    bus_close(&b);
}

static void test_e2e_fx2_loopback(void)
{
    struct bus b;
    if (!bus_open(&b, &owu_model_fx2, NULL))
        return;
    configure(&b);
    static uint8_t out[200000], in[2048];
    for (size_t i = 0; i < sizeof out; i++)
        out[i] = pattern(i);
    size_t n = 0;

    /* Bytes come back in order; an IN URB takes what is there, up to its length. */
    CHECK_INT(xfer(&b, OWU_XFER_BULK, 0x06, out, 1000, &n), OWU_OK);
    CHECK_INT(n, 1000);
    CHECK_INT(xfer(&b, OWU_XFER_BULK, 0x88, in, 512, &n), OWU_OK);
    CHECK_INT(n, 512);
    CHECK(memcmp(in, out, 512) == 0);
    CHECK_INT(xfer(&b, OWU_XFER_BULK, 0x88, in, 2048, &n), OWU_OK);
    CHECK_INT(n, 488);
    CHECK(memcmp(in, out + 512, 488) == 0);

    /* An IN URB on an empty FIFO waits for data. */
    struct async *a = async_submit(&b, OWU_XFER_BULK, 0x88, in, sizeof in);
    CHECK(parked(&b, 0x88));
    CHECK_INT(xfer(&b, OWU_XFER_BULK, 0x06, out, 10, &n), OWU_OK);
    CHECK(async_wait(a));
    CHECK_INT(a->urb.status, OWU_OK);
    CHECK_INT(a->urb.actual, 10);
    CHECK(memcmp(in, out, 10) == 0);
    async_free(a);

    /* A full FIFO holds OUT URBs back until the host reads. */
    CHECK_INT(xfer(&b, OWU_XFER_BULK, 0x06, out, 65536, &n), OWU_OK);
    CHECK_INT(n, 65536);
    a = async_submit(&b, OWU_XFER_BULK, 0x06, out + 65536, 100);
    CHECK(parked(&b, 0x06));
    CHECK_INT(drain(&b, 0x88, 65636, 0), 65636);
    CHECK(async_wait(a));
    CHECK_INT(a->urb.status, OWU_OK);
    CHECK_INT(a->urb.actual, 100);
    async_free(a);

    /* A write larger than the FIFO goes through piecewise as the host reads. */
    a = async_submit(&b, OWU_XFER_BULK, 0x06, out, sizeof out);
    CHECK(parked(&b, 0x06));
    CHECK_INT(drain(&b, 0x88, sizeof out, 0), sizeof out);
    CHECK(async_wait(a));
    CHECK_INT(a->urb.status, OWU_OK);
    CHECK_INT(a->urb.actual, sizeof out);
    async_free(a);

    /* A zero-length write completes and loops nothing back. */
    CHECK_INT(xfer(&b, OWU_XFER_BULK, 0x06, out, 0, &n), OWU_OK);
    a = async_submit(&b, OWU_XFER_BULK, 0x88, in, sizeof in);
    CHECK(parked(&b, 0x88));
    async_free(a);
    bus_close(&b);
}

static void test_e2e_halt_and_reconfigure(void)
{
    struct bus b;
    if (!bus_open(&b, &owu_model_fx2, NULL))
        return;
    configure(&b);
    uint8_t in[64], st[2];
    size_t n = 0;
    /* SET_FEATURE(ENDPOINT_HALT) ends what was pending and stalls what follows. */
    struct async *a = async_submit(&b, OWU_XFER_BULK, 0x88, in, sizeof in);
    CHECK(parked(&b, 0x88));
    CHECK_INT(ctl(&b, 0x02, OWU_REQ_SET_FEATURE, OWU_FEAT_ENDPOINT_HALT, 0x88, NULL, 0), 0);
    CHECK(async_wait(a));
    CHECK_INT(a->urb.status, OWU_E_STALL);
    async_free(a);
    CHECK_INT(xfer(&b, OWU_XFER_BULK, 0x88, in, sizeof in, &n), OWU_E_STALL);
    CHECK_INT(ctl(&b, 0x82, OWU_REQ_GET_STATUS, 0, 0x88, st, 2), 2);
    CHECK_INT(owu_le16(st), 1);
    /* The OUT side still works while IN is halted. */
    CHECK_INT(xfer(&b, OWU_XFER_BULK, 0x06, (uint8_t *)"abc", 3, &n), OWU_OK);
    CHECK_INT(owu_dev_clear_halt(b.dev, 0x88, TIMEOUT_MS), OWU_OK);
    CHECK_INT(ctl(&b, 0x82, OWU_REQ_GET_STATUS, 0, 0x88, st, 2), 2);
    CHECK_INT(owu_le16(st), 0);
    CHECK_INT(xfer(&b, OWU_XFER_BULK, 0x88, in, sizeof in, &n), OWU_OK);
    CHECK_INT(n, 3);
    CHECK(memcmp(in, "abc", 3) == 0);

    /* SET_INTERFACE and SET_CONFIGURATION end pending transfers of the old setting. */
    a = async_submit(&b, OWU_XFER_BULK, 0x88, in, sizeof in);
    CHECK(parked(&b, 0x88));
    CHECK_INT(owu_dev_set_interface(b.dev, 0, 0, TIMEOUT_MS), OWU_OK);
    CHECK(async_wait(a));
    CHECK_INT(a->urb.status, OWU_E_IO);
    async_free(a);
    a = async_submit(&b, OWU_XFER_INTERRUPT, 0x81, in, 1);
    CHECK(parked(&b, 0x81));
    CHECK_INT(ctl(&b, 0x00, OWU_REQ_SET_CONFIGURATION, 0, 0, NULL, 0), 0);
    CHECK(async_wait(a));
    CHECK_INT(a->urb.status, OWU_E_IO);
    async_free(a);
    CHECK_INT(xfer(&b, OWU_XFER_BULK, 0x88, in, sizeof in, &n), OWU_E_STALL);

    /* Pending URBs end with OWU_E_NODEV when the device is unplugged. */
    CHECK_INT(ctl(&b, 0x00, OWU_REQ_SET_CONFIGURATION, 1, 0, NULL, 0), 0);
    a = async_submit(&b, OWU_XFER_BULK, 0x88, in, sizeof in);
    CHECK(parked(&b, 0x88));
    CHECK_INT(owu_vbus_unplug(b.hcd, b.dev->port), OWU_OK);
    CHECK(async_wait(a));
    CHECK_INT(a->urb.status, OWU_E_NODEV);
    async_free(a);
    bus_close(&b);
}

/* ---- end to end: CDC-ACM ------------------------------------------------------------------------- */

/* Reads one SERIAL_STATE notification; returns its state bits or -1. */
static int read_notification(struct bus *b, uint8_t ep, uint8_t intf)
{
    uint8_t msg[16];
    size_t n = 0;
    int rc = xfer(b, OWU_XFER_INTERRUPT, ep, msg, sizeof msg, &n);
    CHECK_INT(rc, OWU_OK);
    CHECK_INT(n, 10);
    if (rc != OWU_OK || n != 10)
        return -1;
    CHECK(msg[0] == 0xA1 && msg[1] == 0x20 && owu_le16(msg + 2) == 0);
    CHECK_INT(owu_le16(msg + 4), intf);
    CHECK_INT(owu_le16(msg + 6), 2);
    return owu_le16(msg + 8);
}

static void check_acm_function(struct bus *b, uint8_t notify_ep, uint8_t out_ep, uint8_t in_ep)
{
    struct owu_cdc_line_coding lc;
    CHECK_INT(owu_cdc_acm_line_coding(b->vd, &lc), OWU_OK);
    CHECK(lc.rate == 9600 && lc.data_bits == 8 && lc.parity == 0 && lc.stop_bits == 0);
    uint8_t line[7] = {0x00, 0xC2, 0x01, 0x00, 0, 2, 8};   /* 115200 8E1 */
    CHECK_INT(ctl(b, 0x21, 0x20, 0, 0, line, 7), 7);
    CHECK_INT(owu_cdc_acm_line_coding(b->vd, &lc), OWU_OK);
    CHECK(lc.rate == 115200 && lc.data_bits == 8 && lc.parity == 2 && lc.stop_bits == 0);
    uint8_t back[7] = {0};
    CHECK_INT(ctl(b, 0xA1, 0x21, 0, 0, back, 7), 7);
    CHECK(memcmp(back, line, 7) == 0);
    line[6] = 4;
    CHECK_INT(ctl(b, 0x21, 0x20, 0, 0, line, 7), OWU_E_STALL);
    CHECK_INT(ctl(b, 0x21, 0x02, 1, 0, back, 2), OWU_E_STALL);

    /* DTR up: the pending notification URB gets DSR|DCD. */
    uint8_t msg[16] = {0};
    struct async *a = async_submit(b, OWU_XFER_INTERRUPT, notify_ep, msg, sizeof msg);
    CHECK(parked(b, notify_ep));
    CHECK_INT(ctl(b, 0x21, 0x22, OWU_ACM_DTR | OWU_ACM_RTS, 0, NULL, 0), 0);
    CHECK(async_wait(a));
    CHECK_INT(a->urb.status, OWU_OK);
    CHECK_INT(a->urb.actual, 10);
    static const uint8_t want[10] = {0xA1, 0x20, 0, 0, 0, 0, 2, 0, 0x03, 0x00};
    CHECK(memcmp(msg, want, 10) == 0);
    async_free(a);
    CHECK_INT(owu_cdc_acm_control_lines(b->vd), OWU_ACM_DTR | OWU_ACM_RTS);
    /* RTS alone changes nothing the host is told. */
    CHECK_INT(ctl(b, 0x21, 0x22, OWU_ACM_DTR, 0, NULL, 0), 0);
    CHECK_INT(owu_cdc_acm_control_lines(b->vd), OWU_ACM_DTR);

    /* Without a pending URB, events wait in order. */
    CHECK_INT(ctl(b, 0x21, 0x22, 0, 0, NULL, 0), 0);      /* DTR down: levels drop */
    CHECK_INT(ctl(b, 0x21, 0x23, 100, 0, NULL, 0), 0);    /* break: reported once */
    CHECK_INT(ctl(b, 0x21, 0x23, 0, 0, NULL, 0), 0);      /* end of break: not reported */
    uint16_t last = 0;
    CHECK_INT(owu_cdc_acm_breaks(b->vd, &last), 2);
    CHECK_INT(last, 0);
    CHECK_INT(read_notification(b, notify_ep, 0), 0x0000);
    CHECK_INT(read_notification(b, notify_ep, 0), OWU_ACM_STATE_BREAK);
    a = async_submit(b, OWU_XFER_INTERRUPT, notify_ep, msg, sizeof msg);
    CHECK(parked(b, notify_ep));
    async_free(a);

    /* Injected state: levels stay, events go once. */
    CHECK_INT(owu_cdc_acm_set_serial_state(b->vd, OWU_ACM_STATE_DCD | OWU_ACM_STATE_RING), OWU_OK);
    CHECK_INT(read_notification(b, notify_ep, 0), OWU_ACM_STATE_DCD | OWU_ACM_STATE_RING);
    /* More events than the queue holds: the last entry absorbs the rest, nothing is lost. */
    for (int i = 0; i < 7; i++)
        owu_cdc_acm_set_serial_state(b->vd, OWU_ACM_STATE_DSR);
    const uint16_t events[] = {OWU_ACM_STATE_FRAMING, OWU_ACM_STATE_PARITY, OWU_ACM_STATE_OVERRUN,
                               OWU_ACM_STATE_RING, OWU_ACM_STATE_BREAK};
    for (size_t i = 0; i < 5; i++)
        owu_cdc_acm_set_serial_state(b->vd, (uint16_t)(OWU_ACM_STATE_DCD | events[i]));
    for (int i = 0; i < 7; i++)
        CHECK_INT(read_notification(b, notify_ep, 0), OWU_ACM_STATE_DSR);
    CHECK_INT(read_notification(b, notify_ep, 0), 0x7D);
    a = async_submit(b, OWU_XFER_INTERRUPT, notify_ep, msg, sizeof msg);
    CHECK(parked(b, notify_ep));
    async_free(a);
    /* A buffer too small for the notification is babble. */
    CHECK_INT(owu_cdc_acm_set_serial_state(b->vd, 0), OWU_OK);
    size_t n = 0;
    CHECK_INT(xfer(b, OWU_XFER_INTERRUPT, notify_ep, msg, 8, &n), OWU_E_OVERFLOW);

    /* Data loops back. */
    CHECK_INT(xfer(b, OWU_XFER_BULK, out_ep, (uint8_t *)"hello", 5, &n), OWU_OK);
    uint8_t in[512];
    CHECK_INT(xfer(b, OWU_XFER_BULK, in_ep, in, sizeof in, &n), OWU_OK);
    CHECK_INT(n, 5);
    CHECK(memcmp(in, "hello", 5) == 0);
}

static void test_e2e_cdc_acm(void)
{
    struct bus b;
    if (!bus_open(&b, &owu_model_cdc_acm, NULL))
        return;
    configure(&b);
    check_acm_function(&b, 0x83, 0x02, 0x81);
    /* A port reset brings the power-on line coding back. */
    CHECK_INT(b.dev->hcd->ops->reset_port(b.dev), OWU_OK);
    struct owu_cdc_line_coding lc;
    CHECK_INT(owu_cdc_acm_line_coding(b.vd, &lc), OWU_OK);
    CHECK_INT(lc.rate, 9600);
    CHECK_INT(owu_cdc_acm_control_lines(b.vd), 0);
    bus_close(&b);
}

/* ---- end to end: HID keyboard and composite ------------------------------------------------------- */

static void read_report(struct bus *b, uint8_t ep, uint8_t mod, uint8_t key)
{
    uint8_t r[8];
    size_t n = 0;
    CHECK_INT(xfer(b, OWU_XFER_INTERRUPT, ep, r, sizeof r, &n), OWU_OK);
    CHECK_INT(n, 8);
    CHECK_INT(r[0], mod);
    CHECK_INT(r[1], 0);
    CHECK_INT(r[2], key);
    CHECK(r[3] == 0 && r[4] == 0 && r[5] == 0 && r[6] == 0 && r[7] == 0);
}

static void check_keyboard_function(struct bus *b, uint16_t intf, uint8_t ep)
{
    CHECK_INT(owu_hid_keyboard_press(b->vd, 0x01, 0x04), OWU_OK);   /* Ctrl+A */
    read_report(b, ep, 0x01, 0x04);
    read_report(b, ep, 0x00, 0x00);
    uint8_t r[8];
    struct async *a = async_submit(b, OWU_XFER_INTERRUPT, ep, r, sizeof r);
    CHECK(parked(b, ep));
    CHECK_INT(owu_hid_keyboard_type(b->vd, "Hi!"), 3);
    CHECK(async_wait(a));
    CHECK_INT(a->urb.status, OWU_OK);
    CHECK(r[0] == 0x02 && r[2] == 0x0B);   /* shift + h */
    async_free(a);
    read_report(b, ep, 0, 0);
    read_report(b, ep, 0, 0x0C);           /* i */
    read_report(b, ep, 0, 0);
    read_report(b, ep, 0x02, 0x1E);        /* shift + 1 */
    read_report(b, ep, 0, 0);
    /* GET_REPORT sees the current state. */
    const uint8_t held[8] = {0x02, 0, 0x04, 0x05, 0, 0, 0, 0};
    CHECK_INT(owu_hid_keyboard_report(b->vd, held), OWU_OK);
    uint8_t cur[8] = {0};
    CHECK_INT(ctl(b, 0xA1, 0x01, 0x0100, intf, cur, 8), 8);
    CHECK(memcmp(cur, held, 8) == 0);
    size_t n = 0;
    CHECK_INT(xfer(b, OWU_XFER_INTERRUPT, ep, r, 4, &n), OWU_E_OVERFLOW);
    CHECK_INT(n, 4);
    /* Text it cannot type, and more than the queue holds, queue nothing. */
    CHECK_INT(owu_hid_keyboard_type(b->vd, "caf\xc3\xa9"), OWU_E_INVAL);
    char longtext[100];
    memset(longtext, 'x', sizeof longtext - 1);
    longtext[sizeof longtext - 1] = '\0';
    CHECK_INT(owu_hid_keyboard_type(b->vd, longtext), OWU_E_BUSY);
    const uint8_t one[8] = {0x02, 0, 0x04, 0, 0, 0, 0, 0};
    for (int i = 0; i < 128; i++)
        CHECK_INT(owu_hid_keyboard_report(b->vd, one), OWU_OK);
    CHECK_INT(owu_hid_keyboard_report(b->vd, one), OWU_E_BUSY);
    for (int i = 0; i < 128; i++)
        read_report(b, ep, 0x02, 0x04);
    /* Host-side state. */
    uint8_t leds = 0x02;
    CHECK_INT(ctl(b, 0x21, 0x09, 0x0200, intf, &leds, 1), 1);
    CHECK_INT(owu_hid_keyboard_leds(b->vd), 0x02);
    CHECK_INT(ctl(b, 0x21, 0x0B, 0, intf, NULL, 0), 0);
    CHECK_INT(owu_hid_keyboard_protocol(b->vd), 0);
    CHECK_INT(ctl(b, 0x21, 0x0A, 0x0A00, intf, NULL, 0), 0);
    CHECK_INT(owu_hid_keyboard_idle(b->vd), 10);
}

static void test_e2e_hid_keyboard(void)
{
    struct bus b;
    if (!bus_open(&b, &owu_model_hid_keyboard, NULL))
        return;
    CHECK_INT(b.dev->speed, OWU_SPEED_FULL);
    configure(&b);
    check_keyboard_function(&b, 0, 0x81);
    CHECK_INT(owu_cdc_acm_set_serial_state(b.vd, 1), OWU_E_INVAL);
    bus_close(&b);
}

static void test_e2e_composite(void)
{
    struct bus b;
    if (!bus_open(&b, &owu_model_composite, NULL))
        return;
    configure(&b);
    check_acm_function(&b, 0x83, 0x02, 0x81);
    check_keyboard_function(&b, 3, 0x85);
    /* The vendor interface has its own loopback, separate from the serial port's. */
    size_t n = 0;
    uint8_t in[64];
    CHECK_INT(xfer(&b, OWU_XFER_BULK, 0x02, (uint8_t *)"serial", 6, &n), OWU_OK);
    CHECK_INT(xfer(&b, OWU_XFER_BULK, 0x04, (uint8_t *)"vendor", 6, &n), OWU_OK);
    CHECK_INT(xfer(&b, OWU_XFER_BULK, 0x84, in, sizeof in, &n), OWU_OK);
    CHECK_INT(n, 6);
    CHECK(memcmp(in, "vendor", 6) == 0);
    CHECK_INT(xfer(&b, OWU_XFER_BULK, 0x81, in, sizeof in, &n), OWU_OK);
    CHECK_INT(n, 6);
    CHECK(memcmp(in, "serial", 6) == 0);
    uint8_t set[256];
    CHECK_INT(ctl(&b, 0xC0, 0x21, 0, 7, set, sizeof set), 178);
    CHECK_INT(ctl(&b, 0xC0, 0x21, 0, 7, set, 10), 10);
    CHECK_INT(owu_le16(set + 8), 178);
    bus_close(&b);
}

/* ---- end to end: the descriptor-only models ------------------------------------------------------ */

static void test_e2e_mass_storage_and_hub(void)
{
    struct bus b;
    if (bus_open(&b, &owu_model_mass_storage, NULL)) {
        configure(&b);
        uint8_t buf[64], st[2];
        size_t n = 0;
        CHECK_INT(xfer(&b, OWU_XFER_BULK, 0x02, buf, 31, &n), OWU_E_STALL);
        CHECK_INT(ctl(&b, 0x82, OWU_REQ_GET_STATUS, 0, 0x02, st, 2), 2);
        CHECK_INT(owu_le16(st), 1);
        CHECK_INT(owu_dev_clear_halt(b.dev, 0x02, TIMEOUT_MS), OWU_OK);
        CHECK_INT(ctl(&b, 0x82, OWU_REQ_GET_STATUS, 0, 0x02, st, 2), 2);
        CHECK_INT(owu_le16(st), 0);
        CHECK_INT(ctl(&b, 0xA1, 0xFE, 0, 0, buf, 1), 1);
        CHECK_INT(buf[0], 0);
        bus_close(&b);
    }
    if (bus_open(&b, &owu_model_hub, NULL)) {
        configure(&b);
        uint8_t change = 0;
        struct async *a = async_submit(&b, OWU_XFER_INTERRUPT, 0x81, &change, 1);
        CHECK(parked(&b, 0x81));
        CHECK_INT(ctl(&b, 0x23, 0x03, 8, 1, NULL, 0), 0);
        CHECK(parked(&b, 0x81));   /* powering an empty port changes nothing */
        async_free(a);
        uint8_t desc[16];
        CHECK_INT(ctl(&b, 0xA0, 0x06, 0x2900, 0, desc, sizeof desc), 9);
        bus_close(&b);
    }
}

static void test_e2e_hostile_babble(void)
{
    struct bus b;
    if (!bus_open(&b, &owu_model_hostile_long_string, NULL))
        return;
    uint8_t buf[255];
    memset(buf, 0xCC, sizeof buf);
    /* The device sends 300 bytes; the host gets at most wLength and learns of the babble. */
    CHECK_INT(ctl(&b, 0x80, OWU_REQ_GET_DESCRIPTOR, 0x0301, 0x0409, buf, 2), OWU_E_OVERFLOW);
    CHECK_INT(buf[2], 0xCC);
    CHECK_INT(ctl(&b, 0x80, OWU_REQ_GET_DESCRIPTOR, 0x0302, 0x0409, buf, 255), OWU_E_OVERFLOW);
    CHECK_INT(ctl(&b, 0x80, OWU_REQ_GET_DESCRIPTOR, 0x0300, 0, buf, 255), 4);
    bus_close(&b);

    if (!bus_open(&b, &owu_model_hostile_silent, NULL))
        return;
    CHECK_INT(ctl(&b, 0x80, OWU_REQ_GET_DESCRIPTOR, 0x0100, 0, buf, 8), 8);
    CHECK_INT(owu_control_sync(b.dev, 0x80, OWU_REQ_GET_DESCRIPTOR, 0x0100, 0, buf, 18, 50),
              OWU_E_TIMEOUT);
    CHECK_INT(owu_control_sync(b.dev, 0x00, OWU_REQ_SET_ADDRESS, 3, 0, NULL, 0, 50), OWU_E_TIMEOUT);
    bus_close(&b);
}

/* ---- enumeration and record / replay --------------------------------------------------------------- */

static struct owu_devinfo *enumerate_model(const struct owu_vdev_model *m, const void *arg)
{
    struct bus b;
    if (!bus_open(&b, m, arg))
        return NULL;
    struct owu_enum_options opt;
    owu_enum_options_default(&opt);
    opt.timeout_ms = TIMEOUT_MS;
    struct owu_devinfo *info = NULL;
    owu_err err = {0};
    CHECK_OK(owu_enumerate(b.dev, &opt, &info, &err), errp(&err));
    if (info) {
        CHECK_INT(info->failure, OWU_FAIL_NONE);
        if (info->failure != OWU_FAIL_NONE)
            fprintf(stderr, "  %s: %s\n", m->name, info->failure_detail);
        CHECK_INT(b.vd->config_value, 1);
    }
    bus_close(&b);
    return info;
}

static bool same_blob(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    return alen == blen && (!alen || (a && b && memcmp(a, b, alen) == 0));
}

static void check_same_devinfo(const struct owu_devinfo *a, const struct owu_devinfo *b)
{
    CHECK_INT(a->speed, b->speed);
    CHECK(same_blob(a->device, a->device_len, b->device, b->device_len));
    CHECK_INT(a->num_configs, b->num_configs);
    for (unsigned i = 0; i < a->num_configs && i < b->num_configs; i++)
        CHECK(same_blob(a->configs[i].data, a->configs[i].len, b->configs[i].data, b->configs[i].len));
    CHECK(same_blob(a->bos, a->bos_len, b->bos, b->bos_len));
    CHECK(same_blob(a->msos20, a->msos20_len, b->msos20, b->msos20_len));
    CHECK_INT(a->num_strings, b->num_strings);
    for (unsigned i = 0; i < a->num_strings; i++) {
        const struct owu_string_entry *e = &a->strings[i];
        const struct owu_string_entry *f = owu_devinfo_find_string(b, e->index, e->langid);
        CHECK(f != NULL);
        if (f)
            CHECK(same_blob(e->desc, e->len, f->desc, f->len));
    }
    CHECK_INT(a->msos1.present, b->msos1.present);
    CHECK_INT(a->msos1.vendor_code, b->msos1.vendor_code);
    CHECK_INT(a->msos1.flags, b->msos1.flags);
    CHECK(same_blob(a->msos1.compat_id, a->msos1.compat_id_len, b->msos1.compat_id, b->msos1.compat_id_len));
    CHECK(same_blob(a->msos1.container_id, a->msos1.container_id_len, b->msos1.container_id,
                    b->msos1.container_id_len));
    CHECK_INT(a->msos1.num_props, b->msos1.num_props);
    for (unsigned i = 0; i < a->msos1.num_props && i < b->msos1.num_props; i++)
        CHECK(same_blob(a->msos1.props[i].data, a->msos1.props[i].len, b->msos1.props[i].data,
                        b->msos1.props[i].len));
}

static void test_enumerate_and_replay(void)
{
    for (size_t i = 0; i < 7; i++) {
        const struct owu_vdev_model *m = model(standard_names[i]);
        if (!m)
            continue;
        struct owu_devinfo *info = enumerate_model(m, NULL);
        if (!info)
            continue;
        CHECK_INT(info->device_len, 18);
        CHECK_INT(info->num_configs, 1);
        char serial[64];
        bool has_serial = owu_devinfo_string(info, info->device[16], serial, sizeof serial);
        CHECK_INT(has_serial, info->device[16] != 0);
        if (m == &owu_model_composite) {
            CHECK_INT(info->msos20_len, 178);
            CHECK(!info->msos1.present);
            CHECK(owu_devinfo_find_string(info, 5, 0x0407) != NULL);
        }
        if (m == &owu_model_msos1) {
            CHECK(info->msos1.present);
            CHECK_INT(info->msos1.vendor_code, 0x20);
            CHECK_INT(info->msos1.compat_id_len, 40);
            CHECK_INT(info->msos1.num_props, 1);
            CHECK_INT(info->msos1.container_id_len, 24);
        }
        /* Replayed through the profile model, the device reads back the same. */
        struct owu_devinfo *again = enumerate_model(&owu_model_profile, info);
        if (again) {
            check_same_devinfo(info, again);
            owu_devinfo_free(again);
        }
        owu_devinfo_free(info);
    }
}

/* Bad optional data costs that data, not the device. */
static void test_enumerate_hostile_optional_data(void)
{
    struct owu_devinfo *info = enumerate_model(&owu_model_hostile_loop, NULL);
    if (info) {
        CHECK_INT(info->bos_len, 36);    /* kept raw */
        CHECK(info->msos20 == NULL);     /* never asked: the BOS does not parse */
        CHECK(!info->msos1.present);
        owu_devinfo_free(info);
    }
    info = enumerate_model(&owu_model_hostile_msos20_zero, NULL);
    if (info) {
        CHECK_INT(info->msos20_len, 46);
        CHECK(walk_msos20(info->msos20, info->msos20_len) < 0);
        owu_devinfo_free(info);
    }
    info = enumerate_model(&owu_model_hostile_long_string, NULL);
    if (info) {
        char text[256];
        CHECK(!owu_devinfo_string(info, 1, text, sizeof text));
        owu_devinfo_free(info);
    }
}

static void test_profile_model(void)
{
    struct owu_hcd *hcd = owu_vbus_create(1, NULL);
    owu_err err = {0};
    CHECK(owu_vbus_plug(hcd, &owu_model_profile, NULL, 0, NULL, &err) < 0);
    owu_hcd_destroy(hcd);

    struct owu_devinfo *info = enumerate_model(&owu_model_fx2, NULL);
    if (!info)
        return;
    info->speed = OWU_SPEED_FULL;
    struct bus b;
    if (bus_open(&b, &owu_model_profile, info)) {
        owu_devinfo_free(info);   /* the model has its own copy */
        info = NULL;
        CHECK_INT(b.dev->speed, OWU_SPEED_FULL);
        uint8_t buf[64];
        CHECK_INT(ctl(&b, 0x80, OWU_REQ_GET_DESCRIPTOR, 0x0100, 0, buf, 64), 18);
        CHECK_INT(owu_le16(buf + 8), 0x0547);
        CHECK_INT(ctl(&b, 0x80, OWU_REQ_GET_DESCRIPTOR, 0x0600, 0, buf, 10), OWU_E_STALL);
        CHECK_INT(ctl(&b, 0x80, OWU_REQ_GET_DESCRIPTOR, 0x0201, 0, buf, 9), OWU_E_STALL);
        CHECK_INT(ctl(&b, 0x80, OWU_REQ_GET_DESCRIPTOR, 0x03EE, 0, buf, 18), OWU_E_STALL);
        CHECK_INT(ctl(&b, 0xC0, 0xD6, 0, 0, buf, 1), OWU_E_STALL);   /* no function behind it */
        configure(&b);
        CHECK_INT(ctl(&b, 0x00, OWU_REQ_SET_CONFIGURATION, 2, 0, NULL, 0), OWU_E_STALL);
        CHECK_INT(ctl(&b, 0x82, OWU_REQ_GET_STATUS, 0, 0x88, buf, 2), 2);
        /* Data endpoints NAK: the URB waits until cancelled. */
        struct async *a = async_submit(&b, OWU_XFER_BULK, 0x88, buf, sizeof buf);
        CHECK(parked(&b, 0x88));
        owu_urb_cancel(&a->urb);
        CHECK(async_wait(a));
        CHECK_INT(a->urb.status, OWU_E_CANCELLED);
        async_free(a);
        size_t n = 0;
        CHECK_INT(xfer(&b, OWU_XFER_BULK, 0x84, buf, sizeof buf, &n), OWU_E_STALL);
        bus_close(&b);
    }
    owu_devinfo_free(info);
}

int main(void)
{
    RUN(test_registry);
    RUN(test_standard_tables_parse);
    RUN(test_model_ids);
    RUN(test_hostile_tables);
    RUN(test_get_descriptor);
    RUN(test_address_and_configuration);
    RUN(test_status_and_features);
    RUN(test_msos1_requests);
    RUN(test_msos20_requests);
    RUN(test_fx2_vendor_requests);
    RUN(test_cdc_acm_requests);
    RUN(test_hid_requests);
    RUN(test_other_class_requests);
    RUN(test_hostile_answers);
    RUN(test_e2e_fx2_control_and_switches);
    RUN(test_e2e_fx2_loopback);
    RUN(test_e2e_halt_and_reconfigure);
    RUN(test_e2e_cdc_acm);
    RUN(test_e2e_hid_keyboard);
    RUN(test_e2e_composite);
    RUN(test_e2e_mass_storage_and_hub);
    RUN(test_e2e_hostile_babble);
    RUN(test_enumerate_and_replay);
    RUN(test_enumerate_hostile_optional_data);
    RUN(test_profile_model);
    return check_report();
}
