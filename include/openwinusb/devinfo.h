/* openwinusb: everything a host learns about a device when it enumerates it.
 *
 * This is the single data model between the bus side and the PnP side: enumeration fills it
 * from a live device (any backend), a device profile (JSON) or a Linux sysfs directory fills
 * it from files, and the PnP ID builder, usbccgp and the `tree` command only read it.
 * All blobs are raw descriptor bytes exactly as the device returned them.
 */
#ifndef OPENWINUSB_DEVINFO_H
#define OPENWINUSB_DEVINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openwinusb/descriptors.h>
#include <openwinusb/error.h>
#include <openwinusb/usb_defs.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How enumeration failed; each maps to one Windows failure ID (pnp-ids.md §1.2). */
enum owu_enum_failure {
    OWU_FAIL_NONE = 0,
    OWU_FAIL_RESET,                      /* USB\RESET_FAILURE, PID 0001 */
    OWU_FAIL_DEVICE_DESCRIPTOR,          /* USB\DEVICE_DESCRIPTOR_FAILURE, PID 0002 */
    OWU_FAIL_CONFIG_DESCRIPTOR,          /* USB\CONFIG_DESCRIPTOR_FAILURE, PID 0003 */
    OWU_FAIL_SET_ADDRESS,                /* USB\SET_ADDRESS_FAILURE, PID 0004 */
    OWU_FAIL_DEVICE_DESCRIPTOR_INVALID,  /* USB\DEVICE_DESCRIPTOR_VALIDATION_FAILURE, PID 0005 */
    OWU_FAIL_CONFIG_DESCRIPTOR_INVALID,  /* USB\CONFIGURATION_DESCRIPTOR_VALIDATION_FAILURE, PID 0006 */
    OWU_FAIL_PORT_LINK_SSINACTIVE,       /* USB\PORT_LINK_SSINACTIVE, PID 0007 */
    OWU_FAIL_PORT_LINK_COMPLIANCE,       /* USB\PORT_LINK_COMPLIANCE_MODE, PID 0008 */
    OWU_FAIL_UNKNOWN,                    /* USB\UNKNOWN_DEVICE, PID 0000 */
};

/* One string descriptor as read: index, language and the raw descriptor bytes. */
struct owu_string_entry {
    uint8_t index;
    uint16_t langid;        /* 0 for index 0 (the LANGID list) and for 0xEE */
    uint8_t *desc;
    size_t len;
};

/* One MS OS 1.0 extended-properties descriptor (feature index 5) for an interface. */
struct owu_msos1_props {
    uint8_t interface;
    uint8_t *data;
    size_t len;
};

struct owu_msos1_info {
    bool present;            /* string 0xEE was a valid "MSFT100" descriptor */
    uint8_t vendor_code;     /* bMS_VendorCode */
    uint8_t flags;           /* bit 1: ContainerID descriptor supported */
    uint8_t *compat_id;      /* extended compat ID descriptor (index 4), raw; NULL if stalled */
    size_t compat_id_len;
    struct owu_msos1_props *props;   /* extended properties (index 5) per interface */
    unsigned num_props;
    uint8_t *container_id;   /* ContainerID descriptor (index 6), raw; NULL if absent */
    size_t container_id_len;
};

struct owu_devinfo {
    enum owu_speed speed;

    /* Where it is: backend-specific location ("virtual:1-3", "usbfs:2-1.4", ...) and the
     * hub port number Windows would use for a port-based instance ID. */
    char location[96];
    unsigned port;
    bool removable;          /* false for an embedded device: container ID is inherited */

    enum owu_enum_failure failure;
    char failure_detail[320];   /* the owu_err message that caused it */

    uint8_t device[OWU_DEVICE_DESC_SIZE];
    size_t device_len;       /* 18 once read; 8 after a failed full read; 0 if nothing */

    struct { uint8_t *data; size_t len; } *configs;   /* index 0 = first configuration */
    unsigned num_configs;

    uint8_t *bos;            /* NULL when the device has none or bcdUSB < 0x0201 */
    size_t bos_len;

    struct owu_string_entry *strings;
    unsigned num_strings;

    struct owu_msos1_info msos1;

    uint8_t *msos20;         /* MS OS 2.0 descriptor set, raw; NULL when absent */
    size_t msos20_len;
};

/* NULL when out of memory. */
struct owu_devinfo *owu_devinfo_new(void);
/* Frees everything the struct points to; NULL is fine. Works on a partially-filled struct:
 * array counts say how many entries are filled, and NULL blobs are skipped. */
void owu_devinfo_free(struct owu_devinfo *info);
/* Deep copy (every blob duplicated); NULL for NULL or when out of memory. */
struct owu_devinfo *owu_devinfo_clone(const struct owu_devinfo *info);

/* Setters copy the bytes; they return OWU_OK, OWU_E_INVAL (NULL info, or NULL data with a
 * non-zero length) or OWU_E_NOMEM (nothing changed). A zero-length copy is a present, empty
 * blob (non-NULL pointer). add_string and add_msos1_props replace an existing entry with the
 * same (index, langid) or interface. set_blob/set_bos/set_msos20 with (NULL, 0) clear the
 * blob; set_blob is for the other blob fields (msos1.compat_id, msos1.container_id). */
int owu_devinfo_add_config(struct owu_devinfo *info, const uint8_t *data, size_t len);
int owu_devinfo_set_bos(struct owu_devinfo *info, const uint8_t *data, size_t len);
int owu_devinfo_add_string(struct owu_devinfo *info, uint8_t index, uint16_t langid,
                           const uint8_t *desc, size_t len);
int owu_devinfo_set_msos20(struct owu_devinfo *info, const uint8_t *data, size_t len);
int owu_devinfo_set_blob(uint8_t **dst, size_t *dst_len, const uint8_t *data, size_t len);
int owu_devinfo_add_msos1_props(struct owu_devinfo *info, uint8_t interface,
                                const uint8_t *data, size_t len);

/* The raw descriptor for (index, langid); langid 0 = "the device's first language".
 * NULL when the device did not give one.
 * langid 0 picks, in order: the 0x0409 entry; the entry in the first LANGID of string
 * descriptor 0; the first entry read for that index in any language (this is also how index
 * 0 and 0xEE, stored with langid 0, are found). */
const struct owu_string_entry *owu_devinfo_find_string(const struct owu_devinfo *info,
                                                       uint8_t index, uint16_t langid);
/* Decoded UTF-8 text of a string index in the preferred language (0x0409 when offered,
 * else the first LANGID); returns false when absent or undecodable. Chooses the entry as
 * owu_devinfo_find_string(info, index, 0); index 0 (the LANGID list) is never text. out is
 * "" whenever false is returned (outsz > 0). */
bool owu_devinfo_string(const struct owu_devinfo *info, uint8_t index, char *out, size_t outsz);

/* Parsed views; the caller frees the results. device_desc checks device[0..device_len)
 * with info->speed (so a prefix-only read fails with the parser's message). config gives
 * OWU_E_NOTFOUND for an index past num_configs; parser messages are passed on unwrapped. */
int owu_devinfo_device_desc(const struct owu_devinfo *info, struct owu_device_desc *out, owu_err *err);
int owu_devinfo_config(const struct owu_devinfo *info, unsigned index, struct owu_config **out,
                       owu_err *err);

#ifdef __cplusplus
}
#endif
#endif
