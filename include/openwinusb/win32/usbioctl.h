/* openwinusb Win32 subset: the time-sync structures of usbioctl.h
 * (shared/reference/winusb-api.md §4.5), packed to 1 byte as Windows declares them. */
#ifndef OPENWINUSB_WIN32_USBIOCTL_H
#define OPENWINUSB_WIN32_USBIOCTL_H

#include "usb.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma pack(push, 1)

typedef struct _USB_START_TRACKING_FOR_TIME_SYNC_INFORMATION {
    HANDLE TimeTrackingHandle;          /* in: NULL; out: the tracking handle */
    BOOLEAN IsStartupDelayTolerable;
} USB_START_TRACKING_FOR_TIME_SYNC_INFORMATION, *PUSB_START_TRACKING_FOR_TIME_SYNC_INFORMATION;

typedef struct _USB_STOP_TRACKING_FOR_TIME_SYNC_INFORMATION {
    HANDLE TimeTrackingHandle;
} USB_STOP_TRACKING_FOR_TIME_SYNC_INFORMATION, *PUSB_STOP_TRACKING_FOR_TIME_SYNC_INFORMATION;

typedef struct _USB_FRAME_NUMBER_AND_QPC_FOR_TIME_SYNC_INFORMATION {
    HANDLE TimeTrackingHandle;
    ULONG InputFrameNumber;
    ULONG InputMicroFrameNumber;
    LARGE_INTEGER QueryPerformanceCounterAtInputFrameOrMicroFrame;
    LARGE_INTEGER QueryPerformanceCounterFrequency;
    ULONG PredictedAccuracyInMicroSeconds;
    ULONG CurrentGenerationID;
    LARGE_INTEGER CurrentQueryPerformanceCounter;
    ULONG CurrentHardwareFrameNumber;
    ULONG CurrentHardwareMicroFrameNumber;
    ULONG CurrentUSBFrameNumber;
} USB_FRAME_NUMBER_AND_QPC_FOR_TIME_SYNC_INFORMATION,
    *PUSB_FRAME_NUMBER_AND_QPC_FOR_TIME_SYNC_INFORMATION;

#pragma pack(pop)

#ifdef __cplusplus
}
#endif
#endif
