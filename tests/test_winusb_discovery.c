/* Discovery and opening the Windows way: SetupDi* and CM_Get_Device_Interface_List* by
 * interface class GUID (A and W), the cbSize rules, CreateFileA/W on the symbolic links
 * (case-insensitive, single client), presence after unplug, interfaces that WinUSB devices
 * declare through MS OS descriptors (a whole device and a composite function), and the
 * lazily opened process stack. */
#include "test_winusb_fixture.h"

#include <openwinusb/devif.h>
#include <openwinusb/win32/initguid.h>
#include <openwinusb/win32/cfgmgr32.h>
#include <openwinusb/win32/setupapi.h>

static DWORD last(void) { return GetLastError(); }

/* examples/fx2_guid.h */
DEFINE_GUID(FX2_GUID, 0x60e6a27b, 0x1d30, 0x4bd7, 0x84, 0xce, 0xa4, 0xf8, 0xa8, 0x53, 0x5a, 0x09);
/* src/devices/msos1.c and composite.c declare these through MS OS descriptors. */
DEFINE_GUID(MSOS1_GUID, 0x1f0e6d5c, 0x4b3a, 0x4928, 0x87, 0x76, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0);
DEFINE_GUID(COMPOSITE_GUID, 0x8a5e2c31, 0x6f0b, 0x4d7e, 0x9c, 0x41, 0x2b, 0x3d, 0x5e, 0x7f, 0x9a, 0x10);
/* GUID_DEVINTERFACE_USB_DEVICE, which the hub registers for every device. */
DEFINE_GUID(USB_DEVICE_GUID, 0xa5dcbf10, 0x6530, 0x11d2, 0x90, 0x1f, 0x00, 0xc0, 0x4f, 0xb9, 0x51, 0xed);
DEFINE_GUID(NOBODY_GUID, 0x11111111, 0x2222, 0x3333, 0x44, 0x44, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55);

static struct fx g_fx;
static char g_fx2_path[300];
static char g_fx2_instance[200];

/* A stack with three devices becomes the process's; the FX2's interface is registered the
 * way the PnP manager registers a WinUSB device's DeviceInterfaceGUIDs. */
static bool set_up(void)
{
    if (!fx_stack(&g_fx, "virtual:fx2,msos1,composite"))
        return false;
    owu_process_stack_replace(g_fx.stack);
    owu_stack_lock(g_fx.stack);
    struct owu_devnode *n = fx_find(owu_stack_tree(g_fx.stack), 0x0547, 0x1002, OWU_NODE_DEVICE);
    bool ok = n != NULL;
    if (n) {
        snprintf(g_fx2_instance, sizeof g_fx2_instance, "%s", n->instance_id);
        g_fx.udev = n->bus_device;
        struct owu_guid g;
        memcpy(&g, &FX2_GUID, sizeof g);
        char *path = NULL;
        ok = owu_devif_register(owu_stack_interfaces(g_fx.stack), &g, n->instance_id, NULL, &path, NULL) == OWU_OK;
        if (path)
            snprintf(g_fx2_path, sizeof g_fx2_path, "%s", path);
        free(path);
    }
    owu_stack_unlock(g_fx.stack);
    return ok;
}

static void tear_down(void)
{
    owu_process_stack_reset();
    fx_close(&g_fx);
}

