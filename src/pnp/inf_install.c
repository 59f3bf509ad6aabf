/* DDInstall resolution (pnp-ids.md §2.4, §4.6, §4.7): platform suffix lookup, the
 * section's own directives (FeatureScore, ExcludeID, DriverVer), Include/Needs expansion
 * through the caller's resolver, the .Services/.HW/.Interfaces extensions, and typed
 * AddReg lines.
 *
 * A section named by a directive (AddReg, CopyFiles, AddService's service-install and
 * event-log sections, AddInterface's section, DelReg, Needs, ...) is looked up in the INF
 * holding the directive, then in the INFs that section's Include= names, then in any INF
 * the query included so far — the Windows 8.1 usbser pattern (Include=mdmcpq.inf,
 * AddReg=LowerFilterAddReg) names sections of the included INF without Needs. Needs names
 * are tried with the same .NT<arch>/.NT/bare order as the DDInstall section and processed
 * in place of the Needs directive. Needs inside a Needs section are ignored with a warning:
 * the docs say Needs cannot be nested, and it keeps the expansion one level deep. */
#include "pnp/inf_internal.h"
#include "core/hex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REG_NONE 0u
#define REG_SZ 1u
#define REG_EXPAND_SZ 2u
#define REG_BINARY 3u
#define REG_DWORD 4u
#define REG_MULTI_SZ 7u
#define REG_QWORD 11u

/* ------------------------------------------------------------------------------------ */
/* AddReg lines                                                                          */

static bool hex_byte(const char *s, uint8_t *out)
{
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        s += 2;
    size_t n = strlen(s);
    uint32_t v;
    if (n > 2 || !owu_hex_value(s, n, &v))   /* 1 or 2 digits */
        return false;
    *out = (uint8_t)v;
    return true;
}

/* Decimal (optionally negative: two's complement), or 0x hex, into `bits` bits. */
static bool reg_number(const char *s, unsigned bits, uint64_t *out)
{
    uint64_t max = bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
    if (s[0] == '-') {
        uint64_t v;
        if (strchr(s, 'x') || strchr(s, 'X') || !owu_inf_parse_number(s + 1, (max >> 1) + 1, &v))
            return false;
        *out = (0 - v) & max;
        return true;
    }
    return owu_inf_parse_number(s, max, out);
}

static const char *const reg_roots[] = {"HKR", "HKLM", "HKCU", "HKCR", "HKU"};

/* Parses the fields of one AddReg line into r, allocating in a. On OWU_E_PARSE `why`
 * says which field is wrong; on OWU_OK a non-empty `why` is a warning. */
static int reg_parse(struct owu_inf_arena *a, const char *const *f, size_t n,
                     struct owu_inf_reg *r, char *why, size_t why_len)
{
    why[0] = '\0';
    *r = (struct owu_inf_reg){.inf = "", .subkey = "", .name = ""};
    if (n < 1 || !f[0][0]) {
        snprintf(why, why_len, "AddReg line without registry root");
        return OWU_E_PARSE;
    }
    for (size_t i = 0; i < sizeof reg_roots / sizeof reg_roots[0]; i++)
        if (owu_inf_strcasecmp(f[0], reg_roots[i]) == 0)
            r->root = reg_roots[i];
    if (!r->root) {
        snprintf(why, why_len, "unknown registry root \"%.40s\"", f[0]);
        return OWU_E_PARSE;
    }
    if (n > 1 && !(r->subkey = owu_inf_arena_strdup(a, f[1])))
        return OWU_E_NOMEM;
    if (n > 2 && !(r->name = owu_inf_arena_strdup(a, f[2])))
        return OWU_E_NOMEM;
    uint64_t flags = 0;
    if (n > 3 && f[3][0] && !owu_inf_parse_number(f[3], 0xFFFFFFFFu, &flags)) {
        snprintf(why, why_len, "AddReg flags \"%.40s\" are not a number", f[3]);
        return OWU_E_PARSE;
    }
    r->flags = (uint32_t)flags;
    const char *const *vals = n > 4 ? f + 4 : NULL;
    size_t nv = n > 4 ? n - 4 : 0;
    if (nv == 1 && !vals[0][0])
        nv = 0;   /* "...,flags," gives no value */
    r->has_value = nv > 0;

