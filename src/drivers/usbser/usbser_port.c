/* A usbser port: open (find the interfaces, claim them, start the readers, raise the control
 * lines), the CDC class requests, reading from the receive buffer, event waiting, purge and
 * close. */
#include "drivers/usbser/usbser_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openwinusb/registry.h>
#include <openwinusb/stack.h>

void owu_usbser_options_default(struct owu_usbser_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->read_urbs = 8;
    opt->read_urb_size = 16384;
    opt->rx_buffer_size = 1u << 20;
    opt->write_urbs = 4;
    opt->write_urb_size = 16384;
    opt->idle_timeout_ms = 5000;
}

static void fill_defaults(struct owu_usbser_options *o)
{
    struct owu_usbser_options d;
    owu_usbser_options_default(&d);
    if (!o->read_urbs)
        o->read_urbs = d.read_urbs;
    if (o->read_urbs > USBSER_MAX_READ_URBS)
        o->read_urbs = USBSER_MAX_READ_URBS;
    if (!o->read_urb_size)
        o->read_urb_size = d.read_urb_size;
    if (o->read_urb_size > (4u << 20))
        o->read_urb_size = 4u << 20;
    if (!o->rx_buffer_size)
        o->rx_buffer_size = d.rx_buffer_size;
    if (o->rx_buffer_size > (256u << 20))
        o->rx_buffer_size = 256u << 20;
    if (!o->write_urbs)
        o->write_urbs = d.write_urbs;
    if (o->write_urbs > USBSER_MAX_WRITE_URBS)
        o->write_urbs = USBSER_MAX_WRITE_URBS;
    if (!o->write_urb_size)
        o->write_urb_size = d.write_urb_size;
    if (o->write_urb_size > (4u << 20))
        o->write_urb_size = 4u << 20;
    if (!o->idle_timeout_ms)
        o->idle_timeout_ms = d.idle_timeout_ms;
}

/* Control request to the communication interface; returns bytes or a negative status. */
static int class_request(struct owu_usbser_port *port, uint8_t dir, uint8_t req, uint16_t value,
                         uint8_t *data, uint16_t len)
{
    int rc = usbser_pm_get(port);
    if (rc != OWU_OK)
        return rc;
    rc = owu_control_sync(port->udev, (uint8_t)(dir | OWU_TYPE_CLASS | OWU_RECIP_INTERFACE), req, value,
                          port->lay.comm_intf, data, len, USBSER_CONTROL_TIMEOUT_MS);
    if (rc == OWU_E_NODEV) {
        pthread_mutex_lock(&port->lock);
        usbser_mark_gone_locked(port);
        pthread_mutex_unlock(&port->lock);
    }
    usbser_pm_put(port);
    return rc;
}

static void port_free(struct owu_usbser_port *port)
{
    usbser_tx_free(port);
    usbser_rx_free(port);
    pthread_mutex_destroy(&port->write_lock);
    pthread_cond_destroy(&port->cond);
    pthread_mutex_destroy(&port->lock);
    owu_usb_device_unref(port->udev);
    free(port);
}

static void release_claims(struct owu_usbser_port *port)
{
    if (port->claimed_data)
        owu_dev_release_interface(port->udev, port->lay.data_intf);
    if (port->claimed_comm)
        owu_dev_release_interface(port->udev, port->lay.comm_intf);
    port->claimed_comm = port->claimed_data = false;
}

/* What open needs from the tree, copied under the stack lock. */
struct node_facts {
    struct owu_usb_device *udev;
    struct owu_config *cfg;
    uint8_t first;
    unsigned count;
    bool sole;
    char instance_id[200];
    char port_name[16];
};

static int node_facts(struct owu_stack *stack, const char *name, struct node_facts *nf, owu_err *err)
{
    memset(nf, 0, sizeof *nf);
    owu_stack_lock(stack);
    struct owu_devnode *node = owu_usbser_find(stack, name, err);
    int rc = node ? OWU_OK : (err && err->code ? err->code : OWU_E_NOTFOUND);
    if (node) {
        struct owu_usb_device *udev = node->bus_device;
        if (!udev && node->kind == OWU_NODE_FUNCTION && node->parent)
            udev = node->parent->bus_device;
        const struct owu_devinfo *info = node->info;
        if (!udev || owu_usb_device_gone(udev)) {
            rc = owu_fail(err, OWU_E_NODEV, "%s: the device is gone", name);
        } else if (!info || info->num_configs == 0 || !info->configs[0].data) {
            rc = owu_fail(err, OWU_E_BADDESC, "%s: no configuration descriptor was read", name);
        } else {
            rc = owu_config_parse(info->configs[0].data, info->configs[0].len, &nf->cfg, err);
        }
        if (rc == OWU_OK) {
            nf->udev = udev;
            owu_usb_device_ref(udev);
            if (node->kind == OWU_NODE_FUNCTION) {
                nf->first = node->first_interface;
                nf->count = node->num_interfaces ? node->num_interfaces : 1;
                nf->sole = node->parent && node->parent->first_child == node && !node->next_sibling;
            } else {
                nf->sole = true;
            }
            snprintf(nf->instance_id, sizeof nf->instance_id, "%s", node->instance_id);
            rc = owu_usbser_port_name(owu_stack_registry(stack), node->instance_id, nf->port_name, err);
        }
    }
    owu_stack_unlock(stack);
    if (rc != OWU_OK) {
        owu_config_free(nf->cfg);
        nf->cfg = NULL;
        if (nf->udev)
            owu_usb_device_unref(nf->udev);
        nf->udev = NULL;
    }
    return rc;
}

