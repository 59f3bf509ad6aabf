/* Device descriptor validation: the 8-byte prefix the hub reads first, and the full 18 bytes. */
#include <openwinusb/descriptors.h>

#include <string.h>

static bool speed_is_usb2(enum owu_speed speed)
{
    return speed == OWU_SPEED_LOW || speed == OWU_SPEED_FULL || speed == OWU_SPEED_HIGH;
}

/* bMaxPacketSize0 (offset 7). A known speed decides the rule, because a device reports what
 * its current link uses: a USB 3 device on a USB 2 port must use 8..64 whatever bcdUSB says
 * (some leave bcdUSB at 0x0300 there), and a SuperSpeed link needs 9 (512 bytes) even when
 * bcdUSB is lower. With the speed unknown, bcdUSB >= 0x0300 means a SuperSpeed descriptor. */
static int check_ep0_size(const uint8_t *buf, enum owu_speed speed, owu_err *err)
{
    unsigned bcd = owu_le16(buf + 2);
    unsigned mps = buf[7];
    bool want_exponent;
    if (speed == OWU_SPEED_SUPER || speed == OWU_SPEED_SUPER_PLUS)
        want_exponent = true;
    else if (speed_is_usb2(speed))
        want_exponent = false;
    else
        want_exponent = bcd >= 0x0300;

    if (want_exponent) {
        if (mps != 9)
            return owu_fail(err, OWU_E_BADDESC,
                            "device descriptor: bMaxPacketSize0 %u (offset 7) is not 9 (512 bytes) "
                            "as %s requires",
                            mps, speed == OWU_SPEED_UNKNOWN ? "bcdUSB >= 0x0300" : "SuperSpeed");
        return OWU_OK;
    }
    if (speed == OWU_SPEED_LOW) {
        if (mps != 8)
            return owu_fail(err, OWU_E_BADDESC,
                            "device descriptor: bMaxPacketSize0 %u (offset 7) is not 8, the only "
                            "size allowed at low speed",
                            mps);
        return OWU_OK;
    }
    if (mps != 8 && mps != 16 && mps != 32 && mps != 64)
        return owu_fail(err, OWU_E_BADDESC,
                        "device descriptor: bMaxPacketSize0 %u (offset 7) is not 8, 16, 32 or 64 "
                        "(bcdUSB 0x%04x)",
                        mps, bcd);
    return OWU_OK;
}

int owu_device_desc_check_prefix(const uint8_t *buf, size_t len, enum owu_speed speed, owu_err *err)
{
    if (!buf || len < 8)
        return owu_fail(err, OWU_E_BADDESC,
                        "device descriptor: %zu of the first 8 bytes received",
                        buf ? len : 0);
    if (buf[0] != OWU_DEVICE_DESC_SIZE)
        return owu_fail(err, OWU_E_BADDESC, "device descriptor: bLength %u (offset 0) is not 18",
                        buf[0]);
    if (buf[1] != OWU_DT_DEVICE)
        return owu_fail(err, OWU_E_BADDESC,
                        "device descriptor: bDescriptorType 0x%02x (offset 1) is not 0x01 (device)",
                        buf[1]);
    return check_ep0_size(buf, speed, err);
}

int owu_device_desc_parse(const uint8_t *buf, size_t len, enum owu_speed speed,
                          struct owu_device_desc *out, owu_err *err)
{
    int rc = owu_device_desc_check_prefix(buf, len, speed, err);
    if (rc < 0)
        return rc;
    if (len < OWU_DEVICE_DESC_SIZE)
        return owu_fail(err, OWU_E_BADDESC,
                        "device descriptor: bLength 18 exceeds the %zu bytes received", len);
    if (buf[17] < 1)
        return owu_fail(err, OWU_E_BADDESC,
                        "device descriptor: bNumConfigurations 0 (offset 17) is below 1");
    if (out) {
        memset(out, 0, sizeof *out);
        out->bLength = buf[0];
        out->bDescriptorType = buf[1];
        out->bcdUSB = owu_le16(buf + 2);
        out->bDeviceClass = buf[4];
        out->bDeviceSubClass = buf[5];
        out->bDeviceProtocol = buf[6];
        out->bMaxPacketSize0 = buf[7];
        out->idVendor = owu_le16(buf + 8);
        out->idProduct = owu_le16(buf + 10);
        out->bcdDevice = owu_le16(buf + 12);
        out->iManufacturer = buf[14];
        out->iProduct = buf[15];
        out->iSerialNumber = buf[16];
        out->bNumConfigurations = buf[17];
    }
    return OWU_OK;
}

unsigned owu_ep0_max_packet(const struct owu_device_desc *d)
{
    if (!d)
        return 0;
    /* 9 is never a valid USB 2 byte count (8..64, powers of two), so it always means the
     * USB 3 exponent form, whatever bcdUSB says. */
    if (d->bMaxPacketSize0 == 9)
        return 512;
    return d->bMaxPacketSize0;
}
