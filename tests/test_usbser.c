/* The usbser driver against the virtual cdc-acm and composite models: interface discovery,
 * class requests as the model sees them, SERIAL_STATE events and waiters, bulk loopback of
 * large patterned data, flow control, purge, surprise removal, COM names that persist,
 * exclusive open, and the selective suspend policy. */
#include <openwinusb/registry.h>
#include <openwinusb/stack.h>
#include <openwinusb/usbser.h>

#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "core/urb.h"
#include "devices/models.h"
#include "drivers/usbser/usbser_internal.h"
#include "hcd/vbus.h"
#include "model_fixture.h"

#define BUSES "virtual:cdc-acm,composite"

static struct owu_stack *open_stack(const char *buses)
{
    struct owu_stack_options opt;
    owu_stack_options_default(&opt);
    opt.buses = buses;
    struct owu_stack *s = NULL;
    owu_err err = {0};
    int rc = owu_stack_open(&opt, &s, &err);
    if (rc != OWU_OK)
        fprintf(stderr, "stack: %s\n", err.msg);
    return s;
}

/* The live model on port `port` of the first bus. */
static struct owu_vdev *model_at(struct owu_stack *s, unsigned port)
{
    char loc[32];
    snprintf(loc, sizeof loc, "virtual:1-%u", port);
    return fx_model_at(s, loc);
}

static struct owu_usbser_port *open_port(struct owu_stack *s, const char *name,
                                         const struct owu_usbser_options *opt)
{
    struct owu_usbser_port *p = NULL;
    owu_err err = {0};
    int rc = owu_usbser_open(s, name, opt, &p, &err);
    if (rc != OWU_OK)
        fprintf(stderr, "open %s: %s\n", name, err.msg);
    return p;
}

/* Flags set by a helper thread and polled by the test. */
#define FLAG_SET(x) __atomic_store_n(&(x), 1, __ATOMIC_SEQ_CST)
#define FLAG(x) __atomic_load_n(&(x), __ATOMIC_SEQ_CST)

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- finding the interfaces (descriptor variants the models do not have) ------------------- */

#define CFG(n) 0x09, 0x02, 0, 0, n, 1, 0, 0x80, 50
#define IAD(first, count) 0x08, 0x0B, first, count, 0x02, 0x02, 0x01, 0
#define INTF(num, alt, neps, cls, sub) 0x09, 0x04, num, alt, neps, cls, sub, 0, 0
#define FD_HEADER 0x05, 0x24, 0x00, 0x10, 0x01
#define FD_CM(data) 0x05, 0x24, 0x01, 0x00, data
#define FD_ACM(caps) 0x04, 0x24, 0x02, caps
#define FD_UNION(ctrl, sub) 0x05, 0x24, 0x06, ctrl, sub
#define EP(addr, type, mps) 0x07, 0x05, addr, type, (mps) & 0xFF, (mps) >> 8, 0

static int layout_of(uint8_t *cfg, size_t len, uint8_t first, unsigned count, struct usbser_layout *lay,
                     owu_err *err)
{
    cfg[2] = (uint8_t)len;
    cfg[3] = (uint8_t)(len >> 8);
    struct owu_config *c = NULL;
    int rc = owu_config_parse(cfg, len, &c, err);
    if (rc == OWU_OK)
        rc = usbser_find_layout(c, first, count, lay, err);
    owu_config_free(c);
    return rc;
}

static void test_layout_variants(void)
{
    struct usbser_layout lay;
    owu_err err = {0};
    /* Call Management names the data interface when there is no Union; interfaces swapped. */
    uint8_t cm[] = {CFG(2), INTF(1, 0, 2, 0x0A, 0), EP(0x82, 2, 64), EP(0x03, 2, 64),
                    INTF(0, 0, 1, 0x02, 0x02), FD_HEADER, FD_CM(1), FD_ACM(0x02), EP(0x84, 3, 10)};
    CHECK_OK(layout_of(cm, sizeof cm, 0, 0, &lay, &err), &err);
    CHECK_STR(lay.found_by, "call management");
    CHECK_INT(lay.comm_intf, 0);
    CHECK_INT(lay.data_intf, 1);
    CHECK_INT(lay.in_ep, 0x82);
    CHECK_INT(lay.out_ep, 0x03);
    CHECK_INT(lay.notify_ep, 0x84);
    CHECK_INT(lay.in_mps, 64);
    CHECK_INT(lay.acm_caps, 0x02);

    /* Neither: the other interface of the IAD. */
    uint8_t iad[] = {CFG(2), IAD(0, 2), INTF(0, 0, 1, 0x02, 0x02), FD_HEADER, EP(0x83, 3, 16),
                     INTF(1, 0, 2, 0xFF, 0), EP(0x81, 2, 512), EP(0x02, 2, 512)};
    CHECK_OK(layout_of(iad, sizeof iad, 0, 0, &lay, &err), &err);
    CHECK_STR(lay.found_by, "iad");
    CHECK_INT(lay.data_intf, 1);

    /* No IAD either: a data-class interface, not the vendor one before it; its bulk pair
     * lives in alternate setting 1. A Union naming the control interface itself is ignored. */
    uint8_t dc[] = {CFG(3), INTF(0, 0, 0, 0x02, 0x02), FD_UNION(0, 0), INTF(1, 0, 2, 0xFF, 0),
                    EP(0x81, 2, 512), EP(0x01, 2, 512), INTF(2, 0, 0, 0x0A, 0), INTF(2, 1, 2, 0x0A, 0),
                    EP(0x85, 2, 512), EP(0x06, 2, 512)};
    CHECK_OK(layout_of(dc, sizeof dc, 0, 0, &lay, &err), &err);
    CHECK_STR(lay.found_by, "data class");
    CHECK_INT(lay.data_intf, 2);
    CHECK_INT(lay.data_alt, 1);
    CHECK_INT(lay.in_ep, 0x85);
    CHECK_INT(lay.notify_ep, 0);

    /* A Union naming an interface without a bulk pair falls back to Call Management. */
    uint8_t ub[] = {CFG(3), INTF(0, 0, 1, 0x02, 0x02), FD_UNION(0, 2), FD_CM(1), EP(0x83, 3, 16),
                    INTF(1, 0, 2, 0x0A, 0), EP(0x81, 2, 512), EP(0x02, 2, 512), INTF(2, 0, 1, 0x0A, 0),
                    EP(0x84, 2, 512)};
    CHECK_OK(layout_of(ub, sizeof ub, 0, 0, &lay, &err), &err);
    CHECK_STR(lay.found_by, "call management");
    CHECK_INT(lay.data_intf, 1);

    /* One interface with notification and data endpoints. */
    uint8_t comb[] = {CFG(1), INTF(0, 0, 3, 0xFF, 0), EP(0x83, 3, 16), EP(0x81, 2, 64), EP(0x02, 2, 64)};
    CHECK_OK(layout_of(comb, sizeof comb, 0, 0, &lay, &err), &err);
    CHECK_STR(lay.found_by, "combined");
    CHECK_INT(lay.comm_intf, 0);
    CHECK_INT(lay.data_intf, 0);
    CHECK_INT(lay.notify_ep, 0x83);

    /* A function range: only interfaces 2..3 count (the Union there points outside). */
    uint8_t two[] = {CFG(4), INTF(0, 0, 1, 0x02, 0x02), FD_UNION(0, 1), EP(0x83, 3, 16),
                     INTF(1, 0, 2, 0x0A, 0), EP(0x81, 2, 512), EP(0x02, 2, 512),
                     INTF(2, 0, 1, 0x02, 0x02), FD_UNION(2, 1), FD_CM(3), EP(0x86, 3, 16),
                     INTF(3, 0, 2, 0x0A, 0), EP(0x87, 2, 512), EP(0x08, 2, 512)};
    CHECK_OK(layout_of(two, sizeof two, 2, 2, &lay, &err), &err);
    CHECK_INT(lay.comm_intf, 2);
    CHECK_INT(lay.data_intf, 3);
    CHECK_STR(lay.found_by, "call management");
    CHECK_INT(lay.notify_ep, 0x86);

    /* Failures name what is missing. */
    uint8_t nodata[] = {CFG(1), INTF(0, 0, 1, 0x02, 0x02), FD_UNION(0, 1), EP(0x83, 3, 16)};
    CHECK_INT(layout_of(nodata, sizeof nodata, 0, 0, &lay, &err), OWU_E_BADDESC);
    CHECK_CONTAINS(err.msg, "no data interface");
    uint8_t nocomm[] = {CFG(1), INTF(0, 0, 2, 0xFF, 0), EP(0x81, 2, 64), EP(0x02, 2, 64)};
    CHECK_INT(layout_of(nocomm, sizeof nocomm, 0, 0, &lay, &err), OWU_E_BADDESC);
    CHECK_CONTAINS(err.msg, "no CDC communication interface");
    uint8_t zero[] = {CFG(2), INTF(0, 0, 0, 0x02, 0x02), FD_UNION(0, 1), INTF(1, 0, 2, 0x0A, 0),
                      EP(0x81, 2, 0), EP(0x02, 2, 0)};
    CHECK_INT(layout_of(zero, sizeof zero, 0, 0, &lay, &err), OWU_E_BADDESC);
    CHECK_CONTAINS(err.msg, "wMaxPacketSize 0");
    /* Truncated functional descriptors are skipped, not read past. */
    uint8_t shortfd[] = {CFG(2), INTF(0, 0, 0, 0x02, 0x02), 0x03, 0x24, 0x06, 0x04, 0x24, 0x01, 0x00,
                         INTF(1, 0, 2, 0x0A, 0), EP(0x81, 2, 512), EP(0x02, 2, 512)};
    CHECK_OK(layout_of(shortfd, sizeof shortfd, 0, 0, &lay, &err), &err);
    CHECK_STR(lay.found_by, "data class");
}