    uint32_t t = r->flags & OWU_INF_FLG_TYPE_MASK;
    switch (t) {
    case 0x00000000u: r->type = REG_SZ; break;
    case 0x00010000u: r->type = REG_MULTI_SZ; break;
    case 0x00020000u: r->type = REG_EXPAND_SZ; break;
    case 0x00000001u: r->type = REG_BINARY; break;
    case 0x00010001u: r->type = REG_DWORD; break;
    case 0x00020001u: r->type = REG_NONE; break;
    case 0x000B0001u: r->type = REG_QWORD; break;
    default:
        if (!(t & OWU_INF_FLG_BINVALUETYPE)) {
            snprintf(why, why_len, "AddReg flags 0x%08X give no known value type", r->flags);
            return OWU_E_PARSE;
        }
        r->type = t >> 16;   /* custom type, binary data */
        break;
    }

    if (r->type == REG_SZ || r->type == REG_EXPAND_SZ) {
        const char *s = nv ? vals[0] : "";
        char *d = owu_inf_arena_strdup(a, s);
        if (!d)
            return OWU_E_NOMEM;
        r->data = (const uint8_t *)d;
        r->len = strlen(s) + 1;
        if (nv > 1)
            snprintf(why, why_len, "string value %.60s: %zu extra fields ignored (quote a "
                                   "value that contains commas)", r->name, nv - 1);
        return OWU_OK;
    }
    if (r->type == REG_MULTI_SZ) {
        size_t total = 1;
        for (size_t i = 0; i < nv; i++)
            if (vals[i][0])
                total += strlen(vals[i]) + 1;
        char *d = owu_inf_arena_alloc(a, total);
        if (!d)
            return OWU_E_NOMEM;
        size_t o = 0;
        for (size_t i = 0; i < nv; i++) {
            size_t k = strlen(vals[i]);
            if (!k)
                continue;   /* an empty string would end the list early */
            memcpy(d + o, vals[i], k + 1);
            o += k + 1;
        }
        d[o++] = '\0';
        r->data = (const uint8_t *)d;
        r->len = o;
        return OWU_OK;
    }
    if ((r->type == REG_DWORD || r->type == REG_QWORD) && nv <= 1) {
        unsigned bits = r->type == REG_DWORD ? 32 : 64;
        uint64_t v = 0;
        if (nv && !reg_number(vals[0], bits, &v)) {
            snprintf(why, why_len, "%s value \"%.40s\" is not a %u-bit number",
                     bits == 32 ? "DWORD" : "QWORD", vals[0], bits);
            return OWU_E_PARSE;
        }
        uint8_t *d = owu_inf_arena_alloc(a, 8);
        if (!d)
            return OWU_E_NOMEM;
        for (unsigned i = 0; i < bits / 8; i++)
            d[i] = (uint8_t)(v >> (8 * i));
        r->data = d;
        r->len = bits / 8;
        r->number = v;
        return OWU_OK;
    }
    /* Binary data: one hex byte per field. A DWORD/QWORD written as bytes
     * ("00,C2,01,00") is little-endian, padded with zeros. */
    size_t want = r->type == REG_DWORD ? 4 : r->type == REG_QWORD ? 8 : nv;
    if (nv > want) {
        snprintf(why, why_len, "%s value has %zu bytes, more than %zu",
                 r->type == REG_DWORD ? "DWORD" : "QWORD", nv, want);
        return OWU_E_PARSE;
    }
    uint8_t *d = owu_inf_arena_alloc(a, want ? want : 1);
    if (!d)
        return OWU_E_NOMEM;
    memset(d, 0, want ? want : 1);
    for (size_t i = 0; i < nv; i++) {
        if (!hex_byte(vals[i], &d[i])) {
            snprintf(why, why_len, "value byte %zu \"%.20s\" is not a hex byte", i + 1, vals[i]);
            return OWU_E_PARSE;
        }
    }
    r->data = d;
    r->len = want;
    if (r->type == REG_DWORD || r->type == REG_QWORD)
        for (size_t i = 0; i < want; i++)
            r->number |= (uint64_t)d[i] << (8 * i);
    return OWU_OK;
}

struct owu_inf_reg *owu_inf_reg_parse(const char *const *fields, size_t num_fields, owu_err *err)
{
    if (!fields && num_fields) {
        owu_fail(err, OWU_E_INVAL, "owu_inf_reg_parse: NULL fields");
        return NULL;
    }
    struct owu_inf_arena a = {0};
    struct owu_inf_reg r;
    char why[200];
    int rc = reg_parse(&a, fields, num_fields, &r, why, sizeof why);
    if (rc) {
        owu_inf_arena_free(&a);
        if (rc == OWU_E_NOMEM)
            owu_fail(err, rc, "out of memory");
        else
            owu_fail(err, rc, "%s", why);
        return NULL;
    }
    /* One block: struct, data, subkey, name (root points at a constant). */
    size_t ls = strlen(r.subkey) + 1, ln = strlen(r.name) + 1;
    struct owu_inf_reg *out = malloc(sizeof *out + r.len + ls + ln);
    if (!out) {
        owu_inf_arena_free(&a);
        owu_fail(err, OWU_E_NOMEM, "out of memory");
        return NULL;
    }
    *out = r;
    uint8_t *p = (uint8_t *)(out + 1);
    memcpy(p, r.data, r.len);
    out->data = p;
    memcpy(p + r.len, r.subkey, ls);
    out->subkey = (const char *)(p + r.len);
    memcpy(p + r.len + ls, r.name, ln);
    out->name = (const char *)(p + r.len + ls);
    out->inf = "";
    owu_inf_arena_free(&a);
    return out;
}

