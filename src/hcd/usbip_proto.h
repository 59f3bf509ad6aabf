/* USB/IP protocol 1.1.1: the one encoder/decoder for every PDU, management and URB.
 *
 * Pure functions over byte buffers (no sockets, no allocation except the devlist helpers),
 * so that the client, the server, the tests and the fuzzer share them. All integers on the
 * wire are big-endian; the SETUP packet inside CMD_SUBMIT keeps its USB (little-endian)
 * order. Every decoder checks lengths, counts and strings against the limits below and
 * fails with OWU_E_PARSE and a message naming the PDU, the field and its byte offset.
 *
 * Layouts (facts from ../shared/reference/linux-usb.md §2):
 *   management header   8 bytes: u16 version (0x0111) | u16 code | u32 status
 *   OP_REQ_DEVLIST      header
 *   OP_REP_DEVLIST      header | u32 ndev | ndev × (device 312 bytes + nif × 4 bytes)
 *   OP_REQ_IMPORT       header | busid[32]
 *   OP_REP_IMPORT       header | device 312 bytes (only when status == 0)
 *   URB PDUs            48-byte header, then OUT/IN data, then ISO packet descriptors (16 each)
 */
#ifndef OWU_HCD_USBIP_PROTO_H
#define OWU_HCD_USBIP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openwinusb/error.h>
#include <openwinusb/usb_defs.h>

#define OWU_USBIP_VERSION 0x0111
#define OWU_USBIP_DEFAULT_PORT 3240

/* Management operation codes: request = 0x8000 | op, reply = op. */
enum {
    OWU_USBIP_OP_REQ_DEVLIST = 0x8005,
    OWU_USBIP_OP_REP_DEVLIST = 0x0005,
    OWU_USBIP_OP_REQ_IMPORT = 0x8003,
    OWU_USBIP_OP_REP_IMPORT = 0x0003,
};

/* Device host extension ops (docs/device-host.md; never sent to a real USB/IP peer).
 *   IMPORT_SHARED  request 40 bytes like OP_REQ_IMPORT; reply a standard OP_REP_IMPORT
 *   CLAIM/RELEASE  request 8 bytes, status field = interface number; reply 8 bytes with the
 *                  reply code and an OWU_USBIP_ST_* status (DEV_BUSY: claimed elsewhere)
 * In the URB phase an extension op is told from an URB PDU by its first two bytes: 0x0111
 * (an URB PDU starts with a 32-bit command 1..4, so its first two bytes are 0). */
enum {
    OWU_USBIP_OP_REQ_IMPORT_SHARED = 0x8F03,
    OWU_USBIP_OP_REQ_CLAIM = 0x8F10,
    OWU_USBIP_OP_REP_CLAIM = 0x0F10,
    OWU_USBIP_OP_REQ_RELEASE = 0x8F11,
    OWU_USBIP_OP_REP_RELEASE = 0x0F11,
};

/* Management reply status values (as the Linux tools use them). */
enum {
    OWU_USBIP_ST_OK = 0,
    OWU_USBIP_ST_NA = 1,        /* not available */
    OWU_USBIP_ST_DEV_BUSY = 2,  /* imported by someone else */
    OWU_USBIP_ST_DEV_ERR = 3,
    OWU_USBIP_ST_NODEV = 4,     /* no such busid */
    OWU_USBIP_ST_ERROR = 5,
};

/* URB PDU commands. */
enum {
    OWU_USBIP_CMD_SUBMIT = 1,
    OWU_USBIP_CMD_UNLINK = 2,
    OWU_USBIP_RET_SUBMIT = 3,
    OWU_USBIP_RET_UNLINK = 4,
};

enum { OWU_USBIP_DIR_OUT = 0, OWU_USBIP_DIR_IN = 1 };

/* transfer_flags bits we send and honour (the kernel URB_* values mirrored by usbip.h). */
enum {
    OWU_USBIP_URB_SHORT_NOT_OK = 0x0001,
    OWU_USBIP_URB_ISO_ASAP = 0x0002,
    OWU_USBIP_URB_ZERO_PACKET = 0x0040,
    OWU_USBIP_URB_DIR_IN = 0x0200,
};

/* enum usb_device_speed as carried in the device record. */
enum {
    OWU_USBIP_SPEED_UNKNOWN = 0,
    OWU_USBIP_SPEED_LOW = 1,
    OWU_USBIP_SPEED_FULL = 2,
    OWU_USBIP_SPEED_HIGH = 3,
    OWU_USBIP_SPEED_WIRELESS = 4,
    OWU_USBIP_SPEED_SUPER = 5,
    OWU_USBIP_SPEED_SUPER_PLUS = 6,
};

