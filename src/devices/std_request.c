/* The one standard-request handler of the virtual bus: chapter-9 requests and the MS OS
 * 1.0/2.0 vendor requests, answered from a model's constant tables (or, for models that
 * keep no tables, from their get_descriptor hook), so that models only handle their own
 * class and vendor requests.
 *
 * Runs with the bus lock held. Model tables may be hostile on purpose (hostile-* models), so
 * every walk over them goes through owu_desc_iter and stops at the first bad length.
 */
#include "devices/models.h"

#include <stdlib.h>
#include <string.h>

#include <openwinusb/descriptors.h>

#include "core/urb.h"

#define MSOS1_STRING_INDEX 0xEE
#define MSOS1_STRING_LEN 18
#define MSOS20_DESCRIPTOR_INDEX 7
#define QUALIFIER_LEN 10
/* What a hook may write when asked for a whole descriptor: any wLength, plus the slack the
 * bus also gives to models that answer with more than was asked. */
#define HOOK_BUF (65535u + 1024u)

int owu_vdev_reply(const struct owu_setup *setup, uint8_t *data, const void *src, size_t len)
{
    if (len > setup->wLength)
        len = setup->wLength;
    if (len)
        memcpy(data, src, len);
    return (int)len;
}

static enum owu_speed vdev_speed(const struct owu_vdev *vd)
{
    if (vd->dev && vd->dev->speed != OWU_SPEED_UNKNOWN)
        return vd->dev->speed;
    return vd->model->speed;
}

/* ---- descriptor sources ------------------------------------------------------------------ */

/* A descriptor from the tables, or a copy obtained from the model's hook (then owned). */
struct blob {
    const uint8_t *data;
    size_t len;
    uint8_t *owned;
};

static void blob_release(struct blob *b)
{
    free(b->owned);
    memset(b, 0, sizeof *b);
}

/* For models without tables (profile): what the hook would answer to a full-length read. */
static bool hook_descriptor(struct owu_vdev *vd, uint8_t type, uint8_t index, struct blob *b)
{
    memset(b, 0, sizeof *b);
    if (!vd->model->get_descriptor)
        return false;
    uint8_t *buf = calloc(1, HOOK_BUF);
    if (!buf)
        return false;
    struct owu_setup s = {OWU_DIR_IN | OWU_TYPE_STANDARD | OWU_RECIP_DEVICE, OWU_REQ_GET_DESCRIPTOR,
                          (uint16_t)(type << 8 | index), 0, 0xFFFF};
    int n = vd->model->get_descriptor(vd, &s, buf);
    if (n < 0 || n == OWU_VDEV_DEFAULT) {
        free(buf);
        return false;
    }
    b->data = b->owned = buf;
    b->len = n > 0xFFFF ? 0xFFFF : (size_t)n;
    return true;
}

static bool get_device(struct owu_vdev *vd, struct blob *b)
{
    memset(b, 0, sizeof *b);
    if (vd->model->device) {
        b->data = vd->model->device;
        b->len = vd->model->device_len;
        return true;
    }
    return hook_descriptor(vd, OWU_DT_DEVICE, 0, b);
}

static bool get_config_at(struct owu_vdev *vd, unsigned index, struct blob *b)
{
    memset(b, 0, sizeof *b);
    const struct owu_vdev_model *m = vd->model;
    if (m->configs) {
        if (index >= m->num_configs || !m->configs[index].data)
            return false;
        b->data = m->configs[index].data;
        b->len = m->configs[index].len;
        return true;
    }
    return index <= 0xFF && hook_descriptor(vd, OWU_DT_CONFIG, (uint8_t)index, b);
}

static bool get_config_by_value(struct owu_vdev *vd, uint8_t value, struct blob *b)
{
    for (unsigned i = 0; i <= 0xFF; i++) {
        if (!get_config_at(vd, i, b))
            return false;
        if (b->len >= 9 && b->data[1] == OWU_DT_CONFIG && b->data[5] == value)
            return true;
        blob_release(b);
    }
    return false;
}

/* The configuration that applies to device-wide status: the current one, else the first. */
static bool get_status_config(struct owu_vdev *vd, struct blob *b)
{
    if (vd->config_value && get_config_by_value(vd, vd->config_value, b))
        return true;
    if (!get_config_at(vd, 0, b))
        return false;
    if (b->len >= 9)
        return true;
    blob_release(b);
    return false;
}

