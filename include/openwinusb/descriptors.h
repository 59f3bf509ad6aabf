/* openwinusb: the one parser and validator for USB descriptors.
 *
 * Every parse function takes untrusted bytes, checks every length field, and on failure
 * returns OWU_E_BADDESC with an owu_err message that names the descriptor, the field and
 * the byte offset ("configuration: descriptor at offset 18: bLength 0 is below 2").
 * Parsed objects own a private copy of the input; spans point into that copy, so the
 * caller's buffer may be freed after parsing. Class-specific descriptors are kept as raw
 * spans for the class drivers, which walk them with owu_desc_iter.
 */
#ifndef OPENWINUSB_DESCRIPTORS_H
#define OPENWINUSB_DESCRIPTORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openwinusb/error.h>
#include <openwinusb/usb_defs.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A run of bytes inside a parsed object's private copy. An empty span is {NULL, 0}. */
typedef struct owu_span {
    const uint8_t *data;
    size_t len;
} owu_span;

/* ---- walking raw descriptor runs ---------------------------------------------------- */

/* Iterates bLength-framed descriptors in a span. Stops (returns false) at the end or at the
 * first malformed header; then it->err_offset/it->error tell why (error NULL at a clean end). */
typedef struct owu_desc_iter {
    const uint8_t *data;
    size_t len;
    size_t pos;            /* offset of the next descriptor */
    size_t base_offset;    /* added to offsets in messages (span's place in the whole blob) */
    const char *error;     /* NULL, or what was wrong with the descriptor at err_offset */
    size_t err_offset;
} owu_desc_iter;

void owu_desc_iter_init(owu_desc_iter *it, owu_span span, size_t base_offset);
/* On success *desc points at bLength, *len == bLength (>= 2, within the span). After a
 * failure every later call returns false too (the iterator never loops without progress). */
bool owu_desc_iter_next(owu_desc_iter *it, const uint8_t **desc, size_t *len);

/* Turns the iterator's stop reason into an OWU_E_BADDESC owu_err with values, e.g.
 * "<what>: descriptor at offset 27: bLength 0 is below 2". Returns OWU_E_BADDESC (OWU_OK when
 * the iterator stopped cleanly). */
int owu_desc_iter_fail(const owu_desc_iter *it, owu_err *err, const char *what);

/* ---- device descriptor ---------------------------------------------------------------- */

#define OWU_DEVICE_DESC_SIZE 18

struct owu_device_desc {
    uint8_t bLength;
    uint8_t bDescriptorType;
    uint16_t bcdUSB;
    uint8_t bDeviceClass;
    uint8_t bDeviceSubClass;
    uint8_t bDeviceProtocol;
    uint8_t bMaxPacketSize0;
    uint16_t idVendor;
    uint16_t idProduct;
    uint16_t bcdDevice;
    uint8_t iManufacturer;
    uint8_t iProduct;
    uint8_t iSerialNumber;
    uint8_t bNumConfigurations;
};

/* Parses and validates an 18-byte device descriptor: bLength == 18, bDescriptorType == 1,
 * bNumConfigurations >= 1, bMaxPacketSize0 valid for bcdUSB (8/16/32/64; 9 = 512 bytes for
 * USB 3). speed may be OWU_SPEED_UNKNOWN to skip the speed-specific checks. Bytes after the
 * 18th are ignored; out may be NULL (validation only).
 * bMaxPacketSize0 rule: a known speed decides, because the device describes its current
 * link: LOW needs 8; FULL and HIGH need 8/16/32/64 whatever bcdUSB says (a USB 3 device on a
 * USB 2 port may leave bcdUSB at 0x0300); SUPER and SUPER_PLUS need 9. With the speed
 * unknown, bcdUSB >= 0x0300 needs 9, anything lower 8/16/32/64. (64 is not enforced for HIGH.) */
int owu_device_desc_parse(const uint8_t *buf, size_t len, enum owu_speed speed,
                          struct owu_device_desc *out, owu_err *err);

/* Checks only the first 8 bytes (what the hub reads first): bLength, type, bMaxPacketSize0. */
int owu_device_desc_check_prefix(const uint8_t *buf, size_t len, enum owu_speed speed, owu_err *err);

/* The bMaxPacketSize0 value in bytes (9 -> 512 for USB 3 devices; 9 is never a USB 2 size, so
 * it means 512 whatever bcdUSB says). 0 for NULL. */
unsigned owu_ep0_max_packet(const struct owu_device_desc *d);

/* ---- configuration descriptor tree --------------------------------------------------- */

