/* Device Parameters store: values and types, persistence, atomic rewrites, damaged files,
 * concurrent writers, INF AddReg flags, MS OS properties and the install rule. */
#include <openwinusb/registry.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "pnp/registry_internal.h"

#define DEV "USB\\VID_045E&PID_0040\\5&1ECE9816&0&9"
#define FN "USB\\VID_045E&PID_0040&MI_01\\7&40544E5&1&0001"
#define GUID_A "{a5dcbf10-6530-11d2-901f-00c04fb951ed}"
#define GUID_B "{86E0D1E0-8089-11D0-9CE4-08003E301F73}"

/* ---- helpers ----------------------------------------------------------------------- */

static char *make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/owu-registry-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static char *path_in(const char *dir, const char *name)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", dir, name) < 0)
        return NULL;
    return p;
}

static int write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = len ? fwrite(data, 1, len, f) : 0;
    fclose(f);
    return w == len ? 0 : -1;
}

static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (len)
            *len = (size_t)n;
    }
    return buf;
}

static bool file_exists(const char *dir, const char *name)
{
    char *p = path_in(dir, name);
    struct stat st;
    bool ok = p && stat(p, &st) == 0;
    free(p);
    return ok;
}

/* Names in the directory, sorted, joined by ','. */
static void dir_listing(const char *dir, char *out, size_t size)
{
    char names[16][128];
    size_t n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) && n < 16)
        if (e->d_name[0] != '.')
            snprintf(names[n++], sizeof names[0], "%s", e->d_name);
    if (d)
        closedir(d);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(names[j], names[i]) < 0) {
                char t[128];
                memcpy(t, names[i], sizeof t);
                memcpy(names[i], names[j], sizeof t);
                memcpy(names[j], t, sizeof t);
            }
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i)
            strncat(out, ",", size - strlen(out) - 1);
        strncat(out, names[i], size - strlen(out) - 1);
    }
}

static uint32_t dword_of(struct owu_registry *reg, const char *id, const char *name, uint32_t def)
{
    uint32_t v = 0;
    owu_registry_get_dword(reg, id, name, def, &v, NULL);
    return v;
}

static bool has_value(struct owu_registry *reg, const char *id, const char *name)
{
    struct owu_property p;
    int rc = owu_registry_get_value(reg, id, name, &p, NULL);
    owu_registry_property_clear(&p);
    return rc == OWU_OK;
}

static bool strlist_has(const owu_strlist *l, const char *needle)
{
    for (size_t i = 0; i < l->n; i++)
        if (strstr(l->v[i], needle))
            return true;
    return false;
}

static struct owu_inf_reg addreg(const char *root, const char *name, uint32_t flags, uint32_t type,
                                 const void *data, size_t len, unsigned line)
{
    struct owu_inf_reg r = { .inf = "test.inf", .line = line, .root = root, .subkey = "",
                             .name = name, .flags = flags, .type = type, .has_value = true,
                             .data = data, .len = len };
    return r;
}

static const uint8_t one_le[4] = { 1, 0, 0, 0 };
static const uint8_t zero_le[4] = { 0, 0, 0, 0 };

/* ---- values in memory -------------------------------------------------------------- */

static void test_memory_values(void)
{
    struct owu_registry *reg = owu_registry_open_memory();
    owu_err err = { 0 };
    CHECK(reg);
    CHECK(owu_registry_file(reg) == NULL);
    CHECK(!owu_registry_key_exists(reg, DEV));
    CHECK_OK(owu_registry_set_dword(reg, DEV, "DeviceIdleEnabled", 1, &err), &err);
    CHECK(owu_registry_key_exists(reg, DEV));
    /* Instance IDs and value names compare case-insensitively; the first spelling stays. */
    CHECK(owu_registry_key_exists(reg, "usb\\vid_045e&pid_0040\\5&1ece9816&0&9"));
    CHECK_INT(dword_of(reg, "usb\\VID_045E&pid_0040\\5&1ece9816&0&9", "deviceidleenabled", 7), 1);
    CHECK_OK(owu_registry_set_dword(reg, DEV, "DEVICEIDLEENABLED", 0, &err), &err);
    struct owu_property p;
    CHECK_OK(owu_registry_get_value(reg, DEV, "deviceIdleEnabled", &p, &err), &err);
    CHECK_STR(p.name, "DeviceIdleEnabled");
    CHECK_INT(p.type, OWU_REG_DWORD);
    CHECK_INT(p.len, 4);
    CHECK(memcmp(p.data, zero_le, 4) == 0);
    owu_registry_property_clear(&p);

    CHECK_OK(owu_registry_set_string(reg, DEV, "PortName", "COM3", &err), &err);
    static const uint8_t bin[] = { 0xde, 0xad, 0x00, 0xff };
    CHECK_OK(owu_registry_set_value(reg, DEV, "Blob", OWU_REG_BINARY, bin, sizeof bin, &err), &err);
    CHECK_OK(owu_registry_set_value(reg, DEV, "", OWU_REG_SZ, "default", 8, &err), &err);
    CHECK_OK(owu_registry_set_value(reg, DEV, "Empty", OWU_REG_BINARY, NULL, 0, &err), &err);

    struct owu_property *v;
    size_t n;
    CHECK_OK(owu_registry_enum_values(reg, DEV, &v, &n, &err), &err);
    CHECK_INT(n, 5);
    if (n == 5) {
        CHECK_STR(v[0].name, "DeviceIdleEnabled");
        CHECK_STR(v[1].name, "PortName");
        CHECK_STR((char *)v[1].data, "COM3");
        CHECK_INT(v[1].len, 5);
        CHECK_STR(v[2].name, "Blob");
        CHECK(v[2].len == 4 && memcmp(v[2].data, bin, 4) == 0);
        CHECK_STR(v[3].name, "");
        CHECK_INT(v[4].len, 0);
        CHECK(v[4].data != NULL);
    }
    owu_registry_properties_free(v, n);

    CHECK_OK(owu_registry_delete_value(reg, DEV, "blob", &err), &err);
    CHECK(!has_value(reg, DEV, "Blob"));
    CHECK_INT(owu_registry_delete_value(reg, DEV, "Blob", &err), OWU_E_NOTFOUND);
    CHECK_CONTAINS(err.msg, "no value \"Blob\"");
    CHECK_INT(owu_registry_get_value(reg, FN, "PortName", &p, &err), OWU_E_NOTFOUND);
    CHECK_INT(owu_registry_enum_values(reg, FN, &v, &n, &err), OWU_E_NOTFOUND);

    CHECK_OK(owu_registry_create_key(reg, FN, &err), &err);
    CHECK_OK(owu_registry_enum_values(reg, FN, &v, &n, &err), &err);
    CHECK(v == NULL && n == 0);
    owu_strlist keys = { 0 };
    CHECK_OK(owu_registry_list_keys(reg, &keys, &err), &err);
    CHECK_INT(keys.n, 2);
    if (keys.n == 2) {   /* case-insensitive byte order: '&' sorts before '\\' */
        CHECK_STR(keys.v[0], FN);
        CHECK_STR(keys.v[1], DEV);
    }
    owu_strlist_clear(&keys);
    CHECK_OK(owu_registry_delete_key(reg, DEV, &err), &err);
    CHECK(!owu_registry_key_exists(reg, DEV));
    CHECK_INT(owu_registry_delete_key(reg, DEV, &err), OWU_E_NOTFOUND);
    owu_registry_close(reg);
}

