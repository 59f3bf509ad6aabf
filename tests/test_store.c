/* The driver store on disk: where it is, add / list / remove, duplicates, corrupt files,
 * the trust policy and Include= across user packages. Every test uses its own temporary
 * directory through $OPENWINUSB_DRIVER_STORE or the options. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openwinusb/driverstore.h>
#include <openwinusb/pnp.h>

#include "check.h"

#define INF_DIR OWU_TEST_DATA "/inf"
#define TINY "adafruit__USBtinyISP_WinUSB__USBtiny_WinUSB.inf"
#define MAPLE "Arduino_STM32__maple_serial.inf"

static char *make_tmpdir(void)
{
    char tmpl[] = "/tmp/owu-store-XXXXXX";
    char *d = mkdtemp(tmpl);
    CHECK(d != NULL);
    return d ? strdup(d) : NULL;
}

static void rm_rf(const char *dir)
{
    if (!dir)
        return;
    char *cmd = NULL;
    if (asprintf(&cmd, "rm -rf '%s'", dir) >= 0 && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    free(cmd);
}

static char *path_join(const char *a, const char *b)
{
    char *s = NULL;
    return asprintf(&s, "%s/%s", a, b) < 0 ? NULL : s;
}

static bool exists(const char *dir, const char *name)
{
    char *p = path_join(dir, name);
    struct stat st;
    bool r = p && stat(p, &st) == 0;
    free(p);
    return r;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char *p = path_join(dir, name);
    FILE *f = p ? fopen(p, "wb") : NULL;
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    free(p);
}

static struct owu_driver_store *open_dir(const char *dir, enum owu_driver_trust trust)
{
    struct owu_driver_store_options o;
    owu_driver_store_options_default(&o);
    o.dir = dir;
    o.trust = trust;
    struct owu_driver_store *s = NULL;
    owu_err err = {0};
    CHECK_OK(owu_driver_store_open(&o, &s, &err), &err);
    return s;
}

static size_t user_count(const struct owu_driver_store *s)
{
    size_t n = 0;
    for (size_t i = 0; i < owu_driver_store_count(s); i++)
        if (!owu_driver_store_at(s, i)->inbox)
            n++;
    return n;
}

static bool has_warning(const struct owu_driver_store *s, const char *a, const char *b)
{
    for (size_t i = 0; i < owu_driver_store_warning_count(s); i++) {
        const char *w = owu_driver_store_warning(s, i);
        if (strstr(w, a) && (!b || strstr(w, b)))
            return true;
    }
    return false;
}

/* ---- location ------------------------------------------------------------------------- */

static void test_default_dir(void)
{
    char *saved_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    char *d = NULL;
    owu_err err = {0};

    setenv(OWU_DRIVER_STORE_ENV, "/srv/owu-store", 1);
    setenv("XDG_DATA_HOME", "/xdg", 1);
    CHECK_OK(owu_driver_store_default_dir(&d, &err), &err);
    CHECK_STR(d, "/srv/owu-store");
    free(d);

    unsetenv(OWU_DRIVER_STORE_ENV);
    CHECK_OK(owu_driver_store_default_dir(&d, &err), &err);
    CHECK_STR(d, "/xdg/openwinusb/drivers");
    free(d);

    /* A relative XDG_DATA_HOME is ignored (XDG rule); an empty one too. */
    setenv("HOME", "/home/tester", 1);
    setenv("XDG_DATA_HOME", "relative/dir", 1);
    CHECK_OK(owu_driver_store_default_dir(&d, &err), &err);
    CHECK_STR(d, "/home/tester/.local/share/openwinusb/drivers");
    free(d);
    setenv("XDG_DATA_HOME", "", 1);
    setenv(OWU_DRIVER_STORE_ENV, "", 1);
    CHECK_OK(owu_driver_store_default_dir(&d, &err), &err);
    CHECK_STR(d, "/home/tester/.local/share/openwinusb/drivers");
    free(d);

    /* The environment names the store an opened store uses. */
    char *tmp = make_tmpdir();
    if (tmp) {
        setenv(OWU_DRIVER_STORE_ENV, tmp, 1);
        struct owu_driver_store *s = NULL;
        CHECK_OK(owu_driver_store_open(NULL, &s, &err), &err);
        CHECK_STR(owu_driver_store_dir(s), tmp);
        owu_driver_store_free(s);
        unsetenv(OWU_DRIVER_STORE_ENV);
        rm_rf(tmp);
        free(tmp);
    }
    CHECK_INT(owu_driver_store_default_dir(NULL, &err), OWU_E_INVAL);

    unsetenv("XDG_DATA_HOME");
    unsetenv(OWU_DRIVER_STORE_ENV);
    if (saved_home)
        setenv("HOME", saved_home, 1);
    else
        unsetenv("HOME");
    free(saved_home);
}

