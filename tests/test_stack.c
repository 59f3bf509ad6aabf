/* The stack as a whole: devices plugged and unplugged at run time, the PnP manager's work on
 * them (driver choice, Device Parameters, device interfaces) and its persistence. */
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

#include <openwinusb/devif.h>
#include <openwinusb/guid.h>
#include <openwinusb/registry.h>
#include <openwinusb/stack.h>

#define GUID_USB_DEVICE "{a5dcbf10-6530-11d2-901f-00c04fb951ed}"
#define GUID_COMPOSITE_WINUSB "{8a5e2c31-6f0b-4d7e-9c41-2b3d5e7f9a10}"
#define GUID_MSOS1_WINUSB "{1f0e6d5c-4b3a-4928-8776-a5b4c3d2e1f0}"
#define GUID_FX2_INF "{6e2b1c9a-53d4-4f07-8a11-fa0c1d2e3b4f}"

static struct owu_stack *open_stack(const char *buses)
{
    struct owu_stack_options opt;
    owu_stack_options_default(&opt);
    opt.buses = buses;
    struct owu_stack *stack = NULL;
    owu_err err = {0};
    CHECK_OK(owu_stack_open(&opt, &stack, &err), &err);
    return stack;
}

static size_t count_interfaces(struct owu_stack *stack, const char *guid_text, const char *instance,
                               char *first_path, size_t first_size)
{
    struct owu_guid g;
    CHECK_OK(owu_guid_parse(guid_text, &g, NULL), (owu_err *)NULL);
    owu_strlist paths = {0};
    CHECK_OK(owu_devif_list(owu_stack_interfaces(stack), &g, instance, OWU_DEVIF_PRESENT, &paths, NULL),
             (owu_err *)NULL);
    size_t n = paths.n;
    if (first_path && n)
        snprintf(first_path, first_size, "%s", paths.v[0]);
    owu_strlist_clear(&paths);
    return n;
}

static unsigned count_devices(struct owu_stack *stack)
{
    unsigned n = 0;
    owu_stack_lock(stack);
    for (struct owu_devnode *hub = owu_stack_tree(stack)->first_child; hub; hub = hub->next_sibling)
        for (struct owu_devnode *d = hub->first_child; d; d = d->next_sibling)
            n++;
    owu_stack_unlock(stack);
    return n;
}

static void test_plug_unplug_at_run_time(void)
{
    struct owu_stack *stack = open_stack("virtual:");
    if (!stack)
        return;
    CHECK_INT(count_devices(stack), 0);
    unsigned port = 0;
    owu_err err = {0};
    CHECK_OK(owu_stack_plug(stack, "composite", 0, &port, &err), &err);
    CHECK_INT(port, 1);
    CHECK_INT(count_devices(stack), 1);

    /* WinUSB on interface 2 registered the GUID of the device's MS OS 2.0 descriptors. */
    char path[512] = "";
    CHECK_INT(count_interfaces(stack, GUID_COMPOSITE_WINUSB, NULL, path, sizeof path), 1);
    CHECK_STR(path, "\\\\?\\usb#vid_1209&pid_0002&mi_02#6&e9f9f368&0&0002#" GUID_COMPOSITE_WINUSB);
    /* Every hub-enumerated device has a USB device interface; functions do not. */
    CHECK_INT(count_interfaces(stack, GUID_USB_DEVICE, NULL, NULL, 0), 1);
    /* The serial function has a COM port interface (usbser's class). */
    CHECK_INT(count_interfaces(stack, "{86e0d1e0-8089-11d0-9ce4-08003e301f73}", NULL, NULL, 0), 1);

    owu_stack_lock(stack);
    struct owu_devnode *f = owu_stack_find(stack, "USB\\VID_1209&PID_0002&MI_02\\6&E9F9F368&0&0002");
    CHECK(f != NULL);
    if (f) {
        CHECK_STR(f->service, "WinUsb");
        CHECK_STR(f->inf, "winusb.inf");
        CHECK_INT(f->rank, 0x00FF2000);
    }
    owu_stack_unlock(stack);
    /* Device Parameters of that function hold the GUID from the descriptors. */
    owu_strlist guids = {0};
    CHECK_OK(owu_registry_get_multi_sz(owu_stack_registry(stack), "USB\\VID_1209&PID_0002&MI_02\\6&E9F9F368&0&0002",
                                       "DeviceInterfaceGUIDs", &guids, &err), &err);
    CHECK_INT(guids.n, 1);
    if (guids.n)
        CHECK(strcasecmp(guids.v[0], GUID_COMPOSITE_WINUSB) == 0);
    owu_strlist_clear(&guids);

    /* Unplug: nodes and interfaces go away. */
    CHECK_OK(owu_stack_unplug(stack, 1, port, &err), &err);
    CHECK_INT(count_devices(stack), 0);
    CHECK_INT(count_interfaces(stack, GUID_COMPOSITE_WINUSB, NULL, NULL, 0), 0);
    CHECK_INT(count_interfaces(stack, GUID_USB_DEVICE, NULL, NULL, 0), 0);
    CHECK_INT(owu_stack_unplug(stack, 1, port, &err), OWU_E_NOTFOUND);

    /* Plugged again into the same port: the same instance and the same interface path. */
    CHECK_OK(owu_stack_plug(stack, "composite", port, NULL, &err), &err);
    char again[512] = "";
    CHECK_INT(count_interfaces(stack, GUID_COMPOSITE_WINUSB, NULL, again, sizeof again), 1);
    CHECK_STR(again, path);
    CHECK_INT(owu_stack_plug(stack, "no-such-model", 0, NULL, &err), OWU_E_NOTFOUND);
    owu_stack_close(stack);
}