/* ---- walking a configuration --------------------------------------------------------------- */

struct cfg_walk {
    owu_desc_iter it;
    int intf;   /* interface the current descriptor belongs to, -1 before the first */
    int alt;
};

static void walk_init(struct cfg_walk *w, const struct blob *b)
{
    size_t len = b->len;
    if (len >= 4) {
        size_t total = owu_le16(b->data + 2);
        if (total >= 9 && total < len)
            len = total;
    }
    owu_desc_iter_init(&w->it, (owu_span){b->data, len}, 0);
    w->intf = -1;
    w->alt = -1;
}

static bool walk_next(struct cfg_walk *w, const uint8_t **d, size_t *len)
{
    if (!owu_desc_iter_next(&w->it, d, len))
        return false;
    if ((*d)[1] == OWU_DT_INTERFACE && *len >= 9) {
        w->intf = (*d)[2];
        w->alt = (*d)[3];
    }
    return true;
}

static bool is_interface(const uint8_t *d, size_t len) { return len >= 9 && d[1] == OWU_DT_INTERFACE; }
static bool is_endpoint(const uint8_t *d, size_t len) { return len >= 7 && d[1] == OWU_DT_ENDPOINT; }

static uint8_t current_alt(const struct owu_vdev *vd, unsigned intf)
{
    return intf < sizeof vd->alt ? vd->alt[intf] : 0;
}

static bool alt_exists(const struct blob *b, uint8_t intf, int alt)
{
    struct cfg_walk w;
    const uint8_t *d;
    size_t len;
    walk_init(&w, b);
    while (walk_next(&w, &d, &len))
        if (is_interface(d, len) && d[2] == intf && (alt < 0 || d[3] == alt))
            return true;
    return false;
}

static bool find_active_endpoint(struct owu_vdev *vd, const struct blob *b, uint8_t ep,
                                 uint8_t out[7])
{
    struct cfg_walk w;
    const uint8_t *d;
    size_t len;
    walk_init(&w, b);
    while (walk_next(&w, &d, &len)) {
        if (w.intf < 0 || !is_endpoint(d, len) || d[2] != ep)
            continue;
        if (w.alt != current_alt(vd, (unsigned)w.intf))
            continue;
        memcpy(out, d, 7);
        return true;
    }
    return false;
}

bool owu_vdev_active_endpoint(struct owu_vdev *vd, uint8_t endpoint, uint8_t desc[7])
{
    if (!vd->config_value || (endpoint & 0x0F) == 0)
        return false;
    struct blob b;
    if (!get_config_by_value(vd, vd->config_value, &b))
        return false;
    uint8_t tmp[7];
    bool found = find_active_endpoint(vd, &b, endpoint, desc ? desc : tmp);
    blob_release(&b);
    return found;
}

/* Every data endpoint: finish its parked URBs (reconfiguration and halts abort them). */
static void fail_parked(struct owu_vdev *vd, uint8_t ep, int status)
{
    struct owu_urb *u;
    while ((u = owu_vdev_take(vd, ep)) != NULL)
        owu_vdev_complete(vd, u, status, u->actual);
}

static void fail_all_data_urbs(struct owu_vdev *vd, int status)
{
    for (uint8_t n = 1; n < 16; n++) {
        fail_parked(vd, n, status);
        fail_parked(vd, (uint8_t)(0x80 | n), status);
    }
}

/* Endpoints of one interface (every alternate setting): abort parked URBs, clear halts. */
static void reset_interface_endpoints(struct owu_vdev *vd, const struct blob *b, uint8_t intf)
{
    struct cfg_walk w;
    const uint8_t *d;
    size_t len;
    walk_init(&w, b);
    while (walk_next(&w, &d, &len)) {
        if (w.intf != intf || !is_endpoint(d, len) || (d[2] & 0x0F) == 0)
            continue;
        fail_parked(vd, d[2], OWU_E_IO);
        owu_vdev_set_halt(vd, d[2], false);
    }
}

/* ---- GET_DESCRIPTOR -------------------------------------------------------------------------- */

