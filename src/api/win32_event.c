/* Event objects and waiting (CreateEvent, SetEvent, ResetEvent, WaitForSingleObject). A
 * device file handle is waitable too: its own event is signalled when an overlapped request
 * started on it completes, as Windows does for requests whose OVERLAPPED has no hEvent. */
#include "api/win32_internal.h"
#include "core/clock.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "core/clock.h"

struct w32_event {
    struct owu_w32_obj obj;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool manual;
    bool signaled;
};

static void event_destroy(struct owu_w32_obj *obj)
{
    struct w32_event *e = (struct w32_event *)obj;
    pthread_cond_destroy(&e->cond);
    pthread_mutex_destroy(&e->lock);
    free(e);
}

static HANDLE create_event(BOOL manual, BOOL initial)
{
    struct w32_event *e = calloc(1, sizeof *e);
    if (!e) {
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return NULL;
    }
    pthread_mutex_init(&e->lock, NULL);
    owu_cond_init_monotonic(&e->cond);
    e->manual = manual != FALSE;
    e->signaled = initial != FALSE;
    e->obj.destroy = event_destroy;
    HANDLE h = owu_w32_handle_add(&e->obj, OWU_W32_EVENT);
    if (!h) {
        event_destroy(&e->obj);
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return NULL;
    }
    SetLastError(ERROR_SUCCESS);
    return h;
}

/* Named events would be shared between processes on Windows; here a name is accepted and
 * ignored (every call creates a new event). */
HANDLE WINAPI CreateEventA(LPSECURITY_ATTRIBUTES attrs, BOOL bManualReset, BOOL bInitialState, LPCSTR lpName)
{
    return create_event(bManualReset, bInitialState);
}

HANDLE WINAPI CreateEventW(LPSECURITY_ATTRIBUTES attrs, BOOL bManualReset, BOOL bInitialState, LPCWSTR lpName)
{
    return create_event(bManualReset, bInitialState);
}

static BOOL set_state(HANDLE h, bool signaled)
{
    struct w32_event *e = (struct w32_event *)owu_w32_handle_get(h, OWU_W32_EVENT);
    if (!e)
        return FALSE;
    pthread_mutex_lock(&e->lock);
    e->signaled = signaled;
    if (signaled)
        pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->lock);
    owu_w32_obj_unref(&e->obj);
    return TRUE;
}

BOOL WINAPI SetEvent(HANDLE hEvent) { return set_state(hEvent, true); }
BOOL WINAPI ResetEvent(HANDLE hEvent) { return set_state(hEvent, false); }

void owu_w32_event_set(HANDLE h)
{
    DWORD saved = GetLastError();
    set_state(h, true);
    SetLastError(saved);
}

void owu_w32_event_reset(HANDLE h)
{
    DWORD saved = GetLastError();
    set_state(h, false);
    SetLastError(saved);
}

/* Waits on (lock, cond) until *flag; clears it when auto_reset. */
static DWORD wait_flag(pthread_mutex_t *lock, pthread_cond_t *cond, bool *flag, bool auto_reset,
                       DWORD ms)
{
    struct timespec ts;
    owu_deadline_ms(&ts, ms == INFINITE ? 0 : ms);
    DWORD rc = WAIT_OBJECT_0;
    pthread_mutex_lock(lock);
    while (!*flag) {
        if (ms == INFINITE) {
            pthread_cond_wait(cond, lock);
        } else if (ms == 0 || pthread_cond_timedwait(cond, lock, &ts) == ETIMEDOUT) {
            if (!*flag)
                rc = WAIT_TIMEOUT;
            break;
        }
    }
    if (rc == WAIT_OBJECT_0 && auto_reset)
        *flag = false;
    pthread_mutex_unlock(lock);
    return rc;
}

DWORD WINAPI WaitForSingleObject(HANDLE hHandle, DWORD dwMilliseconds)
{
    struct owu_w32_obj *obj = owu_w32_handle_get(hHandle, OWU_W32_EVENT);
    if (obj) {
        struct w32_event *e = (struct w32_event *)obj;
        DWORD rc = wait_flag(&e->lock, &e->cond, &e->signaled, !e->manual, dwMilliseconds);
        owu_w32_obj_unref(obj);
        return rc;
    }
    obj = owu_w32_handle_get(hHandle, OWU_W32_FILE);
    if (obj) {
        struct owu_w32_file *f = (struct owu_w32_file *)obj;
        DWORD rc = wait_flag(&f->lock, &f->cond, &f->signaled, false, dwMilliseconds);
        owu_w32_obj_unref(obj);
        return rc;
    }
    SetLastError(ERROR_INVALID_HANDLE);
    return WAIT_FAILED;
}
