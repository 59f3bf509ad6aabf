/* Driver selection: candidates, rank values, tie-breaks, ExcludeID, decorated Models, and
 * the in-box packages' behaviour the seed documents describe. Nodes are built by hand. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openwinusb/driverstore.h>
#include <openwinusb/pnp.h>

#include "check.h"

#define ARR(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NONE ((const char *const[]){NULL})

static struct owu_devnode *node_make(enum owu_node_kind kind, const char *const *hw,
                                     const char *const *compat)
{
    struct owu_devnode *n = owu_devnode_new(kind);
    for (; *hw; hw++)
        owu_strlist_add(&n->hardware_ids, *hw);
    for (; *compat; compat++)
        owu_strlist_add(&n->compatible_ids, *compat);
    return n;
}

static struct owu_driver_store *inbox_store_for(enum owu_inf_arch arch)
{
    struct owu_driver_store_options o;
    owu_driver_store_options_default(&o);
    o.no_user_store = true;
    o.trust = OWU_TRUST_CATALOG;
    o.target.arch = arch;
    struct owu_driver_store *s = NULL;
    owu_err err = {0};
    int rc = owu_driver_store_open(&o, &s, &err);
    CHECK_OK(rc, &err);
    return s;
}

static struct owu_driver_store *inbox_store(void)
{
    return inbox_store_for(OWU_INF_ARCH_AMD64);
}

static void add_text(struct owu_driver_store *s, const char *name, enum owu_pkg_signature sig,
                     const char *text)
{
    owu_err err = {0};
    CHECK_OK(owu_driver_store_add_mem(s, name, text, strlen(text), sig, &err), &err);
}

static struct owu_driver_candidates *rank(struct owu_driver_store *s, const struct owu_devnode *n)
{
    struct owu_driver_candidates *c = NULL;
    owu_err err = {0};
    CHECK_OK(owu_driver_rank(s, n, &c, &err), &err);
    return c;
}

static const struct owu_driver_candidate *find_cand(const struct owu_driver_candidates *c,
                                                    const char *inf)
{
    for (size_t i = 0; c && i < c->n; i++)
        if (strcasecmp(c->v[i].inf, inf) == 0)
            return &c->v[i];
    return NULL;
}

/* Ranks the node and checks the winner's package, service and rank. */
static void expect_winner(struct owu_driver_store *s, const struct owu_devnode *n, const char *inf,
                          const char *service, uint32_t rank_value)
{
    struct owu_driver_candidates *c = rank(s, n);
    const struct owu_driver_candidate *w = owu_driver_winner(c);
    CHECK(w != NULL);
    if (w) {
        CHECK_STR(w->inf, inf);
        if (service)
            CHECK(w->service && strcasecmp(w->service, service) == 0);
        else
            CHECK(w->service == NULL);
        CHECK_INT(w->rank, rank_value);
        CHECK_INT(w->status, OWU_CAND_WINNER);
    }
    owu_driver_candidates_free(c);
}

/* ---- the in-box packages ---------------------------------------------------------------- */

static void test_inbox_store_loads_clean(void)
{
    struct owu_driver_store *s = inbox_store();
    if (!s)
        return;
    CHECK(owu_driver_store_count(s) >= 19);
    for (size_t i = 0; i < owu_driver_store_warning_count(s); i++)
        fprintf(stderr, "unexpected warning: %s\n", owu_driver_store_warning(s, i));
    CHECK_INT(owu_driver_store_warning_count(s), 0);
    CHECK(owu_driver_store_dir(s) == NULL);
    const char *names[] = {"usb.inf", "usbhub3.inf", "usbser.inf", "winusb.inf", "mdmcpq.inf",
                           "input.inf", "usbstor.inf", "uaspstor.inf", "wdma_usb.inf",
                           "usbvideo.inf", "usbprint.inf", "bth.inf", "rndismp.inf", "wpdmtp.inf",
                           "usbncm.inf", "netwmbclass.inf", "WUDFUsbccidDriver.inf", "xusb22.inf"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const struct owu_driver_package *p = owu_driver_store_find(s, names[i]);
        CHECK(p != NULL);
        if (!p)
            continue;
        CHECK(p->inbox);
        CHECK_INT(p->signature, OWU_PKG_TRUSTED);
        CHECK(p->path == NULL);
        CHECK_STR(p->provider, "openwinusb in-box");
        CHECK(p->class_guid != NULL);
        CHECK(p->driver_ver.present);
        if (strcmp(names[i], "mdmcpq.inf") == 0)
            CHECK_INT(p->num_models, 0);
        else
            CHECK(p->num_models > 0);
    }
    /* Case-insensitive lookup, in-box first in order. */
    CHECK(owu_driver_store_find(s, "WINUSB.INF") == owu_driver_store_find(s, "winusb.inf"));
    CHECK(owu_driver_store_at(s, 0)->inbox);
    CHECK(owu_driver_store_find(s, "nonexistent.inf") == NULL);
    CHECK(owu_driver_store_at(s, 10000) == NULL);
    const struct owu_driver_package *ser = owu_driver_store_find(s, "usbser.inf");
    if (ser) {
        CHECK_STR(ser->class_name, "Ports");
        CHECK(strcasecmp(ser->class_guid, "{4d36e978-e325-11ce-bfc1-08002be10318}") == 0);
    }
    owu_driver_store_free(s);
}

/* ---- usbser: CDC ACM by compatible ID (seed 002) --------------------------------------- */