/* ---- discovery, names, exclusive open ----------------------------------------------------- */

static void test_open_and_layout(void)
{
    struct owu_stack *s = open_stack(BUSES);
    CHECK(s != NULL);
    if (!s)
        return;
    struct owu_usbser_port *a = open_port(s, "COM3", NULL);
    struct owu_usbser_port *b = open_port(s, "com4", NULL);
    CHECK(a && b);
    if (a && b) {
        struct owu_usbser_info ia, ib;
        owu_usbser_get_info(a, &ia);
        owu_usbser_get_info(b, &ib);
        CHECK_STR(ia.port_name, "COM3");
        CHECK_STR(ib.port_name, "COM4");
        CHECK_STR(ia.location, "virtual:1-1");
        CHECK_STR(ib.location, "virtual:1-2");
        CHECK_CONTAINS(ia.instance_id, "USB\\VID_1209&PID_0001&MI_00\\");
        CHECK_INT(ia.comm_interface, 0);
        CHECK_INT(ia.data_interface, 1);
        CHECK_INT(ia.notify_ep, 0x83);
        CHECK_INT(ia.in_ep, 0x81);
        CHECK_INT(ia.out_ep, 0x02);
        CHECK_INT(ia.out_max_packet, 512);
        CHECK_INT(ia.acm_capabilities, 0x06);
        CHECK_STR(ia.found_by, "union");
        CHECK_INT(ia.suspend_policy, -1);
        CHECK_INT(ib.comm_interface, 0);
        CHECK_INT(ib.data_interface, 1);
    }
    /* Second open of an open port: its interfaces are claimed. */
    struct owu_usbser_port *again = NULL;
    owu_err err = {0};
    CHECK_INT(owu_usbser_open(s, "COM3", NULL, &again, &err), OWU_E_BUSY);
    CHECK_CONTAINS(err.msg, "COM3 is in use");
    CHECK(again == NULL);
    /* The bus location names the same port. */
    CHECK_INT(owu_usbser_open(s, "virtual:1-1", NULL, &again, &err), OWU_E_BUSY);
    CHECK_INT(owu_usbser_open(s, "COM9", NULL, &again, &err), OWU_E_NOTFOUND);
    CHECK_CONTAINS(err.msg, "COM9");
    CHECK_INT(owu_usbser_open(s, "COM0", NULL, &again, &err), OWU_E_NOTFOUND);
    CHECK_INT(owu_usbser_open(s, "virtual:1-9", NULL, &again, &err), OWU_E_NOTFOUND);
    owu_usbser_close(a);
    a = open_port(s, "\\\\.\\COM3", NULL);
    CHECK(a != NULL);

    owu_strlist l = {0};
    CHECK_OK(owu_usbser_list(s, &l, &err), &err);
    CHECK_INT(l.n, 2);
    if (l.n == 2) {
        CHECK(strncmp(l.v[0], "COM3\t", 5) == 0);
        CHECK(strncmp(l.v[1], "COM4\t", 5) == 0);
        CHECK_CONTAINS(l.v[1], "virtual:1-2");
    }
    owu_strlist_clear(&l);
    owu_usbser_close(a);
    owu_usbser_close(b);
    owu_stack_close(s);
}

static void test_port_name_allocation(void)
{
    struct owu_registry *reg = owu_registry_open_memory();
    CHECK(reg != NULL);
    if (!reg)
        return;
    owu_err err = {0};
    char name[16];
    CHECK_OK(owu_registry_set_string(reg, "USB\\X\\1", OWU_REGVAL_PORT_NAME, "COM3", &err), &err);
    CHECK_OK(owu_registry_set_string(reg, "USB\\X\\2", OWU_REGVAL_PORT_NAME, "com5", &err), &err);
    CHECK_OK(owu_registry_set_string(reg, "USB\\X\\3", OWU_REGVAL_PORT_NAME, "LPT1", &err), &err);
    CHECK_OK(owu_usbser_port_name(reg, "USB\\X\\1", name, &err), &err);
    CHECK_STR(name, "COM3");
    CHECK_OK(owu_usbser_port_name(reg, "USB\\X\\4", name, &err), &err);
    CHECK_STR(name, "COM4");
    CHECK_OK(owu_usbser_port_name(reg, "USB\\X\\5", name, &err), &err);
    CHECK_STR(name, "COM6");
    /* A value that is no COM name is replaced. */
    CHECK_OK(owu_usbser_port_name(reg, "USB\\X\\3", name, &err), &err);
    CHECK_STR(name, "COM7");
    char *stored = NULL;
    CHECK_OK(owu_registry_get_string(reg, "USB\\X\\3", OWU_REGVAL_PORT_NAME, &stored, &err), &err);
    CHECK_STR(stored, "COM7");
    free(stored);
    /* Names are stable: asking again changes nothing. */
    CHECK_OK(owu_usbser_port_name(reg, "USB\\X\\4", name, &err), &err);
    CHECK_STR(name, "COM4");
    owu_registry_close(reg);
}

