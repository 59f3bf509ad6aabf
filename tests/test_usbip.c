/* USB/IP: the PDU codec against golden bytes (big-endian per the protocol), hostile PDUs,
 * and our client against our server on 127.0.0.1 in one process: device list, import and
 * enumeration with the local Windows IDs, bulk loopback with many URBs in flight, FX2
 * vendor requests, unlink, a second importer refused, hostile clients, and connections
 * dropped on either side with I/O pending. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openwinusb/stack.h>

#include "check.h"
#include "core/urb.h"
#include "devices/models.h"
#include "hcd/buses.h"
#include "hcd/usbip.h"
#include "hcd/vbus.h"

/* ---- codec: golden bytes ------------------------------------------------------------------ */

static void test_golden_management(void)
{
    uint8_t b[OWU_USBIP_REP_IMPORT_SIZE];
    owu_err err = {0};
    owu_usbip_encode_op_header(b, OWU_USBIP_OP_REQ_DEVLIST, 0);
    static const uint8_t req_devlist[8] = {0x01, 0x11, 0x80, 0x05, 0, 0, 0, 0};
    CHECK(memcmp(b, req_devlist, 8) == 0);

    uint8_t imp[OWU_USBIP_REQ_IMPORT_SIZE];
    CHECK_OK(owu_usbip_encode_req_import(imp, "1-1", &err), &err);
    static const uint8_t imp_head[11] = {0x01, 0x11, 0x80, 0x03, 0, 0, 0, 0, '1', '-', '1'};
    CHECK(memcmp(imp, imp_head, sizeof imp_head) == 0);
    for (size_t i = 11; i < sizeof imp; i++)
        CHECK_INT(imp[i], 0);
    char busid[32];
    CHECK_OK(owu_usbip_decode_req_import(imp, sizeof imp, busid, &err), &err);
    CHECK_STR(busid, "1-1");

    CHECK_INT(owu_usbip_encode_rep_import(b, OWU_USBIP_ST_DEV_BUSY, NULL, &err), 8);
    static const uint8_t rep_busy[8] = {0x01, 0x11, 0x00, 0x03, 0, 0, 0, 2};
    CHECK(memcmp(b, rep_busy, 8) == 0);

    struct owu_usbip_device d = {.busnum = 1, .devnum = 2, .speed = OWU_USBIP_SPEED_HIGH,
                                 .idVendor = 0x0547, .idProduct = 0x1002, .bcdDevice = 0x0100,
                                 .bDeviceClass = 0xEF, .bDeviceSubClass = 2, .bDeviceProtocol = 1,
                                 .bConfigurationValue = 1, .bNumConfigurations = 1, .bNumInterfaces = 2};
    strcpy(d.path, "/openwinusb/virtual:1-2");
    strcpy(d.busid, "1-2");
    d.interfaces[0] = (struct owu_usbip_interface){0x02, 0x02, 0x01};
    d.interfaces[1] = (struct owu_usbip_interface){0x0A, 0x00, 0x00};
    CHECK_INT(owu_usbip_encode_rep_import(b, 0, &d, &err), 320);
    static const uint8_t rep_tail[] = {
        0, 0, 0, 1,   /* busnum */
        0, 0, 0, 2,   /* devnum */
        0, 0, 0, 3,   /* speed: high */
        0x05, 0x47, 0x10, 0x02, 0x01, 0x00,   /* VID, PID, bcdDevice big-endian */
        0xEF, 2, 1, 1, 1, 2};
    CHECK(memcmp(b, (const uint8_t[]){0x01, 0x11, 0x00, 0x03, 0, 0, 0, 0}, 8) == 0);
    CHECK(memcmp(b + 8, "/openwinusb/virtual:1-2", 24) == 0);
    CHECK(memcmp(b + 8 + 256, "1-2\0", 4) == 0);
    CHECK(memcmp(b + 8 + 288, rep_tail, sizeof rep_tail) == 0);
    uint32_t status = 99;
    struct owu_usbip_device back;
    CHECK_OK(owu_usbip_decode_rep_import(b, 320, &status, &back, &err), &err);
    CHECK_INT(status, 0);
    CHECK_STR(back.busid, "1-2");
    CHECK_INT(back.idVendor, 0x0547);
    CHECK_INT(back.bcdDevice, 0x0100);
    CHECK_INT(back.bNumInterfaces, 2);

    /* Device list: head, 312-byte record, 4 bytes per interface. */
    uint8_t *list = NULL;
    size_t len = 0;
    struct owu_usbip_device two[2] = {d, d};
    strcpy(two[1].busid, "1-3");
    two[1].bNumInterfaces = 1;
    CHECK_OK(owu_usbip_encode_devlist(two, 2, &list, &len, &err), &err);
    CHECK_INT(len, 12 + 312 + 8 + 312 + 4);
    CHECK(memcmp(list, (const uint8_t[]){0x01, 0x11, 0x00, 0x05, 0, 0, 0, 0, 0, 0, 0, 2}, 12) == 0);
    CHECK(memcmp(list + 12 + 312, (const uint8_t[]){0x02, 0x02, 0x01, 0, 0x0A, 0, 0, 0}, 8) == 0);
    /* device i starts at 0x0C + i*0x138 + 4*(interfaces before it) */
    CHECK(memcmp(list + 0x0C + 0x138 + 8 + 256, "1-3", 4) == 0);
    struct owu_usbip_device *devs = NULL;
    size_t n = 0;
    CHECK_OK(owu_usbip_decode_devlist(list, len, &devs, &n, &err), &err);
    CHECK_INT(n, 2);
    if (n == 2) {
        CHECK_STR(devs[1].busid, "1-3");
        CHECK_INT(devs[0].interfaces[1].bInterfaceClass, 0x0A);
        CHECK_INT(devs[1].bNumInterfaces, 1);
    }
    free(devs);
    free(list);
}