static void test_setupdi_a(void)
{
    HDEVINFO hdi = SetupDiGetClassDevsA(&FX2_GUID, NULL, NULL, DIGCF_PRESENT | DIGCF_DEVICEINTERFACE);
    CHECK(hdi != INVALID_HANDLE_VALUE);
    SP_DEVICE_INTERFACE_DATA ifd;
    ifd.cbSize = sizeof ifd;
    CHECK(SetupDiEnumDeviceInterfaces(hdi, NULL, &FX2_GUID, 0, &ifd));
    CHECK(IsEqualGUID(&ifd.InterfaceClassGuid, &FX2_GUID));
    CHECK(ifd.Flags & SPINT_ACTIVE);
    SP_DEVICE_INTERFACE_DATA more;
    more.cbSize = sizeof more;
    CHECK(!SetupDiEnumDeviceInterfaces(hdi, NULL, &FX2_GUID, 1, &more));
    CHECK_INT(last(), ERROR_NO_MORE_ITEMS);
    more.cbSize = 8;
    CHECK(!SetupDiEnumDeviceInterfaces(hdi, NULL, &FX2_GUID, 0, &more));
    CHECK_INT(last(), ERROR_INVALID_USER_BUFFER);
    CHECK(!SetupDiEnumDeviceInterfaces(hdi, NULL, NULL, 0, &ifd));
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);

    /* The size probe, as every WinUSB program does it. */
    DWORD required = 0;
    CHECK(!SetupDiGetDeviceInterfaceDetailA(hdi, &ifd, NULL, 0, &required, NULL));
    CHECK_INT(last(), ERROR_INSUFFICIENT_BUFFER);
    CHECK_INT(required, offsetof(SP_DEVICE_INTERFACE_DETAIL_DATA_A, DevicePath) + strlen(g_fx2_path) + 1);
    PSP_DEVICE_INTERFACE_DETAIL_DATA_A detail = LocalAlloc(LMEM_FIXED, required);
    /* cbSize is the structure's size, not the allocation's. */
    detail->cbSize = required;
    CHECK(!SetupDiGetDeviceInterfaceDetailA(hdi, &ifd, detail, required, NULL, NULL));
    CHECK_INT(last(), ERROR_INVALID_USER_BUFFER);
    detail->cbSize = sizeof(SP_DEVICE_INTERFACE_DETAIL_DATA_A);
    CHECK(!SetupDiGetDeviceInterfaceDetailA(hdi, &ifd, detail, required - 1, NULL, NULL));
    CHECK_INT(last(), ERROR_INSUFFICIENT_BUFFER);
    CHECK(!SetupDiGetDeviceInterfaceDetailA(hdi, &ifd, NULL, 16, NULL, NULL));
    CHECK_INT(last(), ERROR_INVALID_USER_BUFFER);
    SP_DEVINFO_DATA di;
    di.cbSize = sizeof di;
    CHECK(SetupDiGetDeviceInterfaceDetailA(hdi, &ifd, detail, required, NULL, &di));
    CHECK_STR(detail->DevicePath, g_fx2_path);
    CHECK(strncmp(detail->DevicePath, "\\\\?\\usb#vid_0547&pid_1002#", 26) == 0);
    CHECK_CONTAINS(detail->DevicePath, "#{60e6a27b-1d30-4bd7-84ce-a4f8a8535a09}");
    char id[256];
    DWORD idlen = 0;
    CHECK(SetupDiGetDeviceInstanceIdA(hdi, &di, id, sizeof id, &idlen));
    CHECK_STR(id, g_fx2_instance);
    CHECK_INT(idlen, strlen(g_fx2_instance) + 1);
    CHECK(!SetupDiGetDeviceInstanceIdA(hdi, &di, id, 3, &idlen));
    CHECK_INT(last(), ERROR_INSUFFICIENT_BUFFER);
    SP_DEVINFO_DATA di2;
    di2.cbSize = sizeof di2;
    CHECK(SetupDiEnumDeviceInfo(hdi, 0, &di2));
    CHECK_INT(di2.DevInst, di.DevInst);
    CHECK(!SetupDiEnumDeviceInfo(hdi, 1, &di2));
    CHECK_INT(last(), ERROR_NO_MORE_ITEMS);
    /* Restricted to that device. */
    CHECK(SetupDiEnumDeviceInterfaces(hdi, &di, &FX2_GUID, 0, &more) || last() == ERROR_INVALID_USER_BUFFER);
    LocalFree(detail);
    CHECK(SetupDiDestroyDeviceInfoList(hdi));
    CHECK(!SetupDiDestroyDeviceInfoList(hdi));
    CHECK_INT(last(), ERROR_INVALID_HANDLE);
    CHECK(!SetupDiEnumDeviceInterfaces(hdi, NULL, &FX2_GUID, 0, &ifd));
    CHECK_INT(last(), ERROR_INVALID_HANDLE);

    /* Unsupported and wrong requests. */
    CHECK(SetupDiGetClassDevsA(&FX2_GUID, NULL, NULL, DIGCF_PRESENT) == INVALID_HANDLE_VALUE);
    CHECK_INT(last(), ERROR_INVALID_FLAGS);
    CHECK(SetupDiGetClassDevsA(NULL, NULL, NULL, DIGCF_DEVICEINTERFACE) == INVALID_HANDLE_VALUE);
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
    /* A class nobody registered: an empty set. */
    hdi = SetupDiGetClassDevsA(&NOBODY_GUID, NULL, NULL, DIGCF_PRESENT | DIGCF_DEVICEINTERFACE);
    CHECK(hdi != INVALID_HANDLE_VALUE);
    CHECK(!SetupDiEnumDeviceInterfaces(hdi, NULL, &NOBODY_GUID, 0, &ifd));
    CHECK_INT(last(), ERROR_NO_MORE_ITEMS);
    SetupDiDestroyDeviceInfoList(hdi);
    /* Enumerator: the FX2 is under "USB", not under "HID". */
    hdi = SetupDiGetClassDevsA(&FX2_GUID, "USB", NULL, DIGCF_PRESENT | DIGCF_DEVICEINTERFACE);
    CHECK(SetupDiEnumDeviceInterfaces(hdi, NULL, &FX2_GUID, 0, &ifd));
    SetupDiDestroyDeviceInfoList(hdi);
    hdi = SetupDiGetClassDevsA(&FX2_GUID, "HID", NULL, DIGCF_PRESENT | DIGCF_DEVICEINTERFACE);
    CHECK(!SetupDiEnumDeviceInterfaces(hdi, NULL, &FX2_GUID, 0, &ifd));
    SetupDiDestroyDeviceInfoList(hdi);
}

