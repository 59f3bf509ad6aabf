/* SHA-1 (FIPS 180-4), used for name-based (version 5) GUIDs such as USB container IDs.
 * Not for security: SHA-1 is broken for collision resistance. */
#ifndef OWU_CORE_SHA1_H
#define OWU_CORE_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define OWU_SHA1_DIGEST_SIZE 20

struct owu_sha1 {
    uint32_t h[5];
    uint64_t total;      /* bytes hashed so far */
    uint8_t block[64];
    size_t used;         /* bytes waiting in block */
};

void owu_sha1_init(struct owu_sha1 *c);
void owu_sha1_update(struct owu_sha1 *c, const void *data, size_t len);
void owu_sha1_final(struct owu_sha1 *c, uint8_t digest[OWU_SHA1_DIGEST_SIZE]);

/* One-shot convenience. */
void owu_sha1(const void *data, size_t len, uint8_t digest[OWU_SHA1_DIGEST_SIZE]);

#endif
