/* The Windows identifiers of USB devices (pnp-ids.md §1): device, hardware, compatible,
 * instance and container IDs, the composite decision, usbccgp's function grouping and the
 * MS OS descriptors. Devinfos are built from descriptor bytes; no bus is involved. */
#include <openwinusb/descriptors.h>
#include <openwinusb/devinfo.h>
#include <openwinusb/pnp.h>

#include "check.h"
#include "core/sha1.h"
#include "pnp/msos.h"

/* ---- helpers ------------------------------------------------------------------------- */

/* Compares a whole ID list literally, in order. */
static void check_list(const char *file, int line, const owu_strlist *l, const char *const *expect)
{
    size_t n = 0;
    while (expect[n])
        n++;
    bool same = l->n == n;
    for (size_t i = 0; same && i < n; i++)
        same = strcmp(l->v[i], expect[i]) == 0;
    if (same)
        return;
    check_current_failed++;
    fprintf(stderr, "%s:%d: ID list differs\n  got (%zu):\n", file, line, l->n);
    for (size_t i = 0; i < l->n; i++)
        fprintf(stderr, "    %s\n", l->v[i]);
    fprintf(stderr, "  expected (%zu):\n", n);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "    %s\n", expect[i]);
}
#define CHECK_LIST(l, ...) check_list(__FILE__, __LINE__, (l), (const char *const[]){__VA_ARGS__, NULL})
#define CHECK_EMPTY(l) CHECK_INT((l)->n, 0)

/* CHECK_OK wants a pointer it may test for NULL; a variable keeps -Waddress quiet. */
static owu_err *errp_(owu_err *e) { return e; }
#define ERRP(e) errp_(e)

struct buf {
    uint8_t b[2048];
    size_t n;
};

static void put(struct buf *b, const uint8_t *p, size_t n)
{
    if (b->n + n > sizeof b->b) {
        fprintf(stderr, "test buffer overflow\n");
        abort();
    }
    memcpy(b->b + b->n, p, n);
    b->n += n;
}
#define PUT(b, ...) put((b), (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))
static void put16(struct buf *b, uint16_t v) { PUT(b, (uint8_t)v, (uint8_t)(v >> 8)); }
static void put32(struct buf *b, uint32_t v) { put16(b, (uint16_t)v); put16(b, (uint16_t)(v >> 16)); }
static void put_utf16(struct buf *b, const char *s, bool nul)
{
    for (; *s; s++)
        put16(b, (uint8_t)*s);
    if (nul)
        put16(b, 0);
}
static void put_id8(struct buf *b, const char *s)
{
    uint8_t id[8] = { 0 };
    memcpy(id, s, strlen(s) > 8 ? 8 : strlen(s));
    put(b, id, 8);
}
static void patch16(struct buf *b, size_t off, uint16_t v)
{
    b->b[off] = (uint8_t)v;
    b->b[off + 1] = (uint8_t)(v >> 8);
}
static void patch32(struct buf *b, size_t off, uint32_t v)
{
    patch16(b, off, (uint16_t)v);
    patch16(b, off + 2, (uint16_t)(v >> 16));
}

/* Configuration descriptors. */
static void cfg_begin(struct buf *c, uint8_t num_interfaces)
{
    c->n = 0;
    PUT(c, 9, OWU_DT_CONFIG, 0, 0, num_interfaces, 1, 0, 0x80, 50);
}
static void cfg_iad(struct buf *c, uint8_t first, uint8_t count, uint8_t cls, uint8_t sub, uint8_t prot,
                    uint8_t istr)
{
    PUT(c, 8, OWU_DT_IAD, first, count, cls, sub, prot, istr);
}
static void cfg_intf(struct buf *c, uint8_t num, uint8_t alt, uint8_t neps, uint8_t cls, uint8_t sub,
                     uint8_t prot, uint8_t istr)
{
    PUT(c, 9, OWU_DT_INTERFACE, num, alt, neps, cls, sub, prot, istr);
}
static void cfg_ep(struct buf *c, uint8_t addr, uint8_t attr, uint16_t mps)
{
    PUT(c, 7, OWU_DT_ENDPOINT, addr, attr, (uint8_t)mps, (uint8_t)(mps >> 8), 1);
}
static void cfg_ss_comp(struct buf *c, uint8_t burst, uint8_t attr)
{
    PUT(c, 6, OWU_DT_SS_EP_COMPANION, burst, attr, 0, 0);
}
static void cfg_end(struct buf *c)
{
    patch16(c, 2, (uint16_t)c->n);
}

/* One interface of the given class with one interrupt IN endpoint. */
static void cfg_simple_intf(struct buf *c, uint8_t num, uint8_t cls, uint8_t sub, uint8_t prot)
{
    cfg_intf(c, num, 0, 1, cls, sub, prot, 0);
    cfg_ep(c, (uint8_t)(0x81 + num), OWU_XFER_INTERRUPT, 8);
}

struct dev {
    uint16_t bcd_usb, vid, pid, bcd_dev;
    uint8_t cls, sub, prot;
    uint8_t iproduct, iserial, nconf;
    enum owu_speed speed;
};

static void add_string(struct owu_devinfo *info, uint8_t index, const char *text)
{
    uint8_t d[256];
    int n = owu_string_desc_encode(text, d, sizeof d);
    CHECK(n >= 2);
    if (n >= 2)
        CHECK_OK(owu_devinfo_add_string(info, index, 0x0409, d, (size_t)n), (owu_err *)NULL);
}

static struct owu_devinfo *new_info(const struct dev *d, const struct buf *cfg)
{
    struct owu_devinfo *info = owu_devinfo_new();
    if (!info)
        abort();
    info->speed = d->speed ? d->speed : OWU_SPEED_HIGH;
    bool ss = info->speed == OWU_SPEED_SUPER || info->speed == OWU_SPEED_SUPER_PLUS;
    uint8_t mps0 = ss ? 9 : info->speed == OWU_SPEED_LOW ? 8 : 64;
    uint8_t dd[18] = { 18, OWU_DT_DEVICE, (uint8_t)d->bcd_usb, (uint8_t)(d->bcd_usb >> 8), d->cls, d->sub,
                       d->prot, mps0, (uint8_t)d->vid, (uint8_t)(d->vid >> 8), (uint8_t)d->pid,
                       (uint8_t)(d->pid >> 8), (uint8_t)d->bcd_dev, (uint8_t)(d->bcd_dev >> 8), 0,
                       d->iproduct, d->iserial, d->nconf ? d->nconf : 1 };
    memcpy(info->device, dd, sizeof dd);
    info->device_len = sizeof dd;
    info->port = 3;
    info->removable = true;
    snprintf(info->location, sizeof info->location, "virtual:1-3");
    if (cfg)
        CHECK_OK(owu_devinfo_add_config(info, cfg->b, cfg->n), (owu_err *)NULL);
    const uint8_t langids[4] = { 4, OWU_DT_STRING, 0x09, 0x04 };
    CHECK_OK(owu_devinfo_add_string(info, 0, 0, langids, sizeof langids), (owu_err *)NULL);
    return info;
}

static struct owu_pnp_options opts(enum owu_target_os target)
{
    struct owu_pnp_options o = { .target = target, .ignore_serial = false };
    return o;
}

/* A computer with one USB 2 root hub (bus 1); the caller frees *root. */
static struct owu_devnode *tree(struct owu_devnode **root)
{
    *root = owu_pnp_build_root();
    CHECK(*root != NULL);
    struct owu_devnode *hub = owu_pnp_build_root_hub(*root, 1, false, NULL);
    CHECK(hub != NULL);
    return hub;
}

static struct owu_devnode *build(struct owu_devnode *parent, struct owu_devinfo *info,
                                 enum owu_target_os target)
{
    struct owu_pnp_options o = opts(target);
    struct owu_devnode *node = NULL;
    owu_err err = { 0 };
    CHECK_OK(owu_pnp_build_device(parent, info, &o, &node, &err), ERRP(&err));
    return node;
}

static struct owu_devnode *child_at(const struct owu_devnode *n, unsigned i)
{
    struct owu_devnode *c = n->first_child;
    while (c && i--)
        c = c->next_sibling;
    return c;
}

static unsigned child_count(const struct owu_devnode *n)
{
    unsigned k = 0;
    for (struct owu_devnode *c = n->first_child; c; c = c->next_sibling)
        k++;
    return k;
}

/* The port-based instance part a child of `parent` on port `port` gets. */
static void expect_port_instance(const struct owu_devnode *parent, const char *device_id, unsigned port,
                                 char *out, size_t outsz)
{
    snprintf(out, outsz, "%s\\%s&%u", device_id, parent->parent_id_prefix, port);
}

/* MS OS 2.0 set building. */
static void m20_begin(struct buf *b)
{
    b->n = 0;
    put16(b, 10);
    put16(b, OWU_MSOS20_SET_HEADER);
    put32(b, 0x06030000);
    put16(b, 0);
}
static void m20_finish(struct buf *b) { patch16(b, 8, (uint16_t)b->n); }
static size_t m20_config(struct buf *b, uint8_t index)
{
    size_t off = b->n;
    PUT(b, 8, 0, OWU_MSOS20_SUBSET_CONFIGURATION, 0, index, 0, 0, 0);
    return off;
}
static size_t m20_function(struct buf *b, uint8_t first)
{
    size_t off = b->n;
    PUT(b, 8, 0, OWU_MSOS20_SUBSET_FUNCTION, 0, first, 0, 0, 0);
    return off;
}
static void m20_close(struct buf *b, size_t off) { patch16(b, off + 6, (uint16_t)(b->n - off)); }
static void m20_compat(struct buf *b, const char *compat, const char *sub)
{
    put16(b, 20);
    put16(b, OWU_MSOS20_FEATURE_COMPATIBLE_ID);
    put_id8(b, compat);
    put_id8(b, sub);
}
static void m20_ccgp(struct buf *b) { PUT(b, 4, 0, OWU_MSOS20_FEATURE_CCGP_DEVICE, 0); }
static void m20_prop_sz(struct buf *b, uint16_t type, const char *name, const char *value)
{
    size_t nl = 2 * (strlen(name) + 1), dl = 2 * (strlen(value) + 1);
    put16(b, (uint16_t)(10 + nl + dl));
    put16(b, OWU_MSOS20_FEATURE_REG_PROPERTY);
    put16(b, type);
    put16(b, (uint16_t)nl);
    put_utf16(b, name, true);
    put16(b, (uint16_t)dl);
    put_utf16(b, value, true);
}
static void m20_prop_raw(struct buf *b, uint16_t type, const char *name, const uint8_t *data, size_t dl)
{
    size_t nl = 2 * (strlen(name) + 1);
    put16(b, (uint16_t)(10 + nl + dl));
    put16(b, OWU_MSOS20_FEATURE_REG_PROPERTY);
    put16(b, type);
    put16(b, (uint16_t)nl);
    put_utf16(b, name, true);
    put16(b, (uint16_t)dl);
    put(b, data, dl);
}

/* A BOS with the MS OS 2.0 platform capability for a set of `set_len` bytes, plus optional
 * container ID and billboard capabilities. */
static void make_bos(struct buf *b, size_t set_len, const uint8_t *container, bool billboard)
{
    b->n = 0;
    unsigned caps = (set_len ? 1 : 0) + (container ? 1 : 0) + (billboard ? 1 : 0);
    PUT(b, 5, OWU_DT_BOS, 0, 0, (uint8_t)caps);
    if (set_len) {
        PUT(b, 28, OWU_DT_DEVICE_CAPABILITY, OWU_CAP_PLATFORM, 0);
        put(b, OWU_MSOS20_PLATFORM_UUID, 16);
        put32(b, 0x06030000);
        put16(b, (uint16_t)set_len);
        PUT(b, 0x20, 0);
    }
    if (container) {
        PUT(b, 20, OWU_DT_DEVICE_CAPABILITY, OWU_CAP_CONTAINER_ID, 0);
        put(b, container, 16);
    }
    if (billboard) {
        uint8_t bb[44] = { 44, OWU_DT_DEVICE_CAPABILITY, OWU_CAP_BILLBOARD, 0, 0, 0 };
        bb[40] = 0x10;
        bb[41] = 0x01;
        put(b, bb, sizeof bb);
    }
    patch16(b, 2, (uint16_t)b->n);
}

/* MS OS 1.0 extended compat ID descriptor. */
struct m1fn {
    uint8_t first;
    const char *compat, *sub;
};
static void m1_compat(struct buf *b, const struct m1fn *f, unsigned n)
{
    b->n = 0;
    put32(b, 16 + 24 * n);
    put16(b, 0x0100);
    put16(b, 4);
    PUT(b, (uint8_t)n, 0, 0, 0, 0, 0, 0, 0);
    for (unsigned i = 0; i < n; i++) {
        PUT(b, f[i].first, 1);
        put_id8(b, f[i].compat);
        put_id8(b, f[i].sub);
        PUT(b, 0, 0, 0, 0, 0, 0);
    }
}

/* MS OS 1.0 extended properties descriptor with one REG_SZ property. */
static void m1_props_sz(struct buf *b, const char *name, const char *value)
{
    b->n = 0;
    size_t nl = 2 * (strlen(name) + 1), dl = 2 * (strlen(value) + 1);
    put32(b, (uint32_t)(10 + 14 + nl + dl));
    put16(b, 0x0100);
    put16(b, 5);
    put16(b, 1);
    put32(b, (uint32_t)(14 + nl + dl));
    put32(b, OWU_REG_SZ);
    put16(b, (uint16_t)nl);
    put_utf16(b, name, true);
    put32(b, (uint32_t)dl);
    put_utf16(b, value, true);
}

