/* openwinusb Win32 subset: the WinUSB user-mode API (winusb.dll's exports,
 * shared/reference/winusb-api.md §3). Every function returns FALSE on failure with the
 * reason in GetLastError(); behaviour and the error code of every case: docs/winusb.md. */
#ifndef OPENWINUSB_WIN32_WINUSB_H
#define OPENWINUSB_WIN32_WINUSB_H

#include "windows.h"
#include "usbioctl.h"
#include "winusbio.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef PVOID WINUSB_INTERFACE_HANDLE, *PWINUSB_INTERFACE_HANDLE;
typedef PVOID WINUSB_ISOCH_BUFFER_HANDLE, *PWINUSB_ISOCH_BUFFER_HANDLE;

#pragma pack(push, 1)
typedef struct _WINUSB_SETUP_PACKET {
    UCHAR RequestType;
    UCHAR Request;
    USHORT Value;
    USHORT Index;
    USHORT Length;
} WINUSB_SETUP_PACKET, *PWINUSB_SETUP_PACKET;
#pragma pack(pop)

WINUSBAPI BOOL WINAPI WinUsb_Initialize(HANDLE DeviceHandle, PWINUSB_INTERFACE_HANDLE InterfaceHandle);
WINUSBAPI BOOL WINAPI WinUsb_Free(WINUSB_INTERFACE_HANDLE InterfaceHandle);
WINUSBAPI BOOL WINAPI WinUsb_GetAssociatedInterface(WINUSB_INTERFACE_HANDLE InterfaceHandle,
                                                    UCHAR AssociatedInterfaceIndex,
                                                    PWINUSB_INTERFACE_HANDLE AssociatedInterfaceHandle);
WINUSBAPI BOOL WINAPI WinUsb_GetDescriptor(WINUSB_INTERFACE_HANDLE InterfaceHandle, UCHAR DescriptorType,
                                           UCHAR Index, USHORT LanguageID, PUCHAR Buffer,
                                           ULONG BufferLength, PULONG LengthTransferred);
WINUSBAPI BOOL WINAPI WinUsb_QueryInterfaceSettings(WINUSB_INTERFACE_HANDLE InterfaceHandle,
                                                    UCHAR AlternateInterfaceNumber,
                                                    PUSB_INTERFACE_DESCRIPTOR UsbAltInterfaceDescriptor);
WINUSBAPI BOOL WINAPI WinUsb_QueryDeviceInformation(WINUSB_INTERFACE_HANDLE InterfaceHandle,
                                                    ULONG InformationType, PULONG BufferLength,
                                                    PVOID Buffer);
WINUSBAPI BOOL WINAPI WinUsb_SetCurrentAlternateSetting(WINUSB_INTERFACE_HANDLE InterfaceHandle,
                                                        UCHAR SettingNumber);
WINUSBAPI BOOL WINAPI WinUsb_GetCurrentAlternateSetting(WINUSB_INTERFACE_HANDLE InterfaceHandle,
                                                        PUCHAR SettingNumber);
WINUSBAPI BOOL WINAPI WinUsb_QueryPipe(WINUSB_INTERFACE_HANDLE InterfaceHandle,
                                       UCHAR AlternateInterfaceNumber, UCHAR PipeIndex,
                                       PWINUSB_PIPE_INFORMATION PipeInformation);
WINUSBAPI BOOL WINAPI WinUsb_QueryPipeEx(WINUSB_INTERFACE_HANDLE InterfaceHandle,
                                         UCHAR AlternateSettingNumber, UCHAR PipeIndex,
                                         PWINUSB_PIPE_INFORMATION_EX PipeInformationEx);
WINUSBAPI BOOL WINAPI WinUsb_SetPipePolicy(WINUSB_INTERFACE_HANDLE InterfaceHandle, UCHAR PipeID,
                                           ULONG PolicyType, ULONG ValueLength, PVOID Value);
WINUSBAPI BOOL WINAPI WinUsb_GetPipePolicy(WINUSB_INTERFACE_HANDLE InterfaceHandle, UCHAR PipeID,
                                           ULONG PolicyType, PULONG ValueLength, PVOID Value);
WINUSBAPI BOOL WINAPI WinUsb_ReadPipe(WINUSB_INTERFACE_HANDLE InterfaceHandle, UCHAR PipeID,
                                      PUCHAR Buffer, ULONG BufferLength, PULONG LengthTransferred,
                                      LPOVERLAPPED Overlapped);
WINUSBAPI BOOL WINAPI WinUsb_WritePipe(WINUSB_INTERFACE_HANDLE InterfaceHandle, UCHAR PipeID,
                                       PUCHAR Buffer, ULONG BufferLength, PULONG LengthTransferred,
                                       LPOVERLAPPED Overlapped);
WINUSBAPI BOOL WINAPI WinUsb_ControlTransfer(WINUSB_INTERFACE_HANDLE InterfaceHandle,
                                             WINUSB_SETUP_PACKET SetupPacket, PUCHAR Buffer,
                                             ULONG BufferLength, PULONG LengthTransferred,
                                             LPOVERLAPPED Overlapped);
