/* INF string table: choice of the one [Strings*] section for a LANGID (pnp-ids.md §4.2)
 * and %strkey% substitution in every other section.
 *
 * Substitution is a single pass: the text a token is replaced with is not scanned again,
 * so no definition can make it recurse or grow beyond one field's limit. "%%" gives "%";
 * %<digits>% (DIRIDs such as %12%) is kept verbatim; an undefined token is kept verbatim
 * and reported as a warning. */
#include "pnp/inf_internal.h"
#include "core/hex.h"

#include <stdlib.h>
#include <string.h>

/* Parses the LANGID of "Strings.LLLL": 1-4 hex digits. */
static bool strings_langid(const char *name, unsigned *langid)
{
    const char *p = name + 7;   /* after "Strings" */
    if (*p != '.')
        return false;
    p++;
    uint32_t v;
    size_t n = strlen(p);
    if (n > 4 || !owu_hex_value(p, n, &v))   /* 1 to 4 digits */
        return false;
    *langid = v;
    return true;
}

/* Exact LANGID, then the primary language with SUBLANG_NEUTRAL, then any sublanguage of
 * the primary language (first in file order), then the undecorated [Strings]. */
static const struct owu_inf_section *choose_strings(struct owu_inf *inf)
{
    const unsigned want = inf->opt.langid;
    const struct owu_inf_section *exact = NULL, *neutral = NULL, *primary = NULL, *plain = NULL;
    for (size_t i = 0; i < inf->num_sections; i++) {
        const struct owu_inf_section *s = inf->sections[i];
        if (!s->is_strings)
            continue;
        unsigned id;
        if (s->name[7] == '\0') {
            plain = s;
        } else if (!strings_langid(s->name, &id)) {
            owu_inf_warn(inf, s->line, "[%s]: not a LANGID decoration; section ignored", s->name);
        } else if (id == want) {
            exact = s;
        } else if ((id & 0x3FF) == (want & 0x3FF)) {
            if ((id >> 10) == 0)
                neutral = s;
            else if (!primary)
                primary = s;
        }
    }
    return exact ? exact : neutral ? neutral : primary ? primary : plain;
}

static int strmap_build(struct owu_inf *inf, const struct owu_inf_section *s, owu_err *err)
{
    size_t cap = 16;
    while (cap < s->num_entries * 2)
        cap *= 2;
    inf->strmap = calloc(cap, sizeof *inf->strmap);
    if (!inf->strmap)
        return owu_fail(err, OWU_E_NOMEM, "%s: out of memory", inf->name);
    inf->strmap_cap = cap;
    for (size_t i = 0; i < s->num_entries; i++) {
        const struct owu_inf_entry *e = &s->entries[i];
        if (!e->key || !*e->key) {
            owu_inf_warn(inf, e->line, "[%s]: line without a string key ignored", s->name);
            continue;
        }
        const char *value = e->num_fields ? e->fields[0] : "";
        if (e->num_fields > 1) {
            /* An unquoted value with commas: keep the commas, as the value is one string. */
            size_t total = 0;
            for (size_t k = 0; k < e->num_fields; k++)
                total += strlen(e->fields[k]) + 1;
            char *joined = owu_inf_arena_alloc(&inf->arena, total);
            if (!joined)
                return owu_fail(err, OWU_E_NOMEM, "%s: out of memory", inf->name);
            char *w = joined;
            for (size_t k = 0; k < e->num_fields; k++) {
                size_t n = strlen(e->fields[k]);
                if (k)
                    *w++ = ',';
                memcpy(w, e->fields[k], n);
                w += n;
            }
            *w = '\0';
            value = joined;
            owu_inf_warn(inf, e->line, "string %s: unquoted value contains commas", e->key);
        }
        size_t j = owu_inf_hash_ci(e->key) & (cap - 1);
        bool dup = false;
        while (inf->strmap[j].key) {
            if (owu_inf_strcasecmp(inf->strmap[j].key, e->key) == 0) {
                dup = true;
                break;
            }
            j = (j + 1) & (cap - 1);
        }
        if (dup) {
            owu_inf_warn(inf, e->line, "string %s defined twice; the first definition is used",
                         e->key);
            continue;
        }
        inf->strmap[j].key = e->key;
        inf->strmap[j].value = value;
    }
    return OWU_OK;
}

