/* INF queries: [Version] (checked when loading), target platforms, and the choice of
 * decorated Models sections through [Manufacturer] (pnp-ids.md §4.3-§4.5). */
#include "pnp/inf_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

char *owu_inf_arena_trimdup(struct owu_inf_arena *a, const char *s)
{
    size_t b = 0, e = strlen(s);
    while (b < e && is_blank(s[b]))
        b++;
    while (e > b && is_blank(s[e - 1]))
        e--;
    return owu_inf_arena_strndup(a, s + b, e - b);
}

/* ------------------------------------------------------------------------------------ */
/* DriverVer                                                                             */

static bool parse_uint(const char **pp, unsigned max_digits, unsigned *out)
{
    const char *p = *pp;
    unsigned v = 0, n = 0;
    while (*p >= '0' && *p <= '9' && n < max_digits) {
        v = v * 10 + (unsigned)(*p - '0');
        p++;
        n++;
    }
    if (!n || (*p >= '0' && *p <= '9'))
        return false;
    *pp = p;
    *out = v;
    return true;
}

static bool parse_date(const char *s, struct owu_inf_driver_ver *dv)
{
    unsigned m, d, y;
    const char *p = s;
    if (!parse_uint(&p, 2, &m) || (*p != '/' && *p != '-'))
        return false;
    p++;
    if (!parse_uint(&p, 2, &d) || (*p != '/' && *p != '-'))
        return false;
    p++;
    if (!parse_uint(&p, 4, &y) || *p)
        return false;
    static const unsigned char mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y == 0 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m == 2 && d == 29 && !leap)
        return false;
    dv->year = (uint16_t)y;
    dv->month = (uint8_t)m;
    dv->day = (uint8_t)d;
    return true;
}

static bool parse_version(const char *s, uint16_t v[4])
{
    uint16_t tmp[4] = {0, 0, 0, 0};
    const char *p = s;
    if (*p) {
        for (int i = 0;; i++) {
            unsigned x;
            if (i == 4 || !parse_uint(&p, 5, &x) || x > 65534)
                return false;
            tmp[i] = (uint16_t)x;
            if (!*p)
                break;
            if (*p != '.')
                return false;
            p++;
        }
    }
    memcpy(v, tmp, sizeof tmp);
    return true;
}

bool owu_inf_parse_driver_ver(const struct owu_inf_entry *e, struct owu_inf_driver_ver *dv,
                              char *why, size_t why_len)
{
    *dv = (struct owu_inf_driver_ver){.present = true};
    why[0] = '\0';
    const char *date = e->num_fields > 0 ? e->fields[0] : "";
    const char *ver = e->num_fields > 1 ? e->fields[1] : "";
    bool ok = true;
    if (!parse_date(date, dv)) {
        dv->year = dv->month = dv->day = 0;
        snprintf(why, why_len, "DriverVer date \"%.40s\" is not a valid mm/dd/yyyy date", date);
        ok = false;
    }
    if (!parse_version(ver, dv->version)) {
        size_t k = strlen(why);
        snprintf(why + k, why_len - k, "%sDriverVer version \"%.40s\" is not w.x.y.z (0-65534)",
                 k ? "; " : "", ver);
        ok = false;
    }
    return ok;
}

