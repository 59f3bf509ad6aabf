/* Device profiles: JSON text <-> struct owu_devinfo (format in docs/profile-format.md). */
#include <openwinusb/profile.h>

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/file_read.h"
#include "core/json.h"
#include "core/hex.h"

/* ---- failure names ----------------------------------------------------------------------- */

static const char *const failure_names[] = {
    [OWU_FAIL_NONE] = "none",
    [OWU_FAIL_RESET] = "reset",
    [OWU_FAIL_DEVICE_DESCRIPTOR] = "device-descriptor",
    [OWU_FAIL_CONFIG_DESCRIPTOR] = "config-descriptor",
    [OWU_FAIL_SET_ADDRESS] = "set-address",
    [OWU_FAIL_DEVICE_DESCRIPTOR_INVALID] = "device-descriptor-invalid",
    [OWU_FAIL_CONFIG_DESCRIPTOR_INVALID] = "config-descriptor-invalid",
    [OWU_FAIL_PORT_LINK_SSINACTIVE] = "port-link-ssinactive",
    [OWU_FAIL_PORT_LINK_COMPLIANCE] = "port-link-compliance",
    [OWU_FAIL_UNKNOWN] = "unknown",
};
#define NUM_FAILURES (sizeof failure_names / sizeof failure_names[0])

const char *owu_profile_failure_name(enum owu_enum_failure failure)
{
    if ((unsigned)failure >= NUM_FAILURES || !failure_names[failure])
        return "unknown";
    return failure_names[failure];
}

bool owu_profile_failure_from_name(const char *name, enum owu_enum_failure *out)
{
    if (!name)
        return false;
    for (size_t i = 0; i < NUM_FAILURES; i++) {
        if (failure_names[i] && strcmp(name, failure_names[i]) == 0) {
            if (out)
                *out = (enum owu_enum_failure)i;
            return true;
        }
    }
    return false;
}

/* ---- reading: helpers ----------------------------------------------------------------------- */

