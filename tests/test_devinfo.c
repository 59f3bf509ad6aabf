/* The devinfo container: setters copy, clone deep-copies, string lookup picks the language,
 * parsed views report errors, and free handles any partially-filled struct. */
#include <openwinusb/devinfo.h>

#include <stdlib.h>
#include <string.h>

#include "check.h"

/* Allocation-failure injection for the out-of-memory paths: glibc lets a program replace
 * malloc/calloc/realloc/free, and the replacements forward to glibc's own allocator. Not
 * under AddressSanitizer, which owns the allocator there. */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_HAVE_ASAN 1
#endif
#endif

#if !defined(TEST_HAVE_ASAN) && defined(__GLIBC__)
#define TEST_FAIL_ALLOC 1
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

static long alloc_countdown = -1; /* -1: never fail; k: the k-th next allocation fails */
static long alloc_live;           /* allocations minus frees while counting */

static bool alloc_should_fail(void)
{
    if (alloc_countdown < 0)
        return false;
    return alloc_countdown-- == 0;
}

void *malloc(size_t n)
{
    if (alloc_should_fail())
        return NULL;
    void *p = __libc_malloc(n);
    if (p)
        alloc_live++;
    return p;
}

void *calloc(size_t n, size_t size)
{
    if (alloc_should_fail())
        return NULL;
    void *p = __libc_calloc(n, size);
    if (p)
        alloc_live++;
    return p;
}

void *realloc(void *old, size_t n)
{
    if (alloc_should_fail())
        return NULL;
    void *p = __libc_realloc(old, n);
    if (p && !old)
        alloc_live++;
    return p;
}

void free(void *p)
{
    if (p)
        alloc_live--;
    __libc_free(p);
}
#endif

/* CHECK_OK(rc, &err) trips GCC's -Waddress (the harness tests the pointer); a call does not. */
static owu_err *ep_(owu_err *e) { return e; }

static const uint8_t dev_hs[18] = {0x12, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x40, 0x34, 0x12,
                                   0x78, 0x56, 0x00, 0x01, 0x01, 0x02, 0x03, 0x01};
static const uint8_t cfg_vendor[] = {0x09, 0x02, 0x19, 0x00, 0x01, 0x01, 0x00, 0x80, 0x32,
                                     0x09, 0x04, 0x00, 0x00, 0x01, 0xFF, 0x00, 0x00, 0x00,
                                     0x07, 0x05, 0x81, 0x02, 0x40, 0x00, 0x00};
static const uint8_t bos_min[] = {0x05, 0x0F, 0x0C, 0x00, 0x01,
                                  0x07, 0x10, 0x02, 0x02, 0x00, 0x00, 0x00};
static const uint8_t lang_de_en[] = {0x06, 0x03, 0x07, 0x04, 0x09, 0x04};
static const uint8_t s_hello[] = {0x0C, 0x03, 'H', 0, 'e', 0, 'l', 0, 'l', 0, 'o', 0};
static const uint8_t s_hallo[] = {0x0C, 0x03, 'H', 0, 'a', 0, 'l', 0, 'l', 0, 'o', 0};
static const uint8_t s_bonjour[] = {0x10, 0x03, 'B', 0, 'o', 0, 'n', 0, 'j', 0, 'o', 0, 'u', 0, 'r', 0};
static const uint8_t s_nur_de[] = {0x08, 0x03, 'n', 0, 'u', 0, 'r', 0};
static const uint8_t msft100[] = {0x12, 0x03, 'M', 0, 'S', 0, 'F', 0, 'T', 0, '1', 0, '0', 0,
                                  '0', 0, 0x21, 0x02};

