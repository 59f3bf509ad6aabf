/* INF semantics on real driver packages (tests/data/inf, copied unmodified from
 * shared/testdata/inf) and on small synthetic INFs: [Version], decorated Models choice,
 * Models lines, DDInstall resolution with Include/Needs, services, AddReg typing. */
#include <openwinusb/driverstore.h>
#include <openwinusb/inf.h>
#include <openwinusb/pnp.h>

#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <strings.h>

#include "check.h"

#define CHECK_LOADED(p, e)                                                             \
    do {                                                                               \
        if (!(p)) {                                                                    \
            check_current_failed++;                                                    \
            fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, (e).msg);        \
        }                                                                              \
    } while (0)

/* rc must be OWU_OK; prints the error record otherwise. */
#define CHECK_RC(rc, e)                                                                \
    do {                                                                               \
        int check_rc_ = (rc);                                                          \
        if (check_rc_ != OWU_OK) {                                                     \
            check_current_failed++;                                                    \
            fprintf(stderr, "%s:%d: %s returned %d: %s\n", __FILE__, __LINE__, #rc,     \
                    check_rc_, (e).msg);                                               \
        }                                                                              \
    } while (0)

#define DATA OWU_TEST_DATA "/inf/"

static struct owu_inf *load_file(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, DATA "%s", name);
    struct owu_inf *inf = NULL;
    owu_err err;
    if (owu_inf_load_file(path, NULL, &inf, &err) != OWU_OK) {
        check_current_failed++;
        fprintf(stderr, "loading %s: %s\n", name, err.msg);
    }
    return inf;
}

static struct owu_inf *load_text(const char *text, owu_err *err)
{
    struct owu_inf *inf = NULL;
    owu_err_clear(err);
    owu_inf_load_mem("syn.inf", text, strlen(text), NULL, &inf, err);
    return inf;
}

static struct owu_inf_target target(enum owu_inf_arch arch, unsigned major, unsigned minor,
                                    unsigned build)
{
    struct owu_inf_target t;
    owu_inf_target_default(&t);
    t.arch = arch;
    t.major = major;
    t.minor = minor;
    t.build = build;
    return t;
}

static bool has(const char *const *list, size_t n, const char *needle)
{
    for (size_t i = 0; i < n; i++)
        if (strstr(list[i], needle))
            return true;
    return false;
}

static bool inf_has_warning(const struct owu_inf *inf, const char *needle)
{
    for (size_t i = 0; i < owu_inf_warning_count(inf); i++)
        if (strstr(owu_inf_warning(inf, i), needle))
            return true;
    return false;
}

static const struct owu_inf_model *find_model(const struct owu_inf_models *m, const char *hwid)
{
    for (size_t i = 0; i < m->num_models; i++)
        if (strcmp(m->models[i].hardware_id, hwid) == 0)
            return &m->models[i];
    return NULL;
}

static size_t count_install(const struct owu_inf_models *m, const char *install)
{
    size_t n = 0;
    for (size_t i = 0; i < m->num_models; i++)
        n += strcmp(m->models[i].install, install) == 0;
    return n;
}

static const struct owu_inf_reg *find_reg(const struct owu_inf_reg *r, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(r[i].name, name) == 0)
            return &r[i];
    return NULL;
}

/* Resolver over tests/data/inf/sys (synthetic stand-ins for in-box INFs), caching what it
 * loaded so the returned INFs outlive the query. */
struct sys_infs {
    struct owu_inf *inf[8];
    char name[8][32];
    size_t n;
    unsigned lookups;
};

static const struct owu_inf *sys_lookup(void *ctx, const char *name)
{
    struct sys_infs *s = ctx;
    s->lookups++;
    for (size_t i = 0; i < s->n; i++)
        if (strcasecmp(s->name[i], name) == 0)
            return s->inf[i];
    char lower[64];
    size_t k = 0;
    for (; name[k] && k < sizeof lower - 1; k++)
        lower[k] = (char)tolower((unsigned char)name[k]);
    lower[k] = '\0';
    char path[512];
    snprintf(path, sizeof path, DATA "sys/%s", lower);
    struct owu_inf *inf = NULL;
    owu_err err;
    if (owu_inf_load_file(path, NULL, &inf, &err) != OWU_OK || s->n == 8) {
        owu_inf_free(inf);
        return NULL;
    }
    s->inf[s->n] = inf;
    snprintf(s->name[s->n], sizeof s->name[0], "%s", name);
    s->n++;
    return inf;
}

static void sys_free(struct sys_infs *s)
{
    for (size_t i = 0; i < s->n; i++)
        owu_inf_free(s->inf[i]);
    s->n = 0;
}

/* ------------------------------------------------------------------------------------ */

/* Every real INF and template parses, lists its models and resolves every DDInstall it
 * names, for every architecture, without an error. */
static void test_all_real_files(void)
{
    DIR *d = opendir(DATA);
    CHECK(d != NULL);
    if (!d)
        return;
    size_t files = 0, templates = 0;
    struct dirent *de;
    struct sys_infs sys = {0};
    struct owu_inf_resolver res = {sys_lookup, &sys};
    while ((de = readdir(d))) {
        const char *n = de->d_name;
        size_t len = strlen(n);
        bool tmpl = len > 7 && strcmp(n + len - 7, ".inf.in") == 0;
        bool inf = len > 4 && (strcmp(n + len - 4, ".inf") == 0 || strcmp(n + len - 4, ".inx") == 0);
        if (!tmpl && !inf)
            continue;
        files++;
        templates += tmpl;
        struct owu_inf *f = load_file(n);
        if (!f)
            continue;
        for (int a = OWU_INF_ARCH_X86; a <= OWU_INF_ARCH_ARM64; a++) {
            struct owu_inf_target t = target((enum owu_inf_arch)a, 10, 0, 19041);
            struct owu_inf_models *m = NULL;
            owu_err err;
            CHECK_RC(owu_inf_get_models(f, &t, &m, &err), err);
            for (size_t i = 0; m && i < m->num_models; i++) {
                struct owu_inf_install *in = NULL;
                if (owu_inf_get_install(f, m->models[i].install, &t, &res, &in, &err)) {
                    check_current_failed++;
                    fprintf(stderr, "%s: %s\n", n, err.msg);
                }
                owu_inf_install_free(in);
            }
            owu_inf_models_free(m);
        }
        owu_inf_free(f);
    }
    closedir(d);
    sys_free(&sys);
    CHECK_INT(files, 26);
    CHECK_INT(templates, 4);
}

static void test_usbser_combined(void)
{
    struct owu_inf *inf = load_file("adafruit__Adafruit_usbser__Adafruit_usbser.inf");
    if (!inf)
        return;
    const struct owu_inf_version *v = owu_inf_get_version(inf);
    CHECK_STR(v->class_name, "Ports");
    CHECK_STR(v->class_guid, "{4D36E978-E325-11CE-BFC1-08002BE10318}");
    CHECK_STR(v->provider, "Adafruit Industries LLC");
    CHECK_STR(v->catalog_file, "Adafruit_usbser.cat");   /* %MFGFILENAME%.cat */
    CHECK_INT(v->driver_ver.month, 11);
    CHECK_INT(v->driver_ver.day, 11);
    CHECK_INT(v->driver_ver.year, 2020);
    CHECK_INT(v->driver_ver.version[0], 10);
    CHECK_INT(v->driver_ver.version[1], 2);
    CHECK_INT(v->driver_ver.version[2], 5);
    CHECK_INT(v->driver_ver.version[3], 0);
    /* BOARD_8092="BOARD_8092 has no closing quote in the real file. */
    CHECK(inf_has_warning(inf, "Adafruit_usbser.inf:1459: unterminated quoted string"));
    CHECK_STR(owu_inf_string(inf, "BOARD_8092"), "BOARD_8092");
    CHECK_STR(owu_inf_string(inf, "BOARD_8094"), "IkigaiSense Vita");
    CHECK(inf_has_warning(inf, "undefined string token %BOARD_80F0%"));

    struct owu_inf_target amd64 = target(OWU_INF_ARCH_AMD64, 10, 0, 19041);
    struct owu_inf_models *m = NULL;
    owu_err err;
    CHECK_RC(owu_inf_get_models(inf, &amd64, &m, &err), err);
    if (m) {
        CHECK_INT(m->num_manufacturers, 1);
        CHECK_STR(m->manufacturers[0].name, "Adafruit Industries LLC");
        CHECK_STR(m->manufacturers[0].decoration, "NTamd64");
        CHECK_STR(m->manufacturers[0].section, "DeviceList.NTamd64");
        CHECK_INT(m->num_models, 499);
        CHECK_INT(count_install(m, "NullInstall"), 117);
        CHECK_STR(m->models[0].description, "Adafruit Flora Bootloader (0004)");
        CHECK_STR(m->models[0].hardware_id, "USB\\VID_239A&PID_0004");
        CHECK_STR(m->models[0].install, "DriverInstall");
        CHECK_INT(m->models[0].line, 746);
        CHECK_INT(m->models[0].num_compatible_ids, 0);
        const struct owu_inf_model *x = find_model(m, "USB\\VID_239A&PID_0018&MI_04");
        CHECK(x != NULL);
        if (x) {
            CHECK_STR(x->install, "NullInstall");
            CHECK_STR(x->description, "Adafruit Circuit Playground Express UF2 WebUSB dummy (0018:04)");
        }
        CHECK(find_model(m, "USB\\VID_16C0&PID_0483") != NULL);
    }
    owu_inf_models_free(m);

    struct owu_inf_install *in = NULL;
    CHECK_RC(owu_inf_get_install(inf, "DriverInstall", &amd64, NULL, &in, &err), err);
    if (in) {
        CHECK_STR(in->section, "DriverInstall.NTamd64");
        CHECK_STR(in->suffix, ".NTamd64");
        CHECK(in->nt_decorated);
        CHECK_INT(in->num_includes, 1);
        CHECK_STR(in->includes[0], "mdmcpq.inf");
        CHECK_STR(in->services_section, "DriverInstall.NTamd64.Services");
        CHECK_INT(in->num_services, 1);
        CHECK_STR(in->services[0].name, "usbser");
        CHECK_INT(in->services[0].flags, 2);
        CHECK_STR(in->services[0].service_binary, "%12%\\usbser.sys");
        CHECK_STR(in->function_driver, "usbser");
        CHECK_INT(in->num_addreg, 3);
        const struct owu_inf_reg *r = find_reg(in->addreg, in->num_addreg, "NTMPDriver");
        CHECK(r && r->type == OWU_REG_SZ && strcmp((const char *)r->data, "usbser.sys") == 0);
        CHECK(has(in->warnings, in->num_warnings, "included INF mdmcpq.inf is not available"));
    }
    owu_inf_install_free(in);
    CHECK_RC(owu_inf_get_install(inf, "NullInstall", &amd64, NULL, &in, &err), err);
    if (in) {
        CHECK_INT(in->num_services, 1);
        CHECK_STR(in->services[0].name, "");
        CHECK_INT(in->services[0].flags, 2);
        CHECK_STR(in->function_driver, "");   /* NULL driver */
        CHECK_INT(in->num_warnings, 0);
    }
    owu_inf_install_free(in);

    struct owu_inf_target x86 = target(OWU_INF_ARCH_X86, 10, 0, 19041);
    CHECK_RC(owu_inf_get_models(inf, &x86, &m, &err), err);
    if (m) {
        CHECK_STR(m->manufacturers[0].decoration, "");
        CHECK_STR(m->manufacturers[0].section, "DeviceList");
        CHECK_INT(m->num_models, 496);
    }
    owu_inf_models_free(m);
    CHECK_RC(owu_inf_get_install(inf, "DriverInstall", &x86, NULL, &in, &err), err);
    if (in) {
        CHECK_STR(in->section, "DriverInstall.nt");
        CHECK_STR(in->suffix, ".NT");
        CHECK(in->nt_decorated);
        CHECK_STR(in->services[0].install_section, "DriverService.nt");
    }
    owu_inf_install_free(in);

    /* No decoration for arm64 and no undecorated fallback outside x86: nothing applies. */
    struct owu_inf_target arm64 = target(OWU_INF_ARCH_ARM64, 10, 0, 19041);
    CHECK_RC(owu_inf_get_models(inf, &arm64, &m, &err), err);
    if (m) {
        CHECK_INT(m->num_manufacturers, 1);
        CHECK(m->manufacturers[0].section == NULL);
        CHECK(m->manufacturers[0].decoration == NULL);
        CHECK_INT(m->num_models, 0);
    }
    owu_inf_models_free(m);
    owu_inf_free(inf);
}

