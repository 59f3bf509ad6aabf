/* Descriptor parser/validator: valid trees, a malformed corpus (status and message), and a
 * deterministic mutation sweep over valid blobs.
 *
 * `test_descriptors --write-corpus DIR` writes the blobs below as libFuzzer seeds for
 * fuzz/fuzz_descriptors.c (first byte = parser selector) and exits. */
#include <openwinusb/descriptors.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* CHECK_OK(rc, &err) trips GCC's -Waddress (the harness tests the pointer); a call does not. */
static owu_err *ep_(owu_err *e) { return e; }

/* ---- building blobs ------------------------------------------------------------------- */

struct blob {
    uint8_t b[1024];
    size_t n;
};

static size_t blob_add(struct blob *bl, const uint8_t *p, size_t n)
{
    size_t off = bl->n;
    if (off + n > sizeof bl->b) {
        fprintf(stderr, "test blob overflow\n");
        exit(2);
    }
    memcpy(bl->b + off, p, n);
    bl->n += n;
    return off;
}

#define ADD(bl, ...) \
    blob_add((bl), (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))

static void fix_total(struct blob *bl)
{
    owu_put_le16(bl->b + 2, (uint16_t)bl->n);
}

#define MSOS20_UUID_BYTES \
    0xDF, 0x60, 0xDD, 0xD8, 0x89, 0x45, 0xC7, 0x4C, 0x9C, 0xD2, 0x65, 0x9D, 0x9E, 0x64, 0x8A, 0x9F

struct cdc_off {
    size_t iad, if0, cdc_header, cdc_union, ep81, if1, ep02, ep82, if2;
};

/* CDC-ACM function (IAD over interfaces 0..1, functional descriptors) plus a vendor
 * interface 2 outside any IAD. 84 bytes. */
static void build_cdc(struct blob *bl, struct cdc_off *o)
{
    bl->n = 0;
    ADD(bl, 0x09, 0x02, 0, 0, 0x03, 0x01, 0x00, 0x80, 0x32);
    o->iad = ADD(bl, 0x08, 0x0B, 0x00, 0x02, 0x02, 0x02, 0x01, 0x04);
    o->if0 = ADD(bl, 0x09, 0x04, 0x00, 0x00, 0x01, 0x02, 0x02, 0x01, 0x05);
    o->cdc_header = ADD(bl, 0x05, 0x24, 0x00, 0x10, 0x01);
    ADD(bl, 0x05, 0x24, 0x01, 0x00, 0x01);
    ADD(bl, 0x04, 0x24, 0x02, 0x02);
    o->cdc_union = ADD(bl, 0x05, 0x24, 0x06, 0x00, 0x01);
    o->ep81 = ADD(bl, 0x07, 0x05, 0x81, 0x03, 0x08, 0x00, 0x10);
    o->if1 = ADD(bl, 0x09, 0x04, 0x01, 0x00, 0x02, 0x0A, 0x00, 0x00, 0x00);
    o->ep02 = ADD(bl, 0x07, 0x05, 0x02, 0x02, 0x40, 0x00, 0x00);
    o->ep82 = ADD(bl, 0x07, 0x05, 0x82, 0x02, 0x40, 0x00, 0x00);
    o->if2 = ADD(bl, 0x09, 0x04, 0x02, 0x00, 0x00, 0xFF, 0x00, 0x00, 0x00);
    fix_total(bl);
}

struct fx2_off {
    size_t alt0, alt1, alt2;
};

/* FX2-like vendor device: one interface, alt 0 without endpoints, alt 1 bulk, alt 2
 * interrupt + isochronous. */
static void build_fx2(struct blob *bl, struct fx2_off *o)
{
    bl->n = 0;
    ADD(bl, 0x09, 0x02, 0, 0, 0x01, 0x01, 0x00, 0x80, 0x32);
    o->alt0 = ADD(bl, 0x09, 0x04, 0x00, 0x00, 0x00, 0xFF, 0x00, 0x00, 0x00);
    o->alt1 = ADD(bl, 0x09, 0x04, 0x00, 0x01, 0x06, 0xFF, 0x00, 0x00, 0x00);
    ADD(bl, 0x07, 0x05, 0x01, 0x02, 0x40, 0x00, 0x00);
    ADD(bl, 0x07, 0x05, 0x81, 0x02, 0x40, 0x00, 0x00);
    ADD(bl, 0x07, 0x05, 0x02, 0x02, 0x00, 0x02, 0x00);
    ADD(bl, 0x07, 0x05, 0x04, 0x02, 0x00, 0x02, 0x00);
    ADD(bl, 0x07, 0x05, 0x86, 0x02, 0x00, 0x02, 0x00);
    ADD(bl, 0x07, 0x05, 0x88, 0x02, 0x00, 0x02, 0x00);
    o->alt2 = ADD(bl, 0x09, 0x04, 0x00, 0x02, 0x04, 0xFF, 0x00, 0x00, 0x00);
    ADD(bl, 0x07, 0x05, 0x01, 0x03, 0x40, 0x00, 0x01);
    ADD(bl, 0x07, 0x05, 0x81, 0x03, 0x40, 0x00, 0x01);
    ADD(bl, 0x07, 0x05, 0x02, 0x01, 0x00, 0x02, 0x01);
    ADD(bl, 0x07, 0x05, 0x86, 0x01, 0x00, 0x02, 0x01);
    fix_total(bl);
}

struct uas_off {
    size_t alt0, ep81, comp81, alt1, ep82, comp82, pipe82;
};

/* UAS-like SuperSpeed mass storage: alt 0 bulk-only, alt 1 UAS with streams; every endpoint
 * has a companion, UAS endpoints also a pipe usage descriptor. */
static void build_uas(struct blob *bl, struct uas_off *o)
{
    bl->n = 0;
    ADD(bl, 0x09, 0x02, 0, 0, 0x01, 0x01, 0x00, 0x80, 0x70);
    o->alt0 = ADD(bl, 0x09, 0x04, 0x00, 0x00, 0x02, 0x08, 0x06, 0x50, 0x00);
    o->ep81 = ADD(bl, 0x07, 0x05, 0x81, 0x02, 0x00, 0x04, 0x00);
    o->comp81 = ADD(bl, 0x06, 0x30, 0x0F, 0x00, 0x34, 0x12);
    ADD(bl, 0x07, 0x05, 0x02, 0x02, 0x00, 0x04, 0x00);
    ADD(bl, 0x06, 0x30, 0x0F, 0x00, 0x00, 0x00);
    o->alt1 = ADD(bl, 0x09, 0x04, 0x00, 0x01, 0x04, 0x08, 0x06, 0x62, 0x00);
    ADD(bl, 0x07, 0x05, 0x01, 0x02, 0x00, 0x04, 0x00);
    ADD(bl, 0x06, 0x30, 0x00, 0x00, 0x00, 0x00);
    ADD(bl, 0x04, 0x24, 0x01, 0x00);
    o->ep82 = ADD(bl, 0x07, 0x05, 0x82, 0x02, 0x00, 0x04, 0x00);
    o->comp82 = ADD(bl, 0x06, 0x30, 0x0F, 0x05, 0x00, 0x00);
    o->pipe82 = ADD(bl, 0x04, 0x24, 0x02, 0x00);
    ADD(bl, 0x07, 0x05, 0x83, 0x02, 0x00, 0x04, 0x00);
    ADD(bl, 0x06, 0x30, 0x0F, 0x05, 0x00, 0x00);
    ADD(bl, 0x04, 0x24, 0x03, 0x00);
    ADD(bl, 0x07, 0x05, 0x04, 0x02, 0x00, 0x04, 0x00);
    ADD(bl, 0x06, 0x30, 0x0F, 0x05, 0x00, 0x00);
    ADD(bl, 0x04, 0x24, 0x04, 0x00);
    fix_total(bl);
}

struct bos_off {
    size_t usb2, ss, cid, msos;
};

static void build_bos(struct blob *bl, struct bos_off *o)
{
    bl->n = 0;
    ADD(bl, 0x05, 0x0F, 0, 0, 0x04);
    o->usb2 = ADD(bl, 0x07, 0x10, 0x02, 0x06, 0x00, 0x00, 0x00);
    o->ss = ADD(bl, 0x0A, 0x10, 0x03, 0x00, 0x0E, 0x00, 0x01, 0x0A, 0xFF, 0x07);
    o->cid = ADD(bl, 0x14, 0x10, 0x04, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
                 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F);
    o->msos = ADD(bl, 0x24, 0x10, 0x05, 0x00, MSOS20_UUID_BYTES,
                  0x00, 0x00, 0x03, 0x06, 0xB2, 0x00, 0x01, 0x00,   /* Windows 8.1 */
                  0x00, 0x00, 0x00, 0x0A, 0xC0, 0x00, 0x02, 0x00);  /* Windows 10 */
    fix_total(bl);
}

static const uint8_t dev_hs[18] = {0x12, 0x01, 0x00, 0x02, 0xEF, 0x02, 0x01, 0x40, 0x34, 0x12,
                                   0x78, 0x56, 0x00, 0x01, 0x01, 0x02, 0x03, 0x01};
static const uint8_t dev_ss[18] = {0x12, 0x01, 0x20, 0x03, 0x00, 0x00, 0x00, 0x09, 0x4B, 0x17,
                                   0x34, 0x12, 0x10, 0x00, 0x01, 0x02, 0x00, 0x01};
/* "Héllo €" + U+1F600 as UTF-16LE. */
static const uint8_t str_mixed[] = {0x14, 0x03, 'H', 0, 0xE9, 0, 'l', 0, 'l', 0, 'o', 0, ' ', 0,
                                    0xAC, 0x20, 0x3D, 0xD8, 0x00, 0xDE};
static const uint8_t langids_two[] = {0x06, 0x03, 0x09, 0x04, 0x07, 0x04};

/* Runs the parser on a heap copy of exactly len bytes so ASan sees any over-read. */
static int parse_config_exact(const uint8_t *b, size_t len, struct owu_config **cfg, owu_err *err)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return OWU_E_NOMEM;
    if (len)
        memcpy(copy, b, len);
    int rc = owu_config_parse(copy, len, cfg, err);
    free(copy);
    return rc;
}

static int parse_bos_exact(const uint8_t *b, size_t len, struct owu_bos **bos, owu_err *err)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return OWU_E_NOMEM;
    if (len)
        memcpy(copy, b, len);
    int rc = owu_bos_parse(copy, len, bos, err);
    free(copy);
    return rc;
}

