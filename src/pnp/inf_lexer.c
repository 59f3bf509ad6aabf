/* INF lexer: stored bytes -> UTF-8 text -> sections and entries (pnp-ids.md §4.1).
 *
 * Decoding accepts UTF-16LE/BE with a BOM (and, with a warning, without one when the first
 * character is ASCII), UTF-8 with or without BOM, and any other 8-bit text: a byte that
 * does not start a valid UTF-8 sequence is taken as Latin-1, so ANSI files keep their
 * characters instead of being rejected. */
#include "core/utf.h"
#include "pnp/inf_internal.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------ */
/* Decoding                                                                              */

/* Line number of byte `pos` of decoded text (for errors found while decoding). */
static unsigned line_at(const char *text, size_t pos)
{
    unsigned line = 1;
    for (size_t i = 0; i < pos; i++) {
        if (text[i] == '\n')
            line++;
        else if (text[i] == '\r' && (i + 1 >= pos || text[i + 1] != '\n'))
            line++;
    }
    return line;
}

static int decode_utf16(struct owu_inf *inf, const uint8_t *p, size_t len, bool be, char **out,
                        size_t *out_len, owu_err *err)
{
    if (len % 2)
        return owu_fail(err, OWU_E_PARSE, "%s: truncated UTF-16 text (odd number of bytes)",
                        inf->name);
    /* Each 2-byte unit gives at most 3 bytes of UTF-8 (a pair: 4 bytes for 4). */
    char *buf = malloc(len / 2 * 3 + 1);
    if (!buf)
        return owu_fail(err, OWU_E_NOMEM, "%s: out of memory decoding UTF-16", inf->name);
    size_t o = 0;
    bool bad_surrogate = false;
    unsigned bad_line = 0;
    for (size_t i = 0; i + 1 < len; i += 2) {
        uint32_t u = be ? ((uint32_t)p[i] << 8 | p[i + 1]) : ((uint32_t)p[i + 1] << 8 | p[i]);
        if (u == 0) {
            unsigned line = line_at(buf, o);
            free(buf);
            return owu_fail(err, OWU_E_PARSE, "%s:%u: NUL character in text", inf->name, line);
        }
        if (u == 0x1A)   /* Ctrl-Z: end-of-file mark of old editors */
            break;
        size_t used;
        uint32_t cp = owu_utf16_next(p, len / 2, i / 2, be, &used);
        if (used == 2)
            i += 2;
        else if (cp == OWU_UTF_REPLACEMENT && u != OWU_UTF_REPLACEMENT) {
            if (!bad_surrogate)
                bad_line = line_at(buf, o);
            bad_surrogate = true;
        }
        o += owu_utf8_put(cp, buf + o);
    }
    buf[o] = '\0';
    if (bad_surrogate)
        owu_inf_warn(inf, bad_line, "unpaired UTF-16 surrogate replaced by U+FFFD");
    *out = buf;
    *out_len = o;
    return OWU_OK;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when the bytes are not one. */
static size_t utf8_seq(const uint8_t *p, size_t left)
{
    uint8_t b = p[0];
    size_t n;
    uint8_t lo = 0x80, hi = 0xBF;   /* allowed range of the second byte */
    if (b >= 0xC2 && b <= 0xDF)
        n = 2;
    else if (b >= 0xE0 && b <= 0xEF) {
        n = 3;
        if (b == 0xE0)
            lo = 0xA0;           /* no overlong forms */
        else if (b == 0xED)
            hi = 0x9F;           /* no surrogates */
    } else if (b >= 0xF0 && b <= 0xF4) {
        n = 4;
        if (b == 0xF0)
            lo = 0x90;
        else if (b == 0xF4)
            hi = 0x8F;           /* nothing above U+10FFFF */
    } else
        return 0;
    if (left < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

static int decode_8bit(struct owu_inf *inf, const uint8_t *p, size_t len, char **out,
                       size_t *out_len, owu_err *err)
{
    if (len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {
        p += 3;
        len -= 3;
    }
    char *buf = malloc(len * 2 + 1);   /* a Latin-1 byte becomes two */
    if (!buf)
        return owu_fail(err, OWU_E_NOMEM, "%s: out of memory decoding text", inf->name);
    size_t o = 0;
    unsigned latin1_line = 0;
    for (size_t i = 0; i < len;) {
        uint8_t b = p[i];
        if (b == 0) {
            unsigned line = line_at(buf, o);
            free(buf);
            return owu_fail(err, OWU_E_PARSE, "%s:%u: NUL byte in text", inf->name, line);
        }
        if (b == 0x1A)
            break;
        if (b < 0x80) {
            buf[o++] = (char)b;
            i++;
            continue;
        }
        size_t n = utf8_seq(p + i, len - i);
        if (n) {
            memcpy(buf + o, p + i, n);
            o += n;
            i += n;
            continue;
        }
        if (!latin1_line)
            latin1_line = line_at(buf, o);
        o += owu_utf8_put(b, buf + o);
        i++;
    }
    buf[o] = '\0';
    if (latin1_line)
        owu_inf_warn(inf, latin1_line, "text is not UTF-8; non-UTF-8 bytes read as Latin-1");
    *out = buf;
    *out_len = o;
    return OWU_OK;
}

int owu_inf_decode(struct owu_inf *inf, const uint8_t *data, size_t len, char **out,
                   size_t *out_len, owu_err *err)
{
    if (len >= 2 && data[0] == 0xFF && data[1] == 0xFE)
        return decode_utf16(inf, data + 2, len - 2, false, out, out_len, err);
    if (len >= 2 && data[0] == 0xFE && data[1] == 0xFF)
        return decode_utf16(inf, data + 2, len - 2, true, out, out_len, err);
    /* UTF-16 without BOM: an ASCII first character gives itself away by its zero byte. */
    if (len >= 2 && data[0] && data[0] < 0x80 && !data[1]) {
        owu_inf_warn(inf, 0, "UTF-16LE text without byte-order mark");
        return decode_utf16(inf, data, len, false, out, out_len, err);
    }
    if (len >= 2 && !data[0] && data[1] && data[1] < 0x80) {
        owu_inf_warn(inf, 0, "UTF-16BE text without byte-order mark");
        return decode_utf16(inf, data, len, true, out, out_len, err);
    }
    return decode_8bit(inf, data, len, out, out_len, err);
}

/* ------------------------------------------------------------------------------------ */
/* Lexing                                                                                */

struct lexer {
    struct owu_inf *inf;
    owu_err *err;
    unsigned line;              /* current physical line */

    /* The entry being built (it may span continued lines). */
    bool active;
    unsigned start_line;
    char *store;                /* bytes of all finished fields of the entry */
    size_t store_len, store_cap;
    size_t *offs, *lens;
    size_t nfields, fields_cap;
    bool have_key;
    size_t key_off, key_len;
    bool comma_seen;

    /* The field being built. */
    char *buf;
    size_t len, cap;
    size_t keep;                /* bytes up to the end of the last quoted run: not trimmed */
    size_t chars;               /* characters in buf (limit check) */
    bool started;               /* leading unquoted whitespace is over */
    bool quoted;                /* the field had a quoted part */
    bool last_quoted;           /* quoted flag of the last finished field */
};

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

static int grow(char **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return OWU_OK;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    char *q = realloc(*p, n);
    if (!q)
        return OWU_E_NOMEM;
    *p = q;
    *cap = n;
    return OWU_OK;
}

static int field_append(struct lexer *lx, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            lx->chars++;
    if (lx->chars > OWU_INF_MAX_FIELD_LEN)
        return owu_fail(lx->err, OWU_E_PARSE, "%s:%u: field longer than %u characters",
                        lx->inf->name, lx->line, OWU_INF_MAX_FIELD_LEN);
    if (grow(&lx->buf, &lx->cap, lx->len + n + 1))
        return owu_fail(lx->err, OWU_E_NOMEM, "%s: out of memory", lx->inf->name);
    memcpy(lx->buf + lx->len, s, n);
    lx->len += n;
    lx->started = true;
    return OWU_OK;
}

static void field_reset(struct lexer *lx)
{
    lx->len = lx->keep = lx->chars = 0;
    lx->started = lx->quoted = false;
}

/* Ends the current field: trims unquoted trailing blanks and stores it. */
static int field_finish(struct lexer *lx, size_t *off, size_t *flen)
{
    while (lx->len > lx->keep && is_blank(lx->buf[lx->len - 1]))
        lx->len--;
    if (grow(&lx->store, &lx->store_cap, lx->store_len + lx->len + 1))
        return owu_fail(lx->err, OWU_E_NOMEM, "%s: out of memory", lx->inf->name);
    *off = lx->store_len;
    *flen = lx->len;
    if (lx->len)
        memcpy(lx->store + lx->store_len, lx->buf, lx->len);
    lx->store_len += lx->len;
    lx->store[lx->store_len++] = '\0';
    lx->last_quoted = lx->quoted;
    field_reset(lx);
    return OWU_OK;
}

static int push_field(struct lexer *lx)
{
    if (lx->nfields >= OWU_INF_MAX_FIELDS)
        return owu_fail(lx->err, OWU_E_PARSE, "%s:%u: more than %u fields in one entry",
                        lx->inf->name, lx->line, OWU_INF_MAX_FIELDS);
    if (lx->nfields == lx->fields_cap) {
        size_t n = lx->fields_cap ? lx->fields_cap * 2 : 16;
        size_t *o = realloc(lx->offs, n * sizeof *o);
        if (!o)
            return owu_fail(lx->err, OWU_E_NOMEM, "%s: out of memory", lx->inf->name);
        lx->offs = o;
        size_t *l = realloc(lx->lens, n * sizeof *l);
        if (!l)
            return owu_fail(lx->err, OWU_E_NOMEM, "%s: out of memory", lx->inf->name);
        lx->lens = l;
        lx->fields_cap = n;
    }
    int rc = field_finish(lx, &lx->offs[lx->nfields], &lx->lens[lx->nfields]);
    if (rc)
        return rc;
    lx->nfields++;
    return OWU_OK;
}

static int entry_finish(struct lexer *lx)
{
    int rc = push_field(lx);
    if (rc)
        return rc;
    lx->active = false;
    size_t n = lx->nfields;
    /* "key =" with nothing after it has no field; a bare line that came out empty (a lone
     * continuation) is no entry at all. */
    bool empty_last = n == 1 && lx->lens[0] == 0 && !lx->last_quoted;
    if (empty_last && !lx->have_key) {
        lx->nfields = 0;
        lx->store_len = 0;
        return OWU_OK;
    }
    if (empty_last)
        n = 0;
    if (!owu_inf_in_section(lx->inf)) {
        lx->nfields = 0;
        lx->store_len = 0;
        lx->have_key = false;
        if (lx->inf->opt.flags & OWU_INF_STRICT)
            return owu_fail(lx->err, OWU_E_PARSE, "%s:%u: entry before the first section",
                            lx->inf->name, lx->start_line);
        owu_inf_warn(lx->inf, lx->start_line, "entry before the first section ignored");
        return OWU_OK;
    }
    const char *fields[OWU_INF_MAX_FIELDS];
    for (size_t i = 0; i < n; i++)
        fields[i] = lx->store + lx->offs[i];
    rc = owu_inf_add_entry(lx->inf, lx->have_key ? lx->store + lx->key_off : NULL, lx->key_len,
                           fields, lx->lens, n, lx->start_line, lx->err);
    lx->nfields = 0;
    lx->store_len = 0;
    lx->have_key = false;
    return rc;
}

/* A section header line: '[' name ']' [comment]. The name may hold ';' (docs allow
 * "[;; Std Mfg ]"), so the first ']' ends it. */
static int lex_header(struct lexer *lx, const char *p, const char *eol)
{
    const char *close = memchr(p, ']', (size_t)(eol - p));
    if (!close)
        return owu_fail(lx->err, OWU_E_PARSE, "%s:%u: unterminated section name (no ']')",
                        lx->inf->name, lx->line);
    const char *s = p + 1, *e = close;
    while (s < e && is_blank(*s))
        s++;
    while (e > s && is_blank(e[-1]))
        e--;
    if (s == e)
        return owu_fail(lx->err, OWU_E_PARSE, "%s:%u: empty section name", lx->inf->name,
                        lx->line);
    size_t chars = owu_inf_utf8_chars(s, (size_t)(e - s));
    if (chars > OWU_INF_MAX_SECTION_NAME)
        return owu_fail(lx->err, OWU_E_PARSE, "%s:%u: section name longer than %u characters",
                        lx->inf->name, lx->line, OWU_INF_MAX_SECTION_NAME);
    const char *t = close + 1;
    while (t < eol && is_blank(*t))
        t++;
    if (t < eol && *t != ';') {
        if (lx->inf->opt.flags & OWU_INF_STRICT)
            return owu_fail(lx->err, OWU_E_PARSE, "%s:%u: text after section name",
                            lx->inf->name, lx->line);
        owu_inf_warn(lx->inf, lx->line, "text after section name ignored");
    }
    return owu_inf_begin_section(lx->inf, s, (size_t)(e - s), lx->line, lx->err);
}

/* Lexes the physical line [p, eol). Sets *cont when it ends in a continuation. */
static int lex_line(struct lexer *lx, const char *p, const char *eol, bool *cont)
{
    int rc;
    *cont = false;
    if (!lx->active) {
        while (p < eol && is_blank(*p))
            p++;
        if (p == eol || *p == ';')
            return OWU_OK;
        if (*p == '[')
            return lex_header(lx, p, eol);
        lx->active = true;
        lx->start_line = lx->line;
        lx->comma_seen = lx->have_key = false;
        field_reset(lx);
    }
    bool in_quote = false;
    const char *q = p;
    while (q < eol) {
        char c = *q;
        if (in_quote) {
            if (c == '"') {
                if (q + 1 < eol && q[1] == '"') {
                    if ((rc = field_append(lx, "\"", 1)))
                        return rc;
                    q += 2;
                    continue;
                }
                in_quote = false;
                lx->keep = lx->len;
                q++;
                continue;
            }
            const char *r = q;   /* copy the run up to the next quote at once */
            while (r < eol && *r != '"')
                r++;
            if ((rc = field_append(lx, q, (size_t)(r - q))))
                return rc;
            q = r;
            continue;
        }
        switch (c) {
        case '"':
            in_quote = true;
            lx->started = lx->quoted = true;
            q++;
            break;
        case ';':
            q = eol;
            break;
        case '%': {
            /* A %strkey% token is opaque to ';' (comments), so copy it whole when it closes
             * on this line without crossing a field or quote boundary. */
            const char *r = q + 1;
            while (r < eol && *r != '%' && *r != ',' && *r != '=' && *r != '"')
                r++;
            size_t n = (r < eol && *r == '%') ? (size_t)(r - q) + 1 : 1;
            if ((rc = field_append(lx, q, n)))
                return rc;
            q += n;
            break;
        }
        case ',':
            if ((rc = push_field(lx)))
                return rc;
            lx->comma_seen = true;
            q++;
            break;
        case '=':
            if (!lx->have_key && !lx->comma_seen && lx->nfields == 0) {
                if ((rc = field_finish(lx, &lx->key_off, &lx->key_len)))
                    return rc;
                lx->have_key = true;
            } else if ((rc = field_append(lx, "=", 1))) {
                return rc;
            }
            q++;
            break;
        case '\\': {
            const char *r = q + 1;
            while (r < eol && is_blank(*r))
                r++;
            if (r == eol || *r == ';') {
                /* "\\" at the end: the first is dropped, the second continues. */
                if (lx->len > lx->keep && lx->buf[lx->len - 1] == '\\') {
                    lx->len--;
                    lx->chars--;
                }
                *cont = true;
                q = eol;
                break;
            }
            if ((rc = field_append(lx, q, 1)))
                return rc;
            q++;
            break;
        }
        default:
            if (is_blank(c) && !lx->started) {
                q++;
                break;
            }
            if ((rc = field_append(lx, q, 1)))
                return rc;
            q++;
            break;
        }
    }
    if (in_quote) {
        if (lx->inf->opt.flags & OWU_INF_STRICT)
            return owu_fail(lx->err, OWU_E_PARSE, "%s:%u: unterminated quoted string",
                            lx->inf->name, lx->line);
        owu_inf_warn(lx->inf, lx->line, "unterminated quoted string (closed at end of line)");
        lx->keep = lx->len;
    }
    if (*cont)
        return OWU_OK;
    return entry_finish(lx);
}

int owu_inf_lex(struct owu_inf *inf, const char *text, size_t len, owu_err *err)
{
    struct lexer lx = {.inf = inf, .err = err, .line = 0};
    const char *p = text, *end = text + len;
    int rc = OWU_OK;
    bool cont = false;
    while (p < end) {
        const char *eol = p;
        while (eol < end && *eol != '\n' && *eol != '\r')
            eol++;
        if (++lx.line > OWU_INF_MAX_LINES) {
            rc = owu_fail(err, OWU_E_PARSE, "%s: more than %u lines", inf->name,
                          OWU_INF_MAX_LINES);
            goto out;
        }
        if ((rc = lex_line(&lx, p, eol, &cont)))
            goto out;
        p = eol;
        if (p < end && *p == '\r') {
            p++;
            if (p < end && *p == '\n')
                p++;
        } else if (p < end) {
            p++;
        }
    }
    if (lx.active)   /* continuation on the last line */
        rc = entry_finish(&lx);
out:
    free(lx.store);
    free(lx.offs);
    free(lx.lens);
    free(lx.buf);
    return rc;
}
