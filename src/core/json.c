/* JSON: a strict RFC 8259 reader building a small DOM, a streaming writer, and the hex
 * blob codec profiles use. The reader takes untrusted text; see json.h for its limits. */
#include "core/json.h"
#include "core/hex.h"
#include "core/utf.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- reader ---------------------------------------------------------------------------- */

struct jparser {
    const unsigned char *s;
    size_t len;
    size_t pos;
    size_t values;
    owu_err *err;
};

const char *owu_json_type_name(enum owu_json_type type)
{
    switch (type) {
    case OWU_JSON_NULL: return "null";
    case OWU_JSON_BOOL: return "boolean";
    case OWU_JSON_NUMBER: return "number";
    case OWU_JSON_STRING: return "string";
    case OWU_JSON_ARRAY: return "array";
    case OWU_JSON_OBJECT: return "object";
    }
    return "value";
}

__attribute__((format(printf, 3, 4)))
static int jp_fail(struct jparser *p, size_t at, const char *fmt, ...)
{
    size_t line = 1, col = 1;
    if (at > p->len)
        at = p->len;
    for (size_t i = 0; i < at; i++) {
        if (p->s[i] == '\n') {
            line++;
            col = 1;
        } else if ((p->s[i] & 0xC0) != 0x80) {
            col++;   /* count characters, not UTF-8 continuation bytes */
        }
    }
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return owu_fail(p->err, OWU_E_PARSE, "line %zu, column %zu: %s", line, col, what);
}

/* Describes the byte at pos for "found ..." in messages. */
static const char *jp_found(const struct jparser *p, size_t pos, char *buf, size_t bufsz)
{
    if (pos >= p->len)
        return "end of input";
    unsigned char c = p->s[pos];
    if (c > 0x20 && c < 0x7F)
        snprintf(buf, bufsz, "'%c'", c);
    else
        snprintf(buf, bufsz, "byte 0x%02X", c);
    return buf;
}

