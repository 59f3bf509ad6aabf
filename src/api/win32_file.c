/* Device files: CreateFile on a device interface path opens the device function behind it,
 * on a COM port name (or the interface path of a usbser node) the port (src/api/win32_comm.c);
 * CloseHandle closes files and events, CancelIo cancels what was started through a file.
 *
 * WinUSB devices are single-client: an open claims every interface of the function
 * (owu_dev_claim_interface), so a second open of the same device fails with
 * ERROR_ACCESS_DENIED until the first is closed. */
#include "api/win32_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openwinusb/registry.h>

#include "api/process_stack.h"
#include "core/clock.h"

static void release_claims(struct owu_w32_file *f)
{
    for (unsigned i = 0; i < 256; i++)
        if (f->claimed[i / 8] & (1u << (i % 8)))
            owu_dev_release_interface(f->udev, (uint8_t)i);
    memset(f->claimed, 0, sizeof f->claimed);
}

static void file_destroy(struct owu_w32_obj *obj)
{
    struct owu_w32_file *f = (struct owu_w32_file *)obj;
    if (f->wdev)
        owu_winusb_dev_unref(f->wdev);
    release_claims(f);
    owu_usb_device_unref(f->udev);
    owu_devinfo_free(f->info);
    free(f->instance_id);
    free(f->path);
    pthread_cond_destroy(&f->cond);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

/* A REG_DWORD of the instance's Device Parameters, def when absent (a value of another type
 * counts as absent): owu_registry_get_dword leaves def in place on every failure. */
static uint32_t param_dword(struct owu_registry *reg, const char *instance_id, const char *name, uint32_t def)
{
    uint32_t v = def;
    if (reg)
        (void)owu_registry_get_dword(reg, instance_id, name, def, &v, NULL);
    return v;
}

/* What WinUSB reads from Device Parameters when it starts (winusb-api.md §6), over the
 * driver's defaults. */
static void read_power_defaults(struct owu_stack *stack, const char *instance_id,
                                struct owu_winusb_power_defaults *pd)
{
    owu_winusb_power_defaults_init(pd);
    struct owu_registry *reg = stack ? owu_stack_registry(stack) : NULL;
    pd->idle_enabled = param_dword(reg, instance_id, OWU_REGVAL_DEVICE_IDLE_ENABLED, pd->idle_enabled) != 0;
    pd->default_idle_state =
        param_dword(reg, instance_id, OWU_REGVAL_DEFAULT_IDLE_STATE, pd->default_idle_state) != 0;
    pd->idle_timeout_ms = param_dword(reg, instance_id, OWU_REGVAL_DEFAULT_IDLE_TIMEOUT, pd->idle_timeout_ms);
}

/* Claims the interfaces of the function; ERROR_* on failure (nothing left claimed). */
static DWORD claim_function(struct owu_w32_file *f)
{
    struct owu_config *cfg = NULL;
    if (owu_devinfo_config(f->info, 0, &cfg, NULL) != OWU_OK)
        return ERROR_SUCCESS;   /* nothing to claim; WinUsb_Initialize reports the bad device */
    DWORD err = ERROR_SUCCESS;
    for (unsigned i = 0; i < cfg->num_interfaces && err == ERROR_SUCCESS; i++) {
        uint8_t num = cfg->interfaces[i].number;
        if (f->num_interfaces && (num < f->first_interface || num >= f->first_interface + f->num_interfaces))
            continue;
        int rc = owu_dev_claim_interface(f->udev, num, 0);
        if (rc == OWU_OK)
            f->claimed[num / 8] |= (uint8_t)(1u << (num % 8));
        else
            err = rc == OWU_E_BUSY ? ERROR_ACCESS_DENIED : rc == OWU_E_NODEV ? ERROR_FILE_NOT_FOUND
                                                                               : ERROR_GEN_FAILURE;
    }
    owu_config_free(cfg);
    if (err != ERROR_SUCCESS)
        release_claims(f);
    return err;
}

struct owu_usb_device *owu_w32_node_device(const struct owu_devnode *node)
{
    if (node && node->kind == OWU_NODE_FUNCTION)
        node = node->parent;
    return node && node->kind == OWU_NODE_DEVICE ? node->bus_device : NULL;
}

HANDLE owu_w32_open_node(struct owu_stack *stack, struct owu_devnode *node, const char *path, DWORD flags)
{
    struct owu_usb_device *udev = owu_w32_node_device(node);
    if (!udev || !node->info || !node->instance_id || owu_usb_device_gone(udev)) {
        SetLastError(ERROR_FILE_NOT_FOUND);
        return INVALID_HANDLE_VALUE;
    }
    struct owu_w32_file *f = calloc(1, sizeof *f);
    if (!f) {
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return INVALID_HANDLE_VALUE;
    }
    pthread_mutex_init(&f->lock, NULL);
    /* WaitForSingleObject's timeouts count on the monotonic clock. */
    owu_cond_init_monotonic(&f->cond);
    f->obj.destroy = file_destroy;
    f->udev = udev;
    owu_usb_device_ref(udev);
    f->flags = flags;
    f->info = owu_devinfo_clone(node->info);
    f->instance_id = strdup(node->instance_id);
    f->path = path ? strdup(path) : NULL;
    if (node->kind == OWU_NODE_FUNCTION) {
        f->first_interface = node->first_interface;
        f->num_interfaces = node->num_interfaces ? node->num_interfaces : 1;
    }
    read_power_defaults(stack, node->instance_id, &f->power);
    /* Only a node WinUSB drives is WinUSB's to claim; another driver's node opens, but
     * WinUsb_Initialize refuses it. */
    f->winusb = !node->service || strcasecmp(node->service, "WinUsb") == 0;
    DWORD err = (!f->info || !f->instance_id || (path && !f->path)) ? ERROR_NOT_ENOUGH_MEMORY
                : f->winusb ? claim_function(f) : ERROR_SUCCESS;
    if (err != ERROR_SUCCESS) {
        file_destroy(&f->obj);
        SetLastError(err);
        return INVALID_HANDLE_VALUE;
    }
    HANDLE h = owu_w32_handle_add(&f->obj, OWU_W32_FILE);
    if (!h) {
        file_destroy(&f->obj);
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return INVALID_HANDLE_VALUE;
    }
    SetLastError(ERROR_SUCCESS);
    return h;
}

static bool has_device_prefix(const char *p)
{
    return p[0] == '\\' && p[1] == '\\' && (p[2] == '?' || p[2] == '.') && p[3] == '\\';
}

/* "COMn" or "COMn:" with n 1..9 (the DOS device names; "COM10" is a file name on Windows), and
 * "\\.\COMn" / "\\?\COMn" with any n; any case. out gets "COMn". */
static bool com_port_name(const char *path, char out[16])
{
    const char *p = path;
    bool prefixed = has_device_prefix(p);
    if (prefixed)
        p += 4;
    if (strncasecmp(p, "COM", 3) != 0)
        return false;
    p += 3;
    unsigned n = 0, digits = 0;
    for (; *p >= '0' && *p <= '9'; p++, digits++) {
        if (digits == 3)
            return false;
        n = n * 10 + (unsigned)(*p - '0');
    }
    if (!prefixed && p[0] == ':' && p[1] == '\0')
        p++;   /* "COM1:", the DOS spelling */
    if (*p || digits == 0 || n == 0 || path[prefixed ? 7 : 3] == '0' || (!prefixed && n > 9))
        return false;
    snprintf(out, 16, "COM%u", n);
    return true;
}

static bool node_is_usbser(const struct owu_devnode *node)
{
    return node && node->service && strcasecmp(node->service, "usbser") == 0;
}

static HANDLE create_file(const char *path, DWORD disposition, DWORD flags)
{
    if (!path) {
        SetLastError(ERROR_PATH_NOT_FOUND);
        return INVALID_HANDLE_VALUE;
    }
    if (disposition != OPEN_EXISTING && disposition != OPEN_ALWAYS) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return INVALID_HANDLE_VALUE;
    }
    char com[16];
    if (com_port_name(path, com))
        return owu_w32_comm_open(owu_process_stack(NULL), com, flags);
    /* Only device interface paths exist here. */
    if (strlen(path) < 5 || !has_device_prefix(path)) {
        SetLastError(ERROR_FILE_NOT_FOUND);
        return INVALID_HANDLE_VALUE;
    }
    struct owu_stack *stack = owu_process_stack(NULL);
    struct owu_devif_table *t = stack ? owu_stack_interfaces(stack) : NULL;
    struct owu_devif_info info = {0};
    if (!t || !stack || owu_devif_lookup(t, path, &info, NULL) != OWU_OK || !info.enabled) {
        owu_devif_info_clear(&info);
        SetLastError(ERROR_FILE_NOT_FOUND);
        return INVALID_HANDLE_VALUE;
    }
    owu_stack_lock(stack);
    struct owu_devnode *node = owu_stack_find(stack, info.instance_id);
    /* A serial port's interface (GUID_DEVINTERFACE_COMPORT) opens the port. */
    bool comm = node_is_usbser(node);
    HANDLE h = comm ? INVALID_HANDLE_VALUE : owu_w32_open_node(stack, node, info.path, flags);
    owu_stack_unlock(stack);
    if (comm)
        h = owu_w32_comm_open(stack, info.instance_id, flags);
    owu_devif_info_clear(&info);
    return h;
}