static struct owu_devinfo *make_full(void)
{
    struct owu_devinfo *info = owu_devinfo_new();
    if (!info)
        return NULL;
    info->speed = OWU_SPEED_HIGH;
    snprintf(info->location, sizeof info->location, "virtual:1-3");
    info->port = 3;
    info->removable = true;
    memcpy(info->device, dev_hs, sizeof dev_hs);
    info->device_len = sizeof dev_hs;
    int rc = 0;
    rc |= owu_devinfo_add_config(info, cfg_vendor, sizeof cfg_vendor);
    rc |= owu_devinfo_add_config(info, cfg_vendor, 9); /* a truncated second configuration */
    rc |= owu_devinfo_set_bos(info, bos_min, sizeof bos_min);
    rc |= owu_devinfo_add_string(info, 0, 0, lang_de_en, sizeof lang_de_en);
    rc |= owu_devinfo_add_string(info, 1, 0x0407, s_hallo, sizeof s_hallo);
    rc |= owu_devinfo_add_string(info, 1, 0x0409, s_hello, sizeof s_hello);
    rc |= owu_devinfo_add_string(info, 2, 0x0407, s_nur_de, sizeof s_nur_de);
    rc |= owu_devinfo_add_string(info, 3, 0x040C, s_bonjour, sizeof s_bonjour);
    rc |= owu_devinfo_add_string(info, 0xEE, 0, msft100, sizeof msft100);
    info->msos1.present = true;
    info->msos1.vendor_code = 0x21;
    info->msos1.flags = 0x02;
    rc |= owu_devinfo_set_blob(&info->msos1.compat_id, &info->msos1.compat_id_len,
                               (const uint8_t *)"compat-id-bytes", 15);
    rc |= owu_devinfo_set_blob(&info->msos1.container_id, &info->msos1.container_id_len,
                               (const uint8_t *)"container-id", 12);
    rc |= owu_devinfo_add_msos1_props(info, 0, (const uint8_t *)"props0", 6);
    rc |= owu_devinfo_add_msos1_props(info, 2, (const uint8_t *)"props2", 6);
    rc |= owu_devinfo_set_msos20(info, (const uint8_t *)"msos20-set", 10);
    if (rc != 0) {
        owu_devinfo_free(info);
        return NULL;
    }
    return info;
}

static void test_new_and_free(void)
{
    struct owu_devinfo *info = owu_devinfo_new();
    CHECK(info != NULL);
    if (!info)
        return;
    CHECK_INT(info->speed, OWU_SPEED_UNKNOWN);
    CHECK_INT(info->failure, OWU_FAIL_NONE);
    CHECK(info->configs == NULL && info->num_configs == 0);
    CHECK(info->bos == NULL && info->strings == NULL && info->msos20 == NULL);
    CHECK(!info->msos1.present && info->msos1.props == NULL);
    CHECK_INT(info->device_len, 0);
    owu_devinfo_free(info);
    owu_devinfo_free(NULL);
}

static void test_setters_copy(void)
{
    uint8_t buf[sizeof cfg_vendor];
    memcpy(buf, cfg_vendor, sizeof buf);
    struct owu_devinfo *info = owu_devinfo_new();
    if (!info)
        return;
    CHECK_INT(owu_devinfo_add_config(info, buf, sizeof buf), OWU_OK);
    CHECK_INT(owu_devinfo_set_bos(info, bos_min, sizeof bos_min), OWU_OK);
    CHECK_INT(owu_devinfo_add_string(info, 2, 0x0409, s_hello, sizeof s_hello), OWU_OK);
    memset(buf, 0, sizeof buf);
    CHECK_INT(info->num_configs, 1);
    CHECK(info->configs[0].data != buf);
    CHECK_INT(info->configs[0].len, sizeof cfg_vendor);
    CHECK(memcmp(info->configs[0].data, cfg_vendor, sizeof cfg_vendor) == 0);
    CHECK(info->bos != bos_min && info->bos_len == sizeof bos_min);
    CHECK_INT(info->num_strings, 1);
    CHECK_INT(info->strings[0].index, 2);
    CHECK_INT(info->strings[0].langid, 0x0409);

    /* A second read of the same (index, LANGID) replaces the first. */
    CHECK_INT(owu_devinfo_add_string(info, 2, 0x0409, s_hallo, sizeof s_hallo), OWU_OK);
    CHECK_INT(info->num_strings, 1);
    CHECK(memcmp(info->strings[0].desc, s_hallo, sizeof s_hallo) == 0);
    CHECK_INT(owu_devinfo_add_string(info, 2, 0x0407, s_hallo, sizeof s_hallo), OWU_OK);
    CHECK_INT(info->num_strings, 2);

    /* set_blob replaces and clears; bad arguments leave the old value alone. */
    CHECK_INT(owu_devinfo_set_bos(info, bos_min, 5), OWU_OK);
    CHECK_INT(info->bos_len, 5);
    CHECK_INT(owu_devinfo_set_bos(info, NULL, 3), OWU_E_INVAL);
    CHECK(info->bos != NULL && info->bos_len == 5);
    CHECK_INT(owu_devinfo_set_bos(info, NULL, 0), OWU_OK);
    CHECK(info->bos == NULL && info->bos_len == 0);
    /* An empty blob is present but empty, not absent. */
    CHECK_INT(owu_devinfo_set_msos20(info, (const uint8_t *)"", 0), OWU_OK);
    CHECK(info->msos20 != NULL && info->msos20_len == 0);
    CHECK_INT(owu_devinfo_set_blob(NULL, NULL, bos_min, 1), OWU_E_INVAL);

    CHECK_INT(owu_devinfo_add_msos1_props(info, 1, (const uint8_t *)"abc", 3), OWU_OK);
    CHECK_INT(owu_devinfo_add_msos1_props(info, 1, (const uint8_t *)"abcd", 4), OWU_OK);
    CHECK_INT(info->msos1.num_props, 1);
    CHECK_INT(info->msos1.props[0].len, 4);
    CHECK_INT(owu_devinfo_add_msos1_props(info, 3, (const uint8_t *)"x", 1), OWU_OK);
    CHECK_INT(info->msos1.num_props, 2);

    CHECK_INT(owu_devinfo_add_config(NULL, buf, 1), OWU_E_INVAL);
    CHECK_INT(owu_devinfo_add_config(info, NULL, 4), OWU_E_INVAL);
    CHECK_INT(owu_devinfo_add_string(info, 1, 0, NULL, 4), OWU_E_INVAL);
    CHECK_INT(owu_devinfo_add_msos1_props(NULL, 0, buf, 1), OWU_E_INVAL);
    CHECK_INT(owu_devinfo_set_bos(NULL, buf, 1), OWU_E_INVAL);
    CHECK_INT(owu_devinfo_set_msos20(NULL, buf, 1), OWU_E_INVAL);
    CHECK_INT(info->num_configs, 1);
    owu_devinfo_free(info);
}

