/* Device profiles: the sample files, round trips, deterministic output, and every error path
 * naming its JSON path. */
#include <openwinusb/profile.h>

#include <unistd.h>

#include "check.h"

#define PROFILES OWU_TEST_DATA "/profiles/"

static const char *const samples[] = {
    "hid-mouse.json", "winusb-msos20.json", "winusb-msos1.json", "composite-cdc-vendor.json",
    "failed-device-descriptor.json",
};

static struct owu_devinfo *load(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, PROFILES "%s", name);
    owu_err errbuf = {0}, *err = &errbuf;
    struct owu_devinfo *info = NULL;
    CHECK_OK(owu_profile_load(path, &info, err), err);
    return info;
}

/* owu_profile_write into a malloc'd string (NULL on failure). */
static char *write_string(const struct owu_devinfo *info, owu_err *err)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return NULL;
    int rc = owu_profile_write(info, f, err);
    fclose(f);
    if (rc < 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static struct owu_devinfo *parse_ok(const char *json)
{
    owu_err errbuf = {0}, *err = &errbuf;
    struct owu_devinfo *info = NULL;
    CHECK_OK(owu_profile_parse(json, strlen(json), &info, err), err);
    return info;
}

/* Writes, re-reads and compares; writes again and compares the bytes. */
static void check_round_trip(const struct owu_devinfo *info)
{
    owu_err errbuf = {0}, *err = &errbuf;
    char *text = write_string(info, err);
    CHECK(text != NULL);
    if (!text) {
        fprintf(stderr, "write failed: %s\n", err->msg);
        return;
    }
    struct owu_devinfo *again = parse_ok(text);
    CHECK(again != NULL);
    CHECK(owu_profile_equal(info, again));
    char *text2 = again ? write_string(again, err) : NULL;
    CHECK_STR(text2, text);
    char *text3 = write_string(info, err);
    CHECK_STR(text3, text);
    free(text);
    free(text2);
    free(text3);
    owu_devinfo_free(again);
}

/* ---- the sample profiles ---------------------------------------------------------------- */

static void test_samples_load_and_round_trip(void)
{
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        struct owu_devinfo *info = load(samples[i]);
        CHECK(info != NULL);
        if (!info) {
            fprintf(stderr, "sample %s\n", samples[i]);
            continue;
        }
        check_round_trip(info);
        /* Working devices' descriptors are valid beyond the framing the profile checks. */
        if (info->failure == OWU_FAIL_NONE) {
            owu_err errbuf = {0}, *err = &errbuf;
            struct owu_device_desc dd;
            CHECK_OK(owu_devinfo_device_desc(info, &dd, err), err);
            for (unsigned c = 0; c < info->num_configs; c++) {
                struct owu_config *cfg = NULL;
                CHECK_OK(owu_devinfo_config(info, c, &cfg, err), err);
                owu_config_free(cfg);
            }
        }
        owu_devinfo_free(info);
    }
}

static void test_sample_hid_text_strings(void)
{
    struct owu_devinfo *info = load("hid-mouse.json");
    if (!info)
        return;
    CHECK_INT(info->speed, OWU_SPEED_FULL);
    CHECK_STR(info->location, "virtual:1-1");
    CHECK_INT(info->port, 1);
    CHECK(info->removable);
    CHECK_INT(info->failure, OWU_FAIL_NONE);
    CHECK_INT(info->device_len, 18);
    CHECK_INT(info->num_configs, 1);
    CHECK_INT(info->configs[0].len, 34);
    CHECK(info->bos == NULL && info->msos20 == NULL && !info->msos1.present);
    CHECK_INT(info->num_strings, 4);
    /* "langids" and "text" entries become real descriptors. */
    static const uint8_t lang0[] = { 4, 3, 0x09, 0x04 };
    const struct owu_string_entry *s0 = owu_devinfo_find_string(info, 0, 0);
    CHECK(s0 && s0->len == 4 && memcmp(s0->desc, lang0, 4) == 0);
    static const uint8_t mouse[] = { 0x14, 3, 'H', 0, 'I', 0, 'D', 0, ' ', 0, 'm', 0, 'o', 0,
                                     'u', 0, 's', 0, 'e', 0 };
    const struct owu_string_entry *s2 = owu_devinfo_find_string(info, 2, 0x0409);
    CHECK(s2 && s2->len == sizeof mouse && memcmp(s2->desc, mouse, sizeof mouse) == 0);
    char text[64];
    CHECK(owu_devinfo_string(info, 3, text, sizeof text));
    CHECK_STR(text, "0001");
    owu_devinfo_free(info);
}

