/* INF parser: the loaded-INF structure (sections merged by case-insensitive name, entries
 * with line numbers), loading from memory or a file, warnings, and generic access. */
#include "pnp/inf_internal.h"
#include "core/hex.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------ */
/* Arena and small helpers                                                               */

struct owu_inf_arena_block {
    struct owu_inf_arena_block *next;
    size_t used, size;
    max_align_t data[];
};

#define ARENA_BLOCK (64u * 1024u)

void *owu_inf_arena_alloc(struct owu_inf_arena *a, size_t n)
{
    /* 8 covers every type stored here (pointers, uint64_t); most allocations are short
     * strings, so a larger alignment would mostly waste memory. */
    const size_t align = 8;
    if (n > SIZE_MAX - align)
        return NULL;
    n = (n + align - 1) / align * align;
    struct owu_inf_arena_block *b = a->head;
    if (!b || b->size - b->used < n) {
        size_t size = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        b = malloc(sizeof *b + size);
        if (!b)
            return NULL;
        b->size = size;
        b->used = 0;
        /* A big one-off allocation goes behind the current block so that block keeps
         * serving small requests. */
        if (a->head && size > ARENA_BLOCK) {
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    return p;
}

char *owu_inf_arena_strndup(struct owu_inf_arena *a, const char *s, size_t n)
{
    char *p = owu_inf_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *owu_inf_arena_strdup(struct owu_inf_arena *a, const char *s)
{
    return owu_inf_arena_strndup(a, s, strlen(s));
}

void owu_inf_arena_free(struct owu_inf_arena *a)
{
    struct owu_inf_arena_block *b = a->head;
    while (b) {
        struct owu_inf_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}

int owu_inf_strvec_push(struct owu_inf_strvec *sv, const char *s)
{
    if (sv->n == sv->cap) {
        size_t cap = sv->cap ? sv->cap * 2 : 8;
        const char **v = realloc(sv->v, cap * sizeof *v);
        if (!v)
            return OWU_E_NOMEM;
        sv->v = v;
        sv->cap = cap;
    }
    sv->v[sv->n++] = s;
    return OWU_OK;
}

void owu_inf_strvec_free(struct owu_inf_strvec *sv)
{
    free(sv->v);
    sv->v = NULL;
    sv->n = sv->cap = 0;
}

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

int owu_inf_strcasecmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        int d = lower((unsigned char)*a) - lower((unsigned char)*b);
        if (d || !*a)
            return d;
    }
}

size_t owu_inf_hash_ci_n(const char *s, size_t n)
{
    size_t h = (size_t)14695981039346656037ull;   /* FNV-1a over lower-cased bytes */
    for (size_t i = 0; i < n; i++) {
        h ^= (size_t)lower((unsigned char)s[i]);
        h *= (size_t)1099511628211ull;
    }
    return h;
}

size_t owu_inf_hash_ci(const char *s)
{
    return owu_inf_hash_ci_n(s, strlen(s));
}

bool owu_inf_ends_with_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && owu_inf_strcasecmp(s + n - m, suffix) == 0;
}

size_t owu_inf_utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

bool owu_inf_parse_number(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    const char *p = s;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        p += 2;
        if (!*p)
            return false;
        for (; *p; p++) {
            int d = owu_hex_digit((unsigned char)*p);
            if (d < 0)
                return false;
            if (v > (max - (uint64_t)d) / 16)
                return false;
            v = v * 16 + (uint64_t)d;
        }
    } else {
        if (!*p)
            return false;
        for (; *p; p++) {
            if (*p < '0' || *p > '9')
                return false;
            uint64_t d = (uint64_t)(*p - '0');
            if (v > (max - d) / 10)
                return false;
            v = v * 10 + d;
        }
    }
    *out = v;
    return true;
}

/* ------------------------------------------------------------------------------------ */
/* Warnings                                                                              */