static void test_find_string(void)
{
    struct owu_devinfo *info = make_full();
    CHECK(info != NULL);
    if (!info)
        return;
    const struct owu_string_entry *e;
    /* US English wins when present, even though German is the device's first language. */
    e = owu_devinfo_find_string(info, 1, 0);
    CHECK(e != NULL && e->langid == 0x0409);
    e = owu_devinfo_find_string(info, 1, 0x0407);
    CHECK(e != NULL && e->langid == 0x0407 && memcmp(e->desc, s_hallo, sizeof s_hallo) == 0);
    e = owu_devinfo_find_string(info, 2, 0);
    CHECK(e != NULL && e->langid == 0x0407);
    /* A language the LANGID list does not name still answers "any language". */
    e = owu_devinfo_find_string(info, 3, 0);
    CHECK(e != NULL && e->langid == 0x040C);
    e = owu_devinfo_find_string(info, 0, 0);
    CHECK(e != NULL && e->len == sizeof lang_de_en);
    e = owu_devinfo_find_string(info, 0xEE, 0);
    CHECK(e != NULL && e->len == sizeof msft100);
    CHECK(owu_devinfo_find_string(info, 4, 0) == NULL);
    CHECK(owu_devinfo_find_string(info, 1, 0x0411) == NULL);
    CHECK(owu_devinfo_find_string(NULL, 1, 0) == NULL);

    char out[32];
    CHECK(owu_devinfo_string(info, 1, out, sizeof out));
    CHECK_STR(out, "Hello");
    CHECK(owu_devinfo_string(info, 2, out, sizeof out));
    CHECK_STR(out, "nur");
    CHECK(owu_devinfo_string(info, 3, out, 4));
    CHECK_STR(out, "Bon");
    CHECK(!owu_devinfo_string(info, 4, out, sizeof out));
    CHECK_STR(out, "");
    CHECK(!owu_devinfo_string(info, 0, out, sizeof out)); /* the LANGID list is not text */
    CHECK(!owu_devinfo_string(info, 1, out, 0));
    CHECK(!owu_devinfo_string(NULL, 1, out, sizeof out));

    /* Undecodable descriptor: false, and the output is still a valid empty string. */
    CHECK_INT(owu_devinfo_add_string(info, 7, 0x0409, (const uint8_t[]){0x00, 0x03}, 2), OWU_OK);
    strcpy(out, "stale");
    CHECK(!owu_devinfo_string(info, 7, out, sizeof out));
    CHECK_STR(out, "");
    owu_devinfo_free(info);
}

