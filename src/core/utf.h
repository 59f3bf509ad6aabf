/* UTF-16 and UTF-8: the one set of conversions every text reader of the stack uses (string
 * descriptors, MS OS properties, INF files, JSON, the Win32 wide-character API). */
#ifndef OWU_CORE_UTF_H
#define OWU_CORE_UTF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OWU_UTF_REPLACEMENT 0xFFFDu

/* Writes the UTF-8 form of code point cp (<= 0x10FFFF) to out; returns 1..4. */
size_t owu_utf8_put(uint32_t cp, char out[4]);

/* Length (1..4) of the well-formed UTF-8 sequence at s, of which avail bytes may be read,
 * with its code point in *cp (unless cp is NULL); 0 when there is none: bad or truncated
 * sequences, overlong forms, surrogates (U+D800..DFFF) and values above U+10FFFF are
 * refused. A byte below 0x80 (NUL too) is a sequence of its own. */
size_t owu_utf8_next(const uint8_t *s, size_t avail, uint32_t *cp);

/* Writes code point cp (<= 0x10FFFF, not a surrogate) as UTF-16 units, a surrogate pair
 * from U+10000 on; returns 1 or 2. */
size_t owu_utf16_put(uint32_t cp, uint16_t out[2]);

/* The code point that starts at unit i of a UTF-16 text of n_units units (byte order
 * chosen by big_endian). A surrogate pair gives one code point and *used = 2; an unpaired
 * surrogate gives U+FFFD and *used = 1. Requires i < n_units. */
uint32_t owu_utf16_next(const uint8_t *units, size_t n_units, size_t i, bool big_endian, size_t *used);

/* The same for UTF-16 held as host-order 16-bit units (WCHAR strings of the Win32 API). */
uint32_t owu_utf16_next_units(const uint16_t *units, size_t n_units, size_t i, size_t *used);

static inline bool owu_utf16_is_high_surrogate(uint32_t u) { return u >= 0xD800 && u <= 0xDBFF; }
static inline bool owu_utf16_is_low_surrogate(uint32_t u) { return u >= 0xDC00 && u <= 0xDFFF; }

/* The code point of the surrogate pair hi, lo (high, then low surrogate). */
static inline uint32_t owu_utf16_pair(uint32_t hi, uint32_t lo)
{
    return 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
}

#endif
