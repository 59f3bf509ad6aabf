/* Microsoft OS descriptors: MS OS 1.0 feature descriptors, the MS OS 2.0 descriptor set,
 * and which of their compatible IDs and registry properties apply to a device or to one of
 * its functions. Layouts: winusb-api.md §8; rules: pnp-ids.md §1.8 and docs/pnp-ids.md. */
#include "core/utf.h"
#include "pnp/msos.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------------- */

void owu_msos_props_free(struct owu_msos_props *p)
{
    if (!p)
        return;
    for (unsigned i = 0; i < p->n; i++) {
        free(p->v[i].name);
        free(p->v[i].data);
    }
    free(p->v);
    p->v = NULL;
    p->n = 0;
}

/* Takes ownership of *prop's buffers (also on failure). */
static int props_push(struct owu_msos_props *p, struct owu_property *prop)
{
    struct owu_property *v = realloc(p->v, (p->n + 1) * sizeof *v);
    if (!v) {
        free(prop->name);
        free(prop->data);
        return OWU_E_NOMEM;
    }
    p->v = v;
    p->v[p->n++] = *prop;
    return OWU_OK;
}

/* Converts n UTF-16LE code units to UTF-8 (unpaired surrogates become U+FFFD). out must
 * hold 3 * n bytes; returns the bytes written (no terminator). */
static size_t utf16_to_utf8(const uint8_t *p, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0, used; i < n; i += used)
        o += owu_utf8_put(owu_utf16_next(p, n, i, false, &used), out + o);
    return o;
}

/* Code units before the first NUL unit (or all of them). */
static size_t utf16_strlen(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n && owu_le16(p + 2 * i) != 0)
        i++;
    return i;
}

static const char *reg_type_name(uint32_t type)
{
    switch (type) {
    case OWU_REG_SZ: return "REG_SZ";
    case OWU_REG_EXPAND_SZ: return "REG_EXPAND_SZ";
    case OWU_REG_BINARY: return "REG_BINARY";
    case OWU_REG_DWORD: return "REG_DWORD";
    case OWU_REG_DWORD_BIG_ENDIAN: return "REG_DWORD_BIG_ENDIAN";
    case OWU_REG_LINK: return "REG_LINK";
    case OWU_REG_MULTI_SZ: return "REG_MULTI_SZ";
    default: return "?";
    }
}

/* Builds a property from the descriptor's UTF-16LE name and raw data. ctx names the
 * property ("MS OS 2.0 descriptor set: registry property at offset 18"). Strings become
 * UTF-8 with their terminator counted in len; MULTI_SZ becomes "a\0b\0\0"; DWORD (either
 * byte order) must be 4 bytes and is kept as sent; BINARY is kept as sent. */
