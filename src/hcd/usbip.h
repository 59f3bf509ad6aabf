/* USB/IP in user space: a client backend (remote devices appear on a bus of the stack) and
 * a server (devices of the stack shared with USB/IP clients, ours or Linux vhci-hcd).
 * Protocol codec: usbip_proto.h. User documentation: docs/usbip.md.
 */
#ifndef OWU_HCD_USBIP_H
#define OWU_HCD_USBIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openwinusb/error.h>

#include "hcd/hcd.h"
#include "hcd/usbip_proto.h"

/* ---- sockets (usbip_net.c) ------------------------------------------------------------------ */

/* TCP connection to host:port (TCP_NODELAY, SO_KEEPALIVE). Returns the fd or a negative
 * status. */
int owu_usbip_connect(const char *host, unsigned port, owu_err *err);
/* Listening socket on addr:port (port 0 = ephemeral); *bound_port gets the real port. */
int owu_usbip_listen(const char *addr, unsigned port, unsigned *bound_port, owu_err *err);
/* Whole reads/writes; 0 on success, OWU_E_NODEV on EOF or a broken connection. */
int owu_usbip_read_full(int fd, void *buf, size_t len);
int owu_usbip_write_full(int fd, const void *buf, size_t len);
/* As much as the socket takes without blocking; returns the bytes sent. */
size_t owu_usbip_send_now(int fd, const void *buf, size_t len);
/* Splits "HOST[:PORT]" (IPv6 as [addr]:port); default port 3240. host_out gets HOST. */
int owu_usbip_parse_target(const char *target, char *host_out, size_t host_size, unsigned *port,
                           owu_err *err);

/* ---- client (usbip_client.c) ---------------------------------------------------------------- */

/* OP_REQ_DEVLIST on its own connection. *devs (free()) gets *n records. */
int owu_usbip_list(const char *host, unsigned port, struct owu_usbip_device **devs, size_t *n,
                   owu_err *err);

/* A bus whose ports hold devices imported from one server. Owned like every hcd
 * (owu_hcd_destroy). Imports report arrivals through the bus's hotplug sink, so register
 * it (add the bus to a stack) before importing. */
struct owu_hcd *owu_usbip_client_create(unsigned bus_number, const char *host, unsigned port,
                                        owu_err *err);
/* OP_REQ_IMPORT of one busid on a new connection; on success the device gets the next port,
 * its reader thread starts and owu_hcd_device_arrived() runs (enumeration, in this thread).
 * *port_out (may be NULL) gets the port. */
int owu_usbip_client_import(struct owu_hcd *hcd, const char *busid, unsigned *port_out, owu_err *err);
/* Lists the server and imports every device not already imported here; a device busy with
 * another client is skipped with a message on stderr. *count (may be NULL) gets how many. */
int owu_usbip_client_import_all(struct owu_hcd *hcd, unsigned *count, owu_err *err);
/* Detach: close the connection of a port; pending URBs fail with OWU_E_NODEV and the device
 * is reported gone (the server releases it for the next client). */
int owu_usbip_client_detach(struct owu_hcd *hcd, unsigned port);
/* The imported device's record as the server sent it (NULL for a free port). */
const struct owu_usbip_device *owu_usbip_client_record(struct owu_hcd *hcd, unsigned port);

/* ---- server (usbip_server.c) ---------------------------------------------------------------- */

struct owu_usbip_server;

struct owu_usbip_server *owu_usbip_server_new(owu_err *err);
/* Shares a device (holds a reference to it). info: what enumeration learnt about it (the
 * device node's devinfo; the server keeps a copy). busid: up to 31 characters, unique. */
int owu_usbip_server_export(struct owu_usbip_server *srv, struct owu_usb_device *dev,
                            const struct owu_devinfo *info, const char *busid, owu_err *err);
/* Starts serving on addr:port (port 0 = ephemeral; *bound_port gets it). One thread accepts;
 * each connection has a reader thread and a writer thread. */
int owu_usbip_server_start(struct owu_usbip_server *srv, const char *addr, unsigned port,
                           unsigned *bound_port, owu_err *err);
/* Closes every client connection (their URBs are cancelled; devices become free). */
void owu_usbip_server_drop_clients(struct owu_usbip_server *srv);
/* Connections the server has closed because of a protocol error (for tests and logs). */
unsigned owu_usbip_server_protocol_errors(struct owu_usbip_server *srv);
/* Devices currently imported by a client. */
unsigned owu_usbip_server_busy_count(struct owu_usbip_server *srv);
/* Stops accepting, closes every connection, waits for the threads, drops the device
 * references. */
void owu_usbip_server_free(struct owu_usbip_server *srv);

/* A device's USB/IP record from what enumeration learnt (busid and path given). */
int owu_usbip_device_record(struct owu_usb_device *dev, const struct owu_devinfo *info,
                            const char *busid, uint8_t config_value, struct owu_usbip_device *out,
                            owu_err *err);

#endif