/* ------------------------------------------------------------------------------------ */
/* Result building                                                                       */

/* Distinct Include= names one query resolves; real packages name one to three. */
#define MAX_INCLUDES 64

struct included {
    const char *name;
    const struct owu_inf *inf;   /* NULL when the resolver had none */
};

struct install_priv {
    struct owu_inf_install pub;
    struct owu_inf_arena arena;
    size_t cap_dir, cap_addreg, cap_copy, cap_svc, cap_hw, cap_if;
    struct owu_inf_strvec warnings, exclude, includes, needs;
    struct included *inc;
    size_t num_inc, cap_inc;
    bool inc_overflow;           /* MAX_INCLUDES reached (warned once) */
    const struct owu_inf_target *t;
    const struct owu_inf_resolver *res;
};

enum bucket { B_INSTALL, B_SERVICES, B_HW, B_INTERFACES };

static void iwarn(struct install_priv *ip, const char *inf, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void iwarn(struct install_priv *ip, const char *inf, unsigned line, const char *fmt, ...)
{
    if (ip->warnings.n >= OWU_INF_MAX_WARNINGS)
        return;
    char msg[512];
    int k = line ? snprintf(msg, sizeof msg, "%s:%u: ", inf, line)
                 : snprintf(msg, sizeof msg, "%s: ", inf);
    va_list ap;
    va_start(ap, fmt);
    if (k >= 0 && (size_t)k < sizeof msg)
        vsnprintf(msg + k, sizeof msg - (size_t)k, fmt, ap);
    va_end(ap);
    char *copy = owu_inf_arena_strdup(&ip->arena, msg);
    if (copy)
        owu_inf_strvec_push(&ip->warnings, copy);
}

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return OWU_OK;
    size_t c = *cap ? *cap * 2 : 8;
    void *p = realloc(*arr, c * elem);
    if (!p)
        return OWU_E_NOMEM;
    *arr = p;
    *cap = c;
    return OWU_OK;
}

#define DUP(s) owu_inf_arena_strdup(&ip->arena, (s))
#define TRIM(s) owu_inf_arena_trimdup(&ip->arena, (s))

void owu_inf_install_free(struct owu_inf_install *in)
{
    if (!in)
        return;
    struct install_priv *ip = in->priv_;
    free(ip->pub.directives);
    free(ip->pub.addreg);
    free(ip->pub.copyfiles);
    free(ip->pub.services);
    free(ip->pub.hw_addreg);
    free(ip->pub.interfaces);
    owu_inf_strvec_free(&ip->warnings);
    owu_inf_strvec_free(&ip->exclude);
    owu_inf_strvec_free(&ip->includes);
    owu_inf_strvec_free(&ip->needs);
    free(ip->inc);
    owu_inf_arena_free(&ip->arena);
    free(ip);
}

/* Tries base.NT<arch>, base.NT, base; *suffix gets what was appended. */
static const struct owu_inf_section *find_decorated(const struct owu_inf *inf, const char *base,
                                                    const struct owu_inf_target *t,
                                                    const char **suffix)
{
    static const char *const sfx[] = {".NTx86", ".NTamd64", ".NTia64", ".NTarm", ".NTarm64"};
    char name[OWU_INF_MAX_SECTION_NAME * 4 + 16];
    if (strlen(base) > OWU_INF_MAX_SECTION_NAME * 4)
        return NULL;   /* longer than any section name can be */
    const char *cand[3] = {sfx[t->arch], ".NT", ""};
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "%s%s", base, cand[i]);
        const struct owu_inf_section *s = owu_inf_find_section(inf, name);
        if (s) {
            *suffix = cand[i];
            return s;
        }
    }
    return NULL;
}

static bool has_nt_decoration(const char *name)
{
    static const char *const sfx[] = {".NT", ".NTx86", ".NTamd64", ".NTia64", ".NTarm",
                                      ".NTarm64"};
    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++)
        if (owu_inf_ends_with_ci(name, sfx[i]))
            return true;
    return false;
}

