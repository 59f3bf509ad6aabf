/* openwinusb: device profiles, a JSON file holding everything a host learns at enumeration
 * (see docs/profile-format.md), and the two other ways to get that data without a live
 * device: a Linux sysfs device directory. Both fill the same struct owu_devinfo. */
#ifndef OPENWINUSB_PROFILE_H
#define OPENWINUSB_PROFILE_H

#include <stdbool.h>
#include <stdio.h>

#include <openwinusb/devinfo.h>
#include <openwinusb/error.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OWU_PROFILE_FORMAT "openwinusb-device-profile"
#define OWU_PROFILE_VERSION 1
/* Limits a profile must respect (the parser refuses more, the writer refuses to write more). */
#define OWU_PROFILE_MAX_FILE ((size_t)16 << 20)    /* bytes of JSON owu_profile_load reads */
#define OWU_PROFILE_MAX_BLOB ((size_t)64 << 10)    /* bytes in one hex blob */
#define OWU_PROFILE_MAX_CONFIGS 255
#define OWU_PROFILE_MAX_STRINGS 1024               /* (index, LANGID) pairs: 255 x languages */
#define OWU_PROFILE_MAX_PROPS 256                  /* MS OS 1.0 property descriptors */

/* Parse a profile from memory / a file. Untrusted input: every field is checked, errors
 * name the JSON path ("configurations[1]: odd number of hex digits"). Every failure in the
 * text is OWU_E_PARSE (JSON syntax errors say "line L, column C: ..."; owu_profile_load
 * prefixes the file name). *out is owned by the caller (owu_devinfo_free). */
int owu_profile_parse(const char *json, size_t len, struct owu_devinfo **out, owu_err *err);
int owu_profile_load(const char *path, struct owu_devinfo **out, owu_err *err);

/* Write a profile (pretty-printed JSON, stable key order, deterministic: the same devinfo
 * always gives the same bytes, and parsing them gives an equal devinfo). OWU_E_INVAL when
 * the devinfo holds more than a profile may (see the limits above), OWU_E_IO when writing
 * fails. owu_profile_save creates or truncates the file. */
int owu_profile_write(const struct owu_devinfo *info, FILE *f, owu_err *err);
int owu_profile_save(const struct owu_devinfo *info, const char *path, owu_err *err);

/* True when a and b hold the same data: every field and byte a profile records (which is
 * every field of struct owu_devinfo). NULL equals only NULL. */
bool owu_profile_equal(const struct owu_devinfo *a, const struct owu_devinfo *b);

/* The profile spelling of an enumeration failure ("none", "reset", "device-descriptor",
 * "config-descriptor", "set-address", "device-descriptor-invalid",
 * "config-descriptor-invalid", "port-link-ssinactive", "port-link-compliance", "unknown")
 * and its inverse (false for a name not in that list). */
const char *owu_profile_failure_name(enum owu_enum_failure failure);
bool owu_profile_failure_from_name(const char *name, enum owu_enum_failure *out);

/* Build a devinfo from /sys/bus/usb/devices/X: its `descriptors` file (device descriptor and
 * every configuration, as the kernel cached them), speed, busnum/devpath, and the
 * manufacturer/product/serial attributes turned into string descriptors at the indexes the
 * device descriptor names (LANGID 0x0409), plus string 0 listing only 0x0409: the kernel
 * exposes one language and no BOS or MS OS descriptors, so those stay absent.
 * location = "usbfs:<busnum>-<devpath>", port = last devpath component, removable unless
 * the `removable` attribute says "fixed". Errors: OWU_E_NOTFOUND (no directory, no
 * descriptors/speed/busnum/devpath file), OWU_E_BADDESC (descriptors too short, invalid
 * device descriptor, a configuration running past the end), OWU_E_PARSE (an attribute
 * with an unexpected value); each message names the file. */
int owu_sysfs_read_devinfo(const char *dir, struct owu_devinfo **out, owu_err *err);

#ifdef __cplusplus
}
#endif
#endif
