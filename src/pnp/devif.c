/* Device interfaces: the table of registered interfaces, their symbolic links and the
 * lookups the Win32 discovery functions sit on (docs/device-interfaces.md). */
#include <openwinusb/devif.h>

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const struct owu_guid OWU_GUID_DEVINTERFACE_USB_DEVICE = {
    0xA5DCBF10, 0x6530, 0x11D2, { 0x90, 0x1F, 0x00, 0xC0, 0x4F, 0xB9, 0x51, 0xED } };
const struct owu_guid OWU_GUID_DEVINTERFACE_USB_HUB = {
    0xF18A0E88, 0xC30C, 0x11D0, { 0x88, 0x15, 0x00, 0xA0, 0xC9, 0x06, 0xBE, 0xD8 } };
const struct owu_guid OWU_GUID_DEVINTERFACE_COMPORT = {
    0x86E0D1E0, 0x8089, 0x11D0, { 0x9C, 0xE4, 0x08, 0x00, 0x3E, 0x30, 0x1F, 0x73 } };
const struct owu_guid OWU_GUID_DEVINTERFACE_HID = {
    0x4D1E55B2, 0xF16F, 0x11CF, { 0x88, 0xCB, 0x00, 0x11, 0x11, 0x00, 0x00, 0x30 } };

#define PATH_PREFIX "\\\\?\\"
/* Longest possible link: prefix, ID, '#', GUID, '\', reference string. */
#define MAX_PATH_LEN (4 + OWU_REG_MAX_INSTANCE_ID_LEN + 1 + OWU_GUID_STR_LEN + 1 + OWU_DEVIF_MAX_REFERENCE_LEN)

struct entry {
    char *path;
    struct owu_guid cls;
    char *instance_id;
    char *ref;
    bool enabled;
};

struct owu_devif_table {
    pthread_mutex_t mu;
    struct entry *v;    /* sorted by path (all lower case, so byte order) */
    size_t n, cap;
};

static int check_reference(const char *ref, owu_err *err)
{
    size_t n = strnlen(ref, OWU_DEVIF_MAX_REFERENCE_LEN + 1);
    if (n > OWU_DEVIF_MAX_REFERENCE_LEN)
        return owu_fail(err, OWU_E_INVAL, "reference string \"%.40s...\" is longer than %u characters", ref,
                        OWU_DEVIF_MAX_REFERENCE_LEN);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)ref[i];
        if (c <= 0x20 || c >= 0x7F || c == '\\' || c == '/')
            return owu_fail(err, OWU_E_INVAL,
                            "reference string: byte 0x%02X at offset %zu is not allowed "
                            "(0x21..0x7E except '\\' and '/')", c, i);
    }
    return OWU_OK;
}

