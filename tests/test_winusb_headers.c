/* The Windows-compatible headers: type widths, structure sizes and offsets, constant values
 * (shared/reference/winusb-api.md §1, §2, §4, §5), GUID definition semantics. */
#include <stddef.h>

#include <openwinusb/win32/windows.h>
#include <openwinusb/win32/initguid.h>
#include <openwinusb/win32/cfgmgr32.h>
#include <openwinusb/win32/setupapi.h>
#include <openwinusb/win32/usb100.h>
#include <openwinusb/win32/usbioctl.h>
#include <openwinusb/win32/winusb.h>

#include "check.h"

/* Base types keep Windows' widths on LP64. */
_Static_assert(sizeof(BOOL) == 4, "BOOL");
_Static_assert(sizeof(BYTE) == 1 && sizeof(UCHAR) == 1 && sizeof(BOOLEAN) == 1, "BYTE");
_Static_assert(sizeof(USHORT) == 2 && sizeof(WORD) == 2, "USHORT");
_Static_assert(sizeof(ULONG) == 4 && sizeof(DWORD) == 4 && sizeof(LONG) == 4, "ULONG is 32-bit");
_Static_assert(sizeof(LONG64) == 8 && sizeof(ULONGLONG) == 8 && sizeof(LARGE_INTEGER) == 8, "64-bit");
_Static_assert(sizeof(WCHAR) == 2, "WCHAR is UTF-16");
_Static_assert(sizeof(HANDLE) == sizeof(void *) && sizeof(ULONG_PTR) == sizeof(void *), "pointers");
_Static_assert(sizeof(GUID) == 16, "GUID");

/* winusb.h / winusbio.h / usb.h (§4.1-4.4). */
_Static_assert(sizeof(WINUSB_SETUP_PACKET) == 8, "setup packet packed");
_Static_assert(offsetof(WINUSB_SETUP_PACKET, Value) == 2 && offsetof(WINUSB_SETUP_PACKET, Index) == 4 &&
                   offsetof(WINUSB_SETUP_PACKET, Length) == 6, "setup offsets");
_Static_assert(sizeof(USBD_PIPE_TYPE) == 4, "enum is 4 bytes");
_Static_assert(sizeof(WINUSB_PIPE_INFORMATION) == 12, "pipe information");
_Static_assert(offsetof(WINUSB_PIPE_INFORMATION, PipeId) == 4 &&
                   offsetof(WINUSB_PIPE_INFORMATION, MaximumPacketSize) == 6 &&
                   offsetof(WINUSB_PIPE_INFORMATION, Interval) == 8, "pipe information offsets");
_Static_assert(sizeof(WINUSB_PIPE_INFORMATION_EX) == 16, "pipe information ex");
_Static_assert(offsetof(WINUSB_PIPE_INFORMATION_EX, MaximumBytesPerInterval) == 12, "ex offset");
_Static_assert(sizeof(USBD_ISO_PACKET_DESCRIPTOR) == 12, "iso packet");
_Static_assert(offsetof(USBD_ISO_PACKET_DESCRIPTOR, Length) == 4 &&
                   offsetof(USBD_ISO_PACKET_DESCRIPTOR, Status) == 8, "iso packet offsets");

/* usbspec.h (§4.6). */
_Static_assert(sizeof(USB_COMMON_DESCRIPTOR) == 2, "common");
_Static_assert(sizeof(USB_DEVICE_DESCRIPTOR) == 18, "device");
_Static_assert(offsetof(USB_DEVICE_DESCRIPTOR, idVendor) == 8 && offsetof(USB_DEVICE_DESCRIPTOR, bNumConfigurations) == 17,
               "device offsets");
_Static_assert(sizeof(USB_CONFIGURATION_DESCRIPTOR) == 9, "configuration");
_Static_assert(offsetof(USB_CONFIGURATION_DESCRIPTOR, wTotalLength) == 2 &&
                   offsetof(USB_CONFIGURATION_DESCRIPTOR, MaxPower) == 8, "configuration offsets");
_Static_assert(sizeof(USB_INTERFACE_DESCRIPTOR) == 9, "interface");
_Static_assert(sizeof(USB_ENDPOINT_DESCRIPTOR) == 7, "endpoint");
_Static_assert(offsetof(USB_ENDPOINT_DESCRIPTOR, wMaxPacketSize) == 4 &&
                   offsetof(USB_ENDPOINT_DESCRIPTOR, bInterval) == 6, "endpoint offsets");
_Static_assert(sizeof(USB_SUPERSPEED_ENDPOINT_COMPANION_DESCRIPTOR) == 6, "companion");
_Static_assert(offsetof(USB_STRING_DESCRIPTOR, bString) == 2, "string");
_Static_assert(sizeof(USB_INTERFACE_ASSOCIATION_DESCRIPTOR) == 8, "IAD");

