/* Hexadecimal digits: the one decoder every text parser uses (JSON, profiles, INF files,
 * GUIDs, Device Parameters, usb.ids). */
#ifndef OWU_CORE_HEX_H
#define OWU_CORE_HEX_H

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

#endif