/* ---- add / list / remove ---------------------------------------------------------------- */

static void test_add_list_remove(void)
{
    char *tmp = make_tmpdir();
    if (!tmp)
        return;
    /* The store directory does not exist yet: an empty store, created by the first add. */
    char *dir = path_join(tmp, "nested/store");
    setenv(OWU_DRIVER_STORE_ENV, dir, 1);
    struct owu_driver_store *s = NULL;
    owu_err err = {0};
    CHECK_OK(owu_driver_store_open(NULL, &s, &err), &err);
    if (!s)
        goto out;
    size_t inbox = owu_driver_store_count(s);
    CHECK_INT(user_count(s), 0);
    CHECK_INT(owu_driver_store_warning_count(s), 0);

    const struct owu_driver_package *p = NULL;
    CHECK_OK(owu_driver_store_add_file(s, INF_DIR "/" TINY, 0, &p, &err), &err);
    CHECK(exists(dir, TINY));
    CHECK_INT(owu_driver_store_count(s), inbox + 1);
    CHECK(p != NULL);
    if (p) {
        CHECK_STR(p->name, TINY);
        CHECK(!p->inbox);
        CHECK_STR(p->provider, "Adafruit Industries");
        CHECK_STR(p->class_name, "USBDevice");
        CHECK_INT(p->driver_ver.year, 2020);
        CHECK_INT(p->driver_ver.month, 3);
        CHECK_INT(p->driver_ver.day, 7);
        CHECK_INT(p->driver_ver.version[0], 1);
        CHECK_INT(p->num_models, 1);
        CHECK_INT(p->signature, OWU_PKG_SIGNED);   /* names usbtiny_winusb.cat */
        CHECK_STR(p->catalog, "usbtiny_winusb.cat");
        char *want = path_join(dir, TINY);
        CHECK_STR(p->path, want);
        free(want);
    }
    CHECK_OK(owu_driver_store_add_file(s, INF_DIR "/" MAPLE, 0, NULL, &err), &err);
    /* User packages follow the in-box ones, by name ignoring case ("adafruit" < "Arduino"). */
    CHECK_STR(owu_driver_store_at(s, inbox)->name, TINY);
    CHECK_STR(owu_driver_store_at(s, inbox + 1)->name, MAPLE);
    const struct owu_driver_package *m = owu_driver_store_find(s, MAPLE);
    CHECK(m && m->signature == OWU_PKG_UNSIGNED && m->catalog == NULL);

    /* The added package ranks right away, and a fresh store reads it back. */
    struct owu_devnode *dev = owu_devnode_new(OWU_NODE_DEVICE);
    owu_strlist_add(&dev->hardware_ids, "USB\\VID_1781&PID_0C9F&REV_0104");
    owu_strlist_add(&dev->hardware_ids, "USB\\VID_1781&PID_0C9F");
    CHECK_OK(owu_driver_select(s, dev, NULL, &err), &err);
    CHECK_STR(dev->inf, TINY);
    owu_driver_store_free(s);
    s = NULL;
    CHECK_OK(owu_driver_store_open(NULL, &s, &err), &err);
    if (!s)
        goto out_dev;
    CHECK_INT(user_count(s), 2);
    CHECK_OK(owu_driver_select(s, dev, NULL, &err), &err);
    CHECK_STR(dev->inf, TINY);
    CHECK(dev->service && strcasecmp(dev->service, "WinUSB") == 0);

    /* Remove by name, case-insensitive, ".inf" optional. */
    CHECK_OK(owu_driver_store_remove(s, "ARDUINO_STM32__MAPLE_SERIAL", &err), &err);
    CHECK(!exists(dir, MAPLE));
    CHECK(owu_driver_store_find(s, MAPLE) == NULL);
    CHECK_INT(owu_driver_store_remove(s, MAPLE, &err), OWU_E_NOTFOUND);
    CHECK_CONTAINS(err.msg, "no package");
    CHECK_CONTAINS(err.msg, MAPLE);
    CHECK_INT(owu_driver_store_remove(s, "nothing-here.inf", &err), OWU_E_NOTFOUND);
    CHECK_INT(owu_driver_store_remove(s, "usbser.inf", &err), OWU_E_ACCESS);
    CHECK_CONTAINS(err.msg, "in-box");
    CHECK(owu_driver_store_find(s, "usbser.inf") != NULL);
    CHECK_INT(owu_driver_store_remove(s, "../etc/passwd", &err), OWU_E_INVAL);
    CHECK_OK(owu_driver_store_remove(s, TINY, &err), &err);
    CHECK(!exists(dir, TINY));
    CHECK_INT(user_count(s), 0);
    /* Ranking after the removal no longer finds it. */
    CHECK_INT(owu_driver_select(s, dev, NULL, &err), OWU_E_NOTFOUND);
    owu_driver_store_free(s);
out_dev:
    owu_devnode_free(dev);
out:
    unsetenv(OWU_DRIVER_STORE_ENV);
    rm_rf(tmp);
    free(dir);
    free(tmp);
}