static void test_setupdi_w(void)
{
    HDEVINFO hdi = SetupDiGetClassDevsW(&FX2_GUID, NULL, NULL, DIGCF_PRESENT | DIGCF_DEVICEINTERFACE);
    CHECK(hdi != INVALID_HANDLE_VALUE);
    SP_DEVICE_INTERFACE_DATA ifd;
    ifd.cbSize = sizeof ifd;
    CHECK(SetupDiEnumDeviceInterfaces(hdi, NULL, &FX2_GUID, 0, &ifd));
    DWORD required = 0;
    CHECK(!SetupDiGetDeviceInterfaceDetailW(hdi, &ifd, NULL, 0, &required, NULL));
    CHECK_INT(last(), ERROR_INSUFFICIENT_BUFFER);
    CHECK_INT(required, 4 + 2 * (strlen(g_fx2_path) + 1));
    PSP_DEVICE_INTERFACE_DETAIL_DATA_W detail = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, required);
    detail->cbSize = sizeof *detail;
    CHECK(SetupDiGetDeviceInterfaceDetailW(hdi, &ifd, detail, required, NULL, NULL));
    char *back = owu_w32_utf16_to_utf8(detail->DevicePath);
    CHECK_STR(back, g_fx2_path);
    free(back);
    /* CreateFileW on it. */
    HANDLE h = CreateFileW(detail->DevicePath, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                           OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OVERLAPPED, NULL);
    CHECK(h != INVALID_HANDLE_VALUE);
    CHECK(CloseHandle(h));
    HeapFree(GetProcessHeap(), 0, detail);
    SetupDiDestroyDeviceInfoList(hdi);
}

