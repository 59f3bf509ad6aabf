/* SetupAPI device-interface discovery: a device information set is a snapshot of the
 * interfaces of a class (owu_w32_query_interfaces), enumerated by index; the detail call
 * gives the symbolic link that CreateFile opens. cbSize rules are Windows' (64-bit sizes):
 * a structure whose cbSize is not sizeof the structure fails with ERROR_INVALID_USER_BUFFER. */
#include "api/win32_internal.h"

#include <openwinusb/win32/setupapi.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct w32_devinfo {
    struct owu_w32_obj obj;
    struct owu_devif_info *ifs;
    size_t n;
    char **devices;          /* distinct instance IDs, in order of first appearance */
    size_t ndevices;
};

static void devinfo_destroy(struct owu_w32_obj *obj)
{
    struct w32_devinfo *d = (struct w32_devinfo *)obj;
    owu_devif_infos_free(d->ifs, d->n);
    for (size_t i = 0; i < d->ndevices; i++)
        free(d->devices[i]);
    free(d->devices);
    free(d);
}

static bool under_enumerator(const char *instance_id, const char *enumerator)
{
    size_t n = strlen(enumerator);
    return strncasecmp(instance_id, enumerator, n) == 0 && (instance_id[n] == '\0' || instance_id[n] == '\\');
}

static HDEVINFO get_class_devs(const GUID *cls, const char *enumerator, DWORD flags)
{
    if (!(flags & DIGCF_DEVICEINTERFACE)) {
        SetLastError(ERROR_INVALID_FLAGS);   /* only device-interface sets exist here */
        return INVALID_HANDLE_VALUE;
    }
    if (!cls && !(flags & DIGCF_ALLCLASSES)) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return INVALID_HANDLE_VALUE;
    }
    struct w32_devinfo *d = calloc(1, sizeof *d);
    if (!d || owu_w32_query_interfaces((flags & DIGCF_ALLCLASSES) ? NULL : cls, NULL, (flags & DIGCF_PRESENT) != 0,
                                       &d->ifs, &d->n) != OWU_OK) {
        free(d);
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return INVALID_HANDLE_VALUE;
    }
    d->obj.destroy = devinfo_destroy;
    size_t k = 0;
    for (size_t i = 0; i < d->n; i++) {
        if (enumerator && *enumerator && !under_enumerator(d->ifs[i].instance_id, enumerator)) {
            owu_devif_info_clear(&d->ifs[i]);
            continue;
        }
        d->ifs[k++] = d->ifs[i];
    }
    d->n = k;
    d->devices = calloc(d->n ? d->n : 1, sizeof *d->devices);
    bool oom = !d->devices;
    for (size_t i = 0; i < d->n && !oom; i++) {
        bool seen = false;
        for (size_t j = 0; j < d->ndevices && !seen; j++)
            seen = strcasecmp(d->devices[j], d->ifs[i].instance_id) == 0;
        if (!seen && !(d->devices[d->ndevices++] = strdup(d->ifs[i].instance_id)))
            oom = true;
    }
    HANDLE h = oom ? NULL : owu_w32_handle_add(&d->obj, OWU_W32_DEVINFO);
    if (!h) {
        devinfo_destroy(&d->obj);
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return INVALID_HANDLE_VALUE;
    }
    SetLastError(ERROR_SUCCESS);
    return h;
}

HDEVINFO WINAPI SetupDiGetClassDevsA(const GUID *ClassGuid, PCSTR Enumerator, HWND hwndParent, DWORD Flags)
{
    return get_class_devs(ClassGuid, Enumerator, Flags);
}

HDEVINFO WINAPI SetupDiGetClassDevsW(const GUID *ClassGuid, PCWSTR Enumerator, HWND hwndParent, DWORD Flags)
{
    char *e = NULL;
    if (Enumerator && !(e = owu_w32_utf16_to_utf8(Enumerator))) {
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return INVALID_HANDLE_VALUE;
    }
    HDEVINFO h = get_class_devs(ClassGuid, e, Flags);
    free(e);
    return h;
}