static void jp_skip_ws(struct jparser *p)
{
    while (p->pos < p->len) {
        unsigned char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

static struct owu_json *jp_new(struct jparser *p, enum owu_json_type type, int *rc)
{
    if (p->values >= OWU_JSON_MAX_VALUES) {
        *rc = jp_fail(p, p->pos, "more than %zu values", (size_t)OWU_JSON_MAX_VALUES);
        return NULL;
    }
    struct owu_json *v = calloc(1, sizeof *v);
    if (!v) {
        *rc = owu_fail(p->err, OWU_E_NOMEM, "out of memory parsing JSON");
        return NULL;
    }
    p->values++;
    v->type = type;
    return v;
}


/* Four hex digits of a \u escape starting at pos. */
static int jp_hex4(struct jparser *p, size_t pos, uint32_t *out)
{
    uint32_t v = 0;
    for (size_t i = 0; i < 4; i++) {
        if (pos + i >= p->len)
            return jp_fail(p, pos + i, "\\u escape needs four hex digits, found end of input");
        int d = owu_hex_digit(p->s[pos + i]);
        if (d < 0) {
            char b[16];
            return jp_fail(p, pos + i, "\\u escape needs four hex digits, found %s",
                           jp_found(p, pos + i, b, sizeof b));
        }
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return OWU_OK;
}

/* Parses the string literal at p->pos (on the opening quote) into a new NUL-terminated
 * buffer. The decoded text is never longer than the literal, which sizes the buffer. */
static int jp_string(struct jparser *p, char **out, size_t *out_len)
{
    size_t start = ++p->pos;
    size_t end = start;
    while (end < p->len && p->s[end] != '"') {
        if (p->s[end] == '\\')
            end++;
        end++;
    }
    if (end >= p->len)
        return jp_fail(p, start - 1, "unterminated string");
    if (end - start > OWU_JSON_MAX_STRING)
        return jp_fail(p, start - 1, "string longer than %zu bytes", (size_t)OWU_JSON_MAX_STRING);

    char *buf = malloc(end - start + 1);
    if (!buf)
        return owu_fail(p->err, OWU_E_NOMEM, "out of memory parsing JSON");
    size_t n = 0;
    size_t i = start;
    int rc = OWU_OK;
    while (i < end) {
        unsigned char c = p->s[i];
        if (c < 0x20) {
            rc = jp_fail(p, i, "control character U+%04X in a string (write it as an escape)", c);
            goto fail;
        }
        if (c >= 0x80) {
            size_t k = owu_utf8_next(p->s + i, end - i, NULL);
            if (k == 0) {
                rc = jp_fail(p, i, "invalid UTF-8 (byte 0x%02X) in a string", c);
                goto fail;
            }
            memcpy(buf + n, p->s + i, k);
            n += k;
            i += k;
            continue;
        }
        if (c != '\\') {
            buf[n++] = (char)c;
            i++;
            continue;
        }
        /* The scan above guarantees a character after the backslash. */
        unsigned char e = p->s[i + 1];
        char simple = 0;
        switch (e) {
        case '"': simple = '"'; break;
        case '\\': simple = '\\'; break;
        case '/': simple = '/'; break;
        case 'b': simple = '\b'; break;
        case 'f': simple = '\f'; break;
        case 'n': simple = '\n'; break;
        case 'r': simple = '\r'; break;
        case 't': simple = '\t'; break;
        case 'u': break;
        default:
            if (e > 0x20 && e < 0x7F)
                rc = jp_fail(p, i, "invalid escape \\%c in a string", e);
            else
                rc = jp_fail(p, i, "invalid escape: backslash followed by byte 0x%02X", e);
            goto fail;
        }
        if (simple) {
            buf[n++] = simple;
            i += 2;
            continue;
        }
        uint32_t cp;
        if ((rc = jp_hex4(p, i + 2, &cp)) < 0)
            goto fail;
        size_t esc_at = i;
        i += 6;
        if (owu_utf16_is_low_surrogate(cp)) {
            rc = jp_fail(p, esc_at, "unpaired surrogate \\u%04X in a string", (unsigned)cp);
            goto fail;
        }
        if (owu_utf16_is_high_surrogate(cp)) {
            uint32_t lo;
            if (i + 1 >= end || p->s[i] != '\\' || p->s[i + 1] != 'u') {
                rc = jp_fail(p, esc_at, "unpaired surrogate \\u%04X in a string", (unsigned)cp);
                goto fail;
            }
            if ((rc = jp_hex4(p, i + 2, &lo)) < 0)
                goto fail;
            if (!owu_utf16_is_low_surrogate(lo)) {
                rc = jp_fail(p, esc_at, "unpaired surrogate \\u%04X in a string", (unsigned)cp);
                goto fail;
            }
            cp = owu_utf16_pair(cp, lo);
            i += 6;
        }
        if (cp == 0) {
            rc = jp_fail(p, esc_at, "\\u0000 is not allowed in a string");
            goto fail;
        }
        /* An escape takes 6 or 12 bytes and yields at most 4: the buffer cannot overflow. */
        n += owu_utf8_put(cp, buf + n);
    }
    buf[n] = '\0';
    p->pos = end + 1;
    *out = buf;
    *out_len = n;
    return OWU_OK;
fail:
    free(buf);
    return rc;
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static void c_locale_init(void) { c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0); }

static int jp_number(struct jparser *p, struct owu_json *v)
{
    size_t start = p->pos, i = p->pos;
    const unsigned char *s = p->s;
    bool integral = true;
    if (i < p->len && s[i] == '-')
        i++;
    if (i >= p->len || s[i] < '0' || s[i] > '9') {
        char b[16];
        return jp_fail(p, i, "expected a digit, found %s", jp_found(p, i, b, sizeof b));
    }
    if (s[i] == '0') {
        i++;
        if (i < p->len && s[i] >= '0' && s[i] <= '9')
            return jp_fail(p, start, "leading zeros are not allowed in numbers");
    } else {
        while (i < p->len && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i < p->len && s[i] == '.') {
        integral = false;
        i++;
        if (i >= p->len || s[i] < '0' || s[i] > '9') {
            char b[16];
            return jp_fail(p, i, "expected a digit after '.', found %s", jp_found(p, i, b, sizeof b));
        }
        while (i < p->len && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
        integral = false;
        i++;
        if (i < p->len && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= p->len || s[i] < '0' || s[i] > '9') {
            char b[16];
            return jp_fail(p, i, "expected a digit in the exponent, found %s",
                           jp_found(p, i, b, sizeof b));
        }
        while (i < p->len && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    size_t n = i - start;
    if (n > OWU_JSON_MAX_NUMBER)
        return jp_fail(p, start, "number longer than %d characters", OWU_JSON_MAX_NUMBER);

    if (integral) {
        bool neg = s[start] == '-';
        uint64_t mag = 0;
        bool fits = true;
        for (size_t k = start + (neg ? 1 : 0); k < i; k++) {
            unsigned d = (unsigned)(s[k] - '0');
            if (mag > (UINT64_MAX - d) / 10) {
                fits = false;
                break;
            }
            mag = mag * 10 + d;
        }
        uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        if (fits && mag <= limit) {
            v->is_integer = true;
            v->integer = neg ? (mag == limit ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
            v->number = (double)v->integer;
            p->pos = i;
            return OWU_OK;
        }
    }
    /* strtod follows LC_NUMERIC; JSON always uses '.', so convert in the C locale. */
    char tmp[OWU_JSON_MAX_NUMBER + 1];
    memcpy(tmp, s + start, n);
    tmp[n] = '\0';
    pthread_once(&c_locale_once, c_locale_init);
    double d = c_locale ? strtod_l(tmp, NULL, c_locale) : strtod(tmp, NULL);
    if (!isfinite(d))
        return jp_fail(p, start, "number %s is out of range", tmp);
    v->number = d;
    p->pos = i;
    return OWU_OK;
}

static int jp_value(struct jparser *p, int depth, struct owu_json **out);

static int jp_grow(struct jparser *p, struct owu_json *v, size_t *cap, bool keys)
{
    if (v->count < *cap)
        return OWU_OK;
    size_t ncap = *cap ? *cap * 2 : 4;
    struct owu_json **items = realloc(v->items, ncap * sizeof *items);
    if (!items)
        return owu_fail(p->err, OWU_E_NOMEM, "out of memory parsing JSON");
    v->items = items;
    if (keys) {
        char **k = realloc(v->keys, ncap * sizeof *k);
        if (!k)
            return owu_fail(p->err, OWU_E_NOMEM, "out of memory parsing JSON");
        v->keys = k;
    }
    *cap = ncap;
    return OWU_OK;
}

static int cmp_keyp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Small objects are checked key by key as they are read (exact position in the message);
 * this sorts a copy of the keys of a large one to keep the check O(n log n). */
static int jp_check_dup_keys_sorted(struct jparser *p, const struct owu_json *v, size_t at)
{
    char **sorted = malloc(v->count * sizeof *sorted);
    if (!sorted)
        return owu_fail(p->err, OWU_E_NOMEM, "out of memory parsing JSON");
    memcpy(sorted, v->keys, v->count * sizeof *sorted);
    qsort(sorted, v->count, sizeof *sorted, cmp_keyp);
    int rc = OWU_OK;
    for (size_t i = 1; i < v->count; i++) {
        if (strcmp(sorted[i - 1], sorted[i]) == 0) {
            rc = jp_fail(p, at, "duplicate key \"%.64s\" in this object", sorted[i]);
            break;
        }
    }
    free(sorted);
    return rc;
}

#define JP_SMALL_OBJECT 32

static int jp_object(struct jparser *p, int depth, struct owu_json *v)
{
    size_t open_at = p->pos;
    size_t cap = 0;
    p->pos++;
    jp_skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == '}') {
        p->pos++;
        return OWU_OK;
    }
    for (;;) {
        jp_skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != '"') {
            char b[16];
            return jp_fail(p, p->pos, "expected a string key, found %s",
                           jp_found(p, p->pos, b, sizeof b));
        }
        size_t key_at = p->pos;
        char *key;
        size_t key_len;
        int rc = jp_string(p, &key, &key_len);
        if (rc < 0)
            return rc;
        if (v->count < JP_SMALL_OBJECT) {
            for (size_t i = 0; i < v->count; i++) {
                if (strcmp(v->keys[i], key) == 0) {
                    rc = jp_fail(p, key_at, "duplicate key \"%.64s\"", key);
                    free(key);
                    return rc;
                }
            }
        }
        jp_skip_ws(p);
        if (p->pos >= p->len || p->s[p->pos] != ':') {
            char b[16];
            rc = jp_fail(p, p->pos, "expected ':' after the key, found %s",
                         jp_found(p, p->pos, b, sizeof b));
            free(key);
            return rc;
        }
        p->pos++;
        struct owu_json *item;
        if ((rc = jp_value(p, depth + 1, &item)) < 0) {
            free(key);
            return rc;
        }
        if ((rc = jp_grow(p, v, &cap, true)) < 0) {
            free(key);
            owu_json_free(item);
            return rc;
        }
        v->keys[v->count] = key;
        v->items[v->count] = item;
        v->count++;
        jp_skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == '}') {
            p->pos++;
            break;
        }
        char b[16];
        return jp_fail(p, p->pos, "expected ',' or '}' in an object, found %s",
                       jp_found(p, p->pos, b, sizeof b));
    }
    if (v->count > JP_SMALL_OBJECT)
        return jp_check_dup_keys_sorted(p, v, open_at);
    return OWU_OK;
}

static int jp_array(struct jparser *p, int depth, struct owu_json *v)
{
    size_t cap = 0;
    p->pos++;
    jp_skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == ']') {
        p->pos++;
        return OWU_OK;
    }
    for (;;) {
        struct owu_json *item;
        int rc = jp_value(p, depth + 1, &item);
        if (rc < 0)
            return rc;
        if ((rc = jp_grow(p, v, &cap, false)) < 0) {
            owu_json_free(item);
            return rc;
        }
        v->items[v->count++] = item;
        jp_skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == ']') {
            p->pos++;
            return OWU_OK;
        }
        char b[16];
        return jp_fail(p, p->pos, "expected ',' or ']' in an array, found %s",
                       jp_found(p, p->pos, b, sizeof b));
    }
}

static int jp_literal(struct jparser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return jp_fail(p, p->pos, "invalid literal (expected %s)", word);
    p->pos += n;
    return OWU_OK;
}

static int jp_value(struct jparser *p, int depth, struct owu_json **out)
{
    *out = NULL;
    jp_skip_ws(p);
    if (p->pos >= p->len)
        return jp_fail(p, p->pos, "expected a value, found end of input");
    unsigned char c = p->s[p->pos];
    enum owu_json_type type;
    switch (c) {
    case '{': type = OWU_JSON_OBJECT; break;
    case '[': type = OWU_JSON_ARRAY; break;
    case '"': type = OWU_JSON_STRING; break;
    case 't': case 'f': type = OWU_JSON_BOOL; break;
    case 'n': type = OWU_JSON_NULL; break;
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            type = OWU_JSON_NUMBER;
            break;
        }
        char b[16];
        return jp_fail(p, p->pos, "expected a value, found %s", jp_found(p, p->pos, b, sizeof b));
    }
    if ((type == OWU_JSON_OBJECT || type == OWU_JSON_ARRAY) && depth >= OWU_JSON_MAX_DEPTH)
        return jp_fail(p, p->pos, "nesting deeper than %d levels", OWU_JSON_MAX_DEPTH);

    int rc = OWU_OK;
    struct owu_json *v = jp_new(p, type, &rc);
    if (!v)
        return rc;
    switch (type) {
    case OWU_JSON_OBJECT: rc = jp_object(p, depth, v); break;
    case OWU_JSON_ARRAY: rc = jp_array(p, depth, v); break;
    case OWU_JSON_STRING: rc = jp_string(p, &v->string, &v->string_len); break;
    case OWU_JSON_NUMBER: rc = jp_number(p, v); break;
    case OWU_JSON_NULL: rc = jp_literal(p, "null"); break;
    case OWU_JSON_BOOL:
        v->boolean = c == 't';
        rc = jp_literal(p, v->boolean ? "true" : "false");
        break;
    }
    if (rc < 0) {
        owu_json_free(v);
        return rc;
    }
    *out = v;
    return OWU_OK;
}

int owu_json_parse(const char *text, size_t len, struct owu_json **out, owu_err *err)
{
    if (!out)
        return owu_fail(err, OWU_E_INVAL, "owu_json_parse: no output pointer");
    *out = NULL;
    if (!text && len)
        return owu_fail(err, OWU_E_INVAL, "owu_json_parse: no text");
    if (len > OWU_JSON_MAX_TEXT)
        return owu_fail(err, OWU_E_PARSE, "JSON text is %zu bytes, more than the %zu allowed",
                        len, (size_t)OWU_JSON_MAX_TEXT);
    struct jparser p = { .s = (const unsigned char *)text, .len = len, .err = err };
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        p.pos = 3;
    struct owu_json *v;
    int rc = jp_value(&p, 0, &v);
    if (rc < 0)
        return rc;
    jp_skip_ws(&p);
    if (p.pos < p.len) {
        char b[16];
        rc = jp_fail(&p, p.pos, "unexpected %s after the end of the JSON value",
                     jp_found(&p, p.pos, b, sizeof b));
        owu_json_free(v);
        return rc;
    }
    *out = v;
    return OWU_OK;
}

void owu_json_free(struct owu_json *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->count; i++) {
        owu_json_free(v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->string);
    free(v);
}

const struct owu_json *owu_json_get(const struct owu_json *obj, const char *key)
{
    if (!obj || obj->type != OWU_JSON_OBJECT || !key)
        return NULL;
    for (size_t i = 0; i < obj->count; i++)
        if (strcmp(obj->keys[i], key) == 0)
            return obj->items[i];
    return NULL;
}

/* ---- writer ------------------------------------------------------------------------------ */

void owu_jw_init(struct owu_json_writer *w, FILE *f, bool pretty)
{
    memset(w, 0, sizeof *w);
    w->f = f;
    w->pretty = pretty;
}

static void jw_newline(struct owu_json_writer *w)
{
    if (!w->pretty)
        return;
    fputc('\n', w->f);
    for (int i = 0; i < w->depth; i++)
        fputs("  ", w->f);
}

static bool *jw_slot(struct owu_json_writer *w)
{
    int d = w->depth < OWU_JSON_MAX_DEPTH ? w->depth : OWU_JSON_MAX_DEPTH - 1;
    return &w->need_comma[d];
}

/* Separator before a value or a key: nothing right after a key, else a comma when this
 * container already has an element, and a new line in pretty mode. */
static void jw_before_item(struct owu_json_writer *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    bool *slot = jw_slot(w);
    if (*slot)
        fputc(',', w->f);
    if (w->depth > 0)
        jw_newline(w);
    else if (*slot && w->pretty)
        fputc('\n', w->f);   /* several top-level values: one per line */
    *slot = true;
}

static void jw_begin(struct owu_json_writer *w, char open)
{
    jw_before_item(w);
    fputc(open, w->f);
    w->depth++;
    if (w->depth >= OWU_JSON_MAX_DEPTH)
        w->overflow = true;
    *jw_slot(w) = false;
}

static void jw_end(struct owu_json_writer *w, char close)
{
    if (w->depth == 0) {
        w->overflow = true;   /* unbalanced: more ends than begins */
        return;
    }
    bool had_items = *jw_slot(w);
    w->after_key = false;
    w->depth--;
    if (had_items)
        jw_newline(w);
    fputc(close, w->f);
}

void owu_jw_begin_object(struct owu_json_writer *w) { jw_begin(w, '{'); }
void owu_jw_end_object(struct owu_json_writer *w) { jw_end(w, '}'); }
void owu_jw_begin_array(struct owu_json_writer *w) { jw_begin(w, '['); }
void owu_jw_end_array(struct owu_json_writer *w) { jw_end(w, ']'); }

static void jw_string_body(FILE *f, const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t len = strlen(s);
    fputc('"', f);
    for (size_t i = 0; i < len;) {
        unsigned char c = u[i];
        if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc(c, f);
            i++;
        } else if (c < 0x20) {
            switch (c) {
            case '\b': fputs("\\b", f); break;
            case '\f': fputs("\\f", f); break;
            case '\n': fputs("\\n", f); break;
            case '\r': fputs("\\r", f); break;
            case '\t': fputs("\\t", f); break;
            default: fprintf(f, "\\u%04X", c); break;
            }
            i++;
        } else if (c < 0x80) {
            fputc(c, f);
            i++;
        } else {
            size_t k = owu_utf8_next(u + i, len - i, NULL);
            if (k == 0) {
                fputs("\xEF\xBF\xBD", f);   /* U+FFFD for a byte that is not UTF-8 */
                i++;
            } else {
                fwrite(u + i, 1, k, f);
                i += k;
            }
        }
    }
    fputc('"', f);
}

void owu_jw_key(struct owu_json_writer *w, const char *key)
{
    jw_before_item(w);
    jw_string_body(w->f, key ? key : "");
    fputs(w->pretty ? ": " : ":", w->f);
    w->after_key = true;
}

void owu_jw_string(struct owu_json_writer *w, const char *s)
{
    if (!s) {
        owu_jw_null(w);
        return;
    }
    jw_before_item(w);
    jw_string_body(w->f, s);
}

void owu_jw_int(struct owu_json_writer *w, long long v)
{
    jw_before_item(w);
    fprintf(w->f, "%lld", v);
}

void owu_jw_bool(struct owu_json_writer *w, bool v)
{
    jw_before_item(w);
    fputs(v ? "true" : "false", w->f);
}

void owu_jw_null(struct owu_json_writer *w)
{
    jw_before_item(w);
    fputs("null", w->f);
}

void owu_jw_hex(struct owu_json_writer *w, const uint8_t *data, size_t len)
{
    static const char digits[] = "0123456789ABCDEF";
    jw_before_item(w);
    fputc('"', w->f);
    for (size_t i = 0; i < len; i++) {
        if (i)
            fputc(' ', w->f);
        fputc(digits[data[i] >> 4], w->f);
        fputc(digits[data[i] & 15], w->f);
    }
    fputc('"', w->f);
}

void owu_jw_finish(struct owu_json_writer *w)
{
    fputc('\n', w->f);
}

/* ---- hex blobs ----------------------------------------------------------------------------- */

int owu_hex_decode(const char *s, uint8_t **out, size_t *out_len, owu_err *err)
{
    if (!s || !out || !out_len)
        return owu_fail(err, OWU_E_INVAL, "owu_hex_decode: NULL argument");
    *out = NULL;
    *out_len = 0;
    size_t digits = 0;
    for (size_t i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (owu_hex_digit(c) >= 0) {
            digits++;
        } else if (c == ' ' || c == '\t') {
            if (digits % 2)
                return owu_fail(err, OWU_E_PARSE,
                                "space inside a byte at offset %zu (write two hex digits per byte)", i);
        } else if (c > 0x20 && c < 0x7F) {
            return owu_fail(err, OWU_E_PARSE, "invalid character '%c' at offset %zu (expected hex digits)",
                            c, i);
        } else {
            return owu_fail(err, OWU_E_PARSE,
                            "invalid byte 0x%02X at offset %zu (expected hex digits)", c, i);
        }
    }
    if (digits % 2)
        return owu_fail(err, OWU_E_PARSE, "odd number of hex digits");
    if (digits == 0)
        return OWU_OK;
    uint8_t *buf = malloc(digits / 2);
    if (!buf)
        return owu_fail(err, OWU_E_NOMEM, "out of memory decoding %zu hex digits", digits);
    size_t n = 0;
    int hi = -1;
    for (size_t i = 0; s[i]; i++) {
        int d = owu_hex_digit((unsigned char)s[i]);
        if (d < 0)
            continue;
        if (hi < 0) {
            hi = d;
        } else {
            buf[n++] = (uint8_t)(hi << 4 | d);
            hi = -1;
        }
    }
    *out = buf;
    *out_len = n;
    return OWU_OK;
}