struct owu_endpoint {
    uint8_t bEndpointAddress;
    uint8_t bmAttributes;
    uint16_t wMaxPacketSize;
    uint8_t bInterval;
    bool has_ss_companion;
    uint8_t ss_bMaxBurst;
    uint8_t ss_bmAttributes;
    uint16_t ss_wBytesPerInterval;
    owu_span extra;          /* class-specific descriptors after this endpoint (and companion)
                                up to the next endpoint or interface */
    size_t offset;           /* of the endpoint descriptor in the configuration blob */
};

struct owu_altsetting {
    uint8_t bInterfaceNumber;
    uint8_t bAlternateSetting;
    uint8_t bNumEndpoints;   /* as declared; equals num_endpoints after validation */
    uint8_t bInterfaceClass;
    uint8_t bInterfaceSubClass;
    uint8_t bInterfaceProtocol;
    uint8_t iInterface;
    struct owu_endpoint *endpoints;
    unsigned num_endpoints;
    owu_span extra;          /* class-specific descriptors between the interface and its first endpoint */
    owu_span all;            /* the interface descriptor through the end of its last descriptor */
    size_t offset;
};

/* One interface number with all its alternate settings, in the order they appear. */
struct owu_interface {
    uint8_t number;
    struct owu_altsetting *alts;
    unsigned num_alts;
};

struct owu_iad {
    uint8_t bFirstInterface;
    uint8_t bInterfaceCount;
    uint8_t bFunctionClass;
    uint8_t bFunctionSubClass;
    uint8_t bFunctionProtocol;
    uint8_t iFunction;
    size_t offset;
};

struct owu_config {
    uint16_t wTotalLength;
    uint8_t bNumInterfaces;
    uint8_t bConfigurationValue;
    uint8_t iConfiguration;
    uint8_t bmAttributes;
    uint8_t bMaxPower;
    struct owu_interface *interfaces;   /* ordered by first appearance in the blob */
    unsigned num_interfaces;
    struct owu_iad *iads;
    unsigned num_iads;
    owu_span extra;                     /* descriptors before the first interface (IADs excluded) */
    owu_span raw;                       /* the whole configuration, wTotalLength bytes */
};

/* Parses a full configuration descriptor set. Checks: header bLength >= 9 and type 2;
 * wTotalLength >= 9 and <= len (bytes beyond wTotalLength are ignored); every descriptor's
 * bLength >= 2 and within wTotalLength; interface/endpoint/IAD/companion minimum lengths;
 * declared bNumEndpoints equals the endpoints found; endpoint address 0 or duplicates within
 * one alternate setting rejected; wMaxPacketSize 0 allowed (zero-bandwidth alt settings);
 * number of distinct interface numbers equals bNumInterfaces; IAD ranges inside the
 * interface numbers present and IADs not overlapping.
 *
 * Also rejected (they would mislead the stack): an endpoint before any interface descriptor;
 * endpoint number 0 in either direction (bEndpointAddress 0x00 or 0x80); a duplicate is the
 * same number and direction (reserved bits 4..6 ignored); the same (bInterfaceNumber,
 * bAlternateSetting) twice; an IAD with bInterfaceCount 0 or a range reaching an interface
 * number the configuration does not have (or past 255); a second SuperSpeed companion for
 * one endpoint.
 * Tolerated: descriptors longer than their standard size (header, interface, endpoint such
 * as the 9-byte audio endpoint, IAD, companion: extra bytes skipped); unknown or
 * out-of-place descriptor types (kept in the extra spans); interface numbers that are not
 * contiguous; an interface without alternate setting 0; a companion with no endpoint before
 * it in its alternate setting (kept as extra); a companion that does not directly follow its
 * endpoint (still attached; it then also lies inside that endpoint's extra span).
 * Spans: an extra span runs from the first to the end of the last descriptor its owner
 * gets (config: before the first interface; altsetting: between the interface and its
 * first endpoint; endpoint: after it and its companion). IADs never start or end a span, so
 * an IAD introducing the next function is in no extra and not in the previous altsetting's
 * `all`; only an IAD sandwiched between other descriptors of one owner lies inside its span.
 * Messages give absolute offsets in the blob. *out is NULL on failure. */
int owu_config_parse(const uint8_t *buf, size_t len, struct owu_config **out, owu_err *err);
void owu_config_free(struct owu_config *cfg);

/* Lookups (NULL when absent). */
const struct owu_interface *owu_config_find_interface(const struct owu_config *cfg, uint8_t number);
const struct owu_altsetting *owu_interface_find_alt(const struct owu_interface *intf, uint8_t alt);
/* The IAD whose range contains interface `number`, or NULL. */
const struct owu_iad *owu_config_iad_for(const struct owu_config *cfg, uint8_t number);

/* ---- BOS and device capabilities ------------------------------------------------------ */