/* usbioctl.h time sync (§4.5), packed, 64-bit offsets. */
#if UINTPTR_MAX == UINT64_MAX
_Static_assert(sizeof(USB_START_TRACKING_FOR_TIME_SYNC_INFORMATION) == 9, "start tracking");
_Static_assert(sizeof(USB_STOP_TRACKING_FOR_TIME_SYNC_INFORMATION) == 8, "stop tracking");
_Static_assert(sizeof(USB_FRAME_NUMBER_AND_QPC_FOR_TIME_SYNC_INFORMATION) == 60, "frame and qpc");
#define FQ(f) offsetof(USB_FRAME_NUMBER_AND_QPC_FOR_TIME_SYNC_INFORMATION, f)
_Static_assert(FQ(InputFrameNumber) == 8 && FQ(InputMicroFrameNumber) == 12 &&
                   FQ(QueryPerformanceCounterAtInputFrameOrMicroFrame) == 16 &&
                   FQ(QueryPerformanceCounterFrequency) == 24 && FQ(PredictedAccuracyInMicroSeconds) == 32 &&
                   FQ(CurrentGenerationID) == 36 && FQ(CurrentQueryPerformanceCounter) == 40 &&
                   FQ(CurrentHardwareFrameNumber) == 48 && FQ(CurrentHardwareMicroFrameNumber) == 52 &&
                   FQ(CurrentUSBFrameNumber) == 56, "frame and qpc offsets");

/* setupapi.h: Windows' 64-bit sizes, which cbSize must carry. */
_Static_assert(sizeof(SP_DEVICE_INTERFACE_DATA) == 32, "interface data");
_Static_assert(sizeof(SP_DEVINFO_DATA) == 32, "devinfo data");
_Static_assert(sizeof(SP_DEVICE_INTERFACE_DETAIL_DATA_A) == 8, "detail A");
_Static_assert(sizeof(SP_DEVICE_INTERFACE_DETAIL_DATA_W) == 8, "detail W");
_Static_assert(offsetof(SP_DEVICE_INTERFACE_DETAIL_DATA_A, DevicePath) == 4 &&
                   offsetof(SP_DEVICE_INTERFACE_DETAIL_DATA_W, DevicePath) == 4, "detail offsets");
#endif

_Static_assert(sizeof(OVERLAPPED) == 2 * sizeof(ULONG_PTR) + 8 + sizeof(HANDLE), "OVERLAPPED");
_Static_assert(offsetof(OVERLAPPED, Offset) == 2 * sizeof(ULONG_PTR) && offsetof(OVERLAPPED, Pointer) == 2 * sizeof(ULONG_PTR),
               "OVERLAPPED union");

/* A GUID defined through DEFINE_GUID after <initguid.h>. */
DEFINE_GUID(TEST_GUID, 0x01234567, 0x89ab, 0xcdef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef);

