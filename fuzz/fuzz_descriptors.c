/* libFuzzer target for the descriptor parsers. The first input byte picks the parser (low 3
 * bits) and, for the device descriptor, the bus speed (bits 3..5); the rest is the
 * descriptor. Accepted results are walked and cross-checked so that a parser accepting
 * something inconsistent also shows up, not just memory errors. */
#include <openwinusb/descriptors.h>

#include <stdlib.h>
#include <string.h>

static void walk_span(owu_span s, size_t base)
{
    owu_desc_iter it;
    const uint8_t *d;
    size_t dl;
    owu_desc_iter_init(&it, s, base);
    while (owu_desc_iter_next(&it, &d, &dl))
        if (dl < 2 || d < s.data || d + dl > s.data + s.len)
            abort();
    owu_err err;
    (void)owu_desc_iter_fail(&it, &err, "fuzz");
}

static void fuzz_config(const uint8_t *p, size_t n)
{
    struct owu_config *cfg = NULL;
    owu_err err;
    if (owu_config_parse(p, n, &cfg, &err) != OWU_OK) {
        if (cfg)
            abort();
        return;
    }
    if (cfg->num_interfaces != cfg->bNumInterfaces || cfg->raw.len != cfg->wTotalLength)
        abort();
    walk_span(cfg->extra, 0);
    for (unsigned i = 0; i < cfg->num_interfaces; i++) {
        const struct owu_interface *intf = &cfg->interfaces[i];
        if (owu_config_find_interface(cfg, intf->number) != intf)
            abort();
        for (unsigned a = 0; a < intf->num_alts; a++) {
            const struct owu_altsetting *alt = &intf->alts[a];
            if (alt->num_endpoints != alt->bNumEndpoints || alt->bInterfaceNumber != intf->number)
                abort();
            (void)owu_interface_find_alt(intf, alt->bAlternateSetting);
            walk_span(alt->extra, 0);
            walk_span(alt->all, alt->offset);
            for (unsigned e = 0; e < alt->num_endpoints; e++) {
                if ((alt->endpoints[e].bEndpointAddress & 0x0F) == 0)
                    abort();
                walk_span(alt->endpoints[e].extra, 0);
            }
        }
        (void)owu_config_iad_for(cfg, intf->number);
    }
    for (unsigned i = 0; i < cfg->num_iads; i++)
        for (unsigned k = 0; k < cfg->iads[i].bInterfaceCount; k++) {
            unsigned num = cfg->iads[i].bFirstInterface + k;
            if (num > 255 || !owu_config_find_interface(cfg, (uint8_t)num) ||
                owu_config_iad_for(cfg, (uint8_t)num) != &cfg->iads[i])
                abort();
        }
    owu_config_free(cfg);
}

static void fuzz_bos(const uint8_t *p, size_t n)
{
    struct owu_bos *bos = NULL;
    owu_err err;
    if (owu_bos_parse(p, n, &bos, &err) != OWU_OK) {
        if (bos)
            abort();
        return;
    }
    if (bos->num_caps != bos->bNumDeviceCaps || bos->num_msos20 > 8)
        abort();
    for (unsigned i = 0; i < bos->num_caps; i++)
        if (bos->caps[i].desc.len < 3 || bos->caps[i].desc.data[1] != OWU_DT_DEVICE_CAPABILITY)
            abort();
    (void)owu_bos_msos20_for(bos, 0x0A000000);
    (void)owu_bos_msos20_for(bos, 0);
    owu_bos_free(bos);
}

static void fuzz_device(const uint8_t *p, size_t n, enum owu_speed speed)
{
    struct owu_device_desc d;
    owu_err err;
    (void)owu_device_desc_check_prefix(p, n, speed, &err);
    if (owu_device_desc_parse(p, n, speed, &d, &err) == OWU_OK &&
        (d.bNumConfigurations == 0 || owu_ep0_max_packet(&d) < 8))
        abort();
}

static void fuzz_strings(const uint8_t *p, size_t n)
{
    char out[600];
    char small[7];
    uint16_t w[130];
    owu_err err;
    int r = owu_string_desc_decode(p, n, out, sizeof out, &err);
    if (r >= 0 && (size_t)r != strlen(out))
        abort();
    r = owu_string_desc_decode(p, n, small, sizeof small, &err);
    if (r >= 0 && ((size_t)r != strlen(small) || r >= (int)sizeof small))
        abort();
    r = owu_string_desc_utf16(p, n, w, sizeof w / sizeof w[0], &err);
    if (r >= 0 && w[r] != 0)
        abort();
    r = owu_string_desc_utf16(p, n, w, 3, &err);
    if (r >= 3)
        abort();
}

static void fuzz_langids(const uint8_t *p, size_t n)
{
    uint16_t ids[8];
    owu_err err;
    int r = owu_langids_parse(p, n, ids, 8, &err);
    if (r > 8)
        abort();
    (void)owu_langids_parse(p, n, NULL, 0, &err);
}

/* Encode arbitrary text; whatever is accepted must decode back to the same text. */
static void fuzz_encode(const uint8_t *p, size_t n)
{
    char *text = malloc(n + 1);
    if (!text)
        return;
    memcpy(text, p, n);
    text[n] = '\0';
    uint8_t desc[256];
    int len = owu_string_desc_encode(text, desc, sizeof desc);
    if (len >= 0) {
        char back[1024];
        owu_err err;
        if (len > 255 || desc[0] != len || desc[1] != OWU_DT_STRING)
            abort();
        int r = owu_string_desc_decode(desc, (size_t)len, back, sizeof back, &err);
        /* An embedded U+0000 cannot come from C text, so the round trip is exact. */
        if (r < 0 || strcmp(back, text) != 0)
            abort();
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned sel = data[0] & 7u;
    enum owu_speed speed = (enum owu_speed)((data[0] >> 3) % 6u);
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (sel) {
    case 0: fuzz_config(p, n); break;
    case 1: fuzz_bos(p, n); break;
    case 2: fuzz_device(p, n, speed); break;
    case 3: fuzz_strings(p, n); break;
    case 4: fuzz_langids(p, n); break;
    case 5: fuzz_encode(p, n); break;
    default: walk_span((owu_span){p, n}, 0); break;
    }
    return 0;
}