static void test_port_name_persistence(void)
{
    char dir[] = "/tmp/owu-usbser-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *old = getenv("OPENWINUSB_REGISTRY") ? strdup(getenv("OPENWINUSB_REGISTRY")) : NULL;
    setenv("OPENWINUSB_REGISTRY", dir, 1);

    /* The composite first this time: its CDC function takes COM3. */
    struct owu_stack *s = open_stack("virtual:composite,cdc-acm");
    CHECK(s != NULL);
    char acm_id[200] = "";
    if (s) {
        /* Listing names every port, in tree order. */
        owu_strlist l = {0};
        CHECK_OK(owu_usbser_list(s, &l, NULL), NULL);
        CHECK_INT(l.n, 2);
        if (l.n == 2) {
            CHECK_CONTAINS(l.v[0], "COM3\tUSB\\VID_1209&PID_0002");
            CHECK_CONTAINS(l.v[1], "COM4\tUSB\\VID_1209&PID_0001");
        }
        owu_strlist_clear(&l);
        struct owu_usbser_port *p = open_port(s, "virtual:1-2", NULL);
        CHECK(p != NULL);
        if (p) {
            struct owu_usbser_info in;
            owu_usbser_get_info(p, &in);
            CHECK_STR(in.port_name, "COM4");
            snprintf(acm_id, sizeof acm_id, "%s", in.instance_id);
            owu_usbser_close(p);
        }
        /* Re-plug the cdc-acm device: same instance, same name. */
        owu_err err = {0};
        CHECK_OK(owu_stack_unplug(s, 1, 2, &err), &err);
        owu_stack_lock(s);
        CHECK(owu_usbser_find(s, "COM4", NULL) == NULL);
        owu_stack_unlock(s);
        unsigned port = 0;
        CHECK_OK(owu_stack_plug(s, "cdc-acm", 5, &port, &err), &err);
        CHECK_INT(port, 5);
        p = open_port(s, "COM4", NULL);
        CHECK(p != NULL);
        if (p) {
            struct owu_usbser_info in;
            owu_usbser_get_info(p, &in);
            CHECK_STR(in.location, "virtual:1-5");
            CHECK_STR(in.instance_id, acm_id);
            owu_usbser_close(p);
        }
        owu_stack_close(s);
    }
    /* A new stack over the same store: same names, whatever the plug order. */
    s = open_stack("virtual:cdc-acm,composite");
    CHECK(s != NULL);
    if (s) {
        struct owu_usbser_port *p = open_port(s, "virtual:1-1", NULL);
        struct owu_usbser_port *q = open_port(s, "virtual:1-2", NULL);
        CHECK(p && q);
        if (p && q) {
            struct owu_usbser_info ip, iq;
            owu_usbser_get_info(p, &ip);
            owu_usbser_get_info(q, &iq);
            CHECK_STR(ip.port_name, "COM4");
            CHECK_STR(iq.port_name, "COM3");
            char *v = NULL;
            owu_err err = {0};
            CHECK_OK(owu_registry_get_string(owu_stack_registry(s), acm_id, OWU_REGVAL_PORT_NAME, &v, &err), &err);
            CHECK_STR(v, "COM4");
            free(v);
        }
        owu_usbser_close(p);
        owu_usbser_close(q);
        owu_stack_close(s);
    }
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK_INT(system(cmd), 0);
    if (old) {
        setenv("OPENWINUSB_REGISTRY", old, 1);
        free(old);
    } else {
        unsetenv("OPENWINUSB_REGISTRY");
    }
}

/* ---- class requests --------------------------------------------------------------------------- */

static void check_line_coding(struct owu_stack *s, const char *port_name, unsigned model_port)
{
    struct owu_usbser_port *p = open_port(s, port_name, NULL);
    struct owu_vdev *vd = model_at(s, model_port);
    CHECK(p && vd);
    if (!p || !vd) {
        owu_usbser_close(p);
        return;
    }
    struct owu_usbser_line_coding lc;
    CHECK_OK(owu_usbser_get_line_coding(p, &lc), NULL);
    CHECK_INT(lc.rate, 9600);
    CHECK_INT(lc.data_bits, 8);
    const struct owu_usbser_line_coding tries[] = {
        {115200, 0, 2, 8}, {300, 2, 3, 7}, {921600, 1, 4, 5}, {57600, 0, 1, 6},
    };
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        CHECK_OK(owu_usbser_set_line_coding(p, &tries[i]), NULL);
        struct owu_cdc_line_coding m;
        CHECK_OK(owu_cdc_acm_line_coding(vd, &m), NULL);
        CHECK_INT(m.rate, tries[i].rate);
        CHECK_INT(m.stop_bits, tries[i].stop_bits);
        CHECK_INT(m.parity, tries[i].parity);
        CHECK_INT(m.data_bits, tries[i].data_bits);
        struct owu_usbser_line_coding back;
        CHECK_OK(owu_usbser_get_line_coding(p, &back), NULL);
        CHECK_INT(back.rate, tries[i].rate);
        CHECK_INT(back.stop_bits, tries[i].stop_bits);
        CHECK_INT(back.parity, tries[i].parity);
        CHECK_INT(back.data_bits, tries[i].data_bits);
    }
    /* The model refuses what CDC does not allow; the driver reports the stall. */
    struct owu_usbser_line_coding bad = {0, 0, 0, 8};
    CHECK_INT(owu_usbser_set_line_coding(p, &bad), OWU_E_STALL);
    bad = (struct owu_usbser_line_coding){9600, 0, 5, 8};
    CHECK_INT(owu_usbser_set_line_coding(p, &bad), OWU_E_STALL);
    owu_usbser_close(p);
}

static void test_line_coding(void)
{
    struct owu_stack *s = open_stack(BUSES);
    CHECK(s != NULL);
    if (!s)
        return;
    check_line_coding(s, "COM3", 1);
    check_line_coding(s, "COM4", 2);
    owu_stack_close(s);
}