static int string_descriptor(struct owu_vdev *vd, const struct owu_setup *s, uint8_t *data)
{
    const struct owu_vdev_model *m = vd->model;
    uint8_t index = (uint8_t)(s->wValue & 0xFF);
    uint8_t buf[256];

    if (index == 0) {
        if (!m->langids || m->num_langids == 0)
            return OWU_E_STALL;
        unsigned n = m->num_langids < 126 ? m->num_langids : 126;
        buf[0] = (uint8_t)(2 + 2 * n);
        buf[1] = OWU_DT_STRING;
        for (unsigned i = 0; i < n; i++)
            owu_put_le16(buf + 2 + 2 * i, m->langids[i]);
        return owu_vdev_reply(s, data, buf, buf[0]);
    }
    if (index == MSOS1_STRING_INDEX && m->msos1_vendor_code) {
        /* Asked for with LANGID 0; any LANGID gets the same answer. */
        static const char sig[] = "MSFT100";
        buf[0] = MSOS1_STRING_LEN;
        buf[1] = OWU_DT_STRING;
        for (unsigned i = 0; i < 7; i++)
            owu_put_le16(buf + 2 + 2 * i, (uint16_t)sig[i]);
        buf[16] = m->msos1_vendor_code;
        buf[17] = m->msos1_flags;
        return owu_vdev_reply(s, data, buf, MSOS1_STRING_LEN);
    }
    bool lang_ok = false;
    for (unsigned i = 0; i < m->num_langids && m->langids; i++)
        lang_ok |= m->langids[i] == s->wIndex;
    if (!lang_ok)
        return OWU_E_STALL;
    for (unsigned i = 0; i < m->num_strings && m->strings; i++) {
        if (m->strings[i].index != index || !m->strings[i].text)
            continue;
        int n = owu_string_desc_encode(m->strings[i].text, buf, 255);
        return n < 0 ? OWU_E_STALL : owu_vdev_reply(s, data, buf, (size_t)n);
    }
    return OWU_E_STALL;
}

/* Only a high-speed-capable device running at high speed answers: a full-speed-only device
 * must stall, and the models do not describe their full-speed personality beyond what
 * other_speed_config derives. */
static int device_qualifier(struct owu_vdev *vd, const struct owu_setup *s, uint8_t *data)
{
    if (vdev_speed(vd) != OWU_SPEED_HIGH)
        return OWU_E_STALL;
    struct blob dev;
    if (!get_device(vd, &dev))
        return OWU_E_STALL;
    int rc = OWU_E_STALL;
    if (dev.len >= 18 && dev.data[1] == OWU_DT_DEVICE && owu_le16(dev.data + 2) >= 0x0200) {
        uint8_t q[QUALIFIER_LEN] = {QUALIFIER_LEN, OWU_DT_DEVICE_QUALIFIER, dev.data[2], dev.data[3],
                                    dev.data[4], dev.data[5], dev.data[6], 64, dev.data[17], 0};
        rc = owu_vdev_reply(s, data, q, sizeof q);
    }
    blob_release(&dev);
    return rc;
}

/* The configuration as it would look at full speed: bulk packets of 64, interrupt and
 * isochronous packets capped at the full-speed maxima, polling intervals converted from
 * microframe exponents to frames. */
static void to_full_speed(uint8_t *d)
{
    uint16_t mps = owu_le16(d + 4) & 0x7FF;
    uint8_t interval = d[6];
    switch (d[3] & 3) {
    case OWU_XFER_BULK:
        mps = 64;
        break;
    case OWU_XFER_INTERRUPT: {
        if (mps > 64)
            mps = 64;
        unsigned exp = interval >= 1 && interval <= 16 ? interval : 4;
        unsigned frames = (1u << (exp - 1)) / 8;
        d[6] = (uint8_t)(frames == 0 ? 1 : frames > 255 ? 255 : frames);
        break;
    }
    case OWU_XFER_ISOCHRONOUS:
        if (mps > 1023)
            mps = 1023;
        d[6] = interval > 4 ? (uint8_t)(interval - 3) : 1;
        break;
    default:
        if (mps > 64)
            mps = 64;
        break;
    }
    owu_put_le16(d + 4, mps);
}

static int other_speed_config(struct owu_vdev *vd, const struct owu_setup *s, uint8_t *data)
{
    if (vdev_speed(vd) != OWU_SPEED_HIGH)
        return OWU_E_STALL;
    struct blob b;
    if (!get_config_at(vd, s->wValue & 0xFF, &b))
        return OWU_E_STALL;
    int rc = OWU_E_STALL;
    uint8_t *copy = b.len >= 9 && b.data[1] == OWU_DT_CONFIG ? malloc(b.len) : NULL;
    if (copy) {
        memcpy(copy, b.data, b.len);
        copy[1] = OWU_DT_OTHER_SPEED_CONFIG;
        struct blob cb = {copy, b.len, NULL};
        struct cfg_walk w;
        const uint8_t *d;
        size_t len;
        walk_init(&w, &cb);
        while (walk_next(&w, &d, &len))
            if (is_endpoint(d, len))
                to_full_speed(copy + (d - copy));
        rc = owu_vdev_reply(s, data, copy, b.len);
        free(copy);
    }
    blob_release(&b);
    return rc;
}

