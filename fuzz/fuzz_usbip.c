/* libFuzzer target: every USB/IP decoder. The first byte picks the PDU kind, the rest is the
 * PDU. Whatever decodes is encoded again and decoded again, and both decodings must be
 * equal (round trip); for URB headers the re-encoded bytes must also equal the input in
 * every field the command uses. */
#include <stdlib.h>
#include <string.h>

#include "hcd/usbip_proto.h"

#define ASSERT(c)                                                                          \
    do {                                                                                   \
        if (!(c))                                                                          \
            abort();                                                                       \
    } while (0)

static void urb_pdu(const uint8_t *data, size_t size)
{
    struct owu_usbip_pdu p, q;
    owu_err err;
    if (owu_usbip_decode_pdu(data, size, &p, &err) != OWU_OK)
        return;
    uint8_t b[OWU_USBIP_HEADER_SIZE];
    owu_usbip_encode_pdu(b, &p);
    ASSERT(owu_usbip_decode_pdu(b, sizeof b, &q, &err) == OWU_OK);
    ASSERT(memcmp(&p, &q, sizeof p) == 0);
    /* Bytes: the basic header and the command-specific words (padding is not kept). */
    size_t used = p.command == OWU_USBIP_CMD_SUBMIT ? 48 : p.command == OWU_USBIP_RET_SUBMIT ? 40 : 24;
    ASSERT(memcmp(b, data, used) == 0);
    (void)owu_usbip_payload_size(&p, true);
    (void)owu_usbip_payload_size(&p, false);
    uint32_t np = owu_usbip_iso_count(&p);
    if (np) {
        struct owu_usbip_iso_desc *d = calloc(np, sizeof *d);
        uint32_t buflen = p.command == OWU_USBIP_CMD_SUBMIT ? p.transfer_buffer_length : p.actual_length;
        if (d && owu_usbip_decode_iso(data + 48, size - 48, np, buflen, p.command == OWU_USBIP_RET_SUBMIT,
                                      true, p.actual_length, d, &err) == OWU_OK) {
            uint8_t *enc = malloc((size_t)np * 16);
            struct owu_usbip_iso_desc *e = calloc(np, sizeof *e);
            if (enc && e) {
                owu_usbip_encode_iso(enc, d, np);
                ASSERT(memcmp(enc, data + 48, (size_t)np * 16) == 0);
                ASSERT(owu_usbip_decode_iso(enc, (size_t)np * 16, np, buflen,
                                            p.command == OWU_USBIP_RET_SUBMIT, true, p.actual_length, e,
                                            &err) == OWU_OK);
                ASSERT(memcmp(d, e, np * sizeof *d) == 0);
            }
            free(enc);
            free(e);
        }
        free(d);
    }
}

static void devlist(const uint8_t *data, size_t size)
{
    struct owu_usbip_device *devs = NULL, *again = NULL;
    size_t n = 0, m = 0;
    owu_err err;
    if (owu_usbip_decode_devlist(data, size, &devs, &n, &err) != OWU_OK)
        return;
    uint8_t *enc = NULL;
    size_t len = 0;
    ASSERT(owu_usbip_encode_devlist(devs, n, &enc, &len, &err) == OWU_OK);
    ASSERT(len == size);
    ASSERT(owu_usbip_decode_devlist(enc, len, &again, &m, &err) == OWU_OK);
    ASSERT(m == n);
    ASSERT(n == 0 || memcmp(devs, again, n * sizeof *devs) == 0);
    free(enc);
    free(devs);
    free(again);
}

static void req_import(const uint8_t *data, size_t size)
{
    char busid[OWU_USBIP_BUSID_SIZE], again[OWU_USBIP_BUSID_SIZE];
    owu_err err;
    if (owu_usbip_decode_req_import(data, size, busid, &err) != OWU_OK)
        return;
    uint8_t b[OWU_USBIP_REQ_IMPORT_SIZE];
    ASSERT(owu_usbip_encode_req_import(b, busid, &err) == OWU_OK);
    ASSERT(owu_usbip_decode_req_import(b, sizeof b, again, &err) == OWU_OK);
    ASSERT(memcmp(busid, again, sizeof busid) == 0);
}

static void rep_import(const uint8_t *data, size_t size)
{
    struct owu_usbip_device d, e;
    uint32_t status, status2;
    owu_err err;
    memset(&d, 0, sizeof d);
    if (owu_usbip_decode_rep_import(data, size, &status, &d, &err) != OWU_OK)
        return;
    uint8_t b[OWU_USBIP_REP_IMPORT_SIZE];
    int n = owu_usbip_encode_rep_import(b, status, &d, &err);
    ASSERT(n == (int)size);
    memset(&e, 0, sizeof e);
    ASSERT(owu_usbip_decode_rep_import(b, (size_t)n, &status2, &e, &err) == OWU_OK);
    ASSERT(status == status2);
    ASSERT(status != 0 || memcmp(&d, &e, sizeof d) == 0);
}

static void op_header(const uint8_t *data, size_t size)
{
    struct owu_usbip_op_header h;
    owu_err err;
    if (owu_usbip_decode_op_header(data, size, 0, &h, &err) != OWU_OK)
        return;
    uint8_t b[8];
    owu_usbip_encode_op_header(b, h.code, h.status);
    ASSERT(memcmp(b, data, 8) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] % 5) {
    case 0: urb_pdu(p, n); break;
    case 1: devlist(p, n); break;
    case 2: req_import(p, n); break;
    case 3: rep_import(p, n); break;
    default: op_header(p, n); break;
    }
    return 0;
}