static void test_find_string_first_langid(void)
{
    /* Without US English, the first LANGID of string 0 beats the order the strings were
     * read in. */
    struct owu_devinfo *info = owu_devinfo_new();
    if (!info)
        return;
    const uint8_t langs[] = {0x06, 0x03, 0x07, 0x04, 0x0C, 0x04};
    CHECK_INT(owu_devinfo_add_string(info, 5, 0x040C, s_bonjour, sizeof s_bonjour), OWU_OK);
    CHECK_INT(owu_devinfo_add_string(info, 5, 0x0407, s_hallo, sizeof s_hallo), OWU_OK);
    const struct owu_string_entry *e = owu_devinfo_find_string(info, 5, 0);
    CHECK(e != NULL && e->langid == 0x040C); /* no LANGID list yet: first read */
    CHECK_INT(owu_devinfo_add_string(info, 0, 0, langs, sizeof langs), OWU_OK);
    e = owu_devinfo_find_string(info, 5, 0);
    CHECK(e != NULL && e->langid == 0x0407);
    char out[16];
    CHECK(owu_devinfo_string(info, 5, out, sizeof out));
    CHECK_STR(out, "Hallo");
    owu_devinfo_free(info);
}

static void test_clone_is_deep(void)
{
    struct owu_devinfo *info = make_full();
    CHECK(info != NULL);
    if (!info)
        return;
    info->failure = OWU_FAIL_CONFIG_DESCRIPTOR_INVALID;
    snprintf(info->failure_detail, sizeof info->failure_detail, "configuration: test");
    struct owu_devinfo *c = owu_devinfo_clone(info);
    CHECK(c != NULL);
    if (!c) {
        owu_devinfo_free(info);
        return;
    }
    CHECK_INT(c->speed, OWU_SPEED_HIGH);
    CHECK_STR(c->location, "virtual:1-3");
    CHECK_INT(c->port, 3);
    CHECK(c->removable);
    CHECK_INT(c->failure, OWU_FAIL_CONFIG_DESCRIPTOR_INVALID);
    CHECK_STR(c->failure_detail, "configuration: test");
    CHECK_INT(c->device_len, 18);
    CHECK(memcmp(c->device, dev_hs, 18) == 0);
    CHECK_INT(c->num_configs, 2);
    CHECK(c->configs != info->configs);
    for (unsigned i = 0; i < c->num_configs && i < 2; i++) {
        CHECK(c->configs[i].data != info->configs[i].data);
        CHECK_INT(c->configs[i].len, info->configs[i].len);
        CHECK(memcmp(c->configs[i].data, info->configs[i].data, c->configs[i].len) == 0);
    }
    CHECK(c->bos != info->bos && c->bos_len == info->bos_len);
    CHECK_INT(c->num_strings, info->num_strings);
    for (unsigned i = 0; i < c->num_strings; i++) {
        CHECK(c->strings[i].desc != info->strings[i].desc);
        CHECK_INT(c->strings[i].index, info->strings[i].index);
        CHECK_INT(c->strings[i].langid, info->strings[i].langid);
        CHECK(memcmp(c->strings[i].desc, info->strings[i].desc, c->strings[i].len) == 0);
    }
    CHECK(c->msos1.present);
    CHECK_INT(c->msos1.vendor_code, 0x21);
    CHECK_INT(c->msos1.flags, 0x02);
    CHECK(c->msos1.compat_id != info->msos1.compat_id && c->msos1.compat_id_len == 15);
    CHECK(c->msos1.container_id != info->msos1.container_id && c->msos1.container_id_len == 12);
    CHECK_INT(c->msos1.num_props, 2);
    CHECK(c->msos1.props != info->msos1.props);
    CHECK_INT(c->msos1.props[1].interface, 2);
    CHECK(c->msos1.props[1].data != info->msos1.props[1].data);
    CHECK(memcmp(c->msos1.props[1].data, "props2", 6) == 0);
    CHECK(c->msos20 != info->msos20 && c->msos20_len == 10);

    /* Changing or freeing the original leaves the clone intact (ASan would see a dangling
     * pointer here). */
    info->configs[0].data[0] = 0;
    owu_devinfo_free(info);
    CHECK_INT(c->configs[0].data[0], 9);
    char out[16];
    CHECK(owu_devinfo_string(c, 1, out, sizeof out));
    CHECK_STR(out, "Hello");
    struct owu_config *cfg = NULL;
    owu_err err = {0};
    CHECK_OK(owu_devinfo_config(c, 0, &cfg, &err), ep_(&err));
    owu_config_free(cfg);
    owu_devinfo_free(c);

    /* Clone of an empty container, and of nothing. */
    struct owu_devinfo *e = owu_devinfo_new();
    struct owu_devinfo *ec = owu_devinfo_clone(e);
    CHECK(ec != NULL && ec != e);
    if (ec)
        CHECK(ec->configs == NULL && ec->strings == NULL && ec->bos == NULL &&
              ec->msos1.props == NULL);
    owu_devinfo_free(ec);
    owu_devinfo_free(e);
    CHECK(owu_devinfo_clone(NULL) == NULL);
}