static void test_cfgmgr(void)
{
    ULONG len = 0;
    CHECK_INT(CM_Get_Device_Interface_List_SizeA(&len, (LPGUID)&FX2_GUID, NULL, CM_GET_DEVICE_INTERFACE_LIST_PRESENT),
              CR_SUCCESS);
    CHECK_INT(len, strlen(g_fx2_path) + 2);
    char *list = malloc(len);
    CHECK_INT(CM_Get_Device_Interface_ListA((LPGUID)&FX2_GUID, NULL, list, len, CM_GET_DEVICE_INTERFACE_LIST_PRESENT),
              CR_SUCCESS);
    CHECK_STR(list, g_fx2_path);
    CHECK_INT(list[len - 1], 0);
    CHECK_INT(CM_Get_Device_Interface_ListA((LPGUID)&FX2_GUID, NULL, list, len - 1, 0), CR_BUFFER_SMALL);
    free(list);
    /* By device instance. */
    CHECK_INT(CM_Get_Device_Interface_List_SizeA(&len, (LPGUID)&FX2_GUID, g_fx2_instance, 0), CR_SUCCESS);
    CHECK_INT(len, strlen(g_fx2_path) + 2);
    CHECK_INT(CM_Get_Device_Interface_List_SizeA(&len, (LPGUID)&FX2_GUID, "USB\\VID_0000&PID_0000\\X", 0), CR_SUCCESS);
    CHECK_INT(len, 1);
    /* Nothing of that class: one NUL. */
    CHECK_INT(CM_Get_Device_Interface_List_SizeA(&len, (LPGUID)&NOBODY_GUID, NULL, 0), CR_SUCCESS);
    CHECK_INT(len, 1);
    char one[1] = {'x'};
    CHECK_INT(CM_Get_Device_Interface_ListA((LPGUID)&NOBODY_GUID, NULL, one, 1, 0), CR_SUCCESS);
    CHECK_INT(one[0], 0);
    /* Errors. */
    CHECK_INT(CM_Get_Device_Interface_List_SizeA(NULL, (LPGUID)&FX2_GUID, NULL, 0), CR_INVALID_POINTER);
    CHECK_INT(CM_Get_Device_Interface_List_SizeA(&len, NULL, NULL, 0), CR_INVALID_POINTER);
    CHECK_INT(CM_Get_Device_Interface_List_SizeA(&len, (LPGUID)&FX2_GUID, NULL, 2), CR_INVALID_FLAG);
    CHECK_INT(CM_Get_Device_Interface_ListA((LPGUID)&FX2_GUID, NULL, NULL, 10, 0), CR_INVALID_POINTER);

    /* Wide. */
    CHECK_INT(CM_Get_Device_Interface_List_SizeW(&len, (LPGUID)&FX2_GUID, NULL, 0), CR_SUCCESS);
    CHECK_INT(len, strlen(g_fx2_path) + 2);
    WCHAR *wl = calloc(len, sizeof(WCHAR));
    CHECK_INT(CM_Get_Device_Interface_ListW((LPGUID)&FX2_GUID, NULL, wl, len, 0), CR_SUCCESS);
    char *back = owu_w32_utf16_to_utf8(wl);
    CHECK_STR(back, g_fx2_path);
    CHECK_INT(wl[len - 1], 0);
    free(back);
    CHECK_INT(CM_Get_Device_Interface_ListW((LPGUID)&FX2_GUID, NULL, wl, 3, 0), CR_BUFFER_SMALL);
    free(wl);
}

