/* USB/IP PDUs: encoding and strictly bounds-checked decoding (layouts in usbip_proto.h). */
#include "hcd/usbip_proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}
static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

const char *owu_usbip_command_name(uint32_t command)
{
    switch (command) {
    case OWU_USBIP_CMD_SUBMIT: return "CMD_SUBMIT";
    case OWU_USBIP_CMD_UNLINK: return "CMD_UNLINK";
    case OWU_USBIP_RET_SUBMIT: return "RET_SUBMIT";
    case OWU_USBIP_RET_UNLINK: return "RET_UNLINK";
    default: return "unknown command";
    }
}

const char *owu_usbip_op_status_name(uint32_t status)
{
    switch (status) {
    case OWU_USBIP_ST_OK: return "ok";
    case OWU_USBIP_ST_NA: return "not available";
    case OWU_USBIP_ST_DEV_BUSY: return "device busy (imported by another client)";
    case OWU_USBIP_ST_DEV_ERR: return "device error";
    case OWU_USBIP_ST_NODEV: return "no such device";
    case OWU_USBIP_ST_ERROR: return "error";
    default: return "unknown status";
    }
}

static const char *op_name(uint16_t code)
{
    switch (code) {
    case OWU_USBIP_OP_REQ_DEVLIST: return "OP_REQ_DEVLIST";
    case OWU_USBIP_OP_REP_DEVLIST: return "OP_REP_DEVLIST";
    case OWU_USBIP_OP_REQ_IMPORT: return "OP_REQ_IMPORT";
    case OWU_USBIP_OP_REP_IMPORT: return "OP_REP_IMPORT";
    default: return "management PDU";
    }
}

/* ---- management ------------------------------------------------------------------------ */

void owu_usbip_encode_op_header(uint8_t out[OWU_USBIP_OP_HEADER_SIZE], uint16_t code, uint32_t status)
{
    put16(out, OWU_USBIP_VERSION);
    put16(out + 2, code);
    put32(out + 4, status);
}

int owu_usbip_decode_op_header(const uint8_t *buf, size_t len, uint16_t expected_code,
                               struct owu_usbip_op_header *out, owu_err *err)
{
    const char *what = op_name(expected_code);
    if (len < OWU_USBIP_OP_HEADER_SIZE)
        return owu_fail(err, OWU_E_PARSE, "USB/IP %s: header truncated (%zu of 8 bytes)", what, len);
    out->version = be16(buf);
    out->code = be16(buf + 2);
    out->status = be32(buf + 4);
    if (out->version != OWU_USBIP_VERSION)
        return owu_fail(err, OWU_E_PARSE,
                        "USB/IP %s: version 0x%04X at offset 0 is not the supported 0x%04X", what,
                        out->version, OWU_USBIP_VERSION);
    if (expected_code && out->code != expected_code)
        return owu_fail(err, OWU_E_PARSE, "USB/IP %s: code 0x%04X at offset 2, expected 0x%04X",
                        what, out->code, expected_code);
    return OWU_OK;
}

/* A NUL-padded string field: must hold a NUL inside the field. */
static int get_string(const uint8_t *field, size_t size, char *out, const char *pdu,
                      const char *name, size_t offset, owu_err *err)
{
    const void *nul = memchr(field, 0, size);
    if (!nul)
        return owu_fail(err, OWU_E_PARSE,
                        "USB/IP %s: %s at offset %zu is not NUL-terminated within its %zu bytes",
                        pdu, name, offset, size);
    size_t n = (size_t)((const uint8_t *)nul - field);
    memcpy(out, field, n);
    memset(out + n, 0, size - n);
    return OWU_OK;
}

static int put_string(uint8_t *field, size_t size, const char *s, const char *pdu,
                      const char *name, owu_err *err)
{
    size_t n = s ? strnlen(s, size) : 0;
    if (n >= size)
        return owu_fail(err, OWU_E_INVAL, "USB/IP %s: %s is longer than %zu bytes", pdu, name,
                        size - 1);
    memset(field, 0, size);
    if (n)
        memcpy(field, s, n);
    return OWU_OK;
}

