/* Device interfaces: GUID text, symbolic links, the interface table and what registers
 * interfaces for a device node. */
#include <openwinusb/devif.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define DEV "USB\\VID_045E&PID_0040\\5&1ECE9816&0&9"
#define FN "USB\\VID_045E&PID_0040&MI_01\\7&40544E5&1&0001"
#define SERIAL_DEV "USB\\VID_2207&PID_0018\\2D312FF4BB1927AF"
#define USB_DEVICE_STR "{a5dcbf10-6530-11d2-901f-00c04fb951ed}"
#define VENDOR_A "{DA812BFF-12C3-46A2-8E2B-DBD3B7834C43}"
#define VENDOR_B "{58d07210-27c1-11dd-bd0b-0800200c9a66}"

static bool has(const owu_strlist *l, const char *needle)
{
    for (size_t i = 0; i < l->n; i++)
        if (strstr(l->v[i], needle))
            return true;
    return false;
}

/* ---- GUIDs ------------------------------------------------------------------------- */

static void test_guid_parse(void)
{
    struct owu_guid g;
    owu_err err = { 0 };
    CHECK_OK(owu_guid_parse(USB_DEVICE_STR, &g, &err), &err);
    CHECK(owu_guid_equal(&g, &OWU_GUID_DEVINTERFACE_USB_DEVICE));
    CHECK(g.Data1 == 0xA5DCBF10u && g.Data2 == 0x6530 && g.Data3 == 0x11D2);
    CHECK(g.Data4[0] == 0x90 && g.Data4[1] == 0x1F && g.Data4[7] == 0xED);
    CHECK_OK(owu_guid_parse("{A5DCBF10-6530-11D2-901F-00C04FB951ED}", &g, &err), &err);
    CHECK(owu_guid_equal(&g, &OWU_GUID_DEVINTERFACE_USB_DEVICE));
    CHECK_OK(owu_guid_parse("{a5DCbf10-6530-11d2-901F-00c04FB951ed}", &g, &err), &err);
    CHECK(owu_guid_equal(&g, &OWU_GUID_DEVINTERFACE_USB_DEVICE));

    char s[OWU_GUID_STR_SIZE];
    owu_guid_to_string(&OWU_GUID_DEVINTERFACE_COMPORT, false, s);
    CHECK_STR(s, "{86e0d1e0-8089-11d0-9ce4-08003e301f73}");
    owu_guid_to_string(&OWU_GUID_DEVINTERFACE_COMPORT, true, s);
    CHECK_STR(s, "{86E0D1E0-8089-11D0-9CE4-08003E301F73}");
    owu_guid_to_string(&OWU_GUID_DEVINTERFACE_HID, true, s);
    CHECK_STR(s, "{4D1E55B2-F16F-11CF-88CB-001111000030}");
    owu_guid_to_string(&OWU_GUID_DEVINTERFACE_USB_HUB, true, s);
    CHECK_STR(s, "{F18A0E88-C30C-11D0-8815-00A0C906BED8}");

    /* Layout and wire order match Windows' GUID. */
    CHECK_INT(sizeof(struct owu_guid), 16);
    uint8_t wire[16];
    owu_guid_to_wire(&OWU_GUID_DEVINTERFACE_USB_DEVICE, wire);
    static const uint8_t expect[16] = { 0x10, 0xBF, 0xDC, 0xA5, 0x30, 0x65, 0xD2, 0x11,
                                        0x90, 0x1F, 0x00, 0xC0, 0x4F, 0xB9, 0x51, 0xED };
    CHECK(memcmp(wire, expect, 16) == 0);
    char viaformat[40];
    owu_guid_format(wire, viaformat);
    CHECK_STR(viaformat, USB_DEVICE_STR);
    struct owu_guid back;
    owu_guid_from_wire(wire, &back);
    CHECK(owu_guid_equal(&back, &OWU_GUID_DEVINTERFACE_USB_DEVICE));
    CHECK(owu_guid_cmp(&OWU_GUID_DEVINTERFACE_HID, &OWU_GUID_DEVINTERFACE_USB_DEVICE) < 0);
    CHECK(owu_guid_cmp(&OWU_GUID_DEVINTERFACE_USB_DEVICE, &OWU_GUID_DEVINTERFACE_HID) > 0);
    struct owu_guid zero = { 0 };
    CHECK(owu_guid_is_null(&zero));
    CHECK(!owu_guid_is_null(&back));
}

