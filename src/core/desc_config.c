/* Configuration descriptor sets: validation, then the interface / alternate setting /
 * endpoint tree. Two walks over the blob: the first validates and counts, so the second can
 * fill one allocation that holds the tree and the private copy of the bytes. */
#include <openwinusb/descriptors.h>

#include <stdlib.h>
#include <string.h>

#define CFG "configuration"

struct cfg_counts {
    unsigned num_alts;
    unsigned num_eps;
    unsigned num_iads;
    unsigned num_ifnums;
    unsigned alts_per_if[256];
    uint8_t if_order[256];          /* interface numbers in order of first appearance */
    bool if_seen[256];
    uint8_t alt_seen[256][32];      /* bit per (interface number, alternate setting) */
};

/* Validation state of the alternate setting being walked. */
struct alt_state {
    bool active;
    size_t offset;
    unsigned number, alt, declared, found;
    bool have_ep, ep_has_comp;
    size_t ep_offset;
    unsigned ep_addr;
    uint32_t ep_seen;               /* bit per (direction, endpoint number) */
    size_t ep_off[32];
};

static size_t align_up(size_t n)
{
    size_t a = _Alignof(max_align_t);
    return (n + a - 1) / a * a;
}

static int alt_finish(const struct alt_state *a, owu_err *err)
{
    if (!a->active || a->found == a->declared)
        return OWU_OK;
    return owu_fail(err, OWU_E_BADDESC,
                    CFG ": interface %u alternate setting %u at offset %zu: bNumEndpoints %u "
                    "(offset %zu) but %u endpoint descriptor%s follow%s",
                    a->number, a->alt, a->offset, a->declared, a->offset + 4, a->found,
                    a->found == 1 ? "" : "s", a->found == 1 ? "s" : "");
}

/* Offset of the first interface descriptor with this (number, alt), for the message about a
 * repeat; only called on the error path. */
static size_t first_alt_offset(const uint8_t *raw, size_t total, size_t hdr_len, unsigned number,
                               unsigned alt)
{
    owu_desc_iter it;
    const uint8_t *d;
    size_t dl;
    owu_desc_iter_init(&it, (owu_span){raw + hdr_len, total - hdr_len}, hdr_len);
    while (owu_desc_iter_next(&it, &d, &dl))
        if (d[1] == OWU_DT_INTERFACE && dl >= 9 && d[2] == number && d[3] == alt)
            return (size_t)(d - raw);
    return 0;
}

static int scan_interface(struct cfg_counts *c, struct alt_state *a, const uint8_t *raw,
                          size_t total, size_t hdr_len, const uint8_t *d, size_t dl, size_t off,
                          owu_err *err)
{
    int rc = alt_finish(a, err);
    if (rc < 0)
        return rc;
    if (dl < 9)
        return owu_fail(err, OWU_E_BADDESC,
                        CFG ": interface descriptor at offset %zu: bLength %zu is below 9", off, dl);
    unsigned num = d[2], alt = d[3];
    if (c->alt_seen[num][alt >> 3] & (1u << (alt & 7)))
        return owu_fail(err, OWU_E_BADDESC,
                        CFG ": interface descriptor at offset %zu: bInterfaceNumber %u "
                        "bAlternateSetting %u (offsets %zu, %zu) repeats the interface descriptor "
                        "at offset %zu",
                        off, num, alt, off + 2, off + 3,
                        first_alt_offset(raw, total, hdr_len, num, alt));
    c->alt_seen[num][alt >> 3] |= (uint8_t)(1u << (alt & 7));
    if (!c->if_seen[num]) {
        c->if_seen[num] = true;
        c->if_order[c->num_ifnums++] = (uint8_t)num;
    }
    c->alts_per_if[num]++;
    c->num_alts++;
    memset(a, 0, sizeof *a);
    a->active = true;
    a->offset = off;
    a->number = num;
    a->alt = alt;
    a->declared = d[4];
    return OWU_OK;
}

