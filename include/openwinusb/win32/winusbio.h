/* openwinusb Win32 subset: WinUSB policy constants and pipe information structures
 * (shared/reference/winusb-api.md §4.2, §4.7). The pipe information structures have natural
 * alignment (12 and 16 bytes). */
#ifndef OPENWINUSB_WIN32_WINUSBIO_H
#define OPENWINUSB_WIN32_WINUSBIO_H

#include "usb.h"

#ifdef __cplusplus
extern "C" {
#endif

/* WinUSB's own test interface class. */
DEFINE_GUID(WinUSB_TestGuid, 0xda812bff, 0x12c3, 0x46a2, 0x8e, 0x2b, 0xdb, 0xd3, 0xb7, 0x83, 0x4c, 0x43);

/* Pipe policies (WinUsb_SetPipePolicy / WinUsb_GetPipePolicy). */
#define SHORT_PACKET_TERMINATE 0x01
#define AUTO_CLEAR_STALL 0x02
#define PIPE_TRANSFER_TIMEOUT 0x03
#define IGNORE_SHORT_PACKETS 0x04
#define ALLOW_PARTIAL_READS 0x05
#define AUTO_FLUSH 0x06
#define RAW_IO 0x07
#define MAXIMUM_TRANSFER_SIZE 0x08
#define RESET_PIPE_ON_RESUME 0x09

/* Power policies (WinUsb_SetPowerPolicy / WinUsb_GetPowerPolicy). */
#define AUTO_SUSPEND 0x81
#define SUSPEND_DELAY 0x83

/* WinUsb_QueryDeviceInformation. */
#define DEVICE_SPEED 0x01
#define LowSpeed 0x01
#define FullSpeed 0x02
#define HighSpeed 0x03

typedef struct _WINUSB_PIPE_INFORMATION {
    USBD_PIPE_TYPE PipeType;
    UCHAR PipeId;
    USHORT MaximumPacketSize;
    UCHAR Interval;
} WINUSB_PIPE_INFORMATION, *PWINUSB_PIPE_INFORMATION;

typedef struct _WINUSB_PIPE_INFORMATION_EX {
    USBD_PIPE_TYPE PipeType;
    UCHAR PipeId;
    USHORT MaximumPacketSize;
    UCHAR Interval;
    ULONG MaximumBytesPerInterval;
} WINUSB_PIPE_INFORMATION_EX, *PWINUSB_PIPE_INFORMATION_EX;

#ifdef __cplusplus
}
#endif
#endif
