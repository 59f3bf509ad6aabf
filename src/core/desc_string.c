/* String descriptors: UTF-16LE <-> UTF-8, and the LANGID list of string descriptor 0. */
#include <openwinusb/descriptors.h>

#include <string.h>

#include "core/utf.h"

#define STRING_DESC_MAX 255

/* Checks bLength and bDescriptorType; returns the number of UTF-16 code units that were
 * actually received (a bLength beyond the bytes received, or an odd count, is tolerated). */
static int string_units(const uint8_t *buf, size_t len, const char *what, size_t *units,
                        owu_err *err)
{
    if (!buf || len < 2)
        return owu_fail(err, OWU_E_BADDESC,
                        "%s: only %zu of the 2 header bytes (bLength at offset 0, "
                        "bDescriptorType at offset 1) received",
                        what, buf ? len : 0);
    if (buf[0] < 2)
        return owu_fail(err, OWU_E_BADDESC, "%s: bLength %u (offset 0) is below 2", what, buf[0]);
    if (buf[1] != OWU_DT_STRING)
        return owu_fail(err, OWU_E_BADDESC,
                        "%s: bDescriptorType 0x%02x (offset 1) is not 0x03 (string)", what, buf[1]);
    size_t n = buf[0] < len ? buf[0] : len;
    *units = (n - 2) / 2;
    return OWU_OK;
}

int owu_string_desc_decode(const uint8_t *buf, size_t len, char *out, size_t outsz, owu_err *err)
{
    size_t units;
    int rc = string_units(buf, len, "string descriptor", &units, err);
    if (rc < 0)
        return rc;
    if (!out || outsz == 0)
        return 0;
    const uint8_t *s = buf + 2;
    size_t w = 0;
    for (size_t i = 0, used; i < units; i += used) {
        if (owu_le16(s + 2 * i) == 0)
            break; /* padding some devices put after the text */
        uint32_t cp = owu_utf16_next(s, units, i, false, &used);
        char enc[4];
        size_t k = owu_utf8_put(cp, enc);
        if (w + k > outsz - 1)
            break; /* truncate on a character boundary, never mid-sequence */
        memcpy(out + w, enc, k);
        w += k;
    }
    out[w] = '\0';
    return (int)w;
}

int owu_string_desc_utf16(const uint8_t *buf, size_t len, uint16_t *out, size_t outcount, owu_err *err)
{
    size_t units;
    int rc = string_units(buf, len, "string descriptor", &units, err);
    if (rc < 0)
        return rc;
    if (!out || outcount == 0)
        return 0;
    const uint8_t *s = buf + 2;
    size_t n = 0;
    while (n < units && n < outcount - 1) {
        uint16_t u = owu_le16(s + 2 * n);
        if (u == 0)
            break;
        out[n++] = u;
    }
    /* Do not leave half of a surrogate pair that truncation cut. */
    if (n > 0 && n < units && owu_utf16_is_high_surrogate(out[n - 1]) &&
        owu_utf16_is_low_surrogate(owu_le16(s + 2 * n)))
        n--;
    out[n] = 0;
    return (int)n;
}

int owu_langids_parse(const uint8_t *buf, size_t len, uint16_t *out, size_t max, owu_err *err)
{
    size_t units;
    int rc = string_units(buf, len, "string descriptor 0 (LANGID list)", &units, err);
    if (rc < 0)
        return rc;
    if (!out)
        max = 0;
    size_t n = units < max ? units : max;
    for (size_t i = 0; i < n; i++)
        out[i] = owu_le16(buf + 2 + 2 * i);
    return (int)n;
}

int owu_string_desc_encode(const char *utf8, uint8_t *out, size_t outsz)
{
    if (!utf8 || !out)
        return OWU_E_INVAL;
    size_t limit = outsz < STRING_DESC_MAX ? outsz : STRING_DESC_MAX;
    if (limit < 2)
        return OWU_E_INVAL;
    const uint8_t *p = (const uint8_t *)utf8;
    size_t left = strlen(utf8), w = 2;
    while (left) {
        uint32_t cp;
        size_t k = owu_utf8_next(p, left, &cp);   /* malformed, overlong or surrogate: 0 */
        if (k == 0)
            return OWU_E_INVAL;
        p += k;
        left -= k;
        uint16_t units[2];
        size_t nu = owu_utf16_put(cp, units);
        if (w + 2 * nu > limit)
            return OWU_E_INVAL;
        for (size_t j = 0; j < nu; j++)
            owu_put_le16(out + w + 2 * j, units[j]);
        w += 2 * nu;
    }
    out[0] = (uint8_t)w;
    out[1] = OWU_DT_STRING;
    return (int)w;
}
