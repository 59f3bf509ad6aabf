/* The devinfo container: raw descriptor blobs as enumeration (or a profile) found them. */
#include <openwinusb/devinfo.h>

#include <stdlib.h>
#include <string.h>

#define LANGID_EN_US 0x0409

/* malloc(0) may return NULL; empty blobs still get a distinct pointer so NULL keeps meaning
 * "absent". */
static uint8_t *dup_bytes(const uint8_t *data, size_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    if (p && len)
        memcpy(p, data, len);
    return p;
}

struct owu_devinfo *owu_devinfo_new(void)
{
    struct owu_devinfo *info = calloc(1, sizeof *info);
    if (info)
        info->speed = OWU_SPEED_UNKNOWN;
    return info;
}

static void msos1_clear(struct owu_msos1_info *m)
{
    free(m->compat_id);
    if (m->props)
        for (unsigned i = 0; i < m->num_props; i++)
            free(m->props[i].data);
    free(m->props);
    free(m->container_id);
    memset(m, 0, sizeof *m);
}

void owu_devinfo_free(struct owu_devinfo *info)
{
    if (!info)
        return;
    if (info->configs)
        for (unsigned i = 0; i < info->num_configs; i++)
            free(info->configs[i].data);
    free(info->configs);
    free(info->bos);
    if (info->strings)
        for (unsigned i = 0; i < info->num_strings; i++)
            free(info->strings[i].desc);
    free(info->strings);
    msos1_clear(&info->msos1);
    free(info->msos20);
    free(info);
}

int owu_devinfo_set_blob(uint8_t **dst, size_t *dst_len, const uint8_t *data, size_t len)
{
    if (!dst || !dst_len || (!data && len))
        return OWU_E_INVAL;
    uint8_t *copy = NULL;
    if (data) {
        copy = dup_bytes(data, len);
        if (!copy)
            return OWU_E_NOMEM;
    }
    free(*dst);
    *dst = copy;
    *dst_len = copy ? len : 0;
    return OWU_OK;
}

int owu_devinfo_add_config(struct owu_devinfo *info, const uint8_t *data, size_t len)
{
    if (!info || (!data && len))
        return OWU_E_INVAL;
    uint8_t *copy = dup_bytes(data, len);
    if (!copy)
        return OWU_E_NOMEM;
    void *grown = realloc(info->configs, (info->num_configs + 1u) * sizeof info->configs[0]);
    if (!grown) {
        free(copy);
        return OWU_E_NOMEM;
    }
    info->configs = grown;
    info->configs[info->num_configs].data = copy;
    info->configs[info->num_configs].len = len;
    info->num_configs++;
    return OWU_OK;
}

int owu_devinfo_set_bos(struct owu_devinfo *info, const uint8_t *data, size_t len)
{
    if (!info)
        return OWU_E_INVAL;
    return owu_devinfo_set_blob(&info->bos, &info->bos_len, data, len);
}

int owu_devinfo_set_msos20(struct owu_devinfo *info, const uint8_t *data, size_t len)
{
    if (!info)
        return OWU_E_INVAL;
    return owu_devinfo_set_blob(&info->msos20, &info->msos20_len, data, len);
}

int owu_devinfo_add_string(struct owu_devinfo *info, uint8_t index, uint16_t langid,
                           const uint8_t *desc, size_t len)
{
    if (!info || (!desc && len))
        return OWU_E_INVAL;
    /* A second read of the same (index, LANGID) replaces the first. */
    for (unsigned i = 0; i < info->num_strings; i++) {
        struct owu_string_entry *e = &info->strings[i];
        if (e->index == index && e->langid == langid) {
            size_t n = e->len;
            int rc = owu_devinfo_set_blob(&e->desc, &n, desc ? desc : (const uint8_t *)"", len);
            e->len = n;
            return rc;
        }
    }
    uint8_t *copy = dup_bytes(desc, len);
    if (!copy)
        return OWU_E_NOMEM;
    void *grown = realloc(info->strings, (info->num_strings + 1u) * sizeof info->strings[0]);
    if (!grown) {
        free(copy);
        return OWU_E_NOMEM;
    }
    info->strings = grown;
    struct owu_string_entry *e = &info->strings[info->num_strings++];
    e->index = index;
    e->langid = langid;
    e->desc = copy;
    e->len = len;
    return OWU_OK;
}

int owu_devinfo_add_msos1_props(struct owu_devinfo *info, uint8_t interface,
                                const uint8_t *data, size_t len)
{
    if (!info || (!data && len))
        return OWU_E_INVAL;
    struct owu_msos1_info *m = &info->msos1;
    for (unsigned i = 0; i < m->num_props; i++) {
        if (m->props[i].interface == interface) {
            size_t n = m->props[i].len;
            int rc = owu_devinfo_set_blob(&m->props[i].data, &n,
                                          data ? data : (const uint8_t *)"", len);
            m->props[i].len = n;
            return rc;
        }
    }
    uint8_t *copy = dup_bytes(data, len);
    if (!copy)
        return OWU_E_NOMEM;
    void *grown = realloc(m->props, (m->num_props + 1u) * sizeof m->props[0]);
    if (!grown) {
        free(copy);
        return OWU_E_NOMEM;
    }
    m->props = grown;
    m->props[m->num_props].interface = interface;
    m->props[m->num_props].data = copy;
    m->props[m->num_props].len = len;
    m->num_props++;
    return OWU_OK;
}

/* Copies src[0..len) into *dst (NULL stays NULL); false only when out of memory. */
static bool clone_blob(uint8_t **dst, const uint8_t *src, size_t len)
{
    *dst = NULL;
    if (!src)
        return true;
    *dst = dup_bytes(src, len);
    return *dst != NULL;
}

