/* Inside the WinUSB API: the object behind a WINUSB_INTERFACE_HANDLE and the request context
 * that turns a driver request into OVERLAPPED completion or a synchronous return. */
#ifndef OWU_API_WINUSB_API_INTERNAL_H
#define OWU_API_WINUSB_API_INTERNAL_H

#include <openwinusb/win32/winusb.h>

#include "api/win32_internal.h"

struct owu_w32_winusb {
    struct owu_w32_obj obj;
    struct owu_w32_file *file;        /* reference */
    struct owu_winusb_intf *intf;     /* acquired */
    bool is_default;                  /* from WinUsb_Initialize */
};

/* The object of an interface handle with a reference, or NULL with ERROR_INVALID_HANDLE. */
struct owu_w32_winusb *owu_w32_winusb_get(WINUSB_INTERFACE_HANDLE h);

/* Runs a driver request the Win32 way: with an OVERLAPPED it returns FALSE with
 * ERROR_IO_PENDING and completes through the OVERLAPPED; without one it waits and returns
 * the outcome, *transferred (may be NULL) getting the byte count. `submit` queues the
 * request (owu_winusb_submit or an isochronous submit) and returns an owu status; a
 * refusal is returned at once with its error. Isochronous reads copy their packet results
 * into descs before completing. Takes ownership of req. */
typedef int (*owu_w32_submit_fn)(struct owu_winusb_req *req, void *arg);
BOOL owu_w32_run_request(struct owu_w32_winusb *h, struct owu_winusb_req *req, owu_w32_submit_fn submit,
                         void *arg, LPOVERLAPPED ov, PULONG transferred,
                         PUSBD_ISO_PACKET_DESCRIPTOR descs);

#endif