/* The included INF named `name`, asking the resolver once per query. At most MAX_INCLUDES
 * names per query are asked for: that bounds every later search over them. */
static const struct owu_inf *include_inf(struct install_priv *ip, const struct owu_inf *from,
                                         const char *name, unsigned line)
{
    for (size_t i = 0; i < ip->num_inc; i++)
        if (owu_inf_strcasecmp(ip->inc[i].name, name) == 0)
            return ip->inc[i].inf;
    if (ip->num_inc >= MAX_INCLUDES) {
        if (!ip->inc_overflow)
            iwarn(ip, from->name, line, "more than %d included INFs; %.200s and later ones "
                                        "ignored", MAX_INCLUDES, name);
        ip->inc_overflow = true;
        return NULL;
    }
    const struct owu_inf *inf = NULL;
    if (ip->res && ip->res->lookup)
        inf = ip->res->lookup(ip->res->ctx, name);
    if (!inf)
        iwarn(ip, from->name, line, "included INF %.200s is not available", name);
    if (grow((void **)&ip->inc, &ip->cap_inc, ip->num_inc, sizeof *ip->inc) == OWU_OK) {
        const char *copy = DUP(name);
        if (copy)
            ip->inc[ip->num_inc++] = (struct included){copy, inf};
    }
    return inf;
}

/* The INFs one section's Include= directives name (available ones, each once). */
struct section_includes {
    const struct owu_inf *v[MAX_INCLUDES];
    size_t n;
};

static bool key_is(const struct owu_inf_entry *e, const char *k)
{
    return e->key && owu_inf_strcasecmp(e->key, k) == 0;
}

/* Resolves every Include= of `s` before its other directives: an Include serves the whole
 * section, wherever it stands. The top-level DDInstall's names go to `includes`. */
static int read_includes(struct install_priv *ip, const struct owu_inf *owner,
                         const struct owu_inf_section *s, bool record,
                         struct section_includes *out)
{
    out->n = 0;
    for (size_t i = 0; i < s->num_entries; i++) {
        const struct owu_inf_entry *e = &s->entries[i];
        if (!key_is(e, "Include"))
            continue;
        for (size_t f = 0; f < e->num_fields; f++) {
            char *name = TRIM(e->fields[f]);
            if (!name)
                return OWU_E_NOMEM;
            if (!*name)
                continue;
            if (record && owu_inf_strvec_push(&ip->includes, name))
                return OWU_E_NOMEM;
            const struct owu_inf *inf = include_inf(ip, owner, name, e->line);
            bool seen = !inf;
            for (size_t k = 0; k < out->n && !seen; k++)
                seen = out->v[k] == inf;
            if (!seen && out->n < MAX_INCLUDES)
                out->v[out->n++] = inf;
        }
    }
    return OWU_OK;
}

static const struct owu_inf_section *find_in(const struct owu_inf *inf, const char *name,
                                             bool decorated, const struct owu_inf_target *t)
{
    const char *suffix;
    return decorated ? find_decorated(inf, name, t, &suffix) : owu_inf_find_section(inf, name);
}

/* The section `name` that a directive of a section of `owner` refers to: in `owner`, else
 * in the INFs that section includes (`incs`), else in any INF the query included so far
 * (an Include of the DDInstall section serves its extensions). `decorated` (Needs) tries
 * name.NT<arch>, name.NT, name in each INF. NULL when none has it; *where gets the INF. */
static const struct owu_inf_section *find_named(const struct install_priv *ip,
                                                const struct owu_inf *owner,
                                                const struct section_includes *incs,
                                                const char *name, bool decorated,
                                                const struct owu_inf **where)
{
    const struct owu_inf_section *s = find_in(owner, name, decorated, ip->t);
    *where = owner;
    for (size_t i = 0; !s && i < incs->n; i++)
        if ((s = find_in(incs->v[i], name, decorated, ip->t)))
            *where = incs->v[i];
    for (size_t i = 0; !s && i < ip->num_inc; i++)
        if (ip->inc[i].inf && (s = find_in(ip->inc[i].inf, name, decorated, ip->t)))
            *where = ip->inc[i].inf;
    return s;
}

