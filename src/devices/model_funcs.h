/* How the injection API finds a class function inside a model's private state: every model
 * that contains a CDC-ACM or HID keyboard function starts its state with this record. */
#ifndef OWU_DEVICES_MODEL_FUNCS_H
#define OWU_DEVICES_MODEL_FUNCS_H

#include "devices/models.h"

struct owu_acm_fn;
struct owu_hidkbd_fn;

struct owu_model_funcs {
    struct owu_acm_fn *acm;
    struct owu_hidkbd_fn *kbd;
};

/* NULL for models without such a record. */
static inline struct owu_model_funcs *owu_model_funcs_of(struct owu_vdev *vd)
{
    if (!vd || !vd->priv)
        return NULL;
    if (vd->model != &owu_model_cdc_acm && vd->model != &owu_model_composite &&
        vd->model != &owu_model_hid_keyboard)
        return NULL;
    return (struct owu_model_funcs *)vd->priv;
}

#endif