static void test_guid_parse_bad(void)
{
    struct owu_guid g;
    owu_err err = { 0 };
    CHECK_INT(owu_guid_parse("a5dcbf10-6530-11d2-901f-00c04fb951ed", &g, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "expected '{' at offset 0");
    CHECK_INT(owu_guid_parse("(a5dcbf10-6530-11d2-901f-00c04fb951ed)", &g, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "expected '{' at offset 0");
    CHECK_INT(owu_guid_parse("{a5dcbf10-6530-11d2-901f-00c04fb951ed)", &g, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "expected '}' at offset 37, found ')'");
    CHECK_INT(owu_guid_parse("{a5dcbf10-6530-11d2-901f-00c04fb951ed", &g, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "37 characters, expected 38");
    CHECK_INT(owu_guid_parse("{a5dcbf10-6530-11d2-901f-00c04fb951ed}}", &g, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "39 characters, expected 38");
    CHECK_INT(owu_guid_parse("{a5dcbf10-6530-11d2-901f-00c04fb951e}", &g, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "invalid hex digit '}' at offset 36");
    CHECK_INT(owu_guid_parse("{a5dcbg10-6530-11d2-901f-00c04fb951ed}", &g, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "invalid hex digit 'g' at offset 6");
    CHECK_INT(owu_guid_parse("{a5dcbf10-6530-11d2-901f00c04fb951ed0}", &g, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "expected '-' at offset 24, found '0'");
    CHECK_INT(owu_guid_parse("{a5dcbf10\x01" "6530-11d2-901f-00c04fb951ed}", &g, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "found byte 0x");
    CHECK_CONTAINS(err.msg, "a5dcbf10?6530");   /* the control byte is not echoed */
    CHECK_INT(owu_guid_parse("{12}", &g, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "invalid hex digit '}' at offset 3");
    CHECK_INT(owu_guid_parse("", &g, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "empty");
    CHECK_INT(owu_guid_parse(NULL, &g, &err), OWU_E_PARSE);
    CHECK_INT(owu_guid_parse(USB_DEVICE_STR, NULL, &err), OWU_E_INVAL);
    CHECK(owu_guid_is_null(&g));   /* a failed parse leaves the null GUID */
}

/* ---- symbolic links ---------------------------------------------------------------- */

static void test_symbolic_link(void)
{
    char *p = NULL;
    owu_err err = { 0 };
    CHECK_OK(owu_devif_symbolic_link(&OWU_GUID_DEVINTERFACE_USB_DEVICE, DEV, NULL, &p, &err), &err);
    CHECK_STR(p, "\\\\?\\usb#vid_045e&pid_0040#5&1ece9816&0&9#{a5dcbf10-6530-11d2-901f-00c04fb951ed}");
    free(p);
    CHECK_OK(owu_devif_symbolic_link(&OWU_GUID_DEVINTERFACE_COMPORT, FN, "", &p, &err), &err);
    CHECK_STR(p, "\\\\?\\usb#vid_045e&pid_0040&mi_01#7&40544e5&1&0001#{86e0d1e0-8089-11d0-9ce4-08003e301f73}");
    free(p);
    CHECK_OK(owu_devif_symbolic_link(&OWU_GUID_DEVINTERFACE_USB_DEVICE, SERIAL_DEV, "Port1", &p, &err), &err);
    CHECK_STR(p, "\\\\?\\usb#vid_2207&pid_0018#2d312ff4bb1927af#{a5dcbf10-6530-11d2-901f-00c04fb951ed}\\port1");
    free(p);
    CHECK_INT(owu_devif_symbolic_link(&OWU_GUID_DEVINTERFACE_USB_DEVICE, "USB\\VID 1", NULL, &p, &err),
              OWU_E_INVAL);
    CHECK(p == NULL);
    CHECK_CONTAINS(err.msg, "0x20 at offset 7");
    CHECK_INT(owu_devif_symbolic_link(&OWU_GUID_DEVINTERFACE_USB_DEVICE, DEV, "a\\b", &p, &err), OWU_E_INVAL);
    CHECK_CONTAINS(err.msg, "reference string: byte 0x5C at offset 1");
    CHECK_INT(owu_devif_symbolic_link(&OWU_GUID_DEVINTERFACE_USB_DEVICE, DEV, "a/b", &p, &err), OWU_E_INVAL);
    CHECK_INT(owu_devif_symbolic_link(NULL, DEV, NULL, &p, &err), OWU_E_INVAL);
}

/* ---- the table --------------------------------------------------------------------- */

static void test_register_lookup(void)
{
    struct owu_devif_table *t = owu_devif_table_new();
    owu_err err = { 0 };
    struct owu_guid va, vb;
    CHECK_OK(owu_guid_parse(VENDOR_A, &va, &err), &err);
    CHECK_OK(owu_guid_parse(VENDOR_B, &vb, &err), &err);
    char *path = NULL;
    CHECK_OK(owu_devif_register(t, &OWU_GUID_DEVINTERFACE_USB_DEVICE, SERIAL_DEV, NULL, &path, &err), &err);
    CHECK_STR(path, "\\\\?\\usb#vid_2207&pid_0018#2d312ff4bb1927af#" USB_DEVICE_STR);
    free(path);
    CHECK_OK(owu_devif_register(t, &OWU_GUID_DEVINTERFACE_USB_DEVICE, DEV, NULL, NULL, &err), &err);
    CHECK_OK(owu_devif_register(t, &va, FN, NULL, NULL, &err), &err);
    CHECK_OK(owu_devif_register(t, &vb, FN, NULL, NULL, &err), &err);
    CHECK_OK(owu_devif_register(t, &va, FN, "second", NULL, &err), &err);
    CHECK_INT(owu_devif_count(t), 5);
    /* Registering again is harmless. */
    CHECK_OK(owu_devif_register(t, &va, "usb\\vid_045e&pid_0040&mi_01\\7&40544e5&1&0001", NULL, NULL, &err), &err);
    CHECK_INT(owu_devif_count(t), 5);

    /* By class, in path order. */
    owu_strlist l = { 0 };
    CHECK_OK(owu_devif_list(t, &OWU_GUID_DEVINTERFACE_USB_DEVICE, NULL, OWU_DEVIF_PRESENT, &l, &err), &err);
    CHECK_INT(l.n, 2);
    if (l.n == 2) {
        CHECK_STR(l.v[0], "\\\\?\\usb#vid_045e&pid_0040#5&1ece9816&0&9#" USB_DEVICE_STR);
        CHECK_STR(l.v[1], "\\\\?\\usb#vid_2207&pid_0018#2d312ff4bb1927af#" USB_DEVICE_STR);
    }
    owu_strlist_clear(&l);
    CHECK_OK(owu_devif_list(t, &va, NULL, OWU_DEVIF_PRESENT, &l, &err), &err);
    CHECK_INT(l.n, 2);
    if (l.n == 2) {
        CHECK_STR(l.v[0], "\\\\?\\usb#vid_045e&pid_0040&mi_01#7&40544e5&1&0001#{da812bff-12c3-46a2-8e2b-dbd3b7834c43}");
        CHECK_STR(l.v[1],
                  "\\\\?\\usb#vid_045e&pid_0040&mi_01#7&40544e5&1&0001#{da812bff-12c3-46a2-8e2b-dbd3b7834c43}\\second");
    }
    owu_strlist_clear(&l);
    CHECK_OK(owu_devif_list(t, &OWU_GUID_DEVINTERFACE_HID, NULL, OWU_DEVIF_PRESENT, &l, &err), &err);
    CHECK_INT(l.n, 0);
    /* By device, and everything. */
    struct owu_devif_info *v;
    size_t n;
    CHECK_OK(owu_devif_query(t, NULL, "usb\\VID_045E&PID_0040&MI_01\\7&40544e5&1&0001", 0, &v, &n, &err), &err);
    CHECK_INT(n, 3);
    for (size_t i = 0; i < n; i++)
        CHECK_STR(v[i].instance_id, FN);
    owu_devif_infos_free(v, n);
    CHECK_OK(owu_devif_query(t, NULL, NULL, 0, &v, &n, &err), &err);
    CHECK_INT(n, 5);
    for (size_t i = 1; i < n; i++)
        CHECK(strcmp(v[i - 1].path, v[i].path) < 0);
    owu_devif_infos_free(v, n);
    CHECK_INT(owu_devif_query(t, NULL, NULL, 7, &v, &n, &err), OWU_E_INVAL);

    /* The instance behind a path, in any case and with the other prefixes. */
    struct owu_devif_info info;
    CHECK_OK(owu_devif_lookup(t, "\\\\?\\USB#VID_045E&PID_0040#5&1ECE9816&0&9#{A5DCBF10-6530-11D2-901F-00C04FB951ED}",
                              &info, &err), &err);
    CHECK_STR(info.instance_id, DEV);
    CHECK(owu_guid_equal(&info.class_guid, &OWU_GUID_DEVINTERFACE_USB_DEVICE));
    CHECK_STR(info.reference, "");
    CHECK(info.enabled);
    owu_devif_info_clear(&info);
    CHECK_OK(owu_devif_lookup(t, "\\\\.\\usb#vid_045e&pid_0040&mi_01#7&40544e5&1&0001#" VENDOR_A "\\SECOND", &info,
                              &err), &err);
    CHECK_STR(info.reference, "second");
    CHECK_STR(info.instance_id, FN);
    owu_devif_info_clear(&info);
    CHECK_OK(owu_devif_lookup(t, "\\??\\usb#vid_045e&pid_0040#5&1ece9816&0&9#" USB_DEVICE_STR, &info, &err), &err);
    owu_devif_info_clear(&info);
    CHECK_INT(owu_devif_lookup(t, "\\\\?\\usb#nothing", &info, &err), OWU_E_NOTFOUND);
    CHECK_CONTAINS(err.msg, "no device interface");
    CHECK_INT(owu_devif_lookup(t, "", &info, &err), OWU_E_NOTFOUND);
    CHECK_INT(owu_devif_lookup(t, NULL, &info, &err), OWU_E_NOTFOUND);

    /* Disabled interfaces are listed only with OWU_DEVIF_ALL. */
    const char *vb_path = "\\\\?\\usb#vid_045e&pid_0040&mi_01#7&40544e5&1&0001#" VENDOR_B;
    CHECK_OK(owu_devif_set_enabled(t, vb_path, false, &err), &err);
    CHECK_OK(owu_devif_list(t, &vb, NULL, OWU_DEVIF_PRESENT, &l, &err), &err);
    CHECK_INT(l.n, 0);
    CHECK_OK(owu_devif_list(t, &vb, NULL, OWU_DEVIF_ALL, &l, &err), &err);
    CHECK_INT(l.n, 1);
    owu_strlist_clear(&l);
    CHECK_OK(owu_devif_lookup(t, vb_path, &info, &err), &err);
    CHECK(!info.enabled);
    owu_devif_info_clear(&info);
    /* Registering it again (the driver loads again) enables it. */
    CHECK_OK(owu_devif_register(t, &vb, FN, NULL, NULL, &err), &err);
    CHECK_OK(owu_devif_list(t, &vb, NULL, OWU_DEVIF_PRESENT, &l, &err), &err);
    CHECK_INT(l.n, 1);
    owu_strlist_clear(&l);
    CHECK_INT(owu_devif_set_enabled(t, "\\\\?\\nope", true, &err), OWU_E_NOTFOUND);

    /* CM_Get_Device_Interface_List form. */
    char *ms;
    size_t mlen;
    CHECK_OK(owu_devif_list_multi_sz(t, &OWU_GUID_DEVINTERFACE_USB_DEVICE, NULL, 0, &ms, &mlen, &err), &err);
    const char *first = "\\\\?\\usb#vid_045e&pid_0040#5&1ece9816&0&9#" USB_DEVICE_STR;
    const char *second = "\\\\?\\usb#vid_2207&pid_0018#2d312ff4bb1927af#" USB_DEVICE_STR;
    CHECK_INT(mlen, strlen(first) + 1 + strlen(second) + 1 + 1);
    CHECK_STR(ms, first);
    CHECK_STR(ms + strlen(first) + 1, second);
    CHECK(ms[mlen - 1] == '\0' && ms[mlen - 2] == '\0');
    free(ms);
    CHECK_OK(owu_devif_list_multi_sz(t, &OWU_GUID_DEVINTERFACE_HID, NULL, 0, &ms, &mlen, &err), &err);
    CHECK_INT(mlen, 1);
    CHECK(ms[0] == '\0');
    free(ms);

    /* Unregistering. */
    CHECK_OK(owu_devif_unregister(t, "\\\\?\\USB#VID_2207&PID_0018#2D312FF4BB1927AF#" USB_DEVICE_STR, &err), &err);
    CHECK_INT(owu_devif_unregister(t, "\\\\?\\USB#VID_2207&PID_0018#2D312FF4BB1927AF#" USB_DEVICE_STR, &err),
              OWU_E_NOTFOUND);
    CHECK_INT(owu_devif_count(t), 4);
    CHECK_INT(owu_devif_unregister_device(t, "USB\\VID_045E&PID_0040&MI_01\\7&40544E5&1&0001"), 3);
    CHECK_INT(owu_devif_unregister_device(t, FN), 0);
    CHECK_INT(owu_devif_count(t), 1);
    owu_devif_table_free(t);
}

/* ---- sources ----------------------------------------------------------------------- */

static void test_service_table(void)
{
    size_t n = 0;
    const struct owu_devif_service_class *tab = owu_devif_service_classes(&n);
    CHECK_INT(n, 4);
    CHECK(tab != NULL);
    const struct owu_guid *g[4];
    CHECK_INT(owu_devif_classes_of_service("USBSER", g, 4), 1);
    CHECK(owu_guid_equal(g[0], &OWU_GUID_DEVINTERFACE_COMPORT));
    CHECK_INT(owu_devif_classes_of_service("hidusb", g, 4), 1);
    CHECK(owu_guid_equal(g[0], &OWU_GUID_DEVINTERFACE_HID));
    CHECK_INT(owu_devif_classes_of_service("usbhub", g, 4), 1);
    CHECK(owu_guid_equal(g[0], &OWU_GUID_DEVINTERFACE_USB_HUB));
    CHECK_INT(owu_devif_classes_of_service("USBHUB3", g, 4), 1);
    CHECK(owu_guid_equal(g[0], &OWU_GUID_DEVINTERFACE_USB_HUB));
    CHECK_INT(owu_devif_classes_of_service("WinUSB", g, 4), 0);
    CHECK_INT(owu_devif_classes_of_service("usbstor", g, 4), 0);
    CHECK_INT(owu_devif_classes_of_service("usbccgp", g, 4), 0);
    CHECK_INT(owu_devif_classes_of_service(NULL, g, 4), 0);
    for (size_t i = 0; i < n; i++)
        CHECK(strncmp(tab[i].guid_name, "GUID_DEVINTERFACE_", 18) == 0);
}

static void test_register_device(void)
{
    struct owu_devif_table *t = owu_devif_table_new();
    struct owu_registry *reg = owu_registry_open_memory();
    owu_err err = { 0 };
    owu_strlist notes = { 0 };
    size_t count = 0;

    /* A CDC device on a hub port: USB_DEVICE + COMPORT. */
    CHECK_OK(owu_devif_register_device(t, DEV, "usbser", OWU_DEVIF_HUB_CHILD, reg, NULL, 0, &count, &notes, &err),
             &err);
    CHECK_INT(count, 2);
    owu_strlist l = { 0 };
    CHECK_OK(owu_devif_list(t, &OWU_GUID_DEVINTERFACE_COMPORT, NULL, 0, &l, &err), &err);
    CHECK(l.n == 1 && strcmp(l.v[0], "\\\\?\\usb#vid_045e&pid_0040#5&1ece9816&0&9#{86e0d1e0-8089-11d0-9ce4-08003e301f73}") == 0);
    owu_strlist_clear(&l);

    /* A WinUSB function: its DeviceInterfaceGUIDs (a bad one is skipped with a note) and
     * the INF's AddInterface entries; no USB_DEVICE for a usbccgp child. */
    const char *guids[] = { VENDOR_A, "{not-a-guid}", VENDOR_B };
    CHECK_OK(owu_registry_set_multi_sz(reg, FN, "DeviceInterfaceGUIDs", guids, 3, &err), &err);
    CHECK_OK(owu_registry_set_string(reg, FN, "DeviceInterfaceGUID", USB_DEVICE_STR, &err), &err);
    struct owu_inf_interface ifs[] = {
        { .inf = "vendor.inf", .line = 31, .guid = "{4D1E55B2-F16F-11CF-88CB-001111000030}", .reference = "Ref1",
          .install_section = "" },
        { .inf = "vendor.inf", .line = 32, .guid = "4D1E55B2-F16F-11CF-88CB-001111000030", .reference = "",
          .install_section = "" },
    };
    CHECK_OK(owu_devif_register_device(t, FN, "WinUsb", 0, reg, ifs, 2, &count, &notes, &err), &err);
    CHECK_INT(count, 3);
    CHECK_INT(notes.n, 2);
    CHECK(has(&notes, FN ": DeviceInterfaceGUIDs: GUID \"{not-a-guid}\""));
    CHECK(has(&notes, "vendor.inf:32: AddInterface: GUID \"4D1E55B2"));
    CHECK(has(&notes, "expected '{' at offset 0"));
    owu_strlist_clear(&notes);
    struct owu_devif_info *v;
    size_t n;
    CHECK_OK(owu_devif_query(t, NULL, FN, 0, &v, &n, &err), &err);
    CHECK_INT(n, 3);
    bool saw_ref = false, saw_usb_device = false;
    for (size_t i = 0; i < n; i++) {
        saw_ref |= strcmp(v[i].reference, "Ref1") == 0 && owu_guid_equal(&v[i].class_guid, &OWU_GUID_DEVINTERFACE_HID);
        saw_usb_device |= owu_guid_equal(&v[i].class_guid, &OWU_GUID_DEVINTERFACE_USB_DEVICE);
    }
    CHECK(saw_ref);
    CHECK(!saw_usb_device);   /* DeviceInterfaceGUID is not read when DeviceInterfaceGUIDs works */
    owu_devif_infos_free(v, n);

    /* Only DeviceInterfaceGUID (REG_SZ). */
    const char *dev2 = "USB\\VID_1209&PID_0001\\ABC";
    CHECK_OK(owu_registry_set_string(reg, dev2, "DeviceInterfaceGUID", VENDOR_B, &err), &err);
    CHECK_OK(owu_devif_register_device(t, dev2, "WINUSB", OWU_DEVIF_HUB_CHILD, reg, NULL, 0, &count, &notes, &err),
             &err);
    CHECK_INT(count, 2);
    CHECK_INT(notes.n, 0);
    struct owu_guid vb;
    CHECK_OK(owu_guid_parse(VENDOR_B, &vb, &err), &err);
    CHECK_OK(owu_devif_list(t, &vb, NULL, 0, &l, &err), &err);
    CHECK_INT(l.n, 2);   /* the function's and this device's */
    owu_strlist_clear(&l);

    /* DeviceInterfaceGUIDs written as REG_SZ (a common firmware mistake): WinUSB ignores it
     * with a note and falls back to DeviceInterfaceGUID. */
    const char *dev3 = "USB\\VID_1209&PID_0002\\DEF";
    CHECK_OK(owu_registry_set_string(reg, dev3, "DeviceInterfaceGUIDs", VENDOR_A, &err), &err);
    CHECK_OK(owu_devif_register_device(t, dev3, "WinUSB", 0, reg, NULL, 0, &count, &notes, &err), &err);
    CHECK_INT(count, 0);
    CHECK(has(&notes, "\"DeviceInterfaceGUIDs\" is REG_SZ, expected REG_MULTI_SZ; WinUSB ignores it"));
    owu_strlist_clear(&notes);
    CHECK_OK(owu_registry_set_string(reg, dev3, "DeviceInterfaceGUID", VENDOR_A, &err), &err);
    CHECK_OK(owu_devif_register_device(t, dev3, "WinUSB", 0, reg, NULL, 0, &count, &notes, &err), &err);
    CHECK_INT(count, 1);
    owu_strlist_clear(&notes);

    /* Another driver does not read WinUSB's values. */
    const char *dev4 = "USB\\VID_1209&PID_0003\\GHI";
    CHECK_OK(owu_registry_set_multi_sz(reg, dev4, "DeviceInterfaceGUIDs", guids, 1, &err), &err);
    CHECK_OK(owu_devif_register_device(t, dev4, "usbccgp", OWU_DEVIF_HUB_CHILD, reg, NULL, 0, &count, &notes, &err),
             &err);
    CHECK_INT(count, 1);   /* USB_DEVICE only */
    /* No Device Parameters at all, no service. */
    CHECK_OK(owu_devif_register_device(t, "USB\\VID_1209&PID_0004\\JKL", NULL, 0, NULL, NULL, 0, &count, &notes,
                                       &err), &err);
    CHECK_INT(count, 0);
    CHECK_INT(owu_devif_register_device(t, "bad id", "usbser", 0, reg, NULL, 0, &count, &notes, &err), OWU_E_INVAL);
    CHECK_INT(notes.n, 0);

    /* The device leaves. */
    CHECK_INT(owu_devif_unregister_device(t, DEV), 2);
    owu_registry_close(reg);
    owu_devif_table_free(t);
}

static struct owu_devnode *node(enum owu_node_kind kind, const char *id, const char *service)
{
    struct owu_devnode *n = owu_devnode_new(kind);
    n->instance_id = strdup(id);
    n->service = service ? strdup(service) : NULL;
    return n;
}

static void test_register_node(void)
{
    struct owu_devif_table *t = owu_devif_table_new();
    owu_err err = { 0 };
    size_t count = 0;
    struct owu_devnode *root_hub = node(OWU_NODE_HUB, "USB\\ROOT_HUB30\\4&1A2B3C4D&0&0", NULL);
    struct owu_devnode *hub = node(OWU_NODE_DEVICE, "USB\\VID_05E3&PID_0610\\5&ABC&0&1", "usbhub3");
    struct owu_devnode *composite = node(OWU_NODE_DEVICE, DEV, "usbccgp");
    struct owu_devnode *fn = node(OWU_NODE_FUNCTION, FN, "usbser");

    CHECK_OK(owu_devif_register_node(t, root_hub, NULL, NULL, 0, &count, NULL, &err), &err);
    CHECK_INT(count, 1);
    CHECK_OK(owu_devif_register_node(t, hub, NULL, NULL, 0, &count, NULL, &err), &err);
    CHECK_INT(count, 2);
    CHECK_OK(owu_devif_register_node(t, composite, NULL, NULL, 0, &count, NULL, &err), &err);
    CHECK_INT(count, 1);
    CHECK_OK(owu_devif_register_node(t, fn, NULL, NULL, 0, &count, NULL, &err), &err);
    CHECK_INT(count, 1);

    owu_strlist l = { 0 };
    CHECK_OK(owu_devif_list(t, &OWU_GUID_DEVINTERFACE_USB_HUB, NULL, 0, &l, &err), &err);
    CHECK_INT(l.n, 2);
    if (l.n == 2) {
        CHECK_STR(l.v[0], "\\\\?\\usb#root_hub30#4&1a2b3c4d&0&0#{f18a0e88-c30c-11d0-8815-00a0c906bed8}");
        CHECK_STR(l.v[1], "\\\\?\\usb#vid_05e3&pid_0610#5&abc&0&1#{f18a0e88-c30c-11d0-8815-00a0c906bed8}");
    }
    owu_strlist_clear(&l);
    CHECK_OK(owu_devif_list(t, &OWU_GUID_DEVINTERFACE_USB_DEVICE, NULL, 0, &l, &err), &err);
    CHECK_INT(l.n, 2);   /* the hub device and the composite device; not the root hub or the function */
    owu_strlist_clear(&l);
    CHECK_OK(owu_devif_list(t, &OWU_GUID_DEVINTERFACE_COMPORT, NULL, 0, &l, &err), &err);
    CHECK(l.n == 1 && strstr(l.v[0], "&mi_01#"));
    owu_strlist_clear(&l);
    CHECK_INT(owu_devif_register_node(t, NULL, NULL, NULL, 0, &count, NULL, &err), OWU_E_INVAL);

    owu_devnode_free(root_hub);
    owu_devnode_free(hub);
    owu_devnode_free(composite);
    owu_devnode_free(fn);
    owu_devif_table_free(t);
}

/* ---- threads ----------------------------------------------------------------------- */

struct worker {
    struct owu_devif_table *t;
    int index;
    int failures;
};

static void *devif_worker(void *p)
{
    struct worker *w = p;
    char id[64];
    for (int round = 0; round < 200; round++) {
        snprintf(id, sizeof id, "USB\\VID_1234&PID_%04X\\%d", w->index, round);
        if (owu_devif_register(w->t, &OWU_GUID_DEVINTERFACE_USB_DEVICE, id, NULL, NULL, NULL) != OWU_OK)
            w->failures++;
        struct owu_devif_info *v;
        size_t n;
        if (owu_devif_query(w->t, &OWU_GUID_DEVINTERFACE_USB_DEVICE, id, 0, &v, &n, NULL) != OWU_OK || n != 1)
            w->failures++;
        owu_devif_infos_free(v, n);
        if (round % 2 && owu_devif_unregister_device(w->t, id) != 1)
            w->failures++;
    }
    return NULL;
}

static void test_threads(void)
{
    struct owu_devif_table *t = owu_devif_table_new();
    pthread_t th[4];
    struct worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){ .t = t, .index = i };
        pthread_create(&th[i], NULL, devif_worker, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(w[i].failures, 0);
    }
    CHECK_INT(owu_devif_count(t), 4 * 100);
    owu_devif_table_free(t);
}

int main(void)
{
    RUN(test_guid_parse);
    RUN(test_guid_parse_bad);
    RUN(test_symbolic_link);
    RUN(test_register_lookup);
    RUN(test_service_table);
    RUN(test_register_device);
    RUN(test_register_node);
    RUN(test_threads);
    return check_report();
}
