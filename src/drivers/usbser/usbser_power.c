/* The port's worker thread: work that must not run on a completion thread (clearing a
 * stalled bulk IN endpoint, retrying readers after an error), noticing an unplug while no
 * transfer is in flight, and selective suspend.
 *
 * Suspend policy (Device Parameters IdleUsbSelectiveSuspendPolicy, usbser's value):
 *   absent  never suspend (Windows' default: the feature is off);
 *   0       suspend only when no handle is open: done at close (usbser_port.c);
 *   1       also while open, after idle_timeout_ms without data moving and without a
 *           request in progress: the readers are cancelled, the backend's suspend hook runs;
 *           the next write or class request resumes the device and restarts the readers.
 * Only a device whose sole function is this port is suspended: a composite device with other
 * functions would need usbccgp to collect every function's idle state, which it does not. */
#include "core/clock.h"
#include "drivers/usbser/usbser_internal.h"

#include <errno.h>
#include <time.h>

bool usbser_deadline(unsigned timeout_ms, struct timespec *ts)
{
    if (timeout_ms == OWU_USBSER_INFINITE)
        return false;
    owu_deadline_ms(ts, timeout_ms);
    return true;
}

void usbser_kick_locked(struct owu_usbser_port *port)
{
    port->worker_kick = true;
    pthread_cond_broadcast(&port->cond);
}

void usbser_retry_later_locked(struct owu_usbser_port *port)
{
    port->retry_at_ns = owu_now_ns() + (uint64_t)USBSER_WORKER_TICK_MS * 1000000ull;
}

bool usbser_may_suspend(const struct owu_usbser_port *port)
{
    const struct owu_hcd_ops *ops = port->udev->hcd ? port->udev->hcd->ops : NULL;
    return port->sole_function && ops && ops->suspend && ops->resume;
}

int usbser_pm_get(struct owu_usbser_port *port)
{
    pthread_mutex_lock(&port->lock);
    port->pm_busy++;
    while (port->pm != PM_ACTIVE && !port->gone && !port->stopping) {
        port->resume_wanted = true;
        usbser_kick_locked(port);
        pthread_cond_wait(&port->cond, &port->lock);
    }
    port->last_activity_ns = owu_now_ns();
    int rc = port->gone ? OWU_E_NODEV : OWU_OK;
    if (rc != OWU_OK)
        port->pm_busy--;
    pthread_mutex_unlock(&port->lock);
    return rc;
}

void usbser_pm_put(struct owu_usbser_port *port)
{
    pthread_mutex_lock(&port->lock);
    port->pm_busy--;
    port->last_activity_ns = owu_now_ns();
    pthread_mutex_unlock(&port->lock);
}

/* Lock held on entry and exit. */
static void do_suspend(struct owu_usbser_port *port)
{
    port->pm = PM_TRANSITION;
    pthread_mutex_unlock(&port->lock);
    usbser_rx_stop(port);
    int rc = port->udev->hcd->ops->suspend(port->udev);
    pthread_mutex_lock(&port->lock);
    if (rc == OWU_OK) {
        /* A request that arrived meanwhile set resume_wanted: the next step resumes. */
        port->pm = PM_SUSPENDED;
        port->suspends++;
        pthread_cond_broadcast(&port->cond);
        return;
    }
    if (rc == OWU_E_NODEV)
        usbser_mark_gone_locked(port);
    port->pm = PM_ACTIVE;
    port->last_activity_ns = owu_now_ns();
    pthread_cond_broadcast(&port->cond);
    pthread_mutex_unlock(&port->lock);
    usbser_rx_refill(port);
    pthread_mutex_lock(&port->lock);
}

static void do_resume(struct owu_usbser_port *port)
{
    port->pm = PM_TRANSITION;
    pthread_mutex_unlock(&port->lock);
    int rc = port->udev->hcd->ops->resume(port->udev);
    pthread_mutex_lock(&port->lock);
    if (rc == OWU_OK)
        port->resumes++;
    else if (rc == OWU_E_NODEV)
        usbser_mark_gone_locked(port);
    port->pm = PM_ACTIVE;
    port->resume_wanted = false;
    port->last_activity_ns = owu_now_ns();
    pthread_cond_broadcast(&port->cond);
    pthread_mutex_unlock(&port->lock);
    usbser_rx_refill(port);
    pthread_mutex_lock(&port->lock);
}

static void *worker_main(void *arg)
{
    struct owu_usbser_port *port = arg;
    pthread_mutex_lock(&port->lock);
    while (!port->stopping) {
        port->worker_kick = false;
        if (!port->gone && owu_usb_device_gone(port->udev))
            usbser_mark_gone_locked(port);
        if (port->gone) {
            pthread_cond_broadcast(&port->cond);
        } else if (port->pm == PM_SUSPENDED) {
            if (port->resume_wanted)
                do_resume(port);
        } else if (port->pm == PM_ACTIVE) {
            bool retry = false;
            bool due = owu_now_ns() >= port->retry_at_ns;
            if (port->rx_halted && due) {
                pthread_mutex_unlock(&port->lock);
                int rc = owu_dev_clear_halt(port->udev, port->lay.in_ep, USBSER_CONTROL_TIMEOUT_MS);
                pthread_mutex_lock(&port->lock);
                if (rc == OWU_OK) {
                    port->rx_halted = false;
                    port->cnt.stalls_cleared++;
                } else if (rc == OWU_E_NODEV) {
                    usbser_mark_gone_locked(port);
                } else {
                    usbser_retry_later_locked(port);
                }
                retry = true;
            }
            if ((port->n_retry || port->rx_errors) && due) {
                port->n_retry = false;
                port->rx_errors = 0;
                retry = true;
            }
            if (retry) {
                pthread_mutex_unlock(&port->lock);
                usbser_rx_refill(port);
                pthread_mutex_lock(&port->lock);
            }
            uint64_t idle_ns = (uint64_t)port->opt.idle_timeout_ms * 1000000ull;
            if (port->policy == (int)OWU_USBSER_SUSPEND_WHEN_IDLE && usbser_may_suspend(port) &&
                !port->gone && port->pm_busy == 0 && !port->writing && port->tx_inflight == 0 &&
                owu_now_ns() - port->last_activity_ns >= idle_ns)
                do_suspend(port);
        }
        if (port->stopping)
            break;
        if (!port->worker_kick) {
            struct timespec ts;
            usbser_deadline(USBSER_WORKER_TICK_MS, &ts);
            pthread_cond_timedwait(&port->cond, &port->lock, &ts);
        }
    }
    pthread_mutex_unlock(&port->lock);
    return NULL;
}

int usbser_worker_start(struct owu_usbser_port *port)
{
    if (pthread_create(&port->worker, NULL, worker_main, port) != 0)
        return OWU_E_NOMEM;
    port->worker_started = true;
    return OWU_OK;
}

void usbser_worker_stop(struct owu_usbser_port *port)
{
    if (!port->worker_started)
        return;
    pthread_mutex_lock(&port->lock);
    port->stopping = true;
    pthread_cond_broadcast(&port->cond);
    pthread_mutex_unlock(&port->lock);
    pthread_join(port->worker, NULL);
    port->worker_started = false;
}

void owu_usbser_power_stats(struct owu_usbser_port *port, struct owu_usbser_power_stats *out)
{
    pthread_mutex_lock(&port->lock);
    out->suspended = port->pm == PM_SUSPENDED;
    out->suspends = port->suspends;
    out->resumes = port->resumes;
    pthread_mutex_unlock(&port->lock);
}
