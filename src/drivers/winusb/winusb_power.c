/* Selective suspend (shared/reference/winusb-api.md §6): when DeviceIdleEnabled allows it and
 * AUTO_SUSPEND is on, the device is suspended through the backend's suspend hook once it has
 * been idle for SUSPEND_DELAY ms — idle meaning nothing pending but reads on bulk/interrupt
 * IN pipes — and resumed by the next transfer. Suspend and resume run on the device's
 * worker thread; transfers wait for it (the engine holds their submission), API calls that
 * talk to the device directly wait through wu_pm_get. */
#include "drivers/winusb/winusb_priv.h"

#include <string.h>

#include <openwinusb/registry.h>   /* OWU_WINUSB_DEFAULT_IDLE_TIMEOUT_MS */

void owu_winusb_power_defaults_init(struct owu_winusb_power_defaults *pd)
{
    memset(pd, 0, sizeof *pd);
    pd->idle_enabled = false;
    pd->default_idle_state = true;
    pd->idle_timeout_ms = OWU_WINUSB_DEFAULT_IDLE_TIMEOUT_MS;
}

static bool suspend_allowed(const struct owu_winusb_dev *dev)
{
    const struct owu_hcd_ops *ops = dev->udev->hcd ? dev->udev->hcd->ops : NULL;
    return dev->pdef.idle_enabled && !dev->pdef.user_disabled && dev->auto_suspend && ops &&
           ops->suspend && ops->resume && !dev->stopping;
}

void wu_pm_activity(struct owu_winusb_dev *dev) { dev->last_activity_ns = owu_now_ns(); }

bool wu_pm_may_submit(struct owu_winusb_dev *dev, struct owu_winusb_pipe *p)
{
    if (dev->pm_state == WU_PM_ACTIVE) {
        dev->pm_submitting++;
        wu_pm_activity(dev);
        return true;
    }
    dev->resume_wanted = true;
    p->waiting_power = true;
    wu_worker_kick(dev);
    return false;
}

void wu_pm_submit_done(struct owu_winusb_dev *dev)
{
    dev->pm_submitting--;
    wu_pm_activity(dev);
    wu_worker_kick(dev);
}

void wu_pm_get(struct owu_winusb_dev *dev)
{
    pthread_mutex_lock(&dev->lock);
    dev->pm_busy++;
    while (dev->pm_state != WU_PM_ACTIVE && !dev->stopping) {
        dev->resume_wanted = true;
        wu_worker_kick(dev);
        pthread_cond_wait(&dev->cond, &dev->lock);
    }
    wu_pm_activity(dev);
    pthread_mutex_unlock(&dev->lock);
}

void wu_pm_put(struct owu_winusb_dev *dev)
{
    pthread_mutex_lock(&dev->lock);
    dev->pm_busy--;
    wu_pm_activity(dev);
    wu_worker_kick(dev);
    pthread_mutex_unlock(&dev->lock);
}

static void do_suspend(struct owu_winusb_dev *dev)
{
    dev->pm_state = WU_PM_TRANSITION;
    pthread_mutex_unlock(&dev->lock);
    int rc = dev->udev->hcd->ops->suspend(dev->udev);
    pthread_mutex_lock(&dev->lock);
    if (rc == OWU_OK) {
        dev->pm_state = WU_PM_SUSPENDED;
        dev->suspends++;
    } else {
        dev->pm_state = WU_PM_ACTIVE;
        wu_pm_activity(dev);   /* try again after another idle period, not in a loop */
    }
    pthread_cond_broadcast(&dev->cond);
}

/* Resume, then RESET_PIPE_ON_RESUME, then let the waiting transfers go. A resume that
 * fails (device gone) still releases them: their submissions then fail as they should. */