int owu_usbip_encode_req_import_code(uint8_t out[OWU_USBIP_REQ_IMPORT_SIZE], uint16_t code, const char *busid,
                                    owu_err *err)
{
    owu_usbip_encode_op_header(out, code, 0);
    if (!busid || !*busid)
        return owu_fail(err, OWU_E_INVAL, "USB/IP OP_REQ_IMPORT: empty busid");
    return put_string(out + 8, OWU_USBIP_BUSID_SIZE, busid, "OP_REQ_IMPORT", "busid", err);
}

int owu_usbip_encode_req_import(uint8_t out[OWU_USBIP_REQ_IMPORT_SIZE], const char *busid, owu_err *err)
{
    return owu_usbip_encode_req_import_code(out, OWU_USBIP_OP_REQ_IMPORT, busid, err);
}

int owu_usbip_decode_req_import_code(const uint8_t *buf, size_t len, uint16_t code,
                                    char busid_out[OWU_USBIP_BUSID_SIZE], owu_err *err)
{
    struct owu_usbip_op_header h;
    int rc = owu_usbip_decode_op_header(buf, len, code, &h, err);
    if (rc != OWU_OK)
        return rc;
    if (len != OWU_USBIP_REQ_IMPORT_SIZE)
        return owu_fail(err, OWU_E_PARSE, "USB/IP OP_REQ_IMPORT: %zu bytes, expected 40", len);
    rc = get_string(buf + 8, OWU_USBIP_BUSID_SIZE, busid_out, "OP_REQ_IMPORT", "busid", 8, err);
    if (rc == OWU_OK && busid_out[0] == '\0')
        return owu_fail(err, OWU_E_PARSE, "USB/IP OP_REQ_IMPORT: busid at offset 8 is empty");
    return rc;
}

int owu_usbip_decode_req_import(const uint8_t *buf, size_t len, char busid_out[OWU_USBIP_BUSID_SIZE],
                                owu_err *err)
{
    return owu_usbip_decode_req_import_code(buf, len, OWU_USBIP_OP_REQ_IMPORT, busid_out, err);
}

int owu_usbip_encode_device(uint8_t out[OWU_USBIP_DEVICE_SIZE], const struct owu_usbip_device *dev,
                            owu_err *err)
{
    int rc = put_string(out, OWU_USBIP_PATH_SIZE, dev->path, "device record", "path", err);
    if (rc == OWU_OK)
        rc = put_string(out + 256, OWU_USBIP_BUSID_SIZE, dev->busid, "device record", "busid", err);
    if (rc != OWU_OK)
        return rc;
    put32(out + 288, dev->busnum);
    put32(out + 292, dev->devnum);
    put32(out + 296, dev->speed);
    put16(out + 300, dev->idVendor);
    put16(out + 302, dev->idProduct);
    put16(out + 304, dev->bcdDevice);
    out[306] = dev->bDeviceClass;
    out[307] = dev->bDeviceSubClass;
    out[308] = dev->bDeviceProtocol;
    out[309] = dev->bConfigurationValue;
    out[310] = dev->bNumConfigurations;
    out[311] = dev->bNumInterfaces;
    return OWU_OK;
}

int owu_usbip_decode_device(const uint8_t *buf, size_t len, struct owu_usbip_device *dev, owu_err *err)
{
    if (len < OWU_USBIP_DEVICE_SIZE)
        return owu_fail(err, OWU_E_PARSE, "USB/IP device record: truncated (%zu of 312 bytes)", len);
    memset(dev, 0, sizeof *dev);
    int rc = get_string(buf, OWU_USBIP_PATH_SIZE, dev->path, "device record", "path", 0, err);
    if (rc == OWU_OK)
        rc = get_string(buf + 256, OWU_USBIP_BUSID_SIZE, dev->busid, "device record", "busid", 256, err);
    if (rc != OWU_OK)
        return rc;
    dev->busnum = be32(buf + 288);
    dev->devnum = be32(buf + 292);
    dev->speed = be32(buf + 296);
    dev->idVendor = be16(buf + 300);
    dev->idProduct = be16(buf + 302);
    dev->bcdDevice = be16(buf + 304);
    dev->bDeviceClass = buf[306];
    dev->bDeviceSubClass = buf[307];
    dev->bDeviceProtocol = buf[308];
    dev->bConfigurationValue = buf[309];
    dev->bNumConfigurations = buf[310];
    dev->bNumInterfaces = buf[311];
    if (dev->speed > OWU_USBIP_SPEED_SUPER_PLUS)
        return owu_fail(err, OWU_E_PARSE, "USB/IP device %s: speed %u at offset 296 is not 0..6",
                        dev->busid, dev->speed);
    if (dev->busnum > 0xFFFF || dev->devnum > 0xFFFF)
        return owu_fail(err, OWU_E_PARSE,
                        "USB/IP device %s: busnum %u / devnum %u (offsets 288/292) do not fit a devid",
                        dev->busid, dev->busnum, dev->devnum);
    return OWU_OK;
}