/* Expects OWU_E_BADDESC from the configuration parser and each needle in the message. */
static void expect_bad_config(const struct blob *bl, size_t len, const char *needle1,
                              const char *needle2)
{
    owu_err err = {0};
    struct owu_config *cfg = (struct owu_config *)1;
    int rc = parse_config_exact(bl->b, len, &cfg, &err);
    CHECK_INT(rc, OWU_E_BADDESC);
    CHECK_INT(err.code, OWU_E_BADDESC);
    CHECK(cfg == NULL);
    CHECK_CONTAINS(err.msg, "configuration: ");
    CHECK_CONTAINS(err.msg, needle1);
    if (needle2)
        CHECK_CONTAINS(err.msg, needle2);
    if (rc == OWU_OK)
        owu_config_free(cfg);
}

static void expect_bad_bos(const struct blob *bl, size_t len, const char *needle1, const char *needle2)
{
    owu_err err = {0};
    struct owu_bos *bos = (struct owu_bos *)1;
    int rc = parse_bos_exact(bl->b, len, &bos, &err);
    CHECK_INT(rc, OWU_E_BADDESC);
    CHECK(bos == NULL);
    CHECK_CONTAINS(err.msg, "BOS: ");
    CHECK_CONTAINS(err.msg, needle1);
    if (needle2)
        CHECK_CONTAINS(err.msg, needle2);
    if (rc == OWU_OK)
        owu_bos_free(bos);
}

static const char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static const char *fmt(const char *f, ...)
{
    static char bufs[4][256];
    static int next;
    char *s = bufs[next++ & 3];
    va_list ap;
    va_start(ap, f);
    vsnprintf(s, sizeof bufs[0], f, ap);
    va_end(ap);
    return s;
}

/* ---- iterator --------------------------------------------------------------------------- */

static void test_iter_walks_and_stops(void)
{
    const uint8_t run[] = {0x03, 0x24, 0x01, 0x02, 0x25, 0x04, 0x24, 0x02, 0x00};
    owu_desc_iter it;
    const uint8_t *d;
    size_t dl;
    owu_desc_iter_init(&it, (owu_span){run, sizeof run}, 100);
    CHECK(owu_desc_iter_next(&it, &d, &dl));
    CHECK(d == run);
    CHECK_INT(dl, 3);
    CHECK(owu_desc_iter_next(&it, &d, &dl));
    CHECK_INT(dl, 2);
    CHECK(owu_desc_iter_next(&it, &d, &dl));
    CHECK_INT(d[2], 2);
    CHECK(!owu_desc_iter_next(&it, &d, &dl));
    CHECK(it.error == NULL);
    owu_err err = {0};
    CHECK_INT(owu_desc_iter_fail(&it, &err, "x"), OWU_OK);

    /* Empty and NULL spans end cleanly. */
    owu_desc_iter_init(&it, (owu_span){NULL, 5}, 0);
    CHECK(!owu_desc_iter_next(&it, &d, &dl));
    CHECK(it.error == NULL);
}

static void test_iter_bad_lengths(void)
{
    const uint8_t zero[] = {0x03, 0x24, 0x01, 0x00, 0x24, 0x05};
    owu_desc_iter it;
    const uint8_t *d;
    size_t dl;
    owu_err err = {0};
    owu_desc_iter_init(&it, (owu_span){zero, sizeof zero}, 9);
    CHECK(owu_desc_iter_next(&it, &d, &dl));
    CHECK(!owu_desc_iter_next(&it, &d, &dl));
    CHECK(it.error != NULL);
    CHECK_INT(it.err_offset, 12);
    /* Later calls keep failing instead of spinning on the bad descriptor. */
    for (int i = 0; i < 3; i++)
        CHECK(!owu_desc_iter_next(&it, &d, &dl));
    CHECK_INT(owu_desc_iter_fail(&it, &err, "thing"), OWU_E_BADDESC);
    CHECK_STR(err.msg, "thing: descriptor at offset 12: bLength 0 is below 2");

    const uint8_t one[] = {0x01, 0x24};
    owu_desc_iter_init(&it, (owu_span){one, sizeof one}, 0);
    CHECK(!owu_desc_iter_next(&it, &d, &dl));
    owu_desc_iter_fail(&it, &err, "thing");
    CHECK_CONTAINS(err.msg, "offset 0: bLength 1 is below 2");

    const uint8_t past[] = {0x02, 0x24, 0x09, 0x24, 0x00};
    owu_desc_iter_init(&it, (owu_span){past, sizeof past}, 0);
    CHECK(owu_desc_iter_next(&it, &d, &dl));
    CHECK(!owu_desc_iter_next(&it, &d, &dl));
    owu_desc_iter_fail(&it, &err, "thing");
    CHECK_CONTAINS(err.msg, "descriptor at offset 2: bLength 9 runs past the end at offset 5");

    const uint8_t lone[] = {0x02, 0x24, 0x07};
    owu_desc_iter_init(&it, (owu_span){lone, sizeof lone}, 0);
    CHECK(owu_desc_iter_next(&it, &d, &dl));
    CHECK(!owu_desc_iter_next(&it, &d, &dl));
    owu_desc_iter_fail(&it, &err, "thing");
    CHECK_CONTAINS(err.msg, "descriptor at offset 2: only 1 byte left");
}

/* ---- configuration: valid trees ------------------------------------------------------- */

static void test_config_cdc_composite(void)
{
    struct blob bl;
    struct cdc_off o;
    build_cdc(&bl, &o);
    CHECK_INT(bl.n, 84);
    owu_err err = {0};
    struct owu_config *cfg = NULL;
    CHECK_OK(owu_config_parse(bl.b, bl.n, &cfg, &err), ep_(&err));
    if (!cfg)
        return;
    CHECK_INT(cfg->wTotalLength, 84);
    CHECK_INT(cfg->bNumInterfaces, 3);
    CHECK_INT(cfg->bConfigurationValue, 1);
    CHECK_INT(cfg->bmAttributes, 0x80);
    CHECK_INT(cfg->bMaxPower, 0x32);
    CHECK(cfg->raw.data != bl.b);
    CHECK_INT(cfg->raw.len, 84);
    CHECK(memcmp(cfg->raw.data, bl.b, bl.n) == 0);
    CHECK(cfg->extra.data == NULL && cfg->extra.len == 0); /* the IAD is not extra */

    CHECK_INT(cfg->num_interfaces, 3);
    const struct owu_interface *i0 = owu_config_find_interface(cfg, 0);
    CHECK(i0 == &cfg->interfaces[0]);
    CHECK_INT(i0->num_alts, 1);
    const struct owu_altsetting *a0 = owu_interface_find_alt(i0, 0);
    CHECK(a0 != NULL);
    CHECK(owu_interface_find_alt(i0, 1) == NULL);
    if (!a0)
        goto out;
    CHECK_INT(a0->bInterfaceClass, 2);
    CHECK_INT(a0->bInterfaceSubClass, 2);
    CHECK_INT(a0->bInterfaceProtocol, 1);
    CHECK_INT(a0->iInterface, 5);
    CHECK_INT(a0->offset, o.if0);
    CHECK_INT(a0->num_endpoints, 1);
    CHECK_INT(a0->bNumEndpoints, 1);
    CHECK_INT(a0->endpoints[0].bEndpointAddress, 0x81);
    CHECK_INT(a0->endpoints[0].bmAttributes, 3);
    CHECK_INT(a0->endpoints[0].wMaxPacketSize, 8);
    CHECK_INT(a0->endpoints[0].bInterval, 16);
    CHECK_INT(a0->endpoints[0].offset, o.ep81);
    CHECK(!a0->endpoints[0].has_ss_companion);
    CHECK_INT(a0->endpoints[0].extra.len, 0);
    /* Functional descriptors: the span between the interface and its endpoint. */
    CHECK(a0->extra.data == cfg->raw.data + o.cdc_header);
    CHECK_INT(a0->extra.len, o.ep81 - o.cdc_header);
    CHECK(a0->all.data == cfg->raw.data + o.if0);
    CHECK_INT(a0->all.len, o.if1 - o.if0);

    owu_desc_iter it;
    const uint8_t *d;
    size_t dl;
    const uint8_t subtypes[] = {0x00, 0x01, 0x02, 0x06};
    unsigned n = 0;
    owu_desc_iter_init(&it, a0->extra, o.cdc_header);
    while (owu_desc_iter_next(&it, &d, &dl)) {
        CHECK_INT(d[1], 0x24);
        if (n < 4)
            CHECK_INT(d[2], subtypes[n]);
        n++;
    }
    CHECK_INT(n, 4);
    CHECK(it.error == NULL);

    const struct owu_interface *i1 = owu_config_find_interface(cfg, 1);
    CHECK(i1 != NULL && i1->num_alts == 1);
    if (i1) {
        CHECK_INT(i1->alts[0].num_endpoints, 2);
        CHECK_INT(i1->alts[0].endpoints[0].bEndpointAddress, 0x02);
        CHECK_INT(i1->alts[0].endpoints[1].bEndpointAddress, 0x82);
        CHECK_INT(i1->alts[0].endpoints[1].wMaxPacketSize, 64);
        CHECK_INT(i1->alts[0].all.len, o.if2 - o.if1);
        CHECK_INT(i1->alts[0].extra.len, 0);
    }
    const struct owu_interface *i2 = owu_config_find_interface(cfg, 2);
    CHECK(i2 != NULL);
    if (i2) {
        CHECK_INT(i2->alts[0].num_endpoints, 0);
        CHECK(i2->alts[0].endpoints == NULL);
        CHECK_INT(i2->alts[0].all.len, 9);
    }
    CHECK(owu_config_find_interface(cfg, 3) == NULL);

    CHECK_INT(cfg->num_iads, 1);
    CHECK_INT(cfg->iads[0].bFirstInterface, 0);
    CHECK_INT(cfg->iads[0].bInterfaceCount, 2);
    CHECK_INT(cfg->iads[0].bFunctionClass, 2);
    CHECK_INT(cfg->iads[0].iFunction, 4);
    CHECK_INT(cfg->iads[0].offset, o.iad);
    CHECK(owu_config_iad_for(cfg, 0) == &cfg->iads[0]);
    CHECK(owu_config_iad_for(cfg, 1) == &cfg->iads[0]);
    CHECK(owu_config_iad_for(cfg, 2) == NULL);

    /* The tree owns its bytes: scribbling over the input changes nothing. */
    memset(bl.b, 0xAA, bl.n);
    CHECK_INT(a0->extra.data[2], 0x00);
    CHECK_INT(cfg->raw.data[0], 9);
out:
    owu_config_free(cfg);
}