static void test_control_lines_and_break(void)
{
    struct owu_stack *s = open_stack(BUSES);
    CHECK(s != NULL);
    if (!s)
        return;
    struct owu_vdev *vd = model_at(s, 1);
    struct owu_usbser_port *p = open_port(s, "COM3", NULL);
    CHECK(p && vd);
    if (p && vd) {
        /* Open raises DTR and RTS; the model answers DTR with DSR|DCD. */
        CHECK_INT(owu_cdc_acm_control_lines(vd), OWU_ACM_DTR | OWU_ACM_RTS);
        CHECK_INT(owu_usbser_control_lines(p), OWU_USBSER_DTR | OWU_USBSER_RTS);
        unsigned which = 0;
        CHECK_OK(owu_usbser_wait_events(p, OWU_USBSER_EV_DSR, 10000, &which), NULL);
        CHECK(which & OWU_USBSER_EV_DSR);
        CHECK_INT(owu_usbser_modem_status(p), OWU_USBSER_DCD | OWU_USBSER_DSR);

        CHECK_OK(owu_usbser_set_control_lines(p, OWU_USBSER_RTS), NULL);
        CHECK_INT(owu_cdc_acm_control_lines(vd), OWU_ACM_RTS);
        CHECK_OK(owu_usbser_wait_events(p, OWU_USBSER_EV_DCD, 10000, &which), NULL);
        CHECK_INT(owu_usbser_modem_status(p), 0);
        CHECK_OK(owu_usbser_set_control_lines(p, OWU_USBSER_DTR), NULL);
        CHECK_INT(owu_cdc_acm_control_lines(vd), OWU_ACM_DTR);
        CHECK_OK(owu_usbser_set_control_lines(p, 0), NULL);
        CHECK_INT(owu_cdc_acm_control_lines(vd), 0);

        owu_usbser_clear_events(p, OWU_USBSER_EV_ALL);
        uint16_t last = 0;
        CHECK_OK(owu_usbser_send_break(p, 250), NULL);
        CHECK_INT(owu_cdc_acm_breaks(vd, &last), 1);
        CHECK_INT(last, 250);
        /* The model echoes a timed break as the SERIAL_STATE break bit. */
        CHECK_OK(owu_usbser_wait_events(p, OWU_USBSER_EV_BREAK, 10000, &which), NULL);
        CHECK_INT(which, OWU_USBSER_EV_BREAK);
        CHECK_OK(owu_usbser_send_break(p, 0xFFFF), NULL);
        CHECK_OK(owu_usbser_send_break(p, 0), NULL);
        CHECK_INT(owu_cdc_acm_breaks(vd, &last), 3);
        CHECK_INT(last, 0);
        struct owu_usbser_counters c;
        owu_usbser_get_counters(p, &c);
        CHECK(c.brk >= 1);
    }
    owu_usbser_close(p);
    /* Close lowers the lines. */
    if (vd)
        CHECK_INT(owu_cdc_acm_control_lines(vd), 0);
    /* keep_lines leaves them alone. */
    struct owu_usbser_options o;
    owu_usbser_options_default(&o);
    o.keep_lines = true;
    p = open_port(s, "COM3", &o);
    CHECK(p != NULL);
    if (vd)
        CHECK_INT(owu_cdc_acm_control_lines(vd), 0);
    owu_usbser_close(p);
    owu_stack_close(s);
}

/* ---- SERIAL_STATE --------------------------------------------------------------------------- */

struct waiter {
    struct owu_usbser_port *port;
    unsigned mask;
    unsigned which;
    int rc;
    int started;
};

static void *wait_thread(void *arg)
{
    struct waiter *w = arg;
    FLAG_SET(w->started);
    w->rc = owu_usbser_wait_events(w->port, w->mask, 20000, &w->which);
    return NULL;
}

static void check_serial_state(struct owu_stack *s, const char *name, unsigned model_port)
{
    struct owu_usbser_options o;
    owu_usbser_options_default(&o);
    o.keep_lines = true;   /* no DTR echo mixed in */
    struct owu_usbser_port *p = open_port(s, name, &o);
    struct owu_vdev *vd = model_at(s, model_port);
    CHECK(p && vd);
    if (!p || !vd) {
        owu_usbser_close(p);
        return;
    }
    static const struct {
        uint16_t bits;
        unsigned event;
        unsigned modem;
    } steps[] = {
        {OWU_ACM_STATE_DCD, OWU_USBSER_EV_DCD, OWU_USBSER_DCD},
        {OWU_ACM_STATE_DCD | OWU_ACM_STATE_DSR, OWU_USBSER_EV_DSR, OWU_USBSER_DCD | OWU_USBSER_DSR},
        {OWU_ACM_STATE_DSR, OWU_USBSER_EV_DCD, OWU_USBSER_DSR},
        {0, OWU_USBSER_EV_DSR, 0},
        {OWU_ACM_STATE_BREAK, OWU_USBSER_EV_BREAK, 0},
        {OWU_ACM_STATE_RING, OWU_USBSER_EV_RING, OWU_USBSER_RI},
        {OWU_ACM_STATE_FRAMING, OWU_USBSER_EV_FRAMING, 0},
        {OWU_ACM_STATE_PARITY, OWU_USBSER_EV_PARITY, 0},
        {OWU_ACM_STATE_OVERRUN, OWU_USBSER_EV_OVERRUN, 0},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        struct waiter w = {.port = p, .mask = steps[i].event};
        pthread_t t;
        CHECK_INT(pthread_create(&t, NULL, wait_thread, &w), 0);
        while (!FLAG(w.started))
            sleep_ms(1);
        sleep_ms(5);   /* most likely blocked by now; either order must work */
        CHECK_OK(owu_cdc_acm_set_serial_state(vd, steps[i].bits), NULL);
        pthread_join(t, NULL);
        CHECK_INT(w.rc, OWU_OK);
        CHECK_INT(w.which, steps[i].event);
        CHECK_INT(owu_usbser_modem_status(p), steps[i].modem);
    }
    struct owu_usbser_counters c;
    owu_usbser_get_counters(p, &c);
    CHECK_INT(c.dcd, 2);
    CHECK_INT(c.dsr, 2);
    CHECK_INT(c.brk, 1);
    CHECK_INT(c.ring, 1);
    CHECK_INT(c.framing, 1);
    CHECK_INT(c.parity, 1);
    CHECK_INT(c.overrun, 1);
    CHECK_INT(c.notifications, 9);
    CHECK_INT(c.ignored_notifications, 0);

    /* Several events in one notification: a waiter for all of them gets all at once. */
    owu_usbser_clear_events(p, OWU_USBSER_EV_ALL);
    CHECK_OK(owu_cdc_acm_set_serial_state(vd, OWU_ACM_STATE_FRAMING | OWU_ACM_STATE_PARITY | OWU_ACM_STATE_DCD),
             NULL);
    unsigned which = 0;
    unsigned mask = OWU_USBSER_EV_FRAMING | OWU_USBSER_EV_PARITY | OWU_USBSER_EV_DCD;
    CHECK_OK(owu_usbser_wait_events(p, mask, 10000, &which), NULL);
    if (which != mask) {   /* delivered as one notification, so reported together */
        unsigned more = 0;
        owu_usbser_wait_events(p, mask & ~which, 0, &more);
        which |= more;
    }
    CHECK_INT(which, mask);
    /* Nothing pending: a poll times out at once; a purge wakes a waiter. */
    CHECK_INT(owu_usbser_wait_events(p, OWU_USBSER_EV_RING, 0, &which), OWU_E_TIMEOUT);
    struct waiter w = {.port = p, .mask = OWU_USBSER_EV_RING};
    pthread_t t;
    CHECK_INT(pthread_create(&t, NULL, wait_thread, &w), 0);
    while (!FLAG(w.started))
        sleep_ms(1);
    sleep_ms(5);
    CHECK_OK(owu_usbser_purge(p, OWU_USBSER_PURGE_ABORT_WAIT), NULL);
    pthread_join(t, NULL);
    /* A waiter that had not blocked yet when the purge came simply waits: then ring. */
    if (w.rc != OWU_E_CANCELLED) {
        CHECK_INT(w.rc, OWU_E_TIMEOUT);
    }
    CHECK_INT(owu_usbser_wait_events(p, 0, 0, NULL), OWU_E_INVAL);
    owu_usbser_close(p);
}

static void test_serial_state(void)
{
    struct owu_stack *s = open_stack(BUSES);
    CHECK(s != NULL);
    if (!s)
        return;
    check_serial_state(s, "COM3", 1);
    check_serial_state(s, "COM4", 2);
    owu_stack_close(s);
}

/* ---- data --------------------------------------------------------------------------------- */