static void test_silabs_decorations(void)
{
    struct owu_inf *inf = load_file("adafruit__SiLabs_CP210x__Win7__slabvcp.inf");
    if (!inf)
        return;
    const struct owu_inf_version *v = owu_inf_get_version(inf);
    CHECK_STR(v->signature, "$WINDOWS NT$");
    CHECK_INT(v->pnp_lockdown, 1);   /* "PnpLockDown=1<TAB>; comment" */
    CHECK_INT(v->driver_ver.year, 2015);
    CHECK_INT(v->driver_ver.month, 11);
    CHECK_INT(v->driver_ver.day, 20);
    CHECK_INT(v->driver_ver.version[0], 6);
    CHECK_INT(v->driver_ver.version[1], 7);
    CHECK_INT(v->driver_ver.version[2], 2);
    CHECK_INT(v->driver_ver.version[3], 200);
    CHECK_INT(owu_inf_warning_count(inf), 0);

    struct {
        enum owu_inf_arch arch;
        unsigned major, minor;
        const char *section;   /* NULL: nothing applies */
        bool found;
        size_t models;
    } cases[] = {
        {OWU_INF_ARCH_AMD64, 10, 0, "SiLabsModelsSection.NTamd64.6.1", true, 8},
        {OWU_INF_ARCH_AMD64, 6, 1, "SiLabsModelsSection.NTamd64.6.1", true, 8},
        {OWU_INF_ARCH_X86, 6, 1, "SiLabsModelsSection.NTx86.6.1", true, 8},
        {OWU_INF_ARCH_X86, 10, 0, "SiLabsModelsSection.NTx86.6.1", true, 8},
        {OWU_INF_ARCH_ARM64, 10, 0, "SiLabsModelsSection.NTarm64.10", true, 8},
        {OWU_INF_ARCH_ARM, 10, 0, "SiLabsModelsSection.NTarm.10", true, 8},
        {OWU_INF_ARCH_ARM64, 6, 3, NULL, false, 0},        /* 10 > 6.3 */
        {OWU_INF_ARCH_ARM, 6, 1, NULL, false, 0},          /* Windows 7 on arm: none */
        {OWU_INF_ARCH_AMD64, 6, 0, NULL, false, 0},        /* Vista: 6.1 too new */
        {OWU_INF_ARCH_X86, 5, 1, "SiLabsModelsSection", false, 0},  /* x86 bare fallback */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct owu_inf_target t = target(cases[i].arch, cases[i].major, cases[i].minor, 0);
        struct owu_inf_models *m = NULL;
        owu_err err;
        CHECK_RC(owu_inf_get_models(inf, &t, &m, &err), err);
        if (!m)
            continue;
        if (cases[i].section)
            CHECK_STR(m->manufacturers[0].section, cases[i].section);
        else
            CHECK(m->manufacturers[0].section == NULL);
        CHECK_INT(m->manufacturers[0].section_found, cases[i].found);
        CHECK_INT(m->num_models, cases[i].models);
        if (cases[i].section && !cases[i].found)
            CHECK(has(m->warnings, m->num_warnings, "Models section [SiLabsModelsSection] not found"));
        owu_inf_models_free(m);
    }

    struct owu_inf_target t = target(OWU_INF_ARCH_AMD64, 10, 0, 19041);
    struct owu_inf_models *m = NULL;
    owu_err err;
    CHECK_RC(owu_inf_get_models(inf, &t, &m, &err), err);
    if (m) {
        CHECK_STR(m->manufacturers[0].name, "Silicon Labs");
        CHECK_STR(m->models[1].hardware_id, "USB\\VID_10C4&PID_EA70&Mi_00");   /* case kept */
        CHECK_STR(m->models[1].description,
                  "Silicon Labs Dual CP210x USB to UART Bridge: Enhanced COM Port");
        CHECK_STR(m->models[1].install, "SiLabsDDInstallSection.NTamd64");
        CHECK_STR(m->models[7].hardware_id, "USB\\VID_10C4&PID_EAD0");
        CHECK_INT(m->models[0].line, 41);
    }
    owu_inf_models_free(m);

    struct owu_inf_install *in = NULL;
    CHECK_RC(owu_inf_get_install(inf, "SiLabsDDInstallSection.NTamd64", &t, NULL, &in, &err), err);
    if (in) {
        CHECK_STR(in->section, "SiLabsDDInstallSection.NTamd64");
        CHECK_STR(in->suffix, "");          /* found as named... */
        CHECK(in->nt_decorated);            /* ...but the name carries .NTamd64 */
        CHECK_INT(in->feature_score, 0x40);
        CHECK(!in->driver_ver_override);
        CHECK_INT(in->driver_ver.year, 2015);
        CHECK_STR(in->function_driver, "silabser");
        CHECK_STR(in->services[0].display_name, "Silicon Labs CP210x USB to UART Bridge Driver");
        CHECK_INT(in->services[0].service_type, 1);
        CHECK_INT(in->services[0].start_type, 3);
        CHECK_INT(in->services[0].error_control, 1);
        CHECK_INT(in->num_copyfiles, 1);
        CHECK_STR(in->copyfiles[0].name, "silabser.Files.Ext");
        const struct owu_inf_reg *r = find_reg(in->addreg, in->num_addreg, "InitialBaudRate");
        CHECK(r != NULL);
        if (r) {   /* 0x10001, 00,C2,01,00: a DWORD given as little-endian bytes */
            CHECK_INT(r->type, OWU_REG_DWORD);
            CHECK_INT(r->number, 115200);
            CHECK_INT(r->len, 4);
        }
        r = find_reg(in->addreg, in->num_addreg, "RateLimitPurgeMS");
        CHECK(r && r->number == 100);
        r = find_reg(in->addreg, in->num_addreg, "PortSubClass");
        CHECK(r && r->type == OWU_REG_BINARY && r->len == 1 && r->data[0] == 0x01);
        r = find_reg(in->addreg, in->num_addreg, "InitialLineControl");
        CHECK(r && r->type == OWU_REG_SZ && strcmp((const char *)r->data, "8N1") == 0);
        CHECK_STR(in->hw_section, "SiLabsDDInstallSection.NTamd64.HW");
        CHECK_INT(in->num_hw_addreg, 1);
        if (in->num_hw_addreg) {
            CHECK_STR(in->hw_addreg[0].name, "SelectiveSuspendTimeout");
            CHECK_INT(in->hw_addreg[0].number, 10000);
        }
        CHECK_INT(in->num_warnings, 0);
    }
    owu_inf_install_free(in);
    owu_inf_free(inf);
}

static void test_usbtiny_winusb(void)
{
    struct owu_inf *inf = load_file("adafruit__USBtinyISP_WinUSB__USBtiny_WinUSB.inf");
    if (!inf)
        return;
    const struct owu_inf_version *v = owu_inf_get_version(inf);
    CHECK_STR(v->class_name, "USBDevice");   /* "Class=USBDevice ; device setup class name" */
    CHECK_STR(v->class_guid, "{88BAE032-5A81-49f0-BC3D-A4FF138216D6}");
    CHECK_STR(v->catalog_file, "usbtiny_winusb.cat");
    CHECK_STR(v->provider, "Adafruit Industries");
    CHECK_INT(v->driver_ver.year, 2020);
    CHECK_INT(v->driver_ver.month, 3);
    CHECK_INT(v->driver_ver.day, 7);
    CHECK_INT(v->driver_ver.version[0], 1);

    struct owu_inf_target amd64 = target(OWU_INF_ARCH_AMD64, 10, 0, 19041);
    struct owu_inf_models *m = NULL;
    owu_err err;
    CHECK_RC(owu_inf_get_models(inf, &amd64, &m, &err), err);
    if (m) {
        CHECK_STR(m->manufacturers[0].section, "Devices.NTamd64");
        CHECK_INT(m->num_models, 1);
        CHECK_STR(m->models[0].hardware_id, "USB\\VID_1781&PID_0C9F");   /* USB\%DeviceID% */
        CHECK_STR(m->models[0].description, "USBtiny");
    }
    owu_inf_models_free(m);

    /* Without a resolver the Include/Needs are reported, not fatal. */
    struct owu_inf_install *in = NULL;
    CHECK_RC(owu_inf_get_install(inf, "USBtiny", &amd64, NULL, &in, &err), err);
    if (in) {
        CHECK_STR(in->section, "USBtiny.NTamd64");
        CHECK(has(in->warnings, in->num_warnings, "included INF winusb.inf is not available"));
        CHECK(has(in->warnings, in->num_warnings,
                  "USBtiny_WinUSB.inf:58: Needs section [WINUSB.NT] not found"));
        CHECK_INT(in->num_copyfiles, 0);
    }
    owu_inf_install_free(in);

    struct sys_infs sys = {0};
    struct owu_inf_resolver res = {sys_lookup, &sys};
    CHECK_RC(owu_inf_get_install(inf, "USBtiny", &amd64, &res, &in, &err), err);
    if (in) {
        CHECK_STR(in->section, "USBtiny.NTamd64");
        CHECK_INT(in->num_includes, 1);
        CHECK_STR(in->includes[0], "winusb.inf");
        CHECK_INT(in->num_needs, 1);
        CHECK_STR(in->needs[0], "WINUSB.NT");
        /* WINUSB.NT of the included INF, processed as if inline, with its own Strings. */
        CHECK_INT(in->num_copyfiles, 1);
        CHECK_STR(in->copyfiles[0].inf, "winusb.inf");
        CHECK_STR(in->copyfiles[0].name, "WinUsbStub.CopyFiles");
        const struct owu_inf_reg *r = find_reg(in->addreg, in->num_addreg, "StubOrigin");
        CHECK(r && strcmp((const char *)r->data, "winusb.inf stand-in") == 0);
        CHECK(r && strcmp(r->inf, "winusb.inf") == 0);
        /* Needs inside WINUSB.NT is not followed. */
        CHECK(find_reg(in->addreg, in->num_addreg, "NestedMarker") == NULL);
        CHECK(has(in->warnings, in->num_warnings, "Needs inside a Needs section [WINUSB.NT] ignored"));
        CHECK_INT(in->num_directives, 2);
        /* Services: the INF's own AddService. */
        CHECK_STR(in->services_section, "USBtiny.NTamd64.Services");
        CHECK_INT(in->num_services, 1);
        CHECK_STR(in->services[0].name, "WinUSB");
        CHECK_STR(in->services[0].display_name, "WinUSB Device");
        CHECK_STR(in->function_driver, "WinUSB");
        /* Device Parameters: the interface GUID WinUSB applications open. */
        CHECK_STR(in->hw_section, "USBtiny.NTamd64.HW");
        CHECK_INT(in->num_hw_addreg, 2);
        r = find_reg(in->hw_addreg, in->num_hw_addreg, "DeviceInterfaceGUIDs");
        CHECK(r != NULL);
        if (r) {
            CHECK_INT(r->type, OWU_REG_MULTI_SZ);
            CHECK_STR(r->root, "HKR");
            CHECK_INT(r->flags, 0x10000);
            static const char want[] = "{A5DCBF10-6530-11D2-901F-00C04FB951ED}\0";
            CHECK_INT(r->len, sizeof want);
            CHECK(memcmp(r->data, want, sizeof want) == 0);
        }
        r = find_reg(in->hw_addreg, in->num_hw_addreg, "SurpriseRemovalOK");
        CHECK(r && r->type == OWU_REG_DWORD && r->number == 1);
        CHECK(sys.lookups >= 1);
    }
    owu_inf_install_free(in);

    struct owu_inf_target x86 = target(OWU_INF_ARCH_X86, 10, 0, 19041);
    CHECK_RC(owu_inf_get_install(inf, "USBtiny", &x86, &res, &in, &err), err);
    if (in)
        CHECK_STR(in->section, "USBtiny.NTx86");
    owu_inf_install_free(in);
    /* NTx86, NTamd64, NTIA64 only: nothing for arm64. */
    struct owu_inf_target arm64 = target(OWU_INF_ARCH_ARM64, 10, 0, 19041);
    CHECK_RC(owu_inf_get_models(inf, &arm64, &m, &err), err);
    if (m)
        CHECK_INT(m->num_models, 0);
    owu_inf_models_free(m);
    struct owu_inf_target ia64 = target(OWU_INF_ARCH_IA64, 6, 1, 0);
    CHECK_RC(owu_inf_get_models(inf, &ia64, &m, &err), err);
    if (m)
        CHECK_STR(m->manufacturers[0].section, "Devices.NTIA64");
    owu_inf_models_free(m);
    sys_free(&sys);
    owu_inf_free(inf);
}