static void test_usbser_cdc_acm(void)
{
    struct owu_driver_store *s = inbox_store();
    if (!s)
        return;
    /* CDC function of a composite device: usbser.inf lists Class_02&SubClass_02&Prot_01 as
     * the line's hardware ID, the device has it as compatible ID #0: 0x00FF2000. */
    struct owu_devnode *fn = node_make(
        OWU_NODE_FUNCTION, ARR("USB\\VID_2E8A&PID_000A&REV_0100&MI_00", "USB\\VID_2E8A&PID_000A&MI_00"),
        ARR("USB\\Class_02&SubClass_02&Prot_01", "USB\\Class_02&SubClass_02", "USB\\Class_02"));
    expect_winner(s, fn, "usbser.inf", "usbser", 0x00FF2000);

    struct owu_driver_candidates *c = rank(s, fn);
    const struct owu_driver_candidate *w = owu_driver_winner(c);
    if (w) {
        CHECK_STR(w->device_id, "USB\\Class_02&SubClass_02&Prot_01");
        CHECK_INT(w->device_list, OWU_IDS_COMPATIBLE);
        CHECK_INT(w->device_pos, 0);
        CHECK_INT(w->inf_list, OWU_IDS_HARDWARE);
        CHECK_INT(w->inf_pos, 0);
        CHECK_STR(w->install, "UsbSerial_Install");
        CHECK_STR(w->install_section, "UsbSerial_Install.NT");
        CHECK_STR(w->models_section, "Generic.NTamd64");
        CHECK_STR(w->description, "USB Serial Device");
        CHECK_INT(w->signature_score, OWU_SIG_SCORE_TRUSTED);
        CHECK_INT(w->feature_score, 0xFF);
        CHECK_INT(w->identifier_score, 0x2000);
        CHECK_INT(w->signer_score, OWU_SIGNER_SCORE_INBOX);
        CHECK_CONTAINS(w->reason, "0x00FF2000");
        /* Both usbser.inf lines match; the Prot_01 line is best, the 2-part line loses. */
        CHECK_INT(c->n, 2);
        CHECK_INT(c->num_usable, 2);
        if (c->n == 2) {
            CHECK_INT(c->v[1].rank, 0x00FF2001);
            CHECK_INT(c->v[1].status, OWU_CAND_OUTRANKED);
            CHECK_CONTAINS(c->v[1].reason, "worse than the winner");
        }
    }
    owu_driver_candidates_free(c);
    owu_devnode_free(fn);

    /* Windows 11 lists three COMPAT_VID IDs first: the position moves to 3. usbccgp prints
     * child class bytes in lower case; matching ignores case. */
    struct owu_devnode *w11 = node_make(
        OWU_NODE_FUNCTION, ARR("USB\\VID_2E8A&PID_000A&REV_0100&MI_00", "USB\\VID_2E8A&PID_000A&MI_00"),
        ARR("USB\\COMPAT_VID_2e8a&Class_02&SubClass_02&Prot_01", "USB\\COMPAT_VID_2e8a&Class_02&SubClass_02",
            "USB\\COMPAT_VID_2e8a&Class_02", "USB\\class_02&subclass_02&prot_01", "USB\\Class_02&SubClass_02",
            "USB\\Class_02"));
    expect_winner(s, w11, "usbser.inf", "usbser", 0x00FF2003);
    owu_devnode_free(w11);

    /* No protocol (02/02/00): the two-part line, device position 1. */
    struct owu_devnode *p0 = node_make(OWU_NODE_DEVICE, ARR("USB\\VID_1234&PID_0001&REV_0100", "USB\\VID_1234&PID_0001"),
                                       ARR("USB\\Class_02&SubClass_02&Prot_00", "USB\\Class_02&SubClass_02", "USB\\Class_02"));
    expect_winner(s, p0, "usbser.inf", "usbser", 0x00FF2001);
    owu_devnode_free(p0);
    owu_driver_store_free(s);
}

static void test_class02_other_subclass(void)
{
    struct owu_driver_store *s = inbox_store();
    if (!s)
        return;
    /* 02/0D (NCM): the NCM package, never usbser. */
    struct owu_devnode *ncm = node_make(OWU_NODE_FUNCTION, ARR("USB\\VID_1234&PID_0002&REV_0100&MI_00", "USB\\VID_1234&PID_0002&MI_00"),
                                        ARR("USB\\Class_02&SubClass_0D&Prot_00", "USB\\Class_02&SubClass_0D", "USB\\Class_02"));
    expect_winner(s, ncm, "usbncm.inf", "UsbNcm", 0x00FF2000);
    struct owu_driver_candidates *c = rank(s, ncm);
    CHECK(find_cand(c, "usbser.inf") == NULL);
    owu_driver_candidates_free(c);
    owu_devnode_free(ncm);

    /* 02/0E (MBIM). */
    struct owu_devnode *mbim = node_make(OWU_NODE_FUNCTION, ARR("USB\\VID_1234&PID_0003&MI_00"),
                                         ARR("USB\\Class_02&SubClass_0E&Prot_00", "USB\\Class_02&SubClass_0E", "USB\\Class_02"));
    expect_winner(s, mbim, "netwmbclass.inf", "wmbclass", 0x00FF2000);
    owu_devnode_free(mbim);

    /* 02/06 (ECM): nothing in the box; the device stays without a driver. */
    struct owu_devnode *ecm = node_make(OWU_NODE_DEVICE, ARR("USB\\VID_1234&PID_0004&REV_0100", "USB\\VID_1234&PID_0004"),
                                        ARR("USB\\Class_02&SubClass_06&Prot_00", "USB\\Class_02&SubClass_06", "USB\\Class_02"));
    c = rank(s, ecm);
    CHECK(c != NULL);
    if (c) {
        CHECK_INT(c->n, 0);
        CHECK(owu_driver_winner(c) == NULL);
    }
    owu_driver_candidates_free(c);
    ecm->service = strdup("stale");
    ecm->rank = 5;
    owu_err err = {0};
    struct owu_inf_install *in = (struct owu_inf_install *)1;
    CHECK_INT(owu_driver_select(s, ecm, &in, &err), OWU_E_NOTFOUND);
    CHECK_CONTAINS(err.msg, "USB\\VID_1234&PID_0004&REV_0100");
    CHECK(in == NULL);
    CHECK(ecm->service == NULL);
    CHECK(ecm->inf == NULL);
    CHECK(ecm->inf_section == NULL);
    CHECK_INT(ecm->rank, OWU_RANK_NONE);
    owu_devnode_free(ecm);
    owu_driver_store_free(s);
}

/* ---- usbccgp: USB\COMPOSITE only when no hardware ID matches (seed 003) ------------------ */

static const char *const composite_compat[] = {"USB\\DevClass_00&SubClass_00&Prot_00", "USB\\DevClass_00&SubClass_00",
                                               "USB\\DevClass_00", "USB\\COMPOSITE", NULL};

static const char vendor_whole_device[] =
    "[Version]\r\n"
    "Signature=\"$Windows NT$\"\r\n"
    "Class=USBDevice\r\n"
    "ClassGuid={88BAE032-5A81-49f0-BC3D-A4FF138216D6}\r\n"
    "Provider=%Vendor%\r\n"
    "CatalogFile=vendor.cat\r\n"
    "DriverVer=05/01/2021,2.0.0.0\r\n"
    "[Manufacturer]\r\n"
    "%Vendor%=Devices,NTx86,NTamd64\r\n"
    "[Devices.NTx86]\r\n"
    "%Dev%=Dev_Install,USB\\VID_1234&PID_5678\r\n"
    "[Devices.NTamd64]\r\n"
    "%Dev%=Dev_Install,USB\\VID_1234&PID_5678\r\n"
    "%DevRev%=Dev_Install,USB\\VID_1234&PID_5678&REV_0100\r\n"
    "[Dev_Install.NT]\r\n"
    "Include=winusb.inf\r\n"
    "Needs=WINUSB.NT\r\n"
    "[Dev_Install.NT.HW]\r\n"
    "AddReg=Dev_HW\r\n"
    "[Dev_HW]\r\n"
    "HKR,,DeviceInterfaceGUIDs,0x10000,\"{12345678-1234-1234-1234-123456789ABC}\"\r\n"
    "[Dev_Install.NT.Services]\r\n"
    "Include=winusb.inf\r\n"
    "Needs=WINUSB.NT.Services\r\n"
    "[Strings]\r\n"
    "Vendor=\"Example Vendor\"\r\n"
    "Dev=\"Example whole device\"\r\n"
    "DevRev=\"Example whole device, revision 1.00\"\r\n";