static uint8_t pattern(uint64_t i) { return (uint8_t)((i * 2654435761u) >> 13 ^ (i >> 8)); }

struct writer {
    struct owu_usbser_port *port;
    uint64_t total;
    size_t chunk_max;
    int rc;
    uint64_t written;
};

static void *write_thread(void *arg)
{
    struct writer *w = arg;
    uint8_t *buf = malloc(w->chunk_max);
    w->rc = buf ? OWU_OK : OWU_E_NOMEM;
    uint64_t pos = 0;
    unsigned k = 0;
    while (buf && pos < w->total && w->rc == OWU_OK) {
        /* Sizes vary: some end on a 512-byte boundary (ZLP), some do not. */
        size_t n = (k % 3 == 0) ? w->chunk_max : (k % 3 == 1) ? w->chunk_max / 2 + 17 : 512 * (k % 7 + 1);
        k++;
        if (n > w->total - pos)
            n = (size_t)(w->total - pos);
        for (size_t i = 0; i < n; i++)
            buf[i] = pattern(pos + i);
        size_t done = 0;
        w->rc = owu_usbser_write(w->port, buf, n, 30000, &done);
        pos += done;
    }
    w->written = pos;
    free(buf);
    return NULL;
}

/* Reads `total` bytes and compares them with the pattern; returns the first bad offset or
 * total. */
static uint64_t read_verify(struct owu_usbser_port *p, uint64_t total, int *rc_out)
{
    size_t cap = 256 * 1024;
    uint8_t *buf = malloc(cap);
    uint64_t pos = 0;
    int rc = OWU_OK;
    while (buf && pos < total) {
        size_t got = 0;
        rc = owu_usbser_read(p, buf, cap, 30000, &got);
        if (rc != OWU_OK)
            break;
        for (size_t i = 0; i < got; i++)
            if (buf[i] != pattern(pos + i)) {
                free(buf);
                *rc_out = OWU_E_IO;
                return pos + i;
            }
        pos += got;
    }
    free(buf);
    *rc_out = rc;
    return pos;
}

static uint64_t loop_size(void)
{
    const char *e = getenv("OWU_USBSER_LOOP_MIB");
    unsigned mib = e ? (unsigned)atoi(e) : 64;
    return (uint64_t)(mib ? mib : 64) << 20;
}

static void check_loopback(struct owu_stack *s, const char *name, uint64_t total)
{
    struct owu_usbser_port *p = open_port(s, name, NULL);
    CHECK(p != NULL);
    if (!p)
        return;
    struct writer w = {.port = p, .total = total, .chunk_max = 1u << 20};
    uint64_t t0 = owu_now_ns();
    pthread_t t;
    CHECK_INT(pthread_create(&t, NULL, write_thread, &w), 0);
    int rc = 0;
    uint64_t got = read_verify(p, total, &rc);
    pthread_join(t, NULL);
    double secs = (double)(owu_now_ns() - t0) / 1e9;
    CHECK_INT(w.rc, OWU_OK);
    CHECK_INT(w.written, total);
    CHECK_INT(rc, OWU_OK);
    CHECK_INT(got, total);
    struct owu_usbser_counters c;
    owu_usbser_get_counters(p, &c);
    CHECK_INT(c.rx_bytes, total);
    CHECK_INT(c.tx_bytes, total);
    CHECK(c.zero_packets > 0);
    CHECK_INT(owu_usbser_rx_available(p), 0);
    printf("     %s: %.1f MiB looped back in %.2f s (%.1f MiB/s), %u ZLPs, reader paused %u times\n", name,
           (double)total / (1 << 20), secs, (double)total / (1 << 20) / (secs > 0 ? secs : 1), c.zero_packets,
           c.rx_paused);
    owu_usbser_close(p);
}

static void test_loopback_large(void)
{
    struct owu_stack *s = open_stack(BUSES);
    CHECK(s != NULL);
    if (!s)
        return;
    uint64_t total = loop_size();
    check_loopback(s, "COM3", total);
    check_loopback(s, "COM4", 4u << 20);
    owu_stack_close(s);
}

static void test_zlp_boundaries(void)
{
    struct owu_stack *s = open_stack("virtual:cdc-acm");
    CHECK(s != NULL);
    if (!s)
        return;
    struct owu_usbser_port *p = open_port(s, "COM3", NULL);
    CHECK(p != NULL);
    if (p) {
        uint8_t buf[2048], back[2048];
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = (uint8_t)i;
        const size_t sizes[] = {1, 511, 512, 513, 1024, 2048, 0};
        unsigned zlps = 0;
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            size_t n = sizes[k], done = 99;
            CHECK_OK(owu_usbser_write(p, buf, n, 5000, &done), NULL);
            CHECK_INT(done, n);
            if (n && n % 512 == 0)
                zlps++;
            struct owu_usbser_counters c;
            owu_usbser_get_counters(p, &c);
            CHECK_INT(c.zero_packets, zlps);
            size_t have = 0;
            while (have < n) {
                size_t got = 0;
                int rc = owu_usbser_read(p, back + have, n - have, 5000, &got);
                CHECK_INT(rc, OWU_OK);
                if (rc != OWU_OK)
                    break;
                have += got;
            }
            CHECK(memcmp(back, buf, n) == 0);
        }
        /* Nothing left; a poll says so at once. */
        size_t got = 5;
        CHECK_INT(owu_usbser_read(p, back, sizeof back, 0, &got), OWU_E_TIMEOUT);
        CHECK_INT(got, 0);
        CHECK_INT(owu_usbser_write(p, NULL, 5, 100, NULL), OWU_E_INVAL);
        CHECK_INT(owu_usbser_read(p, NULL, 5, 0, &got), OWU_E_INVAL);
        CHECK_OK(owu_usbser_read(p, NULL, 0, 0, &got), NULL);
        CHECK_INT(got, 0);
        CHECK_OK(owu_usbser_write(p, NULL, 0, 100, NULL), NULL);
    }
    owu_usbser_close(p);
    owu_stack_close(s);
}

static void test_flow_control_and_purge(void)
{
    struct owu_stack *s = open_stack("virtual:cdc-acm");
    CHECK(s != NULL);
    if (!s)
        return;
    struct owu_usbser_options o;
    owu_usbser_options_default(&o);
    o.read_urbs = 4;
    o.read_urb_size = 512;
    o.rx_buffer_size = 8192;
    struct owu_usbser_port *p = open_port(s, "COM3", &o);
    CHECK(p != NULL);
    if (p) {
        /* 1 MiB against an 8 KiB buffer and the model's 64 KiB FIFO: the writer can only
         * finish because the reader stops and restarts the bulk IN transfers. */
        uint64_t total = 1u << 20;
        struct writer w = {.port = p, .total = total, .chunk_max = 96 * 1024};
        pthread_t t;
        CHECK_INT(pthread_create(&t, NULL, write_thread, &w), 0);
        /* Let the buffer fill up before reading. */
        for (int i = 0; i < 20000 && owu_usbser_rx_available(p) < 8192 - 512 * 4; i++)
            sleep_ms(1);
        CHECK(owu_usbser_rx_available(p) <= 8192);
        int rc = 0;
        uint64_t got = read_verify(p, total, &rc);
        pthread_join(t, NULL);
        CHECK_INT(w.rc, OWU_OK);
        CHECK_INT(rc, OWU_OK);
        CHECK_INT(got, total);
        struct owu_usbser_counters c;
        owu_usbser_get_counters(p, &c);
        CHECK(c.rx_paused > 0);
        CHECK_INT(c.rx_bytes, total);

        /* Purge RX drops what was received. */
        uint8_t buf[300];
        memset(buf, 0x5A, sizeof buf);
        CHECK_OK(owu_usbser_write(p, buf, sizeof buf, 5000, NULL), NULL);
        for (int i = 0; i < 5000 && owu_usbser_rx_available(p) < sizeof buf; i++)
            sleep_ms(1);
        CHECK_INT(owu_usbser_rx_available(p), sizeof buf);
        CHECK_OK(owu_usbser_purge(p, OWU_USBSER_PURGE_RX), NULL);
        CHECK_INT(owu_usbser_rx_available(p), 0);
        size_t n = 0;
        CHECK_INT(owu_usbser_read(p, buf, sizeof buf, 0, &n), OWU_E_TIMEOUT);
    }
    owu_usbser_close(p);
    owu_stack_close(s);
}

