/* UTF-8 and UTF-16 encoding and decoding shared by every text reader (see utf.h). */
#include "core/utf.h"

size_t owu_utf8_put(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t owu_utf8_next(const uint8_t *s, size_t avail, uint32_t *cp)
{
    if (avail == 0)
        return 0;
    uint8_t c = s[0];
    if (c < 0x80) {
        if (cp)
            *cp = c;
        return 1;
    }
    /* The well-formed sequences of Unicode's table 3-7: the second byte's range depends on
     * the first, which keeps out overlong forms, surrogates and values above U+10FFFF. */
    size_t n;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (avail < n || s[1] < lo || s[1] > hi)
        return 0;
    uint32_t v = (c & (0x7Fu >> n)) << 6 | (s[1] & 0x3Fu);
    for (size_t i = 2; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3Fu);
    }
    if (cp)
        *cp = v;
    return n;
}

size_t owu_utf16_put(uint32_t cp, uint16_t out[2])
{
    if (cp < 0x10000) {
        out[0] = (uint16_t)cp;
        return 1;
    }
    cp -= 0x10000;
    out[0] = (uint16_t)(0xD800 + (cp >> 10));
    out[1] = (uint16_t)(0xDC00 + (cp & 0x3FF));
    return 2;
}

static uint32_t unit_at(const uint8_t *p, size_t i, bool big_endian)
{
    return big_endian ? (uint32_t)p[2 * i] << 8 | p[2 * i + 1] : (uint32_t)p[2 * i + 1] << 8 | p[2 * i];
}

/* Pairs surrogates: u is a unit, lo the one after it (when have_next). */
static uint32_t pair(uint32_t u, bool have_next, uint32_t lo, size_t *used)
{
    *used = 1;
    if (owu_utf16_is_high_surrogate(u)) {
        if (have_next && owu_utf16_is_low_surrogate(lo)) {
            *used = 2;
            return owu_utf16_pair(u, lo);
        }
        return OWU_UTF_REPLACEMENT;
    }
    if (owu_utf16_is_low_surrogate(u))
        return OWU_UTF_REPLACEMENT;
    return u;
}

uint32_t owu_utf16_next_units(const uint16_t *units, size_t n_units, size_t i, size_t *used)
{
    bool next = i + 1 < n_units;
    return pair(units[i], next, next ? units[i + 1] : 0, used);
}

uint32_t owu_utf16_next(const uint8_t *units, size_t n_units, size_t i, bool big_endian, size_t *used)
{
    bool next = i + 1 < n_units;
    return pair(unit_at(units, i, big_endian), next, next ? unit_at(units, i + 1, big_endian) : 0, used);
}

