/*
 * usbfw.c - a firmware-update style tool for a WinUSB device, written as a Windows program
 * (the "Usbfw.exe" of the WinUSB architecture page).
 *
 *     usbfw [IMAGE]
 *
 * Finds the device with CM_Get_Device_Interface_List, opens it, announces the update with a
 * vendor control request, streams the image over the bulk OUT pipe in blocks with two
 * overlapped writes in flight, reads every block back over the bulk IN pipe to verify it
 * (the FX2 learning kit loops bulk data back), shows the progress on the console and on the
 * kit's bar graph, and reports the result on the 7-segment display. Without IMAGE a
 * 256 KiB test image is generated.
 *
 * On Windows: cl usbfw.c cfgmgr32.lib winusb.lib
 * With openwinusb: cc -I include/openwinusb/win32 -I include usbfw.c -lopenwinusb -lpthread
 */
#include <windows.h>
#include <initguid.h>
#include <cfgmgr32.h>
#include <winusb.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fx2_guid.h"

#define FX2_SET_BARGRAPH_DISPLAY 0xD8
#define FX2_SET_7SEGMENT_DISPLAY 0xDB
#define SEG_U 0x3E                /* 'U': update running */
#define SEG_P 0x73                /* 'P': passed */
#define SEG_E 0x79                /* 'E': error */

#define BLOCK_SIZE 4096
#define IN_FLIGHT 2

/* The first present interface of the class, through CfgMgr32. */
static BOOL find_device(const GUID *guid, char *path, size_t path_size)
{
    CONFIGRET cr;
    PZZSTR list = NULL;
    ULONG len = 0;
    do {
        cr = CM_Get_Device_Interface_List_Size(&len, (LPGUID)guid, NULL, CM_GET_DEVICE_INTERFACE_LIST_PRESENT);
        if (cr != CR_SUCCESS)
            break;
        free(list);
        list = (PZZSTR)malloc(len * sizeof(CHAR));
        if (list == NULL)
            return FALSE;
        cr = CM_Get_Device_Interface_List((LPGUID)guid, NULL, list, len, CM_GET_DEVICE_INTERFACE_LIST_PRESENT);
    } while (cr == CR_BUFFER_SMALL);
    BOOL ok = cr == CR_SUCCESS && list[0] != '\0' && strlen(list) + 1 <= path_size;
    if (ok)
        memcpy(path, list, strlen(list) + 1);
    else if (cr != CR_SUCCESS)
        printf("CM_Get_Device_Interface_List failed: 0x%X\n", (unsigned)cr);
    else
        printf("No device found.\n");
    free(list);
    return ok;
}

static BOOL vendor_out(WINUSB_INTERFACE_HANDLE h, UCHAR request, UCHAR value)
{
    WINUSB_SETUP_PACKET setup;
    ZeroMemory(&setup, sizeof setup);
    setup.RequestType = 0x40;   /* vendor, host to device, device */
    setup.Request = request;
    setup.Length = 1;
    ULONG done;
    return WinUsb_ControlTransfer(h, setup, &value, 1, &done, NULL);
}

static void progress(ULONG done, ULONG total)
{
    int width = 40;
    int filled = total ? (int)((ULONGLONG)done * (ULONGLONG)width / total) : width;
    printf("\r[");
    for (int i = 0; i < width; i++)
        putchar(i < filled ? '#' : '.');
    printf("] %3u%%  %u/%u bytes", total ? (unsigned)((ULONGLONG)done * 100 / total) : 100u, (unsigned)done,
           (unsigned)total);
    fflush(stdout);
}

