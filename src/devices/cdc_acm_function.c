/* The CDC-ACM function: line coding, control lines, SERIAL_STATE notifications (linux-usb.md
 * §3) and a data loopback. Used by the cdc-acm and composite models. */
#include "devices/cdc_acm_function.h"

#include <string.h>

#include "core/urb.h"
#include "devices/model_funcs.h"

enum {
    ACM_SET_LINE_CODING = 0x20,
    ACM_GET_LINE_CODING = 0x21,
    ACM_SET_CONTROL_LINE_STATE = 0x22,
    ACM_SEND_BREAK = 0x23,
    ACM_NOTIFY_SERIAL_STATE = 0x20,
    ACM_LEVELS = OWU_ACM_STATE_DCD | OWU_ACM_STATE_DSR,
    ACM_EVENTS = 0x7C,
};

/* 9600 baud, 1 stop bit, no parity, 8 data bits. */
static const uint8_t default_line[7] = {0x80, 0x25, 0x00, 0x00, 0, 0, 8};

void owu_acm_fn_init(struct owu_acm_fn *f, uint8_t comm_intf, uint8_t notify_ep,
                     uint8_t data_out_ep, uint8_t data_in_ep)
{
    f->comm_intf = comm_intf;
    f->notify_ep = notify_ep;
    owu_loopback_init(&f->data, data_out_ep, data_in_ep);
    owu_acm_fn_reset(f);
}

void owu_acm_fn_reset(struct owu_acm_fn *f)
{
    memcpy(f->line, default_line, sizeof f->line);
    f->lines = 0;
    f->levels = 0;
    f->npending = 0;
    f->breaks = 0;
    f->last_break = 0;
    owu_loopback_flush(&f->data);
}

void owu_acm_fn_configured(struct owu_acm_fn *f) { owu_loopback_flush(&f->data); }

/* Hands queued SERIAL_STATE values to parked notification URBs, oldest first. */
static void deliver(struct owu_acm_fn *f, struct owu_vdev *vd)
{
    while (f->npending) {
        struct owu_urb *u = owu_vdev_take(vd, f->notify_ep);
        if (!u)
            return;
        uint8_t msg[OWU_ACM_NOTIFY_LEN] = {0xA1, ACM_NOTIFY_SERIAL_STATE, 0, 0, f->comm_intf, 0, 2, 0,
                                            0, 0};
        owu_put_le16(msg + 8, f->pending[0]);
        memmove(f->pending, f->pending + 1, (f->npending - 1) * sizeof f->pending[0]);
        f->npending--;
        size_t n = u->length < sizeof msg ? u->length : sizeof msg;
        if (n)
            memcpy(u->buffer, msg, n);
        /* A buffer smaller than the notification is babble on a real bus. */
        owu_vdev_complete(vd, u, n < sizeof msg ? OWU_E_OVERFLOW : OWU_OK, n);
    }
}

/* Queues a notification. When the host has not collected the last few, the newest entry
 * absorbs the new one: current levels, accumulated events, so no event is lost. */
static void notify(struct owu_acm_fn *f, struct owu_vdev *vd, uint16_t state)
{
    if (f->npending == OWU_ACM_NOTIFY_QUEUE) {
        uint16_t *last = &f->pending[OWU_ACM_NOTIFY_QUEUE - 1];
        *last = (uint16_t)((*last & ACM_EVENTS) | state);
    } else {
        f->pending[f->npending++] = state;
    }
    deliver(f, vd);
}

void owu_acm_fn_serial_state(struct owu_acm_fn *f, struct owu_vdev *vd, uint16_t bits)
{
    f->levels = bits & ACM_LEVELS;
    notify(f, vd, bits & (ACM_LEVELS | ACM_EVENTS));
}

/* Like Linux f_acm: the device answers DTR with DSR|DCD (the "other end" is there). */
static void set_lines(struct owu_acm_fn *f, struct owu_vdev *vd, uint16_t lines)
{
    bool dtr_was = f->lines & OWU_ACM_DTR, dtr = lines & OWU_ACM_DTR;
    f->lines = lines;
    if (dtr == dtr_was)
        return;
    f->levels = dtr ? ACM_LEVELS : 0;
    notify(f, vd, f->levels);
}

static bool line_coding_valid(const uint8_t *lc)
{
    uint8_t bits = lc[6];
    return owu_le32(lc) != 0 && lc[4] <= 2 && lc[5] <= 4 &&
           (bits == 5 || bits == 6 || bits == 7 || bits == 8 || bits == 16);
}