static void test_maple_utf16(void)
{
    struct owu_inf *inf = load_file("Arduino_STM32__Maple_003.inf");
    if (!inf)
        return;
    CHECK_INT(owu_inf_warning_count(inf), 0);
    const struct owu_inf_version *v = owu_inf_get_version(inf);
    CHECK_STR(v->class_name, "libusb-win32 devices");
    CHECK_STR(v->provider, "libusb-win32");
    CHECK_INT(v->driver_ver.year, 2012);
    CHECK_INT(v->driver_ver.month, 1);
    CHECK_INT(v->driver_ver.day, 17);
    CHECK_INT(v->driver_ver.version[1], 2);
    CHECK_INT(v->driver_ver.version[2], 6);
    CHECK_STR(owu_inf_get_value(inf, "Strings", "DeviceGUID"),
              "{0ABE9E2D-D869-49E2-A95C-0D3909C3C006}");

    struct owu_inf_target amd64 = target(OWU_INF_ARCH_AMD64, 10, 0, 19041);
    struct owu_inf_models *m = NULL;
    owu_err err;
    CHECK_RC(owu_inf_get_models(inf, &amd64, &m, &err), err);
    if (m && m->num_models == 1) {
        CHECK_STR(m->manufacturers[0].name, "Leaflabs");
        CHECK_STR(m->manufacturers[0].decoration, "NTAMD64");
        CHECK_STR(m->models[0].section, "Devices.NTAMD64");
        CHECK_STR(m->models[0].hardware_id, "USB\\VID_1EAF&PID_0003");
        CHECK_STR(m->models[0].description, "Maple 003");
        CHECK_STR(m->models[0].install, "LIBUSB_WIN32_DEV.NTAMD64");
    } else {
        CHECK(false);
    }
    owu_inf_models_free(m);
    struct owu_inf_install *in = NULL;
    CHECK_RC(owu_inf_get_install(inf, "LIBUSB_WIN32_DEV.NTAMD64", &amd64, NULL, &in, &err), err);
    if (in) {
        CHECK_STR(in->section, "LIBUSB_WIN32_DEV.NTAMD64");
        CHECK(in->nt_decorated);
        CHECK_STR(in->function_driver, "libusb0");
        CHECK_STR(in->services[0].service_binary, "%12%\\libusb0.sys");
        CHECK_INT(in->services[0].error_control, 0);
        CHECK_INT(in->num_copyfiles, 3);
        CHECK_STR(in->copyfiles[2].name, "libusb_files_dll_wow64");
        CHECK_INT(in->num_hw_addreg, 1);
        CHECK_STR(in->hw_addreg[0].name, "SurpriseRemovalOK");
        CHECK_INT(in->hw_addreg[0].number, 1);
    }
    owu_inf_install_free(in);

    /* x86: "NT" (no architecture) applies; the DDInstall named in it is .NT. */
    struct owu_inf_target x86 = target(OWU_INF_ARCH_X86, 10, 0, 19041);
    CHECK_RC(owu_inf_get_models(inf, &x86, &m, &err), err);
    if (m && m->num_models == 1) {
        CHECK_STR(m->manufacturers[0].decoration, "NT");
        CHECK_STR(m->models[0].install, "LIBUSB_WIN32_DEV.NT");
    }
    owu_inf_models_free(m);
    owu_inf_free(inf);
}

static void test_ftdi_latin1(void)
{
    struct owu_inf *inf = load_file("adafruit__FTDI_VCP_BUS__ftdibus.inf");
    if (!inf)
        return;
    CHECK(inf_has_warning(inf, "ftdibus.inf:3: text is not UTF-8"));
    const struct owu_inf_version *v = owu_inf_get_version(inf);
    CHECK_STR(v->class_name, "USB");
    CHECK_STR(v->provider, "FTDI");
    CHECK_INT(v->driver_ver.year, 2016);
    CHECK_INT(v->driver_ver.month, 1);
    CHECK_INT(v->driver_ver.day, 22);
    CHECK_INT(v->driver_ver.version[0], 2);
    CHECK_INT(v->driver_ver.version[1], 12);
    CHECK_INT(v->driver_ver.version[2], 14);
    CHECK_INT(v->driver_ver.version[3], 0);   /* "2.12.14": missing part is 0 */
    /* %% and ';' inside quotes, in an AddReg line. */
    const struct owu_inf_entry *e =
        owu_inf_entry_at(owu_inf_find_section(inf, "FtdiBus.NT.EventLog_Inst.AddReg"), 0);
    CHECK(e != NULL);
    if (e) {
        CHECK_INT(e->num_fields, 5);
        CHECK_STR(e->fields[4], "%SystemRoot%\\System32\\IoLogMsg.dll;"
                                "%SystemRoot%\\System32\\drivers\\ftdibus.sys");
        owu_err err;
        struct owu_inf_reg *r = owu_inf_reg_parse(e->fields, e->num_fields, &err);
        CHECK(r && r->type == OWU_REG_EXPAND_SZ);
        free(r);
    }
    struct owu_inf_models *m = NULL;
    owu_err err;
    struct owu_inf_target amd64 = target(OWU_INF_ARCH_AMD64, 10, 0, 19041);
    CHECK_RC(owu_inf_get_models(inf, &amd64, &m, &err), err);
    if (m) {
        CHECK_INT(m->num_models, 25);
        const struct owu_inf_model *x = find_model(m, "USB\\VID_0403&PID_601B&REV_1400");
        CHECK(x && strcmp(x->description, "FT4222 Mode 3 Device") == 0);
        CHECK(x && strcmp(x->install, "FtdiBus.NTamd64") == 0);
    }
    owu_inf_models_free(m);
    struct owu_inf_target x86 = target(OWU_INF_ARCH_X86, 10, 0, 19041);
    CHECK_RC(owu_inf_get_models(inf, &x86, &m, &err), err);
    if (m) {
        CHECK_STR(m->manufacturers[0].section, "FtdiHw");
        CHECK_INT(m->num_models, 25);
        CHECK_STR(m->models[0].install, "FtdiBus.NT");
    }
    owu_inf_models_free(m);
    struct owu_inf_install *in = NULL;
    CHECK_RC(owu_inf_get_install(inf, "FtdiBus.NTamd64", &amd64, NULL, &in, &err), err);
    if (in) {
        CHECK_STR(in->services[0].name, "FTDIBUS");
        CHECK_STR(in->services[0].eventlog_section, "FtdiBus.NT.EventLog_Inst");
        CHECK_STR(in->services[0].load_order_group, "Base");
        CHECK_STR(in->hw_section, "FtdiBus.NTamd64.HW");
        CHECK_INT(in->num_hw_addreg, 0);   /* its AddReg section holds only blanks */
        CHECK_INT(in->num_copyfiles, 3);
    }
    owu_inf_install_free(in);
    owu_inf_free(inf);

    /* The port INF: a second-level enumerator's IDs and two services. */
    inf = load_file("adafruit__FTDI_VCP_PORT__ftdiport.inf");
    if (!inf)
        return;
    CHECK_RC(owu_inf_get_install(inf, "FtdiPort.NTamd64", &amd64, NULL, &in, &err), err);
    if (in) {
        CHECK_INT(in->num_services, 2);
        CHECK_STR(in->services[1].name, "Serenum");
        CHECK_INT(in->services[1].flags, 0);
        CHECK_STR(in->function_driver, "FTSER2K");
        const struct owu_inf_reg *r = find_reg(in->hw_addreg, in->num_hw_addreg, "ConfigData");
        CHECK(r && r->type == OWU_REG_BINARY && r->len == 64 && r->data[0] == 0x11 &&
              r->data[63] == 0x00 && r->data[60] == 0xD0);
        r = find_reg(in->hw_addreg, in->num_hw_addreg, "UpperFilters");
        CHECK(r && r->type == OWU_REG_MULTI_SZ && memcmp(r->data, "serenum\0", 9) == 0);
    }
    owu_inf_install_free(in);
    CHECK_RC(owu_inf_get_models(inf, &amd64, &m, &err), err);
    if (m)
        CHECK(find_model(m, "FTDIBUS\\COMPORT&VID_0403&PID_6001") != NULL);
    owu_inf_models_free(m);
    owu_inf_free(inf);
}

