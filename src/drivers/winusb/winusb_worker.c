/* The device's worker thread: the work WinUSB must not do on a completion thread, because
 * it waits for a transfer of its own — the pipe resets of AUTO_CLEAR_STALL, selective
 * suspend after the idle delay, resume (with RESET_PIPE_ON_RESUME). */
#include "drivers/winusb/winusb_priv.h"

#include <time.h>

#include "core/clock.h"

static void *worker_main(void *arg)
{
    struct owu_winusb_dev *dev = arg;
    pthread_mutex_lock(&dev->lock);
    while (!dev->stopping) {
        struct owu_winusb_pipe *p = dev->reset_head;
        if (p) {
            dev->reset_head = p->reset_next;
            p->reset_next = NULL;
            p->reset_queued = false;
            wu_pm_ensure_active_worker(dev);
            uint8_t ep = p->address;
            pthread_mutex_unlock(&dev->lock);
            owu_dev_clear_halt(dev->udev, ep, OWU_WINUSB_CONTROL_TIMEOUT_MS);
            pthread_mutex_lock(&dev->lock);
            wu_pipe_reset_done(p);
            continue;
        }
        uint64_t until;
        if (wu_pm_worker_step(dev, &until))
            continue;
        if (until) {
            struct timespec ts = {.tv_sec = (time_t)(until / 1000000000ull),
                                  .tv_nsec = (long)(until % 1000000000ull)};
            pthread_cond_timedwait(&dev->worker_cond, &dev->lock, &ts);
        } else {
            pthread_cond_wait(&dev->worker_cond, &dev->lock);
        }
    }
    /* The last handle is gone: give the device back awake. */
    wu_pm_ensure_active_worker(dev);
    pthread_mutex_unlock(&dev->lock);
    return NULL;
}

int wu_worker_start(struct owu_winusb_dev *dev)
{
    owu_cond_init_monotonic(&dev->worker_cond);
    if (pthread_create(&dev->worker, NULL, worker_main, dev) != 0) {
        pthread_cond_destroy(&dev->worker_cond);
        return OWU_E_NOMEM;
    }
    dev->worker_started = true;
    return OWU_OK;
}

void wu_worker_stop(struct owu_winusb_dev *dev)
{
    if (!dev->worker_started)
        return;
    pthread_mutex_lock(&dev->lock);
    dev->stopping = true;
    pthread_cond_signal(&dev->worker_cond);
    pthread_mutex_unlock(&dev->lock);
    pthread_join(dev->worker, NULL);
    pthread_cond_destroy(&dev->worker_cond);
    dev->worker_started = false;
}

void wu_worker_kick(struct owu_winusb_dev *dev)
{
    if (dev->worker_started)
        pthread_cond_signal(&dev->worker_cond);
}

void wu_worker_queue_reset(struct owu_winusb_pipe *p)
{
    struct owu_winusb_dev *dev = p->intf->dev;
    if (p->reset_queued)
        return;
    p->reset_queued = true;
    p->reset_next = NULL;
    struct owu_winusb_pipe **pp = &dev->reset_head;
    while (*pp)
        pp = &(*pp)->reset_next;
    *pp = p;
    wu_worker_kick(dev);
}
