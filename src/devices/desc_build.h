/* Byte-list macros for writing the device models' constant descriptor tables. Each expands to
 * a comma-separated initializer list, so a configuration reads like its wire layout. The
 * total lengths (wTotalLength, MS OS dwLength/wTotalLength) are written by hand next to
 * the tables; tests/test_models.c checks every one of them against the real sizes. */
#ifndef OWU_DEVICES_DESC_BUILD_H
#define OWU_DEVICES_DESC_BUILD_H

#define OWU_LE16(v) (uint8_t)((v) & 0xFF), (uint8_t)(((v) >> 8) & 0xFF)
#define OWU_LE32(v) (uint8_t)((v) & 0xFF), (uint8_t)(((v) >> 8) & 0xFF), \
                    (uint8_t)(((v) >> 16) & 0xFF), (uint8_t)(((v) >> 24) & 0xFF)

#define OWU_D_DEVICE(bcdusb, cls, sub, proto, mps0, vid, pid, bcddev, imfr, iprod, iser, ncfg) \
    18, 0x01, OWU_LE16(bcdusb), cls, sub, proto, mps0, OWU_LE16(vid), OWU_LE16(pid),           \
        OWU_LE16(bcddev), imfr, iprod, iser, ncfg

#define OWU_D_CONFIG(total, nintf, value, iconf, attr, maxpower) \
    9, 0x02, OWU_LE16(total), nintf, value, iconf, attr, maxpower

#define OWU_D_INTERFACE(num, alt, neps, cls, sub, proto, iintf) \
    9, 0x04, num, alt, neps, cls, sub, proto, iintf

#define OWU_D_ENDPOINT(addr, attr, mps, interval) 7, 0x05, addr, attr, OWU_LE16(mps), interval

#define OWU_D_IAD(first, count, cls, sub, proto, ifunc) 8, 0x0B, first, count, cls, sub, proto, ifunc

/* bmAttributes of endpoints. */
#define OWU_EP_BULK 0x02
#define OWU_EP_INTR 0x03

/* One UTF-16LE code unit of an ASCII character, for MS OS property names and values. */
#define OWU_U16(c) (uint8_t)(c), 0

#endif
