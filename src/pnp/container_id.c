/* Container IDs (pnp-ids.md §1.10): the name-based GUID the hub derives from a device's
 * VID/PID/revision and serial number, and its formatting. */
#include <openwinusb/pnp.h>

#include <stdio.h>
#include <string.h>

#include "core/sha1.h"

/* {4B06FD46-C84E-4664-9C65-0C86D9047A0C} in its little-endian in-memory byte order. */
static const uint8_t container_namespace[16] = {
    0x46, 0xFD, 0x06, 0x4B, 0x4E, 0xC8, 0x64, 0x46,
    0x9C, 0x65, 0x0C, 0x86, 0xD9, 0x04, 0x7A, 0x0C,
};

void owu_guid_format(const uint8_t g[16], char out[40])
{
    snprintf(out, 40,
             "{%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x}",
             (unsigned)owu_le32(g), (unsigned)owu_le16(g + 4), (unsigned)owu_le16(g + 6),
             g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
}

/* The name is hashed as UTF-16LE without a terminator; every caller passes ASCII, so each
 * byte becomes one code unit. Pieces are fed in turn so no length limit applies. */
static void hash_ascii_utf16(struct owu_sha1 *c, const char *s)
{
    for (; *s; s++) {
        uint8_t unit[2] = { (uint8_t)*s, 0 };
        owu_sha1_update(c, unit, 2);
    }
}

static void finish_guid(struct owu_sha1 *c, char out[40])
{
    uint8_t digest[OWU_SHA1_DIGEST_SIZE];
    owu_sha1_final(c, digest);
    /* Version 5 in Data3's top nibble, RFC 4122 variant in Data4[0]; Data3 is little endian
     * in the digest bytes, so its high byte is digest[7]. */
    digest[7] = (uint8_t)((digest[7] & 0x0F) | 0x50);
    digest[8] = (uint8_t)((digest[8] & 0x3F) | 0x80);
    owu_guid_format(digest, out);
}

static void container_from_parts(const char *head, const char *tail, char out[40])
{
    struct owu_sha1 c;
    owu_sha1_init(&c);
    owu_sha1_update(&c, container_namespace, sizeof container_namespace);
    hash_ascii_utf16(&c, head);
    hash_ascii_utf16(&c, tail);
    finish_guid(&c, out);
}

void owu_container_id_from_name(const char *ascii_name, char out[40])
{
    container_from_parts(ascii_name ? ascii_name : "", "", out);
}

void owu_container_id_from_serial(uint16_t vid, uint16_t pid, uint16_t bcd_usb, uint16_t bcd_device,
                                  const char *serial, char out[40])
{
    char head[32];
    if (bcd_usb > 0x0200) {
        snprintf(head, sizeof head, "%04X%04X.%4X", vid, pid, bcd_usb);
    } else {
        char rev[5];
        owu_pnp_rev_text(bcd_usb, bcd_device, rev);
        snprintf(head, sizeof head, "%04X%04X%s", vid, pid, rev);
    }
    container_from_parts(head, serial ? serial : "", out);
}

void owu_container_id_from_location(uint16_t vid, uint16_t pid, uint16_t bcd_usb,
                                    uint16_t bcd_device, const char *location, char out[40])
{
    char head[32], rev[5];
    owu_pnp_rev_text(bcd_usb, bcd_device, rev);
    snprintf(head, sizeof head, "%04X%04X%s@", vid, pid, rev);
    container_from_parts(head, location ? location : "", out);
}