WINUSBAPI BOOL WINAPI WinUsb_ResetPipe(WINUSB_INTERFACE_HANDLE InterfaceHandle, UCHAR PipeID);
WINUSBAPI BOOL WINAPI WinUsb_AbortPipe(WINUSB_INTERFACE_HANDLE InterfaceHandle, UCHAR PipeID);
WINUSBAPI BOOL WINAPI WinUsb_FlushPipe(WINUSB_INTERFACE_HANDLE InterfaceHandle, UCHAR PipeID);
WINUSBAPI BOOL WINAPI WinUsb_SetPowerPolicy(WINUSB_INTERFACE_HANDLE InterfaceHandle, ULONG PolicyType,
                                            ULONG ValueLength, PVOID Value);
WINUSBAPI BOOL WINAPI WinUsb_GetPowerPolicy(WINUSB_INTERFACE_HANDLE InterfaceHandle, ULONG PolicyType,
                                            PULONG ValueLength, PVOID Value);
WINUSBAPI BOOL WINAPI WinUsb_GetOverlappedResult(WINUSB_INTERFACE_HANDLE InterfaceHandle,
                                                 LPOVERLAPPED lpOverlapped,
                                                 LPDWORD lpNumberOfBytesTransferred, BOOL bWait);

WINUSBAPI PUSB_INTERFACE_DESCRIPTOR WINAPI WinUsb_ParseConfigurationDescriptor(
    PUSB_CONFIGURATION_DESCRIPTOR ConfigurationDescriptor, PVOID StartPosition, LONG InterfaceNumber,
    LONG AlternateSetting, LONG InterfaceClass, LONG InterfaceSubClass, LONG InterfaceProtocol);
WINUSBAPI PUSB_COMMON_DESCRIPTOR WINAPI WinUsb_ParseDescriptors(PVOID DescriptorBuffer, ULONG TotalLength,
                                                                PVOID StartPosition, LONG DescriptorType);

/* Isochronous transfers (Windows 8.1 and later). */
WINUSBAPI BOOL WINAPI WinUsb_GetCurrentFrameNumber(WINUSB_INTERFACE_HANDLE InterfaceHandle,
                                                   PULONG CurrentFrameNumber, LARGE_INTEGER *TimeStamp);
WINUSBAPI BOOL WINAPI WinUsb_GetAdjustedFrameNumber(PULONG CurrentFrameNumber, LARGE_INTEGER TimeStamp);
WINUSBAPI BOOL WINAPI WinUsb_RegisterIsochBuffer(WINUSB_INTERFACE_HANDLE InterfaceHandle, UCHAR PipeID,
                                                 PUCHAR Buffer, ULONG BufferLength,
                                                 PWINUSB_ISOCH_BUFFER_HANDLE IsochBufferHandle);
WINUSBAPI BOOL WINAPI WinUsb_UnregisterIsochBuffer(WINUSB_ISOCH_BUFFER_HANDLE IsochBufferHandle);
WINUSBAPI BOOL WINAPI WinUsb_WriteIsochPipe(WINUSB_ISOCH_BUFFER_HANDLE BufferHandle, ULONG Offset,
                                            ULONG Length, PULONG FrameNumber, LPOVERLAPPED Overlapped);
WINUSBAPI BOOL WINAPI WinUsb_ReadIsochPipe(WINUSB_ISOCH_BUFFER_HANDLE BufferHandle, ULONG Offset,
                                           ULONG Length, PULONG FrameNumber, ULONG NumberOfPackets,
                                           PUSBD_ISO_PACKET_DESCRIPTOR IsoPacketDescriptors,
                                           LPOVERLAPPED Overlapped);
WINUSBAPI BOOL WINAPI WinUsb_WriteIsochPipeAsap(WINUSB_ISOCH_BUFFER_HANDLE BufferHandle, ULONG Offset,
                                                ULONG Length, BOOL ContinueStream,
                                                LPOVERLAPPED Overlapped);
WINUSBAPI BOOL WINAPI WinUsb_ReadIsochPipeAsap(WINUSB_ISOCH_BUFFER_HANDLE BufferHandle, ULONG Offset,
                                               ULONG Length, BOOL ContinueStream,
                                               ULONG NumberOfPackets,
                                               PUSBD_ISO_PACKET_DESCRIPTOR IsoPacketDescriptors,
                                               LPOVERLAPPED Overlapped);

/* Time synchronisation (Windows 10 and later). */
WINUSBAPI BOOL WINAPI WinUsb_StartTrackingForTimeSync(
    WINUSB_INTERFACE_HANDLE InterfaceHandle,
    PUSB_START_TRACKING_FOR_TIME_SYNC_INFORMATION StartTrackingInfo);
WINUSBAPI BOOL WINAPI WinUsb_GetCurrentFrameNumberAndQpc(
    WINUSB_INTERFACE_HANDLE InterfaceHandle,
    PUSB_FRAME_NUMBER_AND_QPC_FOR_TIME_SYNC_INFORMATION FrameQpcInfo);
WINUSBAPI BOOL WINAPI WinUsb_StopTrackingForTimeSync(
    WINUSB_INTERFACE_HANDLE InterfaceHandle,
    PUSB_STOP_TRACKING_FOR_TIME_SYNC_INFORMATION StopTrackingInfo);

#ifdef __cplusplus
}
#endif
#endif
