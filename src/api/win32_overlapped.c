/* OVERLAPPED bookkeeping as Windows does it: a request that starts sets Internal to
 * STATUS_PENDING and resets the event; its completion stores InternalHigh (bytes), then
 * Internal (the NTSTATUS), then signals the event captured at the start — the caller may
 * free the OVERLAPPED as soon as Internal changes, so nothing reads it after that.
 * GetOverlappedResult reads those fields; waiting never depends on the caller's event (an
 * auto-reset event the caller already waited on cannot make it hang): waiters wait on the
 * file's condition, which every completion and refusal broadcasts under the file's lock
 * after storing Internal, so a waiter that saw STATUS_PENDING under that lock cannot miss it. */
#include "api/win32_internal.h"

static HANDLE event_of(LPOVERLAPPED ov)
{
    /* The low bit of hEvent is a flag on Windows (no completion-port notification). */
    return (HANDLE)((uintptr_t)ov->hEvent & ~(uintptr_t)1);
}

HANDLE owu_w32_overlapped_start(struct owu_w32_file *file, LPOVERLAPPED ov)
{
    HANDLE ev = event_of(ov);
    ov->InternalHigh = 0;
    __atomic_store_n(&ov->Internal, (ULONG_PTR)STATUS_PENDING, __ATOMIC_RELEASE);
    if (ev)
        owu_w32_event_reset(ev);
    pthread_mutex_lock(&file->lock);
    file->signaled = false;
    pthread_mutex_unlock(&file->lock);
    return ev;
}

void owu_w32_overlapped_finish(struct owu_w32_file *file, LPOVERLAPPED ov, HANDLE event,
                               int status, size_t bytes)
{
    ov->InternalHigh = bytes;
    __atomic_store_n(&ov->Internal, (ULONG_PTR)owu_w32_ntstatus_of(status), __ATOMIC_RELEASE);
    if (event)
        owu_w32_event_set(event);
    pthread_mutex_lock(&file->lock);
    file->signaled = true;
    pthread_cond_broadcast(&file->cond);
    pthread_mutex_unlock(&file->lock);
}

void owu_w32_overlapped_refuse(struct owu_w32_file *file, LPOVERLAPPED ov, int status)
{
    ov->InternalHigh = 0;
    __atomic_store_n(&ov->Internal, (ULONG_PTR)owu_w32_ntstatus_of(status), __ATOMIC_RELEASE);
    pthread_mutex_lock(&file->lock);
    pthread_cond_broadcast(&file->cond);
    pthread_mutex_unlock(&file->lock);
}

BOOL owu_w32_overlapped_result(struct owu_w32_file *file, LPOVERLAPPED ov, LPDWORD bytes, BOOL wait)
{
    if (!ov)
        return owu_w32_fail(ERROR_INVALID_PARAMETER);
    pthread_mutex_lock(&file->lock);
    ULONG_PTR st;
    while ((st = __atomic_load_n(&ov->Internal, __ATOMIC_ACQUIRE)) == (ULONG_PTR)STATUS_PENDING) {
        if (!wait) {
            pthread_mutex_unlock(&file->lock);
            return owu_w32_fail(ERROR_IO_INCOMPLETE);
        }
        pthread_cond_wait(&file->cond, &file->lock);
    }
    DWORD n = (DWORD)ov->InternalHigh;
    pthread_mutex_unlock(&file->lock);
    if (bytes)
        *bytes = n;
    DWORD err = owu_w32_error_of_ntstatus((uint32_t)st);
    if (err != ERROR_SUCCESS)
        return owu_w32_fail(err);
    return TRUE;
}

BOOL WINAPI GetOverlappedResult(HANDLE hFile, LPOVERLAPPED lpOverlapped, LPDWORD lpNumberOfBytesTransferred,
                                BOOL bWait)
{
    struct owu_w32_file *f = (struct owu_w32_file *)owu_w32_handle_get(hFile, OWU_W32_FILE);
    if (!f)
        return FALSE;
    BOOL ok = owu_w32_overlapped_result(f, lpOverlapped, lpNumberOfBytesTransferred, bWait);
    owu_w32_obj_unref(&f->obj);
    return ok;
}