static int scan_endpoint(struct cfg_counts *c, struct alt_state *a, const uint8_t *d, size_t dl,
                         size_t off, owu_err *err)
{
    if (dl < 7)
        return owu_fail(err, OWU_E_BADDESC,
                        CFG ": endpoint descriptor at offset %zu: bLength %zu is below 7", off, dl);
    if (!a->active)
        return owu_fail(err, OWU_E_BADDESC,
                        CFG ": endpoint descriptor at offset %zu: comes before any interface "
                        "descriptor",
                        off);
    unsigned addr = d[2];
    if ((addr & 0x0F) == 0)
        return owu_fail(err, OWU_E_BADDESC,
                        CFG ": endpoint descriptor at offset %zu: bEndpointAddress 0x%02x (offset "
                        "%zu) names endpoint 0, the default control pipe",
                        off, addr, off + 2);
    unsigned key = (addr & 0x80) >> 3 | (addr & 0x0F);
    if (a->ep_seen & (1u << key))
        return owu_fail(err, OWU_E_BADDESC,
                        CFG ": endpoint descriptor at offset %zu: bEndpointAddress 0x%02x (offset "
                        "%zu) repeats the endpoint at offset %zu in interface %u alternate "
                        "setting %u",
                        off, addr, off + 2, a->ep_off[key], a->number, a->alt);
    a->ep_seen |= 1u << key;
    a->ep_off[key] = off;
    a->found++;
    a->have_ep = true;
    a->ep_has_comp = false;
    a->ep_offset = off;
    a->ep_addr = addr;
    c->num_eps++;
    return OWU_OK;
}

static int scan_companion(struct alt_state *a, size_t dl, size_t off, owu_err *err)
{
    if (dl < 6)
        return owu_fail(err, OWU_E_BADDESC,
                        CFG ": SuperSpeed endpoint companion at offset %zu: bLength %zu is below 6",
                        off, dl);
    if (a->active && a->have_ep) {
        if (a->ep_has_comp)
            return owu_fail(err, OWU_E_BADDESC,
                            CFG ": SuperSpeed endpoint companion at offset %zu: endpoint 0x%02x at "
                            "offset %zu already has a companion",
                            off, a->ep_addr, a->ep_offset);
        a->ep_has_comp = true;
    }
    return OWU_OK;
}

static int scan_iad(struct cfg_counts *c, const uint8_t *d, size_t dl, size_t off, owu_err *err)
{
    if (dl < 8)
        return owu_fail(err, OWU_E_BADDESC,
                        CFG ": interface association at offset %zu: bLength %zu is below 8", off, dl);
    if (d[3] == 0)
        return owu_fail(err, OWU_E_BADDESC,
                        CFG ": interface association at offset %zu: bInterfaceCount 0 (offset %zu) "
                        "is below 1",
                        off, off + 3);
    c->num_iads++;
    return OWU_OK;
}

/* First walk: every check that needs only what came before, and the counts for the arena. */
static int cfg_scan(const uint8_t *raw, size_t total, size_t hdr_len, struct cfg_counts *c,
                    owu_err *err)
{
    struct alt_state a;
    owu_desc_iter it;
    const uint8_t *d;
    size_t dl;
    int rc = OWU_OK;

    memset(&a, 0, sizeof a);
    owu_desc_iter_init(&it, (owu_span){raw + hdr_len, total - hdr_len}, hdr_len);
    while (rc == OWU_OK && owu_desc_iter_next(&it, &d, &dl)) {
        size_t off = (size_t)(d - raw);
        switch (d[1]) {
        case OWU_DT_INTERFACE:
            rc = scan_interface(c, &a, raw, total, hdr_len, d, dl, off, err);
            break;
        case OWU_DT_ENDPOINT:
            rc = scan_endpoint(c, &a, d, dl, off, err);
            break;
        case OWU_DT_SS_EP_COMPANION:
            rc = scan_companion(&a, dl, off, err);
            break;
        case OWU_DT_IAD:
            rc = scan_iad(c, d, dl, off, err);
            break;
        default:
            break;
        }
    }
    if (rc < 0)
        return rc;
    if (it.error)
        return owu_desc_iter_fail(&it, err, CFG);
    return alt_finish(&a, err);
}