static void do_resume(struct owu_winusb_dev *dev)
{
    uint8_t reset[WU_PIPES];
    unsigned nreset = 0;
    for (unsigned i = 0; i < dev->num_intfs; i++)
        for (unsigned s = 0; s < WU_PIPES; s++) {
            const struct owu_winusb_pipe *p = &dev->intfs[i].pipes[s];
            if (p->present && p->policy.reset_pipe_on_resume && dev->intfs[i].handed_out &&
                nreset < WU_PIPES)
                reset[nreset++] = p->address;
        }
    dev->pm_state = WU_PM_TRANSITION;
    pthread_mutex_unlock(&dev->lock);
    int rc = dev->udev->hcd->ops->resume(dev->udev);
    for (unsigned i = 0; rc == OWU_OK && i < nreset; i++)
        owu_dev_clear_halt(dev->udev, reset[i], OWU_WINUSB_CONTROL_TIMEOUT_MS);
    pthread_mutex_lock(&dev->lock);
    if (rc == OWU_OK)
        dev->resumes++;
    dev->pm_state = WU_PM_ACTIVE;
    dev->resume_wanted = false;
    wu_pm_activity(dev);
    pthread_cond_broadcast(&dev->cond);
    wu_dev_kick_pipes(dev);
}

bool wu_pm_worker_step(struct owu_winusb_dev *dev, uint64_t *wait_until_ns)
{
    *wait_until_ns = 0;
    bool allowed = suspend_allowed(dev);
    if (dev->pm_state == WU_PM_SUSPENDED) {
        if (dev->resume_wanted || !allowed || dev->stopping) {
            do_resume(dev);
            return true;
        }
        return false;
    }
    if (dev->pm_state != WU_PM_ACTIVE || !allowed || owu_usb_device_gone(dev->udev))
        return false;
    if (dev->pm_busy || dev->pm_submitting)
        return false;   /* woken when the last one finishes */
    uint64_t deadline = dev->last_activity_ns + (uint64_t)dev->suspend_delay_ms * 1000000ull;
    if (owu_now_ns() >= deadline) {
        do_suspend(dev);
        return true;
    }
    *wait_until_ns = deadline;
    return false;
}

void wu_pm_ensure_active_worker(struct owu_winusb_dev *dev)
{
    if (dev->pm_state == WU_PM_SUSPENDED)
        do_resume(dev);
}

/* ---- power policy ---------------------------------------------------------------------------- */

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

int owu_winusb_set_power_policy(struct owu_winusb_dev *dev, uint32_t policy, const void *value,
                                size_t len)
{
    bool b;
    uint32_t u;
    switch (policy) {
    case OWU_WINUSB_AUTO_SUSPEND:
        if (!read_bool(value, len, &b))
            return OWU_E_INVAL;
        pthread_mutex_lock(&dev->lock);
        dev->auto_suspend = b;
        wu_pm_activity(dev);
        wu_worker_kick(dev);
        pthread_mutex_unlock(&dev->lock);
        return OWU_OK;
    case OWU_WINUSB_SUSPEND_DELAY:
        if (!value || len != 4)
            return OWU_E_INVAL;
        memcpy(&u, value, 4);
        pthread_mutex_lock(&dev->lock);
        dev->suspend_delay_ms = u;
        wu_worker_kick(dev);
        pthread_mutex_unlock(&dev->lock);
        return OWU_OK;
    default:
        return OWU_E_INVAL;
    }
}

int owu_winusb_get_power_policy(struct owu_winusb_dev *dev, uint32_t policy, void *value, size_t *len)
{
    size_t need;
    switch (policy) {
    case OWU_WINUSB_AUTO_SUSPEND:
        need = 1;
        break;
    case OWU_WINUSB_SUSPEND_DELAY:
        need = 4;
        break;
    default:
        return OWU_E_INVAL;
    }
    if (!value || *len < need) {
        *len = need;
        return OWU_E_OVERFLOW;
    }
    pthread_mutex_lock(&dev->lock);
    if (policy == OWU_WINUSB_AUTO_SUSPEND) {
        uint8_t b = dev->auto_suspend ? 1 : 0;
        memcpy(value, &b, 1);
    } else {
        memcpy(value, &dev->suspend_delay_ms, 4);
    }
    pthread_mutex_unlock(&dev->lock);
    *len = need;
    return OWU_OK;
}

void owu_winusb_power_stats(struct owu_winusb_dev *dev, struct owu_winusb_power_stats *out)
{
    pthread_mutex_lock(&dev->lock);
    out->suspended = dev->pm_state == WU_PM_SUSPENDED;
    out->suspends = dev->suspends;
    out->resumes = dev->resumes;
    pthread_mutex_unlock(&dev->lock);
}