/* {D8DD60DF-4589-4CC7-9CD2-659D9E648A9F} in wire (little-endian GUID) byte order. */
extern const uint8_t OWU_MSOS20_PLATFORM_UUID[16];

struct owu_msos20_set_info {
    uint32_t dwWindowsVersion;
    uint16_t wTotalLength;
    uint8_t bMS_VendorCode;
    uint8_t bAltEnumCode;
};

struct owu_bos_cap {
    uint8_t type;            /* bDevCapabilityType */
    owu_span desc;           /* the whole capability descriptor */
    size_t offset;
};

struct owu_bos {
    uint16_t wTotalLength;
    uint8_t bNumDeviceCaps;
    struct owu_bos_cap *caps;
    unsigned num_caps;
    /* Decoded capabilities the stack uses. */
    bool has_usb20_ext;
    uint32_t usb20_ext_bmAttributes;
    bool has_superspeed;
    bool has_container_id;
    uint8_t container_id[16];           /* wire (little-endian GUID) order */
    bool has_billboard;
    bool has_msos20;
    struct owu_msos20_set_info msos20[8];
    unsigned num_msos20;
    owu_span raw;
};

/* Parses a BOS: header bLength >= 5, type 0x0F, wTotalLength within len and >= 5, each
 * capability bLength >= 3, type 0x10, inside wTotalLength; number found == bNumDeviceCaps;
 * known capabilities have their minimum lengths; the MS OS 2.0 platform capability has
 * bLength == 20 + 8n.
 * Minimum lengths: USB 2.0 extension 7, SuperSpeed USB 10, ContainerID 20, platform 20,
 * Billboard 44 + 4 * bNumberOfAlternateModes. MS OS 2.0 needs n >= 1 (a capability with no
 * descriptor-set record is rejected). Records of several MS OS 2.0 capabilities are merged in
 * order; records beyond the 8th are ignored. Other capability types (including other
 * platforms' UUIDs, SuperSpeedPlus) are only listed in caps[]. Bytes after wTotalLength are
 * ignored. *out is NULL on failure. */
int owu_bos_parse(const uint8_t *buf, size_t len, struct owu_bos **out, owu_err *err);
void owu_bos_free(struct owu_bos *bos);

/* The MS OS 2.0 descriptor-set record that applies to a Windows version (highest
 * dwWindowsVersion <= windows_version; the first such record on a tie), or NULL.
 * 0x0A000000 = Windows 10. */
const struct owu_msos20_set_info *owu_bos_msos20_for(const struct owu_bos *bos, uint32_t windows_version);

/* ---- string descriptors ---------------------------------------------------------------- */

/* Decodes a string descriptor (UTF-16LE) into NUL-terminated UTF-8. Tolerates a bLength
 * larger than the bytes received (uses what is there) and an odd byte count (drops the last
 * byte); rejects bLength < 2 or type != 3. Unpaired surrogates become U+FFFD.
 * Returns the UTF-8 length (excluding NUL); output is truncated to outsz-1 bytes.
 * Decisions: the text ends at the first U+0000 (padding some devices send); truncation is on
 * a character boundary (never half a UTF-8 sequence) and the return value is what was
 * written (strlen(out)), not the untruncated length; outsz 0 (out may then be NULL) only
 * validates and returns 0. */
int owu_string_desc_decode(const uint8_t *buf, size_t len, char *out, size_t outsz, owu_err *err);

/* The same as UTF-16 code units (for Win32 wide APIs); returns the count of units.
 * Units are copied as sent (no U+FFFD replacement), up to the first U+0000 and at most
 * outcount-1 of them, then a 0 unit is stored; a surrogate pair cut by truncation is dropped
 * whole. outcount 0 only validates. */
int owu_string_desc_utf16(const uint8_t *buf, size_t len, uint16_t *out, size_t outcount, owu_err *err);

/* String descriptor 0: the list of LANGIDs. Returns the count (may be 0). Same header
 * checks and tolerances as owu_string_desc_decode; stores and returns at most max entries
 * (out may be NULL when max is 0). */
int owu_langids_parse(const uint8_t *buf, size_t len, uint16_t *out, size_t max, owu_err *err);

/* Encodes UTF-8 into a string descriptor (used by device models and profiles).
 * Returns the descriptor length or a negative status if it would not fit.
 * OWU_E_INVAL when the result would exceed min(outsz, 255) bytes (at most 126 UTF-16 units),
 * when the text is not valid UTF-8 (bad or truncated sequences, overlong forms, encoded
 * surrogates, above U+10FFFF), or for NULL arguments. out is unspecified after a failure. */
int owu_string_desc_encode(const char *utf8, uint8_t *out, size_t outsz);

#ifdef __cplusplus
}
#endif
#endif
