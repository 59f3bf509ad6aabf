/* openwinusb: device interfaces — the (interface class GUID, device instance, reference
 * string) registrations through which applications find devices, each named by a
 * symbolic link in Windows' spelling (docs/device-interfaces.md):
 *
 *   \\?\usb#vid_045e&pid_0040#5&1ece9816&0&9#{a5dcbf10-6530-11d2-901f-00c04fb951ed}
 *
 * A table is the PnP manager's list of registered interfaces. Lookups return copies in a
 * stable order (by symbolic link), so they are snapshots in the manner of
 * SetupDiGetClassDevs and CM_Get_Device_Interface_List, which will sit on top of
 * owu_devif_query / owu_devif_list_multi_sz. Every function is thread-safe.
 */
#ifndef OPENWINUSB_DEVIF_H
#define OPENWINUSB_DEVIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openwinusb/error.h>
#include <openwinusb/guid.h>
#include <openwinusb/inf.h>
#include <openwinusb/pnp.h>
#include <openwinusb/registry.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Interface classes a USB stack registers (docs/device-interfaces.md "Class GUIDs"). */
extern const struct owu_guid OWU_GUID_DEVINTERFACE_USB_DEVICE;   /* {A5DCBF10-6530-11D2-901F-00C04FB951ED} */
extern const struct owu_guid OWU_GUID_DEVINTERFACE_USB_HUB;      /* {F18A0E88-C30C-11D0-8815-00A0C906BED8} */
extern const struct owu_guid OWU_GUID_DEVINTERFACE_COMPORT;      /* {86E0D1E0-8089-11D0-9CE4-08003E301F73} */
extern const struct owu_guid OWU_GUID_DEVINTERFACE_HID;          /* {4D1E55B2-F16F-11CF-88CB-001111000030} */

#define OWU_DEVIF_MAX_REFERENCE_LEN 255u
#define OWU_DEVIF_MAX_INTERFACES 65536u

/* ---------------------------------------------------------------------------------------
 * Symbolic links
 */

/* Formats the symbolic link: "\\?\" + instance ID with '\' turned into '#' + "#" + braced
 * class GUID, then "\" + reference string when ref is neither NULL nor "", the whole path
 * in lower case. The instance ID is checked (owu_registry_check_instance_id), the
 * reference string too (1..255 characters 0x21..0x7E, no '\' or '/'). *out is a new
 * string. */
int owu_devif_symbolic_link(const struct owu_guid *class_guid, const char *instance_id,
                            const char *ref, char **out, owu_err *err);

/* ---------------------------------------------------------------------------------------
 * The table
 */

struct owu_devif_table;

/* NULL when out of memory. */
struct owu_devif_table *owu_devif_table_new(void);
void owu_devif_table_free(struct owu_devif_table *t);

/* Registers an interface, enabled. Registering one that exists (same class, instance
 * and reference string, the instance ID compared case-insensitively) enables it again
 * and succeeds. path_out (may be NULL) receives a new copy of the symbolic link. */
int owu_devif_register(struct owu_devif_table *t, const struct owu_guid *class_guid,
                       const char *instance_id, const char *ref, char **path_out, owu_err *err);

/* Removes one interface by its symbolic link (any case; "\\.\" and "\??\" prefixes
 * accepted for "\\?\"). OWU_E_NOTFOUND when not registered. */
int owu_devif_unregister(struct owu_devif_table *t, const char *path, owu_err *err);

/* Removes every interface of a device instance (the device left); returns how many. */
size_t owu_devif_unregister_device(struct owu_devif_table *t, const char *instance_id);

/* Enables or disables an interface (IoSetDeviceInterfaceState). Disabled interfaces stay
 * registered but are listed only with OWU_DEVIF_ALL. OWU_E_NOTFOUND when not registered. */
int owu_devif_set_enabled(struct owu_devif_table *t, const char *path, bool enabled, owu_err *err);

/* One registered interface, as returned by the lookups (caller-owned copies). */
struct owu_devif_info {
    char *path;                 /* symbolic link, lower case */
    struct owu_guid class_guid;
    char *instance_id;          /* as registered */
    char *reference;            /* as registered; "" when none */
    bool enabled;
};

/* Lookup flags, with the values of CM_GET_DEVICE_INTERFACE_LIST_PRESENT / _ALL_DEVICES. */
enum {
    OWU_DEVIF_PRESENT = 0,      /* enabled interfaces only */
    OWU_DEVIF_ALL = 1,          /* disabled ones too */
};

