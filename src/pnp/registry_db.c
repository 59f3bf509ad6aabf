/* Device Parameters: the in-memory database of keys and typed values, and the checks every
 * value passes before it is stored (from the API or from a file). */
#include "pnp/registry_internal.h"
#include "core/utf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *owu_registry_type_name(uint32_t type)
{
    switch (type) {
    case 0: return "REG_NONE";
    case OWU_REG_SZ: return "REG_SZ";
    case OWU_REG_EXPAND_SZ: return "REG_EXPAND_SZ";
    case OWU_REG_BINARY: return "REG_BINARY";
    case OWU_REG_DWORD: return "REG_DWORD";
    case OWU_REG_DWORD_BIG_ENDIAN: return "REG_DWORD_BIG_ENDIAN";
    case OWU_REG_LINK: return "REG_LINK";
    case OWU_REG_MULTI_SZ: return "REG_MULTI_SZ";
    case OWU_REG_QWORD: return "REG_QWORD";
    default: {
        static _Thread_local char buf[32];
        snprintf(buf, sizeof buf, "REG_TYPE_0x%X", (unsigned)type);
        return buf;
    }
    }
}

int owu_registry_check_instance_id(const char *id, owu_err *err)
{
    if (!id || !*id)
        return owu_fail(err, OWU_E_INVAL, "device instance ID is empty");
    size_t n = strnlen(id, OWU_REG_MAX_INSTANCE_ID_LEN + 1);
    if (n > OWU_REG_MAX_INSTANCE_ID_LEN)
        return owu_fail(err, OWU_E_INVAL, "device instance ID \"%.40s...\" is longer than %u characters",
                        id, OWU_REG_MAX_INSTANCE_ID_LEN);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        if (c <= 0x20 || c >= 0x80 || c == ',')
            return owu_fail(err, OWU_E_INVAL,
                            "device instance ID: byte 0x%02X at offset %zu is not allowed in an ID "
                            "(0x21..0x7F except ',')", c, i);
    }
    return OWU_OK;
}