static void test_config_fx2_alternates(void)
{
    struct blob bl;
    struct fx2_off o;
    build_fx2(&bl, &o);
    owu_err err = {0};
    struct owu_config *cfg = NULL;
    CHECK_OK(owu_config_parse(bl.b, bl.n, &cfg, &err), ep_(&err));
    if (!cfg)
        return;
    CHECK_INT(cfg->num_interfaces, 1);
    CHECK_INT(cfg->num_iads, 0);
    CHECK(cfg->iads == NULL);
    const struct owu_interface *i0 = &cfg->interfaces[0];
    CHECK_INT(i0->num_alts, 3);
    for (unsigned a = 0; a < i0->num_alts && a < 3; a++)
        CHECK_INT(i0->alts[a].bAlternateSetting, a);
    CHECK_INT(i0->alts[0].num_endpoints, 0);
    CHECK_INT(i0->alts[1].num_endpoints, 6);
    CHECK_INT(i0->alts[2].num_endpoints, 4);
    const struct owu_altsetting *a1 = owu_interface_find_alt(i0, 1);
    const struct owu_altsetting *a2 = owu_interface_find_alt(i0, 2);
    CHECK(a1 == &i0->alts[1] && a2 == &i0->alts[2]);
    if (a1 && a2) {
        CHECK_INT(a1->endpoints[2].bEndpointAddress, 0x02);
        CHECK_INT(a1->endpoints[2].wMaxPacketSize, 512);
        CHECK_INT(a1->endpoints[5].bEndpointAddress, 0x88);
        CHECK_INT(a1->all.len, o.alt2 - o.alt1);
        CHECK_INT(a2->endpoints[2].bmAttributes & 3, OWU_XFER_ISOCHRONOUS);
        CHECK_INT(a2->endpoints[0].bmAttributes & 3, OWU_XFER_INTERRUPT);
        CHECK_INT(a2->all.len, bl.n - o.alt2);
        CHECK_INT(a2->offset, o.alt2);
    }
    owu_config_free(cfg);
}

static void test_config_uas_companions(void)
{
    struct blob bl;
    struct uas_off o;
    build_uas(&bl, &o);
    owu_err err = {0};
    struct owu_config *cfg = NULL;
    CHECK_OK(owu_config_parse(bl.b, bl.n, &cfg, &err), ep_(&err));
    if (!cfg)
        return;
    const struct owu_interface *i0 = owu_config_find_interface(cfg, 0);
    CHECK(i0 && i0->num_alts == 2);
    if (!i0 || i0->num_alts != 2)
        goto out;
    const struct owu_altsetting *bot = &i0->alts[0], *uas = &i0->alts[1];
    CHECK_INT(bot->bInterfaceProtocol, 0x50);
    CHECK_INT(uas->bInterfaceProtocol, 0x62);
    CHECK_INT(bot->num_endpoints, 2);
    CHECK(bot->endpoints[0].has_ss_companion);
    CHECK_INT(bot->endpoints[0].ss_bMaxBurst, 15);
    CHECK_INT(bot->endpoints[0].ss_wBytesPerInterval, 0x1234);
    CHECK_INT(bot->endpoints[0].wMaxPacketSize, 1024);
    CHECK_INT(bot->endpoints[0].extra.len, 0); /* the companion is decoded, not extra */
    CHECK_INT(bot->all.len, o.alt1 - o.alt0);
    CHECK_INT(uas->num_endpoints, 4);
    for (unsigned i = 0; i < uas->num_endpoints; i++) {
        const struct owu_endpoint *ep = &uas->endpoints[i];
        CHECK(ep->has_ss_companion);
        CHECK_INT(ep->extra.len, 4);
        CHECK_INT(ep->extra.data[1], 0x24);
        CHECK_INT(ep->extra.data[2], i + 1); /* pipe ID */
    }
    CHECK_INT(uas->endpoints[1].ss_bmAttributes, 5);
    CHECK_INT(uas->endpoints[0].ss_bMaxBurst, 0);
    CHECK(uas->endpoints[1].extra.data == cfg->raw.data + o.pipe82);
    CHECK_INT(uas->all.len, bl.n - o.alt1);
    CHECK_INT(uas->extra.len, 0);
out:
    owu_config_free(cfg);
}

static void test_config_tolerated_quirks(void)
{
    owu_err err = {0};
    struct owu_config *cfg = NULL;
    struct blob bl;

    /* Bytes after wTotalLength are ignored. */
    struct cdc_off o;
    build_cdc(&bl, &o);
    size_t n = bl.n;
    ADD(&bl, 0xDE, 0xAD, 0x00, 0x01, 0xFF);
    CHECK_OK(parse_config_exact(bl.b, bl.n, &cfg, &err), ep_(&err));
    if (cfg)
        CHECK_INT(cfg->raw.len, n);
    owu_config_free(cfg);
    cfg = NULL;

    /* Longer-than-standard descriptors (10-byte header, audio 9-byte endpoint), an unknown
     * type and an OTG descriptor before the IAD, an unknown type before an endpoint, a stray
     * companion after an interface, and a zero-bandwidth endpoint. */
    bl.n = 0;
    ADD(&bl, 0x0A, 0x02, 0, 0, 0x02, 0x01, 0x00, 0x80, 0x32, 0x99);
    size_t otg = ADD(&bl, 0x03, 0x09, 0x03);
    size_t unk = ADD(&bl, 0x04, 0x42, 0x01, 0x02);
    ADD(&bl, 0x08, 0x0B, 0x00, 0x02, 0x01, 0x02, 0x00, 0x00);
    size_t if0 = ADD(&bl, 0x09, 0x04, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00);
    size_t stray = ADD(&bl, 0x06, 0x30, 0x00, 0x00, 0x00, 0x00);
    size_t if1 = ADD(&bl, 0x09, 0x04, 0x01, 0x01, 0x01, 0x01, 0x02, 0x00, 0x00);
    size_t unk2 = ADD(&bl, 0x03, 0x77, 0x00);
    size_t ep = ADD(&bl, 0x09, 0x05, 0x01, 0x09, 0x00, 0x00, 0x01, 0x00, 0x00);
    size_t cs_ep = ADD(&bl, 0x07, 0x25, 0x01, 0x00, 0x00, 0x00, 0x00);
    fix_total(&bl);
    CHECK_OK(parse_config_exact(bl.b, bl.n, &cfg, &err), ep_(&err));
    if (cfg) {
        CHECK(cfg->extra.data == cfg->raw.data + otg);
        CHECK_INT(cfg->extra.len, unk + 4 - otg);
        const struct owu_altsetting *a = &cfg->interfaces[0].alts[0];
        CHECK(a->extra.data == cfg->raw.data + stray);
        CHECK_INT(a->extra.len, 6);
        CHECK_INT(a->all.len, if1 - if0);
        const struct owu_interface *i1 = owu_config_find_interface(cfg, 1);
        CHECK(i1 != NULL);
        if (i1) {
            /* No alternate setting 0: tolerated, kept as found. */
            CHECK_INT(i1->alts[0].bAlternateSetting, 1);
            CHECK(i1->alts[0].extra.data == cfg->raw.data + unk2);
            CHECK_INT(i1->alts[0].endpoints[0].wMaxPacketSize, 0);
            CHECK_INT(i1->alts[0].endpoints[0].offset, ep);
            CHECK(i1->alts[0].endpoints[0].extra.data == cfg->raw.data + cs_ep);
            CHECK_INT(i1->alts[0].endpoints[0].extra.len, 7);
        }
    }
    owu_config_free(cfg);
    cfg = NULL;

    /* Interleaved alternate settings and non-contiguous interface numbers; a trailing IAD
     * belongs to the next function, not to the endpoint or altsetting before it. */
    bl.n = 0;
    ADD(&bl, 0x09, 0x02, 0, 0, 0x02, 0x01, 0x00, 0x80, 0x32);
    size_t a00 = ADD(&bl, 0x09, 0x04, 0x05, 0x00, 0x01, 0xFF, 0x00, 0x00, 0x00);
    size_t ep1 = ADD(&bl, 0x07, 0x05, 0x81, 0x02, 0x40, 0x00, 0x00);
    size_t iad = ADD(&bl, 0x08, 0x0B, 0x02, 0x01, 0xFF, 0x00, 0x00, 0x00);
    ADD(&bl, 0x09, 0x04, 0x02, 0x00, 0x00, 0xFF, 0x00, 0x00, 0x00);
    size_t a01 = ADD(&bl, 0x09, 0x04, 0x05, 0x01, 0x00, 0xFF, 0x00, 0x00, 0x00);
    fix_total(&bl);
    CHECK_OK(parse_config_exact(bl.b, bl.n, &cfg, &err), ep_(&err));
    if (cfg) {
        CHECK_INT(cfg->num_interfaces, 2);
        CHECK_INT(cfg->interfaces[0].number, 5);
        CHECK_INT(cfg->interfaces[1].number, 2);
        CHECK_INT(cfg->interfaces[0].num_alts, 2);
        CHECK_INT(cfg->interfaces[0].alts[0].offset, a00);
        CHECK_INT(cfg->interfaces[0].alts[1].offset, a01);
        CHECK_INT(cfg->interfaces[0].alts[0].all.len, iad - a00);
        CHECK_INT(cfg->interfaces[0].alts[0].endpoints[0].offset, ep1);
        CHECK_INT(cfg->interfaces[0].alts[0].endpoints[0].extra.len, 0);
        CHECK(owu_config_iad_for(cfg, 2) != NULL);
        CHECK(owu_config_iad_for(cfg, 5) == NULL);
    }
    owu_config_free(cfg);
    cfg = NULL;

    /* No interfaces at all, as declared. */
    const uint8_t empty[] = {0x09, 0x02, 0x09, 0x00, 0x00, 0x01, 0x00, 0x80, 0x32};
    CHECK_OK(parse_config_exact(empty, sizeof empty, &cfg, &err), ep_(&err));
    if (cfg) {
        CHECK_INT(cfg->num_interfaces, 0);
        CHECK(cfg->interfaces == NULL);
    }
    owu_config_free(cfg);
    owu_config_free(NULL);

    /* Argument errors and lookups on nothing. */
    CHECK_INT(owu_config_parse(empty, sizeof empty, NULL, &err), OWU_E_INVAL);
    CHECK_INT(owu_bos_parse(empty, sizeof empty, NULL, &err), OWU_E_INVAL);
    CHECK(owu_config_find_interface(NULL, 0) == NULL);
    CHECK(owu_interface_find_alt(NULL, 0) == NULL);
    CHECK(owu_config_iad_for(NULL, 0) == NULL);
}

/* ---- configuration: malformed corpus -------------------------------------------------- */