struct reader {
    struct owu_usbser_port *port;
    int rc;
    size_t got;
    int started, done;
};

static void *read_thread(void *arg)
{
    struct reader *r = arg;
    uint8_t buf[64];
    FLAG_SET(r->started);
    r->rc = owu_usbser_read(r->port, buf, sizeof buf, OWU_USBSER_INFINITE, &r->got);
    FLAG_SET(r->done);
    return NULL;
}

static void test_purge_aborts_read(void)
{
    struct owu_stack *s = open_stack("virtual:cdc-acm");
    CHECK(s != NULL);
    if (!s)
        return;
    struct owu_usbser_port *p = open_port(s, "COM3", NULL);
    CHECK(p != NULL);
    if (p) {
        struct reader r = {.port = p};
        pthread_t t;
        CHECK_INT(pthread_create(&t, NULL, read_thread, &r), 0);
        while (!FLAG(r.started))
            sleep_ms(1);
        /* The reader may not be blocked yet: keep purging until it has returned. */
        for (int i = 0; i < 20000 && !FLAG(r.done); i++) {
            owu_usbser_purge(p, OWU_USBSER_PURGE_ABORT_READ);
            sleep_ms(1);
        }
        pthread_join(t, NULL);
        CHECK_INT(r.rc, OWU_E_CANCELLED);
        CHECK_INT(r.got, 0);
        /* The port still works. */
        uint8_t b = 0x42, back = 0;
        size_t n = 0;
        CHECK_OK(owu_usbser_write(p, &b, 1, 5000, NULL), NULL);
        CHECK_OK(owu_usbser_read(p, &back, 1, 5000, &n), NULL);
        CHECK_INT(back, 0x42);
    }
    owu_usbser_close(p);
    owu_stack_close(s);
}

/* A halted bulk IN endpoint is cleared by the driver and reading goes on. */
static void test_stall_recovery(void)
{
    struct owu_stack *s = open_stack("virtual:cdc-acm");
    CHECK(s != NULL);
    if (!s)
        return;
    struct owu_usbser_port *p = open_port(s, "COM3", NULL);
    struct owu_vdev *vd = model_at(s, 1);
    CHECK(p && vd);
    if (p && vd) {
        /* SET_FEATURE(ENDPOINT_HALT): the bus ends the parked reads with a stall. */
        int rc = owu_control_sync(vd->dev, 0x02, 0x03, 0, 0x81, NULL, 0, 5000);
        CHECK_INT(rc, 0);
        struct owu_usbser_counters c = {0};
        for (int i = 0; i < 10000 && c.stalls_cleared == 0; i++) {
            owu_usbser_get_counters(p, &c);
            if (!c.stalls_cleared)
                sleep_ms(1);
        }
        CHECK(c.stalls_cleared >= 1);
        uint8_t out[3000], back[3000];
        for (size_t i = 0; i < sizeof out; i++)
            out[i] = (uint8_t)(i ^ 0xA5);
        CHECK_OK(owu_usbser_write(p, out, sizeof out, 5000, NULL), NULL);
        size_t have = 0;
        while (have < sizeof out) {
            size_t got = 0;
            rc = owu_usbser_read(p, back + have, sizeof out - have, 5000, &got);
            CHECK_INT(rc, OWU_OK);
            if (rc != OWU_OK)
                break;
            have += got;
        }
        CHECK(memcmp(out, back, sizeof out) == 0);
    }
    owu_usbser_close(p);
    owu_stack_close(s);
}

/* ---- notifications the models never send, and ZLPs as the device sees them ---------------- */

/* A copy of the cdc-acm model whose notification endpoint the test drives packet by packet,
 * and which counts the zero-length packets reaching its bulk OUT endpoint. */
static struct owu_vdev_model g_scripted;
static unsigned g_zlps_seen;   /* bus lock */

static void scripted_transfer(struct owu_vdev *vd, struct owu_urb *urb)
{
    if (urb->endpoint == 0x83) {
        owu_vdev_queue(vd, urb);
        return;
    }
    if (urb->endpoint == 0x02 && urb->length == 0)
        g_zlps_seen++;
    owu_model_cdc_acm.transfer(vd, urb);
}

struct packet {
    const uint8_t *data;
    size_t len;
    bool sent;
};

static void send_packet(struct owu_vdev *vd, void *arg)
{
    struct packet *p = arg;
    struct owu_urb *u = owu_vdev_take(vd, 0x83);
    if (!u)
        return;
    size_t n = p->len < u->length ? p->len : u->length;
    if (n)
        memcpy(u->buffer, p->data, n);
    owu_vdev_complete(vd, u, OWU_OK, n);
    p->sent = true;
}

static void count_zlps(struct owu_vdev *vd, void *arg)
{
    (void)vd;
    *(unsigned *)arg = g_zlps_seen;
}

/* Hands one packet to the driver's notification URB (waiting until it is back). */
static bool inject(struct owu_vdev *vd, const uint8_t *data, size_t len)
{
    struct packet p = {data, len, false};
    for (int i = 0; i < 10000 && !p.sent; i++) {
        owu_vdev_with_lock(vd, send_packet, &p);
        if (!p.sent)
            sleep_ms(1);
    }
    return p.sent;
}