static void test_composite_usbccgp_then_vendor(void)
{
    struct owu_driver_store *s = inbox_store();
    if (!s)
        return;
    struct owu_devnode *dev = node_make(OWU_NODE_DEVICE, ARR("USB\\VID_1234&PID_5678&REV_0100", "USB\\VID_1234&PID_5678"),
                                        composite_compat);
    dev->composite = true;
    /* USB\COMPOSITE is compatible ID #3 against usb.inf's hardware ID. */
    expect_winner(s, dev, "usb.inf", "usbccgp", 0x00FF2003);
    owu_err err = {0};
    struct owu_inf_install *in = NULL;
    CHECK_OK(owu_driver_select(s, dev, &in, &err), &err);
    CHECK_STR(dev->service, "usbccgp");
    CHECK_STR(dev->inf, "usb.inf");
    CHECK_STR(dev->inf_section, "Composite.Dev.NT");
    CHECK_INT(dev->rank, 0x00FF2003);
    CHECK(in != NULL);
    if (in)
        CHECK_STR(in->function_driver, "usbccgp");
    owu_inf_install_free(in);

    /* A vendor package naming the device's hardware ID takes the whole device. */
    add_text(s, "vendor.inf", OWU_PKG_SIGNED, vendor_whole_device);
    struct owu_driver_candidates *c = rank(s, dev);
    const struct owu_driver_candidate *w = owu_driver_winner(c);
    CHECK(w != NULL);
    if (w) {
        CHECK_STR(w->inf, "vendor.inf");
        /* The 3-part REV line: hardware ID #0 = line hardware ID: SS|FF|0000. */
        CHECK_INT(w->rank, 0x00FF0000);
        CHECK_STR(w->inf_id, "USB\\VID_1234&PID_5678&REV_0100");
        CHECK(w->service && strcasecmp(w->service, "WinUsb") == 0);
        CHECK_INT(w->signer_score, OWU_SIGNER_SCORE_AUTHENTICODE);
        CHECK_CONTAINS(w->reason, "lowest rank 0x00FF0000");
    }
    const struct owu_driver_candidate *two = NULL;
    for (size_t i = 0; c && i < c->n; i++)
        if (c->v[i].rank == 0x00FF0001)
            two = &c->v[i];
    CHECK(two != NULL);   /* the 2-part line: hardware ID #1 */
    const struct owu_driver_candidate *ccgp = find_cand(c, "usb.inf");
    CHECK(ccgp != NULL);
    if (ccgp) {
        CHECK_INT(ccgp->status, OWU_CAND_OUTRANKED);
        CHECK_INT(ccgp->rank, 0x00FF2003);
        CHECK_CONTAINS(ccgp->reason, "worse than the winner's 0x00FF0000");
    }
    CHECK_OK(owu_driver_select(s, dev, &in, &err), &err);
    CHECK(dev->service && strcasecmp(dev->service, "WinUsb") == 0);
    CHECK_STR(dev->inf, "vendor.inf");
    CHECK_STR(dev->inf_section, "Dev_Install.NT");
    CHECK(in != NULL);
    if (in) {
        CHECK_INT(in->num_hw_addreg, 1);
        if (in->num_hw_addreg)
            CHECK_STR(in->hw_addreg[0].name, "DeviceInterfaceGUIDs");
    }
    owu_inf_install_free(in);
    owu_driver_candidates_free(c);
    owu_devnode_free(dev);
    owu_driver_store_free(s);
}

static void test_vendor_hardware_id_beats_inbox_compatible_id(void)
{
    struct owu_driver_store *s = inbox_store();
    if (!s)
        return;
    /* A CDC ACM device whose vendor wants another driver than usbser (seed 002). */
    add_text(s, "acmvendor.inf", OWU_PKG_SIGNED,
             "[Version]\nSignature=\"$Windows NT$\"\nClass=Ports\n"
             "ClassGuid={4d36e978-e325-11ce-bfc1-08002be10318}\nProvider=Acme\n"
             "DriverVer=01/01/2019,1.0.0.0\n"
             "[Manufacturer]\nAcme=M,NTamd64\n[M.NTamd64]\n"
             "\"Acme modem\"=Acme_Install,USB\\VID_AAAA&PID_0001\n"
             "[Acme_Install.NTamd64]\n[Acme_Install.NTamd64.Services]\n"
             "AddService=acmeser,0x00000002,Acme_Svc\n[Acme_Svc]\nServiceType=1\nStartType=3\n"
             "ErrorControl=1\nServiceBinary=%12%\\acmeser.sys\n");
    struct owu_devnode *dev = node_make(OWU_NODE_DEVICE, ARR("USB\\VID_AAAA&PID_0001&REV_0100", "USB\\VID_AAAA&PID_0001"),
                                        ARR("USB\\Class_02&SubClass_02&Prot_01", "USB\\Class_02&SubClass_02", "USB\\Class_02"));
    expect_winner(s, dev, "acmvendor.inf", "acmeser", 0x00FF0001);
    struct owu_driver_candidates *c = rank(s, dev);
    const struct owu_driver_candidate *ser = find_cand(c, "usbser.inf");
    CHECK(ser != NULL);
    if (ser)
        CHECK_INT(ser->status, OWU_CAND_OUTRANKED);
    if (c && c->n)
        CHECK_STR(c->v[0].install_section, "Acme_Install.NTamd64");
    owu_driver_candidates_free(c);
    owu_devnode_free(dev);
    owu_driver_store_free(s);
}

/* Unsigned packages score per how the DDInstall is decorated, and lose to any signed match
 * — Windows' own order; a signed package is needed to take a device from an in-box driver. */
static void test_unsigned_signature_scores(void)
{
    struct owu_driver_store *s = inbox_store();
    if (!s)
        return;
    add_text(s, "unsigned_nt.inf", OWU_PKG_UNSIGNED,
             "[Version]\nSignature=\"$Windows NT$\"\nClass=USBDevice\nProvider=X\n"
             "DriverVer=01/01/2022,1.0.0.0\n[Manufacturer]\nX=M,NTamd64\n[M.NTamd64]\n"
             "Dev=I,USB\\VID_1234&PID_5678&REV_0100\n[I.NT]\n[I.NT.Services]\nAddService=xdrv,2,S\n"
             "[S]\nServiceType=1\n");
    add_text(s, "unsigned_plain.inf", OWU_PKG_UNSIGNED,
             "[Version]\nSignature=\"$Windows NT$\"\nClass=USBDevice\nProvider=X\n"
             "DriverVer=01/01/2022,1.0.0.0\n[Manufacturer]\nX=M,NTamd64\n[M.NTamd64]\n"
             "Dev=J,,USB\\VID_1234&PID_5678\n[J]\n[J.Services]\nAddService=ydrv,2,S\n"
             "[S]\nServiceType=1\n");
    struct owu_devnode *dev = node_make(OWU_NODE_DEVICE, ARR("USB\\VID_1234&PID_5678&REV_0100", "USB\\VID_1234&PID_5678"),
                                        composite_compat);
    struct owu_driver_candidates *c = rank(s, dev);
    const struct owu_driver_candidate *nt = find_cand(c, "unsigned_nt.inf");
    const struct owu_driver_candidate *plain = find_cand(c, "unsigned_plain.inf");
    CHECK(nt && plain);
    if (nt && plain) {
        CHECK_INT(nt->rank, 0x80FF0000);
        CHECK_INT(nt->signature_score, OWU_SIG_SCORE_UNSIGNED_NT);
        CHECK_INT(nt->signer_score, OWU_SIGNER_SCORE_UNSIGNED);
        /* hardware ID #1 against a compatible ID of the line: T = 1. */
        CHECK_INT(plain->rank, 0xC0FF1001);
        CHECK_INT(plain->inf_list, OWU_IDS_COMPATIBLE);
        CHECK_STR(plain->install_section, "J");
        CHECK_STR(plain->service, "ydrv");
    }
    const struct owu_driver_candidate *w = owu_driver_winner(c);
    CHECK(w && strcmp(w->inf, "usb.inf") == 0);
    CHECK_INT(c ? c->n : 0, 3);
    if (c && c->n == 3) {
        CHECK_STR(c->v[1].inf, "unsigned_nt.inf");
        CHECK_STR(c->v[2].inf, "unsigned_plain.inf");
    }
    owu_driver_candidates_free(c);
    owu_devnode_free(dev);
    owu_driver_store_free(s);
}