static void test_parsed_views(void)
{
    struct owu_devinfo *info = make_full();
    if (!info)
        return;
    owu_err err = {0};
    struct owu_device_desc d;
    CHECK_OK(owu_devinfo_device_desc(info, &d, &err), ep_(&err));
    CHECK_INT(d.idVendor, 0x1234);
    CHECK_INT(d.idProduct, 0x5678);

    info->device_len = 8; /* only the prefix was read */
    CHECK_INT(owu_devinfo_device_desc(info, &d, &err), OWU_E_BADDESC);
    CHECK_CONTAINS(err.msg, "bLength 18 exceeds the 8 bytes received");
    info->device_len = 0;
    CHECK_INT(owu_devinfo_device_desc(info, &d, &err), OWU_E_BADDESC);
    CHECK_CONTAINS(err.msg, "device descriptor: 0 of the first 8 bytes");
    info->device_len = 18;
    info->speed = OWU_SPEED_LOW; /* 64-byte EP0 is wrong at low speed */
    CHECK_INT(owu_devinfo_device_desc(info, &d, &err), OWU_E_BADDESC);
    CHECK_CONTAINS(err.msg, "bMaxPacketSize0 64 (offset 7)");
    CHECK_INT(owu_devinfo_device_desc(NULL, &d, &err), OWU_E_INVAL);

    struct owu_config *cfg = NULL;
    CHECK_OK(owu_devinfo_config(info, 0, &cfg, &err), ep_(&err));
    CHECK(cfg != NULL);
    if (cfg) {
        CHECK_INT(cfg->num_interfaces, 1);
        CHECK_INT(cfg->interfaces[0].alts[0].endpoints[0].bEndpointAddress, 0x81);
        owu_config_free(cfg);
    }
    cfg = (struct owu_config *)1;
    CHECK_INT(owu_devinfo_config(info, 1, &cfg, &err), OWU_E_BADDESC);
    CHECK(cfg == NULL);
    CHECK_CONTAINS(err.msg, "wTotalLength 25 (offset 2) exceeds the 9 bytes received");
    CHECK_INT(owu_devinfo_config(info, 2, &cfg, &err), OWU_E_NOTFOUND);
    CHECK_CONTAINS(err.msg, "configuration index 2: the device has 2 configuration descriptors");
    CHECK_INT(owu_devinfo_config(info, 0, NULL, &err), OWU_E_INVAL);
    owu_devinfo_free(info);
}

/* Structs filled by hand, part way, as a failing reader would leave them: free must release
 * exactly what is there (LeakSanitizer checks under -DOWU_SANITIZE=ON). */
static void test_free_partial(void)
{
    struct owu_devinfo *info = owu_devinfo_new();
    if (!info)
        return;
    info->strings = calloc(2, sizeof info->strings[0]);
    if (info->strings) {
        info->num_strings = 1; /* second slot not filled yet */
        info->strings[0].desc = malloc(4);
    }
    info->msos1.props = calloc(3, sizeof info->msos1.props[0]);
    if (info->msos1.props) {
        info->msos1.num_props = 2;
        info->msos1.props[0].data = malloc(3); /* props[1].data still NULL */
    }
    info->msos1.compat_id = malloc(16);
    info->msos1.compat_id_len = info->msos1.compat_id ? 16 : 0;
    if (info->msos1.compat_id)
        memset(info->msos1.compat_id, 0x5A, 16);
    info->num_configs = 0;
    info->configs = calloc(1, sizeof info->configs[0]);

    /* Clone copes with the same half-filled state: absent blobs stay absent. */
    struct owu_devinfo *c = owu_devinfo_clone(info);
    CHECK(c != NULL);
    if (c) {
        CHECK_INT(c->num_strings, 1);
        CHECK_INT(c->msos1.num_props, 2);
        CHECK(c->msos1.props && c->msos1.props[0].data && !c->msos1.props[1].data);
        CHECK(c->msos1.compat_id && c->msos1.compat_id[15] == 0x5A);
        CHECK(c->configs == NULL);
    }
    owu_devinfo_free(c);
    owu_devinfo_free(info);

    /* Only the device descriptor. */
    info = owu_devinfo_new();
    if (info) {
        memcpy(info->device, dev_hs, 8);
        info->device_len = 8;
        CHECK_INT(owu_devinfo_device_desc(info, NULL, NULL), OWU_E_BADDESC);
        owu_devinfo_free(info);
    }
}