static UCHAR *load_image(const char *name, ULONG *size)
{
    if (name == NULL) {
        *size = 256 * 1024;
        UCHAR *img = (UCHAR *)malloc(*size);
        for (ULONG i = 0; img && i < *size; i++)
            img[i] = (UCHAR)((i * 131u) ^ (i >> 9));
        return img;
    }
    FILE *f = fopen(name, "rb");
    if (f == NULL) {
        printf("cannot open %s\n", name);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    UCHAR *img = n > 0 ? (UCHAR *)malloc((size_t)n) : NULL;
    if (img == NULL || fread(img, 1, (size_t)n, f) != (size_t)n) {
        printf("cannot read %s\n", name);
        free(img);
        img = NULL;
    }
    fclose(f);
    *size = (ULONG)n;
    return img;
}

/* Streams the image: IN_FLIGHT overlapped writes queued on the OUT pipe, each block read
 * back and compared before the next one is queued. */
static BOOL update(WINUSB_INTERFACE_HANDLE h, UCHAR out_pipe, UCHAR in_pipe, const UCHAR *img, ULONG size)
{
    OVERLAPPED ov[IN_FLIGHT];
    ULONG offset[IN_FLIGHT], length[IN_FLIGHT];
    UCHAR back[BLOCK_SIZE];
    ULONG next = 0, verified = 0;
    BOOL ok = TRUE;
    for (int i = 0; i < IN_FLIGHT; i++) {
        ZeroMemory(&ov[i], sizeof ov[i]);
        ov[i].hEvent = CreateEvent(NULL, TRUE, FALSE, NULL);
        length[i] = 0;
    }
    /* Prime the queue. */
    for (int i = 0; i < IN_FLIGHT && next < size; i++) {
        offset[i] = next;
        length[i] = size - next < BLOCK_SIZE ? size - next : BLOCK_SIZE;
        next += length[i];
        if (!WinUsb_WritePipe(h, out_pipe, (PUCHAR)img + offset[i], length[i], NULL, &ov[i]) &&
            GetLastError() != ERROR_IO_PENDING) {
            printf("\nWinUsb_WritePipe failed: %u\n", (unsigned)GetLastError());
            ok = FALSE;
        }
    }
    for (int slot = 0; ok && verified < size; slot = (slot + 1) % IN_FLIGHT) {
        DWORD written = 0;
        if (!WinUsb_GetOverlappedResult(h, &ov[slot], &written, TRUE) || written != length[slot]) {
            printf("\nwrite of block at %u failed: %u\n", (unsigned)offset[slot], (unsigned)GetLastError());
            ok = FALSE;
            break;
        }
        /* Read the block back (the loopback may hand it over in pieces). */
        ULONG got = 0;
        while (got < length[slot]) {
            ULONG n = 0;
            if (!WinUsb_ReadPipe(h, in_pipe, back + got, length[slot] - got, &n, NULL)) {
                printf("\nWinUsb_ReadPipe failed: %u\n", (unsigned)GetLastError());
                ok = FALSE;
                break;
            }
            got += n;
        }
        if (!ok)
            break;
        if (memcmp(back, img + offset[slot], length[slot]) != 0) {
            printf("\nverify failed in block at %u\n", (unsigned)offset[slot]);
            ok = FALSE;
            break;
        }
        verified += length[slot];
        progress(verified, size);
        vendor_out(h, FX2_SET_BARGRAPH_DISPLAY, (UCHAR)(0xFFu >> (8 - (verified * 8ull) / size)));
        if (next < size) {
            offset[slot] = next;
            length[slot] = size - next < BLOCK_SIZE ? size - next : BLOCK_SIZE;
            next += length[slot];
            if (!WinUsb_WritePipe(h, out_pipe, (PUCHAR)img + offset[slot], length[slot], NULL, &ov[slot]) &&
                GetLastError() != ERROR_IO_PENDING) {
                printf("\nWinUsb_WritePipe failed: %u\n", (unsigned)GetLastError());
                ok = FALSE;
            }
        }
    }
    if (!ok)
        WinUsb_AbortPipe(h, out_pipe);
    for (int i = 0; i < IN_FLIGHT; i++)
        CloseHandle(ov[i].hEvent);
    printf("\n");
    return ok;
}

int main(int argc, char **argv)
{
    ULONG size = 0;
    UCHAR *img = load_image(argc > 1 ? argv[1] : NULL, &size);
    if (img == NULL)
        return 1;
    char path[MAX_PATH + 200];
    if (!find_device(&GUID_DEVINTERFACE_OWU_FX2, path, sizeof path)) {
        free(img);
        return 1;
    }
    HANDLE dev = CreateFile(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING,
                            FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OVERLAPPED, NULL);
    if (dev == INVALID_HANDLE_VALUE) {
        printf("CreateFile failed: %u\n", (unsigned)GetLastError());
        free(img);
        return 1;
    }
    WINUSB_INTERFACE_HANDLE h;
    if (!WinUsb_Initialize(dev, &h)) {
        printf("WinUsb_Initialize failed: %u\n", (unsigned)GetLastError());
        CloseHandle(dev);
        free(img);
        return 1;
    }
    UCHAR out_pipe = 0, in_pipe = 0;
    USB_INTERFACE_DESCRIPTOR ifd;
    if (WinUsb_QueryInterfaceSettings(h, 0, &ifd)) {
        for (UCHAR i = 0; i < ifd.bNumEndpoints; i++) {
            WINUSB_PIPE_INFORMATION p;
            if (WinUsb_QueryPipe(h, 0, i, &p) && p.PipeType == UsbdPipeTypeBulk) {
                if (USB_ENDPOINT_DIRECTION_IN(p.PipeId))
                    in_pipe = p.PipeId;
                else
                    out_pipe = p.PipeId;
            }
        }
    }
    BOOL ok = out_pipe && in_pipe;
    if (!ok)
        printf("the device has no bulk pipe pair\n");
    ULONG timeout = 5000;
    if (ok) {
        WinUsb_SetPipePolicy(h, out_pipe, PIPE_TRANSFER_TIMEOUT, sizeof timeout, &timeout);
        WinUsb_SetPipePolicy(h, in_pipe, PIPE_TRANSFER_TIMEOUT, sizeof timeout, &timeout);
        printf("Updating %s with %u bytes\n", path, (unsigned)size);
        vendor_out(h, FX2_SET_7SEGMENT_DISPLAY, SEG_U);
        ok = update(h, out_pipe, in_pipe, img, size);
        vendor_out(h, FX2_SET_7SEGMENT_DISPLAY, ok ? SEG_P : SEG_E);
    }
    printf(ok ? "Update verified.\n" : "Update failed.\n");
    WinUsb_Free(h);
    CloseHandle(dev);
    free(img);
    return ok ? 0 : 1;
}
