/* CM_Get_Device_Interface_List(_Size): the symbolic links of a class as one multi-string
 * (each NUL-terminated, then one more NUL; "\0" alone when there is none). Lengths count
 * characters. The list can change between the size call and the list call: then the list
 * call answers CR_BUFFER_SMALL and the caller asks again, as on Windows. */
#include "api/win32_internal.h"

#include <openwinusb/win32/cfgmgr32.h>

#include <stdlib.h>
#include <string.h>

/* The list as UTF-8 paths; CR_* on failure. device_id is a DEVINSTID_W when wide. */
static CONFIGRET snapshot(LPGUID cls, const void *device_id, bool wide, ULONG flags, struct owu_devif_info **v,
                          size_t *n)
{
    char *id8 = NULL;
    if (wide && device_id) {
        id8 = owu_w32_utf16_to_utf8(device_id);
        if (!id8)
            return CR_OUT_OF_MEMORY;
    }
    const char *id = wide ? id8 : device_id;
    CONFIGRET cr = CR_SUCCESS;
    if (!cls)
        cr = CR_INVALID_POINTER;
    else if (flags & ~(ULONG)CM_GET_DEVICE_INTERFACE_LIST_BITS)
        cr = CR_INVALID_FLAG;
    else if (owu_w32_query_interfaces(cls, id && *id ? id : NULL,
                                      (flags & CM_GET_DEVICE_INTERFACE_LIST_ALL_DEVICES) == 0, v, n) != OWU_OK)
        cr = CR_OUT_OF_MEMORY;
    free(id8);
    return cr;
}

/* Characters (bytes or UTF-16 units) of a path with its NUL. */
static size_t path_chars(const char *path, bool wide)
{
    return wide ? owu_w32_utf8_to_utf16(path, NULL, 0) : strlen(path) + 1;
}

static size_t list_chars(const struct owu_devif_info *v, size_t n, bool wide)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += path_chars(v[i].path, wide);
    return len;
}

static CONFIGRET list_size(PULONG pulLen, LPGUID cls, const void *device_id, bool wide, ULONG flags)
{
    if (!pulLen)
        return CR_INVALID_POINTER;
    *pulLen = 0;
    struct owu_devif_info *v;
    size_t n;
    CONFIGRET cr = snapshot(cls, device_id, wide, flags, &v, &n);
    if (cr != CR_SUCCESS)
        return cr;
    *pulLen = (ULONG)list_chars(v, n, wide);
    owu_devif_infos_free(v, n);
    return CR_SUCCESS;
}

/* buffer is a PZZWSTR when wide, of len characters. */
static CONFIGRET list(LPGUID cls, const void *device_id, bool wide, void *buffer, ULONG len, ULONG flags)
{
    if (!buffer || len == 0)
        return CR_INVALID_POINTER;
    char *a = buffer;
    WCHAR *w = buffer;
    struct owu_devif_info *v;
    size_t n;
    CONFIGRET cr = snapshot(cls, device_id, wide, flags, &v, &n);
    if (cr != CR_SUCCESS)
        return cr;
    size_t o = 0;
    if (list_chars(v, n, wide) > len) {
        cr = CR_BUFFER_SMALL;
    } else {
        for (size_t i = 0; i < n; i++) {
            if (wide) {
                o += owu_w32_utf8_to_utf16(v[i].path, w + o, len - o);
            } else {
                size_t l = strlen(v[i].path) + 1;
                memcpy(a + o, v[i].path, l);
                o += l;
            }
        }
    }
    if (wide)
        w[o] = 0;
    else
        a[o] = '\0';
    owu_devif_infos_free(v, n);
    return cr;
}

CONFIGRET WINAPI CM_Get_Device_Interface_List_SizeA(PULONG pulLen, LPGUID InterfaceClassGuid, DEVINSTID_A pDeviceID,
                                                    ULONG ulFlags)
{
    return list_size(pulLen, InterfaceClassGuid, pDeviceID, false, ulFlags);
}

CONFIGRET WINAPI CM_Get_Device_Interface_List_SizeW(PULONG pulLen, LPGUID InterfaceClassGuid, DEVINSTID_W pDeviceID,
                                                    ULONG ulFlags)
{
    return list_size(pulLen, InterfaceClassGuid, pDeviceID, true, ulFlags);
}

CONFIGRET WINAPI CM_Get_Device_Interface_ListA(LPGUID InterfaceClassGuid, DEVINSTID_A pDeviceID, PZZSTR Buffer,
                                               ULONG BufferLen, ULONG ulFlags)
{
    return list(InterfaceClassGuid, pDeviceID, false, Buffer, BufferLen, ulFlags);
}

CONFIGRET WINAPI CM_Get_Device_Interface_ListW(LPGUID InterfaceClassGuid, DEVINSTID_W pDeviceID, PZZWSTR Buffer,
                                               ULONG BufferLen, ULONG ulFlags)
{
    return list(InterfaceClassGuid, pDeviceID, true, Buffer, BufferLen, ulFlags);
}