static int add_addreg(struct install_priv *ip, const struct owu_inf *owner,
                      const struct section_includes *incs, const char *sect, unsigned line,
                      enum bucket b)
{
    const struct owu_inf *where;
    const struct owu_inf_section *s = find_named(ip, owner, incs, sect, false, &where);
    if (!s) {
        iwarn(ip, owner->name, line, "AddReg section [%.200s] not found", sect);
        return OWU_OK;
    }
    struct owu_inf_reg **arr = b == B_HW ? &ip->pub.hw_addreg : &ip->pub.addreg;
    size_t *n = b == B_HW ? &ip->pub.num_hw_addreg : &ip->pub.num_addreg;
    size_t *cap = b == B_HW ? &ip->cap_hw : &ip->cap_addreg;
    for (size_t i = 0; i < s->num_entries; i++) {
        const struct owu_inf_entry *e = &s->entries[i];
        if (e->key) {
            iwarn(ip, where->name, e->line, "[%.200s]: key=value line in an AddReg section "
                                            "ignored", s->name);
            continue;
        }
        if (grow((void **)arr, cap, *n, sizeof **arr))
            return OWU_E_NOMEM;
        struct owu_inf_reg *r = &(*arr)[*n];
        char why[200];
        int rc = reg_parse(&ip->arena, e->fields, e->num_fields, r, why, sizeof why);
        if (rc == OWU_E_NOMEM)
            return rc;
        if (rc) {
            iwarn(ip, where->name, e->line, "%s; line ignored", why);
            continue;
        }
        if (why[0])
            iwarn(ip, where->name, e->line, "%s", why);
        if (!(r->inf = DUP(where->name)))
            return OWU_E_NOMEM;
        r->line = e->line;
        (*n)++;
    }
    return OWU_OK;
}

/* CopyFiles = @file | section, ...: each becomes a ref to the INF holding the section (the
 * directive's own INF for @file and for a section found nowhere). */
static int add_copyfiles(struct install_priv *ip, const struct owu_inf *owner,
                         const struct section_includes *incs, const struct owu_inf_entry *e)
{
    for (size_t f = 0; f < e->num_fields; f++) {
        char *name = TRIM(e->fields[f]);
        if (!name)
            return OWU_E_NOMEM;
        if (!*name)
            continue;
        const struct owu_inf *where = owner;
        if (name[0] != '@' && !find_named(ip, owner, incs, name, false, &where))
            iwarn(ip, owner->name, e->line, "CopyFiles section [%.200s] not found", name);
        if (grow((void **)&ip->pub.copyfiles, &ip->cap_copy, ip->pub.num_copyfiles,
                 sizeof *ip->pub.copyfiles))
            return OWU_E_NOMEM;
        struct owu_inf_ref *ref = &ip->pub.copyfiles[ip->pub.num_copyfiles];
        if (!(ref->inf = DUP(where->name)))
            return OWU_E_NOMEM;
        ref->name = name;
        ip->pub.num_copyfiles++;
    }
    return OWU_OK;
}

/* Directives whose fields name sections openwinusb does not interpret: they are only
 * looked up, so that a missing one is reported like a missing AddReg section. A field
 * starting with '@' names a file (DelFiles=@x.sys), not a section. */
static const char *const section_directives[] = {
    "DelReg",          "BitReg",     "AddProperty",   "DelProperty",
    "DelFiles",        "RenFiles",   "UpdateInis",    "UpdateIniFields",
    "Ini2Reg",         "RegisterDlls", "UnregisterDlls", "ProfileItems",
    "AddPowerSetting",
};

static int check_sections(struct install_priv *ip, const struct owu_inf *owner,
                          const struct section_includes *incs, const struct owu_inf_entry *e)
{
    bool names_sections = false;
    for (size_t i = 0; i < sizeof section_directives / sizeof section_directives[0]; i++)
        names_sections = names_sections || key_is(e, section_directives[i]);
    if (!names_sections)
        return OWU_OK;
    for (size_t f = 0; f < e->num_fields; f++) {
        char *name = TRIM(e->fields[f]);
        if (!name)
            return OWU_E_NOMEM;
        const struct owu_inf *where;
        if (*name && name[0] != '@' && !find_named(ip, owner, incs, name, false, &where))
            iwarn(ip, owner->name, e->line, "%s section [%.200s] not found", e->key, name);
    }
    return OWU_OK;
}

static long service_number(struct install_priv *ip, const struct owu_inf *owner,
                           const struct owu_inf_section *s, const char *key)
{
    const struct owu_inf_entry *e = owu_inf_find_entry(s, key);
    if (!e || !e->num_fields)
        return -1;
    uint64_t v;
    if (!owu_inf_parse_number(e->fields[0], 0x7FFFFFFF, &v)) {
        iwarn(ip, owner->name, e->line, "%s \"%.40s\" is not a number", key, e->fields[0]);
        return -1;
    }
    return (long)v;
}

static const char *service_string(struct install_priv *ip, const struct owu_inf_section *s,
                                  const char *key, bool *nomem)
{
    const struct owu_inf_entry *e = owu_inf_find_entry(s, key);
    if (!e || !e->num_fields)
        return NULL;
    const char *v = DUP(e->fields[0]);
    if (!v)
        *nomem = true;
    return v;
}

