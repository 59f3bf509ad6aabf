/* Walking bLength-framed descriptor runs without ever reading past the span. */
#include <openwinusb/descriptors.h>

#include <stddef.h>

static const char ITER_SHORT_HEADER[] = "truncated descriptor header";
static const char ITER_BLENGTH_SMALL[] = "bLength is below 2";
static const char ITER_BLENGTH_PAST[] = "bLength runs past the end";

void owu_desc_iter_init(owu_desc_iter *it, owu_span span, size_t base_offset)
{
    it->data = span.data;
    it->len = span.data ? span.len : 0;
    it->pos = 0;
    it->base_offset = base_offset;
    it->error = NULL;
    it->err_offset = 0;
}

static bool iter_stop(owu_desc_iter *it, const char *why)
{
    it->error = why;
    it->err_offset = it->base_offset + it->pos;
    /* Park at the end so a caller that keeps calling cannot spin on the bad descriptor. */
    it->pos = it->len;
    return false;
}

bool owu_desc_iter_next(owu_desc_iter *it, const uint8_t **desc, size_t *len)
{
    if (it->error || it->pos >= it->len)
        return false;
    size_t left = it->len - it->pos;
    if (left < 2)
        return iter_stop(it, ITER_SHORT_HEADER);
    size_t blen = it->data[it->pos];
    if (blen < 2)
        return iter_stop(it, ITER_BLENGTH_SMALL);
    if (blen > left)
        return iter_stop(it, ITER_BLENGTH_PAST);
    *desc = it->data + it->pos;
    *len = blen;
    it->pos += blen;
    return true;
}

int owu_desc_iter_fail(const owu_desc_iter *it, owu_err *err, const char *what)
{
    if (!it->error)
        return OWU_OK;
    size_t rel = it->err_offset - it->base_offset;
    size_t left = rel < it->len ? it->len - rel : 0;
    size_t end = it->base_offset + it->len;
    if (it->error == ITER_SHORT_HEADER || left < 2)
        return owu_fail(err, OWU_E_BADDESC,
                        "%s: descriptor at offset %zu: only %zu byte%s left before the end at "
                        "offset %zu, too short for bLength and bDescriptorType",
                        what, it->err_offset, left, left == 1 ? "" : "s", end);
    unsigned blen = it->data[rel];
    if (it->error == ITER_BLENGTH_SMALL)
        return owu_fail(err, OWU_E_BADDESC, "%s: descriptor at offset %zu: bLength %u is below 2",
                        what, it->err_offset, blen);
    return owu_fail(err, OWU_E_BADDESC,
                    "%s: descriptor at offset %zu: bLength %u runs past the end at offset %zu "
                    "(%zu bytes left)",
                    what, it->err_offset, blen, end, left);
}