static void test_config_bad_blength(void)
{
    struct blob bl;
    struct cdc_off o;

    build_cdc(&bl, &o);
    bl.b[o.cdc_header] = 0;
    expect_bad_config(&bl, bl.n, fmt("descriptor at offset %zu: bLength 0 is below 2", o.cdc_header),
                      NULL);

    build_cdc(&bl, &o);
    bl.b[o.cdc_header] = 1;
    expect_bad_config(&bl, bl.n, fmt("descriptor at offset %zu: bLength 1 is below 2", o.cdc_header),
                      NULL);

    build_cdc(&bl, &o);
    bl.b[o.if2] = 0x20;
    expect_bad_config(&bl, bl.n,
                      fmt("descriptor at offset %zu: bLength 32 runs past the end at offset %zu",
                          o.if2, bl.n),
                      NULL);

    /* A lone byte after the last descriptor. */
    build_cdc(&bl, &o);
    size_t last = ADD(&bl, 0x05);
    fix_total(&bl);
    expect_bad_config(&bl, bl.n, fmt("descriptor at offset %zu: only 1 byte left", last), NULL);

    /* Header bLength below 9, and larger than what was received. */
    build_cdc(&bl, &o);
    bl.b[0] = 7;
    expect_bad_config(&bl, bl.n, "header at offset 0: bLength 7 is below 9", NULL);
    build_cdc(&bl, &o);
    expect_bad_config(&bl, 5, "header at offset 0: bLength 9 exceeds the 5 bytes received", NULL);
    expect_bad_config(&bl, 1, "only 1 of the 2 header bytes (bLength at offset 0", NULL);
    expect_bad_config(&bl, 0, "0 of the 2 header bytes", NULL);
}

static void test_config_bad_total_length(void)
{
    struct blob bl;
    struct cdc_off o;
    build_cdc(&bl, &o);
    expect_bad_config(&bl, 41, "wTotalLength 84 (offset 2) exceeds the 41 bytes received", NULL);

    build_cdc(&bl, &o);
    owu_put_le16(bl.b + 2, 5);
    expect_bad_config(&bl, bl.n, "wTotalLength 5 (offset 2) is below 9", NULL);

    /* wTotalLength cuts the last endpoint in half. */
    build_cdc(&bl, &o);
    owu_put_le16(bl.b + 2, (uint16_t)(o.ep82 + 4));
    expect_bad_config(&bl, o.ep82 + 4,
                      fmt("descriptor at offset %zu: bLength 7 runs past the end at offset %zu",
                          o.ep82, o.ep82 + 4),
                      NULL);

    /* wTotalLength below a long header's bLength. */
    const uint8_t longhdr[] = {0x0C, 0x02, 0x0A, 0x00, 0x00, 0x01, 0x00, 0x80, 0x32, 0, 0, 0};
    memcpy(bl.b, longhdr, sizeof longhdr);
    expect_bad_config(&bl, sizeof longhdr, "wTotalLength 10 (offset 2) is below the header's bLength 12",
                      NULL);
}

static void test_config_bad_types(void)
{
    struct blob bl;
    struct cdc_off o;
    build_cdc(&bl, &o);
    bl.b[1] = 0x04;
    expect_bad_config(&bl, bl.n, "bDescriptorType 0x04 (offset 1) is not 0x02", NULL);

    /* Interface, endpoint, IAD and companion shorter than their standard sizes. */
    bl.n = 0;
    ADD(&bl, 0x09, 0x02, 0, 0, 0x01, 0x01, 0x00, 0x80, 0x32);
    ADD(&bl, 0x08, 0x04, 0x00, 0x00, 0x00, 0xFF, 0x00, 0x00);
    fix_total(&bl);
    expect_bad_config(&bl, bl.n, "interface descriptor at offset 9: bLength 8 is below 9", NULL);

    bl.n = 0;
    ADD(&bl, 0x09, 0x02, 0, 0, 0x01, 0x01, 0x00, 0x80, 0x32);
    ADD(&bl, 0x09, 0x04, 0x00, 0x00, 0x01, 0xFF, 0x00, 0x00, 0x00);
    ADD(&bl, 0x06, 0x05, 0x81, 0x02, 0x40, 0x00);
    fix_total(&bl);
    expect_bad_config(&bl, bl.n, "endpoint descriptor at offset 18: bLength 6 is below 7", NULL);

    bl.n = 0;
    ADD(&bl, 0x09, 0x02, 0, 0, 0x01, 0x01, 0x00, 0x80, 0x32);
    ADD(&bl, 0x07, 0x0B, 0x00, 0x01, 0xFF, 0x00, 0x00);
    ADD(&bl, 0x09, 0x04, 0x00, 0x00, 0x00, 0xFF, 0x00, 0x00, 0x00);
    fix_total(&bl);
    expect_bad_config(&bl, bl.n, "interface association at offset 9: bLength 7 is below 8", NULL);

    bl.n = 0;
    ADD(&bl, 0x09, 0x02, 0, 0, 0x01, 0x01, 0x00, 0x80, 0x32);
    ADD(&bl, 0x09, 0x04, 0x00, 0x00, 0x01, 0xFF, 0x00, 0x00, 0x00);
    ADD(&bl, 0x07, 0x05, 0x81, 0x02, 0x00, 0x04, 0x00);
    ADD(&bl, 0x05, 0x30, 0x00, 0x00, 0x00);
    fix_total(&bl);
    expect_bad_config(&bl, bl.n, "SuperSpeed endpoint companion at offset 25: bLength 5 is below 6",
                      NULL);

    /* An endpoint before any interface. */
    bl.n = 0;
    ADD(&bl, 0x09, 0x02, 0, 0, 0x00, 0x01, 0x00, 0x80, 0x32);
    ADD(&bl, 0x07, 0x05, 0x81, 0x02, 0x40, 0x00, 0x00);
    fix_total(&bl);
    expect_bad_config(&bl, bl.n, "endpoint descriptor at offset 9: comes before any interface", NULL);
}

static void test_config_bad_endpoints(void)
{
    struct blob bl;
    struct cdc_off o;

    build_cdc(&bl, &o);
    bl.b[o.if1 + 4] = 3;
    expect_bad_config(&bl, bl.n, fmt("interface 1 alternate setting 0 at offset %zu", o.if1),
                      fmt("bNumEndpoints 3 (offset %zu) but 2 endpoint descriptors follow",
                          o.if1 + 4));

    build_cdc(&bl, &o);
    bl.b[o.if2 + 4] = 1; /* the last interface: checked at the end of the blob */
    expect_bad_config(&bl, bl.n, fmt("bNumEndpoints 1 (offset %zu) but 0 endpoint", o.if2 + 4),
                      NULL);

    build_cdc(&bl, &o);
    bl.b[o.ep82 + 2] = 0x02;
    expect_bad_config(&bl, bl.n,
                      fmt("bEndpointAddress 0x02 (offset %zu) repeats the endpoint at offset %zu",
                          o.ep82 + 2, o.ep02),
                      "interface 1 alternate setting 0");

    /* Same number, other direction, is a different endpoint; reserved bits do not make a
     * different one. */
    build_cdc(&bl, &o);
    bl.b[o.ep82 + 2] = 0x12;
    expect_bad_config(&bl, bl.n, fmt("endpoint descriptor at offset %zu", o.ep82),
                      "bEndpointAddress 0x12");

    build_cdc(&bl, &o);
    bl.b[o.ep02 + 2] = 0x80;
    expect_bad_config(&bl, bl.n, fmt("bEndpointAddress 0x80 (offset %zu) names endpoint 0", o.ep02 + 2),
                      NULL);

    /* Two companions for one endpoint. */
    struct uas_off u;
    build_uas(&bl, &u);
    memcpy(bl.b + u.pipe82, (const uint8_t[]){0x04, 0x30, 0x00, 0x00}, 4);
    /* bLength 4 companion fails the length check first ... */
    expect_bad_config(&bl, bl.n, fmt("companion at offset %zu: bLength 4 is below 6", u.pipe82), NULL);
    bl.n = 0;
    ADD(&bl, 0x09, 0x02, 0, 0, 0x01, 0x01, 0x00, 0x80, 0x32);
    ADD(&bl, 0x09, 0x04, 0x00, 0x00, 0x01, 0xFF, 0x00, 0x00, 0x00);
    ADD(&bl, 0x07, 0x05, 0x81, 0x02, 0x00, 0x04, 0x00);
    ADD(&bl, 0x06, 0x30, 0x00, 0x00, 0x00, 0x00);
    ADD(&bl, 0x06, 0x30, 0x00, 0x00, 0x00, 0x00);
    fix_total(&bl);
    /* ... and a well-formed second one is ambiguous. */
    expect_bad_config(&bl, bl.n, "companion at offset 31: endpoint 0x81 at offset 18 already has",
                      NULL);
}

static void test_config_bad_interfaces(void)
{
    struct blob bl;
    struct cdc_off o;
    build_cdc(&bl, &o);
    bl.b[4] = 2;
    expect_bad_config(&bl, bl.n, "bNumInterfaces 2 (offset 4) but 3 distinct interface numbers", NULL);
    build_cdc(&bl, &o);
    bl.b[4] = 4;
    expect_bad_config(&bl, bl.n, "bNumInterfaces 4 (offset 4)", NULL);

    struct fx2_off f;
    build_fx2(&bl, &f);
    bl.b[f.alt2 + 3] = 1;
    expect_bad_config(&bl, bl.n,
                      fmt("interface descriptor at offset %zu: bInterfaceNumber 0 bAlternateSetting "
                          "1 (offsets %zu,",
                          f.alt2, f.alt2 + 2),
                      fmt("repeats the interface descriptor at offset %zu", f.alt1));
}

static void test_config_bad_iads(void)
{
    struct blob bl;
    struct cdc_off o;
    build_cdc(&bl, &o);
    bl.b[o.iad + 3] = 4;
    expect_bad_config(&bl, bl.n, "interface association at offset 9: bFirstInterface 0 (offset 11)",
                      "bInterfaceCount 4 (offset 12) cover interface 3, which the configuration");

    build_cdc(&bl, &o);
    bl.b[o.iad + 2] = 0xFF; /* range runs past interface 255 */
    bl.b[o.iad + 3] = 2;
    expect_bad_config(&bl, bl.n, "bFirstInterface 255 (offset 11)", "cover interface 255");

    build_cdc(&bl, &o);
    bl.b[o.iad + 3] = 0;
    expect_bad_config(&bl, bl.n, "interface association at offset 9: bInterfaceCount 0 (offset 12) is below 1",
                      NULL);

    /* A second IAD over interfaces 1..2 overlaps the first (0..1). */
    bl.n = 0;
    ADD(&bl, 0x09, 0x02, 0, 0, 0x03, 0x01, 0x00, 0x80, 0x32);
    ADD(&bl, 0x08, 0x0B, 0x00, 0x02, 0x02, 0x02, 0x01, 0x00);
    ADD(&bl, 0x09, 0x04, 0x00, 0x00, 0x00, 0x02, 0x02, 0x01, 0x00);
    size_t second = ADD(&bl, 0x08, 0x0B, 0x01, 0x02, 0xFF, 0x00, 0x00, 0x00);
    ADD(&bl, 0x09, 0x04, 0x01, 0x00, 0x00, 0x0A, 0x00, 0x00, 0x00);
    ADD(&bl, 0x09, 0x04, 0x02, 0x00, 0x00, 0xFF, 0x00, 0x00, 0x00);
    fix_total(&bl);
    expect_bad_config(&bl, bl.n,
                      fmt("interface association at offset %zu: interfaces 1..2 (bFirstInterface at "
                          "offset %zu)",
                          second, second + 2),
                      "overlap the association at offset 9 (interfaces 0..1)");
}

