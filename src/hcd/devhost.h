/* The device host: one process owns the devices of its stack and serves them on a Unix-domain
 * socket, so that several processes use one device at once, each with its own interfaces
 * (exclusive access per interface, as on Windows). Wire format: USB/IP PDUs through the
 * codec of usbip_proto.h plus the local extension ops below (docs/device-host.md).
 *
 *   server (devhost_server.c): `openwinusb host`; shares every enumerated device.
 *   client (devhost_client.c): bus kind "host[=SOCKET]" of OPENWINUSB_BUSES.
 */
#ifndef OWU_HCD_DEVHOST_H
#define OWU_HCD_DEVHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openwinusb/error.h>

#include "hcd/hcd.h"
#include "hcd/usbip_proto.h"

/* Local extension op codes (management header: u16 version 0x0111 | u16 code | u32 status).
 * They never reach a real USB/IP peer; the table in docs/device-host.md is the reference.
 *   IMPORT_SHARED  request 40 bytes like OP_REQ_IMPORT; reply a standard OP_REP_IMPORT
 *   CLAIM/RELEASE  request 8 bytes, status field = interface number; reply 8 bytes with the
 *                  reply code and an OWU_USBIP_ST_* status (DEV_BUSY: claimed elsewhere)
 * In the URB phase an extension op is told from an URB PDU by its first two bytes: 0x0111
 * (an URB PDU starts with a 32-bit command 1..4, so its first two bytes are 0). */
enum {
    OWU_DEVHOST_OP_REQ_IMPORT_SHARED = 0x8F03,
    OWU_DEVHOST_OP_REQ_CLAIM = 0x8F10,
    OWU_DEVHOST_OP_REP_CLAIM = 0x0F10,
    OWU_DEVHOST_OP_REQ_RELEASE = 0x8F11,
    OWU_DEVHOST_OP_REP_RELEASE = 0x0F11,
};

/* $XDG_RUNTIME_DIR/openwinusb/host.sock, else /tmp/openwinusb-$UID/host.sock. With
 * create_dir, the directory is made (mode 0700 — owner only) when missing. */
int owu_devhost_default_socket(char *out, size_t size, bool create_dir, owu_err *err);

/* Unix-domain stream connection to a device host. Returns the fd or a negative status. */
int owu_devhost_connect(const char *path, owu_err *err);

/* ---- server ------------------------------------------------------------------------------ */

struct owu_devhost_server;

struct owu_devhost_server *owu_devhost_server_new(owu_err *err);
/* Shares a device (holds a reference). info: what enumeration learnt (copied). busid: up to
 * 31 characters, unique (the device's location is the natural choice). */
int owu_devhost_server_add(struct owu_devhost_server *srv, struct owu_usb_device *dev,
                           const struct owu_devinfo *info, const char *busid, owu_err *err);
struct owu_stack;
/* Adds every enumerated device of the stack (busid = its location, "virtual:1-3"); devices
 * that failed enumeration are skipped with a note on stderr. *count (may be NULL) gets how
 * many were added. */
int owu_devhost_server_add_stack(struct owu_devhost_server *srv, struct owu_stack *stack, unsigned *count,
                                 owu_err *err);
/* Listens on path (an existing socket file there is replaced) and starts accepting. */
int owu_devhost_server_start(struct owu_devhost_server *srv, const char *path, owu_err *err);
unsigned owu_devhost_server_protocol_errors(struct owu_devhost_server *srv);
/* Stops accepting, closes every connection (URBs cancelled, claims released), removes the
 * socket file, drops the device references. */
void owu_devhost_server_free(struct owu_devhost_server *srv);

/* ---- client ------------------------------------------------------------------------------ */

/* A bus holding every device of the host at `path`, each attached in shared mode. Register
 * the bus (add it to a stack) before owu_devhost_client_attach_all: arrivals are reported
 * through its hotplug sink. */
struct owu_hcd *owu_devhost_client_create(unsigned bus_number, const char *path, owu_err *err);
/* Lists the host and attaches every device; *count (may be NULL) gets how many. */
int owu_devhost_client_attach_all(struct owu_hcd *hcd, unsigned *count, owu_err *err);

#endif