static int add_service(struct install_priv *ip, const struct owu_inf *owner,
                       const struct section_includes *incs, const struct owu_inf_entry *e)
{
    if (grow((void **)&ip->pub.services, &ip->cap_svc, ip->pub.num_services,
             sizeof *ip->pub.services))
        return OWU_E_NOMEM;
    struct owu_inf_service *sv = &ip->pub.services[ip->pub.num_services];
    *sv = (struct owu_inf_service){.line = e->line, .service_type = -1, .start_type = -1,
                                   .error_control = -1};
    const char *f[4];
    for (size_t i = 0; i < 4; i++)
        f[i] = i < e->num_fields ? e->fields[i] : "";
    if (!(sv->inf = DUP(owner->name)) || !(sv->name = TRIM(f[0])) ||
        !(sv->install_section = TRIM(f[2])) || !(sv->eventlog_section = TRIM(f[3])))
        return OWU_E_NOMEM;
    uint64_t flags = 0;
    if (f[1][0] && !owu_inf_parse_number(f[1], 0xFFFFFFFFu, &flags))
        iwarn(ip, owner->name, e->line, "AddService flags \"%.40s\" are not a number", f[1]);
    sv->flags = (uint32_t)flags;
    if (!sv->name[0] && !(sv->flags & 0x2))
        iwarn(ip, owner->name, e->line, "AddService without a name needs flag 0x2 (NULL "
                                        "driver)");
    const struct owu_inf *where;
    if (sv->install_section[0]) {
        const struct owu_inf_section *s =
            find_named(ip, owner, incs, sv->install_section, false, &where);
        if (!s) {
            iwarn(ip, owner->name, e->line, "service-install section [%.200s] not found",
                  sv->install_section);
        } else {
            bool nomem = false;
            sv->display_name = service_string(ip, s, "DisplayName", &nomem);
            sv->service_binary = service_string(ip, s, "ServiceBinary", &nomem);
            sv->load_order_group = service_string(ip, s, "LoadOrderGroup", &nomem);
            if (nomem)
                return OWU_E_NOMEM;
            sv->service_type = service_number(ip, where, s, "ServiceType");
            sv->start_type = service_number(ip, where, s, "StartType");
            sv->error_control = service_number(ip, where, s, "ErrorControl");
        }
    } else if (sv->name[0]) {
        iwarn(ip, owner->name, e->line, "AddService %.100s has no service-install section",
              sv->name);
    }
    if (sv->eventlog_section[0] &&
        !find_named(ip, owner, incs, sv->eventlog_section, false, &where))
        iwarn(ip, owner->name, e->line, "event-log section [%.200s] not found",
              sv->eventlog_section);
    ip->pub.num_services++;
    return OWU_OK;
}

static int add_interface(struct install_priv *ip, const struct owu_inf *owner,
                         const struct section_includes *incs, const struct owu_inf_entry *e)
{
    const char *f[4];
    for (size_t i = 0; i < 4; i++)
        f[i] = i < e->num_fields ? e->fields[i] : "";
    if (!f[0][0]) {
        iwarn(ip, owner->name, e->line, "AddInterface without interface class GUID ignored");
        return OWU_OK;
    }
    if (grow((void **)&ip->pub.interfaces, &ip->cap_if, ip->pub.num_interfaces,
             sizeof *ip->pub.interfaces))
        return OWU_E_NOMEM;
    struct owu_inf_interface *it = &ip->pub.interfaces[ip->pub.num_interfaces];
    *it = (struct owu_inf_interface){.line = e->line};
    if (!(it->inf = DUP(owner->name)) || !(it->guid = TRIM(f[0])) ||
        !(it->reference = TRIM(f[1])) || !(it->install_section = TRIM(f[2])))
        return OWU_E_NOMEM;
    uint64_t flags = 0;
    if (f[3][0] && !owu_inf_parse_number(f[3], 0xFFFFFFFFu, &flags))
        iwarn(ip, owner->name, e->line, "AddInterface flags \"%.40s\" are not a number", f[3]);
    it->flags = (uint32_t)flags;
    const struct owu_inf *where;
    if (it->install_section[0] &&
        !find_named(ip, owner, incs, it->install_section, false, &where))
        iwarn(ip, owner->name, e->line, "add-interface section [%.200s] not found",
              it->install_section);
    ip->pub.num_interfaces++;
    return OWU_OK;
}