/* ---- WinUSB ----------------------------------------------------------------------------- */

static void test_winusb_ms_comp(void)
{
    struct owu_driver_store *s = inbox_store();
    if (!s)
        return;
    struct owu_devnode *dev = node_make(OWU_NODE_DEVICE, ARR("USB\\VID_CAFE&PID_4000&REV_0100", "USB\\VID_CAFE&PID_4000"),
                                        ARR("USB\\MS_COMP_WINUSB", "USB\\Class_FF&SubClass_00&Prot_00", "USB\\Class_FF&SubClass_00", "USB\\Class_FF"));
    expect_winner(s, dev, "winusb.inf", "WinUsb", 0x00FF2000);
    owu_err err = {0};
    struct owu_inf_install *in = NULL;
    CHECK_OK(owu_driver_select(s, dev, &in, &err), &err);
    CHECK_STR(dev->inf_section, "WINUSB.NT");
    CHECK_STR(dev->service, "WinUsb");
    if (in) {
        CHECK_STR(in->services_section, "WINUSB.NT.Services");
        CHECK(in->num_services == 1 && strcmp(in->services[0].service_binary, "%12%\\WinUSB.SYS") == 0);
    }
    owu_inf_install_free(in);
    owu_devnode_free(dev);

    /* ADB on a composite phone: the lower-case child ID as winusb.inf spells it. */
    struct owu_devnode *adb = node_make(OWU_NODE_FUNCTION, ARR("USB\\VID_18D1&PID_4EE7&MI_01"),
                                        ARR("USB\\Class_ff&SubClass_42&Prot_01", "USB\\Class_ff&SubClass_42", "USB\\Class_ff"));
    expect_winner(s, adb, "winusb.inf", "WinUsb", 0x00FF2000);
    owu_devnode_free(adb);
    owu_driver_store_free(s);
}

static void test_vendor_include_winusb(void)
{
    struct owu_driver_store *s = inbox_store();
    if (!s)
        return;
    /* A real vendor INF (Adafruit USBtiny): Include=winusb.inf, Needs=WINUSB.NT, its own
     * AddService=WinUSB. Its hardware ID is built from a string token. */
    FILE *f = fopen(OWU_TEST_DATA "/inf/adafruit__USBtinyISP_WinUSB__USBtiny_WinUSB.inf", "rb");
    CHECK(f != NULL);
    if (f) {
        static char buf[1 << 16];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        owu_err err = {0};
        CHECK_OK(owu_driver_store_add_mem(s, "USBtiny_WinUSB.inf", buf, n, OWU_PKG_SIGNED, &err), &err);
    }
    struct owu_devnode *dev = node_make(OWU_NODE_DEVICE, ARR("USB\\VID_1781&PID_0C9F&REV_0104", "USB\\VID_1781&PID_0C9F"),
                                        ARR("USB\\Class_FF&SubClass_00&Prot_00", "USB\\Class_FF&SubClass_00", "USB\\Class_FF"));
    expect_winner(s, dev, "USBtiny_WinUSB.inf", "WinUSB", 0x00FF0001);
    owu_err err = {0};
    struct owu_inf_install *in = NULL;
    CHECK_OK(owu_driver_select(s, dev, &in, &err), &err);
    CHECK_STR(dev->inf_section, "USBtiny.NTamd64");
    if (in) {
        /* Needs=WINUSB.NT pulled winusb.inf's CopyFiles in. */
        bool from_winusb = false;
        for (size_t i = 0; i < in->num_copyfiles; i++)
            if (strcasecmp(in->copyfiles[i].inf, "winusb.inf") == 0)
                from_winusb = true;
        CHECK(from_winusb);
        CHECK_INT(in->num_hw_addreg, 2);
    }
    owu_inf_install_free(in);
    owu_devnode_free(dev);

    /* Needs=WINUSB.NT.Services (no AddService of its own): the service comes from winusb.inf. */
    add_text(s, "needs_services.inf", OWU_PKG_SIGNED, vendor_whole_device);
    struct owu_devnode *d2 = node_make(OWU_NODE_DEVICE, ARR("USB\\VID_1234&PID_5678&REV_0200", "USB\\VID_1234&PID_5678"),
                                       ARR("USB\\Class_FF&SubClass_00&Prot_00"));
    expect_winner(s, d2, "needs_services.inf", "WinUsb", 0x00FF0001);
    CHECK_OK(owu_driver_select(s, d2, &in, &err), &err);
    if (in && in->num_services) {
        CHECK_STR(in->services[0].inf, "winusb.inf");
        CHECK(in->services[0].flags & 0x2);
    }
    owu_inf_install_free(in);
    owu_devnode_free(d2);
    owu_driver_store_free(s);
}

/* ---- tie-breaks --------------------------------------------------------------------------- */

static char *tie_inf(const char *driver_ver, const char *service, const char *ddinstall_ver)
{
    char *t = NULL;
    if (asprintf(&t,
                 "[Version]\nSignature=\"$Windows NT$\"\nClass=USBDevice\nProvider=T\n"
                 "CatalogFile=t.cat\nDriverVer=%s\n[Manufacturer]\nT=M,NTamd64\n[M.NTamd64]\n"
                 "Dev=I,USB\\VID_5555&PID_0001\n[I.NT]\n%s%s\n[I.NT.Services]\n"
                 "AddService=%s,2,S\n[S]\nServiceType=1\n",
                 driver_ver, ddinstall_ver ? "DriverVer=" : "", ddinstall_ver ? ddinstall_ver : "",
                 service) < 0)
        return NULL;
    return t;
}

static void add_tie(struct owu_driver_store *s, const char *name, const char *ver, const char *svc,
                    const char *ddver)
{
    char *t = tie_inf(ver, svc, ddver);
    CHECK(t != NULL);
    if (t)
        add_text(s, name, OWU_PKG_SIGNED, t);
    free(t);
}

