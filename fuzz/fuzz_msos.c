/* libFuzzer target: the MS OS descriptor parsers (1.0 extended compat ID, extended
 * properties, ContainerID; 2.0 descriptor set), then the same bytes as the MS OS
 * descriptors of a composite device built into a devnode with its usbccgp functions. */
#include <openwinusb/devinfo.h>
#include <openwinusb/pnp.h>

#include <stdlib.h>
#include <string.h>

#include "pnp/msos.h"

/* A composite device (class 00, three vendor interfaces, the middle two in an IAD). */
static const uint8_t device_desc[18] = {
    18, 1, 0x10, 0x02, 0x00, 0x00, 0x00, 64, 0x09, 0x12, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 1,
};
static const uint8_t config_desc[] = {
    9, 2, 44, 0, 3, 1, 0, 0x80, 50,
    9, 4, 0, 0, 0, 0xFF, 0, 0, 0,
    8, 11, 1, 2, 0xFF, 0x01, 0x02, 0,
    9, 4, 1, 0, 0, 0xFF, 0, 0, 0,
    9, 4, 2, 0, 0, 0xFF, 0, 0, 0,
};
static const uint8_t bos_desc[] = {
    5, 15, 33, 0, 1,
    28, 16, 5, 0, 0xDF, 0x60, 0xDD, 0xD8, 0x89, 0x45, 0xC7, 0x4C, 0x9C, 0xD2, 0x65, 0x9D, 0x9E, 0x64,
    0x8A, 0x9F, 0x00, 0x00, 0x03, 0x06, 0x40, 0x00, 0x20, 0x00,
};

static void parse_all(const uint8_t *data, size_t size)
{
    owu_err err;
    struct owu_msos20_set set;
    if (owu_msos20_parse(data, size, &set, &err) == OWU_OK) {
        (void)owu_msos20_function_for(&set, 0, 0);
        owu_msos20_free(&set);
    }
    struct owu_msos1_compat compat;
    if (owu_msos1_compat_parse(data, size, &compat, &err) == OWU_OK) {
        (void)owu_msos1_compat_for(&compat, 0);
        owu_msos1_compat_free(&compat);
    }
    struct owu_msos_props props;
    if (owu_msos1_props_parse(data, size, &props, &err) == OWU_OK)
        owu_msos_props_free(&props);
    uint8_t guid[16];
    (void)owu_msos1_container_parse(data, size, guid, &err);
}

static void build_device(const uint8_t *data, size_t size, bool v2)
{
    struct owu_devinfo *info = owu_devinfo_new();
    if (!info)
        return;
    memcpy(info->device, device_desc, sizeof device_desc);
    info->device_len = sizeof device_desc;
    info->speed = OWU_SPEED_HIGH;
    info->removable = true;
    info->port = 1;
    if (owu_devinfo_add_config(info, config_desc, sizeof config_desc) < 0)
        goto out;
    if (v2) {
        if (owu_devinfo_set_bos(info, bos_desc, sizeof bos_desc) < 0 ||
            owu_devinfo_set_msos20(info, data, size) < 0)
            goto out;
    } else {
        info->msos1.present = true;
        if (owu_devinfo_set_blob(&info->msos1.compat_id, &info->msos1.compat_id_len, data, size) < 0 ||
            owu_devinfo_set_blob(&info->msos1.container_id, &info->msos1.container_id_len, data, size) < 0 ||
            owu_devinfo_add_msos1_props(info, 1, data, size) < 0)
            goto out;
    }
    struct owu_pnp_options opt = { .target = OWU_TARGET_WIN11 };
    struct owu_devnode *node = NULL;
    if (owu_pnp_build_device(NULL, info, &opt, &node, NULL) == OWU_OK) {
        if (node->composite)
            (void)owu_usbccgp_create_functions(node, &opt, NULL);
        owu_devnode_free(node);
    }
    return;
out:
    owu_devinfo_free(info);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    parse_all(data, size);
    build_device(data, size, true);
    build_device(data, size, false);
    return 0;
}
