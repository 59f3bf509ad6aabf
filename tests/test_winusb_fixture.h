/* Shared set-up of the WinUSB tests: a private stack with virtual devices, a device node
 * opened as a WinUSB file handle (the internal entry behind CreateFile), and a WinUSB
 * interface handle on it. Included by tests/test_winusb_*.c only. */
#ifndef OWU_TESTS_WINUSB_FIXTURE_H
#define OWU_TESTS_WINUSB_FIXTURE_H

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include <openwinusb/stack.h>
#include <openwinusb/win32/windows.h>
#include <openwinusb/win32/winusb.h>

#include "api/process_stack.h"
#include "api/win32_internal.h"
#include "check.h"
#include "devices/models.h"
#include "hcd/vbus.h"

struct fx {
    struct owu_stack *stack;
    struct owu_devnode *node;
    struct owu_usb_device *udev;
    struct owu_vdev *vd;
    HANDLE file;
    WINUSB_INTERFACE_HANDLE h;
};

/* Every test process: Device Parameters in memory only and no user driver packages, never
 * the user's own stores. */
static inline void fx_env(void)
{
    setenv("OPENWINUSB_REGISTRY", "memory", 1);
    setenv("OPENWINUSB_DRIVER_STORE", "/nonexistent/openwinusb-test-driver-store", 1);
}

static inline struct owu_devnode *fx_find(struct owu_devnode *n, uint16_t vid, uint16_t pid,
                                           enum owu_node_kind kind)
{
    if (!n)
        return NULL;
    if (n->kind == kind && n->vid == vid && n->pid == pid && n->bus_device)
        return n;
    for (struct owu_devnode *c = n->first_child; c; c = c->next_sibling) {
        struct owu_devnode *hit = fx_find(c, vid, pid, kind);
        if (hit)
            return hit;
    }
    return NULL;
}

/* Opens a stack with `buses` ("virtual:fx2"); nothing else. */
static inline bool fx_stack(struct fx *f, const char *buses)
{
    memset(f, 0, sizeof *f);
    f->file = INVALID_HANDLE_VALUE;
    fx_env();
    struct owu_stack_options opt;
    owu_stack_options_default(&opt);
    opt.buses = buses;
    owu_err err = {0};
    if (owu_stack_open(&opt, &f->stack, &err) != OWU_OK) {
        fprintf(stderr, "stack: %s\n", err.msg);
        return false;
    }
    return true;
}

/* Opens the node of (vid, pid, kind) as a file with `flags`; keeps node/udev/vd. */
static inline HANDLE fx_open_file(struct fx *f, uint16_t vid, uint16_t pid, enum owu_node_kind kind, DWORD flags)
{
    owu_stack_lock(f->stack);
    struct owu_devnode *n = fx_find(owu_stack_tree(f->stack), vid, pid, kind);
    HANDLE h = INVALID_HANDLE_VALUE;
    if (n) {
        f->node = n;
        f->udev = n->bus_device;
        f->vd = owu_vbus_port(f->udev->hcd, f->udev->port);
        h = owu_w32_open_node(f->stack, n, NULL, flags);
    }
    owu_stack_unlock(f->stack);
    return h;
}

/* Stack + file + WinUsb_Initialize of the first device with vid:pid. */
static inline bool fx_open(struct fx *f, const char *buses, uint16_t vid, uint16_t pid)
{
    if (!fx_stack(f, buses))
        return false;
    f->file = fx_open_file(f, vid, pid, OWU_NODE_DEVICE, FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OVERLAPPED);
    if (f->file == INVALID_HANDLE_VALUE) {
        fprintf(stderr, "open %04x:%04x failed: %u\n", vid, pid, (unsigned)GetLastError());
        return false;
    }
    if (!WinUsb_Initialize(f->file, &f->h)) {
        fprintf(stderr, "WinUsb_Initialize failed: %u\n", (unsigned)GetLastError());
        return false;
    }
    return true;
}

static inline void fx_close(struct fx *f)
{
    if (f->h)
        WinUsb_Free(f->h);
    if (f->file != INVALID_HANDLE_VALUE && f->file)
        CloseHandle(f->file);
    if (f->stack)
        owu_stack_close(f->stack);
    memset(f, 0, sizeof *f);
}

static inline bool fx_open_fx2(struct fx *f) { return fx_open(f, "virtual:fx2", 0x0547, 0x1002); }

/* Waits up to `ms` for cond() to hold, polling; for set-up steps only (never a verdict on
 * timing). */
static inline bool fx_wait_for(bool (*cond)(void *), void *arg, unsigned ms)
{
    for (unsigned i = 0; i < ms; i++) {
        if (cond(arg))
            return true;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return cond(arg);
}

static inline WINUSB_SETUP_PACKET fx_setup(UCHAR type, UCHAR req, USHORT value, USHORT index, USHORT length)
{
    WINUSB_SETUP_PACKET s;
    s.RequestType = type;
    s.Request = req;
    s.Value = value;
    s.Index = index;
    s.Length = length;
    return s;
}


/* Plugs a test model into the bus of the stack's FX2 (the stack must hold one) and opens it
 * as a WinUSB device: file + WinUsb_Initialize. f gets the new device's node/udev/vd. */
static inline bool fx_open_model(struct fx *f, const struct owu_vdev_model *m, uint16_t vid, uint16_t pid)
{
    if (!fx_stack(f, "virtual:fx2"))
        return false;
    owu_stack_lock(f->stack);
    struct owu_devnode *fx2 = fx_find(owu_stack_tree(f->stack), 0x0547, 0x1002, OWU_NODE_DEVICE);
    struct owu_hcd *hcd = fx2 ? ((struct owu_usb_device *)fx2->bus_device)->hcd : NULL;
    owu_stack_unlock(f->stack);
    owu_err err = {0};
    if (!hcd || owu_vbus_plug(hcd, m, NULL, 0, NULL, &err) != OWU_OK) {
        fprintf(stderr, "plug %s: %s\n", m->name, err.msg);
        return false;
    }
    f->file = fx_open_file(f, vid, pid, OWU_NODE_DEVICE, FILE_FLAG_OVERLAPPED);
    if (f->file == INVALID_HANDLE_VALUE) {
        fprintf(stderr, "open %04x:%04x failed: %u\n", vid, pid, (unsigned)GetLastError());
        return false;
    }
    if (!WinUsb_Initialize(f->file, &f->h)) {
        fprintf(stderr, "WinUsb_Initialize failed: %u\n", (unsigned)GetLastError());
        return false;
    }
    return true;
}

#endif
