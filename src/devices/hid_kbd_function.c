/* The HID boot keyboard function: report descriptor, class requests (GET/SET_REPORT,
 * GET/SET_IDLE, GET/SET_PROTOCOL) and a queue of input reports for the interrupt endpoint.
 * Reports go out on change only; the idle rate is stored and reported back but no periodic
 * repeats are generated. */
#include "devices/hid_kbd_function.h"

#include <string.h>

#include "core/urb.h"
#include "devices/model_funcs.h"

enum {
    HID_GET_REPORT = 0x01,
    HID_GET_IDLE = 0x02,
    HID_GET_PROTOCOL = 0x03,
    HID_SET_REPORT = 0x09,
    HID_SET_IDLE = 0x0A,
    HID_SET_PROTOCOL = 0x0B,
    HID_REPORT_INPUT = 1,
    HID_REPORT_OUTPUT = 2,
    HID_DEFAULT_IDLE = 125,   /* 500 ms, the boot keyboard default */
    KEY_LEFT_SHIFT = 0x02,
};

/* Boot keyboard: 8 modifier bits, a reserved byte, 5 LED bits (output) and 3 padding bits,
 * six key usages 0..101. */
const uint8_t owu_hidkbd_report_desc[] = {
    0x05, 0x01, 0x09, 0x06, 0xA1, 0x01,             /* Generic Desktop, Keyboard, Application */
    0x05, 0x07, 0x19, 0xE0, 0x29, 0xE7,             /* Keyboard page, usages E0..E7 */
    0x15, 0x00, 0x25, 0x01, 0x75, 0x01, 0x95, 0x08, /* 0..1, 8 x 1 bit */
    0x81, 0x02,                                     /* Input (Data, Var, Abs): modifiers */
    0x95, 0x01, 0x75, 0x08, 0x81, 0x01,             /* Input (Const): reserved byte */
    0x95, 0x05, 0x75, 0x01, 0x05, 0x08,             /* 5 x 1 bit, LED page */
    0x19, 0x01, 0x29, 0x05, 0x91, 0x02,             /* LEDs 1..5, Output (Data, Var, Abs) */
    0x95, 0x01, 0x75, 0x03, 0x91, 0x01,             /* Output (Const): padding */
    0x95, 0x06, 0x75, 0x08, 0x15, 0x00, 0x25, 0x65, /* 6 x 8 bits, 0..101 */
    0x05, 0x07, 0x19, 0x00, 0x29, 0x65,             /* Keyboard page, usages 0..101 */
    0x81, 0x00,                                     /* Input (Data, Array): keys */
    0xC0,                                           /* End Collection */
};

static const uint8_t hid_desc[] = {OWU_HIDKBD_HID_DESC};
_Static_assert(sizeof hid_desc == OWU_HIDKBD_HID_DESC_LEN, "HID descriptor length");

void owu_hidkbd_fn_init(struct owu_hidkbd_fn *f, uint8_t intf, uint8_t in_ep)
{
    f->intf = intf;
    f->in_ep = in_ep;
    owu_hidkbd_fn_reset(f);
}

void owu_hidkbd_fn_reset(struct owu_hidkbd_fn *f)
{
    f->protocol = 1;
    f->idle = HID_DEFAULT_IDLE;
    f->leds = 0;
    memset(f->current, 0, sizeof f->current);
    f->head = f->count = 0;
}

static void deliver(struct owu_hidkbd_fn *f, struct owu_vdev *vd)
{
    while (f->count) {
        struct owu_urb *u = owu_vdev_take(vd, f->in_ep);
        if (!u)
            return;
        const uint8_t *r = f->queue[f->head];
        size_t n = u->length < OWU_HIDKBD_REPORT_LEN ? u->length : OWU_HIDKBD_REPORT_LEN;
        if (n)
            memcpy(u->buffer, r, n);
        f->head = (f->head + 1) % OWU_HIDKBD_QUEUE;
        f->count--;
        owu_vdev_complete(vd, u, n < OWU_HIDKBD_REPORT_LEN ? OWU_E_OVERFLOW : OWU_OK, n);
    }
}

int owu_hidkbd_fn_report(struct owu_hidkbd_fn *f, struct owu_vdev *vd,
                         const uint8_t report[OWU_HIDKBD_REPORT_LEN])
{
    if (f->count == OWU_HIDKBD_QUEUE)
        return OWU_E_BUSY;
    memcpy(f->queue[(f->head + f->count) % OWU_HIDKBD_QUEUE], report, OWU_HIDKBD_REPORT_LEN);
    f->count++;
    memcpy(f->current, report, OWU_HIDKBD_REPORT_LEN);
    deliver(f, vd);
    return OWU_OK;
}