static void test_tie_breaks(void)
{
    struct owu_driver_store *s = inbox_store();
    if (!s)
        return;
    struct owu_devnode *dev = node_make(OWU_NODE_DEVICE, ARR("USB\\VID_5555&PID_0001&REV_0100", "USB\\VID_5555&PID_0001"), NONE);
    add_tie(s, "b_old.inf", "01/01/2020,9.0.0.0", "old", NULL);
    add_tie(s, "a_new.inf", "02/01/2020,1.0.0.0", "newdate", NULL);
    /* Same rank: the newer date wins although its version is lower. */
    expect_winner(s, dev, "a_new.inf", "newdate", 0x00FF0001);
    struct owu_driver_candidates *c = rank(s, dev);
    if (c && c->n == 2) {
        CHECK_CONTAINS(c->v[0].reason, "newer DriverVer date 02/01/2020 > 01/01/2020");
        CHECK_CONTAINS(c->v[1].reason, "older DriverVer date");
    }
    owu_driver_candidates_free(c);

    /* Same date, higher version wins. */
    add_tie(s, "c_ver.inf", "02/01/2020,1.0.0.10", "newver", NULL);
    expect_winner(s, dev, "c_ver.inf", "newver", 0x00FF0001);
    c = rank(s, dev);
    if (c && c->n == 3) {
        CHECK_CONTAINS(c->v[0].reason, "higher DriverVer version 1.0.0.10 > 1.0.0.0");
        CHECK_STR(c->v[1].inf, "a_new.inf");
        CHECK_CONTAINS(c->v[1].reason, "lower DriverVer version");
        CHECK_STR(c->v[2].inf, "b_old.inf");
    }
    owu_driver_candidates_free(c);

    /* A DDInstall-level DriverVer overrides [Version]'s. */
    add_tie(s, "d_ddver.inf", "01/01/2000,1.0.0.0", "ddver", "03/01/2020,1.0.0.0");
    expect_winner(s, dev, "d_ddver.inf", "ddver", 0x00FF0001);

    /* Full tie: the fixed order (INF name) decides, the same way every time. */
    add_tie(s, "e_twin.inf", "03/01/2020,1.0.0.0", "twin", "03/01/2020,1.0.0.0");
    expect_winner(s, dev, "d_ddver.inf", "ddver", 0x00FF0001);
    c = rank(s, dev);
    if (c && c->n == 5) {
        CHECK_CONTAINS(c->v[0].reason, "first in the fixed order");
        CHECK_STR(c->v[1].inf, "e_twin.inf");
        CHECK_CONTAINS(c->v[1].reason, "after it in the fixed order");
    }
    owu_driver_candidates_free(c);

    /* FeatureScore below the default beats everything else at equal match. */
    add_text(s, "z_feature.inf", OWU_PKG_SIGNED,
             "[Version]\nSignature=\"$Windows NT$\"\nClass=USBDevice\nProvider=T\nCatalogFile=z.cat\n"
             "DriverVer=01/01/1990,0.0.0.1\n[Manufacturer]\nT=M,NTamd64\n[M.NTamd64]\n"
             "Dev=I,USB\\VID_5555&PID_0001\n[I.NT]\nFeatureScore=0x10\n[I.NT.Services]\n"
             "AddService=feat,2,S\n[S]\nServiceType=1\n");
    expect_winner(s, dev, "z_feature.inf", "feat", 0x00100001);
    owu_devnode_free(dev);
    owu_driver_store_free(s);
}

/* ---- ExcludeID ---------------------------------------------------------------------------- */

static void test_exclude_id(void)
{
    struct owu_driver_store *s = inbox_store();
    if (!s)
        return;
    const char *const bt_compat[] = {"USB\\Class_E0&SubClass_01&Prot_01", "USB\\Class_E0&SubClass_01", "USB\\Class_E0", NULL};
    struct owu_devnode *generic = node_make(OWU_NODE_DEVICE, ARR("USB\\VID_0A12&PID_0001&REV_8891", "USB\\VID_0A12&PID_0001"), bt_compat);
    expect_winner(s, generic, "bth.inf", "BTHUSB", 0x00FF2000);
    owu_devnode_free(generic);

    /* An Intel radio the generic line excludes (its 2-part hardware ID is listed). */
    struct owu_devnode *intel = node_make(OWU_NODE_DEVICE, ARR("USB\\VID_8087&PID_0A2A&REV_0001", "USB\\VID_8087&PID_0A2A"), bt_compat);
    struct owu_driver_candidates *c = rank(s, intel);
    CHECK(c && c->n == 1);
    if (c && c->n == 1) {
        CHECK(owu_driver_winner(c) == NULL);
        CHECK_INT(c->num_usable, 0);
        CHECK_INT(c->v[0].status, OWU_CAND_EXCLUDED);
        CHECK_STR(c->v[0].exclude_id, "USB\\VID_8087&PID_0A2A");
        CHECK_CONTAINS(c->v[0].reason, "ExcludeID USB\\VID_8087&PID_0A2A");
        CHECK_CONTAINS(c->v[0].reason, "hardware ID #1");
        owu_err err = {0};
        CHECK_INT(owu_driver_apply(s, intel, &c->v[0], NULL, &err), OWU_E_INVAL);
    }
    owu_driver_candidates_free(c);
    owu_err err = {0};
    CHECK_INT(owu_driver_select(s, intel, NULL, &err), OWU_E_NOTFOUND);
    CHECK_CONTAINS(err.msg, "excluded or unusable");

    /* The vendor's own package then installs. */
    add_text(s, "ibtusb.inf", OWU_PKG_SIGNED,
             "[Version]\nSignature=\"$Windows NT$\"\nClass=Bluetooth\nProvider=Intel\nCatalogFile=i.cat\n"
             "DriverVer=01/01/2021,22.0.0.1\n[Manufacturer]\nIntel=M,NTamd64\n[M.NTamd64]\n"
             "Radio=R,USB\\VID_8087&PID_0A2A\n[R.NT]\n[R.NT.Services]\nAddService=ibtusb,2,S\n[S]\nServiceType=1\n");
    expect_winner(s, intel, "ibtusb.inf", "ibtusb", 0x00FF0001);
    c = rank(s, intel);
    if (c && c->n == 2)
        CHECK_INT(c->v[1].status, OWU_CAND_EXCLUDED);
    owu_driver_candidates_free(c);
    owu_devnode_free(intel);
    owu_driver_store_free(s);
}

/* ---- decorated Models sections per architecture ----------------------------------------- */

static const char arch_inf[] =
    "[Version]\nSignature=\"$Windows NT$\"\nClass=USBDevice\nProvider=A\nCatalogFile=a.cat\n"
    "DriverVer=01/01/2021,1.0.0.0\n"
    "[Manufacturer]\nA=M,NTx86,NTamd64\n"
    "[M.NTx86]\nDev32=I,USB\\VID_7777&PID_0086\n"
    "[M.NTamd64]\nDev64=I,USB\\VID_7777&PID_0064\n"
    "[I.NTx86]\n[I.NTx86.Services]\nAddService=drv32,2,S\n"
    "[I.NTamd64]\n[I.NTamd64.Services]\nAddService=drv64,2,S\n[S]\nServiceType=1\n";

