/* openwinusb: Device Parameters — the per-device-instance values Windows keeps under
 * HKLM\SYSTEM\CurrentControlSet\Enum\<instance ID>\Device Parameters (the hardware key).
 *
 * A store maps device instance IDs (compared case-insensitively) to a key of typed values
 * (Windows REG_* numbers, the conventions of struct owu_property: strings UTF-8 with their
 * NUL counted in len, MULTI_SZ "a\0b\0\0", an empty MULTI_SZ "\0", DWORD 4 and QWORD 8
 * bytes little-endian). Value names compare case-insensitively (ASCII), like the registry.
 *
 * A store is persistent (one text file in a directory, rewritten atomically under an
 * exclusive flock after re-reading it, so several processes can share it) or in memory.
 * Location, file format and rules: docs/registry.md.
 *
 * Every function is thread-safe. Values are returned as copies the caller owns.
 * A damaged store file is never fatal: what can be read is loaded, the problems become
 * warnings (owu_registry_take_warnings), the damaged file is kept as
 * "device-parameters.bad" and a clean file is written.
 */
#ifndef OPENWINUSB_REGISTRY_H
#define OPENWINUSB_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openwinusb/error.h>
#include <openwinusb/inf.h>
#include <openwinusb/pnp.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Environment variable naming the store directory; "none" (or "memory") = no file. */
#define OWU_REGISTRY_ENV "OPENWINUSB_REGISTRY"
/* Files inside the store directory. */
#define OWU_REGISTRY_FILE "device-parameters.txt"
#define OWU_REGISTRY_LOCK_FILE "device-parameters.lock"
#define OWU_REGISTRY_TEMP_FILE "device-parameters.tmp"
#define OWU_REGISTRY_BAD_FILE "device-parameters.bad"

/* Bounds, enforced on every write and on every file read (hostile files). */
#define OWU_REG_MAX_INSTANCE_ID_LEN 199u   /* Windows MAX_DEVICE_ID_LEN 200 with the NUL */
#define OWU_REG_MAX_NAME_LEN 255u          /* bytes of a value name */
#define OWU_REG_MAX_VALUE_LEN (256u << 10) /* bytes of one value's data */
#define OWU_REG_MAX_VALUES 1024u           /* values per device instance */
#define OWU_REG_MAX_KEYS 16384u            /* device instances per store */
#define OWU_REG_MAX_FILE_SIZE (16u << 20)  /* bytes of the store file read */
#define OWU_REG_MAX_WARNINGS 100u          /* kept until taken; later ones are counted */

/* Value names the in-box drivers read (types and defaults: docs/registry.md). */
#define OWU_REGVAL_DEVICE_INTERFACE_GUIDS "DeviceInterfaceGUIDs"   /* MULTI_SZ, WinUSB */
#define OWU_REGVAL_DEVICE_INTERFACE_GUID "DeviceInterfaceGUID"     /* SZ, WinUSB */
#define OWU_REGVAL_DEVICE_IDLE_ENABLED "DeviceIdleEnabled"         /* DWORD, default 0 */
#define OWU_REGVAL_DEFAULT_IDLE_STATE "DefaultIdleState"           /* DWORD, default 1 */
#define OWU_REGVAL_DEFAULT_IDLE_TIMEOUT "DefaultIdleTimeout"       /* DWORD ms, default 5000 */
#define OWU_REGVAL_USER_SET_DEVICE_IDLE_ENABLED "UserSetDeviceIdleEnabled" /* DWORD, default 0 */
#define OWU_REGVAL_DEVICE_IDLE_IGNORE_WAKE_ENABLE "DeviceIdleIgnoreWakeEnable" /* DWORD, 0 */
#define OWU_REGVAL_SYSTEM_WAKE_ENABLED "SystemWakeEnabled"         /* DWORD, default 0 */
#define OWU_REGVAL_IDLE_USB_SELECTIVE_SUSPEND_POLICY "IdleUsbSelectiveSuspendPolicy" /* usbser */
#define OWU_REGVAL_PORT_NAME "PortName"                            /* SZ "COMn", usbser */
#define OWU_WINUSB_DEFAULT_IDLE_TIMEOUT_MS 5000u

struct owu_registry;

/* ---------------------------------------------------------------------------------------
 * Opening
 */

/* The store directory the environment selects: $OPENWINUSB_REGISTRY, else
 * $XDG_STATE_HOME/openwinusb (absolute XDG_STATE_HOME only), else
 * $HOME/.local/state/openwinusb. *dir_out is a new string, or NULL when the environment
 * asks for no file ("none"/"memory"). OWU_E_NOTFOUND when no HOME is known. */