static struct w32_devinfo *get_set(HDEVINFO h)
{
    return (struct w32_devinfo *)owu_w32_handle_get(h, OWU_W32_DEVINFO);
}

static size_t device_index(const struct w32_devinfo *d, const char *instance_id)
{
    for (size_t j = 0; j < d->ndevices; j++)
        if (strcasecmp(d->devices[j], instance_id) == 0)
            return j;
    return 0;
}

static void fill_devinfo(const struct w32_devinfo *d, size_t dev_index, PSP_DEVINFO_DATA out)
{
    memset(&out->ClassGuid, 0, sizeof out->ClassGuid);   /* setup classes are not tracked */
    out->DevInst = (DWORD)(dev_index + 1);
    out->Reserved = dev_index + 1;
}

/* The device of an SP_DEVINFO_DATA from this set, or SIZE_MAX. */
static size_t devinfo_device(const struct w32_devinfo *d, const SP_DEVINFO_DATA *di)
{
    return di->Reserved >= 1 && di->Reserved <= d->ndevices ? (size_t)di->Reserved - 1 : SIZE_MAX;
}

BOOL WINAPI SetupDiEnumDeviceInterfaces(HDEVINFO DeviceInfoSet, PSP_DEVINFO_DATA DeviceInfoData,
                                        const GUID *InterfaceClassGuid, DWORD MemberIndex,
                                        PSP_DEVICE_INTERFACE_DATA DeviceInterfaceData)
{
    struct w32_devinfo *d = get_set(DeviceInfoSet);
    if (!d)
        return FALSE;
    BOOL ok = FALSE;
    size_t only = SIZE_MAX;
    if (!DeviceInterfaceData || !InterfaceClassGuid) {
        ok = owu_w32_fail(ERROR_INVALID_PARAMETER);
        goto out;
    }
    if (DeviceInterfaceData->cbSize != sizeof(SP_DEVICE_INTERFACE_DATA) ||
        (DeviceInfoData && DeviceInfoData->cbSize != sizeof(SP_DEVINFO_DATA))) {
        ok = owu_w32_fail(ERROR_INVALID_USER_BUFFER);
        goto out;
    }
    if (DeviceInfoData && (only = devinfo_device(d, DeviceInfoData)) == SIZE_MAX) {
        ok = owu_w32_fail(ERROR_INVALID_PARAMETER);
        goto out;
    }
    DWORD seen = 0;
    for (size_t i = 0; i < d->n; i++) {
        if (memcmp(&d->ifs[i].class_guid, InterfaceClassGuid, sizeof(GUID)) != 0)
            continue;
        if (only != SIZE_MAX && strcasecmp(d->ifs[i].instance_id, d->devices[only]) != 0)
            continue;
        if (seen++ != MemberIndex)
            continue;
        memcpy(&DeviceInterfaceData->InterfaceClassGuid, &d->ifs[i].class_guid, sizeof(GUID));
        DeviceInterfaceData->Flags = d->ifs[i].enabled ? SPINT_ACTIVE : 0;
        DeviceInterfaceData->Reserved = i + 1;
        SetLastError(ERROR_SUCCESS);
        ok = TRUE;
        goto out;
    }
    ok = owu_w32_fail(ERROR_NO_MORE_ITEMS);
out:
    owu_w32_obj_unref(&d->obj);
    return ok;
}