void owu_inf_vwarn(struct owu_inf *inf, unsigned line, const char *fmt, va_list ap)
{
    if (inf->warnings.n >= OWU_INF_MAX_WARNINGS) {
        inf->warnings_dropped++;
        return;
    }
    char msg[512];
    int k = line ? snprintf(msg, sizeof msg, "%s:%u: ", inf->name, line)
                 : snprintf(msg, sizeof msg, "%s: ", inf->name);
    if (k < 0)
        return;
    if ((size_t)k < sizeof msg)
        vsnprintf(msg + k, sizeof msg - (size_t)k, fmt, ap);
    char *copy = owu_inf_arena_strdup(&inf->arena, msg);
    if (copy && owu_inf_strvec_push(&inf->warnings, copy) == OWU_OK)
        return;
    inf->warnings_dropped++;
}

void owu_inf_warn(struct owu_inf *inf, unsigned line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    owu_inf_vwarn(inf, line, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------------------------ */
/* Sections and entries                                                                  */

static size_t index_find(const struct owu_inf *inf, const char *name)
{
    if (!inf->index_cap)
        return SIZE_MAX;
    size_t mask = inf->index_cap - 1;
    for (size_t i = owu_inf_hash_ci(name) & mask;; i = (i + 1) & mask) {
        size_t v = inf->index[i];
        if (!v)
            return SIZE_MAX;
        if (owu_inf_strcasecmp(inf->sections[v - 1]->name, name) == 0)
            return v - 1;
    }
}

static int index_insert(struct owu_inf *inf, size_t num)
{
    if ((inf->num_sections + 1) * 2 > inf->index_cap) {
        size_t cap = inf->index_cap ? inf->index_cap * 2 : 64;
        size_t *idx = calloc(cap, sizeof *idx);
        if (!idx)
            return OWU_E_NOMEM;
        for (size_t s = 0; s < inf->num_sections; s++) {
            size_t i = owu_inf_hash_ci(inf->sections[s]->name) & (cap - 1);
            while (idx[i])
                i = (i + 1) & (cap - 1);
            idx[i] = s + 1;
        }
        free(inf->index);
        inf->index = idx;
        inf->index_cap = cap;
    }
    size_t mask = inf->index_cap - 1;
    size_t i = owu_inf_hash_ci(inf->sections[num]->name) & mask;
    while (inf->index[i])
        i = (i + 1) & mask;
    inf->index[i] = num + 1;
    return OWU_OK;
}


/* [Strings] and [Strings.<anything>] hold the string table and are never substituted. */
static bool is_strings_name(const char *name)
{
    static const char prefix[] = "strings";
    for (size_t i = 0; i < sizeof prefix - 1; i++)
        if (lower((unsigned char)name[i]) != prefix[i])
            return false;
    return name[7] == '\0' || name[7] == '.';
}

int owu_inf_begin_section(struct owu_inf *inf, const char *name, size_t name_len, unsigned line,
                          owu_err *err)
{
    char *copy = owu_inf_arena_strndup(&inf->arena, name, name_len);
    if (!copy)
        return owu_fail(err, OWU_E_NOMEM, "%s: out of memory", inf->name);
    size_t found = index_find(inf, copy);
    if (found != SIZE_MAX) {
        inf->cur = inf->sections[found];
        return OWU_OK;
    }
    if (inf->num_sections == inf->cap_sections) {
        size_t cap = inf->cap_sections ? inf->cap_sections * 2 : 32;
        struct owu_inf_section **v = realloc(inf->sections, cap * sizeof *v);
        if (!v)
            return owu_fail(err, OWU_E_NOMEM, "%s: out of memory", inf->name);
        inf->sections = v;
        inf->cap_sections = cap;
    }
    struct owu_inf_section *s = owu_inf_arena_alloc(&inf->arena, sizeof *s);
    if (!s)
        return owu_fail(err, OWU_E_NOMEM, "%s: out of memory", inf->name);
    *s = (struct owu_inf_section){.name = copy, .line = line, .is_strings = is_strings_name(copy)};
    inf->sections[inf->num_sections] = s;
    if (index_insert(inf, inf->num_sections))
        return owu_fail(err, OWU_E_NOMEM, "%s: out of memory", inf->name);
    inf->num_sections++;
    inf->cur = s;
    return OWU_OK;
}

bool owu_inf_in_section(const struct owu_inf *inf)
{
    return inf->cur != NULL;
}

int owu_inf_add_entry(struct owu_inf *inf, const char *key, size_t key_len,
                      const char *const *fields, const size_t *lens, size_t n, unsigned line,
                      owu_err *err)
{
    struct owu_inf_section *s = inf->cur;
    if (!s)
        return owu_fail(err, OWU_E_INVAL, "%s:%u: entry outside a section", inf->name, line);
    if (s->num_entries == s->cap_entries) {
        size_t cap = s->cap_entries ? s->cap_entries * 2 : 8;
        struct owu_inf_entry *v = realloc(s->entries, cap * sizeof *v);
        if (!v)
            return owu_fail(err, OWU_E_NOMEM, "%s: out of memory", inf->name);
        s->entries = v;
        s->cap_entries = cap;
    }
    struct owu_inf_entry *e = &s->entries[s->num_entries];
    *e = (struct owu_inf_entry){.line = line};
    if (key && !(e->key = owu_inf_arena_strndup(&inf->arena, key, key_len)))
        return owu_fail(err, OWU_E_NOMEM, "%s: out of memory", inf->name);
    if (n) {
        const char **v = owu_inf_arena_alloc(&inf->arena, n * sizeof *v);
        if (!v)
            return owu_fail(err, OWU_E_NOMEM, "%s: out of memory", inf->name);
        for (size_t i = 0; i < n; i++)
            if (!(v[i] = owu_inf_arena_strndup(&inf->arena, fields[i], lens[i])))
                return owu_fail(err, OWU_E_NOMEM, "%s: out of memory", inf->name);
        e->fields = v;
        e->num_fields = n;
    }
    s->num_entries++;
    return OWU_OK;
}

/* ------------------------------------------------------------------------------------ */
/* Loading                                                                               */

void owu_inf_options_default(struct owu_inf_options *opt)
{
    *opt = (struct owu_inf_options){.langid = 0x0409, .flags = 0, .max_size = OWU_INF_MAX_FILE_SIZE};
}

void owu_inf_free(struct owu_inf *inf)
{
    if (!inf)
        return;
    for (size_t i = 0; i < inf->num_sections; i++)
        free(inf->sections[i]->entries);
    free(inf->sections);
    free(inf->index);
    free(inf->strmap);
    owu_inf_strvec_free(&inf->warnings);
    owu_inf_arena_free(&inf->arena);
    free(inf->name);
    free(inf);
}

int owu_inf_load_mem(const char *name, const void *data, size_t len,
                     const struct owu_inf_options *opt, struct owu_inf **out, owu_err *err)
{
    if (out)
        *out = NULL;
    if (!out || (!data && len))
        return owu_fail(err, OWU_E_INVAL, "owu_inf_load_mem: NULL argument");
    if (!name || !*name)
        name = "(inf)";
    struct owu_inf_options o;
    if (opt)
        o = *opt;
    else
        owu_inf_options_default(&o);
    if (!o.max_size)
        o.max_size = OWU_INF_MAX_FILE_SIZE;
    if (len > o.max_size)
        return owu_fail(err, OWU_E_PARSE, "%s: file too large (%zu bytes, limit %zu)", name, len,
                        o.max_size);
    struct owu_inf *inf = calloc(1, sizeof *inf);
    if (!inf || !(inf->name = strdup(name))) {
        free(inf);
        return owu_fail(err, OWU_E_NOMEM, "%s: out of memory", name);
    }
    inf->opt = o;
    char *text = NULL;
    size_t text_len = 0;
    int rc = owu_inf_decode(inf, data ? data : "", len, &text, &text_len, err);
    if (rc == OWU_OK)
        rc = owu_inf_lex(inf, text, text_len, err);
    free(text);
    inf->cur = NULL;
    if (rc == OWU_OK)
        rc = owu_inf_apply_strings(inf, err);
    if (rc == OWU_OK)
        rc = owu_inf_read_version(inf, err);
    if (rc != OWU_OK) {
        owu_inf_free(inf);
        return rc;
    }
    if (inf->warnings_dropped) {
        /* Make room for the note by dropping the last kept warning. */
        char note[160];
        snprintf(note, sizeof note, "%s: %zu more warnings not shown", inf->name,
                 inf->warnings_dropped + 1);
        char *copy = owu_inf_arena_strdup(&inf->arena, note);
        if (copy)
            inf->warnings.v[inf->warnings.n - 1] = copy;
    }
    *out = inf;
    return OWU_OK;
}

int owu_inf_load_file(const char *path, const struct owu_inf_options *opt, struct owu_inf **out,
                      owu_err *err)
{
    if (out)
        *out = NULL;
    if (!path || !out)
        return owu_fail(err, OWU_E_INVAL, "owu_inf_load_file: NULL argument");
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t limit = opt && opt->max_size ? opt->max_size : OWU_INF_MAX_FILE_SIZE;
    FILE *f = fopen(path, "rb");
    if (!f)
        return owu_fail(err, errno == EACCES ? OWU_E_ACCESS : errno == ENOENT ? OWU_E_NOTFOUND
                                                                            : OWU_E_IO,
                        "%s: cannot open: %s", path, strerror(errno));
    /* Read at most limit + 1 bytes: enough to tell "too large" without trusting stat. */
    size_t cap = 64 * 1024, len = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return owu_fail(err, OWU_E_NOMEM, "%s: out of memory", path);
    }
    for (;;) {
        if (len == cap) {
            if (len > limit)
                break;
            size_t ncap = cap * 2;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                fclose(f);
                return owu_fail(err, OWU_E_NOMEM, "%s: out of memory", path);
            }
            buf = nb;
            cap = ncap;
        }
        size_t want = cap - len;
        if (want > limit + 1 - len)
            want = limit + 1 - len;
        size_t got = fread(buf + len, 1, want, f);
        len += got;
        if (got < want || len > limit)
            break;
    }
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        return owu_fail(err, OWU_E_IO, "%s: read error", path);
    }
    if (len > limit) {
        free(buf);
        return owu_fail(err, OWU_E_PARSE, "%s: file too large (more than %zu bytes)", base, limit);
    }
    int rc = owu_inf_load_mem(base, buf, len, opt, out, err);
    free(buf);
    return rc;
}