int owu_registry_default_dir(char **dir_out, owu_err *err);

/* Opens (creating the directory, mode 0700, when missing) the store in `dir`. Fails with
 * OWU_E_ACCESS/OWU_E_IO when the directory or its lock file cannot be created or opened,
 * and with OWU_E_NOTSUP when the file is a newer format version (which it must not
 * overwrite). A damaged file does not fail the open: see owu_registry_take_warnings. */
int owu_registry_open_dir(const char *dir, struct owu_registry **out, owu_err *err);

/* A store that lives only in memory (tests, programs that want no persistence).
 * NULL when out of memory. */
struct owu_registry *owu_registry_open_memory(void);

/* Opens the store the environment selects (owu_registry_default_dir). Never fails for
 * want of a usable directory: it then opens an in-memory store and records why as a
 * warning ("Device Parameters will not persist: ..."). Fails only for OWU_E_NOMEM. */
int owu_registry_open_default(struct owu_registry **out, owu_err *err);

void owu_registry_close(struct owu_registry *reg);

/* Path of the store file, or NULL for an in-memory store. */
const char *owu_registry_file(const struct owu_registry *reg);

/* Moves the pending warnings (damaged file reports, fallbacks) into `out` (appended), each
 * "path:LINE: problem; what was done". Returns how many were moved. */
size_t owu_registry_take_warnings(struct owu_registry *reg, owu_strlist *out);

/* OWU_OK when `id` can key a store: 1..199 characters, each 0x21..0x7F except ','
 * (the PnP manager's rule for IDs). Messages name the offending character. */
int owu_registry_check_instance_id(const char *id, owu_err *err);

/* OWU_OK when (type, data, len) is a well-formed value: strings (SZ, EXPAND_SZ, LINK) end
 * with their only NUL; MULTI_SZ is canonical (non-empty strings each with a NUL, then a
 * final NUL; "\0" when empty); DWORD and DWORD_BIG_ENDIAN 4 bytes; QWORD 8 bytes; every
 * value at most OWU_REG_MAX_VALUE_LEN bytes. Other types hold any bytes. */
int owu_registry_check_value(uint32_t type, const uint8_t *data, size_t len, owu_err *err);

/* "REG_SZ", "REG_DWORD", ... or "REG_TYPE_0x%X" for others (static or thread-local text). */
const char *owu_registry_type_name(uint32_t type);

/* ---------------------------------------------------------------------------------------
 * Keys (device instances)
 */

/* Creates the instance's key when missing (AddReg KEYONLY). */
int owu_registry_create_key(struct owu_registry *reg, const char *instance_id, owu_err *err);
bool owu_registry_key_exists(struct owu_registry *reg, const char *instance_id);
/* Deletes the key, its values and its install record (OWU_E_NOTFOUND when absent). */
int owu_registry_delete_key(struct owu_registry *reg, const char *instance_id, owu_err *err);
/* Appends the instance IDs that have a key, in case-insensitive order, as first spelled. */
int owu_registry_list_keys(struct owu_registry *reg, owu_strlist *out, owu_err *err);

/* ---------------------------------------------------------------------------------------
 * Values
 */

/* Copies one value into *out (name as stored, type, data with len; data never NULL):
 * release with owu_registry_property_clear. OWU_E_NOTFOUND when the instance or value is
 * absent. */
int owu_registry_get_value(struct owu_registry *reg, const char *instance_id, const char *name,
                           struct owu_property *out, owu_err *err);
/* Creates or replaces a value (creating the key). The value is checked with
 * owu_registry_check_value (OWU_E_INVAL); a MULTI_SZ given as "\0\0" is stored as "\0". */
int owu_registry_set_value(struct owu_registry *reg, const char *instance_id, const char *name,
                           uint32_t type, const void *data, size_t len, owu_err *err);
/* OWU_E_NOTFOUND when there is no such value. */
int owu_registry_delete_value(struct owu_registry *reg, const char *instance_id, const char *name,
                              owu_err *err);
/* Copies all values of the instance, in the order they were first set; *out is NULL and
 * *count 0 for an instance without values (OWU_E_NOTFOUND when it has no key).
 * Release with owu_registry_properties_free. */
int owu_registry_enum_values(struct owu_registry *reg, const char *instance_id,
                             struct owu_property **out, size_t *count, owu_err *err);