const char *owu_regdb_printable(const char *s, char *buf, size_t size)
{
    if (size < 8) {
        if (size)
            buf[0] = '\0';
        return buf;
    }
    if (!s)
        s = "(null)";
    const uint8_t *p = (const uint8_t *)s;
    size_t n = strlen(s), o = 0, i = 0;
    while (i < n && o + 4 < size) {
        size_t l = p[i] >= 0x80 ? owu_utf8_next(p + i, n - i, NULL) : (p[i] >= 0x20 && p[i] != 0x7F);
        if (l == 0) {
            buf[o++] = '?';
            i++;
        } else if (o + l + 4 <= size) {
            memcpy(buf + o, p + i, l);
            o += l;
            i += l;
        } else {
            break;
        }
    }
    if (i < n) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

int owu_regdb_check_name(const char *name, owu_err *err)
{
    if (!name)
        return owu_fail(err, OWU_E_INVAL, "value name is NULL");
    if (strnlen(name, OWU_REG_MAX_NAME_LEN + 1) > OWU_REG_MAX_NAME_LEN)
        return owu_fail(err, OWU_E_INVAL, "value name \"%.40s...\" is longer than %u bytes", name,
                        OWU_REG_MAX_NAME_LEN);
    return OWU_OK;
}

static bool is_string_type(uint32_t type)
{
    return type == OWU_REG_SZ || type == OWU_REG_EXPAND_SZ || type == OWU_REG_LINK;
}

int owu_registry_check_value(uint32_t type, const uint8_t *data, size_t len, owu_err *err)
{
    const char *tn = owu_registry_type_name(type);
    if (len && !data)
        return owu_fail(err, OWU_E_INVAL, "%s value: NULL data with length %zu", tn, len);
    if (len > OWU_REG_MAX_VALUE_LEN)
        return owu_fail(err, OWU_E_INVAL, "%s value: %zu bytes, more than the limit of %u", tn, len,
                        OWU_REG_MAX_VALUE_LEN);
    if (is_string_type(type)) {
        if (len == 0 || data[len - 1] != 0)
            return owu_fail(err, OWU_E_INVAL, "%s value: not NUL-terminated (length %zu)", tn, len);
        const void *nul = memchr(data, 0, len);
        if ((const uint8_t *)nul != data + len - 1)
            return owu_fail(err, OWU_E_INVAL, "%s value: NUL inside the string at byte %zu", tn,
                            (size_t)((const uint8_t *)nul - data));
    } else if (type == OWU_REG_MULTI_SZ) {
        if (len == 0 || data[len - 1] != 0)
            return owu_fail(err, OWU_E_INVAL, "REG_MULTI_SZ value: not NUL-terminated (length %zu)", len);
        if (len == 1 || (len == 2 && data[0] == 0))
            return OWU_OK;   /* the empty list, as "\0" or "\0\0" */
        if (data[len - 2] != 0)
            return owu_fail(err, OWU_E_INVAL,
                            "REG_MULTI_SZ value: missing the final extra NUL (length %zu)", len);
        /* Every string up to the final NUL must be non-empty: an empty one would end the
         * list early and hide what follows. */
        for (size_t i = 0; i < len - 1;) {
            if (data[i] == 0)
                return owu_fail(err, OWU_E_INVAL,
                                "REG_MULTI_SZ value: empty string at byte %zu before the end", i);
            const uint8_t *nul = memchr(data + i, 0, len - 1 - i);
            i = (size_t)(nul - data) + 1;
        }
    } else if (type == OWU_REG_DWORD || type == OWU_REG_DWORD_BIG_ENDIAN) {
        if (len != 4)
            return owu_fail(err, OWU_E_INVAL, "%s value: %zu bytes, expected 4", tn, len);
    } else if (type == OWU_REG_QWORD) {
        if (len != 8)
            return owu_fail(err, OWU_E_INVAL, "%s value: %zu bytes, expected 8", tn, len);
    }
    return OWU_OK;
}

void owu_regdb_init(struct owu_regdb *db)
{
    memset(db, 0, sizeof *db);
}

static void free_value(struct owu_regval *v)
{
    free(v->name);
    free(v->data);
}

static void free_key(struct owu_regkey *k)
{
    for (size_t i = 0; i < k->n; i++)
        free_value(&k->v[i]);
    free(k->v);
    free(k->id);
    free(k->driver);
    free(k->msos);
}

void owu_regdb_clear(struct owu_regdb *db)
{
    if (!db)
        return;
    for (size_t i = 0; i < db->n; i++)
        free_key(&db->keys[i]);
    free(db->keys);
    owu_regdb_init(db);
}

void owu_regdb_move(struct owu_regdb *dst, struct owu_regdb *src)
{
    owu_regdb_clear(dst);
    *dst = *src;
    owu_regdb_init(src);
}

/* Index of the key, or (as ~pos) where it would be inserted. */
static size_t key_search(const struct owu_regdb *db, const char *id, bool *found)
{
    size_t lo = 0, hi = db->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcasecmp(db->keys[mid].id, id);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

struct owu_regkey *owu_regdb_find(const struct owu_regdb *db, const char *id)
{
    bool found;
    size_t i = key_search(db, id, &found);
    return found ? &db->keys[i] : NULL;
}

int owu_regdb_key(struct owu_regdb *db, const char *id, bool create, struct owu_regkey **out,
                  owu_err *err)
{
    *out = NULL;
    int rc = owu_registry_check_instance_id(id, err);
    if (rc < 0)
        return rc;
    bool found;
    size_t pos = key_search(db, id, &found);
    if (found) {
        *out = &db->keys[pos];
        return OWU_OK;
    }
    if (!create)
        return owu_fail(err, OWU_E_NOTFOUND, "no Device Parameters for %s", id);
    if (db->n >= OWU_REG_MAX_KEYS)
        return owu_fail(err, OWU_E_INVAL, "%s: the store already holds the limit of %u device instances",
                        id, OWU_REG_MAX_KEYS);
    if (db->n == db->cap) {
        size_t cap = db->cap ? db->cap * 2 : 16;
        struct owu_regkey *k = realloc(db->keys, cap * sizeof *k);
        if (!k)
            return owu_fail(err, OWU_E_NOMEM, "out of memory adding %s", id);
        db->keys = k;
        db->cap = cap;
    }
    char *copy = strdup(id);
    if (!copy)
        return owu_fail(err, OWU_E_NOMEM, "out of memory adding %s", id);
    memmove(db->keys + pos + 1, db->keys + pos, (db->n - pos) * sizeof *db->keys);
    memset(&db->keys[pos], 0, sizeof db->keys[pos]);
    db->keys[pos].id = copy;
    db->n++;
    *out = &db->keys[pos];
    return OWU_OK;
}

bool owu_regdb_delete_key(struct owu_regdb *db, const char *id)
{
    bool found;
    size_t pos = key_search(db, id, &found);
    if (!found)
        return false;
    free_key(&db->keys[pos]);
    memmove(db->keys + pos, db->keys + pos + 1, (db->n - pos - 1) * sizeof *db->keys);
    db->n--;
    return true;
}

static int set_str_field(char **field, const char *s)
{
    char *copy = NULL;
    if (s && !(copy = strdup(s)))
        return OWU_E_NOMEM;
    free(*field);
    *field = copy;
    return OWU_OK;
}

int owu_regkey_set_driver(struct owu_regkey *k, const char *driver)
{
    return set_str_field(&k->driver, driver);
}

int owu_regkey_set_msos(struct owu_regkey *k, const char *fp)
{
    return set_str_field(&k->msos, fp);
}

struct owu_regval *owu_regkey_find(const struct owu_regkey *k, const char *name)
{
    for (size_t i = 0; i < k->n; i++)
        if (strcasecmp(k->v[i].name, name) == 0)
            return &k->v[i];
    return NULL;
}

int owu_regkey_set(struct owu_regkey *k, const char *name, uint32_t type, const uint8_t *data,
                   size_t len, owu_err *err)
{
    char pn[OWU_REGDB_PRINTABLE_SIZE];
    int rc = owu_regdb_check_name(name, err);
    if (rc < 0)
        return owu_err_wrap(err, "%s: ", k->id);
    rc = owu_registry_check_value(type, data, len, err);
    if (rc < 0)
        return owu_err_wrap(err, "%s: \"%s\": ", k->id, owu_regdb_printable(name, pn, sizeof pn));
    if (type == OWU_REG_MULTI_SZ && len == 2)
        len = 1;   /* "\0\0" and "\0" are the same empty list; keep one spelling */

    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return owu_fail(err, OWU_E_NOMEM, "out of memory storing %s", name);
    if (len)
        memcpy(copy, data, len);
    struct owu_regval *v = owu_regkey_find(k, name);
    if (v) {
        /* The name keeps its first spelling, as the registry does. */
        free(v->data);
        v->type = type;
        v->data = copy;
        v->len = len;
        return OWU_OK;
    }
    if (k->n >= OWU_REG_MAX_VALUES) {
        free(copy);
        return owu_fail(err, OWU_E_INVAL, "%s: already holds the limit of %u values; \"%s\" not added",
                        k->id, OWU_REG_MAX_VALUES, owu_regdb_printable(name, pn, sizeof pn));
    }
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 8;
        struct owu_regval *nv = realloc(k->v, cap * sizeof *nv);
        if (!nv) {
            free(copy);
            return owu_fail(err, OWU_E_NOMEM, "out of memory storing %s", name);
        }
        k->v = nv;
        k->cap = cap;
    }
    char *ncopy = strdup(name);
    if (!ncopy) {
        free(copy);
        return owu_fail(err, OWU_E_NOMEM, "out of memory storing %s", name);
    }
    k->v[k->n++] = (struct owu_regval){ .name = ncopy, .type = type, .data = copy, .len = len };
    return OWU_OK;
}

bool owu_regkey_delete(struct owu_regkey *k, const char *name)
{
    struct owu_regval *v = owu_regkey_find(k, name);
    if (!v)
        return false;
    size_t i = (size_t)(v - k->v);
    free_value(v);
    memmove(k->v + i, k->v + i + 1, (k->n - i - 1) * sizeof *k->v);
    k->n--;
    return true;
}