/* Only an undecorated Models section: applies to x86 alone (pnp-ids.md §4.4). */
static const char legacy_inf[] =
    "[Version]\nSignature=\"$Windows NT$\"\nClass=USBDevice\nProvider=L\nCatalogFile=l.cat\n"
    "DriverVer=01/01/2005,1.0.0.0\n"
    "[Manufacturer]\nL=Legacy\n[Legacy]\nOld=I,USB\\VID_7777&PID_0001\n"
    "[I]\n[I.Services]\nAddService=olddrv,2,S\n[S]\nServiceType=1\n";

static void test_decorated_models_per_arch(void)
{
    struct owu_devnode *d86 = node_make(OWU_NODE_DEVICE, ARR("USB\\VID_7777&PID_0086"), NONE);
    struct owu_devnode *d64 = node_make(OWU_NODE_DEVICE, ARR("USB\\VID_7777&PID_0064"), NONE);
    struct owu_devnode *dold = node_make(OWU_NODE_DEVICE, ARR("USB\\VID_7777&PID_0001"), NONE);

    struct owu_driver_store *x86 = inbox_store_for(OWU_INF_ARCH_X86);
    struct owu_driver_store *x64 = inbox_store_for(OWU_INF_ARCH_AMD64);
    if (x86 && x64) {
        add_text(x86, "arch.inf", OWU_PKG_SIGNED, arch_inf);
        add_text(x64, "arch.inf", OWU_PKG_SIGNED, arch_inf);
        add_text(x86, "legacy.inf", OWU_PKG_SIGNED, legacy_inf);
        add_text(x64, "legacy.inf", OWU_PKG_SIGNED, legacy_inf);
        CHECK_INT(owu_driver_store_target(x86)->arch, OWU_INF_ARCH_X86);

        expect_winner(x86, d86, "arch.inf", "drv32", 0x00FF0000);
        expect_winner(x64, d64, "arch.inf", "drv64", 0x00FF0000);
        struct owu_driver_candidates *c = rank(x86, d64);
        CHECK(c && c->n == 0);
        owu_driver_candidates_free(c);
        c = rank(x64, d86);
        CHECK(c && c->n == 0);
        owu_driver_candidates_free(c);
        c = rank(x86, d86);
        if (c && c->n)
            CHECK_STR(c->v[0].models_section, "M.NTx86");
        owu_driver_candidates_free(c);

        expect_winner(x86, dold, "legacy.inf", "olddrv", 0x00FF0000);
        c = rank(x64, dold);
        CHECK(c && c->n == 0);
        owu_driver_candidates_free(c);

        const struct owu_driver_package *p = owu_driver_store_find(x64, "legacy.inf");
        CHECK(p && p->num_models == 0);
    }
    owu_driver_store_free(x86);
    owu_driver_store_free(x64);
    owu_devnode_free(d86);
    owu_devnode_free(d64);
    owu_devnode_free(dold);
}

/* ---- other in-box classes ---------------------------------------------------------------- */

static void test_other_inbox_classes(void)
{
    struct owu_driver_store *s = inbox_store();
    if (!s)
        return;
    /* HID boot keyboard: compatible ID #1 against compatible ID #1 of input.inf's line,
     * the 0x00FF3101 Windows logs for input.inf. */
    struct owu_devnode *kbd = node_make(OWU_NODE_DEVICE, ARR("USB\\VID_046D&PID_C31C&REV_6400", "USB\\VID_046D&PID_C31C"),
                                        ARR("USB\\Class_03&SubClass_01&Prot_01", "USB\\Class_03&SubClass_01", "USB\\Class_03"));
    expect_winner(s, kbd, "input.inf", "HidUsb", 0x00FF3101);
    owu_devnode_free(kbd);
    struct owu_devnode *hid = node_make(OWU_NODE_FUNCTION, ARR("USB\\VID_1234&PID_0001&MI_02"),
                                        ARR("USB\\Class_03&SubClass_00&Prot_00", "USB\\Class_03&SubClass_00", "USB\\Class_03"));
    expect_winner(s, hid, "input.inf", "HidUsb", 0x00FF3202);
    owu_devnode_free(hid);

    /* MTP function of a phone: MS OS compatible ID first, 0x00FF2000 as observed. */
    struct owu_devnode *mtp = node_make(OWU_NODE_FUNCTION, ARR("USB\\VID_04E8&PID_6860&MI_00"),
                                        ARR("USB\\MS_COMP_MTP", "USB\\Class_06&SubClass_01&Prot_01", "USB\\Class_06&SubClass_01", "USB\\Class_06"));
    expect_winner(s, mtp, "wpdmtp.inf", "WUDFRd", 0x00FF2000);
    owu_devnode_free(mtp);

    /* Mass storage BOT and UAS. */
    struct owu_devnode *bot = node_make(OWU_NODE_DEVICE, ARR("USB\\VID_0781&PID_5567"),
                                        ARR("USB\\Class_08&SubClass_06&Prot_50", "USB\\Class_08&SubClass_06", "USB\\Class_08"));
    expect_winner(s, bot, "usbstor.inf", "USBSTOR", 0x00FF2000);
    owu_devnode_free(bot);
    struct owu_devnode *uas = node_make(OWU_NODE_DEVICE, ARR("USB\\VID_174C&PID_55AA"),
                                        ARR("USB\\Class_08&SubClass_06&Prot_62", "USB\\Class_08&SubClass_06", "USB\\Class_08"));
    expect_winner(s, uas, "uaspstor.inf", "UASPStor", 0x00FF2000);
    owu_devnode_free(uas);

    /* Hubs: root hub by hardware ID, an external hub by its single compatible ID, a hub on
     * the USB 2 stack by class. */
    struct owu_devnode *root = node_make(OWU_NODE_HUB, ARR("USB\\ROOT_HUB30"), NONE);
    expect_winner(s, root, "usbhub3.inf", "USBHUB3", 0x00FF0000);
    owu_devnode_free(root);
    struct owu_devnode *hub = node_make(OWU_NODE_DEVICE, ARR("USB\\VID_05E3&PID_0610&REV_9226", "USB\\VID_05E3&PID_0610"),
                                        ARR("USB\\USB20_HUB"));
    expect_winner(s, hub, "usbhub3.inf", "USBHUB3", 0x00FF2000);
    owu_devnode_free(hub);
    struct owu_devnode *hub2 = node_make(OWU_NODE_DEVICE, ARR("USB\\VID_05E3&PID_0610"),
                                         ARR("USB\\Class_09&SubClass_00&Prot_02", "USB\\Class_09&SubClass_00", "USB\\Class_09"));
    expect_winner(s, hub2, "usb.inf", "usbhub", 0x00FF2002);
    owu_devnode_free(hub2);

    /* A failed enumeration: usb.inf describes it with a NULL driver (service ""). */
    struct owu_devnode *bad = node_make(OWU_NODE_DEVICE, ARR("USB\\DEVICE_DESCRIPTOR_FAILURE"),
                                        ARR("USB\\DEVICE_DESCRIPTOR_FAILURE"));
    expect_winner(s, bad, "usb.inf", "", 0x00FF0000);
    owu_err err = {0};
    CHECK_OK(owu_driver_select(s, bad, NULL, &err), &err);
    CHECK_STR(bad->service, "");
    CHECK_STR(bad->inf_section, "BadDevice.Dev.NT");
    owu_devnode_free(bad);

    /* RNDIS by MS OS compatible ID and by class; Xbox 360 pad; UVC function; printer; audio;
     * smart card reader. */
    struct {
        const char *const *compat;
        const char *inf, *service;
        uint32_t rank;
    } cases[] = {
        {ARR("USB\\MS_COMP_RNDIS", "USB\\Class_EF&SubClass_04&Prot_01"), "rndismp.inf", "usb8023", 0x00FF2000},
        {ARR("USB\\Class_EF&SubClass_04&Prot_01", "USB\\Class_EF&SubClass_04", "USB\\Class_EF"), "rndismp.inf", "usb8023", 0x00FF2000},
        {ARR("USB\\MS_COMP_XUSB10", "USB\\Class_FF&SubClass_5D&Prot_01", "USB\\Class_FF&SubClass_5D", "USB\\Class_FF"), "xusb22.inf", "xusb22", 0x00FF2000},
        {ARR("USB\\Class_0e&SubClass_03&Prot_00", "USB\\Class_0e&SubClass_03", "USB\\Class_0e"), "usbvideo.inf", "usbvideo", 0x00FF2000},
        {ARR("USB\\Class_07&SubClass_01&Prot_02", "USB\\Class_07&SubClass_01", "USB\\Class_07"), "usbprint.inf", "usbprint", 0x00FF2002},
        {ARR("USB\\Class_01&SubClass_01&Prot_00", "USB\\Class_01&SubClass_01", "USB\\Class_01"), "wdma_usb.inf", "usbaudio", 0x00FF2001},
        {ARR("USB\\Class_01&SubClass_00&Prot_20", "USB\\Class_01&SubClass_00", "USB\\Class_01"), "usbaudio2.inf", "usbaudio2", 0x00FF2000},
        {ARR("USB\\Class_0B&SubClass_00&Prot_00", "USB\\Class_0B&SubClass_00", "USB\\Class_0B"), "WUDFUsbccidDriver.inf", "WUDFRd", 0x00FF2002},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct owu_devnode *n = node_make(OWU_NODE_FUNCTION, ARR("USB\\VID_1111&PID_2222&MI_00"), cases[i].compat);
        expect_winner(s, n, cases[i].inf, cases[i].service, cases[i].rank);
        owu_devnode_free(n);
    }
    owu_driver_store_free(s);
}

