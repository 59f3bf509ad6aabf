/* BOS descriptor: the device capability list, with the capabilities the stack acts on
 * decoded (USB 2.0 extension, SuperSpeed, ContainerID, Billboard, MS OS 2.0 platform). */
#include <openwinusb/descriptors.h>

#include <stdlib.h>
#include <string.h>

#define BOS "BOS"

const uint8_t OWU_MSOS20_PLATFORM_UUID[16] = {
    0xDF, 0x60, 0xDD, 0xD8, 0x89, 0x45, 0xC7, 0x4C,
    0x9C, 0xD2, 0x65, 0x9D, 0x9E, 0x64, 0x8A, 0x9F,
};

#define MSOS20_RECORD_SIZE 8
#define PLATFORM_HEADER_SIZE 20
#define BILLBOARD_HEADER_SIZE 44

static int cap_too_short(owu_err *err, const char *name, size_t off, size_t dl, size_t need)
{
    return owu_fail(err, OWU_E_BADDESC, BOS ": %s capability at offset %zu: bLength %zu is below %zu",
                    name, off, dl, need);
}

static int decode_platform(struct owu_bos *bos, const uint8_t *d, size_t dl, size_t off,
                           owu_err *err)
{
    if (dl < PLATFORM_HEADER_SIZE)
        return cap_too_short(err, "platform", off, dl, PLATFORM_HEADER_SIZE);
    if (memcmp(d + 4, OWU_MSOS20_PLATFORM_UUID, 16) != 0)
        return OWU_OK; /* another platform's capability: kept only in caps[] */
    size_t body = dl - PLATFORM_HEADER_SIZE;
    if (body == 0 || body % MSOS20_RECORD_SIZE != 0)
        return owu_fail(err, OWU_E_BADDESC,
                        BOS ": MS OS 2.0 platform capability at offset %zu: bLength %zu is not 20 "
                        "+ 8n with n >= 1 descriptor set records",
                        off, dl);
    for (size_t p = PLATFORM_HEADER_SIZE; p < dl; p += MSOS20_RECORD_SIZE) {
        if (bos->num_msos20 >= sizeof bos->msos20 / sizeof bos->msos20[0])
            break; /* more records than any Windows release needs: the first 8 are kept */
        struct owu_msos20_set_info *rec = &bos->msos20[bos->num_msos20++];
        rec->dwWindowsVersion = owu_le32(d + p);
        rec->wTotalLength = owu_le16(d + p + 4);
        rec->bMS_VendorCode = d[p + 6];
        rec->bAltEnumCode = d[p + 7];
    }
    bos->has_msos20 = true;
    return OWU_OK;
}

/* Checks the known capability layouts and records what the stack uses. */
static int decode_cap(struct owu_bos *bos, const uint8_t *d, size_t dl, size_t off, owu_err *err)
{
    switch (d[2]) {
    case OWU_CAP_USB20_EXTENSION:
        if (dl < 7)
            return cap_too_short(err, "USB 2.0 extension", off, dl, 7);
        bos->has_usb20_ext = true;
        bos->usb20_ext_bmAttributes = owu_le32(d + 3);
        return OWU_OK;
    case OWU_CAP_SUPERSPEED_USB:
        if (dl < 10)
            return cap_too_short(err, "SuperSpeed USB", off, dl, 10);
        bos->has_superspeed = true;
        return OWU_OK;
    case OWU_CAP_CONTAINER_ID:
        if (dl < 20)
            return cap_too_short(err, "ContainerID", off, dl, 20);
        bos->has_container_id = true;
        memcpy(bos->container_id, d + 4, 16);
        return OWU_OK;
    case OWU_CAP_PLATFORM:
        return decode_platform(bos, d, dl, off, err);
    case OWU_CAP_BILLBOARD: {
        if (dl < BILLBOARD_HEADER_SIZE)
            return cap_too_short(err, "Billboard", off, dl, BILLBOARD_HEADER_SIZE);
        size_t need = BILLBOARD_HEADER_SIZE + 4u * d[4];
        if (dl < need)
            return owu_fail(err, OWU_E_BADDESC,
                            BOS ": Billboard capability at offset %zu: bLength %zu is below the "
                            "%zu bytes its bNumberOfAlternateModes %u (offset %zu) needs",
                            off, dl, need, d[4], off + 4);
        bos->has_billboard = true;
        return OWU_OK;
    }
    default:
        return OWU_OK;
    }
}