/* Grows an extra span to cover [off, end); spans start at their first descriptor. */
static void span_cover(owu_span *s, const uint8_t *raw, size_t off, size_t end)
{
    if (!s->data)
        s->data = raw + off;
    s->len = (size_t)(raw + end - s->data);
}

/* Second walk: fill the tree. The first walk accepted the same bytes, so the counts hold;
 * the bounds checks below only keep a future mismatch between the walks from writing out of
 * the arena. */
static int cfg_fill(struct owu_config *cfg, const struct cfg_counts *c, size_t hdr_len,
                    struct owu_altsetting *alts, struct owu_endpoint *eps, owu_err *err)
{
    const uint8_t *raw = cfg->raw.data;
    unsigned slot[256];
    unsigned start = 0;
    for (unsigned i = 0; i < c->num_ifnums; i++) {
        unsigned num = c->if_order[i];
        cfg->interfaces[i].number = (uint8_t)num;
        cfg->interfaces[i].alts = alts + start;
        cfg->interfaces[i].num_alts = c->alts_per_if[num];
        slot[num] = start;
        start += c->alts_per_if[num];
    }

    struct owu_altsetting *cur = NULL;
    struct owu_endpoint *ep = NULL;
    owu_span *owner = &cfg->extra;
    unsigned ep_next = 0;
    owu_desc_iter it;
    const uint8_t *d;
    size_t dl;
    owu_desc_iter_init(&it, (owu_span){raw + hdr_len, cfg->raw.len - hdr_len}, hdr_len);
    while (owu_desc_iter_next(&it, &d, &dl)) {
        size_t off = (size_t)(d - raw);
        size_t end = off + dl;
        switch (d[1]) {
        case OWU_DT_INTERFACE: {
            unsigned num = d[2];
            if (!c->if_seen[num] || slot[num] >= c->num_alts)
                goto mismatch;
            cur = &alts[slot[num]++];
            cur->bInterfaceNumber = d[2];
            cur->bAlternateSetting = d[3];
            cur->bNumEndpoints = d[4];
            cur->bInterfaceClass = d[5];
            cur->bInterfaceSubClass = d[6];
            cur->bInterfaceProtocol = d[7];
            cur->iInterface = d[8];
            cur->endpoints = eps + ep_next;
            cur->all = (owu_span){d, dl};
            cur->offset = off;
            ep = NULL;
            owner = &cur->extra;
            continue;
        }
        case OWU_DT_ENDPOINT:
            if (!cur || ep_next >= c->num_eps)
                goto mismatch;
            ep = &eps[ep_next++];
            cur->num_endpoints++;
            ep->bEndpointAddress = d[2];
            ep->bmAttributes = d[3];
            ep->wMaxPacketSize = owu_le16(d + 4);
            ep->bInterval = d[6];
            ep->offset = off;
            owner = &ep->extra;
            span_cover(&cur->all, raw, cur->offset, end);
            continue;
        case OWU_DT_SS_EP_COMPANION:
            if (ep && !ep->has_ss_companion) {
                ep->has_ss_companion = true;
                ep->ss_bMaxBurst = d[2];
                ep->ss_bmAttributes = d[3];
                ep->ss_wBytesPerInterval = owu_le16(d + 4);
                span_cover(&cur->all, raw, cur->offset, end);
                continue;
            }
            break; /* a companion with no endpoint to attach to is kept as extra */
        case OWU_DT_IAD: {
            if (cfg->num_iads >= c->num_iads)
                goto mismatch;
            struct owu_iad *iad = &cfg->iads[cfg->num_iads++];
            iad->bFirstInterface = d[2];
            iad->bInterfaceCount = d[3];
            iad->bFunctionClass = d[4];
            iad->bFunctionSubClass = d[5];
            iad->bFunctionProtocol = d[6];
            iad->iFunction = d[7];
            iad->offset = off;
            continue;
        }
        default:
            break;
        }
        span_cover(owner, raw, off, end);
        if (cur)
            span_cover(&cur->all, raw, cur->offset, end);
    }
    if (it.error)
        return owu_desc_iter_fail(&it, err, CFG);
    for (unsigned i = 0; i < c->num_alts; i++)
        if (alts[i].num_endpoints == 0)
            alts[i].endpoints = NULL;
    return OWU_OK;

mismatch:
    return owu_fail(err, OWU_E_BADDESC, CFG ": descriptor at offset %zu: internal count mismatch",
                    (size_t)(d - raw));
}