static void test_sample_msos20(void)
{
    struct owu_devinfo *info = load("winusb-msos20.json");
    if (!info)
        return;
    CHECK_INT(info->speed, OWU_SPEED_HIGH);
    CHECK(info->bos != NULL);
    CHECK_INT(info->bos_len, 40);
    CHECK_INT(info->msos20_len, 162);
    owu_err errbuf = {0}, *err = &errbuf;
    struct owu_bos *bos = NULL;
    CHECK_OK(owu_bos_parse(info->bos, info->bos_len, &bos, err), err);
    if (bos) {
        CHECK(bos->has_msos20);
        CHECK(bos->has_usb20_ext);
        const struct owu_msos20_set_info *set = owu_bos_msos20_for(bos, 0x0A000000);
        CHECK(set && set->wTotalLength == info->msos20_len && set->bMS_VendorCode == 0x20);
        owu_bos_free(bos);
    }
    /* The descriptor set header's wTotalLength matches the blob. */
    CHECK(info->msos20 && owu_le16(info->msos20 + 8) == info->msos20_len);
    owu_devinfo_free(info);
}

static void test_sample_msos1(void)
{
    struct owu_devinfo *info = load("winusb-msos1.json");
    if (!info)
        return;
    CHECK(info->msos1.present);
    CHECK_INT(info->msos1.vendor_code, 0x21);
    CHECK_INT(info->msos1.flags, 0x02);
    CHECK_INT(info->msos1.compat_id_len, 40);
    CHECK(info->msos1.compat_id && memcmp(info->msos1.compat_id + 18, "WINUSB", 6) == 0);
    CHECK_INT(info->msos1.num_props, 1);
    CHECK(info->msos1.num_props == 1 && info->msos1.props[0].interface == 0 &&
          info->msos1.props[0].len == 142 && owu_le32(info->msos1.props[0].data) == 142);
    CHECK_INT(info->msos1.container_id_len, 24);
    const struct owu_string_entry *ee = owu_devinfo_find_string(info, 0xEE, 0);
    CHECK(ee && ee->len == 18 && ee->desc[16] == 0x21);
    /* iSerialNumber 0: no serial string. */
    CHECK_INT(info->device[16], 0);
    owu_devinfo_free(info);
}

static void test_sample_composite_languages(void)
{
    struct owu_devinfo *info = load("composite-cdc-vendor.json");
    if (!info)
        return;
    CHECK(!info->removable);
    CHECK_STR(info->location, "virtual:1-4.2");
    const struct owu_string_entry *s0 = owu_devinfo_find_string(info, 0, 0);
    static const uint8_t lang0[] = { 6, 3, 0x09, 0x04, 0x07, 0x04 };
    CHECK(s0 && s0->len == 6 && memcmp(s0->desc, lang0, 6) == 0);
    CHECK(owu_devinfo_find_string(info, 1, 0x0407) != NULL);
    CHECK(owu_devinfo_find_string(info, 1, 0x0409) != NULL);
    struct owu_config *cfg = NULL;
    owu_err errbuf = {0}, *err = &errbuf;
    CHECK_OK(owu_devinfo_config(info, 0, &cfg, err), err);
    CHECK(cfg && cfg->num_interfaces == 3 && cfg->num_iads == 1);
    owu_config_free(cfg);
    owu_devinfo_free(info);
}

static void test_sample_failed_device(void)
{
    struct owu_devinfo *info = load("failed-device-descriptor.json");
    if (!info)
        return;
    CHECK_INT(info->failure, OWU_FAIL_DEVICE_DESCRIPTOR_INVALID);
    CHECK_INT(info->device_len, 8);
    CHECK_INT(info->num_configs, 0);
    CHECK_CONTAINS(info->failure_detail, "bMaxPacketSize0 7");
    owu_devinfo_free(info);
}

/* ---- writer output ------------------------------------------------------------------------ */

static void test_write_exact_output(void)
{
    struct owu_devinfo *info = owu_devinfo_new();
    info->speed = OWU_SPEED_LOW;
    info->port = 7;
    info->removable = false;
    info->failure = OWU_FAIL_CONFIG_DESCRIPTOR;
    snprintf(info->failure_detail, sizeof info->failure_detail, "configuration 0: \"stall\"\n");
    static const uint8_t dev[18] = { 0x12, 1, 0x10, 1, 0, 0, 0, 8, 0x34, 0x12, 0x78, 0x56,
                                     0, 1, 1, 2, 0, 1 };
    memcpy(info->device, dev, 18);
    info->device_len = 18;
    static const uint8_t s1[] = { 6, 3, 'h', 0, 'i', 0 };
    owu_devinfo_add_string(info, 1, 0x0409, s1, sizeof s1);
    owu_err errbuf = {0}, *err = &errbuf;
    char *text = write_string(info, err);
    CHECK_STR(text,
              "{\n"
              "  \"format\": \"openwinusb-device-profile\",\n"
              "  \"version\": 1,\n"
              "  \"speed\": \"low\",\n"
              "  \"port\": 7,\n"
              "  \"removable\": false,\n"
              "  \"failure\": \"config-descriptor\",\n"
              "  \"failure_detail\": \"configuration 0: \\\"stall\\\"\\n\",\n"
              "  \"device\": \"12 01 10 01 00 00 00 08 34 12 78 56 00 01 01 02 00 01\",\n"
              "  \"configurations\": [],\n"
              "  \"strings\": [\n"
              "    {\n"
              "      \"index\": 1,\n"
              "      \"langid\": \"0409\",\n"
              "      \"descriptor\": \"06 03 68 00 69 00\",\n"
              "      \"comment\": \"hi\"\n"
              "    }\n"
              "  ]\n"
              "}\n");
    free(text);
    check_round_trip(info);
    owu_devinfo_free(info);
}