int owu_devif_symbolic_link(const struct owu_guid *class_guid, const char *instance_id,
                            const char *ref, char **out, owu_err *err)
{
    if (!out || !class_guid)
        return owu_fail(err, OWU_E_INVAL, "owu_devif_symbolic_link: NULL argument");
    *out = NULL;
    int rc = owu_registry_check_instance_id(instance_id, err);
    if (rc < 0)
        return rc;
    if (ref && *ref && (rc = check_reference(ref, err)) < 0)
        return rc;
    char guid[OWU_GUID_STR_SIZE];
    owu_guid_to_string(class_guid, false, guid);
    char *s = NULL;
    bool has_ref = ref && *ref;
    if (asprintf(&s, PATH_PREFIX "%s#%s%s%s", instance_id, guid, has_ref ? "\\" : "", has_ref ? ref : "") < 0)
        return owu_fail(err, OWU_E_NOMEM, "out of memory");
    /* The instance ID's separators become '#'; the prefix and the reference string keep
     * their backslash. */
    size_t id_end = 4 + strlen(instance_id);
    for (size_t i = 4; i < id_end; i++)
        if (s[i] == '\\')
            s[i] = '#';
    for (char *p = s; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    *out = s;
    return OWU_OK;
}

/* A path as looked up: lower case, with "\\.\" or "\??\" read as "\\?\". False when it
 * cannot be a link at all. */
static bool normalize_path(const char *path, char buf[MAX_PATH_LEN + 1])
{
    if (!path)
        return false;
    size_t n = strnlen(path, MAX_PATH_LEN + 1);
    if (n > MAX_PATH_LEN || n < 4)
        return false;
    for (size_t i = 0; i <= n; i++)
        buf[i] = (char)tolower((unsigned char)path[i]);
    if (strncmp(buf, "\\\\.\\", 4) == 0 || strncmp(buf, "\\??\\", 4) == 0)
        memcpy(buf, PATH_PREFIX, 4);
    return true;
}

struct owu_devif_table *owu_devif_table_new(void)
{
    struct owu_devif_table *t = calloc(1, sizeof *t);
    if (t)
        pthread_mutex_init(&t->mu, NULL);
    return t;
}

static void free_entry(struct entry *e)
{
    free(e->path);
    free(e->instance_id);
    free(e->ref);
}

void owu_devif_table_free(struct owu_devif_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free_entry(&t->v[i]);
    free(t->v);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

static size_t search(const struct owu_devif_table *t, const char *path, bool *found)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(t->v[mid].path, path);
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

int owu_devif_register(struct owu_devif_table *t, const struct owu_guid *class_guid,
                       const char *instance_id, const char *ref, char **path_out, owu_err *err)
{
    if (path_out)
        *path_out = NULL;
    if (!t)
        return owu_fail(err, OWU_E_INVAL, "owu_devif_register: NULL table");
    char *path;
    int rc = owu_devif_symbolic_link(class_guid, instance_id, ref, &path, err);
    if (rc < 0)
        return rc;
    char *copy = NULL;
    if (path_out && !(copy = strdup(path))) {
        free(path);
        return owu_fail(err, OWU_E_NOMEM, "out of memory");
    }
    pthread_mutex_lock(&t->mu);
    bool found;
    size_t pos = search(t, path, &found);
    if (found) {
        t->v[pos].enabled = true;
        free(path);
    } else if (t->n >= OWU_DEVIF_MAX_INTERFACES) {
        rc = owu_fail(err, OWU_E_INVAL, "%s: already %u device interfaces registered", path,
                      OWU_DEVIF_MAX_INTERFACES);
        free(path);
    } else {
        struct entry e = { .path = path, .cls = *class_guid, .enabled = true };
        e.instance_id = strdup(instance_id);
        e.ref = strdup(ref ? ref : "");
        if (t->n == t->cap) {
            size_t cap = t->cap ? t->cap * 2 : 16;
            struct entry *nv = realloc(t->v, cap * sizeof *nv);
            if (nv) {
                t->v = nv;
                t->cap = cap;
            }
        }
        if (!e.instance_id || !e.ref || t->n == t->cap) {
            free_entry(&e);
            rc = owu_fail(err, OWU_E_NOMEM, "out of memory");
        } else {
            memmove(t->v + pos + 1, t->v + pos, (t->n - pos) * sizeof *t->v);
            t->v[pos] = e;
            t->n++;
        }
    }
    pthread_mutex_unlock(&t->mu);
    if (rc == OWU_OK && path_out)
        *path_out = copy;
    else
        free(copy);
    return rc;
}

/* Index of the entry behind a path; the mutex is held. */
static bool find_path(const struct owu_devif_table *t, const char *path, size_t *pos)
{
    char norm[MAX_PATH_LEN + 1];
    bool found = false;
    if (normalize_path(path, norm))
        *pos = search(t, norm, &found);
    return found;
}

static int not_registered(const char *path, owu_err *err)
{
    return owu_fail(err, OWU_E_NOTFOUND, "no device interface \"%.300s\" is registered", path ? path : "(null)");
}

int owu_devif_unregister(struct owu_devif_table *t, const char *path, owu_err *err)
{
    if (!t)
        return owu_fail(err, OWU_E_INVAL, "owu_devif_unregister: NULL table");
    pthread_mutex_lock(&t->mu);
    size_t pos;
    bool found = find_path(t, path, &pos);
    if (found) {
        free_entry(&t->v[pos]);
        memmove(t->v + pos, t->v + pos + 1, (t->n - pos - 1) * sizeof *t->v);
        t->n--;
    }
    pthread_mutex_unlock(&t->mu);
    return found ? OWU_OK : not_registered(path, err);
}

size_t owu_devif_unregister_device(struct owu_devif_table *t, const char *instance_id)
{
    if (!t || !instance_id)
        return 0;
    pthread_mutex_lock(&t->mu);
    size_t kept = 0, removed = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (strcasecmp(t->v[i].instance_id, instance_id) == 0) {
            free_entry(&t->v[i]);
            removed++;
        } else {
            t->v[kept++] = t->v[i];
        }
    }
    t->n = kept;
    pthread_mutex_unlock(&t->mu);
    return removed;
}

int owu_devif_set_enabled(struct owu_devif_table *t, const char *path, bool enabled, owu_err *err)
{
    if (!t)
        return owu_fail(err, OWU_E_INVAL, "owu_devif_set_enabled: NULL table");
    pthread_mutex_lock(&t->mu);
    size_t pos;
    bool found = find_path(t, path, &pos);
    if (found)
        t->v[pos].enabled = enabled;
    pthread_mutex_unlock(&t->mu);
    return found ? OWU_OK : not_registered(path, err);
}

void owu_devif_info_clear(struct owu_devif_info *info)
{
    if (!info)
        return;
    free(info->path);
    free(info->instance_id);
    free(info->reference);
    memset(info, 0, sizeof *info);
}

void owu_devif_infos_free(struct owu_devif_info *v, size_t count)
{
    if (!v)
        return;
    for (size_t i = 0; i < count; i++)
        owu_devif_info_clear(&v[i]);
    free(v);
}

static int copy_info(const struct entry *e, struct owu_devif_info *out)
{
    out->path = strdup(e->path);
    out->instance_id = strdup(e->instance_id);
    out->reference = strdup(e->ref);
    out->class_guid = e->cls;
    out->enabled = e->enabled;
    if (!out->path || !out->instance_id || !out->reference) {
        owu_devif_info_clear(out);
        return OWU_E_NOMEM;
    }
    return OWU_OK;
}

static bool selected(const struct entry *e, const struct owu_guid *cls, const char *instance_id,
                     unsigned flags)
{
    return (e->enabled || (flags & OWU_DEVIF_ALL)) && (!cls || owu_guid_equal(&e->cls, cls)) &&
           (!instance_id || strcasecmp(e->instance_id, instance_id) == 0);
}

int owu_devif_query(struct owu_devif_table *t, const struct owu_guid *class_guid,
                    const char *instance_id, unsigned flags, struct owu_devif_info **out,
                    size_t *count, owu_err *err)
{
    if (!t || !out || !count)
        return owu_fail(err, OWU_E_INVAL, "owu_devif_query: NULL argument");
    *out = NULL;
    *count = 0;
    if (flags & ~(unsigned)OWU_DEVIF_ALL)
        return owu_fail(err, OWU_E_INVAL, "owu_devif_query: unknown flags 0x%X", flags);
    int rc = OWU_OK;
    pthread_mutex_lock(&t->mu);
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++)
        n += selected(&t->v[i], class_guid, instance_id, flags);
    struct owu_devif_info *v = n ? calloc(n, sizeof *v) : NULL;
    if (n && !v)
        rc = owu_fail(err, OWU_E_NOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; v && i < t->n; i++) {
        if (!selected(&t->v[i], class_guid, instance_id, flags))
            continue;
        if (copy_info(&t->v[i], &v[k]) < 0) {
            owu_devif_infos_free(v, k);
            v = NULL;
            rc = owu_fail(err, OWU_E_NOMEM, "out of memory");
            break;
        }
        k++;
    }
    pthread_mutex_unlock(&t->mu);
    if (rc == OWU_OK) {
        *out = v;
        *count = k;
    }
    return rc;
}