static int make_property(uint32_t type, const uint8_t *name, size_t name_len, const uint8_t *data,
                         size_t data_len, struct owu_property *out, const char *ctx, owu_err *err)
{
    memset(out, 0, sizeof *out);
    if (type < OWU_REG_SZ || type > OWU_REG_MULTI_SZ)
        return owu_fail(err, OWU_E_BADDESC, "%s: property data type %u is not one of 1..7",
                        ctx, (unsigned)type);
    if (name_len % 2 != 0)
        return owu_fail(err, OWU_E_BADDESC, "%s: property name length %zu is odd (UTF-16LE)",
                        ctx, name_len);
    size_t name_units = utf16_strlen(name, name_len / 2);
    if (name_units == 0)
        return owu_fail(err, OWU_E_BADDESC, "%s: property name is empty", ctx);

    bool is_string = type == OWU_REG_SZ || type == OWU_REG_EXPAND_SZ || type == OWU_REG_LINK ||
                     type == OWU_REG_MULTI_SZ;
    if (is_string && data_len % 2 != 0)
        return owu_fail(err, OWU_E_BADDESC,
                        "%s: %s data length %zu is odd (UTF-16LE)", ctx, reg_type_name(type), data_len);
    if ((type == OWU_REG_DWORD || type == OWU_REG_DWORD_BIG_ENDIAN) && data_len != 4)
        return owu_fail(err, OWU_E_BADDESC, "%s: %s data length %zu is not 4", ctx,
                        reg_type_name(type), data_len);

    out->type = type;
    out->name = malloc(3 * name_units + 1);
    if (!out->name)
        return OWU_E_NOMEM;
    out->name[utf16_to_utf8(name, name_units, out->name)] = '\0';

    size_t units = data_len / 2;
    if (type == OWU_REG_MULTI_SZ) {
        /* Worst case: every unit a 3-byte character, plus one terminator per string and
         * the final extra NUL. */
        out->data = malloc(4 * units + 2);
        if (!out->data)
            goto nomem;
        size_t o = 0, i = 0;
        while (i < units) {
            size_t n = utf16_strlen(data + 2 * i, units - i);
            if (n == 0)
                break;   /* the empty string that ends the list */
            o += utf16_to_utf8(data + 2 * i, n, (char *)out->data + o);
            out->data[o++] = '\0';
            i += n + 1;
        }
        out->data[o++] = '\0';
        out->len = o;
    } else if (is_string) {
        size_t n = utf16_strlen(data, units);
        out->data = malloc(3 * n + 1);
        if (!out->data)
            goto nomem;
        size_t o = utf16_to_utf8(data, n, (char *)out->data);
        out->data[o++] = '\0';
        out->len = o;
    } else {
        out->data = malloc(data_len ? data_len : 1);
        if (!out->data)
            goto nomem;
        if (data_len)
            memcpy(out->data, data, data_len);
        out->len = data_len;
    }
    return OWU_OK;

nomem:
    free(out->name);
    out->name = NULL;
    return OWU_E_NOMEM;
}

/* An 8-byte compatible or sub-compatible ID: A-Z, 0-9, '_', then NUL padding. */
static int check_id(const uint8_t *id, char out[9], const char *ctx, const char *field, size_t off,
                    owu_err *err)
{
    size_t n = 0;
    while (n < 8 && id[n] != 0) {
        uint8_t c = id[n];
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return owu_fail(err, OWU_E_BADDESC,
                            "%s: %s byte %zu (offset %zu) is 0x%02X; allowed are A-Z, 0-9 and '_' "
                            "followed by NUL padding", ctx, field, n, off + n, c);
        out[n] = (char)c;
        n++;
    }
    out[n] = '\0';
    for (size_t i = n; i < 8; i++)
        if (id[i] != 0)
            return owu_fail(err, OWU_E_BADDESC,
                            "%s: %s byte %zu (offset %zu) is 0x%02X after the NUL padding began",
                            ctx, field, i, off + i, id[i]);
    return OWU_OK;
}

/* ---- MS OS 1.0 ------------------------------------------------------------------------ */

static const char MSOS1_COMPAT[] = "MS OS 1.0 extended compat ID descriptor";
static const char MSOS1_PROPS[] = "MS OS 1.0 extended properties descriptor";
static const char MSOS1_CONTAINER[] = "MS OS 1.0 ContainerID descriptor";

/* The common 1.0 header: dwLength, bcdVersion 0x0100, wIndex. Returns dwLength. */
static int msos1_header(const uint8_t *buf, size_t len, size_t header_size, uint16_t windex,
                        const char *what, uint32_t *total, owu_err *err)
{
    if (!buf || len < header_size)
        return owu_fail(err, OWU_E_BADDESC, "%s: %zu bytes received, the header needs %zu", what,
                        buf ? len : 0, header_size);
    uint32_t dw_length = owu_le32(buf);
    if (dw_length < header_size)
        return owu_fail(err, OWU_E_BADDESC, "%s: dwLength %u at offset 0 is below the %zu-byte header",
                        what, (unsigned)dw_length, header_size);
    if (dw_length > len)
        return owu_fail(err, OWU_E_BADDESC, "%s: dwLength %u at offset 0 exceeds the %zu bytes received",
                        what, (unsigned)dw_length, len);
    if (owu_le16(buf + 4) != 0x0100)
        return owu_fail(err, OWU_E_BADDESC, "%s: bcdVersion 0x%04X at offset 4 is not 0x0100", what,
                        owu_le16(buf + 4));
    if (owu_le16(buf + 6) != windex)
        return owu_fail(err, OWU_E_BADDESC, "%s: wIndex %u at offset 6 is not %u", what,
                        owu_le16(buf + 6), windex);
    *total = dw_length;
    return OWU_OK;
}