/* Interfaces of class_guid (NULL = every class) and of instance_id (NULL = every device;
 * compared case-insensitively), ordered by symbolic link. *out is NULL when none.
 * Release with owu_devif_infos_free. */
int owu_devif_query(struct owu_devif_table *t, const struct owu_guid *class_guid,
                    const char *instance_id, unsigned flags, struct owu_devif_info **out,
                    size_t *count, owu_err *err);
void owu_devif_infos_free(struct owu_devif_info *v, size_t count);
void owu_devif_info_clear(struct owu_devif_info *info);

/* The same selection as symbolic links appended to a string list. */
int owu_devif_list(struct owu_devif_table *t, const struct owu_guid *class_guid,
                   const char *instance_id, unsigned flags, owu_strlist *out, owu_err *err);

/* The same selection as CM_Get_Device_Interface_List returns it: each path NUL-terminated,
 * then a final NUL ("\0" alone when none). *len counts every byte. */
int owu_devif_list_multi_sz(struct owu_devif_table *t, const struct owu_guid *class_guid,
                            const char *instance_id, unsigned flags, char **out, size_t *len,
                            owu_err *err);

/* The interface behind a symbolic link (any case, prefixes as for unregister), disabled
 * ones included. OWU_E_NOTFOUND when not registered. Release with owu_devif_info_clear. */
int owu_devif_lookup(struct owu_devif_table *t, const char *path, struct owu_devif_info *out,
                     owu_err *err);

/* Number of registered interfaces (enabled or not). */
size_t owu_devif_count(struct owu_devif_table *t);

/* ---------------------------------------------------------------------------------------
 * What registers interfaces
 */

/* The interface classes in-box drivers register for the devices they drive. */
struct owu_devif_service_class {
    const char *service;        /* service name, compared case-insensitively */
    const char *guid_name;      /* "GUID_DEVINTERFACE_COMPORT" */
    const struct owu_guid *guid;
};

/* The whole table (usbser, HidUsb, usbhub, usbhub3), and the entries of one service. */
const struct owu_devif_service_class *owu_devif_service_classes(size_t *count);
/* Fills up to max GUIDs registered by `service`; returns how many the service has. */
size_t owu_devif_classes_of_service(const char *service, const struct owu_guid **out, size_t max);

/* Flags of owu_devif_register_device. */
enum {
    OWU_DEVIF_HUB_CHILD = 1u << 0,   /* enumerated by a hub: GUID_DEVINTERFACE_USB_DEVICE */
    OWU_DEVIF_ROOT_HUB = 1u << 1,    /* a root hub: GUID_DEVINTERFACE_USB_HUB whatever its
                                        service */
};

/* Registers everything that applies to one device node with its driver loaded:
 *  1. GUID_DEVINTERFACE_USB_DEVICE when OWU_DEVIF_HUB_CHILD (every hub-enumerated device);
 *  2. the class interfaces of `service` (owu_devif_service_classes; OWU_DEVIF_ROOT_HUB
 *     adds the hub class);
 *  3. when service is WinUSB: one interface per GUID of DeviceInterfaceGUIDs (REG_MULTI_SZ)
 *     in the instance's Device Parameters (`params`, may be NULL), or, when that is absent
 *     or unusable, DeviceInterfaceGUID (REG_SZ);
 *  4. the INF's AddInterface entries (ifs, may be empty), with their reference strings.
 * Bad GUIDs and wrongly typed values are skipped and explained in `notes` (may be NULL);
 * only an unusable instance ID or out-of-memory fails. *registered (may be NULL) gets the
 * number of interfaces registered by this call. */
int owu_devif_register_device(struct owu_devif_table *t, const char *instance_id,
                              const char *service, unsigned flags, struct owu_registry *params,
                              const struct owu_inf_interface *ifs, size_t n_ifs,
                              size_t *registered, owu_strlist *notes, owu_err *err);

/* The same for a device node: instance_id and service from the node, OWU_DEVIF_HUB_CHILD
 * for OWU_NODE_DEVICE nodes, OWU_DEVIF_ROOT_HUB for OWU_NODE_HUB nodes. */
int owu_devif_register_node(struct owu_devif_table *t, const struct owu_devnode *node,
                            struct owu_registry *params, const struct owu_inf_interface *ifs,
                            size_t n_ifs, size_t *registered, owu_strlist *notes, owu_err *err);

#ifdef __cplusplus
}
#endif
#endif
