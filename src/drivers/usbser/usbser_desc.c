/* Finding a CDC-ACM function's interfaces (linux-usb.md §3.4, §3.5): the Union functional
 * descriptor names the control and data interfaces; without one, Call Management's
 * bDataInterface; then the other interface of the IAD; then any data-class interface of the
 * function; finally one interface with an interrupt IN and a bulk pair ("combined"). */
#include "drivers/usbser/usbser_internal.h"

#include <string.h>

static bool in_range(uint8_t n, uint8_t first, unsigned count)
{
    return count == 0 || (n >= first && (unsigned)n < (unsigned)first + count);
}

/* The functional descriptors after the interface (and, tolerated like Linux, after its
 * endpoints). */
static void scan_functional(const struct owu_altsetting *alt, int *union_data, int *cm_data,
                            uint8_t *acm_caps)
{
    owu_span spans[1 + 16];
    unsigned ns = 0;
    spans[ns++] = alt->extra;
    for (unsigned e = 0; e < alt->num_endpoints && ns < 17; e++)
        spans[ns++] = alt->endpoints[e].extra;
    for (unsigned s = 0; s < ns; s++) {
        owu_desc_iter it;
        owu_desc_iter_init(&it, spans[s], 0);
        const uint8_t *d;
        size_t len;
        while (owu_desc_iter_next(&it, &d, &len)) {
            if (len < 3 || d[1] != CDC_CS_INTERFACE)
                continue;
            if (d[2] == CDC_FD_UNION && len >= 5 && *union_data < 0 && d[3] == alt->bInterfaceNumber &&
                d[4] != alt->bInterfaceNumber)
                *union_data = d[4];
            else if (d[2] == CDC_FD_CALL_MGMT && len >= 5 && *cm_data < 0)
                *cm_data = d[4];
            else if (d[2] == CDC_FD_ACM && len >= 4)
                *acm_caps = d[3];
        }
    }
}

/* First alternate setting of interface n with a bulk IN and a bulk OUT endpoint. */
static const struct owu_altsetting *bulk_alt(const struct owu_config *cfg, uint8_t n,
                                             const struct owu_endpoint **in,
                                             const struct owu_endpoint **out)
{
    const struct owu_interface *intf = owu_config_find_interface(cfg, n);
    if (!intf)
        return NULL;
    for (unsigned a = 0; a < intf->num_alts; a++) {
        const struct owu_altsetting *alt = &intf->alts[a];
        *in = *out = NULL;
        for (unsigned e = 0; e < alt->num_endpoints; e++) {
            const struct owu_endpoint *ep = &alt->endpoints[e];
            if ((ep->bmAttributes & 3) != OWU_XFER_BULK)
                continue;
            if (ep->bEndpointAddress & 0x80) {
                if (!*in)
                    *in = ep;
            } else if (!*out) {
                *out = ep;
            }
        }
        if (*in && *out)
            return alt;
    }
    return NULL;
}

static const struct owu_endpoint *interrupt_in(const struct owu_altsetting *alt)
{
    for (unsigned e = 0; e < alt->num_endpoints; e++) {
        const struct owu_endpoint *ep = &alt->endpoints[e];
        if ((ep->bmAttributes & 3) == OWU_XFER_INTERRUPT && (ep->bEndpointAddress & 0x80))
            return ep;
    }
    return NULL;
}

static bool set_data(const struct owu_config *cfg, uint8_t n, uint8_t first, unsigned count,
                     struct usbser_layout *out)
{
    if (!in_range(n, first, count) || n == out->comm_intf)
        return false;
    const struct owu_endpoint *in, *o;
    const struct owu_altsetting *alt = bulk_alt(cfg, n, &in, &o);
    if (!alt)
        return false;
    out->data_intf = n;
    out->data_alt = alt->bAlternateSetting;
    out->in_ep = in->bEndpointAddress;
    out->in_mps = (uint16_t)(in->wMaxPacketSize & 0x7FF);
    out->out_ep = o->bEndpointAddress;
    out->out_mps = (uint16_t)(o->wMaxPacketSize & 0x7FF);
    return true;
}

