/* GUIDs: strict parsing of the braced text form, formatting through the one GUID
 * formatter (owu_guid_format), wire-order conversions. */
#include <openwinusb/guid.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <openwinusb/pnp.h>
#include <openwinusb/usb_defs.h>

#include "core/hex.h"


/* The input as it may appear in a message: at most 48 characters, non-printable bytes
 * shown as '?', so hostile text cannot garble the message. */
static void quote_input(const char *s, char out[52])
{
    size_t i = 0;
    for (; s[i] && i < 48; i++)
        out[i] = (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7F ? s[i] : '?';
    if (s[i]) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
}

int owu_guid_parse(const char *s, struct owu_guid *out, owu_err *err)
{
    if (!out)
        return owu_fail(err, OWU_E_INVAL, "owu_guid_parse: NULL argument");
    memset(out, 0, sizeof *out);
    if (!s || !*s)
        return owu_fail(err, OWU_E_PARSE, "GUID is empty (expected {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx})");
    char q[52];
    quote_input(s, q);
    if (s[0] != '{')
        return owu_fail(err, OWU_E_PARSE,
                        "GUID \"%s\": expected '{' at offset 0 (GUIDs are written "
                        "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx})", q);
    /* Walk the fixed layout so the first wrong character is reported where it is, even
     * when the length is also wrong. */
    static const char layout[] = "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}";
    uint8_t bytes[16];
    size_t nbytes = 0;
    int hi = -1;
    for (size_t i = 1; i < OWU_GUID_STR_LEN; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\0')
            return owu_fail(err, OWU_E_PARSE, "GUID \"%s\": %zu characters, expected %d", q, i,
                            OWU_GUID_STR_LEN);
        if (layout[i] != 'x') {
            if (c != (unsigned char)layout[i])
                return owu_fail(err, OWU_E_PARSE, "GUID \"%s\": expected '%c' at offset %zu, found %s%c%s",
                                q, layout[i], i, isprint(c) ? "'" : "byte 0x",
                                isprint(c) ? (char)c : '?', isprint(c) ? "'" : "");
            continue;
        }
        int d = owu_hex_digit(c);
        if (d < 0) {
            if (isprint(c))
                return owu_fail(err, OWU_E_PARSE, "GUID \"%s\": invalid hex digit '%c' at offset %zu",
                                q, c, i);
            return owu_fail(err, OWU_E_PARSE, "GUID \"%s\": invalid byte 0x%02X at offset %zu", q, c, i);
        }
        if (hi < 0) {
            hi = d;
        } else {
            bytes[nbytes++] = (uint8_t)(hi << 4 | d);
            hi = -1;
        }
    }
    if (s[OWU_GUID_STR_LEN] != '\0')
        return owu_fail(err, OWU_E_PARSE, "GUID \"%s\": %zu characters, expected %d", q, strlen(s),
                        OWU_GUID_STR_LEN);
    /* bytes[] holds the text's digits in reading order: Data1..Data3 big-endian. */
    out->Data1 = (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 | bytes[3];
    out->Data2 = (uint16_t)(bytes[4] << 8 | bytes[5]);
    out->Data3 = (uint16_t)(bytes[6] << 8 | bytes[7]);
    memcpy(out->Data4, bytes + 8, 8);
    return OWU_OK;
}

void owu_guid_to_wire(const struct owu_guid *g, uint8_t wire[16])
{
    owu_put_le32(wire, g->Data1);
    owu_put_le16(wire + 4, g->Data2);
    owu_put_le16(wire + 6, g->Data3);
    memcpy(wire + 8, g->Data4, 8);
}

void owu_guid_from_wire(const uint8_t wire[16], struct owu_guid *out)
{
    out->Data1 = owu_le32(wire);
    out->Data2 = owu_le16(wire + 4);
    out->Data3 = owu_le16(wire + 6);
    memcpy(out->Data4, wire + 8, 8);
}

void owu_guid_to_string(const struct owu_guid *g, bool upper, char out[OWU_GUID_STR_SIZE])
{
    uint8_t wire[16];
    char buf[40];
    owu_guid_to_wire(g, wire);
    owu_guid_format(wire, buf);
    for (size_t i = 0; i < OWU_GUID_STR_LEN; i++)
        out[i] = upper ? (char)toupper((unsigned char)buf[i]) : buf[i];
    out[OWU_GUID_STR_LEN] = '\0';
}

int owu_guid_cmp(const struct owu_guid *a, const struct owu_guid *b)
{
    if (a->Data1 != b->Data1)
        return a->Data1 < b->Data1 ? -1 : 1;
    if (a->Data2 != b->Data2)
        return a->Data2 < b->Data2 ? -1 : 1;
    if (a->Data3 != b->Data3)
        return a->Data3 < b->Data3 ? -1 : 1;
    return memcmp(a->Data4, b->Data4, 8);
}

bool owu_guid_equal(const struct owu_guid *a, const struct owu_guid *b)
{
    return owu_guid_cmp(a, b) == 0;
}

bool owu_guid_is_null(const struct owu_guid *g)
{
    static const struct owu_guid zero;
    return owu_guid_equal(g, &zero);
}