/* ---- device descriptor ---------------------------------------------------------------- */

static void test_device_desc(void)
{
    owu_err err = {0};
    struct owu_device_desc d;
    CHECK_OK(owu_device_desc_parse(dev_hs, sizeof dev_hs, OWU_SPEED_HIGH, &d, &err), ep_(&err));
    CHECK_INT(d.bcdUSB, 0x0200);
    CHECK_INT(d.bDeviceClass, 0xEF);
    CHECK_INT(d.idVendor, 0x1234);
    CHECK_INT(d.idProduct, 0x5678);
    CHECK_INT(d.bcdDevice, 0x0100);
    CHECK_INT(d.iManufacturer, 1);
    CHECK_INT(d.iProduct, 2);
    CHECK_INT(d.iSerialNumber, 3);
    CHECK_INT(d.bNumConfigurations, 1);
    CHECK_INT(owu_ep0_max_packet(&d), 64);
    CHECK_OK(owu_device_desc_parse(dev_hs, sizeof dev_hs, OWU_SPEED_UNKNOWN, NULL, &err), ep_(&err));

    CHECK_OK(owu_device_desc_parse(dev_ss, sizeof dev_ss, OWU_SPEED_SUPER, &d, &err), ep_(&err));
    CHECK_INT(d.bMaxPacketSize0, 9);
    CHECK_INT(owu_ep0_max_packet(&d), 512);
    CHECK_OK(owu_device_desc_parse(dev_ss, sizeof dev_ss, OWU_SPEED_UNKNOWN, &d, &err), ep_(&err));
    CHECK_OK(owu_device_desc_parse(dev_ss, sizeof dev_ss, OWU_SPEED_SUPER_PLUS, &d, &err), ep_(&err));

    /* Prefix: the first 8 bytes are enough. */
    CHECK_OK(owu_device_desc_check_prefix(dev_hs, 8, OWU_SPEED_HIGH, &err), ep_(&err));
    CHECK_INT(owu_device_desc_check_prefix(dev_hs, 7, OWU_SPEED_HIGH, &err), OWU_E_BADDESC);
    CHECK_CONTAINS(err.msg, "device descriptor: 7 of the first 8 bytes");
    CHECK_INT(owu_device_desc_parse(dev_hs, 8, OWU_SPEED_HIGH, &d, &err), OWU_E_BADDESC);
    CHECK_CONTAINS(err.msg, "bLength 18 exceeds the 8 bytes received");

    uint8_t b[18];
    memcpy(b, dev_hs, 18);
    b[0] = 17;
    CHECK_INT(owu_device_desc_check_prefix(b, 18, OWU_SPEED_HIGH, &err), OWU_E_BADDESC);
    CHECK_CONTAINS(err.msg, "bLength 17 (offset 0) is not 18");
    memcpy(b, dev_hs, 18);
    b[1] = 2;
    CHECK_INT(owu_device_desc_parse(b, 18, OWU_SPEED_HIGH, &d, &err), OWU_E_BADDESC);
    CHECK_CONTAINS(err.msg, "bDescriptorType 0x02 (offset 1) is not 0x01");
    memcpy(b, dev_hs, 18);
    b[17] = 0;
    CHECK_INT(owu_device_desc_parse(b, 18, OWU_SPEED_HIGH, &d, &err), OWU_E_BADDESC);
    CHECK_CONTAINS(err.msg, "bNumConfigurations 0 (offset 17) is below 1");
}

static void test_device_ep0_sizes(void)
{
    owu_err err = {0};
    uint8_t b[18];
    static const struct {
        uint16_t bcd;
        uint8_t mps;
        enum owu_speed speed;
        int rc;
    } cases[] = {
        {0x0200, 8, OWU_SPEED_FULL, OWU_OK},
        {0x0110, 16, OWU_SPEED_FULL, OWU_OK},
        {0x0200, 32, OWU_SPEED_UNKNOWN, OWU_OK},
        {0x0110, 8, OWU_SPEED_LOW, OWU_OK},
        {0x0110, 64, OWU_SPEED_LOW, OWU_E_BADDESC},
        {0x0200, 9, OWU_SPEED_UNKNOWN, OWU_E_BADDESC},
        {0x0200, 12, OWU_SPEED_FULL, OWU_E_BADDESC},
        {0x0200, 0, OWU_SPEED_HIGH, OWU_E_BADDESC},
        {0x0200, 128, OWU_SPEED_HIGH, OWU_E_BADDESC},
        {0x0300, 64, OWU_SPEED_UNKNOWN, OWU_E_BADDESC},
        {0x0310, 9, OWU_SPEED_UNKNOWN, OWU_OK},
        {0x0210, 64, OWU_SPEED_SUPER, OWU_E_BADDESC},
        {0x0210, 9, OWU_SPEED_SUPER, OWU_OK}, /* the link speed decides */
        {0x0300, 64, OWU_SPEED_HIGH, OWU_OK}, /* USB 3 device on a USB 2 port */
        {0x0300, 9, OWU_SPEED_HIGH, OWU_E_BADDESC},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(b, dev_hs, 18);
        owu_put_le16(b + 2, cases[i].bcd);
        b[7] = cases[i].mps;
        int rc = owu_device_desc_check_prefix(b, 8, cases[i].speed, &err);
        if (rc != cases[i].rc)
            fprintf(stderr, "case %zu: bcd %04x mps %u speed %d\n", i, cases[i].bcd, cases[i].mps,
                    cases[i].speed);
        CHECK_INT(rc, cases[i].rc);
        if (rc < 0)
            CHECK_CONTAINS(err.msg, "bMaxPacketSize0");
        CHECK_INT(owu_device_desc_parse(b, 18, cases[i].speed, NULL, &err), cases[i].rc);
    }
    memcpy(b, dev_hs, 18);
    b[7] = 64;
    CHECK_INT(owu_device_desc_check_prefix(b, 8, OWU_SPEED_LOW, &err), OWU_E_BADDESC);
    CHECK_CONTAINS(err.msg, "bMaxPacketSize0 64 (offset 7) is not 8");
    owu_put_le16(b + 2, 0x0300);
    CHECK_INT(owu_device_desc_check_prefix(b, 8, OWU_SPEED_UNKNOWN, &err), OWU_E_BADDESC);
    CHECK_CONTAINS(err.msg, "bMaxPacketSize0 64 (offset 7) is not 9 (512 bytes)");
    CHECK_INT(owu_ep0_max_packet(NULL), 0);
}

/* ---- BOS ------------------------------------------------------------------------------ */

static void test_bos_full(void)
{
    struct blob bl;
    struct bos_off o;
    build_bos(&bl, &o);
    owu_err err = {0};
    struct owu_bos *bos = NULL;
    CHECK_OK(owu_bos_parse(bl.b, bl.n, &bos, &err), ep_(&err));
    if (!bos)
        return;
    CHECK_INT(bos->wTotalLength, bl.n);
    CHECK_INT(bos->bNumDeviceCaps, 4);
    CHECK_INT(bos->num_caps, 4);
    CHECK_INT(bos->caps[0].type, OWU_CAP_USB20_EXTENSION);
    CHECK_INT(bos->caps[1].type, OWU_CAP_SUPERSPEED_USB);
    CHECK_INT(bos->caps[2].type, OWU_CAP_CONTAINER_ID);
    CHECK_INT(bos->caps[3].type, OWU_CAP_PLATFORM);
    CHECK_INT(bos->caps[3].offset, o.msos);
    CHECK_INT(bos->caps[3].desc.len, 36);
    CHECK(bos->caps[3].desc.data == bos->raw.data + o.msos);
    CHECK(bos->raw.data != bl.b);
    CHECK(bos->has_usb20_ext);
    CHECK_INT(bos->usb20_ext_bmAttributes, 6);
    CHECK(bos->has_superspeed);
    CHECK(bos->has_container_id);
    CHECK_INT(bos->container_id[0], 0x10);
    CHECK_INT(bos->container_id[15], 0x1F);
    CHECK(!bos->has_billboard);
    CHECK(bos->has_msos20);
    CHECK_INT(bos->num_msos20, 2);
    CHECK_INT(bos->msos20[0].dwWindowsVersion, 0x06030000);
    CHECK_INT(bos->msos20[0].wTotalLength, 0xB2);
    CHECK_INT(bos->msos20[0].bMS_VendorCode, 1);
    CHECK_INT(bos->msos20[1].dwWindowsVersion, 0x0A000000);
    CHECK_INT(bos->msos20[1].bMS_VendorCode, 2);
    CHECK_INT(bos->msos20[1].bAltEnumCode, 0);
    CHECK(owu_bos_msos20_for(bos, 0x0A000000) == &bos->msos20[1]);
    CHECK(owu_bos_msos20_for(bos, 0x0B000000) == &bos->msos20[1]);
    CHECK(owu_bos_msos20_for(bos, 0x06030000) == &bos->msos20[0]);
    CHECK(owu_bos_msos20_for(bos, 0x06040000) == &bos->msos20[0]);
    CHECK(owu_bos_msos20_for(bos, 0x06020000) == NULL);
    CHECK(owu_bos_msos20_for(NULL, 0x0A000000) == NULL);
    CHECK(memcmp(OWU_MSOS20_PLATFORM_UUID, bl.b + o.msos + 4, 16) == 0);
    owu_bos_free(bos);
    owu_bos_free(NULL);
}

