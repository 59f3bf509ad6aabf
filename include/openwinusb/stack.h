/* openwinusb: the host stack as a whole — the buses a program sees, the devices on them and
 * the PnP device tree built from them.
 *
 * Which buses a program sees is configured without code changes by OPENWINUSB_BUSES
 * (docs/buses.md), e.g. "virtual:fx2,cdc-acm" or "virtual:all;usbfs". The default is the
 * built-in virtual models, plus usbfs where the backend and /dev/bus/usb exist.
 */
#ifndef OPENWINUSB_STACK_H
#define OPENWINUSB_STACK_H

#include <stdbool.h>

#include <openwinusb/error.h>
#include <openwinusb/pnp.h>

struct owu_devif_table;
struct owu_registry;
struct owu_driver_store;

#ifdef __cplusplus
extern "C" {
#endif

#define OWU_DEFAULT_BUSES "virtual:all;usbfs?"

struct owu_stack;

struct owu_stack_options {
    const char *buses;                 /* NULL: $OPENWINUSB_BUSES, else OWU_DEFAULT_BUSES */
    struct owu_pnp_options pnp;        /* target OS etc. */
    unsigned enum_timeout_ms;          /* 0: default (5000 ms or OPENWINUSB_ENUM_TIMEOUT_MS) */
};

void owu_stack_options_default(struct owu_stack_options *opt);

/* Creates the buses, plugs the configured virtual models and enumerates every device. */
int owu_stack_open(const struct owu_stack_options *opt, struct owu_stack **out, owu_err *err);
void owu_stack_close(struct owu_stack *stack);

/* The device tree (computer → buses → devices → functions). Hold the lock while reading it:
 * hotplug changes it from other threads. */
void owu_stack_lock(struct owu_stack *stack);
void owu_stack_unlock(struct owu_stack *stack);
struct owu_devnode *owu_stack_tree(struct owu_stack *stack);

/* Finds a node by device instance ID (case-insensitive) or by location ("virtual:1-3");
 * call with the lock held. */
struct owu_devnode *owu_stack_find(struct owu_stack *stack, const char *instance_or_location);

/* Virtual buses: plug a model by name ("fx2", "profile=PATH") into the first virtual bus,
 * port 0 = first free; unplug by port. */
int owu_stack_plug(struct owu_stack *stack, const char *model, unsigned port, unsigned *port_out,
                   owu_err *err);
int owu_stack_unplug(struct owu_stack *stack, unsigned bus_number, unsigned port, owu_err *err);

/* Builds the tree of a single device described by a devinfo (from a profile or sysfs) the
 * same way a live device is built: it is plugged as a profile model into a private virtual
 * bus and enumerated. Takes ownership of nothing; the result is freed with
 * owu_stack_close. */
int owu_stack_open_devinfo(const struct owu_devinfo *info, const struct owu_pnp_options *pnp,
                           struct owu_stack **out, owu_err *err);

/* The PnP manager's state: device interfaces (lookup by interface class GUID), Device
 * Parameters, and the driver store the stack chose drivers from. Thread-safe objects. */
struct owu_devif_table *owu_stack_interfaces(struct owu_stack *stack);
struct owu_registry *owu_stack_registry(struct owu_stack *stack);
const struct owu_driver_store *owu_stack_driver_store(struct owu_stack *stack);

/* Moves the PnP manager's notes (skipped INF lines, damaged stores, devices without a
 * driver's settings ...) into `out`; returns how many. */
size_t owu_stack_take_notes(struct owu_stack *stack, owu_strlist *out);

#ifdef __cplusplus
}
#endif
#endif
