/* Device files: CreateFile on a device interface path opens the device function behind it,
 * CloseHandle closes files and events, CancelIo cancels what was started through a file.
 *
 * WinUSB devices are single-client: an open claims every interface of the function
 * (owu_dev_claim_interface), so a second open of the same device fails with
 * ERROR_ACCESS_DENIED until the first is closed. */
#include "api/win32_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openwinusb/registry.h>

#include "api/process_stack.h"

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

/* A REG_DWORD of the instance's Device Parameters; the node's own descriptor properties when
 * the store has no such value (the PnP manager copies them there on Windows). */
static uint32_t param_dword(struct owu_registry *reg, const struct owu_devnode *node, const char *name,
                            uint32_t def)
{
    if (reg && node->instance_id) {
        struct owu_property p;
        if (owu_registry_get_value(reg, node->instance_id, name, &p, NULL) == OWU_OK) {
            uint32_t v = def;
            if (p.type == OWU_REG_DWORD && p.len == 4)
                v = owu_le32(p.data);
            owu_registry_property_clear(&p);
            return v;
        }
    }
    const struct owu_property *np = owu_devnode_find_property(node, name);
    if (np && np->type == OWU_REG_DWORD && np->len == 4)
        return owu_le32(np->data);
    return def;
}

static void read_power_defaults(const struct owu_devnode *node, struct owu_winusb_power_defaults *pd)
{
    owu_winusb_power_defaults_init(pd);
    struct owu_registry *reg = owu_process_registry();
    pd->idle_enabled = param_dword(reg, node, OWU_REGVAL_DEVICE_IDLE_ENABLED, 0) != 0;
    pd->default_idle_state = param_dword(reg, node, OWU_REGVAL_DEFAULT_IDLE_STATE, 1) != 0;
    pd->idle_timeout_ms = param_dword(reg, node, OWU_REGVAL_DEFAULT_IDLE_TIMEOUT,
                                      OWU_WINUSB_DEFAULT_IDLE_TIMEOUT_MS);
}

/* Claims the interfaces of the function; ERROR_* on failure (nothing left claimed). */
static DWORD claim_function(struct owu_w32_file *f)
{
    struct owu_config *cfg = NULL;
    if (f->info->num_configs == 0 ||
        owu_config_parse(f->info->configs[0].data, f->info->configs[0].len, &cfg, NULL) != OWU_OK)
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

HANDLE owu_w32_open_node(struct owu_devnode *node, const char *path, DWORD flags)
{
    if (!node || (node->kind != OWU_NODE_DEVICE && node->kind != OWU_NODE_FUNCTION) || !node->bus_device ||
        !node->info || !node->instance_id) {
        SetLastError(ERROR_FILE_NOT_FOUND);
        return INVALID_HANDLE_VALUE;
    }
    struct owu_usb_device *udev = node->bus_device;
    if (owu_usb_device_gone(udev)) {
        SetLastError(ERROR_FILE_NOT_FOUND);
        return INVALID_HANDLE_VALUE;
    }
    struct owu_w32_file *f = calloc(1, sizeof *f);
    if (!f) {
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return INVALID_HANDLE_VALUE;
    }
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->cond, NULL);
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
    read_power_defaults(node, &f->power);
    DWORD err = (!f->info || !f->instance_id || (path && !f->path)) ? ERROR_NOT_ENOUGH_MEMORY : claim_function(f);
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
    /* Only device interface paths exist here. */
    if (strlen(path) < 5 || !has_device_prefix(path)) {
        SetLastError(ERROR_FILE_NOT_FOUND);
        return INVALID_HANDLE_VALUE;
    }
    owu_process_sync_interfaces();
    struct owu_devif_table *t = owu_process_devif();
    struct owu_stack *stack = owu_process_stack(NULL);
    struct owu_devif_info info = {0};
    if (!t || !stack || owu_devif_lookup(t, path, &info, NULL) != OWU_OK || !info.enabled) {
        owu_devif_info_clear(&info);
        SetLastError(ERROR_FILE_NOT_FOUND);
        return INVALID_HANDLE_VALUE;
    }
    owu_stack_lock(stack);
    struct owu_devnode *node = owu_stack_find(stack, info.instance_id);
    HANDLE h = owu_w32_open_node(node, info.path, flags);
    owu_stack_unlock(stack);
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
    if (owu_w32_handle_close(hObject, OWU_W32_FILE, NULL) || owu_w32_handle_close(hObject, OWU_W32_EVENT, NULL))
        return TRUE;
    return owu_w32_fail(ERROR_INVALID_HANDLE);
}

BOOL WINAPI CancelIo(HANDLE hFile)
{
    struct owu_w32_file *f = (struct owu_w32_file *)owu_w32_handle_get(hFile, OWU_W32_FILE);
    if (!f)
        return FALSE;
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