static void test_feather_cdc_ids_in_strings(void)
{
    struct owu_inf *inf = load_file("adafruit__Adafruit_Feather_WICED_CDC__Feather_CDC.inf");
    if (!inf)
        return;
    const struct owu_inf_version *v = owu_inf_get_version(inf);
    CHECK_INT(v->driver_ver.year, 2010);
    CHECK_INT(v->driver_ver.version[0], 1);
    CHECK_INT(v->driver_ver.version[1], 3);
    CHECK_INT(v->driver_ver.version[2], 1);
    CHECK_INT(v->driver_ver.version[3], 0);
    struct {
        enum owu_inf_arch arch;
        const char *models, *install;
    } cases[] = {
        {OWU_INF_ARCH_AMD64, "DeviceList.NTamd64", "DriverInstall.NTamd64"},
        {OWU_INF_ARCH_X86, "DeviceList.NT", "DriverInstall.NT"},
        {OWU_INF_ARCH_ARM64, "DeviceList.NT", "DriverInstall.NT"},   /* NT: any arch */
    };
    for (size_t i = 0; i < 3; i++) {
        struct owu_inf_target t = target(cases[i].arch, 10, 0, 19041);
        struct owu_inf_models *m = NULL;
        owu_err err;
        CHECK_RC(owu_inf_get_models(inf, &t, &m, &err), err);
        if (m && m->num_models == 2) {
            CHECK_STR(m->manufacturers[0].section, cases[i].models);
            CHECK_STR(m->models[0].description, "WICED Feather Serial");
            CHECK_STR(m->models[0].hardware_id, "USB\\VID_239A&PID_0010&MI_00");
            CHECK_INT(m->models[0].num_compatible_ids, 1);
            CHECK_STR(m->models[0].compatible_ids[0], "USB\\VID_239A&PID_8010&MI_00");
            CHECK_STR(m->models[1].hardware_id, "USB\\VID_239A&PID_0010&MI_02");
            CHECK_STR(m->models[1].compatible_ids[0], "USB\\VID_239A&PID_8010&MI_02");
        } else {
            CHECK(false);
        }
        owu_inf_models_free(m);
        struct owu_inf_install *in = NULL;
        CHECK_RC(owu_inf_get_install(inf, "DriverInstall", &t, NULL, &in, &err), err);
        if (in) {
            CHECK_STR(in->section, cases[i].install);
            CHECK(in->nt_decorated);
            CHECK_STR(in->function_driver, "usbser");
        }
        owu_inf_install_free(in);
    }
    owu_inf_free(inf);
}

static void test_gemma_token_in_id(void)
{
    struct owu_inf *inf = load_file("adafruit__Arduino_Gemma__arduino_gemma.inf");
    if (!inf)
        return;
    struct {
        enum owu_inf_arch arch;
        const char *section, *install;
    } cases[] = {
        {OWU_INF_ARCH_AMD64, "Devices.NTAMD64", "LIBUSB_WIN32_DEV.NTAMD64"},
        {OWU_INF_ARCH_X86, "Devices.NT", "LIBUSB_WIN32_DEV.NT"},
        {OWU_INF_ARCH_IA64, "Devices.NTIA64", "LIBUSB_WIN32_DEV.NTIA64"},
    };
    for (size_t i = 0; i < 3; i++) {
        struct owu_inf_target t = target(cases[i].arch, 10, 0, 19041);
        struct owu_inf_models *m = NULL;
        owu_err err;
        CHECK_RC(owu_inf_get_models(inf, &t, &m, &err), err);
        if (m && m->num_models == 1) {
            CHECK_STR(m->manufacturers[0].section, cases[i].section);
            CHECK_STR(m->models[0].hardware_id, "USB\\VID_2341&PID_0C9F");
            CHECK_STR(m->models[0].install, cases[i].install);
            CHECK_STR(m->models[0].description, "Arduino Gemma");
        } else {
            CHECK(false);
        }
        owu_inf_models_free(m);
    }
    owu_inf_free(inf);
}

static void test_stlink_include_winusb(void)
{
    struct owu_inf *inf = load_file("Arduino_STM32__stlink_dbg_winusb.inf");
    if (!inf)
        return;
    const struct owu_inf_version *v = owu_inf_get_version(inf);
    CHECK_STR(v->class_name, "STLinkWinUSB");
    CHECK_INT(v->driver_ver.version[0], 1);   /* "1.01" */
    CHECK_INT(v->driver_ver.version[1], 1);
    CHECK_INT(v->driver_ver.version[2], 0);
    CHECK(v->catalog_file == NULL);
    struct owu_inf_target amd64 = target(OWU_INF_ARCH_AMD64, 10, 0, 19041);
    struct owu_inf_target x86 = target(OWU_INF_ARCH_X86, 10, 0, 19041);
    struct owu_inf_target arm64 = target(OWU_INF_ARCH_ARM64, 10, 0, 19041);
    CHECK_STR(owu_inf_catalog_file(inf, &amd64), "STLinkDbgWinUSB_x64.cat");
    CHECK_STR(owu_inf_catalog_file(inf, &x86), "STLinkDbgWinUSB_x86.cat");
    CHECK(owu_inf_catalog_file(inf, &arm64) == NULL);
    /* %systemroot% is no string key here: kept, reported. */
    CHECK(inf_has_warning(inf, "stlink_dbg_winusb.inf:39: undefined string token %systemroot%"));

    struct owu_inf_models *m = NULL;
    owu_err err;
    CHECK_RC(owu_inf_get_models(inf, &amd64, &m, &err), err);
    if (m) {
        CHECK_INT(m->num_models, 4);
        const struct owu_inf_model *x = find_model(m, "USB\\VID_0483&PID_374A&MI_01");
        CHECK(x && strcmp(x->install, "USB_InstallRW") == 0);
        CHECK(x && strcmp(x->description, "STMicroelectronics STLink dongle RW") == 0);
        CHECK(find_model(m, "USB\\VID_0483&PID_3748") != NULL);
    }
    owu_inf_models_free(m);

    struct sys_infs sys = {0};
    struct owu_inf_resolver res = {sys_lookup, &sys};
    struct owu_inf_install *in = NULL;
    CHECK_RC(owu_inf_get_install(inf, "USB_InstallRW", &amd64, &res, &in, &err), err);
    if (in) {
        CHECK_STR(in->section, "USB_InstallRW");
        CHECK(!in->nt_decorated);
        CHECK_STR(in->suffix, "");
        CHECK_STR(in->includes[0], "winusb.inf");
        CHECK_STR(in->needs[0], "WINUSB.NT");
        CHECK_INT(in->num_copyfiles, 1);
        CHECK_STR(in->function_driver, "WinUSB");
        CHECK_STR(in->services[0].display_name, "WinUSB Driver for STLink");
        const struct owu_inf_reg *r =
            find_reg(in->hw_addreg, in->num_hw_addreg, "DeviceInterfaceGUIDs");
        CHECK(r && r->type == OWU_REG_MULTI_SZ &&
              strcmp((const char *)r->data, "{8326506F-7260-4854-9C03-26E416F04494}") == 0);
    }
    owu_inf_install_free(in);
    sys_free(&sys);

    /* The ClassInstall32 AddReg line with its type flags from [Strings]. */
    const struct owu_inf_entry *e =
        owu_inf_entry_at(owu_inf_find_section(inf, "ClassInstall_AddReg"), 2);
    CHECK(e != NULL);
    if (e) {
        struct owu_inf_reg *r = owu_inf_reg_parse(e->fields, e->num_fields, &err);
        CHECK(r != NULL);
        if (r) {
            CHECK_STR(r->name, "IconPath");
            CHECK_INT(r->flags, 0x00010000);
            CHECK_INT(r->type, OWU_REG_MULTI_SZ);
            static const char want[] = "%systemroot%\\system32\\setupapi.dll,-20\0";
            CHECK_INT(r->len, sizeof want);
            CHECK(memcmp(r->data, want, sizeof want) == 0);
        }
        free(r);
    }
    owu_inf_free(inf);
}

static void test_libwdi_template(void)
{
    struct owu_inf *inf = load_file("libwdi__winusb.inf.in");
    if (!inf)
        return;
    const struct owu_inf_version *v = owu_inf_get_version(inf);
    CHECK(v->driver_ver.present);
    CHECK_INT(v->driver_ver.year, 0);
    CHECK_INT(v->driver_ver.month, 0);
    CHECK_INT(v->driver_ver.version[0], 0);
    CHECK(inf_has_warning(inf, "winusb.inf.in:16: DriverVer date \"#DRIVER_DATE#\""));
    CHECK_STR(v->class_name, "USBDevice");
    CHECK_STR(v->catalog_file, "#CAT_FILENAME#");
    struct {
        enum owu_inf_arch arch;
        const char *section;
    } cases[] = {
        {OWU_INF_ARCH_AMD64, "libusbDevice_WinUSB.NTamd64"},
        {OWU_INF_ARCH_X86, "libusbDevice_WinUSB.NTx86"},
        {OWU_INF_ARCH_ARM64, "libusbDevice_WinUSB.NTarm64"},
    };
    for (size_t i = 0; i < 3; i++) {
        struct owu_inf_target t = target(cases[i].arch, 10, 0, 19041);
        struct owu_inf_models *m = NULL;
        owu_err err;
        CHECK_RC(owu_inf_get_models(inf, &t, &m, &err), err);
        if (m && m->num_models == 1) {
            CHECK_STR(m->manufacturers[0].name, "#DEVICE_MANUFACTURER#");
            CHECK_STR(m->manufacturers[0].section, cases[i].section);
            CHECK_STR(m->models[0].description, "#DEVICE_DESCRIPTION#");
            CHECK_STR(m->models[0].hardware_id, "USB\\#DEVICE_HARDWARE_ID#");
            CHECK_STR(m->models[0].install, "USB_Install");
        } else {
            CHECK(false);
        }
        owu_inf_models_free(m);
    }
    struct sys_infs sys = {0};
    struct owu_inf_resolver res = {sys_lookup, &sys};
    struct owu_inf_target arm64 = target(OWU_INF_ARCH_ARM64, 10, 0, 19041);
    struct owu_inf_install *in = NULL;
    owu_err err;
    CHECK_RC(owu_inf_get_install(inf, "USB_Install", &arm64, &res, &in, &err), err);
    if (in) {
        CHECK_STR(in->section, "USB_Install");
        CHECK(!in->nt_decorated);
        CHECK_STR(in->includes[0], "winusb.inf");
        CHECK_STR(in->needs[0], "WINUSB.NT");
        CHECK_STR(in->function_driver, "WinUSB");
        CHECK_STR(in->services[0].display_name, "WinUSB - Kernel Driver #DRIVER_DATE# #DRIVER_VERSION#");
        CHECK_STR(in->hw_section, "USB_Install.HW");
        CHECK_INT(in->num_hw_addreg, 0);
        CHECK(has(in->warnings, in->num_warnings, "AddReg section [#USE_DEVICE_INTERFACE_GUID#] not found"));
        CHECK_INT(in->num_copyfiles, 1);   /* from winusb.inf's WINUSB.NT */
        CHECK(in->driver_ver.year == 0 && !in->driver_ver_override);
    }
    owu_inf_install_free(in);
    sys_free(&sys);
    owu_inf_free(inf);
}