/* A real old-style CDC INF (Include=mdmcpq.inf, CopyFiles=FakeModemCopyFileSection). */
static void test_real_usbser_vendor_inf(void)
{
    struct owu_driver_store *s = inbox_store();
    if (!s)
        return;
    FILE *f = fopen(OWU_TEST_DATA "/inf/Arduino_STM32__maple_serial.inf", "rb");
    CHECK(f != NULL);
    if (!f) {
        owu_driver_store_free(s);
        return;
    }
    static char buf[1 << 17];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    owu_err err = {0};
    CHECK_OK(owu_driver_store_add_mem(s, "maple_serial.inf", buf, n, OWU_PKG_UNSIGNED, &err), &err);
    const struct owu_driver_package *p = owu_driver_store_find(s, "maple_serial.inf");
    CHECK(p && p->num_models > 0);
    struct owu_devnode *dev = node_make(OWU_NODE_DEVICE, ARR("USB\\VID_1EAF&PID_0004&REV_0200", "USB\\VID_1EAF&PID_0004"),
                                        ARR("USB\\Class_02&SubClass_02&Prot_01", "USB\\Class_02&SubClass_02", "USB\\Class_02"));
    struct owu_driver_candidates *c = rank(s, dev);
    const struct owu_driver_candidate *m = find_cand(c, "maple_serial.inf");
    CHECK(m != NULL);
    if (m) {
        CHECK(m->service && strcasecmp(m->service, "usbser") == 0);
        CHECK_INT(m->signature_score, OWU_SIG_SCORE_UNSIGNED_NT);
        CHECK_INT(m->rank & 0xFFFF, 0x0001);
    }
    /* Unsigned: the in-box usbser line wins, with the same function driver. */
    const struct owu_driver_candidate *w = owu_driver_winner(c);
    CHECK(w && strcmp(w->inf, "usbser.inf") == 0);
    owu_driver_candidates_free(c);
    struct owu_inf_install *in = NULL;
    const struct owu_driver_candidate *mc = NULL;
    c = rank(s, dev);
    mc = find_cand(c, "maple_serial.inf");
    if (mc) {
        CHECK_OK(owu_driver_apply(s, dev, mc, &in, &err), &err);
        CHECK_STR(dev->inf, "maple_serial.inf");
        if (in) {
            bool fake = false;
            for (size_t i = 0; i < in->num_copyfiles; i++)
                if (strcasecmp(in->copyfiles[i].name, "FakeModemCopyFileSection") == 0)
                    fake = true;
            CHECK(fake);
            bool include = false;
            for (size_t i = 0; i < in->num_includes; i++)
                if (strcasecmp(in->includes[i], "mdmcpq.inf") == 0)
                    include = true;
            CHECK(include);
        }
        owu_inf_install_free(in);
    }
    owu_driver_candidates_free(c);
    owu_devnode_free(dev);
    owu_driver_store_free(s);
}

/* The Windows 8.1 modem pattern of the usbser seed document: every section comes from
 * mdmcpq.inf through Include= (no Needs=); usbser is a lower filter (flag 0, LowerFilters
 * in the hardware key), so no function driver. */