int owu_bos_parse(const uint8_t *buf, size_t len, struct owu_bos **out, owu_err *err)
{
    if (!out)
        return owu_fail(err, OWU_E_INVAL, BOS ": no place for the result");
    *out = NULL;
    if (!buf || len < 2)
        return owu_fail(err, OWU_E_BADDESC,
                        BOS ": only %zu of the 2 header bytes (bLength at offset 0, "
                        "bDescriptorType at offset 1) received",
                        buf ? len : 0);
    if (buf[0] < 5)
        return owu_fail(err, OWU_E_BADDESC, BOS ": header at offset 0: bLength %u is below 5",
                        buf[0]);
    if (buf[1] != OWU_DT_BOS)
        return owu_fail(err, OWU_E_BADDESC,
                        BOS ": header at offset 0: bDescriptorType 0x%02x (offset 1) is not 0x0f "
                        "(BOS)",
                        buf[1]);
    if (len < buf[0])
        return owu_fail(err, OWU_E_BADDESC,
                        BOS ": header at offset 0: bLength %u exceeds the %zu bytes received",
                        buf[0], len);
    size_t total = owu_le16(buf + 2);
    size_t hdr_len = buf[0];
    if (total < 5)
        return owu_fail(err, OWU_E_BADDESC, BOS ": wTotalLength %zu (offset 2) is below 5", total);
    if (total < hdr_len)
        return owu_fail(err, OWU_E_BADDESC,
                        BOS ": wTotalLength %zu (offset 2) is below the header's bLength %zu",
                        total, hdr_len);
    if (total > len)
        return owu_fail(err, OWU_E_BADDESC,
                        BOS ": wTotalLength %zu (offset 2) exceeds the %zu bytes received", total,
                        len);

    /* Count first, so the struct, the cap list and the bytes fit one allocation. */
    owu_desc_iter it;
    const uint8_t *d;
    size_t dl;
    unsigned count = 0;
    owu_desc_iter_init(&it, (owu_span){buf + hdr_len, total - hdr_len}, hdr_len);
    while (owu_desc_iter_next(&it, &d, &dl)) {
        size_t off = (size_t)(d - buf);
        if (d[1] != OWU_DT_DEVICE_CAPABILITY)
            return owu_fail(err, OWU_E_BADDESC,
                            BOS ": descriptor at offset %zu: bDescriptorType 0x%02x (offset %zu) "
                            "is not 0x10 (device capability)",
                            off, d[1], off + 1);
        if (dl < 3)
            return owu_fail(err, OWU_E_BADDESC,
                            BOS ": capability at offset %zu: bLength %zu is below 3", off, dl);
        count++;
    }
    if (it.error)
        return owu_desc_iter_fail(&it, err, BOS);
    if (count != buf[4])
        return owu_fail(err, OWU_E_BADDESC,
                        BOS ": bNumDeviceCaps %u (offset 4) but %u capability descriptor%s found",
                        buf[4], count, count == 1 ? "" : "s");

    size_t a = _Alignof(max_align_t);
    size_t off_caps = (sizeof(struct owu_bos) + a - 1) / a * a;
    size_t off_raw = off_caps + count * sizeof(struct owu_bos_cap);
    uint8_t *mem = calloc(1, off_raw + total);
    if (!mem)
        return owu_fail(err, OWU_E_NOMEM, BOS ": out of memory for %zu bytes", off_raw + total);
    struct owu_bos *bos = (struct owu_bos *)mem;
    uint8_t *raw = mem + off_raw;
    memcpy(raw, buf, total);
    bos->wTotalLength = (uint16_t)total;
    bos->bNumDeviceCaps = buf[4];
    bos->caps = count ? (struct owu_bos_cap *)(mem + off_caps) : NULL;
    bos->raw = (owu_span){raw, total};

    owu_desc_iter_init(&it, (owu_span){raw + hdr_len, total - hdr_len}, hdr_len);
    while (bos->num_caps < count && owu_desc_iter_next(&it, &d, &dl)) {
        size_t off = (size_t)(d - raw);
        struct owu_bos_cap *cap = &bos->caps[bos->num_caps++];
        cap->type = d[2];
        cap->desc = (owu_span){d, dl};
        cap->offset = off;
        int rc = decode_cap(bos, d, dl, off, err);
        if (rc < 0) {
            free(mem);
            return rc;
        }
    }
    *out = bos;
    return OWU_OK;
}

void owu_bos_free(struct owu_bos *bos)
{
    free(bos);
}

const struct owu_msos20_set_info *owu_bos_msos20_for(const struct owu_bos *bos, uint32_t windows_version)
{
    if (!bos)
        return NULL;
    const struct owu_msos20_set_info *best = NULL;
    for (unsigned i = 0; i < bos->num_msos20; i++) {
        const struct owu_msos20_set_info *r = &bos->msos20[i];
        if (r->dwWindowsVersion <= windows_version &&
            (!best || r->dwWindowsVersion > best->dwWindowsVersion))
            best = r;
    }
    return best;
}