static void test_create_file(void)
{
    /* Any case opens it; the device is single-client. */
    char upper[300];
    snprintf(upper, sizeof upper, "%s", g_fx2_path);
    for (char *p = upper; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 32);
    HANDLE h = CreateFileA(upper, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING,
                           FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OVERLAPPED, NULL);
    CHECK(h != INVALID_HANDLE_VALUE);
    HANDLE h2 = CreateFileA(g_fx2_path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                            OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
    CHECK(h2 == INVALID_HANDLE_VALUE);
    CHECK_INT(last(), ERROR_ACCESS_DENIED);
    WINUSB_INTERFACE_HANDLE w;
    CHECK(WinUsb_Initialize(h, &w));
    UCHAR bar = 0x81;
    ULONG n;
    CHECK(WinUsb_ControlTransfer(w, fx_setup(0x40, 0xD8, 0, 0, 1), &bar, 1, &n, NULL));
    CHECK(WinUsb_Free(w));
    CHECK(CloseHandle(h));
    /* "\\.\" spells the same. */
    char dot[300];
    snprintf(dot, sizeof dot, "\\\\.\\%s", g_fx2_path + 4);
    h = CreateFileA(dot, GENERIC_READ, 0, NULL, OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
    CHECK(h != INVALID_HANDLE_VALUE);
    CHECK(CloseHandle(h));

    CHECK(CreateFileA("C:\\file.txt", GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL) == INVALID_HANDLE_VALUE);
    CHECK_INT(last(), ERROR_FILE_NOT_FOUND);
    CHECK(CreateFileA("\\\\?\\usb#vid_0547&pid_1002#nothing#{60e6a27b-1d30-4bd7-84ce-a4f8a8535a09}", GENERIC_READ, 0,
                      NULL, OPEN_EXISTING, 0, NULL) == INVALID_HANDLE_VALUE);
    CHECK_INT(last(), ERROR_FILE_NOT_FOUND);
    CHECK(CreateFileA(NULL, GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL) == INVALID_HANDLE_VALUE);
    CHECK_INT(last(), ERROR_PATH_NOT_FOUND);
    CHECK(CreateFileA(g_fx2_path, GENERIC_READ, 0, NULL, CREATE_ALWAYS, 0, NULL) == INVALID_HANDLE_VALUE);
    CHECK_INT(last(), ERROR_INVALID_PARAMETER);
}

/* The first present interface path of a class, or "" . */
static void first_path(const GUID *g, char *out, size_t outsz)
{
    out[0] = '\0';
    ULONG len = 0;
    if (CM_Get_Device_Interface_List_SizeA(&len, (LPGUID)g, NULL, 0) != CR_SUCCESS || len < 2)
        return;
    char *list = malloc(len);
    if (CM_Get_Device_Interface_ListA((LPGUID)g, NULL, list, len, 0) == CR_SUCCESS)
        snprintf(out, outsz, "%s", list);
    free(list);
}

static void test_msos_declared_interfaces(void)
{
    /* A whole device asking for WinUSB through MS OS 1.0 descriptors. */
    char path[300];
    first_path(&MSOS1_GUID, path, sizeof path);
    CHECK(strncmp(path, "\\\\?\\usb#vid_1209&pid_0004#", 26) == 0);
    HANDLE h = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
    CHECK(h != INVALID_HANDLE_VALUE);
    WINUSB_INTERFACE_HANDLE w = NULL;
    CHECK(WinUsb_Initialize(h, &w));
    UCHAR out[10] = "loopback!", in[64];
    ULONG n;
    CHECK(WinUsb_WritePipe(w, 0x01, out, sizeof out, &n, NULL));
    CHECK(WinUsb_ReadPipe(w, 0x81, in, sizeof in, &n, NULL));
    CHECK_INT(n, sizeof out);
    CHECK(memcmp(in, out, sizeof out) == 0);
    /* Its DeviceIdleEnabled property reached WinUSB's power defaults. */
    UCHAR b = 0;
    ULONG len = 1;
    CHECK(WinUsb_GetPowerPolicy(w, AUTO_SUSPEND, &len, &b));
    CHECK_INT(b, 1);
    WinUsb_Free(w);
    CloseHandle(h);

    /* A function of a composite device: WinUSB sees only that function's interfaces. */
    first_path(&COMPOSITE_GUID, path, sizeof path);
    CHECK_CONTAINS(path, "&mi_02#");
    h = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
    CHECK(h != INVALID_HANDLE_VALUE);
    CHECK(WinUsb_Initialize(h, &w));
    USB_INTERFACE_DESCRIPTOR id;
    CHECK(WinUsb_QueryInterfaceSettings(w, 0, &id));
    CHECK_INT(id.bInterfaceNumber, 2);
    WINUSB_INTERFACE_HANDLE a;
    CHECK(!WinUsb_GetAssociatedInterface(w, 0, &a));
    CHECK_INT(last(), ERROR_NO_MORE_ITEMS);
    /* The whole configuration is still there to read. */
    USB_CONFIGURATION_DESCRIPTOR cd;
    CHECK(WinUsb_GetDescriptor(w, USB_CONFIGURATION_DESCRIPTOR_TYPE, 0, 0, (PUCHAR)&cd, sizeof cd, &n));
    CHECK_INT(cd.bNumInterfaces, 4);
    CHECK(WinUsb_WritePipe(w, 0x04, out, 4, &n, NULL));
    CHECK(WinUsb_ReadPipe(w, 0x84, in, sizeof in, &n, NULL));
    CHECK_INT(n, 4);
    WinUsb_Free(w);
    CloseHandle(h);

    /* Devices other drivers drive open, but WinUSB refuses them: the composite parent
     * (usbccgp) through its USB device interface. */
    HDEVINFO hdi = SetupDiGetClassDevsA(&USB_DEVICE_GUID, "USB\\VID_1209&PID_0002", NULL,
                                        DIGCF_PRESENT | DIGCF_DEVICEINTERFACE);
    SP_DEVICE_INTERFACE_DATA ifd;
    ifd.cbSize = sizeof ifd;
    CHECK(SetupDiEnumDeviceInterfaces(hdi, NULL, &USB_DEVICE_GUID, 0, &ifd));
    union {
        SP_DEVICE_INTERFACE_DETAIL_DATA_A d;
        char space[512];
    } u;
    u.d.cbSize = sizeof u.d;
    CHECK(SetupDiGetDeviceInterfaceDetailA(hdi, &ifd, &u.d, sizeof u, NULL, NULL));
    SetupDiDestroyDeviceInfoList(hdi);
    h = CreateFileA(u.d.DevicePath, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
    CHECK(h != INVALID_HANDLE_VALUE);
    CHECK(!WinUsb_Initialize(h, &w));
    CHECK_INT(last(), ERROR_INVALID_FUNCTION);
    CloseHandle(h);
}

static void test_presence_after_unplug(void)
{
    owu_err err = {0};
    CHECK_OK(owu_stack_unplug(g_fx.stack, g_fx.udev->hcd->bus_number, g_fx.udev->port, &err), &err);
    HDEVINFO hdi = SetupDiGetClassDevsA(&FX2_GUID, NULL, NULL, DIGCF_PRESENT | DIGCF_DEVICEINTERFACE);
    SP_DEVICE_INTERFACE_DATA ifd;
    ifd.cbSize = sizeof ifd;
    CHECK(!SetupDiEnumDeviceInterfaces(hdi, NULL, &FX2_GUID, 0, &ifd));
    CHECK_INT(last(), ERROR_NO_MORE_ITEMS);
    SetupDiDestroyDeviceInfoList(hdi);
    ULONG len;
    CHECK_INT(CM_Get_Device_Interface_List_SizeA(&len, (LPGUID)&FX2_GUID, NULL, CM_GET_DEVICE_INTERFACE_LIST_PRESENT),
              CR_SUCCESS);
    CHECK_INT(len, 1);
    CHECK(CreateFileA(g_fx2_path, GENERIC_READ, 0, NULL, OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL) == INVALID_HANDLE_VALUE);
    CHECK_INT(last(), ERROR_FILE_NOT_FOUND);
}

static void test_lazy_process_stack(void)
{
    tear_down();
    /* No replacement: the process stack opens itself from OPENWINUSB_BUSES. */
    setenv("OPENWINUSB_BUSES", "virtual:fx2", 1);
    struct owu_stack *s = owu_process_stack(NULL);
    CHECK(s != NULL);
    CHECK(owu_process_stack(NULL) == s);
    HDEVINFO hdi = SetupDiGetClassDevsA(&FX2_GUID, NULL, NULL, DIGCF_PRESENT | DIGCF_DEVICEINTERFACE);
    CHECK(hdi != INVALID_HANDLE_VALUE);
    SetupDiDestroyDeviceInfoList(hdi);
    owu_process_stack_reset();
    /* A stack that cannot open. */
    setenv("OPENWINUSB_BUSES", "virtual:no-such-model", 1);
    CHECK(owu_process_stack(NULL) == NULL);
    hdi = SetupDiGetClassDevsA(&FX2_GUID, NULL, NULL, DIGCF_PRESENT | DIGCF_DEVICEINTERFACE);
    SP_DEVICE_INTERFACE_DATA ifd;
    ifd.cbSize = sizeof ifd;
    CHECK(!SetupDiEnumDeviceInterfaces(hdi, NULL, &FX2_GUID, 0, &ifd));
    SetupDiDestroyDeviceInfoList(hdi);
    owu_process_stack_reset();
    unsetenv("OPENWINUSB_BUSES");
}

int main(void)
{
    fx_env();
    if (!set_up()) {
        printf("set-up failed\n");
        return 1;
    }
    RUN(test_setupdi_a);
    RUN(test_setupdi_w);
    RUN(test_cfgmgr);
    RUN(test_create_file);
    RUN(test_msos_declared_interfaces);
    RUN(test_presence_after_unplug);
    RUN(test_lazy_process_stack);
    CHECK_INT(owu_w32_handle_count(), 0);
    return check_report();
}