/* Shared by the A and W detail calls: the interface, checks of the optional SP_DEVINFO_DATA. */
static const struct owu_devif_info *detail_entry(struct w32_devinfo *d, PSP_DEVICE_INTERFACE_DATA ifd,
                                                 PSP_DEVINFO_DATA di, bool has_buffer, DWORD size, DWORD *err)
{
    if (!ifd) {
        *err = ERROR_INVALID_PARAMETER;
        return NULL;
    }
    if (ifd->cbSize != sizeof(SP_DEVICE_INTERFACE_DATA) || (!has_buffer && size != 0) ||
        (di && di->cbSize != sizeof(SP_DEVINFO_DATA))) {
        *err = ERROR_INVALID_USER_BUFFER;
        return NULL;
    }
    if (ifd->Reserved < 1 || ifd->Reserved > d->n) {
        *err = ERROR_INVALID_PARAMETER;
        return NULL;
    }
    const struct owu_devif_info *e = &d->ifs[ifd->Reserved - 1];
    if (di)
        fill_devinfo(d, device_index(d, e->instance_id), di);
    *err = ERROR_SUCCESS;
    return e;
}

/* The A and W detail calls: detail is a PSP_DEVICE_INTERFACE_DETAIL_DATA_W when wide. */
static BOOL interface_detail(HDEVINFO set, PSP_DEVICE_INTERFACE_DATA ifd, void *detail, DWORD size,
                             PDWORD required, PSP_DEVINFO_DATA di, bool wide)
{
    struct w32_devinfo *d = get_set(set);
    if (!d)
        return FALSE;
    PSP_DEVICE_INTERFACE_DETAIL_DATA_A da = detail;
    PSP_DEVICE_INTERFACE_DETAIL_DATA_W dw = detail;
    DWORD err;
    BOOL ok = FALSE;
    const struct owu_devif_info *e = detail_entry(d, ifd, di, detail != NULL, size, &err);
    if (!e) {
        ok = owu_w32_fail(err);
    } else if (detail && (wide ? dw->cbSize != sizeof(SP_DEVICE_INTERFACE_DETAIL_DATA_W)
                               : da->cbSize != sizeof(SP_DEVICE_INTERFACE_DETAIL_DATA_A))) {
        ok = owu_w32_fail(ERROR_INVALID_USER_BUFFER);
    } else {
        size_t units = wide ? owu_w32_utf8_to_utf16(e->path, NULL, 0) : strlen(e->path) + 1;
        size_t need = wide ? offsetof(SP_DEVICE_INTERFACE_DETAIL_DATA_W, DevicePath) + units * sizeof(WCHAR)
                           : offsetof(SP_DEVICE_INTERFACE_DETAIL_DATA_A, DevicePath) + units;
        if (required)
            *required = (DWORD)need;
        if (!detail || size < need) {
            ok = owu_w32_fail(ERROR_INSUFFICIENT_BUFFER);
        } else {
            if (wide)
                owu_w32_utf8_to_utf16(e->path, dw->DevicePath, units);
            else
                memcpy(da->DevicePath, e->path, units);
            SetLastError(ERROR_SUCCESS);
            ok = TRUE;
        }
    }
    owu_w32_obj_unref(&d->obj);
    return ok;
}

BOOL WINAPI SetupDiGetDeviceInterfaceDetailA(HDEVINFO DeviceInfoSet, PSP_DEVICE_INTERFACE_DATA DeviceInterfaceData,
                                             PSP_DEVICE_INTERFACE_DETAIL_DATA_A DeviceInterfaceDetailData,
                                             DWORD DeviceInterfaceDetailDataSize, PDWORD RequiredSize,
                                             PSP_DEVINFO_DATA DeviceInfoData)
{
    return interface_detail(DeviceInfoSet, DeviceInterfaceData, DeviceInterfaceDetailData,
                            DeviceInterfaceDetailDataSize, RequiredSize, DeviceInfoData, false);
}

BOOL WINAPI SetupDiGetDeviceInterfaceDetailW(HDEVINFO DeviceInfoSet, PSP_DEVICE_INTERFACE_DATA DeviceInterfaceData,
                                             PSP_DEVICE_INTERFACE_DETAIL_DATA_W DeviceInterfaceDetailData,
                                             DWORD DeviceInterfaceDetailDataSize, PDWORD RequiredSize,
                                             PSP_DEVINFO_DATA DeviceInfoData)
{
    return interface_detail(DeviceInfoSet, DeviceInterfaceData, DeviceInterfaceDetailData,
                            DeviceInterfaceDetailDataSize, RequiredSize, DeviceInfoData, true);
}