int owu_usbser_open(struct owu_stack *stack, const char *name, const struct owu_usbser_options *opt,
                    struct owu_usbser_port **out, owu_err *err)
{
    *out = NULL;
    if (!stack || !name)
        return owu_fail(err, OWU_E_INVAL, "owu_usbser_open: no stack or no port name");
    struct node_facts nf;
    int rc = node_facts(stack, name, &nf, err);
    if (rc != OWU_OK)
        return rc;

    struct owu_usbser_port *port = calloc(1, sizeof *port);
    if (!port) {
        owu_config_free(nf.cfg);
        owu_usb_device_unref(nf.udev);
        return owu_fail(err, OWU_E_NOMEM, "out of memory");
    }
    port->udev = nf.udev;
    pthread_mutex_init(&port->lock, NULL);
    owu_cond_init_monotonic(&port->cond);
    pthread_mutex_init(&port->write_lock, NULL);
    if (opt)
        port->opt = *opt;
    else
        owu_usbser_options_default(&port->opt);
    fill_defaults(&port->opt);
    port->sole_function = nf.sole;
    port->pm = PM_ACTIVE;
    port->last_activity_ns = owu_now_ns();

    rc = usbser_find_layout(nf.cfg, nf.first, nf.count, &port->lay, err);
    owu_config_free(nf.cfg);
    if (rc != OWU_OK) {
        owu_err_wrap(err, "%s (%s): ", nf.port_name, nf.instance_id);
        port_free(port);
        return rc;
    }

    struct owu_usbser_info *in = &port->info;
    snprintf(in->port_name, sizeof in->port_name, "%s", nf.port_name);
    snprintf(in->instance_id, sizeof in->instance_id, "%s", nf.instance_id);
    snprintf(in->location, sizeof in->location, "%s", port->udev->location);
    in->comm_interface = port->lay.comm_intf;
    in->data_interface = port->lay.data_intf;
    in->notify_ep = port->lay.notify_ep;
    in->in_ep = port->lay.in_ep;
    in->out_ep = port->lay.out_ep;
    in->in_max_packet = port->lay.in_mps;
    in->out_max_packet = port->lay.out_mps;
    in->acm_capabilities = port->lay.acm_caps;
    in->found_by = port->lay.found_by;

    uint32_t policy = 0xFFFFFFFFu;
    owu_stack_lock(stack);
    owu_registry_get_dword(owu_stack_registry(stack), nf.instance_id,
                           OWU_REGVAL_IDLE_USB_SELECTIVE_SUSPEND_POLICY, 0xFFFFFFFFu, &policy, NULL);
    owu_stack_unlock(stack);
    port->policy = policy == 0 ? 0 : policy == 1 ? 1 : -1;
    in->suspend_policy = port->policy;

    unsigned claim_flags = port->opt.detach_kernel_driver ? OWU_CLAIM_DETACH_KERNEL : 0;
    rc = owu_dev_claim_interface(port->udev, port->lay.comm_intf, claim_flags);
    if (rc == OWU_OK) {
        port->claimed_comm = true;
        if (port->lay.data_intf != port->lay.comm_intf) {
            rc = owu_dev_claim_interface(port->udev, port->lay.data_intf, claim_flags);
            port->claimed_data = rc == OWU_OK;
        }
    }
    if (rc != OWU_OK) {
        if (rc == OWU_E_BUSY)
            owu_fail(err, rc,
                     "%s is in use: its interfaces are claimed by another open handle or bound to a "
                     "kernel driver (such as cdc_acm; the detach option takes them from it)",
                     in->port_name);
        else
            owu_fail(err, rc, "%s: cannot claim its interfaces: %s", in->port_name, owu_status_name(rc));
        release_claims(port);
        port_free(port);
        return rc;
    }

