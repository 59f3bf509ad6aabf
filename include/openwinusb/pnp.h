/* openwinusb: PnP device nodes and the Windows identifiers of USB devices.
 *
 * One ID formatter (src/pnp/ids.c) produces, byte for byte as Windows spells them
 * (shared/reference/pnp-ids.md §1): device IDs, hardware IDs, compatible IDs, instance IDs
 * and container IDs, for devices on a hub port and for the functions usbccgp creates.
 * Points the reference leaves open are decided once, in src/pnp/ids.c, and listed in
 * docs/pnp-ids.md.
 */
#ifndef OPENWINUSB_PNP_H
#define OPENWINUSB_PNP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openwinusb/devinfo.h>
#include <openwinusb/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A growable list of owned strings (ID lists, MULTI_SZ values). */
typedef struct owu_strlist {
    char **v;
    size_t n;
    size_t cap;
} owu_strlist;

int owu_strlist_add(owu_strlist *l, const char *s);
int owu_strlist_addf(owu_strlist *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool owu_strlist_contains_ci(const owu_strlist *l, const char *s);
void owu_strlist_clear(owu_strlist *l);

/* Which Windows the IDs imitate. WIN11 adds the USB\COMPAT_VID_* compatible IDs. */
enum owu_target_os {
    OWU_TARGET_WIN10 = 0,
    OWU_TARGET_WIN11 = 1,
};

struct owu_pnp_options {
    enum owu_target_os target;
    bool ignore_serial;          /* IgnoreHWSerNum: always use port-based instance IDs */
    bool memory_registry;        /* Device Parameters in memory only: for devices described by
                                  * a file, which must not leave traces in the user's store */
};

/* Fills defaults: WIN10 unless OPENWINUSB_TARGET=win11 is set in the environment. */
void owu_pnp_options_default(struct owu_pnp_options *opt);

enum owu_node_kind {
    OWU_NODE_ROOT,       /* the computer: parent of every bus */
    OWU_NODE_HUB,        /* a bus's root hub (USB\ROOT_HUB20 / USB\ROOT_HUB30) */
    OWU_NODE_DEVICE,     /* a device on a hub port (hub-enumerated) */
    OWU_NODE_FUNCTION,   /* a function of a composite device (usbccgp-enumerated) */
};

/* A registry-like property from MS OS descriptors or INF AddReg (Device Parameters). */
struct owu_property {
    char *name;
    uint32_t type;       /* REG_SZ 1, REG_EXPAND_SZ 2, REG_BINARY 3, REG_DWORD 4,
                            REG_DWORD_BIG_ENDIAN 5, REG_LINK 6, REG_MULTI_SZ 7, REG_QWORD 11 */
    uint8_t *data;       /* strings as UTF-8, MULTI_SZ as NUL-separated with a final extra NUL */
    size_t len;
};

struct owu_devnode {
    enum owu_node_kind kind;

    char *device_id;             /* USB\VID_045E&PID_0040 */
    owu_strlist hardware_ids;
    owu_strlist compatible_ids;
    char *instance_id;           /* full device instance ID: device_id + '\' + instance part */
    char *parent_id_prefix;      /* ParentIdPrefix given to this node's port-based children */
    char container_id[40];       /* "{xxxxxxxx-...}" lower case, or "" when none */
    bool unique_id;              /* instance part came from a serial number */

    char *description;           /* product string, IAD/interface string, or a class name */
    char *location;              /* "Port_#0003.Hub_#0001"-style location information
                                    ("" for the computer and root hubs) */
    unsigned hub_number;         /* hubs (root or not): next number from the tree's counter in
                                    creation order; the "Hub_#" their children's location shows */

    /* Device-level facts (devices) or function-level facts (functions). */
    uint16_t vid, pid, rev;      /* rev = bcdDevice */
    uint16_t bcd_usb;            /* bcdUSB of the device (REV text and container ID rules) */
    uint8_t class_code, subclass, protocol;   /* the triple the class IDs were built from */
    bool composite;              /* device passed the composite test (pnp-ids.md §1.6) */
    uint8_t first_interface;     /* functions: bInterfaceNumber of the first interface */
    uint8_t num_interfaces;      /* functions: interfaces in the function */
    char msos_compat[9];         /* MS OS compatible ID that applied ("WINUSB"), or "" */
    char msos_subcompat[9];

    enum owu_enum_failure failure;
    char *msos_error;            /* why an MS OS descriptor was ignored (malformed), or NULL */

    /* Properties this node's descriptors supplied (MS OS 1.0 extended properties,
     * MS OS 2.0 registry properties); the PnP manager copies them to Device Parameters. */
    struct owu_property *properties;
    unsigned num_properties;

    /* Driver chosen by the PnP manager (issue: PnP manager); NULL until matched. */
    char *service;
    char *inf;
    char *inf_section;
    uint32_t rank;

    /* The device the node describes: devices and their functions share one devinfo
     * (owned by the OWU_NODE_DEVICE node; owu_devnode_free frees it only for that kind). */
    struct owu_devinfo *info;
    /* The live device behind a device node (NULL for files and function nodes): a reference
     * the stack takes when it builds the node and drops when its hotplug path removes it
     * (src/core/stack.c); owu_devnode_free leaves it alone, so only the stack frees such
     * nodes. */
    void *bus_device;

    struct owu_devnode *parent;
    struct owu_devnode *first_child;
    struct owu_devnode *last_child;     /* so that adding a child is O(1) */
    struct owu_devnode *next_sibling;
    unsigned hub_counter;               /* top node of a tree: hub numbers handed out so far */
};

/* Creates a node of the given kind with no IDs; frees the whole subtree with _free
 * (detaching it from its parent first). */
struct owu_devnode *owu_devnode_new(enum owu_node_kind kind);
void owu_devnode_free(struct owu_devnode *node);
/* Appends child as the last child of parent (detaching it from a previous parent). */
void owu_devnode_add_child(struct owu_devnode *parent, struct owu_devnode *child);
/* Detaches (does not free) a child. */
void owu_devnode_remove_child(struct owu_devnode *parent, struct owu_devnode *child);
/* Copies the property; a property of the same name (case-insensitive, like the registry)
 * is replaced. */
int owu_devnode_add_property(struct owu_devnode *node, const char *name, uint32_t type,
                             const uint8_t *data, size_t len);
const struct owu_property *owu_devnode_find_property(const struct owu_devnode *node, const char *name);

/* Registry value types used in struct owu_property. */
enum {
    OWU_REG_SZ = 1,
    OWU_REG_EXPAND_SZ = 2,
    OWU_REG_BINARY = 3,
    OWU_REG_DWORD = 4,
    OWU_REG_DWORD_BIG_ENDIAN = 5,
    OWU_REG_LINK = 6,
    OWU_REG_MULTI_SZ = 7,
    OWU_REG_QWORD = 11,
};

/* The computer node: device ID ROOT\OPENWINUSB, instance ID ROOT\OPENWINUSB\0000, container
 * OWU_CONTAINER_ID_ROOT. NULL when out of memory. */
struct owu_devnode *owu_pnp_build_root(void);

/* Builds the node of a device on a hub port from what enumeration learned: device ID,
 * hardware IDs, compatible IDs (composite decision, MS OS IDs, hub and billboard cases,
 * failure IDs), instance ID under `parent` (serial or port based), container ID.
 * Takes ownership of `info` (freed on failure too). When parent is not NULL the node is
 * appended to its children; with parent NULL the port-based prefix is the one the root hub
 * of bus 0 would hand out. A device descriptor that does not parse, or a missing or
 * unparsable first configuration, turns the node into the matching failure node
 * (info->failure and failure_detail are set). Malformed MS OS descriptors are ignored and
 * explained in node->msos_error. For a composite device it does not create children: that
 * is usbccgp's job (owu_usbccgp_create_functions), run when the driver is chosen. */
int owu_pnp_build_device(struct owu_devnode *parent, struct owu_devinfo *info,
                         const struct owu_pnp_options *opt, struct owu_devnode **out, owu_err *err);

/* Builds a bus root-hub node under the computer node ("USB\ROOT_HUB20\4&...&0&0"); root may
 * be NULL (the node is then not attached). description NULL = "USB Root Hub" /
 * "USB Root Hub (USB 3.0)". NULL when out of memory. */
struct owu_devnode *owu_pnp_build_root_hub(struct owu_devnode *root, unsigned bus_number,
                                           bool superspeed, const char *description);

/* usbccgp: groups the interfaces of a composite device into functions (IADs, legacy audio
 * grouping, one function per interface otherwise) and creates one child per function with
 * &MI_xx IDs, MS OS compat IDs and properties of that function. Function children created
 * by an earlier call are freed first, so calling it again rebuilds them. OWU_E_INVAL when
 * the node is not a composite device. */
int owu_usbccgp_create_functions(struct owu_devnode *composite, const struct owu_pnp_options *opt,
                                 owu_err *err);

/* Container ID derivation from a serial number (pnp-ids.md §1.10); out gets
 * "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}" in lower case. */
void owu_container_id_from_serial(uint16_t vid, uint16_t pid, uint16_t bcd_usb, uint16_t bcd_device,
                                  const char *serial, char out[40]);
/* Decision for devices without a usable serial: the same derivation over the ASCII name
 * "%04X%04X" (VID, PID) + REV text + "@" + location, stable across runs. */
void owu_container_id_from_location(uint16_t vid, uint16_t pid, uint16_t bcd_usb,
                                    uint16_t bcd_device, const char *location, char out[40]);
/* The name-based (SHA-1, version 5) GUID over an ASCII name as UTF-16LE. */
void owu_container_id_from_name(const char *ascii_name, char out[40]);
/* Formats a GUID given in wire (little-endian) byte order, lower case with braces. */
void owu_guid_format(const uint8_t guid_le[16], char out[40]);
/* The container of the computer and everything built into it. */
#define OWU_CONTAINER_ID_ROOT "{00000000-0000-0000-ffff-ffffffffffff}"

/* ---- pieces of the ID formatter, for the enumerators (src/pnp/) ---------------------- */

/* The 4-character REV text of a hardware ID (pnp-ids.md §1.3): %04X of bcdDevice when
 * bcdUSB > 0x0200, else '0'+nibble per nibble (A-F become : ; < = > ?). */
void owu_pnp_rev_text(uint16_t bcd_usb, uint16_t bcd_device, char out[5]);

/* The generic description of a device or function by class ("USB Input Device"). */
const char *owu_pnp_class_name(uint8_t cls, uint8_t sub, uint8_t prot);

/* Formats device ID, hardware IDs and compatible IDs of a usbccgp function node from its
 * facts: vid, pid, rev, bcd_usb, first_interface, class triple, msos_compat/subcompat. */
int owu_pnp_function_ids(struct owu_devnode *fn, const struct owu_pnp_options *opt, owu_err *err);

/* A serial number (decoded UTF-8) the hub accepts: non-empty, every byte 0x20..0x7F, no ','. */
bool owu_pnp_serial_valid(const char *serial);
/* The instance part from a valid serial: optional prefix ("MSFT20"/"MSFT30" or NULL), spaces
 * turned into '_', upper-cased. OWU_E_INVAL if the serial is not valid or out is too small. */
int owu_pnp_serial_instance(const char *serial, const char *prefix, char *out, size_t outsz);
/* 32-bit FNV-1a over the bytes of s. */
uint32_t owu_fnv1a32(const char *s);
/* Depth of a node in the tree: computer 3, root hub 4, child = parent + 1 (a device without a
 * parent counts as on a root hub: 5). */
unsigned owu_pnp_node_depth(const struct owu_devnode *node);
/* Sets node->instance_id to device_id + '\' + upper-cased instance part, and
 * node->parent_id_prefix to "<depth+1>&<FNV-1a of instance_id as %X>&0". */
int owu_pnp_set_instance(struct owu_devnode *node, const char *instance_part, bool unique);

/* Gives a device node the port-based instance ID (`<ParentIdPrefix>&<port>`) instead of its
 * serial-based one. The stack uses it for the second of two attached devices with the same
 * serial number (see docs/pnp-ids.md, "Duplicate serial numbers"). Call before children are
 * created. */
int owu_pnp_use_port_instance(struct owu_devnode *node);

/* The Windows failure ID string for a failure ("USB\DEVICE_DESCRIPTOR_FAILURE") and the PID
 * used in its device ID. */
const char *owu_failure_id(enum owu_enum_failure f);
unsigned owu_failure_pid(enum owu_enum_failure f);

#ifdef __cplusplus
}
#endif
#endif