static void test_golden_urb(void)
{
    owu_err err = {0};
    uint8_t b[48];
    /* CMD_SUBMIT: GET_DESCRIPTOR(device, 18) on ep 0, IN. */
    struct owu_usbip_pdu p = {.command = OWU_USBIP_CMD_SUBMIT, .seqnum = 0x01020304,
                              .devid = 0x00010002, .direction = 1, .ep = 0,
                              .transfer_flags = 0x200, .transfer_buffer_length = 18,
                              .number_of_packets = -1, .setup = {0x80, 6, 0, 1, 0, 0, 18, 0}};
    owu_usbip_encode_pdu(b, &p);
    static const uint8_t cmd[48] = {
        0, 0, 0, 1,  1, 2, 3, 4,  0, 1, 0, 2,  0, 0, 0, 1,  0, 0, 0, 0,
        0, 0, 2, 0,  0, 0, 0, 18,  0, 0, 0, 0,  0xFF, 0xFF, 0xFF, 0xFF,  0, 0, 0, 0,
        0x80, 6, 0, 1, 0, 0, 18, 0};
    CHECK(memcmp(b, cmd, 48) == 0);
    struct owu_usbip_pdu q;
    CHECK_OK(owu_usbip_decode_pdu(b, 48, &q, &err), &err);
    CHECK(memcmp(&p, &q, sizeof p) == 0);
    CHECK_INT(owu_usbip_payload_size(&q, true), 0);

    /* RET_SUBMIT: status -EPIPE, 5 bytes. */
    struct owu_usbip_pdu r = {.command = OWU_USBIP_RET_SUBMIT, .seqnum = 7, .status = -EPIPE,
                              .actual_length = 5, .number_of_packets = -1};
    owu_usbip_encode_pdu(b, &r);
    static const uint8_t ret[48] = {
        0, 0, 0, 3,  0, 0, 0, 7,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0,
        0xFF, 0xFF, 0xFF, 0xE0,  0, 0, 0, 5,  0, 0, 0, 0,  0xFF, 0xFF, 0xFF, 0xFF,  0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0};
    CHECK(memcmp(b, ret, 48) == 0);
    CHECK_OK(owu_usbip_decode_pdu(b, 48, &q, &err), &err);
    CHECK_INT(q.status, -32);
    CHECK_INT(owu_usbip_payload_size(&q, true), 5);
    CHECK_INT(owu_usbip_payload_size(&q, false), 0);
    CHECK_INT(owu_usbip_errno_to_status(q.status), OWU_E_STALL);

    /* CMD_UNLINK of seq 7, and its RET_UNLINK -ECONNRESET. */
    struct owu_usbip_pdu u = {.command = OWU_USBIP_CMD_UNLINK, .seqnum = 8, .devid = 0x00010002,
                              .unlink_seqnum = 7};
    owu_usbip_encode_pdu(b, &u);
    static const uint8_t unl[24] = {0, 0, 0, 2,  0, 0, 0, 8,  0, 1, 0, 2,  0, 0, 0, 0,
                                    0, 0, 0, 0,  0, 0, 0, 7};
    CHECK(memcmp(b, unl, 24) == 0);
    for (int i = 24; i < 48; i++)
        CHECK_INT(b[i], 0);
    struct owu_usbip_pdu ru = {.command = OWU_USBIP_RET_UNLINK, .seqnum = 8, .status = -ECONNRESET};
    owu_usbip_encode_pdu(b, &ru);
    CHECK(memcmp(b, (const uint8_t[]){0, 0, 0, 4, 0, 0, 0, 8}, 8) == 0);
    CHECK(memcmp(b + 20, (const uint8_t[]){0xFF, 0xFF, 0xFF, 0x98}, 4) == 0);   /* -104 */
    CHECK_OK(owu_usbip_decode_pdu(b, 48, &q, &err), &err);
    CHECK_INT(owu_usbip_errno_to_status(q.status), OWU_E_CANCELLED);

    /* ISO: CMD_SUBMIT OUT with 2 packets, descriptors after the data. */
    struct owu_usbip_pdu iso = {.command = OWU_USBIP_CMD_SUBMIT, .seqnum = 9, .devid = 1, .ep = 3,
                                .transfer_buffer_length = 200, .number_of_packets = 2,
                                .interval = 1, .transfer_flags = OWU_USBIP_URB_ISO_ASAP};
    owu_usbip_encode_pdu(b, &iso);
    CHECK_OK(owu_usbip_decode_pdu(b, 48, &q, &err), &err);
    CHECK_INT(owu_usbip_iso_count(&q), 2);
    CHECK_INT(owu_usbip_payload_size(&q, false), 200 + 32);
    struct owu_usbip_iso_desc d[2] = {{0, 100, 0, 0}, {100, 100, 0, 0}}, dd[2];
    uint8_t ib[32];
    owu_usbip_encode_iso(ib, d, 2);
    static const uint8_t iso_golden[32] = {0, 0, 0, 0,  0, 0, 0, 100,  0, 0, 0, 0,  0, 0, 0, 0,
                                           0, 0, 0, 100,  0, 0, 0, 100,  0, 0, 0, 0,  0, 0, 0, 0};
    CHECK(memcmp(ib, iso_golden, 32) == 0);
    CHECK_OK(owu_usbip_decode_iso(ib, 32, 2, 200, false, false, 0, dd, &err), &err);
    CHECK_INT(dd[1].offset, 100);
    /* RET_SUBMIT IN: actual lengths must add up. */
    d[0].actual_length = 60;
    d[1].actual_length = 40;
    owu_usbip_encode_iso(ib, d, 2);
    CHECK_OK(owu_usbip_decode_iso(ib, 32, 2, 200, true, true, 100, dd, &err), &err);
    CHECK_INT(owu_usbip_decode_iso(ib, 32, 2, 200, true, true, 99, dd, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "add up to 100");
}

/* ---- codec: hostile PDUs ------------------------------------------------------------------- */

static void expect_pdu_error(const uint8_t *b, size_t len, const char *needle)
{
    struct owu_usbip_pdu q;
    owu_err err = {0};
    CHECK_INT(owu_usbip_decode_pdu(b, len, &q, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, needle);
}

static void test_hostile_urb(void)
{
    uint8_t b[48] = {0};
    struct owu_usbip_pdu base = {.command = OWU_USBIP_CMD_SUBMIT, .seqnum = 1, .devid = 1,
                                 .direction = 1, .ep = 2, .transfer_buffer_length = 64,
                                 .number_of_packets = -1};
    struct owu_usbip_pdu p;
    expect_pdu_error(b, 20, "truncated (20 of 48");
    p = base; p.command = 0; owu_usbip_encode_pdu(b, &p);
    expect_pdu_error(b, 48, "command 0 at offset 0");
    p = base; owu_usbip_encode_pdu(b, &p); b[3] = 5;
    expect_pdu_error(b, 48, "command 5");
    p = base; p.direction = 2; owu_usbip_encode_pdu(b, &p);
    expect_pdu_error(b, 48, "direction 2 at offset 12");
    p = base; p.ep = 16; owu_usbip_encode_pdu(b, &p);
    expect_pdu_error(b, 48, "ep 16 at offset 16");
    p = base; p.transfer_buffer_length = 0xFFFFFFF0u; owu_usbip_encode_pdu(b, &p);
    expect_pdu_error(b, 48, "transfer_buffer_length 4294967280 at offset 24 exceeds");
    p = base; p.number_of_packets = -2; owu_usbip_encode_pdu(b, &p);
    expect_pdu_error(b, 48, "number_of_packets -2");
    p = base; p.number_of_packets = 100000; owu_usbip_encode_pdu(b, &p);
    expect_pdu_error(b, 48, "number_of_packets 100000");
    p = base; p.ep = 0; p.setup[0] = 0x80; p.setup[6] = 0x00; p.setup[7] = 0x01; owu_usbip_encode_pdu(b, &p);
    expect_pdu_error(b, 48, "wLength 256 exceeds transfer_buffer_length 64");
    p = base; p.ep = 0; p.direction = 0; p.setup[0] = 0x80; p.setup[6] = 8; owu_usbip_encode_pdu(b, &p);
    expect_pdu_error(b, 48, "disagrees with bmRequestType");
    p = base; p.ep = 0; p.number_of_packets = 2; owu_usbip_encode_pdu(b, &p);
    expect_pdu_error(b, 48, "ISO packets on endpoint 0");

    struct owu_usbip_pdu r = {.command = OWU_USBIP_RET_SUBMIT, .seqnum = 1, .number_of_packets = -1};
    p = r; p.status = 5; owu_usbip_encode_pdu(b, &p);
    expect_pdu_error(b, 48, "status 5 at offset 20 is positive");
    p = r; p.actual_length = OWU_USBIP_MAX_TRANSFER + 1; owu_usbip_encode_pdu(b, &p);
    expect_pdu_error(b, 48, "actual_length");
    p = r; p.error_count = 3; p.number_of_packets = 2; owu_usbip_encode_pdu(b, &p);
    expect_pdu_error(b, 48, "error_count 3");
    p = (struct owu_usbip_pdu){.command = OWU_USBIP_CMD_UNLINK, .ep = 99};
    owu_usbip_encode_pdu(b, &p);
    expect_pdu_error(b, 48, "CMD_UNLINK seq 0: ep 99");
    p = (struct owu_usbip_pdu){.command = OWU_USBIP_RET_UNLINK, .status = 1};
    owu_usbip_encode_pdu(b, &p);
    expect_pdu_error(b, 48, "RET_UNLINK seq 0: status 1");

    /* ISO descriptors out of range. */
    owu_err err = {0};
    struct owu_usbip_iso_desc d[1] = {{150, 100, 0, 0}}, dd[1];
    uint8_t ib[16];
    owu_usbip_encode_iso(ib, d, 1);
    CHECK_INT(owu_usbip_decode_iso(ib, 16, 1, 200, false, false, 0, dd, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "offset 150 + length 100 exceed the buffer of 200");
    d[0] = (struct owu_usbip_iso_desc){0, 10, 11, 0};
    owu_usbip_encode_iso(ib, d, 1);
    CHECK_INT(owu_usbip_decode_iso(ib, 16, 1, 200, false, false, 0, dd, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "actual_length 11 exceeds length 10");
    CHECK_INT(owu_usbip_decode_iso(ib, 8, 1, 200, false, false, 0, dd, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "need 16 bytes, only 8");
    CHECK_INT(owu_usbip_decode_iso(ib, 16, 5000, 200, false, false, 0, dd, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "exceed the limit");
}

static void test_hostile_management(void)
{
    owu_err err = {0};
    struct owu_usbip_op_header h;
    uint8_t b[400];
    memset(b, 0, sizeof b);
    owu_usbip_encode_op_header(b, OWU_USBIP_OP_REQ_IMPORT, 0);
    b[1] = 0x06;   /* version 0x0106 */
    CHECK_INT(owu_usbip_decode_op_header(b, 8, 0, &h, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "version 0x0106 at offset 0");
    CHECK_INT(owu_usbip_decode_op_header(b, 3, 0, &h, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "truncated (3 of 8");

    char busid[32];
    owu_usbip_encode_op_header(b, OWU_USBIP_OP_REQ_IMPORT, 0);
    memset(b + 8, 'A', 32);   /* no NUL */
    CHECK_INT(owu_usbip_decode_req_import(b, 40, busid, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "busid at offset 8 is not NUL-terminated");
    memset(b + 8, 0, 32);
    CHECK_INT(owu_usbip_decode_req_import(b, 40, busid, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "empty");
    CHECK_INT(owu_usbip_decode_req_import(b, 39, busid, &err), OWU_E_PARSE);
    owu_usbip_encode_op_header(b, OWU_USBIP_OP_REQ_DEVLIST, 0);
    CHECK_INT(owu_usbip_decode_req_import(b, 40, busid, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "code 0x8005 at offset 2, expected 0x8003");
    uint8_t imp[40];
    CHECK_INT(owu_usbip_encode_req_import(imp, "0123456789012345678901234567890123", &err), OWU_E_INVAL);
    CHECK_CONTAINS(err.msg, "longer than 31");

    /* Device records. */
    struct owu_usbip_device d;
    memset(b, 'x', 312);
    CHECK_INT(owu_usbip_decode_device(b, 312, &d, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "path at offset 0 is not NUL-terminated");
    b[10] = 0;
    CHECK_INT(owu_usbip_decode_device(b, 312, &d, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "busid at offset 256");
    b[260] = 0;
    memset(b + 288, 0, 24);
    b[299] = 9;
    CHECK_INT(owu_usbip_decode_device(b, 312, &d, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "speed 9 at offset 296");
    b[299] = 3;
    b[288] = 1;   /* busnum 0x01000000 */
    CHECK_INT(owu_usbip_decode_device(b, 312, &d, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "do not fit a devid");
    CHECK_INT(owu_usbip_decode_device(b, 311, &d, &err), OWU_E_PARSE);

    /* Device lists: absurd count, count beyond the data, short interfaces, trailing bytes. */
    uint8_t head[12] = {0x01, 0x11, 0x00, 0x05, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF};
    struct owu_usbip_device *devs = NULL;
    size_t n = 0;
    CHECK_INT(owu_usbip_decode_devlist(head, 12, &devs, &n, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "device count 4294967295 at offset 8 exceeds");
    head[8] = head[9] = head[10] = 0;
    head[11] = 3;
    CHECK_INT(owu_usbip_decode_devlist(head, 12, &devs, &n, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "device count 3 at offset 8 needs at least 936 bytes");
    head[7] = 1;
    CHECK_INT(owu_usbip_decode_devlist(head, 12, &devs, &n, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "status 1");
    struct owu_usbip_device one = {.bNumInterfaces = 3};
    strcpy(one.busid, "9-9");
    uint8_t *list = NULL;
    size_t len = 0;
    CHECK_OK(owu_usbip_encode_devlist(&one, 1, &list, &len, &err), &err);
    CHECK_INT(owu_usbip_decode_devlist(list, len - 1, &devs, &n, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "3 interface records need 12 bytes, only 11");
    uint8_t *longer = calloc(1, len + 2);
    memcpy(longer, list, len);
    CHECK_INT(owu_usbip_decode_devlist(longer, len + 2, &devs, &n, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "2 bytes after the last device");
    free(longer);
    free(list);

    /* Import replies of the wrong size. */
    uint32_t status;
    uint8_t rep[320] = {0x01, 0x11, 0x00, 0x03, 0, 0, 0, 0};
    CHECK_INT(owu_usbip_decode_rep_import(rep, 8, &status, &d, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "8 bytes, expected 320");
    rep[7] = 2;
    CHECK_INT(owu_usbip_decode_rep_import(rep, 320, &status, &d, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "failure reply of 320 bytes");
}

static void test_target_and_busid_grammar(void)
{
    owu_err err = {0};
    char host[64];
    unsigned port;
    CHECK_OK(owu_usbip_parse_target("127.0.0.1:4000", host, sizeof host, &port, &err), &err);
    CHECK_STR(host, "127.0.0.1");
    CHECK_INT(port, 4000);
    CHECK_OK(owu_usbip_parse_target("lab", host, sizeof host, &port, &err), &err);
    CHECK_INT(port, 3240);
    CHECK_OK(owu_usbip_parse_target("[::1]:99", host, sizeof host, &port, &err), &err);
    CHECK_STR(host, "::1");
    CHECK_INT(port, 99);
    CHECK_INT(owu_usbip_parse_target("h:0", host, sizeof host, &port, &err), OWU_E_PARSE);
    CHECK_INT(owu_usbip_parse_target(":5", host, sizeof host, &port, &err), OWU_E_PARSE);

    struct owu_bus_config cfg;
    CHECK_OK(owu_buses_parse("usbip=10.0.0.1:3241/1-1.2", &cfg, &err), &err);
    CHECK_STR(cfg.buses[0].host, "10.0.0.1");
    CHECK_INT(cfg.buses[0].tcp_port, 3241);
    CHECK_STR(cfg.buses[0].busid, "1-1.2");
    owu_buses_free(&cfg);
    CHECK_OK(owu_buses_parse("usbip=lab/2-1", &cfg, &err), &err);
    CHECK_STR(cfg.buses[0].host, "lab");
    CHECK_INT(cfg.buses[0].tcp_port, 3240);
    CHECK_STR(cfg.buses[0].busid, "2-1");
    owu_buses_free(&cfg);
    CHECK_INT(owu_buses_parse("usbip=lab:3240/", &cfg, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "bad USB/IP busid");
    CHECK_INT(owu_buses_parse("usbip=lab:x/1-1", &cfg, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "bad USB/IP port");
}

/* ---- client + server on 127.0.0.1 ------------------------------------------------------------ */

struct waitq {
    pthread_mutex_t m;
    pthread_cond_t c;
    int done;
    uint8_t *stream;        /* IN data appended in completion order */
    size_t stream_len;
};

static void waitq_init(struct waitq *w)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->m, NULL);
    pthread_cond_init(&w->c, NULL);
}

static void waitq_fini(struct waitq *w)
{
    pthread_cond_destroy(&w->c);
    pthread_mutex_destroy(&w->m);
}

static void on_done(struct owu_urb *u)
{
    struct waitq *w = u->context;
    pthread_mutex_lock(&w->m);
    if (w->stream && owu_urb_is_in(u) && u->status == OWU_OK) {
        memcpy(w->stream + w->stream_len, u->buffer, u->actual);
        w->stream_len += u->actual;
    }
    w->done++;
    pthread_cond_broadcast(&w->c);
    pthread_mutex_unlock(&w->m);
}

static bool wait_for(struct waitq *w, int n, unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->m);
    int rc = 0;
    while (w->done < n && rc == 0)
        rc = pthread_cond_timedwait(&w->c, &w->m, &ts);
    bool ok = w->done >= n;
    pthread_mutex_unlock(&w->m);
    return ok;
}

/* Polls a condition for up to 5 s (the server frees a device when its connection ends). */
#define EVENTUALLY(cond)                                                                   \
    do {                                                                                   \
        for (int ev_i_ = 0; ev_i_ < 2500 && !(cond); ev_i_++)                              \
            usleep(2000);                                                                  \
        CHECK(cond);                                                                       \
    } while (0)


/* ---- an isochronous test device (no built-in model has ISO endpoints) ---------------------- */

static const uint8_t iso_device[18] = {18, 1, 0x00, 0x02, 0xFF, 0, 0, 64, 0x09, 0x12, 0x50, 0x50,
                                       0x01, 0x00, 0, 0, 0, 1};
static const uint8_t iso_config[] = {
    9, 2, 32, 0, 1, 1, 0, 0x80, 50,
    9, 4, 0, 0, 2, 0xFF, 0, 0, 0,
    7, 5, 0x81, 0x01, 0x00, 0x02, 1,
    7, 5, 0x02, 0x01, 0x00, 0x02, 1,
};
static const struct owu_vblob iso_configs[] = {{iso_config, sizeof iso_config}};

/* IN: packet i gets length - i bytes of (i * 7 + k); OUT: packet i is OK when it holds
 * (i + k), else OWU_E_IO. Both report start frame 1234. */
static void iso_transfer(struct owu_vdev *vd, struct owu_urb *urb)
{
    if (urb->type != OWU_XFER_ISOCHRONOUS) {
        owu_vdev_complete(vd, urb, OWU_E_STALL, 0);
        return;
    }
    size_t total = 0;
    for (unsigned i = 0; i < urb->num_iso_packets; i++) {
        struct owu_iso_packet *pk = &urb->iso[i];
        if (urb->endpoint & 0x80) {
            pk->actual = pk->length > i ? pk->length - i : 0;
            for (uint32_t k = 0; k < pk->actual; k++)
                urb->buffer[pk->offset + k] = (uint8_t)(i * 7 + k);
            pk->status = OWU_OK;
        } else {
            pk->actual = pk->length;
            pk->status = OWU_OK;
            for (uint32_t k = 0; k < pk->length; k++)
                if (urb->buffer[pk->offset + k] != (uint8_t)(i + k))
                    pk->status = OWU_E_IO;
        }
        total += pk->actual;
    }
    urb->start_frame = 1234;
    owu_vdev_complete(vd, urb, OWU_OK, total);
}

static const struct owu_vdev_model iso_model = {
    .name = "test-iso",
    .summary = "test device with isochronous endpoints",
    .speed = OWU_SPEED_HIGH,
    .device = iso_device,
    .device_len = sizeof iso_device,
    .configs = iso_configs,
    .num_configs = 1,
    .transfer = iso_transfer,
};

static struct {
    struct owu_stack *local;        /* the server's stack: virtual:fx2,cdc-acm */
    struct owu_usbip_server *srv;
    unsigned port;
} g;

static struct owu_usb_device *device_at(struct owu_stack *stack, const char *location)
{
    owu_stack_lock(stack);
    struct owu_devnode *n = owu_stack_find(stack, location);
    struct owu_usb_device *dev = n ? n->bus_device : NULL;
    owu_stack_unlock(stack);
    return dev;
}

static const struct owu_devinfo *info_at(struct owu_stack *stack, const char *location)
{
    owu_stack_lock(stack);
    struct owu_devnode *n = owu_stack_find(stack, location);
    const struct owu_devinfo *info = n ? n->info : NULL;
    owu_stack_unlock(stack);
    return info;
}

static bool server_up(void)
{
    if (g.srv)
        return true;
    struct owu_stack_options opt;
    owu_stack_options_default(&opt);
    opt.buses = "virtual:fx2,cdc-acm";
    owu_err err = {0};
    CHECK_OK(owu_stack_open(&opt, &g.local, &err), &err);
    if (!g.local)
        return false;
    g.srv = owu_usbip_server_new(&err);
    CHECK_OK(owu_usbip_server_export(g.srv, device_at(g.local, "virtual:1-1"), info_at(g.local, "virtual:1-1"), "1-1", &err), &err);
    CHECK_OK(owu_usbip_server_export(g.srv, device_at(g.local, "virtual:1-2"), info_at(g.local, "virtual:1-2"), "1-2", &err), &err);
    CHECK_INT(owu_usbip_server_export(g.srv, device_at(g.local, "virtual:1-2"), info_at(g.local, "virtual:1-2"), "1-2", &err), OWU_E_BUSY);
    struct owu_usb_device *fx2 = device_at(g.local, "virtual:1-1");
    CHECK_OK(owu_vbus_plug(fx2->hcd, &iso_model, NULL, 3, NULL, &err), &err);
    CHECK_OK(owu_usbip_server_export(g.srv, device_at(g.local, "virtual:1-3"), info_at(g.local, "virtual:1-3"), "1-3", &err), &err);
    CHECK_OK(owu_usbip_server_start(g.srv, "127.0.0.1", 0, &g.port, &err), &err);
    CHECK(g.port != 0);
    return g.port != 0;
}

static struct owu_stack *client_stack(const char *suffix)
{
    char spec[128];
    snprintf(spec, sizeof spec, "usbip=127.0.0.1:%u%s", g.port, suffix);
    struct owu_stack_options opt;
    owu_stack_options_default(&opt);
    opt.buses = spec;
    struct owu_stack *s = NULL;
    owu_err err = {0};
    CHECK_OK(owu_stack_open(&opt, &s, &err), &err);
    return s;
}

static void test_devlist(void)
{
    if (!server_up())
        return;
    struct owu_usbip_device *devs = NULL;
    size_t n = 0;
    owu_err err = {0};
    CHECK_OK(owu_usbip_list("127.0.0.1", g.port, &devs, &n, &err), &err);
    CHECK_INT(n, 3);
    if (n == 3) {
        CHECK_STR(devs[0].busid, "1-1");
        CHECK_STR(devs[0].path, "/openwinusb/virtual:1-1");
        CHECK_INT(devs[0].idVendor, 0x0547);
        CHECK_INT(devs[0].idProduct, 0x1002);
        CHECK_INT(devs[0].busnum, 1);
        CHECK_INT(devs[0].speed, OWU_USBIP_SPEED_HIGH);
        CHECK_INT(devs[0].bDeviceClass, 0);
        CHECK_INT(devs[0].bNumConfigurations, 1);
        CHECK_INT(devs[0].bConfigurationValue, 1);
        CHECK_INT(devs[0].bNumInterfaces, 1);
        CHECK_INT(devs[0].interfaces[0].bInterfaceClass, 0xFF);
        /* The CDC-ACM device: what our own enumeration read, interface by interface. */
        struct owu_usb_device *acm = device_at(g.local, "virtual:1-2");
        const uint8_t *dd = info_at(g.local, "virtual:1-2")->device;
        (void)acm;
        CHECK_STR(devs[1].busid, "1-2");
        CHECK_INT(devs[1].idVendor, owu_le16(dd + 8));
        CHECK_INT(devs[1].idProduct, owu_le16(dd + 10));
        CHECK_INT(devs[1].bcdDevice, owu_le16(dd + 12));
        CHECK_INT(devs[1].bDeviceClass, dd[4]);
        CHECK_INT(devs[1].bNumInterfaces, 2);
        CHECK_INT(devs[1].interfaces[0].bInterfaceClass, 0x02);
        CHECK_INT(devs[1].interfaces[0].bInterfaceSubClass, 0x02);
        CHECK_INT(devs[1].interfaces[1].bInterfaceClass, 0x0A);
    }
    free(devs);
}

/* The imported tree must carry the local Windows IDs literally. */
static void compare_nodes(const struct owu_devnode *a, const struct owu_devnode *b, int *compared)
{
    CHECK_STR(a->device_id, b->device_id);
    CHECK_INT(a->hardware_ids.n, b->hardware_ids.n);
    for (size_t i = 0; i < a->hardware_ids.n && i < b->hardware_ids.n; i++)
        CHECK_STR(a->hardware_ids.v[i], b->hardware_ids.v[i]);
    CHECK_INT(a->compatible_ids.n, b->compatible_ids.n);
    for (size_t i = 0; i < a->compatible_ids.n && i < b->compatible_ids.n; i++)
        CHECK_STR(a->compatible_ids.v[i], b->compatible_ids.v[i]);
    CHECK_STR(a->instance_id, b->instance_id);
    /* Windows derives the container ID of a device without a serial number from its
     * location, which differs by design (virtual:1-1 here, usbip:1-1 there). */
    if (a->unique_id || b->unique_id)
        CHECK_STR(a->container_id, b->container_id);
    CHECK_INT(a->unique_id, b->unique_id);
    CHECK_STR(a->service ? a->service : "", b->service ? b->service : "");
    (*compared)++;
    const struct owu_devnode *ca = a->first_child, *cb = b->first_child;
    for (; ca && cb; ca = ca->next_sibling, cb = cb->next_sibling)
        compare_nodes(ca, cb, compared);
    CHECK(!ca && !cb);
}

static void test_import_ids_match_local(void)
{
    if (!server_up())
        return;
    struct owu_stack *remote = client_stack("");
    if (!remote)
        return;
    CHECK_INT(owu_usbip_server_busy_count(g.srv), 3);
    owu_stack_lock(remote);
    owu_stack_lock(g.local);
    const struct owu_devnode *rbus = owu_stack_tree(remote)->first_child;
    const struct owu_devnode *lbus = owu_stack_tree(g.local)->first_child;
    CHECK(rbus && lbus);
    int compared = 0;
    if (rbus && lbus) {
        const struct owu_devnode *ra = rbus->first_child, *la = lbus->first_child;
        for (; ra && la; ra = ra->next_sibling, la = la->next_sibling)
            compare_nodes(ra, la, &compared);
        CHECK(!ra && !la);
    }
    CHECK_INT(compared, 4);   /* every node below the two root hubs */
    struct owu_devnode *fx2 = owu_stack_find(remote, "usbip:1-1");
    CHECK(fx2 != NULL);
    if (fx2)
        CHECK_STR(fx2->device_id, "USB\\VID_0547&PID_1002");
    owu_stack_unlock(g.local);
    owu_stack_unlock(remote);
    owu_stack_close(remote);
    EVENTUALLY(owu_usbip_server_busy_count(g.srv) == 0);
}

static void fill_pattern(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}

static void test_bulk_loopback_and_control(void)
{
    if (!server_up())
        return;
    struct owu_stack *remote = client_stack("/1-1");
    if (!remote)
        return;
    struct owu_usb_device *dev = device_at(remote, "usbip:1-1");
    CHECK(dev != NULL);
    if (!dev) {
        owu_stack_close(remote);
        return;
    }
    /* FX2 vendor requests travel as control transfers and reach the model. */
    uint8_t v = 0x5A;
    CHECK_INT(owu_control_sync(dev, 0x40, 0xD8, 0, 0, &v, 1, 2000), 1);
    v = 0;
    CHECK_INT(owu_control_sync(dev, 0xC0, 0xD7, 0, 0, &v, 1, 2000), 1);
    CHECK_INT(v, 0x5A);
    struct owu_usb_device *ldev = device_at(g.local, "virtual:1-1");
    CHECK_INT(owu_fx2_bargraph(owu_vbus_port(ldev->hcd, 1)), 0x5A);
    CHECK_INT(owu_control_sync(dev, 0xC0, 0x42, 0, 0, &v, 1, 2000), OWU_E_STALL);
    uint8_t desc[18];
    CHECK_INT(owu_control_sync(dev, 0x80, 6, 0x0100, 0, desc, 18, 2000), 18);
    CHECK_INT(desc[8], 0x47);

    /* Many URBs in flight both ways; the IN stream must equal the OUT stream. */
    enum { N = 32, SZ = 4096 };
    uint8_t *out = malloc(N * SZ), *in = malloc(N * SZ), *stream = malloc(2 * N * SZ);
    struct owu_urb *urbs = calloc(2 * N, sizeof *urbs);
    fill_pattern(out, N * SZ, 7);
    struct waitq w;
    waitq_init(&w);
    w.stream = stream;
    int submitted = 0;
    for (int i = 0; i < N; i++) {
        struct owu_urb *o = &urbs[2 * i], *r = &urbs[2 * i + 1];
        *o = (struct owu_urb){.dev = dev, .type = OWU_XFER_BULK, .endpoint = 0x06,
                              .buffer = out + i * SZ, .length = SZ, .complete = on_done,
                              .context = &w, .timeout_ms = 10000};
        *r = (struct owu_urb){.dev = dev, .type = OWU_XFER_BULK, .endpoint = 0x88,
                              .buffer = in + i * SZ, .length = SZ, .complete = on_done,
                              .context = &w, .timeout_ms = 10000};
        CHECK_OK(owu_urb_submit(r), NULL);
        CHECK_OK(owu_urb_submit(o), NULL);
        submitted += 2;
    }
    CHECK(wait_for(&w, submitted, 15000));
    for (int i = 0; i < 2 * N; i++)
        CHECK_INT(urbs[i].status, OWU_OK);
    /* IN URBs complete with what the FIFO holds; fetch any rest synchronously. */
    size_t got = w.stream_len;
    for (int tries = 0; got < (size_t)N * SZ && tries < 1000; tries++) {
        size_t a = 0;
        int rc = owu_transfer_sync(dev, OWU_XFER_BULK, 0x88, stream + got, N * SZ - got, &a, 2000);
        CHECK_OK(rc, NULL);
        if (rc != OWU_OK)
            break;
        got += a;
    }
    CHECK_INT(got, N * SZ);
    CHECK(memcmp(stream, out, N * SZ) == 0);
    waitq_fini(&w);

    /* A large transfer (1 MiB) in one URB each way. */
    size_t big = 1u << 20;
    uint8_t *bo = malloc(big), *bi = malloc(big);
    fill_pattern(bo, big, 99);
    struct waitq w2;
    waitq_init(&w2);
    w2.stream = bi;
    struct owu_urb bou = {.dev = dev, .type = OWU_XFER_BULK, .endpoint = 0x06, .buffer = bo,
                          .length = big, .complete = on_done, .context = &w2};
    CHECK_OK(owu_urb_submit(&bou), NULL);
    size_t bgot = 0;
    uint8_t *chunk = malloc(65536);
    while (bgot < big) {
        size_t a = 0;
        int rc = owu_transfer_sync(dev, OWU_XFER_BULK, 0x88, chunk, 65536, &a, 5000);
        CHECK_OK(rc, NULL);
        if (rc != OWU_OK)
            break;
        memcpy(bi + bgot, chunk, a);
        bgot += a;
    }
    CHECK(wait_for(&w2, 1, 10000));
    CHECK_INT(bou.status, OWU_OK);
    CHECK(bgot == big && memcmp(bi, bo, big) == 0);
    waitq_fini(&w2);
    free(chunk);
    free(bo);
    free(bi);
    free(out);
    free(in);
    free(stream);
    free(urbs);
    owu_stack_close(remote);
    EVENTUALLY(owu_usbip_server_busy_count(g.srv) == 0);
}

static void test_unlink_and_timeout(void)
{
    if (!server_up())
        return;
    struct owu_stack *remote = client_stack("/1-1");
    if (!remote)
        return;
    struct owu_usb_device *dev = device_at(remote, "usbip:1-1");
    if (!dev) {
        CHECK(dev != NULL);
        owu_stack_close(remote);
        return;
    }
    /* A pending IN (the FIFO is empty) is unlinked: RET_UNLINK -ECONNRESET. */
    uint8_t buf[512];
    struct waitq w;
    waitq_init(&w);
    struct owu_urb u = {.dev = dev, .type = OWU_XFER_BULK, .endpoint = 0x88, .buffer = buf,
                        .length = sizeof buf, .complete = on_done, .context = &w};
    CHECK_OK(owu_urb_submit(&u), NULL);
    CHECK_OK(owu_urb_cancel(&u), NULL);
    CHECK(wait_for(&w, 1, 5000));
    CHECK_INT(u.status, OWU_E_CANCELLED);
    CHECK_INT(owu_urb_cancel(&u), OWU_E_NOTFOUND);
    /* Interrupt IN (switches) too, and a timeout goes the same way. */
    struct owu_urb s = {.dev = dev, .type = OWU_XFER_INTERRUPT, .endpoint = 0x81, .buffer = buf,
                        .length = 1, .complete = on_done, .context = &w};
    CHECK_OK(owu_urb_submit(&s), NULL);
    CHECK_OK(owu_urb_cancel(&s), NULL);
    CHECK(wait_for(&w, 2, 5000));
    CHECK_INT(s.status, OWU_E_CANCELLED);
    size_t a = 0;
    CHECK_INT(owu_transfer_sync(dev, OWU_XFER_BULK, 0x88, buf, sizeof buf, &a, 100), OWU_E_TIMEOUT);
    /* The device still works afterwards. */
    uint8_t msg[5] = "hello";
    CHECK_OK(owu_transfer_sync(dev, OWU_XFER_BULK, 0x06, msg, 5, &a, 2000), NULL);
    CHECK_OK(owu_transfer_sync(dev, OWU_XFER_BULK, 0x88, buf, sizeof buf, &a, 2000), NULL);
    CHECK_INT(a, 5);
    CHECK(memcmp(buf, "hello", 5) == 0);
    /* An endpoint the device does not have stalls. */
    CHECK_INT(owu_transfer_sync(dev, OWU_XFER_BULK, 0x02, msg, 5, &a, 2000), OWU_E_STALL);
    waitq_fini(&w);
    owu_stack_close(remote);
    EVENTUALLY(owu_usbip_server_busy_count(g.srv) == 0);
}


/* Unlinks racing with completions: every URB completes exactly once, either with its data
 * (the server's RET_SUBMIT won, then RET_UNLINK 0) or cancelled (RET_UNLINK -ECONNRESET),
 * and not a byte is lost or duplicated. */
struct feeder {
    struct owu_usb_device *dev;
    uint8_t *data;
    size_t len;
    int rc;
};

static void *feed(void *arg)
{
    struct feeder *f = arg;
    for (size_t off = 0; off < f->len && f->rc == OWU_OK; off += 64) {
        size_t a = 0;
        f->rc = owu_transfer_sync(f->dev, OWU_XFER_BULK, 0x06, f->data + off, 64, &a, 5000);
    }
    return NULL;
}

static void test_unlink_races(void)
{
    if (!server_up())
        return;
    struct owu_stack *remote = client_stack("/1-1");
    if (!remote)
        return;
    struct owu_usb_device *dev = device_at(remote, "usbip:1-1");
    CHECK(dev != NULL);
    if (dev) {
        enum { N = 128 };
        size_t total = 64 * 64;
        uint8_t *sent = malloc(total), *got = malloc(total + N * 64), *bufs = malloc(N * 64);
        fill_pattern(sent, total, 5);
        struct waitq w;
        waitq_init(&w);
        w.stream = got;
        struct owu_urb *u = calloc(N, sizeof *u);
        for (int i = 0; i < N; i++) {
            u[i] = (struct owu_urb){.dev = dev, .type = OWU_XFER_BULK, .endpoint = 0x88, .buffer = bufs + 64 * i,
                                    .length = 64, .complete = on_done, .context = &w};
            CHECK_OK(owu_urb_submit(&u[i]), NULL);
        }
        struct feeder f = {.dev = dev, .data = sent, .len = total};
        pthread_t t;
        pthread_create(&t, NULL, feed, &f);
        for (int i = N - 1; i >= 0; i--) {
            int rc = owu_urb_cancel(&u[i]);
            CHECK(rc == OWU_OK || rc == OWU_E_NOTFOUND);
            if (i % 16 == 0)
                usleep(200);
        }
        pthread_join(t, NULL);
        CHECK_OK(f.rc, NULL);
        CHECK(wait_for(&w, N, 10000));
        pthread_mutex_lock(&w.m);
        CHECK_INT(w.done, N);
        pthread_mutex_unlock(&w.m);
        int ok = 0, cancelled = 0;
        for (int i = 0; i < N; i++) {
            ok += u[i].status == OWU_OK;
            cancelled += u[i].status == OWU_E_CANCELLED;
        }
        CHECK_INT(ok + cancelled, N);
        /* What the cancelled URBs did not take is still in the device's FIFO. */
        size_t have = w.stream_len;
        while (have < total) {
            size_t a = 0;
            if (owu_transfer_sync(dev, OWU_XFER_BULK, 0x88, got + have, total - have, &a, 2000) != OWU_OK)
                break;
            have += a;
        }
        CHECK_INT(have, total);
        CHECK(memcmp(got, sent, total) == 0);
        waitq_fini(&w);
        free(u);
        free(sent);
        free(got);
        free(bufs);
    }
    owu_stack_close(remote);
    EVENTUALLY(owu_usbip_server_busy_count(g.srv) == 0);
}

static void test_second_importer_refused(void)
{
    if (!server_up())
        return;
    struct owu_stack *remote = client_stack("/1-1");
    if (!remote)
        return;
    owu_err err = {0};
    struct owu_hcd *other = owu_usbip_client_create(9, "127.0.0.1", g.port, &err);
    CHECK_INT(owu_usbip_client_import(other, "1-1", NULL, &err), OWU_E_BUSY);
    CHECK_CONTAINS(err.msg, "busy");
    CHECK_INT(owu_usbip_client_import(other, "7-7", NULL, &err), OWU_E_NOTFOUND);
    CHECK_CONTAINS(err.msg, "no such device");
    owu_hcd_destroy(other);
    /* The stack's way of saying it. */
    struct owu_stack_options opt;
    owu_stack_options_default(&opt);
    char spec[64];
    snprintf(spec, sizeof spec, "usbip=127.0.0.1:%u/1-1", g.port);
    opt.buses = spec;
    struct owu_stack *second = NULL;
    CHECK_INT(owu_stack_open(&opt, &second, &err), OWU_E_BUSY);
    CHECK(second == NULL);
    owu_stack_close(remote);
    EVENTUALLY(owu_usbip_server_busy_count(g.srv) == 0);
}

static int raw_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g.port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* The server must close the connection: recv sees EOF (or a reset), not a timeout. */
static bool closed_by_server(int fd)
{
    uint8_t sink[512];
    for (;;) {
        ssize_t n = recv(fd, sink, sizeof sink, 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return true;
        if (n < 0)
            return false;
    }
}

static void good_client_works(struct owu_usb_device *dev)
{
    uint8_t v = 0;
    CHECK_INT(owu_control_sync(dev, 0xC0, 0xD7, 0, 0, &v, 1, 2000), 1);
}

static void test_hostile_clients(void)
{
    if (!server_up())
        return;
    struct owu_stack *remote = client_stack("/1-1");
    if (!remote)
        return;
    struct owu_usb_device *dev = device_at(remote, "usbip:1-1");
    CHECK(dev != NULL);
    unsigned errors0 = owu_usbip_server_protocol_errors(g.srv);

    int fd = raw_connect();
    const char *garbage = "GET / HTTP/1.0\r\n\r\n";
    CHECK(send(fd, garbage, strlen(garbage), MSG_NOSIGNAL) > 0);
    CHECK(closed_by_server(fd));
    close(fd);
    if (dev)
        good_client_works(dev);

    fd = raw_connect();   /* truncated header, then gone */
    CHECK(send(fd, "\x01\x11", 2, MSG_NOSIGNAL) == 2);
    close(fd);

    /* Imports 1-2, then an absurd transfer_buffer_length. */
    fd = raw_connect();
    uint8_t req[40], rep[320];
    owu_usbip_encode_req_import(req, "1-2", NULL);
    CHECK(send(fd, req, 40, MSG_NOSIGNAL) == 40);
    CHECK(recv(fd, rep, 320, MSG_WAITALL) == 320);
    CHECK_INT(rep[7], 0);
    CHECK_INT(owu_usbip_server_busy_count(g.srv), 2);
    struct owu_usbip_pdu p = {.command = OWU_USBIP_CMD_SUBMIT, .seqnum = 1, .devid = 1 << 16 | 2,
                              .ep = 2, .transfer_buffer_length = 0x7FFFFFF0, .number_of_packets = -1};
    uint8_t hdr[48];
    owu_usbip_encode_pdu(hdr, &p);
    CHECK(send(fd, hdr, 48, MSG_NOSIGNAL) == 48);
    CHECK(closed_by_server(fd));
    close(fd);
    EVENTUALLY(owu_usbip_server_busy_count(g.srv) == 1);   /* 1-2 released */

    /* Imports 1-2 again, then a wrong devid, then a RET_SUBMIT (a client must not send it). */
    static const uint32_t bad[2][2] = {{OWU_USBIP_CMD_SUBMIT, 0x00990099}, {OWU_USBIP_RET_SUBMIT, 0}};
    for (int k = 0; k < 2; k++) {
        fd = raw_connect();
        CHECK(send(fd, req, 40, MSG_NOSIGNAL) == 40);
        CHECK(recv(fd, rep, 320, MSG_WAITALL) == 320);
        CHECK_INT(rep[7], 0);
        p = (struct owu_usbip_pdu){.command = bad[k][0], .seqnum = 1, .devid = bad[k][1],
                                   .number_of_packets = -1};
        owu_usbip_encode_pdu(hdr, &p);
        CHECK(send(fd, hdr, 48, MSG_NOSIGNAL) == 48);
        CHECK(closed_by_server(fd));
        close(fd);
        EVENTUALLY(owu_usbip_server_busy_count(g.srv) == 1);
    }
    /* A bad import request (busid without NUL). */
    fd = raw_connect();
    memset(req + 8, 'Z', 32);
    CHECK(send(fd, req, 40, MSG_NOSIGNAL) == 40);
    CHECK(closed_by_server(fd));
    close(fd);

    EVENTUALLY(owu_usbip_server_protocol_errors(g.srv) >= errors0 + 5);
    if (dev) {
        good_client_works(dev);
        uint8_t m[3] = {1, 2, 3}, r[8];
        size_t a = 0;
        CHECK_OK(owu_transfer_sync(dev, OWU_XFER_BULK, 0x06, m, 3, &a, 2000), NULL);
        CHECK_OK(owu_transfer_sync(dev, OWU_XFER_BULK, 0x88, r, 8, &a, 2000), NULL);
        CHECK_INT(a, 3);
    }
    owu_stack_close(remote);
    EVENTUALLY(owu_usbip_server_busy_count(g.srv) == 0);
}


/* Random CMD_SUBMIT / CMD_UNLINK headers and payloads from a client that then vanishes: the
 * server must neither crash nor hang, release the device each time, and keep serving. */
static void test_random_clients(void)
{
    if (!server_up())
        return;
    uint32_t seed = 12345;
    for (int round = 0; round < 60; round++) {
        int fd = raw_connect();
        CHECK(fd >= 0);
        if (fd < 0)
            return;
        uint8_t req[40], rep[320];
        owu_usbip_encode_req_import(req, "1-2", NULL);
        send(fd, req, 40, MSG_NOSIGNAL);
        if (recv(fd, rep, 320, MSG_WAITALL) != 320) {
            close(fd);
            CHECK(!"import refused");
            continue;
        }
        for (int k = 0; k < 8; k++) {
            uint8_t b[48 + 128];
            for (size_t i = 0; i < sizeof b; i++) {
                seed = seed * 1103515245u + 12345u;
                b[i] = (uint8_t)(seed >> 16);
            }
            /* Mostly well-formed headers for the imported device with random fields. */
            struct owu_usbip_pdu p = {.command = (seed >> 8) % 3 ? OWU_USBIP_CMD_SUBMIT : OWU_USBIP_CMD_UNLINK,
                                      .seqnum = (uint32_t)k + 1, .devid = 1 << 16 | 2,
                                      .direction = (seed >> 4) & 1, .ep = (seed >> 5) % 4,
                                      .transfer_buffer_length = (seed >> 12) % 100,
                                      .number_of_packets = (seed >> 20) % 8 ? -1 : (int32_t)((seed >> 3) % 3),
                                      .unlink_seqnum = (seed >> 9) % 8};
            memcpy(p.setup, b + 40, 8);
            p.setup[6] = (uint8_t)(p.transfer_buffer_length / 2);
            p.setup[7] = 0;
            p.setup[0] = (uint8_t)((p.setup[0] & 0x7F) | (p.direction ? 0x80 : 0));
            p.setup[1] = (uint8_t)(0xD0 + (p.setup[1] & 0x0F));   /* vendor requests, no SET_* */
            p.setup[0] = (uint8_t)((p.setup[0] & 0x80) | 0x40);
            owu_usbip_encode_pdu(b, &p);
            if (k == 7 && (seed & 1))
                b[(seed >> 2) % 48] ^= 0xFF;   /* and sometimes a damaged one */
            if (send(fd, b, 48 + (seed >> 7) % 128, MSG_NOSIGNAL) < 0)
                break;
        }
        close(fd);
        EVENTUALLY(owu_usbip_server_busy_count(g.srv) == 0);
    }
    /* Still serving. */
    struct owu_stack *remote = client_stack("/1-1");
    if (remote) {
        struct owu_usb_device *dev = device_at(remote, "usbip:1-1");
        CHECK(dev != NULL);
        if (dev)
            good_client_works(dev);
        owu_stack_close(remote);
    }
    EVENTUALLY(owu_usbip_server_busy_count(g.srv) == 0);
}


/* A client that leaves 1100 never-ending URBs behind (more than the server takes at once)
 * and hangs up: the server notices while it holds back, cancels them and frees the device. */
static void test_pending_flood(void)
{
    if (!server_up())
        return;
    int fd = raw_connect();
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    uint8_t req[40], rep[320];
    owu_usbip_encode_req_import(req, "1-1", NULL);
    CHECK(send(fd, req, 40, MSG_NOSIGNAL) == 40);
    CHECK(recv(fd, rep, 320, MSG_WAITALL) == 320);
    CHECK_INT(rep[7], 0);
    enum { N = 1100 };
    uint8_t *all = calloc(N, 48);
    for (int i = 0; i < N; i++) {
        struct owu_usbip_pdu p = {.command = OWU_USBIP_CMD_SUBMIT, .seqnum = (uint32_t)i + 1,
                                  .devid = 1 << 16 | 1, .direction = 1, .ep = 8,
                                  .transfer_flags = OWU_USBIP_URB_DIR_IN, .transfer_buffer_length = 512,
                                  .number_of_packets = -1};
        owu_usbip_encode_pdu(all + 48 * i, &p);
    }
    CHECK(send(fd, all, N * 48, MSG_NOSIGNAL) == N * 48);
    free(all);
    usleep(100000);   /* let the server fill up to its limit */
    close(fd);
    EVENTUALLY(owu_usbip_server_busy_count(g.srv) == 0);
    struct owu_stack *remote = client_stack("/1-1");
    if (remote) {
        struct owu_usb_device *dev = device_at(remote, "usbip:1-1");
        CHECK(dev != NULL);
        if (dev) {
            uint8_t m[4] = {9, 8, 7, 6}, r[8];
            size_t a = 0;
            CHECK_OK(owu_transfer_sync(dev, OWU_XFER_BULK, 0x06, m, 4, &a, 2000), NULL);
            CHECK_OK(owu_transfer_sync(dev, OWU_XFER_BULK, 0x88, r, 8, &a, 2000), NULL);
            CHECK_INT(a, 4);
        }
        owu_stack_close(remote);
    }
    EVENTUALLY(owu_usbip_server_busy_count(g.srv) == 0);
}

static void test_drop_client_side(void)
{
    if (!server_up())
        return;
    owu_err err = {0};
    struct owu_hcd *hcd = owu_usbip_client_create(1, "127.0.0.1", g.port, &err);
    unsigned port = 0;
    /* A bare bus without a stack: the import works, nobody enumerates. */
    CHECK_OK(owu_usbip_client_import(hcd, "1-1", &port, &err), &err);
    CHECK_INT(port, 1);
    const struct owu_usbip_device *rec = owu_usbip_client_record(hcd, port);
    CHECK(rec && strcmp(rec->busid, "1-1") == 0);
    CHECK_INT(owu_usbip_server_busy_count(g.srv), 1);
    owu_usbip_client_detach(hcd, port);
    EVENTUALLY(owu_usbip_server_busy_count(g.srv) == 0);
    owu_hcd_destroy(hcd);

    /* Through a stack: pending IN, then the connection is dropped on our side. */
    struct owu_stack *remote = client_stack("/1-1");
    if (!remote)
        return;
    struct owu_usb_device *dev = device_at(remote, "usbip:1-1");
    CHECK(dev != NULL);
    if (dev) {
        owu_usb_device_ref(dev);
        uint8_t buf[64];
        struct waitq w;
        waitq_init(&w);
        struct owu_urb u[3];
        for (int i = 0; i < 3; i++) {
            u[i] = (struct owu_urb){.dev = dev, .type = OWU_XFER_BULK, .endpoint = 0x88, .buffer = buf,
                                    .length = sizeof buf, .complete = on_done, .context = &w};
            CHECK_OK(owu_urb_submit(&u[i]), NULL);
        }
        owu_stack_lock(remote);
        struct owu_devnode *bus = owu_stack_tree(remote)->first_child;
        owu_stack_unlock(remote);
        struct owu_hcd *rh = dev->hcd;
        CHECK_OK(owu_usbip_client_detach(rh, 1), NULL);
        CHECK(wait_for(&w, 3, 5000));
        for (int i = 0; i < 3; i++)
            CHECK_INT(u[i].status, OWU_E_NODEV);
        CHECK(owu_usb_device_gone(dev));
        CHECK_INT(owu_urb_submit(&u[0]), OWU_E_NODEV);
        owu_stack_lock(remote);
        CHECK(bus->first_child == NULL);   /* the node left the tree */
        owu_stack_unlock(remote);
        EVENTUALLY(owu_usbip_server_busy_count(g.srv) == 0);
        /* And it can be imported again. */
        unsigned p2 = 0;
        CHECK_OK(owu_usbip_client_import(rh, "1-1", &p2, &err), &err);
        struct owu_usb_device *again = device_at(remote, "usbip:1-1");
        CHECK(again != NULL);
        if (again)
            good_client_works(again);
        waitq_fini(&w);
        owu_usb_device_unref(dev);
    }
    owu_stack_close(remote);
    EVENTUALLY(owu_usbip_server_busy_count(g.srv) == 0);
}

static void test_drop_server_side(void)
{
    if (!server_up())
        return;
    struct owu_stack *remote = client_stack("/1-1");
    if (!remote)
        return;
    struct owu_usb_device *dev = device_at(remote, "usbip:1-1");
    CHECK(dev != NULL);
    if (dev) {
        owu_usb_device_ref(dev);
        struct owu_hcd *rh = dev->hcd;
        uint8_t buf[64];
        struct waitq w;
        waitq_init(&w);
        struct owu_urb u = {.dev = dev, .type = OWU_XFER_BULK, .endpoint = 0x88, .buffer = buf,
                            .length = sizeof buf, .complete = on_done, .context = &w};
        CHECK_OK(owu_urb_submit(&u), NULL);
        owu_usbip_server_drop_clients(g.srv);
        CHECK(wait_for(&w, 1, 5000));
        CHECK_INT(u.status, OWU_E_NODEV);
        EVENTUALLY(owu_usb_device_gone(dev));
        /* The device is marked gone before the stack has removed its node: wait for that. */
        EVENTUALLY(device_at(remote, "usbip:1-1") == NULL);
        CHECK_INT(owu_usbip_server_busy_count(g.srv), 0);
        owu_err err = {0};
        CHECK_OK(owu_usbip_client_import(rh, "1-1", NULL, &err), &err);
        EVENTUALLY(device_at(remote, "usbip:1-1") != NULL);
        struct owu_usb_device *again = device_at(remote, "usbip:1-1");
        CHECK(again != NULL);
        if (again)
            good_client_works(again);
        waitq_fini(&w);
        owu_usb_device_unref(dev);
    }
    owu_stack_close(remote);
    EVENTUALLY(owu_usbip_server_busy_count(g.srv) == 0);
}


static void test_isochronous(void)
{
    if (!server_up())
        return;
    struct owu_stack *remote = client_stack("/1-3");
    if (!remote)
        return;
    struct owu_usb_device *dev = device_at(remote, "usbip:1-1");
    CHECK(dev != NULL);
    if (dev) {
        uint8_t buf[400];
        memset(buf, 0xEE, sizeof buf);
        struct owu_iso_packet pk[4];
        for (unsigned i = 0; i < 4; i++)
            pk[i] = (struct owu_iso_packet){.offset = 100 * i, .length = 100};
        struct owu_urb u = {.dev = dev, .type = OWU_XFER_ISOCHRONOUS, .endpoint = 0x81, .buffer = buf,
                            .length = sizeof buf, .num_iso_packets = 4, .iso = pk,
                            .flags = OWU_URB_ISO_ASAP, .timeout_ms = 5000};
        CHECK_OK(owu_urb_submit_wait(&u), NULL);
        CHECK_INT(u.actual, 100 + 99 + 98 + 97);
        CHECK_INT(u.start_frame, 1234);
        for (unsigned i = 0; i < 4; i++) {
            CHECK_INT(pk[i].actual, 100 - i);
            CHECK_INT(pk[i].status, OWU_OK);
            CHECK_INT(buf[100 * i + 5], (uint8_t)(i * 7 + 5));   /* spread back to its offset */
            CHECK_INT(buf[100 * i + 99], i ? 0xEE : (uint8_t)(99));   /* untouched past actual */
        }
        for (unsigned i = 0; i < 3; i++) {
            pk[i] = (struct owu_iso_packet){.offset = 50 * i, .length = 50};
            for (unsigned k = 0; k < 50; k++)
                buf[50 * i + k] = (uint8_t)(i + k);
        }
        buf[60] ^= 0xFF;   /* packet 1 arrives damaged */
        struct owu_urb o = {.dev = dev, .type = OWU_XFER_ISOCHRONOUS, .endpoint = 0x02, .buffer = buf,
                            .length = 150, .num_iso_packets = 3, .iso = pk, .timeout_ms = 5000};
        CHECK_OK(owu_urb_submit_wait(&o), NULL);
        CHECK_INT(o.actual, 150);
        CHECK_INT(pk[0].status, OWU_OK);
        CHECK_INT(pk[1].status, OWU_E_IO);
        CHECK_INT(pk[2].status, OWU_OK);
        /* A packet outside the buffer is refused before anything is sent. */
        pk[2].length = 51;
        CHECK_INT(owu_urb_submit(&o), OWU_E_INVAL);
    }
    owu_stack_close(remote);
    EVENTUALLY(owu_usbip_server_busy_count(g.srv) == 0);
}

/* The server's device leaves while a client has I/O pending: the client sees NODEV. */
static void test_server_device_unplugged(void)
{
    if (!server_up())
        return;
    struct owu_stack *remote = client_stack("/1-2");
    if (!remote)
        return;
    struct owu_usb_device *dev = device_at(remote, "usbip:1-1");
    CHECK(dev != NULL);
    if (dev) {
        owu_usb_device_ref(dev);
        uint8_t buf[64];
        struct waitq w;
        waitq_init(&w);
        struct owu_urb u = {.dev = dev, .type = OWU_XFER_BULK, .endpoint = 0x81, .buffer = buf,
                            .length = sizeof buf, .complete = on_done, .context = &w, .timeout_ms = 10000};
        int rc = owu_urb_submit(&u);
        CHECK_OK(rc, NULL);
        owu_err err = {0};
        CHECK_OK(owu_stack_unplug(g.local, 1, 2, &err), &err);
        if (rc == OWU_OK)
            CHECK(wait_for(&w, 1, 5000));
        CHECK(u.status == OWU_E_NODEV);
        EVENTUALLY(owu_usb_device_gone(dev));
        waitq_fini(&w);
        owu_usb_device_unref(dev);
    }
    owu_stack_close(remote);
    EVENTUALLY(owu_usbip_server_busy_count(g.srv) == 0);
    /* A gone device is no longer listed. */
    struct owu_usbip_device *devs = NULL;
    size_t n = 0;
    owu_err err = {0};
    CHECK_OK(owu_usbip_list("127.0.0.1", g.port, &devs, &n, &err), &err);
    CHECK_INT(n, 2);
    free(devs);
}


/* ---- our client against a hostile server ----------------------------------------------------- */

struct fake_server {
    int listen_fd;
    unsigned port;
    int mode;            /* 0: unknown seqnum, 1: actual_length too big, 2: garbage */
    pthread_t thread;
};

static void *fake_main(void *arg)
{
    struct fake_server *f = arg;
    int fd = accept(f->listen_fd, NULL, NULL);
    if (fd < 0)
        return NULL;
    uint8_t req[40], hdr[48];
    if (owu_usbip_read_full(fd, req, sizeof req) == OWU_OK) {
        struct owu_usbip_device d = {.busnum = 3, .devnum = 4, .speed = OWU_USBIP_SPEED_HIGH,
                                     .idVendor = 0x1234, .idProduct = 0x5678};
        strcpy(d.busid, "3-4");
        uint8_t rep[320];
        int n = owu_usbip_encode_rep_import(rep, 0, &d, NULL);
        owu_usbip_write_full(fd, rep, (size_t)n);
        struct owu_usbip_pdu p;
        if (owu_usbip_read_full(fd, hdr, sizeof hdr) == OWU_OK &&
            owu_usbip_decode_pdu(hdr, sizeof hdr, &p, NULL) == OWU_OK) {
            struct owu_usbip_pdu r = {.command = OWU_USBIP_RET_SUBMIT, .seqnum = p.seqnum,
                                      .number_of_packets = -1};
            if (f->mode == 0)
                r.seqnum = p.seqnum + 1000;
            else if (f->mode == 1)
                r.actual_length = p.transfer_buffer_length + 1;
            owu_usbip_encode_pdu(hdr, &r);
            if (f->mode == 2)
                memset(hdr, 0xA5, sizeof hdr);
            owu_usbip_write_full(fd, hdr, sizeof hdr);
            /* Keep the connection open: the client must be the one to close it. */
            uint8_t sink[64];
            while (recv(fd, sink, sizeof sink, 0) > 0) {
            }
        }
    }
    close(fd);
    return NULL;
}

static struct owu_usb_device *g_seen;
static void capture(struct owu_hcd *hcd, struct owu_usb_device *dev, bool arrived, void *ctx)
{
    (void)hcd;
    (void)ctx;
    if (arrived) {
        owu_usb_device_ref(dev);
        g_seen = dev;
    }
}

static void test_hostile_server(void)
{
    for (int mode = 0; mode < 3; mode++) {
        struct fake_server f = {.mode = mode};
        owu_err err = {0};
        f.listen_fd = owu_usbip_listen("127.0.0.1", 0, &f.port, &err);
        CHECK(f.listen_fd >= 0);
        if (f.listen_fd < 0)
            return;
        pthread_create(&f.thread, NULL, fake_main, &f);
        struct owu_hcd *hcd = owu_usbip_client_create(1, "127.0.0.1", f.port, &err);
        hcd->hotplug = capture;
        g_seen = NULL;
        CHECK_OK(owu_usbip_client_import(hcd, "3-4", NULL, &err), &err);
        CHECK(g_seen != NULL);
        if (g_seen) {
            uint8_t buf[16];
            size_t a = 0;
            CHECK_INT(owu_transfer_sync(g_seen, OWU_XFER_BULK, 0x81, buf, sizeof buf, &a, 5000), OWU_E_NODEV);
            EVENTUALLY(owu_usb_device_gone(g_seen));
            CHECK_INT(owu_transfer_sync(g_seen, OWU_XFER_BULK, 0x81, buf, sizeof buf, &a, 5000), OWU_E_NODEV);
            owu_usb_device_unref(g_seen);
        }
        owu_hcd_destroy(hcd);
        pthread_join(f.thread, NULL);
        close(f.listen_fd);
    }
}

int main(void)
{
    RUN(test_golden_management);
    RUN(test_golden_urb);
    RUN(test_hostile_urb);
    RUN(test_hostile_management);
    RUN(test_target_and_busid_grammar);
    RUN(test_devlist);
    RUN(test_import_ids_match_local);
    RUN(test_bulk_loopback_and_control);
    RUN(test_unlink_and_timeout);
    RUN(test_unlink_races);
    RUN(test_second_importer_refused);
    RUN(test_hostile_clients);
    RUN(test_random_clients);
    RUN(test_pending_flood);
    RUN(test_drop_client_side);
    RUN(test_drop_server_side);
    RUN(test_isochronous);
    RUN(test_hostile_server);
    RUN(test_server_device_unplugged);
    owu_usbip_server_free(g.srv);
    owu_stack_close(g.local);
    return check_report();
}