static void test_constants(void)
{
    CHECK_INT(ERROR_INVALID_HANDLE, 6);
    CHECK_INT(ERROR_NOT_ENOUGH_MEMORY, 8);
    CHECK_INT(ERROR_BAD_COMMAND, 22);
    CHECK_INT(ERROR_GEN_FAILURE, 31);
    CHECK_INT(ERROR_INVALID_PARAMETER, 87);
    CHECK_INT(ERROR_SEM_TIMEOUT, 121);
    CHECK_INT(ERROR_INSUFFICIENT_BUFFER, 122);
    CHECK_INT(ERROR_ALREADY_EXISTS, 183);
    CHECK_INT(ERROR_NO_MORE_ITEMS, 259);
    CHECK_INT(ERROR_NO_SUCH_DEVICE, 433);
    CHECK_INT(ERROR_OPERATION_ABORTED, 995);
    CHECK_INT(ERROR_IO_INCOMPLETE, 996);
    CHECK_INT(ERROR_IO_PENDING, 997);
    CHECK_INT(ERROR_DEVICE_NOT_CONNECTED, 1167);
    CHECK_INT(ERROR_BAD_DEVICE, 1200);
    CHECK_INT(ERROR_FILE_NOT_FOUND, 2);
    CHECK_INT(ERROR_ACCESS_DENIED, 5);

    CHECK_INT(SHORT_PACKET_TERMINATE, 1);
    CHECK_INT(AUTO_CLEAR_STALL, 2);
    CHECK_INT(PIPE_TRANSFER_TIMEOUT, 3);
    CHECK_INT(IGNORE_SHORT_PACKETS, 4);
    CHECK_INT(ALLOW_PARTIAL_READS, 5);
    CHECK_INT(AUTO_FLUSH, 6);
    CHECK_INT(RAW_IO, 7);
    CHECK_INT(MAXIMUM_TRANSFER_SIZE, 8);
    CHECK_INT(RESET_PIPE_ON_RESUME, 9);
    CHECK_INT(AUTO_SUSPEND, 0x81);
    CHECK_INT(SUSPEND_DELAY, 0x83);
    CHECK_INT(DEVICE_SPEED, 1);
    CHECK_INT(LowSpeed, 1);
    CHECK_INT(FullSpeed, 2);
    CHECK_INT(HighSpeed, 3);
    CHECK_INT(UsbdPipeTypeControl, 0);
    CHECK_INT(UsbdPipeTypeIsochronous, 1);
    CHECK_INT(UsbdPipeTypeBulk, 2);
    CHECK_INT(UsbdPipeTypeInterrupt, 3);
    CHECK_INT(USBD_STATUS_STALL_PID, (LONG)0xC0000004);
    CHECK_INT(USBD_STATUS_CANCELED, (LONG)0xC0010000);
    CHECK_INT(USBD_STATUS_ISO_NOT_ACCESSED_LATE, (LONG)0xC0050000);
    CHECK(USBD_ERROR(USBD_STATUS_DEVICE_GONE));
    CHECK(USBD_SUCCESS(USBD_STATUS_SUCCESS));
    CHECK(USBD_PENDING(USBD_STATUS_PENDING));

    CHECK_INT(GENERIC_READ, 0x80000000u);
    CHECK_INT(GENERIC_WRITE, 0x40000000);
    CHECK_INT(FILE_SHARE_READ | FILE_SHARE_WRITE, 3);
    CHECK_INT(OPEN_EXISTING, 3);
    CHECK_INT(FILE_ATTRIBUTE_NORMAL, 0x80);
    CHECK_INT(FILE_FLAG_OVERLAPPED, 0x40000000);
    CHECK_INT(DIGCF_PRESENT | DIGCF_DEVICEINTERFACE, 0x12);
    CHECK_INT(CR_BUFFER_SMALL, 0x1A);
    CHECK_INT(CM_GET_DEVICE_INTERFACE_LIST_PRESENT, 0);
    CHECK_INT(CM_GET_DEVICE_INTERFACE_LIST_ALL_DEVICES, 1);
    CHECK_INT(WAIT_TIMEOUT, 258);
    CHECK_INT(INFINITE, 0xFFFFFFFFu);
    CHECK(INVALID_HANDLE_VALUE == (HANDLE)(intptr_t)-1);

    CHECK_INT(USB_DESCRIPTOR_MAKE_TYPE_AND_INDEX(USB_STRING_DESCRIPTOR_TYPE, 2), 0x0302);
    CHECK(USB_ENDPOINT_DIRECTION_IN(0x81));
    CHECK(!USB_ENDPOINT_DIRECTION_IN(0x06));
    CHECK(USB_ENDPOINT_DIRECTION_OUT(0x06));
}

static void test_guids(void)
{
    CHECK_INT(TEST_GUID.Data1, 0x01234567);
    CHECK_INT(TEST_GUID.Data2, 0x89ab);
    CHECK_INT(TEST_GUID.Data4[7], 0xef);
    CHECK_INT(WinUSB_TestGuid.Data1, 0xda812bff);
    CHECK_INT(WinUSB_TestGuid.Data4[0], 0x8e);
    GUID copy = TEST_GUID;
    CHECK(IsEqualGUID(&copy, &TEST_GUID));
    CHECK(!IsEqualGUID(&copy, &WinUSB_TestGuid));
}

static void test_tchar(void)
{
#ifdef UNICODE
    CHECK(sizeof(TCHAR) == 2);
#else
    CHECK(sizeof(TCHAR) == 1);
    const TCHAR *s = TEXT("abc");
    CHECK_STR(s, "abc");
#endif
    const WCHAR w[] = u"ab";
    CHECK_INT(w[1], 'b');
    CHECK_INT(sizeof w, 6);
}

static void test_memory_macros(void)
{
    unsigned char a[4] = {1, 2, 3, 4}, b[4];
    CopyMemory(b, a, 4);
    CHECK_INT(b[3], 4);
    ZeroMemory(a, sizeof a);
    CHECK_INT(a[0] | a[1] | a[2] | a[3], 0);
    LARGE_INTEGER li;
    li.QuadPart = 0x0000000100000002LL;
    CHECK_INT(li.LowPart, 2);
    CHECK_INT(li.HighPart, 1);
    CHECK_INT(li.u.LowPart, 2);
}

int main(void)
{
    RUN(test_constants);
    RUN(test_guids);
    RUN(test_tchar);
    RUN(test_memory_macros);
    return check_report();
}
