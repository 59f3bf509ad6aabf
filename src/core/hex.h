/* Hexadecimal digits: the one decoder every text parser uses (JSON, profiles, INF files,
 * GUIDs, Device Parameters, usb.ids). */
#ifndef OWU_CORE_HEX_H
#define OWU_CORE_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The value of a hex digit (either case), or -1 when c is not one. */
static inline int owu_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The value of the n hex digits at s (1 <= n <= 8), all of which must be hex digits; false
 * (and *out untouched) otherwise. */
static inline bool owu_hex_value(const char *s, size_t n, uint32_t *out)
{
    if (n == 0 || n > 8)
        return false;
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        int d = owu_hex_digit((unsigned char)s[i]);
        if (d < 0)
            return false;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return true;
}

#endif