static void test_inx_arch_placeholder(void)
{
    struct owu_inf *inf = load_file("Windows-driver-samples__kmdf_fx2__osrusbfx2.inx");
    if (!inf)
        return;
    struct owu_inf_models *m = NULL;
    owu_err err;
    CHECK_RC(owu_inf_get_models(inf, NULL, &m, &err), err);
    if (m) {
        CHECK_INT(m->num_models, 0);
        CHECK(has(m->warnings, m->num_warnings,
                  "osrusbfx2.inx:53: TargetOSVersion \"NT$ARCH$.10.0...16299\" not understood"));
    }
    owu_inf_models_free(m);
    /* The section itself is still there for generic access. */
    const struct owu_inf_section *s = owu_inf_find_section(inf, "OSR.NT$ARCH$.10.0...16299");
    CHECK_INT(owu_inf_entry_count(s), 2);
    struct owu_inf_install *in = NULL;
    CHECK_RC(owu_inf_get_install(inf, "Switch.Dev", NULL, NULL, &in, &err), err);
    if (in) {   /* AddService = , %SPSVCINST_ASSOCSERVICE%, : the NULL driver */
        CHECK_STR(in->section, "Switch.Dev.NT");
        CHECK_INT(in->num_services, 1);
        CHECK_STR(in->services[0].name, "");
        CHECK_INT(in->services[0].flags, 2);
        CHECK_STR(in->function_driver, "");
    }
    owu_inf_install_free(in);
    owu_inf_free(inf);
}

/* ------------------------------------------------------------------------------------ */
/* Synthetic INFs                                                                        */

#define HDR "[Version]\nSignature=\"$Windows NT$\"\nDriverVer=01/02/2020,1.2.3.4\n"

