/*
 * winusb_walkthrough.c - the WinUSB walkthrough, written as a Windows program.
 *
 * Finds the OSR USB-FX2 learning kit by its device interface class with SetupAPI, opens it
 * with CreateFile, initialises WinUSB, asks for the device speed, lists the interface's
 * pipes, lights the bar graph with a vendor control request, sends a buffer through the
 * bulk loopback and reads it back, then cleans up in Windows' order.
 *
 * On Windows: cl winusb_walkthrough.c setupapi.lib winusb.lib
 * With openwinusb: cc -I include/openwinusb/win32 -I include winusb_walkthrough.c -lopenwinusb -lpthread
 * (run with OPENWINUSB_BUSES=virtual:fx2 and the driver package examples/driver in the
 * driver store, so that WinUSB drives the kit and registers its interface class).
 */
#include <windows.h>
#include <initguid.h>
#include <setupapi.h>
#include <winusb.h>

#include <stdio.h>
#include <string.h>

#include "fx2_guid.h"

#define FX2_SET_BARGRAPH_DISPLAY 0xD8
#define FX2_READ_BARGRAPH_DISPLAY 0xD7

struct pipe_ids {
    UCHAR bulk_in;
    UCHAR bulk_out;
    UCHAR interrupt_in;
};

/* Step 1: the device path of the first present device of the interface class. */
static BOOL get_device_path(const GUID *guid, char *path, size_t path_size)
{
    HDEVINFO devs = SetupDiGetClassDevs(guid, NULL, NULL, DIGCF_PRESENT | DIGCF_DEVICEINTERFACE);
    if (devs == INVALID_HANDLE_VALUE) {
        printf("SetupDiGetClassDevs failed: %u\n", (unsigned)GetLastError());
        return FALSE;
    }
    SP_DEVICE_INTERFACE_DATA ifdata;
    ifdata.cbSize = sizeof(SP_DEVICE_INTERFACE_DATA);
    if (!SetupDiEnumDeviceInterfaces(devs, NULL, guid, 0, &ifdata)) {
        if (GetLastError() == ERROR_NO_MORE_ITEMS)
            printf("No device of the interface class is present.\n");
        else
            printf("SetupDiEnumDeviceInterfaces failed: %u\n", (unsigned)GetLastError());
        SetupDiDestroyDeviceInfoList(devs);
        return FALSE;
    }
    /* Ask for the size first; ERROR_INSUFFICIENT_BUFFER is the expected answer. */
    DWORD required = 0;
    if (!SetupDiGetDeviceInterfaceDetail(devs, &ifdata, NULL, 0, &required, NULL) &&
        GetLastError() != ERROR_INSUFFICIENT_BUFFER) {
        printf("SetupDiGetDeviceInterfaceDetail failed: %u\n", (unsigned)GetLastError());
        SetupDiDestroyDeviceInfoList(devs);
        return FALSE;
    }
    PSP_DEVICE_INTERFACE_DETAIL_DATA detail = (PSP_DEVICE_INTERFACE_DETAIL_DATA)LocalAlloc(LMEM_FIXED, required);
    if (detail == NULL) {
        SetupDiDestroyDeviceInfoList(devs);
        return FALSE;
    }
    detail->cbSize = sizeof(SP_DEVICE_INTERFACE_DETAIL_DATA);
    BOOL ok = SetupDiGetDeviceInterfaceDetail(devs, &ifdata, detail, required, NULL, NULL);
    if (ok) {
        if (strlen(detail->DevicePath) + 1 > path_size) {
            ok = FALSE;
        } else {
            memcpy(path, detail->DevicePath, strlen(detail->DevicePath) + 1);
        }
    } else {
        printf("SetupDiGetDeviceInterfaceDetail failed: %u\n", (unsigned)GetLastError());
    }
    LocalFree(detail);
    SetupDiDestroyDeviceInfoList(devs);
    return ok;
}

/* Steps 5 and 6: device speed, interface settings and pipes. */
static BOOL query_device_endpoints(WINUSB_INTERFACE_HANDLE winusb, struct pipe_ids *pipes)
{
    UCHAR speed = 0;
    ULONG length = sizeof(UCHAR);
    if (!WinUsb_QueryDeviceInformation(winusb, DEVICE_SPEED, &length, &speed)) {
        printf("WinUsb_QueryDeviceInformation failed: %u\n", (unsigned)GetLastError());
        return FALSE;
    }
    printf("Device speed: %s\n", speed == HighSpeed ? "high speed (or faster)" : "full speed (or slower)");

    USB_INTERFACE_DESCRIPTOR ifdesc;
    ZeroMemory(&ifdesc, sizeof ifdesc);
    if (!WinUsb_QueryInterfaceSettings(winusb, 0, &ifdesc)) {
        printf("WinUsb_QueryInterfaceSettings failed: %u\n", (unsigned)GetLastError());
        return FALSE;
    }
    printf("Interface %u, alternate setting %u: %u endpoints\n", ifdesc.bInterfaceNumber,
           ifdesc.bAlternateSetting, ifdesc.bNumEndpoints);
    ZeroMemory(pipes, sizeof *pipes);
    for (UCHAR i = 0; i < ifdesc.bNumEndpoints; i++) {
        WINUSB_PIPE_INFORMATION pipe;
        ZeroMemory(&pipe, sizeof pipe);
        if (!WinUsb_QueryPipe(winusb, 0, i, &pipe))
            continue;
        const char *type = pipe.PipeType == UsbdPipeTypeBulk          ? "bulk"
                           : pipe.PipeType == UsbdPipeTypeInterrupt   ? "interrupt"
                           : pipe.PipeType == UsbdPipeTypeIsochronous ? "isochronous"
                                                                      : "control";
        printf("  pipe 0x%02X: %s %s, %u bytes per packet\n", pipe.PipeId, type,
               USB_ENDPOINT_DIRECTION_IN(pipe.PipeId) ? "in" : "out", pipe.MaximumPacketSize);
        if (pipe.PipeType == UsbdPipeTypeBulk && USB_ENDPOINT_DIRECTION_IN(pipe.PipeId))
            pipes->bulk_in = pipe.PipeId;
        else if (pipe.PipeType == UsbdPipeTypeBulk && USB_ENDPOINT_DIRECTION_OUT(pipe.PipeId))
            pipes->bulk_out = pipe.PipeId;
        else if (pipe.PipeType == UsbdPipeTypeInterrupt)
            pipes->interrupt_in = pipe.PipeId;
    }
    return pipes->bulk_in && pipes->bulk_out;
}