    /* A device left suspended by the last close wakes up for the new handle. */
    if (usbser_may_suspend(port)) {
        int r = port->udev->hcd->ops->resume(port->udev);
        if (r == OWU_E_NODEV)
            rc = r;
    }
    if (rc == OWU_OK && port->lay.data_alt != 0)
        rc = owu_dev_set_interface(port->udev, port->lay.data_intf, port->lay.data_alt, USBSER_CONTROL_TIMEOUT_MS);
    if (rc == OWU_OK)
        rc = usbser_rx_init(port);
    if (rc == OWU_OK)
        rc = usbser_tx_init(port);
    if (rc == OWU_OK)
        rc = usbser_worker_start(port);
    if (rc != OWU_OK) {
        owu_fail(err, rc, "%s: cannot start: %s", in->port_name, owu_status_name(rc));
        usbser_worker_stop(port);
        release_claims(port);
        port_free(port);
        return rc;
    }
    usbser_rx_refill(port);
    if (!port->opt.keep_lines) {
        rc = owu_usbser_set_control_lines(port, OWU_USBSER_DTR | OWU_USBSER_RTS);
        if (rc < 0 && rc != OWU_E_STALL) {
            owu_fail(err, rc, "%s: SET_CONTROL_LINE_STATE failed: %s", in->port_name, owu_status_name(rc));
            owu_usbser_close(port);
            return rc;
        }
    }
    *out = port;
    return OWU_OK;
}

void owu_usbser_close(struct owu_usbser_port *port)
{
    if (!port)
        return;
    if (!port->opt.keep_lines && !owu_usbser_gone(port))
        owu_usbser_set_control_lines(port, 0);
    usbser_worker_stop(port);   /* sets stopping: nothing is resubmitted any more */
    usbser_rx_stop(port);
    pthread_mutex_lock(&port->lock);
    bool gone = port->gone;
    bool suspended = port->pm == PM_SUSPENDED;
    pthread_mutex_unlock(&port->lock);
    release_claims(port);
    if (!gone && !suspended && port->policy >= 0 && usbser_may_suspend(port))
        port->udev->hcd->ops->suspend(port->udev);
    port_free(port);
}

void owu_usbser_get_info(const struct owu_usbser_port *port, struct owu_usbser_info *out)
{
    *out = port->info;
}

bool owu_usbser_gone(struct owu_usbser_port *port)
{
    pthread_mutex_lock(&port->lock);
    if (!port->gone && owu_usb_device_gone(port->udev))
        usbser_mark_gone_locked(port);
    bool g = port->gone;
    pthread_mutex_unlock(&port->lock);
    return g;
}

int owu_usbser_set_line_coding(struct owu_usbser_port *port, const struct owu_usbser_line_coding *lc)
{
    if (!port || !lc)
        return OWU_E_INVAL;
    uint8_t b[7];
    owu_put_le32(b, lc->rate);
    b[4] = lc->stop_bits;
    b[5] = lc->parity;
    b[6] = lc->data_bits;
    int rc = class_request(port, OWU_DIR_OUT, CDC_SET_LINE_CODING, 0, b, sizeof b);
    return rc < 0 ? rc : OWU_OK;
}

int owu_usbser_get_line_coding(struct owu_usbser_port *port, struct owu_usbser_line_coding *lc)
{
    if (!port || !lc)
        return OWU_E_INVAL;
    uint8_t b[7] = {0};
    int rc = class_request(port, OWU_DIR_IN, CDC_GET_LINE_CODING, 0, b, sizeof b);
    if (rc < 0)
        return rc;
    if (rc < 7)
        return OWU_E_IO;
    lc->rate = owu_le32(b);
    lc->stop_bits = b[4];
    lc->parity = b[5];
    lc->data_bits = b[6];
    return OWU_OK;
}

int owu_usbser_set_control_lines(struct owu_usbser_port *port, unsigned lines)
{
    if (!port)
        return OWU_E_INVAL;
    lines &= OWU_USBSER_DTR | OWU_USBSER_RTS;
    int rc = class_request(port, OWU_DIR_OUT, CDC_SET_CONTROL_LINE_STATE, (uint16_t)lines, NULL, 0);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&port->lock);
    port->lines = lines;
    pthread_mutex_unlock(&port->lock);
    return OWU_OK;
}

unsigned owu_usbser_control_lines(struct owu_usbser_port *port)
{
    pthread_mutex_lock(&port->lock);
    unsigned l = port->lines;
    pthread_mutex_unlock(&port->lock);
    return l;
}

int owu_usbser_send_break(struct owu_usbser_port *port, uint16_t duration_ms)
{
    if (!port)
        return OWU_E_INVAL;
    int rc = class_request(port, OWU_DIR_OUT, CDC_SEND_BREAK, duration_ms, NULL, 0);
    return rc < 0 ? rc : OWU_OK;
}