HANDLE WINAPI CreateFileA(LPCSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
                          LPSECURITY_ATTRIBUTES lpSecurityAttributes, DWORD dwCreationDisposition,
                          DWORD dwFlagsAndAttributes, HANDLE hTemplateFile)
{
    return create_file(lpFileName, dwCreationDisposition, dwFlagsAndAttributes);
}

HANDLE WINAPI CreateFileW(LPCWSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
                          LPSECURITY_ATTRIBUTES lpSecurityAttributes, DWORD dwCreationDisposition,
                          DWORD dwFlagsAndAttributes, HANDLE hTemplateFile)
{
    if (!lpFileName) {
        SetLastError(ERROR_PATH_NOT_FOUND);
        return INVALID_HANDLE_VALUE;
    }
    char *path = owu_w32_utf16_to_utf8(lpFileName);
    if (!path) {
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return INVALID_HANDLE_VALUE;
    }
    HANDLE h = create_file(path, dwCreationDisposition, dwFlagsAndAttributes);
    free(path);
    return h;
}

/* Files and events; WinUSB, isochronous-buffer, time-tracking and device-information handles
 * have their own release functions and are refused. */
BOOL WINAPI CloseHandle(HANDLE hObject)
{
    /* A COM port is released when its handle closes, even while another thread still holds
     * a reference to the object: its pending requests are aborted first. */
    DWORD saved = GetLastError();
    struct owu_w32_obj *obj = owu_w32_handle_get(hObject, OWU_W32_FILE);
    SetLastError(saved);
    if (obj) {
        bool closed = owu_w32_handle_close(hObject, OWU_W32_FILE, NULL);
        struct owu_w32_file *f = (struct owu_w32_file *)obj;
        if (closed && f->comm)
            owu_w32_comm_cleanup(f);
        owu_w32_obj_unref(obj);
        if (closed)
            return TRUE;
    }
    if (owu_w32_handle_close(hObject, OWU_W32_EVENT, NULL))
        return TRUE;
    return owu_w32_fail(ERROR_INVALID_HANDLE);
}

BOOL WINAPI CancelIo(HANDLE hFile)
{
    struct owu_w32_file *f = (struct owu_w32_file *)owu_w32_handle_get(hFile, OWU_W32_FILE);
    if (!f)
        return FALSE;
    if (f->comm) {
        owu_w32_comm_cancel(f);
        owu_w32_obj_unref(&f->obj);
        return TRUE;
    }
    pthread_mutex_lock(&f->lock);
    struct owu_winusb_dev *wdev = f->wdev;
    if (wdev)
        owu_winusb_dev_ref(wdev);
    pthread_mutex_unlock(&f->lock);
    if (wdev) {
        owu_winusb_dev_abort_all(wdev);
        owu_winusb_dev_unref(wdev);
    }
    owu_w32_obj_unref(&f->obj);
    return TRUE;
}
