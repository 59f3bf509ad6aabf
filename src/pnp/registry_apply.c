/* Device Parameters from their two sources — INF .HW AddReg lines and MS OS descriptor
 * properties — and the install-time rule that orders them (docs/registry.md "Where values
 * come from"). */
#include <openwinusb/registry.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openwinusb/usb_defs.h>

#include "core/sha1.h"
#include "pnp/registry_internal.h"

static void note(owu_strlist *notes, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(owu_strlist *notes, const char *fmt, ...)
{
    if (!notes)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    owu_strlist_add(notes, msg);
}

/* "file.inf:12" for notes about an AddReg line. */
static void where(const struct owu_inf_reg *r, char *buf, size_t size)
{
    const char *inf = r->inf && *r->inf ? r->inf : "AddReg";
    if (r->line)
        snprintf(buf, size, "%s:%u", inf, r->line);
    else
        snprintf(buf, size, "%s", inf);
}

/* Strings of a canonical MULTI_SZ, for APPEND. */
static bool multi_contains_ci(const uint8_t *data, size_t len, const char *s)
{
    for (size_t i = 0; i + 1 < len;) {
        const char *t = (const char *)data + i;
        if (strcasecmp(t, s) == 0)
            return true;
        i += strlen(t) + 1;
    }
    return false;
}

/* FLG_ADDREG_APPEND: the strings of the line not yet in the value are added at its end
 * (the value is created when missing). */
static int append_multi(struct owu_regkey *k, const char *name, const struct owu_inf_reg *r,
                        bool *changed, const char *at, owu_strlist *notes, owu_err *err)
{
    if (r->type != OWU_REG_MULTI_SZ) {
        note(notes, "%s: APPEND (0x8) applies only to REG_MULTI_SZ values (flag 0x10000), this line is %s; "
                    "line ignored", at, owu_registry_type_name(r->type));
        return OWU_OK;
    }
    owu_err e;
    char pn[OWU_REGDB_PRINTABLE_SIZE];
    owu_regdb_printable(name, pn, sizeof pn);
    if (owu_registry_check_value(r->type, r->data, r->len, &e) < 0) {
        note(notes, "%s: \"%s\": %s; line ignored", at, pn, e.msg);
        return OWU_OK;
    }
    const struct owu_regval *old = owu_regkey_find(k, name);
    if (old && old->type != OWU_REG_MULTI_SZ) {
        note(notes, "%s: APPEND to \"%s\", which is %s, not REG_MULTI_SZ; line ignored", at, pn,
             owu_registry_type_name(old->type));
        return OWU_OK;
    }
    size_t oldlen = old ? old->len - 1 : 0;   /* without the final NUL */
    uint8_t *buf = malloc(oldlen + r->len + 1);
    if (!buf)
        return owu_fail(err, OWU_E_NOMEM, "out of memory");
    if (oldlen)
        memcpy(buf, old->data, oldlen);
    size_t n = oldlen;
    for (size_t i = 0; i + 1 < r->len;) {
        const char *s = (const char *)r->data + i;
        size_t l = strlen(s) + 1;
        buf[n] = '\0';
        if (!multi_contains_ci(buf, n + 1, s)) {
            memcpy(buf + n, s, l);
            n += l;
        }
        i += l;
    }
    buf[n++] = '\0';
    int rc = OWU_OK;
    if (!old || n != old->len || memcmp(buf, old->data, n) != 0) {
        rc = owu_regkey_set(k, name, OWU_REG_MULTI_SZ, buf, n, &e);
        if (rc == OWU_OK)
            *changed = true;
        else if (rc == OWU_E_NOMEM)
            owu_fail(err, rc, "%s", e.msg);
        else {
            note(notes, "%s: %s; line ignored", at, e.msg);
            rc = OWU_OK;
        }
    }
    free(buf);
    return rc;
}

/* Runs AddReg lines on one key. Only out-of-memory fails; everything else is a note. */
static int run_addreg(struct owu_regdb *db, const char *id, const struct owu_inf_reg *lines, size_t n,
                      bool *changed, owu_strlist *notes, owu_err *err)
{
    for (size_t i = 0; i < n; i++) {
        const struct owu_inf_reg *r = &lines[i];
        char at[300];
        where(r, at, sizeof at);
        const char *root = r->root ? r->root : "";
        const char *name = r->name ? r->name : "";
        char pt[OWU_REGDB_PRINTABLE_SIZE];
        if (strcasecmp(root, "HKR") != 0) {
            note(notes, "%s: AddReg root \"%s\" is not the device's hardware key (only HKR goes to "
                        "Device Parameters); line ignored", at, owu_regdb_printable(root, pt, sizeof pt));
            continue;
        }
        if (r->subkey && *r->subkey) {
            note(notes, "%s: subkey \"%s\" under Device Parameters is not supported; line ignored", at,
                 owu_regdb_printable(r->subkey, pt, sizeof pt));
            continue;
        }
        owu_err e;
        struct owu_regkey *k = owu_regdb_find(db, id);
        if (!k) {
            int rc = owu_regdb_key(db, id, true, &k, &e);
            if (rc < 0)
                return owu_fail(err, rc, "%s", e.msg);
            *changed = true;
        }
        if (r->flags & (OWU_INF_FLG_KEYONLY | OWU_INF_FLG_KEYONLY_COMMON))
            continue;   /* the key exists now; KEYONLY writes no value */
        if (owu_regdb_check_name(name, &e) < 0) {
            note(notes, "%s: %s; line ignored", at, e.msg);
            continue;
        }
        struct owu_regval *old = owu_regkey_find(k, name);
        if (r->flags & OWU_INF_FLG_DELVAL) {
            if (old && owu_regkey_delete(k, name))
                *changed = true;
            continue;
        }
        if ((r->flags & OWU_INF_FLG_NOCLOBBER) && old)
            continue;
        if ((r->flags & OWU_INF_FLG_OVERWRITEONLY) && !old)
            continue;
        if (r->flags & OWU_INF_FLG_APPEND) {
            int rc = append_multi(k, name, r, changed, at, notes, err);
            if (rc < 0)
                return rc;
            continue;
        }
        const uint8_t *data = r->data;
        size_t len = r->len;
        bool stringy = r->type == OWU_REG_SZ || r->type == OWU_REG_EXPAND_SZ;
        if (!r->has_value && stringy && len == 0) {
            data = (const uint8_t *)"";   /* "HKR,,Name" alone writes an empty string */
            len = 1;
        }
        int rc = owu_regkey_set(k, name, r->type, data, len, &e);
        if (rc == OWU_E_NOMEM)
            return owu_fail(err, rc, "%s", e.msg);
        if (rc < 0) {
            note(notes, "%s: %s; line ignored", at, e.msg);
            continue;
        }
        *changed = true;
    }
    return OWU_OK;
}

static int run_properties(struct owu_regdb *db, const char *id, const struct owu_property *props,
                          size_t n, bool *changed, owu_strlist *notes, owu_err *err)
{
    owu_err e;
    struct owu_regkey *k;
    int rc = owu_regdb_key(db, id, true, &k, &e);
    if (rc < 0)
        return owu_fail(err, rc, "%s", e.msg);
    for (size_t i = 0; i < n; i++) {
        const struct owu_property *p = &props[i];
        if (!p->name) {
            note(notes, "%s: MS OS property %zu has no name; ignored", id, i);
            continue;
        }
        rc = owu_regkey_set(k, p->name, p->type, p->data, p->len, &e);
        if (rc == OWU_E_NOMEM)
            return owu_fail(err, rc, "%s", e.msg);
        if (rc < 0) {
            note(notes, "MS OS property \"%s\": %s; ignored", p->name, e.msg);
            continue;
        }
        *changed = true;
    }
    return OWU_OK;
}

int owu_registry_apply_inf(struct owu_registry *reg, const char *instance_id,
                           const struct owu_inf_reg *lines, size_t n, owu_strlist *notes,
                           owu_err *err)
{
    if (!reg || (n && !lines))
        return owu_fail(err, OWU_E_INVAL, "owu_registry_apply_inf: NULL argument");
    int rc = owu_registry_check_instance_id(instance_id, err);
    if (rc < 0)
        return rc;
    struct owu_regdb *db = owu_registry_write_begin(reg, err);
    if (!db)
        return err ? err->code : OWU_E_IO;
    bool changed = false;
    rc = run_addreg(db, instance_id, lines, n, &changed, notes, err);
    return owu_registry_write_end(reg, rc, changed, err);
}

int owu_registry_apply_properties(struct owu_registry *reg, const char *instance_id,
                                  const struct owu_property *props, size_t n, owu_strlist *notes,
                                  owu_err *err)
{
    if (!reg || (n && !props))
        return owu_fail(err, OWU_E_INVAL, "owu_registry_apply_properties: NULL argument");
    int rc = owu_registry_check_instance_id(instance_id, err);
    if (rc < 0)
        return rc;
    struct owu_regdb *db = owu_registry_write_begin(reg, err);
    if (!db)
        return err ? err->code : OWU_E_IO;
    bool changed = false;
    rc = run_properties(db, instance_id, props, n, &changed, notes, err);
    return owu_registry_write_end(reg, rc, changed, err);
}

/* SHA-1 over the properties as the device reported them (names folded to lower case, as
 * they compare), in hex; "" when there are none. A device reporting other properties
 * than last time (new firmware) gets them written again. */
static void properties_fingerprint(const struct owu_property *props, size_t n,
                                   char out[OWU_REGDB_FP_LEN + 1])
{
    out[0] = '\0';
    if (!n)
        return;
    struct owu_sha1 c;
    owu_sha1_init(&c);
    for (size_t i = 0; i < n; i++) {
        const struct owu_property *p = &props[i];
        for (const char *s = p->name ? p->name : ""; *s; s++) {
            uint8_t ch = (uint8_t)tolower((unsigned char)*s);
            owu_sha1_update(&c, &ch, 1);
        }
        uint8_t hdr[9] = { 0 };
        owu_put_le32(hdr + 1, p->type);
        owu_sha1_update(&c, hdr, 5);
        owu_put_le32(hdr, (uint32_t)p->len);
        owu_put_le32(hdr + 4, (uint32_t)((uint64_t)p->len >> 32));
        owu_sha1_update(&c, hdr, 8);
        if (p->len && p->data)
            owu_sha1_update(&c, p->data, p->len);
    }
    uint8_t d[OWU_SHA1_DIGEST_SIZE];
    owu_sha1_final(&c, d);
    for (size_t i = 0; i < OWU_SHA1_DIGEST_SIZE; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

int owu_registry_install(struct owu_registry *reg, const char *instance_id, const char *driver,
                         const struct owu_property *props, size_t nprops,
                         const struct owu_inf_reg *lines, size_t nlines, unsigned flags,
                         unsigned *applied, owu_strlist *notes, owu_err *err)
{
    if (applied)
        *applied = 0;
    if (!reg || (nprops && !props) || (nlines && !lines))
        return owu_fail(err, OWU_E_INVAL, "owu_registry_install: NULL argument");
    int rc = owu_registry_check_instance_id(instance_id, err);
    if (rc < 0)
        return rc;
    char fp[OWU_REGDB_FP_LEN + 1];
    properties_fingerprint(props, nprops, fp);
    const char *tag = driver ? driver : "";

    struct owu_regdb *db = owu_registry_write_begin(reg, err);
    if (!db)
        return err ? err->code : OWU_E_IO;
    bool changed = false;
    struct owu_regkey *k = owu_regdb_find(db, instance_id);
    if (!k) {
        rc = owu_regdb_key(db, instance_id, true, &k, err);
        if (rc < 0)
            return owu_registry_write_end(reg, rc, false, err);
        changed = true;
    }
    bool driver_changed = !k->driver || strcasecmp(k->driver, tag) != 0;
    bool msos_changed = strcmp(k->msos ? k->msos : "", fp) != 0;
    if ((flags & OWU_REG_INSTALL_FORCE) || driver_changed || msos_changed) {
        unsigned did = 0;
        /* Windows order: the hub writes the device's properties when the devnode is
         * created; the INF's .HW AddReg runs afterwards, at driver install. */
        if (nprops) {
            rc = run_properties(db, instance_id, props, nprops, &changed, notes, err);
            did |= OWU_REG_APPLIED_PROPERTIES;
        }
        if (rc == OWU_OK && nlines) {
            rc = run_addreg(db, instance_id, lines, nlines, &changed, notes, err);
            did |= OWU_REG_APPLIED_INF;
        }
        /* run_* may have moved keys (a new key is inserted in sorted order). */
        k = owu_regdb_find(db, instance_id);
        if (rc == OWU_OK && k &&
            (owu_regkey_set_driver(k, tag) < 0 || owu_regkey_set_msos(k, fp[0] ? fp : NULL) < 0))
            rc = owu_fail(err, OWU_E_NOMEM, "out of memory");
        changed = true;
        if (rc == OWU_OK && applied)
            *applied = did;
    }
    return owu_registry_write_end(reg, rc, changed, err);
}