/* Step 8: a vendor request to the device: the bar graph's LEDs. */
static BOOL send_bargraph(WINUSB_INTERFACE_HANDLE winusb, UCHAR leds)
{
    WINUSB_SETUP_PACKET setup;
    ZeroMemory(&setup, sizeof setup);
    setup.RequestType = (BMREQUEST_HOST_TO_DEVICE << 7) | (BMREQUEST_VENDOR << 5) | BMREQUEST_TO_DEVICE;
    setup.Request = FX2_SET_BARGRAPH_DISPLAY;
    setup.Length = sizeof(UCHAR);
    ULONG sent = 0;
    if (!WinUsb_ControlTransfer(winusb, setup, &leds, sizeof(UCHAR), &sent, NULL)) {
        printf("WinUsb_ControlTransfer failed: %u\n", (unsigned)GetLastError());
        return FALSE;
    }
    UCHAR back = 0;
    setup.RequestType = (BMREQUEST_DEVICE_TO_HOST << 7) | (BMREQUEST_VENDOR << 5) | BMREQUEST_TO_DEVICE;
    setup.Request = FX2_READ_BARGRAPH_DISPLAY;
    if (!WinUsb_ControlTransfer(winusb, setup, &back, sizeof(UCHAR), &sent, NULL)) {
        printf("WinUsb_ControlTransfer failed: %u\n", (unsigned)GetLastError());
        return FALSE;
    }
    printf("Bar graph set to 0x%02X, reads back 0x%02X\n", leds, back);
    return back == leds;
}

/* Step 9: write to the bulk OUT pipe, read the loopback from the bulk IN pipe. */
static BOOL loopback(WINUSB_INTERFACE_HANDLE winusb, const struct pipe_ids *pipes)
{
    UCHAR out[] = "Hello from a WinUSB application";
    UCHAR in[512];
    ULONG written = 0, read = 0;
    ULONG timeout = 2000;   /* ms */
    WinUsb_SetPipePolicy(winusb, pipes->bulk_in, PIPE_TRANSFER_TIMEOUT, sizeof(ULONG), &timeout);
    if (!WinUsb_WritePipe(winusb, pipes->bulk_out, out, sizeof out, &written, NULL)) {
        printf("WinUsb_WritePipe failed: %u\n", (unsigned)GetLastError());
        return FALSE;
    }
    printf("Wrote %u bytes to pipe 0x%02X\n", (unsigned)written, pipes->bulk_out);

    /* The read, overlapped this time. */
    OVERLAPPED ov;
    ZeroMemory(&ov, sizeof ov);
    ov.hEvent = CreateEvent(NULL, TRUE, FALSE, NULL);
    BOOL ok = WinUsb_ReadPipe(winusb, pipes->bulk_in, in, sizeof in, NULL, &ov);
    if (!ok && GetLastError() == ERROR_IO_PENDING) {
        WaitForSingleObject(ov.hEvent, INFINITE);
        ok = WinUsb_GetOverlappedResult(winusb, &ov, &read, FALSE);
    } else if (ok) {
        ok = WinUsb_GetOverlappedResult(winusb, &ov, &read, TRUE);
    }
    CloseHandle(ov.hEvent);
    if (!ok) {
        printf("WinUsb_ReadPipe failed: %u\n", (unsigned)GetLastError());
        return FALSE;
    }
    printf("Read %u bytes from pipe 0x%02X: \"%s\"\n", (unsigned)read, pipes->bulk_in, (char *)in);
    return read == written && memcmp(in, out, read) == 0;
}

int main(void)
{
    char path[MAX_PATH + 200];
    if (!get_device_path(&GUID_DEVINTERFACE_OWU_FX2, path, sizeof path))
        return 1;
    printf("Device path: %s\n", path);

    HANDLE device = CreateFile(path, GENERIC_WRITE | GENERIC_READ, FILE_SHARE_WRITE | FILE_SHARE_READ, NULL,
                               OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OVERLAPPED, NULL);
    if (device == INVALID_HANDLE_VALUE) {
        printf("CreateFile failed: %u\n", (unsigned)GetLastError());
        return 1;
    }
    WINUSB_INTERFACE_HANDLE winusb;
    if (!WinUsb_Initialize(device, &winusb)) {
        printf("WinUsb_Initialize failed: %u\n", (unsigned)GetLastError());
        CloseHandle(device);
        return 1;
    }

    struct pipe_ids pipes;
    BOOL ok = query_device_endpoints(winusb, &pipes) && send_bargraph(winusb, 0xA5) && loopback(winusb, &pipes);

    WinUsb_Free(winusb);
    CloseHandle(device);
    printf(ok ? "Walkthrough done.\n" : "Walkthrough failed.\n");
    return ok ? 0 : 1;
}