int owu_inf_driver_ver_cmp(const struct owu_inf_driver_ver *a, const struct owu_inf_driver_ver *b)
{
    long da = (long)a->year * 10000 + a->month * 100 + a->day;
    long db = (long)b->year * 10000 + b->month * 100 + b->day;
    if (da != db)
        return da < db ? -1 : 1;
    for (int i = 0; i < 4; i++)
        if (a->version[i] != b->version[i])
            return a->version[i] < b->version[i] ? -1 : 1;
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* [Version]                                                                             */

static bool is_guid(const char *s)
{
    if (strlen(s) != 38 || s[0] != '{' || s[37] != '}')
        return false;
    for (int i = 1; i < 37; i++) {
        bool dash = i == 9 || i == 14 || i == 19 || i == 24;
        char c = s[i];
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (dash ? c != '-' : !hex)
            return false;
    }
    return true;
}

static const char *first_field(const struct owu_inf_section *s, const char *key, unsigned *line)
{
    const struct owu_inf_entry *e = owu_inf_find_entry(s, key);
    if (line)
        *line = e ? e->line : 0;
    return e && e->num_fields ? e->fields[0] : NULL;
}

int owu_inf_read_version(struct owu_inf *inf, owu_err *err)
{
    struct owu_inf_version *v = &inf->version;
    *v = (struct owu_inf_version){.pnp_lockdown = -1};
    const struct owu_inf_section *s = owu_inf_find_section(inf, "Version");
    if (!s)
        return owu_fail(err, OWU_E_PARSE, "%s: no [Version] section", inf->name);
    unsigned line;
    v->signature = first_field(s, "Signature", &line);
    if (!v->signature)
        return owu_fail(err, OWU_E_PARSE, "%s:%u: [Version] has no Signature", inf->name,
                        line ? line : s->line);
    if (owu_inf_strcasecmp(v->signature, "$Windows NT$") != 0 &&
        owu_inf_strcasecmp(v->signature, "$Chicago$") != 0)
        return owu_fail(err, OWU_E_PARSE,
                        "%s:%u: Signature \"%.60s\" is neither $Windows NT$ nor $Chicago$",
                        inf->name, line, v->signature);
    v->class_name = first_field(s, "Class", &line);
    if (v->class_name && owu_inf_utf8_chars(v->class_name, strlen(v->class_name)) > 32)
        owu_inf_warn(inf, line, "Class name longer than 32 characters");
    v->class_guid = first_field(s, "ClassGuid", &line);
    if (v->class_guid && !is_guid(v->class_guid))
        owu_inf_warn(inf, line, "ClassGuid \"%.60s\" is not a {GUID}", v->class_guid);
    v->provider = first_field(s, "Provider", NULL);
    v->catalog_file = first_field(s, "CatalogFile", NULL);
    const struct owu_inf_entry *dv = owu_inf_find_entry(s, "DriverVer");
    if (dv) {
        char why[200];
        if (!owu_inf_parse_driver_ver(dv, &v->driver_ver, why, sizeof why))
            owu_inf_warn(inf, dv->line, "%s", why);
    } else {
        owu_inf_warn(inf, s->line, "[Version] has no DriverVer (date and version taken as 0)");
    }
    const char *lock = first_field(s, "PnpLockdown", &line);
    if (lock) {
        uint64_t x;
        if (owu_inf_parse_number(lock, 0x7FFFFFFF, &x))
            v->pnp_lockdown = (int)x;
        else
            owu_inf_warn(inf, line, "PnpLockdown \"%.40s\" is not a number", lock);
    }
    return OWU_OK;
}

const struct owu_inf_version *owu_inf_get_version(const struct owu_inf *inf)
{
    return inf ? &inf->version : NULL;
}

/* ------------------------------------------------------------------------------------ */
/* Targets                                                                               */

static const char *const arch_names[] = {
    [OWU_INF_ARCH_X86] = "x86",     [OWU_INF_ARCH_AMD64] = "amd64",
    [OWU_INF_ARCH_IA64] = "ia64",   [OWU_INF_ARCH_ARM] = "arm",
    [OWU_INF_ARCH_ARM64] = "arm64",
};

void owu_inf_target_default(struct owu_inf_target *t)
{
    *t = (struct owu_inf_target){
        .arch = OWU_INF_ARCH_AMD64, .major = 10, .minor = 0, .build = 19041,
        .product_type = 1, .suite_mask = 0};
}

const char *owu_inf_arch_name(enum owu_inf_arch arch)
{
    return (unsigned)arch < sizeof arch_names / sizeof arch_names[0] ? arch_names[arch] : "?";
}

static int arch_lookup(const char *s, size_t n, enum owu_inf_arch *out)
{
    for (size_t i = 0; i < sizeof arch_names / sizeof arch_names[0]; i++) {
        if (strlen(arch_names[i]) == n && strncasecmp(arch_names[i], s, n) == 0) {
            *out = (enum owu_inf_arch)i;
            return OWU_OK;
        }
    }
    return OWU_E_NOTFOUND;
}

int owu_inf_arch_parse(const char *s, enum owu_inf_arch *out)
{
    if (!s || !out)
        return OWU_E_INVAL;
    if (owu_inf_strcasecmp(s, "x64") == 0) {
        *out = OWU_INF_ARCH_AMD64;
        return OWU_OK;
    }
    return arch_lookup(s, strlen(s), out) == OWU_OK ? OWU_OK : OWU_E_INVAL;
}

const char *owu_inf_catalog_file(const struct owu_inf *inf, const struct owu_inf_target *t)
{
    struct owu_inf_target def;
    if (!t) {
        owu_inf_target_default(&def);
        t = &def;
    }
    const struct owu_inf_section *s = owu_inf_find_section(inf, "Version");
    if (!s)
        return NULL;
    char key[40];
    snprintf(key, sizeof key, "CatalogFile.NT%s", owu_inf_arch_name(t->arch));
    const char *v = first_field(s, key, NULL);
    if (!v)
        v = first_field(s, "CatalogFile.NT", NULL);
    if (!v)
        v = first_field(s, "CatalogFile", NULL);
    return v;
}

/* ------------------------------------------------------------------------------------ */
/* [Manufacturer] decorations                                                            */

struct decoration {
    bool has_arch, has_major, has_minor, has_type, has_suite, has_build;
    enum owu_inf_arch arch;
    uint64_t major, minor, type, suite, build;
};

/* NT[arch][.major[.minor[.producttype[.suitemask[.build]]]]], fields may be empty. */
static bool parse_decoration(const char *s, struct decoration *d)
{
    *d = (struct decoration){0};
    if (strncasecmp(s, "NT", 2) != 0)
        return false;
    const char *p = s + 2;
    const char *dot = strchr(p, '.');
    size_t alen = dot ? (size_t)(dot - p) : strlen(p);
    if (alen) {
        if (arch_lookup(p, alen, &d->arch) != OWU_OK)
            return false;
        d->has_arch = true;
    }
    if (!dot)
        return true;
    p = dot + 1;
    bool *has[5] = {&d->has_major, &d->has_minor, &d->has_type, &d->has_suite, &d->has_build};
    uint64_t *val[5] = {&d->major, &d->minor, &d->type, &d->suite, &d->build};
    for (int i = 0;; i++) {
        if (i == 5)
            return false;
        const char *end = strchr(p, '.');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n) {
            char num[24];
            if (n >= sizeof num)
                return false;
            memcpy(num, p, n);
            num[n] = '\0';
            if (!owu_inf_parse_number(num, 0xFFFFFFFFu, val[i]))
                return false;
            *has[i] = true;
        }
        if (!end)
            return true;
        p = end + 1;
    }
}

