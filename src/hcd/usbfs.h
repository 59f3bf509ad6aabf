/* The Linux usbfs backend: real devices through /dev/bus/usb/BBB/DDD, found in
 * /sys/bus/usb/devices and followed by NETLINK_KOBJECT_UEVENT hotplug (docs/usbfs.md).
 *
 * One struct owu_hcd stands for every usbfs device of the machine ("the usbfs bus"), with
 * one reaper thread completing every URB (poll on the device fds + USBDEVFS_REAPURBNDELAY)
 * and one monitor thread reading hotplug events. The kernel has already reset, addressed
 * and configured the devices, so reset_port and set_address are NULL.
 *
 * Environment (for tests; the defaults are the real paths):
 *   OPENWINUSB_USBFS_SYSFS    the sysfs device directory (default /sys/bus/usb/devices)
 *   OPENWINUSB_USBFS_DEV      the device node directory  (default /dev/bus/usb)
 *   OPENWINUSB_USBFS_MAX_URB  largest usbfs URB a bulk transfer is cut into, in bytes
 *                             (default: decided from the kernel's capabilities)
 */
#ifndef OWU_HCD_USBFS_H
#define OWU_HCD_USBFS_H

#include <stdbool.h>
#include <stddef.h>

#include <openwinusb/error.h>

#include "hcd/hcd.h"

/* True when both the device node directory and the sysfs device directory exist (what
 * "usbfs?" in OPENWINUSB_BUSES asks for). */
bool owu_usbfs_available(void);

/* Creates the bus object (refcount 1, owned by the caller; free with owu_hcd_destroy).
 * Nothing is reported yet: register the hotplug sink, then call owu_usbfs_start. */
struct owu_hcd *owu_usbfs_create(unsigned bus_number, owu_err *err);

/* Opens every device present (reporting each through owu_hcd_device_arrived on the calling
 * thread) and starts hotplug monitoring. Devices that cannot be opened are skipped with a
 * message on stderr (permission problems name the file and the udev rule). Fails only
 * when the reaper thread cannot run. */
int owu_usbfs_start(struct owu_hcd *hcd, owu_err *err);

/* Zero-copy buffers: memory mapped from the device's usbfs fd, which the kernel uses for
 * transfers in place. Falls back to ordinary memory when mmap does not work (old kernels,
 * no usbfs fd); transfers work the same on both. Free with owu_usbfs_buffer_free on the
 * same device, also after it was unplugged. *zero_copy (may be NULL) says which it got. */
void *owu_usbfs_buffer_alloc(struct owu_usb_device *dev, size_t length, bool *zero_copy);
void owu_usbfs_buffer_free(struct owu_usb_device *dev, void *buffer);

/* Blocks until something resumes a device that was allowed to suspend (the suspend hook),
 * then forbids suspend again (USBDEVFS_WAIT_FOR_RESUME). */
int owu_usbfs_wait_for_resume(struct owu_usb_device *dev);

/* Messages for the two problems users meet most; both name the file to act on. */
#define OWU_USBFS_UDEV_RULE "/etc/udev/rules.d/70-openwinusb.rules"
#define OWU_USBFS_MEMORY_MB "/sys/module/usbcore/parameters/usbfs_memory_mb"
void owu_usbfs_access_message(const char *path, int errnum, char *out, size_t outsz);
void owu_usbfs_enomem_message(size_t length, char *out, size_t outsz);

#endif
