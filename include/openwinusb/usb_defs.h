/* openwinusb: USB constants from the USB 2.0/3.x specifications (chapter 9). */
#ifndef OPENWINUSB_USB_DEFS_H
#define OPENWINUSB_USB_DEFS_H

#include <stdint.h>

/* Descriptor types (bDescriptorType). */
enum {
    OWU_DT_DEVICE = 0x01,
    OWU_DT_CONFIG = 0x02,
    OWU_DT_STRING = 0x03,
    OWU_DT_INTERFACE = 0x04,
    OWU_DT_ENDPOINT = 0x05,
    OWU_DT_DEVICE_QUALIFIER = 0x06,
    OWU_DT_OTHER_SPEED_CONFIG = 0x07,
    OWU_DT_INTERFACE_POWER = 0x08,
    OWU_DT_OTG = 0x09,
    OWU_DT_DEBUG = 0x0A,
    OWU_DT_IAD = 0x0B,
    OWU_DT_BOS = 0x0F,
    OWU_DT_DEVICE_CAPABILITY = 0x10,
    OWU_DT_HID = 0x21,
    OWU_DT_HID_REPORT = 0x22,
    OWU_DT_CS_INTERFACE = 0x24,
    OWU_DT_CS_ENDPOINT = 0x25,
    OWU_DT_HUB = 0x29,
    OWU_DT_SS_HUB = 0x2A,
    OWU_DT_SS_EP_COMPANION = 0x30,
    OWU_DT_SSP_ISO_EP_COMPANION = 0x31,
};

/* Device capability types inside a BOS (bDevCapabilityType). */
enum {
    OWU_CAP_WIRELESS_USB = 0x01,
    OWU_CAP_USB20_EXTENSION = 0x02,
    OWU_CAP_SUPERSPEED_USB = 0x03,
    OWU_CAP_CONTAINER_ID = 0x04,
    OWU_CAP_PLATFORM = 0x05,
    OWU_CAP_SUPERSPEED_PLUS = 0x0A,
    OWU_CAP_BILLBOARD = 0x0D,
};

/* Standard requests (bRequest). */
enum {
    OWU_REQ_GET_STATUS = 0x00,
    OWU_REQ_CLEAR_FEATURE = 0x01,
    OWU_REQ_SET_FEATURE = 0x03,
    OWU_REQ_SET_ADDRESS = 0x05,
    OWU_REQ_GET_DESCRIPTOR = 0x06,
    OWU_REQ_SET_DESCRIPTOR = 0x07,
    OWU_REQ_GET_CONFIGURATION = 0x08,
    OWU_REQ_SET_CONFIGURATION = 0x09,
    OWU_REQ_GET_INTERFACE = 0x0A,
    OWU_REQ_SET_INTERFACE = 0x0B,
    OWU_REQ_SYNCH_FRAME = 0x0C,
    OWU_REQ_SET_SEL = 0x30,
    OWU_REQ_SET_ISOCH_DELAY = 0x31,
};

/* bmRequestType pieces. */
enum {
    OWU_DIR_OUT = 0x00,
    OWU_DIR_IN = 0x80,
    OWU_TYPE_STANDARD = 0x00,
    OWU_TYPE_CLASS = 0x20,
    OWU_TYPE_VENDOR = 0x40,
    OWU_TYPE_MASK = 0x60,
    OWU_RECIP_DEVICE = 0x00,
    OWU_RECIP_INTERFACE = 0x01,
    OWU_RECIP_ENDPOINT = 0x02,
    OWU_RECIP_OTHER = 0x03,
    OWU_RECIP_MASK = 0x1F,
};

/* Feature selectors. */
enum {
    OWU_FEAT_ENDPOINT_HALT = 0,
    OWU_FEAT_DEVICE_REMOTE_WAKEUP = 1,
    OWU_FEAT_TEST_MODE = 2,
    OWU_FEAT_FUNCTION_SUSPEND = 0, /* interface recipient, USB 3 */
};

/* Endpoint transfer types (bmAttributes & 3). */
enum owu_xfer_type {
    OWU_XFER_CONTROL = 0,
    OWU_XFER_ISOCHRONOUS = 1,
    OWU_XFER_BULK = 2,
    OWU_XFER_INTERRUPT = 3,
};

/* Bus speeds. */
enum owu_speed {
    OWU_SPEED_UNKNOWN = 0,
    OWU_SPEED_LOW,        /* 1.5 Mb/s */
    OWU_SPEED_FULL,       /* 12 Mb/s */
    OWU_SPEED_HIGH,       /* 480 Mb/s */
    OWU_SPEED_SUPER,      /* 5 Gb/s */
    OWU_SPEED_SUPER_PLUS, /* 10 Gb/s and up */
};

/* USB class codes used by the stack's own logic. */
enum {
    OWU_CLASS_PER_INTERFACE = 0x00,
    OWU_CLASS_AUDIO = 0x01,
    OWU_CLASS_COMM = 0x02,
    OWU_CLASS_HID = 0x03,
    OWU_CLASS_PRINTER = 0x07,
    OWU_CLASS_MASS_STORAGE = 0x08,
    OWU_CLASS_HUB = 0x09,
    OWU_CLASS_CDC_DATA = 0x0A,
    OWU_CLASS_VIDEO = 0x0E,
    OWU_CLASS_BILLBOARD = 0x11,
    OWU_CLASS_MISC = 0xEF,
    OWU_CLASS_VENDOR = 0xFF,
};

/* The 8-byte SETUP packet, host byte order. */
struct owu_setup {
    uint8_t bmRequestType;
    uint8_t bRequest;
    uint16_t wValue;
    uint16_t wIndex;
    uint16_t wLength;
};

/* Serialise / deserialise the wire form (little-endian, 8 bytes). */
static inline void owu_setup_pack(const struct owu_setup *s, uint8_t out[8])
{
    out[0] = s->bmRequestType;
    out[1] = s->bRequest;
    out[2] = (uint8_t)(s->wValue & 0xFF);
    out[3] = (uint8_t)(s->wValue >> 8);
    out[4] = (uint8_t)(s->wIndex & 0xFF);
    out[5] = (uint8_t)(s->wIndex >> 8);
    out[6] = (uint8_t)(s->wLength & 0xFF);
    out[7] = (uint8_t)(s->wLength >> 8);
}

static inline void owu_setup_unpack(const uint8_t in[8], struct owu_setup *s)
{
    s->bmRequestType = in[0];
    s->bRequest = in[1];
    s->wValue = (uint16_t)(in[2] | in[3] << 8);
    s->wIndex = (uint16_t)(in[4] | in[5] << 8);
    s->wLength = (uint16_t)(in[6] | in[7] << 8);
}

static inline uint16_t owu_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t owu_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void owu_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void owu_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Name of a speed for people ("high") and its inverse; returns OWU_SPEED_UNKNOWN for junk.
 * Names: "unknown", "low", "full", "high", "super", "super-plus" (inverse ignores case). */
const char *owu_speed_name(enum owu_speed speed);
enum owu_speed owu_speed_from_name(const char *name);

#endif