BOOL WINAPI SetupDiEnumDeviceInfo(HDEVINFO DeviceInfoSet, DWORD MemberIndex, PSP_DEVINFO_DATA DeviceInfoData)
{
    struct w32_devinfo *d = get_set(DeviceInfoSet);
    if (!d)
        return FALSE;
    BOOL ok;
    if (!DeviceInfoData)
        ok = owu_w32_fail(ERROR_INVALID_PARAMETER);
    else if (DeviceInfoData->cbSize != sizeof(SP_DEVINFO_DATA))
        ok = owu_w32_fail(ERROR_INVALID_USER_BUFFER);
    else if (MemberIndex >= d->ndevices)
        ok = owu_w32_fail(ERROR_NO_MORE_ITEMS);
    else {
        fill_devinfo(d, MemberIndex, DeviceInfoData);
        SetLastError(ERROR_SUCCESS);
        ok = TRUE;
    }
    owu_w32_obj_unref(&d->obj);
    return ok;
}

/* The instance ID of a device of the set; NULL with GetLastError set. */
static const char *instance_of(struct w32_devinfo *d, PSP_DEVINFO_DATA di)
{
    if (!di) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return NULL;
    }
    if (di->cbSize != sizeof(SP_DEVINFO_DATA)) {
        SetLastError(ERROR_INVALID_USER_BUFFER);
        return NULL;
    }
    size_t i = devinfo_device(d, di);
    if (i == SIZE_MAX) {
        SetLastError(ERROR_INVALID_PARAMETER);
        return NULL;
    }
    return d->devices[i];
}

/* The A and W instance-ID calls: buf is a PWSTR of size units when wide. */
static BOOL instance_id(HDEVINFO set, PSP_DEVINFO_DATA di, void *buf, DWORD size, PDWORD required, bool wide)
{
    struct w32_devinfo *d = get_set(set);
    if (!d)
        return FALSE;
    BOOL ok = FALSE;
    const char *id = instance_of(d, di);
    if (id) {
        size_t need = wide ? owu_w32_utf8_to_utf16(id, NULL, 0) : strlen(id) + 1;
        if (required)
            *required = (DWORD)need;
        if (!buf || size < need) {
            ok = owu_w32_fail(ERROR_INSUFFICIENT_BUFFER);
        } else {
            if (wide)
                owu_w32_utf8_to_utf16(id, buf, need);
            else
                memcpy(buf, id, need);
            SetLastError(ERROR_SUCCESS);
            ok = TRUE;
        }
    }
    owu_w32_obj_unref(&d->obj);
    return ok;
}

BOOL WINAPI SetupDiGetDeviceInstanceIdA(HDEVINFO DeviceInfoSet, PSP_DEVINFO_DATA DeviceInfoData,
                                        PSTR DeviceInstanceId, DWORD DeviceInstanceIdSize, PDWORD RequiredSize)
{
    return instance_id(DeviceInfoSet, DeviceInfoData, DeviceInstanceId, DeviceInstanceIdSize, RequiredSize, false);
}

BOOL WINAPI SetupDiGetDeviceInstanceIdW(HDEVINFO DeviceInfoSet, PSP_DEVINFO_DATA DeviceInfoData,
                                        PWSTR DeviceInstanceId, DWORD DeviceInstanceIdSize, PDWORD RequiredSize)
{
    return instance_id(DeviceInfoSet, DeviceInfoData, DeviceInstanceId, DeviceInstanceIdSize, RequiredSize, true);
}

BOOL WINAPI SetupDiDestroyDeviceInfoList(HDEVINFO DeviceInfoSet)
{
    if (!owu_w32_handle_close(DeviceInfoSet, OWU_W32_DEVINFO, NULL))
        return owu_w32_fail(ERROR_INVALID_HANDLE);
    SetLastError(ERROR_SUCCESS);
    return TRUE;
}
