/* owu_sysfs_read_devinfo against fake sysfs device directories (and, when this machine has
 * any, a smoke test over the real /sys/bus/usb/devices). */
#include <openwinusb/profile.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

static char tmp_root[64];

/* device: high-speed, vendor class, iManufacturer 1, iProduct 2, iSerialNumber 3, two configs */
static const uint8_t DEV_DESC[18] = { 0x12, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x40, 0x09, 0x12,
                                      0x06, 0x00, 0x00, 0x01, 0x01, 0x02, 0x03, 0x02 };
static const uint8_t CFG1[25] = { 0x09, 0x02, 0x19, 0x00, 0x01, 0x01, 0x00, 0x80, 0x32,
                                  0x09, 0x04, 0x00, 0x00, 0x01, 0xFF, 0x00, 0x00, 0x00,
                                  0x07, 0x05, 0x81, 0x02, 0x00, 0x02, 0x00 };
static const uint8_t CFG2[18] = { 0x09, 0x02, 0x12, 0x00, 0x01, 0x02, 0x00, 0xC0, 0x00,
                                  0x09, 0x04, 0x00, 0x00, 0x00, 0xFF, 0x00, 0x00, 0x00 };

static void put(const char *dir, const char *name, const void *data, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    if (len)
        CHECK(fwrite(data, 1, len, f) == len);
    fclose(f);
}

static void put_text(const char *dir, const char *name, const char *text)
{
    put(dir, name, text, strlen(text));
}

static void drop(const char *dir, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
}

/* descriptors = device descriptor + the given configurations. */
static void put_descriptors(const char *dir, const uint8_t *dev, const uint8_t *extra, size_t extra_len)
{
    uint8_t buf[512];
    memcpy(buf, dev, 18);
    if (extra_len)
        memcpy(buf + 18, extra, extra_len);
    put(dir, "descriptors", buf, 18 + extra_len);
}

/* A complete fake device directory named `name` under the temp root. */
static const char *make_device(const char *name)
{
    static char dir[128];
    snprintf(dir, sizeof dir, "%s/%s", tmp_root, name);
    mkdir(dir, 0755);
    uint8_t configs[sizeof CFG1 + sizeof CFG2];
    memcpy(configs, CFG1, sizeof CFG1);
    memcpy(configs + sizeof CFG1, CFG2, sizeof CFG2);
    put_descriptors(dir, DEV_DESC, configs, sizeof configs);
    put_text(dir, "speed", "480\n");
    put_text(dir, "busnum", "3\n");
    put_text(dir, "devpath", "1.4\n");
    put_text(dir, "devnum", "7\n");
    put_text(dir, "manufacturer", "ACME Corp.\n");
    put_text(dir, "product", "Widget \xC3\xA9 \n");
    put_text(dir, "serial", "SN-0042\n");
    put_text(dir, "removable", "fixed\n");
    put_text(dir, "idVendor", "1209\n");   /* unread attributes are harmless */
    return dir;
}

static struct owu_devinfo *read_ok(const char *dir)
{
    owu_err errbuf = {0}, *err = &errbuf;
    struct owu_devinfo *info = NULL;
    CHECK_OK(owu_sysfs_read_devinfo(dir, &info, err), err);
    return info;
}

/* Reads a directory that must fail with `code`; returns the message. */
static const char *read_fail(const char *dir, int code)
{
    static owu_err err;
    memset(&err, 0, sizeof err);
    struct owu_devinfo *info = (struct owu_devinfo *)1;
    int rc = owu_sysfs_read_devinfo(dir, &info, &err);
    CHECK_INT(rc, code);
    CHECK(info == NULL);
    if (rc == 0)
        owu_devinfo_free(info);
    return err.msg;
}