/* IAD checks need every interface number, so they run on the finished tree. */
static int check_iads(const struct owu_config *cfg, const struct cfg_counts *c, owu_err *err)
{
    int owner[256];
    for (unsigned n = 0; n < 256; n++)
        owner[n] = -1;
    for (unsigned i = 0; i < cfg->num_iads; i++) {
        const struct owu_iad *iad = &cfg->iads[i];
        unsigned first = iad->bFirstInterface, last = first + iad->bInterfaceCount - 1u;
        for (unsigned n = first; n <= last; n++) {
            if (n > 255 || !c->if_seen[n])
                return owu_fail(err, OWU_E_BADDESC,
                                CFG ": interface association at offset %zu: bFirstInterface %u "
                                "(offset %zu) and bInterfaceCount %u (offset %zu) cover interface "
                                "%u, which the configuration does not have",
                                iad->offset, first, iad->offset + 2, iad->bInterfaceCount,
                                iad->offset + 3, n);
            if (owner[n] >= 0) {
                const struct owu_iad *o = &cfg->iads[owner[n]];
                return owu_fail(err, OWU_E_BADDESC,
                                CFG ": interface association at offset %zu: interfaces %u..%u "
                                "(bFirstInterface at offset %zu) overlap the association at "
                                "offset %zu (interfaces %u..%u)",
                                iad->offset, first, last, iad->offset + 2, o->offset,
                                o->bFirstInterface, o->bFirstInterface + o->bInterfaceCount - 1u);
            }
            owner[n] = (int)i;
        }
    }
    return OWU_OK;
}

static int check_header(const uint8_t *buf, size_t len, owu_err *err)
{
    if (!buf || len < 2)
        return owu_fail(err, OWU_E_BADDESC,
                        CFG ": only %zu of the 2 header bytes (bLength at offset 0, "
                        "bDescriptorType at offset 1) received",
                        buf ? len : 0);
    if (buf[0] < 9)
        return owu_fail(err, OWU_E_BADDESC,
                        CFG ": header at offset 0: bLength %u is below 9", buf[0]);
    if (buf[1] != OWU_DT_CONFIG)
        return owu_fail(err, OWU_E_BADDESC,
                        CFG ": header at offset 0: bDescriptorType 0x%02x (offset 1) is not 0x02 "
                        "(configuration)",
                        buf[1]);
    if (len < buf[0])
        return owu_fail(err, OWU_E_BADDESC,
                        CFG ": header at offset 0: bLength %u exceeds the %zu bytes received",
                        buf[0], len);
    unsigned total = owu_le16(buf + 2);
    if (total < 9)
        return owu_fail(err, OWU_E_BADDESC, CFG ": wTotalLength %u (offset 2) is below 9", total);
    if (total < buf[0])
        return owu_fail(err, OWU_E_BADDESC,
                        CFG ": wTotalLength %u (offset 2) is below the header's bLength %u", total,
                        buf[0]);
    if (total > len)
        return owu_fail(err, OWU_E_BADDESC,
                        CFG ": wTotalLength %u (offset 2) exceeds the %zu bytes received", total,
                        len);
    return OWU_OK;
}