const char *owu_inf_name(const struct owu_inf *inf)
{
    return inf ? inf->name : NULL;
}

size_t owu_inf_warning_count(const struct owu_inf *inf)
{
    return inf ? inf->warnings.n : 0;
}

const char *owu_inf_warning(const struct owu_inf *inf, size_t i)
{
    return inf && i < inf->warnings.n ? inf->warnings.v[i] : NULL;
}

/* ------------------------------------------------------------------------------------ */
/* Generic access                                                                        */

const struct owu_inf_section *owu_inf_find_section(const struct owu_inf *inf, const char *name)
{
    if (!inf || !name)
        return NULL;
    size_t i = index_find(inf, name);
    return i == SIZE_MAX ? NULL : inf->sections[i];
}

size_t owu_inf_section_count(const struct owu_inf *inf)
{
    return inf ? inf->num_sections : 0;
}

const struct owu_inf_section *owu_inf_section_at(const struct owu_inf *inf, size_t i)
{
    return inf && i < inf->num_sections ? inf->sections[i] : NULL;
}

const char *owu_inf_section_name(const struct owu_inf_section *s)
{
    return s ? s->name : NULL;
}

unsigned owu_inf_section_line(const struct owu_inf_section *s)
{
    return s ? s->line : 0;
}

size_t owu_inf_entry_count(const struct owu_inf_section *s)
{
    return s ? s->num_entries : 0;
}

const struct owu_inf_entry *owu_inf_entry_at(const struct owu_inf_section *s, size_t i)
{
    return s && i < s->num_entries ? &s->entries[i] : NULL;
}

const struct owu_inf_entry *owu_inf_find_entry(const struct owu_inf_section *s, const char *key)
{
    if (!s || !key)
        return NULL;
    for (size_t i = 0; i < s->num_entries; i++)
        if (s->entries[i].key && owu_inf_strcasecmp(s->entries[i].key, key) == 0)
            return &s->entries[i];
    return NULL;
}

const char *owu_inf_get_value(const struct owu_inf *inf, const char *section, const char *key)
{
    const struct owu_inf_entry *e = owu_inf_find_entry(owu_inf_find_section(inf, section), key);
    return e && e->num_fields ? e->fields[0] : NULL;
}