static void test_full_device(void)
{
    const char *dir = make_device("3-1.4");
    struct owu_devinfo *info = read_ok(dir);
    if (!info)
        return;
    CHECK_INT(info->speed, OWU_SPEED_HIGH);
    CHECK_STR(info->location, "usbfs:3-1.4");
    CHECK_INT(info->port, 4);
    CHECK(!info->removable);
    CHECK_INT(info->failure, OWU_FAIL_NONE);
    CHECK_INT(info->device_len, 18);
    CHECK(memcmp(info->device, DEV_DESC, 18) == 0);
    CHECK_INT(info->num_configs, 2);
    if (info->num_configs == 2) {
        CHECK(info->configs[0].len == sizeof CFG1 && memcmp(info->configs[0].data, CFG1, sizeof CFG1) == 0);
        CHECK(info->configs[1].len == sizeof CFG2 && memcmp(info->configs[1].data, CFG2, sizeof CFG2) == 0);
    }
    /* No BOS, no MS OS data: sysfs does not have them. */
    CHECK(info->bos == NULL && info->msos20 == NULL && !info->msos1.present);
    /* String 0 lists only 0x0409; the attributes sit at the descriptor's indexes. */
    CHECK_INT(info->num_strings, 4);
    const struct owu_string_entry *s0 = owu_devinfo_find_string(info, 0, 0);
    static const uint8_t lang0[4] = { 4, 3, 0x09, 0x04 };
    CHECK(s0 && s0->len == 4 && memcmp(s0->desc, lang0, 4) == 0);
    CHECK(owu_devinfo_find_string(info, 1, 0x0409) != NULL);
    char text[64];
    CHECK(owu_devinfo_string(info, 1, text, sizeof text));
    CHECK_STR(text, "ACME Corp.");
    CHECK(owu_devinfo_string(info, 2, text, sizeof text));
    CHECK_STR(text, "Widget \xC3\xA9 ");   /* the device's own trailing space is kept */
    CHECK(owu_devinfo_string(info, 3, text, sizeof text));
    CHECK_STR(text, "SN-0042");
    static const uint8_t acme[] = { 22, 3, 'A', 0, 'C', 0, 'M', 0, 'E', 0, ' ', 0, 'C', 0,
                                    'o', 0, 'r', 0, 'p', 0, '.', 0 };
    const struct owu_string_entry *s1 = owu_devinfo_find_string(info, 1, 0x0409);
    CHECK(s1 && s1->len == sizeof acme && memcmp(s1->desc, acme, sizeof acme) == 0);

    /* What sysfs gives, a profile keeps. */
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    owu_err errbuf = {0}, *err = &errbuf;
    CHECK_OK(owu_profile_write(info, f, err), err);
    fclose(f);
    struct owu_devinfo *back = NULL;
    CHECK_OK(owu_profile_parse(buf, size, &back, err), err);
    CHECK(owu_profile_equal(info, back));
    owu_devinfo_free(back);
    free(buf);
    owu_devinfo_free(info);
}

static void test_speeds(void)
{
    static const struct { const char *text; enum owu_speed speed; } cases[] = {
        { "1.5\n", OWU_SPEED_LOW }, { "12\n", OWU_SPEED_FULL }, { "480", OWU_SPEED_HIGH },
        { " 480 \n", OWU_SPEED_HIGH }, { "10000\n", OWU_SPEED_SUPER_PLUS },
        { "20000\n", OWU_SPEED_SUPER_PLUS },
    };
    const char *dir = make_device("speeds");
    /* Low speed needs bMaxPacketSize0 8. */
    uint8_t dev8[18];
    memcpy(dev8, DEV_DESC, 18);
    dev8[7] = 8;
    dev8[17] = 1;
    put_descriptors(dir, dev8, CFG1, sizeof CFG1);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        put_text(dir, "speed", cases[i].text);
        if (cases[i].speed >= OWU_SPEED_SUPER) {
            uint8_t dev9[18];
            memcpy(dev9, dev8, 18);
            dev9[2] = 0x20;   /* bcdUSB 3.20 */
            dev9[3] = 0x03;
            dev9[7] = 9;
            put_descriptors(dir, dev9, CFG1, sizeof CFG1);
        }
        struct owu_devinfo *info = read_ok(dir);
        CHECK(info && info->speed == cases[i].speed);
        owu_devinfo_free(info);
    }
    /* SuperSpeed with a USB 2 ep0 size fails the device descriptor check. */
    put_text(dir, "speed", "5000\n");
    put_descriptors(dir, dev8, CFG1, sizeof CFG1);
    CHECK_CONTAINS(read_fail(dir, OWU_E_BADDESC), "descriptors: device descriptor: bMaxPacketSize0 8");
    put_text(dir, "speed", "999\n");
    CHECK_CONTAINS(read_fail(dir, OWU_E_PARSE), "/speeds/speed: \"999\" is not one of 1.5, 12, 480");
    put_text(dir, "speed", "");
    CHECK_CONTAINS(read_fail(dir, OWU_E_PARSE), "speed: \"\" is not one of");
    put(dir, "speed", "480\0", 4);
    CHECK_CONTAINS(read_fail(dir, OWU_E_PARSE), "speed: contains a NUL byte");
    drop(dir, "speed");
    CHECK_CONTAINS(read_fail(dir, OWU_E_NOTFOUND), "/speeds/speed: No such file");
}

