/* A CDC-ACM serial port: IAD over a communication interface (notification endpoint 0x83)
 * and a data interface (bulk 0x81 IN / 0x02 OUT, looped back). The function logic is in
 * cdc_acm_function.c, shared with the composite model. */
#include "core/urb.h"
#include "devices/cdc_acm_function.h"
#include "devices/desc_build.h"
#include "devices/model_funcs.h"

#define ACM_EP_NOTIFY 0x83
#define ACM_EP_IN 0x81
#define ACM_EP_OUT 0x02

static const uint8_t acm_device[] = {
    OWU_D_DEVICE(0x0200, 0xEF, 0x02, 0x01, 64, 0x1209, 0x0001, 0x0100, 1, 2, 3, 1),
};

#define ACM_CONFIG_LEN 75
static const uint8_t acm_config[] = {
    OWU_D_CONFIG(ACM_CONFIG_LEN, 2, 1, 0, 0x80, 50),
    OWU_D_IAD(0, 2, 0x02, 0x02, 0x01, 0),
    OWU_D_INTERFACE(0, 0, 1, 0x02, 0x02, 0x01, 0),
    OWU_ACM_FUNCTIONAL_DESCS(0, 1),
    OWU_D_ENDPOINT(ACM_EP_NOTIFY, OWU_EP_INTR, 16, 8),   /* 2^7 microframes = 16 ms */
    OWU_D_INTERFACE(1, 0, 2, 0x0A, 0x00, 0x00, 0),
    OWU_D_ENDPOINT(ACM_EP_IN, OWU_EP_BULK, 512, 0),
    OWU_D_ENDPOINT(ACM_EP_OUT, OWU_EP_BULK, 512, 0),
};
_Static_assert(sizeof acm_config == ACM_CONFIG_LEN, "acm_config: length field and table disagree");

static const struct owu_vblob acm_configs[] = {{acm_config, sizeof acm_config}};
static const uint16_t acm_langids[] = {0x0409};
static const struct owu_vstring acm_strings[] = {
    {1, "openwinusb"},
    {2, "openwinusb CDC-ACM serial port"},
    {3, "OWUACM0001"},
};

struct acm_state {
    struct owu_model_funcs funcs;   /* first: see model_funcs.h */
    struct owu_acm_fn acm;
};

static int acm_init(struct owu_vdev *vd, const void *arg)
{
    struct acm_state *st = owu_vdev_priv(vd);
    st->funcs.acm = &st->acm;
    owu_acm_fn_init(&st->acm, 0, ACM_EP_NOTIFY, ACM_EP_OUT, ACM_EP_IN);
    return OWU_OK;
}

static int acm_control(struct owu_vdev *vd, const struct owu_setup *s, uint8_t *data)
{
    struct acm_state *st = owu_vdev_priv(vd);
    return owu_acm_fn_control(&st->acm, vd, s, data);
}

static void acm_transfer(struct owu_vdev *vd, struct owu_urb *urb)
{
    struct acm_state *st = owu_vdev_priv(vd);
    if (!owu_vdev_active_endpoint(vd, urb->endpoint, NULL) ||
        !owu_acm_fn_transfer(&st->acm, vd, urb))
        owu_vdev_complete(vd, urb, OWU_E_STALL, 0);
}

static void acm_configured(struct owu_vdev *vd, uint8_t value)
{
    struct acm_state *st = owu_vdev_priv(vd);
    owu_acm_fn_configured(&st->acm);
}

static void acm_bus_reset(struct owu_vdev *vd)
{
    struct acm_state *st = owu_vdev_priv(vd);
    owu_acm_fn_reset(&st->acm);
}

const struct owu_vdev_model owu_model_cdc_acm = {
    .name = "cdc-acm",
    .summary = "CDC-ACM serial port (1209:0001): line coding, modem lines, loopback",
    .speed = OWU_SPEED_HIGH,
    .device = acm_device,
    .device_len = sizeof acm_device,
    .configs = acm_configs,
    .num_configs = 1,
    .langids = acm_langids,
    .num_langids = 1,
    .strings = acm_strings,
    .num_strings = sizeof acm_strings / sizeof acm_strings[0],
    .priv_size = sizeof(struct acm_state),
    .init = acm_init,
    .control = acm_control,
    .transfer = acm_transfer,
    .configured = acm_configured,
    .bus_reset = acm_bus_reset,
};