void owu_registry_property_clear(struct owu_property *p);
void owu_registry_properties_free(struct owu_property *v, size_t count);

/* Typed access. Getters leave *out = def (numbers) when the value is absent and return
 * OWU_OK; a value of another type (or size) gives OWU_E_INVAL ("... PortName is REG_SZ,
 * expected REG_DWORD") and also leaves the default, so a driver may use *out either way. */
int owu_registry_get_dword(struct owu_registry *reg, const char *instance_id, const char *name,
                           uint32_t def, uint32_t *out, owu_err *err);
int owu_registry_get_qword(struct owu_registry *reg, const char *instance_id, const char *name,
                           uint64_t def, uint64_t *out, owu_err *err);
/* REG_SZ or REG_EXPAND_SZ (not expanded) as a new string; OWU_E_NOTFOUND when absent. */
int owu_registry_get_string(struct owu_registry *reg, const char *instance_id, const char *name,
                            char **out, owu_err *err);
/* REG_MULTI_SZ strings appended to `out`; OWU_E_NOTFOUND when absent. */
int owu_registry_get_multi_sz(struct owu_registry *reg, const char *instance_id, const char *name,
                              owu_strlist *out, owu_err *err);
int owu_registry_set_dword(struct owu_registry *reg, const char *instance_id, const char *name,
                           uint32_t v, owu_err *err);
int owu_registry_set_qword(struct owu_registry *reg, const char *instance_id, const char *name,
                           uint64_t v, owu_err *err);
int owu_registry_set_string(struct owu_registry *reg, const char *instance_id, const char *name,
                            const char *s, owu_err *err);
/* Strings must be non-empty (a MULTI_SZ cannot hold an empty string). */
int owu_registry_set_multi_sz(struct owu_registry *reg, const char *instance_id, const char *name,
                              const char *const *v, size_t n, owu_err *err);

/* ---------------------------------------------------------------------------------------
 * Sources of values (docs/registry.md "Where values come from")
 */

/* Runs the AddReg lines of a DDInstall.HW section against the instance's Device
 * Parameters, in order, in one write: HKR with an empty subkey only; flags NOCLOBBER
 * (keep an existing value), OVERWRITEONLY (only replace an existing value), DELVAL
 * (delete the value), APPEND (REG_MULTI_SZ: add the strings not yet present, compared
 * case-insensitively), KEYONLY / KEYONLY_COMMON (create the key only). Lines that cannot
 * apply (other roots, subkeys, malformed values, APPEND on another type) are skipped and
 * explained in `notes` (may be NULL) as "file.inf:LINE: ...". */
int owu_registry_apply_inf(struct owu_registry *reg, const char *instance_id,
                           const struct owu_inf_reg *lines, size_t n, owu_strlist *notes,
                           owu_err *err);

/* Writes MS OS descriptor properties (struct owu_devnode.properties) into the instance's
 * Device Parameters, replacing values of the same name, in one write. Malformed
 * properties are skipped and explained in `notes`. */
int owu_registry_apply_properties(struct owu_registry *reg, const char *instance_id,
                                  const struct owu_property *props, size_t n, owu_strlist *notes,
                                  owu_err *err);

/* What owu_registry_install did (bits of *applied). */
enum {
    OWU_REG_APPLIED_PROPERTIES = 1u << 0,   /* MS OS properties were written */
    OWU_REG_APPLIED_INF = 1u << 1,          /* the .HW AddReg lines ran */
};
/* Flags of owu_registry_install. */
enum {
    OWU_REG_INSTALL_FORCE = 1u << 0,        /* apply both sources even if nothing changed */
};

/* The PnP manager's one call per device node, with Windows' timing: the first time an
 * instance is installed, and again whenever its driver (`driver`, any tag naming the INF
 * and section, e.g. "winusb.inf:WINUSB.NT"; NULL = no driver) or the set of MS OS
 * properties the device reports changes, it writes the MS OS properties and then runs the
 * INF's .HW AddReg lines (so the INF overrides the device unless it says NOCLOBBER);
 * otherwise it changes nothing, so values set later by users and drivers (PortName,
 * edited power settings) survive every re-enumeration. One atomic write. */
int owu_registry_install(struct owu_registry *reg, const char *instance_id, const char *driver,
                         const struct owu_property *props, size_t nprops,
                         const struct owu_inf_reg *lines, size_t nlines, unsigned flags,
                         unsigned *applied, owu_strlist *notes, owu_err *err);

#ifdef __cplusplus
}
#endif
#endif