static void test_duplicate_add(void)
{
    char *dir = make_tmpdir();
    if (!dir)
        return;
    struct owu_driver_store *s = open_dir(dir, OWU_TRUST_CATALOG);
    owu_err err = {0};
    if (!s)
        goto out;
    CHECK_OK(owu_driver_store_add_file(s, INF_DIR "/" TINY, 0, NULL, &err), &err);
    CHECK_INT(owu_driver_store_add_file(s, INF_DIR "/" TINY, 0, NULL, &err), OWU_E_BUSY);
    CHECK_CONTAINS(err.msg, "already has");
    CHECK_CONTAINS(err.msg, TINY);
    CHECK_INT(user_count(s), 1);

    /* Another spelling of the same name collides too (the store ignores case). */
    char *upper = path_join(dir, "UPPER");
    mkdir(upper, 0755);
    char *src = NULL;
    if (asprintf(&src, "cp '%s/%s' '%s/ADAFRUIT__USBTINYISP_WINUSB__USBTINY_WINUSB.INF'", INF_DIR, TINY,
                 upper) >= 0 && system(src) == 0) {
        char *p = path_join(upper, "ADAFRUIT__USBTINYISP_WINUSB__USBTINY_WINUSB.INF");
        CHECK_INT(owu_driver_store_add_file(s, p, 0, NULL, &err), OWU_E_BUSY);
        /* Replacing is allowed when asked: one file remains, under the new spelling. */
        CHECK_OK(owu_driver_store_add_file(s, p, OWU_STORE_REPLACE, NULL, &err), &err);
        CHECK(exists(dir, "ADAFRUIT__USBTINYISP_WINUSB__USBTINY_WINUSB.INF"));
        CHECK(!exists(dir, TINY));
        CHECK_INT(user_count(s), 1);
        free(p);
    }
    free(src);
    free(upper);
    CHECK_OK(owu_driver_store_add_file(s, INF_DIR "/" TINY, OWU_STORE_REPLACE, NULL, &err), &err);
    CHECK_INT(user_count(s), 1);
    CHECK(exists(dir, TINY));
    owu_driver_store_free(s);
out:
    rm_rf(dir);
    free(dir);
}

static const char no_models_inf[] =
    "[Version]\nSignature=\"$Windows NT$\"\nClass=USBDevice\nProvider=X\n"
    "[DefaultInstall]\nCopyFiles=F\n[F]\nx.sys\n";