int usbser_find_layout(const struct owu_config *cfg, uint8_t first, unsigned count,
                       struct usbser_layout *out, owu_err *err)
{
    memset(out, 0, sizeof *out);
    const struct owu_altsetting *comm = NULL;
    for (unsigned i = 0; i < cfg->num_interfaces && !comm; i++) {
        const struct owu_interface *intf = &cfg->interfaces[i];
        if (!in_range(intf->number, first, count) || intf->num_alts == 0)
            continue;
        const struct owu_altsetting *alt = &intf->alts[0];
        if (alt->bInterfaceClass == 0x02 && alt->bInterfaceSubClass == 0x02)
            comm = alt;
    }
    if (!comm) {
        /* "combined": a single interface carrying notification and data endpoints. */
        for (unsigned i = 0; i < cfg->num_interfaces; i++) {
            const struct owu_interface *intf = &cfg->interfaces[i];
            if (!in_range(intf->number, first, count) || intf->num_alts == 0)
                continue;
            const struct owu_altsetting *alt = &intf->alts[0];
            const struct owu_endpoint *in, *o;
            const struct owu_endpoint *irq = interrupt_in(alt);
            if (alt->num_endpoints == 3 && irq && bulk_alt(cfg, intf->number, &in, &o) == alt) {
                out->comm_intf = intf->number;
                out->notify_ep = irq->bEndpointAddress;
                out->notify_mps = (uint16_t)(irq->wMaxPacketSize & 0x7FF);
                out->comm_intf = intf->number;
                out->data_intf = intf->number;
                out->data_alt = alt->bAlternateSetting;
                out->in_ep = in->bEndpointAddress;
                out->in_mps = (uint16_t)(in->wMaxPacketSize & 0x7FF);
                out->out_ep = o->bEndpointAddress;
                out->out_mps = (uint16_t)(o->wMaxPacketSize & 0x7FF);
                out->found_by = "combined";
                return OWU_OK;
            }
        }
        return owu_fail(err, OWU_E_BADDESC,
                        "no CDC communication interface (class 02, subclass 02) among interfaces %u..%u",
                        first, count ? first + count - 1 : 255u);
    }
    out->comm_intf = comm->bInterfaceNumber;
    const struct owu_endpoint *irq = interrupt_in(comm);
    if (irq) {
        out->notify_ep = irq->bEndpointAddress;
        out->notify_mps = (uint16_t)(irq->wMaxPacketSize & 0x7FF);
    }
    int union_data = -1, cm_data = -1;
    scan_functional(comm, &union_data, &cm_data, &out->acm_caps);

    if (union_data >= 0 && set_data(cfg, (uint8_t)union_data, first, count, out)) {
        out->found_by = "union";
    } else if (cm_data >= 0 && set_data(cfg, (uint8_t)cm_data, first, count, out)) {
        out->found_by = "call management";
    } else {
        const struct owu_iad *iad = owu_config_iad_for(cfg, out->comm_intf);
        if (iad) {
            for (unsigned k = 0; k < iad->bInterfaceCount && !out->found_by; k++)
                if (set_data(cfg, (uint8_t)(iad->bFirstInterface + k), first, count, out))
                    out->found_by = "iad";
        }
        for (unsigned i = 0; i < cfg->num_interfaces && !out->found_by; i++) {
            const struct owu_interface *intf = &cfg->interfaces[i];
            if (intf->num_alts && intf->alts[0].bInterfaceClass == 0x0A &&
                set_data(cfg, intf->number, first, count, out))
                out->found_by = "data class";
        }
    }
    if (!out->found_by)
        return owu_fail(err, OWU_E_BADDESC,
                        "CDC communication interface %u: no data interface with a bulk IN and a bulk OUT "
                        "endpoint (union %d, call management %d)",
                        out->comm_intf, union_data, cm_data);
    if (out->in_mps == 0 || out->out_mps == 0)
        return owu_fail(err, OWU_E_BADDESC, "CDC data interface %u: bulk endpoint with wMaxPacketSize 0",
                        out->data_intf);
    return OWU_OK;
}
