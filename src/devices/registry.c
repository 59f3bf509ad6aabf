/* The built-in device models, by the names OPENWINUSB_BUSES and the command line use. */
#include <string.h>

#include "devices/models.h"

static const struct owu_vdev_model *const models[] = {
    /* the standard models ("virtual:all"), in this order */
    &owu_model_fx2,
    &owu_model_cdc_acm,
    &owu_model_composite,
    &owu_model_hid_keyboard,
    &owu_model_msos1,
    &owu_model_mass_storage,
    &owu_model_hub,
    /* needs an argument (a recorded device) */
    &owu_model_profile,
    /* named only, not in "virtual:all" (its IDs would change every "all" tree) */
    &owu_model_iso_loopback,
    /* test-only devices that break the rules on purpose */
    &owu_model_hostile_total_length,
    &owu_model_hostile_zero_blength,
    &owu_model_hostile_truncated,
    &owu_model_hostile_loop,
    &owu_model_hostile_msos20_zero,
    &owu_model_hostile_ep0,
    &owu_model_hostile_bad_device,
    &owu_model_hostile_zero_configs,
    &owu_model_hostile_long_string,
    &owu_model_hostile_silent,
    &owu_model_hostile_no_address,
    &owu_model_hostile_stall_device,
    &owu_model_hostile_stall_config,
    NULL,
};

#define NUM_STANDARD 7

const struct owu_vdev_model *owu_vdev_model_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; models[i]; i++)
        if (strcmp(models[i]->name, name) == 0)
            return models[i];
    return NULL;
}

const struct owu_vdev_model *const *owu_vdev_models(void) { return models; }

bool owu_vdev_model_in_all(const struct owu_vdev_model *m)
{
    for (size_t i = 0; i < NUM_STANDARD; i++)
        if (models[i] == m)
            return true;
    return false;
}
