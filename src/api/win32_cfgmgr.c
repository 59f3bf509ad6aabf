/* CM_Get_Device_Interface_List(_Size): the symbolic links of a class as one multi-string
 * (each NUL-terminated, then one more NUL; "\0" alone when there is none). Lengths count
 * characters. The list can change between the size call and the list call: then the list
 * call answers CR_BUFFER_SMALL and the caller asks again, as on Windows. */
#include "api/win32_internal.h"

#include <openwinusb/win32/cfgmgr32.h>

#include <stdlib.h>
#include <string.h>

/* The list as UTF-8 paths; CR_* on failure. */
static CONFIGRET snapshot(LPGUID cls, const char *device_id, ULONG flags, struct owu_devif_info **v, size_t *n)
{
    if (!cls)
        return CR_INVALID_POINTER;
    if (flags & ~(ULONG)CM_GET_DEVICE_INTERFACE_LIST_BITS)
        return CR_INVALID_FLAG;
    bool present = (flags & CM_GET_DEVICE_INTERFACE_LIST_ALL_DEVICES) == 0;
    if (owu_w32_query_interfaces(cls, device_id && *device_id ? device_id : NULL, present, v, n) != OWU_OK)
        return CR_OUT_OF_MEMORY;
    return CR_SUCCESS;
}

static size_t chars_a(const struct owu_devif_info *v, size_t n)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(v[i].path) + 1;
    return len;
}

static size_t chars_w(const struct owu_devif_info *v, size_t n)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += owu_w32_utf8_to_utf16(v[i].path, NULL, 0);
    return len;
}

CONFIGRET WINAPI CM_Get_Device_Interface_List_SizeA(PULONG pulLen, LPGUID InterfaceClassGuid, DEVINSTID_A pDeviceID,
                                                    ULONG ulFlags)
{
    if (!pulLen)
        return CR_INVALID_POINTER;
    *pulLen = 0;
    struct owu_devif_info *v;
    size_t n;
    CONFIGRET cr = snapshot(InterfaceClassGuid, pDeviceID, ulFlags, &v, &n);
    if (cr != CR_SUCCESS)
        return cr;
    *pulLen = (ULONG)chars_a(v, n);
    owu_devif_infos_free(v, n);
    return CR_SUCCESS;
}

CONFIGRET WINAPI CM_Get_Device_Interface_List_SizeW(PULONG pulLen, LPGUID InterfaceClassGuid, DEVINSTID_W pDeviceID,
                                                    ULONG ulFlags)
{
    if (!pulLen)
        return CR_INVALID_POINTER;
    *pulLen = 0;
    char *id = pDeviceID ? owu_w32_utf16_to_utf8(pDeviceID) : NULL;
    if (pDeviceID && !id)
        return CR_OUT_OF_MEMORY;
    struct owu_devif_info *v;
    size_t n;
    CONFIGRET cr = snapshot(InterfaceClassGuid, id, ulFlags, &v, &n);
    free(id);
    if (cr != CR_SUCCESS)
        return cr;
    *pulLen = (ULONG)chars_w(v, n);
    owu_devif_infos_free(v, n);
    return CR_SUCCESS;
}

CONFIGRET WINAPI CM_Get_Device_Interface_ListA(LPGUID InterfaceClassGuid, DEVINSTID_A pDeviceID, PZZSTR Buffer,
                                               ULONG BufferLen, ULONG ulFlags)
{
    if (!Buffer || BufferLen == 0)
        return CR_INVALID_POINTER;
    struct owu_devif_info *v;
    size_t n;
    CONFIGRET cr = snapshot(InterfaceClassGuid, pDeviceID, ulFlags, &v, &n);
    if (cr != CR_SUCCESS)
        return cr;
    if (chars_a(v, n) > BufferLen) {
        Buffer[0] = '\0';
        owu_devif_infos_free(v, n);
        return CR_BUFFER_SMALL;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(v[i].path) + 1;
        memcpy(Buffer + o, v[i].path, l);
        o += l;
    }
    Buffer[o] = '\0';
    owu_devif_infos_free(v, n);
    return CR_SUCCESS;
}

CONFIGRET WINAPI CM_Get_Device_Interface_ListW(LPGUID InterfaceClassGuid, DEVINSTID_W pDeviceID, PZZWSTR Buffer,
                                               ULONG BufferLen, ULONG ulFlags)
{
    if (!Buffer || BufferLen == 0)
        return CR_INVALID_POINTER;
    char *id = pDeviceID ? owu_w32_utf16_to_utf8(pDeviceID) : NULL;
    if (pDeviceID && !id)
        return CR_OUT_OF_MEMORY;
    struct owu_devif_info *v;
    size_t n;
    CONFIGRET cr = snapshot(InterfaceClassGuid, id, ulFlags, &v, &n);
    free(id);
    if (cr != CR_SUCCESS)
        return cr;
    if (chars_w(v, n) > BufferLen) {
        Buffer[0] = 0;
        owu_devif_infos_free(v, n);
        return CR_BUFFER_SMALL;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++)
        o += owu_w32_utf8_to_utf16(v[i].path, Buffer + o, BufferLen - o);
    Buffer[o] = 0;
    owu_devif_infos_free(v, n);
    return CR_SUCCESS;
}