int owu_acm_fn_control(struct owu_acm_fn *f, struct owu_vdev *vd, const struct owu_setup *s,
                       uint8_t *data)
{
    if ((s->bmRequestType & (OWU_TYPE_MASK | OWU_RECIP_MASK)) != (OWU_TYPE_CLASS | OWU_RECIP_INTERFACE) ||
        s->wIndex != f->comm_intf)
        return OWU_VDEV_DEFAULT;
    bool in = (s->bmRequestType & OWU_DIR_IN) != 0;
    switch (s->bRequest) {
    case ACM_SET_LINE_CODING:
        if (in || s->wLength != sizeof f->line || !line_coding_valid(data))
            return OWU_E_STALL;
        memcpy(f->line, data, sizeof f->line);
        return 0;
    case ACM_GET_LINE_CODING:
        return in ? owu_vdev_reply(s, data, f->line, sizeof f->line) : OWU_E_STALL;
    case ACM_SET_CONTROL_LINE_STATE:
        if (in || s->wLength)
            return OWU_E_STALL;
        set_lines(f, vd, s->wValue & (OWU_ACM_DTR | OWU_ACM_RTS));
        return 0;
    case ACM_SEND_BREAK:
        if (in || s->wLength)
            return OWU_E_STALL;
        f->breaks++;
        f->last_break = s->wValue;
        if (s->wValue)   /* 0 ends a break; a start is reported once, as f_acm does */
            notify(f, vd, (uint16_t)(f->levels | OWU_ACM_STATE_BREAK));
        return 0;
    default:
        return OWU_E_STALL;   /* comm features, encapsulated commands: not offered */
    }
}

bool owu_acm_fn_transfer(struct owu_acm_fn *f, struct owu_vdev *vd, struct owu_urb *urb)
{
    if (urb->endpoint == f->notify_ep) {
        owu_vdev_queue(vd, urb);
        deliver(f, vd);
        return true;
    }
    return owu_loopback_transfer(&f->data, vd, urb);
}

/* ---- injection / inspection API (models.h) ------------------------------------------------ */

struct acm_call {
    int rc;
    uint16_t bits;
    struct owu_cdc_line_coding *lc;
    uint16_t *last_break;
};

static struct owu_acm_fn *acm_of(struct owu_vdev *vd)
{
    struct owu_model_funcs *funcs = owu_model_funcs_of(vd);
    return funcs ? funcs->acm : NULL;
}

static void do_line_coding(struct owu_vdev *vd, void *arg)
{
    struct acm_call *c = arg;
    const struct owu_acm_fn *f = acm_of(vd);
    c->lc->rate = owu_le32(f->line);
    c->lc->stop_bits = f->line[4];
    c->lc->parity = f->line[5];
    c->lc->data_bits = f->line[6];
}

int owu_cdc_acm_line_coding(struct owu_vdev *vd, struct owu_cdc_line_coding *out)
{
    if (!acm_of(vd) || !out)
        return OWU_E_INVAL;
    struct acm_call c = {.lc = out};
    owu_vdev_with_lock(vd, do_line_coding, &c);
    return OWU_OK;
}

static void do_control_lines(struct owu_vdev *vd, void *arg)
{
    ((struct acm_call *)arg)->rc = acm_of(vd)->lines;
}

int owu_cdc_acm_control_lines(struct owu_vdev *vd)
{
    if (!acm_of(vd))
        return OWU_E_INVAL;
    struct acm_call c = {0};
    owu_vdev_with_lock(vd, do_control_lines, &c);
    return c.rc;
}

static void do_serial_state(struct owu_vdev *vd, void *arg)
{
    owu_acm_fn_serial_state(acm_of(vd), vd, ((struct acm_call *)arg)->bits);
}

int owu_cdc_acm_set_serial_state(struct owu_vdev *vd, uint16_t bits)
{
    if (!acm_of(vd))
        return OWU_E_INVAL;
    struct acm_call c = {.bits = bits};
    owu_vdev_with_lock(vd, do_serial_state, &c);
    return OWU_OK;
}

static void do_breaks(struct owu_vdev *vd, void *arg)
{
    struct acm_call *c = arg;
    const struct owu_acm_fn *f = acm_of(vd);
    c->rc = (int)f->breaks;
    if (c->last_break)
        *c->last_break = f->last_break;
}

int owu_cdc_acm_breaks(struct owu_vdev *vd, uint16_t *last_duration)
{
    if (!acm_of(vd))
        return OWU_E_INVAL;
    struct acm_call c = {.last_break = last_duration};
    owu_vdev_with_lock(vd, do_breaks, &c);
    return c.rc;
}
