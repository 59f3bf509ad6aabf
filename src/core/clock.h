/* The one monotonic clock of the library: timestamps, and absolute deadlines for
 * pthread_cond_timedwait on condition variables created with CLOCK_MONOTONIC. */
#ifndef OWU_CORE_CLOCK_H
#define OWU_CORE_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in nanoseconds / milliseconds. */
uint64_t owu_now_ns(void);
uint64_t owu_now_ms(void);
/* *ts = now + ms on CLOCK_MONOTONIC. */
void owu_deadline_ms(struct timespec *ts, unsigned ms);
/* pthread_cond_init with CLOCK_MONOTONIC, for owu_deadline_ms deadlines. */
void owu_cond_init_monotonic(pthread_cond_t *c);

#endif