static void test_add_rejects(void)
{
    char *dir = make_tmpdir();
    char *src = make_tmpdir();
    if (!dir || !src)
        goto out;
    struct owu_driver_store *s = open_dir(dir, OWU_TRUST_CATALOG);
    owu_err err = {0};
    if (!s)
        goto out;
    write_file(src, "notes.txt", "[Version]\nSignature=\"$Windows NT$\"\n");
    write_file(src, "garbage.inf", "\x01\x02 this is not [an INF\n");
    write_file(src, "wrongsig.inf", "[Version]\nSignature=\"$Linux$\"\n");
    write_file(src, "nomodels.inf", no_models_inf);
    write_file(src, "usbser.inf", "[Version]\nSignature=\"$Windows NT$\"\n");
    write_file(src, ".hidden.inf", no_models_inf);

    char *p = path_join(src, "notes.txt");
    CHECK_INT(owu_driver_store_add_file(s, p, 0, NULL, &err), OWU_E_INVAL);
    CHECK_CONTAINS(err.msg, ".inf");
    free(p);
    p = path_join(src, "wrongsig.inf");
    CHECK(owu_driver_store_add_file(s, p, 0, NULL, &err) < 0);
    CHECK_CONTAINS(err.msg, "not added");
    free(p);
    p = path_join(src, "nomodels.inf");
    CHECK_INT(owu_driver_store_add_file(s, p, 0, NULL, &err), OWU_E_PARSE);
    CHECK_CONTAINS(err.msg, "no Models line");
    free(p);
    p = path_join(src, "usbser.inf");
    CHECK_INT(owu_driver_store_add_file(s, p, 0, NULL, &err), OWU_E_ACCESS);
    CHECK_CONTAINS(err.msg, "in-box");
    free(p);
    p = path_join(src, ".hidden.inf");
    CHECK_INT(owu_driver_store_add_file(s, p, 0, NULL, &err), OWU_E_INVAL);
    free(p);
    p = path_join(src, "missing.inf");
    CHECK_INT(owu_driver_store_add_file(s, p, 0, NULL, &err), OWU_E_NOTFOUND);
    CHECK_CONTAINS(err.msg, "missing.inf");
    free(p);
    CHECK_INT(owu_driver_store_add_file(s, src, 0, NULL, &err), OWU_E_INVAL);   /* a directory */
    CHECK_INT(owu_driver_store_add_file(s, NULL, 0, NULL, &err), OWU_E_INVAL);
    p = path_join(src, "garbage.inf");
    int rc = owu_driver_store_add_file(s, p, 0, NULL, &err);
    CHECK(rc < 0);
    free(p);
    /* Nothing was written to the store, not even a temporary file. */
    CHECK_INT(user_count(s), 0);
    char *cmd = NULL;
    if (asprintf(&cmd, "test -z \"$(ls -A '%s')\"", dir) >= 0)
        CHECK_INT(system(cmd), 0);
    free(cmd);
    owu_driver_store_free(s);

    /* A store without a directory cannot take packages. */
    struct owu_driver_store_options o;
    owu_driver_store_options_default(&o);
    o.no_user_store = true;
    CHECK_OK(owu_driver_store_open(&o, &s, &err), &err);
    CHECK_INT(owu_driver_store_add_file(s, INF_DIR "/" TINY, 0, NULL, &err), OWU_E_INVAL);
    CHECK_INT(owu_driver_store_remove(s, TINY, &err), OWU_E_NOTFOUND);
    owu_driver_store_free(s);
    o.no_user_store = false;
    o.dir = "";
    CHECK_INT(owu_driver_store_open(&o, &s, &err), OWU_E_INVAL);
    CHECK(s == NULL);
    CHECK_INT(owu_driver_store_open(NULL, NULL, &err), OWU_E_INVAL);
out:
    rm_rf(dir);
    rm_rf(src);
    free(dir);
    free(src);
}

/* ---- corrupt files are reported and skipped --------------------------------------------- */

static void test_corrupt_inf_skipped(void)
{
    char *dir = make_tmpdir();
    if (!dir)
        return;
    write_file(dir, "broken.inf", "[Version]\nSignature=\"$Nope$\"\n[Manufacturer]\n");
    write_file(dir, "empty.inf", "");
    write_file(dir, "readme.txt", "not a package");
    write_file(dir, ".broken.inf.AbC123", "half-written temporary file");
    char *cmd = NULL;
    if (asprintf(&cmd, "cp '%s/%s' '%s/'", INF_DIR, TINY, dir) >= 0)
        CHECK_INT(system(cmd), 0);
    free(cmd);
    char *sub = path_join(dir, "folder.inf");
    mkdir(sub, 0755);
    free(sub);

    struct owu_driver_store *s = open_dir(dir, OWU_TRUST_CATALOG);
    owu_err err = {0};
    if (!s)
        goto out;
    CHECK_INT(user_count(s), 1);
    CHECK(owu_driver_store_find(s, TINY) != NULL);
    CHECK(owu_driver_store_find(s, "broken.inf") == NULL);
    CHECK(has_warning(s, "broken.inf", "skipped"));
    CHECK(has_warning(s, "empty.inf", "skipped"));
    CHECK(has_warning(s, "folder.inf", "not a regular file"));
    CHECK(!has_warning(s, "readme.txt", NULL));
    CHECK(!has_warning(s, ".broken.inf", NULL));

    /* The good package still works, and the corrupt one can be removed by name. */
    struct owu_devnode *dev = owu_devnode_new(OWU_NODE_DEVICE);
    owu_strlist_add(&dev->hardware_ids, "USB\\VID_1781&PID_0C9F");
    CHECK_OK(owu_driver_select(s, dev, NULL, &err), &err);
    CHECK_STR(dev->inf, TINY);
    owu_devnode_free(dev);
    CHECK_OK(owu_driver_store_remove(s, "BROKEN.inf", &err), &err);
    CHECK(!exists(dir, "broken.inf"));
    owu_driver_store_free(s);

    /* A user file named like an in-box package is skipped, never shadowing it. */
    write_file(dir, "WINUSB.INF", no_models_inf);
    s = open_dir(dir, OWU_TRUST_CATALOG);
    if (s) {
        CHECK(has_warning(s, "WINUSB.INF", "in-box"));
        const struct owu_driver_package *w = owu_driver_store_find(s, "winusb.inf");
        CHECK(w && w->inbox);
        owu_driver_store_free(s);
    }
out:
    rm_rf(dir);
    free(dir);
}

