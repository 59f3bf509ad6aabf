/* openwinusb Win32 subset: the CfgMgr32 device-interface list functions. Lists are
 * multi-strings: each path NUL-terminated, then one more NUL; sizes count characters. */
#ifndef OPENWINUSB_WIN32_CFGMGR32_H
#define OPENWINUSB_WIN32_CFGMGR32_H

#include "windows.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef DWORD CONFIGRET;
typedef CHAR *DEVINSTID_A;
typedef WCHAR *DEVINSTID_W;
typedef DWORD DEVINST, *PDEVINST;

#define CR_SUCCESS 0x00000000
#define CR_DEFAULT 0x00000001
#define CR_OUT_OF_MEMORY 0x00000002
#define CR_INVALID_POINTER 0x00000003
#define CR_INVALID_FLAG 0x00000004
#define CR_INVALID_DEVNODE 0x00000005
#define CR_INVALID_DEVINST CR_INVALID_DEVNODE
#define CR_NO_SUCH_DEVNODE 0x0000000D
#define CR_NO_SUCH_DEVINST CR_NO_SUCH_DEVNODE
#define CR_FAILURE 0x00000013
#define CR_BUFFER_SMALL 0x0000001A
#define CR_INVALID_DEVICE_ID 0x0000001E
#define CR_INVALID_DATA 0x0000001F
#define CR_NO_SUCH_DEVICE_INTERFACE 0x00000037

#define CM_GET_DEVICE_INTERFACE_LIST_PRESENT 0x00000000
#define CM_GET_DEVICE_INTERFACE_LIST_ALL_DEVICES 0x00000001
#define CM_GET_DEVICE_INTERFACE_LIST_BITS 0x00000001

/* pDeviceID NULL = every device; else only interfaces of that device instance. */
CMAPI CONFIGRET WINAPI CM_Get_Device_Interface_List_SizeA(PULONG pulLen, LPGUID InterfaceClassGuid,
                                                          DEVINSTID_A pDeviceID, ULONG ulFlags);
CMAPI CONFIGRET WINAPI CM_Get_Device_Interface_List_SizeW(PULONG pulLen, LPGUID InterfaceClassGuid,
                                                          DEVINSTID_W pDeviceID, ULONG ulFlags);
CMAPI CONFIGRET WINAPI CM_Get_Device_Interface_ListA(LPGUID InterfaceClassGuid, DEVINSTID_A pDeviceID,
                                                     PZZSTR Buffer, ULONG BufferLen, ULONG ulFlags);
CMAPI CONFIGRET WINAPI CM_Get_Device_Interface_ListW(LPGUID InterfaceClassGuid, DEVINSTID_W pDeviceID,
                                                     PZZWSTR Buffer, ULONG BufferLen, ULONG ulFlags);

#ifdef UNICODE
#define CM_Get_Device_Interface_List_Size CM_Get_Device_Interface_List_SizeW
#define CM_Get_Device_Interface_List CM_Get_Device_Interface_ListW
#else
#define CM_Get_Device_Interface_List_Size CM_Get_Device_Interface_List_SizeA
#define CM_Get_Device_Interface_List CM_Get_Device_Interface_ListA
#endif

#ifdef __cplusplus
}
#endif
#endif