static int add_directive(struct install_priv *ip, const struct owu_inf *owner,
                         const struct owu_inf_entry *e)
{
    if (grow((void **)&ip->pub.directives, &ip->cap_dir, ip->pub.num_directives,
             sizeof *ip->pub.directives))
        return OWU_E_NOMEM;
    struct owu_inf_directive *d = &ip->pub.directives[ip->pub.num_directives];
    *d = (struct owu_inf_directive){.line = e->line, .num_fields = e->num_fields};
    if (!(d->inf = DUP(owner->name)) || (e->key && !(d->key = DUP(e->key))))
        return OWU_E_NOMEM;
    if (e->num_fields) {
        const char **v = owu_inf_arena_alloc(&ip->arena, e->num_fields * sizeof *v);
        if (!v)
            return OWU_E_NOMEM;
        for (size_t i = 0; i < e->num_fields; i++)
            if (!(v[i] = DUP(e->fields[i])))
                return OWU_E_NOMEM;
        d->fields = v;
    }
    ip->pub.num_directives++;
    return OWU_OK;
}

/* AddReg = section, ...: the typed lines of each section, in order. */
static int add_addreg_directive(struct install_priv *ip, const struct owu_inf *owner,
                                const struct section_includes *incs,
                                const struct owu_inf_entry *e, enum bucket b)
{
    int rc = OWU_OK;
    for (size_t f = 0; f < e->num_fields && rc == OWU_OK; f++) {
        char *name = TRIM(e->fields[f]);
        if (!name)
            return OWU_E_NOMEM;
        if (*name)
            rc = add_addreg(ip, owner, incs, name, e->line, b);
    }
    return rc;
}

static int process_section(struct install_priv *ip, const struct owu_inf *owner,
                           const struct owu_inf_section *s, enum bucket b, bool top);

/* Needs = name, ...: each section, found like any named section but with the platform
 * suffixes, processed in place of the Needs line. */
static int process_needs(struct install_priv *ip, const struct owu_inf *owner,
                         const struct section_includes *incs, const struct owu_inf_entry *e,
                         enum bucket b, bool top)
{
    for (size_t i = 0; i < e->num_fields; i++) {
        char *name = TRIM(e->fields[i]);
        if (!name)
            return OWU_E_NOMEM;
        if (!*name)
            continue;
        if (top && b == B_INSTALL && owu_inf_strvec_push(&ip->needs, name))
            return OWU_E_NOMEM;
        const struct owu_inf *where;
        const struct owu_inf_section *found = find_named(ip, owner, incs, name, true, &where);
        if (!found) {
            iwarn(ip, owner->name, e->line, "Needs section [%.200s] not found", name);
            continue;
        }
        int rc = process_section(ip, where, found, b, false);
        if (rc)
            return rc;
    }
    return OWU_OK;
}

static int process_section(struct install_priv *ip, const struct owu_inf *owner,
                           const struct owu_inf_section *s, enum bucket b, bool top)
{
    struct section_includes incs;
    int rc = read_includes(ip, owner, s, top && b == B_INSTALL, &incs);
    for (size_t i = 0; i < s->num_entries && rc == OWU_OK; i++) {
        const struct owu_inf_entry *e = &s->entries[i];
        if (key_is(e, "Include"))
            continue;   /* read_includes did them */
        if (key_is(e, "Needs")) {
            if (!top) {
                iwarn(ip, owner->name, e->line, "Needs inside a Needs section [%.200s] "
                                                "ignored (Needs cannot be nested)", s->name);
                continue;
            }
            rc = process_needs(ip, owner, &incs, e, b, top);
            continue;
        }
        switch (b) {
        case B_INSTALL:
            rc = add_directive(ip, owner, e);
            if (rc == OWU_OK && key_is(e, "AddReg"))
                rc = add_addreg_directive(ip, owner, &incs, e, b);
            else if (rc == OWU_OK && key_is(e, "CopyFiles"))
                rc = add_copyfiles(ip, owner, &incs, e);
            else if (rc == OWU_OK)
                rc = check_sections(ip, owner, &incs, e);
            break;
        case B_SERVICES:
            if (key_is(e, "AddService"))
                rc = add_service(ip, owner, &incs, e);
            break;
        case B_HW:
            if (key_is(e, "AddReg"))
                rc = add_addreg_directive(ip, owner, &incs, e, b);
            else
                rc = check_sections(ip, owner, &incs, e);
            break;
        case B_INTERFACES:
            if (key_is(e, "AddInterface"))
                rc = add_interface(ip, owner, &incs, e);
            break;
        }
    }
    return rc;
}