void owu_usbip_encode_interfaces(uint8_t *out, const struct owu_usbip_device *dev)
{
    for (unsigned i = 0; i < dev->bNumInterfaces; i++) {
        out[4 * i] = dev->interfaces[i].bInterfaceClass;
        out[4 * i + 1] = dev->interfaces[i].bInterfaceSubClass;
        out[4 * i + 2] = dev->interfaces[i].bInterfaceProtocol;
        out[4 * i + 3] = 0;
    }
}

int owu_usbip_decode_interfaces(const uint8_t *buf, size_t len, struct owu_usbip_device *dev,
                                owu_err *err)
{
    size_t need = (size_t)dev->bNumInterfaces * OWU_USBIP_INTERFACE_SIZE;
    if (len < need)
        return owu_fail(err, OWU_E_PARSE,
                        "USB/IP device %s: %u interface records need %zu bytes, only %zu present",
                        dev->busid, dev->bNumInterfaces, need, len);
    for (unsigned i = 0; i < dev->bNumInterfaces; i++) {
        dev->interfaces[i].bInterfaceClass = buf[4 * i];
        dev->interfaces[i].bInterfaceSubClass = buf[4 * i + 1];
        dev->interfaces[i].bInterfaceProtocol = buf[4 * i + 2];
    }
    return OWU_OK;
}

int owu_usbip_encode_rep_import(uint8_t out[OWU_USBIP_REP_IMPORT_SIZE], uint32_t status,
                                const struct owu_usbip_device *dev, owu_err *err)
{
    owu_usbip_encode_op_header(out, OWU_USBIP_OP_REP_IMPORT, status);
    if (status != OWU_USBIP_ST_OK)
        return OWU_USBIP_OP_HEADER_SIZE;
    int rc = owu_usbip_encode_device(out + 8, dev, err);
    return rc == OWU_OK ? OWU_USBIP_REP_IMPORT_SIZE : rc;
}

int owu_usbip_decode_rep_import(const uint8_t *buf, size_t len, uint32_t *status,
                                struct owu_usbip_device *dev, owu_err *err)
{
    struct owu_usbip_op_header h;
    int rc = owu_usbip_decode_op_header(buf, len, OWU_USBIP_OP_REP_IMPORT, &h, err);
    if (rc != OWU_OK)
        return rc;
    *status = h.status;
    if (h.status != OWU_USBIP_ST_OK) {
        if (len != OWU_USBIP_OP_HEADER_SIZE)
            return owu_fail(err, OWU_E_PARSE, "USB/IP OP_REP_IMPORT: failure reply of %zu bytes, expected 8", len);
        return OWU_OK;
    }
    if (len != OWU_USBIP_REP_IMPORT_SIZE)
        return owu_fail(err, OWU_E_PARSE, "USB/IP OP_REP_IMPORT: %zu bytes, expected 320", len);
    rc = owu_usbip_decode_device(buf + 8, len - 8, dev, err);
    if (rc != OWU_OK)
        return owu_err_wrap(err, "OP_REP_IMPORT (device record at offset 8): ");
    return OWU_OK;
}

size_t owu_usbip_devlist_size(const struct owu_usbip_device *devs, size_t n)
{
    size_t size = OWU_USBIP_DEVLIST_HEAD_SIZE;
    for (size_t i = 0; i < n; i++)
        size += OWU_USBIP_DEVICE_SIZE + (size_t)devs[i].bNumInterfaces * OWU_USBIP_INTERFACE_SIZE;
    return size;
}