/* Every allocation of clone, the setters and the parsers fails in turn: the call reports
 * failure, leaves nothing allocated, and the container stays usable. */
static void test_out_of_memory(void)
{
    struct owu_devinfo *info = make_full();
    CHECK(info != NULL);
    if (!info)
        return;
#ifdef TEST_FAIL_ALLOC
    int failures = 0;
    for (long k = 0; k < 200; k++) {
        long before = alloc_live;
        alloc_countdown = k;
        struct owu_devinfo *c = owu_devinfo_clone(info);
        alloc_countdown = -1;
        if (c) {
            /* struct, 3 arrays, 2 configs, BOS, 6 strings, 2 MS OS 1.0 blobs, 2 property
             * sets, MS OS 2.0 set */
            CHECK_INT(k, 18);
            owu_devinfo_free(c);
            CHECK_INT(alloc_live, before);
            break;
        }
        failures++;
        CHECK_INT(alloc_live, before);
    }
    CHECK_INT(failures, 18);

    owu_err err = {0};
    for (long k = 0; k < 3; k++) {
        long before = alloc_live;
        struct owu_config *cfg = (struct owu_config *)1;
        alloc_countdown = k;
        int rc = owu_devinfo_config(info, 0, &cfg, &err);
        alloc_countdown = -1;
        if (rc == OWU_OK) {
            CHECK(k == 2); /* counts, then the tree */
            owu_config_free(cfg);
        } else {
            CHECK_INT(rc, OWU_E_NOMEM);
            CHECK(cfg == NULL);
            CHECK_CONTAINS(err.msg, "configuration: out of memory");
        }
        CHECK_INT(alloc_live, before);
    }

    struct owu_bos *bos = (struct owu_bos *)1;
    alloc_countdown = 0;
    CHECK_INT(owu_bos_parse(info->bos, info->bos_len, &bos, &err), OWU_E_NOMEM);
    alloc_countdown = -1;
    CHECK(bos == NULL);
    CHECK_CONTAINS(err.msg, "BOS: out of memory");

    unsigned nconf = info->num_configs, nstr = info->num_strings, nprops = info->msos1.num_props;
    uint8_t *old_bos = info->bos;
    for (long k = 0; k < 2; k++) {
        alloc_countdown = k;
        CHECK_INT(owu_devinfo_add_config(info, cfg_vendor, sizeof cfg_vendor), OWU_E_NOMEM);
        alloc_countdown = k;
        CHECK_INT(owu_devinfo_add_string(info, 9, 0x0409, s_hello, sizeof s_hello), OWU_E_NOMEM);
        alloc_countdown = k;
        CHECK_INT(owu_devinfo_add_msos1_props(info, 9, s_hello, sizeof s_hello), OWU_E_NOMEM);
        alloc_countdown = -1;
    }
    alloc_countdown = 0;
    CHECK_INT(owu_devinfo_set_bos(info, bos_min, 5), OWU_E_NOMEM);
    alloc_countdown = 0;
    CHECK_INT(owu_devinfo_add_string(info, 1, 0x0409, s_hallo, sizeof s_hallo), OWU_E_NOMEM);
    alloc_countdown = -1;
    CHECK_INT(info->num_configs, nconf);
    CHECK_INT(info->num_strings, nstr);
    CHECK_INT(info->msos1.num_props, nprops);
    CHECK(info->bos == old_bos && info->bos_len == sizeof bos_min);
    char out[16];
    CHECK(owu_devinfo_string(info, 1, out, sizeof out));
    CHECK_STR(out, "Hello"); /* the failed replacement kept the old text */
#else
    /* The allocator belongs to the sanitizer here: check only the success path. */
    struct owu_devinfo *c = owu_devinfo_clone(info);
    CHECK(c != NULL);
    owu_devinfo_free(c);
#endif
    owu_devinfo_free(info);
}

int main(void)
{
    RUN(test_new_and_free);
    RUN(test_setters_copy);
    RUN(test_find_string);
    RUN(test_find_string_first_langid);
    RUN(test_clone_is_deep);
    RUN(test_parsed_views);
    RUN(test_free_partial);
    RUN(test_out_of_memory);
    return check_report();
}