/* Every field set, including empty (non-NULL) blobs and a partial device descriptor. */
static void test_round_trip_everything(void)
{
    struct owu_devinfo *info = owu_devinfo_new();
    info->speed = OWU_SPEED_SUPER_PLUS;
    snprintf(info->location, sizeof info->location, "usbip:10.0.0.1/1-1 \xC3\xA9 \"q\"");
    info->port = 255;
    info->removable = true;
    info->failure = OWU_FAIL_UNKNOWN;
    static const uint8_t part[8] = { 0x12, 1, 0x20, 3, 0, 0, 0, 9 };
    memcpy(info->device, part, 8);
    info->device_len = 8;
    static const uint8_t junk[3] = { 1, 2, 3 };
    owu_devinfo_add_config(info, junk, 3);
    owu_devinfo_add_config(info, junk, 0);
    owu_devinfo_set_bos(info, junk, 0);
    owu_devinfo_set_msos20(info, junk, 2);
    static const uint8_t s[] = { 2, 3 };
    owu_devinfo_add_string(info, 5, 0xFFFF, s, 2);
    owu_devinfo_add_string(info, 0, 0x0001, s, 2);
    info->msos1.present = true;
    info->msos1.vendor_code = 0xFF;
    info->msos1.flags = 0x80;
    owu_devinfo_set_blob(&info->msos1.compat_id, &info->msos1.compat_id_len, junk, 0);
    owu_devinfo_add_msos1_props(info, 255, junk, 3);
    owu_devinfo_add_msos1_props(info, 0, junk, 0);
    check_round_trip(info);

    /* Equality notices each kind of difference. */
    struct owu_devinfo *copy = owu_devinfo_clone(info);
    CHECK(owu_profile_equal(info, copy));
    copy->msos1.props[1].interface = 1;
    CHECK(!owu_profile_equal(info, copy));
    copy->msos1.props[1].interface = 0;
    copy->bos[0] = 0;   /* 0-length blob: the byte is not part of it */
    CHECK(owu_profile_equal(info, copy));
    free(copy->bos);
    copy->bos = NULL;
    CHECK(!owu_profile_equal(info, copy));
    owu_devinfo_free(copy);
    copy = owu_devinfo_clone(info);
    copy->strings[0].langid = 0x0409;
    CHECK(!owu_profile_equal(info, copy));
    owu_devinfo_free(copy);
    copy = owu_devinfo_clone(info);
    copy->location[3] = 'X';
    CHECK(!owu_profile_equal(info, copy));
    owu_devinfo_free(copy);
    CHECK(owu_profile_equal(NULL, NULL));
    CHECK(!owu_profile_equal(info, NULL));
    owu_devinfo_free(info);
}

static void test_write_refuses_unreadable(void)
{
    owu_err errbuf = {0}, *err = &errbuf;
    struct owu_devinfo *info = owu_devinfo_new();
    char *text = write_string(info, err);   /* speed unknown */
    CHECK(text == NULL);
    CHECK_INT(err->code, OWU_E_INVAL);
    CHECK_CONTAINS(err->msg, "speed");
    info->speed = OWU_SPEED_HIGH;
    static const uint8_t bad[1] = { 1 };
    owu_devinfo_add_string(info, 1, 0x0409, bad, 1);
    text = write_string(info, err);
    CHECK(text == NULL);
    CHECK_CONTAINS(err->msg, "string 1 (langid 0409)");
    owu_devinfo_free(info);
    CHECK_INT(owu_profile_write(NULL, stdout, err), OWU_E_INVAL);
}