static int get_descriptor(struct owu_vdev *vd, const struct owu_setup *s, uint8_t *data)
{
    const struct owu_vdev_model *m = vd->model;
    if (!(s->bmRequestType & OWU_DIR_IN))
        return OWU_E_STALL;
    if (m->get_descriptor) {
        int n = m->get_descriptor(vd, s, data);
        if (n != OWU_VDEV_DEFAULT)
            return n > (int)s->wLength ? (int)s->wLength : n;
    }
    if ((s->bmRequestType & OWU_RECIP_MASK) != OWU_RECIP_DEVICE)
        return OWU_E_STALL;
    uint8_t index = (uint8_t)(s->wValue & 0xFF);
    switch (s->wValue >> 8) {
    case OWU_DT_DEVICE:
        return m->device ? owu_vdev_reply(s, data, m->device, m->device_len) : OWU_E_STALL;
    case OWU_DT_CONFIG:
        if (!m->configs || index >= m->num_configs || !m->configs[index].data)
            return OWU_E_STALL;
        return owu_vdev_reply(s, data, m->configs[index].data, m->configs[index].len);
    case OWU_DT_STRING:
        return string_descriptor(vd, s, data);
    case OWU_DT_BOS:
        return m->bos ? owu_vdev_reply(s, data, m->bos, m->bos_len) : OWU_E_STALL;
    case OWU_DT_DEVICE_QUALIFIER:
        return device_qualifier(vd, s, data);
    case OWU_DT_OTHER_SPEED_CONFIG:
        return other_speed_config(vd, s, data);
    default:
        return OWU_E_STALL;
    }
}

/* ---- state-changing requests ------------------------------------------------------------------ */

static int set_configuration(struct owu_vdev *vd, const struct owu_setup *s)
{
    uint8_t value = (uint8_t)(s->wValue & 0xFF);
    if (s->bmRequestType != 0x00 || (s->wValue >> 8) != 0)
        return OWU_E_STALL;
    if (value != 0) {
        struct blob b;
        if (!get_config_by_value(vd, value, &b))
            return OWU_E_STALL;
        blob_release(&b);
    }
    /* Like a real host stack, selecting a configuration tears down every endpoint of the old
     * one: what was pending there ends, halts and alternate settings reset. */
    fail_all_data_urbs(vd, OWU_E_IO);
    memset(vd->halted, 0, sizeof vd->halted);
    memset(vd->alt, 0, sizeof vd->alt);
    vd->config_value = value;
    if (vd->model->configured)
        vd->model->configured(vd, value);
    return 0;
}

static int set_interface(struct owu_vdev *vd, const struct owu_setup *s)
{
    if (s->bmRequestType != 0x01 || !vd->config_value || s->wValue > 0xFF || s->wIndex > 0xFF)
        return OWU_E_STALL;
    uint8_t intf = (uint8_t)s->wIndex, alt = (uint8_t)s->wValue;
    struct blob b;
    if (!get_config_by_value(vd, vd->config_value, &b))
        return OWU_E_STALL;
    int rc = OWU_E_STALL;
    if (alt_exists(&b, intf, alt) && (intf < sizeof vd->alt || alt == 0)) {
        reset_interface_endpoints(vd, &b, intf);
        if (intf < sizeof vd->alt)
            vd->alt[intf] = alt;
        if (vd->model->interface_set)
            vd->model->interface_set(vd, intf, alt);
        rc = 0;
    }
    blob_release(&b);
    return rc;
}

static int get_interface(struct owu_vdev *vd, const struct owu_setup *s, uint8_t *data)
{
    if (s->bmRequestType != 0x81 || !vd->config_value || s->wIndex > 0xFF)
        return OWU_E_STALL;
    struct blob b;
    if (!get_config_by_value(vd, vd->config_value, &b))
        return OWU_E_STALL;
    bool ok = alt_exists(&b, (uint8_t)s->wIndex, -1);
    blob_release(&b);
    if (!ok)
        return OWU_E_STALL;
    uint8_t alt = current_alt(vd, s->wIndex);
    return owu_vdev_reply(s, data, &alt, 1);
}

