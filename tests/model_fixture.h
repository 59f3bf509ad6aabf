/* Helpers of tests that drive virtual device models through a stack: time, and the live
 * model behind a bus location. Header-only (static), included by the test programs that use
 * it, including the guest programs of tests/kernel/. */
#ifndef OWU_TESTS_MODEL_FIXTURE_H
#define OWU_TESTS_MODEL_FIXTURE_H

#include <stdint.h>
#include <time.h>

#include <openwinusb/stack.h>

#include "hcd/hcd.h"
#include "hcd/vbus.h"

static inline uint64_t fx_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline void fx_sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The model plugged at `location` ("virtual:1-1"), NULL when there is none. */
static inline struct owu_vdev *fx_model_at(struct owu_stack *stack, const char *location)
{
    owu_stack_lock(stack);
    struct owu_devnode *n = owu_stack_find(stack, location);
    struct owu_usb_device *d = n ? n->bus_device : NULL;
    struct owu_vdev *vd = d ? owu_vbus_port(d->hcd, d->port) : NULL;
    owu_stack_unlock(stack);
    return vd;
}

#endif
