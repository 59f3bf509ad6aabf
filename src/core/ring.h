/* A byte ring buffer: the one used by the usbser receive buffer and the serial terminal's
 * receive and transmit queues. The caller owns the storage and the locking. */
#ifndef OWU_CORE_RING_H
#define OWU_CORE_RING_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

struct owu_ring {
    uint8_t *buf;
    size_t cap;     /* bytes of buf */
    size_t head;    /* first byte held */
    size_t len;     /* bytes held */
};

static inline size_t owu_ring_room(const struct owu_ring *r)
{
    return r->cap - r->len;
}

/* Where the next bytes go, and how many fit there without wrapping. */
static inline uint8_t *owu_ring_tail(const struct owu_ring *r, size_t *contiguous)
{
    size_t tail = (r->head + r->len) % r->cap;
    size_t to_end = r->cap - tail;
    *contiguous = owu_ring_room(r) < to_end ? owu_ring_room(r) : to_end;
    return r->buf + tail;
}

/* Copies up to n bytes in; returns how many fitted. */
static inline size_t owu_ring_put(struct owu_ring *r, const void *p, size_t n)
{
    if (n > owu_ring_room(r))
        n = owu_ring_room(r);
    size_t tail = (r->head + r->len) % r->cap;
    size_t first = r->cap - tail < n ? r->cap - tail : n;
    if (first)   /* (memcpy must not see a NULL pointer, even for 0 bytes) */
        memcpy(r->buf + tail, p, first);
    if (n > first)
        memcpy(r->buf, (const uint8_t *)p + first, n - first);
    r->len += n;
    return n;
}

/* The first n bytes held (n <= len) as two spans (the second may be empty). */
static inline void owu_ring_spans(const struct owu_ring *r, size_t n, struct iovec v[2])
{
    size_t first = r->cap - r->head < n ? r->cap - r->head : n;
    v[0].iov_base = r->buf + r->head;
    v[0].iov_len = first;
    v[1].iov_base = r->buf;
    v[1].iov_len = n - first;
}

/* Forgets the first n bytes held (n <= len). The head does not jump back when the ring
 * empties, so a producer filling owu_ring_tail() unlocked keeps its place. */
static inline void owu_ring_drop(struct owu_ring *r, size_t n)
{
    r->head = (r->head + n) % r->cap;
    r->len -= n;
}

/* Copies out and forgets up to n bytes; returns how many. */
static inline size_t owu_ring_get(struct owu_ring *r, void *p, size_t n)
{
    if (n > r->len)
        n = r->len;
    struct iovec v[2];
    owu_ring_spans(r, n, v);
    if (v[0].iov_len)
        memcpy(p, v[0].iov_base, v[0].iov_len);
    if (v[1].iov_len)
        memcpy((uint8_t *)p + v[0].iov_len, v[1].iov_base, v[1].iov_len);
    owu_ring_drop(r, n);
    return n;
}

static inline void owu_ring_clear(struct owu_ring *r)
{
    r->head = r->len = 0;
}

#endif
