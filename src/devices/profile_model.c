/* Replays a recorded device (struct owu_devinfo, e.g. from a JSON profile or sysfs): the
 * device, configuration, string and BOS descriptors exactly as stored, MS OS 1.0 and 2.0
 * answers from the recorded blobs. No function behind it: data endpoints NAK forever (their
 * URBs stay pending until cancelled), control requests the recording cannot answer stall.
 *
 * The model keeps no constant tables; the standard handler reaches the configurations
 * through get_descriptor for SET_CONFIGURATION and friends. The recorded speed is applied to
 * the bus device at init (the bus created it with the model's nominal speed). */
#include <stdlib.h>

#include <openwinusb/descriptors.h>
#include <openwinusb/devinfo.h>

#include "core/urb.h"
#include "devices/models.h"

#define MSOS20_DESCRIPTOR_INDEX 7
#define MSOS1_STRING_INDEX 0xEE
/* Pick the newest descriptor-set record the BOS offers. */
#define ANY_WINDOWS_VERSION 0xFFFFFFFFu

struct profile_state {
    struct owu_devinfo *info;
    struct owu_vmsos1_props *props;   /* the recorded MS OS 1.0 properties, as a model table */
    struct owu_vmsos_view msos;       /* what the recording answers to MS OS requests */
};

static int profile_init(struct owu_vdev *vd, const void *arg)
{
    struct profile_state *st = owu_vdev_priv(vd);
    if (!arg)
        return OWU_E_INVAL;
    st->info = owu_devinfo_clone(arg);
    if (!st->info)
        return OWU_E_NOMEM;
    if (st->info->speed != OWU_SPEED_UNKNOWN && vd->dev)
        vd->dev->speed = st->info->speed;
    struct owu_bos *bos = NULL;
    if (st->info->bos && owu_bos_parse(st->info->bos, st->info->bos_len, &bos, NULL) == OWU_OK) {
        const struct owu_msos20_set_info *set = owu_bos_msos20_for(bos, ANY_WINDOWS_VERSION);
        if (set)
            st->msos.msos20_vendor_code = set->bMS_VendorCode;
        owu_bos_free(bos);
    }
    const struct owu_msos1_info *m = &st->info->msos1;
    if (m->num_props) {
        st->props = calloc(m->num_props, sizeof *st->props);
        if (!st->props) {
            owu_devinfo_free(st->info);
            st->info = NULL;
            return OWU_E_NOMEM;
        }
        for (unsigned i = 0; i < m->num_props; i++)
            st->props[i] = (struct owu_vmsos1_props){m->props[i].interface, m->props[i].data, m->props[i].len};
    }
    st->msos.msos1_vendor_code = m->present ? m->vendor_code : 0;
    st->msos.msos1_compat = m->compat_id;
    st->msos.msos1_compat_len = m->compat_id_len;
    st->msos.msos1_props = st->props;
    st->msos.num_msos1_props = m->num_props;
    st->msos.msos1_container_id = m->container_id;
    st->msos.msos1_container_id_len = m->container_id_len;
    st->msos.msos20 = st->info->msos20;
    st->msos.msos20_len = st->info->msos20_len;
    return OWU_OK;
}

static void profile_fini(struct owu_vdev *vd)
{
    struct profile_state *st = owu_vdev_priv(vd);
    owu_devinfo_free(st->info);
    st->info = NULL;
    free(st->props);
    st->props = NULL;
}

static int profile_get_descriptor(struct owu_vdev *vd, const struct owu_setup *s, uint8_t *data)
{
    const struct owu_devinfo *info = ((struct profile_state *)owu_vdev_priv(vd))->info;
    if ((s->bmRequestType & OWU_RECIP_MASK) != OWU_RECIP_DEVICE)
        return OWU_E_STALL;   /* class descriptors (HID reports, ...) were never recorded */
    uint8_t index = (uint8_t)(s->wValue & 0xFF);
    switch (s->wValue >> 8) {
    case OWU_DT_DEVICE: {
        size_t len = info->device_len < sizeof info->device ? info->device_len : sizeof info->device;
        return len ? owu_vdev_reply(s, data, info->device, len) : OWU_E_STALL;
    }
    case OWU_DT_CONFIG:
        if (index >= info->num_configs || !info->configs[index].data)
            return OWU_E_STALL;
        return owu_vdev_reply(s, data, info->configs[index].data, info->configs[index].len);
    case OWU_DT_STRING: {
        /* The LANGID list and the MS OS string were read with LANGID 0; other strings are
         * looked up for the LANGID asked (any recorded language when the host sends 0). */
        uint16_t langid = index == 0 || index == MSOS1_STRING_INDEX ? 0 : s->wIndex;
        const struct owu_string_entry *e = owu_devinfo_find_string(info, index, langid);
        return e && e->desc ? owu_vdev_reply(s, data, e->desc, e->len) : OWU_E_STALL;
    }
    case OWU_DT_BOS:
        return info->bos ? owu_vdev_reply(s, data, info->bos, info->bos_len) : OWU_E_STALL;
    default:
        return OWU_E_STALL;   /* qualifier and other-speed configuration are not recorded */
    }
}

static int profile_control(struct owu_vdev *vd, const struct owu_setup *s, uint8_t *data)
{
    const struct profile_state *st = owu_vdev_priv(vd);
    if ((s->bmRequestType & OWU_TYPE_MASK) != OWU_TYPE_VENDOR)
        return OWU_VDEV_DEFAULT;
    return owu_vdev_msos_request(&st->msos, s, data);
}

static void profile_transfer(struct owu_vdev *vd, struct owu_urb *urb)
{
    if (owu_vdev_active_endpoint(vd, urb->endpoint, NULL))
        owu_vdev_queue(vd, urb);
    else
        owu_vdev_complete(vd, urb, OWU_E_STALL, 0);
}

const struct owu_vdev_model owu_model_profile = {
    .name = "profile",
    .summary = "replays a recorded device profile (descriptors only)",
    .speed = OWU_SPEED_HIGH,
    .priv_size = sizeof(struct profile_state),
    .init = profile_init,
    .fini = profile_fini,
    .control = profile_control,
    .transfer = profile_transfer,
    .get_descriptor = profile_get_descriptor,
};
