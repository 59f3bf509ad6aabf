/* UTF-8 encoding and UTF-16 decoding shared by every text reader (see utf.h). */
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
            return 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
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