/* ---- trust policy ----------------------------------------------------------------------- */

static const char unsigned_vendor[] =
    "[Version]\nSignature=\"$Windows NT$\"\nClass=USBDevice\nProvider=V\nDriverVer=01/01/2022,1.0.0.0\n"
    "[Manufacturer]\nV=M,NTamd64\n[M.NTamd64]\nDev=I,USB\\VID_1234&PID_5678\n"
    "[I.NT]\n[I.NT.Services]\nAddService=vdrv,2,S\n[S]\nServiceType=1\n";

static void test_trust_policy(void)
{
    char *dir = make_tmpdir();
    if (!dir)
        return;
    char *cmd = NULL;
    if (asprintf(&cmd, "cp '%s/%s' '%s/'", INF_DIR, TINY, dir) >= 0)
        CHECK_INT(system(cmd), 0);
    free(cmd);
    write_file(dir, "nocat.inf", unsigned_vendor);
    struct owu_devnode *dev = owu_devnode_new(OWU_NODE_DEVICE);
    owu_strlist_add(&dev->hardware_ids, "USB\\VID_1234&PID_5678&REV_0100");
    owu_strlist_add(&dev->hardware_ids, "USB\\VID_1234&PID_5678");
    owu_strlist_add(&dev->compatible_ids, "USB\\DevClass_00&SubClass_00&Prot_00");
    owu_strlist_add(&dev->compatible_ids, "USB\\DevClass_00&SubClass_00");
    owu_strlist_add(&dev->compatible_ids, "USB\\DevClass_00");
    owu_strlist_add(&dev->compatible_ids, "USB\\COMPOSITE");
    owu_err err = {0};

    struct {
        enum owu_driver_trust trust;
        enum owu_pkg_signature tiny, nocat;
        const char *winner;
        uint32_t rank;
    } cases[] = {
        {OWU_TRUST_CATALOG, OWU_PKG_SIGNED, OWU_PKG_UNSIGNED, "usb.inf", 0x00FF2003},
        {OWU_TRUST_NONE, OWU_PKG_UNSIGNED, OWU_PKG_UNSIGNED, "usb.inf", 0x00FF2003},
        {OWU_TRUST_ALL, OWU_PKG_SIGNED, OWU_PKG_SIGNED, "nocat.inf", 0x00FF0001},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct owu_driver_store *s = open_dir(dir, cases[i].trust);
        if (!s)
            continue;
        const struct owu_driver_package *t = owu_driver_store_find(s, TINY);
        const struct owu_driver_package *n = owu_driver_store_find(s, "nocat.inf");
        CHECK(t && n);
        if (t && n) {
            CHECK_INT(t->signature, cases[i].tiny);
            CHECK_INT(n->signature, cases[i].nocat);
        }
        CHECK_OK(owu_driver_select(s, dev, NULL, &err), &err);
        CHECK_STR(dev->inf, cases[i].winner);
        CHECK_INT(dev->rank, cases[i].rank);
        owu_driver_store_free(s);
    }

    /* The environment sets the default policy; a bad value is reported, not fatal. */
    struct owu_driver_store_options o;
    setenv(OWU_DRIVER_TRUST_ENV, "ALL", 1);
    owu_driver_store_options_default(&o);
    CHECK_INT(o.trust, OWU_TRUST_ALL);
    setenv(OWU_DRIVER_TRUST_ENV, "whatever", 1);
    owu_driver_store_options_default(&o);
    CHECK_INT(o.trust, OWU_TRUST_CATALOG);
    o.dir = dir;
    struct owu_driver_store *s = NULL;
    CHECK_OK(owu_driver_store_open(&o, &s, &err), &err);
    CHECK(s && has_warning(s, OWU_DRIVER_TRUST_ENV, "whatever"));
    owu_driver_store_free(s);
    unsetenv(OWU_DRIVER_TRUST_ENV);
    enum owu_driver_trust tr;
    CHECK_OK(owu_driver_trust_parse("none", &tr), (owu_err *)NULL);
    CHECK_INT(tr, OWU_TRUST_NONE);
    CHECK_INT(owu_driver_trust_parse("x", &tr), OWU_E_INVAL);
    CHECK_INT(owu_driver_trust_parse(NULL, &tr), OWU_E_INVAL);
    CHECK_STR(owu_driver_trust_name(OWU_TRUST_CATALOG), "catalog");

    owu_devnode_free(dev);
    rm_rf(dir);
    free(dir);
}