int owu_usbip_encode_devlist(const struct owu_usbip_device *devs, size_t n, uint8_t **out,
                             size_t *out_len, owu_err *err)
{
    *out = NULL;
    *out_len = 0;
    if (n > OWU_USBIP_MAX_DEVICES)
        return owu_fail(err, OWU_E_INVAL, "USB/IP OP_REP_DEVLIST: %zu devices exceed the limit %u",
                        n, OWU_USBIP_MAX_DEVICES);
    size_t size = owu_usbip_devlist_size(devs, n);
    uint8_t *buf = calloc(1, size);
    if (!buf)
        return owu_fail(err, OWU_E_NOMEM, "out of memory");
    owu_usbip_encode_op_header(buf, OWU_USBIP_OP_REP_DEVLIST, 0);
    put32(buf + 8, (uint32_t)n);
    size_t off = OWU_USBIP_DEVLIST_HEAD_SIZE;
    for (size_t i = 0; i < n; i++) {
        int rc = owu_usbip_encode_device(buf + off, &devs[i], err);
        if (rc != OWU_OK) {
            free(buf);
            return rc;
        }
        off += OWU_USBIP_DEVICE_SIZE;
        owu_usbip_encode_interfaces(buf + off, &devs[i]);
        off += (size_t)devs[i].bNumInterfaces * OWU_USBIP_INTERFACE_SIZE;
    }
    *out = buf;
    *out_len = size;
    return OWU_OK;
}

int owu_usbip_decode_devlist_head(const uint8_t *buf, size_t len, uint32_t *ndev, owu_err *err)
{
    struct owu_usbip_op_header h;
    int rc = owu_usbip_decode_op_header(buf, len, OWU_USBIP_OP_REP_DEVLIST, &h, err);
    if (rc != OWU_OK)
        return rc;
    if (h.status != OWU_USBIP_ST_OK)
        return owu_fail(err, OWU_E_PARSE, "USB/IP OP_REP_DEVLIST: status %u (%s) at offset 4",
                        h.status, owu_usbip_op_status_name(h.status));
    if (len < OWU_USBIP_DEVLIST_HEAD_SIZE)
        return owu_fail(err, OWU_E_PARSE, "USB/IP OP_REP_DEVLIST: truncated before the device count");
    *ndev = be32(buf + 8);
    if (*ndev > OWU_USBIP_MAX_DEVICES)
        return owu_fail(err, OWU_E_PARSE,
                        "USB/IP OP_REP_DEVLIST: device count %u at offset 8 exceeds the limit %u",
                        *ndev, OWU_USBIP_MAX_DEVICES);
    return OWU_OK;
}

int owu_usbip_decode_devlist(const uint8_t *buf, size_t len, struct owu_usbip_device **devs,
                             size_t *n, owu_err *err)
{
    *devs = NULL;
    *n = 0;
    uint32_t ndev;
    int rc = owu_usbip_decode_devlist_head(buf, len, &ndev, err);
    if (rc != OWU_OK)
        return rc;
    /* Each device needs at least 312 bytes: a count the buffer cannot hold is refused before
     * anything is allocated for it. */
    size_t avail = len - OWU_USBIP_DEVLIST_HEAD_SIZE;
    if ((size_t)ndev > avail / OWU_USBIP_DEVICE_SIZE)
        return owu_fail(err, OWU_E_PARSE,
                        "USB/IP OP_REP_DEVLIST: device count %u at offset 8 needs at least %zu bytes, "
                        "only %zu present", ndev, (size_t)ndev * OWU_USBIP_DEVICE_SIZE, avail);
    struct owu_usbip_device *out = ndev ? calloc(ndev, sizeof *out) : NULL;
    if (ndev && !out)
        return owu_fail(err, OWU_E_NOMEM, "out of memory");
    size_t off = OWU_USBIP_DEVLIST_HEAD_SIZE;
    for (uint32_t i = 0; i < ndev; i++) {
        rc = owu_usbip_decode_device(buf + off, len - off, &out[i], err);
        if (rc == OWU_OK) {
            off += OWU_USBIP_DEVICE_SIZE;
            rc = owu_usbip_decode_interfaces(buf + off, len - off, &out[i], err);
            off += (size_t)out[i].bNumInterfaces * OWU_USBIP_INTERFACE_SIZE;
        }
        if (rc != OWU_OK) {
            free(out);
            return owu_err_wrap(err, "OP_REP_DEVLIST device %u: ", i);
        }
    }
    if (off != len) {
        free(out);
        return owu_fail(err, OWU_E_PARSE, "USB/IP OP_REP_DEVLIST: %zu bytes after the last device",
                        len - off);
    }
    *devs = out;
    *n = ndev;
    return OWU_OK;
}

/* ---- URB PDUs ---------------------------------------------------------------------------- */