static void test_save_and_load_file(void)
{
    struct owu_devinfo *info = load("winusb-msos1.json");
    if (!info)
        return;
    char dir[] = "/tmp/owu_profile_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/saved.json", dir);
    owu_err errbuf = {0}, *err = &errbuf;
    CHECK_OK(owu_profile_save(info, path, err), err);
    struct owu_devinfo *back = NULL;
    CHECK_OK(owu_profile_load(path, &back, err), err);
    CHECK(owu_profile_equal(info, back));
    owu_devinfo_free(back);
    /* A devinfo that cannot be written leaves the existing file alone. */
    struct owu_devinfo *bad = owu_devinfo_new();
    CHECK_INT(owu_profile_save(bad, path, err), OWU_E_INVAL);
    owu_devinfo_free(bad);
    CHECK_OK(owu_profile_load(path, &back, err), err);
    CHECK(owu_profile_equal(info, back));
    owu_devinfo_free(back);
    /* Errors from a file carry its name. */
    FILE *f = fopen(path, "w");
    fputs("{\n  \"format\": \"openwinusb-device-profile\",\n  \"version\": 1,\n  oops\n}\n", f);
    fclose(f);
    CHECK_INT(owu_profile_load(path, &back, err), OWU_E_PARSE);
    CHECK(back == NULL);
    CHECK(strncmp(err->msg, path, strlen(path)) == 0);
    CHECK_CONTAINS(err->msg, ": line 4, column 3: expected a string key, found 'o'");
    unlink(path);
    CHECK_INT(owu_profile_load(path, &back, err), OWU_E_NOTFOUND);
    CHECK_CONTAINS(err->msg, "saved.json");
    char bad_dir[160];
    snprintf(bad_dir, sizeof bad_dir, "%s/no/such/dir/x.json", dir);
    CHECK_INT(owu_profile_save(info, bad_dir, err), OWU_E_IO);
    CHECK_CONTAINS(err->msg, "x.json");
    rmdir(dir);
    owu_devinfo_free(info);
}

static void test_failure_names(void)
{
    for (int f = OWU_FAIL_NONE; f <= OWU_FAIL_UNKNOWN; f++) {
        enum owu_enum_failure back = OWU_FAIL_NONE;
        CHECK(owu_profile_failure_from_name(owu_profile_failure_name((enum owu_enum_failure)f), &back));
        CHECK_INT(back, f);
    }
    CHECK_STR(owu_profile_failure_name(OWU_FAIL_SET_ADDRESS), "set-address");
    CHECK_STR(owu_profile_failure_name(OWU_FAIL_PORT_LINK_COMPLIANCE), "port-link-compliance");
    CHECK(!owu_profile_failure_from_name("Reset", NULL));
    CHECK(!owu_profile_failure_from_name(NULL, NULL));
}

/* ---- errors -------------------------------------------------------------------------------- */

#define DEV "12 01 00 02 00 00 00 40 09 12 05 00 00 01 00 00 00 01"
#define CFG "09 02 12 00 01 01 00 80 32 09 04 00 00 00 FF 00 00 00"

/* A profile with the given device, configurations array text and extra members. */
static const char *make(const char *device, const char *configs, const char *extra)
{
    static char buf[200000];
    snprintf(buf, sizeof buf,
             "{\"format\": \"openwinusb-device-profile\", \"version\": 1, \"speed\": \"high\", "
             "\"device\": \"%s\", \"configurations\": %s%s}",
             device, configs, extra);
    return buf;
}

static const char *fail_msg(const char *json)
{
    static owu_err err;
    memset(&err, 0, sizeof err);
    struct owu_devinfo *info = (struct owu_devinfo *)1;
    int rc = owu_profile_parse(json, strlen(json), &info, &err);
    CHECK_INT(rc, OWU_E_PARSE);
    CHECK(info == NULL);
    if (rc == 0)
        owu_devinfo_free(info);
    return err.msg;
}

static void test_base_profile_is_valid(void)
{
    struct owu_devinfo *info = parse_ok(make(DEV, "[\"" CFG "\"]", ""));
    CHECK(info && info->num_configs == 1 && info->removable && info->port == 0 &&
          info->location[0] == '\0' && info->num_strings == 0);
    owu_devinfo_free(info);
}

static void test_errors_top_level(void)
{
    CHECK_CONTAINS(fail_msg("[1]"), "profile: expected a JSON object at the top level, found array");
    CHECK_CONTAINS(fail_msg("{\"version\": 1}"), "profile: missing key \"format\"");
    CHECK_CONTAINS(fail_msg("{\"format\": \"other\", \"version\": 1}"), "format: \"other\" is not");
    CHECK_CONTAINS(fail_msg("{\"format\": 3}"), "format: expected a string, found number");
    CHECK_CONTAINS(fail_msg("{\"format\": \"openwinusb-device-profile\"}"), "missing key \"version\"");
    CHECK_CONTAINS(fail_msg("{\"format\": \"openwinusb-device-profile\", \"version\": 2, \"x\": 1}"),
                   "version: 2 is not supported (this program reads version 1)");
    CHECK_CONTAINS(fail_msg("{\"format\": \"openwinusb-device-profile\", \"version\": \"1\"}"),
                   "version: expected a number, found string");
    CHECK_CONTAINS(fail_msg("{\"format\": \"openwinusb-device-profile\", \"version\": 1.0}"),
                   "version: expected an integer");
    CHECK_CONTAINS(fail_msg("{\"format\": \"openwinusb-device-profile\", \"version\": 1, \"a\": 1,}"),
                   "line 1, column 62: expected a string key, found '}'");
    CHECK_CONTAINS(fail_msg(make(DEV, "[\"" CFG "\"]", ", \"speeed\": \"high\"")),
                   "profile: unknown key \"speeed\"");
    CHECK_CONTAINS(fail_msg(make(DEV, "[\"" CFG "\"]", ", \"comment\": 5")),
                   "comment: expected a string, found number");
    CHECK_CONTAINS(fail_msg("{\"format\": \"openwinusb-device-profile\", \"version\": 1}"),
                   "profile: missing key \"speed\"");
    CHECK_CONTAINS(fail_msg(make(DEV, "[\"" CFG "\"]", ", \"speed\": \"low\"")), "duplicate key \"speed\"");
}