static void test_removable(void)
{
    const char *dir = make_device("removable");
    static const struct { const char *text; bool removable; } cases[] = {
        { "removable\n", true }, { "unknown\n", true }, { "fixed\n", false }, { "fixed", false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        put_text(dir, "removable", cases[i].text);
        struct owu_devinfo *info = read_ok(dir);
        CHECK(info && info->removable == cases[i].removable);
        owu_devinfo_free(info);
    }
    drop(dir, "removable");   /* older kernels: no attribute -> removable */
    struct owu_devinfo *info = read_ok(dir);
    CHECK(info && info->removable);
    owu_devinfo_free(info);
    put_text(dir, "removable", "maybe\n");
    CHECK_CONTAINS(read_fail(dir, OWU_E_PARSE), "removable: \"maybe\" is not removable, fixed or unknown");
}

static void test_location(void)
{
    const char *dir = make_device("location");
    put_text(dir, "busnum", "12\n");
    put_text(dir, "devpath", "2.1.3\n");
    struct owu_devinfo *info = read_ok(dir);
    CHECK(info && strcmp(info->location, "usbfs:12-2.1.3") == 0 && info->port == 3);
    owu_devinfo_free(info);
    put_text(dir, "devpath", "0\n");   /* a root hub */
    info = read_ok(dir);
    CHECK(info && strcmp(info->location, "usbfs:12-0") == 0 && info->port == 0);
    owu_devinfo_free(info);
    put_text(dir, "devpath", "1.255\n");
    info = read_ok(dir);
    CHECK(info && info->port == 255);
    owu_devinfo_free(info);
    put_text(dir, "devpath", "1.2.3.4.5.6.7\n");   /* the longest port chain */
    info = read_ok(dir);
    CHECK(info && strcmp(info->location, "usbfs:12-1.2.3.4.5.6.7") == 0 && info->port == 7);
    owu_devinfo_free(info);

    static const char *bad_paths[] = { "1..2\n", ".1\n", "1.\n", "1.256\n", "1.0004\n", "1-2\n", "\n",
                                       "1.2.3.4.5.6.7.8\n",
                                       "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21.22.23\n" };
    for (size_t i = 0; i < sizeof bad_paths / sizeof bad_paths[0]; i++) {
        put_text(dir, "devpath", bad_paths[i]);
        CHECK_CONTAINS(read_fail(dir, OWU_E_PARSE), "devpath: \"");
    }
    put_text(dir, "devpath", "1\n");
    static const char *bad_bus[] = { "abc\n", "0\n", "-1\n", "\n", "1234567\n", "1 2\n" };
    for (size_t i = 0; i < sizeof bad_bus / sizeof bad_bus[0]; i++) {
        put_text(dir, "busnum", bad_bus[i]);
        CHECK_CONTAINS(read_fail(dir, OWU_E_PARSE), "busnum: \"");
    }
    drop(dir, "busnum");
    CHECK_CONTAINS(read_fail(dir, OWU_E_NOTFOUND), "busnum");
    put_text(dir, "busnum", "1\n");
    drop(dir, "devpath");
    CHECK_CONTAINS(read_fail(dir, OWU_E_NOTFOUND), "devpath");
}

static void test_descriptors_errors(void)
{
    const char *dir = make_device("descs");
    uint8_t buf[128];

    drop(dir, "descriptors");
    CHECK_CONTAINS(read_fail(dir, OWU_E_NOTFOUND), "/descs/descriptors: No such file");

    put(dir, "descriptors", DEV_DESC, 10);
    CHECK_CONTAINS(read_fail(dir, OWU_E_BADDESC), "descriptors: 10 bytes; the device descriptor alone needs 18");
    put(dir, "descriptors", DEV_DESC, 0);
    CHECK_CONTAINS(read_fail(dir, OWU_E_BADDESC), "descriptors: 0 bytes");

    /* Device descriptor only: no configuration. */
    put(dir, "descriptors", DEV_DESC, 18);
    CHECK_CONTAINS(read_fail(dir, OWU_E_BADDESC), "descriptors: no configuration descriptor");

    /* Invalid device descriptor. */
    memcpy(buf, DEV_DESC, 18);
    buf[0] = 0x11;
    put_descriptors(dir, buf, CFG1, sizeof CFG1);
    CHECK_CONTAINS(read_fail(dir, OWU_E_BADDESC), "descriptors: device descriptor: bLength 17");

    /* Second configuration truncated: wTotalLength runs past the end. */
    memcpy(buf, CFG1, sizeof CFG1);
    memcpy(buf + sizeof CFG1, CFG2, 12);
    put_descriptors(dir, DEV_DESC, buf, sizeof CFG1 + 12);
    CHECK_CONTAINS(read_fail(dir, OWU_E_BADDESC),
                   "descriptors: configuration 1 at offset 43: wTotalLength 18 runs past the end "
                   "of the file (12 bytes left)");

    /* Stray bytes after the last configuration. */
    memcpy(buf + sizeof CFG1, CFG2, sizeof CFG2);
    buf[sizeof CFG1 + sizeof CFG2] = 0;
    put_descriptors(dir, DEV_DESC, buf, sizeof CFG1 + sizeof CFG2 + 3);
    CHECK_CONTAINS(read_fail(dir, OWU_E_BADDESC), "configuration 2 at offset 61: only 3 bytes");

    /* Wrong descriptor type where a configuration should start. */
    memcpy(buf, CFG1, sizeof CFG1);
    buf[1] = 0x04;
    put_descriptors(dir, DEV_DESC, buf, sizeof CFG1);
    CHECK_CONTAINS(read_fail(dir, OWU_E_BADDESC), "configuration 0 at offset 18: bDescriptorType 0x04");

    /* wTotalLength 0 must not loop forever. */
    memcpy(buf, CFG1, sizeof CFG1);
    buf[2] = 0;
    buf[3] = 0;
    put_descriptors(dir, DEV_DESC, buf, sizeof CFG1);
    CHECK_CONTAINS(read_fail(dir, OWU_E_BADDESC), "wTotalLength 0 is below 9");

    /* More configurations than bNumConfigurations. */
    uint8_t one[18];
    memcpy(one, DEV_DESC, 18);
    one[17] = 1;
    memcpy(buf, CFG1, sizeof CFG1);
    memcpy(buf + sizeof CFG1, CFG2, sizeof CFG2);
    put_descriptors(dir, one, buf, sizeof CFG1 + sizeof CFG2);
    CHECK_CONTAINS(read_fail(dir, OWU_E_BADDESC), "more configurations than bNumConfigurations (1)");

    /* Fewer is fine (the kernel keeps at most 8). */
    put_descriptors(dir, DEV_DESC, CFG1, sizeof CFG1);
    struct owu_devinfo *info = read_ok(dir);
    CHECK(info && info->num_configs == 1);
    owu_devinfo_free(info);

    /* A directory where the file should be. */
    drop(dir, "descriptors");
    char sub[160];
    snprintf(sub, sizeof sub, "%s/descriptors", dir);
    mkdir(sub, 0755);
    CHECK(read_fail(dir, OWU_E_IO)[0] != '\0');
    rmdir(sub);
}

static void test_strings(void)
{
    const char *dir = make_device("strings");
    /* iSerialNumber 0 but a serial attribute anyway: ignored. iProduct 1 == iManufacturer. */
    uint8_t dev[18];
    memcpy(dev, DEV_DESC, 18);
    dev[15] = 1;
    dev[16] = 0;
    dev[17] = 1;
    put_descriptors(dir, dev, CFG1, sizeof CFG1);
    struct owu_devinfo *info = read_ok(dir);
    CHECK(info && info->num_strings == 2);
    char text[64];
    CHECK(info && owu_devinfo_string(info, 1, text, sizeof text) && strcmp(text, "ACME Corp.") == 0);
    owu_devinfo_free(info);

    /* Attributes missing: no strings at all, not even the LANGID list. */
    drop(dir, "manufacturer");
    drop(dir, "product");
    drop(dir, "serial");
    info = read_ok(dir);
    CHECK(info && info->num_strings == 0);
    owu_devinfo_free(info);

    /* Only the serial number. */
    put_descriptors(dir, DEV_DESC, CFG1, sizeof CFG1);
    put_text(dir, "serial", "\n");   /* an empty string is still a string */
    info = read_ok(dir);
    CHECK(info && info->num_strings == 2);
    const struct owu_string_entry *s3 = info ? owu_devinfo_find_string(info, 3, 0x0409) : NULL;
    CHECK(s3 && s3->len == 2 && s3->desc[0] == 2 && s3->desc[1] == 3);
    owu_devinfo_free(info);

    /* Bad text. */
    put_text(dir, "serial", "\xFF\xFE\n");
    CHECK_CONTAINS(read_fail(dir, OWU_E_PARSE), "serial: not UTF-8 or too long");
    char longtext[300];
    memset(longtext, 'x', 200);
    longtext[200] = '\n';
    longtext[201] = '\0';
    put_text(dir, "serial", longtext);
    CHECK_CONTAINS(read_fail(dir, OWU_E_PARSE), "serial: not UTF-8 or too long");
    put(dir, "serial", "a\0b\n", 4);
    CHECK_CONTAINS(read_fail(dir, OWU_E_PARSE), "serial: contains a NUL byte");
    /* An attribute larger than a sysfs page. */
    char *page = malloc(5000);
    memset(page, 'y', 5000);
    put(dir, "serial", page, 5000);
    free(page);
    CHECK_CONTAINS(read_fail(dir, OWU_E_INVAL), "serial: larger than 4096 bytes");
}

static void test_bad_directory(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/does-not-exist", tmp_root);
    const char *msg = read_fail(path, OWU_E_NOTFOUND);
    CHECK_CONTAINS(msg, "does-not-exist");
    CHECK_CONTAINS(msg, "No such file or directory");
    snprintf(path, sizeof path, "%s/plain-file", tmp_root);
    put_text(tmp_root, "plain-file", "x");
    CHECK_CONTAINS(read_fail(path, OWU_E_NOTFOUND), "plain-file: not a directory");
    owu_err errbuf = {0}, *err = &errbuf;
    struct owu_devinfo *info;
    CHECK_INT(owu_sysfs_read_devinfo(NULL, &info, err), OWU_E_INVAL);
    CHECK_INT(owu_sysfs_read_devinfo("", &info, err), OWU_E_INVAL);
    CHECK_INT(owu_sysfs_read_devinfo(tmp_root, NULL, err), OWU_E_INVAL);
    /* An empty directory names the first file it misses. */
    snprintf(path, sizeof path, "%s/empty", tmp_root);
    mkdir(path, 0755);
    CHECK_CONTAINS(read_fail(path, OWU_E_NOTFOUND), "empty/speed");
}

/* Reads whatever USB devices this machine has; passes when there are none. Devices whose
 * descriptors break the rules may fail with an error, but nothing may crash and every
 * successful read must survive a profile round trip. */
static void test_real_sysfs_smoke(void)
{
    DIR *d = opendir("/sys/bus/usb/devices");
    if (!d) {
        printf("     (no /sys/bus/usb/devices here; smoke test skipped)\n");
        return;
    }
    struct dirent *e;
    int read = 0, failed = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strchr(e->d_name, ':'))
            continue;   /* interfaces are B-P:C.I */
        char path[512];
        snprintf(path, sizeof path, "/sys/bus/usb/devices/%s", e->d_name);
        owu_err err = {0};
        struct owu_devinfo *info = NULL;
        if (owu_sysfs_read_devinfo(path, &info, &err) != OWU_OK) {
            failed++;
            printf("     %s: %s\n", e->d_name, err.msg);
            continue;
        }
        read++;
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        CHECK_INT(owu_profile_write(info, f, &err), 0);
        fclose(f);
        struct owu_devinfo *back = NULL;
        CHECK_INT(owu_profile_parse(buf, size, &back, &err), 0);
        CHECK(owu_profile_equal(info, back));
        owu_devinfo_free(back);
        free(buf);
        owu_devinfo_free(info);
    }
    closedir(d);
    printf("     (real sysfs: %d read, %d refused)\n", read, failed);
}

static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char sub[512];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        remove_tree(sub);
    }
    closedir(d);
    rmdir(path);
}

int main(void)
{
    snprintf(tmp_root, sizeof tmp_root, "/tmp/owu_sysfs_XXXXXX");
    if (!mkdtemp(tmp_root)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_full_device);
    RUN(test_speeds);
    RUN(test_removable);
    RUN(test_location);
    RUN(test_descriptors_errors);
    RUN(test_strings);
    RUN(test_bad_directory);
    RUN(test_real_sysfs_smoke);
    remove_tree(tmp_root);
    return check_report();
}
