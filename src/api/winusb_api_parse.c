/* WinUsb_ParseConfigurationDescriptor and WinUsb_ParseDescriptors (shared/reference/winusb-api.md
 * §3.18): searches of a descriptor buffer from a start position, like the kernel's
 * USBD_ParseConfigurationDescriptorEx / USBD_ParseDescriptors. -1 means "any" for every
 * criterion. The walk stops at the first descriptor whose bLength is 0 or runs past the end,
 * so a malformed buffer ends the search instead of looping or reading outside it. */
#include "api/winusb_api_internal.h"

static const UCHAR *find(const UCHAR *buf, size_t total, const UCHAR *start, LONG type,
                         bool (*match)(const UCHAR *d, size_t len, void *ctx), void *ctx)
{
    if (!buf)
        return NULL;
    const UCHAR *end = buf + total;
    if (!start)
        start = buf;
    if (start < buf || start >= end)
        return NULL;
    const UCHAR *p = buf;
    while (p + 2 <= end) {
        size_t len = p[0];
        if (len < 2 || (size_t)(end - p) < len)
            return NULL;
        if (p >= start && (type == -1 || p[1] == (UCHAR)type) && (!match || match(p, len, ctx)))
            return p;
        p += len;
    }
    return NULL;
}

struct intf_crit {
    LONG number, alt, cls, sub, proto;
};

static bool crit_ok(LONG want, UCHAR have) { return want == -1 || (UCHAR)want == have; }

static bool match_intf(const UCHAR *d, size_t len, void *ctx)
{
    const struct intf_crit *c = ctx;
    return len >= 9 && crit_ok(c->number, d[2]) && crit_ok(c->alt, d[3]) && crit_ok(c->cls, d[5]) &&
           crit_ok(c->sub, d[6]) && crit_ok(c->proto, d[7]);
}

PUSB_INTERFACE_DESCRIPTOR WINAPI WinUsb_ParseConfigurationDescriptor(
    PUSB_CONFIGURATION_DESCRIPTOR ConfigurationDescriptor, PVOID StartPosition, LONG InterfaceNumber,
    LONG AlternateSetting, LONG InterfaceClass, LONG InterfaceSubClass, LONG InterfaceProtocol)
{
    if (!ConfigurationDescriptor)
        return NULL;
    struct intf_crit c = {InterfaceNumber, AlternateSetting, InterfaceClass, InterfaceSubClass, InterfaceProtocol};
    const UCHAR *p = find((const UCHAR *)ConfigurationDescriptor, ConfigurationDescriptor->wTotalLength,
                          StartPosition, USB_INTERFACE_DESCRIPTOR_TYPE, match_intf, &c);
    return (PUSB_INTERFACE_DESCRIPTOR)(uintptr_t)p;
}

PUSB_COMMON_DESCRIPTOR WINAPI WinUsb_ParseDescriptors(PVOID DescriptorBuffer, ULONG TotalLength,
                                                      PVOID StartPosition, LONG DescriptorType)
{
    const UCHAR *p = find(DescriptorBuffer, TotalLength, StartPosition, DescriptorType, NULL, NULL);
    return (PUSB_COMMON_DESCRIPTOR)(uintptr_t)p;
}