int owu_devif_list(struct owu_devif_table *t, const struct owu_guid *class_guid,
                   const char *instance_id, unsigned flags, owu_strlist *out, owu_err *err)
{
    if (!out)
        return owu_fail(err, OWU_E_INVAL, "owu_devif_list: NULL argument");
    struct owu_devif_info *v = NULL;
    size_t n = 0;
    int rc = owu_devif_query(t, class_guid, instance_id, flags, &v, &n, err);
    for (size_t i = 0; rc == OWU_OK && i < n; i++)
        if (owu_strlist_add(out, v[i].path) < 0)
            rc = owu_fail(err, OWU_E_NOMEM, "out of memory");
    owu_devif_infos_free(v, n);
    return rc;
}

int owu_devif_list_multi_sz(struct owu_devif_table *t, const struct owu_guid *class_guid,
                            const char *instance_id, unsigned flags, char **out, size_t *len,
                            owu_err *err)
{
    if (!out || !len)
        return owu_fail(err, OWU_E_INVAL, "owu_devif_list_multi_sz: NULL argument");
    *out = NULL;
    *len = 0;
    struct owu_devif_info *v = NULL;
    size_t n = 0;
    int rc = owu_devif_query(t, class_guid, instance_id, flags, &v, &n, err);
    if (rc < 0)
        return rc;
    size_t total = 1;
    for (size_t i = 0; i < n; i++)
        total += strlen(v[i].path) + 1;
    char *buf = malloc(total);
    if (!buf) {
        owu_devif_infos_free(v, n);
        return owu_fail(err, OWU_E_NOMEM, "out of memory");
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(v[i].path) + 1;
        memcpy(buf + o, v[i].path, l);
        o += l;
    }
    buf[o++] = '\0';
    owu_devif_infos_free(v, n);
    *out = buf;
    *len = o;
    return OWU_OK;
}

int owu_devif_lookup(struct owu_devif_table *t, const char *path, struct owu_devif_info *out,
                     owu_err *err)
{
    if (!t || !out)
        return owu_fail(err, OWU_E_INVAL, "owu_devif_lookup: NULL argument");
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&t->mu);
    size_t pos;
    bool found = find_path(t, path, &pos);
    int rc = found ? copy_info(&t->v[pos], out) : OWU_OK;
    pthread_mutex_unlock(&t->mu);
    if (!found)
        return not_registered(path, err);
    return rc < 0 ? owu_fail(err, rc, "out of memory") : OWU_OK;
}

size_t owu_devif_count(struct owu_devif_table *t)
{
    if (!t)
        return 0;
    pthread_mutex_lock(&t->mu);
    size_t n = t->n;
    pthread_mutex_unlock(&t->mu);
    return n;
}
