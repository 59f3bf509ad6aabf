/* Inside the Win32 subset and the WinUSB API: the handle table, status mapping, device
 * file objects, OVERLAPPED completion, UTF-16 conversion and discovery.
 *
 * Handles are small numbers in a table with a type tag and a generation, so a closed, stale
 * or wrong-kind handle is refused with ERROR_INVALID_HANDLE instead of being dereferenced.
 * Every object is reference counted: a lookup takes a reference, the table holds one until
 * the handle is closed, and the object is destroyed when the last one goes.
 */
#ifndef OWU_API_WIN32_INTERNAL_H
#define OWU_API_WIN32_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openwinusb/win32/windows.h>

#include <openwinusb/devif.h>
#include <openwinusb/guid.h>
#include <openwinusb/stack.h>
#include <openwinusb/usbser.h>

#include "drivers/winusb/winusb_drv.h"

_Static_assert(sizeof(GUID) == sizeof(struct owu_guid), "GUID layout");

/* ---- handle table ---------------------------------------------------------------------- */

enum owu_win32_kind {
    OWU_W32_EVENT = 1,
    OWU_W32_FILE,          /* a device or a COM port opened with CreateFile (COM ports:
                              struct owu_w32_file with comm set, so GetOverlappedResult,
                              WaitForSingleObject and CancelIo take both) */
    OWU_W32_WINUSB,        /* WINUSB_INTERFACE_HANDLE */
    OWU_W32_ISOCH,         /* WINUSB_ISOCH_BUFFER_HANDLE */
    OWU_W32_TIMESYNC,      /* time-tracking handle */
    OWU_W32_DEVINFO,       /* HDEVINFO */
};

struct owu_w32_obj {
    enum owu_win32_kind kind;
    int refs;                                  /* guarded by the table lock */
    void (*destroy)(struct owu_w32_obj *obj);  /* runs when the last reference goes */
};

/* Adds an object (with one reference, the table's) and returns its handle, or NULL when the
 * table is full or out of memory (the object is then not destroyed: the caller frees it). */
HANDLE owu_w32_handle_add(struct owu_w32_obj *obj, enum owu_win32_kind kind);
/* The object behind a handle of that kind, with a reference; NULL when the handle is not
 * one (and then GetLastError is ERROR_INVALID_HANDLE). */
struct owu_w32_obj *owu_w32_handle_get(HANDLE h, enum owu_win32_kind kind);
void owu_w32_obj_ref(struct owu_w32_obj *obj);
void owu_w32_obj_unref(struct owu_w32_obj *obj);
/* Removes the handle (the table's reference goes); false when it is not a handle of that
 * kind. *kind_out (may be NULL) gets the kind for kind 0 = "any". */
bool owu_w32_handle_close(HANDLE h, enum owu_win32_kind kind, struct owu_w32_obj **obj_out);
/* Live handles (tests check for leaks). */
size_t owu_w32_handle_count(void);

/* ---- status mapping ---------------------------------------------------------------------- */

/* The Win32 error and the NTSTATUS (OVERLAPPED.Internal) of an owu status. */
DWORD owu_w32_error_of(int status);
uint32_t owu_w32_ntstatus_of(int status);
DWORD owu_w32_error_of_ntstatus(uint32_t ntstatus);
/* SetLastError(err) and return FALSE. */
BOOL owu_w32_fail(DWORD err);

/* ---- events --------------------------------------------------------------------------------- */

/* SetEvent on a handle that may have been closed meanwhile (then nothing happens). */
void owu_w32_event_set(HANDLE h);
void owu_w32_event_reset(HANDLE h);

/* ---- device files ------------------------------------------------------------------------- */

struct owu_w32_file {
    struct owu_w32_obj obj;
    struct owu_usb_device *udev;      /* reference */
    struct owu_devinfo *info;         /* clone */
    char *instance_id;
    char *path;                       /* as opened (NULL for the test entry) */
    uint8_t first_interface;
    unsigned num_interfaces;          /* 0: every interface of the device */
    uint8_t claimed[32];              /* interface numbers this open claimed */
    DWORD flags;                      /* dwFlagsAndAttributes */
    bool winusb;                      /* WinUSB drives the node (or no driver was chosen) */
    struct owu_winusb_power_defaults power;

    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool signaled;                    /* the file object's own event */
    struct owu_winusb_dev *wdev;      /* WinUsb_Initialize's device, one reference */
    struct owu_w32_comm *comm;        /* set for a COM port (then udev and info are NULL) */
};

/* Opens a device node of `stack` as a file (claims its interfaces; WinUSB's power settings
 * come from the stack's Device Parameters): INVALID_HANDLE_VALUE with GetLastError set
 * (ERROR_ACCESS_DENIED when another open holds them, ERROR_FILE_NOT_FOUND otherwise). Call
 * with the stack locked; `path` may be NULL. This is CreateFile's work after the path was
 * resolved, and the tests' entry to a node. */
/* The live device behind a device node or a function of one (functions share their
 * device's); NULL for other nodes. */
struct owu_usb_device *owu_w32_node_device(const struct owu_devnode *node);
HANDLE owu_w32_open_node(struct owu_stack *stack, struct owu_devnode *node, const char *path, DWORD flags);

/* ---- COM ports (src/api/win32_comm*.c, docs/comm-api.md) ---------------------------------- */

enum { OWU_W32_COMM_READ, OWU_W32_COMM_WRITE, OWU_W32_COMM_WAIT, OWU_W32_COMM_QUEUES };

/* One ReadFile, WriteFile or WaitCommEvent: queued, run by its queue's thread, completed
 * into the OVERLAPPED or to the caller waiting on `done`. */