static void test_errors_scalars(void)
{
    char big[200];
    memset(big, 'a', 120);
    big[120] = '\0';
    char extra[300];
    static const struct { const char *extra, *msg; } cases[] = {
        { ", \"location\": 5", "location: expected a string, found number" },
        { ", \"port\": -1", "port: -1 is out of range (0..255)" },
        { ", \"port\": 256", "port: 256 is out of range (0..255)" },
        { ", \"port\": \"3\"", "port: expected a number, found string" },
        { ", \"port\": 3.5", "port: expected an integer" },
        { ", \"removable\": \"yes\"", "removable: expected a boolean, found string" },
        { ", \"failure\": \"bogus\"", "failure: \"bogus\" is not a known failure" },
        { ", \"failure\": null", "failure: expected a string, found null" },
        { ", \"failure_detail\": []", "failure_detail: expected a string, found array" },
        { ", \"bos\": 1", "bos: expected a hex string, found number" },
        { ", \"bos\": \"0F 0\"", "bos: odd number of hex digits" },
        { ", \"msos20\": \"zz\"", "msos20: invalid character 'z' at offset 0" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_CONTAINS(fail_msg(make(DEV, "[\"" CFG "\"]", cases[i].extra)), cases[i].msg);
    snprintf(extra, sizeof extra, ", \"location\": \"%s\"", big);
    CHECK_CONTAINS(fail_msg(make(DEV, "[\"" CFG "\"]", extra)), "location: longer than 95 bytes");
    /* Speed: a separate key order because make() writes "high". */
    CHECK_CONTAINS(fail_msg("{\"format\": \"openwinusb-device-profile\", \"version\": 1, \"speed\": \"fast\"}"),
                   "speed: \"fast\" is not low, full, high, super or super-plus");
    CHECK_CONTAINS(fail_msg("{\"format\": \"openwinusb-device-profile\", \"version\": 1, \"speed\": \"unknown\"}"),
                   "speed: \"unknown\" is not");
}

static void test_errors_device(void)
{
    CHECK_CONTAINS(fail_msg("{\"format\": \"openwinusb-device-profile\", \"version\": 1, \"speed\": \"high\"}"),
                   "profile: missing key \"device\"");
    CHECK_CONTAINS(fail_msg(make("12 01 0", "[]", "")), "device: odd number of hex digits");
    CHECK_CONTAINS(fail_msg(make("12 01 00 02 00 00 00 40 09 12 05 00 00 01 00 00 00", "[]", "")),
                   "device: 17 bytes; a device descriptor has 18");
    CHECK_CONTAINS(fail_msg(make(DEV " 00", "[]", "")), "device: 19 bytes; a device descriptor has 18");
    CHECK_CONTAINS(fail_msg(make("12 01 00 02 00 00 00 07 09 12 05 00 00 01 00 00 00 01", "[]", "")),
                   "device: device descriptor: bMaxPacketSize0 7 (offset 7)");
    CHECK_CONTAINS(fail_msg(make("12 01 00 02 00 00 00 40 09 12 05 00 00 01 00 00 00 00", "[]", "")),
                   "device: device descriptor: bNumConfigurations 0");
    CHECK_CONTAINS(fail_msg(make("12 02 00 02 00 00 00 40 09 12 05 00 00 01 00 00 00 01", "[]", "")),
                   "device: device descriptor: bDescriptorType 0x02");
    /* SuperSpeed needs bMaxPacketSize0 9: the profile's speed is used for the check. */
    CHECK_CONTAINS(fail_msg("{\"format\": \"openwinusb-device-profile\", \"version\": 1, \"speed\": \"super\", "
                            "\"device\": \"" DEV "\", \"configurations\": [\"" CFG "\"]}"),
                   "device: device descriptor: bMaxPacketSize0 64 (offset 7) is not 9");
    /* A failed device may hold part of one, or none, unchecked. */
    struct owu_devinfo *info = parse_ok("{\"format\": \"openwinusb-device-profile\", \"version\": 1, "
                                        "\"speed\": \"full\", \"failure\": \"reset\"}");
    CHECK(info && info->device_len == 0 && info->num_configs == 0 && info->failure == OWU_FAIL_RESET);
    if (info)
        check_round_trip(info);
    owu_devinfo_free(info);
    CHECK_CONTAINS(fail_msg("{\"format\": \"openwinusb-device-profile\", \"version\": 1, \"speed\": \"full\", "
                            "\"failure\": \"reset\", \"device\": \"" DEV " 00\"}"),
                   "device: 19 bytes");
}

static void test_errors_configurations(void)
{
    static const struct { const char *configs, *msg; } cases[] = {
        { "\"x\"", "configurations: expected an array, found string" },
        { "[]", "configurations: empty; the device needs at least one configuration" },
        { "[\"" CFG "\", \"" CFG "\"]", "configurations: 2 entries but bNumConfigurations is 1" },
        { "[5]", "configurations[0]: expected a hex string, found number" },
        { "[\"09 02 12 00 01 01 00 80 3Z\"]", "configurations[0]: invalid character 'Z' at offset 25" },
        { "[\"09 02 12 00 01 01 00 80\"]", "configurations[0]: 8 bytes; a configuration descriptor has at least 9" },
        { "[\"09 04 12 00 01 01 00 80 32 09 04 00 00 00 FF 00 00 00\"]",
          "configurations[0]: bDescriptorType 0x04 (offset 1) is not 0x02" },
        { "[\"09 02 13 00 01 01 00 80 32 09 04 00 00 00 FF 00 00 00\"]",
          "configurations[0]: wTotalLength 19 does not match the 18 bytes given" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_CONTAINS(fail_msg(make(DEV, cases[i].configs, "")), cases[i].msg);
    CHECK_CONTAINS(fail_msg("{\"format\": \"openwinusb-device-profile\", \"version\": 1, \"speed\": \"high\", "
                            "\"device\": \"" DEV "\"}"),
                   "profile: missing key \"configurations\"");
    /* A configuration that frames correctly but fails full validation is kept as the
     * device's bytes (enumeration reports it). */
    struct owu_devinfo *info = parse_ok(make(DEV, "[\"09 02 09 00 05 01 00 80 32\"]", ""));
    CHECK(info && info->num_configs == 1 && info->configs[0].len == 9);
    owu_devinfo_free(info);
}

static void test_errors_blob_limits(void)
{
    /* 64 KiB + 1 bytes of BOS. */
    size_t n = OWU_PROFILE_MAX_BLOB + 1;
    char *hex = malloc(n * 2 + 1);
    for (size_t i = 0; i < n * 2; i++)
        hex[i] = '0';
    hex[n * 2] = '\0';
    char *extra = malloc(n * 2 + 32);
    snprintf(extra, n * 2 + 32, ", \"bos\": \"%s\"", hex);
    char *json = malloc(n * 2 + 512);
    snprintf(json, n * 2 + 512,
             "{\"format\": \"openwinusb-device-profile\", \"version\": 1, \"speed\": \"high\", "
             "\"device\": \"" DEV "\", \"configurations\": [\"" CFG "\"]%s}", extra);
    CHECK_CONTAINS(fail_msg(json), "bos: 65537 bytes is more than the 65536 allowed");
    /* Exactly 64 KiB is accepted. */
    hex[(n - 1) * 2] = '\0';
    snprintf(json, n * 2 + 512,
             "{\"format\": \"openwinusb-device-profile\", \"version\": 1, \"speed\": \"high\", "
             "\"device\": \"" DEV "\", \"configurations\": [\"" CFG "\"], \"msos20\": \"%s\"}", hex);
    struct owu_devinfo *info = parse_ok(json);
    CHECK(info && info->msos20_len == OWU_PROFILE_MAX_BLOB);
    if (info)
        check_round_trip(info);
    owu_devinfo_free(info);
    /* Absurdly long hex text is refused before decoding. */
    char *huge = malloc(OWU_PROFILE_MAX_BLOB * 4 + 600);
    size_t k = (size_t)snprintf(huge, 600, "{\"format\": \"openwinusb-device-profile\", \"version\": 1, "
                                "\"speed\": \"high\", \"device\": \"" DEV "\", \"configurations\": "
                                "[\"" CFG "\"], \"bos\": \"");
    memset(huge + k, ' ', OWU_PROFILE_MAX_BLOB * 4);
    k += OWU_PROFILE_MAX_BLOB * 4;
    memcpy(huge + k, "\"}", 3);
    CHECK_CONTAINS(fail_msg(huge), "bos: more than 65536 bytes");
    free(huge);
    free(json);
    free(extra);
    free(hex);
}

static void test_errors_strings(void)
{
    static const struct { const char *strings, *msg; } cases[] = {
        { "{}", "strings: expected an array, found object" },
        { "[1]", "strings[0]: expected an object, found number" },
        { "[{\"langid\": \"0409\", \"text\": \"a\"}]", "strings[0]: missing key \"index\"" },
        { "[{\"index\": 256, \"langid\": \"0409\", \"text\": \"a\"}]", "strings[0].index: 256 is out of range (0..255)" },
        { "[{\"index\": 1, \"text\": \"a\"}]", "strings[0]: missing key \"langid\"" },
        { "[{\"index\": 1, \"langid\": 1033, \"text\": \"a\"}]", "strings[0].langid: expected a string, found number" },
        { "[{\"index\": 1, \"langid\": \"409\", \"text\": \"a\"}]", "strings[0].langid: \"409\" is not 4 hex digits" },
        { "[{\"index\": 1, \"langid\": \"04G9\", \"text\": \"a\"}]", "strings[0].langid: \"04G9\" is not 4 hex digits" },
        { "[{\"index\": 1, \"langid\": \"0409\"}]", "strings[0]: give exactly one of \"descriptor\", \"text\" or \"langids\"" },
        { "[{\"index\": 1, \"langid\": \"0409\", \"text\": \"a\", \"descriptor\": \"04 03 61 00\"}]",
          "strings[0]: give exactly one of" },
        { "[{\"index\": 1, \"langid\": \"0409\", \"txt\": \"a\"}]", "strings[0]: unknown key \"txt\"" },
        { "[{\"index\": 1, \"langid\": \"0409\", \"text\": 5}]", "strings[0].text: expected a string, found number" },
        { "[{\"index\": 0, \"langid\": \"0000\", \"text\": \"a\"}]", "strings[0].text: index 0 is the LANGID list" },
        { "[{\"index\": 2, \"langid\": \"0409\", \"langids\": [\"0409\"]}]", "strings[0].langids: only string index 0" },
        { "[{\"index\": 0, \"langid\": \"0000\", \"langids\": [\"0409\", 7]}]", "strings[0].langids[1]: expected a string" },
        { "[{\"index\": 0, \"langid\": \"0000\", \"langids\": \"0409\"}]", "strings[0].langids: expected an array, found string" },
        { "[{\"index\": 1, \"langid\": \"0409\", \"descriptor\": \"03\"}]", "strings[0].descriptor: 1 bytes; a string descriptor has 2 to 255" },
        { "[{\"index\": 1, \"langid\": \"0409\", \"descriptor\": \"04 02 61 00\"}]",
          "strings[0].descriptor: bDescriptorType 0x02 (offset 1) is not 0x03" },
        { "[{\"index\": 1, \"langid\": \"0409\", \"text\": \"a\"}, {\"index\": 2, \"langid\": \"0409\", \"text\": \"b\"},"
          " {\"index\": 3, \"langid\": \"0409\", \"text\": \"c\"}, {\"index\": 4, \"langid\": \"0409\", \"descriptor\": \"04 03 6\"}]",
          "strings[3].descriptor: odd number of hex digits" },
        { "[{\"index\": 1, \"langid\": \"0409\", \"text\": \"a\"}, {\"index\": 1, \"langid\": \"0409\", \"descriptor\": \"04 03 61 00\"}]",
          "strings[1]: a second entry for index 1, langid 0409" },
    };
    char extra[1024];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(extra, sizeof extra, ", \"strings\": %s", cases[i].strings);
        CHECK_CONTAINS(fail_msg(make(DEV, "[\"" CFG "\"]", extra)), cases[i].msg);
    }
    /* Text too long for 255 bytes (126 UTF-16 units). */
    char text[200];
    memset(text, 'x', 127);
    text[127] = '\0';
    snprintf(extra, sizeof extra, ", \"strings\": [{\"index\": 1, \"langid\": \"0409\", \"text\": \"%s\"}]", text);
    CHECK_CONTAINS(fail_msg(make(DEV, "[\"" CFG "\"]", extra)), "strings[0].text: too long for a string descriptor");
    text[126] = '\0';
    snprintf(extra, sizeof extra, ", \"strings\": [{\"index\": 1, \"langid\": \"0409\", \"text\": \"%s\"}]", text);
    struct owu_devinfo *info = parse_ok(make(DEV, "[\"" CFG "\"]", extra));
    CHECK(info && info->num_strings == 1 && info->strings[0].len == 254);
    owu_devinfo_free(info);
    /* Non-ASCII text: an astral character takes a surrogate pair. */
    snprintf(extra, sizeof extra, ", \"strings\": [{\"index\": 1, \"langid\": \"0409\", \"text\": \"\\u00e9\\ud83d\\ude00\"}]");
    info = parse_ok(make(DEV, "[\"" CFG "\"]", extra));
    static const uint8_t want[] = { 8, 3, 0xE9, 0x00, 0x3D, 0xD8, 0x00, 0xDE };
    CHECK(info && info->num_strings == 1 && info->strings[0].len == 8 &&
          memcmp(info->strings[0].desc, want, 8) == 0);
    owu_devinfo_free(info);
}

static void test_errors_too_many_strings(void)
{
    size_t n = OWU_PROFILE_MAX_STRINGS + 1;
    char *extra = malloc(n * 64 + 32);
    size_t k = (size_t)sprintf(extra, ", \"strings\": [");
    for (size_t i = 0; i < n; i++)
        k += (size_t)sprintf(extra + k, "%s{\"index\": %zu, \"langid\": \"%04zX\", \"text\": \"a\"}",
                             i ? "," : "", i % 255 + 1, i / 255 + 1);
    sprintf(extra + k, "]");
    CHECK_CONTAINS(fail_msg(make(DEV, "[\"" CFG "\"]", extra)), "strings: 1025 entries; at most 1024");
    free(extra);
}

static void test_errors_msos1(void)
{
    static const struct { const char *msos1, *msg; } cases[] = {
        { "[]", "msos1: expected an object, found array" },
        { "{\"flags\": 0}", "msos1: missing key \"vendor_code\"" },
        { "{\"vendor_code\": 256, \"flags\": 0}", "msos1.vendor_code: 256 is out of range (0..255)" },
        { "{\"vendor_code\": 1}", "msos1: missing key \"flags\"" },
        { "{\"vendor_code\": 1, \"flags\": 0, \"compat\": \"00\"}", "msos1: unknown key \"compat\"" },
        { "{\"vendor_code\": 1, \"flags\": 0, \"compat_id\": \"0\"}", "msos1.compat_id: odd number of hex digits" },
        { "{\"vendor_code\": 1, \"flags\": 0, \"container_id\": true}", "msos1.container_id: expected a hex string, found boolean" },
        { "{\"vendor_code\": 1, \"flags\": 0, \"properties\": {}}", "msos1.properties: expected an array, found object" },
        { "{\"vendor_code\": 1, \"flags\": 0, \"properties\": [[]]}", "msos1.properties[0]: expected an object, found array" },
        { "{\"vendor_code\": 1, \"flags\": 0, \"properties\": [{\"descriptor\": \"00\"}]}",
          "msos1.properties[0]: missing key \"interface\"" },
        { "{\"vendor_code\": 1, \"flags\": 0, \"properties\": [{\"interface\": 0}]}",
          "msos1.properties[0]: missing key \"descriptor\"" },
        { "{\"vendor_code\": 1, \"flags\": 0, \"properties\": [{\"interface\": 0, \"descriptor\": \"0g\"}]}",
          "msos1.properties[0].descriptor: invalid character 'g'" },
        { "{\"vendor_code\": 1, \"flags\": 0, \"properties\": [{\"interface\": 0, \"descriptor\": \"00\", \"x\": 1}]}",
          "msos1.properties[0]: unknown key \"x\"" },
        { "{\"vendor_code\": 1, \"flags\": 0, \"properties\": [{\"interface\": 2, \"descriptor\": \"00\"}, "
          "{\"interface\": 2, \"descriptor\": \"01\"}]}",
          "msos1.properties[1]: a second entry for interface 2" },
    };
    char extra[1024];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(extra, sizeof extra, ", \"msos1\": %s", cases[i].msos1);
        CHECK_CONTAINS(fail_msg(make(DEV, "[\"" CFG "\"]", extra)), cases[i].msg);
    }
}

static void test_errors_hostile_json(void)
{
    /* Deep nesting inside a known key, binary junk, NUL bytes, empty input. */
    char deep[400];
    size_t k = (size_t)snprintf(deep, sizeof deep, "{\"format\": ");
    for (int i = 0; i < 100; i++)
        deep[k++] = '[';
    deep[k] = '\0';
    CHECK_CONTAINS(fail_msg(deep), "nesting deeper than 64 levels");
    CHECK_CONTAINS(fail_msg(""), "line 1, column 1: expected a value, found end of input");
    owu_err errbuf = {0}, *err = &errbuf;
    struct owu_devinfo *info;
    CHECK_INT(owu_profile_parse("{\"format\"\0: 1}", 14, &info, err), OWU_E_PARSE);
    CHECK_CONTAINS(err->msg, "found byte 0x00");
    CHECK_INT(owu_profile_parse("{}", 2, NULL, err), OWU_E_INVAL);
}

int main(void)
{
    RUN(test_samples_load_and_round_trip);
    RUN(test_sample_hid_text_strings);
    RUN(test_sample_msos20);
    RUN(test_sample_msos1);
    RUN(test_sample_composite_languages);
    RUN(test_sample_failed_device);
    RUN(test_write_exact_output);
    RUN(test_round_trip_everything);
    RUN(test_write_refuses_unreadable);
    RUN(test_save_and_load_file);
    RUN(test_failure_names);
    RUN(test_base_profile_is_valid);
    RUN(test_errors_top_level);
    RUN(test_errors_scalars);
    RUN(test_errors_device);
    RUN(test_errors_configurations);
    RUN(test_errors_blob_limits);
    RUN(test_errors_strings);
    RUN(test_errors_too_many_strings);
    RUN(test_errors_msos1);
    RUN(test_errors_hostile_json);
    return check_report();
}