/* Endpoint recipient check shared by GET_STATUS and the halt feature: endpoint 0 always
 * exists; any other one must be in the current configuration's active settings. */
static bool endpoint_ok(struct owu_vdev *vd, uint16_t windex)
{
    if (windex > 0xFF)
        return false;
    if ((windex & 0x0F) == 0)
        return (windex & 0x70) == 0;
    return owu_vdev_active_endpoint(vd, (uint8_t)windex, NULL);
}

static int get_status(struct owu_vdev *vd, const struct owu_setup *s, uint8_t *data)
{
    if (!(s->bmRequestType & OWU_DIR_IN) || s->wValue != 0)
        return OWU_E_STALL;
    uint8_t st[2] = {0, 0};
    switch (s->bmRequestType & OWU_RECIP_MASK) {
    case OWU_RECIP_DEVICE: {
        if (s->wIndex != 0)
            return OWU_E_STALL;
        struct blob b;
        if (get_status_config(vd, &b)) {
            if (b.data[7] & 0x40)
                st[0] |= 0x01;   /* self-powered */
            blob_release(&b);
        }
        if (vd->remote_wakeup)
            st[0] |= 0x02;
        break;
    }
    case OWU_RECIP_INTERFACE: {
        if (!vd->config_value || s->wIndex > 0xFF)
            return OWU_E_STALL;
        struct blob b;
        if (!get_config_by_value(vd, vd->config_value, &b))
            return OWU_E_STALL;
        bool ok = alt_exists(&b, (uint8_t)s->wIndex, -1);
        blob_release(&b);
        if (!ok)
            return OWU_E_STALL;
        break;
    }
    case OWU_RECIP_ENDPOINT:
        if (!endpoint_ok(vd, s->wIndex))
            return OWU_E_STALL;
        if ((s->wIndex & 0x0F) && owu_vdev_halted(vd, (uint8_t)s->wIndex))
            st[0] = 0x01;
        break;
    default:
        return OWU_E_STALL;
    }
    return owu_vdev_reply(s, data, st, sizeof st);
}

static int feature(struct owu_vdev *vd, const struct owu_setup *s, bool set)
{
    if ((s->bmRequestType & OWU_DIR_IN) || s->wLength != 0)
        return OWU_E_STALL;
    switch (s->bmRequestType & OWU_RECIP_MASK) {
    case OWU_RECIP_DEVICE: {
        if (s->wValue != OWU_FEAT_DEVICE_REMOTE_WAKEUP || s->wIndex != 0)
            return OWU_E_STALL;   /* TEST_MODE and USB 3 features: not supported */
        struct blob b;
        bool capable = false;
        if (get_status_config(vd, &b)) {
            capable = (b.data[7] & 0x20) != 0;
            blob_release(&b);
        }
        if (!capable)
            return OWU_E_STALL;
        vd->remote_wakeup = set;
        return 0;
    }
    case OWU_RECIP_ENDPOINT: {
        if (s->wValue != OWU_FEAT_ENDPOINT_HALT || !endpoint_ok(vd, s->wIndex))
            return OWU_E_STALL;
        uint8_t ep = (uint8_t)s->wIndex;
        if ((ep & 0x0F) == 0)
            return 0;   /* a control endpoint's stall ends with the next SETUP anyway */
        owu_vdev_set_halt(vd, ep, set);
        if (set)
            fail_parked(vd, ep, OWU_E_STALL);
        return 0;
    }
    default:
        return OWU_E_STALL;
    }
}

static int set_address(struct owu_vdev *vd, const struct owu_setup *s)
{
    if (s->bmRequestType != 0x00 || s->wValue > 127 || s->wIndex != 0 || s->wLength != 0)
        return OWU_E_STALL;
    vd->address = (uint8_t)s->wValue;
    return 0;
}

/* ---- MS OS vendor requests ------------------------------------------------------------------- */

