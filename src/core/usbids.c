/* usb.ids lookups: a compact sorted index of vendor and product names, and the lazily
 * loaded system copy. */
#include "core/usbids.h"
#include "core/hex.h"

#include "core/file_read.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct usbids_entry {
    uint32_t key;      /* vendor: vid; product: vid << 16 | pid */
    uint32_t seq;      /* line order, so the first of duplicate IDs wins */
    uint32_t name;     /* offset into the pool */
};

struct owu_usbids {
    char *pool;        /* NUL-terminated names */
    struct usbids_entry *vendors;
    size_t num_vendors;
    struct usbids_entry *products;
    size_t num_products;
};

struct entry_list {
    struct usbids_entry *v;
    size_t n, cap;
};

static int list_push(struct entry_list *l, uint32_t key, uint32_t seq, uint32_t name)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 256;
        struct usbids_entry *v = realloc(l->v, ncap * sizeof *v);
        if (!v)
            return OWU_E_NOMEM;
        l->v = v;
        l->cap = ncap;
    }
    l->v[l->n++] = (struct usbids_entry){ key, seq, name };
    return OWU_OK;
}

static int cmp_entry(const void *a, const void *b)
{
    const struct usbids_entry *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sorts by key and keeps the first entry of each key. */
static size_t sort_unique(struct usbids_entry *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_entry);
    size_t out = 1;
    for (size_t i = 1; i < n; i++)
        if (v[i].key != v[out - 1].key)
            v[out++] = v[i];
    return out;
}

static int hex4(const char *s, size_t avail, uint16_t *out)
{
    uint32_t v;
    if (avail < 4 || !owu_hex_value(s, 4, &v))
        return -1;
    *out = (uint16_t)v;
    return 0;
}

/* "hhhh<space or tab>+name" -> id and name span (trailing whitespace removed).
 * Returns false when the line does not have that shape or the name is empty. */
static bool split_id_line(const char *s, size_t len, uint16_t *id, const char **name,
                          size_t *name_len)
{
    if (hex4(s, len, id) < 0)
        return false;
    size_t i = 4;
    if (i >= len || (s[i] != ' ' && s[i] != '\t'))
        return false;
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    size_t end = len;
    while (end > i && (s[end - 1] == ' ' || s[end - 1] == '\t' || s[end - 1] == '\r'))
        end--;
    if (end == i)
        return false;
    *name = s + i;
    *name_len = end - i;
    return true;
}

/* Appends a name to the pool, cut at OWU_USBIDS_MAX_NAME on a UTF-8 character boundary. */
static uint32_t pool_add(char *pool, size_t *used, const char *name, size_t len)
{
    if (len > OWU_USBIDS_MAX_NAME) {
        len = OWU_USBIDS_MAX_NAME;
        while (len > 0 && ((unsigned char)name[len] & 0xC0) == 0x80)
            len--;
    }
    uint32_t off = (uint32_t)*used;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        pool[(*used)++] = (char)(c < 0x20 || c == 0x7F ? ' ' : c);
    }
    pool[(*used)++] = '\0';
    return off;
}

int owu_usbids_parse(const char *text, size_t len, struct owu_usbids **out, owu_err *err)
{
    if (!out || (!text && len))
        return owu_fail(err, OWU_E_INVAL, "owu_usbids_parse: NULL argument");
    *out = NULL;
    if (len > OWU_USBIDS_MAX_FILE)
        return owu_fail(err, OWU_E_INVAL, "usb.ids: %zu bytes is more than the %zu allowed", len,
                        (size_t)OWU_USBIDS_MAX_FILE);
    struct owu_usbids *db = calloc(1, sizeof *db);
    /* Each name plus its NUL fits in the line it came from (plus one for a last line
     * without a newline), so the pool never outgrows the text. */
    char *pool = malloc(len + 1);
    struct entry_list vendors = {0}, products = {0};
    if (!db || !pool)
        goto nomem;
    size_t used = 0;
    bool in_vendor = false;
    uint16_t vid = 0;
    uint32_t seq = 0;
    for (size_t pos = 0; pos < len;) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t llen = nl ? (size_t)(nl - line) : len - pos;
        pos += llen + (nl ? 1 : 0);
        seq++;
        if (llen == 0 || line[0] == '#')
            continue;
        uint16_t id;
        const char *name;
        size_t name_len;
        if (line[0] == '\t') {
            if (!in_vendor || llen < 2 || line[1] == '\t')
                continue;   /* interface line, or a child of a non-vendor section */
            if (!split_id_line(line + 1, llen - 1, &id, &name, &name_len))
                continue;
            if (list_push(&products, (uint32_t)vid << 16 | id, seq, pool_add(pool, &used, name, name_len)) < 0)
                goto nomem;
            continue;
        }
        /* Any other top-level line starts a new section: only "hhhh  name" is a vendor. */
        in_vendor = split_id_line(line, llen, &id, &name, &name_len);
        if (!in_vendor)
            continue;
        vid = id;
        if (list_push(&vendors, id, seq, pool_add(pool, &used, name, name_len)) < 0)
            goto nomem;
    }
    db->pool = pool;
    db->vendors = vendors.v;
    db->num_vendors = sort_unique(vendors.v, vendors.n);
    db->products = products.v;
    db->num_products = sort_unique(products.v, products.n);
    *out = db;
    return OWU_OK;