unsigned owu_usbser_modem_status(struct owu_usbser_port *port)
{
    pthread_mutex_lock(&port->lock);
    unsigned m = port->modem;
    pthread_mutex_unlock(&port->lock);
    return m;
}

void owu_usbser_get_counters(struct owu_usbser_port *port, struct owu_usbser_counters *out)
{
    pthread_mutex_lock(&port->lock);
    *out = port->cnt;
    pthread_mutex_unlock(&port->lock);
}

int owu_usbser_wait_events(struct owu_usbser_port *port, unsigned mask, unsigned timeout_ms,
                           unsigned *which)
{
    if (which)
        *which = 0;
    if (!port || !(mask & OWU_USBSER_EV_ALL))
        return OWU_E_INVAL;
    struct timespec deadline;
    bool timed = usbser_deadline(timeout_ms, &deadline);
    int rc;
    pthread_mutex_lock(&port->lock);
    uint64_t gen = port->wait_abort_gen;
    for (;;) {
        if (port->gone) {
            rc = OWU_E_NODEV;
            break;
        }
        unsigned hit = port->events & mask;
        if (hit) {
            port->events &= ~hit;
            if (which)
                *which = hit;
            rc = OWU_OK;
            break;
        }
        if (port->stopping || port->wait_abort_gen != gen) {
            rc = OWU_E_CANCELLED;
            break;
        }
        if (timed) {
            if (pthread_cond_timedwait(&port->cond, &port->lock, &deadline) == ETIMEDOUT &&
                !(port->events & mask) && !port->gone) {
                rc = OWU_E_TIMEOUT;
                break;
            }
        } else {
            pthread_cond_wait(&port->cond, &port->lock);
        }
    }
    pthread_mutex_unlock(&port->lock);
    return rc;
}

void owu_usbser_clear_events(struct owu_usbser_port *port, unsigned mask)
{
    pthread_mutex_lock(&port->lock);
    port->events &= ~mask;
    pthread_mutex_unlock(&port->lock);
}

size_t owu_usbser_rx_available(struct owu_usbser_port *port)
{
    pthread_mutex_lock(&port->lock);
    size_t n = port->ring.len;
    pthread_mutex_unlock(&port->lock);
    return n;
}

int owu_usbser_read(struct owu_usbser_port *port, void *buf, size_t len, unsigned timeout_ms,
                    size_t *got)
{
    *got = 0;
    if (!port || (len && !buf))
        return OWU_E_INVAL;
    struct timespec deadline;
    bool timed = usbser_deadline(timeout_ms, &deadline);
    int rc = OWU_OK;
    bool refill = false;
    pthread_mutex_lock(&port->lock);
    uint64_t gen = port->read_abort_gen;
    for (;;) {
        if (port->gone) {
            rc = OWU_E_NODEV;
            break;
        }
        if (port->stopping || port->read_abort_gen != gen) {
            rc = OWU_E_CANCELLED;
            break;
        }
        if (port->ring.len || len == 0) {
            *got = owu_ring_get(&port->ring, buf, len);
            refill = port->rx_inflight < port->nrx;
            break;
        }
        if (timed) {
            if (pthread_cond_timedwait(&port->cond, &port->lock, &deadline) == ETIMEDOUT &&
                !port->ring.len && !port->gone) {
                rc = OWU_E_TIMEOUT;
                break;
            }
        } else {
            pthread_cond_wait(&port->cond, &port->lock);
        }
    }
    pthread_mutex_unlock(&port->lock);
    if (refill)
        usbser_rx_refill(port);
    return rc;
}

int owu_usbser_purge(struct owu_usbser_port *port, unsigned flags)
{
    if (!port)
        return OWU_E_INVAL;
    bool refill = false;
    pthread_mutex_lock(&port->lock);
    if (flags & OWU_USBSER_PURGE_RX) {
        owu_ring_clear(&port->ring);
        port->events &= ~(unsigned)OWU_USBSER_EV_RXCHAR;
        refill = true;
    }
    if (flags & OWU_USBSER_PURGE_ABORT_READ)
        port->read_abort_gen++;
    if (flags & OWU_USBSER_PURGE_ABORT_WAIT)
        port->wait_abort_gen++;
    if (flags & OWU_USBSER_PURGE_ABORT_WRITE)
        port->tx_abort = true;
    bool cancel_tx = (flags & OWU_USBSER_PURGE_ABORT_WRITE) && port->tx_inflight;
    pthread_cond_broadcast(&port->cond);
    int rc = port->gone ? OWU_E_NODEV : OWU_OK;
    pthread_mutex_unlock(&port->lock);
    if (cancel_tx)
        for (unsigned i = 0; i < port->opt.write_urbs; i++)
            owu_urb_cancel(&port->tx[i]);
    if (refill)
        usbser_rx_refill(port);
    return rc;
}