static int get_descriptor(struct owu_hidkbd_fn *f, const struct owu_setup *s, uint8_t *data)
{
    switch (s->wValue >> 8) {
    case OWU_DT_HID:
        return owu_vdev_reply(s, data, hid_desc, sizeof hid_desc);
    case OWU_DT_HID_REPORT:
        return owu_vdev_reply(s, data, owu_hidkbd_report_desc, sizeof owu_hidkbd_report_desc);
    default:
        return OWU_E_STALL;
    }
}

int owu_hidkbd_fn_control(struct owu_hidkbd_fn *f, struct owu_vdev *vd, const struct owu_setup *s,
                          uint8_t *data)
{
    if ((s->bmRequestType & OWU_RECIP_MASK) != OWU_RECIP_INTERFACE || s->wIndex != f->intf)
        return OWU_VDEV_DEFAULT;
    uint8_t type = s->bmRequestType & OWU_TYPE_MASK;
    bool in = (s->bmRequestType & OWU_DIR_IN) != 0;
    if (type == OWU_TYPE_STANDARD)
        return in && s->bRequest == OWU_REQ_GET_DESCRIPTOR ? get_descriptor(f, s, data)
                                                           : OWU_VDEV_DEFAULT;
    if (type != OWU_TYPE_CLASS)
        return OWU_VDEV_DEFAULT;

    uint8_t report_type = (uint8_t)(s->wValue >> 8), report_id = (uint8_t)(s->wValue & 0xFF);
    switch (s->bRequest) {
    case HID_GET_REPORT:
        if (!in || report_id != 0)
            return OWU_E_STALL;
        if (report_type == HID_REPORT_INPUT)
            return owu_vdev_reply(s, data, f->current, sizeof f->current);
        if (report_type == HID_REPORT_OUTPUT)
            return owu_vdev_reply(s, data, &f->leds, 1);
        return OWU_E_STALL;   /* no feature reports */
    case HID_SET_REPORT:
        if (in || report_id != 0 || report_type != HID_REPORT_OUTPUT || s->wLength != 1)
            return OWU_E_STALL;
        f->leds = data[0] & 0x1F;
        return 0;
    case HID_GET_IDLE:
        if (!in || report_type != 0 || report_id != 0)
            return OWU_E_STALL;
        return owu_vdev_reply(s, data, &f->idle, 1);
    case HID_SET_IDLE:
        if (in || report_id != 0 || s->wLength)
            return OWU_E_STALL;
        f->idle = report_type;   /* the duration travels in the high byte */
        return 0;
    case HID_GET_PROTOCOL:
        if (!in || s->wValue)
            return OWU_E_STALL;
        return owu_vdev_reply(s, data, &f->protocol, 1);
    case HID_SET_PROTOCOL:
        if (in || s->wValue > 1 || s->wLength)
            return OWU_E_STALL;
        f->protocol = (uint8_t)s->wValue;
        return 0;
    default:
        return OWU_E_STALL;
    }
}

bool owu_hidkbd_fn_transfer(struct owu_hidkbd_fn *f, struct owu_vdev *vd, struct owu_urb *urb)
{
    if (urb->endpoint != f->in_ep)
        return false;
    owu_vdev_queue(vd, urb);
    deliver(f, vd);
    return true;
}

/* ---- injection / inspection API (models.h) ------------------------------------------------ */

struct kbd_call {
    int rc;
    const uint8_t (*reports)[OWU_HIDKBD_REPORT_LEN];
    unsigned n;
    int what;
};

static struct owu_hidkbd_fn *kbd_of(struct owu_vdev *vd)
{
    struct owu_model_funcs *funcs = owu_model_funcs_of(vd);
    return funcs ? funcs->kbd : NULL;
}

/* Queues all of c->reports or none. */
static void do_reports(struct owu_vdev *vd, void *arg)
{
    struct kbd_call *c = arg;
    struct owu_hidkbd_fn *f = kbd_of(vd);
    if (f->count + c->n > OWU_HIDKBD_QUEUE) {
        c->rc = OWU_E_BUSY;
        return;
    }
    for (unsigned i = 0; i < c->n; i++)
        owu_hidkbd_fn_report(f, vd, c->reports[i]);
    c->rc = OWU_OK;
}

