/* UTF-8 <-> UTF-16 for the W functions (paths, instance IDs). */
#include "api/win32_internal.h"
#include "core/utf.h"

#include <stdlib.h>

char *owu_w32_utf16_to_utf8(const WCHAR *s)
{
    if (!s)
        return NULL;
    size_t n = 0;
    while (s[n])
        n++;
    char *out = malloc(n * 3 + 1);   /* a unit yields at most 3 bytes; a pair 4 for 2 units */
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0, used; i < n; i += used)
        o += owu_utf8_put(owu_utf16_next_units((const uint16_t *)s, n, i, &used), out + o);
    out[o] = '\0';
    return out;
}

/* Decodes one UTF-8 sequence; malformed bytes become U+FFFD (one byte consumed). */
static uint32_t next_cp(const unsigned char **pp)
{
    const unsigned char *p = *pp;
    uint32_t c = p[0];
    unsigned len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0) {
        *pp = p + 1;
        return 0xFFFD;
    }
    if (len == 1) {
        *pp = p + 1;
        return c;
    }
    c &= 0x3Fu >> (len - 1);
    for (unsigned i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            *pp = p + 1;
            return 0xFFFD;
        }
        c = c << 6 | (p[i] & 0x3Fu);
    }
    *pp = p + len;
    if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0xFFFD;
    return c;
}

size_t owu_w32_utf8_to_utf16(const char *s, WCHAR *out, size_t outcount)
{
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        uint16_t units[2];
        size_t k = owu_utf16_put(next_cp(&p), units);
        if (n + k <= outcount)   /* a pair is written whole or not at all */
            for (size_t j = 0; j < k; j++)
                out[n + j] = (WCHAR)units[j];
        n += k;
    }
    if (outcount)
        out[n < outcount ? n : outcount - 1] = 0;
    return n + 1;
}