static void test_msos1_interface(void)
{
    struct owu_stack *stack = open_stack("virtual:msos1,hid-keyboard");
    if (!stack)
        return;
    char path[512] = "";
    CHECK_INT(count_interfaces(stack, GUID_MSOS1_WINUSB, NULL, path, sizeof path), 1);
    CHECK_STR(path, "\\\\?\\usb#vid_1209&pid_0004#owumsos10004#" GUID_MSOS1_WINUSB);
    /* the HID keyboard: HidUsb's interface class */
    CHECK_INT(count_interfaces(stack, "{4d1e55b2-f16f-11cf-88cb-001111000030}", NULL, NULL, 0), 1);
    uint32_t v = 0;
    CHECK_OK(owu_registry_get_dword(owu_stack_registry(stack), "USB\\VID_1209&PID_0004\\OWUMSOS10004",
                                    "DeviceIdleEnabled", 0, &v, NULL), (owu_err *)NULL);
    CHECK_INT(v, 1);
    owu_stack_close(stack);
}

/* A vendor INF in the user's driver store binds WinUSB to the FX2 and gives it a device
 * interface GUID through .HW AddReg, as osrusbfx2-style WinUSB INFs do on Windows. */
static const char fx2_inf[] =
    "[Version]\r\nSignature=\"$Windows NT$\"\r\nClass=USBDevice\r\n"
    "ClassGuid={88BAE032-5A81-49f0-BC3D-A4FF138216D6}\r\nProvider=%Mfg%\r\n"
    "CatalogFile=fx2.cat\r\nDriverVer=03/01/2025,1.0.0.0\r\n\r\n"
    "[Manufacturer]\r\n%Mfg%=Fx2,NTamd64\r\n\r\n"
    "[Fx2.NTamd64]\r\n%Desc%=Fx2_Install, USB\\VID_0547&PID_1002\r\n\r\n"
    "[Fx2_Install]\r\nInclude=winusb.inf\r\nNeeds=WINUSB.NT\r\n\r\n"
    "[Fx2_Install.Services]\r\nInclude=winusb.inf\r\nNeeds=WINUSB.NT.Services\r\n\r\n"
    "[Fx2_Install.HW]\r\nAddReg=Fx2_AddReg\r\n\r\n"
    "[Fx2_AddReg]\r\nHKR,,DeviceInterfaceGUIDs,0x10000,\"" GUID_FX2_INF "\"\r\n"
    "HKR,,DeviceIdleEnabled,0x00010001,1\r\n\r\n"
    "[Strings]\r\nMfg=\"OSR\"\r\nDesc=\"OSR USB-FX2 (WinUSB)\"\r\n";