struct owu_devinfo *owu_devinfo_clone(const struct owu_devinfo *info)
{
    if (!info)
        return NULL;
    struct owu_devinfo *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    /* Scalars and fixed arrays by value; then every pointer is replaced by a copy (or NULL
     * with a zero count), so owu_devinfo_free works at any point of a failed clone. */
    *c = *info;
    c->configs = NULL;
    c->num_configs = 0;
    c->bos = NULL;
    c->strings = NULL;
    c->num_strings = 0;
    c->msos20 = NULL;
    memset(&c->msos1, 0, sizeof c->msos1);
    c->msos1.present = info->msos1.present;
    c->msos1.vendor_code = info->msos1.vendor_code;
    c->msos1.flags = info->msos1.flags;

    if (info->num_configs) {
        c->configs = calloc(info->num_configs, sizeof c->configs[0]);
        if (!c->configs)
            goto fail;
        for (unsigned i = 0; i < info->num_configs; i++) {
            c->num_configs = i + 1;
            c->configs[i].len = info->configs[i].len;
            if (!clone_blob(&c->configs[i].data, info->configs[i].data, info->configs[i].len))
                goto fail;
        }
    }
    if (!clone_blob(&c->bos, info->bos, info->bos_len))
        goto fail;
    if (info->num_strings) {
        c->strings = calloc(info->num_strings, sizeof c->strings[0]);
        if (!c->strings)
            goto fail;
        for (unsigned i = 0; i < info->num_strings; i++) {
            c->num_strings = i + 1;
            c->strings[i] = info->strings[i];
            if (!clone_blob(&c->strings[i].desc, info->strings[i].desc, info->strings[i].len))
                goto fail;
        }
    }
    const struct owu_msos1_info *m = &info->msos1;
    c->msos1.compat_id_len = m->compat_id_len;
    if (!clone_blob(&c->msos1.compat_id, m->compat_id, m->compat_id_len))
        goto fail;
    c->msos1.container_id_len = m->container_id_len;
    if (!clone_blob(&c->msos1.container_id, m->container_id, m->container_id_len))
        goto fail;
    if (m->num_props) {
        c->msos1.props = calloc(m->num_props, sizeof c->msos1.props[0]);
        if (!c->msos1.props)
            goto fail;
        for (unsigned i = 0; i < m->num_props; i++) {
            c->msos1.num_props = i + 1;
            c->msos1.props[i] = m->props[i];
            if (!clone_blob(&c->msos1.props[i].data, m->props[i].data, m->props[i].len))
                goto fail;
        }
    }
    if (!clone_blob(&c->msos20, info->msos20, info->msos20_len))
        goto fail;
    return c;

fail:
    owu_devinfo_free(c);
    return NULL;
}

static const struct owu_string_entry *find_exact(const struct owu_devinfo *info, uint8_t index,
                                                 uint16_t langid)
{
    for (unsigned i = 0; i < info->num_strings; i++)
        if (info->strings[i].index == index && info->strings[i].langid == langid)
            return &info->strings[i];
    return NULL;
}

/* The first LANGID of string descriptor 0, or 0 when there is none. */
static uint16_t first_langid(const struct owu_devinfo *info)
{
    const struct owu_string_entry *e = find_exact(info, 0, 0);
    uint16_t ids[1];
    if (e && e->desc && owu_langids_parse(e->desc, e->len, ids, 1, NULL) == 1)
        return ids[0];
    return 0;
}

const struct owu_string_entry *owu_devinfo_find_string(const struct owu_devinfo *info,
                                                       uint8_t index, uint16_t langid)
{
    if (!info)
        return NULL;
    if (langid != 0)
        return find_exact(info, index, langid);
    /* Any language: US English when the device gave it, then the device's first LANGID,
     * then whatever was read for this index. */
    const struct owu_string_entry *e = find_exact(info, index, LANGID_EN_US);
    if (e)
        return e;
    uint16_t first = first_langid(info);
    if (first && (e = find_exact(info, index, first)) != NULL)
        return e;
    for (unsigned i = 0; i < info->num_strings; i++)
        if (info->strings[i].index == index)
            return &info->strings[i];
    return NULL;
}

bool owu_devinfo_string(const struct owu_devinfo *info, uint8_t index, char *out, size_t outsz)
{
    if (!out || outsz == 0)
        return false;
    out[0] = '\0';
    if (!info || index == 0)
        return false; /* index 0 is the LANGID list, not text */
    const struct owu_string_entry *e = owu_devinfo_find_string(info, index, 0);
    if (!e || !e->desc)
        return false;
    return owu_string_desc_decode(e->desc, e->len, out, outsz, NULL) >= 0;
}

int owu_devinfo_device_desc(const struct owu_devinfo *info, struct owu_device_desc *out, owu_err *err)
{
    if (!info)
        return owu_fail(err, OWU_E_INVAL, "device descriptor: no device information");
    size_t len = info->device_len <= sizeof info->device ? info->device_len : sizeof info->device;
    return owu_device_desc_parse(info->device, len, info->speed, out, err);
}

int owu_devinfo_config(const struct owu_devinfo *info, unsigned index, struct owu_config **out,
                       owu_err *err)
{
    if (out)
        *out = NULL;
    if (!info || !out)
        return owu_fail(err, OWU_E_INVAL, "configuration: no device information or result");
    if (index >= info->num_configs || !info->configs[index].data)
        return owu_fail(err, OWU_E_NOTFOUND,
                        "configuration index %u: the device has %u configuration descriptor%s",
                        index, info->num_configs, info->num_configs == 1 ? "" : "s");
    return owu_config_parse(info->configs[index].data, info->configs[index].len, out, err);
}