int owu_config_parse(const uint8_t *buf, size_t len, struct owu_config **out, owu_err *err)
{
    if (!out)
        return owu_fail(err, OWU_E_INVAL, CFG ": no place for the result");
    *out = NULL;
    int rc = check_header(buf, len, err);
    if (rc < 0)
        return rc;
    size_t total = owu_le16(buf + 2);
    size_t hdr_len = buf[0];

    struct cfg_counts *c = calloc(1, sizeof *c);
    if (!c)
        return owu_fail(err, OWU_E_NOMEM, CFG ": out of memory");
    rc = cfg_scan(buf, total, hdr_len, c, err);
    if (rc == OWU_OK && c->num_ifnums != buf[4])
        rc = owu_fail(err, OWU_E_BADDESC,
                      CFG ": bNumInterfaces %u (offset 4) but %u distinct interface number%s found",
                      buf[4], c->num_ifnums, c->num_ifnums == 1 ? "" : "s");
    if (rc < 0) {
        free(c);
        return rc;
    }

    /* One block: config, interfaces, altsettings, endpoints, IADs, then the bytes. */
    size_t off_if = align_up(sizeof(struct owu_config));
    size_t off_alt = align_up(off_if + c->num_ifnums * sizeof(struct owu_interface));
    size_t off_ep = align_up(off_alt + c->num_alts * sizeof(struct owu_altsetting));
    size_t off_iad = align_up(off_ep + c->num_eps * sizeof(struct owu_endpoint));
    size_t off_raw = align_up(off_iad + c->num_iads * sizeof(struct owu_iad));
    uint8_t *mem = calloc(1, off_raw + total);
    if (!mem) {
        free(c);
        return owu_fail(err, OWU_E_NOMEM, CFG ": out of memory for %zu bytes", off_raw + total);
    }
    struct owu_config *cfg = (struct owu_config *)mem;
    uint8_t *raw = mem + off_raw;
    memcpy(raw, buf, total);
    cfg->wTotalLength = (uint16_t)total;
    cfg->bNumInterfaces = buf[4];
    cfg->bConfigurationValue = buf[5];
    cfg->iConfiguration = buf[6];
    cfg->bmAttributes = buf[7];
    cfg->bMaxPower = buf[8];
    cfg->raw = (owu_span){raw, total};
    cfg->interfaces = c->num_ifnums ? (struct owu_interface *)(mem + off_if) : NULL;
    cfg->num_interfaces = c->num_ifnums;
    cfg->iads = c->num_iads ? (struct owu_iad *)(mem + off_iad) : NULL;
    struct owu_altsetting *alts = (struct owu_altsetting *)(mem + off_alt);
    struct owu_endpoint *eps = (struct owu_endpoint *)(mem + off_ep);

    rc = cfg_fill(cfg, c, hdr_len, alts, eps, err);
    if (rc == OWU_OK)
        rc = check_iads(cfg, c, err);
    free(c);
    if (rc < 0) {
        free(mem);
        return rc;
    }
    *out = cfg;
    return OWU_OK;
}

void owu_config_free(struct owu_config *cfg)
{
    free(cfg);
}

const struct owu_interface *owu_config_find_interface(const struct owu_config *cfg, uint8_t number)
{
    if (!cfg)
        return NULL;
    for (unsigned i = 0; i < cfg->num_interfaces; i++)
        if (cfg->interfaces[i].number == number)
            return &cfg->interfaces[i];
    return NULL;
}

const struct owu_altsetting *owu_interface_find_alt(const struct owu_interface *intf, uint8_t alt)
{
    if (!intf)
        return NULL;
    for (unsigned i = 0; i < intf->num_alts; i++)
        if (intf->alts[i].bAlternateSetting == alt)
            return &intf->alts[i];
    return NULL;
}

const struct owu_iad *owu_config_iad_for(const struct owu_config *cfg, uint8_t number)
{
    if (!cfg)
        return NULL;
    for (unsigned i = 0; i < cfg->num_iads; i++) {
        const struct owu_iad *iad = &cfg->iads[i];
        if (number >= iad->bFirstInterface &&
            (unsigned)number < (unsigned)iad->bFirstInterface + iad->bInterfaceCount)
            return iad;
    }
    return NULL;
}