static int queue_reports(struct owu_vdev *vd, const uint8_t (*reports)[OWU_HIDKBD_REPORT_LEN],
                         unsigned n)
{
    struct kbd_call c = {.reports = reports, .n = n};
    owu_vdev_with_lock(vd, do_reports, &c);
    return c.rc;
}

int owu_hid_keyboard_report(struct owu_vdev *vd, const uint8_t report[8])
{
    if (!kbd_of(vd) || !report)
        return OWU_E_INVAL;
    return queue_reports(vd, (const uint8_t (*)[OWU_HIDKBD_REPORT_LEN])report, 1);
}

int owu_hid_keyboard_press(struct owu_vdev *vd, uint8_t modifiers, uint8_t usage)
{
    if (!kbd_of(vd))
        return OWU_E_INVAL;
    uint8_t r[2][OWU_HIDKBD_REPORT_LEN] = {{modifiers, 0, usage}, {0}};
    return queue_reports(vd, (const uint8_t (*)[OWU_HIDKBD_REPORT_LEN])r, 2);
}

/* US layout: the usage and whether shift is needed, or false for no key. */
static bool ascii_key(char ch, uint8_t *usage, bool *shift)
{
    static const char plain[] = "-=[]\\;'`,./";
    static const char shifted[] = "_+{}|:\"~<>?";
    static const uint8_t punct[] = {0x2D, 0x2E, 0x2F, 0x30, 0x31, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38};
    static const char shifted_digits[] = ")!@#$%^&*(";
    unsigned char c = (unsigned char)ch;
    *shift = false;
    if (c >= 'a' && c <= 'z') {
        *usage = (uint8_t)(0x04 + (c - 'a'));
    } else if (c >= 'A' && c <= 'Z') {
        *usage = (uint8_t)(0x04 + (c - 'A'));
        *shift = true;
    } else if (c >= '1' && c <= '9') {
        *usage = (uint8_t)(0x1E + (c - '1'));
    } else if (c == '0') {
        *usage = 0x27;
    } else if (c == '\n') {
        *usage = 0x28;
    } else if (c == '\t') {
        *usage = 0x2B;
    } else if (c == ' ') {
        *usage = 0x2C;
    } else if (c && strchr(plain, c)) {
        *usage = punct[strchr(plain, c) - plain];
    } else if (c && strchr(shifted, c)) {
        *usage = punct[strchr(shifted, c) - shifted];
        *shift = true;
    } else if (c && strchr(shifted_digits, c)) {
        unsigned d = (unsigned)(strchr(shifted_digits, c) - shifted_digits);
        *usage = d == 0 ? 0x27 : (uint8_t)(0x1E + d - 1);
        *shift = true;
    } else {
        return false;
    }
    return true;
}

int owu_hid_keyboard_type(struct owu_vdev *vd, const char *text)
{
    if (!kbd_of(vd) || !text)
        return OWU_E_INVAL;
    size_t len = strlen(text);
    if (len > OWU_HIDKBD_QUEUE / 2)
        return OWU_E_BUSY;
    uint8_t r[OWU_HIDKBD_QUEUE][OWU_HIDKBD_REPORT_LEN];
    memset(r, 0, sizeof r);
    for (size_t i = 0; i < len; i++) {
        uint8_t usage;
        bool shift;
        if (!ascii_key(text[i], &usage, &shift))
            return OWU_E_INVAL;
        r[2 * i][0] = shift ? KEY_LEFT_SHIFT : 0;
        r[2 * i][2] = usage;
    }
    int rc = queue_reports(vd, (const uint8_t (*)[OWU_HIDKBD_REPORT_LEN])r, (unsigned)(2 * len));
    return rc < 0 ? rc : (int)len;
}

static void do_read(struct owu_vdev *vd, void *arg)
{
    struct kbd_call *c = arg;
    const struct owu_hidkbd_fn *f = kbd_of(vd);
    c->rc = c->what == 0 ? f->leds : c->what == 1 ? f->protocol : f->idle;
}

static int read_state(struct owu_vdev *vd, int what)
{
    if (!kbd_of(vd))
        return OWU_E_INVAL;
    struct kbd_call c = {.what = what};
    owu_vdev_with_lock(vd, do_read, &c);
    return c.rc;
}

int owu_hid_keyboard_leds(struct owu_vdev *vd) { return read_state(vd, 0); }
int owu_hid_keyboard_protocol(struct owu_vdev *vd) { return read_state(vd, 1); }
int owu_hid_keyboard_idle(struct owu_vdev *vd) { return read_state(vd, 2); }
