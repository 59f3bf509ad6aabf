/* WinUsb_ParseConfigurationDescriptor and WinUsb_ParseDescriptors (winusb-api.md §3.18):
 * searches with "don't care" criteria, start positions, and malformed buffers (bLength 0,
 * descriptors running past the end) that must end the search, never overrun it. */
#include <openwinusb/win32/winusb.h>

#include "check.h"

/* A configuration: interface 0 (alt 0, 1), interface 1 with class-specific and endpoint
 * descriptors. */
static const UCHAR cfg[] = {
    9, 2, 59, 0, 2, 1, 0, 0x80, 50,
    9, 4, 0, 0, 1, 0xFF, 0x01, 0x02, 0,
    7, 5, 0x81, 2, 0x00, 0x02, 0,
    9, 4, 0, 1, 1, 0xFF, 0x01, 0x03, 0,
    7, 5, 0x81, 2, 0x00, 0x02, 0,
    9, 4, 1, 0, 1, 0x0A, 0x00, 0x00, 0,
    5, 0x24, 0x00, 0x10, 0x01,
    4, 0x24, 0x02, 0x00,
};
_Static_assert(sizeof cfg == 59, "wTotalLength");

static void test_parse_configuration(void)
{
    PUSB_CONFIGURATION_DESCRIPTOR c = (PUSB_CONFIGURATION_DESCRIPTOR)(void *)cfg;
    PUSB_INTERFACE_DESCRIPTOR i = WinUsb_ParseConfigurationDescriptor(c, c, -1, -1, -1, -1, -1);
    CHECK(i == (PUSB_INTERFACE_DESCRIPTOR)(void *)(cfg + 9));
    i = WinUsb_ParseConfigurationDescriptor(c, c, 0, 1, -1, -1, -1);
    CHECK(i == (PUSB_INTERFACE_DESCRIPTOR)(void *)(cfg + 25));
    CHECK_INT(i->bInterfaceProtocol, 3);
    i = WinUsb_ParseConfigurationDescriptor(c, c, -1, -1, 0x0A, -1, -1);
    CHECK(i && i->bInterfaceNumber == 1);
    i = WinUsb_ParseConfigurationDescriptor(c, c, -1, -1, 0xFF, 0x01, 0x03);
    CHECK(i && i->bAlternateSetting == 1);
    CHECK(WinUsb_ParseConfigurationDescriptor(c, c, 2, -1, -1, -1, -1) == NULL);
    /* From a start position: the next interface at or after it. */
    i = WinUsb_ParseConfigurationDescriptor(c, (PVOID)(cfg + 10), -1, -1, -1, -1, -1);
    CHECK(i == (PUSB_INTERFACE_DESCRIPTOR)(void *)(cfg + 25));
    CHECK(WinUsb_ParseConfigurationDescriptor(c, (PVOID)(cfg + 59), -1, -1, -1, -1, -1) == NULL);
    CHECK(WinUsb_ParseConfigurationDescriptor(NULL, NULL, -1, -1, -1, -1, -1) == NULL);
    /* NULL start = from the beginning. */
    CHECK(WinUsb_ParseConfigurationDescriptor(c, NULL, 1, -1, -1, -1, -1) == (PUSB_INTERFACE_DESCRIPTOR)(void *)(cfg + 41));
}

static void test_parse_descriptors(void)
{
    PUSB_COMMON_DESCRIPTOR d = WinUsb_ParseDescriptors((PVOID)cfg, sizeof cfg, (PVOID)cfg, USB_ENDPOINT_DESCRIPTOR_TYPE);
    CHECK(d == (PUSB_COMMON_DESCRIPTOR)(void *)(cfg + 18));
    d = WinUsb_ParseDescriptors((PVOID)cfg, sizeof cfg, (PVOID)(cfg + 19), USB_ENDPOINT_DESCRIPTOR_TYPE);
    CHECK(d == (PUSB_COMMON_DESCRIPTOR)(void *)(cfg + 34));
    d = WinUsb_ParseDescriptors((PVOID)cfg, sizeof cfg, (PVOID)cfg, 0x24);
    CHECK(d && d->bLength == 5);
    d = WinUsb_ParseDescriptors((PVOID)cfg, sizeof cfg, (PVOID)cfg, -1);
    CHECK(d == (PUSB_COMMON_DESCRIPTOR)(void *)cfg);
    CHECK(WinUsb_ParseDescriptors((PVOID)cfg, sizeof cfg, (PVOID)cfg, USB_STRING_DESCRIPTOR_TYPE) == NULL);
    CHECK(WinUsb_ParseDescriptors(NULL, 10, NULL, 4) == NULL);
    /* A shorter TotalLength hides what lies beyond it. */
    CHECK(WinUsb_ParseDescriptors((PVOID)cfg, 18, (PVOID)cfg, USB_ENDPOINT_DESCRIPTOR_TYPE) == NULL);
}

static void test_malformed(void)
{
    /* bLength 0 in the middle: the search stops there. */
    UCHAR zero[] = {9, 2, 27, 0, 1, 1, 0, 0x80, 50, 0, 4, 0, 0, 0, 0, 0, 0, 0, 9, 4, 0, 0, 0, 0xFF, 0, 0, 0};
    PUSB_CONFIGURATION_DESCRIPTOR c = (PUSB_CONFIGURATION_DESCRIPTOR)(void *)zero;
    CHECK(WinUsb_ParseConfigurationDescriptor(c, c, -1, -1, -1, -1, -1) == NULL);
    /* An interface descriptor whose bLength runs past wTotalLength is not returned. */
    UCHAR over[] = {9, 2, 14, 0, 1, 1, 0, 0x80, 50, 9, 4, 0, 0, 0};
    c = (PUSB_CONFIGURATION_DESCRIPTOR)(void *)over;
    CHECK(WinUsb_ParseConfigurationDescriptor(c, c, -1, -1, -1, -1, -1) == NULL);
    /* A too-short "interface" descriptor does not count as one. */
    UCHAR shortdesc[] = {9, 2, 13, 0, 1, 1, 0, 0x80, 50, 4, 4, 0, 0};
    c = (PUSB_CONFIGURATION_DESCRIPTOR)(void *)shortdesc;
    CHECK(WinUsb_ParseConfigurationDescriptor(c, c, -1, -1, -1, -1, -1) == NULL);
    CHECK(WinUsb_ParseDescriptors(shortdesc, sizeof shortdesc, shortdesc, 4) != NULL);
    /* One trailing byte: no descriptor header fits. */
    UCHAR tail[] = {2, 0x24, 7};
    CHECK(WinUsb_ParseDescriptors(tail, sizeof tail, tail, 7) == NULL);
    CHECK(WinUsb_ParseDescriptors(tail, sizeof tail, tail + 2, -1) == NULL);
}

int main(void)
{
    RUN(test_parse_configuration);
    RUN(test_parse_descriptors);
    RUN(test_malformed);
    return check_report();
}
