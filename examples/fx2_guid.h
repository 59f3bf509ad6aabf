/* The device interface class the FX2 learning kit's WinUSB interface is registered under:
 *
 *     {60E6A27B-1D30-4BD7-84CE-A4F8A8535A09}
 *
 * openwinusb's own GUID (generated for this project), registered for the FX2 (USB\VID_0547&PID_1002)
 * through its WinUSB driver package's DeviceInterfaceGUIDs value; programs find the kit with
 * SetupDiGetClassDevs / CM_Get_Device_Interface_List on it, as on Windows. Include
 * <initguid.h> before this header in exactly one place that should define it (any number
 * of places may: the definition is "selectany"). */
#ifndef FX2_GUID_H
#define FX2_GUID_H

#include <windows.h>

DEFINE_GUID(GUID_DEVINTERFACE_OWU_FX2, 0x60e6a27b, 0x1d30, 0x4bd7, 0x84, 0xce, 0xa4, 0xf8, 0xa8, 0x53, 0x5a, 0x09);

#define FX2_GUID_STRING "{60E6A27B-1D30-4BD7-84CE-A4F8A8535A09}"

#endif
