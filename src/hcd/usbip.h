/* USB/IP in user space: a client backend (remote devices appear on a bus of the stack) and
 * a server (devices of the stack shared with USB/IP clients, ours or Linux vhci-hcd).
 * Protocol codec: usbip_proto.h. User documentation: docs/usbip.md.
 *
 * Both sides have two modes over the same engine:
 *   exclusive  standard USB/IP over TCP: one client per device (`openwinusb export`,
 *              OPENWINUSB_BUSES=usbip=HOST[:PORT][/BUSID]);
 *   shared     the device host (docs/device-host.md): a Unix-domain socket, the shared
 *              import and CLAIM/RELEASE extension ops, several clients per device with
 *              per-interface claims (`openwinusb host`, OPENWINUSB_BUSES=host[=SOCKET]).
 */
#ifndef OWU_HCD_USBIP_H
#define OWU_HCD_USBIP_H

#include <pthread.h>
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
/* The user's openwinusb runtime directory: $XDG_RUNTIME_DIR/openwinusb when XDG_RUNTIME_DIR
 * is absolute, else /tmp/openwinusb-$UID; OWU_E_INVAL when it does not fit in size bytes. With
 * create_dir it is made (mode 0700 — owner only) when missing and must be a directory of this
 * user (OWU_E_ACCESS). */
int owu_usbip_runtime_dir(char *out, size_t size, bool create_dir, owu_err *err);
/* Device host sockets. Default path: $XDG_RUNTIME_DIR/openwinusb/host.sock, else
 * /tmp/openwinusb-$UID/host.sock; with create_dir the directory is made (mode 0700 — owner
 * only) when missing. */
int owu_usbip_local_default_path(char *out, size_t size, bool create_dir, owu_err *err);
/* Unix-domain stream connection to a device host. Returns the fd or a negative status. */
int owu_usbip_connect_local(const char *path, owu_err *err);
/* Listening Unix-domain socket (umask 077); a stale socket file is replaced, a live host on
 * the path is OWU_E_BUSY. */
int owu_usbip_listen_local(const char *path, owu_err *err);
/* Splits "HOST[:PORT]" (IPv6 as [addr]:port); default port 3240. host_out gets HOST. */
int owu_usbip_parse_target(const char *target, char *host_out, size_t host_size, unsigned *port,
                           owu_err *err);

/* ---- outgoing PDU queue (usbip_net.c), one per connection of client and server ------------- */

/* An encoded PDU (or a hang-up marker: close the connection after what precedes it). */
struct owu_usbip_msg {
    struct owu_usbip_msg *next;
    bool hang_up;
    size_t len;
    size_t off;                      /* bytes already sent */
    uint8_t data[];
};

/* Guarded by its owner's lock; the owner's writer thread drains it. */
struct owu_usbip_outq {
    struct owu_usbip_msg *head, *tail;
    size_t bytes;                    /* queued, not yet written */
    bool writing;                    /* the writer is sending (outside the lock) */
};

/* A message of len bytes (NULL when out of memory). */
struct owu_usbip_msg *owu_usbip_msg_new(size_t len);
/* Sends m (takes ownership), the owner's lock held. When nothing is queued or being written
 * it goes out directly without blocking (one thread hop less); what the socket does not take
 * at once is queued and the writer woken (cond broadcast). */
void owu_usbip_outq_send(struct owu_usbip_outq *q, int fd, pthread_cond_t *cond, struct owu_usbip_msg *m);
/* The writer thread's loop, entered and left with *lock held: waits on cond for queued
 * messages and writes them to fd outside the lock, broadcasting cond after each batch (room
 * for a producer waiting for it). It returns once *stop is set: at once (flush false; what is
 * still queued is left to owu_usbip_outq_clear) or when nothing is left queued (flush true).
 * A failed write or a hang-up marker shuts fd down (the reader sees it) and sets *failed
 * (may be NULL). */
void owu_usbip_outq_run(struct owu_usbip_outq *q, int fd, pthread_mutex_t *lock, pthread_cond_t *cond,
                        const bool *stop, bool flush, bool *failed);
/* Frees whatever is still queued. */
void owu_usbip_outq_clear(struct owu_usbip_outq *q);

/* The URB phase's next message from fd: an extension op (returns 1, *op filled) or an URB
 * PDU (returns 0, *pdu filled). OWU_E_NODEV when the connection ended (err untouched),
 * another negative status for a malformed header (err says why). */
int owu_usbip_read_next(int fd, struct owu_usbip_op_header *op, struct owu_usbip_pdu *pdu, owu_err *err);

/* ---- client (usbip_client.c) ---------------------------------------------------------------- */

/* OP_REQ_DEVLIST on its own connection. *devs (free()) gets *n records. */
int owu_usbip_list(const char *host, unsigned port, struct owu_usbip_device **devs, size_t *n,
                   owu_err *err);

/* A bus whose ports hold devices imported from one server. Owned like every hcd
 * (owu_hcd_destroy). Imports report arrivals through the bus's hotplug sink, so register
 * it (add the bus to a stack) before importing. */
struct owu_hcd *owu_usbip_client_create(unsigned bus_number, const char *host, unsigned port,
                                        owu_err *err);
/* The same bus in shared mode: every device of the device host at `path` (NULL or "": the
 * default path) is attached with the shared import; claim_interface / release_interface send
 * CLAIM / RELEASE, and SET_CONFIGURATION of the active configuration is a local no-op.
 * Devices sit at "host:N-P". Attach them with owu_usbip_client_import_all. */
struct owu_hcd *owu_usbip_client_create_local(unsigned bus_number, const char *path, owu_err *err);
/* OP_REQ_IMPORT (shared mode: the shared import) of one busid on a new connection; on success the device gets the next port,
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
struct owu_stack;
/* Exports every enumerated device of the stack (busid = its location, "virtual:1-3"); devices
 * that failed enumeration are skipped with a note on stderr. *count (may be NULL) gets how
 * many were added. */
int owu_usbip_server_export_stack(struct owu_usbip_server *srv, struct owu_stack *stack, unsigned *count,
                                  owu_err *err);
/* Starts serving in exclusive mode on addr:port (port 0 = ephemeral; *bound_port gets it).
 * One thread accepts; each connection has a reader thread and a writer thread. */
int owu_usbip_server_start(struct owu_usbip_server *srv, const char *addr, unsigned port,
                           unsigned *bound_port, owu_err *err);
/* Starts serving in shared mode (the device host) on the Unix-domain socket `path` (an
 * existing socket file there is replaced; removed again by owu_usbip_server_free). */
int owu_usbip_server_start_local(struct owu_usbip_server *srv, const char *path, owu_err *err);
/* Closes every client connection (their URBs are cancelled, claims released; devices become
 * free). */
void owu_usbip_server_drop_clients(struct owu_usbip_server *srv);
/* Connections the server has closed because of a protocol error (for tests and logs). */
unsigned owu_usbip_server_protocol_errors(struct owu_usbip_server *srv);
/* Devices currently imported by a client (exclusive mode). */
unsigned owu_usbip_server_busy_count(struct owu_usbip_server *srv);
/* Stops accepting, closes every connection, waits for the threads, removes a Unix socket
 * file, drops the device references. */
void owu_usbip_server_free(struct owu_usbip_server *srv);

/* A device's USB/IP record from what enumeration learnt (busid and path given). */
int owu_usbip_device_record(struct owu_usb_device *dev, const struct owu_devinfo *info,
                            const char *busid, uint8_t config_value, struct owu_usbip_device *out,
                            owu_err *err);

#endif