int owu_msos1_compat_parse(const uint8_t *buf, size_t len, struct owu_msos1_compat *out, owu_err *err)
{
    if (!out)
        return owu_fail(err, OWU_E_INVAL, "%s: no output", MSOS1_COMPAT);
    memset(out, 0, sizeof *out);
    uint32_t total;
    int rc = msos1_header(buf, len, 16, 4, MSOS1_COMPAT, &total, err);
    if (rc < 0)
        return rc;
    unsigned count = buf[8];
    if (total != 16 + 24u * count)
        return owu_fail(err, OWU_E_BADDESC,
                        "%s: dwLength %u does not match 16 + 24 x bCount %u = %u", MSOS1_COMPAT,
                        (unsigned)total, count, 16 + 24 * count);
    if (count == 0)
        return OWU_OK;
    out->functions = calloc(count, sizeof *out->functions);
    if (!out->functions)
        return OWU_E_NOMEM;
    for (unsigned i = 0; i < count; i++) {
        size_t off = 16 + 24 * (size_t)i;
        struct owu_msos_compat_id *f = &out->functions[i];
        char ctx[96];
        snprintf(ctx, sizeof ctx, "%s: function %u at offset %zu", MSOS1_COMPAT, i, off);
        f->first_interface = buf[off];
        if ((rc = check_id(buf + off + 2, f->compat, ctx, "compatibleID", off + 2, err)) < 0 ||
            (rc = check_id(buf + off + 10, f->subcompat, ctx, "subCompatibleID", off + 10, err)) < 0) {
            owu_msos1_compat_free(out);
            return rc;
        }
        out->num_functions = i + 1;
    }
    return OWU_OK;
}

void owu_msos1_compat_free(struct owu_msos1_compat *c)
{
    if (!c)
        return;
    free(c->functions);
    c->functions = NULL;
    c->num_functions = 0;
}

const struct owu_msos_compat_id *owu_msos1_compat_for(const struct owu_msos1_compat *c,
                                                      uint8_t first_interface)
{
    for (unsigned i = 0; c && i < c->num_functions; i++)
        if (c->functions[i].first_interface == first_interface)
            return &c->functions[i];
    return NULL;
}