#define OWU_USBIP_OP_HEADER_SIZE 8
#define OWU_USBIP_DEVICE_SIZE 312
#define OWU_USBIP_INTERFACE_SIZE 4
#define OWU_USBIP_REQ_IMPORT_SIZE 40
#define OWU_USBIP_REP_IMPORT_SIZE (OWU_USBIP_OP_HEADER_SIZE + OWU_USBIP_DEVICE_SIZE)
#define OWU_USBIP_DEVLIST_HEAD_SIZE 12
#define OWU_USBIP_HEADER_SIZE 48
#define OWU_USBIP_ISO_DESC_SIZE 16
#define OWU_USBIP_PATH_SIZE 256
#define OWU_USBIP_BUSID_SIZE 32

/* Limits every decoder enforces. A transfer larger than this is refused (it would let a
 * peer make us allocate without bound); Linux hosts rarely exceed a few hundred KiB. */
#define OWU_USBIP_MAX_TRANSFER (16u * 1024u * 1024u)
#define OWU_USBIP_MAX_ISO_PACKETS 1024u
#define OWU_USBIP_MAX_DEVICES 4096u      /* in one OP_REP_DEVLIST */
#define OWU_USBIP_MAX_INTERFACES 255u    /* bNumInterfaces is a byte */

struct owu_usbip_op_header {
    uint16_t version;
    uint16_t code;
    uint32_t status;
};

struct owu_usbip_interface {
    uint8_t bInterfaceClass;
    uint8_t bInterfaceSubClass;
    uint8_t bInterfaceProtocol;
};

/* usbip_usb_device plus, in a devlist, its interface records. */
struct owu_usbip_device {
    char path[OWU_USBIP_PATH_SIZE];      /* NUL-terminated */
    char busid[OWU_USBIP_BUSID_SIZE];    /* NUL-terminated */
    uint32_t busnum;
    uint32_t devnum;
    uint32_t speed;                      /* OWU_USBIP_SPEED_* */
    uint16_t idVendor;
    uint16_t idProduct;
    uint16_t bcdDevice;
    uint8_t bDeviceClass;
    uint8_t bDeviceSubClass;
    uint8_t bDeviceProtocol;
    uint8_t bConfigurationValue;
    uint8_t bNumConfigurations;
    uint8_t bNumInterfaces;
    struct owu_usbip_interface interfaces[OWU_USBIP_MAX_INTERFACES];  /* devlist only */
};

/* One URB PDU header. Which fields apply depends on `command`; the others are zero after
 * decoding and ignored when encoding. */
struct owu_usbip_pdu {
    uint32_t command;
    uint32_t seqnum;
    uint32_t devid;                      /* (busnum << 16) | devnum */
    uint32_t direction;                  /* OWU_USBIP_DIR_*, 0 in RET_* */
    uint32_t ep;                         /* endpoint number 0..15 without direction bit */
    /* CMD_SUBMIT */
    uint32_t transfer_flags;
    uint32_t transfer_buffer_length;
    int32_t interval;
    uint8_t setup[8];                    /* wire (little-endian) order */
    /* CMD_SUBMIT and RET_SUBMIT */
    int32_t start_frame;
    int32_t number_of_packets;           /* -1 (or 0) for non-ISO */
    /* RET_SUBMIT */
    int32_t status;                      /* 0 or a negative Linux errno; also RET_UNLINK */
    uint32_t actual_length;
    int32_t error_count;
    /* CMD_UNLINK */
    uint32_t unlink_seqnum;
};

struct owu_usbip_iso_desc {
    uint32_t offset;
    uint32_t length;
    uint32_t actual_length;
    int32_t status;
};

/* ---- management PDUs ---------------------------------------------------------------------- */

void owu_usbip_encode_op_header(uint8_t out[OWU_USBIP_OP_HEADER_SIZE], uint16_t code, uint32_t status);
/* Checks the version (0x0111) and, when expected_code != 0, the code. */
int owu_usbip_decode_op_header(const uint8_t *buf, size_t len, uint16_t expected_code,
                               struct owu_usbip_op_header *out, owu_err *err);

/* busid must be shorter than 32 bytes. */
int owu_usbip_encode_req_import(uint8_t out[OWU_USBIP_REQ_IMPORT_SIZE], const char *busid, owu_err *err);
/* Whole request (header included). busid_out gets a NUL-terminated copy. */
int owu_usbip_decode_req_import(const uint8_t *buf, size_t len, char busid_out[OWU_USBIP_BUSID_SIZE],
                                owu_err *err);
/* The same with another op code in the header (the device host's shared import,
 * OWU_USBIP_OP_REQ_IMPORT_SHARED, has the layout of OP_REQ_IMPORT). */
int owu_usbip_encode_req_import_code(uint8_t out[OWU_USBIP_REQ_IMPORT_SIZE], uint16_t code, const char *busid,
                                    owu_err *err);
int owu_usbip_decode_req_import_code(const uint8_t *buf, size_t len, uint16_t code,
                                    char busid_out[OWU_USBIP_BUSID_SIZE], owu_err *err);

/* The 312-byte device record (interfaces not included). Encoding checks that path and
 * busid fit with their NUL; decoding checks that they are NUL-terminated inside their field. */