/* Every error in a profile is OWU_E_PARSE and starts with the JSON path. */
__attribute__((format(printf, 3, 4)))
static int perr(owu_err *err, const char *path, const char *fmt, ...)
{
    char what[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return owu_fail(err, OWU_E_PARSE, "%s: %s", path[0] ? path : "profile", what);
}

/* "parent.key" (or "key" at the top). Paths are short; a cut one still reads well. */
static void join_key(char *out, size_t outsz, const char *parent, const char *key)
{
    if (snprintf(out, outsz, "%s%s%s", parent, parent[0] ? "." : "", key) >= (int)outsz)
        out[outsz - 1] = '\0';
}

/* "parent[i]". */
static void join_index(char *out, size_t outsz, const char *parent, size_t i)
{
    if (snprintf(out, outsz, "%s[%zu]", parent, i) >= (int)outsz)
        out[outsz - 1] = '\0';
}

#define PATH_MAX_LEN 96

/* Rejects keys that are not in `known` (NULL-terminated). "comment" is allowed everywhere
 * and ignored, as long as it is a string. */
static int check_keys(const struct owu_json *obj, const char *path, const char *const *known,
                      owu_err *err)
{
    for (size_t i = 0; i < obj->count; i++) {
        const char *key = obj->keys[i];
        if (strcmp(key, "comment") == 0) {
            if (obj->items[i]->type != OWU_JSON_STRING) {
                char p[PATH_MAX_LEN];
                join_key(p, sizeof p, path, key);
                return perr(err, p, "expected a string, found %s",
                            owu_json_type_name(obj->items[i]->type));
            }
            continue;
        }
        bool ok = false;
        for (size_t k = 0; known[k] && !ok; k++)
            ok = strcmp(key, known[k]) == 0;
        if (!ok)
            return perr(err, path, "unknown key \"%.64s\"", key);
    }
    return OWU_OK;
}

/* The member `key` of obj with the given type; *out = NULL when absent and not required. */
static int member(const struct owu_json *obj, const char *path, const char *key,
                  enum owu_json_type type, bool required, const struct owu_json **out, owu_err *err)
{
    char p[PATH_MAX_LEN];
    join_key(p, sizeof p, path, key);
    const struct owu_json *v = owu_json_get(obj, key);
    *out = NULL;
    if (!v) {
        if (required)
            return perr(err, path, "missing key \"%s\"", key);
        return OWU_OK;
    }
    if (v->type != type)
        return perr(err, p, "expected %s %s, found %s", type == OWU_JSON_ARRAY || type == OWU_JSON_OBJECT ? "an" : "a",
                    owu_json_type_name(type), owu_json_type_name(v->type));
    *out = v;
    return OWU_OK;
}

/* An integer member in [min, max]; *present false when absent and not required. */
static int member_uint(const struct owu_json *obj, const char *path, const char *key, bool required,
                       unsigned max, unsigned *val, bool *present, owu_err *err)
{
    const struct owu_json *v;
    int rc = member(obj, path, key, OWU_JSON_NUMBER, required, &v, err);
    if (present)
        *present = v != NULL;
    if (rc < 0 || !v)
        return rc;
    char p[PATH_MAX_LEN];
    join_key(p, sizeof p, path, key);
    if (!v->is_integer)
        return perr(err, p, "expected an integer");
    if (v->integer < 0 || v->integer > (int64_t)max)
        return perr(err, p, "%lld is out of range (0..%u)", (long long)v->integer, max);
    *val = (unsigned)v->integer;
    return OWU_OK;
}

/* Decodes a hex string value into a new buffer of at most OWU_PROFILE_MAX_BLOB bytes.
 * An empty string gives a non-NULL zero-length buffer, so "" and "absent" stay distinct. */
static int hex_value(const struct owu_json *v, const char *path, uint8_t **out, size_t *len,
                     owu_err *err)
{
    *out = NULL;
    *len = 0;
    if (v->type != OWU_JSON_STRING)
        return perr(err, path, "expected a hex string, found %s", owu_json_type_name(v->type));
    /* Three characters per byte at most in any sensible spelling; refuse huge text early. */
    if (v->string_len > OWU_PROFILE_MAX_BLOB * 3 + 64)
        return perr(err, path, "more than %zu bytes (the limit for one blob)", OWU_PROFILE_MAX_BLOB);
    owu_err hex_err = {0};
    if (owu_hex_decode(v->string, out, len, &hex_err) < 0)
        return perr(err, path, "%s", hex_err.msg);
    if (*len > OWU_PROFILE_MAX_BLOB) {
        free(*out);
        *out = NULL;
        return perr(err, path, "%zu bytes is more than the %zu allowed", *len, OWU_PROFILE_MAX_BLOB);
    }
    if (!*out) {
        *out = malloc(1);
        if (!*out)
            return owu_fail(err, OWU_E_NOMEM, "%s: out of memory", path);
    }
    return OWU_OK;
}

static int nomem(owu_err *err)
{
    return owu_fail(err, OWU_E_NOMEM, "profile: out of memory");
}

/* ---- reading: sections -------------------------------------------------------------------------- */

static int read_device(const struct owu_json *root, struct owu_devinfo *info, owu_err *err)
{
    const struct owu_json *v;
    bool failed = info->failure != OWU_FAIL_NONE;
    int rc = member(root, "", "device", OWU_JSON_STRING, !failed, &v, err);
    if (rc < 0 || !v)
        return rc;
    uint8_t *buf;
    size_t len;
    if ((rc = hex_value(v, "device", &buf, &len, err)) < 0)
        return rc;
    if (len > OWU_DEVICE_DESC_SIZE) {
        rc = perr(err, "device", "%zu bytes; a device descriptor has %d", len, OWU_DEVICE_DESC_SIZE);
    } else if (!failed && len != OWU_DEVICE_DESC_SIZE) {
        rc = perr(err, "device", "%zu bytes; a device descriptor has %d (only a profile with a "
                  "\"failure\" may hold a partial one)", len, OWU_DEVICE_DESC_SIZE);
    } else if (!failed) {
        owu_err why = {0};
        if (owu_device_desc_parse(buf, len, info->speed, NULL, &why) < 0)
            rc = perr(err, "device", "%s", why.msg);
    }
    if (rc == OWU_OK) {
        memcpy(info->device, buf, len);
        info->device_len = len;
    }
    free(buf);
    return rc;
}

static int read_configs(const struct owu_json *root, struct owu_devinfo *info, owu_err *err)
{
    const struct owu_json *arr;
    bool failed = info->failure != OWU_FAIL_NONE;
    int rc = member(root, "", "configurations", OWU_JSON_ARRAY, !failed, &arr, err);
    if (rc < 0 || !arr)
        return rc;
    if (arr->count > OWU_PROFILE_MAX_CONFIGS)
        return perr(err, "configurations", "%zu entries; at most %d", arr->count, OWU_PROFILE_MAX_CONFIGS);
    if (!failed) {
        unsigned declared = info->device[17];   /* bNumConfigurations, validated above */
        if (arr->count < 1)
            return perr(err, "configurations", "empty; the device needs at least one configuration");
        if (arr->count > declared)
            return perr(err, "configurations", "%zu entries but bNumConfigurations is %u",
                        arr->count, declared);
    }
    for (size_t i = 0; i < arr->count; i++) {
        char p[PATH_MAX_LEN];
        join_index(p, sizeof p, "configurations", i);
        uint8_t *buf;
        size_t len;
        if ((rc = hex_value(arr->items[i], p, &buf, &len, err)) < 0)
            return rc;
        /* Only the framing is checked: a configuration that fails the full validation is
         * still what the device returned, and enumeration reports it as
         * config-descriptor-invalid when the profile is used. */
        if (!failed && len < 9)
            rc = perr(err, p, "%zu bytes; a configuration descriptor has at least 9", len);
        else if (!failed && buf[1] != OWU_DT_CONFIG)
            rc = perr(err, p, "bDescriptorType 0x%02X (offset 1) is not 0x02 (configuration)", buf[1]);
        else if (!failed && owu_le16(buf + 2) != len)
            rc = perr(err, p, "wTotalLength %u does not match the %zu bytes given", owu_le16(buf + 2),
                      len);
        if (rc == OWU_OK && owu_devinfo_add_config(info, buf, len) < 0)
            rc = nomem(err);
        free(buf);
        if (rc < 0)
            return rc;
    }
    return OWU_OK;
}

static int parse_langid(const struct owu_json *v, const char *path, uint16_t *out, owu_err *err)
{
    if (v->type != OWU_JSON_STRING)
        return perr(err, path, "expected a string of 4 hex digits (\"0409\"), found %s",
                    owu_json_type_name(v->type));
    uint32_t val;
    if (v->string_len != 4 || !owu_hex_value(v->string, 4, &val))
        return perr(err, path, "\"%.16s\" is not 4 hex digits", v->string);
    *out = (uint16_t)val;
    return OWU_OK;
}

/* One strings[] entry: the raw descriptor, or text / a LANGID list to encode. */
static int read_string_entry(const struct owu_json *e, const char *path, struct owu_devinfo *info,
                             owu_err *err)
{
    static const char *const keys[] = { "index", "langid", "descriptor", "text", "langids", NULL };
    if (e->type != OWU_JSON_OBJECT)
        return perr(err, path, "expected an object, found %s", owu_json_type_name(e->type));
    int rc = check_keys(e, path, keys, err);
    if (rc < 0)
        return rc;
    unsigned index;
    if ((rc = member_uint(e, path, "index", true, 255, &index, NULL, err)) < 0)
        return rc;
    const struct owu_json *lang, *desc, *text, *langids;
    char p[PATH_MAX_LEN];
    if ((rc = member(e, path, "langid", OWU_JSON_STRING, true, &lang, err)) < 0 ||
        (rc = member(e, path, "text", OWU_JSON_STRING, false, &text, err)) < 0 ||
        (rc = member(e, path, "langids", OWU_JSON_ARRAY, false, &langids, err)) < 0)
        return rc;
    desc = owu_json_get(e, "descriptor");
    uint16_t langid;
    join_key(p, sizeof p, path, "langid");
    if ((rc = parse_langid(lang, p, &langid, err)) < 0)
        return rc;
    int given = (desc != NULL) + (text != NULL) + (langids != NULL);
    if (given != 1)
        return perr(err, path, "give exactly one of \"descriptor\", \"text\" or \"langids\"");
    for (unsigned i = 0; i < info->num_strings; i++)
        if (info->strings[i].index == index && info->strings[i].langid == langid)
            return perr(err, path, "a second entry for index %u, langid %04X", index, langid);

    uint8_t built[256];
    uint8_t *buf = NULL;
    size_t len = 0;
    if (desc) {
        join_key(p, sizeof p, path, "descriptor");
        if ((rc = hex_value(desc, p, &buf, &len, err)) < 0)
            return rc;
        if (len < 2 || len > 255)
            rc = perr(err, p, "%zu bytes; a string descriptor has 2 to 255", len);
        else if (buf[1] != OWU_DT_STRING)
            rc = perr(err, p, "bDescriptorType 0x%02X (offset 1) is not 0x03 (string)", buf[1]);
    } else if (text) {
        join_key(p, sizeof p, path, "text");
        if (index == 0)
            return perr(err, p, "index 0 is the LANGID list, not text; use \"langids\"");
        int n = owu_string_desc_encode(text->string, built, 255);
        if (n < 0)
            return perr(err, p, "too long for a string descriptor (126 UTF-16 units at most)");
        buf = built;
        len = (size_t)n;
    } else {
        join_key(p, sizeof p, path, "langids");
        if (index != 0)
            return perr(err, p, "only string index 0 holds a LANGID list");
        if (langids->count > 126)
            return perr(err, p, "%zu entries; a string descriptor holds at most 126", langids->count);
        len = 2 + 2 * langids->count;
        built[0] = (uint8_t)len;
        built[1] = OWU_DT_STRING;
        for (size_t i = 0; i < langids->count; i++) {
            char q[PATH_MAX_LEN];
            join_index(q, sizeof q, p, i);
            uint16_t id;
            if ((rc = parse_langid(langids->items[i], q, &id, err)) < 0)
                return rc;
            owu_put_le16(built + 2 + 2 * i, id);
        }
        buf = built;
    }
    if (rc == OWU_OK && owu_devinfo_add_string(info, (uint8_t)index, langid, buf, len) < 0)
        rc = nomem(err);
    if (buf != built)
        free(buf);
    return rc;
}

static int read_strings(const struct owu_json *root, struct owu_devinfo *info, owu_err *err)
{
    const struct owu_json *arr;
    int rc = member(root, "", "strings", OWU_JSON_ARRAY, false, &arr, err);
    if (rc < 0 || !arr)
        return rc;
    if (arr->count > OWU_PROFILE_MAX_STRINGS)
        return perr(err, "strings", "%zu entries; at most %d", arr->count, OWU_PROFILE_MAX_STRINGS);
    for (size_t i = 0; i < arr->count; i++) {
        char p[PATH_MAX_LEN];
        join_index(p, sizeof p, "strings", i);
        if ((rc = read_string_entry(arr->items[i], p, info, err)) < 0)
            return rc;
    }
    return OWU_OK;
}

/* A top-level or msos1 blob member into (*dst, *dst_len); absent leaves NULL. */
static int read_blob(const struct owu_json *obj, const char *path, const char *key, uint8_t **dst,
                     size_t *dst_len, owu_err *err)
{
    const struct owu_json *v = owu_json_get(obj, key);
    if (!v)
        return OWU_OK;
    char p[PATH_MAX_LEN];
    join_key(p, sizeof p, path, key);
    uint8_t *buf;
    size_t len;
    int rc = hex_value(v, p, &buf, &len, err);
    if (rc < 0)
        return rc;
    free(*dst);
    *dst = buf;   /* ownership moves into the devinfo */
    *dst_len = len;
    return OWU_OK;
}

static int read_msos1(const struct owu_json *root, struct owu_devinfo *info, owu_err *err)
{
    static const char *const keys[] = { "vendor_code", "flags", "compat_id", "properties",
                                        "container_id", NULL };
    const struct owu_json *m;
    int rc = member(root, "", "msos1", OWU_JSON_OBJECT, false, &m, err);
    if (rc < 0 || !m)
        return rc;
    if ((rc = check_keys(m, "msos1", keys, err)) < 0)
        return rc;
    unsigned code, flags;
    if ((rc = member_uint(m, "msos1", "vendor_code", true, 255, &code, NULL, err)) < 0 ||
        (rc = member_uint(m, "msos1", "flags", true, 255, &flags, NULL, err)) < 0)
        return rc;
    info->msos1.present = true;
    info->msos1.vendor_code = (uint8_t)code;
    info->msos1.flags = (uint8_t)flags;
    if ((rc = read_blob(m, "msos1", "compat_id", &info->msos1.compat_id, &info->msos1.compat_id_len,
                        err)) < 0 ||
        (rc = read_blob(m, "msos1", "container_id", &info->msos1.container_id,
                        &info->msos1.container_id_len, err)) < 0)
        return rc;
    const struct owu_json *props;
    if ((rc = member(m, "msos1", "properties", OWU_JSON_ARRAY, false, &props, err)) < 0 || !props)
        return rc;
    if (props->count > OWU_PROFILE_MAX_PROPS)
        return perr(err, "msos1.properties", "%zu entries; at most %d", props->count,
                    OWU_PROFILE_MAX_PROPS);
    for (size_t i = 0; i < props->count; i++) {
        static const char *const pkeys[] = { "interface", "descriptor", NULL };
        char p[PATH_MAX_LEN];
        join_index(p, sizeof p, "msos1.properties", i);
        const struct owu_json *e = props->items[i];
        if (e->type != OWU_JSON_OBJECT)
            return perr(err, p, "expected an object, found %s", owu_json_type_name(e->type));
        if ((rc = check_keys(e, p, pkeys, err)) < 0)
            return rc;
        unsigned intf;
        const struct owu_json *d;
        if ((rc = member_uint(e, p, "interface", true, 255, &intf, NULL, err)) < 0 ||
            (rc = member(e, p, "descriptor", OWU_JSON_STRING, true, &d, err)) < 0)
            return rc;
        for (unsigned k = 0; k < info->msos1.num_props; k++)
            if (info->msos1.props[k].interface == intf)
                return perr(err, p, "a second entry for interface %u", intf);
        char q[PATH_MAX_LEN];
        join_key(q, sizeof q, p, "descriptor");
        uint8_t *buf;
        size_t len;
        if ((rc = hex_value(d, q, &buf, &len, err)) < 0)
            return rc;
        rc = owu_devinfo_add_msos1_props(info, (uint8_t)intf, buf, len);
        free(buf);
        if (rc < 0)
            return nomem(err);
    }
    return OWU_OK;
}

static int read_profile(const struct owu_json *root, struct owu_devinfo *info, owu_err *err)
{
    static const char *const keys[] = { "format", "version", "speed", "location", "port",
                                        "removable", "failure", "failure_detail", "device",
                                        "configurations", "bos", "strings", "msos1", "msos20",
                                        NULL };
    if (root->type != OWU_JSON_OBJECT)
        return perr(err, "", "expected a JSON object at the top level, found %s",
                    owu_json_type_name(root->type));
    const struct owu_json *v;
    int rc = member(root, "", "format", OWU_JSON_STRING, true, &v, err);
    if (rc < 0)
        return rc;
    if (strcmp(v->string, OWU_PROFILE_FORMAT) != 0)
        return perr(err, "format", "\"%.64s\" is not \"" OWU_PROFILE_FORMAT "\"", v->string);
    unsigned version;
    if ((rc = member_uint(root, "", "version", true, 1000000, &version, NULL, err)) < 0)
        return rc;
    if (version != OWU_PROFILE_VERSION)
        return perr(err, "version", "%u is not supported (this program reads version %d)", version,
                    OWU_PROFILE_VERSION);
    if ((rc = check_keys(root, "", keys, err)) < 0)
        return rc;

    if ((rc = member(root, "", "speed", OWU_JSON_STRING, true, &v, err)) < 0)
        return rc;
    info->speed = owu_speed_from_name(v->string);
    if (info->speed == OWU_SPEED_UNKNOWN)
        return perr(err, "speed", "\"%.32s\" is not low, full, high, super or super-plus", v->string);

    if ((rc = member(root, "", "location", OWU_JSON_STRING, false, &v, err)) < 0)
        return rc;
    if (v) {
        if (v->string_len >= sizeof info->location)
            return perr(err, "location", "longer than %zu bytes", sizeof info->location - 1);
        memcpy(info->location, v->string, v->string_len + 1);
    }
    unsigned port;
    bool has;
    if ((rc = member_uint(root, "", "port", false, 255, &port, &has, err)) < 0)
        return rc;
    info->port = has ? port : 0;
    if ((rc = member(root, "", "removable", OWU_JSON_BOOL, false, &v, err)) < 0)
        return rc;
    info->removable = v ? v->boolean : true;

    if ((rc = member(root, "", "failure", OWU_JSON_STRING, false, &v, err)) < 0)
        return rc;
    info->failure = OWU_FAIL_NONE;
    if (v && !owu_profile_failure_from_name(v->string, &info->failure))
        return perr(err, "failure", "\"%.40s\" is not a known failure (none, reset, device-descriptor, "
                    "config-descriptor, set-address, device-descriptor-invalid, "
                    "config-descriptor-invalid, port-link-ssinactive, port-link-compliance, unknown)",
                    v->string);
    if ((rc = member(root, "", "failure_detail", OWU_JSON_STRING, false, &v, err)) < 0)
        return rc;
    if (v) {
        if (v->string_len >= sizeof info->failure_detail)
            return perr(err, "failure_detail", "longer than %zu bytes", sizeof info->failure_detail - 1);
        memcpy(info->failure_detail, v->string, v->string_len + 1);
    }

    if ((rc = read_device(root, info, err)) < 0 || (rc = read_configs(root, info, err)) < 0 ||
        (rc = read_blob(root, "", "bos", &info->bos, &info->bos_len, err)) < 0 ||
        (rc = read_strings(root, info, err)) < 0 || (rc = read_msos1(root, info, err)) < 0 ||
        (rc = read_blob(root, "", "msos20", &info->msos20, &info->msos20_len, err)) < 0)
        return rc;
    return OWU_OK;
}

int owu_profile_parse(const char *json, size_t len, struct owu_devinfo **out, owu_err *err)
{
    if (!out)
        return owu_fail(err, OWU_E_INVAL, "owu_profile_parse: no output pointer");
    *out = NULL;
    struct owu_json *root = NULL;
    int rc = owu_json_parse(json, len, &root, err);
    if (rc < 0)
        return rc;
    struct owu_devinfo *info = owu_devinfo_new();
    if (!info) {
        owu_json_free(root);
        return nomem(err);
    }
    rc = read_profile(root, info, err);
    owu_json_free(root);
    if (rc < 0) {
        owu_devinfo_free(info);
        return rc;
    }
    *out = info;
    return OWU_OK;
}

int owu_profile_load(const char *path, struct owu_devinfo **out, owu_err *err)
{
    if (!out)
        return owu_fail(err, OWU_E_INVAL, "owu_profile_load: no output pointer");
    *out = NULL;
    char *text;
    size_t len;
    int rc = owu_read_file(path, OWU_PROFILE_MAX_FILE, &text, &len, err);
    if (rc < 0)
        return rc;
    rc = owu_profile_parse(text, len, out, err);
    free(text);
    if (rc < 0 && rc != OWU_E_NOMEM)
        owu_err_wrap(err, "%s: ", path);
    return rc;
}

/* ---- writing ------------------------------------------------------------------------------------ */

static bool blob_too_big(const uint8_t *p, size_t len)
{
    return p && len > OWU_PROFILE_MAX_BLOB;
}

/* The writer refuses what the reader would refuse for size or shape, so that every profile
 * it writes can be read back. */
static int check_writable(const struct owu_devinfo *info, owu_err *err)
{
    if (info->speed == OWU_SPEED_UNKNOWN || !owu_speed_name(info->speed) ||
        owu_speed_from_name(owu_speed_name(info->speed)) != info->speed)
        return owu_fail(err, OWU_E_INVAL, "profile: the device speed is unknown");
    if ((unsigned)info->failure >= NUM_FAILURES)
        return owu_fail(err, OWU_E_INVAL, "profile: failure code %d is not known", (int)info->failure);
    if (info->device_len > OWU_DEVICE_DESC_SIZE)
        return owu_fail(err, OWU_E_INVAL, "profile: device descriptor length %zu", info->device_len);
    if (info->num_configs > OWU_PROFILE_MAX_CONFIGS || info->num_strings > OWU_PROFILE_MAX_STRINGS ||
        info->msos1.num_props > OWU_PROFILE_MAX_PROPS)
        return owu_fail(err, OWU_E_INVAL, "profile: more configurations, strings or MS OS 1.0 "
                        "property descriptors than a profile holds");
    if (info->port > 255)
        return owu_fail(err, OWU_E_INVAL, "profile: port %u is above 255", info->port);
    for (unsigned i = 0; i < info->num_configs; i++)
        if (blob_too_big(info->configs[i].data, info->configs[i].len) || !info->configs[i].data)
            return owu_fail(err, OWU_E_INVAL, "profile: configuration %u is missing or too long", i);
    for (unsigned i = 0; i < info->num_strings; i++) {
        const struct owu_string_entry *s = &info->strings[i];
        if (!s->desc || s->len < 2 || s->len > 255 || s->desc[1] != OWU_DT_STRING)
            return owu_fail(err, OWU_E_INVAL, "profile: string %u (langid %04X) is not a string "
                            "descriptor", s->index, s->langid);
    }
    for (unsigned i = 0; i < info->msos1.num_props; i++)
        if (!info->msos1.props[i].data || blob_too_big(info->msos1.props[i].data, info->msos1.props[i].len))
            return owu_fail(err, OWU_E_INVAL, "profile: MS OS 1.0 properties %u missing or too long", i);
    if (blob_too_big(info->bos, info->bos_len) || blob_too_big(info->msos20, info->msos20_len) ||
        blob_too_big(info->msos1.compat_id, info->msos1.compat_id_len) ||
        blob_too_big(info->msos1.container_id, info->msos1.container_id_len))
        return owu_fail(err, OWU_E_INVAL, "profile: a descriptor is longer than %zu bytes",
                        OWU_PROFILE_MAX_BLOB);
    return OWU_OK;
}

/* A fixed char array that may lack its NUL, as a C string. */
static void copy_field(char *dst, size_t dstsz, const char *src, size_t srcsz)
{
    size_t n = strnlen(src, srcsz);
    if (n >= dstsz)
        n = dstsz - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* A human hint next to a string descriptor; the descriptor bytes stay authoritative. */
static void string_comment(const struct owu_string_entry *s, char *out, size_t outsz)
{
    out[0] = '\0';
    if (s->index == 0) {
        uint16_t ids[127];
        int n = owu_langids_parse(s->desc, s->len, ids, 127, NULL);
        if (n <= 0)
            return;
        size_t used = (size_t)snprintf(out, outsz, "LANGIDs");
        for (int i = 0; i < n && used + 6 < outsz; i++)
            used += (size_t)snprintf(out + used, outsz - used, " %04X", ids[i]);
        return;
    }
    if (s->index == 0xEE) {
        snprintf(out, outsz, "MS OS 1.0 signature");
        return;
    }
    if (owu_string_desc_decode(s->desc, s->len, out, outsz, NULL) < 0)
        out[0] = '\0';
}

int owu_profile_write(const struct owu_devinfo *info, FILE *f, owu_err *err)
{
    if (!info || !f)
        return owu_fail(err, OWU_E_INVAL, "owu_profile_write: no device information or file");
    int rc = check_writable(info, err);
    if (rc < 0)
        return rc;
    struct owu_json_writer w;
    owu_jw_init(&w, f, true);
    owu_jw_begin_object(&w);
    owu_jw_key(&w, "format");
    owu_jw_string(&w, OWU_PROFILE_FORMAT);
    owu_jw_key(&w, "version");
    owu_jw_int(&w, OWU_PROFILE_VERSION);
    owu_jw_key(&w, "speed");
    owu_jw_string(&w, owu_speed_name(info->speed));
    char text[sizeof info->failure_detail];
    copy_field(text, sizeof text, info->location, sizeof info->location);
    if (text[0]) {
        owu_jw_key(&w, "location");
        owu_jw_string(&w, text);
    }
    owu_jw_key(&w, "port");
    owu_jw_int(&w, info->port);
    owu_jw_key(&w, "removable");
    owu_jw_bool(&w, info->removable);
    if (info->failure != OWU_FAIL_NONE) {
        owu_jw_key(&w, "failure");
        owu_jw_string(&w, owu_profile_failure_name(info->failure));
    }
    copy_field(text, sizeof text, info->failure_detail, sizeof info->failure_detail);
    if (text[0]) {
        owu_jw_key(&w, "failure_detail");
        owu_jw_string(&w, text);
    }
    if (info->device_len) {
        owu_jw_key(&w, "device");
        owu_jw_hex(&w, info->device, info->device_len);
    }
    owu_jw_key(&w, "configurations");
    owu_jw_begin_array(&w);
    for (unsigned i = 0; i < info->num_configs; i++)
        owu_jw_hex(&w, info->configs[i].data, info->configs[i].len);
    owu_jw_end_array(&w);
    if (info->bos) {
        owu_jw_key(&w, "bos");
        owu_jw_hex(&w, info->bos, info->bos_len);
    }
    if (info->num_strings) {
        owu_jw_key(&w, "strings");
        owu_jw_begin_array(&w);
        for (unsigned i = 0; i < info->num_strings; i++) {
            const struct owu_string_entry *s = &info->strings[i];
            char langid[8], comment[512];
            snprintf(langid, sizeof langid, "%04X", s->langid);
            owu_jw_begin_object(&w);
            owu_jw_key(&w, "index");
            owu_jw_int(&w, s->index);
            owu_jw_key(&w, "langid");
            owu_jw_string(&w, langid);
            owu_jw_key(&w, "descriptor");
            owu_jw_hex(&w, s->desc, s->len);
            string_comment(s, comment, sizeof comment);
            if (comment[0]) {
                owu_jw_key(&w, "comment");
                owu_jw_string(&w, comment);
            }
            owu_jw_end_object(&w);
        }
        owu_jw_end_array(&w);
    }
    if (info->msos1.present) {
        const struct owu_msos1_info *m = &info->msos1;
        owu_jw_key(&w, "msos1");
        owu_jw_begin_object(&w);
        owu_jw_key(&w, "vendor_code");
        owu_jw_int(&w, m->vendor_code);
        owu_jw_key(&w, "flags");
        owu_jw_int(&w, m->flags);
        if (m->compat_id) {
            owu_jw_key(&w, "compat_id");
            owu_jw_hex(&w, m->compat_id, m->compat_id_len);
        }
        if (m->num_props) {
            owu_jw_key(&w, "properties");
            owu_jw_begin_array(&w);
            for (unsigned i = 0; i < m->num_props; i++) {
                owu_jw_begin_object(&w);
                owu_jw_key(&w, "interface");
                owu_jw_int(&w, m->props[i].interface);
                owu_jw_key(&w, "descriptor");
                owu_jw_hex(&w, m->props[i].data, m->props[i].len);
                owu_jw_end_object(&w);
            }
            owu_jw_end_array(&w);
        }
        if (m->container_id) {
            owu_jw_key(&w, "container_id");
            owu_jw_hex(&w, m->container_id, m->container_id_len);
        }
        owu_jw_end_object(&w);
    }
    if (info->msos20) {
        owu_jw_key(&w, "msos20");
        owu_jw_hex(&w, info->msos20, info->msos20_len);
    }
    owu_jw_end_object(&w);
    owu_jw_finish(&w);
    if (fflush(f) != 0 || ferror(f))
        return owu_fail(err, OWU_E_IO, "profile: writing failed");
    return OWU_OK;
}

int owu_profile_save(const struct owu_devinfo *info, const char *path, owu_err *err)
{
    if (!path || !info)
        return owu_fail(err, OWU_E_INVAL, "owu_profile_save: no path or device information");
    /* Refuse before touching the file, so a bad devinfo does not truncate an old profile. */
    int rc = check_writable(info, err);
    if (rc < 0)
        return rc;
    FILE *f = fopen(path, "w");
    if (!f)
        return owu_fail(err, OWU_E_IO, "%s: %s", path, strerror(errno));
    rc = owu_profile_write(info, f, err);
    if (fclose(f) != 0 && rc == OWU_OK)
        rc = owu_fail(err, OWU_E_IO, "%s: %s", path, strerror(errno));
    else if (rc < 0 && rc != OWU_E_NOMEM)
        owu_err_wrap(err, "%s: ", path);
    return rc;
}

/* ---- comparing ------------------------------------------------------------------------------------- */

static bool same_blob(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    if (!a || !b)
        return !a && !b && alen == blen;
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

bool owu_profile_equal(const struct owu_devinfo *a, const struct owu_devinfo *b)
{
    if (!a || !b)
        return a == b;
    if (a->speed != b->speed || a->port != b->port || a->removable != b->removable ||
        a->failure != b->failure || a->device_len != b->device_len ||
        a->num_configs != b->num_configs || a->num_strings != b->num_strings)
        return false;
    if (strncmp(a->location, b->location, sizeof a->location) != 0 ||
        strncmp(a->failure_detail, b->failure_detail, sizeof a->failure_detail) != 0)
        return false;
    if (a->device_len > sizeof a->device || memcmp(a->device, b->device, a->device_len) != 0)
        return false;
    for (unsigned i = 0; i < a->num_configs; i++)
        if (!same_blob(a->configs[i].data, a->configs[i].len, b->configs[i].data, b->configs[i].len))
            return false;
    if (!same_blob(a->bos, a->bos_len, b->bos, b->bos_len) ||
        !same_blob(a->msos20, a->msos20_len, b->msos20, b->msos20_len))
        return false;
    for (unsigned i = 0; i < a->num_strings; i++) {
        const struct owu_string_entry *x = &a->strings[i], *y = &b->strings[i];
        if (x->index != y->index || x->langid != y->langid || !same_blob(x->desc, x->len, y->desc, y->len))
            return false;
    }
    const struct owu_msos1_info *m = &a->msos1, *n = &b->msos1;
    if (m->present != n->present || m->vendor_code != n->vendor_code || m->flags != n->flags ||
        m->num_props != n->num_props ||
        !same_blob(m->compat_id, m->compat_id_len, n->compat_id, n->compat_id_len) ||
        !same_blob(m->container_id, m->container_id_len, n->container_id, n->container_id_len))
        return false;
    for (unsigned i = 0; i < m->num_props; i++)
        if (m->props[i].interface != n->props[i].interface ||
            !same_blob(m->props[i].data, m->props[i].len, n->props[i].data, n->props[i].len))
            return false;
    return true;
}
