/* Microsoft OS descriptors (winusb-api.md §8, pnp-ids.md §1.8): parsers for the MS OS 1.0
 * extended compat ID, extended properties and ContainerID feature descriptors and the
 * MS OS 2.0 descriptor set, and the rules deciding which compatible IDs and registry
 * properties apply to a whole device and to each usbccgp function.
 *
 * All parsers take untrusted bytes, check every length before reading, always make
 * progress, and fail with OWU_E_BADDESC and a message naming the descriptor, the field and
 * the byte offset. Strings are converted from UTF-16LE to UTF-8.
 */
#ifndef OWU_PNP_MSOS_H
#define OWU_PNP_MSOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openwinusb/devinfo.h>
#include <openwinusb/error.h>
#include <openwinusb/pnp.h>

/* A compatible ID and sub-compatible ID as text: up to 8 characters from A-Z, 0-9, '_'. */
struct owu_msos_compat_id {
    uint8_t first_interface;   /* MS OS 1.0 bFirstInterfaceNumber / 2.0 bFirstInterface */
    char compat[9];
    char subcompat[9];
};

/* Registry properties in the form struct owu_devnode keeps them. */
struct owu_msos_props {
    struct owu_property *v;
    unsigned n;
};
void owu_msos_props_free(struct owu_msos_props *p);

/* ---- MS OS 1.0 ------------------------------------------------------------------------ */

/* Extended compat ID descriptor (feature index 4): one entry per function section. */
struct owu_msos1_compat {
    struct owu_msos_compat_id *functions;
    unsigned num_functions;
};
int owu_msos1_compat_parse(const uint8_t *buf, size_t len, struct owu_msos1_compat *out, owu_err *err);
void owu_msos1_compat_free(struct owu_msos1_compat *c);
/* The section whose bFirstInterfaceNumber is first_interface, or NULL. */
const struct owu_msos_compat_id *owu_msos1_compat_for(const struct owu_msos1_compat *c,
                                                      uint8_t first_interface);

/* Extended properties descriptor (feature index 5). */
int owu_msos1_props_parse(const uint8_t *buf, size_t len, struct owu_msos_props *out, owu_err *err);

/* ContainerID descriptor (feature index 6); guid gets the 16 bytes in wire order. */
int owu_msos1_container_parse(const uint8_t *buf, size_t len, uint8_t guid[16], owu_err *err);

/* ---- MS OS 2.0 ------------------------------------------------------------------------ */

enum {
    OWU_MSOS20_SET_HEADER = 0x00,
    OWU_MSOS20_SUBSET_CONFIGURATION = 0x01,
    OWU_MSOS20_SUBSET_FUNCTION = 0x02,
    OWU_MSOS20_FEATURE_COMPATIBLE_ID = 0x03,
    OWU_MSOS20_FEATURE_REG_PROPERTY = 0x04,
    OWU_MSOS20_FEATURE_MIN_RESUME_TIME = 0x05,
    OWU_MSOS20_FEATURE_MODEL_ID = 0x06,
    OWU_MSOS20_FEATURE_CCGP_DEVICE = 0x07,
    OWU_MSOS20_FEATURE_VENDOR_REVISION = 0x08,
};

/* The features of one scope: the whole device, a configuration subset, a function subset.
 * The first compatible ID descriptor of a scope wins; properties keep their order. */
struct owu_msos20_scope {
    bool has_compat;
    struct owu_msos_compat_id compat;
    struct owu_msos_props props;
    size_t offset;             /* of the scope's header (0 for the set) */
};

struct owu_msos20_function {
    uint8_t first_interface;
    struct owu_msos20_scope features;
};

struct owu_msos20_config {
    uint8_t config_index;      /* the header's bConfigurationValue: an index, 0 = first */
    struct owu_msos20_scope features;   /* outside any function subset: validated, unused */
    struct owu_msos20_function *functions;
    unsigned num_functions;
};

struct owu_msos20_set {
    uint32_t windows_version;
    uint16_t total_length;
    struct owu_msos20_scope device;     /* top-level features */
    bool ccgp;                          /* CCGP device feature at the top level */
    bool has_model_id;
    uint8_t model_id[16];
    bool has_vendor_revision;
    uint16_t vendor_revision;
    bool has_min_resume_time;
    uint8_t resume_recovery_ms, resume_signaling_ms;
    struct owu_msos20_config *configs;
    unsigned num_configs;
};

/* Parses a descriptor set. Device-only features (CCGP, model ID, minimum resume time,
 * vendor revision) inside a subset are validated and ignored; unknown descriptor types are
 * skipped by their wLength. */
int owu_msos20_parse(const uint8_t *buf, size_t len, struct owu_msos20_set *out, owu_err *err);
void owu_msos20_free(struct owu_msos20_set *s);
const struct owu_msos20_function *owu_msos20_function_for(const struct owu_msos20_set *s,
                                                          uint8_t config_index,
                                                          uint8_t first_interface);

/* ---- what applies to one device ----------------------------------------------------- */

struct owu_msos {
    bool v1;                 /* MS OS 1.0 is consulted: "MSFT100" present, bcdUSB not 1.x,
                                no MS OS 2.0 set */
    bool v2;                 /* MS OS 2.0 in use: BOS platform capability or set bytes */
    bool has_compat1;
    struct owu_msos1_compat compat1;
    bool has_set2;
    struct owu_msos20_set set2;
    bool has_container;      /* BOS container capability, else MS OS 1.0 ContainerID */
    uint8_t container[16];
    char error[320];         /* the first malformed or missing descriptor; "" when none */
};

/* Loads what the devinfo holds. bos may be NULL (not parsed / absent). Malformed
 * descriptors are left out and explained in m->error; only OWU_E_NOMEM fails. */
int owu_msos_load(struct owu_msos *m, const struct owu_devinfo *info, uint16_t bcd_usb,
                  const struct owu_bos *bos);
void owu_msos_free(struct owu_msos *m);

/* Compat IDs of a non-composite device: the MS OS 2.0 top-level compatible ID feature, or
 * the MS OS 1.0 function section of interface 0. False when none applies. */
bool owu_msos_device_compat(const struct owu_msos *m, struct owu_msos_compat_id *out);
/* Compat IDs of a usbccgp function: the MS OS 2.0 function subset (first configuration)
 * whose bFirstInterface matches, or the MS OS 1.0 section whose bFirstInterfaceNumber does. */
bool owu_msos_function_compat(const struct owu_msos *m, uint8_t first_interface,
                              struct owu_msos_compat_id *out);
/* CCGP device feature present (device treated as composite). */
bool owu_msos_ccgp(const struct owu_msos *m);

/* Adds the properties of the whole device to node: MS OS 2.0 top-level registry
 * properties; MS OS 1.0 extended properties of interface 0 when not composite. */
int owu_msos_device_properties(struct owu_msos *m, const struct owu_devinfo *info, bool composite,
                               struct owu_devnode *node);
/* Adds the properties of one function: its MS OS 2.0 function subset's registry
 * properties; MS OS 1.0 extended properties read for its first interface. */
int owu_msos_function_properties(struct owu_msos *m, const struct owu_devinfo *info,
                                 uint8_t first_interface, struct owu_devnode *node);

#endif