void owu_usbip_encode_pdu(uint8_t out[OWU_USBIP_HEADER_SIZE], const struct owu_usbip_pdu *p)
{
    memset(out, 0, OWU_USBIP_HEADER_SIZE);
    put32(out, p->command);
    put32(out + 4, p->seqnum);
    put32(out + 8, p->devid);
    put32(out + 12, p->direction);
    put32(out + 16, p->ep);
    switch (p->command) {
    case OWU_USBIP_CMD_SUBMIT:
        put32(out + 20, p->transfer_flags);
        put32(out + 24, p->transfer_buffer_length);
        put32(out + 28, (uint32_t)p->start_frame);
        put32(out + 32, (uint32_t)p->number_of_packets);
        put32(out + 36, (uint32_t)p->interval);
        memcpy(out + 40, p->setup, 8);
        break;
    case OWU_USBIP_RET_SUBMIT:
        put32(out + 20, (uint32_t)p->status);
        put32(out + 24, p->actual_length);
        put32(out + 28, (uint32_t)p->start_frame);
        put32(out + 32, (uint32_t)p->number_of_packets);
        put32(out + 36, (uint32_t)p->error_count);
        break;
    case OWU_USBIP_CMD_UNLINK:
        put32(out + 20, p->unlink_seqnum);
        break;
    case OWU_USBIP_RET_UNLINK:
        put32(out + 20, (uint32_t)p->status);
        break;
    default:
        break;
    }
}

static int check_packets(int32_t np, const char *cmd, owu_err *err)
{
    if (np < -1 || np > (int32_t)OWU_USBIP_MAX_ISO_PACKETS)
        return owu_fail(err, OWU_E_PARSE,
                        "USB/IP %s: number_of_packets %d at offset 32 is not -1, 0 or 1..%u", cmd,
                        np, OWU_USBIP_MAX_ISO_PACKETS);
    return OWU_OK;
}

