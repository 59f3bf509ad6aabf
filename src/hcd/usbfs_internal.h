/* Pieces of the usbfs backend that do not need a kernel: sysfs discovery, the bulk split
 * plan, uevent parsing and errno mapping. Kept apart so tests/test_usbfs.c can check them
 * against fake trees and crafted buffers. */
#ifndef OWU_HCD_USBFS_INTERNAL_H
#define OWU_HCD_USBFS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openwinusb/error.h>

#define OWU_USBFS_SYSFS_ENV "OPENWINUSB_USBFS_SYSFS"
#define OWU_USBFS_DEV_ENV "OPENWINUSB_USBFS_DEV"
#define OWU_USBFS_MAX_URB_ENV "OPENWINUSB_USBFS_MAX_URB"
#define OWU_USBFS_SYSFS_DEFAULT "/sys/bus/usb/devices"
#define OWU_USBFS_DEV_DEFAULT "/dev/bus/usb"

/* usbfs facts (docs/usbfs.md): the chunk size for kernels that cannot take big bulk URBs
 * (16 KiB, as the kernel's own scatter-gather chunks), and our bound on one URB: far below
 * the kernel's hard cap (UINT_MAX/2 - 1000000), and a bound on what a single failure
 * wastes. */
#define OWU_USBFS_CHUNK 16384u
#define OWU_USBFS_MAX_URB ((size_t)1 << 30)
#define OWU_USBFS_ISO_MAX_PACKETS 128u
#define OWU_USBFS_MAX_BUSNUM 999u
#define OWU_USBFS_MAX_DEVNUM 127u

const char *owu_usbfs_sysfs_root(void);
const char *owu_usbfs_dev_root(void);

/* A device directory of sysfs ("1-2.3"). */
struct owu_usbfs_entry {
    char name[64];
    unsigned busnum, devnum;
    char devpath[64];
};

/* True for device names "B-P[.P...]" (not root hubs "usbN", not interfaces "B-P:C.I"). */
bool owu_usbfs_is_device_name(const char *name);
/* Reads busnum, devnum and devpath of root/name; errors name the file. */
int owu_usbfs_read_entry(const char *root, const char *name, struct owu_usbfs_entry *out,
                         owu_err *err);
/* Every device directory under root, sorted by name; *out is malloc'd (free it). Entries
 * whose attributes are unreadable are skipped (a device may vanish while we look). */
int owu_usbfs_scan(const char *root, struct owu_usbfs_entry **out, size_t *count, owu_err *err);
/* devroot/BBB/DDD */
int owu_usbfs_node_path(const char *devroot, unsigned busnum, unsigned devnum, char *out,
                        size_t outsz);

/* How one bulk transfer becomes usbfs URBs. */
struct owu_usbfs_plan {
    size_t chunk;            /* bytes per URB (the last one may be shorter); 0 for length 0 */
    unsigned count;          /* number of URBs, at least 1 */
    bool continuation;       /* URBs after the first carry USBDEVFS_URB_BULK_CONTINUATION */
};
/* caps: the USBDEVFS_GET_CAPABILITIES bits; max_urb: 0 = no override. Fails
 * (OWU_E_INVAL) only when the count would not fit an unsigned. */
int owu_usbfs_plan_bulk(size_t length, uint32_t caps, size_t max_urb, struct owu_usbfs_plan *out);

/* A kernel uevent (NETLINK_KOBJECT_UEVENT, group 1). */
enum owu_uevent_action { OWU_UEVENT_OTHER, OWU_UEVENT_ADD, OWU_UEVENT_REMOVE };
struct owu_uevent {
    enum owu_uevent_action action;
    bool usb_device;         /* SUBSYSTEM=usb and DEVTYPE=usb_device */
    unsigned busnum, devnum; /* 0 when absent */
    char name[64];           /* last component of DEVPATH */
};
/* Parses buf[0..len). Untrusted: strings need not be terminated. OWU_E_PARSE when it is
 * not a kernel uevent (no "action@devpath" header, udev's "libudev" messages). */
int owu_uevent_parse(const void *buf, size_t len, struct owu_uevent *out);

/* errno from an ioctl -> status; kernel URB status (negative errno) -> status. */
int owu_usbfs_errno_status(int errnum);
int owu_usbfs_urb_status(int kernel_status);

#endif