static void test_validation(void)
{
    struct owu_registry *reg = owu_registry_open_memory();
    owu_err err = { 0 };
    CHECK_INT(owu_registry_set_dword(reg, "", "X", 1, &err), OWU_E_INVAL);
    CHECK_CONTAINS(err.msg, "empty");
    CHECK_INT(owu_registry_set_dword(reg, "USB\\VID_1 2", "X", 1, &err), OWU_E_INVAL);
    CHECK_CONTAINS(err.msg, "byte 0x20 at offset 9");
    CHECK_INT(owu_registry_set_dword(reg, "USB\\A,B", "X", 1, &err), OWU_E_INVAL);
    CHECK_CONTAINS(err.msg, "0x2C at offset 5");
    char longid[260];
    memset(longid, 'A', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    CHECK_INT(owu_registry_set_dword(reg, longid, "X", 1, &err), OWU_E_INVAL);
    CHECK_CONTAINS(err.msg, "longer than 199");
    longid[199] = '\0';
    CHECK_OK(owu_registry_set_dword(reg, longid, "X", 1, &err), &err);
    char longname[300];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    CHECK_INT(owu_registry_set_dword(reg, DEV, longname, 1, &err), OWU_E_INVAL);
    CHECK_CONTAINS(err.msg, "longer than 255 bytes");

    CHECK_INT(owu_registry_set_value(reg, DEV, "S", OWU_REG_SZ, "abc", 3, &err), OWU_E_INVAL);
    CHECK_CONTAINS(err.msg, "REG_SZ value: not NUL-terminated");
    CHECK_INT(owu_registry_set_value(reg, DEV, "S", OWU_REG_EXPAND_SZ, "a\0b", 4, &err), OWU_E_INVAL);
    CHECK_CONTAINS(err.msg, "NUL inside the string at byte 1");
    CHECK_INT(owu_registry_set_value(reg, DEV, "M", OWU_REG_MULTI_SZ, "a\0", 2, &err), OWU_E_INVAL);
    CHECK_CONTAINS(err.msg, "final extra NUL");
    CHECK_INT(owu_registry_set_value(reg, DEV, "M", OWU_REG_MULTI_SZ, "a\0\0b\0\0", 6, &err), OWU_E_INVAL);
    CHECK_CONTAINS(err.msg, "empty string at byte 2");
    CHECK_INT(owu_registry_set_value(reg, DEV, "D", OWU_REG_DWORD, "abc", 3, &err), OWU_E_INVAL);
    CHECK_CONTAINS(err.msg, "REG_DWORD value: 3 bytes, expected 4");
    CHECK_INT(owu_registry_set_value(reg, DEV, "Q", OWU_REG_QWORD, "abcd", 4, &err), OWU_E_INVAL);
    CHECK_CONTAINS(err.msg, "expected 8");
    uint8_t *big = calloc(1, OWU_REG_MAX_VALUE_LEN + 1);
    CHECK_INT(owu_registry_set_value(reg, DEV, "B", OWU_REG_BINARY, big, OWU_REG_MAX_VALUE_LEN + 1, &err),
              OWU_E_INVAL);
    CHECK_CONTAINS(err.msg, "more than the limit");
    CHECK_OK(owu_registry_set_value(reg, DEV, "B", OWU_REG_BINARY, big, OWU_REG_MAX_VALUE_LEN, &err), &err);
    free(big);
    /* Custom types hold any bytes. */
    CHECK_OK(owu_registry_set_value(reg, DEV, "T", 0x1234, "xyz", 3, &err), &err);
    /* "\0\0" is the empty list, stored as "\0". */
    CHECK_OK(owu_registry_set_value(reg, DEV, "M", OWU_REG_MULTI_SZ, "\0", 2, &err), &err);
    struct owu_property p;
    CHECK_OK(owu_registry_get_value(reg, DEV, "M", &p, &err), &err);
    CHECK_INT(p.len, 1);
    owu_registry_property_clear(&p);
    CHECK(!has_value(reg, DEV, "S"));
    CHECK_STR(owu_registry_type_name(OWU_REG_MULTI_SZ), "REG_MULTI_SZ");
    CHECK_STR(owu_registry_type_name(0x1234), "REG_TYPE_0x1234");
    owu_registry_close(reg);
}

static void test_typed(void)
{
    struct owu_registry *reg = owu_registry_open_memory();
    owu_err err = { 0 };
    uint32_t d = 0;
    CHECK_OK(owu_registry_get_dword(reg, DEV, "DefaultIdleTimeout", 5000, &d, &err), &err);
    CHECK_INT(d, 5000);
    CHECK_OK(owu_registry_set_dword(reg, DEV, "DefaultIdleTimeout", 100, &err), &err);
    CHECK_OK(owu_registry_get_dword(reg, DEV, "DefaultIdleTimeout", 5000, &d, &err), &err);
    CHECK_INT(d, 100);
    CHECK_OK(owu_registry_set_string(reg, DEV, "PortName", "COM7", &err), &err);
    CHECK_INT(owu_registry_get_dword(reg, DEV, "PortName", 42, &d, &err), OWU_E_INVAL);
    CHECK_INT(d, 42);
    CHECK_CONTAINS(err.msg, "\"PortName\" is REG_SZ, expected REG_DWORD");
    uint64_t q = 0;
    CHECK_OK(owu_registry_set_qword(reg, DEV, "Big", 0x1122334455667788ull, &err), &err);
    CHECK_OK(owu_registry_get_qword(reg, DEV, "Big", 0, &q, &err), &err);
    CHECK(q == 0x1122334455667788ull);
    CHECK_INT(owu_registry_get_qword(reg, DEV, "DefaultIdleTimeout", 9, &q, &err), OWU_E_INVAL);
    CHECK(q == 9);

    char *s = NULL;
    CHECK_OK(owu_registry_get_string(reg, DEV, "PortName", &s, &err), &err);
    CHECK_STR(s, "COM7");
    free(s);
    CHECK_INT(owu_registry_get_string(reg, DEV, "DefaultIdleTimeout", &s, &err), OWU_E_INVAL);
    CHECK(s == NULL);
    CHECK_CONTAINS(err.msg, "is REG_DWORD, expected REG_SZ");
    CHECK_INT(owu_registry_get_string(reg, DEV, "Nope", &s, &err), OWU_E_NOTFOUND);
    CHECK_OK(owu_registry_set_value(reg, DEV, "Path", OWU_REG_EXPAND_SZ, "%SystemRoot%\\x", 15, &err), &err);
    CHECK_OK(owu_registry_get_string(reg, DEV, "Path", &s, &err), &err);
    CHECK_STR(s, "%SystemRoot%\\x");
    free(s);

    const char *guids[] = { GUID_A, GUID_B };
    CHECK_OK(owu_registry_set_multi_sz(reg, DEV, "DeviceInterfaceGUIDs", guids, 2, &err), &err);
    owu_strlist l = { 0 };
    CHECK_OK(owu_registry_get_multi_sz(reg, DEV, "DeviceInterfaceGUIDs", &l, &err), &err);
    CHECK_INT(l.n, 2);
    if (l.n == 2) {
        CHECK_STR(l.v[0], GUID_A);
        CHECK_STR(l.v[1], GUID_B);
    }
    owu_strlist_clear(&l);
    CHECK_INT(owu_registry_get_multi_sz(reg, DEV, "PortName", &l, &err), OWU_E_INVAL);
    CHECK_CONTAINS(err.msg, "expected REG_MULTI_SZ");
    CHECK_INT(l.n, 0);
    CHECK_OK(owu_registry_set_multi_sz(reg, DEV, "None", NULL, 0, &err), &err);
    CHECK_OK(owu_registry_get_multi_sz(reg, DEV, "None", &l, &err), &err);
    CHECK_INT(l.n, 0);
    const char *bad[] = { "a", "" };
    CHECK_INT(owu_registry_set_multi_sz(reg, DEV, "Bad", bad, 2, &err), OWU_E_INVAL);
    CHECK_CONTAINS(err.msg, "string 1 is empty");
    owu_registry_close(reg);
}

/* ---- persistence ------------------------------------------------------------------- */

/* Every type and the awkward characters of the file format. */
static void fill_sample(struct owu_registry *reg)
{
    owu_err err = { 0 };
    CHECK_OK(owu_registry_set_dword(reg, DEV, "DeviceIdleEnabled", 1, &err), &err);
    CHECK_OK(owu_registry_set_qword(reg, DEV, "Q", 0xFFFFFFFFFFFFFFFFull, &err), &err);
    CHECK_OK(owu_registry_set_string(reg, DEV, "Odd \"name\" %20", "quote\" percent% nl\n tab\t bs\\ é", &err),
             &err);
    static const char invalid_utf8[] = "x\xff\xc3y";
    CHECK_OK(owu_registry_set_value(reg, DEV, "Bytes", OWU_REG_SZ, invalid_utf8, sizeof invalid_utf8, &err), &err);
    const char *guids[] = { GUID_A, "second # string" };
    CHECK_OK(owu_registry_set_multi_sz(reg, DEV, "DeviceInterfaceGUIDs", guids, 2, &err), &err);
    CHECK_OK(owu_registry_set_multi_sz(reg, DEV, "EmptyList", NULL, 0, &err), &err);
    static const uint8_t bin[] = { 0, 1, 2, 0xfe, 0xff };
    CHECK_OK(owu_registry_set_value(reg, DEV, "Bin", OWU_REG_BINARY, bin, sizeof bin, &err), &err);
    CHECK_OK(owu_registry_set_value(reg, DEV, "None", 0, NULL, 0, &err), &err);
    CHECK_OK(owu_registry_set_value(reg, DEV, "BE", OWU_REG_DWORD_BIG_ENDIAN, "\0\0\0\1", 4, &err), &err);
    CHECK_OK(owu_registry_set_value(reg, DEV, "Custom", 0x80000001u, "\1\2", 2, &err), &err);
    CHECK_OK(owu_registry_set_value(reg, DEV, "", OWU_REG_SZ, "", 1, &err), &err);
    CHECK_OK(owu_registry_set_string(reg, FN, "PortName", "COM4", &err), &err);
    CHECK_OK(owu_registry_create_key(reg, "ROOT\\OPENWINUSB\\0000", &err), &err);
}

/* Both stores hold exactly the same keys and values. */
static void check_same(struct owu_registry *a, struct owu_registry *b)
{
    owu_strlist ka = { 0 }, kb = { 0 };
    owu_registry_list_keys(a, &ka, NULL);
    owu_registry_list_keys(b, &kb, NULL);
    CHECK_INT(ka.n, kb.n);
    for (size_t i = 0; i < ka.n && i < kb.n; i++) {
        CHECK_STR(ka.v[i], kb.v[i]);
        struct owu_property *va, *vb;
        size_t na, nb;
        CHECK_OK(owu_registry_enum_values(a, ka.v[i], &va, &na, NULL), (owu_err *)NULL);
        CHECK_OK(owu_registry_enum_values(b, kb.v[i], &vb, &nb, NULL), (owu_err *)NULL);
        CHECK_INT(na, nb);
        for (size_t j = 0; j < na && j < nb; j++) {
            CHECK_STR(va[j].name, vb[j].name);
            CHECK_INT(va[j].type, vb[j].type);
            CHECK_INT(va[j].len, vb[j].len);
            CHECK(va[j].len == vb[j].len && memcmp(va[j].data, vb[j].data, va[j].len) == 0);
        }
        owu_registry_properties_free(va, na);
        owu_registry_properties_free(vb, nb);
    }
    owu_strlist_clear(&ka);
    owu_strlist_clear(&kb);
}

static void test_persistence(void)
{
    char *dir = make_tmpdir();
    CHECK(dir);
    if (!dir)
        return;
    char *sub = path_in(dir, "a/b/state");   /* missing parents are created */
    owu_err err = { 0 };
    struct owu_registry *reg = NULL;
    CHECK_OK(owu_registry_open_dir(sub, &reg, &err), &err);
    if (!reg)
        goto out;
    CHECK_CONTAINS(owu_registry_file(reg), "/a/b/state/device-parameters.txt");
    fill_sample(reg);
    struct owu_registry *mem = owu_registry_open_memory();
    fill_sample(mem);
    owu_registry_close(reg);
    reg = NULL;

    char listing[512];
    dir_listing(sub, listing, sizeof listing);
    /* Atomic rewrites leave no temporary file behind. */
    CHECK_STR(listing, "device-parameters.lock,device-parameters.txt");

    CHECK_OK(owu_registry_open_dir(sub, &reg, &err), &err);
    if (reg) {
        owu_strlist w = { 0 };
        CHECK_INT(owu_registry_take_warnings(reg, &w), 0);
        owu_strlist_clear(&w);
        check_same(reg, mem);
        char *s = NULL;
        CHECK_OK(owu_registry_get_string(reg, DEV, "odd \"NAME\" %20", &s, &err), &err);
        CHECK_STR(s, "quote\" percent% nl\n tab\t bs\\ é");
        free(s);
        owu_registry_close(reg);
    }
    owu_registry_close(mem);

    /* The file is text a person can read: header, key and value records, end count. */
    char *p = path_in(sub, OWU_REGISTRY_FILE);
    char *text = read_text(p, NULL);
    CHECK(text && strncmp(text, "openwinusb-registry 1\n", 22) == 0);
    CHECK_CONTAINS(text, "\nkey \"USB\\VID_045E&PID_0040\\5&1ECE9816&0&9\"\n");
    CHECK_CONTAINS(text, "\"DeviceIdleEnabled\" dword 0x00000001\n");
    CHECK_CONTAINS(text, "\"Odd %22name%22 %2520\" sz \"quote%22 percent%25 nl%0A tab%09 bs\\ é\"\n");
    CHECK_CONTAINS(text, "\"Bytes\" sz \"x%FF%C3y\"\n");
    CHECK_CONTAINS(text, "\"DeviceInterfaceGUIDs\" multi_sz \"" GUID_A "\" \"second # string\"\n");
    CHECK_CONTAINS(text, "\"EmptyList\" multi_sz\n");
    CHECK_CONTAINS(text, "\"Bin\" binary 000102feff\n");
    CHECK_CONTAINS(text, "\"None\" none\n");
    CHECK_CONTAINS(text, "\"BE\" dword_be 00000001\n");
    CHECK_CONTAINS(text, "\"Custom\" type:2147483649 0102\n");
    CHECK_CONTAINS(text, "\"Q\" qword 0xffffffffffffffff\n");
    CHECK_CONTAINS(text, "\nend 15\n");
    free(text);
    free(p);
out:
    free(sub);
    remove_tree(dir);
    free(dir);
}

static void test_exact_file(void)
{
    struct owu_regdb db;
    owu_regdb_init(&db);
    struct owu_regkey *k;
    owu_err err = { 0 };
    CHECK_OK(owu_regdb_key(&db, "USB\\VID_1234&PID_5678\\SN1", true, &k, &err), &err);
    if (!k)
        return;
    CHECK_OK(owu_regkey_set_driver(k, "usbser.inf:UsbSer.NT"), (owu_err *)NULL);
    CHECK_OK(owu_regkey_set(k, "PortName", OWU_REG_SZ, (const uint8_t *)"COM3", 5, &err), &err);
    CHECK_OK(owu_regkey_set(k, "IdleUsbSelectiveSuspendPolicy", OWU_REG_DWORD, one_le, 4, &err), &err);
    char *text;
    size_t len;
    CHECK_OK(owu_regdb_format(&db, &text, &len, &err), &err);
    CHECK_STR(text,
              "openwinusb-registry 1\n"
              "# openwinusb Device Parameters, one record per line (docs/registry.md).\n"
              "# Rewritten as a whole by the stack: edit only while no openwinusb program runs.\n"
              "key \"USB\\VID_1234&PID_5678\\SN1\" driver \"usbser.inf:UsbSer.NT\"\n"
              "value \"USB\\VID_1234&PID_5678\\SN1\" \"PortName\" sz \"COM3\"\n"
              "value \"USB\\VID_1234&PID_5678\\SN1\" \"IdleUsbSelectiveSuspendPolicy\" dword 0x00000001\n"
              "end 3\n");
    /* Round trip without a single problem. */
    struct owu_regdb back;
    owu_regdb_init(&back);
    struct owu_regdb_report rep = { 0 };
    CHECK_OK(owu_regdb_parse(text, len, "x", &back, &rep, &err), &err);
    CHECK_INT(rep.problems, 0);
    CHECK_INT(back.n, 1);
    if (back.n == 1) {
        CHECK_STR(back.keys[0].driver, "usbser.inf:UsbSer.NT");
        CHECK(back.keys[0].msos == NULL);
        CHECK_INT(back.keys[0].n, 2);
    }
    owu_regdb_report_clear(&rep);
    owu_regdb_clear(&back);
    free(text);
    owu_regdb_clear(&db);
}

static void test_location(void)
{
    char *saved_reg = getenv(OWU_REGISTRY_ENV) ? strdup(getenv(OWU_REGISTRY_ENV)) : NULL;
    char *saved_xdg = getenv("XDG_STATE_HOME") ? strdup(getenv("XDG_STATE_HOME")) : NULL;
    char *saved_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    char *dir = NULL;
    owu_err err = { 0 };

    setenv(OWU_REGISTRY_ENV, "/srv/owu", 1);
    CHECK_OK(owu_registry_default_dir(&dir, &err), &err);
    CHECK_STR(dir, "/srv/owu");
    free(dir);
    setenv(OWU_REGISTRY_ENV, "none", 1);
    CHECK_OK(owu_registry_default_dir(&dir, &err), &err);
    CHECK(dir == NULL);
    setenv(OWU_REGISTRY_ENV, "MEMORY", 1);
    CHECK_OK(owu_registry_default_dir(&dir, &err), &err);
    CHECK(dir == NULL);
    struct owu_registry *reg = NULL;
    CHECK_OK(owu_registry_open_default(&reg, &err), &err);
    CHECK(reg && owu_registry_file(reg) == NULL);
    owu_registry_close(reg);

    setenv(OWU_REGISTRY_ENV, "", 1);
    setenv("XDG_STATE_HOME", "/x/state/", 1);
    CHECK_OK(owu_registry_default_dir(&dir, &err), &err);
    CHECK_STR(dir, "/x/state/openwinusb");
    free(dir);
    unsetenv(OWU_REGISTRY_ENV);
    setenv("XDG_STATE_HOME", "relative/ignored", 1);
    setenv("HOME", "/home/u", 1);
    CHECK_OK(owu_registry_default_dir(&dir, &err), &err);
    CHECK_STR(dir, "/home/u/.local/state/openwinusb");
    free(dir);
    unsetenv("XDG_STATE_HOME");
    CHECK_OK(owu_registry_default_dir(&dir, &err), &err);
    CHECK_STR(dir, "/home/u/.local/state/openwinusb");
    free(dir);

    /* An unusable directory: open_dir fails, open_default falls back to memory and says so. */
    char *tmp = make_tmpdir();
    char *file = path_in(tmp, "plainfile");
    write_file(file, "x", 1);
    char *under = path_in(file, "store");
    CHECK(owu_registry_open_dir(under, &reg, &err) < 0);
    CHECK(reg == NULL);
    CHECK_CONTAINS(err.msg, "plainfile");
    setenv(OWU_REGISTRY_ENV, under, 1);
    CHECK_OK(owu_registry_open_default(&reg, &err), &err);
    CHECK(reg && owu_registry_file(reg) == NULL);
    owu_strlist w = { 0 };
    CHECK_INT(owu_registry_take_warnings(reg, &w), 1);
    CHECK(w.n == 1 && strstr(w.v[0], "will not persist"));
    owu_strlist_clear(&w);
    owu_registry_close(reg);
    /* A good directory through the environment. */
    char *good = path_in(tmp, "good");
    setenv(OWU_REGISTRY_ENV, good, 1);
    CHECK_OK(owu_registry_open_default(&reg, &err), &err);
    CHECK(reg && owu_registry_file(reg) && strstr(owu_registry_file(reg), "/good/device-parameters.txt"));
    owu_registry_close(reg);
    free(good);
    free(under);
    free(file);
    remove_tree(tmp);
    free(tmp);

    if (saved_reg)
        setenv(OWU_REGISTRY_ENV, saved_reg, 1);
    else
        unsetenv(OWU_REGISTRY_ENV);
    if (saved_xdg)
        setenv("XDG_STATE_HOME", saved_xdg, 1);
    else
        unsetenv("XDG_STATE_HOME");
    if (saved_home)
        setenv("HOME", saved_home, 1);
    else
        unsetenv("HOME");
    free(saved_reg);
    free(saved_xdg);
    free(saved_home);
}

/* ---- damaged files ----------------------------------------------------------------- */

static const char valid_file[] =
    "openwinusb-registry 1\n"
    "key \"USB\\VID_1111&PID_0001\\A\"\n"
    "value \"USB\\VID_1111&PID_0001\\A\" \"One\" dword 0x00000001\n"
    "value \"USB\\VID_1111&PID_0001\\A\" \"Two\" sz \"two\"\n"
    "key \"USB\\VID_1111&PID_0002\\B\" driver \"x.inf:S\"\n"
    "value \"USB\\VID_1111&PID_0002\\B\" \"Three\" multi_sz \"a\" \"b\"\n"
    "value \"USB\\VID_1111&PID_0002\\B\" \"Four\" binary 0102\n"
    "end 6\n";

/* Writes `content` as the store file of a fresh directory and opens it. */
static struct owu_registry *open_with(const char *dir, const void *content, size_t len, owu_strlist *warnings,
                                      int *rc_out)
{
    char *p = path_in(dir, OWU_REGISTRY_FILE);
    write_file(p, content, len);
    free(p);
    struct owu_registry *reg = NULL;
    owu_err err = { 0 };
    int rc = owu_registry_open_dir(dir, &reg, &err);
    if (rc_out)
        *rc_out = rc;
    if (reg && warnings)
        owu_registry_take_warnings(reg, warnings);
    return reg;
}

static void test_damaged_files(void)
{
    char *dir = make_tmpdir();
    if (!dir)
        return;
    owu_strlist w = { 0 };
    int rc;

    /* A valid file: no warnings. */
    struct owu_registry *reg = open_with(dir, valid_file, strlen(valid_file), &w, &rc);
    CHECK_INT(rc, OWU_OK);
    CHECK_INT(w.n, 0);
    CHECK_INT(dword_of(reg, "USB\\VID_1111&PID_0001\\A", "One", 0), 1);
    owu_registry_close(reg);
    owu_strlist_clear(&w);

    /* Garbage: reported, store starts empty, file rewritten clean, original kept as .bad. */
    static const uint8_t garbage[] = { 0x00, 0xff, 0x13, 'k', 'e', 'y', '\n', 0x80, 0x81, '\n', 'z' };
    reg = open_with(dir, garbage, sizeof garbage, &w, &rc);
    CHECK_INT(rc, OWU_OK);
    CHECK(w.n >= 2);
    CHECK(strlist_has(&w, "damaged"));
    CHECK(strlist_has(&w, "device-parameters.txt:1: missing header"));
    owu_strlist keys = { 0 };
    owu_registry_list_keys(reg, &keys, NULL);
    CHECK_INT(keys.n, 0);
    owu_strlist_clear(&keys);
    owu_registry_close(reg);
    owu_strlist_clear(&w);
    CHECK(file_exists(dir, OWU_REGISTRY_BAD_FILE));
    CHECK(!file_exists(dir, OWU_REGISTRY_TEMP_FILE));
    char *bad = path_in(dir, OWU_REGISTRY_BAD_FILE);
    size_t blen = 0;
    char *saved = read_text(bad, &blen);
    CHECK(saved && blen == sizeof garbage && memcmp(saved, garbage, blen) == 0);
    free(saved);
    free(bad);
    /* The rewritten file opens without warnings. */
    struct owu_registry *again = NULL;
    owu_err err = { 0 };
    CHECK_OK(owu_registry_open_dir(dir, &again, &err), &err);
    CHECK_INT(owu_registry_take_warnings(again, &w), 0);
    owu_registry_close(again);
    owu_strlist_clear(&w);

    /* Truncated in the middle of a line: everything before it is kept. */
    size_t cut = (size_t)(strstr(valid_file, "\"Four\"") - valid_file) + 3;
    reg = open_with(dir, valid_file, cut, &w, &rc);
    CHECK_INT(rc, OWU_OK);
    CHECK(strlist_has(&w, "device-parameters.txt:7: last line has no newline (file truncated?)"));
    CHECK(strlist_has(&w, "no end record"));
    CHECK_INT(dword_of(reg, "USB\\VID_1111&PID_0001\\A", "One", 0), 1);
    CHECK(has_value(reg, "USB\\VID_1111&PID_0002\\B", "Three"));
    CHECK(!has_value(reg, "USB\\VID_1111&PID_0002\\B", "Four"));
    owu_registry_close(reg);
    owu_strlist_clear(&w);

    /* One damaged line: only its value is lost, the line is named. */
    char *one_bad = strdup(valid_file);
    char *two = strstr(one_bad, "sz \"two\"");
    two[4] = 0x01;   /* a control byte inside the string */
    reg = open_with(dir, one_bad, strlen(valid_file), &w, &rc);
    CHECK_INT(rc, OWU_OK);
    CHECK(strlist_has(&w, "device-parameters.txt:4: control byte 0x01 in a string at column"));
    CHECK(!has_value(reg, "USB\\VID_1111&PID_0001\\A", "Two"));
    CHECK_INT(dword_of(reg, "USB\\VID_1111&PID_0001\\A", "One", 0), 1);
    CHECK(has_value(reg, "USB\\VID_1111&PID_0002\\B", "Four"));
    owu_registry_close(reg);
    owu_strlist_clear(&w);
    free(one_bad);

    /* A value that fails validation (DWORD out of range, empty MULTI_SZ string, unknown
     * type, bad hex) is reported and dropped. */
    static const char invalid_values[] =
        "openwinusb-registry 1\n"
        "key \"USB\\X\\1\" colour \"red\" driver \"d.inf:S\"\n"
        "value \"USB\\X\\1\" \"Big\" dword 0x100000000\n"
        "value \"USB\\X\\1\" \"M\" multi_sz \"a\" \"\"\n"
        "value \"USB\\X\\1\" \"T\" dwrd 1\n"
        "value \"USB\\X\\1\" \"H\" binary 0g\n"
        "value \"USB\\X\\1\" \"S\" sz \"a%00b\"\n"
        "value \"BAD ID\" \"S\" sz \"a\"\n"
        "value \"USB\\X\\1\" \"Good\" dword 7\n"
        "end 8\n";
    reg = open_with(dir, invalid_values, strlen(invalid_values), &w, &rc);
    CHECK_INT(rc, OWU_OK);
    CHECK(strlist_has(&w, ":3: expected a 32-bit number"));
    CHECK(strlist_has(&w, ":4: REG_MULTI_SZ string is empty"));
    CHECK(strlist_has(&w, ":5: expected a value type"));
    CHECK(strlist_has(&w, ":6: invalid hex digit"));
    CHECK(strlist_has(&w, ":7: USB\\X\\1: \"S\": REG_SZ value: NUL inside the string"));
    CHECK(strlist_has(&w, ":8: device instance ID: byte 0x20"));
    CHECK_INT(dword_of(reg, "USB\\X\\1", "Good", 0), 7);
    /* An unknown attribute costs only itself: the key and its install record stay. */
    CHECK(strlist_has(&w, ":2: unknown attribute \"colour\" ignored"));
    unsigned applied = 99;
    CHECK_OK(owu_registry_install(reg, "USB\\X\\1", "D.INF:S", NULL, 0, NULL, 0, 0, &applied, NULL, &err), &err);
    CHECK_INT(applied, 0);
    struct owu_property *v;
    size_t n;
    CHECK_OK(owu_registry_enum_values(reg, "USB\\X\\1", &v, &n, NULL), (owu_err *)NULL);
    CHECK_INT(n, 1);
    owu_registry_properties_free(v, n);
    owu_registry_close(reg);
    owu_strlist_clear(&w);

    /* Empty file. */
    reg = open_with(dir, "", 0, &w, &rc);
    CHECK_INT(rc, OWU_OK);
    CHECK(strlist_has(&w, "file is empty"));
    owu_registry_close(reg);
    owu_strlist_clear(&w);

    /* Lost header but good records: the records load. */
    const char *nohdr = strchr(valid_file, '\n') + 1;
    reg = open_with(dir, nohdr, strlen(nohdr), &w, &rc);
    CHECK_INT(rc, OWU_OK);
    CHECK(strlist_has(&w, ":1: missing header"));
    CHECK_INT(dword_of(reg, "USB\\VID_1111&PID_0001\\A", "One", 0), 1);
    owu_registry_close(reg);
    owu_strlist_clear(&w);

    /* A newer format is refused and left alone. */
    static const char newer[] = "openwinusb-registry 2\nwhatever comes\n";
    reg = open_with(dir, newer, strlen(newer), &w, &rc);
    CHECK_INT(rc, OWU_E_NOTSUP);
    CHECK(reg == NULL);
    char *p = path_in(dir, OWU_REGISTRY_FILE);
    char *left = read_text(p, NULL);
    CHECK_STR(left, newer);
    free(left);
    /* ... and open_default falls back to memory with a warning. */
    char *saved_env = getenv(OWU_REGISTRY_ENV) ? strdup(getenv(OWU_REGISTRY_ENV)) : NULL;
    setenv(OWU_REGISTRY_ENV, dir, 1);
    CHECK_OK(owu_registry_open_default(&reg, &err), &err);
    CHECK(reg && owu_registry_file(reg) == NULL);
    owu_registry_take_warnings(reg, &w);
    CHECK(strlist_has(&w, "format version 2 is newer"));
    owu_strlist_clear(&w);
    owu_registry_close(reg);
    if (saved_env)
        setenv(OWU_REGISTRY_ENV, saved_env, 1);
    else
        unsetenv(OWU_REGISTRY_ENV);
    free(saved_env);

    /* Too many values for one key: the extra ones are reported, the first 1024 kept. */
    size_t cap = 64 + 1200 * 64, o = 0;
    char *many = malloc(cap);
    o += (size_t)snprintf(many + o, cap - o, "openwinusb-registry 1\nkey \"K\\1\"\n");
    for (int i = 0; i < 1200; i++)
        o += (size_t)snprintf(many + o, cap - o, "value \"K\\1\" \"v%d\" dword %d\n", i, i);
    o += (size_t)snprintf(many + o, cap - o, "end 1201\n");
    reg = open_with(dir, many, o, &w, &rc);
    CHECK_INT(rc, OWU_OK);
    CHECK(strlist_has(&w, "limit of 1024 values"));
    CHECK(strlist_has(&w, "damaged (176 problems)"));
    CHECK(strlist_has(&w, "not listed"));
    CHECK_OK(owu_registry_enum_values(reg, "K\\1", &v, &n, NULL), (owu_err *)NULL);
    CHECK_INT(n, 1024);
    owu_registry_properties_free(v, n);
    owu_registry_close(reg);
    owu_strlist_clear(&w);
    free(many);

    /* A file replaced by another process while a handle is open is re-read; damage found
     * then is repaired by that handle. */
    reg = open_with(dir, valid_file, strlen(valid_file), &w, &rc);
    owu_strlist_clear(&w);
    write_file(p, garbage, sizeof garbage);
    CHECK(!owu_registry_key_exists(reg, "USB\\VID_1111&PID_0001\\A"));
    owu_registry_take_warnings(reg, &w);
    CHECK(strlist_has(&w, "damaged"));
    owu_strlist_clear(&w);
    char *now = read_text(p, NULL);
    CHECK(now && strncmp(now, "openwinusb-registry 1\n", 22) == 0);
    free(now);
    owu_registry_close(reg);
    free(p);

    remove_tree(dir);
    free(dir);
}

/* Deterministic mutations of a valid file: every parse must finish, keep only valid values
 * and either load cleanly or report problems; a sample also goes through a real open. */
static void test_mutation_loop(void)
{
    char *dir = make_tmpdir();
    if (!dir)
        return;
    const size_t len = strlen(valid_file);
    char *buf = malloc(len + 16);
    uint32_t seed = 12345;
    size_t loaded_clean = 0, reported = 0, refused = 0, opened = 0;
    for (unsigned iter = 0; iter < 3000; iter++) {
        memcpy(buf, valid_file, len);
        size_t n = len;
        seed = seed * 1103515245u + 12345u;
        size_t pos = (seed >> 8) % len;
        switch (iter % 4) {
        case 0:   /* flip one bit */
            buf[pos] ^= (char)(1u << (seed >> 28 & 7));
            break;
        case 1:   /* truncate */
            n = pos;
            break;
        case 2:   /* overwrite a byte with something hostile */
            buf[pos] = "\0\n\"%\\ \x7f\xff"[(seed >> 24) & 7];
            break;
        default:  /* drop a byte */
            memmove(buf + pos, buf + pos + 1, len - pos - 1);
            n = len - 1;
            break;
        }
        struct owu_regdb db;
        owu_regdb_init(&db);
        struct owu_regdb_report rep = { 0 };
        owu_err err = { 0 };
        int rc = owu_regdb_parse(buf, n, "m", &db, &rep, &err);
        CHECK(rc == OWU_OK || rc == OWU_E_NOTSUP);
        if (rc == OWU_E_NOTSUP) {
            refused++;
            CHECK_CONTAINS(err.msg, "newer than this program reads");
        } else if (rep.problems) {
            reported++;
            CHECK(rep.warnings.n > 0);
        } else {
            loaded_clean++;
        }
        /* Whatever loaded is valid and survives a clean round trip. */
        for (size_t i = 0; i < db.n; i++) {
            CHECK(owu_registry_check_instance_id(db.keys[i].id, NULL) == OWU_OK);
            for (size_t j = 0; j < db.keys[i].n; j++)
                CHECK(owu_registry_check_value(db.keys[i].v[j].type, db.keys[i].v[j].data,
                                               db.keys[i].v[j].len, NULL) == OWU_OK);
        }
        char *text;
        size_t tlen;
        if (rc == OWU_OK && owu_regdb_format(&db, &text, &tlen, NULL) == OWU_OK) {
            struct owu_regdb db2;
            owu_regdb_init(&db2);
            struct owu_regdb_report rep2 = { 0 };
            CHECK_INT(owu_regdb_parse(text, tlen, "m2", &db2, &rep2, NULL), OWU_OK);
            CHECK_INT(rep2.problems, 0);
            CHECK_INT(db2.n, db.n);
            owu_regdb_report_clear(&rep2);
            owu_regdb_clear(&db2);
            free(text);
        }
        owu_regdb_report_clear(&rep);
        owu_regdb_clear(&db);

        if (iter % 25 == 0) {
            owu_strlist w = { 0 };
            int orc;
            struct owu_registry *reg = open_with(dir, buf, n, &w, &orc);
            CHECK(orc == OWU_OK || orc == OWU_E_NOTSUP);
            CHECK((orc == OWU_OK) == (reg != NULL));
            if (reg) {
                opened++;
                /* The store is usable after whatever happened. */
                CHECK_OK(owu_registry_set_dword(reg, DEV, "After", iter, NULL), (owu_err *)NULL);
                CHECK_INT(dword_of(reg, DEV, "After", 0), iter);
                owu_registry_close(reg);
            }
            owu_strlist_clear(&w);
        }
    }
    CHECK(loaded_clean > 0);
    CHECK(reported > 1000);
    CHECK(opened > 100);
    printf("     mutations: %zu clean, %zu reported, %zu refused (newer version), %zu opened\n", loaded_clean,
           reported, refused, opened);
    free(buf);
    remove_tree(dir);
    free(dir);
}

/* ---- concurrent writers ------------------------------------------------------------ */

static void test_two_handles(void)
{
    char *dir = make_tmpdir();
    if (!dir)
        return;
    owu_err err = { 0 };
    struct owu_registry *a = NULL, *b = NULL;
    CHECK_OK(owu_registry_open_dir(dir, &a, &err), &err);
    CHECK_OK(owu_registry_open_dir(dir, &b, &err), &err);
    if (a && b) {
        /* b loaded the (empty) store before a wrote: its write must not lose a's. */
        CHECK_OK(owu_registry_set_dword(a, DEV, "A", 1, &err), &err);
        CHECK_OK(owu_registry_set_dword(b, FN, "B", 2, &err), &err);
        CHECK_OK(owu_registry_set_dword(a, DEV, "A2", 3, &err), &err);
        CHECK_OK(owu_registry_set_dword(b, DEV, "B2", 4, &err), &err);
        /* Each sees the other's writes. */
        CHECK_INT(dword_of(b, DEV, "A2", 0), 3);
        CHECK_INT(dword_of(a, FN, "B", 0), 2);
    }
    owu_registry_close(a);
    owu_registry_close(b);
    struct owu_registry *c = NULL;
    CHECK_OK(owu_registry_open_dir(dir, &c, &err), &err);
    CHECK_INT(dword_of(c, DEV, "A", 0), 1);
    CHECK_INT(dword_of(c, FN, "B", 0), 2);
    CHECK_INT(dword_of(c, DEV, "A2", 0), 3);
    CHECK_INT(dword_of(c, DEV, "B2", 0), 4);
    owu_registry_close(c);
    remove_tree(dir);
    free(dir);
}

#define PROC_WRITES 25

static void test_two_processes(void)
{
    char *dir = make_tmpdir();
    if (!dir)
        return;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        struct owu_registry *reg = NULL;
        int bad = owu_registry_open_dir(dir, &reg, NULL) != OWU_OK;
        for (int i = 0; i < PROC_WRITES && !bad; i++) {
            char name[16];
            snprintf(name, sizeof name, "c%d", i);
            bad |= owu_registry_set_dword(reg, "USB\\VID_1111&PID_0001\\CHILD", name, (uint32_t)i, NULL) != OWU_OK;
        }
        owu_registry_close(reg);
        _exit(bad);
    }
    CHECK(pid > 0);
    struct owu_registry *reg = NULL;
    owu_err err = { 0 };
    CHECK_OK(owu_registry_open_dir(dir, &reg, &err), &err);
    for (int i = 0; i < PROC_WRITES && reg; i++) {
        char name[16];
        snprintf(name, sizeof name, "p%d", i);
        CHECK_OK(owu_registry_set_dword(reg, "USB\\VID_1111&PID_0001\\PARENT", name, (uint32_t)i, &err), &err);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    owu_registry_close(reg);

    CHECK_OK(owu_registry_open_dir(dir, &reg, &err), &err);
    struct owu_property *v;
    size_t n;
    CHECK_OK(owu_registry_enum_values(reg, "USB\\VID_1111&PID_0001\\CHILD", &v, &n, &err), &err);
    CHECK_INT(n, PROC_WRITES);
    owu_registry_properties_free(v, n);
    CHECK_OK(owu_registry_enum_values(reg, "USB\\VID_1111&PID_0001\\PARENT", &v, &n, &err), &err);
    CHECK_INT(n, PROC_WRITES);
    owu_registry_properties_free(v, n);
    owu_registry_close(reg);
    remove_tree(dir);
    free(dir);
}

struct thread_arg {
    const char *dir;
    struct owu_registry *shared;
    int index;
    int failures;
};

static void *writer_thread(void *p)
{
    struct thread_arg *a = p;
    struct owu_registry *own = NULL;
    if (!a->shared && owu_registry_open_dir(a->dir, &own, NULL) != OWU_OK) {
        a->failures++;
        return NULL;
    }
    struct owu_registry *reg = a->shared ? a->shared : own;
    for (int i = 0; i < 10; i++) {
        char name[32];
        snprintf(name, sizeof name, "t%d_%d%s", a->index, i, a->shared ? "s" : "");
        if (owu_registry_set_dword(reg, DEV, name, (uint32_t)i, NULL) != OWU_OK)
            a->failures++;
        if (dword_of(reg, DEV, name, 99) != (uint32_t)i)
            a->failures++;
    }
    owu_registry_close(own);
    return NULL;
}

static void test_threads(void)
{
    char *dir = make_tmpdir();
    if (!dir)
        return;
    owu_err err = { 0 };
    struct owu_registry *shared = NULL;
    CHECK_OK(owu_registry_open_dir(dir, &shared, &err), &err);
    pthread_t th[6];
    struct thread_arg args[6];
    for (int i = 0; i < 6; i++) {
        /* Half the threads share one handle, half open their own. */
        args[i] = (struct thread_arg){ .dir = dir, .shared = i % 2 ? shared : NULL, .index = i };
        pthread_create(&th[i], NULL, writer_thread, &args[i]);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(args[i].failures, 0);
    }
    owu_registry_close(shared);
    struct owu_registry *reg = NULL;
    CHECK_OK(owu_registry_open_dir(dir, &reg, &err), &err);
    struct owu_property *v;
    size_t n;
    CHECK_OK(owu_registry_enum_values(reg, DEV, &v, &n, &err), &err);
    CHECK_INT(n, 60);
    owu_registry_properties_free(v, n);
    owu_registry_close(reg);
    remove_tree(dir);
    free(dir);
}

/* ---- sources ----------------------------------------------------------------------- */

static void test_inf_addreg(void)
{
    struct owu_registry *reg = owu_registry_open_memory();
    owu_err err = { 0 };
    owu_strlist notes = { 0 };
    CHECK_OK(owu_registry_set_dword(reg, DEV, "Kept", 5, &err), &err);
    CHECK_OK(owu_registry_set_dword(reg, DEV, "Gone", 5, &err), &err);
    CHECK_OK(owu_registry_set_multi_sz(reg, DEV, "List", (const char *const[]){ "{A}", "{B}" }, 2, &err), &err);
    CHECK_OK(owu_registry_set_dword(reg, DEV, "Number", 1, &err), &err);

    static const char ab[] = "{b}\0{C}\0";   /* {b} is already there as {B} */
    struct owu_inf_reg lines[] = {
        addreg("HKR", "DeviceIdleEnabled", 0x00010001, OWU_REG_DWORD, one_le, 4, 10),
        addreg("HKR", "Kept", 0x00010001 | OWU_INF_FLG_NOCLOBBER, OWU_REG_DWORD, zero_le, 4, 11),
        addreg("HKR", "NewNoClobber", 0x00010001 | OWU_INF_FLG_NOCLOBBER, OWU_REG_DWORD, zero_le, 4, 12),
        addreg("HKR", "Gone", OWU_INF_FLG_DELVAL, OWU_REG_SZ, "", 1, 13),
        addreg("HKR", "List", 0x10000 | OWU_INF_FLG_APPEND, OWU_REG_MULTI_SZ, ab, sizeof ab, 14),
        addreg("HKR", "Fresh", 0x10000 | OWU_INF_FLG_APPEND, OWU_REG_MULTI_SZ, ab, sizeof ab, 15),
        addreg("HKR", "Number", 0x10000 | OWU_INF_FLG_APPEND, OWU_REG_MULTI_SZ, ab, sizeof ab, 16),
        addreg("HKR", "NotMulti", OWU_INF_FLG_APPEND, OWU_REG_SZ, "x", 2, 17),
        addreg("HKLM", "Elsewhere", 0, OWU_REG_SZ, "x", 2, 18),
        addreg("hkr", "OnlyIfThere", OWU_INF_FLG_OVERWRITEONLY, OWU_REG_SZ, "x", 2, 19),
        addreg("HKR", "Short", 0x00010001, OWU_REG_DWORD, one_le, 3, 20),
        addreg("HKR", "Name", 0, OWU_REG_SZ, "", 0, 21),
        addreg("HKR", "Ignored", OWU_INF_FLG_KEYONLY, OWU_REG_SZ, "x", 2, 22),
    };
    lines[11].has_value = false;
    struct owu_inf_reg sub = addreg("HKR", "InSub", 0, OWU_REG_SZ, "x", 2, 23);
    sub.subkey = "Sub";

    CHECK_OK(owu_registry_apply_inf(reg, DEV, lines, sizeof lines / sizeof lines[0], &notes, &err), &err);
    CHECK_OK(owu_registry_apply_inf(reg, DEV, &sub, 1, &notes, &err), &err);
    CHECK_INT(dword_of(reg, DEV, "DeviceIdleEnabled", 0), 1);
    CHECK_INT(dword_of(reg, DEV, "Kept", 0), 5);
    CHECK(has_value(reg, DEV, "NewNoClobber"));
    CHECK_INT(dword_of(reg, DEV, "NewNoClobber", 9), 0);
    CHECK(!has_value(reg, DEV, "Gone"));
    owu_strlist l = { 0 };
    CHECK_OK(owu_registry_get_multi_sz(reg, DEV, "List", &l, &err), &err);
    CHECK_INT(l.n, 3);
    if (l.n == 3) {
        CHECK_STR(l.v[0], "{A}");
        CHECK_STR(l.v[1], "{B}");
        CHECK_STR(l.v[2], "{C}");
    }
    owu_strlist_clear(&l);
    CHECK_OK(owu_registry_get_multi_sz(reg, DEV, "Fresh", &l, &err), &err);
    CHECK_INT(l.n, 2);
    owu_strlist_clear(&l);
    CHECK_INT(dword_of(reg, DEV, "Number", 0), 1);   /* APPEND to a DWORD: refused */
    CHECK(!has_value(reg, DEV, "NotMulti"));
    CHECK(!has_value(reg, DEV, "Elsewhere"));
    CHECK(!has_value(reg, DEV, "OnlyIfThere"));
    CHECK(!has_value(reg, DEV, "Short"));
    CHECK(!has_value(reg, DEV, "Ignored"));
    CHECK(!has_value(reg, DEV, "InSub"));
    char *s = NULL;
    CHECK_OK(owu_registry_get_string(reg, DEV, "Name", &s, &err), &err);
    CHECK_STR(s, "");
    free(s);

    CHECK(strlist_has(&notes, "test.inf:16: APPEND to \"Number\", which is REG_DWORD"));
    CHECK(strlist_has(&notes, "test.inf:17: APPEND (0x8) applies only to REG_MULTI_SZ"));
    CHECK(strlist_has(&notes, "test.inf:18: AddReg root \"HKLM\" is not the device's hardware key"));
    CHECK(strlist_has(&notes, "test.inf:20:"));
    CHECK(strlist_has(&notes, "3 bytes, expected 4"));
    CHECK(strlist_has(&notes, "test.inf:23: subkey \"Sub\""));
    CHECK_INT(notes.n, 5);
    owu_strlist_clear(&notes);

    /* KEYONLY alone creates the key of a new instance. */
    struct owu_inf_reg keyonly = addreg("HKR", "", OWU_INF_FLG_KEYONLY, OWU_REG_SZ, "", 1, 30);
    CHECK_OK(owu_registry_apply_inf(reg, FN, &keyonly, 1, &notes, &err), &err);
    CHECK(owu_registry_key_exists(reg, FN));
    struct owu_property *v;
    size_t n;
    CHECK_OK(owu_registry_enum_values(reg, FN, &v, &n, &err), &err);
    CHECK_INT(n, 0);
    CHECK_INT(notes.n, 0);
    owu_registry_close(reg);
}

static void test_properties(void)
{
    struct owu_registry *reg = owu_registry_open_memory();
    owu_err err = { 0 };
    owu_strlist notes = { 0 };
    struct owu_property props[] = {
        { .name = "DeviceInterfaceGUID", .type = OWU_REG_SZ, .data = (uint8_t *)GUID_A, .len = sizeof GUID_A },
        { .name = "IdleUsbSelectiveSuspendPolicy", .type = OWU_REG_DWORD, .data = (uint8_t *)one_le, .len = 4 },
        { .name = "Broken", .type = OWU_REG_DWORD, .data = (uint8_t *)one_le, .len = 2 },
        { .name = NULL, .type = OWU_REG_DWORD, .data = (uint8_t *)one_le, .len = 4 },
    };
    CHECK_OK(owu_registry_set_dword(reg, DEV, "IdleUsbSelectiveSuspendPolicy", 0, &err), &err);
    CHECK_OK(owu_registry_apply_properties(reg, DEV, props, 4, &notes, &err), &err);
    CHECK_INT(dword_of(reg, DEV, "IdleUsbSelectiveSuspendPolicy", 9), 1);   /* replaced */
    char *s = NULL;
    CHECK_OK(owu_registry_get_string(reg, DEV, "DeviceInterfaceGUID", &s, &err), &err);
    CHECK_STR(s, GUID_A);
    free(s);
    CHECK(!has_value(reg, DEV, "Broken"));
    CHECK_INT(notes.n, 2);
    CHECK(strlist_has(&notes, "MS OS property \"Broken\""));
    CHECK(strlist_has(&notes, "has no name"));
    owu_strlist_clear(&notes);
    owu_registry_close(reg);
}

/* Windows order: MS OS properties at first enumeration, INF .HW AddReg at install, so the
 * INF wins unless it says NOCLOBBER. */
static void test_install_precedence(void)
{
    struct owu_registry *reg = owu_registry_open_memory();
    owu_err err = { 0 };
    owu_strlist notes = { 0 };
    static const char msos_guids[] = GUID_A "\0";
    static const char inf_guids[] = GUID_B "\0";
    struct owu_property props[] = {
        { .name = "DeviceInterfaceGUIDs", .type = OWU_REG_MULTI_SZ, .data = (uint8_t *)msos_guids,
          .len = sizeof msos_guids },
        { .name = "DeviceIdleEnabled", .type = OWU_REG_DWORD, .data = (uint8_t *)one_le, .len = 4 },
        { .name = "FromDevice", .type = OWU_REG_DWORD, .data = (uint8_t *)one_le, .len = 4 },
    };
    struct owu_inf_reg lines[] = {
        addreg("HKR", "DeviceInterfaceGUIDs", 0x10000, OWU_REG_MULTI_SZ, inf_guids, sizeof inf_guids, 40),
        addreg("HKR", "DeviceIdleEnabled", 0x10001 | OWU_INF_FLG_NOCLOBBER, OWU_REG_DWORD, zero_le, 4, 41),
        addreg("HKR", "FromInf", 0x10001, OWU_REG_DWORD, one_le, 4, 42),
    };
    unsigned applied = 99;
    CHECK_OK(owu_registry_install(reg, DEV, "winusb.inf:WINUSB.NT", props, 3, lines, 3, 0, &applied, &notes, &err),
             &err);
    CHECK_INT(applied, OWU_REG_APPLIED_PROPERTIES | OWU_REG_APPLIED_INF);
    owu_strlist l = { 0 };
    CHECK_OK(owu_registry_get_multi_sz(reg, DEV, "DeviceInterfaceGUIDs", &l, &err), &err);
    CHECK(l.n == 1 && strcmp(l.v[0], GUID_B) == 0);   /* the INF's value */
    owu_strlist_clear(&l);
    CHECK_INT(dword_of(reg, DEV, "DeviceIdleEnabled", 9), 1);   /* NOCLOBBER kept the device's */
    CHECK_INT(dword_of(reg, DEV, "FromDevice", 0), 1);
    CHECK_INT(dword_of(reg, DEV, "FromInf", 0), 1);
    CHECK_INT(notes.n, 0);

    /* The device reports new properties (new firmware): both sources run again. */
    uint8_t two_le[4] = { 2, 0, 0, 0 };
    props[2].data = two_le;
    CHECK_OK(owu_registry_install(reg, DEV, "winusb.inf:WINUSB.NT", props, 3, lines, 3, 0, &applied, &notes, &err),
             &err);
    CHECK_INT(applied, OWU_REG_APPLIED_PROPERTIES | OWU_REG_APPLIED_INF);
    CHECK_INT(dword_of(reg, DEV, "FromDevice", 0), 2);
    CHECK_OK(owu_registry_get_multi_sz(reg, DEV, "DeviceInterfaceGUIDs", &l, &err), &err);
    CHECK(l.n == 1 && strcmp(l.v[0], GUID_B) == 0);
    owu_strlist_clear(&l);

    /* A node without driver and without INF still gets its device's properties. */
    CHECK_OK(owu_registry_install(reg, FN, NULL, props, 1, NULL, 0, 0, &applied, &notes, &err), &err);
    CHECK_INT(applied, OWU_REG_APPLIED_PROPERTIES);
    CHECK(has_value(reg, FN, "DeviceInterfaceGUIDs"));
    owu_registry_close(reg);
}

/* Values set by users and drivers survive re-enumeration, re-application and restarts. */
static void test_portname_survives(void)
{
    char *dir = make_tmpdir();
    if (!dir)
        return;
    owu_err err = { 0 };
    owu_strlist notes = { 0 };
    struct owu_registry *reg = NULL;
    CHECK_OK(owu_registry_open_dir(dir, &reg, &err), &err);
    if (!reg)
        return;
    struct owu_property props[] = {
        { .name = "IdleUsbSelectiveSuspendPolicy", .type = OWU_REG_DWORD, .data = (uint8_t *)one_le, .len = 4 },
    };
    uint8_t timeout_le[4] = { 0x88, 0x13, 0, 0 };   /* 5000 */
    struct owu_inf_reg lines[] = {
        addreg("HKR", "DefaultIdleTimeout", 0x10001, OWU_REG_DWORD, timeout_le, 4, 50),
    };
    unsigned applied;
    CHECK_OK(owu_registry_install(reg, FN, "usbser.inf:UsbSer.NT", props, 1, lines, 1, 0, &applied, &notes, &err),
             &err);
    CHECK_INT(applied, 3);
    /* usbser assigns the port once; the user edits a setting the INF wrote. */
    CHECK_OK(owu_registry_set_string(reg, FN, "PortName", "COM5", &err), &err);
    CHECK_OK(owu_registry_set_dword(reg, FN, "DefaultIdleTimeout", 100, &err), &err);
    CHECK_OK(owu_registry_set_dword(reg, FN, "IdleUsbSelectiveSuspendPolicy", 0, &err), &err);

    /* Next enumeration, same driver, same device: nothing changes. */
    CHECK_OK(owu_registry_install(reg, FN, "usbser.inf:UsbSer.NT", props, 1, lines, 1, 0, &applied, &notes, &err),
             &err);
    CHECK_INT(applied, 0);
    CHECK_INT(dword_of(reg, FN, "DefaultIdleTimeout", 0), 100);
    CHECK_INT(dword_of(reg, FN, "IdleUsbSelectiveSuspendPolicy", 9), 0);
    owu_registry_close(reg);

    /* After a restart the install record is still there. */
    CHECK_OK(owu_registry_open_dir(dir, &reg, &err), &err);
    CHECK_OK(owu_registry_install(reg, FN, "USBSER.INF:USBSER.NT", props, 1, lines, 1, 0, &applied, &notes, &err),
             &err);
    CHECK_INT(applied, 0);
    char *s = NULL;
    CHECK_OK(owu_registry_get_string(reg, FN, "PortName", &s, &err), &err);
    CHECK_STR(s, "COM5");
    free(s);

    /* Re-applying either source directly does not touch PortName. */
    CHECK_OK(owu_registry_apply_properties(reg, FN, props, 1, &notes, &err), &err);
    CHECK_OK(owu_registry_apply_inf(reg, FN, lines, 1, &notes, &err), &err);
    CHECK_INT(dword_of(reg, FN, "DefaultIdleTimeout", 0), 5000);
    /* A driver update re-runs the sources; PortName stays. */
    CHECK_OK(owu_registry_set_dword(reg, FN, "DefaultIdleTimeout", 100, &err), &err);
    CHECK_OK(owu_registry_install(reg, FN, "usbser.inf:UsbSer.NTamd64", props, 1, lines, 1, 0, &applied, &notes,
                                  &err), &err);
    CHECK_INT(applied, 3);
    CHECK_INT(dword_of(reg, FN, "DefaultIdleTimeout", 0), 5000);
    CHECK_OK(owu_registry_install(reg, FN, "usbser.inf:UsbSer.NTamd64", props, 1, lines, 1, OWU_REG_INSTALL_FORCE,
                                  &applied, &notes, &err), &err);
    CHECK_INT(applied, 3);
    CHECK_OK(owu_registry_get_string(reg, FN, "PortName", &s, &err), &err);
    CHECK_STR(s, "COM5");
    free(s);
    CHECK_INT(notes.n, 0);
    owu_registry_close(reg);
    remove_tree(dir);
    free(dir);
}

static void test_null_args(void)
{
    owu_err err = { 0 };
    uint32_t d;
    CHECK_INT(owu_registry_get_dword(NULL, DEV, "X", 3, &d, &err), OWU_E_INVAL);
    CHECK_INT(d, 3);
    CHECK_INT(owu_registry_set_dword(NULL, DEV, "X", 3, &err), OWU_E_INVAL);
    CHECK_INT(owu_registry_open_dir(NULL, NULL, &err), OWU_E_INVAL);
    struct owu_registry *reg = NULL;
    CHECK_INT(owu_registry_open_dir("", &reg, &err), OWU_E_INVAL);
    CHECK(!owu_registry_key_exists(NULL, DEV));
    owu_registry_close(NULL);
    CHECK_INT(owu_registry_take_warnings(NULL, NULL), 0);
}

int main(void)
{
    RUN(test_memory_values);
    RUN(test_validation);
    RUN(test_typed);
    RUN(test_persistence);
    RUN(test_exact_file);
    RUN(test_location);
    RUN(test_damaged_files);
    RUN(test_mutation_loop);
    RUN(test_two_handles);
    RUN(test_two_processes);
    RUN(test_threads);
    RUN(test_inf_addreg);
    RUN(test_properties);
    RUN(test_install_precedence);
    RUN(test_portname_survives);
    RUN(test_null_args);
    return check_report();
}