static void msos1_enable(struct owu_devinfo *info, const struct buf *compat)
{
    info->msos1.present = true;
    info->msos1.vendor_code = 0x20;
    if (compat)
        CHECK_OK(owu_devinfo_set_blob(&info->msos1.compat_id, &info->msos1.compat_id_len, compat->b,
                                      compat->n), (owu_err *)NULL);
}

static const char GUID_STR[] = "{a1b2c3d4-0000-1111-2222-333344445555}";

/* ---- basic pieces -------------------------------------------------------------------- */

static void test_sha1_vectors(void)
{
    static const struct { const char *msg; const char *hex; } v[] = {
        { "", "da39a3ee5e6b4b0d3255bfef95601890afd80709" },
        { "abc", "a9993e364706816aba3e25717850c26c9cd0d89d" },
        { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
          "84983e441c3bd26ebaae4aa1f95129e5e54670f1" },
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t d[20];
        char hex[41];
        owu_sha1(v[i].msg, strlen(v[i].msg), d);
        for (int k = 0; k < 20; k++)
            snprintf(hex + 2 * k, 3, "%02x", d[k]);
        CHECK_STR(hex, v[i].hex);
    }
    /* One million 'a', fed in odd-sized pieces across block boundaries. */
    struct owu_sha1 c;
    owu_sha1_init(&c);
    char chunk[997];
    memset(chunk, 'a', sizeof chunk);
    size_t left = 1000000;
    while (left) {
        size_t n = left < sizeof chunk ? left : sizeof chunk;
        owu_sha1_update(&c, chunk, n);
        left -= n;
    }
    uint8_t d[20];
    char hex[41];
    owu_sha1_final(&c, d);
    for (int k = 0; k < 20; k++)
        snprintf(hex + 2 * k, 3, "%02x", d[k]);
    CHECK_STR(hex, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

static void test_strlist(void)
{
    owu_strlist l = { 0 };
    for (int i = 0; i < 20; i++)
        CHECK_OK(owu_strlist_addf(&l, "USB\\Class_%02X", i), (owu_err *)NULL);
    CHECK_OK(owu_strlist_add(&l, "USB\\COMPOSITE"), (owu_err *)NULL);
    CHECK_INT(l.n, 21);
    CHECK_STR(l.v[10], "USB\\Class_0A");
    CHECK(owu_strlist_contains_ci(&l, "usb\\class_0a"));
    CHECK(owu_strlist_contains_ci(&l, "usb\\composite"));
    CHECK(!owu_strlist_contains_ci(&l, "USB\\Class_0"));
    CHECK_INT(owu_strlist_add(&l, NULL), OWU_E_INVAL);
    owu_strlist_clear(&l);
    CHECK_INT(l.n, 0);
    CHECK(l.v == NULL);
    owu_strlist_clear(&l);
}

static void test_devnode_basics(void)
{
    struct owu_devnode *p = owu_devnode_new(OWU_NODE_HUB);
    struct owu_devnode *a = owu_devnode_new(OWU_NODE_DEVICE);
    struct owu_devnode *b = owu_devnode_new(OWU_NODE_DEVICE);
    owu_devnode_add_child(p, a);
    owu_devnode_add_child(p, b);
    CHECK(p->first_child == a && a->next_sibling == b && b->parent == p);
    owu_devnode_remove_child(p, a);
    CHECK(p->first_child == b && a->parent == NULL);
    owu_devnode_add_child(b, a);
    CHECK(b->first_child == a && a->parent == b);
    owu_devnode_add_child(p, a);   /* moves it */
    CHECK(b->first_child == NULL && child_count(p) == 2 && child_at(p, 1) == a);

    const uint8_t one[4] = { 1, 0, 0, 0 }, two[4] = { 2, 0, 0, 0 };
    CHECK_OK(owu_devnode_add_property(a, "DeviceIdleEnabled", OWU_REG_DWORD, one, 4), (owu_err *)NULL);
    CHECK_OK(owu_devnode_add_property(a, "deviceidleenabled", OWU_REG_DWORD, two, 4), (owu_err *)NULL);
    CHECK_INT(a->num_properties, 1);
    const struct owu_property *prop = owu_devnode_find_property(a, "DEVICEIDLEENABLED");
    CHECK(prop && prop->len == 4 && prop->data[0] == 2);
    CHECK(owu_devnode_find_property(a, "Other") == NULL);
    CHECK_OK(owu_devnode_add_property(a, "Empty", OWU_REG_BINARY, NULL, 0), (owu_err *)NULL);
    CHECK_INT(owu_devnode_add_property(a, NULL, OWU_REG_BINARY, NULL, 0), OWU_E_INVAL);
    owu_devnode_free(b);   /* detaches from p */
    CHECK(child_count(p) == 1);
    owu_devnode_free(p);
    owu_devnode_free(NULL);
}

static void test_rev_text(void)
{
    char r[5];
    owu_pnp_rev_text(0x0200, 0x0A12, r);
    CHECK_STR(r, "0:12");
    owu_pnp_rev_text(0x0110, 0xABCD, r);
    CHECK_STR(r, ":;<=");
    owu_pnp_rev_text(0x0200, 0xEF09, r);
    CHECK_STR(r, ">?09");
    owu_pnp_rev_text(0x0200, 0x0012, r);
    CHECK_STR(r, "0012");
    owu_pnp_rev_text(0x0201, 0x0A12, r);
    CHECK_STR(r, "0A12");
    owu_pnp_rev_text(0x0210, 0xFFFF, r);
    CHECK_STR(r, "FFFF");
    owu_pnp_rev_text(0x0300, 0x0017, r);
    CHECK_STR(r, "0017");

    /* In the hardware IDs: bcdUSB 2.00 with a non-BCD bcdDevice, and 2.10. */
    struct owu_devnode *root, *hub = tree(&root);
    struct buf c;
    cfg_begin(&c, 1);
    cfg_simple_intf(&c, 0, 0xFF, 0, 0);
    cfg_end(&c);
    struct dev d = { .bcd_usb = 0x0200, .vid = 0x1234, .pid = 0xABCD, .bcd_dev = 0x0A12 };
    struct owu_devnode *n = build(hub, new_info(&d, &c), OWU_TARGET_WIN10);
    CHECK_LIST(&n->hardware_ids, "USB\\VID_1234&PID_ABCD&REV_0:12", "USB\\VID_1234&PID_ABCD");
    d.bcd_usb = 0x0210;
    n = build(hub, new_info(&d, &c), OWU_TARGET_WIN10);
    CHECK_LIST(&n->hardware_ids, "USB\\VID_1234&PID_ABCD&REV_0A12", "USB\\VID_1234&PID_ABCD");
    owu_devnode_free(root);
}

static void test_options_default(void)
{
    struct owu_pnp_options o;
    unsetenv("OPENWINUSB_TARGET");
    owu_pnp_options_default(&o);
    CHECK_INT(o.target, OWU_TARGET_WIN10);
    CHECK(!o.ignore_serial);
    setenv("OPENWINUSB_TARGET", "Win11", 1);
    owu_pnp_options_default(&o);
    CHECK_INT(o.target, OWU_TARGET_WIN11);
    setenv("OPENWINUSB_TARGET", "win7", 1);
    owu_pnp_options_default(&o);
    CHECK_INT(o.target, OWU_TARGET_WIN10);
    unsetenv("OPENWINUSB_TARGET");
}

/* ---- the seed document's two examples ------------------------------------------------- */

static void test_seed_single_interface_hid(void)
{
    struct owu_devnode *root, *hub = tree(&root);
    struct buf c;
    cfg_begin(&c, 1);
    cfg_simple_intf(&c, 0, 0x03, 0x01, 0x02);
    cfg_end(&c);
    /* Device class FF: the class IDs still come from the interface. */
    struct dev d = { .bcd_usb = 0x0110, .vid = 0x045E, .pid = 0x0040, .bcd_dev = 0x0300, .cls = 0xFF,
                     .sub = 0xFF, .prot = 0xFF, .speed = OWU_SPEED_LOW };
    struct owu_devnode *n = build(hub, new_info(&d, &c), OWU_TARGET_WIN10);
    CHECK_STR(n->device_id, "USB\\VID_045E&PID_0040");
    CHECK_LIST(&n->hardware_ids, "USB\\VID_045E&PID_0040&REV_0300", "USB\\VID_045E&PID_0040");
    CHECK_LIST(&n->compatible_ids, "USB\\Class_03&SubClass_01&Prot_02", "USB\\Class_03&SubClass_01",
               "USB\\Class_03");
    CHECK(!n->composite);
    CHECK_STR(n->description, "USB Input Device");
    CHECK_STR(n->location, "Port_#0003.Hub_#0001");
    CHECK_INT(n->class_code, 3);
    CHECK_INT(n->failure, OWU_FAIL_NONE);
    CHECK(n->msos_error == NULL);
    CHECK(n->parent == hub);
    owu_devnode_free(root);
}

static void test_seed_composite(void)
{
    struct owu_devnode *root, *hub = tree(&root);
    struct buf c;
    cfg_begin(&c, 3);
    cfg_simple_intf(&c, 0, 0x03, 0x01, 0x01);
    cfg_simple_intf(&c, 1, 0x03, 0x01, 0x02);
    cfg_simple_intf(&c, 2, 0xFF, 0x42, 0x01);
    cfg_end(&c);
    struct dev d = { .bcd_usb = 0x0200, .vid = 0x046D, .pid = 0xC52B, .bcd_dev = 0x1201, .iproduct = 2 };
    struct owu_devinfo *info = new_info(&d, &c);
    add_string(info, 2, "Unifying Receiver");
    struct owu_devnode *n = build(hub, info, OWU_TARGET_WIN10);
    CHECK(n->composite);
    CHECK_STR(n->device_id, "USB\\VID_046D&PID_C52B");
    CHECK_LIST(&n->hardware_ids, "USB\\VID_046D&PID_C52B&REV_1201", "USB\\VID_046D&PID_C52B");
    CHECK_LIST(&n->compatible_ids, "USB\\DevClass_00&SubClass_00&Prot_00", "USB\\DevClass_00&SubClass_00",
               "USB\\DevClass_00", "USB\\COMPOSITE");
    CHECK_STR(n->description, "Unifying Receiver");
    CHECK(n->first_child == NULL);   /* usbccgp's job */

    struct owu_pnp_options o = opts(OWU_TARGET_WIN10);
    owu_err err = { 0 };
    CHECK_OK(owu_usbccgp_create_functions(n, &o, &err), ERRP(&err));
    CHECK_INT(child_count(n), 3);
    struct owu_devnode *f0 = child_at(n, 0), *f2 = child_at(n, 2);
    CHECK_INT(f0->kind, OWU_NODE_FUNCTION);
    CHECK_STR(f0->device_id, "USB\\VID_046D&PID_C52B&MI_00");
    CHECK_LIST(&f0->hardware_ids, "USB\\VID_046D&PID_C52B&REV_1201&MI_00", "USB\\VID_046D&PID_C52B&MI_00");
    CHECK_LIST(&f0->compatible_ids, "USB\\Class_03&SubClass_01&Prot_01", "USB\\Class_03&SubClass_01",
               "USB\\Class_03");
    CHECK_STR(f2->device_id, "USB\\VID_046D&PID_C52B&MI_02");
    CHECK_LIST(&f2->compatible_ids, "USB\\Class_ff&SubClass_42&Prot_01", "USB\\Class_ff&SubClass_42",
               "USB\\Class_ff");
    CHECK(f0->info == n->info);
    CHECK_STR(f0->description, "Unifying Receiver (Interface 0)");
    CHECK_STR(f0->location, n->location);

    /* Instance IDs: <ParentIdPrefix of the composite>&<interface as %04X>. */
    char expect[128];
    snprintf(expect, sizeof expect, "USB\\VID_046D&PID_C52B&MI_02\\%s&0002", n->parent_id_prefix);
    CHECK_STR(f2->instance_id, expect);
    CHECK(!f2->unique_id);
    CHECK_INT(owu_pnp_node_depth(f2), 6);
    CHECK(strncmp(f2->parent_id_prefix, "7&", 2) == 0);

    /* Running usbccgp again rebuilds the same children. */
    CHECK_OK(owu_usbccgp_create_functions(n, &o, &err), ERRP(&err));
    CHECK_INT(child_count(n), 3);
    CHECK_STR(child_at(n, 2)->instance_id, expect);
    owu_devnode_free(root);
}

static void test_win11_lists(void)
{
    struct owu_devnode *root, *hub = tree(&root);
    struct buf c;
    cfg_begin(&c, 1);
    cfg_intf(&c, 0, 0, 2, 0xFF, 0x01, 0x02, 0);
    cfg_ep(&c, 0x82, OWU_XFER_BULK, 32);
    cfg_ep(&c, 0x02, OWU_XFER_BULK, 32);
    cfg_end(&c);
    struct dev d = { .bcd_usb = 0x0110, .vid = 0x1A86, .pid = 0x7523, .bcd_dev = 0x0264, .cls = 0xFF,
                     .speed = OWU_SPEED_FULL };
    struct owu_devnode *n = build(hub, new_info(&d, &c), OWU_TARGET_WIN11);
    CHECK_LIST(&n->compatible_ids, "USB\\COMPAT_VID_1A86&Class_FF&SubClass_01&Prot_02",
               "USB\\COMPAT_VID_1A86&Class_FF&SubClass_01", "USB\\COMPAT_VID_1A86&Class_FF",
               "USB\\Class_FF&SubClass_01&Prot_02", "USB\\Class_FF&SubClass_01", "USB\\Class_FF");
    n = build(hub, new_info(&d, &c), OWU_TARGET_WIN10);
    CHECK_LIST(&n->compatible_ids, "USB\\Class_FF&SubClass_01&Prot_02", "USB\\Class_FF&SubClass_01",
               "USB\\Class_FF");

    /* Composite parent (Prot00 quirk) and a lower-case child on WIN11. */
    cfg_begin(&c, 2);
    cfg_simple_intf(&c, 0, 0xFF, 0x42, 0x01);
    cfg_simple_intf(&c, 1, 0x06, 0x01, 0x01);
    cfg_end(&c);
    struct dev p = { .bcd_usb = 0x0200, .vid = 0x12D1, .pid = 0x107E, .bcd_dev = 0x0299 };
    n = build(hub, new_info(&p, &c), OWU_TARGET_WIN11);
    CHECK_LIST(&n->compatible_ids, "USB\\COMPAT_VID_12D1&DevClass_00&SubClass_00&Prot00",
               "USB\\COMPAT_VID_12D1&DevClass_00&SubClass_00", "USB\\COMPAT_VID_12D1&DevClass_00",
               "USB\\DevClass_00&SubClass_00&Prot_00", "USB\\DevClass_00&SubClass_00", "USB\\DevClass_00",
               "USB\\COMPOSITE");
    struct owu_pnp_options o = opts(OWU_TARGET_WIN11);
    owu_err err = { 0 };
    CHECK_OK(owu_usbccgp_create_functions(n, &o, &err), ERRP(&err));
    CHECK_LIST(&child_at(n, 0)->compatible_ids, "USB\\COMPAT_VID_12d1&Class_ff&SubClass_42&Prot_01",
               "USB\\COMPAT_VID_12d1&Class_ff&SubClass_42", "USB\\COMPAT_VID_12d1&Class_ff",
               "USB\\Class_ff&SubClass_42&Prot_01", "USB\\Class_ff&SubClass_42", "USB\\Class_ff");
    CHECK_LIST(&child_at(n, 1)->hardware_ids, "USB\\VID_12D1&PID_107E&REV_0299&MI_01",
               "USB\\VID_12D1&PID_107E&MI_01");
    owu_devnode_free(root);
}

/* ---- the composite decision ---------------------------------------------------------- */

static void test_composite_decision(void)
{
    struct owu_devnode *root, *hub = tree(&root);
    struct buf c;

    /* CDC device class 02 with two interfaces: not composite, IDs from interface 0. */
    cfg_begin(&c, 2);
    cfg_simple_intf(&c, 0, 0x02, 0x02, 0x01);
    cfg_intf(&c, 1, 0, 2, 0x0A, 0x00, 0x00, 0);
    cfg_ep(&c, 0x83, OWU_XFER_BULK, 64);
    cfg_ep(&c, 0x03, OWU_XFER_BULK, 64);
    cfg_end(&c);
    struct dev d = { .bcd_usb = 0x0200, .vid = 0x2E8A, .pid = 0x000A, .bcd_dev = 0x0100, .cls = 0x02 };
    struct owu_devnode *n = build(hub, new_info(&d, &c), OWU_TARGET_WIN10);
    CHECK(!n->composite);
    CHECK_LIST(&n->compatible_ids, "USB\\Class_02&SubClass_02&Prot_01", "USB\\Class_02&SubClass_02",
               "USB\\Class_02");
    CHECK_STR(n->description, "USB Serial Device");
    owu_err err = { 0 };
    CHECK_INT(owu_usbccgp_create_functions(n, NULL, &err), OWU_E_INVAL);
    CHECK_CONTAINS(err.msg, "not a composite device");

    /* The same interfaces with class 00: composite. */
    d.cls = 0x00;
    n = build(hub, new_info(&d, &c), OWU_TARGET_WIN10);
    CHECK(n->composite);

    /* Class 00, two configurations: not composite. */
    d.nconf = 2;
    n = build(hub, new_info(&d, &c), OWU_TARGET_WIN10);
    CHECK(!n->composite);
    CHECK_LIST(&n->compatible_ids, "USB\\Class_02&SubClass_02&Prot_01", "USB\\Class_02&SubClass_02",
               "USB\\Class_02");
    d.nconf = 1;

    /* Class 00, one interface: not composite. */
    struct buf one;
    cfg_begin(&one, 1);
    cfg_simple_intf(&one, 0, 0x03, 0x00, 0x00);
    cfg_end(&one);
    n = build(hub, new_info(&d, &one), OWU_TARGET_WIN10);
    CHECK(!n->composite);

    /* EF/02/01 with an IAD: composite. EF/02/00 is not. */
    struct buf iad;
    cfg_begin(&iad, 2);
    cfg_iad(&iad, 0, 2, 0x02, 0x02, 0x01, 0);
    cfg_simple_intf(&iad, 0, 0x02, 0x02, 0x01);
    cfg_intf(&iad, 1, 0, 0, 0x0A, 0x00, 0x00, 0);
    cfg_end(&iad);
    struct dev e = { .bcd_usb = 0x0200, .vid = 0x303A, .pid = 0x1001, .bcd_dev = 0x0101, .cls = 0xEF,
                     .sub = 0x02, .prot = 0x01 };
    n = build(hub, new_info(&e, &iad), OWU_TARGET_WIN10);
    CHECK(n->composite);
    CHECK_LIST(&n->compatible_ids, "USB\\DevClass_00&SubClass_00&Prot_00", "USB\\DevClass_00&SubClass_00",
               "USB\\DevClass_00", "USB\\COMPOSITE");
    CHECK_INT(n->class_code, 0);
    e.prot = 0x00;
    n = build(hub, new_info(&e, &iad), OWU_TARGET_WIN10);
    CHECK(!n->composite);

    /* Vendor class FF with two interfaces: not composite unless MS OS 2.0 says CCGP. */
    struct buf set, bos;
    m20_begin(&set);
    m20_ccgp(&set);
    m20_finish(&set);
    make_bos(&bos, set.n, NULL, false);
    struct dev v = { .bcd_usb = 0x0201, .vid = 0x1209, .pid = 0x0001, .bcd_dev = 0x0100, .cls = 0xFF };
    n = build(hub, new_info(&v, &c), OWU_TARGET_WIN10);
    CHECK(!n->composite);
    struct owu_devinfo *info = new_info(&v, &c);
    CHECK_OK(owu_devinfo_set_bos(info, bos.b, bos.n), (owu_err *)NULL);
    CHECK_OK(owu_devinfo_set_msos20(info, set.b, set.n), (owu_err *)NULL);
    n = build(hub, info, OWU_TARGET_WIN10);
    CHECK(n->composite);
    CHECK_LIST(&n->compatible_ids, "USB\\DevClass_00&SubClass_00&Prot_00", "USB\\DevClass_00&SubClass_00",
               "USB\\DevClass_00", "USB\\COMPOSITE");
    /* ... but CCGP still needs a single configuration. */
    v.nconf = 2;
    info = new_info(&v, &c);
    CHECK_OK(owu_devinfo_set_bos(info, bos.b, bos.n), (owu_err *)NULL);
    CHECK_OK(owu_devinfo_set_msos20(info, set.b, set.n), (owu_err *)NULL);
    n = build(hub, info, OWU_TARGET_WIN10);
    CHECK(!n->composite);
    owu_devnode_free(root);
}

/* ---- usbccgp grouping ------------------------------------------------------------------ */

static void test_iad_grouping(void)
{
    struct owu_devnode *root, *hub = tree(&root);
    struct buf c;
    /* CDC ACM in an IAD (interfaces 0-1), a vendor interface 2 outside any IAD, and a UVC
     * function (IAD 0E/03/00, first interface 0E/01/00) at 3-4. */
    cfg_begin(&c, 5);
    cfg_iad(&c, 0, 2, 0x02, 0x02, 0x01, 4);
    cfg_simple_intf(&c, 0, 0x02, 0x02, 0x01);
    cfg_intf(&c, 1, 0, 0, 0x0A, 0x00, 0x00, 0);
    cfg_intf(&c, 2, 0, 0, 0xFF, 0x00, 0x00, 5);
    cfg_iad(&c, 3, 2, 0x0E, 0x03, 0x00, 0);
    cfg_intf(&c, 3, 0, 0, 0x0E, 0x01, 0x00, 6);
    cfg_intf(&c, 4, 0, 0, 0x0E, 0x02, 0x00, 0);
    cfg_end(&c);
    struct dev d = { .bcd_usb = 0x0200, .vid = 0x303A, .pid = 0x4002, .bcd_dev = 0x0100, .cls = 0xEF,
                     .sub = 0x02, .prot = 0x01, .iproduct = 2 };
    struct owu_devinfo *info = new_info(&d, &c);
    add_string(info, 2, "ESP32-S3");
    add_string(info, 4, "Serial Port");
    add_string(info, 5, "Vendor Thing");
    add_string(info, 6, "Camera Control");
    struct owu_devnode *n = build(hub, info, OWU_TARGET_WIN10);
    CHECK(n->composite);
    owu_err err = { 0 };
    CHECK_OK(owu_usbccgp_create_functions(n, NULL, &err), ERRP(&err));
    CHECK_INT(child_count(n), 3);
    struct owu_devnode *acm = child_at(n, 0), *vend = child_at(n, 1), *uvc = child_at(n, 2);
    CHECK_STR(acm->device_id, "USB\\VID_303A&PID_4002&MI_00");
    CHECK_INT(acm->num_interfaces, 2);
    CHECK_LIST(&acm->compatible_ids, "USB\\Class_02&SubClass_02&Prot_01", "USB\\Class_02&SubClass_02",
               "USB\\Class_02");
    CHECK_STR(acm->description, "Serial Port");
    CHECK_STR(vend->device_id, "USB\\VID_303A&PID_4002&MI_02");
    CHECK_INT(vend->num_interfaces, 1);
    CHECK_STR(vend->description, "Vendor Thing");
    CHECK_LIST(&vend->compatible_ids, "USB\\Class_ff&SubClass_00&Prot_00", "USB\\Class_ff&SubClass_00",
               "USB\\Class_ff");
    CHECK_STR(uvc->device_id, "USB\\VID_303A&PID_4002&MI_03");
    CHECK_LIST(&uvc->hardware_ids, "USB\\VID_303A&PID_4002&REV_0100&MI_03", "USB\\VID_303A&PID_4002&MI_03");
    CHECK_LIST(&uvc->compatible_ids, "USB\\Class_0e&SubClass_03&Prot_00", "USB\\Class_0e&SubClass_03",
               "USB\\Class_0e");
    CHECK_INT(uvc->class_code, 0x0E);
    CHECK_INT(uvc->subclass, 0x03);
    CHECK_STR(uvc->description, "Camera Control");   /* no iFunction: first interface's string */
    owu_devnode_free(root);
}

static void test_legacy_audio_grouping(void)
{
    struct owu_devnode *root, *hub = tree(&root);
    struct buf c;
    /* Control 01/01, two streaming 01/02, a MIDI 01/03, then HID; then a second control. */
    cfg_begin(&c, 6);
    cfg_intf(&c, 0, 0, 0, 0x01, 0x01, 0x00, 0);
    cfg_intf(&c, 1, 0, 0, 0x01, 0x02, 0x00, 0);
    cfg_intf(&c, 2, 0, 0, 0x01, 0x02, 0x00, 0);
    cfg_intf(&c, 3, 0, 0, 0x01, 0x03, 0x00, 0);
    cfg_simple_intf(&c, 4, 0x03, 0x00, 0x00);
    cfg_intf(&c, 5, 0, 0, 0x01, 0x01, 0x00, 0);
    cfg_end(&c);
    struct dev d = { .bcd_usb = 0x0200, .vid = 0x0D8C, .pid = 0x0014, .bcd_dev = 0x0100 };
    struct owu_devnode *n = build(hub, new_info(&d, &c), OWU_TARGET_WIN10);
    owu_err err = { 0 };
    CHECK_OK(owu_usbccgp_create_functions(n, NULL, &err), ERRP(&err));
    CHECK_INT(child_count(n), 3);
    CHECK_STR(child_at(n, 0)->device_id, "USB\\VID_0D8C&PID_0014&MI_00");
    CHECK_INT(child_at(n, 0)->num_interfaces, 4);
    CHECK_LIST(&child_at(n, 0)->compatible_ids, "USB\\Class_01&SubClass_01&Prot_00",
               "USB\\Class_01&SubClass_01", "USB\\Class_01");
    CHECK_STR(child_at(n, 0)->description, "USB Audio Device (Interface 0)");
    CHECK_STR(child_at(n, 1)->device_id, "USB\\VID_0D8C&PID_0014&MI_04");
    CHECK_STR(child_at(n, 2)->device_id, "USB\\VID_0D8C&PID_0014&MI_05");

    /* Two audio control interfaces in a row stay apart (same subclass). */
    cfg_begin(&c, 2);
    cfg_intf(&c, 0, 0, 0, 0x01, 0x01, 0x00, 0);
    cfg_intf(&c, 1, 0, 0, 0x01, 0x01, 0x00, 0);
    cfg_end(&c);
    n = build(hub, new_info(&d, &c), OWU_TARGET_WIN10);
    CHECK_OK(owu_usbccgp_create_functions(n, NULL, &err), ERRP(&err));
    CHECK_INT(child_count(n), 2);

    /* With an IAD anywhere, legacy audio grouping is off. */
    cfg_begin(&c, 3);
    cfg_intf(&c, 0, 0, 0, 0x01, 0x01, 0x00, 0);
    cfg_intf(&c, 1, 0, 0, 0x01, 0x02, 0x00, 0);
    cfg_iad(&c, 2, 1, 0xFF, 0x00, 0x00, 0);
    cfg_intf(&c, 2, 0, 0, 0xFF, 0x00, 0x00, 0);
    cfg_end(&c);
    n = build(hub, new_info(&d, &c), OWU_TARGET_WIN10);
    CHECK_OK(owu_usbccgp_create_functions(n, NULL, &err), ERRP(&err));
    CHECK_INT(child_count(n), 3);
    owu_devnode_free(root);
}

static void test_interface_ten_and_up(void)
{
    struct owu_devnode *root, *hub = tree(&root);
    struct buf c;
    cfg_begin(&c, 2);
    cfg_intf(&c, 0, 0, 0, 0xFF, 0x00, 0x00, 0);
    cfg_intf(&c, 10, 0, 0, 0xFF, 0x00, 0x00, 0);
    cfg_end(&c);
    struct dev d = { .bcd_usb = 0x0200, .vid = 0x0001, .pid = 0x0002, .bcd_dev = 0x0100 };
    struct owu_devnode *n = build(hub, new_info(&d, &c), OWU_TARGET_WIN10);
    CHECK_OK(owu_usbccgp_create_functions(n, NULL, NULL), (owu_err *)NULL);
    struct owu_devnode *f = child_at(n, 1);
    CHECK_STR(f->device_id, "USB\\VID_0001&PID_0002&MI_0A");
    CHECK_LIST(&f->hardware_ids, "USB\\VID_0001&PID_0002&REV_0100&MI_0A", "USB\\VID_0001&PID_0002&MI_0A");
    size_t len = strlen(f->instance_id);
    CHECK(len > 5 && strcmp(f->instance_id + len - 5, "&000A") == 0);
    CHECK_STR(f->description, "USB Vendor Specific Device (Interface 10)");
    owu_devnode_free(root);
}

/* ---- MS OS descriptors ------------------------------------------------------------------ */

static void test_msos1_winusb(void)
{
    struct owu_devnode *root, *hub = tree(&root);
    struct buf c, compat, props;
    cfg_begin(&c, 1);
    cfg_intf(&c, 0, 0, 2, 0xFF, 0x00, 0x00, 0);
    cfg_ep(&c, 0x81, OWU_XFER_BULK, 512);
    cfg_ep(&c, 0x01, OWU_XFER_BULK, 512);
    cfg_end(&c);
    const struct m1fn f[] = { { 0, "WINUSB", "" } };
    m1_compat(&compat, f, 1);
    m1_props_sz(&props, "DeviceInterfaceGUID", GUID_STR);
    struct dev d = { .bcd_usb = 0x0200, .vid = 0x1209, .pid = 0x5678, .bcd_dev = 0x0100 };

    struct owu_devinfo *info = new_info(&d, &c);
    msos1_enable(info, &compat);
    CHECK_OK(owu_devinfo_add_msos1_props(info, 0, props.b, props.n), (owu_err *)NULL);
    struct owu_devnode *n = build(hub, info, OWU_TARGET_WIN10);
    CHECK_LIST(&n->compatible_ids, "USB\\MS_COMP_WINUSB", "USB\\Class_FF&SubClass_00&Prot_00",
               "USB\\Class_FF&SubClass_00", "USB\\Class_FF");
    CHECK_STR(n->msos_compat, "WINUSB");
    CHECK_STR(n->msos_subcompat, "");
    const struct owu_property *p = owu_devnode_find_property(n, "DeviceInterfaceGUID");
    CHECK(p != NULL);
    if (p) {
        CHECK_INT(p->type, OWU_REG_SZ);
        CHECK_INT(p->len, strlen(GUID_STR) + 1);
        CHECK_STR((const char *)p->data, GUID_STR);
    }
    CHECK(n->msos_error == NULL);

    /* WIN11 order: MS_COMP first, then COMPAT_VID (the E081 text). */
    info = new_info(&d, &c);
    msos1_enable(info, &compat);
    n = build(hub, info, OWU_TARGET_WIN11);
    CHECK_LIST(&n->compatible_ids, "USB\\MS_COMP_WINUSB", "USB\\COMPAT_VID_1209&Class_FF&SubClass_00&Prot_00",
               "USB\\COMPAT_VID_1209&Class_FF&SubClass_00", "USB\\COMPAT_VID_1209&Class_FF",
               "USB\\Class_FF&SubClass_00&Prot_00", "USB\\Class_FF&SubClass_00", "USB\\Class_FF");

    /* Not for USB 1.x devices. */
    d.bcd_usb = 0x0110;
    info = new_info(&d, &c);
    msos1_enable(info, &compat);
    CHECK_OK(owu_devinfo_add_msos1_props(info, 0, props.b, props.n), (owu_err *)NULL);
    n = build(hub, info, OWU_TARGET_WIN10);
    CHECK_LIST(&n->compatible_ids, "USB\\Class_FF&SubClass_00&Prot_00", "USB\\Class_FF&SubClass_00",
               "USB\\Class_FF");
    CHECK_INT(n->num_properties, 0);

    /* A section for another interface does not apply to a non-composite device. */
    d.bcd_usb = 0x0200;
    const struct m1fn other[] = { { 1, "WINUSB", "" } };
    m1_compat(&compat, other, 1);
    info = new_info(&d, &c);
    msos1_enable(info, &compat);
    n = build(hub, info, OWU_TARGET_WIN10);
    CHECK_INT(n->compatible_ids.n, 3);

    /* "MSFT100" absent: the stored descriptor is not consulted. */
    m1_compat(&compat, f, 1);
    info = new_info(&d, &c);
    msos1_enable(info, &compat);
    info->msos1.present = false;
    n = build(hub, info, OWU_TARGET_WIN10);
    CHECK_INT(n->compatible_ids.n, 3);
    owu_devnode_free(root);
}

static void test_msos1_composite(void)
{
    struct owu_devnode *root, *hub = tree(&root);
    struct buf c, compat, props;
    cfg_begin(&c, 3);
    cfg_simple_intf(&c, 0, 0x03, 0x00, 0x00);
    cfg_intf(&c, 1, 0, 0, 0xFF, 0x00, 0x00, 0);
    cfg_intf(&c, 2, 0, 0, 0xFF, 0x00, 0x00, 0);
    cfg_end(&c);
    const struct m1fn f[] = { { 1, "WINUSB", "" }, { 2, "MTP", "" } };
    m1_compat(&compat, f, 2);
    m1_props_sz(&props, "DeviceInterfaceGUID", GUID_STR);
    struct dev d = { .bcd_usb = 0x0200, .vid = 0x1209, .pid = 0x0C0C, .bcd_dev = 0x0100 };
    struct owu_devinfo *info = new_info(&d, &c);
    msos1_enable(info, &compat);
    CHECK_OK(owu_devinfo_add_msos1_props(info, 1, props.b, props.n), (owu_err *)NULL);
    struct owu_devnode *n = build(hub, info, OWU_TARGET_WIN10);
    CHECK(n->composite);
    CHECK_STR(n->msos_compat, "");   /* not applied to the parent */
    CHECK_INT(n->num_properties, 0);
    CHECK_OK(owu_usbccgp_create_functions(n, NULL, NULL), (owu_err *)NULL);
    CHECK_LIST(&child_at(n, 0)->compatible_ids, "USB\\Class_03&SubClass_00&Prot_00", "USB\\Class_03&SubClass_00",
               "USB\\Class_03");
    CHECK_LIST(&child_at(n, 1)->compatible_ids, "USB\\MS_COMP_WINUSB", "USB\\Class_ff&SubClass_00&Prot_00",
               "USB\\Class_ff&SubClass_00", "USB\\Class_ff");
    CHECK_LIST(&child_at(n, 2)->compatible_ids, "USB\\MS_COMP_MTP", "USB\\Class_ff&SubClass_00&Prot_00",
               "USB\\Class_ff&SubClass_00", "USB\\Class_ff");
    CHECK(owu_devnode_find_property(child_at(n, 1), "DeviceInterfaceGUID") != NULL);
    CHECK(owu_devnode_find_property(child_at(n, 2), "DeviceInterfaceGUID") == NULL);
    owu_devnode_free(root);
}

static void test_subcompat_quirk(void)
{
    struct owu_devnode *root, *hub = tree(&root);
    struct buf c, compat;
    cfg_begin(&c, 1);
    cfg_intf(&c, 0, 0, 0, 0xE0, 0x01, 0x01, 0);
    cfg_end(&c);
    struct dev d = { .bcd_usb = 0x0200, .vid = 0x0A12, .pid = 0x0001, .bcd_dev = 0x8891, .cls = 0xE0,
                     .sub = 0x01, .prot = 0x01 };
    const struct m1fn both[] = { { 0, "BLUTUTH", "11" } };
    m1_compat(&compat, both, 1);
    struct owu_devinfo *info = new_info(&d, &c);
    msos1_enable(info, &compat);
    struct owu_devnode *n = build(hub, info, OWU_TARGET_WIN10);
    CHECK_LIST(&n->compatible_ids, "USB\\MS_COMP_BLUTUTH&MS_SUBCOMP_11", "USB\\MS_COMP_BLUTUTH",
               "USB\\Class_E0&SubClass_01&Prot_01", "USB\\Class_E0&SubClass_01", "USB\\Class_E0");
    CHECK_LIST(&n->hardware_ids, "USB\\VID_0A12&PID_0001&REV_8891", "USB\\VID_0A12&PID_0001");

    /* Sub-compatible ID without a compatible ID: the sub-compat line still appears. */
    const struct m1fn sub_only[] = { { 0, "", "11" } };
    m1_compat(&compat, sub_only, 1);
    info = new_info(&d, &c);
    msos1_enable(info, &compat);
    n = build(hub, info, OWU_TARGET_WIN10);
    CHECK_LIST(&n->compatible_ids, "USB\\MS_COMP_&MS_SUBCOMP_11", "USB\\Class_E0&SubClass_01&Prot_01",
               "USB\\Class_E0&SubClass_01", "USB\\Class_E0");

    /* Both empty: no MS lines. */
    const struct m1fn none[] = { { 0, "", "" } };
    m1_compat(&compat, none, 1);
    info = new_info(&d, &c);
    msos1_enable(info, &compat);
    n = build(hub, info, OWU_TARGET_WIN10);
    CHECK_INT(n->compatible_ids.n, 3);
    owu_devnode_free(root);
}

/* A single-interface WinUSB device with the given MS OS 2.0 set. */
static struct owu_devinfo *msos20_device(const struct buf *set, const struct buf *cfg, bool with_msos1)
{
    struct dev d = { .bcd_usb = 0x0210, .vid = 0x1209, .pid = 0x2000, .bcd_dev = 0x0100 };
    struct owu_devinfo *info = new_info(&d, cfg);
    struct buf bos;
    make_bos(&bos, set ? set->n : 64, NULL, false);
    CHECK_OK(owu_devinfo_set_bos(info, bos.b, bos.n), (owu_err *)NULL);
    if (set)
        CHECK_OK(owu_devinfo_set_msos20(info, set->b, set->n), (owu_err *)NULL);
    if (with_msos1) {
        struct buf compat;
        const struct m1fn f[] = { { 0, "RNDIS", "" } };
        m1_compat(&compat, f, 1);
        msos1_enable(info, &compat);
    }
    return info;
}

static void test_msos20_top_level_vs_subsets(void)
{
    struct owu_devnode *root, *hub = tree(&root);
    struct buf c, set;
    cfg_begin(&c, 1);
    cfg_intf(&c, 0, 0, 0, 0xFF, 0x00, 0x00, 0);
    cfg_end(&c);

    /* Top level: applies to the non-composite device (and MS OS 1.0 is skipped). */
    m20_begin(&set);
    m20_compat(&set, "WINUSB", "");
    m20_prop_sz(&set, OWU_REG_MULTI_SZ, "DeviceInterfaceGUIDs", GUID_STR);
    m20_finish(&set);
    struct owu_devnode *n = build(hub, msos20_device(&set, &c, true), OWU_TARGET_WIN10);
    CHECK_LIST(&n->compatible_ids, "USB\\MS_COMP_WINUSB", "USB\\Class_FF&SubClass_00&Prot_00",
               "USB\\Class_FF&SubClass_00", "USB\\Class_FF");
    const struct owu_property *p = owu_devnode_find_property(n, "DeviceInterfaceGUIDs");
    CHECK(p != NULL);
    if (p) {
        CHECK_INT(p->type, OWU_REG_MULTI_SZ);
        CHECK_INT(p->len, strlen(GUID_STR) + 2);
        CHECK(memcmp(p->data, GUID_STR, strlen(GUID_STR) + 1) == 0 && p->data[p->len - 1] == 0);
    }
    CHECK(n->msos_error == NULL);

    /* Wrapped in configuration + function subsets: no MS_COMP for a non-composite device. */
    m20_begin(&set);
    size_t cs = m20_config(&set, 0);
    size_t fs = m20_function(&set, 0);
    m20_compat(&set, "WINUSB", "");
    m20_prop_sz(&set, OWU_REG_SZ, "DeviceInterfaceGUID", GUID_STR);
    m20_close(&set, fs);
    m20_close(&set, cs);
    m20_finish(&set);
    n = build(hub, msos20_device(&set, &c, true), OWU_TARGET_WIN10);
    CHECK_LIST(&n->compatible_ids, "USB\\Class_FF&SubClass_00&Prot_00", "USB\\Class_FF&SubClass_00",
               "USB\\Class_FF");
    CHECK_INT(n->num_properties, 0);

    /* Platform capability but the set could not be read: MS OS 1.0 still skipped. */
    n = build(hub, msos20_device(NULL, &c, true), OWU_TARGET_WIN10);
    CHECK_INT(n->compatible_ids.n, 3);
    CHECK(n->msos_error != NULL);
    if (n->msos_error)
        CHECK_CONTAINS(n->msos_error, "no descriptor set was read");
    owu_devnode_free(root);
}

static void test_msos20_function_subsets(void)
{
    struct owu_devnode *root, *hub = tree(&root);
    struct buf c, set;
    cfg_begin(&c, 3);
    cfg_iad(&c, 0, 2, 0x02, 0x02, 0x01, 0);
    cfg_simple_intf(&c, 0, 0x02, 0x02, 0x01);
    cfg_intf(&c, 1, 0, 0, 0x0A, 0x00, 0x00, 0);
    cfg_intf(&c, 2, 0, 0, 0xFF, 0x00, 0x00, 0);
    cfg_end(&c);
    const uint8_t idle[4] = { 1, 0, 0, 0 };
    m20_begin(&set);
    m20_prop_raw(&set, OWU_REG_DWORD, "DeviceIdleEnabled", idle, 4);
    m20_compat(&set, "XUSB20", "");   /* top-level compat: not for a composite's functions */
    size_t cs = m20_config(&set, 0);
    size_t fs = m20_function(&set, 2);
    m20_compat(&set, "WINUSB", "");
    m20_prop_sz(&set, OWU_REG_MULTI_SZ, "DeviceInterfaceGUIDs", GUID_STR);
    m20_close(&set, fs);
    m20_close(&set, cs);
    m20_finish(&set);
    struct dev d = { .bcd_usb = 0x0210, .vid = 0xCAFE, .pid = 0x4011, .bcd_dev = 0x0100, .cls = 0xEF,
                     .sub = 0x02, .prot = 0x01 };
    struct owu_devinfo *info = new_info(&d, &c);
    struct buf bos;
    make_bos(&bos, set.n, NULL, false);
    CHECK_OK(owu_devinfo_set_bos(info, bos.b, bos.n), (owu_err *)NULL);
    CHECK_OK(owu_devinfo_set_msos20(info, set.b, set.n), (owu_err *)NULL);
    struct owu_devnode *n = build(hub, info, OWU_TARGET_WIN11);
    CHECK(n->composite);
    CHECK_LIST(&n->compatible_ids, "USB\\COMPAT_VID_CAFE&DevClass_00&SubClass_00&Prot00",
               "USB\\COMPAT_VID_CAFE&DevClass_00&SubClass_00", "USB\\COMPAT_VID_CAFE&DevClass_00",
               "USB\\DevClass_00&SubClass_00&Prot_00", "USB\\DevClass_00&SubClass_00", "USB\\DevClass_00",
               "USB\\COMPOSITE");
    /* Top-level registry properties belong to the whole device. */
    const struct owu_property *p = owu_devnode_find_property(n, "DeviceIdleEnabled");
    CHECK(p && p->type == OWU_REG_DWORD && p->len == 4 && p->data[0] == 1);
    struct owu_pnp_options o = opts(OWU_TARGET_WIN11);
    CHECK_OK(owu_usbccgp_create_functions(n, &o, NULL), (owu_err *)NULL);
    CHECK_INT(child_count(n), 2);
    struct owu_devnode *acm = child_at(n, 0), *win = child_at(n, 1);
    CHECK_LIST(&acm->compatible_ids, "USB\\COMPAT_VID_cafe&Class_02&SubClass_02&Prot_01",
               "USB\\COMPAT_VID_cafe&Class_02&SubClass_02", "USB\\COMPAT_VID_cafe&Class_02",
               "USB\\Class_02&SubClass_02&Prot_01", "USB\\Class_02&SubClass_02", "USB\\Class_02");
    CHECK_INT(acm->num_properties, 0);
    CHECK_LIST(&win->compatible_ids, "USB\\MS_COMP_WINUSB", "USB\\COMPAT_VID_cafe&Class_ff&SubClass_00&Prot_00",
               "USB\\COMPAT_VID_cafe&Class_ff&SubClass_00", "USB\\COMPAT_VID_cafe&Class_ff",
               "USB\\Class_ff&SubClass_00&Prot_00", "USB\\Class_ff&SubClass_00", "USB\\Class_ff");
    CHECK_STR(win->msos_compat, "WINUSB");
    CHECK(owu_devnode_find_property(win, "DeviceInterfaceGUIDs") != NULL);
    CHECK(owu_devnode_find_property(win, "DeviceIdleEnabled") == NULL);
    owu_devnode_free(root);
}

static void test_msos20_parse_details(void)
{
    struct buf set;
    const uint8_t be[4] = { 0, 0, 0, 1 };
    const uint8_t bin[3] = { 0xDE, 0xAD, 0x00 };
    const uint8_t model[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
    m20_begin(&set);
    m20_prop_raw(&set, OWU_REG_DWORD_BIG_ENDIAN, "BigOne", be, 4);
    m20_prop_raw(&set, OWU_REG_BINARY, "Blob", bin, 3);
    m20_prop_sz(&set, OWU_REG_EXPAND_SZ, "Path", "%SystemRoot%\\x");
    PUT(&set, 6, 0, OWU_MSOS20_FEATURE_MIN_RESUME_TIME, 0, 5, 7);
    PUT(&set, 20, 0, OWU_MSOS20_FEATURE_MODEL_ID, 0);
    put(&set, model, 16);
    PUT(&set, 6, 0, OWU_MSOS20_FEATURE_VENDOR_REVISION, 0, 0x34, 0x12);
    PUT(&set, 6, 0, 0x42, 0, 0xAA, 0xBB);   /* unknown type: skipped */
    /* A MULTI_SZ with two strings and a non-ASCII character (U+00E9), and one without the
     * closing empty string. */
    size_t off = set.n;
    put16(&set, 0);
    put16(&set, OWU_MSOS20_FEATURE_REG_PROPERTY);
    put16(&set, OWU_REG_MULTI_SZ);
    put16(&set, 6);
    put_utf16(&set, "Ab", true);
    put16(&set, 10);
    put16(&set, 'x');
    put16(&set, 0);
    put16(&set, 0xE9);
    put16(&set, 0);
    put16(&set, 0);
    patch16(&set, off, (uint16_t)(set.n - off));
    off = set.n;
    put16(&set, 0);
    put16(&set, OWU_MSOS20_FEATURE_REG_PROPERTY);
    put16(&set, OWU_REG_MULTI_SZ);
    put16(&set, 6);
    put_utf16(&set, "Cd", true);
    put16(&set, 2);
    put16(&set, 'y');
    patch16(&set, off, (uint16_t)(set.n - off));
    size_t cs = m20_config(&set, 1);
    m20_ccgp(&set);   /* device-only feature in a subset: ignored */
    m20_close(&set, cs);
    m20_finish(&set);

    struct owu_msos20_set s;
    owu_err err = { 0 };
    CHECK_OK(owu_msos20_parse(set.b, set.n, &s, &err), ERRP(&err));
    CHECK(!s.ccgp);
    CHECK_INT(s.windows_version, 0x06030000);
    CHECK(s.has_min_resume_time && s.resume_recovery_ms == 5 && s.resume_signaling_ms == 7);
    CHECK(s.has_model_id && memcmp(s.model_id, model, 16) == 0);
    CHECK(s.has_vendor_revision && s.vendor_revision == 0x1234);
    CHECK_INT(s.num_configs, 1);
    CHECK_INT(s.configs[0].config_index, 1);
    CHECK_INT(s.device.props.n, 5);
    if (s.device.props.n == 5) {
        const struct owu_property *p = s.device.props.v;
        CHECK_STR(p[0].name, "BigOne");
        CHECK(p[0].type == OWU_REG_DWORD_BIG_ENDIAN && p[0].len == 4 && memcmp(p[0].data, be, 4) == 0);
        CHECK(p[1].type == OWU_REG_BINARY && p[1].len == 3 && memcmp(p[1].data, bin, 3) == 0);
        CHECK(p[2].type == OWU_REG_EXPAND_SZ && p[2].len == 15);
        CHECK_STR((const char *)p[2].data, "%SystemRoot%\\x");
        CHECK_INT(p[3].len, 6);
        CHECK(memcmp(p[3].data, "x\0\xC3\xA9\0\0", 6) == 0);
        CHECK_INT(p[4].len, 3);
        CHECK(memcmp(p[4].data, "y\0\0", 3) == 0);
    }
    CHECK(owu_msos20_function_for(&s, 1, 0) == NULL);
    owu_msos20_free(&s);

    /* Bytes after wTotalLength are ignored. */
    set.b[set.n] = 0xFF;
    CHECK_OK(owu_msos20_parse(set.b, set.n + 1, &s, &err), ERRP(&err));
    owu_msos20_free(&s);
}

/* Parses bad bytes with one of the parsers and checks the error text. */
enum parser { P_SET, P_COMPAT, P_PROPS, P_CONTAINER };
static void expect_bad(int line, enum parser which, const struct buf *b, const char *needle)
{
    owu_err err = { 0 };
    int rc;
    switch (which) {
    case P_SET: {
        struct owu_msos20_set s;
        rc = owu_msos20_parse(b->b, b->n, &s, &err);
        if (rc == 0)
            owu_msos20_free(&s);
        break;
    }
    case P_COMPAT: {
        struct owu_msos1_compat c;
        rc = owu_msos1_compat_parse(b->b, b->n, &c, &err);
        if (rc == 0)
            owu_msos1_compat_free(&c);
        break;
    }
    case P_PROPS: {
        struct owu_msos_props p;
        rc = owu_msos1_props_parse(b->b, b->n, &p, &err);
        if (rc == 0)
            owu_msos_props_free(&p);
        break;
    }
    default: {
        uint8_t g[16];
        rc = owu_msos1_container_parse(b->b, b->n, g, &err);
        break;
    }
    }
    if (rc != OWU_E_BADDESC || !strstr(err.msg, needle)) {
        check_current_failed++;
        fprintf(stderr, "%s:%d: rc %d, message \"%s\", expected OWU_E_BADDESC and \"%s\"\n", __FILE__,
                line, rc, err.msg, needle);
    }
}
#define EXPECT_BAD(which, b, needle) expect_bad(__LINE__, which, b, needle)

static void test_msos20_malformed(void)
{
    struct buf b;
    b.n = 4;
    memset(b.b, 0, 4);
    EXPECT_BAD(P_SET, &b, "4 bytes received, the set header needs 10");

    m20_begin(&b);
    patch16(&b, 0, 9);
    m20_finish(&b);
    EXPECT_BAD(P_SET, &b, "set header wLength 9 at offset 0 is not 10");

    m20_begin(&b);
    patch16(&b, 2, 1);
    m20_finish(&b);
    EXPECT_BAD(P_SET, &b, "wDescriptorType 1 at offset 2 is not 0");

    m20_begin(&b);
    m20_compat(&b, "WINUSB", "");
    m20_finish(&b);
    patch16(&b, 8, 40);
    EXPECT_BAD(P_SET, &b, "wTotalLength 40 at offset 8 exceeds the 30 bytes received");
    patch16(&b, 8, 3);
    EXPECT_BAD(P_SET, &b, "wTotalLength 3 at offset 8 is below 10");

    /* A zero wLength must not loop. */
    m20_begin(&b);
    PUT(&b, 0, 0, OWU_MSOS20_FEATURE_CCGP_DEVICE, 0);
    m20_finish(&b);
    EXPECT_BAD(P_SET, &b, "descriptor at offset 10: wLength 0 is below 4");

    m20_begin(&b);
    PUT(&b, 4, 0);
    m20_finish(&b);
    EXPECT_BAD(P_SET, &b, "2 bytes at offset 10 before the end of the descriptor set at 12 are too few");

    m20_begin(&b);
    m20_compat(&b, "WINUSB", "");
    m20_finish(&b);
    patch16(&b, 10, 24);
    EXPECT_BAD(P_SET, &b, "wLength 24 runs past the end of the descriptor set at 30");

    m20_begin(&b);
    PUT(&b, 12, 0, OWU_MSOS20_FEATURE_COMPATIBLE_ID, 0, 'W', 'I', 'N', 'U', 'S', 'B', 0, 0);
    m20_finish(&b);
    EXPECT_BAD(P_SET, &b, "compatible ID descriptor at offset 10: wLength 12 is not 20");

    m20_begin(&b);
    m20_compat(&b, "winusb", "");
    m20_finish(&b);
    EXPECT_BAD(P_SET, &b, "CompatibleID byte 0 (offset 14) is 0x77");

    m20_begin(&b);
    m20_compat(&b, "WINUSB", "");
    b.b[21] = 'X';   /* after the NUL padding began at byte 6 */
    m20_finish(&b);
    EXPECT_BAD(P_SET, &b, "CompatibleID byte 7 (offset 21) is 0x58 after the NUL padding began");

    m20_begin(&b);
    PUT(&b, 5, 0, OWU_MSOS20_FEATURE_CCGP_DEVICE, 0, 0);
    m20_finish(&b);
    EXPECT_BAD(P_SET, &b, "CCGP device descriptor at offset 10: wLength 5 is not 4");

    m20_begin(&b);
    m20_function(&b, 0);
    m20_close(&b, 10);
    m20_finish(&b);
    EXPECT_BAD(P_SET, &b, "function subset header at offset 10 is not inside a configuration subset");

    m20_begin(&b);
    size_t cs = m20_config(&b, 0);
    size_t fs = m20_function(&b, 0);
    size_t fs2 = m20_function(&b, 1);
    m20_close(&b, fs2);
    m20_close(&b, fs);
    m20_close(&b, cs);
    m20_finish(&b);
    EXPECT_BAD(P_SET, &b, "function subset header at offset 26 is inside another function subset");

    m20_begin(&b);
    cs = m20_config(&b, 0);
    size_t cs2 = m20_config(&b, 1);
    m20_close(&b, cs2);
    m20_close(&b, cs);
    m20_finish(&b);
    EXPECT_BAD(P_SET, &b, "configuration subset header at offset 18 inside the configuration subset");

    m20_begin(&b);
    cs = m20_config(&b, 0);
    m20_finish(&b);
    patch16(&b, cs + 6, 200);
    EXPECT_BAD(P_SET, &b, "wTotalLength 200 is outside 8..8");

    m20_begin(&b);
    cs = m20_config(&b, 0);
    fs = m20_function(&b, 0);
    m20_close(&b, cs);
    patch16(&b, fs + 6, 9);
    m20_finish(&b);
    EXPECT_BAD(P_SET, &b, "wSubsetLength 9 is outside 8..8");

    m20_begin(&b);
    PUT(&b, 9, 0, OWU_MSOS20_SUBSET_CONFIGURATION, 0, 0, 0, 9, 0, 0);
    m20_finish(&b);
    EXPECT_BAD(P_SET, &b, "configuration subset header at offset 10: wLength 9 is not 8");

    m20_begin(&b);
    PUT(&b, 10, 0, OWU_MSOS20_SET_HEADER, 0, 0, 0, 0, 0, 10, 0);
    m20_finish(&b);
    EXPECT_BAD(P_SET, &b, "second set header at offset 10");

    /* Registry properties. */
    m20_begin(&b);
    m20_prop_sz(&b, 9, "Name", "v");
    m20_finish(&b);
    EXPECT_BAD(P_SET, &b, "property data type 9 is not one of 1..7");

    const uint8_t three[3] = { 1, 2, 3 };
    m20_begin(&b);
    m20_prop_raw(&b, OWU_REG_DWORD, "Idle", three, 3);
    m20_finish(&b);
    EXPECT_BAD(P_SET, &b, "REG_DWORD data length 3 is not 4");

    m20_begin(&b);
    m20_prop_raw(&b, OWU_REG_SZ, "Odd", three, 3);
    m20_finish(&b);
    EXPECT_BAD(P_SET, &b, "REG_SZ data length 3 is odd");

    m20_begin(&b);
    m20_prop_sz(&b, OWU_REG_SZ, "Name", "value");
    patch16(&b, 16, 200);   /* wPropertyNameLength */
    m20_finish(&b);
    EXPECT_BAD(P_SET, &b, "wPropertyNameLength 200 does not fit in wLength 32");

    m20_begin(&b);
    m20_prop_sz(&b, OWU_REG_SZ, "Name", "value");
    patch16(&b, 28 - 2 + 2, 4);   /* wPropertyDataLength (after the 10-byte name) */
    m20_finish(&b);
    EXPECT_BAD(P_SET, &b, "wPropertyDataLength 4 (offset 28) does not match wLength 32");

    m20_begin(&b);
    m20_prop_sz(&b, OWU_REG_SZ, "", "value");
    m20_finish(&b);
    EXPECT_BAD(P_SET, &b, "property name is empty");

    m20_begin(&b);
    put16(&b, 8);
    put16(&b, OWU_MSOS20_FEATURE_REG_PROPERTY);
    put16(&b, 1);
    put16(&b, 0);
    m20_finish(&b);
    EXPECT_BAD(P_SET, &b, "registry property descriptor at offset 10: wLength 8 is below 10");
}

static void test_msos1_malformed(void)
{
    struct buf b;
    const struct m1fn f[] = { { 0, "WINUSB", "" } };

    b.n = 10;
    memset(b.b, 0, 10);
    EXPECT_BAD(P_COMPAT, &b, "extended compat ID descriptor: 10 bytes received, the header needs 16");

    m1_compat(&b, f, 1);
    patch32(&b, 0, 100);
    EXPECT_BAD(P_COMPAT, &b, "dwLength 100 at offset 0 exceeds the 40 bytes received");
    patch32(&b, 0, 8);
    EXPECT_BAD(P_COMPAT, &b, "dwLength 8 at offset 0 is below the 16-byte header");

    m1_compat(&b, f, 1);
    patch16(&b, 4, 0x0001);
    EXPECT_BAD(P_COMPAT, &b, "bcdVersion 0x0001 at offset 4 is not 0x0100");

    m1_compat(&b, f, 1);
    patch16(&b, 6, 5);
    EXPECT_BAD(P_COMPAT, &b, "wIndex 5 at offset 6 is not 4");

    m1_compat(&b, f, 1);
    b.b[8] = 2;
    EXPECT_BAD(P_COMPAT, &b, "dwLength 40 does not match 16 + 24 x bCount 2 = 64");

    const struct m1fn bad[] = { { 0, "WIN-USB", "" } };
    m1_compat(&b, bad, 1);
    EXPECT_BAD(P_COMPAT, &b, "function 0 at offset 16: compatibleID byte 3 (offset 21) is 0x2D");

    const struct m1fn bad_sub[] = { { 0, "WINUSB", "x" } };
    m1_compat(&b, bad_sub, 1);
    EXPECT_BAD(P_COMPAT, &b, "subCompatibleID byte 0 (offset 26) is 0x78");

    /* Properties. */
    m1_props_sz(&b, "DeviceInterfaceGUID", GUID_STR);
    struct owu_msos_props props;
    owu_err err = { 0 };
    CHECK_OK(owu_msos1_props_parse(b.b, b.n, &props, &err), ERRP(&err));
    CHECK_INT(props.n, 1);
    owu_msos_props_free(&props);

    patch16(&b, 6, 4);
    EXPECT_BAD(P_PROPS, &b, "extended properties descriptor: wIndex 4 at offset 6 is not 5");
    m1_props_sz(&b, "DeviceInterfaceGUID", GUID_STR);
    patch16(&b, 8, 2);   /* wCount */
    EXPECT_BAD(P_PROPS, &b, "property 1 at offset 142: 0 bytes left before dwLength 142");
    m1_props_sz(&b, "DeviceInterfaceGUID", GUID_STR);
    patch32(&b, 10, 5);   /* dwSize */
    EXPECT_BAD(P_PROPS, &b, "property 0 at offset 10: dwSize 5 is outside 14..132");
    m1_props_sz(&b, "DeviceInterfaceGUID", GUID_STR);
    patch32(&b, 10 + 10 + 40, 70);   /* dwPropertyDataLength */
    EXPECT_BAD(P_PROPS, &b, "dwPropertyDataLength 70 (offset 60) does not match dwSize 132");
    m1_props_sz(&b, "DeviceInterfaceGUID", GUID_STR);
    patch16(&b, 18, 500);   /* wPropertyNameLength */
    EXPECT_BAD(P_PROPS, &b, "wPropertyNameLength 500 does not fit in dwSize 132");
    m1_props_sz(&b, "DeviceInterfaceGUID", GUID_STR);
    patch16(&b, 8, 0);   /* wCount 0 but a property follows */
    EXPECT_BAD(P_PROPS, &b, "132 bytes at offset 10 follow the last of wCount 0 properties");

    /* ContainerID. */
    b.n = 0;
    put32(&b, 24);
    put16(&b, 0x0100);
    put16(&b, 6);
    for (int i = 0; i < 16; i++)
        PUT(&b, (uint8_t)i);
    uint8_t g[16];
    CHECK_OK(owu_msos1_container_parse(b.b, b.n, g, &err), ERRP(&err));
    CHECK(g[15] == 15);
    patch16(&b, 6, 7);
    EXPECT_BAD(P_CONTAINER, &b, "ContainerID descriptor: wIndex 7 at offset 6 is not 6");
    patch16(&b, 6, 6);
    b.n = 20;
    EXPECT_BAD(P_CONTAINER, &b, "20 bytes received, the header needs 24");
    b.n = 28;
    patch32(&b, 0, 28);
    EXPECT_BAD(P_CONTAINER, &b, "dwLength 28 at offset 0 is not 24");
}

static void test_malformed_msos_in_device(void)
{
    struct owu_devnode *root, *hub = tree(&root);
    struct buf c, set, compat;
    cfg_begin(&c, 1);
    cfg_intf(&c, 0, 0, 0, 0xFF, 0x00, 0x00, 0);
    cfg_end(&c);

    /* A broken MS OS 2.0 set: no MS IDs, the reason recorded, the device still built. */
    m20_begin(&set);
    m20_compat(&set, "WINUSB", "");
    PUT(&set, 0, 0, 0, 0);
    m20_finish(&set);
    struct owu_devnode *n = build(hub, msos20_device(&set, &c, false), OWU_TARGET_WIN10);
    CHECK_INT(n->compatible_ids.n, 3);
    CHECK(n->msos_error != NULL);
    if (n->msos_error)
        CHECK_CONTAINS(n->msos_error, "MS OS 2.0 descriptor set: descriptor at offset 30: wLength 0");

    /* A broken MS OS 1.0 compat descriptor. */
    const struct m1fn f[] = { { 0, "WINUSB", "" } };
    m1_compat(&compat, f, 1);
    compat.n = 30;
    struct dev d = { .bcd_usb = 0x0200, .vid = 0x1209, .pid = 0x0003, .bcd_dev = 0x0100 };
    struct owu_devinfo *info = new_info(&d, &c);
    msos1_enable(info, &compat);
    n = build(hub, info, OWU_TARGET_WIN10);
    CHECK_INT(n->compatible_ids.n, 3);
    if (n->msos_error)
        CHECK_CONTAINS(n->msos_error, "dwLength 40 at offset 0 exceeds the 30 bytes received");
    else
        CHECK(n->msos_error != NULL);

    /* Broken MS OS 1.0 properties: compat still applies, properties are left out. */
    struct buf props;
    m1_props_sz(&props, "DeviceInterfaceGUID", GUID_STR);
    patch32(&props, 10, 5);
    m1_compat(&compat, f, 1);
    info = new_info(&d, &c);
    msos1_enable(info, &compat);
    CHECK_OK(owu_devinfo_add_msos1_props(info, 0, props.b, props.n), (owu_err *)NULL);
    n = build(hub, info, OWU_TARGET_WIN10);
    CHECK_INT(n->compatible_ids.n, 4);
    CHECK_INT(n->num_properties, 0);
    if (n->msos_error)
        CHECK_CONTAINS(n->msos_error, "interface 0: MS OS 1.0 extended properties descriptor");
    else
        CHECK(n->msos_error != NULL);

    /* A BOS that does not parse: ignored with a note. */
    info = new_info(&d, &c);
    const uint8_t bad_bos[5] = { 5, OWU_DT_BOS, 4, 0, 0 };
    CHECK_OK(owu_devinfo_set_bos(info, bad_bos, sizeof bad_bos), (owu_err *)NULL);
    n = build(hub, info, OWU_TARGET_WIN10);
    CHECK_INT(n->compatible_ids.n, 3);
    if (n->msos_error)
        CHECK_CONTAINS(n->msos_error, "BOS ignored");
    else
        CHECK(n->msos_error != NULL);
    owu_devnode_free(root);
}

/* ---- special devices ------------------------------------------------------------------ */

static void test_hub_ids(void)
{
    struct owu_devnode *root, *hub = tree(&root);
    struct buf c;
    cfg_begin(&c, 1);
    cfg_simple_intf(&c, 0, 0x09, 0x00, 0x01);
    cfg_end(&c);
    struct dev d = { .bcd_usb = 0x0200, .vid = 0x05E3, .pid = 0x0610, .bcd_dev = 0x9226, .cls = 0x09,
                     .prot = 0x01, .iserial = 3 };
    struct owu_devinfo *info = new_info(&d, &c);
    add_string(info, 3, "ab12");
    struct owu_devnode *n = build(hub, info, OWU_TARGET_WIN11);
    CHECK_LIST(&n->compatible_ids, "USB\\USB20_HUB");
    CHECK_STR(n->instance_id, "USB\\VID_05E3&PID_0610\\MSFT20AB12");
    CHECK(n->unique_id);
    CHECK_STR(n->description, "Generic USB Hub");
    CHECK_INT(n->hub_number, 2);   /* bus 1's root hub has 1 */

    /* A device behind that hub: its location names hub 2, its prefix is depth 6. */
    struct buf k;
    cfg_begin(&k, 1);
    cfg_simple_intf(&k, 0, 0x03, 0x01, 0x01);
    cfg_end(&k);
    struct dev kd = { .bcd_usb = 0x0110, .vid = 0x413C, .pid = 0x2113, .bcd_dev = 0x0110,
                      .speed = OWU_SPEED_LOW };
    struct owu_devinfo *kinfo = new_info(&kd, &k);
    kinfo->port = 4;
    struct owu_devnode *kbd = build(n, kinfo, OWU_TARGET_WIN10);
    CHECK_STR(kbd->location, "Port_#0004.Hub_#0002");
    char expect[128];
    expect_port_instance(n, "USB\\VID_413C&PID_2113", 4, expect, sizeof expect);
    CHECK_STR(kbd->instance_id, expect);
    CHECK(strncmp(n->parent_id_prefix, "6&", 2) == 0);
    CHECK_INT(owu_pnp_node_depth(kbd), 6);

    /* SuperSpeed half: USB30_HUB and MSFT30. */
    d.bcd_usb = 0x0320;
    d.speed = OWU_SPEED_SUPER;
    d.pid = 0x0626;
    info = new_info(&d, &c);
    add_string(info, 3, "ab12");
    n = build(hub, info, OWU_TARGET_WIN10);
    CHECK_LIST(&n->compatible_ids, "USB\\USB30_HUB");
    CHECK_STR(n->instance_id, "USB\\VID_05E3&PID_0626\\MSFT30AB12");
    CHECK_STR(n->description, "Generic SuperSpeed USB Hub");
    CHECK_INT(n->hub_number, 3);

    /* Full speed: USB20_HUB. Low speed: no compatible ID at all. */
    d.bcd_usb = 0x0110;
    d.speed = OWU_SPEED_FULL;
    n = build(hub, new_info(&d, &c), OWU_TARGET_WIN10);
    CHECK_LIST(&n->compatible_ids, "USB\\USB20_HUB");
    d.speed = OWU_SPEED_LOW;
    n = build(hub, new_info(&d, &c), OWU_TARGET_WIN10);
    CHECK_EMPTY(&n->compatible_ids);
    owu_devnode_free(root);
}

static void test_billboard(void)
{
    struct owu_devnode *root, *hub = tree(&root);
    struct buf c, bos;
    cfg_begin(&c, 1);
    cfg_intf(&c, 0, 0, 0, 0x11, 0x00, 0x00, 0);
    cfg_end(&c);
    make_bos(&bos, 0, NULL, true);
    struct dev d = { .bcd_usb = 0x0201, .vid = 0x2109, .pid = 0x0100, .bcd_dev = 0x0101, .cls = 0x11 };
    struct owu_devinfo *info = new_info(&d, &c);
    CHECK_OK(owu_devinfo_set_bos(info, bos.b, bos.n), (owu_err *)NULL);
    struct owu_devnode *n = build(hub, info, OWU_TARGET_WIN11);
    CHECK_LIST(&n->compatible_ids, "USB\\Class_11&SubClass_00&Prot_00");
    CHECK_STR(n->description, "USB Billboard Device");

    /* The capability decides, not the class code. */
    cfg_begin(&c, 1);
    cfg_intf(&c, 0, 0, 0, 0xFF, 0x00, 0x00, 0);
    cfg_end(&c);
    info = new_info(&d, &c);
    CHECK_OK(owu_devinfo_set_bos(info, bos.b, bos.n), (owu_err *)NULL);
    n = build(hub, info, OWU_TARGET_WIN10);
    CHECK_LIST(&n->compatible_ids, "USB\\Class_11&SubClass_00&Prot_00");
    n = build(hub, new_info(&d, &c), OWU_TARGET_WIN10);
    CHECK_INT(n->compatible_ids.n, 3);
    owu_devnode_free(root);
}

/* A mass-storage interface with a BOT setting 0 and a UAS setting 1. */
static void uas_config(struct buf *c, bool streams)
{
    cfg_begin(c, 1);
    cfg_intf(c, 0, 0, 2, 0x08, 0x06, 0x50, 0);
    cfg_ep(c, 0x81, OWU_XFER_BULK, 512);
    cfg_ep(c, 0x02, OWU_XFER_BULK, 512);
    cfg_intf(c, 0, 1, 2, 0x08, 0x06, 0x62, 0);
    cfg_ep(c, 0x81, OWU_XFER_BULK, 512);
    cfg_ss_comp(c, 0, streams ? 5 : 0);
    cfg_ep(c, 0x02, OWU_XFER_BULK, 512);
    cfg_ss_comp(c, 0, streams ? 5 : 0);
    cfg_end(c);
}

static void test_uas(void)
{
    struct owu_devnode *root, *hub = tree(&root);
    struct buf c;
    uas_config(&c, true);
    struct dev d = { .bcd_usb = 0x0210, .vid = 0x152D, .pid = 0x0578, .bcd_dev = 0x0508, .iserial = 3,
                     .speed = OWU_SPEED_HIGH };
    struct owu_devinfo *info = new_info(&d, &c);
    add_string(info, 3, "0123456789AB");
    struct owu_devnode *n = build(hub, info, OWU_TARGET_WIN10);
    CHECK_LIST(&n->compatible_ids, "USB\\Class_08&SubClass_06&Prot_62", "USB\\Class_08&SubClass_06",
               "USB\\Class_08");
    CHECK_STR(n->instance_id, "USB\\VID_152D&PID_0578\\MSFT300123456789AB");

    /* Full speed: the first setting (BOT) and no prefix. */
    d.speed = OWU_SPEED_FULL;
    info = new_info(&d, &c);
    add_string(info, 3, "0123456789AB");
    n = build(hub, info, OWU_TARGET_WIN10);
    CHECK_LIST(&n->compatible_ids, "USB\\Class_08&SubClass_06&Prot_50", "USB\\Class_08&SubClass_06",
               "USB\\Class_08");
    CHECK_STR(n->instance_id, "USB\\VID_152D&PID_0578\\0123456789AB");

    /* bcdUSB 2.00 at high speed: no UAS case. */
    d.speed = OWU_SPEED_HIGH;
    d.bcd_usb = 0x0200;
    info = new_info(&d, &c);
    add_string(info, 3, "0123456789AB");
    n = build(hub, info, OWU_TARGET_WIN10);
    CHECK_STR(n->compatible_ids.v[0], "USB\\Class_08&SubClass_06&Prot_50");

    /* SuperSpeed: only with streams. */
    d.bcd_usb = 0x0310;
    d.speed = OWU_SPEED_SUPER;
    info = new_info(&d, &c);
    add_string(info, 3, "0123456789AB");
    n = build(hub, info, OWU_TARGET_WIN10);
    CHECK_STR(n->compatible_ids.v[0], "USB\\Class_08&SubClass_06&Prot_62");
    CHECK_STR(n->instance_id, "USB\\VID_152D&PID_0578\\MSFT300123456789AB");
    uas_config(&c, false);
    info = new_info(&d, &c);
    add_string(info, 3, "0123456789AB");
    n = build(hub, info, OWU_TARGET_WIN10);
    CHECK_STR(n->compatible_ids.v[0], "USB\\Class_08&SubClass_06&Prot_50");
    CHECK_STR(n->instance_id, "USB\\VID_152D&PID_0578\\0123456789AB");
    CHECK_STR(n->description, "USB Mass Storage Device");
    owu_devnode_free(root);
}

/* ---- instance IDs ---------------------------------------------------------------------- */

static void test_serial_validation(void)
{
    CHECK(owu_pnp_serial_valid("E190CC90"));
    CHECK(owu_pnp_serial_valid("a b"));
    CHECK(owu_pnp_serial_valid("~\x7F"));
    CHECK(!owu_pnp_serial_valid(""));
    CHECK(!owu_pnp_serial_valid(NULL));
    CHECK(!owu_pnp_serial_valid("12,34"));
    CHECK(!owu_pnp_serial_valid("12\x1F" "34"));
    CHECK(!owu_pnp_serial_valid("caf\xC3\xA9"));
    char out[32];
    CHECK_OK(owu_pnp_serial_instance("ab c-1", NULL, out, sizeof out), (owu_err *)NULL);
    CHECK_STR(out, "AB_C-1");
    CHECK_OK(owu_pnp_serial_instance("x", "MSFT20", out, sizeof out), (owu_err *)NULL);
    CHECK_STR(out, "MSFT20X");
    CHECK_INT(owu_pnp_serial_instance("12,3", NULL, out, sizeof out), OWU_E_INVAL);
    CHECK_INT(owu_pnp_serial_instance("123456", "MSFT30", out, 12), OWU_E_INVAL);

    struct owu_devnode *root, *hub = tree(&root);
    struct buf c;
    cfg_begin(&c, 1);
    cfg_simple_intf(&c, 0, 0x03, 0x01, 0x02);
    cfg_end(&c);
    struct dev d = { .bcd_usb = 0x0200, .vid = 0x046D, .pid = 0xC077, .bcd_dev = 0x7200, .iserial = 3 };
    static const struct { const char *serial; const char *part; } cases[] = {
        { "2d312ff4bb1927af", "2D312FF4BB1927AF" },
        { "SN 0001 x", "SN_0001_X" },
        { "12,34", NULL },
        { "ab\tc", NULL },
        { "caf\xC3\xA9", NULL },
        { "", NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct owu_devinfo *info = new_info(&d, &c);
        add_string(info, 3, cases[i].serial);
        struct owu_devnode *n = build(hub, info, OWU_TARGET_WIN10);
        char expect[128];
        if (cases[i].part)
            snprintf(expect, sizeof expect, "USB\\VID_046D&PID_C077\\%s", cases[i].part);
        else
            expect_port_instance(hub, "USB\\VID_046D&PID_C077", 3, expect, sizeof expect);
        CHECK_STR(n->instance_id, expect);
        CHECK(n->unique_id == (cases[i].part != NULL));
    }

    /* A serial index with no string descriptor, and IgnoreHWSerNum. */
    struct owu_devnode *n = build(hub, new_info(&d, &c), OWU_TARGET_WIN10);
    CHECK(!n->unique_id);
    struct owu_devinfo *info = new_info(&d, &c);
    add_string(info, 3, "GOOD1");
    struct owu_pnp_options o = { .target = OWU_TARGET_WIN10, .ignore_serial = true };
    owu_err err = { 0 };
    CHECK_OK(owu_pnp_build_device(hub, info, &o, &n, &err), ERRP(&err));
    char expect[128];
    expect_port_instance(hub, "USB\\VID_046D&PID_C077", 3, expect, sizeof expect);
    CHECK_STR(n->instance_id, expect);
    CHECK(!n->unique_id);
    owu_devnode_free(root);
}

static void test_parent_id_prefix(void)
{
    /* FNV-1a 32 reference values. */
    CHECK_INT(owu_fnv1a32(""), 0x811C9DC5u);
    CHECK_INT(owu_fnv1a32("a"), 0xE40C292Cu);
    CHECK_INT(owu_fnv1a32("foobar"), 0xBF9CF968u);

    struct owu_devnode *root = owu_pnp_build_root();
    CHECK_STR(root->device_id, "ROOT\\OPENWINUSB");
    CHECK_STR(root->instance_id, "ROOT\\OPENWINUSB\\0000");
    CHECK_STR(root->container_id, OWU_CONTAINER_ID_ROOT);
    CHECK_INT(owu_pnp_node_depth(root), 3);

    struct owu_devnode *rh = owu_pnp_build_root_hub(root, 2, true, NULL);
    char expect[128];
    snprintf(expect, sizeof expect, "USB\\ROOT_HUB30\\4&%X&0&0", owu_fnv1a32("OPENWINUSB\\BUS\\2"));
    CHECK_STR(rh->instance_id, expect);
    CHECK_STR(rh->device_id, "USB\\ROOT_HUB30");
    CHECK_LIST(&rh->hardware_ids, "USB\\ROOT_HUB30");
    CHECK_EMPTY(&rh->compatible_ids);
    CHECK_STR(rh->description, "USB Root Hub (USB 3.0)");
    CHECK_INT(rh->hub_number, 1);   /* the first hub of the tree, whatever its bus number */
    CHECK(rh->parent == root);
    snprintf(expect, sizeof expect, "5&%X&0", owu_fnv1a32(rh->instance_id));
    CHECK_STR(rh->parent_id_prefix, expect);

    struct owu_devnode *rh20 = owu_pnp_build_root_hub(NULL, 1, false, "My Hub");
    CHECK_STR(rh20->device_id, "USB\\ROOT_HUB20");
    CHECK_STR(rh20->description, "My Hub");
    CHECK_INT(owu_pnp_node_depth(rh20), 4);

    /* A port-based device on bus 2 and a function of a composite one. */
    struct buf c;
    cfg_begin(&c, 2);
    cfg_intf(&c, 0, 0, 0, 0xFF, 0x00, 0x00, 0);
    cfg_intf(&c, 1, 0, 0, 0xFF, 0x00, 0x00, 0);
    cfg_end(&c);
    struct dev d = { .bcd_usb = 0x0200, .vid = 0x1234, .pid = 0x5678, .bcd_dev = 0x0100 };
    struct owu_devinfo *info = new_info(&d, &c);
    info->port = 12;
    struct owu_devnode *n = build(rh, info, OWU_TARGET_WIN10);
    snprintf(expect, sizeof expect, "USB\\VID_1234&PID_5678\\%s&12", rh->parent_id_prefix);
    CHECK_STR(n->instance_id, expect);
    CHECK_STR(n->location, "Port_#0012.Hub_#0001");
    struct owu_devnode *rh_second = owu_pnp_build_root_hub(root, 7, false, NULL);
    CHECK_INT(rh_second->hub_number, 2);
    snprintf(expect, sizeof expect, "6&%X&0", owu_fnv1a32(n->instance_id));
    CHECK_STR(n->parent_id_prefix, expect);
    CHECK_OK(owu_usbccgp_create_functions(n, NULL, NULL), (owu_err *)NULL);
    struct owu_devnode *f = child_at(n, 1);
    snprintf(expect, sizeof expect, "USB\\VID_1234&PID_5678&MI_01\\%s&0001", n->parent_id_prefix);
    CHECK_STR(f->instance_id, expect);
    snprintf(expect, sizeof expect, "7&%X&0", owu_fnv1a32(f->instance_id));
    CHECK_STR(f->parent_id_prefix, expect);

    /* Without a parent: the prefix bus 0's USB 2 root hub would give. */
    struct owu_devnode *bus0 = owu_pnp_build_root_hub(NULL, 0, false, NULL);
    info = new_info(&d, &c);
    struct owu_devnode *orphan = build(NULL, info, OWU_TARGET_WIN10);
    snprintf(expect, sizeof expect, "USB\\VID_1234&PID_5678\\%s&3", bus0->parent_id_prefix);
    CHECK_STR(orphan->instance_id, expect);
    CHECK_INT(owu_pnp_node_depth(orphan), 5);
    CHECK_STR(orphan->location, "Port_#0003.Hub_#0000");

    /* The same device on the same port gives the same IDs (stable across runs). */
    info = new_info(&d, &c);
    info->port = 12;
    struct owu_devnode *again = build(rh, info, OWU_TARGET_WIN10);
    CHECK_STR(again->instance_id, n->instance_id);
    CHECK_STR(again->container_id, n->container_id);

    owu_devnode_free(orphan);
    owu_devnode_free(bus0);
    owu_devnode_free(rh20);
    owu_devnode_free(root);
}

/* ---- failures --------------------------------------------------------------------------- */

static void test_failure_ids(void)
{
    static const struct { enum owu_enum_failure f; const char *id; const char *device_id; } v[] = {
        { OWU_FAIL_RESET, "USB\\RESET_FAILURE", "USB\\VID_0000&PID_0001" },
        { OWU_FAIL_DEVICE_DESCRIPTOR, "USB\\DEVICE_DESCRIPTOR_FAILURE", "USB\\VID_0000&PID_0002" },
        { OWU_FAIL_CONFIG_DESCRIPTOR, "USB\\CONFIG_DESCRIPTOR_FAILURE", "USB\\VID_0000&PID_0003" },
        { OWU_FAIL_SET_ADDRESS, "USB\\SET_ADDRESS_FAILURE", "USB\\VID_0000&PID_0004" },
        { OWU_FAIL_DEVICE_DESCRIPTOR_INVALID, "USB\\DEVICE_DESCRIPTOR_VALIDATION_FAILURE",
          "USB\\VID_0000&PID_0005" },
        { OWU_FAIL_CONFIG_DESCRIPTOR_INVALID, "USB\\CONFIGURATION_DESCRIPTOR_VALIDATION_FAILURE",
          "USB\\VID_0000&PID_0006" },
        { OWU_FAIL_PORT_LINK_SSINACTIVE, "USB\\PORT_LINK_SSINACTIVE", "USB\\VID_0000&PID_0007" },
        { OWU_FAIL_PORT_LINK_COMPLIANCE, "USB\\PORT_LINK_COMPLIANCE_MODE", "USB\\VID_0000&PID_0008" },
        { OWU_FAIL_UNKNOWN, "USB\\UNKNOWN_DEVICE", "USB\\VID_0000&PID_0000" },
    };
    struct owu_devnode *root, *hub = tree(&root);
    struct buf c;
    cfg_begin(&c, 1);
    cfg_simple_intf(&c, 0, 0x03, 0x01, 0x02);
    cfg_end(&c);
    struct dev d = { .bcd_usb = 0x0200, .vid = 0x046D, .pid = 0xC077, .bcd_dev = 0x7200, .iserial = 3 };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        CHECK_STR(owu_failure_id(v[i].f), v[i].id);
        /* Even with good descriptors and a serial, a failed device gets failure IDs and a
         * port-based instance ID. */
        struct owu_devinfo *info = new_info(&d, &c);
        add_string(info, 3, "SERIAL1");
        info->failure = v[i].f;
        struct owu_devnode *n = build(hub, info, OWU_TARGET_WIN11);
        CHECK_STR(n->device_id, v[i].device_id);
        CHECK_LIST(&n->hardware_ids, v[i].id);
        CHECK_LIST(&n->compatible_ids, v[i].id);
        char expect[128];
        expect_port_instance(hub, v[i].device_id, 3, expect, sizeof expect);
        CHECK_STR(n->instance_id, expect);
        CHECK(!n->unique_id);
        CHECK_INT(n->failure, v[i].f);
        CHECK_CONTAINS(n->description, "Unknown USB Device");
        CHECK(n->container_id[0] == '{');
    }
    CHECK_INT(owu_failure_pid(OWU_FAIL_CONFIG_DESCRIPTOR_INVALID), 6);
    CHECK_STR(owu_failure_id(OWU_FAIL_NONE), "USB\\UNKNOWN_DEVICE");
    CHECK_INT(owu_failure_pid(OWU_FAIL_NONE), 0);

    /* Descriptors a "successful" devinfo lacks or that do not parse become failures. */
    struct owu_devinfo *info = new_info(&d, NULL);
    struct owu_devnode *n = build(hub, info, OWU_TARGET_WIN10);
    CHECK_STR(n->device_id, "USB\\VID_0000&PID_0003");
    CHECK_INT(n->info->failure, OWU_FAIL_CONFIG_DESCRIPTOR);

    struct buf bad = c;
    bad.b[9] = 0;   /* interface bLength 0 */
    n = build(hub, new_info(&d, &bad), OWU_TARGET_WIN10);
    CHECK_STR(n->device_id, "USB\\VID_0000&PID_0006");
    CHECK_LIST(&n->compatible_ids, "USB\\CONFIGURATION_DESCRIPTOR_VALIDATION_FAILURE");
    CHECK(n->info->failure_detail[0] != '\0');

    info = new_info(&d, &c);
    info->device[1] = 0x07;   /* bDescriptorType */
    n = build(hub, info, OWU_TARGET_WIN10);
    CHECK_STR(n->device_id, "USB\\VID_0000&PID_0005");

    info = new_info(&d, &c);
    info->device_len = 8;
    n = build(hub, info, OWU_TARGET_WIN10);
    CHECK_STR(n->device_id, "USB\\VID_0000&PID_0002");

    /* Bad arguments. */
    owu_err err = { 0 };
    CHECK_INT(owu_pnp_build_device(hub, NULL, NULL, &n, &err), OWU_E_INVAL);
    owu_devnode_free(root);
}

/* ---- container IDs --------------------------------------------------------------------- */

static void test_container_vectors(void)
{
    char out[40];
    owu_container_id_from_serial(0x046D, 0x0825, 0x0200, 0x0012, "E190CC90", out);
    CHECK_STR(out, "{3e8be164-67c8-544f-83b8-ffdd10fc0add}");
    owu_container_id_from_serial(0x046D, 0x0893, 0x0210, 0x0000, "5079EB25", out);
    CHECK_STR(out, "{6d7059ae-e6ab-5490-b0a5-ee8acac7dd52}");
    owu_container_id_from_serial(0x32E4, 0x9415, 0x0200, 0x0419, "10ac120458586223", out);
    CHECK_STR(out, "{a14fe21c-3879-5b34-a760-46be5e7e733a}");

    /* Through the device builder: the serial as read (case kept), not the instance part. */
    struct owu_devnode *root, *hub = tree(&root);
    struct buf c;
    cfg_begin(&c, 2);
    cfg_intf(&c, 0, 0, 0, 0x0E, 0x01, 0x00, 0);
    cfg_intf(&c, 1, 0, 0, 0x0E, 0x02, 0x00, 0);
    cfg_end(&c);
    struct dev d = { .bcd_usb = 0x0200, .vid = 0x32E4, .pid = 0x9415, .bcd_dev = 0x0419, .iserial = 3 };
    struct owu_devinfo *info = new_info(&d, &c);
    add_string(info, 3, "10ac120458586223");
    struct owu_devnode *n = build(hub, info, OWU_TARGET_WIN10);
    CHECK_STR(n->container_id, "{a14fe21c-3879-5b34-a760-46be5e7e733a}");
    CHECK_STR(n->instance_id, "USB\\VID_32E4&PID_9415\\10AC120458586223");
    /* Functions inherit the composite's container ID. */
    CHECK_OK(owu_usbccgp_create_functions(n, NULL, NULL), (owu_err *)NULL);
    CHECK_STR(child_at(n, 1)->container_id, n->container_id);

    /* No serial: derived from VID/PID/REV and the location; stable, location-dependent. */
    char a[40], b[40];
    owu_container_id_from_location(0x1234, 0x5678, 0x0200, 0x0100, "virtual:1-3", a);
    owu_container_id_from_name("12345678" "0100" "@virtual:1-3", b);
    CHECK_STR(a, b);
    d.iserial = 0;
    n = build(hub, new_info(&d, &c), OWU_TARGET_WIN10);
    owu_container_id_from_location(0x32E4, 0x9415, 0x0200, 0x0419, "virtual:1-3", a);
    CHECK_STR(n->container_id, a);
    CHECK(a[15] == '5');   /* version nibble */
    owu_container_id_from_location(0x32E4, 0x9415, 0x0200, 0x0419, "virtual:1-4", b);
    CHECK(strcmp(a, b) != 0);

    /* Non-removable: the parent's container ID (the computer's for a root-hub port). */
    info = new_info(&d, &c);
    info->removable = false;
    n = build(hub, info, OWU_TARGET_WIN10);
    CHECK_STR(n->container_id, OWU_CONTAINER_ID_ROOT);

    uint8_t g[16] = { 0x78, 0x56, 0x34, 0x12, 0xBC, 0x9A, 0xF0, 0xDE, 1, 2, 3, 4, 5, 6, 7, 8 };
    owu_guid_format(g, out);
    CHECK_STR(out, "{12345678-9abc-def0-0102-030405060708}");
    owu_devnode_free(root);
}

static void test_container_from_descriptors(void)
{
    struct owu_devnode *root, *hub = tree(&root);
    struct buf c, bos;
    cfg_begin(&c, 1);
    cfg_intf(&c, 0, 0, 0, 0xFF, 0x00, 0x00, 0);
    cfg_end(&c);
    const uint8_t g[16] = { 0x78, 0x56, 0x34, 0x12, 0xBC, 0x9A, 0xF0, 0xDE, 1, 2, 3, 4, 5, 6, 7, 8 };
    const char *gs = "{12345678-9abc-def0-0102-030405060708}";

    /* BOS container capability wins over the serial and over non-removability. */
    struct dev d = { .bcd_usb = 0x0210, .vid = 0x046D, .pid = 0x0893, .iserial = 3 };
    struct owu_devinfo *info = new_info(&d, &c);
    add_string(info, 3, "5079EB25");
    make_bos(&bos, 0, g, false);
    CHECK_OK(owu_devinfo_set_bos(info, bos.b, bos.n), (owu_err *)NULL);
    info->removable = false;
    struct owu_devnode *n = build(hub, info, OWU_TARGET_WIN10);
    CHECK_STR(n->container_id, gs);

    /* Without it: the serial derivation (vector 2). */
    info = new_info(&d, &c);
    add_string(info, 3, "5079EB25");
    n = build(hub, info, OWU_TARGET_WIN10);
    CHECK_STR(n->container_id, "{6d7059ae-e6ab-5490-b0a5-ee8acac7dd52}");

    /* MS OS 1.0 ContainerID descriptor. */
    struct buf cid;
    cid.n = 0;
    put32(&cid, 24);
    put16(&cid, 0x0100);
    put16(&cid, 6);
    put(&cid, g, 16);
    d.bcd_usb = 0x0200;
    info = new_info(&d, &c);
    add_string(info, 3, "5079EB25");
    msos1_enable(info, NULL);
    info->msos1.flags = 0x02;
    CHECK_OK(owu_devinfo_set_blob(&info->msos1.container_id, &info->msos1.container_id_len, cid.b, cid.n),
             (owu_err *)NULL);
    n = build(hub, info, OWU_TARGET_WIN10);
    CHECK_STR(n->container_id, gs);

    /* ... not used for a USB 1.1 device (MS OS 1.0 skipped). */
    d.bcd_usb = 0x0110;
    info = new_info(&d, &c);
    msos1_enable(info, NULL);
    CHECK_OK(owu_devinfo_set_blob(&info->msos1.container_id, &info->msos1.container_id_len, cid.b, cid.n),
             (owu_err *)NULL);
    n = build(hub, info, OWU_TARGET_WIN10);
    CHECK(strcmp(n->container_id, gs) != 0);
    owu_devnode_free(root);
}

static void test_descriptions(void)
{
    struct owu_devnode *root, *hub = tree(&root);
    struct buf c;
    cfg_begin(&c, 2);
    cfg_intf(&c, 0, 0, 0, 0xFF, 0x00, 0x00, 4);
    cfg_intf(&c, 1, 0, 0, 0xFF, 0x00, 0x00, 0);
    cfg_end(&c);
    struct dev d = { .bcd_usb = 0x0200, .vid = 0x1234, .pid = 0x0001, .bcd_dev = 0x0100 };
    struct owu_devinfo *info = new_info(&d, &c);
    add_string(info, 4, "Debug Port");
    struct owu_devnode *n = build(hub, info, OWU_TARGET_WIN10);
    CHECK_STR(n->description, "USB Composite Device");
    CHECK_OK(owu_usbccgp_create_functions(n, NULL, NULL), (owu_err *)NULL);
    CHECK_STR(child_at(n, 0)->description, "Debug Port");
    CHECK_STR(child_at(n, 1)->description, "USB Vendor Specific Device (Interface 1)");
    CHECK_STR(owu_pnp_class_name(0xEF, 0x04, 0x01), "Remote NDIS Compatible Device");
    CHECK_STR(owu_pnp_class_name(0x42, 0, 0), "USB Device");
    owu_devnode_free(root);
}

int main(void)
{
    RUN(test_sha1_vectors);
    RUN(test_strlist);
    RUN(test_devnode_basics);
    RUN(test_rev_text);
    RUN(test_options_default);
    RUN(test_seed_single_interface_hid);
    RUN(test_seed_composite);
    RUN(test_win11_lists);
    RUN(test_composite_decision);
    RUN(test_iad_grouping);
    RUN(test_legacy_audio_grouping);
    RUN(test_interface_ten_and_up);
    RUN(test_msos1_winusb);
    RUN(test_msos1_composite);
    RUN(test_subcompat_quirk);
    RUN(test_msos20_top_level_vs_subsets);
    RUN(test_msos20_function_subsets);
    RUN(test_msos20_parse_details);
    RUN(test_msos20_malformed);
    RUN(test_msos1_malformed);
    RUN(test_malformed_msos_in_device);
    RUN(test_hub_ids);
    RUN(test_billboard);
    RUN(test_uas);
    RUN(test_serial_validation);
    RUN(test_parent_id_prefix);
    RUN(test_failure_ids);
    RUN(test_container_vectors);
    RUN(test_container_from_descriptors);
    RUN(test_descriptions);
    return check_report();
}
