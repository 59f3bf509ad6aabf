/* Pipe policies: values, sizes and defaults (shared/reference/winusb-api.md §5). A policy set
 * on a pipe it does not apply to is accepted and has no effect, as WinUSB does. */
#include "drivers/winusb/winusb_priv.h"

#include <string.h>

/* Booleans: a UCHAR in WinUSB; 2- and 4-byte values (BOOL) are accepted too, any non-zero
 * byte meaning TRUE. */
static bool read_bool(const void *value, size_t len, bool *out)
{
    if (!value || len < 1 || len > 4)
        return false;
    const uint8_t *b = value;
    bool v = false;
    for (size_t i = 0; i < len; i++)
        v = v || b[i] != 0;
    *out = v;
    return true;
}

static bool *bool_field(struct wu_policy *pol, uint32_t policy)
{
    switch (policy) {
    case OWU_WINUSB_SHORT_PACKET_TERMINATE: return &pol->short_packet_terminate;
    case OWU_WINUSB_AUTO_CLEAR_STALL: return &pol->auto_clear_stall;
    case OWU_WINUSB_IGNORE_SHORT_PACKETS: return &pol->ignore_short_packets;
    case OWU_WINUSB_ALLOW_PARTIAL_READS: return &pol->allow_partial_reads;
    case OWU_WINUSB_AUTO_FLUSH: return &pol->auto_flush;
    case OWU_WINUSB_RAW_IO: return &pol->raw_io;
    case OWU_WINUSB_RESET_PIPE_ON_RESUME: return &pol->reset_pipe_on_resume;
    default: return NULL;
    }
}

int owu_winusb_set_pipe_policy(struct owu_winusb_intf *intf, uint8_t pipe_id, uint32_t policy,
                               const void *value, size_t len)
{
    struct owu_winusb_dev *dev = intf->dev;
    pthread_mutex_lock(&dev->lock);
    struct owu_winusb_pipe *p = wu_pipe_find(intf, pipe_id);
    int rc = OWU_OK;
    if (!p) {
        rc = OWU_E_NOTFOUND;
    } else if (policy == OWU_WINUSB_PIPE_TRANSFER_TIMEOUT) {
        if (!value || len != 4)
            rc = OWU_E_INVAL;
        else
            memcpy(&p->policy.timeout_ms, value, 4);
    } else {
        bool *field = bool_field(&p->policy, policy);
        bool v;
        if (!field || !read_bool(value, len, &v))
            rc = OWU_E_INVAL;   /* unknown, read-only (MAXIMUM_TRANSFER_SIZE) or bad size */
        else
            *field = v;
    }
    pthread_mutex_unlock(&dev->lock);
    return rc;
}

int owu_winusb_get_pipe_policy(struct owu_winusb_intf *intf, uint8_t pipe_id, uint32_t policy,
                               void *value, size_t *len)
{
    struct owu_winusb_dev *dev = intf->dev;
    pthread_mutex_lock(&dev->lock);
    struct owu_winusb_pipe *p = wu_pipe_find(intf, pipe_id);
    int rc = OWU_OK;
    uint8_t b = 0;
    uint32_t u = 0;
    size_t need = 1;
    if (!p) {
        rc = OWU_E_NOTFOUND;
    } else if (policy == OWU_WINUSB_PIPE_TRANSFER_TIMEOUT || policy == OWU_WINUSB_MAXIMUM_TRANSFER_SIZE) {
        need = 4;
        u = policy == OWU_WINUSB_PIPE_TRANSFER_TIMEOUT ? p->policy.timeout_ms : p->policy.max_transfer;
    } else {
        bool *field = bool_field(&p->policy, policy);
        if (!field)
            rc = OWU_E_INVAL;
        else
            b = *field ? 1 : 0;
    }
    pthread_mutex_unlock(&dev->lock);
    if (rc != OWU_OK)
        return rc;
    if (!value || *len < need) {
        *len = need;
        return OWU_E_OVERFLOW;
    }
    if (need == 4)
        memcpy(value, &u, 4);
    else
        memcpy(value, &b, 1);
    *len = need;
    return OWU_OK;
}

int owu_winusb_test_set_max_transfer(struct owu_winusb_intf *intf, uint8_t pipe_id, uint32_t size)
{
    struct owu_winusb_dev *dev = intf->dev;
    pthread_mutex_lock(&dev->lock);
    struct owu_winusb_pipe *p = wu_pipe_find(intf, pipe_id);
    if (p && size)
        p->policy.max_transfer = size;
    pthread_mutex_unlock(&dev->lock);
    return p && size ? OWU_OK : OWU_E_INVAL;
}
