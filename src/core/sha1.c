/* SHA-1 as specified in FIPS 180-4 §6.1, written from the specification. */
#include "core/sha1.h"

#include <string.h>

static uint32_t rol32(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32 - n));
}

static void sha1_block(uint32_t h[5], const uint8_t b[64])
{
    uint32_t w[80];
    for (unsigned t = 0; t < 16; t++)
        w[t] = (uint32_t)b[4 * t] << 24 | (uint32_t)b[4 * t + 1] << 16 |
               (uint32_t)b[4 * t + 2] << 8 | (uint32_t)b[4 * t + 3];
    for (unsigned t = 16; t < 80; t++)
        w[t] = rol32(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);

    uint32_t a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4];
    for (unsigned t = 0; t < 80; t++) {
        uint32_t f, k;
        if (t < 20) {
            f = (bb & c) | (~bb & d);
            k = 0x5A827999u;
        } else if (t < 40) {
            f = bb ^ c ^ d;
            k = 0x6ED9EBA1u;
        } else if (t < 60) {
            f = (bb & c) | (bb & d) | (c & d);
            k = 0x8F1BBCDCu;
        } else {
            f = bb ^ c ^ d;
            k = 0xCA62C1D6u;
        }
        uint32_t tmp = rol32(a, 5) + f + e + k + w[t];
        e = d;
        d = c;
        c = rol32(bb, 30);
        bb = a;
        a = tmp;
    }
    h[0] += a;
    h[1] += bb;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

void owu_sha1_init(struct owu_sha1 *c)
{
    c->h[0] = 0x67452301u;
    c->h[1] = 0xEFCDAB89u;
    c->h[2] = 0x98BADCFEu;
    c->h[3] = 0x10325476u;
    c->h[4] = 0xC3D2E1F0u;
    c->total = 0;
    c->used = 0;
}

void owu_sha1_update(struct owu_sha1 *c, const void *data, size_t len)
{
    const uint8_t *p = data;
    c->total += len;
    while (len > 0) {
        size_t take = sizeof c->block - c->used;
        if (take > len)
            take = len;
        memcpy(c->block + c->used, p, take);
        c->used += take;
        p += take;
        len -= take;
        if (c->used == sizeof c->block) {
            sha1_block(c->h, c->block);
            c->used = 0;
        }
    }
}

void owu_sha1_final(struct owu_sha1 *c, uint8_t digest[OWU_SHA1_DIGEST_SIZE])
{
    uint64_t bits = c->total * 8;
    uint8_t pad = 0x80;
    /* Length must be captured before padding changes c->total. */
    owu_sha1_update(c, &pad, 1);
    pad = 0;
    while (c->used != 56)
        owu_sha1_update(c, &pad, 1);
    uint8_t len_be[8];
    for (unsigned i = 0; i < 8; i++)
        len_be[i] = (uint8_t)(bits >> (56 - 8 * i));
    owu_sha1_update(c, len_be, 8);
    for (unsigned i = 0; i < 5; i++) {
        digest[4 * i] = (uint8_t)(c->h[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
        digest[4 * i + 3] = (uint8_t)c->h[i];
    }
    memset(c, 0, sizeof *c);
}

void owu_sha1(const void *data, size_t len, uint8_t digest[OWU_SHA1_DIGEST_SIZE])
{
    struct owu_sha1 c;
    owu_sha1_init(&c);
    owu_sha1_update(&c, data, len);
    owu_sha1_final(&c, digest);
}