static void test_decoration_choice(void)
{
    owu_err err;
    struct owu_inf *inf = load_text(HDR
        "[Manufacturer]\n"
        "%M% = Mod, ntAMD64, NTamd64.6.1, NTamd64.10.0...14393, NTamd64.10.0...22000,\\\n"
        "      NTx86.6.3.1, NTx86.6.3.3, NTx86....0x80, NTarm64.10.0, NT.6.0, NTbogus\n"
        "Second\n"
        "[Mod.NTamd64]\nA=I,ID\\a\n"
        "[Mod.NTamd64.6.1]\nA=I,ID\\b\n"
        "[Mod.NTAMD64.10.0...14393]\nA=I,ID\\c\n"
        "[Mod.NTamd64.10.0...22000]\nA=I,ID\\d\n"
        "[Mod.NTx86.6.3.1]\nA=I,ID\\e\n"
        "[Mod.NTx86.6.3.3]\nA=I,ID\\f\n"
        "[Mod.NTx86....0x80]\nA=I,ID\\g\n"
        "[Mod.NTarm64.10.0]\nA=I,ID\\h\n"
        "[Mod.NT.6.0]\nA=I,ID\\i\n"
        "[Mod]\nA=I,ID\\j\n"
        "[Second]\nB = I2, , COMPAT\\1 , ,COMPAT\\2,\n"
        "[Strings]\nM=\"Maker\"\n", &err);
    CHECK_LOADED(inf, err);
    if (!inf)
        return;
    struct {
        enum owu_inf_arch arch;
        unsigned major, minor, build, type;
        uint32_t suite;
        const char *decoration;
    } cases[] = {
        {OWU_INF_ARCH_AMD64, 10, 0, 19041, 1, 0, "NTamd64.10.0...14393"},  /* build honoured */
        {OWU_INF_ARCH_AMD64, 10, 0, 22621, 1, 0, "NTamd64.10.0...22000"},
        {OWU_INF_ARCH_AMD64, 10, 0, 10240, 1, 0, "NTamd64.6.1"},   /* 14393 > 10240 */
        {OWU_INF_ARCH_AMD64, 6, 3, 9600, 1, 0, "NTamd64.6.1"},
        {OWU_INF_ARCH_AMD64, 6, 0, 6002, 1, 0, "NT.6.0"},   /* version beats arch */
        {OWU_INF_ARCH_AMD64, 5, 2, 3790, 1, 0, "ntAMD64"},
        {OWU_INF_ARCH_X86, 6, 3, 9600, 1, 0, "NTx86.6.3.1"},   /* product type 1 */
        {OWU_INF_ARCH_X86, 6, 3, 9600, 3, 0, "NTx86.6.3.3"},   /* server */
        {OWU_INF_ARCH_X86, 6, 3, 9600, 2, 0, "NT.6.0"},        /* DC: neither type */
        {OWU_INF_ARCH_X86, 5, 1, 2600, 1, 0x80, "NTx86....0x80"},  /* suite mask */
        {OWU_INF_ARCH_X86, 5, 1, 2600, 1, 0, ""},               /* bare, x86 only */
        {OWU_INF_ARCH_ARM64, 10, 0, 19041, 1, 0, "NTarm64.10.0"},
        {OWU_INF_ARCH_ARM, 10, 0, 19041, 1, 0, "NT.6.0"},
        {OWU_INF_ARCH_ARM, 5, 1, 0, 1, 0, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct owu_inf_target t = target(cases[i].arch, cases[i].major, cases[i].minor,
                                         cases[i].build);
        t.product_type = cases[i].type;
        t.suite_mask = cases[i].suite;
        struct owu_inf_models *m = NULL;
        CHECK_RC(owu_inf_get_models(inf, &t, &m, &err), err);
        if (!m)
            continue;
        CHECK_INT(m->num_manufacturers, 2);
        if (cases[i].decoration) {
            CHECK_STR(m->manufacturers[0].decoration, cases[i].decoration);
            CHECK(m->manufacturers[0].section_found);
        } else {
            CHECK(m->manufacturers[0].decoration == NULL);
        }
        if (!(cases[i].decoration ? m->manufacturers[0].decoration &&
                                        strcmp(m->manufacturers[0].decoration,
                                               cases[i].decoration) == 0
                                  : m->manufacturers[0].decoration == NULL))
            fprintf(stderr, "  (case %zu)\n", i);
        CHECK(has(m->warnings, m->num_warnings, "TargetOSVersion \"NTbogus\" not understood"));
        owu_inf_models_free(m);
    }
    /* The bare Manufacturer entry: its own name; the line with no hardware ID. */
    struct owu_inf_target x86 = target(OWU_INF_ARCH_X86, 10, 0, 19041);
    struct owu_inf_models *m = NULL;
    CHECK_RC(owu_inf_get_models(inf, &x86, &m, &err), err);
    if (m) {
        CHECK_STR(m->manufacturers[1].name, "Second");
        CHECK_STR(m->manufacturers[1].section, "Second");
        const struct owu_inf_model *b = &m->models[m->num_models - 1];
        CHECK_STR(b->manufacturer, "Second");
        CHECK_STR(b->install, "I2");
        CHECK_STR(b->hardware_id, "");
        CHECK_INT(b->num_compatible_ids, 2);
        CHECK_STR(b->compatible_ids[0], "COMPAT\\1");
        CHECK_STR(b->compatible_ids[1], "COMPAT\\2");
    }
    owu_inf_models_free(m);
    owu_inf_free(inf);
}

static const char ddinstall_inf[] = HDR
    "[Manufacturer]\nM = Mod, NTamd64\n"
    "[Mod.NTamd64]\nDev = Inst, USB\\VID_1234&PID_0001\n"
    "[Inst.NTamd64]\n"
    "FeatureScore = 0x20\n"
    "FeatureScore = 0x10\n"
    "DriverVer = 12/31/2021,2.0\n"
    "ExcludeID = USB\\VID_1234&PID_0001&REV_0001, USB\\VID_1234&PID_0001&REV_0002\n"
    "ExcludeID = USB\\VID_1234&PID_0001&REV_0003\n"
    "Include = usb.inf, missing.inf\n"
    "Needs = Composite.Dev.NT, Nowhere.Section\n"
    "AddReg = Own.AddReg\n"
    "CopyFiles = @single.sys, Own.Files\n"
    "[Inst.NTamd64.Services]\n"
    "Include = winusb.inf\n"
    "Needs = WINUSB.NT.Services\n"
    "AddService = MyFilter, 0, Filter.Service\n"
    "[Inst.NTamd64.HW]\n"
    "AddReg = Hw.AddReg, Missing.AddReg\n"
    "[Inst.NTamd64.Interfaces]\n"
    "AddInterface = {11111111-2222-3333-4444-555555555555}, Ref1, If.Install, 0x1\n"
    "AddInterface = , broken\n"
    "[Inst.NT]\nAddReg = Own.AddReg\n"
    "[Inst]\nAddReg = Own.AddReg\n"
    "[Own.AddReg]\n"
    "HKR,,OwnValue,0x00010001,0x2A\n"
    "HKR,,Bad,0x00010001,twelve\n"
    "Key = value\n"
    "[Hw.AddReg]\n"
    "HKR,,DeviceInterfaceGUIDs,0x10000,\"{aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee}\",\"{second}\"\n"
    "[Filter.Service]\nServiceType=1\nStartType=3\nErrorControl=1\nServiceBinary=%12%\\f.sys\n"
    "[Strings]\n";

static void test_ddinstall_resolution(void)
{
    owu_err err;
    struct owu_inf *inf = load_text(ddinstall_inf, &err);
    CHECK_LOADED(inf, err);
    if (!inf)
        return;
    struct sys_infs sys = {0};
    struct owu_inf_resolver res = {sys_lookup, &sys};
    struct owu_inf_target amd64 = target(OWU_INF_ARCH_AMD64, 10, 0, 19041);
    struct owu_inf_install *in = NULL;
    CHECK_RC(owu_inf_get_install(inf, "inst", &amd64, &res, &in, &err), err);
    if (in) {
        CHECK_STR(in->name, "inst");
        CHECK_STR(in->section, "Inst.NTamd64");
        CHECK_STR(in->inf, "syn.inf");
        CHECK(in->nt_decorated);
        CHECK_INT(in->feature_score, 0x20);   /* the first one only */
        CHECK(in->driver_ver_override);
        CHECK_INT(in->driver_ver.year, 2021);
        CHECK_INT(in->driver_ver.version[0], 2);
        CHECK_INT(in->driver_ver.version[1], 0);
        CHECK_INT(in->num_exclude_ids, 3);
        CHECK_STR(in->exclude_ids[1], "USB\\VID_1234&PID_0001&REV_0002");
        CHECK_STR(in->exclude_ids[2], "USB\\VID_1234&PID_0001&REV_0003");
        CHECK_INT(in->num_includes, 2);
        CHECK_INT(in->num_needs, 2);
        CHECK(has(in->warnings, in->num_warnings, "syn.inf:14: included INF missing.inf is not available"));
        CHECK(has(in->warnings, in->num_warnings, "syn.inf:15: Needs section [Nowhere.Section] not found"));
        /* Effective AddReg: Composite.Dev.NT's (from usb.inf, processed in place of the
         * Needs line), then the section's own. */
        CHECK_INT(in->num_addreg, 2);
        if (in->num_addreg == 2) {
            CHECK_STR(in->addreg[0].inf, "usb.inf");
            CHECK_STR(in->addreg[0].name, "EnumeratorClass");
            CHECK_INT(in->addreg[0].type, OWU_REG_BINARY);
            CHECK_INT(in->addreg[0].len, 3);
            CHECK_STR(in->addreg[1].name, "OwnValue");
            CHECK_INT(in->addreg[1].number, 42);
        }
        CHECK(has(in->warnings, in->num_warnings, "DWORD value \"twelve\" is not a 32-bit number"));
        CHECK(has(in->warnings, in->num_warnings, "key=value line in an AddReg section ignored"));
        CHECK_INT(in->num_copyfiles, 2);
        CHECK_STR(in->copyfiles[0].name, "@single.sys");
        /* Directives: everything but Include/Needs, Needs sections expanded. */
        CHECK_INT(in->num_directives, 8);
        if (in->num_directives == 8) {
            CHECK_STR(in->directives[0].key, "FeatureScore");
            CHECK_INT(in->directives[0].line, 9);
            CHECK_STR(in->directives[5].key, "AddReg");
            CHECK_STR(in->directives[5].inf, "usb.inf");
            CHECK_STR(in->directives[5].fields[0], "CompositeStub.AddReg");
            CHECK_STR(in->directives[6].inf, "syn.inf");
            CHECK_INT(in->directives[7].num_fields, 2);
        }
        /* Services: WinUSB through Needs=WINUSB.NT.Services, then the own filter. */
        CHECK_STR(in->services_section, "Inst.NTamd64.Services");
        CHECK_INT(in->num_services, 2);
        if (in->num_services == 2) {
            CHECK_STR(in->services[0].name, "WinUsb");
            CHECK_STR(in->services[0].inf, "winusb.inf");
            CHECK_STR(in->services[0].display_name, "WinUSB (test stand-in)");
            CHECK_STR(in->services[0].service_binary, "%12%\\WinUSB.SYS");
            CHECK_STR(in->services[1].name, "MyFilter");
            CHECK_INT(in->services[1].flags, 0);
            CHECK_STR(in->services[1].service_binary, "%12%\\f.sys");
            CHECK(in->services[1].display_name == NULL);
        }
        CHECK_STR(in->function_driver, "WinUsb");
        CHECK_INT(in->num_hw_addreg, 1);
        if (in->num_hw_addreg) {
            static const char want[] = "{aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee}\0{second}\0";
            CHECK_INT(in->hw_addreg[0].len, sizeof want);
            CHECK(memcmp(in->hw_addreg[0].data, want, sizeof want) == 0);
        }
        CHECK(has(in->warnings, in->num_warnings, "AddReg section [Missing.AddReg] not found"));
        CHECK_STR(in->interfaces_section, "Inst.NTamd64.Interfaces");
        CHECK_INT(in->num_interfaces, 1);
        if (in->num_interfaces) {
            CHECK_STR(in->interfaces[0].guid, "{11111111-2222-3333-4444-555555555555}");
            CHECK_STR(in->interfaces[0].reference, "Ref1");
            CHECK_STR(in->interfaces[0].install_section, "If.Install");
            CHECK_INT(in->interfaces[0].flags, 1);
        }
        CHECK(has(in->warnings, in->num_warnings, "AddInterface without interface class GUID"));
    }
    owu_inf_install_free(in);
    /* The result owns its strings: usable after the INFs are gone. */
    CHECK_RC(owu_inf_get_install(inf, "Inst", &amd64, &res, &in, &err), err);
    sys_free(&sys);
    owu_inf_free(inf);
    if (in) {
        CHECK_STR(in->services[0].display_name, "WinUSB (test stand-in)");
        CHECK_STR(in->addreg[0].inf, "usb.inf");
        CHECK_STR(in->exclude_ids[0], "USB\\VID_1234&PID_0001&REV_0001");
    }
    owu_inf_install_free(in);

    inf = load_text(ddinstall_inf, &err);
    if (!inf)
        return;
    /* x86 falls back to .NT, arm64 too; the extensions reuse that suffix (none exist). */
    struct owu_inf_target x86 = target(OWU_INF_ARCH_X86, 10, 0, 19041);
    CHECK_RC(owu_inf_get_install(inf, "Inst", &x86, NULL, &in, &err), err);
    if (in) {
        CHECK_STR(in->section, "Inst.NT");
        CHECK_STR(in->suffix, ".NT");
        CHECK(in->nt_decorated);
        CHECK(in->services_section == NULL);
        CHECK_INT(in->num_services, 0);
        CHECK(in->function_driver == NULL);
        CHECK_INT(in->feature_score, 0xFF);
        CHECK(!in->driver_ver_override);
        CHECK_INT(in->driver_ver.year, 2020);   /* [Version]'s */
        CHECK_INT(in->driver_ver.version[3], 4);
    }
    owu_inf_install_free(in);
    CHECK_INT(owu_inf_get_install(inf, "Absent", &x86, NULL, &in, &err), OWU_E_NOTFOUND);
    CHECK_STR(err.msg, "syn.inf: DDInstall section [Absent] not found (tried Absent.NTx86, "
                       "Absent.NT, Absent)");
    CHECK(in == NULL);
    CHECK_INT(owu_inf_get_install(inf, "", &x86, NULL, &in, &err), OWU_E_NOTFOUND);
    CHECK_INT(owu_inf_get_install(NULL, "x", &x86, NULL, &in, &err), OWU_E_INVAL);
    owu_inf_free(inf);

    /* Bare section only: not .NT-decorated. */
    inf = load_text(HDR "[Plain]\nAddReg=R\n[R]\nHKLM,Software\\X,V,,\"text\"\n", &err);
    CHECK_LOADED(inf, err);
    if (!inf)
        return;
    CHECK_RC(owu_inf_get_install(inf, "plain", NULL, NULL, &in, &err), err);
    if (in) {
        CHECK_STR(in->section, "Plain");
        CHECK(!in->nt_decorated);
        CHECK_INT(in->num_addreg, 1);
        CHECK_STR(in->addreg[0].root, "HKLM");
        CHECK_STR(in->addreg[0].subkey, "Software\\X");
    }
    owu_inf_install_free(in);
    owu_inf_free(inf);
}

/* Include= in the DDInstall section also serves Needs in its .Services section. */
static void test_needs_in_services(void)
{
    owu_err err;
    struct owu_inf *inf = load_text(HDR "[Composite]\nInclude=usb.inf\nNeeds=Composite.Dev.NT\n"
                                        "[Composite.Services]\nNeeds=Composite.Dev.NT.Services\n",
                                    &err);
    CHECK_LOADED(inf, err);
    if (!inf)
        return;
    struct sys_infs sys = {0};
    struct owu_inf_resolver res = {sys_lookup, &sys};
    struct owu_inf_install *in = NULL;
    CHECK_RC(owu_inf_get_install(inf, "Composite", NULL, &res, &in, &err), err);
    if (in) {
        CHECK_INT(in->num_services, 1);
        CHECK_STR(in->function_driver, "usbccgp");
        CHECK_STR(in->services[0].inf, "usb.inf");
        CHECK_STR(in->services[0].display_name, "USB composite parent (test stand-in)");
        CHECK_INT(in->num_addreg, 1);
        CHECK_INT(in->num_warnings, 0);
        CHECK_INT(sys.lookups, 1);   /* asked once, cached for the query */
    }
    owu_inf_install_free(in);
    sys_free(&sys);
    owu_inf_free(inf);
}

/* ---- sections of included INFs (the Windows 8.1 usbser pattern, seed 002) -------------- */

/* A resolver over INFs loaded from memory, counting what it is asked. */
struct mem_infs {
    const char *name[4];
    struct owu_inf *inf[4];
    size_t n;
    unsigned lookups;
};

static const struct owu_inf *mem_lookup(void *ctx, const char *name)
{
    struct mem_infs *m = ctx;
    m->lookups++;
    for (size_t i = 0; i < m->n; i++)
        if (strcasecmp(m->name[i], name) == 0)
            return m->inf[i];
    return NULL;
}

static void mem_add(struct mem_infs *m, const char *name, const char *text)
{
    owu_err err;
    struct owu_inf *inf = NULL;
    CHECK_RC(owu_inf_load_mem(name, text, strlen(text), NULL, &inf, &err), err);
    if (inf && m->n < 4) {
        m->name[m->n] = name;
        m->inf[m->n++] = inf;
    } else {
        owu_inf_free(inf);
    }
}

static void mem_free(struct mem_infs *m)
{
    for (size_t i = 0; i < m->n; i++)
        owu_inf_free(m->inf[i]);
    m->n = 0;
}

/* The included INF: sections only it has (Inc.*), sections the including INF has too
 * (Both.*), with its own Strings. */
static const char included_inf[] =
    "[Version]\nSignature=\"$Windows NT$\"\nClass=Modem\nProvider=%P%\n"
    "[Inc.AddReg]\nHKR,,FromIncluded,,%Where%\n"
    "[Both.AddReg]\nHKR,,Both,,\"included\"\n"
    "[Shared.AddReg]\nHKR,,Shared,,\"inc.inf\"\n"
    "[Inc.Files]\nusbser.sys,,,0x20\n"
    "[Both.Files]\nincluded.sys\n"
    "[Inc.DelReg]\nHKR,,Old\n"
    "[Inc.Service]\nDisplayName=%Svc%\nServiceType=1\nStartType=3\nErrorControl=1\n"
    "ServiceBinary=%12%\\inc.sys\nStartType=0x4\n"
    "[Both.Service]\nServiceType=1\nStartType=3\nErrorControl=1\nServiceBinary=%12%\\included.sys\n"
    "[Inc.EventLog]\nAddReg=Inc.AddReg\n"
    "[Inc.Interface]\nAddReg=Inc.AddReg\n"
    "[Strings]\nP=\"included\"\nWhere=\"included strings\"\nSvc=\"Included service\"\n";

/* A second included INF, named by the .HW section only. */
static const char other_inf[] =
    "[Version]\nSignature=\"$Windows NT$\"\n"
    "[Shared.AddReg]\nHKR,,Shared,,\"other.inf\"\n";

static const char including_inf[] = HDR
    "[Dev.NT]\n"
    "AddReg = Inc.AddReg, Both.AddReg, Nowhere.AddReg\n"       /* line 5: before the Include */
    "Include = inc.inf\n"
    "CopyFiles = Inc.Files, Both.Files, Nowhere.Files, @single.sys\n"
    "DelReg = Inc.DelReg, Nowhere.DelReg\n"
    "[Dev.NT.Services]\n"                                        /* line 9 */
    "Include = inc.inf\n"
    "AddService = incsvc, 0x2, Inc.Service, Inc.EventLog\n"
    "AddService = bothsvc, 0, Both.Service\n"
    "AddService = lostsvc, 0, Nowhere.Service, Nowhere.EventLog\n"
    "[Dev.NT.HW]\n"                                              /* line 14 */
    "AddReg = Inc.AddReg\n"                       /* no Include: the DDInstall's serves */
    "Include = other.inf\n"
    "AddReg = Shared.AddReg\n"                    /* the section's own Include comes first */
    "[Dev.NT.Interfaces]\n"                                      /* line 18 */
    "AddInterface = {11111111-2222-3333-4444-555555555555},,Inc.Interface\n"
    "AddInterface = {66666666-2222-3333-4444-555555555555},,Nowhere.Interface\n"
    "[Both.AddReg]\nHKR,,Both,,\"including\"\n"
    "[Both.Files]\nincluding.sys\n"
    "[Both.Service]\nServiceType=1\nStartType=3\nErrorControl=1\nServiceBinary=%12%\\including.sys\n";

static void test_sections_of_included_infs(void)
{
    owu_err err;
    struct owu_inf *inf = load_text(including_inf, &err);
    CHECK_LOADED(inf, err);
    if (!inf)
        return;
    struct mem_infs mem = {0};
    mem_add(&mem, "inc.inf", included_inf);
    mem_add(&mem, "other.inf", other_inf);
    struct owu_inf_resolver res = {mem_lookup, &mem};
    struct owu_inf_install *in = NULL;
    CHECK_RC(owu_inf_get_install(inf, "Dev", NULL, &res, &in, &err), err);
    /* The result owns copies: the INFs may go first. */
    mem_free(&mem);
    owu_inf_free(inf);
    if (!in)
        return;
    CHECK_INT(mem.lookups, 2);   /* each name asked once per query */
    CHECK_INT(in->num_includes, 1);

    /* AddReg: found only in the included INF (its own Strings), in both (ours wins). */
    CHECK_INT(in->num_addreg, 2);
    if (in->num_addreg == 2) {
        CHECK_STR(in->addreg[0].inf, "inc.inf");
        CHECK_STR(in->addreg[0].name, "FromIncluded");
        CHECK_STR((const char *)in->addreg[0].data, "included strings");
        CHECK_INT(in->addreg[0].line, 6);
        CHECK_STR(in->addreg[1].inf, "syn.inf");
        CHECK_STR((const char *)in->addreg[1].data, "including");
    }
    CHECK(has(in->warnings, in->num_warnings, "syn.inf:5: AddReg section [Nowhere.AddReg] not found"));

    /* CopyFiles: each ref names the INF holding the section; @file stays ours. */
    CHECK_INT(in->num_copyfiles, 4);
    if (in->num_copyfiles == 4) {
        CHECK_STR(in->copyfiles[0].name, "Inc.Files");
        CHECK_STR(in->copyfiles[0].inf, "inc.inf");
        CHECK_STR(in->copyfiles[1].name, "Both.Files");
        CHECK_STR(in->copyfiles[1].inf, "syn.inf");
        CHECK_STR(in->copyfiles[2].name, "Nowhere.Files");
        CHECK_STR(in->copyfiles[2].inf, "syn.inf");
        CHECK_STR(in->copyfiles[3].name, "@single.sys");
        CHECK_STR(in->copyfiles[3].inf, "syn.inf");
    }
    CHECK(has(in->warnings, in->num_warnings, "syn.inf:7: CopyFiles section [Nowhere.Files] not found"));
    CHECK(!has(in->warnings, in->num_warnings, "[Inc.Files]"));
    CHECK(!has(in->warnings, in->num_warnings, "single.sys"));
    /* DelReg is not interpreted, but its sections are looked up the same way. */
    CHECK(has(in->warnings, in->num_warnings, "syn.inf:8: DelReg section [Nowhere.DelReg] not found"));
    CHECK(!has(in->warnings, in->num_warnings, "[Inc.DelReg]"));

    /* AddService: service-install and event-log sections of the included INF. */
    CHECK_INT(in->num_services, 3);
    if (in->num_services == 3) {
        const struct owu_inf_service *sv = &in->services[0];
        CHECK_STR(sv->name, "incsvc");
        CHECK_STR(sv->inf, "syn.inf");   /* the AddService line's INF */
        CHECK_INT(sv->line, 11);
        CHECK_STR(sv->install_section, "Inc.Service");
        CHECK_STR(sv->display_name, "Included service");
        CHECK_STR(sv->service_binary, "%12%\\inc.sys");
        CHECK_INT(sv->service_type, 1);
        CHECK_INT(sv->start_type, 3);   /* the first StartType */
        CHECK_INT(sv->error_control, 1);
        CHECK_STR(sv->eventlog_section, "Inc.EventLog");
        CHECK_STR(in->services[1].service_binary, "%12%\\including.sys");
        sv = &in->services[2];
        CHECK_STR(sv->name, "lostsvc");
        CHECK(sv->service_binary == NULL && sv->display_name == NULL);
        CHECK_INT(sv->service_type, -1);
    }
    CHECK_STR(in->function_driver, "incsvc");
    CHECK(has(in->warnings, in->num_warnings,
              "syn.inf:13: service-install section [Nowhere.Service] not found"));
    CHECK(has(in->warnings, in->num_warnings, "syn.inf:13: event-log section [Nowhere.EventLog] not found"));

    /* .HW: the DDInstall's Include serves it; its own Include is searched before that. */
    CHECK_INT(in->num_hw_addreg, 2);
    if (in->num_hw_addreg == 2) {
        CHECK_STR(in->hw_addreg[0].inf, "inc.inf");
        CHECK_STR(in->hw_addreg[0].name, "FromIncluded");
        CHECK_STR(in->hw_addreg[1].inf, "other.inf");
        CHECK_STR((const char *)in->hw_addreg[1].data, "other.inf");
    }

    /* AddInterface: its install section too. */
    CHECK_INT(in->num_interfaces, 2);
    CHECK(has(in->warnings, in->num_warnings,
              "syn.inf:20: add-interface section [Nowhere.Interface] not found"));

    /* Exactly the six sections found nowhere. */
    CHECK_INT(in->num_warnings, 6);
    owu_inf_install_free(in);
}

/* Without the included INF every section it would have given is reported, once each. */
static void test_sections_of_missing_include(void)
{
    owu_err err;
    struct owu_inf *inf = load_text(including_inf, &err);
    CHECK_LOADED(inf, err);
    if (!inf)
        return;
    struct owu_inf_install *in = NULL;
    CHECK_RC(owu_inf_get_install(inf, "Dev", NULL, NULL, &in, &err), err);
    if (in) {
        CHECK(has(in->warnings, in->num_warnings, "syn.inf:6: included INF inc.inf is not available"));
        CHECK(has(in->warnings, in->num_warnings, "syn.inf:16: included INF other.inf is not available"));
        CHECK(has(in->warnings, in->num_warnings, "syn.inf:5: AddReg section [Inc.AddReg] not found"));
        CHECK(has(in->warnings, in->num_warnings, "syn.inf:7: CopyFiles section [Inc.Files] not found"));
        CHECK(has(in->warnings, in->num_warnings, "syn.inf:8: DelReg section [Inc.DelReg] not found"));
        CHECK(has(in->warnings, in->num_warnings, "syn.inf:11: service-install section [Inc.Service] not found"));
        CHECK(has(in->warnings, in->num_warnings, "syn.inf:11: event-log section [Inc.EventLog] not found"));
        CHECK(has(in->warnings, in->num_warnings, "syn.inf:15: AddReg section [Inc.AddReg] not found"));
        CHECK(has(in->warnings, in->num_warnings, "syn.inf:19: add-interface section [Inc.Interface] not found"));
        CHECK_INT(in->num_addreg, 1);   /* Both.AddReg, ours */
        CHECK_INT(in->num_hw_addreg, 0);
        CHECK_INT(in->num_copyfiles, 4);
        if (in->num_copyfiles == 4)
            CHECK_STR(in->copyfiles[0].inf, "syn.inf");
        CHECK_INT(in->num_services, 3);
        if (in->num_services == 3) {
            CHECK(in->services[0].service_binary == NULL);
            CHECK_STR(in->services[1].service_binary, "%12%\\including.sys");
        }
        CHECK(has(in->warnings, in->num_warnings, "syn.inf:17: AddReg section [Shared.AddReg] not found"));
        /* 2 includes ("inc.inf" is named twice but reported once), the 6 sections found
         * nowhere even with a resolver, the 8 references above. */
        CHECK_INT(in->num_warnings, 16);
    }
    owu_inf_install_free(in);
    owu_inf_free(inf);
}

/* A query asks the resolver for at most 64 distinct names; later ones are one warning. */
static void test_include_bound(void)
{
    char text[8192];
    size_t o = (size_t)snprintf(text, sizeof text, "%s[Many]\nInclude = ", HDR);
    for (int i = 0; i < 100 && o < sizeof text - 64; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, "%sx%d.inf", i ? ", " : "", i);
    snprintf(text + o, sizeof text - o, "\nAddReg = Nowhere.AddReg\n");
    owu_err err;
    struct owu_inf *inf = load_text(text, &err);
    CHECK_LOADED(inf, err);
    if (!inf)
        return;
    struct mem_infs mem = {0};
    struct owu_inf_resolver res = {mem_lookup, &mem};
    struct owu_inf_install *in = NULL;
    CHECK_RC(owu_inf_get_install(inf, "Many", NULL, &res, &in, &err), err);
    if (in) {
        CHECK_INT(mem.lookups, 64);
        CHECK_INT(in->num_includes, 100);
        CHECK(has(in->warnings, in->num_warnings,
                  "syn.inf:5: more than 64 included INFs; x64.inf and later ones ignored"));
        CHECK(has(in->warnings, in->num_warnings, "AddReg section [Nowhere.AddReg] not found"));
        CHECK_INT(in->num_warnings, 64 + 1 + 1);
    }
    owu_inf_install_free(in);
    owu_inf_free(inf);
}

/* Real usbser packages that Include=mdmcpq.inf (FakeModemCopyFileSection, ...) resolve
 * against openwinusb's in-box mdmcpq.inf without a missing section, for every target. */
static void test_real_mdmcpq_includers(void)
{
    static const char *const files[] = {
        "adafruit__Adafruit_usbser__Adafruit_usbser.inf",
        "adafruit__Adafruit_CircuitPlayground_Express__Adafruit_CircuitPlayground_Express.inf",
        "adafruit__Adafruit_Feather_32u4__Adafruit_Feather_32u4.inf",
        "adafruit__Adafruit_Feather_M0_Express__Adafruit_Feather_M0_Express.inf",
        "adafruit__Adafruit_Feather_WICED_CDC__Feather_CDC.inf",
        "adafruit__Adafruit_Flora__flora.inf",
        "adafruit__Arduino_Gemma__arduino.inf",
        "Arduino_STM32__arduino.inf",
        "Arduino_STM32__maple_serial.inf",
        "Arduino_STM32__stlink_VCP.inf",
        "libwdi__usbser.inf.in",
    };
    struct owu_driver_store_options o;
    owu_driver_store_options_default(&o);
    o.no_user_store = true;
    struct owu_driver_store *s = NULL;
    owu_err err;
    CHECK_RC(owu_driver_store_open(&o, &s, &err), err);
    if (!s)
        return;
    const struct owu_inf_resolver *res = owu_driver_store_resolver(s);
    size_t installs = 0, fake_modem = 0;
    for (size_t fi = 0; fi < sizeof files / sizeof files[0]; fi++) {
        struct owu_inf *inf = load_file(files[fi]);
        if (!inf)
            continue;
        for (int a = OWU_INF_ARCH_X86; a <= OWU_INF_ARCH_ARM64; a++) {
            struct owu_inf_target t = target((enum owu_inf_arch)a, 10, 0, 19041);
            struct owu_inf_models *m = NULL;
            CHECK_RC(owu_inf_get_models(inf, &t, &m, &err), err);
            for (size_t i = 0; m && i < m->num_models; i++) {
                struct owu_inf_install *in = NULL;
                CHECK_RC(owu_inf_get_install(inf, m->models[i].install, &t, res, &in, &err), err);
                if (!in)
                    continue;
                installs++;
                for (size_t w = 0; w < in->num_warnings; w++) {
                    if (strstr(in->warnings[w], "not found") ||
                        strstr(in->warnings[w], "not available")) {
                        check_current_failed++;
                        fprintf(stderr, "%s [%s]: %s\n", files[fi], in->section, in->warnings[w]);
                    }
                }
                for (size_t k = 0; k < in->num_copyfiles; k++) {
                    if (strcasecmp(in->copyfiles[k].name, "FakeModemCopyFileSection") == 0) {
                        CHECK_STR(in->copyfiles[k].inf, "mdmcpq.inf");
                        fake_modem++;
                    }
                }
                owu_inf_install_free(in);
            }
            owu_inf_models_free(m);
        }
        owu_inf_free(inf);
    }
    CHECK(installs > 1000);
    CHECK(fake_modem > 100);   /* arduino.inf, maple_serial, stlink_VCP, libwdi usbser */
    owu_driver_store_free(s);
}

static struct owu_inf_reg *reg(owu_err *err, size_t n, ...)
{
    const char *f[16];
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        f[i] = va_arg(ap, const char *);
    va_end(ap);
    owu_err_clear(err);
    return owu_inf_reg_parse(f, n, err);
}

static void test_addreg_types(void)
{
    owu_err err;
    struct owu_inf_reg *r = reg(&err, 5, "hkr", "", "Name", "", "text");
    CHECK(r && r->type == OWU_REG_SZ && r->len == 5 && strcmp(r->root, "HKR") == 0);
    CHECK(r && r->has_value && strcmp((const char *)r->data, "text") == 0);
    free(r);
    r = reg(&err, 3, "HKR", "", "NoValue");
    CHECK(r && r->type == OWU_REG_SZ && !r->has_value && r->len == 1 && r->data[0] == 0);
    free(r);
    r = reg(&err, 5, "HKR", "", "E", "0x00020000", "%SystemRoot%\\x");
    CHECK(r && r->type == OWU_REG_EXPAND_SZ);
    free(r);
    r = reg(&err, 7, "HKR", "", "M", "0x10000", "a", "", "b");
    CHECK(r && r->type == OWU_REG_MULTI_SZ && r->len == 5 && memcmp(r->data, "a\0b\0", 5) == 0);
    free(r);
    r = reg(&err, 4, "HKR", "", "M", "0x00010008");   /* MULTI_SZ | APPEND, no strings */
    CHECK(r && r->type == OWU_REG_MULTI_SZ && r->len == 1 && (r->flags & OWU_INF_FLG_APPEND));
    free(r);
    r = reg(&err, 5, "HKR", "", "D", "65537", "4294967295");   /* decimal flags */
    CHECK(r && r->type == OWU_REG_DWORD && r->number == 0xFFFFFFFFu);
    free(r);
    r = reg(&err, 5, "HKR", "", "D", "0x00010001", "-1");
    CHECK(r && r->number == 0xFFFFFFFFu && r->data[3] == 0xFF);
    free(r);
    r = reg(&err, 5, "HKR", "", "D", "0x00010001", "4294967296");
    CHECK(r == NULL && err.code == OWU_E_PARSE);
    CHECK_STR(err.msg, "DWORD value \"4294967296\" is not a 32-bit number");
    r = reg(&err, 7, "HKR", "", "D", "0x00010001", "01", "02", "03");
    CHECK(r && r->number == 0x030201 && r->len == 4 && r->data[3] == 0);
    free(r);
    r = reg(&err, 9, "HKR", "", "D", "0x00010001", "1", "2", "3", "4", "5");
    CHECK(r == NULL);
    CHECK_STR(err.msg, "DWORD value has 5 bytes, more than 4");
    r = reg(&err, 5, "HKR", "", "Q", "0x000B0001", "0x1122334455667788");
    CHECK(r && r->type == OWU_REG_QWORD && r->len == 8 && r->number == 0x1122334455667788ull &&
          r->data[0] == 0x88);
    free(r);
    r = reg(&err, 7, "HKR", "", "B", "1", "0x0a", "ff", "0");
    CHECK(r && r->type == OWU_REG_BINARY && r->len == 3 && r->data[0] == 0x0A &&
          r->data[1] == 0xFF && r->data[2] == 0);
    free(r);
    r = reg(&err, 6, "HKR", "", "B", "1", "0a", "1ff");
    CHECK(r == NULL);
    CHECK_STR(err.msg, "value byte 2 \"1ff\" is not a hex byte");
    r = reg(&err, 5, "HKR", "", "N", "0x00020001", "01");
    CHECK(r && r->type == 0 && r->len == 1);   /* REG_NONE */
    free(r);
    r = reg(&err, 6, "HKR", "", "C", "0x00050001", "00", "01");   /* custom type 5 */
    CHECK(r && r->type == 5 && r->len == 2);
    free(r);
    r = reg(&err, 4, "HKR", "Sub", "", "0x00000012");   /* KEYONLY | NOCLOBBER */
    CHECK(r && r->type == OWU_REG_SZ && !r->has_value && strcmp(r->subkey, "Sub") == 0 &&
          (r->flags & OWU_INF_FLG_KEYONLY) && (r->flags & OWU_INF_FLG_NOCLOBBER));
    free(r);
    r = reg(&err, 5, "HKR", "", "X", "0x00030000", "v");
    CHECK(r == NULL);
    CHECK_STR(err.msg, "AddReg flags 0x00030000 give no known value type");
    r = reg(&err, 5, "HKEY_WHATEVER", "", "X", "", "v");
    CHECK(r == NULL);
    CHECK_STR(err.msg, "unknown registry root \"HKEY_WHATEVER\"");
    r = reg(&err, 5, "HKR", "", "X", "0xZZ", "v");
    CHECK(r == NULL);
    CHECK_STR(err.msg, "AddReg flags \"0xZZ\" are not a number");
    r = reg(&err, 0);
    CHECK(r == NULL);
    CHECK_STR(err.msg, "AddReg line without registry root");
}

static void test_driver_ver(void)
{
    struct {
        const char *line;
        bool ok;
        unsigned y, m, d;
        unsigned v[4];
    } cases[] = {
        {"DriverVer=1/2/2020,1.2.3.4", true, 2020, 1, 2, {1, 2, 3, 4}},
        {"DriverVer=12-31-2019,7", true, 2019, 12, 31, {7, 0, 0, 0}},
        {"DriverVer=02/29/2020", true, 2020, 2, 29, {0, 0, 0, 0}},
        {"DriverVer=02/29/2021,1.0", false, 0, 0, 0, {1, 0, 0, 0}},
        {"DriverVer=28/12/2011,1.0", false, 0, 0, 0, {1, 0, 0, 0}},
        {"DriverVer=04/31/2011,1.0", false, 0, 0, 0, {1, 0, 0, 0}},
        {"DriverVer=01/01/2011,65535.0", false, 2011, 1, 1, {0, 0, 0, 0}},
        {"DriverVer=01/01/2011,65534.1.2.3", true, 2011, 1, 1, {65534, 1, 2, 3}},
        {"DriverVer=01/01/2011,1.2.3.4.5", false, 2011, 1, 1, {0, 0, 0, 0}},
        {"DriverVer=01/01/2011,1..2", false, 2011, 1, 1, {0, 0, 0, 0}},
        {"DriverVer=1/1/20111,1", false, 0, 0, 0, {1, 0, 0, 0}},
        {"DriverVer=", false, 0, 0, 0, {0, 0, 0, 0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "[Version]\nSignature=$Chicago$\n%s\n", cases[i].line);
        owu_err err;
        struct owu_inf *inf = load_text(text, &err);
        CHECK_LOADED(inf, err);
        if (!inf)
            continue;
        const struct owu_inf_driver_ver *dv = &owu_inf_get_version(inf)->driver_ver;
        CHECK(dv->present);
        CHECK_INT(dv->year, cases[i].y);
        CHECK_INT(dv->month, cases[i].m);
        CHECK_INT(dv->day, cases[i].d);
        for (int k = 0; k < 4; k++)
            CHECK_INT(dv->version[k], cases[i].v[k]);
        CHECK_INT(inf_has_warning(inf, "syn.inf:3: DriverVer"), !cases[i].ok);
        if (dv->year != cases[i].y || inf_has_warning(inf, "syn.inf:3: DriverVer") == cases[i].ok)
            fprintf(stderr, "  (case %s)\n", cases[i].line);
        owu_inf_free(inf);
    }
    struct owu_inf_driver_ver a = {.year = 2020, .month = 1, .day = 2, .version = {1, 0, 0, 0}};
    struct owu_inf_driver_ver b = a;
    CHECK_INT(owu_inf_driver_ver_cmp(&a, &b), 0);
    b.day = 3;
    CHECK(owu_inf_driver_ver_cmp(&a, &b) < 0);
    b = a;
    b.version[3] = 1;
    CHECK(owu_inf_driver_ver_cmp(&b, &a) > 0);
    b = a;
    b.year = 2019;
    b.version[0] = 9;   /* the date decides first */
    CHECK(owu_inf_driver_ver_cmp(&a, &b) > 0);
}

static void test_targets(void)
{
    struct owu_inf_target t;
    owu_inf_target_default(&t);
    CHECK_INT(t.arch, OWU_INF_ARCH_AMD64);
    CHECK_INT(t.major, 10);
    CHECK_INT(t.minor, 0);
    CHECK_INT(t.build, 19041);
    enum owu_inf_arch a;
    CHECK_INT(owu_inf_arch_parse("ARM64", &a), OWU_OK);
    CHECK_INT(a, OWU_INF_ARCH_ARM64);
    CHECK_INT(owu_inf_arch_parse("x64", &a), OWU_OK);
    CHECK_INT(a, OWU_INF_ARCH_AMD64);
    CHECK_INT(owu_inf_arch_parse("mips", &a), OWU_E_INVAL);
    CHECK_STR(owu_inf_arch_name(OWU_INF_ARCH_X86), "x86");
    CHECK_STR(owu_inf_arch_name(OWU_INF_ARCH_ARM), "arm");
}

int main(void)
{
    RUN(test_all_real_files);
    RUN(test_usbser_combined);
    RUN(test_silabs_decorations);
    RUN(test_usbtiny_winusb);
    RUN(test_maple_utf16);
    RUN(test_ftdi_latin1);
    RUN(test_feather_cdc_ids_in_strings);
    RUN(test_gemma_token_in_id);
    RUN(test_stlink_include_winusb);
    RUN(test_libwdi_template);
    RUN(test_inx_arch_placeholder);
    RUN(test_decoration_choice);
    RUN(test_ddinstall_resolution);
    RUN(test_needs_in_services);
    RUN(test_sections_of_included_infs);
    RUN(test_sections_of_missing_include);
    RUN(test_include_bound);
    RUN(test_real_mdmcpq_includers);
    RUN(test_addreg_types);
    RUN(test_driver_ver);
    RUN(test_targets);
    return check_report();
}