static bool build_honoured(const struct decoration *d, const struct owu_inf_target *t)
{
    return d->has_build && d->has_major && d->major == t->major && d->minor == t->minor;
}

static bool decoration_applies(const struct decoration *d, const struct owu_inf_target *t)
{
    if (d->has_arch && d->arch != t->arch)
        return false;
    if (d->has_major && (d->major > t->major || (d->major == t->major && d->minor > t->minor)))
        return false;
    if (build_honoured(d, t) && d->build > t->build)
        return false;
    if (d->has_type && d->type != t->product_type)
        return false;
    if (d->has_suite && (t->suite_mask & d->suite) != d->suite)
        return false;
    return true;
}

/* >0 when a is the better choice: higher version first, then the more specific one. */
static int decoration_cmp(const struct decoration *a, const struct decoration *b,
                          const struct owu_inf_target *t)
{
    uint64_t ka[6] = {a->major, a->minor, build_honoured(a, t) ? a->build : 0, a->has_arch,
                      a->has_type, a->has_suite};
    uint64_t kb[6] = {b->major, b->minor, build_honoured(b, t) ? b->build : 0, b->has_arch,
                      b->has_type, b->has_suite};
    for (int i = 0; i < 6; i++)
        if (ka[i] != kb[i])
            return ka[i] > kb[i] ? 1 : -1;
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* Models                                                                                */

struct models_priv {
    struct owu_inf_models pub;
    struct owu_inf_arena arena;
    size_t cap_mfg, cap_models;
    struct owu_inf_strvec warnings;
};

static void mwarn(struct models_priv *mp, const struct owu_inf *inf, unsigned line,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void mwarn(struct models_priv *mp, const struct owu_inf *inf, unsigned line,
                  const char *fmt, ...)
{
    if (mp->warnings.n >= OWU_INF_MAX_WARNINGS)
        return;
    char msg[512];
    int k = snprintf(msg, sizeof msg, "%s:%u: ", inf->name, line);
    va_list ap;
    va_start(ap, fmt);
    if (k >= 0 && (size_t)k < sizeof msg)
        vsnprintf(msg + k, sizeof msg - (size_t)k, fmt, ap);
    va_end(ap);
    char *copy = owu_inf_arena_strdup(&mp->arena, msg);
    if (copy)
        owu_inf_strvec_push(&mp->warnings, copy);
}

void owu_inf_models_free(struct owu_inf_models *m)
{
    if (!m)
        return;
    struct models_priv *mp = m->priv_;
    free(mp->pub.manufacturers);
    free(mp->pub.models);
    owu_inf_strvec_free(&mp->warnings);
    owu_inf_arena_free(&mp->arena);
    free(mp);
}

static int grow_array(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return OWU_OK;
    size_t c = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, c * elem);
    if (!p)
        return OWU_E_NOMEM;
    *arr = p;
    *cap = c;
    return OWU_OK;
}

#define TRIM(x) owu_inf_arena_trimdup(&mp->arena, (x))

static int add_model_lines(struct models_priv *mp, const struct owu_inf *inf,
                           const struct owu_inf_manufacturer *mfg,
                           const struct owu_inf_section *s)
{
    for (size_t i = 0; i < s->num_entries; i++) {
        const struct owu_inf_entry *e = &s->entries[i];
        if (!e->key) {
            mwarn(mp, inf, e->line, "[%s]: Models line without '=' ignored", s->name);
            continue;
        }
        if (!e->num_fields || !e->fields[0][0])
            mwarn(mp, inf, e->line, "[%s]: Models line without install section", s->name);
        if (grow_array((void **)&mp->pub.models, &mp->cap_models, mp->pub.num_models,
                       sizeof *mp->pub.models))
            return OWU_E_NOMEM;
        struct owu_inf_model *m = &mp->pub.models[mp->pub.num_models];
        *m = (struct owu_inf_model){.manufacturer = mfg->name, .section = mfg->section,
                                    .line = e->line};
        if (!(m->description = TRIM(e->key)) ||
            !(m->install = TRIM(e->num_fields > 0 ? e->fields[0] : "")) ||
            !(m->hardware_id = TRIM(e->num_fields > 1 ? e->fields[1] : "")))
            return OWU_E_NOMEM;
        size_t ncompat = e->num_fields > 2 ? e->num_fields - 2 : 0;
        if (ncompat) {
            const char **v = owu_inf_arena_alloc(&mp->arena, ncompat * sizeof *v);
            if (!v)
                return OWU_E_NOMEM;
            size_t k = 0;
            for (size_t f = 2; f < e->num_fields; f++) {
                char *id = TRIM(e->fields[f]);
                if (!id)
                    return OWU_E_NOMEM;
                if (*id)   /* skip what trailing or doubled commas leave */
                    v[k++] = id;
            }
            m->compatible_ids = v;
            m->num_compatible_ids = k;
        }
        mp->pub.num_models++;
    }
    return OWU_OK;
}

static int add_manufacturer(struct models_priv *mp, const struct owu_inf *inf,
                            const struct owu_inf_entry *e, const struct owu_inf_target *t)
{
    const char *models = TRIM(e->num_fields ? e->fields[0] : "");
    if (!models)
        return OWU_E_NOMEM;
    if (!*models) {
        mwarn(mp, inf, e->line, "[Manufacturer] entry without Models section ignored");
        return OWU_OK;
    }
    if (grow_array((void **)&mp->pub.manufacturers, &mp->cap_mfg, mp->pub.num_manufacturers,
                   sizeof *mp->pub.manufacturers))
        return OWU_E_NOMEM;
    struct owu_inf_manufacturer *mfg = &mp->pub.manufacturers[mp->pub.num_manufacturers];
    *mfg = (struct owu_inf_manufacturer){.line = e->line};
    mfg->models = models;
    if (!(mfg->name = e->key ? TRIM(e->key) : models))
        return OWU_E_NOMEM;

    const char *best = NULL;
    struct decoration best_d = {0};
    for (size_t i = 1; i < e->num_fields; i++) {
        const char *text = TRIM(e->fields[i]);
        if (!text)
            return OWU_E_NOMEM;
        if (!*text)
            continue;
        struct decoration d;
        if (!parse_decoration(text, &d)) {
            mwarn(mp, inf, e->line, "TargetOSVersion \"%.80s\" not understood; ignored", text);
            continue;
        }
        if (!decoration_applies(&d, t))
            continue;
        if (!best || decoration_cmp(&d, &best_d, t) > 0) {
            best = text;
            best_d = d;
        }
    }
    /* Without an applicable decoration only x86 still reads the undecorated section. */
    if (!best && t->arch == OWU_INF_ARCH_X86)
        best = "";
    mp->pub.num_manufacturers++;
    if (!best)
        return OWU_OK;
    size_t n = strlen(models) + 1 + strlen(best) + 1;
    char *sec = owu_inf_arena_alloc(&mp->arena, n);
    if (!sec)
        return OWU_E_NOMEM;
    mfg->decoration = best;
    snprintf(sec, n, "%s%s%s", models, *best ? "." : "", best);
    mfg->section = sec;
    const struct owu_inf_section *s = owu_inf_find_section(inf, sec);
    if (!s) {
        mwarn(mp, inf, e->line, "Models section [%.200s] not found", sec);
        return OWU_OK;
    }
    mfg->section_found = true;
    if (!(mfg->section = owu_inf_arena_strdup(&mp->arena, s->name)))   /* INF's spelling */
        return OWU_E_NOMEM;
    return add_model_lines(mp, inf, mfg, s);
}

int owu_inf_get_models(const struct owu_inf *inf, const struct owu_inf_target *t,
                       struct owu_inf_models **out, owu_err *err)
{
    if (out)
        *out = NULL;
    if (!inf || !out)
        return owu_fail(err, OWU_E_INVAL, "owu_inf_get_models: NULL argument");
    struct owu_inf_target def;
    if (!t) {
        owu_inf_target_default(&def);
        t = &def;
    }
    struct models_priv *mp = calloc(1, sizeof *mp);
    if (!mp)
        return owu_fail(err, OWU_E_NOMEM, "%s: out of memory", inf->name);
    mp->pub.priv_ = mp;
    const struct owu_inf_section *s = owu_inf_find_section(inf, "Manufacturer");
    int rc = OWU_OK;
    for (size_t i = 0; s && i < s->num_entries && rc == OWU_OK; i++)
        rc = add_manufacturer(mp, inf, &s->entries[i], t);
    if (rc) {
        owu_inf_models_free(&mp->pub);
        return owu_fail(err, rc, "%s: out of memory listing models", inf->name);
    }
    mp->pub.warnings = mp->warnings.v;
    mp->pub.num_warnings = mp->warnings.n;
    *out = &mp->pub;
    return OWU_OK;
}