int owu_msos1_props_parse(const uint8_t *buf, size_t len, struct owu_msos_props *out, owu_err *err)
{
    if (!out)
        return owu_fail(err, OWU_E_INVAL, "%s: no output", MSOS1_PROPS);
    memset(out, 0, sizeof *out);
    uint32_t total;
    int rc = msos1_header(buf, len, 10, 5, MSOS1_PROPS, &total, err);
    if (rc < 0)
        return rc;
    unsigned count = owu_le16(buf + 8);
    size_t pos = 10;
    for (unsigned i = 0; i < count; i++) {
        char ctx[96];
        snprintf(ctx, sizeof ctx, "%s: property %u at offset %zu", MSOS1_PROPS, i, pos);
        if (total - pos < 14) {
            rc = owu_fail(err, OWU_E_BADDESC,
                          "%s: %zu bytes left before dwLength %u, a property section needs at least 14 "
                          "(wCount %u)", ctx, total - pos, (unsigned)total, count);
            goto fail;
        }
        const uint8_t *p = buf + pos;
        uint32_t size = owu_le32(p), type = owu_le32(p + 4);
        size_t name_len = owu_le16(p + 8);
        if (size < 14 || size > total - pos) {
            rc = owu_fail(err, OWU_E_BADDESC,
                          "%s: dwSize %u is outside 14..%zu (the bytes left before dwLength %u)", ctx,
                          (unsigned)size, total - pos, (unsigned)total);
            goto fail;
        }
        if (name_len > size - 14) {
            rc = owu_fail(err, OWU_E_BADDESC,
                          "%s: wPropertyNameLength %zu does not fit in dwSize %u", ctx, name_len,
                          (unsigned)size);
            goto fail;
        }
        uint32_t data_len = owu_le32(p + 10 + name_len);
        if (data_len != size - 14 - name_len) {
            rc = owu_fail(err, OWU_E_BADDESC,
                          "%s: dwPropertyDataLength %u (offset %zu) does not match dwSize %u - 14 - "
                          "wPropertyNameLength %zu", ctx, (unsigned)data_len, pos + 10 + name_len,
                          (unsigned)size, name_len);
            goto fail;
        }
        struct owu_property prop;
        rc = make_property(type, p + 10, name_len, p + 14 + name_len, data_len, &prop, ctx, err);
        if (rc < 0 || (rc = props_push(out, &prop)) < 0)
            goto fail;
        pos += size;
    }
    if (pos != total) {
        rc = owu_fail(err, OWU_E_BADDESC, "%s: %zu bytes at offset %zu follow the last of wCount %u "
                      "properties within dwLength %u", MSOS1_PROPS, total - pos, pos, count,
                      (unsigned)total);
        goto fail;
    }
    return OWU_OK;

fail:
    owu_msos_props_free(out);
    return rc;
}

int owu_msos1_container_parse(const uint8_t *buf, size_t len, uint8_t guid[16], owu_err *err)
{
    uint32_t total;
    int rc = msos1_header(buf, len, 24, 6, MSOS1_CONTAINER, &total, err);
    if (rc < 0)
        return rc;
    if (total != 24)
        return owu_fail(err, OWU_E_BADDESC, "%s: dwLength %u at offset 0 is not 24", MSOS1_CONTAINER,
                        (unsigned)total);
    memcpy(guid, buf + 8, 16);
    return OWU_OK;
}

/* ---- MS OS 2.0 ------------------------------------------------------------------------ */

static const char MSOS20[] = "MS OS 2.0 descriptor set";

static void scope_free(struct owu_msos20_scope *s)
{
    owu_msos_props_free(&s->props);
}

void owu_msos20_free(struct owu_msos20_set *s)
{
    if (!s)
        return;
    scope_free(&s->device);
    for (unsigned i = 0; i < s->num_configs; i++) {
        struct owu_msos20_config *c = &s->configs[i];
        scope_free(&c->features);
        for (unsigned j = 0; j < c->num_functions; j++)
            scope_free(&c->functions[j].features);
        free(c->functions);
    }
    free(s->configs);
    memset(s, 0, sizeof *s);
}

static const char *scope_name(int level)
{
    return level == 0 ? "descriptor set" : level == 1 ? "configuration subset" : "function subset";
}

/* One feature descriptor d[0..wlen) at offset off, inside a scope of the given level
 * (0 = top, 1 = configuration subset, 2 = function subset). */