static void test_bos_other_caps(void)
{
    owu_err err = {0};
    struct owu_bos *bos = NULL;
    struct blob bl;
    /* Another platform's UUID, a Billboard capability with one alternate mode, an unknown
     * capability type, and an MS OS 2.0 capability with 9 records (8 kept). */
    bl.n = 0;
    ADD(&bl, 0x05, 0x0F, 0, 0, 0x04);
    ADD(&bl, 0x14, 0x10, 0x05, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
    uint8_t billboard[48] = {48, 0x10, 0x0D, 0x00, 1};
    blob_add(&bl, billboard, sizeof billboard);
    ADD(&bl, 0x04, 0x10, 0x77, 0x00);
    size_t ms = ADD(&bl, 20 + 72, 0x10, 0x05, 0x00, MSOS20_UUID_BYTES);
    for (unsigned i = 0; i < 9; i++)
        ADD(&bl, 0x00, 0x00, (uint8_t)(i + 1), 0x06, 0x10, 0x00, (uint8_t)(0x40 + i), 0x00);
    fix_total(&bl);
    CHECK_OK(owu_bos_parse(bl.b, bl.n, &bos, &err), ep_(&err));
    if (bos) {
        CHECK_INT(bos->num_caps, 4);
        CHECK(bos->has_billboard);
        CHECK_INT(bos->caps[2].type, 0x77);
        CHECK(bos->has_msos20);
        CHECK_INT(bos->num_msos20, 8);
        CHECK_INT(bos->msos20[7].bMS_VendorCode, 0x47);
        CHECK(owu_bos_msos20_for(bos, 0x0A000000) == &bos->msos20[7]);
        CHECK(!bos->has_usb20_ext && !bos->has_container_id);
    }
    owu_bos_free(bos);
    bos = NULL;

    /* The same without the MS OS 2.0 capability: not reported as one. */
    bl.b[4] = 3;
    owu_put_le16(bl.b + 2, (uint16_t)ms);
    CHECK_OK(owu_bos_parse(bl.b, ms, &bos, &err), ep_(&err));
    if (bos)
        CHECK(!bos->has_msos20 && bos->num_msos20 == 0);
    owu_bos_free(bos);

    /* Billboard too short for its alternate modes. */
    bl.n = 0;
    ADD(&bl, 0x05, 0x0F, 0, 0, 0x01);
    uint8_t bb44[44] = {44, 0x10, 0x0D, 0x00, 1};
    blob_add(&bl, bb44, sizeof bb44);
    fix_total(&bl);
    expect_bad_bos(&bl, bl.n, "Billboard capability at offset 5: bLength 44 is below the 48 bytes",
                   "bNumberOfAlternateModes 1 (offset 9)");
    bl.b[9] = 0;
    CHECK_OK(owu_bos_parse(bl.b, bl.n, &bos, &err), ep_(&err));
    owu_bos_free(bos);
}

static void test_bos_malformed(void)
{
    struct blob bl;
    struct bos_off o;

    build_bos(&bl, &o);
    bl.b[4] = 5;
    expect_bad_bos(&bl, bl.n, "bNumDeviceCaps 5 (offset 4) but 4 capability descriptors found", NULL);
    build_bos(&bl, &o);
    bl.b[4] = 3;
    expect_bad_bos(&bl, bl.n, "bNumDeviceCaps 3 (offset 4) but 4", NULL);

    build_bos(&bl, &o);
    expect_bad_bos(&bl, 40, fmt("wTotalLength %zu (offset 2) exceeds the 40 bytes received", bl.n),
                   NULL);
    build_bos(&bl, &o);
    owu_put_le16(bl.b + 2, 4);
    expect_bad_bos(&bl, bl.n, "wTotalLength 4 (offset 2) is below 5", NULL);
    build_bos(&bl, &o);
    bl.b[1] = 0x02;
    expect_bad_bos(&bl, bl.n, "header at offset 0: bDescriptorType 0x02 (offset 1) is not 0x0f", NULL);
    build_bos(&bl, &o);
    bl.b[0] = 4;
    expect_bad_bos(&bl, bl.n, "header at offset 0: bLength 4 is below 5", NULL);
    expect_bad_bos(&bl, 1, "only 1 of the 2 header bytes (bLength at offset 0", NULL);
    build_bos(&bl, &o);
    expect_bad_bos(&bl, 4, "header at offset 0: bLength 5 exceeds the 4 bytes received", NULL);

    build_bos(&bl, &o);
    bl.b[o.usb2 + 1] = 0x05;
    expect_bad_bos(&bl, bl.n, "descriptor at offset 5: bDescriptorType 0x05 (offset 6) is not 0x10",
                   NULL);
    build_bos(&bl, &o);
    bl.b[o.ss] = 0;
    expect_bad_bos(&bl, bl.n, fmt("descriptor at offset %zu: bLength 0 is below 2", o.ss), NULL);
    build_bos(&bl, &o);
    bl.b[o.msos] = 0x30;
    expect_bad_bos(&bl, bl.n, fmt("descriptor at offset %zu: bLength 48 runs past the end", o.msos),
                   NULL);

    const uint8_t tiny[] = {0x05, 0x0F, 0x07, 0x00, 0x01, 0x02, 0x10};
    memcpy(bl.b, tiny, sizeof tiny);
    expect_bad_bos(&bl, sizeof tiny, "capability at offset 5: bLength 2 is below 3", NULL);

    /* Known capabilities below their sizes. */
    bl.n = 0;
    ADD(&bl, 0x05, 0x0F, 0, 0, 0x01);
    ADD(&bl, 0x06, 0x10, 0x02, 0x02, 0x00, 0x00);
    fix_total(&bl);
    expect_bad_bos(&bl, bl.n, "USB 2.0 extension capability at offset 5: bLength 6 is below 7", NULL);
    bl.n = 0;
    ADD(&bl, 0x05, 0x0F, 0, 0, 0x01);
    ADD(&bl, 0x09, 0x10, 0x03, 0x00, 0x0E, 0x00, 0x01, 0x0A, 0xFF);
    fix_total(&bl);
    expect_bad_bos(&bl, bl.n, "SuperSpeed USB capability at offset 5: bLength 9 is below 10", NULL);
    bl.n = 0;
    ADD(&bl, 0x05, 0x0F, 0, 0, 0x01);
    ADD(&bl, 0x13, 0x10, 0x04, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    fix_total(&bl);
    expect_bad_bos(&bl, bl.n, "ContainerID capability at offset 5: bLength 19 is below 20", NULL);
    bl.n = 0;
    ADD(&bl, 0x05, 0x0F, 0, 0, 0x01);
    ADD(&bl, 0x10, 0x10, 0x05, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
    fix_total(&bl);
    expect_bad_bos(&bl, bl.n, "platform capability at offset 5: bLength 16 is below 20", NULL);
}

static void test_bos_msos20_bad_length(void)
{
    struct blob bl;
    bl.n = 0;
    ADD(&bl, 0x05, 0x0F, 0, 0, 0x02);
    ADD(&bl, 0x07, 0x10, 0x02, 0x06, 0x00, 0x00, 0x00);
    size_t ms = ADD(&bl, 26, 0x10, 0x05, 0x00, MSOS20_UUID_BYTES, 0x00, 0x00, 0x00, 0x0A, 0x20, 0x00);
    fix_total(&bl);
    expect_bad_bos(&bl, bl.n,
                   fmt("MS OS 2.0 platform capability at offset %zu: bLength 26 is not 20 + 8n", ms),
                   NULL);

    /* No record at all. */
    bl.n = 0;
    ADD(&bl, 0x05, 0x0F, 0, 0, 0x01);
    ADD(&bl, 20, 0x10, 0x05, 0x00, MSOS20_UUID_BYTES);
    fix_total(&bl);
    expect_bad_bos(&bl, bl.n, "MS OS 2.0 platform capability at offset 5: bLength 20 is not 20 + 8n",
                   NULL);
}

/* ---- strings -------------------------------------------------------------------------- */

static void test_string_decode(void)
{
    owu_err err = {0};
    char out[64];
    int n = owu_string_desc_decode(str_mixed, sizeof str_mixed, out, sizeof out, &err);
    CHECK_STR(out, "H\xC3\xA9llo \xE2\x82\xAC\xF0\x9F\x98\x80");
    CHECK_INT(n, (int)strlen(out));

    /* Odd byte count: the last byte is dropped. */
    const uint8_t odd[] = {0x07, 0x03, 'a', 0, 'b', 0, 'c'};
    CHECK_INT(owu_string_desc_decode(odd, sizeof odd, out, sizeof out, &err), 2);
    CHECK_STR(out, "ab");
    /* bLength larger than what was received: what arrived is used. */
    const uint8_t shortrx[] = {0x20, 0x03, 'a', 0, 'b', 0, 'c', 0};
    CHECK_INT(owu_string_desc_decode(shortrx, sizeof shortrx, out, sizeof out, &err), 3);
    CHECK_STR(out, "abc");
    /* Fewer bytes in bLength than received: bLength wins. */
    CHECK_INT(owu_string_desc_decode((const uint8_t[]){0x04, 0x03, 'x', 0, 'y', 0}, 6, out,
                                     sizeof out, &err),
              1);
    CHECK_STR(out, "x");
    /* Empty string and NUL padding. */
    CHECK_INT(owu_string_desc_decode((const uint8_t[]){0x02, 0x03}, 2, out, sizeof out, &err), 0);
    CHECK_STR(out, "");
    CHECK_INT(owu_string_desc_decode((const uint8_t[]){0x08, 0x03, 'o', 0, 0, 0, 'k', 0}, 8, out,
                                     sizeof out, &err),
              1);
    CHECK_STR(out, "o");

    /* Unpaired surrogates. */
    const uint8_t lone_hi[] = {0x06, 0x03, 0x3D, 0xD8, 'a', 0};
    owu_string_desc_decode(lone_hi, sizeof lone_hi, out, sizeof out, &err);
    CHECK_STR(out, "\xEF\xBF\xBD" "a");
    const uint8_t lone_lo[] = {0x06, 0x03, 0x00, 0xDE, 0x3D, 0xD8};
    owu_string_desc_decode(lone_lo, sizeof lone_lo, out, sizeof out, &err);
    CHECK_STR(out, "\xEF\xBF\xBD\xEF\xBF\xBD");

    /* Truncation never splits a UTF-8 sequence and always terminates. */
    const uint8_t euros[] = {0x06, 0x03, 0xAC, 0x20, 0xAC, 0x20};
    char small[5];
    memset(small, 'Z', sizeof small);
    CHECK_INT(owu_string_desc_decode(euros, sizeof euros, small, 5, &err), 3);
    CHECK_STR(small, "\xE2\x82\xAC");
    CHECK_INT(owu_string_desc_decode(euros, sizeof euros, small, 3, &err), 0);
    CHECK_STR(small, "");
    CHECK_INT(owu_string_desc_decode(str_mixed, sizeof str_mixed, small, 1, &err), 0);
    CHECK_STR(small, "");
    CHECK_INT(owu_string_desc_decode(str_mixed, sizeof str_mixed, NULL, 0, &err), 0);
}

static void test_string_malformed(void)
{
    owu_err err = {0};
    char out[16] = "junk";
    CHECK_INT(owu_string_desc_decode((const uint8_t[]){0x00, 0x03, 'a', 0}, 4, out, sizeof out, &err),
              OWU_E_BADDESC);
    CHECK_CONTAINS(err.msg, "string descriptor: bLength 0 (offset 0) is below 2");
    CHECK_INT(owu_string_desc_decode((const uint8_t[]){0x01, 0x03}, 2, out, sizeof out, &err),
              OWU_E_BADDESC);
    CHECK_CONTAINS(err.msg, "bLength 1 (offset 0) is below 2");
    CHECK_INT(owu_string_desc_decode((const uint8_t[]){0x04, 0x02, 'a', 0}, 4, out, sizeof out, &err),
              OWU_E_BADDESC);
    CHECK_CONTAINS(err.msg, "string descriptor: bDescriptorType 0x02 (offset 1) is not 0x03");
    CHECK_INT(owu_string_desc_decode((const uint8_t[]){0x04}, 1, out, sizeof out, &err), OWU_E_BADDESC);
    CHECK_CONTAINS(err.msg, "string descriptor: only 1 of the 2 header bytes (bLength at offset 0");
    CHECK_INT(owu_string_desc_decode(NULL, 0, out, sizeof out, &err), OWU_E_BADDESC);
    CHECK_INT(owu_string_desc_decode(NULL, 0, out, sizeof out, NULL), OWU_E_BADDESC);
    uint16_t w[4];
    CHECK_INT(owu_string_desc_utf16((const uint8_t[]){0x00, 0x03}, 2, w, 4, &err), OWU_E_BADDESC);
    CHECK_INT(owu_langids_parse((const uint8_t[]){0x04, 0x01, 0x09, 0x04}, 4, w, 4, &err),
              OWU_E_BADDESC);
    CHECK_CONTAINS(err.msg, "string descriptor 0 (LANGID list): bDescriptorType 0x01 (offset 1)");
}

static void test_string_utf16_and_langids(void)
{
    owu_err err = {0};
    uint16_t w[16];
    CHECK_INT(owu_string_desc_utf16(str_mixed, sizeof str_mixed, w, 16, &err), 9);
    CHECK_INT(w[0], 'H');
    CHECK_INT(w[1], 0xE9);
    CHECK_INT(w[7], 0xD83D);
    CHECK_INT(w[8], 0xDE00);
    CHECK_INT(w[9], 0);
    /* Truncation that would cut the surrogate pair drops its first half. */
    CHECK_INT(owu_string_desc_utf16(str_mixed, sizeof str_mixed, w, 9, &err), 7);
    CHECK_INT(w[7], 0);
    CHECK_INT(owu_string_desc_utf16(str_mixed, sizeof str_mixed, w, 1, &err), 0);
    CHECK_INT(w[0], 0);
    CHECK_INT(owu_string_desc_utf16(str_mixed, sizeof str_mixed, NULL, 0, &err), 0);

    uint16_t ids[4];
    CHECK_INT(owu_langids_parse(langids_two, sizeof langids_two, ids, 4, &err), 2);
    CHECK_INT(ids[0], 0x0409);
    CHECK_INT(ids[1], 0x0407);
    CHECK_INT(owu_langids_parse(langids_two, sizeof langids_two, ids, 1, &err), 1);
    CHECK_INT(owu_langids_parse(langids_two, sizeof langids_two, NULL, 4, &err), 0);
    CHECK_INT(owu_langids_parse((const uint8_t[]){0x02, 0x03}, 2, ids, 4, &err), 0);
    CHECK_INT(owu_langids_parse((const uint8_t[]){0x05, 0x03, 0x09, 0x04, 0x07}, 5, ids, 4, &err), 1);
    CHECK_INT(owu_langids_parse((const uint8_t[]){0x08, 0x03, 0x09, 0x04}, 4, ids, 4, &err), 1);
}

static void test_string_encode(void)
{
    uint8_t d[256];
    owu_err err = {0};
    char out[300];
    CHECK_INT(owu_string_desc_encode("Hi", d, sizeof d), 6);
    CHECK(memcmp(d, (const uint8_t[]){0x06, 0x03, 'H', 0, 'i', 0}, 6) == 0);
    CHECK_INT(owu_string_desc_encode("", d, sizeof d), 2);
    CHECK_INT(d[0], 2);

    const char *text = "H\xC3\xA9llo \xE2\x82\xAC\xF0\x9F\x98\x80";
    int n = owu_string_desc_encode(text, d, sizeof d);
    CHECK_INT(n, sizeof str_mixed);
    CHECK(n > 0 && memcmp(d, str_mixed, sizeof str_mixed) == 0);
    owu_string_desc_decode(d, (size_t)(n > 0 ? n : 0), out, sizeof out, &err);
    CHECK_STR(out, text);

    /* 126 characters fit (254 bytes); 127 do not (the maximum bLength is 255). */
    char longtext[200];
    memset(longtext, 'x', 126);
    longtext[126] = '\0';
    CHECK_INT(owu_string_desc_encode(longtext, d, sizeof d), 254);
    longtext[126] = 'x';
    longtext[127] = '\0';
    CHECK_INT(owu_string_desc_encode(longtext, d, sizeof d), OWU_E_INVAL);
    CHECK_INT(owu_string_desc_encode("Hi", d, 5), OWU_E_INVAL);
    CHECK_INT(owu_string_desc_encode("Hi", d, 6), 6);
    CHECK_INT(owu_string_desc_encode("Hi", d, 1), OWU_E_INVAL);
    CHECK_INT(owu_string_desc_encode(NULL, d, sizeof d), OWU_E_INVAL);
    CHECK_INT(owu_string_desc_encode("Hi", NULL, 10), OWU_E_INVAL);
    /* Malformed UTF-8: bad continuation, overlong, encoded surrogate, truncated, too big. */
    CHECK_INT(owu_string_desc_encode("\xC3\x28", d, sizeof d), OWU_E_INVAL);
    CHECK_INT(owu_string_desc_encode("\xC0\x80", d, sizeof d), OWU_E_INVAL);
    CHECK_INT(owu_string_desc_encode("\xED\xA0\x80", d, sizeof d), OWU_E_INVAL);
    CHECK_INT(owu_string_desc_encode("a\xE2\x82", d, sizeof d), OWU_E_INVAL);
    CHECK_INT(owu_string_desc_encode("\xF4\x90\x80\x80", d, sizeof d), OWU_E_INVAL);
    CHECK_INT(owu_string_desc_encode("\xFF", d, sizeof d), OWU_E_INVAL);
    /* A supplementary character needs both halves of its pair to fit. */
    CHECK_INT(owu_string_desc_encode("\xF0\x9F\x98\x80", d, 5), OWU_E_INVAL);
    CHECK_INT(owu_string_desc_encode("\xF0\x9F\x98\x80", d, 6), 6);
    CHECK(memcmp(d, (const uint8_t[]){0x06, 0x03, 0x3D, 0xD8, 0x00, 0xDE}, 6) == 0);
}

static void test_speed_names(void)
{
    static const char *names[] = {"unknown", "low", "full", "high", "super", "super-plus"};
    for (int s = OWU_SPEED_UNKNOWN; s <= OWU_SPEED_SUPER_PLUS; s++) {
        CHECK_STR(owu_speed_name((enum owu_speed)s), names[s]);
        CHECK_INT(owu_speed_from_name(names[s]), s);
    }
    CHECK_STR(owu_speed_name((enum owu_speed)42), "unknown");
    CHECK_INT(owu_speed_from_name("HIGH"), OWU_SPEED_HIGH);
    CHECK_INT(owu_speed_from_name("warp"), OWU_SPEED_UNKNOWN);
    CHECK_INT(owu_speed_from_name(""), OWU_SPEED_UNKNOWN);
    CHECK_INT(owu_speed_from_name(NULL), OWU_SPEED_UNKNOWN);
}

/* ---- mutation sweep ------------------------------------------------------------------- */

static unsigned mut_bad; /* problems found by the sweep; reported once per test */

static void mut_report(const char *what, size_t pos, int val, const char *why)
{
    if (mut_bad++ < 10)
        fprintf(stderr, "mutation %s pos %zu val %d: %s\n", what, pos, val, why);
}

static bool span_inside(owu_span s, owu_span raw)
{
    if (s.len == 0)
        return s.data == NULL;
    return s.data >= raw.data && s.len <= raw.len && s.data - raw.data <= (ptrdiff_t)(raw.len - s.len);
}

/* Invariants every accepted configuration tree must satisfy. */
static const char *config_invariants(const struct owu_config *cfg)
{
    unsigned alts = 0;
    if (cfg->num_interfaces != cfg->bNumInterfaces)
        return "interface count";
    if (!span_inside(cfg->extra, cfg->raw))
        return "config extra span";
    for (unsigned i = 0; i < cfg->num_interfaces; i++) {
        const struct owu_interface *intf = &cfg->interfaces[i];
        if (owu_config_find_interface(cfg, intf->number) != intf)
            return "interface lookup / duplicate number";
        if (intf->num_alts == 0)
            return "interface without altsettings";
        for (unsigned a = 0; a < intf->num_alts; a++) {
            const struct owu_altsetting *alt = &intf->alts[a];
            alts++;
            if (alt->bInterfaceNumber != intf->number)
                return "altsetting grouped under the wrong interface";
            if (alt->num_endpoints != alt->bNumEndpoints)
                return "endpoint count";
            if (!span_inside(alt->extra, cfg->raw) || !span_inside(alt->all, cfg->raw))
                return "altsetting span";
            if (alt->all.data != cfg->raw.data + alt->offset)
                return "altsetting all span start";
            uint32_t seen = 0;
            for (unsigned e = 0; e < alt->num_endpoints; e++) {
                const struct owu_endpoint *ep = &alt->endpoints[e];
                unsigned key = (ep->bEndpointAddress & 0x80u) >> 3 | (ep->bEndpointAddress & 0x0Fu);
                if ((ep->bEndpointAddress & 0x0F) == 0 || (seen & (1u << key)))
                    return "endpoint address";
                seen |= 1u << key;
                if (!span_inside(ep->extra, cfg->raw))
                    return "endpoint extra span";
                if (ep->offset + 7 > cfg->raw.len || cfg->raw.data[ep->offset + 1] != OWU_DT_ENDPOINT)
                    return "endpoint offset";
            }
        }
    }
    (void)alts;
    for (unsigned i = 0; i < cfg->num_iads; i++) {
        const struct owu_iad *iad = &cfg->iads[i];
        for (unsigned n = iad->bFirstInterface; n < iad->bFirstInterface + iad->bInterfaceCount; n++) {
            if (n > 255 || !owu_config_find_interface(cfg, (uint8_t)n))
                return "IAD range";
            if (owu_config_iad_for(cfg, (uint8_t)n) != iad)
                return "IAD overlap";
        }
    }
    return NULL;
}

static void mutate_config_one(const uint8_t *b, size_t len, const char *what, size_t pos, int val)
{
    owu_err err;
    memset(&err, 0, sizeof err);
    struct owu_config *cfg = NULL;
    int rc = parse_config_exact(b, len, &cfg, &err);
    if (rc == OWU_OK) {
        const char *why = cfg ? config_invariants(cfg) : "no tree";
        if (why)
            mut_report(what, pos, val, why);
        owu_config_free(cfg);
    } else if (rc != OWU_E_BADDESC) {
        mut_report(what, pos, val, "unexpected status");
    } else if (cfg != NULL || strncmp(err.msg, "configuration: ", 15) != 0 ||
               !strstr(err.msg, "offset")) {
        mut_report(what, pos, val, err.msg);
    }
}

static void mutate_bos_one(const uint8_t *b, size_t len, size_t pos, int val)
{
    owu_err err;
    memset(&err, 0, sizeof err);
    struct owu_bos *bos = NULL;
    int rc = parse_bos_exact(b, len, &bos, &err);
    if (rc == OWU_OK) {
        if (!bos || bos->num_caps != bos->bNumDeviceCaps || bos->num_msos20 > 8 ||
            bos->raw.len != bos->wTotalLength)
            mut_report("bos", pos, val, "invariant");
        for (unsigned i = 0; bos && i < bos->num_caps; i++)
            if (!span_inside(bos->caps[i].desc, bos->raw) || bos->caps[i].desc.len < 3)
                mut_report("bos", pos, val, "cap span");
        if (bos)
            (void)owu_bos_msos20_for(bos, 0x0A000000);
        owu_bos_free(bos);
    } else if (rc != OWU_E_BADDESC || bos != NULL || strncmp(err.msg, "BOS: ", 5) != 0) {
        mut_report("bos", pos, val, err.msg);
    }
}

static void mutate_small_one(const uint8_t *b, size_t len, size_t pos, int val)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return;
    if (len)
        memcpy(copy, b, len);
    owu_err err;
    char out[32];
    uint16_t w[8];
    struct owu_device_desc d;
    for (int s = OWU_SPEED_UNKNOWN; s <= OWU_SPEED_SUPER_PLUS; s++) {
        int rc = owu_device_desc_parse(copy, len, (enum owu_speed)s, &d, &err);
        if (rc != OWU_OK && rc != OWU_E_BADDESC)
            mut_report("device", pos, val, "status");
        if (rc == OWU_OK && (owu_ep0_max_packet(&d) < 8 || d.bNumConfigurations == 0))
            mut_report("device", pos, val, "accepted bad values");
        rc = owu_device_desc_check_prefix(copy, len, (enum owu_speed)s, &err);
        if (rc != OWU_OK && rc != OWU_E_BADDESC)
            mut_report("prefix", pos, val, "status");
    }
    int n = owu_string_desc_decode(copy, len, out, sizeof out, &err);
    if (n != OWU_E_BADDESC && (n < 0 || (size_t)n != strlen(out) || (size_t)n >= sizeof out))
        mut_report("string", pos, val, "length");
    n = owu_string_desc_utf16(copy, len, w, 8, &err);
    if (n != OWU_E_BADDESC && (n < 0 || n >= 8 || w[n] != 0))
        mut_report("utf16", pos, val, "length");
    n = owu_langids_parse(copy, len, w, 8, &err);
    if (n != OWU_E_BADDESC && (n < 0 || n > 8))
        mut_report("langids", pos, val, "count");
    free(copy);
}

enum mut_kind { MUT_CONFIG, MUT_BOS, MUT_SMALL };

/* Every byte through {0, 1, 0xFF, v-1, v+1}, then every truncation; a second sweep pairs the
 * wTotalLength/bLength-style fields at the front with each single mutation. */
static void sweep(enum mut_kind kind, const uint8_t *orig, size_t len, const char *what)
{
    uint8_t *b = malloc(len);
    if (!b)
        return;
    for (size_t pos = 0; pos < len; pos++) {
        int vals[5] = {0, 1, 0xFF, (orig[pos] + 0xFF) & 0xFF, (orig[pos] + 1) & 0xFF};
        for (int v = 0; v < 5; v++) {
            memcpy(b, orig, len);
            b[pos] = (uint8_t)vals[v];
            if (kind == MUT_CONFIG)
                mutate_config_one(b, len, what, pos, vals[v]);
            else if (kind == MUT_BOS)
                mutate_bos_one(b, len, pos, vals[v]);
            else
                mutate_small_one(b, len, pos, vals[v]);
        }
    }
    for (size_t cut = 0; cut <= len; cut++) {
        /* Cut both the buffer and, separately, the declared total length. */
        memcpy(b, orig, len);
        if (kind == MUT_CONFIG) {
            mutate_config_one(b, cut, what, cut, -1);
            if (len >= 4 && cut >= 4) {
                owu_put_le16(b + 2, (uint16_t)cut);
                mutate_config_one(b, cut, what, cut, -2);
            }
        } else if (kind == MUT_BOS) {
            mutate_bos_one(b, cut, cut, -1);
            if (len >= 4 && cut >= 4) {
                owu_put_le16(b + 2, (uint16_t)cut);
                mutate_bos_one(b, cut, cut, -2);
            }
        } else {
            mutate_small_one(b, cut, cut, -1);
        }
    }
    /* Deterministic pseudo-random double and triple mutations. */
    uint32_t x = 0x12345678u ^ (uint32_t)len;
    for (int round = 0; round < 3000; round++) {
        memcpy(b, orig, len);
        int k = 2 + round % 2;
        for (int j = 0; j < k; j++) {
            x = x * 1103515245u + 12345u;
            size_t pos = (x >> 8) % len;
            x = x * 1103515245u + 12345u;
            b[pos] = (uint8_t)(x >> 16);
        }
        if (kind == MUT_CONFIG)
            mutate_config_one(b, len, what, (size_t)round, -3);
        else if (kind == MUT_BOS)
            mutate_bos_one(b, len, (size_t)round, -3);
        else
            mutate_small_one(b, len, (size_t)round, -3);
    }
    free(b);
}

static void test_mutation_configs(void)
{
    struct blob bl;
    mut_bad = 0;
    struct cdc_off c;
    build_cdc(&bl, &c);
    sweep(MUT_CONFIG, bl.b, bl.n, "cdc");
    struct fx2_off f;
    build_fx2(&bl, &f);
    sweep(MUT_CONFIG, bl.b, bl.n, "fx2");
    struct uas_off u;
    build_uas(&bl, &u);
    sweep(MUT_CONFIG, bl.b, bl.n, "uas");
    CHECK_INT(mut_bad, 0);
}

static void test_mutation_bos_and_small(void)
{
    struct blob bl;
    struct bos_off o;
    mut_bad = 0;
    build_bos(&bl, &o);
    sweep(MUT_BOS, bl.b, bl.n, "bos");
    sweep(MUT_SMALL, dev_hs, sizeof dev_hs, "device");
    sweep(MUT_SMALL, dev_ss, sizeof dev_ss, "device");
    sweep(MUT_SMALL, str_mixed, sizeof str_mixed, "string");
    sweep(MUT_SMALL, langids_two, sizeof langids_two, "langids");
    CHECK_INT(mut_bad, 0);
}

/* ---- seed corpus for the fuzzer ------------------------------------------------------- */

static int write_seed(const char *dir, const char *name, uint8_t selector, const uint8_t *b, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return 1;
    }
    fputc(selector, f);
    fwrite(b, 1, n, f);
    return fclose(f) != 0;
}

/* Selectors as in fuzz/fuzz_descriptors.c: low 3 bits pick the parser, bits 3.. the speed. */
static int write_corpus(const char *dir)
{
    struct blob bl;
    int bad = 0;
    struct cdc_off c;
    build_cdc(&bl, &c);
    bad |= write_seed(dir, "config-cdc-acm-iad", 0, bl.b, bl.n);
    bl.b[c.iad + 3] = 4;
    bad |= write_seed(dir, "config-bad-iad-range", 0, bl.b, bl.n);
    build_cdc(&bl, &c);
    bl.b[c.cdc_header] = 0;
    bad |= write_seed(dir, "config-bad-blength-0", 0, bl.b, bl.n);
    build_cdc(&bl, &c);
    bad |= write_seed(dir, "config-bad-total-length", 0, bl.b, 41);
    struct fx2_off f;
    build_fx2(&bl, &f);
    bad |= write_seed(dir, "config-fx2-alternates", 0, bl.b, bl.n);
    struct uas_off u;
    build_uas(&bl, &u);
    bad |= write_seed(dir, "config-uas-companions", 0, bl.b, bl.n);
    struct bos_off o;
    build_bos(&bl, &o);
    bad |= write_seed(dir, "bos-usb2-ss-cid-msos20", 1, bl.b, bl.n);
    bl.b[o.msos] = 26;
    bad |= write_seed(dir, "bos-bad-msos20-length", 1, bl.b, bl.n);
    bad |= write_seed(dir, "device-high-speed", 2 | OWU_SPEED_HIGH << 3, dev_hs, sizeof dev_hs);
    bad |= write_seed(dir, "device-super-speed", 2 | OWU_SPEED_SUPER << 3, dev_ss, sizeof dev_ss);
    bad |= write_seed(dir, "device-bad-ep0-low-speed", 2 | OWU_SPEED_LOW << 3, dev_hs, sizeof dev_hs);
    bad |= write_seed(dir, "string-mixed-utf16", 3, str_mixed, sizeof str_mixed);
    bad |= write_seed(dir, "string-odd-short", 3, (const uint8_t[]){0x20, 0x03, 'a', 0, 'b'}, 5);
    bad |= write_seed(dir, "langids-two", 4, langids_two, sizeof langids_two);
    bad |= write_seed(dir, "encode-utf8", 5, (const uint8_t *)"Gr\xC3\xBC\xC3\x9F" "e \xF0\x9F\x98\x80", 11);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0)
        return write_corpus(argv[2]);

    RUN(test_iter_walks_and_stops);
    RUN(test_iter_bad_lengths);
    RUN(test_config_cdc_composite);
    RUN(test_config_fx2_alternates);
    RUN(test_config_uas_companions);
    RUN(test_config_tolerated_quirks);
    RUN(test_config_bad_blength);
    RUN(test_config_bad_total_length);
    RUN(test_config_bad_types);
    RUN(test_config_bad_endpoints);
    RUN(test_config_bad_interfaces);
    RUN(test_config_bad_iads);
    RUN(test_device_desc);
    RUN(test_device_ep0_sizes);
    RUN(test_bos_full);
    RUN(test_bos_other_caps);
    RUN(test_bos_malformed);
    RUN(test_bos_msos20_bad_length);
    RUN(test_string_decode);
    RUN(test_string_malformed);
    RUN(test_string_utf16_and_langids);
    RUN(test_string_encode);
    RUN(test_speed_names);
    RUN(test_mutation_configs);
    RUN(test_mutation_bos_and_small);
    return check_report();
}