int owu_usbip_decode_pdu(const uint8_t *buf, size_t len, struct owu_usbip_pdu *p, owu_err *err)
{
    memset(p, 0, sizeof *p);
    if (len < OWU_USBIP_HEADER_SIZE)
        return owu_fail(err, OWU_E_PARSE, "USB/IP URB header truncated (%zu of 48 bytes)", len);
    p->command = be32(buf);
    p->seqnum = be32(buf + 4);
    p->devid = be32(buf + 8);
    p->direction = be32(buf + 12);
    p->ep = be32(buf + 16);
    const char *cmd = owu_usbip_command_name(p->command);
    switch (p->command) {
    case OWU_USBIP_CMD_SUBMIT: {
        p->transfer_flags = be32(buf + 20);
        p->transfer_buffer_length = be32(buf + 24);
        p->start_frame = (int32_t)be32(buf + 28);
        p->number_of_packets = (int32_t)be32(buf + 32);
        p->interval = (int32_t)be32(buf + 36);
        memcpy(p->setup, buf + 40, 8);
        if (p->direction > 1)
            return owu_fail(err, OWU_E_PARSE, "USB/IP CMD_SUBMIT seq %u: direction %u at offset 12 is not 0 or 1",
                            p->seqnum, p->direction);
        if (p->ep > 15)
            return owu_fail(err, OWU_E_PARSE, "USB/IP CMD_SUBMIT seq %u: ep %u at offset 16 is not 0..15",
                            p->seqnum, p->ep);
        if (p->transfer_buffer_length > OWU_USBIP_MAX_TRANSFER)
            return owu_fail(err, OWU_E_PARSE,
                            "USB/IP CMD_SUBMIT seq %u: transfer_buffer_length %u at offset 24 exceeds the limit %u",
                            p->seqnum, p->transfer_buffer_length, OWU_USBIP_MAX_TRANSFER);
        if (check_packets(p->number_of_packets, cmd, err) != OWU_OK)
            return OWU_E_PARSE;
        if (p->ep == 0) {
            uint16_t wlength = (uint16_t)(p->setup[6] | p->setup[7] << 8);
            bool setup_in = (p->setup[0] & 0x80) != 0;
            if (owu_usbip_iso_count(p))
                return owu_fail(err, OWU_E_PARSE, "USB/IP CMD_SUBMIT seq %u: ISO packets on endpoint 0",
                                p->seqnum);
            if (wlength > p->transfer_buffer_length)
                return owu_fail(err, OWU_E_PARSE,
                                "USB/IP CMD_SUBMIT seq %u: setup wLength %u exceeds transfer_buffer_length %u",
                                p->seqnum, wlength, p->transfer_buffer_length);
            if (wlength && setup_in != (p->direction == OWU_USBIP_DIR_IN))
                return owu_fail(err, OWU_E_PARSE,
                                "USB/IP CMD_SUBMIT seq %u: direction %u disagrees with bmRequestType 0x%02X",
                                p->seqnum, p->direction, p->setup[0]);
        }
        return OWU_OK;
    }
    case OWU_USBIP_RET_SUBMIT:
        p->status = (int32_t)be32(buf + 20);
        p->actual_length = be32(buf + 24);
        p->start_frame = (int32_t)be32(buf + 28);
        p->number_of_packets = (int32_t)be32(buf + 32);
        p->error_count = (int32_t)be32(buf + 36);
        if (p->actual_length > OWU_USBIP_MAX_TRANSFER)
            return owu_fail(err, OWU_E_PARSE,
                            "USB/IP RET_SUBMIT seq %u: actual_length %u at offset 24 exceeds the limit %u",
                            p->seqnum, p->actual_length, OWU_USBIP_MAX_TRANSFER);
        if (p->status > 0)
            return owu_fail(err, OWU_E_PARSE, "USB/IP RET_SUBMIT seq %u: status %d at offset 20 is positive",
                            p->seqnum, p->status);
        if (check_packets(p->number_of_packets, cmd, err) != OWU_OK)
            return OWU_E_PARSE;
        if (p->error_count < 0 || p->error_count > (p->number_of_packets > 0 ? p->number_of_packets : 0))
            return owu_fail(err, OWU_E_PARSE,
                            "USB/IP RET_SUBMIT seq %u: error_count %d at offset 36 is not 0..number_of_packets",
                            p->seqnum, p->error_count);
        return OWU_OK;
    case OWU_USBIP_CMD_UNLINK:
        p->unlink_seqnum = be32(buf + 20);
        if (p->ep > 15)
            return owu_fail(err, OWU_E_PARSE, "USB/IP CMD_UNLINK seq %u: ep %u at offset 16 is not 0..15",
                            p->seqnum, p->ep);
        return OWU_OK;
    case OWU_USBIP_RET_UNLINK:
        p->status = (int32_t)be32(buf + 20);
        if (p->status > 0)
            return owu_fail(err, OWU_E_PARSE, "USB/IP RET_UNLINK seq %u: status %d at offset 20 is positive",
                            p->seqnum, p->status);
        return OWU_OK;
    default:
        return owu_fail(err, OWU_E_PARSE, "USB/IP URB header: command %u at offset 0 is not 1..4 "
                        "(is this a management PDU or garbage?)", p->command);
    }
}

size_t owu_usbip_payload_size(const struct owu_usbip_pdu *p, bool in)
{
    size_t iso = (size_t)owu_usbip_iso_count(p) * OWU_USBIP_ISO_DESC_SIZE;
    switch (p->command) {
    case OWU_USBIP_CMD_SUBMIT:
        return (p->direction == OWU_USBIP_DIR_OUT ? p->transfer_buffer_length : 0) + iso;
    case OWU_USBIP_RET_SUBMIT:
        return (in ? p->actual_length : 0) + iso;
    default:
        return 0;
    }
}

void owu_usbip_encode_iso(uint8_t *out, const struct owu_usbip_iso_desc *d, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        put32(out + 16 * i, d[i].offset);
        put32(out + 16 * i + 4, d[i].length);
        put32(out + 16 * i + 8, d[i].actual_length);
        put32(out + 16 * i + 12, (uint32_t)d[i].status);
    }
}