static const char *strmap_get(const struct owu_inf *inf, const char *key, size_t len)
{
    if (!inf->strmap_cap)
        return NULL;
    size_t h = owu_inf_hash_ci_n(key, len);
    size_t mask = inf->strmap_cap - 1;
    for (size_t j = h & mask; inf->strmap[j].key; j = (j + 1) & mask) {
        const char *k = inf->strmap[j].key;
        size_t i = 0;
        for (; i < len && k[i]; i++) {
            int a = (unsigned char)k[i], b = (unsigned char)key[i];
            if (a >= 'A' && a <= 'Z')
                a += 'a' - 'A';
            if (b >= 'A' && b <= 'Z')
                b += 'a' - 'A';
            if (a != b)
                break;
        }
        if (i == len && !k[i])
            return inf->strmap[j].value;
    }
    return NULL;
}

const char *owu_inf_string(const struct owu_inf *inf, const char *key)
{
    return inf && key ? strmap_get(inf, key, strlen(key)) : NULL;
}

const char *owu_inf_strings_section(const struct owu_inf *inf)
{
    return inf && inf->strings ? inf->strings->name : NULL;
}

static bool all_digits(const char *s, size_t n)
{
    if (!n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

struct subst_buf {
    char *p;
    size_t len, cap;
};

static bool sb_put(struct subst_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q)
            return false;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return true;
}

/* Substitutes one string; *io is replaced by an arena copy when anything changed. */
static int substitute(struct owu_inf *inf, const char **io, unsigned line, struct subst_buf *b,
                      owu_err *err)
{
    const char *s = *io;
    if (!strchr(s, '%'))
        return OWU_OK;
    b->len = 0;
    const char *p = s;
    while (*p) {
        const char *pct = strchr(p, '%');
        if (!pct) {
            if (!sb_put(b, p, strlen(p)))
                goto nomem;
            break;
        }
        if (!sb_put(b, p, (size_t)(pct - p)))
            goto nomem;
        if (pct[1] == '%') {
            if (!sb_put(b, "%", 1))
                goto nomem;
            p = pct + 2;
            continue;
        }
        const char *close = strchr(pct + 1, '%');
        if (!close) {   /* a lone '%' is just a character */
            if (!sb_put(b, pct, strlen(pct)))
                goto nomem;
            break;
        }
        size_t n = (size_t)(close - pct - 1);
        const char *value = strmap_get(inf, pct + 1, n);
        if (value) {
            if (!sb_put(b, value, strlen(value)))
                goto nomem;
        } else {
            if (!all_digits(pct + 1, n))
                owu_inf_warn(inf, line, "undefined string token %.*s",
                             (int)(n + 2 > 200 ? 200 : n + 2), pct);
            if (!sb_put(b, pct, n + 2))
                goto nomem;
        }
        p = close + 1;
        if (b->len > 4 * OWU_INF_MAX_FIELD_LEN)
            break;   /* certainly too long; the check below reports it */
    }
    if (owu_inf_utf8_chars(b->p, b->len) > OWU_INF_MAX_FIELD_LEN)
        return owu_fail(err, OWU_E_PARSE,
                        "%s:%u: field longer than %u characters after string substitution",
                        inf->name, line, OWU_INF_MAX_FIELD_LEN);
    if (b->len == strlen(s) && memcmp(b->p, s, b->len) == 0)
        return OWU_OK;
    char *copy = owu_inf_arena_strndup(&inf->arena, b->p, b->len);
    if (!copy)
        goto nomem;
    *io = copy;
    return OWU_OK;
nomem:
    return owu_fail(err, OWU_E_NOMEM, "%s: out of memory", inf->name);
}

int owu_inf_apply_strings(struct owu_inf *inf, owu_err *err)
{
    inf->strings = choose_strings(inf);
    if (inf->strings) {
        int rc = strmap_build(inf, inf->strings, err);
        if (rc)
            return rc;
    }
    struct subst_buf b = {0};
    int rc = OWU_OK;
    for (size_t i = 0; i < inf->num_sections && rc == OWU_OK; i++) {
        struct owu_inf_section *s = inf->sections[i];
        if (s->is_strings)
            continue;
        for (size_t k = 0; k < s->num_entries && rc == OWU_OK; k++) {
            struct owu_inf_entry *e = &s->entries[k];
            if (e->key)
                rc = substitute(inf, &e->key, e->line, &b, err);
            /* The fields array was allocated writable by the parser. */
            const char **fields = (const char **)e->fields;
            for (size_t f = 0; f < e->num_fields && rc == OWU_OK; f++)
                rc = substitute(inf, &fields[f], e->line, &b, err);
        }
    }
    free(b.p);
    return rc;
}