/* ---- Include= across user packages ------------------------------------------------------ */

static void test_include_between_user_packages(void)
{
    char *dir = make_tmpdir();
    if (!dir)
        return;
    write_file(dir, "common.inf",
               "[Version]\nSignature=\"$Windows NT$\"\nClass=USBDevice\nProvider=C\n"
               "[Shared.NT]\nAddReg=Shared_AddReg\n[Shared_AddReg]\nHKR,,FromCommon,0x00010001,7\n"
               "[Shared.NT.Services]\nAddService=shareddrv,0x00000002,Shared_Svc\n"
               "[Shared_Svc]\nServiceType=1\nStartType=3\nErrorControl=1\n");
    write_file(dir, "product.inf",
               "[Version]\nSignature=\"$Windows NT$\"\nClass=USBDevice\nProvider=P\nCatalogFile=p.cat\n"
               "[Manufacturer]\nP=M,NTamd64\n[M.NTamd64]\nProduct=Prod,USB\\VID_4321&PID_0001\n"
               "[Prod.NT]\nInclude=common.inf\nNeeds=Shared.NT\n"
               "[Prod.NT.Services]\nInclude=common.inf\nNeeds=Shared.NT.Services\n");
    struct owu_driver_store *s = open_dir(dir, OWU_TRUST_CATALOG);
    owu_err err = {0};
    if (s) {
        CHECK_INT(owu_driver_store_warning_count(s), 0);
        const struct owu_inf_resolver *r = owu_driver_store_resolver(s);
        CHECK(r && r->lookup(r->ctx, "COMMON.INF") == owu_driver_store_find(s, "common.inf")->inf);
        CHECK(r && r->lookup(r->ctx, "winusb.inf") != NULL);
        CHECK(r && r->lookup(r->ctx, "absent.inf") == NULL);
        struct owu_devnode *dev = owu_devnode_new(OWU_NODE_DEVICE);
        owu_strlist_add(&dev->hardware_ids, "USB\\VID_4321&PID_0001");
        struct owu_inf_install *in = NULL;
        CHECK_OK(owu_driver_select(s, dev, &in, &err), &err);
        CHECK_STR(dev->service, "shareddrv");
        CHECK_INT(dev->rank, 0x00FF0000);
        if (in) {
            CHECK_INT(in->num_addreg, 1);
            if (in->num_addreg)
                CHECK_STR(in->addreg[0].inf, "common.inf");
        }
        owu_inf_install_free(in);
        owu_devnode_free(dev);
        owu_driver_store_free(s);
    }
    rm_rf(dir);
    free(dir);
}

int main(void)
{
    unsetenv(OWU_DRIVER_TRUST_ENV);
    unsetenv(OWU_DRIVER_STORE_ENV);
    RUN(test_default_dir);
    RUN(test_add_list_remove);
    RUN(test_duplicate_add);
    RUN(test_add_rejects);
    RUN(test_corrupt_inf_skipped);
    RUN(test_trust_policy);
    RUN(test_include_between_user_packages);
    return check_report();
}
