/* The process-wide stack behind the Win32 subset (SetupDi*, CM_*, CreateFile): opened on
 * first use with default options (OPENWINUSB_BUSES decides the buses), together with the
 * device-interface table that discovery reads and the Device Parameters store WinUSB reads
 * its power settings from. Tests replace them through the hooks below. */
#ifndef OWU_API_PROCESS_STACK_H
#define OWU_API_PROCESS_STACK_H

#include <openwinusb/devif.h>
#include <openwinusb/error.h>
#include <openwinusb/registry.h>
#include <openwinusb/stack.h>

/* The stack, opened now if needed (NULL when it cannot be opened: err says why). */
struct owu_stack *owu_process_stack(owu_err *err);
/* The device-interface table (created on first use; NULL only when out of memory). Before
 * answering, discovery registers the interfaces of the WinUSB-bound nodes of the tree into
 * it (owu_process_sync_interfaces). */
struct owu_devif_table *owu_process_devif(void);
/* The Device Parameters store (the default store, see registry.h; NULL when out of memory). */
struct owu_registry *owu_process_registry(void);

/* Registers, for every node of the stack's tree whose driver is WinUSB, the interfaces
 * WinUSB registers (owu_devif_register_node with the Device Parameters). Until the PnP
 * manager chooses drivers, a node whose MS OS compatible ID is "WINUSB" counts as WinUSB-bound
 * and its DeviceInterfaceGUID(s) descriptor properties are registered directly.
 * Registrations are never removed here: absent devices are filtered by presence. */
void owu_process_sync_interfaces(void);

/* Test hooks. replace: use these objects from now on (any may be NULL: that one is opened
 * lazily again); the caller keeps ownership and must call reset (or replace) before freeing
 * them. reset: close what the process opened itself and forget everything. */
void owu_process_stack_replace(struct owu_stack *stack, struct owu_devif_table *devif,
                               struct owu_registry *registry);
void owu_process_stack_reset(void);

#endif