static void test_vendor_inf_binds_winusb(void)
{
    char dir[] = "/tmp/owu-stack-store-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char file[600];
    snprintf(file, sizeof file, "%s/osrfx2_winusb.inf", dir);
    FILE *f = fopen(file, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs(fx2_inf, f);
    fclose(f);
    char *old = getenv("OPENWINUSB_DRIVER_STORE") ? strdup(getenv("OPENWINUSB_DRIVER_STORE")) : NULL;
    setenv("OPENWINUSB_DRIVER_STORE", dir, 1);

    struct owu_stack *stack = open_stack("virtual:fx2");
    if (stack) {
        owu_stack_lock(stack);
        struct owu_devnode *n = owu_stack_find(stack, "virtual:1-1");
        CHECK(n != NULL);
        if (n) {
            CHECK_STR(n->service, "WinUsb");
            CHECK_STR(n->inf, "osrfx2_winusb.inf");
            CHECK_INT(n->rank, 0x00FF0001);   /* signed vendor package, hardware ID #1 */
        }
        owu_stack_unlock(stack);
        char path[512] = "";
        CHECK_INT(count_interfaces(stack, GUID_FX2_INF, NULL, path, sizeof path), 1);
        CHECK_CONTAINS(path, "\\\\?\\usb#vid_0547&pid_1002#5&");
        owu_stack_close(stack);
    }
    unlink(file);
    rmdir(dir);
    if (old) {
        setenv("OPENWINUSB_DRIVER_STORE", old, 1);
        free(old);
    } else {
        unsetenv("OPENWINUSB_DRIVER_STORE");
    }
}

/* Device Parameters persist across restarts; a value a user set survives re-enumeration. */
static void test_device_parameters_persist(void)
{
    char dir[] = "/tmp/owu-stack-reg-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *old = getenv("OPENWINUSB_REGISTRY") ? strdup(getenv("OPENWINUSB_REGISTRY")) : NULL;
    setenv("OPENWINUSB_REGISTRY", dir, 1);
    const char *inst = "USB\\VID_1209&PID_0004\\OWUMSOS10004";

    struct owu_stack *stack = open_stack("virtual:msos1");
    if (stack) {
        CHECK_OK(owu_registry_set_dword(owu_stack_registry(stack), inst, "DeviceIdleEnabled", 0, NULL),
                 (owu_err *)NULL);
        CHECK_OK(owu_registry_set_string(owu_stack_registry(stack), inst, "FriendlyNote", "kept", NULL),
                 (owu_err *)NULL);
        owu_stack_close(stack);
    }
    stack = open_stack("virtual:msos1");
    if (stack) {
        uint32_t v = 99;
        CHECK_OK(owu_registry_get_dword(owu_stack_registry(stack), inst, "DeviceIdleEnabled", 1, &v, NULL),
                 (owu_err *)NULL);
        CHECK_INT(v, 0);   /* the user's value, not the descriptor's 1 again */
        char *s = NULL;
        CHECK_OK(owu_registry_get_string(owu_stack_registry(stack), inst, "FriendlyNote", &s, NULL),
                 (owu_err *)NULL);
        CHECK_STR(s, "kept");
        free(s);
        owu_stack_close(stack);
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

/* The usbser seed's Windows 8.1 INF: usbser as a lower filter through mdmcpq.inf, no function
 * driver of its own. usbser must still end up serving the port. */
static const char modem_inf[] =
    "[Version]\r\nSignature=\"$Windows NT$\"\r\nClass=Modem\r\n"
    "ClassGUID={4D36E96D-E325-11CE-BFC1-08002BE10318}\r\nProvider=%Mfg%\r\n"
    "CatalogFile=acm.cat\r\nDriverVer=01/01/2014,6.3.0.0\r\n\r\n"
    "[Manufacturer]\r\n%Mfg%=Acm,NTamd64\r\n\r\n"
    "[Acm.NTamd64]\r\n%Desc%=DDInstall, USB\\VID_1209&PID_0001&MI_00\r\n\r\n"
    "[DDInstall.NT]\r\ninclude=mdmcpq.inf\r\nCopyFiles=FakeModemCopyFileSection\r\n\r\n"
    "[DDInstall.NT.Services]\r\ninclude=mdmcpq.inf\r\nAddService=usbser, 0x00000000, LowerFilter_Service_Inst\r\n\r\n"
    "[DDInstall.NT.HW]\r\ninclude=mdmcpq.inf\r\nAddReg=LowerFilterAddReg\r\n\r\n"
    "[Strings]\r\nMfg=\"Example\"\r\nDesc=\"Example CDC modem\"\r\n";

static void test_usbser_as_modem_filter(void)
{
    char dir[] = "/tmp/owu-stack-modem-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char file[600];
    snprintf(file, sizeof file, "%s/acm_modem.inf", dir);
    FILE *f = fopen(file, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs(modem_inf, f);
    fclose(f);
    char *old = getenv("OPENWINUSB_DRIVER_STORE") ? strdup(getenv("OPENWINUSB_DRIVER_STORE")) : NULL;
    setenv("OPENWINUSB_DRIVER_STORE", dir, 1);
    struct owu_stack *stack = open_stack("virtual:cdc-acm");
    if (stack) {
        owu_stack_lock(stack);
        struct owu_devnode *n = owu_stack_find(stack, "virtual:1-1");
        struct owu_devnode *fn = n ? n->first_child : NULL;
        CHECK(fn != NULL);
        if (fn) {
            CHECK_STR(fn->inf, "acm_modem.inf");    /* hardware-ID match beats usbser.inf */
            CHECK_STR(fn->service, "usbser");
        }
        owu_stack_unlock(stack);
        /* its COM port interface is registered as for the in-box usbser */
        CHECK_INT(count_interfaces(stack, "{86e0d1e0-8089-11d0-9ce4-08003e301f73}", NULL, NULL, 0), 1);
        owu_stack_close(stack);
    }
    unlink(file);
    rmdir(dir);
    if (old) {
        setenv("OPENWINUSB_DRIVER_STORE", old, 1);
        free(old);
    } else {
        unsetenv("OPENWINUSB_DRIVER_STORE");
    }
}

int main(void)
{
    RUN(test_plug_unplug_at_run_time);
    RUN(test_msos1_interface);
    RUN(test_vendor_inf_binds_winusb);
    RUN(test_device_parameters_persist);
    RUN(test_usbser_as_modem_filter);
    return check_report();
}
