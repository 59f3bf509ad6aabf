/* The Device Parameters store file (docs/registry.md "File format"): one header line, one
 * self-contained record per line, an end line with the record count. Reading is tolerant
 * line by line, so damage costs only the lines it touches. */
#include "pnp/registry_internal.h"
#include "core/hex.h"
#include "core/utf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- writing ----------------------------------------------------------------------- */

struct buf {
    char *p;
    size_t n, cap;
    bool oom;
};

static void buf_reserve(struct buf *b, size_t more)
{
    if (b->oom || b->n + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + more + 1) {
        if (cap > SIZE_MAX / 2) {
            b->oom = true;
            return;
        }
        cap *= 2;
    }
    char *np = realloc(b->p, cap);
    if (!np) {
        b->oom = true;
        return;
    }
    b->p = np;
    b->cap = cap;
}

static void buf_put(struct buf *b, const void *s, size_t n)
{
    buf_reserve(b, n);
    if (b->oom)
        return;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(struct buf *b, const char *fmt, ...)
{
    char tmp[96];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        buf_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A quoted string: '"', '%', control bytes, DEL and bytes that are not valid UTF-8 become
 * %XX; everything else (including UTF-8) is written as is. */
static void put_quoted(struct buf *b, const uint8_t *s, size_t n)
{
    buf_put(b, "\"", 1);
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        if (c >= 0x80) {
            size_t l = owu_utf8_next(s + i, n - i, NULL);
            if (l) {
                buf_put(b, s + i, l);
                i += l;
                continue;
            }
        } else if (c >= 0x20 && c != 0x7F && c != '"' && c != '%') {
            buf_put(b, &c, 1);
            i++;
            continue;
        }
        buf_printf(b, "%%%02X", c);
        i++;
    }
    buf_put(b, "\"", 1);
}

static void put_qstr(struct buf *b, const char *s)
{
    put_quoted(b, (const uint8_t *)s, strlen(s));
}

static const struct {
    const char *word;
    uint32_t type;
} type_words[] = {
    { "none", 0 },
    { "sz", OWU_REG_SZ },
    { "expand_sz", OWU_REG_EXPAND_SZ },
    { "binary", OWU_REG_BINARY },
    { "dword", OWU_REG_DWORD },
    { "dword_be", OWU_REG_DWORD_BIG_ENDIAN },
    { "link", OWU_REG_LINK },
    { "multi_sz", OWU_REG_MULTI_SZ },
    { "qword", OWU_REG_QWORD },
};

static void put_value(struct buf *b, const struct owu_regkey *k, const struct owu_regval *v)
{
    buf_str(b, "value ");
    put_qstr(b, k->id);
    buf_put(b, " ", 1);
    put_qstr(b, v->name);
    const char *word = NULL;
    for (size_t i = 0; i < sizeof type_words / sizeof type_words[0]; i++)
        if (type_words[i].type == v->type)
            word = type_words[i].word;
    if (word)
        buf_printf(b, " %s", word);
    else
        buf_printf(b, " type:%u", (unsigned)v->type);

    switch (v->type) {
    case OWU_REG_SZ:
    case OWU_REG_EXPAND_SZ:
    case OWU_REG_LINK:
        buf_put(b, " ", 1);
        put_quoted(b, v->data, v->len - 1);
        break;
    case OWU_REG_MULTI_SZ:
        for (size_t i = 0; i + 1 < v->len;) {
            size_t l = strlen((const char *)v->data + i);
            buf_put(b, " ", 1);
            put_quoted(b, v->data + i, l);
            i += l + 1;
        }
        break;
    case OWU_REG_DWORD:
        buf_printf(b, " 0x%08x",
                   (unsigned)(v->data[0] | v->data[1] << 8 | v->data[2] << 16 | (uint32_t)v->data[3] << 24));
        break;
    case OWU_REG_QWORD: {
        uint64_t q = 0;
        for (int i = 7; i >= 0; i--)
            q = q << 8 | v->data[i];
        buf_printf(b, " 0x%016llx", (unsigned long long)q);
        break;
    }
    default:
        if (v->len) {
            static const char hex[] = "0123456789abcdef";
            buf_put(b, " ", 1);
            buf_reserve(b, 2 * v->len);
            if (b->oom)
                return;
            for (size_t i = 0; i < v->len; i++) {
                b->p[b->n++] = hex[v->data[i] >> 4];
                b->p[b->n++] = hex[v->data[i] & 15];
            }
            b->p[b->n] = '\0';
        }
        break;
    }
}

int owu_regdb_format(const struct owu_regdb *db, char **out, size_t *len, owu_err *err)
{
    *out = NULL;
    *len = 0;
    struct buf b = { 0 };
    size_t records = 0;
    buf_printf(&b, "%s %u\n", OWU_REGDB_MAGIC, OWU_REGDB_VERSION);
    buf_str(&b, "# openwinusb Device Parameters, one record per line (docs/registry.md).\n"
                "# Rewritten as a whole by the stack: edit only while no openwinusb program runs.\n");
    for (size_t i = 0; i < db->n; i++) {
        const struct owu_regkey *k = &db->keys[i];
        buf_str(&b, "key ");
        put_qstr(&b, k->id);
        if (k->driver) {
            buf_str(&b, " driver ");
            put_qstr(&b, k->driver);
        }
        if (k->msos) {
            buf_str(&b, " msos ");
            put_qstr(&b, k->msos);
        }
        buf_put(&b, "\n", 1);
        records++;
        for (size_t j = 0; j < k->n; j++) {
            put_value(&b, k, &k->v[j]);
            buf_put(&b, "\n", 1);
            records++;
        }
    }
    buf_printf(&b, "end %zu\n", records);
    if (b.oom) {
        free(b.p);
        return owu_fail(err, OWU_E_NOMEM, "out of memory writing the Device Parameters file");
    }
    *out = b.p;
    *len = b.n;
    return OWU_OK;
}

/* ---- reading ----------------------------------------------------------------------- */

struct cursor {
    const char *p, *end;
    const char *line;    /* start of the line, for columns in messages */
};

static void skip_blanks(struct cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

static size_t column(const struct cursor *c)
{
    return (size_t)(c->p - c->line) + 1;
}

/* A bare word (up to a blank); false at end of line or when the token is quoted or too
 * long for buf. */
static bool next_word(struct cursor *c, char *buf, size_t size)
{
    skip_blanks(c);
    if (c->p >= c->end || *c->p == '"')
        return false;
    size_t n = 0;
    while (c->p < c->end && *c->p != ' ' && *c->p != '\t') {
        if (n + 1 >= size)
            return false;
        buf[n++] = *c->p++;
    }
    buf[n] = '\0';
    return true;
}


/* A quoted string, %XX decoded, into a new buffer (NUL-terminated; *n excludes it). The
 * decoded length is bounded by the line, which the caller bounds. */
static int next_quoted(struct cursor *c, char **out, size_t *n, char *why, size_t whysz)
{
    *out = NULL;
    *n = 0;
    skip_blanks(c);
    if (c->p >= c->end || *c->p != '"') {
        snprintf(why, whysz, "expected a quoted string at column %zu", column(c));
        return OWU_E_PARSE;
    }
    c->p++;
    const char *start = c->p;
    const char *close = memchr(start, '"', (size_t)(c->end - start));
    if (!close) {
        snprintf(why, whysz, "unterminated string starting at column %zu", (size_t)(start - c->line));
        return OWU_E_PARSE;
    }
    char *s = malloc((size_t)(close - start) + 1);
    if (!s) {
        snprintf(why, whysz, "out of memory");
        return OWU_E_NOMEM;
    }
    size_t o = 0;
    for (const char *q = start; q < close;) {
        unsigned char ch = (unsigned char)*q;
        if (ch == '%') {
            int hi = q + 1 < close ? owu_hex_digit((unsigned char)q[1]) : -1;
            int lo = q + 2 < close ? owu_hex_digit((unsigned char)q[2]) : -1;
            if (hi < 0 || lo < 0) {
                snprintf(why, whysz, "bad escape at column %zu (expected %%XX)", (size_t)(q - c->line) + 1);
                free(s);
                return OWU_E_PARSE;
            }
            s[o++] = (char)(hi << 4 | lo);
            q += 3;
        } else if (ch < 0x20 || ch == 0x7F) {
            snprintf(why, whysz, "control byte 0x%02X in a string at column %zu", ch,
                     (size_t)(q - c->line) + 1);
            free(s);
            return OWU_E_PARSE;
        } else {
            s[o++] = (char)ch;
            q++;
        }
    }
    s[o] = '\0';
    c->p = close + 1;
    if (c->p < c->end && *c->p != ' ' && *c->p != '\t') {
        snprintf(why, whysz, "no blank after the string ending at column %zu", column(c) - 1);
        free(s);
        return OWU_E_PARSE;
    }
    *out = s;
    *n = o;
    return OWU_OK;
}

/* A quoted string that must not contain NUL (IDs, names, attributes). */
static int next_cstring(struct cursor *c, char **out, const char *what, char *why, size_t whysz)
{
    size_t n;
    int rc = next_quoted(c, out, &n, why, whysz);
    if (rc < 0)
        return rc;
    if (strlen(*out) != n) {
        snprintf(why, whysz, "%s contains %%00", what);
        free(*out);
        *out = NULL;
        return OWU_E_PARSE;
    }
    return OWU_OK;
}

/* Unsigned number: 0x + 1..16 hex digits, or decimal; fails above max. */
static bool parse_number(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        if (!*s || strlen(s) > 16)
            return false;
        for (; *s; s++) {
            int d = owu_hex_digit((unsigned char)*s);
            if (d < 0)
                return false;
            v = v << 4 | (uint64_t)d;
        }
    } else {
        if (!*s)
            return false;
        for (; *s; s++) {
            if (*s < '0' || *s > '9')
                return false;
            uint64_t d = (uint64_t)(*s - '0');
            if (v > (UINT64_MAX - d) / 10)
                return false;
            v = v * 10 + d;
        }
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_type(const char *w, uint32_t *type)
{
    for (size_t i = 0; i < sizeof type_words / sizeof type_words[0]; i++) {
        if (strcmp(w, type_words[i].word) == 0) {
            *type = type_words[i].type;
            return true;
        }
    }
    uint64_t v;
    if (strncmp(w, "type:", 5) == 0 && parse_number(w + 5, UINT32_MAX, &v)) {
        *type = (uint32_t)v;
        return true;
    }
    return false;
}

struct parser {
    const char *fname;
    unsigned line;
    struct owu_regdb *db;
    struct owu_regdb_report *rep;
    bool oom;
};

static void problem(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct parser *ps, const char *fmt, ...)
{
    ps->rep->problems++;
    if (ps->rep->warnings.n >= OWU_REG_MAX_WARNINGS)
        return;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int rc = ps->line ? owu_strlist_addf(&ps->rep->warnings, "%s:%u: %s", ps->fname, ps->line, msg)
                      : owu_strlist_addf(&ps->rep->warnings, "%s: %s", ps->fname, msg);
    if (rc == OWU_E_NOMEM)
        ps->oom = true;
}

/* Decodes the data tokens of a value line into (data, len) for the type. */
static int parse_data(struct cursor *c, uint32_t type, uint8_t **data, size_t *len, char *why,
                      size_t whysz)
{
    *data = NULL;
    *len = 0;
    char word[40];
    switch (type) {
    case OWU_REG_SZ:
    case OWU_REG_EXPAND_SZ:
    case OWU_REG_LINK: {
        char *s;
        size_t n;
        int rc = next_quoted(c, &s, &n, why, whysz);
        if (rc < 0)
            return rc;
        *data = (uint8_t *)s;
        *len = n + 1;   /* with its NUL; an inner %00 is caught by the value check */
        return OWU_OK;
    }
    case OWU_REG_MULTI_SZ: {
        /* Decoded strings never exceed the line, so the list fits in line length + 1. */
        size_t cap = (size_t)(c->end - c->p) + 2, n = 0;
        uint8_t *buf = malloc(cap);
        if (!buf) {
            snprintf(why, whysz, "out of memory");
            return OWU_E_NOMEM;
        }
        for (;;) {
            skip_blanks(c);
            if (c->p >= c->end)
                break;
            char *s;
            size_t sl;
            int rc = next_quoted(c, &s, &sl, why, whysz);
            if (rc < 0) {
                free(buf);
                return rc;
            }
            if (sl == 0 || strlen(s) != sl) {
                snprintf(why, whysz, "REG_MULTI_SZ string %s", sl == 0 ? "is empty" : "contains %00");
                free(s);
                free(buf);
                return OWU_E_PARSE;
            }
            memcpy(buf + n, s, sl + 1);
            n += sl + 1;
            free(s);
        }
        buf[n++] = '\0';
        *data = buf;
        *len = n;
        return OWU_OK;
    }
    case OWU_REG_DWORD:
    case OWU_REG_QWORD: {
        uint64_t v;
        bool q = type == OWU_REG_QWORD;
        if (!next_word(c, word, sizeof word) || !parse_number(word, q ? UINT64_MAX : UINT32_MAX, &v)) {
            snprintf(why, whysz, "expected a %s number at column %zu", q ? "64-bit" : "32-bit",
                     column(c));
            return OWU_E_PARSE;
        }
        size_t n = q ? 8 : 4;
        uint8_t *buf = malloc(n);
        if (!buf) {
            snprintf(why, whysz, "out of memory");
            return OWU_E_NOMEM;
        }
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)(v >> (8 * i));
        *data = buf;
        *len = n;
        return OWU_OK;
    }
    default: {
        skip_blanks(c);
        const char *h = c->p;
        while (c->p < c->end && *c->p != ' ' && *c->p != '\t')
            c->p++;
        size_t digits = (size_t)(c->p - h);
        if (digits % 2) {
            snprintf(why, whysz, "odd number of hex digits at column %zu", (size_t)(h - c->line) + 1);
            return OWU_E_PARSE;
        }
        uint8_t *buf = malloc(digits / 2 + 1);
        if (!buf) {
            snprintf(why, whysz, "out of memory");
            return OWU_E_NOMEM;
        }
        for (size_t i = 0; i < digits / 2; i++) {
            int hi = owu_hex_digit((unsigned char)h[2 * i]), lo = owu_hex_digit((unsigned char)h[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                snprintf(why, whysz, "invalid hex digit at column %zu",
                         (size_t)(h - c->line) + 2 * i + (hi < 0 ? 1 : 2));
                free(buf);
                return OWU_E_PARSE;
            }
            buf[i] = (uint8_t)(hi << 4 | lo);
        }
        *data = buf;
        *len = digits / 2;
        return OWU_OK;
    }
    }
}

/* A key record may arrive after values created the key implicitly; created tells which. */
static struct owu_regkey *get_key(struct parser *ps, const char *id, bool *created, char *why,
                                  size_t whysz)
{
    owu_err e;
    struct owu_regkey *k = owu_regdb_find(ps->db, id);
    *created = false;
    if (k)
        return k;
    if (owu_regdb_key(ps->db, id, true, &k, &e) < 0) {
        if (e.code == OWU_E_NOMEM)
            ps->oom = true;
        snprintf(why, whysz, "%s", e.msg);
        return NULL;
    }
    *created = true;
    return k;
}

static void parse_key_line(struct parser *ps, struct cursor *c)
{
    char why[200], *id = NULL;
    if (next_cstring(c, &id, "instance ID", why, sizeof why) < 0) {
        problem(ps, "%s; record dropped", why);
        return;
    }
    /* The ID is what matters: damaged attributes are reported and skipped, the key kept. */
    char *driver = NULL, *msos = NULL;
    char attr[16], pa[OWU_REGDB_PRINTABLE_SIZE];
    for (;;) {
        skip_blanks(c);
        if (c->p >= c->end)
            break;
        if (!next_word(c, attr, sizeof attr)) {
            problem(ps, "expected an attribute name at column %zu; rest of the record ignored", column(c));
            break;
        }
        char **slot = strcmp(attr, "driver") == 0 ? &driver : strcmp(attr, "msos") == 0 ? &msos : NULL;
        char *val = NULL;
        if (next_cstring(c, &val, attr, why, sizeof why) < 0) {
            if (ps->oom)
                break;
            problem(ps, "%s; rest of the record ignored", why);
            break;
        }
        if (!slot || *slot)
            problem(ps, "%s attribute \"%s\" ignored", slot ? "repeated" : "unknown",
                    owu_regdb_printable(attr, pa, sizeof pa));
        else if (slot == &msos && strlen(val) != OWU_REGDB_FP_LEN)
            problem(ps, "msos fingerprint is not %u characters; ignored", OWU_REGDB_FP_LEN);
        else {
            *slot = val;
            val = NULL;
        }
        free(val);
    }
    bool created;
    struct owu_regkey *k = get_key(ps, id, &created, why, sizeof why);
    if (!k) {
        problem(ps, "%s; record dropped", why);
    } else {
        if (!created)
            problem(ps, "second key record for %s; attributes merged", id);
        if ((driver && owu_regkey_set_driver(k, driver) < 0) || (msos && owu_regkey_set_msos(k, msos) < 0))
            ps->oom = true;
    }
    free(id);
    free(driver);
    free(msos);
}

static void parse_value_line(struct parser *ps, struct cursor *c)
{
    char why[360], *id = NULL, *name = NULL, word[24], pn[OWU_REGDB_PRINTABLE_SIZE];
    uint8_t *data = NULL;
    size_t len = 0;
    uint32_t type = 0;
    int rc = next_cstring(c, &id, "instance ID", why, sizeof why);
    if (rc == OWU_OK)
        rc = next_cstring(c, &name, "value name", why, sizeof why);
    if (rc == OWU_OK && (!next_word(c, word, sizeof word) || !parse_type(word, &type))) {
        snprintf(why, sizeof why, "expected a value type at column %zu", column(c));
        rc = OWU_E_PARSE;
    }
    if (rc == OWU_OK)
        rc = parse_data(c, type, &data, &len, why, sizeof why);
    if (rc == OWU_OK) {
        skip_blanks(c);
        if (c->p < c->end) {
            snprintf(why, sizeof why, "unexpected text at column %zu", column(c));
            rc = OWU_E_PARSE;
        }
    }
    if (rc == OWU_E_NOMEM)
        ps->oom = true;
    if (rc == OWU_OK) {
        bool created;
        struct owu_regkey *k = get_key(ps, id, &created, why, sizeof why);
        owu_err e;
        if (!k) {
            rc = OWU_E_PARSE;
        } else {
            if (created)
                problem(ps, "value for %s before its key record (key record lost?)", id);
            bool dup = owu_regkey_find(k, name) != NULL;
            if (owu_regkey_set(k, name, type, data, len, &e) < 0) {
                if (e.code == OWU_E_NOMEM)
                    ps->oom = true;
                snprintf(why, sizeof why, "%s", e.msg);
                rc = OWU_E_PARSE;
            } else if (dup) {
                problem(ps, "second record for value \"%s\" of %s; the later one kept",
                        owu_regdb_printable(name, pn, sizeof pn), id);
            }
        }
    }
    if (rc < 0)
        problem(ps, "%s; record dropped", why);
    free(id);
    free(name);
    free(data);
}

void owu_regdb_report_clear(struct owu_regdb_report *rep)
{
    if (!rep)
        return;
    owu_strlist_clear(&rep->warnings);
    rep->problems = 0;
}

int owu_regdb_parse(const char *text, size_t len, const char *fname, struct owu_regdb *db,
                    struct owu_regdb_report *rep, owu_err *err)
{
    struct parser ps = { .fname = fname ? fname : "(registry)", .db = db, .rep = rep };
    if (len > OWU_REG_MAX_FILE_SIZE) {
        problem(&ps, "file is %zu bytes, more than the limit of %u; only the first part was read",
                len, OWU_REG_MAX_FILE_SIZE);
        len = OWU_REG_MAX_FILE_SIZE;
    }
    if (len == 0) {
        problem(&ps, "file is empty (truncated?); starting with no values");
        return OWU_OK;
    }
    const char *p = text, *end = text + len;
    size_t records = 0;
    bool seen_end = false, after_end_reported = false;
    for (unsigned lineno = 1; p < end && !ps.oom; lineno++) {
        ps.line = lineno;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
            problem(&ps, "last line has no newline (file truncated?); line dropped");
            break;
        }
        const char *le = nl;
        if (le > p && le[-1] == '\r')
            le--;
        struct cursor c = { .p = p, .end = le, .line = p };
        const char *next = nl + 1;

        char word[32];
        if (lineno == 1) {
            uint64_t ver;
            char vword[24];
            if (next_word(&c, word, sizeof word) && strcmp(word, OWU_REGDB_MAGIC) == 0) {
                bool ok = next_word(&c, vword, sizeof vword) && parse_number(vword, UINT32_MAX, &ver);
                if (ok && ver > OWU_REGDB_VERSION) {
                    owu_regdb_clear(db);
                    return owu_fail(err, OWU_E_NOTSUP,
                                    "%s: format version %llu is newer than this program reads (%u); "
                                    "the file was left as it is", ps.fname, (unsigned long long)ver,
                                    OWU_REGDB_VERSION);
                }
                skip_blanks(&c);
                if (!ok || ver != OWU_REGDB_VERSION || c.p != c.end)
                    problem(&ps, "damaged header (expected \"%s %u\")", OWU_REGDB_MAGIC,
                            OWU_REGDB_VERSION);
                p = next;
                continue;
            }
            /* Not a header at all: the line may still be a record. */
            problem(&ps, "missing header (expected \"%s %u\")", OWU_REGDB_MAGIC, OWU_REGDB_VERSION);
            c.p = p;
        }
        p = next;

        skip_blanks(&c);
        if (c.p == c.end || *c.p == '#')
            continue;
        if (seen_end) {
            if (!after_end_reported)
                problem(&ps, "text after the end record; ignored");
            after_end_reported = true;
            continue;
        }
        if (!next_word(&c, word, sizeof word) || !word[0]) {
            problem(&ps, "expected a record keyword at column %zu; line dropped", column(&c));
            records++;
            continue;
        }
        if (strcmp(word, "key") == 0) {
            records++;
            parse_key_line(&ps, &c);
        } else if (strcmp(word, "value") == 0) {
            records++;
            parse_value_line(&ps, &c);
        } else if (strcmp(word, "end") == 0) {
            uint64_t n;
            char nword[24];
            seen_end = true;
            if (!next_word(&c, nword, sizeof nword) || !parse_number(nword, UINT64_MAX, &n))
                problem(&ps, "end record without a count");
            else if (n != records)
                problem(&ps, "end record counts %llu records, the file has %zu (lines lost or added)",
                        (unsigned long long)n, records);
        } else {
            char pw[24];
            problem(&ps, "unknown record \"%s\"; line dropped", owu_regdb_printable(word, pw, sizeof pw));
            records++;
        }
    }
    if (ps.oom) {
        owu_regdb_clear(db);
        return owu_fail(err, OWU_E_NOMEM, "%s: out of memory reading the file", ps.fname);
    }
    ps.line = 0;
    if (!seen_end)
        problem(&ps, "no end record (file truncated?)");
    if (rep->problems > rep->warnings.n && rep->warnings.n == OWU_REG_MAX_WARNINGS)
        owu_strlist_addf(&rep->warnings, "%s: %zu more problems not listed", ps.fname,
                         rep->problems - rep->warnings.n);
    return OWU_OK;
}