struct owu_w32_comm_req {
    struct owu_w32_comm_req *next;
    int queue;
    uint8_t *buf;                     /* read/write: the caller's buffer */
    size_t len;
    LPDWORD evmask;                   /* wait: the caller's event mask */
    LPOVERLAPPED ov;                  /* NULL: synchronous, the caller waits on done */
    HANDLE event;
    COMMTIMEOUTS to;                  /* the timeouts when the request was made */
    uint64_t gen;                     /* its queue's abort generation then */
    uint64_t mask_gen;                /* wait: the SetCommMask generation then */
    bool done;
    int status;                       /* owu status; OWU_E_CANCELLED = aborted */
    size_t bytes;
    DWORD events;
};

struct owu_w32_comm_queue {
    struct owu_w32_comm *comm;
    int index;
    struct owu_w32_comm_req *head, *tail;
    unsigned outstanding;             /* requests queued or running, not yet completed */
    bool busy;                        /* the thread runs a request (until it completed) */
    uint64_t busy_gen, busy_mask_gen; /* that request's gen and mask_gen */
    uint64_t abort_gen;               /* requests made before a bump are aborted */
    pthread_t thread;
    bool started;
};

struct owu_w32_comm {
    struct owu_w32_file *file;        /* the file object this belongs to */
    struct owu_usbser_port *port;     /* NULL once the last handle is closed */
    pthread_mutex_t lock;             /* guards everything below */
    pthread_cond_t cond;              /* CLOCK_MONOTONIC; every state change broadcasts */
    DCB dcb;
    COMMTIMEOUTS timeouts;
    DWORD mask;                       /* SetCommMask */
    uint64_t mask_gen;
    DWORD in_queue, out_queue;        /* SetupComm, recorded */
    struct owu_usbser_counters seen;  /* counters at the last error check */
    DWORD errors;                     /* CE_* not yet reported by ClearCommError */
    size_t out_pending;               /* bytes of writes queued or in progress */
    unsigned users;                   /* calls between comm_begin and comm_end */
    bool closing;
    struct owu_w32_comm_queue q[OWU_W32_COMM_QUEUES];
};

/* Opens port `name` (as owu_usbser_find takes it) of the process stack as a COM port file:
 * INVALID_HANDLE_VALUE with GetLastError ERROR_FILE_NOT_FOUND (no such port),
 * ERROR_ACCESS_DENIED (already open), ERROR_NOT_ENOUGH_MEMORY, ERROR_GEN_FAILURE. Call
 * without the stack lock. */
HANDLE owu_w32_comm_open(struct owu_stack *stack, const char *name, DWORD flags);
/* CloseHandle's part: aborts every request, waits for the calls in progress, closes the
 * port. The object itself lives on until its last reference goes. */
void owu_w32_comm_cleanup(struct owu_w32_file *file);
/* CancelIo's part: every queued and running request completes with ERROR_OPERATION_ABORTED. */
void owu_w32_comm_cancel(struct owu_w32_file *file);
/* The COM port behind a handle with a reference on its file and a call registered
 * (comm_end releases both); NULL with GetLastError set: ERROR_INVALID_HANDLE (not a COM
 * port, closed), ERROR_ACCESS_DENIED (the device was removed). */
struct owu_w32_comm *owu_w32_comm_begin(HANDLE h);
void owu_w32_comm_end(struct owu_w32_comm *c);
/* Folds SERIAL_STATE errors counted since the last call into c->errors (lock held). */
void owu_w32_comm_update_errors_locked(struct owu_w32_comm *c);
/* The initial DCB from the device's line coding (lock not needed: before publication). */
void owu_w32_comm_default_dcb(struct owu_w32_comm *c);

/* ---- OVERLAPPED -------------------------------------------------------------------------------- */

/* A request started with an OVERLAPPED: Internal = STATUS_PENDING, InternalHigh = 0, the event
 * (or the file's own event when hEvent is NULL) reset. Returns the event handle to signal at
 * completion (captured now: the OVERLAPPED may be gone by then). */
HANDLE owu_w32_overlapped_start(struct owu_w32_file *file, LPOVERLAPPED ov);
/* Completion: InternalHigh, then Internal, then the event; the file's event too. */
void owu_w32_overlapped_finish(struct owu_w32_file *file, LPOVERLAPPED ov, HANDLE event,
                               int status, size_t bytes);
/* A request refused before it started: Internal gets its status, no event is signalled (the
 * file's waiters are woken to see it). */
void owu_w32_overlapped_refuse(struct owu_w32_file *file, LPOVERLAPPED ov, int status);
/* GetOverlappedResult on a file object: waits on the file the request was started on. */
BOOL owu_w32_overlapped_result(struct owu_w32_file *file, LPOVERLAPPED ov, LPDWORD bytes, BOOL wait);

/* ---- UTF-16 ----------------------------------------------------------------------------------- */

/* NUL-terminated UTF-16 to a new UTF-8 string (unpaired surrogates become U+FFFD); NULL when
 * out of memory or s is NULL. */
char *owu_w32_utf16_to_utf8(const WCHAR *s);
/* UTF-8 to UTF-16 into out (at most outcount units including the NUL); returns the units
 * needed including the NUL, whether or not they fit. */
size_t owu_w32_utf8_to_utf16(const char *s, WCHAR *out, size_t outcount);

/* ---- discovery ----------------------------------------------------------------------------------- */

/* The interfaces of a class (NULL = all) and instance (NULL = all); present_only keeps those
 * whose device is in the tree now. Release with owu_devif_infos_free. */
int owu_w32_query_interfaces(const GUID *cls, const char *instance_id, bool present_only,
                             struct owu_devif_info **out, size_t *count);

#endif