int owu_usbip_encode_device(uint8_t out[OWU_USBIP_DEVICE_SIZE], const struct owu_usbip_device *dev,
                            owu_err *err);
int owu_usbip_decode_device(const uint8_t *buf, size_t len, struct owu_usbip_device *dev, owu_err *err);
/* bNumInterfaces interface records (4 bytes each) into dev->interfaces. */
void owu_usbip_encode_interfaces(uint8_t *out, const struct owu_usbip_device *dev);
int owu_usbip_decode_interfaces(const uint8_t *buf, size_t len, struct owu_usbip_device *dev,
                                owu_err *err);

/* OP_REP_IMPORT: status != 0 gives the 8-byte form (dev ignored), else 320 bytes.
 * Returns the encoded length, or a negative status. */
int owu_usbip_encode_rep_import(uint8_t out[OWU_USBIP_REP_IMPORT_SIZE], uint32_t status,
                                const struct owu_usbip_device *dev, owu_err *err);
/* *status gets the reply status; dev is filled only when it is 0 (then len must be 320). */
int owu_usbip_decode_rep_import(const uint8_t *buf, size_t len, uint32_t *status,
                                struct owu_usbip_device *dev, owu_err *err);

/* Size of a devlist reply for these devices. */
size_t owu_usbip_devlist_size(const struct owu_usbip_device *devs, size_t n);
/* Whole OP_REP_DEVLIST into a new buffer (*out, freed with free()). */
int owu_usbip_encode_devlist(const struct owu_usbip_device *devs, size_t n, uint8_t **out,
                             size_t *out_len, owu_err *err);
/* The 12-byte head of OP_REP_DEVLIST: header and device count (<= OWU_USBIP_MAX_DEVICES). */
int owu_usbip_decode_devlist_head(const uint8_t *buf, size_t len, uint32_t *ndev, owu_err *err);
/* Whole reply; *devs is a new array (free()) of *n devices. Bytes after the last device
 * are an error. */
int owu_usbip_decode_devlist(const uint8_t *buf, size_t len, struct owu_usbip_device **devs,
                             size_t *n, owu_err *err);

/* ---- URB PDUs ------------------------------------------------------------------------------ */

/* The 48-byte header. Encoding writes zeros for every field the command does not use. */
void owu_usbip_encode_pdu(uint8_t out[OWU_USBIP_HEADER_SIZE], const struct owu_usbip_pdu *pdu);
/* Checks: command known; for CMD_SUBMIT direction 0/1, ep <= 15, transfer_buffer_length
 * <= OWU_USBIP_MAX_TRANSFER, number_of_packets -1, 0 or 1..OWU_USBIP_MAX_ISO_PACKETS, and
 * for control (ep 0) the direction matching the SETUP bit 7 and wLength <= length; for
 * RET_SUBMIT actual_length <= OWU_USBIP_MAX_TRANSFER, number_of_packets as above,
 * error_count 0..number_of_packets; for CMD_UNLINK ep <= 15. */
int owu_usbip_decode_pdu(const uint8_t *buf, size_t len, struct owu_usbip_pdu *pdu, owu_err *err);

/* Number of ISO packets a decoded PDU announces (0 for non-ISO). */
static inline uint32_t owu_usbip_iso_count(const struct owu_usbip_pdu *pdu)
{
    return pdu->number_of_packets > 0 ? (uint32_t)pdu->number_of_packets : 0;
}

/* Payload bytes that follow a header on the wire: for CMD_SUBMIT the OUT data
 * (transfer_buffer_length when OUT) plus 16 × packets; for RET_SUBMIT the IN data
 * (actual_length when the original request was IN, which only its sender knows: `in`)
 * plus 16 × packets; 0 for the unlink PDUs. */
size_t owu_usbip_payload_size(const struct owu_usbip_pdu *pdu, bool in);

/* ISO packet descriptors. Decoding checks for each packet offset + length <=
 * buffer_length, actual_length <= length; with `ret` set (a RET_SUBMIT) also that the
 * actual lengths add up to total_actual (IN) — pass ret = false for CMD_SUBMIT. */
void owu_usbip_encode_iso(uint8_t *out, const struct owu_usbip_iso_desc *d, uint32_t n);
int owu_usbip_decode_iso(const uint8_t *buf, size_t len, uint32_t n, uint32_t buffer_length,
                         bool ret, bool in, uint32_t total_actual, struct owu_usbip_iso_desc *d,
                         owu_err *err);

/* ---- helpers ---------------------------------------------------------------------------------- */

const char *owu_usbip_command_name(uint32_t command);
const char *owu_usbip_op_status_name(uint32_t status);
/* USB/IP speed <-> ours. */
enum owu_speed owu_usbip_speed_to_owu(uint32_t speed);
uint32_t owu_usbip_speed_from_owu(enum owu_speed speed);
/* URB status <-> the Linux negative errno on the wire. */
int32_t owu_usbip_status_to_errno(int status);
int owu_usbip_errno_to_status(int32_t err);

#endif