nomem:
    free(vendors.v);
    free(products.v);
    free(pool);
    free(db);
    return owu_fail(err, OWU_E_NOMEM, "usb.ids: out of memory");
}

int owu_usbids_load(const char *path, struct owu_usbids **out, owu_err *err)
{
    if (!path || !out)
        return owu_fail(err, OWU_E_INVAL, "owu_usbids_load: NULL argument");
    *out = NULL;
    char *text;
    size_t len;
    int rc = owu_read_file(path, OWU_USBIDS_MAX_FILE, &text, &len, err);
    if (rc < 0)
        return rc;
    rc = owu_usbids_parse(text, len, out, err);
    free(text);
    return rc;
}

void owu_usbids_free(struct owu_usbids *db)
{
    if (!db)
        return;
    free(db->pool);
    free(db->vendors);
    free(db->products);
    free(db);
}

static bool find(const struct usbids_entry *v, size_t n, uint32_t key, const char *pool, char *out,
                 size_t outsz)
{
    if (out && outsz)
        out[0] = '\0';
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo >= n || v[lo].key != key)
        return false;
    if (out && outsz)
        snprintf(out, outsz, "%s", pool + v[lo].name);
    return true;
}

bool owu_usbids_find_vendor(const struct owu_usbids *db, uint16_t vid, char *out, size_t outsz)
{
    if (!db) {
        if (out && outsz)
            out[0] = '\0';
        return false;
    }
    return find(db->vendors, db->num_vendors, vid, db->pool, out, outsz);
}

bool owu_usbids_find_product(const struct owu_usbids *db, uint16_t vid, uint16_t pid, char *out,
                             size_t outsz)
{
    if (!db) {
        if (out && outsz)
            out[0] = '\0';
        return false;
    }
    return find(db->products, db->num_products, (uint32_t)vid << 16 | pid, db->pool, out, outsz);
}

size_t owu_usbids_count(const struct owu_usbids *db, size_t *num_products)
{
    if (num_products)
        *num_products = db ? db->num_products : 0;
    return db ? db->num_vendors : 0;
}

/* ---- the system database ------------------------------------------------------------- */

static pthread_once_t system_once = PTHREAD_ONCE_INIT;
static struct owu_usbids *system_db;
static char system_path[4096];

static void system_load(void)
{
    const char *candidates[] = {
        getenv("OPENWINUSB_USB_IDS"),
        "/usr/share/misc/usb.ids",
        "/usr/share/hwdata/usb.ids",
        "/var/lib/usbutils/usb.ids",
    };
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        const char *path = candidates[i];
        if (!path || !*path || strlen(path) >= sizeof system_path)
            continue;
        /* Copy first: the environment may change under us after this point. */
        char copy[sizeof system_path];
        snprintf(copy, sizeof copy, "%s", path);
        if (owu_usbids_load(copy, &system_db, NULL) == OWU_OK) {
            memcpy(system_path, copy, sizeof system_path);
            return;
        }
    }
}

static const struct owu_usbids *system_get(void)
{
    pthread_once(&system_once, system_load);
    return system_db;
}

bool owu_usbids_vendor(uint16_t vid, char *out, size_t outsz)
{
    return owu_usbids_find_vendor(system_get(), vid, out, outsz);
}

bool owu_usbids_product(uint16_t vid, uint16_t pid, char *out, size_t outsz)
{
    return owu_usbids_find_product(system_get(), vid, pid, out, outsz);
}

const char *owu_usbids_path(void)
{
    return system_get() ? system_path : NULL;
}