int owu_msos1_feature_request(const struct owu_setup *setup, uint8_t *intf)
{
    if (setup->bmRequestType != (OWU_DIR_IN | OWU_TYPE_VENDOR | OWU_RECIP_DEVICE) &&
        setup->bmRequestType != (OWU_DIR_IN | OWU_TYPE_VENDOR | OWU_RECIP_INTERFACE))
        return OWU_E_STALL;
    if (setup->wIndex < 4 || setup->wIndex > 6)
        return OWU_E_STALL;
    uint8_t lo = (uint8_t)(setup->wValue & 0xFF), hi = (uint8_t)(setup->wValue >> 8);
    if (lo && hi)
        return OWU_E_STALL;
    *intf = lo ? lo : hi;
    return setup->wIndex;
}

int owu_vdev_msos_request(const struct owu_vmsos_view *v, const struct owu_setup *s, uint8_t *data)
{
    if (v->msos20_vendor_code && s->bRequest == v->msos20_vendor_code &&
        s->wIndex == MSOS20_DESCRIPTOR_INDEX) {
        if (s->bmRequestType != (OWU_DIR_IN | OWU_TYPE_VENDOR | OWU_RECIP_DEVICE) || !v->msos20)
            return OWU_E_STALL;
        return owu_vdev_reply(s, data, v->msos20, v->msos20_len);
    }
    if (!v->msos1_vendor_code || s->bRequest != v->msos1_vendor_code)
        return OWU_E_STALL;
    uint8_t intf = 0;
    switch (owu_msos1_feature_request(s, &intf)) {
    case 4:
        return v->msos1_compat ? owu_vdev_reply(s, data, v->msos1_compat, v->msos1_compat_len)
                               : OWU_E_STALL;
    case 5:
        for (unsigned i = 0; i < v->num_msos1_props && v->msos1_props; i++)
            if (v->msos1_props[i].interface == intf && v->msos1_props[i].data)
                return owu_vdev_reply(s, data, v->msos1_props[i].data, v->msos1_props[i].len);
        return OWU_E_STALL;
    case 6:
        return v->msos1_container_id
                   ? owu_vdev_reply(s, data, v->msos1_container_id, v->msos1_container_id_len)
                   : OWU_E_STALL;
    default:
        return OWU_E_STALL;
    }
}

static int vendor_request(struct owu_vdev *vd, const struct owu_setup *s, uint8_t *data)
{
    const struct owu_vdev_model *m = vd->model;
    const struct owu_vmsos_view v = {
        .msos1_vendor_code = m->msos1_vendor_code,
        .msos1_compat = m->msos1_compat,
        .msos1_compat_len = m->msos1_compat_len,
        .msos1_props = m->msos1_props,
        .num_msos1_props = m->num_msos1_props,
        .msos1_container_id = m->msos1_container_id,
        .msos1_container_id_len = m->msos1_container_id ? 24 : 0,
        .msos20_vendor_code = m->msos20_vendor_code,
        .msos20 = m->msos20,
        .msos20_len = m->msos20_len,
    };
    return owu_vdev_msos_request(&v, s, data);
}

/* ---- dispatch ---------------------------------------------------------------------------------- */

int owu_vdev_std_request(struct owu_vdev *vd, const struct owu_setup *setup, uint8_t *data)
{
    const struct owu_setup *s = setup;
    switch (s->bmRequestType & OWU_TYPE_MASK) {
    case OWU_TYPE_STANDARD:
        break;
    case OWU_TYPE_VENDOR:
        return vendor_request(vd, s, data);
    default:
        return OWU_E_STALL;   /* class requests belong to the models */
    }
    switch (s->bRequest) {
    case OWU_REQ_GET_DESCRIPTOR:
        return get_descriptor(vd, s, data);
    case OWU_REQ_SET_ADDRESS:
        return set_address(vd, s);
    case OWU_REQ_GET_CONFIGURATION:
        if (s->bmRequestType != 0x80 || s->wValue || s->wIndex)
            return OWU_E_STALL;
        return owu_vdev_reply(s, data, &vd->config_value, 1);
    case OWU_REQ_SET_CONFIGURATION:
        return set_configuration(vd, s);
    case OWU_REQ_GET_INTERFACE:
        return get_interface(vd, s, data);
    case OWU_REQ_SET_INTERFACE:
        return set_interface(vd, s);
    case OWU_REQ_GET_STATUS:
        return get_status(vd, s, data);
    case OWU_REQ_CLEAR_FEATURE:
        return feature(vd, s, false);
    case OWU_REQ_SET_FEATURE:
        return feature(vd, s, true);
    default:
        return OWU_E_STALL;   /* SET_DESCRIPTOR, SYNCH_FRAME (no isochronous endpoints), USB 3 */
    }
}
