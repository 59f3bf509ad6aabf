/* openwinusb: GUIDs in Windows' in-memory layout, with strict parsing and formatting.
 *
 * struct owu_guid has the field names, types and layout of Windows' GUID (16 bytes, no
 * padding), so the Win32 API headers can typedef GUID onto it. Data1..Data3 are host-order
 * integers; the wire (little-endian) byte order that descriptors carry is reached through
 * owu_guid_from_wire / owu_guid_to_wire. Text is always the braced registry form
 * "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}" (docs/device-interfaces.md).
 */
#ifndef OPENWINUSB_GUID_H
#define OPENWINUSB_GUID_H

#include <stdbool.h>
#include <stdint.h>

#include <openwinusb/error.h>

#ifdef __cplusplus
extern "C" {
#endif

struct owu_guid {
    uint32_t Data1;
    uint16_t Data2;
    uint16_t Data3;
    uint8_t Data4[8];
};

/* Characters of the braced text form, and the buffer it needs (with the NUL). */
#define OWU_GUID_STR_LEN 38
#define OWU_GUID_STR_SIZE 39

/* Parses "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}": braces required, hex digits of either
 * case, nothing before or after. OWU_E_PARSE names the problem and its offset ("expected
 * '{' at offset 0", "invalid hex digit 'g' at offset 5", "37 characters, expected 38"). */
int owu_guid_parse(const char *s, struct owu_guid *out, owu_err *err);

/* Writes the braced form, lower case (the spelling of device interface paths and of
 * owu_guid_format) or upper case (the spelling StringFromGUID2 and Device Manager show). */
void owu_guid_to_string(const struct owu_guid *g, bool upper, char out[OWU_GUID_STR_SIZE]);

bool owu_guid_equal(const struct owu_guid *a, const struct owu_guid *b);
/* Total order (by Data1, Data2, Data3, Data4) for sorting; <0, 0, >0. */
int owu_guid_cmp(const struct owu_guid *a, const struct owu_guid *b);
bool owu_guid_is_null(const struct owu_guid *g);

/* Conversions from and to the 16 bytes of a GUID as descriptors and files carry it
 * (Data1..Data3 little-endian, then Data4). */
void owu_guid_from_wire(const uint8_t wire[16], struct owu_guid *out);
void owu_guid_to_wire(const struct owu_guid *g, uint8_t wire[16]);

#ifdef __cplusplus
}
#endif
#endif