int owu_usbip_decode_iso(const uint8_t *buf, size_t len, uint32_t n, uint32_t buffer_length,
                         bool ret, bool in, uint32_t total_actual, struct owu_usbip_iso_desc *d,
                         owu_err *err)
{
    if (n > OWU_USBIP_MAX_ISO_PACKETS)
        return owu_fail(err, OWU_E_PARSE, "USB/IP ISO: %u packet descriptors exceed the limit %u", n,
                        OWU_USBIP_MAX_ISO_PACKETS);
    if (len < (size_t)n * OWU_USBIP_ISO_DESC_SIZE)
        return owu_fail(err, OWU_E_PARSE, "USB/IP ISO: %u packet descriptors need %zu bytes, only %zu present",
                        n, (size_t)n * OWU_USBIP_ISO_DESC_SIZE, len);
    uint64_t sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *q = buf + 16 * (size_t)i;
        d[i].offset = be32(q);
        d[i].length = be32(q + 4);
        d[i].actual_length = be32(q + 8);
        d[i].status = (int32_t)be32(q + 12);
        if ((uint64_t)d[i].offset + d[i].length > buffer_length)
            return owu_fail(err, OWU_E_PARSE,
                            "USB/IP ISO packet %u: offset %u + length %u exceed the buffer of %u bytes",
                            i, d[i].offset, d[i].length, buffer_length);
        if (d[i].actual_length > d[i].length)
            return owu_fail(err, OWU_E_PARSE, "USB/IP ISO packet %u: actual_length %u exceeds length %u",
                            i, d[i].actual_length, d[i].length);
        if (d[i].status > 0)
            return owu_fail(err, OWU_E_PARSE, "USB/IP ISO packet %u: status %d is positive", i, d[i].status);
        sum += d[i].actual_length;
    }
    if (ret && in && sum != total_actual)
        return owu_fail(err, OWU_E_PARSE,
                        "USB/IP ISO: packet actual lengths add up to %llu, RET_SUBMIT actual_length is %u",
                        (unsigned long long)sum, total_actual);
    return OWU_OK;
}

/* ---- speeds and statuses ---------------------------------------------------------------------- */

enum owu_speed owu_usbip_speed_to_owu(uint32_t speed)
{
    switch (speed) {
    case OWU_USBIP_SPEED_LOW: return OWU_SPEED_LOW;
    case OWU_USBIP_SPEED_FULL: return OWU_SPEED_FULL;
    case OWU_USBIP_SPEED_HIGH:
    case OWU_USBIP_SPEED_WIRELESS: return OWU_SPEED_HIGH;
    case OWU_USBIP_SPEED_SUPER: return OWU_SPEED_SUPER;
    case OWU_USBIP_SPEED_SUPER_PLUS: return OWU_SPEED_SUPER_PLUS;
    default: return OWU_SPEED_UNKNOWN;
    }
}

uint32_t owu_usbip_speed_from_owu(enum owu_speed speed)
{
    switch (speed) {
    case OWU_SPEED_LOW: return OWU_USBIP_SPEED_LOW;
    case OWU_SPEED_FULL: return OWU_USBIP_SPEED_FULL;
    case OWU_SPEED_HIGH: return OWU_USBIP_SPEED_HIGH;
    case OWU_SPEED_SUPER: return OWU_USBIP_SPEED_SUPER;
    case OWU_SPEED_SUPER_PLUS: return OWU_USBIP_SPEED_SUPER_PLUS;
    default: return OWU_USBIP_SPEED_UNKNOWN;
    }
}

int32_t owu_usbip_status_to_errno(int status)
{
    switch (status) {
    case OWU_OK: return 0;
    case OWU_E_STALL: return -EPIPE;
    case OWU_E_OVERFLOW: return -EOVERFLOW;
    case OWU_E_CANCELLED: return -ECONNRESET;
    case OWU_E_TIMEOUT: return -ETIME;
    case OWU_E_NODEV: return -ENODEV;
    case OWU_E_NOMEM: return -ENOMEM;
    case OWU_E_INVAL: return -EINVAL;
    case OWU_E_NOTSUP: return -EOPNOTSUPP;
    default: return -EPROTO;
    }
}

int owu_usbip_errno_to_status(int32_t e)
{
    switch (e) {
    case 0: return OWU_OK;
    case -EPIPE: return OWU_E_STALL;
    case -EOVERFLOW: return OWU_E_OVERFLOW;
    case -ECONNRESET:
    case -ENOENT: return OWU_E_CANCELLED;
    case -ETIME:
    case -ETIMEDOUT: return OWU_E_TIMEOUT;
    case -ENODEV:
    case -ESHUTDOWN: return OWU_E_NODEV;
    case -ENOMEM: return OWU_E_NOMEM;
    case -EINVAL: return OWU_E_INVAL;
    case -EOPNOTSUPP: return OWU_E_NOTSUP;
    default: return OWU_E_IO;   /* -EPROTO, -EILSEQ, -EREMOTEIO, ... */
    }
}
