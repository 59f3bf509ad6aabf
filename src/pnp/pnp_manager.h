/* The PnP manager: what happens to a device node once the bus driver has built it.
 *
 *   1. choose its driver from the driver store (Windows ranking);
 *   2. install: write its Device Parameters (MS OS properties, then the INF's .HW AddReg);
 *   3. start the driver: for usbccgp, create one child per function and start each child;
 *   4. register its device interfaces (USB device class, the driver's class interfaces,
 *      WinUSB's DeviceInterfaceGUIDs, the INF's AddInterface entries).
 * Removal unregisters the interfaces of the node and its children.
 */
#ifndef OWU_PNP_PNP_MANAGER_H
#define OWU_PNP_PNP_MANAGER_H

#include <pthread.h>

#include <openwinusb/devif.h>
#include <openwinusb/driverstore.h>
#include <openwinusb/error.h>
#include <openwinusb/pnp.h>
#include <openwinusb/registry.h>

struct owu_pnp_manager {
    struct owu_driver_store *store;
    struct owu_registry *registry;
    struct owu_devif_table *interfaces;
    struct owu_pnp_options pnp;
    pthread_mutex_t notes_lock;
    owu_strlist notes;           /* problems worth telling a user (skipped INF lines, ...) */
};

/* Opens the driver store ($OPENWINUSB_DRIVER_STORE ...), the Device Parameters store
 * ($OPENWINUSB_REGISTRY ...) and an empty device-interface table. Problems with the
 * user's store directories become notes, not failures. */
int owu_pnp_manager_open(const struct owu_pnp_options *pnp, struct owu_pnp_manager **out, owu_err *err);
void owu_pnp_manager_close(struct owu_pnp_manager *pm);

/* Steps 1-4 for a node the bus driver just built (a device or a root hub). A node no driver
 * matches stays without a driver (as a Windows device with Code 28) — not an error. */
int owu_pnp_start(struct owu_pnp_manager *pm, struct owu_devnode *node, owu_err *err);

/* The node (and its children) are leaving: unregister their device interfaces. */
void owu_pnp_remove(struct owu_pnp_manager *pm, struct owu_devnode *node);

#endif