static void test_mdmcpq_lower_filter_pattern(void)
{
    struct owu_driver_store *s = inbox_store();
    if (!s)
        return;
    add_text(s, "oldmodem.inf", OWU_PKG_SIGNED,
             "[Version]\nSignature=\"$Windows NT$\"\nClass=Modem\n"
             "ClassGuid={4D36E96D-E325-11CE-BFC1-08002BE10318}\nProvider=Old\nCatalogFile=o.cat\n"
             "[Manufacturer]\nOld=M,NTamd64\n[M.NTamd64]\nModem=DDInstall,USB\\VID_0572&PID_1329\n"
             "[DDInstall.NT]\ninclude=mdmcpq.inf\nCopyFiles=FakeModemCopyFileSection\n"
             "[DDInstall.NT.Services]\ninclude=mdmcpq.inf\n"
             "AddService=usbser, 0x00000000, LowerFilter_Service_Inst\n"
             "[DDInstall.NT.HW]\ninclude=mdmcpq.inf\nAddReg=LowerFilterAddReg\n");
    struct owu_devnode *dev = node_make(OWU_NODE_DEVICE, ARR("USB\\VID_0572&PID_1329"), NONE);
    expect_winner(s, dev, "oldmodem.inf", NULL, 0x00FF0000);
    owu_err err = {0};
    struct owu_inf_install *in = NULL;
    CHECK_OK(owu_driver_select(s, dev, &in, &err), &err);
    CHECK(dev->service == NULL);
    CHECK_STR(dev->inf, "oldmodem.inf");
    /* Every section the three directives name lives in the in-box mdmcpq.inf, found
     * through Include= without Needs= (docs/inf.md, "DDInstall"). */
    if (in) {
        CHECK(in->num_includes >= 1 && strcasecmp(in->includes[0], "mdmcpq.inf") == 0);
        CHECK_INT(in->num_copyfiles, 1);
        if (in->num_copyfiles) {
            CHECK_STR(in->copyfiles[0].name, "FakeModemCopyFileSection");
            CHECK_STR(in->copyfiles[0].inf, "mdmcpq.inf");
        }
        CHECK_INT(in->num_addreg, 0);
        CHECK_STR(in->services_section, "DDInstall.NT.Services");
        CHECK_INT(in->num_services, 1);
        if (in->num_services) {
            const struct owu_inf_service *sv = &in->services[0];
            CHECK_STR(sv->name, "usbser");
            CHECK_INT(sv->flags, 0);
            CHECK_STR(sv->inf, "oldmodem.inf");   /* the AddService line */
            CHECK_STR(sv->install_section, "LowerFilter_Service_Inst");
            CHECK_STR(sv->service_binary, "%12%\\usbser.sys");
            CHECK_INT(sv->service_type, 1);
            CHECK_INT(sv->start_type, 3);
            CHECK_INT(sv->error_control, 1);
            CHECK(sv->display_name != NULL);
        }
        CHECK(in->function_driver == NULL);
        CHECK_STR(in->hw_section, "DDInstall.NT.HW");
        CHECK_INT(in->num_hw_addreg, 1);
        if (in->num_hw_addreg) {
            const struct owu_inf_reg *r = &in->hw_addreg[0];
            static const char want[] = "usbser\0";   /* + the literal's NUL: the final one */
            CHECK_STR(r->inf, "mdmcpq.inf");
            CHECK_STR(r->root, "HKR");
            CHECK_STR(r->subkey, "");
            CHECK_STR(r->name, "LowerFilters");
            CHECK_INT(r->type, OWU_REG_MULTI_SZ);
            CHECK_INT(r->len, sizeof want);
            CHECK(r->len == sizeof want && memcmp(r->data, want, sizeof want) == 0);
        }
        for (size_t i = 0; i < in->num_warnings; i++)
            fprintf(stderr, "unexpected warning: %s\n", in->warnings[i]);
        CHECK_INT(in->num_warnings, 0);
    }
    owu_inf_install_free(in);
    owu_devnode_free(dev);
    owu_driver_store_free(s);
}

static void test_errors(void)
{
    owu_err err = {0};
    struct owu_driver_candidates *c = (struct owu_driver_candidates *)1;
    CHECK_INT(owu_driver_rank(NULL, NULL, &c, &err), OWU_E_INVAL);
    CHECK(c == NULL);
    CHECK_INT(owu_driver_rank(NULL, NULL, NULL, &err), OWU_E_INVAL);
    CHECK_INT(owu_driver_apply(NULL, NULL, NULL, NULL, &err), OWU_E_INVAL);
    CHECK(owu_driver_winner(NULL) == NULL);
    owu_driver_candidates_free(NULL);
    CHECK_STR(owu_id_list_name(OWU_IDS_HARDWARE), "hardware");
    CHECK_STR(owu_candidate_status_name(OWU_CAND_EXCLUDED), "excluded");

    struct owu_driver_store *s = inbox_store();
    if (!s)
        return;
    /* A node without IDs has no candidates. */
    struct owu_devnode *empty = owu_devnode_new(OWU_NODE_DEVICE);
    c = rank(s, empty);
    CHECK(c && c->n == 0);
    owu_driver_candidates_free(c);
    /* Clearing a node's driver. */
    empty->inf = strdup("x.inf");
    CHECK_OK(owu_driver_apply(s, empty, NULL, NULL, &err), &err);
    CHECK(empty->inf == NULL);
    CHECK_INT(empty->rank, OWU_RANK_NONE);
    owu_devnode_free(empty);

    /* A Models line whose DDInstall does not exist: listed as unusable, never the winner. */
    add_text(s, "broken.inf", OWU_PKG_SIGNED,
             "[Version]\nSignature=\"$Windows NT$\"\nClass=USBDevice\nProvider=B\nCatalogFile=b.cat\n"
             "[Manufacturer]\nB=M,NTamd64\n[M.NTamd64]\nDev=Missing,USB\\VID_9999&PID_0001\n");
    CHECK(owu_driver_store_warning_count(s) >= 1);
    bool named = false;
    for (size_t i = 0; i < owu_driver_store_warning_count(s); i++)
        if (strstr(owu_driver_store_warning(s, i), "broken.inf") &&
            strstr(owu_driver_store_warning(s, i), "Missing"))
            named = true;
    CHECK(named);
    struct owu_devnode *d = node_make(OWU_NODE_DEVICE, ARR("USB\\VID_9999&PID_0001"), NONE);
    c = rank(s, d);
    CHECK(c && c->n == 1);
    if (c && c->n == 1) {
        CHECK_INT(c->v[0].status, OWU_CAND_UNUSABLE);
        CHECK_INT(c->v[0].signature_score, OWU_SIG_SCORE_UNKNOWN);
        CHECK(c->v[0].install_section == NULL);
        CHECK_CONTAINS(c->v[0].reason, "Missing");
        CHECK_INT(owu_driver_apply(s, d, &c->v[0], NULL, &err), OWU_E_INVAL);
    }
    owu_driver_candidates_free(c);
    owu_devnode_free(d);

    /* Duplicate in-memory names and unloadable text. */
    CHECK_INT(owu_driver_store_add_mem(s, "USBSER.INF", "x", 1, OWU_PKG_SIGNED, &err), OWU_E_BUSY);
    CHECK_INT(owu_driver_store_add_mem(s, "junk.inf", "[Version]\nSignature=\"$Wrong$\"\n", 29,
                                       OWU_PKG_SIGNED, &err) < 0, 1);
    CHECK(owu_driver_store_find(s, "junk.inf") == NULL);
    owu_driver_store_free(s);
}

int main(void)
{
    unsetenv(OWU_DRIVER_TRUST_ENV);
    RUN(test_inbox_store_loads_clean);
    RUN(test_usbser_cdc_acm);
    RUN(test_class02_other_subclass);
    RUN(test_composite_usbccgp_then_vendor);
    RUN(test_vendor_hardware_id_beats_inbox_compatible_id);
    RUN(test_unsigned_signature_scores);
    RUN(test_winusb_ms_comp);
    RUN(test_vendor_include_winusb);
    RUN(test_tie_breaks);
    RUN(test_exclude_id);
    RUN(test_decorated_models_per_arch);
    RUN(test_other_inbox_classes);
    RUN(test_real_usbser_vendor_inf);
    RUN(test_mdmcpq_lower_filter_pattern);
    RUN(test_errors);
    return check_report();
}