static int msos20_feature(struct owu_msos20_set *s, struct owu_msos20_scope *scope, int level,
                          const uint8_t *d, size_t wlen, uint16_t type, size_t off, owu_err *err)
{
    static const struct { uint16_t type; size_t len; const char *name; } fixed[] = {
        { OWU_MSOS20_FEATURE_COMPATIBLE_ID, 20, "compatible ID" },
        { OWU_MSOS20_FEATURE_MIN_RESUME_TIME, 6, "minimum resume time" },
        { OWU_MSOS20_FEATURE_MODEL_ID, 20, "model ID" },
        { OWU_MSOS20_FEATURE_CCGP_DEVICE, 4, "CCGP device" },
        { OWU_MSOS20_FEATURE_VENDOR_REVISION, 6, "vendor revision" },
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (fixed[i].type == type && wlen != fixed[i].len)
            return owu_fail(err, OWU_E_BADDESC, "%s: %s descriptor at offset %zu: wLength %zu is not %zu",
                            MSOS20, fixed[i].name, off, wlen, fixed[i].len);

    char ctx[96];
    switch (type) {
    case OWU_MSOS20_FEATURE_COMPATIBLE_ID: {
        struct owu_msos_compat_id id = { 0 };
        int rc;
        snprintf(ctx, sizeof ctx, "%s: compatible ID descriptor at offset %zu", MSOS20, off);
        if ((rc = check_id(d + 4, id.compat, ctx, "CompatibleID", off + 4, err)) < 0 ||
            (rc = check_id(d + 12, id.subcompat, ctx, "SubCompatibleID", off + 12, err)) < 0)
            return rc;
        if (!scope->has_compat) {
            id.first_interface = scope->compat.first_interface;
            scope->compat = id;
            scope->has_compat = true;
        }
        return OWU_OK;
    }
    case OWU_MSOS20_FEATURE_REG_PROPERTY: {
        snprintf(ctx, sizeof ctx, "%s: registry property descriptor at offset %zu", MSOS20, off);
        if (wlen < 10)
            return owu_fail(err, OWU_E_BADDESC, "%s: wLength %zu is below 10", ctx, wlen);
        uint16_t data_type = owu_le16(d + 4);
        size_t name_len = owu_le16(d + 6);
        if (name_len > wlen - 10)
            return owu_fail(err, OWU_E_BADDESC,
                            "%s: wPropertyNameLength %zu does not fit in wLength %zu", ctx, name_len, wlen);
        size_t data_len = owu_le16(d + 8 + name_len);
        if (data_len != wlen - 10 - name_len)
            return owu_fail(err, OWU_E_BADDESC,
                            "%s: wPropertyDataLength %zu (offset %zu) does not match wLength %zu - 10 - "
                            "wPropertyNameLength %zu", ctx, data_len, off + 8 + name_len, wlen, name_len);
        struct owu_property prop;
        int rc = make_property(data_type, d + 8, name_len, d + 10 + name_len, data_len, &prop, ctx, err);
        if (rc < 0)
            return rc;
        return props_push(&scope->props, &prop);
    }
    case OWU_MSOS20_FEATURE_MIN_RESUME_TIME:
        if (level == 0) {
            s->has_min_resume_time = true;
            s->resume_recovery_ms = d[4];
            s->resume_signaling_ms = d[5];
        }
        return OWU_OK;
    case OWU_MSOS20_FEATURE_MODEL_ID:
        if (level == 0) {
            s->has_model_id = true;
            memcpy(s->model_id, d + 4, 16);
        }
        return OWU_OK;
    case OWU_MSOS20_FEATURE_CCGP_DEVICE:
        if (level == 0)
            s->ccgp = true;
        return OWU_OK;
    case OWU_MSOS20_FEATURE_VENDOR_REVISION:
        if (level == 0) {
            s->has_vendor_revision = true;
            s->vendor_revision = owu_le16(d + 4);
        }
        return OWU_OK;
    default:
        /* Unknown (future) descriptor types are skipped by their wLength. */
        return OWU_OK;
    }
}

int owu_msos20_parse(const uint8_t *buf, size_t len, struct owu_msos20_set *out, owu_err *err)
{
    if (!out)
        return owu_fail(err, OWU_E_INVAL, "%s: no output", MSOS20);
    memset(out, 0, sizeof *out);
    if (!buf || len < 10)
        return owu_fail(err, OWU_E_BADDESC, "%s: %zu bytes received, the set header needs 10", MSOS20,
                        buf ? len : 0);
    if (owu_le16(buf) != 10)
        return owu_fail(err, OWU_E_BADDESC, "%s: set header wLength %u at offset 0 is not 10", MSOS20,
                        owu_le16(buf));
    if (owu_le16(buf + 2) != OWU_MSOS20_SET_HEADER)
        return owu_fail(err, OWU_E_BADDESC, "%s: wDescriptorType %u at offset 2 is not 0 (set header)",
                        MSOS20, owu_le16(buf + 2));
    out->windows_version = owu_le32(buf + 4);
    size_t total = owu_le16(buf + 8);
    if (total < 10)
        return owu_fail(err, OWU_E_BADDESC, "%s: set header wTotalLength %zu at offset 8 is below 10",
                        MSOS20, total);
    if (total > len)
        return owu_fail(err, OWU_E_BADDESC,
                        "%s: set header wTotalLength %zu at offset 8 exceeds the %zu bytes received",
                        MSOS20, total, len);
    out->total_length = (uint16_t)total;

    int rc = OWU_OK;
    size_t pos = 10;
    /* Open scopes: a configuration subset (index into configs) and a function subset in it. */
    bool in_config = false, in_function = false;
    size_t config_end = 0, function_end = 0;
    while (pos < total) {
        if (in_function && pos >= function_end)
            in_function = false;
        if (in_config && pos >= config_end)
            in_config = in_function = false;
        size_t limit = in_function ? function_end : in_config ? config_end : total;
        int level = in_function ? 2 : in_config ? 1 : 0;
        if (limit - pos < 4) {
            rc = owu_fail(err, OWU_E_BADDESC,
                          "%s: %zu bytes at offset %zu before the end of the %s at %zu are too few "
                          "for a descriptor header", MSOS20, limit - pos, pos, scope_name(level), limit);
            goto fail;
        }
        const uint8_t *d = buf + pos;
        size_t wlen = owu_le16(d);
        uint16_t type = owu_le16(d + 2);
        if (wlen < 4) {
            rc = owu_fail(err, OWU_E_BADDESC, "%s: descriptor at offset %zu: wLength %zu is below 4",
                          MSOS20, pos, wlen);
            goto fail;
        }
        if (wlen > limit - pos) {
            rc = owu_fail(err, OWU_E_BADDESC,
                          "%s: descriptor type %u at offset %zu: wLength %zu runs past the end of the "
                          "%s at %zu", MSOS20, type, pos, wlen, scope_name(level), limit);
            goto fail;
        }
        switch (type) {
        case OWU_MSOS20_SET_HEADER:
            rc = owu_fail(err, OWU_E_BADDESC, "%s: second set header at offset %zu", MSOS20, pos);
            goto fail;
        case OWU_MSOS20_SUBSET_CONFIGURATION: {
            if (in_config) {
                rc = owu_fail(err, OWU_E_BADDESC,
                              "%s: configuration subset header at offset %zu inside the %s that ends at %zu",
                              MSOS20, pos, scope_name(level), limit);
                goto fail;
            }
            if (wlen != 8) {
                rc = owu_fail(err, OWU_E_BADDESC,
                              "%s: configuration subset header at offset %zu: wLength %zu is not 8",
                              MSOS20, pos, wlen);
                goto fail;
            }
            size_t sub = owu_le16(d + 6);
            if (sub < 8 || sub > total - pos) {
                rc = owu_fail(err, OWU_E_BADDESC,
                              "%s: configuration subset header at offset %zu: wTotalLength %zu is outside "
                              "8..%zu (the bytes left in the set)", MSOS20, pos, sub, total - pos);
                goto fail;
            }
            struct owu_msos20_config *v = realloc(out->configs, (out->num_configs + 1) * sizeof *v);
            if (!v) {
                rc = OWU_E_NOMEM;
                goto fail;
            }
            out->configs = v;
            struct owu_msos20_config *c = &out->configs[out->num_configs++];
            memset(c, 0, sizeof *c);
            c->config_index = d[4];
            c->features.offset = pos;
            in_config = true;
            config_end = pos + sub;
            pos += 8;
            continue;
        }
        case OWU_MSOS20_SUBSET_FUNCTION: {
            if (!in_config || in_function) {
                rc = owu_fail(err, OWU_E_BADDESC,
                              "%s: function subset header at offset %zu is %s", MSOS20, pos,
                              in_function ? "inside another function subset"
                                          : "not inside a configuration subset");
                goto fail;
            }
            if (wlen != 8) {
                rc = owu_fail(err, OWU_E_BADDESC,
                              "%s: function subset header at offset %zu: wLength %zu is not 8", MSOS20,
                              pos, wlen);
                goto fail;
            }
            size_t sub = owu_le16(d + 6);
            if (sub < 8 || sub > config_end - pos) {
                rc = owu_fail(err, OWU_E_BADDESC,
                              "%s: function subset header at offset %zu: wSubsetLength %zu is outside "
                              "8..%zu (the bytes left in its configuration subset)", MSOS20, pos, sub,
                              config_end - pos);
                goto fail;
            }
            struct owu_msos20_config *c = &out->configs[out->num_configs - 1];
            struct owu_msos20_function *v = realloc(c->functions, (c->num_functions + 1) * sizeof *v);
            if (!v) {
                rc = OWU_E_NOMEM;
                goto fail;
            }
            c->functions = v;
            struct owu_msos20_function *f = &c->functions[c->num_functions++];
            memset(f, 0, sizeof *f);
            f->first_interface = d[4];
            f->features.offset = pos;
            f->features.compat.first_interface = d[4];
            in_function = true;
            function_end = pos + sub;
            pos += 8;
            continue;
        }
        default: {
            struct owu_msos20_scope *scope = &out->device;
            if (in_config) {
                struct owu_msos20_config *c = &out->configs[out->num_configs - 1];
                scope = in_function ? &c->functions[c->num_functions - 1].features : &c->features;
            }
            rc = msos20_feature(out, scope, level, d, wlen, type, pos, err);
            if (rc < 0)
                goto fail;
            pos += wlen;
        }
        }
    }
    return OWU_OK;

fail:
    owu_msos20_free(out);
    return rc;
}

const struct owu_msos20_function *owu_msos20_function_for(const struct owu_msos20_set *s,
                                                          uint8_t config_index,
                                                          uint8_t first_interface)
{
    for (unsigned i = 0; s && i < s->num_configs; i++) {
        const struct owu_msos20_config *c = &s->configs[i];
        if (c->config_index != config_index)
            continue;
        for (unsigned j = 0; j < c->num_functions; j++)
            if (c->functions[j].first_interface == first_interface)
                return &c->functions[j];
    }
    return NULL;
}

/* ---- what applies to one device ----------------------------------------------------- */

static void note_error(struct owu_msos *m, const char *msg)
{
    if (!m->error[0])
        snprintf(m->error, sizeof m->error, "%s", msg);
}

int owu_msos_load(struct owu_msos *m, const struct owu_devinfo *info, uint16_t bcd_usb,
                  const struct owu_bos *bos)
{
    memset(m, 0, sizeof *m);
    if (!info)
        return OWU_OK;
    owu_err e = { 0 };
    int rc;

    m->v2 = (bos && bos->has_msos20) || info->msos20;
    if (info->msos20) {
        rc = owu_msos20_parse(info->msos20, info->msos20_len, &m->set2, &e);
        if (rc == OWU_E_NOMEM)
            return rc;
        if (rc < 0)
            note_error(m, e.msg);
        else
            m->has_set2 = true;
    } else if (m->v2) {
        note_error(m, "MS OS 2.0 platform capability present, but no descriptor set was read");
    }

    /* The hub skips MS OS 1.0 for USB 1.x devices and whenever MS OS 2.0 is offered. */
    bool usb1x = bcd_usb >= 0x0100 && bcd_usb <= 0x01FF;
    m->v1 = !m->v2 && info->msos1.present && !usb1x;
    if (m->v1 && info->msos1.compat_id) {
        rc = owu_msos1_compat_parse(info->msos1.compat_id, info->msos1.compat_id_len, &m->compat1, &e);
        if (rc == OWU_E_NOMEM)
            return rc;
        if (rc < 0)
            note_error(m, e.msg);
        else
            m->has_compat1 = true;
    }

    if (bos && bos->has_container_id) {
        memcpy(m->container, bos->container_id, 16);
        m->has_container = true;
    } else if (m->v1 && info->msos1.container_id) {
        rc = owu_msos1_container_parse(info->msos1.container_id, info->msos1.container_id_len,
                                       m->container, &e);
        if (rc < 0)
            note_error(m, e.msg);
        else
            m->has_container = true;
    }
    return OWU_OK;
}

void owu_msos_free(struct owu_msos *m)
{
    if (!m)
        return;
    owu_msos1_compat_free(&m->compat1);
    owu_msos20_free(&m->set2);
    m->has_compat1 = m->has_set2 = false;
}

bool owu_msos_device_compat(const struct owu_msos *m, struct owu_msos_compat_id *out)
{
    const struct owu_msos_compat_id *id = NULL;
    if (m->has_set2 && m->set2.device.has_compat)
        id = &m->set2.device.compat;
    else if (m->has_compat1)
        id = owu_msos1_compat_for(&m->compat1, 0);
    if (!id)
        return false;
    *out = *id;
    return true;
}

bool owu_msos_function_compat(const struct owu_msos *m, uint8_t first_interface,
                              struct owu_msos_compat_id *out)
{
    const struct owu_msos_compat_id *id = NULL;
    if (m->has_set2) {
        /* The subset's bConfigurationValue is used as an index: 0 = the first
         * configuration, the only one a composite device has. */
        const struct owu_msos20_function *f = owu_msos20_function_for(&m->set2, 0, first_interface);
        if (f && f->features.has_compat)
            id = &f->features.compat;
    } else if (m->has_compat1) {
        id = owu_msos1_compat_for(&m->compat1, first_interface);
    }
    if (!id)
        return false;
    *out = *id;
    return true;
}

bool owu_msos_ccgp(const struct owu_msos *m)
{
    return m->has_set2 && m->set2.ccgp;
}

static int apply_props(const struct owu_msos_props *p, struct owu_devnode *node)
{
    for (unsigned i = 0; i < p->n; i++) {
        int rc = owu_devnode_add_property(node, p->v[i].name, p->v[i].type, p->v[i].data, p->v[i].len);
        if (rc < 0)
            return rc;
    }
    return OWU_OK;
}

static int apply_msos1_props(struct owu_msos *m, const struct owu_devinfo *info, uint8_t interface,
                             struct owu_devnode *node)
{
    if (!m->v1)
        return OWU_OK;
    for (unsigned i = 0; i < info->msos1.num_props; i++) {
        const struct owu_msos1_props *src = &info->msos1.props[i];
        if (src->interface != interface)
            continue;
        struct owu_msos_props props;
        owu_err e = { 0 };
        int rc = owu_msos1_props_parse(src->data, src->len, &props, &e);
        if (rc == OWU_E_NOMEM)
            return rc;
        if (rc < 0) {
            char msg[sizeof m->error];
            snprintf(msg, sizeof msg, "interface %u: %.300s", interface, e.msg);
            note_error(m, msg);
            continue;
        }
        rc = apply_props(&props, node);
        owu_msos_props_free(&props);
        if (rc < 0)
            return rc;
    }
    return OWU_OK;
}

int owu_msos_device_properties(struct owu_msos *m, const struct owu_devinfo *info, bool composite,
                               struct owu_devnode *node)
{
    if (!composite) {
        int rc = apply_msos1_props(m, info, 0, node);
        if (rc < 0)
            return rc;
    }
    return m->has_set2 ? apply_props(&m->set2.device.props, node) : OWU_OK;
}

int owu_msos_function_properties(struct owu_msos *m, const struct owu_devinfo *info,
                                 uint8_t first_interface, struct owu_devnode *node)
{
    int rc = apply_msos1_props(m, info, first_interface, node);
    if (rc < 0)
        return rc;
    if (m->has_set2) {
        const struct owu_msos20_function *f = owu_msos20_function_for(&m->set2, 0, first_interface);
        if (f)
            return apply_props(&f->features.props, node);
    }
    return OWU_OK;
}
