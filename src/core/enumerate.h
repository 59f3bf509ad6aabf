/* Enumeration: the walk the Windows hub driver does for a newly attached device, producing
 * the struct owu_devinfo that the PnP side turns into IDs. */
#ifndef OWU_CORE_ENUMERATE_H
#define OWU_CORE_ENUMERATE_H

#include <stdbool.h>
#include <stdint.h>

#include <openwinusb/devinfo.h>
#include <openwinusb/error.h>

#include "hcd/hcd.h"

struct owu_enum_options {
    unsigned timeout_ms;          /* per request; Windows uses 5000 */
    bool set_configuration;       /* select the first configuration at the end */
    uint32_t windows_version;     /* which MS OS 2.0 descriptor set applies (0x0A000000) */
    unsigned max_languages;       /* strings are read in at most this many LANGIDs */
};

/* Defaults: 5000 ms (OPENWINUSB_ENUM_TIMEOUT_MS overrides), configure, Windows 10, 4 langs. */
void owu_enum_options_default(struct owu_enum_options *opt);

/* Walks the device. Returns OWU_OK with *out set even when the device failed (then
 * (*out)->failure says how, failure_detail why); returns a negative status only when
 * memory ran out or the arguments are bad. */
int owu_enumerate(struct owu_usb_device *dev, const struct owu_enum_options *opt,
                  struct owu_devinfo **out, owu_err *err);

#endif