/* FeatureScore (first only), ExcludeID (all), DriverVer (first): the section's own. */
static int read_own_directives(struct install_priv *ip, const struct owu_inf *inf,
                               const struct owu_inf_section *s)
{
    bool have_score = false, have_ver = false;
    for (size_t i = 0; i < s->num_entries; i++) {
        const struct owu_inf_entry *e = &s->entries[i];
        if (key_is(e, "FeatureScore") && !have_score) {
            have_score = true;
            uint64_t v;
            if (e->num_fields && owu_inf_parse_number(e->fields[0], 0xFF, &v))
                ip->pub.feature_score = (unsigned)v;
            else
                iwarn(ip, inf->name, e->line, "FeatureScore \"%.40s\" is not a byte; 0xFF used",
                      e->num_fields ? e->fields[0] : "");
        } else if (key_is(e, "ExcludeID")) {
            for (size_t f = 0; f < e->num_fields; f++) {
                char *id = TRIM(e->fields[f]);
                if (!id || (*id && owu_inf_strvec_push(&ip->exclude, id)))
                    return OWU_E_NOMEM;
            }
        } else if (key_is(e, "DriverVer") && !have_ver) {
            have_ver = true;
            char why[200];
            if (!owu_inf_parse_driver_ver(e, &ip->pub.driver_ver, why, sizeof why))
                iwarn(ip, inf->name, e->line, "%s", why);
            ip->pub.driver_ver_override = true;
        }
    }
    return OWU_OK;
}

static int extension(struct install_priv *ip, const struct owu_inf *inf, const char *ext,
                     enum bucket b, const char **name_out)
{
    char name[OWU_INF_MAX_SECTION_NAME * 4 + 32];
    snprintf(name, sizeof name, "%s%s", ip->pub.section, ext);
    const struct owu_inf_section *s = owu_inf_find_section(inf, name);
    if (!s)
        return OWU_OK;
    if (!(*name_out = DUP(s->name)))
        return OWU_E_NOMEM;
    return process_section(ip, inf, s, b, true);
}

int owu_inf_get_install(const struct owu_inf *inf, const char *install,
                        const struct owu_inf_target *t, const struct owu_inf_resolver *resolver,
                        struct owu_inf_install **out, owu_err *err)
{
    if (out)
        *out = NULL;
    if (!inf || !install || !out)
        return owu_fail(err, OWU_E_INVAL, "owu_inf_get_install: NULL argument");
    struct owu_inf_target def;
    if (!t) {
        owu_inf_target_default(&def);
        t = &def;
    }
    const char *suffix = "";
    const struct owu_inf_section *s = *install ? find_decorated(inf, install, t, &suffix) : NULL;
    if (!s)
        return owu_fail(err, OWU_E_NOTFOUND,
                        "%s: DDInstall section [%.200s] not found (tried %.200s.NT%s, "
                        "%.200s.NT, %.200s)",
                        inf->name, install, install, owu_inf_arch_name(t->arch), install,
                        install);
    struct install_priv *ip = calloc(1, sizeof *ip);
    if (!ip)
        return owu_fail(err, OWU_E_NOMEM, "%s: out of memory", inf->name);
    ip->pub.priv_ = ip;
    ip->t = t;
    ip->res = resolver;
    struct owu_inf_install *in = &ip->pub;
    in->feature_score = 0xFF;
    in->driver_ver = inf->version.driver_ver;
    int rc = OWU_E_NOMEM;
    if (!(in->name = DUP(install)) || !(in->section = DUP(s->name)) ||
        !(in->inf = DUP(inf->name)) || !(in->suffix = DUP(suffix)))
        goto fail;
    in->nt_decorated = has_nt_decoration(s->name);
    if ((rc = read_own_directives(ip, inf, s)) ||
        (rc = process_section(ip, inf, s, B_INSTALL, true)) ||
        (rc = extension(ip, inf, ".Services", B_SERVICES, &in->services_section)) ||
        (rc = extension(ip, inf, ".HW", B_HW, &in->hw_section)) ||
        (rc = extension(ip, inf, ".Interfaces", B_INTERFACES, &in->interfaces_section)))
        goto fail;
    for (size_t i = 0; i < in->num_services; i++) {
        if (in->services[i].flags & 0x2) {
            in->function_driver = in->services[i].name;
            break;
        }
    }
    in->exclude_ids = ip->exclude.v;
    in->num_exclude_ids = ip->exclude.n;
    in->includes = ip->includes.v;
    in->num_includes = ip->includes.n;
    in->needs = ip->needs.v;
    in->num_needs = ip->needs.n;
    in->warnings = ip->warnings.v;
    in->num_warnings = ip->warnings.n;
    *out = in;
    return OWU_OK;
fail:
    owu_inf_install_free(in);
    return owu_fail(err, rc, "%s: out of memory resolving [%.200s]", inf->name, install);
}