static void test_notification_parsing(void)
{
    g_scripted = owu_model_cdc_acm;
    g_scripted.name = "scripted-acm";
    g_scripted.transfer = scripted_transfer;
    struct owu_stack *s = open_stack("virtual:fx2");
    CHECK(s != NULL);
    if (!s)
        return;
    struct owu_vdev *fx2 = model_at(s, 1);
    struct owu_vdev *vd = NULL;
    owu_err err = {0};
    CHECK_OK(owu_vbus_plug(fx2->dev->hcd, &g_scripted, NULL, 0, &vd, &err), &err);
    struct owu_usbser_options o;
    owu_usbser_options_default(&o);
    o.keep_lines = true;
    struct owu_usbser_port *p = vd ? open_port(s, "COM3", &o) : NULL;
    CHECK(p != NULL);
    if (p) {
        struct owu_usbser_counters c;
        /* SERIAL_STATE split over two packets. */
        static const uint8_t head[] = {0xA1, 0x20, 0, 0, 0, 0, 2, 0};
        static const uint8_t tail[] = {0x03, 0x00};
        CHECK(inject(vd, head, sizeof head));
        owu_usbser_get_counters(p, &c);
        CHECK_INT(c.notifications, 0);
        CHECK(inject(vd, tail, sizeof tail));
        unsigned which = 0;
        CHECK_OK(owu_usbser_wait_events(p, OWU_USBSER_EV_DSR, 10000, &which), NULL);
        CHECK_INT(owu_usbser_modem_status(p), OWU_USBSER_DCD | OWU_USBSER_DSR);
        /* Other notifications and a SERIAL_STATE of the wrong length are ignored. */
        static const uint8_t network[] = {0xA1, 0x00, 1, 0, 0, 0, 0, 0};
        static const uint8_t long_state[] = {0xA1, 0x20, 0, 0, 0, 0, 4, 0, 0x10, 0, 0, 0};
        CHECK(inject(vd, network, sizeof network));
        CHECK(inject(vd, long_state, sizeof long_state));
        /* A header announcing more than any notification holds is dropped with what
         * follows in its packet; the next notification is read normally. */
        static const uint8_t huge[] = {0xA1, 0x20, 0, 0, 0, 0, 0xC8, 0x00, 0x7F, 0x7F};
        static const uint8_t ring[] = {0xA1, 0x20, 0, 0, 0, 0, 2, 0, 0x08, 0x00};
        CHECK(inject(vd, huge, sizeof huge));
        CHECK(inject(vd, NULL, 0));
        CHECK(inject(vd, ring, sizeof ring));
        CHECK_OK(owu_usbser_wait_events(p, OWU_USBSER_EV_RING, 10000, &which), NULL);
        owu_usbser_get_counters(p, &c);
        CHECK_INT(c.notifications, 2);
        CHECK_INT(c.ignored_notifications, 3);
        CHECK_INT(c.ring, 1);
        CHECK_INT(c.framing, 0);
        CHECK_INT(c.parity, 0);
        CHECK_INT(owu_usbser_modem_status(p), OWU_USBSER_RI);

        /* The device sees one ZLP per write that ends on a 512-byte boundary. */
        uint8_t buf[1024] = {0}, back[1024];
        CHECK_OK(owu_usbser_write(p, buf, 1024, 5000, NULL), NULL);
        CHECK_OK(owu_usbser_write(p, buf, 1000, 5000, NULL), NULL);
        unsigned seen = 0;
        owu_vdev_with_lock(vd, count_zlps, &seen);
        CHECK_INT(seen, 1);
        size_t have = 0;
        while (have < 2024) {
            size_t got = 0;
            int rc = owu_usbser_read(p, back, sizeof back, 5000, &got);
            CHECK_INT(rc, OWU_OK);
            if (rc != OWU_OK)
                break;
            have += got;
        }
        CHECK_INT(have, 2024);
    }
    owu_usbser_close(p);
    owu_stack_close(s);
}

struct blocked_writer {
    struct owu_usbser_port *port;
    const uint8_t *buf;
    size_t len;
    size_t written;
    int rc;
    int started;
};

static void *blocked_write_thread(void *arg)
{
    struct blocked_writer *w = arg;
    FLAG_SET(w->started);
    w->rc = owu_usbser_write(w->port, w->buf, w->len, OWU_USBSER_INFINITE, &w->written);
    return NULL;
}

/* A write the device stops taking: the timeout and the purge report exactly the bytes the
 * device took, and those (no more, no fewer) come back. */
static void test_write_timeout_and_abort(void)
{
    struct owu_stack *s = open_stack("virtual:cdc-acm");
    CHECK(s != NULL);
    if (!s)
        return;
    struct owu_usbser_options o;
    owu_usbser_options_default(&o);
    o.read_urbs = 2;
    o.read_urb_size = 512;
    o.rx_buffer_size = 4096;
    struct owu_usbser_port *p = open_port(s, "COM3", &o);
    CHECK(p != NULL);
    size_t len = 1u << 20;
    uint8_t *buf = malloc(len);
    if (p && buf) {
        for (size_t i = 0; i < len; i++)
            buf[i] = pattern(i);
        size_t w1 = 0;
        CHECK_INT(owu_usbser_write(p, buf, len, 300, &w1), OWU_E_TIMEOUT);
        CHECK(w1 > 0 && w1 < len);
        struct blocked_writer bw = {.port = p, .buf = buf + w1, .len = len - w1};
        pthread_t t;
        CHECK_INT(pthread_create(&t, NULL, blocked_write_thread, &bw), 0);
        while (!FLAG(bw.started))
            sleep_ms(1);
        sleep_ms(20);
        CHECK_OK(owu_usbser_purge(p, OWU_USBSER_PURGE_ABORT_WRITE), NULL);
        pthread_join(t, NULL);
        /* The purge may have come before the write began: then it waits for nothing. */
        if (bw.rc == OWU_OK) {
            CHECK_INT(bw.written, len - w1);
        } else {
            CHECK_INT(bw.rc, OWU_E_CANCELLED);
        }
        uint64_t total = w1 + bw.written;
        int rc = 0;
        CHECK_INT(read_verify(p, total, &rc), total);
        CHECK_INT(rc, OWU_OK);
        size_t n = 0;
        uint8_t extra;
        CHECK_INT(owu_usbser_read(p, &extra, 1, 100, &n), OWU_E_TIMEOUT);
    }
    free(buf);
    owu_usbser_close(p);
    owu_stack_close(s);
}

/* ---- surprise removal -------------------------------------------------------------------- */

static void test_unplug_during_read(void)
{
    struct owu_stack *s = open_stack(BUSES);
    CHECK(s != NULL);
    if (!s)
        return;
    struct owu_usbser_port *p = open_port(s, "COM3", NULL);
    CHECK(p != NULL);
    if (p) {
        struct reader r = {.port = p};
        struct waiter w = {.port = p, .mask = OWU_USBSER_EV_RING};
        pthread_t t, tw;
        CHECK_INT(pthread_create(&t, NULL, read_thread, &r), 0);
        CHECK_INT(pthread_create(&tw, NULL, wait_thread, &w), 0);
        while (!FLAG(r.started) || !FLAG(w.started))
            sleep_ms(1);
        sleep_ms(10);
        uint64_t t0 = owu_now_ns();
        owu_err err = {0};
        CHECK_OK(owu_stack_unplug(s, 1, 1, &err), &err);
        pthread_join(t, NULL);
        pthread_join(tw, NULL);
        double ms = (double)(owu_now_ns() - t0) / 1e6;
        CHECK_INT(r.rc, OWU_E_NODEV);
        CHECK_INT(w.rc, OWU_E_NODEV);
        printf("     blocked read and waiter returned %.1f ms after the unplug\n", ms);
        CHECK(owu_usbser_gone(p));
        uint8_t b = 1;
        size_t n = 0;
        CHECK_INT(owu_usbser_write(p, &b, 1, 1000, &n), OWU_E_NODEV);
        CHECK_INT(owu_usbser_read(p, &b, 1, 1000, &n), OWU_E_NODEV);
        CHECK_INT(owu_usbser_wait_events(p, OWU_USBSER_EV_ALL, 1000, NULL), OWU_E_NODEV);
        CHECK_INT(owu_usbser_set_control_lines(p, 0), OWU_E_NODEV);
        struct owu_usbser_line_coding lc;
        CHECK_INT(owu_usbser_get_line_coding(p, &lc), OWU_E_NODEV);
        owu_usbser_close(p);
        /* The other port is unaffected; the gone one cannot be opened. */
        struct owu_usbser_port *q = NULL;
        CHECK_INT(owu_usbser_open(s, "COM3", NULL, &q, &err), OWU_E_NOTFOUND);
        q = open_port(s, "COM4", NULL);
        CHECK(q != NULL);
        owu_usbser_close(q);
    }
    owu_stack_close(s);
}

struct big_writer {
    struct owu_usbser_port *port;
    int rc;
    int started;
};

static void *big_write_thread(void *arg)
{
    struct big_writer *w = arg;
    size_t n = 8u << 20;
    uint8_t *buf = calloc(1, n);
    FLAG_SET(w->started);
    w->rc = buf ? owu_usbser_write(w->port, buf, n, OWU_USBSER_INFINITE, NULL) : OWU_E_NOMEM;
    free(buf);
    return NULL;
}

static void test_unplug_during_write(void)
{
    struct owu_stack *s = open_stack("virtual:cdc-acm");
    CHECK(s != NULL);
    if (!s)
        return;
    struct owu_usbser_options o;
    owu_usbser_options_default(&o);
    o.rx_buffer_size = 4096;
    o.read_urbs = 2;
    o.read_urb_size = 512;
    struct owu_usbser_port *p = open_port(s, "COM3", &o);
    CHECK(p != NULL);
    if (p) {
        /* Nobody reads: the write blocks once the buffers are full. */
        struct big_writer w = {.port = p};
        pthread_t t;
        CHECK_INT(pthread_create(&t, NULL, big_write_thread, &w), 0);
        while (!FLAG(w.started))
            sleep_ms(1);
        sleep_ms(20);
        owu_err err = {0};
        CHECK_OK(owu_stack_unplug(s, 1, 1, &err), &err);
        pthread_join(t, NULL);
        CHECK_INT(w.rc, OWU_E_NODEV);
        owu_usbser_close(p);
    }
    owu_stack_close(s);
}

/* ---- selective suspend ----------------------------------------------------------------------- */

static bool vd_suspended(struct owu_vdev *vd)
{
    return vd && __atomic_load_n(&vd->suspended, __ATOMIC_SEQ_CST);
}

static void set_policy(struct owu_stack *s, const char *name, uint32_t v)
{
    owu_stack_lock(s);
    struct owu_devnode *n = owu_usbser_find(s, name, NULL);
    char id[200] = "";
    if (n)
        snprintf(id, sizeof id, "%s", n->instance_id);
    owu_stack_unlock(s);
    CHECK(n != NULL);
    owu_err err = {0};
    CHECK_OK(owu_registry_set_dword(owu_stack_registry(s), id, OWU_REGVAL_IDLE_USB_SELECTIVE_SUSPEND_POLICY, v,
                                    &err),
             &err);
}

static void test_suspend_when_idle(void)
{
    struct owu_stack *s = open_stack(BUSES);
    CHECK(s != NULL);
    if (!s)
        return;
    set_policy(s, "COM3", 1);
    set_policy(s, "COM4", 1);
    struct owu_vdev *vd = model_at(s, 1);
    struct owu_usbser_options o;
    owu_usbser_options_default(&o);
    o.idle_timeout_ms = 50;
    struct owu_usbser_port *p = open_port(s, "COM3", &o);
    CHECK(p != NULL);
    if (p) {
        struct owu_usbser_info in;
        owu_usbser_get_info(p, &in);
        CHECK_INT(in.suspend_policy, 1);
        struct owu_usbser_power_stats ps = {0};
        for (int i = 0; i < 10000 && !ps.suspended; i++) {
            owu_usbser_power_stats(p, &ps);
            if (!ps.suspended)
                sleep_ms(1);
        }
        CHECK(ps.suspended);
        CHECK(vd_suspended(vd));
        /* A write wakes it; data flows again; a class request works. */
        uint8_t b[100], back[100];
        for (size_t i = 0; i < sizeof b; i++)
            b[i] = (uint8_t)(i * 7);
        CHECK_OK(owu_usbser_write(p, b, sizeof b, 5000, NULL), NULL);
        size_t have = 0;
        while (have < sizeof b) {
            size_t got = 0;
            int rc = owu_usbser_read(p, back + have, sizeof b - have, 5000, &got);
            CHECK_INT(rc, OWU_OK);
            if (rc != OWU_OK)
                break;
            have += got;
        }
        CHECK(memcmp(b, back, sizeof b) == 0);
        owu_usbser_power_stats(p, &ps);
        CHECK(ps.resumes >= 1);
        CHECK(ps.suspends >= 1);
        struct owu_usbser_line_coding lc;
        CHECK_OK(owu_usbser_get_line_coding(p, &lc), NULL);
    }
    owu_usbser_close(p);
    /* The composite device has other functions: its CDC port never suspends it. */
    p = open_port(s, "COM4", &o);
    CHECK(p != NULL);
    if (p) {
        sleep_ms(200);
        struct owu_usbser_power_stats ps;
        owu_usbser_power_stats(p, &ps);
        CHECK(!ps.suspended);
        CHECK_INT(ps.suspends, 0);
        CHECK(!vd_suspended(model_at(s, 2)));
    }
    owu_usbser_close(p);
    owu_stack_close(s);
}

static void test_suspend_when_closed(void)
{
    struct owu_stack *s = open_stack("virtual:cdc-acm");
    CHECK(s != NULL);
    if (!s)
        return;
    struct owu_vdev *vd = model_at(s, 1);
    /* Without the value: never suspended. */
    struct owu_usbser_port *p = open_port(s, "COM3", NULL);
    owu_usbser_close(p);
    CHECK(!vd_suspended(vd));

    set_policy(s, "COM3", 0);
    struct owu_usbser_options o;
    owu_usbser_options_default(&o);
    o.idle_timeout_ms = 20;
    p = open_port(s, "COM3", &o);
    CHECK(p != NULL);
    sleep_ms(100);
    CHECK(!vd_suspended(vd));   /* policy 0: never while a handle is open */
    owu_usbser_close(p);
    CHECK(vd_suspended(vd));
    p = open_port(s, "COM3", &o);
    CHECK(p != NULL);
    CHECK(!vd_suspended(vd));
    if (p) {
        uint8_t b = 0x77, back = 0;
        size_t n = 0;
        CHECK_OK(owu_usbser_write(p, &b, 1, 5000, NULL), NULL);
        CHECK_OK(owu_usbser_read(p, &back, 1, 5000, &n), NULL);
        CHECK_INT(back, 0x77);
    }
    owu_usbser_close(p);
    owu_stack_close(s);
}

int main(void)
{
    setenv("OPENWINUSB_REGISTRY", "memory", 1);
    RUN(test_layout_variants);
    RUN(test_open_and_layout);
    RUN(test_port_name_allocation);
    RUN(test_port_name_persistence);
    RUN(test_line_coding);
    RUN(test_control_lines_and_break);
    RUN(test_serial_state);
    RUN(test_zlp_boundaries);
    RUN(test_loopback_large);
    RUN(test_flow_control_and_purge);
    RUN(test_purge_aborts_read);
    RUN(test_stall_recovery);
    RUN(test_notification_parsing);
    RUN(test_write_timeout_and_abort);
    RUN(test_unplug_during_read);
    RUN(test_unplug_during_write);
    RUN(test_suspend_when_idle);
    RUN(test_suspend_when_closed);
    return check_report();
}
